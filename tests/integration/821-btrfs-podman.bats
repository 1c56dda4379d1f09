#!/usr/bin/env bats
# btrfs backend under podman (issue 12): with --rootfs STUB + io.cryptlayer.base (a base
# subvolume), and with podman's own btrfs storage driver, whose container subvolume is
# the base that precreate snapshots. Run under 'flock /work/podman.lock'.

# shellcheck disable=SC2086 # word lists

load helpers

setup_file() {
	skip_if_not_root
	command -v mkfs.btrfs >/dev/null || skip "mkfs.btrfs is not installed (btrfs-progs)"
	command -v podman >/dev/null || skip "podman is not installed"
	setup_store
	export W=$BATS_FILE_TMPDIR BTR=$BATS_FILE_TMPDIR/btr BTRIMG=$BATS_FILE_TMPDIR/btrfs.img
	make_btrfs_base "$BTRIMG" "$BTR" 1G
	make_hooks_dir "$W/hooks.d"
	# podman's graph root on the btrfs, with its btrfs driver
	export PODMAN_BASE="--root $BTR/podroot --runroot $W/podrun --tmpdir $W/podtmp
		--storage-driver btrfs --cgroup-manager=cgroupfs --events-backend=file"
	export PODMAN_ARGS="$PODMAN_BASE --hooks-dir $W/hooks.d"
	make_base "$W/imgbase"
	tar -C "$W/imgbase" -c . | pod import - clbase >/dev/null
}

teardown_file() {
	[ -n "${BTR:-}" ] || return 0
	pod rm -af -t 0 >/dev/null 2>&1
	pod rmi -af >/dev/null 2>&1
	teardown_store
	umount "$BTR" 2>/dev/null || true
}

# runc: crun refuses this machine's hybrid cgroups unless wrapped (helpers.bash)
BTRFS=(--runtime runc --annotation io.cryptlayer.enable=true --annotation io.cryptlayer.backend=btrfs)

# assert_layer_gone ID KEY: key ABSENT, no record, directory, mount or snapshot (note)
assert_layer_gone() {
	local id=$1 key=$2
	assert_not_exist "$CLRUN/$id.json"
	assert_not_exist "$STORE/containers/$id"
	assert_not_exist "$STORE/snapshots/$id"
	assert_no_layer_mounts
	run "$PROBE" key-status "$key" "$STORE"
	assert_output absent
}

@test "podman --rootfs STUB + io.cryptlayer.base: the base subvolume is snapshotted" {
	local name stub id key snap
	name=$(safename)
	stub=$BATS_TEST_TMPDIR/stub
	mkdir "$stub"
	pod run -d --name "$name" "${RUN_OPTS[@]}" "${BTRFS[@]}" \
		--annotation "io.cryptlayer.base=$BTR/base" --rootfs "$stub" sh -c \
		'm=PLAIN; echo "${m}TEXT-$0-marker" > /marker && touch /ready && exec sleep 600' \
		"$name" >/dev/null
	id=$(pod inspect --format '{{.Id}}' "$name")
	wait_for_file "$STORE/containers/$id/crypt/upper/ready"
	run_cryptlayer status "$id" --json
	key=$(jq -r .key_id <<<"$output")
	snap=$(jq -r .snapshot <<<"$output")
	assert_equal "$(jq -r .backend <<<"$output")" btrfs
	assert_equal "$snap" "$BTR/.cryptlayer-snapshots/$id"
	run btrfs property get -ts "$snap" ro
	assert_output ro=true
	# a change of the base while it runs is not seen
	echo changed >"$BTR/base/etc/base-file"
	run pod exec "$name" cat /etc/base-file
	assert_output base-file
	assert_not_in_image "PLAINTEXT-$name-marker"
	run grep -c -a -F "PLAINTEXT-$name-marker" "$BTRIMG"
	assert_output 0
	pod rm -f -t 0 "$name" >/dev/null
	assert_layer_gone "$id" "$key"
	assert_not_exist "$snap"
	run cat "$BTR/base/etc/base-file"
	assert_output changed
	echo base-file >"$BTR/base/etc/base-file"
	run find "$stub" -type f
	assert_output ""
}

@test "podman --storage-driver btrfs: precreate snapshots podman's container subvolume" {
	local name id key snap rootfs
	name=$(safename)
	id=$(pod run -d --name "$name" "${RUN_OPTS[@]}" "${BTRFS[@]}" clbase sh -c \
		'm=PLAIN; echo "${m}TEXT-$0-marker" > /marker && touch /ready && exec sleep 600' \
		"$name")
	wait_for_file "$STORE/containers/$id/crypt/upper/ready"
	run_cryptlayer status "$id" --json
	key=$(jq -r .key_id <<<"$output")
	snap=$(jq -r .snapshot <<<"$output")
	assert_equal "$(jq -r .backend <<<"$output")" btrfs
	# the lower is a read-only snapshot of podman's container subvolume
	rootfs=$(jq -r .base <<<"$output")
	assert_equal "${rootfs#"$BTR/podroot/btrfs/subvolumes/"}" "$(basename "$rootfs")"
	assert_equal "$(stat -c %i "$rootfs")" 256
	run btrfs property get -ts "$snap" ro
	assert_output ro=true
	run pod exec "$name" cat /etc/base-file
	assert_output base-file
	assert_not_in_image "PLAINTEXT-$name-marker"
	run grep -c -a -F "PLAINTEXT-$name-marker" "$BTRIMG"
	assert_output 0
	run grep -r -l -F "PLAINTEXT-$name-marker" "$BTR/podroot"
	assert_output ""
	pod stop -t 0 "$name" >/dev/null
	assert_layer_gone "$id" "$key"
	assert_not_exist "$snap"
	# a start takes a new snapshot and key; rm erases it
	pod start "$name" >/dev/null
	wait_for_file "$STORE/containers/$id/crypt/upper/ready"
	run btrfs property get -ts "$snap" ro
	assert_output ro=true
	pod rm -f -t 0 "$name" >/dev/null
	assert_not_exist "$snap"
	assert_not_exist "$STORE/containers/$id"
	assert_no_layer_mounts
}
