#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# The flow-record backend (-o flows) against the real kernel: two users send known UDP and TCP
# traffic over IPv4 and IPv6 loopback while the meter writes CSV and flow records at once; the
# flow records' sums per owner and direction must equal the CSV rows' and the kernel's exactly.
# Also: a planted symlink or FIFO at the file's name, logrotate's mv + SIGHUP, and the extended
# keys with a command name that holds commas, quotes, a newline and a byte that is no UTF-8.

load ../lib.bash

setup() {
	tm_setup
	BIN="$TM_BIN_DIR/traffic_meter_user"
	FLOWS="$TMP/flows_lo.jsonl"
}

teardown() {
	tm_teardown
}

# start_logger [--user NAME] [options...]: the meter on $CG with nic_id lo, files in $TMP; as
# root unless told (started as root it would become tmtop or nobody, who cannot write $TMP).
start_logger() {
	local who=(--user root)
	if [ "${1:-}" = --user ]; then
		who=(--user "$2")
		shift 2
	fi
	tm_start_meter "$BIN" "${who[@]}" -d "$TMP" --no-socket --no-history -i /dev/null "$@" \
		"$CG" lo || return 1
	LOGGER=$METER
}

stop_logger() { tm_stop_meter; }

# udp_exchange FAMILY DST COUNT SIZE: user B receives, user A sends.
udp_exchange() {
	local port recv
	port=$(tm_port)
	tm_traffic_bg "$TM_UID_B" udp-recv "$1" "$port" "$3" "$SYNC/ready.$port"
	recv=$TM_LAST_PID
	tm_wait_file "$SYNC/ready.$port"
	tm_traffic "$TM_UID_A" udp-send "$1" "$2" "$port" "$3" "$4"
	wait "$recv" || true
}

# tcp_exchange FAMILY ADDR BYTES: user B accepts, user A connects and sends.
tcp_exchange() {
	local port recv
	port=$(tm_port)
	tm_traffic_bg "$TM_UID_B" tcp-recv "$1" "$port" "$SYNC/ready.$port"
	recv=$TM_LAST_PID
	tm_wait_file "$SYNC/ready.$port"
	tm_traffic "$TM_UID_A" tcp-send "$1" "$2" "$port" "$3"
	wait "$recv"
}

# "owner direction bytes packets" lines, sorted, nonzero only: the same shape from all three.
sums_flows() {
	cat "$@" | jq -s -r 'group_by([.owner, .direction])[] |
		"\(.[0].owner) \(.[0].direction) \(map(.bytes) | add) \(map(.packets) | add)"' |
		awk '$3 > 0' | sort
}

sums_csv() {
	local f tok
	for f in "$TMP"/traffic_user_lo_*.log; do
		tok=${f##*/traffic_user_lo_}
		tok=${tok%.log}
		awk -F, -v o="$tok" 'NR > 1 { b[$1] += $2; n[$1]++ }
			END { for (d in b) print o, d, b[d], n[d] }' "$f"
	done | awk '$3 > 0' | sort
}

sums_kernel() {
	sed -nE 's/^  uid ([^ ]+) .* in ([0-9]+) B \(([0-9]+) pkts\)  out ([0-9]+) B \(([0-9]+) pkts\)$/\1 in \2 \3\n\1 out \4 \5/p' \
		"$TMP/stderr" | awk '$3 > 0' | sort
}

# check_lines INTERVAL FILE...: every line one JSON object (parsed strictly, UTF-8 checked), on
# the interval grid, with its first and last packet inside it.
check_lines() {
	local interval=$1
	shift
	"$TM_PY" - "$interval" "$@" <<'EOF'
import json, sys
interval = int(sys.argv[1])
for path in sys.argv[2:]:
    with open(path, "rb") as f:
        data = f.read()
    assert data.endswith(b"\n"), path + ": does not end with a newline"
    for n, raw in enumerate(data.split(b"\n")[:-1], 1):
        o = json.loads(raw.decode("utf-8", errors="strict"))
        where = "%s:%d" % (path, n)
        assert o["v"] == 1, where
        assert o["end"] - o["start"] == interval, where
        assert o["start"] % interval == 0, where
        assert o["start"] <= o["first"] <= o["last"] < o["end"], where
        assert o["bytes"] > 0 and o["packets"] > 0, where
        assert isinstance(o["partial"], bool), where
        assert o["direction"] in ("in", "out"), where
EOF
}

# exact INTERVAL [options...]: the meter with both backends, known traffic over several intervals.
exact() {
	local interval=$1
	shift
	start_logger -o csv,flows --flow-interval "$interval" "$@"
	udp_exchange 4 127.0.0.1 40 100
	tcp_exchange 4 127.0.0.1 200000
	sleep "$interval"
	udp_exchange 6 ::1 30 200
	tcp_exchange 6 ::1 100000
	sleep 1.2
	udp_exchange 4 127.0.0.1 25 1000
	stop_logger
	grep -q ' 0 lost' "$TMP/stderr"
	! grep -qi 'write error' "$TMP/stderr"
	check_lines "$interval" "$FLOWS"
	sums_flows "$FLOWS" > "$TMP/sum.flows"
	sums_csv > "$TMP/sum.csv"
	sums_kernel > "$TMP/sum.kernel"
	# both users in both directions (TCP acks flow back), and the three agree to the byte
	[ "$(wc -l < "$TMP/sum.kernel")" -ge 4 ]
	grep -q "^$TM_UID_A out " "$TMP/sum.kernel"
	grep -q "^$TM_UID_B in " "$TMP/sum.kernel"
	diff -u "$TMP/sum.kernel" "$TMP/sum.flows"
	diff -u "$TMP/sum.kernel" "$TMP/sum.csv"
	# several intervals, each a line per key at most once unless marked partial
	[ "$(jq -s 'map(.start) | unique | length' "$FLOWS")" -ge 2 ]
	[ "$(jq -s -r '.[] | select(.partial == false) |
		[.start, .owner, .direction, .local_addr, .remote_addr, .proto // "", .local_port // 0,
		 .remote_port // 0, .pid // 0] | @json' "$FLOWS" | sort | uniq -d | wc -l)" -eq 0 ]
	# the summary counts the lines the file holds
	rows=$(sed -nE 's/.*flows: ([0-9]+) rows, ([0-9]+) bytes written.*/\1/p' "$TMP/stderr")
	[ "$rows" -eq "$(wc -l < "$FLOWS")" ]
	# one file for every owner: private, or readable by the reader group only
	if getent group tmtop > /dev/null; then
		[ "$(stat -c %a "$FLOWS")" = 640 ]
	else
		[ "$(stat -c %a "$FLOWS")" = 600 ]
	fi
}

@test "flows = CSV = kernel, per owner and direction, to the byte (--flow-interval 1)" {
	exact 1
}

@test "flows = CSV = kernel with --flow-interval 2" {
	exact 2
}

@test "flows = CSV = kernel with the extended keys (ports and processes split the flows)" {
	exact 1 --log-format extended
	# every extended line names its protocol; UDP and TCP lines their ports and creator
	[ "$(jq -s '[.[] | select(.proto == null)] | length' "$FLOWS")" -eq 0 ]
	[ "$(jq -s '[.[] | select(.proto == "udp" or .proto == "tcp") |
		select(.local_port == null or .remote_port == null)] | length' "$FLOWS")" -eq 0 ]
	jq -e -s "any(.[]; .owner == \"$TM_UID_A\" and .comm == \"python3\" and .pid > 0 and
		(.cgroup | startswith(\"/\")))" "$FLOWS"
}

@test "a command name with commas, quotes, a newline and a stray byte is escaped as JSON" {
	start_logger -o csv,flows --flow-interval 1 --log-format extended
	port=$(tm_port)
	tm_traffic_bg "$TM_UID_B" udp-recv 4 "$port" 10 "$SYNC/ready.$port"
	recv=$TM_LAST_PID
	tm_wait_file "$SYNC/ready.$port"
	# the name is set before the socket exists: the kernel records it at socket creation
	tm_as "$TM_UID_A" "$TM_PY" -c '
import ctypes, socket, sys, time
libc = ctypes.CDLL(None, use_errno=True)
name = b"a,b\"c\nd\\\xff\xc3\xa9"
assert libc.prctl(15, ctypes.c_char_p(name), 0, 0, 0) == 0
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(10):
    s.sendto(b"x" * 50, ("127.0.0.1", int(sys.argv[1])))
    time.sleep(0.001)
' "$port"
	wait "$recv" || true
	stop_logger
	check_lines 1 "$FLOWS"
	# the raw line: every special character escaped, the stray byte as U+FFFD, é kept
	grep -F '"comm":"a,b\"c\nd\\\ufffdé"' "$FLOWS"
	"$TM_PY" - "$FLOWS" "$TM_UID_A" <<'EOF'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8", errors="strict")]
hit = [o for o in lines if o["owner"] == sys.argv[2] and o.get("comm") == 'a,b"c\nd\\\ufffd\u00e9']
assert hit, "no line with the odd command name"
assert sum(o["packets"] for o in hit) == 10, hit
assert all(o["bytes"] == o["packets"] * 78 for o in hit), hit
EOF
	# the CSV's rows of that process stayed one line each
	[ "$(grep -c ',udp,.*,"a,b""c\\x0ad' "$TMP/traffic_user_lo_$TM_UID_A.log")" -eq 10 ]
}

@test "a symlink planted at the flows file is not followed, and no record is lost to it" {
	echo "precious" > "$TMP/target"
	ln -s "$TMP/target" "$FLOWS"
	start_logger -o flows --flow-interval 1
	udp_exchange 4 127.0.0.1 20 10
	stop_logger
	[ -L "$FLOWS" ]
	[ "$(cat "$TMP/target")" = "precious" ]
	alt=$(ls "$TMP"/flows_lo.*.jsonl)
	[ ! -L "$alt" ]
	grep -q "name was taken (a symbolic link)" "$TMP/stderr"
	grep -qF "written to $alt" "$TMP/stderr"
	check_lines 1 "$alt"
	sums_kernel > "$TMP/sum.kernel"
	sums_flows "$alt" > "$TMP/sum.flows"
	diff -u "$TMP/sum.kernel" "$TMP/sum.flows"
}

@test "a FIFO planted at the flows file neither hangs the meter nor costs a record" {
	mkfifo "$FLOWS"
	start_logger -o flows --flow-interval 1
	udp_exchange 6 ::1 20 10
	t0=$(date +%s%N)
	stop_logger
	t1=$(date +%s%N)
	[ $(((t1 - t0) / 1000000)) -lt 3000 ]
	[ -p "$FLOWS" ]
	grep -q "name was taken (not a regular file)" "$TMP/stderr"
	alt=$(ls "$TMP"/flows_lo.*.jsonl)
	sums_kernel > "$TMP/sum.kernel"
	sums_flows "$alt" > "$TMP/sum.flows"
	diff -u "$TMP/sum.kernel" "$TMP/sum.flows"
}

@test "logrotate (mv, then SIGHUP): a new file, and no record lost between the two" {
	start_logger -o csv,flows --flow-interval 1
	udp_exchange 4 127.0.0.1 30 10
	tm_wait_grep "$FLOWS" '"packets"' 5
	mv "$FLOWS" "$FLOWS.1"
	# records of the interval in progress are held in memory: they reach the new file
	udp_exchange 4 127.0.0.1 20 10
	kill -HUP "$LOGGER"
	sleep 0.3
	udp_exchange 6 ::1 10 10
	stop_logger
	[ -s "$FLOWS.1" ]
	[ -s "$FLOWS" ]
	check_lines 1 "$FLOWS.1" "$FLOWS"
	sums_kernel > "$TMP/sum.kernel"
	sums_flows "$FLOWS.1" "$FLOWS" > "$TMP/sum.flows"
	sums_csv > "$TMP/sum.csv"
	diff -u "$TMP/sum.kernel" "$TMP/sum.flows"
	diff -u "$TMP/sum.kernel" "$TMP/sum.csv"
}

@test "--output flows alone: no CSV files, the start line names the flows file" {
	start_logger -o flows
	grep -q "logging to $FLOWS;" "$TMP/stderr"
	udp_exchange 4 127.0.0.1 5 10
	t=$(date +%s)
	stop_logger
	! ls "$TMP"/traffic_user_lo_* 2> /dev/null
	# the default interval is 60 s: the one in progress at exit is written, marked partial
	check_lines 60 "$FLOWS"
	jq -e -s --argjson t "$t" 'all(.[]; .end <= $t or .partial)' "$FLOWS"
	sums_kernel > "$TMP/sum.kernel"
	sums_flows "$FLOWS" > "$TMP/sum.flows"
	diff -u "$TMP/sum.kernel" "$TMP/sum.flows"
}

@test "as nobody with no capabilities: the file is created after the drop and reopened on SIGHUP" {
	chmod 1777 "$TMP"
	start_logger --user nobody -o flows --flow-interval 1
	grep -qE '^CapEff:\s+0+$' "/proc/$LOGGER/status"
	udp_exchange 4 127.0.0.1 10 10
	tm_wait_grep "$FLOWS" '"packets"' 5
	[ "$(stat -c %U "$FLOWS")" = nobody ]
	mv "$FLOWS" "$FLOWS.1"
	kill -HUP "$LOGGER"
	sleep 0.3
	udp_exchange 4 127.0.0.1 10 10
	stop_logger
	[ "$(stat -c %U "$FLOWS")" = nobody ]
	sums_kernel > "$TMP/sum.kernel"
	sums_flows "$FLOWS.1" "$FLOWS" > "$TMP/sum.flows"
	diff -u "$TMP/sum.kernel" "$TMP/sum.flows"
}
