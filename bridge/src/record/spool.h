/*
 * spool.h - an on-disk FIFO of batches for store-and-forward.
 *
 * A spool is a directory of segment files holding records (a batch of
 * encoded lines and its point count), each framed with its length and a
 * CRC-32 so a record torn by a crash is detected and skipped, never sent.
 * Appends are written with write(2) and fdatasync'd, so a batch in the
 * spool survives kill -9 and power loss; the read position is kept in a
 * small cursor file updated after the database acknowledged a record, so a
 * record is replayed at most once after a crash in between (and a replay is
 * harmless: points carry fixed timestamps).  The total size is bounded:
 * appending beyond it drops the oldest segment and counts its points.
 *
 * Single-threaded: only the InfluxDB writer's sender thread
 * ("influx-send") uses a spool once the writer runs; influx_open opens it
 * before starting that thread.
 */
#ifndef LB_SPOOL_H
#define LB_SPOOL_H

#include <stddef.h>
#include <stdint.h>

typedef struct spool spool;

typedef struct {
    uint64_t records;          /* records waiting */
    uint64_t points;           /* points waiting */
    uint64_t bytes;            /* bytes on disk */
    uint64_t dropped_points;   /* lost to the size bound, since open */
    uint64_t corrupt_records;  /* torn/corrupt records skipped, since open */
} spool_stats;

/* Opens or creates the spool in dir (created with every missing parent).
 * NULL with a message "dir: reason" in err. */
spool *spool_open(const char *dir, uint64_t max_bytes, char *err,
                  size_t errlen);
void spool_close(spool *s);

/* Appends a record.  0, or -1 with errno (ENOSPC when the disk is full,
 * ...): then nothing of it stays in the spool, and the caller may try the
 * same record again later. */
int spool_append(spool *s, const char *data, size_t len, uint32_t points);

/* The oldest record: a pointer to memory owned by the spool, valid until
 * the next call.  1 when there is one, 0 when empty, -1 on an I/O error. */
int spool_peek(spool *s, const char **data, size_t *len, uint32_t *points);
/* Drops the record last returned by spool_peek (it was written).  0, or
 * -1 with errno when the new read position could not be saved (a full
 * disk): the record is dropped all the same, and only a restart before the
 * next successful pop would send it again, which is harmless. */
int spool_pop(spool *s);

void spool_get_stats(spool *s, spool_stats *out);

#endif
