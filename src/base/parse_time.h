/* Timestamps: civil time to microseconds since the epoch (UTC), ISO 8601 in and out, the zone
 * that times written without one are read in, and the year inference that year-less syslog
 * formats need. Every result is UTC. */
#ifndef HSMLOG_PARSE_TIME_H
#define HSMLOG_PARSE_TIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "err.h"
#include "strv.h"

/* Buffer size for parse_time_format() and parse_time_format_rfc3339(): the longer,
 * "2026-11-28T09:14:03.123456Z", plus NUL. */
#define PARSE_TIME_ISO_LEN 28

/* A date and time as a line wrote it, field by field. The fields hold what the digits say,
 * which may be no real time (Feb 30, 25:00): parse_time_valid() tells. */
struct civil_time {
    int year;  /* 0 when the line gave none (RFC 3164): the year guess supplies it */
    int month; /* 1..12 for a real date */
    int day;   /* 1..31 */
    int hour;  /* 0..23 */
    int min;   /* 0..59 */
    int sec;   /* 0..60: 60 is a leap second, read as :59 */
    int usec;  /* 0..999999 */
};

/* Returns microseconds since 1970-01-01T00:00:00Z for a proleptic Gregorian civil time taken
 * as UTC. Fields are not range-checked here; callers validate them first. */
int64_t parse_time_civil(int year, int month, int day, int hour, int min, int sec, int usec);

/* Returns true when c (with its year set) is a real date and time: year 1 or later (no log
 * is from year 0000), a day that its month has in that year (Feb 29 only in leap years), hour
 * 0..23, minute 0..59, second 0..60 (a leap second). */
bool parse_time_valid(const struct civil_time *c);

/* Returns parse_time_civil() of a valid c, a leap second folded into :59. */
int64_t parse_time_civil_us(const struct civil_time *c);

/* Returns 1..12 for an English three-letter month abbreviation at p ("Jan".."Dec",
 * case-sensitive as syslog writes them), 0 otherwise. Reads exactly 3 bytes. */
int parse_time_month(const char *p);

/* Parses "YYYY-MM-DD[T ]HH:MM:SS[.frac][Z|+HH:MM|+HHMM|+HH]" at the start of s. On success
 * returns the number of bytes consumed and sets *ret_us (UTC, using the zone when present,
 * else default_offset_s seconds east of UTC) and *ret_zoned. Returns 0 when s does not start
 * with such a timestamp or when it names no real time (2026-02-30). */
size_t parse_time_iso(struct strv s, int default_offset_s, int64_t *ret_us, bool *ret_zoned);

/* Parses the same shape as parse_time_iso() into its fields without checking their ranges, so
 * that a header with an impossible date is still a header: returns the bytes consumed (0 when
 * s does not have the shape), sets *ret, *ret_zoned, and *ret_offset_s to the zone's seconds
 * east of UTC (0 without a zone). */
size_t parse_time_iso_fields(struct strv s, struct civil_time *ret, bool *ret_zoned,
                             int *ret_offset_s);

/* Parses "HH:MM:SS[.frac]" at the start of s into its parts; returns bytes consumed or 0.
 * Each part is two digits, not range-checked (25:14:03 is the shape of a time, if no real
 * one); a leap second stays 60. */
size_t parse_time_clock(struct strv s, int *ret_hour, int *ret_min, int *ret_sec, int *ret_usec);

/* Writes us (UTC) as "YYYY-MM-DD HH:MM:SS", with ".ffffff" when it has a fraction: the form
 * hsmlog stores and prints. It is SQLite's own (datetime() writes it, and takes it as UTC), so
 * a stored time compares right against datetime('...') and a hand-typed '2026-11-28 20:00',
 * with <, <=, = and BETWEEN alike; text order is time order. */
void parse_time_format(int64_t us, char out[PARSE_TIME_ISO_LEN]);

/* Writes us as RFC 3339 UTC, "YYYY-MM-DDTHH:MM:SS.ffffffZ" (fixed width), for JSON output
 * that other programs read. */
void parse_time_format_rfc3339(int64_t us, char out[PARSE_TIME_ISO_LEN]);

/* Parses an offset "+HH:MM", "-HHMM", "Z" or "UTC" into seconds east of UTC. Returns 0 on
 * success, -1 when s is not an offset. */
int parse_time_offset(const char *s, int *ret_offset_s);

/* One local hour of a tz database zone, as struct parse_zone caches it. */
struct parse_zone_hour {
    int64_t hour;   /* the local hour this is for (local seconds / 3600, rounded down);
                       INT64_MIN for an empty slot */
    int32_t off[2]; /* seconds east of UTC, as n says */
    int n;          /* 1: off[0] holds all hour; 2: the hour happens twice (clocks set back),
                       first at off[0], then at off[1]; 0: the hour does not exist (clocks set
                       forward), off[0] held before; -1: the offsets change within the hour,
                       each time is looked up alone */
};

#define PARSE_ZONE_HOURS 8 /* cached hours: a power of two */

/* The zone that times written without one are read in: a fixed offset, or a zone of the
 * system's tz database read through libc (TZ, localtime_r). A tz database zone caches the
 * offsets of the local hours it has seen, so a line costs no libc call once its hour is known.
 *
 * Invariants: a process reads one tz database zone at a time, since libc keeps it in TZ: the
 * latest parse_zone_init() or parse_zone_local() wins, and an older tz database zone must not
 * be used after it. A zeroed struct is UTC. */
struct parse_zone {
    bool tzdb;      /* offsets from the tz database, else offset_s */
    int offset_s;   /* the fixed offset, seconds east of UTC */
    char name[256]; /* "Europe/Berlin", "+01:00": for messages;
                       "" when zeroed */
    struct parse_zone_hour hours[PARSE_ZONE_HOURS]; /* indexed by hour % PARSE_ZONE_HOURS */
    int64_t last_start_us; /* local start of the latest hour read, when it has one offset:
                              the next line is most likely in it; INT64_MAX for none */
    int64_t last_off_us;   /* that hour's offset, in microseconds */
};

/* Sets z to a fixed offset of offset_s seconds east of UTC. */
void parse_zone_fixed(struct parse_zone *z, int offset_s);

/* Sets z to the zone spec names: an offset parse_time_offset() reads ("+01:00", "UTC"), or
 * a zone of the system's tz database ("Europe/Berlin": a TZif file under $TZDIR, else
 * /usr/share/zoneinfo; an absolute path to one works too). A tz database zone becomes the
 * process's TZ. Fails with HL_EUSAGE, err naming spec, when it is neither: libc would read an
 * unknown name as UTC without a word. */
HL_NODISCARD int parse_zone_init(struct parse_zone *z, const char *spec, struct hl_err *err);

/* Sets z to the local zone, found as journalctl and lnav find it: TZ when it is set (empty
 * means UTC), else /etc/localtime (none means UTC). Returns 0, or HL_EUSAGE when TZ names no
 * zone of the tz database and is no POSIX TZ rule either: z then reads UTC, as libc does, and
 * err says so. */
HL_NODISCARD int parse_zone_local(struct parse_zone *z, struct hl_err *err);

/* Returns the UTC time of local_us, a civil time in zone z counted as if it were UTC
 * (parse_time_civil_us() of the fields as written). z may be NULL for UTC.
 * Times that a change of clocks makes special follow one documented rule (README, Input):
 * a time in the hour skipped when clocks go forward (02:30 on a spring-forward day) is read
 * with the offset in effect before the change, so it lands where a clock not yet changed
 * would put it (01:30Z in Berlin, the instant that is 03:30 summer time). A time in the hour
 * that happens twice when clocks go back is the one of its two instants nearer to near_us,
 * the time of the line before it in the same input (a later one on a tie), or the first of
 * them when near_us is INT64_MIN (no line before). */
int64_t parse_zone_to_utc(struct parse_zone *z, int64_t local_us, int64_t near_us);

/* Copies into out (n bytes) the abbreviation z gives the UTC time us ("CET", "PDT", "UTC" for
 * UTC). Returns false when z has none to give: a fixed offset other than 0. */
bool parse_zone_abbrev(const struct parse_zone *z, int64_t us, char *out, size_t n);

/* Fills *ret with the civil time in z (NULL for UTC) of the UTC time us. */
void parse_zone_civil(struct parse_zone *z, int64_t us, struct civil_time *ret);

/* A step back between two lines' dates of more than this many days starts the next year. */
#define YEAR_GUESS_ROLLOVER_DAYS 183
/* A date that is at most this many days before the line before it, counted across New Year,
 * is out of order in that year, not months ahead: rotated files read newest first, or late
 * writers. */
#define YEAR_GUESS_BACK_DAYS 31

/* Gives year-less timestamps a year, one file (or stream) at a time.
 *
 * The first line takes base_year, minus one when its date (month and day) is later than the
 * reference date ref_month/ref_day: a file last written on Dec 7 whose first line says Dec 10
 * began the year before. ref_month 0 disables this (the user gave --year).
 * Each later line keeps the year of the line before, except that a step back of more than
 * YEAR_GUESS_ROLLOVER_DAYS (Dec 31 then Jan 1) is the next year, and a date at most
 * YEAR_GUESS_BACK_DAYS before the line before across New Year (Jan 1 then Dec 31) is the year
 * before. Any other step, forward by months too, stays in the year. */
struct year_guess {
    int base_year;     /* year of --year, the file's mtime or today */
    int ref_month;     /* month of the reference date, 1..12, or 0 for "trust base_year" */
    int ref_day;       /* day of the reference date, 1..31 */
    int year;          /* year in effect for the latest line; 0 before the first line */
    int64_t last_days; /* the latest line's date as days since 1970-01-01 */
};

/* Sets up a guess from base_year and the reference date (see struct year_guess). */
void year_guess_init(struct year_guess *g, int base_year, int ref_month, int ref_day);

/* Returns the year for a line dated month (1..12) and day, and remembers it. */
int year_guess_next(struct year_guess *g, int month, int day);

/* Returns the year year_guess_next() would give a line dated month and day, without
 * remembering it: for a date that may prove impossible in that year (Feb 29), which must not
 * move the guess. */
int year_guess_peek(const struct year_guess *g, int month, int day);

/* Returns the UTC year and month (1..12) of a time in microseconds. */
void parse_time_year_month(int64_t us, int *ret_year, int *ret_month);

#endif
