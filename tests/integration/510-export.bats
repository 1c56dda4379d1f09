#!/usr/bin/env bats
# cryptlayer export / import (issue 5, DESIGN §5, §7): a real layer through the store,
# exported, imported into a second store under a new key, compared with rsync; damaged,
# forged or hostile input and full disks leave nothing behind.

load helpers

setup_file() {
	CL_STORE_SIZE=256M setup_store
	export W=$BATS_FILE_TMPDIR
	make_base "$W/base"
	"$CRYPTLAYER" keygen -o "$W/id"
	"$CRYPTLAYER" keygen -o "$W/other"
	# the second machine: its own store and run dir
	export CLROOT2=$W/root2 CLRUN2=$W/run2
	export CL2="$CRYPTLAYER --root $CLROOT2 --run-dir $CLRUN2"
	$CL2 store init --size 96M >/dev/null
	export STORE2=$CLROOT2/store
	# craft_tree's layer holds a device node and a setuid file with a capability, which
	# import refuses unless allowed (520-import-safety)
	export ALLOW="--allow-devices --allow-setid"
}

teardown_file() {
	local id
	if [ -n "${CL2:-}" ]; then
		for id in $($CL2 list --json 2>/dev/null | sed -n 's/^ *"id":"\(.*\)",$/\1/p'); do
			$CL2 destroy "$id" || true
		done
		umount "$STORE2" 2>/dev/null || true
	fi
	umount "$W/full" 2>/dev/null || true
	teardown_store
}

# craft MERGED: what a container leaves in its layer, written through the overlay
craft_tree() {
	local m=$1
	mkdir -p "$m/usr/share/doc"
	cp -a /usr/share/doc/[a-c]* "$m/usr/share/doc/"
	cp -a /usr/share/zoneinfo "$m/usr/share/zoneinfo"
	rm "$m/etc/base-file"                            # a whiteout
	rm -rf "$m/data" && mkdir -p "$m/data/new"       # an opaque directory
	echo fresh >"$m/data/new/file"
	add_odd_files "$m"
	cp "$m/bin/busybox" "$m/capbin"
	chmod 4755 "$m/capbin"
	setcap cap_net_raw+ep "$m/capbin"
	setfattr -n user.note -v v1 "$m/hl1"
	setfattr -n trusted.other -v keep "$m/etc"
}

# rsync -aHAX (an independent implementation) finds no difference; the roots' own
# times and xattrs are not part of a layer
assert_same_tree() {
	run bash -c "rsync -aHAXn --checksum --itemize-changes $3 '$1/' '$2/' \
		| grep -v '^\.d\.\.[.t]\.\.\.\.\.[.x] \./\$'"
	assert_output ""
}

# nothing of layer ID is left in the second store: directory, record, mount
assert_no_layer2() {
	assert_file_not_exist "$STORE2/containers/$1"
	assert_file_not_exist "$CLRUN2/$1.json"
	run grep -c "$STORE2/containers/$1" /proc/self/mountinfo
	assert_output 0
}

# import_watched BEFORE AFTER ID: import from a FIFO; the commands BEFORE feed it first,
# then (the layer being made, the import waiting for more) the key id of the new layer
# is recorded in KID, then AFTER feeds the rest. Leaves import's exit status in $status
# and its stderr in $output.
import_watched() {
	local fifo=$BATS_TEST_TMPDIR/fifo pid
	rm -f "$fifo" && mkfifo "$fifo"
	$CL2 import - -i "$W/id" --base "$W/base" --id "$3" $ALLOW <"$fifo" \
		>"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
	pid=$!
	exec 7>"$fifo" # (bats owns fd 3)
	eval "$1" >&7
	wait_for_file "$STORE2/containers/$3/crypt/upper"
	KID=$("$PROBE" policy "$STORE2/containers/$3/crypt" | cut -d' ' -f2)
	[ -n "$KID" ] || fail "no key id for the layer being made"
	# the import may stop reading at the damage: the rest of the feed gets SIGPIPE
	{ eval "$2"; } >&7 2>/dev/null || true
	exec 7>&-
	status=0
	wait "$pid" || status=$?
	output=$(cat "$BATS_TEST_TMPDIR/err")
}

@test "export, import into a second store: same merged view and upper, new key" {
	skip_if_not_root
	local m m2 kid1 kid2
	m=$($CL create --base "$W/base" --id src)
	craft_tree "$m"
	run_cryptlayer export src -o "$W/src.clx" -r "$W/id.pub" -r "$W/other.pub" --quiet
	assert_output ""
	assert_file_exist "$W/src.clx"
	run ls -A "$W"
	refute_output --partial ".tmp"
	run $CL2 import "$W/src.clx" -i "$W/id" --base "$W/base" --id dst $ALLOW
	assert_success
	m2=$output
	assert_equal "$m2" "$STORE2/containers/dst/merged"
	assert_same_tree "$m" "$m2"
	# the uppers too (whiteouts, opaque marker), minus the overlay's own bookkeeping
	assert_same_tree "$STORE/containers/src/crypt/upper" "$STORE2/containers/dst/crypt/upper" \
		"--filter='-x trusted.overlay.origin' --filter='-x trusted.overlay.impure'"
	run stat -c '%F %t:%T' "$STORE2/containers/dst/crypt/upper/etc/base-file"
	assert_output "character special file 0:0"
	run getfattr --absolute-names --only-values -n trusted.overlay.opaque "$STORE2/containers/dst/crypt/upper/data"
	assert_output "y"
	run getcap "$m2/capbin"
	assert_output --partial "cap_net_raw=ep"
	[ "$(stat -c %i "$m2/hl1")" = "$(stat -c %i "$m2/etc/hl3")" ]
	[ "$(du -k "$m2/sparse" | cut -f1)" -lt 100 ]
	# a new key: not the exporter's
	kid1=$($CL status src --json | jq -r .key_id)
	kid2=$($CL2 status dst --json | jq -r .key_id)
	[ "$kid1" != "$kid2" ]
	[ "$("$PROBE" policy "$STORE2/containers/dst/crypt" | cut -d' ' -f2)" = "$kid2" ]
	# the second recipient, zstd, stdin/stdout and --jobs 1 give the same tree
	run bash -c "$CL export src -o - -r '$W/id.pub' --compress zstd --jobs 1 \
		| $CL2 import - -i '$W/other' -i '$W/id' --base '$W/base' --id dst2 --jobs 1 $ALLOW"
	assert_success
	assert_same_tree "$m" "$output"
	$CL2 destroy dst2
}

@test "a damaged or truncated archive: exit 1, nothing of the layer left, key absent" {
	skip_if_not_root
	local L size
	[ -f "$W/src.clx" ] || skip "needs the export of the first test"
	size=$(stat -c %s "$W/src.clx")
	L=$(od -An -tu4 -j12 -N4 "$W/src.clx" | tr -d ' ')
	# a flipped byte in the first chunk's body, seen while the layer is being filled
	import_watched "head -c $((L + 4096)) '$W/src.clx'" \
		"printf Z; tail -c +$((L + 4098)) '$W/src.clx'" bad1
	assert_equal "$status" 1
	assert_output --regexp "^cryptlayer: import: chunk 0: authentication failed"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/out")" ""
	assert_no_layer2 bad1
	run "$PROBE" key-status "$KID" "$STORE2"
	assert_output absent
	# truncated in the middle of the stream
	import_watched "head -c $((size / 2)) '$W/src.clx'" : bad2
	assert_equal "$status" 1
	assert_output --regexp "^cryptlayer: import: truncated"
	assert_no_layer2 bad2
	run "$PROBE" key-status "$KID" "$STORE2"
	assert_output absent
	# truncated inside the trailer: the whole tar is in, the end still does not verify
	head -c $((size - 10)) "$W/src.clx" >"$BATS_TEST_TMPDIR/t.clx"
	run $CL2 import "$BATS_TEST_TMPDIR/t.clx" -i "$W/id" --base "$W/base" --id bad3 $ALLOW
	assert_failure 1
	assert_equal "${#lines[@]}" 1
	assert_output --regexp "^cryptlayer: import: "
	assert_no_layer2 bad3
	# a persistent layer's wrapped key file goes too
	run $CL2 import "$BATS_TEST_TMPDIR/t.clx" -i "$W/id" --base "$W/base" --id bad5 $ALLOW \
		--key persistent
	assert_failure 1
	assert_no_layer2 bad5
	assert_file_not_exist "$STORE2/keys/bad5"
	# garbage appended
	{ cat "$W/src.clx"; echo junk; } | $CL2 import - -i "$W/id" --base "$W/base" --id bad4 $ALLOW \
		&& fail "appended garbage was accepted"
	assert_no_layer2 bad4
}

@test "wrong identity, bad base, bad options, unknown id: clear errors, nothing made" {
	skip_if_not_root
	[ -f "$W/src.clx" ] || skip "needs the export of the first test"
	"$CRYPTLAYER" keygen -o "$BATS_TEST_TMPDIR/stranger"
	run $CL2 import "$W/src.clx" -i "$BATS_TEST_TMPDIR/stranger" --base "$W/base" --id w1
	assert_failure 1
	assert_output --regexp "^cryptlayer: import: not encrypted to identity '.*stranger'"
	assert_no_layer2 w1
	run $CL2 import "$W/src.clx" -i "$W/id" --base "$W/nowhere" --id w2
	assert_failure 1
	assert_output --regexp "^cryptlayer: import: base '.*nowhere'"
	assert_no_layer2 w2
	run_cryptlayer 2 import "$W/src.clx" -i "$W/id" --base "$W/base" --key forever
	assert_line --index 0 "cryptlayer import: --key: expected ephemeral or persistent, not 'forever'"
	# an id in use: refused, and the existing layer is left alone
	run $CL2 import "$W/src.clx" -i "$W/id" --base "$W/base" --id dst
	assert_failure 1
	assert_output --regexp "^cryptlayer: import: layer 'dst' already exists"
	assert_equal "$($CL2 status dst --json | jq -r '.key_status, .mounted' | tr '\n' ' ')" \
		"present true "
	assert_file_exist "$STORE2/containers/dst/merged/hl1"
	run_cryptlayer 1 export no-such-layer -o "$BATS_TEST_TMPDIR/x.clx" -r "$W/id.pub"
	assert_output "cryptlayer: export: no layer 'no-such-layer': No such file or directory"
	assert_file_not_exist "$BATS_TEST_TMPDIR/x.clx"
	# an X25519 recipient is not one that ocicrypt knows (530-oci has the OCI mode)
	run_cryptlayer 1 export src -o "$BATS_TEST_TMPDIR/x.oci" -r "$W/id.pub" --format oci
	assert_output --regexp "^cryptlayer: export: '.*id.pub': unsupported key type X25519 for OCI"
	assert_file_not_exist "$BATS_TEST_TMPDIR/x.oci"
	run ls -A "$BATS_TEST_TMPDIR"
	refute_output --partial ".x.oci"
	run_cryptlayer 2 export src -o "$BATS_TEST_TMPDIR/x.clx"
	assert_line --index 0 "cryptlayer export: at least one -r PUB is required"
	run_cryptlayer 2 import "$W/src.clx" -i "$W/id"
	assert_line --index 0 "cryptlayer import: --base DIR is required"
}

@test "import --key persistent: a persistent layer; locked, it cannot be exported" {
	skip_if_not_root
	local m
	[ -f "$W/src.clx" ] || skip "needs the export of the first test"
	m=$($CL2 import "$W/src.clx" -i "$W/id" --base "$W/base" --id pers --key persistent $ALLOW)
	assert_equal "$($CL2 status pers --json | jq -r .keymode)" persistent
	assert_same_tree "$STORE/containers/src/merged" "$m"
	$CL2 lock pers
	run $CL2 export pers -o "$BATS_TEST_TMPDIR/p.clx" -r "$W/id.pub"
	assert_failure 1
	assert_output --regexp "^cryptlayer: export: layer 'pers' is locked \(key [0-9a-f]{32} absent\): unlock it first"
	assert_file_not_exist "$BATS_TEST_TMPDIR/p.clx"
	$CL2 unlock pers
	run $CL2 export pers -o "$BATS_TEST_TMPDIR/p.clx" -r "$W/id.pub"
	assert_success
	$CL2 destroy pers
	assert_no_layer2 pers
}

@test "hostile tar entries: refused, nothing of the layer left, nothing written outside" {
	skip_if_not_root
	local t=$BATS_TEST_TMPDIR name
	mkdir -p "$t/outside"
	PYTHONPATH="$TOP/tests/tools" python3 - "$t" <<-'PY'
	import sys, tarfile
	from mktar import tar_writer
	t = sys.argv[1]
	mk = tar_writer(t)
	ok = {'name': 'fine', 'data': b'ok'}
	mk('dotdot', [dict(ok), {'name': '../evil', 'data': b'x'}])
	mk('absolute', [dict(ok), {'name': t + '/outside/abs', 'data': b'x'}])
	mk('symlink', [{'name': 'esc', 'type': tarfile.SYMTYPE, 'linkname': t + '/outside'},
	               {'name': 'esc/pwned', 'data': b'x'}])
	mk('relsym', [{'name': 'up', 'type': tarfile.SYMTYPE, 'linkname': '../../../..'},
	              {'name': 'up/pwned', 'data': b'x'}])
	mk('hardlink', [{'name': 'hl', 'type': tarfile.LNKTYPE, 'linkname': '../outside/x'}])
	mk('hardsym', [{'name': 'esc', 'type': tarfile.SYMTYPE, 'linkname': t + '/outside'},
	               {'name': 'hl', 'type': tarfile.LNKTYPE, 'linkname': 'esc/target'}])
	mk('opaque-through', [{'name': 'esc', 'type': tarfile.SYMTYPE, 'linkname': t + '/outside'},
	                      {'name': 'esc/.wh..wh..opq', 'data': b''}])
	PY
	echo secret >"$t/outside/target"
	for name in dotdot absolute symlink relsym hardlink hardsym opaque-through; do
		"$CRYPTLAYER" encrypt -r "$W/id.pub" <"$t/$name.tar" >"$t/$name.clx"
		run $CL2 import "$t/$name.clx" -i "$W/id" --base "$W/base" --id "h-$name"
		assert_failure 1
		assert_equal "${#lines[@]}" 1
		assert_output --regexp "^cryptlayer: import: .*(refused|symlink|beneath|Too many levels)"
		assert_no_layer2 "h-$name"
	done
	run ls -A "$t/outside"
	assert_output "target"
	[ "$(stat -c %h "$t/outside/target")" = 1 ]
	run getfattr --absolute-names -d -m - "$t/outside"
	assert_output ""
	assert_file_not_exist "$t/evil"
}

@test "a './' entry (tar -C DIR -c .) leaves the layer root as the base made it" {
	skip_if_not_root
	local t=$BATS_TEST_TMPDIR m
	PYTHONPATH="$TOP/tests/tools" python3 - "$t" <<-'PY'
	import io, sys, tarfile
	with tarfile.open(sys.argv[1] + '/dot.tar', 'w', format=tarfile.PAX_FORMAT) as tf:
	    ti = tarfile.TarInfo('./')
	    ti.type, ti.mode, ti.uid, ti.gid = tarfile.DIRTYPE, 0o777, 4242, 4242
	    tf.addfile(ti)
	    for name in ('./f', '...'):
	        ti = tarfile.TarInfo(name)
	        ti.size = 1
	        tf.addfile(ti, io.BytesIO(b'x'))
	PY
	"$CRYPTLAYER" encrypt -r "$W/id.pub" <"$t/dot.tar" >"$t/dot.clx"
	m=$($CL2 import "$t/dot.clx" -i "$W/id" --base "$W/base" --id dot)
	assert_equal "$(stat -c '%a %u:%g' "$m")" "$(stat -c '%a %u:%g' "$W/base")"
	assert_file_exist "$m/f"
	assert_file_exist "$m/..."
	$CL2 destroy dot
}

@test "no space: an import that does not fit and an export to a full disk leave nothing" {
	skip_if_not_root
	local m
	m=$($CL create --base "$W/base" --id big)
	head -c $((120 * 1048576)) /dev/urandom >"$m/blob"
	# written back now: removing a key while this much is still being written back can
	# outlast the teardown's retries (incompletely-removed), which is not under test here
	sync
	run_cryptlayer export big -o "$W/big.clx" -r "$W/id.pub" --quiet
	# the second store has 96M
	run $CL2 import "$W/big.clx" -i "$W/id" --base "$W/base" --id nospace
	assert_failure 1
	assert_output --regexp "^cryptlayer: import: .*No space left on device"
	assert_no_layer2 nospace
	run df --output=used -B1M "$STORE2"
	[ "${lines[1]}" -lt 20 ] || fail "space not given back: ${lines[1]} MiB used"
	# export to a filesystem that fills up: no file, no temporary left
	mkdir -p "$W/full"
	mount -t tmpfs -o size=8M tmpfs "$W/full"
	echo old >"$W/full/big.clx"
	run_cryptlayer 1 export big -o "$W/full/big.clx" -r "$W/id.pub" --quiet
	assert_output --regexp "^cryptlayer: export: .*No space left on device$"
	run ls -A "$W/full"
	assert_output "big.clx"
	assert_equal "$(cat "$W/full/big.clx")" "old"
	umount "$W/full"
	$CL destroy big
}

@test "export of a mounted layer in use; progress meter only on a terminal" {
	skip_if_not_root
	command -v script >/dev/null || skip "script(1) is needed for a terminal"
	local m
	m=$($CL create --base "$W/base" --id live)
	echo one >"$m/f"
	head -c $((16 * 1048576)) /dev/zero >"$m/zeros"
	# a slow reader, so that the meter has time to show
	run script -qec "$CL export live -o - -r '$W/id.pub' -j 1 | (sleep 0.3; cat >/dev/null)" \
		/dev/null
	assert_success
	assert_output --regexp "export: [0-9.]+ [KMG]i?B, [0-9.]+ [KMG]i?B/s"
	run script -qec "$CL export live -o - -r '$W/id.pub' -q | (sleep 0.3; cat >/dev/null)" \
		/dev/null
	assert_success
	assert_output ""
	run bash -c "$CL export live -o '$BATS_TEST_TMPDIR/l.clx' -r '$W/id.pub' 2>&1"
	assert_output ""
	run bash -c "'$CRYPTLAYER' decrypt -i '$W/id' <'$BATS_TEST_TMPDIR/l.clx' | tar -tf -"
	assert_output $'f\nzeros'
	# still mounted and usable afterwards
	echo two >>"$m/f"
	assert_equal "$(cat "$m/f")" $'one\ntwo'
	$CL destroy live
}

@test "a zstd payload that expands 1000-fold imports in bounded memory" {
	skip_if_not_root
	[ -x /usr/bin/time ] || skip "GNU time is needed to measure the max RSS"
	local t=$BATS_TEST_TMPDIR rss
	mkdir "$t/z"
	truncate -s 1G "$t/z/zeros"
	# a plain (not sparse) tar: 1 GiB of zeros that zstd shrinks to a few dozen KiB
	tar -C "$t/z" -cf - zeros | "$CRYPTLAYER" encrypt --compress zstd -r "$W/id.pub" >"$t/z.clx"
	[ "$(stat -c %s "$t/z.clx")" -lt $((1024 * 1024)) ]
	run /usr/bin/time -f '%M' $CL2 import "$t/z.clx" -i "$W/id" --base "$W/base" --id zbomb
	assert_success
	rss=${lines[-1]}
	[ "$rss" -le $((64 * 1024)) ] || fail "max RSS ${rss} KiB"
	[ "$(stat -c %s "$STORE2/containers/zbomb/merged/zeros")" = $((1024 * 1024 * 1024)) ]
	$CL2 destroy zbomb
}

@test "export to a device, a FIFO or a directory: written in place or refused, never replaced" {
	[ -f "$W/src.clx" ] || skip "needs the export of the first test"
	local t=$BATS_TEST_TMPDIR
	# /dev/null stays the character device (a rename over it would break the host)
	run_cryptlayer export src -o /dev/null -r "$W/id.pub" --quiet
	[ -c /dev/null ]
	# a FIFO is written, not replaced: the reader gets a stream that decrypts
	mkfifo "$t/fifo"
	"$CRYPTLAYER" decrypt -i "$W/id" <"$t/fifo" >"$t/via-fifo.tar" &
	run_cryptlayer export src -o "$t/fifo" -r "$W/id.pub" --quiet
	wait $!
	[ -p "$t/fifo" ]
	[ -s "$t/via-fifo.tar" ]
	run_cryptlayer 1 export src -o "$t" -r "$W/id.pub" --quiet
	assert_output --partial "Is a directory"
	[ -d "$t" ]
}
