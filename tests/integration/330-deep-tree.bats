#!/usr/bin/env bats
# Erasing a layer a container left 2,000 directories deep and 100,000 files wide, within a
# small fd limit: the removal holds a constant number of fds whatever the depth (it used
# to hold two per level and failed with EMFILE ~510 levels down, on every teardown).

load helpers

DEPTH=2000

setup_file() {
	# 500M stays under mke2fs's 512M "small" type: 1 KiB blocks, an inode per 4 KiB
	# (128,000 inodes); the default 256M has 65,536, too few for 100,000 files
	CL_STORE_SIZE=500M setup_store
	make_base "$BATS_FILE_TMPDIR/base"
}

teardown_file() {
	teardown_store
}

# deep_path: d/d/.../d, DEPTH levels (a relative path under PATH_MAX: use it from its top)
deep_path() {
	local p=d i
	for ((i = 1; i < DEPTH; i++)); do p+=/d; done
	echo "$p"
}

# The tree, made from a busybox sh: DEPTH nested directories with files at depths 1,
# 1000 and DEPTH, and ($1) files in four directories. Run from the layer's root.
# shellcheck disable=SC2016 # expanded by the sh that runs it
FILL='set -e
p=d; i=1
while [ $i -lt 2000 ]; do
	p=$p/d; i=$((i+1))
	if [ $i -eq 1000 ]; then mid=$p; fi
done
mkdir -p "$p"
echo one >d/file; echo mid >"$mid/file"; echo bottom >"$p/bottom"
for w in 1 2 3 4; do
	mkdir -p "w$w"
	(cd "w$w" && seq 1 $(($1 / 4)) | xargs touch)
done
echo small >w1/1'

# assert_deep_tree DIR NFILES: DIR holds the tree FILL made
assert_deep_tree() {
	local dir=$1 nfiles=$2
	run bash -c 'cd "$1" && cat "$2/bottom"' _ "$dir" "$(deep_path)"
	assert_output bottom
	run bash -c 'ls -f "$1"/w? | grep -c "^[0-9]"' _ "$dir"
	assert_output "$nfiles"
}

# assert_erased ID KEY: no layer, record or mount is left, KEY is ABSENT
assert_erased() {
	assert_not_exist "$STORE/containers/$1"
	assert_not_exist "$CLRUN/$1.json"
	assert_no_layer_mounts
	run "$PROBE" key-status "$2" "$STORE"
	assert_output absent
}

# since T0: the seconds elapsed since date +%s.%N said T0
since() {
	awk -v t0="$1" -v t1="$(date +%s.%N)" 'BEGIN { printf "%.2f", t1 - t0 }'
}

# wait_stopped NAME: until runc says the container's process has exited
wait_stopped() {
	local _
	for _ in $(seq 1 3000); do
		[ "$(runc state "$1" 2>/dev/null | jq -r .status)" = stopped ] && return 0
		sleep 0.2
	done
	echo "timed out waiting for $1 to stop" >&2
	return 1
}

@test "runc: poststop erases a layer 2,000 deep with 100,000 files, within 64 fds" {
	skip_if_no_runtime runc
	local name bundle key upper t0
	name=$(safename)
	bundle=$BATS_TEST_TMPDIR/$name
	make_bundle "$bundle" prestart "$BATS_FILE_TMPDIR/base" sh -c "cd / && $FILL" sh 100000
	runc create --bundle "$bundle" "$name" </dev/null >"$bundle/log" 2>&1
	run_cryptlayer status "$name" --json
	key=$(jq -r .key_id <<<"$output")
	runc start "$name"
	wait_stopped "$name"
	upper=$STORE/containers/$name/crypt/upper
	assert_deep_tree "$upper" 100000
	run "$PROBE" key-status "$key" "$STORE"
	assert_output present

	# runc runs poststop with its own limit: a hard 64 (Go raises only the soft one)
	t0=$(date +%s.%N)
	run bash -c 'ulimit -n 64 && exec runc delete "$1"' _ "$name"
	echo "# erase took $(since "$t0")s (runc delete: poststop, ulimit -n 64)" >&3
	assert_success
	assert_erased "$name" "$key"
}

@test "destroy erases a created layer 2,000 deep under ulimit -n 64" {
	local id merged key t0
	id=$(safename)
	run_cryptlayer create --base "$BATS_FILE_TMPDIR/base" --id "$id"
	merged=$output
	(cd "$merged" && sh -c "$FILL" sh 4000)
	assert_deep_tree "$merged" 4000
	run_cryptlayer status "$id" --json
	key=$(jq -r .key_id <<<"$output")

	t0=$(date +%s.%N)
	# shellcheck disable=SC2086 # $CL is a word list
	run bash -c 'ulimit -n 64 && exec "$@"' _ $CL destroy "$id"
	echo "# erase took $(since "$t0")s (cryptlayer destroy, ulimit -n 64)" >&3
	assert_success
	assert_erased "$id" "$key"
	run_cryptlayer 1 status "$id"
}
