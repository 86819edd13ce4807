/*
 * sdnotify.c - READY=1, STATUS=, WATCHDOG=1 and STOPPING=1 for systemd
 * (the contract is in sdnotify.h).
 *
 * Readiness is a timer, not a call at the end of setup: a poller's first
 * attempt happens on its own thread some milliseconds after poll_start,
 * and only its statistics say that it has happened.
 */
#include "cli/sdnotify.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "core/log.h"

/* How often the readiness check looks at the pollers until they have all
 * tried once. */
#define SDN_READY_CHECK_NS 50000000ull

static bool sdn_ready_sent;  /* consumer thread only */

static void sdn_line(const run_ctx *r, char *out, size_t len)
{
    size_t n = 0;
    for (size_t p = 0; p < r->st->n_plcs; p++)
        n += r->pollers[p] != NULL;
    int w = snprintf(out, len, "polling %zu PLC%s", n, n == 1 ? "" : "s");
    if (w < 0 || (size_t)w >= len)
        return;
    if (r->web)
        snprintf(out + w, len - (size_t)w, ", serving %s://%s",
                 web_scheme(r->web), web_address(r->web));
    else
        snprintf(out + w, len - (size_t)w, ", dashboard off");
}

/* Whether every running poller has made its first attempt. */
static bool sdn_pollers_tried(const run_ctx *r)
{
    for (size_t p = 0; p < r->st->n_plcs; p++) {
        if (!r->pollers[p])
            continue;
        poll_stats s;
        poll_get_stats(r->pollers[p], &s);
        bool tried = s.requests > 0 || s.err_conn > 0;
        if (!tried)
            return false;
    }
    return true;
}

static void sdn_ready_check(void *ctx, uint64_t now_mono_ns)
{
    (void)now_mono_ns;
    run_ctx *r = ctx;
    if (sdn_ready_sent || !sdn_pollers_tried(r))
        return;
    char line[256];
    sdn_line(r, line, sizeof line);
    sdn_ready_sent = true;
    int rc = sd_notifyf(0, "READY=1\nSTATUS=%s", line);
    if (rc > 0)
        log_info("main", "told systemd: ready (%s)", line);
    else if (rc < 0)
        log_warn("main", "sd_notify READY=1: %s", strerror(-rc));
}

static void sdn_watchdog(void *ctx, uint64_t now_mono_ns)
{
    (void)ctx;
    (void)now_mono_ns;
    sd_notify(0, "WATCHDOG=1");
}

uint64_t sdn_watchdog_period_ns(void)
{
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
        return 0;
    return usec * 1000ull / 2;
}

int sdn_attach(run_ctx *r)
{
    sdn_ready_sent = false;
    if (dispatch_every(r->d, "sd-ready", SDN_READY_CHECK_NS, sdn_ready_check,
                       r) < 0)
        return -1;
    uint64_t wd = sdn_watchdog_period_ns();
    if (wd > 0) {
        if (dispatch_every(r->d, "sd-watchdog", wd, sdn_watchdog, NULL) < 0)
            return -1;
        log_info("main", "systemd watchdog: a ping every %.3f s",
                 (double)wd / 1e9);
    }
    return 0;
}

void sdn_status(const run_ctx *r)
{
    if (!sdn_ready_sent)
        return;
    char line[256];
    sdn_line(r, line, sizeof line);
    sd_notifyf(0, "STATUS=%s", line);
}

void sdn_stopping(void)
{
    sd_notify(0, "STOPPING=1\nSTATUS=stopping");
}
