/*
 * test_plcmap.c - the register-map loader: golden config cases and the model.
 *
 * The golden cases are data: every directory under tests/data/config holds a
 * station.yaml (plus any PLC files it includes) and expected.err, the exact
 * messages `lockbridge check` prints, one a line (empty for a good map).
 * Each directory becomes one named cmocka test, so a new case is a new
 * directory, not new code.  Paths are relative to the repository root, the
 * working directory ctest gives unit tests.
 *
 * The model tests load the good cases and assert the values the loader
 * fills in: defaults, address_base 1 conversion, register counts, ids,
 * groups, states, lookups, durations.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "alarm/expr.h"
#include "config/plcmap.h"
#include "support/tmpdir.h"

#define CONFIG_DIR "tests/data/config"

/* Reads a whole file; NULL when it cannot be read. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (cap - len - 1 == 0) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf)
        buf[len] = '\0';
    return buf;
}

/* ---- golden cases --------------------------------------------------------- */

static void test_golden(void **state)
{
    const char *name = *state;
    char path[512], exp_path[512];
    snprintf(path, sizeof path, CONFIG_DIR "/%s/station.yaml", name);
    snprintf(exp_path, sizeof exp_path, CONFIG_DIR "/%s/expected.err", name);

    char *expected = slurp(exp_path);
    if (!expected)
        fail_msg("case %s: cannot read %s", name, exp_path);

    map_errors errs = {0};
    map_station *st = map_load(path, &errs);
    size_t len = 1;
    for (size_t i = 0; i < errs.n; i++)
        len += strlen(errs.msgs[i]) + 1;
    char *got = calloc(1, len);
    assert_non_null(got);
    for (size_t i = 0; i < errs.n; i++) {
        strcat(got, errs.msgs[i]);
        strcat(got, "\n");
    }
    if (strcmp(got, expected) != 0) {
        print_error("case %s: errors differ\n--- expected\n%s--- got\n%s",
                    name, expected, got);
        fail_msg("case %s", name);
    }
    /* A map loads exactly when nothing is wrong with it. */
    if ((st != NULL) != (errs.n == 0))
        fail_msg("case %s: map_load returned %s with %zu errors", name,
                 st ? "a station" : "NULL", errs.n);
    /* Warnings (expected.warn, when the case has one) leave the map
     * loaded and come out in the same form. */
    snprintf(exp_path, sizeof exp_path, CONFIG_DIR "/%s/expected.warn", name);
    char *want_warn = slurp(exp_path);
    if (want_warn) {
        assert_non_null(st);
        size_t wl = 1;
        for (size_t i = 0; i < st->warnings.n; i++)
            wl += strlen(st->warnings.msgs[i]) + 1;
        char *gw = calloc(1, wl);
        assert_non_null(gw);
        for (size_t i = 0; i < st->warnings.n; i++) {
            strcat(gw, st->warnings.msgs[i]);
            strcat(gw, "\n");
        }
        if (strcmp(gw, want_warn) != 0) {
            print_error("case %s: warnings differ\n--- expected\n%s--- got"
                        "\n%s", name, want_warn, gw);
            fail_msg("case %s (warnings)", name);
        }
        free(gw);
        free(want_warn);
    }
    map_free(st);
    map_errors_free(&errs);
    free(got);

    /* The same bytes from memory (map_load_buffer, what the map fuzzer
     * feeds) give the same lines, unless the case includes PLC files,
     * which memory refuses. */
    char *data = slurp(path);
    assert_non_null(data);
    st = map_load_buffer(path, data, strlen(data), &errs);
    bool includes = false;
    got = calloc(1, 1);
    size_t glen = 0;
    for (size_t i = 0; i < errs.n; i++) {
        includes |= strstr(errs.msgs[i], "cannot be included") != NULL;
        size_t ml = strlen(errs.msgs[i]);
        got = realloc(got, glen + ml + 2);
        assert_non_null(got);
        memcpy(got + glen, errs.msgs[i], ml);
        got[glen + ml] = '\n';
        glen += ml + 1;
        got[glen] = '\0';
    }
    if (!includes && strcmp(got, expected) != 0) {
        print_error("case %s from memory: errors differ\n--- expected\n%s"
                    "--- got\n%s", name, expected, got);
        fail_msg("case %s (map_load_buffer)", name);
    }
    if ((st != NULL) != (errs.n == 0))
        fail_msg("case %s: map_load_buffer returned %s with %zu errors", name,
                 st ? "a station" : "NULL", errs.n);
    map_free(st);
    map_errors_free(&errs);
    free(got);
    free(data);
    free(expected);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names of the case directories, sorted; count in *n. */
static char **list_cases(size_t *n)
{
    DIR *d = opendir(CONFIG_DIR);
    *n = 0;
    if (!d)
        return NULL;
    char **names = NULL;
    size_t cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char p[512];
        struct stat sb;
        snprintf(p, sizeof p, CONFIG_DIR "/%s/station.yaml", e->d_name);
        if (stat(p, &sb) != 0)
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            names = realloc(names, cap * sizeof *names);
            assert_non_null(names);
        }
        names[(*n)++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, *n, sizeof *names, cmp_str);
    return names;
}

/* ---- the model ------------------------------------------------------------ */

static map_station *load_ok(const char *path)
{
    map_errors errs = {0};
    map_station *st = map_load(path, &errs);
    for (size_t i = 0; i < errs.n; i++)
        print_error("%s\n", errs.msgs[i]);
    assert_int_equal(errs.n, 0);
    assert_non_null(st);
    map_errors_free(&errs);
    return st;
}

static void test_single_plc_defaults(void **state)
{
    (void)state;
    map_station *st = load_ok(CONFIG_DIR "/good_single_plc/station.yaml");
    assert_string_equal(st->id, "upper_gate");
    assert_string_equal(st->name.en, "upper_gate");
    assert_null(st->name.zh);
    assert_string_equal(st->timezone, "UTC");
    assert_string_equal(st->file, CONFIG_DIR "/good_single_plc/station.yaml");
    assert_int_equal(st->n_plcs, 1);

    const map_plc *p = &st->plcs[0];
    assert_string_equal(p->id, "upper_gate");
    assert_string_equal(p->name.en, "upper_gate");
    assert_null(p->description);
    assert_true(p->enabled);
    assert_string_equal(p->host, "127.0.0.1");
    assert_int_equal(p->port, 502);
    assert_int_equal(p->unit, 1);
    assert_int_equal(p->timeout_ns, 500000000ull);
    assert_int_equal(p->word_order, MAP_ABCD);
    assert_int_equal(p->address_base, 0);
    assert_int_equal(p->max_gap, 16);
    assert_int_equal(p->n_groups, 1);
    assert_string_equal(p->groups[0].name, "fast");
    assert_int_equal(p->groups[0].period_ns, 1000000000ull);
    assert_false(p->groups[0].sample);
    assert_string_equal(p->file, st->file);
    assert_int_equal(p->line, 2);
    assert_int_equal(p->col, 1);

    assert_int_equal(p->n_tags, 1);
    const map_tag *t = &p->tags[0];
    assert_string_equal(t->id, "left_leaf_position");
    assert_string_equal(t->full_id, "upper_gate.left_leaf_position");
    assert_string_equal(t->name.en, "left_leaf_position");
    assert_null(t->name.zh);
    assert_null(t->description);
    assert_int_equal(t->table, MAP_HOLDING);
    assert_int_equal(t->address, 100);
    assert_int_equal(t->type, MAP_U16);
    assert_int_equal(t->bit, -1);
    assert_int_equal(t->order, MAP_ABCD);
    assert_int_equal(t->length, 0);
    assert_int_equal(t->nregs, 1);
    assert_true(t->scale == 1.0);
    assert_true(t->offset == 0.0);
    assert_false(t->scaled);
    assert_null(t->unit);
    assert_int_equal(t->group, 0);
    assert_true(t->deadband == 0.0);
    assert_false(t->has_range);
    assert_null(t->states);
    assert_int_equal(t->n_states, 0);
    assert_int_equal(t->line, 5);
    assert_int_equal(t->col, 5);
    map_free(st);
}

static void test_inline_station(void **state)
{
    (void)state;
    map_station *st = load_ok(CONFIG_DIR "/good_inline/station.yaml");
    assert_string_equal(st->id, "lock1");
    assert_string_equal(st->name.en, "Example Lock");
    assert_string_equal(st->name.zh, "示例船闸");
    assert_string_equal(st->timezone, "Asia/Shanghai");
    assert_int_equal(st->n_plcs, 3);

    const map_plc *up = map_find_plc(st, "upper_gate");
    assert_ptr_equal(up, &st->plcs[0]);
    assert_string_equal(up->name.zh, "上闸首闸门");
    assert_int_equal(up->port, 1502);
    assert_int_equal(up->n_groups, 2);
    assert_string_equal(up->groups[0].name, "fast");
    assert_int_equal(up->groups[0].period_ns, 100000000ull);
    assert_string_equal(up->groups[1].name, "slow");
    assert_int_equal(up->groups[1].period_ns, 2000000000ull);

    const map_tag *pos = map_find_tag(st, "upper_gate.left_leaf_position");
    assert_ptr_equal(pos, &up->tags[0]);
    assert_true(pos->scale == 0.1);
    assert_true(pos->scaled);
    assert_string_equal(pos->unit, "%");
    assert_int_equal(pos->group, 0);

    const map_tag *door = map_find_tag(st, "upper_gate.door_state");
    assert_non_null(door);
    assert_int_equal(door->group, 1);
    assert_int_equal(door->n_states, 3);
    const map_text *l = map_state_label(door, 1);
    assert_non_null(l);
    assert_string_equal(l->en, "Opening");
    assert_string_equal(l->zh, "开启中");
    l = map_state_label(door, 2);
    assert_string_equal(l->en, "Open");
    assert_null(l->zh);
    assert_null(map_state_label(door, 3));
    assert_null(map_state_label(door, -1));
    assert_null(map_state_label(pos, 0));

    /* The same tag id in two PLCs: full ids keep them apart. */
    const map_tag *low = map_find_tag(st, "lower_gate.left_leaf_position");
    assert_non_null(low);
    assert_ptr_equal(low, &st->plcs[1].tags[0]);
    assert_int_equal(low->table, MAP_INPUT);
    assert_int_equal(low->nregs, 2);
    assert_false(st->plcs[1].enabled);

    assert_null(map_find_tag(st, "upper_gate.nope"));
    assert_null(map_find_tag(st, "nope.left_leaf_position"));
    assert_null(map_find_tag(st, "upper_gate"));
    assert_null(map_find_tag(st, "upper_gat.left_leaf_position"));
    assert_null(map_find_plc(st, "upper"));
    assert_null(map_find_tag(NULL, "a.b"));
    assert_null(map_find_plc(NULL, "a"));
    map_free(st);
}

static void test_includes(void **state)
{
    (void)state;
    map_station *st = load_ok(CONFIG_DIR "/good_includes/station.yaml");
    assert_int_equal(st->n_plcs, 2);
    assert_string_equal(st->name.en, "lock1");
    assert_string_equal(st->plcs[0].file,
                        CONFIG_DIR "/good_includes/upper-gate.yaml");
    assert_string_equal(st->plcs[1].file,
                        CONFIG_DIR "/good_includes/lower-gate.yaml");
    assert_string_equal(st->plcs[0].name.en, "Upper gate");
    assert_int_equal(st->plcs[0].line, 1);
    assert_int_equal(st->plcs[1].port, 1503);
    assert_int_equal(st->plcs[1].tags[0].line, 5);
    map_free(st);
}

static void test_address_base_1(void **state)
{
    (void)state;
    map_station *st = load_ok(CONFIG_DIR "/good_base1/station.yaml");
    const map_plc *p = &st->plcs[0];
    assert_int_equal(p->address_base, 1);
    /* File address N is protocol address N-1. */
    assert_int_equal(p->tags[0].address, 0);
    assert_int_equal(p->tags[1].address, 65534);
    assert_int_equal(p->tags[1].nregs, 2);
    assert_int_equal(p->tags[2].table, MAP_COIL);
    assert_int_equal(p->tags[2].address, 0);
    map_free(st);
}

static void test_all_types(void **state)
{
    (void)state;
    map_station *st = load_ok(CONFIG_DIR "/good_all_types/station.yaml");
    const map_plc *p = &st->plcs[0];
    assert_string_equal(p->description,
                        "One tag of each type and order, and the allowed "
                        "overlaps.");
    assert_int_equal(p->unit, 0);
    assert_int_equal(p->timeout_ns, 1500000000ull);
    assert_int_equal(p->word_order, MAP_CDAB);
    assert_int_equal(p->max_gap, 0);
    assert_int_equal(p->n_groups, 3);
    assert_string_equal(p->groups[1].name, "slow");
    assert_int_equal(p->groups[1].period_ns, 60000000000ull);
    assert_true(p->groups[1].sample);
    assert_string_equal(p->groups[2].name, "hourly");
    assert_int_equal(p->groups[2].period_ns, 3600000000000ull);
    assert_false(p->groups[2].sample);

    static const struct {
        const char *id;
        map_table table;
        uint16_t address;
        map_type type;
        int bit;
        map_order order;
        uint16_t nregs;
    } want[] = {
        {"b_coil", MAP_COIL, 0, MAP_BOOL, -1, MAP_CDAB, 1},
        {"b_discrete", MAP_DISCRETE, 0, MAP_BOOL, -1, MAP_CDAB, 1},
        {"b_coil_alias", MAP_COIL, 0, MAP_BOOL, -1, MAP_CDAB, 1},
        {"status", MAP_INPUT, 0, MAP_U16, -1, MAP_CDAB, 1},
        {"status_b0", MAP_INPUT, 0, MAP_BOOL, 0, MAP_CDAB, 1},
        {"status_b15", MAP_INPUT, 0, MAP_BOOL, 15, MAP_CDAB, 1},
        {"nonzero", MAP_INPUT, 1, MAP_BOOL, -1, MAP_CDAB, 1},
        {"s16", MAP_INPUT, 2, MAP_I16, -1, MAP_CDAB, 1},
        {"u32", MAP_INPUT, 3, MAP_U32, -1, MAP_ABCD, 2},
        {"i32", MAP_INPUT, 5, MAP_I32, -1, MAP_BADC, 2},
        {"u64", MAP_INPUT, 7, MAP_U64, -1, MAP_DCBA, 4},
        {"i64", MAP_INPUT, 11, MAP_I64, -1, MAP_CDAB, 4},
        {"f32", MAP_HOLDING, 0, MAP_F32, -1, MAP_CDAB, 2},
        {"f32_alias", MAP_HOLDING, 0, MAP_F32, -1, MAP_CDAB, 2},
        {"f64", MAP_HOLDING, 2, MAP_F64, -1, MAP_CDAB, 4},
        {"name", MAP_HOLDING, 6, MAP_STRING, -1, MAP_BADC, 32},
        {"hex", MAP_HOLDING, 0x40, MAP_U16, -1, MAP_CDAB, 1},
    };
    assert_int_equal(p->n_tags, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < p->n_tags; i++) {
        const map_tag *t = &p->tags[i];
        assert_string_equal(t->id, want[i].id);
        assert_int_equal(t->table, want[i].table);
        assert_int_equal(t->address, want[i].address);
        assert_int_equal(t->type, want[i].type);
        assert_int_equal(t->bit, want[i].bit);
        assert_int_equal(t->order, want[i].order);
        assert_int_equal(t->nregs, want[i].nregs);
    }
    const map_tag *s16 = map_find_tag(st, "all_types.s16");
    assert_true(s16->offset == -10.0);
    assert_true(s16->scaled);
    assert_true(s16->deadband == 0.5);
    const map_tag *f32 = map_find_tag(st, "all_types.f32");
    assert_true(f32->has_range);
    assert_true(f32->range_min == 0.0);
    assert_true(f32->range_max == 100.5);
    assert_string_equal(f32->unit, "m");
    assert_int_equal(f32->group, 1);
    const map_tag *f64 = map_find_tag(st, "all_types.f64");
    assert_true(f64->scale == 2.5);
    assert_int_equal(f64->group, 2);
    const map_tag *str = map_find_tag(st, "all_types.name");
    assert_int_equal(str->length, 32);
    const map_tag *b0 = map_find_tag(st, "all_types.status_b0");
    assert_string_equal(map_state_label(b0, 1)->en, "On");
    assert_string_equal(map_state_label(b0, 0)->en, "Off");
    map_free(st);
}

static void test_anchors(void **state)
{
    (void)state;
    map_station *st = load_ok(CONFIG_DIR "/good_anchors/station.yaml");
    const map_tag *a = map_find_tag(st, "valves.valve1_state");
    const map_tag *b = map_find_tag(st, "valves.valve2_state");
    assert_int_equal(a->n_states, 4);
    assert_int_equal(b->n_states, 4);
    /* Each tag owns its copy: freeing cannot double-free. */
    assert_ptr_not_equal(a->states, b->states);
    assert_string_equal(map_state_label(b, 3)->en, "Closing");
    map_free(st);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(map_table_name(MAP_COIL), "coil");
    assert_string_equal(map_table_name(MAP_DISCRETE), "discrete");
    assert_string_equal(map_table_name(MAP_INPUT), "input");
    assert_string_equal(map_table_name(MAP_HOLDING), "holding");
    assert_string_equal(map_type_name(MAP_BOOL), "bool");
    assert_string_equal(map_type_name(MAP_I64), "i64");
    assert_string_equal(map_type_name(MAP_STRING), "string");
    assert_string_equal(map_order_name(MAP_ABCD), "ABCD");
    assert_string_equal(map_order_name(MAP_DCBA), "DCBA");
    assert_true(map_table_is_bits(MAP_COIL));
    assert_true(map_table_is_bits(MAP_DISCRETE));
    assert_false(map_table_is_bits(MAP_INPUT));
    assert_false(map_table_is_bits(MAP_HOLDING));
    assert_int_equal(map_type_regs(MAP_BOOL, 0), 1);
    assert_int_equal(map_type_regs(MAP_U16, 0), 1);
    assert_int_equal(map_type_regs(MAP_I16, 0), 1);
    assert_int_equal(map_type_regs(MAP_U32, 0), 2);
    assert_int_equal(map_type_regs(MAP_I32, 0), 2);
    assert_int_equal(map_type_regs(MAP_F32, 0), 2);
    assert_int_equal(map_type_regs(MAP_U64, 0), 4);
    assert_int_equal(map_type_regs(MAP_I64, 0), 4);
    assert_int_equal(map_type_regs(MAP_F64, 0), 4);
    assert_int_equal(map_type_regs(MAP_STRING, 8), 8);
}

static void test_durations(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        uint64_t ns;
    } ok[] = {
        {"100us", 100000ull},        {"500ms", 500000000ull},
        {"2s", 2000000000ull},       {"1.5s", 1500000000ull},
        {"0.1s", 100000000ull},      {"1m", 60000000000ull},
        {"1.5m", 90000000000ull},    {"2h", 7200000000000ull},
        {"0.5ms", 500000ull},        {"0s", 0ull},
        {"1.0000000004s", 1000000000ull},
        {"18446744073s", 18446744073000000000ull},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        uint64_t ns = 42;
        if (map_parse_duration(ok[i].s, &ns) != 0)
            fail_msg("'%s' rejected", ok[i].s);
        if (ns != ok[i].ns)
            fail_msg("'%s' gave %llu, want %llu", ok[i].s,
                     (unsigned long long)ns, (unsigned long long)ok[i].ns);
    }
    static const char *const bad[] = {
        "", "500", "ms", "-1s", "+1s", "1.s", ".5s", "1 s", "1S", "1sec",
        "1e3ms", "1ns", "1d", "0x10s", "18446744074s", "99999999999999999999h",
        "1.5.5s", "5ms ", " 5ms",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t ns = 42;
        if (map_parse_duration(bad[i], &ns) != -1)
            fail_msg("'%s' accepted", bad[i]);
        assert_int_equal(ns, 42);
    }
    uint64_t ns;
    assert_int_equal(map_parse_duration(NULL, &ns), -1);
}

/* One state directory: the default paths of the history and the spool are
 * inside data_dir; paths written in the map are kept as written. */
static void test_data_dir(void **state)
{
    (void)state;
    /* A single PLC file gets the default, relative to the working
     * directory as before data_dir existed. */
    map_station *st = load_ok(CONFIG_DIR "/good_single_plc/station.yaml");
    assert_string_equal(st->data_dir, "data");
    assert_true(st->history.enabled);
    assert_string_equal(st->history.path, "data/history.db");
    assert_string_equal(st->alarm_journal.path, "data/alarms.db");
    assert_false(st->influx.enabled);
    assert_null(st->influx.spool_dir);
    map_free(st);

    st = load_ok(CONFIG_DIR "/good_data_dir/station.yaml");
    assert_string_equal(st->data_dir, "/var/lib/lockbridge/");
    assert_string_equal(st->history.path, "/var/lib/lockbridge/history.db");
    assert_string_equal(st->alarm_journal.path,
                        "/var/lib/lockbridge/alarms.db");
    assert_true(st->influx.enabled);
    assert_string_equal(st->influx.spool_dir, "/var/lib/lockbridge/spool");
    map_free(st);

    /* Explicit paths, relative or absolute, are not moved into data_dir. */
    st = load_ok(CONFIG_DIR "/good_timeseries/station.yaml");
    assert_string_equal(st->data_dir, "data");
    assert_string_equal(st->history.path, "data/h.db");
    assert_string_equal(st->alarm_journal.path, "/srv/alarms/journal.db");
    assert_int_equal(st->history.rollup_1m_days, 90);
    assert_int_equal(st->history.rollup_10m_days, 400);
    assert_int_equal(st->history.rollup_1h_days, 1000);
    assert_string_equal(st->influx.spool_dir, "/var/lib/lockbridge/spool");
    map_free(st);

    st = load_ok(CONFIG_DIR "/good_inline/station.yaml");
    assert_string_equal(st->data_dir, "data");
    assert_string_equal(st->history.path, "data/history.db");
    assert_int_equal(st->history.rollup_10m_days, 1100);
    map_free(st);
}

/* Alarm definitions: ids, defaults, positions, compiled expressions,
 * modes and chattering, as good_alarms defines them. */
static void test_alarms(void **state)
{
    (void)state;
    map_station *st = load_ok(CONFIG_DIR "/good_alarms/station.yaml");
    const map_plc *hpu = &st->plcs[0], *g = &st->plcs[1];

    /* The comm alarm: tuned priority, area and message; the default delay
     * is the stale time of the fastest group: 3 x 100 ms + 500 ms. */
    const map_alarm *c = &hpu->comm_alarm;
    assert_int_equal(c->kind, MAP_AL_COMM);
    assert_string_equal(c->full_id, "hpu.comm");
    assert_int_equal(c->priority, MAP_PRIO_CRITICAL);
    assert_string_equal(c->area, "pumps");
    assert_true(c->enabled);
    assert_int_equal(c->on_delay_ns, 800000000ull);
    assert_string_equal(c->message.zh, "泵站PLC通信中断");
    assert_false(g->comm_alarm.enabled);  /* comm_alarm: off */
    assert_string_equal(g->comm_alarm.message.en, "g: communication lost");
    assert_int_equal(g->comm_alarm.on_delay_ns, 3500000000ull);

    const map_tag *t = &hpu->tags[0];
    assert_int_equal(t->n_alarms, 5);
    const map_alarm *a = &t->alarms[0];
    assert_string_equal(a->full_id, "hpu.oil_temp.high");
    assert_int_equal(a->kind, MAP_AL_ABOVE);
    assert_true(a->limit == 60 && a->deadband == 2);
    assert_int_equal(a->on_delay_ns, 5000000000ull);
    assert_int_equal(a->off_delay_ns, 10000000000ull);
    assert_int_equal(a->priority, MAP_PRIO_HIGH);
    assert_string_equal(a->area, "upper_head");
    assert_string_equal(a->message.en, "Oil temperature high ({value} {unit})");
    assert_string_equal(a->description, "Check the cooler.");
    assert_int_equal(a->plc, 0);
    assert_int_equal(a->tag_pos, 0);
    /* Defaults: medium priority, the PLC as area, a generated message. */
    a = &t->alarms[1];
    assert_true(a->latch);
    assert_string_equal(a->area, "hpu");
    assert_string_equal(a->message.en, "Oil temperature above 70 °C");
    assert_string_equal(a->message.zh, "油温高于70 °C");
    a = &t->alarms[2];
    assert_false(a->enabled);
    assert_int_equal(a->priority, MAP_PRIO_LOW);
    a = &t->alarms[3];
    assert_int_equal(a->kind, MAP_AL_RATE);
    assert_int_equal(a->window_ns, 5000000000ull);
    assert_int_equal(a->priority, MAP_PRIO_MEDIUM);
    assert_string_equal(a->message.en,
                        "Oil temperature changing faster than 0.5 °C/s");
    assert_int_equal(t->alarms[4].kind, MAP_AL_QUALITY);
    assert_string_equal(t->alarms[4].message.en, "Oil temperature: bad quality");

    t = &hpu->tags[1];
    assert_true(t->alarms[0].when);
    assert_false(t->alarms[1].when);
    assert_string_equal(t->alarms[1].message.en, "pump_fault: off");
    assert_null(t->alarms[1].message.zh);  /* the tag has no Chinese name */
    t = &hpu->tags[2];
    assert_int_equal(t->alarms[0].n_codes, 1);
    assert_int_equal(t->alarms[0].codes[0], 3);

    /* A deviation names its partner by position. */
    a = &g->tags[0].alarms[0];
    assert_int_equal(a->kind, MAP_AL_DEVIATION);
    assert_string_equal(a->from, "g.right");
    assert_int_equal(a->from_pos, 4);
    assert_int_equal(a->tag_pos, 3);
    assert_string_equal(a->message.en, "left deviates from right by more "
                        "than 50 mm");

    assert_int_equal(st->n_alarms, 2);
    a = &st->alarms[0];
    assert_int_equal(a->kind, MAP_AL_EXPR);
    assert_string_equal(a->full_id, "hot_while_moving");
    assert_non_null(a->expr);
    const uint32_t *slots;
    assert_int_equal(expr_slots(a->expr, &slots), 5);
    assert_int_equal(slots[0], 6);   /* g.moving */
    assert_int_equal(slots[1], 0);   /* hpu.oil_temp */
    assert_int_equal(st->alarms[1].priority, MAP_PRIO_MEDIUM);
    assert_string_equal(st->alarms[1].area, "station");
    assert_string_equal(st->alarms[1].message.en, "quick");

    assert_true(st->modes.enabled);
    assert_int_equal(st->modes.tag_pos, 5);
    assert_int_equal(st->modes.n_modes, 3);
    assert_string_equal(st->modes.modes[1].name, "maintenance");
    assert_int_equal(st->modes.modes[1].n_codes, 2);
    assert_int_equal(st->modes.modes[1].codes[1], 3);
    assert_true(st->modes.modes[1].suppress[MAP_PRIO_LOW]);
    assert_true(st->modes.modes[1].suppress[MAP_PRIO_MEDIUM]);
    assert_false(st->modes.modes[1].suppress[MAP_PRIO_HIGH]);
    assert_true(st->modes.modes[2].suppress[MAP_PRIO_CRITICAL]);
    assert_false(st->modes.modes[0].suppress[MAP_PRIO_LOW]);
    assert_int_equal(st->chatter.count, 4);
    assert_int_equal(st->chatter.window_ns, 30000000000ull);

    /* 2 comm-alarm-capable PLCs (one off), 8 tag alarms (one off), 2
     * station alarms. */
    assert_int_equal(map_alarm_count(st), 1 + 8 + 2);
    assert_string_equal(map_priority_name(MAP_PRIO_LOW), "low");
    map_free(st);

    /* Without the sections: chattering 3 in 60 s, no modes. */
    st = load_ok(CONFIG_DIR "/good_inline/station.yaml");
    assert_int_equal(st->chatter.count, 3);
    assert_int_equal(st->chatter.window_ns, 60000000000ull);
    assert_false(st->modes.enabled);
    assert_int_equal(st->n_alarms, 0);
    map_free(st);
}

/* auth: the defaults (users file in data_dir, anonymous viewer but not
 * written, 30 min / 12 h / 30 d, failures counted 15 min) and every key
 * as written, days included;
 * a short session_max pulls the default idle time down with it. */
static void test_auth_section(void **state)
{
    (void)state;
    map_station *st = load_ok(CONFIG_DIR "/good_data_dir/station.yaml");
    assert_string_equal(st->auth.users, "/var/lib/lockbridge/users");
    assert_int_equal(st->auth.anonymous, MAP_ANON_VIEWER);
    assert_false(st->auth.anonymous_set);
    assert_int_equal(st->auth.session_idle_ns, 1800000000000ull);
    assert_int_equal(st->auth.session_max_ns, 43200000000000ull);
    assert_int_equal(st->auth.token_session_ns, 2592000000000000ull);
    assert_int_equal(st->auth.throttle_window_ns, 900000000000ull);
    assert_int_equal(st->auth.line, 0);
    map_free(st);

    st = load_ok(CONFIG_DIR "/good_single_plc/station.yaml");
    assert_string_equal(st->auth.users, "data/users");
    map_free(st);

    st = load_ok(CONFIG_DIR "/good_auth/station.yaml");
    assert_string_equal(st->auth.users, "/etc/lockbridge/users");
    assert_int_equal(st->auth.anonymous, MAP_ANON_NONE);
    assert_true(st->auth.anonymous_set);
    assert_int_equal(st->auth.session_idle_ns, 600000000000ull);
    assert_int_equal(st->auth.session_max_ns, 129600000000000ull);
    assert_int_equal(st->auth.token_session_ns, 604800000000000ull);
    assert_int_equal(st->auth.throttle_window_ns, 120000000000ull);
    assert_int_equal(st->auth.line, 5);
    assert_int_equal(st->auth.col, 7);
    map_free(st);

    char dir[] = "/tmp/lb-plcmap-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof path, "%s/station.yaml", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("station: {id: s}\nplcs: [{id: g, host: 127.0.0.1, tags: [{id: x, "
          "table: holding, address: 0, type: u16}]}]\n"
          "auth: {session_max: 10m, anonymous: viewer}\n", f);
    assert_int_equal(fclose(f), 0);
    st = load_ok(path);
    assert_int_equal(st->auth.session_max_ns, 600000000000ull);
    assert_int_equal(st->auth.session_idle_ns, 600000000000ull);
    assert_int_equal(st->auth.anonymous, MAP_ANON_VIEWER);
    assert_true(st->auth.anonymous_set);
    map_free(st);
    unlink(path);
    rmdir(dir);
}

/* web.tls naming files that exist: loaded as written (whether they hold
 * a certificate and a key that match is the start's to check); with
 * insecure, plain HTTP on every interface is allowed. */
static void test_web_tls(void **state)
{
    (void)state;
    char dir[] = "/tmp/lb-plcmap-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64], cert[64], key[64];
    snprintf(path, sizeof path, "%s/station.yaml", dir);
    snprintf(cert, sizeof cert, "%s/cert.pem", dir);
    snprintf(key, sizeof key, "%s/key.pem", dir);
    for (int i = 0; i < 2; i++) {
        FILE *f = fopen(i ? key : cert, "w");
        assert_non_null(f);
        assert_int_equal(fclose(f), 0);
    }
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "station: {id: s}\nplcs: [{id: g, host: 127.0.0.1, tags: "
            "[{id: x, table: holding, address: 0, type: u16}]}]\n"
            "web: {listen: 0.0.0.0:8443, tls: {cert: %s, key: %s}}\n",
            cert, key);
    assert_int_equal(fclose(f), 0);
    map_station *st = load_ok(path);
    assert_string_equal(st->web.listen, "0.0.0.0:8443");
    assert_string_equal(st->web.tls_cert, cert);
    assert_string_equal(st->web.tls_key, key);
    assert_false(st->web.insecure);
    map_free(st);

    f = fopen(path, "w");
    assert_non_null(f);
    fputs("station: {id: s}\nplcs: [{id: g, host: 127.0.0.1, tags: "
          "[{id: x, table: holding, address: 0, type: u16}]}]\n"
          "web: {listen: 0.0.0.0:8080, insecure: true}\n", f);
    assert_int_equal(fclose(f), 0);
    st = load_ok(path);
    assert_true(st->web.insecure);
    assert_null(st->web.tls_cert);
    map_free(st);
    unlink(path);
    unlink(cert);
    unlink(key);
    rmdir(dir);
}

static void test_errors_and_free(void **state)
{
    (void)state;
    map_free(NULL);
    map_errors_free(NULL);
    map_errors e = {0};
    map_errors_free(&e);
    for (int i = 0; i < 40; i++)
        map_errors_add(&e, "x:%d:%d: m%d", i, 1, i);
    assert_int_equal(e.n, 40);
    assert_string_equal(e.msgs[39], "x:39:1: m39");
    map_errors_free(&e);
    assert_int_equal(e.n, 0);
    assert_null(e.msgs);

    /* A missing file: no line or column; the caller's list is appended to. */
    map_errors_add(&e, "earlier");
    assert_null(map_load("tests/data/config/no_such_case/station.yaml", &e));
    assert_int_equal(e.n, 2);
    assert_string_equal(e.msgs[0], "earlier");
    assert_string_equal(e.msgs[1], "tests/data/config/no_such_case/"
                                   "station.yaml: cannot open: No such file "
                                   "or directory");
    map_errors_free(&e);
    /* Without an error list the loader still fails cleanly. */
    assert_null(map_load("tests/data/config/no_such_case/station.yaml", NULL));
}

/* Each notify channel's own alarm: notify.<id>.failing, high, area
 * station, after 3 failures, the messages in both languages; tuned by
 * fail_alarm, left out by fail_alarm: false, the defaults by true, and
 * counted. */
static void test_channel_fail_alarm(void **state)
{
    (void)state;
    static const char map[] =
        "station: {id: lock1}\n"
        "notify:\n"
        "  channels:\n"
        "    - {id: hook, type: webhook, url: \"http://127.0.0.1:9/a\"}\n"
        "    - {id: h2, type: webhook, url: \"http://127.0.0.1:9/b\",\n"
        "       fail_alarm: {after: 5, priority: low, area: power}}\n"
        "    - {id: h3, type: webhook, url: \"http://127.0.0.1:9/c\",\n"
        "       fail_alarm: false}\n"
        "    - {id: h4, type: webhook, url: \"http://127.0.0.1:9/d\",\n"
        "       fail_alarm: true}\n"
        "  routes: [{notify: [hook]}]\n"
        "plcs:\n"
        "  - {id: p, host: 127.0.0.1, tags: [{id: t, table: holding,\n"
        "     address: 0, type: u16}]}\n";
    map_errors e = {0};
    map_station *st = map_load_buffer("m.yaml", map, strlen(map), &e);
    assert_int_equal(e.n, 0);
    assert_non_null(st);
    const map_channel *c = &st->notify.channels[0];
    assert_true(c->fail_alarm.enabled);
    assert_int_equal(c->fail_after, 3);
    assert_int_equal(c->fail_alarm.kind, MAP_AL_CHANNEL);
    assert_string_equal(c->fail_alarm.full_id, "notify.hook.failing");
    assert_string_equal(c->fail_alarm.area, "station");
    assert_int_equal(c->fail_alarm.priority, MAP_PRIO_HIGH);
    assert_int_equal(c->fail_alarm.plc, (size_t)-1);
    assert_int_equal(c->fail_alarm.tag_pos, (size_t)-1);
    assert_string_equal(c->fail_alarm.message.en,
                        "Notifications through channel 'hook' are failing");
    assert_string_equal(c->fail_alarm.message.zh, "通知通道 hook 发送失败");
    c = &st->notify.channels[1];
    assert_int_equal(c->fail_after, 5);
    assert_int_equal(c->fail_alarm.priority, MAP_PRIO_LOW);
    assert_string_equal(c->fail_alarm.area, "power");
    assert_false(st->notify.channels[2].fail_alarm.enabled);
    c = &st->notify.channels[3];
    assert_true(c->fail_alarm.enabled);
    assert_int_equal(c->fail_after, 3);
    assert_string_equal(c->fail_alarm.full_id, "notify.h4.failing");
    /* p.comm and three channels' */
    assert_int_equal(map_alarm_count(st), 4);
    map_free(st);
    map_errors_free(&e);
}

/* map_load_buffer: a map from memory is the whole map (no includes), named
 * as the caller says, held to a file's limits. */
/* What a reload compares: the restart-only keys by what is written
 * (not how), and a PLC by what its poller uses. */
static void test_reload_compare(void **state)
{
    (void)state;
    static const char base[] =
        "station: {id: s}\n"
        "web: {listen: 127.0.0.1:8080}\n"
        "plcs:\n"
        "  - {id: p, host: 127.0.0.1, port: 1502, timeout: 500ms,\n"
        "     tags: [{id: a, table: holding, address: 0, type: u16,\n"
        "             name: {en: A}, deadband: 1}]}\n";
    static const char *const same_fixed[] = {
        /* formatting and comments are not a change */
        "station:   {id: s}   # the station\n"
        "web:\n  listen: 127.0.0.1:8080\n"
        "plcs:\n"
        "  - {id: p, host: 127.0.0.1, port: 1502, timeout: 500ms,\n"
        "     tags: [{id: a, table: holding, address: 0, type: u16,\n"
        "             name: {en: A}, deadband: 1}]}\n",
    };
    map_errors e = {0};
    map_station *a = map_load_buffer("m.yaml", base, strlen(base), &e);
    assert_non_null(a);
    map_station *b = map_load_buffer("m.yaml", same_fixed[0],
                                     strlen(same_fixed[0]), &e);
    assert_non_null(b);
    assert_null(map_fixed_changed(a, b));
    assert_true(map_plc_same_polling(&a->plcs[0], &b->plcs[0]));
    map_free(b);

    struct {
        const char *from, *to, *fixed;
        bool same_polling;
    } cases[] = {
        {"listen: 127.0.0.1:8080", "listen: 127.0.0.1:8081", "web", true},
        {"{id: s}", "{id: s, name: {en: S}}", "station", true},
        {"name: {en: A}", "name: {en: B}", NULL, true},
        {"deadband: 1", "deadband: 2", NULL, true},
        {"timeout: 500ms", "timeout: 400ms", NULL, false},
        {"address: 0", "address: 1", NULL, false},
        {"type: u16", "type: i16", NULL, false},
        {"port: 1502", "port: 1503", NULL, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char buf[1024];
        const char *at = strstr(base, cases[i].from);
        assert_non_null(at);
        snprintf(buf, sizeof buf, "%.*s%s%s", (int)(at - base), base,
                 cases[i].to, at + strlen(cases[i].from));
        b = map_load_buffer("m.yaml", buf, strlen(buf), &e);
        if (!b)
            fail_msg("case %zu: %s", i, e.n ? e.msgs[0] : "?");
        const char *f = map_fixed_changed(a, b);
        if (cases[i].fixed ? !f || strcmp(f, cases[i].fixed) : f != NULL)
            fail_msg("case %zu: fixed %s, expected %s", i, f ? f : "none",
                     cases[i].fixed ? cases[i].fixed : "none");
        assert_int_equal(map_plc_same_polling(&a->plcs[0], &b->plcs[0]),
                         cases[i].same_polling);
        map_free(b);
    }
    map_errors_free(&e);
    map_free(a);
}

static void test_load_buffer(void **state)
{
    (void)state;
    map_errors e = {0};
    char *data = slurp(CONFIG_DIR "/good_includes/station.yaml");
    assert_non_null(data);
    assert_null(map_load_buffer("mem/station.yaml", data, strlen(data), &e));
    assert_int_equal(e.n, 2);
    assert_string_equal(e.msgs[0], "mem/station.yaml:2:8: 'upper-gate.yaml' "
                        "cannot be included: this map was not read from a "
                        "file (write the PLC map inline)");
    assert_string_equal(e.msgs[1], "mem/station.yaml:2:25: 'lower-gate.yaml' "
                        "cannot be included: this map was not read from a "
                        "file (write the PLC map inline)");
    map_errors_free(&e);
    free(data);

    /* Not NUL-terminated: only len bytes are read. */
    static const char plc[] = "id: p\nhost: 127.0.0.1\ntags:\n"
                              "  - {id: t, table: holding, address: 0, "
                              "type: u16}\nGARBAGE";
    map_station *st = map_load_buffer(NULL, plc, sizeof plc - 1 - 7, &e);
    assert_non_null(st);
    assert_int_equal(e.n, 0);
    assert_string_equal(st->file, "(memory)");
    assert_string_equal(st->plcs[0].tags[0].full_id, "p.t");
    assert_ptr_equal(map_find_tag(st, "p.t"), &st->plcs[0].tags[0]);
    map_free(st);

    assert_null(map_load_buffer("m.yaml", "", 0, &e));
    assert_null(map_load_buffer("m.yaml", NULL, 0, &e));
    assert_int_equal(e.n, 2);
    assert_string_equal(e.msgs[0], "m.yaml:1:1: the file is empty (expected "
                        "a station or a PLC map)");
    assert_string_equal(e.msgs[1], e.msgs[0]);
    map_errors_free(&e);

    /* A NUL byte is libyaml's to refuse, with its position. */
    assert_null(map_load_buffer("m.yaml", "id: a\0b\n", 8, &e));
    assert_int_equal(e.n, 1);
    assert_non_null(strstr(e.msgs[0], "m.yaml:1:6: "));
    map_errors_free(&e);

    /* The file limit, without reading the bytes. */
    assert_null(map_load_buffer("big.yaml", plc, ((size_t)16 << 20) + 1, &e));
    assert_int_equal(e.n, 1);
    assert_string_equal(e.msgs[0], "big.yaml: file is too large (more than "
                        "16 MiB)");
    map_errors_free(&e);
}

/* ---- hostile input ------------------------------------------------------- */

/* A generous bound: the loader takes well under a second for these maps;
 * when a check pass was quadratic in the length of a run of duplicates,
 * the tag case took 70 s and the PLC case 150 s.  Under ASan on a loaded
 * 2-core machine the linear PLC case took 21.7 s (every alias a PLC with
 * its arrays, each allocation shadowed): there the bound is 60 s, still
 * far below what quadratic would take under it. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define HOSTILE_SECONDS 60.0
#else
#define HOSTILE_SECONDS 10.0
#endif

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Writes head, then `line` n times, to dir/name; the path in *path. */
static void write_repeated(const char *dir, const char *name,
                           const char *head, const char *line, size_t n,
                           char *path, size_t len)
{
    snprintf(path, len, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(head, f);
    for (size_t i = 0; i < n; i++)
        fputs(line, f);
    assert_int_equal(fclose(f), 0);
}

/* Loads path, which must fail with the error cap after `first`; returns
 * the seconds map_load took. */
static double load_capped(const char *path, const char *first)
{
    map_errors errs = {0};
    double t0 = now_s();
    map_station *st = map_load(path, &errs);
    double secs = now_s() - t0;
    assert_null(st);
    assert_int_equal(errs.n, 1001);
    assert_string_equal(errs.msgs[0], first);
    assert_string_equal(errs.msgs[999], first);
    assert_string_equal(errs.msgs[1000], "too many errors; stopped after 1000");
    map_errors_free(&errs);
    return secs;
}

/* 200,000 aliases of one tag (1.8 MB), of one PLC, of one alarm, of one
 * state code, of one station alarm: every repeat is found in time linear
 * (or n log n) in the run, and the report stops at the cap. */
static void test_many_duplicate_ids(void **state)
{
    (void)state;
    char dir[] = "/tmp/lb-plcmap-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128], first[512];

    write_repeated(dir, "tags.yaml",
                   "id: gate\nhost: 127.0.0.1\ntags:\n"
                   "  - &tag {id: a, table: holding, address: 0, type: u16}\n",
                   "  - *tag\n", 200000, path, sizeof path);
    /* An alias is the same node, so every copy points at the anchor. */
    snprintf(first, sizeof first, "%s:4:15: duplicate tag id 'a' (first "
             "defined at %s:4:15)", path, path);
    double secs = load_capped(path, first);
    if (secs > HOSTILE_SECONDS)
        fail_msg("200,000 duplicate tag ids took %.1f s", secs);

    write_repeated(dir, "plcs.yaml",
                   "station: {id: s}\nplcs:\n"
                   "  - &p {id: g, host: h, tags: [{id: a, table: coil, "
                   "address: 0, type: bool}]}\n",
                   "  - *p\n", 200000, path, sizeof path);
    snprintf(first, sizeof first, "%s:3:13: duplicate PLC id 'g' (first "
             "defined at %s:3:13)", path, path);
    secs = load_capped(path, first);
    if (secs > HOSTILE_SECONDS)
        fail_msg("200,000 duplicate PLC ids took %.1f s", secs);

    /* The same for alarms: 200,000 of one alarm on one tag, one code
     * listed 200,000 times in a states alarm, 200,000 station alarms of
     * one id. */
    write_repeated(dir, "alarms.yaml",
                   "id: gate\nhost: 127.0.0.1\ntags:\n"
                   "  - {id: a, table: holding, address: 0, type: f32, alarms:\n"
                   "    [&al {id: high, above: 1},\n",
                   "    *al,\n", 200000, path, sizeof path);
    FILE *f = fopen(path, "a");
    assert_non_null(f);
    fputs("    *al]}\n", f);
    assert_int_equal(fclose(f), 0);
    snprintf(first, sizeof first, "%s:5:6: duplicate alarm id 'high' on tag "
             "'a' (first defined at %s:5:6)", path, path);
    secs = load_capped(path, first);
    if (secs > HOSTILE_SECONDS)
        fail_msg("200,000 duplicate alarm ids took %.1f s", secs);

    write_repeated(dir, "codes.yaml",
                   "id: gate\nhost: 127.0.0.1\ntags:\n"
                   "  - {id: a, table: holding, address: 0, type: u16, "
                   "states: {1: x}, alarms: [{id: s, states: [&c 1,\n",
                   "    *c,\n", 200000, path, sizeof path);
    f = fopen(path, "a");
    assert_non_null(f);
    fputs("    *c]}]}\n", f);
    assert_int_equal(fclose(f), 0);
    snprintf(first, sizeof first, "%s:4:94: state code 1 is listed twice",
             path);
    secs = load_capped(path, first);
    if (secs > HOSTILE_SECONDS)
        fail_msg("a code listed 200,000 times took %.1f s", secs);

    write_repeated(dir, "station_alarms.yaml",
                   "station: {id: s}\nplcs:\n"
                   "  - {id: g, host: h, tags: [{id: a, table: coil, "
                   "address: 0, type: bool}]}\n"
                   "alarms:\n  - &sa {id: x, when: g.a}\n",
                   "  - *sa\n", 200000, path, sizeof path);
    snprintf(first, sizeof first, "%s:5:5: duplicate station alarm id 'x' "
             "(first defined at %s:5:5)", path, path);
    secs = load_capped(path, first);
    if (secs > HOSTILE_SECONDS)
        fail_msg("200,000 duplicate station alarm ids took %.1f s", secs);
    assert_int_equal(tmpdir_remove(dir), 0);
}

/* ---- selections and lookups ---------------------------------------------- */

/* Selects spec in st and compares the full ids with want (NULL-ended). */
static void expect_selection(const map_station *st, const char *spec,
                             const char *const *want)
{
    const map_tag **sel = NULL;
    size_t n = 99;
    char err[256] = "";
    if (map_select_tags(st, spec, &sel, &n, err, sizeof err) != 0)
        fail_msg("'%s': %s", spec ? spec : "(null)", err);
    assert_non_null(sel);
    size_t k = 0;
    while (want[k])
        k++;
    if (n != k)
        fail_msg("'%s': %zu tags, want %zu", spec ? spec : "(null)", n, k);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(sel[i]->full_id, want[i]);
        /* The selection points into the station, not at copies. */
        assert_ptr_equal(sel[i], map_find_tag(st, want[i]));
    }
    free(sel);
}

static void expect_selection_error(const map_station *st, const char *spec,
                                   const char *want)
{
    const map_tag *dummy = NULL, **sel = &dummy;  /* must become NULL */
    size_t n = 99;
    char err[256] = "";
    assert_int_equal(map_select_tags(st, spec, &sel, &n, err, sizeof err),
                     -1);
    assert_null(sel);
    assert_int_equal(n, 0);
    assert_string_equal(err, want);
}

static void test_select_tags(void **state)
{
    (void)state;
    map_station *st = load_ok(CONFIG_DIR "/good_inline/station.yaml");
    static const char *const all[] = {
        "upper_gate.left_leaf_position", "upper_gate.door_state",
        "lower_gate.left_leaf_position", "spare_gate.running", NULL};
    expect_selection(st, NULL, all);
    expect_selection(st, "upper_gate.*,lower_gate.*,spare_gate.*", all);

    /* In the order given; plc.* in map order. */
    static const char *const mixed[] = {
        "lower_gate.left_leaf_position", "upper_gate.left_leaf_position",
        "upper_gate.door_state", NULL};
    expect_selection(st, "lower_gate.left_leaf_position,upper_gate.*", mixed);

    /* Each tag once, where it is first named; commas and spaces alike. */
    static const char *const dedup[] = {
        "upper_gate.door_state", "upper_gate.left_leaf_position",
        "spare_gate.running", NULL};
    expect_selection(st, " upper_gate.door_state, upper_gate.*  "
                     "upper_gate.door_state,,spare_gate.running,"
                     "spare_gate.*", dedup);

    static const char *const none[] = {NULL};
    expect_selection(st, "", none);
    expect_selection(st, " , ,", none);

    const char *file = CONFIG_DIR "/good_inline/station.yaml";
    char want[512];
    snprintf(want, sizeof want, "no tag 'upper_gate.nope' in %s (use "
             "plc.tag or plc.*)", file);
    expect_selection_error(st, "upper_gate.nope", want);
    expect_selection_error(st, "upper_gate.*, upper_gate.nope", want);
    snprintf(want, sizeof want, "no PLC 'nosuch' in %s", file);
    expect_selection_error(st, "upper_gate.*,nosuch.*", want);
    snprintf(want, sizeof want, "no tag 'upper_gate' in %s (use plc.tag or "
             "plc.*)", file);
    expect_selection_error(st, "upper_gate", want);
    snprintf(want, sizeof want, "no tag '.*' in %s (use plc.tag or plc.*)",
             file);
    expect_selection_error(st, ".*", want);
    snprintf(want, sizeof want, "no tag 'upper_gate.left_leaf_position.x' "
             "in %s (use plc.tag or plc.*)", file);
    expect_selection_error(st, "upper_gate.left_leaf_position.x", want);
    map_free(st);
}

/* A station not made by map_load has no index: lookups and selections
 * still work, by scanning. */
static void test_select_handmade(void **state)
{
    (void)state;
    map_tag a[2] = {{.id = "a", .full_id = "p.a"}, {.id = "b",
                                                    .full_id = "p.b"}};
    map_tag b[1] = {{.id = "a", .full_id = "q.a"}};
    map_plc plcs[2] = {{.id = "p", .tags = a, .n_tags = 2},
                       {.id = "q", .tags = b, .n_tags = 1}};
    map_station st = {.id = "s", .plcs = plcs, .n_plcs = 2, .file = "x.yaml"};
    assert_null(st.index);
    assert_ptr_equal(map_find_tag(&st, "q.a"), &b[0]);
    assert_ptr_equal(map_find_tag(&st, "p.b"), &a[1]);
    assert_null(map_find_tag(&st, "q.b"));
    static const char *const want[] = {"q.a", "p.a", "p.b", NULL};
    expect_selection(&st, "q.a,p.*,q.*", want);
    expect_selection_error(&st, "r.*", "no PLC 'r' in x.yaml");
    expect_selection_error(NULL, "p.a", "no station");
}

/* map_find_tag on a big station: every full id finds its own tag, and
 * does so without scanning the PLC's tags (80,000 lookups over two PLCs
 * of 40,000 tags took 6.9 s when each scanned). */
static void test_find_tag_many(void **state)
{
    (void)state;
    char dir[] = "/tmp/lb-plcmap-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/station.yaml", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    enum { PLCS = 2, TAGS = 40000 };
    fprintf(f, "station: {id: big}\nplcs:\n");
    for (int p = 0; p < PLCS; p++) {
        fprintf(f, "  - id: plc%d\n    host: 127.0.0.1\n    port: %d\n"
                "    tags:\n", p, 1000 + p);
        for (int t = 0; t < TAGS; t++)
            fprintf(f, "      - {id: t%d, table: holding, address: %d, "
                    "type: u16}\n", t, t);
    }
    assert_int_equal(fclose(f), 0);
    map_station *st = load_ok(path);
    double t0 = now_s();
    char id[64];
    for (int p = 0; p < PLCS; p++)
        for (int t = 0; t < TAGS; t++) {
            snprintf(id, sizeof id, "plc%d.t%d", p, t);
            if (map_find_tag(st, id) != &st->plcs[p].tags[t])
                fail_msg("map_find_tag('%s') is not its tag", id);
        }
    double secs = now_s() - t0;
    assert_null(map_find_tag(st, "plc1.t40000"));
    assert_null(map_find_tag(st, "plc2.t0"));
    if (secs > 1.0)
        fail_msg("%d lookups took %.2f s", PLCS * TAGS, secs);

    const map_tag **sel;
    size_t n;
    char err[128];
    assert_int_equal(map_select_tags(st, "plc1.t5,plc1.*,plc0.t1", &sel, &n,
                                     err, sizeof err), 0);
    assert_int_equal(n, TAGS + 1);
    assert_ptr_equal(sel[0], &st->plcs[1].tags[5]);
    assert_ptr_equal(sel[1], &st->plcs[1].tags[0]);
    assert_ptr_equal(sel[5], &st->plcs[1].tags[4]);
    assert_ptr_equal(sel[6], &st->plcs[1].tags[6]);
    assert_ptr_equal(sel[TAGS], &st->plcs[0].tags[1]);
    free(sel);
    map_free(st);
    assert_int_equal(tmpdir_remove(dir), 0);
}

int main(void)
{
    const struct CMUnitTest model[] = {
        cmocka_unit_test(test_single_plc_defaults),
        cmocka_unit_test(test_inline_station),
        cmocka_unit_test(test_includes),
        cmocka_unit_test(test_address_base_1),
        cmocka_unit_test(test_all_types),
        cmocka_unit_test(test_anchors),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_data_dir),
        cmocka_unit_test(test_alarms),
        cmocka_unit_test(test_auth_section),
        cmocka_unit_test(test_web_tls),
        cmocka_unit_test(test_errors_and_free),
        cmocka_unit_test(test_load_buffer),
        cmocka_unit_test(test_reload_compare),
        cmocka_unit_test(test_channel_fail_alarm),
        cmocka_unit_test(test_many_duplicate_ids),
        cmocka_unit_test(test_select_tags),
        cmocka_unit_test(test_select_handmade),
        cmocka_unit_test(test_find_tag_many),
    };
    int failed = cmocka_run_group_tests_name("plcmap_model", model, NULL, NULL);

    size_t n;
    char **names = list_cases(&n);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        bad += strncmp(names[i], "good_", 5) != 0;
    /* The issue asks for at least 25 bad cases; fewer means files went
     * missing. */
    if (n == 0 || bad < 25) {
        fprintf(stderr, "test_plcmap: only %zu bad cases found in %s (run "
                "from the repository root)\n", bad, CONFIG_DIR);
        failed++;
    }
    struct CMUnitTest *golden = calloc(n ? n : 1, sizeof *golden);
    for (size_t i = 0; i < n; i++) {
        golden[i].name = names[i];
        golden[i].test_func = test_golden;
        golden[i].initial_state = names[i];
    }
    failed += _cmocka_run_group_tests("plcmap_golden", golden, n, NULL, NULL);
    free(golden);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return failed ? 1 : 0;
}
