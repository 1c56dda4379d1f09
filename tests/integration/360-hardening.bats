#!/usr/bin/env bats
# Issue 15, hostile inputs: each gets one clear error line, exit 1, and nothing is left
# (no mount, key, layer directory, record or lock file).

load helpers

setup_file() {
	CL_STORE_SIZE=64M setup_store
	make_base "$BATS_FILE_TMPDIR/base"
}

teardown_file() {
	teardown_store
}

# no layer directory, key file, lock file, record or layer mount (the store's directories
# appear with the first layer)
nothing_left() {
	run find "$STORE/containers" "$STORE/keys" "$CLROOT/locks" -mindepth 1
	refute_output --regexp "^/"
	run bash -c "find '$CLRUN' -name '*.json*' 2>/dev/null"
	assert_output ""
	assert_no_layer_mounts
}

one_error_line() {
	assert_failure 1
	assert_equal "${#lines[@]}" 1
	assert_output --regexp "^cryptlayer: $1"
}

# a process in a mount namespace of its own (a container's init, as the hook sees it)
start_init() {
	unshare -m --propagation private sleep 60 &
	INIT=$!
	while [ "$(readlink "/proc/$INIT/ns/mnt")" = "$(readlink /proc/self/ns/mnt)" ]; do
		sleep 0.01
	done
}

# bundle DIR [ANNOTATIONS_JSON]: runc's default config, an empty stub as root.path
bundle() {
	mkdir -p "$1/rootfs"
	rm -f "$1/config.json"
	(cd "$1" && runc spec)
	jq --argjson a "${2:-{\}}" '.annotations = $a' "$1/config.json" >"$1/c"
	mv "$1/c" "$1/config.json"
}

# prestart_state ID_JSON PID BUNDLE: pipe a state to 'hook prestart'
prestart_state() {
	run bash -c "jq -n --argjson id '$1' --argjson p $2 --arg b '$3' \
		'{ociVersion: \"1.0.2\", id: \$id, status: \"created\", pid: \$p, bundle: \$b}' \
		| $CL hook prestart"
}

# ---- item 2: ids ------------------------------------------------------------------------

@test "create refuses ids with '/', '..', a leading '.', a newline, 4 KiB" {
	local id long
	long=$(head -c 4096 /dev/zero | tr '\0' x)
	for id in a/b .. . .hidden ..x "$(printf 'a\nb')" "$(printf 'a\033b')" "$long"; do
		run $CL create --base "$BATS_FILE_TMPDIR/base" --id "$id"
		one_error_line "create: invalid layer id"
	done
	nothing_left
	run_cryptlayer list --json
	assert_output "[]"
}

@test "hook states with ids '/', '..', '.x', NUL, newline, 4 KiB are refused" {
	local b=$BATS_TEST_TMPDIR/b id long
	bundle "$b" "{\"io.cryptlayer.base\": \"$BATS_FILE_TMPDIR/base\"}"
	start_init
	long=\"$(head -c 4096 /dev/zero | tr '\0' x)\"
	for id in '"a/b"' '".."' '".x"' '"a\nb"' "$long"; do
		prestart_state "$id" "$INIT" "$b"
		one_error_line "prestart: state: missing or invalid 'id'"
	done
	prestart_state '"a\u0000/../x"' "$INIT" "$b"
	one_error_line "prestart: state: 'id' contains a NUL byte"
	kill "$INIT"
	nothing_left
}

# ---- item 3: the hook's own mount namespace ---------------------------------------------

@test "prestart refuses a pid in the hook's own mount namespace, PID 1, a dead pid" {
	local b=$BATS_TEST_TMPDIR/b pid
	bundle "$b" "{\"io.cryptlayer.base\": \"$BATS_FILE_TMPDIR/base\"}"
	sleep 60 &
	pid=$!
	prestart_state '"hostns"' "$pid" "$b"
	one_error_line "prestart: container 'hostns': process $pid shares the hook's mount namespace"
	kill "$pid"
	if [ "$(readlink /proc/1/ns/mnt)" = "$(readlink /proc/self/ns/mnt)" ]; then
		prestart_state '"hostns"' 1 "$b"
		one_error_line "prestart: container 'hostns': process 1 shares the hook's mount namespace"
	fi
	wait "$pid" 2>/dev/null || true
	prestart_state '"hostns"' "$pid" "$b"
	one_error_line "prestart: container process $pid is gone"
	nothing_left
	run find "$b/rootfs" -mindepth 1
	assert_output ""
	run grep -c " $b/rootfs " /proc/self/mountinfo
	assert_output 0
}

# ---- item 4: log injection --------------------------------------------------------------

@test "a newline in an annotation value cannot forge a log line" {
	local b=$BATS_TEST_TMPDIR/b
	bundle "$b" '{"io.cryptlayer.base": "/nonexistent\n2026-01-01T00:00:00Z [1] forged line"}'
	start_init
	: >"$CLRUN/cryptlayer.log"
	prestart_state '"inject"' "$INIT" "$b"
	kill "$INIT"
	one_error_line "prestart: base '/nonexistent\\\\n2026-01-01T00:00:00Z \\[1\\] forged line'"
	run grep -c '^2026-01-01T00:00:00Z \[1\] forged' "$CLRUN/cryptlayer.log"
	assert_output 0
	run grep -c 'nonexistent\\n2026' "$CLRUN/cryptlayer.log"
	assert_output 1
	nothing_left
}

# ---- item 5: prepare keeps config.json's mode and owner ---------------------------------

@test "prepare keeps config.json's mode and owner, and a FIFO named config.json.tmp does not hang it" {
	local b=$BATS_TEST_TMPDIR/prep1
	bundle "$b" "{\"io.cryptlayer.base\": \"$BATS_FILE_TMPDIR/base\"}"
	chmod 0600 "$b/config.json"
	chown 1234:4321 "$b/config.json"
	mkfifo "$b/config.json.tmp"
	run timeout 30 $CL prepare --bundle "$b"
	assert_success
	run stat -c '%a %u %g %F' "$b/config.json"
	assert_output "600 1234 4321 regular file"
	run jq -r .root.path "$b/config.json"
	assert_output "$STORE/containers/prep1/merged"
	assert [ -p "$b/config.json.tmp" ]
	run_cryptlayer destroy prep1
	nothing_left
}
