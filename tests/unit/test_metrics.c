/*
 * test_metrics.c - the Prometheus writer (web/metrics.h): label values
 * escaped as the 0.0.4 text format says, the bearer token check, and the
 * writers' last-success times from a real history and InfluxDB writer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/clock.h"
#include "support/tmpdir.h"
#include "web/metrics.h"

static void test_escape(void **state)
{
    (void)state;
    strbuf b;
    sb_init(&b, 0);
    metrics_escape(&b, "a\\b\"c\nd\te°");
    assert_false(b.failed);
    assert_string_equal(sb_data(&b), "a\\\\b\\\"c\\nd\te°");
    sb_reset(&b);
    metrics_escape(&b, "");
    assert_int_equal(b.len, 0);
    sb_free(&b);
}

static void test_bearer(void **state)
{
    (void)state;
    assert_true(metrics_bearer_ok("s3cret", "Bearer s3cret"));
    assert_false(metrics_bearer_ok("s3cret", "Bearer s3cre"));
    assert_false(metrics_bearer_ok("s3cret", "Bearer s3cret2"));
    assert_false(metrics_bearer_ok("s3cret", "Basic s3cret"));
    assert_false(metrics_bearer_ok("s3cret", "bearer s3cret"));
    assert_false(metrics_bearer_ok("s3cret", NULL));
    assert_false(metrics_bearer_ok(NULL, "Bearer "));
    assert_false(metrics_bearer_ok("", "Bearer "));
}

/* The value of the sample `name{writer="w"}` in an exposition; fails the
 * test when it is not there. */
static double writer_value(const char *text, const char *name,
                           const char *w)
{
    char key[160];
    snprintf(key, sizeof key, "\n%s{writer=\"%s\"} ", name, w);
    const char *p = strstr(text, key);
    if (!p)
        fail_msg("no %s in:\n%s", key + 1, text);
    char *end;
    double v = strtod(p + strlen(key), &end);
    assert_true(*end == '\n');
    return v;
}

/* lockbridge_writer_last_success_timestamp_seconds: 0 for a writer that
 * has not written (an InfluxDB nobody answers at), the wall clock of the
 * history's last commit once it has. */
static void test_writer_last_success(void **state)
{
    (void)state;
    static const char *const name =
        "lockbridge_writer_last_success_timestamp_seconds";
    char dir[64], db[96], spool[96], err[256];
    assert_int_equal(tmpdir_make(dir, sizeof dir, "lb-metrics-test."), 0);
    snprintf(db, sizeof db, "%s/history.db", dir);
    snprintf(spool, sizeof spool, "%s/spool", dir);
    hist_opts ho = {.path = db};
    hist_db *h = hist_open(&ho, err, sizeof err);
    if (!h)
        fail_msg("hist_open: %s", err);
    /* port 1 on loopback: refused, so the writer spools and never
     * succeeds */
    influx_opts io = {.url = "http://127.0.0.1:1", .database = "lock",
                      .station = "lock1", .spool_dir = spool};
    influx_writer *w = influx_open(&io, err, sizeof err);
    if (!w)
        fail_msg("influx_open: %s", err);
    map_station st = {0};
    metrics_src src = {.st = &st, .hist = h, .influx = w};
    strbuf b;
    sb_init(&b, 0);
    metrics_write(&b, &src);
    assert_false(b.failed);
    assert_non_null(strstr(sb_data(&b), "# TYPE lockbridge_writer_last_"
                                        "success_timestamp_seconds gauge\n"));
    assert_true(writer_value(sb_data(&b), name, "history") == 0);
    assert_true(writer_value(sb_data(&b), name, "influx") == 0);

    double t0 = (double)clk_real_ns() / 1e9;
    hist_sample hs = {.tag = "levels.chamber_level",
                      .s = {.ts_ns = 1000000000, .q = Q_GOOD,
                            .v = {.kind = VAL_REAL, .d = 12.5}}};
    assert_int_equal(hist_submit(h, &hs, 1), 1);
    assert_int_equal(hist_flush(h), 0);
    double t1 = (double)clk_real_ns() / 1e9;
    influx_point ip = {.plc = "levels", .field = "chamber_level", .s = hs.s};
    assert_int_equal(influx_submit(w, &ip, 1), 1);
    sb_reset(&b);
    metrics_write(&b, &src);
    /* the commit's wall-clock time, not the sample's (1970) */
    double got = writer_value(sb_data(&b), name, "history");
    if (got < t0 - 0.001 || got > t1 + 0.001)
        fail_msg("history: %.6f not within [%.6f, %.6f]", got, t0, t1);
    assert_true(writer_value(sb_data(&b), name, "influx") == 0);
    sb_free(&b);
    influx_close(w);
    hist_close(h);
    tmpdir_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_bearer),
        cmocka_unit_test(test_writer_last_success),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
