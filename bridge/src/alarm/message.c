/*
 * message.c - alarm message templates (message.h).
 *
 * One scanner serves the check and the formatter, so what the loader
 * accepts is exactly what the formatter fills.
 */
#include "alarm/message.h"

#include <string.h>

enum { PH_NONE, PH_VALUE, PH_UNIT, PH_LABEL, PH_BAD };

/* At s[0] == '{' (not "{{"): which placeholder starts here, and its
 * length in *n (the lone brace when it is not one). */
static int placeholder(const char *s, size_t *n)
{
    static const struct { const char *text; int ph; } known[] = {
        {"{value}", PH_VALUE}, {"{unit}", PH_UNIT}, {"{label}", PH_LABEL},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        size_t l = strlen(known[i].text);
        if (strncmp(s, known[i].text, l) == 0) {
            *n = l;
            return known[i].ph;
        }
    }
    const char *close = strchr(s, '}');
    const char *open = strchr(s + 1, '{');
    *n = close && (!open || close < open) ? (size_t)(close - s) + 1 : 1;
    return PH_BAD;
}

int alarm_msg_check(const char *tmpl, unsigned allowed, const char **bad,
                    size_t *badlen)
{
    for (const char *s = tmpl; *s; s++) {
        if ((s[0] == '{' && s[1] == '{') || (s[0] == '}' && s[1] == '}')) {
            s++;
            continue;
        }
        if (*s == '}') {
            *bad = s;
            *badlen = 1;
            return -1;
        }
        if (*s != '{')
            continue;
        size_t n;
        int ph = placeholder(s, &n);
        unsigned need = ph == PH_VALUE ? ALARM_MSG_VALUE
                        : ph == PH_UNIT ? ALARM_MSG_UNIT
                        : ph == PH_LABEL ? ALARM_MSG_LABEL : 0;
        if (!need || !(allowed & need)) {
            *bad = s;
            *badlen = n;
            return -1;
        }
        s += n - 1;
    }
    return 0;
}

static void put(char *buf, size_t len, size_t *k, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++, (*k)++)
        if (*k + 1 < len)
            buf[*k] = s[i];
}

size_t alarm_msg_format(const char *tmpl, const alarm_msg_args *a, char *buf,
                        size_t len)
{
    size_t k = 0;
    for (const char *s = tmpl; *s; s++) {
        if ((s[0] == '{' && s[1] == '{') || (s[0] == '}' && s[1] == '}')) {
            put(buf, len, &k, s, 1);
            s++;
            continue;
        }
        if (*s != '{') {
            put(buf, len, &k, s, 1);
            continue;
        }
        size_t n;
        int ph = placeholder(s, &n);
        const char *v = ph == PH_VALUE ? a->value
                        : ph == PH_UNIT ? a->unit
                        : ph == PH_LABEL ? a->label : NULL;
        if (ph == PH_BAD)
            put(buf, len, &k, s, n);  /* the loader refuses these */
        else if (v)
            put(buf, len, &k, v, strlen(v));
        else
            put(buf, len, &k, "?", 1);
        s += n - 1;
    }
    if (len)
        buf[k < len ? k : len - 1] = '\0';
    return k;
}
