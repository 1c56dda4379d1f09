#!/usr/bin/env bats
# Secret scan (issue 15): with known keys (the FAULT=1 build's CRYPTLAYER_FAULT_KEYS: every
# 64-byte getrandom() is the fscrypt key K64, every 32-byte one the .clx data key K32) and
# a known machine key MK, no key's bytes (raw, hex, base64; tests/tools/secret-scan.py)
# appear in the records, the run dir, the log, the raw store image (its metadata and the
# wrapped key files, outside and inside the encrypted tree), command output, an export,
# or /proc/PID/cmdline and environ of a hook caught mid-run (stopped by the fault build at
# its overlay mount, after its key is added). Core dumps are possible on this machine (a
# control process dumps one), but a hook that crashes writes none: the binary makes
# itself non-dumpable with RLIMIT_CORE 0.

# shellcheck disable=SC2086 # CL and CLP are word lists
CRYPTLAYER=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)/build-fault/cryptlayer
load helpers
PROBE=$TOP/build-fault/tests/fscrypt-probe

setup_file() {
	skip_if_not_root
	if [ ! -x "$CRYPTLAYER" ] || [ ! -x "$PROBE" ]; then
		make -C "$TOP" B=build-fault FAULT=1 all build-fault/tests/fscrypt-probe >/dev/null
	fi
	export W=$BATS_FILE_TMPDIR
	CL_STORE_SIZE=64M setup_store
	make_base "$W/base"
	mkdir -p "$W/secret" "$W/mk" "$W/out"
	head -c 96 /dev/urandom >"$W/secret/keys"
	head -c 32 /dev/urandom >"$W/mk/machine.key"
	chmod 0600 "$W/mk/machine.key"
	export CRYPTLAYER_FAULT_KEYS=$W/secret/keys
	export CLP="$CL --machine-key file:$W/mk/machine.key"
	K64=$(head -c 64 "$W/secret/keys" | xxd -p -c 256)
	K32=$(tail -c 32 "$W/secret/keys" | xxd -p -c 256)
	MK=$(xxd -p -c 256 "$W/mk/machine.key")
	export K64 KEYS="fscrypt-key=$K64,data-key=$K32,machine-key=$MK"
}

teardown_file() {
	teardown_store
}

# scan PATH...: no key in any of them (the store image after its dirty pages are written)
scan() {
	sync -f "$STORE" 2>/dev/null || sync
	run python3 "$TOP/tests/tools/secret-scan.py" "$KEYS" "$@"
	assert_success
	assert_output ""
}

# o NAME CMD...: run a command, keeping its stdout and stderr for the scan
o() {
	local name=$1
	shift
	"$@" >"$W/out/$name.out" 2>"$W/out/$name.err" || {
		cat "$W/out/$name.err" >&2
		return 1
	}
}

key_id() {
	$CL status "$1" --json | jq -r .key_id
}

# fscrypt's key identifier of 64 key bytes (hex): HKDF-SHA512, empty salt, info
# "fscrypt\0" + 1 (the kernel's HKDF_CONTEXT_KEY_IDENTIFIER), 16 bytes
key_identifier() {
	python3 -c 'import hashlib, hmac, sys
k = bytes.fromhex(sys.argv[1])
prk = hmac.new(bytes(64), k, hashlib.sha512).digest()
print(hmac.new(prk, b"fscrypt\0\x01\x01", hashlib.sha512).digest()[:16].hex())' "$1"
}

@test "the scan is not vacuous: the layer's key is the known K64, the scanner finds planted keys" {
	local d=$BATS_TEST_TMPDIR
	o create-probe $CL create --base "$W/base" --id probe
	assert_equal "$(key_id probe)" "$(key_identifier "$K64")"
	o destroy-probe $CL destroy probe
	head -c 64 "$W/secret/keys" >"$d/raw"
	{ printf 'x'; head -c 64 "$W/secret/keys" | base64 -w0; } >"$d/b64"
	{ printf 'id='; tail -c 32 "$W/secret/keys" | xxd -p -c 256; } >"$d/hex"
	{ printf 'ab'; base64 -w0 "$W/mk/machine.key" | tr '+/' '-_'; } >"$d/b64url"
	run python3 "$TOP/tests/tools/secret-scan.py" "$KEYS" "$d"
	assert_failure 1
	assert_line --partial "$d/raw: fscrypt-key as raw at 0"
	assert_line --partial "$d/b64: fscrypt-key as base64+0"
	assert_line --partial "$d/hex: data-key as hex at 3"
	assert_line --partial "$d/b64url: machine-key as base64url+"
}

@test "ephemeral and persistent layers, lock, unlock, export: no key in records, run dir, log, image, output" {
	local m
	m=$(o create-eph $CL create --base "$W/base" --id eph && cat "$W/out/create-eph.out")
	echo data >"$m/file"
	# while it runs: the key is in the kernel, never in a file
	scan "$CLRUN" "$CLROOT/locks" "$IMAGE" "$W/out"
	o destroy-eph $CL destroy eph
	m=$(o create-per $CLP create --base "$W/base" --id per --key persistent &&
		cat "$W/out/create-per.out")
	echo data >"$m/file"
	o lock $CLP lock per
	# locked: the key exists only wrapped by MK, in the store's key file
	scan "$CLRUN" "$IMAGE" "$W/out"
	o unlock $CLP unlock per
	"$CRYPTLAYER" keygen -o "$W/id" >/dev/null
	# the export: the data key K32 only wrapped for the recipient
	o export $CLP export per -o "$W/per.clx" -r "$W/id.pub"
	scan "$W/per.clx" "$CLRUN" "$IMAGE" "$W/out"
	o destroy-per $CLP destroy per
	scan "$CLRUN" "$IMAGE" "$W/out"
}

# the hook's pid once it is stopped (the fault build's CRYPTLAYER_FAULT_STOP), 30 s at most
stopped_hook() {
	local pid _ st
	for _ in $(seq 1 600); do
		for pid in $(pgrep -f -- "--root $CLROOT .*hook prestart"); do
			st=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)
			[ "$st" = T ] && echo "$pid" && return 0
		done
		sleep 0.05
	done
	return 1
}

@test "a hook caught mid-run: no key in its cmdline or environ; crashed there, it dumps no core" {
	skip_if_no_runtime runc
	local b=$W/bundle name pid cwd
	name=$(safename)
	make_bundle "$b" prestart "$W/base" sh -c 'echo ran'
	# hooks get only the env the config gives them: the known keys, and a stop at the
	# overlay's mount (after the key is added)
	jq --arg k "CRYPTLAYER_FAULT_KEYS=$W/secret/keys" \
		'.hooks.prestart[0].env = [$k, "CRYPTLAYER_FAULT_STOP=fsmount"]' \
		"$b/config.json" >"$b/c" && mv "$b/c" "$b/config.json"
	# core dumps are possible here: core_pattern is a file, and a control process dumps
	ulimit -c unlimited
	run cat /proc/sys/kernel/core_pattern
	[[ $output != "|"* ]] || skip "core_pattern pipes to a program: $output"
	(cd "$b" && sh -c 'kill -SEGV $$') 2>/dev/null || true
	assert [ -n "$(find "$b" -maxdepth 1 -name 'core*' -print -quit)" ]
	rm -f "$b"/core*
	runc run --bundle "$b" "$name" >"$W/out/runc.out" 2>"$W/out/runc.err" &
	pid=$(stopped_hook)
	cwd=$(readlink "/proc/$pid/cwd")
	cat "/proc/$pid/cmdline" >"$W/out/cmdline"
	cat "/proc/$pid/environ" >"$W/out/environ"
	grep -qa CRYPTLAYER_FAULT_STOP "$W/out/environ" # the environ really was read
	# stopped after its key K64 was added: the record names it
	assert_equal "$(jq -r .key_id "$CLRUN/$name.json")" "$(key_identifier "$K64")"
	# mid-run: the key was added (the record names it), no file has it
	scan "$W/out/cmdline" "$W/out/environ" "$CLRUN" "$IMAGE"
	# crash it there: no core, in its cwd or anywhere the pattern could put it
	kill -SEGV "$pid"
	kill -CONT "$pid"
	wait %1 || true
	runc delete -f "$name" 2>/dev/null || true
	run find "$cwd" "$b" / -maxdepth 1 -name 'core*' -newer "$W/out/cmdline"
	assert_output ""
	grep -q 'stopped at call [0-9]* (fsmount)' "$W/out/runc.err"
	# what the crash left, gc erases
	$CL gc >/dev/null 2>&1 || true
	assert_no_layer_mounts
	scan "$CLRUN" "$IMAGE" "$W/out"
}
