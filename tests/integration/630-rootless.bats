#!/usr/bin/env bats
# Rootless podman (issue 18, DESIGN §7c): a test user with subuids, the admin's one step
# (a directory owned by the user on an ext4 with '-O encrypt'), 'store init --user', and
# the user's own 'podman run' with no --hooks-dir: encrypted writes, keys added and
# removed by the user, overlay with userxattr in the user's namespace, crypto-erase
# verified ABSENT. Run as root; the user is made here and removed afterwards.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
	skip_if_not_root
	command -v podman >/dev/null || skip "podman is not installed"
	command -v runuser >/dev/null || skip "runuser is not installed"
	# a world-readable work dir: the user must reach the binary, the base and its home
	W=$(mktemp -d /tmp/clrl.XXXXXX)
	chmod 0755 "$W"
	echo "$W" >"$BATS_FILE_TMPDIR/workdir"
	U=clrl$(tr -dc a-z0-9 </dev/urandom | head -c 8)
	echo "$U" >"$BATS_FILE_TMPDIR/user"
	useradd -M -d "$W/home" -s /bin/sh "$U"
	mkdir -m 0700 "$W/home" "$W/xdg"
	chown "$U:" "$W/home" "$W/xdg"
	# Debian's useradd gives subordinate ids already; add them where it did not
	grep -q "^$U:" /etc/subuid || echo "$U:$((400000 + RANDOM * 8)):65536" >>/etc/subuid
	grep -q "^$U:" /etc/subgid || echo "$U:$((400000 + RANDOM * 8)):65536" >>/etc/subgid
	# the admin's step: an encrypt-enabled ext4 with a directory owned by the user, and a
	# second filesystem without encryption
	truncate -s 384M "$W/enc.img"
	mkfs.ext4 -q -O encrypt "$W/enc.img"
	mkdir "$W/enc" "$W/plain"
	mount -o loop "$W/enc.img" "$W/enc"
	truncate -s 32M "$W/plain.img"
	mkfs.ext4 -q "$W/plain.img"
	mount -o loop "$W/plain.img" "$W/plain"
	mkdir "$W/enc/$U" "$W/plain/$U"
	chown "$U:" "$W/enc/$U" "$W/plain/$U"
	# crun refuses hybrid cgroups here, and a user namespace cannot unmount the v2 mount:
	# cover it with an empty tmpfs instead (machine quirk, test helper only)
	cat >"$W/crun-wrapper" <<'WRAP'
#!/bin/sh
exec unshare -m --propagation private sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null || mount -t tmpfs -o ro none /sys/fs/cgroup/unified; exec crun "$@"' crun "$@"
WRAP
	chmod 0755 "$W/crun-wrapper"
	make_base "$W/base"
	chown -R "$U:" "$W/base"
	export W U
	export STORE=$W/enc/$U/cryptlayer RUND=$W/xdg/cryptlayer
	# rootless podman (conmon) opens /dev/null as the user: say so if the machine broke it
	as_user sh -c ': >/dev/null' || {
		echo "/dev/null is $(stat -c '%A' /dev/null): a user cannot write it, rootless podman cannot run" >&2
		return 1
	}
	as_user sh -c 'tar -C "$1" -c . | podman import - clbase' sh "$W/base" >/dev/null
}

teardown_file() {
	W=$(cat "$BATS_FILE_TMPDIR/workdir" 2>/dev/null) || return 0
	U=$(cat "$BATS_FILE_TMPDIR/user")
	if [ -e "$W/home" ]; then
		upod rm -af -t 0 >/dev/null 2>&1 || true
		as_user podman unshare "$CRYPTLAYER" gc >/dev/null 2>&1 || true
		upod system migrate >/dev/null 2>&1 || true
	fi
	# what is left of the test user's podman (its pause process, conmon), by pid
	for p in $(pgrep -u "$U"); do kill -KILL "$p" 2>/dev/null || true; done
	for _ in $(seq 1 50); do pgrep -u "$U" >/dev/null || break; sleep 0.1; done
	umount "$W/enc" "$W/plain" 2>/dev/null || true
	userdel "$U" 2>/dev/null || true
	sed -i "/^$U:/d" /etc/subuid /etc/subgid
	[ -n "${SYSHOOK:-}" ] && rm -f "$SYSHOOK"
	rm -rf "$W"
}

# as_user CMD...: the test user, in its home, with the environment a login would give;
# its data home (podman's storage, cryptlayer's default store) on the encrypt-enabled fs
as_user() {
	runuser -u "$U" -- env -i HOME="$W/home" USER="$U" LOGNAME="$U" \
		PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin XDG_RUNTIME_DIR="$W/xdg" \
		XDG_DATA_HOME="$W/enc/$U" \
		sh -c 'cd "$HOME" && exec "$@"' sh "$@"
}

# upod ARGS...: the user's rootless podman (its own storage, no --hooks-dir); a hook that
# hangs fails the test instead of holding everyone's podman lock
upod() {
	as_user timeout -k 10 300 podman --cgroup-manager=cgroupfs --events-backend=file "$@"
}

# ucl ARGS...: cryptlayer in the user's podman namespace, on the user's default store
ucl() {
	as_user timeout -k 10 300 podman unshare "$CRYPTLAYER" "$@"
}

RUN_U=(--network=none --ulimit nofile=20000:20000 --ulimit nproc=4096:4096
	--annotation io.cryptlayer.enable=true)

urt() {
	if [ "$1" = crun ]; then echo "--runtime=$W/crun-wrapper"; else echo "--runtime=runc"; fi
}

# the marker is assembled inside (never in argv or on stdout, which podman stores)
# shellcheck disable=SC2016
MARK='m=ROOTLESS; echo "${m}PLAIN-$0" > /marker; touch /ready; exec sleep 600'

# wait_ready ID: the container wrote its marker (read in the user's namespace)
wait_ready() {
	local _
	for _ in $(seq 1 100); do
		as_user podman unshare test -e "$STORE/containers/$1/merged/ready" && return 0
		sleep 0.1
	done
	echo "container $1 never got ready" >&2
	return 1
}

key_of() {
	ucl status "$1" --json | jq -r .key_id
}

assert_absent() {
	run "$PROBE" key-status "$1" "$W/enc"
	assert_output absent
}

# the marker is neither in the raw encrypt-enabled image nor in the user's podman storage
assert_marker_hidden() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
	run grep -c -a -F "ROOTLESSPLAIN-$1" "$W/enc.img"
	assert_output 0
	run grep -r -l -a -F "ROOTLESSPLAIN-$1" "$W/enc/$U/containers" "$W/xdg/containers"
	assert_output ""
}

assert_nothing_listed() {
	run ucl list --json
	assert_success
	assert_output "[]"
	[ ! -e "$STORE/containers" ] && return 0 # made with the first layer
	run ls -A "$STORE/containers"
	assert_output ""
}

@test "store init --user on a filesystem without encryption: refused, nothing written" {
	run as_user "$CRYPTLAYER" store init --user --root "$W/plain/$U/cryptlayer"
	assert_failure 1
	assert_equal "${#lines[@]}" 1
	assert_output --partial "does not support encryption"
	assert_output --partial "tune2fs -O encrypt"
	run ls -A "$W/plain/$U"
	assert_output ""
	# root has its own store: --user is for users
	run "$CRYPTLAYER" store init --user --root "$W/plain/$U/cryptlayer"
	assert_failure 1
	assert_output --partial "not as root"
	assert_not_exist "$W/home/.config/cryptlayer"
	assert_not_exist "$W/home/.config/containers/containers.conf.d"
}

@test "store init --user: works on the encrypt-enabled filesystem, a second run changes nothing" {
	local conf=$W/home/.config dropin sum1 sum2
	dropin=$conf/containers/containers.conf.d/80-cryptlayer.conf
	# the user's own containers.conf is never touched
	mkdir -p "$conf/containers"
	printf '[engine]\nevents_logger = "file"\n' >"$conf/containers/containers.conf"
	chown -R "$U:" "$conf"
	sum1=$(md5sum "$conf/containers/containers.conf")
	# the default root: $XDG_DATA_HOME/cryptlayer
	run as_user "$CRYPTLAYER" store init --user
	assert_success
	assert_line "store       $STORE (fscrypt v2, in place)"
	assert_line "run dir     $RUND"
	assert_line "podman      $dropin (written)"
	assert_file_exists "$conf/cryptlayer/hooks.d/cryptlayer-precreate.json"
	run jq -r '(.hook.path), (.hook.args | join(" "))' "$conf/cryptlayer/hooks.d/cryptlayer-poststop.json"
	assert_output "$CRYPTLAYER"$'\n'"cryptlayer --root $STORE --run-dir $RUND --machine-key file:$conf/cryptlayer/machine.key hook poststop"
	# system directories first (hooks_dir replaces podman's list), then the user's
	run sed -n 's/^  "\(.*\)",$/\1/p' "$dropin"
	assert_output "/usr/share/containers/oci/hooks.d"$'\n'"/etc/containers/oci/hooks.d"$'\n'"$conf/cryptlayer/hooks.d"
	sum2=$(cd "$conf" && find . -type f -printf '%p %T@ %m\n' | sort && find . -type f -exec md5sum {} + | sort)
	run as_user "$CRYPTLAYER" store init --user --root "$STORE"
	assert_success
	refute_output --partial "(written)"
	assert_equal "$(cd "$conf" && find . -type f -printf '%p %T@ %m\n' | sort && find . -type f -exec md5sum {} + | sort)" "$sum2"
	assert_equal "$(md5sum "$conf/containers/containers.conf")" "$sum1"
}

@test "the system hooks directory stays in hooks_dir: a system hook still runs for the user" {
	local sys=/usr/share/containers/oci/hooks.d tag
	tag=$(tr -dc a-z0-9 </dev/urandom | head -c 8)
	# made here only if missing, and then removed again (what existed stays)
	[ -d "${sys%/*}" ] || echo "${sys%/*}" >"$BATS_FILE_TMPDIR/made-sys"
	[ -d "$sys" ] || echo "$sys" >>"$BATS_FILE_TMPDIR/made-sys"
	mkdir -p "$sys"
	export SYSHOOK=$sys/zz-cltest-$tag.json
	jq -n --arg p /bin/sh --arg out "$W/xdg/syshook-$tag" --arg tag "$tag" '{version: "1.0.0",
		hook: {path: $p, args: ["sh", "-c", "cat >/dev/null; touch \($out)"]},
		when: {annotations: {"^io\\.cltest\\.syshook$": ("^" + $tag + "$")}},
		stages: ["prestart"]}' >"$SYSHOOK"
	run upod run --rm --runtime=runc "${RUN_U[@]}" --annotation "io.cltest.syshook=$tag" \
		clbase true
	rm -f "$SYSHOOK"
	[ ! -e "$BATS_FILE_TMPDIR/made-sys" ] || tac "$BATS_FILE_TMPDIR/made-sys" | xargs -r rmdir
	assert_success
	assert_file_exists "$W/xdg/syshook-$tag"
}

# run_checked RUNTIME: the whole ephemeral round trip under one runtime
run_checked() {
	local rt=$1 name id key
	name=$(safename)
	id=$(upod run -d --name "$name" "$(urt "$rt")" "${RUN_U[@]}" clbase sh -c "$MARK" "$name")
	wait_ready "$id"
	run ucl status "$id" --json
	assert_success
	key=$(jq -r .key_id <<<"$output")
	assert_equal "$(jq -r .key_status <<<"$output")" present
	assert_equal "$(jq -r .mounted <<<"$output")" true
	# the user's overlay, mounted in its namespace with userxattr
	run upod exec "$name" sh -c 'grep " / " /proc/mounts; cat /marker'
	assert_output --partial "userxattr"
	assert_output --partial "ROOTLESSPLAIN-$name"
	assert_marker_hidden "$name"
	upod stop -t 0 "$name" >/dev/null
	upod rm "$name" >/dev/null
	assert_absent "$key"
	assert_nothing_listed
}

@test "rootless podman, runc: encrypted layer, exec reads back, stop + rm erase it" {
	run_checked runc
}

@test "rootless podman, crun: the same" {
	skip_if_no_runtime crun
	run_checked crun
}

@test "rootless podman --rm: the key is ABSENT and nothing is listed afterwards" {
	local name id key
	name=$(safename)
	id=$(upod run -d --rm --name "$name" --runtime=runc "${RUN_U[@]}" clbase sh -c "$MARK" "$name")
	wait_ready "$id"
	key=$(key_of "$id")
	upod stop -t 0 "$name" >/dev/null
	for _ in $(seq 1 50); do upod container exists "$name" || break; sleep 0.1; done
	assert_absent "$key"
	assert_nothing_listed
	assert_marker_hidden "$name"
}

@test "rootless podman: 6 containers in parallel, 6 keys, all erased" {
	local i ids=() keys=() names=()
	for i in 1 2 3 4 5 6; do names+=("$(safename)-$i"); done
	for i in "${names[@]}"; do
		upod run -d --name "$i" --runtime=runc "${RUN_U[@]}" clbase sh -c "$MARK" "$i" \
			>"$BATS_TEST_TMPDIR/$i.id" &
	done
	wait
	for i in "${names[@]}"; do ids+=("$(cat "$BATS_TEST_TMPDIR/$i.id")"); done
	for i in "${ids[@]}"; do wait_ready "$i"; keys+=("$(key_of "$i")"); done
	assert_equal "$(printf '%s\n' "${keys[@]}" | sort -u | grep -c .)" 6
	run ucl list --json
	assert_equal "$(jq length <<<"$output")" 6
	upod rm -f -t 0 "${names[@]}" >/dev/null
	for i in "${keys[@]}"; do assert_absent "$i"; done
	assert_nothing_listed
	for i in "${names[@]}"; do assert_marker_hidden "$i"; done
}

@test "rootless podman, persistent key: data kept across stop/start, key ABSENT while stopped" {
	local name id key
	name=$(safename)
	# shellcheck disable=SC2016
	id=$(upod run -d --name "$name" --runtime=runc "${RUN_U[@]}" \
		--annotation io.cryptlayer.key=persistent clbase sh -c \
		'test -e /marker || { m=ROOTLESS; echo "${m}PLAIN-$0" > /marker; }; echo s >> /starts; touch /ready; exec sleep 600' "$name")
	wait_ready "$id"
	key=$(key_of "$id")
	assert_file_exists "$W/home/.config/cryptlayer/machine.key"
	run stat -c %a "$W/home/.config/cryptlayer/machine.key"
	assert_output 600
	upod stop -t 0 "$name" >/dev/null
	assert_absent "$key"
	assert_marker_hidden "$name"
	upod start "$name" >/dev/null
	for _ in $(seq 1 100); do
		[ "$(upod exec "$name" cat /starts 2>/dev/null | wc -l)" = 2 ] && break
		sleep 0.1
	done
	run upod exec "$name" cat /marker /starts
	assert_output "ROOTLESSPLAIN-$name"$'\n'"s"$'\n'"s"
	upod rm -f -t 0 "$name" >/dev/null
	ucl destroy "$id"
	assert_absent "$key"
	assert_nothing_listed
}

@test "rootless podman, persistent key: after podman rm, the user's gc erases the layer" {
	local name id key
	name=$(safename)
	id=$(upod run -d --name "$name" --runtime=runc "${RUN_U[@]}" \
		--annotation io.cryptlayer.key=persistent clbase sh -c "$MARK" "$name")
	wait_ready "$id"
	key=$(key_of "$id")
	upod stop -t 0 "$name" >/dev/null
	assert_absent "$key"
	# locked and owned by a podman container that still exists: gc keeps it
	run ucl gc
	assert_success
	run ucl status "$id" --json
	assert_success
	upod rm -f -t 0 "$name" >/dev/null
	run ucl gc
	assert_success
	run ucl status "$id"
	assert_failure 1
	assert_absent "$key"
	assert_marker_hidden "$name"
	assert_nothing_listed
	assert_not_exist "$STORE/keys/$id"
}

# python: add 'user' keys to the user keyring until EDQUOT (twice, 0.5 s apart), or clear it
FILL_KEYS='import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
if sys.argv[1:] == ["clear"]:
    sys.exit(libc.syscall(250, 7, -4) < 0)
n = 0
for _ in range(2):
    while n < 1000 and libc.syscall(248, b"user", b"fill-%d" % n, b"x", 1, -4) >= 0:
        n += 1
    time.sleep(0.5)'

@test "rootless podman, key quota exhausted: a clear error and no container, encrypted or not" {
	local name used old
	name=$(safename)
	old=$(cat /proc/sys/kernel/keys/maxkeys)
	# the keys of earlier containers are freed by the kernel's key gc a little later: wait
	# until the user's count holds still for 2 s (at most 30 s)
	local last=x same=0
	for _ in $(seq 1 60); do
		used=$(awk -v u="$(id -u "$U"):" '$1 == u { split($4, a, "/"); print a[1] }' /proc/key-users)
		if [ "$used" = "$last" ]; then same=$((same + 1)); else same=0; fi
		last=$used
		[ "$same" -ge 4 ] && break
		sleep 0.5
	done
	echo "${used:-0}" >/proc/sys/kernel/keys/maxkeys
	# and any slot freed since is taken by a key of the user's own
	as_user python3 -c "$FILL_KEYS"
	run upod run --name "$name" --runtime=runc "${RUN_U[@]}" clbase sh -c 'echo STARTED'
	as_user python3 -c "$FILL_KEYS" clear
	echo "$old" >/proc/sys/kernel/keys/maxkeys
	assert_failure
	refute_output --partial STARTED
	echo "podman: $output" >&2
	run tail -n 3 "$RUND/cryptlayer.log"
	assert_output --partial "key quota is exhausted"
	run upod ps -a --filter "name=$name" --filter status=running -q
	assert_output ""
	upod rm -f "$name" >/dev/null 2>&1 || true
	assert_nothing_listed
}

@test "rootless podman with io.cryptlayer.nested=true alone: the hook runs and refuses (never unencrypted)" {
	local name
	name=$(safename)
	run upod run --rm --name "$name" --runtime=runc --network=none --ulimit nofile=20000:20000 \
		--ulimit nproc=4096:4096 --annotation io.cryptlayer.nested=true clbase sh -c 'echo STARTED'
	assert_failure
	refute_output --partial STARTED
	run tail -n 1 "$RUND/cryptlayer.log"
	assert_output --partial "nested=true in a user namespace is not supported yet"
	assert_nothing_listed
}

@test "a store owned by another user, a symlinked store path, a world-writable run dir: refused" {
	local other=$W/enc/other name
	mkdir -p "$other/cryptlayer"
	run as_user "$CRYPTLAYER" --root "$other/cryptlayer" list
	assert_failure 1
	assert_output --regexp "store root '$other/cryptlayer' is owned by uid 0, not by this user"
	run as_user "$CRYPTLAYER" store init --user --root "$other/cryptlayer"
	assert_failure 1
	assert_output --partial "is owned by uid 0"
	ln -s "$STORE" "$W/enc/$U/link"
	run ucl --root "$W/enc/$U/link" --run-dir "$RUND" list
	assert_failure 1
	assert_output --partial "is not a canonical path"
	rm "$W/enc/$U/link"
	# a world-writable run dir: the CLI says so, and the hook refuses (it does not log into
	# a directory others can write, so its reason is the CLI's)
	chmod 0777 "$RUND"
	run ucl list
	assert_failure 1
	assert_output --partial "run dir '$RUND' is writable by others"
	name=$(safename)
	run upod run --rm --name "$name" --runtime=runc "${RUN_U[@]}" clbase sh -c 'echo STARTED'
	chmod 0700 "$RUND"
	assert_failure
	refute_output --partial STARTED
	assert_nothing_listed
}

@test "podman unshare: create, list, lock, unlock, export, destroy, import, gc on the user's store" {
	local m m2 key
	as_user "$CRYPTLAYER" keygen -o "$W/home/id" >/dev/null
	m=$(ucl create --base "$W/base" --id rt1)
	assert_equal "$m" "$STORE/containers/rt1/merged"
	as_user podman unshare sh -c "echo round-trip > $m/rt-file && mkdir $m/d && echo x > $m/d/y"
	run ucl list --json
	assert_equal "$(jq -r '.[0].id + " " + .[0].key_status' <<<"$output")" "rt1 present"
	# outside podman's namespace the layer is not mounted: acting there is refused
	run as_user "$CRYPTLAYER" destroy rt1
	assert_failure 1
	assert_output --partial "run 'podman unshare cryptlayer destroy ...'"
	run ucl status rt1 --json
	assert_equal "$(jq -r '.key_status + " " + (.mounted | tostring)' <<<"$output")" "present true"
	as_user podman unshare "$CRYPTLAYER" export rt1 -o "$W/home/rt1.clx" -r "$W/home/id.pub"
	key=$(key_of rt1)
	ucl destroy rt1
	assert_absent "$key"
	m2=$(ucl import "$W/home/rt1.clx" -i "$W/home/id" --base "$W/base" --id rt2 --key persistent)
	run as_user podman unshare cat "$m2/rt-file" "$m2/d/y" "$m2/etc/base-file"
	assert_output $'round-trip\nx\nbase-file'
	key=$(key_of rt2)
	ucl lock rt2
	assert_absent "$key"
	ucl unlock rt2
	run as_user podman unshare cat "$m2/rt-file"
	assert_output round-trip
	ucl destroy rt2
	assert_absent "$key"
	ucl gc
	assert_nothing_listed
}

@test "persistent keys wrapped by a machine key in the user's keyring (keyring:NAME)" {
	local m key name=clrl-mk-$RANDOM
	# a 32-byte 'user' key in the user's keyring, no keyutils needed
	as_user python3 -c 'import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.syscall(248, b"user", sys.argv[1].encode(), os.urandom(32), 32, -4) < 0:
    sys.exit(os.strerror(ctypes.get_errno()))' "$name"
	m=$(ucl --machine-key "keyring:$name" create --base "$W/base" --id kr1 --key persistent)
	as_user podman unshare sh -c "echo kept > $m/kr-file"
	key=$(key_of kr1)
	ucl --machine-key "keyring:$name" lock kr1
	assert_absent "$key"
	# the wrapped key is not unwrapped by the user's file machine key
	run ucl unlock kr1
	assert_failure 1
	assert_absent "$key"
	ucl --machine-key "keyring:$name" unlock kr1
	run as_user podman unshare cat "$m/kr-file"
	assert_output kept
	ucl destroy kr1
	assert_absent "$key"
	assert_nothing_listed
}

@test "doctor as a user: key quota, store encryption, overlay in a user namespace, where the log is" {
	local ctx
	for ctx in plain unshare; do
		if [ $ctx = plain ]; then
			run as_user "$CRYPTLAYER" doctor --json
		else
			run ucl doctor --json
		fi
		assert_success
		run jq -c '.user | [.key_quota.maxkeys > 0, .key_quota.keys >= 0,
			.store_encryption, .overlay_in_user_namespace, .podman_dropin_present,
			.hook_log]' <<<"$output"
		assert_output "[true,true,true,true,true,\"$RUND/cryptlayer.log\"]"
	done
	run as_user "$CRYPTLAYER" doctor
	assert_success
	assert_output --regexp "key quota    [0-9]+ of [0-9]+ keys"
	assert_line "userns mount overlayfs with userxattr: yes"
	assert_line --partial "hook errors  $RUND/cryptlayer.log"
	# a store on the filesystem without encryption: said, and exit 1
	run -1 --separate-stderr as_user "$CRYPTLAYER" --root "$W/plain/$U/dr" doctor --json
	assert_equal "$(jq -r '.user.store_encryption' <<<"$output")" false
	assert_equal "$(jq -r '.user.store_encryption_error' <<<"$output")" \
		"store root '$W/plain/$U/dr': the filesystem of '$W/plain/$U/dr' does not support encryption (fscrypt v2: FS_IOC_ADD_ENCRYPTION_KEY): the administrator enables it once (ext4: 'tune2fs -O encrypt DEVICE' on the device holding it), or pass --root DIR on a filesystem that has it"
	[[ $stderr == *"does not support encryption"* ]]
	rm -rf "${W:?}/plain/$U/dr"
	# no scratch directory left
	run ls -A "$STORE"
	refute_output --partial overlay-probe
}

@test "store init --user --root elsewhere, no XDG_RUNTIME_DIR: run dir in the store, later commands use the descriptors' store" {
	local other=$W/enc/$U/second name id
	run runuser -u "$U" -- env -i HOME="$W/home" PATH=/usr/bin:/bin \
		"$CRYPTLAYER" store init --user --root "$other"
	assert_success
	assert_line "run dir     $other/run"
	run stat -c '%a %U' "$other/run"
	assert_output "700 $U"
	# no --root: the store of the user's descriptors, not $XDG_DATA_HOME/cryptlayer
	run as_user "$CRYPTLAYER" store status
	assert_line "root        $other"
	name=$(safename)
	id=$(upod run -d --name "$name" --runtime=runc "${RUN_U[@]}" clbase sh -c "$MARK" "$name")
	for _ in $(seq 1 100); do
		as_user podman unshare test -e "$other/containers/$id/merged/ready" && break
		sleep 0.1
	done
	run ucl status "$id" --json
	assert_equal "$(jq -r .upper <<<"$output")" "$other/containers/$id/crypt/upper"
	assert_file_exists "$other/run/$id.json"
	upod rm -f -t 0 "$name" >/dev/null
	run ucl list --json
	assert_output "[]"
	# back to the default store
	run as_user "$CRYPTLAYER" store init --user
	assert_line "store       $STORE (fscrypt v2, in place)"
}
