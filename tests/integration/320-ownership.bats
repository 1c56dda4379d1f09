#!/usr/bin/env bats
# A hook tears down only the layer its own container made; liveness is pid + start time;
# lock files go with their layers (issue 14).

load helpers

setup_file() {
	setup_store
	make_base "$BATS_FILE_TMPDIR/base"
}

teardown_file() {
	teardown_store
}

# wait_stopped NAME [RUNTIME-ROOT]: until runc says the container stopped
wait_stopped() {
	local i
	for i in $(seq 1 100); do
		runc ${2:+--root "$2"} state "$1" 2>/dev/null | grep -q '"status": "stopped"' && return 0
		sleep 0.05
	done
	return 1
}

@test "a container failing under the id of a 'create' layer leaves that layer alone" {
	local id key b
	skip_if_no_runtime runc
	id=$(safename)
	run_cryptlayer create --base "$BATS_FILE_TMPDIR/base" --id "$id"
	echo precious >"$output/precious"
	run_cryptlayer status "$id" --json
	key=$(jq -r .key_id <<<"$output")
	b=$BATS_TEST_TMPDIR/bundle
	make_bundle "$b" prestart "$BATS_FILE_TMPDIR/base" true
	# prestart refuses the id in use; runc then runs poststop, which must not erase it
	run runc run --bundle "$b" "$id" </dev/null
	assert_failure
	assert_output --partial "already exists"
	run_cryptlayer status "$id" --json
	assert_equal "$(jq -r '"\(.key_status) \(.mounted) \(.state)"' <<<"$output")" \
		"present true running"
	run cat "$STORE/containers/$id/merged/precious"
	assert_output precious
	run grep -F "$id: layer left alone: made by 'cryptlayer create'" "$CLRUN/cryptlayer.log"
	assert_success
	run_cryptlayer destroy "$id"
	run "$PROBE" key-status "$key" "$STORE"
	assert_output absent
	assert_not_exist "$CLROOT/locks/$id"
}

@test "a second container with a running container's id under another runtime root leaves it alone" {
	local id key b1 b2 other=$BATS_TEST_TMPDIR/runc-root
	skip_if_no_runtime runc
	id=$(safename)
	b1=$BATS_TEST_TMPDIR/b1
	b2=$BATS_TEST_TMPDIR/b2
	make_bundle "$b1" prestart "$BATS_FILE_TMPDIR/base" sh -c 'echo mine > /data/f; touch /ready; exec sleep 600'
	make_bundle "$b2" prestart "$BATS_FILE_TMPDIR/base" true
	runc run -d --bundle "$b1" "$id" </dev/null >/dev/null 2>&1
	wait_for_file "$STORE/containers/$id/crypt/upper/ready"
	run_cryptlayer status "$id" --json
	key=$(jq -r .key_id <<<"$output")
	# the same id under another runc root: its prestart fails, its poststop must not erase
	run runc --root "$other" run --bundle "$b2" "$id" </dev/null
	assert_failure
	run "$PROBE" key-status "$key" "$STORE"
	assert_output present
	run runc exec "$id" cat /data/f
	assert_output mine
	run grep -F "$id: layer left alone:" "$CLRUN/cryptlayer.log"
	assert_success
	# the first container's own stop erases it
	runc kill "$id" KILL
	wait_stopped "$id"
	runc delete "$id"
	run "$PROBE" key-status "$key" "$STORE"
	assert_output absent
	assert_not_exist "$STORE/containers/$id"
	assert_not_exist "$CLRUN/$id.json"
	assert_not_exist "$CLROOT/locks/$id"
}

@test "a reused pid does not keep a dead container's layer (start time differs)" {
	local id key b pid start
	skip_if_no_runtime runc
	id=$(safename)
	b=$BATS_TEST_TMPDIR/b
	make_bundle "$b" prestart "$BATS_FILE_TMPDIR/base" sh -c 'touch /ready; exec sleep 600'
	# no poststop: the record outlives the container, as after a runtime crash
	jq 'del(.hooks.poststop)' "$b/config.json" >"$b/c" && mv "$b/c" "$b/config.json"
	runc run -d --bundle "$b" "$id" </dev/null >/dev/null 2>&1
	wait_for_file "$STORE/containers/$id/crypt/upper/ready"
	run_cryptlayer status "$id" --json
	key=$(jq -r .key_id <<<"$output")
	run_cryptlayer 1 destroy "$id"
	assert_output --partial "in use by running container pid"
	runc kill "$id" KILL
	wait_stopped "$id"
	runc delete "$id"
	# the record now names a live, unrelated process: its pid, but the old start time
	sleep 600 &
	pid=$!
	start=$(jq .pid_start "$CLRUN/$id.json")
	jq --argjson p "$pid" '.pid = $p' "$CLRUN/$id.json" >"$BATS_TEST_TMPDIR/r"
	cp "$BATS_TEST_TMPDIR/r" "$CLRUN/$id.json"
	run_cryptlayer status "$id" --json
	assert_equal "$(jq -r .mounted <<<"$output")" false
	run_cryptlayer gc --json
	assert_equal "$(jq -r --arg id "$id" '.[] | select(.id == $id) | .reason' <<<"$output")" \
		"container process gone"
	run "$PROBE" key-status "$key" "$STORE"
	assert_output absent
	assert_not_exist "$CLROOT/locks/$id"
	# and with that process's own start time it counts as running: kept
	[ "$start" != "$(awk '{print $22}' "/proc/$pid/stat")" ]
	kill "$pid"
}

@test "lock files go with their layers: stop, destroy, failed create, gc of a leftover" {
	local id b
	skip_if_no_runtime runc
	id=$(safename)
	b=$BATS_TEST_TMPDIR/b
	make_bundle "$b" prestart "$BATS_FILE_TMPDIR/base" true
	runc run --bundle "$b" "$id" </dev/null
	assert_not_exist "$CLROOT/locks/$id"
	run_cryptlayer create --base "$BATS_FILE_TMPDIR/base" --id "$id"
	run_cryptlayer destroy "$id"
	assert_not_exist "$CLROOT/locks/$id"
	run_cryptlayer 1 create --base "$BATS_FILE_TMPDIR/nonexistent" --id "$id"
	assert_not_exist "$CLROOT/locks/$id"
	# a lock file left by a killed process: gc removes it once nothing else is left
	mkdir -p "$CLROOT/locks"
	: >"$CLROOT/locks/$id"
	run_cryptlayer gc
	assert_not_exist "$CLROOT/locks/$id"
	run ls -A "$CLROOT/locks"
	assert_output ""
}
