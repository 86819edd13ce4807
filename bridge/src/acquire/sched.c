/*
 * sched.c - absolute-deadline scheduling of poll groups.
 *
 * Deadlines are start + k * period for whole k, so rounding and late wakeups
 * never accumulate.  After an overrun the next deadline is found with one
 * division, not a loop over the missed ones: a 1 us group after a 1 s stall
 * costs the same as after none.
 */
#include "acquire/sched.h"

#include <errno.h>

int sched_init(sched *s, const uint64_t *periods_ns, size_t n,
               uint64_t start_ns)
{
    if (n > SCHED_MAX_GROUPS) {
        s->n = 0;
        errno = E2BIG;
        return -1;
    }
    s->n = n;
    for (size_t i = 0; i < n; i++) {
        /* A zero period would divide by zero; 1 ns means "as fast as
         * possible", which is what a zero period asks for. */
        s->g[i].period_ns = periods_ns[i] ? periods_ns[i] : 1;
        s->g[i].next_ns = start_ns;
        s->g[i].missed = 0;
        s->g[i].runs = 0;
    }
    return 0;
}

int sched_next(const sched *s, uint64_t *deadline_ns)
{
    if (s->n == 0)
        return -1;
    size_t best = 0;
    for (size_t i = 1; i < s->n; i++)
        if (s->g[i].next_ns < s->g[best].next_ns)
            best = i; /* strict: ties keep the lowest index */
    if (deadline_ns)
        *deadline_ns = s->g[best].next_ns;
    return (int)best;
}

uint64_t sched_done(sched *s, int g, uint64_t now_ns)
{
    if (g < 0 || (size_t)g >= s->n)
        return 0;
    sched_group *grp = &s->g[g];
    grp->runs++;
    /* The next deadline is the first of next + k * period (k >= 1) that is
     * not before now; the k - 1 deadlines passed over are missed. */
    uint64_t k = 1;
    if (now_ns > grp->next_ns + grp->period_ns)
        k = (now_ns - grp->next_ns + grp->period_ns - 1) / grp->period_ns;
    grp->next_ns += k * grp->period_ns;
    grp->missed += k - 1;
    return k - 1;
}
