/*
 * clock.h - time sources.
 *
 * Monotonic time drives scheduling and timeouts; wall-clock (realtime) time
 * stamps values.  Both go through here so that one place says which is
 * which.  Thread-safe.
 */
#ifndef LB_CLOCK_H
#define LB_CLOCK_H

#include <stdint.h>
#include <stddef.h>

uint64_t clk_mono_ns(void);
int64_t clk_real_ns(void);

/* Sleeps until the monotonic time reaches deadline_ns (clock_nanosleep with
 * TIMER_ABSTIME, restarted on EINTR). */
void clk_sleep_until(uint64_t deadline_ns);

/* RFC 3339 UTC with milliseconds: "2026-11-24T11:21:49.123Z".  buf needs
 * 25 bytes. */
void clk_format_rfc3339(int64_t real_ns, char *buf, size_t len);

#endif
