#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Run a command the way systemd would run the ExecStart of a tmtop.service unit, as far as that
# can be reproduced without systemd as PID 1, in a mount namespace of its own (nothing outside
# it changes):
#   unit-sandbox.sh UNIT STATE_DIR [FAKE_ETC] -- COMMAND [ARGS...]
# - The unit's directories: STATE_DIR/log at /var/log/tmtop (LogsDirectory=), STATE_DIR/run at
#   /run/tmtop (RuntimeDirectory=), STATE_DIR/lib at /var/lib/tmtop (StateDirectory=), set up
#   as systemd does at every start (their modes; root and the unit's Group= as owners, the
#   whole tree re-owned when the top is not so; the runtime one new); each is writable, nothing
#   else is.
# - ProtectSystem=strict (every other mount read-only), ProtectHome=yes, PrivateTmp=yes,
#   PrivateDevices=yes (a /dev of null, zero, full, random, urandom, tty), ProtectControlGroups=
#   and ProtectKernelTunables= (/sys and the cgroup tree read-only), ProtectKernelModules=
#   (no /lib/modules), ProtectProc=invisible and ProcSubset=pid (a new /proc mounted so).
# - Group=, CapabilityBoundingSet= and NoNewPrivileges= through setpriv: root, the unit's group,
#   no supplementary groups, exactly the unit's bounding set.
# FAKE_ETC, when not empty, holds passwd and group files bind-mounted over /etc's (a user
# tmtop on a machine without one). The unit must have every directive reproduced here, or
# this refuses: a test cannot pass on a sandbox weaker than the one it names. Not reproduced
# (seccomp and namespace flags): RestrictAddressFamilies=, RestrictNamespaces=,
# RestrictRealtime=, LockPersonality=, MemoryDenyWriteExecute=, SystemCallArchitectures=,
# ProtectClock=, ProtectHostname=, ProtectKernelLogs='s syslog filter.
set -euo pipefail

unit=$1 state=$2 fake=${3:-}
shift 3
[ "${1:-}" = -- ] && shift
[ $# -gt 0 ] || { echo "usage: $0 UNIT STATE_DIR [FAKE_ETC] -- COMMAND..." >&2; exit 2; }

val() { sed -nE "s/^$1=(.*)$/\\1/p" "$unit" | tail -n1; }

for want in ProtectSystem=strict ProtectHome=yes PrivateTmp=yes PrivateDevices=yes \
	    ProtectControlGroups=yes ProtectKernelTunables=yes ProtectKernelModules=yes \
	    ProtectProc=invisible ProcSubset=pid NoNewPrivileges=yes LogsDirectory=tmtop \
	    RuntimeDirectory=tmtop StateDirectory=tmtop; do
	grep -qx "$want" "$unit" || { echo "$0: $unit lacks $want" >&2; exit 1; }
done
group=$(val Group)
caps=$(val CapabilityBoundingSet)
[ -n "$group" ] && [ -n "$caps" ] || { echo "$0: $unit lacks Group= or CapabilityBoundingSet=" >&2; exit 1; }
bset=-all
for c in $caps; do
	bset+=",+$(tr 'A-Z' 'a-z' <<< "${c#CAP_}")"
done

# Everything below happens in the new namespace.
inner() {
	local m mp gid d parent src name exe
	if [ -n "$fake" ]; then
		mount --bind "$fake/passwd" /etc/passwd
		mount --bind "$fake/group" /etc/group
	fi
	gid=$(getent group "$group" | cut -d: -f3)
	# What systemd does before starting the unit (setup_exec_directory): make the directory
	# with its mode, set the mode, and when the top is not already the unit's (root, Group=)
	# own everything in it to them. The runtime directory is new at every start.
	rm -rf "$state/run"
	for m in log:LogsDirectoryMode run:RuntimeDirectoryMode lib:StateDirectoryMode; do
		d=$state/${m%%:*}
		mkdir -p "$d"
		chmod "$(val "${m#*:}")" "$d"
		[ "$(stat -c %u:%g "$d")" = "0:$gid" ] || chown -R "0:$gid" "$d"
	done

	# ProtectSystem=strict: every mount read-only (per mount: "bind" keeps the file system
	# itself, and every other namespace, untouched).
	while read -r mp; do
		mp=$(printf '%b' "$mp")
		mount -o remount,bind,ro "$mp" 2>/dev/null || true
	done < <(awk '{ print $5 }' /proc/self/mountinfo | sort -u)

	# The unit's directories, each over a read-only tmpfs that hides the rest of its parent.
	# The command's executable is bound read-only at /run/tmtop-exec/: the installed unit runs
	# it from $(PREFIX)/sbin, which stays visible, while a source tree under /tmp, /home or
	# /root, where a test may run it from, is hidden below.
	exe=$(command -v "$1")
	for m in /var/log:log:tmtop /run:run:tmtop /var/lib:lib:tmtop; do
		IFS=: read -r parent src name <<< "$m"
		mount -t tmpfs -o mode=0755 tmpfs "$parent"
		mkdir "$parent/$name"
		mount --bind "$state/$src" "$parent/$name"
		mount -o remount,bind,rw "$parent/$name"
		if [ "$parent" = /run ]; then
			mkdir /run/tmtop-exec
			touch "/run/tmtop-exec/${exe##*/}"
			mount --bind "$exe" "/run/tmtop-exec/${exe##*/}"
			mount -o remount,bind,ro "/run/tmtop-exec/${exe##*/}"
		fi
		mount -o remount,bind,ro "$parent"
	done
	shift
	set -- "/run/tmtop-exec/${exe##*/}" "$@"

	mount -t tmpfs -o mode=1777 tmpfs /tmp			# PrivateTmp=
	mount -t tmpfs -o mode=1777 tmpfs /var/tmp
	for m in /home /root /lib/modules /usr/lib/modules; do	# ProtectHome=, ProtectKernelModules=
		[ -d "$m" ] && ! [ -L "$m" ] && mount -t tmpfs -o ro,mode=000 tmpfs "$m"
	done

	mount -t tmpfs -o mode=0755,nosuid tmpfs /dev		# PrivateDevices=
	mknod -m 666 /dev/null c 1 3
	mknod -m 666 /dev/zero c 1 5
	mknod -m 666 /dev/full c 1 7
	mknod -m 666 /dev/random c 1 8
	mknod -m 666 /dev/urandom c 1 9
	mknod -m 666 /dev/tty c 5 0
	ln -s /proc/self/fd /dev/fd
	ln -s /proc/self/fd/0 /dev/stdin
	ln -s /proc/self/fd/1 /dev/stdout
	ln -s /proc/self/fd/2 /dev/stderr
	mount -o remount,ro /dev

	# ProtectProc=invisible, ProcSubset=pid (which also hides /proc/sys: ProtectKernelTunables)
	mount -t proc -o hidepid=invisible,subset=pid,nosuid,nodev,noexec proc /proc

	exec setpriv --bounding-set="$bset" --inh-caps=-all --regid="$group" --clear-groups \
		--no-new-privs -- "$@"
}

export -f inner val
export unit state fake group bset
exec unshare --mount --propagation private bash -c 'set -euo pipefail; inner "$@"' unit-sandbox "$@"
