/*
 * board.c - the engine, the journal and what is shown, on the consumer
 * thread (see board.h).
 */
#include "alarm/board.h"

#include <stdlib.h>
#include <string.h>

#include "core/clock.h"

#define BOARD_TAKE 256             /* committed records taken per call */
/* Room an action wants left in the journal's queue besides its own
 * records: what fell due before it is emitted first. */
#define BOARD_ACT_SLACK 64

struct board {
    const map_station *st;
    journal *j;
    alarm_engine *e;
    size_t n;
    alarm_status *shown;           /* per alarm: as of its last commit */
    /* what was last submitted of each alarm (the "from" of a merged
     * record) */
    alarm_state *sub_state;
    uint32_t *sub_flags;
    /* merging: alarms whose records the journal could not take */
    uint8_t *over;
    alarm_event *over_ev;
    size_t n_over;
    uint32_t *scratch;             /* n indices, for ordering the merge */
    uint64_t submitted;            /* tickets handed out */
    uint64_t published;
    uint64_t merged;
    journal_rec *take;             /* BOARD_TAKE records */
    dispatch *d;
    int timer;
    void (*wake)(void *);
    void *wake_ctx;
    struct {
        board_listener fn;
        void *ctx;
    } listeners[BOARD_LISTENERS];
    size_t n_listeners;
    bool parked;                   /* board_park: evaluates nothing */
};

static void board_merge_flush(board *b);

/* ---- records: engine -> journal ----------------------------------------- */

static void board_mark_over(board *b, uint32_t idx, alarm_event ev)
{
    if (!b->over[idx]) {
        b->over[idx] = 1;
        b->n_over++;
    }
    b->over_ev[idx] = ev;
    b->merged++;
}

static bool board_submit(board *b, const journal_rec *r)
{
    if (journal_submit(b->j, r) < 0)
        return false;
    b->submitted++;
    b->sub_state[r->alarm] = r->to.state;
    b->sub_flags[r->alarm] = r->to.flags;
    return true;
}

/* The engine's record callback. */
static void board_on_record(void *ctx, const alarm_record *r)
{
    board *b = ctx;
    if (b->n_over)
        board_merge_flush(b);
    /* While anything waits to be merged, newer records wait behind it, so
     * that the journal keeps every alarm's records in order. */
    if (b->n_over) {
        board_mark_over(b, r->alarm, r->event);
        return;
    }
    journal_rec jr;
    journal_rec_from(&jr, r, alarm_def(b->e, r->alarm));
    if (!board_submit(b, &jr))
        board_mark_over(b, r->alarm, r->event);
}

static int board_cmp_changed(const void *x, const void *y, void *ctx)
{
    const board *b = ctx;
    uint32_t i = *(const uint32_t *)x, k = *(const uint32_t *)y;
    int64_t a = alarm_get(b->e, i)->changed_ns,
            c = alarm_get(b->e, k)->changed_ns;
    if (a != c)
        return a < c ? -1 : 1;
    return i < k ? -1 : i > k;
}

/* One record per marked alarm, with its status now, oldest change first,
 * as far as the journal has room. */
static void board_merge_flush(board *b)
{
    size_t room = journal_room(b->j);
    if (!room)
        return;
    size_t k = 0;
    for (size_t i = 0; i < b->n; i++)
        if (b->over[i])
            b->scratch[k++] = (uint32_t)i;
    qsort_r(b->scratch, k, sizeof *b->scratch, board_cmp_changed, b);
    for (size_t i = 0; i < k && i < room; i++) {
        uint32_t idx = b->scratch[i];
        const alarm_status *s = alarm_get(b->e, idx);
        alarm_record r = {
            .alarm = idx, .id = alarm_id(b->e, idx),
            .event = b->over_ev[idx], .from_state = b->sub_state[idx],
            .from_flags = b->sub_flags[idx], .to = *s,
            .ts_ns = s->changed_ns,
        };
        journal_rec jr;
        journal_rec_from(&jr, &r, alarm_def(b->e, idx));
        if (!board_submit(b, &jr))
            return;
        b->over[idx] = 0;
        b->n_over--;
    }
}

/* ---- lifecycle ------------------------------------------------------------ */

board *board_new(const map_station *st, journal *j, void (*wake)(void *),
                 void *wake_ctx)
{
    board *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->st = st;
    b->j = j;
    b->wake = wake;
    b->wake_ctx = wake_ctx;
    b->timer = -1;
    b->e = alarm_engine_new(st, board_on_record, b);
    if (!b->e)
        goto fail;
    b->n = alarm_count(b->e);
    size_t n = b->n ? b->n : 1;
    b->shown = calloc(n, sizeof *b->shown);
    b->sub_state = calloc(n, sizeof *b->sub_state);
    b->sub_flags = calloc(n, sizeof *b->sub_flags);
    b->over = calloc(n, 1);
    b->over_ev = calloc(n, sizeof *b->over_ev);
    b->scratch = calloc(n, sizeof *b->scratch);
    b->take = malloc(BOARD_TAKE * sizeof *b->take);
    if (!b->shown || !b->sub_state || !b->sub_flags || !b->over ||
        !b->over_ev || !b->scratch || !b->take)
        goto fail;
    for (size_t i = 0; i < b->n; i++)
        b->shown[i] = *alarm_get(b->e, i);
    return b;
fail:
    board_free(b);
    return NULL;
}

void board_free(board *b)
{
    if (!b)
        return;
    alarm_engine_free(b->e);
    free(b->shown);
    free(b->sub_state);
    free(b->sub_flags);
    free(b->over);
    free(b->over_ev);
    free(b->scratch);
    free(b->take);
    free(b);
}

typedef struct {
    board *b;
    void (*gone)(void *, const char *);
    void *ctx;
    long restored;
} board_restore_ctx;

static int board_restore_one(void *arg, const journal_rec *jr)
{
    board_restore_ctx *x = arg;
    board *b = x->b;
    alarm_record r = {
        .id = jr->id, .event = jr->event, .from_state = jr->from_state,
        .from_flags = jr->from_flags, .to = jr->to, .ts_ns = jr->ts_ns,
        .who = jr->who[0] ? jr->who : NULL,
        .comment = jr->comment[0] ? jr->comment : NULL,
    };
    if (alarm_restore(b->e, &r) < 0) {
        if (x->gone)
            x->gone(x->ctx, jr->id);
        return 0;
    }
    long idx = alarm_find(b->e, jr->id);
    b->shown[idx] = *alarm_get(b->e, (size_t)idx);
    b->sub_state[idx] = jr->to.state;
    b->sub_flags[idx] = jr->to.flags;
    x->restored++;
    return 0;
}

long board_restore(board *b, const char *path,
                   void (*gone)(void *ctx, const char *id), void *ctx,
                   char *err, size_t errlen)
{
    board_restore_ctx x = {.b = b, .gone = gone, .ctx = ctx};
    if (journal_last(path, INT64_MAX, board_restore_one, &x, err, errlen) < 0)
        return -1;
    return x.restored;
}

/* ---- the consumer thread's work ------------------------------------------ */

/* The engine's next deadline as a monotonic one for the dispatcher. */
static void board_arm(board *b)
{
    if (!b->d || b->timer < 0)
        return;
    int64_t next = alarm_next_deadline(b->e);
    if (next == INT64_MAX) {
        dispatch_timer_set(b->d, b->timer, UINT64_MAX);
        return;
    }
    int64_t real = clk_real_ns();
    uint64_t mono = clk_mono_ns();
    uint64_t due = next <= real ? mono : mono + (uint64_t)(next - real);
    dispatch_timer_set(b->d, b->timer, due);
}

void board_park(board *b)
{
    b->parked = true;
    if (b->d && b->timer >= 0)
        dispatch_timer_set(b->d, b->timer, UINT64_MAX);
}

void board_feed(void *arg, const tag_change *c, size_t n)
{
    board *b = arg;
    if (b->parked)
        return;
    alarm_feed(b->e, c, n);
    board_arm(b);
}

void board_tick(board *b, int64_t now_real_ns)
{
    if (b->parked)
        return;
    alarm_tick(b->e, now_real_ns);
    board_arm(b);
}

int board_set_external(board *b, size_t idx, alarm_cond cond,
                       int64_t now_real_ns)
{
    if (b->parked)
        return -1;
    int rc = alarm_set_external(b->e, idx, cond, now_real_ns);
    board_arm(b);
    return rc;
}

void board_collect(board *b)
{
    size_t n;
    while ((n = journal_take(b->j, b->take, BOARD_TAKE)) > 0) {
        for (size_t i = 0; i < n; i++)
            if (b->take[i].alarm < b->n)
                b->shown[b->take[i].alarm] = b->take[i].to;
        b->published += n;
        for (size_t k = 0; k < b->n_listeners; k++)
            b->listeners[k].fn(b->listeners[k].ctx, b->take, n);
    }
    /* room again: what waited to be merged goes in now */
    if (b->n_over)
        board_merge_flush(b);
}

static void board_timer_cb(void *ctx, uint64_t now_mono_ns)
{
    (void)now_mono_ns;
    board_tick(ctx, clk_real_ns());
}

static void board_wake_cb(void *ctx, uint64_t now_mono_ns)
{
    (void)now_mono_ns;
    board_collect(ctx);
}

int board_attach(board *b, dispatch *d)
{
    b->d = d;
    if (dispatch_subscribe(d, "alarms", board_feed, b) < 0 ||
        (b->timer = dispatch_timer(d, "alarms", board_timer_cb, b)) < 0 ||
        dispatch_on_wake(d, "alarms", board_wake_cb, b) < 0)
        return -1;
    board_arm(b);
    return 0;
}

int board_take_over(board *b, board *old)
{
    if (old->n_over)
        return -1;           /* records still waiting for the journal */
    b->d = old->d;
    b->timer = old->timer;
    b->submitted = old->submitted;
    b->published = old->published;
    b->merged = old->merged;
    b->n_listeners = old->n_listeners;
    memcpy(b->listeners, old->listeners, sizeof b->listeners);
    if (b->d)
        dispatch_retarget(b->d, old, b);
    old->d = NULL;
    old->n_listeners = 0;
    board_arm(b);
    return 0;
}

int board_listen(board *b, board_listener fn, void *ctx)
{
    if (b->n_listeners >= BOARD_LISTENERS)
        return -1;
    b->listeners[b->n_listeners].fn = fn;
    b->listeners[b->n_listeners++].ctx = ctx;
    return 0;
}

/* ---- queries and actions ------------------------------------------------- */

const alarm_engine *board_engine(const board *b)
{
    return b->e;
}

size_t board_count(const board *b)
{
    return b->n;
}

const alarm_status *board_shown(const board *b, size_t idx)
{
    return &b->shown[idx];
}

alarm_err board_check(const board *b, alarm_op op, size_t idx,
                      const alarm_action *a, int64_t until_ns)
{
    return alarm_check(b->e, op, idx, a, until_ns);
}

bool board_can_act(board *b, size_t n)
{
    return !b->n_over && journal_room(b->j) >= n + BOARD_ACT_SLACK;
}

alarm_err board_act(board *b, alarm_op op, size_t idx, const alarm_action *a,
                    int64_t until_ns, uint64_t *ticket)
{
    alarm_err rc;
    switch (op) {
    case ALARM_OP_ACK: rc = alarm_ack(b->e, idx, a); break;
    case ALARM_OP_SHELVE: rc = alarm_shelve(b->e, idx, a, until_ns); break;
    case ALARM_OP_UNSHELVE: rc = alarm_unshelve(b->e, idx, a); break;
    case ALARM_OP_COMMENT: rc = alarm_comment(b->e, idx, a); break;
    case ALARM_OP_RESET: rc = alarm_reset(b->e, idx, a); break;
    case ALARM_OP_DISABLE: rc = alarm_disable(b->e, idx, a); break;
    case ALARM_OP_ENABLE: rc = alarm_enable(b->e, idx, a); break;
    default: rc = ALARM_E_BAD_ARG; break;
    }
    if (rc == ALARM_OK && ticket)
        *ticket = b->submitted;
    board_arm(b);
    /* the loop's timer was armed before this action moved the deadline */
    if (b->wake)
        b->wake(b->wake_ctx);
    return rc;
}

uint64_t board_published(const board *b)
{
    return b->published;
}

void board_get_counts(const board *b, board_counts *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < b->n; i++) {
        const alarm_status *s = &b->shown[i];
        if (s->state == ALARM_ACTIVE_UNACK || s->state == ALARM_ACTIVE_ACK)
            out->active++;
        if (s->state == ALARM_ACTIVE_UNACK || s->state == ALARM_CLEARED_UNACK)
            out->unacked++;
        if (s->flags & ALARM_SHELVED)
            out->shelved++;
        if (s->flags & ALARM_OUT_OF_SERVICE)
            out->out_of_service++;
        if (s->state != ALARM_NORMAL &&
            (s->flags & (ALARM_SUPP_DESIGN | ALARM_SUPP_MODE)))
            out->suppressed++;
    }
    out->records = b->published;
    out->merged = b->merged;
    out->merging = b->n_over > 0;
}
