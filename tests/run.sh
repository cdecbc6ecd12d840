#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Runs the whole suite: cmocka unit and BPF tests, then the bats integration, TUI and bench smoke
# tests against the real kernel. Every suite speaks TAP; this sums them into one closing line
# "N passed, M failed, K skipped" and exits non-zero on any failure.
# TESTS=pattern runs only the suites whose path matches.
# TM_TEST_DIR holds the cmocka binaries (default .output/tests), TM_BIN_DIR the programs the bats
# suites run (default the repository root); "make check SANITIZE=1" points both at the sanitized
# build and sets TM_SAN_LOG_DIR, where ASan and UBSan write their reports: each report found
# there after the run is one more failure.
set -u
cd "$(dirname "$0")/.."

pass=0 fail=0 skip=0
failed_names=()

run_tap() {	# name, command...
	local name=$1 out rc p f s
	shift
	printf '# --- %s\n' "$name"
	out=$("$@" 2>&1)
	rc=$?
	printf '%s\n' "$out" | sed 's/^/    /'
	p=$(printf '%s\n' "$out" | grep -E '^ok ' | grep -viE '# skip' | wc -l)
	s=$(printf '%s\n' "$out" | grep -E '^ok ' | grep -ciE '# skip')
	f=$(printf '%s\n' "$out" | grep -cE '^not ok ')
	# A crash or a failing setup that printed no "not ok" still counts as one failure.
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		printf '    not ok - %s exited with status %d\n' "$name" "$rc"
	fi
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
	[ "$f" -eq 0 ] || failed_names+=("$name")
}

selected() { [ -z "${TESTS:-}" ] || [[ $1 == *${TESTS}* ]]; }

if [ -n "${TM_SAN_LOG_DIR:-}" ]; then
	mkdir -p "$TM_SAN_LOG_DIR"
	rm -f "$TM_SAN_LOG_DIR"/*
fi

export CMOCKA_MESSAGE_OUTPUT=TAP
for t in "${TM_TEST_DIR:-.output/tests}"/test_*; do
	[ -x "$t" ] && selected "$t" || continue
	run_tap "$t" timeout 300 "$t"
done

if selected tests/fuzz/run.sh; then
	run_tap tests/fuzz/run.sh timeout 600 tests/fuzz/run.sh --ci
fi

for f in tests/integration/*.bats tests/tui/*.bats bench/*.bats; do
	[ -f "$f" ] && selected "$f" || continue
	run_tap "$f" timeout 1200 bats --tap "$f"
done

# One TAP line per report file; a report names the program and the first frame of ours.
san_reports() {
	local n=0 r
	for r in "$TM_SAN_LOG_DIR"/*; do
		[ -f "$r" ] || continue
		n=$((n + 1))
		printf 'not ok %d - %s: %s\n' "$n" "${r##*/}" \
			"$(grep -m1 -E 'SUMMARY|runtime error' "$r" || head -n1 "$r")"
		sed 's/^/# /' "$r" | head -n 60
	done
	[ "$n" -gt 0 ] || echo "ok 1 - no sanitizer reports"
	echo "1..$((n > 0 ? n : 1))"
}
if [ -n "${TM_SAN_LOG_DIR:-}" ]; then
	run_tap "sanitizer reports ($TM_SAN_LOG_DIR)" san_reports
fi

echo
[ ${#failed_names[@]} -eq 0 ] || printf 'failed suites: %s\n' "${failed_names[*]}"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
