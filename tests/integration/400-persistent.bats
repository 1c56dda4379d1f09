#!/usr/bin/env bats
# Persistent keys: the layer key wrapped by the machine key in a two-copy key file;
# lock/unlock, repair of a damaged copy, wrong machine key, run-dir loss, destroy, and
# runc/crun with a persistent layer that survives a stop.

load helpers

setup_file() {
	setup_store
	make_base "$BATS_FILE_TMPDIR/base"
	export MK=$BATS_FILE_TMPDIR/mk/machine.key
	export CL="$CL --machine-key file:$MK"
}

teardown_file() {
	teardown_store
}

keyfile() { echo "$STORE/keys/$1"; }

# lock_layer ID: 'lock', retried while the key is only incompletely removed. A private
# mount namespace made meanwhile by another process (the crun wrapper's unshare -m of a
# suite running in parallel on this machine) holds a copy of the overlay until it exits;
# lock then says so and exits 1, changing nothing else, and a retry succeeds.
lock_layer() {
	local i
	for i in 1 2 3 4 5; do
		# shellcheck disable=SC2086 # CL is a word list
		run $CL lock "$1"
		[ "$status" -eq 0 ] && return 0
		[[ $output == *incompletely-removed* ]] || break
		sleep 1
	done
	echo "cryptlayer lock $1: exit $status: $output" >&2
	return 1
}

# new_layer ID: a persistent layer with a marker assembled here (never in argv)
new_layer() {
	local id=$1
	run_cryptlayer create --base "$BATS_FILE_TMPDIR/base" --id "$id" --key persistent
	MERGED=$output
	m=PERS; echo "${m}ISTENT-$id-marker" >"$MERGED/secret"
	mkdir "$MERGED/plainname-$id"
}

assert_locked() {
	local id=$1 key
	run_cryptlayer status "$id" --json
	key=$(jq -r .key_id <<<"$output")
	assert_equal "$(jq -r .keymode <<<"$output")" persistent
	assert_equal "$(jq -r .key_status <<<"$output")" absent
	assert_equal "$(jq -r .mounted <<<"$output")" false
	run "$PROBE" key-status "$key" "$STORE"
	assert_output absent
	assert_not_exist "$CLRUN/$id.json"
	assert_no_layer_mounts
	# without the key the host sees only encrypted names under crypt/
	run ls "$STORE/containers/$id/crypt"
	refute_output --partial upper
	refute_output --partial work
	run find "$STORE/containers/$id/crypt" -name "*plainname*"
	assert_output ""
	assert_not_in_image "PERSISTENT-$id-marker"
}

assert_marker() {
	run cat "$STORE/containers/$1/merged/secret"
	assert_output "PERSISTENT-$1-marker"
}

# flip N random bytes in copy C (0 or 1) of key file F
flip_copy() {
	python3 - "$1" "$2" "${3:-8}" <<'PY'
import os, random, sys
path, copy, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(path, "r+b") as f:
    for off in random.sample(range(copy * 4096, copy * 4096 + 4096), n):
        f.seek(off); b = f.read(1)[0]
        f.seek(off); f.write(bytes([b ^ random.randrange(1, 256)]))
PY
}

@test "persistent: lock removes the key, unlock brings the data back, destroy erases all" {
	local id key
	id=$(safename)
	new_layer "$id"
	run stat -c '%a %s' "$(keyfile "$id")"
	assert_output "600 8192"
	run stat -c '%a' "$MK"
	assert_output 600
	run_cryptlayer status "$id" --json
	key=$(jq -r .key_id <<<"$output")
	assert_equal "$(jq -r .key_status <<<"$output")" present
	# the store descriptor: identifiers and paths only
	run jq -r '[.id, .keymode, .key_id, .owner] | join(" ")' "$STORE/containers/$id/layer.json"
	assert_output "$id persistent $key cli"
	assert_not_in_image "PERSISTENT-$id-marker"

	lock_layer "$id"
	assert_locked "$id"
	lock_layer "$id"          # idempotent
	run_cryptlayer list --json
	assert_equal "$(jq -r --arg id "$id" '.[] | select(.id == $id) | .key_status' <<<"$output")" absent

	run_cryptlayer unlock "$id"
	assert_output "$STORE/containers/$id/merged"
	assert_marker "$id"
	assert_dir_exists "$STORE/containers/$id/merged/plainname-$id"
	run "$PROBE" key-status "$key" "$STORE"
	assert_output present
	run_cryptlayer unlock "$id"        # already unlocked: same answer
	assert_output "$STORE/containers/$id/merged"

	run_cryptlayer destroy "$id"
	assert_persistent_gone "$id" "$key"
	run_cryptlayer destroy "$id"
}

@test "a damaged key-file copy (each in turn) is repaired by unlock" {
	local id kf c
	id=$(safename)
	new_layer "$id"
	kf=$(keyfile "$id")
	cp "$kf" "$BATS_TEST_TMPDIR/orig"
	for c in 0 1; do
		lock_layer "$id"
		flip_copy "$kf" "$c"
		run cmp -s "$kf" "$BATS_TEST_TMPDIR/orig"
		assert_failure
		run_cryptlayer unlock "$id"
		assert_marker "$id"
		# the bad copy was rewritten from the good one: the bytes are back
		cmp "$kf" "$BATS_TEST_TMPDIR/orig"
	done
	run_cryptlayer destroy "$id"
}

@test "both copies damaged: exit 1, clear error, the layer stays locked and is kept" {
	local id kf
	id=$(safename)
	new_layer "$id"
	kf=$(keyfile "$id")
	cp "$kf" "$BATS_TEST_TMPDIR/orig"
	lock_layer "$id"
	flip_copy "$kf" 0
	flip_copy "$kf" 1
	cp "$kf" "$BATS_TEST_TMPDIR/damaged"
	run_cryptlayer 1 unlock "$id"
	assert_output --regexp "^cryptlayer: unlock: key file '$id': both copies are damaged \(copy 0: .*; copy 1: .*\): Bad message$"
	assert_equal "${#lines[@]}" 1
	assert_locked "$id"
	cmp "$kf" "$BATS_TEST_TMPDIR/damaged"
	assert_file_exists "$STORE/containers/$id/layer.json"
	# nothing was deleted: with a good key file the data is still there
	cp "$BATS_TEST_TMPDIR/orig" "$kf"
	run_cryptlayer unlock "$id"
	assert_marker "$id"
	run_cryptlayer destroy "$id"
}

@test "wrong, missing or exposed machine key: clear error, nothing touched" {
	local id kf other before
	id=$(safename)
	new_layer "$id"
	kf=$(keyfile "$id")
	lock_layer "$id"
	cp "$kf" "$BATS_TEST_TMPDIR/orig"
	before=$(find "$STORE/containers/$id" -printf '%p %s %T@\n' | sort | md5sum)
	other=$BATS_TEST_TMPDIR/other.key
	head -c 32 /dev/urandom >"$other"
	chmod 600 "$other"

	run_cryptlayer 1 --machine-key "file:$other" unlock "$id"
	assert_output "cryptlayer: unlock: key of '$id' does not authenticate: wrong machine key? (or a key file moved from another layer): Bad message"
	run_cryptlayer 1 --machine-key "file:$BATS_TEST_TMPDIR/none.key" unlock "$id"
	assert_output --partial "machine key '$BATS_TEST_TMPDIR/none.key' does not exist"
	assert_not_exist "$BATS_TEST_TMPDIR/none.key"   # never created just to fail
	chmod 644 "$other"
	run_cryptlayer 1 --machine-key "file:$other" unlock "$id"
	assert_output --partial "has mode 0644: group or others may read it"
	run_cryptlayer 1 --machine-key "keyring:" unlock "$id"
	assert_output --partial "expected file:/ABSOLUTE/PATH or keyring:NAME"

	# a damaged copy stays damaged too: repair only after the key proved right
	flip_copy "$kf" 1
	cp "$kf" "$BATS_TEST_TMPDIR/damaged"
	chmod 600 "$other"
	run_cryptlayer 1 --machine-key "file:$other" unlock "$id"
	cmp "$kf" "$BATS_TEST_TMPDIR/damaged"
	assert_locked "$id"
	assert_equal "$(find "$STORE/containers/$id" -printf '%p %s %T@\n' | sort | md5sum)" "$before"

	run_cryptlayer unlock "$id"
	assert_marker "$id"
	cmp "$kf" "$BATS_TEST_TMPDIR/orig"
	run_cryptlayer destroy "$id"
}

@test "a missing key file or descriptor: clear error, nothing deleted" {
	local id kf
	id=$(safename)
	new_layer "$id"
	kf=$(keyfile "$id")
	lock_layer "$id"
	mv "$kf" "$BATS_TEST_TMPDIR/kf"
	run_cryptlayer 1 unlock "$id"
	assert_output "cryptlayer: unlock: open key file '$id': No such file or directory"
	assert_locked "$id"
	mv "$BATS_TEST_TMPDIR/kf" "$kf"
	echo '{"id": 5}' >"$STORE/containers/$id/layer.json.bad"
	cp "$STORE/containers/$id/layer.json" "$BATS_TEST_TMPDIR/desc"
	mv "$STORE/containers/$id/layer.json.bad" "$STORE/containers/$id/layer.json"
	run_cryptlayer 1 unlock "$id"
	assert_output --partial "descriptor 'containers/$id/layer.json' is malformed"
	cp "$BATS_TEST_TMPDIR/desc" "$STORE/containers/$id/layer.json"
	run_cryptlayer unlock "$id"
	assert_marker "$id"
	run_cryptlayer destroy "$id"
}

@test "concurrent unlocks and locks of one layer are serialised: one mount, key ABSENT after" {
	local id i pids=()
	id=$(safename)
	new_layer "$id"
	lock_layer "$id"
	for i in 1 2 3 4; do $CL unlock "$id" >"$BATS_TEST_TMPDIR/u$i" 2>&1 & pids+=($!); done
	for i in "${pids[@]}"; do wait "$i"; done
	run grep -c " $STORE/containers/$id/merged " /proc/self/mountinfo
	assert_output 1
	assert_marker "$id"
	pids=()
	for i in 1 2 3; do $CL lock "$id" 2>&1 & pids+=($!); done
	for i in "${pids[@]}"; do wait "$i"; done
	lock_layer "$id"   # a no-op unless a parallel suite's namespace delayed the removal
	assert_locked "$id"
	run_cryptlayer destroy "$id"
	assert_not_exist "$CLROOT/locks/$id"
}

@test "a key file moved to another layer does not unlock it" {
	local a b
	a=$(safename)-a
	b=$(safename)-b
	new_layer "$a"
	new_layer "$b"
	lock_layer "$a"
	lock_layer "$b"
	cp "$(keyfile "$a")" "$(keyfile "$b")"
	run_cryptlayer 1 unlock "$b"
	assert_output --partial "belongs to layer '$a', not '$b'"
	assert_locked "$b"
	run_cryptlayer destroy "$a"
	run_cryptlayer destroy "$b"
}

@test "run-dir loss (reboot): list shows the layer locked; lock, unlock and destroy still work" {
	local id key
	id=$(safename)
	new_layer "$id"
	run_cryptlayer status "$id" --json
	key=$(jq -r .key_id <<<"$output")

	# lost while unlocked: the store still describes it; lock needs no record
	rm -rf "$CLRUN"
	run_cryptlayer list --json
	assert_equal "$(jq -r --arg id "$id" '.[] | select(.id == $id) | .keymode' <<<"$output")" persistent
	lock_layer "$id"
	assert_locked "$id"

	# lost while locked, as after a reboot
	rm -rf "$CLRUN"
	run_cryptlayer list
	assert_output --regexp "$id +persistent +absent +- "
	run_cryptlayer list --json
	assert_equal "$(jq -r --arg id "$id" '.[] | select(.id == $id) | "\(.key_status) \(.mounted)"' <<<"$output")" "absent false"
	run_cryptlayer unlock "$id"
	assert_marker "$id"
	lock_layer "$id"
	rm -rf "$CLRUN"
	run_cryptlayer destroy "$id"
	assert_persistent_gone "$id" "$key"
}

@test "lock and unlock refuse what they cannot do" {
	local id
	id=$(safename)
	run_cryptlayer 1 lock "nosuch-$id"
	assert_output "cryptlayer: lock: no layer 'nosuch-$id': No such file or directory"
	run_cryptlayer 1 unlock "nosuch-$id"
	assert_output "cryptlayer: unlock: no persistent layer 'nosuch-$id': No such file or directory"
	run_cryptlayer 1 unlock "../$id"
	assert_output --partial "invalid layer id"
	run_cryptlayer 2 unlock
	assert_output --partial "missing layer ID"
	run_cryptlayer 2 lock a b
	run_cryptlayer create --base "$BATS_FILE_TMPDIR/base" --id "$id"
	run_cryptlayer 1 lock "$id"
	assert_output --partial "layer '$id' is ephemeral"
	run_cryptlayer 1 unlock "$id"
	assert_output --partial "layer '$id' is ephemeral"
	run_cryptlayer status "$id" --json
	assert_equal "$(jq -r .key_status <<<"$output")" present
	run_cryptlayer destroy "$id"
	run_cryptlayer lock --help
	assert_output --partial "Usage:"
	run_cryptlayer unlock --help
	assert_output --partial "machine key"
}

@test "machine key from the kernel keyring" {
	local id name kid
	id=$(safename)
	name=cl-test-$id
	# add_key(2) into the user keyring with user read permission, as
	# 'keyctl padd user NAME @u; keyctl setperm ID 0x3f030000' (no keyctl tool here)
	kid=$(python3 - "$name" 32 <<'PY'
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
data = os.urandom(int(sys.argv[2]))
r = libc.syscall(248, b"user", sys.argv[1].encode(), data, len(data), ctypes.c_int(-4))
if r >= 0 and libc.syscall(250, 5, r, ctypes.c_uint(0x3f030000)) < 0:
    r = -1
print(r if r >= 0 else "ERR%d" % ctypes.get_errno())
PY
)
	[[ $kid =~ ^[0-9]+$ ]] || skip "add_key failed here ($kid): no kernel keyring"
	run_cryptlayer --machine-key "keyring:$name" create --base "$BATS_FILE_TMPDIR/base" \
		--id "$id" --key persistent
	m=RING; echo "${m}KEY-$id" >"$output/secret"
	lock_layer "$id"
	head -c 32 /dev/urandom >"$BATS_TEST_TMPDIR/file.key"
	chmod 600 "$BATS_TEST_TMPDIR/file.key"
	# a file key is not the keyring key
	run_cryptlayer 1 --machine-key "file:$BATS_TEST_TMPDIR/file.key" unlock "$id"
	assert_output --partial "wrong machine key?"
	run_cryptlayer --machine-key "keyring:$name" unlock "$id"
	run cat "$STORE/containers/$id/merged/secret"
	assert_output "RINGKEY-$id"
	lock_layer "$id"
	run_cryptlayer 1 --machine-key "keyring:$name-missing" unlock "$id"
	assert_output --partial "no readable 'user' key"
	python3 -c 'import ctypes,sys; ctypes.CDLL(None).syscall(250, 21, int(sys.argv[1]))' "$kid"
	run_cryptlayer destroy "$id"
}

# persist_bundle DIR CMD...: a hook bundle (prestart + poststop) with
# io.cryptlayer.key=persistent and our machine key in the hooks' argv
persist_bundle() {
	local dir=$1; shift
	make_bundle "$dir" prestart "${PERSIST_BASE:-$BATS_FILE_TMPDIR/base}" "$@"
	jq --arg mk "file:$MK" '.annotations["io.cryptlayer.key"] = "persistent"
		| .hooks[][].args |= (.[0:5] + ["--machine-key", $mk] + .[5:])' \
		"$dir/config.json" >"$dir/config.json.new"
	mv "$dir/config.json.new" "$dir/config.json"
}

run_persistent() {
	local rt=$1 name key
	skip_if_no_runtime "$rt"
	name=$(safename)
	persist_bundle "$BATS_TEST_TMPDIR/b1" sh -c \
		'm=RUNTIME; echo "${m}PERSIST-$0" > /persist && mkdir /plainname-dir' "$name"
	runtime "$rt" run --bundle "$BATS_TEST_TMPDIR/b1" "$name" </dev/null
	# poststop locked it: key ABSENT, no record, files kept and encrypted
	run_cryptlayer status "$name" --json
	key=$(jq -r .key_id <<<"$output")
	assert_equal "$(jq -r .key_status <<<"$output")" absent
	run "$PROBE" key-status "$key" "$STORE"
	assert_output absent
	assert_not_exist "$CLRUN/$name.json"
	run find "$STORE/containers/$name/crypt" -name "*plainname*"
	assert_output ""
	assert_not_in_image "RUNTIMEPERSIST-$name"

	# the same name over another base: refused, the layer stays locked and intact
	mkdir -p "$BATS_TEST_TMPDIR/base2"
	PERSIST_BASE=$BATS_TEST_TMPDIR/base2 persist_bundle "$BATS_TEST_TMPDIR/b3" true
	run runtime "$rt" run --bundle "$BATS_TEST_TMPDIR/b3" "$name" </dev/null
	assert_failure
	# crun does not show a hook's stderr: the hook's log has the reason
	run grep -F "layer '$name' was made over '$BATS_FILE_TMPDIR/base', not '$BATS_TEST_TMPDIR/base2'" \
		"$CLRUN/cryptlayer.log"
	assert_success
	run "$PROBE" key-status "$key" "$STORE"
	assert_output absent
	assert_no_layer_mounts
	runtime "$rt" delete -f "$name" >/dev/null 2>&1 || true

	# unlocked by hand meanwhile: the container cannot have it (mounted elsewhere)
	run_cryptlayer unlock "$name"
	persist_bundle "$BATS_TEST_TMPDIR/b4" true
	run runtime "$rt" run --bundle "$BATS_TEST_TMPDIR/b4" "$name" </dev/null
	assert_failure
	run grep -F "layer '$name' is unlocked and mounted at '$STORE/containers/$name/merged'" \
		"$CLRUN/cryptlayer.log"
	assert_success
	runtime "$rt" delete -f "$name" >/dev/null 2>&1 || true
	lock_layer "$name"

	# the same container name again: prestart unlocks the layer, the data is back
	persist_bundle "$BATS_TEST_TMPDIR/b2" sh -c 'cat /persist; ls -d /plainname-dir'
	run runtime "$rt" run --bundle "$BATS_TEST_TMPDIR/b2" "$name" </dev/null
	assert_success
	assert_line "RUNTIMEPERSIST-$name"
	assert_line "/plainname-dir"
	run "$PROBE" key-status "$key" "$STORE"
	assert_output absent

	run_cryptlayer destroy "$name"
	assert_persistent_gone "$name" "$key"
}

@test "runc: a persistent layer is locked at stop and unlocked by the next run" {
	run_persistent runc
}

@test "crun: a persistent layer is locked at stop and unlocked by the next run" {
	run_persistent crun
}
