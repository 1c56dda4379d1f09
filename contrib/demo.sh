#!/usr/bin/env bash
# The main job on the embedded default store (/var/lib/cryptlayer): a busybox container
# under runc with cryptlayer hooks, its writes encrypted on the host, crypto-erased at stop.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
CL=$TOP/build/cryptlayer
[ "$(id -u)" -eq 0 ] || { echo "demo: run as root" >&2; exit 1; }
WORK=$(mktemp -d /var/tmp/cryptlayer-demo.XXXXXX)
NAME=demo-$$
cleanup() {
	runc delete --force "$NAME" >/dev/null 2>&1 || true
	rm -rf "$WORK"
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "a shared read-only base: busybox in $WORK/base"
mkdir -p "$WORK/base/bin" "$WORK/bundle/rootfs"
cp /bin/busybox "$WORK/base/bin/"
chroot "$WORK/base" /bin/busybox --install -s /bin

say "the default store (created on first use)"
"$CL" store status

say "an OCI bundle: empty root.path stub, io.cryptlayer.base, hooks prestart + poststop"
(cd "$WORK/bundle" && runc spec)
jq --arg base "$WORK/base" --arg cl "$CL" '
	.process.terminal = false | .root.readonly = false
	| .process.args = ["sh", "-c", "w=secret; echo \"top-${w}-data\" > /notes.txt; touch /ready; exec sleep 60"]
	| .annotations = {"io.cryptlayer.base": $base}
	| .hooks = {prestart: [{path: $cl, args: [$cl, "hook", "prestart"]}],
	            poststop: [{path: $cl, args: [$cl, "hook", "poststop"]}]}' \
	"$WORK/bundle/config.json" >"$WORK/c.json"
mv "$WORK/c.json" "$WORK/bundle/config.json"
runc create --bundle "$WORK/bundle" "$NAME" </dev/null >/dev/null 2>&1
runc start "$NAME"
STATUS=$("$CL" status "$NAME" --json)
UPPER=$(jq -r .upper <<<"$STATUS")
KEY=$(jq -r .key_id <<<"$STATUS")
for _ in $(seq 1 100); do [ -e "$UPPER/ready" ] && break; sleep 0.05; done

say "while it runs: cryptlayer status $NAME"
"$CL" status "$NAME"
say "the container wrote /notes.txt; on the store's disk it is ciphertext"
sync; echo 3 >/proc/sys/vm/drop_caches
IMG=/var/lib/cryptlayer/store.img
if [ -f "$IMG" ]; then
	printf 'grep of the raw store image for "top-secret-data": %s matches\n' \
		"$(grep -c -a -F top-secret-data "$IMG" || true)"
fi

say "stop: runc kill + delete runs the poststop hook (unmount, delete, remove key)"
runc kill "$NAME" KILL
sleep 0.3
runc delete "$NAME"
echo "layer directory: $(ls -d "$UPPER" 2>/dev/null || echo gone)"
echo "record:          $("$CL" status "$NAME" >/dev/null 2>&1 && echo present || echo gone)"
printf 'key %s:\n' "$KEY"
"$TOP/build/tests/fscrypt-probe" key-status "$KEY" /var/lib/cryptlayer/store 2>/dev/null ||
	echo "(key status probe not built)"
say "crypto-erased: the key is ABSENT from the kernel and the layer is gone"
