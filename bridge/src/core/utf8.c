/*
 * utf8.c - see utf8.h.
 */
#include "core/utf8.h"

size_t utf8_seq(const unsigned char *p, const unsigned char *end,
                uint32_t *cp)
{
    if (p >= end)
        return 0;
    unsigned char b = p[0];
    size_t k;
    uint32_t v, min;
    if (b < 0x80) {
        k = 1; v = b; min = 0;
    } else if ((b & 0xE0) == 0xC0) {
        k = 2; v = b & 0x1F; min = 0x80;
    } else if ((b & 0xF0) == 0xE0) {
        k = 3; v = b & 0x0F; min = 0x800;
    } else if ((b & 0xF8) == 0xF0) {
        k = 4; v = b & 0x07; min = 0x10000;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < k)
        return 0;
    for (size_t i = 1; i < k; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        v = v << 6 | (p[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    if (cp)
        *cp = v;
    return k;
}

bool utf8_valid(const void *s, size_t n)
{
    const unsigned char *p = s, *end = p + n;
    while (p < end) {
        size_t k = utf8_seq(p, end, NULL);
        if (k == 0)
            return false;
        p += k;
    }
    return true;
}

size_t utf8_put(uint32_t cp, unsigned char *o)
{
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | cp >> 6);
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | cp >> 12);
        o[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | cp >> 18);
    o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}
