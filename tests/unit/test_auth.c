/*
 * test_auth.c - the auth handle (auth/auth.c): sessions (create, check,
 * idle and absolute expiry with a stub clock, restart, logout, only hashes
 * on disk, the per-user limit), kiosk tokens, the users and tokens a
 * second handle (the command line) changes under a running one, user
 * administration, and the modes of the state files.
 *
 * Logins and throttling are in test_auth_login.c.  scrypt runs at ln=4
 * here (auth_test_set_cost): these tests are about sessions, not hashes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "support/authfix.h"

#define PW "correct horse battery"

static bool is_sid(const char *s)
{
    if (strlen(s) != AUTH_SID_LEN)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return true;
}

/* A login gives a 32-hex id; checking it gives the session's fields and
 * restarts its idle timer; other ids, malformed or unknown, give -1. */
static void test_session_create_check(void **state)
{
    authfix *f = *state;
    auth *a = authfix_open(f, true);
    assert_non_null(a);
    assert_int_equal(auth_user_count(a), 0);
    assert_int_equal(authfix_add(a, "alice", AUTH_OPERATOR, PW), 0);
    assert_int_equal(auth_user_count(a), 1);
    char sid[AUTH_SID_LEN + 1], sid2[AUTH_SID_LEN + 1];
    auth_session s;
    assert_int_equal(authfix_login(a, "alice", PW, "192.0.2.1", AF_T0, sid,
                                   &s, NULL), AUTH_OK);
    assert_true(is_sid(sid));
    assert_string_equal(s.user, "alice");
    assert_int_equal(s.role, AUTH_OPERATOR);
    assert_false(s.token);
    assert_string_equal(s.token_name, "");
    assert_int_equal(s.created_ns, AF_T0);
    assert_int_equal(s.expires_ns, AF_T0 + 30 * AF_MIN);
    /* A second login is a second session with another id. */
    assert_int_equal(authfix_login(a, "alice", PW, "192.0.2.1", AF_T0, sid2,
                                   NULL, NULL), AUTH_OK);
    assert_string_not_equal(sid, sid2);

    memset(&s, 0, sizeof s);
    assert_int_equal(auth_session_check(a, sid, AF_T0 + 10 * AF_MIN, &s), 0);
    assert_string_equal(s.user, "alice");
    assert_int_equal(s.role, AUTH_OPERATOR);
    assert_int_equal(s.created_ns, AF_T0);
    assert_int_equal(s.expires_ns, AF_T0 + 40 * AF_MIN);
    assert_int_equal(auth_session_check(a, sid, AF_T0, NULL), 0);

    char other[AUTH_SID_LEN + 1];
    memcpy(other, sid, sizeof other);
    other[0] = other[0] == 'a' ? 'b' : 'a';
    assert_int_equal(auth_session_check(a, other, AF_T0, &s), -1);
    char upper[AUTH_SID_LEN + 1];
    for (int i = 0; i <= AUTH_SID_LEN; i++)
        upper[i] = (char)(sid[i] >= 'a' && sid[i] <= 'f' ? sid[i] - 32
                                                         : sid[i]);
    if (strcmp(upper, sid) != 0)
        assert_int_equal(auth_session_check(a, upper, AF_T0, &s), -1);
    char longer[AUTH_SID_LEN + 2];
    snprintf(longer, sizeof longer, "%s0", sid);
    assert_int_equal(auth_session_check(a, longer, AF_T0, &s), -1);
    assert_int_equal(auth_session_check(a, sid + 1, AF_T0, &s), -1);
    assert_int_equal(auth_session_check(a, "", AF_T0, &s), -1);
    assert_int_equal(auth_session_check(a, NULL, AF_T0, &s), -1);
    assert_int_equal(auth_session_check(NULL, sid, AF_T0, &s), -1);
    auth_close(a);
    auth_close(NULL);
}

/* auth_session_peek answers as auth_session_check but is no use: a
 * session only peeked at (an open WebSocket) ends 30 minutes after its
 * last real use, and peeking at an ended one says so. */
static void test_session_peek(void **state)
{
    authfix *f = *state;
    auth *a = authfix_open(f, true);
    authfix_add(a, "alice", AUTH_ENGINEER, PW);
    char sid[AUTH_SID_LEN + 1];
    auth_session s;
    assert_int_equal(authfix_login(a, "alice", PW, "192.0.2.1", AF_T0, sid,
                                   NULL, NULL), AUTH_OK);
    assert_int_equal(auth_session_check(a, sid, AF_T0 + 5 * AF_MIN, NULL), 0);
    for (int64_t t = AF_T0 + 6 * AF_MIN; t < AF_T0 + 35 * AF_MIN;
         t += AF_MIN) {
        memset(&s, 0, sizeof s);
        assert_int_equal(auth_session_peek(a, sid, t, &s), 0);
        assert_string_equal(s.user, "alice");
        assert_int_equal(s.role, AUTH_ENGINEER);
        assert_int_equal(s.expires_ns, AF_T0 + 35 * AF_MIN);
    }
    assert_int_equal(auth_session_peek(a, sid, AF_T0 + 35 * AF_MIN, &s), -1);
    assert_int_equal(auth_session_check(a, sid, AF_T0 + 35 * AF_MIN - 1,
                                        NULL), -1);
    assert_int_equal(auth_session_peek(a, "nonsense", AF_T0, &s), -1);
    assert_int_equal(auth_session_peek(NULL, sid, AF_T0, &s), -1);
    auth_close(a);
}

/* 30 minutes unused end a session; each use restarts the count. */
static void test_idle_expiry(void **state)
{
    authfix *f = *state;
    auth *a = authfix_open(f, true);
    authfix_add(a, "alice", AUTH_VIEWER, PW);
    char sid[AUTH_SID_LEN + 1];
    assert_int_equal(authfix_login(a, "alice", PW, "192.0.2.1", AF_T0, sid,
                                   NULL, NULL), AUTH_OK);
    int64_t t = AF_T0;
    for (int i = 0; i < 5; i++) {
        t += 30 * AF_MIN - 1;                   /* one ns before the end */
        assert_int_equal(auth_session_check(a, sid, t, NULL), 0);
    }
    assert_int_equal(auth_session_check(a, sid, t + 30 * AF_MIN, NULL), -1);
    /* Once ended it stays ended, even at an earlier time. */
    assert_int_equal(auth_session_check(a, sid, t, NULL), -1);
    auth_close(a);
}

/* 12 hours after login a session ends however busy it is. */
static void test_absolute_expiry(void **state)
{
    authfix *f = *state;
    auth *a = authfix_open(f, true);
    authfix_add(a, "alice", AUTH_VIEWER, PW);
    char sid[AUTH_SID_LEN + 1];
    assert_int_equal(authfix_login(a, "alice", PW, "192.0.2.1", AF_T0, sid,
                                   NULL, NULL), AUTH_OK);
    auth_session s;
    int64_t end = AF_T0 + 12 * 60 * AF_MIN;
    for (int64_t t = AF_T0; t < end; t += 10 * AF_MIN)
        assert_int_equal(auth_session_check(a, sid, t, NULL), 0);
    assert_int_equal(auth_session_check(a, sid, end - 1, &s), 0);
    assert_int_equal(s.expires_ns, end);      /* the earlier of the two */
    assert_int_equal(auth_session_check(a, sid, end, NULL), -1);
    auth_close(a);
}

/* Sessions survive close and open, with the last use auth_flush wrote:
 * used at +20 min and flushed, it still stands at +45 min (it would have
 * ended at +30 had only the login's time been on disk), and ends at +50. */
static void test_restart(void **state)
{
    authfix *f = *state;
    auth *a = authfix_open(f, true);
    authfix_add(a, "alice", AUTH_ENGINEER, PW);
    char sid[AUTH_SID_LEN + 1], unflushed[AUTH_SID_LEN + 1];
    assert_int_equal(authfix_login(a, "alice", PW, "192.0.2.1", AF_T0, sid,
                                   NULL, NULL), AUTH_OK);
    assert_int_equal(authfix_login(a, "alice", PW, "192.0.2.1", AF_T0,
                                   unflushed, NULL, NULL), AUTH_OK);
    assert_int_equal(auth_session_check(a, sid, AF_T0 + 20 * AF_MIN, NULL),
                     0);
    auth_flush(a, AF_T0 + 21 * AF_MIN);
    /* Used after the flush: that use is lost with the close. */
    assert_int_equal(auth_session_check(a, unflushed, AF_T0 + 25 * AF_MIN,
                                        NULL), 0);
    auth_close(a);
    a = authfix_open(f, true);
    assert_non_null(a);
    auth_session s;
    assert_int_equal(auth_session_check(a, sid, AF_T0 + 45 * AF_MIN, &s), 0);
    assert_string_equal(s.user, "alice");
    assert_int_equal(s.role, AUTH_ENGINEER);
    assert_int_equal(s.created_ns, AF_T0);
    assert_int_equal(auth_session_check(a, unflushed, AF_T0 + 45 * AF_MIN,
                                        NULL), -1);
    assert_int_equal(auth_session_check(a, sid, AF_T0 + 75 * AF_MIN, NULL),
                     -1);
    auth_close(a);
}

/* Neither a session id nor a token secret nor a password is in any file
 * of the state directory or the users file, in hex or as bytes, before
 * and after a checkpoint: only their hashes. */
static void test_only_hashes_on_disk(void **state)
{
    authfix *f = *state;
    auth *a = authfix_open(f, true);
    authfix_add(a, "alice", AUTH_ADMIN, PW);
    char sid[AUTH_SID_LEN + 1], tsid[AUTH_SID_LEN + 1];
    char secret[AUTH_TOKEN_LEN + 1], err[256];
    assert_int_equal(authfix_login(a, "alice", PW, "192.0.2.1", AF_T0, sid,
                                   NULL, NULL), AUTH_OK);
    assert_int_equal(auth_token_add(a, "wall-1", AUTH_VIEWER, "tester", "cli",
                                    AF_T0, secret, sizeof secret, err,
                                    sizeof err), 0);
    assert_int_equal(auth_token_login(a, secret, "192.0.2.2", AF_T0, tsid,
                                      NULL, NULL, err, sizeof err), AUTH_OK);
    assert_int_equal(auth_session_check(a, sid, AF_T0 + AF_S, NULL), 0);
    auth_flush(a, AF_T0 + 2 * AF_S);
    unsigned char raw[AUTH_SID_LEN / 2];
    for (int i = 0; i < AUTH_SID_LEN / 2; i++) {
        unsigned v;
        sscanf(sid + 2 * i, "%2x", &v);
        raw[i] = (unsigned char)v;
    }
    static const char *const files[] = {"auth.db", "auth.db-wal",
                                        "audit.db", "audit.db-wal"};
    for (int pass = 0; pass < 2; pass++) {
        int seen = 0;
        for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
            char path[160];
            snprintf(path, sizeof path, "%s/%s", f->state, files[i]);
            struct stat sb;
            seen += stat(path, &sb) == 0 && sb.st_size > 0;
            assert_false(authfix_file_has(path, sid, AUTH_SID_LEN));
            assert_false(authfix_file_has(path, tsid, AUTH_SID_LEN));
            assert_false(authfix_file_has(path, raw, sizeof raw));
            assert_false(authfix_file_has(path, secret, AUTH_TOKEN_LEN));
            assert_false(authfix_file_has(path, PW, strlen(PW)));
        }
        assert_true(seen >= 2);
        assert_false(authfix_file_has(f->users, PW, strlen(PW)));
        assert_true(authfix_file_has(f->users, "alice:admin:$scrypt$", 20));
        auth_close(a);          /* checkpoints the WAL into the files */
        a = NULL;
    }
}

/* A logout ends the session at once and for good (also after a restart);
 * a second logout, or one of a made-up id, is -1. */
static void test_logout(void **state)
{
    authfix *f = *state;
    auth *a = authfix_open(f, true);
    authfix_add(a, "alice", AUTH_VIEWER, PW);
    char sid[AUTH_SID_LEN + 1], keep[AUTH_SID_LEN + 1];
    authfix_login(a, "alice", PW, "192.0.2.1", AF_T0, sid, NULL, NULL);
    authfix_login(a, "alice", PW, "192.0.2.1", AF_T0, keep, NULL, NULL);
    assert_int_equal(auth_logout(a, sid, "192.0.2.1", AF_T0 + AF_S), 0);
    assert_int_equal(auth_session_check(a, sid, AF_T0 + 2 * AF_S, NULL), -1);
    assert_int_equal(auth_logout(a, sid, "192.0.2.1", AF_T0 + AF_S), -1);
    assert_int_equal(auth_logout(a, "0123456789abcdef0123456789abcdef",
                                 "192.0.2.1", AF_T0), -1);
    assert_int_equal(auth_logout(a, "nonsense", "192.0.2.1", AF_T0), -1);
    assert_int_equal(auth_session_check(a, keep, AF_T0 + 2 * AF_S, NULL), 0);
    auth_close(a);
    a = authfix_open(f, true);
    assert_int_equal(auth_session_check(a, sid, AF_T0 + 3 * AF_S, NULL), -1);
    assert_int_equal(auth_session_check(a, keep, AF_T0 + 3 * AF_S, NULL), 0);
    auth_close(a);
}

/* One user holds at most 32 sessions: the 33rd login ends the one unused
 * longest, not the others. */
static void test_sessions_per_user(void **state)
{
    authfix *f = *state;
    auth *a = authfix_open(f, true);
    authfix_add(a, "alice", AUTH_VIEWER, PW);
    char sid[33][AUTH_SID_LEN + 1];
    for (int i = 0; i < 33; i++) {
        /* A success clears the throttles, so 33 logins are fine. */
        assert_int_equal(authfix_login(a, "alice", PW, "192.0.2.1",
                                       AF_T0 + i * AF_S, sid[i], NULL, NULL),
                         AUTH_OK);
        if (i == 0)     /* session 0 is used, so 1 is the oldest unused */
            assert_int_equal(auth_session_check(a, sid[0], AF_T0 + 10 * AF_S,
                                                NULL), 0);
    }
    int live = 0;
    for (int i = 0; i < 33; i++)
        live += auth_session_check(a, sid[i], AF_T0 + 40 * AF_S, NULL) == 0;
    assert_int_equal(live, 32);
    assert_int_equal(auth_session_check(a, sid[1], AF_T0 + 40 * AF_S, NULL),
                     -1);
    auth_close(a);
}

typedef struct {
    int n;
    auth_token_info v[4];
} token_list;

static int collect_token(void *ctx, const auth_token_info *t)
{
    token_list *l = ctx;
    if (l->n < 4)
        l->v[l->n] = *t;
    l->n++;
    return 0;
}

/* A token is a 43-character base64url secret that logs a wall screen in
 * as the token's role, for token_session, however long it sits idle; its
 * last use is listed, the secret never; deleting it ends its sessions. */
static void test_tokens(void **state)
{
    authfix *f = *state;
    auth *a = authfix_open(f, true);
    char secret[AUTH_TOKEN_LEN + 1], other[AUTH_TOKEN_LEN + 1], err[256];
    char sid[AUTH_SID_LEN + 1];
    assert_int_equal(auth_token_add(a, "wall-1", AUTH_VIEWER, "tester", "cli",
                                    AF_T0, secret, sizeof secret, err,
                                    sizeof err), 0);
    assert_int_equal(strlen(secret), AUTH_TOKEN_LEN);
    assert_int_equal(strspn(secret, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijkl"
                                    "mnopqrstuvwxyz0123456789-_"),
                     AUTH_TOKEN_LEN);
    assert_int_equal(auth_token_add(a, "desk", AUTH_OPERATOR, "tester", "cli",
                                    AF_T0, other, sizeof other, err,
                                    sizeof err), 0);
    assert_string_not_equal(secret, other);
    assert_int_equal(auth_token_add(a, "wall-1", AUTH_VIEWER, "tester", "cli",
                                    AF_T0, other, sizeof other, err,
                                    sizeof err), -1);
    assert_string_equal(err, "token 'wall-1' exists");
    assert_int_equal(auth_token_add(a, "boss", AUTH_ADMIN, "tester", "cli",
                                    AF_T0, other, sizeof other, err,
                                    sizeof err), -1);
    assert_string_equal(err, "a token's role is viewer, operator or engineer "
                             "(its URL is on a wall screen: admin needs a "
                             "person who logs in)");
    assert_int_equal(auth_token_add(a, "bad name", AUTH_VIEWER, "tester",
                                    "cli", AF_T0, other, sizeof other, err,
                                    sizeof err), -1);
    assert_string_equal(err, "not a token name (1-64 of a-z A-Z 0-9 . _ -, "
                             "not starting with - or .)");

    auth_session s;
    int64_t t = AF_T0 + AF_MIN;
    assert_int_equal(auth_token_login(a, secret, "192.0.2.9", t, sid, &s,
                                      NULL, err, sizeof err), AUTH_OK);
    assert_true(s.token);
    assert_string_equal(s.token_name, "wall-1");
    assert_string_equal(s.user, "wall-1");
    assert_int_equal(s.role, AUTH_VIEWER);
    assert_int_equal(s.created_ns, t);
    assert_int_equal(s.expires_ns, t + 30 * 24 * 60 * AF_MIN);
    /* Five hours idle, far past session_idle: still in. */
    assert_int_equal(auth_session_check(a, sid, t + 300 * AF_MIN, &s), 0);
    assert_int_equal(s.role, AUTH_VIEWER);
    assert_true(s.token);
    char sid2[AUTH_SID_LEN + 1];
    assert_int_equal(auth_token_login(a, other, "192.0.2.9", t, sid2, &s,
                                      NULL, err, sizeof err), AUTH_OK);
    assert_int_equal(s.role, AUTH_OPERATOR);

    /* Not a token: a wrong one, a cut one, a session id. */
    char wrong[AUTH_TOKEN_LEN + 1];
    memcpy(wrong, secret, sizeof wrong);
    wrong[5] = wrong[5] == 'A' ? 'B' : 'A';
    unsigned retry = 99;
    assert_int_equal(auth_token_login(a, wrong, "192.0.2.10", t, sid2, NULL,
                                      &retry, err, sizeof err), AUTH_BAD);
    assert_int_equal(retry, 0);
    assert_int_equal(auth_token_login(a, "abc", "192.0.2.10", t, sid2, NULL,
                                      NULL, err, sizeof err), AUTH_BAD);
    assert_int_equal(auth_token_login(a, NULL, "192.0.2.10", t, sid2, NULL,
                                      NULL, err, sizeof err), AUTH_BAD);

    token_list l = {0};
    assert_int_equal(auth_tokens_each(a, collect_token, &l, err, sizeof err),
                     0);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.v[0].name, "desk");
    assert_int_equal(l.v[0].role, AUTH_OPERATOR);
    assert_string_equal(l.v[1].name, "wall-1");
    assert_int_equal(l.v[1].role, AUTH_VIEWER);
    assert_int_equal(l.v[1].created_ns, AF_T0);
    assert_int_equal(l.v[1].last_used_ns, t);

    /* The session ends at token_session, used or not. */
    int64_t end = t + 30 * 24 * 60 * AF_MIN;
    assert_int_equal(auth_session_check(a, sid, end - 1, NULL), 0);
    assert_int_equal(auth_session_check(a, sid, end, NULL), -1);

    assert_int_equal(auth_token_login(a, secret, "192.0.2.9", t, sid, NULL,
                                      NULL, err, sizeof err), AUTH_OK);
    assert_int_equal(auth_token_del(a, "wall-1", "tester", "cli", t, err,
                                    sizeof err), 0);
    assert_int_equal(auth_session_check(a, sid, t + AF_S, NULL), -1);
    assert_int_equal(auth_token_login(a, secret, "192.0.2.11", t, sid, NULL,
                                      NULL, err, sizeof err), AUTH_BAD);
    assert_int_equal(auth_token_del(a, "wall-1", "tester", "cli", t, err,
                                    sizeof err), -1);
    assert_string_equal(err, "no token 'wall-1'");
    l.n = 0;
    auth_tokens_each(a, collect_token, &l, err, sizeof err);
    assert_int_equal(l.n, 1);
    auth_close(a);

    /* Tokens survive a restart; their sessions too. */
    a = authfix_open(f, true);
    assert_int_equal(auth_token_login(a, other, "192.0.2.9", t, sid, &s,
                                      NULL, err, sizeof err), AUTH_OK);
    auth_close(a);
    a = authfix_open(f, true);
    assert_int_equal(auth_session_check(a, sid, t + AF_S, &s), 0);
    assert_string_equal(s.token_name, "desk");
    auth_close(a);
}

/* A second handle on the same files (the command line) deletes a user,
 * changes a role, resets a password and deletes a token; the first handle
 * (the daemon) follows on its next auth_reload: the deleted user's and
 * token's sessions end, the role applies to the live session, the reset
 * ends that user's sessions.  And auth-watch does the same unasked. */
static void test_reload(void **state)
{
    authfix *f = *state;
    auth *d = authfix_open(f, true);
    authfix_add(d, "alice", AUTH_VIEWER, PW);
    authfix_add(d, "bob", AUTH_VIEWER, PW);
    authfix_add(d, "carol", AUTH_VIEWER, PW);
    char err[2048], secret[AUTH_TOKEN_LEN + 1];
    assert_int_equal(auth_token_add(d, "wall-1", AUTH_VIEWER, "tester", "cli",
                                    AF_T0, secret, sizeof secret, err,
                                    sizeof err), 0);
    char sa[AUTH_SID_LEN + 1], sb[AUTH_SID_LEN + 1], sc[AUTH_SID_LEN + 1];
    char st[AUTH_SID_LEN + 1];
    authfix_login(d, "alice", PW, "192.0.2.1", AF_T0, sa, NULL, NULL);
    authfix_login(d, "bob", PW, "192.0.2.1", AF_T0, sb, NULL, NULL);
    authfix_login(d, "carol", PW, "192.0.2.1", AF_T0, sc, NULL, NULL);
    assert_int_equal(auth_token_login(d, secret, "192.0.2.1", AF_T0, st, NULL,
                                      NULL, err, sizeof err), AUTH_OK);
    assert_int_equal(auth_reload(d, err, sizeof err), 0);

    auth *c = authfix_open(f, true);
    assert_non_null(c);
    int64_t t = AF_T0 + AF_MIN;
    assert_int_equal(auth_user_del(c, "bob", "root", "cli", t, err,
                                   sizeof err), 0);
    assert_int_equal(auth_user_role(c, "alice", AUTH_ADMIN, "root", "cli", t,
                                    err, sizeof err), 0);
    assert_int_equal(auth_user_passwd(c, "carol", "another long one", "root",
                                      "cli", t, err, sizeof err), 0);
    assert_int_equal(auth_token_del(c, "wall-1", "root", "cli", t, err,
                                    sizeof err), 0);
    auth_session s;
    assert_int_equal(auth_reload(d, err, sizeof err), 1);
    assert_int_equal(auth_session_check(d, sa, t, &s), 0);
    assert_int_equal(s.role, AUTH_ADMIN);
    assert_int_equal(auth_session_check(d, sb, t, NULL), -1);
    assert_int_equal(auth_session_check(d, sc, t, NULL), -1);
    assert_int_equal(auth_session_check(d, st, t, NULL), -1);
    assert_int_equal(auth_user_count(d), 2);
    assert_int_equal(authfix_login(d, "carol", "another long one",
                                   "192.0.2.1", t, sc, NULL, NULL), AUTH_OK);
    assert_int_equal(auth_reload(d, err, sizeof err), 0);

    /* Unasked: auth-watch sees the next change within about a second. */
    assert_int_equal(auth_user_role(c, "alice", AUTH_OPERATOR, "root", "cli",
                                    t, err, sizeof err), 0);
    assert_int_equal(auth_user_del(c, "carol", "root", "cli", t, err,
                                   sizeof err), 0);
    int waited = 0;
    while (auth_session_check(d, sc, t, NULL) == 0 && waited < 5000) {
        nanosleep(&(struct timespec){0, 50 * 1000000L}, NULL);
        waited += 50;
    }
    assert_true(waited < 5000);
    assert_int_equal(auth_session_check(d, sa, t, &s), 0);
    assert_int_equal(s.role, AUTH_OPERATOR);
    auth_close(c);

    /* A users file broken by hand: -1 with the line, the users kept, one
     * warning, and nothing said again for the same version. */
    int before = authfix_warnings(f);
    FILE *fp = fopen(f->users, "a");
    fputs("mallory:root:x:1:2\n", fp);
    fclose(fp);
    /* auth-watch may get there first; then it has said it already. */
    int rc = auth_reload(d, err, sizeof err);
    if (rc == -1) {
        char want[256];
        snprintf(want, sizeof want, "%s:4: unknown role 'root'", f->users);
        assert_non_null(strstr(err, want));
    } else {
        assert_int_equal(rc, 0);
    }
    assert_int_equal(auth_reload(d, err, sizeof err), 0);
    nanosleep(&(struct timespec){1, 200 * 1000000L}, NULL);
    assert_int_equal(authfix_warnings(f), before + 1);
    char last[2048];
    authfix_last_warning(f, last, sizeof last);
    assert_non_null(strstr(last, ":4: unknown role 'root'"));
    assert_int_equal(auth_session_check(d, sa, t, NULL), 0);
    assert_int_equal(auth_user_count(d), 1);
    auth_close(d);

    /* Opening on a broken file fails with every bad line. */
    d = authfix_open(f, true);
    assert_null(d);
}

typedef struct {
    int n;
    auth_user_info v[4];
} user_list;

static int collect_user(void *ctx, const auth_user_info *u)
{
    user_list *l = ctx;
    if (l->n < 4)
        l->v[l->n] = *u;
    l->n++;
    return 0;
}

static int stop_at_first(void *ctx, const auth_user_info *u)
{
    (void)u;
    ++*(int *)ctx;
    return 1;
}

/* Adding, resetting, re-roling and deleting users, with the exact
 * refusals, and the listing (name order, times in ns). */
static void test_user_admin(void **state)
{
    authfix *f = *state;
    auth *a = authfix_open(f, true);
    char err[256];
    assert_int_equal(authfix_add(a, "zed", AUTH_ADMIN, PW), 0);
    assert_int_equal(auth_user_add(a, "amy", AUTH_ENGINEER, PW, "tester",
                                   "cli", AF_T0 + 5 * AF_S, err, sizeof err),
                     0);
    assert_int_equal(auth_user_add(a, "amy", AUTH_VIEWER, PW, "tester", "cli",
                                   AF_T0, err, sizeof err), -1);
    assert_string_equal(err, "user 'amy' exists");
    assert_int_equal(auth_user_add(a, ".amy", AUTH_VIEWER, PW, "tester",
                                   "cli", AF_T0, err, sizeof err), -1);
    assert_string_equal(err, "not a user name (1-64 of a-z A-Z 0-9 . _ -, "
                             "not starting with - or .)");
    assert_int_equal(auth_user_add(a, "bo", AUTH_NONE, PW, "tester", "cli",
                                   AF_T0, err, sizeof err), -1);
    assert_string_equal(err, "not a role (viewer, operator, engineer, "
                             "admin)");
    assert_int_equal(auth_user_add(a, "bo", AUTH_VIEWER, "short", "tester",
                                   "cli", AF_T0, err, sizeof err), -1);
    assert_string_equal(err, "the password is too short: a password needs "
                             "at least 10 characters");
    assert_int_equal(auth_user_passwd(a, "nobody", PW, "tester", "cli", AF_T0,
                                      err, sizeof err), -1);
    assert_string_equal(err, "no user 'nobody'");
    assert_int_equal(auth_user_role(a, "nobody", AUTH_VIEWER, "tester", "cli",
                                    AF_T0, err, sizeof err), -1);
    assert_string_equal(err, "no user 'nobody'");
    assert_int_equal(auth_user_del(a, "nobody", "tester", "cli", AF_T0, err,
                                   sizeof err), -1);
    assert_string_equal(err, "no user 'nobody'");
    assert_int_equal(auth_user_passwd(a, "amy", "a new password", "tester",
                                      "cli", AF_T0 + 9 * AF_S, err,
                                      sizeof err), 0);
    assert_int_equal(auth_user_role(a, "amy", AUTH_OPERATOR, "tester", "cli",
                                    AF_T0 + 20 * AF_S, err, sizeof err), 0);
    user_list l = {0};
    assert_int_equal(auth_users_each(a, collect_user, &l, err, sizeof err),
                     0);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.v[0].name, "amy");
    assert_int_equal(l.v[0].role, AUTH_OPERATOR);
    assert_int_equal(l.v[0].created_ns, AF_T0 + 5 * AF_S);
    assert_int_equal(l.v[0].changed_ns, AF_T0 + 9 * AF_S);   /* not 20 */
    assert_string_equal(l.v[1].name, "zed");
    assert_int_equal(l.v[1].role, AUTH_ADMIN);
    int calls = 0;
    assert_int_equal(auth_users_each(a, stop_at_first, &calls, err,
                                     sizeof err), 0);
    assert_int_equal(calls, 1);
    char sid[AUTH_SID_LEN + 1];
    assert_int_equal(authfix_login(a, "amy", PW, "192.0.2.1", AF_T0, sid,
                                   NULL, NULL), AUTH_BAD);
    assert_int_equal(authfix_login(a, "amy", "a new password", "192.0.2.1",
                                   AF_T0, sid, NULL, NULL), AUTH_OK);
    assert_int_equal(auth_user_del(a, "amy", "tester", "cli", AF_T0, err,
                                   sizeof err), 0);
    assert_int_equal(auth_session_check(a, sid, AF_T0, NULL), -1);
    assert_int_equal(auth_user_count(a), 1);
    auth_close(a);
}

/* The state directory 0700 and every file in it 0600, whatever the umask;
 * files and a directory left readable by others are tightened, with a
 * warning each. */
static void test_modes(void **state)
{
    authfix *f = *state;
    mode_t old = umask(0);
    auth *a = authfix_open(f, true);
    authfix_add(a, "alice", AUTH_VIEWER, PW);
    char sid[AUTH_SID_LEN + 1];
    authfix_login(a, "alice", PW, "192.0.2.1", AF_T0, sid, NULL, NULL);
    umask(old);
    struct stat sb;
    assert_int_equal(stat(f->state, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0700);
    static const char *const files[] = {"auth.db", "auth.db-wal",
                                        "auth.db-shm", "audit.db",
                                        "audit.db-wal", "audit.db-shm"};
    char path[160];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", f->state, files[i]);
        assert_int_equal(stat(path, &sb), 0);
        if ((sb.st_mode & 07777) != 0600)
            fail_msg("%s: mode %04o", files[i], sb.st_mode & 07777);
    }
    assert_int_equal(stat(f->users, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0600);
    assert_int_equal(authfix_warnings(f), 0);
    auth_close(a);

    chmod(f->state, 0755);
    snprintf(path, sizeof path, "%s/audit.db", f->state);
    chmod(path, 0644);
    chmod(f->users, 0640);
    a = authfix_open(f, true);
    assert_non_null(a);
    assert_int_equal(authfix_warnings(f), 3);
    assert_int_equal(stat(f->state, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0700);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0600);
    assert_int_equal(stat(f->users, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0600);
    auth_close(a);
}

/* Things that are not there: no users file (nobody yet), no options. */
static void test_open_edges(void **state)
{
    authfix *f = *state;
    auth *a = authfix_open(f, true);
    assert_non_null(a);
    assert_int_equal(auth_user_count(a), 0);
    char sid[AUTH_SID_LEN + 1];
    assert_int_equal(authfix_login(a, "alice", PW, "192.0.2.1", AF_T0, sid,
                                   NULL, NULL), AUTH_BAD);
    auth_close(a);
    char err[256];
    assert_null(auth_open(NULL, err, sizeof err));
    assert_string_equal(err, "auth: no users file or state directory given");
    /* A state directory that cannot be made: a file in the way. */
    tmpdir_remove(f->state);
    FILE *fp = fopen(f->state, "w");
    assert_non_null(fp);
    fclose(fp);
    auth_opts o = {.users_path = f->users, .state_dir = f->state};
    assert_null(auth_open(&o, err, sizeof err));
    char want[160];
    snprintf(want, sizeof want, "%s: Not a directory", f->state);
    assert_string_equal(err, want);
    unlink(f->state);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, authfix_setup, \
                                              authfix_teardown)
    const struct CMUnitTest tests[] = {
        T(test_session_create_check),
        T(test_session_peek),
        T(test_idle_expiry),
        T(test_absolute_expiry),
        T(test_restart),
        T(test_only_hashes_on_disk),
        T(test_logout),
        T(test_sessions_per_user),
        T(test_tokens),
        T(test_reload),
        T(test_user_admin),
        T(test_modes),
        T(test_open_edges),
    };
    return cmocka_run_group_tests_name("auth", tests, NULL, NULL);
}
