/*
 * clock.c - the two time sources and RFC 3339 time stamps.
 *
 * CLOCK_MONOTONIC never jumps, so deadlines and timeouts use it;
 * CLOCK_REALTIME is what operators and databases understand, so samples are
 * stamped with it.  Everything here is thread-safe (gmtime_r, no state).
 */
#include "core/clock.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int clk_parse_duration(const char *s, uint64_t *ns)
{
    if (!s || !ns)
        return -1;
    const char *p = s;
    uint64_t whole = 0;
    int nd = 0;
    for (; isdigit((unsigned char)*p); p++, nd++) {
        if (whole > (UINT64_MAX - 9) / 10)
            return -1;
        whole = whole * 10 + (uint64_t)(*p - '0');
    }
    /* Fraction digits beyond 18 are below a nanosecond for every unit. */
    uint64_t frac = 0, fscale = 1;
    int nf = 0;
    if (*p == '.') {
        for (p++; isdigit((unsigned char)*p); p++, nf++) {
            if (nf < 18) {
                frac = frac * 10 + (uint64_t)(*p - '0');
                fscale *= 10;
            }
        }
        if (nf == 0)
            return -1;
    }
    if (nd == 0)
        return -1;
    uint64_t mult;
    if (strcmp(p, "us") == 0)
        mult = 1000ull;
    else if (strcmp(p, "ms") == 0)
        mult = 1000000ull;
    else if (strcmp(p, "s") == 0)
        mult = 1000000000ull;
    else if (strcmp(p, "m") == 0)
        mult = 60ull * 1000000000ull;
    else if (strcmp(p, "h") == 0)
        mult = 3600ull * 1000000000ull;
    else
        return -1;
    if (whole > UINT64_MAX / mult)
        return -1;
    uint64_t v = whole * mult;
    /* frac / fscale < 1, so the part is < mult; 128 bits keep it exact. */
    __extension__ unsigned __int128 part =
        ((unsigned __int128)frac * mult + fscale / 2) / fscale;
    if (v > UINT64_MAX - (uint64_t)part)
        return -1;
    *ns = v + (uint64_t)part;
    return 0;
}

/* "-7d", "-0.5d": days, which durations in maps do not need.  At most
 * what int64 nanoseconds hold (106,751 days): beyond it the conversion
 * of the double would be undefined. */
static int clk_parse_days(const char *s, uint64_t *ns)
{
    char *end;
    errno = 0;
    if (!isdigit((unsigned char)s[0]))
        return -1;
    double d = strtod(s, &end);
    if (errno || end == s || strcmp(end, "d") != 0 || !(d >= 0))
        return -1;
    double x = d * 86400e9;
    if (!(x < 9223372036854775808.0))  /* 2^63 */
        return -1;
    *ns = (uint64_t)x;
    return 0;
}

int clk_parse_time(const char *s, int64_t now_ns, int64_t *out)
{
    if (!s)
        return -1;
    if (strcmp(s, "now") == 0) {
        *out = now_ns;
        return 0;
    }
    if (s[0] == '-') {
        uint64_t ns;
        if (clk_parse_duration(s + 1, &ns) == -1 &&
            clk_parse_days(s + 1, &ns) == -1)
            return -1;
        if (ns > (uint64_t)INT64_MAX || now_ns < INT64_MIN + (int64_t)ns)
            return -1;
        *out = now_ns - (int64_t)ns;
        return 0;
    }
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (!isdigit((unsigned char)s[0]))
        return -1;
    const char *rest = strptime(s, "%Y-%m-%d", &tm);
    if (!rest)
        return -1;
    int64_t frac_ns = 0, offset_s = 0;
    if (*rest == 'T' || *rest == ' ') {
        rest = strptime(rest + 1, "%H:%M:%S", &tm);
        if (!rest)
            return -1;
        if (*rest == '.') {
            int64_t scale = 100000000;
            rest++;
            if (!isdigit((unsigned char)*rest))
                return -1;
            for (; isdigit((unsigned char)*rest); rest++, scale /= 10)
                frac_ns += (*rest - '0') * scale;
        }
        if (*rest == 'Z' || *rest == 'z') {
            rest++;
        } else if (*rest == '+' || *rest == '-') {
            int sign = *rest == '-' ? -1 : 1;
            if (!isdigit((unsigned char)rest[1]) ||
                !isdigit((unsigned char)rest[2]) || rest[3] != ':' ||
                !isdigit((unsigned char)rest[4]) ||
                !isdigit((unsigned char)rest[5]))
                return -1;
            int hh = (rest[1] - '0') * 10 + (rest[2] - '0');
            int mm = (rest[4] - '0') * 10 + (rest[5] - '0');
            if (hh > 23 || mm > 59)
                return -1;
            offset_s = sign * (hh * 3600 + mm * 60);
            rest += 6;
        } else {
            return -1; /* a time without a zone is ambiguous: refuse */
        }
    }
    if (*rest)
        return -1;
    /* strptime takes years 0 to 9999; int64 nanoseconds reach only from
     * 1677-09-21T00:12:43.145224192Z to 2262-04-11T23:47:16.854775807Z,
     * and a time outside them is refused rather than wrapped around. */
    time_t t = timegm(&tm);
    __extension__ typedef __int128 i128;
    i128 ns = ((i128)t - offset_s) * NS_PER_S + frac_ns;
    if (ns < INT64_MIN || ns > INT64_MAX)
        return -1;
    *out = (int64_t)ns;
    return 0;
}
