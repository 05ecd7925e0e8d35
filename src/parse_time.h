/* Timestamps: civil time to microseconds since the epoch (UTC), ISO 8601 in and out, and the
 * year inference that year-less syslog formats need. No libc time zone calls: every parser
 * result is UTC plus an explicit offset, so results do not depend on the machine's TZ. */
#ifndef HSMLOG_PARSE_TIME_H
#define HSMLOG_PARSE_TIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "strv.h"

/* Buffer size for parse_time_format(): "2026-11-28T09:14:03.123456Z" plus NUL. */
#define PARSE_TIME_ISO_LEN 28

/* Returns microseconds since 1970-01-01T00:00:00Z for a proleptic Gregorian civil time taken
 * as UTC. Fields are not range-checked here; callers validate them first. */
int64_t parse_time_civil(int year, int month, int day, int hour, int min, int sec, int usec);

/* Returns 1..12 for an English three-letter month abbreviation at p ("Jan".."Dec",
 * case-sensitive as syslog writes them), 0 otherwise. Reads exactly 3 bytes. */
int parse_time_month(const char *p);

/* Parses "YYYY-MM-DD[T ]HH:MM:SS[.frac][Z|+HH:MM|+HHMM|+HH]" at the start of s. On success
 * returns the number of bytes consumed and sets *ret_us (UTC, using the zone when present,
 * else default_offset_s seconds east of UTC) and *ret_zoned. Returns 0 when s does not start
 * with such a timestamp. */
size_t parse_time_iso(struct strv s, int default_offset_s, int64_t *ret_us, bool *ret_zoned);

/* Parses "HH:MM:SS[.frac]" at the start of s into its parts; returns bytes consumed or 0. */
size_t parse_time_clock(struct strv s, int *ret_hour, int *ret_min, int *ret_sec, int *ret_usec);

/* Writes us as "YYYY-MM-DDTHH:MM:SS.ffffffZ" (fixed width, so text order is time order). */
void parse_time_format(int64_t us, char out[PARSE_TIME_ISO_LEN]);

/* Parses an offset "+HH:MM", "-HHMM", "Z" or "UTC" into seconds east of UTC. Returns 0 on
 * success, -1 when s is not an offset. */
int parse_time_offset(const char *s, int *ret_offset_s);

/* Gives year-less timestamps a year, one file (or stream) at a time.
 *
 * The first line takes base_year, minus one when its month is later than ref_month (a file
 * written in January that starts in December began last year). After that, a step from
 * December to January (any step back of more than six months) advances the year. ref_month 0
 * disables the first-line adjustment (the user gave --year). */
struct year_guess {
    int base_year;  /* year of --year, the file's mtime or today */
    int ref_month;  /* month of the reference time, 1..12, or 0 for "trust base_year" */
    int year;       /* year in effect for the latest line; 0 before the first line */
    int last_month; /* month of the latest line, 0 before the first line */
};

/* Sets up a guess from base_year and ref_month (see struct year_guess). */
void year_guess_init(struct year_guess *g, int base_year, int ref_month);

/* Returns the year for a line dated in month (1..12) and remembers it. */
int year_guess_next(struct year_guess *g, int month);

/* Returns the UTC year and month (1..12) of a time in microseconds. */
void parse_time_year_month(int64_t us, int *ret_year, int *ret_month);

#endif
