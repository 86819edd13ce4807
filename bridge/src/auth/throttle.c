/*
 * throttle.c - login throttling (see throttle.h).
 *
 * Keys live in an array searched linearly: at most THROTTLE_KEYS_MAX, and
 * it is searched once or twice per login, which costs a scrypt anyway.
 * Each key keeps the times of its last THROTTLE_LIMIT failures in a small
 * ring, which is all "5 within 15 minutes" needs.
 */
#include "auth/throttle.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char key[THROTTLE_KEY_MAX];
    int64_t fails[THROTTLE_LIMIT];   /* ring, the last failures */
    unsigned n_fails, next;
    unsigned level;                  /* waits started in this run */
    int64_t last_fail;
    int64_t until;                   /* no attempt before this */
} throttle_entry;

struct throttle {
    throttle_entry *v;
    size_t n, cap;
    int64_t window;                  /* ns */
    unsigned wait0, wait_max;        /* s */
};

throttle *throttle_new(int64_t window_ns)
{
    throttle *t = calloc(1, sizeof(throttle));
    if (!t)
        return NULL;
    t->window = window_ns > 0 ? window_ns : THROTTLE_WINDOW_DEFAULT_NS;
    /* Retry-After counts whole seconds: the longest wait is the window
     * rounded up, so that waiting it out always lands past the window. */
    int64_t max_s = (t->window + 999999999) / 1000000000;
    t->wait_max = max_s > UINT32_MAX ? UINT32_MAX : (unsigned)max_s;
    t->wait0 = THROTTLE_WAIT0_S < t->wait_max ? THROTTLE_WAIT0_S
                                              : t->wait_max;
    return t;
}

void throttle_free(throttle *t)
{
    if (!t)
        return;
    free(t->v);
    free(t);
}

size_t throttle_count(const throttle *t)
{
    return t->n;
}

static throttle_entry *throttle_find(throttle *t, const char *key)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->v[i].key, key) == 0)
            return &t->v[i];
    return NULL;
}

/* Whether the key's failures no longer matter at now. */
static bool throttle_forgotten(const throttle *t, const throttle_entry *e,
                               int64_t now)
{
    return now - e->last_fail >= t->window && now >= e->until;
}

static void throttle_drop(throttle *t, size_t i)
{
    t->v[i] = t->v[--t->n];
}

void throttle_prune(throttle *t, int64_t now_ns)
{
    for (size_t i = t->n; i-- > 0;)
        if (throttle_forgotten(t, &t->v[i], now_ns))
            throttle_drop(t, i);
}

unsigned throttle_wait(throttle *t, const char *key, int64_t now_ns)
{
    throttle_entry *e = throttle_find(t, key);
    if (!e || now_ns >= e->until)
        return 0;
    int64_t left = e->until - now_ns;
    return (unsigned)((left + 999999999) / 1000000000);
}

static throttle_entry *throttle_insert(throttle *t, const char *key,
                                       int64_t now)
{
    if (t->n == THROTTLE_KEYS_MAX)
        throttle_prune(t, now);
    if (t->n == THROTTLE_KEYS_MAX) {
        size_t old = 0;
        for (size_t i = 1; i < t->n; i++)
            if (t->v[i].last_fail < t->v[old].last_fail)
                old = i;
        throttle_drop(t, old);
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        throttle_entry *v = realloc(t->v, cap * sizeof *v);
        if (!v)
            return NULL;
        t->v = v;
        t->cap = cap;
    }
    throttle_entry *e = &t->v[t->n++];
    memset(e, 0, sizeof *e);
    snprintf(e->key, sizeof e->key, "%s", key);
    return e;
}

unsigned throttle_fail(throttle *t, const char *key, int64_t now_ns)
{
    throttle_entry *e = throttle_find(t, key);
    if (e && throttle_forgotten(t, e, now_ns)) {
        /* A new run: the old one's waits do not count against it. */
        throttle_ok(t, key);
        e = NULL;
    }
    if (!e)
        e = throttle_insert(t, key, now_ns);
    if (!e)
        return 0;
    e->fails[e->next] = now_ns;
    e->next = (e->next + 1) % THROTTLE_LIMIT;
    if (e->n_fails < THROTTLE_LIMIT)
        e->n_fails++;
    e->last_fail = now_ns;
    unsigned recent = 0;
    for (unsigned i = 0; i < e->n_fails; i++)
        recent += now_ns - e->fails[i] < t->window;
    /* Once a wait has started, every failure of the same run starts the
     * next one: the waits soon spread the failures thinner than five per
     * window, and the wait must still grow. */
    if (recent < THROTTLE_LIMIT && e->level == 0)
        return 0;
    unsigned wait = t->wait0;
    for (unsigned i = 0; i < e->level && wait < t->wait_max; i++)
        wait = wait > UINT32_MAX / 2 ? UINT32_MAX : wait * 2;
    if (wait > t->wait_max)
        wait = t->wait_max;
    e->level++;
    e->until = now_ns + (int64_t)wait * 1000000000LL;
    return wait;
}

void throttle_ok(throttle *t, const char *key)
{
    throttle_entry *e = throttle_find(t, key);
    if (e)
        throttle_drop(t, (size_t)(e - t->v));
}

void throttle_address_key(const char *address, char *out, size_t outlen)
{
    unsigned char a[16];
    char buf[INET6_ADDRSTRLEN];
    const char *s = address ? address : "";
    if (inet_pton(AF_INET6, s, a) == 1) {
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0,
                                                 0, 0, 0xff, 0xff};
        if (memcmp(a, mapped, sizeof mapped) == 0) {
            if (inet_ntop(AF_INET, a + 12, buf, sizeof buf))
                s = buf;
        } else {
            memset(a + 8, 0, 8);
            if (inet_ntop(AF_INET6, a, buf, sizeof buf)) {
                snprintf(out, outlen, "%s/64", buf);
                return;
            }
        }
    }
    snprintf(out, outlen, "%s", s);
}
