/*
 * nfix.h - the notify unit tests' fixture: a station map loaded from the
 * test's text, its rota in UTC, and a scratch directory for the
 * notification journal; plus the stub clock's day.
 *
 * Shared by test_notify_journal and test_notify_escalate so that each
 * does not carry its own loading, zone setting and clean-up.
 */
#ifndef LB_NFIX_H
#define LB_NFIX_H

#include <stdint.h>

#include "config/plcmap.h"
#include "notify/rota.h"

typedef struct {
    map_station *st;
    rota *r;
    char dir[64];
    char path[96];            /* <dir>/state/notify.db (not created) */
} nfix;

/* The map `text` (named `name` in errors, which go to stderr), the zone
 * set to UTC, its rota, a new directory.  NULL on any failure. */
nfix *nfix_new(const char *name, const char *text);
/* Removes the directory, frees all.  NULL is a no-op. */
void nfix_free(nfix *f);
/* A cmocka teardown: nfix_free(*state), 0. */
int nfix_teardown(void **state);

/* The stub clock: 2026-01-14 (a Wednesday) at hh:mm UTC, in ns. */
int64_t nfix_at(int hh, int mm);

#endif
