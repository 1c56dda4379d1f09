#!/usr/bin/env bats
# contrib/kubernetes/ (issue 16): the manifests parse as YAML and carry what README's
# "Kubernetes" section says; node-install.sh installs onto a node's root and wires
# containerd or CRI-O (here into a scratch directory standing in for the node's /).
# No cluster is available here: nothing is applied.

load helpers

K8S=$TOP/contrib/kubernetes

# yq EXPR FILE: a Python expression over the YAML documents of FILE ('docs', a list)
yq() {
	/usr/bin/python3 -c 'import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[2])) if d]
r = eval(sys.argv[1])
print(" ".join(map(str, r)) if isinstance(r, tuple) else r)' "$1" "$2"
}

@test "every manifest parses as YAML, one object per file, of the kind its name says" {
	run yq '" ".join(d["apiVersion"] + "/" + d["kind"] for d in docs)' "$K8S/runtimeclass.yaml"
	assert_output "node.k8s.io/v1/RuntimeClass"
	run yq '" ".join(d["apiVersion"] + "/" + d["kind"] for d in docs)' "$K8S/daemonset.yaml"
	assert_output "apps/v1/DaemonSet"
	run yq '" ".join(d["apiVersion"] + "/" + d["kind"] for d in docs)' "$K8S/pod-example.yaml"
	assert_output "v1/Pod"
}

@test "RuntimeClass 'cryptlayer' names the handler the containerd drop-in defines, on labelled nodes" {
	run yq 'docs[0]["metadata"]["name"], docs[0]["handler"], docs[0]["scheduling"]["nodeSelector"]' \
		"$K8S/runtimeclass.yaml"
	assert_output "cryptlayer cryptlayer {'cryptlayer.io/node': 'true'}"
	grep -qF '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.cryptlayer]' \
		"$TOP/contrib/containerd/cryptlayer.toml"
	run grep -cE '^\s*\[crio.runtime.runtimes.cryptlayer\]$' "$K8S/node-install.sh"
	assert_output 1
}

@test "DaemonSet: privileged init container runs node-install.sh onto the node's /, gc on a timer in the node's mount namespace" {
	local ds=$K8S/daemonset.yaml
	run yq 'docs[0]["spec"]["template"]["spec"]["hostPID"], docs[0]["spec"]["template"]["spec"]["nodeSelector"]' "$ds"
	assert_output "True {'cryptlayer.io/node': 'true'}"
	# init container: privileged, the node's / at /host, the installer
	run yq '[(c["securityContext"]["privileged"], c["command"], c["args"][:2], c["volumeMounts"][0]["mountPath"]) for c in docs[0]["spec"]["template"]["spec"]["initContainers"]]' "$ds"
	assert_output "[(True, ['/opt/cryptlayer/node-install.sh'], ['--host-root', '/host'], '/host')]"
	run yq '[(v["name"], v["hostPath"]) for v in docs[0]["spec"]["template"]["spec"]["volumes"]]' "$ds"
	assert_output "[('host-root', {'path': '/', 'type': 'Directory'})]"
	# main container: privileged, gc through nsenter into PID 1's mount namespace, a loop
	run yq '[(c["name"], c["securityContext"]["privileged"]) for c in docs[0]["spec"]["template"]["spec"]["containers"]]' "$ds"
	assert_output "[('gc', True)]"
	run yq 'docs[0]["spec"]["template"]["spec"]["containers"][0]["args"][0]' "$ds"
	assert_output --partial "nsenter -t 1 -m -- /usr/local/bin/cryptlayer gc"
	assert_output --partial "sleep 300"
	# the image the Containerfile builds holds what the init container runs
	grep -qx 'COPY contrib/kubernetes/node-install.sh /opt/cryptlayer/node-install.sh' "$K8S/Containerfile"
	grep -q 'make install DESTDIR=/opt/cryptlayer/dist' "$K8S/Containerfile"
}

@test "example Pod: runtimeClassName cryptlayer, only annotations README documents" {
	run yq 'docs[0]["spec"]["runtimeClassName"], docs[0]["metadata"]["annotations"]' "$K8S/pod-example.yaml"
	assert_output "cryptlayer {'io.cryptlayer.enable': 'true'}"
	# README's Kubernetes section names the manifests and what a pod author may set
	run sed -n '/^## Kubernetes/,/^## /p' "$TOP/README.md"
	assert_output --partial "contrib/kubernetes/daemonset.yaml"
	assert_output --partial "runtimeClassName: cryptlayer"
	assert_output --partial "io.cryptlayer.backend"
	assert_output --partial "--require-base-dir"
	assert_output --partial "cryptlayer status"
	assert_output --partial "kubectl cp"
	assert_output --partial "kubectl exec"
}

# node_root: a scratch node (/etc/containerd/config.toml as Debian ships it) and the dist
# tree the image carries ('make install DESTDIR')
node_root() {
	N=$BATS_TEST_TMPDIR/node D=$BATS_TEST_TMPDIR/dist
	mkdir -p "$N/etc/containerd"
	printf 'version = 2\n\n[plugins]\n  [plugins."io.containerd.grpc.v1.cri"]\n' >"$N/etc/containerd/config.toml"
	make -C "$TOP" -s install DESTDIR="$D" >/dev/null
}

@test "node-install.sh (containerd): binary, plugins and descriptors in the node's /usr/local, the drop-in imported, idempotent" {
	node_root
	run "$K8S/node-install.sh" --host-root "$N" --dist "$D" --runtime auto --systemd-cgroup true --no-restart
	assert_success
	assert_output --regexp "^node-install: installed cryptlayer .* for containerd$"
	cmp "$D/usr/local/bin/cryptlayer" "$N/usr/local/bin/cryptlayer"
	assert_file_exists "$N/usr/local/lib/cryptlayer/cryptlayer-crypto.so"
	assert_file_exists "$N/usr/local/share/cryptlayer/crio-hooks.d/cryptlayer-createRuntime.json"
	assert_file_exists "$N/usr/local/share/cryptlayer/containerd/base-runtime-spec.json"
	run /usr/bin/python3 -c 'import sys, tomllib; c = tomllib.load(open(sys.argv[1], "rb")); print(c["version"], c["imports"])' \
		"$N/etc/containerd/config.toml"
	assert_output "2 ['/usr/local/share/cryptlayer/containerd/cryptlayer.toml']"
	run grep -c 'SystemdCgroup = true' "$N/usr/local/share/cryptlayer/containerd/cryptlayer.toml"
	assert_output 2
	cp "$N/etc/containerd/config.toml" "$BATS_TEST_TMPDIR/before"
	"$K8S/node-install.sh" --host-root "$N" --dist "$D" --systemd-cgroup true --no-restart
	cmp "$BATS_TEST_TMPDIR/before" "$N/etc/containerd/config.toml"
	run find "$N/usr/local" -name '*.cl-new'
	assert_output ""
}

@test "node-install.sh: an existing imports list is extended; CRI-O gets hooks_dir and the handler; bad options exit 2" {
	node_root
	printf 'version = 2\nimports = ["/etc/containerd/other.toml"]\n' >"$N/etc/containerd/config.toml"
	"$K8S/node-install.sh" --host-root "$N" --dist "$D" --runtime containerd --no-restart
	run /usr/bin/python3 -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["imports"])' \
		"$N/etc/containerd/config.toml"
	assert_output "['/usr/local/share/cryptlayer/containerd/cryptlayer.toml', '/etc/containerd/other.toml']"

	mkdir -p "$N/etc/crio"
	"$K8S/node-install.sh" --host-root "$N" --dist "$D" --no-restart
	run /usr/bin/python3 -c 'import sys, tomllib; c = tomllib.load(open(sys.argv[1], "rb"))["crio"]["runtime"]; print(c["hooks_dir"][0], c["runtimes"]["cryptlayer"])' \
		"$N/etc/crio/crio.conf.d/50-cryptlayer.conf"
	assert_output "/usr/local/share/cryptlayer/crio-hooks.d {'runtime_path': '/usr/bin/runc', 'runtime_type': 'oci'}"

	run "$K8S/node-install.sh" --host-root "$N" --dist "$D" --runtime docker
	assert_failure 2
	assert_output "node-install: --runtime must be auto, containerd or crio"
	run "$K8S/node-install.sh" --host-root "$N" --dist "$BATS_TEST_TMPDIR/none" --no-restart
	assert_failure 1
	assert_output "node-install: no cryptlayer in '$BATS_TEST_TMPDIR/none'"
}

@test "node-install.sh carries the node's sandbox_image, CNI directories and SystemdCgroup into the drop-in" {
	node_root
	cat >"$N/etc/containerd/config.toml" <<-'EOF'
		version = 2
		[plugins."io.containerd.grpc.v1.cri"]
		  sandbox_image = "registry.k8s.io/pause:3.9" # kubeadm's
		  [plugins."io.containerd.grpc.v1.cri".cni]
		    bin_dir = "/opt/cni/bin"
		    conf_dir = "/etc/cni/net.d"
		  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
		    SystemdCgroup = true
	EOF
	"$K8S/node-install.sh" --host-root "$N" --dist "$D" --no-restart
	run /usr/bin/python3 -c 'import sys, tomllib
c = tomllib.load(open(sys.argv[1], "rb"))["plugins"]["io.containerd.grpc.v1.cri"]
r = c["containerd"]["runtimes"]
print(c["sandbox_image"], c["cni"]["bin_dir"], c["cni"]["conf_dir"], r["runc"]["options"]["SystemdCgroup"],
      r["cryptlayer"]["options"]["SystemdCgroup"], c["containerd"]["default_runtime_name"])' \
		"$N/usr/local/share/cryptlayer/containerd/cryptlayer.toml"
	assert_output "registry.k8s.io/pause:3.9 /opt/cni/bin /etc/cni/net.d True True runc"
	# a node without them: Debian's defaults stay, cgroupfs
	node_root
	"$K8S/node-install.sh" --host-root "$N" --dist "$D" --no-restart
	run grep -cE '^[^#]*(sandbox_image|SystemdCgroup = true|/opt/cni)' "$N/usr/local/share/cryptlayer/containerd/cryptlayer.toml"
	assert_output 0
}
