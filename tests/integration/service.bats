#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# The meter as a service, tmtop as its viewer (issue 9) and least privilege (issue 10), on the
# real kernel: one traffic_meter_user on a throw-away cgroup, viewers as root, as a member of
# the tmtop group and as a plain user at once; what each sees, what each may change; tmtop
# attaching without loading anything; the service as nobody with no capabilities still doing
# everything; and planted names in a directory others can write costing no row.

load ../lib.bash

setup() {
	tm_setup
	BIN="$TM_BIN_DIR/traffic_meter_user"
	TOP="$TM_BIN_DIR/tmtop"
	SOCKET="$TMP/meter.sock"
	MADE_GROUP=""
	MADE_LOGDIR=""
	chmod 1777 "$TMP"	# the meter may run as nobody: it writes its logs here
	# A viewer speaking the protocol by hand, as a script with socat or Python would.
	cat > "$SYNC/ask.py" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
for line in sys.argv[2:]:
    s.sendall(line.encode() + b"\n")
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        buf += chunk
    sys.stdout.write(buf.decode())
EOF
	chmod 644 "$SYNC/ask.py"
}

teardown() {
	[ -n "${TMUX_SOCK:-}" ] && tm_tmux_kill "$TMUX_SOCK"
	tm_teardown
	[ -n "$MADE_GROUP" ] && groupdel tmtop 2>/dev/null
	[ -n "$MADE_LOGDIR" ] && rm -rf "$MADE_LOGDIR"
	return 0
}

# The tmtop group (trusted viewers): made for the test when the machine has none.
need_group() {
	if ! getent group tmtop >/dev/null; then
		groupadd -r tmtop
		MADE_GROUP=1
	fi
	TMTOP_GID=$(getent group tmtop | cut -d: -f3)
}

start_meter() {
	tm_start_meter "$BIN" -d "$TMP" --socket "$SOCKET" --history-db "$TMP/history.db" \
		-i /dev/null "$@" "$CG" lo
}

stop_meter() { tm_stop_meter; }

# as UID [GROUPS] CMD...: run CMD as UID, outside the test cgroup (a viewer)
as() {
	local uid=$1 groups=--clear-groups
	[ -n "$2" ] && groups=--groups=$2
	shift 2
	setpriv --reuid="$uid" --regid="$uid" "$groups" "$@"
}

ask() { as "$1" "$2" /usr/bin/python3 "$SYNC/ask.py" "$SOCKET" "${@:3}"; }

some_traffic() {
	tm_traffic "$TM_UID_A" udp-send 4 127.0.0.1 9 5 100
	tm_traffic "$TM_UID_B" udp-send 4 127.0.0.1 9 7 100
	sleep 0.5
}

@test "three viewers at once: root and the tmtop group see everyone, a plain user only itself" {
	need_group
	start_meter --user root
	some_traffic
	# root
	"$TOP" -b -n 1 -d 0.3 --socket "$SOCKET" > "$TMP/root.out"
	# a member of the tmtop group (supplementary group), and a plain user, at the same time
	as "$TM_UID_A" "$TMTOP_GID" "$TOP" -b -n 1 -d 0.3 --socket "$SOCKET" > "$TMP/a.out" &
	a=$!
	as "$TM_UID_B" "" "$TOP" -b -n 1 -d 0.3 --socket "$SOCKET" > "$TMP/b.out"
	wait "$a"
	cat "$TMP"/*.out
	for f in root a; do
		grep -qE "^$TM_UID_A $TM_UID_A .* 640 " "$TMP/$f.out"
		grep -qE "^$TM_UID_B $TM_UID_B .* 896 " "$TMP/$f.out"
		grep -qE '^totals .* users=2 ' "$TMP/$f.out"
	done
	# the plain user: its own row, and not even the count of users or the totals
	grep -qE "^$TM_UID_B $TM_UID_B .* 896 " "$TMP/b.out"
	! grep -q "^$TM_UID_A " "$TMP/b.out"
	grep -qE "^totals restricted uid=$TM_UID_B$" "$TMP/b.out"
	! grep -qE 'users=|events=|log=' "$TMP/b.out"
	# the same by hand: no other user's peers, no stats, no totals, no logs, no ignore list
	ask "$TM_UID_B" "" '{"v":1,"cmd":"snapshot","peers_of":"'"$TM_UID_A"'"}' > "$TMP/b.json"
	jq -e '.ok and (.snapshot.users | length) == 1 and .snapshot.users[0].uid == '"$TM_UID_B"' and
		(.snapshot | has("stats") | not) and (.snapshot | has("totals") | not) and
		(.snapshot | has("peers") | not) and (.snapshot | has("logs") | not) and
		(.snapshot | has("ignore") | not) and .snapshot.restricted' "$TMP/b.json"
	ask "$TM_UID_B" "" '{"v":1,"cmd":"hello"}' | jq -e '.access == "own" and .may_edit == false'
	ask "$TM_UID_A" "$TMTOP_GID" '{"v":1,"cmd":"hello"}' | jq -e '.access == "all"'
	stop_meter
}

@test "only root changes the ignore list; the group and plain users are refused" {
	need_group
	start_meter --user root
	for who in "$TM_UID_A:$TMTOP_GID" "$TM_UID_B:"; do
		ask "${who%%:*}" "${who#*:}" '{"v":1,"cmd":"ignore-add","prefix":"127.0.0.9"}' |
			jq -e '.ok == false and (.error | test("only root"))'
	done
	ask 0 "" '{"v":1,"cmd":"ignore-add","prefix":"127.0.0.9"}' | jq -e '.ok'
	ask 0 "" '{"v":1,"cmd":"snapshot"}' | jq -e '.snapshot.ignore == [{"prefix":"127.0.0.9/32","on":true}]'
	ask 0 "" '{"v":1,"cmd":"ignore-set","prefix":"127.0.0.9/32","on":false}' | jq -e '.ok'
	ask 0 "" '{"v":1,"cmd":"ignore-del","prefix":"127.0.0.9"}' | jq -e '.ok'
	ask 0 "" '{"v":1,"cmd":"snapshot"}' | jq -e '.snapshot.ignore == []'
	# bad requests: one line each, the connection goes on
	ask 0 "" 'not json' '{"v":1}' '{"v":1,"cmd":"nope"}' '{"v":2,"cmd":"hello"}' \
		'{"v":"1","cmd":"hello"}' '{"cmd":"hello"}' '{"v":1,"cmd":"hello"}' > "$TMP/bad"
	[ "$(jq -s 'map(.ok) == [false, false, false, false, false, true, true]' "$TMP/bad")" = true ]
	sed -n 4p "$TMP/bad" | jq -e '.error | test("version 2 is not spoken here")'
	stop_meter
}

@test "tmtop log: a user reads their own log without sudo, and no one else's" {
	start_meter --user root
	some_traffic
	as "$TM_UID_A" "" "$TOP" log --socket "$SOCKET" > "$TMP/mine"
	[ "$(head -n1 "$TMP/mine")" = "direction,bytes,src_ip,dst_ip,timestamp,total_in,total_out" ]
	[ "$(grep -c '^out,128,' "$TMP/mine")" -eq 5 ]
	run as "$TM_UID_A" "" "$TOP" log -u "$TM_UID_B" --socket "$SOCKET"
	[ "$status" -ne 0 ]
	[[ "$output" == *"only your own log"* ]]
	# and the file itself is not theirs to open
	run as "$TM_UID_A" "" cat "$TMP/traffic_user_lo_$TM_UID_A.log"
	[ "$status" -ne 0 ]
	stop_meter
}

@test "tmtop log -f follows its log across a rotation by size and a logrotate move, like tail -F" {
	start_meter --user root --max-file-size 64K
	# setpriv itself in the background, so that $! is tmtop's pid and the signal reaches it
	setpriv --reuid="$TM_UID_A" --regid="$TM_UID_A" --clear-groups \
		"$TOP" log -f --socket "$SOCKET" > "$TMP/followed" &
	TM_PIDS+=($!)
	local follower=$!
	# ~50 bytes a row: 64 KiB holds ~1300, so these rotate the file at least once
	for _ in 1 2 3; do
		tm_traffic "$TM_UID_A" udp-send 4 127.0.0.1 9 1000 100
		sleep 1.5
	done
	[ -e "$TMP/traffic_user_lo_$TM_UID_A.log.1" ]
	# logrotate's way: move the file, then SIGHUP makes the meter open a new one
	mv "$TMP/traffic_user_lo_$TM_UID_A.log" "$TMP/moved.log"
	kill -HUP "$METER"
	sleep 0.5
	tm_traffic "$TM_UID_A" udp-send 4 127.0.0.1 9 500 100
	sleep 2.5
	kill "$follower"
	wait "$follower" || true
	stop_meter
	# every row once, in the order written: the rotated files oldest first, the moved one, the
	# new one (each file with its header)
	local log="$TMP/traffic_user_lo_$TM_UID_A.log"
	[ "$(grep -c '^out,128,' "$TMP/followed")" -eq 3500 ]
	cat $(ls -v "$log".[0-9]*) "$TMP/moved.log" "$log" > "$TMP/written"
	cmp "$TMP/followed" "$TMP/written"
}

@test "tmtop log -f waits for a log that has no row yet; without -f that is an error" {
	start_meter --user root
	run as "$TM_UID_A" "" "$TOP" log --socket "$SOCKET"
	[ "$status" -eq 1 ]
	[[ "$output" == *"no log file yet"* ]]
	setpriv --reuid="$TM_UID_A" --regid="$TM_UID_A" --clear-groups \
		"$TOP" log -f --socket "$SOCKET" > "$TMP/followed" 2> "$TMP/ferr" &
	TM_PIDS+=($!)
	local follower=$!
	tm_wait_grep "$TMP/ferr" 'waiting for it' 5
	tm_traffic "$TM_UID_A" udp-send 4 127.0.0.1 9 5 100
	tm_wait_grep "$TMP/followed" '^out,128,.*,640$' 10
	kill -INT "$follower"
	wait "$follower"
	[ "$(grep -c '^out,128,' "$TMP/followed")" -eq 5 ]
	stop_meter
}

@test "strangers cannot lock root out (8 viewers a uid, 8 slots kept) nor each other (fair shares)" {
	need_group
	start_meter
	# hold.py SOCKET N READY: N viewers that each say hello; prints accepted and refused
	cat > "$SYNC/hold.py" <<'EOF2'
import json, select, socket, sys, time
path, n, ready = sys.argv[1], int(sys.argv[2]), sys.argv[3]
socks, ok, refused = [], 0, []
for _ in range(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    try:
        s.sendall(b'{"v":1,"cmd":"hello"}\n')
    except BrokenPipeError:
        pass  # refused at once: the reason is still there to read
    line = s.makefile().readline()
    a = json.loads(line) if line else {"ok": False, "error": "closed"}
    if a.get("ok"):
        ok += 1
        socks.append(s)
    else:
        refused.append(a.get("error"))
print(ok, "|".join(sorted(set(refused))))
sys.stdout.flush()
open(ready, "w").close()
# hold them; a viewer the service closes prints what it was told
end = time.monotonic() + 30
while socks and time.monotonic() < end:
    for s in select.select(socks, [], [], 0.5)[0]:
        print(s.recv(4096).decode().strip())
        sys.stdout.flush()
        socks.remove(s)
time.sleep(max(0, end - time.monotonic()))
EOF2
	chmod 644 "$SYNC/hold.py"
	# one user asks for 12: 8 are served, the rest told why
	as 65400 "" /usr/bin/python3 "$SYNC/hold.py" "$SOCKET" 12 "$SYNC/r65400" > "$TMP/h65400" &
	TM_PIDS+=($!)
	tm_wait_file "$SYNC/r65400"
	[ "$(cat "$TMP/h65400")" = "8 too many viewers of this user" ]
	# and tmtop says so too, not just that the connection closed
	run as 65400 "" "$TOP" -b -n 1 --socket "$SOCKET"
	[ "$status" -ne 0 ]
	[[ "$output" == *"too many viewers of this user"* ]]
	# six more users take their 8 each: 56 strangers, all the slots strangers may have
	for u in 65401 65402 65403 65404 65405 65406; do
		as $u "" /usr/bin/python3 "$SYNC/hold.py" "$SOCKET" 8 "$SYNC/r$u" > "$TMP/h$u" &
		TM_PIDS+=($!)
	done
	for u in 65401 65402 65403 65404 65405 65406; do
		tm_wait_file "$SYNC/r$u"
		[ "$(cat "$TMP/h$u")" = "8 " ]
	done
	# root and a member of the group still get in
	ask 0 "" '{"v":1,"cmd":"hello"}' | jq -e '.ok and .access == "all"'
	ask "$TM_UID_A" "$TMTOP_GID" '{"v":1,"cmd":"hello"}' | jq -e '.ok and .access == "all"'
	# an eighth stranger is not locked out by the seven who hold them all: each of its two
	# takes the slot of the oldest viewer among those holding the most, who is told why
	as 65407 "" /usr/bin/python3 "$SYNC/hold.py" "$SOCKET" 2 "$SYNC/r65407" > "$TMP/h65407" &
	TM_PIDS+=($!)
	tm_wait_file "$SYNC/r65407"
	[ "$(cat "$TMP/h65407")" = "2 " ]
	# (65400 connected first; the other six at once, so which of them was oldest varies)
	tm_wait_grep "$TMP/h65400" 'closed: another user needed a viewer slot' 5
	for _ in $(seq 50); do
		[ "$(grep -l 'closed: another user needed' "$TMP"/h654* | wc -l)" -ge 2 ] && break
		sleep 0.1
	done
	[ "$(grep -l 'closed: another user needed' "$TMP"/h654* | wc -l)" -eq 2 ]
	# a ninth gets in too (tmtop, as a user would)
	as 65408 "" "$TOP" -b -n 1 --socket "$SOCKET"
	# and taking stops where the shares are even: 65407 gets one free slot and takes four,
	# then all eight hold 7 and its next is refused, not taken from another
	as 65407 "" /usr/bin/python3 "$SYNC/hold.py" "$SOCKET" 6 "$SYNC/s65407" > "$TMP/s65407" &
	TM_PIDS+=($!)
	tm_wait_file "$SYNC/s65407"
	[ "$(head -n1 "$TMP/s65407")" = "5 too many viewers" ]
	stop_meter
}

@test "tmtop attaches to the running meter: nothing loaded, nothing written, the header says so" {
	start_meter --user root
	some_traffic
	ls "$TMP" > "$TMP/files.before"
	"$TOP" -b -n 4 -d 0.3 --socket "$SOCKET" > "$TMP/out" &
	pid=$!
	# a viewer holds no BPF program or map (counted on its own fds: others' tests may load
	# programs meanwhile)
	sleep 0.6
	bpf_fds=$(find "/proc/$pid/fd" -lname 'anon_inode:bpf*' 2>/dev/null | wc -l)
	kill -0 "$pid"
	wait "$pid"
	ls "$TMP" > "$TMP/files.after"
	[ "$bpf_fds" -eq 0 ]
	diff <(grep -v -e out -e files "$TMP/files.before") <(grep -v -e out -e files "$TMP/files.after")
	grep -qE "^tmtop .* source=meter:$SOCKET meter_pid=$METER meter_uptime=[0-9]+$" "$TMP/out"
	stop_meter
}

@test "with no meter running a plain user gets one line on how to start it" {
	[ ! -S /run/tmtop/meter.sock ] || skip "a meter runs on this machine"
	run as "$TM_UID_B" "" "$TOP" -b -n 1
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"no meter is running"*"systemctl start tmtop"* ]]
	run as "$TM_UID_B" "" "$TOP" -b -n 1 --standalone
	[ "$status" -eq 1 ]
	[[ "$output" == *"needs root"* ]]
}

@test "viewer options that configure a meter are refused while attached, with the way out" {
	start_meter --user root
	run "$TOP" -b -n 1 --socket "$SOCKET" --no-log
	[ "$status" -eq 2 ]
	[[ "$output" == *"--standalone"* ]]
	run "$TOP" -b -n 1 --socket "$SOCKET" --standalone
	[ "$status" -eq 2 ]
	stop_meter
}

@test "an ignore-list edit applies at once to a socket already sending (no stale per-socket answer)" {
	start_meter --user root
	# one connected socket, three phases of 10 datagrams: the list changes between them (a
	# receiver, or the port-unreachable answers would refuse the next sends)
	tm_traffic_bg "$TM_UID_B" udp-recv 4 4917 30 "$SYNC/recv.ready"
	tm_wait_file "$SYNC/recv.ready"
	tm_traffic_bg "$TM_UID_A" udp-phases 4 127.0.0.1 4917 10 100 "$SYNC" 3
	tm_wait_file "$SYNC/sent.0"
	ask 0 "" '{"v":1,"cmd":"ignore-add","prefix":"127.0.0.1"}' | jq -e '.ok'
	touch "$SYNC/go.0"
	tm_wait_file "$SYNC/sent.1"
	ask 0 "" '{"v":1,"cmd":"ignore-set","prefix":"127.0.0.1/32","on":false}' | jq -e '.ok'
	touch "$SYNC/go.1"
	tm_wait_file "$SYNC/sent.2"
	sleep 0.3
	stop_meter
	# phases 1 and 3 logged, phase 2 not: the socket asked the list again after each edit
	[ "$(grep -c '^out,128,127\.0\.0\.1,127\.0\.0\.1,' "$TMP/traffic_user_lo_$TM_UID_A.log")" -eq 20 ]
	grep -qE "uid $TM_UID_A .*out 2560 B \(20 pkts\)" "$TMP/stderr"
}

@test "least privilege: the running service is nobody with no capabilities, and still does it all" {
	start_meter --user nobody
	grep -qE '^Uid:\s+65534\s+65534\s+65534\s+65534$' "/proc/$METER/status"
	grep -qE '^CapEff:\s+0+$' "/proc/$METER/status"
	grep -qE '^CapPrm:\s+0+$' "/proc/$METER/status"
	grep -qE '^NoNewPrivs:\s+1$' "/proc/$METER/status"
	# not dumpable: another process of the same user can neither look inside nor take its fds
	! as 65534 "" ls "/proc/$METER/fd" 2>/dev/null
	# a new user's file, created after the switch
	tm_traffic "$TM_UID_A" udp-send 4 127.0.0.1 9 4 100
	sleep 0.3
	# ignore-list edits reach the kernel
	ask 0 "" '{"v":1,"cmd":"ignore-add","prefix":"127.0.0.8"}' | jq -e '.ok'
	tm_traffic "$TM_UID_A" udp-send 4 127.0.0.8 9 3 100
	# logrotate: the file moved away, SIGHUP, a new file
	sleep 0.3
	mv "$TMP/traffic_user_lo_$TM_UID_A.log" "$TMP/rotated.log"
	kill -HUP "$METER"
	sleep 0.3
	tm_traffic "$TM_UID_A" udp-send 4 127.0.0.1 9 2 100
	sleep 0.3
	"$TOP" -b -n 1 -d 0.3 --socket "$SOCKET" > "$TMP/out"
	stop_meter
	[ "$(grep -c '^out,128,' "$TMP/rotated.log")" -eq 4 ]
	[ "$(grep -c '^out,128,' "$TMP/traffic_user_lo_$TM_UID_A.log")" -eq 2 ]
	[ "$(stat -c %U "$TMP/traffic_user_lo_$TM_UID_A.log")" = nobody ]
	! grep -q '127\.0\.0\.8' "$TMP/rotated.log" "$TMP/traffic_user_lo_$TM_UID_A.log"
	grep -qE "^$TM_UID_A $TM_UID_A .* 768 " "$TMP/out"
	grep -qE "uid $TM_UID_A .*out 768 B \(6 pkts\)" "$TMP/stderr"
	[ "$(tm_attached "$CG")" -eq 0 ]
}

@test "least privilege: a standalone tmtop drops too" {
	"$TOP" --standalone --user nobody -b -n 3 -d 0.5 --log-dir "$TMP" --no-history \
		--ignore-file /dev/null \
		"$CG" lo > "$TMP/out" 2> "$TMP/err" &
	local p=$!
	TM_PIDS+=("$p")
	tm_wait_grep "$TMP/out" '^# ignore' 10
	grep -qE '^Uid:\s+65534\s' "/proc/$p/status"
	grep -qE '^CapEff:\s+0+$' "/proc/$p/status"
	tm_traffic "$TM_UID_A" udp-send 4 127.0.0.1 9 3 100
	wait "$p"
	[ "$(grep -c '^out,128,' "$TMP/traffic_user_lo_$TM_UID_A.log")" -eq 3 ]
	# and on the way out it says where it logged, how many rows, how many bytes
	grep -qE "^tmtop: logged 3 rows, [0-9]+ bytes to $TMP/traffic_user_lo_<uid>\.log$" "$TMP/err"
	[ "$(tm_attached "$CG")" -eq 0 ]
}

@test "planted names in a world-writable log directory cost no row and are never written" {
	local v=$TM_UID_B n=$TMP/traffic_user_lo_$TM_UID_A.log
	start_meter --user root
	# five kinds of plant by another user, each in turn under the name A's log will take
	for kind in file dir fifo symlink hardlink; do
		rm -rf "$n" "$TMP"/traffic_user_lo_"$TM_UID_A".*.log
		case $kind in
		file) as "$v" "" sh -c "echo planted > '$n'; chmod 666 '$n'" ;;
		dir) as "$v" "" mkdir "$n" ;;
		fifo) as "$v" "" mkfifo -m 666 "$n" ;;
		symlink) as "$v" "" sh -c "echo target > '$TMP/t.$kind'; ln -s '$TMP/t.$kind' '$n'" ;;
		hardlink) as "$v" "" sh -c "echo target > '$TMP/t.$kind'; ln '$TMP/t.$kind' '$n'" ;;
		esac
		kill -HUP "$METER"	# the meter opens the name afresh
		sleep 0.3
		tm_traffic "$TM_UID_A" udp-send 4 127.0.0.1 9 3 100
		sleep 0.4
		alt=$(ls "$TMP"/traffic_user_lo_"$TM_UID_A".*.log)
		[ "$(grep -c '^out,128,' "$alt")" -eq 3 ] || { echo "$kind: rows lost"; false; }
		[ "$(stat -c %U "$alt")" = root ]
		case $kind in
		file) [ "$(cat "$n")" = planted ] ;;
		dir) [ -d "$n" ] && [ -z "$(ls "$n")" ] ;;
		fifo) [ -p "$n" ] ;;
		symlink | hardlink) [ "$(cat "$TMP/t.$kind")" = target ] ;;
		esac
	done
	stop_meter
	grep -q 'name was taken' "$TMP/stderr"
	! grep -qi 'write error' "$TMP/stderr"
}

@test "tmtop log hands out only a log the meter wrote, never a file planted at its name" {
	local n=$TMP/traffic_user_lo_$TM_UID_A.log
	start_meter --user root
	# B plants A's log before A has sent anything
	as "$TM_UID_B" "" sh -c "echo 'out,999,6.6.6.6,6.6.6.6,1.000000000,0,999' > '$n'; chmod 644 '$n'"
	run as "$TM_UID_A" "" "$TOP" log --socket "$SOCKET"
	[ "$status" -ne 0 ]
	[[ "$output" == *"not a log this meter wrote"* ]]
	[[ "$output" != *6.6.6.6* ]]
	# once A sends, the meter writes a file of its own, and that is what A gets
	tm_traffic "$TM_UID_A" udp-send 4 127.0.0.1 9 3 100
	sleep 0.4
	as "$TM_UID_A" "" "$TOP" log --socket "$SOCKET" > "$TMP/mine"
	stop_meter
	[ "$(grep -c '^out,128,' "$TMP/mine")" -eq 3 ]
	! grep -q '6\.6\.6\.6' "$TMP/mine"
}

@test "the default log directory: the meter's and the tmtop group's only, not even stat for others" {
	[ ! -e /var/log/tmtop ] || skip "/var/log/tmtop exists on this machine: not touching it"
	need_group
	MADE_LOGDIR=/var/log/tmtop
	"$BIN" --user root --socket "$SOCKET" --no-history -i /dev/null "$CG" lo 2> "$TMP/stderr" &
	METER=$!
	TM_PIDS+=("$METER")
	tm_wait_grep "$TMP/stderr" 'watching' 10
	tm_traffic "$TM_UID_A" udp-send 4 127.0.0.1 9 3 100
	sleep 0.4
	[ "$(stat -c '%U %G %a' /var/log/tmtop)" = "root tmtop 2770" ]
	[ "$(stat -c '%G %a' "/var/log/tmtop/traffic_user_lo_$TM_UID_A.log")" = "tmtop 640" ]
	run as "$TM_UID_B" "" stat "/var/log/tmtop/traffic_user_lo_$TM_UID_A.log"
	[ "$status" -ne 0 ]
	run as "$TM_UID_B" "" ls /var/log/tmtop
	[ "$status" -ne 0 ]
	# a member of the group reads every log
	as "$TM_UID_B" "$TMTOP_GID" cat "/var/log/tmtop/traffic_user_lo_$TM_UID_A.log" |
		grep -q '^out,128,'
	# and the user reads its own through the meter
	as "$TM_UID_A" "" "$TOP" log --socket "$SOCKET" | grep -c '^out,128,' | grep -qx 3
	stop_meter
}

@test "tmtop in tmux, as root and as a plain user, against one running service" {
	start_meter --user root
	tm_traffic_bg "$TM_UID_A" udp-flood 4 127.0.0.1 9 6 200
	tm_traffic_bg "$TM_UID_B" udp-flood 4 127.0.0.1 9 6 200
	TMUX_SOCK="tmtop_svc_$$"
	printf 'set -g status off\n' > "$TMP/tmux.conf"
	tmux -L "$TMUX_SOCK" -f "$TMP/tmux.conf" new-session -d -s root -x 120 -y 30 \
		"'$TOP' --socket '$SOCKET'"
	tmux -L "$TMUX_SOCK" new-session -d -s user -x 100 -y 30 \
		"setpriv --reuid=$TM_UID_B --regid=$TM_UID_B --clear-groups '$TOP' --socket '$SOCKET'"
	for i in $(seq 50); do
		tmux -L "$TMUX_SOCK" capture-pane -p -t root | grep -q "^$TM_UID_B " &&
			tmux -L "$TMUX_SOCK" capture-pane -p -t user | grep -q "^$TM_UID_B " && break
		sleep 0.1
	done
	root=$(tmux -L "$TMUX_SOCK" capture-pane -p -t root)
	user=$(tmux -L "$TMUX_SOCK" capture-pane -p -t user)
	echo "$root"; echo "$user"
	[[ "$root" == *"attached to the meter, pid $METER"* ]]
	[[ "$root" =~ $'\n'"$TM_UID_A " ]] && [[ "$root" =~ $'\n'"$TM_UID_B " ]]
	[[ "$user" == *"Only your own traffic"* ]]
	[[ "$user" =~ $'\n'"$TM_UID_B " ]]
	! [[ "$user" =~ $'\n'"$TM_UID_A " ]]
	# the plain user may look at the ignore list but not change it
	tmux -L "$TMUX_SOCK" send-keys -t user x a
	sleep 0.3
	[[ "$(tmux -L "$TMUX_SOCK" capture-pane -p -t user)" == *"only root may change"* ]]
	tmux -L "$TMUX_SOCK" send-keys -t root q
	tmux -L "$TMUX_SOCK" send-keys -t user q
	stop_meter
}
