/*
 * fsutil.h - the few file-system operations several subsystems need.
 *
 * Everything the bridge writes lives under one state directory (the
 * station's `data_dir`); these helpers create directories the way a
 * daemon must (every parent, an existing one is fine, a clear errno when
 * one really cannot be made) and place default file names in it.
 * Thread-safe (no state).
 */
#ifndef LB_FSUTIL_H
#define LB_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* Creates dir and every missing parent with mode (existing directories are
 * left as they are).  0, or -1 with errno; *failed (when not NULL) then
 * points into a malloc'd copy of the component that could not be made,
 * which the caller frees. */
int fs_mkdirs(const char *dir, mode_t mode, char **failed);

/* The same for the directory that will hold the file `path`. */
int fs_mkdirs_for(const char *path, mode_t mode, char **failed);

/* "dir/name", or name itself when it is absolute.  Malloc'd; NULL when out
 * of memory. */
char *fs_join(const char *dir, const char *name);

/* The directory and the file name of path, both malloc'd (the caller
 * frees them): "." for a bare name, "/" for one in the root.  0, or -1
 * out of memory (nothing to free). */
int fs_split(const char *path, char **dir, char **name);

#endif
