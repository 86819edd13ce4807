/*
 * tmpdir.h - removing the temporary directories of tests and benchmarks.
 *
 * Shared by the unit tests and benchmark drivers that need a scratch
 * directory (spool, history, influx writer), so that each does not carry
 * its own way of cleaning up.
 */
#ifndef LB_TMPDIR_H
#define LB_TMPDIR_H

/* Removes a directory and everything below it (symbolic links are removed,
 * never followed).  0, or -1 with errno of the first failure. */
int tmpdir_remove(const char *path);

#endif
