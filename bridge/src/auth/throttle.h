/*
 * throttle.h - login throttling in memory (internal to auth/).
 *
 * One throttle counts failures per key (the handle keeps one for user
 * names and one for client addresses, so that filling one cannot push the
 * other out).  THROTTLE_LIMIT failures within the window (auth.
 * throttle_window, THROTTLE_WINDOW_DEFAULT_NS) start a wait of
 * THROTTLE_WAIT0_S, and each failure after a wait doubles it, up to the
 * window itself.  A key without a failure for the window (and not
 * waiting) is forgotten, so the wait never grows without end and nothing
 * is ever locked for good (OWASP ASVS 4.0 2.2.1: soft lockout, rate
 * limiting): after the longest wait, which is as long as the window, the
 * next failure starts afresh.  A window shorter than THROTTLE_WAIT0_S
 * (a test's few seconds) makes every wait the window.
 * Attempts refused during a wait are not failures: they do not prolong it.
 *
 * Not thread-safe: the handle calls it under its lock.  Time is passed in
 * (wall clock ns), so tests drive it with a stub.
 */
#ifndef LB_AUTH_THROTTLE_H
#define LB_AUTH_THROTTLE_H

#include <stddef.h>
#include <stdint.h>

#define THROTTLE_LIMIT 5
#define THROTTLE_WINDOW_DEFAULT_NS (15 * 60 * 1000000000LL)
#define THROTTLE_WAIT0_S 30u
/* Keys held at most; beyond it the forgotten ones go first, then the one
 * whose last failure is oldest. */
#define THROTTLE_KEYS_MAX 10000
#define THROTTLE_KEY_MAX 72

typedef struct throttle throttle;

/* window_ns: how long failures count, and the longest wait (rounded up
 * to whole seconds); 0 takes THROTTLE_WINDOW_DEFAULT_NS.  NULL when out
 * of memory. */
throttle *throttle_new(int64_t window_ns);
void throttle_free(throttle *t);

/* Seconds the key must still wait at now (rounded up), 0 when it may try. */
unsigned throttle_wait(throttle *t, const char *key, int64_t now_ns);
/* Counts a failure of key at now; returns the wait (seconds) it starts,
 * 0 when none yet.  Out of memory the failure goes uncounted. */
unsigned throttle_fail(throttle *t, const char *key, int64_t now_ns);
/* A success: the key's failures are forgotten. */
void throttle_ok(throttle *t, const char *key);
/* Forgets the keys whose window has passed. */
void throttle_prune(throttle *t, int64_t now_ns);
size_t throttle_count(const throttle *t);

/* The key an address is throttled by: IPv4 as it is, IPv6 by its /64
 * (one host usually has a whole /64 to pick from), an IPv4-mapped IPv6
 * address as the IPv4 one, anything else as given (cut to fit). */
void throttle_address_key(const char *address, char *out, size_t outlen);

#endif
