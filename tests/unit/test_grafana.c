/*
 * test_grafana.c - the station's Grafana dashboard (cli/grafana.h) from
 * tests/data/grafana/: each kind of tag in its panel with the exact
 * PromQL, units and ranges from the map, a PLC id PromQL cannot write
 * bare, the grid, a disabled PLC left out, the data source uid, the
 * `station` variable.  integ.test_grafana runs the shipped station's
 * queries against VictoriaMetrics.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "cli/grafana.h"

static map_station *load(void)
{
    map_errors errs = {0};
    map_station *st = map_load("tests/data/grafana/station.yaml", &errs);
    if (!st)
        fail_msg("map_load: %s", errs.n ? errs.msgs[0] : "?");
    map_errors_free(&errs);
    return st;
}

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    assert_true(cJSON_IsNumber(v));
    return v->valuedouble;
}

static const cJSON *get(const cJSON *o, const char *path)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *save = NULL, *k = strtok_r(buf, ".", &save); k;
         k = strtok_r(NULL, ".", &save)) {
        o = cJSON_GetObjectItemCaseSensitive(o, k);
        if (!o)
            fail_msg("no %s in %s", k, path);
    }
    return o;
}

static void assert_grid(const cJSON *p, int x, int y, int w, int h)
{
    const cJSON *g = get(p, "gridPos");
    assert_int_equal((int)num(g, "x"), x);
    assert_int_equal((int)num(g, "y"), y);
    assert_int_equal((int)num(g, "w"), w);
    assert_int_equal((int)num(g, "h"), h);
}

/* Panel i of ps, of this type and title. */
static const cJSON *panel(const cJSON *ps, int i, const char *type,
                          const char *title)
{
    const cJSON *p = cJSON_GetArrayItem(ps, i);
    assert_non_null(p);
    assert_string_equal(str(p, "type"), type);
    assert_string_equal(str(p, "title"), title);
    return p;
}

/* Target i of panel p reads the series `name` of the selected stations
 * (every id here starts with a digit: the name goes into __name__). */
static void assert_series(const cJSON *p, int i, const char *name)
{
    char want[128];
    snprintf(want, sizeof want, "{__name__=\"%s\",station=~\"$station\"}",
             name);
    assert_string_equal(str(cJSON_GetArrayItem(get(p, "targets"), i),
                            "expr"), want);
}

static void test_dashboard(void **state)
{
    (void)state;
    map_station *st = load();
    cJSON *d = graf_dashboard(st, NULL);
    assert_non_null(d);
    assert_string_equal(str(d, "uid"), "lockbridge-west_lock");
    assert_string_equal(str(d, "title"), "West lock");
    assert_string_equal(str(d, "timezone"), "Europe/Berlin");
    assert_int_equal((int)num(d, "schemaVersion"), 39);
    const cJSON *ps = get(d, "panels");
    /* the row, three unit panels, the states, the booleans; nothing of
     * the disabled PLC nor of the string tag */
    assert_int_equal(cJSON_GetArraySize(ps), 6);
    char *text = cJSON_PrintUnformatted(d);
    assert_null(strstr(text, "spare"));
    assert_null(strstr(text, "_label"));
    cJSON_free(text);

    const cJSON *row = panel(ps, 0, "row", "Second gate (2nd_gate)");
    assert_grid(row, 0, 0, 24, 1);

    /* both tags in m on one panel, in map order, with the map's range */
    const cJSON *m = panel(ps, 1, "timeseries", "Level, Level B (m)");
    assert_series(m, 0, "2nd_gate_level");
    assert_series(m, 1, "2nd_gate_level_b");
    assert_int_equal(cJSON_GetArraySize(get(m, "targets")), 2);
    assert_string_equal(str(cJSON_GetArrayItem(get(m, "targets"), 1),
                            "legendFormat"), "Level B ({{station}})");
    assert_string_equal(str(cJSON_GetArrayItem(get(m, "targets"), 1),
                            "refId"), "B");
    assert_string_equal(str(get(m, "fieldConfig.defaults"), "unit"),
                        "lengthm");
    assert_true(num(get(m, "fieldConfig.defaults"), "min") == 0);
    assert_true(num(get(m, "fieldConfig.defaults"), "max") == 30);
    assert_string_equal(str(get(m, "fieldConfig.defaults.custom"),
                            "lineInterpolation"), "stepAfter");
    assert_grid(m, 0, 1, 12, 8);

    /* a unit Grafana has no id for: a suffix; no range, no min/max */
    const cJSON *sp = panel(ps, 2, "timeseries", "speed (mm/s)");
    assert_string_equal(str(get(sp, "fieldConfig.defaults"), "unit"),
                        "suffix: mm/s");
    assert_null(cJSON_GetObjectItem(get(sp, "fieldConfig.defaults"), "min"));
    assert_grid(sp, 12, 1, 12, 8);
    const cJSON *cnt = panel(ps, 3, "timeseries", "count");
    assert_series(cnt, 0, "2nd_gate_count");
    assert_null(cJSON_GetObjectItem(get(cnt, "fieldConfig.defaults"), "unit"));
    assert_grid(cnt, 0, 9, 12, 8);

    /* states: each query's values mapped to its labels */
    const cJSON *s = panel(ps, 4, "state-timeline", "States");
    assert_series(s, 0, "2nd_gate_mode");
    const cJSON *o = cJSON_GetArrayItem(get(s, "fieldConfig.overrides"), 0);
    assert_string_equal(str(get(o, "matcher"), "id"), "byFrameRefID");
    assert_string_equal(str(get(o, "matcher"), "options"), "A");
    const cJSON *prop = cJSON_GetArrayItem(get(o, "properties"), 0);
    assert_string_equal(str(prop, "id"), "mappings");
    const cJSON *opts = get(cJSON_GetArrayItem(get(prop, "value"), 0),
                            "options");
    assert_string_equal(str(get(opts, "0"), "text"), "Stopped");
    assert_string_equal(str(get(opts, "1"), "text"), "Running");
    assert_grid(s, 0, 17, 24, 4);

    const cJSON *b = panel(ps, 5, "state-timeline", "Discrete signals");
    assert_series(b, 0, "2nd_gate_running");
    assert_grid(b, 0, 21, 24, 4);

    /* the data source on every panel and target; the variable */
    for (int i = 1; i < 6; i++) {
        const cJSON *p = cJSON_GetArrayItem(ps, i);
        assert_string_equal(str(get(p, "datasource"), "uid"),
                            GRAF_DEFAULT_DS_UID);
        assert_string_equal(str(get(p, "datasource"), "type"), "prometheus");
        const cJSON *t;
        cJSON_ArrayForEach(t, get(p, "targets"))
            assert_string_equal(str(get(t, "datasource"), "uid"),
                                GRAF_DEFAULT_DS_UID);
    }
    const cJSON *v = cJSON_GetArrayItem(get(d, "templating.list"), 0);
    assert_string_equal(str(v, "name"), "station");
    assert_string_equal(str(get(v, "query"), "query"),
                        "label_values({__name__=\"2nd_gate_level\"}, station)");
    assert_string_equal(
        cJSON_GetArrayItem(get(v, "current.value"), 0)->valuestring,
        "west_lock");
    cJSON_Delete(d);

    graf_opts go = {.ds_uid = "vm-2"};
    d = graf_dashboard(st, &go);
    text = cJSON_PrintUnformatted(d);
    assert_null(strstr(text, GRAF_DEFAULT_DS_UID));
    assert_non_null(strstr(text, "\"uid\":\"vm-2\""));
    cJSON_free(text);
    cJSON_Delete(d);
    map_free(st);
}

static void test_uid(void **state)
{
    (void)state;
    assert_true(graf_uid_ok("lockbridge-tsdb"));
    assert_true(graf_uid_ok("A_9-z"));
    assert_true(graf_uid_ok("0123456789012345678901234567890123456789"));
    assert_false(graf_uid_ok("01234567890123456789012345678901234567890"));
    assert_false(graf_uid_ok(""));
    assert_false(graf_uid_ok("a b"));
    assert_false(graf_uid_ok("a/b"));
    assert_false(graf_uid_ok("ü"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dashboard),
        cmocka_unit_test(test_uid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
