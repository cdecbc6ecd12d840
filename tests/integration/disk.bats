#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# Disk (issue 10), end to end with the real meter and real traffic: --max-file-size rotates at
# the size and keeps --max-files old files, each new file with its header and totals from 0 and
# no row lost across a rotation (the rows of all files equal the kernel's counts); --compress
# gzips what was rotated; the free-space floor (--min-free, on a small tmpfs the test mounts)
# holds rows back, counted as not written, in tmtop's header, batch output and the exit summary,
# while the meter goes on and the kernel's totals stay exact, and writing resumes when space
# comes back.

load ../lib.bash

HEADER="direction,bytes,src_ip,dst_ip,timestamp,total_in,total_out"

setup() {
	tm_setup
	BIN="$TM_BIN_DIR/traffic_meter_user"
	TOP="$TM_BIN_DIR/tmtop"
	LOGDIR=$TMP
	TMUX_SOCK=""
}

teardown() {
	[ -n "$TMUX_SOCK" ] && tm_tmux_kill "$TMUX_SOCK"
	tm_teardown
}

loga() { echo "$LOGDIR/traffic_user_lo_$TM_UID_A.log"; }
logb() { echo "$LOGDIR/traffic_user_lo_$TM_UID_B.log"; }

# start_meter [options...]: the service as deployed (it runs as nobody here), logs in $LOGDIR.
start_meter() {
	tm_start_meter "$BIN" -d "$LOGDIR" --socket "$TMP/meter.sock" --history-db "$TMP/history.db" \
		-i /dev/null "$@" "$CG" lo
}

stop_meter() { tm_stop_meter; }

# udp_exchange COUNT SIZE: user B receives, user A sends, over 127.0.0.1.
udp_exchange() {
	local port
	port=$(tm_port)
	tm_traffic_bg "$TM_UID_B" udp-recv 4 "$port" "$1" "$SYNC/ready.$port"
	local recv=$TM_LAST_PID
	tm_wait_file "$SYNC/ready.$port"
	tm_traffic "$TM_UID_A" udp-send 4 127.0.0.1 "$port" "$1" "$2"
	wait "$recv" || true
}

# check_file FILE (or - for stdin): the header first and only there, every row in or out,
# totals the running sums from 0. Prints "rows total_in total_out".
check_file() {
	awk -F, -v hdr="$HEADER" '
		NR == 1 { if ($0 != hdr) { print "no header: " $0 > "/dev/stderr"; exit 1 } next }
		{ if ($1 == "in") tin += $2; else if ($1 == "out") tout += $2
		  else { print "not a row: " $0 > "/dev/stderr"; exit 2 }
		  if ($6 != tin || $7 != tout) { print "row " NR ": " $6 "," $7 " != " tin "," tout > "/dev/stderr"; exit 3 }
		  rows++ }
		END { print rows + 0, tin + 0, tout + 0 }' "$1"
}

# kernel DIRECTION UID: "packets bytes" the exit summary gives for that uid and direction
kernel() {
	sed -nE "s/^  uid $2 .* $1 ([0-9]+) B \(([0-9]+) pkts\).*/\2 \1/p" "$TMP/stderr"
}

# sum_files DIRECTION UID FILES...: "rows bytes" over all the files of one uid
sum_files() {
	local dir=$1 f out rows=0 bytes=0 r ti to
	shift 2
	for f in "$@"; do
		case $f in
		*.gz) out=$(zcat "$f" | check_file -) ;;
		*) out=$(check_file "$f") ;;
		esac || return 1
		read -r r ti to <<< "$out"
		rows=$((rows + r))
		if [ "$dir" = in ]; then bytes=$((bytes + ti)); else bytes=$((bytes + to)); fi
	done
	echo "$rows $bytes"
}

@test "--max-file-size: files rotate at the size, each new one with its header and totals from 0, no row lost" {
	start_meter --max-file-size 64K --max-files 100
	udp_exchange 5000 100
	stop_meter
	cat "$TMP/stderr"
	grep -qE 'csv: .*; [0-9]+ files rotated' "$TMP/stderr"
	for who in "A $TM_UID_A out $(loga)" "B $TM_UID_B in $(logb)"; do
		read -r _ uid dir log <<< "$who"
		rotated=$(ls "$log".*)
		[ "$(echo "$rotated" | wc -l)" -ge 3 ]
		for f in $rotated "$log"; do
			size=$(stat -c %s "$f")
			[ "$size" -le 65536 ]
			[ "$(stat -c %a "$f")" = 600 ]
		done
		# a rotated file is full: the next row would not have fitted
		for f in $rotated; do [ "$(stat -c %s "$f")" -gt $((65536 - 2 * 192)) ]; done
		# every row of the run, in the files together, equals the kernel's count
		[ "$(sum_files "$dir" "$uid" $rotated "$log")" = "$(kernel "$dir" "$uid")" ]
		[ "$(kernel "$dir" "$uid")" = "5000 $((5000 * 128))" ]
	done
}

@test "--max-files 2: the two newest rotated files stay, and a file not the meter's is never deleted" {
	# someone else's file under a rotated name: it is not ours to prune
	echo "not yours" > "$(loga).1"
	chown "$TM_UID_B" "$(loga).1"
	start_meter --max-file-size 64K --max-files 2
	udp_exchange 5000 100
	stop_meter
	[ "$(cat "$(loga).1")" = "not yours" ]
	ours=$(find "$LOGDIR" -maxdepth 1 -name "traffic_user_lo_$TM_UID_A.log.*" ! -user "$TM_UID_B" |
		sed 's/.*\.//' | sort -n)
	echo "$ours"
	[ "$(echo "$ours" | wc -l)" -eq 2 ]
	# the newest two: consecutive, and the highest numbers made
	[ "$(echo "$ours" | tail -n1)" -eq $(($(echo "$ours" | head -n1) + 1)) ]
	[ "$(echo "$ours" | head -n1)" -ge 3 ]
	# what is left is whole: header, running totals
	for f in "$(loga)" $(printf "$(loga).%s " $ours); do check_file "$f" > /dev/null; done
}

@test "--compress: rotated files are gzipped, and zcat gives back every row" {
	start_meter --max-file-size 64K --max-files 100 --compress
	udp_exchange 5000 100
	stop_meter
	for who in "$TM_UID_A out $(loga)" "$TM_UID_B in $(logb)"; do
		read -r uid dir log <<< "$who"
		# nothing left half done at exit: every rotated file is a whole .gz, no plain copy
		! ls "$log".[0-9]* 2>/dev/null | grep -v '\.gz$'
		! ls "$LOGDIR" | grep -q '\.tmp'
		gz=$(ls "$log".*.gz)
		[ "$(echo "$gz" | wc -l)" -ge 3 ]
		for f in $gz; do
			gzip -t "$f"
			[ "$(stat -c %a "$f")" = 600 ]
			# compressed, and each was a full file before
			[ "$(stat -c %s "$f")" -lt 32768 ]
			[ "$(zcat "$f" | wc -c)" -gt $((65536 - 2 * 192)) ]
		done
		[ "$(sum_files "$dir" "$uid" $gz "$log")" = "$(kernel "$dir" "$uid")" ]
		[ "$(kernel "$dir" "$uid")" = "5000 $((5000 * 128))" ]
	done
}

@test "--min-free: below the floor rows are not written, counted and shown; the meter goes on; writing resumes" {
	LOGDIR="$TMP/small"
	mkdir "$LOGDIR"
	mount -t tmpfs -o size=4m,mode=1777 tmtop-test "$LOGDIR"
	TM_MOUNTS+=("$LOGDIR")
	start_meter --min-free 2M
	udp_exchange 10 50
	sleep 0.3
	# another user fills the disk past the floor; the meter sees it within a second
	dd if=/dev/zero of="$LOGDIR/filler" bs=64k count=40 status=none
	sleep 1.3
	udp_exchange 30 50
	sleep 0.5
	kill -0 "$METER"
	# batch output and the header of the screen say so, while it lasts
	"$TOP" -b -n 1 -D 0.3 --socket "$TMP/meter.sock" > "$TMP/batch"
	cat "$TMP/batch"
	grep -qE '^ignore=.* log=.* not_written=60$' "$TMP/batch"
	TMUX_SOCK="tmtop_disk_$$"
	printf 'set -g status off\n' > "$TMP/tmux.conf"
	tmux -L "$TMUX_SOCK" -f "$TMP/tmux.conf" new-session -d -s v -x 120 -y 30 \
		"'$TOP' --socket '$TMP/meter.sock'"
	for i in $(seq 50); do
		tmux -L "$TMUX_SOCK" capture-pane -p -t v | grep -q 'rows not written' && break
		sleep 0.1
	done
	tmux -L "$TMUX_SOCK" capture-pane -p -t v | tee "$TMP/screen"
	grep -qE 'Log +60 rows not written: low on disk space' "$TMP/screen"
	tmux -L "$TMUX_SOCK" send-keys -t v q
	# space comes back: the next rows are written again
	rm "$LOGDIR/filler"
	sleep 1.3
	t=$(date +%s.%N)
	udp_exchange 20 50
	stop_meter
	cat "$TMP/stderr"
	grep -qE 'csv: [0-9]+ rows.*; 60 rows not written \(below the free-space floor\)' "$TMP/stderr"
	# the kernel counted every packet; the files hold those before and after the floor
	[ "$(kernel out "$TM_UID_A")" = "60 $((60 * 78))" ]
	[ "$(kernel in "$TM_UID_B")" = "60 $((60 * 78))" ]
	[ "$(check_file "$(loga)")" = "30 0 $((30 * 78))" ]
	[ "$(check_file "$(logb)")" = "30 $((30 * 78)) 0" ]
	[ "$(awk -F, -v t="$t" 'NR > 1 && $5 + 0 > t + 0' "$(loga)" | wc -l)" -eq 20 ]
}
