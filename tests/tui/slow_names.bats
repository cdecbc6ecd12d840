#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# A slow name service never costs an event (issue 8): with every passwd lookup taking 50 ms (an
# LD_PRELOAD shim, as a slow LDAP or sssd would), 60 new uids appear during a flood, and the
# meter still loses nothing, whether tmtop runs its own engine or the service answers viewers.

load ../lib.bash

setup() {
	tm_setup
	BIN="$TM_BIN_DIR/traffic_meter_user"
	TOP="$TM_BIN_DIR/tmtop"
	SHIM="$TMP/slow_nss.so"
	cc -shared -fPIC -O2 -o "$SHIM" "$TM_ROOT/tests/tui/slow_nss.c" -ldl
}

teardown() {
	tm_teardown
}

# 60 uids that have never sent, one after another, while one uid floods
new_uids() {
	local i pids=()
	tm_traffic_bg "$TM_UID_A" udp-flood 4 127.0.0.1 9 8 64
	for i in $(seq 0 59); do
		tm_traffic $((65200 + i)) udp-send 4 127.0.0.1 9 3 64 &
		pids+=($!)
	done
	wait "${pids[@]}"
}

@test "the shim is slow: a lookup takes 50 ms" {
	start=$(date +%s%N)
	LD_PRELOAD="$SHIM" /usr/bin/python3 -c 'import pwd; pwd.getpwuid(0); pwd.getpwuid(1)'
	[ $(( ($(date +%s%N) - start) / 1000000 )) -ge 100 ]
}

@test "standalone tmtop with a 50 ms name service: 60 new uids in a flood, 0 events lost" {
	LD_PRELOAD="$SHIM" "$TOP" --standalone --user root -b -n 12 -d 1 --no-log --no-history \
		--ignore-file /dev/null "$CG" lo > "$TMP/out" 2> "$TMP/err" &
	local p=$!
	TM_PIDS+=("$p")
	tm_wait_grep "$TMP/out" '^# ignore' 10
	new_uids
	wait "$p"
	cat "$TMP/err"
	tail -n 70 "$TMP/out" | head -n 6
	last=$(grep '^totals' "$TMP/out" | tail -n 1)
	[[ "$last" =~ " lost=0 " ]]
	[[ "$last" =~ " users=61 " ]]
}

@test "the service with a 50 ms name service answering a viewer: 0 events lost" {
	LD_PRELOAD="$SHIM" "$BIN" --user root --no-history -d "$TMP" --socket "$TMP/sock" \
		-i /dev/null "$CG" lo 2> "$TMP/err" &
	local m=$!
	TM_PIDS+=("$m")
	tm_wait_grep "$TMP/err" 'watching' 10
	"$TOP" -b -n 12 -d 1 --socket "$TMP/sock" > "$TMP/out" &
	local v=$!
	new_uids
	wait "$v"
	kill -INT "$m"
	wait "$m"
	grep -q ' 0 lost (ring buffer full)' "$TMP/err"
	grep -qE "^totals .* lost=0 users=61 " "$TMP/out"
}
