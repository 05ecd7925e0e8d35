/* Storing hits: a finding or a reset/expect mark goes to the database and the sink, in line
 * or through the storage thread (struct handoff), which applies them in order on the scan's
 * connection, with the appliance hosts the scan learns. A finding of a `hosts = appliance`
 * rule whose host is not known as an appliance's yet is stored, but held back from the sink
 * until it is (scan_show_held()). What only the scan thread may touch stays in scan.c. */
#include "scan.h"
#include "scan_impl.h"

#include <string.h>

#include "event_id.h"
#include "handoff.h"
#include "incident_mark.h"

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

/* ---- a hit packed ----------------------------------------------------------------------- */

/* A hit as it travels through the ring, or waits in sc->held: this header, then the bytes of
 * each slice in the order of enum hit_part. */
enum hit_part {
    PART_HOST,
    PART_PROGRAM,
    PART_PID,
    PART_MESSAGE,
    PART_RAW,
    PART_FIELDS,
    PART_KEY,
    PART_LABEL, /* held hits only, with its NUL: the ring's point at the stream's label */
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
    bool first_of_line, has_ts, has_ts_text, needs_appliance, held;
    bool is_host; /* not a hit: an appliance host learned (host, source_id, line) */
    bool is_new;  /* held hits: it was not in the database yet */
    char ts[PARSE_TIME_ISO_LEN];
    uint32_t len[PART__COUNT];
};

/* The slices of h, in the order of enum hit_part (no label: the ring points at it). */
static void hit_parts(const struct hit *h, struct strv part[PART__COUNT])
{
    memset(part, 0, PART__COUNT * sizeof(*part));
    part[PART_HOST] = h->rec.host;
    part[PART_PROGRAM] = h->rec.program;
    part[PART_PID] = h->rec.pid;
    part[PART_MESSAGE] = h->rec.message;
    part[PART_RAW] = h->rec.raw;
    part[PART_FIELDS] = h->fields;
    part[PART_KEY] = h->key;
}

static size_t msg_len(const struct strv part[PART__COUNT])
{
    size_t len = sizeof(struct hit_msg);
    for (size_t i = 0; i < PART__COUNT; i++)
        len += part[i].n;
    return len;
}

/* Writes h with its slices part into m, which has room for msg_len(part) bytes. */
static void hit_pack(struct hit_msg *m, const struct hit *h, const struct strv part[PART__COUNT])
{
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
        .needs_appliance = h->needs_appliance,
        .held = h->held,
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
}

/* Reads m back into *h, whose slices point into m. Returns the bytes m takes. */
static size_t hit_unpack(const struct hit_msg *m, struct hit *h)
{
    struct strv part[PART__COUNT];
    const char *p = (const char *)(m + 1);
    for (size_t i = 0; i < PART__COUNT; i++) {
        part[i] = strv_make(p, m->len[i]);
        p += m->len[i];
    }
    *h = (struct hit){
        .rule = m->rule,
        .severity = m->severity,
        .label = part[PART_LABEL].n ? part[PART_LABEL].p : m->label,
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
        .needs_appliance = m->needs_appliance,
        .held = m->held,
    };
    return (size_t)(p - (const char *)m);
}

/* ---- held findings ---------------------------------------------------------------------- */

/* Held hits lie end to end in sc->held, each aligned for its header. */
static size_t held_size(size_t len)
{
    const size_t a = _Alignof(struct hit_msg);
    return (len + a - 1) / a * a;
}

/* Keeps a copy of finding h, stored (is_new: as a new row) but not yet told, until its host
 * is known as an appliance's. Past SCAN_HELD_MAX it is only counted. Runs where hits are
 * applied: on the storage thread, when there is one. */
static void hold(struct scan *sc, const struct hit *h, bool is_new)
{
    struct strv part[PART__COUNT];
    hit_parts(h, part);
    part[PART_LABEL] = strv_make(h->label, strlen(h->label) + 1);
    size_t n = held_size(msg_len(part));
    if (buf_reserve(&sc->held, n) < 0) {
        sc->held_dropped++;
        return;
    }
    struct hit_msg *m = (struct hit_msg *)(void *)(sc->held.data + sc->held.len);
    hit_pack(m, h, part);
    m->is_new = is_new;
    sc->held.len += n;
    sc->held.data[sc->held.len] = '\0';
}

/* Counts finding h (is_new: a row new to the database) and tells the sink. held: it was held
 * back, and the source it came from may be finished already. */
static void tell(struct scan *sc, const struct hit *h, bool is_new, bool held)
{
    sc->findings++;
    if (is_new) {
        sc->new_findings++;
        if (!held)
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
}

void scan_show_held(struct scan *sc)
{
    size_t at = 0, kept = 0;
    while (at < sc->held.len) {
        struct hit_msg *m = (struct hit_msg *)(void *)(sc->held.data + at);
        struct hit h;
        size_t n = held_size(hit_unpack(m, &h));
        if (appliance_hosts_has(&sc->appliances, &h.rec)) {
            tell(sc, &h, m->is_new, true);
        } else {
            if (kept != at)
                memmove(sc->held.data + kept, m, n);
            kept += n;
        }
        at += n;
    }
    sc->held.len = kept;
    if (sc->held.data)
        sc->held.data[kept] = '\0';
    sc->held_due = false;
    if (sc->held_dropped && !sc->said_held_full && sc->sink.warning) {
        sc->said_held_full = true;
        struct hl_err e;
        hl_err_set(&e, HL_ELIMIT, NULL,
                   "more findings of 'hosts = appliance' rules waited for their host to be "
                   "known as an appliance than %u MiB holds: %llu of them are not shown here, "
                   "whatever a later line says of their host (a database keeps them)",
                   (unsigned)(SCAN_HELD_MAX >> 20), (unsigned long long)sc->held_dropped);
        sc->sink.warning(sc->sink.ctx, &e);
    }
}

int scan_settle_held(struct scan *sc, struct hl_err *err)
{
    if (!sc->held_due)
        return 0;
    int r = scan_writer_sync(sc, err);
    if (r == 0)
        scan_show_held(sc);
    return r;
}

/* ---- storing ---------------------------------------------------------------------------- */

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

/* Stores a hit (a finding or a mark), counts it and tells the sink, or holds it back. */
static int apply_hit(struct scan *sc, const struct hit *h, struct hl_err *err)
{
    int r;
    if (sc->db && h->first_of_line) {
        /* Between lines: a line's rows commit together, and the write lock is shared. */
        if (sc->writer && (r = db_tick(sc->db, err)) < 0)
            return r;
        int64_t second = h->rec.has_ts ? event_id_second(h->rec.ts_us) : 0;
        if ((r = occurrences_count(&sc->occurrences, h->hash, second, &sc->occurrence, err)) < 0)
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
            .needs_appliance = h->needs_appliance,
        };
        if ((r = db_finding_add(sc->db, &f, &is_new, err)) < 0)
            return r;
        if (is_new &&
            (r = incident_marks_finding(&sc->marks, h->rule, h->rec.host, h->key, err)) < 0)
            return r;
    }
    if (h->held)
        hold(sc, h, is_new);
    else
        tell(sc, h, is_new, false);
    return 0;
}

/* ---- the storage thread ----------------------------------------------------------------- */

static int writer_apply(void *ctx, void *msg, size_t len, struct hl_err *err)
{
    (void)len;
    struct scan *sc = ctx;
    const struct hit_msg *m = msg;
    struct hit h;
    hit_unpack(m, &h);
    if (m->is_host)
        return incident_marks_appliance(&sc->marks, h.rec.host, h.source_id, h.line, err);
    return apply_hit(sc, &h, err);
}

/* The storage thread waited a while for hits: commit, so other writers get the lock. */
static int writer_idle(void *ctx, struct hl_err *err)
{
    struct scan *sc = ctx;
    return db_commit(sc->db, err);
}

int scan_writer_sync(struct scan *sc, struct hl_err *err)
{
    return sc->writer ? handoff_sync(sc->writer, err) : 0;
}

int scan_store_hit(struct scan *sc, const struct hit *h, struct hl_err *err)
{
    if (!sc->writer && sc->opt.writer_thread && sc->db && !sc->writer_failed) {
        struct hl_err ignored;
        /* Without the thread (no memory, no thread) everything is stored in line. */
        sc->writer_failed = handoff_start(&sc->writer, SCAN_WRITER_RING, writer_apply, writer_idle,
                                          DB_TX_MAX_MS, sc, &ignored) < 0;
    }
    if (!sc->writer)
        return apply_hit(sc, h, err);
    struct strv part[PART__COUNT];
    hit_parts(h, part);
    size_t len = msg_len(part);
    if (len > handoff_max_message(sc->writer)) {
        /* A huge line (--max-line raised): store it here, after what is in flight. */
        int r = scan_writer_sync(sc, err);
        return r < 0 ? r : apply_hit(sc, h, err);
    }
    struct hit_msg *m = handoff_reserve(sc->writer, len);
    if (!m)
        return scan_writer_sync(sc, err); /* the thread failed: its error */
    hit_pack(m, h, part);
    handoff_commit(sc->writer);
    return 0;
}

int scan_store_appliance(struct scan *sc, struct strv host, int64_t source_id, uint64_t line,
                         struct hl_err *err)
{
    if (!sc->db)
        return 0;
    if (!sc->writer)
        return incident_marks_appliance(&sc->marks, host, source_id, line, err);
    /* Through the ring, in order: the hits before it are stored before the host is noted. */
    const struct hit h = { .source_id = source_id, .line = line, .rec = { .host = host } };
    struct strv part[PART__COUNT];
    hit_parts(&h, part);
    size_t len = msg_len(part);
    if (len > handoff_max_message(sc->writer)) {
        int r = scan_writer_sync(sc, err);
        return r < 0 ? r : incident_marks_appliance(&sc->marks, host, source_id, line, err);
    }
    struct hit_msg *m = handoff_reserve(sc->writer, len);
    if (!m)
        return scan_writer_sync(sc, err);
    hit_pack(m, &h, part);
    m->is_host = true;
    handoff_commit(sc->writer);
    return 0;
}
