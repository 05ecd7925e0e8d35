/* The one-line summary of an incident (incidents.summary): its rule's `incident` template, or
 * its summary, with {count}, {left}, {limit}, {host}, {first}, {last}, {trigger} and the
 * group-by fields of its key put in (rules/README.md, "incident"). Private to incidents/. */
#ifndef HSMLOG_INCIDENT_TEXT_H
#define HSMLOG_INCIDENT_TEXT_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "rule.h"

struct incident_text {
    const struct rule *rule; /* the incident's rule */
    const struct rule *from; /* the rule whose findings made it (its key's group-by) */
    const char *key;         /* incidents.key, a JSON array */
    const char *host;        /* "" for none */
    unsigned count;
    bool has_ts;
    int64_t first_us, last_us;
};

/* Writes the summary of t into out (reset first) and returns it as a C string in out. */
const char *incident_text_render(struct buf *out, const struct incident_text *t);

#endif
