/*
 * tmpdir.h - the temporary directories of tests and benchmarks: making
 * one, removing it, and the cmocka fixture of a directory with one path
 * in it.
 *
 * Shared by the unit tests and benchmark drivers that need a scratch
 * directory (spool, history, influx writer, journal, users, secrets), so
 * that each does not carry its own way of making and cleaning up.
 */
#ifndef LB_TMPDIR_H
#define LB_TMPDIR_H

#include <stddef.h>

/* Makes a new directory /tmp/<prefix>XXXXXX (mkdtemp) and writes its name
 * into dir (len bytes).  0, or -1 with errno (ENAMETOOLONG when the name
 * does not fit). */
int tmpdir_make(char *dir, size_t len, const char *prefix);

/* Removes a directory and everything below it (symbolic links are removed,
 * never followed).  0, or -1 with errno of the first failure. */
int tmpdir_remove(const char *path);

/* A scratch directory and a path in it, as a cmocka test's state. */
struct tmpdir_scratch {
    char dir[64];
    char path[128];
};

/* For a cmocka setup: *state becomes a new struct tmpdir_scratch, its dir
 * made by tmpdir_make(prefix) and its path dir/name (not created).  0, or
 * -1 with nothing left behind. */
int tmpdir_scratch_setup(void **state, const char *prefix, const char *name);

/* For the matching teardown: removes the directory with everything in it
 * and frees *state.  Always 0: a test that passed is not failed by a
 * leftover in /tmp. */
int tmpdir_scratch_teardown(void **state);

#endif
