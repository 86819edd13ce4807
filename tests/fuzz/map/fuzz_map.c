/*
 * fuzz_map.c - the map loader: arbitrary bytes as a station or PLC file,
 * through map_load_buffer (in memory, so includes are refused: see
 * plcmap.h).
 *
 * Checked on every input:
 *  - a station comes back exactly when no error was reported, and every
 *    error reads "fuzz.yaml:..." (or is the error cap's own line), at most
 *    the cap plus its line;
 *  - a loaded model holds what plcmap.h promises: full ids "plc.tag"
 *    found by map_find_tag, enums in range, register counts that match
 *    the type, tags inside the 16-bit address space, bits only on bool
 *    register tags, groups that exist, states found by their value,
 *    selections of everything and of each PLC;
 *  - every poll group plans (acquire/plan): every tag of the group in
 *    exactly one request, inside it, requests within the protocol's
 *    limits (125 registers, 2000 bits).
 */
#include "fuzz/fuzz.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "acquire/plan.h"
#include "config/plcmap.h"

#define ERRORS_CAP 1000     /* config/parse.h CFG_ERRORS_MAX */

static void check_plan(const map_plc *p, int g)
{
    plan *pl = plan_build(p, g);
    FUZZ_CHECK(pl, "plan_build failed");
    size_t in_group = 0;
    for (size_t i = 0; i < p->n_tags; i++)
        in_group += p->tags[i].group == g;
    FUZZ_CHECK(pl->n_tags == in_group, "%zu tags planned, %zu in group",
               pl->n_tags, in_group);
    unsigned char *seen = calloc(p->n_tags ? p->n_tags : 1, 1);
    FUZZ_CHECK(seen, "out of memory");
    size_t covered = 0;
    for (size_t r = 0; r < pl->n_reqs; r++) {
        const plan_req *q = &pl->reqs[r];
        bool bits = map_table_is_bits(q->table);
        FUZZ_CHECK(q->count >= 1 &&
                   q->count <= (bits ? MAP_MAX_BITS : MAP_MAX_REGS),
                   "request of %u", q->count);
        FUZZ_CHECK((uint32_t)q->start + q->count <= 65536u, "past 65535");
        FUZZ_CHECK(q->first == covered && q->n_tags >= 1, "request order");
        for (size_t k = q->first; k < q->first + q->n_tags; k++) {
            FUZZ_CHECK(k < pl->n_tags, "tag index");
            size_t ti = pl->tags[k];
            FUZZ_CHECK(ti < p->n_tags && !seen[ti], "tag %zu twice", ti);
            seen[ti] = 1;
            const map_tag *t = &p->tags[ti];
            FUZZ_CHECK(t->group == g && t->table == q->table,
                       "tag in the wrong request");
            FUZZ_CHECK(t->address >= q->start &&
                       (uint32_t)t->address + t->nregs <=
                           (uint32_t)q->start + q->count,
                       "tag %s outside its request", t->full_id);
        }
        covered += q->n_tags;
    }
    FUZZ_CHECK(covered == pl->n_tags, "requests cover %zu of %zu", covered,
               pl->n_tags);
    free(seen);
    plan_free(pl);
}

static void check_model(const map_station *st)
{
    FUZZ_CHECK(st->id && st->name.en && st->timezone && st->data_dir,
               "station fields");
    FUZZ_CHECK(st->n_plcs >= 1, "no PLC");
    size_t total = 0;
    for (size_t p = 0; p < st->n_plcs; p++) {
        const map_plc *plc = &st->plcs[p];
        FUZZ_CHECK(plc->id && plc->name.en && plc->host && plc->file,
                   "PLC fields");
        FUZZ_CHECK(map_find_plc(st, plc->id) == plc, "PLC %s", plc->id);
        FUZZ_CHECK(plc->port >= 1 && plc->port <= 65535 && plc->unit >= 0 &&
                   plc->unit <= 255, "endpoint");
        FUZZ_CHECK(plc->n_groups >= 1 && plc->n_groups <= MAP_GROUPS_MAX,
                   "%zu groups", plc->n_groups);
        FUZZ_CHECK(plc->timeout_ns > 0, "timeout");
        for (size_t g = 0; g < plc->n_groups; g++)
            FUZZ_CHECK(plc->groups[g].name && plc->groups[g].period_ns > 0,
                       "group %zu", g);
        for (size_t i = 0; i < plc->n_tags; i++) {
            const map_tag *t = &plc->tags[i];
            char want[256];
            snprintf(want, sizeof want, "%s.%s", plc->id, t->id);
            FUZZ_CHECK(strcmp(t->full_id, want) == 0, "full id %s",
                       t->full_id);
            FUZZ_CHECK(map_find_tag(st, t->full_id) == t, "lookup %s",
                       t->full_id);
            FUZZ_CHECK(t->name.en, "name");
            FUZZ_CHECK((unsigned)t->table <= MAP_HOLDING &&
                       (unsigned)t->type <= MAP_STRING &&
                       (unsigned)t->order <= MAP_DCBA, "enums");
            bool bits = map_table_is_bits(t->table);
            if (bits)
                FUZZ_CHECK(t->type == MAP_BOOL && t->bit == -1 &&
                           t->nregs == 1, "bit table tag %s", t->full_id);
            else
                FUZZ_CHECK(t->nregs == map_type_regs(t->type, t->length) &&
                           t->nregs >= 1, "nregs of %s", t->full_id);
            FUZZ_CHECK((uint32_t)t->address + t->nregs <= 65536u,
                       "%s past the address space", t->full_id);
            FUZZ_CHECK(t->bit >= -1 && t->bit <= 15 &&
                       (t->bit < 0 || (t->type == MAP_BOOL && !bits)),
                       "bit of %s", t->full_id);
            if (t->type == MAP_STRING)
                FUZZ_CHECK(t->length >= 1 && t->length <= 32, "length");
            else
                FUZZ_CHECK(t->length == 0, "length on a non-string");
            FUZZ_CHECK(t->group >= 0 && (size_t)t->group < plc->n_groups,
                       "group of %s", t->full_id);
            FUZZ_CHECK(isfinite(t->scale) && t->scale != 0 &&
                       isfinite(t->offset) &&
                       t->scaled == (t->scale != 1 || t->offset != 0),
                       "scale of %s", t->full_id);
            FUZZ_CHECK(t->deadband >= 0 && isfinite(t->deadband),
                       "deadband");
            for (size_t s = 0; s < t->n_states; s++)
                FUZZ_CHECK(map_state_label(t, t->states[s].value) ==
                               &t->states[s].label &&
                           t->states[s].label.en,
                           "state %zu of %s", s, t->full_id);
        }
        total += plc->n_tags;
        for (size_t g = 0; g < plc->n_groups; g++)
            check_plan(plc, (int)g);

        char spec[128], err[256];
        const map_tag **sel;
        size_t n;
        snprintf(spec, sizeof spec, "%s.*", plc->id);
        FUZZ_CHECK(map_select_tags(st, spec, &sel, &n, err, sizeof err) == 0 &&
                   n == plc->n_tags, "select %s: %s", spec, err);
        for (size_t i = 0; i < n; i++)
            FUZZ_CHECK(sel[i] == &plc->tags[i], "selection order");
        free(sel);
    }
    const map_tag **sel;
    size_t n;
    char err[256];
    FUZZ_CHECK(map_select_tags(st, NULL, &sel, &n, err, sizeof err) == 0 &&
               n == total, "select all");
    free(sel);
    for (size_t i = 0; i < st->n_schematic; i++)
        for (size_t k = 0; k < st->schematic[i].n_tags; k++)
            FUZZ_CHECK(map_find_tag(st, st->schematic[i].tags[k]),
                       "schematic tag %s", st->schematic[i].tags[k]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    map_errors errs = {0};
    map_station *st = map_load_buffer("fuzz.yaml", (const char *)data, size,
                                      &errs);
    FUZZ_CHECK((st != NULL) == (errs.n == 0), "station %p with %zu errors",
               (void *)st, errs.n);
    FUZZ_CHECK(errs.n <= ERRORS_CAP + 1, "%zu errors", errs.n);
    for (size_t i = 0; i < errs.n; i++)
        FUZZ_CHECK(strncmp(errs.msgs[i], "fuzz.yaml", 9) == 0 ||
                   strncmp(errs.msgs[i], "too many errors", 15) == 0,
                   "message '%s'", errs.msgs[i]);
    if (st)
        check_model(st);
    map_free(st);
    map_errors_free(&errs);
    return 0;
}
