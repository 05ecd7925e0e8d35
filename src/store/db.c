/* The store's handle (db.h) over its engine (struct engine, db_impl.h): opening and closing,
 * write transactions and their batching, and the calls every engine answers in its own way.
 * What a scan writes is db_write.c; SQLite is sqlite_open.c and the files it names. */
#include "db_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"

int db_fail(struct db *db, struct hl_err *err, const char *what)
{
    return hl_err_set(err, HL_EDB, db->path, "%s: %s", what, db_errmsg(db));
}

int64_t db_now_ms(void)
{
    return clock_mono_ns() / 1000000;
}

void db_nap(struct db *db, unsigned lo, unsigned hi)
{
    if (!db->rand)
        db->rand = (uint32_t)getpid() * 2654435761u ^ (uint32_t)db_now_ms() ^ 1u;
    db->rand ^= db->rand << 13;
    db->rand ^= db->rand >> 17;
    db->rand ^= db->rand << 5;
    unsigned us = lo * 1000 + (hi > lo ? db->rand % ((hi - lo) * 1000) : 0);
    struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000 };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

char *db_default_path(void)
{
    const char *env = getenv("HSMLOG_DB");
    char *path = NULL;
    if (env && *env)
        return strdup(env);
    const char *state = getenv("XDG_STATE_HOME");
    if (state && *state == '/') {
        if (asprintf(&path, "%s/hsmlog/hsmlog.db", state) < 0)
            return NULL;
        return path;
    }
    const char *home = getenv("HOME");
    if (!home || !*home)
        return NULL;
    if (asprintf(&path, "%s/.local/state/hsmlog/hsmlog.db", home) < 0)
        return NULL;
    return path;
}

int db_open(struct db *db, const char *path, bool readonly, db_upgrading_fn *upgrading,
            struct hl_err *err)
{
    memset(db, 0, sizeof(*db));
    db->engine = &engine_sqlite;
    db->readonly = readonly;
    db->path = strdup(path);
    if (!db->path)
        return hl_err_set(err, HL_ENOMEM, path, "out of memory");
    int r = db->engine->open(db, upgrading, err);
    if (r == 0 && !readonly)
        r = db_write_prepare(db, err);
    if (r == 0 && !readonly)
        r = db_mark_dead_scans(db, err);
    if (r < 0)
        db_close(db);
    return r;
}

void db_close(struct db *db)
{
    if (db->in_tx)
        HL_IGNORE(db_commit(db, NULL)); /* best effort on close */
    db_write_release(db);
    if (db->engine)
        db->engine->close(db);
    free(db->path);
    memset(db, 0, sizeof(*db));
}

int db_begin(struct db *db, struct hl_err *err)
{
    if (db->in_tx) {
        if (db->engine->in_tx(db))
            return 0;
        db->in_tx = false; /* an error (a full disk) rolled it back: start a new one */
    }
    int r = db->engine->begin(db, err);
    if (r == 0) {
        db->in_tx = true;
        db->pending = 0;
        db->commit_due = false;
        db->tx_started_ms = db_now_ms();
        db->tx_serial++;
    }
    return r;
}

int db_commit(struct db *db, struct hl_err *err)
{
    if (!db->in_tx)
        return 0;
    int r = db->engine->in_tx(db) ? db->engine->commit(db, err) : 0;
    db->in_tx = false;
    db->pending = 0;
    db->commit_due = false;
    return r;
}

void db_rollback(struct db *db)
{
    if (db->engine->in_tx(db))
        db->engine->rollback(db);
    db->in_tx = false;
    db->pending = 0;
    db->commit_due = false;
}

int db_tick(struct db *db, struct hl_err *err)
{
    if (!db->in_tx || (!db->commit_due && (++db->ticks & 255) != 0))
        return 0;
    int64_t now = db_now_ms();
    if (!db->commit_due && now - db->tx_started_ms < DB_TX_MAX_MS)
        return 0;
    int r = db_commit(db, err);
    /* The lock is free now, but this scan would take it again within microseconds, before a
     * waiting process (polling every 1 to 3 ms) sees it: step aside a moment, at most once
     * per DB_TX_MAX_MS, so concurrent scans take turns. */
    if (r == 0 && now - db->yielded_ms >= DB_TX_MAX_MS) {
        db_nap(db, 3, 3);
        db->yielded_ms = db_now_ms();
    }
    return r;
}

int db_bulk_begin(struct db *db)
{
    return db->engine->bulk_begin(db);
}

void db_bulk_end(struct db *db)
{
    db->engine->bulk_end(db);
}

int db_prepare_query(struct db *db, const char *sql, struct stmt **ret_st, const char **ret_tail,
                     struct hl_err *err)
{
    return db->engine->prepare_query(db, sql, ret_st, ret_tail, err);
}

int db_run(struct db *db, const char *sql)
{
    return db->engine->run(db, sql);
}

const char *db_errmsg(struct db *db)
{
    return db->engine ? db->engine->errmsg(db) : "no database";
}

int64_t db_changes(struct db *db)
{
    return db->engine->changes(db);
}

int64_t db_last_id(struct db *db)
{
    return db->engine->last_id(db);
}

int db_define_function(struct db *db, const char *name, int nargs, db_text_fn *fn, void *ctx)
{
    return db->engine->define_function(db, name, nargs, fn, ctx);
}

int db_defer_indexes(struct db *db, struct hl_err *err)
{
    return db->engine->defer_indexes(db, err);
}

int db_restore_indexes(struct db *db, struct hl_err *err)
{
    return db->readonly ? 0 : db->engine->restore_indexes(db, err);
}

int db_restore_all_indexes(struct db *db, struct hl_err *err)
{
    return db->engine->restore_all_indexes(db, err);
}

int db_cache_shrink(struct db *db, int *ret_own, struct hl_err *err)
{
    return db->engine->cache_shrink(db, ret_own, err);
}

int db_cache_restore(struct db *db, int own, struct hl_err *err)
{
    return db->engine->cache_restore(db, own, err);
}

int db_exec_small_sort(struct db *db, const char *sql, struct hl_err *err)
{
    int own = 0;
    int r = db_cache_shrink(db, &own, err);
    if (r < 0)
        return r;
    if ((r = db_run(db, sql)) < 0)
        r = hl_err_set(err, HL_EDB, db->path, "%s", db_errmsg(db));
    int back = db_cache_restore(db, own, err);
    return r < 0 ? r : back;
}

enum db_col_kind db_column_kind(const char *table, const char *column)
{
    /* Every column of every schema version that holds a time, JSON or a rule id. findings
     * is a table up to version 6 (a read-only query does not upgrade), a view over
     * finding_rows after. */
    static const struct {
        const char *table, *column;
        enum db_col_kind kind;
    } cols[] = {
        { "finding_rows", "ts", DB_COL_TIME },
        { "finding_rows", "fields", DB_COL_JSON },
        { "finding_rows", "group_key", DB_COL_JSON },
        { "finding_rows", "rule_id", DB_COL_RULE },
        { "findings", "ts", DB_COL_TIME },
        { "findings", "fields", DB_COL_JSON },
        { "findings", "group_key", DB_COL_JSON },
        { "findings", "rule_id", DB_COL_RULE },
        { "incidents", "first_ts", DB_COL_TIME },
        { "incidents", "last_ts", DB_COL_TIME },
        { "incidents", "key", DB_COL_JSON },
        { "incidents", "rule_id", DB_COL_RULE },
        { "incidents", "from_rule_id", DB_COL_RULE },
        { "marks", "ts", DB_COL_TIME },
        { "marks", "group_key", DB_COL_JSON },
        { "marks", "rule_id", DB_COL_RULE },
        { "incidents_dirty", "rule_id", DB_COL_RULE },
        { "rules", "id", DB_COL_RULE },
        { "rule_versions", "rule_id", DB_COL_RULE },
        { "pack_rules", "rule_id", DB_COL_RULE },
        { "scans", "started_at", DB_COL_TIME },
        { "scans", "finished_at", DB_COL_TIME },
        { "scans", "last_ts", DB_COL_TIME },
        { "sources", "mtime", DB_COL_TIME },
    };
    if (!table || !column)
        return DB_COL_OTHER;
    for (size_t i = 0; i < ARRAY_SIZE(cols); i++)
        if (strcasecmp(table, cols[i].table) == 0 && strcasecmp(column, cols[i].column) == 0)
            return cols[i].kind;
    return DB_COL_OTHER;
}
