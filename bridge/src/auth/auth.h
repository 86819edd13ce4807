/*
 * auth.h - who may act on the station: users and roles, password hashes,
 * sessions, kiosk tokens, login throttling and the audit log.
 *
 * Roles are ordered; each includes the ones before it:
 *   viewer    reads (the default for anonymous access on loopback)
 *   operator  acknowledges, shelves, comments (when alarms exist)
 *   engineer  plus out-of-service, suppression, maintenance, the audit log
 *   admin     plus users and tokens
 *
 * Storage, all in the station's state directory (data_dir, created 0700;
 * every file here 0600):
 *   users file (auth.users, default <data_dir>/users): one user a line,
 *     "name:role:hash:created:changed", replaced atomically (write a
 *     temporary file, fsync, rename); edited by `lockbridge user ...` while
 *     the daemon runs, which notices the change on its next login attempt
 *     or session check and reloads it (a deleted user's sessions end, a
 *     changed role applies at once).
 *   <data_dir>/auth.db (SQLite, WAL): sessions (by the SHA-256 of their id,
 *     never the id itself), tokens (by hash too), so sessions and tokens
 *     survive a restart.
 *   <data_dir>/audit.db (SQLite, synchronous=FULL): the audit log.
 *
 * Password hashes name their parameters so they can be raised later:
 *   $scrypt$ln=17,r=8,p=1$<salt base64>$<hash base64>   (the default)
 *   $pbkdf2-sha256$i=600000$<salt base64>$<hash base64>  (also verified)
 * scrypt at N = 2^17 needs 128 MiB and a sizeable fraction of a second, by
 * design: auth_login() and auth_passwd() are slow and are called on a
 * worker thread, one at a time, never on the service thread.
 *
 * Threads: an `auth` handle is shared by the service thread and one login
 * worker; it locks internally.  The functions marked "worker" may block
 * (scrypt, fsync); the ones marked "any" never touch the disk.
 */
#ifndef LB_AUTH_H
#define LB_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    AUTH_NONE = -1,            /* no access (anonymous: none) */
    AUTH_VIEWER = 0,
    AUTH_OPERATOR,
    AUTH_ENGINEER,
    AUTH_ADMIN,
} auth_role;

/* "viewer", "operator", "engineer", "admin" (and "none"). */
const char *auth_role_name(auth_role r);
/* 0, or -1 for anything else. */
int auth_role_parse(const char *s, auth_role *out);

/* A user name: 1-64 of a-z A-Z 0-9 . _ -, not starting with - or . */
bool auth_name_valid(const char *name);

/* ---- password hashes (any thread; slow) -------------------------------- */

/* Hashes password with a fresh random salt (OpenSSL RAND_bytes) into out
 * (at least AUTH_HASH_MAX bytes), scrypt ln=17,r=8,p=1.  0, or -1. */
#define AUTH_HASH_MAX 256
int auth_hash_password(const char *password, char *out, size_t outlen);
/* 1 when password matches hash, 0 when not, -1 when the hash is not one
 * this module reads (or out of memory).  Constant-time comparison. */
int auth_verify_password(const char *password, const char *hash);

/* ---- the daemon's handle ----------------------------------------------- */

typedef struct auth auth;

typedef struct {
    const char *users_path;    /* the users file */
    const char *state_dir;     /* auth.db and audit.db live here */
    uint64_t session_idle_ns;  /* a session unused this long ends (30 min) */
    uint64_t session_max_ns;   /* and any session this old (12 h) */
    uint64_t token_session_ns; /* a kiosk token's session (30 days) */
} auth_opts;

/* Opens (creating) the state files and loads the users.  A missing users
 * file is not an error: there are no users yet (acting is then
 * impossible).  NULL with "path: reason" in err. */
auth *auth_open(const auth_opts *o, char *err, size_t errlen);
void auth_close(auth *a);

/* How many users exist (any): 0 means nobody can act yet, and the
 * dashboard says how to add one. */
size_t auth_user_count(auth *a);

/* A session as the web module sees it. */
typedef struct {
    char user[65];
    auth_role role;
    bool token;                /* a kiosk token's session */
    char token_name[65];
    int64_t created_ns, expires_ns;
} auth_session;

#define AUTH_SID_LEN 32        /* hex characters of a session id (128 bit) */

/* Any thread, no disk: the session whose id is sid (AUTH_SID_LEN hex), if
 * it exists and has not expired at now_ns; it counts as used (idle timer
 * restarted; the new last-use is written to disk later, in batches, by the
 * worker's auth_flush).  0, or -1 (no such session, expired, user gone). */
int auth_session_check(auth *a, const char *sid, int64_t now_ns,
                       auth_session *out);

typedef enum {
    AUTH_OK = 0,
    AUTH_BAD,                  /* wrong user or password: one answer */
    AUTH_THROTTLED,            /* too many failures: *retry_after_s */
    AUTH_ERROR,                /* the disk failed: *err says */
} auth_result;

/* Worker.  Checks the throttles (5 failures for that user or from that
 * address in 15 minutes: AUTH_THROTTLED with a growing wait), verifies
 * the password (a missing user costs the same time as a wrong password),
 * writes the audit record (before anything takes effect), creates a new
 * session and returns its id in sid (AUTH_SID_LEN + 1 bytes).  address is
 * the client's, for throttling and the audit log. */
auth_result auth_login(auth *a, const char *user, const char *password,
                       const char *address, int64_t now_ns, char *sid,
                       auth_session *out, unsigned *retry_after_s,
                       char *err, size_t errlen);

/* Worker: a kiosk token (the secret part of its URL) exchanged for a new
 * long-lived session of the token's role; audited.  AUTH_BAD for an
 * unknown or deleted token (throttled per address like passwords). */
auth_result auth_token_login(auth *a, const char *token, const char *address,
                             int64_t now_ns, char *sid, auth_session *out,
                             unsigned *retry_after_s, char *err,
                             size_t errlen);

/* Worker: ends the session (audited).  0, or -1 when there was none. */
int auth_logout(auth *a, const char *sid, const char *address,
                int64_t now_ns);

/* Worker: the session's user changes their password (old one verified,
 * throttled like a login; every other session of the user ends). */
auth_result auth_change_password(auth *a, const char *sid, const char *old,
                                 const char *new_password, const char *address,
                                 int64_t now_ns, unsigned *retry_after_s,
                                 char *err, size_t errlen);

/* Worker: writes the sessions' last use (see auth_session_check) and
 * drops expired ones.  The web module calls it every minute and at exit. */
void auth_flush(auth *a, int64_t now_ns);

/* Worker: one audit record, synchronously on disk (synchronous=FULL)
 * before it returns: who, what, when (UTC, ns), from where, result.  For
 * the operator actions of later issues.  0, or -1 with err. */
int auth_audit(auth *a, const char *user, const char *action,
               const char *detail, const char *address, const char *result,
               int64_t now_ns, char *err, size_t errlen);

/* ---- listings (any thread; they read the disk, so the web module calls
 * them on its query worker) --------------------------------------------- */

typedef struct {
    char name[65];
    auth_role role;
    int64_t created_ns, changed_ns;
} auth_user_info;

typedef struct {
    char name[65];
    auth_role role;
    int64_t created_ns, last_used_ns;
} auth_token_info;

typedef struct {
    int64_t ts_ns;
    char user[65];
    char action[33];
    char detail[256];
    char address[64];
    char result[33];
} auth_audit_row;

/* Each calls cb per item (a non-zero return stops); 0, or -1 with err. */
int auth_users_each(auth *a, int (*cb)(void *, const auth_user_info *),
                    void *ctx, char *err, size_t errlen);
int auth_tokens_each(auth *a, int (*cb)(void *, const auth_token_info *),
                     void *ctx, char *err, size_t errlen);
/* Audit records with from_ns <= ts < to_ns, oldest first.  state_dir is
 * data_dir: the command line reads the log without a daemon. */
int auth_audit_each(const char *state_dir, int64_t from_ns, int64_t to_ns,
                    int (*cb)(void *, const auth_audit_row *), void *ctx,
                    char *err, size_t errlen);

#endif
