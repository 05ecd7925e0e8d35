/* Opening, migrating and writing the findings database. All SQL lives here and in
 * src/schema/; parameters are named, and their indexes are looked up by name, never assumed. */
#include "db.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "event_id.h"
#include "parse_time.h"
#include "proc.h"
#include "utf8.h"

/* The numbered schema scripts, embedded at build time (tools/embed.c). Script i takes a
 * database from user_version i to i + 1. */
extern const char schema_001_core[];
extern const char schema_002_incidents[];
extern const char schema_003_time_ordered_indexes[];
extern const char schema_004_time_ordered_marks[];
extern const char schema_005_open_incidents[];
extern const char schema_006_deferred_indexes[];
extern const char schema_007_finding_links[];
extern const char schema_008_message_at[];
extern const char schema_009_time_identity[];
extern const char schema_010_scan_writer[];
extern const char schema_011_bad_time_lines[];
extern const char schema_012_rule_tuning[];
static const char *const migrations[] = { schema_001_core,
                                          schema_002_incidents,
                                          schema_003_time_ordered_indexes,
                                          schema_004_time_ordered_marks,
                                          schema_005_open_incidents,
                                          schema_006_deferred_indexes,
                                          schema_007_finding_links,
                                          schema_008_message_at,
                                          schema_009_time_identity,
                                          schema_010_scan_writer,
                                          schema_011_bad_time_lines,
                                          schema_012_rule_tuning };

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == DB_SCHEMA_VERSION,
               "one migration script per schema version");

/* SQLite's message, plus the system's reason when a file operation failed ("disk I/O error"
 * alone does not tell a full disk from a file-size limit). */
static const char *db_errmsg(struct db *db, const char *msg, char *tmp, size_t cap)
{
    if (!db->h)
        return "no handle";
    if (!msg)
        msg = sqlite3_errmsg(db->h);
    int code = sqlite3_extended_errcode(db->h) & 0xff;
    int sys = sqlite3_system_errno(db->h);
    if (sys && (code == SQLITE_IOERR || code == SQLITE_FULL || code == SQLITE_CANTOPEN)) {
        snprintf(tmp, cap, "%s (%s)", msg, strerror(sys));
        return tmp;
    }
    return msg;
}

static int db_fail(struct db *db, struct hl_err *err, const char *what)
{
    char tmp[256];
    return hl_err_set(err, HL_EDB, db->path, "%s: %s", what, db_errmsg(db, NULL, tmp, sizeof(tmp)));
}

static int64_t now_ms(void)
{
    return clock_mono_ns() / 1000000;
}

/* Sleeps lo to hi milliseconds. The jitter keeps processes that collided once from retrying
 * in lockstep. */
static void nap(struct db *db, unsigned lo, unsigned hi)
{
    if (!db->rand)
        db->rand = (uint32_t)getpid() * 2654435761u ^ (uint32_t)now_ms() ^ 1u;
    db->rand ^= db->rand << 13;
    db->rand ^= db->rand >> 17;
    db->rand ^= db->rand << 5;
    unsigned us = lo * 1000 + (hi > lo ? db->rand % ((hi - lo) * 1000) : 0);
    struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000 };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Busy handler: short, jittered polls instead of sqlite3_busy_timeout()'s backoff to 100 ms
 * sleeps, so a waiting scan notices the brief moments another scan's lock is free. */
static int busy_wait(void *ctx, int count)
{
    struct db *db = ctx;
    int64_t now = now_ms();
    if (count == 0)
        db->busy_since_ms = now;
    if (now - db->busy_since_ms >= DB_BUSY_TIMEOUT_MS)
        return 0;
    nap(db, 1, 3);
    return 1;
}

static bool is_busy(int rc)
{
    return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
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

/* mkdir -p for the directory part of path. */
static int make_parent_dirs(const char *path, struct hl_err *err)
{
    char *dir = strdup(path);
    if (!dir)
        return hl_err_set(err, HL_ENOMEM, path, "out of memory");
    char *slash = strrchr(dir, '/');
    int r = 0;
    if (slash && slash != dir) {
        *slash = '\0';
        for (char *p = dir + 1; r == 0 && *p; p++) {
            if (*p != '/')
                continue;
            *p = '\0';
            if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                r = hl_err_errno(err, HL_EIO, dir, "cannot create directory");
            *p = '/';
        }
        if (r == 0 && mkdir(dir, 0700) < 0 && errno != EEXIST)
            r = hl_err_errno(err, HL_EIO, dir, "cannot create directory");
    }
    free(dir);
    return r;
}

static int exec_sql(struct db *db, const char *sql, struct hl_err *err)
{
    char *msg = NULL;
    if (sqlite3_exec(db->h, sql, NULL, NULL, &msg) != SQLITE_OK) {
        char tmp[256];
        int r = hl_err_set(err, HL_EDB, db->path, "%s", db_errmsg(db, msg, tmp, sizeof(tmp)));
        sqlite3_free(msg);
        return r;
    }
    return 0;
}

/* Runs sql (BEGIN, COMMIT), retrying with backoff while it fails for a lock. The busy handler
 * covers most waits, but not all: a WAL recovery in progress (SQLITE_BUSY_RECOVERY), or two
 * connections that would deadlock, get SQLITE_BUSY at once. */
static int exec_retry(struct db *db, const char *sql, struct hl_err *err)
{
    int64_t start = now_ms();
    unsigned delay = 1;
    for (;;) {
        int rc = sqlite3_exec(db->h, sql, NULL, NULL, NULL);
        if (rc == SQLITE_OK)
            return 0;
        if (!is_busy(rc) || now_ms() - start >= DB_BUSY_TIMEOUT_MS)
            return hl_err_set(err, HL_EDB, db->path, "%s: %s",
                              strncmp(sql, "COMMIT", 6) == 0 ? "cannot commit" : "cannot begin",
                              db_errmsg(db, NULL, (char[256]){ 0 }, 256));
        nap(db, delay, 2 * delay);
        if (delay < 64)
            delay *= 2;
    }
}

/* Switches to WAL. On a new, empty file several processes race to write its first page; the
 * loser gets SQLITE_BUSY, or "delete" back when the change could not be made, and retries. */
static int set_wal(struct db *db, struct hl_err *err)
{
    int64_t start = now_ms();
    unsigned delay = 1;
    for (;;) {
        sqlite3_stmt *st = NULL;
        bool wal = false;
        int rc = sqlite3_prepare_v2(db->h, "PRAGMA journal_mode = WAL", -1, &st, NULL);
        if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
            const char *mode = (const char *)sqlite3_column_text(st, 0);
            /* An in-memory database (rules test) has no WAL and needs none. */
            wal = mode && (strcmp(mode, "wal") == 0 || strcmp(mode, "memory") == 0);
            rc = SQLITE_OK;
        }
        sqlite3_finalize(st);
        if (wal)
            return 0;
        if (rc != SQLITE_OK && !is_busy(rc))
            return db_fail(db, err, "cannot open database");
        if (now_ms() - start >= DB_BUSY_TIMEOUT_MS)
            return hl_err_set(err, HL_EDB, db->path,
                              "cannot switch the database to WAL mode: another process holds it");
        nap(db, delay, 2 * delay);
        if (delay < 64)
            delay *= 2;
    }
}

/* Sets *ret to the first column of sql's first row. Returns 0, or a negative hl_code saying
 * what could not be read. */
static int query_int(struct db *db, const char *sql, const char *what, int *ret, struct hl_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) == SQLITE_OK ? sqlite3_step(st)
                                                                        : SQLITE_ERROR;
    if (rc == SQLITE_ROW)
        *ret = sqlite3_column_int(st, 0);
    int r = rc == SQLITE_ROW ? 0 : db_fail(db, err, what);
    sqlite3_finalize(st);
    return r;
}

static int read_version(struct db *db, int *ret_version, struct hl_err *err)
{
    int r = query_int(db, "PRAGMA user_version", "cannot read schema version", ret_version, err);
    if (r == 0 && *ret_version > DB_SCHEMA_VERSION)
        return hl_err_set(err, HL_EDB, db->path,
                          "database schema version %d is newer than this hsmlog understands (%d)",
                          *ret_version, DB_SCHEMA_VERSION);
    return r;
}

/* hsmlog_event_hash(ts, raw): the event hash of a stored timed line (event_id_hash_raw()),
 * for the schema 9 upgrade, which rekeys rows stored with another identity. */
static void sql_event_hash(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const unsigned char *ts = sqlite3_value_text(argv[0]);
    int64_t us;
    bool zoned;
    if (!ts || !parse_time_iso(strv_from_cstr((const char *)ts), 0, &us, &zoned)) {
        sqlite3_result_null(ctx);
        return;
    }
    const void *raw = sqlite3_value_blob(argv[1]);
    int n = sqlite3_value_bytes(argv[1]);
    sqlite3_result_int64(ctx, event_id_hash_raw(us, raw ? raw : "", raw ? (size_t)n : 0));
}

static int migrate(struct db *db, db_upgrading_fn *upgrading, struct hl_err *err)
{
    int version = 0;
    int r = read_version(db, &version, err);
    if (r < 0 || version == DB_SCHEMA_VERSION || db->readonly)
        return r;
    /* One transaction for all steps: a crash mid-migration leaves the old schema intact. */
    if ((r = exec_retry(db, "BEGIN IMMEDIATE", err)) < 0)
        return r;
    /* Another process may have migrated while this one waited for the lock: read it again
     * under the lock, so each script runs once. */
    r = read_version(db, &version, err);
    /* Versions 3, 4 and 9 rewrite the findings and marks tables: the caller says why the first
     * scan pauses (the others add columns, views or indexes of the small incidents table). */
    if (r == 0 && version > 0 && version < 9 && upgrading)
        upgrading(db->path, version, DB_SCHEMA_VERSION);
    if (r == 0 && version < 9 &&
        sqlite3_create_function(db->h, "hsmlog_event_hash", 2,
                                SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY, NULL,
                                sql_event_hash, NULL, NULL) != SQLITE_OK)
        r = db_fail(db, err, "cannot prepare the schema upgrade");
    for (int v = version; r == 0 && v < DB_SCHEMA_VERSION; v++)
        r = exec_sql(db, migrations[v], err);
    if (r == 0 && version < DB_SCHEMA_VERSION) {
        char sql[64];
        snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", DB_SCHEMA_VERSION);
        r = exec_sql(db, sql, err);
    }
    if (r == 0 && (r = exec_retry(db, "COMMIT", err)) == 0)
        db->migrated_from = version < DB_SCHEMA_VERSION ? version : 0;
    if (r == 0)
        return 0;
    if (!sqlite3_get_autocommit(db->h))
        sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
    return r;
}

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
    snprintf(db->refused, sizeof(db->refused), "%s would change the database: query is read-only",
             what);
    return SQLITE_DENY;
}

static int guard_install(struct db *db, struct hl_err *err)
{
    int on = 1, off = 0;
    if (sqlite3_db_config(db->h, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, off, NULL) != SQLITE_OK ||
        sqlite3_db_config(db->h, SQLITE_DBCONFIG_DEFENSIVE, on, NULL) != SQLITE_OK ||
        sqlite3_set_authorizer(db->h, guard, db) != SQLITE_OK)
        return db_fail(db, err, "cannot make the connection read-only");
    sqlite3_limit(db->h, SQLITE_LIMIT_ATTACHED, 0);
    return 0;
}

static bool is_pragma(const char *sql)
{
    while (*sql == ' ' || *sql == '\t' || *sql == '\n' || *sql == '\r')
        sql++;
    return sqlite3_strnicmp(sql, "PRAGMA", 6) == 0;
}

int db_prepare_query(struct db *db, const char *sql, sqlite3_stmt **ret_st, const char **ret_tail,
                     struct hl_err *err)
{
    sqlite3_stmt *st = NULL;
    db->refused[0] = '\0';
    if (sqlite3_prepare_v2(db->h, sql, -1, &st, ret_tail) != SQLITE_OK) {
        if (db->refused[0])
            return hl_err_set(err, HL_EDB, NULL, "refused: %s", db->refused);
        return hl_err_set(err, HL_EDB, NULL, "%s", sqlite3_errmsg(db->h));
    }
    /* What the authorizer does not see: VACUUM (also VACUUM INTO a new file). A PRAGMA the
     * guard let through only reads, though SQLite cannot tell for some (journal_mode). */
    if (st && !sqlite3_stmt_readonly(st) && !is_pragma(sqlite3_sql(st))) {
        sqlite3_finalize(st);
        return hl_err_set(err, HL_EDB, NULL,
                          "refused: this statement would write: query is read-only");
    }
    *ret_st = st;
    return 0;
}

int db_reserve_page_cache(void)
{
    static void *pool; /* SQLite uses it until the process ends */
    if (pool)
        return 0;
    /* Nothing here reads SQLite's memory statistics; keeping them takes a global mutex on
     * every allocation, a tenth of the storage thread's time. */
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    /* A sort keeps up to the larger of this and the cache size in memory: db_restore_indexes()
     * lowers the cache size while it builds indexes, so that a large first scan does not end
     * bigger than a small one. */
    (void)sqlite3_config(SQLITE_CONFIG_PMASZ, 16);
    int hdr = 0;
    if (sqlite3_config(SQLITE_CONFIG_PCACHE_HDRSZ, &hdr) != SQLITE_OK)
        return -1;
    size_t slot = (DB_PAGE_SIZE + (size_t)hdr + 7) & ~(size_t)7;
    size_t n = DB_CACHE_POOL_PAGES;
    void *p = malloc(slot * n);
    if (!p)
        return -1;
    /* Touched at once, so the process is as big at its first finding as at its millionth
     * and a small scan's peak memory says what a large one's will be. Not with zeros: the
     * compiler makes malloc and memset(0) one calloc, whose fresh pages stay untouched. */
    memset(p, 0xa5, slot * n);
    if (sqlite3_config(SQLITE_CONFIG_PAGECACHE, p, (int)slot, (int)n) != SQLITE_OK) {
        free(p); /* SQLite is initialized already: it keeps allocating as it needs */
        return -1;
    }
    pool = p;
    return 0;
}

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
static const char *const finding_params[FP__COUNT] = {
    [FP_SOURCE_ID] = ":source_id",
    [FP_LINE] = ":line",
    [FP_TS] = ":ts",
    [FP_HOST] = ":host",
    [FP_PROGRAM] = ":program",
    [FP_PID] = ":pid",
    [FP_RULE_ID] = ":rule_id",
    [FP_SEVERITY] = ":severity",
    [FP_MESSAGE] = ":message",
    [FP_FIELDS] = ":fields",
    [FP_RAW] = ":raw",
    [FP_EVENT_HASH] = ":event_hash",
    [FP_OCCURRENCE] = ":occurrence",
    [FP_GROUP_KEY] = ":group_key",
    [FP_MESSAGE_AT] = ":message_at",
    [FP_TS_UNIX] = ":ts_unix",
};

static int prepare(struct db *db, sqlite3_stmt **st, const char *sql, struct hl_err *err)
{
    if (sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK)
        return db_fail(db, err, "cannot prepare statement");
    return 0;
}

static int prepare_all(struct db *db, struct hl_err *err)
{
    /* The spill of the occurrence table: inputs with more than OCCUR_MAX_SLOTS distinct
     * findings per source. Its cache comes from the pool of db_reserve_page_cache(). Keyed
     * by time first: a log's events arrive about in time order, so a lookup or an insert
     * lands on the last few pages, which stay in the cache, however big the table grows
     * (keyed by the hash alone, every page was touched at random and the table thrashed
     * its temp file once past the cache). */
    int r = exec_sql(db,
                     "CREATE TEMP TABLE IF NOT EXISTS seen ("
                     " ts INTEGER NOT NULL, event_hash INTEGER NOT NULL, n INTEGER NOT NULL,"
                     " PRIMARY KEY (ts, event_hash)) WITHOUT ROWID",
                     err);
    if (r == 0)
        r = prepare(db, &db->st_scan_begin,
                    "INSERT INTO scans(started_at, command, version, pid, pid_start, boot_id,"
                    " hostname) VALUES(:started_at, :command, :version, :pid, :pid_start,"
                    " :boot_id, :hostname)",
                    err);
    if (r == 0)
        r = prepare(db, &db->st_scan_end,
                    "UPDATE scans SET finished_at = :finished_at, lines = :lines,"
                    " findings = :findings, status = :status WHERE id = :id",
                    err);
    if (r == 0)
        r = prepare(db, &db->st_source_add,
                    "INSERT INTO sources(scan_id, parent_id, path, kind, size, mtime, status)"
                    " VALUES(:scan_id, :parent_id, :path, :kind, :size, :mtime, :status)",
                    err);
    if (r == 0)
        r = prepare(db, &db->st_source_end,
                    "UPDATE sources SET kind = :kind, bytes = :bytes, lines = :lines,"
                    " truncated_lines = :truncated_lines, bad_time_lines = :bad_time_lines,"
                    " findings = :findings,"
                    " status = :status, error = :error WHERE id = :id",
                    err);
    if (r == 0)
        r = prepare(db, &db->st_rule_put,
                    "INSERT OR REPLACE INTO rules(id, severity, summary, remedy, refs, file,"
                    " enabled, origin, overrides) VALUES(:id, :severity, :summary, :remedy,"
                    " :refs, :file, :enabled, :origin, :overrides)",
                    err);
    if (r == 0)
        r = prepare(db, &db->st_seen,
                    "INSERT INTO seen(ts, event_hash, n) VALUES(:ts, :hash, 1)"
                    " ON CONFLICT(ts, event_hash) DO UPDATE SET n = n + 1 RETURNING n",
                    err);
    if (r == 0)
        r = prepare(db, &db->st_seen_put,
                    "INSERT INTO seen(ts, event_hash, n) VALUES(:ts, :hash, :n)", err);
    if (r == 0)
        r = prepare(db, &db->st_seen_reset, "DELETE FROM seen", err);
    if (r == 0)
        r = prepare(db, &db->st_finding_add,
                    "INSERT OR IGNORE INTO finding_rows(source_id, line, ts, host, program, pid,"
                    " rule_id, severity, message, fields, raw, event_hash, occurrence, group_key,"
                    " message_at, ts_unix) VALUES(:source_id, :line, :ts, :host, :program, :pid,"
                    " :rule_id, :severity, :message, :fields, :raw, :event_hash, :occurrence,"
                    " :group_key, :message_at, :ts_unix)",
                    err);
    for (size_t i = 0; r == 0 && i < DB_FINDING_PARAMS; i++)
        db->finding_param[i] = sqlite3_bind_parameter_index(db->st_finding_add, finding_params[i]);
    if (r == 0)
        r = prepare(db, &db->st_mark_add,
                    "INSERT OR IGNORE INTO marks(rule_id, kind, source_id, line, ts, ts_unix, host,"
                    " group_key, event_hash, occurrence) VALUES(:rule_id, :kind, :source_id,"
                    " :line, :ts, :ts_unix, :host, :group_key, :event_hash, :occurrence)",
                    err);
    if (r == 0)
        r = prepare(db, &db->st_dirty,
                    "INSERT OR IGNORE INTO incidents_dirty(rule_id, host, key)"
                    " VALUES(:rule_id, :host, :key)",
                    err);
    if (r == 0)
        r = prepare(db, &db->st_clock,
                    "UPDATE scans SET last_ts = :ts"
                    " WHERE id = :id AND (last_ts IS NULL OR last_ts < :ts)",
                    err);
    return r;
}

/* A WAL reader needs a -shm file, which a read-only file system (a mounted evidence copy) or
 * a directory the user cannot write (a colleague's database) has no room for: SQLite says
 * CANTOPEN or READONLY. With no -wal file there is no write in flight, so the file can be read
 * as immutable instead. Returns 0 when the handle was replaced. */
static int reopen_immutable(struct db *db)
{
    int code = sqlite3_extended_errcode(db->h) & 0xff;
    if (code != SQLITE_CANTOPEN && code != SQLITE_READONLY)
        return -1;
    struct stat st;
    char *wal = sqlite3_mprintf("%s-wal", db->path);
    bool in_flight = !wal || (stat(wal, &st) == 0 && st.st_size > 0);
    sqlite3_free(wal);
    if (in_flight)
        return -1;
    struct buf uri;
    buf_init(&uri, 0);
    int r = buf_adds(&uri, "file:");
    for (const char *p = db->path; r == 0 && *p; p++)
        r = *p == '%' || *p == '?' || *p == '#' ? buf_printf(&uri, "%%%02X", (unsigned char)*p)
                                                : buf_add(&uri, p, 1);
    if (r == 0)
        r = buf_adds(&uri, "?immutable=1");
    sqlite3 *h = NULL;
    if (r == 0 && sqlite3_open_v2(buf_cstr(&uri), &h,
                                  SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX,
                                  NULL) == SQLITE_OK) {
        sqlite3_close(db->h);
        db->h = h;
        sqlite3_extended_result_codes(db->h, 1);
    } else {
        sqlite3_close(h);
        r = -1;
    }
    buf_release(&uri);
    return r;
}

/* A writer killed while it switched a new database to WAL mode leaves a hot rollback journal,
 * which only a read-write connection may roll back: SQLite refuses a read-only reader with
 * SQLITE_READONLY_ROLLBACK. Rolling it back restores the file as it was before that write,
 * which changes no data a reader could have seen, so a reader that may write the file does it
 * with a connection of its own and then reads as usual. Returns 0 when it was done. */
static int roll_back_hot_journal(struct db *db)
{
    if (sqlite3_extended_errcode(db->h) != SQLITE_READONLY_ROLLBACK || access(db->path, W_OK) < 0)
        return -1;
    sqlite3 *rw = NULL;
    int rc = sqlite3_open_v2(db->path, &rw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(rw, DB_BUSY_TIMEOUT_MS);
        rc = sqlite3_exec(rw, "PRAGMA schema_version", NULL, NULL, NULL);
    }
    sqlite3_close(rw);
    return rc == SQLITE_OK ? 0 : -1;
}

static int restore_all_indexes(struct db *db, struct hl_err *err);

static int mark_dead_scans(struct db *db, struct hl_err *err);

int db_open(struct db *db, const char *path, bool readonly, db_upgrading_fn *upgrading,
            struct hl_err *err)
{
    memset(db, 0, sizeof(*db));
    db->seen_below = INT64_MIN;
    db->readonly = readonly;
    db->path = strdup(path);
    if (!db->path)
        return hl_err_set(err, HL_ENOMEM, path, "out of memory");
    int r;
    if (readonly) {
        if (access(path, F_OK) < 0) {
            r = hl_err_errno(err, HL_EDB, path, "cannot open database (run 'hsmlog scan' first)");
            goto fail;
        }
    } else if ((r = make_parent_dirs(path, err)) < 0) {
        goto fail;
    }
    int flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    if (sqlite3_open_v2(path, &db->h, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        r = db_fail(db, err, "cannot open database");
        goto fail;
    }
    sqlite3_extended_result_codes(db->h, 1);
    /* Other scans (journalctl -f in one terminal, a cron job) and queries share the file. */
    sqlite3_busy_handler(db->h, busy_wait, db);
    if (!readonly) {
        /* SQLite falls back to reading a file it cannot write; say so now, not at the first
         * insert. */
        if (sqlite3_db_readonly(db->h, "main") == 1) {
            r = hl_err_set(err, HL_EDB, path,
                           "cannot write the database: the file or its file system is read-only");
            goto fail;
        }
        /* Takes effect only on a database (and temp database) not yet created. */
        char page_size[96];
        snprintf(page_size, sizeof(page_size), "PRAGMA page_size = %u; PRAGMA temp.page_size = %u",
                 DB_PAGE_SIZE, DB_PAGE_SIZE);
        if ((r = exec_sql(db, page_size, err)) < 0 || (r = set_wal(db, err)) < 0)
            goto fail;
        r = exec_sql(db,
                     "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;"
                     " PRAGMA temp_store = FILE",
                     err);
        if (r < 0)
            goto fail;
    } else if ((r = exec_sql(db, "PRAGMA query_only = ON", err)) < 0) {
        goto fail;
    }
    r = migrate(db, upgrading, err);
    if (r < 0 && readonly && roll_back_hot_journal(db) == 0)
        r = migrate(db, upgrading, err);
    if (r < 0 && readonly && reopen_immutable(db) == 0) {
        sqlite3_busy_handler(db->h, busy_wait, db);
        r = exec_sql(db, "PRAGMA query_only = ON", err);
        if (r == 0)
            r = read_version(db, &(int){ 0 }, err);
    }
    if (r < 0)
        goto fail;
    if (!readonly && (r = prepare_all(db, err)) < 0)
        goto fail;
    /* A scan that was killed before it built them again. */
    if (!readonly && (r = restore_all_indexes(db, err)) < 0)
        goto fail;
    if (!readonly && (r = mark_dead_scans(db, err)) < 0)
        goto fail;
    if (readonly && (r = guard_install(db, err)) < 0)
        goto fail;
    return 0;
fail:
    db_close(db);
    return r;
}

static void finalize(sqlite3_stmt **st)
{
    sqlite3_finalize(*st);
    *st = NULL;
}

void db_close(struct db *db)
{
    if (db->in_tx)
        HL_IGNORE(db_commit(db, NULL)); /* best effort on close */
    finalize(&db->st_scan_begin);
    finalize(&db->st_scan_end);
    finalize(&db->st_source_add);
    finalize(&db->st_source_end);
    finalize(&db->st_rule_put);
    finalize(&db->st_seen);
    finalize(&db->st_seen_put);
    occur_release(&db->seen_mem);
    finalize(&db->st_seen_reset);
    finalize(&db->st_mark_add);
    finalize(&db->st_dirty);
    finalize(&db->st_clock);
    finalize(&db->st_finding_add);
    if (db->h)
        sqlite3_close(db->h);
    free(db->path);
    memset(db, 0, sizeof(*db));
}

static int begin(struct db *db, struct hl_err *err)
{
    if (db->in_tx) {
        if (!sqlite3_get_autocommit(db->h))
            return 0;
        db->in_tx = false; /* an error (a full disk) rolled it back: start a new one */
    }
    int r = exec_retry(db, "BEGIN IMMEDIATE", err);
    if (r == 0) {
        db->in_tx = true;
        db->pending = 0;
        db->commit_due = false;
        db->tx_started_ms = now_ms();
        db->tx_serial++;
    }
    return r;
}

int db_begin(struct db *db, struct hl_err *err)
{
    return begin(db, err);
}

int db_commit(struct db *db, struct hl_err *err)
{
    if (!db->in_tx)
        return 0;
    int r = sqlite3_get_autocommit(db->h) ? 0 : exec_retry(db, "COMMIT", err);
    /* A failed COMMIT (disk full) may leave the transaction open and the write lock held. */
    if (r < 0 && !sqlite3_get_autocommit(db->h))
        sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
    db->in_tx = false;
    db->pending = 0;
    db->commit_due = false;
    return r;
}

int db_tick(struct db *db, struct hl_err *err)
{
    if (!db->in_tx || (!db->commit_due && (++db->ticks & 255) != 0))
        return 0;
    int64_t now = now_ms();
    if (!db->commit_due && now - db->tx_started_ms < DB_TX_MAX_MS)
        return 0;
    int r = db_commit(db, err);
    /* The lock is free now, but this scan would take it again within microseconds, before a
     * waiting process (polling every 1 to 3 ms) sees it: step aside a moment, at most once
     * per DB_TX_MAX_MS, so concurrent scans take turns. */
    if (r == 0 && now - db->yielded_ms >= DB_TX_MAX_MS) {
        nap(db, 3, 3);
        db->yielded_ms = now_ms();
    }
    return r;
}

/* Counts a written row. The commit itself waits for db_tick() between lines: committing here
 * could store a finding without the incident mark written right after it. */
static int wrote_row(struct db *db, struct hl_err *err)
{
    (void)err;
    if (++db->pending >= DB_BATCH_ROWS)
        db->commit_due = true;
    return 0;
}

static int idx(sqlite3_stmt *st, const char *name)
{
    return sqlite3_bind_parameter_index(st, name);
}

/* Each bind_* takes the parameter's name; bind_*_at its index, for a statement whose indexes
 * were looked up once. */
static void bind_text_at(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

static void bind_text(sqlite3_stmt *st, const char *name, const char *s)
{
    bind_text_at(st, idx(st, name), s);
}

/* Binds a slice; the statement is stepped before the slice's buffer can move, so the bytes
 * are not copied. An absent (empty) slice is NULL. */
static void bind_strv_at(sqlite3_stmt *st, int i, struct strv s, bool empty_is_null)
{
    if (s.n == 0 && empty_is_null)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_text(st, i, s.p ? s.p : "", (int)s.n, SQLITE_STATIC);
}

static void bind_strv(sqlite3_stmt *st, const char *name, struct strv s, bool empty_is_null)
{
    bind_strv_at(st, idx(st, name), s, empty_is_null);
}

static void bind_int(sqlite3_stmt *st, const char *name, int64_t v)
{
    sqlite3_bind_int64(st, idx(st, name), v);
}

/* Steps a write statement to completion and resets it. */
static int step_done(struct db *db, sqlite3_stmt *st, struct hl_err *err, const char *what)
{
    int rc = sqlite3_step(st);
    int r = rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : db_fail(db, err, what);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return r;
}

static void now_iso(char out[PARSE_TIME_ISO_LEN])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    parse_time_format((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000, out);
}

int db_put_rules(struct db *db, const struct ruleset *rs, struct hl_err *err)
{
    int r = begin(db, err);
    for (size_t i = 0; r == 0 && i < rs->n; i++) {
        const struct rule *rule = &rs->rules[i];
        if (!rule_is_public(rule))
            continue;
        sqlite3_stmt *st = db->st_rule_put;
        bind_text(st, ":id", rule->id);
        bind_text(st, ":severity", severity_name(rule->severity));
        bind_text(st, ":summary", rule->summary);
        bind_text(st, ":remedy", rule->remedy);
        bind_text(st, ":refs", rule->refs);
        bind_text(st, ":file", rule->file);
        bind_int(st, ":enabled", !rule->disabled);
        char *origin = rule_origin(rule);
        if (!origin) {
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            return hl_err_set(err, HL_ENOMEM, db->path, "out of memory");
        }
        bind_text(st, ":origin", origin);
        bind_text(st, ":overrides", rule->overrides);
        r = step_done(db, st, err, "cannot store rule");
        free(origin);
    }
    return r;
}

/* ---- indexes a first scan builds at its end (schema 6, table deferred_indexes) ---- */

/* The secondary indexes that nothing reads while a first scan stores and builds its
 * incidents: the identity indexes stay (INSERT OR IGNORE needs them to drop a finding stored
 * twice), and so do findings_rule_host and incidents_from, which the incident rebuild reads.
 * Measured on 115k findings: the four of findings kept up to date cost 0.7 s of the storage
 * thread, built once at the end 0.3 s. The rebuild writes incidents in key order, so their
 * two time indexes took random inserts: 1.8 s for 257k incidents, 0.6 s built after. */
static const char deferrable_indexes[] =
        "'findings_rule_ts', 'findings_host_ts', 'findings_source', 'findings_incident',"
        " 'incidents_first_ts', 'incidents_host_ts'";

/* Runs one statement built with sqlite3_mprintf (NULL when out of memory). */
static int exec_owned(struct db *db, char *sql, struct hl_err *err)
{
    if (!sql)
        return hl_err_set(err, HL_ENOMEM, db->path, "out of memory");
    int r = exec_sql(db, sql, err);
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
static int defer_indexes(struct db *db, struct hl_err *err)
{
    int empty = 0;
    int r = query_int(db,
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

int db_cache_shrink(struct db *db, int *ret_own, struct hl_err *err)
{
    int r = query_int(db, "PRAGMA cache_size", "cannot read the cache size", ret_own, err);
    return r < 0 ? r : exec_sql(db, "PRAGMA cache_size = -256", err);
}

int db_cache_restore(struct db *db, int own, struct hl_err *err)
{
    char cache[80];
    snprintf(cache, sizeof(cache), "PRAGMA cache_size = %d", own);
    return exec_sql(db, cache, err);
}

int db_exec_small_sort(struct db *db, const char *sql, struct hl_err *err)
{
    int own = 0;
    int r = db_cache_shrink(db, &own, err);
    if (r < 0)
        return r;
    r = exec_sql(db, sql, err);
    int back = db_cache_restore(db, own, err);
    return r < 0 ? r : back;
}

int db_restore_indexes(struct db *db, struct hl_err *err)
{
    char *sql = NULL;
    int r = db->readonly ? 0 : deferred_script(db, true, &sql, err);
    if (r < 0 || !sql)
        return r;
    r = db_exec_small_sort(db, sql, err);
    sqlite3_free(sql);
    if (r == 0)
        r = exec_sql(db, "DELETE FROM deferred_indexes", err);
    return r;
}

/* db_restore_indexes() in a transaction of its own. */
static int restore_all_indexes(struct db *db, struct hl_err *err)
{
    int any = 0;
    int r = query_int(db, "SELECT EXISTS (SELECT 1 FROM deferred_indexes)",
                      "cannot read the deferred indexes", &any, err);
    if (r < 0 || !any)
        return r;
    r = begin(db, err);
    if (r == 0)
        r = db_restore_indexes(db, err);
    if (r == 0)
        return db_commit(db, err);
    /* Nothing else is in this transaction: the rows stay for the next writer. */
    if (!sqlite3_get_autocommit(db->h))
        sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
    db->in_tx = false;
    return r;
}

/* Marks 'dead' the scans rows still 'running' whose process is gone (proc_judge(): only rows
 * of this host are judged, see docs/SCHEMA.md), and their sources rows left 'reading'. A
 * scan killed by SIGKILL, the OOM killer or a crash cannot finish its own row; the next
 * writer does, so that 'running' means running. Counts them in db->dead_scans. */
static int mark_dead_scans(struct db *db, struct hl_err *err)
{
    struct proc_ident self;
    if (proc_self(&self) < 0 || !self.host[0])
        return 0; /* no /proc: nothing can be judged */
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db->h,
                           "SELECT id, pid, pid_start, boot_id FROM scans"
                           " WHERE status = 'running' AND hostname = :host AND pid IS NOT NULL"
                           " AND pid_start IS NOT NULL",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(db, err, "cannot read the scans");
    bind_text(st, ":host", self.host);
    int64_t dead[64];
    size_t n = 0;
    int rc = SQLITE_DONE;
    /* At most 64 a time: the next writer marks the rest. */
    while (n < ARRAY_SIZE(dead) && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct proc_ident other = {
            .pid = sqlite3_column_int64(st, 1),
            .start = sqlite3_column_int64(st, 2),
        };
        const char *boot = (const char *)sqlite3_column_text(st, 3);
        snprintf(other.boot_id, sizeof(other.boot_id), "%s", boot ? boot : "");
        snprintf(other.host, sizeof(other.host), "%s", self.host);
        if (proc_judge(&self, &other) == PROC_GONE)
            dead[n++] = sqlite3_column_int64(st, 0);
    }
    if (n < ARRAY_SIZE(dead) && rc != SQLITE_DONE) {
        sqlite3_finalize(st);
        return db_fail(db, err, "cannot read the scans");
    }
    sqlite3_finalize(st);
    if (n == 0)
        return 0;
    int r = begin(db, err);
    /* 'running' in the WHERE: a scan that finished meanwhile keeps its own status. */
    for (size_t i = 0; r == 0 && i < n; i++) {
        char sql[320];
        snprintf(sql, sizeof(sql),
                 "UPDATE sources SET status = 'dead', error = 'the scan ended before this"
                 " source was read in full (its process is gone)' WHERE scan_id = %lld AND"
                 " status = 'reading' AND EXISTS (SELECT 1 FROM scans WHERE id = %lld AND"
                 " status = 'running'); UPDATE scans SET status = 'dead' WHERE id = %lld AND"
                 " status = 'running'",
                 (long long)dead[i], (long long)dead[i], (long long)dead[i]);
        r = exec_sql(db, sql, err);
        if (r == 0)
            db->dead_scans += (unsigned)sqlite3_changes(db->h);
    }
    if (r == 0)
        return db_commit(db, err);
    if (!sqlite3_get_autocommit(db->h))
        sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
    db->in_tx = false;
    db->dead_scans = 0;
    return r;
}

int db_scan_begin(struct db *db, const char *command, struct hl_err *err)
{
    char now[PARSE_TIME_ISO_LEN];
    now_iso(now);
    int r = begin(db, err);
    if (r < 0)
        return r;
    sqlite3_stmt *st = db->st_scan_begin;
    bind_text(st, ":started_at", now);
    bind_text(st, ":command", command);
    bind_text(st, ":version", HSMLOG_VERSION);
    /* Who runs it: what mark_dead_scans() of a later writer judges it by. */
    struct proc_ident self;
    (void)proc_self(&self);
    bind_int(st, ":pid", self.pid);
    if (self.start >= 0)
        bind_int(st, ":pid_start", self.start);
    if (self.boot_id[0])
        bind_text(st, ":boot_id", self.boot_id);
    if (self.host[0])
        bind_text(st, ":hostname", self.host);
    r = step_done(db, st, err, "cannot record scan");
    if (r == 0)
        db->scan_id = sqlite3_last_insert_rowid(db->h);
    if (r == 0)
        r = defer_indexes(db, err);
    /* Commit at once: a scan that crashes later still shows up as 'running' in history. */
    return r ? r : db_commit(db, err);
}

int db_scan_end(struct db *db, uint64_t lines, uint64_t findings, const char *status,
                struct hl_err *err)
{
    char now[PARSE_TIME_ISO_LEN];
    now_iso(now);
    int r = begin(db, err);
    if (r < 0)
        return r;
    sqlite3_stmt *st = db->st_scan_end;
    bind_text(st, ":finished_at", now);
    bind_int(st, ":lines", (int64_t)lines);
    bind_int(st, ":findings", (int64_t)findings);
    bind_text(st, ":status", status);
    bind_int(st, ":id", db->scan_id);
    r = step_done(db, st, err, "cannot finish scan record");
    if (r == 0)
        r = db_commit(db, err);
    /* After a failed incident update, or one that never ran. */
    return r ? r : restore_all_indexes(db, err);
}

int db_source_add(struct db *db, const struct db_source *s, int64_t *ret_id, struct hl_err *err)
{
    int r = begin(db, err);
    if (r < 0)
        return r;
    sqlite3_stmt *st = db->st_source_add;
    bind_int(st, ":scan_id", db->scan_id);
    if (s->parent_id > 0)
        bind_int(st, ":parent_id", s->parent_id);
    bind_text(st, ":path", s->path);
    bind_text(st, ":kind", s->kind);
    if (s->size >= 0)
        bind_int(st, ":size", s->size);
    char mtime[PARSE_TIME_ISO_LEN];
    if (s->mtime >= 0) {
        parse_time_format(s->mtime * 1000000, mtime);
        bind_text(st, ":mtime", mtime);
    }
    bind_text(st, ":status", s->status);
    r = step_done(db, st, err, "cannot record source");
    if (r == 0)
        *ret_id = sqlite3_last_insert_rowid(db->h);
    /* Occurrences count identical events within one source: the same line read from
     * `messages` and from a bundle's copy of it is one event, not two. */
    occur_reset(&db->seen_mem);
    if (r == 0 && db->seen_spilled)
        r = step_done(db, db->st_seen_reset, err, "cannot reset event counter");
    db->seen_spilled = false;
    db->seen_below = INT64_MIN;
    return r ? r : wrote_row(db, err);
}

int db_source_end(struct db *db, int64_t id, const struct db_source *s, struct hl_err *err)
{
    int r = begin(db, err);
    if (r < 0)
        return r;
    sqlite3_stmt *st = db->st_source_end;
    bind_text(st, ":kind", s->kind);
    bind_int(st, ":bytes", (int64_t)s->bytes);
    bind_int(st, ":lines", (int64_t)s->lines);
    bind_int(st, ":truncated_lines", (int64_t)s->truncated_lines);
    bind_int(st, ":bad_time_lines", (int64_t)s->bad_time_lines);
    bind_int(st, ":findings", (int64_t)s->findings);
    bind_text(st, ":status", s->status);
    bind_text(st, ":error", s->error);
    bind_int(st, ":id", id);
    r = step_done(db, st, err, "cannot update source");
    return r ? r : wrote_row(db, err);
}

struct spill {
    struct db *db;
    struct hl_err *err;
};

static int spill_one(void *ctx, uint64_t hash, int64_t ts, uint64_t n)
{
    struct spill *sp = ctx;
    bind_int(sp->db->st_seen_put, ":ts", ts);
    bind_int(sp->db->st_seen_put, ":hash", (int64_t)hash);
    bind_int(sp->db->st_seen_put, ":n", (int64_t)n);
    return step_done(sp->db, sp->db->st_seen_put, sp->err, "cannot count event");
}

/* The in-memory counter is full at an event of second `second`. Usually the log is read in time
 * order and the events older than this one will not come again: they move to the temp table,
 * and counting goes on in memory (the temp table is far slower per event, and most events are
 * recent). When too few are older (no times, or out of order), all of them move and the temp
 * table counts from then on. Events older than
 * seen_below always count in the temp table, so each event is counted in one place. */
static int spill_seen(struct db *db, int64_t second, struct hl_err *err)
{
    struct spill sp = { db, err };
    int r = occur_move_older(&db->seen_mem, second, spill_one, &sp);
    if (r == 0) {
        db->seen_below = second;
    } else if (r == 1) {
        r = occur_each(&db->seen_mem, spill_one, &sp);
        occur_reset(&db->seen_mem);
        db->seen_below = INT64_MAX;
    }
    db->seen_spilled = true;
    return r;
}

int db_occurrence(struct db *db, int64_t event_hash, int64_t second, int64_t *ret_n,
                  struct hl_err *err)
{
    int r = begin(db, err);
    if (r < 0)
        return r;
    if (second >= db->seen_below) {
        uint64_t n = 0;
        r = occur_add(&db->seen_mem, (uint64_t)event_hash, second, &n);
        if (r == 1) {
            /* Full: after the spill the event counts in memory, which then has room (at most
             * a quarter of it is kept), or past a full spill in the temp table. */
            if ((r = spill_seen(db, second, err)) < 0)
                return r;
            r = second >= db->seen_below
                        ? occur_add(&db->seen_mem, (uint64_t)event_hash, second, &n)
                        : 1;
        }
        if (r < 0)
            return hl_err_set(err, r, db->path, "out of memory");
        if (r == 0) {
            *ret_n = (int64_t)n;
            return 0;
        }
    }
    sqlite3_stmt *st = db->st_seen;
    bind_int(st, ":ts", second);
    bind_int(st, ":hash", event_hash);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *ret_n = sqlite3_column_int64(st, 0);
    /* RETURNING rows must be stepped to the end before the statement is reset. */
    while (rc == SQLITE_ROW)
        rc = sqlite3_step(st);
    r = rc == SQLITE_DONE ? 0 : db_fail(db, err, "cannot count event");
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return r;
}

/* Where message starts in raw, in characters (what SQLite's substr() counts in TEXT), when
 * message is the end of raw, which is valid UTF-8; else -1. The message is then stored once
 * (schema v8): a fifth of a finding's row on syslog lines. */
static int64_t message_in_raw(struct strv message, struct strv raw)
{
    if (message.n > raw.n ||
        (message.n && memcmp(raw.p + raw.n - message.n, message.p, message.n) != 0))
        return -1;
    int64_t chars = 0;
    for (size_t i = 0; i < raw.n - message.n; i++)
        chars += ((unsigned char)raw.p[i] & 0xC0) != 0x80; /* not a continuation byte */
    return chars;
}

int db_finding_add(struct db *db, const struct db_finding *f, bool *ret_new, struct hl_err *err)
{
    int r = begin(db, err);
    if (r < 0)
        return r;
    sqlite3_stmt *st = db->st_finding_add;
    const int *at = db->finding_param;
    sqlite3_bind_int64(st, at[FP_SOURCE_ID], f->source_id);
    sqlite3_bind_int64(st, at[FP_LINE], (int64_t)f->line);
    bind_text_at(st, at[FP_TS], f->ts);
    if (f->ts)
        sqlite3_bind_int64(st, at[FP_TS_UNIX], f->second);
    bind_strv_at(st, at[FP_HOST], f->host, true);
    bind_strv_at(st, at[FP_PROGRAM], f->program, true);
    if (f->pid >= 0)
        sqlite3_bind_int64(st, at[FP_PID], f->pid);
    bind_text_at(st, at[FP_RULE_ID], f->rule_id);
    bind_text_at(st, at[FP_SEVERITY], f->severity);
    bind_strv_at(st, at[FP_FIELDS], f->fields, false);
    /* raw keeps the exact bytes: a line that is not valid UTF-8 is stored as a BLOB rather
     * than as TEXT that SQLite functions would misread. */
    bool raw_is_text = utf8_is_clean(f->raw.p, f->raw.n);
    if (raw_is_text)
        bind_strv_at(st, at[FP_RAW], f->raw, false);
    else
        sqlite3_bind_blob(st, at[FP_RAW], f->raw.p ? f->raw.p : "", (int)f->raw.n, SQLITE_STATIC);
    int64_t message_at = raw_is_text ? message_in_raw(f->message, f->raw) : -1;
    if (message_at >= 0) {
        bind_strv_at(st, at[FP_MESSAGE], strv_from_cstr(""), false);
        sqlite3_bind_int64(st, at[FP_MESSAGE_AT], message_at);
    } else {
        bind_strv_at(st, at[FP_MESSAGE], f->message, false);
        sqlite3_bind_null(st, at[FP_MESSAGE_AT]);
    }
    sqlite3_bind_int64(st, at[FP_EVENT_HASH], f->event_hash);
    sqlite3_bind_int64(st, at[FP_OCCURRENCE], f->occurrence);
    bind_strv_at(st, at[FP_GROUP_KEY], f->group_key, false);
    r = step_done(db, st, err, "cannot store finding");
    if (r < 0)
        return r;
    *ret_new = sqlite3_changes(db->h) > 0;
    return *ret_new ? wrote_row(db, err) : 0;
}

int db_mark_add(struct db *db, const struct db_mark *m, struct hl_err *err)
{
    int r = begin(db, err);
    if (r < 0)
        return r;
    sqlite3_stmt *st = db->st_mark_add;
    bind_text(st, ":rule_id", m->rule_id);
    bind_text(st, ":kind", m->kind);
    bind_int(st, ":source_id", m->source_id);
    bind_int(st, ":line", (int64_t)m->line);
    bind_text(st, ":ts", m->ts);
    if (m->ts)
        bind_int(st, ":ts_unix", m->second);
    bind_strv(st, ":host", m->host, true);
    bind_strv(st, ":group_key", m->group_key, false);
    bind_int(st, ":event_hash", m->event_hash);
    bind_int(st, ":occurrence", m->occurrence);
    r = step_done(db, st, err, "cannot store mark");
    return r ? r : wrote_row(db, err);
}

int db_incidents_dirty(struct db *db, const char *rule_id, struct strv host, struct strv key,
                       struct hl_err *err)
{
    int r = begin(db, err);
    if (r < 0)
        return r;
    sqlite3_stmt *st = db->st_dirty;
    bind_text(st, ":rule_id", rule_id);
    bind_strv(st, ":host", host.p ? host : strv_from_cstr(""), false);
    bind_strv(st, ":key", key.p ? key : strv_from_cstr(""), false);
    return step_done(db, st, err, "cannot mark incidents for a rebuild");
}

int db_scan_clock(struct db *db, const char *ts, struct hl_err *err)
{
    int r = begin(db, err);
    if (r < 0)
        return r;
    sqlite3_stmt *st = db->st_clock;
    bind_text(st, ":ts", ts);
    bind_int(st, ":id", db->scan_id);
    return step_done(db, st, err, "cannot record the log clock");
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
        { "scans", "started_at", DB_COL_TIME },
        { "scans", "finished_at", DB_COL_TIME },
        { "scans", "last_ts", DB_COL_TIME },
        { "sources", "mtime", DB_COL_TIME },
    };
    if (!table || !column)
        return DB_COL_OTHER;
    for (size_t i = 0; i < ARRAY_SIZE(cols); i++)
        if (sqlite3_stricmp(table, cols[i].table) == 0 &&
            sqlite3_stricmp(column, cols[i].column) == 0)
            return cols[i].kind;
    return DB_COL_OTHER;
}
