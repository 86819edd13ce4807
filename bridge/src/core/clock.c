/*
 * clock.c - the two time sources and RFC 3339 time stamps.
 *
 * CLOCK_MONOTONIC never jumps, so deadlines and timeouts use it;
 * CLOCK_REALTIME is what operators and databases understand, so samples are
 * stamped with it.  Everything here is thread-safe (gmtime_r, no state).
 */
#include "core/clock.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>

#define NS_PER_S 1000000000LL

uint64_t clk_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * (uint64_t)NS_PER_S + (uint64_t)ts.tv_nsec;
}

int64_t clk_real_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

void clk_sleep_until(uint64_t deadline_ns)
{
    struct timespec ts = {
        .tv_sec = (time_t)(deadline_ns / (uint64_t)NS_PER_S),
        .tv_nsec = (long)(deadline_ns % (uint64_t)NS_PER_S),
    };
    /* clock_nanosleep returns the error number instead of setting errno;
     * with TIMER_ABSTIME a restart after a signal needs no adjustment. */
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

void clk_format_rfc3339(int64_t real_ns, char *buf, size_t len)
{
    if (len == 0)
        return;
    /* Floor division, so that instants before 1970 still get a
     * non-negative millisecond field and the right second. */
    int64_t sec = real_ns / NS_PER_S;
    int64_t rem = real_ns % NS_PER_S;
    if (rem < 0) {
        rem += NS_PER_S;
        sec--;
    }
    time_t t = (time_t)sec;
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL) {
        snprintf(buf, len, "0000-00-00T00:00:00.000Z");
        return;
    }
    /* Milliseconds are truncated, not rounded: .9995 s is still in the
     * same second, and rounding would have to carry into the seconds. */
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (int)(rem / 1000000));
}
