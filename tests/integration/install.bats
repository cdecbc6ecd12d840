#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# Installable and checked like any daemon: make install and uninstall (into a DESTDIR, and for
# real inside a mount namespace of its own), the unit checked by systemd-analyze and its
# sandbox reproduced around the real service (tests/unit-sandbox.sh), the man pages linted,
# bash completion, and logrotate against a running service with no row lost. Root, real BPF,
# loopback traffic only; nothing outside the test's namespaces, cgroup and temp dirs changes.

load ../lib.bash

setup_file() {
	# One staged install for the file, with the defaults (PREFIX=/usr/local).
	DEST="$BATS_FILE_TMPDIR/dest"
	make -C "$TM_ROOT" --no-print-directory install DESTDIR="$DEST" \
		> "$BATS_FILE_TMPDIR/install.log" 2>&1 ||
		{ cat "$BATS_FILE_TMPDIR/install.log" >&3; return 1; }
	export DEST
	export UNIT="$DEST/usr/local/lib/systemd/system/tmtop.service"
}

setup() {
	tm_setup
	BIN="$TM_BIN_DIR/traffic_meter_user"
	TOP="$TM_BIN_DIR/tmtop"
}

teardown() {
	tm_teardown
}

# --- helpers ---------------------------------------------------------------------------------

# The user and group tmtop: this machine's, or, where it has none, a passwd and group of the
# test's own with them ($FAKE_ETC) that only the test's mount namespaces see.
tmtop_user() {
	local id
	[ -z "${TMTOP_UID:-}" ] || return 0	# once per test
	FAKE_ETC=
	if getent passwd tmtop >/dev/null && getent group tmtop >/dev/null; then
		TMTOP_UID=$(id -u tmtop)
		TMTOP_GID=$(getent group tmtop | cut -d: -f3)
		return
	fi
	for id in $(seq 64990 -1 64900); do
		getent passwd "$id" >/dev/null || getent group "$id" >/dev/null || break
	done
	FAKE_ETC="$TMP/etc"
	mkdir "$FAKE_ETC"
	cp /etc/passwd /etc/group "$FAKE_ETC/"
	echo "tmtop:x:$id:$id:tmtop traffic meter:/nonexistent:/usr/sbin/nologin" >> "$FAKE_ETC/passwd"
	echo "tmtop:x:$id:" >> "$FAKE_ETC/group"
	TMTOP_UID=$id TMTOP_GID=$id
}

# as_tmtop_ns CMD...: CMD in a mount namespace where the user tmtop exists.
as_tmtop_ns() {
	unshare --mount --propagation private sh -c '
		if [ -n "$1" ]; then
			mount --bind "$1/passwd" /etc/passwd && mount --bind "$1/group" /etc/group || exit 1
		fi
		shift
		exec "$@"' sh "$FAKE_ETC" "$@"
}

# start_unit [ARGS...]: the service as the installed unit runs it (the unit's ExecStart has no
# options; the test adds ARGS, its cgroup and nic_id lo), in the unit's sandbox. Its
# directories are $TMP/unit/{log,run,lib}, the socket $TMP/unit/run/meter.sock. Sets SVC.
start_unit() {
	tmtop_user
	mkdir -p "$TMP/unit"
	"$TM_ROOT/tests/unit-sandbox.sh" "$UNIT" "$TMP/unit" "$FAKE_ETC" -- \
		"$BIN" "$@" "$CG" lo 2> "$TMP/unit.err" &
	SVC=$!
	TM_PIDS+=("$SVC")
	tm_wait_grep "$TMP/unit.err" 'watching' 10 ||
		{ cat "$TMP/unit.err"; return 1; }
}

stop_unit() {
	kill -TERM "$SVC"
	wait "$SVC"
}

# The kernel's counts for a uid from the exit summary: "in_bytes in_pkts out_bytes out_pkts".
summary() {
	sed -nE "s/^  uid $1 .* in ([0-9]+) B \\(([0-9]+) pkts\\)  out ([0-9]+) B \\(([0-9]+) pkts\\)\$/\\1 \\2 \\3 \\4/p" "$TMP/unit.err"
}

# check_file FILE: the header first, then rows whose totals start from 0 and equal the
# running sums of this file's own rows. Prints "rows_in bytes_in rows_out bytes_out".
check_file() {
	awk -F, 'NR == 1 { if ($0 != "direction,bytes,src_ip,dst_ip,timestamp,total_in,total_out") { print "bad header: " $0 > "/dev/stderr"; exit 1 } next }
		{ if ($1 == "in") { tin += $2; nin++ } else if ($1 == "out") { tout += $2; nout++ } else { print "bad row " NR > "/dev/stderr"; exit 1 }
		  if ($6 != tin || $7 != tout) { print FILENAME ": row " NR ": totals " $6 "," $7 " != " tin "," tout > "/dev/stderr"; exit 1 } }
		END { print nin + 0, tin + 0, nout + 0, tout + 0 }' "$1"
}

# flows_sum UID FILE...: "in_packets in_bytes out_packets out_bytes" of a uid's flow lines
# in these files (.gz ones uncompressed).
flows_sum() {
	local u=$1
	shift
	"$TM_PY" - "$u" "$@" <<- 'EOF'
	import gzip, json, sys
	uid, n = int(sys.argv[1]), {"in": [0, 0], "out": [0, 0]}
	for f in sys.argv[2:]:
	    for line in (gzip.open if f.endswith(".gz") else open)(f, "rt"):
	        o = json.loads(line)
	        if o.get("uid") == uid:
	            n[o["direction"]][0] += o["packets"]
	            n[o["direction"]][1] += o["bytes"]
	print(*n["in"], *n["out"])
	EOF
}

# complete_words WORD...: COMPREPLY of the installed completion for these words (the last is
# the one being completed), one a line, as bash splits them ("--opt" "=" "value").
complete_words() {
	local comp="$DEST/usr/local/share/bash-completion/completions"
	PATH="$TM_BIN_DIR:$PATH" bash --norc --noprofile -c '
		source "$1/${2##*/}" || exit 1
		shift
		COMP_WORDS=("$@")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		f=$(complete -p "${1##*/}" | sed -E "s/.*-F ([^ ]+) .*/\1/")
		"$f" 2>/dev/null
		printf "%s\n" "${COMPREPLY[@]}"' sh "$comp" "$@"
}

# The options a program's --help lists (its option table, "  -x, --long ARG" lines).
help_opts() {
	"$@" --help | grep -E '^ {2,6}-' | sed -E 's/^ +//; s/  .*//' |
		grep -oE -- '(^|[ ,])--?[a-zA-Z][a-z-]*' | sed -E 's/^[ ,]//' | sort -u
}
help_longopts() { help_opts "$@" | grep -- '^--'; }

# How mdoc spells an option after Fl: "-x" is "x", "--long-name" is "\-long\-name".
mdoc_flag() {
	local o=${1#-}
	printf '%s' "${o//-/\\-}"
}

# --- make install / uninstall ----------------------------------------------------------------

@test "make install DESTDIR= puts exactly the expected files, with their modes, and only copies" {
	cd "$DEST"
	run sh -c "find . ! -type d -printf '%m %y %p%l\n' | sed 's/ l \\(.*\\)\\(tmtop\\)\$/ l \\1 -> \\2/' | sort -k3"
	[ "$status" -eq 0 ]
	diff -u - <(printf '%s\n' "$output") <<- 'EOF'
	644 f ./etc/logrotate.d/tmtop
	755 f ./usr/local/bin/ipmask_tool
	755 f ./usr/local/bin/tmtop
	644 f ./usr/local/lib/systemd/system/tmtop.service
	644 f ./usr/local/lib/sysusers.d/tmtop.conf
	644 f ./usr/local/lib/tmpfiles.d/tmtop.conf
	755 f ./usr/local/sbin/traffic_meter_user
	777 l ./usr/local/share/bash-completion/completions/ipmask_tool -> tmtop
	644 f ./usr/local/share/bash-completion/completions/tmtop
	777 l ./usr/local/share/bash-completion/completions/traffic_meter_user -> tmtop
	644 f ./usr/local/share/man/man1/ipmask_tool.1
	644 f ./usr/local/share/man/man8/tmtop.8
	644 f ./usr/local/share/man/man8/traffic_meter_user.8
	EOF
	# the programs are the ones built, and run from where they landed
	cmp "$DEST/usr/local/bin/tmtop" "$TM_BIN_DIR/tmtop"
	cmp "$DEST/usr/local/sbin/traffic_meter_user" "$TM_BIN_DIR/traffic_meter_user"
	"$DEST/usr/local/bin/ipmask_tool" --version
	"$DEST/usr/local/sbin/traffic_meter_user" --version
	# the unit starts the installed service; the entries are the ones shipped
	grep -qx 'ExecStart=/usr/local/sbin/traffic_meter_user' "$UNIT"
	! grep -q @ "$UNIT"
	cmp "$DEST/usr/local/lib/sysusers.d/tmtop.conf" "$TM_ROOT/dist/tmtop.sysusers"
	cmp "$DEST/usr/local/lib/tmpfiles.d/tmtop.conf" "$TM_ROOT/dist/tmtop.tmpfiles"
	grep -qE '^u tmtop ' "$DEST/usr/local/lib/sysusers.d/tmtop.conf"
	grep -qx 'd /var/log/tmtop 2770 root tmtop -' "$DEST/usr/local/lib/tmpfiles.d/tmtop.conf"
	grep -qx 'd /var/lib/tmtop 0750 tmtop tmtop -' "$DEST/usr/local/lib/tmpfiles.d/tmtop.conf"
	grep -qx 'd /run/tmtop 0755 tmtop tmtop -' "$DEST/usr/local/lib/tmpfiles.d/tmtop.conf"
	# with DESTDIR nothing outside it was touched: no user made, no sysusers run
	! grep -qE '^scripts/sysusers.sh|systemctl' "$BATS_FILE_TMPDIR/install.log"
}

@test "every directory is overridable, and make uninstall DESTDIR= removes exactly what was installed" {
	local d="$TMP/dest2"
	make -C "$TM_ROOT" --no-print-directory install DESTDIR="$d" PREFIX=/usr \
		SBINDIR=/usr/lib/tmtop MANDIR=/usr/share/man SYSCONFDIR=/etc/x > "$TMP/log" 2>&1 ||
		{ cat "$TMP/log"; false; }
	[ -x "$d/usr/bin/tmtop" ]
	[ -x "$d/usr/lib/tmtop/traffic_meter_user" ]
	[ -f "$d/usr/share/man/man8/tmtop.8" ]
	[ -f "$d/etc/x/logrotate.d/tmtop" ]
	[ -f "$d/usr/lib/systemd/system/tmtop.service" ]
	[ -f "$d/usr/lib/sysusers.d/tmtop.conf" ]
	[ -f "$d/usr/share/bash-completion/completions/tmtop" ]
	grep -qx 'ExecStart=/usr/lib/tmtop/traffic_meter_user' "$d/usr/lib/systemd/system/tmtop.service"
	echo keep > "$d/usr/bin/someone-elses"
	make -C "$TM_ROOT" --no-print-directory uninstall DESTDIR="$d" PREFIX=/usr \
		SBINDIR=/usr/lib/tmtop MANDIR=/usr/share/man SYSCONFDIR=/etc/x > "$TMP/log" 2>&1 ||
		{ cat "$TMP/log"; false; }
	run find "$d" ! -type d
	[ "$output" = "$d/usr/bin/someone-elses" ]
}

# The real thing, in a mount namespace whose /etc, /usr/local, /var and /run are overlays: the
# machine's own stay untouched. $1: extra make arguments.
install_for_real() {
	local m
	for m in etc usr/local var run; do
		mkdir -p "$TMP/ov/$m/up" "$TMP/ov/$m/work"
	done
	unshare --mount --propagation private bash -c '
		set -e
		cg=$1 tmp=$2 root=$3
		shift 3
		for m in etc usr/local var run; do
			mount -t overlay overlay \
				-o "lowerdir=/$m,upperdir=$tmp/ov/$m/up,workdir=$tmp/ov/$m/work" "/$m"
		done
		make -C "$root" --no-print-directory install "$@"
		getent passwd tmtop
		getent group tmtop
		stat -c "%U:%G %a %n" /var/log/tmtop /var/lib/tmtop /run/tmtop
		# the service starts right after, drops to tmtop, logs and serves where the unit says
		/usr/local/sbin/traffic_meter_user "$cg" lo 2> "$tmp/svc.err" &
		pid=$!
		for i in $(seq 100); do grep -q watching "$tmp/svc.err" && break; sleep 0.1; done
		grep -E "running as tmtop" "$tmp/svc.err"
		stat -c "%U %a %F %n" /run/tmtop/meter.sock
		kill -TERM $pid
		wait $pid
		make -C "$root" --no-print-directory uninstall "$@"
		ls /usr/local/sbin/traffic_meter_user 2>&1 || true
		getent passwd tmtop
		' sh "$CG" "$TMP" "$TM_ROOT" "$@"
}

@test "make install without DESTDIR creates the user and directories (systemd-sysusers, systemd-tmpfiles)" {
	command -v systemd-sysusers >/dev/null && command -v systemd-tmpfiles >/dev/null ||
		skip "systemd-sysusers or systemd-tmpfiles missing"
	local before
	before=$(cat /etc/passwd /etc/group | md5sum)
	run install_for_real
	echo "$output"
	[ "$status" -eq 0 ]
	grep -q "Creating group 'tmtop'\|Creating group tmtop" <<< "$output"
	grep -qE '^tmtop:x:[0-9]+:[0-9]+:.*:/(usr/)?s?bin/(nologin|false)$' <<< "$output"
	grep -qE '^tmtop:x:[0-9]+:$' <<< "$output"
	grep -qx 'root:tmtop 2770 /var/log/tmtop' <<< "$output"
	grep -qx 'tmtop:tmtop 750 /var/lib/tmtop' <<< "$output"
	grep -qx 'tmtop:tmtop 755 /run/tmtop' <<< "$output"
	grep -q 'running as tmtop' <<< "$output"
	grep -qx 'root 666 socket /run/tmtop/meter.sock' <<< "$output"
	# uninstall removed the programs and left the user (and the logs)
	grep -q 'cannot access.*traffic_meter_user' <<< "$output"
	[ "$(grep -c '^tmtop:x:' <<< "$output")" -eq 3 ]
	# and none of it outside the namespace
	[ "$(cat /etc/passwd /etc/group | md5sum)" = "$before" ]
	[ "$(tm_attached "$CG")" -eq 0 ]
}

@test "make install without systemd-sysusers/tmpfiles falls back to groupadd, useradd, install -d" {
	run install_for_real SYSTEMD_SYSUSERS= SYSTEMD_TMPFILES=
	echo "$output"
	[ "$status" -eq 0 ]
	! grep -q "Creating group" <<< "$output"
	grep -qE '^tmtop:x:[0-9]+:[0-9]+:tmtop traffic meter:/nonexistent:/(usr/)?s?bin/(nologin|false)$' <<< "$output"
	grep -qx 'root:tmtop 2770 /var/log/tmtop' <<< "$output"
	grep -qx 'tmtop:tmtop 750 /var/lib/tmtop' <<< "$output"
	grep -qx 'tmtop:tmtop 755 /run/tmtop' <<< "$output"
	grep -q 'running as tmtop' <<< "$output"
	[ "$(tm_attached "$CG")" -eq 0 ]
}

# --- the unit ----------------------------------------------------------------------------------

@test "systemd-analyze verify passes on the installed unit (its ExecStart under DESTDIR)" {
	command -v systemd-analyze >/dev/null || skip "systemd-analyze missing"
	local exe="$DEST/usr/local/sbin/traffic_meter_user"
	[ -x "$exe" ]
	# systemd 252's verify --root= wants a whole system under the root (sysinit.target,
	# kill): verify the unit as installed, with only its ExecStart pointing into DESTDIR and
	# man finding the Documentation= pages there.
	mkdir "$TMP/v"
	sed "s|^ExecStart=/usr/local/sbin/|ExecStart=$DEST/usr/local/sbin/|" "$UNIT" > "$TMP/v/tmtop.service"
	[ "$(diff "$UNIT" "$TMP/v/tmtop.service" | grep -c '^>')" -eq 1 ]
	run env MANPATH="$DEST/usr/local/share/man:" systemd-analyze verify "$TMP/v/tmtop.service"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]	# unknown keys are only warnings: none allowed
	# the check has teeth: a missing ExecStart or a misspelt key is reported
	sed 's|^ExecStart=.*|ExecStart=/nonexistent/traffic_meter_user|' "$UNIT" > "$TMP/v/tmtop.service"
	run systemd-analyze verify --man=no "$TMP/v/tmtop.service"
	[ "$status" -ne 0 ]
	sed "s|^ExecStart=/usr/local/sbin/|ExecStart=$DEST/usr/local/sbin/|; s/^ProtectSystem=/ProtectSytem=/" \
		"$UNIT" > "$TMP/v/tmtop.service"
	run systemd-analyze verify --man=no "$TMP/v/tmtop.service"
	[[ $output == *"Unknown key"*ProtectSytem* ]]
}

@test "the unit: ExecStart with default options, SIGHUP reload, restart on failure, sandboxed" {
	grep -qx 'ExecStart=/usr/local/sbin/traffic_meter_user' "$UNIT"
	grep -qx 'ExecReload=kill -HUP $MAINPID' "$UNIT"
	grep -qx 'Restart=on-failure' "$UNIT"
	grep -qx 'CapabilityBoundingSet=CAP_BPF CAP_PERFMON CAP_NET_ADMIN CAP_SETUID CAP_SETGID CAP_CHOWN' "$UNIT"
	for d in ProtectSystem=strict ProtectHome=yes PrivateTmp=yes NoNewPrivileges=yes \
		 RuntimeDirectory=tmtop LogsDirectory=tmtop LogsDirectoryMode=2770 \
		 RuntimeDirectoryMode=0755 StateDirectory=tmtop StateDirectoryMode=0750 \
		 ProtectKernelModules=yes ProtectControlGroups=yes \
		 LockPersonality=yes MemoryDenyWriteExecute=yes Group=tmtop; do
		grep -qx "$d" "$UNIT" || { echo "missing $d"; false; }
	done
	grep -qE '^RestrictAddressFamilies=.*AF_UNIX' "$UNIT"
	for f in AF_INET AF_INET6 AF_NETLINK; do
		grep -qE "^RestrictAddressFamilies=.* $f( |\$)" "$UNIT"
	done
	grep -qx 'WantedBy=multi-user.target' "$UNIT"
}

@test "under exactly the unit's sandbox the service starts, drops to tmtop, logs, serves and stops clean" {
	local port st
	start_unit
	grep -q 'running as tmtop' "$TMP/unit.err"
	[ "$(tm_attached "$CG")" -ge 2 ]
	# what the kernel says about the running service: the unit's bounding set, then nothing
	st=$(cat "/proc/$SVC/status")
	grep -qE "^Uid:\s+$TMTOP_UID\s+$TMTOP_UID\s+$TMTOP_UID\s+$TMTOP_UID\$" <<< "$st"
	grep -qE "^Groups:\s+$TMTOP_GID\s*\$" <<< "$st"
	grep -qx 'CapEff:	0000000000000000' <<< "$st"
	grep -qx 'CapPrm:	0000000000000000' <<< "$st"
	grep -qx 'NoNewPrivs:	1' <<< "$st"
	# CAP_CHOWN 0, CAP_SETGID 6, CAP_SETUID 7, CAP_NET_ADMIN 12, CAP_PERFMON 38, CAP_BPF 39
	grep -qx 'CapBnd:	000000c0000010c1' <<< "$st"
	# the directories as the unit and tmpfiles.d say
	[ "$(stat -c '%u:%g %a' "$TMP/unit/log")" = "0:$TMTOP_GID 2770" ]
	[ "$(stat -c '%u:%g %a' "$TMP/unit/run")" = "$TMTOP_UID:$TMTOP_GID 755" ]
	[ "$(stat -c '%a %F' "$TMP/unit/run/meter.sock")" = "666 socket" ]

	port=$(tm_port)
	tm_traffic_bg "$TM_UID_B" udp-recv 4 "$port" 20 "$SYNC/ready"
	tm_wait_file "$SYNC/ready"
	tm_traffic "$TM_UID_A" udp-send 4 127.0.0.1 "$port" 20 100
	wait "$TM_LAST_PID" || true
	tm_wait_grep "$TMP/unit/log/traffic_user_lo_$TM_UID_A.log" '^out,128,' 5
	# root's viewer attached to the sandboxed service sees both users' exact totals
	run "$TOP" -b -n 1 --socket "$TMP/unit/run/meter.sock"
	echo "$output"
	[ "$status" -eq 0 ]
	grep -qE "source=meter:$TMP/unit/run/meter.sock" <<< "$output"
	grep -qE "^[^ ]+ $TM_UID_A [^ ]+ [^ ]+ [0-9]+ $((20 * 128)) " <<< "$output"
	grep -qE "^[^ ]+ $TM_UID_B [^ ]+ [^ ]+ $((20 * 128)) [0-9]+ " <<< "$output"

	stop_unit
	[ "$(tm_attached "$CG")" -eq 0 ]
	[ ! -e "$TMP/unit/run/meter.sock" ]
	[ "$(check_file "$TMP/unit/log/traffic_user_lo_$TM_UID_A.log")" = "0 0 20 $((20 * 128))" ]
	[ "$(check_file "$TMP/unit/log/traffic_user_lo_$TM_UID_B.log")" = "20 $((20 * 128)) 0 0" ]
	[ "$(stat -c '%u:%g %a' "$TMP/unit/log/traffic_user_lo_$TM_UID_A.log")" = "$TMTOP_UID:$TMTOP_GID 640" ]
	[ "$(summary "$TM_UID_A")" = "0 0 $((20 * 128)) 20" ]
	grep -q ', 0 lost' "$TMP/unit.err"
	# the history, the meter user's own
	[ "$(stat -c '%u:%g %a' "$TMP/unit/lib")" = "$TMTOP_UID:$TMTOP_GID 750" ]
	[ "$(stat -c '%u %a' "$TMP/unit/lib/history.db")" = "$TMTOP_UID 600" ]

	# A restart: systemd first makes the state directory and all in it root:tmtop again (its
	# top is not), the meter hands it back and goes on with the same history.
	start_unit
	[ "$(stat -c '%u:%g' "$TMP/unit/lib")" = "$TMTOP_UID:$TMTOP_GID" ]
	[ "$(stat -c '%u' "$TMP/unit/lib/history.db")" = "$TMTOP_UID" ]
	run "$TOP" report --socket "$TMP/unit/run/meter.sock" --hours -u "$TM_UID_A" --json
	echo "$output"
	[ "$status" -eq 0 ]
	grep -q "$((20 * 128))" <<< "$output"
	stop_unit
	[ "$(tm_attached "$CG")" -eq 0 ]
}

@test "the unit grants nothing start-up can do without: each capability taken away fails it" {
	local caps c rest
	caps=$(sed -nE 's/^CapabilityBoundingSet=//p' "$UNIT")
	for c in $caps; do
		rest=$(tr ' ' '\n' <<< "$caps" | grep -vx "$c" | tr '\n' ' ')
		sed "s/^CapabilityBoundingSet=.*/CapabilityBoundingSet=$rest/" "$UNIT" > "$TMP/less.service"
		rm -rf "$TMP/unit"
		tmtop_user
		mkdir -p "$TMP/unit"
		run timeout 20 "$TM_ROOT/tests/unit-sandbox.sh" "$TMP/less.service" "$TMP/unit" "$FAKE_ETC" \
			-- "$BIN" "$CG" lo
		echo "without $c: $status: $output"
		[ "$status" -eq 1 ]
		[ "$(grep -c '^traffic_meter_user: ' <<< "$output")" -eq 1 ]
		[ "$(tm_attached "$CG")" -eq 0 ]
	done
}

# --- man pages ---------------------------------------------------------------------------------

@test "every man page is lint-clean (mandoc -Tlint: no warning) and renders" {
	command -v mandoc >/dev/null || skip "mandoc missing (apt-get install mandoc)"
	local p
	for p in man1/ipmask_tool.1 man8/tmtop.8 man8/traffic_meter_user.8; do
		run mandoc -Tlint -Wwarning "$DEST/usr/local/share/man/$p"
		echo "$p: $output"
		[ "$status" -eq 0 ]
		[ -z "$output" ]
		mandoc -Tascii "$DEST/usr/local/share/man/$p" | sed 's/.\x08//g' | grep -qx 'SYNOPSIS'
	done
}

@test "the man pages name every option of every program and subcommand, and the sections promised" {
	local m="$DEST/usr/local/share/man" o p page missing=
	for p in "$TOP:man8/tmtop.8" "$BIN:man8/traffic_meter_user.8" \
		 "$TM_BIN_DIR/ipmask_tool:man1/ipmask_tool.1"; do
		page=$m/${p#*:}
		for o in $(help_opts "${p%%:*}"); do
			grep -qF -- "Fl $(mdoc_flag "$o")" "$page" || missing+=" ${page##*/}:$o"
		done
	done
	# the subcommands' options, in their own subsections (their --help has a usage, no table)
	for o in -f --follow -u --socket -h --help; do
		sed -n '/^\.Ss tmtop log/,/^\.S[sh]/p' "$m/man8/tmtop.8" | grep -qF -- "Fl $(mdoc_flag "$o")" ||
			missing+=" tmtop-log:$o"
	done
	for o in $("$TOP" report --help | sed '/^[^ U]/,$d' | grep -oE -- '(^|[[| ])--?[a-z0-9][a-z0-9-]*' |
		   sed -E 's/^[[| ]//' | sort -u) -h --help; do
		sed -n '/^\.Ss tmtop report/,/^\.S[sh]/p' "$m/man8/tmtop.8" | grep -qF -- "Fl $(mdoc_flag "$o")" ||
			missing+=" tmtop-report:$o"
	done
	# every key tmtop --help lists (its first column; names like "Arrows" aside)
	local keys k
	keys=$(sed -n '/^\.Sh KEYS/,/^\.Sh /p' "$m/man8/tmtop.8" | sed -n 's/^\.It //p' |
	       sed 's/\\&//g; s/\\e/\\/g' | sed 's/, / /g')
	for k in $("$TOP" --help | sed -n '/^Keys:/,$p' | sed -n 's/^  \([^ ].*\)/\1/p' |
		   sed -E 's/   +.*//'); do
		[[ ${#k} -le 1 || $k == F[0-9]* || $k == Ctrl-* || $k == Enter || $k == Esc ]] || continue
		grep -qwF -- "$k" <<< "$keys" || [[ " $keys " == *" $k "* ]] || missing+=" key:$k"
	done
	[ -z "$missing" ] || { echo "not in the man page:$missing"; false; }
	for s in KEYS 'LOG FILES' 'WHO OWNS A PACKET' FILES SIGNALS 'EXIT STATUS' OVERHEAD \
		 SECURITY EXAMPLES 'SEE ALSO'; do
		grep -qx ".Sh $s" "$m/man8/tmtop.8" || { echo "tmtop.8 lacks $s"; false; }
	done
	for s in 'THE SOCKET' SIGNALS 'DIRECTORIES AND PERMISSIONS' 'EXIT STATUS' OVERHEAD; do
		grep -qx ".Sh $s" "$m/man8/traffic_meter_user.8" || { echo "traffic_meter_user.8 lacks $s"; false; }
	done
	grep -q 'extended' "$m/man8/tmtop.8"
	grep -q 'proc,sport,dport,pid,comm,cgroup\|proto,sport,dport,pid,comm,cgroup' "$m/man8/tmtop.8"
	grep -q 'PROTOCOL.md' "$m/man8/traffic_meter_user.8"
}

# --- bash completion ---------------------------------------------------------------------------

@test "bash completion: options, their arguments, and the positional cgroup and nic_id" {
	run complete_words tmtop --so
	[ "$output" = "$(printf '%s\n' --sort --socket)" ]
	# sort keys, straight from tmtop's own --help
	run complete_words tmtop -s ''
	[ "$output" = "$(printf '%s\n' user uid rate in out totin totout quota)" ]
	run complete_words tmtop --sort = to
	[ "$output" = "$(printf '%s\n' totin totout)" ]
	run complete_words traffic_meter_user --ignore-mode ''
	[ "$output" = "$(printf '%s\n' peer both any)" ]
	run complete_words traffic_meter_user --output = ''
	[ "$output" = "$(printf '%s\n' csv flows)" ]
	run complete_words traffic_meter_user -o csv,
	[ "$output" = csv,flows ]
	run complete_words traffic_meter_user --log-format ''
	[ "$output" = "$(printf '%s\n' standard extended)" ]
	run complete_words tmtop -i l
	[ "$output" = lo ]
	run complete_words traffic_meter_user --iface ''
	grep -qx lo <<< "$output"
	run complete_words tmtop -u roo
	[ "$output" = root ]
	run complete_words tmtop log --fo
	[ "$output" = --follow ]
	# tmtop report's options come from its usage lines
	run complete_words tmtop report --mo
	[ "$output" = --months ]
	run complete_words tmtop report --history-db "$TMP/n"
	[ -z "$output" ]
	run complete_words tmtop report -u roo
	[ "$output" = root ]
	run complete_words tmtop ''
	grep -qx log <<< "$output"
	grep -qx "$(tm_cg2_mount)/" <<< "$output"
	# files for --ignore-file, directories for -d/--log-dir, cgroup directories as cgroup_path
	mkdir "$TMP/adir" && touch "$TMP/afile"
	run complete_words traffic_meter_user --ignore-file "$TMP/a"
	[ "$output" = "$(printf '%s\n' "$TMP/adir" "$TMP/afile")" ]
	run complete_words traffic_meter_user -d "$TMP/a"
	[ "$output" = "$TMP/adir" ]
	run complete_words traffic_meter_user --log-dir = "$TMP/a"
	[ "$output" = "$TMP/adir" ]
	run complete_words traffic_meter_user -i /dev/null "${CG%-*}"
	grep -qx "$CG" <<< "$output"
	# nic_id, after the cgroup: interface names
	run complete_words traffic_meter_user -d /tmp "$CG" l
	[ "$output" = lo ]
	run complete_words ipmask_tool --v
	[ "$output" = --version ]
	# every long option of each program's --help is offered
	local p o
	for p in tmtop traffic_meter_user ipmask_tool; do
		run complete_words "$p" --
		for o in $(help_longopts "$TM_BIN_DIR/$p"); do
			grep -qx -- "$o" <<< "$output" || { echo "$p: $o not offered"; false; }
		done
	done
}

@test "bash completion is found by command name: the files for all three define their function" {
	local comp="$DEST/usr/local/share/bash-completion/completions" p
	for p in tmtop traffic_meter_user ipmask_tool; do
		bash --norc --noprofile -c 'source "$1/$2" && complete -p "$2"' sh "$comp" "$p" |
			grep -qE -- "-F _[a-z_]+ $p\$"
	done
}

# --- logrotate ---------------------------------------------------------------------------------

@test "logrotate -f with the shipped configuration against a running service loses no row" {
	command -v logrotate >/dev/null || skip "logrotate missing (apt-get install logrotate)"
	local conf="$DEST/etc/logrotate.d/tmtop" pa pb ra rb sa sb i n u f got want part files
	# The shipped configuration with the test's log dir, and the test's service for the
	# systemctl in postrotate; every other directive (su, nocreate, delaycompress ...) as is.
	# The service writes the flow records too, a line per flow every second.
	start_unit -o csv,flows --flow-interval 1
	sed -e "s|/var/log/tmtop/|$TMP/unit/log/|g" \
	    -e "s|^\\(\\s*\\)if \\[ -d /run/systemd/system \\].*|\\1kill -HUP $SVC|" "$conf" > "$TMP/rotate.conf"
	[ "$(diff "$conf" "$TMP/rotate.conf" | grep -c '^>')" -eq 2 ]
	grep -qE '^\s+su tmtop tmtop$' "$TMP/rotate.conf"
	grep -qE '^\s+nocreate$' "$TMP/rotate.conf"

	# two users, each sending 1500 datagrams to the other over loopback, 1 ms apart
	pa=$(tm_port) pb=$((pa + 1))
	tm_traffic_bg "$TM_UID_B" udp-recv 4 "$pa" 2500 "$SYNC/ready.b"
	rb=$TM_LAST_PID
	tm_traffic_bg "$TM_UID_A" udp-recv 6 "$pb" 2500 "$SYNC/ready.a"
	ra=$TM_LAST_PID
	tm_wait_file "$SYNC/ready.a"
	tm_wait_file "$SYNC/ready.b"
	tm_traffic_bg "$TM_UID_A" udp-send 4 127.0.0.1 "$pa" 2500 60
	sa=$TM_LAST_PID
	tm_traffic_bg "$TM_UID_B" udp-send 6 ::1 "$pb" 2500 90
	sb=$TM_LAST_PID
	# rotate twice while they send: each time the live files already have rows (and, the
	# second time, the flow file its first lines)
	for i in 1 2; do
		tm_wait_grep "$TMP/unit/log/traffic_user_lo_$TM_UID_A.log" '^(in|out),' 10
		tm_wait_grep "$TMP/unit/log/traffic_user_lo_$TM_UID_B.log" '^(in|out),' 10
		[ "$i" -eq 1 ] || tm_wait_grep "$TMP/unit/log/flows_lo.jsonl" '"packets"' 10
		as_tmtop_ns logrotate -f -s "$TMP/rotate.state" "$TMP/rotate.conf"
		[ -f "$TMP/unit/log/traffic_user_lo_$TM_UID_A.log.1" ]
	done
	[ -f "$TMP/unit/log/flows_lo.jsonl.1" ]
	wait "$sa" "$sb" "$ra" "$rb"
	stop_unit
	[ "$(tm_attached "$CG")" -eq 0 ]

	for u in "$TM_UID_A" "$TM_UID_B"; do
		f="$TMP/unit/log/traffic_user_lo_$u.log"
		# the second rotation compressed the first one's file (delaycompress)
		[ -f "$f.2.gz" ] && [ -f "$f.1" ] && [ -f "$f" ]
		gzip -dc "$f.2.gz" > "$TMP/rot2"
		got=(0 0 0 0)
		for files in "$TMP/rot2" "$f.1" "$f"; do
			n=$(check_file "$files")
			read -r -a part <<< "$n"
			[ "${part[0]}" -gt 0 ] || [ "${part[2]}" -gt 0 ]	# rows on every side of a rotation
			for i in 0 1 2 3; do got[i]=$((got[i] + part[i])); done
		done
		# the kernel's count: in bytes, in packets, out bytes, out packets
		read -r -a want <<< "$(summary "$u")"
		echo "uid $u rows: ${got[*]} kernel: ${want[*]}"
		[ "${got[0]}" -eq "${want[1]}" ] && [ "${got[1]}" -eq "${want[0]}" ]
		[ "${got[2]}" -eq "${want[3]}" ] && [ "${got[3]}" -eq "${want[2]}" ]
		[ "${want[1]}" -eq 2500 ] && [ "${want[3]}" -eq 2500 ]
		# the flow records of every file, rotated or not, add up to the same packets and bytes
		got=$(flows_sum "$u" "$TMP/unit/log/flows_lo.jsonl"*)
		[ "$got" = "${want[1]} ${want[0]} ${want[3]} ${want[2]}" ] ||
			{ echo "flows of $u: $got"; false; }
	done
	grep -q ', 0 lost' "$TMP/unit.err"
	! grep -q 'write errors' "$TMP/unit.err"
}

@test "logrotate refuses the log directory without the su directive (why the shipped one has it)" {
	command -v logrotate >/dev/null || skip "logrotate missing"
	tmtop_user
	mkdir -m 2770 "$TMP/log"
	chgrp "$TMTOP_GID" "$TMP/log"
	echo x > "$TMP/log/traffic_user_lo_1.log"
	sed -e "s|^/var/log/tmtop/|$TMP/log/|" -e '/^\s*su /d' "$DEST/etc/logrotate.d/tmtop" > "$TMP/nosu.conf"
	run logrotate -f -s "$TMP/state" "$TMP/nosu.conf"
	[[ $output == *"insecure permissions"* ]]
	[ ! -e "$TMP/log/traffic_user_lo_1.log.1" ]
}
