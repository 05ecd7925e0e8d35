/* What the files of the store share and no other module may use: the table of functions an
 * engine fills (struct engine), the helpers of db.c, and the parameters of the finding
 * insert. */
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

struct stmt;

/* A database engine: what db.c and stmt.c hand over to it. db.c keeps what every engine
 * shares (transaction bookkeeping, batching, the write statements); the engine does what
 * only it knows how to. Functions that fail return a negative hl_code, and set err where they
 * take one; otherwise errmsg() says why. */
struct engine {
    const char *name; /* "sqlite" */
    /* Opens db->path (db->readonly says how) and brings its schema to DB_SCHEMA_VERSION;
     * on a writing open, builds the indexes a killed scan left deferred; on a read-only one,
     * installs the guard that refuses writes. On failure the caller calls close(). */
    int (*open)(struct db *db, db_upgrading_fn *upgrading, struct hl_err *err);
    void (*close)(struct db *db);
    /* A write transaction: begin waits for other writers up to DB_BUSY_TIMEOUT_MS; commit
     * rolls back when it fails. in_tx says whether one is open (an error may have rolled it
     * back). bulk_begin and bulk_end as db_bulk_begin() and db_bulk_end(). */
    int (*begin)(struct db *db, struct hl_err *err);
    int (*commit)(struct db *db, struct hl_err *err);
    void (*rollback)(struct db *db);
    bool (*in_tx)(struct db *db);
    int (*bulk_begin)(struct db *db);
    void (*bulk_end)(struct db *db);
    /* Statements (stmt.h): kept: the statement lives as long as the handle. */
    int (*prepare)(struct db *db, const char *sql, bool kept, struct stmt **ret,
                   const char **ret_tail);
    int (*prepare_query)(struct db *db, const char *sql, struct stmt **ret, const char **ret_tail,
                         struct hl_err *err);
    int (*run)(struct db *db, const char *sql);
    const char *(*errmsg)(struct db *db);
    int64_t (*changes)(struct db *db);
    int64_t (*last_id)(struct db *db);
    int (*define_function)(struct db *db, const char *name, int nargs, db_text_fn *fn, void *ctx);
    /* Indexes a first scan leaves out and builds at its end, and a smaller page cache for
     * statements that sort (db.h). */
    int (*defer_indexes)(struct db *db, struct hl_err *err);
    int (*restore_indexes)(struct db *db, struct hl_err *err);
    int (*restore_all_indexes)(struct db *db, struct hl_err *err);
    int (*cache_shrink)(struct db *db, int *ret_own, struct hl_err *err);
    int (*cache_restore)(struct db *db, int own, struct hl_err *err);
};

/* SQLite (sqlite_open.c), the engine of every path. */
extern const struct engine engine_sqlite;

/* Records the engine's failure of what in err; returns HL_EDB. */
int db_fail(struct db *db, struct hl_err *err, const char *what);

/* The monotonic clock in milliseconds, and a sleep of lo to hi of them whose jitter keeps
 * processes that collided once from retrying in lockstep. */
int64_t db_now_ms(void);
void db_nap(struct db *db, unsigned lo, unsigned hi);

/* Rolls back the open write transaction, if any. */
void db_rollback(struct db *db);

/* Binds s (NULL binds NULL) to the parameter named name of st. */
void db_bind_text(struct stmt *st, const char *name, const char *s);

/* Prepares the statements of what a scan writes (db_write.c), and finalizes them. */
int db_write_prepare(struct db *db, struct hl_err *err);
void db_write_release(struct db *db);

/* db_scan_begin()'s and db_scan_end()'s steps the engine takes: the indexes a first scan
 * leaves out, and building them at its end in a transaction of their own. */
int db_defer_indexes(struct db *db, struct hl_err *err);
int db_restore_all_indexes(struct db *db, struct hl_err *err);

/* Marks 'dead' the scans rows still 'running' whose process is gone (db_write.c). */
int db_mark_dead_scans(struct db *db, struct hl_err *err);

#endif
