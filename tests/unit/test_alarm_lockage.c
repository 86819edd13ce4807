/*
 * test_alarm_lockage.c - the shipped station's alarms against lock-sim's
 * plant model: normal operation raises none, and each interlock alarm
 * does fire when its interlock is broken.
 *
 * The plant (bridge/sim/plant.c) runs lockages up and down for three
 * simulated hours from 08:00 (the generator's 10:00 test run included).
 * It is polled the way the bridge polls it: every PLC's poll groups at
 * their periods; values quantised as the decoder would see them (scaled
 * integers rounded to their raw step, f32 rounded to float); a change
 * reported only beyond the tag's deadband, as the tag store does; and
 * every other PLC one physics step (100 ms) behind, as two pollers'
 * responses are apart, so that the interlock alarms' delays are shown to
 * cover the skew between PLCs.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alarm/engine.h"
#include "sim/plant.h"

#define STATION "plc-maps/station.yaml"
#define STEP_S 0.1
#define T0_NS 1800000000000000000LL

typedef struct {
    const map_station *st;
    plant *p;
    alarm_engine *e;
    size_t n_tags;
    const map_tag **tag;
    size_t *tag_plc;
    val *last;           /* last reported value per tag */
    bool *seen;
    tag_change *batch;
    size_t n_records;
    char first[8][200];  /* the first few records, for the failure */
} sim;

static void on_record(void *ctx, const alarm_record *r)
{
    sim *s = ctx;
    if (s->n_records < 8)
        snprintf(s->first[s->n_records], sizeof s->first[0],
                 "t=%.1f s %s %s %s->%s value=%g",
                 (double)(r->ts_ns - T0_NS) / 1e9, r->id,
                 alarm_event_name(r->event), alarm_state_name(r->from_state),
                 alarm_state_name(r->to.state), r->to.value);
    s->n_records++;
}

/* The value the decoder would give for the plant's engineering value. */
static val decoded(const map_tag *t, val v)
{
    if (v.kind != VAL_REAL)
        return v;
    if (t->type == MAP_F32)
        v.d = (float)v.d;
    else if (t->scaled)
        v.d = (double)llround((v.d - t->offset) / t->scale) * t->scale +
              t->offset;
    return v;
}

/* News by the tag store's rule: the first value, or a change beyond the
 * deadband from the last one reported. */
static bool is_news(const map_tag *t, const val *last, bool seen,
                    const val *v)
{
    if (!seen || last->kind != v->kind)
        return true;
    double a, b;
    if (t->deadband > 0 && val_as_double(last, &a) && val_as_double(v, &b))
        return fabs(a - b) >= t->deadband;
    return !val_equal(last, v);
}

/* Polls one PLC's tags of the groups due at this step (or all of them)
 * and feeds the news, stamped ts. */
static void poll_plc(sim *s, size_t plc, long step, bool all, int64_t ts)
{
    const map_plc *pl = &s->st->plcs[plc];
    size_t n = 0, base = 0;
    for (size_t q = 0; q < plc; q++)
        base += s->st->plcs[q].n_tags;
    for (size_t i = 0; i < pl->n_tags; i++) {
        const map_tag *t = &pl->tags[i];
        long every = llround((double)pl->groups[t->group].period_ns / 1e9 /
                             STEP_S);
        if (!all && step % (every ? every : 1) != 0)
            continue;
        val v;
        if (plant_value(s->p, pl, t, &v) < 0)
            continue;
        v = decoded(t, v);
        size_t pos = base + i;
        if (!is_news(t, &s->last[pos], s->seen[pos], &v))
            continue;
        s->last[pos] = v;
        s->seen[pos] = true;
        s->batch[n].tag = (uint32_t)pos;
        s->batch[n].s = (val_sample){.ts_ns = ts, .q = Q_GOOD, .v = v};
        n++;
    }
    alarm_feed(s->e, s->batch, n);
}

static double value(sim *s, const char *id)
{
    const map_tag *t = map_find_tag(s->st, id);
    assert_non_null(t);
    char plc[64];
    snprintf(plc, sizeof plc, "%.*s", (int)(strchr(id, '.') - id), id);
    val v;
    assert_int_equal(plant_value(s->p, map_find_plc(s->st, plc), t, &v), 0);
    double d;
    assert_true(val_as_double(&v, &d));
    return d;
}

static void sim_init(sim *s, uint64_t seed)
{
    memset(s, 0, sizeof *s);
    map_errors errs = {0};
    map_station *st = map_load(STATION, &errs);
    for (size_t i = 0; i < errs.n; i++)
        fprintf(stderr, "%s\n", errs.msgs[i]);
    assert_non_null(st);
    map_errors_free(&errs);
    s->st = st;
    s->p = plant_new(st, seed);
    assert_non_null(s->p);
    s->e = alarm_engine_new(st, on_record, s);
    assert_non_null(s->e);
    for (size_t p = 0; p < st->n_plcs; p++)
        s->n_tags += st->plcs[p].n_tags;
    s->last = calloc(s->n_tags, sizeof *s->last);
    s->seen = calloc(s->n_tags, sizeof *s->seen);
    s->batch = calloc(s->n_tags, sizeof *s->batch);
    assert_true(s->last && s->seen && s->batch);
}

static void sim_free(sim *s)
{
    alarm_engine_free(s->e);
    plant_free(s->p);
    map_free((map_station *)s->st);
    free(s->last);
    free(s->seen);
    free(s->batch);
}

/* One physics step: odd PLCs answer with the state before it, even ones
 * with the state after it, all stamped at its end. */
static void sim_step(sim *s, long step)
{
    int64_t ts = T0_NS + llround((double)(step + 1) * STEP_S * 1e9);
    for (size_t p = 1; p < s->st->n_plcs; p += 2)
        poll_plc(s, p, step, false, ts);
    plant_step(s->p, STEP_S);
    for (size_t p = 0; p < s->st->n_plcs; p += 2)
        poll_plc(s, p, step, false, ts);
    alarm_tick(s->e, ts);
}

static void test_lockages_raise_nothing(void **state)
{
    (void)state;
    sim s;
    sim_init(&s, 1);
    assert_true(alarm_count(s.e) >= 100);
    double lockages0 = value(&s, "lockage.lockage_count");
    double up0 = value(&s, "lockage.upbound_count");
    double down0 = value(&s, "lockage.downbound_count");
    double head_max = 0;
    long steps = llround(3 * 3600 / STEP_S);
    for (long i = 0; i < steps; i++) {
        sim_step(&s, i);
        /* normal operation only: no mains failure in this run */
        if (value(&s, "power.mains_ok") == 0)
            fail_msg("mains failed at %.0f s: pick another seed", i * STEP_S);
        if (s.n_records)
            break;
        double h = fabs(value(&s, "levels.upstream_level") -
                        value(&s, "levels.downstream_level"));
        if (h > head_max)
            head_max = h;
    }
    for (size_t i = 0; i < s.n_records && i < 8; i++)
        print_error("record: %s\n", s.first[i]);
    assert_int_equal(s.n_records, 0);

    /* The run did what a lockage does, both ways, over the full head. */
    assert_true(value(&s, "lockage.lockage_count") >= lockages0 + 3);
    assert_true(value(&s, "lockage.upbound_count") >= up0 + 1);
    assert_true(value(&s, "lockage.downbound_count") >= down0 + 1);
    assert_true(head_max > 11.5);
    /* Every alarm was evaluated, and is false: none stayed unknown. */
    for (size_t i = 0; i < alarm_count(s.e); i++)
        if (alarm_condition(s.e, i) != ALARM_COND_FALSE)
            fail_msg("%s: condition %d at the end", alarm_id(s.e, i),
                     alarm_condition(s.e, i));
    sim_free(&s);
}

/* Each interlock alarm fires when its interlock is broken, from a
 * station where every tag has a value. */
static void test_interlocks_fire(void **state)
{
    (void)state;
    static const struct {
        const char *alarm;
        const char *set[6];   /* "tag=value" */
    } cases[] = {
        {"upper_gate_moving_with_head",
         {"upper_gate.left_leaf_running=1", "levels.upstream_level=20",
          "levels.chamber_level=19.5"}},
        {"lower_gate_moving_with_head",
         {"lower_gate.right_leaf_running=1", "levels.chamber_level=8.5",
          "levels.downstream_level=8"}},
        {"upstream_green_gate_not_open",
         {"signals.upstream_entry_light=2", "upper_gate.left_leaf_open_limit=1",
          "upper_gate.right_leaf_open_limit=0"}},
        {"downstream_green_gate_not_open",
         {"signals.downstream_exit_light=2", "lower_gate.left_leaf_open_limit=0",
          "lower_gate.right_leaf_open_limit=0"}},
        {"filling_and_emptying_valves_open",
         {"valves.upper_right_position=10", "valves.lower_left_position=5"}},
        {"filling_valves_open_lower_gate_not_closed",
         {"valves.upper_left_position=50", "lower_gate.left_leaf_closed_limit=1",
          "lower_gate.right_leaf_closed_limit=0"}},
        {"emptying_valves_open_upper_gate_not_closed",
         {"valves.lower_right_position=50", "upper_gate.left_leaf_closed_limit=0",
          "upper_gate.right_leaf_closed_limit=1"}},
        {"both_gates_open",
         {"upper_gate.left_leaf_closed_limit=0", "lower_gate.right_leaf_closed_limit=0"}},
        {"upper_gate.left_leaf_stroke.out_of_step",
         {"upper_gate.left_leaf_stroke=1000", "upper_gate.right_leaf_stroke=940"}},
        {"lower_gate.left_leaf_stroke.out_of_step",
         {"lower_gate.left_leaf_stroke=1000", "lower_gate.right_leaf_stroke=1060"}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        sim s;
        sim_init(&s, 1);
        /* the plant at rest: everything known, nothing in alarm */
        int64_t ts = T0_NS;
        for (size_t p = 0; p < s.st->n_plcs; p++)
            poll_plc(&s, p, 0, true, ts);
        long idx = alarm_find(s.e, cases[c].alarm);
        assert_true(idx >= 0);
        assert_int_equal(alarm_condition(s.e, (size_t)idx), ALARM_COND_FALSE);
        size_t n = 0;
        for (size_t k = 0; k < 6 && cases[c].set[k]; k++) {
            const char *eq = strchr(cases[c].set[k], '=');
            char id[96];
            snprintf(id, sizeof id, "%.*s", (int)(eq - cases[c].set[k]),
                     cases[c].set[k]);
            const map_tag *t = map_find_tag(s.st, id);
            assert_non_null(t);
            size_t pos = 0;
            for (size_t p = 0; p < s.st->n_plcs; p++) {
                const map_plc *pl = &s.st->plcs[p];
                if (t >= pl->tags && t < pl->tags + pl->n_tags) {
                    pos += (size_t)(t - pl->tags);
                    break;
                }
                pos += pl->n_tags;
            }
            val v = {0};
            double x = strtod(eq + 1, NULL);
            if (t->type == MAP_BOOL) {
                v.kind = VAL_BOOL;
                v.b = x != 0;
            } else if (t->scaled || t->type == MAP_F32) {
                v.kind = VAL_REAL;
                v.d = x;
            } else {
                v.kind = VAL_INT;
                v.i = (int64_t)x;
            }
            s.batch[n].tag = (uint32_t)pos;
            s.batch[n++].s = (val_sample){.ts_ns = ts + 1000000, .q = Q_GOOD,
                                          .v = v};
        }
        s.n_records = 0;
        alarm_feed(s.e, s.batch, n);
        alarm_tick(s.e, ts + 1000000000);
        assert_int_equal(alarm_get(s.e, (size_t)idx)->state, ALARM_NORMAL);
        alarm_tick(s.e, ts + 2100000000);
        if (alarm_get(s.e, (size_t)idx)->state != ALARM_ACTIVE_UNACK)
            fail_msg("%s did not fire", cases[c].alarm);
        sim_free(&s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lockages_raise_nothing),
        cmocka_unit_test(test_interlocks_fire),
    };
    return cmocka_run_group_tests_name("alarm_lockage", tests, NULL, NULL);
}
