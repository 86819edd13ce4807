/*
 * log.h - the daemon's log.
 *
 * Lines go to stderr as "2026-11-24T11:21:49.123Z level module: message".
 * Library modules do not log; they return errors and the callers (the
 * daemon's threads and main) decide what to say.  Thread-safe: each line is
 * written with one write(2).
 */
#ifndef LB_LOG_H
#define LB_LOG_H

typedef enum { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR } log_level;

void log_set_level(log_level min);
void log_msg(log_level lvl, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_info(m, ...) log_msg(LOG_INFO, m, __VA_ARGS__)
#define log_warn(m, ...) log_msg(LOG_WARN, m, __VA_ARGS__)
#define log_error(m, ...) log_msg(LOG_ERROR, m, __VA_ARGS__)
#define log_debug(m, ...) log_msg(LOG_DEBUG, m, __VA_ARGS__)

#endif
