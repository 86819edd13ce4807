/*
 * sqlutil.h - what the state directory's SQLite files share (auth.db,
 * audit.db, the alarm journal): opening one the way all want it.
 */
#ifndef LB_CORE_SQLUTIL_H
#define LB_CORE_SQLUTIL_H

#include <sqlite3.h>
#include <stddef.h>

#include "core/fmode.h"

/* Opens (creating, 0600) dir/name in WAL mode with synchronous=FULL and a
 * 5 s busy timeout, and runs schema (idempotent SQL) when user_version is
 * not version.  Modes of the file and of its -wal and -shm are checked
 * (and tightened, warned) first, because SQLite gives its side files the
 * mode of the database.  The connection, or NULL with "path: reason". */
sqlite3 *sqlutil_open(const char *dir, const char *name, const char *schema,
                      int version, fmode_warn_fn warn, void *ctx, char *err,
                      size_t errlen);

/* The same for a path: its directory is made (or tightened to) 0700
 * first (fmode_dir), then the file opened as sqlutil_open does.  "." for
 * a bare name.  The journals, whose path a map may give. */
sqlite3 *sqlutil_open_path(const char *path, const char *schema, int version,
                           fmode_warn_fn warn, void *ctx, char *err,
                           size_t errlen);
/* sqlite3_exec without results; 0, or -1 with "what: sqlite's message". */
int sqlutil_exec(sqlite3 *db, const char *sql, const char *what, char *err,
                 size_t errlen);

/* "what: sqlite's message" into err; returns -1. */
int sqlutil_fail(sqlite3 *db, const char *what, char *err, size_t errlen);

#endif
