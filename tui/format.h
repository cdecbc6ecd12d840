/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Pure text helpers for the screen: human units, truncation, addresses, durations. No curses,
 * so they are unit-tested on their own. Human units appear only in the UI; logs, backends and
 * batch mode carry raw integers.
 */
#ifndef TUI_FORMAT_H
#define TUI_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Long enough for every fmt_* result below. */
#define FMT_LEN 32

/* Bytes in base 1024 with one decimal: "0B", "999B", "1.2K", "15.0M", "3.4G", "1.0T". */
char *fmt_bytes(char *buf, size_t len, uint64_t bytes);

/*
 * A rate in bytes/s. bits=false: like fmt_bytes ("1.2K" = 1.2 KiB/s). bits=true: bits/s in
 * base 1000 as network people count them: "800b", "9.6Kb", "1.0Mb", "10.0Gb".
 */
char *fmt_rate(char *buf, size_t len, double bytes_per_s, bool bits);

/*
 * Untrusted text made safe for a terminal: valid, printable UTF-8 is kept, every other byte
 * (control characters, C1 controls, broken sequences) becomes '?'. Process names, user names
 * and DNS names all pass through here before they are shown or printed.
 */
char *fmt_sanitize(char *buf, size_t len, const char *src);

/* Columns a sanitized UTF-8 string takes (one per character). */
int fmt_width(const char *s);

/* Copy src (sanitized) into buf cut to at most width columns; a cut string ends in '~'. */
char *fmt_trunc(char *buf, size_t len, const char *src, int width);

/* Like fmt_trunc but keeps the end, for paths: "~/logs/traffic_user_lo_<uid>.log". */
char *fmt_trunc_left(char *buf, size_t len, const char *src, int width);

/* "00:01:23", "26:03:04" up to a day, then "3d 02:03:04" (htop's uptime habit, shorter). */
char *fmt_elapsed(char *buf, size_t len, uint64_t seconds);

/* inet_ntop for a TM_AF_* family; "?" for an unknown family. */
char *fmt_addr(char *buf, size_t len, uint8_t family, const uint8_t *addr);

/* A text for batch output: sanitized, and whitespace becomes '_' so every line splits cleanly. */
char *fmt_token(char *buf, size_t len, const char *src);

#endif /* TUI_FORMAT_H */
