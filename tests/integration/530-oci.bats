#!/usr/bin/env bats
# export --format oci / import of OCI image layouts (issue 13, DESIGN §7): interop with
# the distribution's skopeo (containers/ocicrypt) both ways, verification before use,
# tampering, and the ocicrypt keyprovider protocol.

load helpers

CLTAR=${CLTAR:-$TOP/build/tests/cltar}

setup_file() {
	CL_STORE_SIZE=256M setup_store
	export W=$BATS_FILE_TMPDIR
	make_base "$W/base"
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$W/rsa.pem" 2>/dev/null
	for c in 256 384 521; do
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-$c -out "$W/ec$c.pem"
	done
	for k in rsa ec256 ec384 ec521; do
		openssl pkey -in "$W/$k.pem" -pubout -out "$W/$k.pub"
	done
	export ALLOW="--allow-devices --allow-setid"
	# the layer every test exports: whiteout, opaque dir, hardlinks, xattrs, odd files
	local m
	m=$($CL create --base "$W/base" --id src)
	mkdir -p "$m/usr/share/doc"
	cp -a /usr/share/doc/[a-b]* "$m/usr/share/doc/"
	rm "$m/etc/base-file"
	rm -rf "$m/data" && mkdir -p "$m/data/new"
	echo fresh >"$m/data/new/file"
	add_odd_files "$m"
	cp "$m/bin/busybox" "$m/capbin"
	chmod 4755 "$m/capbin"
	setcap cap_net_raw+ep "$m/capbin"
	setfattr -n user.note -v v1 "$m/hl1"
	export SRC_MERGED=$m SRC_UPPER=$STORE/containers/src/crypt/upper
}

teardown_file() {
	destroy_layer src || true
	teardown_store
}

# rsync -aHAX finds no difference (the roots' own times and xattrs aside)
assert_same_tree() {
	run bash -c "rsync -aHAXn --checksum --itemize-changes $3 '$1/' '$2/' \
		| grep -v '^\.d\.\.[.t]\.\.\.\.\.[.x] \./\$'"
	assert_output ""
}

# destroy_layer ID: destroy; while a short-lived mount namespace of a parallel job
# (unshare -m in another suite) still holds a copy of the mount, wait for it to go
destroy_layer() {
	local i out
	for i in $(seq 60); do
		out=$($CL destroy "$1" 2>&1) && return 0
		[[ $out == *"another mount namespace holds"* ]] || break
		sleep 1
	done
	echo "$out" >&2
	return 1
}

assert_no_layer() {
	assert_file_not_exist "$STORE/containers/$1"
	assert_file_not_exist "$CLRUN/$1.json"
	run grep -c "$STORE/containers/$1" /proc/self/mountinfo
	assert_output 0
}

# the manifest of layout DIR, and its one layer's blob path
manifest_of() { echo "$1/blobs/sha256/$(jq -r '.manifests[0].digest' "$1/index.json" | cut -d: -f2)"; }
layer_blob() { echo "$1/blobs/sha256/$(jq -r '.layers[0].digest' "$(manifest_of "$1")" | cut -d: -f2)"; }

# plain_tar_check DIR: the plain layout's one layer, decompressed and unpacked by the
# tar plugin's reader (whiteouts back to overlay form), equals the exported upper
plain_tar_check() {
	local blob mt out=$BATS_TEST_TMPDIR/unpacked
	blob=$(layer_blob "$1")
	mt=$(jq -r '.layers[0].mediaType' "$(manifest_of "$1")")
	rm -rf "$out" && mkdir "$out"
	case $mt in
	*+gzip) gzip -dc "$blob" ;;
	*+zstd) zstd -qdc "$blob" ;;
	*) cat "$blob" ;;
	esac >"$BATS_TEST_TMPDIR/layer.tar"
	# GNU tar, independently: the OCI whiteout and opaque marker are there
	run tar -tf "$BATS_TEST_TMPDIR/layer.tar"
	assert_line "etc/.wh.base-file"
	assert_line "data/.wh..wh..opq"
	"$CLTAR" unpack "$out" <"$BATS_TEST_TMPDIR/layer.tar"
	assert_same_tree "$SRC_UPPER" "$out" \
		"--filter='-x trusted.overlay.origin' --filter='-x trusted.overlay.impure'"
	# diff_id in the config is the uncompressed tar's digest (what runtimes check)
	local cfg
	cfg=$1/blobs/sha256/$(jq -r '.config.digest' "$(manifest_of "$1")" | cut -d: -f2)
	assert_equal "$(jq -r '.rootfs.diff_ids[0]' "$cfg")" \
		"sha256:$(sha256sum <"$BATS_TEST_TMPDIR/layer.tar" | cut -d' ' -f1)"
}

@test "export --format oci (RSA, gzip): skopeo decrypts it to exactly the upper" {
	skip_if_not_root
	run_cryptlayer export src --format oci -o "$W/rsa.oci" -r "$W/rsa.pub" --quiet
	assert_output ""
	run jq -r '.layers[0].mediaType' "$(manifest_of "$W/rsa.oci")"
	assert_output "application/vnd.oci.image.layer.v1.tar+gzip+encrypted"
	run jq -r '.layers[0].annotations | keys[]' "$(manifest_of "$W/rsa.oci")"
	assert_output "org.opencontainers.image.enc.keys.jwe
org.opencontainers.image.enc.pubopts"
	# every blob's name is its digest
	for b in "$W"/rsa.oci/blobs/sha256/*; do
		assert_equal "$(sha256sum "$b" | cut -d' ' -f1)" "${b##*/}"
	done
	run ls -A "$W"
	refute_output --partial ".rsa.oci"
	skopeo copy -q --decryption-key "$W/rsa.pem" "oci:$W/rsa.oci" "oci:$W/rsa.plain"
	run jq -r '.layers[0].mediaType' "$(manifest_of "$W/rsa.plain")"
	assert_output "application/vnd.oci.image.layer.v1.tar+gzip"
	plain_tar_check "$W/rsa.plain"
	# a key it was not encrypted to
	run skopeo copy -q --decryption-key "$W/ec256.pem" "oci:$W/rsa.oci" "oci:$BATS_TEST_TMPDIR/x"
	assert_failure
}

@test "export --format oci: EC P-256/384/521 and RSA in one export, zstd; each key decrypts" {
	skip_if_not_root
	run_cryptlayer export src --format oci -o "$W/multi.oci" -r "$W/ec256.pub" \
		-r "$W/ec384.pub" -r "$W/ec521.pub" -r "$W/rsa.pub" --compress zstd --jobs 2
	for k in ec256 ec384 ec521 rsa; do
		rm -rf "$BATS_TEST_TMPDIR/p"
		skopeo copy -q --decryption-key "$W/$k.pem" "oci:$W/multi.oci" "oci:$BATS_TEST_TMPDIR/p"
	done
	run jq -r '.layers[0].mediaType' "$(manifest_of "$BATS_TEST_TMPDIR/p")"
	assert_output "application/vnd.oci.image.layer.v1.tar+zstd"
	plain_tar_check "$BATS_TEST_TMPDIR/p"
	# one EC recipient alone (the flattened JWE), uncompressed, as an oci-archive
	run_cryptlayer export src --format oci -o "$W/ec.tar" -r "$W/ec384.pub" --compress none
	skopeo copy -q --decryption-key "$W/ec384.pem" "oci-archive:$W/ec.tar" "oci:$W/ec.plain"
	plain_tar_check "$W/ec.plain"
}

@test "import of our own export (dir and oci-archive): same merged view, new key" {
	skip_if_not_root
	[ -d "$W/rsa.oci" ] || skip "needs the export of the first test"
	run $CL import "$W/rsa.oci" -i "$W/rsa.pem" --base "$W/base" --id back1 $ALLOW
	assert_success
	assert_same_tree "$SRC_MERGED" "$output"
	run $CL import "$W/ec.tar" -i "$W/rsa.pem" -i "$W/ec384.pem" --base "$W/base" --id back2 $ALLOW
	assert_success
	assert_same_tree "$SRC_MERGED" "$output"
	[ "$($CL status back1 --json | jq -r .key_id)" != "$($CL status src --json | jq -r .key_id)" ]
	run ls /var/tmp
	refute_output --partial cryptlayer-import
	destroy_layer back1
	destroy_layer back2
}

# make_layout DIR UPPER...: an OCI layout built here (not by cryptlayer's exporter), one
# gzip layer per overlay upper directory given, in order (whiteouts as char 0/0, opaque
# directories by xattr, packed by the tar plugin's writer)
make_layout() {
	local d=$1 up layer cfg man diffs="" layers=""
	shift
	mkdir -p "$d/blobs/sha256"
	for up in "$@"; do
		"$CLTAR" pack "$up" >"$d/layer.tar"
		diffs="$diffs${diffs:+,}\"sha256:$(sha256sum <"$d/layer.tar" | cut -d' ' -f1)\""
		gzip -n <"$d/layer.tar" >"$d/layer.tgz" && rm "$d/layer.tar"
		layer=$(sha256sum <"$d/layer.tgz" | cut -d' ' -f1)
		layers="$layers${layers:+,}{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$layer\",\"size\":$(stat -c %s "$d/layer.tgz")}"
		mv "$d/layer.tgz" "$d/blobs/sha256/$layer"
	done
	printf '{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":[%s]}}' \
		"$diffs" >"$d/cfg"
	cfg=$(sha256sum <"$d/cfg" | cut -d' ' -f1)
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%d},"layers":[%s]}' \
		"$cfg" "$(stat -c %s "$d/cfg")" "$layers" >"$d/man"
	mv "$d/cfg" "$d/blobs/sha256/$cfg"
	man=$(sha256sum <"$d/man" | cut -d' ' -f1)
	printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%d}]}' \
		"$man" "$(stat -c %s "$d/man")" >"$d/index.json"
	mv "$d/man" "$d/blobs/sha256/$man"
	echo '{"imageLayoutVersion":"1.0.0"}' >"$d/oci-layout"
}

make_plain_layout() { make_layout "$1" "$SRC_UPPER"; }

@test "skopeo-encrypted layout (jwe RSA, jwe EC): import gives base + layer" {
	skip_if_not_root
	make_plain_layout "$W/plain"
	skopeo copy -q --encryption-key "jwe:$W/rsa.pub" "oci:$W/plain" "oci:$W/senc-rsa"
	skopeo copy -q --encryption-key "jwe:$W/ec256.pub" --encryption-key "jwe:$W/ec521.pub" \
		"oci:$W/plain" "oci:$W/senc-ec"
	run $CL import "$W/senc-rsa" -i "$W/rsa.pem" --base "$W/base" --id sk1 $ALLOW
	assert_success
	assert_same_tree "$SRC_MERGED" "$output"
	run $CL import "$W/senc-ec" -i "$W/ec521.pem" --base "$W/base" --id sk2 $ALLOW
	assert_success
	assert_same_tree "$SRC_MERGED" "$output"
	# the plain layout itself imports too (digests checked, nothing to decrypt)
	run $CL import "$W/plain" -i "$W/rsa.pem" --base "$W/base" --id sk3 $ALLOW
	assert_success
	assert_same_tree "$SRC_MERGED" "$output"
	# still refused without --allow-setid: the layer's capbin
	run $CL import "$W/senc-rsa" -i "$W/rsa.pem" --base "$W/base" --id sk4 --allow-devices
	assert_failure 1
	assert_output --partial "capbin"
	assert_no_layer sk4
	for i in sk1 sk2 sk3; do destroy_layer $i; done
}

# rewrite LAYOUT JQ: apply JQ to the manifest, store it under its new digest and point
# index.json at it (an attacker who can write the layout can do exactly this)
rewrite() {
	local d=$1 man new
	man=$(manifest_of "$d")
	jq -c "$2" "$man" >"$d/man.new"
	new=$(sha256sum <"$d/man.new" | cut -d' ' -f1)
	mv "$d/man.new" "$d/blobs/sha256/$new"
	jq -c ".manifests[0].digest = \"sha256:$new\" | .manifests[0].size = $(stat -c %s "$d/blobs/sha256/$new")" \
		"$d/index.json" >"$d/index.new" && mv "$d/index.new" "$d/index.json"
}

# flip_b64 S: S with its first base64 character after position 20 changed
flip_b64() { local s=$1; local c=${s:20:1}; [ "$c" = A ] && c=B || c=A; echo "${s:0:20}$c${s:21}"; }

# tampered NAME: import it; one error line, exit 1, nothing made, no temporary left
tampered() {
	run $CL import "$BATS_TEST_TMPDIR/$1" -i "$W/rsa.pem" --base "$W/base" --id "t-$1" $ALLOW
	assert_failure 1
	assert_equal "${#lines[@]}" 1
	assert_output --regexp "^cryptlayer: import: .*$2"
	assert_no_layer "t-$1"
	run ls /var/tmp
	refute_output --partial cryptlayer-import
}

@test "tampering: flipped blob byte, JWE, pubopts HMAC, truncated, swapped or missing blob" {
	skip_if_not_root
	[ -d "$W/rsa.oci" ] || skip "needs the export of the first test"
	local t=$BATS_TEST_TMPDIR blob jwe pub n
	for n in flip jwe hmac trunc swap missing; do cp -a "$W/rsa.oci" "$t/$n"; done
	# a flipped byte in the layer blob (its name stays: the digest no longer matches)
	blob=$(layer_blob "$t/flip")
	printf 'X' | dd of="$blob" bs=1 seek=1000 conv=notrunc status=none
	tampered flip "digest mismatch"
	# ... and with the manifest rewritten to the new digest: the HMAC catches it
	n=$(sha256sum <"$blob" | cut -d' ' -f1)
	mv "$blob" "$t/flip/blobs/sha256/$n"
	rewrite "$t/flip" ".layers[0].digest = \"sha256:$n\""
	tampered flip "HMAC mismatch"
	# the JWE (manifest rewritten so that only the JWE is wrong)
	jwe=$(jq -r '.layers[0].annotations["org.opencontainers.image.enc.keys.jwe"]' "$(manifest_of "$t/jwe")")
	jwe=$(echo "$jwe" | base64 -d | jq -c ".ciphertext |= \"$(flip_b64 "$(echo "$jwe" | base64 -d | jq -r .ciphertext)")\"" | base64 -w0)
	rewrite "$t/jwe" ".layers[0].annotations[\"org.opencontainers.image.enc.keys.jwe\"] = \"$jwe\""
	tampered jwe "not wrapped for the given key"
	# the HMAC in pubopts
	pub=$(jq -r '.layers[0].annotations["org.opencontainers.image.enc.pubopts"]' "$(manifest_of "$t/hmac")" | base64 -d)
	pub=$(echo "$pub" | jq -c ".hmac |= \"$(flip_b64 "$(echo "$pub" | jq -r .hmac)")\"" | base64 -w0)
	rewrite "$t/hmac" ".layers[0].annotations[\"org.opencontainers.image.enc.pubopts\"] = \"$pub\""
	tampered hmac "HMAC mismatch"
	# truncated
	blob=$(layer_blob "$t/trunc")
	truncate -s -100 "$blob"
	tampered trunc "size differs"
	# the layer blob swapped for another export's (its own digest and size, our keys)
	blob=$(layer_blob "$W/multi.oci")
	cp "$blob" "$t/swap/blobs/sha256/"
	rewrite "$t/swap" ".layers[0].digest = \"sha256:${blob##*/}\" | .layers[0].size = $(stat -c %s "$blob")"
	tampered swap "HMAC mismatch"
	# the manifest points to a blob that is not there
	rm "$(layer_blob "$t/missing")"
	tampered missing "No such file or directory"
	# a manifest changed without its digest
	cp -a "$W/rsa.oci" "$t/man"
	n=$(manifest_of "$t/man")
	chmod u+w "$n" && sed -i 's/tar+gzip+encrypted/tar+zstd+encrypted/' "$n"
	tampered man "digest mismatch"
}

@test "oci errors: wrong key, unsupported keys, existing output, bad layout" {
	skip_if_not_root
	[ -d "$W/rsa.oci" ] || skip "needs the export of the first test"
	run $CL import "$W/rsa.oci" -i "$W/ec256.pem" --base "$W/base" --id w1
	assert_failure 1
	assert_output --regexp "^cryptlayer: import: layer sha256:[0-9a-f]+: layer key: not wrapped for the given key"
	assert_no_layer w1
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out "$BATS_TEST_TMPDIR/small.pem" 2>/dev/null
	openssl pkey -in "$BATS_TEST_TMPDIR/small.pem" -pubout -out "$BATS_TEST_TMPDIR/small.pub"
	run_cryptlayer 1 export src --format oci -o "$BATS_TEST_TMPDIR/o" -r "$BATS_TEST_TMPDIR/small.pub"
	assert_output --regexp "RSA key of 1024 bits \(need 2048 to 8192\)"
	assert_file_not_exist "$BATS_TEST_TMPDIR/o"
	run_cryptlayer 1 export src --format oci -o "$W/rsa.oci" -r "$W/rsa.pub"
	assert_output --regexp "^cryptlayer: export: output directory '.*rsa.oci': File exists"
	run_cryptlayer 2 export src --format oci -o - -r "$W/rsa.pub"
	assert_line --index 0 --partial "not '-'"
	mkdir "$BATS_TEST_TMPDIR/empty"
	run $CL import "$BATS_TEST_TMPDIR/empty" -i "$W/rsa.pem" --base "$W/base" --id w2
	assert_failure 1
	assert_output --regexp "not an OCI image layout"
	assert_no_layer w2
	run ls -A "$BATS_TEST_TMPDIR"
	refute_output --partial ".o."
	# nothing left beside the output: after an oci-archive, and after a full disk (the
	# staging directory used to stay, with a copy of the encrypted layer in it)
	local d=$BATS_TEST_TMPDIR/out full=$BATS_TEST_TMPDIR/full out1 out2 left
	mkdir "$d" "$full"
	run_cryptlayer export src --format oci -o "$d/img.tar" -r "$W/rsa.pub" --quiet
	run ls -A "$d"
	assert_output "img.tar"
	mount -t tmpfs -o size=512k tmpfs "$full"
	out1=$($CL export src --format oci -o "$full/img" -r "$W/rsa.pub" --quiet 2>&1) || true
	out2=$($CL export src --format oci -o "$full/img.tar" -r "$W/rsa.pub" --quiet 2>&1) || true
	left=$(ls -A "$full")
	umount "$full"
	[[ $out1 == *"No space left on device"* ]] || fail "export to a full disk: $out1"
	[[ $out2 == *"No space left on device"* ]] || fail "export to a full disk (tar): $out2"
	assert_equal "$left" ""
}

# kp MACHINEKEY JSON: one keyprovider exchange, as ocicrypt's command runner makes it
kp() { printf '%s' "$2" | $CL --machine-key "file:$1" keyprovider; }

@test "keyprovider: ocicrypt's keywrap/keyunwrap round trip with the machine key" {
	skip_if_not_root
	local opts ann t=$BATS_TEST_TMPDIR
	opts=$(printf '{"symkey":"%s","digest":"sha256:%064d","cipheroptions":{"nonce":"%s"}}' \
		"$(head -c 32 /dev/urandom | base64 -w0)" 0 "$(head -c 16 /dev/urandom | base64 -w0)" | base64 -w0)
	run kp "$t/mk" "{\"op\":\"keywrap\",\"keywrapparams\":{\"ec\":{\"Parameters\":{\"cryptlayer\":[\"\"]},\"DecryptConfig\":{\"Parameters\":{}}},\"optsdata\":\"$opts\"}}"
	assert_success
	ann=$(echo "$output" | jq -r .keywrapresults.annotation)
	[ -n "$ann" ] && [ "$ann" != null ]
	# the machine key file was made on first use, 0600
	assert_equal "$(stat -c '%a %s' "$t/mk")" "600 32"
	run kp "$t/mk" "{\"op\":\"keyunwrap\",\"keyunwrapparams\":{\"dc\":{\"Parameters\":{}},\"annotation\":\"$ann\"}}"
	assert_success
	assert_equal "$(echo "$output" | jq -r .keyunwrapresults.optsdata)" "$opts"
	# another machine key: one clear line, exit 1, nothing on stdout
	head -c 32 /dev/urandom >"$t/mk2" && chmod 600 "$t/mk2"
	run kp "$t/mk2" "{\"op\":\"keyunwrap\",\"keyunwrapparams\":{\"dc\":{\"Parameters\":{}},\"annotation\":\"$ann\"}}"
	assert_failure 1
	assert_output "cryptlayer: keyprovider: layer key not wrapped with this machine key (or damaged): Bad message"
	# a missing machine key is not created for an unwrap
	run kp "$t/none" "{\"op\":\"keyunwrap\",\"keyunwrapparams\":{\"dc\":{\"Parameters\":{}},\"annotation\":\"$ann\"}}"
	assert_failure 1
	assert_file_not_exist "$t/none"
	# a flipped byte in the annotation
	run kp "$t/mk" "{\"op\":\"keyunwrap\",\"keyunwrapparams\":{\"dc\":{\"Parameters\":{}},\"annotation\":\"$(flip_b64 "$ann")\"}}"
	assert_failure 1
	assert_equal "${#lines[@]}" 1
	run kp "$t/mk" '{"op":"frobnicate"}'
	assert_failure 1
	assert_output "cryptlayer: keyprovider: request: op 'frobnicate' (keywrap or keyunwrap): Invalid argument"
	run kp "$t/mk" 'not json'
	assert_failure 1
	assert_equal "${#lines[@]}" 1
}

@test "keygen --type ec|rsa: keys that export --format oci and skopeo use" {
	skip_if_not_root
	local t=$BATS_TEST_TMPDIR
	run_cryptlayer keygen -o "$t/ec" --type ec
	run_cryptlayer keygen -o "$t/rsa" --type rsa
	assert_equal "$(stat -c %a "$t/ec") $(stat -c %a "$t/ec.pub")" "600 644"
	run openssl pkey -in "$t/rsa" -noout -text
	assert_line --index 0 --partial "3072 bit"
	run_cryptlayer export src --format oci -o "$t/k.oci" -r "$t/ec.pub" -r "$t/rsa.pub"
	skopeo copy -q --decryption-key "$t/ec" "oci:$t/k.oci" "oci:$t/p1"
	skopeo copy -q --decryption-key "$t/rsa" "oci:$t/k.oci" "oci:$t/p2"
	run $CL import "$t/k.oci" -i "$t/ec" --base "$W/base" --id kg $ALLOW
	assert_success
	destroy_layer kg
	run_cryptlayer 2 keygen -o "$t/x" --type dsa
	assert_line --index 0 "cryptlayer keygen: --type must be x25519, rsa or ec, not 'dsa'"
}

@test "a layout with several layers: applied in order with the OCI whiteout rules" {
	skip_if_not_root
	local t=$BATS_TEST_TMPDIR m
	# layer 1: files, a hardlink pair, a directory, and a whiteout of the base's data/
	mkdir -p "$t/l1/d" "$t/l1/e"
	echo 1 >"$t/l1/a" && echo x >"$t/l1/d/x" && echo y >"$t/l1/d/y" && echo f >"$t/l1/e/f"
	echo hl >"$t/l1/h1" && ln "$t/l1/h1" "$t/l1/h2" && echo w >"$t/l1/w"
	mknod "$t/l1/data" c 0 0
	# layer 2: a whited out, d opaque with only z, e now a file, h1 rewritten, data/ anew
	mkdir -p "$t/l2/d" "$t/l2/data"
	mknod "$t/l2/a" c 0 0
	setfattr -n trusted.overlay.opaque -v y "$t/l2/d"
	echo z >"$t/l2/d/z" && echo now-a-file >"$t/l2/e" && echo new >"$t/l2/h1"
	echo n >"$t/l2/data/n"
	make_layout "$t/two" "$t/l1" "$t/l2"
	skopeo copy -q --encryption-key "jwe:$W/ec256.pub" "oci:$t/two" "oci:$t/two-enc"
	for src in two two-enc; do
		run $CL import "$t/$src" -i "$W/ec256.pem" --base "$W/base" --id "ml-$src"
		assert_success
		m=$output
		assert_file_not_exist "$m/a"
		assert_equal "$(ls "$m/d")" "z"
		assert_equal "$(cat "$m/e")" "now-a-file"
		assert_equal "$(cat "$m/h1") $(cat "$m/h2") $(cat "$m/w")" "new hl w"
		# layer 1 removed the base's data/, layer 2 made a new one: no base content
		assert_equal "$(ls -A "$m/data")" "n"
		assert_file_exist "$m/etc/base-file"
		destroy_layer "ml-$src"
	done
}
