#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# traffic_meter_user against the real kernel: a throw-away cgroup, two non-root users, UDP and
# TCP over IPv4 and IPv6 loopback, logs checked byte for byte against what was sent.

load ../lib.bash

setup() {
	tm_setup
	BIN="$TM_BIN_DIR/traffic_meter_user"
	LOGA="$TMP/traffic_user_lo_$TM_UID_A.log"
	LOGB="$TMP/traffic_user_lo_$TM_UID_B.log"
}

teardown() {
	tm_teardown
}

# start_logger [options...]: runs the logger on $CG with nic_id lo, logs in $TMP.
start_logger() {
	tm_start_meter --ready 'watching|counting' "$BIN" -d "$TMP" --socket "$TMP/meter.sock" \
		--history-db "$TMP/history.db" "$@" "$CG" lo || return 1
	LOGGER=$METER
}

stop_logger() { tm_stop_meter; }

# udp_exchange FAMILY DST COUNT SIZE [SRC]: user B receives, user A sends.
udp_exchange() {
	local port
	port=$(tm_port)
	tm_traffic_bg "$TM_UID_B" udp-recv "$1" "$port" "$3" "$SYNC/ready.$port"
	local recv=$TM_LAST_PID
	tm_wait_file "$SYNC/ready.$port"
	tm_traffic "$TM_UID_A" udp-send "$1" "$2" "$port" "$3" "$4" ${5:-}
	wait "$recv" || true
}

# check_log FILE: header once at the top, totals equal the running sums of bytes.
check_totals() {
	awk -F, 'NR == 1 { if ($0 != "direction,bytes,src_ip,dst_ip,timestamp,total_in,total_out") exit 1; next }
		$1 == "direction" { exit 2 }
		{ if ($1 == "in") tin += $2; else if ($1 == "out") tout += $2; else exit 3
		  if ($6 != tin || $7 != tout) { print "row " NR ": totals " $6 "," $7 " != " tin "," tout; exit 4 } }' "$1"
}

@test "UDP over IPv4: every datagram logged to its owner, bytes = payload + 28" {
	start_logger -i /dev/null
	t0=$(date +%s.%N)
	udp_exchange 4 127.0.0.1 40 100
	t1=$(date +%s.%N)
	stop_logger

	[ "$(head -n1 "$LOGA")" = "direction,bytes,src_ip,dst_ip,timestamp,total_in,total_out" ]
	[ "$(grep -c '^out,128,127.0.0.1,127.0.0.1,' "$LOGA")" -eq 40 ]
	[ "$(wc -l < "$LOGA")" -eq 41 ]
	# the receiver's owner gets the ingress rows
	[ "$(grep -c '^in,128,127.0.0.1,127.0.0.1,' "$LOGB")" -eq 40 ]
	[ "$(wc -l < "$LOGB")" -eq 41 ]
	check_totals "$LOGA"
	check_totals "$LOGB"
	[ "$(tail -n1 "$LOGA" | cut -d, -f7)" -eq $((40 * 128)) ]
	[ "$(tail -n1 "$LOGB" | cut -d, -f6)" -eq $((40 * 128)) ]
	# timestamps: seconds.9 digits, inside the test's window
	awk -F, -v t0="$t0" -v t1="$t1" 'NR > 1 { n = split($5, p, "."); if (n != 2 || length(p[2]) != 9 || $5 !~ /^[0-9.]+$/ || $5 + 0 < t0 + 0 || $5 + 0 > t1 + 0) { print "bad ts " $5 " window " t0 " " t1; exit 1 } }' "$LOGA"
	# files are private: the owner's, and the tmtop group's (trusted viewers) where make
	# install or make run made that group
	if getent group tmtop >/dev/null; then
		[ "$(stat -c %a:%G "$LOGA")" = 640:tmtop ]
	else
		[ "$(stat -c %a "$LOGA")" = 600 ]
	fi
	# the summary names both users with the kernel's exact totals
	grep -qE "uid $TM_UID_A .*out $((40 * 128)) B \(40 pkts\)" "$TMP/stderr"
	grep -qE "uid $TM_UID_B .*in $((40 * 128)) B \(40 pkts\)" "$TMP/stderr"
	grep -q '0 lost' "$TMP/stderr"
}

@test "UDP over IPv6: bytes = payload + 48, addresses in RFC 5952 form" {
	start_logger -i /dev/null
	udp_exchange 6 ::1 30 200
	stop_logger
	[ "$(grep -c '^out,248,::1,::1,' "$LOGA")" -eq 30 ]
	[ "$(grep -c '^in,248,::1,::1,' "$LOGB")" -eq 30 ]
	check_totals "$LOGA"
	check_totals "$LOGB"
}

tcp_exchange() {	# FAMILY ADDR BYTES
	local port
	port=$(tm_port)
	tm_traffic_bg "$TM_UID_B" tcp-recv "$1" "$port" "$SYNC/ready.$port"
	local recv=$TM_LAST_PID
	tm_wait_file "$SYNC/ready.$port"
	tm_traffic "$TM_UID_A" tcp-send "$1" "$2" "$port" "$3"
	wait "$recv"
}

@test "TCP over IPv4 and IPv6: both directions, both users, totals at least the payload" {
	start_logger -i /dev/null
	tcp_exchange 4 127.0.0.1 200000
	tcp_exchange 6 ::1 100000
	stop_logger
	check_totals "$LOGA"
	check_totals "$LOGB"
	# sender: data out plus headers; acks come back in
	out_a=$(tail -n1 "$LOGA" | cut -d, -f7)
	in_b=$(tail -n1 "$LOGB" | cut -d, -f6)
	[ "$out_a" -ge 300000 ]
	[ "$in_b" -ge 300000 ]
	grep -q '^in,.*,127.0.0.1,127.0.0.1,' "$LOGA"
	grep -q '^out,.*,::1,::1,' "$LOGB"
	# every IPv4 row's bytes at least a header, every IPv6 row at least 40 + 20 (TCP)
	awk -F, 'NR > 1 && $3 ~ /:/ && $2 < 60 { exit 1 } NR > 1 && $3 !~ /:/ && $2 < 40 { exit 1 }' "$LOGA"
	# the receiver's sum equals what the kernel counted for it
	grep -qE "uid $TM_UID_B .*in $in_b B" "$TMP/stderr"
}

@test "ignore modes: peer, both and any hide exactly their packets" {
	printf '# only the sender address\n127.0.0.5\n' > "$TMP/ign"
	for mode in peer both any; do
		rm -f "$LOGA" "$LOGB"
		start_logger -i "$TMP/ign" --ignore-mode "$mode"
		grep -q "ignoring 1 network (mode $mode): 127.0.0.5/32" "$TMP/stderr"
		udp_exchange 4 127.0.0.1 10 50 127.0.0.5
		stop_logger
		a=$(grep -c '^out,78,127.0.0.5,127.0.0.1,' "$LOGA" 2>/dev/null || true)
		b=$(grep -c '^in,78,127.0.0.5,127.0.0.1,' "$LOGB" 2>/dev/null || true)
		case $mode in
		# out's remote (dst 127.0.0.1) is not ignored; in's remote (src .5) is
		peer) [ "$a" -eq 10 ] && [ "${b:-0}" -eq 0 ] ;;
		# never both ends ignored
		both) [ "$a" -eq 10 ] && [ "$b" -eq 10 ] ;;
		# one end always ignored
		any) [ "${a:-0}" -eq 0 ] && [ "${b:-0}" -eq 0 ] ;;
		esac
	done
}

@test "nothing is ignored by default, and the start says so" {
	start_logger
	grep -q 'ignoring 0 networks (mode peer)$' "$TMP/stderr"
	# 10.0.0.0/8 and 192.168.1.0/24 were the seed's examples, not a default: counted now
	udp_exchange 4 127.0.0.1 3 10
	stop_logger
	[ "$(grep -c '^out,38,' "$LOGA")" -eq 3 ]
	# the examples are still in the source list, commented
	grep -q '^#10\.\*\.\*\.\*' "$TM_ROOT/bpf/ip_list.txt"
	! grep -q '^[0-9]' "$TM_ROOT/bpf/ip_list.txt"
}

@test "a second run appends without a second header and totals never go backwards" {
	start_logger -i /dev/null
	udp_exchange 4 127.0.0.1 5 10
	stop_logger
	first=$(tail -n1 "$LOGA" | cut -d, -f7)
	[ "$first" -eq $((5 * 38)) ]
	start_logger -i /dev/null
	udp_exchange 4 127.0.0.1 5 10
	stop_logger
	[ "$(grep -c '^direction,' "$LOGA")" -eq 1 ]
	[ "$(wc -l < "$LOGA")" -eq 11 ]
	[ "$(tail -n1 "$LOGA" | cut -d, -f7)" -eq $((10 * 38)) ]
	check_totals "$LOGA"
}

@test "a symlink planted at a log path is not followed, and no row is lost to it" {
	echo "precious" > "$TMP/target"
	ln -s "$TMP/target" "$LOGA"
	start_logger -i /dev/null
	udp_exchange 4 127.0.0.1 5 10
	stop_logger
	[ -L "$LOGA" ]
	[ "$(cat "$TMP/target")" = "precious" ]
	# the rows went to a file of the meter's own, and the summary says where
	alt=$(ls "$TMP"/traffic_user_lo_"$TM_UID_A".*.log)
	[ "$(grep -c '^out,38,' "$alt")" -eq 5 ]
	[ ! -L "$alt" ]
	grep -q "name was taken (a symbolic link)" "$TMP/stderr"
	[ "$(grep -c '^in,38,' "$LOGB")" -eq 5 ]
	! grep -qi 'write error' "$TMP/stderr"
}

@test "SIGHUP reopens the logs (logrotate): a new file with a header" {
	start_logger -i /dev/null
	udp_exchange 4 127.0.0.1 3 10
	sleep 0.3
	mv "$LOGA" "$LOGA.1"
	kill -HUP "$LOGGER"
	sleep 0.3
	udp_exchange 4 127.0.0.1 4 10
	stop_logger
	[ "$(wc -l < "$LOGA.1")" -eq 4 ]
	[ "$(head -n1 "$LOGA")" = "direction,bytes,src_ip,dst_ip,timestamp,total_in,total_out" ]
	[ "$(grep -c '^out,38,' "$LOGA")" -eq 4 ]
	[ "$(tail -n1 "$LOGA" | cut -d, -f7)" -eq $((4 * 38)) ]
}

@test "a full disk never stops the logger: errors counted, logging resumes" {
	mkdir "$TMP/small"
	mount -t tmpfs -o size=64k,mode=700 tmtop-test "$TMP/small"
	TM_MOUNTS+=("$TMP/small")
	tm_start_meter "$BIN" --user root -d "$TMP/small" --no-socket --no-history -i /dev/null \
		"$CG" lo
	LOGGER=$METER
	udp_exchange 4 127.0.0.1 3000 10	# ~190 KiB of rows into 64 KiB
	sleep 0.3
	kill -0 "$LOGGER"
	mount -o remount,size=8m "$TMP/small"
	t=$(date +%s.%N)
	udp_exchange 4 127.0.0.1 20 10
	stop_logger
	grep -qE 'write errors \([0-9]+ rows dropped; last: .*No space left on device\)' "$TMP/stderr"
	log="$TMP/small/traffic_user_lo_$TM_UID_A.log"
	check_totals "$log"
	# the 20 datagrams sent after space came back are all there
	[ "$(awk -F, -v t="$t" 'NR > 1 && $5 + 0 > t + 0' "$log" | wc -l)" -eq 20 ]
}

@test "under a UDP flood: every packet the kernel counted is a row, and SIGINT stops at once" {
	start_logger -i /dev/null
	tm_traffic_bg "$TM_UID_A" udp-flood 4 127.0.0.1 "$(tm_port)" 4 64
	sleep 2
	t0=$(date +%s%N)
	stop_logger
	t1=$(date +%s%N)
	[ $(((t1 - t0) / 1000000)) -lt 3000 ]
	grep -q ' 0 lost' "$TMP/stderr"
	pkts=$(sed -nE "s/^  uid $TM_UID_A .*out [0-9]+ B \(([0-9]+) pkts\).*/\1/p" "$TMP/stderr")
	bytes=$(sed -nE "s/^  uid $TM_UID_A .*out ([0-9]+) B .*/\1/p" "$TMP/stderr")
	[ "$pkts" -gt 1000 ]
	[ "$(grep -c '^out,92,' "$LOGA")" -eq "$pkts" ]
	[ "$(tail -n1 "$LOGA" | cut -d, -f7)" -eq "$bytes" ]
}

@test "kill -9 of the logger leaves nothing attached" {
	start_logger -i /dev/null
	[ "$(tm_attached "$CG")" -eq 2 ]
	kill -9 "$LOGGER"
	wait "$LOGGER" || true
	for i in $(seq 50); do [ "$(tm_attached "$CG")" -eq 0 ] && break; sleep 0.1; done
	[ "$(tm_attached "$CG")" -eq 0 ]
}

@test "SIGTERM stops cleanly: exit 0, summary, nothing attached" {
	start_logger -i /dev/null
	kill -TERM "$LOGGER"
	rc=0
	wait "$LOGGER" || rc=$?
	[ "$rc" -eq 0 ]
	grep -q 'stopped;' "$TMP/stderr"
	[ "$(tm_attached "$CG")" -eq 0 ]
}

@test "bad arguments: one clear line and a non-zero exit" {
	run "$BIN" --no-such-option
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"unknown option '--no-such-option'"* ]]

	run "$BIN" --ignore-mode sideways "$CG"
	[ "$status" -ne 0 ]
	[[ "$output" == *"bad --ignore-mode 'sideways'"* ]]

	run "$BIN" "$CG" lo extra
	[ "$status" -ne 0 ]
	[[ "$output" == *"unexpected argument 'extra'"* ]]

	run "$BIN" --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"--ignore-file"* ]]
}

@test "a missing cgroup and a directory that is not cgroup v2 are refused" {
	run "$BIN" -d "$TMP" "$CG/does-not-exist" lo
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"does not exist"* ]]

	run "$BIN" -d "$TMP" "$TMP" lo
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"is not a cgroup v2 directory"* ]]
	[ "$(tm_attached "$CG")" -eq 0 ]
}

@test "a bad ignore file names the file, line and reason; nothing is attached" {
	printf '10.0.0.0/8\n# fine\n10.*.1.*\n' > "$TMP/bad"
	run "$BIN" -d "$TMP" -i "$TMP/bad" "$CG" lo
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"$TMP/bad:3:"* ]]
	[[ "$output" == *"10.*.1.*"* ]]
	[ "$(tm_attached "$CG")" -eq 0 ]

	run "$BIN" -d "$TMP" -i "$TMP/missing" "$CG" lo
	[ "$status" -ne 0 ]
	[[ "$output" == *"$TMP/missing"* ]]
}

@test "a log directory that does not exist is a start-up error" {
	run "$BIN" -d "$TMP/nope" -i /dev/null "$CG" lo
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"$TMP/nope"* ]]
	[ "$(tm_attached "$CG")" -eq 0 ]
}
