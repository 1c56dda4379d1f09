#!/usr/bin/env bats
# cryptlayer gc: reclaims what crashes and failed starts leave, never a live layer.

load helpers

setup_file() {
	setup_store
	make_base "$BATS_FILE_TMPDIR/base"
}

teardown_file() {
	teardown_store
}

# gc_json: run gc --json --verbose, succeed
gc_json() {
	run_cryptlayer gc --json --verbose
}

# action_of ID: what the last gc_json did with ID
action_of() {
	jq -r --arg id "$1" '.[] | select(.id == $id) | "\(.action) \(.reason)"' <<<"$output"
}

# backdate ID: the record (and layer dir) look older than gc's grace time
backdate() {
	touch -h -d '-2 minutes' "$CLRUN/$1.json" "$STORE/containers/$1" 2>/dev/null || true
}

@test "gc: nothing to do is success, [] in JSON" {
	run_cryptlayer gc --json
	assert_output "[]"
	run_cryptlayer gc
	assert_output ""
}

@test "gc keeps layers made by create, and reconciles a record without its layer" {
	local id=$(safename) key
	run_cryptlayer create --base "$BATS_FILE_TMPDIR/base" --id "$id"
	backdate "$id"
	gc_json
	assert_equal "$(action_of "$id")" "kept made by create"
	run_cryptlayer status "$id" --json
	key=$(jq -r .key_id <<<"$output")

	# the layer directory vanished under the record (say, an admin's rm -rf)
	umount "$STORE/containers/$id/merged"
	rm -rf "$STORE/containers/$id"
	gc_json
	assert_equal "$(action_of "$id")" "reclaimed record without a layer"
	assert_not_exist "$CLRUN/$id.json"
	run "$PROBE" key-status "$key" "$STORE"
	assert_output absent
}

@test "gc reclaims a layer directory without a record once its key is gone" {
	local id=$(safename) key
	run_cryptlayer create --base "$BATS_FILE_TMPDIR/base" --id "$id"
	run_cryptlayer status "$id" --json
	key=$(jq -r .key_id <<<"$output")
	echo data >"$STORE/containers/$id/merged/file"
	# a crash before the record was written: no record, no mount, key still in the kernel
	umount "$STORE/containers/$id/merged"
	rm "$CLRUN/$id.json"
	backdate "$id"
	gc_json
	assert_equal "$(action_of "$id")" "kept key present but not recorded"
	assert_exist "$STORE/containers/$id"
	# after a reboot the key is gone: the directory is ciphertext nobody can read
	"$PROBE" remove-key "$key" "$STORE"
	run_cryptlayer gc
	assert_output --partial "reclaimed  $id (layer without a record)"
	assert_not_exist "$STORE/containers/$id"
}

@test "gc leaves a young orphan alone (it may be being created)" {
	local id=$(safename) key
	run_cryptlayer create --base "$BATS_FILE_TMPDIR/base" --id "$id"
	run_cryptlayer status "$id" --json
	key=$(jq -r .key_id <<<"$output")
	umount "$STORE/containers/$id/merged"
	rm "$CLRUN/$id.json"
	"$PROBE" remove-key "$key" "$STORE"
	gc_json
	assert_equal "$(action_of "$id")" "kept being created"
	backdate "$id"
	gc_json
	assert_equal "$(action_of "$id")" "reclaimed layer without a record"
}

@test "gc reclaims a prepare layer whose bundle is gone, keeps it while it exists" {
	local id=$(safename) b=$BATS_TEST_TMPDIR/bundle
	make_bundle "$b" none "$BATS_FILE_TMPDIR/base" true
	run_cryptlayer prepare --bundle "$b" --id "$id"
	backdate "$id"
	gc_json
	assert_equal "$(action_of "$id")" "kept bundle exists"
	rm -rf "$b"
	gc_json
	assert_equal "$(action_of "$id")" "reclaimed bundle removed"
	assert_not_exist "$STORE/containers/$id"
	assert_no_layer_mounts
}

@test "gc never touches a running hook container; reclaims it once its process is gone" {
	local name b key
	skip_if_no_runtime runc
	name=$(safename)
	b=$BATS_TEST_TMPDIR/$name
	make_bundle "$b" prestart "$BATS_FILE_TMPDIR/base" sh -c 'touch /ready; exec sleep 600'
	runc run -d --bundle "$b" "$name" </dev/null >/dev/null 2>&1
	wait_for_file "$STORE/containers/$name/crypt/upper/ready"
	run_cryptlayer status "$name" --json
	key=$(jq -r .key_id <<<"$output")
	backdate "$name"
	gc_json
	assert_equal "$(action_of "$name")" "kept container running"
	run "$PROBE" key-status "$key" "$STORE"
	assert_output present

	# the container dies and nobody runs 'runc delete' (so no poststop)
	runc kill "$name" KILL
	for _ in $(seq 1 50); do runc state "$name" | grep -q '"stopped"' && break; sleep 0.1; done
	gc_json
	assert_equal "$(action_of "$name")" "reclaimed container process gone"
	run "$PROBE" key-status "$key" "$STORE"
	assert_output absent
	assert_not_exist "$STORE/containers/$name"
	# the late poststop finds nothing to do and succeeds
	runc delete "$name"
	run grep -c "poststop.*$name" "$CLRUN/cryptlayer.log"
	assert_output 0
}
