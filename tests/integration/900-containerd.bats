#!/usr/bin/env bats
# containerd (issue 16, DESIGN §7b): the shipped base_runtime_spec and config drop-in
# (contrib/containerd/) under a real containerd that this suite starts itself (Debian's
# 1.6.20, no systemd), an image imported offline from a busybox tar, 'ctr run --config'
# with a spec made from the shipped base spec: encrypted root over containerd's snapshot,
# crypto-erase at kill + remove, 20 at once.

load helpers

ctr_() {
	ctr -a "$CTD/c.sock" -n cltest "$@"
}

# ctd_files DIR: the shipped drop-in and base spec as 'make install' substitutes them, for
# this build tree and this suite's store. Machine quirk (DESIGN §7b): containerd runs
# here without CAP_SYS_RESOURCE, so the test's copy sets restrict_oom_score_adj.
ctd_files() {
	local dir=$1 src=$TOP/contrib/containerd
	mkdir -p "$dir"
	sed -e "s|@BINDIR@/cryptlayer|$CRYPTLAYER|" -e "s|@ROOT@|$CLROOT|" -e "s|@RUNDIR@|$CLRUN|" \
		"$src/base-runtime-spec.json" >"$dir/base-runtime-spec.json"
	sed -e "s|@DATADIR@/cryptlayer/containerd|$dir|" \
		-e '/^\[plugins."io.containerd.grpc.v1.cri"\]$/a\  restrict_oom_score_adj = true' \
		"$src/cryptlayer.toml" >"$dir/cryptlayer.toml"
}

# ctd_start DIR DROPIN: containerd with state under DIR (a short path: the socket must fit
# sun_path), a config of its own importing DROPIN, in the background; waits for its API
ctd_start() {
	local dir=$1 _
	mkdir -p "$dir"
	printf 'version = 2\nimports = ["%s"]\n[plugins."io.containerd.internal.v1.opt"]\n  path = "%s"\n' \
		"$2" "$dir/opt" >"$dir/config.toml"
	containerd --config "$dir/config.toml" --root "$dir/root" --state "$dir/state" \
		--address "$dir/c.sock" </dev/null >"$dir/log" 2>&1 3>&- &
	echo $! >"$dir/pid"
	for _ in $(seq 1 300); do
		ctr -a "$dir/c.sock" version >/dev/null 2>&1 && return 0
		kill -0 "$(cat "$dir/pid")" 2>/dev/null || break
		sleep 0.1
	done
	echo "containerd did not start:" >&2
	tail -5 "$dir/log" >&2
	return 1
}

ctd_stop() {
	local dir=$1 pid _
	[ -s "$dir/pid" ] || return 0
	pid=$(cat "$dir/pid")
	kill "$pid" 2>/dev/null || true
	for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	rm -f "$dir/pid"
}

# import_busybox: a docker-archive tar of the busybox rootfs, written offline (one layer,
# a hand-written manifest and config), imported as cryptlayer.test/busybox; CHAIN is its
# one layer's chain id (= its diff id), the parent of every container snapshot here
import_busybox() {
	local d=$BATS_FILE_TMPDIR/image diff
	make_base "$BATS_FILE_TMPDIR/base"
	mkdir -p "$d"
	tar -C "$BATS_FILE_TMPDIR/base" --numeric-owner -cf "$d/layer.tar" .
	diff=sha256:$(sha256sum "$d/layer.tar" | cut -d' ' -f1)
	jq -n --arg d "$diff" '{architecture: "amd64", os: "linux", config: {Cmd: ["/bin/sh"]},
		rootfs: {type: "layers", diff_ids: [$d]}}' >"$d/config.json"
	jq -n '[{Config: "config.json", RepoTags: ["cryptlayer.test/busybox:latest"],
		Layers: ["layer.tar"]}]' >"$d/manifest.json"
	tar -C "$d" -cf "$BATS_FILE_TMPDIR/busybox.tar" manifest.json config.json layer.tar
	ctr_ images import "$BATS_FILE_TMPDIR/busybox.tar" >/dev/null
	export CHAIN=$diff
}

# ctd_run ID [ANNOTATIONS-JSON [PARENT [HOOK-GLOBALS-JSON]]]: a container whose root.path
# is an active snapshot of PARENT (default: the image; "" for a scratch image) mounted the
# way containerd's CRI mounts it, spec = shipped base spec + process + root (+ annotations,
# as containerd's pod_annotations would pass them; + global options an admin adds to the
# createRuntime hook's argv). The marker is assembled inside the container: its text is
# in no argv, spec or containerd record.
ctd_run() {
	local id=$1 ann=${2:-'{}'} parent=${3-$CHAIN} globals=${4:-'[]'} mnt=$CTD/mnt/$1
	# shellcheck disable=SC2086 # no parent at all for a scratch image
	ctr_ snapshots prepare "$id" $parent >/dev/null
	mkdir -p "$mnt"
	ctr_ snapshots mounts "$mnt" "$id" | sh
	jq --arg id "$id" --arg root "$mnt" --argjson ann "$ann" '
		.process.args = ["sh", "-c", "m=PLAIN; echo \"${m}TEXT-$0-marker\" > /marker && touch /ready && exec sleep 600", $id]
		| .process.env = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]
		| .root = {path: $root} | .linux.cgroupsPath = "/cltest/" + $id
		| .annotations += $ann
		| .hooks.createRuntime[0].args |= .[0:5] + $globals + .[5:]' \
		--argjson globals "$globals" "$CTD/share/base-runtime-spec.json" >"$CTD/$id.spec"
	ctr_ run -d --null-io --config "$CTD/$id.spec" "$id"
}

# ctd_kill ID: SIGKILL (what kubelet ends with) and wait until the task is stopped
ctd_kill() {
	local _
	ctr_ task kill -s SIGKILL "$1"
	for _ in $(seq 1 200); do
		ctr_ task ls | grep -qE "^$1 +[0-9]+ +STOPPED" && return 0
		sleep 0.05
	done
	echo "task $1 did not stop" >&2
	return 1
}

# ctd_rm ID: remove the container (deletes the task: runc delete runs poststop), then
# unmount and remove its snapshot
ctd_rm() {
	ctr_ container rm "$1"
	umount "$CTD/mnt/$1"
	ctr_ snapshots rm "$1"
}

setup_file() {
	local c
	skip_if_not_root
	for c in containerd ctr runc; do
		command -v "$c" >/dev/null || skip "$c is not installed"
	done
	setup_store
	CTD=$(mktemp -d /tmp/clctd.XXXXXX)
	export CTD
	ctd_files "$CTD/share"
	ctd_start "$CTD" "$CTD/share/cryptlayer.toml"
	import_busybox
}

teardown_file() {
	local id m
	if [ -n "${CTD:-}" ]; then
		for id in $(ctr_ container ls -q 2>/dev/null); do
			ctr_ task kill -s SIGKILL "$id" 2>/dev/null
			ctd_kill "$id" 2>/dev/null
			ctr_ container rm "$id" 2>/dev/null
		done
		ctd_stop "$CTD"
		awk -v d="$CTD/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r |
			while read -r m; do umount "$m"; done
		rm -rf "$CTD"
	fi
	teardown_store
}

@test "the shipped drop-in loads: config dump shows the handler and the CRI plugin is ok" {
	run containerd --config "$CTD/config.toml" config dump
	assert_success
	assert_output --partial '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.cryptlayer]'
	assert_output --partial "base_runtime_spec = \"$CTD/share/base-runtime-spec.json\""
	assert_output --partial 'pod_annotations = ["io.cryptlayer.base", "io.cryptlayer.backend", "io.cryptlayer.nested"]'
	assert_output --partial '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]'
	run ctr_ plugins ls
	assert_output --regexp 'io\.containerd\.grpc\.v1 +cri +linux/amd64 +ok'
	# the base spec: containerd's default plus the handler's hooks, base allowlist on
	run jq -r '.annotations["io.cryptlayer.enable"], (.hooks.createRuntime[0].args | join(" ")),
		(.hooks.poststop[0].args | join(" ")), .process.capabilities.bounding[0]' \
		"$CTD/share/base-runtime-spec.json"
	assert_output "true
cryptlayer --root $CLROOT --run-dir $CLRUN --require-base-dir hook createRuntime
cryptlayer --root $CLROOT --run-dir $CLRUN hook poststop
CAP_CHOWN"
}

@test "why the drop-in carries the whole CRI table: one with only runtimes.cryptlayer breaks the CRI plugin" {
	local d
	d=$(mktemp -d /tmp/clctd.XXXXXX)
	cat >"$d/only-handler.toml" <<-EOF
		version = 2
		[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.cryptlayer]
		  runtime_type = "io.containerd.runc.v2"
		  base_runtime_spec = "$CTD/share/base-runtime-spec.json"
	EOF
	ctd_start "$d/c" "$d/only-handler.toml"
	run containerd --config "$d/c/config.toml" config dump
	assert_success # parsing alone does not show it
	run ctr -a "$d/c/c.sock" plugins ls
	ctd_stop "$d/c"
	rm -rf "$d"
	assert_output --regexp 'io\.containerd\.grpc\.v1 +cri +linux/amd64 +error'
}

@test "make install puts the base spec and drop-in under share/cryptlayer/containerd" {
	local d=$BATS_TEST_TMPDIR/dest s
	make -C "$TOP" -s install DESTDIR="$d" >/dev/null
	s=$d/usr/local/share/cryptlayer/containerd
	run jq -r '.hooks.createRuntime[0].path, .hooks.poststop[0].args[2]' "$s/base-runtime-spec.json"
	assert_output $'/usr/local/bin/cryptlayer\n/var/lib/cryptlayer'
	run grep -F 'base_runtime_spec = "/usr/local/share/cryptlayer/containerd/base-runtime-spec.json"' \
		"$s/cryptlayer.toml"
	assert_success
	run grep -l '@' "$s/cryptlayer.toml" "$s/base-runtime-spec.json"
	assert_output ""
	make -C "$TOP" -s uninstall DESTDIR="$d" >/dev/null
	run find "$d" -type f
	assert_output ""
}

@test "ctr run --config: the root is an encrypted layer over the snapshot; kill + rm erase it" {
	local id key upper
	id=$(safename)
	ctd_run "$id"
	upper=$STORE/containers/$id/crypt/upper
	wait_for_file "$upper/ready"
	run_cryptlayer status "$id" --json
	key=$(jq -r .key_id <<<"$output")
	assert_equal "$(jq -r '.key_status, .mounted, .base' <<<"$output")" $'present\ntrue\n'"$CTD/mnt/$id"
	# the container sees its write; the host sees it only in our upper, never in containerd's
	run ctr_ task exec --exec-id cat1 "$id" cat /marker
	assert_output "PLAINTEXT-$id-marker"
	run grep -rlF "PLAINTEXT-$id-marker" "$CTD/root" "$CTD/state"
	assert_output ""
	run "$PROBE" policy "$upper"
	assert_output --partial "v2 $key"
	assert_not_in_image "PLAINTEXT-$id-marker"

	ctd_kill "$id"
	ctd_rm "$id"
	run "$PROBE" key-status "$key" "$STORE"
	assert_output absent
	assert_store_empty
	run ctr_ container ls -q
	assert_output ""
	run ctr_ snapshots ls
	refute_output --partial "$id"
}

# one container's whole life in the background: result line in $CTD/res/ID
ctd_cycle() {
	local id=$1 key i
	{
		ctd_run "$id" || { echo "fail run"; return; }
		for i in $(seq 1 300); do
			[ -e "$STORE/containers/$id/crypt/upper/ready" ] && break
			sleep 0.05
		done
		key=$($CL status "$id" --json | jq -r 'select(.key_status == "present") | .key_id')
		[ "$(ctr_ task exec --exec-id c "$id" cat /marker)" = "PLAINTEXT-$id-marker" ] ||
			{ echo "fail marker"; return; }
		if ! { ctd_kill "$id" && ctd_rm "$id"; }; then
			echo "fail stop"
			return
		fi
		echo "ok $key"
	} >"$CTD/res/$id" 2>&1
}

@test "20 containers at once: 0 failures, 0 leaks" {
	local i pids=() key
	mkdir -p "$CTD/res"
	for i in $(seq 1 20); do
		ctd_cycle "c20-$i" 3>&- &
		pids+=($!)
	done
	wait "${pids[@]}"
	run grep -L '^ok [0-9a-f]\{32\}$' "$CTD"/res/*
	assert_output "" # every file is one 'ok KEY' line
	run cat "$CTD"/res/*
	assert_equal "$(grep -c '^ok ' <<<"$output")" 20
	while read -r _ key; do
		run "$PROBE" key-status "$key" "$STORE"
		assert_output absent
	done < <(cat "$CTD"/res/*)
	assert_store_empty
	run ctr_ container ls -q
	assert_output ""
	run grep -c "$CTD/mnt" /proc/self/mountinfo
	assert_output 0
}

@test "a pod author's io.cryptlayer.base is refused by the handler's allowlist: nothing left" {
	local id
	id=$(safename)
	# a scratch image (empty root.path stub), as a named base requires (DESIGN §3)
	run ctd_run "$id" "{\"io.cryptlayer.base\": \"$BATS_FILE_TMPDIR/base\"}" ""
	assert_failure
	run tail -1 "$CLRUN/cryptlayer.log"
	assert_output --partial "createRuntime: base '$BATS_FILE_TMPDIR/base' refused: this hook takes no named base"
	ctr_ container rm "$id"
	umount "$CTD/mnt/$id"
	ctr_ snapshots rm "$id"
	assert_store_empty
}

@test "with --base-dir added to the handler's hook argv, a scratch-image pod runs on the named base" {
	local id
	id=$(safename)
	ctd_run "$id" "{\"io.cryptlayer.base\": \"$BATS_FILE_TMPDIR/base\"}" "" \
		"[\"--base-dir\", \"$BATS_FILE_TMPDIR\"]"
	wait_for_file "$STORE/containers/$id/crypt/upper/ready"
	run_cryptlayer status "$id" --json
	assert_equal "$(jq -r .base <<<"$output")" "$BATS_FILE_TMPDIR/base"
	run ctr_ task exec --exec-id cat1 "$id" cat /etc/base-file
	assert_output base-file
	ctd_kill "$id"
	ctd_rm "$id"
	assert_store_empty
}

@test "killed and never removed (no poststop yet): gc erases the layer, the later remove is clean" {
	local id key
	id=$(safename)
	ctd_run "$id"
	wait_for_file "$STORE/containers/$id/crypt/upper/ready"
	run_cryptlayer status "$id" --json
	key=$(jq -r .key_id <<<"$output")
	ctd_kill "$id"
	# the task is stopped but not deleted: runc has run no poststop
	run_cryptlayer status "$id" --json
	assert_equal "$(jq -r .key_status <<<"$output")" present
	run_cryptlayer gc
	run "$PROBE" key-status "$key" "$STORE"
	assert_output absent
	assert_store_empty
	ctd_rm "$id" # poststop of an erased layer: exit 0, nothing to do
	assert_store_empty
}
