#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Runs the whole suite: cmocka unit and BPF tests, the fuzzers' corpus and a short fuzz, then the
# bats integration, TUI and bench smoke tests against the real kernel. Every suite speaks TAP;
# this sums them into one closing line "N passed, M failed, K skipped" and exits non-zero on any
# failure. Each suite's time is printed after it, and the passes' times at the end.
# TESTS=pattern runs only the suites whose path matches.
#
# TM_TEST_DIR holds the cmocka binaries (default .output/tests), TM_BIN_DIR the programs the bats
# suites run (default the repository root); "make check SANITIZE=1" points both at the sanitized
# build and sets TM_SAN_LOG_DIR, where ASan and UBSan write their reports: each report found
# there after the run is one more failure.
#
# The sanitized pass (TM_SAN_PASS=1, what "make test" sets, with TM_SAN_BIN_DIR and
# TM_SAN_TEST_DIR pointing at the SANITIZE=1 build): after the suites above, the unit, BPF,
# integration and TUI suites run again against the build with ASan, UBSan and LeakSanitizer (no
# recovery), each report one more failure. It first proves that a report is seen at all (a
# canary with one UBSan error must leave a report and fail), so a broken setup cannot pass for a
# clean run; any run with TM_SAN_LOG_DIR does. Left out of it: the fuzzers (their harnesses are
# ASan+UBSan builds already, run in the first pass), the bench smoke (it measures the normal
# build's programs; nothing in it checks more than the integration suites do), install.bats
# (it checks what make install copies, which is the normal build) and format.bats (no build).
set -u
cd "$(dirname "$0")/.."

pass=0 fail=0 skip=0
failed_names=()
label=""		# "sanitized: " in the sanitized pass
pass_times=()

run_tap() {	# name, command...
	local name=$label$1 out rc p f s t0=$SECONDS
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
	printf '# --- %s: %d s\n' "$name" $((SECONDS - t0))
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
	[ "$f" -eq 0 ] || failed_names+=("$name")
}

selected() { [ -z "${TESTS:-}" ] || [[ $1 == *${TESTS}* ]]; }

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

san_clean() {
	mkdir -p "$TM_SAN_LOG_DIR"
	rm -f "$TM_SAN_LOG_DIR"/*
}

# The canary: a program built like the sanitized build (TM_SAN_CC, the same flags) with one
# signed overflow must exit non-zero and leave a UBSan report where the suites' reports go;
# otherwise "no reports" would mean nothing. Its report is removed again.
san_canary() {
	local dir rc
	dir=$(mktemp -d /tmp/tmtop-canary.XXXXXX)
	printf 'int main(int argc, char **argv)\n{\n\tint x = 0x7fffffff - 1 + argc;\n\treturn x + argc > 0;\n}\n' \
		> "$dir/canary.c"
	if ! ${TM_SAN_CC:-cc} -O0 -fsanitize=address,undefined -fno-sanitize-recover=all \
		-o "$dir/canary" "$dir/canary.c" 2> "$dir/cc.err"; then
		echo "not ok 1 - cannot build with -fsanitize=address,undefined: $(head -n1 "$dir/cc.err")"
		echo "1..1"
		rm -rf "$dir"
		return
	fi
	"$dir/canary"
	rc=$?
	if [ "$rc" -ne 0 ] && grep -qs 'runtime error' "$TM_SAN_LOG_DIR"/ubsan.*; then
		echo "ok 1 - a sanitizer error fails its program and leaves a report in $TM_SAN_LOG_DIR"
	else
		echo "not ok 1 - the canary's overflow went unreported (exit $rc; ASAN_OPTIONS/UBSAN_OPTIONS: ${ASAN_OPTIONS:-} ${UBSAN_OPTIONS:-})"
	fi
	echo "1..1"
	rm -f "$TM_SAN_LOG_DIR"/ubsan.*
	rm -rf "$dir"
}

# run_suites UNIT_DIR FUZZ ALL: the cmocka binaries in UNIT_DIR, the fuzzers when FUZZ=1, the
# integration and TUI suites, and the bench smoke and install.bats when ALL=1.
run_suites() {
	local t f
	export CMOCKA_MESSAGE_OUTPUT=TAP
	for t in "$1"/test_*; do
		[ -x "$t" ] && selected "$t" || continue
		run_tap "$t" timeout 300 "$t"
	done
	if [ "$2" = 1 ] && selected tests/fuzz/run.sh; then
		run_tap tests/fuzz/run.sh timeout 600 tests/fuzz/run.sh --ci
	fi
	for f in tests/integration/*.bats tests/tui/*.bats bench/*.bats; do
		[ -f "$f" ] && selected "$f" || continue
		[ "$3" = 1 ] || [[ $f != bench/* && $f != */install.bats && $f != */format.bats ]] || continue
		run_tap "$f" timeout 1200 bats --tap "$f"
	done
}

t0=$SECONDS
if [ -n "${TM_SAN_LOG_DIR:-}" ]; then
	san_clean
	run_tap "the canary: a sanitizer report fails the run" san_canary
fi
run_suites "${TM_TEST_DIR:-.output/tests}" 1 1
if [ -n "${TM_SAN_LOG_DIR:-}" ]; then
	run_tap "sanitizer reports ($TM_SAN_LOG_DIR)" san_reports
fi
pass_times+=("$( [ -n "${TM_SAN_LOG_DIR:-}" ] && echo sanitized || echo normal ) build: $((SECONDS - t0)) s")

if [ "${TM_SAN_PASS:-0}" = 1 ]; then
	t0=$SECONDS
	label="sanitized: "
	export TM_BIN_DIR=${TM_SAN_BIN_DIR:-$PWD/.output-san}
	export TM_TEST_DIR=${TM_SAN_TEST_DIR:-$PWD/.output-san/tests}
	export TM_SAN_LOG_DIR=${TM_SAN_LOG_DIR:-$PWD/.output-san/sanitizer}
	export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:log_path=$TM_SAN_LOG_DIR/asan
	export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:log_path=$TM_SAN_LOG_DIR/ubsan
	san_clean
	run_tap "the canary: a sanitizer report fails the run" san_canary
	run_suites "$TM_TEST_DIR" 0 0
	run_tap "sanitizer reports ($TM_SAN_LOG_DIR)" san_reports
	pass_times+=("sanitized build (unit, BPF, integration, TUI): $((SECONDS - t0)) s")
fi

echo
printf '# %s\n' "${pass_times[@]}"
[ ${#failed_names[@]} -eq 0 ] || printf 'failed suites: %s\n' "${failed_names[*]}"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
