#!/usr/bin/env bash
# bench/oci.sh (bench/run oci): the OCI mode of issue 13 against skopeo and the hardware.
#
#   a tree (a copy of BENCH_OCI_TREE, default /usr/share/doc) written into a real layer
#   (a store on a loop image in /dev/shm), then, interleaved, BENCH_OCI_ROUNDS rounds:
#     cl-export       cryptlayer export ID --format oci --compress none -o DIR -r RSA.pub
#                     (pack + encrypt + digests + JWE, in one process)
#     skopeo-enc      skopeo copy --encryption-key jwe:RSA.pub of the plain layout holding
#                     the same layer tar (made once by decrypting cl-export's output)
#     cl-import       cryptlayer import of cl-export's layout (verify pass, then decrypt +
#                     unpack into a new layer), then destroy (not timed)
#     skopeo-dec      skopeo copy --decryption-key RSA.pem of the same layout to a layout
#   and the raw cipher: build/tests/ctr-speed (the ENCRYPT pipeline alone: CTR on all
#   cores, HMAC-SHA256 and both SHA-256 digests each on its own thread) on BENCH_OCI_MIB
#   MiB in memory, against openssl speed -evp aes-256-ctr -multi $(nproc) and -hmac
#   sha256 (one stream: an HMAC cannot be split), 1 MiB buffers, wall-clock (-elapsed).
#
# Writes bench/results-oci.txt. Needs root (a store); no network.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" oci
CTR_SPEED=$TOP/build/tests/ctr-speed
ROUNDS=${BENCH_OCI_ROUNDS:-3}
MIB=${BENCH_OCI_MIB:-1024}
TREE=${BENCH_OCI_TREE:-/usr/share/doc}
RESULTS=$HERE/results-oci.txt
NPROC=$(nproc)
CLS=
BASE=

# on exit, before bench/lib.sh unmounts the store and removes $T
bench_cleanup() {
	if [ -n "$CLS" ]; then
		$CLS destroy bench >/dev/null 2>&1 || true
		$CLS destroy imp >/dev/null 2>&1 || true
	fi
	[ -z "$BASE" ] || rmdir "$BASE"
}

bench_need_root
bench_min BENCH_OCI_ROUNDS "$ROUNDS" 1
[ -x "$CTR_SPEED" ] || make -s -C "$TOP" build/tests/ctr-speed >/dev/null || die "cannot build $CTR_SPEED"
bench_need skopeo
TREE_MIB=$(du -sm "$TREE" | cut -f1)

bench_tmpdir /dev/shm
CLS="$CRYPTLAYER --root $T/root --run-dir $T/run"
# the (empty) base may not be on the filesystem of /dev (the base checks of issue 15)
BASE=$(mktemp -d /var/tmp/cloci-base.XXXXXX)
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/rsa.pem" 2>/dev/null
openssl pkey -in "$T/rsa.pem" -pubout -out "$T/rsa.pub"
$CLS store init --size "$((4 * TREE_MIB + 128))M" >/dev/null
M=$($CLS create --base "$BASE" --id bench)
cp -a "$TREE" "$M/tree"
sync -f "$M/tree"
"$CRYPTLAYER" --root "$T/root" --run-dir "$T/run" export bench --format oci --compress none \
	-o "$T/ref.oci" -r "$T/rsa.pub" -q
skopeo copy -q --decryption-key "$T/rsa.pem" "oci:$T/ref.oci" "oci:$T/plain"
LAYER_BYTES=$(stat -c %s "$T"/plain/blobs/sha256/* | sort -n | tail -1)

CASES=(cl-export skopeo-enc cl-import skopeo-dec)
declare -A CMD=(
	[cl-export]="rm -rf '$T/e.oci' && $CLS export bench --format oci --compress none -o '$T/e.oci' -r '$T/rsa.pub' -q"
	[skopeo-enc]="rm -rf '$T/s.oci' && skopeo copy -q --dest-oci-accept-uncompressed-layers --encryption-key jwe:'$T/rsa.pub' oci:'$T/plain' oci:'$T/s.oci'"
	[cl-import]="$CLS import '$T/ref.oci' -i '$T/rsa.pem' --base '$BASE' --id imp -q >/dev/null"
	[skopeo-dec]="rm -rf '$T/d.oci' && skopeo copy -q --dest-oci-accept-uncompressed-layers --decryption-key '$T/rsa.pem' oci:'$T/ref.oci' oci:'$T/d.oci'"
)
for r in $(seq "$ROUNDS"); do
	for c in "${CASES[@]}"; do
		t0=$EPOCHREALTIME
		bash -c "${CMD[$c]}" || die "case $c failed"
		echo "$t0 $EPOCHREALTIME" | awk '{ printf "%.6f\n", $2 - $1 }' >>"$T/t.$c"
		[ "$c" != cl-import ] || $CLS destroy imp >/dev/null
	done
	echo "bench/oci: round $r/$ROUNDS" >&2
done
median() { sort -g "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
declare -A MED
for c in "${CASES[@]}"; do MED[$c]=$(median "$T/t.$c"); done

# raw cipher against the hardware
read -r _ _ RAW < <("$CTR_SPEED" "$MIB")
AES=$(openssl speed -elapsed -evp aes-256-ctr -bytes 1048576 -seconds 2 -multi "$NPROC" 2>/dev/null |
	awk '/^evp|^AES-256-CTR/ { sub(/k$/, "", $NF); printf "%.3f\n", $NF / 1e6 }' | tail -1)
HMAC=$(openssl speed -elapsed -hmac sha256 -bytes 1048576 -seconds 2 2>/dev/null |
	awk '/^hmac/ { sub(/k$/, "", $NF); printf "%.3f\n", $NF / 1e6 }' | tail -1)
SLOWER=$(awk -v a="$AES" -v h="$HMAC" 'BEGIN { print (a < h) ? a : h }')

{
	echo "# bench/oci.sh $(date -u +%FT%TZ) on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $NPROC CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "# skopeo $(skopeo --version | cut -d' ' -f3), openssl $(openssl version | cut -d' ' -f2); tree $TREE ($TREE_MIB MiB), layer tar $LAYER_BYTES bytes; medians of $ROUNDS rounds"
	for c in "${CASES[@]}"; do
		awk -v c="$c" -v s="${MED[$c]}" -v b="$LAYER_BYTES" 'BEGIN { printf "%-12s %8.3f s  %7.3f GB/s\n", c, s, b / s / 1e9 }'
	done
	awk -v e="${MED[cl-export]}" -v s="${MED[skopeo-enc]}" 'BEGIN { printf "export vs skopeo --encryption-key: %.1fx\n", s / e }'
	awk -v i="${MED[cl-import]}" -v d="${MED[skopeo-dec]}" 'BEGIN { printf "import (verify + decrypt + unpack into a layer) vs skopeo --decryption-key: %.1fx\n", d / i }'
	echo "raw ocicrypt-mode encrypt (ctr-speed $MIB MiB): $RAW GB/s"
	echo "openssl speed aes-256-ctr -multi $NPROC: $AES GB/s; hmac sha256 (one stream): $HMAC GB/s"
	awk -v r="$RAW" -v s="$SLOWER" 'BEGIN { printf "raw / slower of the two: %.0f%%\n", 100 * r / s }'
} | tee "$RESULTS"
