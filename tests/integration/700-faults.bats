#!/usr/bin/env bats
# Fault injection (issue 14): with the FAULT=1 build (tests/fault/fault.c), the Nth
# side-effecting call (mount, ioctl, write, rename, mkdir, unlink, ...) of each command
# fails, for N = 1, 2, ... until a run no longer reaches the Nth. After each run: exit 1
# with one clear error line, and after one gc or retry no layer mount, key (every key the
# run added, as the fault build names them), layer directory, key file, record or lock
# file is left; a persistent layer keeps its data and unlocks. A creation that fails
# (create, import, precreate) must leave nothing even before gc, an unlock that fails
# leaves the layer locked with its key file and descriptor unchanged.
#
# Exit 0 with the fault fired is accepted where the fault hit a best-effort step, and only
# with the layer right all the same: create, import, unlock, prestart, precreate: the
# layer is mounted with its key and data (the container ran on it); destroy, poststop:
# the layer is gone (its lock file may wait for the retry or gc: removing it is best
# effort); lock: the layer is locked; export: the output decrypts to the layer. Seen so
# far: the hook's log file not opened, the layer's lock file not removed, poststop's pass
# over removed containers' layers, a key-status query before an unlock.
#
# Not counted (tests/fault/fault.c): libarchive's own writes while import unpacks, and
# libmount's loop mount of the store.

# shellcheck disable=SC2086 # CL and CLP are word lists
# the fault build: its binary, its probe (made by setup_file when missing)
CRYPTLAYER=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)/build-fault/cryptlayer
load helpers
PROBE=$TOP/build-fault/tests/fscrypt-probe
bats_require_minimum_version 1.5.0

MAX_POINTS=300	# a walk longer than this is a runaway
MAX_BAD=10	# runs with a problem before a walk gives up

setup_file() {
	skip_if_not_root
	if [ ! -x "$CRYPTLAYER" ] || [ ! -x "$PROBE" ]; then
		make -C "$TOP" B=build-fault FAULT=1 all build-fault/tests/fscrypt-probe >/dev/null
	fi
	export W=$BATS_FILE_TMPDIR
	setup_store
	export BASE=$W/base MK=$W/mk/machine.key
	export CLP="$CL --machine-key file:$MK"
	make_base "$BASE"
	# the btrfs backend's walk: a base subvolume on a btrfs loop filesystem
	if command -v mkfs.btrfs >/dev/null; then
		export BTR=$W/btr
		make_btrfs_base "$W/btrfs.img" "$BTR" 512M
	fi
	mkdir -p "$W/mk-walk"
	# the machine key exists before the walks that do not create it (their call counts
	# stay the same from one N to the next)
	$CLP create --base "$BASE" --id fc-setup --key persistent >/dev/null
	$CLP destroy fc-setup
	"$CRYPTLAYER" keygen -o "$W/id" >/dev/null
	# hooks get no environment: a wrapper sets CRYPTLAYER_FAULT_AT from $W/at-STAGE and
	# keeps the hook's stderr and exit status ($W/err-STAGE, $W/rc-STAGE)
	cat >"$W/hook-wrapper" <<EOF
#!/bin/sh
tag=\$1
shift
if [ -s "$W/at-\$tag" ]; then
	CRYPTLAYER_FAULT_AT=\$(cat "$W/at-\$tag")
	export CRYPTLAYER_FAULT_AT
fi
"$CRYPTLAYER" "\$@" 2>>"$W/err-\$tag"
rc=\$?
echo \$rc >"$W/rc-\$tag"
exit \$rc
EOF
	chmod +x "$W/hook-wrapper"
	# podman: precreate through the wrapper, poststop as installed (no fault)
	if command -v podman >/dev/null; then
		make_hooks_dir "$W/hooks.d"
		jq --arg w "$W/hook-wrapper" \
			'.hook.path = $w | .hook.args = [$w, "precreate"] + .hook.args[1:]' \
			"$W/hooks.d/cryptlayer-precreate.json" >"$W/precreate.json"
		mv "$W/precreate.json" "$W/hooks.d/cryptlayer-precreate.json"
		setup_podman "$W/hooks.d"
	fi
}

# every walk starts from an empty store, whatever the last one left
teardown() {
	[ -n "${CL:-}" ] || return 0
	reset_layers all
	force_clean
}

teardown_file() {
	local id
	[ -n "${CL:-}" ] || return 0
	teardown_podman
	for id in $($CL list --json 2>/dev/null | jq -r '.[].id' 2>/dev/null); do
		$CLP destroy "$id" >/dev/null 2>&1 || true
	done
	teardown_store
	[ -z "${BTR:-}" ] || umount "$BTR" 2>/dev/null || true
}

# ---- one run with a fault -------------------------------------------------------------

# Another suite's container made meanwhile (a mount namespace copies every mount of the
# host) holds our merged mount for a while: lock and destroy then refuse, rightly. Not a
# fault: wait and run again.
BUSY="another mount namespace holds|incompletely-removed"

# took ERRFILE: what a run said on stderr: FIRED (the failed call's symbol, empty when
# the Nth call was not reached), ERR (stderr without the fault lines); the keys it added
# go to $W/keys
took() {
	FIRED=$(sed -n 's/^cryptlayer-fault: call [0-9]* (\(.*\)) failed$/\1/p' "$1")
	sed -n 's/^cryptlayer-fault-key: //p' "$1" >>"$W/keys"
	ERR=$(grep -v '^cryptlayer-fault' "$1" || true)
}

# fault_cli N OUT CMD...: CMD with call N failing, stdout to OUT; sets RC, FIRED, ERR
fault_cli() {
	local n=$1 out=$2 _
	shift 2
	for _ in $(seq 30); do
		RC=0
		CRYPTLAYER_FAULT_AT=$n "$@" >"$out" 2>"$W/err" </dev/null || RC=$?
		took "$W/err"
		[ "$RC" -ne 0 ] && [[ $ERR =~ $BUSY ]] || return 0
		echo "# (busy, run again: $ERR)"
		sleep 0.5
	done
}

# again CMD...: CMD without a fault, run again while busy (see BUSY); output in $W/again
again() {
	local _ rc
	for _ in $(seq 30); do
		rc=0
		"$@" >"$W/again" 2>&1 </dev/null || rc=$?
		[ "$rc" -ne 0 ] && grep -Eq "$BUSY" "$W/again" || return "$rc"
		sleep 0.5
	done
	return "$rc"
}

# problem TEXT: note what is wrong with this N (the walk goes on, and fails at its end)
problem() {
	PROBLEMS+=("$WHAT: N=$N${FIRED:+ ($FIRED)}: $*")
	echo "PROBLEM: ${PROBLEMS[-1]}"
}

# finding TEXT: the same problem seen at many N: one problem at the end, naming them all
finding() {
	echo "FINDING: $WHAT: N=$N${FIRED:+ ($FIRED)}: $*"
	FINDINGS[$*]+="$N${FIRED:+ ($FIRED)}, "
}

# outcome CMD: exit 0, or exit 1 with one line "cryptlayer: CMD: ..."; a fault that left
# exit 0 is noted as absorbed (the step then checks the layer is right). Return: 0 when
# the run failed, 1 when it succeeded.
outcome() {
	local cmd=$1
	echo "# $WHAT N=$N: fault ${FIRED:-none}, exit $RC${ERR:+: $ERR}"
	if [ "$RC" -eq 0 ]; then
		[ -z "$FIRED" ] || ABSORBED+=("$N ($FIRED)")
		return 1
	fi
	[ -n "$FIRED" ] || problem "exit $RC without a fault: $ERR"
	[ "$RC" -eq 1 ] || problem "exit $RC, not 1"
	[ "$(wc -l <<<"$ERR")" -eq 1 ] && [[ $ERR == "cryptlayer: $cmd: "* ]] ||
		problem "not one error line 'cryptlayer: $cmd: ...': '$ERR'"
	return 0
}

# gc_old: one gc, with records, layer directories and key files past its grace time
gc_old() {
	local d
	find "$CLRUN" -maxdepth 1 -name '*.json' -exec touch -d '-2 minutes' {} +
	for d in "$STORE/containers" "$STORE/keys" "$STORE/nest"; do
		[ ! -d "$d" ] || find "$d" -mindepth 1 -maxdepth 1 -exec touch -d '-2 minutes' {} +
	done
	$CL gc >"$W/gc.out" 2>&1 || problem "gc: exit $?: $(cat "$W/gc.out")"
}

# leftovers [ID...]: what is left of any layer but the persistent layers ID (made by
# new_persistent), one per line: "mount PATH", "key HEX STATUS" (of the keys this N
# added), "path PATH" (layer directories, key files, lock files, records and their
# temporary files, notes of snapshots), "snap PATH" (btrfs snapshots), "provisioned DESC"
# (a provisioning key: lib/fscrypt/provision.c)
leftovers() {
	local k s d id keep='^$' keys='^$'
	for id in "$@"; do
		keep="$keep|^$id(\\.json)?\$"
		keys="$keys|^$(jq -r .key_id "$W/saved-$id/desc")\$"
	done
	grep " $STORE/containers/" /proc/self/mountinfo | cut -d' ' -f5 |
		grep -Ev "^$STORE/containers/($(
			IFS='|'
			echo "${*:-/}"
		))/merged\$" | sed 's/^/mount /' || true
	for k in $(sort -u "$W/keys" | grep -Ev "$keys"); do
		s=$("$PROBE" key-status "$k" "$STORE")
		[ "$s" = absent ] || echo "key $k $s"
	done
	for d in "$STORE/containers" "$STORE/keys" "$STORE/nest" "$STORE/snapshots" \
		"$CLROOT/locks" "$CLRUN"; do
		[ -d "$d" ] || continue
		find "$d" -mindepth 1 -maxdepth 1 ! -name cryptlayer.log -printf '%f\n' |
			grep -Ev "$keep" | sed "s|^|path $d/|" || true
	done
	[ -z "${BTR:-}" ] || [ ! -d "$BTR/.cryptlayer-snapshots" ] ||
		find "$BTR/.cryptlayer-snapshots" -mindepth 1 -maxdepth 1 -printf 'snap %p\n'
	provisioned "" | sed 's/^/provisioned /'
}

# clean WHEN [--but-locks] [ID...]: nothing is left (see leftovers; lock files aside
# with --but-locks), or a problem says what
clean() {
	local when=$1 left but='^$'
	shift
	if [ "${1:-}" = --but-locks ]; then
		but="^path $CLROOT/locks/"
		shift
	fi
	left=$(leftovers "$@" | grep -Ev "$but" || true)
	[ -z "$left" ] || problem "left $when: $(sed "s|$W/||" <<<"$left" | tr '\n' ' ')"
}

# reset_layers [all]: destroy the ephemeral layers (all: every layer), then one gc
reset_layers() {
	local id
	for id in $($CL list --json 2>/dev/null | jq -r --arg all "${1:-}" \
		'.[] | select($all == "all" or .keymode == "ephemeral") | .id'); do
		again $CLP destroy "$id" || true
	done
	gc_old
}

# force_clean [ID...]: remove by hand what leftovers lists (a leak destroy and gc miss)
force_clean() {
	local what a
	leftovers "$@" | while read -r what a _; do
		case $what in
		mount) umount -l "$a" ;;
		key) "$PROBE" remove-key "$a" "$STORE" >/dev/null || true ;;
		path) rm -rf "$a" ;;
		snap) btrfs subvolume delete "$a" >/dev/null || true ;;
		esac
	done
}

# walk NAME STEP [ID...]: STEP N for N = 1, 2, ... until the Nth call is not reached;
# the persistent layers ID stay. A summary line on fd 3, or a failure listing every
# problem. After a run with a problem, a reset (destroy, gc) says whether it leaked for
# good; the walk goes on from a clean store.
walk() {
	local name=$1 step=$2 n bad=0 absorbed="" seen=0 left f calls
	shift 2
	PROBLEMS=() ABSORBED=() SYMS=()
	declare -gA FINDINGS=()
	for ((n = 1; n <= MAX_POINTS; n++)); do
		N=$n FIRED="" WHAT=$name RC=0 ERR=""
		: >"$W/keys"
		"$step" "$n"
		[ -n "$FIRED" ] || break
		SYMS+=("$FIRED")
		[ ${#PROBLEMS[@]} -gt "$seen" ] || continue
		reset_layers
		left=$(leftovers "$@")
		if [ -n "$left" ]; then
			problem "still left after destroy and gc: $(sed "s|$W/||" <<<"$left" | tr '\n' ' ')"
			force_clean "$@"
		fi
		seen=${#PROBLEMS[@]}
		if [ "$((++bad))" -ge "$MAX_BAD" ]; then
			problem "walk stopped after $bad runs with problems"
			break
		fi
	done
	[ "$n" -le "$MAX_POINTS" ] || problem "more than $MAX_POINTS fault points"
	for f in "${!FINDINGS[@]}"; do
		PROBLEMS+=("$name: $f (at N=${FINDINGS[$f]%, })")
	done
	[ ${#ABSORBED[@]} -eq 0 ] || absorbed="; exit 0 (best effort) at N=${ABSORBED[*]}"
	calls=$(printf '%s\n' "${SYMS[@]}" | sort | uniq -c | awk '{printf " %s*%s", $2, $1}')
	if [ ${#PROBLEMS[@]} -gt 0 ]; then
		printf '%s\n' "${PROBLEMS[@]}" >&2
		echo "# $name: $((n - 1)) fault points, ${#PROBLEMS[@]} problem(s)$absorbed" >&3
		echo "#   calls:$calls" >&3
		fail "$name: ${#PROBLEMS[@]} problem(s), the first: ${PROBLEMS[0]}"
	fi
	echo "# $name: $((n - 1)) fault points, all clean$absorbed" >&3
	echo "#   calls:$calls" >&3
}

# ---- helpers of the steps --------------------------------------------------------------

# layer_ok ID [MARKER]: mounted, key present, the base and MARKER's file seen through it
layer_ok() {
	local id=$1 marker=${2:-} m=$STORE/containers/$1/merged st
	st=$($CLP status "$id" --json 2>&1) || {
		problem "status $id: $st"
		return 0
	}
	[ "$(jq -r '"\(.key_status) \(.mounted)"' <<<"$st")" = "present true" ] ||
		problem "layer $id not unlocked and mounted: $(jq -c . <<<"$st")"
	[ "$(cat "$m/etc/base-file" 2>&1)" = base-file ] || problem "$id: base not seen in $m"
	[ -z "$marker" ] || [ "$(cat "$m/marker" 2>&1)" = "$marker" ] ||
		problem "$id: marker lost: '$(cat "$m/marker" 2>&1)'"
}

# key_of ID: the key id of layer ID (also noted in $W/keys)
key_of() {
	$CLP status "$1" --json | jq -r .key_id | tee -a "$W/keys"
}

# locked_ok ID: a locked persistent layer: no mount, its key absent, no record; its key
# file and descriptor are the ones save_layer kept
locked_ok() {
	local id=$1 key s
	key=$(jq -r .key_id "$W/saved-$id/desc")
	s=$("$PROBE" key-status "$key" "$STORE")
	[ "$s" = absent ] || problem "$id locked, yet key $key $s"
	! grep -q " $STORE/containers/$id/" /proc/self/mountinfo || problem "$id locked, yet mounted"
	[ ! -e "$CLRUN/$id.json" ] ||
		problem "$id locked, yet recorded: $(jq -c '{state, key_id}' "$CLRUN/$id.json")"
	cmp -s "$STORE/keys/$id" "$W/saved-$id/key" || problem "$id: key file changed"
	cmp -s "$STORE/containers/$id/layer.json" "$W/saved-$id/desc" ||
		problem "$id: descriptor changed"
}

# new_persistent ID: a persistent layer with a marker, its key file and descriptor saved
new_persistent() {
	local id=$1
	$CLP create --base "$BASE" --id "$id" --key persistent >/dev/null || return 1
	echo "marker-$id" >"$STORE/containers/$id/merged/marker"
	save_layer "$id"
}

# save_layer ID: keep a copy of ID's key file and descriptor (locked_ok compares them)
save_layer() {
	mkdir -p "$W/saved-$1"
	cp "$STORE/keys/$1" "$W/saved-$1/key"
	cp "$STORE/containers/$1/layer.json" "$W/saved-$1/desc"
}

# unlock_check_lock ID: a locked layer unlocks by hand with its marker, and locks again
unlock_check_lock() {
	again $CLP unlock "$1" || problem "unlock $1: $(cat "$W/again")"
	layer_ok "$1" "marker-$1"
	again $CLP lock "$1" || problem "lock $1: $(cat "$W/again")"
	locked_ok "$1"
}

# setup_failed WHAT: a step could not prepare its layer (a leak of the run before): a
# problem, and the walk goes on after a reset
setup_failed() {
	FIRED="(setup)"
	problem "cannot $1: $(cat "$W/again" 2>/dev/null)"
}

# ---- the steps: one run with call N failing, then the checks ---------------------------

step_create() {
	local id=fc-create
	fault_cli "$1" "$W/out" $CL create --base "$BASE" --id "$id"
	if outcome create; then
		clean "by the failed create (before gc)"
		gc_old
	else
		[ "$(cat "$W/out")" = "$STORE/containers/$id/merged" ] || problem "stdout: $(cat "$W/out")"
		layer_ok "$id"
		again $CL destroy "$id" || problem "destroy after create: $(cat "$W/again")"
	fi
	clean "after gc"
}

# create_step N ID HAVE ARGS...: 'create --id ID ARGS' with call N failing: a failed
# create leaves nothing, before gc and after; one that succeeded has a right layer and the
# path HAVE (what ARGS made besides), and its destroy leaves nothing
create_step() {
	local n=$1 id=$2 have=$3
	shift 3
	fault_cli "$n" "$W/out" $CL create --id "$id" "$@"
	if outcome create; then
		clean "by the failed create (before gc)"
		gc_old
	else
		layer_ok "$id"
		[ -e "$have" ] || problem "no ${have#"$W/"}"
		again $CL destroy "$id" || problem "destroy after create: $(cat "$W/again")"
	fi
	clean "after gc"
}

# create --backend btrfs (issue 12): the snapshot is made while a second thread runs the
# key steps; a fault in either leaves no snapshot, note or key
step_create_btrfs() {
	create_step "$1" fc-btrfs "$BTR/.cryptlayer-snapshots/fc-btrfs" --base "$BTR/base" \
		--backend btrfs
}

# create where no provisioning key can be made (the fault build refuses its add_key, as a
# full key quota would): the identifier is computed and named in the record before the add
step_create_noprov() {
	CRYPTLAYER_FAULT_NO_PROVISION=1 create_step "$1" fc-noprov \
		"$STORE/containers/fc-noprov/crypt" --base "$BASE"
	[ "$RC" -ne 0 ] || grep -q '^cryptlayer-fault: no provisioning key$' "$W/err" ||
		problem "created without the provisioning key refused"
}

# create --nested (issue 11): the nest and its binds under merged, undone at any fault
step_create_nested() {
	create_step "$1" fc-nested "$STORE/nest/fc-nested/store" --base "$BASE" --nested
}

# destroy_and_retry N ID CLI...: destroy ID under fault point N, then the retry, also
# after an exit 0 (a best-effort step may leave the lock file to the next command on the
# id): nothing may be left
destroy_and_retry() {
	local n=$1 id=$2
	shift 2
	fault_cli "$n" /dev/null "$@" destroy "$id"
	outcome destroy || true
	if again "$@" destroy "$id"; then
		clean "after destroy and its retry (which exited 0)"
	else
		problem "destroy again: $(cat "$W/again")"
	fi
}

# destroy of a nested layer holding a mounted inner layer (its key made by an inner
# cryptlayer on MERGED/var/lib/cryptlayer): a failure is retried, then nothing is left
step_destroy_nested() {
	local id=fc-destroyn m inner
	again $CL create --base "$BASE" --id "$id" --nested || {
		setup_failed "create --nested $id"
		return 0
	}
	m=$STORE/containers/$id/merged
	key_of "$id" >/dev/null
	inner="$CRYPTLAYER --root $m/var/lib/cryptlayer --run-dir $W/irun"
	$inner create --base "$BASE" --id "$id-in" >/dev/null 2>"$W/again" || {
		setup_failed "create the inner layer"
		return 0
	}
	echo "marker-$id" >"$m/var/lib/cryptlayer/containers/$id-in/merged/marker"
	$inner status "$id-in" --json | jq -r .key_id >>"$W/keys"
	destroy_and_retry "$1" "$id" $CL
	rm -rf "$W/irun"
}

# a new machine key for each N: its creation is walked too
step_create_persistent() {
	local id=fc-cpers mk=$W/mk-walk/$1/machine.key
	mkdir -p "${mk%/*}"
	fault_cli "$1" "$W/out" $CL --machine-key "file:$mk" create --base "$BASE" --id "$id" \
		--key persistent
	if outcome create; then
		clean "by the failed create (before gc)"
		gc_old
	else
		layer_ok "$id"
		again $CL --machine-key "file:$mk" destroy "$id" ||
			problem "destroy after create: $(cat "$W/again")"
	fi
	clean "after gc"
}

step_destroy() {
	local id=fc-destroy
	again $CL create --base "$BASE" --id "$id" || {
		setup_failed "create $id"
		return 0
	}
	echo "marker-$id" >"$STORE/containers/$id/merged/marker"
	key_of "$id" >/dev/null
	destroy_and_retry "$1" "$id" $CL
}

step_destroy_persistent() {
	local id=fc-destroyp
	new_persistent "$id" && key_of "$id" >/dev/null && again $CLP lock "$id" || {
		setup_failed "make and lock $id"
		return 0
	}
	destroy_and_retry "$1" "$id" $CLP
}

# fc-lock is unlocked before and after
step_lock() {
	local id=fc-lock
	key_of "$id" >/dev/null
	fault_cli "$1" /dev/null $CLP lock "$id"
	if outcome lock; then
		again $CLP lock "$id" || problem "lock again: $(cat "$W/again")"
	fi
	locked_ok "$id"
	again $CLP unlock "$id" || problem "unlock after lock: $(cat "$W/again")"
	layer_ok "$id" "marker-$id"
	clean "after lock, unlock" "$id"
}

# fc-unlock is locked before and after
step_unlock() {
	local id=fc-unlock
	fault_cli "$1" "$W/out" $CLP unlock "$id"
	if outcome unlock; then
		# "on failure the layer stays locked and nothing is deleted"
		locked_ok "$id"
		clean "by the failed unlock" "$id"
		again $CLP unlock "$id" || problem "unlock again: $(cat "$W/again")"
	fi
	layer_ok "$id" "marker-$id"
	again $CLP lock "$id" || problem "lock after unlock: $(cat "$W/again")"
	locked_ok "$id"
	clean "after unlock, lock" "$id"
}

step_import() {
	local id=fc-import
	fault_cli "$1" "$W/out" $CL import "$W/src.clx" -i "$W/id" --base "$BASE" --id "$id" --jobs 1
	if outcome import; then
		clean "by the failed import (before gc)"
		gc_old
	else
		layer_ok "$id" marker-src
		again $CL destroy "$id" || problem "destroy after import: $(cat "$W/again")"
	fi
	clean "after gc"
}

# fc-export is unlocked before and after
step_export() {
	local id=fc-export out=$W/exp/out.clx
	rm -rf "$W/exp" && mkdir "$W/exp"
	fault_cli "$1" /dev/null $CL export "$id" -o "$out" -r "$W/id.pub" --jobs 1 --quiet
	if outcome export; then
		[ -z "$(ls -A "$W/exp")" ] || problem "the failed export left: $(ls -A "$W/exp")"
	elif ! $CL decrypt -i "$W/id" <"$out" 2>"$W/again" | tar -t 2>>"$W/again" |
		grep -qE '^(\./)?marker$'; then
		problem "the export does not decrypt to the layer: $(cat "$W/again")"
	fi
	layer_ok "$id" "marker-$id"
	clean "after export" "$id"
}

# make_fault_bundle DIR [persistent]: a runc bundle over $BASE (root.path an empty stub)
# whose hooks run the wrapper; the container prints "on-layer" when it sees the base and
# can write
make_fault_bundle() {
	local dir=$1 hook
	mkdir -p "$dir/rootfs"
	(cd "$dir" && runc spec)
	hook=$(jq -n --arg w "$W/hook-wrapper" --arg r "$CLROOT" --arg d "$CLRUN" \
		--arg mk "file:$MK" '[$w, "--root", $r, "--run-dir", $d, "--machine-key", $mk, "hook"]')
	jq --argjson h "$hook" --arg base "$BASE" --arg key "${2:-ephemeral}" '
		.process.terminal = false | .root.readonly = false
		| .process.args = ["sh", "-c", "grep -qx base-file /etc/base-file && echo w > /w && echo on-layer"]
		| .annotations = {"io.cryptlayer.base": $base, "io.cryptlayer.key": $key}
		| .hooks = {prestart: [{path: $h[0], args: ([$h[0], "prestart"] + $h[1:] + ["prestart"])}],
		            poststop: [{path: $h[0], args: ([$h[0], "poststop"] + $h[1:] + ["poststop"])}]}
		' "$dir/config.json" >"$dir/config.json.new"
	mv "$dir/config.json.new" "$dir/config.json"
}

# run_fault_container STAGE N [persistent]: runc run (container fc-runc, or fc-runcp of
# bundle $W/bundlep) with call N of hook STAGE failing; RC, FIRED, ERR of that hook,
# RUNC (runc's exit status) and $W/runc.out. STAGE none: no fault.
run_fault_container() {
	local stage=$1 n=$2 name=fc-runc bundle=$W/bundle s
	[ -z "${3:-}" ] || name=fc-runcp bundle=$W/bundlep
	for s in prestart poststop; do
		rm -f "$W/err-$s" "$W/rc-$s"
		: >"$W/at-$s"
	done
	[ "$stage" = none ] || echo "$n" >"$W/at-$stage"
	RUNC=0
	runc run --bundle "$bundle" "$name" </dev/null >"$W/runc.out" 2>&1 || RUNC=$?
	runc delete -f "$name" >/dev/null 2>&1 || true
	[ "$stage" != none ] || return 0
	: >"$W/at-$stage"
	RC=0 FIRED=""
	if [ ! -f "$W/rc-$stage" ]; then
		FIRED="(no hook)"
		problem "the $stage hook did not run (runc: exit $RUNC: $(cat "$W/runc.out"))"
		return 0
	fi
	RC=$(cat "$W/rc-$stage")
	took "$W/err-$stage"
}

step_prestart() {
	run_fault_container prestart "$1"
	if outcome prestart; then
		[ "$RUNC" -ne 0 ] || problem "the container ran, though prestart failed"
	else
		[ "$RUNC" -eq 0 ] && grep -qx on-layer "$W/runc.out" ||
			problem "the container did not run on the layer: exit $RUNC: $(cat "$W/runc.out")"
		[ "$(cat "$W/rc-poststop" 2>/dev/null)" = 0 ] || problem "poststop failed"
	fi
	gc_old
	clean "after gc"
}

step_poststop() {
	run_fault_container poststop "$1"
	grep -qx on-layer "$W/runc.out" || problem "the container did not run: $(cat "$W/runc.out")"
	# exit 0: the layer is erased (a lock file may wait for the next command on the id)
	outcome poststop || clean "by poststop" --but-locks
	gc_old
	clean "after poststop and gc"
}

# fc-runcp is locked before and after: prestart unlocks it, poststop locks it
step_prestart_persistent() {
	run_fault_container prestart "$1" persistent
	if outcome prestart; then
		[ "$RUNC" -ne 0 ] || problem "the container ran, though prestart failed"
	else
		[ "$RUNC" -eq 0 ] && grep -qx on-layer "$W/runc.out" ||
			problem "the container did not run on the layer: exit $RUNC: $(cat "$W/runc.out")"
	fi
	gc_old
	locked_ok fc-runcp
	unlock_check_lock fc-runcp
	clean "after gc" fc-runcp
}

step_poststop_persistent() {
	run_fault_container poststop "$1" persistent
	grep -qx on-layer "$W/runc.out" || problem "the container did not run: $(cat "$W/runc.out")"
	outcome poststop || locked_ok fc-runcp
	gc_old
	if [ -e "$CLRUN/fc-runcp.json" ]; then
		finding "a failed poststop leaves the layer unlocked (record kept, key" \
			"$("$PROBE" key-status "$(jq -r .key_id "$W/saved-fc-runcp/desc")" "$STORE")" \
			"at first), and gc does not lock it: 'lock' needed"
		again $CLP lock fc-runcp || problem "lock: $(cat "$W/again")"
	fi
	locked_ok fc-runcp
	unlock_check_lock fc-runcp
	clean "after gc" fc-runcp
}

step_precreate() {
	local name=fc-pod
	rm -f "$W/err-precreate" "$W/rc-precreate"
	echo "$1" >"$W/at-precreate"
	RUNC=0
	pod run --rm --name "$name" --runtime=runc "${RUN_OPTS[@]}" \
		--annotation io.cryptlayer.enable=true clbase \
		sh -c 'echo w > /w && grep -q "^none / overlay .*lowerdir=/proc/self/fd/" /proc/mounts &&
			echo on-layer' >"$W/runc.out" 2>&1 </dev/null || RUNC=$?
	: >"$W/at-precreate"
	pod rm -f -t 0 "$name" >/dev/null 2>&1 || true
	RC=0 FIRED=""
	if [ ! -f "$W/rc-precreate" ]; then
		FIRED="(no hook)"
		problem "the precreate hook did not run (podman: exit $RUNC: $(cat "$W/runc.out"))"
		return 0
	fi
	RC=$(cat "$W/rc-precreate")
	took "$W/err-precreate"
	if outcome precreate; then
		[ "$RUNC" -ne 0 ] || problem "the container ran, though precreate failed"
		clean "by the failed precreate (before gc)"
	else
		[ "$RUNC" -eq 0 ] && grep -qx on-layer "$W/runc.out" ||
			problem "the container did not run on the layer: exit $RUNC: $(cat "$W/runc.out")"
	fi
	gc_old
	clean "after gc"
}

# ---- the walks -------------------------------------------------------------------------

@test "create (ephemeral): every fault point leaves nothing" {
	walk "create (ephemeral)" step_create
}

@test "create (persistent, a new machine key): every fault point leaves nothing" {
	walk "create (persistent)" step_create_persistent
}

@test "create without a provisioning key (its identifier computed first): every fault point leaves nothing" {
	walk "create (no provisioning key)" step_create_noprov
}

@test "create --backend btrfs: every fault point leaves nothing (snapshot deleted)" {
	[ -n "${BTR:-}" ] || skip "mkfs.btrfs is not installed (btrfs-progs): no btrfs walk"
	walk "create (btrfs)" step_create_btrfs
}

@test "destroy (ephemeral, mounted): a failure is retried, then nothing is left" {
	walk "destroy (ephemeral)" step_destroy
}

@test "create --nested: every fault point leaves nothing (nest and binds undone)" {
	walk "create (nested)" step_create_nested
}

@test "destroy (nested, an inner layer mounted): a failure is retried, then nothing is left" {
	walk "destroy (nested)" step_destroy_nested
}

@test "destroy (persistent, locked): a failure is retried, then nothing is left" {
	walk "destroy (persistent)" step_destroy_persistent
}

@test "lock: a failure is retried; the data stays and unlocks" {
	new_persistent fc-lock
	walk lock step_lock fc-lock
}

@test "unlock: a failure leaves the layer locked and intact; a retry unlocks it" {
	new_persistent fc-unlock
	again $CLP lock fc-unlock
	walk unlock step_unlock fc-unlock
}

@test "export: a failure leaves no output file and the layer untouched" {
	new_persistent fc-export
	walk export step_export fc-export
}

@test "import: every fault point leaves nothing" {
	$CL create --base "$BASE" --id src >/dev/null
	echo marker-src >"$STORE/containers/src/merged/marker"
	# an opaque directory: the tar plugin marks it with fsetxattr (a wrapped call there)
	rm -r "$STORE/containers/src/merged/data"
	mkdir "$STORE/containers/src/merged/data"
	$CL export src -o "$W/src.clx" -r "$W/id.pub" --quiet
	again $CL destroy src
	walk import step_import
}

@test "runc prestart: every fault point fails the start and leaves nothing" {
	skip_if_no_runtime runc
	make_fault_bundle "$W/bundle"
	walk prestart step_prestart
}

@test "runc poststop: every fault point leaves nothing after gc" {
	skip_if_no_runtime runc
	[ -f "$W/bundle/config.json" ] || make_fault_bundle "$W/bundle"
	walk poststop step_poststop
}

# the persistent layer of container fc-runcp, made and locked by a first run, with a marker
setup_persistent_container() {
	[ -f "$W/bundlep/config.json" ] || make_fault_bundle "$W/bundlep" persistent
	[ -e "$STORE/keys/fc-runcp" ] && return 0
	run_fault_container none 0 persistent
	grep -qx on-layer "$W/runc.out"
	again $CLP unlock fc-runcp
	echo marker-fc-runcp >"$STORE/containers/fc-runcp/merged/marker"
	again $CLP lock fc-runcp
	save_layer fc-runcp
}

@test "runc prestart, persistent layer: a failed unlock leaves it locked and intact" {
	skip_if_no_runtime runc
	setup_persistent_container
	walk "prestart (persistent)" step_prestart_persistent fc-runcp
}

@test "runc poststop, persistent layer: every fault point leaves it locked and intact" {
	skip_if_no_runtime runc
	setup_persistent_container
	walk "poststop (persistent)" step_poststop_persistent fc-runcp
}

@test "podman precreate: every fault point fails the start and leaves nothing" {
	[ -n "${PODMAN_ARGS:-}" ] || skip "podman is not installed"
	walk precreate step_precreate
}
