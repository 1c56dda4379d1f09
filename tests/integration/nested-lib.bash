# shellcheck shell=bash
# The privileged outer container of the nested tests and bench (issue 11, DESIGN §6),
# sourced by tests/integration/800-nested.bats and bench/nested.sh: what nested runtimes
# need on this machine, written once.

# bounding_caps: the capability names of this process's bounding set, as a JSON array
# (what a privileged container can get here: this machine lacks some, e.g. CAP_SYS_RESOURCE)
bounding_caps() {
	local names=(CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ PERFMON BPF CHECKPOINT_RESTORE) bnd i out=()
	bnd=$((16#$(awk '/^CapBnd/ {print $2}' /proc/self/status)))
	for i in "${!names[@]}"; do
		(((bnd >> i) & 1)) && out+=("CAP_${names[i]}")
	done
	printf '%s\n' "${out[@]}" | jq -R . | jq -sc .
}

# outer_jq: the jq program that makes a 'runc spec' config.json the outer's (run it with
# -f once written to a file): privileged (all capabilities this machine has, no seccomp, no
# masked paths), rw /sys and cgroups, a tmpfs on /run and /tmp first (so a checkout under
# /tmp stays visible), the host's /usr and this build tree read-only, /ibase and /obase
# read-only, /shared read-write. Its variables: $args (the process, JSON), $ann
# (annotations, JSON), $hooks (the hooks object, JSON), $top, $ibase, $obase, $shared.
outer_jq() {
	local caps
	caps=$(bounding_caps)
	cat <<EOF
.process.terminal = false | .process.args = \$args | .root.readonly = false
| .process.capabilities = {bounding: $caps, effective: $caps, permitted: $caps}
| .process.noNewPrivileges = false
| del(.linux.seccomp) | del(.linux.maskedPaths) | del(.linux.readonlyPaths)
| .mounts |= map(if .destination == "/sys" then .options = ["nosuid","noexec","nodev","rw"] else . end)
| .mounts |= map(select(.destination != "/sys/fs/cgroup"))
| .mounts += [{destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["nosuid","noexec","nodev","relatime","rw"]},
   {destination: "/run", type: "tmpfs", source: "tmpfs", options: ["nosuid","nodev","mode=755"]},
   {destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["nosuid","nodev","mode=1777"]},
   {destination: "/usr", type: "bind", source: "/usr", options: ["rbind","ro"]},
   {destination: \$top, type: "bind", source: \$top, options: ["rbind","ro"]},
   {destination: "/ibase", type: "bind", source: \$ibase, options: ["rbind","ro"]},
   {destination: "/obase", type: "bind", source: \$obase, options: ["rbind","ro"]},
   {destination: "/shared", type: "bind", source: \$shared, options: ["rbind","rw"]}]
| .linux.resources = {devices: [{allow: true, access: "rwm"}]}
| .annotations = \$ann
| .hooks = \$hooks
EOF
}

# hook_pair ARGV_JSON: the hooks object running ARGV + [STAGE] at prestart and poststop
hook_pair() {
	jq -nc --argjson h "$1" '{prestart: [{path: $h[0], args: ($h + ["prestart"])}],
		poststop: [{path: $h[0], args: ($h + ["poststop"])}]}'
}

# kill_and_wait NAME SIG RUNTIME...: 'RUNTIME kill NAME SIG', then wait until 'RUNTIME state
# NAME' says stopped (5 s at most; the caller's delete reports one that is not); RUNTIME
# may be a command with arguments ('in_outer OUTER runc')
kill_and_wait() {
	local name=$1 sig=$2 _
	shift 2
	"$@" kill "$name" "$sig"
	for _ in $(seq 1 100); do
		"$@" state "$name" 2>/dev/null | grep -q '"status": "stopped"' && break
		sleep 0.05
	done
}
