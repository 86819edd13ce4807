/*
 * plan.c - coalescing a poll group's tags into as few Modbus reads as the
 * protocol limits allow.
 *
 * The group's tags are sorted by (table, address) with two stable counting
 * passes (address over the 16-bit space, then table), which is linear in
 * the number of tags plus a fixed 65536-entry scratch array, and keeps
 * tags at the same address in map order.  One greedy sweep then makes the
 * requests: a tag joins the open request when the gap from the request's
 * end (the first address after the last register used so far) to the tag
 * is at most max_gap and the request, grown to hold the whole tag, stays
 * within 125 registers / 2000 bits.
 *
 * Why greedy is optimal: when a tag cannot join, it ends further right than
 * every tag already in the request (it either starts beyond the request's
 * end or sticks out past the limit), so the tags left behind could never
 * have helped a later request bridge a gap; taking as many tags as possible
 * into each request therefore never costs a request later on.
 */
#include "acquire/plan.h"

#include <stdlib.h>

#define N_ADDR 65536u
#define N_TABLES 4

static bool table_is_bits(map_table t)
{
    return t == MAP_COIL || t == MAP_DISCRETE;
}

static uint32_t tag_len(const map_tag *t)
{
    return t->nregs > 0 ? t->nregs : 1; /* a bit or a bool register */
}

/* Sorts idx (indexes into plc->tags) by (table, address), stably. */
static int sort_tags(const map_plc *plc, size_t *idx, size_t n)
{
    size_t *tmp = malloc(n * sizeof *tmp);
    uint32_t *count = calloc(N_ADDR + 1, sizeof *count);
    if (!tmp || !count) {
        free(tmp);
        free(count);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        count[plc->tags[idx[i]].address + 1]++;
    for (uint32_t a = 0; a < N_ADDR; a++)
        count[a + 1] += count[a];
    for (size_t i = 0; i < n; i++)
        tmp[count[plc->tags[idx[i]].address]++] = idx[i];

    size_t tcount[N_TABLES + 1] = {0};
    for (size_t i = 0; i < n; i++)
        tcount[(plc->tags[tmp[i]].table & 3) + 1]++;
    for (int t = 0; t < N_TABLES; t++)
        tcount[t + 1] += tcount[t];
    for (size_t i = 0; i < n; i++)
        idx[tcount[plc->tags[tmp[i]].table & 3]++] = tmp[i];

    free(tmp);
    free(count);
    return 0;
}

plan *plan_build_gap(const map_plc *plc, int group, int max_gap)
{
    plan *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->group = group;
    if (max_gap < 0)
        max_gap = 0; /* adjacent tags always share a request */

    size_t n = 0;
    for (size_t i = 0; i < plc->n_tags; i++)
        if (plc->tags[i].group == group)
            n++;
    if (n == 0)
        return p;

    p->tags = malloc(n * sizeof *p->tags);
    p->reqs = malloc(n * sizeof *p->reqs); /* at most one per tag */
    if (!p->tags || !p->reqs)
        goto fail;
    for (size_t i = 0, k = 0; i < plc->n_tags; i++)
        if (plc->tags[i].group == group)
            p->tags[k++] = i;
    p->n_tags = n;
    if (sort_tags(plc, p->tags, n) < 0)
        goto fail;

    plan_req *r = NULL;
    uint32_t end = 0; /* first address after the open request's last used */
    for (size_t k = 0; k < n; k++) {
        const map_tag *t = &plc->tags[p->tags[k]];
        uint32_t a = t->address, e = a + tag_len(t);
        uint32_t limit = table_is_bits(t->table) ? MAP_MAX_BITS : MAP_MAX_REGS;
        bool join = r && r->table == t->table &&
                    (a <= end || a - end <= (uint32_t)max_gap) &&
                    e - r->start <= limit;
        if (!join) {
            r = &p->reqs[p->n_reqs++];
            r->table = t->table;
            r->start = t->address;
            r->first = k;
            r->n_tags = 0;
            end = a;
        }
        if (e > end)
            end = e;
        r->n_tags++;
        /* A tag at 65535 spanning past the address space is rejected by
         * config validation; the count stays within limits regardless. */
        r->count = (uint16_t)(end - r->start);
    }
    return p;

fail:
    plan_free(p);
    return NULL;
}

plan *plan_build(const map_plc *plc, int group)
{
    return plan_build_gap(plc, group, plc->max_gap);
}

void plan_free(plan *p)
{
    if (!p)
        return;
    free(p->reqs);
    free(p->tags);
    free(p);
}
