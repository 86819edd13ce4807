/*
 * fullfs.h - a real full disk for tests: a small tmpfs that a test fills
 * and empties again.
 *
 * The tests of the history, the spool and the InfluxDB writer need writes
 * that fail the way they fail on a station whose disk is full (ENOSPC from
 * write(2), SQLITE_FULL from SQLite), and then succeed again.  A tmpfs of
 * a few hundred KiB does exactly that, with no hook in the code under
 * test.
 *
 * The mount lives in a mount namespace of the test process's own
 * (fullfs_isolate), so nobody else sees it and it disappears with the
 * process even when a test crashes.  That needs root, or an unprivileged
 * user namespace; when neither is available the functions say why and the
 * test fails (it cannot prove anything without a full disk).
 */
#ifndef LB_FULLFS_H
#define LB_FULLFS_H

#include <stddef.h>

/* Moves the calling process into a private mount namespace.  Call it at
 * the start of main(), before any thread exists (a user namespace cannot
 * be entered by a threaded process).  0, or -1 with the reason in why. */
int fullfs_isolate(char *why, size_t len);

/* Mounts a tmpfs of `bytes` on dir (which must exist).  0, or -1 with the
 * reason in why. */
int fullfs_mount(const char *dir, size_t bytes, char *why, size_t len);

/* For a full-disk test's setup: makes dir if it is not there and mounts a
 * tmpfs of `bytes` on it.  0, or -1 after saying on stderr why there is no
 * small file system to fill: the mount failed, or an earlier
 * fullfs_isolate did (a mount outside a namespace of the test's own would
 * be seen by others and outlive a crash). */
int fullfs_setup(const char *dir, size_t bytes);

/* Unmounts dir (lazily: open files do not keep it busy). */
int fullfs_umount(const char *dir);

/* Fills the file system holding dir with dir/.filler until write(2)
 * fails with ENOSPC.  0, or -1 (another error). */
int fullfs_fill(const char *dir);

/* Removes dir/.filler again. */
int fullfs_unfill(const char *dir);

#endif
