/*
 * tagfmt.h - a tag's sample as people and programs read it: the text of
 * `lockbridge read` and `--log-changes`, and the JSON object of
 * `read --json` (which the dashboard's /api/tags repeats exactly).
 *
 * Pure functions of the map entry and the sample; any thread.  In core/
 * because the command line and the dashboard's HTTP API print the same.
 */
#ifndef LB_TAGFMT_H
#define LB_TAGFMT_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "config/plcmap.h"
#include "core/val.h"

/* "12.5", "2 (Open)" for a state code, "-" when there is no value. */
void tagfmt_value_text(const map_tag *t, const val_sample *s, char *buf,
                       size_t len);

/* "good", "device-error(2)", ... */
void tagfmt_quality_text(const val_sample *s, char *buf, size_t len);

/* {"tag", "value", "unit", "quality", "exception" (device-error only),
 * "ts"}; NULL when out of memory.  The caller owns the object. */
cJSON *tagfmt_json(const map_tag *t, const val_sample *s);

#endif
