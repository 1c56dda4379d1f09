#!/usr/bin/env bats
# kill -9 at random points (issue 14): create (ephemeral, persistent), import, the stage
# hooks under runc (runc itself or the hook killed), lock, unlock and destroy. After each
# kill the user's recovery is 'cryptlayer gc' (records and layer directories made to look
# older than its grace time) plus 'destroy ID' for what 'create' or 'import' made; then
# nothing is left: no key present (every key id a record, descriptor or policy ever
# named), no mount, directory, record or lock file; and a persistent layer that existed
# before a killed lock, unlock or refused destroy still has its data.
#
# Delays are drawn uniformly from 1 us .. the run time of the command measured here
# first (so they land inside it); the distribution and the outcomes go to fd 3. A
# background inotify watcher keeps every key id any record named, however briefly.
# Problems are collected and reported at the end of each test (one bug does not hide
# the others), each with the kill delay, what the kill left and the record as it was.

# shellcheck disable=SC2030,SC2031 # each test runs in its own subshell, by design
# shellcheck disable=SC2086 # $CL, $CLP and $cl are word lists

load helpers

setup_file() {
	CL_STORE_SIZE=256M setup_store
	export W=$BATS_FILE_TMPDIR
	make_base "$W/base"
	export MK=$W/mk/machine.key
	export CLP="$CL --machine-key file:$MK"
	: >"$W/outcomes"
	: >"$W/delays"
	start_watcher
}

teardown_file() {
	if [ -s "${W:-/nonexistent}/delays" ]; then
		{
			awk '{ t++; if ($4 == 137) k++; else if ($4 == 0) c++ } END {
				printf "# 710-kill: %d rounds with a kill: %d killed mid-way, %d completed first, %d refused\n", t, k, c, t - k - c
			}' "$W/delays"
			awk '{ n[$1]++; if ($4 == 137) k[$1]++; else if ($4 == 0) c[$1]++ } END {
				for (op in n) printf "#   %-20s %3d rounds: %3d killed, %3d completed, %3d refused\n", op, n[op], k[op], c[op], n[op] - k[op] - c[op]
			}' "$W/delays" | sort
		} >&3
	fi
	stop_watcher
	teardown_store
}

# keys_seen ID: every key id the watcher saw in ID's records, or ID's record, record.tmp,
# descriptor or the policy of its crypt dir names now
keys_seen() {
	local id=$1
	{
		awk -v id="$id" '$1 == id && $2 != "-" { print $2 }' "$W/seen"
		cat "$CLRUN/$id.json" "$CLRUN/$id.json.tmp" "$STORE/containers/$id/layer.json" 2>/dev/null |
			sed -n 's/.*"key_id": *"\([0-9a-f]*\)".*/\1/p'
		"$PROBE" policy "$STORE/containers/$id/crypt" 2>/dev/null | cut -d' ' -f2
	} | grep -E '^[0-9a-f]{32}$' | sort -u || true
}

# ---- kills, outcomes, problems ----------------------------------------------------------

# us_to_s US: seconds for timeout(1)
us_to_s() {
	printf '%d.%06d' $(($1 / 1000000)) $(($1 % 1000000))
}

# draw T: a delay in 1..T microseconds
draw() {
	echo $(((RANDOM << 15 | RANDOM) % $1 + 1))
}

# killrun DELAY_US CMD...: CMD under 'timeout -s KILL' (DELAY_US 0: not killed, 600 s);
# only CMD itself is killed (--foreground), and timeout reaps it; RC is CMD's own status
# (--preserve-status: 137 only when the kill landed before CMD ended). Sets DUR (us).
killrun() {
	local d=$1 t0 t1
	shift
	[ "$d" -gt 0 ] || d=600000000
	d=$(us_to_s "$d")
	while :; do
		RC=0
		t0=$EPOCHREALTIME
		timeout --foreground --preserve-status -s KILL "$d" "$@" >"$W/out" 2>"$W/err" </dev/null || RC=$?
		t1=$EPOCHREALTIME
		DUR=$((${t1/./} - ${t0/./}))
		# not run at all: the binary is being rebuilt in this shared tree; run it again
		[[ $RC -eq 126 || $RC -eq 127 ]] && grep -q "failed to run command" "$W/err" || break
		wait_for_binary
	done
}

# wait_for_binary: until cryptlayer runs (60 s at most)
wait_for_binary() {
	local _
	for _ in $(seq 1 600); do
		"$CRYPTLAYER" --version >/dev/null 2>&1 && return 0
		sleep 0.1
	done
}

# state_of ID: what is left of ID (before recovery)
state_of() {
	local id=$1 s
	if [ -e "$CLRUN/$id.json" ]; then
		s="record $(sed -n 's/.*"state": *"\([a-z]*\)".*/\1/p' "$CLRUN/$id.json")"
	else
		s="no record"
	fi
	if [ -e "$CLRUN/$id.json.tmp" ]; then s+=", record.tmp"; fi
	if [ -e "$STORE/containers/$id" ]; then s+=", layer dir"; fi
	if [ -e "$STORE/keys/$id" ]; then s+=", key file"; fi
	if [ -e "$CLROOT/locks/$id" ]; then s+=", lock file"; fi
	if grep -q " $STORE/containers/$id/merged " /proc/self/mountinfo; then s+=", mounted"; fi
	echo "$s"
}

# after_kill OP ID: classify what the kill of OP left of ID and remember ID's key ids
# (KEYS) and its record as it was (SNAP); DELAY and RANGE are the round's
after_kill() {
	local op=$1 id=$2 out
	watch_sync
	STATE=$(state_of "$id")
	SNAP=$({ tr -d ' \n' <"$CLRUN/$id.json"; } 2>/dev/null || true)
	KEYS=$(keys_seen "$id")
	case $RC in
	0) out="completed" ;;
	137) out="killed: left $STATE" ;;
	*) if grep -q " is in use" "$W/err"; then out="exit $RC, refused: in use"; else out="exit $RC"; fi ;;
	esac
	CTX="$op $id: kill after $(us_to_s "$DELAY") s (range $(us_to_s "$RANGE") s; 0: not killed), exit $RC, left: $STATE; record: ${SNAP:-none}"
	# the measuring rounds (not killed) are checked like the others, not counted
	if [ "$DELAY" -gt 0 ]; then
		echo "$op: $out|$CTX" >>"$W/outcomes"
		echo "$op $DELAY $RANGE $RC" >>"$W/delays"
	fi
}

# problem MSG: remembered with the round's context; the test fails at its end
problem() {
	echo "$CTX => $*" >>"$BATS_TEST_TMPDIR/problems"
}

# backdate: records, layer directories and key files look older than gc's grace time
backdate() {
	touch -c -h -d '-2 minutes' "$CLRUN"/*.json "$STORE"/containers/* "$STORE/keys" \
		"$STORE"/keys/* 2>/dev/null || true
}

# cl_retry ARGS...: $CL ARGS, retried while another mount namespace (a parallel suite's
# 'unshare -m') briefly holds a copy of a mount; sets status and output
cl_retry() {
	local _
	for _ in $(seq 1 50); do
		# shellcheck disable=SC2086 # CL is a word list
		run $CLP "$@"
		[ "$status" -ne 0 ] || return 0
		[[ $output == *incompletely-removed* || $output == *"another mount namespace"* ]] || return 0
		sleep 0.1
	done
}

# recover IDS...: the user's recovery: gc, then 'destroy' of IDS (made by create/import)
recover() {
	local id
	backdate
	run $CL gc
	[ "$status" -eq 0 ] || problem "gc: exit $status: $output"
	for id in "$@"; do
		cl_retry destroy "$id"
		[ "$status" -eq 0 ] || problem "destroy $id: exit $status: $output"
	done
	watch_sync
	KEYS=$({ echo "$KEYS"; keys_seen "${1:-none}"; } | grep . | sort -u || true)
}

# check_gone ID: nothing of ID is left and every key in KEYS is absent; after a problem
# what is left is cleaned up, so the next rounds start clean
check_gone() {
	local id=$1 k st what=()
	for k in "$CLRUN/$id".json*; do
		if [ -e "$k" ]; then what+=("${k##*/}: '$(tr -d ' \n' <"$k")'"); fi
	done
	if [ -e "$STORE/containers/$id" ]; then what+=("directory containers/$id"); fi
	if [ -e "$STORE/keys/$id" ]; then what+=("key file keys/$id"); fi
	if [ -e "$CLROOT/locks/$id" ]; then what+=("lock file locks/$id"); fi
	if grep -q " $STORE/containers/$id/" /proc/self/mountinfo; then what+=("a mount"); fi
	for k in $KEYS; do
		st=$("$PROBE" key-status "$k" "$STORE")
		if [ "$st" != absent ]; then what+=("key $k $st"); fi
	done
	[ ${#what[@]} -eq 0 ] && return 0
	problem "left ${what[*]}"
	scrub "$id"
}

# scrub ID: remove by hand what a round left (after a problem was recorded)
scrub() {
	local id=$1 k
	$CL destroy "$id" >/dev/null 2>&1 || true
	umount "$STORE/containers/$id/merged" 2>/dev/null || true
	for k in $KEYS; do "$PROBE" remove-key "$k" "$STORE" >/dev/null 2>&1 || true; done
	rm -rf "$STORE/containers/$id" "$STORE/keys/$id" "$CLRUN/$id".json* "$CLROOT/locks/$id"
}

# finish_test NAME: the outcomes and the delay distribution of this test's ops to fd 3;
# fail with the problems, if any
finish_test() {
	local op
	{
		echo "# $1: outcomes"
		grep -E "^($TEST_OPS)" "$W/outcomes" | cut -d'|' -f1 | sort | uniq -c | sed 's/^/#   /'
		echo "# $1: delays drawn, by fifth of the measured range: killed/ended first"
		for op in $(awk '{print $1}' "$W/delays" | sort -u); do
			[[ $op =~ ^($TEST_OPS) ]] || continue
			awk -v op="$op" '$1 == op {
				n++; r = $3; b = int(5 * ($2 - 1) / $3); if (b > 4) b = 4
				if ($4 == 137) k[b]++; else c[b]++
			} END {
				printf "#   %-24s range %5.1f ms, %3d kills:", op, r / 1000, n
				for (b = 0; b < 5; b++) printf " %d/%d", k[b], c[b]
				printf "\n"
			}' "$W/delays"
		done
	} >&3
	if [ -s "$BATS_TEST_TMPDIR/problems" ]; then
		echo "$(wc -l <"$BATS_TEST_TMPDIR/problems") problems:" >&2
		sort "$BATS_TEST_TMPDIR/problems" | head -40 >&2
		return 1
	fi
}

# range_of DURS...: the kill range: the median measured run time, the first (warm-up) left
# out; most kills land inside the command, a few after it
range_of() {
	shift
	printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# ---- create and import ------------------------------------------------------------------

# round_create MODE DELAY_US: create a layer (MODE eph, pers, or newmk: persistent with a
# machine key created by this very command), killed after DELAY_US (0: not killed)
round_create() {
	local mode=$1 id cl=$CL args=() mk=""
	DELAY=$2
	ROUND=$((ROUND + 1))
	id=c$mode-$ROUND
	case $mode in
	pers) cl=$CLP args=(--key persistent) ;;
	newmk)
		mk=$W/mk-$ROUND/machine.key
		cl="$CL --machine-key file:$mk" args=(--key persistent)
		;;
	esac
	killrun "$DELAY" $cl create --base "$W/base" --id "$id" "${args[@]}"
	after_kill "create-$mode" "$id"
	case $RC in
	0) [ "$(cat "$W/out")" = "$STORE/containers/$id/merged" ] || problem "printed '$(cat "$W/out")'" ;;
	137) ;;
	*) problem "create failed: $(cat "$W/err")" ;;
	esac
	recover "$id"
	check_gone "$id"
	# the machine key is published whole or not at all
	if [ -n "$mk" ] && [ -e "$mk" ]; then
		[ "$(stat -c '%s %a' "$mk")" = "32 600" ] || problem "machine key $(stat -c '%s %a' "$mk")"
	fi
	return 0
}

@test "kill -9 during create (ephemeral, persistent, new machine key)" {
	local i mode ranges=() durs
	TEST_OPS=create-
	ROUND=0
	for mode in eph pers; do
		durs=()
		for i in 1 2 3 4 5 6; do
			RANGE=0
			round_create "$mode" 0
			durs+=("$DUR")
		done
		ranges+=("$(range_of "${durs[@]}")")
	done
	# the first persistent create with a new machine key path also makes the key
	durs=()
	for i in 1 2 3 4; do
		RANGE=0
		round_create newmk 0
		durs+=("$DUR")
	done
	ranges+=("$(range_of "${durs[@]}")")
	for i in $(seq 1 45); do
		RANGE=${ranges[0]} round_create eph "$(draw "${ranges[0]}")"
	done
	for i in $(seq 1 30); do
		RANGE=${ranges[1]} round_create pers "$(draw "${ranges[1]}")"
	done
	for i in $(seq 1 8); do
		RANGE=${ranges[2]} round_create newmk "$(draw "${ranges[2]}")"
	done
	finish_test create
}

# the archive import reads: a layer of a few MB exported to our identity
make_archive() {
	local m i
	"$CRYPTLAYER" keygen -o "$W/id" >/dev/null
	m=$($CL create --base "$W/base" --id src)
	for i in 1 2 3 4; do head -c 1M /dev/urandom >"$m/blob$i"; done
	mkdir -p "$m/usr/share/doc"
	cp -a /usr/share/doc/[a-c]* "$m/usr/share/doc/"
	$CL export src -o "$W/src.clx" -r "$W/id.pub" --quiet
	cl_retry destroy src
	assert_success
}

# round_import MODE DELAY_US: import the archive into a new layer (MODE eph or pers)
round_import() {
	local mode=$1 id cl=$CL args=()
	DELAY=$2
	ROUND=$((ROUND + 1))
	id=i$mode-$ROUND
	if [ "$mode" = pers ]; then cl=$CLP args=(--key persistent); fi
	killrun "$DELAY" $cl import "$W/src.clx" -i "$W/id" --base "$W/base" --id "$id" "${args[@]}"
	after_kill "import-$mode" "$id"
	case $RC in
	0)
		[ "$(cat "$W/out")" = "$STORE/containers/$id/merged" ] || problem "printed '$(cat "$W/out")'"
		cmp -s "$STORE/containers/$id/merged/blob3" "$W/blob3" || problem "blob3 differs"
		;;
	137) ;;
	*) problem "import failed: $(cat "$W/err")" ;;
	esac
	recover "$id"
	check_gone "$id"
}

@test "kill -9 during import of a few MB (ephemeral, persistent)" {
	local i mode ranges=() durs
	TEST_OPS=import-
	ROUND=0
	make_archive
	$CL import "$W/src.clx" -i "$W/id" --base "$W/base" --id ref >/dev/null
	cp "$STORE/containers/ref/merged/blob3" "$W/blob3"
	cl_retry destroy ref
	assert_success
	echo "# import: archive of $(($(stat -c %s "$W/src.clx") / 1024)) KiB" >&3
	for mode in eph pers; do
		durs=()
		for i in 1 2 3 4 5 6; do
			RANGE=0 round_import "$mode" 0
			durs+=("$DUR")
		done
		ranges+=("$(range_of "${durs[@]}")")
	done
	for i in $(seq 1 16); do
		RANGE=${ranges[0]} round_import eph "$(draw "${ranges[0]}")"
	done
	for i in $(seq 1 10); do
		RANGE=${ranges[1]} round_import pers "$(draw "${ranges[1]}")"
	done
	finish_test import
}

# ---- the stage hooks under runc -----------------------------------------------------------

# hook_setup: every stage hook runs through $W/hookwrap: cryptlayer under
# 'timeout -s KILL' with the delay in $W/hookdelay.STAGE (no file: not killed); it logs
# "start STAGE" and "end STAGE EXIT RUNTIME_US" to $W/hooklog. runc keeps its state in
# a root of this suite ($RUNC_ROOT).
hook_setup() {
	cat >"$W/hookwrap" <<WRAP
#!/bin/bash
stage=\${*: -1}
d=\$(cat "$W/hookdelay.\$stage" 2>/dev/null) || d=600
echo "start \$stage" >>"$W/hooklog"
s=\$EPOCHREALTIME
timeout --foreground --preserve-status -s KILL "\$d" "\$@"
rc=\$?
e=\$EPOCHREALTIME
echo "end \$stage \$rc \$((\${e/./} - \${s/./}))" >>"$W/hooklog"
exit \$rc
WRAP
	chmod +x "$W/hookwrap"
	export RUNC_ROOT=$W/runc
	hook_bundle "$W/hb-eph" ephemeral true
	# prints the marker, or (a new layer, or one whose data was lost) makes it
	hook_bundle "$W/hb-pers" persistent sh -c \
		'cat /secret 2>/dev/null || { m=PHK; echo "${m}-marker" >/secret; echo created; }'
}

# hook_bundle DIR KEYMODE CMD...: a bundle with prestart and poststop through hookwrap
hook_bundle() {
	local dir=$1 mode=$2 g
	shift 2
	make_bundle "$dir" prestart "$W/base" "$@"
	g=(--root "$CLROOT" --run-dir "$CLRUN")
	if [ "$mode" = persistent ]; then g+=(--machine-key "file:$MK"); fi
	jq --arg w "$W/hookwrap" --arg b "$CRYPTLAYER" --arg mode "$mode" \
		--argjson g "$(printf '%s\n' "${g[@]}" | jq -R . | jq -sc .)" '
		.hooks = {prestart: [{path: $w, args: ([$w, $b] + $g + ["hook", "prestart"])}],
			  poststop: [{path: $w, args: ([$w, $b] + $g + ["hook", "poststop"])}]}
		| if $mode == "persistent" then .annotations["io.cryptlayer.key"] = "persistent"
		  else . end' "$dir/config.json" >"$dir/config.json.new"
	mv "$dir/config.json.new" "$dir/config.json"
}

# wait_hooks: every hook started (a killed runc's too) has ended (10 s at most)
wait_hooks() {
	local _
	for _ in $(seq 1 1000); do
		[ "$(grep -c '^start' "$W/hooklog")" = "$(grep -c '^end' "$W/hooklog")" ] && return 0
		sleep 0.01
	done
	problem "hooks still running: $(cat "$W/hooklog")"
}

# hook_stat STAGE: "EXIT RUNTIME_US" of the first STAGE hook of the round, or nothing
hook_stat() {
	awk -v s="$1" '$1 == "end" && $2 == s { print $3, $4; exit }' "$W/hooklog"
}

# runc_cleanup NAME: the runtime's side of the user's recovery: what a killed runc left
# of container NAME (its processes, found in its cgroups, its state, its cgroups)
runc_cleanup() {
	local name=$1 cg pid
	for cg in /sys/fs/cgroup/*/"$name" /sys/fs/cgroup/"$name"; do
		[ -e "$cg/cgroup.procs" ] || continue
		for pid in $(cat "$cg/cgroup.procs"); do kill -9 "$pid" 2>/dev/null || true; done
	done
	runc --root "$RUNC_ROOT" delete -f "$name" >/dev/null 2>&1 || true
	wait_hooks
	rm -rf "${RUNC_ROOT:?}/$name"
	for cg in /sys/fs/cgroup/*/"$name" /sys/fs/cgroup/"$name"; do
		if [ -d "$cg" ]; then rmdir "$cg" 2>/dev/null || true; fi
	done
}

# check_locked ID: persistent layer ID is locked: no record, key absent, not mounted
check_locked() {
	local id=$1 k st what=()
	if [ -e "$CLRUN/$id.json" ]; then what+=("record: $(tr -d ' \n' <"$CLRUN/$id.json")"); fi
	if [ -e "$CLRUN/$id.json.tmp" ]; then what+=("$id.json.tmp"); fi
	for k in $KEYS; do
		st=$("$PROBE" key-status "$k" "$STORE")
		if [ "$st" != absent ]; then what+=("key $k $st"); fi
	done
	if grep -q " $W/hb-pers/rootfs " /proc/self/mountinfo; then what+=("a mount"); fi
	[ ${#what[@]} -eq 0 ] || problem "not locked after the recovery: ${what[*]}"
}

# round_hook MODE TARGET DELAY_US: a container (MODE eph: new name, 'true'; pers: the
# persistent layer $PHK, prints its marker) whose TARGET (runc, prestart or poststop) is
# killed after DELAY_US (0: nothing killed)
round_hook() {
	local mode=$1 target=$2 name b=$W/hb-$1 st
	DELAY=$3
	ROUND=$((ROUND + 1))
	if [ "$mode" = pers ]; then name=$PHK; else name=h$ROUND-$PHK; fi
	rm -f "$W"/hookdelay.*
	: >"$W/hooklog"
	if [ "$target" = runc ]; then
		killrun "$DELAY" runc --root "$RUNC_ROOT" run --bundle "$b" "$name"
		RUNC_RC=$RC
	else
		if [ "$DELAY" -gt 0 ]; then us_to_s "$DELAY" >"$W/hookdelay.$target"; fi
		killrun 0 runc --root "$RUNC_ROOT" run --bundle "$b" "$name"
		RUNC_RC=$RC
		st=$(hook_stat "$target")
		RC=${st% *} DUR=${st#* }
		if [ -z "$st" ]; then
			RC=-1 DUR=0
			problem "the $target hook did not run (runc: exit $RUNC_RC: $(cat "$W/err"))"
		fi
	fi
	wait_hooks
	PRE=$(hook_stat prestart) POST=$(hook_stat poststop)
	after_kill "hook-$mode-$target" "$name"
	# nothing killed: the container ran (and the persistent layer's data was there)
	if [ "$RC" = 0 ] && [ "$target" != poststop ]; then
		[ "$RUNC_RC" = 0 ] || problem "runc: exit $RUNC_RC: $(cat "$W/err")"
		if [ "$mode" = pers ] && [ "$(cat "$W/out")" != PHK-marker ]; then
			problem "the container printed '$(cat "$W/out")', not the marker"
		fi
	fi
	rm -f "$W"/hookdelay.*
	runc_cleanup "$name"
	recover
	if [ "$mode" = eph ]; then
		check_gone "$name"
		if grep -q " $b/rootfs " /proc/self/mountinfo; then problem "$b/rootfs mounted"; fi
		return 0
	fi
	check_locked "$name"
	# nothing lost: the next run of the container finds the marker, and locks it again
	: >"$W/hooklog"
	run runc --root "$RUNC_ROOT" run --bundle "$b" "$name"
	[ "$status" -eq 0 ] && [ "$output" = PHK-marker ] ||
		problem "the next run: exit $status: '$output' (the data was lost?)"
	wait_hooks
	runc_cleanup "$name"
	check_locked "$name"
}

@test "kill -9 of runc or of the prestart or poststop hook (ephemeral, persistent)" {
	local i t mode ranges=() durs_runc durs_pre durs_post targets=(runc prestart poststop)
	skip_if_no_runtime runc
	TEST_OPS=hook-
	ROUND=0
	PHK=$(safename)
	hook_setup
	# the persistent layer is made (and its marker written) by a first run
	run runc --root "$RUNC_ROOT" run --bundle "$W/hb-pers" "$PHK"
	assert_success
	assert_output created
	for mode in eph pers; do
		durs_runc=() durs_pre=() durs_post=()
		for i in 1 2 3 4 5 6; do
			RANGE=0 round_hook "$mode" runc 0
			durs_runc+=("$DUR") durs_pre+=("${PRE#* }") durs_post+=("${POST#* }")
		done
		ranges+=("$(range_of "${durs_runc[@]}")" "$(range_of "${durs_pre[@]}")" \
			"$(range_of "${durs_post[@]}")")
	done
	# runc, prestart and poststop in turn; ranges: runc, prestart, poststop of eph, of pers
	for i in $(seq 0 41); do
		t=$((i % 3))
		RANGE=${ranges[t]} round_hook eph "${targets[t]}" "$(draw "${ranges[t]}")"
	done
	for i in $(seq 0 23); do
		t=$((i % 3))
		RANGE=${ranges[t + 3]} round_hook pers "${targets[t]}" "$(draw "${ranges[t + 3]}")"
	done
	KEYS=$(keys_seen "$PHK")
	cl_retry destroy "$PHK"
	assert_success
	check_gone "$PHK"
	finish_test hooks
}

# ---- lock, unlock, destroy ----------------------------------------------------------------

# new_keeper ID: a persistent layer with a marker (assembled here, in no argv)
new_keeper() {
	local m x=KEEP
	m=$($CLP create --base "$W/base" --id "$1" --key persistent)
	echo "${x}-$1-marker" >"$m/secret"
}

# note_state OP ID: how the recovery left persistent layer ID (counted as "OP after gc")
note_state() {
	local op=$1 id=$2 k st="" what
	k=$(jq -r .key_id "$STORE/containers/$id/layer.json")
	if [ -e "$CLRUN/$id.json" ]; then
		st="record $(jq -r .state "$CLRUN/$id.json")"
	else
		st="no record"
	fi
	if grep -q " $STORE/containers/$id/merged " /proc/self/mountinfo; then st+=", mounted"; fi
	st+=", key $("$PROBE" key-status "$k" "$STORE")"
	case $st in
	"no record, key absent") what=locked ;;
	"record running, mounted, key present") what=unlocked ;;
	*) what="half: $st" ;;
	esac
	if [ "$DELAY" -gt 0 ]; then echo "$op (after the recovery): $what|$CTX" >>"$W/outcomes"; fi
	# a key in the kernel that no mount uses: the layer's files are plaintext under
	# containers/ID/crypt to anyone on the host, and nothing will remove it
	if [[ $st == *"key present"* && $st != *mounted* ]]; then
		problem "after the recovery: $st (the key is present, nothing is mounted)"
	fi
}

# check_keeper ID: nothing lost: 'unlock' works and the marker is intact
check_keeper() {
	local id=$1 got
	cl_retry unlock "$id"
	if [ "$status" -ne 0 ]; then
		problem "unlock $id: exit $status: $output"
		return 0
	fi
	got=$(cat "$STORE/containers/$id/merged/secret" 2>&1 || true)
	[ "$got" = "KEEP-$id-marker" ] || problem "marker of $id: '$got'"
	run $CL status "$id" --json
	[ "$(jq -r '"\(.key_status) \(.mounted)"' <<<"$output")" = "present true" ] ||
		problem "status after unlock: $output"
}

# round_keeper OP ID DELAY_US: OP (lock, unlock) of persistent layer ID killed; the
# layer is unlocked before a lock, locked before an unlock
round_keeper() {
	local op=$1 id=$2
	DELAY=$3
	if [ "$op" = lock ]; then cl_retry unlock "$id"; else cl_retry lock "$id"; fi
	[ "$status" -eq 0 ] || problem "before $op: exit $status: $output"
	killrun "$DELAY" $CLP "$op" "$id"
	after_kill "$op" "$id"
	case $RC in
	0 | 137) ;;
	# a private mount namespace made meanwhile (a parallel suite) holds a copy
	*) [[ $(cat "$W/err") == *incompletely-removed* ||
		$(cat "$W/err") == *"another mount namespace holds"* ]] || problem "$op: $(cat "$W/err")" ;;
	esac
	recover
	note_state "$op" "$id"
	check_keeper "$id"
}

# round_refused DELAY_US: destroy of persistent layer kref, which a mount namespace holds
round_refused() {
	DELAY=$1
	killrun "$DELAY" $CL destroy kref
	after_kill destroy-refused kref
	case $RC in
	137) ;;
	1) [[ $(cat "$W/err") == *"another mount namespace holds"* ]] ||
		problem "destroy: $(cat "$W/err")" ;;
	*) problem "destroy of a layer in use: exit $RC: $(cat "$W/err")" ;;
	esac
	recover
	note_state destroy-refused kref
	[ "$(cat "$STORE/containers/kref/merged/secret" 2>&1)" = KEEP-kref-marker ] ||
		problem "kref lost its data: $(cat "$STORE/containers/kref/merged/secret" 2>&1)"
}

# round_destroy MODE DELAY_US: destroy of a new layer (MODE eph, pers) killed
round_destroy() {
	local mode=$1 id args=()
	DELAY=$2
	ROUND=$((ROUND + 1))
	id=d$mode-$ROUND
	if [ "$mode" = pers ]; then args=(--key persistent); fi
	run $CLP create --base "$W/base" --id "$id" "${args[@]}"
	[ "$status" -eq 0 ] || problem "create: $output"
	echo data >"$STORE/containers/$id/merged/file"
	killrun "$DELAY" $CL destroy "$id"
	after_kill "destroy-$mode" "$id"
	case $RC in
	0 | 137) ;;
	# a private mount namespace made meanwhile (a parallel suite's 'unshare -m') holds
	# a copy of the mount: refused, changing nothing (the recovery retries)
	1) [[ $(cat "$W/err") == *"another mount namespace holds"* ]] ||
		problem "destroy: exit $RC: $(cat "$W/err")" ;;
	*) problem "destroy: exit $RC: $(cat "$W/err")" ;;
	esac
	recover "$id"
	check_gone "$id"
}

# start_holder: a process in a private mount namespace holding a copy of kref's mount
start_holder() {
	local _ ns
	ns=$(readlink /proc/self/ns/mnt)
	unshare -m --propagation private sleep 3600 </dev/null >/dev/null 2>&1 3>&- &
	HOLDER=$!
	for _ in $(seq 1 500); do
		if [ "$(readlink "/proc/$HOLDER/ns/mnt")" != "$ns" ] &&
			[ "$(cat "/proc/$HOLDER/comm")" = sleep ]; then
			return 0
		fi
		sleep 0.01
	done
	fail "the holder did not start"
}

@test "kill -9 during lock, unlock, destroy (refused while in use, ephemeral, persistent)" {
	local i op mode ranges=() durs id
	TEST_OPS="lock|unlock|destroy-"
	ROUND=0
	for id in klock kunl kref; do new_keeper "$id"; done
	for op in lock:klock unlock:kunl; do
		durs=()
		for i in 1 2 3 4 5 6; do
			RANGE=0 round_keeper "${op%:*}" "${op#*:}" 0
			durs+=("$DUR")
		done
		ranges+=("$(range_of "${durs[@]}")")
	done
	for i in $(seq 1 16); do
		RANGE=${ranges[0]} round_keeper lock klock "$(draw "${ranges[0]}")"
		RANGE=${ranges[1]} round_keeper unlock kunl "$(draw "${ranges[1]}")"
	done
	# a namespace made now holds kref's mount only (the other layers are locked, and
	# later mounts do not propagate into it)
	for id in klock kunl; do
		cl_retry lock "$id"
		assert_success
	done
	start_holder
	durs=()
	for i in 1 2 3 4 5 6; do
		RANGE=0 round_refused 0
		durs+=("$DUR")
	done
	ranges+=("$(range_of "${durs[@]}")")
	for i in $(seq 1 12); do
		RANGE=${ranges[2]} round_refused "$(draw "${ranges[2]}")"
	done
	# the holder gone, kref can be locked, and its data is there
	kill "$HOLDER"
	wait "$HOLDER" || true
	cl_retry lock kref
	assert_success
	check_keeper kref
	for mode in eph pers; do
		durs=()
		for i in 1 2 3 4 5 6; do
			RANGE=0 round_destroy "$mode" 0
			durs+=("$DUR")
		done
		ranges+=("$(range_of "${durs[@]}")")
	done
	for i in $(seq 1 14); do
		RANGE=${ranges[3]} round_destroy eph "$(draw "${ranges[3]}")"
		RANGE=${ranges[4]} round_destroy pers "$(draw "${ranges[4]}")"
	done
	# the keepers erased: nothing is left at all
	for id in klock kunl kref; do
		KEYS=$(keys_seen "$id")
		cl_retry destroy "$id"
		assert_success
		check_gone "$id"
	done
	finish_test lock
}

@test "create killed after the kernel added its key, before the record named it: gc finds the key" {
	local fault=$TOP/build-fault/cryptlayer id pid key status named prov
	make -C "$TOP" B=build-fault FAULT=1 all >/dev/null
	id=$(safename)
	# stopped at its second record write (the first is the record before anything): the
	# key is in the kernel, the record does not name it; FAULT_AT (never reached) names it
	CRYPTLAYER_FAULT_AT=100000 CRYPTLAYER_FAULT_STOP=renameat@2 $fault --root "$CLROOT" \
		--run-dir "$CLRUN" create --base "$W/base" --id "$id" >"$W/out" 2>"$W/err" &
	pid=$!
	wait_until grep -q '^State:.*stopped' "/proc/$pid/status" || true
	# what the stop shows, taken before the kill (a failed check must not leave it stopped,
	# holding the layer's lock)
	key=$(sed -n 's/^cryptlayer-fault-key: //p' "$W/err")
	status=$("$PROBE" key-status "${key:-none}" "$STORE" 2>&1 || true)
	named=$(jq -r '.key_id // "none"' "$CLRUN/$id.json" 2>&1 || true)
	prov=$(provisioned "$id")
	kill -9 "$pid"
	wait "$pid" || true
	[ -n "$key" ] || { cat "$W/err"; false; }
	assert_equal "$status" present
	assert_equal "$named" none
	[[ $prov == "cryptlayer:$STORE:$id:"* ]] || fail "provisioning key: '$prov'"
	find "$CLRUN" "$STORE/containers" -maxdepth 1 -name "$id*" -exec touch -d '-2 minutes' {} +
	run_cryptlayer gc
	run "$PROBE" key-status "$key" "$STORE"
	assert_output absent
	run provisioned "$id"
	assert_output ""
	assert_store_empty
}

@test "after all kills: no layer, record, lock file or key file is left in the store" {
	assert_store_empty
	# no provisioning key left either (a key added but not yet named when killed)
	run provisioned ""
	assert_output ""
	# every key any record ever named is absent
	local k n=0
	for k in $(awk 'length($2) == 32 { print $2 }' "$W/seen" | sort -u); do
		run "$PROBE" key-status "$k" "$STORE"
		assert_output absent
		n=$((n + 1))
	done
	echo "# $n distinct key ids seen in records, all absent" >&3
}
