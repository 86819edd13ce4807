/*
 * dhist.h - a fixed-size log-linear histogram of durations in microseconds.
 *
 * Values below 32 µs have their own bucket; above, each power of two is cut
 * into 16 buckets, so a quantile is within about 6 % of the true value.  No
 * allocation: a dhist is a plain struct that can be copied, zeroed and
 * merged, which is how statistics leave the poller threads.
 */
#ifndef LB_DHIST_H
#define LB_DHIST_H

#include <stdint.h>

#define DHIST_BUCKETS (32 + 27 * 16)

typedef struct {
    uint64_t n;
    uint64_t max_us;
    uint64_t b[DHIST_BUCKETS];
} dhist;

void dhist_add(dhist *h, uint64_t us);
void dhist_merge(dhist *into, const dhist *from);
/* The value below which a share q (0..1) of the samples fall, in µs (the
 * upper edge of the bucket that holds it); 0 for an empty histogram. */
uint64_t dhist_quantile(const dhist *h, double q);

#endif
