/*
 * wsmsg.c - client WebSocket messages: JSON (cJSON), type, tags and the
 * wall screen's report, checked in the order ws.c always has (see
 * wsmsg.h).  The first problem found is the one named.
 */
#include "web/wsmsg.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/utf8.h"
#include "web/params.h"

static int refuse(web_ws_msg *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int refuse(web_ws_msg *m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->reason, sizeof m->reason, fmt, ap);
    va_end(ap);
    m->close_code = WEB_WS_CLOSE_POLICY;
    return 1;
}

static bool display_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
            return false;
    }
    return true;
}

/* A client's text for /api/displays, which is JSON and so UTF-8: kept
 * only when it is valid UTF-8 (cJSON passes any bytes on), and cut to
 * len - 1 bytes at a character boundary, never inside one. */
static void text_copy(char *dst, size_t len, const char *src)
{
    const unsigned char *u = (const unsigned char *)src;
    const unsigned char *end = u + strlen(src);
    size_t n = 0, cut = 0;
    bool fits = true;
    while (u[n]) {
        size_t k = utf8_seq(u + n, end, NULL);
        if (k == 0) {
            dst[0] = '\0';
            return;
        }
        if (fits && n + k <= len - 1)
            cut = n + k;
        else
            fits = false;
        n += k;
    }
    memcpy(dst, src, cut);
    dst[cut] = '\0';
}

static int64_t json_time(const cJSON *o, const char *key, int64_t now_ns)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    int64_t t;
    if (cJSON_IsString(v) && clk_parse_time(v->valuestring, now_ns, &t) == 0)
        return t;
    return 0;
}

static int parse_report(const cJSON *msg, int64_t now_ns, web_ws_msg *m)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(msg, "display");
    if (!cJSON_IsString(name) || !display_name_ok(name->valuestring))
        return refuse(m, "report: display must be 1-64 of A-Z a-z 0-9 - _ .");
    m->kind = WEB_WS_REPORT;
    snprintf(m->display, sizeof m->display, "%s", name->valuestring);
    const cJSON *page = cJSON_GetObjectItemCaseSensitive(msg, "page");
    text_copy(m->page, sizeof m->page,
              cJSON_IsString(page) ? page->valuestring : "");
    m->drawn_ns = json_time(msg, "drawn", now_ns);
    m->data_ns = json_time(msg, "data_time", now_ns);
    const cJSON *stale = cJSON_GetObjectItemCaseSensitive(msg, "stale");
    m->stale = cJSON_IsNumber(stale) ? stale->valueint : 0;
    return 0;
}

static int parse_subscribe(const map_station *st, const tag_store *ts,
                           const cJSON *msg, web_ws_msg *m)
{
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(msg, "tags");
    if (!cJSON_IsArray(tags))
        return refuse(m, "subscribe: tags must be an array of tag ids or "
                      "plc.*");
    if (cJSON_GetArraySize(tags) > WEB_SUBSCRIBE_MAX)
        return refuse(m, "subscribe: more than %d entries",
                      WEB_SUBSCRIBE_MAX);
    uint8_t *mask = calloc((tag_store_count(ts) + 7) / 8 + 1, 1);
    if (!mask)
        return -1;
    bool all = false;
    const cJSON *t;
    cJSON_ArrayForEach(t, tags) {
        char err[200];
        if (!cJSON_IsString(t) || !t->valuestring[0] ||
            strpbrk(t->valuestring, ", ")) {
            free(mask);
            return refuse(m, "subscribe: every entry must be a tag id or "
                          "plc.*");
        }
        if (strcmp(t->valuestring, "*") == 0) {
            all = true;
            continue;
        }
        if (web_select(st, ts, t->valuestring, mask, NULL, NULL, err,
                       sizeof err) < 0) {
            free(mask);
            /* web_select's messages start "tags: ". */
            return refuse(m, "subscribe: %s", err + 6);
        }
    }
    m->kind = WEB_WS_SUBSCRIBE;
    if (all)
        free(mask);
    else
        m->mask = mask;
    return 0;
}

int web_ws_parse(const map_station *st, const tag_store *ts,
                 const char *data, size_t len, int64_t now_ns,
                 web_ws_msg *m)
{
    memset(m, 0, sizeof *m);
    cJSON *msg = cJSON_ParseWithLength(data, len);
    int rc;
    const cJSON *type = msg ? cJSON_GetObjectItemCaseSensitive(msg, "type")
                            : NULL;
    if (!msg || !cJSON_IsObject(msg))
        rc = refuse(m, "not a JSON object");
    else if (!cJSON_IsString(type))
        rc = refuse(m, "no \"type\"");
    else if (strcmp(type->valuestring, "subscribe") == 0)
        rc = parse_subscribe(st, ts, msg, m);
    else if (strcmp(type->valuestring, "report") == 0)
        rc = parse_report(msg, now_ns, m);
    else
        rc = refuse(m, "unknown message type '%.40s'", type->valuestring);
    cJSON_Delete(msg);
    return rc;
}

void web_ws_msg_free(web_ws_msg *m)
{
    if (!m)
        return;
    free(m->mask);
    m->mask = NULL;
}
