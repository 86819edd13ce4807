/*
 * alarms.c - the alarms over HTTP: the list of alarms (what is shown:
 * alarm/board.h), the journal and the KPIs (read on the worker), and the
 * operators' actions.
 *
 * An action (POST /api/alarms/ack, ...) goes through four steps, so that
 * it is audited before it takes effect and answered only once it is on
 * disk:
 *
 *   1. service thread: the session and its role (401/403, before the
 *      body), the body (415 for anything but JSON; 400 for a bad field;
 *      404 naming an unknown alarm), room in the journal (503 while its
 *      disk is full), and whether the engine would take it
 *      (alarm_check);
 *   2. web-worker: one audit record per alarm (auth_audit: who, what,
 *      the alarm and the comment, from where, "ok" or "refused"), on
 *      disk (synchronous=FULL) before anything happens; a failed audit
 *      write means nothing is done (500);
 *   3. service thread: the action on the engine (board_act); if the
 *      alarm changed meanwhile and the engine now refuses, a second
 *      audit record says "error" (as auth's own records do);
 *   4. the answer waits until the action's records are committed and
 *      shown (board_published reaches its ticket); it says which alarms
 *      were acted on, which were refused and why, and the alarms as they
 *      are now.  None taken: 409 with the engine's reason.  Not committed
 *      within WEB_ALARM_WAIT_NS (a failing disk): 504, saying the action
 *      was taken but is not journalled yet.
 *
 * Every function here runs on the service thread, except the *_job
 * functions (web-worker).
 */
#include "web/internal.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alarm/kpi.h"
#include "auth/acklink.h"
#include "core/clock.h"

#define WEB_ALARM_IDS_MAX 1000          /* ids of one request */
#define WEB_ALARM_WAIT_NS 10000000000LL /* an answer waits for the journal */
#define WEB_ALARM_SHELVE_MAX_NS (7LL * 86400 * 1000000000LL)
#define WEB_JOURNAL_LIMIT 1000
#define WEB_JOURNAL_LIMIT_MAX 100000

/* ---- an alarm as JSON ---------------------------------------------------- */

static const char *web_alarm_kind(map_alarm_kind k)
{
    static const char *const names[] = {
        "above", "below", "when", "states", "rate", "deviation", "quality",
        "expression", "comm", "channel",
    };
    return (unsigned)k < sizeof names / sizeof *names ? names[k] : "?";
}

void web_json_time(strbuf *b, const char *key, int64_t ns)
{
    sb_printf(b, ",\"%s\":", key);
    if (!ns) {
        sb_puts(b, "null");
        return;
    }
    char t[32];
    clk_format_rfc3339(ns, t, sizeof t);
    sb_printf(b, "\"%s\"", t);
}

static void web_json_opt_str(strbuf *b, const char *key, const char *s)
{
    sb_printf(b, ",\"%s\":", key);
    if (s && s[0])
        sb_json_str(b, s);
    else
        sb_puts(b, "null");
}

static void web_json_num(strbuf *b, double d)
{
    if (!isfinite(d)) {
        sb_puts(b, "null");
        return;
    }
    char v[64];
    val x = {.kind = VAL_REAL, .d = d};
    val_to_json(&x, v, sizeof v);
    sb_puts(b, v);
}

void web_alarm_json(web *w, strbuf *b, size_t idx)
{
    board *bd = w->src.alarms;
    const alarm_engine *e = board_engine(bd);
    const map_alarm *d = alarm_def(e, idx);
    const alarm_status *s = board_shown(bd, idx);
    const map_tag *tag = d->tag_pos != (size_t)-1
                             ? tag_store_tag(w->ts, (uint32_t)d->tag_pos)
                             : NULL;
    char msg[512];
    sb_puts(b, "{\"id\":");
    sb_json_str(b, alarm_id(e, idx));
    sb_printf(b, ",\"state\":\"%s\",\"priority\":\"%s\",\"area\":",
              alarm_state_name(s->state), map_priority_name(d->priority));
    sb_json_str(b, d->area ? d->area : "");
    alarm_message(e, idx, s, false, msg, sizeof msg);
    sb_puts(b, ",\"message\":{\"en\":");
    sb_json_str(b, msg);
    alarm_message(e, idx, s, true, msg, sizeof msg);
    sb_puts(b, ",\"zh\":");
    sb_json_str(b, msg);
    sb_putc(b, '}');
    web_json_time(b, "active_since", s->active_ns);
    web_json_time(b, "changed", s->changed_ns);
    sb_puts(b, ",\"value\":");
    if (s->has_value)
        web_json_num(b, s->value);
    else
        sb_puts(b, "null");
    web_json_opt_str(b, "unit", tag ? tag->unit : NULL);
    bool acked = s->acked_by[0] && s->state != ALARM_ACTIVE_UNACK &&
                 s->state != ALARM_CLEARED_UNACK;
    web_json_opt_str(b, "acked_by", acked ? s->acked_by : NULL);
    web_json_time(b, "acked_at", acked ? s->acked_ns : 0);
    sb_puts(b, ",\"shelved\":");
    if (s->flags & ALARM_SHELVED) {
        sb_puts(b, "{\"by\":");
        sb_json_str(b, s->shelved_by);
        sb_puts(b, ",\"reason\":");
        sb_json_str(b, s->shelve_reason);
        web_json_time(b, "since", s->shelved_ns);
        web_json_time(b, "until", s->shelved_until_ns);
        sb_printf(b, ",\"oneshot\":%s}",
                  s->flags & ALARM_ONESHOT ? "true" : "false");
    } else {
        sb_puts(b, "null");
    }
    sb_puts(b, ",\"out_of_service\":");
    if (s->flags & ALARM_OUT_OF_SERVICE) {
        sb_puts(b, "{\"by\":");
        sb_json_str(b, s->oos_by);
        web_json_time(b, "since", s->oos_ns);
        sb_putc(b, '}');
    } else {
        sb_puts(b, "null");
    }
    sb_printf(b, ",\"latched\":%s,\"suppressed\":%s,\"chattering\":%s",
              s->flags & ALARM_LATCHED ? "true" : "false",
              s->flags & ALARM_SUPP_DESIGN ? "\"design\""
              : s->flags & ALARM_SUPP_MODE ? "\"mode\""
                                           : "null",
              s->flags & ALARM_CHATTERING ? "true" : "false");
    web_json_opt_str(b, "plc", d->plc != (size_t)-1 ? w->st->plcs[d->plc].id
                                                    : NULL);
    web_json_opt_str(b, "tag", tag ? tag->full_id : NULL);
    sb_printf(b, ",\"kind\":\"%s\",\"activations\":%u,\"chatter_count\":%u",
              web_alarm_kind(d->kind), s->activations, s->chatter_count);
    web_json_opt_str(b, "description", d->description);
    sb_putc(b, '}');
}

void web_alarm_defs_json(web *w, strbuf *b)
{
    sb_putc(b, '[');
    board *bd = w->src.alarms;
    const alarm_engine *e = bd ? board_engine(bd) : NULL;
    size_t n = e ? alarm_count(e) : 0;
    for (size_t i = 0; i < n; i++) {
        const map_alarm *d = alarm_def(e, i);
        const map_tag *tag = d->tag_pos != (size_t)-1
                                 ? tag_store_tag(w->ts, (uint32_t)d->tag_pos)
                                 : NULL;
        sb_puts(b, i ? ",{\"id\":" : "{\"id\":");
        sb_json_str(b, alarm_id(e, i));
        sb_printf(b, ",\"priority\":\"%s\",\"area\":",
                  map_priority_name(d->priority));
        sb_json_str(b, d->area ? d->area : "");
        web_json_opt_str(b, "plc", d->plc != (size_t)-1
                                       ? w->st->plcs[d->plc].id
                                       : NULL);
        web_json_opt_str(b, "tag", tag ? tag->full_id : NULL);
        sb_printf(b, ",\"kind\":\"%s\",\"latch\":%s,\"message\":",
                  web_alarm_kind(d->kind), d->latch ? "true" : "false");
        web_text_json(b, &d->message);
        if (d->kind == MAP_AL_WHEN)
            sb_printf(b, ",\"when\":%s", d->when ? "true" : "false");
        sb_putc(b, '}');
    }
    sb_putc(b, ']');
}

/* Listed: every alarm not normal, and the shelved and out-of-service ones
 * (normal, but an operator needs to see what is hidden). */
static bool web_alarm_listed(const alarm_status *s)
{
    return s->state != ALARM_NORMAL ||
           (s->flags & (ALARM_SHELVED | ALARM_OUT_OF_SERVICE));
}

static int web_state_rank(alarm_state s)
{
    switch (s) {
    case ALARM_ACTIVE_UNACK: return 0;
    case ALARM_CLEARED_UNACK: return 1;
    case ALARM_ACTIVE_ACK: return 2;
    default: return 3;
    }
}

/* Most urgent first: priority, then unacknowledged before acknowledged,
 * then the newest change. */
static int web_alarm_cmp(const void *x, const void *y, void *ctx)
{
    board *bd = ctx;
    uint32_t i = *(const uint32_t *)x, k = *(const uint32_t *)y;
    const map_alarm *a = alarm_def(board_engine(bd), i),
                    *c = alarm_def(board_engine(bd), k);
    if (a->priority != c->priority)
        return a->priority < c->priority ? -1 : 1;
    const alarm_status *s = board_shown(bd, i), *t = board_shown(bd, k);
    int ra = web_state_rank(s->state), rc = web_state_rank(t->state);
    if (ra != rc)
        return ra < rc ? -1 : 1;
    if (s->changed_ns != t->changed_ns)
        return s->changed_ns > t->changed_ns ? -1 : 1;
    return i < k ? -1 : i > k;
}

void web_alarm_list_json(web *w, strbuf *b)
{
    board *bd = w->src.alarms;
    sb_putc(b, '[');
    if (!bd) {
        sb_putc(b, ']');
        return;
    }
    size_t n = board_count(bd), k = 0;
    for (size_t i = 0; i < n; i++)
        if (web_alarm_listed(board_shown(bd, i)))
            w->alarm_list[k++] = (uint32_t)i;
    qsort_r(w->alarm_list, k, sizeof *w->alarm_list, web_alarm_cmp, bd);
    for (size_t i = 0; i < k; i++) {
        if (i)
            sb_putc(b, ',');
        web_alarm_json(w, b, w->alarm_list[i]);
    }
    sb_putc(b, ']');
}

/* ---- GET /api/alarms ----------------------------------------------------- */

static int web_no_alarms(struct lws *wsi, web_pss *pss)
{
    return web_reply_error(wsi, pss, 404, "this bridge runs no alarms");
}

int web_api_alarms(web *w, struct lws *wsi, web_pss *pss, const web_args *a)
{
    static const char *const known[] = {NULL};
    char err[300];
    if (web_args_only(a, known, err, sizeof err) < 0)
        return web_reply_error(wsi, pss, 400, "%s", err);
    if (!w->src.alarms)
        return web_no_alarms(wsi, pss);
    board_counts bc;
    board_get_counts(w->src.alarms, &bc);
    strbuf b;
    sb_init(&b, 0);
    char now[32];
    clk_format_rfc3339(clk_real_ns(), now, sizeof now);
    sb_printf(&b, "{\"time\":\"%s\",\"counts\":{\"active\":%zu,\"unacked\":%zu,"
              "\"shelved\":%zu,\"out_of_service\":%zu,\"suppressed\":%zu},"
              "\"alarms\":", now, bc.active, bc.unacked, bc.shelved,
              bc.out_of_service, bc.suppressed);
    web_alarm_list_json(w, &b);
    sb_puts(&b, "}\n");
    return web_reply(wsi, pss, 200, "application/json", &b, NULL);
}

/* ---- GET /api/alarms/journal and /kpi (worker) --------------------------- */

typedef struct {
    int64_t from, to;
    size_t limit;
    char id[JOURNAL_ID_MAX];
    char *path;
} web_alarm_q;

static void web_alarm_q_free(void *arg)
{
    web_alarm_q *q = arg;
    if (q)
        free(q->path);
    free(q);
}

static void web_job_fail(web_job *job, unsigned status, const char *msg)
{
    sb_reset(&job->out);
    job->status = status;
    sb_puts(&job->out, "{\"error\":");
    sb_json_str(&job->out, msg);
    sb_puts(&job->out, "}\n");
}

static void web_flags_json(strbuf *b, uint32_t flags)
{
    sb_putc(b, '[');
    bool first = true;
    for (uint32_t bit = 1; bit < (1u << ALARM_FLAGS_N); bit <<= 1)
        if ((flags & bit) && alarm_flag_name(bit)) {
            sb_printf(b, "%s\"%s\"", first ? "" : ",", alarm_flag_name(bit));
            first = false;
        }
    sb_putc(b, ']');
}

typedef struct {
    strbuf *b;
    size_t n;
} web_rows;

/* Worker thread: one record of /api/alarms/journal. */
static int web_journal_row(void *arg, const journal_rec *r)
{
    web_rows *x = arg;
    strbuf *b = x->b;
    char ts[32];
    clk_format_rfc3339(r->ts_ns, ts, sizeof ts);
    sb_printf(b, "%s{\"seq\":%llu,\"ts\":\"%s\",\"id\":", x->n ? "," : "",
              (unsigned long long)r->seq, ts);
    sb_json_str(b, r->id);
    sb_printf(b, ",\"event\":\"%s\",\"from\":\"%s\",\"state\":\"%s\","
              "\"flags\":", alarm_event_name(r->event),
              alarm_state_name(r->from_state), alarm_state_name(r->to.state));
    web_flags_json(b, r->to.flags);
    sb_printf(b, ",\"priority\":\"%s\",\"area\":",
              map_priority_name(r->priority));
    sb_json_str(b, r->area);
    sb_puts(b, ",\"value\":");
    if (r->to.has_value)
        web_json_num(b, r->to.value);
    else
        sb_puts(b, "null");
    web_json_opt_str(b, "who", r->who);
    web_json_opt_str(b, "comment", r->comment);
    web_json_time(b, "active_since", r->to.active_ns);
    web_json_opt_str(b, "acked_by", r->to.acked_by);
    if (r->to.flags & ALARM_SHELVED) {
        web_json_time(b, "shelved_until", r->to.shelved_until_ns);
        web_json_opt_str(b, "shelve_reason", r->to.shelve_reason);
    }
    sb_putc(b, '}');
    x->n++;
    return 0;
}

static void web_journal_job(web_job *job, void *arg)
{
    web_alarm_q *q = arg;
    char err[512], t[32];
    bool more = false;
    strbuf *b = &job->out;
    clk_format_rfc3339(q->from, t, sizeof t);
    sb_printf(b, "{\"from\":\"%s\"", t);
    clk_format_rfc3339(q->to, t, sizeof t);
    sb_printf(b, ",\"to\":\"%s\",\"records\":[", t);
    web_rows x = {.b = b};
    journal_query jq = {.from_ns = q->from, .to_ns = q->to,
                        .id = q->id[0] ? q->id : NULL, .limit = q->limit};
    if (journal_read(q->path, &jq, web_journal_row, &x, &more, err,
                     sizeof err) < 0) {
        web_job_fail(job, 500, err);
        return;
    }
    sb_printf(b, "],\"truncated\":%s}\n", more ? "true" : "false");
}

static int web_kpi_seed(void *arg, const journal_rec *r)
{
    return kpi_seed(arg, r);
}

static int web_kpi_add(void *arg, const journal_rec *r)
{
    return kpi_add(arg, r);
}

static void web_kpi_list(strbuf *b, const char *key, const kpi_alarm *a,
                         size_t n, bool standing)
{
    sb_printf(b, ",\"%s\":[", key);
    for (size_t i = 0; i < n; i++) {
        sb_puts(b, i ? ",{\"id\":" : "{\"id\":");
        sb_json_str(b, a[i].id);
        sb_printf(b, ",\"priority\":\"%s\"", map_priority_name(a[i].priority));
        if (standing) {
            web_json_time(b, "active_since", a[i].since_ns);
            sb_printf(b, ",\"for_s\":%.3f}", (double)a[i].for_ns / 1e9);
        } else {
            sb_printf(b, ",\"count\":%u}", a[i].count);
        }
    }
    sb_putc(b, ']');
}

static void web_kpi_json(strbuf *b, const kpi_report *r)
{
    char t[32];
    clk_format_rfc3339(r->from_ns, t, sizeof t);
    sb_printf(b, "{\"from\":\"%s\"", t);
    clk_format_rfc3339(r->to_ns, t, sizeof t);
    sb_printf(b, ",\"to\":\"%s\",\"annunciated\":%llu,\"unannunciated\":%llu",
              t, (unsigned long long)r->annunciated,
              (unsigned long long)r->unannunciated);
    sb_puts(b, ",\"per_10min\":{\"average\":");
    web_json_num(b, r->per_10min);
    sb_printf(b, ",\"max\":%u,\"over_10\":%zu,\"buckets\":", r->per_10min_max,
              r->flood_buckets);
    if (r->buckets) {
        clk_format_rfc3339(r->bucket0_ns, t, sizeof t);
        sb_printf(b, "{\"start\":\"%s\",\"counts\":[", t);
        for (size_t i = 0; i < r->n_buckets; i++)
            sb_printf(b, i ? ",%u" : "%u", r->buckets[i]);
        sb_puts(b, "]}");
    } else {
        sb_puts(b, "null");
    }
    sb_printf(b, "},\"floods\":{\"count\":%zu,\"time_s\":%.3f,\"list\":[",
              r->n_floods, (double)r->flood_ns / 1e9);
    for (size_t i = 0; i < r->n_floods_listed; i++) {
        const kpi_flood *f = &r->floods[i];
        sb_puts(b, i ? ",{" : "{");
        clk_format_rfc3339(f->start_ns, t, sizeof t);
        sb_printf(b, "\"start\":\"%s\"", t);
        clk_format_rfc3339(f->end_ns, t, sizeof t);
        sb_printf(b, ",\"end\":\"%s\",\"alarms\":%u,\"peak\":%u,"
                  "\"ongoing\":%s}", t, f->alarms, f->peak,
                  f->ongoing ? "true" : "false");
    }
    sb_puts(b, "]}");
    web_kpi_list(b, "top_frequent", r->frequent, r->n_frequent, false);
    web_kpi_list(b, "top_chattering", r->chattering, r->n_chattering, false);
    web_kpi_list(b, "top_standing", r->standing, r->n_standing, true);
    sb_printf(b, ",\"stale\":%zu,\"ack\":{\"count\":%llu,\"p50_s\":", r->stale,
              (unsigned long long)r->acks);
    web_json_num(b, r->ack_p50_s);
    sb_puts(b, ",\"p90_s\":");
    web_json_num(b, r->ack_p90_s);
    sb_puts(b, "},\"priority\":{");
    for (int p = 0; p < MAP_PRIO_N; p++)
        sb_printf(b, "%s\"%s\":%llu", p ? "," : "",
                  map_priority_name((map_priority)p),
                  (unsigned long long)r->by_priority[p]);
    sb_printf(b, "},\"at_end\":{\"active\":%zu,\"unacked\":%zu,\"shelved\":%zu,"
              "\"out_of_service\":%zu},\"actions\":{\"shelve\":%llu,"
              "\"disable\":%llu}}\n", r->active, r->unacked, r->shelved,
              r->out_of_service, (unsigned long long)r->shelve_actions,
              (unsigned long long)r->disable_actions);
}

static void web_kpi_job(web_job *job, void *arg)
{
    web_alarm_q *q = arg;
    char err[512];
    kpi *k = kpi_new(q->from, q->to);
    if (!k) {
        web_job_fail(job, 500, "out of memory");
        return;
    }
    journal_query jq = {.from_ns = q->from, .to_ns = q->to};
    if (journal_last(q->path, q->from, web_kpi_seed, k, err, sizeof err) < 0 ||
        journal_read(q->path, &jq, web_kpi_add, k, NULL, err,
                     sizeof err) < 0) {
        web_job_fail(job, 500, err);
        kpi_free(k);
        return;
    }
    const kpi_report *r = kpi_finish(k);
    if (!r)
        web_job_fail(job, 500, "out of memory");
    else
        web_kpi_json(&job->out, r);
    kpi_free(k);
}

/* from/to (default -24h..now; to is clamped to now: the KPIs' "at the
 * end" is the present at most), and for the journal id and limit. */
static web_alarm_q *web_alarm_query(web *w, const web_args *a, bool journal,
                                    char *err, size_t errlen)
{
    int64_t now = clk_real_ns();
    web_alarm_q *q = calloc(1, sizeof *q);
    if (!q || !(q->path = strdup(w->src.journal_path))) {
        web_alarm_q_free(q);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (web_args_range(a, now, "-24h", WEB_JOURNAL_LIMIT, WEB_JOURNAL_LIMIT_MAX,
                       &q->from, &q->to, &q->limit, err, errlen) < 0)
        goto fail;
    if (!journal && q->to > now)
        q->to = now;
    if (q->to <= q->from) {
        snprintf(err, errlen, "from: the range starts in the future");
        goto fail;
    }
    if (!journal)
        return q;
    const char *id = web_arg_get(a, "id");
    if (id) {
        if (alarm_find(board_engine(w->src.alarms), id) < 0) {
            snprintf(err, errlen, "no alarm '%.200s' in %s (GET /api/alarms "
                     "lists those not normal)", id, w->st->file);
            web_alarm_q_free(q);
            errno = ENOENT;
            return NULL;
        }
        snprintf(q->id, sizeof q->id, "%s", id);
    }
    return q;
fail:
    web_alarm_q_free(q);
    errno = EINVAL;
    return NULL;
}

static int web_alarm_read(web *w, struct lws *wsi, web_pss *pss,
                          const web_args *a, bool journal)
{
    static const char *const kj[] = {"from", "to", "id", "limit", NULL};
    static const char *const kk[] = {"from", "to", NULL};
    char err[400];
    if (web_args_only(a, journal ? kj : kk, err, sizeof err) < 0)
        return web_reply_error(wsi, pss, 400, "%s", err);
    if (!w->src.alarms)
        return web_no_alarms(wsi, pss);
    web_alarm_q *q = web_alarm_query(w, a, journal, err, sizeof err);
    if (!q)
        return web_reply_error(wsi, pss, errno == ENOENT ? 404 : 400, "%s",
                               err);
    if (web_worker_submit(w->worker, wsi, pss,
                          journal ? web_journal_job : web_kpi_job, q,
                          web_alarm_q_free) < 0)
        return web_reply_error(wsi, pss, 503, "too many queries waiting; "
                               "try again");
    return 0;
}

int web_api_alarm_journal(web *w, struct lws *wsi, web_pss *pss,
                          const web_args *a)
{
    return web_alarm_read(w, wsi, pss, a, true);
}

int web_api_alarm_kpi(web *w, struct lws *wsi, web_pss *pss,
                      const web_args *a)
{
    return web_alarm_read(w, wsi, pss, a, false);
}

/* ---- actions --------------------------------------------------------------- */

static const struct {
    const char *path;
    alarm_op op;
    auth_role role;
} web_alarm_posts[] = {
    {"/api/alarms/ack", ALARM_OP_ACK, AUTH_OPERATOR},
    {"/api/alarms/shelve", ALARM_OP_SHELVE, AUTH_OPERATOR},
    {"/api/alarms/unshelve", ALARM_OP_UNSHELVE, AUTH_OPERATOR},
    {"/api/alarms/comment", ALARM_OP_COMMENT, AUTH_OPERATOR},
    {"/api/alarms/reset", ALARM_OP_RESET, AUTH_OPERATOR},
    {"/api/alarms/disable", ALARM_OP_DISABLE, AUTH_ENGINEER},
    {"/api/alarms/enable", ALARM_OP_ENABLE, AUTH_ENGINEER},
};
#define WEB_ALARM_POSTS (sizeof web_alarm_posts / sizeof *web_alarm_posts)

int web_alarm_post_find(const char *uri, auth_role *role)
{
    for (size_t i = 0; i < WEB_ALARM_POSTS; i++)
        if (strcmp(uri, web_alarm_posts[i].path) == 0) {
            if (role)
                *role = web_alarm_posts[i].role;
            return (int)web_alarm_posts[i].op;
        }
    return -1;
}

/* One action request, from the body to the answer. */
typedef struct {
    alarm_op op;
    size_t n;
    uint32_t *idx;
    alarm_err *check;          /* alarm_check's word per alarm */
    char who[ALARM_WHO_MAX];
    char address[64];
    char text[ALARM_TEXT_MAX];
    int64_t until;             /* shelve: 0 one-shot */
    char what[64];             /* "for 30m", "one-shot" (the audit's) */
    char audit_err[256];       /* the audit could not be written */
    char **ids;                /* the alarms' ids, for the worker */
    /* an acknowledge link's POST: its claim, and whether it was used */
    acklink_claim *link;
    bool link_used;
    char link_by[ALARM_WHO_MAX];
    int64_t link_at;
} web_alarm_req;

static void web_alarm_req_free(void *arg)
{
    web_alarm_req *r = arg;
    if (!r)
        return;
    for (size_t i = 0; r->ids && i < r->n; i++)
        free(r->ids[i]);
    free(r->ids);
    free(r->idx);
    free(r->check);
    free(r->link);
    free(r);
}

/* Worker thread: the audit records, one per alarm, before anything is
 * done. */
static void web_alarm_audit_job(web_job *job, void *arg)
{
    web_alarm_req *r = arg;
    web *w = job->w;
    char action[40], detail[512];
    snprintf(action, sizeof action, "alarm-%s", alarm_op_name(r->op));
    int64_t now = clk_real_ns();
    for (size_t i = 0; i < r->n; i++) {
        int k = snprintf(detail, sizeof detail, "%s", r->ids[i]);
        if (r->what[0])
            k += snprintf(detail + k, sizeof detail - (size_t)k, " %s",
                          r->what);
        if (r->text[0])
            k += snprintf(detail + k, sizeof detail - (size_t)k, ": %s",
                          r->text);
        if (r->check[i] != ALARM_OK)
            snprintf(detail + k, sizeof detail - (size_t)k, " (%s)",
                     alarm_strerror(r->check[i]));
        if (auth_audit(w->auth, r->who, action, detail, r->address,
                       r->check[i] == ALARM_OK ? "ok" : "refused", now,
                       r->audit_err, sizeof r->audit_err) < 0)
            return;
    }
}

/* Worker thread: "error" records for what the audit said ok but the
 * engine then refused (the alarm changed in between). */
static void web_alarm_audit_errors_job(web_job *job, void *arg)
{
    web_alarm_req *r = arg;
    char action[40], detail[512], err[256];
    snprintf(action, sizeof action, "alarm-%s", alarm_op_name(r->op));
    for (size_t i = 0; i < r->n; i++) {
        snprintf(detail, sizeof detail, "%s (%s)", r->ids[i],
                 alarm_strerror(r->check[i]));
        auth_audit(job->w->auth, r->who, action, detail, r->address, "error",
                   clk_real_ns(), err, sizeof err);
    }
}

/* An answer waiting for its records to be committed. */
struct web_alarm_wait {
    web_alarm_wait *next;
    struct lws *wsi;
    web_pss *pss;
    uint64_t ticket;
    int64_t since_ns;
    strbuf results;            /* the "results" array's items */
    uint32_t *idx;             /* the alarms acted on */
    size_t n;
};

static void web_alarm_wait_free(web_alarm_wait *x)
{
    sb_free(&x->results);
    free(x->idx);
    free(x);
}

static void web_alarm_wait_reply(web *w, web_alarm_wait *x, unsigned status,
                                 const char *error)
{
    strbuf b;
    sb_init(&b, 0);
    sb_puts(&b, "{");
    if (error) {
        sb_puts(&b, "\"error\":");
        sb_json_str(&b, error);
        sb_putc(&b, ',');
    }
    sb_printf(&b, "\"ok\":%s,\"results\":[", status == 200 ? "true" : "false");
    sb_add(&b, sb_data(&x->results), x->results.len);
    sb_puts(&b, "],\"alarms\":[");
    for (size_t i = 0; i < x->n; i++) {
        if (i)
            sb_putc(&b, ',');
        web_alarm_json(w, &b, x->idx[i]);
    }
    sb_puts(&b, "]}\n");
    x->pss->alarm_wait = NULL;
    if (web_reply(x->wsi, x->pss, status, "application/json", &b, NULL) < 0)
        lws_set_timeout(x->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
    sb_free(&b);
}

/* Answers the waits whose records are now shown (or that waited too
 * long). */
void web_alarm_waits_check(web *w)
{
    if (!w->src.alarms)
        return;
    uint64_t pub = board_published(w->src.alarms);
    int64_t now = clk_real_ns();
    web_alarm_wait **pp = &w->alarm_waits;
    while (*pp) {
        web_alarm_wait *x = *pp;
        bool done = pub >= x->ticket;
        bool late = now - x->since_ns > WEB_ALARM_WAIT_NS;
        if (!done && !late) {
            pp = &x->next;
            continue;
        }
        *pp = x->next;
        if (done)
            web_alarm_wait_reply(w, x, 200, NULL);
        else
            web_alarm_wait_reply(w, x, 504, "the action was taken but the "
                                 "alarm journal has not committed it yet "
                                 "(see the bridge's log: a full disk?); it is "
                                 "shown once it is");
        web_alarm_wait_free(x);
    }
}

void web_alarm_wait_drop(web *w, web_pss *pss)
{
    for (web_alarm_wait **pp = &w->alarm_waits; *pp; pp = &(*pp)->next)
        if ((*pp)->pss == pss) {
            web_alarm_wait *x = *pp;
            *pp = x->next;
            web_alarm_wait_free(x);
            pss->alarm_wait = NULL;
            return;
        }
}

static void web_result_item(strbuf *b, const char *id, alarm_err err)
{
    if (b->len)
        sb_putc(b, ',');
    sb_puts(b, "{\"id\":");
    sb_json_str(b, id);
    if (err == ALARM_OK) {
        sb_puts(b, ",\"ok\":true}");
    } else {
        sb_puts(b, ",\"ok\":false,\"error\":");
        sb_json_str(b, alarm_strerror(err));
        sb_putc(b, '}');
    }
}

/* Service thread, after the audit: acts, then waits for the journal.
 * wsi and pss are NULL when the client went away: the action, audited,
 * is taken all the same. */
static void web_alarm_apply(web_job *job, struct lws *wsi, web_pss *pss)
{
    web *w = job->w;
    web_alarm_req *r = job->arg;
    if (r->audit_err[0]) {
        if (wsi)
            web_reply_error(wsi, pss, 500, "the audit log cannot be written "
                            "(%s): nothing was done", r->audit_err);
        return;
    }
    web_alarm_wait *x = calloc(1, sizeof *x);
    if (x)
        x->idx = calloc(r->n ? r->n : 1, sizeof *x->idx);
    if (!x || !x->idx) {
        free(x);
        if (wsi)
            web_reply_error(wsi, pss, 500, "out of memory");
        return;
    }
    sb_init(&x->results, 0);
    alarm_action ac = {.who = r->who, .ts_ns = clk_real_ns(),
                       .text = r->text[0] ? r->text : NULL};
    web_alarm_req *errs = NULL;
    const char *first_err = NULL;
    char first_id[JOURNAL_ID_MAX] = "";
    for (size_t i = 0; i < r->n; i++) {
        alarm_err e = r->check[i];
        if (e == ALARM_OK) {
            uint64_t t = 0;
            e = board_act(w->src.alarms, r->op, r->idx[i], &ac, r->until, &t);
            if (e == ALARM_OK) {
                x->idx[x->n++] = r->idx[i];
                if (t > x->ticket)
                    x->ticket = t;
            } else {
                /* audited as ok, refused now: say so in the audit log */
                if (!errs && (errs = calloc(1, sizeof *errs))) {
                    errs->op = r->op;
                    memcpy(errs->who, r->who, sizeof errs->who);
                    memcpy(errs->address, r->address, sizeof errs->address);
                    errs->ids = calloc(r->n, sizeof *errs->ids);
                    errs->check = calloc(r->n, sizeof *errs->check);
                }
                if (errs && errs->ids && errs->check &&
                    (errs->ids[errs->n] = strdup(r->ids[i])))
                    errs->check[errs->n++] = e;
            }
        }
        if (e != ALARM_OK && !first_err) {
            first_err = alarm_strerror(e);
            snprintf(first_id, sizeof first_id, "%s", r->ids[i]);
        }
        web_result_item(&x->results, r->ids[i], e);
    }
    if (errs && web_worker_submit(w->worker, NULL, NULL,
                                  web_alarm_audit_errors_job, errs,
                                  web_alarm_req_free) < 0)
        errs = NULL;            /* freed by the submit */
    if (!wsi) {
        web_alarm_wait_free(x);
        return;
    }
    if (x->n == 0) {
        char msg[400];
        snprintf(msg, sizeof msg, "%s: %s", first_id, first_err);
        x->pss = pss;
        x->wsi = wsi;
        web_alarm_wait_reply(w, x, 409, msg);
        web_alarm_wait_free(x);
        return;
    }
    x->wsi = wsi;
    x->pss = pss;
    x->since_ns = clk_real_ns();
    x->next = w->alarm_waits;
    w->alarm_waits = x;
    pss->alarm_wait = x;
    web_alarm_waits_check(w);   /* at once if nothing was journalled */
}

/* A duration as "30m"/"2h" or a number of seconds. */
static int web_duration(const cJSON *v, int64_t *ns)
{
    if (cJSON_IsNumber(v)) {
        double s = v->valuedouble;
        if (!(s > 0) || s > 1e9)
            return -1;
        *ns = (int64_t)llround(s * 1e9);
        return 0;
    }
    uint64_t u;
    if (!cJSON_IsString(v) || clk_parse_duration(v->valuestring, &u) < 0 ||
        u == 0 || u > INT64_MAX)
        return -1;
    *ns = (int64_t)u;
    return 0;
}

static bool web_text_field(const cJSON *j, const char *key, char *out,
                           size_t len, bool *bad)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    if (!v || cJSON_IsNull(v))
        return false;
    if (!cJSON_IsString(v) || strlen(v->valuestring) >= len) {
        *bad = true;
        return false;
    }
    snprintf(out, len, "%s", v->valuestring);
    return true;
}

int web_alarm_post_done(web *w, struct lws *wsi, web_pss *pss, int op_i)
{
    alarm_op op = (alarm_op)op_i;
    if (!w->src.alarms)
        return web_no_alarms(wsi, pss);
    auth_session s;
    auth_role need = AUTH_OPERATOR;
    for (size_t i = 0; i < WEB_ALARM_POSTS; i++)
        if (web_alarm_posts[i].op == op)
            need = web_alarm_posts[i].role;
    /* asked again: the session may have ended while the body came */
    if (!web_session_of(w, wsi, &s))
        return web_reply_error(wsi, pss, 401, "log in first (POST "
                               "/api/login)");
    if (s.role < need)
        return web_reply_error(wsi, pss, 403, "this needs the %s role; %s is "
                               "%s", auth_role_name(need), s.user,
                               auth_role_name(s.role));
    cJSON *j = cJSON_ParseWithLength(sb_data(&pss->req_body),
                                     pss->req_body.len);
    sb_reset(&pss->req_body);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return web_reply_error(wsi, pss, 400, "the body must be a JSON "
                               "object (see dashboard/README.md)");
    }
    web_alarm_req *r = calloc(1, sizeof *r);
    int rc = 0;
    char err[400] = "";
    unsigned status = 400;
    if (!r) {
        cJSON_Delete(j);
        return web_reply_error(wsi, pss, 500, "out of memory");
    }
    r->op = op;
    snprintf(r->who, sizeof r->who, "%s", s.user);
    snprintf(r->address, sizeof r->address, "%s", pss->peer);
    /* which alarms: "ids" for ack and reset, "id" for the others */
    bool many = op == ALARM_OP_ACK || op == ALARM_OP_RESET;
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(j, many ? "ids" : "id");
    size_t n = 0;
    if (many) {
        if (!cJSON_IsArray(ids) || (n = (size_t)cJSON_GetArraySize(ids)) == 0 ||
            n > WEB_ALARM_IDS_MAX) {
            snprintf(err, sizeof err, "\"ids\": a list of 1..%d alarm ids",
                     WEB_ALARM_IDS_MAX);
            goto bad;
        }
    } else if (!cJSON_IsString(ids)) {
        snprintf(err, sizeof err, "\"id\": an alarm id");
        goto bad;
    } else {
        n = 1;
    }
    r->idx = calloc(n, sizeof *r->idx);
    r->check = calloc(n, sizeof *r->check);
    r->ids = calloc(n, sizeof *r->ids);
    if (!r->idx || !r->check || !r->ids) {
        status = 500;
        snprintf(err, sizeof err, "out of memory");
        goto bad;
    }
    const alarm_engine *e = board_engine(w->src.alarms);
    for (size_t i = 0; i < n; i++) {
        const cJSON *v = many ? cJSON_GetArrayItem(ids, (int)i) : ids;
        if (!cJSON_IsString(v)) {
            snprintf(err, sizeof err, "\"ids\": alarm ids are strings");
            goto bad;
        }
        long k = alarm_find(e, v->valuestring);
        if (k < 0) {
            status = 404;
            snprintf(err, sizeof err, "no alarm '%.200s' in %s",
                     v->valuestring, w->st->file);
            goto bad;
        }
        for (size_t m = 0; m < r->n; m++)
            if (r->idx[m] == (uint32_t)k) {
                snprintf(err, sizeof err, "\"ids\": '%.200s' twice",
                         v->valuestring);
                goto bad;
            }
        r->idx[r->n] = (uint32_t)k;
        if (!(r->ids[r->n++] = strdup(v->valuestring))) {
            status = 500;
            snprintf(err, sizeof err, "out of memory");
            goto bad;
        }
    }
    /* the text: ack's and the others' "comment", shelve's "reason",
     * comment's "text" */
    bool badtext = false;
    const char *tkey = op == ALARM_OP_SHELVE    ? "reason"
                       : op == ALARM_OP_COMMENT ? "text"
                                                : "comment";
    bool have = web_text_field(j, tkey, r->text, sizeof r->text, &badtext);
    if (badtext) {
        snprintf(err, sizeof err, "\"%s\": a string of at most %d bytes",
                 tkey, ALARM_TEXT_MAX - 1);
        goto bad;
    }
    if ((op == ALARM_OP_SHELVE || op == ALARM_OP_COMMENT) &&
        (!have || !r->text[0])) {
        snprintf(err, sizeof err, "\"%s\" is required: %s", tkey,
                 op == ALARM_OP_SHELVE ? "why the alarm is shelved"
                                       : "the comment");
        goto bad;
    }
    int64_t now = clk_real_ns();
    if (op == ALARM_OP_SHELVE) {
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "duration");
        const cJSON *o = cJSON_GetObjectItemCaseSensitive(j, "oneshot");
        bool oneshot = cJSON_IsTrue(o);
        int64_t ns = 0;
        if ((d && oneshot) || (!d && !oneshot) ||
            (o && !cJSON_IsBool(o)) ||
            (d && (web_duration(d, &ns) < 0 ||
                   ns > WEB_ALARM_SHELVE_MAX_NS))) {
            snprintf(err, sizeof err, "shelve: \"duration\" (\"30m\", \"8h\" "
                     "or seconds, at most 7 days) or \"oneshot\": true (until "
                     "it next clears), one of the two");
            goto bad;
        }
        if (oneshot) {
            r->until = 0;
            snprintf(r->what, sizeof r->what, "one-shot");
        } else {
            r->until = now + ns;
            char until[32];
            clk_format_rfc3339(r->until, until, sizeof until);
            snprintf(r->what, sizeof r->what, "until %s", until);
        }
    }
    if (!board_can_act(w->src.alarms, r->n)) {
        status = 503;
        snprintf(err, sizeof err, "the alarm journal cannot take more now "
                 "(its disk is full or failing: see the bridge's log); "
                 "nothing was done, try again");
        goto bad;
    }
    alarm_action ac = {.who = r->who, .ts_ns = now,
                       .text = r->text[0] ? r->text : NULL};
    for (size_t i = 0; i < r->n; i++)
        r->check[i] = board_check(w->src.alarms, op, r->idx[i], &ac, r->until);
    cJSON_Delete(j);
    if (web_worker_submit_then(w->worker, wsi, pss, web_alarm_audit_job, r,
                               web_alarm_req_free, web_alarm_apply) < 0)
        return web_reply_error(wsi, pss, 503, "too many requests waiting; "
                               "try again");
    return 0;
bad:
    cJSON_Delete(j);
    web_alarm_req_free(r);
    rc = web_reply_error(wsi, pss, status, "%s", err);
    return rc;
}

/* ---- acknowledge links ------------------------------------------------------ */

/* GET /api/acklink?t= and POST /api/acklink {"t", "comment"}: what the
 * page a notification links to reads and does (auth/acklink.h).  The
 * token is the credential: no session is asked for.  Reading changes
 * nothing (mail scanners open every link); the POST acknowledges as the
 * link's recipient, audited like any acknowledgement (address, comment)
 * with "by link", once: the nonce is recorded before the ack is taken. */

static const char WEB_ACKLINK_BAD[] =
    "this link is not valid: cut short, changed, or not made by this "
    "station";

typedef struct {
    acklink_claim c;
    acklink_check check;
    uint32_t idx;
    int used;                  /* acklink_used's answer */
    char by[ALARM_WHO_MAX];
    int64_t at;
    char err[256];
} web_acklink_q;

static void web_acklink_used_job(web_job *job, void *arg)
{
    web_acklink_q *q = arg;
    q->used = acklink_used(job->w->src.acklink, &q->c, q->by, sizeof q->by,
                           &q->at, q->err, sizeof q->err);
}

static void web_acklink_link_json(strbuf *b, const acklink_claim *c,
                                  const char *state, const char *by,
                                  int64_t at_s)
{
    sb_puts(b, "\"link\":{\"to\":");
    sb_json_str(b, c->to);
    sb_printf(b, ",\"state\":\"%s\"", state);
    web_json_time(b, "expires", c->expires_s * 1000000000LL);
    sb_puts(b, ",\"used\":");
    if (by) {
        sb_puts(b, "{\"by\":");
        sb_json_str(b, by);
        web_json_time(b, "at", at_s * 1000000000LL);
        sb_putc(b, '}');
    } else {
        sb_puts(b, "null");
    }
    sb_putc(b, '}');
}

static void web_acklink_get_then(web_job *job, struct lws *wsi, web_pss *pss)
{
    web_acklink_q *q = job->arg;
    web *w = job->w;
    if (!wsi)
        return;
    if (q->used < 0) {
        web_reply_error(wsi, pss, 500, "%s", q->err);
        return;
    }
    const char *state = q->used ? "used"
                        : q->check == ACKLINK_EXPIRED ? "expired" : "ok";
    strbuf b;
    sb_init(&b, 0);
    sb_putc(&b, '{');
    web_acklink_link_json(&b, &q->c, state, q->used ? q->by : NULL, q->at);
    sb_puts(&b, ",\"station\":");
    web_text_json(&b, &w->st->name);
    sb_puts(&b, ",\"timezone\":");
    sb_json_str(&b, w->st->timezone);
    sb_puts(&b, ",\"alarm\":");
    web_alarm_json(w, &b, q->idx);
    sb_puts(&b, "}\n");
    web_reply(wsi, pss, 200, "application/json", &b, NULL);
    sb_free(&b);
}

/* The link's claim and its alarm, or a reply already sent (NULL). */
static bool web_acklink_claim(web *w, struct lws *wsi, web_pss *pss,
                              const char *t, acklink_claim *c,
                              acklink_check *check, uint32_t *idx, int *rc)
{
    if (!w->src.acklink || !w->src.alarms) {
        *rc = web_reply_error(wsi, pss, 404, "acknowledge links are not "
                              "available (no alarms, or no state directory)");
        return false;
    }
    if (!t || !t[0]) {
        *rc = web_reply_error(wsi, pss, 400, "\"t\": the token of the link "
                              "(what follows #/ack/)");
        return false;
    }
    *check = acklink_verify(w->src.acklink, t, clk_real_ns() / 1000000000LL,
                            c);
    if (*check == ACKLINK_BAD) {
        *rc = web_reply_error(wsi, pss, 400, "%s", WEB_ACKLINK_BAD);
        return false;
    }
    long k = alarm_find(board_engine(w->src.alarms), c->alarm);
    if (k < 0) {
        *rc = web_reply_error(wsi, pss, 404, "the alarm '%s' is no longer in "
                              "%s", c->alarm, w->st->file);
        return false;
    }
    *idx = (uint32_t)k;
    return true;
}

int web_api_acklink(web *w, struct lws *wsi, web_pss *pss, const web_args *a)
{
    static const char *const known[] = {"t", NULL};
    char err[400];
    if (web_args_only(a, known, err, sizeof err) < 0)
        return web_reply_error(wsi, pss, 400, "%s", err);
    web_acklink_q *q = calloc(1, sizeof *q);
    if (!q)
        return web_reply_error(wsi, pss, 500, "out of memory");
    int rc = 0;
    if (!web_acklink_claim(w, wsi, pss, web_arg_get(a, "t"), &q->c,
                           &q->check, &q->idx, &rc)) {
        free(q);
        return rc;
    }
    if (web_worker_submit_then(w->worker, wsi, pss, web_acklink_used_job, q,
                               free, web_acklink_get_then) < 0)
        return web_reply_error(wsi, pss, 503, "too many requests waiting; "
                               "try again");
    return 0;
}

/* Worker: a link whose alarm can be acknowledged is used (once) and the
 * ack audited; one whose alarm cannot is only asked whether it was used:
 * a second tap is told "used by", and a link whose alarm someone else
 * acknowledged is not recorded as used by someone who did nothing. */
static void web_acklink_use_job(web_job *job, void *arg)
{
    web_alarm_req *r = arg;
    acklink *k = job->w->src.acklink;
    int64_t now_s = clk_real_ns() / 1000000000LL;
    if (r->check[0] == ALARM_OK) {
        int first = acklink_use(k, r->link, r->who, now_s, r->link_by,
                                sizeof r->link_by, &r->link_at, r->audit_err,
                                sizeof r->audit_err);
        if (first < 0)
            return;             /* audit_err says why: nothing is done */
        r->link_used = first == 0;
        if (first == 1)
            web_alarm_audit_job(job, arg);
        return;
    }
    int used = acklink_used(k, r->link, r->link_by, sizeof r->link_by,
                            &r->link_at, r->audit_err, sizeof r->audit_err);
    r->link_used = used == 1;
}

static void web_acklink_apply(web_job *job, struct lws *wsi, web_pss *pss)
{
    web_alarm_req *r = job->arg;
    if (!r->link_used && r->check[0] == ALARM_OK) {
        web_alarm_apply(job, wsi, pss);
        return;
    }
    if (!wsi)
        return;
    if (r->audit_err[0]) {
        web_reply_error(wsi, pss, 500, "%s: nothing was done", r->audit_err);
        return;
    }
    strbuf b;
    sb_init(&b, 0);
    sb_puts(&b, "{\"error\":");
    if (r->link_used) {
        char at[32], msg[200];
        clk_format_rfc3339(r->link_at * 1000000000LL, at, sizeof at);
        snprintf(msg, sizeof msg, "this link was used by %s at %s",
                 r->link_by, at);
        sb_json_str(&b, msg);
        sb_putc(&b, ',');
        web_acklink_link_json(&b, r->link, "used", r->link_by, r->link_at);
    } else {
        /* nothing to acknowledge (someone else did, or it cleared and was
         * acknowledged): the link stays unused, the page says who */
        sb_json_str(&b, alarm_strerror(r->check[0]));
    }
    sb_puts(&b, ",\"alarms\":[");
    web_alarm_json(job->w, &b, r->idx[0]);
    sb_puts(&b, "]}\n");
    web_reply(wsi, pss, 409, "application/json", &b, NULL);
    sb_free(&b);
}

int web_acklink_post_done(web *w, struct lws *wsi, web_pss *pss)
{
    cJSON *j = cJSON_ParseWithLength(sb_data(&pss->req_body),
                                     pss->req_body.len);
    sb_reset(&pss->req_body);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return web_reply_error(wsi, pss, 400, "the body must be a JSON "
                               "object {\"t\", \"comment\"}");
    }
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "t");
    web_alarm_req *r = calloc(1, sizeof *r);
    if (r) {
        r->link = calloc(1, sizeof *r->link);
        r->idx = calloc(1, sizeof *r->idx);
        r->check = calloc(1, sizeof *r->check);
        r->ids = calloc(1, sizeof *r->ids);
    }
    if (!r || !r->link || !r->idx || !r->check || !r->ids) {
        cJSON_Delete(j);
        web_alarm_req_free(r);
        return web_reply_error(wsi, pss, 500, "out of memory");
    }
    int rc = 0;
    acklink_check check;
    if (!web_acklink_claim(w, wsi, pss, cJSON_IsString(t) ? t->valuestring
                                                         : NULL,
                           r->link, &check, &r->idx[0], &rc))
        goto done;
    if (check == ACKLINK_EXPIRED) {
        char at[32];
        clk_format_rfc3339(r->link->expires_s * 1000000000LL, at, sizeof at);
        rc = web_reply_error(wsi, pss, 410, "this link expired at %s: "
                             "acknowledge on the dashboard", at);
        goto done;
    }
    bool badtext = false;
    web_text_field(j, "comment", r->text, sizeof r->text, &badtext);
    if (badtext) {
        rc = web_reply_error(wsi, pss, 400, "\"comment\": a string of at "
                             "most %d bytes", ALARM_TEXT_MAX - 1);
        goto done;
    }
    r->op = ALARM_OP_ACK;
    r->n = 1;
    snprintf(r->who, sizeof r->who, "%s", r->link->to);
    snprintf(r->address, sizeof r->address, "%s", pss->peer);
    snprintf(r->what, sizeof r->what, "by link");
    if (!(r->ids[0] = strdup(r->link->alarm))) {
        rc = web_reply_error(wsi, pss, 500, "out of memory");
        goto done;
    }
    alarm_action ac = {.who = r->who, .ts_ns = clk_real_ns(),
                       .text = r->text[0] ? r->text : NULL};
    r->check[0] = board_check(w->src.alarms, ALARM_OP_ACK, r->idx[0], &ac, 0);
    if (!board_can_act(w->src.alarms, 1)) {
        rc = web_reply_error(wsi, pss, 503, "the alarm journal cannot take "
                             "more now (its disk is full or failing); "
                             "nothing was done, try again");
        goto done;
    }
    cJSON_Delete(j);
    if (web_worker_submit_then(w->worker, wsi, pss, web_acklink_use_job, r,
                               web_alarm_req_free, web_acklink_apply) < 0)
        return web_reply_error(wsi, pss, 503, "too many requests waiting; "
                               "try again");
    return 0;
done:
    cJSON_Delete(j);
    web_alarm_req_free(r);
    return rc;
}

/* ---- after each commit ------------------------------------------------------ */

/* The board's listener: the WebSocket frames and the answers waiting. */
static void web_alarms_committed(void *ctx, const journal_rec *recs, size_t n)
{
    web *w = ctx;
    web_ws_alarms(w, recs, n);
    web_alarm_waits_check(w);
}

/* The per-alarm arrays, sized for the board in w->src.alarms. */
static int web_alarms_alloc(web *w)
{
    size_t n = board_count(w->src.alarms);
    w->n_alarms = n;
    w->alarm_list = calloc(n ? n : 1, sizeof *w->alarm_list);
    w->alarm_changed = calloc(n / 8 + 1, 1);
    w->alarm_changed_list = calloc(n ? n : 1, sizeof *w->alarm_changed_list);
    if (!w->alarm_list || !w->alarm_changed || !w->alarm_changed_list)
        return -1;
    return 0;
}

int web_alarms_init(web *w)
{
    if (!w->src.alarms)
        return 0;
    if (web_alarms_alloc(w) < 0)
        return -1;
    return board_listen(w->src.alarms, web_alarms_committed, w);
}

int web_alarms_reload(web *w)
{
    /* answered with 503: their alarm indices are the old board's */
    while (w->alarm_waits) {
        web_alarm_wait *x = w->alarm_waits;
        w->alarm_waits = x->next;
        web_alarm_wait_reply(w, x, 503, "the maps were reloaded before the "
                             "alarm journal committed the action: look at "
                             "the alarm list again");
        web_alarm_wait_free(x);
    }
    free(w->alarm_list);
    free(w->alarm_changed);
    free(w->alarm_changed_list);
    w->alarm_list = NULL;
    w->alarm_changed = NULL;
    w->alarm_changed_list = NULL;
    w->n_alarms = 0;
    if (!w->src.alarms)
        return 0;
    return web_alarms_alloc(w);
}

void web_alarms_free(web *w)
{
    while (w->alarm_waits) {
        web_alarm_wait *x = w->alarm_waits;
        w->alarm_waits = x->next;
        if (x->pss)
            x->pss->alarm_wait = NULL;
        web_alarm_wait_free(x);
    }
    free(w->alarm_list);
    free(w->alarm_changed);
    free(w->alarm_changed_list);
}
