# SPDX-License-Identifier: GPL-2.0
# Shared by the bats suites: throw-away cgroups, test users, bounded loopback traffic, and a
# cleanup that always runs (teardown), even when a test fails.

TM_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TM_BIN_DIR=${TM_BIN_DIR:-$TM_ROOT}	# the programs under test; "make check SANITIZE=1" sets it
TM_PY=/usr/bin/python3		# readable by the test users, unlike a pyenv python
TM_TRAFFIC="$TM_ROOT/tests/traffic.py"
TM_UID_A=${TM_UID_A:-65501}
TM_UID_B=${TM_UID_B:-65502}

# The cgroup v2 mount point, from /proc/self/mountinfo (never hard-coded).
tm_cg2_mount() {
	awk '{ for (i = 1; i <= NF; i++) if ($i == "-") { if ($(i+1) == "cgroup2") { print $5; exit } break } }' /proc/self/mountinfo
}

# tm_setup: a fresh cgroup, temp dir and pid list for this test. Sets CG, TMP.
tm_setup() {
	local mnt
	mnt=$(tm_cg2_mount)
	[ -n "$mnt" ] || skip "no cgroup v2 mount"
	CG="$mnt/tmtop-test-$$-${BATS_TEST_NUMBER:-0}-$RANDOM"
	mkdir "$CG"
	TMP=$(mktemp -d /tmp/tmtop-test.XXXXXX)
	# the meter may run as nobody once started (no tmtop user here): it writes its logs here
	chmod 1777 "$TMP"
	SYNC="$TMP/sync"		# where test users may write (ready files)
	mkdir -m 1777 "$SYNC"
	TM_PIDS=()
	TM_MOUNTS=()
	echo "$CG" > "$TMP/.cgroup"
}

# tm_teardown: end what we started (by PID), empty and remove the cgroup, remove temp files.
tm_teardown() {
	local p i
	for p in "${TM_PIDS[@]:-}"; do
		[ -n "$p" ] && kill "$p" 2>/dev/null
	done
	for p in "${TM_PIDS[@]:-}"; do
		[ -n "$p" ] || continue
		for i in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null
	done
	if [ -n "${CG:-}" ] && [ -d "$CG" ]; then
		# Anything still inside was started by this test, in child cgroups a test made too
		# (processes.bats puts a unit below): end it, then remove the cgroups, deepest first.
		for p in $(cat $(find "$CG" -name cgroup.procs) 2>/dev/null); do
			kill -9 "$p" 2>/dev/null
		done
		for i in $(seq 50); do
			find "$CG" -depth -type d -exec rmdir {} + 2>/dev/null
			[ -d "$CG" ] || break
			sleep 0.1
		done
	fi
	for p in "${TM_MOUNTS[@]:-}"; do
		[ -n "$p" ] && umount "$p" 2>/dev/null
	done
	[ -n "${TMP:-}" ] && rm -rf "$TMP"
	return 0
}

# tm_as UID CMD...: run CMD as UID (gid = uid, no groups) inside $CG, in the foreground.
tm_as() {
	local uid=$1
	shift
	sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' sh "$CG" \
		setpriv --reuid="$uid" --regid="$uid" --clear-groups "$@"
}

# tm_as_bg UID CMD...: the same in the background; its PID is recorded for teardown.
tm_as_bg() {
	tm_as "$@" &
	TM_PIDS+=($!)
	TM_LAST_PID=$!
}

tm_traffic() { tm_as "$1" "$TM_PY" "$TM_TRAFFIC" "${@:2}"; }
tm_traffic_bg() { tm_as_bg "$1" "$TM_PY" "$TM_TRAFFIC" "${@:2}"; }

# tm_wait_file FILE [SECONDS]
tm_wait_file() {
	local i
	for i in $(seq $((${2:-10} * 10))); do [ -e "$1" ] && return 0; sleep 0.1; done
	echo "timed out waiting for $1" >&2
	return 1
}

# tm_wait_grep FILE REGEX [SECONDS]
tm_wait_grep() {
	local i
	for i in $(seq $((${3:-10} * 10))); do grep -qE "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
	echo "timed out waiting for /$2/ in $1" >&2
	return 1
}

# tm_start_meter [--ready REGEX] CMD...: run the meter CMD in the background, its standard error
# in $TMP/stderr, as METER (teardown ends it), and wait until it says it is watching (or REGEX).
tm_start_meter() {
	local ready=watching
	if [ "$1" = --ready ]; then
		ready=$2
		shift 2
	fi
	"$@" 2> "$TMP/stderr" &
	METER=$!
	TM_PIDS+=("$METER")
	tm_wait_grep "$TMP/stderr" "$ready" 10 || { cat "$TMP/stderr"; return 1; }
}

# tm_stop_meter: SIGINT to METER, and its exit status.
tm_stop_meter() {
	kill -INT "$METER"
	wait "$METER"
}

# tm_tmux_kill SOCKET: end the tmux server on -L SOCKET and remove its socket file, which
# tmux 3.3 leaves behind when the server is killed.
tm_tmux_kill() {
	tmux -L "$1" kill-server 2>/dev/null || true
	rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$1"
}

# tm_attached CG: the number of programs attached directly to CG.
tm_attached() {
	bpftool cgroup show "$1" 2>/dev/null | grep -cE 'ingress|egress' || true
}

# tm_port: a port no socket holds now, below the kernel's ephemeral range so that no
# outgoing connection (a scrape, a test's own traffic) can take it before the test binds it.
tm_port() {
	local lo p i
	read -r lo _ < /proc/sys/net/ipv4/ip_local_port_range
	((lo > 20000 + 1000)) || lo=30000
	for ((i = 0; i < 100; i++)); do
		p=$((20000 + RANDOM % (lo - 20000)))
		[ -z "$(ss -Htuan "( sport = :$p )" 2>/dev/null)" ] && break
	done
	echo "$p"
}
