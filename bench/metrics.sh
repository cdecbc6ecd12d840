#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# bench/metrics.sh: what do Prometheus scrapes cost the meter? (issue 12)
#
# The service on a throw-away cgroup with --metrics-listen, OWNERS test uids that each sent a
# datagram (so an exposition has --metrics-max-users labelled owners and "other"), then a UDP
# flood on loopback from one test user, three times: without scrapes, with a scrape every
# 300 ms (each one a fresh snapshot: the cache lives 250 ms), and with two clients scraping
# back to back (the abuse case, mostly served from the cache). For each: scrape latency
# (curl's time_total: p50, p99, max) and the packet records the meter received and lost
# during the flood, from its own counters.
#
# Usage: bench/metrics.sh [--seconds N] [--owners N] [--out FILE]
# Needs root, cgroup v2, curl, python3. Loopback only, every load bounded in time; the cgroup,
# the meter and the traffic are ended by PID on every exit path.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SECONDS_FLOOD=6
OWNERS=300
OUT=""

while [ $# -gt 0 ]; do
	case $1 in
	--seconds) SECONDS_FLOOD=$2; shift 2 ;;
	--owners) OWNERS=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	-h|--help) sed -n '/^# Usage:/,/^# Needs/p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench/metrics.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
[ "$SECONDS_FLOOD" -le 30 ] || { echo "bench/metrics.sh: --seconds at most 30" >&2; exit 2; }

# shellcheck source=../tests/lib.bash
. "$ROOT/tests/lib.bash"
skip() { echo "bench/metrics.sh: $*" >&2; exit 1; }
tm_setup
trap 'set +e; tm_teardown' EXIT	# lib.bash is written for bats, not set -e
BIN="$TM_BIN_DIR/traffic_meter_user"
MPORT=$(tm_port)
URL="http://127.0.0.1:$MPORT/metrics"

"$BIN" -d "$TMP" --no-socket --no-history -i /dev/null --metrics-listen "127.0.0.1:$MPORT" "$CG" lo \
	2> "$TMP/stderr" &
METER=$!
TM_PIDS+=("$METER")
tm_wait_grep "$TMP/stderr" watching 10

# many owners: one datagram each from a uid of its own (no account needed)
tm_as 0 "$TM_PY" - "$OWNERS" <<'EOF'
import os, socket, sys
for i in range(int(sys.argv[1])):
    if os.fork() == 0:
        os.setgid(64000 + i)
        os.setuid(64000 + i)
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"m" * 100, ("127.0.0.1", 9))
        os._exit(0)
    os.wait()
EOF
sleep 0.5

counter() { curl -sf --max-time 5 "$URL" | awk -v n="$1" '$1 == n { print $2 }'; }

# scrape_loop FILE PAUSE UNTIL: time_total of each scrape, one per line
scrape_loop() {
	while [ "$(date +%s%N)" -lt "$3" ]; do
		curl -s -o /dev/null --max-time 10 -w '%{time_total}\n' "$URL" >> "$1" || true
		[ "$2" = 0 ] || sleep "$2"
	done
}

pct() {	# FILE PERCENT: that percentile of the numbers in FILE, in ms
	sort -g "$1" | awk -v p="$2" '{ v[NR] = $1 } END { if (!NR) { print "-"; exit }
		i = int(NR * p / 100 + 0.999); if (i < 1) i = 1; if (i > NR) i = NR
		printf "%.1f", v[i] * 1000 }'
}

run() {	# NAME CLIENTS PAUSE
	local name=$1 clients=$2 pause=$3 ev0 lost0 ev1 lost1 until flood i pids=()
	: > "$TMP/lat.$name"
	ev0=$(counter tmtop_events_total)
	lost0=$(counter tmtop_events_lost_total)
	until=$(($(date +%s%N) + SECONDS_FLOOD * 1000000000))
	tm_traffic_bg "$TM_UID_A" udp-flood 4 127.0.0.1 "$(tm_port)" "$SECONDS_FLOOD" 64 > /dev/null
	flood=$TM_LAST_PID
	for i in $(seq "$clients"); do
		scrape_loop "$TMP/lat.$name" "$pause" "$until" &
		pids+=($!)
		TM_PIDS+=($!)
	done
	wait "$flood" || true
	[ ${#pids[@]} -eq 0 ] || wait "${pids[@]}"
	sleep 0.5
	ev1=$(counter tmtop_events_total)
	lost1=$(counter tmtop_events_lost_total)
	printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$name" "$(wc -l < "$TMP/lat.$name")" \
		"$(pct "$TMP/lat.$name" 50)" "$(pct "$TMP/lat.$name" 99)" \
		"$(pct "$TMP/lat.$name" 100)" $((ev1 - ev0)) $((lost1 - lost0))
}

{
	echo "# What Prometheus scrapes cost the meter (bench/metrics.sh)"
	echo
	echo "Loopback UDP flood (64-byte payloads, ${SECONDS_FLOOD} s per row) with $OWNERS owners"
	echo "known, --metrics-max-users 100; $(nproc) cores, $(uname -r), $(date -u +%F)."
	echo "Latency is curl's time_total per scrape in ms; events are the meter's own counters."
	echo
	echo "| scrapes | count | p50 ms | p99 ms | max ms | events | events lost |"
	echo "| --- | --- | --- | --- | --- | --- | --- |"
	run none 0 0
	run every-300ms 1 0.3
	run 2-clients-back-to-back 2 0
	curl -s -o "$TMP/last" "$URL"
	echo
	echo "One exposition: $(wc -c < "$TMP/last") bytes, $(grep -vc '^#' "$TMP/last") samples."
} | tee ${OUT:+"$OUT"}
kill -INT "$METER"
wait "$METER" || true
