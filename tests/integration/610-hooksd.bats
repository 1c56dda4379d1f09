#!/usr/bin/env bats
# hooks.d descriptors: 'make install' layout (DESIGN §5), CRI-O's createRuntime +
# poststop descriptor run by runc the way CRI-O wires it, and two stages for one
# container (podman's precreate plus a createRuntime descriptor) being harmless.

load helpers

setup_file() {
	setup_store
	make_base "$BATS_FILE_TMPDIR/base"
}

teardown_file() {
	teardown_store
}

@test "make install DESTDIR puts the binary and descriptors where DESIGN §5 says; uninstall removes them" {
	local d=$BATS_TEST_TMPDIR/dest f
	make -C "$TOP" -s install DESTDIR="$d" >/dev/null
	assert_file_executable "$d/usr/local/bin/cryptlayer"
	assert_file_exists "$d/usr/local/lib/cryptlayer/cryptlayer-crypto.so"
	assert_file_exists "$d/usr/local/lib/cryptlayer/cryptlayer-tar.so"
	for f in cryptlayer-precreate.json cryptlayer-poststop.json; do
		assert_file_exists "$d/etc/containers/oci/hooks.d/$f"
		# podman 4.3 reads only this one by default; the same name in /etc overrides it
		cmp "$d/etc/containers/oci/hooks.d/$f" "$d/usr/share/containers/oci/hooks.d/$f"
	done
	for f in cryptlayer-createRuntime.json cryptlayer-poststop.json; do
		assert_file_exists "$d/usr/local/share/cryptlayer/crio-hooks.d/$f"
	done
	# podman's directory holds no CRI-O stage and CRI-O's no precreate (CRI-O rejects it)
	run jq -r '.stages[]' "$d"/etc/containers/oci/hooks.d/*.json
	assert_output $'poststop\nprecreate'
	run jq -r '.stages[]' "$d"/usr/local/share/cryptlayer/crio-hooks.d/*.json
	assert_output $'createRuntime\npoststop'
	# absolute paths and every option in argv: hooks get no environment
	run jq -r '[.version, .hook.path, (.hook.args | join(" "))] | join(" | ")' \
		"$d/etc/containers/oci/hooks.d/cryptlayer-precreate.json"
	assert_output "1.0.0 | /usr/local/bin/cryptlayer | cryptlayer --root /var/lib/cryptlayer --run-dir /run/cryptlayer hook precreate"
	run jq -r '.when.annotations | to_entries[] | "\(.key)=\(.value)"' \
		"$d/etc/containers/oci/hooks.d/cryptlayer-poststop.json"
	# nested=true (DESIGN §6) asks for a layer as enable=true does
	assert_output '^io\.cryptlayer\.(enable|nested)$=^true$'
	run grep -r '@' "$d/etc" "$d/usr/local/share"
	assert_failure

	make -C "$TOP" -s install DESTDIR="$d" PREFIX=/opt/cl CL_ROOT=/srv/cl >/dev/null
	run jq -r '.hook.path, .hook.args[2]' "$d/opt/cl/share/cryptlayer/crio-hooks.d/cryptlayer-poststop.json"
	assert_output $'/opt/cl/bin/cryptlayer\n/srv/cl'
	make -C "$TOP" -s uninstall DESTDIR="$d" PREFIX=/opt/cl >/dev/null
	make -C "$TOP" -s uninstall DESTDIR="$d" >/dev/null
	# installed without DESTDIR elsewhere: the binary finds its plugins in that LIBDIR
	make -C "$TOP" -s install PREFIX="$d/prefix" HOOKSDIR="$d/hooks.d" PODMAN_HOOKSDIR="$d/hooks.d" >/dev/null
	run "$d/prefix/bin/cryptlayer" keygen -o "$d/id"
	assert_success
	assert_file_exists "$d/id.pub"
	rm -f "$d/id" "$d/id.pub"
	make -C "$TOP" -s uninstall PREFIX="$d/prefix" HOOKSDIR="$d/hooks.d" PODMAN_HOOKSDIR="$d/hooks.d" >/dev/null
	make -C "$TOP" -s all >/dev/null # the build tree's binary again looks in the default LIBDIR
	run find "$d" -type f
	assert_output ""
	assert_not_exist "$d/usr/local/share/cryptlayer"
}

# crio_bundle DIR ANNOTATIONS-JSON CMD...: a runc bundle whose hooks are what CRI-O adds
# from the CRI-O descriptors (each descriptor's hook under each of its stages); root.path
# is a private copy of the base, like CRI-O's prepared image rootfs.
crio_bundle() {
	local dir=$1 ann=$2; shift 2
	make_hooks_dir "$BATS_TEST_TMPDIR/crio.d" crio
	make_bundle "$dir" none "" "$@"
	rmdir "$dir/rootfs"
	cp -a "$BATS_FILE_TMPDIR/base" "$dir/rootfs"
	jq -s '[.[] | .hook as $h | .stages[] | {(.): [$h]}] | add' \
		"$BATS_TEST_TMPDIR"/crio.d/*.json >"$BATS_TEST_TMPDIR/hooks.json"
	jq --slurpfile h "$BATS_TEST_TMPDIR/hooks.json" --argjson ann "$ann" \
		'.hooks = $h[0] | .annotations = $ann' "$dir/config.json" >"$dir/c" &&
		mv "$dir/c" "$dir/config.json"
}

@test "CRI-O descriptor with runc: createRuntime sets up, second stages are harmless, poststop erases" {
	local name b key pid
	skip_if_no_runtime runc
	name=$(safename)
	b=$BATS_TEST_TMPDIR/$name
	crio_bundle "$b" '{"io.cryptlayer.enable": "true"}' sh -c \
		'm=PLAIN; echo "${m}TEXT-$0-marker" > /marker; touch /ready; exec sleep 600' "$name"
	run jq -c '.hooks | keys' "$b/config.json"
	assert_output '["createRuntime","poststop"]'
	runc run -d --bundle "$b" "$name" </dev/null >/dev/null 2>&1
	wait_for_file "$STORE/containers/$name/crypt/upper/ready"
	run_cryptlayer status "$name" --json
	key=$(jq -r .key_id <<<"$output")
	assert_equal "$(jq -r .base <<<"$output")" "$b/rootfs"
	assert_not_in_image "PLAINTEXT-$name-marker"
	assert_not_exist "$b/rootfs/marker"

	# the same container's state at another stage, and the same stage again: no-ops
	pid=$(runc state "$name" | jq .pid)
	for stage in prestart createRuntime; do
		jq -n --arg id "$name" --arg b "$b" --argjson pid "$pid" \
			'{ociVersion: "1.0.2", id: $id, status: "created", pid: $pid, bundle: $b}' |
			run_cryptlayer hook "$stage"
	done
	run_cryptlayer status "$name" --json
	assert_equal "$(jq -r .key_id <<<"$output")" "$key"
	# exactly one overlay (ours) on the container's /
	run awk '$5 == "/" && $0 ~ / - overlay /' "/proc/$pid/mountinfo"
	assert_equal "${#lines[@]}" 1

	runc kill "$name" KILL
	for _ in $(seq 1 50); do runc state "$name" | grep -q '"stopped"' && break; sleep 0.1; done
	runc delete "$name"
	run "$PROBE" key-status "$key" "$STORE"
	assert_output absent
	assert_not_exist "$STORE/containers/$name"
	# a second poststop (podman runs its own too) finds nothing and succeeds
	jq -n --arg id "$name" --arg b "$b" '{ociVersion: "1.0.2", id: $id, status: "stopped", bundle: $b}' |
		run_cryptlayer hook poststop
	assert_no_layer_mounts
	assert_not_in_image "PLAINTEXT-$name-marker"
}

@test "CRI-O descriptor: a container without io.cryptlayer.* runs untouched" {
	local name b
	skip_if_no_runtime runc
	name=$(safename)
	b=$BATS_TEST_TMPDIR/$name
	crio_bundle "$b" '{}' sh -c 'echo plain > /written'
	runc run --bundle "$b" "$name" </dev/null >/dev/null 2>&1
	assert_file_exists "$b/rootfs/written"
	run ls "$STORE/containers"
	assert_output ""
	run_cryptlayer list --json
	assert_output "[]"
}

@test "podman with both podman and CRI-O descriptors: precreate + createRuntime is harmless" {
	command -v podman >/dev/null || skip "podman is not installed"
	local t=$BATS_TEST_TMPDIR id
	make_hooks_dir "$t/hooks.d"
	make_hooks_dir "$t/hooks.d" crio
	cp "$t/hooks.d/cryptlayer-createRuntime.json" "$t/hooks.d/zz-createRuntime.json"
	P=(podman --root "$t/podroot" --runroot "$t/podrun" --tmpdir "$t/podtmp"
		--cgroup-manager=cgroupfs --events-backend=file --hooks-dir "$t/hooks.d")
	tar -C "$BATS_FILE_TMPDIR/base" -c . | "${P[@]}" import - clbase >/dev/null
	run "${P[@]}" run --rm --runtime=runc --network=none --ulimit nofile=20000:20000 \
		--ulimit nproc=4096:4096 --annotation io.cryptlayer.enable=true clbase sh -c \
		'echo x > /f && grep " / " /proc/mounts'
	assert_success
	assert_output --partial "lowerdir=/proc/self/fd"
	run ls "$STORE/containers"
	assert_output ""
	assert_no_layer_mounts
	run_cryptlayer list --json
	assert_output "[]"
	"${P[@]}" rmi -af >/dev/null 2>&1 || true
	umount "$t/podroot/overlay" 2>/dev/null || true
}
