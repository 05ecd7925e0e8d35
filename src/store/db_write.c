/* What a scan writes: the rules, its scans row, sources rows, occurrence counts, findings,
 * reset and expect marks, incident marks, appliance hosts and the log clock, batched into
 * transactions; and the appliance hosts it starts from. */
#include "db_impl.h"

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
#include "stmt.h"
#include "utf8.h"

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

static int prepare(struct db *db, struct stmt **st, const char *sql, struct hl_err *err)
{
    if (stmt_prepare_kept(db, sql, st) < 0)
        return db_fail(db, err, "cannot prepare statement");
    return 0;
}

/* The statements of db_put_rules() and of db_scan_begin()'s rule versions. */
static int prepare_rule_statements(struct db *db, struct hl_err *err)
{
    int r = prepare(db, &db->st_rule_put,
                    "INSERT OR REPLACE INTO rules(id, severity, summary, remedy, refs, file,"
                    " enabled, origin, overrides, pack_version, digest) VALUES(:id, :severity,"
                    " :summary, :remedy, :refs, :file, :enabled, :origin, :overrides,"
                    " :pack_version, :digest)",
                    err);
    if (r == 0)
        r = prepare(db, &db->st_rule_version_put,
                    "INSERT OR IGNORE INTO rule_versions(rule_id, digest, pack_version, severity,"
                    " summary, remedy, refs, enabled, origin, definition) VALUES(:id, :digest,"
                    " :pack_version, :severity, :summary, :remedy, :refs, :enabled, :origin,"
                    " :definition)",
                    err);
    if (r == 0)
        r = prepare(db, &db->st_pack_rule_put,
                    "INSERT OR IGNORE INTO pack_rules(pack_version, rule_id, digest)"
                    " VALUES(:pack_version, :id, :digest)",
                    err);
    if (r == 0)
        r = prepare(db, &db->st_rules_first_scan,
                    "UPDATE rule_versions SET first_scan_id = :scan_id WHERE first_scan_id IS NULL"
                    " AND (rule_id, digest) IN"
                    " (SELECT rule_id, digest FROM pack_rules WHERE pack_version = :pack_version)",
                    err);
    return r;
}

int db_write_prepare(struct db *db, struct hl_err *err)
{
    int r = prepare(db, &db->st_scan_begin,
                    "INSERT INTO scans(started_at, command, version, pid, pid_start, boot_id,"
                    " hostname, rules_version) VALUES(:started_at, :command, :version, :pid,"
                    " :pid_start, :boot_id, :hostname, :rules_version)",
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
        r = prepare_rule_statements(db, err);
    if (r == 0)
        r = prepare(db, &db->st_finding_add,
                    "INSERT OR IGNORE INTO finding_rows(source_id, line, ts, host, program, pid,"
                    " rule_id, severity, message, fields, raw, event_hash, occurrence, group_key,"
                    " message_at, ts_unix) VALUES(:source_id, :line, :ts, :host, :program, :pid,"
                    " :rule_id, :severity, :message, :fields, :raw, :event_hash, :occurrence,"
                    " :group_key, :message_at, :ts_unix)",
                    err);
    for (size_t i = 0; r == 0 && i < DB_FINDING_PARAMS; i++)
        db->finding_param[i] = stmt_param(db->st_finding_add, finding_params[i]);
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
        r = prepare(db, &db->st_appliance_add,
                    "INSERT OR IGNORE INTO appliance_hosts(host, source_id, line)"
                    " VALUES(:host, nullif(:source_id, 0), nullif(:line, 0))",
                    err);
    if (r == 0)
        r = prepare(db, &db->st_wait_add,
                    "INSERT INTO appliance_waits(finding_id, host) SELECT :id, :host"
                    " WHERE NOT EXISTS (SELECT 1 FROM appliance_hosts WHERE host = :host)",
                    err);
    if (r == 0)
        r = prepare(db, &db->st_dirty_waiting,
                    "INSERT OR IGNORE INTO incidents_dirty(rule_id, host, key)"
                    " SELECT DISTINCT f.rule_id, f.host, '' FROM appliance_waits AS w"
                    " JOIN finding_rows AS f ON f.id = w.finding_id WHERE w.host = :host",
                    err);
    if (r == 0)
        r = prepare(db, &db->st_waits_end, "DELETE FROM appliance_waits WHERE host = :host", err);
    if (r == 0)
        r = prepare(db, &db->st_clock,
                    "UPDATE scans SET last_ts = :ts"
                    " WHERE id = :id AND (last_ts IS NULL OR last_ts < :ts)",
                    err);
    return r;
}

void db_write_release(struct db *db)
{
    struct stmt **all[] = { &db->st_scan_begin,    &db->st_scan_end,
                            &db->st_source_add,    &db->st_source_end,
                            &db->st_rule_put,      &db->st_rule_version_put,
                            &db->st_pack_rule_put, &db->st_rules_first_scan,
                            &db->st_finding_add,   &db->st_mark_add,
                            &db->st_dirty,         &db->st_clock,
                            &db->st_appliance_add, &db->st_wait_add,
                            &db->st_dirty_waiting, &db->st_waits_end };
    for (size_t i = 0; i < ARRAY_SIZE(all); i++) {
        stmt_finalize(*all[i]);
        *all[i] = NULL;
    }
}

/* Counts a written row. The commit itself waits for db_tick() between lines: committing here
 * could store a finding without the incident mark written right after it. */
static int db_wrote_row(struct db *db, struct hl_err *err)
{
    (void)err;
    if (++db->pending >= DB_BATCH_ROWS)
        db->commit_due = true;
    return 0;
}

static int idx(struct stmt *st, const char *name)
{
    return stmt_param(st, name);
}

/* Each bind_* takes the parameter's name; bind_*_at its index, for a statement whose indexes
 * were looked up once. */
static void db_bind_text_at(struct stmt *st, int i, const char *s)
{
    stmt_bind_text(st, i, s);
}

void db_bind_text(struct stmt *st, const char *name, const char *s)
{
    db_bind_text_at(st, idx(st, name), s);
}

/* Binds a slice; the statement is stepped before the slice's buffer can move, so the bytes
 * are not copied. An absent (empty) slice is NULL. */
static void db_bind_strv_at(struct stmt *st, int i, struct strv s, bool empty_is_null)
{
    if (s.n == 0 && empty_is_null)
        stmt_bind_null(st, i);
    else
        stmt_bind_strv(st, i, strv_make(s.p ? s.p : "", s.n));
}

static void db_bind_strv(struct stmt *st, const char *name, struct strv s, bool empty_is_null)
{
    db_bind_strv_at(st, idx(st, name), s, empty_is_null);
}

static void db_bind_int(struct stmt *st, const char *name, int64_t v)
{
    stmt_bind_int(st, idx(st, name), v);
}

/* Steps a write statement to completion and resets it. */
static int db_step_done(struct db *db, struct stmt *st, struct hl_err *err, const char *what)
{
    int rc = stmt_step(st);
    int r = rc == STMT_DONE || rc == STMT_ROW ? 0 : db_fail(db, err, what);
    stmt_reset(st);
    stmt_clear(st);
    return r;
}

static void db_now_iso(char out[PARSE_TIME_ISO_LEN])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    parse_time_format((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000, out);
}

/* Binds what the rules row and the rule_versions row of rule share. */
static void bind_rule(struct stmt *st, const struct ruleset *rs, const struct rule *rule,
                      const char *origin)
{
    db_bind_text(st, ":id", rule->id);
    db_bind_text(st, ":severity", severity_name(rule->severity));
    db_bind_text(st, ":summary", rule->summary);
    db_bind_text(st, ":remedy", rule->remedy);
    db_bind_text(st, ":refs", rule->refs);
    db_bind_int(st, ":enabled", !rule->disabled);
    db_bind_text(st, ":origin", origin);
    db_bind_text(st, ":pack_version", rs->version);
    db_bind_text(st, ":digest", rule->digest[0] ? rule->digest : NULL);
}

/* Stores rule in rules and, when it has a definition, in rule_versions and pack_rules. */
static int put_rule(struct db *db, const struct ruleset *rs, const struct rule *rule,
                    struct hl_err *err)
{
    char *origin = rule_origin(rule);
    if (!origin)
        return hl_err_set(err, HL_ENOMEM, db->path, "out of memory");
    struct stmt *st = db->st_rule_put;
    bind_rule(st, rs, rule, origin);
    db_bind_text(st, ":file", rule->file);
    db_bind_text(st, ":overrides", rule->overrides);
    int r = db_step_done(db, st, err, "cannot store rule");
    /* Once per definition: a definition stored before keeps its first pack and origin. */
    if (r == 0 && rs->version && rule->definition) {
        st = db->st_rule_version_put;
        bind_rule(st, rs, rule, origin);
        db_bind_text(st, ":definition", rule->definition);
        r = db_step_done(db, st, err, "cannot store rule version");
    }
    if (r == 0 && rs->version && rule->definition) {
        st = db->st_pack_rule_put;
        db_bind_text(st, ":pack_version", rs->version);
        db_bind_text(st, ":id", rule->id);
        db_bind_text(st, ":digest", rule->digest);
        r = db_step_done(db, st, err, "cannot store rule version");
    }
    free(origin);
    return r;
}

int db_put_rules(struct db *db, const struct ruleset *rs, struct hl_err *err)
{
    int r = db_begin(db, err);
    for (size_t i = 0; r == 0 && i < rs->n; i++)
        if (rule_is_public(&rs->rules[i]))
            r = put_rule(db, rs, &rs->rules[i], err);
    if (r == 0)
        snprintf(db->rules_version, sizeof(db->rules_version), "%s",
                 rs->version ? rs->version : "");
    return r;
}

int db_scan_begin(struct db *db, const char *command, struct hl_err *err)
{
    char now[PARSE_TIME_ISO_LEN];
    db_now_iso(now);
    int r = db_begin(db, err);
    if (r < 0)
        return r;
    struct stmt *st = db->st_scan_begin;
    db_bind_text(st, ":started_at", now);
    db_bind_text(st, ":command", command);
    db_bind_text(st, ":version", HSMLOG_VERSION);
    /* Who runs it: what db_mark_dead_scans() of a later writer judges it by. */
    struct proc_ident self;
    (void)proc_self(&self);
    db_bind_int(st, ":pid", self.pid);
    if (self.start >= 0)
        db_bind_int(st, ":pid_start", self.start);
    if (self.boot_id[0])
        db_bind_text(st, ":boot_id", self.boot_id);
    if (self.host[0])
        db_bind_text(st, ":hostname", self.host);
    if (db->rules_version[0])
        db_bind_text(st, ":rules_version", db->rules_version);
    r = db_step_done(db, st, err, "cannot record scan");
    if (r == 0)
        db->scan_id = db_last_id(db);
    if (r == 0 && db->rules_version[0]) {
        st = db->st_rules_first_scan;
        db_bind_int(st, ":scan_id", db->scan_id);
        db_bind_text(st, ":pack_version", db->rules_version);
        r = db_step_done(db, st, err, "cannot record scan");
    }
    if (r == 0)
        r = db_defer_indexes(db, err);
    /* Commit at once: a scan that crashes later still shows up as 'running' in history. */
    return r ? r : db_commit(db, err);
}

int db_scan_end(struct db *db, uint64_t lines, uint64_t findings, const char *status,
                struct hl_err *err)
{
    char now[PARSE_TIME_ISO_LEN];
    db_now_iso(now);
    int r = db_begin(db, err);
    if (r < 0)
        return r;
    struct stmt *st = db->st_scan_end;
    db_bind_text(st, ":finished_at", now);
    db_bind_int(st, ":lines", (int64_t)lines);
    db_bind_int(st, ":findings", (int64_t)findings);
    db_bind_text(st, ":status", status);
    db_bind_int(st, ":id", db->scan_id);
    r = db_step_done(db, st, err, "cannot finish scan record");
    if (r == 0)
        r = db_commit(db, err);
    /* After a failed incident update, or one that never ran. */
    return r ? r : db_restore_all_indexes(db, err);
}

int db_source_add(struct db *db, const struct db_source *s, int64_t *ret_id, struct hl_err *err)
{
    int r = db_begin(db, err);
    if (r < 0)
        return r;
    struct stmt *st = db->st_source_add;
    db_bind_int(st, ":scan_id", db->scan_id);
    if (s->parent_id > 0)
        db_bind_int(st, ":parent_id", s->parent_id);
    db_bind_text(st, ":path", s->path);
    db_bind_text(st, ":kind", s->kind);
    if (s->size >= 0)
        db_bind_int(st, ":size", s->size);
    char mtime[PARSE_TIME_ISO_LEN];
    if (s->mtime >= 0) {
        parse_time_format(s->mtime * 1000000, mtime);
        db_bind_text(st, ":mtime", mtime);
    }
    db_bind_text(st, ":status", s->status);
    r = db_step_done(db, st, err, "cannot record source");
    if (r == 0)
        *ret_id = db_last_id(db);
    return r ? r : db_wrote_row(db, err);
}

int db_source_end(struct db *db, int64_t id, const struct db_source *s, struct hl_err *err)
{
    int r = db_begin(db, err);
    if (r < 0)
        return r;
    struct stmt *st = db->st_source_end;
    db_bind_text(st, ":kind", s->kind);
    db_bind_int(st, ":bytes", (int64_t)s->bytes);
    db_bind_int(st, ":lines", (int64_t)s->lines);
    db_bind_int(st, ":truncated_lines", (int64_t)s->truncated_lines);
    db_bind_int(st, ":bad_time_lines", (int64_t)s->bad_time_lines);
    db_bind_int(st, ":findings", (int64_t)s->findings);
    db_bind_text(st, ":status", s->status);
    db_bind_text(st, ":error", s->error);
    db_bind_int(st, ":id", id);
    r = db_step_done(db, st, err, "cannot update source");
    return r ? r : db_wrote_row(db, err);
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
    int r = db_begin(db, err);
    if (r < 0)
        return r;
    struct stmt *st = db->st_finding_add;
    const int *at = db->finding_param;
    stmt_bind_int(st, at[FP_SOURCE_ID], f->source_id);
    stmt_bind_int(st, at[FP_LINE], (int64_t)f->line);
    db_bind_text_at(st, at[FP_TS], f->ts);
    if (f->ts)
        stmt_bind_int(st, at[FP_TS_UNIX], f->second);
    db_bind_strv_at(st, at[FP_HOST], f->host, true);
    db_bind_strv_at(st, at[FP_PROGRAM], f->program, true);
    if (f->pid >= 0)
        stmt_bind_int(st, at[FP_PID], f->pid);
    db_bind_text_at(st, at[FP_RULE_ID], f->rule_id);
    db_bind_text_at(st, at[FP_SEVERITY], f->severity);
    db_bind_strv_at(st, at[FP_FIELDS], f->fields, false);
    /* raw keeps the exact bytes: a line that is not valid UTF-8 is stored as a BLOB rather
     * than as TEXT that SQLite functions would misread. */
    bool raw_is_text = utf8_is_clean(f->raw.p, f->raw.n);
    if (raw_is_text)
        db_bind_strv_at(st, at[FP_RAW], f->raw, false);
    else
        stmt_bind_blob(st, at[FP_RAW], f->raw.p ? f->raw.p : "", f->raw.n);
    int64_t message_at = raw_is_text ? message_in_raw(f->message, f->raw) : -1;
    if (message_at >= 0) {
        db_bind_strv_at(st, at[FP_MESSAGE], strv_from_cstr(""), false);
        stmt_bind_int(st, at[FP_MESSAGE_AT], message_at);
    } else {
        db_bind_strv_at(st, at[FP_MESSAGE], f->message, false);
        stmt_bind_null(st, at[FP_MESSAGE_AT]);
    }
    stmt_bind_int(st, at[FP_EVENT_HASH], f->event_hash);
    stmt_bind_int(st, at[FP_OCCURRENCE], f->occurrence);
    db_bind_strv_at(st, at[FP_GROUP_KEY], f->group_key, false);
    r = db_step_done(db, st, err, "cannot store finding");
    if (r < 0)
        return r;
    *ret_new = db_changes(db) > 0;
    if (*ret_new && f->needs_appliance) {
        /* A stored row waits already, or was shown: only a new one can start waiting. */
        st = db->st_wait_add;
        db_bind_int(st, ":id", db_last_id(db));
        db_bind_strv(st, ":host", f->host, false);
        if ((r = db_step_done(db, st, err, "cannot store finding")) < 0)
            return r;
    }
    return *ret_new ? db_wrote_row(db, err) : 0;
}

int db_mark_add(struct db *db, const struct db_mark *m, struct hl_err *err)
{
    int r = db_begin(db, err);
    if (r < 0)
        return r;
    struct stmt *st = db->st_mark_add;
    db_bind_text(st, ":rule_id", m->rule_id);
    db_bind_text(st, ":kind", m->kind);
    db_bind_int(st, ":source_id", m->source_id);
    db_bind_int(st, ":line", (int64_t)m->line);
    db_bind_text(st, ":ts", m->ts);
    if (m->ts)
        db_bind_int(st, ":ts_unix", m->second);
    db_bind_strv(st, ":host", m->host, true);
    db_bind_strv(st, ":group_key", m->group_key, false);
    db_bind_int(st, ":event_hash", m->event_hash);
    db_bind_int(st, ":occurrence", m->occurrence);
    r = db_step_done(db, st, err, "cannot store mark");
    return r ? r : db_wrote_row(db, err);
}

int db_incidents_dirty(struct db *db, const char *rule_id, struct strv host, struct strv key,
                       struct hl_err *err)
{
    int r = db_begin(db, err);
    if (r < 0)
        return r;
    struct stmt *st = db->st_dirty;
    db_bind_text(st, ":rule_id", rule_id);
    db_bind_strv(st, ":host", host.p ? host : strv_from_cstr(""), false);
    db_bind_strv(st, ":key", key.p ? key : strv_from_cstr(""), false);
    return db_step_done(db, st, err, "cannot mark incidents for a rebuild");
}

int db_appliance_host_add(struct db *db, struct strv host, int64_t source_id, uint64_t line,
                          bool *ret_new, struct hl_err *err)
{
    *ret_new = false;
    if (!host.n)
        return 0;
    int r = db_begin(db, err);
    if (r < 0)
        return r;
    struct stmt *st = db->st_appliance_add;
    db_bind_strv(st, ":host", host, false);
    db_bind_int(st, ":source_id", source_id);
    db_bind_int(st, ":line", (int64_t)line);
    if ((r = db_step_done(db, st, err, "cannot store an appliance host")) < 0)
        return r;
    *ret_new = db_changes(db) > 0;
    return *ret_new ? db_wrote_row(db, err) : 0;
}

int db_incidents_dirty_waiting(struct db *db, struct strv host, struct hl_err *err)
{
    int r = db_begin(db, err);
    if (r < 0)
        return r;
    struct stmt *st = db->st_dirty_waiting;
    db_bind_strv(st, ":host", host, false);
    return db_step_done(db, st, err, "cannot mark incidents for a rebuild");
}

int db_appliance_waits_end(struct db *db, struct strv host, struct hl_err *err)
{
    int r = db_begin(db, err);
    if (r < 0)
        return r;
    struct stmt *st = db->st_waits_end;
    db_bind_strv(st, ":host", host, false);
    return db_step_done(db, st, err, "cannot show the findings of an appliance host");
}

int db_appliance_hosts(struct db *db, db_host_fn *fn, void *ctx, struct hl_err *err)
{
    struct stmt *st = NULL;
    if (stmt_prepare(db, "SELECT host FROM appliance_hosts", &st) < 0)
        return db_fail(db, err, "cannot read the appliance hosts");
    int rc;
    while ((rc = stmt_step(st)) == STMT_ROW) {
        const char *host = stmt_text(st, 0);
        if (host)
            fn(ctx, strv_from_cstr(host));
    }
    int r = rc == STMT_DONE ? 0 : db_fail(db, err, "cannot read the appliance hosts");
    stmt_finalize(st);
    return r;
}

int db_scan_clock(struct db *db, const char *ts, struct hl_err *err)
{
    int r = db_begin(db, err);
    if (r < 0)
        return r;
    struct stmt *st = db->st_clock;
    db_bind_text(st, ":ts", ts);
    db_bind_int(st, ":id", db->scan_id);
    return db_step_done(db, st, err, "cannot record the log clock");
}

/* Marks 'dead' the scans rows still 'running' whose process is gone (proc_judge(): only rows
 * of this host are judged, see docs/SCHEMA.md), and their sources rows left 'reading'. A
 * scan killed by SIGKILL, the OOM killer or a crash cannot finish its own row; the next
 * writer does, so that 'running' means running. Counts them in db->dead_scans. */
int db_mark_dead_scans(struct db *db, struct hl_err *err)
{
    struct proc_ident self;
    if (proc_self(&self) < 0 || !self.host[0])
        return 0; /* no /proc: nothing can be judged */
    struct stmt *st = NULL;
    if (stmt_prepare(db,
                     "SELECT id, pid, pid_start, boot_id FROM scans"
                     " WHERE status = 'running' AND hostname = ?1 AND pid IS NOT NULL"
                     " AND pid_start IS NOT NULL",
                     &st) < 0)
        return db_fail(db, err, "cannot read the scans");
    stmt_bind_text(st, 1, self.host);
    int64_t dead[64];
    size_t n = 0;
    int rc = STMT_DONE;
    /* At most 64 a time: the next writer marks the rest. */
    while (n < ARRAY_SIZE(dead) && (rc = stmt_step(st)) == STMT_ROW) {
        struct proc_ident other = {
            .pid = stmt_int(st, 1),
            .start = stmt_int(st, 2),
        };
        const char *boot = stmt_text(st, 3);
        snprintf(other.boot_id, sizeof(other.boot_id), "%s", boot ? boot : "");
        snprintf(other.host, sizeof(other.host), "%s", self.host);
        if (proc_judge(&self, &other) == PROC_GONE)
            dead[n++] = stmt_int(st, 0);
    }
    if (n < ARRAY_SIZE(dead) && rc != STMT_DONE) {
        stmt_finalize(st);
        return db_fail(db, err, "cannot read the scans");
    }
    stmt_finalize(st);
    if (n == 0)
        return 0;
    int r = db_begin(db, err);
    /* 'running' in the WHERE: a scan that finished meanwhile keeps its own status. */
    for (size_t i = 0; r == 0 && i < n; i++) {
        /* The findings it committed are kept: the rows count them, as a finished scan's do
         * (the findings view: not those that wait for their appliance host). */
        char sql[640];
        long long id = (long long)dead[i];
        snprintf(sql, sizeof(sql),
                 "UPDATE sources SET status = 'dead', error = 'the scan ended before this"
                 " source was read in full (its process is gone)', findings = (SELECT count(*)"
                 " FROM findings f WHERE f.source_id = sources.id) WHERE scan_id = %lld AND"
                 " status = 'reading' AND EXISTS (SELECT 1 FROM scans WHERE id = %lld AND"
                 " status = 'running'); UPDATE scans SET status = 'dead', findings = (SELECT"
                 " count(*) FROM findings WHERE source_id IN (SELECT id FROM sources WHERE"
                 " scan_id = %lld)) WHERE id = %lld AND status = 'running'",
                 id, id, id, id);
        if ((r = db_run(db, sql)) < 0)
            r = hl_err_set(err, HL_EDB, db->path, "%s", db_errmsg(db));
        else
            db->dead_scans += (unsigned)db_changes(db);
    }
    if (r == 0)
        return db_commit(db, err);
    db_rollback(db);
    db->dead_scans = 0;
    return r;
}
