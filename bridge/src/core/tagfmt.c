/*
 * tagfmt.c - text and JSON of a tag's sample (see tagfmt.h).
 */
#include "core/tagfmt.h"

#include <stdio.h>

#include "core/clock.h"

void tagfmt_value_text(const map_tag *t, const val_sample *s, char *buf,
                       size_t len)
{
    if (s->v.kind == VAL_NONE) {
        snprintf(buf, len, "-");
        return;
    }
    char v[96];
    if (s->v.kind == VAL_REAL && t->type == MAP_F32 && !t->scaled)
        /* A float32 carries about 7 digits; the rest of its double is
         * noise to a reader (JSON keeps every digit). */
        snprintf(v, sizeof v, "%.7g", s->v.d);
    else
        val_to_text(&s->v, v, sizeof v);
    const map_text *label = NULL;
    if (t->n_states && (s->v.kind == VAL_INT || s->v.kind == VAL_BOOL))
        label = map_state_label(t, s->v.kind == VAL_BOOL ? s->v.b : s->v.i);
    if (label)
        snprintf(buf, len, "%s (%s)", v, label->en);
    else
        snprintf(buf, len, "%s", v);
}

void tagfmt_quality_text(const val_sample *s, char *buf, size_t len)
{
    if (s->q == Q_DEVICE)
        snprintf(buf, len, "device-error(%u)", s->exc);
    else
        snprintf(buf, len, "%s", val_quality_name(s->q));
}

void tagfmt_json(strbuf *b, const map_tag *t, const val_sample *s)
{
    char v[160];
    int n = val_to_json(&s->v, v, sizeof v);
    sb_puts(b, "{\"tag\":");
    sb_json_str(b, t->full_id);
    sb_puts(b, ",\"value\":");
    if (n > 0 && (size_t)n < sizeof v)
        sb_add(b, v, (size_t)n);
    else
        sb_puts(b, "null");
    sb_puts(b, ",\"unit\":");
    sb_json_str(b, t->unit);
    sb_puts(b, ",\"quality\":\"");
    sb_puts(b, val_quality_name(s->q));
    sb_putc(b, '"');
    if (s->q == Q_DEVICE)
        sb_printf(b, ",\"exception\":%u", s->exc);
    if (s->ts_ns) {
        char when[32];
        clk_format_rfc3339(s->ts_ns, when, sizeof when);
        sb_puts(b, ",\"ts\":\"");
        sb_puts(b, when);
        sb_puts(b, "\"}");
    } else {
        sb_puts(b, ",\"ts\":null}");
    }
}

void tagfmt_csv_row(strbuf *b, const char *tag, const val_sample *s)
{
    char when[40], v[160];
    clk_format_rfc3339(s->ts_ns, when, sizeof when);
    sb_puts(b, when);
    sb_putc(b, ',');
    sb_puts(b, tag);
    sb_putc(b, ',');
    if (s->v.kind == VAL_STR) {
        sb_putc(b, '"');
        for (const char *c = s->v.s; *c; c++) {
            if (*c == '"')
                sb_putc(b, '"');
            sb_putc(b, *c);
        }
        sb_putc(b, '"');
    } else if (s->v.kind != VAL_NONE) {
        val_to_text(&s->v, v, sizeof v);
        sb_puts(b, v);
    }
    sb_putc(b, ',');
    sb_puts(b, val_quality_name(s->q));
    sb_putc(b, '\n');
}
