/* Incident builder (see incident.h). For each dirty (rule, host), or the dirty groups (keys)
 * of one: drop their incidents, walk their findings (by key, then log time), asking for a
 * reset between one finding and the next, and make them again: groups split by `gap`, gated
 * by `threshold`, cut by resets; escalations raised at their counts; expectations of derived
 * rules judged against the log clock (the latest log time any scan saw). An incident made
 * again keeps its id. Open incidents elsewhere are judged again against the clock, and cause
 * links (incident_cause.c) are redone from where something moved. */
#include "incident.h"
#include "incident_build.h"

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

/* incidents_dirty.rule_id of the row that asks for every cause to be linked again (a rebuild
 * with rules whose caused-by may have changed); no rule id has a '*'. */
#define ALL_CAUSES "*"

/* One finding or reset, as the builder needs it. */
struct event {
    int64_t pos; /* its row in temp.pair, in walk order */
    bool has_ts;
    int64_t ts_us;
    char *key;     /* group key JSON: owned when owns_key, else the previous event's */
    bool owns_key; /* rows come in key order: a run of one key shares one copy */
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

static int events_push(struct event_list *l, int64_t pos, const unsigned char *ts,
                       const unsigned char *key)
{
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
    e->pos = pos;
    bool zoned;
    if (ts)
        e->has_ts = parse_time_iso(strv_from_cstr((const char *)ts), 0, &e->ts_us, &zoned) > 0;
    const char *k = key ? (const char *)key : "[]";
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

/* Reads the (pos, ts, group_key) rows of a bound statement into l. */
static int read_events(struct builder *b, sqlite3_stmt *st, struct event_list *l)
{
    int rc, r = 0;
    while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW)
        r = events_push(l, sqlite3_column_int64(st, 0), sqlite3_column_text(st, 1),
                        sqlite3_column_text(st, 2));
    if (r == 0 && rc != SQLITE_DONE)
        r = fail(b, "cannot read findings");
    else if (r == HL_ENOMEM)
        r = hl_err_set(b->err, HL_ENOMEM, NULL, "out of memory");
    sqlite3_reset(st);
    return r;
}

/* A statement read one row ahead whose first column is a log time: an expectation's
 * triggers and expect lines are merged this way, in time order, so that memory does not grow
 * with their number. */
struct ts_cursor {
    sqlite3_stmt *st; /* borrowed and bound; NULL once read to the end */
    bool ready;       /* us is the row ahead */
    int64_t us;
};

/* 1 and the time of the row ahead in *ret_us, 0 at the end, or an error. */
static int cursor_peek(struct builder *b, struct ts_cursor *c, int64_t *ret_us)
{
    while (!c->ready && c->st) {
        int rc = sqlite3_step(c->st);
        if (rc != SQLITE_ROW) {
            int r = rc == SQLITE_DONE
                            ? 0
                            : fail(b,
                                   "cannot read the triggers or expected lines of an expectation");
            sqlite3_reset(c->st);
            c->st = NULL;
            if (r < 0)
                return r;
            break;
        }
        const unsigned char *ts = sqlite3_column_text(c->st, 0);
        bool zoned;
        if (!ts || parse_time_iso(strv_from_cstr((const char *)ts), 0, &c->us, &zoned) == 0)
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
        sqlite3_reset(c->st);
    *c = (struct ts_cursor){ 0 };
}

static void bind_host(sqlite3_stmt *st, int i, const char *host)
{
    if (*host)
        sqlite3_bind_text(st, i, host, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

size_t key_parts(const char *key, struct buf parts[KEY_MAX_PARTS])
{
    size_t n = 0;
    const char *p = key;
    while (*p && n < KEY_MAX_PARTS) {
        if (*p != '"') {
            p++;
            continue;
        }
        const char *q = p + 1;
        while (*q && *q != '"')
            q += (*q == '\\' && q[1]) ? 2 : 1;
        if (!*q)
            break;
        buf_reset(&parts[n]);
        if (json_value_decode(strv_make(p, (size_t)(q - p + 1)), &parts[n]) < 0)
            break;
        n++;
        p = q + 1;
    }
    return n;
}

/* True when a reset with reset_key applies to a group with key: equal, or equal in every
 * part the reset names (an empty part, a good login without a role, matches any). */
static bool reset_applies(const char *reset_key, const char *key)
{
    if (strcmp(reset_key, key) == 0)
        return true;
    struct buf a[KEY_MAX_PARTS], k[KEY_MAX_PARTS];
    for (size_t i = 0; i < KEY_MAX_PARTS; i++) {
        buf_init(&a[i], 0);
        buf_init(&k[i], 0);
    }
    size_t na = key_parts(reset_key, a), nk = key_parts(key, k);
    bool ok = na == nk;
    for (size_t i = 0; ok && i < na; i++)
        ok = a[i].len == 0 || (a[i].len == k[i].len && memcmp(a[i].data, k[i].data, a[i].len) == 0);
    for (size_t i = 0; i < KEY_MAX_PARTS; i++) {
        buf_release(&a[i]);
        buf_release(&k[i]);
    }
    return ok;
}

/* The value of group-by field name in key, into out; false when the rule has no such field. */
static bool key_field(const struct rule *r, const char *key, const char *name, struct buf *out)
{
    struct buf parts[KEY_MAX_PARTS];
    for (size_t i = 0; i < KEY_MAX_PARTS; i++)
        buf_init(&parts[i], 0);
    size_t n = key_parts(key, parts);
    bool found = false;
    for (size_t i = 0; i < r->inc.n_group_by && i < n && !found; i++) {
        if (strcmp(r->inc.group_by[i], name) == 0) {
            buf_reset(out);
            found = buf_add(out, parts[i].data ? parts[i].data : "", parts[i].len) == 0;
        }
    }
    for (size_t i = 0; i < KEY_MAX_PARTS; i++)
        buf_release(&parts[i]);
    return found;
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
    if (!key_field(l->rule, l->key, name, &l->value) || !l->value.len)
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

static void put_ts(struct buf *out, bool has_ts, int64_t us)
{
    char ts[PARSE_TIME_ISO_LEN];
    if (!has_ts) {
        HL_IGNORE(buf_adds(out, "?"));
        return;
    }
    parse_time_format(us, ts);
    ts[19] = '\0'; /* "2026-11-28 14:02:51": seconds are enough in a sentence */
    HL_IGNORE(buf_adds(out, ts));
}

/* Expands the rule's `incident` template (or its summary) with {count}, {left}, {limit},
 * {host}, {first}, {last}, {trigger} and the group-by fields of the key. */
static const char *summarize(struct builder *b, const struct draft_incident *d,
                             const struct rule *from, const char *host)
{
    const struct rule *r = d->rule;
    const char *tpl = r->inc.template ? r->inc.template : r->summary;
    struct buf *out = &b->text;
    struct buf field;
    buf_init(&field, 0);
    buf_reset(out);
    for (const char *p = tpl; *p; p++) {
        const char *close = *p == '{' ? strchr(p, '}') : NULL;
        if (!close || close - p > 40) {
            HL_IGNORE(buf_addc(out, *p));
            continue;
        }
        char name[48];
        snprintf(name, sizeof(name), "%.*s", (int)(close - p - 1), p + 1);
        char num[32];
        if (strcmp(name, "count") == 0) {
            snprintf(num, sizeof(num), "%u", d->count);
            HL_IGNORE(buf_adds(out, num));
        } else if (strcmp(name, "left") == 0 || strcmp(name, "limit") == 0) {
            unsigned v = strcmp(name, "limit") == 0 ? r->inc.limit
                         : r->inc.limit > d->count  ? r->inc.limit - d->count
                                                    : 0;
            snprintf(num, sizeof(num), "%u", v);
            HL_IGNORE(buf_adds(out, num));
        } else if (strcmp(name, "host") == 0) {
            HL_IGNORE(buf_adds(out, *host ? host : "(no host)"));
        } else if (strcmp(name, "first") == 0 || strcmp(name, "last") == 0) {
            put_ts(out, d->has_ts, name[0] == 'f' ? d->first_us : d->last_us);
        } else if (strcmp(name, "trigger") == 0) {
            HL_IGNORE(buf_adds(out, from->id));
        } else if (key_field(from, d->key, name, &field)) {
            HL_IGNORE(buf_add(out, field.data ? field.data : "", field.len));
            /* An empty field leaves no double space: "1 bad login(s)", not "1 bad  login(s)". */
            if (!field.len && close[1] == ' ' && out->len && out->data[out->len - 1] == ' ')
                close++;
        } else {
            HL_IGNORE(buf_add(out, p, (size_t)(close - p + 1)));
        }
        p = close;
    }
    buf_release(&field);
    return buf_cstr(out);
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
        sqlite3_stmt *st = b->st_old_find;
        sqlite3_bind_text(st, 1, d->rule->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, from->id, -1, SQLITE_STATIC);
        bind_host(st, 3, host);
        sqlite3_bind_text(st, 4, d->key, -1, SQLITE_STATIC);
        if (d->has_ts) {
            parse_time_format(d->first_us, first);
            sqlite3_bind_text(st, 5, first, -1, SQLITE_STATIC);
        } else {
            sqlite3_bind_null(st, 5);
        }
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            old = sqlite3_column_int64(st, 0);
            *ret_cause = sqlite3_column_int64(st, 1); /* kept, as the id */
        }
        sqlite3_reset(st);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
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
    sqlite3_bind_int64(b->st_old_take, 1, old);
    int rc = sqlite3_step(b->st_old_take);
    sqlite3_reset(b->st_old_take);
    if (rc != SQLITE_DONE)
        return fail(b, "cannot read the old incidents");
    *ret_id = old;
    return 0;
}

static int write_incident(struct builder *b, const struct draft_incident *d,
                          const struct rule *from, const char *host)
{
    sqlite3_stmt *st = b->st_insert;
    char first[PARSE_TIME_ISO_LEN], last[PARSE_TIME_ISO_LEN];
    const char *summary = summarize(b, d, from, host);
    sqlite3_bind_text(st, 1, d->rule->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, from->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, severity_name(incident_severity(d, from)), -1, SQLITE_STATIC);
    bind_host(st, 4, host);
    sqlite3_bind_text(st, 5, d->key, -1, SQLITE_STATIC);
    if (d->has_ts) {
        parse_time_format(d->first_us, first);
        parse_time_format(d->last_us, last);
        sqlite3_bind_text(st, 6, first, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, last, -1, SQLITE_STATIC);
    } else {
        sqlite3_bind_null(st, 6);
        sqlite3_bind_null(st, 7);
    }
    sqlite3_bind_int64(st, 8, d->count);
    sqlite3_bind_text(st, 9, d->state, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 10, summary, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 11, b->db->scan_id);
    int64_t id = 0;
    int64_t cause = 0;
    int r = incident_id_for(b, d, from, host, &id, &cause);
    if (r < 0)
        return r;
    sqlite3_bind_int64(st, 12, id);
    sqlite3_bind_int64(st, 13, cause);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE)
        return fail(b, "cannot store incident");
    if (!d->first_pos)
        return 0;
    /* The findings of an incident are one stretch of its key's rows in walk order: those from
     * its first time to its last (resets and the threshold window only cut outside it), or
     * all the untimed ones. One range of temp.pair instead of one link per finding. */
    sqlite3_stmt *st_range = b->st_link_range;
    sqlite3_bind_int64(st_range, 1, id);
    sqlite3_bind_int64(st_range, 2, d->first_pos);
    sqlite3_bind_int64(st_range, 3, d->last_pos);
    rc = sqlite3_step(st_range);
    sqlite3_reset(st_range);
    return rc == SQLITE_DONE ? 0 : fail(b, "cannot link findings to their incident");
}

/* ---- grouping --------------------------------------------------------------------------- */

static bool where_holds(const struct rule *from, const struct rule_escalation *e, const char *key)
{
    if (!e->where_field)
        return true;
    struct buf v;
    buf_init(&v, 0);
    bool ok = false;
    if (key_field(from, key, e->where_field, &v))
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
    size_t untimed;                              /* findings of the group without a time */
    int64_t untimed_first_pos, untimed_last_pos; /* their rows (they come last in a key) */
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
        sqlite3_bind_int64(w->b->st_close, 1, w->open_escalations[i]);
        int rc = sqlite3_step(w->b->st_close);
        sqlite3_reset(w->b->st_close);
        if (rc != SQLITE_DONE)
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
        w->open_escalations[w->n_open_escalations++] = sqlite3_last_insert_rowid(w->b->db->h);
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

/* 1 when a reset that applies to the walk's key has a time in [from_us, to_us) (INT64_MIN and
 * INT64_MAX for open ends), 0 when none (or the rule has no reset), or an error. A reset is a
 * line of the rule's reset pattern, or a finding on the walk's host of a rule it names in
 * reset-by (hsm.zeroized overtakes a count of bad HSM SO logins). Several resets between two
 * findings do what the first does, so the walk asks once per finding, through marks_rule_host
 * and findings_rule_host, instead of reading every reset: a busy client logs a good login
 * every few seconds, for years. */
static int reset_between(struct walk *w, int64_t from_us, int64_t to_us)
{
    const struct rule_incident_spec *sp = &w->rule->inc;
    if (sp->reset_idx == SIZE_MAX && sp->n_reset_by == 0)
        return 0;
    char from[PARSE_TIME_ISO_LEN] = "", to[PARSE_TIME_ISO_LEN] = "~"; /* "~" sorts last */
    if (from_us != INT64_MIN)
        parse_time_format(from_us, from);
    if (to_us != INT64_MAX)
        parse_time_format(to_us, to);
    int rc = SQLITE_DONE, found = 0;
    sqlite3_stmt *st = w->b->st_resets;
    if (sp->reset_idx != SIZE_MAX) {
        sqlite3_bind_text(st, 1, w->rule->id, -1, SQLITE_STATIC);
        bind_host(st, 2, w->host);
        sqlite3_bind_text(st, 3, w->key, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, from, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, to, -1, SQLITE_STATIC);
        while (!found && (rc = sqlite3_step(st)) == SQLITE_ROW) {
            const unsigned char *key = sqlite3_column_text(st, 0);
            found = reset_applies(key ? (const char *)key : "[]", w->key);
        }
        sqlite3_reset(st);
    }
    for (size_t i = 0; !found && (rc == SQLITE_DONE || rc == SQLITE_ROW) && i < sp->n_reset_by;
         i++) {
        if (!sp->reset_by_idx || sp->reset_by_idx[i] == SIZE_MAX)
            continue;
        st = w->b->st_reset_by;
        sqlite3_bind_text(st, 1, w->b->rs->rules[sp->reset_by_idx[i]].id, -1, SQLITE_STATIC);
        bind_host(st, 2, w->host);
        sqlite3_bind_text(st, 3, from, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, to, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        found = rc == SQLITE_ROW;
        sqlite3_reset(st);
    }
    return found || rc == SQLITE_DONE ? found : fail(w->b, "cannot read the resets of a group");
}

/* Building the incidents of one key is a walk over its findings in time order (untimed
 * last), fed in chunks: walk_begin(), walk_event() for each finding, walk_end(). */
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
    free(w->key);
    free(w->members);
    free(w->pending_ts);
    free(w->escalated);
    free(w->open_escalations);
    memset(w, 0, sizeof(*w));
}

static int walk_event(struct walk *w, const struct event *e)
{
    int r = 0;
    if (!e->has_ts) {
        /* A pasted console session has no times, but its bad logins still count. */
        if (w->untimed++ == 0)
            w->untimed_first_pos = e->pos;
        w->untimed_last_pos = e->pos;
        r = escalate(w, e);
    } else {
        /* A reset since the last finding, up to this one's time (a reset at the same second
         * comes after it). Before the first finding there is nothing to reset. */
        if (w->has_prev && (r = reset_between(w, w->prev_us, e->ts_us)) > 0 &&
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

static int walk_end(struct walk *w)
{
    /* A reset after the last finding ends the incident and closes the escalations. */
    int r = reset_between(w, w->has_prev ? w->prev_us : INT64_MIN, INT64_MAX);
    bool reset_after = r > 0;
    if (r >= 0)
        r = flush_incident(w, reset_after);
    if (r == 0 && reset_after)
        r = close_escalations(w);
    /* Findings without a time form one incident of their own, when they are enough. */
    if (r == 0 && w->untimed &&
        w->untimed >= (w->rule->inc.threshold ? w->rule->inc.threshold : 1)) {
        struct draft_incident d = {
            .rule = w->rule,
            .key = w->key,
            .count = (unsigned)w->untimed,
            .state = "closed",
            .first_pos = w->untimed_first_pos,
            .last_pos = w->untimed_last_pos,
        };
        r = write_incident(w->b, &d, w->rule, w->host);
    }
    walk_release(w);
    return r;
}

/* ---- expectations ----------------------------------------------------------------------- */

/* Judges the expectations of derived rule x (after = trigger) on host: each episode of
 * trigger findings either meets an expect line in its window, fires (log time went past the
 * window), or stays open (the input ended first). Triggers and expect lines are both read in
 * time order, side by side. */
static int build_expectations(struct builder *b, const struct rule *trigger, const struct rule *x,
                              const char *host)
{
    sqlite3_reset(b->st_triggers);
    sqlite3_bind_text(b->st_triggers, 1, trigger->id, -1, SQLITE_STATIC);
    bind_host(b->st_triggers, 2, host);
    sqlite3_reset(b->st_expects);
    sqlite3_bind_text(b->st_expects, 1, x->id, -1, SQLITE_STATIC);
    bind_host(b->st_expects, 2, host);
    struct ts_cursor triggers = { .st = b->st_triggers }, marks = { .st = b->st_expects };
    char key[512];
    struct buf k;
    buf_init(&k, 0);
    int r = buf_addc(&k, '[') == 0 && json_put_string(&k, host, strlen(host)) == 0 &&
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

/* True when x is a derived rule expecting something after each finding of trigger. */
static bool expects_after(const struct ruleset *rs, const struct rule *x,
                          const struct rule *trigger)
{
    return x->role == RULE_ROLE_DERIVED && x->inc.after && x->inc.after_idx < rs->n &&
           &rs->rules[x->inc.after_idx] == trigger;
}

/* Rebuilds the incidents of rule on host: all of them, or (keyed) those of the group keys in
 * temp.keys. */
static int rebuild(struct builder *b, const struct rule *rule, const char *host, bool keyed)
{
    /* Old incidents of this pair go, noted in temp.old: one made again keeps its id, and
     * apply_links() unlinks the findings that are left out. */
    sqlite3_stmt *del[] = { keyed ? b->st_old_save_keys : b->st_old_save,
                            keyed ? b->st_delete_keys : b->st_delete };
    for (size_t i = 0; i < ARRAY_SIZE(del); i++) {
        sqlite3_bind_text(del[i], 1, rule->id, -1, SQLITE_STATIC);
        bind_host(del[i], 2, host);
        int rc = sqlite3_step(del[i]);
        sqlite3_reset(del[i]);
        if (rc != SQLITE_DONE)
            return fail(b, "cannot drop old incidents");
        if (i == 0 && sqlite3_changes(b->db->h) > 0)
            b->any_old = true;
    }
    struct event_list findings = { 0 };
    int r = 0;
    /* The pair in walk order (temp.pair), read in chunks: each starts after the last row of
     * the one before, so no statement is left reading while incidents are written and memory
     * holds one chunk, whatever the size of a group. */
    sqlite3_stmt *fill[] = { b->st_pair_clear, keyed ? b->st_pair_fill_keys : b->st_pair_fill };
    sqlite3_bind_text(fill[1], 1, rule->id, -1, SQLITE_STATIC);
    bind_host(fill[1], 2, host);
    for (size_t i = 0; r == 0 && i < ARRAY_SIZE(fill); i++) {
        int rc = sqlite3_step(fill[i]);
        sqlite3_reset(fill[i]);
        if (rc != SQLITE_DONE)
            r = fail(b, "cannot sort the findings of a rule and host");
    }
    struct walk w = { 0 };
    bool walking = false;
    int64_t cur_pos = 0; /* pos of the last row read */
    for (bool more = true; r == 0 && more;) {
        sqlite3_stmt *st = b->st_findings;
        sqlite3_bind_int64(st, 1, cur_pos);
        sqlite3_bind_int64(st, 2, REBUILD_CHUNK);
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
        if (expects_after(b->rs, &b->rs->rules[i], rule))
            r = build_expectations(b, rule, &b->rs->rules[i], host);
    return r;
}

/* ---- the update ------------------------------------------------------------------------- */

/* The rebuild's temp tables, emptied at the start of every update:
 * - pair: the findings of the (rule, host) being rebuilt, in walk order (by key, timed before
 *   untimed, then time). findings is indexed by (rule_id, host, ts, group_key), time-ordered
 *   so that inserts stay cheap; the key order is made here once per rebuild by SQLite's
 *   sorter (bounded memory, temp files), numbered by pos and read in chunks by pos. An
 *   incident's findings are one range of pos, which links them (an index on (group_key, ts)
 *   and links by key and time made 1 GiB's rebuild 0.4 s longer);
 * - keys: the group keys to rebuild when a pair is not rebuilt whole;
 * - old: the incidents a rebuild drops, by what they are. One made again with the same rule,
 *   trigger rule, host, key and first time keeps its id (and cause), so that its findings'
 *   links and the causes that point at it stay as they are;
 * - walked: (finding, incident) pairs as the walk links them, in key order, appended: an
 *   insert into a table keyed by finding was a random walk over it (1.5 s of 1 GiB's
 *   rebuild, with a page cache a tenth of the table);
 * - links: the same pairs by finding, the last link of a finding kept, sorted once by
 *   apply_links() and written into finding_links in finding order;
 * - moved: per rule, the earliest log time at which its incidents or their findings' links
 *   changed in this update; causes are linked again from there on (link_causes);
 * - judged: the open incidents whose state the log clock changes (rejudge_open).
 * No column is NOT NULL (what goes in never is): a statement that writes many rows and may
 * fail a constraint keeps a statement journal, and once one spills to a file every statement
 * after it in the update writes the pages it touches there (131 MB for 115k findings). */
static const char temp_tables[] =
        "CREATE TEMP TABLE IF NOT EXISTS pair (pos INTEGER PRIMARY KEY,"
        " finding_id INTEGER, ts TEXT, group_key TEXT);"
        " CREATE TEMP TABLE IF NOT EXISTS keys (key TEXT PRIMARY KEY);"
        " CREATE TEMP TABLE IF NOT EXISTS old (id INTEGER PRIMARY KEY, rule_id TEXT,"
        " from_rule_id TEXT, host TEXT, key TEXT, first_ts TEXT, cause INTEGER,"
        " reused INTEGER DEFAULT 0);"
        " CREATE INDEX IF NOT EXISTS temp.old_identity ON old(rule_id, from_rule_id, key, first_ts);"
        " CREATE TEMP TABLE IF NOT EXISTS walked (seq INTEGER PRIMARY KEY, finding_id INTEGER,"
        " incident_id INTEGER);"
        " CREATE TEMP TABLE IF NOT EXISTS links (finding_id INTEGER PRIMARY KEY,"
        " incident_id INTEGER);"
        " CREATE TEMP TABLE IF NOT EXISTS moved (rule_id TEXT PRIMARY KEY, ts TEXT);"
        " CREATE TEMP TABLE IF NOT EXISTS judged (id INTEGER PRIMARY KEY, state TEXT);"
        " DELETE FROM temp.pair; DELETE FROM temp.keys; DELETE FROM temp.old;"
        " DELETE FROM temp.walked; DELETE FROM temp.links; DELETE FROM temp.moved;"
        " DELETE FROM temp.judged";

/* The builder's statements. Whole-pair and keyed variants stay separate statements: one with
 * "?3 OR key IN (...)" could not use the index by key. */
#define OLD_SAVE                                                                  \
    "INSERT INTO temp.old(id, rule_id, from_rule_id, host, key, first_ts, cause)" \
    " SELECT id, rule_id, from_rule_id, host, key, first_ts, cause_incident_id FROM incidents"
#define PAIR_FILL                                                                    \
    "INSERT INTO temp.pair(finding_id, ts, group_key) SELECT id, ts, group_key FROM" \
    " finding_rows WHERE rule_id = ?1 AND host IS ?2"
static const struct {
    size_t at; /* offsetof the sqlite3_stmt * in struct builder */
    const char *sql;
} statements[] = {
    { offsetof(struct builder, st_pair_clear), "DELETE FROM temp.pair" },
    { offsetof(struct builder, st_pair_fill), PAIR_FILL " ORDER BY group_key, ts IS NULL, ts, id" },
    { offsetof(struct builder, st_pair_fill_keys),
      PAIR_FILL " AND group_key IN (SELECT key FROM temp.keys)"
                " ORDER BY group_key, ts IS NULL, ts, id" },
    { offsetof(struct builder, st_findings),
      "SELECT pos, ts, group_key FROM temp.pair WHERE pos > ?1 ORDER BY pos LIMIT ?2" },
    /* The resets of a key: its own, and those with an empty part (a good login without a
     * role), which reset_applies() then compares part by part. marks_rule_host covers it. */
    { offsetof(struct builder, st_resets),
      "SELECT group_key FROM marks WHERE rule_id = ?1 AND kind = 'reset' AND host IS ?2"
      " AND ts >= ?4 AND ts < ?5 AND (group_key = ?3 OR instr(group_key, '\"\"') > 0)"
      " ORDER BY ts" },
    { offsetof(struct builder, st_reset_by),
      "SELECT 1 FROM finding_rows WHERE rule_id = ?1 AND host IS ?2 AND ts >= ?3 AND ts < ?4"
      " LIMIT 1" },
    { offsetof(struct builder, st_expects),
      "SELECT ts FROM marks WHERE rule_id = ?1 AND kind = 'expect' AND host IS ?2"
      " AND ts IS NOT NULL ORDER BY ts" },
    { offsetof(struct builder, st_triggers),
      "SELECT ts FROM finding_rows WHERE rule_id = ?1 AND host IS ?2 AND ts IS NOT NULL"
      " ORDER BY ts" },
    { offsetof(struct builder, st_old_save), OLD_SAVE " WHERE from_rule_id = ?1 AND host IS ?2" },
    { offsetof(struct builder, st_old_save_keys),
      OLD_SAVE " WHERE from_rule_id = ?1 AND host IS ?2"
               " AND key IN (SELECT key FROM temp.keys)" },
    { offsetof(struct builder, st_old_find),
      "SELECT id, cause FROM temp.old WHERE rule_id = ?1 AND from_rule_id = ?2 AND host IS ?3"
      " AND key = ?4 AND first_ts IS ?5 AND NOT reused LIMIT 1" },
    { offsetof(struct builder, st_old_take), "UPDATE temp.old SET reused = 1 WHERE id = ?1" },
    { offsetof(struct builder, st_moved),
      "INSERT INTO temp.moved(rule_id, ts) VALUES(?1, ?2)"
      " ON CONFLICT(rule_id) DO UPDATE SET ts = min(ts, excluded.ts)" },
    { offsetof(struct builder, st_delete),
      "DELETE FROM incidents WHERE from_rule_id = ?1 AND host IS ?2" },
    { offsetof(struct builder, st_delete_keys),
      "DELETE FROM incidents WHERE from_rule_id = ?1 AND host IS ?2"
      " AND key IN (SELECT key FROM temp.keys)" },
    { offsetof(struct builder, st_key_add), "INSERT OR IGNORE INTO temp.keys(key) VALUES(?1)" },
    { offsetof(struct builder, st_insert),
      "INSERT INTO incidents(id, rule_id, from_rule_id, severity, host, key, first_ts, last_ts,"
      " count, state, summary, scan_id, cause_incident_id) VALUES(?12, ?1, ?2, ?3, ?4, ?5, ?6,"
      " ?7, ?8, ?9, ?10, nullif(?11, 0), nullif(?13, 0))" },
    { offsetof(struct builder, st_link_range),
      "INSERT INTO temp.walked(finding_id, incident_id) SELECT finding_id, ?1"
      " FROM temp.pair WHERE pos BETWEEN ?2 AND ?3" },
    { offsetof(struct builder, st_close), "UPDATE incidents SET state = 'closed' WHERE id = ?1" },
};

static sqlite3_stmt **statement(struct builder *b, size_t i)
{
    return (sqlite3_stmt **)(void *)((char *)b + statements[i].at);
}

static int builder_open(struct builder *b)
{
    int r = 0;
    if (sqlite3_exec(b->db->h, temp_tables, NULL, NULL, NULL) != SQLITE_OK)
        r = fail(b, "cannot prepare the rebuild tables");
    for (size_t i = 0; r == 0 && i < ARRAY_SIZE(statements); i++)
        r = prepare(b, statement(b, i), statements[i].sql);
    /* New incidents take ids above every id of the update: an old id may be taken again. */
    sqlite3_stmt *st;
    if (r == 0 && (r = prepare(b, &st, "SELECT coalesce(max(id), 0) + 1 FROM incidents")) == 0) {
        if (sqlite3_step(st) == SQLITE_ROW)
            b->next_id = sqlite3_column_int64(st, 0);
        else
            r = fail(b, "cannot read the incidents");
        sqlite3_finalize(st);
    }
    if (r == 0 && !(b->new_first_us = malloc((b->rs->n + 1) * sizeof(*b->new_first_us))))
        r = hl_err_set(b->err, HL_ENOMEM, NULL, "out of memory");
    for (size_t i = 0; r == 0 && i < b->rs->n; i++)
        b->new_first_us[i] = INT64_MAX;
    b->clock_us = INT64_MIN;
    if (r == 0 && (r = prepare(b, &st, "SELECT max(last_ts) FROM scans")) == 0) {
        bool zoned;
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL &&
            !parse_time_iso(strv_from_cstr((const char *)sqlite3_column_text(st, 0)), 0,
                            &b->clock_us, &zoned))
            b->clock_us = INT64_MIN;
        sqlite3_finalize(st);
    }
    return r;
}

static void builder_close(struct builder *b)
{
    for (size_t i = 0; i < ARRAY_SIZE(statements); i++) {
        sqlite3_finalize(*statement(b, i));
        *statement(b, i) = NULL;
    }
    free(b->new_first_us);
    b->new_first_us = NULL;
    buf_release(&b->text);
}

/* Writes the links the rebuilds collected (temp.walked) into finding_links in finding id
 * order, so that each page of links is written once. When old incidents were
 * dropped, it first notes what moved for link_causes, writes only the links that changed (an
 * incident made again keeps its id), and unlinks the findings of the old incidents that are
 * in none now (below a threshold). */
static int apply_links(struct builder *b)
{
    /* A link to a new incident needs no note: its first time, no later than its findings',
     * was noted by incident_id_for(). */
    static const char moved[] =
            "INSERT INTO temp.moved(rule_id, ts) SELECT f.rule_id, min(f.ts) FROM temp.links"
            " AS l JOIN temp.old AS o ON o.id = l.incident_id JOIN findings AS f"
            " ON f.id = l.finding_id WHERE f.incident_id IS NOT l.incident_id"
            " AND f.ts IS NOT NULL GROUP BY f.rule_id"
            " ON CONFLICT(rule_id) DO UPDATE SET ts = min(ts, excluded.ts);"
            " INSERT INTO temp.moved(rule_id, ts) SELECT rule_id, min(ts) FROM findings"
            " WHERE incident_id IN (SELECT id FROM temp.old) AND id NOT IN"
            " (SELECT finding_id FROM temp.links) AND ts IS NOT NULL GROUP BY rule_id"
            " ON CONFLICT(rule_id) DO UPDATE SET ts = min(ts, excluded.ts);"
            " INSERT INTO temp.moved(rule_id, ts) SELECT rule_id, min(first_ts) FROM incidents"
            " WHERE cause_incident_id IN (SELECT id FROM temp.old WHERE NOT reused)"
            " AND first_ts IS NOT NULL GROUP BY rule_id"
            " ON CONFLICT(rule_id) DO UPDATE SET ts = min(ts, excluded.ts)";
    static const char changed[] =
            "INSERT OR REPLACE INTO finding_links(finding_id, incident_id)"
            " SELECT l.finding_id, l.incident_id FROM temp.links AS l"
            " WHERE l.incident_id IS NOT (SELECT k.incident_id FROM finding_links AS k"
            " WHERE k.finding_id = l.finding_id);"
            " DELETE FROM finding_links WHERE incident_id IN (SELECT id FROM temp.old)"
            " AND finding_id NOT IN (SELECT finding_id FROM temp.links);"
            " DELETE FROM temp.links";
    /* The walk's links sorted by finding (SQLite's sorter, in a small cache). A
     * finding is in one range of one update; were it linked twice, the last link would win,
     * as when the ranges went into temp.links directly. Nothing old (a first scan): every
     * link is new, appended in finding order. */
#define SORTED_WALK                                                             \
    "(finding_id, incident_id) SELECT finding_id, incident_id FROM temp.walked" \
    " ORDER BY finding_id, seq; DELETE FROM temp.walked"
    static const char all_new[] = "INSERT OR REPLACE INTO finding_links" SORTED_WALK;
    static const char sort_walked[] = "INSERT OR REPLACE INTO temp.links" SORTED_WALK;
#undef SORTED_WALK
    if (!b->any_old)
        return db_exec_small_sort(b->db, all_new, b->err);
    int r = db_exec_small_sort(b->db, sort_walked, b->err);
    if (r < 0)
        return r;
    if (sqlite3_exec(b->db->h, moved, NULL, NULL, NULL) != SQLITE_OK)
        return fail(b, "cannot note what the rebuild changed");
    if (sqlite3_exec(b->db->h, changed, NULL, NULL, NULL) != SQLITE_OK)
        return fail(b, "cannot link findings to their incidents");
    return 0;
}

static const struct rule *find_rule(const struct ruleset *rs, const char *id)
{
    for (size_t i = 0; i < rs->n; i++)
        if (rs->rules[i].role == RULE_ROLE_FINDING && strcmp(rs->rules[i].id, id) == 0)
            return &rs->rules[i];
    return NULL;
}

/* Open incidents are judged against the log clock, which this input may have moved. Only
 * their state can change, as flush_incident() and build_expectations() decide it: a group
 * closes once the clock is more than its gap past its last finding, an expectation fires once
 * the clock is past its window, an escalation stays open until a reset. A rebuild of every
 * (rule, host) with an open incident made the same incidents: with --follow on a large
 * database that was seconds of work at every pause of the input. */
static int rejudge_open(struct builder *b)
{
    if (b->clock_us == INT64_MIN)
        return 0;
    /* Judged into temp.judged first: updating incidents while the read walks them (through
     * the index of open incidents) would move the rows under it. */
    sqlite3_stmt *open = NULL, *set = NULL;
    int r = prepare(b, &open,
                    "SELECT id, rule_id, from_rule_id, first_ts, last_ts FROM incidents"
                    " WHERE state = 'open'");
    if (r == 0)
        r = prepare(b, &set, "INSERT INTO temp.judged(id, state) VALUES(?1, ?2)");
    int rc;
    while (r == 0 && (rc = sqlite3_step(open)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(open, 1);
        const char *from_id = (const char *)sqlite3_column_text(open, 2);
        const struct rule *rule = ruleset_find(b->rs, id ? id : ""); /* derived ones too */
        const unsigned char *first = sqlite3_column_text(open, 3);
        const unsigned char *last = sqlite3_column_text(open, 4);
        int64_t first_us, last_us;
        bool zoned;
        if (!rule || !rule_is_public(rule) || !from_id || !first || !last ||
            parse_time_iso(strv_from_cstr((const char *)first), 0, &first_us, &zoned) == 0 ||
            parse_time_iso(strv_from_cstr((const char *)last), 0, &last_us, &zoned) == 0)
            continue; /* a rule no longer loaded keeps its incidents, as in a rebuild */
        const char *state = NULL;
        if (strcmp(id, from_id) == 0) {
            if (b->clock_us - last_us > rule->inc.gap_us)
                state = "closed";
        } else if (expects_after(b->rs, rule, ruleset_find(b->rs, from_id))) {
            if (b->clock_us > first_us + rule->inc.expect_us)
                state = "fired";
        }
        if (!state)
            continue;
        sqlite3_bind_int64(set, 1, sqlite3_column_int64(open, 0));
        sqlite3_bind_text(set, 2, state, -1, SQLITE_STATIC);
        if (sqlite3_step(set) != SQLITE_DONE)
            r = fail(b, "cannot judge an open incident");
        sqlite3_reset(set);
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = fail(b, "cannot read the open incidents");
    sqlite3_finalize(open);
    sqlite3_finalize(set);
    if (r == 0 && sqlite3_exec(b->db->h,
                               "UPDATE incidents SET state = (SELECT j.state FROM temp.judged AS j"
                               " WHERE j.id = incidents.id)"
                               " WHERE id IN (SELECT id FROM temp.judged); DELETE FROM temp.judged",
                               NULL, NULL, NULL) != SQLITE_OK)
        r = fail(b, "cannot judge the open incidents");
    return r;
}

/* The (rule, host) whose incidents_dirty rows are being read. */
struct dirty_pair {
    char *rule_id, *host;    /* owned */
    const struct rule *rule; /* NULL when the rule is no longer loaded */
    bool expected;           /* its findings trigger an expectation: rebuilt whole */
    bool whole;              /* rebuilt whole already: its key rows are done too */
    size_t n_keys;           /* keys waiting in temp.keys */
};

static void pair_release(struct dirty_pair *p)
{
    free(p->rule_id);
    free(p->host);
    memset(p, 0, sizeof(*p));
}

static int pair_start(struct builder *b, struct dirty_pair *p, const char *id, const char *host)
{
    pair_release(p);
    p->rule_id = strdup(id);
    p->host = strdup(host);
    if (!p->rule_id || !p->host)
        return hl_err_set(b->err, HL_ENOMEM, NULL, "out of memory");
    p->rule = find_rule(b->rs, id);
    for (size_t i = 0; p->rule && i < b->rs->n && !p->expected; i++)
        p->expected = expects_after(b->rs, &b->rs->rules[i], p->rule);
    return 0;
}

/* Rebuilds the groups of p collected in temp.keys, and empties it. */
static int rebuild_keys(struct builder *b, struct dirty_pair *p)
{
    if (!p->n_keys)
        return 0;
    p->n_keys = 0;
    int r = rebuild(b, p->rule, p->host, true);
    if (r == 0 && sqlite3_exec(b->db->h, "DELETE FROM temp.keys", NULL, NULL, NULL) != SQLITE_OK)
        r = fail(b, "cannot clear the groups to rebuild");
    return r;
}

/* Seconds since *mark, which moves to now. */
static double lap(int64_t *mark)
{
    int64_t now = clock_mono_ns();
    double s = (double)(now - *mark) / 1e9;
    *mark = now;
    return s;
}

int incidents_update(struct db *db, const struct ruleset *rs, struct incidents_update_stats *stats,
                     struct hl_err *err)
{
    if (db->readonly)
        return 0;
    struct builder b = { .db = db, .rs = rs, .err = err };
    buf_init(&b.text, 1u << 20);
    /* Where an update's time goes, for -v: a slow scan's first question. */
    int64_t mark = clock_mono_ns();
    double t_rebuild = 0, t_links = 0, t_causes = 0, t_commit = 0;
    unsigned n_pairs = 0;
    int r = db_commit(db, err);
    /* One transaction: readers see the old incidents or the new ones, never half. */
    /* Foreign-key enforcement is off for the rebuild: with it, every multi-row UPDATE and
     * DELETE keeps a statement journal (a third of the time with many findings). The builder
     * keeps the references itself: it unlinks findings before it deletes their incidents, and
     * link_causes rewrites the cause of every timed incident of a rule whose causes changed. */
    if (r == 0 && sqlite3_exec(db->h, "PRAGMA foreign_keys = OFF; BEGIN IMMEDIATE", NULL, NULL,
                               NULL) != SQLITE_OK)
        r = fail(&b, "cannot start the incident update");
    bool in_tx = r == 0;
    if (r == 0)
        r = builder_open(&b);
    if (r == 0)
        r = rejudge_open(&b);
    /* Rows of one (rule, host) come together, key '' (the whole pair) first. The keys of a
     * pair not dirty as a whole are collected in temp.keys and rebuilt at its last row. */
    sqlite3_stmt *dirty = NULL;
    if (r == 0)
        r = prepare(&b, &dirty, "SELECT rule_id, host, key FROM incidents_dirty ORDER BY 1, 2, 3");
    struct dirty_pair pair = { 0 };
    bool all_causes = false; /* incidents --rebuild: the rules' caused-by may have changed */
    int rc;
    while (r == 0 && (rc = sqlite3_step(dirty)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(dirty, 0);
        const char *host = (const char *)sqlite3_column_text(dirty, 1);
        const char *key = (const char *)sqlite3_column_text(dirty, 2);
        if (!id || !host || !key)
            continue;
        if (strcmp(id, ALL_CAUSES) == 0) {
            all_causes = true;
            continue;
        }
        if (!pair.rule_id || strcmp(pair.rule_id, id) != 0 || strcmp(pair.host, host) != 0) {
            if ((r = rebuild_keys(&b, &pair)) < 0 || (r = pair_start(&b, &pair, id, host)) < 0)
                break;
            n_pairs++;
        }
        /* A rule no longer loaded keeps its old incidents: we cannot know better. */
        if (!pair.rule || pair.whole)
            continue;
        if (!*key || pair.expected) {
            pair.whole = true; /* the pair's first row: no key is waiting */
            r = rebuild(&b, pair.rule, pair.host, false);
        } else {
            sqlite3_bind_text(b.st_key_add, 1, key, -1, SQLITE_TRANSIENT);
            if (sqlite3_step(b.st_key_add) != SQLITE_DONE)
                r = fail(&b, "cannot collect the groups to rebuild");
            sqlite3_reset(b.st_key_add);
            pair.n_keys++;
        }
    }
    if (r == 0)
        r = rebuild_keys(&b, &pair);
    pair_release(&pair);
    sqlite3_finalize(dirty);
    t_rebuild = lap(&mark);
    if (r == 0) /* before link_causes, which reads the links */
        r = apply_links(&b);
    /* Indexes a first scan deferred, built once now that their rows are all written: the
     * rebuild needs none of them, link_causes reads through them. */
    if (r == 0)
        r = db_restore_indexes(db, err);
    t_links = lap(&mark);
    for (size_t i = 0; r == 0 && i < rs->n; i++) {
        if (b.new_first_us[i] == INT64_MAX)
            continue;
        char first[PARSE_TIME_ISO_LEN];
        parse_time_format(b.new_first_us[i], first);
        sqlite3_bind_text(b.st_moved, 1, rs->rules[i].id, -1, SQLITE_STATIC);
        sqlite3_bind_text(b.st_moved, 2, first, -1, SQLITE_STATIC);
        if (sqlite3_step(b.st_moved) != SQLITE_DONE)
            r = fail(&b, "cannot note the new incidents");
        sqlite3_reset(b.st_moved);
    }
    sqlite3_stmt *moved = NULL;
    if (r == 0)
        r = prepare(&b, &moved, "SELECT ts FROM temp.moved WHERE rule_id = ?1");
    for (size_t i = 0; r == 0 && i < rs->n; i++) {
        int64_t since = INT64_MIN;
        if (rs->rules[i].inc.n_causes &&
            (all_causes || (r = causes_moved_since(&b, moved, &rs->rules[i], &since)) > 0))
            r = link_causes(&b, &rs->rules[i], since);
    }
    sqlite3_finalize(moved);
    t_causes = lap(&mark);
    if (r == 0 && sqlite3_exec(db->h, "DELETE FROM incidents_dirty", NULL, NULL, NULL) != SQLITE_OK)
        r = fail(&b, "cannot clear the rebuild list");
    builder_close(&b);
    /* A COMMIT that fails (a full disk) must say so: the marks of what to rebuild roll back
     * with the incidents, so the next update does it again. */
    if (in_tx && r == 0 && sqlite3_exec(db->h, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        r = fail(&b, "cannot store the incidents");
    if (in_tx && r < 0 && !sqlite3_get_autocommit(db->h))
        sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_exec(db->h, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
    t_commit = lap(&mark);
    if (r == 0 && stats)
        *stats = (struct incidents_update_stats){ n_pairs, t_rebuild, t_links, t_causes, t_commit };
    return r;
}

/* SQL hsmlog_normalize(rule_id, field, value): value as the rule's `normalize` gives it. */
static void sql_normalize(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const struct ruleset *rs = sqlite3_user_data(ctx);
    const char *id = (const char *)sqlite3_value_text(argv[0]);
    const char *field = (const char *)sqlite3_value_text(argv[1]);
    const unsigned char *value = sqlite3_value_text(argv[2]);
    const struct rule *rule = id ? ruleset_find(rs, id) : NULL;
    if (!rule || !field || !value) {
        sqlite3_result_value(ctx, argv[2]);
        return;
    }
    struct strv v = strv_make((const char *)value, (size_t)sqlite3_value_bytes(argv[2]));
    struct strv n = rule_normalized(rule, field, v);
    sqlite3_result_text(ctx, n.p, (int)n.n, SQLITE_TRANSIENT);
}

int incidents_rekey(struct db *db, const struct ruleset *rs, struct hl_err *err)
{
    int r = 0;
    if (sqlite3_create_function(db->h, "hsmlog_normalize", 3, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                                (void *)rs, sql_normalize, NULL, NULL) != SQLITE_OK)
        return hl_err_set(err, HL_EDB, db->path, "cannot re-key findings: %s",
                          sqlite3_errmsg(db->h));
    for (size_t i = 0; r == 0 && i < rs->n; i++) {
        const struct rule *rule = &rs->rules[i];
        if (rule->role != RULE_ROLE_FINDING)
            continue;
        /* The same values scan.c puts in a key, read back from the stored finding, normalized
         * by the current rule (a finding stored with lunash's "HSM Admin" keys "HSM SO"). */
        struct buf sql;
        buf_init(&sql, 0);
        HL_IGNORE(buf_adds(&sql, "UPDATE finding_rows SET group_key = json_array("));
        for (size_t k = 0; k < rule->inc.n_group_by; k++) {
            const char *f = rule->inc.group_by[k];
            char part[96];
            snprintf(part, sizeof(part), "%scoalesce(%s, '')", k ? ", " : "",
                     strcmp(f, "host") == 0      ? "host"
                     : strcmp(f, "program") == 0 ? "program"
                     : strcmp(f, "source") == 0  ? "(SELECT path FROM sources WHERE id = source_id)"
                                                 : NULL);
            if (strcmp(f, "host") && strcmp(f, "program") && strcmp(f, "source"))
                snprintf(
                        part, sizeof(part),
                        "%shsmlog_normalize(?1, ?%zu, coalesce(json_extract(fields, '$.' || ?%zu), ''))",
                        k ? ", " : "", k + 2, k + 2);
            HL_IGNORE(buf_adds(&sql, part));
        }
        HL_IGNORE(buf_adds(&sql, ") WHERE rule_id = ?1"));
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db->h, buf_cstr(&sql), -1, &st, NULL) != SQLITE_OK) {
            r = hl_err_set(err, HL_EDB, db->path, "cannot re-key findings: %s",
                           sqlite3_errmsg(db->h));
        } else {
            sqlite3_bind_text(st, 1, rule->id, -1, SQLITE_STATIC);
            for (size_t k = 0; k < rule->inc.n_group_by; k++)
                sqlite3_bind_text(st, (int)k + 2, rule->inc.group_by[k], -1, SQLITE_STATIC);
            if (sqlite3_step(st) != SQLITE_DONE)
                r = hl_err_set(err, HL_EDB, db->path, "cannot re-key findings: %s",
                               sqlite3_errmsg(db->h));
            sqlite3_finalize(st);
        }
        buf_release(&sql);
    }
    /* The function points at rs, which may go before the connection does. */
    sqlite3_create_function(db->h, "hsmlog_normalize", 3, SQLITE_UTF8, NULL, NULL, NULL, NULL);
    return r;
}

int incidents_mark_all(struct db *db, struct hl_err *err)
{
    if (sqlite3_exec(db->h,
                     "INSERT OR IGNORE INTO incidents_dirty(rule_id, host)"
                     " SELECT DISTINCT rule_id, coalesce(host, '') FROM finding_rows;"
                     " INSERT OR IGNORE INTO incidents_dirty(rule_id, host) VALUES('" ALL_CAUSES
                     "', '')",
                     NULL, NULL, NULL) != SQLITE_OK)
        return hl_err_set(err, HL_EDB, db->path, "cannot mark incidents for a rebuild: %s",
                          sqlite3_errmsg(db->h));
    return 0;
}
