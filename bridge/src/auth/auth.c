/*
 * auth.c - the handle (auth.h): users, sessions and tokens in memory,
 * logins, throttles, reloads, and the order in which things reach the
 * disk.  Changing users and tokens, and listing them, is admin.c's.
 *
 * Locks.  Two mutexes, always taken in this order:
 *   io  serialises everything that touches the disk: the two SQLite
 *       connections, the users file (with its lock file against other
 *       processes) and the stamp of the version loaded.  Held by the
 *       worker, by auth-watch and by the command line, for as long as a
 *       write takes (fsync).
 *   mu  guards the memory: the users loaded, the tokens, the sessions,
 *       the sessions waiting to be deleted on disk, the throttles.  Held
 *       only to copy or change memory, never across I/O or a hash, so
 *       the service thread's auth_session_check waits for microseconds at
 *       most, whatever the disk is doing.
 * One "big" lock across both would make a session check wait for an
 * fsync; holding mu across scrypt would make it wait most of a second.
 *
 * Threads.  auth_session_check and the listings run on any thread and
 * take mu only.  The worker functions take io, then mu briefly.  The
 * handle's own thread, auth-watch, wakes every AUTH_WATCH_NS and runs
 * auth_reload, so that a change made by another process (the command
 * line) applies within a second without a session check ever touching
 * the disk; the warn callback is called with no lock held.
 *
 * Order of effects.  Every change writes its audit record first
 * (synchronous=FULL), then the change; a change that then fails writes a
 * second record with result "error".
 */
#include "auth/auth.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "auth/b64.h"
#include "auth/internal.h"
#include "auth/passwd.h"
#include "auth/testhook.h"

/* ---- messages ------------------------------------------------------------ */

void auth_say(auth *a, const char *msg)
{
    if (a->warn && msg[0])
        a->warn(a->warn_ctx, msg);
}

void auth_seterr(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- hashes of secrets ----------------------------------------------- */

int auth_sha256(const void *data, size_t len,
                       unsigned char out[STORE_HASH_LEN])
{
    unsigned int n = 0;
    return EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) == 1 &&
                   n == STORE_HASH_LEN ? 0 : -1;
}

/* The hash a session id is kept by; -1 when sid is not AUTH_SID_LEN
 * lowercase hex digits (no session has such an id). */
int auth_sid_hash(const char *sid, unsigned char out[STORE_HASH_LEN])
{
    if (!sid)
        return -1;
    for (int i = 0; i < AUTH_SID_LEN; i++) {
        char c = sid[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return -1;
    }
    if (sid[AUTH_SID_LEN] != '\0')
        return -1;
    return auth_sha256(sid, AUTH_SID_LEN, out);
}

/* A fresh session id into sid (AUTH_SID_LEN + 1) and its hash. */
static int auth_new_sid(char *sid, unsigned char hash[STORE_HASH_LEN])
{
    unsigned char raw[AUTH_SID_LEN / 2];
    static const char hex[] = "0123456789abcdef";
    if (RAND_bytes(raw, sizeof raw) != 1)
        return -1;
    for (size_t i = 0; i < sizeof raw; i++) {
        sid[2 * i] = hex[raw[i] >> 4];
        sid[2 * i + 1] = hex[raw[i] & 15];
    }
    sid[AUTH_SID_LEN] = '\0';
    OPENSSL_cleanse(raw, sizeof raw);
    return auth_sid_hash(sid, hash);
}

/* The hash a token secret is kept by; -1 when token cannot be one
 * (AUTH_TOKEN_LEN characters of base64url). */
static int auth_token_hash(const char *token,
                           unsigned char out[STORE_HASH_LEN])
{
    unsigned char raw[AUTH_SECRET_BYTES + 2];
    size_t n;
    if (!token || strlen(token) != AUTH_TOKEN_LEN ||
        b64_decode(token, true, raw, sizeof raw, &n) < 0 ||
        n != AUTH_SECRET_BYTES)
        return -1;
    OPENSSL_cleanse(raw, sizeof raw);
    return auth_sha256(token, AUTH_TOKEN_LEN, out);
}

/* A hash of the configured cost that no password matches (its key is all
 * zero bytes, which scrypt does not produce in practice): verifying a
 * missing user against it costs what a real user's hash costs. */
static void auth_make_dummy(auth *a)
{
    snprintf(a->dummy, sizeof a->dummy, "$scrypt$ln=%u,r=%u,p=%u$"
             "bG9ja2JyaWRnZWR1bW15$"
             "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", a->cost_ln,
             a->cost_r, a->cost_p);
}

void auth_test_set_cost(auth *a, unsigned ln, unsigned r, unsigned p)
{
    pthread_mutex_lock(&a->mu);
    a->cost_ln = ln;
    a->cost_r = r;
    a->cost_p = p;
    auth_make_dummy(a);
    pthread_mutex_unlock(&a->mu);
}

/* A hash of password at the handle's cost (slow; no lock held). */
int auth_hash_new(auth *a, const char *password, char *out,
                         size_t outlen)
{
    pthread_mutex_lock(&a->mu);
    unsigned ln = a->cost_ln, r = a->cost_r, p = a->cost_p;
    pthread_mutex_unlock(&a->mu);
    return passwd_hash_scrypt(password, ln, r, p, NULL, 0, PASSWD_KEY_LEN,
                              out, outlen);
}

/* ---- sessions in memory (mu held) ------------------------------------- */

auth_sess *auth_sess_find(auth *a, const unsigned char *hash)
{
    for (size_t i = 0; i < a->n_sess; i++)
        if (memcmp(a->sess[i].hash, hash, STORE_HASH_LEN) == 0)
            return &a->sess[i];
    return NULL;
}

static void auth_gone_push(auth *a, const unsigned char *hash)
{
    if (a->n_gone == a->cap_gone) {
        size_t cap = a->cap_gone ? a->cap_gone * 2 : 16;
        void *v = realloc(a->gone, cap * sizeof *a->gone);
        /* Out of memory the row stays on disk; auth_open drops it anyway
         * once it has expired or its user is gone. */
        if (!v)
            return;
        a->gone = v;
        a->cap_gone = cap;
    }
    memcpy(a->gone[a->n_gone++], hash, STORE_HASH_LEN);
}

/* Ends a session in memory; its row goes at the next flush. */
static void auth_sess_drop(auth *a, auth_sess *s)
{
    auth_gone_push(a, s->hash);
    *s = a->sess[--a->n_sess];
}

store_token *auth_tok_find(auth *a, const char *name)
{
    for (size_t i = 0; i < a->n_toks; i++)
        if (strcmp(a->toks[i].name, name) == 0)
            return &a->toks[i];
    return NULL;
}

/* Whether s still stands at now, and with which role. */
bool auth_sess_alive(auth *a, const auth_sess *s, int64_t now,
                            auth_role *role)
{
    if (s->token[0]) {
        const store_token *t = auth_tok_find(a, s->token);
        if (!t)
            return false;
        *role = t->role;
        return now < s->created + a->token_ns;
    }
    const users_entry *u = users_find(&a->users, s->user);
    if (!u)
        return false;
    *role = u->role;
    return now < s->last_used + a->idle_ns && now < s->created + a->max_ns;
}

static void auth_sess_fill(auth *a, const auth_sess *s, auth_role role,
                           auth_session *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    snprintf(out->user, sizeof out->user, "%s", s->user);
    out->role = role;
    out->token = s->token[0] != '\0';
    snprintf(out->token_name, sizeof out->token_name, "%s", s->token);
    out->created_ns = s->created;
    if (out->token) {
        out->expires_ns = s->created + a->token_ns;
    } else {
        int64_t idle = s->last_used + a->idle_ns;
        int64_t max = s->created + a->max_ns;
        out->expires_ns = idle < max ? idle : max;
    }
}

/* Adds a session, first making room under its owner's limit. */
static int auth_sess_add(auth *a, const auth_sess *s)
{
    size_t limit = s->token[0] ? AUTH_SESSIONS_PER_TOKEN
                               : AUTH_SESSIONS_PER_USER;
    for (;;) {
        size_t count = 0;
        auth_sess *oldest = NULL;
        for (size_t i = 0; i < a->n_sess; i++) {
            auth_sess *x = &a->sess[i];
            if (strcmp(x->user, s->user) != 0 ||
                strcmp(x->token, s->token) != 0)
                continue;
            count++;
            if (!oldest || x->last_used < oldest->last_used)
                oldest = x;
        }
        if (count < limit)
            break;
        auth_sess_drop(a, oldest);
    }
    if (a->n_sess == a->cap_sess) {
        size_t cap = a->cap_sess ? a->cap_sess * 2 : 16;
        auth_sess *v = realloc(a->sess, cap * sizeof *v);
        if (!v)
            return -1;
        a->sess = v;
        a->cap_sess = cap;
    }
    a->sess[a->n_sess++] = *s;
    return 0;
}

/* Takes over l as the users (l is left empty).  Ends the sessions of users
 * that are gone or whose password changed, except keep's. */
void auth_users_apply(auth *a, users_list *l, const unsigned char *keep)
{
    for (size_t i = a->n_sess; i-- > 0;) {
        auth_sess *s = &a->sess[i];
        if (s->token[0])
            continue;
        const users_entry *old = users_find(&a->users, s->user);
        const users_entry *now = users_find(l, s->user);
        bool same = old && now && strcmp(old->hash, now->hash) == 0;
        if (!now || (!same && !(keep && memcmp(s->hash, keep,
                                               STORE_HASH_LEN) == 0)))
            auth_sess_drop(a, s);
    }
    users_list_free(&a->users);
    a->users = *l;
    *l = (users_list){0};
}

/* Takes over v as the tokens.  Ends the sessions of tokens that are gone,
 * or were deleted and made again under the same name (another secret). */
void auth_tokens_apply(auth *a, store_token *v, size_t n)
{
    for (size_t i = a->n_sess; i-- > 0;) {
        auth_sess *s = &a->sess[i];
        if (!s->token[0])
            continue;
        const store_token *old = auth_tok_find(a, s->token), *now = NULL;
        for (size_t j = 0; j < n; j++)
            if (strcmp(v[j].name, s->token) == 0)
                now = &v[j];
        if (!now || !old || memcmp(old->hash, now->hash, STORE_HASH_LEN))
            auth_sess_drop(a, s);
    }
    /* A last use made here and not yet seen by the disk stays. */
    for (size_t j = 0; j < n; j++) {
        const store_token *old = auth_tok_find(a, v[j].name);
        if (old && old->last_used_ns > v[j].last_used_ns &&
            memcmp(old->hash, v[j].hash, STORE_HASH_LEN) == 0)
            v[j].last_used_ns = old->last_used_ns;
    }
    free(a->toks);
    a->toks = v;
    a->n_toks = n;
}

/* ---- reloading (io held) ---------------------------------------------- */

static int auth_reload_users(auth *a, char *err, size_t errlen)
{
    users_stamp now;
    if (users_stamp_get(a->users_path, &now) < 0) {
        auth_seterr(err, errlen, "%s: %s", a->users_path, strerror(errno));
        return -1;
    }
    if (users_stamp_same(&now, &a->stamp))
        return 0;
    users_list l;
    users_stamp st = now;
    if (users_load(a->users_path, &l, &st, err, errlen) < 0) {
        /* Looked at once: the same broken version is not read again. */
        a->stamp = st;
        return -1;
    }
    pthread_mutex_lock(&a->mu);
    auth_users_apply(a, &l, NULL);
    pthread_mutex_unlock(&a->mu);
    a->stamp = st;
    return 1;
}

static int auth_reload_tokens(auth *a, char *err, size_t errlen)
{
    int c = store_changed(a->db);
    if (c < 0) {
        auth_seterr(err, errlen, "auth.db: cannot read its version");
        return -1;
    }
    if (c == 0)
        return 0;
    store_token *v;
    size_t n;
    if (store_tokens_load(a->db, &v, &n, err, errlen) < 0)
        return -1;
    pthread_mutex_lock(&a->mu);
    auth_tokens_apply(a, v, n);
    pthread_mutex_unlock(&a->mu);
    return 1;
}

/* Both, with io held; a new error (not the one said last) is copied to
 * say for the caller to pass on once the locks are released. */
int auth_reload_locked(auth *a, char *err, size_t errlen, char *say,
                              size_t saylen)
{
    char e1[1024] = "", e2[256] = "";
    int u = auth_reload_users(a, e1, sizeof e1);
    int t = auth_reload_tokens(a, e2, sizeof e2);
    say[0] = '\0';
    if (u < 0 || t < 0) {
        char all[sizeof e1 + sizeof e2 + 2];
        snprintf(all, sizeof all, "%s%s%s", e1, e1[0] && e2[0] ? "\n" : "",
                 e2);
        auth_seterr(err, errlen, "%s", all);
        if (strcmp(all, a->reload_err) != 0) {
            snprintf(a->reload_err, sizeof a->reload_err, "%s", all);
            snprintf(say, saylen, "%s", all);
        }
        return -1;
    }
    /* Said once per broken version: a later one is new again. */
    a->reload_err[0] = '\0';
    return u > 0 || t > 0;
}

int auth_reload(auth *a, char *err, size_t errlen)
{
    char say[AUTH_MSG_MAX];
    pthread_mutex_lock(&a->io);
    int rc = auth_reload_locked(a, err, errlen, say, sizeof say);
    pthread_mutex_unlock(&a->io);
    auth_say(a, say);
    return rc;
}

static void *auth_watch_main(void *arg)
{
    auth *a = arg;
    char err[AUTH_MSG_MAX];
    pthread_mutex_lock(&a->wmu);
    while (!a->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += AUTH_WATCH_NS / AUTH_NS_PER_S;
        while (!a->stop &&
               pthread_cond_timedwait(&a->wcond, &a->wmu, &ts) != ETIMEDOUT)
            ;
        if (a->stop)
            break;
        pthread_mutex_unlock(&a->wmu);
        auth_reload(a, err, sizeof err);
        pthread_mutex_lock(&a->wmu);
    }
    pthread_mutex_unlock(&a->wmu);
    return NULL;
}

/* ---- open and close --------------------------------------------------- */

typedef struct {
    auth *a;
} auth_load_ctx;

/* auth_open: a session row from disk joins memory when its user or token
 * still exists; otherwise its row is deleted at the first flush. */
static int auth_load_session(void *arg, const store_session *x)
{
    auth *a = ((auth_load_ctx *)arg)->a;
    bool ok = x->token[0] ? auth_tok_find(a, x->token) != NULL
                          : users_find(&a->users, x->user) != NULL;
    auth_sess s = {.created = x->created_ns, .last_used = x->last_used_ns};
    memcpy(s.hash, x->hash, STORE_HASH_LEN);
    snprintf(s.user, sizeof s.user, "%s", x->user);
    snprintf(s.token, sizeof s.token, "%s", x->token);
    if (!ok || auth_sess_add(a, &s) < 0)
        auth_gone_push(a, x->hash);
    return 0;
}

auth *auth_open(const auth_opts *o, char *err, size_t errlen)
{
    if (!o || !o->users_path || !o->state_dir) {
        auth_seterr(err, errlen, "auth: no users file or state directory "
                    "given");
        return NULL;
    }
    auth *a = calloc(1, sizeof *a);
    if (!a) {
        auth_seterr(err, errlen, "auth: out of memory");
        return NULL;
    }
    pthread_mutex_init(&a->io, NULL);
    pthread_mutex_init(&a->mu, NULL);
    pthread_mutex_init(&a->wmu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&a->wcond, &ca);
    pthread_condattr_destroy(&ca);
    a->users_path = strdup(o->users_path);
    a->state_dir = strdup(o->state_dir);
    a->idle_ns = o->session_idle_ns ? (int64_t)o->session_idle_ns
                                    : AUTH_IDLE_DEFAULT_NS;
    a->max_ns = o->session_max_ns ? (int64_t)o->session_max_ns
                                  : AUTH_MAX_DEFAULT_NS;
    a->token_ns = o->token_session_ns ? (int64_t)o->token_session_ns
                                      : AUTH_TOKEN_DEFAULT_NS;
    a->warn = o->warn;
    a->warn_ctx = o->warn_ctx;
    a->cost_ln = PASSWD_SCRYPT_LN;
    a->cost_r = PASSWD_SCRYPT_R;
    a->cost_p = PASSWD_SCRYPT_P;
    auth_make_dummy(a);
    a->thr_user = throttle_new((int64_t)o->throttle_window_ns);
    a->thr_addr = throttle_new((int64_t)o->throttle_window_ns);
    unsigned char warm[STORE_HASH_LEN];
    if (!a->users_path || !a->state_dir || !a->thr_user || !a->thr_addr) {
        auth_seterr(err, errlen, "auth: out of memory");
        goto fail;
    }
    /* OpenSSL fetches its SHA-256 (and may read its configuration) on
     * first use: here, not in the service thread's first session check. */
    if (auth_sha256("", 0, warm) < 0) {
        auth_seterr(err, errlen, "auth: OpenSSL has no SHA-256");
        goto fail;
    }
    if (fmode_dir(a->state_dir, a->warn, a->warn_ctx, err, errlen) < 0 ||
        fmode_file(a->users_path, false, a->warn, a->warn_ctx, err,
                   errlen) < 0)
        goto fail;
    if (users_load(a->users_path, &a->users, &a->stamp, err, errlen) < 0)
        goto fail;
    a->db = store_open(a->state_dir, a->warn, a->warn_ctx, err, errlen);
    if (!a->db)
        goto fail;
    a->log = audit_open(a->state_dir, a->warn, a->warn_ctx, err, errlen);
    if (!a->log)
        goto fail;
    if (store_tokens_load(a->db, &a->toks, &a->n_toks, err, errlen) < 0)
        goto fail;
    auth_load_ctx lc = {a};
    if (store_sessions_each(a->db, auth_load_session, &lc, err, errlen) < 0)
        goto fail;
    if (pthread_create(&a->watch, NULL, auth_watch_main, a) != 0) {
        auth_seterr(err, errlen, "auth: cannot start its thread");
        goto fail;
    }
    pthread_setname_np(a->watch, "auth-watch");
    a->watching = true;
    return a;
fail:
    auth_close(a);
    return NULL;
}

void auth_close(auth *a)
{
    if (!a)
        return;
    if (a->watching) {
        pthread_mutex_lock(&a->wmu);
        a->stop = true;
        pthread_cond_signal(&a->wcond);
        pthread_mutex_unlock(&a->wmu);
        pthread_join(a->watch, NULL);
    }
    store_close(a->db);
    audit_close(a->log);
    throttle_free(a->thr_user);
    throttle_free(a->thr_addr);
    users_list_free(&a->users);
    OPENSSL_cleanse(a->sess, a->cap_sess * sizeof *a->sess);
    free(a->sess);
    free(a->gone);
    free(a->toks);
    free(a->users_path);
    free(a->state_dir);
    pthread_cond_destroy(&a->wcond);
    pthread_mutex_destroy(&a->wmu);
    pthread_mutex_destroy(&a->mu);
    pthread_mutex_destroy(&a->io);
    free(a);
}

size_t auth_user_count(auth *a)
{
    pthread_mutex_lock(&a->mu);
    size_t n = a->users.n;
    pthread_mutex_unlock(&a->mu);
    return n;
}

/* ---- sessions ---------------------------------------------------------- */

static int auth_session_lookup(auth *a, const char *sid, int64_t now_ns,
                               auth_session *out, bool use)
{
    unsigned char h[STORE_HASH_LEN];
    if (!a || auth_sid_hash(sid, h) < 0)
        return -1;
    int rc = -1;
    pthread_mutex_lock(&a->mu);
    auth_sess *s = auth_sess_find(a, h);
    auth_role role;
    if (s && auth_sess_alive(a, s, now_ns, &role)) {
        if (use && now_ns > s->last_used) {
            s->last_used = now_ns;
            s->dirty = true;
        }
        auth_sess_fill(a, s, role, out);
        rc = 0;
    } else if (s) {
        auth_sess_drop(a, s);
    }
    pthread_mutex_unlock(&a->mu);
    return rc;
}

int auth_session_check(auth *a, const char *sid, int64_t now_ns,
                       auth_session *out)
{
    return auth_session_lookup(a, sid, now_ns, out, true);
}

int auth_session_peek(auth *a, const char *sid, int64_t now_ns,
                      auth_session *out)
{
    return auth_session_lookup(a, sid, now_ns, out, false);
}

/* io held: writes a new session (its audit record is already written),
 * then adds it to memory and fills sid and out. */
static auth_result auth_sess_start(auth *a, const char *user,
                                   const char *token, auth_role role,
                                   int64_t now, char *sid, auth_session *out,
                                   char *err, size_t errlen)
{
    auth_sess s = {.created = now, .last_used = now};
    char id[AUTH_SID_LEN + 1];
    if (auth_new_sid(id, s.hash) < 0) {
        auth_seterr(err, errlen, "auth: no random bytes for a session id");
        return AUTH_ERROR;
    }
    snprintf(s.user, sizeof s.user, "%s", user);
    snprintf(s.token, sizeof s.token, "%s", token ? token : "");
    store_session x = {.created_ns = now, .last_used_ns = now};
    memcpy(x.hash, s.hash, STORE_HASH_LEN);
    memcpy(x.user, s.user, sizeof x.user);
    memcpy(x.token, s.token, sizeof x.token);
    if (store_session_add(a->db, &x, err, errlen) < 0) {
        OPENSSL_cleanse(id, sizeof id);
        return AUTH_ERROR;
    }
    pthread_mutex_lock(&a->mu);
    int rc = auth_sess_add(a, &s);
    if (rc == 0)
        auth_sess_fill(a, &s, role, out);
    pthread_mutex_unlock(&a->mu);
    if (rc < 0) {
        auth_seterr(err, errlen, "auth: out of memory");
        OPENSSL_cleanse(id, sizeof id);
        return AUTH_ERROR;
    }
    memcpy(sid, id, sizeof id);
    OPENSSL_cleanse(id, sizeof id);
    return AUTH_OK;
}

/* The failure's audit record and its answer.  io not held. */
auth_result auth_failed(auth *a, const char *action, const char *user,
                               const char *detail, const char *address,
                               unsigned wait, int64_t now,
                               unsigned *retry_after_s, char *err,
                               size_t errlen)
{
    char e[256];
    pthread_mutex_lock(&a->io);
    int rc = audit_add(a->log, now, user, action, detail, address,
                       wait ? "throttled" : "bad", e, sizeof e);
    pthread_mutex_unlock(&a->io);
    if (retry_after_s)
        *retry_after_s = wait;
    if (rc < 0) {
        auth_seterr(err, errlen, "%s", e);
        return AUTH_ERROR;
    }
    return AUTH_BAD;
}

/* The longer of the two waits (mu held). */
unsigned auth_throttled(auth *a, const char *ukey, const char *akey,
                               int64_t now)
{
    unsigned u = ukey ? throttle_wait(a->thr_user, ukey, now) : 0;
    unsigned w = throttle_wait(a->thr_addr, akey, now);
    return u > w ? u : w;
}

unsigned auth_count_failure(auth *a, const char *ukey,
                                   const char *akey, int64_t now)
{
    unsigned u = ukey ? throttle_fail(a->thr_user, ukey, now) : 0;
    unsigned w = throttle_fail(a->thr_addr, akey, now);
    return u > w ? u : w;
}

/* Any reload a login should see first; errors are said, not fatal. */
static void auth_login_reload(auth *a)
{
    char err[AUTH_MSG_MAX], say[AUTH_MSG_MAX];
    pthread_mutex_lock(&a->io);
    auth_reload_locked(a, err, sizeof err, say, sizeof say);
    pthread_mutex_unlock(&a->io);
    auth_say(a, say);
}

void auth_keys(const char *user, const char *address, char *ukey,
                      size_t ulen, char *akey, size_t alen, bool *have_user)
{
    char addr[THROTTLE_KEY_MAX];
    throttle_address_key(address, addr, sizeof addr);
    snprintf(akey, alen, "a:%s", addr);
    *have_user = auth_name_valid(user);
    snprintf(ukey, ulen, "u:%s", *have_user ? user : "");
}

auth_result auth_login(auth *a, const char *user, const char *password,
                       const char *address, int64_t now_ns, char *sid,
                       auth_session *out, unsigned *retry_after_s,
                       char *err, size_t errlen)
{
    if (retry_after_s)
        *retry_after_s = 0;
    auth_seterr(err, errlen, "%s", "");
    if (!a || !sid)
        return AUTH_ERROR;
    auth_login_reload(a);
    char ukey[80], akey[80], hash[AUTH_HASH_MAX];
    bool named;
    auth_keys(user, address, ukey, sizeof ukey, akey, sizeof akey, &named);
    pthread_mutex_lock(&a->mu);
    unsigned wait = auth_throttled(a, named ? ukey : NULL, akey, now_ns);
    const users_entry *u = named ? users_find(&a->users, user) : NULL;
    bool exists = u != NULL;
    snprintf(hash, sizeof hash, "%s", exists ? u->hash : a->dummy);
    pthread_mutex_unlock(&a->mu);
    if (wait) {
        if (retry_after_s)
            *retry_after_s = wait;
        return AUTH_THROTTLED;
    }
    /* The same work whether or not the user exists: the dummy hash has
     * the cost of a real one. */
    bool fits = password && strlen(password) <= AUTH_LOGIN_PASSWORD_MAX;
    int v = auth_verify_password(fits ? password : "", hash);
    bool ok = exists && fits && v == 1;
    pthread_mutex_lock(&a->mu);
    if (ok) {
        throttle_ok(a->thr_user, ukey);
    } else {
        wait = auth_count_failure(a, named ? ukey : NULL, akey, now_ns);
    }
    /* The role as it is now, the user may have been changed meanwhile. */
    auth_role role = AUTH_NONE;
    if (ok) {
        u = users_find(&a->users, user);
        ok = u != NULL;
        role = u ? u->role : AUTH_NONE;
    }
    pthread_mutex_unlock(&a->mu);
    OPENSSL_cleanse(hash, sizeof hash);
    if (!ok)
        return auth_failed(a, "login", exists ? user : "",
                           exists ? "wrong password" : "unknown user",
                           address, wait, now_ns, retry_after_s, err,
                           errlen);
    pthread_mutex_lock(&a->io);
    auth_result r = AUTH_ERROR;
    if (audit_add(a->log, now_ns, user, "login", "", address, "ok", err,
                  errlen) == 0) {
        r = auth_sess_start(a, user, NULL, role, now_ns, sid, out, err,
                            errlen);
        if (r != AUTH_OK)
            audit_add(a->log, now_ns, user, "login", err, address, "error",
                      NULL, 0);
    }
    pthread_mutex_unlock(&a->io);
    return r;
}

auth_result auth_token_login(auth *a, const char *token, const char *address,
                             int64_t now_ns, char *sid, auth_session *out,
                             unsigned *retry_after_s, char *err,
                             size_t errlen)
{
    if (retry_after_s)
        *retry_after_s = 0;
    auth_seterr(err, errlen, "%s", "");
    if (!a || !sid)
        return AUTH_ERROR;
    auth_login_reload(a);
    char ukey[80], akey[80];
    bool named;
    auth_keys(NULL, address, ukey, sizeof ukey, akey, sizeof akey, &named);
    unsigned char h[STORE_HASH_LEN];
    bool wellformed = auth_token_hash(token, h) == 0;
    pthread_mutex_lock(&a->mu);
    unsigned wait = auth_throttled(a, NULL, akey, now_ns);
    if (wait) {
        pthread_mutex_unlock(&a->mu);
        if (retry_after_s)
            *retry_after_s = wait;
        return AUTH_THROTTLED;
    }
    store_token t = {0};
    bool found = false;
    /* Every token is compared, each in constant time, so the time taken
     * says nothing about which stored hash came close. */
    for (size_t i = 0; wellformed && i < a->n_toks; i++)
        if (CRYPTO_memcmp(a->toks[i].hash, h, STORE_HASH_LEN) == 0) {
            t = a->toks[i];
            found = true;
        }
    if (!found)
        wait = auth_count_failure(a, NULL, akey, now_ns);
    pthread_mutex_unlock(&a->mu);
    if (!found)
        return auth_failed(a, "token-login", "", "unknown token", address,
                           wait, now_ns, retry_after_s, err, errlen);
    pthread_mutex_lock(&a->io);
    auth_result r = AUTH_ERROR;
    if (audit_add(a->log, now_ns, t.name, "token-login", "", address, "ok",
                  err, errlen) == 0) {
        r = auth_sess_start(a, t.name, t.name, t.role, now_ns, sid, out, err,
                            errlen);
        if (r != AUTH_OK) {
            audit_add(a->log, now_ns, t.name, "token-login", err, address,
                      "error", NULL, 0);
        } else {
            /* Only "last used" in a listing: a failure is not worth
             * refusing the wall screen for. */
            store_token_used(a->db, t.name, now_ns, NULL, 0);
            pthread_mutex_lock(&a->mu);
            store_token *m = auth_tok_find(a, t.name);
            if (m)
                m->last_used_ns = now_ns;
            pthread_mutex_unlock(&a->mu);
        }
    }
    pthread_mutex_unlock(&a->io);
    return r;
}

int auth_logout(auth *a, const char *sid, const char *address,
                int64_t now_ns)
{
    unsigned char h[STORE_HASH_LEN];
    if (!a || auth_sid_hash(sid, h) < 0)
        return -1;
    pthread_mutex_lock(&a->io);
    pthread_mutex_lock(&a->mu);
    auth_sess *s = auth_sess_find(a, h);
    char user[65] = "", token[65] = "";
    if (s) {
        memcpy(user, s->user, sizeof user);
        memcpy(token, s->token, sizeof token);
    }
    pthread_mutex_unlock(&a->mu);
    if (!s) {
        pthread_mutex_unlock(&a->io);
        return -1;
    }
    /* The record first; a logout is one even if the disk then fails:
     * the session ends in memory whatever happens. */
    audit_add(a->log, now_ns, user, "logout", token[0] ? "token" : "",
              address, "ok", NULL, 0);
    pthread_mutex_lock(&a->mu);
    s = auth_sess_find(a, h);
    if (s)
        *s = a->sess[--a->n_sess];
    pthread_mutex_unlock(&a->mu);
    const unsigned char (*gone)[STORE_HASH_LEN] =
        (const unsigned char (*)[STORE_HASH_LEN])h;
    if (store_sessions_sync(a->db, NULL, 0, gone, 1, NULL, 0) < 0) {
        pthread_mutex_lock(&a->mu);
        auth_gone_push(a, h);
        pthread_mutex_unlock(&a->mu);
    }
    pthread_mutex_unlock(&a->io);
    return 0;
}

/* ---- flush and audit ---------------------------------------------------- */

void auth_flush(auth *a, int64_t now_ns)
{
    if (!a)
        return;
    store_touch *touch = NULL;
    size_t n_touch = 0;
    unsigned char (*gone)[STORE_HASH_LEN] = NULL;
    size_t n_gone = 0;
    char err[512] = "", say[600] = "";
    pthread_mutex_lock(&a->io);
    pthread_mutex_lock(&a->mu);
    for (size_t i = a->n_sess; i-- > 0;) {
        auth_role role;
        if (!auth_sess_alive(a, &a->sess[i], now_ns, &role))
            auth_sess_drop(a, &a->sess[i]);
    }
    touch = malloc((a->n_sess ? a->n_sess : 1) * sizeof *touch);
    for (size_t i = 0; touch && i < a->n_sess; i++) {
        auth_sess *s = &a->sess[i];
        if (!s->dirty)
            continue;
        memcpy(touch[n_touch].hash, s->hash, STORE_HASH_LEN);
        touch[n_touch++].last_used_ns = s->last_used;
        s->dirty = false;
    }
    gone = a->gone;
    n_gone = a->n_gone;
    a->gone = NULL;
    a->n_gone = a->cap_gone = 0;
    throttle_prune(a->thr_user, now_ns);
    throttle_prune(a->thr_addr, now_ns);
    pthread_mutex_unlock(&a->mu);
    if (store_sessions_sync(a->db, touch, n_touch,
                            (const unsigned char (*)[STORE_HASH_LEN])gone,
                            n_gone, err, sizeof err) < 0) {
        snprintf(say, sizeof say, "sessions not saved (tried again in a "
                 "minute): %s", err);
        /* Back into memory, to be written next time. */
        pthread_mutex_lock(&a->mu);
        for (size_t i = 0; i < n_touch; i++) {
            auth_sess *s = auth_sess_find(a, touch[i].hash);
            if (s)
                s->dirty = true;
        }
        for (size_t i = 0; i < n_gone; i++)
            auth_gone_push(a, gone[i]);
        pthread_mutex_unlock(&a->mu);
    }
    pthread_mutex_unlock(&a->io);
    free(touch);
    free(gone);
    auth_say(a, say);
}

int auth_audit(auth *a, const char *user, const char *action,
               const char *detail, const char *address, const char *result,
               int64_t now_ns, char *err, size_t errlen)
{
    if (!a || !action || !*action) {
        auth_seterr(err, errlen, "audit: no action given");
        return -1;
    }
    pthread_mutex_lock(&a->io);
    int rc = audit_add(a->log, now_ns, user, action, detail, address, result,
                       err, errlen);
    pthread_mutex_unlock(&a->io);
    return rc;
}

