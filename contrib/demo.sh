#!/usr/bin/env bash
# The main job on the embedded default store (/var/lib/cryptlayer): a busybox container
# under runc with cryptlayer hooks; its writes are ciphertext on the store's disk while it
# runs, and are crypto-erased when it stops. Nothing here waits on a fixed sleep: each
# step waits for the condition it needs, and the container runs until the demo stops it.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
CL=$TOP/build/cryptlayer
PROBE=$TOP/build/tests/fscrypt-probe
ROOT=/var/lib/cryptlayer
[ "$(id -u)" -eq 0 ] || { echo "demo: run as root (mounts, fscrypt keys, runc)" >&2; exit 1; }
for tool in runc jq filefrag xxd python3; do
	command -v "$tool" >/dev/null ||
		{ echo "demo: $tool is missing: run 'bash contrib/install-deps.sh'" >&2; exit 1; }
done
WORK=$(mktemp -d /var/tmp/cryptlayer-demo.XXXXXX)
NAME=demo-$$
cleanup() {
	runc delete --force "$NAME" >/dev/null 2>&1 || true
	rm -rf "$WORK"
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# wait_for WHAT CMD...: until CMD succeeds (20 s at most), never a fixed sleep
wait_for() {
	local what=$1 _
	shift
	for _ in $(seq 1 400); do
		"$@" && return 0
		sleep 0.05
	done
	echo "demo: timed out waiting for $what" >&2
	exit 1
}
stopped() { runc state "$NAME" 2>/dev/null | jq -e '.status == "stopped"' >/dev/null; }

say "1. A shared, read-only base: busybox in $WORK/base"
mkdir -p "$WORK/base/bin" "$WORK/bundle/rootfs"
cp /bin/busybox "$WORK/base/bin/"
chroot "$WORK/base" /bin/busybox --install -s /bin
echo "Every container over this base gets its own encrypted writable layer; the base is never written."

say "2. The embedded store, created on first use: cryptlayer store status"
"$CL" store status

say "3. An OCI bundle: an empty root.path stub, io.cryptlayer.base, hooks prestart + poststop"
(cd "$WORK/bundle" && runc spec)
# the marker is assembled inside the container: its full text is in no argv or file
jq --arg base "$WORK/base" --arg cl "$CL" '
	.process.terminal = false | .root.readonly = false
	| .process.args = ["sh", "-c",
		"w=secret; echo \"top-${w}-data\" > /notes.txt && sync && touch /ready && exec sleep 100000"]
	| .annotations = {"io.cryptlayer.base": $base}
	| .hooks = {prestart: [{path: $cl, args: [$cl, "hook", "prestart"]}],
	            poststop: [{path: $cl, args: [$cl, "hook", "poststop"]}]}' \
	"$WORK/bundle/config.json" >"$WORK/c.json"
mv "$WORK/c.json" "$WORK/bundle/config.json"
jq '{annotations, hooks}' "$WORK/bundle/config.json"

say "4. runc run: the container writes /notes.txt (it runs until the demo stops it)"
runc run -d --bundle "$WORK/bundle" "$NAME" </dev/null >/dev/null
STATUS=$("$CL" status "$NAME" --json)
UPPER=$(jq -r .upper <<<"$STATUS")
KEY=$(jq -r .key_id <<<"$STATUS")
wait_for "the container's first write" test -e "$UPPER/ready"
"$CL" status "$NAME"
printf '\ninside the container, cat /notes.txt: %s\n' "$(runc exec "$NAME" cat /notes.txt)"

say "5. The same file on the store's disk: its blocks, read raw, are ciphertext"
IMG=$ROOT/store.img
FILE=$UPPER/notes.txt
sync
BLOCK=$(filefrag -b4096 -v "$FILE" | awk '$1 == "0:" && !n++ { sub(/\.\..*/, "", $4); print $4 }')
if [ -f "$IMG" ] && [ -n "$BLOCK" ]; then
	echo 3 >/proc/sys/vm/drop_caches
	echo "plaintext (through the container):  $(runc exec "$NAME" cat /notes.txt | xxd -l 16)"
	echo "raw block $BLOCK of $IMG:"
	dd if="$IMG" bs=4096 skip="$BLOCK" count=1 status=none | xxd -l 32
	read -r MATCHES BYTES < <(python3 "$TOP/contrib/scan-image.py" "$IMG" top-secret-data)
	printf 'every written block of the store image (%d MiB): "top-secret-data" found %d times\n' \
		$((BYTES >> 20)) "$MATCHES"
else
	echo "(the store is in place on $ROOT's own filesystem: no image to read raw)"
fi

say "6. Stop: runc kill + delete runs poststop (unmount, delete, remove the key, check ABSENT)"
runc kill "$NAME" KILL
wait_for "the container to stop" stopped
runc delete "$NAME"
echo "layer directory: $([ -e "$UPPER" ] && echo "still there" || echo gone)"
echo "record:          $("$CL" status "$NAME" >/dev/null 2>&1 && echo present || echo gone)"
echo "key $KEY in the kernel: $("$PROBE" key-status "$KEY" "$ROOT/store")"
if [ -f "$IMG" ] && [ -n "$BLOCK" ]; then
	echo "raw block $BLOCK now (whatever ciphertext is left there has no key any more):"
	dd if="$IMG" bs=4096 skip="$BLOCK" count=1 status=none | xxd -l 16
fi

say "Crypto-erased: the key is ABSENT from the kernel and the layer is gone (${SECONDS} s)"
echo "Left on this machine: the store, $ROOT ($(du -sh "$ROOT" 2>/dev/null | cut -f1) on disk," \
	"mounted at $ROOT/store); 'build/cryptlayer store remove' deletes it."
