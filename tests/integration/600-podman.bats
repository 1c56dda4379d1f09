#!/usr/bin/env bats
# podman with the hooks.d descriptors: precreate puts the encrypted layer under the
# container, poststop (podman's and the one precreate adds) erases it.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
	setup_store
	make_hooks_dir "$BATS_FILE_TMPDIR/hooks.d"
	setup_podman "$BATS_FILE_TMPDIR/hooks.d"
}

teardown_file() {
	teardown_podman
	teardown_store
}

ENABLE=(--annotation io.cryptlayer.enable=true)

# The layer of podman container $1 is gone: key ABSENT, no record, directory or mount.
assert_layer_gone() {
	local id=$1 key=$2
	assert_not_exist "$CLRUN/$id.json"
	assert_not_exist "$STORE/containers/$id"
	assert_no_layer_mounts
	[ -z "$key" ] || { run "$PROBE" key-status "$key" "$STORE"; assert_output absent; }
}

# ephemeral_image_mode RUNTIME: marker encrypted while it runs, gone after stop, and a
# new container from the same image starts clean
ephemeral_image_mode() {
	local rt id key name podsum
	rt=$(rt_flag "$1")
	name=$(safename)
	# the marker is assembled inside: its full text is in no argv and never printed
	id=$(pod run -d --name "$name" "$rt" "${RUN_OPTS[@]}" "${ENABLE[@]}" clbase sh -c \
		'm=PLAIN; echo "${m}TEXT-$0-marker" > /marker && touch /ready && exec sleep 600' \
		"$name")
	wait_for_file "$STORE/containers/$id/crypt/upper/ready"
	run_cryptlayer status "$id" --json
	key=$(jq -r .key_id <<<"$output")
	assert_equal "$(jq -r .key_status <<<"$output")" present
	assert_equal "$(jq -r .merged <<<"$output")" "$STORE/containers/$id/merged"
	run "$PROBE" policy "$STORE/containers/$id/crypt"
	assert_output "v2 $key contents=1 filenames=4 flags=3"
	assert_not_in_image "PLAINTEXT-$name-marker"
	run grep -r -a -l -F "PLAINTEXT-$name-marker" "$BATS_FILE_TMPDIR/podroot" "$BATS_FILE_TMPDIR/podrun"
	assert_output ""
	# the record names podman's userdata dir in its graph root, which is podman's
	# bundle (poststop checks it) and survives a reboot (gc's owner check)
	run jq -r .owner_dir "$CLRUN/$id.json"
	assert_output "$BATS_FILE_TMPDIR/podroot/overlay-containers/$id/userdata"
	run jq -r .bundle "$CLRUN/$id.json"
	assert_output "$BATS_FILE_TMPDIR/podroot/overlay-containers/$id/userdata"

	pod stop -t 0 "$name" >/dev/null
	assert_layer_gone "$id" "$key"
	assert_not_in_image "PLAINTEXT-$name-marker"

	# podman start runs precreate again: a fresh layer with a new key, no old data
	pod start "$name" >/dev/null
	wait_for_file "$STORE/containers/$id/crypt/upper/ready"
	run_cryptlayer status "$id" --json
	assert [ "$(jq -r .key_id <<<"$output")" != "$key" ]
	pod rm -f -t 0 "$name" >/dev/null
	assert_layer_gone "$id"

	run pod run --rm "$rt" "${RUN_OPTS[@]}" "${ENABLE[@]}" clbase sh -c \
		'test ! -e /marker && test ! -e /ready && echo clean'
	assert_success
	assert_output clean
	assert_no_layer_mounts
	run ls "$STORE/containers"
	assert_output ""
	run "$CRYPTLAYER" --root "$CLROOT" --run-dir "$CLRUN" list --json
	assert_output "[]"
}

@test "podman runc, image mode: writes encrypted, erased at stop, new container clean" {
	ephemeral_image_mode runc
}

@test "podman crun, image mode: the same" {
	ephemeral_image_mode crun
}

# rootfs_stub RUNTIME: podman run --rootfs STUB with the base named by annotation
rootfs_stub() {
	local rt name stub id key
	rt=$(rt_flag "$1")
	name=$(safename)
	stub=$BATS_TEST_TMPDIR/stub
	mkdir "$stub"
	tree_sum "$BATS_FILE_TMPDIR/base" >"$BATS_TEST_TMPDIR/base.sum"
	pod run -d --name "$name" "$rt" "${RUN_OPTS[@]}" "${ENABLE[@]}" \
		--annotation "io.cryptlayer.base=$BATS_FILE_TMPDIR/base" --rootfs "$stub" sh -c \
		'cat /etc/base-file > /seen; m=PLAIN; echo "${m}TEXT-$0-marker" > /marker &&
		 touch /ready && exec sleep 600' "$name" >/dev/null
	id=$(pod inspect --format '{{.Id}}' "$name")
	wait_for_file "$STORE/containers/$id/crypt/upper/ready"
	run cat "$STORE/containers/$id/crypt/upper/seen"
	assert_output base-file
	run_cryptlayer status "$id" --json
	key=$(jq -r .key_id <<<"$output")
	assert_equal "$(jq -r .base <<<"$output")" "$BATS_FILE_TMPDIR/base"
	assert_not_in_image "PLAINTEXT-$name-marker"
	pod rm -f -t 0 "$name" >/dev/null
	assert_layer_gone "$id" "$key"
	# neither the base nor the stub got the container's writes
	assert_equal "$(tree_sum "$BATS_FILE_TMPDIR/base")" "$(cat "$BATS_TEST_TMPDIR/base.sum")"
	run find "$stub" -type f
	assert_output ""
}

@test "podman runc, --rootfs STUB + io.cryptlayer.base" {
	rootfs_stub runc
}

@test "podman crun, --rootfs STUB + io.cryptlayer.base" {
	rootfs_stub crun
}

@test "podman --rootfs with content while a base is named: refused, nothing created" {
	local name stub
	name=$(safename)
	stub=$BATS_TEST_TMPDIR/stub
	mkdir -p "$stub/etc"
	echo secret >"$stub/etc/not-a-mount-point"
	run pod run --rm --name "$name" --runtime=runc "${RUN_OPTS[@]}" "${ENABLE[@]}" \
		--annotation "io.cryptlayer.base=$BATS_FILE_TMPDIR/base" --rootfs "$stub" true
	assert_failure
	run grep -F "root.path holds content at '$stub/etc/not-a-mount-point'" "$CLRUN/cryptlayer.log"
	assert_success
	run ls "$STORE/containers"
	assert_output ""
	assert_no_layer_mounts
}

@test "podman without the annotation: untouched, no record, no store" {
	local t=$BATS_TEST_TMPDIR name cfg
	name=$(safename)
	run pod run --rm --name "$name" --runtime=runc "${RUN_OPTS[@]}" clbase sh -c \
		'grep " / " /proc/mounts'
	assert_success
	refute_output --partial "lowerdir=/proc/self/fd"
	run ls "$CLRUN"
	refute_output --partial ".json"
	run ls "$STORE/containers"
	assert_output ""

	# precreate on a config without io.cryptlayer.*: byte for byte, and no store made
	cfg=$TOP/tests/data/config-podman-precreate.json
	jq 'del(.annotations["io.cryptlayer.enable"])' "$cfg" >"$t/in.json"
	printf ' \n' >>"$t/in.json"
	"$CRYPTLAYER" --root "$t/none" --run-dir "$t/nonerun" hook precreate <"$t/in.json" \
		>"$t/out.json"
	cmp "$t/in.json" "$t/out.json"
	assert_not_exist "$t/none"
	jq '.annotations["io.cryptlayer.enable"] = "false"' "$cfg" >"$t/in.json"
	"$CRYPTLAYER" --root "$t/none" --run-dir "$t/nonerun" hook precreate <"$t/in.json" \
		>"$t/out.json"
	cmp "$t/in.json" "$t/out.json"
	assert_not_exist "$t/none"
}

@test "precreate: malformed config.json on stdin is refused, nothing left behind" {
	local t=$BATS_TEST_TMPDIR
	printf '{"root": {"path": "/x"}, "annotations": {"io.cryptlayer.enable": "true"' >"$t/bad"
	run_cryptlayer 1 hook precreate <"$t/bad"
	assert_output --partial "cryptlayer: precreate: malformed JSON in config.json"
	assert_equal "${#lines[@]}" 1
	run_cryptlayer 1 hook precreate </dev/null
	assert_output --partial "cryptlayer: precreate: malformed JSON in config.json"
	# well-formed, enabled, but no podman container id in it
	jq -n '{root: {path: "/x"}, annotations: {"io.cryptlayer.enable": "true"}}' >"$t/noid"
	run_cryptlayer 1 hook precreate <"$t/noid"
	assert_output --partial "no podman container id"
	run grep -c "precreate: malformed JSON in config.json" "$CLRUN/cryptlayer.log"
	assert [ "$output" -ge 2 ]
	run ls "$STORE/containers"
	assert_output ""
	run_cryptlayer list --json
	assert_output "[]"
}

@test "podman: a refused annotation stops the container; the reason is in cryptlayer.log" {
	local name
	name=$(safename)
	run pod run --rm --name "$name" --runtime=runc "${RUN_OPTS[@]}" "${ENABLE[@]}" \
		--annotation io.cryptlayer.key=bogus clbase true
	assert_failure
	assert_output --partial "precreate"
	run grep -F "annotation 'io.cryptlayer.key': expected ephemeral or persistent" \
		"$CLRUN/cryptlayer.log"
	assert_success
	run pod run --rm --runtime=runc "${RUN_OPTS[@]}" "${ENABLE[@]}" \
		--annotation io.cryptlayer.backend=btrfs clbase true
	assert_failure
	# podman's overlay is no btrfs subvolume (the btrfs backend: 821-btrfs-podman.bats)
	run grep -F "is not on btrfs: the btrfs backend snapshots a btrfs subvolume" \
		"$CLRUN/cryptlayer.log"
	assert_success
	run ls "$STORE/containers"
	assert_output ""
	assert_no_layer_mounts
}

@test "podman runc: a command that cannot start leaves nothing behind" {
	local name
	name=$(safename)
	run -127 pod run --name "$name" --runtime=runc "${RUN_OPTS[@]}" "${ENABLE[@]}" clbase /nonexistent
	assert_failure
	assert_output --partial "/nonexistent"
	# podman runs no poststop after a failed 'runc create'; the one precreate added did
	assert_no_layer_mounts
	run ls "$STORE/containers"
	assert_output ""
	run_cryptlayer list --json
	assert_output "[]"
	pod rm -f "$name" >/dev/null
}

@test "podman crun: a command that cannot start leaves nothing after rm (gc); reason shown" {
	local name id rt
	rt=$(rt_flag crun)
	name=$(safename)
	run -127 pod run --name "$name" "$rt" "${RUN_OPTS[@]}" "${ENABLE[@]}" clbase /nonexistent
	assert_output --partial "/nonexistent"
	id=$(pod inspect --format '{{.Id}}' "$name")
	# crun runs no poststop after a failed create, nor does podman: the layer waits for
	# gc, which leaves it while it may still be starting, and not once it is old
	run_cryptlayer gc --json --verbose
	assert_equal "$(jq -r --arg id "$id" '.[] | select(.id == $id) | .action' <<<"$output")" kept
	touch -d '-2 minutes' "$CLRUN/$id.json"
	run_cryptlayer gc --json
	assert_equal "$(jq -r --arg id "$id" '.[] | select(.id == $id) | .reason' <<<"$output")" \
		"podman container not running"
	assert_layer_gone "$id"
	pod rm -f "$name" >/dev/null

	# with --rm the container is gone at once: gc reclaims whatever the age
	run -127 pod run --rm "$rt" "${RUN_OPTS[@]}" "${ENABLE[@]}" clbase /nonexistent
	run_cryptlayer gc --json
	assert_equal "$(jq -r '.[0].reason' <<<"$output")" "podman container removed"
	assert_no_layer_mounts
	run ls "$STORE/containers"
	assert_output ""
	run_cryptlayer list --json
	assert_output "[]"
}

@test "podman crun: after a failed start and 'podman rm', the next podman run erases the layer (no gc)" {
	local name id rt key
	rt=$(rt_flag crun)
	name=$(safename)
	run -127 pod run --name "$name" "$rt" "${RUN_OPTS[@]}" "${ENABLE[@]}" clbase /nonexistent
	id=$(pod inspect --format '{{.Id}}' "$name")
	# crun ran no poststop: the layer is still there, keyed
	run_cryptlayer status "$id" --json
	key=$(jq -r .key_id <<<"$output")
	assert_equal "$(jq -r .key_status <<<"$output")" present
	pod rm -f "$name" >/dev/null
	# 'podman rm' runs no hook; the next container's precreate reclaims it
	run pod run --rm "$(rt_flag runc)" "${RUN_OPTS[@]}" "${ENABLE[@]}" clbase true
	assert_success
	assert_layer_gone "$id" "$key"
	run grep -F "$id: podman container removed: erased" "$CLRUN/cryptlayer.log"
	assert_success
	run_cryptlayer list --json
	assert_output "[]"
}

@test "gc never reclaims a running podman container's layer" {
	local name id key
	name=$(safename)
	id=$(pod run -d --name "$name" --runtime=runc "${RUN_OPTS[@]}" "${ENABLE[@]}" clbase sh -c \
		'touch /ready; exec sleep 600')
	wait_for_file "$STORE/containers/$id/crypt/upper/ready"
	touch -d '-2 minutes' "$CLRUN/$id.json"
	run_cryptlayer gc --json --verbose
	assert_equal "$(jq -r --arg id "$id" '.[] | select(.id == $id) | "\(.action) \(.reason)"' \
		<<<"$output")" "kept container running"
	run pod exec "$name" ls /ready
	assert_success
	pod rm -f -t 0 "$name" >/dev/null
	assert_layer_gone "$id"
}

# Nothing of podman container $1's layer is left: no record, directory, key file, lock or
# mount, and 'list' is empty.
assert_nothing_of() {
	local id=$1
	assert_layer_gone "$id"
	assert_not_exist "$STORE/keys/$id"
	assert_not_exist "$CLROOT/locks/$id"
	run_cryptlayer list --json
	assert_output "[]"
}

@test "podman cp before the first start: refused (podman's layer is plaintext), nothing left" {
	local t=$BATS_TEST_TMPDIR name id upper
	name=$(safename)
	id=$(pod create --name "$name" --runtime=runc "${RUN_OPTS[@]}" "${ENABLE[@]}" clbase \
		cat /cp-marker)
	upper=$(pod inspect --format '{{.GraphDriver.Data.UpperDir}}' "$name")
	mkdir "$t/d"
	echo "cp-$name" >"$t/d/cp-marker"
	# a created container is not running: podman writes into its own unencrypted layer
	pod cp "$t/d/cp-marker" "$name:/cp-marker"
	assert_file_exist "$upper/cp-marker"
	run pod start "$name"
	assert_failure
	assert_output --partial "precreate"
	run grep -F "container ${id:0:12}: podman's unencrypted container layer '$upper' already holds 'cp-marker' (podman cp before the first start?): refusing, so it is not used as the plaintext lower; copy into the running container instead, or use --rootfs with io.cryptlayer.base" \
		"$CLRUN/cryptlayer.log"
	assert_success
	assert_equal "${#lines[@]}" 1
	assert_nothing_of "$id"
	# every start is refused while the copy is there; a nested copy is named by its path
	mkdir -p "$t/d/sub/deeper"
	echo x >"$t/d/sub/deeper/f"
	pod cp "$t/d/sub" "$name:/"
	run pod start "$name"
	assert_failure
	run grep -c -F "container ${id:0:12}: podman's unencrypted container layer" \
		"$CLRUN/cryptlayer.log"
	assert_output 2
	assert_nothing_of "$id"
	pod rm -f "$name" >/dev/null
}

@test "podman: what podman itself writes (etc/mtab, --user's passwd and group) is accepted; cp into a running container is encrypted" {
	local t=$BATS_TEST_TMPDIR name id upper
	name=$(safename)
	# --user 1234:5678 on an image without those accounts: podman writes etc/passwd and
	# etc/group into its container layer before precreate
	id=$(pod run -d --name "$name" --runtime=runc "${RUN_OPTS[@]}" "${ENABLE[@]}" \
		--user 1234:5678 clbase sleep 600)
	upper=$(pod inspect --format '{{.GraphDriver.Data.UpperDir}}' "$name")
	run_cryptlayer status "$id" --json
	assert_equal "$(jq -r .mounted <<<"$output")" true
	run cat "$upper/etc/passwd" "$upper/etc/group"
	assert_output --partial "1234:*:1234:5678:container user"
	assert_equal "$(readlink "$upper/etc/mtab")" /proc/mounts
	run pod exec "$name" id -u
	assert_output 1234
	# copy into the running container: into the encrypted layer, not podman's
	printf 'PLAIN%s\n' "TEXT-$name-cp" >"$t/cp-marker"
	pod cp "$t/cp-marker" "$name:/cp-marker"
	run pod exec "$name" cat /cp-marker
	assert_output "PLAINTEXT-$name-cp"
	assert_file_exist "$STORE/containers/$id/crypt/upper/cp-marker"
	assert_not_exist "$upper/cp-marker"
	assert_not_in_image "PLAINTEXT-$name-cp"
	# a restart finds podman's layer as it left it: accepted
	pod stop -t 0 "$name" >/dev/null
	assert_layer_gone "$id"
	pod start "$name" >/dev/null
	run_cryptlayer status "$id" --json
	assert_equal "$(jq -r .mounted <<<"$output")" true
	pod rm -f -t 0 "$name" >/dev/null
	assert_nothing_of "$id"
	run grep -F "podman's unencrypted container layer" "$CLRUN/cryptlayer.log"
	refute_output --partial "${id:0:12}"
}

# stacked_overlay DIR LOWER: mount an overlay over LOWER at DIR/merged (teardown unmounts)
stacked_overlay() {
	mkdir -p "$1/upper" "$1/work" "$1/merged"
	mount -t overlay overlay -o "lowerdir=$2,upperdir=$1/upper,workdir=$1/work" "$1/merged"
}

@test "podman: a lower that is an overlay stacked too deep gets one clear error, nothing left" {
	local t=$BATS_TEST_TMPDIR name id stub msg
	msg="is itself an overlay (stacked on another overlay already: the kernel stacks overlays at most 2 deep); use a plain directory as io.cryptlayer.base, or podman storage that is not on an overlay"
	stacked_overlay "$t/ovl1" "$BATS_FILE_TMPDIR/base"
	stacked_overlay "$t/ovl2" "$t/ovl1/merged"

	# --rootfs DIR:O over an overlay: podman's overlay on it is already 2 deep
	name=$(safename)
	run pod run --name "$name" --runtime=runc "${RUN_OPTS[@]}" "${ENABLE[@]}" \
		--rootfs "$t/ovl1/merged:O" true
	assert_failure
	id=$(pod inspect --format '{{.Id}}' "$name")
	pod rm -f "$name" >/dev/null
	run grep -F "container ${id:0:12}: overlay stacking depth exceeded: the lower '" \
		"$CLRUN/cryptlayer.log"
	assert_success
	assert_equal "${#lines[@]}" 1
	assert_output --partial "/overlay-containers/$id/rootfs/merge' $msg: Invalid argument"
	assert_nothing_of "$id"

	# a base that is an overlay over an overlay: the same, naming it
	name=$(safename)
	mkdir "$t/stub"
	run pod run --name "$name" --runtime=runc "${RUN_OPTS[@]}" "${ENABLE[@]}" \
		--annotation "io.cryptlayer.base=$t/ovl2/merged" --rootfs "$t/stub" true
	assert_failure
	id=$(pod inspect --format '{{.Id}}' "$name")
	pod rm -f "$name" >/dev/null
	run grep -F "container ${id:0:12}: overlay stacking depth exceeded: the lower '$t/ovl2/merged' $msg" \
		"$CLRUN/cryptlayer.log"
	assert_success
	assert_nothing_of "$id"

	# one level less works: an overlay as the base
	run pod run --rm --runtime=runc "${RUN_OPTS[@]}" "${ENABLE[@]}" \
		--annotation "io.cryptlayer.base=$t/ovl1/merged" --rootfs "$t/stub" \
		cat /etc/base-file
	assert_success
	assert_output base-file
	assert_no_layer_mounts
	run_cryptlayer list --json
	assert_output "[]"
}

# the overlays stacked_overlay made, top first
teardown() {
	local m
	for m in "$BATS_TEST_TMPDIR/ovl2/merged" "$BATS_TEST_TMPDIR/ovl1/merged"; do
		! mountpoint -q "$m" || umount "$m"
	done
}
