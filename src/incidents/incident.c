/* Rebuilding the incidents of one (rule, host), or of the dirty groups (keys) of one: drop
 * their incidents, walk their findings (by key, then log time), asking for a reset between
 * one finding and the next, and make them again: groups split by `gap`, gated by
 * `threshold`, cut by resets; escalations raised at their counts; expectations of derived
 * rules judged against the log clock (the latest log time any scan saw). An incident made
 * again keeps its id. incident_update.c drives it over the dirty pairs. */
#include "incident.h"
#include "incident_build.h"
#include "incident_text.h"
#include "incident_mark.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "parse_time.h"
#include "clock.h"

/* Findings of one (rule, host) read before their groups are built (whole groups: a group
 * longer than this is read whole). Keeps the rebuild's memory from growing with the input. */
#define REBUILD_CHUNK 4096

/* One finding, as the builder needs it. */
struct event {
    int64_t pos; /* its row in temp.pair, in walk order */
    bool has_ts;
    int64_t ts_us;
    int64_t src, line; /* sources.id and line: the order of findings without a time */
    char *key;         /* group key JSON: owned when owns_key, else the previous event's */
    bool owns_key;     /* rows come in key order: a run of one key shares one copy */
};

struct event_list {
    struct event *v;
    size_t n, cap;
};

/* One incident about to be written. */
struct draft_incident {
    const struct rule *rule; /* what it is about */
    const char *key;         /* borrowed */
    int64_t first_us, last_us;
    bool has_ts;
    unsigned count;
    const char *state;
    int64_t first_pos, last_pos; /* the temp.pair rows of its findings, in walk order; 0 for
                                    none (an escalation or expectation links no finding) */
};

static void events_release(struct event_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].owns_key)
            free(l->v[i].key);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

static int events_push(struct event_list *l, struct stmt *st)
{
    const char *ts = stmt_text(st, 1), *key = stmt_text(st, 2);
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        struct event *v = realloc(l->v, cap * sizeof(*v));
        if (!v)
            return HL_ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    struct event *e = &l->v[l->n];
    memset(e, 0, sizeof(*e));
    e->pos = stmt_int(st, 0);
    e->src = stmt_int(st, 3);
    e->line = stmt_int(st, 4);
    bool zoned;
    if (ts)
        e->has_ts = parse_time_iso(strv_from_cstr(ts), 0, &e->ts_us, &zoned) > 0;
    const char *k = key ? key : "[]";
    if (l->n && strcmp(l->v[l->n - 1].key, k) == 0) {
        e->key = l->v[l->n - 1].key;
    } else {
        if (!(e->key = strdup(k)))
            return HL_ENOMEM;
        e->owns_key = true;
    }
    l->n++;
    return 0;
}

/* Reads the (pos, ts, group_key, source_id, line) rows of a bound statement into l. */
static int read_events(struct builder *b, struct stmt *st, struct event_list *l)
{
    int rc, r = 0;
    while (r == 0 && (rc = stmt_step(st)) == STMT_ROW)
        r = events_push(l, st);
    if (r == 0 && rc != STMT_DONE)
        r = fail(b, "cannot read findings");
    else if (r == HL_ENOMEM)
        r = hl_err_set(b->err, HL_ENOMEM, NULL, "out of memory");
    stmt_reset(st);
    return r;
}

/* A statement read one row ahead whose first column is a log time: an expectation's
 * triggers and expect lines are merged this way, in time order, so that memory does not grow
 * with their number. */
struct ts_cursor {
    struct stmt *st; /* borrowed and bound; NULL once read to the end */
    bool ready;      /* us is the row ahead */
    int64_t us;
};

/* 1 and the time of the row ahead in *ret_us, 0 at the end, or an error. */
static int cursor_peek(struct builder *b, struct ts_cursor *c, int64_t *ret_us)
{
    while (!c->ready && c->st) {
        int rc = stmt_step(c->st);
        if (rc != STMT_ROW) {
            int r = rc == STMT_DONE
                            ? 0
                            : fail(b,
                                   "cannot read the triggers or expected lines of an expectation");
            stmt_reset(c->st);
            c->st = NULL;
            if (r < 0)
                return r;
            break;
        }
        const char *ts = stmt_text(c->st, 0);
        bool zoned;
        if (!ts || parse_time_iso(strv_from_cstr(ts), 0, &c->us, &zoned) == 0)
            continue;
        c->ready = true;
    }
    *ret_us = c->us;
    return c->ready;
}

static void cursor_take(struct ts_cursor *c)
{
    c->ready = false;
}

static void cursor_close(struct ts_cursor *c)
{
    if (c->st)
        stmt_reset(c->st);
    *c = (struct ts_cursor){ 0 };
}

/* An incident's field for rule_severity(): its key holds every group-by value. */
struct key_lookup {
    const struct rule *rule;
    const char *key;
    struct buf value;
};

static bool lookup_key_field(void *ctx, const char *name, struct strv *ret)
{
    struct key_lookup *l = ctx;
    if (!incident_key_field(l->rule, l->key, name, &l->value) || !l->value.len)
        return false;
    *ret = strv_make(l->value.data, l->value.len);
    return true;
}

/* The severity of d: an escalation or expectation has its rule's; an incident of a rule's own
 * findings, the severity-when its key says. */
static enum severity incident_severity(const struct draft_incident *d, const struct rule *from)
{
    if (d->rule != from || !d->rule->n_severity_when)
        return d->rule->severity;
    struct key_lookup l = { .rule = d->rule, .key = d->key };
    buf_init(&l.value, 0);
    enum severity sev = rule_severity(d->rule, lookup_key_field, &l);
    buf_release(&l.value);
    return sev;
}

/* ---- summaries -------------------------------------------------------------------------- */

static const char *summarize(struct builder *b, const struct draft_incident *d,
                             const struct rule *from, const char *host)
{
    const struct incident_text t = { .rule = d->rule,
                                     .from = from,
                                     .key = d->key,
                                     .host = host,
                                     .count = d->count,
                                     .has_ts = d->has_ts,
                                     .first_us = d->first_us,
                                     .last_us = d->last_us };
    return incident_text_render(&b->text, &t);
}

/* ---- writing ---------------------------------------------------------------------------- */

/* The id of the incident d: the id of the old incident it is made again from (same rule,
 * trigger rule, host, key and first time), with its cause, else a new one. A new one's
 * first time is noted for link_causes (new_first_us). */
static int incident_id_for(struct builder *b, const struct draft_incident *d,
                           const struct rule *from, const char *host, int64_t *ret_id,
                           int64_t *ret_cause)
{
    int64_t old = 0;
    *ret_cause = 0;
    if (b->any_old) { /* a first scan has nothing to look up */
        char first[PARSE_TIME_ISO_LEN];
        struct stmt *st = b->st_old_find;
        stmt_bind_text(st, 1, d->rule->id);
        stmt_bind_text(st, 2, from->id);
        bind_host(st, 3, host);
        stmt_bind_text(st, 4, d->key);
        if (d->has_ts) {
            parse_time_format(d->first_us, first);
            stmt_bind_text(st, 5, first);
        } else {
            stmt_bind_null(st, 5);
        }
        int rc = stmt_step(st);
        if (rc == STMT_ROW) {
            old = stmt_int(st, 0);
            *ret_cause = stmt_int(st, 1); /* kept, as the id */
        }
        stmt_reset(st);
        if (rc != STMT_ROW && rc != STMT_DONE)
            return fail(b, "cannot read the old incidents");
    }
    if (!old) {
        *ret_id = b->next_id++;
        /* An escalation or an expectation has no findings whose links would say so. */
        size_t i = (size_t)(d->rule - b->rs->rules);
        if (d->has_ts && i < b->rs->n && d->first_us < b->new_first_us[i])
            b->new_first_us[i] = d->first_us;
        return 0;
    }
    stmt_bind_int(b->st_old_take, 1, old);
    int rc = stmt_step(b->st_old_take);
    stmt_reset(b->st_old_take);
    if (rc != STMT_DONE)
        return fail(b, "cannot read the old incidents");
    *ret_id = old;
    return 0;
}

static int write_incident(struct builder *b, const struct draft_incident *d,
                          const struct rule *from, const char *host)
{
    struct stmt *st = b->st_insert;
    char first[PARSE_TIME_ISO_LEN], last[PARSE_TIME_ISO_LEN];
    const char *summary = summarize(b, d, from, host);
    stmt_bind_text(st, 1, d->rule->id);
    stmt_bind_text(st, 2, from->id);
    stmt_bind_text(st, 3, severity_name(incident_severity(d, from)));
    bind_host(st, 4, host);
    stmt_bind_text(st, 5, d->key);
    if (d->has_ts) {
        parse_time_format(d->first_us, first);
        parse_time_format(d->last_us, last);
        stmt_bind_text(st, 6, first);
        stmt_bind_text(st, 7, last);
    } else {
        stmt_bind_null(st, 6);
        stmt_bind_null(st, 7);
    }
    stmt_bind_int(st, 8, d->count);
    stmt_bind_text(st, 9, d->state);
    stmt_bind_text(st, 10, summary);
    stmt_bind_int(st, 11, b->db->scan_id);
    int64_t id = 0;
    int64_t cause = 0;
    int r = incident_id_for(b, d, from, host, &id, &cause);
    if (r < 0)
        return r;
    stmt_bind_int(st, 12, id);
    stmt_bind_int(st, 13, cause);
    int rc = stmt_step(st);
    stmt_reset(st);
    stmt_clear(st);
    if (rc != STMT_DONE)
        return fail(b, "cannot store incident");
    if (!d->first_pos)
        return 0;
    /* The findings of an incident are one stretch of its key's rows in walk order: those from
     * its first time to its last (resets and the threshold window only cut outside it), or
     * all the untimed ones. One range of temp.pair instead of one link per finding. */
    struct stmt *st_range = b->st_link_range;
    stmt_bind_int(st_range, 1, id);
    stmt_bind_int(st_range, 2, d->first_pos);
    stmt_bind_int(st_range, 3, d->last_pos);
    rc = stmt_step(st_range);
    stmt_reset(st_range);
    return rc == STMT_DONE ? 0 : fail(b, "cannot link findings to their incident");
}

/* ---- grouping --------------------------------------------------------------------------- */

static bool where_holds(const struct rule *from, const struct rule_escalation *e, const char *key)
{
    if (!e->where_field)
        return true;
    struct buf v;
    buf_init(&v, 0);
    bool ok = false;
    if (incident_key_field(from, key, e->where_field, &v))
        for (size_t i = 0; i < e->n_where_values && !ok; i++)
            ok = strlen(e->where_values[i]) == v.len &&
                 strncasecmp(e->where_values[i], v.data ? v.data : "", v.len) == 0;
    buf_release(&v);
    return ok;
}

/* Per-key state while walking the events of one group. */
struct walk {
    struct builder *b;
    const struct rule *rule;
    const char *host;
    char *key;        /* owned: the group's key */
    int64_t *members; /* owned: temp.pair rows of the incident in progress, then of pending; an
                         incident's members past its threshold are only counted (extra) */
    size_t n_members, cap;
    size_t extra;  /* members of the incident in progress beyond those in members */
    bool has_prev; /* prev_us is the time of the last timed finding walked */
    int64_t prev_us;
    bool untimed_phase; /* the findings without a time are walked (they come last in a key) */
    size_t untimed;     /* those of them since the last reset */
    int64_t untimed_first_pos, untimed_last_pos; /* their rows */
    int64_t untimed_src, untimed_line;           /* input and line of the last one */
    struct untimed_resets resets;                /* the resets they are ordered with */
    int64_t last_pos; /* row of the last member of the incident in progress */
    size_t n_pending; /* the last n_pending members are pending (below threshold) */
    bool in_incident; /* members[0 .. n_members - n_pending) form an incident */
    int64_t first_us, last_us;
    int64_t *pending_ts;  /* owned: ts of the pending members, parallel to their tail */
    unsigned since_reset; /* findings since the last reset, for escalations */
    int64_t since_reset_first_us;
    bool *escalated;           /* owned: per escalation, raised since the last reset */
    int64_t *open_escalations; /* owned: incidents.id of escalations a reset will close */
    size_t n_open_escalations;
};

/* A good line after an escalation (the right password at last) closes it. */
static int close_escalations(struct walk *w)
{
    for (size_t i = 0; i < w->n_open_escalations; i++) {
        stmt_bind_int(w->b->st_close, 1, w->open_escalations[i]);
        int rc = stmt_step(w->b->st_close);
        stmt_reset(w->b->st_close);
        if (rc != STMT_DONE)
            return fail(w->b, "cannot close an escalation");
    }
    w->n_open_escalations = 0;
    return 0;
}

/* Writes the incident in progress; one ended by a reset is closed whatever the clock says. */
static int flush_incident(struct walk *w, bool by_reset)
{
    if (!w->in_incident)
        return 0;
    size_t n = w->n_members - w->n_pending;
    int64_t gap = w->rule->inc.gap_us;
    bool open = !by_reset && w->b->clock_us != INT64_MIN && w->b->clock_us - w->last_us <= gap;
    struct draft_incident d = {
        .rule = w->rule,
        .key = w->key,
        .first_us = w->first_us,
        .last_us = w->last_us,
        .has_ts = true,
        .count = (unsigned)(n + w->extra),
        .state = open ? "open" : "closed",
        .first_pos = w->members[0],
        .last_pos = w->last_pos,
    };
    int r = write_incident(w->b, &d, w->rule, w->host);
    memmove(w->members, w->members + n, w->n_pending * sizeof(*w->members));
    memmove(w->pending_ts, w->pending_ts + n, w->n_pending * sizeof(*w->pending_ts));
    w->n_members = w->n_pending;
    w->extra = 0;
    w->in_incident = false;
    return r;
}

static int push_member(struct walk *w, int64_t id, int64_t ts)
{
    if (w->n_members == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 64;
        int64_t *m = realloc(w->members, cap * sizeof(*m));
        int64_t *t = realloc(w->pending_ts, cap * sizeof(*t));
        if (m)
            w->members = m;
        if (t)
            w->pending_ts = t;
        if (!m || !t)
            return HL_ENOMEM;
        w->cap = cap;
    }
    w->pending_ts[w->n_members] = ts;
    w->members[w->n_members++] = id;
    return 0;
}

static int on_reset(struct walk *w)
{
    w->n_members -= w->n_pending; /* pending findings never reached the threshold */
    w->n_pending = 0;
    w->since_reset = 0;
    for (size_t i = 0; i < w->rule->inc.n_escalations; i++)
        w->escalated[i] = false;
    return close_escalations(w);
}

static int escalate(struct walk *w, const struct event *e)
{
    const struct rule_incident_spec *sp = &w->rule->inc;
    if (++w->since_reset == 1)
        w->since_reset_first_us = e->ts_us;
    for (size_t i = 0; i < sp->n_escalations; i++) {
        const struct rule_escalation *x = &sp->escalations[i];
        if (w->escalated[i] || w->since_reset < x->count || !where_holds(w->rule, x, w->key))
            continue;
        w->escalated[i] = true;
        /* A later escalation of the group overtakes the earlier ones ("1 left" once the
         * partition was zeroized): they are closed, and it alone stays open. */
        int r = close_escalations(w);
        if (r < 0)
            return r;
        struct draft_incident d = {
            .rule = &w->b->rs->rules[x->target_idx],
            .key = w->key,
            .first_us = w->since_reset_first_us,
            .last_us = e->ts_us,
            .has_ts = e->has_ts,
            .count = w->since_reset,
            .state = "open", /* until a reset says otherwise (below) */
        };
        if ((r = write_incident(w->b, &d, w->rule, w->host)) < 0)
            return r;
        w->open_escalations[w->n_open_escalations++] = db_last_id(w->b->db);
    }
    return 0;
}

static int add_finding(struct walk *w, const struct event *e)
{
    const struct rule_incident_spec *sp = &w->rule->inc;
    int r = escalate(w, e);
    if (r < 0)
        return r;
    if (w->in_incident && e->ts_us - w->last_us <= sp->gap_us && w->n_pending == 0) {
        /* An incident is linked by its range of rows: count only. */
        w->last_us = e->ts_us;
        w->last_pos = e->pos;
        w->extra++;
        return 0;
    }
    if ((r = flush_incident(w, false)) < 0)
        return r;
    if ((r = push_member(w, e->pos, e->ts_us)) < 0)
        return r;
    w->n_pending++;
    /* Slide the threshold window: pending findings older than it no longer count. */
    if (sp->threshold > 1) {
        size_t start = w->n_members - w->n_pending, drop = 0;
        while (drop < w->n_pending && e->ts_us - w->pending_ts[start + drop] > sp->threshold_us)
            drop++;
        memmove(w->members + start, w->members + start + drop,
                (w->n_pending - drop) * sizeof(*w->members));
        memmove(w->pending_ts + start, w->pending_ts + start + drop,
                (w->n_pending - drop) * sizeof(*w->pending_ts));
        w->n_members -= drop;
        w->n_pending -= drop;
    }
    if (w->n_pending >= (sp->threshold ? sp->threshold : 1)) {
        w->in_incident = true;
        w->first_us = w->pending_ts[w->n_members - w->n_pending];
        w->last_us = e->ts_us;
        w->last_pos = e->pos;
        w->n_pending = 0;
    }
    return 0;
}

/* Building the incidents of one key is a walk over its findings in time order (untimed
 * last, by input and line), fed in chunks: walk_begin(), walk_event() for each finding,
 * walk_end(). */
static int walk_begin(struct walk *w, struct builder *b, const struct rule *rule, const char *host,
                      const char *key)
{
    *w = (struct walk){ .b = b, .rule = rule, .host = host };
    w->key = strdup(key);
    w->escalated = calloc(rule->inc.n_escalations + 1, sizeof(*w->escalated));
    w->open_escalations = calloc(rule->inc.n_escalations + 1, sizeof(*w->open_escalations));
    if (!w->key || !w->escalated || !w->open_escalations)
        return hl_err_set(b->err, HL_ENOMEM, NULL, "out of memory");
    return 0;
}

static void walk_release(struct walk *w)
{
    untimed_resets_close(&w->resets);
    free(w->key);
    free(w->members);
    free(w->pending_ts);
    free(w->escalated);
    free(w->open_escalations);
    memset(w, 0, sizeof(*w));
}

/* The timed findings are over: a reset after the last of them ends its incident, closes the
 * escalations and restarts the count. Untimed findings that follow count from there: were
 * they before the reset, it would have reset them too. */
static int walk_timed_end(struct walk *w)
{
    int r = w->has_prev ? reset_between(w->b, w->rule, w->host, w->key, w->prev_us, INT64_MAX)
                        : 0; /* before the first finding there is nothing to reset */
    bool reset_after = r > 0;
    if (r >= 0)
        r = flush_incident(w, reset_after);
    if (r == 0 && reset_after)
        r = on_reset(w);
    return r;
}

/* The untimed findings since the last reset form one incident, when they are enough. */
static int flush_untimed(struct walk *w)
{
    size_t n = w->untimed;
    w->untimed = 0;
    if (!n || n < (w->rule->inc.threshold ? w->rule->inc.threshold : 1))
        return 0;
    struct draft_incident d = {
        .rule = w->rule,
        .key = w->key,
        .count = (unsigned)n,
        .state = "closed",
        .first_pos = w->untimed_first_pos,
        .last_pos = w->untimed_last_pos,
    };
    return write_incident(w->b, &d, w->rule, w->host);
}

/* A pasted console session has no times, but its bad logins still count, and its good login
 * after them, in the same paste, resets them. Lines without a time are ordered only within
 * their input: a reset in another input, or one with a time, is not known to come between
 * two of them, and an escalation left open is the safer error ('hsm show' tells the attempts
 * left). Untimed findings of several inputs are walked input after input. */
static int walk_untimed(struct walk *w, const struct event *e)
{
    int r = 0;
    if (!w->untimed_phase) {
        w->untimed_phase = true;
        if ((r = walk_timed_end(w)) == 0)
            r = untimed_resets_open(w->b, &w->resets, w->rule, w->host, w->key);
    } else if ((r = untimed_reset_after(w->b, &w->resets, w->untimed_src, w->untimed_line, e->src,
                                        e->line)) > 0 &&
               (r = flush_untimed(w)) == 0) {
        r = on_reset(w);
    }
    if (r < 0)
        return r;
    if (w->untimed++ == 0)
        w->untimed_first_pos = e->pos;
    w->untimed_last_pos = e->pos;
    w->untimed_src = e->src;
    w->untimed_line = e->line;
    return escalate(w, e);
}

static int walk_event(struct walk *w, const struct event *e)
{
    int r = 0;
    if (!e->has_ts) {
        r = walk_untimed(w, e);
    } else {
        /* A reset since the last finding, up to this one's time (a reset at the same second
         * comes after it). Before the first finding there is nothing to reset. */
        if (w->has_prev &&
            (r = reset_between(w->b, w->rule, w->host, w->key, w->prev_us, e->ts_us)) > 0 &&
            (r = flush_incident(w, true)) == 0)
            r = on_reset(w);
        w->prev_us = e->ts_us;
        w->has_prev = true;
        if (r >= 0)
            r = add_finding(w, e);
    }
    if (r == HL_ENOMEM)
        r = hl_err_set(w->b->err, HL_ENOMEM, NULL, "out of memory");
    return r;
}

/* A reset after the last finding ends the incident and closes the escalations. */
static int walk_end(struct walk *w)
{
    int r;
    if (!w->untimed_phase) {
        r = walk_timed_end(w);
    } else if ((r = untimed_reset_after(w->b, &w->resets, w->untimed_src, w->untimed_line,
                                        INT64_MAX, INT64_MAX)) >= 0) {
        bool reset_after = r > 0;
        if ((r = flush_untimed(w)) == 0 && reset_after)
            r = close_escalations(w);
    }
    walk_release(w);
    return r;
}

/* ---- expectations ----------------------------------------------------------------------- */

/* Judges the expectations of derived rule x (its first `after` trigger is trigger) on host:
 * each episode of the findings of all its triggers, merged in time order, either meets an
 * expect line in its window, fires (log time went past the window), or stays open (the input
 * ended first). Triggers and expect lines are both read in time order, side by side. */
static int build_expectations(struct builder *b, const struct rule *trigger, const struct rule *x,
                              const char *host)
{
    struct buf ids; /* the trigger rules */
    buf_init(&ids, 0);
    int r = rule_ids_json(b, x->inc.after_idx, x->inc.n_after, &ids);
    if (r < 0) {
        buf_release(&ids);
        return r;
    }
    stmt_reset(b->st_triggers);
    stmt_bind_text_copy(b->st_triggers, 1, buf_cstr(&ids));
    buf_release(&ids);
    bind_host(b->st_triggers, 2, host);
    stmt_reset(b->st_expects);
    stmt_bind_text(b->st_expects, 1, x->id);
    bind_host(b->st_expects, 2, host);
    struct ts_cursor triggers = { .st = b->st_triggers }, marks = { .st = b->st_expects };
    char key[512];
    struct buf k;
    buf_init(&k, 0);
    r = buf_addc(&k, '[') == 0 && json_put_string(&k, host, strlen(host)) == 0 &&
                        buf_addc(&k, ']') == 0
                ? 0
                : hl_err_set(b->err, HL_ENOMEM, NULL, "out of memory");
    snprintf(key, sizeof(key), "%s", r == 0 ? buf_cstr(&k) : "[]");
    buf_release(&k);
    int64_t start, mark_us = 0;
    while (r == 0) {
        int has = cursor_peek(b, &triggers, &start);
        if (has <= 0) {
            r = has;
            break;
        }
        int64_t deadline = start + x->inc.expect_us;
        while ((has = cursor_peek(b, &marks, &mark_us)) > 0 && mark_us <= start)
            cursor_take(&marks);
        if (has < 0) {
            r = has;
            break;
        }
        bool met = has > 0 && mark_us <= deadline;
        int64_t end = met ? mark_us : deadline, last = start, at;
        unsigned count = 0;
        while ((has = cursor_peek(b, &triggers, &at)) > 0 && at <= end) {
            cursor_take(&triggers);
            last = at;
            count++;
        }
        if (has < 0) {
            r = has;
            break;
        }
        if (met)
            continue;
        struct draft_incident d = {
            .rule = x,
            .key = key,
            .first_us = start,
            .last_us = last,
            .has_ts = true,
            .count = count,
            .state = b->clock_us != INT64_MIN && b->clock_us > deadline ? "fired" : "open",
        };
        r = write_incident(b, &d, trigger, host);
    }
    cursor_close(&triggers);
    cursor_close(&marks);
    return r;
}

/* ---- one (rule, host) ------------------------------------------------------------------- */

bool incident_expects_after(const struct ruleset *rs, const struct rule *x,
                            const struct rule *trigger)
{
    size_t first = rule_after_first(x);
    return first < rs->n && &rs->rules[first] == trigger;
}

/* Rebuilds the incidents of rule on host: all of them, or (keyed) those of the group keys in
 * temp.keys. */
int incident_rebuild_pair(struct builder *b, const struct rule *rule, const char *host, bool keyed)
{
    /* Old incidents of this pair go, noted in temp.old: one made again keeps its id, and
     * apply_links() unlinks the findings that are left out. */
    struct stmt *del[] = { keyed ? b->st_old_save_keys : b->st_old_save,
                           keyed ? b->st_delete_keys : b->st_delete };
    for (size_t i = 0; i < ARRAY_SIZE(del); i++) {
        stmt_bind_text(del[i], 1, rule->id);
        bind_host(del[i], 2, host);
        int rc = stmt_step(del[i]);
        stmt_reset(del[i]);
        if (rc != STMT_DONE)
            return fail(b, "cannot drop old incidents");
        if (i == 0 && db_changes(b->db) > 0)
            b->any_old = true;
    }
    struct event_list findings = { 0 };
    int r = 0;
    /* The pair in walk order (temp.pair), read in chunks: each starts after the last row of
     * the one before, so no statement is left reading while incidents are written and memory
     * holds one chunk, whatever the size of a group. */
    struct stmt *fill[] = { b->st_pair_clear, keyed ? b->st_pair_fill_keys : b->st_pair_fill };
    stmt_bind_text(fill[1], 1, rule->id);
    bind_host(fill[1], 2, host);
    for (size_t i = 0; r == 0 && i < ARRAY_SIZE(fill); i++) {
        int rc = stmt_step(fill[i]);
        stmt_reset(fill[i]);
        if (rc != STMT_DONE)
            r = fail(b, "cannot sort the findings of a rule and host");
    }
    struct walk w = { 0 };
    bool walking = false;
    int64_t cur_pos = 0; /* pos of the last row read */
    for (bool more = true; r == 0 && more;) {
        struct stmt *st = b->st_findings;
        stmt_bind_int(st, 1, cur_pos);
        stmt_bind_int(st, 2, REBUILD_CHUNK);
        events_release(&findings);
        r = read_events(b, st, &findings);
        more = findings.n == REBUILD_CHUNK;
        cur_pos += (int64_t)findings.n;
        for (size_t i = 0; r == 0 && i < findings.n; i++) {
            const struct event *e = &findings.v[i];
            if (walking && strcmp(w.key, e->key) != 0) {
                walking = false;
                r = walk_end(&w);
            }
            if (r == 0 && !walking && (r = walk_begin(&w, b, rule, host, e->key)) == 0)
                walking = true;
            if (r == 0)
                r = walk_event(&w, e);
        }
    }
    if (walking) {
        int e = walk_end(&w);
        r = r ? r : e;
    }
    walk_release(&w);
    events_release(&findings);
    for (size_t i = 0; r == 0 && !keyed && i < b->rs->n; i++)
        if (incident_expects_after(b->rs, &b->rs->rules[i], rule))
            r = build_expectations(b, rule, &b->rs->rules[i], host);
    return r;
}
