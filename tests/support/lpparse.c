/*
 * lpparse.c - the tests' line-protocol parser (see lpparse.h).
 */
#include "support/lpparse.h"

#include <stdlib.h>
#include <string.h>

/* Reads a name up to an unescaped stop character.  A backslash before one
 * of `esc` stands for that character; any other backslash is itself (as
 * in InfluxDB).  Returns the position after the name, NULL if empty. */
static const char *p_name(const char *s, const char *stop, const char *esc,
                          char *out, size_t cap)
{
    size_t n = 0;
    while (*s && !strchr(stop, *s)) {
        char c = *s++;
        if (c == '\\' && *s && strchr(esc, *s))
            c = *s++;
        if (n + 1 >= cap)
            return NULL;
        out[n++] = c;
    }
    out[n] = '\0';
    return n ? s : NULL;
}

const char *lpp_parse_line(const char *s, lpp_line *pl)
{
    memset(pl, 0, sizeof *pl);
    s = p_name(s, ", \n", ", ", pl->meas, sizeof pl->meas);
    if (!s)
        return NULL;
    while (*s == ',') {
        if (pl->ntags == LPP_MAX_TAGS)
            return NULL;
        s = p_name(s + 1, "=,\n ", ",= ", pl->tk[pl->ntags], LPP_NAME_MAX);
        if (!s || *s != '=')
            return NULL;
        s = p_name(s + 1, ", \n=", ",= ", pl->tv[pl->ntags], LPP_NAME_MAX);
        if (!s)
            return NULL;
        pl->ntags++;
    }
    if (*s != ' ')
        return NULL;
    do {
        if (pl->nfields == LPP_MAX_FIELDS)
            return NULL;
        lpp_field *f = &pl->fld[pl->nfields++];
        s = p_name(s + 1, "=,\n ", ",= ", f->key, sizeof f->key);
        if (!s || *s != '=')
            return NULL;
        s++;
        if (*s == '"') {
            size_t n = 0;
            s++;
            while (*s != '"') {
                char c = *s++;
                if (c == '\0' || c == '\n')
                    return NULL;
                if (c == '\\') {
                    c = *s++;
                    if (c == 'n')
                        c = '\n';
                    else if (c != '"' && c != '\\')
                        return NULL;
                }
                if (n + 1 >= sizeof f->s)
                    return NULL;
                f->s[n++] = c;
            }
            f->s[n] = '\0';
            s++;
            f->type = LPP_STR;
            continue;
        }
        char tok[64];
        size_t n = strcspn(s, ", \n");
        if (n == 0 || n >= sizeof tok)
            return NULL;
        memcpy(tok, s, n);
        tok[n] = '\0';
        s += n;
        char *end;
        if (!strcmp(tok, "true") || !strcmp(tok, "false")) {
            f->type = LPP_BOOL;
            f->b = tok[0] == 't';
        } else if (tok[n - 1] == 'i') {
            f->type = LPP_INT;
            f->i = strtoll(tok, &end, 10);
            if (end != tok + n - 1)
                return NULL;
        } else if (tok[n - 1] == 'u') {
            f->type = LPP_UINT;
            f->u = strtoull(tok, &end, 10);
            if (end != tok + n - 1 || tok[0] == '-')
                return NULL;
        } else {
            /* Line-protocol floats: digits, '.', exponent; no inf/nan/hex. */
            if (strspn(tok, "0123456789.-+e") != n)
                return NULL;
            f->type = LPP_FLOAT;
            f->f = strtod(tok, &end);
            if (*end)
                return NULL;
        }
    } while (*s == ',');
    if (*s != ' ')
        return NULL;
    char *end;
    pl->ts = strtoll(s + 1, &end, 10);
    if (end == s + 1 || *end != '\n')
        return NULL;
    return end + 1;
}

bool lpp_name_ok(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++) {
        if (*s == '\n')
            return false;
        if (*s == '\\' && (s[1] == '\0' || strchr(",= \"\\", s[1])))
            return false;
    }
    return true;
}
