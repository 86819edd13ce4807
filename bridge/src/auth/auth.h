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
 * every file here 0600, and an existing file or directory that others may
 * read is tightened, with a warning through auth_opts.warn):
 *   users file (auth.users, default <data_dir>/users): one user a line,
 *     "name:role:hash:created:changed" (created: when the user was added,
 *     changed: when the password was last set, both Unix seconds); lines
 *     starting with '#' and empty lines are ignored.  Replaced atomically
 *     (a temporary file, fsync, rename) under a lock file
 *     (<users>.lock), so `lockbridge user ...` and the daemon never lose
 *     each other's changes.  Edited by `lockbridge user ...` while the
 *     daemon runs: the handle's own thread notices the change within a
 *     second (inode, size, mtime) and reloads it: a deleted user's
 *     sessions end, so do those of a user whose password was reset, and a
 *     changed role applies at once.  A file with a bad line is refused
 *     whole ("PATH:LINE: why" for each): auth_open fails, a reload keeps
 *     the users it had.
 *   <data_dir>/auth.db (SQLite, WAL): sessions (by the SHA-256 of their id,
 *     never the id itself), tokens (by the SHA-256 of the secret), so
 *     sessions and tokens survive a restart.
 *   <data_dir>/audit.db (SQLite, WAL, synchronous=FULL): the audit log.
 *
 * Password hashes name their parameters so they can be raised later:
 *   $scrypt$ln=17,r=8,p=1$<salt base64>$<hash base64>   (the default)
 *   $pbkdf2-sha256$i=600000$<salt base64>$<hash base64>  (also verified)
 * base64 is the standard alphabet (A-Z a-z 0-9 + /) without '=' padding,
 * as in the PHC string format; salts are 16 random bytes (RAND_bytes),
 * hashes 32 bytes (any length from 16 to 64 is verified).  scrypt at
 * N = 2^17 needs 128 MiB and a sizeable fraction of a second (0.7 s here),
 * by design: auth_login() and the password functions are slow and are
 * called on a worker thread, one at a time, never on the service thread.
 *
 * Threads: an `auth` handle is shared by the service thread and one login
 * worker; it locks internally, and it runs one thread of its own,
 * "auth-watch", which looks at the users file and auth.db every second
 * and reloads what another process changed.  The functions marked
 * "worker" may block (scrypt, fsync); the ones marked "any" never touch
 * the disk and never wait for a function that does.
 *
 * Audit records: user is who acted (the user, a token's name, or for the
 * command line the local Unix user), address where from (the client's
 * address, or "cli"); action is one of login, token-login, logout,
 * passwd (a user's own), user-add, user-del, user-role, user-passwd (set
 * by an admin), token-add, token-del; result is ok, bad (wrong password,
 * unknown user or token), throttled (this failure started a wait) or
 * error (the change failed after it was recorded).  A password or a
 * session id or token secret is never written anywhere; a login name that
 * is not a user is not written either (it may be a password typed into
 * the wrong field): such records have user "" and detail "unknown user".
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
/* The four roles a user or token can have: 0, or -1 for anything else
 * ("none" included: it is no role to give anyone). */
int auth_role_parse(const char *s, auth_role *out);

/* A user (or token) name: 1-64 of a-z A-Z 0-9 . _ -, not starting with -
 * or . */
bool auth_name_valid(const char *name);

/* The password rule, for every password that is set (never for one that
 * is checked): at least AUTH_PASSWORD_MIN characters (UTF-8 characters,
 * not bytes), at most AUTH_PASSWORD_MAX bytes, no control characters.
 * 0, or -1 with why ("a password needs at least 10 characters") in why. */
#define AUTH_PASSWORD_MIN 10
#define AUTH_PASSWORD_MAX 1024
int auth_password_ok(const char *password, char *why, size_t whylen);

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
    uint64_t throttle_window_ns; /* failures count this long, and the
                                    longest wait is this long (15 min) */
    /* Something the caller should say but that is no failure: a file or
     * directory whose mode was tightened, a users file that changed into
     * one with bad lines (the message then names every bad line).  Called
     * on whichever thread found it, auth-watch included, without the
     * handle's locks held; NULL: not said. */
    void (*warn)(void *ctx, const char *msg);
    void *warn_ctx;
} auth_opts;

/* Opens (creating) the state directory and files and loads the users and
 * the sessions.  A missing users file is not an error: there are no users
 * yet (acting is then impossible).  Durations of 0 take the defaults
 * above.  NULL with "path: reason" in err.  The handle's thread is started
 * here and stopped by auth_close. */
auth *auth_open(const auth_opts *o, char *err, size_t errlen);
/* Stops auth-watch; does not flush (call auth_flush first); NULL is a
 * no-op. */
void auth_close(auth *a);

/* How many users exist (any): 0 means nobody can act yet, and the
 * dashboard says how to add one. */
size_t auth_user_count(auth *a);

/* A session as the web module sees it.  For a kiosk token's session,
 * user is the token's name too. */
typedef struct {
    char user[65];
    auth_role role;            /* the user's role now, or the token's */
    bool token;                /* a kiosk token's session */
    char token_name[65];
    int64_t created_ns, expires_ns;
} auth_session;

#define AUTH_SID_LEN 32        /* hex characters of a session id (128 bit) */

/* Any thread, no disk: the session whose id is sid (AUTH_SID_LEN
 * lowercase hex), if it exists and has not expired at now_ns; it counts as
 * used (idle timer restarted; the new last-use is written to disk later,
 * in batches, by the worker's auth_flush).  A user's session ends after
 * session_idle unused or session_max after login, whichever is first; a
 * token's session only token_session after it was made (a wall screen may
 * sit on one WebSocket for days).  0, or -1 (no such session, expired,
 * user or token gone). */
int auth_session_check(auth *a, const char *sid, int64_t now_ns,
                       auth_session *out);
/* Any thread, no disk: as auth_session_check, but the session does not
 * count as used.  For a connection that stays open (a WebSocket), asking
 * again whether the session it was opened with still stands: an open
 * connection is no activity of the person's. */
int auth_session_peek(auth *a, const char *sid, int64_t now_ns,
                      auth_session *out);

typedef enum {
    AUTH_OK = 0,
    AUTH_BAD,                  /* wrong user or password: one answer */
    AUTH_THROTTLED,            /* too many failures: *retry_after_s */
    AUTH_ERROR,                /* the disk failed: *err says */
    AUTH_WEAK,                 /* a new password breaks the rule: *err says
                                  which (auth_password_ok); nothing changed */
} auth_result;

/* Worker.  Checks the throttles (5 failures for that user or from that
 * address within throttle_window: AUTH_THROTTLED with a growing wait,
 * 30 s doubling up to the window, or the window when that is shorter; a
 * correct password is refused too while it lasts; a window without a
 * failure forgets the past; never a lockout for good),
 * verifies the password (a missing user costs the same time as a wrong
 * password), writes the audit record (before anything takes effect),
 * creates a new session and returns its id in sid (AUTH_SID_LEN + 1
 * bytes).  address is the client's, for throttling (IPv6 by /64) and the
 * audit log.  With AUTH_BAD, *retry_after_s is the wait this failure
 * started (0: none). */
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
 * throttled like a login; every other session of the user ends).
 * AUTH_BAD also for a token's session; AUTH_WEAK when new_password breaks
 * the rule. */
auth_result auth_change_password(auth *a, const char *sid, const char *old,
                                 const char *new_password, const char *address,
                                 int64_t now_ns, unsigned *retry_after_s,
                                 char *err, size_t errlen);

/* Worker: writes the sessions' last use (see auth_session_check) and
 * drops expired ones.  The web module calls it every minute and at exit.
 * A failure is said through auth_opts.warn and retried next time. */
void auth_flush(auth *a, int64_t now_ns);

/* Worker (auth-watch calls it every second; so do the logins and the
 * token functions): reloads the users file if it changed, and the tokens
 * if another process changed them, ending the sessions that no longer
 * stand.  1 something was reloaded, 0 nothing had changed, -1 the users
 * file changed into one with bad lines (err names each; the users loaded
 * before are kept, and that version is not read, nor warned about,
 * again) or auth.db could not be read. */
int auth_reload(auth *a, char *err, size_t errlen);

/* Worker: one audit record, synchronously on disk (synchronous=FULL)
 * before it returns: who, what, when (UTC, ns), from where, result.  For
 * the operator actions of later issues.  0, or -1 with err. */
int auth_audit(auth *a, const char *user, const char *action,
               const char *detail, const char *address, const char *result,
               int64_t now_ns, char *err, size_t errlen);

/* ---- users and tokens (worker; the command line, later an admin page) ---
 * by is who does it (audit user), address where from ("cli").  Each
 * writes its audit record first; 0, or -1 with err ("no user 'bob'",
 * "user 'bob' exists", "users: ...: No space left on device").  A name,
 * role or password that breaks the rules is -1 too; the command line
 * checks them first to say so as a usage error. */

int auth_user_add(auth *a, const char *name, auth_role role,
                  const char *password, const char *by, const char *address,
                  int64_t now_ns, char *err, size_t errlen);
/* Sets a user's password (an admin's reset: the old one is not asked);
 * every session of the user ends. */
int auth_user_passwd(auth *a, const char *name, const char *password,
                     const char *by, const char *address, int64_t now_ns,
                     char *err, size_t errlen);
/* The user's sessions keep going with the new role. */
int auth_user_role(auth *a, const char *name, auth_role role,
                   const char *by, const char *address, int64_t now_ns,
                   char *err, size_t errlen);
/* The user's sessions end. */
int auth_user_del(auth *a, const char *name, const char *by,
                  const char *address, int64_t now_ns, char *err,
                  size_t errlen);

/* A kiosk token: a 256-bit random secret, base64url without padding
 * (AUTH_TOKEN_LEN characters), written into secret (AUTH_TOKEN_LEN + 1
 * bytes); only its SHA-256 is kept, so this is the one time it is seen.
 * role: viewer, operator or engineer (a URL on a wall screen is no way to
 * hand out admin). */
#define AUTH_TOKEN_LEN 43
int auth_token_add(auth *a, const char *name, auth_role role,
                   const char *by, const char *address, int64_t now_ns,
                   char *secret, size_t secretlen, char *err, size_t errlen);
/* The token stops working and its sessions end. */
int auth_token_del(auth *a, const char *name, const char *by,
                   const char *address, int64_t now_ns, char *err,
                   size_t errlen);

/* ---- listings ------------------------------------------------------------ */

typedef struct {
    char name[65];
    auth_role role;
    int64_t created_ns, changed_ns;
} auth_user_info;

typedef struct {
    char name[65];
    auth_role role;
    int64_t created_ns, last_used_ns;  /* last_used_ns 0: never used */
} auth_token_info;

typedef struct {
    int64_t ts_ns;
    char user[65];
    char action[33];
    char detail[256];
    char address[64];
    char result[33];
} auth_audit_row;

/* Any thread, no disk (the handle's copies): each calls cb per item, in
 * name order, without the handle's locks held (a non-zero return stops);
 * 0, or -1 with err. */
int auth_users_each(auth *a, int (*cb)(void *, const auth_user_info *),
                    void *ctx, char *err, size_t errlen);
int auth_tokens_each(auth *a, int (*cb)(void *, const auth_token_info *),
                     void *ctx, char *err, size_t errlen);
/* Reads the disk (the web module calls it on its query worker): audit
 * records with from_ns <= ts < to_ns, oldest first (in the order written
 * within one nanosecond).  state_dir is data_dir: the command line reads
 * the log without a daemon.  No audit.db yet is no records.  0, or -1
 * with err. */
int auth_audit_each(const char *state_dir, int64_t from_ns, int64_t to_ns,
                    int (*cb)(void *, const auth_audit_row *), void *ctx,
                    char *err, size_t errlen);
/* The same for the newest `limit` (> 0) records of the range only, still
 * oldest first; *truncated says whether the range held more (a page
 * shows the newest, and a wide range must not build a reply of years). */
int auth_audit_newest(const char *state_dir, int64_t from_ns, int64_t to_ns,
                      size_t limit, bool *truncated,
                      int (*cb)(void *, const auth_audit_row *), void *ctx,
                      char *err, size_t errlen);

#endif
