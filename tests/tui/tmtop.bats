#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
#
# tmtop in a real terminal (tmux) and in batch mode, against the real kernel: a throw-away
# cgroup v2 directory, traffic from two non-root users (uids 65501 and 65502, no passwd
# entry needed) over loopback only, bounded in time. Needs root, tmux and a built ./tmtop.
#
# Every tmux command goes to a private server (-L), so a user's own tmux is never touched;
# teardown kills only what these tests started and removes the cgroup and temp files.

load ../lib.bash

U1=$TM_UID_A
U2=$TM_UID_B

# The sender: run inside the test cgroup as a non-root user. Sends COUNT datagrams of SIZE
# bytes to its own receiver socket on ADDR (so that user is both sender and receiver), one
# every INTERVAL seconds, and never runs longer than 20 s whatever the count.
SENDER_PY='
import socket, sys, time
addr, size, count, interval = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
r = socket.socket(fam, socket.SOCK_DGRAM)
r.bind((addr, 0))
r.settimeout(1)
s = socket.socket(fam, socket.SOCK_DGRAM)
dst = r.getsockname()[:2]
end = time.monotonic() + 20
for i in range(count):
    if time.monotonic() > end:
        break
    s.sendto(b"x" * size, dst)
    try:
        r.recv(65536)
    except socket.timeout:
        pass
    if interval:
        time.sleep(interval)
'

setup_file() {
	[ "$(id -u)" -eq 0 ] || skip "needs root (BPF and cgroups)"
	export BIN="$TM_BIN_DIR/tmtop"
	[ -x "$BIN" ] || { echo "build tmtop first (make tmtop)" >&2; return 1; }
	local mnt
	mnt=$(tm_cg2_mount)
	[ -n "$mnt" ] || { echo "no cgroup v2 mount" >&2; return 1; }
	export CG="$mnt/tmtop_bats_$$"
	mkdir "$CG"
	export TOP_TMP
	TOP_TMP=$(mktemp -d /tmp/tmtop_bats.XXXXXX)
	export SOCK="tmtop_bats_$$"
	# remain-on-exit: the pane stays after tmtop exits, so its exit status and screen can be read.
	printf 'set -g remain-on-exit on\nset -g status off\n' > "$TOP_TMP/tmux.conf"
}

teardown_file() {
	[ -n "${CG:-}" ] || return 0
	tm_tmux_kill "$SOCK"
	rmdir "$CG" 2>/dev/null || true
	[ -n "${TOP_TMP:-}" ] && rm -rf "$TOP_TMP"
	true
}

setup() {
	LOGS="$BATS_TEST_TMPDIR/logs"
	mkdir -p -m 1777 "$LOGS"	# the meter runs as nobody once started when tmtop does not exist
	PIDS="$BATS_TEST_TMPDIR/pids"
	: > "$PIDS"
}

# Kill only what this test started, wait for the cgroup to empty, leave no tmux behind.
teardown() {
	local p i
	tm_tmux_kill "$SOCK"
	for p in $(cat "$PIDS" 2>/dev/null); do
		kill "$p" 2>/dev/null || true
	done
	for i in $(seq 50); do
		[ -z "$(cat "$CG/cgroup.procs" 2>/dev/null)" ] && break
		sleep 0.1
	done
	for p in $(cat "$PIDS" 2>/dev/null); do
		kill -9 "$p" 2>/dev/null || true
	done
	if [ -s "$BATS_TEST_TMPDIR/tmtop.pid" ]; then
		p=$(cat "$BATS_TEST_TMPDIR/tmtop.pid")
		for i in $(seq 30); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$p" 2>/dev/null || true
	fi
	true
}

# start_sender UID ADDR SIZE COUNT INTERVAL: moves itself into the cgroup, then drops to UID.
start_sender() {
	sh -c 'echo $$ > "$1/cgroup.procs" && exec setpriv --reuid="$2" --regid="$2" --clear-groups /usr/bin/python3 -c "$3" "$4" "$5" "$6" "$7"' \
		sh "$CG" "$1" "$SENDER_PY" "$2" "$3" "$4" "$5" &
	echo $! >> "$PIDS"
}

t_cmd() { tmux -L "$SOCK" "$@"; }
screen() { t_cmd capture-pane -p -t tm; }
keys() { t_cmd send-keys -t tm "$@"; }

# wait_screen REGEX [SECONDS]: until the screen matches (grep -E), else dump it and fail.
wait_screen() {
	local i n=$(( ${2:-5} * 10 ))
	for ((i = 0; i < n; i++)); do
		screen | grep -Eq -- "$1" && return 0
		sleep 0.1
	done
	echo "screen never matched /$1/:" >&2
	screen >&2
	return 1
}

# The rates (IN/s OUT/s) of a user's row, e.g. "12.4K 12.4K".
row_rates() { screen | awk -v u="$1" '$2 == u && $1 == u { print $3, $4; exit }'; }
# Line number of a user's row on the screen.
row_line() { screen | awk -v u="$1" '$1 == u && $2 == u { print NR; exit }'; }

# tmtop runs under a small sh that records its exit status: tmux 3.3 sometimes leaves a dead
# pane's child unreaped, so its own pane_dead_status is not reliable.
start_tmtop() {
	local i sh
	rm -f "$BATS_TEST_TMPDIR/rc" "$BATS_TEST_TMPDIR/sh.pid" "$BATS_TEST_TMPDIR/tmtop.pid"
	t_cmd -f "$TOP_TMP/tmux.conf" new-session -d -s tm -x 120 -y 40 \
		"echo \$\$ > '$BATS_TEST_TMPDIR/sh.pid'; '$BIN' --standalone --log-dir '$LOGS' --no-history --ignore-file /dev/null $* '$CG' lo; echo \$? > '$BATS_TEST_TMPDIR/rc'"
	for i in $(seq 50); do
		sh=$(cat "$BATS_TEST_TMPDIR/sh.pid" 2>/dev/null) && pgrep -P "$sh" -x tmtop \
			> "$BATS_TEST_TMPDIR/tmtop.pid" && break
		sleep 0.1
	done
	[ -s "$BATS_TEST_TMPDIR/tmtop.pid" ]
	wait_screen 'F10Quit' 5
}

# tmtop has exited (its status is in $BATS_TEST_TMPDIR/rc).
exited() { [ -s "$BATS_TEST_TMPDIR/rc" ]; }
exit_status() { cat "$BATS_TEST_TMPDIR/rc"; }

# Two users with different rates: U2 sends ten times more than U1.
start_traffic() {
	start_sender $U1 127.0.0.1 100 1500 0.01
	start_sender $U2 127.0.0.1 1000 1500 0.01
	wait_screen "^$U1 .*127\.0\.0\.1" 5
	wait_screen "^$U2 .*127\.0\.0\.1" 5
}

nothing_attached() {
	local out
	out=$(/usr/sbin/bpftool cgroup tree "$CG" 2>&1)
	if echo "$out" | grep -Eq '^[[:space:]]*[0-9]+[[:space:]]'; then
		echo "still attached to $CG:" >&2
		echo "$out" >&2
		return 1
	fi
}

# Screen is the terminal's again (endwin left the alternate screen): no tmtop bar on it.
terminal_restored() {
	! screen | grep -q 'F10Quit'
}

@test "rows appear for both test users with name, uid, rates, totals and peer" {
	start_tmtop
	start_traffic
	run screen
	echo "$output"
	[[ "$output" =~ In\ .*total ]]
	[[ "$output" =~ Ignore\ +none ]]
	[[ "$output" =~ Log\ +[0-9]+\ rows,\ ok ]]
	# where it logs, on a line of its own so the directory is never cut
	[[ "$output" =~ Meter\ +logs\ to\ .*/logs/traffic_user_lo_\<uid\>\.log\ \(standalone ]]
	[[ "$output" =~ USER\ +UID\ +IN/s\ +OUT/s\ +TOT\ IN\ +TOT\ OUT\ +LAST\ MINUTE\ +TOP\ PEER ]]
	# after the first window both users have a non-zero rate
	sleep 2
	[[ "$(row_rates $U1)" != "0B 0B" ]]
	[[ "$(row_rates $U2)" != "0B 0B" ]]
	# the log files grow in the background while the screen runs
	[ -s "$LOGS/traffic_user_lo_$U1.log" ]
	[ -s "$LOGS/traffic_user_lo_$U2.log" ]
}

@test "sort keys change the order: rate, then < to UID, then I inverts" {
	start_tmtop
	start_traffic
	sleep 2.5	# a full rate window, so U2's higher rate decides the order
	[ "$(row_line $U2)" -lt "$(row_line $U1)" ]
	keys '<'	# RATE -> UID, ascending
	wait_screen 'sort UID' 2
	[ "$(row_line $U1)" -lt "$(row_line $U2)" ]
	keys 'I'
	wait_screen 'sort UID \(inverted\)' 2
	[ "$(row_line $U2)" -lt "$(row_line $U1)" ]
	keys '>'	# UID -> RATE, still inverted: slowest first
	wait_screen 'sort RATE \(inverted\)' 2
	[ "$(row_line $U1)" -lt "$(row_line $U2)" ]
}

@test "/ filters as you type, Enter keeps it, Esc clears it" {
	start_tmtop
	start_traffic
	keys '/'
	wait_screen 'EscClear +Filter:' 2
	keys -l "$U1"
	sleep 0.5
	[ -n "$(row_line $U1)" ]
	[ -z "$(row_line $U2)" ]
	keys Enter
	wait_screen "Filter: $U1 " 2
	sleep 1.2	# a refresh must keep the filter
	[ -z "$(row_line $U2)" ]
	keys F4
	keys Escape
	wait_screen "^$U2 " 2
	[ -n "$(row_line $U1)" ]
}

@test "Enter opens the peers view with the address the user talked to; Esc goes back" {
	start_tmtop
	start_traffic
	keys '<'	# sort by UID so U1 is the first row (selected)
	wait_screen 'sort UID' 2
	keys Home Enter
	wait_screen "Peers of $U1 \(uid $U1\)" 2
	wait_screen '^127\.0\.0\.1 ' 3
	screen | grep -q 'ADDRESS'
	keys Escape
	wait_screen 'USER +UID' 2
}

@test "ignore panel: adding 127.0.0.0/8 stops rates and log rows, toggling it off resumes both" {
	local log="$LOGS/traffic_user_lo_$U1.log" s1 s2
	start_tmtop
	start_traffic
	keys x
	wait_screen 'Ignore list: 0 of 0 active' 2
	# a bad entry is refused with the parser's reason, the list untouched
	keys a
	keys -l '10.*.1.*'
	keys Enter
	wait_screen 'not added: ' 2
	wait_screen 'list is empty' 2
	keys a
	keys -l '127.0.0.0/8'
	keys Enter
	wait_screen '\[x\] 127\.0\.0\.0/8' 2
	wait_screen 'Ignore +1 of 1 active' 2
	keys Escape
	wait_screen 'USER +UID' 2
	# the rate falls to zero once the window has passed
	wait_screen "^$U1 +$U1 +0B +0B" 5
	# and no more rows reach the log
	sleep 0.5
	s1=$(stat -c %s "$log")
	sleep 1.5
	s2=$(stat -c %s "$log")
	[ "$s1" -eq "$s2" ]

	# toggle the entry off with Space: counting and logging resume
	keys x
	wait_screen '\[x\] 127\.0\.0\.0/8' 2
	keys Space
	wait_screen '\[ \] 127\.0\.0\.0/8' 2
	wait_screen 'Ignore +0 of 1 active' 2
	keys Escape
	sleep 2
	[[ "$(row_rates $U1)" != "0B 0B" ]]
	s1=$(stat -c %s "$log")
	sleep 1
	s2=$(stat -c %s "$log")
	[ "$s2" -gt "$s1" ]

	# d deletes the entry
	keys x
	wait_screen '127\.0\.0\.0/8' 2
	keys d
	wait_screen 'list is empty' 2
}

@test "i in the peers view ignores the selected peer address" {
	start_tmtop
	start_traffic
	keys '<'
	wait_screen 'sort UID' 2
	keys Home Enter
	wait_screen '^127\.0\.0\.1 ' 3
	keys i
	wait_screen 'ignoring 127\.0\.0\.1/32' 2
	wait_screen 'Ignore +1 of 1 active' 2
	keys x
	wait_screen '\[x\] 127\.0\.0\.1/32' 2
}

@test "help opens with F1 / ? and any key closes it" {
	start_tmtop
	keys '?'
	wait_screen 'Press any key to return' 2
	screen | grep -q 'invert the sort order'
	keys Space
	wait_screen 'F10Quit' 2
	! screen | grep -q 'Press any key'
	keys F1
	wait_screen 'Press any key to return' 2
	keys q	# closes help; does not quit
	wait_screen 'F10Quit' 2
	! exited
}

@test "resize to 80x24 still renders header, rows and function bar" {
	start_tmtop
	start_traffic
	t_cmd resize-window -t tm -x 80 -y 24
	sleep 0.5
	run screen
	echo "$output"
	[ "${#lines[@]}" -le 24 ]
	[[ "${lines[0]}" =~ ^\ In\  ]]
	[[ "$output" =~ USER\ +UID\ +IN/s ]]
	[[ "$output" =~ $U1\ +$U1 ]]
	[[ "$output" =~ $U2\ +$U2 ]]
	# the function bar is the last line
	[[ "$(screen | sed -n 24p)" =~ F1Help.*F10Quit ]]
	# no line is wider than the terminal
	[ "$(screen | awk '{ if (length($0) > m) m = length($0) } END { print m }')" -le 80 ]
	t_cmd resize-window -t tm -x 120 -y 40
	sleep 0.3
	[[ "$(screen | sed -n 40p)" =~ F1Help.*F10Quit ]]
}

@test "q exits within a second, status 0, terminal restored, nothing attached" {
	start_tmtop
	start_traffic
	! nothing_attached 2>/dev/null	# sanity: attached while running
	keys q
	for i in $(seq 10); do exited && break; sleep 0.1; done
	exited
	[ "$(exit_status)" = 0 ]
	terminal_restored
	nothing_attached
	# the logs were flushed
	[ -s "$LOGS/traffic_user_lo_$U1.log" ]
}

@test "SIGTERM and SIGHUP quit cleanly and detach" {
	local sig pid
	for sig in TERM HUP; do
		start_tmtop
		pid=$(cat "$BATS_TEST_TMPDIR/tmtop.pid")
		kill -$sig "$pid"
		for i in $(seq 20); do exited && break; sleep 0.1; done
		exited
		[ "$(exit_status)" = 0 ]
		terminal_restored
		nothing_attached
		t_cmd kill-server
	done
}

@test "a crash (SIGSEGV) restores the terminal and leaves nothing attached" {
	local pid
	start_tmtop
	pid=$(cat "$BATS_TEST_TMPDIR/tmtop.pid")
	kill -SEGV "$pid"
	for i in $(seq 20); do exited && break; sleep 0.1; done
	exited
	[ "$(exit_status)" = 139 ]	# died by the signal it got, after restoring the terminal
	terminal_restored
	for i in $(seq 20); do nothing_attached 2>/dev/null && break; sleep 0.1; done
	nothing_attached
}

@test "pause freezes the display, bits toggle the units, +/- change the delay" {
	start_tmtop
	start_traffic
	keys Z
	wait_screen 'PAUSED' 2
	local a b
	a=$(screen | grep "^$U2 ")
	sleep 2.2
	b=$(screen | grep "^$U2 ")
	[ "$a" = "$b" ]
	keys Z
	sleep 0.3
	! screen | grep -q PAUSED
	keys b
	wait_screen "^$U2 +$U2 +[0-9.]+[KMG]?b " 3
	keys +
	wait_screen 'every 2\.0s' 2
	keys - -
	wait_screen 'every 0\.5s' 2
}

@test "keys are answered within a refresh under a packet flood" {
	local t0 t1
	start_tmtop -D 2
	# no sleep between datagrams: as fast as loopback ping-pong goes, for at most 20 s
	start_sender $U1 127.0.0.1 64 3000000 0
	start_sender $U2 ::1 64 3000000 0
	wait_screen "^$U2 " 5
	sleep 1
	t0=$(date +%s%N)
	keys '?'
	wait_screen 'Press any key to return' 2
	t1=$(date +%s%N)
	echo "help after $(( (t1 - t0) / 1000000 )) ms"
	[ $(( (t1 - t0) / 1000000 )) -lt 1000 ]
	keys Space
	wait_screen 'F10Quit' 1
}

@test "batch mode: two users (IPv4 and IPv6), exact totals, three snapshots" {
	local out="$BATS_TEST_TMPDIR/batch.out" pid i
	"$BIN" --standalone -b -n 3 -D 1 --log-dir "$LOGS" --no-history --ignore-file /dev/null -s uid "$CG" lo > "$out" 2> "$BATS_TEST_TMPDIR/err" &
	pid=$!
	echo $pid >> "$PIDS"
	for i in $(seq 50); do grep -q '^# ignore' "$out" && break; sleep 0.1; done
	grep -q '^# ignore: (none)' "$out"
	# U1: 50 x 100 B over IPv4 (+28), U2: 40 x 200 B over IPv6 (+48); sent and received.
	start_sender $U1 127.0.0.1 100 50 0.002
	start_sender $U2 ::1 200 40 0.002
	for i in $(seq 100); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
	! kill -0 $pid 2>/dev/null
	wait $pid
	cat "$out"
	[ "$(grep -c '^USER UID IN/s OUT/s TOT_IN TOT_OUT TOP_PEER$' "$out")" -eq 3 ]
	[ "$(grep -c '^tmtop time=' "$out")" -eq 3 ]
	grep -q "log=$LOGS/traffic_user_lo_<uid>.log log_errors=0" "$out"
	# the last snapshot: the lines after the last column header
	awk '/^USER UID/ { n = 0; delete r; next } NF { r[++n] = $0 } END { for (i = 1; i <= n; i++) print r[i] }' "$out" > "$BATS_TEST_TMPDIR/last"
	cat "$BATS_TEST_TMPDIR/last"
	run awk -v u=$U1 '$2 == u { print $5, $6, $7 }' "$BATS_TEST_TMPDIR/last"
	[ "$output" = "6400 6400 127.0.0.1" ]
	run awk -v u=$U2 '$2 == u { print $5, $6, $7 }' "$BATS_TEST_TMPDIR/last"
	[ "$output" = "9920 9920 ::1" ]
	# sorted by uid (-s uid): U1 before U2
	[ "$(awk '{ print $2 }' "$BATS_TEST_TMPDIR/last" | tr '\n' ' ')" = "$U1 $U2 " ]
	# the CSV logs were written in the background: header + one row per packet each way
	[ "$(wc -l < "$LOGS/traffic_user_lo_$U1.log")" -eq 101 ]
	[ "$(wc -l < "$LOGS/traffic_user_lo_$U2.log")" -eq 81 ]
	nothing_attached
}

@test "batch mode: --no-log writes nothing, --bits and -F filter the output" {
	local out="$BATS_TEST_TMPDIR/batch.out" pid i
	"$BIN" --standalone -b -n 2 -D 1 --no-log --no-history --bits -F $U2 --ignore-file /dev/null "$CG" lo > "$out" &
	pid=$!
	echo $pid >> "$PIDS"
	for i in $(seq 50); do grep -q '^# ignore' "$out" && break; sleep 0.1; done
	start_sender $U1 127.0.0.1 100 100 0.01
	start_sender $U2 127.0.0.1 100 100 0.01
	for i in $(seq 100); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
	wait $pid
	cat "$out"
	grep -q 'log=off' "$out"
	grep -q 'units=bits' "$out"
	grep -q "^$U2 $U2 " "$out"
	! grep -q "^$U1 " "$out"
	[ -z "$(ls -A "$LOGS")" ]
}

@test "command-line errors: one line on stderr, exit 2 (usage) or 1 (start-up)" {
	run "$BIN" --no-such-option
	[ "$status" -eq 2 ]
	[[ "$output" =~ ^tmtop:\  ]]
	printf '10.0.0.0/8\n10.*.1.*\n' > "$BATS_TEST_TMPDIR/bad.list"
	run "$BIN" -b -n 1 --ignore-file "$BATS_TEST_TMPDIR/bad.list" "$CG"
	[ "$status" -eq 1 ]
	[[ "$output" =~ ^tmtop:\ .*bad\.list:2:\  ]]
	# interactive mode without a terminal refuses before attaching anything
	run "$BIN" --ignore-file /dev/null "$CG" < /dev/null
	[ "$status" -eq 1 ]
	[[ "$output" =~ not\ a\ terminal ]]
	run "$BIN" --help
	[ "$status" -eq 0 ]
	[[ "$output" =~ --batch ]]
}
