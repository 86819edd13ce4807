/*
 * users.h - the users file: parsing (with the line of every mistake),
 * writing (atomically, 0600, under a lock file), noticing a change, and
 * the names and roles it holds (internal to auth/; the format is in
 * auth.h).
 *
 * Nothing here locks memory or keeps state between calls: the handle
 * (auth.c) owns the list it loaded and decides when to look again.
 */
#ifndef LB_AUTH_USERS_H
#define LB_AUTH_USERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "auth/auth.h"
#include "core/fmode.h"

#define USERS_NAME_MAX 64
/* A line longer than this is not one the command line writes. */
#define USERS_LINE_MAX 1024
/* Beyond this the file is not a users file (the whole of it is read). */
#define USERS_FILE_MAX ((size_t)4 << 20)

typedef struct {
    char name[USERS_NAME_MAX + 1];
    auth_role role;
    char hash[AUTH_HASH_MAX];
    int64_t created_s, changed_s;     /* Unix seconds */
} users_entry;

typedef struct {
    users_entry *v;                   /* in name order (users_sort) */
    size_t n, cap;
} users_list;

/* What identifies one version of the file: a rename gives a new inode, an
 * edit in place a new size or mtime. */
typedef struct {
    bool exists;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime, ctime;
} users_stamp;

void users_list_free(users_list *l);
users_entry *users_find(const users_list *l, const char *name);
/* Appends a copy of e (then sorted).  0, or -1 out of memory. */
int users_add(users_list *l, const users_entry *e);
void users_remove(users_list *l, users_entry *e);
int users_copy(users_list *dst, const users_list *src);

/* Parses the text of a users file named path (for messages).  0 with *out
 * filled, or -1 with every bad line in err, one a line, as
 * "PATH:LINE: why", truncated to errlen. */
int users_parse(const char *path, const char *text, size_t len,
                users_list *out, char *err, size_t errlen);

/* Reads and parses path; a missing file is an empty list.  *stamp is the
 * version that was read (also on a parse error, so that a broken file is
 * reported once, not every second).  0, or -1 with err. */
int users_load(const char *path, users_list *out, users_stamp *stamp,
               char *err, size_t errlen);
/* The version on disk now.  0, or -1 with errno. */
int users_stamp_get(const char *path, users_stamp *s);
bool users_stamp_same(const users_stamp *a, const users_stamp *b);

/* Replaces path with l: a temporary file beside it (0600, owned like the
 * file it replaces when root writes it), written, fsynced, renamed over
 * path, the directory fsynced.  *stamp (may be NULL) is the new version.
 * 0, or -1 with err; on failure path is as it was. */
int users_write(const char *path, const users_list *l, users_stamp *stamp,
                char *err, size_t errlen);

/* Takes <path>.lock (flock, exclusive; waits up to 10 s for another
 * writer).  The descriptor, or -1 with err. */
int users_lock(const char *path, fmode_warn_fn warn, void *ctx, char *err,
               size_t errlen);
void users_unlock(int fd);

#endif
