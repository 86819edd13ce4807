/*
 * fuzzin.h - a fuzz target's input read as a stream of numbers, for the
 * targets that build their cases from the bytes (lineproto, modbus).
 *
 * Past the end every byte reads as 0, so a short input is still a whole
 * case.  Header-only: each target is one file linked with libFuzzer or
 * with replay.c, and nothing else needs it.
 */
#ifndef LB_FUZZIN_H
#define LB_FUZZIN_H

#include <stddef.h>
#include <stdint.h>

struct fuzz_in {
    const uint8_t *p;
    size_t n;
};

/* The next byte, 0 past the end. */
static inline unsigned fuzz_take(struct fuzz_in *in)
{
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}

/* The next `bytes` bytes (at most 8), most significant first. */
static inline uint64_t fuzz_take_be(struct fuzz_in *in, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = v << 8 | fuzz_take(in);
    return v;
}

#endif
