/* The incident update (incident.h): for each dirty (rule, host), or the dirty groups of one,
 * the rebuild of incident.c; then open incidents elsewhere judged again against the log
 * clock, the findings' links written, and cause links (incident_cause.c) redone from where
 * something moved. Owns the builder's temp tables and statements. */
#include "incident.h"
#include "incident_build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "parse_time.h"
#include "clock.h"

/* ---- the update ------------------------------------------------------------------------- */

/* The rebuild's temp tables, emptied at the start of every update:
 * - pair: the findings of the (rule, host) being rebuilt, in walk order (by key, timed before
 *   untimed, then time; untimed by input and line, the only order they have). findings is
 *   indexed by (rule_id, host, ts, group_key), time-ordered so that inserts stay cheap; the
 *   key order is made here once per rebuild by SQLite's sorter (bounded memory, temp files),
 *   numbered by pos and read in chunks by pos. An incident's findings are one range of pos,
 *   which links them (cheaper than an index on (group_key, ts) and links by key and time);
 * - keys: the group keys to rebuild when a pair is not rebuilt whole;
 * - old: the incidents a rebuild drops, by what they are. One made again with the same rule,
 *   trigger rule, host, key and first time keeps its id (and cause), so that its findings'
 *   links and the causes that point at it stay as they are;
 * - walked: (finding, incident) pairs as the walk links them, in key order, appended: an
 *   insert into a table keyed by finding would be a random walk over it, with a page cache
 *   a fraction of the table;
 * - links: the same pairs by finding, the last link of a finding kept, sorted once by
 *   apply_links() and written into finding_links in finding order;
 * - moved: per rule, the earliest log time at which its incidents or their findings' links
 *   changed in this update; causes are linked again from there on (link_causes);
 * - judged: the open incidents whose state the log clock changes (rejudge_open).
 * No column is NOT NULL (what goes in never is): a statement that writes many rows and may
 * fail a constraint keeps a statement journal, and once one spills to a file every statement
 * after it in the update writes the pages it touches there. */
static const char temp_tables[] =
        "CREATE TEMP TABLE IF NOT EXISTS pair (pos INTEGER PRIMARY KEY,"
        " finding_id INTEGER, ts TEXT, group_key TEXT, source_id INTEGER, line INTEGER);"
        " CREATE TEMP TABLE IF NOT EXISTS keys (key TEXT PRIMARY KEY);"
        " CREATE TEMP TABLE IF NOT EXISTS old (id INTEGER PRIMARY KEY, rule_id TEXT,"
        " from_rule_id TEXT, host TEXT, key TEXT, first_ts TEXT, cause INTEGER,"
        " reused INTEGER DEFAULT 0);"
        " CREATE INDEX IF NOT EXISTS temp.old_identity ON old(rule_id, from_rule_id, key, first_ts);"
        " CREATE TEMP TABLE IF NOT EXISTS walked (seq INTEGER PRIMARY KEY, finding_id INTEGER,"
        " incident_id INTEGER);"
        " CREATE TEMP TABLE IF NOT EXISTS links (finding_id INTEGER PRIMARY KEY,"
        " incident_id INTEGER);"
        " CREATE TEMP TABLE IF NOT EXISTS moved (rule_id TEXT PRIMARY KEY, ts TEXT);"
        " CREATE TEMP TABLE IF NOT EXISTS judged (id INTEGER PRIMARY KEY, state TEXT);"
        " DELETE FROM temp.pair; DELETE FROM temp.keys; DELETE FROM temp.old;"
        " DELETE FROM temp.walked; DELETE FROM temp.links; DELETE FROM temp.moved;"
        " DELETE FROM temp.judged";

/* A finding waits while its host is not known as a Luna appliance's (appliance_waits, a
 * `hosts = appliance` rule's stock Linux line): it is in no incident, as the findings view
 * leaves it out. The table is keyed by the finding's id, which findings_rule_host holds. */
#define SHOWN \
    " AND NOT EXISTS (SELECT 1 FROM appliance_waits AS w WHERE w.finding_id = finding_rows.id)"

/* The builder's statements. Whole-pair and keyed variants stay separate statements: one with
 * "?3 OR key IN (...)" could not use the index by key. */
#define OLD_SAVE                                                                  \
    "INSERT INTO temp.old(id, rule_id, from_rule_id, host, key, first_ts, cause)" \
    " SELECT id, rule_id, from_rule_id, host, key, first_ts, cause_incident_id FROM incidents"
#define PAIR_FILL                                                                      \
    "INSERT INTO temp.pair(finding_id, ts, group_key, source_id, line) SELECT id, ts," \
    " group_key, source_id, line FROM finding_rows WHERE rule_id = ?1 AND host IS ?2" SHOWN
/* Timed findings of one time in id order; untimed ones in (source, line) order, which the
 * untimed resets are compared with (untimed_reset_after()). */
#define PAIR_ORDER                                                                  \
    " ORDER BY group_key, ts IS NULL, ts, CASE WHEN ts IS NULL THEN source_id END," \
    " CASE WHEN ts IS NULL THEN line END, id"
static const struct {
    size_t at; /* offsetof the struct stmt * in struct builder */
    const char *sql;
} statements[] = {
    { offsetof(struct builder, st_pair_clear), "DELETE FROM temp.pair" },
    { offsetof(struct builder, st_pair_fill), PAIR_FILL PAIR_ORDER },
    { offsetof(struct builder, st_pair_fill_keys),
      PAIR_FILL " AND group_key IN (SELECT key FROM temp.keys)" PAIR_ORDER },
    { offsetof(struct builder, st_findings),
      "SELECT pos, ts, group_key, source_id, line FROM temp.pair WHERE pos > ?1 ORDER BY pos"
      " LIMIT ?2" },
    /* The resets of a key: its own, and those with an empty part (a good login without a
     * role), which incident_key_reset_applies() then compares part by part. marks_rule_host covers
     * it. */
    { offsetof(struct builder, st_resets),
      "SELECT group_key FROM marks WHERE rule_id = ?1 AND kind = 'reset' AND host IS ?2"
      " AND ts >= ?4 AND ts < ?5 AND (group_key = ?3 OR instr(group_key, '\"\"') > 0)"
      " ORDER BY ts" },
    /* The untimed resets of a key in input order: its reset lines, and the findings of the
     * rules of ?4 (a JSON array of reset-by ids) with a NULL key, which reset every key. */
    { offsetof(struct builder, st_resets_untimed),
      "SELECT source_id, line, group_key FROM marks WHERE rule_id = ?1 AND kind = 'reset'"
      " AND host IS ?2 AND ts IS NULL AND (group_key = ?3 OR instr(group_key, '\"\"') > 0)"
      " UNION ALL SELECT source_id, line, NULL FROM finding_rows WHERE rule_id IN"
      " (SELECT value FROM json_each(?4)) AND host IS ?2 AND ts IS NULL" SHOWN " ORDER BY 1, 2" },
    { offsetof(struct builder, st_reset_by),
      "SELECT 1 FROM finding_rows WHERE rule_id = ?1 AND host IS ?2 AND ts >= ?3 AND ts < ?4" SHOWN
      " LIMIT 1" },
    { offsetof(struct builder, st_expects),
      "SELECT ts FROM marks WHERE rule_id = ?1 AND kind = 'expect' AND host IS ?2"
      " AND ts IS NOT NULL ORDER BY ts" },
    /* The findings of every trigger rule of an expectation (?1, a JSON array of ids). */
    { offsetof(struct builder, st_triggers),
      "SELECT ts FROM finding_rows WHERE rule_id IN (SELECT value FROM json_each(?1))"
      " AND host IS ?2 AND ts IS NOT NULL" SHOWN " ORDER BY ts" },
    { offsetof(struct builder, st_old_save), OLD_SAVE " WHERE from_rule_id = ?1 AND host IS ?2" },
    { offsetof(struct builder, st_old_save_keys),
      OLD_SAVE " WHERE from_rule_id = ?1 AND host IS ?2"
               " AND key IN (SELECT key FROM temp.keys)" },
    { offsetof(struct builder, st_old_find),
      "SELECT id, cause FROM temp.old WHERE rule_id = ?1 AND from_rule_id = ?2 AND host IS ?3"
      " AND key = ?4 AND first_ts IS ?5 AND NOT reused LIMIT 1" },
    { offsetof(struct builder, st_old_take), "UPDATE temp.old SET reused = 1 WHERE id = ?1" },
    { offsetof(struct builder, st_moved),
      "INSERT INTO temp.moved(rule_id, ts) VALUES(?1, ?2)"
      " ON CONFLICT(rule_id) DO UPDATE SET ts = min(ts, excluded.ts)" },
    { offsetof(struct builder, st_delete),
      "DELETE FROM incidents WHERE from_rule_id = ?1 AND host IS ?2" },
    { offsetof(struct builder, st_delete_keys),
      "DELETE FROM incidents WHERE from_rule_id = ?1 AND host IS ?2"
      " AND key IN (SELECT key FROM temp.keys)" },
    { offsetof(struct builder, st_key_add), "INSERT OR IGNORE INTO temp.keys(key) VALUES(?1)" },
    { offsetof(struct builder, st_insert),
      "INSERT INTO incidents(id, rule_id, from_rule_id, severity, host, key, first_ts, last_ts,"
      " count, state, summary, scan_id, cause_incident_id) VALUES(?12, ?1, ?2, ?3, ?4, ?5, ?6,"
      " ?7, ?8, ?9, ?10, nullif(?11, 0), nullif(?13, 0))" },
    { offsetof(struct builder, st_link_range),
      "INSERT INTO temp.walked(finding_id, incident_id) SELECT finding_id, ?1"
      " FROM temp.pair WHERE pos BETWEEN ?2 AND ?3" },
    { offsetof(struct builder, st_close), "UPDATE incidents SET state = 'closed' WHERE id = ?1" },
};

static struct stmt **statement(struct builder *b, size_t i)
{
    return (struct stmt **)(void *)((char *)b + statements[i].at);
}

static int builder_open(struct builder *b)
{
    int r = 0;
    if (db_run(b->db, temp_tables) < 0)
        r = fail(b, "cannot prepare the rebuild tables");
    for (size_t i = 0; r == 0 && i < ARRAY_SIZE(statements); i++)
        r = prepare(b, statement(b, i), statements[i].sql);
    /* New incidents take ids above every id of the update: an old id may be taken again. */
    struct stmt *st;
    if (r == 0 && (r = prepare(b, &st, "SELECT coalesce(max(id), 0) + 1 FROM incidents")) == 0) {
        if (stmt_step(st) == STMT_ROW)
            b->next_id = stmt_int(st, 0);
        else
            r = fail(b, "cannot read the incidents");
        stmt_finalize(st);
    }
    if (r == 0 && !(b->new_first_us = malloc((b->rs->n + 1) * sizeof(*b->new_first_us))))
        r = hl_err_set(b->err, HL_ENOMEM, NULL, "out of memory");
    for (size_t i = 0; r == 0 && i < b->rs->n; i++)
        b->new_first_us[i] = INT64_MAX;
    b->clock_us = INT64_MIN;
    if (r == 0 && (r = prepare(b, &st, "SELECT max(last_ts) FROM scans")) == 0) {
        bool zoned;
        if (stmt_step(st) == STMT_ROW && stmt_type(st, 0) != STMT_NULL &&
            !parse_time_iso(strv_from_cstr(stmt_text(st, 0)), 0, &b->clock_us, &zoned))
            b->clock_us = INT64_MIN;
        stmt_finalize(st);
    }
    return r;
}

static void builder_close(struct builder *b)
{
    for (size_t i = 0; i < ARRAY_SIZE(statements); i++) {
        stmt_finalize(*statement(b, i));
        *statement(b, i) = NULL;
    }
    free(b->new_first_us);
    b->new_first_us = NULL;
    buf_release(&b->text);
}

/* Writes the links the rebuilds collected (temp.walked) into finding_links in finding id
 * order, so that each page of links is written once. When old incidents were
 * dropped, it first notes what moved for link_causes, writes only the links that changed (an
 * incident made again keeps its id), and unlinks the findings of the old incidents that are
 * in none now (below a threshold). */
static int apply_links(struct builder *b)
{
    /* A link to a new incident needs no note: its first time, no later than its findings',
     * was noted by incident_id_for(). */
    static const char moved[] =
            "INSERT INTO temp.moved(rule_id, ts) SELECT f.rule_id, min(f.ts) FROM temp.links"
            " AS l JOIN temp.old AS o ON o.id = l.incident_id JOIN findings AS f"
            " ON f.id = l.finding_id WHERE f.incident_id IS NOT l.incident_id"
            " AND f.ts IS NOT NULL GROUP BY f.rule_id"
            " ON CONFLICT(rule_id) DO UPDATE SET ts = min(ts, excluded.ts);"
            " INSERT INTO temp.moved(rule_id, ts) SELECT rule_id, min(ts) FROM findings"
            " WHERE incident_id IN (SELECT id FROM temp.old) AND id NOT IN"
            " (SELECT finding_id FROM temp.links) AND ts IS NOT NULL GROUP BY rule_id"
            " ON CONFLICT(rule_id) DO UPDATE SET ts = min(ts, excluded.ts);"
            " INSERT INTO temp.moved(rule_id, ts) SELECT rule_id, min(first_ts) FROM incidents"
            " WHERE cause_incident_id IN (SELECT id FROM temp.old WHERE NOT reused)"
            " AND first_ts IS NOT NULL GROUP BY rule_id"
            " ON CONFLICT(rule_id) DO UPDATE SET ts = min(ts, excluded.ts)";
    static const char changed[] =
            "INSERT OR REPLACE INTO finding_links(finding_id, incident_id)"
            " SELECT l.finding_id, l.incident_id FROM temp.links AS l"
            " WHERE l.incident_id IS NOT (SELECT k.incident_id FROM finding_links AS k"
            " WHERE k.finding_id = l.finding_id);"
            " DELETE FROM finding_links WHERE incident_id IN (SELECT id FROM temp.old)"
            " AND finding_id NOT IN (SELECT finding_id FROM temp.links);"
            " DELETE FROM temp.links";
    /* The walk's links sorted by finding (SQLite's sorter, in a small cache). A
     * finding is in one range of one update; were it linked twice, the last link would win,
     * as when the ranges went into temp.links directly. Nothing old (a first scan): every
     * link is new, appended in finding order. */
#define SORTED_WALK                                                             \
    "(finding_id, incident_id) SELECT finding_id, incident_id FROM temp.walked" \
    " ORDER BY finding_id, seq; DELETE FROM temp.walked"
    static const char all_new[] = "INSERT OR REPLACE INTO finding_links" SORTED_WALK;
    static const char sort_walked[] = "INSERT OR REPLACE INTO temp.links" SORTED_WALK;
#undef SORTED_WALK
    if (!b->any_old)
        return db_exec_small_sort(b->db, all_new, b->err);
    int r = db_exec_small_sort(b->db, sort_walked, b->err);
    if (r < 0)
        return r;
    if (db_run(b->db, moved) < 0)
        return fail(b, "cannot note what the rebuild changed");
    if (db_run(b->db, changed) < 0)
        return fail(b, "cannot link findings to their incidents");
    return 0;
}

static const struct rule *find_rule(const struct ruleset *rs, const char *id)
{
    for (size_t i = 0; i < rs->n; i++)
        if (rs->rules[i].role == RULE_ROLE_FINDING && strcmp(rs->rules[i].id, id) == 0)
            return &rs->rules[i];
    return NULL;
}

/* Open incidents are judged against the log clock, which this input may have moved. Only
 * their state can change, as flush_incident() and build_expectations() decide it: a group
 * closes once the clock is more than its gap past its last finding, an expectation fires once
 * the clock is past its window, an escalation stays open until a reset. A rebuild of every
 * (rule, host) with an open incident made the same incidents: with --follow on a large
 * database that was seconds of work at every pause of the input. */
static int rejudge_open(struct builder *b)
{
    if (b->clock_us == INT64_MIN)
        return 0;
    /* Judged into temp.judged first: updating incidents while the read walks them (through
     * the index of open incidents) would move the rows under it. */
    struct stmt *open = NULL, *set = NULL;
    int r = prepare(b, &open,
                    "SELECT id, rule_id, from_rule_id, first_ts, last_ts FROM incidents"
                    " WHERE state = 'open'");
    if (r == 0)
        r = prepare(b, &set, "INSERT INTO temp.judged(id, state) VALUES(?1, ?2)");
    int rc;
    while (r == 0 && (rc = stmt_step(open)) == STMT_ROW) {
        const char *id = stmt_text(open, 1);
        const char *from_id = stmt_text(open, 2);
        const struct rule *rule = ruleset_find(b->rs, id ? id : ""); /* derived ones too */
        const char *first = stmt_text(open, 3);
        const char *last = stmt_text(open, 4);
        int64_t first_us, last_us;
        bool zoned;
        if (!rule || !rule_is_public(rule) || !from_id || !first || !last ||
            parse_time_iso(strv_from_cstr(first), 0, &first_us, &zoned) == 0 ||
            parse_time_iso(strv_from_cstr(last), 0, &last_us, &zoned) == 0)
            continue; /* a rule no longer loaded keeps its incidents, as in a rebuild */
        const char *state = NULL;
        if (strcmp(id, from_id) == 0) {
            if (b->clock_us - last_us > rule->inc.gap_us)
                state = "closed";
        } else if (incident_expects_after(b->rs, rule, ruleset_find(b->rs, from_id))) {
            if (b->clock_us > first_us + rule->inc.expect_us)
                state = "fired";
        }
        if (!state)
            continue;
        stmt_bind_int(set, 1, stmt_int(open, 0));
        stmt_bind_text(set, 2, state);
        if (stmt_step(set) != STMT_DONE)
            r = fail(b, "cannot judge an open incident");
        stmt_reset(set);
    }
    if (r == 0 && rc != STMT_DONE)
        r = fail(b, "cannot read the open incidents");
    stmt_finalize(open);
    stmt_finalize(set);
    if (r == 0 &&
        db_run(b->db, "UPDATE incidents SET state = (SELECT j.state FROM temp.judged AS j"
                      " WHERE j.id = incidents.id)"
                      " WHERE id IN (SELECT id FROM temp.judged); DELETE FROM temp.judged") < 0)
        r = fail(b, "cannot judge the open incidents");
    return r;
}

/* The (rule, host) whose incidents_dirty rows are being read. */
struct dirty_pair {
    char *rule_id, *host;    /* owned */
    const struct rule *rule; /* NULL when the rule is no longer loaded */
    bool expected;           /* its findings trigger an expectation: rebuilt whole */
    bool whole;              /* rebuilt whole already: its key rows are done too */
    size_t n_keys;           /* keys waiting in temp.keys */
};

static void pair_release(struct dirty_pair *p)
{
    free(p->rule_id);
    free(p->host);
    memset(p, 0, sizeof(*p));
}

static int pair_start(struct builder *b, struct dirty_pair *p, const char *id, const char *host)
{
    pair_release(p);
    p->rule_id = strdup(id);
    p->host = strdup(host);
    if (!p->rule_id || !p->host)
        return hl_err_set(b->err, HL_ENOMEM, NULL, "out of memory");
    p->rule = find_rule(b->rs, id);
    for (size_t i = 0; p->rule && i < b->rs->n && !p->expected; i++)
        p->expected = incident_expects_after(b->rs, &b->rs->rules[i], p->rule);
    return 0;
}

/* Rebuilds the groups of p collected in temp.keys, and empties it. */
static int rebuild_keys(struct builder *b, struct dirty_pair *p)
{
    if (!p->n_keys)
        return 0;
    p->n_keys = 0;
    int r = incident_rebuild_pair(b, p->rule, p->host, true);
    if (r == 0 && db_run(b->db, "DELETE FROM temp.keys") < 0)
        r = fail(b, "cannot clear the groups to rebuild");
    return r;
}

/* Seconds since *mark, which moves to now. */
static double lap(int64_t *mark)
{
    int64_t now = clock_mono_ns();
    double s = (double)(now - *mark) / 1e9;
    *mark = now;
    return s;
}

/* An expectation with several `after` triggers is built by its first trigger's rebuild, from
 * the findings of all: a pair of another trigger marked dirty (a new finding, a rebuild of
 * every pair, an appliance host learnt) marks the first trigger's pair on that host whole. */
static int mark_first_triggers(struct builder *b)
{
    const struct ruleset *rs = b->rs;
    struct stmt *st = NULL;
    int r = 0;
    for (size_t i = 0; r == 0 && i < rs->n; i++) {
        const struct rule *x = &rs->rules[i];
        size_t first = rule_after_first(x);
        for (size_t k = 1; r == 0 && first < rs->n && k < x->inc.n_after; k++) {
            size_t t = x->inc.after_idx[k];
            if (t >= rs->n || t == first)
                continue;
            if (!st && (r = prepare(b, &st,
                                    "INSERT OR IGNORE INTO incidents_dirty(rule_id, host, key)"
                                    " SELECT DISTINCT ?1, host, '' FROM incidents_dirty"
                                    " WHERE rule_id = ?2")) < 0)
                break;
            stmt_bind_text(st, 1, rs->rules[first].id);
            stmt_bind_text(st, 2, rs->rules[t].id);
            if (stmt_step(st) != STMT_DONE)
                r = fail(b, "cannot mark an expectation for a rebuild");
            stmt_reset(st);
        }
    }
    stmt_finalize(st);
    return r;
}

/* Rebuilds every pair and group incidents_dirty names. Rows of one (rule, host) come
 * together, key '' (the whole pair) first; the keys of a pair not dirty as a whole are
 * collected in temp.keys and rebuilt at its last row. Counts the pairs in *n_pairs; sets
 * *all_causes when the list asks for every cause to be linked again. */
static int rebuild_dirty(struct builder *b, unsigned *n_pairs, bool *all_causes)
{
    struct stmt *dirty = NULL;
    int r = mark_first_triggers(b);
    if (r == 0)
        r = prepare(b, &dirty, "SELECT rule_id, host, key FROM incidents_dirty ORDER BY 1, 2, 3");
    struct dirty_pair pair = { 0 };
    while (r == 0 && stmt_step(dirty) == STMT_ROW) {
        const char *id = stmt_text(dirty, 0);
        const char *host = stmt_text(dirty, 1);
        const char *key = stmt_text(dirty, 2);
        if (!id || !host || !key)
            continue;
        if (strcmp(id, ALL_CAUSES) == 0) {
            *all_causes = true; /* incidents --rebuild: the rules' caused-by may have changed */
            continue;
        }
        if (!pair.rule_id || strcmp(pair.rule_id, id) != 0 || strcmp(pair.host, host) != 0) {
            if ((r = rebuild_keys(b, &pair)) < 0 || (r = pair_start(b, &pair, id, host)) < 0)
                break;
            (*n_pairs)++;
        }
        /* A rule no longer loaded keeps its old incidents: we cannot know better. */
        if (!pair.rule || pair.whole)
            continue;
        if (!*key || pair.expected) {
            pair.whole = true; /* the pair's first row: no key is waiting */
            r = incident_rebuild_pair(b, pair.rule, pair.host, false);
        } else {
            stmt_bind_text_copy(b->st_key_add, 1, key);
            if (stmt_step(b->st_key_add) != STMT_DONE)
                r = fail(b, "cannot collect the groups to rebuild");
            stmt_reset(b->st_key_add);
            pair.n_keys++;
        }
    }
    if (r == 0)
        r = rebuild_keys(b, &pair);
    pair_release(&pair);
    stmt_finalize(dirty);
    return r;
}

/* Links again the causes of every rule whose incidents, or whose causes' incidents, moved in
 * this update (all of them with all_causes): from the earliest time that moved. */
static int relink_causes(struct builder *b, bool all_causes)
{
    const struct ruleset *rs = b->rs;
    int r = 0;
    for (size_t i = 0; r == 0 && i < rs->n; i++) {
        if (b->new_first_us[i] == INT64_MAX)
            continue;
        char first[PARSE_TIME_ISO_LEN];
        parse_time_format(b->new_first_us[i], first);
        stmt_bind_text(b->st_moved, 1, rs->rules[i].id);
        stmt_bind_text(b->st_moved, 2, first);
        if (stmt_step(b->st_moved) != STMT_DONE)
            r = fail(b, "cannot note the new incidents");
        stmt_reset(b->st_moved);
    }
    struct stmt *moved = NULL;
    if (r == 0)
        r = prepare(b, &moved, "SELECT ts FROM temp.moved WHERE rule_id = ?1");
    for (size_t i = 0; r == 0 && i < rs->n; i++) {
        int64_t since = INT64_MIN;
        if (rs->rules[i].inc.n_causes &&
            (all_causes || (r = causes_moved_since(b, moved, &rs->rules[i], &since)) > 0))
            r = link_causes(b, &rs->rules[i], since);
    }
    stmt_finalize(moved);
    return r;
}

int incidents_update(struct db *db, const struct ruleset *rs, struct incidents_update_stats *stats,
                     struct hl_err *err)
{
    if (db->readonly)
        return 0;
    struct builder b = { .db = db, .rs = rs, .err = err };
    buf_init(&b.text, 1u << 20);
    /* Where an update's time goes, for -v: a slow scan's first question. */
    int64_t mark = clock_mono_ns();
    struct incidents_update_stats st = { 0 };
    int r = db_commit(db, err);
    /* One transaction: readers see the old incidents or the new ones, never half. */
    /* Without the store's reference checks (db_bulk_begin()): the builder keeps the
     * references itself. It unlinks findings before it deletes their incidents, and
     * link_causes rewrites the cause of every timed incident of a rule whose causes changed. */
    if (r == 0 && db_bulk_begin(db) < 0)
        r = fail(&b, "cannot start the incident update");
    bool in_tx = r == 0, all_causes = false;
    if (r == 0)
        r = builder_open(&b);
    if (r == 0)
        r = rejudge_open(&b);
    if (r == 0)
        r = rebuild_dirty(&b, &st.pairs, &all_causes);
    st.rebuild_s = lap(&mark);
    if (r == 0) /* before link_causes, which reads the links */
        r = apply_links(&b);
    /* Indexes a first scan deferred, built once now that their rows are all written: the
     * rebuild needs none of them, link_causes reads through them. */
    if (r == 0)
        r = db_restore_indexes(db, err);
    st.links_s = lap(&mark);
    if (r == 0)
        r = relink_causes(&b, all_causes);
    st.causes_s = lap(&mark);
    if (r == 0 && db_run(db, "DELETE FROM incidents_dirty") < 0)
        r = fail(&b, "cannot clear the rebuild list");
    builder_close(&b);
    /* A COMMIT that fails (a full disk) must say so: the marks of what to rebuild roll back
     * with the incidents, so the next update does it again. */
    if (in_tx && r == 0 && db_run(db, "COMMIT") < 0)
        r = fail(&b, "cannot store the incidents");
    db_bulk_end(db);
    st.commit_s = lap(&mark);
    if (r == 0 && stats)
        *stats = st;
    return r;
}

/* SQL hsmlog_normalize(rule_id, field, value): value as the rule's `normalize` gives it. */
static struct strv sql_normalize(void *ctx, const struct strv *args)
{
    const struct ruleset *rs = ctx;
    const struct rule *rule = args[0].p ? ruleset_find(rs, args[0].p) : NULL;
    if (!rule || !args[1].p || !args[2].p)
        return args[2];
    return rule_normalized(rule, args[1].p, args[2]);
}

int incidents_rekey(struct db *db, const struct ruleset *rs, struct hl_err *err)
{
    int r = 0;
    if (db_define_function(db, "hsmlog_normalize", 3, sql_normalize, (void *)rs) < 0)
        return hl_err_set(err, HL_EDB, db->path, "cannot re-key findings: %s", db_errmsg(db));
    for (size_t i = 0; r == 0 && i < rs->n; i++) {
        const struct rule *rule = &rs->rules[i];
        if (rule->role != RULE_ROLE_FINDING)
            continue;
        /* The same values scan.c puts in a key, read back from the stored finding, normalized
         * by the current rule (a finding stored with lunash's "HSM Admin" keys "HSM SO"). */
        struct buf sql;
        buf_init(&sql, 0);
        HL_IGNORE(buf_adds(&sql, "UPDATE finding_rows SET group_key = json_array("));
        for (size_t k = 0; k < rule->inc.n_group_by; k++) {
            const char *f = rule->inc.group_by[k];
            char part[96];
            snprintf(part, sizeof(part), "%scoalesce(%s, '')", k ? ", " : "",
                     strcmp(f, "host") == 0      ? "host"
                     : strcmp(f, "program") == 0 ? "program"
                     : strcmp(f, "source") == 0  ? "(SELECT path FROM sources WHERE id = source_id)"
                                                 : NULL);
            if (strcmp(f, "host") && strcmp(f, "program") && strcmp(f, "source"))
                snprintf(
                        part, sizeof(part),
                        "%shsmlog_normalize(?1, ?%zu, coalesce(json_extract(fields, '$.' || ?%zu), ''))",
                        k ? ", " : "", k + 2, k + 2);
            HL_IGNORE(buf_adds(&sql, part));
        }
        HL_IGNORE(buf_adds(&sql, ") WHERE rule_id = ?1"));
        struct stmt *st;
        if (stmt_prepare(db, buf_cstr(&sql), &st) < 0) {
            r = hl_err_set(err, HL_EDB, db->path, "cannot re-key findings: %s", db_errmsg(db));
        } else {
            stmt_bind_text(st, 1, rule->id);
            for (size_t k = 0; k < rule->inc.n_group_by; k++)
                stmt_bind_text(st, (int)k + 2, rule->inc.group_by[k]);
            if (stmt_step(st) != STMT_DONE)
                r = hl_err_set(err, HL_EDB, db->path, "cannot re-key findings: %s", db_errmsg(db));
            stmt_finalize(st);
        }
        buf_release(&sql);
    }
    /* The function points at rs, which may go before the connection does. */
    HL_IGNORE(db_define_function(db, "hsmlog_normalize", 3, NULL, NULL));
    return r;
}

int incidents_mark_all(struct db *db, struct hl_err *err)
{
    if (db_run(db, "INSERT OR IGNORE INTO incidents_dirty(rule_id, host)"
                   " SELECT DISTINCT rule_id, coalesce(host, '') FROM finding_rows;"
                   " INSERT OR IGNORE INTO incidents_dirty(rule_id, host) VALUES('" ALL_CAUSES
                   "', '')") < 0)
        return hl_err_set(err, HL_EDB, db->path, "cannot mark incidents for a rebuild: %s",
                          db_errmsg(db));
    return 0;
}
