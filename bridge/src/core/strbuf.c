/*
 * strbuf.c - growing text buffer with headroom (see strbuf.h).
 */
#include "core/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sb_init(strbuf *b, size_t pre)
{
    memset(b, 0, sizeof *b);
    b->pre = pre;
}

void sb_free(strbuf *b)
{
    free(b->mem);
    b->mem = NULL;
    b->len = b->cap = 0;
}

bool sb_reserve(strbuf *b, size_t n)
{
    if (b->failed)
        return false;
    if (b->mem && b->len + n + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1) {
        if (cap > ((size_t)-1) / 4) {
            b->failed = true;
            return false;
        }
        cap *= 2;
    }
    char *m = realloc(b->mem, b->pre + cap);
    if (!m) {
        b->failed = true;
        return false;
    }
    b->mem = m;
    b->cap = cap;
    return true;
}

void sb_add(strbuf *b, const char *s, size_t n)
{
    if (!sb_reserve(b, n))
        return;
    memcpy(b->mem + b->pre + b->len, s, n);
    b->len += n;
    b->mem[b->pre + b->len] = '\0';
}

void sb_puts(strbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

void sb_putc(strbuf *b, char c) { sb_add(b, &c, 1); }

void sb_printf(strbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return;
    }
    if ((size_t)n < sizeof small) {
        sb_add(b, small, (size_t)n);
        return;
    }
    if (!sb_reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->mem + b->pre + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void sb_json_str(strbuf *b, const char *s)
{
    if (!s) {
        sb_add(b, "null", 4);
        return;
    }
    sb_putc(b, '"');
    const unsigned char *p = (const unsigned char *)s, *run = p;
    for (; *p; p++) {
        if (*p != '"' && *p != '\\' && *p >= 0x20)
            continue;
        sb_add(b, (const char *)run, (size_t)(p - run));
        if (*p == '"' || *p == '\\') {
            char esc[2] = {'\\', (char)*p};
            sb_add(b, esc, 2);
        } else {
            char esc[8];
            snprintf(esc, sizeof esc, "\\u%04x", *p);
            sb_add(b, esc, 6);
        }
        run = p + 1;
    }
    sb_add(b, (const char *)run, (size_t)(p - run));
    sb_putc(b, '"');
}

char *sb_steal(strbuf *b, char **mem)
{
    char *text = b->mem ? b->mem + b->pre : NULL;
    *mem = b->mem;
    b->mem = NULL;
    b->len = b->cap = 0;
    return text;
}
