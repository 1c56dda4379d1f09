#!/usr/bin/env bash
# node-install.sh: install cryptlayer onto a Kubernetes node from the DaemonSet's
# privileged init container (contrib/kubernetes/daemonset.yaml), then wire it into the
# node's container runtime. Idempotent: run on every pod start.
#
#   node-install.sh [--host-root DIR] [--dist DIR] [--runtime auto|containerd|crio]
#                   [--systemd-cgroup true|false] [--oci-runtime PATH] [--no-restart]
#
# --host-root  the node's / as mounted in this container (default /host)
# --dist       'make install DESTDIR=…' tree in the image (default /opt/cryptlayer/dist);
#              its usr/local/ is copied to the node's /usr/local/
# --runtime    containerd: the drop-in is added to /etc/containerd/config.toml's imports;
#              crio: a crio.conf.d drop-in with hooks_dir and the 'cryptlayer' handler;
#              auto (default): crio if the node has /etc/crio, else containerd
# --systemd-cgroup  SystemdCgroup for the drop-in's runc and cryptlayer runtimes (kubelet
#              cgroupDriver=systemd needs true); default auto: true if the node's
#              config.toml sets SystemdCgroup = true, else false
#
# The drop-in replaces config.toml's whole CRI table (containerd 1.6/1.7 imports), so the
# settings nodes most often change there are carried over into the installed drop-in:
# sandbox_image, cni bin_dir and conf_dir (else /opt/cni/bin when the node has it),
# SystemdCgroup. Anything else in config.toml's CRI table must be copied by hand.
# --oci-runtime  CRI-O only: the runc/crun binary of the 'cryptlayer' handler
#              (default /usr/bin/runc)
# --no-restart do not restart the runtime (done with systemctl in the node's namespaces,
#              and only when this run changed its configuration)
set -euo pipefail

host=/host dist=/opt/cryptlayer/dist runtime=auto systemd_cgroup=auto restart=1
oci_runtime=/usr/bin/runc
while [ $# -gt 0 ]; do
	case $1 in
	--host-root) host=$2; shift 2 ;;
	--dist) dist=$2; shift 2 ;;
	--runtime) runtime=$2; shift 2 ;;
	--systemd-cgroup) systemd_cgroup=$2; shift 2 ;;
	--oci-runtime) oci_runtime=$2; shift 2 ;;
	--no-restart) restart=0; shift ;;
	*) echo "node-install: unknown option '$1'" >&2; exit 2 ;;
	esac
done
case $runtime in auto | containerd | crio) ;; *)
	echo "node-install: --runtime must be auto, containerd or crio" >&2; exit 2 ;;
esac
case $systemd_cgroup in auto | true | false) ;; *)
	echo "node-install: --systemd-cgroup must be auto, true or false" >&2; exit 2 ;;
esac

share=/usr/local/share/cryptlayer
[ -x "$dist/usr/local/bin/cryptlayer" ] || { echo "node-install: no cryptlayer in '$dist'" >&2; exit 1; }

# binary, plugins, descriptors: copied next to the final name, then renamed (a hook that
# runs meanwhile sees the old file or the new one, never half of one)
install_tree() {
	local f rel
	while IFS= read -r -d '' f; do
		rel=${f#"$dist"}
		install -d -m 0755 "$host$(dirname "$rel")"
		cp -p "$f" "$host$rel.cl-new"
		mv -f "$host$rel.cl-new" "$host$rel"
	done < <(find "$dist/usr/local" -type f -print0)
}

# containerd: import the drop-in from config.toml (version 2); the drop-in replaces the
# whole CRI table (containerd 1.6/1.7), see its header
# node_value KEY: the value (TOML, as written) of the first KEY = … line of config.toml
node_value() {
	{ grep -m1 -E "^[[:space:]]*$1[[:space:]]*=" "$host/etc/containerd/config.toml" || true; } |
		sed -E 's/^[^=]*=[[:space:]]*//; s/[[:space:]]*(#.*)?$//'
}

# carry_over DROPIN: the node's sandbox image, CNI directories and cgroup driver
carry_over() {
	local f=$1 v
	v=$(node_value sandbox_image)
	if [ -n "$v" ]; then
		sed -i "s|^\[plugins.\"io.containerd.grpc.v1.cri\"\]\$|&\n  sandbox_image = $v|" "$f"
	fi
	v=$(node_value bin_dir)
	if [ -z "$v" ] && [ -d "$host/opt/cni/bin" ]; then v='"/opt/cni/bin"'; fi
	if [ -n "$v" ]; then sed -i -E "s|^([[:space:]]*bin_dir = ).*|\1$v|" "$f"; fi
	v=$(node_value conf_dir)
	if [ -n "$v" ]; then sed -i -E "s|^([[:space:]]*conf_dir = ).*|\1$v|" "$f"; fi
	v=$systemd_cgroup
	if [ "$v" = auto ]; then
		v=false
		if [ "$(node_value SystemdCgroup)" = true ]; then v=true; fi
	fi
	sed -i "s/SystemdCgroup = .*/SystemdCgroup = $v/" "$f"
}

wire_containerd() {
	local cfg=$host/etc/containerd/config.toml dropin=$share/containerd/cryptlayer.toml
	install -d -m 0755 "$(dirname "$cfg")"
	[ -e "$cfg" ] || printf 'version = 2\n' >"$cfg"
	carry_over "$host$dropin"
	grep -qF "\"$dropin\"" "$cfg" && return 0
	if grep -qE '^imports *= *\[ *\]' "$cfg"; then
		sed -i -E "s|^imports *= *\[ *\]|imports = [\"$dropin\"]|" "$cfg"
	elif grep -qE '^imports *= *\[' "$cfg"; then
		sed -i -E "s|^imports *= *\[|imports = [\"$dropin\", |" "$cfg"
	elif grep -qE '^version *= *2' "$cfg"; then
		sed -i -E "0,/^version *= *2/s||&\nimports = [\"$dropin\"]|" "$cfg"
	else
		echo "node-install: '$cfg' is not a version 2 config: add imports = [\"$dropin\"] by hand" >&2
		return 1
	fi
}

# CRI-O: its own hooks.d pair (createRuntime + poststop, matched by annotation) and a
# 'cryptlayer' handler so that the RuntimeClass resolves; hooks_dir replaces CRI-O's
# defaults, so they are listed too
wire_crio() {
	install -d -m 0755 "$host/etc/crio/crio.conf.d"
	cat >"$host/etc/crio/crio.conf.d/50-cryptlayer.conf" <<-EOF
		# written by cryptlayer's node-install.sh
		[crio.runtime]
		hooks_dir = [
		  "$share/crio-hooks.d",
		  "/usr/share/containers/oci/hooks.d",
		]

		[crio.runtime.runtimes.cryptlayer]
		runtime_path = "$oci_runtime"
		runtime_type = "oci"
	EOF
}

# conf_sum: checksum of what the runtime reads at start
conf_sum() {
	{ cat "$host/etc/containerd/config.toml" "$host$share/containerd/cryptlayer.toml" \
		"$host/etc/crio/crio.conf.d/50-cryptlayer.conf" 2>/dev/null || true; } | md5sum
}

restart_runtime() {
	[ "$restart" = 1 ] && [ "$(conf_sum)" != "$before" ] || return 0
	# the node's systemd, from its own namespaces (the DaemonSet has hostPID)
	nsenter -t 1 -m -u -i -n -p -- systemctl restart "$1"
}

before=$(conf_sum)
install_tree
if [ "$runtime" = auto ]; then
	if [ -d "$host/etc/crio" ]; then runtime=crio; else runtime=containerd; fi
fi
if [ "$runtime" = crio ]; then
	wire_crio
	restart_runtime crio
else
	wire_containerd
	restart_runtime containerd
fi
echo "node-install: installed $("$dist/usr/local/bin/cryptlayer" --version | head -1) for $runtime"
