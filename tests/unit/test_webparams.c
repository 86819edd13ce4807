/*
 * test_webparams.c - the HTTP API's argument handling without a server
 * (web/params.h): fragments as lws hands them over, known names,
 * duplicates and lengths with their exact messages; tag selections in
 * order and without repeats; points; tags, from and to of a history
 * query against a fixed "now".  The station is a small inline map loaded
 * from memory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config/plcmap.h"
#include "core/tagstore.h"
#include "web/params.h"

static const char station_yaml[] =
    "station: {id: s}\n"
    "plcs:\n"
    "  - id: a\n"
    "    host: 127.0.0.1\n"
    "    port: 1502\n"
    "    tags:\n"
    "      - {id: x, table: holding, address: 0, type: u16}\n"
    "      - {id: y, table: holding, address: 1, type: u16}\n"
    "      - {id: z, table: coil, address: 0, type: bool}\n"
    "  - id: b\n"
    "    host: 127.0.0.1\n"
    "    port: 1503\n"
    "    tags:\n"
    "      - {id: x, table: input, address: 0, type: f32}\n";

static map_station *st;
static tag_store *ts;
static web_args args;           /* 64 KiB: not on the stack */

static int setup(void **state)
{
    (void)state;
    map_errors e = {0};
    st = map_load_buffer("mem.yaml", station_yaml, sizeof station_yaml - 1,
                         &e);
    for (size_t i = 0; i < e.n; i++)
        fprintf(stderr, "%s\n", e.msgs[i]);
    map_errors_free(&e);
    ts = st ? tag_store_new(st, 0) : NULL;
    return ts ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    tag_store_free(ts);
    map_free(st);
    return 0;
}

static int add(size_t i, const char *frag, char *err)
{
    return web_args_add(&args, i, frag, strlen(frag), err, 256);
}

static void test_fragments(void **state)
{
    (void)state;
    char err[256];
    web_args_init(&args);
    assert_int_equal(add(0, "tags=a.x,b.*", err), 0);
    assert_int_equal(add(1, "", err), 0);                /* skipped */
    assert_int_equal(add(2, "flag", err), 0);            /* no value */
    assert_int_equal(add(3, "q=a=b", err), 0);           /* first '=' splits */
    assert_int_equal(args.n, 3);
    assert_string_equal(web_arg_get(&args, "tags"), "a.x,b.*");
    assert_string_equal(web_arg_get(&args, "flag"), "");
    assert_string_equal(web_arg_get(&args, "q"), "a=b");
    assert_null(web_arg_get(&args, "from"));

    assert_int_equal(add(4, "tags=again", err), -1);
    assert_string_equal(err, "query argument 'tags' given twice");
    assert_int_equal(add(4, "=v", err), -1);
    assert_string_equal(err, "malformed query argument '=v'");
    char name[64];
    memset(name, 'n', 31);
    strcpy(name + 31, "=1");
    assert_int_equal(add(4, name, err), 0);              /* 31 bytes */
    memset(name, 'm', 32);
    strcpy(name + 32, "=1");
    assert_int_equal(add(5, name, err), -1);
    assert_string_equal(err, "malformed query argument 'mmmmmmmmmmmmmmmmmmmmm"
                             "mmmmmmmmmmm=1'");
    char longname[80];
    memset(longname, 'k', 60);
    longname[60] = '\0';
    assert_int_equal(add(5, longname, err), -1);
    assert_string_equal(err, "malformed query argument 'kkkkkkkkkkkkkkkkkkkkk"
                             "kkkkkkkkkkkkkkkkkkk'");       /* 40 shown */
    assert_int_equal(web_args_add(&args, 5, "a\0b=1", 5, err, sizeof err), -1);
    assert_string_equal(err, "malformed query argument 'a'");

    /* Lengths: exactly WEB_MAX_ARG bytes fit; past it only the length is
     * known (frag NULL). */
    static char big[WEB_MAX_ARG + 1];
    memcpy(big, "v=", 2);
    memset(big + 2, 'z', WEB_MAX_ARG - 2);
    assert_int_equal(web_args_add(&args, 5, big, WEB_MAX_ARG, err,
                                  sizeof err), 0);
    assert_int_equal(strlen(web_arg_get(&args, "v")), WEB_MAX_ARG - 2);
    assert_int_equal(web_args_add(&args, 6, NULL, WEB_MAX_ARG + 1, err,
                                  sizeof err), -1);
    assert_string_equal(err, "query argument 7 is longer than 4096 bytes");

    /* At most 16. */
    web_args_init(&args);
    for (int i = 0; i < WEB_MAX_ARGS; i++) {
        char f[16];
        snprintf(f, sizeof f, "a%d=%d", i, i);
        assert_int_equal(add((size_t)i, f, err), 0);
    }
    assert_int_equal(add(16, "", err), 0);   /* empty ones do not count */
    assert_int_equal(add(17, "b=1", err), -1);
    assert_string_equal(err, "more than 16 query arguments");
}

static void test_known_names(void **state)
{
    (void)state;
    char err[300];
    static const char *const known[] = {"tags", "from", NULL};
    static const char *const none[] = {NULL};
    web_args_init(&args);
    assert_int_equal(add(0, "from=now", err), 0);
    assert_int_equal(web_args_only(&args, known, err, sizeof err), 0);
    assert_int_equal(add(1, "format=xml", err), 0);
    assert_int_equal(web_args_only(&args, known, err, sizeof err), -1);
    assert_string_equal(err, "unknown query argument 'format' (known: tags, "
                             "from)");
    assert_int_equal(web_args_only(&args, none, err, sizeof err), -1);
    assert_string_equal(err, "unknown query argument 'from' (known: none)");
}

static void test_select(void **state)
{
    (void)state;
    uint8_t bits[2] = {0};
    uint32_t order[8];
    size_t n = 99;
    char err[256];
    assert_int_equal(tag_store_count(ts), 4);
    assert_int_equal(web_select(st, ts, " b.x,,a.*  a.x ", bits, order, &n,
                                err, sizeof err), 0);
    assert_int_equal(n, 4);
    assert_int_equal(order[0], 3);
    assert_int_equal(order[1], 0);
    assert_int_equal(order[2], 1);
    assert_int_equal(order[3], 2);
    assert_int_equal(bits[0], 0x0f);
    memset(bits, 0, sizeof bits);
    assert_int_equal(web_select(st, ts, "", bits, order, &n, err, sizeof err),
                     0);
    assert_int_equal(n, 0);
    assert_int_equal(web_select(st, ts, "a.y", bits, NULL, NULL, err,
                                sizeof err), 0);
    assert_int_equal(bits[0], 0x02);

    assert_int_equal(web_select(st, ts, "a.x,a.nope", bits, order, &n, err,
                                sizeof err), -1);
    assert_string_equal(err, "tags: no tag 'a.nope' in the station (use "
                             "plc.tag or plc.*)");
    assert_int_equal(web_select(st, ts, "c.*", bits, order, &n, err,
                                sizeof err), -1);
    assert_string_equal(err, "tags: no PLC 'c' in the station");
    assert_int_equal(web_select(st, ts, ".*", bits, order, &n, err,
                                sizeof err), -1);
    assert_string_equal(err, "tags: no tag '.*' in the station (use plc.tag "
                             "or plc.*)");
    char longid[300];
    memset(longid, 'q', 250);
    longid[250] = '\0';
    assert_int_equal(web_select(st, ts, longid, bits, order, &n, err,
                                sizeof err), -1);
    assert_string_equal(err, "tags: 'qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq..."
                             "' is not a tag id");
}

static void test_points(void **state)
{
    (void)state;
    size_t p = 0;
    char err[128];
    assert_int_equal(web_points_parse(NULL, &p, err, sizeof err), 0);
    assert_int_equal(p, 1000);
    assert_int_equal(web_points_parse("2", &p, err, sizeof err), 0);
    assert_int_equal(p, 2);
    assert_int_equal(web_points_parse("100000", &p, err, sizeof err), 0);
    assert_int_equal(p, 100000);
    /* strtol's leniency, as the API has always had it: a leading blank
     * or sign ("points=+5" arrives as " 5"). */
    assert_int_equal(web_points_parse(" 5", &p, err, sizeof err), 0);
    assert_int_equal(web_points_parse("+5", &p, err, sizeof err), 0);
    assert_int_equal(p, 5);
    static const char *const bad[] = {"1", "100001", "ten", "", "5x", "1e3",
                                      "99999999999999999999999", "5 "};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        p = 7;
        assert_int_equal(web_points_parse(bad[i], &p, err, sizeof err), -1);
        assert_int_equal(p, 7);
        char want[128];
        snprintf(want, sizeof want, "points: '%s' is not a whole number from "
                 "2 to 100000", bad[i]);
        assert_string_equal(err, want);
    }
}

static web_query *query(const char *q, bool tags_needed, const char *dflt,
                        char *err)
{
    web_args_init(&args);
    char buf[512];
    snprintf(buf, sizeof buf, "%s", q);
    size_t i = 0;
    for (char *save, *f = strtok_r(buf, "&", &save); f;
         f = strtok_r(NULL, "&", &save))
        assert_int_equal(add(i++, f, err), 0);
    /* 2026-11-24T10:00:00Z */
    return web_query_parse(st, ts, &args, tags_needed, dflt,
                           1795514400000000000, err, 256);
}

static void test_query(void **state)
{
    (void)state;
    char err[256];
    web_query *q = query("tags=b.x,a.x", true, "-1h", err);
    assert_non_null(q);
    assert_int_equal(q->n_tags, 2);
    assert_string_equal(q->tags[0], "b.x");
    assert_string_equal(q->tags[1], "a.x");
    assert_int_equal(q->to, 1795514400000000000);
    assert_int_equal(q->from, 1795514400000000000 - 3600000000000);
    web_query_free(q);

    q = query("from=2026-11-24&to=2026-11-24T08:00:00.5%2B01:00", false, NULL,
              err);
    assert_null(q);       /* '%2B' is lws's to decode: here it is text */
    q = query("from=2026-11-24&to=2026-11-24T08:00:00.5+01:00", false, NULL,
              err);
    assert_non_null(q);
    assert_int_equal(q->n_tags, 4);         /* no tags: all of them */
    assert_int_equal(q->from, 1795478400000000000);
    assert_int_equal(q->to, 1795478400000000000 + 7 * 3600000000000 +
                                500000000);
    web_query_free(q);

    static const struct {
        const char *q, *msg;
        bool tags;
        const char *dflt;
    } bad[] = {
        {"from=-1h", "tags: give one or more tag ids or plc.* "
         "(tags=upper_gate.left_leaf_position,levels.*)", true, "-1h"},
        {"tags=", "tags: give one or more tag ids or plc.* "
         "(tags=upper_gate.left_leaf_position,levels.*)", true, "-1h"},
        {"tags=a.x", "from: required (RFC 3339 such as 2026-11-24T08:00:00Z, "
         "a date, now, or -2h/-7d)", false, NULL},
        {"tags=a.x&from=yesterday", "from: not a time: 'yesterday' (RFC 3339 "
         "with a zone, a date, now, or -2h/-7d)", true, "-1h"},
        {"tags=a.x&to=2026-11-24T10:00:00", "to: not a time: "
         "'2026-11-24T10:00:00' (RFC 3339 with a zone, a date, now, or "
         "-2h/-7d)", true, "-1h"},
        {"tags=a.x&from=now", "to must be after from", true, "-1h"},
        {"tags=a.x&from=-1h&to=-2h", "to must be after from", true, "-1h"},
        {"tags=a.q&from=-1h", "tags: no tag 'a.q' in the station (use "
         "plc.tag or plc.*)", true, "-1h"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        q = query(bad[i].q, bad[i].tags, bad[i].dflt, err);
        assert_null(q);
        assert_string_equal(err, bad[i].msg);
    }
    web_query_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fragments),
        cmocka_unit_test(test_known_names),
        cmocka_unit_test(test_select),
        cmocka_unit_test(test_points),
        cmocka_unit_test(test_query),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
