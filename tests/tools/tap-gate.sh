#!/usr/bin/env bash
# tap-gate.sh CMD...: run CMD, which prints TAP, and pass its output through; then list
# every skipped test with its reason. Under CI=true a skip that tests/expected-skips does
# not declare fails the run, with CMD's own exit code kept otherwise: a skip must never
# hide a failure.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
skips=$(mktemp)
trap 'rm -f "$skips"' EXIT

"$@" | while IFS= read -r line; do
	printf '%s\n' "$line"
	case "$line" in
	*'# skip'* | *'# SKIP'*) printf '%s\n' "$line" >>"$skips" ;;
	esac
done
rc=$?

[ -s "$skips" ] || exit "$rc"
echo "# skipped ($(wc -l <"$skips")):"
sed 's/^/#   /' "$skips"
if [ "${CI:-}" = true ]; then
	declared=$(grep -vE '^[[:space:]]*(#|$)' "$top/tests/expected-skips")
	undeclared=$(grep -vE -e "${declared:-^\$never}" "$skips" || true)
	if [ -n "$undeclared" ]; then
		echo "# FAIL: skips not declared in tests/expected-skips (CI must run every suite):"
		printf '%s\n' "$undeclared" | sed 's/^/#   /'
		exit 1
	fi
fi
exit "$rc"
