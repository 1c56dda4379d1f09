#!/usr/bin/env bats
# Races (issue 14): every decision about a layer is taken under its id's lock, so
# operations that run at the same time are serialised: create vs destroy of one id, gc
# in a loop vs create/destroy (and containers) in a loop, 50 parallel creates and
# destroys, 20 parallel creates of one id, gc vs podman start/stop. No failure but a
# clear "already exists"/"busy" error, and nothing is left at the end: no key present
# (every key id a record ever named, kept by a background watcher), no mount, layer
# directory, key file, record or lock file.

# shellcheck disable=SC2030,SC2031 # each test runs in its own subshell, by design
# shellcheck disable=SC2086 # $CL, $CLP and $cl are word lists

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
	setup_store
	export W=$BATS_FILE_TMPDIR
	make_base "$W/base"
	export MK=$W/mk/machine.key
	export CLP="$CL --machine-key file:$MK"
	# the machine key exists before the races (its own creation race is not ours here)
	$CLP create --base "$W/base" --id first --key persistent >/dev/null
	$CL destroy first
	start_watcher
}

teardown_file() {
	stop_watcher
	teardown_store
}

teardown() {
	stop_gc_loop
	if [ -n "${PODMAN_ARGS:-}" ]; then teardown_podman; fi
}

# all_keys_seen: every key id any record named so far
all_keys_seen() {
	watch_sync
	awk 'length($2) == 32 { print $2 }' "$W/seen" | sort -u
}

# ---- checks -------------------------------------------------------------------------------

# assert_all_clean: no layer, key file, lock file, record (or record.tmp) or layer mount
# is left, and every key a record ever named is absent
assert_all_clean() {
	local k n=0 bad=()
	assert_store_empty
	for k in $(all_keys_seen); do
		n=$((n + 1))
		[ "$("$PROBE" key-status "$k" "$STORE")" = absent ] || bad+=("$k")
	done
	[ ${#bad[@]} -eq 0 ] || fail "keys still present: ${bad[*]}"
	echo "#   all clean: $n distinct key ids seen so far, all absent" >&3
}

# clear_error FILE: FILE (a failed command's stderr) is one clear "exists" or "busy" line
clear_error() {
	local text re='^cryptlayer: [a-z]+: .*(already exists|is being created|is in use|[Bb]usy)'
	text=$(cat "$1")
	[ "$(wc -l <"$1")" -eq 1 ] && [[ $text =~ $re ]]
}

# destroy_retry ID: destroy, retried while a private mount namespace made meanwhile (a
# parallel suite's container or 'unshare -m') holds a copy of the layer's mount: that
# refusal is right, and passes; sets status and output
destroy_retry() {
	local _
	for _ in $(seq 1 100); do
		run $CL destroy "$1"
		[[ $status -ne 0 && $output == *"another mount namespace holds"* ]] || return 0
		sleep 0.05
	done
}

# layer_ok ID: ID is mounted, its key present, and its merged dir shows the base
layer_ok() {
	local out
	out=$($CL status "$1" --json) || return 1
	[ "$(jq -r '"\(.key_status) \(.mounted)"' <<<"$out")" = "present true" ] || return 1
	[ "$(cat "$STORE/containers/$1/merged/etc/base-file")" = base-file ]
}

# ---- the gc loop ----------------------------------------------------------------------------

# start_gc_loop [backdate]: gc over and over in the background; with "backdate",
# everything is made to look older than gc's grace time before each run (so only the
# liveness checks protect what is being made); each run's exit status and output go to
# $W/gc.log
start_gc_loop() {
	local backdate=${1:-}
	: >"$W/gc.log"
	touch "$W/gc.run"
	(
		while [ -e "$W/gc.run" ]; do
			[ -z "$backdate" ] || touch -c -h -d '-2 minutes' "$CLRUN"/*.json \
				"$STORE"/containers/* "$STORE/keys" "$STORE"/keys/* 2>/dev/null
			out=$($CL gc 2>&1)
			echo "gc exit $? ${out//$'\n'/ / }" >>"$W/gc.log"
		done
	) </dev/null >/dev/null 2>&1 3>&- &
	GC_PID=$!
}

stop_gc_loop() {
	[ -n "${GC_PID:-}" ] || return 0
	rm -f "$W/gc.run"
	wait "$GC_PID" || true
	GC_PID=
}

# ---- the races ------------------------------------------------------------------------------

@test "create X vs destroy X in parallel, 80 rounds: serialised, no failure, nothing left" {
	local i cl args pc pd rc_c rc_d first kept=0 gone=0
	for i in $(seq 1 80); do
		cl=$CL args=()
		if [ $((i % 4)) -eq 0 ]; then cl=$CLP args=(--key persistent); fi
		first=$((RANDOM % 2))
		if [ "$first" -eq 0 ]; then
			$cl create --base "$W/base" --id X "${args[@]}" >"$W/c.out" 2>"$W/c.err" &
			pc=$!
			$CL destroy X >"$W/d.out" 2>"$W/d.err" &
			pd=$!
		else
			$CL destroy X >"$W/d.out" 2>"$W/d.err" &
			pd=$!
			$cl create --base "$W/base" --id X "${args[@]}" >"$W/c.out" 2>"$W/c.err" &
			pc=$!
		fi
		rc_c=0 rc_d=0
		wait "$pc" || rc_c=$?
		wait "$pd" || rc_d=$?
		if [ "$rc_c" -ne 0 ]; then
			clear_error "$W/c.err" || fail "round $i: create: exit $rc_c: $(cat "$W/c.err")"
		else
			assert_equal "$(cat "$W/c.out")" "$STORE/containers/X/merged"
		fi
		if [ "$rc_d" -ne 0 ]; then
			clear_error "$W/d.err" || fail "round $i: destroy: exit $rc_d: $(cat "$W/d.err")"
		fi
		# either order is fine, but the result is whole: a healthy layer or nothing
		if [ -e "$CLRUN/X.json" ]; then
			layer_ok X || fail "round $i: half a layer: $($CL status X --json 2>&1)"
			kept=$((kept + 1))
		else
			[ ! -e "$STORE/containers/X" ] || fail "round $i: a directory without a record"
			gone=$((gone + 1))
		fi
		destroy_retry X
		assert_success
		[ ! -e "$CLROOT/locks/X" ] || fail "round $i: the lock file stayed"
	done
	echo "#   create vs destroy: $kept rounds destroy first (the layer stays), $gone create first (destroyed)" >&3
	assert_all_clean
}

@test "gc in a loop vs create/destroy in a loop and runc containers: nothing live is touched" {
	local i id cl args rc n_gc b name
	skip_if_no_runtime runc
	b=$W/bundle
	make_bundle "$b" prestart "$W/base" sh -c 'cat /etc/base-file && echo w >/written'
	start_gc_loop backdate
	for i in $(seq 1 40); do
		id=g$i cl=$CL args=()
		if [ $((i % 3)) -eq 0 ]; then cl=$CLP args=(--key persistent); fi
		run $cl create --base "$W/base" --id "$id" "${args[@]}"
		[ "$status" -eq 0 ] || fail "create $id: exit $status: $output"
		layer_ok "$id" || fail "gc touched $id: $($CL status "$id" --json 2>&1)"
		echo data >"$STORE/containers/$id/merged/file"
		# a container (hook layer) in between, every other round
		if [ $((i % 2)) -eq 0 ]; then
			name=$(safename)
			run runc --root "$W/runc" run --bundle "$b" "$name"
			[ "$status" -eq 0 ] && [ "$output" = base-file ] ||
				fail "runc $name: exit $status: $output ($(grep "$name" "$CLRUN/cryptlayer.log"))"
			[ ! -e "$STORE/containers/$name" ] || fail "the layer of $name stayed"
		fi
		[ "$(cat "$STORE/containers/$id/merged/file")" = data ] || fail "$id lost its data"
		destroy_retry "$id"
		[ "$status" -eq 0 ] || fail "destroy $id: exit $status: $output"
	done
	stop_gc_loop
	n_gc=$(wc -l <"$W/gc.log")
	echo "#   $n_gc gc runs during 40 create/destroy and 20 container runs" >&3
	[ "$n_gc" -ge 5 ] || fail "only $n_gc gc runs"
	# gc never failed, and never reclaimed a layer made by create
	run grep -v '^gc exit 0 ' "$W/gc.log"
	assert_output ""
	run grep -E 'reclaimed +g[0-9]+ ' "$W/gc.log"
	assert_output ""
	# (a hook layer whose container exited before its poststop ran is gc's to reclaim)
	grep -o 'reclaimed [^(]*([^)]*)' "$W/gc.log" | sed 's/^reclaimed *[^ ]* *//' | sort |
		uniq -c | sed 's/^ *\([0-9]*\) /#   gc reclaimed \1 hook layers /' >&3 || true
	run $CL gc
	assert_success
	assert_all_clean
}

@test "50 parallel creates, then 50 parallel destroys (distinct ids)" {
	local i pids=() rc bad=() keys busy=0
	for i in $(seq 1 50); do
		if [ $((i % 5)) -eq 0 ]; then
			$CLP create --base "$W/base" --id "p$i" --key persistent >"$W/p$i.out" 2>"$W/p$i.err" &
		else
			$CL create --base "$W/base" --id "p$i" >"$W/p$i.out" 2>"$W/p$i.err" &
		fi
		pids[i]=$!
	done
	for i in $(seq 1 50); do
		rc=0
		wait "${pids[i]}" || rc=$?
		[ "$rc" -eq 0 ] || bad+=("p$i: exit $rc: $(cat "$W/p$i.err")")
	done
	[ ${#bad[@]} -eq 0 ] || fail "creates failed: ${bad[*]}"
	for i in $(seq 1 50); do
		assert_equal "$(cat "$W/p$i.out")" "$STORE/containers/p$i/merged"
		layer_ok "p$i" || fail "p$i: $($CL status "p$i" --json 2>&1)"
	done
	# 50 distinct keys, one per layer
	keys=$($CL list --json | jq -r '.[].key_id' | sort -u | wc -l)
	assert_equal "$keys" 50
	pids=()
	for i in $(seq 1 50); do
		$CL destroy "p$i" >"$W/p$i.out" 2>"$W/p$i.err" &
		pids[i]=$!
	done
	for i in $(seq 1 50); do
		rc=0
		wait "${pids[i]}" || rc=$?
		[ "$rc" -eq 0 ] && continue
		if clear_error "$W/p$i.err"; then
			busy=$((busy + 1))
			destroy_retry "p$i"
			[ "$status" -eq 0 ] || bad+=("p$i: exit $status: $output")
		else
			bad+=("p$i: exit $rc: $(cat "$W/p$i.err")")
		fi
	done
	[ ${#bad[@]} -eq 0 ] || fail "destroys failed: ${bad[*]}"
	echo "#   50 parallel destroys: $busy refused as busy (then done)" >&3
	assert_all_clean
}

# same_id_round MODE: 20 parallel creates (or imports) of one id: exactly one succeeds,
# the others fail with one clear "already exists"/"busy" line and leave nothing behind
same_id_round() {
	local mode=$1 id=same-$1 i pids=() rc ok=0 refused=0 bad=() key
	for i in $(seq 1 20); do
		case $mode in
		eph) $CL create --base "$W/base" --id "$id" >"$W/s$i.out" 2>"$W/s$i.err" & ;;
		pers) $CLP create --base "$W/base" --id "$id" --key persistent >"$W/s$i.out" 2>"$W/s$i.err" & ;;
		import) $CL import "$W/a.clx" -i "$W/id" --base "$W/base" --id "$id" >"$W/s$i.out" 2>"$W/s$i.err" & ;;
		esac
		pids[i]=$!
	done
	for i in $(seq 1 20); do
		rc=0
		wait "${pids[i]}" || rc=$?
		if [ "$rc" -eq 0 ]; then
			ok=$((ok + 1))
			assert_equal "$(cat "$W/s$i.out")" "$STORE/containers/$id/merged"
		elif clear_error "$W/s$i.err"; then
			refused=$((refused + 1))
			[ ! -s "$W/s$i.out" ] || bad+=("s$i printed '$(cat "$W/s$i.out")'")
		else
			bad+=("s$i: exit $rc: $(cat "$W/s$i.err")")
		fi
	done
	[ ${#bad[@]} -eq 0 ] || fail "$mode: ${bad[*]}"
	assert_equal "$ok" 1
	layer_ok "$id" || fail "$id: $($CL status "$id" --json 2>&1)"
	# only the winner's key was ever added: every key a record of the id named is absent
	# but the one the layer uses
	key=$($CL status "$id" --json | jq -r .key_id)
	watch_sync
	for i in $(awk -v id="$id" '$1 == id && length($2) == 32 { print $2 }' "$W/seen" | sort -u); do
		if [ "$i" != "$key" ]; then
			[ "$("$PROBE" key-status "$i" "$STORE")" = absent ] || fail "key $i of a loser is present"
		fi
	done
	sort "$W"/s*.err | uniq -c | sed "s/^ */#   $mode: /" >&3
	rm -f "$W"/s*.err "$W"/s*.out
	destroy_retry "$id"
	assert_success
}

@test "20 parallel creates of the same id: exactly one wins, the others fail clearly" {
	local m
	"$CRYPTLAYER" keygen -o "$W/id" >/dev/null
	m=$($CL create --base "$W/base" --id asrc)
	head -c 2M /dev/urandom >"$m/blob"
	$CL export asrc -o "$W/a.clx" -r "$W/id.pub" --quiet
	destroy_retry asrc
	assert_success
	for m in eph pers import eph pers; do
		same_id_round "$m"
	done
	assert_all_clean
}

@test "gc in a loop vs podman start/stop of an enabled container" {
	local name id i key
	make_hooks_dir "$W/hooks.d"
	setup_podman "$W/hooks.d"
	name=$(safename)
	id=$(pod create --name "$name" --runtime=runc "${RUN_OPTS[@]}" \
		--annotation io.cryptlayer.enable=true clbase sh -c 'touch /ready; exec sleep 600')
	# not backdated: between precreate and the runtime's create only gc's grace time
	# protects a podman layer (no process of the container exists yet)
	start_gc_loop
	for i in $(seq 1 12); do
		run pod start "$name"
		[ "$status" -eq 0 ] || fail "start $i: $output ($(grep "$id" "$CLRUN/cryptlayer.log" | tail -3))"
		wait_for_file "$STORE/containers/$id/crypt/upper/ready"
		run $CL status "$id" --json
		assert_success
		key=$(jq -r .key_id <<<"$output")
		assert_equal "$(jq -r .key_status <<<"$output")" present
		run pod stop -t 0 "$name"
		[ "$status" -eq 0 ] || fail "stop $i: $output"
		# stopped: the layer is erased (poststop, or gc), key absent
		[ ! -e "$STORE/containers/$id" ] || fail "stop $i: the layer stayed"
		[ "$("$PROBE" key-status "$key" "$STORE")" = absent ] || fail "stop $i: key $key present"
	done
	stop_gc_loop
	echo "#   $(wc -l <"$W/gc.log") gc runs during 12 podman start/stop" >&3
	run grep -v '^gc exit 0 ' "$W/gc.log"
	assert_output ""
	run pod rm -f -t 0 "$name"
	assert_success
	run $CL gc
	assert_success
	assert_all_clean
}
