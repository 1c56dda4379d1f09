#!/usr/bin/env bats
# Bulk encryption (issue 5, DESIGN §7): keygen, encrypt, decrypt, the .clx format's
# damage handling, and OCI layer pack/unpack through the tar plugin (tests/tools/cltar).

load helpers

CLTAR=${CLTAR:-$TOP/build/tests/cltar}
MIB=1048576
CL=$CRYPTLAYER # the bulk commands need no store: run_cryptlayer without --root

setup_file() {
	export W=$BATS_FILE_TMPDIR
	"$CRYPTLAYER" keygen -o "$W/id"
	"$CRYPTLAYER" keygen -o "$W/other"
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out "$W/rsa" 2>/dev/null
	openssl pkey -in "$W/rsa" -pubout -out "$W/rsa.pub"
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$W/rsa2k" 2>/dev/null
	openssl pkey -in "$W/rsa2k" -pubout -out "$W/rsa2k.pub"
	# 3.5 MiB: three full chunks and a partial final one
	head -c $((7 * MIB / 2)) /dev/urandom >"$W/p"
	"$CRYPTLAYER" encrypt -r "$W/id.pub" <"$W/p" >"$W/p.clx"
}

# decrypt_file FILE [pipe]: decrypt FILE (as '< FILE' or through a pipe) into $W/out;
# $output holds stderr only
decrypt_file() {
	if [ "${2:-}" = pipe ]; then
		run bash -c "cat '$1' | '$CRYPTLAYER' decrypt -i '$W/id' >'$W/out'"
	else
		run bash -c "'$CRYPTLAYER' decrypt -i '$W/id' <'$1' >'$W/out'"
	fi
}

# the failure contract: exit 1 and exactly one "cryptlayer: decrypt: ..." line
assert_one_decrypt_error() {
	assert_equal "$status" 1
	assert_equal "${#lines[@]}" 1
	assert_line --index 0 --regexp '^cryptlayer: decrypt: .+: .+$'
}

# whatever decrypt wrote before failing is a prefix of the plaintext (verified chunks only)
assert_out_is_prefix_of() {
	local n
	n=$(stat -c %s "$W/out")
	cmp -s -n "$n" "$W/out" "$1" || fail "decrypt released unverified data ($n bytes)"
}

# header length L of a .clx file (bytes 12..15, little-endian)
hdr_len() {
	od -An -tu4 -j12 -N4 "$1" | tr -d ' '
}

# flip BYTE at OFFSET of a copy of $W/p.clx into $W/t.clx
flip_at() {
	cp "$W/p.clx" "$W/t.clx"
	printf "$(printf '\\%03o' "$2")" | dd of="$W/t.clx" bs=1 seek="$1" conv=notrunc status=none
}

@test "keygen writes a 0600 identity and a 0644 recipient, never overwrites" {
	run_cryptlayer keygen -o "$BATS_TEST_TMPDIR/k"
	assert_output ""
	run stat -c %a "$BATS_TEST_TMPDIR/k" "$BATS_TEST_TMPDIR/k.pub"
	assert_output $'600\n644'
	run head -1 "$BATS_TEST_TMPDIR/k"
	assert_output "-----BEGIN PRIVATE KEY-----"
	run head -1 "$BATS_TEST_TMPDIR/k.pub"
	assert_output "-----BEGIN PUBLIC KEY-----"
	sum=$(md5sum <"$BATS_TEST_TMPDIR/k")
	run_cryptlayer 1 keygen -o "$BATS_TEST_TMPDIR/k"
	assert_output --regexp "^cryptlayer: keygen: create '.*/k': File exists$"
	assert_equal "$(md5sum <"$BATS_TEST_TMPDIR/k")" "$sum"
	# the public file existing alone is refused too, and no identity is left behind
	touch "$BATS_TEST_TMPDIR/j.pub"
	run_cryptlayer 1 keygen -o "$BATS_TEST_TMPDIR/j"
	assert_file_not_exist "$BATS_TEST_TMPDIR/j"
}

@test "usage errors exit 2 with one line and a hint; --help exits 0" {
	run_cryptlayer 2 keygen
	assert_line --index 1 "Try 'cryptlayer keygen --help'."
	run_cryptlayer 2 encrypt
	assert_line --index 0 "cryptlayer encrypt: at least one -r PUB is required"
	assert_line --index 1 "Try 'cryptlayer encrypt --help'."
	run_cryptlayer 2 encrypt -r "$W/id.pub" --jobs 0
	assert_line --index 0 --partial "--jobs must be 1..64"
	run_cryptlayer 2 encrypt -r "$W/id.pub" --compress lz4
	run_cryptlayer 2 decrypt -i "$W/id" extra
	assert_line --index 0 "cryptlayer decrypt: unexpected argument 'extra'"
	run_cryptlayer 2 decrypt --bogus
	assert_equal "${#lines[@]}" 2
	run_cryptlayer 2 decrypt -i
	assert_line --index 0 "cryptlayer decrypt: option '-i' requires an argument"
	run_cryptlayer decrypt --help
	assert_line --index 0 "Usage:"
	assert_output --partial "only chunks whose authentication tag verified are"
	assert_output --partial "exits 1 after having written"
	run_cryptlayer encrypt --help
	assert_output --partial "--compress MODE"
	run_cryptlayer keygen --help
	assert_output --partial "-o, --output KEY"
}

@test "round trip: empty, 1 byte, chunk-size edges, from a file and from a pipe" {
	local n
	for n in 0 1 $((MIB - 1)) $MIB $((MIB + 1)) $((2 * MIB)) $((3 * MIB + 12345)); do
		head -c "$n" /dev/urandom >"$BATS_TEST_TMPDIR/in"
		"$CRYPTLAYER" encrypt -r "$W/id.pub" <"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/f.clx"
		cat "$BATS_TEST_TMPDIR/in" | "$CRYPTLAYER" encrypt -r "$W/id.pub" >"$BATS_TEST_TMPDIR/p.clx"
		# same layout either way: 2 header copies (196 B) + 20 B per chunk, at least one
		chunks=$(((n + MIB - 1) / MIB)); [ "$chunks" -gt 0 ] || chunks=1
		assert_equal "$(stat -c %s "$BATS_TEST_TMPDIR/f.clx")" $((n + 392 + 20 * chunks))
		assert_equal "$(stat -c %s "$BATS_TEST_TMPDIR/p.clx")" $((n + 392 + 20 * chunks))
		"$CRYPTLAYER" decrypt -i "$W/id" <"$BATS_TEST_TMPDIR/f.clx" | cmp - "$BATS_TEST_TMPDIR/in"
		cat "$BATS_TEST_TMPDIR/p.clx" | "$CRYPTLAYER" decrypt -i "$W/id" | cmp - "$BATS_TEST_TMPDIR/in"
	done
}

@test "--jobs 1 and 3 and --compress zstd round-trip" {
	"$CRYPTLAYER" encrypt -j 1 -r "$W/id.pub" <"$W/p" | "$CRYPTLAYER" decrypt -j 3 -i "$W/id" | cmp - "$W/p"
	"$CRYPTLAYER" encrypt -j 3 -r "$W/id.pub" <"$W/p" | "$CRYPTLAYER" decrypt -j 1 -i "$W/id" | cmp - "$W/p"
	head -c $((5 * MIB)) /dev/zero >"$BATS_TEST_TMPDIR/z"
	"$CRYPTLAYER" encrypt -r "$W/id.pub" --compress zstd <"$BATS_TEST_TMPDIR/z" >"$BATS_TEST_TMPDIR/z.clx"
	[ "$(stat -c %s "$BATS_TEST_TMPDIR/z.clx")" -lt 10000 ]
	"$CRYPTLAYER" decrypt -i "$W/id" <"$BATS_TEST_TMPDIR/z.clx" | cmp - "$BATS_TEST_TMPDIR/z"
	"$CRYPTLAYER" encrypt -r "$W/id.pub" --compress zstd <"$W/p" | "$CRYPTLAYER" decrypt -i "$W/id" | cmp - "$W/p"
}

@test "several recipients (X25519 and RSA-3072): each identity alone decrypts" {
	"$CRYPTLAYER" encrypt -r "$W/other.pub" -r "$W/rsa.pub" -r "$W/id.pub" <"$W/p" >"$BATS_TEST_TMPDIR/m.clx"
	for k in id other rsa; do
		"$CRYPTLAYER" decrypt -i "$W/$k" <"$BATS_TEST_TMPDIR/m.clx" | cmp - "$W/p"
	done
	# several identities: the one that matches is used
	"$CRYPTLAYER" encrypt -r "$W/rsa.pub" <"$W/p" | "$CRYPTLAYER" decrypt -i "$W/other" -i "$W/rsa" | cmp - "$W/p"
}

@test "RSA below 3072 bits, a private key as recipient, and a missing file are refused" {
	run_cryptlayer 1 encrypt -r "$W/rsa2k.pub" </dev/null
	assert_output "cryptlayer: encrypt: '$W/rsa2k.pub': RSA key of 2048 bits is too small (need >= 3072): Invalid argument"
	run_cryptlayer 1 encrypt -r "$W/id" </dev/null
	assert_output --regexp "^cryptlayer: encrypt: '$W/id': not a PEM public key"
	run_cryptlayer 1 encrypt -r "$W/nonexistent" </dev/null
	assert_output "cryptlayer: encrypt: open recipient '$W/nonexistent': No such file or directory"
	run_cryptlayer 1 decrypt -i "$W/rsa2k" <"$W/p.clx"
	assert_output --partial "too small"
}

@test "wrong identity, no matching recipient: one clear error, no output" {
	run bash -c "'$CRYPTLAYER' decrypt -i '$W/other' <'$W/p.clx' >'$W/out'"
	assert_one_decrypt_error
	assert_output "cryptlayer: decrypt: not encrypted to identity '$W/other': Required key not available"
	assert_equal "$(stat -c %s "$W/out")" 0
	run bash -c "'$CRYPTLAYER' decrypt -i '$W/rsa' <'$W/p.clx' >'$W/out'"
	assert_one_decrypt_error
	assert_output --partial "not encrypted to identity"
	# key material never shows up in messages
	for f in id other rsa; do
		refute_output --partial "$(sed -n 2p "$W/$f")"
	done
}

@test "not a clx stream, empty input, unsupported version" {
	decrypt_file "$W/p"
	assert_one_decrypt_error
	assert_output --partial "bad magic"
	decrypt_file /dev/null
	assert_one_decrypt_error
	# version 2 in both copies, checksums recomputed (what a newer writer would make)
	python3 - "$W/p.clx" "$BATS_TEST_TMPDIR/v2.clx" <<-'PY' || skip "python3 is needed to craft the header"
	import hashlib, struct, sys
	b = bytearray(open(sys.argv[1], 'rb').read()); L = struct.unpack('<I', b[12:16])[0]
	for o in (0, len(b) - L):
	    b[o + 8] = 2
	    b[o + L - 44:o + L - 12] = hashlib.sha256(bytes(b[o:o + L - 44])).digest()
	open(sys.argv[2], 'wb').write(b)
	PY
	decrypt_file "$BATS_TEST_TMPDIR/v2.clx"
	assert_one_decrypt_error
	assert_output "cryptlayer: decrypt: unsupported format version 2 (this is 1): Protocol not supported"
}

@test "tampering: 120 random byte flips fail cleanly or, in a header copy, recover exactly" {
	local size L pos i x orig region fails=0 recovers=0
	size=$(stat -c %s "$W/p.clx")
	L=$(hdr_len "$W/p.clx")
	cp "$W/p.clx" "$W/t.clx"
	for i in $(seq 120); do
		case $((i % 6)) in
		0) pos=$((RANDOM % L)) ;;                       # front header copy
		1) pos=$((size - L + RANDOM % L)) ;;            # trailer copy
		*) pos=$((L + (RANDOM * 32768 + RANDOM) % (size - 2 * L))) ;; # records
		esac
		x=$((RANDOM % 255 + 1))
		orig=$(od -An -tu1 -j"$pos" -N1 "$W/t.clx" | tr -d ' ')
		printf "$(printf '\\%03o' $((orig ^ x)))" | dd of="$W/t.clx" bs=1 seek="$pos" conv=notrunc status=none
		for how in file pipe; do
			decrypt_file "$W/t.clx" $how
			if [ "$status" -eq 0 ]; then
				# only a header copy may be damaged, and then the data is exact
				[ "$pos" -lt "$L" ] || [ "$pos" -ge $((size - L)) ] ||
					fail "flip at $pos ($how) accepted"
				cmp -s "$W/out" "$W/p" || fail "flip at $pos ($how): wrong data with exit 0"
				assert_output --regexp '^cryptlayer: decrypt: warning: (front|trailer) header copy damaged'
				recovers=$((recovers + 1))
			else
				assert_one_decrypt_error
				assert_out_is_prefix_of "$W/p"
				[ "$pos" -ge "$L" ] || [ "$how" = pipe ] || fail "front flip at $pos not recovered"
				fails=$((fails + 1))
			fi
		done
		printf "$(printf '\\%03o' "$orig")" | dd of="$W/t.clx" bs=1 seek="$pos" conv=notrunc status=none
	done
	cmp "$W/t.clx" "$W/p.clx"
	echo "# $fails failed cleanly, $recovers recovered from the other header copy" >&3
	[ "$recovers" -gt 0 ] && [ "$fails" -gt 0 ]
}

@test "truncation at random offsets fails with one line and releases only verified data" {
	local size off
	size=$(stat -c %s "$W/p.clx")
	L=$(hdr_len "$W/p.clx")
	for off in 0 1 $((L - 1)) $L $((L + 4)) $((L + MIB)) $((size - L)) $((size - L - 1)) \
		$((size - 1)) $(for i in $(seq 25); do echo $(((RANDOM * 32768 + RANDOM) % size)); done); do
		head -c "$off" "$W/p.clx" >"$W/t.clx"
		for how in file pipe; do
			decrypt_file "$W/t.clx" $how
			assert_one_decrypt_error
			assert_out_is_prefix_of "$W/p"
		done
	done
	decrypt_file "$W/t.clx"
	assert_output --regexp 'truncated'
}

@test "reordered chunks, appended garbage, an appended stream: detected" {
	local L rec
	L=$(hdr_len "$W/p.clx")
	rec=$((4 + MIB + 16))
	# swap records 1 and 2
	{ head -c $((L + rec)) "$W/p.clx"
	  tail -c +$((L + 2 * rec + 1)) "$W/p.clx" | head -c $rec
	  tail -c +$((L + rec + 1)) "$W/p.clx" | head -c $rec
	  tail -c +$((L + 3 * rec + 1)) "$W/p.clx"; } >"$W/t.clx"
	assert_equal "$(stat -c %s "$W/t.clx")" "$(stat -c %s "$W/p.clx")"
	decrypt_file "$W/t.clx"
	assert_one_decrypt_error
	assert_output --partial "chunk 1: authentication failed"
	assert_equal "$(stat -c %s "$W/out")" $MIB
	assert_out_is_prefix_of "$W/p"
	for extra in garbage stream; do
		cp "$W/p.clx" "$W/t.clx"
		if [ $extra = garbage ]; then echo junk >>"$W/t.clx"; else cat "$W/p.clx" >>"$W/t.clx"; fi
		for how in file pipe; do
			decrypt_file "$W/t.clx" $how
			assert_one_decrypt_error
			assert_output "cryptlayer: decrypt: unexpected data after the trailer: Bad message"
		done
	done
}

@test "either header copy alone decrypts a regular file; a pipe needs the front copy" {
	local L size
	L=$(hdr_len "$W/p.clx")
	size=$(stat -c %s "$W/p.clx")
	cp "$W/p.clx" "$W/t.clx"
	head -c "$L" /dev/urandom | dd of="$W/t.clx" conv=notrunc status=none
	decrypt_file "$W/t.clx"
	assert_success
	assert_output "cryptlayer: decrypt: warning: front header copy damaged, used the trailer copy"
	cmp "$W/out" "$W/p"
	decrypt_file "$W/t.clx" pipe
	assert_one_decrypt_error
	assert_output --partial "only a regular file input can fall back to the trailer copy"
	cp "$W/p.clx" "$W/t.clx"
	head -c "$L" /dev/zero | dd of="$W/t.clx" seek=$((size - L)) bs=1 conv=notrunc status=none
	for how in file pipe; do
		decrypt_file "$W/t.clx" $how
		assert_success
		assert_output "cryptlayer: decrypt: warning: trailer header copy damaged, used the front copy"
		cmp "$W/out" "$W/p"
	done
	head -c "$L" /dev/zero | dd of="$W/t.clx" conv=notrunc status=none
	decrypt_file "$W/t.clx"
	assert_one_decrypt_error
	assert_output --regexp "front header copy: .*; trailer copy: .*"
}

# make_upper DIR: an overlay upper as a container would leave it: a real tree plus
# whiteouts, an opaque dir, hardlinks, xattrs, sparse/empty files, odd names, devices
make_upper() {
	local d=$1
	mkdir -p "$d"
	cp -a /usr/share/doc "$d/doc"
	mkdir -p "$d/etc/deleted-parent" "$d/opq/sub"
	echo data >"$d/opq/sub/file"
	mknod -m 000 "$d/etc/removed" c 0 0
	mknod -m 000 "$d/etc/deleted-parent/gone" c 0 0
	add_odd_files "$d"
	truncate -s 3M "$d/allhole"
	echo cap >"$d/capbin"
	chmod 4755 "$d/capbin"
	mknod "$d/etc/loop" b 7 0
	python3 - "$d" <<-'PY'
	import os, sys
	d = sys.argv[1]
	os.setxattr(d + '/opq', 'trusted.overlay.opaque', b'y')
	os.setxattr(d + '/capbin', 'security.capability',
	            bytes.fromhex('0100000200200000000000000000000000000000'))
	os.setxattr(d + '/hl1', 'user.note', b'v1')
	os.setxattr(d + '/etc', 'trusted.other', b'keep')
	PY
}

# compare two trees with rsync (an independent implementation); the root's own
# attributes are not part of a layer tar
assert_same_tree() {
	run bash -c "rsync -aHAXn --checksum --itemize-changes '$1/' '$2/' | grep -v '^\.d\.\.t\.\.\.\.\.\. \./\$'"
	assert_output ""
}

@test "an overlay upper round-trips through pack, encrypt, decrypt and unpack" {
	command -v python3 >/dev/null || skip "python3 is needed to set xattrs (no attr package)"
	command -v rsync >/dev/null || skip "rsync is needed to compare the trees"
	skip_if_not_root
	local t=$BATS_TEST_TMPDIR
	make_upper "$t/src"
	"$CLTAR" pack "$t/src" -r "$W/id.pub" --compress zstd >"$t/layer.clx"
	# the payload is an OCI layer tar: GNU tar reads it, whiteouts and the opaque marker
	"$CRYPTLAYER" decrypt -i "$W/id" <"$t/layer.clx" >"$t/layer.tar"
	run tar -tf "$t/layer.tar"
	assert_line "etc/.wh.removed"
	assert_line "etc/deleted-parent/.wh.gone"
	assert_line "opq/.wh..wh..opq"
	refute_line "etc/removed"
	run bash -c "tar --xattrs -tvf '$t/layer.tar' 2>/dev/null | grep -c 'hl2 link to'"
	assert_output 1
	mkdir "$t/dst"
	cat "$t/layer.clx" | "$CLTAR" unpack "$t/dst" -i "$W/id"
	assert_same_tree "$t/src" "$t/dst"
	run stat -c '%F %t:%T' "$t/dst/etc/removed"
	assert_output "character special file 0:0"
	[ "$(stat -c %i "$t/dst/hl1")" = "$(stat -c %i "$t/dst/etc/hl3")" ]
	[ "$(du -k "$t/dst/sparse" | cut -f1)" -lt 100 ]
	# without encryption too, and GNU tar extracts the same content
	"$CLTAR" pack "$t/src" | "$CLTAR" unpack "$(mkdir "$t/plain" && echo "$t/plain")"
	assert_same_tree "$t/src" "$t/plain"
	# the workers only describe entries: the layer is the same bytes whatever their number
	"$CLTAR" pack "$t/src" --jobs 1 >"$t/j1.tar"
	"$CLTAR" pack "$t/src" --jobs 5 >"$t/j5.tar"
	cmp "$t/j1.tar" "$t/j5.tar"
}

@test "pack stops cleanly at a mount inside the tree or a bad name deep in a large one" {
	skip_if_not_root
	local t=$BATS_TEST_TMPDIR
	mkdir -p "$t/src/a" "$t/src/z/mnt"
	cp -a /usr/share/doc "$t/src/a/doc"
	mount -t tmpfs none "$t/src/z/mnt"
	touch "$t/src/z/mnt/inside"
	run bash -c "'$CLTAR' pack '$t/src' --jobs 3 -r '$W/id.pub' >/dev/null"
	umount "$t/src/z/mnt"
	assert_failure
	assert_line --partial "'z/mnt' is a mount point inside the layer"
	# a name tar cannot carry, found by a worker hundreds of batches in
	touch "$t/src/z/.wh.late"
	run bash -c "'$CLTAR' pack '$t/src' --jobs 3 >/dev/null"
	assert_failure
	assert_line --partial "'z/.wh.late': names starting with '.wh.' cannot be stored"
}

@test "pack of a wide tree stays within a small fd limit, same bytes whatever the workers" {
	local t=$BATS_TEST_TMPDIR
	for i in $(seq 1 1500); do mkdir -p "$t/src/d$i/e" && echo "$i" >"$t/src/d$i/e/f"; done
	"$CLTAR" pack "$t/src" --jobs 1 >"$t/j1.tar"
	# every directory with entries in flight is open: 8 workers' batches would need
	# hundreds of fds; the walker writes batches out first past half the limit
	run bash -c "ulimit -n 40 && '$CLTAR' pack '$t/src' --jobs 8 >'$t/j8.tar'"
	assert_success
	cmp "$t/j1.tar" "$t/j8.tar"
	[ "$(tar tf "$t/j8.tar" | wc -l)" -eq 4500 ]
}

@test "pack drops overlay bookkeeping xattrs and refuses unrepresentable names" {
	command -v python3 >/dev/null || skip "python3 is needed to set xattrs (no attr package)"
	local t=$BATS_TEST_TMPDIR
	mkdir -p "$t/src/d" "$t/dst"
	python3 -c "import os; os.setxattr('$t/src/d', 'trusted.overlay.origin', b'junk'); os.setxattr('$t/src/d', 'trusted.overlay.redirect', b'/x')"
	"$CLTAR" pack "$t/src" | "$CLTAR" unpack "$t/dst"
	run python3 -c "import os; print(os.listxattr('$t/dst/d'))"
	assert_output "[]"
	touch "$t/src/.wh.sneaky"
	run "$CLTAR" pack "$t/src"
	assert_failure
	assert_output --partial "'.wh.sneaky': names starting with '.wh.' cannot be stored in an OCI layer"
}

@test "unpack refuses absolute paths, '..', writing through symlinks and bad whiteouts" {
	command -v python3 >/dev/null || skip "python3 is needed to craft hostile tars"
	local t=$BATS_TEST_TMPDIR name
	mkdir -p "$t/outside"
	PYTHONPATH="$TOP/tests/tools" python3 - "$t" <<-'PY'
	import sys, tarfile
	from mktar import tar_writer
	t = sys.argv[1]
	mk = tar_writer(t)
	mk('dotdot', [{'name': '../evil', 'data': b'x'}])
	mk('deep-dotdot', [{'name': 'a/../../evil', 'data': b'x'}])
	mk('absolute', [{'name': t + '/outside/abs', 'data': b'x'}])
	mk('symlink', [{'name': 'esc', 'type': tarfile.SYMTYPE, 'linkname': t + '/outside'},
	               {'name': 'esc/pwned', 'data': b'x'}])
	mk('hardlink', [{'name': 'hl', 'type': tarfile.LNKTYPE, 'linkname': '../outside/x'}])
	mk('whiteout', [{'name': 'd/.wh..', 'data': b''}])
	mk('relsym', [{'name': 'up', 'type': tarfile.SYMTYPE, 'linkname': '..'},
	              {'name': 'up/outside/pwned', 'data': b'x'}])
	PY
	for name in dotdot deep-dotdot absolute symlink hardlink whiteout relsym; do
		rm -rf "$t/dst" && mkdir "$t/dst"
		run "$CLTAR" unpack "$t/dst" <"$t/$name.tar"
		assert_failure
		assert_output --regexp "^cltar: .*(refused|symlink|bad whiteout)"
	done
	run ls -A "$t/outside"
	assert_output ""
	assert_file_not_exist "$t/evil"
}

@test "a 4 GiB stream runs in bounded memory (max RSS <= 64 MiB each way)" {
	[ -x /usr/bin/time ] || skip "GNU time (/usr/bin/time) is needed to read the max RSS"
	local t=$BATS_TEST_TMPDIR
	run bash -c "head -c 4G /dev/zero \
		| /usr/bin/time -f %M -o '$t/enc.rss' '$CRYPTLAYER' encrypt -r '$W/id.pub' \
		| /usr/bin/time -f %M -o '$t/dec.rss' '$CRYPTLAYER' decrypt -i '$W/id' | wc -c"
	assert_success
	assert_output 4294967296
	echo "# max RSS: encrypt $(cat "$t/enc.rss") KiB, decrypt $(cat "$t/dec.rss") KiB" >&3
	[ "$(cat "$t/enc.rss")" -le 65536 ]
	[ "$(cat "$t/dec.rss")" -le 65536 ]
}

@test "without the plugins: clear errors; with the crypto plugin only, plain streams work and zstd fails clearly" {
	[ ! -e /usr/local/lib/cryptlayer/cryptlayer-tar.so ] &&
		[ ! -e /usr/local/lib/cryptlayer/cryptlayer-crypto.so ] ||
		skip "an installed plugin in /usr/local/lib/cryptlayer would be found"
	local t=$BATS_TEST_TMPDIR
	mkdir "$t/bin"
	cp "$CRYPTLAYER" "$t/bin/cryptlayer"
	# the binary alone: the OpenSSL commands say what is missing
	run bash -c "'$t/bin/cryptlayer' encrypt -r '$W/id.pub' <'$W/p' >/dev/null"
	assert_failure 1
	assert_output --regexp "^cryptlayer: encrypt: plugin cryptlayer-crypto.so not found .*make install"
	cp "$(dirname "$CRYPTLAYER")/cryptlayer-crypto.so" "$t/bin/"
	"$t/bin/cryptlayer" encrypt -r "$W/id.pub" <"$W/p" | "$t/bin/cryptlayer" decrypt -i "$W/id" | cmp - "$W/p"
	run bash -c "'$t/bin/cryptlayer' encrypt -r '$W/id.pub' --compress zstd <'$W/p' >/dev/null"
	assert_failure 1
	assert_output --regexp "^cryptlayer: encrypt: --compress zstd: tar/zstd support: plugin cryptlayer-tar.so not found .*: No such file or directory$"
	"$CRYPTLAYER" encrypt -r "$W/id.pub" --compress zstd <"$W/p" >"$t/z.clx"
	run bash -c "'$t/bin/cryptlayer' decrypt -i '$W/id' <'$t/z.clx' >/dev/null"
	assert_failure 1
	assert_output --partial "zstd-compressed payload: tar/zstd support: plugin cryptlayer-tar.so not found"
}

@test "progress meter only on a terminal, silenced by --quiet" {
	command -v script >/dev/null || skip "script(1) is needed for a pseudo-terminal"
	local t=$BATS_TEST_TMPDIR
	head -c $((64 * MIB)) /dev/zero >"$t/z"
	run script -qec "(cat '$t/z'; sleep 0.3; cat '$t/z') | '$CRYPTLAYER' encrypt -j 1 -r '$W/id.pub' >/dev/null" /dev/null
	assert_success
	assert_output --regexp "encrypt: [0-9.]+ [KMG]i?B, [0-9.]+ [KMG]i?B/s"
	run script -qec "(cat '$t/z'; sleep 0.3; cat '$t/z') | '$CRYPTLAYER' encrypt -q -r '$W/id.pub' >/dev/null" /dev/null
	assert_output ""
	run bash -c "'$CRYPTLAYER' encrypt -r '$W/id.pub' <'$t/z' 2>&1 >/dev/null"
	assert_output ""
}
