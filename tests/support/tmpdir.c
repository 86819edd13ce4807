/*
 * tmpdir.c - removing temporary directories (see tmpdir.h).
 */
#include "support/tmpdir.h"

#include <ftw.h>
#include <stdio.h>

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
