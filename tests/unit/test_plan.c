/*
 * test_plan.c - request planning: exact requests for hand-made maps at every
 * boundary (gaps, protocol limits, the top of the address space), the
 * invariants of a 10,000-tag plan, and optimality against a brute-force
 * dynamic-programming planner on random small maps.  Maps are built by hand
 * (no map loader), and register counts are computed here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "acquire/plan.h"

/* ---- building maps ------------------------------------------------------- */

typedef struct {
    map_plc plc;
    size_t cap;
} fixture;

static void fx_init(fixture *f, int max_gap)
{
    memset(f, 0, sizeof *f);
    f->plc.id = "plc";
    f->plc.enabled = true;
    f->plc.max_gap = max_gap;
}

static void fx_free(fixture *f)
{
    free(f->plc.tags);
    f->plc.tags = NULL;
}

static uint16_t nregs_of(map_table tb, map_type ty, uint16_t length)
{
    if (tb == MAP_COIL || tb == MAP_DISCRETE)
        return 1;
    switch (ty) {
    case MAP_U32: case MAP_I32: case MAP_F32: return 2;
    case MAP_U64: case MAP_I64: case MAP_F64: return 4;
    case MAP_STRING: return length;
    default: return 1;
    }
}

/* Adds a tag; returns its index in plc.tags. */
static size_t add(fixture *f, map_table tb, uint16_t addr, map_type ty,
                  uint16_t length, int group)
{
    if (f->plc.n_tags == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 16;
        f->plc.tags = realloc(f->plc.tags, f->cap * sizeof *f->plc.tags);
        assert_non_null(f->plc.tags);
    }
    map_tag *t = &f->plc.tags[f->plc.n_tags];
    memset(t, 0, sizeof *t);
    t->id = "t";
    t->table = tb;
    t->address = addr;
    t->type = ty;
    t->bit = -1;
    t->length = ty == MAP_STRING ? length : 0;
    t->nregs = nregs_of(tb, ty, length);
    t->scale = 1;
    t->group = group;
    return f->plc.n_tags++;
}

static size_t hr(fixture *f, uint16_t addr, map_type ty)
{
    return add(f, MAP_HOLDING, addr, ty, 0, 0);
}

static bool is_bits(map_table t)
{
    return t == MAP_COIL || t == MAP_DISCRETE;
}

static uint32_t limit_of(map_table t)
{
    return is_bits(t) ? MAP_MAX_BITS : MAP_MAX_REGS;
}

/* ---- checking plans ------------------------------------------------------ */

/* Every invariant of a plan for (plc, group, max_gap): each tag of the
 * group in exactly one request; requests within limits and exactly
 * covering their tags; same table; tags in address order; the gap rule
 * inside each request; and greedy maximality: the first tag of a request
 * could not have joined the previous one. */
static void check_plan(const map_plc *plc, int group, int max_gap,
                       const plan *p)
{
    if (max_gap < 0)
        max_gap = 0;
    assert_int_equal(p->group, group);
    size_t n = 0;
    for (size_t i = 0; i < plc->n_tags; i++)
        n += plc->tags[i].group == group;
    assert_int_equal(p->n_tags, n);

    unsigned char *seen = calloc(plc->n_tags ? plc->n_tags : 1, 1);
    assert_non_null(seen);
    size_t next_first = 0;
    int prev_table = -1;
    uint32_t prev_start = 0, prev_end = 0;
    for (size_t r = 0; r < p->n_reqs; r++) {
        const plan_req *q = &p->reqs[r];
        assert_int_equal(q->first, next_first);
        assert_true(q->n_tags > 0);
        next_first += q->n_tags;
        assert_true(next_first <= p->n_tags);
        assert_true(q->count >= 1);
        assert_true(q->count <= limit_of(q->table));
        /* tables in order coil, discrete, input, holding */
        assert_true((int)q->table >= prev_table);

        uint32_t end = q->start, max_end = q->start;
        for (size_t k = q->first; k < q->first + q->n_tags; k++) {
            size_t ti = p->tags[k];
            assert_true(ti < plc->n_tags);
            assert_int_equal(seen[ti], 0);
            seen[ti] = 1;
            const map_tag *t = &plc->tags[ti];
            assert_int_equal(t->group, group);
            assert_int_equal(t->table, q->table);
            assert_true(t->address >= q->start);
            if (k == q->first)
                assert_int_equal(t->address, q->start);
            else
                assert_true(t->address >= plc->tags[p->tags[k - 1]].address);
            /* gap rule against the running end */
            if (k > q->first && t->address > end)
                assert_true(t->address - end <= (uint32_t)max_gap);
            uint32_t e = (uint32_t)t->address + t->nregs;
            if (e > end)
                end = e;
            if (e > max_end)
                max_end = e;
            assert_true(e - q->start <= limit_of(q->table));
        }
        assert_int_equal(q->count, max_end - q->start);

        /* Greedy maximality: this request's first tag did not fit the
         * previous request of the same table. */
        if ((int)q->table == prev_table) {
            const map_tag *t = &plc->tags[p->tags[q->first]];
            uint32_t e = (uint32_t)t->address + t->nregs;
            bool gap_ok = t->address <= prev_end ||
                          t->address - prev_end <= (uint32_t)max_gap;
            bool fits = e - prev_start <= limit_of(q->table);
            assert_false(gap_ok && fits);
        }
        prev_table = (int)q->table;
        prev_start = q->start;
        prev_end = end;
    }
    assert_int_equal(next_first, p->n_tags);
    for (size_t i = 0; i < plc->n_tags; i++)
        assert_int_equal(seen[i], plc->tags[i].group == group);
    free(seen);
}

static plan *build_checked(const fixture *f, int group, int max_gap)
{
    plan *p = plan_build_gap(&f->plc, group, max_gap);
    assert_non_null(p);
    check_plan(&f->plc, group, max_gap, p);
    return p;
}

static void req_is(const plan *p, size_t r, map_table tb, uint16_t start,
                   uint16_t count, size_t n_tags)
{
    assert_true(r < p->n_reqs);
    assert_int_equal(p->reqs[r].table, tb);
    assert_int_equal(p->reqs[r].start, start);
    assert_int_equal(p->reqs[r].count, count);
    assert_int_equal(p->reqs[r].n_tags, n_tags);
}

/* ---- the brute-force reference ----------------------------------------- */

static const map_plc *cmp_plc;
static int cmp_tags(const void *a, const void *b)
{
    const map_tag *x = &cmp_plc->tags[*(const size_t *)a];
    const map_tag *y = &cmp_plc->tags[*(const size_t *)b];
    if (x->table != y->table)
        return (int)x->table - (int)y->table;
    if (x->address != y->address)
        return (int)x->address - (int)y->address;
    return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

/* Can sorted tags s[i..j] be one request under the same rules? */
static bool seg_ok(const map_plc *plc, const size_t *s, size_t i, size_t j,
                   int max_gap)
{
    const map_tag *first = &plc->tags[s[i]];
    uint32_t start = first->address, end = start;
    for (size_t k = i; k <= j; k++) {
        const map_tag *t = &plc->tags[s[k]];
        if (t->table != first->table)
            return false;
        if (k > i && t->address > end && t->address - end > (uint32_t)max_gap)
            return false;
        uint32_t e = (uint32_t)t->address + t->nregs;
        if (e - start > limit_of(t->table))
            return false;
        if (e > end)
            end = e;
    }
    return true;
}

/* Fewest requests by dynamic programming over every split of the sorted
 * tags: dp[j] = min over i of dp[i] + 1 where tags i..j-1 form a request. */
static size_t optimal_requests(const map_plc *plc, int group, int max_gap)
{
    size_t n = 0, s[64];
    for (size_t i = 0; i < plc->n_tags; i++)
        if (plc->tags[i].group == group)
            s[n++] = i;
    cmp_plc = plc;
    qsort(s, n, sizeof s[0], cmp_tags);
    size_t dp[65];
    dp[0] = 0;
    for (size_t j = 1; j <= n; j++) {
        dp[j] = SIZE_MAX;
        for (size_t i = 0; i < j; i++)
            if (dp[i] != SIZE_MAX && seg_ok(plc, s, i, j - 1, max_gap) &&
                dp[i] + 1 < dp[j])
                dp[j] = dp[i] + 1;
    }
    return dp[n];
}

/* xorshift64 */
static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* ---- cases ----------------------------------------------------------------- */

static void test_empty_group(void **st)
{
    (void)st;
    fixture f;
    fx_init(&f, 16);
    plan *p = build_checked(&f, 0, 16); /* no tags at all */
    assert_int_equal(p->n_reqs, 0);
    assert_int_equal(p->n_tags, 0);
    plan_free(p);
    add(&f, MAP_HOLDING, 5, MAP_U16, 0, 1);
    p = build_checked(&f, 0, 16); /* tags only in another group */
    assert_int_equal(p->n_reqs, 0);
    plan_free(p);
    p = build_checked(&f, 7, 16); /* a group nobody uses */
    assert_int_equal(p->group, 7);
    assert_int_equal(p->n_reqs, 0);
    plan_free(p);
    plan_free(NULL);
    fx_free(&f);
}

static void test_single_tag(void **st)
{
    (void)st;
    fixture f;
    fx_init(&f, 16);
    hr(&f, 100, MAP_U32);
    plan *p = build_checked(&f, 0, 16);
    assert_int_equal(p->n_reqs, 1);
    req_is(p, 0, MAP_HOLDING, 100, 2, 1);
    assert_int_equal(p->reqs[0].first, 0);
    assert_int_equal(p->tags[0], 0);
    plan_free(p);
    fx_free(&f);
}

static void test_gap_boundary(void **st)
{
    (void)st;
    for (int gap = 0; gap <= 20; gap += 4) {
        /* A at 10 (1 reg, end 11); B exactly max_gap after: joins. */
        fixture f;
        fx_init(&f, gap);
        hr(&f, 10, MAP_U16);
        hr(&f, (uint16_t)(11 + gap), MAP_U16);
        plan *p = build_checked(&f, 0, gap);
        assert_int_equal(p->n_reqs, 1);
        req_is(p, 0, MAP_HOLDING, 10, (uint16_t)(gap + 2), 2);
        plan_free(p);
        fx_free(&f);
        /* One further: splits. */
        fx_init(&f, gap);
        hr(&f, 10, MAP_U16);
        hr(&f, (uint16_t)(12 + gap), MAP_U16);
        p = build_checked(&f, 0, gap);
        assert_int_equal(p->n_reqs, 2);
        req_is(p, 0, MAP_HOLDING, 10, 1, 1);
        req_is(p, 1, MAP_HOLDING, (uint16_t)(12 + gap), 1, 1);
        plan_free(p);
        fx_free(&f);
    }
    /* The gap is measured from the end of a multi-register tag. */
    fixture f;
    fx_init(&f, 4);
    hr(&f, 0, MAP_F64);  /* 0..3, end 4 */
    hr(&f, 8, MAP_U16);  /* gap 4 */
    hr(&f, 14, MAP_U16); /* gap 5 */
    plan *p = build_checked(&f, 0, 4);
    assert_int_equal(p->n_reqs, 2);
    req_is(p, 0, MAP_HOLDING, 0, 9, 2);
    req_is(p, 1, MAP_HOLDING, 14, 1, 1);
    plan_free(p);
    /* plan_build takes the PLC's max_gap. */
    p = plan_build(&f.plc, 0);
    assert_non_null(p);
    check_plan(&f.plc, 0, 4, p);
    assert_int_equal(p->n_reqs, 2);
    plan_free(p);
    f.plc.max_gap = 5;
    p = plan_build(&f.plc, 0);
    check_plan(&f.plc, 0, 5, p);
    assert_int_equal(p->n_reqs, 1);
    req_is(p, 0, MAP_HOLDING, 0, 15, 3);
    plan_free(p);
    /* A negative gap behaves as 0: adjacent tags still share. */
    fx_free(&f);
    fx_init(&f, -3);
    hr(&f, 0, MAP_U16);
    hr(&f, 1, MAP_U16);
    hr(&f, 3, MAP_U16);
    p = build_checked(&f, 0, -3);
    assert_int_equal(p->n_reqs, 2);
    req_is(p, 0, MAP_HOLDING, 0, 2, 2);
    plan_free(p);
    fx_free(&f);
}

static void test_register_limit(void **st)
{
    (void)st;
    fixture f;
    /* 125 contiguous registers: one request of exactly 125. */
    fx_init(&f, 0);
    for (int a = 0; a < 125; a++)
        hr(&f, (uint16_t)(1000 + a), MAP_U16);
    plan *p = build_checked(&f, 0, 0);
    assert_int_equal(p->n_reqs, 1);
    req_is(p, 0, MAP_HOLDING, 1000, 125, 125);
    plan_free(p);
    /* 126: the last one starts a new request. */
    hr(&f, 1125, MAP_U16);
    p = build_checked(&f, 0, 0);
    assert_int_equal(p->n_reqs, 2);
    req_is(p, 0, MAP_HOLDING, 1000, 125, 125);
    req_is(p, 1, MAP_HOLDING, 1125, 1, 1);
    plan_free(p);
    fx_free(&f);

    /* Two tags 125 apart end to end, through a large allowed gap. */
    fx_init(&f, 500);
    hr(&f, 0, MAP_U16);
    hr(&f, 124, MAP_U16);
    p = build_checked(&f, 0, 500);
    assert_int_equal(p->n_reqs, 1);
    req_is(p, 0, MAP_HOLDING, 0, 125, 2);
    plan_free(p);
    fx_free(&f);
    fx_init(&f, 500);
    hr(&f, 0, MAP_U16);
    hr(&f, 125, MAP_U16);
    p = build_checked(&f, 0, 500);
    assert_int_equal(p->n_reqs, 2);
    plan_free(p);
    fx_free(&f);

    /* A u32 whose second register would be the 126th is never split. */
    fx_init(&f, 0);
    for (int a = 0; a < 124; a++)
        hr(&f, (uint16_t)a, MAP_U16);
    hr(&f, 124, MAP_U32);
    p = build_checked(&f, 0, 0);
    assert_int_equal(p->n_reqs, 2);
    req_is(p, 0, MAP_HOLDING, 0, 124, 124);
    req_is(p, 1, MAP_HOLDING, 124, 2, 1);
    plan_free(p);
    fx_free(&f);
}

static void test_bit_limit(void **st)
{
    (void)st;
    fixture f;
    fx_init(&f, 0);
    for (int a = 0; a < 2000; a++)
        add(&f, MAP_COIL, (uint16_t)(10 + a), MAP_BOOL, 0, 0);
    plan *p = build_checked(&f, 0, 0);
    assert_int_equal(p->n_reqs, 1);
    req_is(p, 0, MAP_COIL, 10, 2000, 2000);
    plan_free(p);
    add(&f, MAP_COIL, 2010, MAP_BOOL, 0, 0);
    p = build_checked(&f, 0, 0);
    assert_int_equal(p->n_reqs, 2);
    req_is(p, 0, MAP_COIL, 10, 2000, 2000);
    req_is(p, 1, MAP_COIL, 2010, 1, 1);
    plan_free(p);
    fx_free(&f);
    /* Discrete inputs far apart but within 2000 and max_gap. */
    fx_init(&f, 1998);
    add(&f, MAP_DISCRETE, 0, MAP_BOOL, 0, 0);
    add(&f, MAP_DISCRETE, 1999, MAP_BOOL, 0, 0);
    p = build_checked(&f, 0, 1998);
    assert_int_equal(p->n_reqs, 1);
    req_is(p, 0, MAP_DISCRETE, 0, 2000, 2);
    plan_free(p);
    add(&f, MAP_DISCRETE, 2000, MAP_BOOL, 0, 0);
    p = build_checked(&f, 0, 1998);
    assert_int_equal(p->n_reqs, 2);
    req_is(p, 1, MAP_DISCRETE, 2000, 1, 1);
    plan_free(p);
    fx_free(&f);
}

static void test_multi_register_never_split(void **st)
{
    (void)st;
    fixture f;
    fx_init(&f, 16);
    /* Four 32-register strings back to back: 0..127. */
    for (int i = 0; i < 4; i++)
        add(&f, MAP_HOLDING, (uint16_t)(32 * i), MAP_STRING, 32, 0);
    plan *p = build_checked(&f, 0, 16);
    assert_int_equal(p->n_reqs, 2);
    req_is(p, 0, MAP_HOLDING, 0, 96, 3);
    req_is(p, 1, MAP_HOLDING, 96, 32, 1);
    plan_free(p);
    fx_free(&f);
    /* f64s from 0: 31 of them are 124 registers; the 32nd goes alone. */
    fx_init(&f, 0);
    for (int i = 0; i < 32; i++)
        hr(&f, (uint16_t)(4 * i), MAP_F64);
    p = build_checked(&f, 0, 0);
    assert_int_equal(p->n_reqs, 2);
    req_is(p, 0, MAP_HOLDING, 0, 124, 31);
    req_is(p, 1, MAP_HOLDING, 124, 4, 1);
    plan_free(p);
    fx_free(&f);
}

static void test_bits_sharing_register_and_aliases(void **st)
{
    (void)st;
    fixture f;
    fx_init(&f, 0);
    hr(&f, 51, MAP_U16);
    for (int b = 15; b >= 0; b--) {
        size_t i = hr(&f, 50, MAP_BOOL);
        f.plc.tags[i].bit = b;
    }
    plan *p = build_checked(&f, 0, 0);
    assert_int_equal(p->n_reqs, 1);
    req_is(p, 0, MAP_HOLDING, 50, 2, 17);
    /* Same-address tags keep map order; the u16 at 51 comes last. */
    for (size_t k = 0; k < 16; k++)
        assert_int_equal(p->tags[k], k + 1);
    assert_int_equal(p->tags[16], 0);
    plan_free(p);
    fx_free(&f);

    /* Aliases: a u32 and its two halves. */
    fx_init(&f, 0);
    hr(&f, 11, MAP_U16);
    hr(&f, 10, MAP_U32);
    hr(&f, 10, MAP_U16);
    p = build_checked(&f, 0, 0);
    assert_int_equal(p->n_reqs, 1);
    req_is(p, 0, MAP_HOLDING, 10, 2, 3);
    assert_int_equal(p->tags[0], 1);
    assert_int_equal(p->tags[1], 2);
    assert_int_equal(p->tags[2], 0);
    plan_free(p);
    fx_free(&f);

    /* A long tag covers a short one inside it: the gap after the short one
     * is measured from the long tag's end, not the short one's. */
    fx_init(&f, 2);
    add(&f, MAP_HOLDING, 0, MAP_STRING, 10, 0); /* 0..9, end 10 */
    hr(&f, 3, MAP_U16);                         /* inside */
    hr(&f, 12, MAP_U16);                        /* gap 2 from 10 */
    p = build_checked(&f, 0, 2);
    assert_int_equal(p->n_reqs, 1);
    req_is(p, 0, MAP_HOLDING, 0, 13, 3);
    plan_free(p);
    p = build_checked(&f, 0, 1);
    assert_int_equal(p->n_reqs, 2);
    req_is(p, 0, MAP_HOLDING, 0, 10, 2);
    req_is(p, 1, MAP_HOLDING, 12, 1, 1);
    plan_free(p);
    fx_free(&f);
}

static void test_random_order_same_plan(void **st)
{
    (void)st;
    static const struct { uint16_t addr; map_type t; } tags[] = {
        {0, MAP_U16}, {1, MAP_U32}, {3, MAP_F32}, {9, MAP_U16}, {13, MAP_U64},
        {30, MAP_I16}, {31, MAP_I16}, {34, MAP_F64}, {200, MAP_U16},
        {202, MAP_U16}, {290, MAP_U32}, {300, MAP_U16},
    };
    size_t n = sizeof tags / sizeof tags[0];
    fixture a;
    fx_init(&a, 3);
    for (size_t i = 0; i < n; i++)
        hr(&a, tags[i].addr, tags[i].t);
    plan *pa = build_checked(&a, 0, 3);
    /* 0,1,3 end at 5; 9 is 4 past it; 13 is 3 past 10; 300 is 8 past 292. */
    assert_int_equal(pa->n_reqs, 6);
    req_is(pa, 0, MAP_HOLDING, 0, 5, 3);
    req_is(pa, 1, MAP_HOLDING, 9, 8, 2);
    req_is(pa, 2, MAP_HOLDING, 30, 8, 3);
    req_is(pa, 3, MAP_HOLDING, 200, 3, 2);
    req_is(pa, 4, MAP_HOLDING, 290, 2, 1);
    req_is(pa, 5, MAP_HOLDING, 300, 1, 1);

    for (int round = 0; round < 100; round++) {
        size_t perm[sizeof tags / sizeof tags[0]];
        for (size_t i = 0; i < n; i++)
            perm[i] = i;
        for (size_t i = n - 1; i > 0; i--) {
            size_t j = rnd() % (i + 1), t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        fixture b;
        fx_init(&b, 3);
        for (size_t i = 0; i < n; i++)
            hr(&b, tags[perm[i]].addr, tags[perm[i]].t);
        plan *pb = build_checked(&b, 0, 3);
        assert_int_equal(pb->n_reqs, pa->n_reqs);
        for (size_t r = 0; r < pa->n_reqs; r++)
            req_is(pb, r, pa->reqs[r].table, pa->reqs[r].start,
                   pa->reqs[r].count, pa->reqs[r].n_tags);
        for (size_t k = 0; k < n; k++) /* the same tag in the same place */
            assert_int_equal(perm[pb->tags[k]], pa->tags[k]);
        plan_free(pb);
        fx_free(&b);
    }
    plan_free(pa);
    fx_free(&a);
}

static void test_groups_and_tables_separate(void **st)
{
    (void)st;
    fixture f;
    fx_init(&f, 16);
    /* The same addresses in every table and two groups, listed holding
     * first and interleaved, to prove ordering is by table. */
    static const map_table tbs[4] = {MAP_HOLDING, MAP_INPUT, MAP_DISCRETE, MAP_COIL};
    for (int g = 0; g < 2; g++)
        for (int t = 0; t < 4; t++)
            for (int a = 0; a < 3; a++)
                add(&f, tbs[t], (uint16_t)(100 + a), MAP_BOOL, 0, g);
    for (int g = 0; g < 2; g++) {
        plan *p = build_checked(&f, g, 16);
        assert_int_equal(p->n_reqs, 4);
        req_is(p, 0, MAP_COIL, 100, 3, 3);
        req_is(p, 1, MAP_DISCRETE, 100, 3, 3);
        req_is(p, 2, MAP_INPUT, 100, 3, 3);
        req_is(p, 3, MAP_HOLDING, 100, 3, 3);
        for (size_t k = 0; k < p->n_tags; k++)
            assert_int_equal(f.plc.tags[p->tags[k]].group, g);
        plan_free(p);
    }
    /* Adjacent addresses in different tables never share a request. */
    fx_free(&f);
    fx_init(&f, 16);
    add(&f, MAP_INPUT, 0, MAP_U16, 0, 0);
    add(&f, MAP_HOLDING, 1, MAP_U16, 0, 0);
    plan *p = build_checked(&f, 0, 16);
    assert_int_equal(p->n_reqs, 2);
    req_is(p, 0, MAP_INPUT, 0, 1, 1);
    req_is(p, 1, MAP_HOLDING, 1, 1, 1);
    plan_free(p);
    fx_free(&f);
}

static void test_top_of_address_space(void **st)
{
    (void)st;
    fixture f;
    fx_init(&f, 16);
    hr(&f, 65535, MAP_U16);
    plan *p = build_checked(&f, 0, 16);
    assert_int_equal(p->n_reqs, 1);
    req_is(p, 0, MAP_HOLDING, 65535, 1, 1);
    plan_free(p);
    hr(&f, 65534, MAP_U16);
    hr(&f, 65520, MAP_U16);
    add(&f, MAP_COIL, 65535, MAP_BOOL, 0, 0);
    add(&f, MAP_COIL, 0, MAP_BOOL, 0, 0);
    p = build_checked(&f, 0, 16);
    assert_int_equal(p->n_reqs, 3);
    req_is(p, 0, MAP_COIL, 0, 1, 1);
    req_is(p, 1, MAP_COIL, 65535, 1, 1);
    req_is(p, 2, MAP_HOLDING, 65520, 16, 3);
    plan_free(p);
    /* The last 125 registers in one request. */
    fx_free(&f);
    fx_init(&f, 0);
    for (uint32_t a = 65411; a <= 65535; a++)
        hr(&f, (uint16_t)a, MAP_U16);
    p = build_checked(&f, 0, 0);
    assert_int_equal(p->n_reqs, 1);
    req_is(p, 0, MAP_HOLDING, 65411, 125, 125);
    plan_free(p);
    fx_free(&f);
}

static void test_disabled_plc_still_plans(void **st)
{
    (void)st;
    fixture f;
    fx_init(&f, 16);
    f.plc.enabled = false;
    hr(&f, 7, MAP_U16);
    plan *p = plan_build(&f.plc, 0);
    assert_non_null(p);
    assert_int_equal(p->n_reqs, 1);
    req_is(p, 0, MAP_HOLDING, 7, 1, 1);
    plan_free(p);
    fx_free(&f);
}

static map_type random_type(void)
{
    static const map_type ty[] = {MAP_BOOL, MAP_U16, MAP_I16, MAP_U32, MAP_I32,
                                  MAP_U64, MAP_I64, MAP_F32, MAP_F64, MAP_STRING};
    return ty[rnd() % 10];
}

static void add_random(fixture *f, uint32_t span, int groups)
{
    map_table tb = (map_table)(rnd() % 4);
    map_type ty = is_bits(tb) ? MAP_BOOL : random_type();
    uint16_t len = ty == MAP_STRING ? (uint16_t)(1 + rnd() % 32) : 0;
    uint16_t n = nregs_of(tb, ty, len);
    uint16_t addr = (uint16_t)(rnd() % (span - n + 1));
    size_t i = add(f, tb, addr, ty, len, (int)(rnd() % (uint64_t)groups));
    if (ty == MAP_BOOL && !is_bits(tb) && rnd() % 2)
        f->plc.tags[i].bit = (int)(rnd() % 16);
}

static void test_big_plan_invariants(void **st)
{
    (void)st;
    for (int round = 0; round < 6; round++) {
        fixture f;
        int gap = (int)(rnd() % 40);
        fx_init(&f, gap);
        /* Dense (many aliases) and sparse maps. */
        uint32_t span = round % 2 ? 65536 : 12000;
        for (int i = 0; i < 10000; i++)
            add_random(&f, span, 3);
        size_t total = 0, reqs = 0;
        for (int g = 0; g < 3; g++) {
            plan *p = build_checked(&f, g, gap);
            total += p->n_tags;
            reqs += p->n_reqs;
            plan_free(p);
        }
        assert_int_equal(total, 10000);
        assert_true(reqs > 0);
        fx_free(&f);
    }
}

/* The greedy plan uses exactly as many requests as the best of all
 * possible splits of the sorted tags. */
static void test_optimal_vs_brute_force(void **st)
{
    (void)st;
    /* Under a sanitizer (LB_SANITIZED=1, CMakeLists.txt) a tenth: the
     * point there is memory errors, which a smaller sample finds too. */
    const char *san = getenv("LB_SANITIZED");
    int rounds = san && !strcmp(san, "1") ? 2000 : 20000;
    int trials = 0;
    for (int round = 0; round < rounds; round++) {
        fixture f;
        int gap = (int)(rnd() % 4 == 0 ? rnd() % 3000 : rnd() % 24);
        fx_init(&f, gap);
        size_t n = 1 + rnd() % 14;
        /* Spans chosen so that both the gap rule and the limits bite. */
        uint32_t span = rnd() % 2 ? 400 : 6000;
        for (size_t i = 0; i < n; i++)
            add_random(&f, span, 2);
        for (int g = 0; g < 2; g++) {
            plan *p = build_checked(&f, g, gap);
            size_t best = optimal_requests(&f.plc, g, gap);
            if (p->n_reqs != best)
                fail_msg("round %d group %d: greedy %zu, optimal %zu", round,
                         g, p->n_reqs, best);
            plan_free(p);
            trials++;
        }
        fx_free(&f);
    }
    assert_int_equal(trials, 2 * rounds);
}

/* The brute force itself must be able to tell plans apart: a deliberately
 * bad plan (one request per tag) is beaten on a map where merging pays. */
static void test_brute_force_sanity(void **st)
{
    (void)st;
    fixture f;
    fx_init(&f, 2);
    for (int a = 0; a < 10; a++)
        hr(&f, (uint16_t)(a * 3), MAP_U16);
    assert_int_equal(optimal_requests(&f.plc, 0, 2), 1);
    assert_int_equal(optimal_requests(&f.plc, 0, 1), 10);
    fx_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_group),
        cmocka_unit_test(test_single_tag),
        cmocka_unit_test(test_gap_boundary),
        cmocka_unit_test(test_register_limit),
        cmocka_unit_test(test_bit_limit),
        cmocka_unit_test(test_multi_register_never_split),
        cmocka_unit_test(test_bits_sharing_register_and_aliases),
        cmocka_unit_test(test_random_order_same_plan),
        cmocka_unit_test(test_groups_and_tables_separate),
        cmocka_unit_test(test_top_of_address_space),
        cmocka_unit_test(test_disabled_plc_still_plans),
        cmocka_unit_test(test_big_plan_invariants),
        cmocka_unit_test(test_optimal_vs_brute_force),
        cmocka_unit_test(test_brute_force_sanity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
