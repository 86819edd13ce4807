/*
 * sched.h - poll groups on absolute deadlines.
 *
 * Each group's deadlines are start + k * period, computed from the start,
 * never from when the previous poll finished, so cycles do not drift.  When
 * a poll overruns one or more deadlines, those deadlines are counted as
 * missed and skipped, not queued: the next poll runs at the next deadline
 * still in the future.  Pure: the caller passes the monotonic time in, so
 * tests drive it with a stub clock.  Not thread-safe; one per poller.
 *
 * It holds as many groups as a map may give a PLC (MAP_GROUPS_MAX), in
 * place (64 x 32 bytes; no allocation); more is refused, never truncated:
 * a group dropped here would leave its tags unpolled while `check` and
 * `read` say the map is fine.
 */
#ifndef LB_SCHED_H
#define LB_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "config/plcmap.h"

#define SCHED_MAX_GROUPS MAP_GROUPS_MAX

typedef struct {
    uint64_t period_ns;
    uint64_t next_ns;    /* next deadline (monotonic ns) */
    uint64_t missed;     /* deadlines skipped because a poll overran */
    uint64_t runs;
} sched_group;

typedef struct {
    sched_group g[SCHED_MAX_GROUPS];
    size_t n;
} sched;

/* All groups get their first deadline at start_ns.  0, or -1 with errno
 * E2BIG when n > SCHED_MAX_GROUPS (s then has no groups). */
int sched_init(sched *s, const uint64_t *periods_ns, size_t n,
               uint64_t start_ns);

/* The group whose deadline is earliest (lowest index on ties), and that
 * deadline in *deadline_ns.  -1 when there are no groups. */
int sched_next(const sched *s, uint64_t *deadline_ns);

/* Marks group g as polled, its poll having finished at now_ns: advances its
 * deadline by whole periods past now_ns, counting every deadline skipped
 * (a deadline equal to now_ns is still due, not missed). Returns the number
 * of deadlines missed by this call. */
uint64_t sched_done(sched *s, int g, uint64_t now_ns);

#endif
