/*
 * params.c - query arguments, tag selections and the history/export
 * arguments, as pure functions over strings (see params.h).  http.c,
 * api.c and query.c call them with what lws decoded; wsmsg.c uses
 * web_select for subscriptions.
 */
#include "web/params.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"

/* ---- query arguments --------------------------------------------------- */

void web_args_init(web_args *a)
{
    a->n = 0;
}

int web_args_add(web_args *a, size_t index, const char *frag, size_t len,
                 char *err, size_t errlen)
{
    if (len > WEB_MAX_ARG) {
        snprintf(err, errlen, "query argument %zu is longer than %d bytes",
                 index + 1, WEB_MAX_ARG);
        return -1;
    }
    if (len == 0)
        return 0;
    if (a->n == WEB_MAX_ARGS) {
        snprintf(err, errlen, "more than %d query arguments", WEB_MAX_ARGS);
        return -1;
    }
    const char *eq = memchr(frag, '=', len);
    size_t kl = eq ? (size_t)(eq - frag) : len;
    if (kl == 0 || kl > WEB_ARG_NAME_MAX || memchr(frag, '\0', len)) {
        /* Shown up to a NUL (which lws never hands over anyway). */
        int shown = (int)strnlen(frag, len < 40 ? len : 40);
        snprintf(err, errlen, "malformed query argument '%.*s'", shown,
                 frag);
        return -1;
    }
    web_arg *g = &a->args[a->n];
    memcpy(g->name, frag, kl);
    g->name[kl] = '\0';
    for (size_t j = 0; j < a->n; j++)
        if (strcmp(a->args[j].name, g->name) == 0) {
            snprintf(err, errlen, "query argument '%s' given twice", g->name);
            return -1;
        }
    g->value = a->store + a->n * WEB_MAX_ARG;
    size_t vl = eq ? len - kl - 1 : 0;
    if (vl)
        memcpy(g->value, eq + 1, vl);
    g->value[vl] = '\0';
    a->n++;
    return 0;
}

const char *web_arg_get(const web_args *a, const char *name)
{
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->args[i].name, name) == 0)
            return a->args[i].value;
    return NULL;
}

int web_args_only(const web_args *a, const char *const *allowed, char *err,
                  size_t errlen)
{
    for (size_t i = 0; i < a->n; i++) {
        bool ok = false;
        for (const char *const *p = allowed; *p && !ok; p++)
            ok = strcmp(a->args[i].name, *p) == 0;
        if (!ok) {
            char list[160] = "";
            for (const char *const *p = allowed; *p; p++) {
                strncat(list, list[0] ? ", " : "", sizeof list - strlen(list) - 1);
                strncat(list, *p, sizeof list - strlen(list) - 1);
            }
            snprintf(err, errlen, "unknown query argument '%s' (known: %s)",
                     a->args[i].name, list[0] ? list : "none");
            return -1;
        }
    }
    return 0;
}

int web_args_range(const web_args *a, int64_t now_ns, const char *dflt_from,
                   size_t dflt_limit, size_t max_limit, int64_t *from,
                   int64_t *to, size_t *limit, char *err, size_t errlen)
{
    const char *f = web_arg_get(a, "from"), *t = web_arg_get(a, "to");
    *to = now_ns;
    if (clk_parse_time(f ? f : dflt_from, now_ns, from) < 0 ||
        (t && clk_parse_time(t, now_ns, to) < 0) || *to <= *from) {
        snprintf(err, errlen, "from/to: RFC 3339 with a zone, a date, now, "
                 "or -2h/-7d, and to after from");
        return -1;
    }
    *limit = dflt_limit;
    const char *lim = web_arg_get(a, "limit");
    if (!lim)
        return 0;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(lim, &end, 10);
    if (!*lim || *end || errno || *lim == '-' || n < 1 || n > max_limit) {
        snprintf(err, errlen, "limit: a number of records in 1..%zu, got "
                 "'%.60s'", max_limit, lim);
        return -1;
    }
    *limit = (size_t)n;
    return 0;
}

/* ---- tag selections ---------------------------------------------------- */

int web_select(const map_station *st, const tag_store *ts, const char *spec,
               uint8_t *bits, uint32_t *order, size_t *n_order, char *err,
               size_t errlen)
{
    size_t n = 0;
    char item[200];
    const char *s = spec;
    while (*s) {
        while (*s == ',' || *s == ' ')
            s++;
        if (!*s)
            break;
        size_t len = strcspn(s, ", ");
        if (len >= sizeof item) {
            snprintf(err, errlen, "tags: '%.40s...' is not a tag id", s);
            return -1;
        }
        memcpy(item, s, len);
        item[len] = '\0';
        s += len;
        size_t il = strlen(item);
        if (il > 2 && strcmp(item + il - 2, ".*") == 0) {
            item[il - 2] = '\0';
            const map_plc *plc = map_find_plc(st, item);
            if (!plc) {
                snprintf(err, errlen, "tags: no PLC '%s' in the station",
                         item);
                return -1;
            }
            uint32_t b = tag_store_base(ts, (size_t)(plc - st->plcs));
            for (size_t t = 0; t < plc->n_tags; t++) {
                uint32_t idx = b + (uint32_t)t;
                if (!(bits[idx / 8] & (1u << (idx % 8))) && order)
                    order[n++] = idx;
                bits[idx / 8] |= (uint8_t)(1u << (idx % 8));
            }
            continue;
        }
        long idx = tag_store_find(ts, item);
        if (idx < 0) {
            snprintf(err, errlen, "tags: no tag '%s' in the station (use "
                     "plc.tag or plc.*)", item);
            return -1;
        }
        if (!(bits[idx / 8] & (1u << (idx % 8))) && order)
            order[n++] = (uint32_t)idx;
        bits[idx / 8] |= (uint8_t)(1u << (idx % 8));
    }
    if (n_order)
        *n_order = n;
    return 0;
}

/* ---- /api/history and /api/export.csv ---------------------------------- */

int web_points_parse(const char *s, size_t *points, char *err,
                     size_t errlen)
{
    if (!s) {
        *points = WEB_POINTS_DEFAULT;
        return 0;
    }
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < WEB_POINTS_MIN ||
        v > WEB_POINTS_MAX) {
        snprintf(err, errlen, "points: '%.40s' is not a whole number from %d "
                 "to %d", s, WEB_POINTS_MIN, WEB_POINTS_MAX);
        return -1;
    }
    *points = (size_t)v;
    return 0;
}

void web_query_free(void *arg)
{
    web_query *q = arg;
    if (!q)
        return;
    free(q->tags);
    free(q);
}

web_query *web_query_parse(const map_station *st, const tag_store *ts,
                           const web_args *a, bool tags_needed,
                           const char *from_default, int64_t now_ns,
                           char *err, size_t errlen)
{
    const char *spec = web_arg_get(a, "tags");
    const char *from = web_arg_get(a, "from");
    const char *to = web_arg_get(a, "to");
    if (tags_needed && (!spec || !*spec)) {
        snprintf(err, errlen, "tags: give one or more tag ids or plc.* "
                 "(tags=upper_gate.left_leaf_position,levels.*)");
        return NULL;
    }
    if (!from)
        from = from_default;
    if (!from) {
        snprintf(err, errlen, "from: required (RFC 3339 such as "
                 "2026-11-24T08:00:00Z, a date, now, or -2h/-7d)");
        return NULL;
    }
    size_t n_tags = tag_store_count(ts);
    web_query *q = calloc(1, sizeof *q);
    uint8_t *bits = calloc((n_tags + 7) / 8 + 1, 1);
    uint32_t *order = calloc(n_tags + 1, sizeof *order);
    if (!q || !bits || !order) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (clk_parse_time(from, now_ns, &q->from) < 0) {
        snprintf(err, errlen, "from: not a time: '%.60s' (RFC 3339 with a "
                 "zone, a date, now, or -2h/-7d)", from);
        goto fail;
    }
    q->to = now_ns;
    if (to && clk_parse_time(to, now_ns, &q->to) < 0) {
        snprintf(err, errlen, "to: not a time: '%.60s' (RFC 3339 with a "
                 "zone, a date, now, or -2h/-7d)", to);
        goto fail;
    }
    if (q->to <= q->from) {
        snprintf(err, errlen, "to must be after from");
        goto fail;
    }
    size_t n = 0;
    if (spec && *spec) {
        if (web_select(st, ts, spec, bits, order, &n, err, errlen) < 0)
            goto fail;
    } else {
        for (size_t i = 0; i < n_tags; i++)
            order[n++] = (uint32_t)i;
    }
    q->tags = calloc(n ? n : 1, sizeof *q->tags);
    if (!q->tags) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < n; i++)
        q->tags[i] = tag_store_tag(ts, order[i])->full_id;
    q->n_tags = n;
    free(bits);
    free(order);
    return q;
fail:
    free(bits);
    free(order);
    web_query_free(q);
    return NULL;
}
