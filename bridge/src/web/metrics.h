/*
 * metrics.h - GET /metrics: the bridge's statistics in the Prometheus
 * text exposition format (version 0.0.4), for the Prometheus and Grafana
 * that operations staff already run.
 *
 * Built on the service thread from copies (the modules' *_get_stats, each
 * a short lock or none): no disk, no lock held while writing.  Names carry
 * the lockbridge_ prefix, counters end in _total, times are in seconds.
 * The families and their labels are listed in web/README.md.  A Unix
 * time gauge (lockbridge_writer_last_success_timestamp_seconds) is 0, not
 * absent, before its first event, so that `time() - x` alerts on it.
 */
#ifndef LB_WEB_METRICS_H
#define LB_WEB_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "acquire/poller.h"
#include "alarm/board.h"
#include "config/plcmap.h"
#include "core/strbuf.h"
#include "core/tagstore.h"
#include "notify/notify.h"
#include "record/history.h"
#include "record/influx.h"
#include "web/web.h"

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* What one scrape reads; any pointer but st may be NULL. */
typedef struct {
    const map_station *st;
    tag_store *ts;
    poll_plc *const *pollers;  /* st->n_plcs of them */
    influx_writer *influx;
    hist_db *hist;
    board *alarms;
    notify *notify;
    const web_stats *web;
    size_t displays;           /* wall screens online */
    int64_t start_ns;          /* process start, wall clock */
    const char *version;
} metrics_src;

/* Pure: v as a label value (backslash, double quote and newline escaped,
 * as the 0.0.4 format says), without the quotes. */
void metrics_escape(strbuf *b, const char *v);

/* Appends the whole exposition to b.  Service thread. */
void metrics_write(strbuf *b, const metrics_src *s);

/* Whether an Authorization header value is "Bearer <want>", compared in
 * constant time (CRYPTO_memcmp).  want NULL: never. */
bool metrics_bearer_ok(const char *want, const char *header);

#endif
