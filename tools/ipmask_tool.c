// SPDX-License-Identifier: GPL-2.0
/*
 * ipmask_tool: turn an ignore list (wildcards, CIDR, plain addresses) into the seed's
 * untracked_masks.h. The header is built in memory and printed only when the whole list
 * parsed, so "ipmask_tool list > untracked_masks.h" never leaves a half-written header
 * behind a successful exit status.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meter/iplist.h"

static const char usage[] =
	"Usage: ipmask_tool [OPTION] FILE\n"
	"Print the untracked_masks.h header for the ignore list in FILE ('-' = standard input).\n"
	"\n"
	"List syntax: one entry a line, '#' starts a comment, blank lines are skipped.\n"
	"  10.0.*.*  192.168.1.*  2001:db8::*   trailing wildcards\n"
	"  10.0.0.0/8  2001:db8::/32            CIDR\n"
	"  192.0.2.1  2001:db8::1               a single host\n"
	"\n"
	"  -h, --help     show this help and exit\n"
	"  -V, --version  show the version and exit\n"
	"\n"
	"Example: ./ipmask_tool bpf/ip_list.txt > bpf/untracked_masks.h\n"
	"On any error nothing is printed on standard output and the exit status is 1.\n";

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	struct iplist_error err = { 0 };
	struct iplist list = { 0 };
	const char *path, *name;
	char *text = NULL;
	size_t text_len = 0;
	FILE *mem;
	int c, ret, status = 1;

	while ((c = getopt_long(argc, argv, "hV", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(usage, stdout);
			return 0;
		case 'V':
			puts("ipmask_tool " TM_VERSION);
			return 0;
		default:
			fputs("Try 'ipmask_tool --help' for more information.\n", stderr);
			return 2;
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "ipmask_tool: %s\nTry 'ipmask_tool --help' for more information.\n",
			argc - optind ? "too many arguments"
				      : "missing FILE (use - for standard input)");
		return 2;
	}
	path = argv[optind];
	name = strcmp(path, "-") ? path : "<stdin>";

	ret = iplist_load_file(path, &list, &err);
	if (ret) {
		if (err.line)
			fprintf(stderr, "ipmask_tool: %s:%d: %s\n", name, err.line, err.reason);
		else
			fprintf(stderr, "ipmask_tool: %s: %s\n", name, err.reason);
		return 1;
	}

	mem = open_memstream(&text, &text_len);
	if (!mem) {
		fprintf(stderr, "ipmask_tool: %s\n", strerror(errno));
		goto cleanup;
	}
	ret = iplist_write_header(&list, mem);
	if (fclose(mem) || ret) {
		fprintf(stderr, "ipmask_tool: cannot build the header: %s\n",
			strerror(ret ? -ret : errno));
		goto cleanup;
	}
	if (fwrite(text, 1, text_len, stdout) != text_len || fflush(stdout)) {
		fprintf(stderr, "ipmask_tool: write error: %s\n", strerror(errno));
		goto cleanup;
	}
	status = 0;

cleanup:
	free(text);
	iplist_free(&list);
	return status;
}
