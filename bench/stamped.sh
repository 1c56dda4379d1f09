# shellcheck shell=bash
# bench/stamped.sh: sourced by bench/run and by bench/lib.sh (so by every bench script).
#
# bench_stamped HOOKS STAMP FILE: the OCI hooks object HOOKS (JSON) with a stamp hook
# (bench/stamp.c built at STAMP) before and after each stage's hooks: A, B around
# prestart, C, D around poststop, each appending "LABEL NS" to FILE. A stage HOOKS lacks
# gets the two stamps alone (an empty window). The hook windows: what the runtime spends
# in the hooks, without the noise of the whole run.
bench_stamped() {
	jq -c --arg s "$2" --arg f "$3" 'def st(l): {path: $s, args: ["stamp", $f, l]};
		{prestart: ([st("A")] + (.prestart // []) + [st("B")]),
		 poststop: ([st("C")] + (.poststop // []) + [st("D")])}' <<<"$1"
}
