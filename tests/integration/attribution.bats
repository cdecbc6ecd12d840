#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# Attribution you can trust (issue 7), on the real kernel: the owner is the socket's real uid
# whatever user or network namespace the process is in, forged addresses in a private network
# namespace are marked with that namespace, nobody is nobody and the kernel's own packets are
# "(kernel)", --iface means the interface of the meter's own namespace, peers are exact up to
# their bound, and a full owner table loses nothing and says so.
#
# Traffic stays on loopback or between network namespaces the test makes, with addresses from
# the benchmarking range 198.18.0.0/15 (the host's own network must never be one of them: a
# guard checks); every namespace, link and process is removed by teardown.

load ../lib.bash

setup() {
	tm_setup
	BIN="$TM_BIN_DIR/traffic_meter_user"
	TOP="$TM_BIN_DIR/tmtop"
	NETNS=()
	LINKS=()
	# One process that both receives and sends, so the user is its own peer: COUNT datagrams
	# of SIZE bytes from SRC to DST:PORT (SRC "" = any), each one read back.
	cat > "$SYNC/pingpong.py" <<'EOF'
import socket, sys, time
src, dst, count, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
r = socket.socket(fam, socket.SOCK_DGRAM)
r.bind((dst, 0))
r.settimeout(2)
s = socket.socket(fam, socket.SOCK_DGRAM)
if src:
    s.bind((src, 0))
end = time.monotonic() + 20
for i in range(count):
    if time.monotonic() > end:
        break
    s.sendto(b"x" * size, r.getsockname()[:2])
    try:
        r.recv(65536)
    except socket.timeout:
        pass
EOF
	chmod 644 "$SYNC/pingpong.py"
}

teardown() {
	local n l
	for n in "${NETNS[@]:-}"; do [ -n "$n" ] && ip netns del "$n" 2>/dev/null; done
	for l in "${LINKS[@]:-}"; do [ -n "$l" ] && ip link del "$l" 2>/dev/null; done
	tm_teardown
}

# start_meter [options...] [-- CGROUP]: the service on $CG, logs and socket in $TMP.
start_meter() {
	local cg=$CG
	if [ "${1:-}" = "--root-cgroup" ]; then
		cg=$(tm_cg2_mount)
		shift
	fi
	tm_start_meter "$BIN" --user root -d "$TMP" --socket "$TMP/meter.sock" \
		--history-db "$TMP/history.db" -i /dev/null "$@" "$cg" lo
}

stop_meter() { tm_stop_meter; }

log_of() { echo "$TMP/traffic_user_lo_$1.log"; }

# rows DIRECTION FILE: how many rows of that direction
rows() { grep -c "^$1," "$2" 2>/dev/null || true; }

@test "unshare -Urn: a user namespace with its own network is charged to the real uid, not root" {
	start_meter
	tm_as "$TM_UID_A" unshare -Urn sh -c \
		"ip link set lo up && /usr/bin/python3 $SYNC/pingpong.py '' 127.0.0.1 20 100"
	sleep 0.5
	"$TOP" -b -n 1 -d 0.3 --peers --socket "$TMP/meter.sock" > "$TMP/batch"
	stop_meter
	cat "$TMP/batch"
	[ "$(rows out "$(log_of "$TM_UID_A")")" -eq 20 ]
	[ "$(rows in "$(log_of "$TM_UID_A")")" -eq 20 ]
	[ ! -e "$(log_of 0)" ]
	grep -qE "uid $TM_UID_A .*out 2560 B \(20 pkts\)" "$TMP/stderr"
	! grep -qE '^  uid 0 ' "$TMP/stderr"
	# the peer is the private namespace's loopback, marked as such
	grep -qE "^$TM_UID_A $TM_UID_A .* 127\.0\.0\.1@netns:[0-9]+$" "$TMP/batch"
}

@test "a uid map cannot name a victim: mapped to 0 or to 1002, charged to the real uid" {
	start_meter
	# a private network (lo up needs root in the namespace), then a uid map naming 1002
	tm_as "$TM_UID_A" unshare -Urn sh -c "ip link set lo up &&
		unshare -U --map-user=1002 /usr/bin/python3 $SYNC/pingpong.py '' 127.0.0.1 10 100"
	tm_as "$TM_UID_A" unshare -Un --map-user=0 sh -c \
		"ip link set lo up && /usr/bin/python3 $SYNC/pingpong.py '' 127.0.0.1 10 100"
	# a user namespace that shares the host's network namespace too
	tm_as "$TM_UID_A" unshare -U --map-user=0 \
		/usr/bin/python3 "$SYNC/pingpong.py" '' 127.0.0.1 10 100
	stop_meter
	[ "$(rows out "$(log_of "$TM_UID_A")")" -eq 30 ]
	[ ! -e "$(log_of 1002)" ]
	[ ! -e "$(log_of 0)" ]
	grep -qE "uid $TM_UID_A .*out 3840 B \(30 pkts\)" "$TMP/stderr"
	! grep -qE '^  uid (0|1002) ' "$TMP/stderr"
}

@test "forged addresses in a private network namespace are marked with that namespace" {
	start_meter
	tm_as "$TM_UID_A" unshare -Urn sh -c "ip link set lo up &&
		ip addr add 198.19.0.10/32 dev lo && ip addr add 198.19.100.1/32 dev lo &&
		/usr/bin/python3 $SYNC/pingpong.py 198.19.0.10 198.19.100.1 10 300"
	sleep 0.5
	"$TOP" -b -n 1 -d 0.3 --peers --socket "$TMP/meter.sock" > "$TMP/batch"
	"$TOP" -b -n 1 -d 0.3 --json --socket "$TMP/meter.sock" > "$TMP/json"
	stop_meter
	cat "$TMP/batch"
	# the log keeps the seed's columns; the rows are the real user's
	[ "$(grep -c '^out,328,198\.19\.0\.10,198\.19\.100\.1,' "$(log_of "$TM_UID_A")")" -eq 10 ]
	[ ! -e "$(log_of 0)" ]
	# batch output marks the peer with its namespace: it is not a host address
	netns=$(sed -nE 's/^198\.19\.100\.1 ([0-9]+) .*/\1/p' "$TMP/batch" | head -n1)
	[ -n "$netns" ] && [ "$netns" != "$(stat -Lc %i /proc/self/ns/net)" ]
	grep -qE "^$TM_UID_A $TM_UID_A .* 198\.19\.100\.1@netns:$netns$" "$TMP/batch"
	jq -e --arg ns "$netns" '.users[] | select(.owner == "'"$TM_UID_A"'") | .peers[] |
		select(.addr == "198.19.100.1") | .netns == ($ns | tonumber)' "$TMP/json"
}

@test "nobody is nobody: a process running as 65534 gets its own row, name and log" {
	start_meter
	tm_as 65534 /usr/bin/python3 "$SYNC/pingpong.py" '' 127.0.0.1 5 100
	sleep 0.5
	"$TOP" -b -n 1 -d 0.3 -u nobody --socket "$TMP/meter.sock" > "$TMP/batch"
	stop_meter
	cat "$TMP/batch"
	[ "$(rows out "$(log_of 65534)")" -eq 5 ]
	[ ! -e "$(log_of nosocket)" ]
	grep -qE '^nobody 65534 ' "$TMP/batch"
	! grep -q 'no_socket' "$TMP/batch"
}

@test "ICMP errors the kernel sends for a user's UDP are (kernel)'s, not root's" {
	start_meter --root-cgroup --log-format extended
	# datagrams to a port nobody listens on: the kernel answers each with port-unreachable
	tm_traffic "$TM_UID_A" udp-send 4 127.0.0.1 9 10 100
	sleep 0.5
	"$TOP" -b -n 1 -d 0.3 -u '(kernel)' --socket "$TMP/meter.sock" > "$TMP/batch"
	stop_meter
	cat "$TMP/batch"
	# ICMP: 20 + 8 + the 128-byte datagram it quotes
	[ "$(grep -cE '^out,156,127\.0\.0\.1,127\.0\.0\.1,.*,icmp,,' "$(log_of kernel)")" -ge 10 ]
	! grep -q ',icmp,' "$(log_of 0)" 2>/dev/null
	[ "$(grep -c '^out,128,' "$(log_of "$TM_UID_A")")" -eq 10 ]
	grep -qE '^\(kernel\) - ' "$TMP/batch"
}

@test "--iface counts that interface of the meter's namespace, not an equal index elsewhere" {
	local a="tmtA$$" b="tmtB$$" h="tmv$$" k
	# the host's own network must not be in the range the test takes for its namespaces
	if ip -o addr show | grep -qE ' inet 198\.1[89]\.' ||
	   ip route show | grep -qE '^198\.1[89]\.'; then
		skip "this host uses 198.18.0.0/15 itself"
	fi
	ip netns add "$a" && NETNS+=("$a")
	ip netns add "$b" && NETNS+=("$b")
	ip link add "$h" type veth peer name "${h}p" && LINKS+=("$h")
	ip link set "${h}p" netns "$a"
	ip addr add 198.18.7.1/30 dev "$h" && ip link set "$h" up
	ip -n "$a" addr add 198.18.7.2/30 dev "${h}p" && ip -n "$a" link set "${h}p" up
	k=$(cat "/sys/class/net/$h/ifindex")
	# the same index in namespace B, linked to A
	ip -n "$b" link add name "w$$" index "$k" type veth peer name "w${$}p" netns "$a"
	ip -n "$b" addr add 198.18.9.1/30 dev "w$$" && ip -n "$b" link set "w$$" up
	ip -n "$a" addr add 198.18.9.2/30 dev "w${$}p" && ip -n "$a" link set "w${$}p" up
	[ "$(ip netns exec "$b" cat "/sys/class/net/w$$/ifindex")" -eq "$k" ]

	start_meter --iface "$h"
	# A in the host: out through $h (index k here) -> counted
	tm_as "$TM_UID_A" /usr/bin/python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(8):
    s.sendto(b"y" * 50, ("198.18.7.2", 9))'
	# B inside namespace B: out through w$$ (index k there) -> not counted
	sh -c 'echo $$ > "$1/cgroup.procs" && exec ip netns exec "$2" setpriv --reuid="$3" \
		--regid="$3" --clear-groups /usr/bin/python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(8):
    s.sendto(b\"z\" * 50, (\"198.18.9.2\", 9))"' sh "$CG" "$b" "$TM_UID_B"
	sleep 0.3
	stop_meter
	[ "$(grep -c '^out,78,198\.18\.7\.1,198\.18\.7\.2,' "$(log_of "$TM_UID_A")")" -eq 8 ]
	# loopback traffic does not pass $h
	! grep -q '127\.0\.0\.1' "$(log_of "$TM_UID_A")"
	[ ! -e "$(log_of "$TM_UID_B")" ]
}

@test "--iface lo is the meter's loopback only, not a private namespace's" {
	start_meter --iface lo
	tm_as "$TM_UID_A" /usr/bin/python3 "$SYNC/pingpong.py" '' 127.0.0.1 5 100
	tm_as "$TM_UID_B" unshare -Urn sh -c \
		"ip link set lo up && /usr/bin/python3 $SYNC/pingpong.py '' 127.0.0.1 5 100"
	stop_meter
	[ "$(rows out "$(log_of "$TM_UID_A")")" -eq 5 ]
	[ ! -e "$(log_of "$TM_UID_B")" ]
}

@test "60 peers: every peer's figure in batch output equals the sum of its CSV rows" {
	start_meter
	tm_as "$TM_UID_A" /usr/bin/python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for r in range(5):
    for p in range(60):
        s.sendto(b"p" * (40 + p), ("127.0.1.%d" % (p + 1), 9))'
	sleep 0.5
	"$TOP" -b -n 1 -d 0.3 --peers -u "$TM_UID_A" --socket "$TMP/meter.sock" > "$TMP/batch"
	stop_meter
	awk -F, 'NR > 1 && $1 == "out" { s[$4] += $2 } END { for (a in s) print a, s[a] }' \
		"$(log_of "$TM_UID_A")" | sort > "$TMP/csv"
	awk '/^PEERS /{ p = 1; next } p && $1 ~ /^127\.0\.1\./ { print $1, $6 }' "$TMP/batch" |
		sort > "$TMP/peers"
	[ "$(wc -l < "$TMP/csv")" -eq 60 ]
	diff "$TMP/csv" "$TMP/peers"
	! grep -q '^other' "$TMP/batch"
}

@test "past 1024 peers one \"other\" row holds the rest, exactly, and the rows add up" {
	start_meter
	tm_as "$TM_UID_A" /usr/bin/python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for p in range(1100):
    s.sendto(b"q" * 72, ("127.2.%d.%d" % (p // 250, p % 250 + 1), 9))'
	sleep 0.5
	"$TOP" -b -n 1 -d 0.3 --peers -u "$TM_UID_A" --socket "$TMP/meter.sock" > "$TMP/batch"
	stop_meter
	# 1024 exact rows of 100 bytes, and other(76) with 76 * 100
	[ "$(grep -cE '^127\.2\.[0-9]+\.[0-9]+ - [0-9-]+ [0-9-]+ 0 100$' "$TMP/batch")" -eq 1024 ]
	grep -qE '^other\(76\) - [0-9-]+ [0-9-]+ 0 7600$' "$TMP/batch"
	total=$(awk '/^PEERS /{ p = 1; next } p && NF == 6 && $6 ~ /^[0-9]+$/ { s += $6 } END { print s }' "$TMP/batch")
	[ "$total" -eq 110000 ]
}

@test "a full owner table evicts, loses nothing, says so, and totals never go backwards" {
	start_meter --max-owners 16
	for i in $(seq 0 19); do
		tm_traffic $((65300 + i)) udp-send 4 127.0.0.1 9 1 100
		sleep 0.1
	done
	# one of the first comes back after it was evicted
	tm_traffic 65300 udp-send 4 127.0.0.1 9 1 100
	sleep 0.5
	"$TOP" -b -n 1 -d 0.3 --socket "$TMP/meter.sock" > "$TMP/batch"
	stop_meter
	cat "$TMP/batch" "$TMP/stderr"
	for i in $(seq 1 19); do
		grep -qE "uid $((65300 + i)) .*out 128 B \(1 pkts\)" "$TMP/stderr"
		[ "$(rows out "$(log_of $((65300 + i)))")" -eq 1 ]
	done
	grep -qE "uid 65300 .*out 256 B \(2 pkts\)" "$TMP/stderr"
	# every byte is in the totals, and the evictions are in the summary and the batch header
	grep -qE '^totals .* out=2688 ' "$TMP/batch"
	grep -qE 'owners evicted \([1-9][0-9]* from the kernel' "$TMP/stderr"
	grep -qE '^totals .* evicted=[0-9]+ table_full=0 ' "$TMP/batch"
}
