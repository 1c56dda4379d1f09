#!/usr/bin/env bash
# bench/bulk.sh: throughput of the bulk encryption engine (issue 5, DESIGN §7), all on
# /dev/shm in one run, against the hardware ceiling and the usual tools:
#
#   ceiling     openssl speed -evp aes-256-gcm -bytes 1048576 -multi $(nproc), divided
#               by wall-clock time (-elapsed) like every other case here; speed's default
#               divisor, CPU time, ignores what other load takes from it (also shown)
#   1 GiB of incompressible data, stdin -> /dev/null:
#               cryptlayer encrypt / decrypt, age, gpg --symmetric (AES256, no
#               compression), openssl enc -aes-256-ctr (one core, no authentication)
#   a tree (a copy of /usr/share/doc) written into a real layer (as root: a store on a
#   loop image in /dev/shm, 'cryptlayer create', the tree copied into its merged view):
#               cryptlayer export ID -o - -r PUB (pack + encrypt in one process),
#               tar cf - UPPER | age, tar cf - UPPER | cat (packing alone, piped: GNU
#               tar skips reading file data when its output is /dev/null itself),
#               without root: cltar pack DIR -r PUB on a plain copy of the tree instead,
#               skopeo copy --encryption-key jwe:PUB of an OCI layout holding the same
#               tree as its one layer (uncompressed, and skopeo's default gzip)
#
# Every case runs once per round, interleaved (so drift hits all alike); the table shows
# the median of BENCH_BULK_ROUNDS rounds (default 5) and ratios between medians of the
# same run. Writes bench/results-bulk.txt and, with gnuplot, bench/bulk.png.
#
# Environment: BENCH_BULK_ROUNDS (>= 3), BENCH_BULK_MIB (payload size, default 1024),
# BENCH_BULK_TREE (default /usr/share/doc), CRYPTLAYER (default build/cryptlayer).
# Needs no root and no network; skips a missing peer tool with a printed reason.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
CRYPTLAYER=${CRYPTLAYER:-$TOP/build/cryptlayer}
CLTAR=$TOP/build/tests/cltar
ROUNDS=${BENCH_BULK_ROUNDS:-5}
MIB=${BENCH_BULK_MIB:-1024}
TREE=${BENCH_BULK_TREE:-/usr/share/doc}
RESULTS=$HERE/results-bulk.txt
PNG=$HERE/bulk.png
NPROC=$(nproc)
T=

die() {
	echo "bench/bulk: $*" >&2
	exit 1
}

note() { echo "bench/bulk: $*" >&2; }

cleanup() {
	[ -z "$T" ] && return
	if [ -n "${CLS:-}" ]; then
		$CLS destroy bench >/dev/null 2>&1 || true
		umount "$T/root/store" 2>/dev/null || true
	fi
	[ -z "${BASE:-}" ] || rmdir "$BASE" 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT

if ! [[ $ROUNDS =~ ^[0-9]+$ ]] || [ "$ROUNDS" -lt 3 ]; then die "BENCH_BULK_ROUNDS must be >= 3"; fi
if ! [[ $MIB =~ ^[0-9]+$ ]] || [ "$MIB" -lt 64 ]; then die "BENCH_BULK_MIB must be >= 64"; fi
[ -x "$CRYPTLAYER" ] || die "$CRYPTLAYER not found: run 'make' first"
[ -x "$CLTAR" ] || make -s -C "$TOP" build/tests/cltar >/dev/null || die "cannot build $CLTAR"
[ -d "$TREE" ] || die "tree '$TREE' not found"
command -v openssl >/dev/null || die "openssl is not installed"
TREE_MIB=$(du -sm "$TREE" | cut -f1)
need=$(((3 * MIB + 6 * TREE_MIB + 64) * 1024))
[ "$(df -k --output=avail /dev/shm | tail -1)" -gt "$need" ] || die "not enough room on /dev/shm"

T=$(mktemp -d /dev/shm/clbulk.XXXXXX)
declare -A SKIP=()
for tool in age gpg tar skopeo; do
	command -v "$tool" >/dev/null || SKIP[$tool]="$tool is not installed"
done
command -v age-keygen >/dev/null || SKIP[age]="age-keygen is not installed"

# ---- inputs and keys ---------------------------------------------------------------------
note "preparing $MIB MiB of random data and a copy of $TREE in $T"
head -c $((MIB * 1048576)) /dev/urandom >"$T/in"
cp -a "$TREE" "$T/tree"
"$CRYPTLAYER" keygen -o "$T/id"
"$CRYPTLAYER" encrypt -q -r "$T/id.pub" <"$T/in" >"$T/in.clx"
KEY=$(openssl rand -hex 32)
IV=$(openssl rand -hex 16)
openssl enc -aes-256-ctr -K "$KEY" -iv "$IV" <"$T/in" >"$T/in.ctr"
PASS=$(openssl rand -hex 16)
if [ -z "${SKIP[age]:-}" ]; then
	age-keygen -o "$T/age.key" 2>/dev/null
	AGE_R=$(sed -n 's/^# public key: //p' "$T/age.key")
	age -r "$AGE_R" <"$T/in" >"$T/in.age"
fi
if [ -z "${SKIP[gpg]:-}" ]; then
	mkdir -m 700 "$T/gnupg"
	GPG=(gpg --homedir "$T/gnupg" --batch --quiet --pinentry-mode loopback --passphrase "$PASS")
	"${GPG[@]}" --symmetric --cipher-algo AES256 --compress-algo none -o "$T/in.gpg" <"$T/in"
fi

# the tree in a real layer: export reads the layer's (fscrypt) upper; tar reads the same
LAYER=$T
PACK_CASE=cl-pack-encrypt
if [ "$(id -u)" -eq 0 ] && command -v losetup >/dev/null; then
	CLS="$CRYPTLAYER --root $T/root --run-dir $T/run"
	# the (empty) base may not be on the filesystem of /dev (the base checks of issue 15)
	BASE=$(mktemp -d /var/tmp/clbulk-base.XXXXXX)
	$CLS store init --size "$((2 * TREE_MIB + 64))M" >/dev/null
	M=$($CLS create --base "$BASE" --id bench)
	cp -a "$T/tree" "$M/tree"
	# settle before timing: a fresh store's ext4 initialises its inode tables in the
	# background (ext4lazyinit) and the tree is still being written back; reads of the
	# tree take seconds meanwhile. Wait (at most ~60 s) until a pass is quick.
	sync -f "$M/tree"
	for _ in $(seq 30); do
		t0=$EPOCHREALTIME
		tar cf - -C "$M" tree | cat >/dev/null
		awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { exit !(b - a < 1) }' && break
		sleep 1
	done
	LAYER=$T/root/store/containers/bench/crypt/upper
	PACK_CASE=cl-export
else
	CLS=
	note "not root: timing cltar pack on a plain directory instead of cryptlayer export"
fi
TREE_BYTES=$(tar cf - -C "$LAYER" tree | wc -c)

# an OCI layout whose one layer is the tree, for skopeo (the tar made by hand: no podman)
make_oci() {
	local l c m o=$T/oci
	mkdir -p "$o/blobs/sha256"
	tar cf "$T/layer.tar" -C "$T/tree" .
	l=$(sha256sum "$T/layer.tar" | cut -d' ' -f1)
	mv "$T/layer.tar" "$o/blobs/sha256/$l"
	printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
		"$l" >"$T/config.json"
	c=$(sha256sum "$T/config.json" | cut -d' ' -f1)
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%d}]}' \
		"$c" "$(stat -c %s "$T/config.json")" "$l" "$(stat -c %s "$o/blobs/sha256/$l")" >"$T/manifest.json"
	m=$(sha256sum "$T/manifest.json" | cut -d' ' -f1)
	mv "$T/config.json" "$o/blobs/sha256/$c"
	printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%d,"annotations":{"org.opencontainers.image.ref.name":"latest"}}]}' \
		"$m" "$(stat -c %s "$T/manifest.json")" >"$o/index.json"
	mv "$T/manifest.json" "$o/blobs/sha256/$m"
	echo '{"imageLayoutVersion":"1.0.0"}' >"$o/oci-layout"
	# ocicrypt's JWE takes RSA (or EC P-256/384) keys, not X25519
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out "$T/jwe.pem" 2>/dev/null
	openssl pkey -in "$T/jwe.pem" -pubout -out "$T/jwe.pub"
}
if [ -z "${SKIP[skopeo]:-}" ]; then
	make_oci
	skopeo copy -q --dest-oci-accept-uncompressed-layers --encryption-key "jwe:$T/jwe.pub" \
		"oci:$T/oci:latest" "oci:$T/oci-enc:latest" 2>"$T/skopeo.err" ||
		SKIP[skopeo]="skopeo copy --encryption-key failed: $(head -1 "$T/skopeo.err")"
fi

# ---- cases: name|bytes|group|command (run with bash -c, stdout to /dev/null) --------------
CASES=()
add() { CASES+=("$1|$2|$3|$4"); }
IN_BYTES=$((MIB * 1048576))
add cl-encrypt "$IN_BYTES" stream "'$CRYPTLAYER' encrypt -q -r '$T/id.pub' <'$T/in' >/dev/null"
add cl-decrypt "$IN_BYTES" stream "'$CRYPTLAYER' decrypt -q -i '$T/id' <'$T/in.clx' >/dev/null"
add openssl-ctr-enc "$IN_BYTES" stream "openssl enc -aes-256-ctr -K $KEY -iv $IV <'$T/in' >/dev/null"
add openssl-ctr-dec "$IN_BYTES" stream "openssl enc -d -aes-256-ctr -K $KEY -iv $IV <'$T/in.ctr' >/dev/null"
if [ -z "${SKIP[age]:-}" ]; then
	add age-encrypt "$IN_BYTES" stream "age -r $AGE_R <'$T/in' >/dev/null"
	add age-decrypt "$IN_BYTES" stream "age -d -i '$T/age.key' <'$T/in.age' >/dev/null"
fi
if [ -z "${SKIP[gpg]:-}" ]; then
	add gpg-encrypt "$IN_BYTES" stream "${GPG[*]@Q} --symmetric --cipher-algo AES256 --compress-algo none -o - <'$T/in' >/dev/null"
	add gpg-decrypt "$IN_BYTES" stream "${GPG[*]@Q} -d -o - <'$T/in.gpg' >/dev/null"
fi
if [ -n "$CLS" ]; then
	add cl-export "$TREE_BYTES" tree "$CLS export bench -q -o - -r '$T/id.pub' >/dev/null"
else
	add cl-pack-encrypt "$TREE_BYTES" tree "'$CLTAR' pack '$T/tree' -r '$T/id.pub' >/dev/null"
fi
add tar-cat "$TREE_BYTES" tree "tar cf - -C '$LAYER' tree | cat >/dev/null"
[ -n "${SKIP[age]:-}" ] ||
	add tar-age "$TREE_BYTES" tree "tar cf - -C '$LAYER' tree | age -r $AGE_R >/dev/null"
if [ -z "${SKIP[skopeo]:-}" ]; then
	add skopeo-jwe "$TREE_BYTES" tree "rm -rf '$T/oci-enc' && skopeo copy -q --dest-oci-accept-uncompressed-layers --encryption-key jwe:'$T/jwe.pub' oci:'$T/oci':latest oci:'$T/oci-enc':latest"
	add skopeo-jwe-gzip "$TREE_BYTES" tree "rm -rf '$T/oci-enc' && skopeo copy -q --encryption-key jwe:'$T/jwe.pub' oci:'$T/oci':latest oci:'$T/oci-enc':latest"
fi
for tool in "${!SKIP[@]}"; do note "skipping $tool: ${SKIP[$tool]}"; done

# openssl speed reports kB/s (1000 bytes) in its last column
ceiling() { # [-elapsed]: openssl speed options
	openssl speed "$@" -evp aes-256-gcm -bytes 1048576 -multi "$NPROC" -seconds 2 2>/dev/null |
		awk '/^AES-256-GCM/ { sub(/k$/, "", $NF); printf "%.0f\n", $NF * 1000 }'
}

run_case() { # name bytes group command: seconds, or exits on failure
	local t0 t1
	# every tree case starts with the tree cached: on a shared machine something else
	# may drop the caches (echo 3 >drop_caches), and then whichever case came first
	# after that would pay for reading the tree back from the store
	[ "$3" != tree ] || tar cf - -C "$LAYER" tree | cat >/dev/null
	t0=$EPOCHREALTIME
	bash -c "$4" || die "case $1 failed: $4"
	t1=$EPOCHREALTIME
	echo "$t0 $t1" | awk '{ printf "%.6f\n", $2 - $1 }' >>"$T/t.$1"
}

median() { sort -g "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

note "$ROUNDS rounds of ${#CASES[@]} cases plus the openssl speed ceiling"
for r in $(seq "$ROUNDS"); do
	ceiling -elapsed >>"$T/ceiling"
	ceiling >>"$T/ceiling-cpu"
	for c in "${CASES[@]}"; do
		IFS='|' read -r name bytes group cmd <<<"$c"
		run_case "$name" "$bytes" "$group" "$cmd"
	done
	note "round $r/$ROUNDS done"
done

# where encrypt's CPU time goes (user: sealing; system: reading the input out of the page
# cache, which openssl speed, encrypting one buffer over and over, never pays)
cpu_split() { # command: "user system" CPU seconds of one run
	local TIMEFORMAT='%U %S'
	{ time bash -c "$1" 2>/dev/null; } 2>&1 | tail -1
}
for _ in 1 2 3; do
	IFS='|' read -r _ _ _ cmd <<<"${CASES[0]}"
	read -r u s < <(cpu_split "$cmd")
	echo "$u" >>"$T/cpu-user"
	echo "$s" >>"$T/cpu-sys"
done

# ---- report ---------------------------------------------------------------------------------
declare -A SEC=() RATE=()
for c in "${CASES[@]}"; do
	IFS='|' read -r name bytes group cmd <<<"$c"
	SEC[$name]=$(median "$T/t.$name")
	RATE[$name]=$(awk -v b="$bytes" -v s="${SEC[$name]}" 'BEGIN { printf "%.0f", b / s }')
done
CEIL=$(median "$T/ceiling")
CEIL_CPU=$(median "$T/ceiling-cpu")
gbs() { awk -v r="$1" 'BEGIN { printf "%.2f", r / 1e9 }'; }
ratio() { # a b: rate[a] / rate[b], or "-" when one is missing
	if [ -z "${RATE[$1]:-}" ] || [ -z "${RATE[$2]:-}" ]; then
		echo "-"
		return
	fi
	awk -v a="${RATE[$1]}" -v b="${RATE[$2]}" 'BEGIN { printf "%.2fx", a / b }'
}
pct() { awk -v a="${RATE[$1]}" -v c="$CEIL" 'BEGIN { printf "%.0f%%", 100 * a / c }'; }

{
	echo "bench/bulk.sh  $(date -u +%FT%TZ)  $(nproc) CPUs, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
	echo "openssl $(openssl version | cut -d' ' -f2), age $(age --version 2>/dev/null || echo -), $(gpg --version 2>/dev/null | head -1 || echo gpg -), skopeo $(skopeo --version 2>/dev/null | cut -d' ' -f3 || echo -)"
	echo "payload ${MIB} MiB random; tree $TREE = $TREE_BYTES tar bytes; median of $ROUNDS interleaved rounds"
	echo
	printf '%-18s %10s %10s\n' case seconds GB/s
	printf '%-18s %10s %10s\n' "openssl-speed-gcm" "-" "$(gbs "$CEIL")"
	printf '%-18s %10s %10s\n' "  (cpu-time)" "-" "$(gbs "$CEIL_CPU")"
	for c in "${CASES[@]}"; do
		IFS='|' read -r name bytes group cmd <<<"$c"
		printf '%-18s %10.3f %10s\n' "$name" "${SEC[$name]}" "$(gbs "${RATE[$name]}")"
	done
	echo
	echo "cryptlayer encrypt vs ceiling (openssl speed -multi $NPROC): $(pct cl-encrypt)"
	echo "cryptlayer decrypt vs ceiling:                      $(pct cl-decrypt)"
	# speed -multi adds up its processes' rates: one core seals at CEIL_CPU / NPROC
	awk -v u="$(median "$T/cpu-user")" -v s="$(median "$T/cpu-sys")" -v b="$IN_BYTES" -v c="$CEIL_CPU" -v n="$NPROC" \
		'BEGIN { printf "encrypt CPU: user %.3f s (sealing), system %.3f s (reading the input: %.0f%%); the ceiling'"'"'s CPU for as many bytes: %.3f s\n", u, s, 100 * s / (u + s), n * b / c }'
	echo "encrypt vs age: $(ratio cl-encrypt age-encrypt)   decrypt vs age: $(ratio cl-decrypt age-decrypt)"
	echo "encrypt vs gpg: $(ratio cl-encrypt gpg-encrypt)   decrypt vs gpg: $(ratio cl-decrypt gpg-decrypt)"
	echo "encrypt vs openssl enc -aes-256-ctr: $(ratio cl-encrypt openssl-ctr-enc)   decrypt: $(ratio cl-decrypt openssl-ctr-dec)"
	echo "tree: $PACK_CASE vs tar|age: $(ratio "$PACK_CASE" tar-age)   vs tar|cat: $(ratio "$PACK_CASE" tar-cat) (goal: >= 0.87x, i.e. within 1.15x of the time)"
	echo "tree: vs skopeo --encryption-key (uncompressed): $(ratio "$PACK_CASE" skopeo-jwe)   (gzip): $(ratio "$PACK_CASE" skopeo-jwe-gzip)"
	for tool in "${!SKIP[@]}"; do echo "skipped $tool: ${SKIP[$tool]}"; done
} | tee "$RESULTS"

if command -v gnuplot >/dev/null; then
	{
		echo "openssl-speed-gcm $(gbs "$CEIL")"
		for c in "${CASES[@]}"; do
			IFS='|' read -r name bytes group cmd <<<"$c"
			echo "$name $(gbs "${RATE[$name]}")"
		done
	} >"$T/plot.dat"
	gnuplot <<-PLOT
	set terminal pngcairo size 1100,600 noenhanced
	set output '$PNG'
	set title "bulk encryption throughput, $NPROC CPUs (median of $ROUNDS rounds)"
	set ylabel 'GB/s'
	set style fill solid 0.8
	set boxwidth 0.7
	set xtics rotate by -35
	set bmargin 8
	set rmargin 6
	set grid ytics
	set yrange [0:*]
	plot '$T/plot.dat' using 0:2:xtic(1) with boxes notitle, \
	     '' using 0:2:(sprintf("%.2f", \$2)) with labels offset 0,0.7 notitle
	PLOT
	note "wrote $RESULTS and $PNG"
else
	note "gnuplot not installed: no $PNG"
fi
