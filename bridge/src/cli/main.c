/*
 * main.c - the lockbridge command line: parses the options and runs one
 * command (cli.h lists them; each lives in its own cmd_*.c).
 *
 * Exit codes: 0 success; 1 a PLC could not be read (read) or a runtime
 * failure; 2 the map has errors; 64 bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static void main_usage(FILE *f)
{
    fprintf(f,
            "usage: lockbridge COMMAND -c FILE [options]\n"
            "\n"
            "commands:\n"
            "  check   validate the station or PLC map, report every error\n"
            "  read    poll every PLC once and print every tag\n"
            "  run     run the bridge until SIGINT/SIGTERM\n"
            "  export  print recorded history: --tags plc.tag,plc.* --from T\n"
            "          [--to T] [--csv]  (T: RFC 3339, a date, now, -2h, -7d)\n"
            "  user    add NAME --role ROLE | list | passwd NAME | role NAME ROLE |\n"
            "          del NAME   (roles: viewer, operator, engineer, admin)\n"
            "  token   add NAME [--role ROLE] | list | del NAME   (wall-screen URLs)\n"
            "  audit   print the audit log: --from T [--to T] [--csv]\n"
            "  acklink ALARM --to PERSON [--ttl 24h]   print a link that\n"
            "          acknowledges ALARM once, as PERSON, from a phone\n"
            "  notify  test --channel ID: send one test message through a\n"
            "          notify channel and print its answer\n"
            "  grafana print a Grafana dashboard of the station (its PLCs'\n"
            "          time series in VictoriaMetrics) [--datasource-uid UID]\n"
            "\n"
            "options:\n"
            "  -c, --config FILE    station file or single PLC file\n"
            "  --data-dir DIR       use DIR instead of the map's data_dir (every\n"
            "                       default path under it follows)\n"
            "  --log-format FMT     text (a terminal's default), journal (<N>\n"
            "                       priority prefix, no timestamp: the default when\n"
            "                       stderr is JOURNAL_STREAM) or json (one object\n"
            "                       per line: time, level, module, message)\n"
            "  --json               read, user list, token list: print JSON\n"
            "  --summary SECONDS    run: per-PLC summary interval (default 5)\n"
            "  --log-changes        run: log every value change\n"
            "  --web ADDR|off       run: serve the dashboard on ADDR:PORT instead of\n"
            "                       web.listen, or not at all\n"
            "  -v, --verbose        run: debug logging\n"
            "  --role ROLE          user add, token add: the role\n"
            "  --channel ID         notify test: the channel\n"
            "  --datasource-uid UID grafana: the Prometheus data source's uid\n"
            "                       (default lockbridge-tsdb)\n"
            "  --password-stdin     user add, user passwd: read the password as one\n"
            "                       line from stdin instead of asking twice\n"
            "  --version            print the version\n");
}

map_station *cli_load(const cli_opts *o)
{
    const char *path = o->config;
    map_errors errs = {0};
    map_station *st = map_load_data_dir(path, o->data_dir, &errs);
    for (size_t i = 0; i < errs.n; i++)
        fprintf(stderr, "%s\n", errs.msgs[i]);
    if (!st && errs.n == 0)
        fprintf(stderr, "%s: cannot load map\n", path);
    map_errors_free(&errs);
    return st;
}

int cmd_check(const cli_opts *o)
{
    map_station *st = cli_load(o);
    if (!st)
        return CLI_EXIT_CONFIG;
    /* Warnings do not fail the check: the map is valid, maybe not
     * meant (a rota that leaves nights uncovered). */
    for (size_t i = 0; i < st->warnings.n; i++)
        fprintf(stderr, "%s\n", st->warnings.msgs[i]);
    size_t tags = 0, enabled = 0;
    for (size_t p = 0; p < st->n_plcs; p++) {
        tags += st->plcs[p].n_tags;
        enabled += st->plcs[p].enabled;
    }
    printf("%s: ok: station %s, %zu PLCs (%zu enabled), %zu tags, %zu "
           "alarms\n", o->config, st->id, st->n_plcs, enabled, tags,
           map_alarm_count(st));
    map_free(st);
    return 0;
}

int main(int argc, char **argv)
{
    cli_opts o = {.summary_s = 5, .level = LOG_INFO};
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"data-dir", required_argument, NULL, 'D'},
        {"log-format", required_argument, NULL, 'G'},
        {"json", no_argument, NULL, 'j'},
        {"csv", no_argument, NULL, 'C'},
        {"tags", required_argument, NULL, 'T'},
        {"from", required_argument, NULL, 'F'},
        {"to", required_argument, NULL, 'U'},
        {"summary", required_argument, NULL, 's'},
        {"log-changes", no_argument, NULL, 'L'},
        {"web", required_argument, NULL, 'W'},
        {"verbose", no_argument, NULL, 'v'},
        {"role", required_argument, NULL, 'R'},
        {"channel", required_argument, NULL, 'N'},
        {"password-stdin", no_argument, NULL, 'P'},
        {"ttl", required_argument, NULL, 't'},
        {"datasource-uid", required_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    if (argc >= 2 && (strcmp(argv[1], "--version") == 0 ||
                      strcmp(argv[1], "version") == 0)) {
        printf("lockbridge %s\n", LB_VERSION);
        return 0;
    }
    if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        main_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : 0;
    }
    const char *cmd = argv[1];
    log_format fmt = LOG_FMT_TEXT;
    bool fmt_given = false;
    optind = 2;
    int c;
    while ((c = getopt_long(argc, argv, "c:vh", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': o.config = optarg; break;
        case 'D': o.data_dir = optarg; break;
        case 'G':
            if (log_format_parse(optarg, &fmt) < 0) {
                fprintf(stderr, "lockbridge: --log-format: '%s' is not text, "
                                "journal or json\n", optarg);
                return CLI_EXIT_USAGE;
            }
            fmt_given = true;
            break;
        case 'j': o.json = true; break;
        case 'C': o.csv = true; break;
        case 'T': o.tags = optarg; break;
        case 'F': o.from = optarg; break;
        case 'U': o.to = optarg; break;
        case 'L': o.log_changes = true; break;
        case 'W': o.web = optarg; break;
        case 'v': o.level = LOG_DEBUG; break;
        case 'R': o.role = optarg; break;
        case 'N': o.channel = optarg; break;
        case 'P': o.password_stdin = true; break;
        case 't': o.ttl = optarg; break;
        case 'S': o.datasource_uid = optarg; break;
        case 's': {
            char *end;
            errno = 0;
            o.summary_s = strtod(optarg, &end);
            if (errno || end == optarg || *end || o.summary_s < 0 ||
                !isfinite(o.summary_s) || o.summary_s > 86400) {
                fprintf(stderr, "lockbridge: --summary: not a number of "
                                "seconds: '%s'\n", optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        }
        case 'h': main_usage(stdout); return 0;
        default: main_usage(stderr); return CLI_EXIT_USAGE;
        }
    }
    /* Before any command logs: journald's format when stderr is the
     * journal's stream, unless the command line says otherwise. */
    log_set_format(fmt_given ? fmt : log_format_detect());
    /* user and token take words (add NAME ...); getopt has moved them
     * behind the options. */
    bool words = strcmp(cmd, "user") == 0 || strcmp(cmd, "token") == 0 ||
                 strcmp(cmd, "acklink") == 0 || strcmp(cmd, "notify") == 0;
    if (words) {
        o.args = argv + optind;
        o.nargs = argc - optind;
    } else if (optind < argc) {
        fprintf(stderr, "lockbridge: unexpected argument '%s'\n", argv[optind]);
        return CLI_EXIT_USAGE;
    }
    if (!o.config) {
        fprintf(stderr, "lockbridge: %s needs -c FILE (a station or PLC map)\n",
                cmd);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(cmd, "check") == 0)
        return cmd_check(&o);
    if (strcmp(cmd, "read") == 0)
        return cmd_read(&o);
    if (strcmp(cmd, "run") == 0)
        return cmd_run(&o);
    if (strcmp(cmd, "export") == 0)
        return cmd_export(&o);
    if (strcmp(cmd, "user") == 0)
        return cmd_user(&o);
    if (strcmp(cmd, "token") == 0)
        return cmd_token(&o);
    if (strcmp(cmd, "audit") == 0)
        return cmd_audit(&o);
    if (strcmp(cmd, "acklink") == 0)
        return cmd_acklink(&o);
    if (strcmp(cmd, "notify") == 0)
        return cmd_notify(&o);
    if (strcmp(cmd, "grafana") == 0)
        return cmd_grafana(&o);
    fprintf(stderr, "lockbridge: unknown command '%s' (check, read, run, "
            "export, user, token, audit, acklink, notify, grafana)\n", cmd);
    return CLI_EXIT_USAGE;
}
