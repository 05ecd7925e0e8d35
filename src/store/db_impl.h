/* What the files of the SQLite store (db.c, db_write.c, db_index.c, db_guard.c) share and no
 * other module may use: the helpers every statement goes through and the parameters of the
 * finding insert. */
#ifndef HSMLOG_DB_IMPL_H
#define HSMLOG_DB_IMPL_H

#include "db.h"

/* The parameters of st_finding_add, looked up once: looking each name up at every bind is a
 * walk of the statement's parameter list per name, on the storage thread's hottest path. */
enum finding_param {
    FP_SOURCE_ID,
    FP_LINE,
    FP_TS,
    FP_HOST,
    FP_PROGRAM,
    FP_PID,
    FP_RULE_ID,
    FP_SEVERITY,
    FP_MESSAGE,
    FP_FIELDS,
    FP_RAW,
    FP_EVENT_HASH,
    FP_OCCURRENCE,
    FP_GROUP_KEY,
    FP_MESSAGE_AT,
    FP_TS_UNIX,
    FP__COUNT
};
_Static_assert(FP__COUNT == DB_FINDING_PARAMS, "one index per parameter");

/* The SQLite engine behind stmt.h (stmt_sqlite.c), as db_open() installs it. */
struct driver;
extern const struct driver driver_sqlite;

/* Records SQLite's failure of what in err; returns HL_EDB. */
int db_fail(struct db *db, struct hl_err *err, const char *what);

/* Runs sql, which returns no rows. */
int db_exec(struct db *db, const char *sql, struct hl_err *err);

/* Runs sql, which returns one integer, into *ret. */
int db_query_int(struct db *db, const char *sql, const char *what, int *ret, struct hl_err *err);

/* Binds s (NULL binds NULL) to the parameter named name of st. */
void db_bind_text(struct stmt *st, const char *name, const char *s);

/* Prepares the statements of what a scan writes (db_write.c), and finalizes them. */
int db_write_prepare(struct db *db, struct hl_err *err);
void db_write_release(struct db *db);

/* db_open()'s steps that live in other files: the read-only guard (db_guard.c), the indexes a
 * first scan deferred (db_index.c). */
int db_guard_install(struct db *db, struct hl_err *err);
int db_restore_all_indexes(struct db *db, struct hl_err *err);

/* db_scan_begin()'s steps that live in db.c and db_index.c. */
int db_mark_dead_scans(struct db *db, struct hl_err *err);
int db_defer_indexes(struct db *db, struct hl_err *err);

#endif
