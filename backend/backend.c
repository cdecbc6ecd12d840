// SPDX-License-Identifier: GPL-2.0
/* The backend registry: one line per backend. */
#include <string.h>
#include "backend/backend.h"

static const struct output_backend *const backends[] = {
	&csv_backend,
};

const struct output_backend *backend_find(const char *name)
{
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (!strcmp(backends[i]->name, name))
			return backends[i];
	return NULL;
}

const char *backend_names(void)
{
	return "csv";
}
