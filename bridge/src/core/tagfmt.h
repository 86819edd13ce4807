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

#include <stddef.h>

#include "config/plcmap.h"
#include "core/strbuf.h"
#include "core/val.h"

/* "12.5", "2 (Open)" for a state code, "-" when there is no value. */
void tagfmt_value_text(const map_tag *t, const val_sample *s, char *buf,
                       size_t len);

/* "good", "device-error(2)", ... */
void tagfmt_quality_text(const val_sample *s, char *buf, size_t len);

/* Appends {"tag", "value", "unit", "quality", "exception" (device-error
 * only), "ts"} in that order, without spaces: the one place that JSON is
 * written, so `read --json`, /api/tags and the WebSocket frames agree to
 * the byte. */
void tagfmt_json(strbuf *b, const map_tag *t, const val_sample *s);

/* Appends one CSV row "ts,tag,value,quality\n" as `lockbridge export
 * --csv` prints it: RFC 3339 time, the value empty when there is none,
 * strings quoted with quotes doubled (RFC 4180). */
void tagfmt_csv_row(strbuf *b, const char *tag, const val_sample *s);

#endif
