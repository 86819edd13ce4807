/*
 * log.h - the daemon's log.
 *
 * Lines go to stderr, one per event, in one of three formats:
 *
 *   text     "2026-11-24T11:21:49.123Z info main: message" (a terminal)
 *   journal  "<6>main: message": the syslog priority prefix journald reads
 *            (sd-daemon.h's SD_ERR, SD_WARNING, SD_INFO, SD_DEBUG) and no
 *            timestamp of our own, journald stamps each line itself
 *   json     {"time":"2026-11-24T11:21:49.123Z","level":"info",
 *            "module":"main","message":"..."}: one object per line for
 *            log shippers; time is RFC 3339 UTC, level one of debug, info,
 *            warn, error; bytes that are not UTF-8 become U+FFFD
 *
 * Library modules do not log; they return errors and the callers (the
 * daemon's threads and main) decide what to say.  Thread-safe: each line is
 * written with one write(2).  The level and format are set on the main
 * thread before other threads start.
 */
#ifndef LB_LOG_H
#define LB_LOG_H

typedef enum { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR } log_level;
typedef enum { LOG_FMT_TEXT, LOG_FMT_JOURNAL, LOG_FMT_JSON } log_format;

void log_set_level(log_level min);
void log_set_format(log_format f);
/* "text", "journal" or "json": 0, or -1 for anything else. */
int log_format_parse(const char *name, log_format *out);
/* LOG_FMT_JOURNAL when stderr is the journal's stream: JOURNAL_STREAM is
 * set and its "device:inode" is stderr's (systemd.exec(5); a child whose
 * stderr was redirected inherits the variable but not the stream), else
 * LOG_FMT_TEXT. */
log_format log_format_detect(void);

void log_msg(log_level lvl, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_info(m, ...) log_msg(LOG_INFO, m, __VA_ARGS__)
#define log_warn(m, ...) log_msg(LOG_WARN, m, __VA_ARGS__)
#define log_error(m, ...) log_msg(LOG_ERROR, m, __VA_ARGS__)
#define log_debug(m, ...) log_msg(LOG_DEBUG, m, __VA_ARGS__)

#endif
