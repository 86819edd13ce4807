/*
 * internal.h - what the files of the auth handle share (internal to
 * auth/): the handle itself, a session in memory, and the helpers both
 * halves use.  auth.c has the handle, its sessions, logins and reloads;
 * admin.c changes users and tokens and lists them.  Locking rules are in
 * auth.c's opening comment; each helper says which lock it wants.
 */
#ifndef LB_AUTH_INTERNAL_H
#define LB_AUTH_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/audit.h"
#include "auth/auth.h"
#include "core/fmode.h"
#include "auth/store.h"
#include "auth/throttle.h"
#include "auth/users.h"

#define AUTH_NS_PER_S 1000000000LL
#define AUTH_IDLE_DEFAULT_NS (30 * 60 * AUTH_NS_PER_S)
#define AUTH_MAX_DEFAULT_NS (12 * 3600 * AUTH_NS_PER_S)
#define AUTH_TOKEN_DEFAULT_NS (30 * 86400 * AUTH_NS_PER_S)
#define AUTH_WATCH_NS AUTH_NS_PER_S
/* Sessions one user (or one token) may hold; the oldest unused goes when
 * a new one would pass it.  A wall screen that reloads its page every hour
 * would otherwise pile up 720 sessions a month on one token. */
#define AUTH_SESSIONS_PER_USER 32
#define AUTH_SESSIONS_PER_TOKEN 8
#define AUTH_SECRET_BYTES 32
/* Passwords longer than this are not verified at all (AUTH_BAD after the
 * dummy hash): nobody sets one, and hashing megabytes is a cheap way to
 * spend a worker. */
#define AUTH_LOGIN_PASSWORD_MAX 4096
/* A reload's message: every bad line of the users file (users.c caps
 * them) and auth.db's error. */
#define AUTH_MSG_MAX 1400

typedef struct {
    unsigned char hash[STORE_HASH_LEN];   /* SHA-256 of the id's hex */
    char user[65];                        /* user, or the token's name */
    char token[65];                       /* "" for a user's session */
    int64_t created, last_used;
    bool dirty;                           /* last_used not on disk yet */
} auth_sess;

struct auth {
    char *users_path, *state_dir;
    int64_t idle_ns, max_ns, token_ns;
    fmode_warn_fn warn;
    void *warn_ctx;

    /* ---- guarded by io ---- */
    pthread_mutex_t io;
    store *db;
    audit_log *log;
    users_stamp stamp;            /* the users file version in memory */
    char reload_err[AUTH_MSG_MAX]; /* last said, so it is said once */

    /* ---- guarded by mu ---- */
    pthread_mutex_t mu;
    unsigned cost_ln, cost_r, cost_p;
    char dummy[AUTH_HASH_MAX];
    users_list users;
    store_token *toks;
    size_t n_toks;
    auth_sess *sess;
    size_t n_sess, cap_sess;
    unsigned char (*gone)[STORE_HASH_LEN]; /* to delete on disk */
    size_t n_gone, cap_gone;
    throttle *thr_user, *thr_addr;

    /* ---- auth-watch ---- */
    pthread_t watch;
    bool watching;
    pthread_mutex_t wmu;
    pthread_cond_t wcond;
    bool stop;                    /* under wmu */
};

/* ---- no lock needed ---- */

/* msg through the warn callback (no lock may be held). */
void auth_say(auth *a, const char *msg);
void auth_seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int auth_sha256(const void *data, size_t len,
                unsigned char out[STORE_HASH_LEN]);
/* The hash a session id is kept by; -1 for anything that is not
 * AUTH_SID_LEN lowercase hex digits. */
int auth_sid_hash(const char *sid, unsigned char out[STORE_HASH_LEN]);
/* A hash of password at the handle's cost (slow; takes mu briefly). */
int auth_hash_new(auth *a, const char *password, char *out, size_t outlen);
/* The throttle keys of a user name and an address; *have_user whether
 * the name can be one at all. */
void auth_keys(const char *user, const char *address, char *ukey,
               size_t ulen, char *akey, size_t alen, bool *have_user);
/* A failure's audit record (takes io) and its answer, AUTH_BAD, with the
 * wait it started in *retry_after_s. */
auth_result auth_failed(auth *a, const char *action, const char *user,
                        const char *detail, const char *address,
                        unsigned wait, int64_t now, unsigned *retry_after_s,
                        char *err, size_t errlen);

/* ---- mu held ---- */

auth_sess *auth_sess_find(auth *a, const unsigned char *hash);
/* Whether s still stands at now, and with which role. */
bool auth_sess_alive(auth *a, const auth_sess *s, int64_t now,
                     auth_role *role);
store_token *auth_tok_find(auth *a, const char *name);
/* Takes over l as the users (l left empty), ending the sessions of users
 * gone or whose password changed, except keep's. */
void auth_users_apply(auth *a, users_list *l, const unsigned char *keep);
/* Takes over v (malloc'd) as the tokens, ending the sessions of tokens
 * gone or made again under the same name. */
void auth_tokens_apply(auth *a, store_token *v, size_t n);
/* The longer of the user's and the address's waits (ukey may be NULL). */
unsigned auth_throttled(auth *a, const char *ukey, const char *akey,
                        int64_t now);
unsigned auth_count_failure(auth *a, const char *ukey, const char *akey,
                            int64_t now);

/* ---- io held ---- */

/* Reloads what changed on disk; a message not said before is copied to
 * say (to pass to auth_say once io is released).  As auth_reload. */
int auth_reload_locked(auth *a, char *err, size_t errlen, char *say,
                       size_t saylen);

#endif
