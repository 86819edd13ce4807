/*
 * backoff.h - exponential back-off with jitter, for everything that retries
 * a peer: the pollers reconnecting to a PLC, the InfluxDB writer after a
 * failed write, and (later) notification channels.
 *
 * Delays double from `min` to `max`.  Each delay returned is "equal
 * jitter": half of the current step fixed, the other half random, so that
 * retries stay paced (never sooner than half the step) while many clients
 * that failed together (eight pollers of one station after a switch
 * reboot, or many bridges behind one database) do not retry in the same
 * instant.  The randomness is xorshift64*: jitter only, not security.
 *
 * A backoff is a plain struct owned by one thread; no locking.
 */
#ifndef LB_BACKOFF_H
#define LB_BACKOFF_H

#include <stdint.h>

typedef struct {
    uint64_t min_ns, max_ns;
    uint64_t step_ns;     /* the current step; 0 before the first failure */
    uint64_t rng;
} backoff;

/* seed: any value that differs between users (a PLC index, a pointer and
 * the clock); 0 is replaced. */
void backoff_init(backoff *b, uint64_t min_ns, uint64_t max_ns, uint64_t seed);

/* After a failure: the delay before the next attempt, in [step/2, step],
 * where step is min after the first failure and doubles up to max. */
uint64_t backoff_next(backoff *b);

/* After a success: the next failure starts again at min. */
void backoff_reset(backoff *b);

/* A uniformly random value in [lo, hi) (lo when hi <= lo). */
uint64_t backoff_jitter(backoff *b, uint64_t lo, uint64_t hi);

#endif
