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

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static struct strv skip_spaces(struct strv s)
{
    while (s.n && s.p[0] == ' ')
        s = strv_make(s.p + 1, s.n - 1);
    return s;
}

/* journalctl -o short-full and -o with-unit (logs-show.c, format_timestamp()):
 * "Sat 2026-11-28 07:00:05 CET hsm-a1 NTLS[2981]: msg". The zone is an abbreviation in the
 * zone journalctl ran in; abbreviations are ambiguous (IST, CST), so the time is taken as
 * local like every zone-less time, except "UTC" (journalctl --utc) and the numeric "+03" that
 * zones without an abbreviation print, which are exact. with-unit prints the unit where the
 * identifier goes; a service unit is named as `journalctl -u` names it, without ".service". */
bool parse_short_full(struct parser *p, struct strv line, struct record *r)
{
    static const char days[] = "MonTueWedThuFriSatSun";
    bool weekday = false;
    for (size_t i = 0; i + 3 <= sizeof(days) - 1 && line.n >= 4; i += 3)
        weekday |= memcmp(line.p, days + i, 3) == 0;
    if (!weekday || line.p[3] != ' ')
        return false;
    struct strv s = strv_make(line.p + 4, line.n - 4);
    struct civil_time t;
    bool zoned;
    int off;
    size_t n = parse_time_iso_fields(s, &t, &zoned, &off);
    if (!n || zoned || n >= s.n || s.p[n] != ' ' || s.p[10] != ' ')
        return false;
    struct strv rest = skip_spaces(strv_make(s.p + n, s.n - n));
    size_t z = 0;
    while (z < rest.n && rest.p[z] != ' ')
        z++;
    struct strv zone = strv_make(rest.p, z);
    if (!z)
        return false;
    rest = skip_spaces(strv_make(rest.p + z, rest.n - z));
    int zone_off;
    if (strv_eq(zone, "UTC") || strv_eq(zone, "GMT"))
        (void)parser_zoned_time(&t, 0, r);
    else if ((zone.p[0] == '+' || zone.p[0] == '-') && zone.n <= 6) {
        char buf[8];
        memcpy(buf, zone.p, zone.n);
        buf[zone.n] = '\0';
        if (parse_time_offset(buf, &zone_off) < 0)
            return false;
        (void)parser_zoned_time(&t, zone_off, r);
    } else if (parser_local_time(p, &t, r)) {
        /* An abbreviation names a zone only loosely (IST, CST), but one that is not what the
         * reading zone calls that time says the lines come from another zone: count it. Zones
         * change their abbreviation on quarter hours at most. */
        int64_t slot = r->ts_us / (15 * 60 * INT64_C(1000000));
        if (slot != p->abbrev_slot) {
            p->abbrev_slot = slot;
            if (!parse_zone_abbrev(p->zone, r->ts_us, p->abbrev, sizeof(p->abbrev)))
                p->abbrev[0] = '\0';
        }
        if (p->abbrev[0] && !strv_eq(zone, p->abbrev) && !p->zone_mismatch++) {
            snprintf(p->zone_said, sizeof(p->zone_said), "%.*s", (int)zone.n, zone.p);
            snprintf(p->zone_read, sizeof(p->zone_read), "%s", p->abbrev);
        }
    }
    r->format = FMT_SHORT_FULL;
    if (!parse_host_and_tag(rest, false, r)) {
        parse_plain_with_time(rest, r);
        return true;
    }
    if (r->program.n > 8 && memcmp(r->program.p + r->program.n - 8, ".service", 8) == 0)
        r->program.n -= 8;
    return true;
}

/* journalctl -o short-unix: seconds since the epoch with microseconds ("%10llu.%06llu"),
 * always UTC. */
bool parse_short_unix(struct strv line, struct record *r)
{
    size_t i = 0;
    uint64_t secs = 0;
    while (i < line.n && i < 12 && is_digit(line.p[i]))
        secs = secs * 10 + (uint64_t)(line.p[i++] - '0');
    if (i < 9 || i + 8 > line.n || line.p[i] != '.' || line.p[i + 7] != ' ')
        return false;
    uint64_t usec = 0;
    for (size_t k = i + 1; k < i + 7; k++) {
        if (!is_digit(line.p[k]))
            return false;
        usec = usec * 10 + (uint64_t)(line.p[k] - '0');
    }
    struct strv rest = skip_spaces(strv_make(line.p + i + 8, line.n - i - 8));
    if (!parse_host_and_tag(rest, false, r))
        return false;
    /* 9999-12-31 23:59:59 is the last second a stored time can show. */
    if (secs <= UINT64_C(253402300799)) {
        r->has_ts = true;
        r->ts_us = (int64_t)(secs * 1000000 + usec);
    }
    r->format = FMT_SHORT_UNIX;
    return true;
}

/* journalctl -o short-monotonic "[%5llu.%06llu]" and -o short-delta, which adds
 * " <%5llu.%06llu >" (or spaces) inside the brackets: seconds since boot, no wall time, so the
 * line keeps a NULL time and the rest of its header. dmesg's own "[    1.234567] usb 1-1: ..."
 * has no host and tag after the brackets and stays plain text, and so does its
 * "[842113.229871] k7pf0: ALM0013: ...": a hostless "word:" is a kernel device prefix, not a
 * tag (journalctl --no-hostname writes "kernel: k7pf0: ..." and "prog[pid]: ..."). */
bool parse_short_monotonic(struct strv line, struct record *r)
{
    size_t i = 1;
    while (i < line.n && line.p[i] == ' ')
        i++;
    size_t d = i;
    while (i < line.n && is_digit(line.p[i]))
        i++;
    if (i == d || i + 7 >= line.n || line.p[i] != '.')
        return false;
    for (size_t k = i + 1; k < i + 7; k++)
        if (!is_digit(line.p[k]))
            return false;
    i += 7;
    /* short-delta's "<    0.005057 >" or its blank when there is no previous entry. */
    while (i < line.n && line.p[i] != ']' && i < 64) {
        char c = line.p[i];
        if (c != ' ' && c != '<' && c != '>' && c != '.' && c != '*' && !is_digit(c))
            return false;
        i++;
    }
    if (i >= line.n || line.p[i] != ']')
        return false;
    struct strv rest = skip_spaces(strv_make(line.p + i + 1, line.n - i - 1));
    if (!parse_host_and_tag(rest, false, r))
        return false;
    if (!r->host.p && !r->pid.p && !strv_eq(r->program, "kernel"))
        return false;
    r->format = FMT_SHORT_MONOTONIC;
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

/* A numeric field as text: journalctl writes "1795845605095383" as a string, log shippers
 * (Vector, Fluent Bit) as a JSON number. Whatever it holds is range-checked by the caller,
 * so "-1", "1e3" and 20 digits are absent, never wrapped. */
static struct strv number(struct strv v)
{
    if (v.n && (is_digit(v.p[0]) || v.p[0] == '-'))
        return v;
    return unquote(v);
}

/* The last microsecond hsmlog can show: 9999-12-31T23:59:59.999999Z. Later values would
 * print with a wrapped-around year. */
#define JOURNAL_MAX_REALTIME_US UINT64_C(253402300799999999)

/* The fields both journal forms carry, as found in one entry. */
struct journal_fields {
    struct strv realtime, comm, syslog_pid, priority, facility;
};

/* Fills r from f (host, program and pid already set from the entry). */
static void journal_finish(const struct journal_fields *f, struct record *r)
{
    struct strv comm = f->comm, syslog_pid = f->syslog_pid, realtime = f->realtime;
    struct strv priority = f->priority, facility = f->facility;
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
}

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
            realtime = number(val);
        } else if (strv_eq(key, "_HOSTNAME")) {
            r->host = unquote(val);
        } else if (strv_eq(key, "SYSLOG_IDENTIFIER")) {
            r->program = unquote(val);
        } else if (strv_eq(key, "_COMM")) {
            comm = unquote(val);
        } else if (strv_eq(key, "SYSLOG_PID")) {
            syslog_pid = number(val);
        } else if (strv_eq(key, "_PID")) {
            r->pid = number(val);
        } else if (strv_eq(key, "PRIORITY")) {
            priority = number(val);
        } else if (strv_eq(key, "SYSLOG_FACILITY")) {
            facility = number(val);
        }
    }
    /* A journal line is an object with at least a timestamp or a message; anything else
     * starting with '{' is left to the plain-text path. */
    if (rc < 0 || (!has_message && realtime.n == 0))
        return false;
    struct journal_fields f = { realtime, comm, syslog_pid, priority, facility };
    journal_finish(&f, r);
    buf_reset(&p->scratch);
    /* MESSAGE is a string, an array of bytes (not valid UTF-8), or null. */
    if (has_message && json_value_decode(message, &p->scratch) < 0)
        buf_reset(&p->scratch);
    r->message = strv_make(buf_cstr(&p->scratch), p->scratch.len);
    r->format = FMT_JSON;
    return true;
}

/* journalctl -o export, one entry assembled by records.c: "NAME=value" lines, or the name
 * alone, a 64-bit little-endian length, the bytes (MESSAGE with a newline or a byte that is
 * not printable UTF-8) and a newline. Lengths are checked against what the record holds: a
 * record cut at --max-line keeps the fields before the cut. */
bool parse_export(struct parser *p, struct strv rec, struct record *r)
{
    struct journal_fields f = { 0 };
    struct strv message = STRV_NULL;
    bool has_message = false;
    size_t i = 0;
    while (i < rec.n) {
        const char *line = rec.p + i;
        const char *nl = memchr(line, '\n', rec.n - i);
        size_t n = nl ? (size_t)(nl - line) : rec.n - i;
        const char *eq = memchr(line, '=', n);
        struct strv key, val;
        if (eq) {
            key = strv_make(line, (size_t)(eq - line));
            val = strv_make(eq + 1, n - (size_t)(eq - line) - 1);
            i += n + 1;
        } else {
            key = strv_make(line, n);
            i += n + 1;
            if (i + 8 > rec.n)
                break;
            uint64_t len = 0;
            for (int k = 7; k >= 0; k--)
                len = len << 8 | (unsigned char)rec.p[i + (size_t)k];
            i += 8;
            size_t have = rec.n - i;
            val = strv_make(rec.p + i, len < have ? (size_t)len : have);
            i += val.n + 1;
        }
        if (strv_eq(key, "MESSAGE")) {
            message = val;
            has_message = true;
        } else if (strv_eq(key, "__REALTIME_TIMESTAMP")) {
            f.realtime = val;
        } else if (strv_eq(key, "_HOSTNAME")) {
            r->host = val;
        } else if (strv_eq(key, "SYSLOG_IDENTIFIER")) {
            r->program = val;
        } else if (strv_eq(key, "_COMM")) {
            f.comm = val;
        } else if (strv_eq(key, "SYSLOG_PID")) {
            f.syslog_pid = val;
        } else if (strv_eq(key, "_PID")) {
            r->pid = val;
        } else if (strv_eq(key, "PRIORITY")) {
            f.priority = val;
        } else if (strv_eq(key, "SYSLOG_FACILITY")) {
            f.facility = val;
        }
    }
    if (!has_message && f.realtime.n == 0)
        return false;
    journal_finish(&f, r);
    buf_reset(&p->scratch);
    if (has_message && buf_add(&p->scratch, message.p, message.n) < 0)
        buf_reset(&p->scratch);
    r->message = strv_make(buf_cstr(&p->scratch), p->scratch.len);
    r->format = FMT_EXPORT;
    return true;
}
