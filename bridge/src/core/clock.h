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

/* Parses a duration: a number (integer or decimal) and a unit, "100us",
 * "500ms", "1.5s", "1m", "2h", into ns, rounded to the nearest ns.  0, or
 * -1 for anything else (no unit, a sign, overflow). */
int clk_parse_duration(const char *s, uint64_t *ns);

/* Parses a point in time as the command line and the HTTP API take it:
 * RFC 3339 with a zone ("2026-11-24T10:00:00Z",
 * "2026-11-24T10:00:00.250+08:00"), a date ("2026-11-24", midnight UTC),
 * "now", or a time before now ("-90s", "-30m", "-2h", "-7d", "-1.5h"),
 * against now_ns.  A time without a zone is refused: it is ambiguous.
 * 0 with *out in ns since the epoch, or -1. */
int clk_parse_time(const char *s, int64_t now_ns, int64_t *out);

#endif
