#!/usr/bin/env bats
# import of a forged archive (issue 15, DESIGN §7-§8): anyone who holds a recipient's
# PUBLIC key can make a .clx that decrypts, so import refuses device nodes, setuid/setgid
# bits and file capabilities unless --allow-devices / --allow-setid are given, never
# creates anything outside the layer, and leaves nothing of a refused import (layer
# directory, key, key file, record, lock file, mount). Whiteouts and opaque directories
# (made by the unpacker from ".wh." entries) and FIFOs still import by default.

load helpers

setup_file() {
	CL_STORE_SIZE=128M setup_store
	export W=$BATS_FILE_TMPDIR T=$BATS_FILE_TMPDIR/tars
	make_base "$W/base"
	"$CRYPTLAYER" keygen -o "$W/id"
	mkdir -p "$T" "$W/outside"
	echo secret >"$W/outside/target"
	chmod 0640 "$W/outside/target"
	# every archive starts with 2 MiB of noise, so that the hostile entries come after
	# the first chunk: import_watched can read the key id of the layer being made
	PYTHONPATH="$TOP/tests/tools" python3 - "$T" "$W/outside" <<-'PY'
	import os, sys, tarfile
	from mktar import (tar_writer, SH as sh, CHARDEV as cdev, BLOCKDEV as bdev,
	                   SETUID as suid, SETGID_DIR as sgid, CAPABILITY as cap,
	                   RAW_WHITEOUT as wh0, NORMAL)
	t, out = sys.argv[1], sys.argv[2]
	mk = tar_writer(t)
	pad = {'name': 'pad', 'data': os.urandom(2 << 20)}
	ok = {'name': 'fine', 'data': b'ok'}
	def hostile(name, *entries):
	    mk(name, [dict(pad), dict(ok)] + list(entries))
	esc = {'name': 'esc', 'type': tarfile.SYMTYPE, 'linkname': out}
	# privileged entries: refused unless allowed
	hostile('chardev', cdev)
	hostile('blockdev', bdev)
	hostile('rawwhiteout', wh0)  # a device entry, even 0:0: only ".wh." makes whiteouts
	hostile('setuid', suid)
	hostile('setgid-dir', sgid)
	hostile('setgid-file', {'name': 'bin/wall', 'data': sh, 'mode': 0o2755})
	hostile('capability', cap)
	hostile('hardlink-setuid', {'name': 'plain', 'data': sh, 'mode': 0o755},
	        {'name': 'plain2', 'type': tarfile.LNKTYPE, 'linkname': 'plain', 'mode': 0o4755})
	hostile('devs', cdev, bdev)
	hostile('setid', suid, sgid, cap)
	hostile('all', cdev, bdev, suid, sgid, cap, wh0)
	# escapes: refused whatever the flags
	hostile('dotdot', {'name': '../x', 'data': b'x'})
	hostile('deep-dotdot', {'name': 'a/../../x', 'data': b'x'})
	hostile('absolute', {'name': out + '/abs', 'data': b'x'})
	hostile('symlink-file', dict(esc), {'name': 'esc/pwned', 'data': b'x'})
	hostile('relsymlink-file', {'name': 'up', 'type': tarfile.SYMTYPE, 'linkname': '../../../..'},
	        {'name': 'up/pwned', 'data': b'x'})
	hostile('symlink-dev', dict(esc), dict(cdev, name='esc/dev'))
	hostile('hardlink-dotdot', {'name': 'hl', 'type': tarfile.LNKTYPE,
	                            'linkname': '../outside/target'})
	hostile('hardlink-absolute', {'name': 'hl', 'type': tarfile.LNKTYPE,
	                              'linkname': out + '/target'})
	hostile('hardlink-symlink', dict(esc), {'name': 'hl', 'type': tarfile.LNKTYPE,
	                                        'linkname': 'esc/target'})
	hostile('whiteout-symlink', dict(esc), {'name': 'esc/.wh.target', 'data': b''})
	hostile('opaque-symlink', dict(esc), {'name': 'esc/.wh..wh..opq', 'data': b''})
	hostile('dir-then-symlink', {'name': 'd', 'type': tarfile.DIRTYPE, 'mode': 0o777},
	        dict(esc, name='d'), {'name': 'd/pwned', 'data': b'x'})
	# what a normal layer holds: FIFO, whiteout, opaque directory, links
	mk('normal', [dict(ok)] + NORMAL)
	PY
	for f in "$T"/*.tar; do
		"$CRYPTLAYER" encrypt -r "$W/id.pub" <"$f" >"${f%.tar}.clx"
	done
}

teardown_file() {
	teardown_store
}

# what must never change: the outside directory (names, types, modes, link counts,
# owners, sizes, times, xattrs, content) and the base
outside_state() {
	(cd "$W/outside" && find . -printf '%p %y %m %n %U:%G %s %T@ %l\n' | sort &&
		getfattr -R --absolute-names -d -m - . 2>/dev/null && cat target)
	tree_sum "$W/base"
}

# import_watched NAME ID [FLAG...]: import $T/NAME.clx as ID from a FIFO: its first
# 1.5 MiB (header and first chunk: the layer exists, the unpack waits for more), then,
# the layer being made, its key id is read into KID, then the rest is fed. Leaves the
# exit status in $status, stderr in $output and $lines, stdout in $BATS_TEST_TMPDIR/out.
import_watched() {
	local name=$1 id=$2 fifo=$BATS_TEST_TMPDIR/fifo pid
	shift 2
	rm -f "$fifo" && mkfifo "$fifo"
	$CL import - -i "$W/id" --base "$W/base" --id "$id" "$@" <"$fifo" \
		>"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
	pid=$!
	exec 7>"$fifo" # (bats owns fd 3)
	head -c 1572864 "$T/$name.clx" >&7
	wait_for_file "$STORE/containers/$id/crypt/upper"
	KID=$("$PROBE" policy "$STORE/containers/$id/crypt" | cut -d' ' -f2)
	[ -n "$KID" ] || fail "no key id for the layer being made"
	tail -c +1572865 "$T/$name.clx" >&7 2>/dev/null || true
	exec 7>&-
	status=0
	wait "$pid" || status=$?
	output=$(cat "$BATS_TEST_TMPDIR/err")
	mapfile -t lines <"$BATS_TEST_TMPDIR/err"
}

# destroy ID: $CL destroy ID, retried while another mount namespace (a parallel suite's
# container or 'unshare -m') briefly holds a copy of the layer's mount
destroy() {
	local _
	for _ in $(seq 1 100); do
		run $CL destroy "$1"
		[ "$status" -ne 0 ] || return 0
		[[ $output == *incompletely-removed* || $output == *"another mount namespace"* ]] ||
			break
		sleep 0.1
	done
	fail "destroy $1: exit $status: $output"
}

# assert_nothing_left: no layer directory, key file, lock file, record or layer mount
# (the keys directory exists only once a persistent layer was made)
assert_nothing_left() {
	mkdir -p "$STORE/keys"
	assert_store_empty
}

# assert_refused NAME REGEXP [FLAG...]: importing NAME fails with exit 1 and one error
# line matching REGEXP; nothing of the layer is left (directory, key file, lock file,
# record, mount), its key is absent, nothing outside changed
assert_refused() {
	local name=$1 re=$2 before
	shift 2
	before=$(outside_state)
	import_watched "$name" "r-$name" "$@"
	assert_equal "$status" 1
	assert_equal "${#lines[@]}" 1
	assert_output --regexp "^cryptlayer: import: $re"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/out")" ""
	run "$PROBE" key-status "$KID" "$STORE"
	assert_output absent
	assert_nothing_left
	assert_equal "$(outside_state)" "$before"
}

@test "import --help documents --allow-devices and --allow-setid and why" {
	run_cryptlayer import --help
	assert_output --partial "--allow-devices    accept character and block device nodes"
	assert_output --partial "--allow-setid      accept setuid/setgid bits and file capabilities"
	assert_output --partial "PUBLIC keys can make an archive"
	run_cryptlayer 2 import "$T/all.clx" -i "$W/id" --base "$W/base" --allow-everything
	assert_line --index 0 "cryptlayer import: unknown option '--allow-everything'"
}

@test "device nodes, setuid/setgid bits, capabilities: refused by default, naming the entry" {
	local why="\(an archive can be made by anyone with the public key; --allow"
	assert_refused chardev "'dev/mem': character device 1:1 refused $why-devices accepts it\): Operation not permitted$"
	assert_refused blockdev "'dev/sda': block device 8:0 refused $why-devices accepts it\): Operation not permitted$"
	assert_refused rawwhiteout "'wh0': character device 0:0 refused $why-devices"
	assert_refused setuid "'bin/su': setuid mode 4755 refused $why-setid accepts it\): Operation not permitted$"
	assert_refused setgid-dir "'shared/': setgid mode 2775 refused $why-setid"
	assert_refused setgid-file "'bin/wall': setgid mode 2755 refused $why-setid"
	assert_refused capability "'bin/ping': file capabilities \(security.capability\) refused $why-setid accepts them\): Operation not permitted$"
	assert_refused hardlink-setuid "'plain2': setuid mode 4755 refused"
	# a persistent layer's wrapped key file goes too
	assert_refused setuid "'bin/su': setuid mode 4755" --key persistent
	# one flag does not allow the other class
	assert_refused devs "'dev/mem': character device" --allow-setid
	assert_refused setid "'bin/su': setuid" --allow-devices
	assert_refused all "'bin/su': setuid" --allow-devices --key persistent
}

@test "entries outside the layer: refused with or without the flags, nothing outside touched" {
	local flags
	for flags in "" "--allow-devices --allow-setid"; do
		# shellcheck disable=SC2086
		{
			assert_refused dotdot "'\.\./x': '\.\.' in path refused" $flags
			assert_refused deep-dotdot "'a/\.\./\.\./x': '\.\.' in path refused" $flags
			assert_refused absolute "'$W/outside/abs': absolute path refused" $flags
			assert_refused symlink-file "'esc/pwned': .*symlink" $flags
			assert_refused relsymlink-file "'up/pwned': .*symlink" $flags
			assert_refused hardlink-dotdot "'hl': '\.\.' in hardlink target '\.\./outside/target' refused" $flags
			assert_refused hardlink-absolute "'hl': absolute hardlink target '$W/outside/target' refused" $flags
			assert_refused hardlink-symlink "'hl': .*symlink" $flags
			assert_refused whiteout-symlink "'esc/\.wh\.target': .*symlink" $flags
			assert_refused opaque-symlink "'esc/\.wh\.\.wh\.\.opq': open 'esc/' beneath the layer root: Too many levels of symbolic links$" $flags
			assert_refused dir-then-symlink "'d/pwned': .*symlink" $flags
		}
	done
	# a device through a symlink: refused as a device by default, as an escape when allowed
	assert_refused symlink-dev "'esc/dev': character device 1:1 refused"
	assert_refused symlink-dev "'esc/dev': .*symlink" --allow-devices
	run ls -A "$W/outside"
	assert_output "target"
	assert_file_not_exist "$W/x"
	assert_file_not_exist "$STORE/containers/x"
}

@test "with --allow-devices and --allow-setid: devices, setid bits and capabilities are imported" {
	local m u
	m=$($CL import "$T/all.clx" -i "$W/id" --base "$W/base" --id allowed --allow-devices \
		--allow-setid --quiet)
	assert_equal "$m" "$STORE/containers/allowed/merged"
	u=$STORE/containers/allowed/crypt/upper
	run stat -c '%F %t:%T %a' "$m/dev/mem" "$m/dev/sda" "$u/wh0"
	assert_output $'character special file 1:1 600\nblock special file 8:0 660\ncharacter special file 0:0 644'
	run stat -c '%a %n' "$m/bin/su" "$m/shared"
	assert_output $'4755 '"$m/bin/su"$'\n2775 '"$m/shared"
	run getcap "$m/bin/ping"
	assert_output --partial "cap_net_raw=ep"
	assert_equal "$(stat -c %s "$m/pad")" 2097152
	destroy allowed
	# each flag alone, for its own class
	m=$($CL import "$T/devs.clx" -i "$W/id" --base "$W/base" --id devs --allow-devices)
	run stat -c '%F %t:%T' "$m/dev/mem"
	assert_output "character special file 1:1"
	destroy devs
	m=$($CL import "$T/setid.clx" -i "$W/id" --base "$W/base" --id setid --allow-setid)
	run stat -c '%a' "$m/bin/su" "$m/shared"
	assert_output $'4755\n2775'
	run getcap "$m/bin/ping"
	assert_output --partial "cap_net_raw=ep"
	destroy setid
	assert_nothing_left
}

@test "FIFOs, whiteouts, opaque directories, sticky dirs and links import by default" {
	local m u
	m=$($CL import "$T/normal.clx" -i "$W/id" --base "$W/base" --id normal)
	u=$STORE/containers/normal/crypt/upper
	run stat -c '%F %a' "$m/pipe" "$m/sticky"
	assert_output $'fifo 644\ndirectory 1777'
	# the whiteout and the opaque marker are made by the unpacker, not from a device entry
	run stat -c '%F %t:%T' "$u/etc/base-file"
	assert_output "character special file 0:0"
	run getfattr --absolute-names --only-values -n trusted.overlay.opaque "$u/data"
	assert_output "y"
	assert_file_not_exist "$m/etc/base-file"
	run ls -A "$m/data"
	assert_output "new"
	assert_equal "$(readlink "$m/rel") $(readlink "$m/abs")" "fine /etc/passwd"
	[ "$(stat -c %i "$m/hl")" = "$(stat -c %i "$m/fine")" ]
	destroy normal
	assert_nothing_left
}

@test "export -> import of a layer without privileged entries needs no flag" {
	command -v rsync >/dev/null || skip "rsync is needed to compare the trees"
	local m m2
	m=$($CL create --base "$W/base" --id src)
	rm "$m/etc/base-file"                      # a whiteout
	rm -rf "$m/data" && mkdir -p "$m/data/new" # an opaque directory
	echo fresh >"$m/data/new/file"
	mkfifo "$m/etc/fifo"
	echo hello >"$m/hl1" && ln "$m/hl1" "$m/etc/hl2" && ln -s ../hl1 "$m/etc/sym"
	chmod 1777 "$m/data"
	$CL export src -o "$W/src.clx" -r "$W/id.pub" --quiet
	m2=$($CL import "$W/src.clx" -i "$W/id" --base "$W/base" --id dst)
	run bash -c "rsync -aHAXn --checksum --itemize-changes '$m/' '$m2/' \
		| grep -v '^\.d\.\.[.t]\.\.\.\.\.[.x] \./\$'"
	assert_output ""
	run stat -c '%F %t:%T' "$STORE/containers/dst/crypt/upper/etc/base-file"
	assert_output "character special file 0:0"
	run getfattr --absolute-names --only-values -n trusted.overlay.opaque \
		"$STORE/containers/dst/crypt/upper/data"
	assert_output "y"
	# the same layer with a setuid file added is refused, and allowed with the flag
	cp "$W/base/bin/busybox" "$m/su" && chmod 4755 "$m/su"
	$CL export src -o "$W/src2.clx" -r "$W/id.pub" --quiet
	run $CL import "$W/src2.clx" -i "$W/id" --base "$W/base" --id dst2
	assert_failure 1
	assert_output --regexp "^cryptlayer: import: 'su': setuid mode 4755 refused"
	assert_file_not_exist "$STORE/containers/dst2"
	m2=$($CL import "$W/src2.clx" -i "$W/id" --base "$W/base" --id dst2 --allow-setid)
	assert_equal "$(stat -c %a "$m2/su")" 4755
	destroy dst2
	destroy dst
	destroy src
	assert_nothing_left
}
