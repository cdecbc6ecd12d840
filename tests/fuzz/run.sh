#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Runs the libFuzzer harnesses built by "make fuzzers" (in $TM_FUZZ_DIR, default .output/fuzz)
# and speaks TAP, one line per harness:
#   --ci          the checked-in corpus once as a regression test, then FUZZ_CI_SECONDS (10) of
#                 fuzzing; what the fuzzer finds goes to a temporary directory (tests/run.sh)
#   --seconds N   N seconds each; what it finds is kept in $TM_FUZZ_DIR/found/<name>
#   --merge       add to tests/fuzz/corpus/<name> only what found/<name> adds in coverage
#                 (new edges, not new hit counts, to keep the corpus small)
# A crash leaves its input in $TM_FUZZ_DIR/artifacts/; rerun it with "<fuzzer> <file>".
# FUZZERS="iplist csv_row" limits the run to those harnesses.
set -u
cd "$(dirname "$0")/../.."

mode=ci
seconds=${FUZZ_CI_SECONDS:-10}
case "${1:-}" in
--ci | "") ;;
--seconds) mode=long seconds=${2:?--seconds needs a number} ;;
--merge) mode=merge ;;
*) echo "usage: $0 [--ci | --seconds N | --merge]" >&2; exit 2 ;;
esac

dir=${TM_FUZZ_DIR:-.output/fuzz}
corpora=tests/fuzz/corpus

# The reports belong in the fuzzer's output here, not in SANITIZE=1's report files.
export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

# Per-harness libFuzzer options: the dictionary, and an input size that reaches past what the
# code under test reads (csv.c looks at the last 4096 bytes of a log).
opts() {
	case $1 in
	iplist) echo "-dict=tests/fuzz/iplist.dict -max_len=4096" ;;
	csv_row) echo "-dict=tests/fuzz/csv.dict -max_len=512" ;;
	csv_tail) echo "-dict=tests/fuzz/csv.dict -max_len=9000" ;;
	# Snapshot lines run to a few KiB; a server takes up to PROTO_LINE_MAX (64 KiB).
	proto) echo "-dict=tests/fuzz/proto.dict -max_len=16384" ;;
	*) echo "" ;;
	esac
}

names=()
for f in tests/fuzz/fuzz_*.c; do
	n=${f##*/fuzz_}
	n=${n%.c}
	[[ -z ${FUZZERS:-} || " $FUZZERS " == *" $n "* ]] && names+=("$n")
done

probe() {
	printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' |
		"${CLANG:-clang}" -x c -fsanitize=fuzzer - -o /dev/null 2>/dev/null
}

# Prints the report of a failed run as TAP comments: the sanitizer's summary and stack, or the
# harness's abort() with the line that called it.
show_failure() {
	grep -vE '^(#[0-9]+|INFO:|MS:|base unit:|0x|\s*$)' "$1" | tail -n 40 | sed 's/^/# /'
}

i=0 failed=0
for n in "${names[@]}"; do
	bin=$dir/fuzz_$n
	corpus=$corpora/$n
	i=$((i + 1))
	if [ ! -x "$bin" ]; then
		if probe; then
			echo "ok $i - fuzz $n # SKIP not built (make fuzzers)"
		else
			echo "ok $i - fuzz $n # SKIP clang's libFuzzer runtime is missing (libclang-rt-dev)"
		fi
		continue
	fi
	mkdir -p "$corpus" "$dir/artifacts"
	nfiles=$(find "$corpus" -type f | wc -l)
	log=$(mktemp)
	# shellcheck disable=SC2046
	set -- $(opts "$n") -artifact_prefix="$dir/artifacts/$n-" -timeout=10 -rss_limit_mb=1024

	if [ "$mode" = merge ]; then
		found=$dir/found/$n
		before=$(ls "$corpus" | sort)
		# Edges only (no hit counts): an input that merely runs a loop more often stays out.
		if [ -d "$found" ] && "$bin" "$@" -merge=1 -use_counters=0 "$corpus" "$found" \
			> "$log" 2>&1; then
			added=$(comm -13 <(echo "$before") <(ls "$corpus" | sort) | wc -l)
			echo "ok $i - merge $n: $added new file(s) in $corpus"
		elif [ ! -d "$found" ]; then
			echo "ok $i - merge $n # SKIP nothing found yet (make fuzz)"
		else
			echo "not ok $i - merge $n"
			show_failure "$log"
			failed=1
		fi
		rm -f "$log"
		continue
	fi

	# The corpus once: every checked-in input must still pass.
	if ! "$bin" "$@" -runs=0 "$corpus" > "$log" 2>&1; then
		echo "not ok $i - fuzz $n: the checked-in corpus fails (artifact in $dir/artifacts)"
		show_failure "$log"
		failed=1
		rm -f "$log"
		continue
	fi

	if [ "$mode" = long ]; then
		found=$dir/found/$n
		mkdir -p "$found"
	else
		found=$(mktemp -d)
	fi
	# New inputs go to the first directory, never into the checked-in corpus.
	if "$bin" "$@" -max_total_time="$seconds" -print_final_stats=1 "$found" "$corpus" \
		> "$log" 2>&1; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
		cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n1 | cut -d' ' -f2)
		echo "ok $i - fuzz $n (corpus $nfiles files, $seconds s, ${runs:-?} runs, cov ${cov:-?})"
	else
		art=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n1)
		echo "not ok $i - fuzz $n: failure after fuzzing, input saved as ${art:-?}"
		show_failure "$log"
		failed=1
	fi
	[ "$mode" = long ] || rm -rf "$found"
	rm -f "$log"
done
echo "1..$i"
exit $failed
