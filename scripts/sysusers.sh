#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Create what the meter needs on this machine, from the project's sysusers.d and tmpfiles.d
# entries: the system user and group tmtop (the meter drops to it once its programs are
# attached; the group is the trusted viewers) and the directories /var/log/tmtop,
# /var/lib/tmtop and /run/tmtop with their owners and modes.
#   scripts/sysusers.sh SYSUSERS_FILE TMPFILES_FILE
# make install runs it on the installed files, make run on dist/. systemd-sysusers and
# systemd-tmpfiles apply them where they exist ($SYSTEMD_SYSUSERS and $SYSTEMD_TMPFILES name
# them; empty means absent); otherwise groupadd/useradd and install -d read the same files.
# Idempotent: what exists is kept (and a directory's owner and mode are corrected).
set -euo pipefail

[ $# -eq 2 ] || { echo "usage: $0 SYSUSERS_FILE TMPFILES_FILE" >&2; exit 2; }
sysusers=$1 tmpfiles=$2
[ "$(id -u)" -eq 0 ] || { echo "$0: creating system users needs root" >&2; exit 1; }

SYSTEMD_SYSUSERS=${SYSTEMD_SYSUSERS-$(command -v systemd-sysusers || true)}
SYSTEMD_TMPFILES=${SYSTEMD_TMPFILES-$(command -v systemd-tmpfiles || true)}

nologin() {
	local s
	for s in /usr/sbin/nologin /sbin/nologin /usr/bin/false /bin/false; do
		[ -x "$s" ] && { echo "$s"; return; }
	done
	echo /bin/false
}

# Only the forms our files use: "u NAME - "GECOS" HOME" (a user with a group of its name),
# "g NAME -".
users_by_hand() {
	local line type name
	while IFS= read -r line; do
		case $line in '' | '#'*) continue ;; esac
		eval "set -- $line"	# our own file: GECOS is a quoted word
		type=$1 name=$2
		case $type in
		g | u) ;;
		*)
			echo "$0: $sysusers: unsupported line '$line'" >&2
			exit 1
			;;
		esac
		getent group "$name" >/dev/null || groupadd --system "$name"
		[ "$type" = u ] || continue
		getent passwd "$name" >/dev/null ||
			useradd --system --gid "$name" --no-create-home \
				--home-dir "${5:-/nonexistent}" --shell "$(nologin)" \
				--comment "${4:-$name}" "$name"
	done < "$sysusers"
}

# Only "d PATH MODE USER GROUP -".
dirs_by_hand() {
	local type path mode user group rest
	while read -r type path mode user group rest; do
		case $type in '' | '#'*) continue ;; esac
		[ "$type" = d ] || { echo "$0: $tmpfiles: unsupported type '$type'" >&2; exit 1; }
		install -d -o "$user" -g "$group" -m "$mode" "$path"
		# install -d leaves an existing directory's owner and mode alone; tmpfiles does not
		chown "$user:$group" "$path"
		chmod "$mode" "$path"
	done < "$tmpfiles"
}

if [ -n "$SYSTEMD_SYSUSERS" ]; then
	"$SYSTEMD_SYSUSERS" "$(realpath "$sysusers")"
else
	users_by_hand
fi
if [ -n "$SYSTEMD_TMPFILES" ]; then
	"$SYSTEMD_TMPFILES" --create "$(realpath "$tmpfiles")"
else
	dirs_by_hand
fi
