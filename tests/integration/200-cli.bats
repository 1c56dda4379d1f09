#!/usr/bin/env bats
# create/destroy/list/status without a runtime, and prepare --bundle + plain runc run.

load helpers

setup_file() {
	setup_store
	make_base "$BATS_FILE_TMPDIR/base"
	tree_sum "$BATS_FILE_TMPDIR/base" >"$BATS_FILE_TMPDIR/base.sum"
}

teardown_file() {
	teardown_store
}

@test "create prints the merged path; destroy erases the layer" {
	local id merged key
	id=$(safename)
	run_cryptlayer create --base "$BATS_FILE_TMPDIR/base" --id "$id"
	merged=$output
	assert_equal "$merged" "$STORE/containers/$id/merged"
	assert_equal "$(cat "$merged/etc/base-file")" base-file
	m=PLAIN; echo "${m}TEXT-$id" >"$merged/secret"
	rm "$merged/etc/base-file"
	mv "$merged/data/sub" "$merged/data/moved"

	run_cryptlayer status "$id" --json
	key=$(jq -r .key_id <<<"$output")
	assert_equal "$(jq -r .mounted <<<"$output")" true
	assert_equal "$(jq -r .keymode <<<"$output")" ephemeral
	run "$PROBE" policy "$STORE/containers/$id/crypt/upper"
	assert_output --partial "v2 $key"
	assert_not_in_image "PLAINTEXT-$id"
	run_cryptlayer list --json
	assert_equal "$(jq -r --arg id "$id" '.[] | select(.id == $id) | .key_status' <<<"$output")" present

	run_cryptlayer destroy "$id"
	run "$PROBE" key-status "$key" "$STORE"
	assert_output absent
	assert_not_exist "$STORE/containers/$id"
	assert_not_exist "$CLRUN/$id.json"
	assert_no_layer_mounts
	assert_not_in_image "PLAINTEXT-$id"
	assert_equal "$(tree_sum "$BATS_FILE_TMPDIR/base")" "$(cat "$BATS_FILE_TMPDIR/base.sum")"
	# already gone: still success
	run_cryptlayer destroy "$id"
	run_cryptlayer 1 status "$id"
}

@test "list is [] when empty; status of an unknown id exits 1" {
	run_cryptlayer list --json
	assert_output "[]"
	run_cryptlayer 1 status nosuchlayer --json
	assert_output --partial "nosuchlayer"
}

@test "the upper takes the base root's mode and owner" {
	local id merged
	id=$(safename)
	chmod 0755 "$BATS_FILE_TMPDIR/base"
	run_cryptlayer create --base "$BATS_FILE_TMPDIR/base" --id "$id"
	merged=$output
	run stat -c '%a %u %g' "$merged"
	assert_output "$(stat -c '%a %u %g' "$BATS_FILE_TMPDIR/base")"
	run_cryptlayer destroy "$id"
}

@test "destroy refuses, changing nothing, while a process uses the layer" {
	local id merged
	id=$(safename)
	run_cryptlayer create --base "$BATS_FILE_TMPDIR/base" --id "$id"
	merged=$output
	(cd "$merged" && exec sleep 30) &
	local pid=$!
	sleep 0.2
	run_cryptlayer 1 destroy "$id"
	assert_output --partial "$id"
	assert_file_exists "$merged/etc/base-file"
	run_cryptlayer status "$id" --json
	assert_equal "$(jq -r .key_status <<<"$output")" present
	kill "$pid"; wait "$pid" || true
	run_cryptlayer destroy "$id"
	assert_not_exist "$STORE/containers/$id"
}

@test "prepare --bundle, then plain runc run; poststop erases" {
	skip_if_no_runtime runc
	local name bundle
	name=$(safename)
	bundle=$BATS_TEST_TMPDIR/$name
	make_bundle "$bundle" none "$BATS_FILE_TMPDIR/base" \
		sh -c "cat /etc/base-file; echo written > /new; cat /new"
	run_cryptlayer prepare --bundle "$bundle"
	assert_equal "$(jq -r .root.path "$bundle/config.json")" "$STORE/containers/$name/merged"
	run_prepared "$name" "$bundle"
	assert_not_exist "$STORE/containers/$name"
	assert_no_layer_mounts
}

@test "prepare --bundle, then crun run" {
	skip_if_no_runtime crun
	local name bundle
	name=$(safename)
	bundle=$BATS_TEST_TMPDIR/$name
	make_bundle "$bundle" none "$BATS_FILE_TMPDIR/base" \
		sh -c "echo written > /new; cat /new /etc/base-file"
	# prepare and crun share one private namespace: on this test machine PID 1's mount
	# namespace is out of reach, so poststop could not unmount a copy made outside it
	run unshare -m --propagation private sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null
		$1 --root "$2" --run-dir "$3" prepare --bundle "$4" && exec crun run --bundle "$4" "$5"' \
		sh "$CRYPTLAYER" "$CLROOT" "$CLRUN" "$bundle" "$name" </dev/null
	assert_success
	assert_line written
	assert_not_exist "$STORE/containers/$name"
	assert_no_layer_mounts
}

@test "--help and usage errors" {
	local cmd
	for cmd in create destroy list status prepare hook store; do
		run_cryptlayer "$cmd" --help
		assert_output --partial "Usage:"
	done
	run_cryptlayer --help
	assert_output --partial "Usage:"
	run_cryptlayer 2 create
	assert_output --partial "--base DIR is required"
	run_cryptlayer 2 frobnicate
	assert_output --partial "unknown command"
	run_cryptlayer 2 create --base /x --bogus
	run_cryptlayer 2 destroy
	run_cryptlayer 2 hook nosuchstage
}

@test "doctor probes the fscrypt policies for real and says what falls back" {
	run_cryptlayer doctor --json
	# the policy cryptlayer uses works, and was probed by creating a file
	assert_equal "$(jq -r '.fscrypt_modes[0] | "\(.contents) \(.filenames) \(.works) \(.used)"' <<<"$output")" \
		"AES-256-XTS AES-256-CTS true true"
	assert_equal "$(jq -r '.store.directory' <<<"$output")" "$STORE"
	jq -e '.kernel.xts_aes_driver | type == "string"' <<<"$output"
	jq -e '.cpu.flags | test("aes")' <<<"$output"
	jq -e '.runtimes.runc | startswith("runc version")' <<<"$output"
	jq -e '.fallbacks | map(select(startswith("btrfs backend"))) | length == 1' <<<"$output"
	# every mode either works or says why not
	jq -e '[.fscrypt_modes[] | select(.works == false and .error == null)] | length == 0' <<<"$output"
	# the probe leaves nothing behind on the store
	run ls -A "$STORE"
	refute_output --partial ".probe"
	run_cryptlayer doctor
	assert_output --partial "fscrypt      AES-256-XTS"
	assert_output --partial "fallbacks"
	run_cryptlayer doctor --help
	assert_output --partial "Usage:"
	run_cryptlayer 2 doctor --bogus
}

@test "doctor without a usable store: exit 1, one clear error" {
	run $CRYPTLAYER --root /proc/cryptlayer-none --run-dir "$CLRUN" doctor
	assert_failure 1
	assert_output --partial "cryptlayer: doctor: layers cannot be made here:"
}
