/* The pipeline owner. For each input: open, stack layers, split lines, parse, match, store.
 * Per-line work is parse_line() plus the rule prefilters; everything a finding needs beyond
 * that (Luna fields, JSON, the event hash, UTF-8 cleaning) is done only for matched lines. */
#include "scan.h"

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
#include "source.h"
#include "source_archive.h"
#include "utf8.h"

/* Adds name to the programs whose lines carry_note() looks at, once. */
static void add_carry_program(struct scan *sc, const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < sc->n_carry_programs; i++)
        if (sc->carry_program_len[i] == len && strcmp(sc->carry_programs[i], name) == 0)
            return;
    const char **names = realloc(sc->carry_programs, (sc->n_carry_programs + 1) * sizeof(*names));
    if (names)
        sc->carry_programs = names;
    size_t *lens = realloc(sc->carry_program_len, (sc->n_carry_programs + 1) * sizeof(*lens));
    if (lens)
        sc->carry_program_len = lens;
    if (!names || !lens)
        return; /* carry is a refinement: without memory the fields stay as the line has them */
    names[sc->n_carry_programs] = name;
    lens[sc->n_carry_programs++] = len;
}

static rule_limit_fn on_rule_limit;

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
    for (size_t i = 0; i < rs->n; i++)
        for (size_t k = 0; rs->rules[i].inc.n_carry && k < rs->rules[i].n_programs; k++)
            add_carry_program(sc, rs->rules[i].programs[k]);
    int r = matcher_init(&sc->matcher, rs, err);
    /* matcher_match() tells it with the line's context. */
    sc->matcher.on_limit = on_rule_limit;
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
    free(sc->carry_programs);
    free(sc->carry_program_len);
}

static bool stopping(const struct scan *sc)
{
    return sc->stop && *sc->stop;
}

static int writer_sync(struct scan *sc, struct hl_err *err);

static void report_problem(struct scan *sc, const struct hl_err *err, bool skipped)
{
    if (skipped)
        sc->skipped++;
    else
        sc->incomplete++;
    if (sc->sink.problem)
        sc->sink.problem(sc->sink.ctx, err, skipped);
}

/* ---- fields and identity ---------------------------------------------------------------- */

static int put_field(struct buf *out, const char *name, struct strv value)
{
    int r = buf_addc(out, out->len ? ',' : '{');
    if (r == 0)
        r = json_put_string(out, name, strlen(name));
    if (r == 0)
        r = buf_addc(out, ':');
    if (r == 0)
        r = json_put_string(out, value.p ? value.p : "", value.n);
    return r;
}

/* The fields of a finding: named captures of the latest match first, then the Luna parser's
 * fields not already named. Values borrow from the record (and from the hex buffers here). */
struct field_set {
    struct rule_capture v[48];
    size_t n;
    char ret_hex[16], ckr_hex[16];
};

static bool has_field(const struct field_set *fs, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(fs->v[i].name, name) == 0)
            return true;
    return false;
}

/* rule matched rec; owner is the rule whose `normalize` applies (rule itself, or the rule
 * whose reset or expect pattern rule is). */
static void collect_fields(const struct matcher *m, const struct rule *rule,
                           const struct rule *owner, const struct record *rec, struct field_set *fs)
{
    size_t n = matcher_captures(m, rule, rec->message, fs->v, ARRAY_SIZE(fs->v) - 11);
    for (size_t i = 0; owner->n_normalize && i < n; i++)
        fs->v[i].value = rule_normalized(owner, fs->v[i].name, fs->v[i].value);
    struct luna_fields lf;
    parse_luna(rec->message, &lf);
    /* Formatted only when there is a value: two snprintf calls for every finding show in the
     * profile of a scan with many findings. */
    if (lf.has_luna_ret_value)
        snprintf(fs->ret_hex, sizeof(fs->ret_hex), "0x%08X", (unsigned)lf.luna_ret_value);
    if (lf.has_ckr_value)
        snprintf(fs->ckr_hex, sizeof(fs->ckr_hex), "0x%08X", (unsigned)lf.ckr_value);
    const struct rule_capture luna[] = {
        { "luna_level", lf.level },
        { "luna_code", lf.code },
        { "client_ip", lf.client_ip },
        { "client_port", lf.client_port },
        { "rc", lf.rc },
        { "luna_ret", lf.luna_ret },
        { "luna_ret_hex", lf.has_luna_ret_value ? strv_from_cstr(fs->ret_hex) : STRV_NULL },
        { "ckr", lf.ckr },
        { "ckr_hex", lf.has_ckr_value ? strv_from_cstr(fs->ckr_hex) : STRV_NULL },
    };
    fs->n = n;
    for (size_t i = 0; i < ARRAY_SIZE(luna); i++)
        if (luna[i].value.n && !has_field(fs, n, luna[i].name))
            fs->v[fs->n++] = luna[i];
}

static int fields_json(const struct field_set *fs, struct buf *out)
{
    buf_reset(out);
    int r = 0;
    for (size_t i = 0; r == 0 && i < fs->n; i++)
        r = put_field(out, fs->v[i].name, fs->v[i].value);
    if (r == 0)
        r = out->len ? buf_addc(out, '}') : buf_adds(out, "{}");
    return r;
}

/* FNV-1a, 64 bit, for the carry table's keys. */
static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *u = p;
    for (size_t i = 0; i < n; i++) {
        h ^= u[i];
        h *= 0x100000001b3ULL;
    }
    return h;
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

static int64_t parse_pid(struct strv pid)
{
    if (pid.n == 0 || pid.n > 10)
        return -1;
    int64_t v = 0;
    for (size_t i = 0; i < pid.n; i++) {
        if (pid.p[i] < '0' || pid.p[i] > '9')
            return -1;
        v = v * 10 + (pid.p[i] - '0');
    }
    return v;
}

/* ---- carried context ---------------------------------------------------------------------- */

/* Builds the context key of rec (host, program, pid) and its hash; false when it does not
 * fit. */
static bool carry_key(const struct record *rec, char *out, size_t *ret_len, uint64_t *ret_hash)
{
    size_t n = rec->host.n + rec->program.n + rec->pid.n + 2;
    if (n > sizeof(((struct carry_slot *)0)->key))
        return false;
    char *p = out;
    const struct strv parts[] = { rec->host, rec->program, rec->pid };
    for (size_t i = 0; i < ARRAY_SIZE(parts); i++) {
        if (parts[i].n)
            memcpy(p, parts[i].p, parts[i].n);
        p += parts[i].n;
        if (i < 2)
            *p++ = '\0';
    }
    *ret_len = n;
    *ret_hash = fnv1a(0xcbf29ce484222325ULL, out, n);
    return true;
}

static struct carry_slot *carry_find(struct scan *sc, const char *key, size_t len, uint64_t hash)
{
    for (size_t i = 0; i < SCAN_CARRY_SLOTS; i++)
        if (sc->carry[i].key_hash == hash && sc->carry[i].key_len == len &&
            memcmp(sc->carry[i].key, key, len) == 0)
            return &sc->carry[i];
    return NULL;
}

/* Remembers the client endpoint a line of a carry rule's program names. Runs on every line
 * of those programs, so it checks the cheap things first and parses only the structure. */
static void carry_note(struct scan *sc, const struct record *rec)
{
    bool wanted = false;
    for (size_t i = 0; i < sc->n_carry_programs && !wanted; i++)
        wanted = sc->carry_program_len[i] == rec->program.n &&
                 strncasecmp(sc->carry_programs[i], rec->program.p, rec->program.n) == 0;
    if (!wanted)
        return;
    struct luna_fields lf;
    parse_luna_structure(rec->message, &lf);
    char key[sizeof(sc->carry[0].key)];
    size_t len;
    uint64_t hash;
    if (!lf.client_ip.n || lf.client_ip.n >= sizeof(sc->carry[0].ip) ||
        lf.client_port.n >= sizeof(sc->carry[0].port) || !carry_key(rec, key, &len, &hash))
        return;
    struct carry_slot *slot = carry_find(sc, key, len, hash);
    if (!slot) { /* evict the least recently written */
        slot = &sc->carry[0];
        for (size_t i = 1; i < SCAN_CARRY_SLOTS; i++)
            if (sc->carry[i].used < slot->used)
                slot = &sc->carry[i];
    }
    memcpy(slot->key, key, len);
    slot->key_len = len;
    slot->key_hash = hash;
    memcpy(slot->ip, lf.client_ip.p, lf.client_ip.n);
    slot->ip[lf.client_ip.n] = '\0';
    if (lf.client_port.n)
        memcpy(slot->port, lf.client_port.p, lf.client_port.n);
    slot->port[lf.client_port.n] = '\0';
    slot->used = ++sc->carry_tick;
}

/* Adds the carried fields rule asks for and the line lacks. */
static void carry_fill(struct scan *sc, const struct rule *rule, const struct record *rec,
                       struct field_set *fs)
{
    char key[sizeof(sc->carry[0].key)];
    size_t len;
    uint64_t hash;
    const struct carry_slot *slot =
            carry_key(rec, key, &len, &hash) ? carry_find(sc, key, len, hash) : NULL;
    for (size_t i = 0; slot && i < rule->inc.n_carry && fs->n < ARRAY_SIZE(fs->v); i++) {
        const char *name = rule->inc.carry[i];
        if (has_field(fs, fs->n, name))
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
    int r = writer_sync(sc, err);
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

/* What storing one hit needs: built on the scan thread, applied there or on the storage
 * thread (struct handoff). Everything is borrowed. */
struct hit {
    const struct rule *rule; /* the finding's rule, or the reset/expect pattern's rule */
    enum severity severity;  /* findings: the finding's (rule_severity()) */
    const char *label;       /* source label: valid until the stream ends */
    int64_t source_id;
    uint64_t line;
    bool first_of_line; /* the line's first hit: count its occurrence now */
    int64_t hash;       /* event hash of the line (with a database) */
    struct record rec;  /* message is the UTF-8-clean one (findings) */
    const char *ts;     /* ISO text, or NULL */
    struct strv fields; /* findings: JSON object */
    struct strv key;    /* incident key (with a database) */
};

/* Stores a reset or expect mark and marks the incidents it affects. */
static int apply_mark(struct scan *sc, const struct hit *h, struct hl_err *err)
{
    const struct rule *rule = h->rule;
    const struct rule *owner = &sc->rs->rules[rule->owner];
    struct db_mark m = {
        .rule_id = owner->id,
        .kind = rule->role == RULE_ROLE_RESET ? "reset" : "expect",
        .source_id = h->source_id,
        .line = h->line,
        .ts = h->ts,
        .second = h->rec.has_ts ? event_id_second(h->rec.ts_us) : 0,
        .host = h->rec.host,
        .group_key = h->key,
        .event_hash = h->hash,
        .occurrence = sc->occurrence,
    };
    int r = db_mark_add(sc->db, &m, err);
    return r < 0 ? r : incident_marks_line(&sc->marks, rule, h->rec.host, err);
}

/* Stores a hit (a finding or a mark), counts it and tells the sink. */
static int apply_hit(struct scan *sc, const struct hit *h, struct hl_err *err)
{
    int r;
    if (sc->db && h->first_of_line) {
        /* Between lines: a line's rows commit together, and the write lock is shared. */
        if (sc->writer && (r = db_tick(sc->db, err)) < 0)
            return r;
        int64_t second = h->rec.has_ts ? event_id_second(h->rec.ts_us) : 0;
        if ((r = db_occurrence(sc->db, h->hash, second, &sc->occurrence, err)) < 0)
            return r;
    }
    if (h->rule->role != RULE_ROLE_FINDING)
        return sc->db ? apply_mark(sc, h, err) : 0;
    bool is_new = true;
    if (sc->db) {
        struct db_finding f = {
            .source_id = h->source_id,
            .line = h->line,
            .ts = h->ts,
            .second = h->rec.has_ts ? event_id_second(h->rec.ts_us) : 0,
            .host = h->rec.host,
            .program = h->rec.program,
            .pid = parse_pid(h->rec.pid),
            .rule_id = h->rule->id,
            .severity = severity_name(h->severity),
            .message = h->rec.message,
            .fields = h->fields,
            .raw = h->rec.raw,
            .event_hash = h->hash,
            .occurrence = sc->occurrence,
            .group_key = h->key,
        };
        if ((r = db_finding_add(sc->db, &f, &is_new, err)) < 0)
            return r;
        if (is_new &&
            (r = incident_marks_finding(&sc->marks, h->rule, h->rec.host, h->key, err)) < 0)
            return r;
    }
    sc->findings++;
    if (is_new) {
        sc->new_findings++;
        sc->stream_new_findings++;
    }
    if (sc->sink.finding) {
        struct finding f = {
            .rule = h->rule,
            .severity = h->severity,
            .rec = &h->rec,
            .source = h->label,
            .line = h->line,
            .ts = h->ts,
            .fields = h->fields,
            .is_new = is_new,
        };
        sc->sink.finding(sc->sink.ctx, &f);
    }
    return 0;
}

/* ---- the storage thread ----------------------------------------------------------------- */

/* A hit as it travels through the ring: this header, then the bytes of each slice in the
 * order of enum hit_part. */
enum hit_part {
    PART_HOST,
    PART_PROGRAM,
    PART_PID,
    PART_MESSAGE,
    PART_RAW,
    PART_FIELDS,
    PART_KEY,
    PART__COUNT
};

struct hit_msg {
    const struct rule *rule;
    enum severity severity;
    const char *label;
    int64_t source_id;
    uint64_t line;
    int64_t hash;
    int64_t ts_us;
    enum rec_format format;
    int pri;
    bool first_of_line, has_ts, has_ts_text;
    char ts[PARSE_TIME_ISO_LEN];
    uint32_t len[PART__COUNT];
};

static int writer_apply(void *ctx, void *msg, size_t len, struct hl_err *err)
{
    (void)len;
    struct scan *sc = ctx;
    const struct hit_msg *m = msg;
    struct strv part[PART__COUNT];
    const char *p = (const char *)(m + 1);
    for (size_t i = 0; i < PART__COUNT; i++) {
        part[i] = strv_make(p, m->len[i]);
        p += m->len[i];
    }
    struct hit h = {
        .rule = m->rule,
        .severity = m->severity,
        .label = m->label,
        .source_id = m->source_id,
        .line = m->line,
        .first_of_line = m->first_of_line,
        .hash = m->hash,
        .rec = { .format = m->format,
                 .has_ts = m->has_ts,
                 .ts_us = m->ts_us,
                 .pri = m->pri,
                 .host = part[PART_HOST],
                 .program = part[PART_PROGRAM],
                 .pid = part[PART_PID],
                 .message = part[PART_MESSAGE],
                 .raw = part[PART_RAW] },
        .ts = m->has_ts_text ? m->ts : NULL,
        .fields = part[PART_FIELDS],
        .key = part[PART_KEY],
    };
    return apply_hit(sc, &h, err);
}

/* The storage thread waited a while for hits: commit, so other writers get the lock. */
static int writer_idle(void *ctx, struct hl_err *err)
{
    struct scan *sc = ctx;
    return db_commit(sc->db, err);
}

/* Waits until the storage thread has stored every hit handed over: after that the scan
 * thread may use the database itself. Returns 0 or its failure. */
static int writer_sync(struct scan *sc, struct hl_err *err)
{
    return sc->writer ? handoff_sync(sc->writer, err) : 0;
}

/* Stores h: handed to the storage thread when there is one (started at the first hit of a
 * scan that asked for it), else at once. */
static int store_hit(struct scan *sc, const struct hit *h, struct hl_err *err)
{
    if (!sc->writer && sc->opt.writer_thread && sc->db && !sc->writer_failed) {
        struct hl_err ignored;
        /* Without the thread (no memory, no thread) everything is stored in line. */
        sc->writer_failed = handoff_start(&sc->writer, SCAN_WRITER_RING, writer_apply, writer_idle,
                                          DB_TX_MAX_MS, sc, &ignored) < 0;
    }
    if (!sc->writer)
        return apply_hit(sc, h, err);
    const struct strv part[PART__COUNT] = {
        [PART_HOST] = h->rec.host, [PART_PROGRAM] = h->rec.program,
        [PART_PID] = h->rec.pid,   [PART_MESSAGE] = h->rec.message,
        [PART_RAW] = h->rec.raw,   [PART_FIELDS] = h->fields,
        [PART_KEY] = h->key,
    };
    size_t len = sizeof(struct hit_msg);
    for (size_t i = 0; i < PART__COUNT; i++)
        len += part[i].n;
    if (len > handoff_max_message(sc->writer)) {
        /* A huge line (--max-line raised): store it here, after what is in flight. */
        int r = writer_sync(sc, err);
        return r < 0 ? r : apply_hit(sc, h, err);
    }
    struct hit_msg *m = handoff_reserve(sc->writer, len);
    if (!m)
        return writer_sync(sc, err); /* the thread failed: its error */
    *m = (struct hit_msg){
        .rule = h->rule,
        .severity = h->severity,
        .label = h->label,
        .source_id = h->source_id,
        .line = h->line,
        .hash = h->hash,
        .ts_us = h->rec.ts_us,
        .format = h->rec.format,
        .pri = h->rec.pri,
        .first_of_line = h->first_of_line,
        .has_ts = h->rec.has_ts,
        .has_ts_text = h->ts != NULL,
    };
    if (h->ts)
        memcpy(m->ts, h->ts, sizeof(m->ts));
    char *p = (char *)(m + 1);
    for (size_t i = 0; i < PART__COUNT; i++) {
        m->len[i] = (uint32_t)part[i].n;
        if (part[i].n)
            memcpy(p, part[i].p, part[i].n);
        p += part[i].n;
    }
    handoff_commit(sc->writer);
    return 0;
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
    /* An appliance rule's line from a host not known as an appliance is a client's. */
    if (rule->role == RULE_ROLE_FINDING && rule->hosts == RULE_HOSTS_APPLIANCE &&
        !appliance_hosts_has(&sc->appliances, rec))
        return 0;
    if (rec->has_ts && !lc->have_ts_text) {
        parse_time_format(rec->ts_us, lc->ts_text);
        lc->have_ts_text = true;
    }
    const struct rule *keyed = rule->role == RULE_ROLE_FINDING ? rule : &sc->rs->rules[rule->owner];
    struct field_set fs;
    collect_fields(&sc->matcher, rule, keyed, rec, &fs);
    if (rule->inc.n_carry)
        carry_fill(sc, rule, rec, &fs);
    if (rule->role != RULE_ROLE_FINDING && !sc->db)
        return 0; /* marks only matter to stored incidents */
    int r = 0;
    if (rule->role == RULE_ROLE_FINDING)
        r = fields_json(&fs, &sc->fields);
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
    return store_hit(sc, &h, lc->err);
}

/* ---- sources ---------------------------------------------------------------------------- */

/* What the walker knows about a stream before reading it. */
struct stream_info {
    const char *label; /* borrowed */
    char kind[96];     /* content chain so far, outermost first: "gzip/tar" */
    int64_t mtime;     /* seconds, -1 unknown */
    int64_t year_from; /* seconds: the modification time the year guess takes, this stream's
                          or else its container's when plausible (year_source_ok()); 0 for
                          none, then today */
    int64_t size;      /* bytes, -1 unknown */
    int64_t parent_id; /* sources.id of the container, 0 for none */
    int depth;         /* container layers above this stream */
};

static void kind_append(struct stream_info *info, const char *name)
{
    size_t n = strlen(info->kind);
    snprintf(info->kind + n, sizeof(info->kind) - n, "%s%s", n ? "/" : "", name);
}

/* Returns true when mtime can date a log. Not 0 (a tool that did not keep it), not the zip
 * format's minimum (1980-01-01, a DOS date of zero), nothing before 1990 and nothing more than
 * a day ahead of the clock (a skewed host): such a time would put every year-less line in the
 * wrong year. */
static bool year_source_ok(int64_t mtime)
{
    return mtime >= INT64_C(631152000) && mtime <= (int64_t)time(NULL) + 86400;
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
    if (info->mtime < 0 || year_source_ok(info->mtime) || sc->said_year_source || !sc->sink.note)
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
static void scan_pause(struct scan *sc);

/* Reads src as text lines through the parser and the rules. Returns 0, 1 for a source that
 * ended in a read error (reported), or a negative run-level code. */
static int scan_lines(struct scan *sc, struct source *src, const struct stream_info *info,
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
    memset(sc->carry, 0, sizeof(sc->carry)); /* another input, other processes */
    int r;
    if (sc->db && (r = db_source_add(sc->db, &row, &lc.source_id, err)) < 0)
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
    struct record rec;
    struct hl_err read_err;
    hl_err_clear(&read_err);
    int status = 0;
    /* A stop still lets a pipe hand over what it holds (source_wait): lines written before
     * the signal are stored. Other layers stop at the next line. */
    bool drain = source_is_pipe(src);
    sc->stream_label = info->label;
    if (sc->sink.tick)
        sc->sink.tick(sc->sink.ctx, sc);
    while (drain || !stopping(sc)) {
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
            if (!(read_err.sys_errno == EINTR && stopping(sc))) {
                char where[sizeof(read_err.where)];
                snprintf(where, sizeof(where), "%s:%llu", info->label,
                         (unsigned long long)lines.line_no + 1);
                memcpy(read_err.where, where, sizeof(where));
                report_problem(sc, &read_err, false);
                status = 1;
            }
            break;
        }
        parse_line(&parser, line, &rec);
        /* --program and --host say what header-less text (journalctl -o cat) is. */
        if (!rec.program.n && sc->opt.program)
            rec.program = strv_from_cstr(sc->opt.program);
        if (!rec.host.n && sc->opt.host)
            rec.host = strv_from_cstr(sc->opt.host);
        if (sc->on_line)
            sc->on_line(sc->on_line_ctx, &rec, info->label, rec_line);
        if (rec.has_ts && rec.ts_us > sc->max_ts_us)
            sc->max_ts_us = rec.ts_us;
        if (sc->n_carry_programs)
            carry_note(sc, &rec);
        appliance_hosts_note(&sc->appliances, &rec);
        lc.line_no = rec_line;
        lc.have_ts_text = false;
        lc.hashed = false;
        if ((r = matcher_match(&sc->matcher, &rec, on_hit, &lc)) < 0) {
            status = r;
            break;
        }
        if (sc->tick_lines && --sc->lines_to_tick == 0)
            scan_tick(sc);
    }
    sc->stream_label = NULL;
    if (parser.zone_mismatch && sc->sink.warning) {
        struct hl_err e;
        hl_err_set(&e, HL_OK, info->label,
                   "%llu journalctl short-full line%s name%s the zone %s, but times without an "
                   "offset are read in %s, which calls that time %s: they are stored as %s "
                   "time; give --tz the zone of the host that wrote them",
                   (unsigned long long)parser.zone_mismatch, parser.zone_mismatch == 1 ? "" : "s",
                   parser.zone_mismatch == 1 ? "s" : "", parser.zone_said, sc->opt.zone.name,
                   parser.zone_read, sc->opt.zone.name);
        sc->sink.warning(sc->sink.ctx, &e);
    }
    sc->lines += lines.line_no;
    sc->cut_lines += lines.cut + recs.cut;
    sc->bad_time_lines += parser.bad_time;
    for (int f = 0; f < FMT__COUNT; f++) {
        sc->formats[f] += parser.seen[f];
        sc->input_records += parser.seen[f];
    }
    sc->input_plain += parser.seen[FMT_PLAIN];
    row.bytes = src->offset;
    row.lines = lines.line_no;
    row.truncated_lines = lines.cut + recs.cut;
    row.bad_time_lines = parser.bad_time;
    /* The stream's hits are all stored before its row is finished. */
    if (status >= 0 && (r = writer_sync(sc, err)) < 0)
        status = r;
    row.findings = sc->stream_new_findings;
    row.status = status == 1 ? "partial" : status < 0 ? "error" : "ok";
    row.error = status == 1 ? read_err.msg : NULL;
    if (sc->db && status >= 0 && (r = db_source_end(sc->db, lc.source_id, &row, err)) < 0)
        status = r;
    parser_release(&parser);
    records_release(&recs);
    lines_release(&lines);
    return status;
}

static void scan_pause(struct scan *sc)
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
        if (writer_sync(sc, &err) == 0 && start >= sc->next_update_ns &&
            (sc->marks.any || sc->max_ts_us != sc->clock_at_update_us)) {
            HL_IGNORE(scan_update_incidents(sc, &err)); /* retried at the next pause or the end */
            int64_t took = clock_mono_ns() - start;
            sc->next_update_ns = start + HL_MAX(SCAN_UPDATE_GAP_NS, 5 * took);
        }
        HL_IGNORE(db_commit(sc->db, NULL));
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

/* Records a stream that is not read (binary, too deep, unreadable) as a sources row. */
static int record_unread(struct scan *sc, const struct stream_info *info, const char *status,
                         const char *why, struct hl_err *err)
{
    if (!sc->db)
        return 0;
    struct db_source row = {
        .path = info->label,
        .kind = info->kind,
        .parent_id = info->parent_id,
        .size = info->size,
        .mtime = info->mtime,
        .status = status,
        .error = why,
    };
    int64_t id;
    int r = db_source_add(sc->db, &row, &id, err);
    return r < 0 ? r : db_source_end(sc->db, id, &row, err);
}

static int scan_stream(struct scan *sc, struct source *src, struct stream_info *info,
                       struct hl_err *err);

/* Reads every member of an archive (or the one stream of a compressed file) as a stream of
 * its own. Returns 0, 1 when something could not be read in full, or a run-level code. */
static int scan_archive(struct scan *sc, struct source *src, struct stream_info *info,
                        struct hl_err *err)
{
    struct archive_walk *w = NULL;
    struct hl_err werr;
    hl_err_clear(&werr);
    int status = 0, r;
    if (archive_walk_open(src, &sc->opt.limits, &w, &werr) < 0) {
        report_problem(sc, &werr, false);
        r = record_unread(sc, info, "error", werr.msg, err);
        return r < 0 ? r : 1;
    }
    int64_t container_id = 0;
    struct db_source row = {
        .path = info->label,
        .parent_id = info->parent_id,
        .size = info->size,
        .mtime = info->mtime,
        .status = "reading",
    };
    struct stream_info container = *info; /* for the container's kind */
    const char *failure = NULL;
    struct archive_member m;
    while (!stopping(sc)) {
        int n = archive_walk_next(w, &m, &werr);
        struct hl_err damage;
        if (archive_walk_damage(w, &damage)) {
            report_problem(sc, &damage, false);
            status = 1;
            failure = "damaged headers were skipped";
        }
        if (n <= 0) {
            if (n < 0) {
                if (!archive_walk_reported(w))
                    report_problem(sc, &werr, false);
                status = 1;
                failure = werr.msg;
            }
            break;
        }
        struct stream_info member = {
            .label = m.label,
            .mtime = m.mtime >= 0 ? m.mtime : info->mtime,
            .year_from = year_source_ok(m.mtime) ? m.mtime : info->year_from,
            .size = m.size,
            .depth = info->depth + 1,
        };
        if (archive_walk_is_raw(w)) {
            /* A compressed file, not an archive: the stream continues the same chain. */
            member.parent_id = info->parent_id;
            member.mtime = info->mtime;
            member.year_from = info->year_from;
            member.size = info->size;
            snprintf(member.kind, sizeof(member.kind), "%s", info->kind);
            kind_append(&member, archive_walk_kind(w));
        } else {
            if (!container_id && sc->db) {
                kind_append(&container, archive_walk_kind(w));
                row.kind = container.kind;
                if ((r = db_source_add(sc->db, &row, &container_id, err)) < 0) {
                    status = r;
                    break;
                }
            }
            member.parent_id = container_id;
        }
        if (m.skip) {
            /* A link, a device or an encrypted member: a row that says why it was not read. */
            snprintf(member.kind, sizeof(member.kind), "%s", m.kind);
            struct hl_err e;
            hl_err_set(&e, HL_EFORMAT, m.label, "%s", m.skip);
            report_problem(sc, &e, true);
            if ((r = record_unread(sc, &member, "skipped", m.skip, err)) < 0) {
                status = r;
                break;
            }
            continue;
        }
        r = scan_stream(sc, m.src, &member, err);
        if (r < 0) {
            status = r;
            break;
        }
        if (r == 1) {
            status = 1;
            if (!failure)
                failure = "a member could not be read in full";
        }
    }
    if (container_id && status >= 0) {
        row.status = status == 1 ? "partial" : "ok";
        row.error = failure;
        row.bytes = archive_walk_bytes(w);
        if ((r = db_source_end(sc->db, container_id, &row, err)) < 0)
            status = r;
    } else if (!container_id && status == 1 && !archive_walk_is_raw(w)) {
        /* Damaged before the first member: still leave a row that says so. */
        kind_append(&container, archive_walk_kind(w));
        if ((r = record_unread(sc, &container, "error", failure, err)) < 0)
            status = r;
    }
    archive_walk_free(w);
    return status;
}

/* Sniffs src and reads it the way its content asks for: text lines, a gzip layer, an archive,
 * or a skip. Returns 0, 1 when something could not be read in full, or a run-level code. */
static int scan_stream(struct scan *sc, struct source *src, struct stream_info *info,
                       struct hl_err *err)
{
    struct sniff what;
    struct hl_err serr;
    hl_err_clear(&serr);
    int max_depth = sc->opt.max_depth;
    int sniffed;
    while ((sniffed = source_sniff(src, &what, &serr)) == HL_PAUSE)
        scan_pause(sc);
    if (sniffed < 0) {
        if (serr.sys_errno == EINTR && stopping(sc))
            return 0;
        report_problem(sc, &serr, false);
        kind_append(info, "unknown");
        int r = record_unread(sc, info, "error", serr.msg, err);
        return r < 0 ? r : 1;
    }
    bool container = what.content == CONTENT_GZIP || what.content == CONTENT_COMPRESSED ||
                     what.content == CONTENT_ARCHIVE;
    if (container && info->depth >= max_depth) {
        kind_append(info, what.name);
        hl_err_set(&serr, HL_ELIMIT, info->label,
                   "%s nested deeper than %d containers (--max-depth)", what.name, max_depth);
        report_problem(sc, &serr, true);
        return record_unread(sc, info, "skipped", serr.msg, err);
    }
    switch (what.content) {
    case CONTENT_EMPTY:
    case CONTENT_TEXT:
        kind_append(info, "text");
        return scan_lines(sc, src, info, err);
    case CONTENT_BINARY: {
        kind_append(info, "binary");
        char why[128];
        snprintf(why, sizeof(why), "binary content (%s), not a log", what.name);
        hl_err_set(&serr, HL_EFORMAT, info->label, "%s", why);
        report_problem(sc, &serr, true);
        return record_unread(sc, info, "skipped", why, err);
    }
    case CONTENT_GZIP: {
        struct source *gz;
        if (source_gzip_new(src, &sc->opt.limits, &gz, err) < 0)
            return HL_ENOMEM;
        kind_append(info, "gzip");
        info->depth++;
        int r = scan_stream(sc, gz, info, err);
        source_free(gz);
        return r;
    }
    case CONTENT_COMPRESSED:
    case CONTENT_ARCHIVE:
        return scan_archive(sc, src, info, err);
    case CONTENT_UTF16LE:
    case CONTENT_UTF16BE: {
        /* Not a container: no depth. The UTF-8 it gives never starts with a BOM again. */
        struct source *u;
        if (source_utf16_new(src, what.content == CONTENT_UTF16BE, &u, err) < 0)
            return HL_ENOMEM;
        kind_append(info, what.name);
        int r = scan_stream(sc, u, info, err);
        source_free(u);
        return r;
    }
    }
    return 0;
}

/* journalctl -o cat, a bare message stream: not one line had a header, so no rule scoped to a
 * program or host can match. Said once per input file, after all of its streams were read,
 * unless --program or --host already said what the text is. */
static void warn_if_headerless(struct scan *sc, const char *label)
{
    bool warn = sc->input_records && sc->input_plain == sc->input_records && !sc->opt.program &&
                !sc->opt.host && sc->sink.warning;
    sc->input_records = sc->input_plain = 0;
    if (!warn)
        return;
    struct hl_err e;
    hl_err_set(&e, HL_EFORMAT, label,
               "no line has a syslog or journal header, so rules for a program or host cannot "
               "match; for journalctl use -o short-iso or -o json, or say what the text is with "
               "--program NAME (and --host NAME)");
    sc->sink.warning(sc->sink.ctx, &e);
}

/* Reads one file (or stdin), named label in messages and rows when label is not path itself.
 * Same returns as scan_path(). */
static int scan_file(struct scan *sc, const char *path, const char *label, struct hl_err *err)
{
    struct source *src;
    int64_t mtime, size;
    struct hl_err open_err;
    hl_err_clear(&open_err);
    const struct source_wait wait = { .stop = sc->stop };
    if (source_open_file(path, &wait, &src, &mtime, &size, &open_err) < 0 ||
        (label != path && source_relabel(src, label, &open_err) < 0)) {
        if (open_err.code == HL_ENOMEM) {
            *err = open_err;
            return HL_ENOMEM;
        }
        snprintf(open_err.where, sizeof(open_err.where), "%s", label);
        report_problem(sc, &open_err, false);
        /* Nothing was read, so nothing says what it is. */
        struct stream_info info = { .label = label, .kind = "unknown", .mtime = -1, .size = -1 };
        int r = record_unread(sc, &info, "error", open_err.msg, err);
        return r < 0 ? r : 1;
    }
    struct stream_info info = {
        .label = src->label,
        .mtime = mtime,
        .year_from = year_source_ok(mtime) ? mtime : 0,
        .size = size,
    };
    sc->bottom = src;
    sc->input_records = sc->input_plain = 0;
    int r = scan_stream(sc, src, &info, err);
    if (r >= 0)
        warn_if_headerless(sc, src->label);
    sc->bytes_before += source_position(src);
    sc->bottom = NULL;
    source_free(src);
    return r;
}

/* Records a directory entry that is not read (a special file, a link to a directory, a
 * directory too deep) as skipped, and tells the sink. */
static int skip_entry(struct scan *sc, const char *label, const char *kind, const char *why,
                      struct hl_err *err)
{
    struct hl_err e;
    hl_err_set(&e, HL_EFORMAT, label, "%s", why);
    report_problem(sc, &e, true);
    struct stream_info info = { .label = label, .mtime = -1, .size = -1 };
    snprintf(info.kind, sizeof(info.kind), "%s", kind);
    return record_unread(sc, &info, "skipped", why, err);
}

static const char *special_kind(mode_t mode)
{
    return S_ISFIFO(mode)   ? "fifo"
           : S_ISSOCK(mode) ? "socket"
           : S_ISCHR(mode)  ? "character device"
           : S_ISBLK(mode)  ? "block device"
                            : "special file";
}

/* Byte order, not the locale's collation: the same tree is read in the same order anywhere. */
static int cmp_names(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int not_dot(const struct dirent *d)
{
    return strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0;
}

#define SCAN_MAX_DIR_DEPTH 64 /* directory levels below an argument; deeper ones are skipped */

/* Reads a directory tree (an extracted support bundle) in name order. Files are read like
 * arguments, each with its own modification time; a symbolic link to a file is read, one to a
 * directory is not followed (no loops); fifos, sockets and devices are skipped with a row.
 * Entries are labelled "dir/sub/file", each name escaped as in archive labels. */
static int scan_dir(struct scan *sc, const char *path, const char *label, int depth,
                    struct hl_err *err)
{
    struct dirent **names = NULL;
    int n = scandir(path, &names, not_dot, cmp_names);
    if (n < 0) {
        struct hl_err e;
        hl_err_errno(&e, HL_EIO, label, "cannot read directory");
        report_problem(sc, &e, false);
        struct stream_info info = { .label = label, .kind = "directory", .mtime = -1, .size = -1 };
        int r = record_unread(sc, &info, "error", e.msg, err);
        return r < 0 ? r : 1;
    }
    int status = 0;
    for (int i = 0; i < n && status >= 0 && !stopping(sc); i++) {
        char *child = NULL, *child_label = NULL;
        size_t len = strlen(path);
        bool slash = len && path[len - 1] == '/';
        if (asprintf(&child, "%s%s%s", path, slash ? "" : "/", names[i]->d_name) < 0)
            child = NULL;
        child_label = source_label_join(label, slash ? '\0' : '/', names[i]->d_name);
        if (!child || !child_label) {
            free(child);
            free(child_label);
            status = hl_err_set(err, HL_ENOMEM, label, "out of memory");
            break;
        }
        struct stat st;
        int r;
        bool link = false;
        if (lstat(child, &st) < 0) {
            struct hl_err e;
            hl_err_errno(&e, HL_EIO, child_label, "cannot stat");
            report_problem(sc, &e, false);
            struct stream_info info = {
                .label = child_label, .kind = "unknown", .mtime = -1, .size = -1
            };
            r = record_unread(sc, &info, "error", e.msg, err);
            r = r < 0 ? r : 1;
        } else if (S_ISLNK(st.st_mode) && ((link = true), stat(child, &st) < 0)) {
            r = skip_entry(sc, child_label, "symlink", "dangling symbolic link", err);
        } else if (S_ISDIR(st.st_mode) && link) {
            r = skip_entry(sc, child_label, "symlink", "symbolic link to a directory, not followed",
                           err);
        } else if (S_ISDIR(st.st_mode)) {
            r = depth + 1 >= SCAN_MAX_DIR_DEPTH
                        ? skip_entry(sc, child_label, "directory",
                                     "directory nested deeper than 64 levels", err)
                        : scan_dir(sc, child, child_label, depth + 1, err);
        } else if (S_ISREG(st.st_mode)) {
            r = scan_file(sc, child, child_label, err);
        } else {
            char why[64];
            snprintf(why, sizeof(why), "%s, not a regular file", special_kind(st.st_mode));
            r = skip_entry(sc, child_label, special_kind(st.st_mode), why, err);
        }
        free(child);
        free(child_label);
        if (r < 0)
            status = r;
        else if (r == 1)
            status = 1;
    }
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return status;
}

int scan_path(struct scan *sc, const char *path, struct hl_err *err)
{
    struct stat st;
    /* A directory is walked; anything else (stdin, a file, a pipe the user named) is read. */
    if (strcmp(path, "-") != 0 && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return scan_dir(sc, path, path, 0, err);
    return scan_file(sc, path, path, err);
}

int scan_text(struct scan *sc, const char *label, const char *text, size_t len, struct hl_err *err)
{
    struct source *src;
    int r = source_open_mem(text, len, label, &src, err);
    if (r < 0)
        return r;
    struct stream_info info = { .label = label, .mtime = -1, .size = (int64_t)len };
    r = scan_stream(sc, src, &info, err);
    source_free(src);
    return r;
}
