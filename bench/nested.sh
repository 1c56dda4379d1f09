#!/usr/bin/env bash
# bench/nested.sh ('bench/run nested', issue 11): what nesting costs (DESIGN §6).
#
#   hook cost per level: the hook windows (stamp hooks around prestart and poststop, as
#               in bench/run) of 'runc run' of /bin/true with no-op hooks (/bin/true)
#               against cryptlayer's prestart + poststop (io.cryptlayer.base), interleaved,
#               on the host and inside one outer container (privileged, nested=true, the
#               inner hook with no option: the nest store); each level's cost is
#               cryptlayer - noop at that level (paired medians), in the same run.
#               Goal: inner <= 1.2x outer.
#   outer stop: the outer's poststop hook (stamps around it) with 0, 10 and 50 inner
#               layers present ('cryptlayer create' inside, a file written in each), after
#               'runc kill -9' of the outer. Goal: linear, <= 5 ms per inner layer.
#
# Writes bench/results-nested.txt. Environment: BENCH_NESTED_RUNS (rounds per level,
# >= 11, default 21), BENCH_NESTED_COUNTS (default "0 10 50"), BENCH_NESTED_STOPS (stops
# per count, default 5), CRYPTLAYER (default build/cryptlayer). Needs root and runc.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" nested
RUNS=${BENCH_NESTED_RUNS:-21}
COUNTS=${BENCH_NESTED_COUNTS:-"0 10 50"}
STOPS=${BENCH_NESTED_STOPS:-5}
RESULTS=$HERE/results-nested.txt
# bounding_caps, outer_jq, hook_pair, kill_and_wait: the outer as 800-nested.bats has it
# shellcheck source=tests/integration/nested-lib.bash
. "$TOP/tests/integration/nested-lib.bash"

bench_need_root
bench_need runc
bench_min BENCH_NESTED_RUNS "$RUNS" 11
bench_min BENCH_NESTED_STOPS "$STOPS" 1

# on exit, before bench/lib.sh unmounts the run dir and store and removes $T
bench_cleanup() {
	bench_runc_delete
	"${CL[@]}" gc >/dev/null 2>&1 || true
}
bench_tmpdir "${TMPDIR:-/tmp}"
S=$T/shared # bound into the outer at /shared
CL=("$CRYPTLAYER" --root "$T/root" --run-dir "$T/run")
mkdir -p "$S/bin" "$S/res" "$T/run"
mount -t tmpfs -o size=16m,mode=0700 cl-nested "$T/run" || die "cannot mount a tmpfs run dir"
cc -O2 -o "$S/bin/timeit" "$HERE/timeit.c" || die "cannot build bench/timeit.c"
cc -O2 -static -o "$S/bin/stamp" "$HERE/stamp.c" 2>/dev/null || cc -O2 -o "$S/bin/stamp" "$HERE/stamp.c"
"${CL[@]}" store init --size 512M >/dev/null

# ---- fixtures -----------------------------------------------------------------------------
busybox_tree() {
	mkdir -p "$1"/{bin,dev,etc,proc,sys,tmp,usr,var/lib,run}
	cp /bin/busybox "$1/bin/busybox"
	chroot "$1" /bin/busybox --install -s /bin
}
busybox_tree "$T/obase" # the outer's base, with Debian's merged-usr links (/usr bound in)
ln -s usr/lib "$T/obase/lib"
ln -s usr/lib64 "$T/obase/lib64"
ln -s usr/sbin "$T/obase/sbin"
busybox_tree "$S/ibase" # the inner base (bound at /ibase: a plain fs, no stacking)
(cd "$T" && runc spec && mv config.json spec.json)

# bundle DIR ROOT HOOKS ANNOTATIONS: /bin/true over ROOT (DIR/rootfs as the runtime sees
# it: a rootfs, or an empty stub)
bundle() {
	mkdir -p "$1/rootfs"
	jq --arg root "$2" --argjson hooks "$3" --argjson ann "$4" '
		.process.terminal = false | .process.args = ["/bin/true"]
		| .root = {path: $root, readonly: false} | .annotations = $ann | .hooks = $hooks
		' "$T/spec.json" >"$1/config.json"
}
noop_hooks='{"prestart": [{"path": "/bin/true", "args": ["true"]}],
	"poststop": [{"path": "/bin/true", "args": ["true"]}]}'
# cl_hooks [ROOT RUN_DIR]: the hook pair with --root and --run-dir (none: the defaults)
cl_hooks() {
	hook_pair "$(jq -nc --arg b "$CRYPTLAYER" --arg r "${1:-}" --arg d "${2:-}" \
		'[$b] + (if $r == "" then [] else ["--root", $r, "--run-dir", $d] end) + ["hook"]')"
}
# host level
busybox_tree "$T/h-noop/rootfs"
bundle "$T/h-noop" "$T/h-noop/rootfs" "$(bench_stamped "$noop_hooks" "$S/bin/stamp" "$S/res/st")" '{}'
bundle "$T/h-cl" "$T/h-cl/rootfs" \
	"$(bench_stamped "$(cl_hooks "$T/root" "$T/run")" "$S/bin/stamp" "$S/res/st")" \
	"$(jq -nc --arg b "$S/ibase" '{"io.cryptlayer.base": $b}')"
# inner level (paths as the outer sees them)
busybox_tree "$S/i-noop/rootfs"
bundle "$S/i-noop" /shared/i-noop/rootfs \
	"$(bench_stamped "$noop_hooks" /shared/bin/stamp /shared/res/st)" '{}'
bundle "$S/i-cl" /shared/i-cl/rootfs "$(bench_stamped "$(cl_hooks)" /shared/bin/stamp /shared/res/st)" \
	'{"io.cryptlayer.base": "/ibase"}'
# window FILE: the hook windows of the run whose stamps are in FILE, in ns
window() {
	awk '{ t[$1] = $2 } END { if (!("D" in t)) exit 1; print t["B"] - t["A"] + t["D"] - t["C"] }' "$1"
}

# the outer: privileged, /usr and this tree read-only, /shared (nested-lib.bash: outer_jq);
# STOP_STAMPS: stamps around poststop
outer_jq >"$T/outer.jq"
make_outer() {
	local dir=$1 stamps=$2 hooks
	hooks=$(cl_hooks "$T/root" "$T/run" | jq -c --arg s "$S/bin/stamp" \
		--arg f "$stamps" 'if $f == "" then . else
		.poststop = [{path: $s, args: ["stamp", $f, "C"]}] + .poststop
			+ [{path: $s, args: ["stamp", $f, "D"]}] end')
	mkdir -p "$dir/rootfs"
	jq --argjson args '["sh", "-c", "while :; do sleep 1; done"]' --argjson hooks "$hooks" \
		--argjson ann "$(jq -nc --arg b "$T/obase" \
			'{"io.cryptlayer.base": $b, "io.cryptlayer.nested": "true"}')" \
		--arg top "$TOP" --arg ibase "$S/ibase" --arg obase "$T/obase" --arg shared "$S" \
		-f "$T/outer.jq" "$T/spec.json" >"$dir/config.json"
}
start_outer() {
	runc create --bundle "$1" "$2" </dev/null >/dev/null 2>&1 || die "outer $2 failed to start"
	runc start "$2"
}
stop_outer() {
	kill_and_wait "$1" KILL runc
	runc delete "$1"
}

# ---- hook cost per level -----------------------------------------------------------------
echo "bench nested: hook windows, $RUNS interleaved rounds of noop, cryptlayer per level" >&2
for ((i = 1; i <= RUNS; i++)); do
	for v in noop cl; do
		rm -f "$S/res/st"
		runc run --bundle "$T/h-$v" "$PREFIX-h$v$i" </dev/null >/dev/null 2>&1 ||
			die "host runc run ($v) failed"
		window "$S/res/st" >>"$S/res/host.$v" || die "host ($v): stamps missing"
	done
done
make_outer "$T/o-cost" ""
start_outer "$T/o-cost" "$PREFIX-cost"
# shellcheck disable=SC2016 # for the shell in the outer
runc exec "$PREFIX-cost" sh -c 'for i in $(seq 1 "$1"); do for v in noop cl; do
	rm -f /shared/res/st; runc run --bundle /shared/i-$v i$v$i >/dev/null 2>&1 || exit 1
	mv /shared/res/st /shared/res/st.$v.$i; done; done' sh "$RUNS" </dev/null ||
	die "inner runc run failed"
for ((i = 1; i <= RUNS; i++)); do
	for v in noop cl; do
		window "$S/res/st.$v.$i" >>"$S/res/inner.$v" || die "inner ($v): stamps missing"
	done
done
stop_outer "$PREFIX-cost"

# ---- outer stop time with N inner layers -----------------------------------------------------
for n in $COUNTS; do
	echo "bench nested: outer stop with $n inner layers, $STOPS stops" >&2
	for ((r = 1; r <= STOPS; r++)); do
		o=$PREFIX-s$n-$r
		make_outer "$T/$o" "$S/res/stamps.$n.$r"
		start_outer "$T/$o" "$o"
		# shellcheck disable=SC2016 # for the shell in the outer
		runc exec "$o" sh -c 'for k in $(seq 1 "$1"); do
			m=$("$2" create --base /ibase --id in$k) && echo data >"$m/f" || exit 1
			done' sh "$n" "$CRYPTLAYER" </dev/null || die "inner layers in $o failed"
		inner=$("${CL[@]}" status "$o" --json | jq .inner_keys)
		[ "$inner" = "$n" ] || die "$o: $inner inner keys, expected $n"
		stop_outer "$o"
		awk '{ t[$1] = $2 } END { print t["D"] - t["C"] }' "$S/res/stamps.$n.$r" >>"$S/res/stop.$n"
		[ ! -e "$T/root/store/nest/$o" ] || die "$o: nest left behind"
	done
done
left=$("${CL[@]}" list --json | jq length)

# ---- report ------------------------------------------------------------------------------
med() { sort -n "$1" | awk '{ a[NR] = $1 } END { m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.3f", m / 1e6 }'; }
paired() { paste "$1" "$2" | awk '{ print $2 - $1 }' >"$T/d" && med "$T/d"; }
{
	echo "cryptlayer nested bench, $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -srm), $(nproc) CPUs"
	echo "ms, medians; $RUNS interleaved rounds per level; $STOPS outer stops per inner count"
	echo
	echo "hook windows (prestart + poststop, timed by stamp hooks around them):"
	printf '%-7s %10s %10s %12s\n' level noop cryptlayer "cl - noop"
	for l in host inner; do
		printf '%-7s %10s %10s %12s\n' "$l" "$(med "$S/res/$l.noop")" "$(med "$S/res/$l.cl")" \
			"$(paired "$S/res/$l.noop" "$S/res/$l.cl")"
	done
	ho=$(paired "$S/res/host.noop" "$S/res/host.cl")
	in=$(paired "$S/res/inner.noop" "$S/res/inner.cl")
	awk -v o="$ho" -v i="$in" 'BEGIN { x = o > 0 ? i / o : 0
		printf "inner / outer hook cost: %.2fx (goal <= 1.2x: %s)\n", x, x <= 1.2 ? "met" : "MISSED" }'
	echo
	printf '%-14s %12s %16s\n' "inner layers" "outer stop" "per inner layer"
	s0=
	for n in $COUNTS; do
		m=$(med "$S/res/stop.$n")
		[ -n "$s0" ] || s0=$m
		printf '%-14s %12s %16s\n' "$n" "$m" "$(awk -v m="$m" -v z="$s0" -v n="$n" \
			'BEGIN { if (n > 0) printf "%.3f", (m - z) / n; else printf "-" }')"
	done
	last=${COUNTS##* }
	awk -v m="$(med "$S/res/stop.$last")" -v z="$s0" -v n="$last" 'BEGIN {
		if (n > 0) { x = (m - z) / n; printf "goal <= 5 ms per inner layer: %s\n", x <= 5 ? "met" : "MISSED" } }'
	[ "$left" = 0 ] || echo "WARNING: $left layer(s) left behind"
} >"$T/table"
cat "$T/table"
cp "$T/table" "$RESULTS"
echo "written to ${RESULTS#"$TOP"/}"
[ "$left" = 0 ]
