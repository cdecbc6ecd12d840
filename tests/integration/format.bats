#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# make format on a clone of the repository: on a clean tree it changes nothing; a line written
# another way is put in kernel style (.clang-format), and the lines around it are left alone.

setup() {
	ROOT="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
	command -v clang-format >/dev/null && command -v git-clang-format >/dev/null ||
		skip "clang-format is not installed (make deps)"
	git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1 || skip "not a git checkout"
	TMP="$(mktemp -d /tmp/tmtop-format.XXXXXX)"
	git clone --quiet --no-hardlinks "$ROOT" "$TMP/src"
}

teardown() {
	[ -n "${TMP:-}" ] && rm -rf "$TMP"
}

@test "make format changes nothing on a clean tree" {
	run make -C "$TMP/src" --no-print-directory format
	[ "$status" -eq 0 ]
	[ -z "$(git -C "$TMP/src" status --porcelain)" ]
}

@test "make format puts a changed line in kernel style and leaves the rest as written" {
	f="$TMP/src/meter/clock.c"
	cp "$f" "$TMP/before"
	printf 'static int  tm_format_probe(int a,int b){ if(a) return b; return a+b; }\n' >> "$f"
	run make -C "$TMP/src" --no-print-directory format
	[ "$status" -eq 0 ]
	# the file up to the added line is byte for byte what it was
	cmp <(head -c "$(stat -c %s "$TMP/before")" "$f") "$TMP/before"
	tail -n +"$(($(wc -l < "$TMP/before") + 1))" "$f" > "$TMP/added"
	cat "$TMP/added"
	printf 'static int tm_format_probe(int a, int b)\n{\n\tif (a)\n\t\treturn b;\n\treturn a + b;\n}\n' |
		diff - "$TMP/added"
}
