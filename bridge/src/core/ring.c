/*
 * ring.c - bounded FIFO that grows and shrinks (see ring.h).
 *
 * Growth copies the elements in order into a buffer twice the size, so the
 * cost is amortised O(1) per element; it happens only while a queue is
 * filling in a crisis.  Shrinking waits until the ring is empty and at
 * least RING_SHRINK_FACTOR times its minimum, so a queue whose normal
 * working size is just above `min` does not allocate and free on every
 * drain.
 */
#include "core/ring.h"

#include <stdlib.h>
#include <string.h>

#define RING_SHRINK_FACTOR 8

int ring_init(ring *r, size_t esize, size_t min, size_t max)
{
    memset(r, 0, sizeof *r);
    if (max == 0)
        max = 1;
    if (min == 0)
        min = 1;
    if (min > max)
        min = max;
    r->esize = esize;
    r->min = min;
    r->max = max;
    r->buf = malloc(min * esize);
    if (!r->buf)
        return -1;
    r->cap = min;
    return 0;
}

void ring_free(ring *r)
{
    free(r->buf);
    r->buf = NULL;
    r->cap = r->len = r->head = 0;
}

/* Copies n elements starting at logical index `from` into dst. */
static void ring_copy(const ring *r, size_t from, unsigned char *dst, size_t n)
{
    size_t start = r->head + from;
    if (start >= r->cap)
        start -= r->cap;
    size_t first = r->cap - start < n ? r->cap - start : n;
    memcpy(dst, r->buf + start * r->esize, first * r->esize);
    if (n > first)
        memcpy(dst + first * r->esize, r->buf, (n - first) * r->esize);
}

static int ring_resize(ring *r, size_t cap)
{
    unsigned char *nb = malloc(cap * r->esize);
    if (!nb)
        return -1;
    ring_copy(r, 0, nb, r->len);
    free(r->buf);
    r->buf = nb;
    r->cap = cap;
    r->head = 0;
    return 0;
}

static void ring_put(ring *r, const void *e)
{
    size_t tail = r->head + r->len;
    if (tail >= r->cap)
        tail -= r->cap;
    memcpy(r->buf + tail * r->esize, e, r->esize);
    r->len++;
}

int ring_push(ring *r, const void *e)
{
    if (r->len >= r->max)
        return -1;
    if (r->len == r->cap) {
        size_t cap = r->cap > r->max / 2 ? r->max : r->cap * 2;
        if (ring_resize(r, cap) < 0)
            return -1;
    }
    ring_put(r, e);
    return 0;
}

int ring_push_evict(ring *r, const void *e, void *old)
{
    if (ring_push(r, e) == 0)
        return 0;
    if (r->len == 0)
        return 0;             /* cannot even hold one: out of memory */
    if (old)
        memcpy(old, r->buf + r->head * r->esize, r->esize);
    if (++r->head == r->cap)
        r->head = 0;
    r->len--;
    ring_put(r, e);
    return 1;
}

void *ring_at(const ring *r, size_t i)
{
    if (i >= r->len)
        return NULL;
    size_t j = r->head + i;
    if (j >= r->cap)
        j -= r->cap;
    return r->buf + j * r->esize;
}

size_t ring_peek(const ring *r, void *dst, size_t n)
{
    if (n > r->len)
        n = r->len;
    if (n)
        ring_copy(r, 0, dst, n);
    return n;
}

void ring_drop(ring *r, size_t n)
{
    if (n > r->len)
        n = r->len;
    r->head += n;
    if (r->head >= r->cap)
        r->head -= r->cap;
    r->len -= n;
    if (r->len == 0) {
        r->head = 0;
        /* A failed shrink keeps the bigger buffer, which still works. */
        if (r->cap >= RING_SHRINK_FACTOR * r->min)
            ring_resize(r, r->min);
    }
}

size_t ring_pop(ring *r, void *dst, size_t n)
{
    n = ring_peek(r, dst, n);
    ring_drop(r, n);
    return n;
}
