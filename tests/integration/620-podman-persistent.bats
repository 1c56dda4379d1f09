#!/usr/bin/env bats
# podman with io.cryptlayer.key=persistent: 'podman stop' locks the layer (key ABSENT,
# encrypted names), 'podman start' unlocks it with the data intact (precreate), a
# damaged key-file copy is repaired there, a wrong machine key stops the start and keeps
# the layer, run-dir loss changes nothing, and 'podman rm' + 'cryptlayer gc' (or
# destroy) leaves nothing behind.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
	setup_store
	local t=$BATS_FILE_TMPDIR
	command -v podman >/dev/null || skip "podman is not installed"
	export MK=$t/mk/machine.key OTHER_MK=$t/other.key
	export CL="$CL --machine-key file:$MK"
	head -c 32 /dev/urandom >"$OTHER_MK"
	chmod 600 "$OTHER_MK"
	# the installed descriptors plus our machine key in every hook's argv
	hooks_dir_with_key "$t/hooks.d" "$MK"
	hooks_dir_with_key "$t/hooks-other.d" "$OTHER_MK"
	setup_podman "$t/hooks.d"
}

teardown_file() {
	teardown_podman
	teardown_store
}

# hooks_dir_with_key DIR KEYFILE
hooks_dir_with_key() {
	local dir=$1 f
	make_hooks_dir "$dir"
	for f in "$dir"/*.json; do
		jq --arg mk "file:$2" '.hook.args |= (.[0:5] + ["--machine-key", $mk] + .[5:])' \
			"$f" >"$f.new"
		mv "$f.new" "$f"
	done
}

ENABLE=(--annotation io.cryptlayer.enable=true --annotation io.cryptlayer.key=persistent)

# every start appends a line to /starts; the marker is written once, assembled inside
# (never in argv or on stdout, which podman stores)
# shellcheck disable=SC2016
CMD='test -e /persist || { m=PODP; echo "${m}ERSIST-$0" > /persist; mkdir /plainname-dir; }
     echo start >> /starts; exec sleep 600'

# start_persistent RUNTIME NAME: run it, wait until it wrote its first start; sets ID
start_persistent() {
	local rt=$1 name=$2
	ID=$(pod run -d --name "$name" "$rt" "${RUN_OPTS[@]}" "${ENABLE[@]}" clbase sh -c "$CMD" \
		"$name")
	wait_starts "$ID" 1
}

wait_starts() {
	local i
	for i in $(seq 1 100); do
		[ "$(cat "$STORE/containers/$1/merged/starts" 2>/dev/null | wc -l)" = "$2" ] && return 0
		sleep 0.05
	done
	echo "container $1 did not reach start $2" >&2
	return 1
}

assert_locked() {
	local id=$1 name=$2 key=$3
	run "$PROBE" key-status "$key" "$STORE"
	assert_output absent
	assert_not_exist "$CLRUN/$id.json"
	assert_no_layer_mounts
	assert_file_exists "$STORE/containers/$id/layer.json"
	assert_file_exists "$STORE/keys/$id"
	run find "$STORE/containers/$id/crypt" -name "*plainname*" -o -name upper
	assert_output ""
	run_cryptlayer status "$id" --json
	assert_equal "$(jq -r '"\(.keymode) \(.key_status) \(.mounted)"' <<<"$output")" \
		"persistent absent false"
	assert_not_in_image "PODPERSIST-$name"
	run grep -r -a -l -F "PODPERSIST-$name" "$BATS_FILE_TMPDIR/podroot" "$BATS_FILE_TMPDIR/podrun"
	assert_output ""
}

assert_data_back() {
	local id=$1 name=$2 key=$3
	run cat "$STORE/containers/$id/merged/persist"
	assert_output "PODPERSIST-$name"
	assert_dir_exists "$STORE/containers/$id/merged/plainname-dir"
	run_cryptlayer status "$id" --json
	assert_equal "$(jq -r .key_id <<<"$output")" "$key"
	assert_equal "$(jq -r .key_status <<<"$output")" present
}

stop_start_rm_gc() {
	local rt name key
	rt=$(rt_flag "$1")
	name=$(safename)
	start_persistent "$rt" "$name"
	run_cryptlayer status "$ID" --json
	key=$(jq -r .key_id <<<"$output")
	assert_equal "$(jq -r .keymode <<<"$output")" persistent

	pod stop -t 0 "$name" >/dev/null
	assert_locked "$ID" "$name" "$key"

	pod start "$name" >/dev/null
	wait_starts "$ID" 2
	assert_data_back "$ID" "$name" "$key"

	# 'podman rm -f' stops it (poststop locks); rm itself runs no hook: gc erases it,
	# or (crun variant) the next poststop of any container does
	pod rm -f -t 0 "$name" >/dev/null
	assert_locked "$ID" "$name" "$key"
	if [ "$1" = runc ]; then
		run_cryptlayer gc
	else
		pod run --rm "$rt" "${RUN_OPTS[@]}" --annotation io.cryptlayer.enable=true clbase true
		run grep -F "$ID: persistent layer whose owner was removed: erased" "$CLRUN/cryptlayer.log"
		assert_success
	fi
	assert_persistent_gone "$ID" "$key"
}

@test "podman runc persistent: stop locks, start brings the data back, rm + gc erase it" {
	stop_start_rm_gc runc
}

@test "podman crun persistent: the same; the next container's poststop erases it after rm" {
	stop_start_rm_gc crun
}

@test "podman persistent: run-dir loss, then a damaged key-file copy, then a wrong machine key" {
	local rt name key kf
	rt=$(rt_flag runc)
	name=$(safename)
	start_persistent "$rt" "$name"
	run_cryptlayer status "$ID" --json
	key=$(jq -r .key_id <<<"$output")
	pod stop -t 0 "$name" >/dev/null

	# reboot-like loss of the run dir: list still shows the layer, start unlocks it
	rm -rf "$CLRUN"
	run_cryptlayer list --json
	assert_equal "$(jq -r --arg id "$ID" '.[] | select(.id == $id) | "\(.keymode) \(.key_status)"' <<<"$output")" \
		"persistent absent"
	pod start "$name" >/dev/null
	wait_starts "$ID" 2
	assert_data_back "$ID" "$name" "$key"
	pod stop -t 0 "$name" >/dev/null

	# one copy damaged: the start repairs it
	kf=$STORE/keys/$ID
	cp "$kf" "$BATS_TEST_TMPDIR/orig"
	python3 -c 'import sys; f=open(sys.argv[1], "r+b"); f.seek(4096 + 300); f.write(b"\xff" * 16)' "$kf"
	pod start "$name" >/dev/null
	wait_starts "$ID" 3
	assert_data_back "$ID" "$name" "$key"
	cmp "$kf" "$BATS_TEST_TMPDIR/orig"
	# the crypto plugin's messages reach the binary's log (podman hides a hook's stderr)
	run grep -F "key file '$ID': rewrote damaged or stale copy" "$CLRUN/cryptlayer.log"
	assert_success
	pod stop -t 0 "$name" >/dev/null

	# a wrong machine key: the start fails, the reason is logged, the layer stays locked
	PODMAN_ARGS="$PODMAN_BASE --hooks-dir $BATS_FILE_TMPDIR/hooks-other.d" run pod start "$name"
	assert_failure
	run grep -F "wrong machine key?" "$CLRUN/cryptlayer.log"
	assert_success
	assert_locked "$ID" "$name" "$key"
	cmp "$kf" "$BATS_TEST_TMPDIR/orig"

	# both copies damaged: the same, and nothing is deleted
	python3 -c 'import sys; f=open(sys.argv[1], "r+b"); f.seek(100); f.write(b"\x00" * 8); f.seek(4196); f.write(b"\x00" * 8)' "$kf"
	run pod start "$name"
	assert_failure
	run grep -F "both copies are damaged" "$CLRUN/cryptlayer.log"
	assert_success
	assert_locked "$ID" "$name" "$key"
	cp "$BATS_TEST_TMPDIR/orig" "$kf"
	pod start "$name" >/dev/null
	wait_starts "$ID" 4
	assert_data_back "$ID" "$name" "$key"

	# destroy refuses while the container runs; after rm it erases everything
	run_cryptlayer 1 destroy "$ID"
	pod rm -f -t 0 "$name" >/dev/null
	run_cryptlayer destroy "$ID"
	assert_persistent_gone "$ID" "$key"
}

@test "podman persistent survives a simulated reboot: gc and another container's poststop keep it" {
	local rt name key t=$BATS_FILE_TMPDIR
	rt=$(rt_flag runc)
	name=$(safename)
	start_persistent "$rt" "$name"
	run_cryptlayer status "$ID" --json
	key=$(jq -r .key_id <<<"$output")
	pod stop -t 0 "$name" >/dev/null
	assert_locked "$ID" "$name" "$key"

	# a reboot empties the tmpfs dirs: podman's runroot and tmpdir, and our run dir
	mv "$t/podrun" "$t/podrun.before-reboot"
	mv "$t/podtmp" "$t/podtmp.before-reboot"
	rm -rf "$CLRUN"
	run_cryptlayer gc --json --verbose
	assert_equal "$(jq -r --arg id "$ID" '.[] | select(.id == $id) | .action' <<<"$output")" kept
	# the first container after the reboot: its poststop's reclaim pass keeps it too
	run pod run --rm "$rt" "${RUN_OPTS[@]}" --annotation io.cryptlayer.enable=true clbase true
	assert_success
	run_cryptlayer gc --json --verbose
	assert_equal "$(jq -r --arg id "$ID" '.[] | select(.id == $id) | .action' <<<"$output")" kept
	assert_file_exists "$STORE/keys/$ID"

	# and podman start finds it, data intact
	pod start "$name" >/dev/null
	wait_starts "$ID" 2
	assert_data_back "$ID" "$name" "$key"
	# because its owner is podman's graph-root userdata dir, which a reboot keeps
	run jq -r .owner_dir "$STORE/containers/$ID/layer.json"
	assert_output "$t/podroot/overlay-containers/$ID/userdata"
	pod rm -f -t 0 "$name" >/dev/null
	run_cryptlayer gc
	assert_persistent_gone "$ID" "$key"
	rm -rf "$t/podrun.before-reboot" "$t/podtmp.before-reboot"
}

@test "persistent layer whose owner is on a tmpfs that a reboot emptied: kept (doubt keeps)" {
	local b=$BATS_TEST_TMPDIR/tmpfs id key
	mkdir -p "$b"
	mount -t tmpfs none "$b"
	make_base "$BATS_TEST_TMPDIR/base"
	mkdir "$b/bundle"
	make_bundle "$b/bundle" none "$BATS_TEST_TMPDIR/base" true
	jq '.annotations["io.cryptlayer.key"] = "persistent"' "$b/bundle/config.json" >"$b/c.json"
	mv "$b/c.json" "$b/bundle/config.json"
	id=$(safename)
	run_cryptlayer prepare --bundle "$b/bundle" --id "$id"
	run_cryptlayer status "$id" --json
	key=$(jq -r .key_id <<<"$output")
	run_cryptlayer lock "$id"
	# the reboot: the tmpfs holding the bundle comes back empty, and so does the run dir
	umount "$b"
	mount -t tmpfs none "$b"
	rm -rf "$CLRUN"
	run_cryptlayer gc --json --verbose
	assert_equal "$(jq -r --arg id "$id" '.[] | select(.id == $id) | .reason' <<<"$output")" \
		"persistent layer whose owner is not found where a reboot may have emptied it (kept; 'destroy' erases it)"
	assert_file_exists "$STORE/keys/$id"
	run_cryptlayer destroy "$id"
	assert_persistent_gone "$id" "$key"
	umount "$b"
}

@test "podman persistent: a start that fails before the runtime runs is locked by gc, data kept" {
	local name id key stub=$BATS_TEST_TMPDIR/stub
	name=$(safename)
	mkdir "$stub"
	# podman refuses the missing workdir after precreate unlocked the layer, and runs no
	# hook at all: the layer is mounted with its key present, and nobody will stop it
	run pod run --name "$name" --workdir /nonexistent/dir "$(rt_flag runc)" "${RUN_OPTS[@]}" \
		"${ENABLE[@]}" --annotation "io.cryptlayer.base=$BATS_FILE_TMPDIR/base" \
		--rootfs "$stub" true
	assert_failure
	id=$(pod inspect --format '{{.Id}}' "$name")
	run_cryptlayer status "$id" --json
	key=$(jq -r .key_id <<<"$output")
	assert_equal "$(jq -r '"\(.key_status) \(.mounted)"' <<<"$output")" "present true"
	echo kept >"$STORE/containers/$id/merged/kept-file"
	# gc leaves it while a start may still be under way, then locks it
	run_cryptlayer gc --json --verbose
	assert_equal "$(jq -r --arg id "$id" '.[] | select(.id == $id) | .action' <<<"$output")" kept
	touch -d '-2 minutes' "$CLRUN/$id.json"
	run_cryptlayer gc --json
	assert_equal "$(jq -r --arg id "$id" '.[] | select(.id == $id) | "\(.action): \(.reason)"' <<<"$output")" \
		"locked: persistent layer of a podman container that is not running"
	run "$PROBE" key-status "$key" "$STORE"
	assert_output absent
	assert_no_layer_mounts
	run_cryptlayer unlock "$id"
	run cat "$STORE/containers/$id/merged/kept-file"
	assert_output kept
	pod rm -f "$name" >/dev/null
	run_cryptlayer destroy "$id"
	assert_persistent_gone "$id" "$key"
}
