#!/usr/bin/env bats
# Nested containers (issue 11, DESIGN §6): an outer runc container with
# io.cryptlayer.nested=true runs inner runc and crun containers with the same hook and
# the default store path; every inner container has a key of its own on the nest store,
# an inner stop erases its key while the outer runs, and the outer stop (or kill -9, or
# gc after a killed hook) erases every key of the tree.

# shellcheck disable=SC2030,SC2031 # each test runs in its own subshell, by design

load helpers
load nested-lib

setup_file() {
	CL_STORE_SIZE=512M setup_store
	export T=$BATS_FILE_TMPDIR
	# the outer's base: busybox, Debian's merged-usr links (the host's /usr is bound in)
	make_base "$T/obase"
	ln -s usr/lib "$T/obase/lib"
	ln -s usr/lib64 "$T/obase/lib64"
	ln -s usr/sbin "$T/obase/sbin"
	# the inner containers' base, bound read-only into the outer at /ibase (a plain
	# filesystem: an inner overlay over the outer's overlay is one stacking level more)
	make_base "$T/ibase"
	mkdir -p "$T/shared"
	outer_jq >"$T/outer.jq"
}

teardown_file() {
	local id
	# this run's containers only (their bundles are under its temporary directory): other
	# runs of this suite may be running on the same machine
	for id in $(runc list -f json 2>/dev/null | jq -r --arg d "$BATS_RUN_TMPDIR/" \
		'.[]? | select(.bundle | startswith($d)) | .id'); do
		runc kill "$id" KILL 2>/dev/null
		runc delete -f "$id" 2>/dev/null
	done
	teardown_store
}

# make_outer DIR [ANNOTATIONS_JSON [HOOK_ARGV_JSON [OBASE IBASE SHARED]]]: a privileged
# bundle over obase (nested-lib.bash: outer_jq), nested=true by default, hooked to this
# suite's store by default
make_outer() {
	local dir=$1 ann=${2:-} hook=${3:-} ob=${4:-$T/obase} ib=${5:-$T/ibase} sh=${6:-$T/shared}
	[ -n "$ann" ] || ann=$(jq -nc --arg b "$ob" \
		'{"io.cryptlayer.base": $b, "io.cryptlayer.nested": "true"}')
	[ -n "$hook" ] || hook=$(jq -nc --arg b "$CRYPTLAYER" --arg r "$CLROOT" --arg d "$CLRUN" \
		'[$b, "--root", $r, "--run-dir", $d, "hook"]')
	mkdir -p "$dir/rootfs"
	(cd "$dir" && runc spec)
	jq --argjson args '["sh", "-c", "trap \"exit 0\" TERM; while :; do sleep 1; done"]' \
		--argjson ann "$ann" --arg top "$TOP" --arg ibase "$ib" --arg obase "$ob" \
		--arg shared "$sh" --argjson hooks "$(hook_pair "$hook")" \
		-f "$T/outer.jq" "$dir/config.json" >"$dir/c" && mv "$dir/c" "$dir/config.json"
}

# start_outer NAME: an outer container, running; its key in OKEY
start_outer() {
	local name=$1
	make_outer "$BATS_TEST_TMPDIR/$name"
	runc create --bundle "$BATS_TEST_TMPDIR/$name" "$name" </dev/null >/dev/null 2>&1 || {
		tail -5 "$CLRUN/cryptlayer.log" >&2
		return 1
	}
	runc start "$name"
	OKEY=$($CL status "$name" --json | jq -r .key_id)
}

# in_outer OUTER CMD...: run CMD in the outer container (stdio detached from ours)
in_outer() {
	local o=$1
	shift
	runc exec "$o" "$@" </dev/null
}

# make_inner NAME [ANNOTATIONS_JSON] [STAGE]: an inner bundle in /shared/NAME whose hook is
# this build's cryptlayer with no option at all (the default store path inside), over
# /ibase; the process writes a marker assembled inside it and waits
make_inner() {
	local name=$1 ann=${2:-} stage=${3:-prestart} dir=$T/shared/$1
	[ -n "$ann" ] || ann='{"io.cryptlayer.base": "/ibase"}'
	mkdir -p "$dir/rootfs"
	(cd "$dir" && runc spec)
	jq --arg b "$CRYPTLAYER" --arg name "$name" --argjson ann "$ann" --arg stage "$stage" '
		.process.terminal = false | .root.readonly = false | .annotations = $ann
		| .process.args = ["sh", "-c", "m=PLAIN; echo \"${m}TEXT-$0-inner\" > /marker && touch /ready && exec sleep 600", $name]
		| .hooks = {($stage): [{path: $b, args: ["cryptlayer", "hook", $stage]}],
		            poststop: [{path: $b, args: ["cryptlayer", "hook", "poststop"]}]}
		' "$dir/config.json" >"$dir/c" && mv "$dir/c" "$dir/config.json"
}

# start_inner OUTER NAME RUNTIME: an inner container in OUTER, running, its marker written
start_inner() {
	local o=$1 name=$2 rt=$3 upper
	in_outer "$o" sh -c "$rt create --bundle /shared/$name $name >/shared/$name.log 2>&1 &&
		$rt start $name" || {
		cat "$T/shared/$name.log" >&2
		in_outer "$o" tail -5 /run/cryptlayer/cryptlayer.log >&2
		return 1
	}
	upper=$STORE/nest/$o/store/containers/$name/crypt/upper
	wait_for_file "$upper/ready"
}

# stop_inner OUTER NAME RUNTIME: kill and delete it (poststop runs inside the outer)
stop_inner() {
	kill_and_wait "$2" KILL in_outer "$1" "$3"
	in_outer "$1" "$3" delete "$2"
}

# inner_key OUTER NAME: its key id, from the inner cryptlayer's status
inner_key() {
	in_outer "$1" "$CRYPTLAYER" status "$2" --json | jq -r .key_id
}

key_status() {
	"$PROBE" key-status "$1" "$STORE"
}

# stop_outer NAME [kill]: SIGTERM (or SIGKILL) and delete; the outer poststop runs
stop_outer() {
	kill_and_wait "$1" "${2:-KILL}" runc
	runc delete "$1"
}

# assert_nothing_made OUTER: no nest, layer directory or record of OUTER
assert_nothing_made() {
	assert_not_exist "$STORE/nest/$1"
	assert_not_exist "$STORE/containers/$1"
	assert_not_exist "$CLRUN/$1.json"
}

# assert_tree_erased OUTER KEY...: every key ABSENT, no nest, layer, record or mount
assert_tree_erased() {
	local o=$1 k
	shift
	for k in "$@"; do
		run key_status "$k"
		assert_output absent
	done
	assert_nothing_made "$o"
	run grep -c -e "$STORE/nest/$o" -e "$STORE/containers/$o/" /proc/self/mountinfo
	assert_output 0
}

@test "outer runc runs inner runc and crun: own keys, inner stop erases, outer stop erases all" {
	skip_if_no_runtime runc
	skip_if_no_runtime crun
	local o=n8-$(safename) a b ka kb
	a=$o-ra
	b=$o-cb
	start_outer "$o"
	# the nest is beside the layer, never inside its encrypted upper
	assert_dir_exists "$STORE/nest/$o/store"
	run "$PROBE" policy "$STORE/nest/$o/graph"
	assert_output --partial "v2 $OKEY"
	run "$PROBE" policy "$STORE/nest/$o/store"
	assert_output --partial "none"
	run_cryptlayer status "$o" --json
	assert_equal "$(jq -r .nested <<<"$output")" true
	assert_equal "$(jq -r .inner_keys <<<"$output")" 0
	# inside: the nest store and graph are where the inner tools look by default
	run in_outer "$o" grep -E ' /var/lib/(cryptlayer|containers) ' /proc/self/mountinfo
	assert_line --partial "/var/lib/cryptlayer rw,nosuid,nodev"
	assert_line --partial "/var/lib/containers rw"

	make_inner "$a"
	make_inner "$b"
	start_inner "$o" "$a" runc
	start_inner "$o" "$b" crun
	ka=$(inner_key "$o" "$a")
	kb=$(inner_key "$o" "$b")
	[[ $ka =~ ^[0-9a-f]{32}$ && $kb =~ ^[0-9a-f]{32}$ ]]
	[ "$ka" != "$kb" ] && [ "$ka" != "$OKEY" ] && [ "$kb" != "$OKEY" ]
	run "$PROBE" policy "$STORE/nest/$o/store/containers/$a/crypt"
	assert_output --partial "v2 $ka"
	run_cryptlayer status "$o" --json
	assert_equal "$(jq -r .inner_keys <<<"$output")" 2
	run_cryptlayer list --json
	assert_equal "$(jq --arg o "$o" '.[] | select(.id == $o) | .inner_keys' <<<"$output")" 2
	assert_not_in_image "PLAINTEXT-$a-inner"
	assert_not_in_image "PLAINTEXT-$b-inner"

	# an inner stop erases the inner key; the outer and the other inner run on
	stop_inner "$o" "$a" runc
	run key_status "$ka"
	assert_output absent
	run key_status "$kb"
	assert_output present
	run key_status "$OKEY"
	assert_output present
	assert_not_exist "$STORE/nest/$o/store/containers/$a"

	# the outer stop erases everything, the running inner container's key too
	stop_outer "$o"
	assert_tree_erased "$o" "$OKEY" "$ka" "$kb"
	assert_not_in_image "PLAINTEXT-$b-inner"
}

@test "runc kill -9 of the outer while inner containers run: its poststop erases every key" {
	skip_if_no_runtime runc
	skip_if_no_runtime crun
	local o=n8-$(safename) keys=() n rt
	start_outer "$o"
	keys+=("$OKEY")
	for n in 1 2 3; do
		rt=runc
		[ "$n" = 2 ] && rt=crun
		make_inner "$o-$n"
		start_inner "$o" "$o-$n" "$rt"
		keys+=("$(inner_key "$o" "$o-$n")")
	done
	run bash -c 'printf "%s\n" "$@" | sort -u | wc -l' _ "${keys[@]}"
	assert_output 4
	run_cryptlayer status "$o" --json
	assert_equal "$(jq -r .inner_keys <<<"$output")" 3
	# no inner stop: the outer and everything in it die at once
	stop_outer "$o" KILL
	assert_tree_erased "$o" "${keys[@]}"
	run ls -A "$CLRUN"
	refute_output --partial "$o"
}

# make_killed_hook DIR STAGE DELAY_S: the outer bundle in DIR runs its STAGE hook (prestart
# or poststop) through a wrapper that SIGKILLs it DELAY_S after it starts (the wrapper
# hands it the state on its own stdin) and notes that in DIR/killed; a poststop wrapper
# then exits 0, a prestart one with the hook's status
make_killed_hook() {
	local dir=$1 stage=$2 delay=$3 w=$1/$2-killer end=
	[ "$stage" != poststop ] || end="exit 0"
	cat >"$w" <<EOW
#!/bin/sh
exec 3<&0
$CRYPTLAYER --root $CLROOT --run-dir $CLRUN hook $stage <&3 &
p=\$!
sleep $delay
kill -9 \$p 2>/dev/null && echo killed >>$dir/killed
wait \$p
$end
EOW
	chmod +x "$w"
	jq --arg w "$w" --arg s "$stage" '.hooks[$s] = [{path: $w, args: [$w]}]' \
		"$dir/config.json" >"$dir/c" && mv "$dir/c" "$dir/config.json"
}

@test "kill -9 of the outer poststop hook mid-way, then gc: every key ABSENT, nothing left" {
	skip_if_no_runtime runc
	local o delay round keys killed=0
	for round in 1 2 3 4; do
		o=n8-$(safename)
		make_outer "$BATS_TEST_TMPDIR/$o"
		delay=$(awk -v r="$round" 'BEGIN { printf "%.3f", (r - 1) * 0.004 }')
		make_killed_hook "$BATS_TEST_TMPDIR/$o" poststop "$delay"
		runc create --bundle "$BATS_TEST_TMPDIR/$o" "$o" </dev/null >/dev/null 2>&1
		runc start "$o"
		keys=("$($CL status "$o" --json | jq -r .key_id)")
		make_inner "$o-1"
		start_inner "$o" "$o-1" runc
		keys+=("$(inner_key "$o" "$o-1")")
		kill_and_wait "$o" KILL runc
		runc delete "$o" 2>/dev/null || runc delete -f "$o" 2>/dev/null || true
		[ -e "$BATS_TEST_TMPDIR/$o/killed" ] && killed=$((killed + 1))
		run_cryptlayer gc
		assert_tree_erased "$o" "${keys[@]}"
	done
	echo "# poststop killed mid-way in $killed of 4 rounds (delays 0, 4, 8, 12 ms)" >&3
}

@test "two levels deep: the outermost stop erases the keys of all three levels" {
	skip_if_no_runtime runc
	local o=n8-$(safename) l1 l2 k1 k2 up
	l1=$o-l1
	l2=$o-l2
	start_outer "$o"
	# level 1: a privileged nested container inside the outer, the hook with no option
	make_outer "$T/shared/$l1" \
		"$(jq -nc '{"io.cryptlayer.base": "/obase", "io.cryptlayer.nested": "true"}')" \
		"$(jq -nc --arg b "$CRYPTLAYER" '[$b, "hook"]')" /obase /ibase /shared
	in_outer "$o" sh -c "runc create --bundle /shared/$l1 $l1 >/shared/$l1.log 2>&1 &&
		runc start $l1" || {
		cat "$T/shared/$l1.log" >&2
		in_outer "$o" tail -5 /run/cryptlayer/cryptlayer.log >&2
		return 1
	}
	k1=$(inner_key "$o" "$l1")
	assert_dir_exists "$STORE/nest/$o/store/nest/$l1/store"
	run "$PROBE" policy "$STORE/nest/$o/store/nest/$l1/graph"
	assert_output --partial "v2 $k1"
	# level 2, inside level 1
	make_inner "$l2"
	in_outer "$o" runc exec "$l1" sh -c "runc create --bundle /shared/$l2 $l2 \
		>/shared/$l2.log 2>&1 && runc start $l2" || {
		cat "$T/shared/$l2.log" >&2
		in_outer "$o" runc exec "$l1" tail -5 /run/cryptlayer/cryptlayer.log >&2
		return 1
	}
	up=$STORE/nest/$o/store/nest/$l1/store/containers/$l2/crypt/upper
	wait_for_file "$up/ready"
	k2=$(in_outer "$o" runc exec "$l1" "$CRYPTLAYER" status "$l2" --json | jq -r .key_id)
	[[ $k2 =~ ^[0-9a-f]{32}$ ]]
	[ "$k2" != "$k1" ] && [ "$k2" != "$OKEY" ] && [ "$k1" != "$OKEY" ]
	run "$PROBE" policy "$STORE/nest/$o/store/nest/$l1/store/containers/$l2/crypt"
	assert_output --partial "v2 $k2"
	assert_not_in_image "PLAINTEXT-$l2-inner"
	run_cryptlayer status "$o" --json
	assert_equal "$(jq -r .inner_keys <<<"$output")" 2
	# one stop, at the top
	stop_outer "$o" KILL
	assert_tree_erased "$o" "$OKEY" "$k1" "$k2"
}

# forge.py: what a hostile root inside the outer can do with fscrypt (python3 from the
# host's /usr, bound in)
write_forge() {
	cat >"$T/shared/forge.py" <<'PY'
import fcntl, os, struct, sys

ADD_KEY, SET_POLICY = 0xC0506617, 0x800C6613


def set_policy(path, key):
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    fcntl.ioctl(fd, SET_POLICY, struct.pack("<BBBB4x16s", 2, 1, 4, 3, key))
    os.close(fd)


def add_key(path):
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    arg = bytearray(struct.pack("<II32sII32x", 2, 0, bytes(32), 64, 0) + os.urandom(64))
    fcntl.ioctl(fd, ADD_KEY, arg)
    os.close(fd)
    return bytes(arg[8:24])


if sys.argv[1] == "policy":  # policy DIR KEYHEX: a directory naming someone else's key
    os.makedirs(sys.argv[2])
    set_policy(sys.argv[2], bytes.fromhex(sys.argv[3]))
elif sys.argv[1] == "deep":  # deep DIR DEPTH: a key of its own, hidden DEPTH levels down
    key = add_key(sys.argv[2])
    os.chdir(sys.argv[2])
    for _ in range(int(sys.argv[3])):
        os.mkdir("d123456789")
        os.chdir("d123456789")
    os.mkdir("hidden")
    set_policy("hidden", key)
    with open("hidden/f", "w") as f:
        f.write("x")
    print(key.hex())
PY
}

@test "a hostile inner root: forged policy and records, planted symlinks, a deep hidden key, immutable files" {
	skip_if_no_runtime runc
	command -v python3 >/dev/null || skip "python3 is not installed"
	local o=n8-$(safename) v vm kv kd
	v=$o-victim
	write_forge
	# a layer on the host store, outside the nest: the target
	vm=$($CL create --base "$T/ibase" --id "$v")
	echo victim-data >"$vm/data/v"
	kv=$($CL status "$v" --json | jq -r .key_id)
	start_outer "$o"
	# a directory whose policy names the victim's key (CAP_FOWNER may), a fake record and
	# descriptor naming it, symlinks to the host store and to /, a key of its own 600
	# levels down (a path longer than PATH_MAX)
	in_outer "$o" python3 /shared/forge.py policy /var/lib/cryptlayer/containers/fake/crypt "$kv"
	in_outer "$o" sh -c "mkdir -p /run/cryptlayer /var/lib/cryptlayer/containers/fake2 &&
		printf '{\"id\":\"fake\",\"key_id\":\"$kv\",\"owner\":\"cli\"}' \
			>/run/cryptlayer/fake.json &&
		printf '{\"id\":\"fake2\",\"key_id\":\"$kv\"}' \
			>/var/lib/cryptlayer/containers/fake2/layer.json &&
		ln -s $STORE /var/lib/cryptlayer/nest && ln -s / /var/lib/cryptlayer/root &&
		ln -s $STORE/containers/$v /var/lib/cryptlayer/containers/$v &&
		ln -s $STORE/containers/$v /var/lib/containers/victim"
	# files nobody may delete (CAP_LINUX_IMMUTABLE): the outer clears the flags first
	in_outer "$o" sh -c "echo x >/var/lib/cryptlayer/imm && chattr +i /var/lib/cryptlayer/imm &&
		mkdir /var/lib/containers/app && echo y >/var/lib/containers/app/f &&
		chattr +a /var/lib/containers/app"
	kd=$(in_outer "$o" python3 /shared/forge.py deep /var/lib/cryptlayer 600)
	[[ $kd =~ ^[0-9a-f]{32}$ ]]
	run key_status "$kd"
	assert_output present

	stop_outer "$o" KILL
	# the hidden key is found and erased; the victim's key, files and mount are untouched
	assert_tree_erased "$o" "$OKEY" "$kd"
	run key_status "$kv"
	assert_output present
	run cat "$vm/data/v"
	assert_output victim-data
	assert_dir_exists "$STORE/containers/$v/crypt/upper"
	run_cryptlayer destroy "$v"
	run key_status "$kv"
	assert_output absent
}

@test "refused clearly, nothing left: a symlinked bind target, no CAP_SYS_ADMIN, a user namespace" {
	skip_if_no_runtime runc
	local o=n8-$(safename) b
	# the outer's base has /var/lib/containers -> /etc: the bind would land elsewhere
	cp -a "$T/obase" "$T/obase-link"
	mkdir -p "$T/obase-link/var/lib"
	ln -s /etc "$T/obase-link/var/lib/containers"
	b=$BATS_TEST_TMPDIR/$o
	make_outer "$b" "$(jq -nc --arg b "$T/obase-link" \
		'{"io.cryptlayer.base": $b, "io.cryptlayer.nested": "true"}')"
	run runc create --bundle "$b" "$o" </dev/null
	assert_failure
	run grep -F "$o" "$CLRUN/cryptlayer.log"
	assert_output --partial "'/var/lib/containers' in the container is or passes through a symlink: refused"
	runc delete -f "$o" 2>/dev/null || true
	assert_nothing_made "$o"

	# no CAP_SYS_ADMIN: the runc hook, and prepare
	o=n8-$(safename)
	b=$BATS_TEST_TMPDIR/$o
	make_outer "$b"
	jq '.process.capabilities |= map_values(map(select(. != "CAP_SYS_ADMIN")))' \
		"$b/config.json" >"$b/c" && mv "$b/c" "$b/config.json"
	run runc create --bundle "$b" "$o" </dev/null
	assert_failure
	assert_output --partial "nested=true needs a privileged container"
	run tail -1 "$CLRUN/cryptlayer.log"
	assert_output --partial "nested=true needs a privileged container: CAP_SYS_ADMIN is not in its bounding set"
	runc delete -f "$o" 2>/dev/null || true
	run_cryptlayer 1 prepare --bundle "$b"
	assert_output --partial "needs a privileged container"
	assert_nothing_made "$o"

	# a user namespace in the config
	o=n8-$(safename)
	b=$BATS_TEST_TMPDIR/$o
	make_outer "$b"
	jq '.linux.namespaces += [{type: "user"}]
	    | .linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
	    | .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]' \
		"$b/config.json" >"$b/c" && mv "$b/c" "$b/config.json"
	run_cryptlayer 1 prepare --bundle "$b"
	assert_output "cryptlayer: prepare: nested=true in a user namespace is not supported yet (the inner cryptlayer needs CAP_SYS_ADMIN of the host): Operation not supported"
	assert_nothing_made "$o"
}

@test "build-farm load: 20 inner containers started at once in one outer, 20 keys, all erased" {
	skip_if_no_runtime runc
	local o=n8-$(safename) i names=() keys
	start_outer "$o"
	for i in $(seq 1 20); do
		names+=("$o-f$i")
		make_inner "$o-f$i"
	done
	# all at once, inside the outer; each reports its own outcome
	in_outer "$o" sh -c 'for n in "$@"; do
		(runc create --bundle /shared/$n $n >/shared/$n.log 2>&1 && runc start $n &&
			echo ok >/shared/$n.rc || echo fail >/shared/$n.rc) &
		done; wait' sh "${names[@]}"
	for i in "${names[@]}"; do
		run cat "$T/shared/$i.rc"
		assert_output ok
		wait_for_file "$STORE/nest/$o/store/containers/$i/crypt/upper/ready"
	done
	keys=$(in_outer "$o" "$CRYPTLAYER" list --json | jq -r '.[].key_id' | sort -u)
	assert_equal "$(wc -w <<<"$keys")" 20
	run_cryptlayer status "$o" --json
	assert_equal "$(jq -r .inner_keys <<<"$output")" 20
	stop_outer "$o" KILL
	# shellcheck disable=SC2086 # one key per word
	assert_tree_erased "$o" "$OKEY" $keys
}

@test "crun as the outer runtime (createRuntime hook): an inner runc container, all erased" {
	skip_if_no_runtime crun
	local o=n8-$(safename) b ki
	b=$BATS_TEST_TMPDIR/$o
	make_outer "$b"
	jq '.hooks.createRuntime = .hooks.prestart | del(.hooks.prestart)' "$b/config.json" \
		>"$b/c" && mv "$b/c" "$b/config.json"
	crun_wrapped create --bundle "$b" "$o" </dev/null >/dev/null 2>&1 || {
		tail -3 "$CLRUN/cryptlayer.log" >&2
		return 1
	}
	crun_wrapped start "$o"
	OKEY=$($CL status "$o" --json | jq -r .key_id)
	make_inner "$o-i"
	crun_wrapped exec "$o" sh -c "runc create --bundle /shared/$o-i $o-i >/shared/$o-i.log 2>&1 &&
		runc start $o-i" </dev/null || {
		cat "$T/shared/$o-i.log" >&2
		return 1
	}
	wait_for_file "$STORE/nest/$o/store/containers/$o-i/crypt/upper/ready"
	ki=$(crun_wrapped exec "$o" "$CRYPTLAYER" status "$o-i" --json </dev/null | jq -r .key_id)
	[[ $ki =~ ^[0-9a-f]{32}$ ]] && [ "$ki" != "$OKEY" ]
	kill_and_wait "$o" KILL crun_wrapped
	crun_wrapped delete "$o"
	assert_tree_erased "$o" "$OKEY" "$ki"
}

@test "prepare --bundle with nested=true, then plain runc run: the inner layer erased with it" {
	skip_if_no_runtime runc
	local o=n8-$(safename) b ki
	b=$BATS_TEST_TMPDIR/$o
	make_outer "$b"
	jq 'del(.hooks)' "$b/config.json" >"$b/c" && mv "$b/c" "$b/config.json"
	run_cryptlayer prepare --bundle "$b"
	OKEY=$($CL status "$o" --json | jq -r .key_id)
	run_cryptlayer status "$o" --json
	assert_equal "$(jq -r .nested <<<"$output")" true
	# the binds sit on the merged dir in the host namespace; runc's rbind carries them
	run grep -c -e "$STORE/containers/$o/merged/var/lib/cryptlayer " /proc/self/mountinfo
	assert_output 1
	runc run -d --bundle "$b" "$o" </dev/null >/dev/null 2>&1
	make_inner "$o-i"
	start_inner "$o" "$o-i" runc
	ki=$(inner_key "$o" "$o-i")
	[[ $ki =~ ^[0-9a-f]{32}$ ]] && [ "$ki" != "$OKEY" ]
	stop_outer "$o" KILL
	assert_tree_erased "$o" "$OKEY" "$ki"
	run grep -c -F "$STORE/containers/$o/" /proc/self/mountinfo
	assert_output 0
}

@test "create --nested: an inner cryptlayer on MERGED/var/lib/cryptlayer; destroy erases both" {
	local o=n8-$(safename) m im ki inner
	run_cryptlayer create --nested --base "$T/ibase" --id "$o"
	m=$output
	OKEY=$($CL status "$o" --json | jq -r .key_id)
	run grep -F "$m/var/lib/cryptlayer " /proc/self/mountinfo
	assert_output --partial "rw,nosuid,nodev"
	inner="$CRYPTLAYER --root $m/var/lib/cryptlayer --run-dir $BATS_TEST_TMPDIR/irun"
	im=$($inner create --base "$T/ibase" --id "$o-i")
	m2=PLAIN
	echo "${m2}TEXT-$o-cli" >"$im/marker"
	ki=$($inner status "$o-i" --json | jq -r .key_id)
	run "$PROBE" policy "$STORE/nest/$o/store/containers/$o-i/crypt"
	assert_output --partial "v2 $ki"
	run_cryptlayer status "$o" --json
	assert_equal "$(jq -r .inner_keys <<<"$output")" 1
	assert_not_in_image "PLAINTEXT-$o-cli"
	# the inner layer is still mounted (below the outer's merged dir): destroy takes it too
	run_cryptlayer destroy "$o"
	assert_tree_erased "$o" "$OKEY" "$ki"
	assert_not_in_image "PLAINTEXT-$o-cli"
}

@test "gc of a dead outer whose record vanished (a reboot): layer and nest erased after the grace time" {
	skip_if_no_runtime runc
	local o=n8-$(safename) b ki
	b=$BATS_TEST_TMPDIR/$o
	make_outer "$b"
	jq 'del(.hooks.poststop)' "$b/config.json" >"$b/c" && mv "$b/c" "$b/config.json"
	runc create --bundle "$b" "$o" </dev/null >/dev/null 2>&1
	runc start "$o"
	OKEY=$($CL status "$o" --json | jq -r .key_id)
	make_inner "$o-i"
	start_inner "$o" "$o-i" runc
	ki=$(inner_key "$o" "$o-i")
	stop_outer "$o" KILL
	# no poststop ran. A reboot: the kernel forgets the keys, the run dir is emptied
	run key_status "$ki"
	assert_output present
	"$PROBE" remove-key "$OKEY" "$STORE"
	"$PROBE" remove-key "$ki" "$STORE"
	rm "$CLRUN/$o.json"
	touch -h -d '-2 hours' "$STORE/containers/$o" "$STORE/nest/$o"
	run_cryptlayer gc
	assert_dir_exists "$STORE/nest" # only $o's nest goes
	assert_tree_erased "$o" "$OKEY" "$ki"
}

@test "kill -9 of the outer prestart hook mid-way (nest half made), then gc: nothing left" {
	skip_if_no_runtime runc
	local o b delay round key killed=0
	for round in 1 2 3 4 5; do
		o=n8-$(safename)
		b=$BATS_TEST_TMPDIR/$o
		make_outer "$b"
		delay=$(awk -v r="$round" 'BEGIN { printf "%.4f", (r - 1) * 0.0015 }')
		make_killed_hook "$b" prestart "$delay"
		runc create --bundle "$b" "$o" </dev/null >/dev/null 2>&1 || true
		[ -e "$b/killed" ] && killed=$((killed + 1))
		# every key id the record named (it names the key before the key exists)
		key=$(jq -r '.key_id // empty' "$CLRUN/$o.json" 2>/dev/null || true)
		runc delete -f "$o" >/dev/null 2>&1 || true
		run_cryptlayer gc
		assert_nothing_made "$o"
		if [ -n "$key" ]; then
			run key_status "$key"
			assert_output absent
		fi
	done
	echo "# prestart killed mid-way in $killed of 5 rounds (delays 0-6 ms)" >&3
}
