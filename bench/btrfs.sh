#!/usr/bin/env bash
# bench/btrfs.sh ('bench/run btrfs', issue 12): what the btrfs backend costs (DESIGN §6b).
#
#   O(1) in base size: 'cryptlayer create --backend btrfs' + 'destroy' over a 10 MB and a
#               1 GiB base subvolume (busybox plus an allocated file), interleaved (the
#               order rotating each round), on a btrfs loop filesystem; goal: 1 GiB <= 1.2x
#               10 MB.
#   vs overlay: the same create + destroy with the overlay backend over the 10 MB base,
#               interleaved with the above; goal: btrfs <= 1.5x overlay.
#   the peer:   'btrfs subvolume snapshot -r' + 'btrfs subvolume delete' (btrfs-progs) of
#               the 10 MB base in the same rounds: the kernel's snapshot alone. Its commit
#               waits for a device flush (the loop image's fsync on the host filesystem),
#               so the btrfs/overlay ratio depends on the disk: the same two cycles are
#               also run over a copy of the base on a btrfs image in a tmpfs (a flush
#               costs nothing there), which shows what the backend costs without it.
#   hook cost:  'runc run' of /bin/true with no-op prestart/poststop hooks (/bin/true)
#               against cryptlayer's (io.cryptlayer.backend=btrfs over the 10 MB base),
#               interleaved; cryptlayer - noop (paired medians) of the hook windows: the
#               time between stamp hooks (bench/stamp.c) put before and after the hooks of
#               each stage inside one run, prestart's plus poststop's, as bench/run does;
#               goal: <= 5 ms. The whole runs too (noisier: runc's own ~25 ms). The
#               overlay backend's hooks over the same base, in the same rounds, for scale.
#
# Writes bench/results-btrfs.txt. Environment: BENCH_BTRFS_RUNS (rounds, >= 11, default
# 31), CRYPTLAYER (default build/cryptlayer). Needs root, runc and mkfs.btrfs.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" btrfs
RUNS=${BENCH_BTRFS_RUNS:-31}
RESULTS=$HERE/results-btrfs.txt

bench_need_root
bench_need runc
bench_need mkfs.btrfs btrfs-progs
bench_min BENCH_BTRFS_RUNS "$RUNS" 11

# on exit, before bench/lib.sh unmounts the run dir and store and removes $T
bench_cleanup() {
	local id
	bench_runc_delete
	for id in $("${CL[@]}" list --json 2>/dev/null | jq -r '.[].id' 2>/dev/null || true); do
		"${CL[@]}" destroy "$id" >/dev/null 2>&1 || echo "bench btrfs: destroy $id failed" >&2
	done
	umount "$T/btr" "$T/ramb" 2>/dev/null || true
	umount "$T/ram" 2>/dev/null || true
}
bench_tmpdir "${TMPDIR:-/tmp}"
CL=("$CRYPTLAYER" --root "$T/root" --run-dir "$T/run")
mkdir -p "$T/res" "$T/run" "$T/btr" "$T/ram" "$T/ramb"
mount -t tmpfs -o size=16m,mode=0700 cl-btrfs "$T/run" || die "cannot mount a tmpfs run dir"
cc -O2 -o "$T/timeit" "$HERE/timeit.c" || die "cannot build bench/timeit.c"
cc -O2 -o "$T/stamp" "$HERE/stamp.c" || die "cannot build bench/stamp.c"
"${CL[@]}" store init --size 256M >/dev/null

# ---- fixtures -----------------------------------------------------------------------------
truncate -s 3G "$T/btrfs.img"
mkfs.btrfs -q -f "$T/btrfs.img" >/dev/null
mount -o loop "$T/btrfs.img" "$T/btr"
busybox_tree() {
	mkdir -p "$1"/{bin,dev,etc,proc,sys,tmp,usr,var}
	cp /bin/busybox "$1/bin/busybox"
	chroot "$1" /bin/busybox --install -s /bin
}
for b in small big; do
	btrfs subvolume create "$T/btr/$b" >/dev/null
	busybox_tree "$T/btr/$b"
done
# 10 MB and 1 GiB bases: allocated data (a snapshot's cost does not read it)
fallocate -l 9M "$T/btr/small/data"
fallocate -l 1G "$T/btr/big/data"
mkdir "$T/btr/progs"
# the 10 MB base again, on a btrfs image in RAM (no device flush)
mount -t tmpfs -o size=400m,mode=0700 cl-btrfs-ram "$T/ram" || die "cannot mount a tmpfs"
truncate -s 300M "$T/ram/btrfs.img"
mkfs.btrfs -q -f "$T/ram/btrfs.img" >/dev/null
mount -o loop "$T/ram/btrfs.img" "$T/ramb"
btrfs subvolume create "$T/ramb/small" >/dev/null
busybox_tree "$T/ramb/small"
fallocate -l 9M "$T/ramb/small/data"
sync
(cd "$T" && runc spec && mv config.json spec.json)

# make_bundle DIR HOOKS ANNOTATIONS: a bundle running /bin/true, root.path an empty stub
make_bundle() {
	mkdir -p "$1/rootfs"
	jq --argjson hooks "$2" --argjson ann "$3" '
		.process.terminal = false | .process.args = ["/bin/true"]
		| .root = {path: "rootfs", readonly: false} | .annotations = $ann | .hooks = $hooks
		' "$T/spec.json" >"$1/config.json"
}
busybox_tree "$T/noop/rootfs"
make_bundle "$T/noop" '{"prestart": [{"path": "/bin/true", "args": ["true"]}],
	"poststop": [{"path": "/bin/true", "args": ["true"]}]}' '{}'
HOOKS=$(jq -n --arg b "$CRYPTLAYER" --arg r "$T/root" --arg d "$T/run" '
	[$b, "--root", $r, "--run-dir", $d, "hook"] as $a
	| {prestart: [{path: $b, args: ($a + ["prestart"])}],
	   poststop: [{path: $b, args: ($a + ["poststop"])}]}')
make_bundle "$T/cl" "$HOOKS" \
	"$(jq -n --arg b "$T/btr/small" '{"io.cryptlayer.base": $b, "io.cryptlayer.backend": "btrfs"}')"
make_bundle "$T/clov" "$HOOKS" "$(jq -n --arg b "$T/btr/small" '{"io.cryptlayer.base": $b}')"
# the same three with a stamp before and after each stage's hooks (A, B around prestart, C,
# D around poststop) in $T/stamps (bench/run's hook windows)
for v in noop cl clov; do
	mkdir -p "$T/w$v"
	cp -a "$T/$v/rootfs" "$T/w$v/"
	jq --argjson h "$(bench_stamped "$(jq .hooks "$T/$v/config.json")" "$T/stamp" "$T/stamps")" '.hooks = $h' \
		"$T/$v/config.json" >"$T/w$v/config.json"
done

# ---- measuring ----------------------------------------------------------------------------
# create_destroy NAME BASE BACKEND: ns of create + destroy, appended to res/NAME. A
# destroy refused because another mount namespace (another user of this shared machine
# starting a container) briefly holds a copy of the mount is retried, that round dropped.
create_destroy() {
	local id=$PREFIX-$1-$i c d
	: >"$T/log"
	c=$("$T/timeit" -o "$T/log" "${CL[@]}" create --base "$2" --backend "$3" --id "$id") ||
		{ cat "$T/log" >&2; die "create ($1) failed"; }
	if d=$("$T/timeit" -o "$T/log" "${CL[@]}" destroy "$id"); then
		echo $((c + d)) >>"$T/res/$1"
		return 0
	fi
	echo "bench btrfs: destroy ($1) refused, retrying untimed: $(tail -n1 "$T/log")" >&2
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		sleep 0.5
		! "${CL[@]}" destroy "$id" 2>/dev/null || return 0
	done
	die "destroy $id failed"
}

# progs: the peer, btrfs-progs' snapshot -r + delete of the 10 MB base, to res/progs
progs() {
	local c d
	if ! c=$("$T/timeit" -o "$T/log" btrfs subvolume snapshot -r "$T/btr/small" "$T/btr/progs/s") ||
		! d=$("$T/timeit" -o "$T/log" btrfs subvolume delete "$T/btr/progs/s"); then
		cat "$T/log" >&2
		die "btrfs subvolume snapshot/delete failed"
	fi
	echo $((c + d)) >>"$T/res/progs"
}

# run_one VARIANT: ns of 'runc run' of that bundle, appended to res/run.VARIANT; then the
# same with the stamped bundle: ns between the stamps around its hooks to res/win.VARIANT
run_one() {
	"$T/timeit" -o "$T/log" runc run --bundle "$T/$1" "$PREFIX-$1-$i" >>"$T/res/run.$1" ||
		{ cat "$T/log" >&2; die "runc run ($1) failed"; }
	: >"$T/stamps"
	runc run --bundle "$T/w$1" "$PREFIX-w$1-$i" >"$T/log" 2>&1 ||
		{ cat "$T/log" >&2; die "runc run (w$1) failed"; }
	awk -v r="$T/res/win.$1" '{ t[$1] = $2 } END { if (!("A" in t) || !("D" in t)) exit 1
		print t["B"] - t["A"] + t["D"] - t["C"] >>r; print t["B"] - t["A"] >>(r ".pre")
		print t["D"] - t["C"] >>(r ".post") }' "$T/stamps" ||
		die "runc run (w$1): the stamps are missing"
}

# each round rotates the order of the three create+destroy variants and of the three runs:
# a fixed order gave the variant after the runc runs a systematic ~0.4 ms more (a btrfs
# commit still in flight), which biased both ratios
CD=("small $T/btr/small btrfs" "big $T/btr/big btrfs" "overlay $T/btr/small overlay"
	"ramsmall $T/ramb/small btrfs" "ramoverlay $T/ramb/small overlay" "progs")
RUN=(noop cl clov)
for i in $(seq 0 "$RUNS"); do
	for k in 0 1 2 3 4 5; do
		# shellcheck disable=SC2086 # name, base and backend
		case ${CD[(i + k) % 6]} in
		progs) progs ;;
		*) create_destroy ${CD[(i + k) % 6]} ;;
		esac
	done
	for k in 0 1 2; do
		run_one "${RUN[(i + k) % 3]}"
	done
	if [ "$i" = 0 ]; then # warm-up round
		rm -f "$T"/res/*
	fi
done
[ "$(find "$T/btr/.cryptlayer-snapshots" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)" = 0 ] || die "snapshots left behind"

# ---- report -------------------------------------------------------------------------------
med() { sort -n "$1" | awk '{ v[NR] = $1 } END { printf "%.2f", (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) / 1e6 }'; }
paired() { paste "$1" "$2" | awk '{ print $2 - $1 }' >"$T/d" && med "$T/d"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
{
	echo "cryptlayer btrfs backend ($(date -u +%Y-%m-%dT%H:%MZ), $(uname -r), runc $(runc --version | head -n1 | awk '{ print $NF }'))"
	echo "ms, medians of $RUNS interleaved rounds; store: ext4 loop image; bases: btrfs loop subvolumes"
	small=$(med "$T/res/small")
	big=$(med "$T/res/big")
	ov=$(med "$T/res/overlay")
	printf '%-40s %8s\n' "create+destroy, btrfs, 10 MB base" "$small"
	printf '%-40s %8s\n' "create+destroy, btrfs, 1 GiB base" "$big"
	printf '%-40s %8s\n' "create+destroy, overlay, 10 MB base" "$ov"
	printf '%-40s %8s   (goal <= 1.20)\n' "1 GiB / 10 MB" "$(ratio "$big" "$small")"
	printf '%-40s %8s   (goal <= 1.50)\n' "btrfs / overlay" "$(ratio "$small" "$ov")"
	progs=$(med "$T/res/progs")
	printf '%-40s %8s   (the peer: the kernel snapshot alone)\n' \
		"btrfs-progs snapshot -r + delete" "$progs"
	printf '%-40s %8s\n' "btrfs backend / btrfs-progs" "$(ratio "$small" "$progs")"
	printf '%-40s %8s\n' "btrfs - overlay (paired)" "$(paired "$T/res/overlay" "$T/res/small")"
	rs=$(med "$T/res/ramsmall")
	ro=$(med "$T/res/ramoverlay")
	printf '%-40s %8s\n' "create+destroy, btrfs, base in RAM" "$rs"
	printf '%-40s %8s\n' "create+destroy, overlay, base in RAM" "$ro"
	printf '%-40s %8s   (no device flush in the commit)\n' "btrfs / overlay, base in RAM" \
		"$(ratio "$rs" "$ro")"
	printf '%-40s %8s\n' "runc run /bin/true, no-op hooks" "$(med "$T/res/run.noop")"
	printf '%-40s %8s\n' "runc run /bin/true, cryptlayer btrfs" "$(med "$T/res/run.cl")"
	printf '%-40s %8s\n' "runc run /bin/true, cryptlayer overlay" "$(med "$T/res/run.clov")"
	printf '%-40s %8s\n' "whole run, btrfs (cryptlayer - noop)" \
		"$(paired "$T/res/run.noop" "$T/res/run.cl")"
	printf '%-40s %8s\n' "whole run, overlay (cryptlayer - noop)" \
		"$(paired "$T/res/run.noop" "$T/res/run.clov")"
	printf '%-40s %8s\n' "hook windows, no-op hooks" "$(med "$T/res/win.noop")"
	printf '%-40s %8s   (goal <= 5)\n' "hook cost, btrfs (windows, - noop)" \
		"$(paired "$T/res/win.noop" "$T/res/win.cl")"
	printf '%-40s %8s\n' "hook cost, overlay (windows, - noop)" \
		"$(paired "$T/res/win.noop" "$T/res/win.clov")"
	for s in pre post; do
		printf '%-40s %8s\n' "  $s window, btrfs - noop" \
			"$(paired "$T/res/win.noop.$s" "$T/res/win.cl.$s")"
		printf '%-40s %8s\n' "  $s window, overlay - noop" \
			"$(paired "$T/res/win.noop.$s" "$T/res/win.clov.$s")"
	done
} | tee "$RESULTS"
