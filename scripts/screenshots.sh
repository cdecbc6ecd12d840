#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make screenshots: runs tmtop against real loopback traffic from three demo users in a real
# terminal (xterm under Xvfb, driven through tmux) and saves PNGs of the main view, the peers
# view, the ignore panel and the help screen into screenshots/. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=screenshots
DISPLAY_NUM=:97
USERS=(alice bob carol)
PY=/usr/bin/python3
mnt=$(awk '{ for (i = 1; i <= NF; i++) if ($i == "-") { if ($(i+1) == "cgroup2") { print $5; exit } break } }' /proc/self/mountinfo)
CG="$mnt/tmtop-shots-$$"
TMP=$(mktemp -d /tmp/tmtop-shots.XXXXXX)
SOCK="tmtop-shots-$$"
pids=()
created=()

cleanup() {
	set +e
	tmux -L "$SOCK" kill-server 2>/dev/null
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	sleep 0.5
	for p in $(cat "$CG/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
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

# as USER CMD...: run in the demo cgroup as USER, in the background.
as() {
	local u=$1
	shift
	sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' sh "$CG" \
		setpriv --reuid="$(id -u "$u")" --regid="$(id -g "$u")" --clear-groups "$@" \
		>/dev/null 2>&1 &
	pids+=($!)
}

# Traffic for 60 s at most, loopback only: a steady TCP stream, UDP to several peers.
as bob iperf3 -s -p 5201 -1
as bob iperf3 -s -p 5202 -1
sleep 0.5
as alice iperf3 -c 127.0.0.1 -p 5201 -t 60 -b 40M
as carol iperf3 -c ::1 -p 5202 -t 60 -b 12M -R
for peer in 127.0.0.1 127.0.0.53 127.1.2.3 127.10.0.7; do
	as alice "$PY" -c "
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
end = time.monotonic() + 60
while time.monotonic() < end:
    s.sendto(b'q' * 300, ('$peer', 9999)); time.sleep(0.002)"
done
as carol "$PY" -c "
import socket, time
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
end = time.monotonic() + 60
while time.monotonic() < end:
    s.sendto(b'r' * 900, ('::1', 9998)); time.sleep(0.004)"

Xvfb "$DISPLAY_NUM" -screen 0 1400x900x24 -nolisten tcp >/dev/null 2>&1 &
pids+=($!)
sleep 1
export DISPLAY=$DISPLAY_NUM
tmux -L "$SOCK" -f /dev/null new-session -d -s shots -x 110 -y 30 \
	"./tmtop -d $TMP -i bpf/ip_list.txt $CG lo"
tmux -L "$SOCK" set -g status off
xterm -geometry 110x30+0+0 -fa 'DejaVu Sans Mono' -fs 11 -bg black -fg grey90 \
	-title tmtop -e tmux -L "$SOCK" attach -t shots &
pids+=($!)
sleep 5

shot() {	# NAME: the xterm window as screenshots/NAME.png
	local id
	id=$(xwininfo -root -tree | awk '/"tmtop"/ { print $1; exit }')
	import -window "$id" "$OUT/$1.png"
	echo "screenshots: $OUT/$1.png"
}
keys() { tmux -L "$SOCK" send-keys -t shots "$@"; sleep 1.5; }

mkdir -p "$OUT"
shot main
keys Enter
shot peers
keys Escape
keys x
shot ignore
keys Escape
keys F1
shot help
keys q
keys q
