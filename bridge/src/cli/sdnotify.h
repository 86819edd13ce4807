/*
 * sdnotify.h - `lockbridge run` telling systemd how it is (sd_notify(3),
 * libsystemd), for the unit's Type=notify and WatchdogSec=
 * (packaging/systemd/lockbridge.service).
 *
 * The contract with systemd:
 *   READY=1     once every enabled poller has made its first attempt at
 *               its PLC (a reply or a failure: a PLC that is down must not
 *               keep the station from starting) and the web server's
 *               listening socket is bound, so that "started" means
 *               polling and serving; sent once, with a STATUS= line
 *               ("polling 3 PLCs, serving 127.0.0.1:8080")
 *   STATUS=     the same line again on each summary
 *   WATCHDOG=1  from the consumer thread (the libwebsockets service thread
 *               when the dashboard is on), by a dispatch timer at half of
 *               WATCHDOG_USEC, so a hung consumer thread stops the pings
 *               and systemd restarts the daemon
 *   STOPPING=1  when SIGINT/SIGTERM has ended the loop, before the
 *               shutdown's flushes
 * Without NOTIFY_SOCKET (not under systemd) every call does nothing.
 *
 * Consumer thread (which is main until the loop starts), like the
 * dispatcher it hangs on.
 */
#ifndef LB_CLI_SDNOTIFY_H
#define LB_CLI_SDNOTIFY_H

#include <stdint.h>

#include "cli/run.h"

/* Installs the readiness check and (when systemd asks for one) the
 * watchdog timer on r->d.  Call after the pollers have started and the
 * web server exists.  0, or -1 out of memory. */
int sdn_attach(run_ctx *r);

/* STATUS= with the current line; nothing before READY=1. */
void sdn_status(const run_ctx *r);

/* STOPPING=1 (and a last STATUS=). */
void sdn_stopping(void);

/* Half of WATCHDOG_USEC when systemd watches this process
 * (sd_watchdog_enabled), else 0. */
uint64_t sdn_watchdog_period_ns(void);

#endif
