/*
 * strbuf.h - a growing byte buffer for building text (JSON bodies, frames,
 * CSV), optionally with headroom in front of the text for a protocol
 * header that is written later (libwebsockets needs LWS_PRE bytes before
 * every frame it sends).
 *
 * Appending never fails loudly: on allocation failure the buffer is marked
 * failed, further appends do nothing, and the owner checks sb.failed once
 * at the end (one error path instead of one per append).  Not thread-safe;
 * one owner.
 */
#ifndef LB_STRBUF_H
#define LB_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    char *mem;         /* allocation: pre bytes of headroom, then the text */
    size_t pre;
    size_t len;        /* bytes of text */
    size_t cap;        /* bytes of text the allocation holds */
    bool failed;
} strbuf;

/* pre: headroom kept in front of the text (0 for plain text). */
void sb_init(strbuf *b, size_t pre);
void sb_free(strbuf *b);
/* Forgets the text, keeps the allocation. */
static inline void sb_reset(strbuf *b) { b->len = 0; b->failed = false; }

/* The text (NUL-terminated unless failed or empty with no allocation). */
static inline char *sb_data(const strbuf *b)
{
    return b->mem ? b->mem + b->pre : (char *)"";
}

/* Room for n more bytes (plus a NUL); false when out of memory. */
bool sb_reserve(strbuf *b, size_t n);
void sb_add(strbuf *b, const char *s, size_t n);
void sb_puts(strbuf *b, const char *s);
void sb_putc(strbuf *b, char c);
void sb_printf(strbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* s as a JSON string, quotes included (RFC 8259: quote, backslash and
 * control characters escaped; UTF-8 passes through).  NULL -> null. */
void sb_json_str(strbuf *b, const char *s);

/* Takes the allocation away from the buffer (which is left empty): the
 * caller frees *mem.  Returns the text. */
char *sb_steal(strbuf *b, char **mem);

#endif
