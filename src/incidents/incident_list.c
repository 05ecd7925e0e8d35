/* Reading incidents back for the commands (incident_list.h): the queries of the
 * incident list, a scan's summary and `rules test`, with their filter bound by name. The
 * incidents are those incident.c and incident_cause.c built; this file only reads them. */
#include "incident_list.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "stmt.h"

/* One select for every list order, so that a row always has the same columns (row_read());
 * the cause is the incident the cause link names, the remedy that of the incident's rule. */
#define LIST_SELECT                                                                        \
    "SELECT i.id, i.severity, i.rule_id, i.host, i.first_ts, i.last_ts, i.count, i.state," \
    " i.summary, r.remedy, c.id, c.rule_id, c.host, c.first_ts, c.summary"                 \
    " FROM incidents i LEFT JOIN rules r ON r.id = i.rule_id"                              \
    " LEFT JOIN incidents c ON c.id = i.cause_incident_id"

/* An open incident is active now, whatever --since says. */
#define LIST_WHERE                                                                             \
    " WHERE (:since IS NULL OR i.state = 'open' OR coalesce(i.last_ts, i.first_ts) >= :since)" \
    " AND (:host IS NULL OR i.host = :host COLLATE NOCASE)"                                    \
    " AND (:rule IS NULL OR i.rule_id = :rule) AND (:open = 0 OR i.state = 'open')"

static const char *const list_sql[INCIDENT_ORDER__COUNT] = {
    [INCIDENT_ORDER_NEWEST] =
            LIST_SELECT LIST_WHERE " ORDER BY i.first_ts IS NULL, i.first_ts DESC, i.id DESC",
    /* A timeline reads forwards. */
    [INCIDENT_ORDER_HOST] = LIST_SELECT LIST_WHERE
    " ORDER BY i.host IS NULL, i.host, i.first_ts IS NULL, i.first_ts, i.id",
    [INCIDENT_ORDER_OLDEST] = LIST_SELECT LIST_WHERE " ORDER BY i.first_ts, i.id",
};

/* The same columns, without the joins: a scan's summary shows neither cause nor remedy. */
static const char scan_sql[] =
        "SELECT i.id, i.severity, i.rule_id, i.host, i.first_ts, i.last_ts, i.count, i.state,"
        " i.summary, NULL, NULL, NULL, NULL, NULL, NULL"
        " FROM incidents i WHERE i.scan_id = :scan"
        " AND (i.state <> 'closed' OR i.severity IN ('error', 'critical'))"
        " ORDER BY CASE i.severity WHEN 'critical' THEN 0 WHEN 'error' THEN 1"
        " WHEN 'warning' THEN 2 WHEN 'notice' THEN 3 ELSE 4 END, i.first_ts DESC, i.rule_id,"
        " i.host, i.key LIMIT :limit";

static int db_fail(struct db *db, int code, struct hl_err *err)
{
    return hl_err_set(err, code, db->path, "%s", db_errmsg(db));
}

/* A bind that failed (out of memory): finalizes st. */
static int bind_failed(struct db *db, struct stmt *st, struct hl_err *err)
{
    int r = db_fail(db, HL_EDB, err);
    stmt_finalize(st);
    return r;
}

/* Prepares sql on db. A failure here is a schema this code cannot read: HL_EFORMAT. */
static int prepare(struct db *db, const char *sql, struct stmt **ret, struct hl_err *err)
{
    struct stmt *st = NULL;
    if (stmt_prepare(db, sql, &st) < 0) {
        stmt_finalize(st);
        return db_fail(db, HL_EFORMAT, err);
    }
    *ret = st;
    return 0;
}

/* Binds text (NULL binds NULL) to the parameter named name, when st has one. */
static int bind_text(struct stmt *st, const char *name, const char *text)
{
    int i = stmt_param(st, name);
    if (!i)
        return 0;
    return text ? stmt_bind_text(st, i, text) : stmt_bind_null(st, i);
}

static int bind_int64(struct stmt *st, const char *name, int64_t v)
{
    int i = stmt_param(st, name);
    return i ? stmt_bind_int(st, i, v) : 0;
}

static const char *text_at(struct stmt *st, int col)
{
    return stmt_text(st, col);
}

static void row_read(struct stmt *st, struct incident_row *r)
{
    *r = (struct incident_row){
        .id = stmt_int(st, 0),
        .severity = text_at(st, 1),
        .rule_id = text_at(st, 2),
        .host = text_at(st, 3),
        .first_ts = text_at(st, 4),
        .last_ts = text_at(st, 5),
        .count = stmt_int(st, 6),
        .state = text_at(st, 7),
        .summary = text_at(st, 8),
        .remedy = text_at(st, 9),
    };
    if (stmt_type(st, 10) != STMT_NULL) {
        r->cause_id = stmt_int(st, 10);
        r->cause_rule_id = text_at(st, 11);
        r->cause_host = text_at(st, 12);
        r->cause_first_ts = text_at(st, 13);
        r->cause_summary = text_at(st, 14);
    }
}

/* Steps st to its end, each row to each; finalizes st. */
static int walk(struct db *db, struct stmt *st, incident_row_fn *each, void *ctx,
                struct hl_err *err)
{
    int rc, r = 0;
    while ((rc = stmt_step(st)) == STMT_ROW) {
        struct incident_row row;
        row_read(st, &row);
        if ((r = each(ctx, &row)) != 0)
            goto out;
    }
    if (rc != STMT_DONE)
        r = db_fail(db, HL_EDB, err);
out:
    stmt_finalize(st);
    return r;
}

int incidents_list_check(struct db *db, enum incident_order order, struct hl_err *err)
{
    assert(order < INCIDENT_ORDER__COUNT);
    struct stmt *st = NULL;
    int r = prepare(db, list_sql[order], &st, err);
    stmt_finalize(st);
    return r;
}

int incidents_list(struct db *db, const struct incident_filter *f, enum incident_order order,
                   incident_row_fn *each, void *ctx, struct hl_err *err)
{
    assert(order < INCIDENT_ORDER__COUNT);
    struct stmt *st = NULL;
    int r = prepare(db, list_sql[order], &st, err);
    if (r < 0)
        return r;
    if (bind_text(st, ":since", f->has_since ? f->since : NULL) != 0 ||
        bind_text(st, ":host", f->host) != 0 || bind_text(st, ":rule", f->rule) != 0 ||
        bind_int64(st, ":open", f->open_only) != 0)
        return bind_failed(db, st, err);
    return walk(db, st, each, ctx, err);
}

int incidents_log_clock(struct db *db, int64_t *ret_us, struct hl_err *err)
{
    struct stmt *st = NULL;
    int r;
    if (stmt_prepare(db, "SELECT max(last_ts) FROM scans", &st) < 0 || stmt_step(st) != STMT_ROW) {
        r = db_fail(db, HL_EDB, err);
        goto out;
    }
    int64_t us;
    bool zoned;
    const char *latest = text_at(st, 0);
    r = latest && parse_time_iso(strv_from_cstr(latest), 0, &us, &zoned) ? 1 : 0;
    if (r)
        *ret_us = us;
out:
    stmt_finalize(st);
    return r;
}

int incidents_rule_known(struct db *db, const char *rule, char **ret_like, struct hl_err *err)
{
    static const char sql[] =
            "SELECT EXISTS (SELECT 1 FROM rules WHERE id = :rule)"
            " OR EXISTS (SELECT 1 FROM incidents WHERE rule_id = :rule),"
            " (SELECT id FROM rules WHERE id = :rule COLLATE NOCASE ORDER BY id LIMIT 1)";
    struct stmt *st = NULL;
    int r;
    if (stmt_prepare(db, sql, &st) < 0 || bind_text(st, ":rule", rule) != 0 ||
        stmt_step(st) != STMT_ROW) {
        r = db_fail(db, HL_EDB, err);
        goto out;
    }
    if ((int)stmt_int(st, 0)) {
        r = 1;
        goto out;
    }
    const char *like = text_at(st, 1);
    char *dup = NULL;
    if (like && !(dup = strdup(like))) {
        r = hl_err_set(err, HL_ENOMEM, db->path, "out of memory");
        goto out;
    }
    *ret_like = dup;
    r = 0;
out:
    stmt_finalize(st);
    return r;
}

/* Steps a one-row statement of counts into ret (one per column); finalizes st. */
static int counts(struct db *db, struct stmt *st, int64_t *ret, int n, struct hl_err *err)
{
    int r = 0;
    if (stmt_step(st) != STMT_ROW)
        r = db_fail(db, HL_EDB, err);
    for (int i = 0; r == 0 && i < n; i++)
        ret[i] = stmt_int(st, i);
    stmt_finalize(st);
    return r;
}

int incidents_scan_counts(struct db *db, int64_t scan_id, struct incident_counts *ret,
                          struct hl_err *err)
{
    struct stmt *st = NULL;
    int64_t n[2];
    int r = prepare(db,
                    "SELECT count(*), count(*) FILTER (WHERE state = 'open') FROM incidents"
                    " WHERE scan_id = :scan",
                    &st, err);
    if (r < 0)
        return r;
    if (bind_int64(st, ":scan", scan_id) != 0)
        return bind_failed(db, st, err);
    if ((r = counts(db, st, n, 2, err)) == 0)
        *ret = (struct incident_counts){ .all = n[0], .open = n[1] };
    return r;
}

int incidents_of_scan(struct db *db, int64_t scan_id, unsigned limit, incident_row_fn *each,
                      void *ctx, struct hl_err *err)
{
    struct stmt *st = NULL;
    int r = prepare(db, scan_sql, &st, err);
    if (r < 0)
        return r;
    if (bind_int64(st, ":scan", scan_id) != 0 || bind_int64(st, ":limit", limit) != 0)
        return bind_failed(db, st, err);
    return walk(db, st, each, ctx, err);
}

int incidents_count(struct db *db, const char *rule_id, const char *state, int64_t *ret_n,
                    struct hl_err *err)
{
    struct stmt *st = NULL;
    int r = prepare(db,
                    "SELECT count(*) FROM incidents WHERE rule_id = :rule"
                    " AND (:state IS NULL OR state = :state)",
                    &st, err);
    if (r < 0)
        return r;
    if (bind_text(st, ":rule", rule_id) != 0 || bind_text(st, ":state", state) != 0)
        return bind_failed(db, st, err);
    return counts(db, st, ret_n, 1, err);
}
