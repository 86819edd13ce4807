/*
 * cmd_export.c - `lockbridge export`: every raw sample of the selected
 * tags in a time range, from the embedded history (opened read-only, so it
 * runs beside the daemon), as JSON or CSV.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/clock.h"
#include "core/tagfmt.h"
#include "record/history.h"

typedef struct {
    bool csv;
    size_t n;
    bool first;
    strbuf line;
} export_ctx;

static int export_row(void *arg, const char *tag, const val_sample *s)
{
    export_ctx *x = arg;
    if (x->csv) {
        sb_reset(&x->line);
        tagfmt_csv_row(&x->line, tag, s);
        fwrite(sb_data(&x->line), 1, x->line.len, stdout);
    } else {
        char when[40], v[160];
        clk_format_rfc3339(s->ts_ns, when, sizeof when);
        val_to_json(&s->v, v, sizeof v);
        printf("%s{\"tag\":\"%s\",\"ts\":\"%s\",\"value\":%s,\"quality\":\"%s\"}",
               x->first ? "" : ",\n", tag, when, v, val_quality_name(s->q));
        x->first = false;
    }
    x->n++;
    return 0;
}

/* The full ids of the tags named by --tags (full ids and plc.*, each
 * once), or of all of them; NULL (reported) when a name is unknown. */
static const char **export_tags(const map_station *st, const char *spec,
                                size_t *n_out)
{
    const map_tag **sel;
    size_t n;
    char why[PATH_MAX + 256];  /* the message names the map file */
    if (map_select_tags(st, spec, &sel, &n, why, sizeof why) == -1) {
        fprintf(stderr, "lockbridge: --tags: %s\n", why);
        return NULL;
    }
    const char **tags = calloc(n ? n : 1, sizeof *tags);
    if (!tags)
        fprintf(stderr, "lockbridge: out of memory\n");
    for (size_t i = 0; tags && i < n; i++)
        tags[i] = sel[i]->full_id;
    free(sel);
    *n_out = n;
    return tags;
}

int cmd_export(const cli_opts *o)
{
    map_station *st = cli_load(o);
    if (!st)
        return CLI_EXIT_CONFIG;
    int rc = CLI_EXIT_USAGE;
    const char **tags = NULL;
    size_t n_tags = 0;
    hist_db *h = NULL;
    int64_t now = clk_real_ns(), from, to = now;
    if (!o->from || clk_parse_time(o->from, now, &from) == -1) {
        fprintf(stderr, "lockbridge: export needs --from TIME (RFC 3339 such "
                        "as 2026-11-24T08:00:00Z, a date, 'now' or -2h/-7d); "
                        "got '%s'\n", o->from ? o->from : "");
        goto out;
    }
    if (o->to && clk_parse_time(o->to, now, &to) == -1) {
        fprintf(stderr, "lockbridge: --to: not a time: '%s'\n", o->to);
        goto out;
    }
    if (to <= from) {
        fprintf(stderr, "lockbridge: --to must be after --from\n");
        goto out;
    }
    tags = export_tags(st, o->tags, &n_tags);
    if (!tags)
        goto out;
    if (!st->history.enabled) {
        fprintf(stderr, "lockbridge: %s has the history turned off: nothing "
                        "to export\n", o->config);
        rc = CLI_EXIT_FAIL;
        goto out;
    }
    char err[256];
    hist_opts ho = {.path = st->history.path, .read_only = true};
    h = hist_open(&ho, err, sizeof err);
    if (!h) {
        fprintf(stderr, "lockbridge: %s\n", err);
        rc = CLI_EXIT_FAIL;
        goto out;
    }
    export_ctx x = {.csv = o->csv, .first = true};
    sb_init(&x.line, 0);
    if (o->csv)
        printf("ts,tag,value,quality\n");
    else
        printf("[");
    int qrc = hist_each_raw(h, tags, n_tags, from, to, export_row, &x, err,
                            sizeof err);
    sb_free(&x.line);
    if (qrc == -1) {
        fprintf(stderr, "\nlockbridge: export: %s\n", err);
        rc = CLI_EXIT_FAIL;
        goto out;
    }
    if (!o->csv)
        printf("]\n");
    fprintf(stderr, "lockbridge: exported %zu samples of %zu tags\n", x.n,
            n_tags);
    rc = 0;
out:
    hist_close(h);
    free(tags);
    map_free(st);
    return rc;
}
