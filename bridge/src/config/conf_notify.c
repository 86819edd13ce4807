/*
 * conf_notify.c - the station's `notify:` section: who is told of an
 * alarm, through what, and when (config/notifydef.h has the model,
 * plc-maps/README.md#notify the reference).
 *
 *   notify:
 *     people:   [{id: wang, name: 王工, email: wang@example.com}]
 *     channels: [{id: mail, type: email, url: "smtp://127.0.0.1:25",
 *                 from: lockbridge@lock1.example, starttls: auto},
 *                {id: hook, type: webhook, url: "http://127.0.0.1:9000/a"}]
 *     oncall:   [{level: 1, rota: [{days: mon-fri, from: "08:00",
 *                                   to: "20:00", person: wang}],
 *                 overrides: [{from: 2026-12-24T08:00,
 *                              to: 2026-12-26T08:00, person: wang}]}]
 *     routes:   [{priority: [critical, high], notify: [oncall, hook],
 *                 on_clear: true}]
 *     group: {wait: 30s, interval: 5m}
 *
 * Secrets (SMTP passwords, robot URLs, which carry their key, DingTalk
 * signing secrets) are named by *_env or *_file and never written here:
 * a literal one is an error, like influx.password.  Rotas that leave hours uncovered or overlap are warnings
 * (st->warnings): a station may mean it (nobody on call at night), but
 * should see it.
 */
#include "config/parse.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const type_names[MAP_CH_TYPES] = {
    "email", "webhook", "wecom", "dingtalk", "mqtt"};
static const char *const starttls_names[] = {"auto", "always", "never"};
#define ROTA_MAX 100     /* entries of one level's rota */

static const char *const day_names[7] = {"sun", "mon", "tue", "wed",
                                         "thu", "fri", "sat"};

const char *map_channel_type_name(map_channel_type t)
{
    return (unsigned)t < MAP_CH_TYPES ? type_names[t] : "?";
}

static void notify_defaults(map_station *st)
{
    st->notify.group_wait_ns = 30000000000ull;
    st->notify.group_interval_ns = 300000000000ull;
    st->notify.retention_ns = 730ull * 86400 * 1000000000ull;
}

/* "file:line:col: warning: ..." into st->warnings. */
static void warn_at(cfg_src *s, map_station *st, int line, int col,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void warn_at(cfg_src *s, map_station *st, int line, int col,
                    const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    map_errors_add(&st->warnings, "%s:%d:%d: warning: %s", s->file, line,
                   col, msg);
}

static int line_of(const yaml_node_t *n)
{
    return (int)n->start_mark.line + 1;
}

static int col_of(const yaml_node_t *n)
{
    return (int)n->start_mark.column + 1;
}

/* The items of a sequence value, or NULL (reported) when it is not one. */
static bool is_list(cfg_src *s, const yaml_node_t *n, const char *what,
                    const char *example)
{
    char got[64];
    if (n->type == YAML_SEQUENCE_NODE)
        return true;
    cfg_err_at(s, n, "'%s' must be a list such as %s, got %s", what, example,
               CFG_GOT(n));
    return false;
}

static yaml_node_t *item_at(cfg_src *s, const yaml_node_t *seq, size_t i)
{
    return cfg_node(s, seq->data.sequence.items.start[i]);
}

/* ---- people ------------------------------------------------------------- */

enum { P_ID, P_NAME, P_EMAIL, P_PHONE, P_WECOM, P_N };
static const char *const person_keys[P_N] = {"id", "name", "email", "phone",
                                             "wecom"};

static void parse_people(cfg_src *s, const yaml_node_t *n, map_notify *nf)
{
    char got[64];
    if (!is_list(s, n, "people", "[{id: wang, email: wang@example.com}]"))
        return;
    size_t cnt = cfg_seq_len(n);
    nf->people = cfg_calloc(cnt, sizeof *nf->people);
    for (size_t i = 0; i < cnt; i++) {
        yaml_node_t *it = item_at(s, n, i);
        if (!cfg_visit(s, it))
            return;
        if (it->type != YAML_MAPPING_NODE) {
            cfg_err_at(s, it, "each of 'people' must be a mapping with 'id' "
                       "and contacts, got %s", CFG_GOT(it));
            continue;
        }
        map_person *p = &nf->people[nf->n_people++];
        p->line = line_of(it);
        p->col = col_of(it);
        yaml_node_t *v[P_N], *k[P_N];
        cfg_get_keys(s, it, "person", person_keys, P_N, v, k);
        if (cfg_require(s, it, "person", "id", v[P_ID]))
            cfg_get_id(s, "'id'", v[P_ID], &p->id);
        if (v[P_NAME])
            cfg_get_str(s, "'name'", v[P_NAME], &p->name);
        if (v[P_EMAIL] &&
            cfg_get_str(s, "'email'", v[P_EMAIL], &p->email) == 0 &&
            (!strchr(p->email, '@') || strpbrk(p->email, " <>\r\n,"))) {
            cfg_err_at(s, v[P_EMAIL], "'email' must be an address such as "
                       "wang@example.com, got '%s'", p->email);
        }
        if (v[P_PHONE])
            cfg_get_str(s, "'phone'", v[P_PHONE], &p->phone);
        if (v[P_WECOM])
            cfg_get_str(s, "'wecom'", v[P_WECOM], &p->wecom);
        if (!p->name && p->id)
            p->name = cfg_strdup(p->id);
    }
    const char **ids = cfg_calloc(nf->n_people, sizeof *ids);
    size_t *first = cfg_calloc(nf->n_people, sizeof *first);
    for (size_t i = 0; i < nf->n_people; i++)
        ids[i] = nf->people[i].id;
    cfg_find_dups(ids, nf->n_people, first);
    for (size_t i = 0; i < nf->n_people; i++)
        if (first[i] != i)
            cfg_err_pos(s, nf->people[i].line, nf->people[i].col,
                        "duplicate person id '%s' (first defined at "
                        "%s:%d:%d)", ids[i], s->file,
                        nf->people[first[i]].line, nf->people[first[i]].col);
    free(ids);
    free(first);
}

static long find_person(const map_notify *nf, const char *id)
{
    for (size_t i = 0; i < nf->n_people; i++)
        if (nf->people[i].id && strcmp(nf->people[i].id, id) == 0)
            return (long)i;
    return -1;
}

/* ---- channels ----------------------------------------------------------- */

enum {
    C_ID, C_TYPE, C_URL, C_URL_ENV, C_URL_FILE, C_FROM, C_TO, C_STARTTLS,
    C_USER, C_PASS_ENV, C_PASS_FILE, C_SECRET_ENV, C_SECRET_FILE, C_TOPIC,
    C_TIMEOUT, C_RATE, C_MSGTYPE, C_SUMMARY_TOPIC, C_QOS, C_CLIENT_ID,
    C_CA_FILE, C_FAIL_ALARM, C_PASSWORD, C_SECRET, C_N
};
static const char *const channel_keys[C_N] = {
    "id", "type", "url", "url_env", "url_file", "from", "to", "starttls",
    "username", "password_env", "password_file", "secret_env", "secret_file",
    "topic", "timeout", "rate_limit", "msgtype", "summary_topic", "qos",
    "client_id", "ca_file", "fail_alarm", "password", "secret"};

/* Keys that only some types take (bit t: type t), and what they are
 * for, in messages. */
#define T_(t) (1u << (t))
static const struct {
    int key;
    unsigned types;
    const char *for_;
} only_for[] = {
    {C_FROM, T_(MAP_CH_EMAIL), "email"},
    {C_TO, T_(MAP_CH_EMAIL), "email"},
    {C_STARTTLS, T_(MAP_CH_EMAIL), "email"},
    {C_USER, T_(MAP_CH_EMAIL) | T_(MAP_CH_MQTT), "email and mqtt"},
    {C_PASS_ENV, T_(MAP_CH_EMAIL) | T_(MAP_CH_MQTT), "email and mqtt"},
    {C_PASS_FILE, T_(MAP_CH_EMAIL) | T_(MAP_CH_MQTT), "email and mqtt"},
    {C_SECRET_ENV, T_(MAP_CH_DINGTALK), "dingtalk"},
    {C_SECRET_FILE, T_(MAP_CH_DINGTALK), "dingtalk"},
    {C_TOPIC, T_(MAP_CH_MQTT), "mqtt"},
    {C_SUMMARY_TOPIC, T_(MAP_CH_MQTT), "mqtt"},
    {C_QOS, T_(MAP_CH_MQTT), "mqtt"},
    {C_CLIENT_ID, T_(MAP_CH_MQTT), "mqtt"},
    {C_CA_FILE, T_(MAP_CH_MQTT), "mqtt"},
    {C_MSGTYPE, T_(MAP_CH_DINGTALK), "dingtalk"},
};

enum { RL_MESSAGES, RL_PER, RL_N };
static const char *const rate_keys[RL_N] = {"messages", "per"};

/* rate_limit: {messages: N, per: DURATION}, or off. */
static void parse_rate(cfg_src *s, const yaml_node_t *n, map_channel *c)
{
    char got[64];
    const char *v = cfg_scalar(n);
    if (v && strcmp(v, "off") == 0) {
        c->rate_messages = 0;
        return;
    }
    if (n->type != YAML_MAPPING_NODE) {
        cfg_err_at(s, n, "'rate_limit' must be {messages: 20, per: 1m} or "
                   "off, got %s", CFG_GOT(n));
        return;
    }
    yaml_node_t *rv[RL_N], *rk[RL_N];
    cfg_get_keys(s, n, "rate_limit", rate_keys, RL_N, rv, rk);
    int64_t m = 0;
    uint64_t per = 0;
    if (!cfg_require(s, n, "rate_limit", "messages", rv[RL_MESSAGES]) ||
        !cfg_require(s, n, "rate_limit", "per", rv[RL_PER]) ||
        cfg_get_int(s, "'messages'", rv[RL_MESSAGES], 1, 10000, NULL,
                    &m) < 0 ||
        cfg_get_duration(s, "'per'", rv[RL_PER], &per) < 0)
        return;
    c->rate_messages = (unsigned)m;
    c->rate_per_ns = per;
}

/* An MQTT topic to publish to: non-empty, no wildcards (MQTT 3.1.1
 * 4.7.1: + and # only in filters), no NUL, at most 65535 bytes
 * (4.7.3). */
static void check_topic(cfg_src *s, const yaml_node_t *v, const char *id,
                        const char *key, const char *t)
{
    if (strpbrk(t, "+#"))
        cfg_err_at(s, v, "channel '%s': '%s' is a topic to publish to and "
                   "must not hold the wildcards + or #, got '%s'", id, key,
                   t);
    else if (strlen(t) > 65535)
        cfg_err_at(s, v, "channel '%s': '%s' is longer than MQTT allows "
                   "(65535 bytes)", id, key);
}

/* mqtt://host[:port][/] (or mqtts://): a host, a port 1-65535 if any;
 * the scheme itself is checked with the other types'. */
static void check_broker_url(cfg_src *s, const yaml_node_t *v,
                             const char *id, const char *url)
{
    const char *p = strstr(url, "://");
    if (!p)
        return;
    p += 3;
    const char *end = *p == '[' ? strchr(p, ']') : p + strcspn(p, ":/");
    if (*p == '[' && end)
        end++;
    bool ok = end && end > p + (*p == '[' ? 2 : 0);
    if (ok && *end == ':') {
        char *e;
        long port = strtol(end + 1, &e, 10);
        ok = e != end + 1 && port >= 1 && port <= 65535 && (!*e || *e == '/');
    } else if (ok) {
        ok = !*end || *end == '/';
    }
    if (!ok)
        cfg_err_at(s, v, "channel '%s': 'url' must be mqtt://HOST[:PORT] or "
                   "mqtts://HOST[:PORT] (port 1-65535), got '%s'", id, url);
}

static void parse_to(cfg_src *s, const yaml_node_t *n, map_channel *c)
{
    if (!is_list(s, n, "to", "[duty@lock1.example]"))
        return;
    size_t cnt = cfg_seq_len(n);
    c->to = cfg_calloc(cnt, sizeof *c->to);
    for (size_t i = 0; i < cnt; i++) {
        yaml_node_t *it = item_at(s, n, i);
        if (!cfg_visit(s, it))
            return;
        char *a = NULL;
        if (cfg_get_str(s, "each of 'to'", it, &a) < 0)
            continue;
        if (!strchr(a, '@') || strpbrk(a, " <>\r\n,")) {
            cfg_err_at(s, it, "each of 'to' must be an address such as "
                       "duty@lock1.example, got '%s'", a);
            free(a);
            continue;
        }
        c->to[c->n_to++] = a;
    }
}

/* `fail_alarm:` of a channel: false (or off), true (the defaults), or
 * {after, priority, area, message, description}.  The id and the default message are made by
 * fail_alarm_finish once the channel's id is known. */
enum { F_AFTER, F_PRIORITY, F_AREA, F_MESSAGE, F_DESCRIPTION, F_N };
static const char *const fail_keys[F_N] = {"after", "priority", "area",
                                           "message", "description"};

static void parse_fail_alarm(cfg_src *s, const yaml_node_t *n, map_channel *c)
{
    char got[64];
    map_alarm *a = &c->fail_alarm;
    const char *v0 = cfg_scalar(n);
    if (v0 && (strcmp(v0, "false") == 0 || strcmp(v0, "off") == 0)) {
        a->enabled = false;
        return;
    }
    if (v0 && strcmp(v0, "true") == 0)
        return;   /* the defaults, said out loud */
    if (n->type != YAML_MAPPING_NODE) {
        cfg_err_at(s, n, "'fail_alarm' must be a mapping such as {after: 3, "
                   "priority: high}, true or false, got %s", CFG_GOT(n));
        return;
    }
    yaml_node_t *v[F_N], *k[F_N];
    cfg_get_keys(s, n, "fail_alarm", fail_keys, F_N, v, k);
    int64_t after;
    if (v[F_AFTER] &&
        cfg_get_int(s, "'after'", v[F_AFTER], 1, 100, "failed attempts in "
                    "a row", &after) == 0)
        c->fail_after = (unsigned)after;
    static const char *const prios[MAP_PRIO_N] = {"critical", "high",
                                                  "medium", "low"};
    int x;
    if (v[F_PRIORITY] &&
        cfg_get_enum(s, "'priority'", v[F_PRIORITY], prios, MAP_PRIO_N,
                     &x) == 0)
        a->priority = (map_priority)x;
    if (v[F_AREA])
        cfg_get_id(s, "'area'", v[F_AREA], &a->area);
    if (v[F_MESSAGE])
        cfg_get_text(s, "'message'", v[F_MESSAGE], &a->message);
    if (v[F_DESCRIPTION])
        cfg_get_str(s, "'description'", v[F_DESCRIPTION], &a->description);
}

static char *fail_dup(const char *fmt, const char *id)
{
    char *out = NULL;
    if (asprintf(&out, fmt, id) < 0)
        out = cfg_strdup("");   /* aborts when out of memory */
    return out;
}

/* The channel's alarm as the engine needs it: `notify.<id>.failing`, a
 * station-level alarm (no PLC, no tag) of its own kind. */
static void fail_alarm_finish(map_channel *c)
{
    map_alarm *a = &c->fail_alarm;
    a->kind = MAP_AL_CHANNEL;
    a->plc = (size_t)-1;
    a->tag_pos = (size_t)-1;
    a->line = c->line;
    a->col = c->col;
    if (!c->id) {
        a->enabled = false;   /* an error already said so */
        return;
    }
    a->id = cfg_strdup("failing");
    a->full_id = fail_dup("notify.%s.failing", c->id);
    if (!a->area)
        a->area = cfg_strdup("station");
    if (!a->message.en) {
        a->message.en = fail_dup("Notifications through channel '%s' are "
                                 "failing", c->id);
        a->message.zh = fail_dup("通知通道 %s 发送失败", c->id);
    }
}

static void parse_channel(cfg_src *s, const yaml_node_t *it, map_channel *c)
{
    yaml_node_t *v[C_N], *k[C_N];
    cfg_get_keys_shown(s, it, "channel", channel_keys, C_N, C_PASSWORD, v, k);
    c->line = line_of(it);
    c->col = col_of(it);
    c->timeout_ns = 10000000000ull;
    c->qos = 1;
    c->fail_after = 3;
    c->fail_alarm.enabled = true;
    c->fail_alarm.priority = MAP_PRIO_HIGH;
    if (cfg_require(s, it, "channel", "id", v[C_ID]))
        cfg_get_id(s, "'id'", v[C_ID], &c->id);
    if (v[C_FAIL_ALARM])
        parse_fail_alarm(s, v[C_FAIL_ALARM], c);
    fail_alarm_finish(c);
    int type = -1;
    if (cfg_require(s, it, "channel", "type", v[C_TYPE]) &&
        cfg_get_enum(s, "'type'", v[C_TYPE], type_names, MAP_CH_TYPES,
                     &type) == 0) {
        c->type = (map_channel_type)type;
    }
    if (k[C_PASSWORD])
        cfg_refuse_secret(s, k[C_PASSWORD], "password");
    if (k[C_SECRET])
        cfg_refuse_secret(s, k[C_SECRET], "secret");
    char **strs[C_N] = {
        [C_URL] = &c->url, [C_URL_ENV] = &c->url_env,
        [C_URL_FILE] = &c->url_file, [C_FROM] = &c->from,
        [C_USER] = &c->username, [C_PASS_ENV] = &c->password_env,
        [C_PASS_FILE] = &c->password_file, [C_SECRET_ENV] = &c->secret_env,
        [C_SECRET_FILE] = &c->secret_file, [C_TOPIC] = &c->topic,
        [C_SUMMARY_TOPIC] = &c->summary_topic, [C_CLIENT_ID] = &c->client_id,
        [C_CA_FILE] = &c->ca_file};
    for (int i = 0; i < C_N; i++)
        if (strs[i] && v[i]) {
            char what[32];
            snprintf(what, sizeof what, "'%s'", channel_keys[i]);
            cfg_get_str(s, what, v[i], strs[i]);
        }
    if (v[C_TO])
        parse_to(s, v[C_TO], c);
    int tls;
    if (v[C_STARTTLS] &&
        cfg_get_enum(s, "'starttls'", v[C_STARTTLS], starttls_names, 3,
                     &tls) == 0)
        c->starttls = (map_starttls)tls;
    if (v[C_TIMEOUT])
        cfg_get_duration(s, "'timeout'", v[C_TIMEOUT], &c->timeout_ns);
    int64_t qos;
    if (v[C_QOS] && cfg_get_int(s, "'qos'", v[C_QOS], 0, 2,
                                "0 at most once, 1 at least once, 2 exactly "
                                "once", &qos) == 0)
        c->qos = (int)qos;
    if (type < 0)
        return;
    if (c->type == MAP_CH_WECOM || c->type == MAP_CH_DINGTALK) {
        c->rate_messages = 20;
        c->rate_per_ns = 60000000000ull;
    }
    if (v[C_RATE])
        parse_rate(s, v[C_RATE], c);
    static const char *const msgtypes[] = {"markdown", "actionCard"};
    int mt;
    if (v[C_MSGTYPE] &&
        cfg_get_enum(s, "'msgtype'", v[C_MSGTYPE], msgtypes, 2, &mt) == 0)
        c->action_card = mt == 1;
    const char *id = c->id ? c->id : "?";
    for (size_t i = 0; i < CFG_COUNT(only_for); i++)
        if (k[only_for[i].key] && !(only_for[i].types & T_(c->type)))
            cfg_err_at(s, k[only_for[i].key], "channel '%s': '%s' is for "
                       "%s channels, not %s", id,
                       channel_keys[only_for[i].key], only_for[i].for_,
                       type_names[type]);
    int urls = !!v[C_URL] + !!v[C_URL_ENV] + !!v[C_URL_FILE];
    bool robot = c->type == MAP_CH_WECOM || c->type == MAP_CH_DINGTALK;
    if (robot && v[C_URL])
        cfg_err_at(s, k[C_URL], "channel '%s': a %s robot's url holds its "
                   "key and must not be written in a map file: use url_env "
                   "or url_file", id, type_names[type]);
    else if (urls == 0)
        cfg_err_at(s, it, "channel '%s' needs 'url' (or url_env or "
                   "url_file)", id);
    else if (urls > 1)
        cfg_err_at(s, it, "channel '%s': give one of url, url_env and "
                   "url_file", id);
    static const char *const schemes[MAP_CH_TYPES][3] = {
        {"smtp://", "smtps://", NULL}, {"http://", "https://", NULL},
        {"https://", NULL, NULL}, {"https://", NULL, NULL},
        {"mqtt://", "mqtts://", NULL}};
    if (c->url && !robot) {
        bool ok = false;
        for (int i = 0; schemes[type][i]; i++)
            ok |= strncmp(c->url, schemes[type][i],
                          strlen(schemes[type][i])) == 0;
        if (!ok)
            cfg_err_at(s, v[C_URL], "channel '%s': 'url' must start with "
                       "%s%s%s, got '%s'", id, schemes[type][0],
                       schemes[type][1] ? " or " : "",
                       schemes[type][1] ? schemes[type][1] : "", c->url);
    }
    if (c->type == MAP_CH_EMAIL && !v[C_FROM])
        cfg_err_at(s, it, "channel '%s': an email channel needs 'from' (the "
                   "sender address)", id);
    if (c->type == MAP_CH_MQTT && !v[C_TOPIC])
        cfg_err_at(s, it, "channel '%s': an mqtt channel needs 'topic' (the "
                   "alarms' topic, such as lock1/alarms)", id);
    if (c->type == MAP_CH_MQTT && c->topic) {
        check_topic(s, v[C_TOPIC], id, "topic", c->topic);
        if (c->summary_topic) {
            check_topic(s, v[C_SUMMARY_TOPIC], id, "summary_topic",
                        c->summary_topic);
            if (strcmp(c->summary_topic, c->topic) == 0)
                cfg_err_at(s, v[C_SUMMARY_TOPIC], "channel '%s': "
                           "'summary_topic' must differ from 'topic' (the "
                           "retained summary would replace the alarms)",
                           id);
        } else {
            size_t len = strlen(c->topic) + sizeof "/active";
            c->summary_topic = cfg_calloc(len, 1);
            snprintf(c->summary_topic, len, "%s/active", c->topic);
        }
    }
    if (c->type == MAP_CH_MQTT && c->url)
        check_broker_url(s, v[C_URL], id, c->url);
    if (c->ca_file && c->url && strncmp(c->url, "mqtts://", 8) != 0)
        cfg_err_at(s, k[C_CA_FILE], "channel '%s': 'ca_file' is for "
                   "mqtts:// (TLS), not '%s'", id, c->url);
    if (c->password_env && c->password_file)
        cfg_err_at(s, it, "channel '%s': give password_env or password_file, "
                   "not both", id);
    if (c->secret_env && c->secret_file)
        cfg_err_at(s, it, "channel '%s': give secret_env or secret_file, not "
                   "both", id);
    if ((c->password_env || c->password_file) && !c->username)
        cfg_err_at(s, it, "channel '%s': a password needs 'username'", id);
}

static void parse_channels(cfg_src *s, const yaml_node_t *n, map_notify *nf)
{
    char got[64];
    if (!is_list(s, n, "channels", "[{id: hook, type: webhook, url: "
                 "\"http://127.0.0.1:9000/alarm\"}]"))
        return;
    size_t cnt = cfg_seq_len(n);
    nf->channels = cfg_calloc(cnt, sizeof *nf->channels);
    for (size_t i = 0; i < cnt; i++) {
        yaml_node_t *it = item_at(s, n, i);
        if (!cfg_visit(s, it))
            return;
        if (it->type != YAML_MAPPING_NODE) {
            cfg_err_at(s, it, "each of 'channels' must be a mapping with "
                       "'id', 'type' and 'url', got %s", CFG_GOT(it));
            continue;
        }
        parse_channel(s, it, &nf->channels[nf->n_channels++]);
    }
    for (size_t i = 0; i < nf->n_channels; i++) {
        const map_channel *c = &nf->channels[i];
        if (c->id && strcmp(c->id, "oncall") == 0)
            cfg_err_pos(s, c->line, c->col, "a channel must not be called "
                        "'oncall': routes use that word for the people on "
                        "call");
        for (size_t j = 0; j < i; j++)
            if (c->id && nf->channels[j].id &&
                strcmp(c->id, nf->channels[j].id) == 0) {
                cfg_err_pos(s, c->line, c->col, "duplicate channel id '%s' "
                            "(first defined at %s:%d:%d)", c->id, s->file,
                            nf->channels[j].line, nf->channels[j].col);
                break;
            }
    }
}

/* ---- oncall ------------------------------------------------------------- */

static int day_index(const char *s, size_t len)
{
    for (int d = 0; d < 7; d++)
        if (len == 3 && strncmp(s, day_names[d], 3) == 0)
            return d;
    return -1;
}

/* "mon-fri", "sat,sun", "fri-mon" (wraps), "daily": a set of weekdays;
 * -1 on anything else. */
int cfg_parse_days(const char *v, uint8_t *out)
{
    if (strcmp(v, "daily") == 0) {
        *out = 0x7f;
        return 0;
    }
    uint8_t m = 0;
    const char *p = v;
    while (*p) {
        const char *end = p + strcspn(p, ",");
        const char *dash = memchr(p, '-', (size_t)(end - p));
        const char *a = p, *b = dash ? dash + 1 : NULL;
        while (*a == ' ')
            a++;
        int from = day_index(a, (size_t)((dash ? dash : end) - a));
        int to = b ? day_index(b, (size_t)(end - b)) : from;
        if (from < 0 || to < 0)
            return -1;
        for (int d = from;; d = (d + 1) % 7) {
            m |= (uint8_t)(1u << d);
            if (d == to)
                break;
        }
        p = *end ? end + 1 : end;
        if (*end && !*p)
            return -1;
    }
    if (!m)
        return -1;
    *out = m;
    return 0;
}

/* "08:00" -> 480; "24:00" only when allow24.  -1 on anything else. */
static int parse_hhmm(const char *v, bool allow24)
{
    int h, m, used = 0;
    if (strlen(v) != 5 || sscanf(v, "%2d:%2d%n", &h, &m, &used) != 2 ||
        used != 5 || v[0] < '0' || v[0] > '9' || v[3] < '0' || v[3] > '9')
        return -1;
    if (allow24 && h == 24 && m == 0)
        return 1440;
    if (h < 0 || h > 23 || m < 0 || m > 59)
        return -1;
    return h * 60 + m;
}

static int days_in_month(int y, int mon)
{
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30,
                               31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return mon == 2 && leap ? 29 : dm[mon - 1];
}

/* "2026-12-24T08:00" or "2026-12-24T08:00:30" (T or a space); -1 on
 * anything else. */
static int parse_localtime(const char *v, map_localtime *out)
{
    map_localtime t = {0};
    int used = 0, used_s = 0;
    char sep;
    size_t len = strlen(v);
    if ((len != 16 && len != 19) ||
        sscanf(v, "%4d-%2d-%2d%c%2d:%2d%n", &t.year, &t.mon, &t.day, &sep,
               &t.hour, &t.min, &used) != 6 || used != 16 ||
        (sep != 'T' && sep != ' '))
        return -1;
    if (len == 19 && (v[16] != ':' ||
                      sscanf(v + 17, "%2d%n", &t.sec, &used_s) != 1 ||
                      used_s != 2 || v[17] < '0' || v[17] > '9'))
        return -1;
    if (t.year < 1970 || t.year > 9999 || t.mon < 1 || t.mon > 12 ||
        t.day < 1 || t.day > days_in_month(t.year, t.mon) || t.hour < 0 ||
        t.hour > 23 || t.min < 0 || t.min > 59 || t.sec < 0 || t.sec > 59)
        return -1;
    *out = t;
    return 0;
}

static int lt_cmp(const map_localtime *a, const map_localtime *b)
{
    const int x[6] = {a->year, a->mon, a->day, a->hour, a->min, a->sec};
    const int y[6] = {b->year, b->mon, b->day, b->hour, b->min, b->sec};
    for (int i = 0; i < 6; i++)
        if (x[i] != y[i])
            return x[i] < y[i] ? -1 : 1;
    return 0;
}

/* The person a rota entry or override names, reported when unknown. */
static bool get_person(cfg_src *s, const map_notify *nf, const yaml_node_t *n,
                       size_t *out)
{
    char *id = NULL;
    if (cfg_get_str(s, "'person'", n, &id) < 0)
        return false;
    long p = find_person(nf, id);
    if (p < 0)
        cfg_err_at(s, n, "unknown person '%s' (not in notify.people)", id);
    free(id);
    if (p < 0)
        return false;
    *out = (size_t)p;
    return true;
}

enum { S_DAYS, S_FROM, S_TO, S_PERSON, S_N };
static const char *const shift_keys[S_N] = {"days", "from", "to", "person"};

static void parse_rota(cfg_src *s, const yaml_node_t *n, const map_notify *nf,
                       map_oncall *o)
{
    char got[64];
    if (!is_list(s, n, "rota", "[{days: mon-fri, from: \"08:00\", to: "
                 "\"20:00\", person: wang}]"))
        return;
    size_t cnt = cfg_seq_len(n);
    /* The coverage check walks a week of minutes per entry: bounded, so
     * a hostile map stays cheap. */
    if (cnt > ROTA_MAX) {
        cfg_err_at(s, n, "'rota' has %zu entries, more than %d", cnt,
                   ROTA_MAX);
        return;
    }
    o->shifts = cfg_calloc(cnt, sizeof *o->shifts);
    for (size_t i = 0; i < cnt; i++) {
        yaml_node_t *it = item_at(s, n, i);
        if (!cfg_visit(s, it))
            return;
        if (it->type != YAML_MAPPING_NODE) {
            cfg_err_at(s, it, "each rota entry must be a mapping with "
                       "'days', 'from', 'to' and 'person', got %s",
                       CFG_GOT(it));
            continue;
        }
        yaml_node_t *v[S_N], *k[S_N];
        cfg_get_keys(s, it, "rota entry", shift_keys, S_N, v, k);
        map_shift sh = {.line = line_of(it), .col = col_of(it)};
        bool ok = true;
        for (int j = 0; j < S_N; j++)
            ok &= cfg_require(s, it, "rota entry", shift_keys[j], v[j]);
        if (!ok)
            continue;
        /* [sat, sun] as well as "sat,sun": in a flow mapping the comma
         * of an unquoted sat,sun would end the value */
        char joined[128] = "";
        const char *d = cfg_scalar(v[S_DAYS]);
        if (v[S_DAYS]->type == YAML_SEQUENCE_NODE) {
            for (size_t j = 0; j < cfg_seq_len(v[S_DAYS]); j++) {
                const char *x = cfg_scalar(item_at(s, v[S_DAYS], j));
                size_t l = strlen(joined);
                if (!x || l + strlen(x) + 2 > sizeof joined) {
                    joined[0] = '\0';
                    break;
                }
                snprintf(joined + l, sizeof joined - l, "%s%s", l ? "," : "",
                         x);
            }
            d = joined[0] ? joined : NULL;
        }
        if (!d || cfg_parse_days(d, &sh.days) < 0) {
            cfg_err_at(s, v[S_DAYS], "'days' must be days such as mon-fri, "
                       "[sat, sun] or daily, got %s", CFG_GOT(v[S_DAYS]));
            ok = false;
        }
        const char *f = cfg_scalar(v[S_FROM]), *t = cfg_scalar(v[S_TO]);
        if ((sh.from_min = f ? parse_hhmm(f, false) : -1) < 0) {
            cfg_err_at(s, v[S_FROM], "'from' must be a time of day such as "
                       "\"08:00\", got %s", CFG_GOT(v[S_FROM]));
            ok = false;
        }
        if ((sh.to_min = t ? parse_hhmm(t, true) : -1) < 0) {
            cfg_err_at(s, v[S_TO], "'to' must be a time of day such as "
                       "\"20:00\" (or \"24:00\"), got %s", CFG_GOT(v[S_TO]));
            ok = false;
        }
        ok &= get_person(s, nf, v[S_PERSON], &sh.person);
        if (ok)
            o->shifts[o->n_shifts++] = sh;
    }
}

static void parse_overrides(cfg_src *s, const yaml_node_t *n,
                            const map_notify *nf, map_oncall *o)
{
    char got[64];
    if (!is_list(s, n, "overrides", "[{from: 2026-12-24T08:00, to: "
                 "2026-12-26T08:00, person: li}]"))
        return;
    size_t cnt = cfg_seq_len(n);
    o->overrides = cfg_calloc(cnt, sizeof *o->overrides);
    for (size_t i = 0; i < cnt; i++) {
        yaml_node_t *it = item_at(s, n, i);
        if (!cfg_visit(s, it))
            return;
        if (it->type != YAML_MAPPING_NODE) {
            cfg_err_at(s, it, "each override must be a mapping with 'from', "
                       "'to' and 'person', got %s", CFG_GOT(it));
            continue;
        }
        yaml_node_t *v[S_N], *k[S_N];
        /* the same keys as a rota entry but days */
        cfg_get_keys(s, it, "override", shift_keys + 1, S_N - 1, v + 1,
                     k + 1);
        map_override ov = {.line = line_of(it), .col = col_of(it)};
        bool ok = true;
        for (int j = 1; j < S_N; j++)
            ok &= cfg_require(s, it, "override", shift_keys[j], v[j]);
        if (!ok)
            continue;
        map_localtime *ts[2] = {&ov.from, &ov.to};
        for (int j = 0; j < 2; j++) {
            const char *x = cfg_scalar(v[S_FROM + j]);
            if (!x || parse_localtime(x, ts[j]) < 0) {
                cfg_err_at(s, v[S_FROM + j], "'%s' must be a local date and "
                           "time such as 2026-12-24T08:00, got %s",
                           shift_keys[S_FROM + j], CFG_GOT(v[S_FROM + j]));
                ok = false;
            }
        }
        if (ok && lt_cmp(&ov.from, &ov.to) >= 0) {
            cfg_err_at(s, v[S_TO], "override: 'to' must be after 'from'");
            ok = false;
        }
        ok &= get_person(s, nf, v[S_PERSON], &ov.person);
        if (ok)
            o->overrides[o->n_overrides++] = ov;
    }
}

#define WEEK_MIN (7 * 1440)

/* "sat 20:00" for a minute of the week (0 = Sunday 00:00). */
static void week_time(int m, char *buf, size_t len)
{
    m %= WEEK_MIN;
    snprintf(buf, len, "%s %02d:%02d", day_names[m / 1440], m % 1440 / 60,
             m % 60);
}

/* Reports the runs of the week where `bad` holds of the coverage count,
 * at most 3 of them in one warning. */
static void warn_runs(cfg_src *s, map_station *st, const map_oncall *o,
                      const uint8_t *cover, bool overlap)
{
    /* Start the scan at a minute that is not bad, so a run over the end
     * of the week (Saturday night into Sunday) comes out as one. */
    int start = -1;
    for (int m = 0; m < WEEK_MIN && start < 0; m++)
        if (overlap ? cover[m] <= 1 : cover[m] != 0)
            start = m;
    char list[256] = "";
    int runs = 0;
    if (start < 0) {
        snprintf(list, sizeof list, "the whole week");
        runs = 1;
    } else {
        for (int i = 0; i < WEEK_MIN;) {
            int m = (start + i) % WEEK_MIN;
            bool bad = overlap ? cover[m] > 1 : cover[m] == 0;
            if (!bad) {
                i++;
                continue;
            }
            int j = i;
            while (j < WEEK_MIN) {
                int x = (start + j) % WEEK_MIN;
                if (!(overlap ? cover[x] > 1 : cover[x] == 0))
                    break;
                j++;
            }
            if (++runs <= 3) {
                char a[16], b[16];
                week_time(m, a, sizeof a);
                week_time(start + j, b, sizeof b);
                size_t l = strlen(list);
                snprintf(list + l, sizeof list - l, "%s%s - %s",
                         l ? ", " : "", a, b);
            }
            i = j;
        }
    }
    if (!runs)
        return;
    char more[32] = "";
    if (runs > 3)
        snprintf(more, sizeof more, " and %d more", runs - 3);
    if (overlap)
        warn_at(s, st, o->line, o->col, "oncall level %d: rota entries "
                "overlap (more than one person on call) %s%s", o->level,
                list, more);
    else
        warn_at(s, st, o->line, o->col, "oncall level %d: nobody is on call "
                "%s%s", o->level, list, more);
}

/* Overlapping or uncovered hours of a level's rota, over a week of
 * minutes: both may be meant, so they are warnings. */
static void check_coverage(cfg_src *s, map_station *st, const map_oncall *o)
{
    uint8_t *cover = cfg_calloc(WEEK_MIN, 1);
    for (size_t i = 0; i < o->n_shifts; i++) {
        const map_shift *sh = &o->shifts[i];
        int len = sh->to_min > sh->from_min ? sh->to_min - sh->from_min
                                            : sh->to_min + 1440 - sh->from_min;
        for (int d = 0; d < 7; d++) {
            if (!(sh->days & (1u << d)))
                continue;
            for (int m = 0; m < len; m++) {
                uint8_t *c = &cover[(d * 1440 + sh->from_min + m) % WEEK_MIN];
                if (*c < 255)
                    (*c)++;
            }
        }
    }
    warn_runs(s, st, o, cover, false);
    warn_runs(s, st, o, cover, true);
    free(cover);
}

enum { O_LEVEL, O_ROTA, O_OVERRIDES, O_N };
static const char *const oncall_keys[O_N] = {"level", "rota", "overrides"};

static int cmp_level(const void *a, const void *b)
{
    const map_oncall *x = a, *y = b;
    return (x->level > y->level) - (x->level < y->level);
}

static void parse_oncall(cfg_src *s, const yaml_node_t *n, map_station *st)
{
    map_notify *nf = &st->notify;
    char got[64];
    if (!is_list(s, n, "oncall", "[{level: 1, rota: [...]}]"))
        return;
    size_t cnt = cfg_seq_len(n);
    if (cnt > 9) {
        cfg_err_at(s, n, "'oncall' has %zu levels, more than 9", cnt);
        return;
    }
    nf->oncall = cfg_calloc(cnt, sizeof *nf->oncall);
    for (size_t i = 0; i < cnt; i++) {
        yaml_node_t *it = item_at(s, n, i);
        if (!cfg_visit(s, it))
            return;
        if (it->type != YAML_MAPPING_NODE) {
            cfg_err_at(s, it, "each of 'oncall' must be a mapping with "
                       "'level' and 'rota', got %s", CFG_GOT(it));
            continue;
        }
        yaml_node_t *v[O_N], *k[O_N];
        cfg_get_keys(s, it, "oncall level", oncall_keys, O_N, v, k);
        map_oncall *o = &nf->oncall[nf->n_oncall++];
        o->line = line_of(it);
        o->col = col_of(it);
        int64_t lv = 0;
        if (cfg_require(s, it, "oncall level", "level", v[O_LEVEL]) &&
            cfg_get_int(s, "'level'", v[O_LEVEL], 1, 9, NULL, &lv) == 0) {
            o->level = (int)lv;
            for (size_t j = 0; j + 1 < nf->n_oncall; j++)
                if (nf->oncall[j].level == o->level)
                    cfg_err_at(s, v[O_LEVEL], "duplicate oncall level %d "
                               "(first defined at %s:%d:%d)", o->level,
                               s->file, nf->oncall[j].line,
                               nf->oncall[j].col);
        }
        if (cfg_require(s, it, "oncall level", "rota", v[O_ROTA]))
            parse_rota(s, v[O_ROTA], nf, o);
        if (v[O_OVERRIDES])
            parse_overrides(s, v[O_OVERRIDES], nf, o);
        if (o->level && v[O_ROTA])
            check_coverage(s, st, o);
        for (size_t j = 0; j < o->n_shifts; j++) {
            const map_person *p = &nf->people[o->shifts[j].person];
            if (!p->email)
                warn_at(s, st, o->shifts[j].line, o->shifts[j].col,
                        "oncall level %d: '%s' has no email: the on-call "
                        "mail cannot reach them", o->level, p->id);
        }
    }
    qsort(nf->oncall, nf->n_oncall, sizeof *nf->oncall, cmp_level);
}

/* ---- routes ------------------------------------------------------------- */

enum { R_PRIO, R_AREA, R_NOTIFY, R_ESCALATE, R_REPEAT, R_ON_CLEAR, R_N };
static const char *const route_keys[R_N] = {
    "priority", "area", "notify", "escalate_after", "repeat", "on_clear"};

/* A scalar or a list of scalars: each item through fn.  The count of
 * items, 0 when n is neither. */
static size_t for_items(cfg_src *s, const yaml_node_t *n, const char *what,
                        void (*fn)(cfg_src *, const yaml_node_t *, void *),
                        void *ctx)
{
    char got[64];
    if (n->type == YAML_SCALAR_NODE && !cfg_is_null(n)) {
        fn(s, n, ctx);
        return 1;
    }
    if (n->type != YAML_SEQUENCE_NODE || cfg_seq_len(n) == 0) {
        cfg_err_at(s, n, "'%s' must be a name or a non-empty list of names, "
                   "got %s", what, CFG_GOT(n));
        return 0;
    }
    for (size_t i = 0; i < cfg_seq_len(n); i++) {
        yaml_node_t *it = item_at(s, n, i);
        if (!cfg_visit(s, it))
            break;
        fn(s, it, ctx);
    }
    return cfg_seq_len(n);
}

static void add_prio(cfg_src *s, const yaml_node_t *n, void *ctx)
{
    map_route *r = ctx;
    static const char *const names[MAP_PRIO_N] = {"critical", "high",
                                                  "medium", "low"};
    int p;
    if (cfg_get_enum(s, "each of 'priority'", n, names, MAP_PRIO_N, &p) == 0)
        r->priorities |= (uint8_t)(1u << p);
}

static void add_area(cfg_src *s, const yaml_node_t *n, void *ctx)
{
    map_route *r = ctx;
    char *a = NULL;
    if (cfg_get_str(s, "each of 'area'", n, &a) == 0)
        r->areas[r->n_areas++] = a;
}

typedef struct {
    map_route *r;
    const map_notify *nf;
} route_ctx;

static void add_target(cfg_src *s, const yaml_node_t *n, void *ctx)
{
    route_ctx *rc = ctx;
    char *t = NULL;
    if (cfg_get_str(s, "each of 'notify'", n, &t) < 0)
        return;
    if (strcmp(t, "oncall") == 0) {
        rc->r->oncall = true;
        free(t);
        return;
    }
    size_t i = 0;
    while (i < rc->nf->n_channels &&
           !(rc->nf->channels[i].id && strcmp(rc->nf->channels[i].id, t) == 0))
        i++;
    if (i == rc->nf->n_channels) {
        char list[256] = "";
        for (size_t j = 0; j < rc->nf->n_channels; j++) {
            size_t l = strlen(list);
            if (rc->nf->channels[j].id)
                snprintf(list + l, sizeof list - l, "%s%s", l ? ", " : "",
                         rc->nf->channels[j].id);
        }
        cfg_err_at(s, n, "route notifies '%s', which is neither a channel "
                   "(%s) nor oncall", t, list[0] ? list : "none defined");
    } else {
        bool dup = false;
        for (size_t j = 0; j < rc->r->n_channels; j++)
            dup |= rc->r->channels[j] == i;
        if (!dup)
            rc->r->channels[rc->r->n_channels++] = i;
    }
    free(t);
}

static void parse_routes(cfg_src *s, const yaml_node_t *n, map_notify *nf)
{
    char got[64];
    if (!is_list(s, n, "routes", "[{priority: [critical, high], notify: "
                 "[oncall]}]"))
        return;
    size_t cnt = cfg_seq_len(n);
    nf->routes = cfg_calloc(cnt, sizeof *nf->routes);
    for (size_t i = 0; i < cnt; i++) {
        yaml_node_t *it = item_at(s, n, i);
        if (!cfg_visit(s, it))
            return;
        if (it->type != YAML_MAPPING_NODE) {
            cfg_err_at(s, it, "each route must be a mapping with 'notify', "
                       "got %s", CFG_GOT(it));
            continue;
        }
        yaml_node_t *v[R_N], *k[R_N];
        cfg_get_keys(s, it, "route", route_keys, R_N, v, k);
        map_route *r = &nf->routes[nf->n_routes++];
        r->line = line_of(it);
        r->col = col_of(it);
        if (v[R_PRIO])
            for_items(s, v[R_PRIO], "priority", add_prio, r);
        else
            r->priorities = (uint8_t)((1u << MAP_PRIO_N) - 1);
        if (v[R_AREA]) {
            size_t na = v[R_AREA]->type == YAML_SEQUENCE_NODE
                            ? cfg_seq_len(v[R_AREA]) : 1;
            r->areas = cfg_calloc(na, sizeof *r->areas);
            for_items(s, v[R_AREA], "area", add_area, r);
        }
        if (!v[R_NOTIFY]) {
            cfg_err_at(s, it, "route names no channel: give 'notify', a list "
                       "of channel ids and/or oncall");
        } else {
            size_t nn = v[R_NOTIFY]->type == YAML_SEQUENCE_NODE
                            ? cfg_seq_len(v[R_NOTIFY]) : 1;
            r->channels = cfg_calloc(nn, sizeof *r->channels);
            route_ctx rc = {r, nf};
            for_items(s, v[R_NOTIFY], "notify", add_target, &rc);
        }
        if (v[R_ESCALATE])
            cfg_get_duration(s, "'escalate_after'", v[R_ESCALATE],
                             &r->escalate_after_ns);
        if (v[R_REPEAT])
            cfg_get_duration(s, "'repeat'", v[R_REPEAT], &r->repeat_ns);
        if (v[R_ON_CLEAR])
            cfg_get_bool(s, "'on_clear'", v[R_ON_CLEAR], &r->on_clear);
        if (r->oncall && nf->n_oncall == 0)
            cfg_err_at(s, v[R_NOTIFY], "route notifies oncall, but "
                       "notify.oncall has no levels");
        if (r->oncall) {
            bool mail = false;
            for (size_t j = 0; j < nf->n_channels; j++)
                mail |= nf->channels[j].type == MAP_CH_EMAIL;
            if (!mail)
                cfg_err_at(s, v[R_NOTIFY], "route notifies oncall, but no "
                           "channel of type email exists to reach people by");
        }
        /* oncall: the page and the escalation step; repeat: its step */
        size_t rows = (r->oncall ? 2 : 0) + (r->repeat_ns ? 1 : 0);
        for (size_t j = 0; j < r->n_channels; j++)
            rows += nf->channels[r->channels[j]].type == MAP_CH_EMAIL
                        ? nf->channels[r->channels[j]].n_to : 1;
        if (rows > MAP_ROUTE_ROWS_MAX)
            cfg_err_at(s, v[R_NOTIFY], "route makes %zu notifications of "
                       "each alarm event, more than %d", rows,
                       MAP_ROUTE_ROWS_MAX);
        for (size_t j = 0; j < r->n_channels; j++) {
            const map_channel *c = &nf->channels[r->channels[j]];
            if (c->type == MAP_CH_EMAIL && c->n_to == 0)
                cfg_err_at(s, v[R_NOTIFY], "route notifies email channel "
                           "'%s', which has no 'to' addresses (use oncall to "
                           "mail the people on call)", c->id);
        }
    }
}

/* ---- the section -------------------------------------------------------- */

enum { N_PEOPLE, N_CHANNELS, N_ONCALL, N_ROUTES, N_GROUP, N_PUBLIC_URL,
       N_TIMEZONE, N_JOURNAL, N_RETENTION, N_N };
static const char *const notify_keys[N_N] = {
    "people", "channels", "oncall", "routes", "group", "public_url",
    "timezone", "journal", "retention"};

enum { G_WAIT, G_INTERVAL, G_N };
static const char *const group_keys[G_N] = {"wait", "interval"};

static void notify_parse(cfg_src *s, const yaml_node_t *n, map_station *st)
{
    map_notify *nf = &st->notify;
    char got[64];
    if (n->type != YAML_MAPPING_NODE) {
        cfg_err_at(s, n, "'notify' must be a mapping with 'people', "
                   "'channels', 'oncall' and 'routes', got %s", CFG_GOT(n));
        return;
    }
    nf->enabled = true;
    nf->line = line_of(n);
    nf->col = col_of(n);
    yaml_node_t *v[N_N], *k[N_N];
    cfg_get_keys(s, n, "notify", notify_keys, N_N, v, k);
    if (v[N_PEOPLE])
        parse_people(s, v[N_PEOPLE], nf);
    if (v[N_CHANNELS])
        parse_channels(s, v[N_CHANNELS], nf);
    if (v[N_ONCALL])
        parse_oncall(s, v[N_ONCALL], st);
    if (v[N_ROUTES])
        parse_routes(s, v[N_ROUTES], nf);
    else
        warn_at(s, st, nf->line, nf->col, "notify has no routes: no alarm "
                "is notified");
    const yaml_node_t *g = v[N_GROUP];
    if (g && g->type != YAML_MAPPING_NODE) {
        cfg_err_at(s, g, "'group' must be a mapping such as {wait: 30s, "
                   "interval: 5m}, got %s", CFG_GOT(g));
    } else if (g) {
        yaml_node_t *gv[G_N], *gk[G_N];
        cfg_get_keys(s, g, "group", group_keys, G_N, gv, gk);
        const char *w = cfg_scalar(gv[G_WAIT]);
        /* 0s is a valid wait: every alarm on its own, at once. */
        if (w && strcmp(w, "0s") == 0)
            nf->group_wait_ns = 0;
        else if (gv[G_WAIT])
            cfg_get_duration(s, "'wait'", gv[G_WAIT], &nf->group_wait_ns);
        /* 0s: no flood summaries, every group as it is due */
        const char *iv = cfg_scalar(gv[G_INTERVAL]);
        if (iv && strcmp(iv, "0s") == 0)
            nf->group_interval_ns = 0;
        else if (gv[G_INTERVAL])
            cfg_get_duration(s, "'interval'", gv[G_INTERVAL],
                             &nf->group_interval_ns);
    }
    if (v[N_PUBLIC_URL] &&
        cfg_get_str(s, "'public_url'", v[N_PUBLIC_URL], &nf->public_url) == 0 &&
        strncmp(nf->public_url, "http://", 7) != 0 &&
        strncmp(nf->public_url, "https://", 8) != 0)
        cfg_err_at(s, v[N_PUBLIC_URL], "'public_url' must start with http:// "
                   "or https://, got '%s'", nf->public_url);
    if (v[N_TIMEZONE] &&
        cfg_get_str(s, "'timezone'", v[N_TIMEZONE], &nf->timezone) == 0 &&
        !cfg_timezone_exists(nf->timezone))
        cfg_err_at(s, v[N_TIMEZONE], "unknown timezone '%s' (no such file in "
                   "/usr/share/zoneinfo/)", nf->timezone);
    if (v[N_JOURNAL])
        cfg_get_str(s, "'journal'", v[N_JOURNAL], &nf->journal);
    if (v[N_RETENTION])
        cfg_get_retention(s, v[N_RETENTION], &nf->retention_ns);
}

/* Runs before station.c gives station.timezone its default, so a zone
 * written there is told from none. */
static void notify_finish(cfg_src *s, map_station *st)
{
    (void)s;
    map_notify *nf = &st->notify;
    if (!nf->enabled)
        return;
    if (!nf->timezone && st->timezone)
        nf->timezone = cfg_strdup(st->timezone);
    if (!nf->journal)
        nf->journal = cfg_data_path(st, "notify.db");
    /* notify.<channel>.failing would read as PLC notify's tag <channel>,
     * alarm failing: one of the two must go. */
    bool alarms = false;
    for (size_t i = 0; i < nf->n_channels; i++)
        alarms |= nf->channels[i].fail_alarm.enabled;
    for (size_t p = 0; alarms && p < st->n_plcs; p++)
        if (st->plcs[p].id && strcmp(st->plcs[p].id, "notify") == 0)
            cfg_err_pos(s, nf->line, nf->col, "the PLC at %s:%d:%d must "
                        "not be called 'notify' while notify channels have "
                        "their own alarms (notify.<channel>.failing): rename "
                        "it or give each channel fail_alarm: false",
                        st->plcs[p].file ? st->plcs[p].file : s->file,
                        st->plcs[p].line, st->plcs[p].col);
}

void cfg_notify_free(map_notify *nf)
{
    for (size_t i = 0; i < nf->n_people; i++) {
        map_person *p = &nf->people[i];
        free(p->id);
        free(p->name);
        free(p->email);
        free(p->phone);
        free(p->wecom);
    }
    free(nf->people);
    for (size_t i = 0; i < nf->n_channels; i++) {
        map_channel *c = &nf->channels[i];
        char *strs[] = {c->id, c->url, c->url_env, c->url_file, c->from,
                        c->username, c->password_env, c->password_file,
                        c->secret_env, c->secret_file, c->topic,
                        c->summary_topic, c->client_id, c->ca_file};
        for (size_t j = 0; j < CFG_COUNT(strs); j++)
            free(strs[j]);
        for (size_t j = 0; j < c->n_to; j++)
            free(c->to[j]);
        free(c->to);
        cfg_alarm_free(&c->fail_alarm);
    }
    free(nf->channels);
    for (size_t i = 0; i < nf->n_oncall; i++) {
        free(nf->oncall[i].shifts);
        free(nf->oncall[i].overrides);
    }
    free(nf->oncall);
    for (size_t i = 0; i < nf->n_routes; i++) {
        for (size_t j = 0; j < nf->routes[i].n_areas; j++)
            free(nf->routes[i].areas[j]);
        free(nf->routes[i].areas);
        free(nf->routes[i].channels);
    }
    free(nf->routes);
    free(nf->public_url);
    free(nf->timezone);
    free(nf->journal);
}

const cfg_section cfg_notify_section = {
    .key = "notify",
    .defaults = notify_defaults,
    .parse = notify_parse,
    .finish = notify_finish,
};
