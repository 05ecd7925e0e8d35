/* RFC 3164, RFC 5424, the Luna appliance's "syslog tail" display form and bare
 * "program[pid]: message" lines. Hand-written cursors, not regexes: these headers are fixed
 * shapes and this code runs on every line. */
#include "parse.h"

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alnum_or_utf8(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
}

/* Returns s with its first n bytes dropped (n <= s.n). */
static struct strv skip(struct strv s, size_t n)
{
    return strv_make(s.p + n, s.n - n);
}

static struct strv skip_spaces(struct strv s)
{
    size_t i = 0;
    while (i < s.n && s.p[i] == ' ')
        i++;
    return skip(s, i);
}

/* Splits off the token before the next space; *rest starts at that space (or is empty). */
static struct strv next_token(struct strv s, struct strv *rest)
{
    size_t i = 0;
    while (i < s.n && s.p[i] != ' ')
        i++;
    *rest = skip(s, i);
    return strv_make(s.p, i);
}

/* Parses "<PRI>" at the start of s: returns bytes used (0 when absent) and the value. */
static size_t parse_pri(struct strv s, int *ret_pri)
{
    if (s.n < 3 || s.p[0] != '<')
        return 0;
    int v = 0;
    size_t i = 1;
    while (i < s.n && i <= 4 && is_digit(s.p[i]))
        v = v * 10 + (s.p[i++] - '0');
    /* RFC 5424 §6.2.1: 1-3 digits, at most 191. */
    if (i == 1 || i > 4 || i >= s.n || s.p[i] != '>' || v > 191)
        return 0;
    *ret_pri = v;
    return i + 1;
}

bool parse_pid_ok(struct strv pid)
{
    uint64_t v;
    return pid.n <= 10 && strv_to_uint(pid, INT32_MAX, &v);
}

/* A pid field that starts like a number must be a pid; text ("[main]", RFC 5424 PROCIDs such
 * as "ntls-7") is the sender's own label and is kept. */
static struct strv checked_pid(struct strv pid)
{
    return pid.n && is_digit(pid.p[0]) && !parse_pid_ok(pid) ? STRV_NULL : pid;
}

bool parse_tag(struct strv s, bool space_before_pid, struct record *r)
{
    size_t i = 0;
    while (i < s.n && s.p[i] != ' ' && s.p[i] != '[' && s.p[i] != ':')
        i++;
    struct strv tag = strv_make(s.p, i);
    size_t j = i;
    if (space_before_pid && j + 1 < s.n && s.p[j] == ' ' && s.p[j + 1] == '[')
        j++;
    struct strv pid = STRV_NULL;
    if (j < s.n && s.p[j] == '[') {
        size_t k = j + 1;
        while (k < s.n && s.p[k] != ']' && s.p[k] != ' ')
            k++;
        if (k >= s.n || s.p[k] != ']')
            goto no_tag;
        pid = checked_pid(strv_make(s.p + j + 1, k - j - 1));
        j = k + 1;
    }
    if (tag.n == 0 || j >= s.n || s.p[j] != ':')
        goto no_tag;
    j++;
    if (j < s.n && s.p[j] == ' ')
        j++;
    r->program = tag;
    r->pid = pid;
    r->message = skip(s, j);
    return true;
no_tag:
    r->message = s;
    return false;
}

bool parse_bare(struct strv line, struct record *r)
{
    /* Only "tag[pid]:" counts: "Warning: ..." in a console paste is text, not a program. */
    struct record tmp = *r;
    if (!parse_tag(line, false, &tmp) || tmp.pid.n == 0)
        return false;
    for (size_t i = 0; i < tmp.pid.n; i++)
        if (!is_digit(tmp.pid.p[i]))
            return false;
    *r = tmp;
    r->format = FMT_BARE;
    return true;
}

/* RFC 3164 §4.1.2: HOSTNAME is a host name, an IPv4 or an IPv6 address: it starts with a
 * letter or digit (UTF-8 bytes are let through for internationalised names), never with the
 * "-", "+0000", "[1234]" or "(sda1)" that follow the time in application logs. The levels
 * those logs print after their time ("2026-11-28 10:00:01 INFO app: ...") are never taken as
 * hosts either: real hosts are not named that way, and those lines are not syslog. The rest
 * of the token is not checked, so that a hostile host name still reaches the output escaping
 * as it is. */
static bool host_shaped(struct strv t)
{
    static const char *const levels[] = { "TRACE",   "DEBUG", "INFO",  "NOTICE", "WARN",
                                          "WARNING", "ERR",   "ERROR", "CRIT",   "CRITICAL",
                                          "ALERT",   "EMERG", "FATAL", "SEVERE" };
    if (!t.n || !is_alnum_or_utf8((unsigned char)t.p[0]))
        return false;
    for (size_t i = 0; i < ARRAY_SIZE(levels); i++)
        if (strv_eq(t, levels[i]))
            return false;
    return true;
}

/* A syslog tag ends its token in ':' (then a space or the end of the line), or in "[pid]:".
 * "libsystemd0:amd64" (dpkg's package names) has a colon but is no tag. */
static bool tag_shaped(struct strv s)
{
    struct record tmp = { 0 };
    if (!parse_tag(s, false, &tmp))
        return false;
    size_t end = (size_t)(tmp.message.p - s.p); /* past "tag:" or "tag[pid]:" and one space */
    return tmp.pid.p || end == s.n || s.p[end - 1] == ' ';
}

bool parse_host_and_tag(struct strv s, bool certain, struct record *r)
{
    struct strv rest;
    struct strv tok = next_token(s, &rest);
    struct strv after = skip_spaces(rest);
    /* A first token that already is a tag ("prog:" or "prog[12]:") means the sender left the
     * hostname out, as local syslog(3) callers and journalctl --no-hostname do. */
    if (tag_shaped(s))
        return parse_tag(s, false, r);
    if (!host_shaped(tok))
        return false;
    if (tag_shaped(after))
        return r->host = tok, parse_tag(after, false, r);
    /* RFC 3164 §4.1.3 makes the TAG optional: after a PRI, which only syslog writes, the host
     * stands alone ("<13>Nov 28 09:14:03 combo syslogd 1.4.1: restart."). */
    if (!certain)
        return false;
    r->host = tok;
    r->message = after;
    return true;
}

/* A time with no header shape after it ("2026-11-28 10:00:01 status installed ..." in
 * dpkg.log): plain text that keeps its time, the message after it. */
void parse_plain_with_time(struct strv rest, struct record *r)
{
    r->format = FMT_PLAIN;
    r->host = r->program = r->pid = STRV_NULL;
    r->message = skip_spaces(rest);
}

bool parse_rfc3164(struct parser *p, struct strv line, struct record *r)
{
    struct strv s = line;
    size_t n = parse_pri(s, &r->pri);
    s = skip(s, n);
    /* "Mmm dd hh:mm:ss": the day is space-padded by RFC 3164 and zero-padded by journalctl. */
    if (s.n < 15 || s.p[3] != ' ')
        return false;
    int month = parse_time_month(s.p);
    if (!month)
        return false;
    size_t i = 4;
    int day;
    if (s.p[i] == ' ' && is_digit(s.p[i + 1])) {
        day = s.p[i + 1] - '0';
        i += 2;
    } else if (is_digit(s.p[i]) && is_digit(s.p[i + 1])) {
        day = (s.p[i] - '0') * 10 + (s.p[i + 1] - '0');
        i += 2;
    } else if (is_digit(s.p[i]) && s.p[i + 1] == ' ') {
        day = s.p[i] - '0';
        i += 1;
    } else {
        return false;
    }
    /* Day 0 or 32 and hour 25 still make the shape of a header: the line keeps its host and
     * program, and parser_local_time() gives it no time. */
    if (i >= s.n || s.p[i] != ' ')
        return false;
    struct civil_time t = { .month = month, .day = day };
    size_t c = parse_time_clock(skip(s, i + 1), &t.hour, &t.min, &t.sec, &t.usec);
    if (!c)
        return false;
    i += 1 + c;
    if (i < s.n && s.p[i] != ' ')
        return false;
    r->format = c > 8 ? FMT_SHORT_PRECISE : FMT_RFC3164;
    (void)parser_local_time(p, &t, r);
    if (!parse_host_and_tag(skip_spaces(skip(s, i)), r->pri >= 0, r))
        parse_plain_with_time(skip(s, i), r);
    return true;
}

/* RFC 5424 §6.3: STRUCTURED-DATA is "-" or one or more [SD-ID param="value" ...] elements,
 * where values escape '"', '\' and ']' with a backslash. Returns bytes used, 0 if malformed. */
static size_t skip_structured_data(struct strv s)
{
    if (s.n && s.p[0] == '-')
        return 1;
    size_t i = 0;
    while (i < s.n && s.p[i] == '[') {
        bool in_quotes = false;
        for (i++; i < s.n; i++) {
            char c = s.p[i];
            if (in_quotes && c == '\\') {
                i++;
            } else if (c == '"') {
                in_quotes = !in_quotes;
            } else if (c == ']' && !in_quotes) {
                break;
            }
        }
        if (i >= s.n)
            return 0;
        i++;
    }
    return i;
}

static struct strv nil_to_empty(struct strv v)
{
    return v.n == 1 && v.p[0] == '-' ? STRV_NULL : v;
}

bool parse_rfc5424(struct parser *p, struct strv line, struct record *r)
{
    size_t n = parse_pri(line, &r->pri);
    if (!n || line.n < n + 2 || line.p[n] != '1' || line.p[n + 1] != ' ')
        return false;
    struct strv s = skip(line, n + 2), rest;
    struct strv ts = next_token(s, &rest);
    struct civil_time t;
    bool zoned = false, timed = !strv_eq(ts, "-");
    int off;
    if (timed && parse_time_iso_fields(ts, &t, &zoned, &off) != ts.n)
        return false;
    r->host = nil_to_empty(next_token(skip_spaces(rest), &rest));
    r->program = nil_to_empty(next_token(skip_spaces(rest), &rest));
    r->pid = checked_pid(nil_to_empty(next_token(skip_spaces(rest), &rest)));
    next_token(skip_spaces(rest), &rest); /* MSGID: not used by any rule yet */
    s = skip_spaces(rest);
    size_t sd = skip_structured_data(s);
    if (!sd && s.n)
        return false;
    s = skip(s, sd);
    if (s.n && s.p[0] == ' ')
        s = skip(s, 1);
    /* §6.4: a UTF-8 MSG may start with a byte order mark. */
    if (s.n >= 3 && memcmp(s.p, "\xEF\xBB\xBF", 3) == 0)
        s = skip(s, 3);
    r->message = s;
    r->format = FMT_RFC5424;
    /* §6.2.3 requires TIME-OFFSET; a sender that leaves it out wrote local time. */
    if (timed && !zoned)
        (void)parser_local_time(p, &t, r);
    else if (timed)
        (void)parser_zoned_time(&t, off, r);
    return true;
}

/* Syslog facility and severity keywords as the appliance prints them (RFC 5424 §6.2.1). */
static int facility_code(struct strv f)
{
    static const char *const names[] = { "kern",     "user",   "mail",   "daemon", "auth",
                                         "syslog",   "lpr",    "news",   "uucp",   "cron",
                                         "authpriv", "ftp",    "ntp",    "audit",  "alert",
                                         "clock",    "local0", "local1", "local2", "local3",
                                         "local4",   "local5", "local6", "local7" };
    for (size_t i = 0; i < ARRAY_SIZE(names); i++)
        if (strv_eq(f, names[i]))
            return (int)i;
    return -1;
}

static int severity_code(struct strv s)
{
    static const char *const names[] = { "emerg",   "alert",  "crit", "err",
                                         "warning", "notice", "info", "debug" };
    for (size_t i = 0; i < ARRAY_SIZE(names); i++)
        if (strv_eq(s, names[i]))
            return (int)i;
    if (strv_eq(s, "error"))
        return 3;
    if (strv_eq(s, "warn"))
        return 4;
    return -1;
}

bool parse_luna_tail(struct parser *p, struct strv line, struct record *r)
{
    struct strv s = line;
    s = skip(s, parse_pri(s, &r->pri));
    if (s.n < 20 || !is_digit(s.p[0]) || s.p[4] != ' ')
        return false;
    int year = 0;
    for (int i = 0; i < 4; i++) {
        if (!is_digit(s.p[i]))
            return false;
        year = year * 10 + (s.p[i] - '0');
    }
    s = skip_spaces(skip(s, 5));
    if (s.n < 4 || s.p[3] != ' ')
        return false;
    int month = parse_time_month(s.p);
    if (!month)
        return false;
    s = skip_spaces(skip(s, 4));
    struct civil_time t = { .year = year, .month = month };
    size_t i = 0;
    while (i < s.n && i < 2 && is_digit(s.p[i]))
        t.day = t.day * 10 + (s.p[i++] - '0');
    if (i == 0)
        return false;
    s = skip_spaces(skip(s, i));
    size_t c = parse_time_clock(s, &t.hour, &t.min, &t.sec, &t.usec);
    if (!c || (c < s.n && s.p[c] != ' '))
        return false;
    struct strv rest;
    r->host = next_token(skip_spaces(skip(s, c)), &rest);
    struct strv fac = next_token(skip_spaces(rest), &rest);
    struct strv sev = next_token(skip_spaces(rest), &rest);
    int fc = facility_code(fac), sc = severity_code(sev);
    if (fc < 0 || sc < 0)
        return false;
    r->pri = fc * 8 + sc;
    if (year) {
        (void)parser_local_time(p, &t, r);
    } else { /* year 0000 is written, not missing: no year to guess, no such date */
        r->has_ts = false;
        r->bad_ts = true;
    }
    r->format = FMT_LUNA_TAIL;
    parse_tag(skip_spaces(rest), true, r);
    return true;
}
