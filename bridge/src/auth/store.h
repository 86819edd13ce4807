/*
 * store.h - auth.db: sessions and kiosk tokens on disk (internal to auth/).
 *
 * Both are kept by the SHA-256 of their secret, never the secret: a copy
 * of the file (a backup, a disk sent for repair) lets nobody in.  The
 * handle keeps everything in memory and writes through this; only one
 * thread uses a store at a time (the handle's disk lock).  Every function
 * returns 0, or -1 with "auth.db: reason" in err.
 */
#ifndef LB_AUTH_STORE_H
#define LB_AUTH_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/auth.h"
#include "core/fmode.h"

#define STORE_HASH_LEN 32

typedef struct store store;

typedef struct {
    unsigned char hash[STORE_HASH_LEN];
    char user[65];            /* the user, or the token's name */
    char token[65];           /* the token's name; "" for a user's session */
    int64_t created_ns, last_used_ns;
} store_session;

typedef struct {
    char name[65];
    unsigned char hash[STORE_HASH_LEN];
    auth_role role;
    int64_t created_ns, last_used_ns;
} store_token;

/* dir/auth.db, created 0600 if missing. */
store *store_open(const char *dir, fmode_warn_fn warn, void *ctx, char *err,
                  size_t errlen);
void store_close(store *s);

/* Every session row (cb returns non-zero to stop). */
int store_sessions_each(store *s, int (*cb)(void *, const store_session *),
                        void *ctx, char *err, size_t errlen);
int store_session_add(store *s, const store_session *x, char *err,
                      size_t errlen);
/* In one transaction: the last uses (hash, time pairs) and the sessions
 * gone; rows that are no longer there are no error. */
typedef struct {
    unsigned char hash[STORE_HASH_LEN];
    int64_t last_used_ns;
} store_touch;
int store_sessions_sync(store *s, const store_touch *touch, size_t n_touch,
                        const unsigned char (*gone)[STORE_HASH_LEN],
                        size_t n_gone, char *err, size_t errlen);
/* A user's sessions (not tokens'), except keep (NULL: all). */
int store_sessions_del_user(store *s, const char *user,
                            const unsigned char *keep, char *err,
                            size_t errlen);

/* Every token, in name order, into a malloc'd array. */
int store_tokens_load(store *s, store_token **out, size_t *n, char *err,
                      size_t errlen);
/* A new token; -1 with "token 'x' exists" when the name is taken. */
int store_token_add(store *s, const store_token *t, const char *by,
                    char *err, size_t errlen);
/* The token and its sessions, in one transaction; *found whether it was
 * there. */
int store_token_del(store *s, const char *name, bool *found, char *err,
                    size_t errlen);
int store_token_used(store *s, const char *name, int64_t ts_ns, char *err,
                     size_t errlen);

/* 1 when another connection (the command line, the daemon) committed to
 * auth.db since the last call, 0 when not, -1 on error. */
int store_changed(store *s);

#endif
