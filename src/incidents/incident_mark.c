/* Marks for incident rebuilds (incident_mark.h). A scan that adds to a large database (a
 * day's log, a live line) rebuilds the groups it touched, not every group of their hosts
 * since the database began. */
#include "incident_mark.h"

#include <string.h>

#include "json.h"

void incident_marks_init(struct incident_marks *mk, struct db *db, const struct ruleset *rs)
{
    memset(mk, 0, sizeof(*mk));
    mk->db = db;
    mk->rs = rs;
}

static bool marked_whole(const struct incident_marks *mk, const char *rule_id, struct strv host)
{
    for (unsigned i = 0; i < mk->n_whole && i < INCIDENT_MARK_WHOLE_PAIRS; i++) {
        const struct incident_whole_pair *w = &mk->whole[i];
        if (w->rule_id == rule_id && w->host_len == host.n &&
            (host.n == 0 || memcmp(w->host, host.p, host.n) == 0))
            return true;
    }
    return false;
}

static bool marked_last(const struct incident_marks *mk, const struct rule *rule, struct strv host,
                        struct strv key)
{
    return mk->last_rule == rule && host.n == mk->last_host_len &&
           memcmp(mk->last_host, host.p ? host.p : "", host.n) == 0 && key.n == mk->last_key_len &&
           memcmp(mk->last_key, key.p ? key.p : "", key.n) == 0;
}

static void remember(struct incident_marks *mk, const struct rule *rule, struct strv host,
                     struct strv key)
{
    mk->last_rule = NULL;
    if (host.n < sizeof(mk->last_host) && key.n < sizeof(mk->last_key)) {
        mk->last_rule = rule;
        memcpy(mk->last_host, host.p ? host.p : "", host.n);
        mk->last_host_len = host.n;
        memcpy(mk->last_key, key.p ? key.p : "", key.n);
        mk->last_key_len = key.n;
    }
    if (key.n == 0 && host.n < sizeof(mk->whole[0].host)) {
        struct incident_whole_pair *w = &mk->whole[mk->n_whole++ % INCIDENT_MARK_WHOLE_PAIRS];
        w->rule_id = rule->id; /* the oldest goes */
        w->host_len = host.n;
        if (host.n)
            memcpy(w->host, host.p, host.n);
    }
}

/* Marks the group (rule, host, key), or the whole pair when key is empty. */
static int mark(struct incident_marks *mk, const struct rule *rule, struct strv host,
                struct strv key, struct hl_err *err)
{
    if (mk->keys >= INCIDENT_MARK_KEYS)
        key = strv_from_cstr("");
    int r = db_begin(mk->db, err);
    if (r < 0)
        return r;
    if (mk->tx != mk->db->tx_serial) {
        mk->tx = mk->db->tx_serial;
        mk->last_rule = NULL;
        mk->n_whole = 0;
    }
    /* The common case: a burst of findings from one host. */
    if (marked_last(mk, rule, host, key))
        return 0;
    /* Past INCIDENT_MARK_KEYS a first scan marks whole pairs, one finding of a pair after
     * another: each would be an insert that finds its row. */
    if (marked_whole(mk, rule->id, host))
        return 0;
    mk->last_rule = NULL;
    if ((r = db_incidents_dirty(mk->db, rule->id, host, key, err)) < 0)
        return r;
    mk->keys += key.n > 0;
    mk->any = true;
    remember(mk, rule, host, key);
    return 0;
}

int incident_marks_finding(struct incident_marks *mk, const struct rule *rule, struct strv host,
                           struct strv key, struct hl_err *err)
{
    int r = mark(mk, rule, host, key, err);
    for (size_t i = 0; r == 0 && i < rule->inc.n_resets; i++)
        r = mark(mk, &mk->rs->rules[rule->inc.resets[i]], host, strv_from_cstr(""), err);
    return r;
}

int incident_marks_line(struct incident_marks *mk, const struct rule *pattern, struct strv host,
                        struct hl_err *err)
{
    const struct rule *owner = &mk->rs->rules[pattern->owner];
    size_t first = rule_after_first(owner);
    if (pattern->role == RULE_ROLE_EXPECT && first >= mk->rs->n)
        return 0; /* a disabled rule's pattern matches nothing */
    /* An expectation's incidents are rebuilt with its first trigger's. */
    const struct rule *affected = pattern->role == RULE_ROLE_EXPECT ? &mk->rs->rules[first] : owner;
    /* A reset or expect line may concern every group of its host. */
    return mark(mk, affected, host, strv_from_cstr(""), err);
}

int incident_marks_appliance(struct incident_marks *mk, struct strv host, int64_t source_id,
                             uint64_t line_no, struct hl_err *err)
{
    bool is_new;
    int r = db_appliance_host_add(mk->db, host, source_id, line_no, &is_new, err);
    if (r < 0 || !is_new)
        return r;
    /* Marked while they still wait: ending the wait forgets which findings those were. */
    if ((r = db_incidents_dirty_waiting(mk->db, host, err)) < 0 ||
        (r = db_appliance_waits_end(mk->db, host, err)) < 0)
        return r;
    mk->any = true;
    return 0;
}

void incident_marks_consumed(struct incident_marks *mk)
{
    mk->last_rule = NULL; /* the dirty table is empty again */
    mk->n_whole = 0;
    mk->keys = 0;
    mk->any = false;
}

int incident_group_key(const struct rule_incident_spec *spec, const struct record *rec,
                       const char *source, const struct rule_capture *fields, size_t n_fields,
                       struct buf *out)
{
    buf_reset(out);
    int r = buf_addc(out, '[');
    for (size_t i = 0; r == 0 && i < spec->n_group_by; i++) {
        const char *name = spec->group_by[i];
        struct strv v = STRV_NULL;
        if (strcmp(name, "host") == 0)
            v = rec->host;
        else if (strcmp(name, "program") == 0)
            v = rec->program;
        else if (strcmp(name, "source") == 0)
            v = strv_from_cstr(source);
        else
            for (size_t k = 0; k < n_fields && !v.p; k++)
                if (strcmp(fields[k].name, name) == 0)
                    v = fields[k].value;
        if (i)
            r = buf_addc(out, ',');
        if (r == 0)
            r = json_put_string(out, v.p ? v.p : "", v.n);
    }
    return r ? r : buf_addc(out, ']');
}

size_t incident_key_parts(const char *key, struct buf parts[INCIDENT_KEY_MAX_PARTS])
{
    size_t n = 0;
    const char *p = key;
    while (*p && n < INCIDENT_KEY_MAX_PARTS) {
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

bool incident_key_reset_applies(const char *reset_key, const char *key)
{
    if (strcmp(reset_key, key) == 0)
        return true;
    struct buf a[INCIDENT_KEY_MAX_PARTS], k[INCIDENT_KEY_MAX_PARTS];
    for (size_t i = 0; i < INCIDENT_KEY_MAX_PARTS; i++) {
        buf_init(&a[i], 0);
        buf_init(&k[i], 0);
    }
    size_t na = incident_key_parts(reset_key, a), nk = incident_key_parts(key, k);
    bool ok = na == nk;
    for (size_t i = 0; ok && i < na; i++)
        ok = a[i].len == 0 || (a[i].len == k[i].len && memcmp(a[i].data, k[i].data, a[i].len) == 0);
    for (size_t i = 0; i < INCIDENT_KEY_MAX_PARTS; i++) {
        buf_release(&a[i]);
        buf_release(&k[i]);
    }
    return ok;
}

bool incident_key_field(const struct rule *r, const char *key, const char *name, struct buf *out)
{
    struct buf parts[INCIDENT_KEY_MAX_PARTS];
    for (size_t i = 0; i < INCIDENT_KEY_MAX_PARTS; i++)
        buf_init(&parts[i], 0);
    size_t n = incident_key_parts(key, parts);
    bool found = false;
    for (size_t i = 0; i < r->inc.n_group_by && i < n && !found; i++) {
        if (strcmp(r->inc.group_by[i], name) == 0) {
            buf_reset(out);
            found = buf_add(out, parts[i].data ? parts[i].data : "", parts[i].len) == 0;
        }
    }
    for (size_t i = 0; i < INCIDENT_KEY_MAX_PARTS; i++)
        buf_release(&parts[i]);
    return found;
}
