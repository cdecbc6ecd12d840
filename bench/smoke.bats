#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# The benchmark must not rot: a few seconds of bench/run.sh --smoke (one round, 1 s runs, a subset
# of the monitors) has to print a table with numbers and leave no cgroup or program behind.
# It never asserts on speed: CI machines are too noisy for that, and make bench is the measurement.

load ../tests/lib.bash

# One smoke run for the whole file (it is the slow part); the tests read what it left.
setup_file()
{
	[ "$(id -u)" -eq 0 ] || return 0
	command -v iperf3 >/dev/null && command -v jq >/dev/null || return 0
	[ -x "$TM_ROOT/traffic_meter_user" ] || return 0
	md5sum "$TM_ROOT/bench/RESULTS.md" > "$BATS_FILE_TMPDIR/before" 2>/dev/null || echo none > "$BATS_FILE_TMPDIR/before"
	timeout 180 "$TM_ROOT/bench/run.sh" --smoke --out "$BATS_FILE_TMPDIR/results.md" \
		> "$BATS_FILE_TMPDIR/stdout" 2> "$BATS_FILE_TMPDIR/stderr"
	echo $? > "$BATS_FILE_TMPDIR/status"
}

setup()
{
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	command -v iperf3 >/dev/null || skip "iperf3 not installed"
	command -v jq >/dev/null || skip "jq not installed"
	[ -x "$TM_ROOT/traffic_meter_user" ] || skip "traffic_meter_user not built"
	OUT="$BATS_FILE_TMPDIR/results.md"
}

@test "bench/run.sh --smoke exits 0" {
	tail -n 20 "$BATS_FILE_TMPDIR/stderr"
	[ "$(cat "$BATS_FILE_TMPDIR/status")" -eq 0 ]
}

@test "the table has numbers: baseline rate; logger ratio, rate, CPU, RSS, events/s, losses" {
	grep -E '^\| no monitor \(baseline\) \| UDP-64B IPv4 \| 1\.00 \|.*\| [0-9]+ kpps \|' "$OUT"
	grep -E '^\| traffic_meter_user, CSV \| UDP-64B IPv4 \| [0-9]+\.[0-9]+ \|.*\| [0-9]+ kpps \| [0-9]+\.[0-9] \| [0-9]+\.[0-9] \([0-9.]+\) \| [0-9]+ \| [0-9]+ \|$' "$OUT"
	grep -E '^\| logger \| 100000 \| [0-9]+ \| [0-9.]+ \| [0-9.]+ \|' "$OUT"
	grep -qE '^## Targets' "$OUT"
	# The same report went to stdout.
	grep -q '^| traffic_meter_user, CSV | UDP-64B IPv4 |' "$BATS_FILE_TMPDIR/stdout"
}

@test "the uid flood: 300 uids, every row in its file, under both descriptor limits" {
	grep -E '^\| default \| 300 \| [0-9.]+ \| [0-9]+ \| [0-9]+ \| [0-9.]+ \| [0-9.]+ \| ([0-9]+) \| \1 \| 300 \| 0 \| 0 \|$' "$OUT"
	grep -E '^\| ulimit -n 64 \| 300 \| [0-9.]+ \| [0-9]+ \| [0-9]+ \| [0-9.]+ \| [0-9.]+ \| ([0-9]+) \| \1 \| 300 \| 0 \| 0 \|$' "$OUT"
}

@test "nothing left behind: no cgroup, no attached program, no process; RESULTS.md untouched" {
	local mnt

	mnt=$(tm_cg2_mount)
	! ls -d "$mnt"/tmtop-bench-* 2>/dev/null
	! bpftool cgroup tree 2>/dev/null | grep -q tmtop-bench-
	! pgrep -f "$mnt/tmtop-bench-" >/dev/null
	[ "$(md5sum "$TM_ROOT/bench/RESULTS.md" 2>/dev/null || echo none)" = "$(cat "$BATS_FILE_TMPDIR/before")" ]
}
