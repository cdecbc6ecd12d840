// SPDX-License-Identifier: GPL-2.0
/*
 * The snapshot is a plain message (snapshot.h): the engine fills it, the protocol decodes it,
 * the screen draws it. Freeing it lives here, with no engine behind it, so the codec and its
 * fuzzer link without libbpf.
 */
#include <stdlib.h>
#include "meter/snapshot.h"

void snapshot_free(struct snapshot *s)
{
	free(s->users);
	free(s->peers);
	free(s->procs);
	free(s->conns);
	free(s->ignore);
	s->users = NULL;
	s->peers = NULL;
	s->procs = NULL;
	s->conns = NULL;
	s->ignore = NULL;
	s->nusers = s->npeers = s->nprocs = s->nconns = s->nignore = 0;
}
