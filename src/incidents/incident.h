/* Incidents: findings of one rule and key, grouped in log time, gated by a threshold, reset by
 * a good line, escalated to a stronger rule at a count, linked to a probable cause, and
 * expected events that never came (rules/README.md, "Incidents"; docs/SCHEMA.md).
 *
 * Incidents are rebuilt from what the database holds, one (rule, host) at a time, sorted by
 * log time: the result does not depend on the order the inputs were read in, and re-reading
 * an input (whose findings are already stored) gives the same incidents. */
#ifndef HSMLOG_INCIDENT_H
#define HSMLOG_INCIDENT_H

#include "common.h"
#include "db.h"
#include "err.h"
#include "rule.h"

/* What one incidents_update() did, for the command layer to report (with -v). */
struct incidents_update_stats {
    unsigned pairs;                                /* (rule, host) pairs rebuilt */
    double rebuild_s, links_s, causes_s, commit_s; /* where the time went */
};

/* Rebuilds the incidents of every (rule, host) marked dirty, then their cause links, and
 * clears the marks. Commits. Fills *stats (when not NULL) on success. Returns 0 or a
 * negative hl_code. */
HL_NODISCARD int incidents_update(struct db *db, const struct ruleset *rs,
                                  struct incidents_update_stats *stats, struct hl_err *err);

/* Recomputes findings.group_key from the stored host, program, source and fields with the
 * rules' current group-by (after the rules changed, or for findings of an older schema). */
HL_NODISCARD int incidents_rekey(struct db *db, const struct ruleset *rs, struct hl_err *err);

/* Marks every (rule, host) of the database dirty, for a full rebuild. */
HL_NODISCARD int incidents_mark_all(struct db *db, struct hl_err *err);

#endif
