#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# make, on a machine that may have nothing yet: the README's "./make.sh run" and
# "./make.sh test" (.ci/run runs the latter). Root runs it as it is; anyone else goes through
# sudo, as installing packages, creating the user tmtop and loading BPF programs need root.
# Where make itself is missing (a fresh Debian or Ubuntu container), scripts/deps.sh first
# installs it with what the target needs: the build dependencies for run, the test and
# benchmark tools too for anything else. Then it is "make TARGET...".
set -eu
cd "$(dirname "$0")"
if [ $# -eq 0 ]; then
	echo "usage: ./make.sh run | test | TARGET..." >&2
	exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		exec sudo -- "$PWD/make.sh" "$@"
	fi
	echo "make.sh: this needs root, and sudo is not installed: run it as root" >&2
	exit 1
fi
if ! command -v make >/dev/null 2>&1; then
	if [ "$1" = run ]; then
		TMTOP_DEPS=build scripts/deps.sh
	else
		scripts/deps.sh
	fi
fi
exec make "$@"
