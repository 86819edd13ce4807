/*
 * nfix.c - the notify unit tests' fixture (nfix.h).
 */
#include "support/nfix.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/tmpdir.h"

nfix *nfix_new(const char *name, const char *text)
{
    map_errors errs = {0};
    nfix *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->st = map_load_buffer(name, text, strlen(text), &errs);
    for (size_t i = 0; i < errs.n; i++)
        fprintf(stderr, "%s\n", errs.msgs[i]);
    map_errors_free(&errs);
    char err[64];
    if (!f->st || rota_set_zone("UTC", err, sizeof err) < 0 ||
        !(f->r = rota_new(&f->st->notify)) ||
        tmpdir_make(f->dir, sizeof f->dir, "lbtest-nj-") < 0) {
        nfix_free(f);
        return NULL;
    }
    snprintf(f->path, sizeof f->path, "%s/state/notify.db", f->dir);
    return f;
}

void nfix_free(nfix *f)
{
    if (!f)
        return;
    if (f->dir[0])
        tmpdir_remove(f->dir);
    rota_free(f->r);
    map_free(f->st);
    free(f);
}

int nfix_teardown(void **state)
{
    nfix_free(*state);
    return 0;
}

int64_t nfix_at(int hh, int mm)
{
    return (1768348800ll + hh * 3600 + mm * 60) * 1000000000ll;
}
