#!/usr/bin/env bats
# The self-sandbox (issue 15, STYLE §1.6): once a command or hook stage has parsed and
# opened what it needs, it runs with NoNewPrivs, only its phase's capabilities and a
# seccomp allowlist that fails every other syscall with EPERM (lib/sandbox/policy.c).
#
# A hook is caught mid-run without a sleep: the test holds the layer's lock, so the hook
# (its sandbox already on) waits in flock(2); /proc/PID/status is read once it shows the
# filter, then the lock is let go and the container runs as usual.

# shellcheck disable=SC2086 # CL is a word list
load helpers
bats_require_minimum_version 1.5.0

FAULT_BIN=$TOP/build-fault/cryptlayer

setup_file() {
	setup_store
	make_base "$BATS_FILE_TMPDIR/base"
	mkdir -p "$CLROOT/locks"
}

# The sanitizer build (make check-asan) keeps NNP and the capability drop but loads no
# seccomp filter (ASan makes syscalls of its own): what needs the filter skips there.
SAN_SKIP="sanitizer build: no seccomp filter (lib/sandbox/sandbox.c)"
is_san() {
	nm -D "$1" 2>/dev/null | grep -q ' U __asan_init'
}
skip_if_san() {
	if is_san "$1"; then skip "$SAN_SKIP"; fi
}

teardown_file() {
	teardown_store
}

teardown() {
	if [ -n "${LOCKFD:-}" ]; then exec {LOCKFD}>&-; fi
	LOCKFD=
}

# caps_hex CAP...: the CapEff line of that set (capability numbers, linux/capability.h)
caps_hex() {
	local v=0 c
	for c in "$@"; do v=$((v | 1 << c)); done
	printf '%016x' "$v"
}
# lib/sandbox/policy.c: CAPS_LIFECYCLE (chown dac_override dac_read_search fowner fsetid
# linux_immutable ipc_lock sys_chroot sys_ptrace sys_admin sys_resource) and CAPS_MOUNTER
# (+ mknod setfcap: overlayfs acts with its creator's capabilities)
LIFECYCLE=$(caps_hex 0 1 2 3 4 9 14 18 19 21 24)
MOUNTER=$(caps_hex 0 1 2 3 4 9 14 18 19 21 24 27 31)

# hold_lock ID: take layer ID's lock (lib/layer/lock.c) in this shell. Every command
# started meanwhile gets '{LOCKFD}>&-': a hook that inherited the locked file description
# would wait for itself.
hold_lock() {
	exec {LOCKFD}>"$CLROOT/locks/$1"
	flock -x "$LOCKFD"
}

release_lock() {
	exec {LOCKFD}>&-
	LOCKFD=
}

# caught PATTERN: the pid of the process whose argv matches PATTERN, once it runs under a
# seccomp filter (10 s at most); sets PID and STATUS (its /proc/PID/status)
caught() {
	local _ p
	for _ in $(seq 1 1000); do
		for p in $(pgrep -f -- "$1"); do
			if grep -q '^Seccomp:[[:space:]]*2$' "/proc/$p/status" 2>/dev/null; then
				PID=$p
				STATUS=$(cat "/proc/$p/status")
				return 0
			fi
		done
		sleep 0.01
	done
	echo "no process matching '$1' reached its sandbox" >&2
	return 1
}

# within_ours CAPHEX: that set as far as this machine grants it (root here may lack some,
# e.g. CAP_SYS_RESOURCE in a VM's bounding set): the bits this shell has too
within_ours() {
	printf '%016x' $((0x$1 & 0x$(sed -n 's/^CapEff:[[:space:]]*//p' /proc/$$/status)))
}

# assert_confined CAPEFF: STATUS shows NoNewPrivs, a seccomp filter and exactly CAPEFF
# (as far as this machine grants it)
assert_confined() {
	grep -qE '^NoNewPrivs:[[:space:]]+1$' <<<"$STATUS" || { echo "$STATUS" >&2; return 1; }
	grep -qE '^Seccomp:[[:space:]]+2$' <<<"$STATUS"
	grep -qE '^Seccomp_filters:[[:space:]]+1$' <<<"$STATUS"
	run sed -n 's/^CapEff:[[:space:]]*//p' <<<"$STATUS"
	assert_output "$(within_ours "$1")"
	run sed -n 's/^CapInh:[[:space:]]*//p' <<<"$STATUS"
	assert_output 0000000000000000
}

# retry_busy CMD...: CMD until it does not fail because another helper's container, made
# meanwhile, holds a copy of our mount in its namespace (as 700-faults.bats): 15 s at most
retry_busy() {
	local _
	for _ in $(seq 30); do
		"$@" 2>"$BATS_TEST_TMPDIR/busy" && return 0
		grep -q "another mount namespace holds" "$BATS_TEST_TMPDIR/busy" || break
		sleep 0.5
	done
	cat "$BATS_TEST_TMPDIR/busy" >&2
	return 1
}

# the hooks of a real runtime, caught at prestart (or createRuntime) and at poststop
hooks_confined() {
	local rt=$1 stage=$2 name bundle key
	skip_if_no_runtime "$rt"
	skip_if_san "$CRYPTLAYER"
	name=$(safename)
	bundle=$BATS_TEST_TMPDIR/$name
	make_bundle "$bundle" "$stage" "$BATS_FILE_TMPDIR/base" sh -c 'touch /ready; exec sleep 600'

	hold_lock "$name"
	runtime "$rt" create --bundle "$bundle" "$name" </dev/null >"$bundle/log" 2>&1 {LOCKFD}>&- &
	caught "$CLRUN hook $stage"
	assert_confined "$MOUNTER"
	release_lock
	wait $!
	runtime "$rt" start "$name"
	wait_for_file "$STORE/containers/$name/crypt/upper/ready"
	run_cryptlayer status "$name" --json
	key=$(jq -r .key_id <<<"$output")

	runtime "$rt" kill "$name" KILL
	for _ in $(seq 1 50); do
		runtime "$rt" state "$name" 2>/dev/null | grep -q '"status": "stopped"' && break
		sleep 0.1
	done
	hold_lock "$name"
	runtime "$rt" delete "$name" {LOCKFD}>&- &
	caught "$CLRUN hook poststop"
	assert_confined "$LIFECYCLE"
	release_lock
	wait $!
	run "$PROBE" key-status "$key" "$STORE"
	assert_output absent
	assert_not_exist "$STORE/containers/$name"
}

@test "runc: prestart and poststop hooks run confined (NoNewPrivs, seccomp, their capabilities)" {
	hooks_confined runc prestart
}

@test "crun: createRuntime and poststop hooks run confined" {
	hooks_confined crun createRuntime
}

@test "create and destroy run confined; --insecure-no-seccomp keeps NNP and the capability drop" {
	local id
	skip_if_san "$CRYPTLAYER"
	id=$(safename)
	hold_lock "$id"
	$CL create --base "$BATS_FILE_TMPDIR/base" --id "$id" >"$BATS_TEST_TMPDIR/out" {LOCKFD}>&- &
	caught "$CLRUN create --base"
	assert_confined "$MOUNTER"
	release_lock
	wait $!
	hold_lock "$id"
	$CL destroy "$id" {LOCKFD}>&- 2>"$BATS_TEST_TMPDIR/err" &
	caught "$CLRUN destroy $id"
	assert_confined "$LIFECYCLE"
	release_lock
	wait $! || retry_busy $CL destroy "$id"
	assert_not_exist "$STORE/containers/$id"

	# without the filter: NoNewPrivs and the capabilities as before, Seccomp 0
	hold_lock "$id"
	$CL --insecure-no-seccomp create --base "$BATS_FILE_TMPDIR/base" --id "$id" >/dev/null \
		{LOCKFD}>&- &
	for _ in $(seq 1 1000); do
		PID=$(pgrep -f -- "$CLRUN --insecure-no-seccomp create") && [ -n "$PID" ] &&
			grep -q '^NoNewPrivs:[[:space:]]*1$' "/proc/$PID/status" && break
		sleep 0.01
	done
	run grep -E '^(NoNewPrivs|Seccomp|CapEff):' "/proc/$PID/status"
	assert_line --regexp '^NoNewPrivs:[[:space:]]+1$'
	assert_line --regexp '^Seccomp:[[:space:]]+0$'
	assert_line --regexp "^CapEff:[[:space:]]+$(within_ours "$MOUNTER")\$"
	release_lock
	wait $!
	retry_busy $CL destroy "$id"
}

@test "encrypt runs OpenSSL with no capability under the bulk filter; doctor reports seccomp" {
	skip_if_san "$CRYPTLAYER"
	"$CRYPTLAYER" keygen -o "$BATS_TEST_TMPDIR/id" >/dev/null
	mkfifo "$BATS_TEST_TMPDIR/in"
	"$CRYPTLAYER" encrypt -r "$BATS_TEST_TMPDIR/id.pub" <"$BATS_TEST_TMPDIR/in" \
		>"$BATS_TEST_TMPDIR/out.clx" &
	exec {w}>"$BATS_TEST_TMPDIR/in"
	caught "encrypt -r $BATS_TEST_TMPDIR/id.pub"
	assert_confined 0000000000000000
	echo hello >&$w
	exec {w}>&-
	wait $!
	run "$CRYPTLAYER" decrypt -i "$BATS_TEST_TMPDIR/id" <"$BATS_TEST_TMPDIR/out.clx"
	assert_success
	assert_output hello

	run_cryptlayer doctor --json
	assert_equal "$(jq -r .sandbox.seccomp <<<"$output")" true
	assert_equal "$(jq -r .sandbox.active <<<"$output")" read
	run_cryptlayer doctor
	assert_line --regexp '^sandbox +seccomp yes .*ran under .read.$'
}

# ---- a phase that makes a syscall outside its allowlist ---------------------------------

# Fault build (tests/fault/fault.c): with CRYPTLAYER_FAULT_SYSCALL=NAME the Nth side-
# effecting call of prestart makes syscall NAME for real instead. Walked over every N: once
# the sandbox is on, the syscall gets EPERM, the hook exits 1 with one error line (the
# step's EPERM), and the container's namespace, the host and the store keep nothing (no
# mount, layer directory, record, and every key the run added is ABSENT) before any
# poststop or gc runs (where the hook cannot get back to its own namespace it says "undo
# incomplete", as with any fault there, and the runtime's poststop erases it all). Calls before the sandbox (the log, the store) get the kernel's own
# answer, never once the sandbox is on.
# sb_container: a stand-in container, in a mount namespace of its own with root.path a
# mount point in it (as a runtime makes it); sets PID and STATE
sb_container() {
	local b=$1 _
	unshare -m --propagation private sh -c 'mount --bind "$1" "$1" && exec sleep 600' sh \
		"$b/rootfs" &
	PID=$!
	for _ in $(seq 1 500); do
		grep -qs " $b/rootfs " "/proc/$PID/mountinfo" && break
		sleep 0.01
	done
	STATE=$(jq -n --arg b "$b" --argjson p "$PID" \
		'{ociVersion: "1.0.2", id: "sbfault", status: "created", pid: $p, bundle: $b}')
}

# sb_nothing_left WHEN: no layer directory, record, or key named in the fault build's
# err output of sbfault is left (says which, after WHEN)
sb_nothing_left() {
	local k
	[ ! -e "$STORE/containers/sbfault" ] || { echo "$1: layer dir left"; return 1; }
	[ ! -e "$CLRUN/sbfault.json" ] || { echo "$1: record left"; return 1; }
	for k in $(sed -n 's/^cryptlayer-fault-key: //p' "$BATS_TEST_TMPDIR/err"); do
		[ "$("$PROBE" key-status "$k" "$STORE")" = absent ] || { echo "$1: key $k left"; return 1; }
	done
}

# sb_stop: the stand-in exits, then poststop (as the runtime runs it)
sb_stop() {
	kill "$PID"
	wait "$PID" || true
	"$CRYPTLAYER" --root "$CLROOT" --run-dir "$CLRUN" hook poststop <<<"$STATE"
}

walk_prestart() {
	local sc=$1 b=$BATS_TEST_TMPDIR/b n fired err rc seen_eperm=0 first=0 k
	mkdir -p "$b/rootfs"
	[ -e "$b/config.json" ] || (cd "$b" && runc spec)
	jq --arg base "$BATS_FILE_TMPDIR/base" '.annotations = {"io.cryptlayer.base": $base}' \
		"$b/config.json" >"$b/c" && mv "$b/c" "$b/config.json"
	for n in $(seq 1 200); do
		sb_container "$b"
		rc=0
		CRYPTLAYER_FAULT_AT=$n CRYPTLAYER_FAULT_SYSCALL=$sc \
			"$FAULT_BIN" --root "$CLROOT" --run-dir "$CLRUN" hook prestart \
			<<<"$STATE" >/dev/null 2>"$BATS_TEST_TMPDIR/err" || rc=$?
		fired=$(sed -n "s/^cryptlayer-fault: call $n (.*) failed: tried $sc: //p" \
			"$BATS_TEST_TMPDIR/err")
		err=$(grep -v '^cryptlayer-fault' "$BATS_TEST_TMPDIR/err" || true)
		if [ -z "$fired" ]; then # the walk is past the last call
			sb_stop
			break
		fi
		if [ "$fired" = "Operation not permitted" ]; then
			[ "$first" -gt 0 ] || first=$n
			seen_eperm=$((seen_eperm + 1))
			# exit 1, one line (a best-effort step may go on: exit 0)
			if [ "$rc" -ne 0 ]; then
				[ "$rc" -eq 1 ] || { echo "N=$n: exit $rc: $err"; return 1; }
				[ "$(wc -l <<<"$err")" -eq 1 ] || { echo "N=$n: $err"; return 1; }
				[[ $err =~ ^cryptlayer:\ prestart:\ .*Operation\ not\ permitted$ ]] ||
					{ echo "N=$n: $err"; return 1; }
			fi
		else
			# let through only before the sandbox: never once it was on
			[ "$first" -eq 0 ] || { echo "N=$n: $sc $fired after the sandbox (N=$first)"; return 1; }
		fi
		# nothing left, before any poststop or gc; unless the hook could not get back to
		# its own namespace to undo (says so): then after the runtime's poststop (below)
		if [ "$rc" -ne 0 ] && [[ $err != *"undo incomplete"* ]]; then
			if grep -q "$STORE/containers/sbfault" "/proc/$PID/mountinfo" /proc/self/mountinfo; then
				echo "N=$n: a layer mount is left"; return 1
			fi
			sb_nothing_left "N=$n" || return 1
		fi
		sb_stop
		sb_nothing_left "N=$n, after poststop" || return 1
	done
	echo "# $sc: $seen_eperm fault points refused with EPERM (from call $first), walk ended at N=$n"
	[ "$seen_eperm" -gt 5 ]
	[ "$n" -lt 200 ]
}

@test "fault build: prestart trying socket, ptrace, execve or mount(2) gets EPERM, one error, nothing left" {
	make -C "$TOP" -s B=build-fault FAULT=1 all >/dev/null
	skip_if_san "$FAULT_BIN"
	local sc
	for sc in socket ptrace execve mount; do
		walk_prestart "$sc"
	done
}
