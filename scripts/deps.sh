#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Install what building and testing tmtop needs, with the distribution's package manager
# (apt, dnf or zypper, as the seed names them). A no-op when everything is present.
# TMTOP_DEPS=build limits it to the build; the default also installs test and bench tools.
set -euo pipefail

want=${TMTOP_DEPS:-all}

apt_build=(make gcc clang pkg-config libbpf-dev libelf-dev zlib1g-dev libncurses-dev uthash-dev libjson-c-dev libsqlite3-dev
	   libmicrohttpd-dev)
apt_tools=(bpftool)
# libclang-rt-dev: the default clang's sanitizer and libFuzzer runtimes (libclang-rt-14-dev on
# Debian 12), for make fuzz, the fuzz suite and the sanitized pass (built by clang) of make
# test. mandoc, logrotate and systemd
# (systemd-analyze, -sysusers, -tmpfiles; it need not run) for what install.bats checks.
# prometheus: the metrics suite scrapes the meter with the real server and lints with promtool;
# acl: it gives the meter's user a textfile directory with setfacl, as doc/FLEET.md says; curl
# scrapes. history.bats: faketime (libfaketime, a month boundary), sqlite3 (the database as a
# user would open it), python3-jsonschema (the report JSON against its schema). git and
# clang-format: format.bats runs make format (git clang-format) on a clone.
apt_test=(libcmocka-dev bats tmux iproute2 procps util-linux python3 iperf3 psmisc jq git clang-format
	  libclang-rt-dev mandoc logrotate systemd prometheus acl curl faketime sqlite3
	  python3-jsonschema)
apt_bench=(nethogs iftop time)
apt_shots=(xterm xvfb imagemagick x11-utils fonts-dejavu-core)

dnf_build=(make gcc clang pkgconf-pkg-config libbpf-devel elfutils-libelf-devel zlib-devel ncurses-devel uthash-devel json-c-devel sqlite-devel libmicrohttpd-devel bpftool)
dnf_test=(libcmocka-devel bats jq git clang-tools-extra acl curl tmux iproute procps-ng util-linux python3 iperf3 psmisc nethogs iftop time compiler-rt mandoc logrotate systemd libfaketime sqlite python3-jsonschema)
zyp_build=(make gcc clang pkg-config libbpf-devel libelf-devel zlib-devel ncurses-devel uthash-devel libjson-c-devel sqlite3-devel libmicrohttpd-devel bpftool)
zyp_test=(cmocka-devel bats jq git clang-tools acl curl tmux iproute2 procps util-linux python3 iperf3 psmisc nethogs iftop time mandoc logrotate systemd sqlite3 python3-jsonschema)

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

if command -v apt-get >/dev/null 2>&1; then
	pkgs=("${apt_build[@]}" "${apt_tools[@]}")
	[ "$want" = build ] || pkgs+=("${apt_test[@]}" "${apt_bench[@]}")
	[ "$want" = screenshots ] && pkgs+=("${apt_shots[@]}")
	missing=()
	for p in "${pkgs[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && exit 0
	echo "deps: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	as_root apt-get update -qq
	# Ubuntu ships bpftool in linux-tools-*, Debian in its own package.
	if printf '%s\n' "${missing[@]}" | grep -qx bpftool && ! apt-cache show bpftool >/dev/null 2>&1; then
		missing=("${missing[@]/bpftool/}")
		missing+=(linux-tools-common "linux-tools-$(uname -r)")
	fi
	as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
elif command -v dnf >/dev/null 2>&1; then
	pkgs=("${dnf_build[@]}")
	[ "$want" = build ] || pkgs+=("${dnf_test[@]}")
	rpm -q "${pkgs[@]}" >/dev/null 2>&1 && exit 0
	as_root dnf install -y "${pkgs[@]}"
elif command -v zypper >/dev/null 2>&1; then
	pkgs=("${zyp_build[@]}")
	[ "$want" = build ] || pkgs+=("${zyp_test[@]}")
	rpm -q "${pkgs[@]}" >/dev/null 2>&1 && exit 0
	as_root zypper --non-interactive install "${pkgs[@]}"
else
	echo "deps: no apt-get, dnf or zypper found; install clang, libbpf, libelf, zlib, ncursesw, uthash and bpftool by hand" >&2
	exit 1
fi
