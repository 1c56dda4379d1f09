#!/usr/bin/env bats
# btrfs backend (issue 12, DESIGN §6b) on a real btrfs loop filesystem: each layer pins a
# read-only snapshot of a base subvolume (libbtrfsutil), the overlay's lower; upper and
# work stay encrypted on the store. Changing the base while containers run changes
# nothing they see; stop erases the layer and deletes the snapshot; bad input leaves
# nothing; a kill between snapshot and mount is reclaimed by gc.

# shellcheck disable=SC2086 # $CL is a word list

load helpers

setup_file() {
	skip_if_not_root
	command -v mkfs.btrfs >/dev/null || skip "mkfs.btrfs is not installed (btrfs-progs)"
	setup_store
	export W=$BATS_FILE_TMPDIR BTR=$BATS_FILE_TMPDIR/btr BTRIMG=$BATS_FILE_TMPDIR/btrfs.img
	make_btrfs_base "$BTRIMG" "$BTR" 1G
	export SNAPS=$BTR/.cryptlayer-snapshots
}

teardown_file() {
	teardown_store
	[ -n "${BTR:-}" ] || return 0
	umount "$BTR" 2>/dev/null || true
	umount "$W/small" 2>/dev/null || true
}

# btrfs_annotate BUNDLE: the bundle's layer uses the btrfs backend
btrfs_annotate() {
	jq '.annotations["io.cryptlayer.backend"] = "btrfs"' "$1/config.json" >"$1/config.json.new"
	mv "$1/config.json.new" "$1/config.json"
}

# snapshots_left: the snapshots (and notes of snapshots) that are left
snapshots_left() {
	{ ls -A "$SNAPS" 2>/dev/null; ls -A "$STORE/snapshots" 2>/dev/null; } | wc -l
}

# assert_layers_gone: no layer directory, key file, lock, record or layer mount
assert_layers_gone() {
	local d
	for d in "$STORE/containers" "$STORE/keys" "$CLROOT/locks"; do
		run bash -c "ls -A '$d' 2>/dev/null || true"
		assert_output ""
	done
	run bash -c "ls -A '$CLRUN' 2>/dev/null | grep -vx cryptlayer.log"
	assert_output ""
	assert_no_layer_mounts
}

# assert_nothing_left: that, and no snapshot or note of one
assert_nothing_left() {
	assert_layers_gone
	assert_equal "$(snapshots_left)" 0
	run btrfs subvolume list -o "$BTR"
	refute_output --partial cryptlayer-snapshots
}

# stop_as_reboot ID: what a reboot does to layer ID: no mount, no key in the kernel, an
# empty run dir (the store, with its note of the snapshot, stays)
stop_as_reboot() {
	umount "$STORE/containers/$1/merged"
	"$PROBE" remove-key "$(jq -r .key_id "$CLRUN/$1.json")" "$STORE"
	rm "$CLRUN/$1.json"
}

# base_change: add, change and delete files of the base while layers use it
base_change() {
	echo added >"$BTR/base/added-later"
	echo changed >"$BTR/base/etc/base-file"
	rm -f "$BTR/base/data/sub/keep"
}

setup() {
	base_restore
}

base_restore() {
	rm -f "$BTR/base/added-later"
	echo base-file >"$BTR/base/etc/base-file"
	echo keep >"$BTR/base/data/sub/keep"
}

@test "create --backend btrfs: a read-only snapshot is the lower; destroy deletes it" {
	local id merged snap
	id=$(safename)
	run_cryptlayer create --base "$BTR/base" --backend btrfs --id "$id"
	merged=$output
	snap=$SNAPS/$id
	run_cryptlayer status "$id" --json
	assert_equal "$(jq -r .backend <<<"$output")" btrfs
	assert_equal "$(jq -r .snapshot <<<"$output")" "$snap"
	run btrfs property get -ts "$snap" ro
	assert_output ro=true
	assert_equal "$(cat "$STORE/snapshots/$id")" "$snap"
	echo "PLAIN""TEXT-$id" >"$merged/secret"

	base_change
	run cat "$merged/etc/base-file"
	assert_output base-file
	assert_not_exist "$merged/added-later"
	run cat "$merged/data/sub/keep"
	assert_output keep
	assert_not_in_image "PLAINTEXT-$id"

	run_cryptlayer destroy "$id"
	assert_not_exist "$snap"
	assert_not_exist "$SNAPS"
	assert_nothing_left
	# the base keeps its changes
	run cat "$BTR/base/etc/base-file"
	assert_output changed
	assert_file_exists "$BTR/base/added-later"
	base_restore
}

# containers_over_base RUNTIME N: N containers over the base subvolume with the btrfs
# backend: N read-only snapshots while they run, base changes (add, change, delete)
# unseen by all, markers in neither raw image; after stop keys ABSENT, snapshots
# deleted, the base keeps its changes
containers_over_base() {
	local rt=$1 n=$2 i name names=() keys=()
	skip_if_no_runtime "$rt"
	for i in $(seq 1 "$n"); do
		name=$(safename)-$i
		names+=("$name")
		make_bundle "$BATS_TEST_TMPDIR/$name" prestart "$BTR/base" sh -c \
			'm=PLAIN; echo "${m}TEXT-$0-marker" > /marker && touch /ready && exec sleep 600' \
			"$name"
		btrfs_annotate "$BATS_TEST_TMPDIR/$name"
		runtime "$rt" create --bundle "$BATS_TEST_TMPDIR/$name" "$name" </dev/null >/dev/null 2>&1
		runtime "$rt" start "$name"
	done
	for name in "${names[@]}"; do
		wait_for_file "$STORE/containers/$name/crypt/upper/ready"
		run_cryptlayer status "$name" --json
		assert_equal "$(jq -r .snapshot <<<"$output")" "$SNAPS/$name"
		keys+=("$(jq -r .key_id <<<"$output")")
		run btrfs property get -ts "$SNAPS/$name" ro
		assert_output ro=true
	done
	assert_equal "$(ls -A "$SNAPS" | wc -l)" "$n"
	run bash -c 'printf "%s\n" "$@" | sort -u | wc -l' _ "${keys[@]}"
	assert_output "$n"

	base_change
	for name in "${names[@]}"; do
		run runtime "$rt" exec "$name" cat /etc/base-file
		assert_output base-file
		run runtime "$rt" exec "$name" cat /data/sub/keep
		assert_output keep
		run runtime "$rt" exec "$name" ls /added-later
		assert_failure
	done
	sync
	echo 3 >/proc/sys/vm/drop_caches
	for name in "${names[@]}"; do
		run grep -c -a -F "PLAINTEXT-$name-marker" "$BTRIMG" "$IMAGE"
		assert_output "$BTRIMG:0
$IMAGE:0"
	done

	for name in "${names[@]}"; do
		runtime "$rt" kill "$name" KILL
	done
	for name in "${names[@]}"; do
		for _ in $(seq 1 50); do
			runtime "$rt" state "$name" 2>/dev/null | grep -q '"status": "stopped"' && break
			sleep 0.1
		done
		runtime "$rt" delete --force "$name"
	done
	for i in "${!keys[@]}"; do
		run "$PROBE" key-status "${keys[$i]}" "$STORE"
		assert_output absent
	done
	assert_nothing_left
	assert_not_exist "$SNAPS"
	for name in "${names[@]}"; do
		run grep -c -a -F "PLAINTEXT-$name-marker" "$BTRIMG" "$IMAGE"
		assert_output "$BTRIMG:0
$IMAGE:0"
	done
	# the base keeps what was changed while they ran
	run cat "$BTR/base/etc/base-file"
	assert_output changed
	assert_file_exists "$BTR/base/added-later"
	assert_not_exist "$BTR/base/data/sub/keep"
}

@test "ten runc containers over one base subvolume: ten snapshots, base changes unseen" {
	containers_over_base runc 10
}

@test "crun: the same with five containers" {
	containers_over_base crun 5
}

# ---- bad input: one clear error, nothing left ---------------------------------------------

@test "btrfs: a base that is not a subvolume is refused, naming it and 'btrfs subvolume create'" {
	mkdir -p "$BTR/plain"
	cp -a "$BTR/base/bin" "$BTR/plain/"
	run_cryptlayer 1 create --base "$BTR/plain" --backend btrfs --id plainbase
	assert_equal "${#lines[@]}" 1
	assert_output --partial "base '$BTR/plain' is not a btrfs subvolume"
	assert_output --partial "btrfs subvolume create"
	assert_nothing_left
	rm -rf "$BTR/plain"
}

@test "btrfs: a base that is not on btrfs is refused" {
	make_base "$W/extbase"
	run_cryptlayer 1 create --base "$W/extbase" --backend btrfs --id extbase
	assert_equal "${#lines[@]}" 1
	assert_output --partial "base '$W/extbase' is not on btrfs"
	assert_nothing_left
	assert_not_exist "$W/.cryptlayer-snapshots"
}

@test "btrfs: a snapshot directory on another filesystem is refused" {
	mkdir -p "$W/othersnaps"
	run_cryptlayer 1 --snapshot-dir "$W/othersnaps" create --base "$BTR/base" --backend btrfs \
		--id othersnap
	assert_equal "${#lines[@]}" 1
	assert_output --partial "snapshot directory '$W/othersnaps' is not on the btrfs filesystem of base '$BTR/base'"
	assert_nothing_left
	run ls -A "$W/othersnaps"
	assert_output ""
	run_cryptlayer 1 --snapshot-dir "$BTR/nowhere" create --base "$BTR/base" --backend btrfs
	assert_output --partial "snapshot directory '$BTR/nowhere' does not exist"
	assert_nothing_left
}

@test "btrfs: --snapshot-dir on the base's filesystem holds the snapshot" {
	local id
	id=$(safename)
	mkdir -p "$BTR/snaps"
	run_cryptlayer --snapshot-dir "$BTR/snaps" create --base "$BTR/base" --backend btrfs --id "$id"
	run btrfs property get -ts "$BTR/snaps/$id" ro
	assert_output ro=true
	run_cryptlayer destroy "$id"
	assert_not_exist "$BTR/snaps/$id"
	# the user's directory stays
	assert_dir_exists "$BTR/snaps"
	assert_nothing_left
	rmdir "$BTR/snaps"
}

@test "btrfs: a snapshot name in use is refused and left alone" {
	mkdir -p "$SNAPS"
	btrfs subvolume snapshot -r "$BTR/base" "$SNAPS/taken" >/dev/null
	run_cryptlayer 1 create --base "$BTR/base" --backend btrfs --id taken
	assert_equal "${#lines[@]}" 1
	assert_output --partial "snapshot '$SNAPS/taken' already exists"
	# someone else's snapshot stays; nothing of ours is left
	run btrfs property get -ts "$SNAPS/taken" ro
	assert_output ro=true
	assert_layers_gone
	run ls -A "$STORE/snapshots"
	assert_output ""
	# gc leaves it alone too: no record or note of this store names it
	run_cryptlayer gc
	assert_exist "$SNAPS/taken"
	btrfs subvolume delete "$SNAPS/taken" >/dev/null
	assert_nothing_left
}

@test "btrfs: a full btrfs filesystem gives one error and leaves nothing" {
	local small=$W/small
	truncate -s 128M "$W/small.img"
	mkfs.btrfs -q -f --mixed "$W/small.img" >/dev/null
	mkdir -p "$small"
	mount -o loop "$W/small.img" "$small"
	btrfs subvolume create "$small/base" >/dev/null
	make_base "$small/base"
	# full before the snapshot directory could be made
	dd if=/dev/zero of="$small/fill" bs=1M 2>/dev/null || true
	for i in $(seq 1 2000); do echo "$i" >"$small/f$i" 2>/dev/null || break; done
	sync
	run_cryptlayer 1 create --base "$small/base" --backend btrfs --id full
	assert_equal "${#lines[@]}" 1
	assert_output --partial "snapshot directory '$small/.cryptlayer-snapshots': the btrfs filesystem is full"
	assert_not_exist "$small/.cryptlayer-snapshots"
	assert_layers_gone
	# full with the directory there: the snapshot itself fails
	rm -f "$small"/f* "$small/fill"
	sync
	mkdir "$small/.cryptlayer-snapshots"
	dd if=/dev/zero of="$small/fill" bs=1M 2>/dev/null || true
	for i in $(seq 1 2000); do echo "$i" >"$small/f$i" 2>/dev/null || break; done
	sync
	run_cryptlayer 1 create --base "$small/base" --backend btrfs --id full
	assert_equal "${#lines[@]}" 1
	assert_output --partial "the btrfs filesystem is full"
	assert_layers_gone
	run ls -A "$STORE/snapshots"
	assert_output ""
	run btrfs subvolume list -o "$small"
	refute_output --partial cryptlayer-snapshots
	umount "$small"
}

@test "btrfs: kill -9 between the snapshot and the mount, then gc: nothing left" {
	local fault=$TOP/build-fault/cryptlayer key
	[ -x "$fault" ] || make -C "$TOP" B=build-fault FAULT=1 all >/dev/null
	run env CRYPTLAYER_FAULT_KILL=fsopen $fault --root "$CLROOT" --run-dir "$CLRUN" \
		create --base "$BTR/base" --backend btrfs --id killed
	assert_equal "$status" 137
	# the kill landed after the snapshot and before any mount
	run btrfs property get -ts "$SNAPS/killed" ro
	assert_output ro=true
	key=$(jq -r .key_id "$CLRUN/killed.json")
	run "$PROBE" key-status "$key" "$STORE"
	assert_output present
	assert_no_layer_mounts
	run_cryptlayer gc
	run_cryptlayer destroy killed
	run "$PROBE" key-status "$key" "$STORE"
	assert_output absent
	assert_nothing_left
}

@test "btrfs: gc deletes a snapshot whose layer is gone (records lost at a reboot)" {
	local id
	id=$(safename)
	run_cryptlayer create --base "$BTR/base" --backend btrfs --id "$id"
	stop_as_reboot "$id"
	touch -d '-2 hours' "$STORE/containers/$id" "$STORE/snapshots/$id"
	run_cryptlayer gc
	assert_not_exist "$SNAPS/$id"
	assert_not_exist "$SNAPS"
	assert_nothing_left
}

@test "btrfs: gc removes a note cut short by a kill (no snapshot was made after it)" {
	local id
	id=$(safename)
	# what a kill between the note's open and its write leaves: an empty note, no record
	mkdir -p "$STORE/snapshots"
	: >"$STORE/snapshots/$id"
	run_cryptlayer gc
	assert_not_exist "$STORE/snapshots/$id"
	assert_nothing_left
	# a note without its final newline is cut short too; destroy finishes it as well
	printf '%s' "$SNAPS/$id" >"$STORE/snapshots/$id"
	run_cryptlayer destroy "$id"
	assert_not_exist "$STORE/snapshots/$id"
	assert_nothing_left
}

@test "btrfs: .cryptlayer-snapshots goes with its last snapshot, and comes back" {
	local id other=$BTR/other/.cryptlayer-snapshots
	id=$(safename)
	run_cryptlayer create --base "$BTR/base" --backend btrfs --id "$id-1"
	run_cryptlayer create --base "$BTR/base" --backend btrfs --id "$id-2"
	run_cryptlayer destroy "$id-1"
	# it still holds the other layer's snapshot
	run btrfs property get -ts "$SNAPS/$id-2" ro
	assert_output ro=true
	run_cryptlayer destroy "$id-2"
	assert_not_exist "$SNAPS"
	# a --snapshot-dir of that name is cryptlayer's too: made when missing, removed when empty
	mkdir "$BTR/other"
	run_cryptlayer --snapshot-dir "$other" create --base "$BTR/base" --backend btrfs --id "$id"
	run btrfs property get -ts "$other/$id" ro
	assert_output ro=true
	run_cryptlayer destroy "$id"
	assert_not_exist "$other"
	rmdir "$BTR/other"
	assert_not_exist "$SNAPS"
	assert_nothing_left
}

@test "btrfs: a create whose snapshot directory an rmdir removed under it makes it again" {
	local fault=$TOP/build-fault/cryptlayer id pid at_window=no
	make -C "$TOP" B=build-fault FAULT=1 all >/dev/null
	id=$(safename)
	# the store, its locks/ and snapshots/ made, so that the count below holds
	run_cryptlayer create --base "$BTR/base" --backend btrfs --id "$id-0"
	run_cryptlayer destroy "$id-0"
	# stopped at the mkdirat of the store's snapshots/ (its 5th): after the snapshot
	# directory was made and opened, before the note and the snapshot
	CRYPTLAYER_FAULT_STOP=mkdirat@5 $fault --root "$CLROOT" --run-dir "$CLRUN" \
		create --base "$BTR/base" --backend btrfs --id "$id" >"$W/out" 2>"$W/err" &
	pid=$!
	wait_until grep -q '^State:.*stopped' "/proc/$pid/status" || true
	if [ -d "$SNAPS" ] && [ ! -e "$SNAPS/$id" ] && [ ! -e "$STORE/snapshots/$id" ]; then
		at_window=yes
		# what a destroy over the same base does once its snapshot was the last there
		rmdir "$SNAPS"
	fi
	kill -CONT "$pid"
	wait "$pid" || { cat "$W/err"; false; }
	assert_equal "$at_window" yes
	run btrfs property get -ts "$SNAPS/$id" ro
	assert_output ro=true
	run_cryptlayer destroy "$id"
	assert_not_exist "$SNAPS"
	assert_nothing_left
}

@test "btrfs: destroy of a layer whose record is gone deletes its snapshot too" {
	local id
	id=$(safename)
	run_cryptlayer create --base "$BTR/base" --backend btrfs --id "$id"
	stop_as_reboot "$id"
	run_cryptlayer destroy "$id"
	assert_not_exist "$SNAPS/$id"
	assert_nothing_left
	# only the note left (a delete cut short): destroy finishes it, create is not blocked
	run_cryptlayer create --base "$BTR/base" --backend btrfs --id "$id"
	stop_as_reboot "$id"
	rm -rf "${STORE:?}/containers/$id"
	run_cryptlayer 1 create --base "$BTR/base" --backend btrfs --id "$id"
	assert_output --partial "already exists in the store"
	run_cryptlayer destroy "$id"
	assert_nothing_left
}

@test "btrfs: prepare --bundle with io.cryptlayer.backend=btrfs, then plain runc run" {
	skip_if_no_runtime runc
	local name bundle
	name=$(safename)
	bundle=$BATS_TEST_TMPDIR/$name
	make_bundle "$bundle" none "$BTR/base" sh -c "cat /etc/base-file; echo written > /new; cat /new"
	btrfs_annotate "$bundle"
	run_cryptlayer prepare --bundle "$bundle"
	run btrfs property get -ts "$SNAPS/$name" ro
	assert_output ro=true
	run_prepared "$name" "$bundle"
	assert_nothing_left
}

@test "btrfs: a persistent layer keeps its snapshot while locked" {
	local id merged mk=$W/mk/machine.key
	id=$(safename)
	run_cryptlayer --machine-key "file:$mk" create --base "$BTR/base" --backend btrfs \
		--key persistent --id "$id"
	merged=$output
	echo mine >"$merged/mine"
	run_cryptlayer --machine-key "file:$mk" lock "$id"
	run btrfs property get -ts "$SNAPS/$id" ro
	assert_output ro=true
	run_cryptlayer status "$id" --json
	assert_equal "$(jq -r .snapshot <<<"$output")" "$SNAPS/$id"
	base_change
	run_cryptlayer --machine-key "file:$mk" unlock "$id"
	# the same base version comes back, with the layer's own data
	run cat "$merged/etc/base-file"
	assert_output base-file
	run cat "$merged/mine"
	assert_output mine
	run_cryptlayer --machine-key "file:$mk" destroy "$id"
	assert_not_exist "$SNAPS/$id"
	assert_nothing_left
	base_restore
}

@test "a store root on btrfs: the image is NOCOW, layers work, store status says so" {
	local cl="$CRYPTLAYER --root $BTR/clroot --run-dir $W/run2" merged id
	id=$(safename)
	$cl store init --size 128M >/dev/null
	run lsattr "$BTR/clroot/store.img"
	assert_output --regexp '^[-a-zA-Z]*C[-a-zA-Z]* '
	run $cl store status
	assert_success
	assert_output --partial "nocow       yes"
	# an overlay layer and a btrfs one on this store
	make_base "$W/ovbase"
	merged=$($cl create --base "$W/ovbase" --id "$id-ov")
	echo "PLAIN""TEXT-$id-ov" >"$merged/secret"
	merged=$($cl create --base "$BTR/base" --backend btrfs --id "$id")
	echo "PLAIN""TEXT-$id-bt" >"$merged/secret"
	sync
	echo 3 >/proc/sys/vm/drop_caches
	run grep -c -a -e "PLAINTEXT-$id-ov" -e "PLAINTEXT-$id-bt" "$BTRIMG"
	assert_output 0
	$cl destroy "$id-ov"
	$cl destroy "$id"
	assert_not_exist "$SNAPS/$id"
	umount "$BTR/clroot/store"
	assert_equal "$(snapshots_left)" 0
}
