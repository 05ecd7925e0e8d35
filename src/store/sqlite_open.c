/* The SQLite engine (struct engine): opening a file, WAL, migrating its schema, waiting for
 * other writers' locks, and transactions. Its statements are sqlite_stmt.c, its read-only
 * guard sqlite_guard.c, its deferred indexes sqlite_index.c. */
#include "sqlite_impl.h"

#include <errno.h>
#include <fcntl.h>
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
extern const char schema_013_appliance_hosts[];
extern const char schema_014_rule_versions[];
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
                                          schema_012_rule_tuning,
                                          schema_013_appliance_hosts,
                                          schema_014_rule_versions };

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == DB_SCHEMA_VERSION,
               "one migration script per schema version");

/* Busy handler: short, jittered polls instead of sqlite3_busy_timeout()'s backoff to 100 ms
 * sleeps, so a waiting scan notices the brief moments another scan's lock is free. */
static int busy_wait(void *ctx, int count)
{
    struct db *db = ctx;
    int64_t now = db_now_ms();
    if (count == 0)
        db->busy_since_ms = now;
    if (now - db->busy_since_ms >= DB_BUSY_TIMEOUT_MS)
        return 0;
    db_nap(db, 1, 3);
    return 1;
}

static bool is_busy(int rc)
{
    return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
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

int sqlite_exec(struct db *db, const char *sql, struct hl_err *err)
{
    char *msg = NULL;
    if (sqlite3_exec(db->h, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int r = hl_err_set(err, HL_EDB, db->path, "%s", msg ? msg : sqlite_errmsg(db));
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
    int64_t start = db_now_ms();
    unsigned delay = 1;
    for (;;) {
        int rc = sqlite3_exec(db->h, sql, NULL, NULL, NULL);
        if (rc == SQLITE_OK)
            return 0;
        if (!is_busy(rc) || db_now_ms() - start >= DB_BUSY_TIMEOUT_MS)
            return hl_err_set(err, HL_EDB, db->path, "%s: %s",
                              strncmp(sql, "COMMIT", 6) == 0 ? "cannot commit" : "cannot begin",
                              sqlite_errmsg(db));
        db_nap(db, delay, 2 * delay);
        if (delay < 64)
            delay *= 2;
    }
}

/* Switches to WAL. On a new, empty file several processes race to write its first page; the
 * loser gets SQLITE_BUSY, or "delete" back when the change could not be made, and retries. */
static int set_wal(struct db *db, struct hl_err *err)
{
    int64_t start = db_now_ms();
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
        if (db_now_ms() - start >= DB_BUSY_TIMEOUT_MS)
            return hl_err_set(err, HL_EDB, db->path,
                              "cannot switch the database to WAL mode: another process holds it");
        db_nap(db, delay, 2 * delay);
        if (delay < 64)
            delay *= 2;
    }
}

/* Sets *ret to the first column of sql's first row. Returns 0, or a negative hl_code saying
 * what could not be read. */
int sqlite_query_int(struct db *db, const char *sql, const char *what, int *ret, struct hl_err *err)
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
    int r = sqlite_query_int(db, "PRAGMA user_version", "cannot read schema version", ret_version,
                             err);
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
        r = sqlite_exec(db, migrations[v], err);
    if (r == 0 && version < DB_SCHEMA_VERSION) {
        char sql[64];
        snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", DB_SCHEMA_VERSION);
        r = sqlite_exec(db, sql, err);
    }
    if (r == 0 && (r = exec_retry(db, "COMMIT", err)) == 0)
        db->migrated_from = version < DB_SCHEMA_VERSION ? version : 0;
    if (r == 0)
        return 0;
    if (!sqlite3_get_autocommit(db->h))
        sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
    return r;
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

/* SQLite words a directory that takes no new file badly: a database it could not create is
 * CANTOPEN with the errno of its last try, a read-only open of the missing file (ENOENT), and
 * one whose -wal and -shm files it could not create (wal) is "attempt to write a readonly
 * database". So after either, the directory is asked (with the effective ids, as open(2)
 * does; root passes unless the file system is read-only). Returns the error set from its
 * answer, or 0 when the directory may be written and SQLite's words stand. */
static int dir_error(struct db *db, bool wal, struct hl_err *err)
{
    switch (sqlite3_extended_errcode(db->h) & 0xff) {
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
        break;
    default:
        return 0;
    }
    const char *slash = strrchr(db->path, '/');
    char *dir = !slash              ? strdup(".")
                : slash == db->path ? strdup("/")
                                    : strndup(db->path, (size_t)(slash - db->path));
    if (!dir)
        return 0;
    int r = 0;
    if (faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) < 0) {
        int saved = errno;
        struct stat st;
        const char *what = wal ? "cannot write the database: its -wal and -shm files cannot be made"
                           : stat(db->path, &st) < 0 && errno == ENOENT
                                   ? "cannot create the database"
                                   : "cannot open the database";
        errno = saved;
        r = hl_err_errno(err, HL_EDB, db->path, "%s in '%s'", what, dir);
    }
    free(dir);
    return r;
}

static int open_file(struct db *db, db_upgrading_fn *upgrading, struct hl_err *err)
{
    const char *path = db->path;
    bool readonly = db->readonly;
    int r;
    if (readonly) {
        if (access(path, F_OK) < 0) {
            r = hl_err_errno(err, HL_EDB, path, "cannot open database (run 'hsmlog scan' first)");
            return r;
        }
    } else if ((r = make_parent_dirs(path, err)) < 0) {
        return r;
    }
    int flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    if (sqlite3_open_v2(path, &db->h, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        if (readonly || (r = dir_error(db, false, err)) == 0)
            r = db_fail(db, err, "cannot open database");
        return r;
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
            return r;
        }
        /* Takes effect only on a database (and temp database) not yet created. */
        char page_size[96];
        snprintf(page_size, sizeof(page_size), "PRAGMA page_size = %u; PRAGMA temp.page_size = %u",
                 DB_PAGE_SIZE, DB_PAGE_SIZE);
        if ((r = sqlite_exec(db, page_size, err)) < 0)
            return r;
        if ((r = set_wal(db, err)) < 0) {
            int d = dir_error(db, true, err);
            return d < 0 ? d : r;
        }
        r = sqlite_exec(db,
                        "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;"
                        " PRAGMA temp_store = FILE",
                        err);
        if (r < 0)
            return r;
    } else if ((r = sqlite_exec(db, "PRAGMA query_only = ON", err)) < 0) {
        return r;
    }
    r = migrate(db, upgrading, err);
    if (r < 0 && readonly && roll_back_hot_journal(db) == 0)
        r = migrate(db, upgrading, err);
    if (r < 0 && readonly && reopen_immutable(db) == 0) {
        sqlite3_busy_handler(db->h, busy_wait, db);
        r = sqlite_exec(db, "PRAGMA query_only = ON", err);
        if (r == 0)
            r = read_version(db, &(int){ 0 }, err);
    }
    if (r < 0)
        return r;
    /* A scan that was killed before it built them again. */
    if (!readonly && (r = sqlite_restore_all_indexes(db, err)) < 0)
        return r;
    if (readonly && (r = sqlite_guard_install(db, err)) < 0)
        return r;
    return 0;
}

static void close_file(struct db *db)
{
    if (db->h)
        sqlite3_close(db->h);
    db->h = NULL;
}

static int begin(struct db *db, struct hl_err *err)
{
    return exec_retry(db, "BEGIN IMMEDIATE", err);
}

static void rollback(struct db *db)
{
    if (!sqlite3_get_autocommit(db->h))
        sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
}

static int commit(struct db *db, struct hl_err *err)
{
    int r = exec_retry(db, "COMMIT", err);
    /* A failed COMMIT (disk full) may leave the transaction open and the write lock held. */
    if (r < 0)
        rollback(db);
    return r;
}

/* Foreign-key enforcement off: with it, every multi-row UPDATE and DELETE keeps a statement
 * journal. */
static int bulk_begin(struct db *db)
{
    return sqlite3_exec(db->h, "PRAGMA foreign_keys = OFF; BEGIN IMMEDIATE", NULL, NULL, NULL) ==
                           SQLITE_OK
                   ? 0
                   : HL_EDB;
}

static void bulk_end(struct db *db)
{
    rollback(db);
    sqlite3_exec(db->h, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
}

const struct engine engine_sqlite = {
    .name = "sqlite",
    .open = open_file,
    .close = close_file,
    .begin = begin,
    .commit = commit,
    .rollback = rollback,
    .in_tx = sqlite_in_tx,
    .bulk_begin = bulk_begin,
    .bulk_end = bulk_end,
    .prepare = sqlite_prepare,
    .prepare_query = sqlite_prepare_query,
    .run = sqlite_run,
    .errmsg = sqlite_errmsg,
    .changes = sqlite_changes,
    .last_id = sqlite_last_id,
    .define_function = sqlite_define_function,
    .defer_indexes = sqlite_defer_indexes,
    .restore_indexes = sqlite_restore_indexes,
    .restore_all_indexes = sqlite_restore_all_indexes,
    .cache_shrink = sqlite_cache_shrink,
    .cache_restore = sqlite_cache_restore,
};
