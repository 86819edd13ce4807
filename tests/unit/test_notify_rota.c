/*
 * test_notify_rota.c - who is on call (notify/rota.h), from a `notify:`
 * section loaded like any map (config/conf_notify.c).
 *
 * The clock is a stub: every instant is written out in UTC and the answer
 * checked in the station's zone, Europe/Berlin, which changes to summer
 * time on 2026-03-29 (02:00 -> 03:00) and back on 2026-10-25 (03:00 ->
 * 02:00).  A rota that did arithmetic with a fixed offset would hand over
 * an hour early or late on one side of each change.  Also: a hand-over
 * to the second, a shift past midnight on its second day, the weekend,
 * an override that wins over the rota, the second level, a level that
 * does not exist, and the day sets `check` accepts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "config/parse.h"   /* cfg_parse_days */
#include "config/plcmap.h"
#include "notify/rota.h"

static const char map_text_[] =
    "station: {id: lock1, timezone: Europe/Berlin}\n"
    "notify:\n"
    "  people:\n"
    "    - {id: wang, email: wang@example.com}\n"
    "    - {id: li, email: li@example.com}\n"
    "    - {id: zhao, email: zhao@example.com}\n"
    "  channels:\n"
    "    - {id: mail, type: email, url: \"smtp://127.0.0.1:25\","
    " from: lb@x.example}\n"
    "  oncall:\n"
    "    - level: 2\n"
    "      rota: [{days: daily, from: \"00:00\", to: \"00:00\","
    " person: zhao}]\n"
    "    - level: 1\n"
    "      rota:\n"
    "        - {days: mon-fri, from: \"08:00\", to: \"20:00\", person: wang}\n"
    "        - {days: mon-fri, from: \"20:00\", to: \"08:00\", person: li}\n"
    "        - {days: [sat, sun], from: \"08:00\", to: \"08:00\", person: zhao}\n"
    "      overrides:\n"
    "        - {from: 2026-12-24T08:00, to: 2026-12-26T08:00, person: li}\n"
    "        - {from: 2026-11-11T11:11:30, to: \"2026-11-11 11:12:00\","
    " person: zhao}\n"
    "  routes: [{notify: [oncall]}]\n"
    "plcs:\n"
    "  - {id: p, host: 127.0.0.1, tags: [{id: t, table: holding,"
    " address: 0, type: u16}]}\n";

typedef struct {
    map_station *st;
    rota *r;
} fixture;

static int setup(void **state)
{
    map_errors errs = {0};
    map_station *st = map_load_buffer("rota.yaml", map_text_,
                                      strlen(map_text_), &errs);
    for (size_t i = 0; i < errs.n; i++)
        fprintf(stderr, "%s\n", errs.msgs[i]);
    map_errors_free(&errs);
    if (!st)
        return -1;
    char err[128];
    if (rota_set_zone(st->notify.timezone, err, sizeof err) < 0)
        return -1;
    fixture *f = calloc(1, sizeof *f);
    f->st = st;
    f->r = rota_new(&st->notify);
    *state = f;
    return f->r ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (!f)
        return 0;
    rota_free(f->r);
    map_free(f->st);
    free(f);
    return 0;
}

/* "2026-03-29 06:30:00" UTC as seconds since the epoch. */
static int64_t utc(const char *s)
{
    struct tm tm = {0};
    if (!strptime(s, "%Y-%m-%d %H:%M:%S", &tm))
        fail_msg("bad time %s", s);
    return (int64_t)timegm(&tm);
}

static const char *who(fixture *f, int level, const char *t)
{
    long p = rota_who(f->r, level, utc(t));
    return p < 0 ? "nobody" : f->st->notify.people[p].id;
}

static void test_zone_from_station(void **state)
{
    fixture *f = *state;
    assert_string_equal(f->st->notify.timezone, "Europe/Berlin");
    assert_int_equal(f->st->warnings.n, 0);
    /* sorted by level whatever the file's order */
    assert_int_equal(f->st->notify.oncall[0].level, 1);
    assert_int_equal(f->st->notify.oncall[1].level, 2);
}

/* Wednesday 2026-01-14, CET (UTC+1). */
static void test_handover_to_the_second(void **state)
{
    fixture *f = *state;
    assert_string_equal(who(f, 1, "2026-01-14 06:59:59"), "li");
    assert_string_equal(who(f, 1, "2026-01-14 07:00:00"), "wang");
    assert_string_equal(who(f, 1, "2026-01-14 18:59:59"), "wang");
    assert_string_equal(who(f, 1, "2026-01-14 19:00:00"), "li");
    /* past midnight: Wednesday's night shift on Thursday morning */
    assert_string_equal(who(f, 1, "2026-01-14 23:30:00"), "li");
    assert_string_equal(who(f, 1, "2026-01-15 05:00:00"), "li");
}

/* Friday night runs into Saturday until 08:00, then the weekend's
 * 24-hour shifts; Monday 08:00 is Sunday's shift's end. */
static void test_weekend(void **state)
{
    fixture *f = *state;
    assert_string_equal(who(f, 1, "2026-01-17 06:59:00"), "li");   /* Sat 07:59 */
    assert_string_equal(who(f, 1, "2026-01-17 07:00:00"), "zhao"); /* Sat 08:00 */
    assert_string_equal(who(f, 1, "2026-01-18 23:00:00"), "zhao"); /* Mon 00:00 */
    assert_string_equal(who(f, 1, "2026-01-19 06:59:00"), "zhao"); /* Mon 07:59 */
    assert_string_equal(who(f, 1, "2026-01-19 07:00:00"), "wang"); /* Mon 08:00 */
}

/* 2026-03-27 is a Friday; the change is Sunday 2026-03-29 at 01:00 UTC.
 * Monday 2026-03-30 08:00 CEST is 06:00 UTC, not 07:00. */
static void test_dst_spring(void **state)
{
    fixture *f = *state;
    assert_string_equal(who(f, 1, "2026-03-27 06:59:00"), "li");   /* 07:59 CET */
    assert_string_equal(who(f, 1, "2026-03-27 07:00:00"), "wang"); /* 08:00 CET */
    assert_string_equal(who(f, 1, "2026-03-30 05:59:00"), "zhao"); /* 07:59 CEST */
    assert_string_equal(who(f, 1, "2026-03-30 06:00:00"), "wang"); /* 08:00 CEST */
    assert_string_equal(who(f, 1, "2026-03-30 17:59:00"), "wang"); /* 19:59 CEST */
    assert_string_equal(who(f, 1, "2026-03-30 18:00:00"), "li");   /* 20:00 CEST */
}

/* Back on Sunday 2026-10-25 at 01:00 UTC; Monday 08:00 CET is 07:00 UTC
 * again, and Friday 2026-10-23 20:00 CEST was 18:00 UTC. */
static void test_dst_autumn(void **state)
{
    fixture *f = *state;
    assert_string_equal(who(f, 1, "2026-10-23 17:59:00"), "wang"); /* 19:59 CEST */
    assert_string_equal(who(f, 1, "2026-10-23 18:00:00"), "li");   /* 20:00 CEST */
    assert_string_equal(who(f, 1, "2026-10-25 00:30:00"), "zhao"); /* 02:30 CEST */
    assert_string_equal(who(f, 1, "2026-10-25 01:30:00"), "zhao"); /* 02:30 CET */
    assert_string_equal(who(f, 1, "2026-10-26 06:59:00"), "zhao"); /* 07:59 CET */
    assert_string_equal(who(f, 1, "2026-10-26 07:00:00"), "wang"); /* 08:00 CET */
}

/* 2026-12-24T08:00 .. 2026-12-26T08:00 local (CET) is li's whatever the
 * rota says; before and after, the rota. */
static void test_override_first(void **state)
{
    fixture *f = *state;
    assert_string_equal(who(f, 1, "2026-12-24 06:59:59"), "li");   /* rota: night */
    assert_string_equal(who(f, 1, "2026-12-24 07:00:00"), "li");   /* override */
    assert_string_equal(who(f, 1, "2026-12-24 12:00:00"), "li");   /* Thu day: not wang */
    assert_string_equal(who(f, 1, "2026-12-26 06:59:59"), "li");   /* Sat 07:59 */
    assert_string_equal(who(f, 1, "2026-12-26 07:00:00"), "zhao"); /* Sat 08:00 */
    /* to the second: 11:11:30 .. 11:12:00 CET on a Wednesday */
    assert_string_equal(who(f, 1, "2026-11-11 10:11:29"), "wang");
    assert_string_equal(who(f, 1, "2026-11-11 10:11:30"), "zhao");
    assert_string_equal(who(f, 1, "2026-11-11 10:11:59"), "zhao");
    assert_string_equal(who(f, 1, "2026-11-11 10:12:00"), "wang");
}

static void test_levels(void **state)
{
    fixture *f = *state;
    assert_string_equal(who(f, 2, "2026-01-14 12:00:00"), "zhao");
    assert_string_equal(who(f, 3, "2026-01-14 12:00:00"), "nobody");
}

static void test_days(void **state)
{
    (void)state;
    uint8_t d;
    assert_int_equal(cfg_parse_days("mon-fri", &d), 0);
    assert_int_equal(d, 0x3e);
    assert_int_equal(cfg_parse_days("sat,sun", &d), 0);
    assert_int_equal(d, 0x41);
    assert_int_equal(cfg_parse_days("fri-mon", &d), 0);
    assert_int_equal(d, 0x63);
    assert_int_equal(cfg_parse_days("daily", &d), 0);
    assert_int_equal(d, 0x7f);
    assert_int_equal(cfg_parse_days("mon,", &d), -1);
    assert_int_equal(cfg_parse_days("monday", &d), -1);
    assert_int_equal(cfg_parse_days("", &d), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zone_from_station),
        cmocka_unit_test(test_handover_to_the_second),
        cmocka_unit_test(test_weekend),
        cmocka_unit_test(test_dst_spring),
        cmocka_unit_test(test_dst_autumn),
        cmocka_unit_test(test_override_first),
        cmocka_unit_test(test_levels),
        cmocka_unit_test(test_days),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
