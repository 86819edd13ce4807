/*
 * authfix.h - a scratch station for the tests of auth/ (test_auth*.c): a
 * temporary directory holding the users file and the state directory,
 * handles opened on it with the session lengths the tests count with,
 * and helpers that log in and look at the files.
 *
 * Header-only (static inline functions), since only those tests use it.
 */
#ifndef LB_AUTHFIX_H
#define LB_AUTHFIX_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "auth/testhook.h"
#include "support/tmpdir.h"

#define AF_S 1000000000LL
#define AF_MIN (60 * AF_S)
#define AF_T0 (1764000000LL * AF_S)       /* 2025-11-24T16:00:00Z */

typedef struct {
    char dir[64];
    char users[96];
    char state[96];
    /* Warnings arrive on auth-watch too: under mu. */
    pthread_mutex_t mu;
    int warnings;
    char last_warning[2048];
} authfix;

static inline void authfix_warn(void *ctx, const char *msg)
{
    authfix *f = ctx;
    pthread_mutex_lock(&f->mu);
    f->warnings++;
    snprintf(f->last_warning, sizeof f->last_warning, "%s", msg);
    pthread_mutex_unlock(&f->mu);
}

static inline int authfix_warnings(authfix *f)
{
    pthread_mutex_lock(&f->mu);
    int n = f->warnings;
    pthread_mutex_unlock(&f->mu);
    return n;
}

static inline void authfix_last_warning(authfix *f, char *out, size_t len)
{
    pthread_mutex_lock(&f->mu);
    snprintf(out, len, "%s", f->last_warning);
    pthread_mutex_unlock(&f->mu);
}

static inline int authfix_setup(void **state)
{
    authfix *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/lb-auth-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    pthread_mutex_init(&f->mu, NULL);
    snprintf(f->users, sizeof f->users, "%s/users", f->dir);
    snprintf(f->state, sizeof f->state, "%s/state", f->dir);
    *state = f;
    return 0;
}

static inline int authfix_teardown(void **state)
{
    authfix *f = *state;
    tmpdir_remove(f->dir);
    pthread_mutex_destroy(&f->mu);
    free(f);
    return 0;
}

/* A handle on the fixture: idle 30 min, max 12 h, tokens 30 days; scrypt
 * at ln=4 (cheap) unless cheap is false. */
static inline auth *authfix_open(authfix *f, bool cheap)
{
    auth_opts o = {.users_path = f->users, .state_dir = f->state,
                   .session_idle_ns = 30 * AF_MIN,
                   .session_max_ns = 12 * 60 * AF_MIN,
                   .token_session_ns = 30 * 24 * 60 * AF_MIN,
                   .warn = authfix_warn, .warn_ctx = f};
    char err[2048] = "";
    auth *a = auth_open(&o, err, sizeof err);
    if (!a) {
        fprintf(stderr, "auth_open: %s\n", err);
        return NULL;
    }
    if (cheap)
        auth_test_set_cost(a, 4, 8, 1);
    return a;
}

static inline int authfix_add(auth *a, const char *name, auth_role role,
                              const char *password)
{
    char err[512];
    int rc = auth_user_add(a, name, role, password, "tester", "cli", AF_T0,
                           err, sizeof err);
    if (rc < 0)
        fprintf(stderr, "auth_user_add %s: %s\n", name, err);
    return rc;
}

/* Logs in; the result, sid and session filled. */
static inline auth_result authfix_login(auth *a, const char *user,
                                        const char *pw, const char *addr,
                                        int64_t now, char *sid,
                                        auth_session *s, unsigned *retry)
{
    char err[256];
    unsigned r = 12345;
    auth_result res = auth_login(a, user, pw, addr, now, sid, s, &r, err,
                                 sizeof err);
    if (retry)
        *retry = r;
    return res;
}

/* Whether the bytes of needle occur in the file (false if no file). */
static inline bool authfix_file_has(const char *path, const void *needle,
                                    size_t n)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return false;
    fseek(fp, 0, SEEK_END);
    long len = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *buf = malloc(len > 0 ? (size_t)len : 1);
    size_t got = buf ? fread(buf, 1, (size_t)len, fp) : 0;
    fclose(fp);
    bool found = false;
    for (size_t i = 0; buf && n && i + n <= got && !found; i++)
        found = memcmp(buf + i, needle, n) == 0;
    free(buf);
    return found;
}

#endif
