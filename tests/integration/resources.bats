#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# Bounded resources, nothing dropped (issue 10), on the real kernel: 10,000 distinct uids each
# send two or three UDP datagrams over loopback from inside the test cgroup (uidflood.c: one
# root process that forks and setresuid()s per uid), and the service, as deployed (history,
# socket, dropped privileges), must log every row to the right file with the right totals, keep
# its descriptors under 256 and its peak RSS under 64 MiB, lose no event, and keep every byte
# attributed to its owner when its kernel table is smaller than the crowd; with `ulimit -n 64`
# too. The figures are printed with the results (and bench/run.sh --uids measures them).

load ../lib.bash

UIDS=${TM_RESOURCE_UIDS:-10000}
FIRST_UID=200000		# no account has these; far from the suites' 65xxx users
FD_BOUND=256
RSS_BOUND_KIB=$((64 * 1024))

setup_file() {
	cc -O2 -Wall -o "$BATS_FILE_TMPDIR/uidflood" "$BATS_TEST_DIRNAME/uidflood.c"
}

setup() {
	tm_setup
	BIN="$TM_BIN_DIR/traffic_meter_user"
	FLOOD="$BATS_FILE_TMPDIR/uidflood"
}

teardown() {
	tm_teardown
}

# start_meter [options...]: the service on $CG as it runs by default (it drops to nobody here),
# logs, socket and history in $TMP. PRE (e.g. "prlimit --nofile=64:64") wraps it.
start_meter() {
	tm_start_meter ${PRE:-} "$BIN" -d "$TMP" --socket "$TMP/meter.sock" \
		--history-db "$TMP/history.db" -i /dev/null "$@" "$CG" lo
}

fds_of() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }

# flood: every uid sends; sets PEAK_FDS (sampled by the helper every 25 uids), FLOOD_S.
flood() {
	local t0 t1
	t0=$(date +%s%N)
	"$FLOOD" "$CG" "$FIRST_UID" "$UIDS" "$TMP/manifest" "$METER" > "$TMP/flood.out"
	t1=$(date +%s%N)
	PEAK_FDS=$(sed -n 's/^peak_fds=//p' "$TMP/flood.out")
	FLOOD_S=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
	[ "$(wc -l < "$TMP/manifest")" -eq "$UIDS" ]
	sort -n "$TMP/manifest" > "$TMP/expected"
}

# stop_meter: SIGINT once every row is in; HWM_KIB is the highest VmHWM seen while it stopped,
# descriptors are sampled until it is gone, STOP_S is how long the stop took.
stop_meter() {
	local h n t0 t1 rc=0
	sleep 1		# the last events drained and flushed (~120 ms), the sockets released
	HWM_KIB=0
	t0=$(date +%s%N)
	kill -INT "$METER"
	while kill -0 "$METER" 2>/dev/null; do
		h=$(awk '/^VmHWM:/ { print $2 }' "/proc/$METER/status" 2>/dev/null || true)
		[ "${h:-0}" -gt "$HWM_KIB" ] && HWM_KIB=$h
		n=$(fds_of "$METER")
		[ "$n" -gt "$PEAK_FDS" ] && PEAK_FDS=$n
		sleep 0.02
	done
	wait "$METER" || rc=$?
	t1=$(date +%s%N)
	STOP_S=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
	[ "$rc" -eq 0 ]
}

# check_logs: one file per uid, a header first, only this test's rows, totals the running sums,
# and per uid exactly the manifest's packets and bytes; the summary's kernel totals the same.
check_logs() {
	local files
	files=$(ls "$TMP" | grep -c "^traffic_user_lo_[0-9]*\.log$")
	[ "$files" -eq "$UIDS" ]
	(cd "$TMP" && ls | grep "^traffic_user_lo_[0-9]*\.log$" | xargs awk -F, '
		FNR == 1 {
			if (f != "") print uid, rows, tout
			f = FILENAME; rows = 0; tout = 0
			uid = FILENAME; sub(/^traffic_user_lo_/, "", uid); sub(/\.log$/, "", uid)
			if ($0 != "direction,bytes,src_ip,dst_ip,timestamp,total_in,total_out") {
				print "bad header in " FILENAME > "/dev/stderr"; bad = 1
			}
			next
		}
		{
			rows++; tout += $2
			if ($1 != "out" || $3 != "127.0.0.1" || $4 != "127.0.0.1" || $6 != 0 ||
			    $7 != tout) {
				print "bad row " FNR " in " FILENAME ": " $0 > "/dev/stderr"; bad = 1
			}
		}
		END { if (f != "") print uid, rows, tout; exit bad }') | sort -n > "$TMP/logged"
	diff "$TMP/expected" "$TMP/logged"
	# the kernel's per-uid totals in the exit summary: every byte charged to its owner
	sed -nE "s/^  uid ([0-9]+) .* out ([0-9]+) B \(([0-9]+) pkts\)$/\1 \3 \2/p" "$TMP/stderr" |
		awk -v lo="$FIRST_UID" '$1 >= lo' | sort -n > "$TMP/summary"
	diff "$TMP/expected" "$TMP/summary"
	rows=$(awk '{ s += $2 } END { print s }' "$TMP/expected")
	grep -qE "^traffic_meter_user: csv: $rows rows, [0-9]+ bytes written" "$TMP/stderr"
	grep -q ' 0 lost (ring buffer full)' "$TMP/stderr"
	! grep -qE '[1-9][0-9]* packets over a full owner table' "$TMP/stderr"
	! grep -qiE 'write error|rows dropped|not written' "$TMP/stderr"
}

report() {	# LABEL: the figures, in the TAP output
	awk -v l="$1" -v n="$UIDS" -v f="$FLOOD_S" -v p="$PEAK_FDS" -v h="$HWM_KIB" -v s="$STOP_S" \
		'BEGIN { printf "# %s: %s uids in %s s, peak %s descriptors, VmHWM %d KiB (%.1f MiB), stop %s s\n",
			 l, n, f, p, h, h / 1024, s }' >&3
}

@test "10,000 uids: every row logged, descriptors < 256, peak RSS < 64 MiB, nothing lost" {
	start_meter
	flood
	stop_meter
	report "service"
	check_logs
	[ "$PEAK_FDS" -lt "$FD_BOUND" ]
	# ASan's shadow memory and quarantine are no measure of the program's own
	if [ -z "${TM_SAN_LOG_DIR:-}" ]; then
		[ "$HWM_KIB" -gt 0 ] && [ "$HWM_KIB" -lt "$RSS_BOUND_KIB" ]
	fi
}

@test "a kernel table smaller than the crowd (--max-owners 4096) evicts and keeps every byte per uid" {
	start_meter --max-owners 4096
	flood
	stop_meter
	report "--max-owners 4096"
	check_logs
	# evictions happened, and no packet found the table full
	grep -qE 'owners evicted \([1-9][0-9]* from the kernel' "$TMP/stderr"
	grep -qE ', 0 packets over a full owner table' "$TMP/stderr"
}

@test "ulimit -n 64: 10,000 uids, no row lost" {
	PRE="prlimit --nofile=64:64" start_meter
	[ "$(awk '/^Max open files/ { print $4 }' "/proc/$METER/limits")" -eq 64 ]
	flood
	stop_meter
	report "ulimit -n 64"
	check_logs
	[ "$PEAK_FDS" -le 64 ]
}
