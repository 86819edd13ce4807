/*
 * message.h - alarm message templates: "{label}", "{value}" and "{unit}"
 * in an alarm's `message:` text, checked when the map loads and filled in
 * when the alarm is shown.
 *
 *   message: {en: "Left leaf fault: {label}", zh: "左门叶故障：{label}"}
 *
 * {value} is the value at the alarm's last transition, {unit} the tag's
 * unit, {label} the state label of that value (for `states:` alarms).
 * "{{" and "}}" stand for literal braces.  A placeholder the alarm cannot
 * fill (a {label} on an `above:` alarm, a {value} on a station
 * expression) is a map error, so a message never shows a hole.
 *
 * Pure; no allocation.
 */
#ifndef LB_ALARM_MESSAGE_H
#define LB_ALARM_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>

/* What an alarm can fill in (bits for alarm_msg_check). */
#define ALARM_MSG_VALUE 1u
#define ALARM_MSG_UNIT 2u
#define ALARM_MSG_LABEL 4u

/* 0 when every placeholder of tmpl is one of `allowed`; -1 otherwise, with
 * *bad and *badlen the offending "{...}" (or the lone brace). */
int alarm_msg_check(const char *tmpl, unsigned allowed, const char **bad,
                    size_t *badlen);

typedef struct {
    const char *value;   /* already formatted ("61.2"); NULL: no value */
    const char *unit;    /* NULL: none */
    const char *label;   /* NULL: none */
} alarm_msg_args;

/* Writes tmpl with its placeholders filled into buf (always terminated
 * when len > 0; a placeholder with nothing to fill becomes "?").  Returns
 * the length the whole text needs, like snprintf. */
size_t alarm_msg_format(const char *tmpl, const alarm_msg_args *a, char *buf,
                        size_t len);

#endif
