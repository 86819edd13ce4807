/*
 * yamlfile.c - reads one map file (or takes a map the caller holds in
 * memory) and builds its libyaml document.
 *
 * The file is read whole (at most CFG_FILE_MAX bytes) before libyaml sees
 * it, so that positions in messages come from one buffer and a file that
 * grows while it is read cannot make the loader read for ever.  Flow
 * nesting is bounded before parsing (libyaml is quadratic in it), and a
 * file must hold exactly one document, and no node may carry an explicit
 * YAML tag.  Every failure is reported through the loader, with a
 * position when there is one.
 */
#include "config/parse.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* strerror for messages; the loader may run on any thread. */
static const char *why(int err, char *buf, size_t len)
{
    return strerror_r(err, buf, len);
}

/* Reads the whole of path into *buf (malloc'd, *len bytes); -1 reported.
 *
 * Only regular files are read.  fopen() on a FIFO blocks until a writer
 * appears and then reads until that writer closes, so `check -c` on one
 * hung for ever; a device could be read without end.  Opening without
 * blocking and asking the descriptor what it is refuses those at once,
 * and about the very file that would have been read. */
static int read_file(cfg_loader *ld, cfg_src *s, const char *path,
                     char **buf, size_t *len)
{
    char eb[128];
    *buf = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        cfg_add(ld, s->rank, 0, 0, "%s: cannot open: %s", path,
                why(errno, eb, sizeof eb));
        return -1;
    }
    int rc = -1;
    struct stat sb;
    if (fstat(fd, &sb) < 0) {
        cfg_add(ld, s->rank, 0, 0, "%s: cannot open: %s", path,
                why(errno, eb, sizeof eb));
        goto out;
    }
    if (S_ISDIR(sb.st_mode)) {
        cfg_add(ld, s->rank, 0, 0, "%s: cannot open: is a directory", path);
        goto out;
    }
    if (!S_ISREG(sb.st_mode)) {
        cfg_add(ld, s->rank, 0, 0, "%s: cannot open: not a regular file",
                path);
        goto out;
    }
    /* O_NONBLOCK does not affect a regular file.  The size is only a hint
     * (one read to the end, one to see the end); the file may grow while
     * it is read, so the loop has its own limit. */
    size_t cap = sb.st_size > 0 && (uint64_t)sb.st_size <= CFG_FILE_MAX
                     ? (size_t)sb.st_size + 1 : 65536;
    for (;;) {
        if (!*buf || *len == cap) {
            if (*buf)
                cap *= 2;
            char *nb = realloc(*buf, cap);
            if (!nb)
                abort();
            *buf = nb;
        }
        ssize_t got = read(fd, *buf + *len, cap - *len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            cfg_add(ld, s->rank, 0, 0, "%s: cannot read: %s", path,
                    why(errno, eb, sizeof eb));
            goto out;
        }
        if (got == 0)
            break;
        *len += (size_t)got;
        if (*len > CFG_FILE_MAX) {
            cfg_add(ld, s->rank, 0, 0, "%s: file is too large (more than %zu "
                    "MiB)", path, CFG_FILE_MAX >> 20);
            goto out;
        }
    }
    rc = 0;
out:
    close(fd);
    if (rc < 0) {
        free(*buf);
        *buf = NULL;
        *len = 0;
    }
    return rc;
}

/* The tag as a reader wrote it: "!!float" for YAML's own tags (libyaml
 * hands them over resolved), anything else as it came; made printable and
 * cut short for the message. */
static void tag_text(const char *tag, char *buf, size_t len)
{
    static const char yaml_prefix[] = "tag:yaml.org,2002:";
    size_t k = 0, max = 60;
    if (strncmp(tag, yaml_prefix, sizeof yaml_prefix - 1) == 0) {
        tag += sizeof yaml_prefix - 1;
        buf[k++] = '!';
        buf[k++] = '!';
    }
    size_t n = strlen(tag);
    bool cut = n > max;
    for (size_t i = 0; i < n && i < max && k + 4 < len; i++) {
        unsigned char c = (unsigned char)tag[i];
        buf[k++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    if (cut && k + 4 < len) {
        memcpy(buf + k, "...", 3);
        k += 3;
    }
    buf[k] = '\0';
}

/* Refuses every explicit tag (`!!float 502`, `!!binary ...`, `!foo`, `!`).
 *
 * The loader reads each value by its place in the schema, so a tag could
 * only be ignored, silently: `port: !!float 502` would still be port 502,
 * `!!binary` text would be taken as it stands.  The document API cannot
 * tell an explicit !!str, !!seq or !!map from an untagged node (it gives
 * those the same default tags), so the tags are found in a second,
 * event-level parse of the same buffer, where an untagged node has no tag
 * at all.  It runs only when the file has a '!' somewhere, and costs one
 * more linear parse (nesting is already bounded).  The document parsed,
 * so this parse does too; it stops quietly at any surprise. */
static void refuse_tags(cfg_src *s, const char *buf, size_t len)
{
    if (!memchr(buf, '!', len))
        return;
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser))
        abort();
    yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
    for (bool done = false; !done && !s->ld->stop;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev))
            break;
        const yaml_char_t *tag = NULL;
        switch (ev.type) {
        case YAML_SCALAR_EVENT: tag = ev.data.scalar.tag; break;
        case YAML_SEQUENCE_START_EVENT: tag = ev.data.sequence_start.tag;
            break;
        case YAML_MAPPING_START_EVENT: tag = ev.data.mapping_start.tag;
            break;
        case YAML_STREAM_END_EVENT: done = true; break;
        default: break;
        }
        if (tag) {
            char shown[80];
            tag_text((const char *)tag, shown, sizeof shown);
            cfg_err_pos(s, (int)ev.start_mark.line + 1,
                        (int)ev.start_mark.column + 1, "YAML tag '%s' is not "
                        "supported; write the value plainly", shown);
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
}

/* Parses buf (len bytes, as read from the file or given by the caller)
 * into s->doc, reporting against s->file; the caller owns buf. */
static int parse_buffer(cfg_src *s, const char *buf, size_t len)
{
    cfg_loader *ld = s->ld;
    const char *path = s->file;
    int rc = -1;

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
            /* Reported, but the document is still walked: the rest of
             * the file may have mistakes of its own. */
            if (rc == 0)
                refuse_tags(s, buf, len);
            yaml_document_delete(&more);
        } else {
            cfg_err_pos(s, (int)parser.problem_mark.line + 1,
                        (int)parser.problem_mark.column + 1, "%s",
                        parser.problem ? parser.problem : "invalid YAML");
        }
    }
    yaml_parser_delete(&parser);
out:
    if (rc < 0) {
        yaml_document_delete(&s->doc);
        memset(&s->doc, 0, sizeof s->doc);
    }
    return rc;
}

static void src_init(cfg_loader *ld, cfg_src *s, const char *name)
{
    s->ld = ld;
    s->file = name;
    s->rank = ld->n_files++;
    memset(&s->doc, 0, sizeof s->doc);
}

int cfg_file_load(cfg_loader *ld, cfg_src *s, const char *path)
{
    src_init(ld, s, path);
    char *buf;
    size_t len;
    if (read_file(ld, s, path, &buf, &len) < 0)
        return -1;
    int rc = parse_buffer(s, buf, len);
    free(buf);
    return rc;
}

int cfg_buffer_load(cfg_loader *ld, cfg_src *s, const char *name,
                    const char *data, size_t len)
{
    src_init(ld, s, name);
    /* The same bound as a file's, so that a map is accepted or refused
     * the same way whichever way it arrives. */
    if (len > CFG_FILE_MAX) {
        cfg_add(ld, s->rank, 0, 0, "%s: file is too large (more than %zu "
                "MiB)", name, CFG_FILE_MAX >> 20);
        return -1;
    }
    return parse_buffer(s, data ? data : "", data ? len : 0);
}

void cfg_file_unload(cfg_src *s)
{
    yaml_document_delete(&s->doc);
}

