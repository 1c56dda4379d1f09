#!/usr/bin/env bats
# The embedded store (DESIGN §4): an allocated, not sparse, image on filesystems without
# fscrypt; 'store status' shows the allocation; 'store remove' refuses while layers exist.

load helpers

setup() {
	skip_if_not_root
	T=$BATS_TEST_TMPDIR
	mkdir -p "$T/host"
}

teardown() {
	umount -l "$BATS_TEST_TMPDIR/host/root/store" 2>/dev/null || true
	umount -l "$BATS_TEST_TMPDIR/host" 2>/dev/null || true
}

# assert_allocated_store HOSTFS: 'store init' there makes an image allocated to >= 95 %
assert_allocated_store() {
	local c="$CRYPTLAYER --root $T/host/root --run-dir $T/run" size alloc
	run $c store init --size 96M
	assert_success
	size=$(stat -c %s "$T/host/root/store.img")
	alloc=$(($(stat -c %b "$T/host/root/store.img") * $(stat -c %B "$T/host/root/store.img")))
	echo "# $1: $alloc of $size bytes allocated" >&3
	[ "$size" -eq $((96 << 20)) ]
	[ $((alloc * 100)) -ge $((size * 95)) ]
	run $c store status
	assert_line "image       96 MiB, $((alloc >> 20)) MiB allocated on the host"
	run $c store remove
	assert_success
	assert_not_exist "$T/host/root"
}

@test "store init on tmpfs: the image is allocated, not sparse (mke2fs punches holes there)" {
	mount -t tmpfs -o size=200M none "$T/host"
	assert_allocated_store tmpfs
}

@test "store init on ext4 without -O encrypt: the image is allocated, not sparse" {
	truncate -s 300M "$T/hostfs.img"
	mkfs.ext4 -q -F "$T/hostfs.img"
	mount -o loop "$T/hostfs.img" "$T/host"
	assert_allocated_store ext4
}

@test "store init on a host filesystem too small for the image: a clear error, nothing left" {
	mount -t tmpfs -o size=32M none "$T/host"
	run $CRYPTLAYER --root "$T/host/root" --run-dir "$T/run" store init --size 96M
	assert_failure 1
	assert_output --partial "No space left on device"
	assert_equal "${#lines[@]}" 1
	assert_not_exist "$T/host/root/store.img"
	run grep -c "$T/host/root/store" /proc/self/mountinfo
	assert_output 0
}

@test "store remove refuses while a layer exists (record or directory), then removes it all" {
	local c="$CRYPTLAYER --root $T/host/root --run-dir $T/run" m
	mount -t tmpfs -o size=200M none "$T/host"
	make_base "$T/base"
	$c store init --size 64M >/dev/null
	m=$($c create --base "$T/base" --id keep)
	echo data >"$m/data-file"
	run $c store remove
	assert_failure 1
	assert_output --partial "still holds layer 'keep'"
	# the refusal changed nothing
	run cat "$m/data-file"
	assert_output data
	# a layer without a record (another run dir) is found by its directory
	mv "$T/run" "$T/run.away"
	run $c store remove
	assert_failure 1
	assert_output --partial "still holds layer 'keep'"
	mv "$T/run.away" "$T/run"
	$c destroy keep
	run $c store remove
	assert_success
	assert_not_exist "$T/host/root"
	run grep -c "$T/host/root/store" /proc/self/mountinfo
	assert_output 0
	# nothing there: success
	run $c store remove
	assert_success
}

# On a systemd host / is shared and most services run in mount namespaces that are its
# slaves: a mount made later under a shared parent is copied into each of them. A layer
# mounted that way could never be destroyed ("another mount namespace holds ...").
@test "the store mount is private: a layer's overlay is not copied into other mount namespaces" {
	local c="$CRYPTLAYER --root $T/host/root --run-dir $T/run" m pid
	mount -t tmpfs -o size=200M none "$T/host"
	mount --make-shared "$T/host"
	# a namespace whose copy of $T/host is a slave of ours (a systemd service's, say)
	unshare -m --propagation slave sleep 300 &
	pid=$!
	wait_until grep -q " $T/host .* master:" "/proc/$pid/mountinfo"
	make_base "$T/base"
	$c store init --size 64M >/dev/null
	m=$($c create --base "$T/base" --id priv)
	echo data >"$m/f"
	run grep -c " $m " "/proc/$pid/mountinfo"
	assert_output 0
	run $c destroy priv
	kill "$pid"
	assert_success
	run $c store remove
	assert_success
}

@test "a layer held by another mount namespace: destroy refuses and names a process there" {
	local c="$CRYPTLAYER --root $T/host/root --run-dir $T/run" m pid
	mount -t tmpfs -o size=200M none "$T/host"
	make_base "$T/base"
	$c store init --size 64M >/dev/null
	m=$($c create --base "$T/base" --id held)
	# a namespace made while the layer is mounted holds a private copy (plaintext reachable)
	unshare -m --propagation private sleep 300 &
	pid=$!
	wait_until grep -q " $m " "/proc/$pid/mountinfo"
	run $c destroy held
	assert_failure 1
	assert_output --partial "another mount namespace holds '$m' (pid $pid sleep)"
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	run $c destroy held
	assert_success
	run $c store remove
	assert_success
}
