/* Unit tests for parse_time: civil time to microseconds across leap years and before the
 * epoch, ISO 8601 with every zone spelling and fractions, impossible dates rejected, the
 * formatter's round trip, and the year guess for year-less syslog timestamps. Expected epoch
 * values were computed independently (Python's datetime with timezone.utc). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse_time.h"
#include "tap.h"

#define US INT64_C(1000000)

static void civil_epoch_is_zero(void)
{
    CHECK_INT(parse_time_civil(1970, 1, 1, 0, 0, 0, 0), 0);
    CHECK_INT(parse_time_civil(1970, 1, 1, 0, 0, 0, 1), 1);
    CHECK_INT(parse_time_civil(1969, 12, 31, 23, 59, 59, 0), -1 * US);
}

static void civil_counts_leap_days(void)
{
    /* 2000 is a leap year (divisible by 400), 1900 and 2100 are not. */
    CHECK_INT(parse_time_civil(2000, 3, 1, 0, 0, 0, 0), INT64_C(951868800) * US);
    CHECK_INT(parse_time_civil(2024, 2, 29, 12, 0, 0, 0), INT64_C(1709208000) * US);
    CHECK_INT(parse_time_civil(1900, 3, 1, 0, 0, 0, 0), INT64_C(-2203891200) * US);
    CHECK_INT(parse_time_civil(2100, 3, 1, 0, 0, 0, 0), INT64_C(4107542400) * US);
    CHECK_INT(parse_time_civil(2026, 11, 28, 9, 14, 3, 123456), INT64_C(1795857243) * US + 123456);
    /* Feb 29 and Mar 1 are one day apart in a leap year, Feb 28 and Mar 1 in another. */
    CHECK_INT(parse_time_civil(2024, 3, 1, 0, 0, 0, 0) - parse_time_civil(2024, 2, 29, 0, 0, 0, 0),
              86400 * US);
    CHECK_INT(parse_time_civil(2023, 3, 1, 0, 0, 0, 0) - parse_time_civil(2023, 2, 28, 0, 0, 0, 0),
              86400 * US);
    CHECK_INT(parse_time_civil(2025, 1, 1, 0, 0, 0, 0) - parse_time_civil(2024, 1, 1, 0, 0, 0, 0),
              366 * 86400 * US);
}

static void month_names_are_case_sensitive_abbreviations(void)
{
    static const char *const names[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

    for (int i = 0; i < 12; i++)
        CHECK_INT(parse_time_month(names[i]), i + 1);
    CHECK_INT(parse_time_month("jan"), 0);
    CHECK_INT(parse_time_month("JAN"), 0);
    CHECK_INT(parse_time_month("Jux"), 0);
    CHECK_INT(parse_time_month("Xyz"), 0);
}

/* Parses text with parse_time_iso; returns bytes consumed. */
static size_t iso(const char *text, int default_offset_s, int64_t *us, bool *zoned)
{
    *us = -42;
    *zoned = false;
    return parse_time_iso(strv_from_cstr(text), default_offset_s, us, zoned);
}

static void iso_with_z_is_utc(void)
{
    int64_t us;
    bool zoned;

    CHECK_INT(iso("2026-11-28T09:14:03Z rest", 3600, &us, &zoned), 20);
    CHECK(zoned);
    CHECK_INT(us, INT64_C(1795857243) * US);
}

static void iso_with_colon_offset_is_converted(void)
{
    int64_t us;
    bool zoned;

    CHECK_INT(iso("2026-11-28T11:14:03+02:00", 0, &us, &zoned), 25);
    CHECK(zoned);
    CHECK_INT(us, INT64_C(1795857243) * US);
}

static void iso_with_compact_negative_offset_is_converted(void)
{
    int64_t us;
    bool zoned;

    CHECK_INT(iso("2026-11-28T03:44:03-0530 host", 0, &us, &zoned), 24);
    CHECK(zoned);
    CHECK_INT(us, INT64_C(1795857243) * US);
}

static void iso_with_hour_only_offset_is_converted(void)
{
    int64_t us;
    bool zoned;

    CHECK_INT(iso("2026-11-28T10:14:03+01 host", 0, &us, &zoned), 22);
    CHECK(zoned);
    CHECK_INT(us, INT64_C(1795857243) * US);
}

/* Offsets run from -12:00 to +14:00: New Zealand's summer time is +13:00 (Pacific/Auckland),
 * Kiribati's Line Islands +14:00 (Pacific/Kiritimati), Baker Island -12:00. */
static void iso_offsets_past_twelve_hours_are_converted(void)
{
    int64_t us;
    bool zoned;

    CHECK_INT(iso("2026-11-28T22:14:03+13:00", 0, &us, &zoned), 25);
    CHECK(zoned);
    CHECK_INT(us, INT64_C(1795857243) * US);
    CHECK_INT(iso("2026-11-28T23:14:03+1400", 0, &us, &zoned), 24);
    CHECK_INT(us, INT64_C(1795857243) * US);
    CHECK_INT(iso("2026-11-27T21:14:03-12:00", 0, &us, &zoned), 25);
    CHECK_INT(us, INT64_C(1795857243) * US);
}

static void iso_without_zone_uses_default_offset(void)
{
    int64_t us;
    bool zoned;

    CHECK_INT(iso("2026-11-28T10:14:03 host", 3600, &us, &zoned), 19);
    CHECK(!zoned);
    CHECK_INT(us, INT64_C(1795857243) * US);
    /* A space instead of 'T' is ISO 8601's "extended" form, as rsyslog and sqlite write it. */
    CHECK_INT(iso("2026-11-28 09:14:03", 0, &us, &zoned), 19);
    CHECK_INT(us, INT64_C(1795857243) * US);
}

static void iso_fraction_is_scaled_to_microseconds(void)
{
    int64_t us;
    bool zoned;
    const int64_t base = INT64_C(1795857243) * US;

    CHECK_INT(iso("2026-11-28T09:14:03.5Z", 0, &us, &zoned), 22);
    CHECK_INT(us, base + 500000);
    CHECK_INT(iso("2026-11-28T09:14:03.000123Z", 0, &us, &zoned), 27);
    CHECK_INT(us, base + 123);
    /* Nanoseconds: digits past the sixth are consumed and dropped. */
    CHECK_INT(iso("2026-11-28T09:14:03.123456789+00:00", 0, &us, &zoned), 35);
    CHECK_INT(us, base + 123456);
    CHECK_INT(iso("2026-11-28T09:14:03,25Z", 0, &us, &zoned), 23);
    CHECK_INT(us, base + 250000);
}

static void iso_rejects_impossible_dates(void)
{
    int64_t us;
    bool zoned;

    CHECK_INT(iso("2026-02-30T00:00:00Z", 0, &us, &zoned), 0);
    CHECK_INT(iso("2026-02-29T00:00:00Z", 0, &us, &zoned), 0);
    CHECK_INT(iso("1900-02-29T00:00:00Z", 0, &us, &zoned), 0);
    CHECK_INT(iso("2026-04-31T00:00:00Z", 0, &us, &zoned), 0);
    CHECK_INT(iso("2026-13-01T00:00:00Z", 0, &us, &zoned), 0);
    CHECK_INT(iso("2026-00-01T00:00:00Z", 0, &us, &zoned), 0);
    CHECK_INT(iso("2026-11-00T00:00:00Z", 0, &us, &zoned), 0);
    CHECK_INT(iso("2026-11-28T24:00:00Z", 0, &us, &zoned), 0);
    CHECK_INT(iso("2026-11-28T09:60:00Z", 0, &us, &zoned), 0);
    CHECK_INT(iso("0000-11-28T09:00:00Z", 0, &us, &zoned), 0);
    CHECK_INT(us, -42); /* untouched on failure */
    /* Leap days that exist are accepted. */
    CHECK(iso("2024-02-29T00:00:00Z", 0, &us, &zoned) == 20);
    CHECK(iso("2000-02-29T00:00:00Z", 0, &us, &zoned) == 20);
}

static void iso_fields_keep_the_shape_of_impossible_dates(void)
{
    struct civil_time c;
    bool zoned = true;
    int off = 1;

    CHECK_INT(parse_time_iso_fields(strv_from_cstr("2026-02-30T25:61:62 h"), &c, &zoned, &off), 19);
    CHECK_INT(c.year, 2026);
    CHECK_INT(c.month, 2);
    CHECK_INT(c.day, 30);
    CHECK_INT(c.hour, 25);
    CHECK_INT(c.min, 61);
    CHECK_INT(c.sec, 62);
    CHECK(!zoned);
    CHECK_INT(off, 0);
    CHECK(!parse_time_valid(&c));
    CHECK_INT(parse_time_iso_fields(strv_from_cstr("2026-13-00 00:00:00-0130"), &c, &zoned, &off),
              24);
    CHECK(zoned);
    CHECK_INT(off, -5400);
    CHECK(!parse_time_valid(&c));
    CHECK_INT(parse_time_iso_fields(strv_from_cstr("2026-11-28X09:14:03Z"), &c, &zoned, &off), 0);
    c = (struct civil_time){ 2016, 12, 31, 23, 59, 60, 0 };
    CHECK(parse_time_valid(&c));
    CHECK_INT(parse_time_civil_us(&c), parse_time_civil(2016, 12, 31, 23, 59, 59, 0));
}

static void iso_rejects_malformed_text(void)
{
    int64_t us;
    bool zoned;

    CHECK_INT(iso("2026-11-28", 0, &us, &zoned), 0);
    CHECK_INT(iso("2026/11/28T09:14:03Z", 0, &us, &zoned), 0);
    CHECK_INT(iso("2026-11-28X09:14:03Z", 0, &us, &zoned), 0);
    CHECK_INT(iso("2026-11-28T9:14:03Z  ", 0, &us, &zoned), 0);
    CHECK_INT(iso("20a6-11-28T09:14:03Z", 0, &us, &zoned), 0);
    CHECK_INT(iso("", 0, &us, &zoned), 0);
}

static void iso_bad_zone_is_not_consumed(void)
{
    int64_t us;
    bool zoned;

    /* "+25:00" is no offset: the timestamp ends before it and takes the default zone. */
    CHECK_INT(iso("2026-11-28T09:14:03+25:00", 0, &us, &zoned), 19);
    CHECK(!zoned);
    CHECK_INT(us, INT64_C(1795857243) * US);
}

static void iso_leap_second_folds_into_59(void)
{
    int64_t us;
    bool zoned;

    CHECK_INT(iso("2016-12-31T23:59:60Z", 0, &us, &zoned), 20);
    CHECK_INT(us, parse_time_civil(2016, 12, 31, 23, 59, 59, 0));
}

static void clock_parses_parts(void)
{
    int h = -1, m = -1, s = -1, u = -1;

    CHECK_INT(parse_time_clock(strv_from_cstr("09:14:03.25 x"), &h, &m, &s, &u), 11);
    CHECK_INT(h, 9);
    CHECK_INT(m, 14);
    CHECK_INT(s, 3);
    CHECK_INT(u, 250000);
    CHECK_INT(parse_time_clock(strv_from_cstr("09:14:03. x"), &h, &m, &s, &u), 8);
    CHECK_INT(u, 0);
    CHECK_INT(parse_time_clock(strv_from_cstr("9:14:03"), &h, &m, &s, &u), 0);
    CHECK_INT(parse_time_clock(strv_from_cstr("09:1x:03"), &h, &m, &s, &u), 0);
    /* The shape of a time, if no real one: the caller tells a bad time from no time. */
    CHECK_INT(parse_time_clock(strv_from_cstr("25:14:61"), &h, &m, &s, &u), 8);
    CHECK_INT(h, 25);
    CHECK_INT(s, 61);
}

static void format_round_trips_through_iso(void)
{
    static const char *const texts[] = {
        "2026-11-28 09:14:03.123456", "1970-01-01 00:00:00",        "2024-02-29 23:59:59.999999",
        "1969-12-31 23:59:59.999999", "2000-03-01 00:00:00.000001", "9999-12-31 23:59:59",
    };
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        int64_t us;
        bool zoned;
        char out[PARSE_TIME_ISO_LEN];

        CHECK_INT(iso(texts[i], 0, &us, &zoned), strlen(texts[i]));
        parse_time_format(us, out);
        CHECK_STR(out, texts[i]);
    }
}

/* SQLite's form: whole seconds end at the seconds, so a stored time equals the text
 * datetime() gives for it; a fraction is six digits. */
static void format_writes_sqlite_form_utc(void)
{
    char out[PARSE_TIME_ISO_LEN];

    parse_time_format(INT64_C(1795857243) * US + 5, out);
    CHECK_STR(out, "2026-11-28 09:14:03.000005");
    parse_time_format(INT64_C(1795857243) * US, out);
    CHECK_STR(out, "2026-11-28 09:14:03");
    parse_time_format(-1, out);
    CHECK_STR(out, "1969-12-31 23:59:59.999999");
    parse_time_format(-86400 * US, out);
    CHECK_STR(out, "1969-12-31 00:00:00");
}

static void format_rfc3339_is_fixed_width(void)
{
    char out[PARSE_TIME_ISO_LEN];

    parse_time_format_rfc3339(INT64_C(1795857243) * US, out);
    CHECK_STR(out, "2026-11-28T09:14:03.000000Z");
    CHECK_INT(strlen(out), PARSE_TIME_ISO_LEN - 1);
    parse_time_format_rfc3339(-1, out);
    CHECK_STR(out, "1969-12-31T23:59:59.999999Z");
}

static void offset_parses_every_spelling(void)
{
    int off = 12345;

    CHECK_INT(parse_time_offset("Z", &off), 0);
    CHECK_INT(off, 0);
    CHECK_INT(parse_time_offset("UTC", &off), 0);
    CHECK_INT(off, 0);
    CHECK_INT(parse_time_offset("+05:30", &off), 0);
    CHECK_INT(off, 5 * 3600 + 30 * 60);
    CHECK_INT(parse_time_offset("-0800", &off), 0);
    CHECK_INT(off, -8 * 3600);
    CHECK_INT(parse_time_offset("+01", &off), 0);
    CHECK_INT(off, 3600);
    off = 7;
    CHECK_INT(parse_time_offset("+24:00", &off), -1);
    CHECK_INT(parse_time_offset("+05:30x", &off), -1);
    CHECK_INT(parse_time_offset("CET", &off), -1);
    CHECK_INT(parse_time_offset("", &off), -1);
    CHECK_INT(off, 7);
}

/* The UTC microseconds of a local civil time read in z, with near as the line before. */
static int64_t local(struct parse_zone *z, int y, int mo, int d, int h, int mi, int64_t near)
{
    return parse_zone_to_utc(z, parse_time_civil(y, mo, d, h, mi, 0, 0), near);
}

static int64_t at(int y, int mo, int d, int h, int mi)
{
    return parse_time_civil(y, mo, d, h, mi, 0, 0);
}

static void zone_fixed_offsets_are_named_and_applied(void)
{
    struct parse_zone z;

    CHECK_INT(parse_zone_init(&z, "+05:30", NULL), 0);
    CHECK_STR(z.name, "+05:30");
    CHECK_INT(local(&z, 2026, 7, 1, 12, 0, INT64_MIN), at(2026, 7, 1, 6, 30));
    CHECK_INT(parse_zone_init(&z, "-0800", NULL), 0);
    CHECK_STR(z.name, "-08:00");
    CHECK_INT(parse_zone_init(&z, "UTC", NULL), 0);
    CHECK_STR(z.name, "UTC");
    CHECK_INT(local(&z, 2026, 7, 1, 12, 0, INT64_MIN), at(2026, 7, 1, 12, 0));
    CHECK_INT(parse_zone_to_utc(NULL, at(2026, 7, 1, 12, 0), INT64_MIN), at(2026, 7, 1, 12, 0));
}

static void zone_names_outside_the_tz_database_are_refused(void)
{
    struct parse_zone z;
    struct hl_err err;

    /* libc would read each of these as UTC without a word. */
    CHECK_INT(parse_zone_init(&z, "Europe/Berln", &err), HL_EUSAGE);
    CHECK(strstr(err.msg, "'Europe/Berln'") != NULL);
    CHECK_INT(parse_zone_init(&z, "Europe", &err), HL_EUSAGE); /* a directory */
    CHECK_INT(parse_zone_init(&z, "CEST", &err), HL_EUSAGE);
    CHECK_INT(parse_zone_init(&z, "", &err), HL_EUSAGE);
    CHECK_INT(parse_zone_init(&z, "/etc/passwd", &err), HL_EUSAGE); /* not TZif */
    CHECK_INT(parse_zone_init(&z, ":Europe/Berlin", &err), 0);
    CHECK_STR(z.name, "Europe/Berlin");
    CHECK_INT(parse_zone_init(&z, "/usr/share/zoneinfo/Asia/Tokyo", &err), 0);
    CHECK_INT(local(&z, 2026, 7, 1, 12, 0, INT64_MIN), at(2026, 7, 1, 3, 0));
}

static void zone_berlin_has_summer_and_winter_offsets(void)
{
    struct parse_zone z;

    CHECK_INT(parse_zone_init(&z, "Europe/Berlin", NULL), 0);
    CHECK(z.tzdb);
    CHECK_INT(local(&z, 2026, 7, 1, 12, 0, INT64_MIN), at(2026, 7, 1, 10, 0));
    CHECK_INT(local(&z, 2026, 1, 1, 12, 0, INT64_MIN), at(2026, 1, 1, 11, 0));
    /* Again, from the cache. */
    CHECK_INT(local(&z, 2026, 7, 1, 12, 59, INT64_MIN), at(2026, 7, 1, 10, 59));
    CHECK_INT(local(&z, 2026, 1, 1, 12, 1, INT64_MIN), at(2026, 1, 1, 11, 1));
    /* 1 hour apart in the hour before and after the change of 2026-03-29 02:00 CET. */
    CHECK_INT(local(&z, 2026, 3, 29, 1, 59, INT64_MIN), at(2026, 3, 29, 0, 59));
    CHECK_INT(local(&z, 2026, 3, 29, 3, 0, INT64_MIN), at(2026, 3, 29, 1, 0));
}

static void zone_gap_reads_with_the_offset_before_the_change(void)
{
    struct parse_zone z;

    /* 02:30 on a spring-forward day does not exist: read as a clock not yet changed. */
    CHECK_INT(parse_zone_init(&z, "Europe/Berlin", NULL), 0);
    CHECK_INT(local(&z, 2026, 3, 29, 2, 30, INT64_MIN), at(2026, 3, 29, 1, 30));
    CHECK_INT(local(&z, 2026, 3, 29, 2, 0, at(2026, 3, 29, 1, 0)), at(2026, 3, 29, 1, 0));
    CHECK_INT(parse_zone_init(&z, "America/New_York", NULL), 0);
    CHECK_INT(local(&z, 2026, 3, 8, 2, 30, INT64_MIN), at(2026, 3, 8, 7, 30));
    CHECK_INT(local(&z, 2026, 3, 8, 3, 0, INT64_MIN), at(2026, 3, 8, 7, 0));
}

static void zone_repeated_hour_follows_the_line_before(void)
{
    struct parse_zone z;

    /* Berlin, 2026-10-25: 02:00-02:59 happens at +02:00 (00:xxZ), then at +01:00 (01:xxZ). */
    CHECK_INT(parse_zone_init(&z, "Europe/Berlin", NULL), 0);
    CHECK_INT(local(&z, 2026, 10, 25, 2, 30, INT64_MIN), at(2026, 10, 25, 0, 30));
    CHECK_INT(local(&z, 2026, 10, 25, 2, 30, at(2026, 10, 25, 0, 20)), at(2026, 10, 25, 0, 30));
    /* 02:59 then 02:00: the clock went back, the second 02:00. */
    CHECK_INT(local(&z, 2026, 10, 25, 2, 0, at(2026, 10, 25, 0, 59)), at(2026, 10, 25, 1, 0));
    CHECK_INT(local(&z, 2026, 10, 25, 2, 30, at(2026, 10, 25, 1, 0)), at(2026, 10, 25, 1, 30));
    /* A small step back inside either hour stays in it. */
    CHECK_INT(local(&z, 2026, 10, 25, 2, 29, at(2026, 10, 25, 0, 30)), at(2026, 10, 25, 0, 29));
    CHECK_INT(local(&z, 2026, 10, 25, 2, 5, at(2026, 10, 25, 1, 40)), at(2026, 10, 25, 1, 5));
    /* A tie goes to the later instant; a line long before or after picks the nearer end. */
    CHECK_INT(local(&z, 2026, 10, 25, 2, 30, at(2026, 10, 25, 1, 0)), at(2026, 10, 25, 1, 30));
    CHECK_INT(local(&z, 2026, 10, 25, 2, 30, at(2026, 10, 24, 0, 0)), at(2026, 10, 25, 0, 30));
    CHECK_INT(local(&z, 2026, 10, 25, 2, 30, at(2026, 10, 26, 0, 0)), at(2026, 10, 25, 1, 30));
    CHECK_INT(local(&z, 2026, 10, 25, 3, 0, INT64_MIN), at(2026, 10, 25, 2, 0));
    /* New York, 2026-11-01: 01:00-01:59 at -04:00, then at -05:00. */
    CHECK_INT(parse_zone_init(&z, "America/New_York", NULL), 0);
    CHECK_INT(local(&z, 2026, 11, 1, 1, 30, INT64_MIN), at(2026, 11, 1, 5, 30));
    CHECK_INT(local(&z, 2026, 11, 1, 1, 5, at(2026, 11, 1, 5, 59)), at(2026, 11, 1, 6, 5));
}

static void zone_change_within_an_hour_is_read_line_by_line(void)
{
    struct parse_zone z;

    /* Lord Howe Island moves by 30 minutes: on 2026-10-04 02:00-02:29 does not exist, and
     * on 2026-04-05 01:30-01:59 happens twice. */
    CHECK_INT(parse_zone_init(&z, "Australia/Lord_Howe", NULL), 0);
    CHECK_INT(local(&z, 2026, 10, 4, 1, 59, INT64_MIN), at(2026, 10, 3, 15, 29));
    CHECK_INT(local(&z, 2026, 10, 4, 2, 15, INT64_MIN), at(2026, 10, 3, 15, 45));
    CHECK_INT(local(&z, 2026, 10, 4, 2, 45, INT64_MIN), at(2026, 10, 3, 15, 45));
    CHECK_INT(local(&z, 2026, 4, 5, 1, 15, INT64_MIN), at(2026, 4, 4, 14, 15));
    CHECK_INT(local(&z, 2026, 4, 5, 1, 45, INT64_MIN), at(2026, 4, 4, 14, 45));
    CHECK_INT(local(&z, 2026, 4, 5, 1, 45, at(2026, 4, 4, 15, 10)), at(2026, 4, 4, 15, 15));
}

static void zone_local_follows_tz(void)
{
    struct parse_zone z;
    struct hl_err err;

    setenv("TZ", "America/New_York", 1);
    CHECK_INT(parse_zone_local(&z, &err), 0);
    CHECK_STR(z.name, "America/New_York");
    CHECK_INT(local(&z, 2026, 7, 1, 12, 0, INT64_MIN), at(2026, 7, 1, 16, 0));
    /* A POSIX rule is libc's to read. */
    setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1);
    CHECK_INT(parse_zone_local(&z, &err), 0);
    CHECK_INT(local(&z, 2026, 7, 1, 12, 0, INT64_MIN), at(2026, 7, 1, 10, 0));
    setenv("TZ", "", 1);
    CHECK_INT(parse_zone_local(&z, &err), 0);
    CHECK_STR(z.name, "UTC");
    setenv("TZ", "Mars/Olympus", 1);
    CHECK_INT(parse_zone_local(&z, &err), HL_EUSAGE);
    CHECK(strstr(err.msg, "'Mars/Olympus'") != NULL);
    CHECK_INT(local(&z, 2026, 7, 1, 12, 0, INT64_MIN), at(2026, 7, 1, 12, 0));
    setenv("TZ", "UTC", 1);
}

static void zone_civil_is_the_local_date(void)
{
    struct parse_zone z;
    struct civil_time c;

    CHECK_INT(parse_zone_init(&z, "Europe/Berlin", NULL), 0);
    parse_zone_civil(&z, at(2026, 12, 31, 23, 30) + 5, &c);
    CHECK_INT(c.year, 2027);
    CHECK_INT(c.month, 1);
    CHECK_INT(c.day, 1);
    CHECK_INT(c.hour, 0);
    CHECK_INT(c.min, 30);
    CHECK_INT(c.usec, 5);
    CHECK_INT(parse_zone_init(&z, "-01:00", NULL), 0);
    parse_zone_civil(&z, at(2027, 1, 1, 0, 30), &c);
    CHECK_INT(c.year, 2026);
    CHECK_INT(c.day, 31);
    CHECK_INT(c.hour, 23);
    parse_zone_civil(NULL, -1, &c);
    CHECK_INT(c.year, 1969);
    CHECK_INT(c.sec, 59);
    CHECK_INT(c.usec, 999999);
}

static void year_month_of_time(void)
{
    int y = 0, m = 0;

    parse_time_year_month(parse_time_civil(2026, 11, 28, 9, 14, 3, 0), &y, &m);
    CHECK_INT(y, 2026);
    CHECK_INT(m, 11);
    parse_time_year_month(-1, &y, &m);
    CHECK_INT(y, 1969);
    CHECK_INT(m, 12);
}

static void year_guess_first_line_after_ref_month_is_last_year(void)
{
    /* A file written in January 2027 that starts in December began in 2026. */
    struct year_guess g;

    year_guess_init(&g, 2027, 1, 3);
    CHECK_INT(year_guess_next(&g, 12, 30), 2026);
    CHECK_INT(year_guess_next(&g, 12, 31), 2026);
    CHECK_INT(year_guess_next(&g, 1, 1), 2027);
    CHECK_INT(year_guess_next(&g, 1, 2), 2027);
}

static void year_guess_first_line_up_to_ref_month_is_base_year(void)
{
    struct year_guess g;

    year_guess_init(&g, 2026, 11, 28);
    CHECK_INT(year_guess_next(&g, 11, 1), 2026);
    year_guess_init(&g, 2026, 11, 28);
    CHECK_INT(year_guess_next(&g, 3, 1), 2026);
    year_guess_init(&g, 2026, 11, 28);
    CHECK_INT(year_guess_next(&g, 12, 1), 2025);
}

static void year_guess_compares_the_first_line_to_the_day(void)
{
    /* Modified on Dec 7: a first line of Dec 10 (or Dec 8) was written a year before it. */
    struct year_guess g;

    year_guess_init(&g, 2026, 12, 7);
    CHECK_INT(year_guess_next(&g, 12, 10), 2025);
    year_guess_init(&g, 2026, 12, 7);
    CHECK_INT(year_guess_next(&g, 12, 8), 2025);
    year_guess_init(&g, 2026, 12, 7);
    CHECK_INT(year_guess_next(&g, 12, 7), 2026);
    year_guess_init(&g, 2026, 12, 7);
    CHECK_INT(year_guess_next(&g, 12, 6), 2026);
}

static void year_guess_advances_on_december_to_january(void)
{
    struct year_guess g;

    year_guess_init(&g, 2026, 12, 31);
    CHECK_INT(year_guess_next(&g, 11, 30), 2026);
    CHECK_INT(year_guess_next(&g, 12, 31), 2026);
    CHECK_INT(year_guess_next(&g, 1, 1), 2027);
    CHECK_INT(year_guess_next(&g, 2, 1), 2027);
    /* A small step back (clock skew, interleaved writers) is not a new year. */
    CHECK_INT(year_guess_next(&g, 1, 1), 2027);
    CHECK_INT(year_guess_next(&g, 7, 1), 2027);
    CHECK_INT(year_guess_next(&g, 2, 1), 2027);
}

static void year_guess_small_step_back_across_new_year_is_the_year_before(void)
{
    /* Jan 1 then Dec 31 (out of order, or `cat messages messages.1`): the day before, not
     * 364 days ahead. */
    struct year_guess g;

    year_guess_init(&g, 2027, 0, 0);
    CHECK_INT(year_guess_next(&g, 1, 1), 2027);
    CHECK_INT(year_guess_next(&g, 12, 31), 2026);
    CHECK_INT(year_guess_next(&g, 12, 20), 2026);
    CHECK_INT(year_guess_next(&g, 1, 2), 2027);
    /* Three weeks back across New Year, a rotated file read after its successor. */
    CHECK_INT(year_guess_next(&g, 12, 12), 2026);
}

static void year_guess_changes_year_only_past_half_a_year(void)
{
    struct year_guess g;

    /* 183 days back stays in the year; 184 does not. */
    year_guess_init(&g, 2026, 0, 0);
    CHECK_INT(year_guess_next(&g, 7, 2), 2026);
    CHECK_INT(year_guess_next(&g, 1, 1), 2026); /* 182 days back */
    year_guess_init(&g, 2026, 0, 0);
    CHECK_INT(year_guess_next(&g, 7, 3), 2026);
    CHECK_INT(year_guess_next(&g, 1, 1), 2026); /* 183 days back */
    year_guess_init(&g, 2026, 0, 0);
    CHECK_INT(year_guess_next(&g, 7, 4), 2026);
    CHECK_INT(year_guess_next(&g, 1, 1), 2027); /* 184 days back */
}

static void year_guess_takes_long_steps_forward_as_they_are(void)
{
    /* A quiet log that goes from March to November is one year; only a short step back across
     * New Year (31 days at most) reads as the year before. */
    struct year_guess g;

    year_guess_init(&g, 2026, 0, 0);
    CHECK_INT(year_guess_next(&g, 3, 8), 2026);
    CHECK_INT(year_guess_next(&g, 11, 1), 2026);
    year_guess_init(&g, 2026, 0, 0);
    CHECK_INT(year_guess_next(&g, 1, 1), 2026);
    CHECK_INT(year_guess_next(&g, 7, 4), 2026);
    year_guess_init(&g, 2026, 0, 0);
    CHECK_INT(year_guess_next(&g, 1, 10), 2026);
    CHECK_INT(year_guess_next(&g, 12, 10), 2025); /* 31 days back */
    year_guess_init(&g, 2026, 0, 0);
    CHECK_INT(year_guess_next(&g, 1, 10), 2026);
    CHECK_INT(year_guess_next(&g, 12, 9), 2026); /* 32 days back: 333 ahead */
}

static void year_guess_with_given_year_trusts_it(void)
{
    /* --year: ref_month 0, no first-line adjustment, but the rollover still applies. */
    struct year_guess g;

    year_guess_init(&g, 2026, 0, 0);
    CHECK_INT(year_guess_next(&g, 12, 31), 2026);
    CHECK_INT(year_guess_next(&g, 1, 1), 2027);
    year_guess_init(&g, 2026, 0, 0);
    CHECK_INT(year_guess_next(&g, 6, 1), 2026);
}

int main(void)
{
    TAP_RUN(civil_epoch_is_zero);
    TAP_RUN(civil_counts_leap_days);
    TAP_RUN(month_names_are_case_sensitive_abbreviations);
    TAP_RUN(iso_with_z_is_utc);
    TAP_RUN(iso_with_colon_offset_is_converted);
    TAP_RUN(iso_with_compact_negative_offset_is_converted);
    TAP_RUN(iso_with_hour_only_offset_is_converted);
    TAP_RUN(iso_offsets_past_twelve_hours_are_converted);
    TAP_RUN(iso_without_zone_uses_default_offset);
    TAP_RUN(iso_fraction_is_scaled_to_microseconds);
    TAP_RUN(iso_rejects_impossible_dates);
    TAP_RUN(iso_fields_keep_the_shape_of_impossible_dates);
    TAP_RUN(iso_rejects_malformed_text);
    TAP_RUN(iso_bad_zone_is_not_consumed);
    TAP_RUN(iso_leap_second_folds_into_59);
    TAP_RUN(clock_parses_parts);
    TAP_RUN(format_round_trips_through_iso);
    TAP_RUN(format_writes_sqlite_form_utc);
    TAP_RUN(format_rfc3339_is_fixed_width);
    TAP_RUN(offset_parses_every_spelling);
    TAP_RUN(year_month_of_time);
    TAP_RUN(zone_fixed_offsets_are_named_and_applied);
    TAP_RUN(zone_names_outside_the_tz_database_are_refused);
    TAP_RUN(zone_berlin_has_summer_and_winter_offsets);
    TAP_RUN(zone_gap_reads_with_the_offset_before_the_change);
    TAP_RUN(zone_repeated_hour_follows_the_line_before);
    TAP_RUN(zone_change_within_an_hour_is_read_line_by_line);
    TAP_RUN(zone_local_follows_tz);
    TAP_RUN(zone_civil_is_the_local_date);
    TAP_RUN(year_guess_first_line_after_ref_month_is_last_year);
    TAP_RUN(year_guess_first_line_up_to_ref_month_is_base_year);
    TAP_RUN(year_guess_compares_the_first_line_to_the_day);
    TAP_RUN(year_guess_advances_on_december_to_january);
    TAP_RUN(year_guess_small_step_back_across_new_year_is_the_year_before);
    TAP_RUN(year_guess_changes_year_only_past_half_a_year);
    TAP_RUN(year_guess_takes_long_steps_forward_as_they_are);
    TAP_RUN(year_guess_with_given_year_trusts_it);
    return tap_done();
}
