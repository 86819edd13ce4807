/*
 * engine.c - the alarm engine (engine.h).
 *
 * Each alarm has two layers.  The condition layer turns inputs into a
 * debounced condition (dcond): the raw condition (with the deadband
 * applied against dcond: an active alarm compares with the clearing
 * threshold), then on_delay / off_delay.  It runs for every alarm, also
 * out-of-service and hidden ones, so that an alarm put back in service
 * knows its condition at once.  The state layer reacts to dcond changes
 * and to operators' actions with the ISA-18.2 state machine and emits the
 * records.
 *
 * Time-driven work (a delay falling due, a shelve expiring, a chattering
 * window closing, a rate falling back) sits in one binary min-heap of
 * deadlines.  Entries are never removed from the middle: each carries a
 * sequence number, and an entry whose number is no longer its alarm's is
 * skipped when it comes out.  Before a change or an action at time t,
 * everything due by t is done first, so records come out in time order.
 * The heap, the rate and chattering rings and the index from tags to
 * alarms are sized once in alarm_engine_new: alarm_feed allocates nothing.
 *
 * A PLC whose comm alarm is `enabled: false` still has one, hidden (after
 * the public ones, never counted, never recorded): it debounces the PLC's
 * communication for suppression by design.
 */
#include "alarm/engine.h"

#include "alarm/expr.h"
#include "alarm/message.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { DUE_DELAY, DUE_SHELVE, DUE_CHATTER, DUE_RATE, DUE_N };

#define SUPP_BITS (ALARM_SUPP_DESIGN | ALARM_SUPP_MODE)

/* Samples a rate alarm keeps: enough for a 1 s window at 10 polls a
 * second; with more samples in a window the rate is taken over the
 * newest RATE_RING of them. */
#define RATE_RING 16

typedef struct {
    int64_t t;
    double v;
} rate_pt;

typedef struct {
    int64_t due;
    uint32_t alarm;
    uint32_t seq;
    uint8_t kind;
} heap_ent;

/* The fields every change reads come first, with copies of the
 * definition's: with thousands of alarms an evaluation finds its alarm cold
 * in the cache (the consumer thread does other work between batches), and
 * one cache line then costs one miss where the definition's fields, the
 * alarm's and its deadlines spread over four.  Each alarm starts on a line
 * of its own (ALARM_LINE). */
#define ALARM_LINE 64

struct __attribute__((aligned(ALARM_LINE))) alarm {
    /* hot: compute() and evaluate() */
    uint8_t kind;           /* map_alarm_kind (def->kind) */
    uint8_t cond;           /* alarm_cond as last evaluated */
    uint8_t dcond;          /* debounced: 0 or 1 */
    uint8_t pending;        /* where the pending delay leads */
    bool has_value;
    bool touched;           /* in the engine's touched list */
    bool when;              /* def->when */
    bool hidden;            /* a disabled comm alarm kept for suppression */
    uint8_t ext;            /* MAP_AL_CHANNEL: alarm_cond last handed in */
    uint32_t tag_pos;       /* UINT32_MAX when none */
    uint32_t plc;           /* UINT32_MAX for station alarms */
    double value;
    double limit, deadband; /* def's */
    int64_t due[DUE_N];     /* 0: nothing pending of that kind */
    uint64_t on_delay_ns, off_delay_ns, window_ns;  /* def's */
    /* the rest */
    const map_alarm *def;
    const map_tag *tag;     /* tag alarms; NULL otherwise */
    uint32_t seq[DUE_N];
    rate_pt *ring;          /* RATE_RING points, newest at ring_head - 1 */
    uint8_t ring_n, ring_head;
    int64_t *chat;          /* the last chatter-count activation times */
    uint8_t chat_n, chat_head;
    /* state layer */
    uint32_t supp;          /* suppression now (SUPP_BITS), shown while the
                               alarm is not normal */
    alarm_status st;
};

struct alarm_engine {
    const map_station *st;
    alarm_record_fn fn;
    void *ctx;
    struct alarm *al;
    size_t n, n_public;
    uint32_t *by_id;        /* public indexes sorted by full id */
    /* tags, by station-wide position */
    size_t n_tags;
    const map_tag **tags;
    uint32_t *tag_plc;
    expr_val *in;           /* the value (known when good) */
    val_quality *q;
    uint32_t *w_off, *w_items;  /* alarms reading each tag */
    /* PLCs */
    size_t n_plcs;
    long *comm;             /* its comm alarm, -1 for a disabled PLC */
    uint8_t *comm_raw;      /* alarm_cond of "communication lost" */
    bool *comm_known;       /* suppression re-derived since start/restore */
    uint32_t *tag_first, *tag_end;  /* its tag alarms */
    /* modes */
    long mode_pos;          /* the mode tag's position, -1 without modes */
    int mode;               /* index in st->modes, -1: none/unknown */
    bool mode_known;
    unsigned chatter_count;
    int64_t chatter_window;
    int64_t now;
    /* what the group of changes being taken in touched */
    uint32_t *touched;
    size_t n_touched;
    uint32_t *plc_touched;
    bool *plc_mark;
    size_t n_plc_touched;
    bool mode_touched;
    heap_ent *heap;
    size_t heap_n, heap_cap;
    rate_pt *rate_pool;
    int64_t *chat_pool;
};

/* ---- names ---------------------------------------------------------- */

const char *alarm_state_name(alarm_state s)
{
    static const char *const n[] = {"normal", "active-unack", "active-ack",
                                    "cleared-unack"};
    return (unsigned)s < 4 ? n[s] : "?";
}

const char *alarm_event_name(alarm_event ev)
{
    static const char *const n[] = {
        "active", "clear", "latch", "return", "ack", "reset", "shelve",
        "unshelve", "shelve-end", "disable", "enable", "suppress",
        "unsuppress", "chatter", "chatter-end", "comment",
    };
    return (unsigned)ev < sizeof n / sizeof n[0] ? n[ev] : "?";
}

const char *alarm_flag_name(uint32_t bit)
{
    switch (bit) {
    case ALARM_LATCHED: return "latched";
    case ALARM_SHELVED: return "shelved";
    case ALARM_ONESHOT: return "oneshot";
    case ALARM_OUT_OF_SERVICE: return "out-of-service";
    case ALARM_SUPP_DESIGN: return "suppressed-design";
    case ALARM_SUPP_MODE: return "suppressed-mode";
    case ALARM_CHATTERING: return "chattering";
    }
    return NULL;
}

const char *alarm_strerror(alarm_err err)
{
    switch (err) {
    case ALARM_OK: return "ok";
    case ALARM_E_NO_ALARM: return "no such alarm";
    case ALARM_E_BAD_ARG: return "bad argument";
    case ALARM_E_NOT_UNACKED: return "nothing to acknowledge";
    case ALARM_E_NOT_LATCHING: return "the alarm does not latch";
    case ALARM_E_NOT_LATCHED: return "the alarm is not latched";
    case ALARM_E_STILL_ACTIVE: return "the alarm's condition is still active";
    case ALARM_E_NOT_ACTIVE: return "the alarm is not active";
    case ALARM_E_NOT_SHELVED: return "the alarm is not shelved";
    case ALARM_E_OUT_OF_SERVICE: return "the alarm is out of service";
    case ALARM_E_IN_SERVICE: return "the alarm is in service";
    }
    return "?";
}

/* ---- deadlines --------------------------------------------------------- */

static bool heap_less(const heap_ent *a, const heap_ent *b)
{
    return a->due < b->due;
}

static void heap_up(heap_ent *h, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!heap_less(&h[i], &h[p]))
            break;
        heap_ent t = h[i];
        h[i] = h[p];
        h[p] = t;
        i = p;
    }
}

static void heap_down(heap_ent *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && heap_less(&h[l], &h[m]))
            m = l;
        if (r < n && heap_less(&h[r], &h[m]))
            m = r;
        if (m == i)
            return;
        heap_ent t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static bool heap_live(const alarm_engine *e, const heap_ent *h)
{
    const struct alarm *a = &e->al[h->alarm];
    return a->seq[h->kind] == h->seq && a->due[h->kind] != 0;
}

/* Each alarm has at most one live entry per kind, so dropping the dead
 * ones always makes room: the heap holds DUE_N entries an alarm. */
static void heap_compact(alarm_engine *e)
{
    size_t k = 0;
    for (size_t i = 0; i < e->heap_n; i++)
        if (heap_live(e, &e->heap[i]))
            e->heap[k++] = e->heap[i];
    e->heap_n = k;
    for (size_t i = k / 2; i-- > 0;)
        heap_down(e->heap, k, i);
}

/* Sets alarm a's deadline of a kind (replacing any earlier one). */
static void set_due(alarm_engine *e, struct alarm *a, int kind, int64_t due)
{
    a->due[kind] = due;
    a->seq[kind]++;
    if (e->heap_n == e->heap_cap)
        heap_compact(e);
    heap_ent *h = &e->heap[e->heap_n];
    *h = (heap_ent){due, (uint32_t)(a - e->al), a->seq[kind], (uint8_t)kind};
    heap_up(e->heap, e->heap_n++);
}

static void clear_due(struct alarm *a, int kind)
{
    a->due[kind] = 0;
    a->seq[kind]++;
}

/* ---- records ------------------------------------------------------------ */

static void emit(alarm_engine *e, struct alarm *a, alarm_event ev,
                 alarm_state from, uint32_t from_flags, int64_t t,
                 const char *who, const char *comment)
{
    a->st.changed_ns = t;
    a->st.has_value = a->has_value;
    a->st.value = a->has_value ? a->value : 0;
    if (!e->fn || a->hidden)
        return;
    alarm_record r = {
        .alarm = (uint32_t)(a - e->al),
        .id = a->def->full_id,
        .event = ev,
        .from_state = from,
        .from_flags = from_flags,
        .to = a->st,
        .ts_ns = t,
        .who = who,
        .comment = comment,
    };
    e->fn(e->ctx, &r);
}

static bool is_active(const struct alarm *a)
{
    return a->st.state == ALARM_ACTIVE_UNACK ||
           a->st.state == ALARM_ACTIVE_ACK;
}

static void copy_text(char *dst, size_t len, const char *src)
{
    snprintf(dst, len, "%s", src ? src : "");
}

static void end_shelve(alarm_engine *e, struct alarm *a)
{
    a->st.flags &= ~(ALARM_SHELVED | ALARM_ONESHOT);
    a->st.shelved_ns = a->st.shelved_until_ns = 0;
    a->st.shelved_by[0] = a->st.shelve_reason[0] = '\0';
    clear_due(a, DUE_SHELVE);
    (void)e;
}

/* The alarm goes back to normal: what only an alarm in alarm has goes. */
static void to_normal(struct alarm *a)
{
    a->st.state = ALARM_NORMAL;
    a->st.active_ns = 0;
    a->st.flags &= ~(SUPP_BITS | ALARM_LATCHED);
}

/* ---- suppression ---------------------------------------------------------- */

/* A change of what suppresses an alarm.  Only an alarm that is not normal
 * shows it (and records it): a normal alarm has nothing to hide, and takes
 * its suppression on when it becomes active. */
static void set_supp(alarm_engine *e, struct alarm *a, uint32_t bits,
                     int64_t t)
{
    a->supp = bits;
    if (a->st.state == ALARM_NORMAL || (a->st.flags & SUPP_BITS) == bits)
        return;
    alarm_state fs = a->st.state;
    uint32_t ff = a->st.flags;
    a->st.flags = (a->st.flags & ~SUPP_BITS) | bits;
    emit(e, a, (bits & ~ff) ? ALARM_EV_SUPPRESS : ALARM_EV_UNSUPPRESS, fs, ff,
         t, NULL, NULL);
}

static uint32_t mode_bits(const alarm_engine *e, const struct alarm *a)
{
    if (e->mode < 0)
        return 0;
    return e->st->modes.modes[e->mode].suppress[a->def->priority]
               ? ALARM_SUPP_MODE : 0;
}

static uint32_t design_bits(const alarm_engine *e, const struct alarm *a)
{
    if (a->plc == UINT32_MAX || a->def->kind == MAP_AL_COMM)
        return 0;
    long c = e->comm[a->plc];
    return c >= 0 && e->al[c].dcond ? ALARM_SUPP_DESIGN : 0;
}

static void apply_design(alarm_engine *e, uint32_t plc, int64_t t)
{
    for (uint32_t i = e->tag_first[plc]; i < e->tag_end[plc]; i++) {
        struct alarm *a = &e->al[i];
        set_supp(e, a, (a->supp & ~ALARM_SUPP_DESIGN) | design_bits(e, a), t);
    }
}

static void apply_mode(alarm_engine *e, int64_t t)
{
    for (size_t i = 0; i < e->n_public; i++) {
        struct alarm *a = &e->al[i];
        set_supp(e, a, (a->supp & ~ALARM_SUPP_MODE) | mode_bits(e, a), t);
    }
}

/* ---- the state layer -------------------------------------------------- */

static int64_t chatter_oldest(const struct alarm *a, unsigned count)
{
    /* chat_head is the next slot, which is the oldest once full */
    return a->chat[a->chat_n < count ? 0 : a->chat_head];
}

static void clear_condition(alarm_engine *e, struct alarm *a, int64_t t);

/* An activation (dcond rising, also one held by chattering) into the
 * chattering window; starts chattering on the count-th within the
 * window. */
static void count_activation(alarm_engine *e, struct alarm *a, int64_t t)
{
    unsigned n = e->chatter_count;
    if (n == 0)
        return;
    a->chat[a->chat_head] = t;
    a->chat_head = (uint8_t)((a->chat_head + 1) % n);
    if (a->chat_n < n)
        a->chat_n++;
    /* count activations less than a window apart, as the end test below */
    if (a->chat_n < n || (a->st.flags & ALARM_CHATTERING) ||
        t - chatter_oldest(a, n) >= e->chatter_window)
        return;
    alarm_state fs = a->st.state;
    uint32_t ff = a->st.flags;
    a->st.flags |= ALARM_CHATTERING;
    a->st.chatter_count++;
    emit(e, a, ALARM_EV_CHATTER, fs, ff, t, NULL, NULL);
    set_due(e, a, DUE_CHATTER, chatter_oldest(a, n) + e->chatter_window);
}

static void activate(alarm_engine *e, struct alarm *a, int64_t t)
{
    alarm_state fs = a->st.state;
    uint32_t ff = a->st.flags;
    if (fs == ALARM_NORMAL || fs == ALARM_CLEARED_UNACK) {
        a->st.state = ALARM_ACTIVE_UNACK;
        a->st.active_ns = t;
        a->st.acked_ns = 0;
        a->st.acked_by[0] = '\0';
        a->st.flags = (a->st.flags & ~(SUPP_BITS | ALARM_LATCHED)) | a->supp;
        a->st.activations++;
        emit(e, a, ALARM_EV_ACTIVE, fs, ff, t, NULL, NULL);
    } else if (a->st.flags & ALARM_LATCHED) {
        a->st.flags &= ~ALARM_LATCHED;
        emit(e, a, ALARM_EV_RETURN, fs, ff, t, NULL, NULL);
    }
    /* else: active already, its clear held back by chattering */
    count_activation(e, a, t);
}

/* The condition has gone (dcond 0): clear, latch, or hold while it
 * chatters. */
static void clear_condition(alarm_engine *e, struct alarm *a, int64_t t)
{
    if (!is_active(a) || (a->st.flags & (ALARM_LATCHED | ALARM_CHATTERING)))
        return;
    alarm_state fs = a->st.state;
    uint32_t ff = a->st.flags;
    alarm_event ev;
    if (a->def->latch) {
        a->st.flags |= ALARM_LATCHED;
        ev = ALARM_EV_LATCH;
    } else if (fs == ALARM_ACTIVE_UNACK) {
        a->st.state = ALARM_CLEARED_UNACK;
        ev = ALARM_EV_CLEAR;
    } else {
        to_normal(a);
        ev = ALARM_EV_CLEAR;
    }
    /* A one-shot shelve lasts until the alarm next clears: this is it. */
    if ((a->st.flags & ALARM_ONESHOT))
        end_shelve(e, a);
    emit(e, a, ev, fs, ff, t, NULL, NULL);
}

static void set_dcond(alarm_engine *e, struct alarm *a, uint8_t c, int64_t t)
{
    a->dcond = c;
    clear_due(a, DUE_DELAY);
    if (!a->hidden && !(a->st.flags & ALARM_OUT_OF_SERVICE)) {
        if (c)
            activate(e, a, t);
        else
            clear_condition(e, a, t);
    }
    /* The comm alarm's own record first: it is the cause.  A PLC's
     * communication suppresses its alarms whatever the service state of
     * its comm alarm. */
    if (a->def->kind == MAP_AL_COMM)
        apply_design(e, a->plc, t);
}

/* ---- the condition layer ------------------------------------------------ */

static bool code_listed(const map_alarm *d, double v)
{
    int64_t code = llround(v);
    size_t lo = 0, hi = d->n_codes;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (d->codes[mid] == code)
            return true;
        if (d->codes[mid] < code)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

/* The deadband of the alarms over a limit (above, rate, deviation): an
 * active one compares with its clearing threshold. */
static bool over_limit(const struct alarm *a, double v)
{
    return v > (a->dcond ? a->limit - a->deadband : a->limit);
}

/* The rate at time t: from the newest kept point (t_n, v_n) back to the
 * newest point at least a window older than t.  A new sample is pushed
 * first; without one (a tick) the value is taken to have held. */
static alarm_cond rate_cond(struct alarm *a, const expr_val *in, int64_t t,
                            bool sample)
{
    if (!in->known) {
        a->ring_n = a->ring_head = 0;
        a->has_value = false;
        return ALARM_COND_UNKNOWN;
    }
    if (sample) {
        uint8_t last = (uint8_t)((a->ring_head + RATE_RING - 1) % RATE_RING);
        if (a->ring_n > 0 && a->ring[last].t == t) {
            a->ring[last].v = in->v;
        } else {
            a->ring[a->ring_head] = (rate_pt){t, in->v};
            a->ring_head = (uint8_t)((a->ring_head + 1) % RATE_RING);
            if (a->ring_n < RATE_RING)
                a->ring_n++;
        }
    }
    if (a->ring_n == 0)
        return ALARM_COND_UNKNOWN;
    int64_t w = (int64_t)a->window_ns;
    const rate_pt *ref = NULL, *oldest = NULL;
    for (uint8_t k = 0; k < a->ring_n; k++) {
        const rate_pt *pt =
            &a->ring[(a->ring_head + RATE_RING - 1 - k) % RATE_RING];
        oldest = pt;
        if (pt->t <= t - w) {
            ref = pt;
            break;
        }
    }
    if (!ref) {
        /* Not a window of history yet, unless the ring is full of it. */
        if (a->ring_n < RATE_RING || oldest->t >= t)
            return ALARM_COND_UNKNOWN;
        ref = oldest;
    }
    double rate = fabs(in->v - ref->v) / ((double)(t - ref->t) / 1e9);
    a->has_value = true;
    a->value = rate;
    return over_limit(a, rate) ? ALARM_COND_TRUE : ALARM_COND_FALSE;
}

static alarm_cond compute(alarm_engine *e, struct alarm *a, int64_t t,
                          bool sample)
{
    const map_alarm *d = a->def;
    const expr_val *in = a->tag_pos != UINT32_MAX ? &e->in[a->tag_pos] : NULL;
    switch ((map_alarm_kind)a->kind) {
    case MAP_AL_ABOVE:
    case MAP_AL_BELOW:
    case MAP_AL_WHEN:
    case MAP_AL_STATES:
        if (!in->known)
            return ALARM_COND_UNKNOWN;
        a->has_value = true;
        a->value = in->v;
        if (a->kind == MAP_AL_ABOVE)
            return over_limit(a, in->v);
        if (a->kind == MAP_AL_BELOW)
            return in->v < (a->dcond ? a->limit + a->deadband : a->limit);
        if (a->kind == MAP_AL_WHEN)
            return (in->v != 0) == a->when;
        return code_listed(d, in->v);
    case MAP_AL_RATE:
        return rate_cond(a, in, t, sample);
    case MAP_AL_DEVIATION: {
        const expr_val *o = &e->in[d->from_pos];
        if (!in->known || !o->known)
            return ALARM_COND_UNKNOWN;
        double dev = fabs(in->v - o->v);
        a->has_value = true;
        a->value = dev;
        return over_limit(a, dev);
    }
    case MAP_AL_QUALITY:
        switch (e->q[a->tag_pos]) {
        case Q_GOOD: return ALARM_COND_FALSE;
        case Q_STALE: case Q_DEVICE: case Q_DECODE: return ALARM_COND_TRUE;
        default: return ALARM_COND_UNKNOWN;  /* the comm alarm's business */
        }
    case MAP_AL_EXPR: {
        expr_val r = expr_eval(d->expr, e->in);
        return !r.known ? ALARM_COND_UNKNOWN
               : r.v != 0 ? ALARM_COND_TRUE : ALARM_COND_FALSE;
    }
    case MAP_AL_COMM:
        return (alarm_cond)e->comm_raw[a->plc];
    case MAP_AL_CHANNEL:
        return (alarm_cond)a->ext;
    }
    return ALARM_COND_UNKNOWN;
}

/* Re-evaluates alarm a at time t (sample: a new value of a rate alarm's
 * tag) and moves its debounced condition, now or after a delay. */
static void evaluate(alarm_engine *e, struct alarm *a, int64_t t, bool sample)
{
    alarm_cond c = compute(e, a, t, sample);
    a->cond = (uint8_t)c;
    if (a->kind == MAP_AL_RATE && a->ring_n > 0) {
        /* a held value has rate 0 one window after the newest point */
        const rate_pt *nw =
            &a->ring[(a->ring_head + RATE_RING - 1) % RATE_RING];
        int64_t fall = nw->t + (int64_t)a->window_ns;
        if (fall > t && a->due[DUE_RATE] != fall) {
            if (a->due[DUE_RATE] && a->due[DUE_RATE] < fall)
                a->due[DUE_RATE] = fall;  /* re-queued when it comes out */
            else
                set_due(e, a, DUE_RATE, fall);
        }
    }
    if (c == ALARM_COND_UNKNOWN || c == a->dcond) {
        /* unknown: the condition was not seen to hold, so a delay starts
         * over once it is known again */
        if (a->due[DUE_DELAY])
            clear_due(a, DUE_DELAY);
        return;
    }
    uint64_t delay = c ? a->on_delay_ns : a->off_delay_ns;
    if (delay == 0) {
        set_dcond(e, a, (uint8_t)c, t);
        return;
    }
    if (a->due[DUE_DELAY] && a->pending == c)
        return;  /* already on its way */
    a->pending = (uint8_t)c;
    set_due(e, a, DUE_DELAY, t + (int64_t)delay);
}

static void run_entry(alarm_engine *e, const heap_ent *h)
{
    struct alarm *a = &e->al[h->alarm];
    int64_t t = h->due;
    switch (h->kind) {
    case DUE_DELAY:
        set_dcond(e, a, a->pending, t);
        return;
    case DUE_SHELVE: {
        clear_due(a, DUE_SHELVE);
        if (!(a->st.flags & ALARM_SHELVED) || (a->st.flags & ALARM_ONESHOT))
            return;
        alarm_state fs = a->st.state;
        uint32_t ff = a->st.flags;
        end_shelve(e, a);
        emit(e, a, ALARM_EV_SHELVE_END, fs, ff, t, NULL, NULL);
        return;
    }
    case DUE_CHATTER: {
        clear_due(a, DUE_CHATTER);
        if (!(a->st.flags & ALARM_CHATTERING))
            return;
        unsigned n = e->chatter_count;
        if (n && a->chat_n >= n &&
            chatter_oldest(a, n) + e->chatter_window > t) {
            set_due(e, a, DUE_CHATTER,
                    chatter_oldest(a, n) + e->chatter_window);
            return;
        }
        alarm_state fs = a->st.state;
        uint32_t ff = a->st.flags;
        a->st.flags &= ~ALARM_CHATTERING;
        emit(e, a, ALARM_EV_CHATTER_END, fs, ff, t, NULL, NULL);
        if (!a->dcond)
            clear_condition(e, a, t);
        return;
    }
    case DUE_RATE: {
        clear_due(a, DUE_RATE);
        if (a->tag_pos != UINT32_MAX)
            evaluate(e, a, t, false);
        return;
    }
    }
}

/* Does everything due by t, oldest first. */
static void run_due(alarm_engine *e, int64_t t)
{
    while (e->heap_n > 0 && e->heap[0].due <= t) {
        heap_ent h = e->heap[0];
        e->heap[0] = e->heap[--e->heap_n];
        heap_down(e->heap, e->heap_n, 0);
        if (!heap_live(e, &h))
            continue;
        struct alarm *a = &e->al[h.alarm];
        if (a->due[h.kind] > h.due) {
            /* moved later meanwhile (a rate's window): queue it again */
            set_due(e, a, h.kind, a->due[h.kind]);
            continue;
        }
        if (h.due > e->now)
            e->now = h.due;
        h.due = e->now;
        run_entry(e, &h);
    }
}

/* ---- inputs ---------------------------------------------------------- */

static void update_mode(alarm_engine *e, int64_t t)
{
    const expr_val *in = &e->in[e->mode_pos];
    int mode = -1;
    if (in->known) {
        int64_t code = llround(in->v);
        const map_modes *m = &e->st->modes;
        for (size_t i = 0; i < m->n_modes && mode < 0; i++)
            for (size_t k = 0; k < m->modes[i].n_codes; k++)
                if (m->modes[i].codes[k] == code)
                    mode = (int)i;
    }
    if (mode == e->mode && e->mode_known)
        return;
    e->mode = mode;
    e->mode_known = true;
    apply_mode(e, t);
}

/* Takes in one change: the input, the PLC's reachability, the mode; marks
 * the alarms that read the tag for evaluation. */
static void apply_change(alarm_engine *e, const tag_change *c)
{
    uint32_t pos = c->tag;
    if (pos >= e->n_tags)
        return;
    val_quality q = c->s.q;
    double v = 0;
    bool ok = q == Q_GOOD && val_as_double(&c->s.v, &v) && isfinite(v);
    e->in[pos] = (expr_val){ok ? v : 0, ok};
    e->q[pos] = q;

    uint32_t plc = e->tag_plc[pos];
    if (e->comm[plc] >= 0) {
        /* Anything the PLC answered says it is reachable; comm-failure
         * (every tag of the PLC at once) says it is not; staleness is a
         * slow poller, not a lost PLC. */
        uint8_t raw = e->comm_raw[plc];
        if (q == Q_COMM)
            raw = ALARM_COND_TRUE;
        else if (q == Q_GOOD || q == Q_DEVICE || q == Q_DECODE)
            raw = ALARM_COND_FALSE;
        if ((raw != e->comm_raw[plc] ||
             (!e->comm_known[plc] && raw != ALARM_COND_UNKNOWN)) &&
            !e->plc_mark[plc]) {
            e->plc_mark[plc] = true;
            e->plc_touched[e->n_plc_touched++] = plc;
        }
        e->comm_raw[plc] = raw;
    }
    if ((long)pos == e->mode_pos)
        e->mode_touched = true;
    for (uint32_t k = e->w_off[pos]; k < e->w_off[pos + 1]; k++) {
        uint32_t i = e->w_items[k];
        if (!e->al[i].touched) {
            e->al[i].touched = true;
            e->touched[e->n_touched++] = i;
        }
    }
}

/* Evaluates what a group of changes touched: the PLCs' comm alarms first
 * (suppression by design comes before the alarms it suppresses), the
 * mode, then each alarm once. */
static void evaluate_touched(alarm_engine *e, int64_t t)
{
    for (size_t k = 0; k < e->n_plc_touched; k++) {
        uint32_t plc = e->plc_touched[k];
        e->plc_mark[plc] = false;
        evaluate(e, &e->al[e->comm[plc]], t, false);
        if (!e->comm_known[plc]) {
            e->comm_known[plc] = true;
            apply_design(e, plc, t);
        }
    }
    e->n_plc_touched = 0;
    if (e->mode_touched) {
        e->mode_touched = false;
        update_mode(e, t);
    }
    for (size_t k = 0; k < e->n_touched; k++) {
        struct alarm *a = &e->al[e->touched[k]];
        a->touched = false;
        evaluate(e, a, t, true);
    }
    e->n_touched = 0;
}

/* Changes with one time stamp come from one Modbus response: they are
 * taken in together before anything is evaluated, so that an alarm over
 * two tags of that response never sees one new and one old value. */
void alarm_feed(alarm_engine *e, const tag_change *c, size_t n)
{
    for (size_t i = 0; i < n;) {
        int64_t ts = c[i].s.ts_ns;
        int64_t t = ts > e->now ? ts : e->now;
        run_due(e, t);
        e->now = t;
        size_t j = i;
        while (j < n && c[j].s.ts_ns == ts)
            apply_change(e, &c[j++]);
        evaluate_touched(e, t);
        i = j;
    }
}

void alarm_tick(alarm_engine *e, int64_t now_ns)
{
    if (now_ns < e->now)
        now_ns = e->now;
    run_due(e, now_ns);
    e->now = now_ns;
}

int alarm_set_external(alarm_engine *e, size_t idx, alarm_cond cond,
                       int64_t now_ns)
{
    if (idx >= e->n_public || e->al[idx].kind != MAP_AL_CHANNEL ||
        (unsigned)cond > ALARM_COND_UNKNOWN)
        return -1;
    int64_t t = now_ns > e->now ? now_ns : e->now;
    run_due(e, t);
    e->now = t;
    struct alarm *a = &e->al[idx];
    a->ext = (uint8_t)cond;
    evaluate(e, a, t, false);
    return 0;
}

int64_t alarm_next_deadline(const alarm_engine *e)
{
    /* Dead entries may sit on top; they only cause an early, idle tick. */
    return e->heap_n ? e->heap[0].due : INT64_MAX;
}

/* ---- actions ----------------------------------------------------------- */

static alarm_err check_args(const alarm_engine *e, size_t idx,
                            const alarm_action *a, bool text_required)
{
    if (idx >= e->n_public)
        return ALARM_E_NO_ALARM;
    if (!a || !a->who || !a->who[0] || strlen(a->who) >= ALARM_WHO_MAX)
        return ALARM_E_BAD_ARG;
    if (a->text && strlen(a->text) >= ALARM_TEXT_MAX)
        return ALARM_E_BAD_ARG;
    if (text_required && (!a->text || !a->text[0]))
        return ALARM_E_BAD_ARG;
    return ALARM_OK;
}

/* Whether op may be taken on a at time t: the one place each action's
 * conditions are written, for the action and for alarm_check. */
static alarm_err op_check(alarm_op op, const struct alarm *a, int64_t until_ns,
                          int64_t t)
{
    uint32_t f = a->st.flags;
    switch (op) {
    case ALARM_OP_ACK:
        if (f & ALARM_OUT_OF_SERVICE)
            return ALARM_E_OUT_OF_SERVICE;
        if (a->st.state != ALARM_ACTIVE_UNACK &&
            a->st.state != ALARM_CLEARED_UNACK)
            return ALARM_E_NOT_UNACKED;
        return ALARM_OK;
    case ALARM_OP_SHELVE:
        if (f & ALARM_OUT_OF_SERVICE)
            return ALARM_E_OUT_OF_SERVICE;
        if (until_ns != 0 && until_ns <= t)
            return ALARM_E_BAD_ARG;
        if (until_ns == 0 && (!is_active(a) || (f & ALARM_LATCHED)))
            return ALARM_E_NOT_ACTIVE;
        return ALARM_OK;
    case ALARM_OP_UNSHELVE:
        return f & ALARM_SHELVED ? ALARM_OK : ALARM_E_NOT_SHELVED;
    case ALARM_OP_COMMENT:
        return ALARM_OK;
    case ALARM_OP_RESET:
        if (f & ALARM_OUT_OF_SERVICE)
            return ALARM_E_OUT_OF_SERVICE;
        if (!a->def->latch)
            return ALARM_E_NOT_LATCHING;
        if (!is_active(a))
            return ALARM_E_NOT_LATCHED;
        if (!(f & ALARM_LATCHED))
            return ALARM_E_STILL_ACTIVE;
        return ALARM_OK;
    case ALARM_OP_DISABLE:
        return f & ALARM_OUT_OF_SERVICE ? ALARM_E_OUT_OF_SERVICE : ALARM_OK;
    case ALARM_OP_ENABLE:
        return f & ALARM_OUT_OF_SERVICE ? ALARM_OK : ALARM_E_IN_SERVICE;
    }
    return ALARM_E_BAD_ARG;
}

static bool op_needs_text(alarm_op op)
{
    return op == ALARM_OP_SHELVE || op == ALARM_OP_COMMENT;
}

alarm_err alarm_check(const alarm_engine *e, alarm_op op, size_t idx,
                      const alarm_action *a, int64_t until_ns)
{
    alarm_err err = check_args(e, idx, a, op_needs_text(op));
    if (err)
        return err;
    int64_t t = a->ts_ns > e->now ? a->ts_ns : e->now;
    return op_check(op, &e->al[idx], until_ns, t);
}

const char *alarm_op_name(alarm_op op)
{
    static const char *const names[] = {
        "ack", "shelve", "unshelve", "comment", "reset", "disable", "enable",
    };
    return (unsigned)op < sizeof names / sizeof *names ? names[op] : "?";
}

static alarm_err begin_action(alarm_engine *e, size_t idx,
                              const alarm_action *a, alarm_op op,
                              struct alarm **out, int64_t *t,
                              int64_t until_ns)
{
    alarm_err err = check_args(e, idx, a, op_needs_text(op));
    if (err)
        return err;
    *t = a->ts_ns > e->now ? a->ts_ns : e->now;
    run_due(e, *t);
    e->now = *t;
    *out = &e->al[idx];
    return op_check(op, *out, until_ns, *t);
}

static const char *opt_text(const alarm_action *a)
{
    return a->text && a->text[0] ? a->text : NULL;
}

/* The acknowledgement fields; false when there was nothing to ack. */
static bool do_ack(struct alarm *a, const alarm_action *ac, int64_t t)
{
    if (a->st.state == ALARM_ACTIVE_UNACK)
        a->st.state = ALARM_ACTIVE_ACK;
    else if (a->st.state == ALARM_CLEARED_UNACK)
        to_normal(a);
    else
        return false;
    a->st.acked_ns = t;
    copy_text(a->st.acked_by, sizeof a->st.acked_by, ac->who);
    return true;
}

/* What op changes in a's state at time t; the record's event. */
static alarm_event apply_op(alarm_engine *e, struct alarm *a, alarm_op op,
                            const alarm_action *ac, int64_t t,
                            int64_t until_ns)
{
    switch (op) {
    case ALARM_OP_ACK:
        do_ack(a, ac, t);
        return ALARM_EV_ACK;
    case ALARM_OP_SHELVE:
        do_ack(a, ac, t);
        a->st.flags |= ALARM_SHELVED;
        if (until_ns)
            a->st.flags &= ~ALARM_ONESHOT;
        else
            a->st.flags |= ALARM_ONESHOT;
        a->st.shelved_ns = t;
        a->st.shelved_until_ns = until_ns;
        copy_text(a->st.shelved_by, sizeof a->st.shelved_by, ac->who);
        copy_text(a->st.shelve_reason, sizeof a->st.shelve_reason, ac->text);
        if (until_ns)
            set_due(e, a, DUE_SHELVE, until_ns);
        else
            clear_due(a, DUE_SHELVE);
        return ALARM_EV_SHELVE;
    case ALARM_OP_UNSHELVE:
        end_shelve(e, a);
        return ALARM_EV_UNSHELVE;
    case ALARM_OP_RESET:
        if (a->st.state == ALARM_ACTIVE_UNACK) {
            a->st.acked_ns = t;
            copy_text(a->st.acked_by, sizeof a->st.acked_by, ac->who);
        }
        to_normal(a);
        return ALARM_EV_RESET;
    case ALARM_OP_COMMENT:
        return ALARM_EV_COMMENT;
    case ALARM_OP_DISABLE:
        end_shelve(e, a);
        to_normal(a);
        a->st.flags = ALARM_OUT_OF_SERVICE;
        a->st.oos_ns = t;
        copy_text(a->st.oos_by, sizeof a->st.oos_by, ac->who);
        a->chat_n = a->chat_head = 0;
        clear_due(a, DUE_CHATTER);
        return ALARM_EV_DISABLE;
    case ALARM_OP_ENABLE:
        a->st.flags &= ~ALARM_OUT_OF_SERVICE;
        a->st.oos_ns = 0;
        a->st.oos_by[0] = '\0';
        return ALARM_EV_ENABLE;
    }
    /* not reached: op_check (in begin_action) refuses any other op */
    return ALARM_EV_COMMENT;
}

/* The one frame of every action: what is due by its time first, the
 * checks, the change, its record.  The record's comment is opt_text for
 * all: shelve and comment require a text, so theirs is always given. */
static alarm_err act(alarm_engine *e, size_t idx, const alarm_action *ac,
                     alarm_op op, int64_t until_ns)
{
    struct alarm *a;
    int64_t t;
    alarm_err err = begin_action(e, idx, ac, op, &a, &t, until_ns);
    if (err)
        return err;
    alarm_state fs = a->st.state;
    uint32_t ff = a->st.flags;
    alarm_event ev = apply_op(e, a, op, ac, t, until_ns);
    emit(e, a, ev, fs, ff, t, ac->who, opt_text(ac));
    /* An alarm enabled while its condition holds goes into alarm at once,
     * recorded after the enable that lets it. */
    if (op == ALARM_OP_ENABLE && a->dcond)
        activate(e, a, t);
    return ALARM_OK;
}

alarm_err alarm_ack(alarm_engine *e, size_t idx, const alarm_action *ac)
{
    return act(e, idx, ac, ALARM_OP_ACK, 0);
}

alarm_err alarm_shelve(alarm_engine *e, size_t idx, const alarm_action *ac,
                       int64_t until_ns)
{
    return act(e, idx, ac, ALARM_OP_SHELVE, until_ns);
}

alarm_err alarm_unshelve(alarm_engine *e, size_t idx, const alarm_action *ac)
{
    return act(e, idx, ac, ALARM_OP_UNSHELVE, 0);
}

alarm_err alarm_reset(alarm_engine *e, size_t idx, const alarm_action *ac)
{
    return act(e, idx, ac, ALARM_OP_RESET, 0);
}

alarm_err alarm_comment(alarm_engine *e, size_t idx, const alarm_action *ac)
{
    return act(e, idx, ac, ALARM_OP_COMMENT, 0);
}

alarm_err alarm_disable(alarm_engine *e, size_t idx, const alarm_action *ac)
{
    return act(e, idx, ac, ALARM_OP_DISABLE, 0);
}

alarm_err alarm_enable(alarm_engine *e, size_t idx, const alarm_action *ac)
{
    return act(e, idx, ac, ALARM_OP_ENABLE, 0);
}

/* ---- restart -------------------------------------------------------------- */

int alarm_restore(alarm_engine *e, const alarm_record *r)
{
    long idx = r && r->id ? alarm_find(e, r->id) : -1;
    if (idx < 0)
        return -1;
    struct alarm *a = &e->al[idx];
    a->st = r->to;
    a->has_value = r->to.has_value;
    a->value = r->to.value;
    a->dcond = is_active(a) && !(a->st.flags & ALARM_LATCHED);
    a->supp = a->st.flags & SUPP_BITS;
    for (int k = 0; k < DUE_N; k++)
        clear_due(a, k);
    a->ring_n = a->ring_head = 0;
    if (r->ts_ns > e->now)
        e->now = r->ts_ns;
    if ((a->st.flags & ALARM_SHELVED) && !(a->st.flags & ALARM_ONESHOT) &&
        a->st.shelved_until_ns)
        set_due(e, a, DUE_SHELVE, a->st.shelved_until_ns);
    a->chat_n = a->chat_head = 0;
    if ((a->st.flags & ALARM_CHATTERING) && e->chatter_count) {
        /* The window's activations are not in the record: it chatters on
         * for one window from the record, as if they had all been then. */
        for (unsigned k = 0; k < e->chatter_count; k++)
            a->chat[k] = r->ts_ns;
        a->chat_n = (uint8_t)e->chatter_count;
        set_due(e, a, DUE_CHATTER, r->ts_ns + e->chatter_window);
    } else if (a->st.flags & ALARM_CHATTERING) {
        /* Chattering is off in this map (it was on when the record was
         * written): it ends, recorded, at the first input or tick, or the
         * alarm would hold active for good. */
        set_due(e, a, DUE_CHATTER, r->ts_ns);
    }
    /* What suppresses it is learnt again from the live inputs. */
    if (a->plc != UINT32_MAX)
        e->comm_known[a->plc] = false;
    e->mode_known = false;
    return 0;
}

/* ---- queries ------------------------------------------------------------ */

size_t alarm_count(const alarm_engine *e)
{
    return e->n_public;
}

static int cmp_key(const void *key, const void *item, void *ctx)
{
    const alarm_engine *e = ctx;
    return strcmp(key, e->al[*(const uint32_t *)item].def->full_id);
}

long alarm_find(const alarm_engine *e, const char *id)
{
    size_t lo = 0, hi = e->n_public;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = cmp_key(id, &e->by_id[mid], (void *)e);
        if (c == 0)
            return e->by_id[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return -1;
}

const char *alarm_id(const alarm_engine *e, size_t idx)
{
    return idx < e->n_public ? e->al[idx].def->full_id : NULL;
}

const map_alarm *alarm_def(const alarm_engine *e, size_t idx)
{
    return idx < e->n_public ? e->al[idx].def : NULL;
}

const alarm_status *alarm_get(const alarm_engine *e, size_t idx)
{
    return idx < e->n_public ? &e->al[idx].st : NULL;
}

alarm_cond alarm_condition(const alarm_engine *e, size_t idx)
{
    return idx < e->n_public ? (alarm_cond)e->al[idx].cond
                             : ALARM_COND_UNKNOWN;
}

/* A value as a message shows it: the decimals of the tag's resolution
 * (its scale for an integer register: 0.1 -> 1; else its deadband:
 * 0.005 -> 3), one more for a rate or a difference, which are finer
 * than a reading ("0.2708 m/s", not "0.270775 m/s"); six significant
 * digits for a tag that states neither. */
static void alarm_fmt_value(const map_tag *t, map_alarm_kind kind, double v,
                            char *buf, size_t len)
{
    bool is_float = t->type == MAP_F32 || t->type == MAP_F64;
    double step = !is_float && t->scale > 0 && t->scale <= 1 ? t->scale
                  : t->deadband > 0                         ? t->deadband
                                                            : 0;
    if (!(step > 0)) {
        snprintf(buf, len, "%.6g", v);
        return;
    }
    int dec = 0;
    while (dec < 6 && step * pow(10, dec) < 0.999)
        dec++;
    if (kind == MAP_AL_RATE || kind == MAP_AL_DEVIATION)
        dec++;
    snprintf(buf, len, "%.*f", dec, v);
}

size_t alarm_message(const alarm_engine *e, size_t idx,
                     const alarm_status *st, bool zh, char *buf, size_t len)
{
    if (idx >= e->n_public) {
        if (len)
            buf[0] = '\0';
        return 0;
    }
    const struct alarm *a = &e->al[idx];
    const map_alarm *d = a->def;
    const char *tmpl = zh && d->message.zh ? d->message.zh : d->message.en;
    char value[48];
    alarm_msg_args args = {0};
    if (st && st->has_value && a->tag) {
        if (a->tag->type == MAP_BOOL && d->kind == MAP_AL_WHEN)
            snprintf(value, sizeof value, "%s", st->value != 0 ? "true"
                                                               : "false");
        else
            alarm_fmt_value(a->tag, d->kind, st->value, value, sizeof value);
        args.value = value;
        if (d->kind == MAP_AL_STATES) {
            const map_text *l = map_state_label(a->tag, llround(st->value));
            if (l)
                args.label = zh && l->zh ? l->zh : l->en;
        }
    }
    if (a->tag)
        args.unit = a->tag->unit;
    return alarm_msg_format(tmpl, &args, buf, len);
}

/* ---- life cycle ----------------------------------------------------------- */

static void alarm_init(struct alarm *a, const map_alarm *d, uint32_t plc)
{
    a->def = d;
    a->kind = (uint8_t)d->kind;
    a->when = d->when;
    a->limit = d->limit;
    a->deadband = d->deadband;
    a->on_delay_ns = d->on_delay_ns;
    a->off_delay_ns = d->off_delay_ns;
    a->window_ns = d->window_ns;
    a->plc = plc;
    a->tag_pos = d->tag_pos == (size_t)-1 ? UINT32_MAX : (uint32_t)d->tag_pos;
    a->cond = ALARM_COND_UNKNOWN;
    a->ext = ALARM_COND_UNKNOWN;
}

static int cmp_by_id(const void *x, const void *y, void *ctx)
{
    const alarm_engine *e = ctx;
    return strcmp(e->al[*(const uint32_t *)x].def->full_id,
                  e->al[*(const uint32_t *)y].def->full_id);
}

/* The tags an alarm reads (at most 2, or an expression's slots). */
static size_t alarm_inputs(const struct alarm *a, const uint32_t **slots,
                           uint32_t two[2])
{
    const map_alarm *d = a->def;
    switch (d->kind) {
    case MAP_AL_EXPR:
        return expr_slots(d->expr, slots);
    case MAP_AL_COMM:
    case MAP_AL_CHANNEL:
        return 0;
    case MAP_AL_DEVIATION:
        two[0] = a->tag_pos;
        two[1] = (uint32_t)d->from_pos;
        *slots = two;
        return 2;
    default:
        two[0] = a->tag_pos;
        *slots = two;
        return 1;
    }
}

alarm_engine *alarm_engine_new(const map_station *st, alarm_record_fn fn,
                               void *ctx)
{
    alarm_engine *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->st = st;
    e->fn = fn;
    e->ctx = ctx;
    e->mode = -1;
    e->mode_pos = -1;
    e->chatter_count = st->chatter.count;
    e->chatter_window = (int64_t)st->chatter.window_ns;
    e->n_plcs = st->n_plcs;
    for (size_t p = 0; p < st->n_plcs; p++)
        e->n_tags += st->plcs[p].n_tags;

    /* Count first: one allocation per array. */
    size_t n = 0, hidden = 0, rates = 0;
    for (size_t p = 0; p < st->n_plcs; p++) {
        const map_plc *plc = &st->plcs[p];
        if (!plc->enabled)
            continue;
        if (plc->comm_alarm.enabled)
            n++;
        else
            hidden++;
        for (size_t t = 0; t < plc->n_tags; t++)
            for (size_t k = 0; k < plc->tags[t].n_alarms; k++)
                if (plc->tags[t].alarms[k].enabled) {
                    n++;
                    rates += plc->tags[t].alarms[k].kind == MAP_AL_RATE;
                }
    }
    for (size_t k = 0; k < st->n_alarms; k++)
        n += st->alarms[k].enabled;
    for (size_t c = 0; c < st->notify.n_channels; c++)
        n += st->notify.channels[c].fail_alarm.enabled;
    e->n_public = n;
    e->n = n + hidden;
    size_t nt = e->n_tags ? e->n_tags : 1, np = e->n_plcs ? e->n_plcs : 1;
    /* each alarm on cache lines of its own: see struct alarm */
    size_t asz = (e->n ? e->n : 1) * sizeof *e->al;
    e->al = aligned_alloc(ALARM_LINE, (asz + ALARM_LINE - 1) / ALARM_LINE *
                                      ALARM_LINE);
    if (e->al)
        memset(e->al, 0, asz);
    e->by_id = calloc(n ? n : 1, sizeof *e->by_id);
    e->tags = calloc(nt, sizeof *e->tags);
    e->tag_plc = calloc(nt, sizeof *e->tag_plc);
    e->in = calloc(nt, sizeof *e->in);
    e->q = calloc(nt, sizeof *e->q);
    e->w_off = calloc(nt + 1, sizeof *e->w_off);
    e->comm = calloc(np, sizeof *e->comm);
    e->comm_raw = calloc(np, sizeof *e->comm_raw);
    e->comm_known = calloc(np, sizeof *e->comm_known);
    e->tag_first = calloc(np, sizeof *e->tag_first);
    e->tag_end = calloc(np, sizeof *e->tag_end);
    e->touched = calloc(e->n ? e->n : 1, sizeof *e->touched);
    e->plc_touched = calloc(np, sizeof *e->plc_touched);
    e->plc_mark = calloc(np, sizeof *e->plc_mark);
    e->heap_cap = DUE_N * (e->n ? e->n : 1) + 64;
    e->heap = calloc(e->heap_cap, sizeof *e->heap);
    e->rate_pool = calloc(rates ? rates * RATE_RING : 1, sizeof *e->rate_pool);
    e->chat_pool = calloc(e->n * e->chatter_count + 1, sizeof *e->chat_pool);
    if (!e->al || !e->by_id || !e->tags || !e->tag_plc || !e->in || !e->q ||
        !e->w_off || !e->comm || !e->comm_raw || !e->comm_known ||
        !e->tag_first || !e->tag_end || !e->heap || !e->rate_pool ||
        !e->chat_pool || !e->touched || !e->plc_touched || !e->plc_mark)
        goto fail;

    size_t pos = 0;
    for (size_t p = 0; p < st->n_plcs; p++)
        for (size_t t = 0; t < st->plcs[p].n_tags; t++, pos++) {
            e->tags[pos] = &st->plcs[p].tags[t];
            e->tag_plc[pos] = (uint32_t)p;
        }
    for (size_t i = 0; i < nt; i++)
        e->q[i] = Q_INIT;

    /* PLC by PLC: its comm alarm, then its tags' alarms (contiguous, for
     * suppression by design); station alarms; the notify channels'
     * alarms; hidden comm alarms last. */
    size_t k = 0, h = n, r = 0;
    pos = 0;
    for (size_t p = 0; p < st->n_plcs; p++) {
        const map_plc *plc = &st->plcs[p];
        e->comm[p] = -1;
        e->comm_raw[p] = ALARM_COND_UNKNOWN;
        if (!plc->enabled) {
            pos += plc->n_tags;
            continue;
        }
        size_t ci = plc->comm_alarm.enabled ? k++ : h++;
        alarm_init(&e->al[ci], &plc->comm_alarm, (uint32_t)p);
        e->al[ci].hidden = !plc->comm_alarm.enabled;
        e->comm[p] = (long)ci;
        e->tag_first[p] = (uint32_t)k;
        for (size_t t = 0; t < plc->n_tags; t++, pos++) {
            const map_tag *tg = &plc->tags[t];
            for (size_t j = 0; j < tg->n_alarms; j++) {
                if (!tg->alarms[j].enabled)
                    continue;
                struct alarm *a = &e->al[k++];
                alarm_init(a, &tg->alarms[j], (uint32_t)p);
                a->tag = tg;
                if (a->def->kind == MAP_AL_RATE)
                    a->ring = &e->rate_pool[RATE_RING * r++];
            }
        }
        e->tag_end[p] = (uint32_t)k;
    }
    for (size_t j = 0; j < st->n_alarms; j++)
        if (st->alarms[j].enabled)
            alarm_init(&e->al[k++], &st->alarms[j], UINT32_MAX);
    for (size_t c = 0; c < st->notify.n_channels; c++)
        if (st->notify.channels[c].fail_alarm.enabled)
            alarm_init(&e->al[k++], &st->notify.channels[c].fail_alarm,
                       UINT32_MAX);
    for (size_t i = 0; i < e->n; i++)
        e->al[i].chat = &e->chat_pool[i * e->chatter_count];

    /* The index from tags to the alarms that read them. */
    size_t links = 0;
    for (size_t i = 0; i < e->n; i++) {
        const uint32_t *s;
        uint32_t two[2];
        size_t m = alarm_inputs(&e->al[i], &s, two);
        for (size_t j = 0; j < m; j++)
            if (s[j] < e->n_tags) {
                e->w_off[s[j] + 1]++;
                links++;
            }
    }
    for (size_t i = 0; i < e->n_tags; i++)
        e->w_off[i + 1] += e->w_off[i];
    e->w_items = calloc(links ? links : 1, sizeof *e->w_items);
    uint32_t *fill = calloc(nt, sizeof *fill);
    if (!e->w_items || !fill) {
        free(fill);
        goto fail;
    }
    for (size_t i = 0; i < e->n; i++) {
        const uint32_t *s;
        uint32_t two[2];
        size_t m = alarm_inputs(&e->al[i], &s, two);
        for (size_t j = 0; j < m; j++)
            if (s[j] < e->n_tags)
                e->w_items[e->w_off[s[j]] + fill[s[j]]++] = (uint32_t)i;
    }
    free(fill);

    for (size_t i = 0; i < n; i++)
        e->by_id[i] = (uint32_t)i;
    qsort_r(e->by_id, n, sizeof *e->by_id, cmp_by_id, e);
    if (st->modes.enabled)
        e->mode_pos = (long)st->modes.tag_pos;
    return e;

fail:
    alarm_engine_free(e);
    return NULL;
}

void alarm_engine_free(alarm_engine *e)
{
    if (!e)
        return;
    free(e->al);
    free(e->by_id);
    free(e->tags);
    free(e->tag_plc);
    free(e->in);
    free(e->q);
    free(e->w_off);
    free(e->w_items);
    free(e->comm);
    free(e->comm_raw);
    free(e->comm_known);
    free(e->tag_first);
    free(e->tag_end);
    free(e->touched);
    free(e->plc_touched);
    free(e->plc_mark);
    free(e->heap);
    free(e->rate_pool);
    free(e->chat_pool);
    free(e);
}
