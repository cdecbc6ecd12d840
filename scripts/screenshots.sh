#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make screenshots: runs a standalone tmtop against real loopback traffic from three demo users
# in a real terminal (xterm under Xvfb, driven through tmux) and saves PNGs into screenshots/:
# the main view (120 columns, so the LAST MINUTE graph shows), a user's peers, a user's
# processes, one process's connections, every process, a user's history, the ignore list and
# the help screen. Needs root. Everything it makes is its own and goes at exit: the demo users
# it had to create, its cgroup, its processes, its temporary directory; tmtop detaches on q.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=screenshots
COLS=120
LINES_=32
USERS=(alice bob carol)
PY=/usr/bin/python3	# readable by the demo users, unlike a pyenv python
export LANG=C.UTF-8	# the graphs are Unicode blocks; tmtop draws ASCII outside UTF-8
mnt=$(awk '{ for (i = 1; i <= NF; i++) if ($i == "-") { if ($(i+1) == "cgroup2") { print $5; exit } break } }' /proc/self/mountinfo)
CG="$mnt/tmtop-shots-$$"
TMP=$(mktemp -d /tmp/tmtop-shots.XXXXXX)
chmod 755 "$TMP"	# the demo users run demo.py from here
SOCK="tmtop-shots-$$"
pids=()
created=()

# A display nobody uses.
for DISPLAY_NUM in $(seq 97 120); do
	[ -e "/tmp/.X$DISPLAY_NUM-lock" ] || [ -e "/tmp/.X11-unix/X$DISPLAY_NUM" ] || break
done
DISPLAY_NUM=":$DISPLAY_NUM"

cleanup() {
	set +e
	tmux -L "$SOCK" kill-server 2>/dev/null
	rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$SOCK"	# tmux 3.3 leaves it
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	sleep 0.5
	for p in $(cat "$CG/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	if [ -d "$CG" ]; then
		n=$(bpftool cgroup show "$CG" 2>/dev/null | grep -cE 'ingress|egress|sock_')
		[ "$n" -eq 0 ] || echo "screenshots: $n programs still attached to $CG" >&2
	fi
	for i in $(seq 50); do rmdir "$CG" 2>/dev/null && break; sleep 0.1; done
	for u in "${created[@]}"; do userdel "$u" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT

for u in "${USERS[@]}"; do
	if ! id "$u" >/dev/null 2>&1; then
		useradd --system --no-create-home --shell /usr/sbin/nologin "$u"
		created+=("$u")
	fi
done
mkdir "$CG"
mkdir -m 1777 "$TMP/sync"
mkdir -m 0755 "$TMP/logs"
# An ignore list to show in the panel; nothing in it touches loopback.
printf '10.0.0.0/8\n192.168.1.*\n2001:db8::/32\n' > "$TMP/ignore.txt"

# as USER CMD...: run in the demo cgroup as USER, in the background.
as() {
	local u=$1
	shift
	sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' sh "$CG" \
		setpriv --reuid="$(id -u "$u")" --regid="$(id -g "$u")" --clear-groups "$@" \
		>/dev/null 2>&1 &
	pids+=($!)
}

# Demo traffic, loopback only, three minutes at most. Rates swell and ebb (something for the
# LAST MINUTE graph to show): demo.py MODE SECONDS ... with MODE one of
#   udp FAMILY ADDR PORT SIZE PERIOD WAVE        paced datagrams to one peer
#   tcp-serve FAMILY PORT SIZE PERIOD WAVE       accept one client; send to it paced, read it
#   tcp-send FAMILY ADDR PORT SIZE PERIOD WAVE   connect; send paced, read what comes back
# SIZE bytes every PERIOD seconds on average, the rate swinging by 90 % every WAVE seconds.
cat > "$TMP/demo.py" <<'EOF_PY'
import math, socket, sys, time
mode, secs = sys.argv[1], min(float(sys.argv[2]), 180)
t0 = time.monotonic()
end = t0 + secs
def fam(f):
    return socket.AF_INET6 if f == "6" else socket.AF_INET
def loopback(a):
    assert a.startswith(("127.", "::1")), a
def pause(period, wave):
    time.sleep(period / (1 + 0.9 * math.sin(2 * math.pi * (time.monotonic() - t0) / wave)))
if mode == "udp":
    f, a, port, size, period, wave = sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]), float(sys.argv[7]), float(sys.argv[8])
    loopback(a)
    s = socket.socket(fam(f), socket.SOCK_DGRAM)
    while time.monotonic() < end:
        s.sendto(b"u" * size, (a, port))
        pause(period, wave)
else:
    if mode == "tcp-serve":
        f, port, size, period, wave = sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6]), float(sys.argv[7])
        l = socket.socket(fam(f), socket.SOCK_STREAM)
        l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        l.bind(("::1" if f == "6" else "127.0.0.1", port))
        l.listen(1)
        l.settimeout(secs)
        s, _ = l.accept()
    else:
        f, a, port, size, period, wave = sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]), float(sys.argv[7]), float(sys.argv[8])
        loopback(a)
        s = socket.create_connection((a, port), timeout=10)
    s.setblocking(False)
    while time.monotonic() < end:
        try:
            if size:
                s.send(b"t" * size)
            while s.recv(65536):
                pass
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            break
        pause(period, wave)
EOF_PY
chmod 644 "$TMP/demo.py"
demo() { local u=$1; shift; as "$u" "$PY" "$TMP/demo.py" "$@"; }

demo bob tcp-serve 150 4 5201 0 0.02 150
demo bob tcp-serve 150 6 5202 16000 0.01 29
sleep 0.5
demo alice tcp-send 150 4 127.0.0.1 5201 40000 0.02 41
demo carol tcp-send 150 6 ::1 5202 0 0.02 29
for peer in 127.0.0.1 127.0.0.53 127.1.2.3 127.10.0.7; do
	demo alice udp 150 4 "$peer" 9999 300 0.004 37
done
demo carol udp 150 6 ::1 9998 900 0.004 23
demo bob udp 150 4 127.0.0.1 9997 1200 0.01 53

Xvfb "$DISPLAY_NUM" -screen 0 1400x1000x24 -nolisten tcp >/dev/null 2>&1 &
pids+=($!)
sleep 1
export DISPLAY=$DISPLAY_NUM
tmux -L "$SOCK" -f /dev/null new-session -d -s shots -x "$COLS" -y "$LINES_" \
	"./tmtop --standalone --user root --log-dir $TMP/logs --history-db $TMP/history.db \
	 --history-interval 1 --ignore-file $TMP/ignore.txt $CG lo"
tmux -L "$SOCK" set -g status off
term() {	# LINES: an xterm of COLS x LINES on the tmux session; XTERM is its pid
	tmux -L "$SOCK" resize-window -t shots -x "$COLS" -y "$1"
	xterm -u8 -geometry "${COLS}x$1+0+0" -fa 'DejaVu Sans Mono' -fs 11 -bg black \
		-fg grey90 -title tmtop -e tmux -u -L "$SOCK" attach -t shots &
	XTERM=$!
	pids+=($XTERM)
}
term "$LINES_"
# Most of a minute, so that the LAST MINUTE graph has filled.
sleep 50

shot() {	# NAME: the xterm window as screenshots/NAME.png
	local id
	id=$(xwininfo -root -tree | awk '/"tmtop"/ { print $1; exit }')
	import -window "$id" "$OUT/$1.png"
	echo "screenshots: $OUT/$1.png"
}
keys() { tmux -L "$SOCK" send-keys -t shots "$@"; sleep 1.5; }

mkdir -p "$OUT"
shot main
# alice, whoever is on top: filter to her, and the selection stays on her once cleared
keys / a l i c e Enter
keys / Escape
keys Enter
shot peers
keys Escape
keys p
shot processes
keys Enter
shot connections
keys Escape
keys Escape
keys P
shot processes-all
keys P
keys H
sleep 1
shot history
keys Escape
keys x
keys Down Space
shot ignore
keys Escape
# Help lists the current view's columns under the keys: that takes a taller terminal.
kill "$XTERM"
term 46
sleep 2
keys F1
shot help
keys q
keys q
