#!/usr/bin/env bats
# podman-in-podman (issue 11, DESIGN §6): an outer 'podman run --privileged' with
# io.cryptlayer.nested=true runs an inner podman whose graph is the bind-mounted
# /var/lib/containers (native overlay on the nest's graph, encrypted with the outer key)
# and whose precreate hook is the same cryptlayer with the default store path.
# Run under 'flock /work/podman.lock' on shared machines.

load helpers

setup_file() {
	CL_STORE_SIZE=512M setup_store
	export T=$BATS_FILE_TMPDIR
	make_hooks_dir "$T/hooks.d"
	setup_podman "$T/hooks.d"
	# the outer image: busybox, Debian's merged-usr links (the host's /usr is bound in)
	make_base "$T/obase"
	ln -s usr/lib "$T/obase/lib"
	ln -s usr/lib64 "$T/obase/lib64"
	ln -s usr/sbin "$T/obase/sbin"
	echo 'root:x:0:0:root:/root:/bin/sh' >"$T/obase/etc/passwd"
	echo 'root:x:0:' >"$T/obase/etc/group"
	mkdir -p "$T/obase/var/tmp" "$T/obase/tmp"
	tar -C "$T/obase" -c . | pod import - clouter >/dev/null
	# what the inner podman gets: the image as a tar, the descriptors without options
	mkdir -p "$T/shared/hooks"
	make_base "$T/ibase"
	tar -C "$T/ibase" -cf "$T/shared/ibase.tar" .
	local f
	for f in "$TOP"/hooks/hooks.d/*.json; do
		sed -e "s|@BINDIR@/cryptlayer|$CRYPTLAYER|" \
			-e 's|"--root", "@ROOT@", "--run-dir", "@RUNDIR@", ||' "$f" \
			>"$T/shared/hooks/${f##*/}"
	done
}

teardown_file() {
	teardown_podman
	teardown_store
}

# wait_absent KEY: podman runs poststop from its cleanup process, after 'stop' returned
wait_absent() {
	local _
	for _ in $(seq 1 100); do
		[ "$("$PROBE" key-status "$1" "$STORE")" = absent ] && return 0
		sleep 0.05
	done
	echo "key $1 is $("$PROBE" key-status "$1" "$STORE")" >&2
	return 1
}

# ipod OUTER ARGS...: the inner podman, in OUTER
ipod() {
	local o=$1
	shift
	pod exec "$o" podman --cgroup-manager=cgroupfs --events-backend=file \
		--storage-driver overlay --hooks-dir /shared/hooks "$@" </dev/null
}

# start_ipod OUTER: an inner container that writes a marker assembled inside it; its id
start_ipod() {
	ipod "$1" run -d --runtime=runc "${RUN_OPTS[@]}" --annotation io.cryptlayer.enable=true \
		clinner sh -c 'm=PLAIN; echo "${m}TEXT-$(hostname)-pinp" > /marker; exec sleep 600'
}

@test "podman-in-podman: inner layers on the nest store, inner stop and outer stop erase" {
	local o ka kb a b okey
	o=$(pod run -d --privileged --runtime=runc "${RUN_OPTS[@]}" \
		--annotation io.cryptlayer.nested=true -v /usr:/usr:ro -v "$TOP:$TOP:ro" \
		-v /etc/containers:/etc/containers:ro -v "$T/shared:/shared" \
		clouter sh -c 'while :; do sleep 1; done')
	okey=$($CL status "$o" --json | jq -r .key_id)
	run "$PROBE" policy "$STORE/nest/$o/graph"
	assert_output --partial "v2 $okey"
	ipod "$o" import /shared/ibase.tar clinner >/dev/null
	# the inner podman's graph is the nest's graph: native overlay, under the outer key
	run pod exec "$o" sh -c 'grep " /var/lib/containers " /proc/self/mountinfo'
	assert_output --partial "/nest/$o/graph"
	assert_dir_exists "$STORE/nest/$o/graph/storage/overlay"

	a=$(start_ipod "$o")
	b=$(start_ipod "$o")
	wait_for_file "$STORE/nest/$o/store/containers/$a/crypt/upper/marker"
	wait_for_file "$STORE/nest/$o/store/containers/$b/crypt/upper/marker"
	ka=$(pod exec "$o" "$CRYPTLAYER" status "$a" --json | jq -r .key_id)
	kb=$(pod exec "$o" "$CRYPTLAYER" status "$b" --json | jq -r .key_id)
	[[ $ka =~ ^[0-9a-f]{32}$ && $kb =~ ^[0-9a-f]{32}$ ]]
	[ "$ka" != "$kb" ] && [ "$ka" != "$okey" ] && [ "$kb" != "$okey" ]
	run "$PROBE" policy "$STORE/nest/$o/store/containers/$a/crypt"
	assert_output --partial "v2 $ka"
	run_cryptlayer status "$o" --json
	assert_equal "$(jq -r .inner_keys <<<"$output")" 2
	assert_not_in_image "PLAINTEXT-${a:0:12}-pinp"

	# the inner stop erases the inner key; the outer runs on
	ipod "$o" stop -t 0 "$a" >/dev/null
	wait_absent "$ka"
	run "$PROBE" key-status "$okey" "$STORE"
	assert_output present
	assert_not_exist "$STORE/nest/$o/store/containers/$a"

	# the outer stop erases the other inner key and the inner graph (outer key)
	pod stop -t 0 "$o" >/dev/null
	for k in "$okey" "$ka" "$kb"; do
		wait_absent "$k"
	done
	assert_not_exist "$STORE/nest/$o"
	assert_not_exist "$STORE/containers/$o"
	assert_not_exist "$CLRUN/$o.json"
	run grep -c -F "$STORE/" /proc/self/mountinfo
	assert_output 0
	assert_not_in_image "PLAINTEXT-${b:0:12}-pinp"
	pod rm -f "$o" >/dev/null
}
