/*
 * store.c - auth.db (see store.h): the sessions and tokens tables.
 *
 * Statements are prepared per call: a call is a login or a flush, rare
 * enough that keeping prepared statements around would only be state to
 * get wrong.  Times are ns since the epoch, roles their names.
 */
#include "auth/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/sqlutil.h"

#define STORE_SCHEMA_VERSION 1

static const char store_schema[] =
    "CREATE TABLE IF NOT EXISTS sessions ("
    "  hash BLOB PRIMARY KEY,"          /* SHA-256 of the id's hex */
    "  user TEXT NOT NULL,"
    "  token TEXT NOT NULL DEFAULT '',"
    "  created INTEGER NOT NULL,"
    "  last_used INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS tokens ("
    "  name TEXT PRIMARY KEY,"
    "  hash BLOB NOT NULL UNIQUE,"      /* SHA-256 of the secret */
    "  role TEXT NOT NULL,"
    "  created INTEGER NOT NULL,"
    "  last_used INTEGER NOT NULL DEFAULT 0,"
    "  by TEXT NOT NULL DEFAULT '');";

struct store {
    sqlite3 *db;
    int data_version;
};

static int store_fail(store *s, char *err, size_t errlen)
{
    return sqlutil_fail(s->db, "auth.db", err, errlen);
}

/* Finalizes st after its last step returned rc: 0 when that was
 * SQLITE_DONE, else -1 with the database's message (taken before the
 * finalize, which would replace it). */
static int store_finish(store *s, sqlite3_stmt *st, int rc, char *err,
                        size_t errlen)
{
    if (rc != SQLITE_DONE)
        store_fail(s, err, errlen);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int store_version(store *s, int *out)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "PRAGMA data_version", -1, &st, NULL)
        != SQLITE_OK)
        return -1;
    int rc = sqlite3_step(st) == SQLITE_ROW ? 0 : -1;
    if (rc == 0)
        *out = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return rc;
}

store *store_open(const char *dir, fmode_warn_fn warn, void *ctx, char *err,
                  size_t errlen)
{
    store *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "auth.db: out of memory");
        return NULL;
    }
    s->db = sqlutil_open(dir, "auth.db", store_schema, STORE_SCHEMA_VERSION,
                         warn, ctx, err, errlen);
    if (!s->db || store_version(s, &s->data_version) < 0) {
        if (s->db)
            store_fail(s, err, errlen);
        store_close(s);
        return NULL;
    }
    return s;
}

void store_close(store *s)
{
    if (!s)
        return;
    sqlite3_close(s->db);
    free(s);
}

int store_changed(store *s)
{
    int v;
    if (store_version(s, &v) < 0)
        return -1;
    int changed = v != s->data_version;
    s->data_version = v;
    return changed;
}

static void store_text(sqlite3_stmt *st, int col, char *out, size_t len)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(out, len, "%s", t ? (const char *)t : "");
}

/* A 32-byte blob column; false when it is anything else. */
static bool store_blob(sqlite3_stmt *st, int col, unsigned char *out)
{
    const void *b = sqlite3_column_blob(st, col);
    if (!b || sqlite3_column_bytes(st, col) != STORE_HASH_LEN)
        return false;
    memcpy(out, b, STORE_HASH_LEN);
    return true;
}

int store_sessions_each(store *s, int (*cb)(void *, const store_session *),
                        void *ctx, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT hash, user, token, created, "
                           "last_used FROM sessions", -1, &st, NULL)
        != SQLITE_OK)
        return store_fail(s, err, errlen);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        store_session x = {0};
        if (!store_blob(st, 0, x.hash))
            continue;
        store_text(st, 1, x.user, sizeof x.user);
        store_text(st, 2, x.token, sizeof x.token);
        x.created_ns = sqlite3_column_int64(st, 3);
        x.last_used_ns = sqlite3_column_int64(st, 4);
        if (cb(ctx, &x)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    return store_finish(s, st, rc, err, errlen);
}

/* Runs a prepared statement that returns no rows, and finalizes it. */
static int store_run(store *s, sqlite3_stmt *st, char *err, size_t errlen)
{
    return store_finish(s, st, sqlite3_step(st), err, errlen);
}

int store_session_add(store *s, const store_session *x, char *err,
                      size_t errlen)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO sessions (hash, "
                           "user, token, created, last_used) VALUES "
                           "(?1, ?2, ?3, ?4, ?5)", -1, &st, NULL)
        != SQLITE_OK)
        return store_fail(s, err, errlen);
    sqlite3_bind_blob(st, 1, x->hash, STORE_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, x->user, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, x->token, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, x->created_ns);
    sqlite3_bind_int64(st, 5, x->last_used_ns);
    return store_run(s, st, err, errlen);
}

int store_sessions_sync(store *s, const store_touch *touch, size_t n_touch,
                        const unsigned char (*gone)[STORE_HASH_LEN],
                        size_t n_gone, char *err, size_t errlen)
{
    if (n_touch == 0 && n_gone == 0)
        return 0;
    sqlite3_stmt *up = NULL, *del = NULL;
    if (sqlutil_exec(s->db, "BEGIN IMMEDIATE", "auth.db", err, errlen) < 0)
        return -1;
    if (sqlite3_prepare_v2(s->db, "UPDATE sessions SET last_used = ?2 "
                           "WHERE hash = ?1 AND last_used < ?2", -1, &up,
                           NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db, "DELETE FROM sessions WHERE hash = ?1", -1,
                           &del, NULL) != SQLITE_OK)
        goto fail;
    for (size_t i = 0; i < n_touch; i++) {
        sqlite3_bind_blob(up, 1, touch[i].hash, STORE_HASH_LEN,
                          SQLITE_STATIC);
        sqlite3_bind_int64(up, 2, touch[i].last_used_ns);
        if (sqlite3_step(up) != SQLITE_DONE)
            goto fail;
        sqlite3_reset(up);
    }
    for (size_t i = 0; i < n_gone; i++) {
        sqlite3_bind_blob(del, 1, gone[i], STORE_HASH_LEN, SQLITE_STATIC);
        if (sqlite3_step(del) != SQLITE_DONE)
            goto fail;
        sqlite3_reset(del);
    }
    sqlite3_finalize(up);
    sqlite3_finalize(del);
    up = del = NULL;
    if (sqlutil_exec(s->db, "COMMIT", "auth.db", err, errlen) == 0)
        return 0;
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
fail:
    store_fail(s, err, errlen);
    sqlite3_finalize(up);
    sqlite3_finalize(del);
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

int store_sessions_del_user(store *s, const char *user,
                            const unsigned char *keep, char *err,
                            size_t errlen)
{
    static const unsigned char none[STORE_HASH_LEN];
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "DELETE FROM sessions WHERE user = ?1 AND "
                           "token = '' AND hash != ?2", -1, &st, NULL)
        != SQLITE_OK)
        return store_fail(s, err, errlen);
    sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, keep ? keep : none, STORE_HASH_LEN,
                      SQLITE_STATIC);
    return store_run(s, st, err, errlen);
}

int store_tokens_load(store *s, store_token **out, size_t *n, char *err,
                      size_t errlen)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT name, hash, role, created, "
                           "last_used FROM tokens ORDER BY name", -1, &st,
                           NULL) != SQLITE_OK)
        return store_fail(s, err, errlen);
    store_token *v = NULL;
    size_t cnt = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        store_token t = {0};
        char role[16];
        store_text(st, 0, t.name, sizeof t.name);
        store_text(st, 2, role, sizeof role);
        /* A row this lockbridge cannot read grants nothing. */
        if (!store_blob(st, 1, t.hash) || auth_role_parse(role, &t.role) < 0)
            continue;
        t.created_ns = sqlite3_column_int64(st, 3);
        t.last_used_ns = sqlite3_column_int64(st, 4);
        if (cnt == cap) {
            cap = cap ? cap * 2 : 8;
            store_token *nv = realloc(v, cap * sizeof *nv);
            if (!nv) {
                free(v);
                sqlite3_finalize(st);
                snprintf(err, errlen, "auth.db: out of memory");
                return -1;
            }
            v = nv;
        }
        v[cnt++] = t;
    }
    if (store_finish(s, st, rc, err, errlen) < 0) {
        free(v);
        return -1;
    }
    *out = v;
    *n = cnt;
    return 0;
}

int store_token_add(store *s, const store_token *t, const char *by,
                    char *err, size_t errlen)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "INSERT INTO tokens (name, hash, role, "
                           "created, last_used, by) VALUES (?1, ?2, ?3, ?4, "
                           "0, ?5)", -1, &st, NULL) != SQLITE_OK)
        return store_fail(s, err, errlen);
    sqlite3_bind_text(st, 1, t->name, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, t->hash, STORE_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, auth_role_name(t->role), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, t->created_ns);
    sqlite3_bind_text(st, 5, by ? by : "", -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_CONSTRAINT) {
        sqlite3_finalize(st);
        snprintf(err, errlen, "token '%s' exists", t->name);
        return -1;
    }
    return store_finish(s, st, rc, err, errlen);
}

int store_token_del(store *s, const char *name, bool *found, char *err,
                    size_t errlen)
{
    sqlite3_stmt *st = NULL;
    *found = false;
    if (sqlutil_exec(s->db, "BEGIN IMMEDIATE", "auth.db", err, errlen) < 0)
        return -1;
    if (sqlite3_prepare_v2(s->db, "DELETE FROM tokens WHERE name = ?1", -1,
                           &st, NULL) != SQLITE_OK)
        goto fail;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        goto fail;
    *found = sqlite3_changes(s->db) > 0;
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_prepare_v2(s->db, "DELETE FROM sessions WHERE token = ?1",
                           -1, &st, NULL) != SQLITE_OK)
        goto fail;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        goto fail;
    sqlite3_finalize(st);
    if (sqlutil_exec(s->db, "COMMIT", "auth.db", err, errlen) == 0)
        return 0;
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
fail:
    store_fail(s, err, errlen);
    sqlite3_finalize(st);
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

int store_token_used(store *s, const char *name, int64_t ts_ns, char *err,
                     size_t errlen)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "UPDATE tokens SET last_used = ?2 WHERE "
                           "name = ?1", -1, &st, NULL) != SQLITE_OK)
        return store_fail(s, err, errlen);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, ts_ns);
    return store_run(s, st, err, errlen);
}
