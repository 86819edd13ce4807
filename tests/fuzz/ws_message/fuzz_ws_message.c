/*
 * fuzz_ws_message.c - a dashboard's WebSocket message (web/wsmsg.h),
 * arbitrary bytes as one text message, against the demo station.
 *
 * Checked: a message is either taken or refused with close code 1008 and
 * a reason that fits a close frame; a subscription's bitmap has exactly
 * the tags its entries name, each entry resolved again independently
 * (cJSON for the message, map_select_tags for the names), nothing
 * selected beyond the station's tags, no bitmap at all for "*"; a
 * report's display name is 1-64 of the allowed characters, its page at
 * most 32 bytes of valid UTF-8 (it is served back in /api/displays as
 * JSON, which must be UTF-8).
 */
#include "fuzz/fuzz.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <string.h>

#include "config/plcmap.h"
#include "core/tagstore.h"
#include "web/wsmsg.h"

#define NOW 1795514400000000000     /* 2026-11-24T10:00:00Z */

static map_station *st;
static tag_store *ts;
static size_t n_tags;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    map_errors e = {0};
    st = map_load(LB_SOURCE_DIR "/plc-maps/station.yaml", &e);
    FUZZ_CHECK(st, "cannot load the demo station");
    map_errors_free(&e);
    ts = tag_store_new(st, 0);
    FUZZ_CHECK(ts, "tag store");
    n_tags = tag_store_count(ts);
    return 0;
}

/* The bitmap a subscription must give, worked out again. */
static void check_mask(const uint8_t *data, size_t size, const uint8_t *mask)
{
    cJSON *msg = cJSON_ParseWithLength((const char *)data, size);
    FUZZ_CHECK(msg, "taken, but cJSON cannot parse it");
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(msg, "tags");
    FUZZ_CHECK(cJSON_IsArray(tags), "tags");
    uint8_t *want = calloc((n_tags + 7) / 8 + 1, 1);
    FUZZ_CHECK(want, "out of memory");
    bool all = false;
    const cJSON *t;
    cJSON_ArrayForEach(t, tags) {
        FUZZ_CHECK(cJSON_IsString(t), "entry");
        if (strcmp(t->valuestring, "*") == 0) {
            all = true;
            continue;
        }
        const map_tag **sel;
        size_t n;
        char err[300];
        FUZZ_CHECK(map_select_tags(st, t->valuestring, &sel, &n, err,
                                   sizeof err) == 0 && n >= 1,
                   "'%s' taken, config says %s", t->valuestring, err);
        for (size_t i = 0; i < n; i++) {
            long idx = tag_store_find(ts, sel[i]->full_id);
            FUZZ_CHECK(idx >= 0, "index");
            want[idx / 8] |= (uint8_t)(1u << (idx % 8));
        }
        free(sel);
    }
    if (all) {
        FUZZ_CHECK(mask == NULL, "a mask with \"*\"");
    } else {
        FUZZ_CHECK(mask, "no mask without \"*\"");
        FUZZ_CHECK(memcmp(mask, want, (n_tags + 7) / 8 + 1) == 0,
                   "mask differs");
    }
    free(want);
    cJSON_Delete(msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    web_ws_msg m;
    int rc = web_ws_parse(st, ts, (const char *)data, size, NOW, &m);
    FUZZ_CHECK(rc == 0 || rc == 1, "rc %d", rc);
    if (rc == 1) {
        FUZZ_CHECK(m.close_code == WEB_WS_CLOSE_POLICY, "code %d",
                   m.close_code);
        FUZZ_CHECK(m.reason[0] && strlen(m.reason) < WEB_WS_REASON_MAX,
                   "reason");
        FUZZ_CHECK(m.mask == NULL, "a mask with a refusal");
        return 0;
    }
    if (m.kind == WEB_WS_SUBSCRIBE) {
        check_mask(data, size, m.mask);
        if (m.mask)
            for (size_t i = n_tags; i < ((n_tags + 7) / 8 + 1) * 8; i++)
                FUZZ_CHECK(!(m.mask[i / 8] & (1u << (i % 8))),
                           "bit %zu past the tags", i);
    } else {
        FUZZ_CHECK(m.kind == WEB_WS_REPORT, "kind %d", m.kind);
        size_t n = strlen(m.display);
        FUZZ_CHECK(n >= 1 && n <= 64 &&
                   strspn(m.display, "abcdefghijklmnopqrstuvwxyz"
                          "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == n,
                   "display '%s'", m.display);
        FUZZ_CHECK(strlen(m.page) <= 32, "page");
        FUZZ_CHECK(fuzz_utf8_ok(m.page), "page is not UTF-8");
    }
    web_ws_msg_free(&m);
    return 0;
}
