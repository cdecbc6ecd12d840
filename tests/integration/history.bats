#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# History, reports and quotas (issue 11) with a real meter and a real database: a second run
# continues the same day, kill -9 loses at most the last write interval, a month boundary (the
# clock moved with libfaketime) splits the buckets, reports read like vnstat's and their JSON
# follows doc/report.schema.json, a plain user gets only their own history, and a quota fires
# exactly once per period, across restarts too.

load ../lib.bash

setup() {
	tm_setup
	BIN="$TM_BIN_DIR/traffic_meter_user"
	TOP="$TM_BIN_DIR/tmtop"
	DB="$TMP/history.db"
	SOCKET="$TMP/meter.sock"
	export TZ=UTC
}

teardown() {
	tm_teardown
}

start_meter() {
	tm_start_meter "$BIN" --user root -d "$TMP" --socket "$SOCKET" --history-db "$DB" \
		--history-interval 1 -i /dev/null "$@" "$CG" lo
}

stop_meter() { tm_stop_meter; }

# bucket PERIOD OWNER: "packets_in packets_out bytes_in bytes_out" summed over the buckets
bucket() {
	sqlite3 "$DB" "select ifnull(sum(packets_in),0), ifnull(sum(packets_out),0),
		ifnull(sum(bytes_in),0), ifnull(sum(bytes_out),0) from traffic
		where period = $1 and owner = $2" | tr '|' ' '
}

@test "the database: 0600, every period filled, and a second run continues the same day" {
	start_meter
	tm_traffic "$TM_UID_A" udp-send 4 127.0.0.1 9 10 100
	stop_meter
	[ "$(stat -c %a "$DB")" = 600 ]
	for p in 0 1 2 3 4; do
		[ "$(bucket $p "$TM_UID_A")" = "0 10 0 1280" ]
	done
	start_meter
	tm_traffic "$TM_UID_A" udp-send 4 127.0.0.1 9 5 100
	stop_meter
	[ "$(bucket 2 "$TM_UID_A")" = "0 15 0 1920" ]
	[ "$(sqlite3 "$DB" "select count(*) from traffic where period = 2 and owner = $TM_UID_A")" -eq 1 ]
}

@test "kill -9 loses at most the last write interval" {
	start_meter
	tm_traffic "$TM_UID_A" udp-send 4 127.0.0.1 9 10 100
	# the keeper looks every 5 s and writes every second after a look
	sleep 7
	kill -9 "$METER"
	wait "$METER" || true
	[ "$(bucket 2 "$TM_UID_A")" = "0 10 0 1280" ]
	[ "$(tm_attached "$CG")" -eq 0 ]
}

@test "a month boundary splits the month, day and hour buckets (clock moved with libfaketime)" {
	local lib
	lib=$(ls /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null | head -n1)
	[ -n "$lib" ] || skip "libfaketime not installed"
	# ASan's allocator and libfaketime's clock lock can deadlock each other at random (upstream
	# libfaketime #365 and #391; CI saw the sanitized meter never start, twice): the
	# sanitized pass leaves this one test to the normal build, which runs it whole.
	[ -z "${TM_SAN_LOG_DIR:-}" ] || skip "libfaketime and ASan deadlock (libfaketime #365, #391)"
	# Preloaded into the meter itself (the faketime wrapper would take our signals). Only the
	# wall clock moves, as it does at a real month's turn: the monotonic clocks the kernel
	# stamps packets with are left alone. The clock starts 25 s before the turn: room for a
	# slow start-up, which must not carry the first packets over it.
	tm_start_meter env LD_PRELOAD="$lib" FAKETIME="@2026-11-30 23:59:35" \
		FAKETIME_DONT_FAKE_MONOTONIC=1 "$BIN" --user root -d "$TMP" --socket "$SOCKET" \
		--history-db "$DB" --history-interval 1 -i /dev/null "$CG" lo
	nov=$(date -d '2026-11-01 00:00:00' +%s) dec=$(date -d '2026-12-01 00:00:00' +%s)
	tm_traffic "$TM_UID_A" udp-send 4 127.0.0.1 9 4 100
	# the meter's own clock, as its snapshot tells it: still November, with a few seconds
	# for the keeper to write them down, and how long until it turns to December 1st
	now=$("$TOP" -b -n 1 -d 0.3 --socket "$SOCKET" --json | jq '.time | floor')
	echo "the meter's clock: $(date -d "@$now")"
	[ "$now" -lt $((dec - 3)) ]
	sleep $((dec - now + 2))
	tm_traffic "$TM_UID_A" udp-send 4 127.0.0.1 9 6 100
	sleep 3
	stop_meter
	sqlite3 "$DB" 'select period, start, packets_out from traffic order by period, start'
	[ "$(sqlite3 "$DB" "select packets_out from traffic where period = 3 and start = $nov")" -eq 4 ]
	[ "$(sqlite3 "$DB" "select packets_out from traffic where period = 3 and start = $dec")" -eq 6 ]
	[ "$(sqlite3 "$DB" "select packets_out from traffic where period = 2 and start = $dec")" -eq 6 ]
	[ "$(bucket 4 "$TM_UID_A")" = "0 10 0 1280" ]
}

@test "tmtop report: vnstat-like tables, --top, a user's peers, JSON that follows its schema" {
	start_meter --quota "$TM_UID_A=1M/month"
	tm_traffic "$TM_UID_A" udp-send 4 127.0.0.1 9 10 100
	tm_traffic "$TM_UID_B" udp-send 4 127.0.0.2 9 20 100
	stop_meter
	# root reads the database itself
	"$TOP" report --history-db "$DB" --days > "$TMP/days"
	cat "$TMP/days"
	grep -qE "^ $TM_UID_A \(uid $TM_UID_A\)$" "$TMP/days"
	grep -qE '^ +[0-9]{4}-[0-9]{2}-[0-9]{2} \| +0 B \| +1\.25 KiB \| +1\.25 KiB \|' "$TMP/days"
	grep -qE '^ +total \| +0 B \| +2\.50 KiB \| +2\.50 KiB \|$' "$TMP/days"
	"$TOP" report --history-db "$DB" --top 5 --months > "$TMP/top"
	[ "$(grep -cE '^ +[12]  ' "$TMP/top")" -eq 2 ]
	grep -qE "^ +1  $TM_UID_B \(uid $TM_UID_B\) .*66\.7 %$" "$TMP/top"
	"$TOP" report --history-db "$DB" -u "$TM_UID_B" --top 3 > "$TMP/peers"
	grep -qE '^ +127\.0\.0\.2 +\| +0 B \| +2\.50 KiB$' "$TMP/peers"
	# the JSON is the documented object, asked of the database and of the service alike
	"$TOP" report --history-db "$DB" --json --top 5 > "$TMP/a.json"
	start_meter --quota "$TM_UID_A=1M/month"
	"$TOP" report --socket "$SOCKET" --json -u "$TM_UID_A" > "$TMP/b.json"
	stop_meter
	for f in a b; do
		/usr/bin/python3 -c 'import json, sys, jsonschema
jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))' \
			"$TMP/$f.json" "$TM_ROOT/doc/report.schema.json"
	done
	jq -e '.users[] | select(.owner == "'"$TM_UID_A"'") | .quota.limit == 1048576 and
		.quota.used == 1280' "$TMP/b.json"
}

@test "a plain user gets their own history from the service, and nothing else" {
	start_meter
	tm_traffic "$TM_UID_A" udp-send 4 127.0.0.1 9 3 100
	tm_traffic "$TM_UID_B" udp-send 4 127.0.0.1 9 4 100
	sleep 7
	setpriv --reuid="$TM_UID_B" --regid="$TM_UID_B" --clear-groups \
		"$TOP" report --socket "$SOCKET" --json --top 5 > "$TMP/b.json"
	jq -e '(.users | length) == 1 and .users[0].uid == '"$TM_UID_B"' and
		(has("top") | not)' "$TMP/b.json"
	run setpriv --reuid="$TM_UID_B" --regid="$TM_UID_B" --clear-groups \
		"$TOP" report --socket "$SOCKET" -u "$TM_UID_A"
	[ "$status" -ne 0 ]
	[[ "$output" == *"only your own history"* ]]
	# and the file itself is not for them
	run setpriv --reuid="$TM_UID_B" --regid="$TM_UID_B" --clear-groups \
		"$TOP" report --history-db "$DB"
	[ "$status" -ne 0 ]
	stop_meter
}

@test "a quota fires exactly once per period, across restarts too; traffic is never blocked" {
	cat > "$TMP/on-quota" <<EOF
#!/bin/sh
echo "\$@" >> "$TMP/fired"
EOF
	chmod 755 "$TMP/on-quota"
	start_meter --quota "$TM_UID_A=2K/day" --quota-command "$TMP/on-quota"
	tm_traffic "$TM_UID_A" udp-send 4 127.0.0.1 9 10 100	# 1280 B: under
	sleep 6
	[ ! -e "$TMP/fired" ]
	tm_traffic "$TM_UID_A" udp-send 4 127.0.0.1 9 10 100	# 2560 B: over
	sleep 6
	tm_traffic "$TM_UID_A" udp-send 4 127.0.0.1 9 10 100	# still over: no second call
	sleep 6
	stop_meter
	start_meter --quota "$TM_UID_A=2K/day" --quota-command "$TMP/on-quota"
	tm_traffic "$TM_UID_A" udp-send 4 127.0.0.1 9 2 100
	sleep 6
	"$TOP" -b -n 1 -d 0.3 --socket "$SOCKET" --json > "$TMP/snap.json"
	stop_meter
	cat "$TMP/fired"
	[ "$(wc -l < "$TMP/fired")" -eq 1 ]
	read -r user uid period used limit start < "$TMP/fired"
	[ "$uid" -eq "$TM_UID_A" ] && [ "$period" = day ] && [ "$limit" -eq 2048 ]
	[ "$used" -ge 2048 ] && [ "$used" -le 2560 ]
	[ "$start" -eq "$(date -d 'today 00:00' +%s)" ]
	# every datagram was sent and logged all the same
	[ "$(grep -c '^out,128,' "$TMP/traffic_user_lo_$TM_UID_A.log")" -eq 32 ]
	jq -e '.users[] | select(.uid == '"$TM_UID_A"') | .quota.used == 4096 and
		.quota.limit == 2048' "$TMP/snap.json"
}

@test "bad history and quota options: one line, non-zero exit, nothing attached" {
	run "$BIN" --user root --history-db "$TMP/nodir/h.db" -d "$TMP" --no-socket "$CG" lo
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"nodir"* ]]
	for q in 'alice' 'x=1G/week' "$TM_UID_A=lots/day" 'nosuchuserhere=1G/day' '@nosuchgrp=1G/day'; do
		run "$BIN" --quota "$q" --no-socket "$CG" lo
		[ "$status" -eq 2 ]
		[[ "$output" == *"bad --quota"* ]]
	done
	# a quota the meter could never count is refused, whichever order the options come in
	for args in "--quota $TM_UID_A=1G/day --no-history" "--no-history --quota $TM_UID_A=1G/day"; do
		# shellcheck disable=SC2086
		run "$BIN" $args --no-socket "$CG" lo
		[ "$status" -eq 2 ]
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == *"--quota needs the history database"* ]]
	done
	run "$BIN" --no-history --history-db "$DB" --quota "$TM_UID_A=1G/day" --help
	[ "$status" -eq 0 ]
	run "$TOP" report --history-db "$TMP/none.db"
	[ "$status" -eq 1 ]
	[ "$(tm_attached "$CG")" -eq 0 ]
}
