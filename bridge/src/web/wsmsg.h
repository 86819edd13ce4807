/*
 * wsmsg.h - a message a dashboard sends over its WebSocket, parsed and
 * checked without lws: a JSON object whose "type" is
 *   "subscribe"  {"type":"subscribe","tags":["levels.*","a.b","*"]}
 *   "report"     {"type":"report","display":"wall-1","page":"overview",
 *                 "drawn":T,"data_time":T,"stale":N}   (wall screens)
 * Anything else is refused with the close code and reason the connection
 * is closed with (ws.c sends them, counts the client as malformed).
 * Pure, like params.h: the fuzzer (tests/fuzz/ws_message/) drives it.
 * Service thread.
 */
#ifndef LB_WEB_WSMSG_H
#define LB_WEB_WSMSG_H

#include <stddef.h>
#include <stdint.h>

#include "config/plcmap.h"
#include "core/tagstore.h"

/* RFC 6455 7.4.1: "policy violation", the code of every refusal here
 * (ws.c checks it equals lws's LWS_CLOSE_STATUS_POLICY_VIOLATION). */
#define WEB_WS_CLOSE_POLICY 1008
/* Entries one subscribe message may list. */
#define WEB_SUBSCRIBE_MAX 4096
/* A close frame's reason is at most 123 bytes; ours are shorter. */
#define WEB_WS_REASON_MAX 120

typedef enum { WEB_WS_SUBSCRIBE = 1, WEB_WS_REPORT } web_ws_kind;

typedef struct {
    web_ws_kind kind;
    /* subscribe: the tags named, a bitmap over tag indices of
     * (tag_store_count + 7) / 8 + 1 bytes (malloc'd: the message owns it
     * until the caller takes it), or NULL when "*" (everything) was among
     * them */
    uint8_t *mask;
    /* report */
    char display[65];          /* 1-64 of A-Z a-z 0-9 - _ . */
    char page[33];             /* "" when absent, not a string or not
                                  UTF-8; cut to 32 bytes at a character
                                  boundary */
    int64_t drawn_ns;          /* 0 when absent or not a time */
    int64_t data_ns;
    int stale;                 /* 0 when absent or not a number */
    /* refused (web_ws_parse returned 1) */
    int close_code;            /* WEB_WS_CLOSE_POLICY */
    char reason[WEB_WS_REASON_MAX];
} web_ws_msg;

/* Parses len bytes at data (need not be NUL-terminated).  Times are read
 * with clk_parse_time against now_ns.  Returns
 *    0  a message, in *m (free with web_ws_msg_free);
 *    1  refused: m->close_code and m->reason, e.g. "not a JSON object",
 *       "no \"type\"", "unknown message type 'x'", "subscribe: no tag
 *       'x.y' in the station (use plc.tag or plc.*)", "report: display
 *       must be 1-64 of A-Z a-z 0-9 - _ .";
 *   -1  out of memory (the connection is closed without a reason). */
int web_ws_parse(const map_station *st, const tag_store *ts,
                 const char *data, size_t len, int64_t now_ns,
                 web_ws_msg *m);
/* Frees what the message holds (the mask, unless taken); m stays valid
 * and empty. */
void web_ws_msg_free(web_ws_msg *m);

#endif
