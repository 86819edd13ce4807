/*
 * test_wsmsg.c - WebSocket client messages without a server
 * (web/wsmsg.h): subscriptions resolved into exact bitmaps, "*" as
 * everything, reports with their fields, and every refusal with the close
 * code and the exact reason the connection is closed with (the same ones
 * tests/integration/test_web.py sees over a real socket).
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
#include "web/wsmsg.h"

static const char station_yaml[] =
    "station: {id: s}\n"
    "plcs:\n"
    "  - id: a\n"
    "    host: 127.0.0.1\n"
    "    port: 1502\n"
    "    tags:\n"
    "      - {id: x, table: holding, address: 0, type: u16}\n"
    "      - {id: y, table: holding, address: 1, type: u16}\n"
    "  - id: b\n"
    "    host: 127.0.0.1\n"
    "    port: 1503\n"
    "    tags:\n"
    "      - {id: x, table: input, address: 0, type: f32}\n";

static map_station *st;
static tag_store *ts;
#define NOW 1795514400000000000     /* 2026-11-24T10:00:00Z */

static int setup(void **state)
{
    (void)state;
    st = map_load_buffer("mem.yaml", station_yaml, sizeof station_yaml - 1,
                         NULL);
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

static int parse(const char *s, web_ws_msg *m)
{
    return web_ws_parse(st, ts, s, strlen(s), NOW, m);
}

static void test_subscribe(void **state)
{
    (void)state;
    web_ws_msg m;
    assert_int_equal(parse("{\"type\":\"subscribe\",\"tags\":[\"b.x\",\"a.y\"]}",
                           &m), 0);
    assert_int_equal(m.kind, WEB_WS_SUBSCRIBE);
    assert_non_null(m.mask);
    assert_int_equal(m.mask[0], 0x06);
    assert_int_equal(m.mask[1], 0);
    web_ws_msg_free(&m);
    assert_null(m.mask);
    assert_int_equal(parse("{\"tags\":[\"a.*\"],\"type\":\"subscribe\"}", &m),
                     0);
    assert_int_equal(m.mask[0], 0x03);
    web_ws_msg_free(&m);
    /* "*" is everything: no mask; the other entries are still checked. */
    assert_int_equal(parse("{\"type\":\"subscribe\",\"tags\":[\"a.x\",\"*\"]}",
                           &m), 0);
    assert_null(m.mask);
    assert_int_equal(parse("{\"type\":\"subscribe\",\"tags\":[\"*\",\"q.q\"]}",
                           &m), 1);
    assert_string_equal(m.reason, "subscribe: no tag 'q.q' in the station "
                                  "(use plc.tag or plc.*)");
    /* Nothing named: a mask selecting nothing. */
    assert_int_equal(parse("{\"type\":\"subscribe\",\"tags\":[]}", &m), 0);
    assert_non_null(m.mask);
    assert_int_equal(m.mask[0], 0);
    web_ws_msg_free(&m);
    web_ws_msg_free(NULL);
}

static void test_report(void **state)
{
    (void)state;
    web_ws_msg m;
    assert_int_equal(parse("{\"type\":\"report\",\"display\":\"wall-1.a_B\","
                           "\"page\":\"overview\",\"drawn\":"
                           "\"2026-11-24T09:59:59.5Z\",\"data_time\":\"-2s\","
                           "\"stale\":3}", &m), 0);
    assert_int_equal(m.kind, WEB_WS_REPORT);
    assert_null(m.mask);
    assert_string_equal(m.display, "wall-1.a_B");
    assert_string_equal(m.page, "overview");
    assert_int_equal(m.drawn_ns, NOW - 500000000);
    assert_int_equal(m.data_ns, NOW - 2000000000);
    assert_int_equal(m.stale, 3);
    /* Optional fields: absent or of the wrong kind are 0 / "". */
    assert_int_equal(parse("{\"type\":\"report\",\"display\":\"w\",\"page\":7,"
                           "\"drawn\":\"soon\",\"data_time\":5,\"stale\":"
                           "\"3\"}", &m), 0);
    assert_string_equal(m.page, "");
    assert_int_equal(m.drawn_ns, 0);
    assert_int_equal(m.data_ns, 0);
    assert_int_equal(m.stale, 0);
    /* A long page is cut to 32 bytes. */
    assert_int_equal(parse("{\"type\":\"report\",\"display\":\"w\",\"page\":"
                           "\"0123456789abcdef0123456789abcdefXYZ\"}", &m), 0);
    assert_string_equal(m.page, "0123456789abcdef0123456789abcdef");
    /* Found by the fuzzer: the page is served back as JSON, so it must
     * be UTF-8.  Cut at a character boundary (31 + a 2-byte character
     * would be 33 bytes), and not kept at all when it is not UTF-8
     * (cJSON passes the bytes on). */
    assert_int_equal(parse("{\"type\":\"report\",\"display\":\"w\",\"page\":"
                           "\"0123456789abcdef0123456789abcde\u00e9\"}", &m),
                     0);
    assert_string_equal(m.page, "0123456789abcdef0123456789abcde");
    assert_int_equal(parse("{\"type\":\"report\",\"display\":\"w\",\"page\":"
                           "\"0123456789abcdef0123456789abcd\u00e9\"}", &m),
                     0);
    assert_string_equal(m.page, "0123456789abcdef0123456789abcd\xc3\xa9");
    assert_int_equal(parse("{\"type\":\"report\",\"display\":\"w\",\"page\":"
                           "\"\u6982\u89c8\"}", &m), 0);
    assert_string_equal(m.page, "\xe6\xa6\x82\xe8\xa7\x88");
    assert_int_equal(parse("{\"type\":\"report\",\"display\":\"kiosk.2\","
                           "\"page\":\"trend\xf3s\"}", &m), 0);
    assert_string_equal(m.page, "");
    /* (A lone surrogate escape is cJSON's to refuse: not JSON at all.) */
    assert_int_equal(parse("{\"type\":\"report\",\"display\":\"w\",\"page\":"
                           "\"\\ud800\"}", &m), 1);
    assert_string_equal(m.reason, "not a JSON object");
    /* 64 characters is the longest name. */
    char buf[200];
    snprintf(buf, sizeof buf, "{\"type\":\"report\",\"display\":\"%064d\"}", 0);
    assert_int_equal(parse(buf, &m), 0);
    assert_int_equal(strlen(m.display), 64);
}

static void test_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *msg, *reason;
    } cases[] = {
        {"not json", "not a JSON object"},
        {"", "not a JSON object"},
        {"[1,2]", "not a JSON object"},
        {"\"subscribe\"", "not a JSON object"},
        {"{\"type\":\"subscribe\"", "not a JSON object"},
        {"{\"tags\":[]}", "no \"type\""},
        {"{\"type\":1}", "no \"type\""},
        {"{\"type\":\"shout\"}", "unknown message type 'shout'"},
        {"{\"type\":\"0123456789012345678901234567890123456789-and-more\"}",
         "unknown message type '0123456789012345678901234567890123456789'"},
        {"{\"type\":\"subscribe\",\"tags\":\"a.*\"}", "subscribe: tags must be "
         "an array of tag ids or plc.*"},
        {"{\"type\":\"subscribe\"}", "subscribe: tags must be an array of tag "
         "ids or plc.*"},
        {"{\"type\":\"subscribe\",\"tags\":[\"a.x\",1]}", "subscribe: every "
         "entry must be a tag id or plc.*"},
        {"{\"type\":\"subscribe\",\"tags\":[\"\"]}", "subscribe: every entry "
         "must be a tag id or plc.*"},
        {"{\"type\":\"subscribe\",\"tags\":[\"a.x,a.y\"]}", "subscribe: every "
         "entry must be a tag id or plc.*"},
        {"{\"type\":\"subscribe\",\"tags\":[\"a.x b.x\"]}", "subscribe: every "
         "entry must be a tag id or plc.*"},
        {"{\"type\":\"subscribe\",\"tags\":[\"nope.x\"]}", "subscribe: no tag "
         "'nope.x' in the station (use plc.tag or plc.*)"},
        {"{\"type\":\"subscribe\",\"tags\":[\"nope.*\"]}", "subscribe: no PLC "
         "'nope' in the station"},
        {"{\"type\":\"report\"}", "report: display must be 1-64 of A-Z a-z 0-9 "
         "- _ ."},
        {"{\"type\":\"report\",\"display\":\"no spaces!\"}", "report: display "
         "must be 1-64 of A-Z a-z 0-9 - _ ."},
        {"{\"type\":\"report\",\"display\":\"\"}", "report: display must be "
         "1-64 of A-Z a-z 0-9 - _ ."},
        {"{\"type\":\"report\",\"display\":[\"w\"]}", "report: display must be "
         "1-64 of A-Z a-z 0-9 - _ ."},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        web_ws_msg m;
        int rc = parse(cases[i].msg, &m);
        if (rc != 1 || strcmp(m.reason, cases[i].reason) != 0)
            fail_msg("%s: rc %d, reason '%s', expected '%s'", cases[i].msg,
                     rc, m.reason, cases[i].reason);
        assert_int_equal(m.close_code, WEB_WS_CLOSE_POLICY);
        assert_null(m.mask);
    }
    /* 65 characters, and more than 4096 entries. */
    char buf[200];
    snprintf(buf, sizeof buf, "{\"type\":\"report\",\"display\":\"%065d\"}", 0);
    web_ws_msg m;
    assert_int_equal(parse(buf, &m), 1);
    size_t n = WEB_SUBSCRIBE_MAX + 1;
    char *big = malloc(40 + 6 * n);
    assert_non_null(big);
    strcpy(big, "{\"type\":\"subscribe\",\"tags\":[");
    for (size_t i = 0; i < n; i++)
        strcat(big, i ? ",\"a.x\"" : "\"a.x\"");
    strcat(big, "]}");
    assert_int_equal(parse(big, &m), 1);
    assert_string_equal(m.reason, "subscribe: more than 4096 entries");
    big[strlen(big) - 8] = ']';         /* 4096: fine */
    big[strlen(big) - 7] = '}';
    big[strlen(big) - 6] = '\0';
    assert_int_equal(parse(big, &m), 0);
    web_ws_msg_free(&m);
    free(big);
    /* Only len bytes are read. */
    static const char cut[] = "{\"type\":\"report\",\"display\":\"w\"}{{{{";
    assert_int_equal(web_ws_parse(st, ts, cut, sizeof cut - 5, NOW, &m), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_subscribe),
        cmocka_unit_test(test_report),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
