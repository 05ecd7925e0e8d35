/* Opening, migrating and writing the findings database. All SQL lives here and in
 * src/schema/; parameters are bound by name, never by position. */
#include "db.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "parse_time.h"
#include "utf8.h"

/* The numbered schema scripts, embedded at build time (tools/embed.c). Script i takes a
 * database from user_version i to i + 1. */
extern const char schema_001_core[];
extern const char schema_002_incidents[];
static const char *const migrations[] = { schema_001_core, schema_002_incidents };

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == DB_SCHEMA_VERSION,
               "one migration script per schema version");

static int db_fail(struct db *db, struct hl_err *err, const char *what)
{
    return hl_err_set(err, HL_EDB, db->path, "%s: %s", what,
                      db->h ? sqlite3_errmsg(db->h) : "no handle");
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
        int r = hl_err_set(err, HL_EDB, db->path, "%s", msg ? msg : sqlite3_errmsg(db->h));
        sqlite3_free(msg);
        return r;
    }
    return 0;
}

static int migrate(struct db *db, struct hl_err *err)
{
    sqlite3_stmt *st;
    int version = 0;
    if (sqlite3_prepare_v2(db->h, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return db_fail(db, err, "cannot read schema version");
    if (sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (version > DB_SCHEMA_VERSION)
        return hl_err_set(err, HL_EDB, db->path,
                          "database schema version %d is newer than this hsmlog understands (%d)",
                          version, DB_SCHEMA_VERSION);
    if (version == DB_SCHEMA_VERSION || db->readonly)
        return 0;
    /* One transaction for all steps: a crash mid-migration leaves the old schema intact. */
    int r = exec_sql(db, "BEGIN IMMEDIATE", err);
    for (int v = version; r == 0 && v < DB_SCHEMA_VERSION; v++)
        r = exec_sql(db, migrations[v], err);
    if (r == 0) {
        char sql[64];
        snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", DB_SCHEMA_VERSION);
        r = exec_sql(db, sql, err);
    }
    if (r == 0 && (r = exec_sql(db, "COMMIT", err)) == 0)
        db->migrated_from = version;
    if (r == 0)
        return 0;
    char *msg = NULL;
    sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, &msg);
    sqlite3_free(msg);
    return r;
}

static int prepare(struct db *db, sqlite3_stmt **st, const char *sql, struct hl_err *err)
{
    if (sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK)
        return db_fail(db, err, "cannot prepare statement");
    return 0;
}

static int prepare_all(struct db *db, struct hl_err *err)
{
    int r = exec_sql(db,
                     "CREATE TEMP TABLE IF NOT EXISTS seen ("
                     " event_hash INTEGER PRIMARY KEY, n INTEGER NOT NULL)",
                     err);
    if (r == 0)
        r = prepare(db, &db->st_scan_begin,
                    "INSERT INTO scans(started_at, command, version)"
                    " VALUES(:started_at, :command, :version)",
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
                    " truncated_lines = :truncated_lines, findings = :findings,"
                    " status = :status, error = :error WHERE id = :id",
                    err);
    if (r == 0)
        r = prepare(db, &db->st_rule_put,
                    "INSERT OR REPLACE INTO rules(id, severity, summary, remedy, refs, file)"
                    " VALUES(:id, :severity, :summary, :remedy, :refs, :file)",
                    err);
    if (r == 0)
        r = prepare(db, &db->st_seen,
                    "INSERT INTO seen(event_hash, n) VALUES(:hash, 1)"
                    " ON CONFLICT(event_hash) DO UPDATE SET n = n + 1 RETURNING n",
                    err);
    if (r == 0)
        r = prepare(db, &db->st_seen_put, "INSERT INTO seen(event_hash, n) VALUES(:hash, :n)", err);
    if (r == 0)
        r = prepare(db, &db->st_seen_reset, "DELETE FROM seen", err);
    if (r == 0)
        r = prepare(db, &db->st_finding_add,
                    "INSERT OR IGNORE INTO findings(source_id, line, ts, host, program, pid,"
                    " rule_id, severity, message, fields, raw, event_hash, occurrence, group_key)"
                    " VALUES(:source_id, :line, :ts, :host, :program, :pid, :rule_id,"
                    " :severity, :message, :fields, :raw, :event_hash, :occurrence, :group_key)",
                    err);
    if (r == 0)
        r = prepare(db, &db->st_mark_add,
                    "INSERT OR IGNORE INTO marks(rule_id, kind, source_id, line, ts, host,"
                    " group_key, event_hash, occurrence) VALUES(:rule_id, :kind, :source_id,"
                    " :line, :ts, :host, :group_key, :event_hash, :occurrence)",
                    err);
    if (r == 0)
        r = prepare(db, &db->st_dirty,
                    "INSERT OR IGNORE INTO incidents_dirty(rule_id, host) VALUES(:rule_id, :host)",
                    err);
    if (r == 0)
        r = prepare(db, &db->st_clock,
                    "UPDATE scans SET last_ts = :ts"
                    " WHERE id = :id AND (last_ts IS NULL OR last_ts < :ts)",
                    err);
    return r;
}

int db_open(struct db *db, const char *path, bool readonly, struct hl_err *err)
{
    memset(db, 0, sizeof(*db));
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
    /* Another scan (journalctl -f in one terminal, a query in another) may hold the lock. */
    sqlite3_busy_timeout(db->h, 10000);
    if (!readonly) {
        r = exec_sql(db,
                     "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
                     " PRAGMA foreign_keys = ON; PRAGMA temp_store = FILE",
                     err);
        if (r < 0)
            goto fail;
    } else if ((r = exec_sql(db, "PRAGMA query_only = ON", err)) < 0) {
        goto fail;
    }
    if ((r = migrate(db, err)) < 0)
        goto fail;
    if (!readonly && (r = prepare_all(db, err)) < 0)
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
    if (db->in_tx)
        return 0;
    int r = exec_sql(db, "BEGIN IMMEDIATE", err);
    if (r == 0) {
        db->in_tx = true;
        db->pending = 0;
    }
    return r;
}

int db_commit(struct db *db, struct hl_err *err)
{
    if (!db->in_tx)
        return 0;
    int r = exec_sql(db, "COMMIT", err);
    db->in_tx = false;
    db->pending = 0;
    return r;
}

/* Counts a written row; commits at the batch size. */
static int wrote_row(struct db *db, struct hl_err *err)
{
    if (++db->pending >= DB_BATCH_ROWS)
        return db_commit(db, err);
    return 0;
}

static int idx(sqlite3_stmt *st, const char *name)
{
    return sqlite3_bind_parameter_index(st, name);
}

static void bind_text(sqlite3_stmt *st, const char *name, const char *s)
{
    if (s)
        sqlite3_bind_text(st, idx(st, name), s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, idx(st, name));
}

/* Binds a slice; the statement is stepped before the slice's buffer can move, so the bytes
 * are not copied. An absent (empty) slice is NULL. */
static void bind_strv(sqlite3_stmt *st, const char *name, struct strv s, bool empty_is_null)
{
    if (s.n == 0 && empty_is_null)
        sqlite3_bind_null(st, idx(st, name));
    else
        sqlite3_bind_text(st, idx(st, name), s.p ? s.p : "", (int)s.n, SQLITE_STATIC);
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
        r = step_done(db, st, err, "cannot store rule");
    }
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
    r = step_done(db, st, err, "cannot record scan");
    if (r == 0)
        db->scan_id = sqlite3_last_insert_rowid(db->h);
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
    return r ? r : db_commit(db, err);
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

static int spill_one(void *ctx, uint64_t hash, uint64_t n)
{
    struct spill *sp = ctx;
    bind_int(sp->db->st_seen_put, ":hash", (int64_t)hash);
    bind_int(sp->db->st_seen_put, ":n", (int64_t)n);
    return step_done(sp->db, sp->db->st_seen_put, sp->err, "cannot count event");
}

/* The in-memory counter is full: move it into the temp table, which counts from now on. */
static int spill_seen(struct db *db, struct hl_err *err)
{
    struct spill sp = { db, err };
    int r = occur_each(&db->seen_mem, spill_one, &sp);
    occur_reset(&db->seen_mem);
    db->seen_spilled = r == 0;
    return r;
}

int db_occurrence(struct db *db, int64_t event_hash, int64_t *ret_n, struct hl_err *err)
{
    int r = begin(db, err);
    if (r < 0)
        return r;
    if (!db->seen_spilled) {
        uint64_t n;
        r = occur_add(&db->seen_mem, (uint64_t)event_hash, &n);
        if (r == 0) {
            *ret_n = (int64_t)n;
            return 0;
        }
        if (r < 0)
            return hl_err_set(err, r, db->path, "out of memory");
        if ((r = spill_seen(db, err)) < 0)
            return r;
    }
    sqlite3_stmt *st = db->st_seen;
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

int db_finding_add(struct db *db, const struct db_finding *f, bool *ret_new, struct hl_err *err)
{
    int r = begin(db, err);
    if (r < 0)
        return r;
    sqlite3_stmt *st = db->st_finding_add;
    bind_int(st, ":source_id", f->source_id);
    bind_int(st, ":line", (int64_t)f->line);
    bind_text(st, ":ts", f->ts);
    bind_strv(st, ":host", f->host, true);
    bind_strv(st, ":program", f->program, true);
    if (f->pid >= 0)
        bind_int(st, ":pid", f->pid);
    bind_text(st, ":rule_id", f->rule_id);
    bind_text(st, ":severity", f->severity);
    bind_strv(st, ":message", f->message, false);
    bind_strv(st, ":fields", f->fields, false);
    /* raw keeps the exact bytes: a line that is not valid UTF-8 is stored as a BLOB rather
     * than as TEXT that SQLite functions would misread. */
    if (utf8_is_clean(f->raw.p, f->raw.n))
        bind_strv(st, ":raw", f->raw, false);
    else
        sqlite3_bind_blob(st, idx(st, ":raw"), f->raw.p ? f->raw.p : "", (int)f->raw.n,
                          SQLITE_STATIC);
    bind_int(st, ":event_hash", f->event_hash);
    bind_int(st, ":occurrence", f->occurrence);
    bind_strv(st, ":group_key", f->group_key, false);
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
    bind_strv(st, ":host", m->host, true);
    bind_strv(st, ":group_key", m->group_key, false);
    bind_int(st, ":event_hash", m->event_hash);
    bind_int(st, ":occurrence", m->occurrence);
    r = step_done(db, st, err, "cannot store mark");
    return r ? r : wrote_row(db, err);
}

int db_incidents_dirty(struct db *db, const char *rule_id, struct strv host, struct hl_err *err)
{
    int r = begin(db, err);
    if (r < 0)
        return r;
    sqlite3_stmt *st = db->st_dirty;
    bind_text(st, ":rule_id", rule_id);
    bind_strv(st, ":host", host.p ? host : strv_from_cstr(""), false);
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
