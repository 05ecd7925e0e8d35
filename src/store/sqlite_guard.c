/* The SQLite engine's read-only guard of `query`, `incidents` and `report`: a handle that
 * refuses statements that would change anything. */
#include "sqlite_impl.h"

#include <string.h>
#include <strings.h>

#include "stmt.h"

/* ---- the read-only guard (query, report, incidents) ---- */

/* PRAGMAs that take an argument and only read. Any other PRAGMA given a value is refused:
 * `PRAGMA user_version = 5` and `PRAGMA journal_mode = DELETE` would change the file. */
static bool pragma_reads(const char *name, const char *arg)
{
    static const char *const with_arg[] = {
        "table_info", "table_xinfo",      "table_list",        "index_info",      "index_xinfo",
        "index_list", "foreign_key_list", "foreign_key_check", "integrity_check", "quick_check",
    };
    static const char *const writing[] = { "optimize", "wal_checkpoint", "incremental_vacuum" };
    if (!name)
        return false;
    if (!arg) {
        for (size_t i = 0; i < ARRAY_SIZE(writing); i++)
            if (sqlite3_stricmp(name, writing[i]) == 0)
                return false;
        return true;
    }
    for (size_t i = 0; i < ARRAY_SIZE(with_arg); i++)
        if (sqlite3_stricmp(name, with_arg[i]) == 0)
            return true;
    return false;
}

/* sqlite3_set_authorizer() callback: runs while a statement is prepared, so a refused one
 * never starts. The read-only open and query_only already stop writes to the file; this
 * adds a message that says why, and stops what they allow (ATTACH, temp tables). */
static int guard(void *ctx, int action, const char *a1, const char *a2, const char *dbname,
                 const char *trigger)
{
    static const char *const writes[] = {
        [SQLITE_CREATE_INDEX] = "CREATE INDEX",
        [SQLITE_CREATE_TABLE] = "CREATE TABLE",
        [SQLITE_CREATE_TEMP_INDEX] = "CREATE TEMP INDEX",
        [SQLITE_CREATE_TEMP_TABLE] = "CREATE TEMP TABLE",
        [SQLITE_CREATE_TEMP_TRIGGER] = "CREATE TEMP TRIGGER",
        [SQLITE_CREATE_TEMP_VIEW] = "CREATE TEMP VIEW",
        [SQLITE_CREATE_TRIGGER] = "CREATE TRIGGER",
        [SQLITE_CREATE_VIEW] = "CREATE VIEW",
        [SQLITE_DELETE] = "DELETE",
        [SQLITE_DROP_INDEX] = "DROP INDEX",
        [SQLITE_DROP_TABLE] = "DROP TABLE",
        [SQLITE_DROP_TEMP_INDEX] = "DROP INDEX",
        [SQLITE_DROP_TEMP_TABLE] = "DROP TABLE",
        [SQLITE_DROP_TEMP_TRIGGER] = "DROP TRIGGER",
        [SQLITE_DROP_TEMP_VIEW] = "DROP VIEW",
        [SQLITE_DROP_TRIGGER] = "DROP TRIGGER",
        [SQLITE_DROP_VIEW] = "DROP VIEW",
        [SQLITE_INSERT] = "INSERT",
        [SQLITE_UPDATE] = "UPDATE",
        [SQLITE_ALTER_TABLE] = "ALTER TABLE",
        [SQLITE_REINDEX] = "REINDEX",
        [SQLITE_ANALYZE] = "ANALYZE",
        [SQLITE_CREATE_VTABLE] = "CREATE VIRTUAL TABLE",
        [SQLITE_DROP_VTABLE] = "DROP VIRTUAL TABLE",
    };
    struct db *db = ctx;
    (void)dbname;
    (void)trigger;
    /* CREATE and DROP also report their edit of the schema table, and reading a pragma
     * function reports an UPDATE of it; SQLite never lets SQL write that table itself. The
     * CREATE or DROP is refused under its own code. */
    if ((action == SQLITE_INSERT || action == SQLITE_UPDATE || action == SQLITE_DELETE) && a1 &&
        (sqlite3_stricmp(a1, "sqlite_master") == 0 || sqlite3_stricmp(a1, "sqlite_schema") == 0 ||
         sqlite3_stricmp(a1, "sqlite_temp_master") == 0 ||
         sqlite3_stricmp(a1, "sqlite_temp_schema") == 0))
        return SQLITE_OK;
    if (db->refused[0])
        return SQLITE_DENY; /* keep the first reason */
    switch (action) {
    case SQLITE_READ:
    case SQLITE_SELECT:
    case SQLITE_TRANSACTION:
    case SQLITE_SAVEPOINT:
    case SQLITE_RECURSIVE:
        return SQLITE_OK;
    case SQLITE_FUNCTION:
        if (!a2 || sqlite3_stricmp(a2, "load_extension") != 0)
            return SQLITE_OK;
        snprintf(db->refused, sizeof(db->refused),
                 "load_extension() is not allowed: query loads no extensions");
        return SQLITE_DENY;
    case SQLITE_PRAGMA:
        if (pragma_reads(a1, a2))
            return SQLITE_OK;
        snprintf(db->refused, sizeof(db->refused),
                 "PRAGMA %s%s would change the database or the connection: query is read-only",
                 a1 ? a1 : "", a2 ? " with a value" : "");
        return SQLITE_DENY;
    case SQLITE_ATTACH:
    case SQLITE_DETACH:
        snprintf(db->refused, sizeof(db->refused),
                 "ATTACH and DETACH are not allowed: query reads only its own database");
        return SQLITE_DENY;
    }
    const char *what = action > 0 && (size_t)action < ARRAY_SIZE(writes) && writes[action]
                               ? writes[action]
                               : "this statement";
    /* ANALYZE first creates the table its statistics go to. */
    if (action == SQLITE_CREATE_TABLE && a1 && sqlite3_strnicmp(a1, "sqlite_stat", 11) == 0)
        what = "ANALYZE";
    snprintf(db->refused, sizeof(db->refused), "%s would change the database: query is read-only",
             what);
    return SQLITE_DENY;
}

int sqlite_guard_install(struct db *db, struct hl_err *err)
{
    int on = 1, off = 0;
    if (sqlite3_db_config(db->h, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, off, NULL) != SQLITE_OK ||
        sqlite3_db_config(db->h, SQLITE_DBCONFIG_DEFENSIVE, on, NULL) != SQLITE_OK ||
        sqlite3_set_authorizer(db->h, guard, db) != SQLITE_OK)
        return db_fail(db, err, "cannot make the connection read-only");
    sqlite3_limit(db->h, SQLITE_LIMIT_ATTACHED, 0);
    return 0;
}

/* The statement's first keyword when it is one that writes (INSERT, UPDATE, DELETE, REPLACE),
 * else NULL: SQLite refuses such a statement on a view with its own message ("cannot modify
 * findings because it is a view") before the guard is asked. */
static const char *writing_verb(const char *sql)
{
    static const char *const verbs[] = { "INSERT", "UPDATE", "DELETE", "REPLACE" };
    while (*sql == ' ' || *sql == '\t' || *sql == '\n' || *sql == '\r')
        sql++;
    for (size_t i = 0; i < ARRAY_SIZE(verbs); i++) {
        size_t n = strlen(verbs[i]);
        if (sqlite3_strnicmp(sql, verbs[i], (int)n) == 0 &&
            (sql[n] == ' ' || sql[n] == '\t' || sql[n] == '\n' || sql[n] == '\r'))
            return verbs[i];
    }
    return NULL;
}

static bool is_pragma(const char *sql)
{
    while (*sql == ' ' || *sql == '\t' || *sql == '\n' || *sql == '\r')
        sql++;
    return sqlite3_strnicmp(sql, "PRAGMA", 6) == 0;
}

int sqlite_prepare_query(struct db *db, const char *sql, struct stmt **ret_st,
                         const char **ret_tail, struct hl_err *err)
{
    struct stmt *st = NULL;
    db->refused[0] = '\0';
    if (sqlite_prepare(db, sql, false, &st, ret_tail) < 0) {
        if (db->refused[0])
            return hl_err_set(err, HL_EDB, NULL, "refused: %s", db->refused);
        const char *verb = writing_verb(sql);
        if (verb)
            return hl_err_set(err, HL_EDB, NULL,
                              "refused: %s would change the database: query is read-only", verb);
        return hl_err_set(err, HL_EDB, NULL, "%s", sqlite_errmsg(db));
    }
    /* What the authorizer does not see: VACUUM (also VACUUM INTO a new file). A PRAGMA the
     * guard let through only reads, though SQLite cannot tell for some (journal_mode). */
    if (st && !sqlite3_stmt_readonly(sqlite_stmt_handle(st)) &&
        !is_pragma(sqlite3_sql(sqlite_stmt_handle(st)))) {
        stmt_finalize(st);
        return hl_err_set(err, HL_EDB, NULL,
                          "refused: this statement would write: query is read-only");
    }
    *ret_st = st;
    return 0;
}
