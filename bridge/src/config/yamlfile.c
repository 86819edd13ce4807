/*
 * yamlfile.c - reads one map file and builds its libyaml document.
 *
 * The file is read whole (at most CFG_FILE_MAX bytes) before libyaml sees
 * it, so that positions in messages come from one buffer and a file that
 * grows while it is read cannot make the loader read for ever.  Flow
 * nesting is bounded before parsing (libyaml is quadratic in it), and a
 * file must hold exactly one document.  Every failure is reported through
 * the loader, with a position when there is one.
 */
#include "config/parse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libyaml's scanner takes time quadratic in the depth of flow nesting
 * ([[[[...), and no map needs more than a few levels, so deep nesting is
 * refused before parsing.  This is a cheap approximation of YAML's lexical
 * rules (quotes and brackets count only where a node may start, comments
 * are skipped); it only has to be right for real maps and not be fooled
 * into missing a hostile depth by quote tricks.  Returns 0, or -1 with the
 * 1-based position of the bracket that goes too deep. */
static int flow_depth_check(const char *buf, size_t len, int *line, int *col)
{
    int depth = 0, ln = 1, cl = 1;
    char prev = '\n';   /* last non-blank character, '\n' at line start */
    for (size_t i = 0; i < len; i++, cl++) {
        char c = buf[i];
        bool node_start = prev == '\n' || prev == '[' || prev == '{' ||
                          prev == ',' || prev == ':' || prev == '-' ||
                          prev == '?';
        if (c == '\n') {
            ln++;
            cl = 0;
            prev = '\n';
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\r')
            continue;
        if (c == '#' && (i == 0 || buf[i - 1] == ' ' || buf[i - 1] == '\t' ||
                         buf[i - 1] == '\n')) {
            while (i + 1 < len && buf[i + 1] != '\n')
                i++;
            continue;
        }
        if ((c == '"' || c == '\'') && node_start) {
            /* Skip the quoted scalar, keeping the line count. */
            for (i++; i < len; i++, cl++) {
                if (buf[i] == '\n') {
                    ln++;
                    cl = 0;
                } else if (c == '"' && buf[i] == '\\' && i + 1 < len &&
                           buf[i + 1] != '\n') {
                    i++;
                    cl++;
                } else if (buf[i] == c) {
                    if (c == '\'' && i + 1 < len && buf[i + 1] == '\'') {
                        i++;
                        cl++;
                        continue;
                    }
                    break;
                }
            }
            prev = 'x';
            continue;
        }
        if ((c == '[' || c == '{') && (node_start || depth > 0)) {
            if (++depth > CFG_FLOW_DEPTH_MAX) {
                *line = ln;
                *col = cl;
                return -1;
            }
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
        prev = c;
    }
    return 0;
}

int cfg_file_load(cfg_loader *ld, cfg_src *s, const char *path)
{
    s->ld = ld;
    s->file = path;
    s->rank = ld->n_files++;
    memset(&s->doc, 0, sizeof s->doc);
    FILE *f = fopen(path, "rb");
    if (!f) {
        cfg_add(ld, s->rank, 0, 0, "%s: cannot open: %s", path,
                strerror(errno));
        return -1;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = -1;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 65536;
            char *nb = realloc(buf, cap);
            if (!nb)
                abort();
            buf = nb;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (len > CFG_FILE_MAX) {
            cfg_add(ld, s->rank, 0, 0, "%s: file is too large (more than %zu "
                    "MiB)", path, CFG_FILE_MAX >> 20);
            goto out;
        }
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        cfg_add(ld, s->rank, 0, 0, "%s: cannot read: %s", path,
                strerror(errno));
        goto out;
    }

    int dl, dc;
    if (flow_depth_check(buf, len, &dl, &dc) < 0) {
        cfg_err_pos(s, dl, dc, "nesting deeper than %d levels of [ ] or { } "
                    "is not supported", CFG_FLOW_DEPTH_MAX);
        goto out;
    }

    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser))
        abort();
    yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
    if (!yaml_parser_load(&parser, &s->doc)) {
        if (parser.error == YAML_READER_ERROR) {
            /* The reader gives a byte offset, not a mark. */
            int line = 1, col = 1;
            for (size_t i = 0; i < parser.problem_offset && i < len; i++) {
                if (buf[i] == '\n') {
                    line++;
                    col = 1;
                } else {
                    col++;
                }
            }
            cfg_err_pos(s, line, col, "%s", parser.problem ? parser.problem
                        : "unreadable input");
        } else if (parser.error == YAML_MEMORY_ERROR) {
            cfg_add(ld, s->rank, 0, 0, "%s: out of memory", path);
        } else if (parser.context) {
            cfg_err_pos(s, (int)parser.problem_mark.line + 1,
                        (int)parser.problem_mark.column + 1,
                        "%s (%s at line %d column %d)", parser.problem,
                        parser.context, (int)parser.context_mark.line + 1,
                        (int)parser.context_mark.column + 1);
        } else {
            cfg_err_pos(s, (int)parser.problem_mark.line + 1,
                        (int)parser.problem_mark.column + 1, "%s",
                        parser.problem ? parser.problem : "invalid YAML");
        }
        memset(&s->doc, 0, sizeof s->doc);
        yaml_parser_delete(&parser);
        goto out;
    }
    yaml_node_t *root = yaml_document_get_root_node(&s->doc);
    if (!root) {
        cfg_err_pos(s, 1, 1, "the file is empty (expected a station or a PLC "
                    "map)");
    } else {
        yaml_document_t more;
        if (yaml_parser_load(&parser, &more)) {
            yaml_node_t *r2 = yaml_document_get_root_node(&more);
            if (r2)
                cfg_err_at(s, r2, "only one YAML document per file is "
                           "allowed");
            else
                rc = 0;
            yaml_document_delete(&more);
        } else {
            cfg_err_pos(s, (int)parser.problem_mark.line + 1,
                        (int)parser.problem_mark.column + 1, "%s",
                        parser.problem ? parser.problem : "invalid YAML");
        }
    }
    yaml_parser_delete(&parser);
out:
    free(buf);
    fclose(f);
    if (rc < 0) {
        yaml_document_delete(&s->doc);
        memset(&s->doc, 0, sizeof s->doc);
    }
    return rc;
}

void cfg_file_unload(cfg_src *s)
{
    yaml_document_delete(&s->doc);
}

