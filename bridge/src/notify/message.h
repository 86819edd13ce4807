/*
 * message.h - what a notification says: one message for a group of
 * notification rows (njournal.h) to one recipient of one channel.
 *
 *   email    RFC 5322, multipart/alternative: text/plain and text/html,
 *            UTF-8 (base64), English then Chinese; the subject (RFC 2047)
 *            carries the highest priority of the group, the station and
 *            the alarm (or the count).
 *   webhook  the JSON body documented in notify/README.md.
 *   wecom    a WeCom group robot's `markdown` message, under 4,096 bytes,
 *            with <@userid> mentions of the people on call.
 *   dingtalk a DingTalk robot's `markdown` message with `at.atMobiles`.
 *
 * Summaries.  A group of more than NMSG_SUMMARY_AT rows (a flood: the
 * notify thread sends one per group.interval) is a summary in mail and
 * robots: "17 new alarm events: 3 critical, 14 high", the
 * NMSG_SUMMARY_AT most urgent, and "... and 7 more" with the link to
 * the dashboard's alarm list (public_url#/alarms); every row is still
 * journalled, and the webhook's body lists them all.
 *
 * Local times are in the process's zone (rota_set_zone).  Pure: the
 * station, the rows and the time are the caller's; any thread.
 *
 * links: per row, the acknowledge link the message offers for it
 * (auth/acklink.h; NULL, or a NULL entry: none).  Mail: a line (text) and
 * a link (HTML) under the alarm; webhook: "ack_url"; robots: a link at
 * the end of the alarm's line.
 */
#ifndef LB_NOTIFY_MESSAGE_H
#define LB_NOTIFY_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#include "config/plcmap.h"
#include "notify/njournal.h"

#define NMSG_SUMMARY_AT 10
/* The most rows a message carries (the notify thread's group). */
#define NOTIFY_MSG_ROWS_MAX 100

/* The subject line as it reads (UTF-8, not yet encoded), into buf. */
void nmsg_subject(const map_station *st, const nj_row *rows, size_t n,
                  char *buf, size_t len);

/* The whole mail from `from` to the n_to addresses, malloc'd (the caller
 * frees it); NULL when out of memory.  now_ns dates it and makes its
 * Message-ID unique. */
char *nmsg_email(const map_station *st, const char *from,
                 const char *const *to, size_t n_to, const nj_row *rows,
                 size_t n, const char *const *links, int64_t now_ns);

/* A time as the JSON bodies give it: an RFC 3339 UTC string, or null for
 * 0 (not known).  NULL when out of memory. */
typedef struct cJSON cJSON;
cJSON *nmsg_time(int64_t ns);

/* The webhook's JSON body, malloc'd; NULL when out of memory. */
char *nmsg_webhook(const map_station *st, const nj_row *rows, size_t n,
                   const char *const *links, int64_t now_ns);

/* WeCom's limit on a markdown message's content (bytes of UTF-8). */
#define NMSG_WECOM_MAX 4096

/* The robot's JSON body, malloc'd; NULL when out of memory.  mention:
 * the person on call (NULL: nobody), named by `wecom` (WeCom) or `phone`
 * (DingTalk).  The list is cut, with "... and N more", to stay within
 * NMSG_WECOM_MAX (both robots). */
char *nmsg_robot(const map_station *st, map_channel_type type,
                 const map_person *mention, const nj_row *rows, size_t n,
                 const char *const *links);

/* A DingTalk `actionCard` (msgtype: actionCard): the markdown of
 * nmsg_robot as its text and buttons: one alarm with a link, "Acknowledge
 * 确认" to it; several, one per alarm up to NMSG_CARD_BUTTONS (the last
 * the dashboard's alarm list when there are more); none with a link, the
 * list.  DingTalk does not @-mention from a card, so the person on call
 * is named in the text only.  Without a link and without public_url it is
 * nmsg_robot's markdown (a card needs a button).  malloc'd; NULL when out
 * of memory. */
#define NMSG_CARD_BUTTONS 5
char *nmsg_dingtalk_card(const map_station *st, const map_person *mention,
                         const nj_row *rows, size_t n,
                         const char *const *links);

/* The short messages of an acknowledgement a (by, ts_ns), into en and
 * zh: "acknowledged by wang at 2026-12-02 10:15:03 CST" and "wang 于
 * 2026-12-02 10:15:03 CST 确认". */
void nmsg_ack_text(const nj_alarm *a, char *en, size_t en_len, char *zh,
                   size_t zh_len);

/* A test message's rows (notify test): one row that says so. */
void nmsg_test_row(const map_station *st, nj_row *out, int64_t now_ns);

#endif
