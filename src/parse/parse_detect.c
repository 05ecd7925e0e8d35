/* Chooses a header format for each line from its first bytes, then calls that format's
 * parser. A failed parse falls through to the next candidate and finally to plain text, so
 * no line is ever dropped. Order matters: the cheap, specific shapes go first. */
#include "parse.h"

static const char *const format_names[FMT__COUNT] = {
    [FMT_PLAIN] = "plain",
    [FMT_BARE] = "bare",
    [FMT_RFC3164] = "rfc3164",
    [FMT_SHORT_PRECISE] = "short-precise",
    [FMT_ISO] = "iso",
    [FMT_RFC5424] = "rfc5424",
    [FMT_LUNA_TAIL] = "luna-tail",
    [FMT_JSON] = "json",
    [FMT_SHORT_FULL] = "short-full",
    [FMT_SHORT_UNIX] = "short-unix",
    [FMT_SHORT_MONOTONIC] = "short-monotonic",
    [FMT_EXPORT] = "export",
};

const char *rec_format_name(enum rec_format f)
{
    return (unsigned)f < FMT__COUNT ? format_names[f] : "unknown";
}

void parser_init(struct parser *p, int base_year, int ref_month, struct parse_zone *zone)
{
    p->zone = zone;
    p->last_us = INT64_MIN;
    p->bad_time = 0;
    p->zone_mismatch = 0;
    p->zone_said[0] = p->zone_read[0] = '\0';
    p->abbrev_slot = INT64_MIN;
    year_guess_init(&p->year, base_year, ref_month, 31);
    /* A decoded message is never longer than the line it came from, which the line reader
     * caps; this cap only backs that up. */
    buf_init(&p->scratch, 64u << 20);
    memset(p->seen, 0, sizeof(p->seen));
}

bool parser_local_time(struct parser *p, const struct civil_time *c, struct record *r)
{
    struct civil_time t = *c;
    if (!t.year)
        t.year = t.month >= 1 && t.month <= 12 && t.day >= 1 && t.day <= 31
                         ? year_guess_peek(&p->year, t.month, t.day)
                         : 0;
    r->has_ts = false;
    /* An impossible date is never moved to a real one (Feb 29 to Mar 1), and never counts as a
     * step of the year guess: the line keeps its header but no time. */
    if (!parse_time_valid(&t)) {
        r->bad_ts = true;
        return false;
    }
    if (!c->year)
        (void)year_guess_next(&p->year, t.month, t.day);
    r->bad_ts = false;
    r->has_ts = true;
    r->ts_us = parse_zone_to_utc(p->zone, parse_time_civil_us(&t), p->last_us);
    return true;
}

bool parser_zoned_time(const struct civil_time *c, int offset_s, struct record *r)
{
    r->has_ts = parse_time_valid(c);
    r->bad_ts = !r->has_ts;
    if (r->has_ts)
        r->ts_us = parse_time_civil_us(c) - (int64_t)offset_s * 1000000;
    return r->has_ts;
}

void parser_release(struct parser *p)
{
    buf_release(&p->scratch);
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Tries the formats a line starting with "<PRI>" can have. */
static bool parse_with_pri(struct parser *p, struct strv line, struct record *r)
{
    size_t i = 1;
    while (i < line.n && i < 5 && is_digit(line.p[i]))
        i++;
    if (i >= line.n || line.p[i] != '>')
        return false;
    char c = i + 1 < line.n ? line.p[i + 1] : '\0';
    if (c == '1' && i + 2 < line.n && line.p[i + 2] == ' ')
        return parse_rfc5424(p, line, r);
    if (is_digit(c))
        return parse_iso(p, line, r) || parse_luna_tail(p, line, r);
    if (parse_rfc3164(p, line, r))
        return true;
    /* "<13>NTLS[99]: msg": a PRI in front of a bare tag, as some forwarders send. Only a
     * valid PRI (RFC 5424 §6.2.1: 1-3 digits, at most 191) counts as one. */
    int pri = 0;
    for (size_t k = 1; k < i; k++)
        pri = pri * 10 + (line.p[k] - '0');
    if (i == 1 || i > 4 || pri > 191)
        return false;
    struct record tmp = *r;
    if (parse_bare(strv_make(line.p + i + 1, line.n - i - 1), &tmp)) {
        *r = tmp;
        r->pri = pri;
        return true;
    }
    return false;
}

static bool dispatch(struct parser *p, struct strv line, struct record *r)
{
    char c = line.p[0];
    if (c == '{')
        return parse_json(p, line, r);
    /* journalctl -o json-seq: RFC 7464 puts a record separator (0x1E) before each text. */
    if (c == '\x1e' && line.n > 1 && line.p[1] == '{')
        return parse_json(p, strv_make(line.p + 1, line.n - 1), r);
    /* journalctl -o json-sse: server-sent events, "data: {...}" then an empty line. */
    if (c == 'd' && strv_starts_with(line, "data: {"))
        return parse_json(p, strv_make(line.p + 6, line.n - 6), r);
    if (c == '<')
        return parse_with_pri(p, line, r);
    if (c == '[')
        return parse_short_monotonic(line, r);
    if (c == '_' && line.n > 2 && line.p[1] == '_')
        return parse_export(p, line, r);
    if (is_digit(c) && line.n >= 11) {
        if (line.p[4] == '-')
            return parse_iso(p, line, r);
        if (line.p[4] == ' ')
            return parse_luna_tail(p, line, r);
        return parse_short_unix(line, r);
    }
    if (c >= 'A' && c <= 'W' && line.n >= 15 && line.p[3] == ' ')
        return line.p[8] == '-' ? parse_short_full(p, line, r) : parse_rfc3164(p, line, r);
    return false;
}

void parse_line(struct parser *p, struct strv line, struct record *ret)
{
    *ret = (struct record){ .format = FMT_PLAIN, .pri = -1, .raw = line, .message = line };
    if (line.n == 0) {
        p->seen[FMT_PLAIN]++;
        return;
    }
    struct record r = *ret;
    if (dispatch(p, line, &r) || ((r = *ret), parse_bare(line, &r))) {
        r.raw = line;
        *ret = r;
    }
    p->seen[ret->format]++;
    if (ret->has_ts)
        p->last_us = ret->ts_us;
    p->bad_time += ret->bad_ts;
}
