/*
 * log.c - the daemon's log lines on stderr.
 *
 * Each line is formatted into a buffer on the stack and written with one
 * write(2), so lines from different threads never interleave (stderr is
 * a pipe or a terminal; writes below PIPE_BUF are atomic on pipes) and no
 * lock is needed.  Over-long messages are cut, never split.
 */
#include "core/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"

/* Large enough for any sensible message, small enough to stay under
 * PIPE_BUF (4096 on Linux) so that a write to a pipe stays atomic. */
#define LOG_LINE_MAX 2048

static _Atomic int log_min = LOG_INFO;

void log_set_level(log_level min)
{
    atomic_store(&log_min, (int)min);
}

static const char *level_name(log_level lvl)
{
    switch (lvl) {
    case LOG_DEBUG: return "debug";
    case LOG_INFO: return "info";
    case LOG_WARN: return "warn";
    case LOG_ERROR: return "error";
    }
    return "?";
}

void log_msg(log_level lvl, const char *module, const char *fmt, ...)
{
    if ((int)lvl < atomic_load(&log_min))
        return;
    int saved_errno = errno; /* callers may log and then inspect errno */

    char line[LOG_LINE_MAX];
    char ts[32];
    clk_format_rfc3339(clk_real_ns(), ts, sizeof ts);
    int n = snprintf(line, sizeof line, "%s %s %s: ", ts, level_name(lvl),
                     module ? module : "-");
    if (n < 0)
        n = 0;
    if ((size_t)n > sizeof line - 2)
        n = sizeof line - 2;

    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m > 0)
        n += m;
    if ((size_t)n > sizeof line - 2)
        n = sizeof line - 2; /* cut: keep room for the newline */
    /* A message must not forge extra log lines. */
    for (int i = 0; i < n; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    line[n++] = '\n';

    const char *p = line;
    size_t left = (size_t)n;
    while (left > 0) {
        ssize_t w = write(STDERR_FILENO, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        p += w;
        left -= (size_t)w;
    }
    errno = saved_errno;
}
