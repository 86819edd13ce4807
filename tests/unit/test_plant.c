/*
 * test_plant.c - the simulated plant against the shipped station maps.
 *
 * Loads plc-maps/station.yaml (ctest runs unit tests from the repository
 * root), checks that the maps carry the variety they promise, that the plant
 * binds every tag in the kind the bridge decodes, and then runs the physics
 * in simulated time: a whole upbound lockage with its interlocks, a day of
 * station life, and repeatability for a seed.
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

#include "sim/plant.h"

#define STATION "plc-maps/station.yaml"

static map_station *load_station(void)
{
    map_errors errs = {0};
    map_station *st = map_load(STATION, &errs);
    for (size_t i = 0; i < errs.n; i++)
        fprintf(stderr, "%s\n", errs.msgs[i]);
    assert_int_equal(errs.n, 0);
    assert_non_null(st);
    map_errors_free(&errs);
    return st;
}

static val value_of(const plant *p, const map_station *st, const char *id)
{
    const map_tag *t = map_find_tag(st, id);
    if (!t)
        fail_msg("no tag %s", id);
    char plc[64];
    snprintf(plc, sizeof plc, "%.*s", (int)(strchr(id, '.') - id), id);
    val v;
    assert_int_equal(plant_value(p, map_find_plc(st, plc), t, &v), 0);
    return v;
}

static double num(const plant *p, const map_station *st, const char *id)
{
    val v = value_of(p, st, id);
    double d;
    assert_true(val_as_double(&v, &d));
    return d;
}

static bool flag(const plant *p, const map_station *st, const char *id)
{
    val v = value_of(p, st, id);
    assert_int_equal(v.kind, VAL_BOOL);
    return v.b;
}

/* ---- the maps --------------------------------------------------------- */

static void test_station_variety(void **state)
{
    (void)state;
    map_station *st = load_station();
    assert_string_equal(st->id, "lock1");
    assert_string_equal(st->timezone, "Asia/Shanghai");
    assert_true(st->n_plcs >= 7);

    size_t total = 0;
    int f32_abcd = 0, f32_cdab = 0, u32 = 0, wide = 0, strings = 0, coils = 0;
    int discretes = 0, inputs = 0, bits = 0, enums = 0, scaled = 0, base1 = 0;
    for (size_t i = 0; i < st->n_plcs; i++) {
        const map_plc *plc = &st->plcs[i];
        assert_string_equal(plc->host, "127.0.0.1");
        assert_int_equal(plc->port, 1502 + (int)i);
        assert_int_equal(plc->n_groups, 2);
        base1 += plc->address_base == 1;
        total += plc->n_tags;
        for (size_t j = 0; j < plc->n_tags; j++) {
            const map_tag *t = &plc->tags[j];
            assert_non_null(t->name.zh);
            if (t->type == MAP_F32)
                t->order == MAP_ABCD ? f32_abcd++ : f32_cdab++;
            u32 += t->type == MAP_U32;
            wide += t->type == MAP_U64 || t->type == MAP_I32;
            if (t->type == MAP_STRING) {
                strings++;
                assert_true(t->length <= 32);
            }
            coils += t->table == MAP_COIL;
            discretes += t->table == MAP_DISCRETE;
            inputs += t->table == MAP_INPUT;
            bits += t->bit >= 0;
            enums += t->n_states > 0;
            if (t->scaled) {
                scaled++;
                /* analog values carry a display range; counters do not */
                if (t->type == MAP_U16 || t->type == MAP_I16)
                    assert_true(t->has_range);
            }
        }
    }
    assert_true(total >= 300);
    assert_true(f32_abcd > 0 && f32_cdab > 0);
    assert_true(u32 > 0 && wide > 0 && strings > 0 && coils > 0);
    assert_true(discretes > 0 && inputs > 0 && bits > 0 && enums > 0);
    assert_true(scaled > 0 && base1 > 0);
    /* one PLC sits behind a gateway with another unit id */
    assert_int_equal(map_find_plc(st, "hpu")->unit, 2);
    map_free(st);
}

/* ---- bindings --------------------------------------------------------- */

static void test_every_tag_bound(void **state)
{
    (void)state;
    map_station *st = load_station();
    plant *p = plant_new(st, 1);
    assert_non_null(p);
    plant_step(p, 10.0);
    for (size_t i = 0; i < st->n_plcs; i++) {
        const map_plc *plc = &st->plcs[i];
        for (size_t j = 0; j < plc->n_tags; j++) {
            const map_tag *t = &plc->tags[j];
            val v;
            if (plant_value(p, plc, t, &v) != 0)
                fail_msg("%s is not modelled", t->full_id);
            val_kind want = t->type == MAP_BOOL     ? VAL_BOOL
                            : t->type == MAP_STRING ? VAL_STR
                            : t->scaled || t->type == MAP_F32 ||
                                    t->type == MAP_F64
                                ? VAL_REAL
                                : VAL_INT;
            if (v.kind != want)
                fail_msg("%s: kind %d, want %d", t->full_id, v.kind, want);
        }
    }
    plant_free(p);
    map_free(st);
}

static void test_unknown_tag(void **state)
{
    (void)state;
    map_station *st = load_station();
    plant *p = plant_new(st, 1);
    map_tag stray = st->plcs[0].tags[0];  /* a copy: not in the station */
    val v;
    assert_int_equal(plant_value(p, &st->plcs[0], &stray, &v), -1);
    assert_int_equal(plant_value(p, &st->plcs[0], NULL, &v), -1);
    assert_int_equal(plant_value(NULL, &st->plcs[0], &st->plcs[0].tags[0], &v),
                     -1);
    plant_free(p);
    plant_free(NULL);
    map_free(st);
}

/* A status word and the bool tags taken from its bits agree. */
static void assert_bits_match(const plant *p, const map_station *st)
{
    for (size_t i = 0; i < st->n_plcs; i++) {
        const map_plc *plc = &st->plcs[i];
        for (size_t j = 0; j < plc->n_tags; j++) {
            const map_tag *b = &plc->tags[j];
            if (b->type != MAP_BOOL || b->bit < 0)
                continue;
            for (size_t k = 0; k < plc->n_tags; k++) {
                const map_tag *w = &plc->tags[k];
                if (w->type != MAP_U16 || w->table != b->table ||
                    w->address != b->address)
                    continue;
                val vb, vw;
                assert_int_equal(plant_value(p, plc, b, &vb), 0);
                assert_int_equal(plant_value(p, plc, w, &vw), 0);
                assert_int_equal(vb.b, (vw.i >> b->bit) & 1);
            }
        }
    }
}

/* ---- physics ---------------------------------------------------------- */

/* The plant starts with vessels waiting downstream and the lower gate open:
 * its first lockage is upbound.  Runs it to completion in 0.5 s steps and
 * checks the interlocks and the physics on every step. */
static void test_upbound_lockage(void **state)
{
    (void)state;
    map_station *st = load_station();
    plant *p = plant_new(st, 42);
    double count0 = num(p, st, "lockage.lockage_count");
    double kwh = num(p, st, "power.energy_import");
    double rate_high_head = 0, rate_low_head = 0;
    bool filled = false, saw_pump = false;
    double t = 0;

    for (; t < 3 * 3600.0; t += 0.5) {
        plant_step(p, 0.5);
        double up = num(p, st, "levels.upstream_level");
        double ch = num(p, st, "levels.chamber_level");
        double dn = num(p, st, "levels.downstream_level");
        double uhead = num(p, st, "levels.upper_head");
        double lhead = num(p, st, "levels.lower_head");
        assert_true(ch >= dn - 0.05 && ch <= up + 0.05);

        /* interlocks: a gate is off its closed limit only with equal levels */
        if (!flag(p, st, "upper_gate.left_leaf_closed_limit") ||
            !flag(p, st, "upper_gate.right_leaf_closed_limit"))
            assert_true(fabs(uhead) < 0.15 + 0.01);
        if (!flag(p, st, "lower_gate.left_leaf_closed_limit") ||
            !flag(p, st, "lower_gate.right_leaf_closed_limit"))
            assert_true(fabs(lhead) < 0.15 + 0.01);

        /* green only with that side's gate fully open */
        if (num(p, st, "signals.upstream_exit_light") == 2 ||
            num(p, st, "signals.upstream_entry_light") == 2)
            assert_int_equal(num(p, st, "upper_gate.gate_state"), 2);
        if (num(p, st, "signals.downstream_entry_light") == 2 ||
            num(p, st, "signals.downstream_exit_light") == 2)
            assert_int_equal(num(p, st, "lower_gate.gate_state"), 2);

        /* a hoist moves only with its pump running and pressure up */
        if (flag(p, st, "upper_gate.left_leaf_running")) {
            assert_true(flag(p, st, "hpu.upper_pump1_running") ||
                        flag(p, st, "hpu.upper_pump2_running"));
            assert_true(num(p, st, "hpu.upper_oil_pressure") > 9.0);
            assert_true(num(p, st, "upper_gate.left_leaf_cap_pressure") +
                            num(p, st, "upper_gate.left_leaf_rod_pressure") >
                        5.0);
            saw_pump = true;
        }

        double k = num(p, st, "power.energy_import");
        assert_true(k >= kwh);
        kwh = k;

        /* filling slows as the head falls */
        if (num(p, st, "valves.upper_left_position") >= 100.0) {
            filled = true;
            if (uhead < 8.0 && uhead > 7.5)
                rate_high_head = num(p, st, "levels.chamber_rate");
            if (uhead < 1.0 && uhead > 0.5)
                rate_low_head = num(p, st, "levels.chamber_rate");
        }
        if (num(p, st, "lockage.phase") == 6) {  /* opening the exit gate */
            assert_true(fabs(uhead) < 0.05 + 0.01);
            assert_int_equal(num(p, st, "valves.upper_left_position"), 0);
        }
        if ((int)t % 60 == 0)
            assert_bits_match(p, st);
        if (num(p, st, "lockage.lockage_count") > count0)
            break;
    }
    assert_true(filled && saw_pump);
    assert_true(rate_high_head > 2.0 * rate_low_head && rate_low_head > 0);
    assert_int_equal(num(p, st, "lockage.lockage_count"), count0 + 1);
    /* 15 to 60 minutes for the whole lockage */
    assert_true(t > 15 * 60.0 && t < 60 * 60.0);
    assert_true(fabs(num(p, st, "lockage.last_cycle_time") - t) <= 2.0);
    double fill = num(p, st, "lockage.last_fill_time");
    assert_true(fill > 8 * 60.0 && fill < 15 * 60.0);
    double travel = num(p, st, "lockage.last_gate_travel");
    assert_true(travel >= 120.0 && travel <= 240.0);
    /* the upper gate is open to the vessels now, chamber at upstream level */
    assert_int_equal(num(p, st, "upper_gate.gate_state"), 2);
    assert_true(fabs(num(p, st, "levels.upper_head")) < 0.05);
    plant_free(p);
    map_free(st);
}

/* A day of station life: both directions, facilities cycling. */
static void test_a_day(void **state)
{
    (void)state;
    map_station *st = load_station();
    plant *p = plant_new(st, 7);
    double up0 = num(p, st, "lockage.upbound_count");
    double down0 = num(p, st, "lockage.downbound_count");
    double starts0 = num(p, st, "hpu.upper_pump1_starts") +
                     num(p, st, "hpu.upper_pump2_starts");
    double kwh0 = num(p, st, "power.energy_import");
    bool drain_on = false, drain_off = false, lit = false, dark = false;
    bool gen_ran = false, cooling = false;
    double sump_max = 0;
    for (int s = 0; s < 24 * 3600; s++) {
        plant_step(p, 1.0);
        if (s % 10)
            continue;
        bool d = flag(p, st, "power.drain_pump1_running") ||
                 flag(p, st, "power.drain_pump2_running");
        drain_on |= d;
        drain_off |= !d;
        double sump = num(p, st, "power.sump_level");
        sump_max = fmax(sump_max, sump);
        bool l = flag(p, st, "power.lighting_chamber");
        lit |= l;
        dark |= !l;
        gen_ran |= num(p, st, "power.generator_state") == 2;
        cooling |= num(p, st, "power.hvac_state") == 1;
        double pt = num(p, st, "hpu.upper_oil_temperature");
        assert_true(pt > 0.0 && pt < 60.0);
        double pf = num(p, st, "power.power_factor");
        assert_true(pf == 0.0 || (pf > 0.8 && pf <= 1.0));
    }
    assert_true(num(p, st, "lockage.upbound_count") - up0 >= 8);
    assert_true(num(p, st, "lockage.downbound_count") - down0 >= 8);
    assert_true(num(p, st, "hpu.upper_pump1_starts") +
                    num(p, st, "hpu.upper_pump2_starts") - starts0 >= 16);
    assert_true(drain_on && drain_off && sump_max < 2.8);
    assert_true(lit && dark && gen_ran && cooling);
    double kwh = num(p, st, "power.energy_import") - kwh0;
    assert_true(kwh > 24 * 10.0 && kwh < 24 * 100.0);
    assert_true(num(p, st, "power.energy_total_wh") >=
                floor(num(p, st, "power.energy_import")) * 1000.0);
    assert_true(num(p, st, "levels.upstream_level") > 19.8 &&
                num(p, st, "levels.upstream_level") < 20.2);
    assert_true(num(p, st, "levels.downstream_level") > 7.8 &&
                num(p, st, "levels.downstream_level") < 8.2);
    plant_free(p);
    map_free(st);
}

static void test_repeatable(void **state)
{
    (void)state;
    map_station *st = load_station();
    plant *a = plant_new(st, 99), *b = plant_new(st, 99), *c = plant_new(st, 100);
    for (int i = 0; i < 7200; i++) {
        plant_step(a, 1.0);
        plant_step(b, 1.0);
        plant_step(c, 1.0);
    }
    size_t differ = 0;
    for (size_t i = 0; i < st->n_plcs; i++) {
        const map_plc *plc = &st->plcs[i];
        for (size_t j = 0; j < plc->n_tags; j++) {
            val va, vb, vc;
            assert_int_equal(plant_value(a, plc, &plc->tags[j], &va), 0);
            assert_int_equal(plant_value(b, plc, &plc->tags[j], &vb), 0);
            assert_int_equal(plant_value(c, plc, &plc->tags[j], &vc), 0);
            assert_true(val_equal(&va, &vb));
            differ += !val_equal(&va, &vc);
        }
    }
    assert_true(differ > 0);
    char line[256];
    plant_describe(a, line, sizeof line);
    assert_non_null(strstr(line, "chamber"));
    plant_free(a);
    plant_free(b);
    plant_free(c);
    map_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_station_variety),
        cmocka_unit_test(test_every_tag_bound),
        cmocka_unit_test(test_unknown_tag),
        cmocka_unit_test(test_upbound_lockage),
        cmocka_unit_test(test_a_day),
        cmocka_unit_test(test_repeatable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
