/*
 * fmode.h - the modes and owners of the state directory's private files:
 * auth's (users, sessions, the audit log) and the alarm journal.
 *
 * Everything they keep is readable by its owner only: the state directory
 * 0700, every file 0600.  A file or directory that others may read is
 * tightened on the spot and the caller is told (a warning, not a failure:
 * the bridge should keep working, and say so once).  When root edits the
 * files of a daemon that runs as another user (`sudo lockbridge user
 * add`), new files take the owner of the directory they are made in, so
 * the daemon can still read them.
 */
#ifndef LB_CORE_FMODE_H
#define LB_CORE_FMODE_H

#include <stdbool.h>
#include <stddef.h>

typedef void (*fmode_warn_fn)(void *ctx, const char *msg);

/* Makes dir (and missing parents) 0700, or takes away the group's and
 * others' bits of an existing one (warned).  0, or -1 with "dir: reason". */
int fmode_dir(const char *dir, fmode_warn_fn warn, void *ctx, char *err,
              size_t errlen);

/* An existing path: group/other bits taken away (warned).  A missing one:
 * created empty, 0600, owned like its directory, when create is true;
 * left missing otherwise.  0, or -1 with "path: reason". */
int fmode_file(const char *path, bool create, fmode_warn_fn warn, void *ctx,
               char *err, size_t errlen);

/* Running as root: gives fd the owner of like_path (the file it replaces,
 * or the directory it goes in).  Otherwise nothing.  0, or -1 with errno. */
int fmode_own_like(int fd, const char *like_path);

#endif
