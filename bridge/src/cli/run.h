/*
 * run.h - the state of `lockbridge run`, shared by its setup and shutdown
 * (cmd_run.c) and its periodic log lines (summary.c).  Internal to cli/.
 *
 * Owned by the main thread, which becomes the consumer thread: the
 * summary timer reads the pollers' and writers' statistics through their
 * thread-safe getters only.
 */
#ifndef LB_CLI_RUN_H
#define LB_CLI_RUN_H

#include "acquire/poller.h"
#include "alarm/board.h"
#include "alarm/journal.h"
#include "cli/cli.h"
#include "core/dispatch.h"
#include "core/tagstore.h"
#include "notify/hook.h"
#include "notify/notify.h"
#include "record/history.h"
#include "record/influx.h"
#include "record/recorder.h"
#include "auth/auth.h"
#include "web/web.h"

/* A station replaced by a reload, kept until exit (cli/reload.c). */
typedef struct {
    map_station *st;
    tag_store *ts;
    board *alarms;
} run_retired;

typedef struct {
    const cli_opts *o;
    map_station *st;
    tag_store *ts;
    dispatch *d;
    recorder *rec;
    web *web;                  /* the dashboard's server; NULL when off */
    char *metrics_token;       /* web.metrics bearer token; NULL: none */
    auth *auth;                /* users and sessions; NULL without web */
    acklink *acklink;          /* acknowledge links; NULL without web */
    hist_db *hist;
    influx_writer *influx;
    journal *journal;          /* the alarm journal (alarm_journal.path) */
    board *alarms;             /* the engine, what is shown, the actions */
    notify *notify;            /* notify: delivery; NULL when absent */
    notify_hook notify_hook;   /* the board's listener into it */
    notify_replay_src notify_src;   /* where it reads back an overflow */
    long *chan_alarm;          /* per notify channel: its failing alarm's
                                  engine index, -1 (fail_alarm: false) */
    char *secrets[2];          /* resolved influx password and token */
    poll_plc **pollers;        /* per PLC; NULL when disabled */
    poll_stats *prev;          /* per PLC, at the last summary */
    uint64_t last_summary_ns;  /* monotonic */
    uint64_t changes_at_summary;
    run_retired *retired;      /* what reloads replaced, freed at exit */
    size_t n_retired;
    uint64_t reloads;
} run_ctx;

/* The maps read again and applied without a gap in polling (reload.c has
 * the order of the steps).  Consumer thread, outside dispatch_run_due
 * (dispatch_later, or an HTTP handler).  A map with errors, or one that
 * changes a key only a restart applies (map_fixed_changed), is refused
 * with every message logged and the running configuration left as it
 * was: 422.  Otherwise: PLCs added, removed or changed are started,
 * stopped or restarted, untouched ones keep polling on their own
 * schedule and connection, every queued change and alarm record of the
 * old station is handed out first, the alarms are restored from the
 * journal into an engine built from the new map, and dashboard clients
 * are told to load the new station: 200.  who is for the log ("SIGHUP",
 * a user).  out (may be NULL) receives the JSON answer; why a refusal's
 * first line. */
unsigned run_reload(run_ctx *r, const char *who, strbuf *out, char *why,
                    size_t whylen);
/* At exit, after every thread that may read them has stopped. */
void run_retired_free(run_ctx *r);

/* The board's wake-up after an action (consumer thread). */
void run_alarm_wake(void *r);

/* Timer (consumer thread): one line per PLC, one for the change stream,
 * one per time-series destination. */
void run_summary(void *r, uint64_t now_mono_ns);

/* The destinations' lines alone (also logged once at shutdown). */
void run_sink_summary(const run_ctx *r);

/* Board listener (consumer thread, after commit): one line per alarm
 * transition. */
void run_log_alarms(void *r, const journal_rec *recs, size_t n);

/* Subscriber for --log-changes: one line per change,
 * "<full id> = <value> [<quality>]". */
void run_log_changes(void *r, const tag_change *c, size_t n);

#endif
