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
#     ref-tar-c       GNU tar -c of the layer's upper to a file beside the layouts: the
#                     walk and the copies of an export, no crypto (a floor, not a goal)
#     ref-tar-x       GNU tar -x of the plain layer tar into a new layer (through its
#                     overlay mount): the unpack of an import, no crypto (a floor)
#   each with its wall time and CPU time (user + system of the whole process tree: cpu /
#   wall is the number of cores it kept busy), and the raw cipher: build/tests/ctr-speed
#   on BENCH_OCI_MIB MiB in memory, in its two modes:
#     raw-export      the ENCRYPT pipeline of export: AES-256-CTR on all cores, and three
#                     SHA-256 streams (HMAC of the ciphertext, digest of the plaintext,
#                     digest of the ciphertext), each on its own thread
#     raw-cipher      the ocicrypt cipher alone: AES-256-CTR + HMAC-SHA256
#   against openssl speed -evp aes-256-ctr -multi $(nproc), -hmac sha256 and -evp sha256
#   (one stream each: a hash cannot be split), 1 MiB buffers, wall-clock (-elapsed). The
#   hardware bound of raw-export is nproc / (3 / sha256 + nproc / aes-multi): its three
#   hashes share the cores; the floors of export and import are their SHA-256 work alone
#   (3 streams of the layer's bytes each: export the HMAC and two digests, import the
#   HMAC and the blob digest to verify, then the plaintext digest while it unpacks; the
#   GMAC that proves the second read saw the verified bytes costs ~1/8 of a stream)
#   spread over all cores.
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

CASES=(cl-export skopeo-enc cl-import skopeo-dec ref-tar-c ref-tar-x)
PLAIN_TAR=$(find "$T/plain/blobs/sha256" -type f -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2)
UPPER=$T/root/store/containers/bench/crypt/upper
[ -d "$UPPER" ] || die "no upper at $UPPER (store layout changed?)"
declare -A CMD=(
	[cl-export]="rm -rf '$T/e.oci' && $CLS export bench --format oci --compress none -o '$T/e.oci' -r '$T/rsa.pub' -q"
	[skopeo-enc]="rm -rf '$T/s.oci' && skopeo copy -q --dest-oci-accept-uncompressed-layers --encryption-key jwe:'$T/rsa.pub' oci:'$T/plain' oci:'$T/s.oci'"
	[cl-import]="$CLS import '$T/ref.oci' -i '$T/rsa.pem' --base '$BASE' --id imp -q >/dev/null"
	[skopeo-dec]="rm -rf '$T/d.oci' && skopeo copy -q --dest-oci-accept-uncompressed-layers --decryption-key '$T/rsa.pem' oci:'$T/ref.oci' oci:'$T/d.oci'"
	[ref-tar-c]="rm -f '$T/ref.tar' && tar --xattrs --acls -cf '$T/ref.tar' -C '$UPPER' ."
	[ref-tar-x]="tar --xattrs -xf '$PLAIN_TAR' -C \"\$($CLS create --base '$BASE' --id imp)\""
)
for r in $(seq "$ROUNDS"); do
	for c in "${CASES[@]}"; do
		/usr/bin/time -f '%e %U %S' -o "$T/time" bash -c "${CMD[$c]}" || die "case $c failed"
		awk '{ printf "%s %.3f\n", $1, $2 + $3 }' "$T/time" >>"$T/t.$c"
		case $c in cl-import | ref-tar-x) $CLS destroy imp >/dev/null ;; esac
	done
	echo "bench oci: round $r/$ROUNDS" >&2
done
# the median round by wall time, with its CPU time
median() { sort -g "$1" | awk '{ w[NR] = $1; c[NR] = $2 } END { m = int((NR + 1) / 2); print w[m], c[m] }'; }
declare -A MED CPU
for c in "${CASES[@]}"; do read -r "MED[$c]" "CPU[$c]" < <(median "$T/t.$c"); done

# raw cipher against the hardware
read -r _ RAW_S RAW RAW_CPU < <("$CTR_SPEED" "$MIB" 0 export)
read -r _ CIPH_S CIPH CIPH_CPU < <("$CTR_SPEED" "$MIB" 0 cipher)
speed() { openssl speed -elapsed -bytes 1048576 -seconds 2 "$@" 2>/dev/null |
	awk '/^(evp|AES-256-CTR|aes-256-ctr|hmac|sha256)/ { sub(/k$/, "", $NF); v = $NF } END { printf "%.3f\n", v / 1e6 }'; }
AES=$(speed -evp aes-256-ctr -multi "$NPROC")
HMAC=$(speed -hmac sha256)
SHA=$(speed -evp sha256)
SLOWER=$(awk -v a="$AES" -v h="$HMAC" 'BEGIN { print (a < h) ? a : h }')
BOUND=$(awk -v n="$NPROC" -v s="$SHA" -v a="$AES" -v h="$HMAC" 'BEGIN { b = n / (3 / s + n / a); printf "%.3f\n", (b < h) ? b : h }')

{
	echo "# bench/oci.sh $(date -u +%FT%TZ) on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $NPROC CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "# skopeo $(skopeo --version | cut -d' ' -f3), openssl $(openssl version | cut -d' ' -f2); tree $TREE ($TREE_MIB MiB), layer tar $LAYER_BYTES bytes; medians of $ROUNDS rounds"
	echo "# case          wall       rate    cpu (user+sys)  cores busy"
	for c in "${CASES[@]}"; do
		awk -v c="$c" -v s="${MED[$c]}" -v u="${CPU[$c]}" -v b="$LAYER_BYTES" 'BEGIN { printf "%-12s %7.3f s %6.3f GB/s %7.3f s %8.2f\n", c, s, b / s / 1e9, u, u / s }'
	done
	awk -v e="${MED[cl-export]}" -v s="${MED[skopeo-enc]}" 'BEGIN { printf "export vs skopeo --encryption-key: %.1fx\n", s / e }'
	awk -v i="${MED[cl-import]}" -v d="${MED[skopeo-dec]}" 'BEGIN { printf "import (verify + decrypt + unpack into a layer) vs skopeo --decryption-key: %.1fx\n", d / i }'
	echo "openssl speed aes-256-ctr -multi $NPROC: $AES GB/s; hmac sha256 (one stream): $HMAC GB/s; sha256 (one stream): $SHA GB/s"
	awk -v r="$RAW" -v u="$RAW_CPU" -v s="$RAW_S" -v b="$BOUND" -v sl="$SLOWER" -v m="$MIB" 'BEGIN {
		printf "raw-export (ctr-speed %d MiB: CTR + HMAC + 2 SHA-256 digests, what export runs): %.3f GB/s, %.2f cores busy\n", m, r, u / s
		printf "  = %.0f%% of the slower of aes-256-ctr and hmac; %.0f%% of its bound %.3f GB/s (nproc / (3/sha256 + nproc/aes): three hash streams on the cores)\n", 100 * r / sl, 100 * r / b, b }'
	awk -v r="$CIPH" -v u="$CIPH_CPU" -v s="$CIPH_S" -v sl="$SLOWER" -v m="$MIB" 'BEGIN {
		printf "raw-cipher (ctr-speed %d MiB: the ocicrypt cipher alone, CTR + HMAC): %.3f GB/s, %.2f cores busy = %.0f%% of the slower of the two\n", m, r, u / s, 100 * r / sl }'
	awk -v b="$LAYER_BYTES" -v s="$SHA" -v n="$NPROC" -v se="${MED[skopeo-enc]}" -v sd="${MED[skopeo-dec]}" 'BEGIN {
		printf "hash floors on %d cores: export (3 SHA-256 streams) %.3f s, import (2 to verify + 1 to unpack) %.3f s; 10x skopeo would be %.3f s and %.3f s\n", n, 3 * b / s / 1e9 / n, 3 * b / s / 1e9 / n, se / 10, sd / 10 }'
} | tee "$RESULTS"
