/* Marking incidents for a rebuild: which (rule, host, key) groups a new finding or a reset or
 * expect line touches, written to the store's incidents_dirty table for incidents_update().
 * The scan calls it for every stored hit; it keeps the marks cheap (a burst from one host
 * marks once; a pair marked whole takes no more marks in the transaction) and knows when an
 * update has something to do. Used by one thread at a time: whichever applies the hits. */
#ifndef HSMLOG_INCIDENT_MARK_H
#define HSMLOG_INCIDENT_MARK_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "common.h"
#include "db.h"
#include "err.h"
#include "rec.h"
#include "rule_match.h"

/* Groups (rule, host, key) marked before an update; past it, whole (rule, host) pairs, as an
 * insert per group would cost more than the rebuild saves (a first scan of a large input). */
#define INCIDENT_MARK_KEYS 4096

/* Pairs remembered as marked whole in one transaction. */
#define INCIDENT_MARK_WHOLE_PAIRS 32

struct incident_marks {
    struct db *db;            /* borrowed */
    const struct ruleset *rs; /* borrowed */
    uint64_t tx;              /* the store transaction the two caches below belong to */
    /* The group marked last, to skip a repeat without touching the store. */
    const struct rule *last_rule;
    char last_host[256];
    size_t last_host_len;
    char last_key[512];
    size_t last_key_len;
    /* Pairs marked whole in the transaction: every later mark of theirs is redundant.
     * Emptied at each new transaction, as another process's incident update may have
     * consumed the marks once they were committed. */
    struct incident_whole_pair {
        const char *rule_id; /* borrowed from the ruleset */
        size_t host_len;
        char host[256];
    } whole[INCIDENT_MARK_WHOLE_PAIRS];
    unsigned n_whole; /* pairs marked; past the array's size the oldest are forgotten */
    size_t keys;      /* groups marked since the last update */
    bool any;         /* something was marked since the last update */
};

/* Sets up marking into db for the rules of rs. */
void incident_marks_init(struct incident_marks *mk, struct db *db, const struct ruleset *rs);

/* A new finding of rule on host, in group key (incident_group_key()): marks its group and,
 * on its host, every group of the rules it resets (reset-by). */
HL_NODISCARD int incident_marks_finding(struct incident_marks *mk, const struct rule *rule,
                                        struct strv host, struct strv key, struct hl_err *err);

/* A stored reset or expect line of pattern (a RULE_ROLE_RESET or RULE_ROLE_EXPECT rule) on
 * host: marks the whole pair it affects, its owner's or, for an expectation, the trigger
 * rule's (an expectation is rebuilt with the incidents of its trigger). */
HL_NODISCARD int incident_marks_line(struct incident_marks *mk, const struct rule *pattern,
                                     struct strv host, struct hl_err *err);

/* A line that tells host is a Luna appliance (line line_no of source source_id): notes it in
 * the store, and when the store did not know it, ends the wait of the findings that waited
 * for it (appliance_waits), stored by this scan or an earlier one, and marks their pairs, so
 * that their incidents are built whichever line came first. */
HL_NODISCARD int incident_marks_appliance(struct incident_marks *mk, struct strv host,
                                          int64_t source_id, uint64_t line_no, struct hl_err *err);

/* Says that an incidents_update() consumed the marks: the next ones start afresh. */
void incident_marks_consumed(struct incident_marks *mk);

/* Writes the incident key of a finding or mark of rule to out: a JSON array of the values of
 * its group-by, in order. "host", "program" and "source" name the record's header and the
 * input's label; other names are the finding's fields. */
HL_NODISCARD int incident_group_key(const struct rule_incident_spec *spec, const struct record *rec,
                                    const char *source, const struct rule_capture *fields,
                                    size_t n_fields, struct buf *out);

/* Group-by values read from a key; more are ignored. */
#define INCIDENT_KEY_MAX_PARTS 8

/* Splits key (a JSON array of strings, as incident_group_key() writes it) into its decoded
 * values, into parts (initialized by the caller); returns how many. */
size_t incident_key_parts(const char *key, struct buf parts[INCIDENT_KEY_MAX_PARTS]);

/* True when a reset with reset_key applies to a group with key: equal, or equal in every
 * part the reset names (an empty part, a good login without a role, matches any). */
bool incident_key_reset_applies(const char *reset_key, const char *key);

/* The value of rule r's group-by field name in key, into out; false when r has no such
 * field. */
bool incident_key_field(const struct rule *r, const char *key, const char *name, struct buf *out);

#endif
