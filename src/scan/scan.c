/* The pipeline owner. For each input: open, stack layers, split lines, parse, match, store.
 * Per-line work is parse_line() plus the rule prefilters; everything a finding needs beyond
 * that (Luna fields, JSON, the event hash, UTF-8 cleaning) is done only for matched lines. */
#include "scan.h"
#include "scan_impl.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "clock.h"
#include "event_id.h"
#include "handoff.h"
#include "incident.h"
#include "incident_mark.h"
#include "json.h"
#include "lines.h"
#include "parse.h"
#include "parse_time.h"
#include "records.h"
#include "scan_carry.h"
#include "source.h"
#include "source_archive.h"
#include "utf8.h"

static rule_limit_fn on_rule_limit;

static void remember_host(void *ctx, struct strv host)
{
    HL_IGNORE(appliance_hosts_add(ctx, host));
}

int scan_init(struct scan *sc, const struct scan_options *opt, const struct ruleset *rs,
              struct db *db, const struct scan_sink *sink, volatile sig_atomic_t *stop,
              struct hl_err *err)
{
    memset(sc, 0, sizeof(*sc));
    sc->opt = *opt;
    if (!sc->opt.max_depth)
        sc->opt.max_depth = SCAN_DEFAULT_MAX_DEPTH;
    if (!sc->opt.limits.max_size)
        sc->opt.limits.max_size = DECOMP_DEFAULT_MAX_SIZE;
    if (!sc->opt.limits.max_ratio)
        sc->opt.limits.max_ratio = DECOMP_DEFAULT_MAX_RATIO;
    if (!sc->opt.limits.ratio_floor)
        sc->opt.limits.ratio_floor = DECOMP_DEFAULT_RATIO_FLOOR;
    if (!sc->opt.limits.max_members)
        sc->opt.limits.max_members = DECOMP_DEFAULT_MAX_MEMBERS;
    sc->rs = rs;
    sc->db = db;
    incident_marks_init(&sc->marks, db, rs);
    occurrences_init(&sc->occurrences, db);
    if (sink)
        sc->sink = *sink;
    sc->stop = stop;
    buf_init(&sc->fields, 1u << 20);
    buf_init(&sc->message, 64u << 20);
    buf_init(&sc->key, 1u << 20);
    sc->max_ts_us = INT64_MIN;
    sc->clock_at_update_us = INT64_MIN;
    /* Follow mode looks at the clock every line (a live stream is slow); a progress line
     * needs a look now and then. */
    sc->tick_lines = sc->opt.follow ? 1 : sc->sink.tick ? 256 : 0;
    sc->lines_to_tick = sc->tick_lines;
    sc->committed_ns = clock_mono_ns();
    carry_init(&sc->carry, rs);
    buf_init(&sc->held, SCAN_HELD_MAX);
    int r = matcher_init(&sc->matcher, rs, err);
    /* matcher_match() tells it with the line's context. */
    sc->matcher.on_limit = on_rule_limit;
    /* Hosts earlier scans knew: their reboot lines need not wait for another NTLS line. */
    if (r == 0 && db)
        r = db_appliance_hosts(db, remember_host, &sc->appliances, err);
    return r;
}

void scan_release(struct scan *sc)
{
    handoff_stop(sc->writer);
    sc->writer = NULL;
    matcher_release(&sc->matcher);
    buf_release(&sc->fields);
    buf_release(&sc->message);
    buf_release(&sc->key);
    buf_release(&sc->held); /* findings whose host never turned out an appliance */
    carry_release(&sc->carry);
    occurrences_release(&sc->occurrences);
}

bool scan_stopping(const struct scan *sc)
{
    return sc->stop && *sc->stop;
}

void scan_report_problem(struct scan *sc, const struct hl_err *err, bool skipped)
{
    if (skipped)
        sc->skipped++;
    else
        sc->incomplete++;
    if (sc->sink.problem)
        sc->sink.problem(sc->sink.ctx, err, skipped);
}

/* ---- per-line matching ------------------------------------------------------------------ */

/* State shared by the hits of one line and the lines of one source. */
struct line_ctx {
    struct scan *sc;
    const char *label; /* borrowed: source label */
    int64_t source_id; /* sources.id, 0 without a database */
    uint64_t line_no;
    bool have_ts_text; /* ts_text is computed for this line */
    char ts_text[PARSE_TIME_ISO_LEN];
    bool hashed;        /* hash is computed for this line (its first hit) */
    int64_t hash;       /* event hash of this line */
    struct hl_err *err; /* run-level failure detail */
};

/* Adds the carried fields rule asks for and the line lacks. */
static void carry_fill(struct scan *sc, const struct rule *rule, const struct record *rec,
                       struct field_set *fs)
{
    const struct carry_slot *slot = carry_lookup(&sc->carry, rec);
    for (size_t i = 0; slot && i < rule->inc.n_carry && fs->n < ARRAY_SIZE(fs->v); i++) {
        const char *name = rule->inc.carry[i];
        if (scan_has_field(fs, fs->n, name))
            continue;
        const char *v = strcmp(name, "client_ip") == 0 ? slot->ip : slot->port;
        if (*v)
            fs->v[fs->n++] = (struct rule_capture){ name, strv_from_cstr(v) };
    }
}

int scan_update_incidents(struct scan *sc, struct hl_err *err)
{
    if (!sc->db)
        return 0;
    int r = scan_writer_sync(sc, err);
    if (r == 0)
        scan_show_held(sc);
    if (r == 0 && sc->max_ts_us != INT64_MIN) {
        char ts[PARSE_TIME_ISO_LEN];
        parse_time_format(sc->max_ts_us, ts);
        r = db_scan_clock(sc->db, ts, err);
    }
    struct incidents_update_stats stats;
    if (r == 0 && (r = incidents_update(sc->db, sc->rs, &stats, err)) == 0 && sc->sink.updated)
        sc->sink.updated(sc->sink.ctx, &stats);
    if (r == 0) {
        incident_marks_consumed(&sc->marks);
        sc->clock_at_update_us = sc->max_ts_us;
    }
    return r;
}

/* ---- hits ------------------------------------------------------------------------------- */

/* A finding's field for rule_severity(): the group-by names a key is made of. */
struct field_lookup {
    const struct record *rec;
    const char *source;
    const struct field_set *fs;
};

static bool lookup_field(void *ctx, const char *name, struct strv *ret)
{
    const struct field_lookup *l = ctx;
    struct strv v = STRV_NULL;
    if (strcmp(name, "host") == 0)
        v = l->rec->host;
    else if (strcmp(name, "program") == 0)
        v = l->rec->program;
    else if (strcmp(name, "source") == 0)
        v = strv_from_cstr(l->source);
    else
        for (size_t k = 0; k < l->fs->n && !v.p; k++)
            if (strcmp(l->fs->v[k].name, name) == 0)
                v = l->fs->v[k].value;
    *ret = v;
    return v.n > 0;
}

static int on_hit(void *ctx, const struct rule *rule, const struct record *rec)
{
    struct line_ctx *lc = ctx;
    struct scan *sc = lc->sc;
    /* A stock Linux line of an appliance rule ("System is rebooting.") is an appliance's only
     * by its host, which a line of an appliance program tells: before or after it, in this
     * scan or another. So it is stored either way (waiting in the database while its host is
     * not known) and held back from the sink until the host is known; a line without a host
     * never is one. */
    bool needs_appliance = rule->role == RULE_ROLE_FINDING && rule->hosts == RULE_HOSTS_APPLIANCE &&
                           !appliance_line(rec);
    if (needs_appliance && !rec->host.n)
        return 0;
    bool held = needs_appliance && !appliance_hosts_has(&sc->appliances, rec);
    sc->held_due |= held;
    if (rec->has_ts && !lc->have_ts_text) {
        parse_time_format(rec->ts_us, lc->ts_text);
        lc->have_ts_text = true;
    }
    const struct rule *keyed = rule->role == RULE_ROLE_FINDING ? rule : &sc->rs->rules[rule->owner];
    struct field_set fs;
    scan_collect_fields(&sc->matcher, rule, keyed, rec, &fs);
    if (rule->inc.n_carry)
        carry_fill(sc, rule, rec, &fs);
    if (rule->role != RULE_ROLE_FINDING && !sc->db)
        return 0; /* marks only matter to stored incidents */
    int r = 0;
    if (rule->role == RULE_ROLE_FINDING)
        r = scan_fields_json(&fs, &sc->fields);
    if (r == 0 && sc->db)
        r = incident_group_key(&keyed->inc, rec, lc->label, fs.v, fs.n, &sc->key);
    if (r < 0)
        return hl_err_set(lc->err, r, lc->label, "cannot build fields of line %llu",
                          (unsigned long long)lc->line_no);
    struct field_lookup fl = { rec, lc->label, &fs };
    struct hit h = {
        .rule = rule,
        .severity = rule->n_severity_when ? rule_severity(rule, lookup_field, &fl) : rule->severity,
        .label = lc->label,
        .source_id = lc->source_id,
        .line = lc->line_no,
        .first_of_line = !lc->hashed,
        .rec = *rec,
        .ts = rec->has_ts ? lc->ts_text : NULL,
        .fields = rule->role == RULE_ROLE_FINDING ? strv_make(buf_cstr(&sc->fields), sc->fields.len)
                                                  : STRV_NULL,
        .key = sc->db ? strv_make(buf_cstr(&sc->key), sc->key.len) : STRV_NULL,
        .needs_appliance = needs_appliance,
        .held = held,
    };
    if (sc->db && !lc->hashed) {
        lc->hash = event_id_hash(rec, lc->label);
        lc->hashed = true;
    }
    h.hash = lc->hash;
    if (rule->role == RULE_ROLE_FINDING && !utf8_is_clean(rec->message.p, rec->message.n)) {
        buf_reset(&sc->message);
        if (utf8_sanitize(&sc->message, rec->message.p, rec->message.n) == 0)
            h.rec.message = strv_make(buf_cstr(&sc->message), sc->message.len);
    }
    return scan_store_hit(sc, &h, lc->err);
}

/* ---- sources ---------------------------------------------------------------------------- */

/* A read of stream label failed at line line_no: tells the sink, naming the line, unless a
 * stop interrupted it. Returns the stream's status: 1 (not read in full) or 0. */
static int read_failed(struct scan *sc, const char *label, uint64_t line_no, struct hl_err *e)
{
    if (e->sys_errno == EINTR && scan_stopping(sc))
        return 0;
    char where[sizeof(e->where)];
    snprintf(where, sizeof(where), "%s:%llu", label, (unsigned long long)line_no);
    memcpy(e->where, where, sizeof(where));
    scan_report_problem(sc, e, false);
    return 1;
}

/* Seeds parser's year guess for a stream: --year, else the date (in the zone its lines are
 * read in) of its modification time, of its container's, or today. The first time this scan
 * passes over an implausible time, says so through sink.note. */
static void year_reference(struct scan *sc, const struct stream_info *info, struct parser *parser)
{
    if (sc->opt.year) {
        year_guess_init(&parser->year, sc->opt.year, 0, 0);
        return;
    }
    int64_t now = (int64_t)time(NULL), ref = info->year_from ? info->year_from : now;
    struct civil_time c;
    parse_zone_civil(&sc->opt.zone, ref * 1000000, &c);
    year_guess_init(&parser->year, c.year, c.month, c.day);
    if (info->mtime < 0 || scan_year_source_ok(info->mtime) || sc->said_year_source ||
        !sc->sink.note)
        return;
    sc->said_year_source = true;
    char bad[PARSE_TIME_ISO_LEN];
    parse_time_format(info->mtime * 1000000, bad);
    struct hl_err e;
    hl_err_set(&e, HL_OK, info->label,
               "modification time %s UTC is no plausible log time (before 1990 or in the "
               "future): year-less times take their year from %s (%04d-%02d-%02d); said once "
               "per scan",
               bad, info->year_from ? "the containing archive's" : "today's date", c.year, c.month,
               c.day);
    sc->sink.note(sc->sink.ctx, &e);
}

/* A rule gave up on a line at a PCRE2 limit (a pattern that backtracks without end): warn
 * once per rule, naming it and the line, and go on; the rule just does not match there. */
static void on_rule_limit(void *ctx, const struct rule *rule, int pcre2_rc)
{
    struct line_ctx *lc = ctx;
    if (!lc->sc->sink.warning)
        return;
    PCRE2_UCHAR why[128];
    if (pcre2_get_error_message(pcre2_rc, why, sizeof(why)) < 0)
        snprintf((char *)why, sizeof(why), "PCRE2 error %d", pcre2_rc);
    char where[sizeof(((struct hl_err *)0)->where)];
    snprintf(where, sizeof(where), "%s:%llu", lc->label, (unsigned long long)lc->line_no);
    struct hl_err e;
    hl_err_set(&e, HL_ELIMIT, where,
               "rule %s (%s:%u) gave up on this line (%s); it may miss matches on such lines",
               rule->id, rule->file ? rule->file : "?", rule->line, (const char *)why);
    lc->sc->sink.warning(lc->sc->sink.ctx, &e);
}

static void scan_tick(struct scan *sc);

/* Reads src as text lines through the parser and the rules. Returns 0, 1 for a source that
 * ended in a read error (reported), or a negative run-level code. */
/* Parses one record (a line, or a journal entry) and runs the rules over it. */
static int scan_record(struct scan *sc, struct parser *parser, struct strv line,
                       struct line_ctx *lc)
{
    struct record rec;
    parse_line(parser, line, &rec);
    /* Before --host: a prompt in the paste names its HSM, --host only fills what none names. */
    console_host_note(&sc->console, &rec);
    /* --program and --host say what header-less text (journalctl -o cat) is. */
    if (!rec.program.n && sc->opt.program)
        rec.program = strv_from_cstr(sc->opt.program);
    if (!rec.host.n && sc->opt.host)
        rec.host = strv_from_cstr(sc->opt.host);
    if (sc->on_line)
        sc->on_line(sc->on_line_ctx, &rec, lc->label, lc->line_no);
    if (rec.has_ts && rec.ts_us > sc->max_ts_us)
        sc->max_ts_us = rec.ts_us;
    if (sc->carry.n_programs) /* without carry rules, no call per line */
        carry_note(&sc->carry, &rec);
    if (appliance_hosts_note(&sc->appliances, &rec)) {
        sc->held_due = true;
        int r = scan_store_appliance(sc, rec.host, lc->source_id, lc->line_no, lc->err);
        if (r < 0)
            return r;
    }
    lc->have_ts_text = false;
    lc->hashed = false;
    return matcher_match(&sc->matcher, &rec, on_hit, lc);
}

/* Adds a finished stream's counts to the scan's, and warns of a zone its lines named that
 * disagrees with the one they were read in. */
static void add_stream_totals(struct scan *sc, const struct parser *parser,
                              const struct lines *lines, const struct records *recs,
                              const char *label)
{
    if (parser->zone_mismatch && sc->sink.warning) {
        struct hl_err e;
        hl_err_set(&e, HL_OK, label,
                   "%llu journalctl short-full line%s name%s the zone %s, but times without an "
                   "offset are read in %s, which calls that time %s: they are stored as %s "
                   "time; give --tz the zone of the host that wrote them",
                   (unsigned long long)parser->zone_mismatch, parser->zone_mismatch == 1 ? "" : "s",
                   parser->zone_mismatch == 1 ? "s" : "", parser->zone_said, sc->opt.zone.name,
                   parser->zone_read, sc->opt.zone.name);
        sc->sink.warning(sc->sink.ctx, &e);
    }
    sc->lines += lines->line_no;
    sc->cut_lines += lines->cut + recs->cut;
    sc->bad_time_lines += parser->bad_time;
    for (int f = 0; f < FMT__COUNT; f++) {
        sc->formats[f] += parser->seen[f];
        sc->input_records += parser->seen[f];
    }
    sc->input_plain += parser->seen[FMT_PLAIN];
}

/* Finishes the sources row of a stream read to its end with status (scan_lines()'s), once
 * its hits are all stored. Returns status, or a negative code when storing failed. */
/* journalctl -o export values whose length is over journald's limit: the stream is damaged
 * there (its lines after were read on); says so naming the first, and returns 1 (partial). */
static int bad_lengths(struct scan *sc, const char *label, const struct records *recs,
                       struct hl_err *e)
{
    hl_err_set(e, HL_EFORMAT, "", "%llu journal export value(s) longer than journald allows",
               (unsigned long long)recs->bad_lengths);
    snprintf(e->where, sizeof(e->where), "%s:%llu", label, (unsigned long long)recs->bad_length_at);
    scan_report_problem(sc, e, false);
    return 1;
}

static int finish_source(struct scan *sc, struct db_source *row, int64_t source_id, int status,
                         const struct hl_err *read_err, struct hl_err *err)
{
    int r;
    if (status >= 0 && (r = scan_writer_sync(sc, err)) < 0)
        status = r;
    row->findings = sc->stream_new_findings;
    row->status = status == 1 ? "partial" : status < 0 ? "error" : "ok";
    row->error = status == 1 ? read_err->msg : NULL;
    if (sc->db && status >= 0 && (r = db_source_end(sc->db, source_id, row, err)) < 0)
        status = r;
    return status;
}

int scan_lines(struct scan *sc, struct source *src, const struct stream_info *info,
               struct hl_err *err)
{
    struct db_source row = {
        .path = info->label,
        .kind = info->kind,
        .parent_id = info->parent_id,
        .size = info->size,
        .mtime = info->mtime,
        .status = "reading",
    };
    struct line_ctx lc = { .sc = sc, .label = info->label, .err = err };
    carry_reset(&sc->carry); /* another input, other processes */
    /* Another input is another paste: its lines are no session's until a prompt says. */
    console_host_reset(&sc->console);
    int r;
    if (sc->db && (r = scan_source_add(sc, &row, &lc.source_id, err)) < 0)
        return r;
    sc->stream_new_findings = 0;
    struct lines lines;
    if ((r = lines_init(&lines, src, sc->opt.max_line, 0, err)) < 0)
        return r;
    /* Multi-line records (journalctl -o json-pretty, -o export) become one record here. */
    struct records recs;
    if ((r = records_init(&recs, &lines, sc->opt.max_line, err)) < 0) {
        lines_release(&lines);
        return r;
    }
    uint64_t rec_line = 0;
    struct parser parser;
    parser_init(&parser, 0, 0, &sc->opt.zone);
    year_reference(sc, info, &parser);
    sc->sources++;

    struct strv line;
    struct hl_err read_err;
    hl_err_clear(&read_err);
    int status = 0;
    /* A stop still lets a pipe hand over what it holds (source_wait): lines written before
     * the signal are stored. Other layers stop at the next line. */
    bool drain = source_is_pipe(src);
    sc->stream_label = info->label;
    if (sc->sink.tick)
        sc->sink.tick(sc->sink.ctx, sc);
    while (drain || !scan_stopping(sc)) {
        /* Between lines: a line's rows commit together, and the write lock is shared. */
        if (sc->db && !sc->writer && (r = db_tick(sc->db, err)) < 0) {
            status = r;
            break;
        }
        int n = records_next(&recs, &line, &rec_line, &read_err);
        if (n == HL_PAUSE) {
            scan_pause(sc);
            continue;
        }
        if (n == 0)
            break;
        if (n < 0) {
            status = read_failed(sc, info->label, lines.line_no + 1, &read_err);
            break;
        }
        lc.line_no = rec_line;
        if ((r = scan_record(sc, &parser, line, &lc)) < 0) {
            status = r;
            break;
        }
        if (sc->tick_lines && --sc->lines_to_tick == 0)
            scan_tick(sc);
    }
    sc->stream_label = NULL;
    if (status == 0 && recs.bad_lengths)
        status = bad_lengths(sc, info->label, &recs, &read_err);
    add_stream_totals(sc, &parser, &lines, &recs, info->label);
    row.bytes = src->offset;
    row.lines = lines.line_no;
    row.truncated_lines = lines.cut + recs.cut;
    row.bad_time_lines = parser.bad_time;
    status = finish_source(sc, &row, lc.source_id, status, &read_err, err);
    parser_release(&parser);
    records_release(&recs);
    lines_release(&lines);
    return status;
}

void scan_pause(struct scan *sc)
{
    /* Waiting on a pipe: make what we have visible to `hsmlog query` and to the user, with
     * the incidents brought up to date (journalctl -f). The update costs more as the database
     * grows (a few tenths of a second with half a million findings), and with lines trickling
     * in every read that would block is a pause: it runs when something is new (a finding, a
     * mark, the log clock), at most once per SCAN_UPDATE_GAP_NS and a fifth of the time. A
     * pipe pauses again after every SOURCE_WAIT_MS of waiting, so a deferred update is not
     * left behind. */
    if (sc->db) {
        struct hl_err err;
        int64_t start = clock_mono_ns();
        bool synced = scan_writer_sync(sc, &err) == 0;
        if (synced)
            scan_show_held(sc);
        if (synced && start >= sc->next_update_ns &&
            (sc->marks.any || sc->max_ts_us != sc->clock_at_update_us)) {
            HL_IGNORE(scan_update_incidents(sc, &err)); /* retried at the next pause or the end */
            int64_t took = clock_mono_ns() - start;
            sc->next_update_ns = start + HL_MAX(SCAN_UPDATE_GAP_NS, 5 * took);
        }
        HL_IGNORE(db_commit(sc->db, NULL));
    } else {
        scan_show_held(sc);
    }
    sc->committed_ns = clock_mono_ns();
    if (sc->sink.idle)
        sc->sink.idle(sc->sink.ctx);
    if (sc->sink.tick)
        sc->sink.tick(sc->sink.ctx, sc);
}

static void scan_tick(struct scan *sc)
{
    sc->lines_to_tick = sc->tick_lines;
    /* A stream that never pauses (a busy journal): commit by time. */
    if (sc->opt.follow && clock_mono_ns() - sc->committed_ns >= SCAN_FOLLOW_COMMIT_NS)
        scan_pause(sc);
    else if (sc->sink.tick)
        sc->sink.tick(sc->sink.ctx, sc);
}

void scan_progress(const struct scan *sc, struct scan_progress *ret)
{
    ret->bytes = sc->bytes_before + (sc->bottom ? source_position(sc->bottom) : 0);
    ret->label = sc->stream_label;
}
