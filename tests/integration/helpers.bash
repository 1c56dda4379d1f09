# shellcheck shell=bash
# shellcheck disable=SC2154 # status, output and lines are set by bats' run
# Shared helpers for the integration suites (podman test/system style).

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
load '/usr/lib/bats/bats-file/load'

TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
CRYPTLAYER=${CRYPTLAYER:-$TOP/build/cryptlayer}
PROBE=${PROBE:-$TOP/build/tests/fscrypt-probe}

skip_if_not_root() {
	[ "$(id -u)" -eq 0 ] || skip "needs root (loop devices, mounts, fscrypt ioctls)"
}

skip_if_no_runtime() {
	command -v "$1" >/dev/null || skip "$1 is not installed"
}

# Per-file store and run dir: every suite gets its own loop-mounted ext4 (-O encrypt).
# CL_STORE_SIZE is passed to 'store init' (default 256M).
setup_store() {
	skip_if_not_root
	export CLROOT=$BATS_FILE_TMPDIR/root CLRUN=$BATS_FILE_TMPDIR/run
	export CL="$CRYPTLAYER --root $CLROOT --run-dir $CLRUN"
	$CL store init --size "${CL_STORE_SIZE:-256M}" >/dev/null
	export STORE=$CLROOT/store IMAGE=$CLROOT/store.img
}

teardown_store() {
	[ -n "${CLROOT:-}" ] || return 0
	local id
	for id in $($CL list --json 2>/dev/null | sed -n 's/^ *"id":"\(.*\)",$/\1/p'); do
		$CL destroy "$id" || true
	done
	umount "$STORE" 2>/dev/null || true
}

# A busybox rootfs made offline (busybox-static), links relative to its own /bin.
make_base() {
	local dir=$1
	mkdir -p "$dir/bin" "$dir/etc" "$dir/data/sub"
	cp /bin/busybox "$dir/bin/busybox"
	chroot "$dir" /bin/busybox --install -s /bin
	echo "base-file" >"$dir/etc/base-file"
	echo "keep" >"$dir/data/sub/keep"
}

# make_btrfs_base IMG MNT SIZE: a btrfs filesystem of SIZE in image IMG, loop-mounted on
# MNT, with a base subvolume MNT/base holding a busybox rootfs (make_base)
make_btrfs_base() {
	truncate -s "$3" "$1"
	mkfs.btrfs -q -f "$1" >/dev/null
	mkdir -p "$2"
	mount -o loop "$1" "$2"
	btrfs subvolume create "$2/base" >/dev/null
	make_base "$2/base"
}

# provisioned KEYWORD: the provisioning keys (lib/fscrypt/provision.c) of this store
# (cryptlayer:STORE:ID:FSID) whose description has KEYWORD, one per line; invalidated, revoked or dead ones are on their way
# out
provisioned() {
	# serial flags usage timeout perm uid gid type (cut to 9: fscrypt-p) description:
	awk -v d="cryptlayer:$STORE:" -v k="$1" '$8 == "fscrypt-p" && $2 !~ /[iRD]/ {
		desc = $9; sub(/:$/, "", desc)
		if (index(desc, d) == 1 && index(desc, k)) print desc }' /proc/keys
}

# run_cryptlayer [expected-rc] args...: run $CL, check the exit code (default 0).
run_cryptlayer() {
	local want=0
	if [[ $1 =~ ^[0-9]+$ ]]; then want=$1; shift; fi
	# shellcheck disable=SC2086
	run $CL "$@"
	if [ "$status" -ne "$want" ]; then
		echo "cryptlayer $*: exit $status, expected $want" >&2
		echo "$output" >&2
		return 1
	fi
}

# A unique, test-local name (podman's safename()).
safename() {
	echo "t${BATS_SUITE_TEST_NUMBER:-0}-$(tr -dc a-z0-9 </dev/urandom | head -c 8)"
}

# crun refuses hybrid cgroups here: run it in a private mount namespace with the v2
# mount hidden (a quirk of this test machine, kept out of the product).
crun_wrapped() {
	unshare -m --propagation private sh -c \
		'umount /sys/fs/cgroup/unified 2>/dev/null; exec crun "$@"' crun "$@"
}

runtime() {
	local rt=$1; shift
	if [ "$rt" = crun ]; then crun_wrapped "$@"; else runc "$@"; fi
}

# make_bundle DIR STAGE ANNOTATION_BASE CMD...: an OCI bundle whose root.path is an empty
# stub, with cryptlayer hooks at STAGE (prestart|createRuntime) and poststop; STAGE "none"
# adds no hooks (for 'cryptlayer prepare').
make_bundle() {
	local dir=$1 stage=$2 base=$3; shift 3
	mkdir -p "$dir/rootfs"
	(cd "$dir" && runc spec)
	local args='[]' hook a
	for a in "$@"; do args=$(jq -c --arg a "$a" '. + [$a]' <<<"$args"); done
	hook=$(jq -n --arg b "$CRYPTLAYER" --arg r "$CLROOT" --arg d "$CLRUN" \
		'[$b, "--root", $r, "--run-dir", $d, "hook"]')
	jq --argjson args "$args" --argjson hook "$hook" --arg stage "$stage" --arg base "$base" \
		--arg prop "${ROOTFS_PROPAGATION:-}" '
		.process.terminal = false | .process.args = $args | .root.readonly = false
		| .annotations = (if $base == "" then {} else {"io.cryptlayer.base": $base} end)
		| if $stage == "none" then . else
		  .hooks = {($stage): [{path: $hook[0], args: ($hook + [$stage])}],
		            poststop: [{path: $hook[0], args: ($hook + ["poststop"])}]} end
		| if $prop != "" then .linux.rootfsPropagation = $prop else . end
		' "$dir/config.json" >"$dir/config.json.new"
	mv "$dir/config.json.new" "$dir/config.json"
}

# tree_sum DIR: checksum of names, modes, owners, link targets and contents.
tree_sum() {
	(cd "$1" && find . -printf '%p %m %u %g %l\n' | sort && find . -type f -exec md5sum {} + | sort) | md5sum
}

# No mount of any layer is left (the store's own mount is allowed).
assert_no_layer_mounts() {
	run grep -c "$STORE/containers" /proc/self/mountinfo
	assert_output 0
}

# Drop caches and grep the raw store image for a plaintext marker.
assert_not_in_image() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
	run grep -c -a -F "$1" "$IMAGE"
	assert_output 0
}

# run_prepared NAME BUNDLE: 'runc run' of a bundle that 'prepare' rewrote, whose command
# prints /etc/base-file and a file it wrote: both shown, and its layer's key ABSENT after
# the run (poststop erased it)
run_prepared() {
	local key
	key=$($CL status "$1" --json | jq -r .key_id)
	run runc run --bundle "$2" "$1" </dev/null
	assert_success
	assert_line base-file
	assert_line written
	run "$PROBE" key-status "$key" "$STORE"
	assert_output absent
}

# wait_until CMD [ARG]...: poll CMD until it succeeds (at most 10 s)
wait_until() {
	local _
	for _ in $(seq 1 1000); do "$@" && return 0; sleep 0.01; done
	echo "timed out waiting for: $*" >&2
	return 1
}

wait_for_file() {
	local _
	for _ in $(seq 1 100); do [ -e "$1" ] && return 0; sleep 0.05; done
	echo "timed out waiting for $1" >&2
	return 1
}

# make_hooks_dir DIR [SUBDIR]: the hooks.d descriptors of hooks/hooks.d[/SUBDIR] for this
# build tree and this suite's store (what 'make install' substitutes for @BINDIR@ etc.).
make_hooks_dir() {
	local dir=$1 src=$TOP/hooks/hooks.d${2:+/$2} f
	mkdir -p "$dir"
	for f in "$src"/*.json; do
		sed -e "s|@BINDIR@/cryptlayer|$CRYPTLAYER|" -e "s|@ROOT@|$CLROOT|" \
			-e "s|@RUNDIR@|$CLRUN|" "$f" >"$dir/${f##*/}"
	done
}

# assert_store_empty: no layer directory, key file, lock file, record (or record.tmp) or
# layer mount is left
assert_store_empty() {
	local d
	for d in containers keys; do # made with the first layer (keys: persistent layer)
		[ -d "$STORE/$d" ] || continue
		run ls -A "$STORE/$d"
		assert_output ""
	done
	run ls -A "$CLROOT/locks"
	assert_output ""
	run bash -c "ls -A '$CLRUN' | grep -vx cryptlayer.log"
	assert_output ""
	assert_no_layer_mounts
}

# assert_persistent_gone ID KEY: nothing of persistent layer ID is left: no key file,
# layer directory, record or mount, KEY is ABSENT and 'list' does not name it.
assert_persistent_gone() {
	local id=$1 key=$2
	assert_not_exist "$STORE/keys/$id"
	assert_not_exist "$STORE/containers/$id"
	assert_not_exist "$CLRUN/$id.json"
	assert_no_layer_mounts
	run "$PROBE" key-status "$key" "$STORE"
	assert_output absent
	run_cryptlayer list --json
	assert_equal "$(jq --arg id "$id" '[.[] | select(.id == $id)] | length' <<<"$output")" 0
	run_cryptlayer 1 status "$id"
}

# ---- podman -----------------------------------------------------------------------------
# Options of every podman run here (this machine has no CAP_SYS_RESOURCE and no network).
# shellcheck disable=SC2034 # used by the podman suites
RUN_OPTS=(--network=none --ulimit nofile=20000:20000 --ulimit nproc=4096:4096)

# setup_podman HOOKS_DIR: podman storage of this suite only (on the test dir's ext4), the
# given hooks dir, a crun wrapper, and the image 'clbase' imported from a busybox rootfs.
# Exports PODMAN_BASE (storage and machine options) and PODMAN_ARGS (plus --hooks-dir).
setup_podman() {
	local t=$BATS_FILE_TMPDIR
	command -v podman >/dev/null || skip "podman is not installed"
	# crun refuses hybrid cgroups here: podman runs it through a wrapper (machine quirk)
	cat >"$t/crun-wrapper" <<'WRAP'
#!/bin/sh
exec unshare -m --propagation private sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; exec crun "$@"' crun "$@"
WRAP
	chmod +x "$t/crun-wrapper"
	export PODMAN_BASE="--root $t/podroot --runroot $t/podrun --tmpdir $t/podtmp
		--cgroup-manager=cgroupfs --events-backend=file"
	export PODMAN_ARGS="$PODMAN_BASE --hooks-dir $1"
	make_base "$t/base"
	tar -C "$t/base" -c . | pod import - clbase >/dev/null
}

teardown_podman() {
	[ -n "${PODMAN_ARGS:-}" ] || return 0
	pod rm -af -t 0 >/dev/null 2>&1
	pod rmi -af >/dev/null 2>&1
	umount "$BATS_FILE_TMPDIR/podroot/overlay" 2>/dev/null || true
}

# pod ARGS...: podman with this suite's storage and hooks
pod() {
	# shellcheck disable=SC2086 # PODMAN_ARGS is a word list
	podman $PODMAN_ARGS "$@"
}

# rt_flag RUNTIME: podman's --runtime for runc, or for crun through the wrapper
rt_flag() {
	skip_if_no_runtime "$1"
	if [ "$1" = crun ]; then echo "--runtime=$BATS_FILE_TMPDIR/crun-wrapper"; else echo "--runtime=runc"; fi
}

# add_odd_files DIR: entries a layer tar must carry exactly (500-bulk, 510-export):
# hardlinks (one across directories), a relative and a dangling absolute symlink, a
# sparse and an empty file, a 250-byte name, a 600-byte path, non-UTF-8 and UTF-8
# names, a character device, a fifo, foreign owners, nanosecond times. DIR/etc exists.
add_odd_files() {
	local d=$1 long deep
	echo hello >"$d/hl1"
	ln "$d/hl1" "$d/hl2"
	ln "$d/hl1" "$d/etc/hl3"
	ln -s ../hl1 "$d/etc/sym"
	ln -s /nonexistent/abs "$d/abslink"
	truncate -s 10M "$d/sparse"
	printf x | dd of="$d/sparse" bs=1 seek=5000000 conv=notrunc status=none
	: >"$d/empty"
	long=$(printf 'L%.0s' $(seq 250))
	echo long >"$d/$long"
	deep="$d/$(printf 'd%.0s' $(seq 200))/$(printf 'e%.0s' $(seq 200))/$(printf 'f%.0s' $(seq 200))"
	mkdir -p "$deep"
	echo deep >"$deep/file"
	printf bin >"$d/$(printf 'caf\xe9-\xff\xfe')"
	echo utf8 >"$d/üñí-ç"
	mknod "$d/etc/null" c 1 3
	mkfifo "$d/etc/fifo"
	chown 1234:5678 "$d/hl1"
	chown -h 42:43 "$d/etc/sym"
	touch -h -d '2001-02-03 04:05:06.123456789' "$d/empty" "$d/etc/sym"
}

# ---- the record watcher (710-kill, 720-races) ---------------------------------------------

# start_watcher: tests/tools/record-watch.py on $CLRUN, writing "ID KEYID STATE" for every
# record (or record.tmp) it sees into $W/seen, and "sync NAME" for a file made in $W/sync
start_watcher() {
	mkdir -p "$CLRUN" "$W/sync"
	: >"$W/seen"
	python3 "$TOP/tests/tools/record-watch.py" "$CLRUN" "$W/sync" "$W/seen" </dev/null \
		>/dev/null 2>"$W/watch.err" 3>&- &
	echo $! >"$W/watch.pid"
	wait_for_line ready "$W/seen"
}

stop_watcher() {
	[ -s "${W:-/nonexistent}/watch.pid" ] || return 0
	kill "$(cat "$W/watch.pid")" 2>/dev/null || true
	rm -f "$W/watch.pid"
}

# wait_for_line LINE FILE: until FILE has the line (10 s at most)
wait_for_line() {
	local _
	for _ in $(seq 1 1000); do
		grep -qxF "$1" "$2" && return 0
		sleep 0.01
	done
	echo "timed out waiting for '$1' in $2 ($(cat "$W/watch.err" 2>/dev/null))" >&2
	return 1
}

# watch_sync: every record event so far is in $W/seen (the sync file's event is queued
# after them on the same inotify descriptor)
watch_sync() {
	local tok=s$RANDOM$RANDOM
	: >"$W/sync/$tok"
	wait_for_line "sync $tok" "$W/seen"
	rm -f "$W/sync/$tok"
}
