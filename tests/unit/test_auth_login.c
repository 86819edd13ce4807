/*
 * test_auth_login.c - logging in through the handle (auth/auth.c):
 * throttling per user and per address with a stub clock (5 failures in
 * 15 minutes, a growing Retry-After, a correct password refused while it
 * lasts, recovery after the window), the time a missing user costs
 * against a wrong password (at the default scrypt cost), changing one's
 * own password, and the audit records all of it leaves, read back in
 * order with every field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "support/authfix.h"

#define PW "correct horse battery"

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Five wrong passwords for alice from one address: the fifth answer is
 * still AUTH_BAD but starts a 30 s wait; then even the right password is
 * refused with Retry-After counting down, from any address; after the
 * wait it works again. */
static void test_throttle_user(void **state)
{
    authfix *f = *state;
    auth *a = authfix_open(f, true);
    authfix_add(a, "alice", AUTH_OPERATOR, PW);
    char sid[AUTH_SID_LEN + 1];
    unsigned retry;
    int64_t t = AF_T0;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(authfix_login(a, "alice", "wrong", "192.0.2.1",
                                       t += AF_S, sid, NULL, &retry),
                         AUTH_BAD);
        assert_int_equal(retry, 0);
    }
    assert_int_equal(authfix_login(a, "alice", "wrong", "192.0.2.1",
                                   t += AF_S, sid, NULL, &retry), AUTH_BAD);
    assert_int_equal(retry, 30);
    int64_t until = t + 30 * AF_S;
    assert_int_equal(authfix_login(a, "alice", PW, "192.0.2.1", t + AF_S,
                                   sid, NULL, &retry), AUTH_THROTTLED);
    assert_int_equal(retry, 29);
    /* Per user: another address does not help alice... */
    assert_int_equal(authfix_login(a, "alice", PW, "198.51.100.7",
                                   until - AF_S / 2, sid, NULL, &retry),
                     AUTH_THROTTLED);
    assert_int_equal(retry, 1);
    /* ...and alice's wait is not bob's: bob from elsewhere is fine. */
    authfix_add(a, "bob", AUTH_VIEWER, PW);
    assert_int_equal(authfix_login(a, "bob", PW, "198.51.100.7", t + AF_S,
                                   sid, NULL, NULL), AUTH_OK);
    /* Refused attempts did not prolong it; at the end the password works
     * (from an address that did not fail). */
    assert_int_equal(authfix_login(a, "alice", PW, "198.51.100.7", until,
                                   sid, NULL, &retry), AUTH_OK);
    assert_int_equal(retry, 0);
    auth_close(a);
}

/* Failures after a wait double it; 15 minutes without a failure forget
 * them (never a lockout for good). */
static void test_throttle_grows_and_recovers(void **state)
{
    authfix *f = *state;
    auth *a = authfix_open(f, true);
    authfix_add(a, "alice", AUTH_OPERATOR, PW);
    char sid[AUTH_SID_LEN + 1];
    unsigned retry;
    int64_t t = AF_T0;
    for (int i = 0; i < 5; i++)
        authfix_login(a, "alice", "wrong", "192.0.2.1", t += AF_S, sid, NULL,
                      &retry);
    assert_int_equal(retry, 30);
    static const unsigned next[] = {60, 120, 240};
    for (int i = 0; i < 3; i++) {
        t += (int64_t)retry * AF_S;
        assert_int_equal(authfix_login(a, "alice", "wrong", "192.0.2.1", t,
                                       sid, NULL, &retry), AUTH_BAD);
        assert_int_equal(retry, next[i]);
    }
    /* Well after the last wait and 15 minutes after the last failure: a
     * failure starts nothing, and the right password works. */
    t += 15 * AF_MIN;
    assert_int_equal(authfix_login(a, "alice", "wrong", "192.0.2.1", t, sid,
                                   NULL, &retry), AUTH_BAD);
    assert_int_equal(retry, 0);
    assert_int_equal(authfix_login(a, "alice", PW, "192.0.2.1", t + AF_S,
                                   sid, NULL, &retry), AUTH_OK);
    auth_close(a);
}

/* Five failures from one address, each for another name (existing or
 * not): that address waits, for every user; the users themselves do not
 * (each failed once), and other addresses are not affected.  IPv6
 * addresses count by /64. */
static void test_throttle_address(void **state)
{
    authfix *f = *state;
    auth *a = authfix_open(f, true);
    authfix_add(a, "alice", AUTH_OPERATOR, PW);
    char sid[AUTH_SID_LEN + 1], name[16];
    unsigned retry = 0;
    int64_t t = AF_T0;
    for (int i = 0; i < 5; i++) {
        snprintf(name, sizeof name, "guess%d", i);
        assert_int_equal(authfix_login(a, i == 2 ? "alice" : name, "wrong",
                                       "2001:db8:1:2::1", t += AF_S, sid,
                                       NULL, &retry), AUTH_BAD);
    }
    assert_int_equal(retry, 30);
    assert_int_equal(authfix_login(a, "alice", PW, "2001:db8:1:2:ffff::9",
                                   t + AF_S, sid, NULL, &retry),
                     AUTH_THROTTLED);
    assert_int_equal(retry, 29);
    assert_int_equal(authfix_login(a, "alice", PW, "2001:db8:1:3::1",
                                   t + AF_S, sid, NULL, &retry), AUTH_OK);
    /* Tokens are throttled by address too. */
    char err[256];
    assert_int_equal(auth_token_login(a, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
                                         "AAAAAAA", "2001:db8:1:2::1",
                                      t + AF_S, sid, NULL, &retry, err,
                                      sizeof err), AUTH_THROTTLED);
    assert_int_equal(retry, 29);
    for (int i = 0; i < 5; i++)
        auth_token_login(a, "nope", "192.0.2.99", t + i, sid, NULL, &retry,
                         err, sizeof err);
    assert_int_equal(retry, 30);
    assert_int_equal(authfix_login(a, "alice", PW, "192.0.2.99", t + 10,
                                   sid, NULL, &retry), AUTH_THROTTLED);
    auth_close(a);
}

/* A login for a user who does not exist costs about what a wrong password
 * costs (both verify one scrypt hash at the default cost); without the
 * dummy hash the first would take microseconds.  One of each, measured
 * twice, the faster kept (this machine is noisy); the bound is generous. */
static void test_missing_user_timing(void **state)
{
    authfix *f = *state;
    auth *a = authfix_open(f, false);
    double t0 = mono();
    assert_int_equal(authfix_add(a, "alice", AUTH_OPERATOR, PW), 0);
    double hash_s = mono() - t0;
    char sid[AUTH_SID_LEN + 1];
    double wrong = 1e9, missing = 1e9;
    for (int i = 0; i < 2; i++) {
        t0 = mono();
        assert_int_equal(authfix_login(a, "alice", "not the password",
                                       "192.0.2.1", AF_T0 + i, sid, NULL,
                                       NULL), AUTH_BAD);
        double w = mono() - t0;
        t0 = mono();
        assert_int_equal(authfix_login(a, "mallory", "not the password",
                                       "192.0.2.2", AF_T0 + i, sid, NULL,
                                       NULL), AUTH_BAD);
        double m = mono() - t0;
        wrong = w < wrong ? w : wrong;
        missing = m < missing ? m : missing;
    }
    print_message("default cost: hash %.3f s, wrong password %.3f s, "
                  "missing user %.3f s\n", hash_s, wrong, missing);
    assert_true(wrong > 0.05);
    assert_true(missing > wrong * 0.5 && missing < wrong * 2.0);
    auth_close(a);
}

/* A user changes their own password: the old one must be right (and is
 * throttled like a login), the new one must pass the rule; then the
 * other sessions end, this one goes on, and only the new password works.
 * A token's session cannot. */
static void test_change_password(void **state)
{
    authfix *f = *state;
    auth *a = authfix_open(f, true);
    authfix_add(a, "alice", AUTH_OPERATOR, PW);
    char sid[AUTH_SID_LEN + 1], other[AUTH_SID_LEN + 1], err[256];
    authfix_login(a, "alice", PW, "192.0.2.1", AF_T0, sid, NULL, NULL);
    authfix_login(a, "alice", PW, "192.0.2.1", AF_T0, other, NULL, NULL);
    unsigned retry = 7;
    assert_int_equal(auth_change_password(a, sid, "wrong", "a better one!",
                                          "192.0.2.1", AF_T0 + 1, &retry, err,
                                          sizeof err), AUTH_BAD);
    assert_int_equal(retry, 0);
    assert_int_equal(auth_change_password(a, sid, PW, "short", "192.0.2.1",
                                          AF_T0 + 2, &retry, err, sizeof err),
                     AUTH_WEAK);
    assert_string_equal(err, "the password is too short: a password needs "
                             "at least 10 characters");
    assert_int_equal(auth_change_password(a, sid, PW, "a better one!",
                                          "192.0.2.1", AF_T0 + 3, &retry, err,
                                          sizeof err), AUTH_OK);
    assert_int_equal(auth_session_check(a, sid, AF_T0 + 4, NULL), 0);
    assert_int_equal(auth_session_check(a, other, AF_T0 + 4, NULL), -1);
    assert_int_equal(authfix_login(a, "alice", PW, "192.0.2.1", AF_T0 + 5,
                                   other, NULL, NULL), AUTH_BAD);
    assert_int_equal(authfix_login(a, "alice", "a better one!", "192.0.2.1",
                                   AF_T0 + 6, other, NULL, NULL), AUTH_OK);
    /* Throttled like a login: five wrong old passwords. */
    for (int i = 0; i < 5; i++)
        auth_change_password(a, sid, "wrong", "whatever long", "192.0.2.1",
                             AF_T0 + 10 + i, &retry, err, sizeof err);
    assert_int_equal(retry, 30);
    assert_int_equal(auth_change_password(a, sid, "a better one!",
                                          "and another one", "192.0.2.1",
                                          AF_T0 + 20, &retry, err,
                                          sizeof err), AUTH_THROTTLED);
    /* No session, or a token's. */
    assert_int_equal(auth_change_password(a, "0123456789abcdef0123456789abcdef",
                                          PW, "whatever long", "192.0.2.1",
                                          AF_T0, &retry, err, sizeof err),
                     AUTH_BAD);
    char secret[AUTH_TOKEN_LEN + 1], tsid[AUTH_SID_LEN + 1];
    auth_token_add(a, "wall", AUTH_VIEWER, "tester", "cli", AF_T0, secret,
                   sizeof secret, err, sizeof err);
    auth_token_login(a, secret, "192.0.2.3", AF_T0, tsid, NULL, NULL, err,
                     sizeof err);
    assert_int_equal(auth_change_password(a, tsid, PW, "whatever long",
                                          "192.0.2.3", AF_T0, &retry, err,
                                          sizeof err), AUTH_BAD);
    auth_close(a);
}

typedef struct {
    int n;
    auth_audit_row r[32];
} rows;

static int collect_row(void *ctx, const auth_audit_row *r)
{
    rows *x = ctx;
    if (x->n < 32)
        x->r[x->n] = *r;
    x->n++;
    return 0;
}

static void expect_row(const auth_audit_row *r, int64_t ts, const char *user,
                       const char *action, const char *detail,
                       const char *address, const char *result)
{
    assert_int_equal(r->ts_ns, ts);
    assert_string_equal(r->user, user);
    assert_string_equal(r->action, action);
    assert_string_equal(r->detail, detail);
    assert_string_equal(r->address, address);
    assert_string_equal(r->result, result);
}

/* Every kind of record, read back through auth_audit_each (no handle) in
 * the order written, every field exact; a login name that is no user is
 * not written; from/to select [from, to). */
static void test_audit(void **state)
{
    authfix *f = *state;
    auth *a = authfix_open(f, true);
    char err[256], sid[AUTH_SID_LEN + 1], secret[AUTH_TOKEN_LEN + 1];
    rows x = {0};
    /* Nothing yet: no rows, no error. */
    assert_int_equal(auth_audit_each(f->dir, 0, INT64_MAX, collect_row, &x,
                                     err, sizeof err), 0);
    assert_int_equal(x.n, 0);
    int64_t t = AF_T0;
    assert_int_equal(auth_user_add(a, "alice", AUTH_OPERATOR, PW, "root",
                                   "cli", t, err, sizeof err), 0);
    authfix_login(a, "alice", "wrong", "192.0.2.1", t + 1, sid, NULL, NULL);
    authfix_login(a, "hunter2-typed-here", "x", "192.0.2.1", t + 2, sid, NULL,
                  NULL);
    authfix_login(a, "alice", PW, "192.0.2.1", t + 3, sid, NULL, NULL);
    auth_logout(a, sid, "192.0.2.1", t + 4);
    auth_token_add(a, "wall-1", AUTH_VIEWER, "root", "cli", t + 5, secret,
                   sizeof secret, err, sizeof err);
    auth_token_login(a, secret, "192.0.2.8", t + 6, sid, NULL, NULL, err,
                     sizeof err);
    auth_token_login(a, "bad", "192.0.2.8", t + 7, sid, NULL, NULL, err,
                     sizeof err);
    auth_user_role(a, "alice", AUTH_ENGINEER, "root", "cli", t + 8, err,
                   sizeof err);
    auth_user_passwd(a, "alice", "another password", "root", "cli", t + 9,
                     err, sizeof err);
    assert_int_equal(auth_audit(a, "alice", "ack", "levels.upper high",
                                "192.0.2.1", "ok", t + 10, err, sizeof err),
                     0);
    auth_token_del(a, "wall-1", "root", "cli", t + 11, err, sizeof err);
    auth_user_del(a, "alice", "root", "cli", t + 11, err, sizeof err);
    for (int i = 0; i < 5; i++)
        authfix_login(a, "alice", "wrong", "203.0.113.5", t + 20 + i, sid,
                      NULL, NULL);
    /* Read while the handle is open (WAL), as the command line does. */
    assert_int_equal(auth_audit_each(f->state, 0, INT64_MAX, collect_row, &x,
                                     err, sizeof err), 0);
    assert_int_equal(x.n, 18);
    expect_row(&x.r[0], t, "root", "user-add", "alice role operator", "cli",
               "ok");
    expect_row(&x.r[1], t + 1, "alice", "login", "wrong password",
               "192.0.2.1", "bad");
    expect_row(&x.r[2], t + 2, "", "login", "unknown user", "192.0.2.1",
               "bad");
    expect_row(&x.r[3], t + 3, "alice", "login", "", "192.0.2.1", "ok");
    expect_row(&x.r[4], t + 4, "alice", "logout", "", "192.0.2.1", "ok");
    expect_row(&x.r[5], t + 5, "root", "token-add", "wall-1 role viewer",
               "cli", "ok");
    expect_row(&x.r[6], t + 6, "wall-1", "token-login", "", "192.0.2.8",
               "ok");
    expect_row(&x.r[7], t + 7, "", "token-login", "unknown token",
               "192.0.2.8", "bad");
    expect_row(&x.r[8], t + 8, "root", "user-role", "alice role engineer",
               "cli", "ok");
    expect_row(&x.r[9], t + 9, "root", "user-passwd", "alice", "cli", "ok");
    expect_row(&x.r[10], t + 10, "alice", "ack", "levels.upper high",
               "192.0.2.1", "ok");
    expect_row(&x.r[11], t + 11, "root", "token-del", "wall-1", "cli", "ok");
    expect_row(&x.r[12], t + 11, "root", "user-del", "alice", "cli", "ok");
    /* alice is gone: her name is not written for these */
    for (int i = 0; i < 4; i++)
        expect_row(&x.r[13 + i], t + 20 + i, "", "login", "unknown user",
                   "203.0.113.5", "bad");
    expect_row(&x.r[17], t + 24, "", "login", "unknown user", "203.0.113.5",
               "throttled");
    /* [from, to): from included, to not. */
    rows y = {0};
    assert_int_equal(auth_audit_each(f->state, t + 3, t + 6, collect_row, &y,
                                     err, sizeof err), 0);
    assert_int_equal(y.n, 3);
    assert_string_equal(y.r[0].action, "login");
    assert_string_equal(y.r[2].action, "token-add");
    auth_close(a);
    /* Fields are cut to what a row holds, and never at half a character. */
    a = authfix_open(f, true);
    char longer[400];
    memset(longer, 'x', sizeof longer);
    longer[254] = '\xe8';
    longer[255] = '\x88';
    longer[256] = '\xb9';
    longer[sizeof longer - 1] = '\0';
    assert_int_equal(auth_audit(a, "u", "act", longer, "a", "ok", t + 30,
                                err, sizeof err), 0);
    y.n = 0;
    assert_int_equal(auth_audit_each(f->state, t + 30, t + 31, collect_row,
                                     &y, err, sizeof err), 0);
    assert_int_equal(y.n, 1);
    assert_int_equal(strlen(y.r[0].detail), 254);
    assert_int_equal(auth_audit(a, "u", "", "", "a", "ok", t, err,
                                sizeof err), -1);
    auth_close(a);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, authfix_setup, \
                                              authfix_teardown)
    const struct CMUnitTest tests[] = {
        T(test_throttle_user),
        T(test_throttle_grows_and_recovers),
        T(test_throttle_address),
        T(test_missing_user_timing),
        T(test_change_password),
        T(test_audit),
    };
    return cmocka_run_group_tests_name("auth_login", tests, NULL, NULL);
}
