/* Unit tests for parse_journal: journalctl -o short-iso (both zone spellings),
 * short-iso-precise, short-precise (which goes through the RFC 3164 path), and -o json with
 * MESSAGE as an escaped string, an array of bytes and null, with missing fields, and an
 * object that is not a journal entry at all. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "parse_fixture.h"
#include "tap.h"

static void short_iso_with_hhmm_zone_parses(void)
{
    const struct record *r = parse("2026-11-28T09:14:03+0000 hsm-a1 NTLS[2981]: msg");

    CHECK_INT(r->format, FMT_ISO);
    CHECK(r->has_ts);
    CHECK_INT(r->ts_us, utc(2026, 11, 28, 9, 14, 3, 0));
    CHECK_INT(r->pri, -1);
    CHECK_STRN(r->host.p, r->host.n, "hsm-a1");
    CHECK_STRN(r->program.p, r->program.n, "NTLS");
    CHECK_STRN(r->pid.p, r->pid.n, "2981");
    CHECK_STRN(r->message.p, r->message.n, "msg");
}

static void short_iso_with_colon_zone_parses(void)
{
    const struct record *r = parse("2026-11-28T10:14:03+01:00 hsm-a1 NTLS[2981]: msg");

    CHECK_INT(r->format, FMT_ISO);
    CHECK_INT(r->ts_us, utc(2026, 11, 28, 9, 14, 3, 0));
    CHECK_STRN(r->host.p, r->host.n, "hsm-a1");
    CHECK_STRN(r->message.p, r->message.n, "msg");

    r = parse("2026-11-28T09:14:03+00:00 hsm-a1 NTLS[2981]: msg");
    CHECK_INT(r->ts_us, utc(2026, 11, 28, 9, 14, 3, 0));
}

static void short_iso_precise_keeps_microseconds(void)
{
    const struct record *r = parse("2026-11-28T09:14:03.123456-0130 hsm-a1 lunash[7]: m");

    CHECK_INT(r->format, FMT_ISO);
    CHECK_INT(r->ts_us, utc(2026, 11, 28, 10, 44, 3, 123456));
    CHECK_STRN(r->program.p, r->program.n, "lunash");
    CHECK_STRN(r->message.p, r->message.n, "m");
}

static void short_iso_impossible_date_keeps_header_without_time(void)
{
    /* An impossible ISO date is a bad time, not plain text. */
    static const char *const lines[] = {
        "2026-11-31T09:14:03+0000 hsm-a1 NTLS[2981]: msg",
        "2026-02-29T09:14:03.000001+01:00 hsm-a1 NTLS[2981]: msg",
        "2026-11-28T24:14:03Z hsm-a1 NTLS[2981]: msg",
        "2026-11-28 09:60:03 hsm-a1 NTLS[2981]: msg",
        "<134>2026-00-28T09:14:03Z hsm-a1 NTLS[2981]: msg",
    };
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        const struct record *r = parse(lines[i]);

        CHECK_INT(r->format, FMT_ISO);
        CHECK(!r->has_ts);
        CHECK(r->bad_ts);
        CHECK_STRN(r->host.p, r->host.n, "hsm-a1");
        CHECK_STRN(r->program.p, r->program.n, "NTLS");
        CHECK_STRN(r->message.p, r->message.n, "msg");
    }
}

static void short_iso_without_hostname_takes_tag(void)
{
    const struct record *r = parse("2026-11-28T09:14:03+0000 NTLS[2981]: msg");

    CHECK_INT(r->format, FMT_ISO);
    CHECK(strv_is_empty(r->host));
    CHECK_STRN(r->program.p, r->program.n, "NTLS");
}

static void rsyslog_iso_with_pri_keeps_pri(void)
{
    const struct record *r = parse("<134>2026-11-28T09:14:03Z hsm-a1 NTLS[2981]: msg");

    CHECK_INT(r->format, FMT_ISO);
    CHECK_INT(r->pri, 134);
    CHECK_INT(r->ts_us, utc(2026, 11, 28, 9, 14, 3, 0));
    CHECK_STRN(r->program.p, r->program.n, "NTLS");
}

static void short_precise_is_rfc3164_with_microseconds(void)
{
    const struct record *r = parse("Nov 28 09:14:03.123456 hsm-a1 NTLS[2981]: msg");

    CHECK_INT(r->format, FMT_SHORT_PRECISE);
    CHECK_INT(r->ts_us, utc(2026, 11, 28, 9, 14, 3, 123456));
    CHECK_STRN(r->host.p, r->host.n, "hsm-a1");
    CHECK_STRN(r->program.p, r->program.n, "NTLS");
    CHECK_STRN(r->pid.p, r->pid.n, "2981");
    CHECK_STRN(r->message.p, r->message.n, "msg");
}

static void json_entry_fills_every_field(void)
{
    const struct record *r =
            parse("{\"__CURSOR\":\"s=1\",\"__REALTIME_TIMESTAMP\":\"1795857243123456\","
                  "\"_HOSTNAME\":\"hsm-a1\",\"SYSLOG_IDENTIFIER\":\"NTLS\",\"_PID\":\"2981\","
                  "\"PRIORITY\":\"6\",\"SYSLOG_FACILITY\":\"21\",\"MESSAGE\":\"hello world\"}");

    CHECK_INT(r->format, FMT_JSON);
    CHECK(r->has_ts);
    CHECK_INT(r->ts_us, INT64_C(1795857243123456));
    CHECK_INT(r->ts_us, utc(2026, 11, 28, 9, 14, 3, 123456));
    CHECK_STRN(r->host.p, r->host.n, "hsm-a1");
    CHECK_STRN(r->program.p, r->program.n, "NTLS");
    CHECK_STRN(r->pid.p, r->pid.n, "2981");
    CHECK_INT(r->pri, 21 * 8 + 6);
    CHECK_STRN(r->message.p, r->message.n, "hello world");
}

static void json_message_escapes_are_decoded(void)
{
    /* \u00e9 is U+00E9, \ud83d\ude00 the surrogate pair of U+1F600. */
    const struct record *r = parse("{\"MESSAGE\":\"a\\\"b\\\\c\\/d\\te\\u00e9 \\ud83d\\ude00\"}");

    CHECK_INT(r->format, FMT_JSON);
    CHECK_STRN(r->message.p, r->message.n, "a\"b\\c/d\te\xC3\xA9 \xF0\x9F\x98\x80");
}

static void json_message_lone_surrogate_becomes_replacement(void)
{
    const struct record *r = parse("{\"MESSAGE\":\"x\\ud83dy\"}");

    CHECK_INT(r->format, FMT_JSON);
    CHECK_STRN(r->message.p, r->message.n, "x\xEF\xBF\xBDy");
}

static void json_message_byte_array_is_raw_bytes(void)
{
    /* journald prints a MESSAGE that is not valid UTF-8 as an array of byte values. */
    const struct record *r = parse("{\"MESSAGE\":[78,84,76,83,255,0,33],\"_PID\":\"5\"}");

    CHECK_INT(r->format, FMT_JSON);
    CHECK_INT(r->message.n, 7);
    CHECK(r->message.p && memcmp(r->message.p, "NTLS\xFF\0!", 7) == 0);
    CHECK_STRN(r->pid.p, r->pid.n, "5");
}

static void json_message_null_is_empty(void)
{
    const struct record *r = parse("{\"MESSAGE\":null,\"SYSLOG_IDENTIFIER\":\"NTLS\"}");

    CHECK_INT(r->format, FMT_JSON);
    CHECK_INT(r->message.n, 0);
    CHECK_STRN(r->program.p, r->program.n, "NTLS");
}

static void json_missing_fields_stay_empty(void)
{
    const struct record *r = parse("{\"MESSAGE\":\"only this\"}");

    CHECK_INT(r->format, FMT_JSON);
    CHECK(!r->has_ts);
    CHECK_INT(r->pri, -1);
    CHECK(strv_is_empty(r->host));
    CHECK(strv_is_empty(r->program));
    CHECK(strv_is_empty(r->pid));
    CHECK_STRN(r->message.p, r->message.n, "only this");
}

static void json_timestamp_without_message_is_journal(void)
{
    const struct record *r = parse("{\"__REALTIME_TIMESTAMP\":\"1000000\"}");

    CHECK_INT(r->format, FMT_JSON);
    CHECK(r->has_ts);
    CHECK_INT(r->ts_us, 1000000);
    CHECK_INT(r->message.n, 0);
}

static void json_comm_and_syslog_pid_fill_gaps(void)
{
    /* _COMM stands in for a missing SYSLOG_IDENTIFIER; SYSLOG_PID wins over _PID. */
    const struct record *r =
            parse("{\"_COMM\":\"ntlsd\",\"_PID\":\"1\",\"SYSLOG_PID\":\"2\",\"MESSAGE\":\"m\"}");

    CHECK_INT(r->format, FMT_JSON);
    CHECK_STRN(r->program.p, r->program.n, "ntlsd");
    CHECK_STRN(r->pid.p, r->pid.n, "2");

    r = parse("{\"SYSLOG_IDENTIFIER\":\"NTLS\",\"_COMM\":\"ntlsd\",\"MESSAGE\":\"m\"}");
    CHECK_STRN(r->program.p, r->program.n, "NTLS");
}

static void json_nested_values_are_skipped(void)
{
    const struct record *r = parse("{\"X\":{\"MESSAGE\":\"inner\"},\"Y\":[1,[2,\"]\"]],"
                                   "\"MESSAGE\":\"outer\"}");

    CHECK_INT(r->format, FMT_JSON);
    CHECK_STRN(r->message.p, r->message.n, "outer");
}

static void json_without_journal_fields_falls_back_to_plain(void)
{
    const struct record *r = parse("{}");

    CHECK_INT(r->format, FMT_PLAIN);
    CHECK_STRN(r->message.p, r->message.n, "{}");

    r = parse("{\"level\":\"info\",\"msg\":\"app log\"}");
    CHECK_INT(r->format, FMT_PLAIN);
    CHECK_STRN(r->message.p, r->message.n, "{\"level\":\"info\",\"msg\":\"app log\"}");
}

static void json_malformed_falls_back_to_plain(void)
{
    const char *line = "{\"MESSAGE\":\"unterminated}";
    const struct record *r = parse(line);

    CHECK_INT(r->format, FMT_PLAIN);
    CHECK_STRN(r->message.p, r->message.n, line);
}

static void json_record_raw_is_the_line(void)
{
    const char *line = "{\"MESSAGE\":\"a\\nb\"}";
    const struct record *r = parse(line);

    CHECK_INT(r->format, FMT_JSON);
    CHECK_STRN(r->raw.p, r->raw.n, line);
    CHECK_STRN(r->message.p, r->message.n, "a\nb");
}

/* A journal entry with the given PRIORITY and SYSLOG_FACILITY values (NULL: field absent). */
static const struct record *json_pri(const char *priority, const char *facility)
{
    static char line[256];
    int n = snprintf(line, sizeof(line), "{\"__REALTIME_TIMESTAMP\":\"1795857243123456\"");
    if (priority)
        n += snprintf(line + n, sizeof(line) - (size_t)n, ",\"PRIORITY\":\"%s\"", priority);
    if (facility)
        n += snprintf(line + n, sizeof(line) - (size_t)n, ",\"SYSLOG_FACILITY\":\"%s\"", facility);
    snprintf(line + n, sizeof(line) - (size_t)n, ",\"MESSAGE\":\"m\"}");
    return parse(line);
}

static void json_priority_above_7_is_absent(void)
{
    /* The fuzzer's find: FACILITY 23 and PRIORITY 8 made pri 192. */
    CHECK_INT(json_pri("7", "23")->pri, 23 * 8 + 7);
    CHECK_INT(json_pri("8", "23")->pri, -1);
    CHECK_INT(json_pri("9", "0")->pri, -1);
    CHECK_INT(json_pri("0", "0")->pri, 0);
    CHECK_INT(json_pri("-1", "0")->pri, -1);
    CHECK_INT(json_pri("", "0")->pri, -1);
    CHECK_INT(json_pri("18446744073709551623", "0")->pri, -1); /* 2^64 + 7 */
    CHECK_INT(json_pri("8", "23")->format, FMT_JSON);
}

static void json_facility_above_23_is_absent(void)
{
    /* Absent (or unusable) facility: syslog(3)'s default, user. */
    CHECK_INT(json_pri("3", "23")->pri, 23 * 8 + 3);
    CHECK_INT(json_pri("3", "24")->pri, 1 * 8 + 3);
    CHECK_INT(json_pri("3", "99")->pri, 1 * 8 + 3);
    CHECK_INT(json_pri("3", "4294967299")->pri, 1 * 8 + 3); /* 2^32 + 3 */
    CHECK_INT(json_pri("3", "x")->pri, 1 * 8 + 3);
    CHECK_INT(json_pri("3", NULL)->pri, 1 * 8 + 3);
    CHECK_INT(json_pri(NULL, "3")->pri, -1);
}

static void json_realtime_past_year_9999_is_absent(void)
{
    const struct record *r =
            parse("{\"__REALTIME_TIMESTAMP\":\"253402300799999999\",\"MESSAGE\":\"m\"}");

    CHECK(r->has_ts);
    CHECK_INT(r->ts_us, utc(9999, 12, 31, 23, 59, 59, 999999));
    r = parse("{\"__REALTIME_TIMESTAMP\":\"253402300800000000\",\"MESSAGE\":\"m\"}");
    CHECK_INT(r->format, FMT_JSON);
    CHECK(!r->has_ts);
    r = parse("{\"__REALTIME_TIMESTAMP\":\"99999999999999999999\",\"MESSAGE\":\"m\"}");
    CHECK(!r->has_ts);
    r = parse("{\"__REALTIME_TIMESTAMP\":\"-1\",\"MESSAGE\":\"m\"}");
    CHECK(!r->has_ts);
}

static void json_pid_out_of_range_is_absent(void)
{
    const struct record *r =
            parse("{\"MESSAGE\":\"m\",\"_PID\":\"2147483647\",\"SYSLOG_PID\":\"x\"}");

    CHECK_STRN(r->pid.p, r->pid.n, "2147483647");
    r = parse("{\"MESSAGE\":\"m\",\"_PID\":\"2147483648\"}");
    CHECK(strv_is_empty(r->pid));
    r = parse("{\"MESSAGE\":\"m\",\"_PID\":\"12a\"}");
    CHECK(strv_is_empty(r->pid));
    /* An unusable SYSLOG_PID leaves the journal's own _PID. */
    r = parse("{\"MESSAGE\":\"m\",\"_PID\":\"42\",\"SYSLOG_PID\":\"99999999999\"}");
    CHECK_STRN(r->pid.p, r->pid.n, "42");
}

int main(void)
{
    parser_init(&parser, 2026, 0, 0);
    TAP_RUN(short_iso_with_hhmm_zone_parses);
    TAP_RUN(short_iso_with_colon_zone_parses);
    TAP_RUN(short_iso_precise_keeps_microseconds);
    TAP_RUN(short_iso_impossible_date_keeps_header_without_time);
    TAP_RUN(short_iso_without_hostname_takes_tag);
    TAP_RUN(rsyslog_iso_with_pri_keeps_pri);
    TAP_RUN(short_precise_is_rfc3164_with_microseconds);
    TAP_RUN(json_entry_fills_every_field);
    TAP_RUN(json_message_escapes_are_decoded);
    TAP_RUN(json_message_lone_surrogate_becomes_replacement);
    TAP_RUN(json_message_byte_array_is_raw_bytes);
    TAP_RUN(json_message_null_is_empty);
    TAP_RUN(json_missing_fields_stay_empty);
    TAP_RUN(json_timestamp_without_message_is_journal);
    TAP_RUN(json_comm_and_syslog_pid_fill_gaps);
    TAP_RUN(json_nested_values_are_skipped);
    TAP_RUN(json_without_journal_fields_falls_back_to_plain);
    TAP_RUN(json_malformed_falls_back_to_plain);
    TAP_RUN(json_record_raw_is_the_line);
    TAP_RUN(json_priority_above_7_is_absent);
    TAP_RUN(json_facility_above_23_is_absent);
    TAP_RUN(json_realtime_past_year_9999_is_absent);
    TAP_RUN(json_pid_out_of_range_is_absent);
    parser_release(&parser);
    return tap_done();
}
