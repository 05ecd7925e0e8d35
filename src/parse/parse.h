/* Header parsing: turns one line into a struct record, choosing the format per line (a stream
 * may be several files concatenated). parse_line() never fails: a line no format claims is
 * FMT_PLAIN with the whole line as its message, so rules still see it. */
#ifndef HSMLOG_PARSE_H
#define HSMLOG_PARSE_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "parse_time.h"
#include "rec.h"

/* Per-stream parsing state. One parser per source: the year guess follows one file's lines.
 * Invariant: scratch holds at most one decoded message, the current record's. */
struct parser {
    struct parse_zone *zone;   /* borrowed: zone of times written without one, valid while the
                                  parser is used; NULL for UTC */
    struct year_guess year;    /* year for year-less formats (RFC 3164, short, short-precise) */
    int64_t last_us;           /* time of the latest line that had one, INT64_MIN before */
    struct buf scratch;        /* owned: decoded JSON MESSAGE of the current line */
    uint64_t seen[FMT__COUNT]; /* lines parsed per format, for the scan summary */
    uint64_t bad_time;         /* lines whose header wrote an impossible time (rec.bad_ts) */
    uint64_t zone_mismatch;    /* short-full lines whose zone abbreviation is not the one
                                  p->zone gives their time: read in p->zone all the same */
    char zone_said[16];        /* the first such line's abbreviation ... */
    char zone_read[16];        /* ... and p->zone's at its time */
    int64_t abbrev_slot;       /* the quarter hour (UTC) whose abbreviation abbrev holds: a
                                  lookup per line would cost as much as the rest of the line */
    char abbrev[16];           /* p->zone's abbreviation then, "" when it has none */
};

/* Sets up a parser. base_year/ref_month seed the year guess (see struct year_guess), with the
 * end of ref_month as the reference date (year_guess_init() on p->year sets a day); zone
 * (borrowed, NULL for UTC) is the zone of timestamps that carry none. */
void parser_init(struct parser *p, int base_year, int ref_month, struct parse_zone *zone);

/* Gives r the time of c, a date and time the line wrote without a zone: the one place such
 * times become UTC, so every format reads them alike. A year of 0 takes the year guess. The
 * time is read in p->zone. When c is no real time (Feb 29 of a common year, Nov 31, 25:00,
 * minute 60) r gets no time but bad_ts, and the year guess is left as it was; returns false
 * then, true otherwise. Call it once the line's shape is accepted: it moves the year guess. */
bool parser_local_time(struct parser *p, const struct civil_time *c, struct record *r);

/* Gives r the time of c, written with a zone offset_s seconds east of UTC (RFC 5424,
 * short-iso): p's zone does not apply. An impossible c sets bad_ts instead, as above. */
bool parser_zoned_time(const struct civil_time *c, int offset_s, struct record *r);

/* Frees the scratch buffer. */
void parser_release(struct parser *p);

/* Parses line into *ret. The record borrows from line and from p->scratch: valid until the
 * next parse_line() on p or until line's buffer moves. */
void parse_line(struct parser *p, struct strv line, struct record *ret);

/* The format parsers parse_line() chooses between; each returns true when the line has that
 * shape and fills *r, false (leaving *r unspecified) when it does not. Exposed for tests. */
bool parse_rfc3164(struct parser *p, struct strv line, struct record *r);
bool parse_rfc5424(struct parser *p, struct strv line, struct record *r);
bool parse_luna_tail(struct parser *p, struct strv line, struct record *r);
bool parse_iso(struct parser *p, struct strv line, struct record *r);
bool parse_json(struct parser *p, struct strv line, struct record *r);
bool parse_short_full(struct parser *p, struct strv line, struct record *r);
bool parse_short_unix(struct strv line, struct record *r);
bool parse_short_monotonic(struct strv line, struct record *r);
bool parse_export(struct parser *p, struct strv rec, struct record *r);
bool parse_bare(struct strv line, struct record *r);

/* Reads what follows a timestamp: "host tag[pid]: msg", "host tag: msg" or (no host)
 * "tag[pid]: msg", each token in the shape a syslog header gives it (parse_syslog.c). With
 * certain (the line had a PRI), a host followed by no tag is a header too. Returns false,
 * leaving r's header fields unspecified, when the text has no header shape. */
bool parse_host_and_tag(struct strv s, bool certain, struct record *r);

/* Makes r a plain-text line that keeps the time already in it: no host, program or pid, and
 * the text after the timestamp (rest) as its message. */
void parse_plain_with_time(struct strv rest, struct record *r);

/* Splits "tag[pid]: message" / "tag: message" at the start of s into r->program, r->pid and
 * r->message. With space_before_pid, "tag [pid]: message" is accepted too (Luna tail form).
 * Returns false and sets only r->message = s when s does not start with a tag. */
bool parse_tag(struct strv s, bool space_before_pid, struct record *r);

/* Returns true when pid is a process id: 1 to 10 decimal digits with a value of at most
 * 2147483647, the largest pid_t (POSIX makes pid_t a signed integer type; Linux caps pids at
 * 2^22). Anything else, including the empty slice, is not a pid. */
bool parse_pid_ok(struct strv pid);

#endif
