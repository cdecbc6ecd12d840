#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# The meter's Prometheus metrics against the real thing: the endpoint linted by promtool, a real
# Prometheus server (started and stopped here by PID, on loopback, with its data in the test's
# temp dir) scraping it while test users send known traffic, the cardinality cap, the textfile,
# bad --metrics-listen values, and doc/FLEET.md's files: quoted verbatim, linted, and run.

load ../lib.bash

FLEET="$TM_ROOT/doc/fleet"
L3=500			# bytes per datagram on IPv4: 472 payload + 28 headers

setup() {
	tm_setup
	BIN="$TM_BIN_DIR/traffic_meter_user"
	MPORT=$(tm_port)
}

teardown() {
	tm_teardown
}

need_prometheus() {
	command -v prometheus >/dev/null && command -v promtool >/dev/null ||
		skip "prometheus and promtool are not installed (make deps)"
}

# start_meter [options...]: the service on $CG with its metrics on 127.0.0.1:$MPORT.
start_meter() {
	tm_start_meter --ready 'watching|counting' "$BIN" -d "$TMP" --socket "$TMP/meter.sock" \
		--history-db "$TMP/history.db" -i /dev/null --metrics-listen "127.0.0.1:$MPORT" \
		"$@" "$CG" lo
}

stop_meter() { tm_stop_meter; }

scrape() { curl -sS --max-time 5 "http://127.0.0.1:$MPORT/metrics"; }

# calc EXPR: floating point with awk (bc is not everywhere); holds EXPR: its truth as a status.
calc() { awk "BEGIN { printf \"%.6f\\n\", $1 }"; }
holds() { awk "BEGIN { exit !($1) }"; }

# value FILE SERIES: the sample of SERIES (name and labels exactly as exposed) in FILE.
value() { awk -v s="$2" '$1 == s { print $2; found = 1 } END { exit !found }' "$1"; }

# udp_known COUNT [SENDER]: SENDER (user A) sends COUNT datagrams of $L3 bytes to user B,
# who receives them; the receiver's count goes to $TMP/got.
udp_known() {
	local port
	port=$(tm_port)
	tm_traffic_bg "$TM_UID_B" udp-recv 4 "$port" "$1" "$SYNC/ready.$port" > "$TMP/got"
	local recv=$TM_LAST_PID
	tm_wait_file "$SYNC/ready.$port"
	tm_traffic "${2:-$TM_UID_A}" udp-send 4 127.0.0.1 "$port" "$1" $((L3 - 28))
	wait "$recv" || true
}

# ---- Prometheus, started and stopped by PID --------------------------------------------------

# The doc's configuration as the test runs it: the same files with the intervals scaled from
# 15 s to 1 s (a test cannot wait minutes) and this test's meter as the only target.
prom_config() {
	mkdir -p "$TMP/prom"
	sed -e 's/^\(  *\)scrape_interval: 15s$/\1scrape_interval: 1s/' \
	    -e 's/^\(  *\)evaluation_interval: 15s$/\1evaluation_interval: 1s/' \
	    -e 's/^\(  *\)scrape_timeout: 10s$/\1scrape_timeout: 1s/' \
	    "$FLEET/prometheus.yml" > "$TMP/prom/prometheus.yml"
	# exactly those three lines changed, nothing else
	[ "$(diff "$FLEET/prometheus.yml" "$TMP/prom/prometheus.yml" | grep -c '^>')" -eq 4 ]
	cp "$FLEET/tmtop-rules.yml" "$TMP/prom/"
	printf -- '- targets:\n    - 127.0.0.1:%s\n' "$MPORT" > "$TMP/prom/tmtop-targets.yml"
}

start_prometheus() {
	prom_config
	PPORT=$(tm_port)
	# bounded: whatever happens to this test, the server is gone after 5 minutes
	timeout -s TERM 300 prometheus --config.file="$TMP/prom/prometheus.yml" \
		--storage.tsdb.path="$TMP/prom/data" --storage.tsdb.retention.time=1h \
		--web.listen-address="127.0.0.1:$PPORT" --log.level=warn \
		> "$TMP/prom/log" 2>&1 &
	PROM=$!
	TM_PIDS+=("$PROM")
	local i
	for i in $(seq 100); do
		curl -sf --max-time 1 "http://127.0.0.1:$PPORT/-/ready" >/dev/null && break
		kill -0 "$PROM" 2>/dev/null || { cat "$TMP/prom/log"; return 1; }
		sleep 0.1
	done
	curl -sf --max-time 1 "http://127.0.0.1:$PPORT/-/ready" >/dev/null
}

stop_prometheus() {
	kill -TERM "$PROM"
	wait "$PROM" || true
}

# promql EXPR [TIME]: the query's result vector as JSON ([{"metric":..,"value":[t,"v"]}]).
promql() {
	local args=(--data-urlencode "query=$1")
	[ -n "${2:-}" ] && args+=(--data-urlencode "time=$2")
	curl -sS --max-time 5 "${args[@]}" "http://127.0.0.1:$PPORT/api/v1/query" |
		jq -ce 'select(.status == "success") | .data.result'
}

# promval EXPR [TIME]: the value of a one-element result.
promval() { promql "$@" | jq -re 'if length == 1 then .[0].value[1] else error("\(length) results") end'; }

# prom_wait EXPR VALUE [SECONDS]: until the query's only value is VALUE.
prom_wait() {
	local i got=
	for i in $(seq $((${3:-15} * 5))); do
		got=$(promval "$1" 2>/dev/null) && [ "$got" = "$2" ] && return 0
		sleep 0.2
	done
	echo "timed out: $1 = '$got', want $2" >&2
	return 1
}

# query FILE: a query of doc/fleet/queries as the test runs it: windows of 5 minutes become 4 s
# (the test's traffic lasts seconds) and alice becomes test user A, who has no account.
query() {
	sed -e 's/\[5m\]/[4s]/g' -e "s/user=\"alice\"/user=\"$TM_UID_A\"/g" "$FLEET/queries/$1"
}

# ---- the endpoint ----------------------------------------------------------------------------

@test "/metrics: exposition 0.0.4 that promtool accepts, exact per-user totals, 404 elsewhere" {
	need_prometheus
	start_meter
	udp_known 40
	sleep 0.5
	scrape > "$TMP/m"
	promtool check metrics < "$TMP/m"
	# no lint remark either
	[ -z "$(promtool check metrics < "$TMP/m" 2>&1)" ]
	[ "$(value "$TMP/m" "tmtop_user_transmit_bytes_total{uid=\"$TM_UID_A\",user=\"$TM_UID_A\"}")" -eq $((40 * L3)) ]
	[ "$(value "$TMP/m" "tmtop_user_transmit_packets_total{uid=\"$TM_UID_A\",user=\"$TM_UID_A\"}")" -eq 40 ]
	[ "$(value "$TMP/m" "tmtop_user_receive_bytes_total{uid=\"$TM_UID_B\",user=\"$TM_UID_B\"}")" -eq $((40 * L3)) ]
	[ "$(value "$TMP/m" "tmtop_user_receive_packets_total{uid=\"$TM_UID_B\",user=\"$TM_UID_B\"}")" -eq 40 ]
	[ "$(value "$TMP/m" "tmtop_transmit_bytes_total")" -eq $((40 * L3)) ]
	[ "$(value "$TMP/m" "tmtop_build_info{version=\"$("$BIN" --version | awk '{ print $2 }')\"}")" -eq 1 ]
	value "$TMP/m" tmtop_start_time_seconds
	[ "$(value "$TMP/m" tmtop_events_lost_total)" -eq 0 ]
	[ "$(value "$TMP/m" 'tmtop_log_rows_written_total{backend="csv"}')" -ge 0 ]
	! grep -q 'uid="other"' "$TMP/m"
	# every family has HELP and TYPE; every family the page lists is here and the reverse
	# (the textfile metric appears with --metrics-file only)
	for f in $(grep '^# TYPE ' "$TMP/m" | awk '{ print $3 }'); do
		grep -q "^# HELP $f " "$TMP/m"
		grep -q "^| \`$f\` |" "$TM_ROOT/doc/FLEET.md"
	done
	for f in $(sed -nE 's/^\| `(tmtop_[a-z_]+)` \|.*/\1/p' "$TM_ROOT/doc/FLEET.md"); do
		[ "$f" = tmtop_metrics_file_write_errors_total ] || grep -q "^# TYPE $f " "$TMP/m"
	done

	# the content type Prometheus negotiates, other paths and methods
	curl -sS -o /dev/null -D "$TMP/h" "http://127.0.0.1:$MPORT/metrics"
	grep -qi '^content-type: text/plain; version=0.0.4; charset=utf-8' "$TMP/h"
	[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MPORT/")" = 404 ]
	[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MPORT/metrics/x")" = 404 ]
	[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$MPORT/metrics")" = 405 ]
	[ "$(curl -s -o /dev/null -w '%{http_code}' -I "http://127.0.0.1:$MPORT/metrics")" = 200 ]
	# one connection serves scrape after scrape (Prometheus keeps it open)
	curl -sv -o /dev/null -o /dev/null "http://127.0.0.1:$MPORT/metrics" \
		"http://127.0.0.1:$MPORT/metrics" 2>&1 | grep -q 'Re-using existing connection'
	# scrapes at once all get an answer
	pids=()
	for i in $(seq 8); do
		scrape > "$TMP/c.$i" &
		pids+=($!)
	done
	wait "${pids[@]}"
	for i in $(seq 8); do grep -q '^tmtop_build_info' "$TMP/c.$i"; done
	grep -q "metrics at http://127.0.0.1:$MPORT/metrics" "$TMP/stderr"
	stop_meter
	# the port is free again
	! curl -s --max-time 1 "http://127.0.0.1:$MPORT/metrics"
}

@test "--metrics-listen on IPv6 loopback" {
	start_meter_v6() {
		"$BIN" -d "$TMP" --no-socket --no-history -i /dev/null --metrics-listen "[::1]:$MPORT" \
			"$CG" lo 2> "$TMP/stderr" &
		METER=$!
		TM_PIDS+=("$METER")
		tm_wait_grep "$TMP/stderr" 'watching' 10
	}
	start_meter_v6
	grep -q "metrics at http://\[::1\]:$MPORT/metrics" "$TMP/stderr"
	curl -sS --max-time 5 "http://[::1]:$MPORT/metrics" | grep -q '^tmtop_build_info'
	! curl -s --max-time 1 "http://127.0.0.1:$MPORT/metrics"
	stop_meter
}

# ---- a real Prometheus -----------------------------------------------------------------------

@test "Prometheus scrapes the meter: exact totals, plausible rate(), the page's queries and rules" {
	need_prometheus
	start_meter
	start_prometheus
	prom_wait 'up{job="tmtop"}' 1

	# user A sends to user B for several seconds at a rate the test measures
	n=8000
	t0=$(date +%s.%N)
	udp_known "$n"
	t1=$(date +%s.%N)
	got=$(cat "$TMP/got")
	[ "$got" -eq "$n" ]
	sent=$((n * L3))
	want_rate=$(calc "$sent / ($t1 - $t0)")
	echo "# sent $sent bytes in $(calc "$t1 - $t0") s: $want_rate B/s" >&3

	# the last scrape has exactly what the test sent, and what the meter's kernel counters say
	prom_wait "tmtop_user_transmit_bytes_total{uid=\"$TM_UID_A\"}" "$sent"
	prom_wait "tmtop_user_receive_bytes_total{uid=\"$TM_UID_B\"}" "$sent"
	prom_wait "tmtop_user_transmit_packets_total{uid=\"$TM_UID_A\"}" "$n"
	prom_wait "tmtop_user_receive_packets_total{uid=\"$TM_UID_B\"}" "$got"
	# at least two scrapes saw the traffic move
	[ "$(promval "count_over_time(tmtop_user_transmit_bytes_total{uid=\"$TM_UID_A\"}[1m])")" -ge 2 ]

	# rate() in the middle of the send is within a factor 2 of the measured send rate
	mid=$(calc "($t0 + $t1) / 2")
	r=$(promval "rate(tmtop_user_transmit_bytes_total{uid=\"$TM_UID_A\"}[4s])" "$mid")
	echo "# rate() at mid-send: $r B/s" >&3
	holds "$r > $want_rate / 2 && $r < $want_rate * 2"

	# the page's queries: A (sending) and B (receiving) are the top two users at mid-send, each
	# at about the measured rate; A's out equals B's in, so which of them is first is a tie
	top=$(promql "$(query top-users-by-rate.promql)" "$mid")
	[ "$(jq -r '[.[0:2][].metric.uid] | sort | join(" ")' <<< "$top")" = \
	  "$(printf '%s\n' "$TM_UID_A" "$TM_UID_B" | sort | paste -sd' ')" ]
	for i in 0 1; do
		r=$(jq -r ".[$i].value[1]" <<< "$top")
		holds "$r > $want_rate / 2 && $r < $want_rate * 2"
	done
	# A's volume: increase() extrapolates at the edges, so near what was sent, not exact
	vol=$(promval "$(query user-monthly-volume.promql)")
	echo "# monthly volume query: $vol for $sent sent" >&3
	holds "$vol >= $sent * 0.9 && $vol <= $sent * 1.3"
	[ "$(promval "$(query events-lost-ratio.promql)")" = 0 ]
	[ "$(promval "$(query meter-restarts.promql)")" = 0 ]

	# the page's rules load and evaluate; nothing fires on loopback test traffic
	curl -sS --max-time 5 "http://127.0.0.1:$PPORT/api/v1/rules" > "$TMP/rules"
	[ "$(jq '[.data.groups[].rules[]] | length' "$TMP/rules")" -eq 4 ]
	[ "$(jq -r '[.data.groups[].rules[].health] | unique | join(",")' "$TMP/rules")" = ok ]
	[ "$(promql 'ALERTS{alertstate="firing"}')" = '[]' ]

	# a restart of the meter is a counter reset to Prometheus, and the start time changes
	stop_meter
	# Prometheus's last samples are what the meter's kernel counters said at its exit
	grep -qE "uid $TM_UID_A .*out $sent B \($n pkts\)" "$TMP/stderr"
	grep -qE "uid $TM_UID_B .*in $sent B \($got pkts\)" "$TMP/stderr"
	start_meter
	udp_known 10
	prom_wait "tmtop_user_transmit_bytes_total{uid=\"$TM_UID_A\"}" $((10 * L3))
	[ "$(promval "resets(tmtop_user_transmit_bytes_total{uid=\"$TM_UID_A\"}[5m])")" = 1 ]
	[ "$(promval "$(query meter-restarts.promql)")" = 1 ]
	stop_meter
	stop_prometheus
}

@test "owners evicted from full tables come back with their totals: Prometheus sees no reset" {
	need_prometheus
	start_meter --max-owners 16
	start_prometheus
	prom_wait 'up{job="tmtop"}' 1
	for i in $(seq 0 19); do
		tm_traffic $((65300 + i)) udp-send 4 127.0.0.1 9 1 100
		sleep 0.3
	done
	tm_traffic 65300 udp-send 4 127.0.0.1 9 1 100
	prom_wait 'tmtop_user_transmit_bytes_total{uid="65300"}' 256
	prom_wait 'tmtop_transmit_bytes_total' $((21 * 128))
	[ "$(promval 'tmtop_kernel_evictions_total')" -gt 0 ]
	# owners left the live table too, and their series went on at their totals
	[ "$(promval 'tmtop_evictions_total')" -gt 0 ]
	[ "$(promval 'tmtop_users')" -lt 20 ]
	[ "$(promval 'count(tmtop_user_transmit_bytes_total)')" -eq 20 ]
	# no per-user counter ever went down, and each one ends at what its user sent
	[ "$(promql 'resets(tmtop_user_transmit_bytes_total[5m]) > 0')" = '[]' ]
	[ "$(promql 'resets(tmtop_user_transmit_packets_total[5m]) > 0')" = '[]' ]
	for i in $(seq 1 19); do
		[ "$(promval "tmtop_user_transmit_bytes_total{uid=\"$((65300 + i))\"}")" -eq 128 ]
	done
	stop_meter
	stop_prometheus
}

@test "under a loopback flood, scrapes answer within a second and the meter loses no event" {
	run timeout 120 "$TM_ROOT/bench/metrics.sh" --seconds 2 --owners 20
	echo "$output"
	[ "$status" -eq 0 ]
	# | scrapes | count | p50 | p99 | max | events | events lost |, three rows
	awk -F'|' '/^\| (none|every|2-clients)/ {
			if ($8 + 0 != 0 || $7 + 0 < 1000) exit 1
			if ($5 !~ /-/ && $5 + 0 > 1000) exit 1
			n++
		} END { exit n != 3 }' <<< "$output"
}

# ---- the cap ---------------------------------------------------------------------------------

@test "--metrics-max-users: the largest owners are labelled, the rest summed under uid=\"other\"" {
	need_prometheus
	start_meter --metrics-max-users 2
	# five owners, owner i sends i + 1 datagrams of 128 bytes
	for i in 0 1 2 3 4; do
		tm_traffic $((65300 + i)) udp-send 4 127.0.0.1 9 $((i + 1)) 100
	done
	sleep 0.5
	scrape > "$TMP/m"
	promtool check metrics < "$TMP/m"
	grep -q 'tmtop_user_transmit_bytes_total{uid="65304",user="65304"} 640$' "$TMP/m"
	grep -q 'tmtop_user_transmit_bytes_total{uid="65303",user="65303"} 512$' "$TMP/m"
	! grep -qE 'uid="6530[012]"' "$TMP/m"
	grep -q 'tmtop_user_transmit_bytes_total{uid="other",user="other"} 768$' "$TMP/m"
	grep -q 'tmtop_user_transmit_packets_total{uid="other",user="other"} 6$' "$TMP/m"
	grep -q '^tmtop_metrics_users_folded 3$' "$TMP/m"
	# four series per labelled owner plus "other": nothing else carries a uid
	[ "$(grep -c '{uid="' "$TMP/m")" -eq 12 ]

	# a folded owner that overtakes a labelled one takes its label; "other" never drops
	tm_traffic 65300 udp-send 4 127.0.0.1 9 10 100
	sleep 0.5
	scrape > "$TMP/m2"
	grep -q 'tmtop_user_transmit_bytes_total{uid="65300",user="65300"} 1408$' "$TMP/m2"
	! grep -q 'uid="65303"' "$TMP/m2"
	other=$(value "$TMP/m2" 'tmtop_user_transmit_bytes_total{uid="other",user="other"}')
	[ "$other" -ge 768 ]
	stop_meter
}

# ---- the textfile ----------------------------------------------------------------------------

# grant_dir DIR: doc/FLEET.md's setfacl line, for the user the meter switched to.
grant_dir() {
	local who
	who=$(sed -nE 's/.*; running as ([^;]+); Ctrl\+C to stop$/\1/p' "$TMP/stderr")
	[ -n "$who" ]
	grep -q "setfacl -m u:tmtop:rwx /var/lib/prometheus/node-exporter" "$TM_ROOT/doc/FLEET.md"
	[ "$who" = root ] || setfacl -m "u:$who:rwx" "$1"
}

@test "--metrics-file: the same exposition, replaced atomically, 0644, removed at stop" {
	need_prometheus
	mkdir "$TMP/textfile"
	# the meter's umask does not make the file private: node_exporter runs as another user
	old=$(umask)
	umask 077
	start_meter --metrics-file "$TMP/textfile/tmtop.prom" --metrics-interval 1
	umask "$old"
	# the directory is root's: the meter's user gets in as doc/FLEET.md says
	grant_dir "$TMP/textfile"
	tm_wait_file "$TMP/textfile/tmtop.prom"
	grep -q "metrics written to $TMP/textfile/tmtop.prom every 1 s" "$TMP/stderr"
	[ "$(stat -c %a "$TMP/textfile/tmtop.prom")" = 644 ]
	udp_known 20
	tm_wait_grep "$TMP/textfile/tmtop.prom" \
		"^tmtop_user_transmit_bytes_total\{uid=\"$TM_UID_A\",user=\"$TM_UID_A\"\} $((20 * L3))\$" 5
	promtool check metrics < "$TMP/textfile/tmtop.prom"
	# the same families as the endpoint
	diff <(grep '^# TYPE' "$TMP/textfile/tmtop.prom") <(scrape | grep '^# TYPE')

	# a reader never sees half a file: each read is whole (ends with the last family), and
	# the file is replaced, not rewritten in place (a new inode each time)
	inodes=()
	end=$((SECONDS + 4))
	reads=0
	while [ $SECONDS -lt $end ]; do
		tail -n1 "$TMP/textfile/tmtop.prom" | grep -q '^tmtop_log_healthy{backend="csv"} [01]$'
		inodes+=("$(stat -c %i "$TMP/textfile/tmtop.prom")")
		reads=$((reads + 1))
	done
	echo "# $reads whole reads, $(printf '%s\n' "${inodes[@]}" | sort -u | wc -l) files" >&3
	[ "$(printf '%s\n' "${inodes[@]}" | sort -u | wc -l)" -ge 3 ]
	# only the file itself is there: no temporary file left, none named *.prom
	[ "$(ls -A "$TMP/textfile" | grep -vc '^\.tmtop\.prom\.[0-9]*\.tmp$')" -eq 1 ]
	stop_meter
	[ ! -e "$TMP/textfile/tmtop.prom" ]
	[ -z "$(ls -A "$TMP/textfile")" ]
}

@test "--metrics-file: a failed write is reported once per cause, retried, never stops the meter" {
	mkdir "$TMP/small"
	mount -t tmpfs -o size=64k,mode=755 tmtop-test "$TMP/small"
	TM_MOUNTS+=("$TMP/small")
	# a directory the meter's user may not write in, and a full disk behind it
	dd if=/dev/zero of="$TMP/small/fill" bs=4k count=64 2>/dev/null || true
	start_meter --metrics-file "$TMP/small/tmtop.prom" --metrics-interval 1
	grep -q 'running as root;' "$TMP/stderr" && skip "the meter runs as root here"
	sleep 3.5
	[ "$(grep -c 'cannot write metrics to' "$TMP/stderr")" -eq 1 ]
	grep -q "cannot write metrics to $TMP/small/tmtop.prom: Permission denied (retrying every 1 s)" "$TMP/stderr"
	# let it in: now the disk is full, which is said once too
	grant_dir "$TMP/small"
	tm_wait_grep "$TMP/stderr" "cannot write metrics to $TMP/small/tmtop.prom: No space left on device" 5
	sleep 2.5
	[ "$(grep -c 'cannot write metrics to' "$TMP/stderr")" -eq 2 ]
	kill -0 "$METER"
	# the meter counted on, and the endpoint says how many writes failed
	udp_known 5
	sleep 0.5
	scrape > "$TMP/m"
	[ "$(value "$TMP/m" tmtop_metrics_file_write_errors_total)" -ge 5 ]
	[ "$(value "$TMP/m" "tmtop_user_transmit_bytes_total{uid=\"$TM_UID_A\",user=\"$TM_UID_A\"}")" -eq $((5 * L3)) ]
	# room again: written at the next interval, and said once
	rm "$TMP/small/fill"
	tm_wait_file "$TMP/small/tmtop.prom" 5
	tm_wait_grep "$TMP/stderr" "metrics written to $TMP/small/tmtop.prom again" 5
	[ "$(grep -c 'again$' "$TMP/stderr")" -eq 1 ]
	[ "$(stat -c %a "$TMP/small/tmtop.prom")" = 644 ]
	stop_meter
}

# ---- bad values ------------------------------------------------------------------------------

# nothing attached: bpftool lists no program on the test cgroup
nothing_attached() {
	! bpftool cgroup tree "$CG" 2>/dev/null | grep -qE 'ingress|egress'
}

@test "a bad --metrics-listen is one line and a non-zero exit, with nothing attached" {
	for bad in 127.0.0.1 localhost:9477 127.0.0.1:0 127.0.0.1:70000 '::1:9477' '[::1]' \
		   300.0.0.1:9477 :9477 '127.0.0.1:http'; do
		run "$BIN" -d "$TMP" --no-socket --no-history -i /dev/null --metrics-listen "$bad" "$CG" lo
		echo "$bad: $output"
		[ "$status" -eq 2 ]
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == *"bad --metrics-listen '$bad'"* ]]
		nothing_attached
	done
	run "$BIN" -d "$TMP" --no-socket --no-history -i /dev/null --metrics-listen localhost:9477 "$CG" lo
	[[ "$output" == *"not a numeric IPv4 address"* ]]

	# a port something else listens on
	tm_as_bg "$TM_UID_A" "$TM_PY" -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen()
open(sys.argv[2], "w").close(); time.sleep(30)' "$MPORT" "$SYNC/listening"
	tm_wait_file "$SYNC/listening"
	run "$BIN" -d "$TMP" --no-socket --no-history -i /dev/null --metrics-listen "127.0.0.1:$MPORT" "$CG" lo
	echo "$output"
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"cannot listen on 127.0.0.1:$MPORT for metrics: Address already in use"* ]]
	nothing_attached

	# an address this host does not have (TEST-NET-1: bind only, nothing is sent)
	run "$BIN" -d "$TMP" --no-socket --no-history -i /dev/null --metrics-listen "192.0.2.1:$MPORT" "$CG" lo
	echo "$output"
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"Cannot assign requested address (not an address of this host)"* ]]
	nothing_attached

	run "$BIN" --metrics-max-users -1 "$CG"
	[ "$status" -eq 2 ]
	[[ "$output" == *"bad --metrics-max-users '-1'"* ]]
	run "$BIN" --metrics-interval 0 "$CG"
	[ "$status" -eq 2 ]
	run "$BIN" --metrics-file "$TMP/" "$CG"
	[ "$status" -eq 2 ]
	[[ "$output" == *"bad --metrics-file"* ]]
	run "$BIN" -d "$TMP" --no-socket --no-history -i /dev/null --metrics-file "$TMP/nodir/x.prom" "$CG" lo
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"$TMP/nodir"*"No such file or directory"* ]]
	nothing_attached
}

# ---- the page --------------------------------------------------------------------------------

@test "doc/FLEET.md quotes doc/fleet/ verbatim, and promtool accepts the config and the rules" {
	need_prometheus
	page="$TM_ROOT/doc/FLEET.md"
	# every file under doc/fleet is quoted, after its marker, in one fenced block
	n=0
	while IFS= read -r f; do
		rel=${f#"$TM_ROOT/doc/"}
		awk -v m="<!-- $rel -->" '
			$0 == m { state = 1; next }
			state == 1 { if ($0 !~ /^```/) exit 2; state = 2; next }
			state == 2 { if ($0 ~ /^```$/) exit 0; print }
			END { if (state != 2) exit 3 }' "$page" > "$TMP/quoted" ||
			{ echo "$rel is not quoted on the page" >&2; return 1; }
		diff -u "$f" "$TMP/quoted"
		n=$((n + 1))
	done < <(find "$FLEET" -type f | sort)
	[ "$n" -ge 8 ]
	# and nothing is quoted that is not a file
	for m in $(sed -nE 's/^<!-- (fleet\/[^ ]+) -->$/\1/p' "$page"); do
		[ -f "$TM_ROOT/doc/$m" ]
	done

	cd "$FLEET"
	promtool check config prometheus.yml
	! promtool check config prometheus.yml 2>&1 | grep -q WARNING
	promtool check rules tmtop-rules.yml
	promtool test rules tmtop-rules.test.yml
	# every query parses: promtool checks them as recording rules (they run against a live
	# Prometheus in the test above)
	{
		echo 'groups:'
		echo '  - name: queries'
		echo '    rules:'
		for q in queries/*.promql; do
			echo "      - record: fleet:$(basename "$q" .promql | tr - _)"
			echo '        expr: |'
			sed 's/^/          /' "$q"
		done
	} > "$TMP/queries.yml"
	promtool check rules "$TMP/queries.yml"
}

@test "flows: the page's jq sums of the flow records equal the kernel's totals" {
	"$BIN" -d "$TMP" --no-socket --no-history -i /dev/null -o csv,flows --flow-interval 1 "$CG" lo \
		2> "$TMP/stderr" &
	METER=$!
	TM_PIDS+=("$METER")
	tm_wait_grep "$TMP/stderr" 'watching' 10 || { cat "$TMP/stderr"; return 1; }
	udp_known 30
	stop_meter
	# the page's command line, on the file the page names
	grep -q '^jq -s -f doc/fleet/flows-per-owner.jq /var/log/tmtop/flows_eth0.jsonl$' \
		"$TM_ROOT/doc/FLEET.md"
	(cd "$TM_ROOT" && jq -s -f doc/fleet/flows-per-owner.jq "$TMP/flows_lo.jsonl") > "$TMP/sums"
	cat "$TMP/sums"
	[ "$(jq -r ".[] | select(.owner == \"$TM_UID_A\" and .direction == \"out\") | .bytes" "$TMP/sums")" -eq $((30 * L3)) ]
	[ "$(jq -r ".[] | select(.owner == \"$TM_UID_B\" and .direction == \"in\") | .packets" "$TMP/sums")" -eq 30 ]
	grep -qE "uid $TM_UID_A .*out $((30 * L3)) B \(30 pkts\)" "$TMP/stderr"
	grep -qE "uid $TM_UID_B .*in $((30 * L3)) B \(30 pkts\)" "$TMP/stderr"
}
