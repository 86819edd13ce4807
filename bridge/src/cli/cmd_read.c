/*
 * cmd_read.c - `lockbridge read`: poll every enabled PLC once, all in
 * parallel (so one that times out does not delay the others), and print
 * every tag as text or as one JSON array.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "acquire/poller.h"
#include "cli/cli.h"
#include "core/clock.h"
#include "core/tagfmt.h"
#include "core/tagstore.h"

typedef struct {
    poll_plc *p;
    int rc;
} read_job;

static void *read_thread(void *arg)
{
    read_job *j = arg;
    j->rc = poll_once(j->p);
    return NULL;
}

static void read_print(tag_store *ts, bool json)
{
    size_t n = tag_store_count(ts);
    strbuf arr;
    sb_init(&arr, 0);
    sb_putc(&arr, '[');
    bool first = true;
    for (uint32_t i = 0; i < n; i++) {
        if (!tag_store_plc(ts, i)->enabled)
            continue;
        const map_tag *t = tag_store_tag(ts, i);
        val_sample s;
        tag_store_get(ts, i, &s);
        if (json) {
            if (!first)
                sb_putc(&arr, ',');
            first = false;
            tagfmt_json(&arr, t, &s);
            continue;
        }
        char v[128], q[32], when[32] = "-";
        tagfmt_value_text(t, &s, v, sizeof v);
        tagfmt_quality_text(&s, q, sizeof q);
        if (s.ts_ns)
            clk_format_rfc3339(s.ts_ns, when, sizeof when);
        printf("%-44s %20s %-6s %-14s %s\n", t->full_id, v,
               t->unit ? t->unit : "", q, when);
    }
    sb_putc(&arr, ']');
    if (json && !arr.failed)
        printf("%s\n", sb_data(&arr));
    else if (json)
        fprintf(stderr, "lockbridge: out of memory\n");
    sb_free(&arr);
}

int cmd_read(const cli_opts *o)
{
    map_station *st = cli_load(o);
    if (!st)
        return CLI_EXIT_CONFIG;
    int rc = 0;
    size_t np = st->n_plcs ? st->n_plcs : 1;
    tag_store *ts = tag_store_new(st, 0);
    read_job *jobs = calloc(np, sizeof *jobs);
    pthread_t *th = calloc(np, sizeof *th);
    if (!ts || !jobs || !th) {
        fprintf(stderr, "lockbridge: out of memory\n");
        rc = CLI_EXIT_FAIL;
        goto out;
    }
    for (size_t p = 0; p < st->n_plcs; p++) {
        if (!st->plcs[p].enabled)
            continue;
        jobs[p].p = poll_new(st, p, ts);
        if (!jobs[p].p ||
            pthread_create(&th[p], NULL, read_thread, &jobs[p]) != 0) {
            fprintf(stderr, "lockbridge: cannot start poller for %s\n",
                    st->plcs[p].id);
            poll_free(jobs[p].p);
            jobs[p].p = NULL;
            rc = CLI_EXIT_FAIL;
        }
    }
    for (size_t p = 0; p < st->n_plcs; p++) {
        if (!jobs[p].p)
            continue;
        pthread_join(th[p], NULL);
        if (jobs[p].rc != 0) {
            poll_stats s;
            poll_get_stats(jobs[p].p, &s);
            fprintf(stderr, "lockbridge: %s (%s:%d unit %d): %s\n",
                    st->plcs[p].id, st->plcs[p].host, st->plcs[p].port,
                    st->plcs[p].unit,
                    s.last_error[0] ? s.last_error : "read failed");
            rc = CLI_EXIT_FAIL;
        }
    }
    read_print(ts, o->json);
out:
    if (jobs)
        for (size_t p = 0; p < st->n_plcs; p++)
            poll_free(jobs[p].p);
    free(jobs);
    free(th);
    tag_store_free(ts);
    map_free(st);
    return rc;
}
