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

cJSON *tagfmt_json(const map_tag *t, const val_sample *s)
{
    char v[160], when[32];
    val_to_json(&s->v, v, sizeof v);
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "tag", t->full_id);
    cJSON_AddItemToObject(o, "value", cJSON_CreateRaw(v));
    if (t->unit)
        cJSON_AddStringToObject(o, "unit", t->unit);
    else
        cJSON_AddNullToObject(o, "unit");
    cJSON_AddStringToObject(o, "quality", val_quality_name(s->q));
    if (s->q == Q_DEVICE)
        cJSON_AddNumberToObject(o, "exception", s->exc);
    if (s->ts_ns) {
        clk_format_rfc3339(s->ts_ns, when, sizeof when);
        cJSON_AddStringToObject(o, "ts", when);
    } else {
        cJSON_AddNullToObject(o, "ts");
    }
    return o;
}
