#!/usr/bin/env bats
# doctor says whether the store's block devices include dm-crypt (issue 10): then every
# block is encrypted twice (fscrypt + dm-crypt), a choice, not an error. The walk itself
# is tested on fake sysfs trees in tests/unit/test-dmcrypt.c; here it runs on this
# machine's store (a loop-mounted image) and is checked against lsblk.

load helpers

setup_file() {
	setup_store
}

teardown_file() {
	teardown_store
}

# true if lsblk shows a dm-crypt device under the store's loop device or under the
# filesystem holding its image; "unknown" when that filesystem has no block device
lsblk_says_crypt() {
	local loop src
	loop=$(findmnt -n -o SOURCE --target "$STORE")
	src=$(df --output=source "$IMAGE" | tail -1)
	[ -b "$src" ] || { echo unknown; return; }
	if lsblk -s -n -r -o TYPE "$loop" "$src" | grep -qx crypt; then echo true; else echo false; fi
}

@test "doctor --json: double_encryption walks the store's devices down to the disk" {
	local loop want
	loop=$(findmnt -n -o SOURCE --target "$STORE")
	run_cryptlayer doctor --json
	# the field is there, with every member, and the rest of the object is unchanged
	jq -e '.double_encryption | has("dm_crypt") and has("device") and has("type") and
		has("complete") and has("chain") and has("cost") and .cost_measured == false' \
		<<<"$output"
	jq -e '.store.backing == "image" and (.fscrypt_modes | length) > 0' <<<"$output"
	# the store is an image on a loop device: the walk starts there, at its backing file
	assert_equal "$(jq -r '.double_encryption.chain[0] | "\(.name) \(.kind) \(.backing_file)"' \
		<<<"$output")" "${loop#/dev/} loop $IMAGE"
	jq -e '.double_encryption.chain | length >= 2' <<<"$output"
	want=$(lsblk_says_crypt)
	[ "$want" != unknown ] || skip "the image's filesystem has no block device"
	assert_equal "$(jq -r '.double_encryption.dm_crypt' <<<"$output")" "$want"
	if [ "$want" = false ]; then
		jq -e '.double_encryption | .device == null and .cost == null and .complete' \
			<<<"$output"
	else
		jq -e '.double_encryption | (.device | type == "string") and
			(.type | startswith("CRYPT-")) and (.cost | test("not measured here"))' \
			<<<"$output"
	fi
}

@test "doctor: one dm-crypt line, and the devices it walked" {
	local want
	run_cryptlayer doctor
	assert_line --regexp '^dm-crypt     store (not )?on dm-crypt'
	assert_line --regexp '^             devices: loop[0-9]+ \(.*store\.img\) -> '
	want=$(lsblk_says_crypt)
	if [ "$want" = false ]; then
		assert_line "dm-crypt     store not on dm-crypt"
	elif [ "$want" = true ]; then
		assert_line --regexp '^dm-crypt     store on dm-crypt \(CRYPT-[A-Z0-9-]+ .*\): every block is encrypted twice \(fscrypt \+ dm-crypt\); a choice, not an error: .*; cost: .*not measured here$'
	fi
}
