/*
 * hook.c - alarm records into notifications (hook.h).
 */
#include "notify/hook.h"

#include <stdatomic.h>

#include "notify/message.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"

bool notify_hook_stops(const journal_rec *r)
{
    return r->event == ALARM_EV_ACK || r->event == ALARM_EV_SHELVE ||
           r->event == ALARM_EV_DISABLE || r->event == ALARM_EV_RESET ||
           r->to.state == ALARM_NORMAL;
}

bool notify_hook_wants(const journal_rec *r)
{
    if (r->event == ALARM_EV_CLEAR || notify_hook_stops(r))
        return true;
    return r->event == ALARM_EV_ACTIVE &&
           !(r->to.flags & (ALARM_SHELVED | ALARM_SUPP_DESIGN |
                            ALARM_SUPP_MODE | ALARM_OUT_OF_SERVICE));
}

/* A message cut to its field may end inside a character: drop the
 * partial one, so the mail and the JSON stay valid UTF-8. */
static void notify_hook_trim(char *s, size_t need, size_t cap)
{
    if (need < cap)
        return;
    size_t n = strlen(s), i = n;
    while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
        i--;
    if (i == 0)
        return;
    unsigned char lead = (unsigned char)s[i - 1];
    size_t len = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    if (n - (i - 1) < len)
        s[i - 1] = '\0';
}

void notify_hook_alarm(nj_alarm *out, const journal_rec *r,
                       const alarm_engine *e)
{
    memset(out, 0, sizeof *out);
    out->rec_seq = r->seq;
    snprintf(out->alarm, sizeof out->alarm, "%s", r->id);
    snprintf(out->event, sizeof out->event, "%s", alarm_event_name(r->event));
    snprintf(out->state, sizeof out->state, "%s",
             alarm_state_name(r->to.state));
    snprintf(out->priority, sizeof out->priority, "%s",
             map_priority_name(r->priority));
    snprintf(out->area, sizeof out->area, "%s", r->area);
    long idx = r->alarm != UINT32_MAX ? (long)r->alarm : alarm_find(e, r->id);
    if (idx >= 0 && (size_t)idx < alarm_count(e)) {
        size_t need = alarm_message(e, (size_t)idx, &r->to, false,
                                    out->msg_en, sizeof out->msg_en);
        notify_hook_trim(out->msg_en, need, sizeof out->msg_en);
        need = alarm_message(e, (size_t)idx, &r->to, true, out->msg_zh,
                             sizeof out->msg_zh);
        notify_hook_trim(out->msg_zh, need, sizeof out->msg_zh);
    } else {
        snprintf(out->msg_en, sizeof out->msg_en, "%s", r->id);
    }
    out->has_value = r->to.has_value;
    out->value = r->to.value;
    out->ts_ns = r->ts_ns;
    out->active_ns = r->to.active_ns;
    out->stop = notify_hook_stops(r);
    snprintf(out->by, sizeof out->by, "%s", r->who);
}

void notify_hook_listener(void *ctx, const journal_rec *recs, size_t n)
{
    notify_hook *h = ctx;
    const alarm_engine *e = board_engine(h->b);
    for (size_t i = 0; i < n; i++) {
        if (!notify_hook_wants(&recs[i]))
            continue;
        nj_alarm a;
        notify_hook_alarm(&a, &recs[i], e);
        if (notify_submit(h->n, &a) < 0)
            h->dropped++;
    }
    if (h->summary && n)
        notify_hook_summary(h, false);
}

bool notify_hook_mqtt(const map_station *st)
{
    for (size_t i = 0; st->notify.enabled && i < st->notify.n_channels; i++)
        if (st->notify.channels[i].type == MAP_CH_MQTT)
            return true;
    return false;
}

/* One alarm of the summary; NULL out of memory. */
static cJSON *hook_summary_alarm(const alarm_engine *e, size_t idx,
                                 const alarm_status *s)
{
    cJSON *o = cJSON_CreateObject(), *msg;
    if (!o)
        return NULL;
    const map_alarm *d = alarm_def(e, idx);
    char en[512], zh[512];
    size_t need = alarm_message(e, idx, s, false, en, sizeof en);
    notify_hook_trim(en, need, sizeof en);
    need = alarm_message(e, idx, s, true, zh, sizeof zh);
    notify_hook_trim(zh, need, sizeof zh);
    cJSON_AddStringToObject(o, "id", alarm_id(e, idx));
    cJSON_AddStringToObject(o, "state", alarm_state_name(s->state));
    cJSON_AddStringToObject(o, "priority", map_priority_name(d->priority));
    cJSON_AddStringToObject(o, "area", d->area ? d->area : "");
    if ((msg = cJSON_AddObjectToObject(o, "message"))) {
        cJSON_AddStringToObject(msg, "en", en);
        cJSON_AddStringToObject(msg, "zh", zh[0] ? zh : en);
    }
    if (s->has_value)
        cJSON_AddNumberToObject(o, "value", s->value);
    else
        cJSON_AddNullToObject(o, "value");
    cJSON_AddItemToObject(o, "active_since", nmsg_time(s->active_ns));
    cJSON_AddBoolToObject(o, "shelved", (s->flags & ALARM_SHELVED) != 0);
    cJSON_AddBoolToObject(o, "suppressed",
                          (s->flags & (ALARM_SUPP_DESIGN |
                                       ALARM_SUPP_MODE)) != 0);
    cJSON_AddBoolToObject(o, "out_of_service",
                          (s->flags & ALARM_OUT_OF_SERVICE) != 0);
    return o;
}

char *notify_summary_json(const map_station *st, const board *b,
                          int64_t now_ns, char **list)
{
    if (list)
        *list = NULL;
    const alarm_engine *e = board_engine(b);
    cJSON *root = cJSON_CreateObject(), *station, *name, *alarms;
    if (!root)
        return NULL;
    bool failed = false;
    cJSON_AddNumberToObject(root, "version", 1);
    if ((station = cJSON_AddObjectToObject(root, "station"))) {
        cJSON_AddStringToObject(station, "id", st->id);
        if ((name = cJSON_AddObjectToObject(station, "name"))) {
            cJSON_AddStringToObject(name, "en", st->name.en ? st->name.en
                                                            : st->id);
            cJSON_AddStringToObject(name, "zh", st->name.zh ? st->name.zh
                                    : (st->name.en ? st->name.en : st->id));
        }
    }
    cJSON_AddItemToObject(root, "sent", nmsg_time(now_ns));
    if (!(alarms = cJSON_AddArrayToObject(root, "alarms")))
        failed = true;
    for (size_t i = 0; !failed && i < board_count(b); i++) {
        const alarm_status *s = board_shown(b, i);
        if (s->state == ALARM_NORMAL)
            continue;
        cJSON *o = hook_summary_alarm(e, i, s);
        if (!o || !cJSON_AddItemToArray(alarms, o)) {
            cJSON_Delete(o);
            failed = true;
        }
    }
    char *out = NULL;
    if (!failed && list && !(*list = cJSON_PrintUnformatted(alarms)))
        failed = true;
    if (!failed)
        out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!out && list) {
        free(*list);
        *list = NULL;
    }
    return out;
}

void notify_hook_summary(notify_hook *h, bool force)
{
    char *list = NULL;
    char *json = notify_summary_json(h->st, h->b, clk_real_ns(), &list);
    if (!json)
        return;   /* out of memory: the next change tries again */
    if (!force && h->last && strcmp(h->last, list) == 0) {
        free(json);
        free(list);
        return;
    }
    free(h->last);
    h->last = list;
    notify_set_summary(h->n, json);
}

void notify_hook_done(notify_hook *h)
{
    free(h->last);
    h->last = NULL;
}

typedef struct {
    notify *n;                /* catch-up: submitted to it */
    void (*emit)(void *, const nj_alarm *);   /* replay: handed to it */
    void *ectx;
    const alarm_engine *e;
    uint64_t after;
    long handed;
    uint64_t last_seq;
    int64_t last_ts;
} catch_ctx;

static int catch_one(void *ctx, const journal_rec *r)
{
    catch_ctx *c = ctx;
    c->last_seq = r->seq;
    c->last_ts = r->ts_ns;
    if (r->seq <= c->after || !notify_hook_wants(r))
        return 0;
    nj_alarm a;
    notify_hook_alarm(&a, r, c->e);
    if (c->emit) {
        c->emit(c->ectx, &a);
        c->handed++;
    } else if (notify_submit(c->n, &a) == 0) {
        c->handed++;
    }
    return 0;
}

long notify_hook_replay(void *ctx, uint64_t after_seq, int64_t after_ts,
                        void (*emit)(void *ectx, const nj_alarm *a),
                        void *ectx, char *err, size_t errlen)
{
    const notify_replay_src *src = ctx;
    catch_ctx c = {.emit = emit, .ectx = ectx, .e = atomic_load(&src->e),
                   .after = after_seq};
    journal_query q = {.from_ns = after_ts, .to_ns = INT64_MAX};
    if (journal_read(src->journal_path, &q, catch_one, &c, NULL, err,
                     errlen) < 0)
        return -1;
    return c.handed;
}

long notify_catch_up(notify *n, const char *journal_path,
                     const alarm_engine *e, char *err, size_t errlen)
{
    uint64_t seq = 0;
    int64_t ts = 0;
    int have = notify_cursor(n, &seq, &ts, err, errlen);
    if (have < 0)
        return -1;
    catch_ctx c = {.n = n, .e = e, .after = seq};
    journal_query q = {.from_ns = have ? ts : INT64_MIN, .to_ns = INT64_MAX,
                       .limit = have ? 0 : 1};
    if (!have)
        c.after = UINT64_MAX;   /* read the newest record only */
    if (journal_read(journal_path, &q, catch_one, &c, NULL, err, errlen) < 0)
        return -1;
    if (!have && notify_set_cursor(n, c.last_seq, c.last_ts, err,
                                   errlen) < 0)
        return -1;
    return c.handed;
}
