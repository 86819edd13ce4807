/*
 * backoff.c - exponential back-off with equal jitter (see backoff.h).
 */
#include "core/backoff.h"

static uint64_t backoff_rand(backoff *b)
{
    b->rng ^= b->rng >> 12;
    b->rng ^= b->rng << 25;
    b->rng ^= b->rng >> 27;
    return b->rng * 2685821657736338717ull;
}

void backoff_init(backoff *b, uint64_t min_ns, uint64_t max_ns, uint64_t seed)
{
    b->min_ns = min_ns ? min_ns : 1;
    b->max_ns = max_ns < b->min_ns ? b->min_ns : max_ns;
    b->step_ns = 0;
    b->rng = seed ^ 0x9e3779b97f4a7c15ull;
    if (!b->rng)
        b->rng = 1;
}

uint64_t backoff_jitter(backoff *b, uint64_t lo, uint64_t hi)
{
    return hi > lo ? lo + backoff_rand(b) % (hi - lo) : lo;
}

uint64_t backoff_next(backoff *b)
{
    if (b->step_ns == 0)
        b->step_ns = b->min_ns;
    else if (b->step_ns > b->max_ns / 2)
        b->step_ns = b->max_ns;
    else
        b->step_ns *= 2;
    return backoff_jitter(b, b->step_ns / 2, b->step_ns + 1);
}

void backoff_reset(backoff *b) { b->step_ns = 0; }
