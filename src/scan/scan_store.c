/* Storing hits: a finding or a reset/expect mark goes to the database and the sink, in line
 * or through the storage thread (struct handoff), which applies them in order on the scan's
 * connection. What only the scan thread may touch stays in scan.c. */
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
        int r = scan_writer_sync(sc, err);
        return r < 0 ? r : apply_hit(sc, h, err);
    }
    struct hit_msg *m = handoff_reserve(sc->writer, len);
    if (!m)
        return scan_writer_sync(sc, err); /* the thread failed: its error */
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
