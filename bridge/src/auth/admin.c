/*
 * admin.c - changing users and tokens (auth.h's user and token
 * functions, and a user's own auth_change_password) and listing them.
 *
 * A change of the users file is made on its newest version: read again
 * under the lock file, changed, audited, written, and only then taken
 * into memory, so the command line and the daemon never lose each
 * other's changes.  Locks as in auth.c: io for the whole change, mu only
 * to read or swap memory; the slow hash of a new password is made before
 * either is taken.
 */
#include "auth/auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "auth/b64.h"
#include "auth/internal.h"

/* ---- the users file ----------------------------------------------------- */

/* One change to the users file, made on its newest version (read again
 * under the lock file, so a change by another process is not lost). */
typedef enum { EDIT_ADD, EDIT_PASSWD, EDIT_ROLE, EDIT_DEL } auth_edit_kind;

typedef struct {
    auth_edit_kind kind;
    const char *name;
    auth_role role;
    const char *hash;
    int64_t now_s;
} auth_edit;

static int auth_edit_apply(users_list *l, const auth_edit *e, char *err,
                           size_t errlen)
{
    users_entry *u = users_find(l, e->name);
    if (e->kind == EDIT_ADD) {
        if (u) {
            auth_seterr(err, errlen, "user '%s' exists", e->name);
            return -1;
        }
        users_entry n = {.role = e->role, .created_s = e->now_s,
                         .changed_s = e->now_s};
        snprintf(n.name, sizeof n.name, "%s", e->name);
        snprintf(n.hash, sizeof n.hash, "%s", e->hash);
        if (users_add(l, &n) < 0) {
            auth_seterr(err, errlen, "auth: out of memory");
            return -1;
        }
        return 0;
    }
    if (!u) {
        auth_seterr(err, errlen, "no user '%s'", e->name);
        return -1;
    }
    if (e->kind == EDIT_PASSWD) {
        snprintf(u->hash, sizeof u->hash, "%s", e->hash);
        u->changed_s = e->now_s;
    } else if (e->kind == EDIT_ROLE) {
        u->role = e->role;
    } else {
        users_remove(l, u);
    }
    return 0;
}

/* io held.  Reads the users file afresh under its lock file, applies e,
 * writes the audit record (by, action, detail), then the file, then
 * memory; sessions follow (auth_users_apply, keep spared).  end_db: also
 * delete the user's session rows but keep's, for the sessions of a daemon
 * that is not this handle. */
static int auth_edit_locked(auth *a, const auth_edit *e, const char *by,
                            const char *action, const char *detail,
                            const char *address, int64_t now_ns,
                            bool end_db, const unsigned char *keep,
                            char *err, size_t errlen)
{
    int lock = users_lock(a->users_path, a->warn, a->warn_ctx, err, errlen);
    if (lock < 0)
        return -1;
    users_list l;
    users_stamp st;
    int rc = -1;
    if (users_load(a->users_path, &l, &st, err, errlen) < 0)
        goto out;
    if (auth_edit_apply(&l, e, err, errlen) < 0)
        goto out;
    if (audit_add(a->log, now_ns, by, action, detail, address, "ok", err,
                  errlen) < 0)
        goto out;
    if (users_write(a->users_path, &l, &st, err, errlen) < 0) {
        audit_add(a->log, now_ns, by, action, err, address, "error", NULL,
                  0);
        goto out;
    }
    a->stamp = st;
    a->reload_err[0] = '\0';
    pthread_mutex_lock(&a->mu);
    auth_users_apply(a, &l, keep);
    pthread_mutex_unlock(&a->mu);
    /* Memory is done; the rows on disk are the sessions of the daemon
     * (when this handle is the command line's) and of the next start.
     * A row kept by mistake here would come back at the next start, since
     * nothing on disk says which password a session was made with. */
    if (end_db)
        store_sessions_del_user(a->db, e->name, keep, NULL, 0);
    rc = 0;
out:
    users_list_free(&l);
    users_unlock(lock);
    return rc;
}

static int auth_check_name(const char *what, const char *name, char *err,
                           size_t errlen)
{
    if (auth_name_valid(name))
        return 0;
    auth_seterr(err, errlen, "not a %s name (1-64 of a-z A-Z 0-9 . _ -, not "
                "starting with - or .)", what);
    return -1;
}

static int auth_check_role(auth_role role, char *err, size_t errlen)
{
    if (role >= AUTH_VIEWER && role <= AUTH_ADMIN)
        return 0;
    auth_seterr(err, errlen, "not a role (viewer, operator, engineer, "
                "admin)");
    return -1;
}

static int auth_edit_run(auth *a, const auth_edit *e, const char *by,
                         const char *action, const char *detail,
                         const char *address, int64_t now_ns, bool end_db,
                         char *err, size_t errlen)
{
    pthread_mutex_lock(&a->io);
    int rc = auth_edit_locked(a, e, by, action, detail, address, now_ns,
                              end_db, NULL, err, errlen);
    pthread_mutex_unlock(&a->io);
    return rc;
}

int auth_user_add(auth *a, const char *name, auth_role role,
                  const char *password, const char *by, const char *address,
                  int64_t now_ns, char *err, size_t errlen)
{
    if (auth_check_name("user", name, err, errlen) < 0 ||
        auth_check_role(role, err, errlen) < 0 ||
        auth_password_ok(password, err, errlen) < 0)
        return -1;
    /* Refused before the slow hash when it is known already. */
    pthread_mutex_lock(&a->mu);
    bool exists = users_find(&a->users, name) != NULL;
    pthread_mutex_unlock(&a->mu);
    if (exists) {
        auth_seterr(err, errlen, "user '%s' exists", name);
        return -1;
    }
    char hash[AUTH_HASH_MAX], detail[96];
    if (auth_hash_new(a, password, hash, sizeof hash) < 0) {
        auth_seterr(err, errlen, "auth: cannot hash the password");
        return -1;
    }
    snprintf(detail, sizeof detail, "%s role %s", name, auth_role_name(role));
    auth_edit e = {EDIT_ADD, name, role, hash, now_ns / AUTH_NS_PER_S};
    int rc = auth_edit_run(a, &e, by, "user-add", detail, address, now_ns,
                           false, err, errlen);
    OPENSSL_cleanse(hash, sizeof hash);
    return rc;
}

int auth_user_passwd(auth *a, const char *name, const char *password,
                     const char *by, const char *address, int64_t now_ns,
                     char *err, size_t errlen)
{
    if (auth_check_name("user", name, err, errlen) < 0 ||
        auth_password_ok(password, err, errlen) < 0)
        return -1;
    pthread_mutex_lock(&a->mu);
    bool exists = users_find(&a->users, name) != NULL;
    pthread_mutex_unlock(&a->mu);
    if (!exists) {
        auth_seterr(err, errlen, "no user '%s'", name);
        return -1;
    }
    char hash[AUTH_HASH_MAX];
    if (auth_hash_new(a, password, hash, sizeof hash) < 0) {
        auth_seterr(err, errlen, "auth: cannot hash the password");
        return -1;
    }
    auth_edit e = {EDIT_PASSWD, name, AUTH_NONE, hash, now_ns / AUTH_NS_PER_S};
    int rc = auth_edit_run(a, &e, by, "user-passwd", name, address, now_ns,
                           true, err, errlen);
    OPENSSL_cleanse(hash, sizeof hash);
    return rc;
}

int auth_user_role(auth *a, const char *name, auth_role role,
                   const char *by, const char *address, int64_t now_ns,
                   char *err, size_t errlen)
{
    if (auth_check_name("user", name, err, errlen) < 0 ||
        auth_check_role(role, err, errlen) < 0)
        return -1;
    char detail[96];
    snprintf(detail, sizeof detail, "%s role %s", name, auth_role_name(role));
    auth_edit e = {EDIT_ROLE, name, role, NULL, now_ns / AUTH_NS_PER_S};
    return auth_edit_run(a, &e, by, "user-role", detail, address, now_ns,
                         false, err, errlen);
}

int auth_user_del(auth *a, const char *name, const char *by,
                  const char *address, int64_t now_ns, char *err,
                  size_t errlen)
{
    if (auth_check_name("user", name, err, errlen) < 0)
        return -1;
    auth_edit e = {EDIT_DEL, name, AUTH_NONE, NULL, now_ns / AUTH_NS_PER_S};
    return auth_edit_run(a, &e, by, "user-del", name, address, now_ns, true,
                         err, errlen);
}

auth_result auth_change_password(auth *a, const char *sid, const char *old,
                                 const char *new_password, const char *address,
                                 int64_t now_ns, unsigned *retry_after_s,
                                 char *err, size_t errlen)
{
    if (retry_after_s)
        *retry_after_s = 0;
    auth_seterr(err, errlen, "%s", "");
    unsigned char h[STORE_HASH_LEN];
    if (!a || auth_sid_hash(sid, h) < 0)
        return AUTH_BAD;
    char user[65] = "", hash[AUTH_HASH_MAX] = "";
    char ukey[80], akey[80];
    pthread_mutex_lock(&a->mu);
    auth_sess *s = auth_sess_find(a, h);
    auth_role role;
    bool live = s && !s->token[0] && auth_sess_alive(a, s, now_ns, &role);
    if (live) {
        memcpy(user, s->user, sizeof user);
        snprintf(hash, sizeof hash, "%s", users_find(&a->users, user)->hash);
    }
    pthread_mutex_unlock(&a->mu);
    if (!live)
        return AUTH_BAD;
    bool named;
    auth_keys(user, address, ukey, sizeof ukey, akey, sizeof akey, &named);
    pthread_mutex_lock(&a->mu);
    unsigned wait = auth_throttled(a, ukey, akey, now_ns);
    pthread_mutex_unlock(&a->mu);
    if (wait) {
        if (retry_after_s)
            *retry_after_s = wait;
        return AUTH_THROTTLED;
    }
    if (auth_password_ok(new_password, err, errlen) < 0)
        return AUTH_WEAK;
    bool fits = old && strlen(old) <= AUTH_LOGIN_PASSWORD_MAX;
    bool ok = auth_verify_password(fits ? old : "", hash) == 1 && fits;
    OPENSSL_cleanse(hash, sizeof hash);
    pthread_mutex_lock(&a->mu);
    if (ok)
        throttle_ok(a->thr_user, ukey);
    else
        wait = auth_count_failure(a, ukey, akey, now_ns);
    pthread_mutex_unlock(&a->mu);
    if (!ok)
        return auth_failed(a, "passwd", user, "wrong password", address, wait,
                           now_ns, retry_after_s, err, errlen);
    if (auth_hash_new(a, new_password, hash, sizeof hash) < 0) {
        auth_seterr(err, errlen, "auth: cannot hash the password");
        return AUTH_ERROR;
    }
    auth_edit e = {EDIT_PASSWD, user, AUTH_NONE, hash, now_ns / AUTH_NS_PER_S};
    pthread_mutex_lock(&a->io);
    int rc = auth_edit_locked(a, &e, user, "passwd", "", address, now_ns,
                              true, h, err, errlen);
    pthread_mutex_unlock(&a->io);
    OPENSSL_cleanse(hash, sizeof hash);
    return rc == 0 ? AUTH_OK : AUTH_ERROR;
}

/* ---- tokens ------------------------------------------------------------ */

int auth_token_add(auth *a, const char *name, auth_role role,
                   const char *by, const char *address, int64_t now_ns,
                   char *secret, size_t secretlen, char *err, size_t errlen)
{
    if (auth_check_name("token", name, err, errlen) < 0)
        return -1;
    if (role < AUTH_VIEWER || role > AUTH_ENGINEER) {
        auth_seterr(err, errlen, "a token's role is viewer, operator or "
                    "engineer (its URL is on a wall screen: admin needs a "
                    "person who logs in)");
        return -1;
    }
    if (!secret || secretlen < AUTH_TOKEN_LEN + 1) {
        auth_seterr(err, errlen, "auth: no room for the token");
        return -1;
    }
    unsigned char raw[AUTH_SECRET_BYTES];
    char sec[AUTH_TOKEN_LEN + 1];
    store_token t = {.role = role, .created_ns = now_ns};
    snprintf(t.name, sizeof t.name, "%s", name);
    if (RAND_bytes(raw, sizeof raw) != 1 ||
        b64_encode(raw, sizeof raw, true, sec, sizeof sec) < 0 ||
        auth_sha256(sec, AUTH_TOKEN_LEN, t.hash) < 0) {
        OPENSSL_cleanse(raw, sizeof raw);
        auth_seterr(err, errlen, "auth: no random bytes for a token");
        return -1;
    }
    OPENSSL_cleanse(raw, sizeof raw);
    char detail[96], say[AUTH_MSG_MAX], rerr[AUTH_MSG_MAX];
    snprintf(detail, sizeof detail, "%s role %s", name, auth_role_name(role));
    int rc = -1;
    pthread_mutex_lock(&a->io);
    /* Another process may have made one of that name since we looked. */
    auth_reload_locked(a, rerr, sizeof rerr, say, sizeof say);
    pthread_mutex_lock(&a->mu);
    bool exists = auth_tok_find(a, name) != NULL;
    pthread_mutex_unlock(&a->mu);
    if (exists) {
        auth_seterr(err, errlen, "token '%s' exists", name);
    } else if (audit_add(a->log, now_ns, by, "token-add", detail, address,
                         "ok", err, errlen) == 0) {
        if (store_token_add(a->db, &t, by, err, errlen) < 0) {
            audit_add(a->log, now_ns, by, "token-add", err, address, "error",
                      NULL, 0);
        } else {
            rc = 0;
            pthread_mutex_lock(&a->mu);
            store_token *v = realloc(a->toks, (a->n_toks + 1) * sizeof *v);
            if (v) {
                a->toks = v;
                a->toks[a->n_toks++] = t;
            }
            pthread_mutex_unlock(&a->mu);
            /* Our own commit does not move data_version; a reload would
             * find the row anyway if memory ran out just now. */
        }
    }
    pthread_mutex_unlock(&a->io);
    auth_say(a, say);
    if (rc == 0)
        memcpy(secret, sec, sizeof sec);
    OPENSSL_cleanse(sec, sizeof sec);
    return rc;
}

int auth_token_del(auth *a, const char *name, const char *by,
                   const char *address, int64_t now_ns, char *err,
                   size_t errlen)
{
    if (auth_check_name("token", name, err, errlen) < 0)
        return -1;
    char say[AUTH_MSG_MAX], rerr[AUTH_MSG_MAX];
    int rc = -1;
    pthread_mutex_lock(&a->io);
    auth_reload_locked(a, rerr, sizeof rerr, say, sizeof say);
    pthread_mutex_lock(&a->mu);
    bool exists = auth_tok_find(a, name) != NULL;
    pthread_mutex_unlock(&a->mu);
    bool found = false;
    if (!exists) {
        auth_seterr(err, errlen, "no token '%s'", name);
    } else if (audit_add(a->log, now_ns, by, "token-del", name, address, "ok",
                         err, errlen) == 0) {
        if (store_token_del(a->db, name, &found, err, errlen) < 0) {
            audit_add(a->log, now_ns, by, "token-del", err, address, "error",
                      NULL, 0);
        } else {
            rc = 0;
            pthread_mutex_lock(&a->mu);
            store_token *t = auth_tok_find(a, name);
            if (t) {
                size_t n = a->n_toks;
                store_token *v = malloc((n ? n : 1) * sizeof *v);
                if (v) {
                    size_t m = 0;
                    for (size_t i = 0; i < n; i++)
                        if (&a->toks[i] != t)
                            v[m++] = a->toks[i];
                    auth_tokens_apply(a, v, m);
                }
            }
            pthread_mutex_unlock(&a->mu);
        }
    }
    pthread_mutex_unlock(&a->io);
    auth_say(a, say);
    return rc;
}

/* ---- listings ----------------------------------------------------------- */

int auth_users_each(auth *a, int (*cb)(void *, const auth_user_info *),
                    void *ctx, char *err, size_t errlen)
{
    users_list copy;
    pthread_mutex_lock(&a->mu);
    int rc = users_copy(&copy, &a->users);
    pthread_mutex_unlock(&a->mu);
    if (rc < 0) {
        auth_seterr(err, errlen, "auth: out of memory");
        return -1;
    }
    for (size_t i = 0; i < copy.n; i++) {
        auth_user_info u = {.role = copy.v[i].role,
                            .created_ns = copy.v[i].created_s * AUTH_NS_PER_S,
                            .changed_ns = copy.v[i].changed_s * AUTH_NS_PER_S};
        memcpy(u.name, copy.v[i].name, sizeof u.name);
        if (cb(ctx, &u))
            break;
    }
    for (size_t i = 0; i < copy.n; i++)
        OPENSSL_cleanse(copy.v[i].hash, sizeof copy.v[i].hash);
    users_list_free(&copy);
    return 0;
}

static int auth_token_cmp(const void *x, const void *y)
{
    return strcmp(((const auth_token_info *)x)->name,
                  ((const auth_token_info *)y)->name);
}

int auth_tokens_each(auth *a, int (*cb)(void *, const auth_token_info *),
                     void *ctx, char *err, size_t errlen)
{
    pthread_mutex_lock(&a->mu);
    size_t n = a->n_toks;
    auth_token_info *v = malloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; v && i < n; i++) {
        memset(&v[i], 0, sizeof v[i]);
        memcpy(v[i].name, a->toks[i].name, sizeof v[i].name);
        v[i].role = a->toks[i].role;
        v[i].created_ns = a->toks[i].created_ns;
        v[i].last_used_ns = a->toks[i].last_used_ns;
    }
    pthread_mutex_unlock(&a->mu);
    if (!v) {
        auth_seterr(err, errlen, "auth: out of memory");
        return -1;
    }
    qsort(v, n, sizeof *v, auth_token_cmp);
    for (size_t i = 0; i < n; i++)
        if (cb(ctx, &v[i]))
            break;
    free(v);
    return 0;
}

