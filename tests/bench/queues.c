/*
 * queues.c - lb-queues: what the bridge's in-memory queues and caches
 * would take at their bounds, for ./run bench's demo memory row.
 *
 *   lb-queues -c STATION
 *
 * A short run cannot fill the queues (the history's and the InfluxDB
 * writer's grow only in a crisis, the tag store's wraps after many
 * minutes) nor the history's page cache (it fills as the database grows
 * over days), so the bench adds these bounds to the resident memory it
 * measures.  They come from the modules themselves: a history and an
 * InfluxDB writer are opened with the daemon's defaults in a scratch
 * directory (the writer is never given anything to send) and their
 * statistics read; the tag store's queue is its default capacity
 * (TAG_QUEUE_DEFAULT) times its entry size.  Prints one JSON object, bytes:
 *   {"tagstore_queue": B, "history_queue": B, "history_cache": B,
 *    "influx_queue": B, "influx_configured": bool}
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/plcmap.h"
#include "core/tagstore.h"
#include "record/history.h"
#include "record/influx.h"
#include "support/tmpdir.h"

int main(int argc, char **argv)
{
    if (argc != 3 || strcmp(argv[1], "-c") != 0) {
        fprintf(stderr, "usage: lb-queues -c STATION\n");
        return 64;
    }
    map_errors errs = {0};
    map_station *st = map_load(argv[2], &errs);
    for (size_t i = 0; i < errs.n; i++)
        fprintf(stderr, "%s\n", errs.msgs[i]);
    map_errors_free(&errs);
    if (!st)
        return 2;
    char dir[] = "/tmp/lb-queues-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("lb-queues: mkdtemp");
        return 1;
    }
    char path[128], spool[128], err[256];
    snprintf(path, sizeof path, "%s/history.db", dir);
    snprintf(spool, sizeof spool, "%s/spool", dir);
    int rc = 1;
    hist_opts ho = {.path = path};
    hist_db *h = hist_open(&ho, err, sizeof err);
    if (!h) {
        fprintf(stderr, "lb-queues: %s\n", err);
        goto out;
    }
    hist_stats hs;
    hist_get_stats(h, &hs);
    hist_close(h);
    influx_opts io = {.url = "http://127.0.0.1:9", .database = "x",
                      .spool_dir = spool};
    influx_writer *w = influx_open(&io, err, sizeof err);
    if (!w) {
        fprintf(stderr, "lb-queues: %s\n", err);
        goto out;
    }
    influx_stats is;
    influx_get_stats(w, &is);
    influx_close(w);

    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "tagstore_queue",
                            (double)TAG_QUEUE_DEFAULT * sizeof(tag_change));
    cJSON_AddNumberToObject(o, "history_queue", (double)hs.queue_max_bytes);
    cJSON_AddNumberToObject(o, "history_cache", (double)hs.cache_max_bytes);
    cJSON_AddNumberToObject(o, "influx_queue", (double)is.queue_max_bytes);
    cJSON_AddBoolToObject(o, "influx_configured", st->influx.enabled);
    char *text = cJSON_PrintUnformatted(o);
    printf("%s\n", text);
    free(text);
    cJSON_Delete(o);
    rc = 0;
out:
    tmpdir_remove(dir);
    map_free(st);
    return rc;
}
