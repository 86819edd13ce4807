/*
 * fuzz_http_args.c - the HTTP API's query arguments (web/params.h) as
 * lws would hand them over, against the demo station
 * (plc-maps/station.yaml, 441 tags).
 *
 * The input is a query string: it is split at '&' into fragments (lws's
 * own split; its %XX decoding is lws's business and is not repeated
 * here, so any byte may appear) and given to web_args_add one by one,
 * stopping at the first refusal as http.c does.  Then, as each endpoint
 * would:
 *   /api/tags      web_args_only {tags}, web_select, compared with the
 *                  config module's own reading of a selection
 *                  (map_select_tags, `export --tags`): both accept or both
 *                  refuse (but for a name of 200 bytes or more, which only
 *                  the web refuses) and select the same tags in the same
 *                  order;
 *   /api/history   web_args_only {tags, from, to, points},
 *                  web_points_parse, web_query_parse(tags needed, -1h);
 *   /api/export    web_args_only {tags, from, to}, web_query_parse.
 * Every argument's value is also read as a time (clk_parse_time, against
 * a fixed now and the extremes of int64) and a duration: a time that
 * parses formats back (clk_format_rfc3339) to text that parses to the
 * same instant, truncated to the millisecond.
 */
#include "fuzz/fuzz.h"

#include <stdbool.h>
#include <string.h>

#include "config/plcmap.h"
#include "core/clock.h"
#include "core/tagstore.h"
#include "web/params.h"

#define NOW 1795514400000000000     /* 2026-11-24T10:00:00Z */

static map_station *st;
static tag_store *ts;
static size_t n_tags;
static web_args args;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    map_errors e = {0};
    st = map_load(LB_SOURCE_DIR "/plc-maps/station.yaml", &e);
    for (size_t i = 0; i < e.n; i++)
        fprintf(stderr, "%s\n", e.msgs[i]);
    FUZZ_CHECK(st, "cannot load the demo station");
    map_errors_free(&e);
    ts = tag_store_new(st, 0);
    FUZZ_CHECK(ts, "tag store");
    n_tags = tag_store_count(ts);
    return 0;
}

static void check_time(const char *v)
{
    static const int64_t nows[] = {NOW, INT64_MIN, INT64_MAX, 0};
    for (size_t i = 0; i < sizeof nows / sizeof *nows; i++) {
        int64_t t;
        if (clk_parse_time(v, nows[i], &t) < 0)
            continue;
        char text[40];
        clk_format_rfc3339(t, text, sizeof text);
        /* The text is t truncated to the millisecond, which for the first
         * instants of int64 nanoseconds (1677-09-21) is before them: then
         * it must be refused, not wrap. */
        int64_t ms = t % 1000000, want, back;
        if (ms < 0)
            ms += 1000000;
        bool fits = !__builtin_sub_overflow(t, ms, &want);
        int rc = clk_parse_time(text, nows[i], &back);
        FUZZ_CHECK(rc == (fits ? 0 : -1), "'%s' -> %lld -> '%s': %d", v,
                   (long long)t, text, rc);
        FUZZ_CHECK(!fits || back == want, "'%s' -> %lld -> '%s' -> %lld", v,
                   (long long)t, text, (long long)back);
    }
    uint64_t d;
    (void)clk_parse_duration(v, &d);
}

static void check_select(const char *spec)
{
    uint8_t *bits = calloc((n_tags + 7) / 8 + 1, 1);
    uint32_t *order = calloc(n_tags + 1, sizeof *order);
    FUZZ_CHECK(bits && order, "out of memory");
    size_t n = 0;
    char err[300];
    int rc = web_select(st, ts, spec, bits, order, &n, err, sizeof err);
    const map_tag **sel;
    size_t m;
    char merr[300];
    int mrc = map_select_tags(st, spec, &sel, &m, merr, sizeof merr);
    /* The one difference in what the two accept: a name of 200 bytes or
     * more is refused by the web at once. */
    bool long_name = false;
    for (const char *s = spec; *s;) {
        size_t len = strcspn(s, ", ");
        long_name |= len >= 200;
        s += len;
        s += strspn(s, ", ");
    }
    if (rc == 0) {
        FUZZ_CHECK(mrc == 0, "web accepts '%s', config says %s", spec, merr);
        FUZZ_CHECK(n == m, "%zu tags against %zu for '%s'", n, m, spec);
        size_t set = 0;
        for (size_t i = 0; i < n; i++) {
            FUZZ_CHECK(order[i] < n_tags, "index");
            FUZZ_CHECK(tag_store_tag(ts, order[i]) == sel[i],
                       "tag %zu differs for '%s'", i, spec);
            FUZZ_CHECK(bits[order[i] / 8] & (1u << (order[i] % 8)), "bit");
        }
        for (size_t i = 0; i < n_tags; i++)
            set += (bits[i / 8] >> (i % 8)) & 1;
        FUZZ_CHECK(set == n, "%zu bits for %zu tags", set, n);
    } else {
        FUZZ_CHECK(strncmp(err, "tags: ", 6) == 0, "message '%s'", err);
        FUZZ_CHECK(mrc != 0 || long_name, "web refuses '%s' (%s), config "
                   "accepts it", spec, err);
    }
    if (mrc == 0)
        free(sel);
    free(bits);
    free(order);
}

static void check_query(const web_query *q)
{
    FUZZ_CHECK(q->from < q->to, "from %lld >= to %lld", (long long)q->from,
               (long long)q->to);
    FUZZ_CHECK(q->n_tags <= n_tags, "%zu tags", q->n_tags);
    for (size_t i = 0; i < q->n_tags; i++)
        FUZZ_CHECK(map_find_tag(st, q->tags[i]), "tag %s", q->tags[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[300];
    web_args_init(&args);
    size_t start = 0, index = 0;
    for (size_t i = 0; i <= size; i++) {
        if (i < size && data[i] != '&')
            continue;
        if (web_args_add(&args, index++, (const char *)data + start,
                         i - start, err, sizeof err) < 0) {
            FUZZ_CHECK(err[0] && strlen(err) < sizeof err, "no message");
            return 0;
        }
        start = i + 1;
    }
    FUZZ_CHECK(args.n <= WEB_MAX_ARGS, "%zu arguments", args.n);
    for (size_t i = 0; i < args.n; i++) {
        FUZZ_CHECK(args.args[i].name[0] &&
                   strlen(args.args[i].name) <= WEB_ARG_NAME_MAX, "name");
        FUZZ_CHECK(strlen(args.args[i].value) < WEB_MAX_ARG, "value");
        FUZZ_CHECK(web_arg_get(&args, args.args[i].name) ==
                   args.args[i].value, "duplicate name kept");
        check_time(args.args[i].value);
    }

    static const char *const tags_known[] = {"tags", NULL};
    if (web_args_only(&args, tags_known, err, sizeof err) == 0) {
        const char *spec = web_arg_get(&args, "tags");
        if (spec)
            check_select(spec);
    }

    static const char *const history_known[] = {"tags", "from", "to",
                                                "points", NULL};
    size_t points;
    if (web_args_only(&args, history_known, err, sizeof err) == 0 &&
        web_points_parse(web_arg_get(&args, "points"), &points, err,
                         sizeof err) == 0) {
        FUZZ_CHECK(points >= WEB_POINTS_MIN && points <= WEB_POINTS_MAX,
                   "points %zu", points);
        web_query *q = web_query_parse(st, ts, &args, true, "-1h", NOW, err,
                                       sizeof err);
        if (q)
            check_query(q);
        web_query_free(q);
    }

    static const char *const export_known[] = {"tags", "from", "to", NULL};
    if (web_args_only(&args, export_known, err, sizeof err) == 0) {
        web_query *q = web_query_parse(st, ts, &args, false, NULL, NOW, err,
                                       sizeof err);
        if (q)
            check_query(q);
        web_query_free(q);
    }
    return 0;
}
