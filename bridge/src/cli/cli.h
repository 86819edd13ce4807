/*
 * cli.h - what the lockbridge commands share: options, exit codes, map
 * loading, and one entry point per command.
 *
 *   lockbridge check  -c FILE           validate a station or PLC map
 *   lockbridge read   -c FILE [--json]  poll every PLC once and print all tags
 *   lockbridge run    -c FILE           the daemon (cmd_run.c)
 *   lockbridge export -c FILE --from T [--to T] [--tags ...] [--csv]
 *
 * Everything here runs on the main thread; `run` turns the main thread
 * into the consumer thread (core/dispatch.h has the thread table).
 */
#ifndef LB_CLI_H
#define LB_CLI_H

#include <stdbool.h>

#include "config/plcmap.h"
#include "core/log.h"

#define LB_VERSION "0.1.0"

enum { CLI_EXIT_FAIL = 1, CLI_EXIT_CONFIG = 2, CLI_EXIT_USAGE = 64 };

typedef struct {
    const char *config;
    bool json;
    bool csv;
    const char *tags, *from, *to;
    double summary_s;
    bool log_changes;
    const char *web;       /* run --web ADDR|off: overrides web.listen */
    log_level level;
} cli_opts;

/* Loads the map, printing every error to stderr; NULL on failure. */
map_station *cli_load(const char *path);

int cmd_check(const cli_opts *o);
int cmd_read(const cli_opts *o);
int cmd_run(const cli_opts *o);
int cmd_export(const cli_opts *o);

#endif
