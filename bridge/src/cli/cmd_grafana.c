/*
 * cmd_grafana.c - `lockbridge grafana -c FILE [--datasource-uid UID]`:
 * prints the station's Grafana dashboard (grafana.h), built from the map
 * as every command loads it, for Grafana's provisioning
 * (docker/grafana/station.json is this command's output for plc-maps/).
 *
 * Exit codes: 0 printed; 2 the map has errors; 64 a bad uid; 1 out of
 * memory or stdout could not be written.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "cli/grafana.h"

int cmd_grafana(const cli_opts *o)
{
    if (o->datasource_uid && !graf_uid_ok(o->datasource_uid)) {
        fprintf(stderr, "lockbridge: --datasource-uid: '%s' is not a Grafana "
                        "uid (1 to 40 of A-Z a-z 0-9 _ -)\n",
                o->datasource_uid);
        return CLI_EXIT_USAGE;
    }
    map_station *st = cli_load(o);
    if (!st)
        return CLI_EXIT_CONFIG;
    int rc = CLI_EXIT_FAIL;
    graf_opts go = {.ds_uid = o->datasource_uid};
    cJSON *d = graf_dashboard(st, &go);
    char *text = d ? cJSON_Print(d) : NULL;
    if (!text)
        fprintf(stderr, "lockbridge: grafana: out of memory\n");
    else if (puts(text) == EOF || fflush(stdout) == EOF)
        perror("lockbridge: grafana: stdout");
    else
        rc = 0;
    free(text);
    cJSON_Delete(d);
    map_free(st);
    return rc;
}
