#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# ipmask_tool as a user runs it: list in, header out, and on any error nothing on stdout.

setup() {
	ROOT="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
	TOOL="${TM_BIN_DIR:-$ROOT}/ipmask_tool"
	[ -x "$TOOL" ] || skip "ipmask_tool not built (run make ipmask_tool)"
	TMP="$(mktemp -d "${BATS_TMPDIR:-/tmp}/ipmask_tool.XXXXXX")"
}

teardown() {
	[ -n "${TMP:-}" ] && rm -rf "$TMP"
}

# Run the tool with stdout and stderr kept apart, so "nothing on stdout" can be checked.
run_split() {
	set +e
	"$TOOL" "$@" >"$TMP/out" 2>"$TMP/err"
	status=$?
	set -e
	out="$(cat "$TMP/out")"
	err="$(cat "$TMP/err")"
}

@test "good list: seed-form header on stdout, exit 0" {
	printf '# nets\n10.*.*.*\n\n  192.168.1.*  # lan\n2001:db8::/32\n' >"$TMP/list.txt"
	run_split "$TMP/list.txt"
	[ "$status" -eq 0 ]
	[ -z "$err" ]
	grep -qxF 'static const struct ipv4_mask untracked_ipv4[] = {' "$TMP/out"
	grep -qxF '    { __builtin_bswap32(0x0a000000), __builtin_bswap32(0xff000000) }, // 10.0.0.0/8' "$TMP/out"
	grep -qxF '    { __builtin_bswap32(0xc0a80100), __builtin_bswap32(0xffffff00) }, // 192.168.1.0/24' "$TMP/out"
	grep -qxF 'static const struct ipv6_mask untracked_ipv6[] = {' "$TMP/out"
	grep -qxF '    { { 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 }, 32 }, // 2001:db8::/32' "$TMP/out"
	[ "$(grep -c '__builtin_bswap32' "$TMP/out")" -eq 2 ]
}

@test "- reads the list from standard input" {
	set +e
	printf '192.168.1.*\n' | "$TOOL" - >"$TMP/out" 2>"$TMP/err"
	status=$?
	set -e
	[ "$status" -eq 0 ]
	[ ! -s "$TMP/err" ]
	grep -qF '// 192.168.1.0/24' "$TMP/out"
	"$TOOL" "$ROOT/bpf/ip_list.txt" >"$TMP/file.h"
	"$TOOL" - <"$ROOT/bpf/ip_list.txt" >"$TMP/stdin.h"
	cmp "$TMP/file.h" "$TMP/stdin.h"
}

@test "bad line: file, line and reason on stderr, nothing on stdout, exit 1" {
	printf '10.0.0.0/8\n# comment\n\n10.*.1.*\n192.168.1.*\n' >"$TMP/bad.txt"
	run_split "$TMP/bad.txt"
	[ "$status" -eq 1 ]
	[ ! -s "$TMP/out" ]
	[ "$err" = "ipmask_tool: $TMP/bad.txt:4: wildcard is not trailing: '10.*.1.*'" ]
}

@test "each kind of bad entry is refused with its reason" {
	check() {
		printf '10.0.0.0/8\n%s\n' "$1" >"$TMP/bad.txt"
		run_split "$TMP/bad.txt"
		[ "$status" -eq 1 ] || { echo "accepted: $1"; return 1; }
		[ ! -s "$TMP/out" ] || { echo "stdout not empty for: $1"; return 1; }
		[ "$err" = "ipmask_tool: $TMP/bad.txt:2: $2" ] || { echo "got: $err"; return 1; }
	}
	check '10.0.300.*' "bad octet '300': '10.0.300.*'"
	check '10.0.0.0/33' "prefix length out of range (0-32): '10.0.0.0/33'"
	check '::/129' "prefix length out of range (0-128): '::/129'"
	check '10.1*.0.0' "a wildcard must replace a whole octet: '10.1*.0.0'"
	check '10.0.0.0/' "missing prefix length: '10.0.0.0/'"
	check 'garbage' "not an IP address or prefix: 'garbage'"
	check '2001:*:db8::*' "wildcard is not trailing: '2001:*:db8::*'"
}

@test "bad line on standard input is reported as <stdin>" {
	set +e
	printf '::1\n10.0.0.0/33\n' | "$TOOL" - >"$TMP/out" 2>"$TMP/err"
	status=$?
	set -e
	[ "$status" -eq 1 ]
	[ ! -s "$TMP/out" ]
	[ "$(cat "$TMP/err")" = "ipmask_tool: <stdin>:2: prefix length out of range (0-32): '10.0.0.0/33'" ]
}

@test "missing file: one line naming it, nothing on stdout, exit 1" {
	run_split "$TMP/nope.txt"
	[ "$status" -eq 1 ]
	[ ! -s "$TMP/out" ]
	[ "$err" = "ipmask_tool: $TMP/nope.txt: No such file or directory" ]
}

@test "a directory is an I/O error" {
	run_split "$TMP"
	[ "$status" -eq 1 ]
	[ ! -s "$TMP/out" ]
	[ "$err" = "ipmask_tool: $TMP: Is a directory" ]
}

@test "empty list gives a header with empty arrays" {
	run_split /dev/null
	[ "$status" -eq 0 ]
	grep -qxF 'static const struct ipv4_mask untracked_ipv4[] = {' "$TMP/out"
	[ "$(grep -c '^};$' "$TMP/out")" -eq 2 ]
	[ "$(grep -c '__builtin_bswap32' "$TMP/out" || true)" -eq 0 ]
}

@test "--help and --version" {
	run_split --help
	[ "$status" -eq 0 ]
	[[ "$out" == *"Usage: ipmask_tool"* ]]
	[[ "$out" == *"--version"* ]]
	[ -z "$err" ]
	run_split -h
	[ "$status" -eq 0 ]
	run_split --version
	[ "$status" -eq 0 ]
	[[ "$out" =~ ^ipmask_tool\ [0-9]+\.[0-9]+ ]]
}

@test "usage errors exit 2 with nothing on stdout" {
	run_split
	[ "$status" -eq 2 ]
	[ ! -s "$TMP/out" ]
	[[ "$err" == *"missing FILE"* ]]
	run_split a b
	[ "$status" -eq 2 ]
	[ ! -s "$TMP/out" ]
	run_split --bogus
	[ "$status" -eq 2 ]
	[ ! -s "$TMP/out" ]
}

@test "header for bpf/ip_list.txt is the committed bpf/untracked_masks.h" {
	run_split "$ROOT/bpf/ip_list.txt"
	[ "$status" -eq 0 ]
	cmp "$TMP/out" "$ROOT/bpf/untracked_masks.h"
}

@test "generated header compiles with bpf/traffic_meter.h" {
	command -v cc >/dev/null || skip "no cc"
	check_compiles() {
		cat >"$TMP/prog.c" <<-'EOF'
		#include <linux/types.h>
		#include "traffic_meter.h"
		#include "untracked_masks.h"
		#include "untracked_masks.h"
		int main(void)
		{
			return (int)(sizeof(untracked_ipv4) / sizeof(untracked_ipv4[0]) +
				     sizeof(untracked_ipv6) / sizeof(untracked_ipv6[0]));
		}
		EOF
		cc -std=gnu11 -Wall -Wextra -Werror -fsyntax-only -I"$TMP" -I"$ROOT/bpf" "$TMP/prog.c"
	}
	"$TOOL" "$ROOT/bpf/ip_list.txt" >"$TMP/untracked_masks.h"
	check_compiles
	"$TOOL" /dev/null >"$TMP/untracked_masks.h"
	check_compiles
	printf '*.*.*.*\n::/0\n::1\n255.255.255.255\n' | "$TOOL" - >"$TMP/untracked_masks.h"
	check_compiles
}
