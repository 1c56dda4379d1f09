#!/usr/bin/env bats
# runc and crun with cryptlayer as an OCI hook: encrypted writes, crypto-erase at stop.

load helpers

setup_file() {
	setup_store
	make_base "$BATS_FILE_TMPDIR/base"
	tree_sum "$BATS_FILE_TMPDIR/base" >"$BATS_FILE_TMPDIR/base.sum"
}

teardown_file() {
	teardown_store
}

# run_container RUNTIME STAGE: a container that reads the base, writes a marker, makes a
# whiteout and renames a directory, then waits; checks everything while it runs and
# after it stops.
run_container() {
	local rt=$1 stage=$2 name bundle key upper
	skip_if_no_runtime "$rt"
	name=$(safename)
	bundle=$BATS_TEST_TMPDIR/$name
	# the marker is assembled inside the container: its full text is in no argv or file
	make_bundle "$bundle" "$stage" "$BATS_FILE_TMPDIR/base" sh -c \
		'cat /etc/base-file > /seen && m=PLAIN; echo "${m}TEXT-$0-marker" > /marker &&
		 rm /etc/base-file && mv /data/sub /data/moved && ls -a / > /listing &&
		 touch /ready && exec sleep 600' "$name"
	runtime "$rt" create --bundle "$bundle" "$name" </dev/null >"$bundle/log" 2>&1
	runtime "$rt" start "$name"
	upper=$STORE/containers/$name/crypt/upper
	wait_for_file "$upper/ready"

	# while it runs: our key, a v2 policy on upper, plaintext nowhere in the image
	run_cryptlayer status "$name" --json
	key=$(jq -r .key_id <<<"$output")
	assert_equal "$(jq -r .key_status <<<"$output")" present
	run "$PROBE" policy "$STORE/containers/$name/crypt"
	assert_output "v2 $key contents=1 filenames=4 flags=3"
	run "$PROBE" policy "$upper"
	assert_output --partial "v2 $key"
	run cat "$upper/seen"
	assert_output base-file
	run stat -c %F "$upper/etc/base-file"
	assert_output "character special file"        # overlay whiteout
	assert_file_exists "$upper/data/moved/keep"
	assert_not_in_image "PLAINTEXT-$name-marker"

	runtime "$rt" kill "$name" KILL
	for _ in $(seq 1 50); do
		runtime "$rt" state "$name" 2>/dev/null | grep -q '"status": "stopped"' && break
		sleep 0.1
	done
	runtime "$rt" delete "$name"

	# after stop: key ABSENT, layer, record and mounts gone, base unchanged
	run "$PROBE" key-status "$key" "$STORE"
	assert_output absent
	assert_not_exist "$STORE/containers/$name"
	assert_not_exist "$CLRUN/$name.json"
	assert_no_layer_mounts
	assert_not_in_image "PLAINTEXT-$name-marker"
	assert_equal "$(tree_sum "$BATS_FILE_TMPDIR/base")" "$(cat "$BATS_FILE_TMPDIR/base.sum")"
}

@test "runc prestart: encrypted layer over a shared base, erased at stop" {
	run_container runc prestart
}

@test "runc createRuntime: the same" {
	run_container runc createRuntime
}

@test "crun prestart: the same" {
	run_container crun prestart
}

@test "crun createRuntime: the same" {
	run_container crun createRuntime
}

@test "runc with rootfsPropagation rshared" {
	ROOTFS_PROPAGATION=rshared run_container runc prestart
}

@test "crun with rootfsPropagation rshared" {
	ROOTFS_PROPAGATION=rshared run_container crun prestart
}

@test "ten containers over one base: ten keys, none sees another's files" {
	skip_if_no_runtime runc
	local i name names=() keys=()
	for i in $(seq 1 10); do
		name=$(safename)-$i
		names+=("$name")
		make_bundle "$BATS_TEST_TMPDIR/$name" prestart "$BATS_FILE_TMPDIR/base" sh -c \
			'echo "$0" > /mine && ls / > /listing && touch /ready && exec sleep 600' "$name"
		runc create --bundle "$BATS_TEST_TMPDIR/$name" "$name" </dev/null >/dev/null 2>&1
		runc start "$name"
	done
	for name in "${names[@]}"; do
		wait_for_file "$STORE/containers/$name/crypt/upper/ready"
		run cat "$STORE/containers/$name/crypt/upper/mine"
		assert_output "$name"
		# its root holds its own file and nothing written by the others
		run cat "$STORE/containers/$name/crypt/upper/listing"
		assert_output --partial mine
		refute_output --partial ready
		keys+=("$($CL status "$name" --json | jq -r .key_id)")
	done
	run bash -c 'printf "%s\n" "$@" | sort -u | wc -l' _ "${keys[@]}"
	assert_output 10
	for name in "${names[@]}"; do
		runc kill "$name" KILL
	done
	sleep 0.5
	for name in "${names[@]}"; do
		runc delete --force "$name"
	done
	for i in "${!keys[@]}"; do
		run "$PROBE" key-status "${keys[$i]}" "$STORE"
		assert_output absent
		assert_not_exist "$STORE/containers/${names[$i]}"
	done
	assert_no_layer_mounts
}

# A runtime that opened the rootfs before the hooks ran (runc >= 1.5 does) may pivot into
# the stub instead of the overlay; not available here, so a process stands in for it: its
# own mount namespace, root.path bind-mounted, an fd held on it. (crun 1.8 and runc 1.1
# are the success paths above.)
@test "a runtime that kept the stub open finds it read-only: nothing lands in plaintext" {
	local b=$BATS_TEST_TMPDIR/b stub pid state
	stub=$b/rootfs
	mkdir -p "$stub"
	(cd "$b" && runc spec)
	jq --arg base "$BATS_FILE_TMPDIR/base" '.annotations = {"io.cryptlayer.base": $base}' \
		"$b/config.json" >"$b/c" && mv "$b/c" "$b/config.json"
	unshare -m --propagation private sh -c '
		mount --bind "$1" "$1" && exec 3<"$1" && touch "$2/ready"
		while [ ! -e "$2/go" ]; do sleep 0.05; done
		if touch /proc/self/fd/3/via-fd 2>"$2/err"; then echo written; else echo refused; fi >"$2/result"
		touch "$1/by-path"
		exec sleep 600' sh "$stub" "$BATS_TEST_TMPDIR" &
	pid=$!
	wait_for_file "$BATS_TEST_TMPDIR/ready"
	state=$(jq -n --arg b "$b" --argjson p "$pid" \
		'{ociVersion: "1.0.2", id: "stubheld", status: "created", pid: $p, bundle: $b}')
	run_cryptlayer hook prestart <<<"$state"
	touch "$BATS_TEST_TMPDIR/go"
	wait_for_file "$BATS_TEST_TMPDIR/result"
	run cat "$BATS_TEST_TMPDIR/result"
	assert_output refused
	run cat "$BATS_TEST_TMPDIR/err"
	assert_output --partial "Read-only file system"
	# by path, the write went into the encrypted layer; the stub on the host stays empty
	wait_for_file "$STORE/containers/stubheld/crypt/upper/by-path"
	run find "$stub" -mindepth 1
	assert_output ""
	kill "$pid"
	wait "$pid" || true
	run_cryptlayer hook poststop <<<"$state"
	assert_not_exist "$STORE/containers/stubheld"
}

# A bind mounted at /opt/x and then covered by a tmpfs at /opt (mounts apply in order): the
# container never sees the bind, and the hook must not trip over its mount point, whose
# path now resolves into the tmpfs (a checkout under /tmp bound into a container with a
# /tmp tmpfs, as the nested suite does).
covered_bind() {
	local rt=$1 name bundle
	skip_if_no_runtime "$rt"
	name=$(safename)
	bundle=$BATS_TEST_TMPDIR/$name
	mkdir -p "$BATS_TEST_TMPDIR/src" && echo bound >"$BATS_TEST_TMPDIR/src/f"
	make_bundle "$bundle" prestart "$BATS_FILE_TMPDIR/base" sh -c \
		'if test -e /opt/x/f; then echo bind-visible; else echo bind-hidden; fi; cat /etc/base-file'
	jq --arg src "$BATS_TEST_TMPDIR/src" '.mounts += [
		{destination: "/opt/x", type: "bind", source: $src, options: ["rbind", "ro"]},
		{destination: "/opt", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev"]}]' \
		"$bundle/config.json" >"$bundle/c" && mv "$bundle/c" "$bundle/config.json"
	run runtime "$rt" run --bundle "$bundle" "$name" </dev/null
	assert_success
	assert_line bind-hidden
	assert_line base-file
	assert_not_exist "$STORE/containers/$name"
	assert_no_layer_mounts
}

@test "runc: a bind covered by a later mount is left alone, the container starts" {
	covered_bind runc
}

@test "crun: a bind covered by a later mount is left alone, the container starts" {
	covered_bind crun
}
