/*
 * log.c - the daemon's log lines on stderr (formats: log.h).
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
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/utf8.h"

/* Large enough for any sensible message, small enough to stay under
 * PIPE_BUF (4096 on Linux) so that a write to a pipe stays atomic. */
#define LOG_LINE_MAX 2048

static _Atomic int log_min = LOG_INFO;
static _Atomic int log_fmt = LOG_FMT_TEXT;

void log_set_level(log_level min)
{
    atomic_store(&log_min, (int)min);
}

void log_set_format(log_format f)
{
    atomic_store(&log_fmt, (int)f);
}

int log_format_parse(const char *name, log_format *out)
{
    static const struct { const char *n; log_format f; } tab[] = {
        {"text", LOG_FMT_TEXT}, {"journal", LOG_FMT_JOURNAL},
        {"json", LOG_FMT_JSON},
    };
    for (size_t i = 0; i < sizeof tab / sizeof *tab; i++)
        if (name && strcmp(name, tab[i].n) == 0) {
            *out = tab[i].f;
            return 0;
        }
    return -1;
}

log_format log_format_detect(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    if (!js || !*js)
        return LOG_FMT_TEXT;
    char *end;
    errno = 0;
    unsigned long long dev = strtoull(js, &end, 10);
    if (errno || end == js || *end != ':')
        return LOG_FMT_TEXT;
    const char *p = end + 1;
    unsigned long long ino = strtoull(p, &end, 10);
    if (errno || end == p || *end)
        return LOG_FMT_TEXT;
    struct stat sb;
    if (fstat(STDERR_FILENO, &sb) < 0 ||
        (unsigned long long)sb.st_dev != dev ||
        (unsigned long long)sb.st_ino != ino)
        return LOG_FMT_TEXT;
    return LOG_FMT_JOURNAL;
}

/* sd-daemon.h's prefixes: "<3>" etc., syslog(3)'s priorities. */
static const char *level_prefix(log_level lvl)
{
    switch (lvl) {
    case LOG_DEBUG: return SD_DEBUG;
    case LOG_INFO: return SD_INFO;
    case LOG_WARN: return SD_WARNING;
    case LOG_ERROR: return SD_ERR;
    }
    return SD_NOTICE;
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

/* Appends s as the inside of a JSON string at out[n], never past max
 * (cut at a whole escape); bytes that are not UTF-8 become U+FFFD.
 * Returns the new length. */
static size_t json_escape(char *out, size_t n, size_t max, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    const unsigned char *end = p + strlen(s);
    while (p < end) {
        char esc[8];
        const char *add = esc;
        size_t len;
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*p;
            len = 2;
            p++;
        } else if (*p < 0x20 || *p == 0x7f) {
            len = (size_t)snprintf(esc, sizeof esc, "\\u%04x", *p);
            p++;
        } else if (*p < 0x80) {
            esc[0] = (char)*p;
            len = 1;
            p++;
        } else {
            size_t l = utf8_seq(p, end, NULL);
            if (l == 0) {
                add = "\xef\xbf\xbd"; /* U+FFFD */
                len = 3;
                p++;
            } else {
                add = (const char *)p;
                len = l;
                p += l;
            }
        }
        if (n + len > max)
            break;
        memcpy(out + n, add, len);
        n += len;
    }
    return n;
}

void log_msg(log_level lvl, const char *module, const char *fmt, ...)
{
    if ((int)lvl < atomic_load(&log_min))
        return;
    int saved_errno = errno; /* callers may log and then inspect errno */
    log_format lf = (log_format)atomic_load(&log_fmt);
    if (!module)
        module = "-";

    char msg[LOG_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (m < 0)
        msg[0] = '\0';
    /* A message must not forge extra log lines. */
    for (char *c = msg; *c; c++)
        if (*c == '\n' || *c == '\r')
            *c = ' ';

    char line[LOG_LINE_MAX];
    char ts[32];
    size_t n;
    /* Room for the newline (and the JSON's closing "}) is kept back. */
    if (lf == LOG_FMT_JSON) {
        const size_t max = sizeof line - 4;
        clk_format_rfc3339(clk_real_ns(), ts, sizeof ts);
        int h = snprintf(line, sizeof line, "{\"time\":\"%s\",\"level\":\"%s\","
                         "\"module\":\"", ts, level_name(lvl));
        n = h > 0 ? (size_t)h : 0;
        n = json_escape(line, n, max - 16, module);
        memcpy(line + n, "\",\"message\":\"", 13);
        n += 13;
        n = json_escape(line, n, max, msg);
        line[n++] = '"';
        line[n++] = '}';
    } else {
        int h;
        if (lf == LOG_FMT_JOURNAL) {
            h = snprintf(line, sizeof line, "%s%s: %s", level_prefix(lvl),
                         module, msg);
        } else {
            clk_format_rfc3339(clk_real_ns(), ts, sizeof ts);
            h = snprintf(line, sizeof line, "%s %s %s: %s", ts,
                         level_name(lvl), module, msg);
        }
        n = h > 0 ? (size_t)h : 0;
        if (n > sizeof line - 2)
            n = sizeof line - 2; /* cut: keep room for the newline */
    }
    line[n++] = '\n';

    const char *p = line;
    size_t left = n;
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
