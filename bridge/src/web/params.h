/*
 * params.h - what a request's query arguments and tag selections say,
 * without libwebsockets: the part of the HTTP API that reads text the
 * client chose, kept pure so that the tests and the fuzzer
 * (tests/fuzz/http_args/) drive exactly the code the server runs.
 *
 * lws splits the query string at '&' and decodes each fragment (%XX, '+'
 * as a space, an encoded '=' in a name as '_'; it refuses %00 by closing
 * the connection); http.c hands each fragment to web_args_add, and the
 * handlers read the result with web_arg_get, refuse unknown names with
 * web_args_only, and resolve tags, times and point counts here.
 *
 * Pure: no lws, no clock (the caller passes "now"), no global state; the
 * station and tag store are only read.  Runs on the service thread.
 */
#ifndef LB_WEB_PARAMS_H
#define LB_WEB_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/plcmap.h"
#include "core/tagstore.h"

#define WEB_MAX_ARGS 16          /* query arguments per request */
#define WEB_MAX_ARG 4096         /* bytes of one "name=value" */
#define WEB_ARG_NAME_MAX 31      /* bytes of a name */

typedef struct {
    char name[WEB_ARG_NAME_MAX + 1];
    char *value;               /* decoded, NUL-terminated, in store */
} web_arg;

typedef struct {
    web_arg args[WEB_MAX_ARGS];
    size_t n;
    char store[WEB_MAX_ARGS * WEB_MAX_ARG];
} web_args;

/* Empties a (before the first web_args_add of a request). */
void web_args_init(web_args *a);

/* Adds the query string's fragment number `index` (0-based), len bytes at
 * frag as lws decoded them: "name=value", "name" (an empty value) or ""
 * (skipped).  0, or -1 with err:
 *   "query argument 3 is longer than 4096 bytes" (frag is not read and may
 *     be NULL when len > WEB_MAX_ARG: lws gives only the length of a
 *     fragment that does not fit)
 *   "more than 16 query arguments"
 *   "malformed query argument 'xyz...'" (no name, a name over 31 bytes,
 *     or a NUL byte, which lws never hands over)
 *   "query argument 'tags' given twice" */
int web_args_add(web_args *a, size_t index, const char *frag, size_t len,
                 char *err, size_t errlen);
/* The value of name, NULL when not given. */
const char *web_arg_get(const web_args *a, const char *name);
/* Refuses names not in allowed (NULL-terminated): 0, or -1 with
 * "unknown query argument 'x' (known: a, b)". */
int web_args_only(const web_args *a, const char *const *allowed, char *err,
                  size_t errlen);

/* A record listing's from, to and limit (the audit log, the alarm
 * journal, the notifications): from defaults to dflt_from ("-24h"), to
 * to now_ns; limit to dflt_limit, at most max_limit.  0, or -1 with
 * "from/to: ..." or "limit: a number of records in 1..N, got 'x'". */
int web_args_range(const web_args *a, int64_t now_ns, const char *dflt_from,
                   size_t dflt_limit, size_t max_limit, int64_t *from,
                   int64_t *to, size_t *limit, char *err, size_t errlen);

/* Resolves "a.b,plc.*" (commas and/or spaces between names, each a full
 * tag id or "plc.*") into bits over tag indices (tag_store_count(ts) bits;
 * the caller clears them) and, when order is not NULL, the indices in the
 * order named, each once, *n_order of them.  -1 with err at the first
 * name that is not one, always starting "tags: ":
 *   "tags: no tag 'x.y' in the station (use plc.tag or plc.*)"
 *   "tags: no PLC 'x' in the station"
 *   "tags: 'xxxx...' is not a tag id" (a name of 200 bytes or more) */
int web_select(const map_station *st, const tag_store *ts, const char *spec,
               uint8_t *bits, uint32_t *order, size_t *n_order, char *err,
               size_t errlen);

#define WEB_POINTS_DEFAULT 1000
#define WEB_POINTS_MIN 2
#define WEB_POINTS_MAX 100000

/* /api/history's points: s NULL gives WEB_POINTS_DEFAULT; otherwise a
 * decimal whole number in WEB_POINTS_MIN..WEB_POINTS_MAX.  0, or -1 with
 * "points: 'x' is not a whole number from 2 to 100000". */
int web_points_parse(const char *s, size_t *points, char *err,
                     size_t errlen);

/* The tags and times of /api/history and /api/export.csv. */
typedef struct {
    const char **tags;         /* full ids, pointing into the map */
    size_t n_tags;
    int64_t from, to;          /* ns since the epoch, from < to */
    size_t points;             /* set by the caller (history) */
} web_query;

/* Reads tags, from and to from a as `export` takes them (clk_parse_time
 * against now_ns; `to` defaults to now, `from` to from_default, which may
 * be NULL to require it); tags_needed refuses a missing or empty tags,
 * otherwise that means every tag.  NULL with err naming the argument
 * ("from: not a time: 'x' (...)", "to must be after from", a web_select
 * message, ...).  Free with web_query_free (a void * for the worker). */
web_query *web_query_parse(const map_station *st, const tag_store *ts,
                           const web_args *a, bool tags_needed,
                           const char *from_default, int64_t now_ns,
                           char *err, size_t errlen);
void web_query_free(void *q);

#endif
