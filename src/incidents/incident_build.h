/* The incident builder's state, shared by its modules: incident.c rebuilds (rule, host) pairs
 * and groups, asking incident_reset.c for the resets between findings; incident_cause.c links
 * incidents to their causes. Private to them. */
#ifndef HSMLOG_INCIDENT_BUILD_H
#define HSMLOG_INCIDENT_BUILD_H

#include "buf.h"
#include "common.h"
#include "db.h"
#include "stmt.h"
#include "err.h"
#include "rule.h"

/* One incidents_update(): the database, the rules, and the prepared statements. */
struct builder {
    struct db *db;
    const struct ruleset *rs;
    struct hl_err *err;
    int64_t clock_us; /* latest log time of any scan; INT64_MIN when none */
    struct stmt *st_findings, *st_resets, *st_reset_by, *st_resets_untimed, *st_expects,
            *st_triggers, *st_delete, *st_old_save, *st_insert, *st_close, *st_link_range,
            *st_pair_clear, *st_pair_fill, *st_old_save_keys, *st_delete_keys, *st_pair_fill_keys,
            *st_key_add, *st_old_find, *st_old_take, *st_moved;
    int64_t next_id;       /* incidents.id of the next new incident: above every id of the update */
    bool any_old;          /* temp.old has rows: incidents may be made again with their ids */
    int64_t *new_first_us; /* owned: per rule (as rs->rules), the earliest first time of a new
                              incident in this update, INT64_MAX for none; to temp.moved */
    struct buf text;       /* scratch: summaries */
};

/* Appends the ids of rules idx[0..n) of b's ruleset as a JSON array (for json_each()), leaving
 * out indexes that name no rule (SIZE_MAX: a name that did not link). 0 or HL_ENOMEM set in
 * b->err. */
int rule_ids_json(struct builder *b, const size_t *idx, size_t n, struct buf *out);

static inline int fail(struct builder *b, const char *what)
{
    return hl_err_set(b->err, HL_EDB, b->db->path, "%s: %s", what, db_errmsg(b->db));
}

static inline int prepare(struct builder *b, struct stmt **st, const char *sql)
{
    return stmt_prepare(b->db, sql, st) == 0 ? 0 : fail(b, "cannot prepare an incident statement");
}

static inline void bind_host(struct stmt *st, int i, const char *host)
{
    if (*host)
        stmt_bind_text(st, i, host);
    else
        stmt_bind_null(st, i);
}

/* incidents_dirty.rule_id of the row that asks for every cause to be linked again (a rebuild
 * with rules whose caused-by may have changed); no rule id has a '*'. */
#define ALL_CAUSES "*"

/* True when x is a derived rule expecting something after each finding of its triggers and
 * trigger is the first of them: the one whose rebuild builds x's incidents, from the findings
 * of them all. */
bool incident_expects_after(const struct ruleset *rs, const struct rule *x,
                            const struct rule *trigger);

/* 1 when a reset that applies to group key of rule on host has a time in [from_us, to_us)
 * (INT64_MIN and INT64_MAX for open ends), 0 when none (or the rule has no reset), or an
 * error (incident_reset.c). A reset is a line of the rule's reset pattern, or a finding on
 * host of a rule it names in reset-by (hsm.zeroized overtakes a count of bad HSM SO logins). */
HL_NODISCARD int reset_between(struct builder *b, const struct rule *rule, const char *host,
                               const char *key, int64_t from_us, int64_t to_us);

/* The resets without a time of one group, in input order (source, line), read one row ahead
 * beside the group's findings without a time (incident_reset.c). Between
 * untimed_resets_open() and untimed_resets_close() it holds b->st_resets_untimed: one group
 * at a time. */
struct untimed_resets {
    struct stmt *st;   /* borrowed: b->st_resets_untimed, bound; NULL when read to the end */
    const char *key;   /* borrowed: the group's key, valid until the close */
    bool ready;        /* src and line are those of the reset ahead */
    int64_t src, line; /* its sources.id and line */
};

/* Starts reading the untimed resets of group key of rule on host into *c. Returns 0 or
 * HL_ENOMEM. */
HL_NODISCARD int untimed_resets_open(struct builder *b, struct untimed_resets *c,
                                     const struct rule *rule, const char *host, const char *key);

/* 1 when a reset without a time comes after line of input src and before line next_line of
 * input next_src (INT64_MAX, INT64_MAX: the end): one in input src, past line, and before
 * next_line when next_src is src. 0 when none, or an error. Calls come in (source, line)
 * order of src and line; the resets up to them are skipped for good. */
HL_NODISCARD int untimed_reset_after(struct builder *b, struct untimed_resets *c, int64_t src,
                                     int64_t line, int64_t next_src, int64_t next_line);

/* Lets go of the statement; *c is then as if never opened. NULL-safe on a zeroed *c. */
void untimed_resets_close(struct untimed_resets *c);

/* Rebuilds the incidents of rule on host (incident.c): all of them, or (keyed) those of the
 * group keys in temp.keys. Returns 0 or a negative hl_code. */
HL_NODISCARD int incident_rebuild_pair(struct builder *b, const struct rule *rule, const char *host,
                                       bool keyed);

/* The earliest log time from which the causes of r's incidents may have changed in this
 * update (temp.moved: where its own incidents or findings' links moved, or those of a rule it
 * is caused by). 1 and the time in *ret_us, 0 when nothing moved, or an error. st is
 * "SELECT ts FROM temp.moved WHERE rule_id = ?1". */
HL_NODISCARD int causes_moved_since(struct builder *b, struct stmt *st, const struct rule *r,
                                    int64_t *ret_us);

/* Links each timed incident of rule whose first time is from_us or later (INT64_MIN: all) to
 * its probable cause. Returns 0 or a negative hl_code. */
HL_NODISCARD int link_causes(struct builder *b, const struct rule *rule, int64_t from_us);

#endif
