#!/usr/bin/env bats
# Issue 15, trusted paths (lib/core/trust.h): the store root, the run dir and the records in
# them must be owned by root or the invoking user and writable by nobody else, and no
# directory above them may be world-writable without the sticky bit or owned by another
# user (as OpenSSH checks key files). Otherwise one error line naming the path and what
# is wrong, and nothing is acted on: a record another user could forge never reaches gc.

load helpers

NOBODY=65534

setup_file() {
	CL_STORE_SIZE=64M setup_store
	make_base "$BATS_FILE_TMPDIR/base"
}

teardown_file() {
	teardown_store
}

teardown() {
	umount "$BATS_TEST_TMPDIR/victim" 2>/dev/null || true
	if [ -f "$BATS_TEST_TMPDIR/user-dir" ]; then rm -rf "$(cat "$BATS_TEST_TMPDIR/user-dir")"; fi
	local id
	for id in $($CL list --json | jq -r '.[].id'); do $CL destroy "$id" || true; done
}

one_error_line() {
	assert_failure 1
	assert_equal "${#lines[@]}" 1
	assert_output --regexp "^cryptlayer: $1"
}

as_nobody() {
	setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups "$@"
}

# forge ID RUN_DIR: another user's record for layer ID whose container is dead (gc
# reclaims such a layer) and whose merged dir is $BATS_TEST_TMPDIR/victim, a mount point
forge() {
	local t=$BATS_TEST_TMPDIR
	mkdir -p "$t/victim"
	mount -t tmpfs victim "$t/victim"
	jq -n --arg id "$1" --arg root "$CLROOT" --arg m "$t/victim" --arg b "$BATS_FILE_TMPDIR/base" \
		'{id: $id, base: $b, backend: "overlay", keymode: "ephemeral",
		  key_id: "00112233445566778899aabbccddeeff", store_root: $root,
		  layer_dir: ($root + "/store/containers/" + $id),
		  upper: ($root + "/store/containers/" + $id + "/crypt/upper"), merged: $m,
		  owner: "hook", owner_dir: null, bundle: null, state: "running",
		  pid: 999999, pid_start: 1, creator: 0, creator_start: 0}' >"$2/$1.json"
	chown $NOBODY "$2/$1.json"
}

# the layer ID and the victim mount are as they were
untouched() {
	assert [ -d "$STORE/containers/$1/crypt" ]
	run $CL status "$1" --json
	assert_success
	assert_equal "$(jq -r .key_status <<<"$output")" present
	run findmnt -n -o FSTYPE "$BATS_TEST_TMPDIR/victim"
	assert_output tmpfs
}

@test "a forged record in a run dir another user owns: gc, list, destroy refuse, nothing acted on" {
	local r=$BATS_TEST_TMPDIR/run id=trust1
	run_cryptlayer create --base "$BATS_FILE_TMPDIR/base" --id $id
	mkdir "$r"
	chown $NOBODY "$r"
	forge $id "$r"
	run $CRYPTLAYER --root "$CLROOT" --run-dir "$r" gc
	one_error_line "gc: run dir '$r' is owned by uid $NOBODY, not by root: Operation not permitted$"
	untouched $id
	run $CRYPTLAYER --root "$CLROOT" --run-dir "$r" list
	one_error_line "list: run dir '$r' is owned by uid $NOBODY"
	run $CRYPTLAYER --root "$CLROOT" --run-dir "$r" destroy $id
	one_error_line "destroy: .*'$r' is owned by uid $NOBODY"
	untouched $id
}

@test "a run dir writable by its group or others is refused, even root's own" {
	local r=$BATS_TEST_TMPDIR/run id=trust2 mode
	run_cryptlayer create --base "$BATS_FILE_TMPDIR/base" --id $id
	mkdir "$r"
	forge $id "$r"
	for mode in 0775 0777 1777 0757; do
		chmod $mode "$r"
		run $CRYPTLAYER --root "$CLROOT" --run-dir "$r" gc
		one_error_line "gc: run dir '$r' is writable by (others|its group) \\(mode $mode\\)"
	done
	untouched $id
}

@test "a record file another user owns (or others can write) is never acted on" {
	local r=$BATS_TEST_TMPDIR/run id=trust3
	run_cryptlayer create --base "$BATS_FILE_TMPDIR/base" --id $id
	mkdir "$r"
	forge $id "$r"
	run $CRYPTLAYER --root "$CLROOT" --run-dir "$r" gc
	assert_failure 1
	assert_output --regexp "$id: record '$r/$id.json' is owned by uid $NOBODY, not by root"
	untouched $id
	run $CRYPTLAYER --root "$CLROOT" --run-dir "$r" status $id
	one_error_line "status: record '$r/$id.json' is owned by uid $NOBODY"
	chown 0 "$r/$id.json"
	chmod 0666 "$r/$id.json"
	run $CRYPTLAYER --root "$CLROOT" --run-dir "$r" gc
	assert_failure 1
	assert_output --regexp "record '$r/$id.json' is writable by others \\(mode 0666\\)"
	untouched $id
}

@test "a FIFO named like a record is refused, never waited on" {
	local r=$BATS_TEST_TMPDIR/run
	mkdir "$r"
	mkfifo "$r/fifo.json"
	run timeout 20 $CRYPTLAYER --root "$CLROOT" --run-dir "$r" status fifo
	one_error_line "status: record '$r/fifo.json' is not a regular file"
	run timeout 20 $CRYPTLAYER --root "$CLROOT" --run-dir "$r" gc
	assert_failure 1
	assert_output --partial "'$r/fifo.json' is not a regular file"
}

@test "directories above: world-writable without sticky, or another user's, are refused" {
	local t=$BATS_TEST_TMPDIR
	mkdir -p "$t/p/run" "$t/q/run" "$t/s/run"
	chmod 0777 "$t/p"
	run $CRYPTLAYER --root "$CLROOT" --run-dir "$t/p/run" list
	one_error_line "list: run dir '$t/p/run': '$t/p' is world-writable without the sticky bit \\(mode 0777\\)"
	chown $NOBODY "$t/q"
	run $CRYPTLAYER --root "$CLROOT" --run-dir "$t/q/run" list
	one_error_line "list: run dir '$t/q/run': '$t/q' is owned by uid $NOBODY, not by root"
	# sticky (as /tmp) and group-writable above are fine
	chmod 1777 "$t/p"
	chmod 0775 "$t/s"
	run_cryptlayer --run-dir "$t/p/run" list
	run_cryptlayer --run-dir "$t/s/run" list
	# '..' and '.' are walked like the kernel does, each directory checked
	run_cryptlayer --run-dir "$t/p/../s/./run" list
}

@test "symlinks on the way: followed if root's, refused if another user's" {
	local t=$BATS_TEST_TMPDIR
	mkdir -p "$t/real/run" "$t/links"
	ln -s ../real "$t/links/ok"
	ln -s "$t/real" "$t/links/bad"
	chown -h $NOBODY "$t/links/bad"
	run_cryptlayer --run-dir "$t/links/ok/run" list
	run $CRYPTLAYER --root "$CLROOT" --run-dir "$t/links/bad/run" list
	one_error_line "list: run dir '$t/links/bad/run': symlink '$t/links/bad' is owned by uid $NOBODY"
	# the run dir itself a symlink to a world-writable directory: the target is checked
	mkdir "$t/ww"
	chmod 0777 "$t/ww"
	ln -s "$t/ww" "$t/links/ww"
	run $CRYPTLAYER --root "$CLROOT" --run-dir "$t/links/ww" list
	one_error_line "list: run dir '$t/links/ww' is writable by others"
}

@test "a store root another user owns, or others can write, is refused before anything is made" {
	local t=$BATS_TEST_TMPDIR
	mkdir -p "$t/root1" "$t/root2"
	chown $NOBODY "$t/root1"
	run $CRYPTLAYER --root "$t/root1" --run-dir "$CLRUN" create --base "$BATS_FILE_TMPDIR/base" --id sr1
	one_error_line "create: .*store root '$t/root1' is owned by uid $NOBODY, not by root"
	chmod 0770 "$t/root2"
	run $CRYPTLAYER --root "$t/root2" --run-dir "$CLRUN" gc
	one_error_line "gc: store root '$t/root2' is writable by its group \\(mode 0770\\)"
	run find "$t/root1" "$t/root2" -mindepth 1
	assert_output ""
	run find "$CLRUN" -name 'sr1*'
	assert_output ""
}

@test "a user's own store and run dir (rootless): owned by that user is trusted" {
	# bats' own temporary directory is root's, 0700: this user needs a way in
	local t
	t=$(mktemp -d /tmp/cl-trust.XXXXXX)
	echo "$t" >"$BATS_TEST_TMPDIR/user-dir"
	chmod 0755 "$t"
	mkdir -p "$t/user"
	chown $NOBODY "$t/user"
	chmod 0700 "$t/user"
	run as_nobody $CRYPTLAYER --root "$t/user/root" --run-dir "$t/user/run" list --json
	assert_success
	assert_output "[]"
	# another user's are not (a user's own store: cl_cli_user_check() says it first)
	mkdir -p "$t/other"
	chown 1234 "$t/other"
	run as_nobody $CRYPTLAYER --root "$t/user/root" --run-dir "$t/other" list
	one_error_line "list: run dir '$t/other' is owned by uid 1234, not by this user"
	# rootless podman's hooks run as uid 0 of the user's namespace: root's directories
	# above show as the overflow uid there and are accepted; as the checked one, not
	mkdir -p "$t/rootowned"
	run as_nobody unshare -r $CRYPTLAYER --root "$t/user/root" --run-dir "$t/user/run" list --json
	assert_success
	assert_output "[]"
	run as_nobody unshare -r $CRYPTLAYER --root "$t/user/root" --run-dir "$t/rootowned" list
	one_error_line "list: run dir '$t/rootowned' is owned by uid $NOBODY, not by this user"
}

@test "the hook logs nothing into a run dir it does not trust" {
	local r=$BATS_TEST_TMPDIR/run
	mkdir "$r"
	chmod 0777 "$r"
	run bash -c "echo '{\"ociVersion\":\"1.0.2\",\"id\":\"x\",\"status\":\"created\",\"pid\":1,\"bundle\":\"/nonexistent\"}' \
		| $CRYPTLAYER --root '$CLROOT' --run-dir '$r' hook prestart"
	assert_failure 1
	assert [ ! -e "$r/cryptlayer.log" ]
}

@test "an in-place store (a root on an fscrypt filesystem): the store lock ends with its open" {
	# the checked root fd was once dup'ed as the store's fd, so its flock outlived the
	# open and the next cl_store_open() of the same process (gc holds the store and opens
	# it again for each record; podman's precreate reclaims first) waited forever: the
	# rootless stores are all in place
	local r=$STORE/inplace-root
	run timeout 60 $CRYPTLAYER --root "$r" --run-dir "$BATS_TEST_TMPDIR/run" create \
		--base "$BATS_FILE_TMPDIR/base" --id ip1
	assert_success
	assert_output "$r/containers/ip1/merged"
	run timeout 60 $CRYPTLAYER --root "$r" --run-dir "$BATS_TEST_TMPDIR/run" gc
	assert_success
	run timeout 60 $CRYPTLAYER --root "$r" --run-dir "$BATS_TEST_TMPDIR/run" destroy ip1
	assert_success
}
