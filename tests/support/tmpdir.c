/*
 * tmpdir.c - removing temporary directories (see tmpdir.h).
 */
#include "support/tmpdir.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

static int tmpdir_remove_one(const char *path, const struct stat *sb,
                             int type, struct FTW *ftw)
{
    (void)sb;
    (void)type;
    (void)ftw;
    return remove(path) == 0 ? 0 : -1;
}

int tmpdir_remove(const char *path)
{
    /* Depth first, so a directory is empty when its turn comes. */
    return nftw(path, tmpdir_remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

int tmpdir_make(char *dir, size_t len, const char *prefix)
{
    int n = snprintf(dir, len, "/tmp/%sXXXXXX", prefix);
    if (n < 0 || (size_t)n >= len) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return mkdtemp(dir) ? 0 : -1;
}

int tmpdir_scratch_setup(void **state, const char *prefix, const char *name)
{
    struct tmpdir_scratch *x = calloc(1, sizeof *x);
    if (!x)
        return -1;
    if (tmpdir_make(x->dir, sizeof x->dir, prefix) < 0)
        goto fail;
    int n = snprintf(x->path, sizeof x->path, "%s/%s", x->dir, name);
    if (n < 0 || (size_t)n >= sizeof x->path) {
        tmpdir_remove(x->dir);
        goto fail;
    }
    *state = x;
    return 0;

fail:
    free(x);
    return -1;
}

int tmpdir_scratch_teardown(void **state)
{
    struct tmpdir_scratch *x = *state;
    if (x)
        tmpdir_remove(x->dir);
    free(x);
    *state = NULL;
    return 0;
}
