# shellcheck shell=bash
# bench/lib.sh NAME: the preamble of the bench scripts (btrfs.sh, nested.sh, oci.sh), sourced
# as '. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" NAME' after 'set -euo pipefail'.
#
# Sets HERE (bench/), TOP, CRYPTLAYER (absolute; default build/cryptlayer, which must
# exist), PREFIX (cl<NAME><pid>: names of this run's containers) and T (empty until
# bench_tmpdir), and the EXIT trap: the script's own bench_cleanup, if it defines one
# (containers, layers), then the usual mounts under $T (run dir, store) are unmounted
# and $T is removed, unless something is still mounted there (then it stays, said on
# stderr). INT and TERM exit 130 and 143, through the same trap.

BENCH=$1
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/stamped.sh
. "$HERE/stamped.sh"
TOP=$(cd "$HERE/.." && pwd)
CRYPTLAYER=$(realpath "${CRYPTLAYER:-$TOP/build/cryptlayer}")
PREFIX=cl$BENCH$$
T=

die() {
	echo "bench $BENCH: $*" >&2
	exit 1
}

[ -x "$CRYPTLAYER" ] || die "$CRYPTLAYER not found: run 'make' first"

# bench_need_root: die unless root
bench_need_root() {
	[ "$(id -u)" -eq 0 ] || die "needs root"
}

# bench_need CMD [PACKAGE]: die unless CMD is installed
bench_need() {
	command -v "$1" >/dev/null || die "$1 is not installed${2:+ ($2)}"
}

# bench_min VAR VALUE MIN: die unless VALUE (of the environment variable VAR) is a whole
# number >= MIN
bench_min() {
	{ [[ $2 =~ ^[0-9]+$ ]] && [ "$2" -ge "$3" ]; } || die "$1 must be >= $3"
}

# bench_tmpdir PARENT: T, a new directory under PARENT, removed on exit
bench_tmpdir() {
	T=$(mktemp -d "$1/cryptlayer-$BENCH.XXXXXX")
}

# bench_runc_delete: this run's runc containers (named $PREFIX-...), deleted by force
bench_runc_delete() {
	local name
	for name in $(runc list -q 2>/dev/null | grep "^$PREFIX-" || true); do
		runc delete --force "$name" >/dev/null 2>&1 || true
	done
}

bench_exit() {
	[ -n "$T" ] || return 0
	if declare -F bench_cleanup >/dev/null; then
		bench_cleanup || true
	fi
	umount "$T/run" 2>/dev/null || true
	umount "$T/root/store" 2>/dev/null || true
	if grep -qF "$T/" /proc/self/mountinfo; then
		echo "bench $BENCH: something is still mounted under $T; left it in place" >&2
	else
		rm -rf "$T"
	fi
	T=
}
trap bench_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
