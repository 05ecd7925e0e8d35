/* The secondary indexes a first scan leaves out while it stores and builds its incidents, and
 * creates at its end (schema 6, table deferred_indexes). */
#include "sqlite_impl.h"

#include <stdlib.h>

/* ---- indexes a first scan builds at its end (schema 6, table deferred_indexes) ---- */

/* The secondary indexes that nothing reads while a first scan stores and builds its
 * incidents: the identity indexes stay (INSERT OR IGNORE needs them to drop a finding stored
 * twice), and so do findings_rule_host and incidents_from, which the incident rebuild reads.
 * An index built once at the end costs a fraction of one kept up to date row by row, above
 * all the incidents' time indexes, which the rebuild (writing in key order) would fill with
 * random inserts. */
static const char deferrable_indexes[] =
        "'findings_rule_ts', 'findings_host_ts', 'findings_source', 'findings_incident',"
        " 'incidents_first_ts', 'incidents_host_ts'";

/* Runs one statement built with sqlite3_mprintf (NULL when out of memory). */
static int exec_owned(struct db *db, char *sql, struct hl_err *err)
{
    if (!sql)
        return hl_err_set(err, HL_ENOMEM, db->path, "out of memory");
    int r = sqlite_exec(db, sql, err);
    sqlite3_free(sql);
    return r;
}

/* Sets *ret_sql to "DROP INDEX IF EXISTS name;" for each deferred index, each
 * followed by its CREATE INDEX when create is set; NULL when there is none. The statements
 * are collected first: SQLite refuses to drop an index while a statement reads the schema's
 * tables. */
static int deferred_script(struct db *db, bool create, char **ret_sql, struct hl_err *err)
{
    *ret_sql = NULL;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db->h, "SELECT name, sql FROM deferred_indexes ORDER BY name", -1, &st,
                           NULL) != SQLITE_OK)
        return db_fail(db, err, "cannot read the deferred indexes");
    sqlite3_str *script = sqlite3_str_new(db->h);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        sqlite3_str_appendf(script, "DROP INDEX IF EXISTS \"%w\";",
                            (const char *)sqlite3_column_text(st, 0));
        if (create)
            sqlite3_str_appendf(script, "%s;", (const char *)sqlite3_column_text(st, 1));
    }
    sqlite3_finalize(st);
    bool no_memory = sqlite3_str_errcode(script) == SQLITE_NOMEM;
    char *sql = sqlite3_str_finish(script);
    if (rc != SQLITE_DONE || no_memory) {
        sqlite3_free(sql);
        return rc != SQLITE_DONE ? db_fail(db, err, "cannot read the deferred indexes")
                                 : hl_err_set(err, HL_ENOMEM, db->path, "out of memory");
    }
    *ret_sql = sql;
    return 0;
}

/* Drops the deferrable indexes when findings and incidents are empty (a first scan), noting
 * them in deferred_indexes. In the caller's transaction. */
int sqlite_defer_indexes(struct db *db, struct hl_err *err)
{
    int empty = 0;
    int r = sqlite_query_int(db,
                             "SELECT NOT EXISTS (SELECT 1 FROM finding_rows)"
                             " AND NOT EXISTS (SELECT 1 FROM incidents)",
                             "cannot read the database", &empty, err);
    if (r < 0 || !empty)
        return r;
    r = exec_owned(db,
                   sqlite3_mprintf("INSERT OR IGNORE INTO deferred_indexes(name, sql)"
                                   " SELECT name, sql FROM sqlite_master WHERE type = 'index'"
                                   " AND tbl_name IN ('finding_rows', 'finding_links', 'incidents')"
                                   " AND name IN (%s)",
                                   deferrable_indexes),
                   err);
    char *sql = NULL;
    if (r == 0)
        r = deferred_script(db, false, &sql, err);
    return r == 0 && sql ? exec_owned(db, sql, err) : r;
}

int sqlite_cache_shrink(struct db *db, int *ret_own, struct hl_err *err)
{
    int r = sqlite_query_int(db, "PRAGMA cache_size", "cannot read the cache size", ret_own, err);
    return r < 0 ? r : sqlite_exec(db, "PRAGMA cache_size = -256", err);
}

int sqlite_cache_restore(struct db *db, int own, struct hl_err *err)
{
    char cache[80];
    snprintf(cache, sizeof(cache), "PRAGMA cache_size = %d", own);
    return sqlite_exec(db, cache, err);
}

int sqlite_restore_indexes(struct db *db, struct hl_err *err)
{
    char *sql = NULL;
    int r = deferred_script(db, true, &sql, err);
    if (r < 0 || !sql)
        return r;
    r = db_exec_small_sort(db, sql, err);
    sqlite3_free(sql);
    if (r == 0)
        r = sqlite_exec(db, "DELETE FROM deferred_indexes", err);
    return r;
}

/* sqlite_restore_indexes() in a transaction of its own. */
int sqlite_restore_all_indexes(struct db *db, struct hl_err *err)
{
    int any = 0;
    int r = sqlite_query_int(db, "SELECT EXISTS (SELECT 1 FROM deferred_indexes)",
                             "cannot read the deferred indexes", &any, err);
    if (r < 0 || !any)
        return r;
    r = db_begin(db, err);
    if (r == 0)
        r = sqlite_restore_indexes(db, err);
    if (r == 0)
        return db_commit(db, err);
    /* Nothing else is in this transaction: the rows stay for the next writer. */
    db_rollback(db);
    return r;
}
