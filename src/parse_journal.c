/* journalctl's own output forms beyond "short": short-iso and short-iso-precise (also what
 * rsyslog writes with RFC 3339 timestamps), and -o json, one object per line
 * (systemd.journal-fields(7) names the fields). */
#include "parse.h"

#include "json.h"

bool parse_iso(struct parser *p, struct strv line, struct record *r)
{
    struct strv s = line;
    int pri;
    if (s.n && s.p[0] == '<') {
        /* rsyslog's RFC 3339 forwarding template keeps the 3164 "<PRI>" framing. */
        size_t i = 1;
        pri = 0;
        while (i < s.n && i < 4 && s.p[i] >= '0' && s.p[i] <= '9')
            pri = pri * 10 + (s.p[i++] - '0');
        if (i == 1 || i >= s.n || s.p[i] != '>' || pri > 191)
            return false;
        r->pri = pri;
        s = strv_make(s.p + i + 1, s.n - i - 1);
    }
    struct civil_time t;
    bool zoned;
    int off;
    size_t n = parse_time_iso_fields(s, &t, &zoned, &off);
    if (!n || (n < s.n && s.p[n] != ' '))
        return false;
    /* Without a zone (rsyslog's traditional ISO form, dpkg-style lines) the time is local. */
    if (!zoned)
        (void)parser_local_time(p, &t, r);
    else
        (void)parser_zoned_time(&t, off, r);
    r->format = FMT_ISO;
    struct strv rest = strv_make(s.p + n, s.n - n);
    /* A decimal comma ("10:00:01,123") is Python's and log4j's, never syslog's or journalctl's:
     * such a line has no syslog header whatever follows. */
    bool comma = memchr(s.p, ',', n) != NULL;
    while (rest.n && rest.p[0] == ' ')
        rest = strv_make(rest.p + 1, rest.n - 1);
    if (comma || !parse_host_and_tag(rest, r->pri >= 0, r))
        parse_plain_with_time(rest, r);
    return true;
}

/* Returns the text of a JSON string value without its quotes. Journal field values other than
 * MESSAGE are identifiers and numbers, so escapes are not decoded here. */
static struct strv unquote(struct strv v)
{
    if (v.n >= 2 && v.p[0] == '"')
        return strv_make(v.p + 1, v.n - 2);
    return STRV_NULL;
}

/* The last microsecond hsmlog can show: 9999-12-31T23:59:59.999999Z. Later values would
 * print with a wrapped-around year. */
#define JOURNAL_MAX_REALTIME_US UINT64_C(253402300799999999)

bool parse_json(struct parser *p, struct strv line, struct record *r)
{
    struct json_iter it;
    if (json_iter_begin(&it, line) < 0)
        return false;
    struct strv key, val, message = STRV_NULL, comm = STRV_NULL, syslog_pid = STRV_NULL;
    struct strv realtime = STRV_NULL, facility = STRV_NULL, priority = STRV_NULL;
    bool has_message = false;
    int rc;
    while ((rc = json_iter_next(&it, &key, &val)) > 0) {
        if (key.n < 4)
            continue;
        if (strv_eq(key, "MESSAGE")) {
            message = val;
            has_message = true;
        } else if (strv_eq(key, "__REALTIME_TIMESTAMP")) {
            realtime = unquote(val);
        } else if (strv_eq(key, "_HOSTNAME")) {
            r->host = unquote(val);
        } else if (strv_eq(key, "SYSLOG_IDENTIFIER")) {
            r->program = unquote(val);
        } else if (strv_eq(key, "_COMM")) {
            comm = unquote(val);
        } else if (strv_eq(key, "SYSLOG_PID")) {
            syslog_pid = unquote(val);
        } else if (strv_eq(key, "_PID")) {
            r->pid = unquote(val);
        } else if (strv_eq(key, "PRIORITY")) {
            priority = unquote(val);
        } else if (strv_eq(key, "SYSLOG_FACILITY")) {
            facility = unquote(val);
        }
    }
    /* A journal line is an object with at least a timestamp or a message; anything else
     * starting with '{' is left to the plain-text path. */
    if (rc < 0 || (!has_message && realtime.n == 0))
        return false;
    /* Every number below is range-checked here, where it is read: a value out of range is
     * taken as absent, never used as it is (a PRIORITY of 8 would make PRI 192, past the end
     * of every facility table). */
    if (r->program.n == 0)
        r->program = comm;
    if (!parse_pid_ok(r->pid))
        r->pid = STRV_NULL;
    if (parse_pid_ok(syslog_pid))
        r->pid = syslog_pid;
    uint64_t v;
    if (strv_to_uint(realtime, JOURNAL_MAX_REALTIME_US, &v)) {
        r->ts_us = (int64_t)v;
        r->has_ts = true;
    }
    /* systemd.journal-fields(7): PRIORITY is a syslog severity 0-7 and SYSLOG_FACILITY a
     * facility 0-23; an entry without a usable facility is taken as "user" (1), the facility
     * syslog(3) assumes. */
    uint64_t sev, fac;
    if (strv_to_uint(priority, 7, &sev)) {
        if (!strv_to_uint(facility, 23, &fac))
            fac = 1;
        r->pri = (int)(fac * 8 + sev);
    }
    buf_reset(&p->scratch);
    /* MESSAGE is a string, an array of bytes (not valid UTF-8), or null. */
    if (has_message && json_value_decode(message, &p->scratch) < 0)
        buf_reset(&p->scratch);
    r->message = strv_make(buf_cstr(&p->scratch), p->scratch.len);
    r->format = FMT_JSON;
    return true;
}
