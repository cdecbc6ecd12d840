#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# Inside a user (issue 13), on the real kernel: every socket knows the process that made it
# (cgroup/sock_create, and the start-up walk for sockets older than the meter), so the
# processes of one user (UDP and TCP, IPv4 and IPv6, a short-lived one, one in a child cgroup
# named like a systemd unit) each carry exactly what they sent, their rows add up to the user's,
# their connections have the right ports, and the extended log names them, quoted safely.

load ../lib.bash

setup() {
	tm_setup
	BIN="$TM_BIN_DIR/traffic_meter_user"
	TOP="$TM_BIN_DIR/tmtop"
	SOCKET="$TMP/meter.sock"
	# NAME PIDFILE FAMILY DST COUNT SIZE [HOLD]: a UDP sender whose command name is NAME, that
	# writes its pid and source port to PIDFILE, waits for HOLD to exist (if given) before
	# sending, writes PIDFILE.sent after, and stays until $SYNC/end exists unless NAME is
	# "brief" (a process may only be seen gone once the test is done looking)
	cat > "$SYNC/send.py" <<'EOF'
import ctypes, os, socket, sys, time
name, pidfile, fam, dst, count, size = sys.argv[1:7]
hold = sys.argv[7] if len(sys.argv) > 7 and sys.argv[7] != "-" else None
ctypes.CDLL(None).prctl(15, os.fsencode(name), 0, 0, 0)	# PR_SET_NAME: the bytes as given
f = socket.AF_INET6 if fam == "6" else socket.AF_INET
s = socket.socket(f, socket.SOCK_DGRAM)
s.bind((dst, 0))
with open(pidfile + ".tmp", "w") as o:
    o.write("%d %d\n" % (os.getpid(), s.getsockname()[1]))
os.rename(pidfile + ".tmp", pidfile)
end = time.monotonic() + 20
while hold and not os.path.exists(hold) and time.monotonic() < end:
    time.sleep(0.05)
for i in range(int(count)):
    s.sendto(b"u" * int(size), (dst, 9))
    time.sleep(0.002)
open(pidfile + ".sent", "w").close()
end = time.monotonic() + 20
while name != "brief" and not os.path.exists(os.path.dirname(pidfile) + "/end") and \
        time.monotonic() < end:
    time.sleep(0.05)
EOF
	chmod 644 "$SYNC/send.py"
}

teardown() {
	tm_tmux_kill "tmtop_proc_$$"
	tm_teardown
}

start_meter() {
	tm_start_meter "$BIN" --user root -d "$TMP" --socket "$SOCKET" --no-history -i /dev/null \
		"$@" "$CG" lo
}

stop_meter() { tm_stop_meter; }

# in_cg CG UID CMD...: run CMD as UID inside cgroup CG
in_cg() {
	local cg=$1 uid=$2
	shift 2
	sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' sh "$cg" \
		setpriv --reuid="$uid" --regid="$uid" --clear-groups "$@"
}

@test "each process of a user carries exactly what it sent, and the rows add up" {
	local child="$CG/tmtop-app.service"
	mkdir "$child"
	# a socket older than the meter: made before it starts, used after
	tm_as_bg "$TM_UID_A" /usr/bin/python3 "$SYNC/send.py" old-sock "$SYNC/old" 4 127.0.0.1 \
		7 100 "$SYNC/go"
	tm_wait_file "$SYNC/old"
	start_meter --log-format extended
	touch "$SYNC/go"
	tm_as_bg "$TM_UID_A" /usr/bin/python3 "$SYNC/send.py" udp-four "$SYNC/p1" 4 127.0.0.1 20 100
	tm_as_bg "$TM_UID_A" /usr/bin/python3 "$SYNC/send.py" 'odd,"name' "$SYNC/p2" 6 ::1 10 50
	# short-lived: three datagrams and gone
	tm_as "$TM_UID_A" /usr/bin/python3 "$SYNC/send.py" brief "$SYNC/p3" 4 127.0.0.1 3 10
	in_cg "$child" "$TM_UID_A" /usr/bin/python3 "$SYNC/send.py" in-unit "$SYNC/p4" 4 \
		127.0.0.1 5 200 &
	TM_PIDS+=($!)
	for f in old p1 p2 p4; do tm_wait_file "$SYNC/$f.sent"; done
	# TCP over IPv6, both ends this user's
	port=$(tm_port)
	tm_traffic_bg "$TM_UID_A" tcp-recv 6 "$port" "$SYNC/ready"
	tm_wait_file "$SYNC/ready"
	tm_traffic "$TM_UID_A" tcp-send 6 ::1 "$port" 30000
	sleep 2.5	# long enough for the short-lived ones to be found gone
	"$TOP" -b -n 1 -d 0.3 --processes --socket "$SOCKET" > "$TMP/batch"
	"$TOP" -b -n 1 -d 0.3 --processes --json --socket "$SOCKET" > "$TMP/json"
	read -r p1 port1 < "$SYNC/p1"
	touch "$SYNC/end"
	stop_meter
	cat "$TMP/batch"
	read -r old _ < "$SYNC/old"
	read -r p2 _ < "$SYNC/p2"
	read -r p3 _ < "$SYNC/p3"
	read -r p4 _ < "$SYNC/p4"
	# PID USER IN/s OUT/s TOT_IN TOT_OUT CONNS COMMAND SERVICE, exactly per process
	grep -qE "^$p1 $TM_UID_A [0-9-]+ [0-9-]+ 0 2560 1 udp-four " "$TMP/batch"
	grep -qE "^$p2 $TM_UID_A [0-9-]+ [0-9-]+ 0 980 1 odd,\"name " "$TMP/batch"
	grep -qE "^$old $TM_UID_A [0-9-]+ [0-9-]+ 0 896 1 old-sock " "$TMP/batch"
	grep -qE "^$p4 $TM_UID_A [0-9-]+ [0-9-]+ 0 1140 1 in-unit tmtop-app\.service$" "$TMP/batch"
	# the short-lived one is there, marked, or already folded into the exited row
	grep -qE "^($p3 $TM_UID_A [0-9-]+ [0-9-]+ 0 114 1 brief\(exited\)|- $TM_UID_A .* \(exited:[0-9]+\)) " "$TMP/batch"
	# the rows of a user add up to the user's total
	jq -e '([.processes[] | select(.uid == '"$TM_UID_A"') | .out_bytes] | add) ==
		(.users[] | select(.uid == '"$TM_UID_A"') | .out_bytes)' "$TMP/json"
	jq -e '([.processes[] | select(.uid == '"$TM_UID_A"') | .in_bytes] | add) ==
		(.users[] | select(.uid == '"$TM_UID_A"') | .in_bytes)' "$TMP/json"
	# accepted connections belong to the process that listens: nothing is unknown here
	! grep -q '(unknown)' "$TMP/batch"
	# the extended log names them, the odd name quoted as RFC 4180 says
	log="$TMP/traffic_user_lo_$TM_UID_A.log"
	head -n1 "$log" | grep -qx 'direction,bytes,src_ip,dst_ip,timestamp,total_in,total_out,proto,sport,dport,pid,comm,cgroup'
	[ "$(grep -cE "^out,128,127\.0\.0\.1,127\.0\.0\.1,[0-9.]+,[0-9]+,[0-9]+,udp,$port1,9,$p1,udp-four," "$log")" -eq 20 ]
	[ "$(grep -cF ",$p2,\"odd,\"\"name\"," "$log")" -eq 10 ]
	[ "$(grep -cE ",$p4,in-unit,/.*/tmtop-app\.service$" "$log")" -eq 5 ]
	[ "$(grep -cE ",$old,old-sock," "$log")" -eq 7 ]
}

@test "a process's connections: protocol, local and remote port, peer, exact totals" {
	start_meter
	tm_as "$TM_UID_A" /usr/bin/python3 "$SYNC/send.py" conn "$SYNC/p" 4 127.0.0.1 8 100
	sleep 0.3
	read -r pid sport < "$SYNC/p"
	/usr/bin/python3 - "$SOCKET" "$pid" "$TM_UID_A" > "$TMP/conns" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
req = {"v": 1, "cmd": "snapshot", "connections": {"owner": sys.argv[3], "pid": int(sys.argv[2])}}
s.sendall((json.dumps(req) + "\n").encode())
buf = b""
while not buf.endswith(b"\n"):
    buf += s.recv(1 << 20)
print(json.dumps(json.loads(buf)["snapshot"]["connections"]))
EOF
	stop_meter
	cat "$TMP/conns"
	jq -e '.pid == '"$pid"' and (.list | length) == 1 and .list[0].proto == 17 and
		.list[0].lport == '"$sport"' and .list[0].rport == 9 and
		.list[0].addr == "127.0.0.1" and .list[0].out_bytes == 1024' "$TMP/conns"
}

@test "a command name that is not UTF-8 reaches scripts as valid UTF-8; a request must be strict JSON" {
	start_meter
	tm_as_bg "$TM_UID_A" /usr/bin/python3 "$SYNC/send.py" $'ev\xffil\xc3' "$SYNC/p" 4 \
		127.0.0.1 3 100
	tm_wait_file "$SYNC/p.sent"
	sleep 0.3
	# Python's json decodes bytes as strict UTF-8: one stray byte would fail the whole answer
	/usr/bin/python3 - "$SOCKET" > "$TMP/answers" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rb")
def ask(raw):
    s.sendall(raw + b"\n")
    return json.loads(f.readline())
snap = ask(b'{"v":1,"cmd":"snapshot","processes":"all"}')["snapshot"]
print(json.dumps([p["comm"] for p in snap["processes"]]))
for raw in (b'{"v":1,"cmd":"hello"}x', b'{"v":1,"cmd":"hello",}', b'{"v":1,"cmd":"\xff"}',
            b'{"v":1,"cmd":"hello"}{}', b'{"v":1,"cmd":"hello"}\r'):
    a = ask(raw)
    print(a["ok"], a.get("error", ""))
EOF
	touch "$SYNC/end"
	stop_meter
	cat "$TMP/answers"
	head -n1 "$TMP/answers" | jq -e 'any(.[]; . == "ev\ufffdil\ufffd")'
	[ "$(sed -n 2,5p "$TMP/answers" | grep -c '^False not JSON at offset')" -eq 4 ]
	sed -n 4p "$TMP/answers" | grep -q 'invalid utf-8'
	[ "$(sed -n 6p "$TMP/answers")" = "True " ]
}

@test "the flat processes view and the drill-down in tmux" {
	start_meter
	tm_as_bg "$TM_UID_A" /usr/bin/python3 "$SYNC/send.py" viewme "$SYNC/p" 4 127.0.0.1 3000 100
	tm_wait_file "$SYNC/p"
	read -r pid _ < "$SYNC/p"
	local ts="tmtop_proc_$$"
	tmux -L "$ts" new-session -d -s v -x 120 -y 30 "'$TOP' --socket '$SOCKET'"
	for i in $(seq 50); do tmux -L "$ts" capture-pane -p -t v | grep -q "^$TM_UID_A " && break; sleep 0.1; done
	tmux -L "$ts" send-keys -t v P
	sleep 1.2
	flat=$(tmux -L "$ts" capture-pane -p -t v)
	tmux -L "$ts" send-keys -t v Escape
	sleep 0.3
	tmux -L "$ts" send-keys -t v p
	sleep 1.2
	tmux -L "$ts" send-keys -t v Enter
	sleep 1.2
	conns=$(tmux -L "$ts" capture-pane -p -t v)
	tmux -L "$ts" send-keys -t v q
	sleep 0.3
	tm_tmux_kill "$ts"
	stop_meter
	echo "$flat"; echo "$conns"
	[[ "$flat" == *"Processes of every user"* ]]
	[[ "$flat" =~ [[:space:]]$pid\ +$TM_UID_A\ .*viewme ]]
	[[ "$conns" == *"Connections of pid $pid viewme"* ]]
	[[ "$conns" =~ udp\ +[0-9]+\ .*127\.0\.0\.1:9 ]]
}
