/*
 * plan.h - request planning: which Modbus reads cover a poll group.
 *
 * For each (table, poll group) of a PLC, tags are sorted by address
 * (counting sort over the 16-bit address space keeps planning linear in the
 * number of tags) and swept once: a tag joins the current request when the
 * request would still fit the protocol limit (125 registers, 2000 bits) and
 * the unused gap before it is at most `max_gap`; otherwise a new request
 * starts.  Filling a gap always saves a whole request, and the greedy sweep
 * gives the fewest requests any planner can under the same limits.  A tag is
 * never split across requests.
 */
#ifndef LB_PLAN_H
#define LB_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "config/plcmap.h"

typedef struct {
    map_table table;
    uint16_t start;      /* protocol address of the first register/bit */
    uint16_t count;      /* registers or bits to read */
    size_t first;        /* index into plan.tags of the first tag decoded */
    size_t n_tags;       /* tags decoded from this request */
} plan_req;

typedef struct {
    int group;           /* the poll group this plan serves */
    plan_req *reqs;
    size_t n_reqs;
    size_t *tags;        /* indexes into map_plc.tags, grouped by request */
    size_t n_tags;
} plan;

/* Plans the reads for one poll group of a PLC, using plc->max_gap.  Returns
 * a plan owned by the caller (plan_free), or NULL on allocation failure. A
 * group with no tags gives a plan with zero requests. */
plan *plan_build(const map_plc *plc, int group);

/* Same, with an explicit max gap (for tests and benchmarks). */
plan *plan_build_gap(const map_plc *plc, int group, int max_gap);

void plan_free(plan *p);

#endif
