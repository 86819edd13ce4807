/*
 * ring.h - a bounded FIFO of fixed-size elements that grows on demand.
 *
 * The bridge has three queues between threads (the tag store's change
 * queue, the history's and the InfluxDB writer's sample queues).  Each
 * must hold a lot in a crisis (a consumer stalled, a disk full, a database
 * down) and almost nothing the rest of the time, so a ring starts at `min`
 * elements, doubles when it is full up to `max`, and gives the memory back
 * (shrinks to `min`) once it is emptied after growing well past it.  The
 * process's memory therefore follows what is actually queued instead of
 * the worst case: a 1,000,000-sample bound costs nothing until an outage
 * needs it.
 *
 * What happens at `max` is the owner's policy, because the right answer
 * differs: ring_push() refuses the newest element (the caller counts it as
 * dropped), ring_push_evict() drops the oldest.  Each owner's header says
 * which it uses and why.
 *
 * Elements are copied in and out with memcpy; a ring holds no pointers the
 * caller gave it.  Not thread-safe: the owner locks.
 */
#ifndef LB_RING_H
#define LB_RING_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    unsigned char *buf;
    size_t esize;      /* bytes per element */
    size_t min, max;   /* allocated elements never below min nor above max */
    size_t cap;        /* allocated elements now */
    size_t head, len;
} ring;

/* Allocates min elements (at least 1, at most max).  0, or -1 when out of
 * memory. */
int ring_init(ring *r, size_t esize, size_t min, size_t max);
/* Frees the buffer; ring_free of a zeroed ring does nothing. */
void ring_free(ring *r);

static inline size_t ring_len(const ring *r) { return r->len; }
static inline bool ring_full(const ring *r) { return r->len >= r->max; }
/* Bytes allocated for elements now (for memory statistics). */
static inline size_t ring_bytes(const ring *r) { return r->cap * r->esize; }

/* Appends a copy of *e.  0, or -1 when the ring holds max elements (or
 * cannot grow for lack of memory): nothing is appended. */
int ring_push(ring *r, const void *e);

/* Appends a copy of *e; when the ring is full the oldest element is
 * dropped first and, if old is not NULL, copied there (so the caller can
 * release what it owned).  1 when one was dropped, 0 when not. */
int ring_push_evict(ring *r, const void *e, void *old);

/* The i-th oldest element (0 = the head), in place; NULL past the end.
 * Valid until the next push or drop. */
void *ring_at(const ring *r, size_t i);

/* Copies up to n of the oldest elements into dst without removing them;
 * returns how many. */
size_t ring_peek(const ring *r, void *dst, size_t n);

/* Removes the n oldest elements (all of them if fewer). */
void ring_drop(ring *r, size_t n);

/* ring_peek then ring_drop. */
size_t ring_pop(ring *r, void *dst, size_t n);

#endif
