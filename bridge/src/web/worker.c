/*
 * worker.c - one thread for the requests that read the disk (history
 * queries, CSV exports), so the service thread never waits for them.
 *
 * Jobs are queued FIFO (at most WEB_JOBS_MAX waiting: beyond that the
 * client is told 503).  The worker runs one at a time; when a job has an
 * answer, or more of a streamed one, it marks the job and calls
 * lws_cancel_service(), and the service thread moves the output onto the
 * connection (web_worker_collect).  A streamed job never holds more than
 * WEB_STREAM_MAX bytes the client has not taken: the worker waits, so a
 * slow download costs memory in proportion to nothing but that bound.  A
 * client that goes away detaches its job, which then stops at its next
 * web_job_emit (the query callback returns non-zero) and is freed by the
 * service thread.
 *
 * Locking: k->mu guards every job's output, flags and the lists; the
 * service thread touches a job's pss and wsi only.
 */
#include "web/internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define WEB_JOBS_MAX 32
#define WEB_STREAM_MAX (1u << 20)

struct web_worker {
    web *w;
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t wake;       /* worker: a job queued, stop */
    pthread_cond_t room;       /* worker: a stream was drained */
    web_job *queue, *queue_tail;
    size_t queued;
    web_job *live;             /* every job not yet freed (via live_next) */
    bool stop;
};

/* Jobs are linked twice: `next` in the queue, and the live list for
 * collection and shutdown. */
typedef struct web_job_ext {
    web_job job;
    struct web_job_ext *live_next;
    struct lws *wsi;
    bool notify;               /* the service thread has something to do */
    bool answered;             /* headers sent */
    bool running;
} web_job_ext;

static void web_job_free(web_job_ext *j)
{
    if (j->job.free_arg)
        j->job.free_arg(j->job.arg);
    sb_free(&j->job.out);
    free(j);
}

/* k->mu held. */
static void web_live_remove(web_worker *k, web_job_ext *j)
{
    web_job_ext **pp = (web_job_ext **)&k->live;
    while (*pp && *pp != j)
        pp = &(*pp)->live_next;
    if (*pp)
        *pp = j->live_next;
}

static void *web_worker_main(void *arg)
{
    web_worker *k = arg;
    pthread_mutex_lock(&k->mu);
    for (;;) {
        while (!k->queue && !k->stop)
            pthread_cond_wait(&k->wake, &k->mu);
        if (k->stop)
            break;
        web_job_ext *j = (web_job_ext *)k->queue;
        k->queue = j->job.next;
        if (!k->queue)
            k->queue_tail = NULL;
        k->queued--;
        j->running = true;
        pthread_mutex_unlock(&k->mu);
        if (!atomic_load(&j->job.cancelled))
            j->job.fn(&j->job, j->job.arg);
        pthread_mutex_lock(&k->mu);
        j->running = false;
        j->job.done = true;
        j->notify = true;
        pthread_mutex_unlock(&k->mu);
        lws_cancel_service(k->w->ctx);
        pthread_mutex_lock(&k->mu);
    }
    pthread_mutex_unlock(&k->mu);
    return NULL;
}

web_worker *web_worker_new(web *w, const char *name)
{
    web_worker *k = calloc(1, sizeof *k);
    if (!k)
        return NULL;
    k->w = w;
    pthread_mutex_init(&k->mu, NULL);
    pthread_cond_init(&k->wake, NULL);
    pthread_cond_init(&k->room, NULL);
    if (pthread_create(&k->thread, NULL, web_worker_main, k) != 0) {
        web_worker_free(k);
        return NULL;
    }
    pthread_setname_np(k->thread, name);
    k->started = true;
    return k;
}

void web_worker_free(web_worker *k)
{
    if (!k)
        return;
    pthread_mutex_lock(&k->mu);
    k->stop = true;
    for (web_job_ext *j = (web_job_ext *)k->live; j; j = j->live_next)
        atomic_store(&j->job.cancelled, true);
    pthread_cond_broadcast(&k->wake);
    pthread_cond_broadcast(&k->room);
    pthread_mutex_unlock(&k->mu);
    if (k->started)
        pthread_join(k->thread, NULL);
    web_job_ext *j = (web_job_ext *)k->live;
    while (j) {
        web_job_ext *n = j->live_next;
        if (j->job.pss)
            j->job.pss->job = NULL;
        web_job_free(j);
        j = n;
    }
    pthread_cond_destroy(&k->wake);
    pthread_cond_destroy(&k->room);
    pthread_mutex_destroy(&k->mu);
    free(k);
}

int web_worker_submit(web_worker *k, struct lws *wsi, web_pss *pss,
                      web_job_fn fn, void *arg, void (*free_arg)(void *))
{
    return web_worker_submit_then(k, wsi, pss, fn, arg, free_arg, NULL);
}

int web_worker_submit_then(web_worker *k, struct lws *wsi, web_pss *pss,
                           web_job_fn fn, void *arg,
                           void (*free_arg)(void *),
                           void (*then)(web_job *, struct lws *, web_pss *))
{
    pthread_mutex_lock(&k->mu);
    if (k->queued >= WEB_JOBS_MAX || k->stop) {
        pthread_mutex_unlock(&k->mu);
        if (free_arg)
            free_arg(arg);
        return -1;
    }
    web_job_ext *j = calloc(1, sizeof *j);
    if (!j) {
        pthread_mutex_unlock(&k->mu);
        if (free_arg)
            free_arg(arg);
        return -1;
    }
    j->job.w = k->w;
    j->job.pss = pss;
    j->wsi = wsi;
    j->job.fn = fn;
    j->job.arg = arg;
    j->job.free_arg = free_arg;
    j->job.then = then;
    j->job.status = 200;
    sb_init(&j->job.out, 0);
    atomic_init(&j->job.cancelled, false);
    j->live_next = (web_job_ext *)k->live;
    k->live = &j->job;
    if (k->queue_tail)
        k->queue_tail->next = &j->job;
    else
        k->queue = &j->job;
    k->queue_tail = &j->job;
    k->queued++;
    if (pss) {
        pss->job = &j->job;
        pss->job_worker = k;
    }
    pthread_cond_signal(&k->wake);
    pthread_mutex_unlock(&k->mu);
    return 0;
}

bool web_job_emit(web_job *job, const char *data, size_t len)
{
    web_job_ext *j = (web_job_ext *)job;
    web_worker *k = job->w->worker;
    pthread_mutex_lock(&k->mu);
    while (job->out.len >= WEB_STREAM_MAX && !atomic_load(&job->cancelled))
        pthread_cond_wait(&k->room, &k->mu);
    bool ok = !atomic_load(&job->cancelled);
    bool wake = false;
    if (ok) {
        job->streaming = true;
        sb_add(&job->out, data, len);
        if (job->out.failed)
            ok = false;
        wake = !j->notify;
        j->notify = true;
    }
    pthread_mutex_unlock(&k->mu);
    if (wake)
        lws_cancel_service(job->w->ctx);
    return ok;
}

void web_worker_collect(web_worker *k)
{
    if (!k)
        return;
    pthread_mutex_lock(&k->mu);
    web_job_ext *j = (web_job_ext *)k->live, *next;
    for (; j; j = next) {
        next = j->live_next;
        if (!j->notify)
            continue;
        j->notify = false;
        web_pss *pss = j->job.pss;
        if (!pss) {
            if (j->job.done && !j->running) {
                web_live_remove(k, j);
                if (j->job.then) {
                    pthread_mutex_unlock(&k->mu);
                    j->job.then(&j->job, NULL, NULL);
                    web_job_free(j);
                    pthread_mutex_lock(&k->mu);
                    next = (web_job_ext *)k->live;
                    continue;
                }
                web_job_free(j);
            }
            continue;
        }
        struct lws *wsi = j->wsi;
        if (!j->job.streaming && j->job.done && j->job.then) {
            pss->job = NULL;
            web_live_remove(k, j);
            pthread_mutex_unlock(&k->mu);
            j->job.then(&j->job, wsi, pss);
            web_job_free(j);
            pthread_mutex_lock(&k->mu);
            next = (web_job_ext *)k->live;
            continue;
        }
        if (!j->job.streaming) {
            if (!j->job.done)
                continue;
            /* One whole answer: it moves to the connection, and the job
             * is done with. */
            strbuf body = j->job.out;
            sb_init(&j->job.out, 0);
            unsigned status = j->job.status;
            pss->job = NULL;
            web_live_remove(k, j);
            pthread_mutex_unlock(&k->mu);
            if (web_reply(wsi, pss, status, "application/json", &body,
                          j->job.headers[0] ? j->job.headers : NULL) < 0)
                lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK,
                                LWS_TO_KILL_ASYNC);
            sb_free(&body);
            web_job_free(j);
            pthread_mutex_lock(&k->mu);
            next = (web_job_ext *)k->live;   /* the list may have changed */
            continue;
        }
        if (!j->answered) {
            j->answered = true;
            pthread_mutex_unlock(&k->mu);
            if (web_reply_stream(wsi, pss, "text/csv; charset=utf-8",
                                 "Content-Disposition: attachment; "
                                 "filename=\"lockbridge-export.csv\"\r\n") < 0)
                lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK,
                                LWS_TO_KILL_ASYNC);
            else
                lws_callback_on_writable(wsi);
            pthread_mutex_lock(&k->mu);
            next = (web_job_ext *)k->live;
            continue;
        }
        lws_callback_on_writable(wsi);
    }
    pthread_mutex_unlock(&k->mu);
}

void web_worker_detach(web_worker *k, web_job *job)
{
    web_job_ext *j = (web_job_ext *)job;
    pthread_mutex_lock(&k->mu);
    job->pss = NULL;
    atomic_store(&job->cancelled, true);
    pthread_cond_broadcast(&k->room);
    bool queued = false;
    for (web_job *q = k->queue, *prev = NULL; q; prev = q, q = q->next)
        if (q == job) {
            if (prev)
                prev->next = q->next;
            else
                k->queue = q->next;
            if (k->queue_tail == q)
                k->queue_tail = prev;
            k->queued--;
            queued = true;
            break;
        }
    bool free_now = queued || (job->done && !j->running);
    /* done but not yet collected: its continuation still runs (an
     * audited action is taken); queued, it never ran, and nor does that */
    bool then_now = free_now && !queued && job->then;
    if (free_now)
        web_live_remove(k, j);
    pthread_mutex_unlock(&k->mu);
    if (then_now)
        job->then(job, NULL, NULL);
    if (free_now)
        web_job_free(j);
}

size_t web_worker_take(web_worker *k, web_job *job, strbuf *dst, size_t max,
                       bool *eof)
{
    pthread_mutex_lock(&k->mu);
    size_t n = job->out.len < max ? job->out.len : max;
    if (n) {
        sb_add(dst, sb_data(&job->out), n);
        memmove(sb_data(&job->out), sb_data(&job->out) + n,
                job->out.len - n);
        job->out.len -= n;
        sb_data(&job->out)[job->out.len] = '\0';
        pthread_cond_broadcast(&k->room);
    }
    *eof = job->done && job->out.len == 0;
    pthread_mutex_unlock(&k->mu);
    return n;
}
