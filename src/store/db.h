/* The findings database: a handle over an engine (SQLite, a file in WAL mode), its schema
 * migrated in place, statements prepared once, writes batched in transactions. The schema is
 * the numbered scripts under src/store/schema/ (embedded at build time) and is documented in
 * docs/SCHEMA.md. */
#ifndef HSMLOG_DB_H
#define HSMLOG_DB_H

#include <stdbool.h>
#include <stdint.h>

#include "common.h"
#include "err.h"
#include "rule.h"
#include "strv.h"

struct sqlite3;
struct stmt;

/* Schema version this build writes; user_version of a migrated database. */
#define DB_SCHEMA_VERSION 14

/* Findings and source rows per transaction before db_tick() commits. */
#define DB_BATCH_ROWS 5000

/* Longest a write transaction stays open before db_tick() commits it, so that other scans
 * writing the same database get their turn. */
#define DB_TX_MAX_MS 250

/* How long a connection waits for another process's lock before it gives up with HL_EDB. */
#define DB_BUSY_TIMEOUT_MS 30000

/* Named parameters of the statement that stores a finding. */
#define DB_FINDING_PARAMS 16

/* An open database. Invariants: every stmt is NULL or prepared on this handle; in_tx tells
 * whether a write transaction is open; pending counts rows written since it. Read-only
 * handles prepare nothing. */
struct db {
    const struct engine *engine; /* what answers for the file (db_impl.h) */
    struct sqlite3 *h;           /* owned: the SQLite engine's handle */
    char *path;                  /* owned: for messages */
    bool readonly;               /* opened for `query` */
    int migrated_from;           /* user_version before this open upgraded it; 0 when it did not */
    unsigned dead_scans;         /* scans rows this open marked 'dead' (their process is gone) */
    bool in_tx;                  /* a write transaction is open */
    unsigned pending;            /* rows written in the open transaction */
    int64_t scan_id;             /* scans.id of the running scan, 0 before db_scan_begin() */
    struct stmt *st_scan_begin, *st_scan_end;
    struct stmt *st_source_add, *st_source_end;
    struct stmt *st_rule_put, *st_rule_version_put, *st_pack_rule_put, *st_rules_first_scan;
    char rules_version[RULE_PACK_VERSION_MAX + 1]; /* the pack version db_put_rules() stored
                                                       last, which db_scan_begin() records;
                                                       "" for none */
    struct stmt *st_finding_add;
    int finding_param[DB_FINDING_PARAMS]; /* its parameters' indexes (db_write.c) */
    struct stmt *st_mark_add, *st_dirty, *st_clock;
    struct stmt *st_appliance_add, *st_wait_add, *st_dirty_waiting, *st_waits_end;
    uint64_t tx_serial; /* write transactions begun on this handle, counting the open one */
    /* Batching, locking and the read-only guard (db_begin, db_commit, db_tick; engine). */
    int64_t tx_started_ms; /* monotonic time of the open transaction's BEGIN */
    int64_t yielded_ms;    /* monotonic time db_tick() last let other writers in */
    int64_t busy_since_ms; /* when the current wait for a lock began */
    unsigned ticks;        /* db_tick() calls, to read the clock only now and then */
    bool commit_due;       /* DB_BATCH_ROWS reached: db_tick() commits */
    uint32_t rand;         /* xorshift state for the jitter of lock retries */
    char refused[200];     /* read-only handles: why the guard denied the last statement */
    char errbuf[256];      /* db_errmsg()'s text when it is not the engine's own */
    bool errbuf_set;
};

/* Returns the default database path: $HSMLOG_DB, else $XDG_STATE_HOME/hsmlog/hsmlog.db,
 * else ~/.local/state/hsmlog/hsmlog.db. Caller frees; NULL when no home is known. */
char *db_default_path(void);

/* Opens (creating it and its directory when writing) and migrates the database at path.
 * Read-only mode fails when the file does not exist. Fails with HL_EDB or HL_EIO; a database
 * that cannot be written (read-only file or file system) fails a writing open at once.
 * Several processes may open, create and migrate one database at the same time: locks are
 * waited for (with jitter) up to DB_BUSY_TIMEOUT_MS. A read-only handle is guarded: it
 * refuses statements that would write, ATTACH/DETACH, setting PRAGMAs and extensions, and
 * says why in db->refused (see db_prepare_query()). A writing open marks 'dead' the scans
 * still 'running' whose process is gone, and their sources left 'reading' (docs/SCHEMA.md,
 * "Dead scans"), counting them in db->dead_scans. upgrading (NULL for none) is told before a
 * schema upgrade that rewrites the large tables starts, so that the caller can say why the
 * first scan pauses. */
typedef void db_upgrading_fn(const char *path, int from_version, int to_version);
HL_NODISCARD int db_open(struct db *db, const char *path, bool readonly, db_upgrading_fn *upgrading,
                         struct hl_err *err);

/* SQLite's page size for new databases (main and temp), and the pages of the pool below: the
 * main database's cache and the temp database's (the occurrence spill, the incident rebuild),
 * 2 MB each (SQLite's default). 16 KiB rather than SQLite's 4 KiB: a quarter of the page
 * reads and writes for the same rows. A database made with another page size keeps it. */
#define DB_PAGE_SIZE        16384u
#define DB_CACHE_POOL_PAGES 250u

/* Gives SQLite one fixed, already resident pool for its page caches, so peak memory does not
 * depend on how much of the caches an input happens to fill (a scan's memory is the same for
 * a small input and a large one). Call before the first db_open(); later it changes nothing.
 * Returns 0, or -1 when SQLite was initialized already or there is no memory (caches are then
 * allocated as needed, which is always correct). */
int db_reserve_page_cache(void);

/* Commits what is pending and closes. NULL-safe on a zeroed struct. */
void db_close(struct db *db);

/* Opens a write transaction unless one is open (one an error rolled back counts as closed);
 * db->tx_serial then numbers it. Writes begin one themselves: this is for a caller whose
 * cache lives as long as a transaction. */
HL_NODISCARD int db_begin(struct db *db, struct hl_err *err);

/* Commits the open transaction, if any. */
HL_NODISCARD int db_commit(struct db *db, struct hl_err *err);

/* Opens the write transaction of a bulk rewrite whose caller keeps its references itself
 * (the incident rebuild): the store does not check foreign keys in it, which would cost a
 * statement journal for every multi-row UPDATE and DELETE. Commit it with db_run(db,
 * "COMMIT"), which can fail and say why; db_bulk_end() then rolls back what is still open and
 * turns the checks back on. Returns 0 or HL_EDB (db_errmsg() says why). */
HL_NODISCARD int db_bulk_begin(struct db *db);
void db_bulk_end(struct db *db);

/* Called between input lines: commits when DB_BATCH_ROWS rows are pending or the transaction
 * is older than DB_TX_MAX_MS, so a line's rows (finding, incident mark) commit together and
 * no scan holds the write lock for long. */
HL_NODISCARD int db_tick(struct db *db, struct hl_err *err);

/* Prepares the first statement of sql on a read-only handle, like stmt_prepare(), and refuses
 * one that would change anything. Sets *ret_st (NULL for an empty statement) and
 * *ret_tail. Fails with HL_EDB and a one-line reason in err->msg. */
HL_NODISCARD int db_prepare_query(struct db *db, const char *sql, struct stmt **ret_st,
                                  const char **ret_tail, struct hl_err *err);

/* Stores (replaces) the definitions of every loaded rule in rules, and adds those not stored
 * yet to rule_versions and the pack's version to pack_rules (docs/SCHEMA.md); remembers the
 * pack's version for db_scan_begin(). */
HL_NODISCARD int db_put_rules(struct db *db, const struct ruleset *rs, struct hl_err *err);

/* Starts a scans row for command, with the pack version db_put_rules() stored last; sets
 * db->scan_id. The rule definitions of that version that no scan used before name it as
 * their first. */
HL_NODISCARD int db_scan_begin(struct db *db, const char *command, struct hl_err *err);

/* Finishes the scans row with totals and a status ("ok", "partial", "interrupted"). */
HL_NODISCARD int db_scan_end(struct db *db, uint64_t lines, uint64_t findings, const char *status,
                             struct hl_err *err);

/* What a sources row says. Strings are borrowed for the call. */
struct db_source {
    const char *path;  /* label: "bundle.tgz!var/log/messages" */
    const char *kind;  /* "text", "gzip", "tar" ... */
    int64_t parent_id; /* sources.id of the containing archive, 0 for none */
    int64_t size;      /* bytes on disk or in the archive, -1 unknown */
    int64_t mtime;     /* seconds since the epoch, -1 unknown */
    uint64_t bytes;    /* bytes read after decompression */
    uint64_t lines;
    uint64_t truncated_lines;
    uint64_t bad_time_lines; /* lines whose header wrote a time that does not exist */
    uint64_t findings;       /* new findings from this source */
    const char *status;      /* "reading", "ok", "partial", "error", "skipped" */
    const char *error;       /* NULL when none */
};

/* Inserts a sources row and returns its id in *ret_id. */
HL_NODISCARD int db_source_add(struct db *db, const struct db_source *s, int64_t *ret_id,
                               struct hl_err *err);

/* Updates the counters, status and error of source id from s. */
HL_NODISCARD int db_source_end(struct db *db, int64_t id, const struct db_source *s,
                               struct hl_err *err);

/* A finding row. Strings are borrowed for the call; slices may hold any bytes (message and
 * raw are stored as given; callers pass valid UTF-8 for message). */
struct db_finding {
    int64_t source_id;
    uint64_t line;
    const char *ts; /* stored time text (parse_time_format()), or NULL */
    int64_t second; /* its whole second (event_id_second()), for ts_unix; unused without ts */
    struct strv host, program;
    int64_t pid; /* -1 when absent or not numeric */
    const char *rule_id;
    const char *severity;
    struct strv message;
    struct strv fields; /* JSON object text */
    struct strv raw;
    int64_t event_hash;
    int64_t occurrence;
    struct strv group_key; /* JSON array of the rule's group-by values */
    bool needs_appliance;  /* a `hosts = appliance` rule's line that is no appliance's by
                              itself: a new row waits (appliance_waits) while appliance_hosts
                              does not name host */
};

/* Inserts f unless the same event (ts_unix, rule_id, event_hash, occurrence) is stored
 * already; a new row that needs an appliance host not known yet waits for it. Sets *ret_new
 * to whether a row was added. Commits automatically every DB_BATCH_ROWS rows. */
HL_NODISCARD int db_finding_add(struct db *db, const struct db_finding *f, bool *ret_new,
                                struct hl_err *err);

/* A reset or expect line (table marks). Strings are borrowed for the call. */
struct db_mark {
    const char *rule_id; /* the rule the pattern belongs to */
    const char *kind;    /* "reset" or "expect" */
    int64_t source_id;
    uint64_t line;
    const char *ts; /* stored time text (parse_time_format()), or NULL */
    int64_t second; /* its whole second (event_id_second()), for ts_unix; unused without ts */
    struct strv host;
    struct strv group_key;
    int64_t event_hash;
    int64_t occurrence;
};

/* Stores m unless the same (ts_unix, rule_id, kind, event_hash, occurrence) is stored
 * already. */
HL_NODISCARD int db_mark_add(struct db *db, const struct db_mark *m, struct hl_err *err);

/* Marks the incidents of rule_id on host for a rebuild (incidents_update()): those of group
 * key only, or all of them when key is empty. incident_marks_*() (incident_mark.h) decide
 * what to mark. */
HL_NODISCARD int db_incidents_dirty(struct db *db, const char *rule_id, struct strv host,
                                    struct strv key, struct hl_err *err);

/* Notes host as a Luna appliance's, as line line of source source_id (0: none) told, unless
 * it is known already (host names compare case-insensitively). Sets *ret_new to whether it
 * was not. An empty host is never one. */
HL_NODISCARD int db_appliance_host_add(struct db *db, struct strv host, int64_t source_id,
                                       uint64_t line, bool *ret_new, struct hl_err *err);

/* Marks for a rebuild every (rule, host) whose findings wait for host to be known as an
 * appliance's (appliance_waits), whatever the case of their host name. */
HL_NODISCARD int db_incidents_dirty_waiting(struct db *db, struct strv host, struct hl_err *err);

/* Ends the wait of the findings of host (any case): they are shown from now on. */
HL_NODISCARD int db_appliance_waits_end(struct db *db, struct strv host, struct hl_err *err);

/* Calls fn with each host known as an appliance's, in no set order (the slice is valid for
 * the call). Returns 0 or HL_EDB. */
typedef void db_host_fn(void *ctx, struct strv host);
HL_NODISCARD int db_appliance_hosts(struct db *db, db_host_fn *fn, void *ctx, struct hl_err *err);

/* Runs sql (statements that sort many rows: CREATE INDEX, INSERT ... ORDER BY) with the
 * connection's page cache lowered to 256 KiB, then puts its size back. A sort holds in memory
 * up to the larger of the cache and SQLite's PMA size before it spills to temp files: in the
 * full 2 MB cache, a large first scan would end bigger than a small one. */
HL_NODISCARD int db_exec_small_sort(struct db *db, const char *sql, struct hl_err *err);

/* The two halves of db_exec_small_sort(), for a query whose first step sorts: lowers the
 * cache, saying its own size in *ret_own, and puts that size back. */
HL_NODISCARD int db_cache_shrink(struct db *db, int *ret_own, struct hl_err *err);
HL_NODISCARD int db_cache_restore(struct db *db, int own, struct hl_err *err);

/* Creates again the indexes a first scan deferred (table deferred_indexes), in the caller's
 * transaction, sorting in a small cache. Returns 0 or a negative hl_code. */
HL_NODISCARD int db_restore_indexes(struct db *db, struct hl_err *err);

/* What a column of the schema holds, for the formats that show it otherwise than as text. */
enum db_col_kind {
    DB_COL_OTHER,
    DB_COL_TIME, /* a stored time: findings.ts, incidents.first_ts, scans.started_at ... */
    DB_COL_JSON, /* JSON text: findings.fields and group_key, incidents.key, marks.group_key */
    DB_COL_RULE, /* a rule id: rules.id and the rule_id columns */
};

/* Returns what column of table holds, by their names in the schema (the origin a result
 * column reads, sqlite3_column_table_name() and sqlite3_column_origin_name(); a column of the
 * findings view has finding_rows as its table). NULL names give DB_COL_OTHER. */
enum db_col_kind db_column_kind(const char *table, const char *column);

/* Runs sql, one or more statements that return no rows. Returns 0 or HL_EDB. */
HL_NODISCARD int db_run(struct db *db, const char *sql);

/* Why the last call on the store failed. */
const char *db_errmsg(struct db *db);

/* Rows the last INSERT, UPDATE or DELETE changed, and the id the last INSERT gave. */
int64_t db_changes(struct db *db);
int64_t db_last_id(struct db *db);

/* A deterministic SQL function of text arguments: returns the result, a view that must live
 * until the function is called again (p NULL for NULL). args[k].p is NULL for a NULL,
 * else NUL-terminated. */
typedef struct strv db_text_fn(void *ctx, const struct strv *args);

/* Defines SQL function name(nargs text arguments) as fn with ctx, or drops it (fn NULL).
 * Returns 0 or HL_EDB. */
HL_NODISCARD int db_define_function(struct db *db, const char *name, int nargs, db_text_fn *fn,
                                    void *ctx);

/* Raises scans.last_ts of the running scan to ts (ISO text) when it is later. */
HL_NODISCARD int db_scan_clock(struct db *db, const char *ts, struct hl_err *err);

#endif
