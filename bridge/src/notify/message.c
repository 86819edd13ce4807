/*
 * message.c - the texts of notifications (message.h).
 *
 * Mail bodies go base64 so that Chinese text and long lines survive every
 * relay (7bit would need quoted-printable, 8bit is not safe everywhere);
 * the subject is one RFC 2047 encoded word per 39 bytes of UTF-8, cut
 * between characters, so no line exceeds 78 characters.
 */
#include "notify/message.h"

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/strbuf.h"

static const char *const prio_zh[] = {"紧急", "高", "中", "低"};
static const char *const prio_order[] = {"critical", "high", "medium",
                                         "low"};

static int nmsg_prio_rank(const char *p)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(p, prio_order[i]) == 0)
            return i;
    return 4;
}

/* The most urgent priority of the group. */
static int nmsg_top_prio(const nj_row *rows, size_t n)
{
    int top = 4;
    for (size_t i = 0; i < n; i++) {
        int r = nmsg_prio_rank(rows[i].a.priority);
        if (r < top)
            top = r;
    }
    return top;
}

/* The rows a message lists, in the order it lists them, into idx: all
 * of them as they came; a summary (more than NMSG_SUMMARY_AT) its
 * NMSG_SUMMARY_AT most urgent, by priority and then as they came.  How
 * many. */
static size_t nmsg_listed(const nj_row *rows, size_t n, size_t *idx)
{
    if (n > NOTIFY_MSG_ROWS_MAX)   /* the rest are counted, not ranked */
        n = NOTIFY_MSG_ROWS_MAX;
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    if (n <= NMSG_SUMMARY_AT)
        return n;
    for (size_t i = 1; i < n; i++) {   /* stable: at most a few hundred */
        size_t x = idx[i], j = i;
        int r = nmsg_prio_rank(rows[x].a.priority);
        while (j > 0 && nmsg_prio_rank(rows[idx[j - 1]].a.priority) > r) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = x;
    }
    return NMSG_SUMMARY_AT;
}

/* A summary's first line: "17 new alarm events: 3 critical, 14 high" /
 * "17 条新报警事件：紧急 3，高 14". */
static void nmsg_summary_line(strbuf *b, const nj_row *rows, size_t n,
                              bool zh)
{
    size_t by[5] = {0};
    for (size_t i = 0; i < n; i++)
        by[nmsg_prio_rank(rows[i].a.priority)]++;
    sb_printf(b, zh ? "%zu 条新报警事件：" : "%zu new alarm events: ", n);
    bool first = true;
    for (int r = 0; r < 5; r++) {
        if (!by[r])
            continue;
        if (zh)
            sb_printf(b, "%s%s %zu", first ? "" : "，",
                      r < 4 ? prio_zh[r] : "其他", by[r]);
        else
            sb_printf(b, "%s%zu %s", first ? "" : ", ", by[r],
                      r < 4 ? prio_order[r] : "other");
        first = false;
    }
}

static char *nmsg_alarms_url(const map_station *st);

/* A summary's last line: how many are not listed and where they are. */
static void nmsg_more_line(strbuf *b, const map_station *st, size_t n,
                           size_t shown)
{
    sb_printf(b, "... and %zu more / 另有 %zu 条", n - shown, n - shown);
    char *list = nmsg_alarms_url(st);
    if (list)
        sb_printf(b, ": %s", list);
    free(list);
}

static const char *nmsg_event_en(const char *ev)
{
    if (strcmp(ev, "active") == 0)
        return "active";
    if (strcmp(ev, "clear") == 0)
        return "cleared";
    if (strcmp(ev, "ack") == 0)
        return "acknowledged";
    if (strcmp(ev, "repeat") == 0)
        return "still active, not acknowledged";
    return ev;
}

static const char *nmsg_event_zh(const char *ev)
{
    if (strcmp(ev, "active") == 0)
        return "报警";
    if (strcmp(ev, "clear") == 0)
        return "恢复";
    if (strcmp(ev, "test") == 0)
        return "测试";
    if (strcmp(ev, "ack") == 0)
        return "已确认";
    if (strcmp(ev, "repeat") == 0)
        return "仍未确认";
    return ev;
}

static void nmsg_upper(const char *s, char *out, size_t len)
{
    size_t i = 0;
    for (; s[i] && i + 1 < len; i++)
        out[i] = (char)(s[i] >= 'a' && s[i] <= 'z' ? s[i] - 32 : s[i]);
    out[i] = '\0';
}

void nmsg_subject(const map_station *st, const nj_row *rows, size_t n,
                  char *buf, size_t len)
{
    int top = nmsg_top_prio(rows, n);
    char up[16];
    nmsg_upper(top < 4 ? prio_order[top] : "?", up, sizeof up);
    const char *station = st->name.en ? st->name.en : st->id;
    char nth[32] = "";
    if (rows[0].repeat)
        snprintf(nth, sizeof nth, " (reminder %d)", rows[0].repeat);
    if (n == 1)
        snprintf(buf, len, "[%s %s] %s: %s %s%s - %s", up,
                 top < 4 ? prio_zh[top] : "", station, rows[0].a.alarm,
                 nmsg_event_en(rows[0].a.event), nth, rows[0].a.msg_en);
    else
        snprintf(buf, len, "[%s %s] %s: %zu alarms - %s %s, ...", up,
                 top < 4 ? prio_zh[top] : "", station, n, rows[0].a.alarm,
                 nmsg_event_en(rows[0].a.event));
}

/* "2026-12-02 10:15:03 CST" in the process's zone. */
static void nmsg_local(int64_t ns, char *buf, size_t len)
{
    time_t t = (time_t)(ns / 1000000000);
    struct tm tm;
    if (!localtime_r(&t, &tm) ||
        !strftime(buf, len, "%Y-%m-%d %H:%M:%S %Z", &tm))
        snprintf(buf, len, "?");
}

static void nmsg_value(const nj_alarm *a, char *buf, size_t len)
{
    if (a->has_value)
        snprintf(buf, len, "%.6g", a->value);
    else
        snprintf(buf, len, "-");
}

static void nmsg_html_esc(strbuf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': sb_puts(b, "&lt;"); break;
        case '>': sb_puts(b, "&gt;"); break;
        case '&': sb_puts(b, "&amp;"); break;
        case '"': sb_puts(b, "&quot;"); break;
        default: sb_putc(b, *s);
        }
    }
}

#define NMSG_LINK(links, i) ((links) && (links)[i] ? (links)[i] : NULL)

static void nmsg_text_body(strbuf *b, const map_station *st,
                           const nj_row *rows, size_t n,
                           const char *const *links)
{
    const char *name_en = st->name.en ? st->name.en : st->id;
    const char *name_zh = st->name.zh ? st->name.zh : name_en;
    char when[64], val[32], up[16];
    size_t idx[NOTIFY_MSG_ROWS_MAX];
    size_t shown = nmsg_listed(rows, n, idx);
    sb_printf(b, "%s (%s): %zu alarm event%s\n\n", name_en, st->id, n,
              n == 1 ? "" : "s");
    if (shown < n) {
        nmsg_summary_line(b, rows, n, false);
        sb_puts(b, "\n");
        nmsg_summary_line(b, rows, n, true);
        sb_puts(b, "\n\n");
    }
    for (size_t j = 0; j < shown; j++) {
        size_t i = idx[j];
        const nj_alarm *a = &rows[i].a;
        nmsg_local(a->ts_ns, when, sizeof when);
        nmsg_value(a, val, sizeof val);
        nmsg_upper(a->priority, up, sizeof up);
        sb_printf(b, "%s  %s  %s  (area %s)\n  %s\n  value %s, at %s, "
                  "state %s\n", up, nmsg_event_en(a->event), a->alarm,
                  a->area, a->msg_en, val, when, a->state);
        if (NMSG_LINK(links, i))
            sb_printf(b, "  Acknowledge / 确认: %s\n", links[i]);
        sb_putc(b, '\n');
    }
    if (shown < n) {
        nmsg_more_line(b, st, n, shown);
        sb_puts(b, "\n\n");
    }
    sb_printf(b, "---\n%s：%zu 条报警事件\n\n", name_zh, n);
    for (size_t j = 0; j < shown; j++) {
        size_t i = idx[j];
        const nj_alarm *a = &rows[i].a;
        int r = nmsg_prio_rank(a->priority);
        nmsg_local(a->ts_ns, when, sizeof when);
        nmsg_value(a, val, sizeof val);
        sb_printf(b, "%s  %s  %s（区域 %s）\n  %s\n  数值 %s，时间 %s\n\n",
                  r < 4 ? prio_zh[r] : a->priority, nmsg_event_zh(a->event),
                  a->alarm, a->area, a->msg_zh[0] ? a->msg_zh : a->msg_en,
                  val, when);
    }
    if (st->notify.public_url)
        sb_printf(b, "%s\n", st->notify.public_url);
    sb_puts(b, "-- lockbridge\n");
}

static void nmsg_html_body(strbuf *b, const map_station *st,
                           const nj_row *rows, size_t n,
                           const char *const *links)
{
    const char *name_en = st->name.en ? st->name.en : st->id;
    const char *name_zh = st->name.zh ? st->name.zh : name_en;
    char when[64], val[32];
    size_t idx[NOTIFY_MSG_ROWS_MAX];
    size_t shown = nmsg_listed(rows, n, idx);
    sb_puts(b, "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head>"
               "<body style=\"font-family:sans-serif\"><h3>");
    nmsg_html_esc(b, name_en);
    sb_puts(b, " / ");
    nmsg_html_esc(b, name_zh);
    sb_puts(b, "</h3>");
    if (shown < n) {
        strbuf line;
        sb_init(&line, 0);
        nmsg_summary_line(&line, rows, n, false);
        sb_puts(&line, " / ");
        nmsg_summary_line(&line, rows, n, true);
        sb_puts(b, "<p><b>");
        nmsg_html_esc(b, sb_data(&line));
        sb_puts(b, "</b></p>");
        b->failed |= line.failed;
        sb_free(&line);
    }
    sb_puts(b, "<table border=\"1\" cellpadding=\"4\" "
               "style=\"border-collapse:collapse\"><tr><th>priority 优先级"
               "</th><th>event 事件</th><th>alarm 报警</th><th>area 区域</th>"
               "<th>message 信息</th><th>value 数值</th><th>time 时间</th>"
               "</tr>");
    for (size_t j = 0; j < shown; j++) {
        size_t i = idx[j];
        const nj_alarm *a = &rows[i].a;
        int r = nmsg_prio_rank(a->priority);
        nmsg_local(a->ts_ns, when, sizeof when);
        nmsg_value(a, val, sizeof val);
        sb_puts(b, "<tr><td>");
        nmsg_html_esc(b, a->priority);
        sb_printf(b, " %s</td><td>", r < 4 ? prio_zh[r] : "");
        nmsg_html_esc(b, nmsg_event_en(a->event));
        sb_printf(b, " %s</td><td>", nmsg_event_zh(a->event));
        nmsg_html_esc(b, a->alarm);
        sb_puts(b, "</td><td>");
        nmsg_html_esc(b, a->area);
        sb_puts(b, "</td><td>");
        nmsg_html_esc(b, a->msg_en);
        sb_puts(b, "<br>");
        nmsg_html_esc(b, a->msg_zh[0] ? a->msg_zh : a->msg_en);
        sb_puts(b, "</td><td>");
        nmsg_html_esc(b, val);
        sb_puts(b, "</td><td>");
        nmsg_html_esc(b, when);
        if (NMSG_LINK(links, i)) {
            sb_puts(b, "<br><a href=\"");
            nmsg_html_esc(b, links[i]);
            sb_puts(b, "\">Acknowledge 确认</a>");
        }
        sb_puts(b, "</td></tr>");
    }
    sb_puts(b, "</table>");
    if (shown < n) {
        strbuf line;
        sb_init(&line, 0);
        nmsg_more_line(&line, st, n, shown);
        sb_puts(b, "<p>");
        nmsg_html_esc(b, sb_data(&line));
        sb_puts(b, "</p>");
        b->failed |= line.failed;
        sb_free(&line);
    }
    if (st->notify.public_url) {
        sb_puts(b, "<p><a href=\"");
        nmsg_html_esc(b, st->notify.public_url);
        sb_puts(b, "\">");
        nmsg_html_esc(b, st->notify.public_url);
        sb_puts(b, "</a></p>");
    }
    sb_puts(b, "<p>-- lockbridge</p></body></html>");
}

/* data as base64 in lines of 76 (RFC 2045 6.8). */
static void nmsg_b64_lines(strbuf *out, const char *data, size_t len)
{
    for (size_t off = 0; off < len || (off == 0 && len == 0); off += 57) {
        size_t k = len - off < 57 ? len - off : 57;
        unsigned char line[80];
        int w = EVP_EncodeBlock(line, (const unsigned char *)data + off,
                                (int)k);
        sb_add(out, (const char *)line, (size_t)w);
        sb_puts(out, "\r\n");
        if (len == 0)
            break;
    }
}

/* The subject as RFC 2047 encoded words, each at most 39 bytes of UTF-8
 * before encoding and never cutting a character. */
static void nmsg_subject_words(strbuf *out, const char *s)
{
    size_t len = strlen(s), off = 0;
    bool first = true;
    while (off < len) {
        size_t k = len - off < 39 ? len - off : 39;
        while (off + k < len && ((unsigned char)s[off + k] & 0xC0) == 0x80)
            k--;
        unsigned char enc[80];
        int w = EVP_EncodeBlock(enc, (const unsigned char *)s + off, (int)k);
        sb_printf(out, "%s=?UTF-8?B?%.*s?=", first ? "" : "\r\n ", w,
                  (const char *)enc);
        first = false;
        off += k;
    }
}

char *nmsg_email(const map_station *st, const char *from,
                 const char *const *to, size_t n_to, const nj_row *rows,
                 size_t n, const char *const *links, int64_t now_ns)
{
    strbuf m, part;
    sb_init(&m, 0);
    sb_init(&part, 0);
    char subject[512], date[64], boundary[64];
    nmsg_subject(st, rows, n, subject, sizeof subject);
    time_t t = (time_t)(now_ns / 1000000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    snprintf(boundary, sizeof boundary, "lb-%lld-%lld",
             (long long)now_ns, (long long)(n ? rows[0].id : 0));
    sb_printf(&m, "From: %s\r\nTo: ", from);
    for (size_t i = 0; i < n_to; i++)
        sb_printf(&m, "%s%s", i ? ", " : "", to[i]);
    sb_puts(&m, "\r\nSubject: ");
    nmsg_subject_words(&m, subject);
    sb_printf(&m, "\r\nDate: %s\r\nMessage-ID: <%s.%s@lockbridge>\r\n"
              "MIME-Version: 1.0\r\nAuto-Submitted: auto-generated\r\n"
              "Content-Type: multipart/alternative; boundary=\"%s\"\r\n"
              "\r\n--%s\r\nContent-Type: text/plain; charset=UTF-8\r\n"
              "Content-Transfer-Encoding: base64\r\n\r\n", date, boundary,
              st->id, boundary, boundary);
    nmsg_text_body(&part, st, rows, n, links);
    nmsg_b64_lines(&m, sb_data(&part), part.len);
    sb_printf(&m, "\r\n--%s\r\nContent-Type: text/html; charset=UTF-8\r\n"
              "Content-Transfer-Encoding: base64\r\n\r\n", boundary);
    sb_reset(&part);
    nmsg_html_body(&part, st, rows, n, links);
    nmsg_b64_lines(&m, sb_data(&part), part.len);
    sb_printf(&m, "\r\n--%s--\r\n", boundary);
    bool failed = m.failed || part.failed;
    sb_free(&part);
    char *mem = NULL;
    if (failed) {
        sb_free(&m);
        return NULL;
    }
    sb_steal(&m, &mem);
    return mem;
}

cJSON *nmsg_time(int64_t ns)
{
    if (!ns)
        return cJSON_CreateNull();
    char buf[40];
    clk_format_rfc3339(ns, buf, sizeof buf);
    return cJSON_CreateString(buf);
}

char *nmsg_webhook(const map_station *st, const nj_row *rows, size_t n,
                   const char *const *links, int64_t now_ns)
{
    cJSON *root = cJSON_CreateObject(), *station, *name, *alarms;
    if (!root)
        return NULL;
    cJSON_AddNumberToObject(root, "version", 1);
    station = cJSON_AddObjectToObject(root, "station");
    if (station) {
        cJSON_AddStringToObject(station, "id", st->id);
        name = cJSON_AddObjectToObject(station, "name");
        if (name) {
            cJSON_AddStringToObject(name, "en", st->name.en ? st->name.en
                                                            : st->id);
            cJSON_AddStringToObject(name, "zh", st->name.zh ? st->name.zh
                                    : (st->name.en ? st->name.en : st->id));
        }
    }
    cJSON_AddItemToObject(root, "sent", nmsg_time(now_ns));
    if (st->notify.public_url)
        cJSON_AddStringToObject(root, "url", st->notify.public_url);
    else
        cJSON_AddNullToObject(root, "url");
    alarms = cJSON_AddArrayToObject(root, "alarms");
    for (size_t i = 0; alarms && i < n; i++) {
        const nj_alarm *a = &rows[i].a;
        cJSON *o = cJSON_CreateObject(), *msg;
        if (!o)
            break;
        cJSON_AddItemToArray(alarms, o);
        cJSON_AddStringToObject(o, "id", a->alarm);
        cJSON_AddNumberToObject(o, "notification", (double)rows[i].id);
        cJSON_AddNumberToObject(o, "seq", (double)a->rec_seq);
        cJSON_AddStringToObject(o, "event", a->event);
        cJSON_AddNumberToObject(o, "repeat", rows[i].repeat);
        cJSON_AddStringToObject(o, "state", a->state);
        cJSON_AddStringToObject(o, "priority", a->priority);
        cJSON_AddStringToObject(o, "area", a->area);
        msg = cJSON_AddObjectToObject(o, "message");
        if (msg) {
            cJSON_AddStringToObject(msg, "en", a->msg_en);
            cJSON_AddStringToObject(msg, "zh", a->msg_zh[0] ? a->msg_zh
                                                            : a->msg_en);
        }
        if (a->has_value)
            cJSON_AddNumberToObject(o, "value", a->value);
        else
            cJSON_AddNullToObject(o, "value");
        cJSON_AddItemToObject(o, "time", nmsg_time(a->ts_ns));
        cJSON_AddItemToObject(o, "active_since", nmsg_time(a->active_ns));
        if (NMSG_LINK(links, i))
            cJSON_AddStringToObject(o, "ack_url", links[i]);
        else
            cJSON_AddNullToObject(o, "ack_url");
    }
    char *out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return out;
}

void nmsg_ack_text(const nj_alarm *a, char *en, size_t en_len, char *zh,
                   size_t zh_len)
{
    char when[64];
    nmsg_local(a->ts_ns, when, sizeof when);
    const char *who = a->by[0] ? a->by : "?";
    snprintf(en, en_len, "acknowledged by %s at %s", who, when);
    snprintf(zh, zh_len, "%s 于 %s 确认", who, when);
}

void nmsg_test_row(const map_station *st, nj_row *out, int64_t now_ns)
{
    memset(out, 0, sizeof *out);
    snprintf(out->a.alarm, sizeof out->a.alarm, "%s.notify.test", st->id);
    snprintf(out->a.event, sizeof out->a.event, "test");
    snprintf(out->a.state, sizeof out->a.state, "normal");
    snprintf(out->a.priority, sizeof out->a.priority, "low");
    snprintf(out->a.area, sizeof out->a.area, "station");
    snprintf(out->a.msg_en, sizeof out->a.msg_en, "Test message from "
             "lockbridge: this channel works");
    snprintf(out->a.msg_zh, sizeof out->a.msg_zh, "lockbridge 测试消息："
             "此通道可用");
    out->a.ts_ns = now_ns;
}

/* The markdown both robots take: a title line, one line per alarm (cut
 * to fit NMSG_WECOM_MAX with room for the tail), the link, the mention. */
static void nmsg_robot_text(strbuf *b, const map_station *st,
                            map_channel_type type, const map_person *mention,
                            const nj_row *rows, size_t n,
                            const char *const *links)
{
    const char *name_en = st->name.en ? st->name.en : st->id;
    const char *name_zh = st->name.zh ? st->name.zh : name_en;
    char when[64], val[32], tail[512] = "";
    size_t tl = 0;
    if (st->notify.public_url)
        tl += (size_t)snprintf(tail + tl, sizeof tail - tl, "\n[%s](%s)",
                               st->notify.public_url, st->notify.public_url);
    if (mention && type == MAP_CH_WECOM && mention->wecom)
        snprintf(tail + tl, sizeof tail - tl, "\n<@%s>", mention->wecom);
    else if (mention && type == MAP_CH_DINGTALK && mention->phone)
        snprintf(tail + tl, sizeof tail - tl, "\n@%s", mention->phone);
    int top = nmsg_top_prio(rows, n);
    sb_printf(b, "### %s %s %s / %s: %zu\n", top < 4 ? prio_order[top] : "",
              top < 4 ? prio_zh[top] : "", name_en, name_zh, n);
    size_t idx[NOTIFY_MSG_ROWS_MAX];
    size_t shown = nmsg_listed(rows, n, idx);
    if (shown < n) {
        sb_puts(b, "**");
        nmsg_summary_line(b, rows, n, false);
        sb_puts(b, "** / **");
        nmsg_summary_line(b, rows, n, true);
        sb_puts(b, "**\n");
    }
    size_t budget = NMSG_WECOM_MAX - strlen(tail) - 160;
    size_t j = 0;
    for (; j < shown; j++) {
        size_t i = idx[j];
        const nj_alarm *a = &rows[i].a;
        int r = nmsg_prio_rank(a->priority);
        nmsg_local(a->ts_ns, when, sizeof when);
        nmsg_value(a, val, sizeof val);
        size_t before = b->len;
        sb_printf(b, "> **%s %s** %s %s %s (%s)\n> %s / %s, %s %s",
                  a->priority, r < 4 ? prio_zh[r] : "", a->alarm,
                  nmsg_event_en(a->event), nmsg_event_zh(a->event), a->area,
                  a->msg_en, a->msg_zh[0] ? a->msg_zh : a->msg_en, val, when);
        if (NMSG_LINK(links, i))
            sb_printf(b, " [Acknowledge 确认](%s)", links[i]);
        sb_putc(b, '\n');
        if (b->len > budget) {
            b->len = before;
            break;
        }
    }
    if (j < n) {
        sb_puts(b, "> ");
        nmsg_more_line(b, st, n, j);
        sb_putc(b, '\n');
    }
    sb_puts(b, tail);
}

/* The dashboard's alarm list, malloc'd; NULL without public_url. */
static char *nmsg_alarms_url(const map_station *st)
{
    const char *base = st->notify.public_url;
    if (!base)
        return NULL;
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/')
        bl--;
    char *u = malloc(bl + 10);
    if (u)
        snprintf(u, bl + 10, "%.*s/#/alarms", (int)bl, base);
    return u;
}

char *nmsg_dingtalk_card(const map_station *st, const map_person *mention,
                         const nj_row *rows, size_t n,
                         const char *const *links)
{
    size_t nl = 0, first = 0;
    for (size_t i = 0; i < n; i++)
        if (NMSG_LINK(links, i) && nl++ == 0)
            first = i;
    char *list = nmsg_alarms_url(st);
    if (!nl && !list)   /* a card needs a button, and there is nowhere */
        return nmsg_robot(st, MAP_CH_DINGTALK, mention, rows, n, links);
    strbuf text;
    sb_init(&text, 0);
    nmsg_robot_text(&text, st, MAP_CH_DINGTALK, mention, rows, n, links);
    cJSON *root = cJSON_CreateObject(), *card, *btns;
    char *out = NULL, title[512];
    if (!root || text.failed)
        goto done;
    cJSON_AddStringToObject(root, "msgtype", "actionCard");
    card = cJSON_AddObjectToObject(root, "actionCard");
    if (!card)
        goto done;
    nmsg_subject(st, rows, n, title, sizeof title);
    cJSON_AddStringToObject(card, "title", title);
    cJSON_AddStringToObject(card, "text", sb_data(&text));
    cJSON_AddStringToObject(card, "btnOrientation", "0");
    if (nl == 1) {
        cJSON_AddStringToObject(card, "singleTitle", "Acknowledge 确认");
        cJSON_AddStringToObject(card, "singleURL", links[first]);
    } else if (nl == 0) {
        cJSON_AddStringToObject(card, "singleTitle", "Open alarms 打开报警");
        cJSON_AddStringToObject(card, "singleURL", list);
    } else if ((btns = cJSON_AddArrayToObject(card, "btns"))) {
        /* one button per alarm up to NMSG_CARD_BUTTONS, then the list */
        size_t k = 0;
        for (size_t i = 0; i < n && k < NMSG_CARD_BUTTONS; i++) {
            if (!NMSG_LINK(links, i))
                continue;
            if (k == NMSG_CARD_BUTTONS - 1 && nl > NMSG_CARD_BUTTONS && list)
                break;
            cJSON *b = cJSON_CreateObject();
            if (!b)
                break;
            char bt[NJ_ID_MAX + 32];
            snprintf(bt, sizeof bt, "Acknowledge 确认 %s", rows[i].a.alarm);
            cJSON_AddStringToObject(b, "title", bt);
            cJSON_AddStringToObject(b, "actionURL", links[i]);
            cJSON_AddItemToArray(btns, b);
            k++;
        }
        if (nl > k && list) {
            cJSON *b = cJSON_CreateObject();
            if (b) {
                char bt[64];
                snprintf(bt, sizeof bt, "All %zu alarms 全部 %zu 条", n, n);
                cJSON_AddStringToObject(b, "title", bt);
                cJSON_AddStringToObject(b, "actionURL", list);
                cJSON_AddItemToArray(btns, b);
            }
        }
    }
    out = cJSON_PrintUnformatted(root);
done:
    cJSON_Delete(root);
    sb_free(&text);
    free(list);
    return out;
}

char *nmsg_robot(const map_station *st, map_channel_type type,
                 const map_person *mention, const nj_row *rows, size_t n,
                 const char *const *links)
{
    strbuf text;
    sb_init(&text, 0);
    nmsg_robot_text(&text, st, type, mention, rows, n, links);
    cJSON *root = cJSON_CreateObject(), *md;
    char *out = NULL;
    if (!root || text.failed)
        goto done;
    cJSON_AddStringToObject(root, "msgtype", "markdown");
    md = cJSON_AddObjectToObject(root, "markdown");
    if (!md)
        goto done;
    if (type == MAP_CH_WECOM) {
        cJSON_AddStringToObject(md, "content", sb_data(&text));
    } else {
        char title[512];
        nmsg_subject(st, rows, n, title, sizeof title);
        cJSON_AddStringToObject(md, "title", title);
        cJSON_AddStringToObject(md, "text", sb_data(&text));
        cJSON *at = cJSON_AddObjectToObject(root, "at");
        cJSON *mob = at ? cJSON_AddArrayToObject(at, "atMobiles") : NULL;
        if (mob && mention && mention->phone)
            cJSON_AddItemToArray(mob, cJSON_CreateString(mention->phone));
    }
    out = cJSON_PrintUnformatted(root);
done:
    cJSON_Delete(root);
    sb_free(&text);
    return out;
}
