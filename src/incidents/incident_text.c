/* Incident summaries (incident_text.h): the rule's `incident` template, or its summary, with
 * the values of one incident put in. */
#include "incident_text.h"

#include <stdio.h>
#include <string.h>

#include "common.h"
#include "incident_mark.h"
#include "parse_time.h"

static void put_ts(struct buf *out, bool has_ts, int64_t us)
{
    char ts[PARSE_TIME_ISO_LEN];
    if (!has_ts) {
        HL_IGNORE(buf_adds(out, "(no time)"));
        return;
    }
    parse_time_format(us, ts);
    ts[19] = '\0'; /* "2026-11-28 14:02:51": seconds are enough in a sentence */
    HL_IGNORE(buf_adds(out, ts));
}

const char *incident_text_render(struct buf *out, const struct incident_text *d)
{
    const struct rule *r = d->rule, *from = d->from;
    const char *host = d->host;
    const char *tpl = r->inc.template ? r->inc.template : r->summary;
    struct buf field;
    buf_init(&field, 0);
    buf_reset(out);
    for (const char *p = tpl; *p; p++) {
        const char *close = *p == '{' ? strchr(p, '}') : NULL;
        if (!close || close - p > 40) {
            HL_IGNORE(buf_addc(out, *p));
            continue;
        }
        char name[48];
        snprintf(name, sizeof(name), "%.*s", (int)(close - p - 1), p + 1);
        char num[32];
        if (strcmp(name, "count") == 0) {
            snprintf(num, sizeof(num), "%u", d->count);
            HL_IGNORE(buf_adds(out, num));
        } else if (strcmp(name, "left") == 0 || strcmp(name, "limit") == 0) {
            unsigned v = strcmp(name, "limit") == 0 ? r->inc.limit
                         : r->inc.limit > d->count  ? r->inc.limit - d->count
                                                    : 0;
            snprintf(num, sizeof(num), "%u", v);
            HL_IGNORE(buf_adds(out, num));
        } else if (strcmp(name, "host") == 0) {
            HL_IGNORE(buf_adds(out, *host ? host : "(no host)"));
        } else if (strcmp(name, "first") == 0 || strcmp(name, "last") == 0) {
            put_ts(out, d->has_ts, name[0] == 'f' ? d->first_us : d->last_us);
        } else if (strcmp(name, "trigger") == 0) {
            HL_IGNORE(buf_adds(out, from->id));
        } else if (incident_key_field(from, d->key, name, &field)) {
            HL_IGNORE(buf_add(out, field.data ? field.data : "", field.len));
            /* An empty field leaves no double space: "1 bad login(s)", not "1 bad  login(s)". */
            if (!field.len && close[1] == ' ' && out->len && out->data[out->len - 1] == ' ')
                close++;
        } else {
            HL_IGNORE(buf_add(out, p, (size_t)(close - p + 1)));
        }
        p = close;
    }
    buf_release(&field);
    return buf_cstr(out);
}
