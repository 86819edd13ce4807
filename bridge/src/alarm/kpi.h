/*
 * kpi.h - alarm-system performance figures (EEMUA 191, ISA-18.2 section
 * 16 / TR5) from the journal's records of a time range.
 *
 * Fed the state at the start of the range (kpi_seed: each alarm's last
 * record before `from`, journal_last) and then every record of the range
 * in journal order (kpi_add), it computes:
 *
 *  - annunciated alarms: activations (event "active") of alarms that were
 *    not shelved, suppressed or out of service at that moment (those are
 *    counted apart), per 10 minutes (10-minute buckets aligned to the
 *    epoch): the average over the range, the busiest bucket, and how many
 *    buckets held more than KPI_FLOOD_COUNT (10);
 *  - floods: a flood is under way while the trailing 10 minutes hold more
 *    than 10 annunciated alarms; each is reported from the oldest alarm of
 *    the window that started it to the last alarm while it lasted, with
 *    the alarms in it and its peak (the most in any 10 minutes of it), and
 *    the range's time in flood;
 *  - the top 10 most frequent alarms (annunciations), the top 10
 *    chattering ones (times they started chattering), and the top 10
 *    standing ones (active at the end of the range, longest first; ISA's
 *    "stale" alarms are those standing for more than 24 hours);
 *  - time to acknowledge (from the activation to the operator's answer:
 *    an ack, a shelve, a reset), its median and 90th percentile;
 *  - annunciated alarms by priority (EEMUA's target: about 80 % low, 15 %
 *    medium, 5 % high and critical);
 *  - at the end of the range: alarms active, unacknowledged, shelved and
 *    out of service; shelve and disable actions taken in it.
 *
 * Pure (no I/O, no clock), so the unit tests feed it made-up records.  One
 * thread at a time (the web worker).
 */
#ifndef LB_ALARM_KPI_H
#define LB_ALARM_KPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alarm/journal.h"

#define KPI_WINDOW_NS (600LL * 1000000000LL)   /* 10 minutes */
#define KPI_FLOOD_COUNT 10       /* more than this in a window: a flood */
#define KPI_TOP 10
#define KPI_BUCKETS_MAX 10000    /* 10-minute buckets listed (69 days) */
#define KPI_FLOODS_MAX 1000      /* floods listed (all are counted) */
#define KPI_STALE_NS (86400LL * 1000000000LL)

typedef struct {
    char id[JOURNAL_ID_MAX];
    map_priority priority;
    uint32_t count;            /* annunciations, or chatterings */
    int64_t since_ns;          /* standing: active since */
    int64_t for_ns;            /* standing: until the end of the range */
} kpi_alarm;

typedef struct {
    int64_t start_ns, end_ns;
    uint32_t alarms;           /* annunciated within [start, end] */
    uint32_t peak;             /* the most in any 10 minutes of it */
    bool ongoing;              /* still a flood at the end of the range */
} kpi_flood;

typedef struct {
    int64_t from_ns, to_ns;
    uint64_t annunciated;
    uint64_t unannunciated;    /* activations while shelved, suppressed */
    double per_10min;          /* average */
    uint32_t per_10min_max;
    size_t flood_buckets;      /* 10-minute buckets with more than 10 */
    int64_t bucket0_ns;        /* the first bucket's start */
    uint32_t *buckets;         /* n_buckets counts; NULL when more than
                                  KPI_BUCKETS_MAX */
    size_t n_buckets;
    kpi_flood *floods;         /* oldest first, at most KPI_FLOODS_MAX */
    size_t n_floods_listed, n_floods;
    int64_t flood_ns;          /* time in flood */
    kpi_alarm frequent[KPI_TOP], chattering[KPI_TOP], standing[KPI_TOP];
    size_t n_frequent, n_chattering, n_standing;
    size_t stale;              /* standing for more than 24 hours */
    uint64_t acks;             /* acknowledgements timed */
    double ack_p50_s, ack_p90_s; /* NaN without acks */
    uint64_t by_priority[MAP_PRIO_N];
    size_t active, unacked, shelved, out_of_service;   /* at to */
    uint64_t shelve_actions, disable_actions;
} kpi_report;

typedef struct kpi kpi;

/* [from_ns, to_ns), to_ns > from_ns.  NULL when out of memory. */
kpi *kpi_new(int64_t from_ns, int64_t to_ns);
void kpi_free(kpi *k);
/* An alarm's state at from (its last record before it).  0, or -1 out of
 * memory. */
int kpi_seed(kpi *k, const journal_rec *r);
/* A record of the range, in journal order.  0, or -1 out of memory. */
int kpi_add(kpi *k, const journal_rec *r);
/* The figures; valid until kpi_free.  NULL when out of memory. */
const kpi_report *kpi_finish(kpi *k);

#endif
