/*
 * dhist.c - log-linear histogram (see dhist.h).
 */
#include "core/dhist.h"

static unsigned dhist_index(uint64_t us)
{
    if (us < 32)
        return (unsigned)us;
    unsigned e = 63u - (unsigned)__builtin_clzll(us);     /* us in [2^e, 2^e+1) */
    unsigned sub = (unsigned)(us >> (e - 4)) & 15u;      /* next 4 bits */
    unsigned idx = 32u + (e - 5u) * 16u + sub;
    return idx < DHIST_BUCKETS ? idx : DHIST_BUCKETS - 1;
}

/* The value reported for a bucket: exact below 32 µs, else the bucket's
 * upper edge, so quantiles err on the pessimistic side. */
static uint64_t dhist_edge(unsigned idx)
{
    if (idx < 32)
        return idx;
    unsigned e = (idx - 32u) / 16u + 5u;
    unsigned sub = (idx - 32u) % 16u;
    return ((uint64_t)(16u + sub + 1u)) << (e - 4u);
}

void dhist_add(dhist *h, uint64_t us)
{
    h->b[dhist_index(us)]++;
    h->n++;
    if (us > h->max_us)
        h->max_us = us;
}

void dhist_merge(dhist *into, const dhist *from)
{
    for (unsigned i = 0; i < DHIST_BUCKETS; i++)
        into->b[i] += from->b[i];
    into->n += from->n;
    if (from->max_us > into->max_us)
        into->max_us = from->max_us;
}

uint64_t dhist_quantile(const dhist *h, double q)
{
    if (h->n == 0)
        return 0;
    uint64_t rank = (uint64_t)(q * (double)h->n);
    if (rank >= h->n)
        rank = h->n - 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < DHIST_BUCKETS; i++) {
        seen += h->b[i];
        if (seen > rank) {
            if (i == DHIST_BUCKETS - 1)
                return h->max_us;     /* the catch-all bucket */
            uint64_t edge = dhist_edge(i);
            return edge > h->max_us ? h->max_us : edge;
        }
    }
    return h->max_us;
}
