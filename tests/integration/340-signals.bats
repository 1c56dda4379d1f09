#!/usr/bin/env bats
# Ctrl-C and SIGTERM during a creation stop it between two steps and undo it: no key,
# layer, record or lock file is left, whatever the command was doing (issue 14).

load helpers

setup_file() {
	setup_store
	export W=$BATS_FILE_TMPDIR
	make_base "$W/base"
	"$CRYPTLAYER" keygen -o "$W/id"
	# a layer of 48 MiB of incompressible data, exported: the import reads it slowly
	local m
	m=$($CL create --base "$W/base" --id src)
	head -c 48M /dev/urandom >"$m/big"
	$CL export src -o "$W/src.clx" -r "$W/id.pub" --compress none
	$CL destroy src
}

teardown_file() {
	teardown_store
}

# wait_record ID STATE: until ID's record says STATE
wait_record() {
	local i
	for i in $(seq 1 200); do
		[ "$(jq -r .state "$CLRUN/$1.json" 2>/dev/null)" = "$2" ] && return 0
		sleep 0.05
	done
	echo "record of $1 never reached state $2" >&2
	return 1
}

# interrupt_import SIGNAL: an import from a FIFO, interrupted while it unpacks
interrupt_import() {
	local sig=$1 id pid key fifo=$BATS_TEST_TMPDIR/in rc=0
	id=$(safename)
	mkfifo "$fifo"
	$CL import "$fifo" -i "$W/id" --base "$W/base" --id "$id" 2>"$BATS_TEST_TMPDIR/err" &
	pid=$!
	exec 7>"$fifo"
	head -c 16M "$W/src.clx" >&7
	# the record names the key before anything is encrypted with it
	wait_record "$id" creating
	key=$(jq -r .key_id "$CLRUN/$id.json")
	[[ $key =~ ^[0-9a-f]{32}$ ]]
	kill "-$sig" "$pid"
	# the rest of the input: the step in progress finishes, then the import stops
	tail -c +$((16 * 1024 * 1024 + 1)) "$W/src.clx" >&7 2>/dev/null || true
	exec 7>&-
	wait "$pid" || rc=$?
	[ "$rc" -ne 0 ]
	run cat "$BATS_TEST_TMPDIR/err"
	assert_output --partial "interrupted by signal"
	assert_equal "${#lines[@]}" 1
	run "$PROBE" key-status "$key" "$STORE"
	assert_output absent
	assert_not_exist "$STORE/containers/$id"
	assert_not_exist "$CLRUN/$id.json"
	assert_not_exist "$CLROOT/locks/$id"
	assert_no_layer_mounts
}

@test "SIGINT during an import: undone, nothing left, one clear error" {
	interrupt_import INT
}

@test "SIGTERM during an import: the same" {
	interrupt_import TERM
}

@test "export into a pipe whose reader went away: a clear EPIPE error, not a SIGPIPE kill" {
	local m id
	id=$(safename)
	m=$($CL create --base "$W/base" --id "$id")
	head -c 8M /dev/urandom >"$m/big"
	run bash -c "set -o pipefail; $CL export $id -o - -r $W/id.pub --compress none \
		2>$BATS_TEST_TMPDIR/err | head -c 1 >/dev/null"
	assert_failure 1
	run cat "$BATS_TEST_TMPDIR/err"
	assert_output --partial "Broken pipe"
	assert_equal "${#lines[@]}" 1
	$CL destroy "$id"
}
