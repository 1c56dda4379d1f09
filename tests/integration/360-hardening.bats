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

# ---- item 1: which bases ----------------------------------------------------------------

@test "bases refused everywhere: /proc, /sys, /dev (and a bind of it), the store, the run dir" {
	local t=$BATS_TEST_TMPDIR base
	mkdir -p "$t/devbind" "$CLRUN/sub"
	for base in /proc /proc/self /sys /sys/kernel /dev /dev/shm "$CLROOT" "$STORE" \
		"$CLRUN" "$CLRUN/sub" /etc /; do
		run $CL create --base "$base" --id hostile
		one_error_line "create: base '.*' refused"
	done
	mount --bind /dev "$t/devbind"
	run $CL create --base "$t/devbind" --id hostile
	umount "$t/devbind"
	one_error_line "create: base '$t/devbind' refused: it is on a kernel pseudo filesystem"
	rmdir "$CLRUN/sub"
	nothing_left
}

@test "'--root /x/./root', a symlinked root and '..' do not defeat the inside-the-store check" {
	local t=$BATS_TEST_TMPDIR d=$BATS_FILE_TMPDIR
	ln -s "$d" "$t/filelink"
	run $CRYPTLAYER --root "$d/./root" --run-dir "$CLRUN" create --base "$STORE" --id hostile
	one_error_line "create: base '$STORE' refused"
	run $CRYPTLAYER --root "$t/filelink/root" --run-dir "$CLRUN" create --base "$STORE/containers" \
		--id hostile
	# (the store itself refuses a root reached through a symlink)
	one_error_line "create: (base '$STORE/containers' refused|mkdir '$t/filelink': Not a directory)"
	run $CRYPTLAYER --root "$d/base/../root" --run-dir "$CLRUN" create --base "$CLROOT/locks/.." \
		--id hostile
	one_error_line "create: base '$CLROOT' refused"
	nothing_left
}

@test "another layer's upper or merged view, of this store or another, is refused" {
	local t=$BATS_TEST_TMPDIR CL2 merged
	merged=$($CL create --base "$BATS_FILE_TMPDIR/base" --id victim)
	run $CL create --base "$STORE/containers/victim/crypt/upper" --id hostile
	one_error_line "create: base '.*' refused: it is inside the store"
	# a second store (another --root): its upper is fscrypt-encrypted, its merged an overlay
	CL2="$CRYPTLAYER --root $t/root2 --run-dir $t/run2"
	$CL2 store init --size 64M >/dev/null
	merged=$($CL2 create --base "$BATS_FILE_TMPDIR/base" --id victim2)
	for base in "$t/root2/store/containers/victim2/crypt/upper" "$merged" "$merged/etc"; do
		run $CL create --base "$base" --id hostile
		one_error_line "create: base '.*' refused: it is inside an encrypted layer"
	done
	$CL2 destroy victim2
	umount "$t/root2/store"
	run_cryptlayer destroy victim
	nothing_left
}

@test "--base-dir: a base must resolve, by its canonical path, to one of them or below" {
	local t=$BATS_TEST_TMPDIR merged
	mkdir -p "$t/bases/good/etc" "$t/outside"
	ln -s "$t/outside" "$t/bases/escape"
	ln -s "$t/bases" "$t/baselink"
	for base in "$t/outside" "$t/bases/escape" "$t/bases/../outside" "$BATS_FILE_TMPDIR/base"; do
		run $CL --base-dir "$t/bases" create --base "$base" --id hostile
		one_error_line "create: base '.*' refused: not at or below a --base-dir .'$t/bases'."
	done
	run $CL --require-base-dir create --base "$t/bases/good" --id hostile
	one_error_line "create: base '$t/bases/good' refused: this hook takes no named base"
	nothing_left
	# a symlinked --base-dir is compared by its target; several are allowed
	run_cryptlayer --base-dir /nonexistent --base-dir "$t/baselink" create --base "$t/bases/good" \
		--id allowed
	run_cryptlayer status allowed --json
	assert_equal "$(jq -r .base <<<"$output")" "$t/bases/good"
	run_cryptlayer destroy allowed
	run $CL --base-dir
	assert_failure 2
	run $CL --base-dir relative list
	assert_failure 2
}

@test "CRI-O descriptor: io.cryptlayer.base refused unless the admin adds --base-dir" {
	local b=$BATS_TEST_TMPDIR/b args
	make_hooks_dir "$BATS_TEST_TMPDIR/crio.d" crio
	args=$(jq -r '.hook.args[1:] | join(" ")' "$BATS_TEST_TMPDIR/crio.d/cryptlayer-createRuntime.json")
	[[ $args == *"--require-base-dir hook createRuntime" ]]
	bundle "$b" "{\"io.cryptlayer.base\": \"$BATS_FILE_TMPDIR/base\"}"
	start_init
	# shellcheck disable=SC2086 # the descriptor's argv
	run bash -c "jq -n --argjson p $INIT --arg b '$b' \
		'{ociVersion: \"1.0.2\", id: \"crio1\", status: \"created\", pid: \$p, bundle: \$b}' \
		| $CRYPTLAYER $args"
	kill "$INIT"
	one_error_line "createRuntime: base '$BATS_FILE_TMPDIR/base' refused: this hook takes no named base"
	nothing_left
}

@test "a base symlink swapped during create: a layer only ever over the allowed target" {
	local t=$BATS_TEST_TMPDIR end n=0 ok=0 bad=0 base swapper id left=()
	mkdir -p "$t/bases/good" "$t/outside"
	ln -sfn good "$t/bases/cur"
	# the swapper runs until the creates are done (a stop file), not on a clock of its own,
	# and never outlives this test ($$ is the test's shell)
	(
		while [ ! -e "$t/stop" ] && kill -0 $$ 2>/dev/null; do
			ln -sfn "$t/outside" "$t/bases/tmp" && mv -T "$t/bases/tmp" "$t/bases/cur"
			ln -sfn good "$t/bases/tmp" && mv -T "$t/bases/tmp" "$t/bases/cur"
		done
	) &
	swapper=$!
	# issue 15: race it for 10 s (microseconds, not SECONDS' whole-second steps)
	end=$((${EPOCHREALTIME/./} + 10000000))
	while [ "${EPOCHREALTIME/./}" -lt "$end" ]; do
		n=$((n + 1))
		run $CL --base-dir "$t/bases" create --base "$t/bases/cur" --id race$n
		if [ "$status" -eq 0 ]; then
			ok=$((ok + 1))
			base=$($CL status race$n --json | jq -r .base)
			[ "$base" = "$t/bases/good" ] || bad=$((bad + 1))
			# a mount namespace made meanwhile elsewhere on the host (another
			# container) may hold a copy for a moment: destroy is retried below
			$CL destroy race$n 2>/dev/null || left+=(race$n)
		elif [ "${#lines[@]}" -ne 1 ] || [[ ! $output =~ ^cryptlayer:\ create:\ base\ \' ]]; then
			echo "unexpected: $output" >&2
			bad=$((bad + 1))
		fi
	done
	touch "$t/stop"
	wait "$swapper"
	echo "# $n creates in 10 s, $ok over the allowed target" >&3
	for id in "${left[@]}"; do
		end=$((SECONDS + 60))
		until $CL destroy "$id" || [ $SECONDS -ge $end ]; do sleep 0.5; done
	done
	assert_equal "$bad" 0
	# both outcomes happened: the swaps really raced the creates
	assert [ "$ok" -gt 0 ]
	assert [ "$ok" -lt "$n" ]
	nothing_left
}

@test "--base-dir holds for import --base too (a crypto plugin command)" {
	local t=$BATS_TEST_TMPDIR
	mkdir -p "$t/bases/good" "$t/outside"
	run_cryptlayer keygen -o "$t/k"
	$CL create --base "$t/bases/good" --id exsrc >/dev/null
	run_cryptlayer export exsrc -o "$t/ex.clx" -r "$t/k.pub"
	run_cryptlayer destroy exsrc
	run $CL --base-dir "$t/bases" import "$t/ex.clx" -i "$t/k" --base "$t/outside" --id imp
	one_error_line "import: base '$t/outside' refused: not at or below a --base-dir"
	run $CL import "$t/ex.clx" -i "$t/k" --base /proc --id imp
	one_error_line "import: base '/proc' refused"
	nothing_left
	run_cryptlayer --base-dir "$t/bases" import "$t/ex.clx" -i "$t/k" --base "$t/bases/good" --id imp
	run_cryptlayer destroy imp
	nothing_left
}

@test "runc: a hook argv with --base-dir runs a base under it, fails the create for one outside" {
	skip_if_no_runtime runc
	local b=$BATS_TEST_TMPDIR/b id
	id=$(safename)
	make_bundle "$b" createRuntime "$BATS_FILE_TMPDIR/base" sh -c 'echo w >/written; cat /etc/base-file'
	# the descriptor's argv as an admin edits it: options before 'hook'
	with_base_dir() {
		jq --arg d "$1" '.hooks |= with_entries(.value |= map(.args |=
			(.[0:5] + ["--require-base-dir", "--base-dir", $d] + .[5:])))' \
			"$b/config.json" >"$b/c"
		mv "$b/c" "$b/config.json"
	}
	cp "$b/config.json" "$b/config.orig"
	with_base_dir "$BATS_FILE_TMPDIR"
	run runc run --bundle "$b" "$id" </dev/null
	assert_success
	assert_output "base-file"
	nothing_left
	cp "$b/config.orig" "$b/config.json"
	with_base_dir "$BATS_TEST_TMPDIR/elsewhere"
	: >"$CLRUN/cryptlayer.log"
	run runc run --bundle "$b" "$id-2" </dev/null
	assert_failure
	runc delete -f "$id-2" 2>/dev/null || true
	run grep -c "refused: not at or below a --base-dir" "$CLRUN/cryptlayer.log"
	assert_output 1
	nothing_left
}

# ---- "Must show": oversized configs, invalid UTF-8 -------------------------------------

@test "a 100 MiB config.json and annotations with invalid UTF-8: one clear error, nothing left" {
	local b=$BATS_TEST_TMPDIR/b
	start_init
	bundle "$b" "{\"io.cryptlayer.base\": \"$BATS_FILE_TMPDIR/base\"}"
	# 100 MiB of JSON whitespace after the object: read no further than the limit
	truncate -s 100M "$b/config.json"
	prestart_state '"bigcfg"' "$INIT" "$b"
	one_error_line "prestart: .*config.json.*larger than"
	# a base path and an annotation key with bytes that are not UTF-8
	bundle "$b"
	printf '{"ociVersion":"1.0.2","root":{"path":"rootfs"},"annotations":{"io.cryptlayer.base":"%s/\xff\xfe"}}' \
		"$BATS_FILE_TMPDIR/base" >"$b/config.json"
	prestart_state '"badutf"' "$INIT" "$b"
	one_error_line "prestart: annotation 'io.cryptlayer.base': the value is not UTF-8"
	printf '{"ociVersion":"1.0.2","root":{"path":"rootfs"},"annotations":{"io.cryptlayer.\xc3\x28":"x"}}' \
		>"$b/config.json"
	prestart_state '"badkey"' "$INIT" "$b"
	one_error_line "prestart: an io.cryptlayer.\\* annotation key is not UTF-8"
	kill "$INIT"
	nothing_left
	run find "$b/rootfs" -mindepth 1
	assert_output ""
}
