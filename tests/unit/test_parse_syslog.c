/* Unit tests for parse_syslog (and the parse_detect dispatch in front of it): RFC 3164 with
 * and without PRI, both day paddings and a missing hostname; RFC 5424 with NILVALUEs,
 * structured data and a BOM; the Luna appliance "syslog tail" form; bare "tag[pid]:" lines;
 * and plain text, which must come through whole. */
#include <stdint.h>
#include <string.h>

#include "parse_fixture.h"
#include "tap.h"

static void rfc3164_with_pri_fills_every_field(void)
{
    const char *line = "<134>Nov 28 09:14:03 hsm-a1 NTLS[2981]: Incoming connection request";
    const struct record *r = parse(line);

    CHECK_INT(r->format, FMT_RFC3164);
    CHECK_INT(r->pri, 134);
    CHECK(r->has_ts);
    CHECK_INT(r->ts_us, utc(2026, 11, 28, 9, 14, 3, 0));
    CHECK_STRN(r->host.p, r->host.n, "hsm-a1");
    CHECK_STRN(r->program.p, r->program.n, "NTLS");
    CHECK_STRN(r->pid.p, r->pid.n, "2981");
    CHECK_STRN(r->message.p, r->message.n, "Incoming connection request");
    CHECK_STRN(r->raw.p, r->raw.n, line);
}

static void rfc3164_without_pri_has_pri_minus_one(void)
{
    const struct record *r = parse("Nov 28 09:14:03 hsm-a1 lunash: Command: hsm show");

    CHECK_INT(r->format, FMT_RFC3164);
    CHECK_INT(r->pri, -1);
    CHECK_STRN(r->host.p, r->host.n, "hsm-a1");
    CHECK_STRN(r->program.p, r->program.n, "lunash");
    CHECK(strv_is_empty(r->pid));
    CHECK_STRN(r->message.p, r->message.n, "Command: hsm show");
}

static void rfc3164_space_padded_day_parses(void)
{
    const struct record *r = parse("Nov  8 09:14:03 hsm-a1 NTLS[1]: x");

    CHECK_INT(r->format, FMT_RFC3164);
    CHECK_INT(r->ts_us, utc(2026, 11, 8, 9, 14, 3, 0));
    CHECK_STRN(r->host.p, r->host.n, "hsm-a1");
}

static void rfc3164_zero_padded_day_parses(void)
{
    /* journalctl -o short writes "Nov 08". */
    const struct record *r = parse("Nov 08 09:14:03 hsm-a1 NTLS[1]: x");

    CHECK_INT(r->format, FMT_RFC3164);
    CHECK_INT(r->ts_us, utc(2026, 11, 8, 9, 14, 3, 0));
    CHECK_STRN(r->program.p, r->program.n, "NTLS");
}

static void rfc3164_without_hostname_takes_tag(void)
{
    const struct record *r = parse("<13>Nov 28 09:14:03 NTLS[2981]: msg");

    CHECK_INT(r->format, FMT_RFC3164);
    CHECK(strv_is_empty(r->host));
    CHECK_STRN(r->program.p, r->program.n, "NTLS");
    CHECK_STRN(r->pid.p, r->pid.n, "2981");
    CHECK_STRN(r->message.p, r->message.n, "msg");

    r = parse("Nov 28 09:14:03 sshd: Accepted publickey");
    CHECK(strv_is_empty(r->host));
    CHECK_STRN(r->program.p, r->program.n, "sshd");
    CHECK_STRN(r->message.p, r->message.n, "Accepted publickey");
}

static void rfc3164_with_impossible_time_keeps_header_without_time(void)
{
    /* Never moved to a real date (Feb 29 2026 to Mar 1): the header stays, the time goes. */
    static const char *const lines[] = {
        "Nov 28 25:14:03 hsm-a1 NTLS[1]: x", "Nov 28 24:00:00 hsm-a1 NTLS[1]: x",
        "Nov 28 09:60:03 hsm-a1 NTLS[1]: x", "Nov 28 09:14:61 hsm-a1 NTLS[1]: x",
        "Feb 29 09:14:03 hsm-a1 NTLS[1]: x", "Nov 31 09:14:03 hsm-a1 NTLS[1]: x",
        "Apr 31 09:14:03 hsm-a1 NTLS[1]: x", "Nov 00 09:14:03 hsm-a1 NTLS[1]: x",
        "Nov 32 09:14:03 hsm-a1 NTLS[1]: x", "<13>Feb 30 09:14:03 hsm-a1 NTLS[1]: x",
    };
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        const struct record *r = parse(lines[i]);

        CHECK_INT(r->format, FMT_RFC3164);
        CHECK(!r->has_ts);
        CHECK(r->bad_ts);
        CHECK_STRN(r->host.p, r->host.n, "hsm-a1");
        CHECK_STRN(r->program.p, r->program.n, "NTLS");
        CHECK_STRN(r->message.p, r->message.n, "x");
        CHECK_INT(parser.bad_time, 1);
    }
    CHECK_INT(parse("Nov 28 25:14:03.123456 hsm-a1 NTLS[1]: x")->format, FMT_SHORT_PRECISE);
    CHECK(rec.bad_ts);
    CHECK_INT(parse("Nox 28 09:14:03 hsm-a1 NTLS[1]: x")->format, FMT_PLAIN);
    CHECK(!rec.bad_ts);
}

static void rfc3164_real_edge_times_are_kept(void)
{
    const struct record *r = parse("Dec 31 23:59:60 hsm-a1 NTLS[1]: leap second");

    CHECK(r->has_ts);
    CHECK(!r->bad_ts);
    CHECK_INT(r->ts_us, utc(2026, 12, 31, 23, 59, 59, 0));
    parser_release(&parser);
    parser_init(&parser, 2024, 0, NULL);
    parse_line(&parser, strv_from_cstr("Feb 29 00:00:00 h p: leap day"), &rec);
    CHECK(rec.has_ts);
    CHECK_INT(rec.ts_us, utc(2024, 2, 29, 0, 0, 0, 0));
    CHECK_INT(parser.bad_time, 0);
}

static void impossible_date_never_moves_the_year_guess(void)
{
    /* Feb 30 read as Mar 2 was a step back of ten months from December: a new year. */
    parser_release(&parser);
    parser_init(&parser, 2026, 0, NULL);
    parse_line(&parser, strv_from_cstr("Dec 31 23:00:00 h p: a"), &rec);
    CHECK_INT(rec.ts_us, utc(2026, 12, 31, 23, 0, 0, 0));
    parse_line(&parser, strv_from_cstr("Feb 30 23:10:00 h p: b"), &rec);
    CHECK(!rec.has_ts);
    parse_line(&parser, strv_from_cstr("Dec 31 23:20:00 h p: c"), &rec);
    CHECK_INT(rec.ts_us, utc(2026, 12, 31, 23, 20, 0, 0));
    /* A Feb 29 checked against the year a step would give, not the year before it. */
    parse_line(&parser, strv_from_cstr("Feb 29 00:00:00 h p: d"), &rec);
    CHECK(!rec.has_ts);
    parse_line(&parser, strv_from_cstr("Jan  1 00:00:00 h p: e"), &rec);
    CHECK_INT(rec.ts_us, utc(2027, 1, 1, 0, 0, 0, 0));
    CHECK_INT(parser.bad_time, 2);
}

static void rfc3164_pri_above_191_is_not_a_pri(void)
{
    const struct record *r = parse("<192>Nov 28 09:14:03 hsm-a1 NTLS[1]: x");

    CHECK(r->format != FMT_RFC3164);
    CHECK_INT(r->pri, -1);
}

static void rfc5424_fills_every_field(void)
{
    const char *line = "<165>1 2026-11-28T09:14:03.123456Z hsm-a1 NTLS 2981 ID47 - Fail to "
                       "establish";
    const struct record *r = parse(line);

    CHECK_INT(r->format, FMT_RFC5424);
    CHECK_INT(r->pri, 165);
    CHECK(r->has_ts);
    CHECK_INT(r->ts_us, utc(2026, 11, 28, 9, 14, 3, 123456));
    CHECK_STRN(r->host.p, r->host.n, "hsm-a1");
    CHECK_STRN(r->program.p, r->program.n, "NTLS");
    CHECK_STRN(r->pid.p, r->pid.n, "2981");
    CHECK_STRN(r->message.p, r->message.n, "Fail to establish");
}

static void rfc5424_zoned_timestamp_is_converted_to_utc(void)
{
    const struct record *r = parse("<165>1 2026-11-28T10:14:03+01:00 h app 1 - - m");

    CHECK_INT(r->format, FMT_RFC5424);
    CHECK_INT(r->ts_us, utc(2026, 11, 28, 9, 14, 3, 0));
}

static void rfc5424_nilvalues_leave_fields_empty(void)
{
    const struct record *r = parse("<14>1 - - - - - - just the message");

    CHECK_INT(r->format, FMT_RFC5424);
    CHECK_INT(r->pri, 14);
    CHECK(!r->has_ts);
    CHECK(strv_is_empty(r->host));
    CHECK(strv_is_empty(r->program));
    CHECK(strv_is_empty(r->pid));
    CHECK_STRN(r->message.p, r->message.n, "just the message");
}

static void rfc5424_without_msg_has_empty_message(void)
{
    const struct record *r = parse("<14>1 2026-11-28T09:14:03Z host app - - -");

    CHECK_INT(r->format, FMT_RFC5424);
    CHECK_INT(r->message.n, 0);
}

static void rfc5424_structured_data_with_escapes_is_skipped(void)
{
    /* RFC 5424 §6.3.3: '"', '\' and ']' are escaped inside PARAM-VALUE. */
    const struct record *r = parse("<165>1 2026-11-28T09:14:03Z hsm-a1 NTLS 2981 - "
                                   "[ex@32473 a=\"x\\]y\" b=\"q\\\"]z\"][second@1 c=\"]\"] "
                                   "after sd");

    CHECK_INT(r->format, FMT_RFC5424);
    CHECK_STRN(r->message.p, r->message.n, "after sd");
}

static void rfc5424_unterminated_structured_data_is_rejected(void)
{
    struct strv line = strv_from_cstr("<165>1 2026-11-28T09:14:03Z h app 1 - [ex@1 a=\"x\\]\"");
    struct record r = { .pri = -1 };

    parser_release(&parser);
    parser_init(&parser, 2026, 0, 0);
    CHECK(!parse_rfc5424(&parser, line, &r));
}

static void rfc5424_bom_before_msg_is_dropped(void)
{
    const struct record *r = parse("<165>1 2026-11-28T09:14:03Z h app 1 - - \xEF\xBB\xBFmsg");

    CHECK_INT(r->format, FMT_RFC5424);
    CHECK_STRN(r->message.p, r->message.n, "msg");
}

static void rfc5424_impossible_timestamp_keeps_header_without_time(void)
{
    const struct record *r = parse("<165>1 2026-02-30T09:14:03Z h app 1 - - m");

    CHECK_INT(r->format, FMT_RFC5424);
    CHECK(!r->has_ts);
    CHECK(r->bad_ts);
    CHECK_STRN(r->host.p, r->host.n, "h");
    CHECK_STRN(r->program.p, r->program.n, "app");
    CHECK_STRN(r->message.p, r->message.n, "m");
    r = parse("<165>1 2026-11-28T24:00:00+01:00 h app 1 - - m");
    CHECK_INT(r->format, FMT_RFC5424);
    CHECK(r->bad_ts);
    r = parse("<165>1 2026-13-01T09:14:03 h app 1 - - m");
    CHECK_INT(r->format, FMT_RFC5424);
    CHECK(r->bad_ts);
    r = parse("<165>1 2026-11-28X09:14:03Z h app 1 - - m");
    CHECK(r->format != FMT_RFC5424);
}

static void luna_tail_fills_every_field(void)
{
    const struct record *r = parse("2026 Nov 28 09:14:03 hsm-a1 local5 info NTLS[2981]: msg");

    CHECK_INT(r->format, FMT_LUNA_TAIL);
    CHECK(r->has_ts);
    CHECK_INT(r->ts_us, utc(2026, 11, 28, 9, 14, 3, 0));
    CHECK_INT(r->pri, 21 * 8 + 6); /* local5.info */
    CHECK_STRN(r->host.p, r->host.n, "hsm-a1");
    CHECK_STRN(r->program.p, r->program.n, "NTLS");
    CHECK_STRN(r->pid.p, r->pid.n, "2981");
    CHECK_STRN(r->message.p, r->message.n, "msg");
}

static void luna_tail_takes_year_from_line_not_guess(void)
{
    const struct record *r = parse("2019 Jan  2 00:00:01 hsm-a1 kern err kernel: x");

    CHECK_INT(r->format, FMT_LUNA_TAIL);
    CHECK_INT(r->ts_us, utc(2019, 1, 2, 0, 0, 1, 0));
    CHECK_INT(r->pri, 0 * 8 + 3);
}

static void luna_tail_impossible_date_keeps_header_without_time(void)
{
    const struct record *r = parse("2026 Feb 29 09:14:03 hsm-a1 local5 info NTLS[2981]: msg");

    CHECK_INT(r->format, FMT_LUNA_TAIL);
    CHECK(!r->has_ts);
    CHECK(r->bad_ts);
    CHECK_STRN(r->host.p, r->host.n, "hsm-a1");
    CHECK_STRN(r->program.p, r->program.n, "NTLS");
    CHECK_INT(parse("2026 Nov 31 09:14:03 hsm-a1 local5 info NTLS[2981]: msg")->format,
              FMT_LUNA_TAIL);
    CHECK(rec.bad_ts);
    CHECK_INT(parse("2026 Nov 30 25:14:03 hsm-a1 local5 info NTLS[2981]: msg")->format,
              FMT_LUNA_TAIL);
    CHECK(rec.bad_ts);
    r = parse("2024 Feb 29 09:14:03 hsm-a1 local5 info NTLS[2981]: msg");
    CHECK(r->has_ts);
    CHECK_INT(r->ts_us, utc(2024, 2, 29, 9, 14, 3, 0));
}

static void luna_tail_tolerates_runs_of_spaces(void)
{
    const struct record *r =
            parse("2026  Nov  8  09:14:03   hsm-a1   local5   warning   NTLS[2981]: msg");

    CHECK_INT(r->format, FMT_LUNA_TAIL);
    CHECK_INT(r->ts_us, utc(2026, 11, 8, 9, 14, 3, 0));
    CHECK_INT(r->pri, 21 * 8 + 4);
    CHECK_STRN(r->host.p, r->host.n, "hsm-a1");
    CHECK_STRN(r->program.p, r->program.n, "NTLS");
    CHECK_STRN(r->message.p, r->message.n, "msg");
}

static void luna_tail_accepts_space_before_pid(void)
{
    const struct record *r = parse("2026 Nov 28 09:14:03 hsm-b1 local5 info NTLS [2981]: msg");

    CHECK_INT(r->format, FMT_LUNA_TAIL);
    CHECK_STRN(r->program.p, r->program.n, "NTLS");
    CHECK_STRN(r->pid.p, r->pid.n, "2981");
    CHECK_STRN(r->message.p, r->message.n, "msg");
}

static void luna_tail_with_unknown_facility_is_not_luna_tail(void)
{
    const struct record *r = parse("2026 Nov 28 09:14:03 hsm-a1 local9 info NTLS[2981]: msg");

    CHECK(r->format != FMT_LUNA_TAIL);
    CHECK(!r->has_ts);
}

static void bare_tag_with_pid_is_bare(void)
{
    const struct record *r = parse("NTLS[8508]: Error message from SSLAccept is : x");

    CHECK_INT(r->format, FMT_BARE);
    CHECK_INT(r->pri, -1);
    CHECK(!r->has_ts);
    CHECK(strv_is_empty(r->host));
    CHECK_STRN(r->program.p, r->program.n, "NTLS");
    CHECK_STRN(r->pid.p, r->pid.n, "8508");
    CHECK_STRN(r->message.p, r->message.n, "Error message from SSLAccept is : x");
}

static void bare_needs_numeric_pid(void)
{
    /* "Warning: x" in a console paste is text, not a program. */
    const struct record *r = parse("Warning: disk almost full");

    CHECK_INT(r->format, FMT_PLAIN);
    CHECK(strv_is_empty(r->program));
    r = parse("NTLS[abc]: x");
    CHECK_INT(r->format, FMT_PLAIN);
}

static void plain_text_keeps_whole_line_as_message(void)
{
    const char *line = "lunash:>hsm show  -- Serial Number: 123456";
    const struct record *r = parse(line);

    CHECK_INT(r->format, FMT_PLAIN);
    CHECK_INT(r->pri, -1);
    CHECK(!r->has_ts);
    CHECK_STRN(r->message.p, r->message.n, line);
    CHECK_STRN(r->raw.p, r->raw.n, line);
}

static void empty_line_is_plain_and_empty(void)
{
    const struct record *r = parse("");

    CHECK_INT(r->format, FMT_PLAIN);
    CHECK_INT(r->message.n, 0);
    CHECK_INT(parser.seen[FMT_PLAIN], 1);
}

static void pri_before_bare_tag_is_bare_with_pri(void)
{
    const struct record *r = parse("<13>NTLS[99]: msg");

    CHECK_INT(r->format, FMT_BARE);
    CHECK_INT(r->pri, 13);
    CHECK_STRN(r->program.p, r->program.n, "NTLS");
    CHECK_STRN(r->pid.p, r->pid.n, "99");
    CHECK_STRN(r->message.p, r->message.n, "msg");
    CHECK_STRN(r->raw.p, r->raw.n, "<13>NTLS[99]: msg");
}

static void out_of_range_pri_before_bare_tag_is_not_a_pri(void)
{
    /* struct record: pri is 0..191 or -1, whatever the line claims. */
    CHECK_INT(parse("<192>NTLS[99]: msg")->pri, -1); /* one past the last */
    CHECK_INT(parse("<999>NTLS[99]: msg")->pri, -1);
    CHECK_INT(parse("<9999>NTLS[99]: msg")->pri, -1);
    CHECK_INT(parse("<>NTLS[99]: msg")->pri, -1);
}

static void parse_tag_splits_program_pid_and_message(void)
{
    struct record r = { 0 };

    CHECK(parse_tag(strv_from_cstr("prog[12]: text"), false, &r));
    CHECK_STRN(r.program.p, r.program.n, "prog");
    CHECK_STRN(r.pid.p, r.pid.n, "12");
    CHECK_STRN(r.message.p, r.message.n, "text");

    r = (struct record){ 0 };
    CHECK(!parse_tag(strv_from_cstr("prog [12]: text"), false, &r));
    CHECK_STRN(r.message.p, r.message.n, "prog [12]: text");

    r = (struct record){ 0 };
    CHECK(parse_tag(strv_from_cstr("prog:text"), false, &r));
    CHECK_STRN(r.program.p, r.program.n, "prog");
    CHECK_STRN(r.message.p, r.message.n, "text");

    r = (struct record){ 0 };
    CHECK(!parse_tag(strv_from_cstr("prog[12 text"), false, &r));
    CHECK(!parse_tag(strv_from_cstr(": no tag"), false, &r));
}

static void rfc3164_year_follows_the_file_across_new_year(void)
{
    /* A file dated January 2027 that starts on Dec 31: the first lines are 2026. */
    parser_release(&parser);
    parser_init(&parser, 2027, 1, 0);
    parse_line(&parser, strv_from_cstr("Dec 31 23:59:59 h p: a"), &rec);
    CHECK_INT(rec.ts_us, utc(2026, 12, 31, 23, 59, 59, 0));
    parse_line(&parser, strv_from_cstr("Jan  1 00:00:01 h p: b"), &rec);
    CHECK_INT(rec.ts_us, utc(2027, 1, 1, 0, 0, 1, 0));
}

static void zoneless_timestamps_take_the_parser_offset(void)
{
    /* The host wrote local time at UTC+01:00: 10:14:03 local is 09:14:03 UTC. */
    parser_release(&parser);
    static struct parse_zone plus1;
    parse_zone_fixed(&plus1, 3600);
    parser_init(&parser, 2026, 0, &plus1);
    parse_line(&parser, strv_from_cstr("Nov 28 10:14:03 h p: a"), &rec);
    CHECK_INT(rec.ts_us, utc(2026, 11, 28, 9, 14, 3, 0));
    parse_line(&parser, strv_from_cstr("2026 Nov 28 10:14:03 h local5 info p: a"), &rec);
    CHECK_INT(rec.format, FMT_LUNA_TAIL);
    CHECK_INT(rec.ts_us, utc(2026, 11, 28, 9, 14, 3, 0));
    /* A zone in the line wins over the parser's offset. */
    parse_line(&parser, strv_from_cstr("<1>1 2026-11-28T09:14:03Z h p - - - a"), &rec);
    CHECK_INT(rec.ts_us, utc(2026, 11, 28, 9, 14, 3, 0));
    parse_line(&parser, strv_from_cstr("<1>1 2026-11-28T10:14:03 h p - - - a"), &rec);
    CHECK_INT(rec.ts_us, utc(2026, 11, 28, 9, 14, 3, 0));
}

static void zoneless_timestamps_follow_the_zone_through_a_change_of_clocks(void)
{
    static struct parse_zone berlin;

    CHECK_INT(parse_zone_init(&berlin, "Europe/Berlin", NULL), 0);
    parser_release(&parser);
    parser_init(&parser, 2026, 0, &berlin);
    /* The night of 2026-10-25, as a Berlin syslog writes it: 02:xx twice. */
    static const struct {
        const char *line;
        int h, mi;
    } night[] = {
        { "Oct 25 01:59:00 h p: a", 23, 59 },
        { "Oct 25 02:30:00 h p: b", 0, 30 },
        { "Oct 25 02:29:00 h p: out of order", 0, 29 },
        { "Oct 25 02:59:00 h p: c", 0, 59 },
        { "Oct 25 02:00:00 h p: d", 1, 0 },
        { "Oct 25 02:30:00 h p: e", 1, 30 },
        { "Oct 25 03:00:00 h p: f", 2, 0 },
    };
    for (size_t i = 0; i < sizeof(night) / sizeof(night[0]); i++) {
        parse_line(&parser, strv_from_cstr(night[i].line), &rec);
        CHECK_INT(rec.ts_us,
                  utc(2026, 10, night[i].h == 23 ? 24 : 25, night[i].h, night[i].mi, 0, 0));
    }
    /* Times that carry a zone ignore it. */
    parse_line(&parser, strv_from_cstr("2026-07-01T12:00:00+0000 h p: z"), &rec);
    CHECK_INT(rec.ts_us, utc(2026, 7, 1, 12, 0, 0, 0));
    parse_line(&parser, strv_from_cstr("<1>1 2026-07-01T12:00:00Z h p - - - z"), &rec);
    CHECK_INT(rec.ts_us, utc(2026, 7, 1, 12, 0, 0, 0));
    parse_line(&parser, strv_from_cstr("{\"__REALTIME_TIMESTAMP\":\"1782907200000000\"}"), &rec);
    CHECK_INT(rec.ts_us, utc(2026, 7, 1, 12, 0, 0, 0));
    /* Those without one use it: the Luna tail form and zone-less ISO, summer and winter. */
    parse_line(&parser, strv_from_cstr("2026 Jul  1 12:00:00 h local5 info p: z"), &rec);
    CHECK_INT(rec.ts_us, utc(2026, 7, 1, 10, 0, 0, 0));
    parse_line(&parser, strv_from_cstr("2026-01-01 12:00:00 h p: z"), &rec);
    CHECK_INT(rec.ts_us, utc(2026, 1, 1, 11, 0, 0, 0));
    parser_release(&parser);
    parser_init(&parser, 2026, 0, NULL);
}

static void seen_counts_each_format(void)
{
    parser_release(&parser);
    parser_init(&parser, 2026, 0, 0);
    parse_line(&parser, strv_from_cstr("Nov 28 09:14:03 h p: a"), &rec);
    parse_line(&parser, strv_from_cstr("Nov 28 09:14:04 h p: b"), &rec);
    parse_line(&parser, strv_from_cstr("p[1]: c"), &rec);
    parse_line(&parser, strv_from_cstr("text"), &rec);
    CHECK_INT(parser.seen[FMT_RFC3164], 2);
    CHECK_INT(parser.seen[FMT_BARE], 1);
    CHECK_INT(parser.seen[FMT_PLAIN], 1);
}

static void pri_191_is_the_last_pri_in_every_form(void)
{
    CHECK_INT(parse("<191>Nov 28 09:14:03 hsm-a1 NTLS[1]: x")->pri, 191);
    CHECK_INT(parse("<191>1 2026-11-28T09:14:03Z h app 1 - - m")->pri, 191);
    CHECK_INT(parse("<191>2026-11-28T09:14:03Z h app[1]: m")->pri, 191);
    CHECK_INT(parse("<191>NTLS[99]: msg")->pri, 191);
    CHECK_INT(parse("<192>1 2026-11-28T09:14:03Z h app 1 - - m")->pri, -1);
    CHECK_INT(parse("<192>2026-11-28T09:14:03Z h app[1]: m")->pri, -1);
    CHECK_INT(parse("<192>NTLS[99]: msg")->pri, -1);
    CHECK_INT(parse("<0>Nov 28 09:14:03 hsm-a1 NTLS[1]: x")->pri, 0);
}

static void pid_above_int32_max_is_absent(void)
{
    const struct record *r = parse("<13>Nov 28 09:14:03 hsm-a1 NTLS[2147483647]: x");

    CHECK_INT(r->format, FMT_RFC3164);
    CHECK_STRN(r->pid.p, r->pid.n, "2147483647");
    r = parse("<13>Nov 28 09:14:03 hsm-a1 NTLS[2147483648]: x");
    CHECK_INT(r->format, FMT_RFC3164);
    CHECK_STRN(r->program.p, r->program.n, "NTLS");
    CHECK(strv_is_empty(r->pid));
    CHECK_STRN(r->message.p, r->message.n, "x");
    r = parse("<13>Nov 28 09:14:03 hsm-a1 NTLS[99999999999999999999]: x");
    CHECK(strv_is_empty(r->pid));
    r = parse("<165>1 2026-11-28T09:14:03Z h app 2147483648 - - m");
    CHECK_INT(r->format, FMT_RFC5424);
    CHECK(strv_is_empty(r->pid));
    r = parse("<165>1 2026-11-28T09:14:03Z h app 2147483647 - - m");
    CHECK_STRN(r->pid.p, r->pid.n, "2147483647");
    /* RFC 5424 §6.2.6: a PROCID may be any printable text, kept as sent. */
    r = parse("<165>1 2026-11-28T09:14:03Z h app ntls-7 - - m");
    CHECK_STRN(r->pid.p, r->pid.n, "ntls-7");
    /* A bare line needs a pid, so one out of range leaves plain text. */
    CHECK_INT(parse("NTLS[2147483647]: x")->format, FMT_BARE);
    CHECK_INT(parse("NTLS[2147483648]: x")->format, FMT_PLAIN);
    CHECK(parse_pid_ok(strv_from_cstr("0")));
    CHECK(!parse_pid_ok(strv_from_cstr("")));
    CHECK(!parse_pid_ok(strv_from_cstr("-1")));
    CHECK(!parse_pid_ok(strv_from_cstr("00000000001")));
}

/* dpkg.log, Python's logging and log4j, PostgreSQL and fluentd print a time and then words
 * that are not a syslog host and tag. Such lines keep their time and are plain text. */
static void dpkg_line_has_no_host_or_program(void)
{
    const struct record *r =
            parse("2026-11-28 10:00:01 status installed libsystemd0:amd64 252.38-1");

    CHECK_INT(r->format, FMT_PLAIN);
    CHECK(r->has_ts);
    CHECK_INT(r->ts_us, utc(2026, 11, 28, 10, 0, 1, 0));
    CHECK(strv_is_empty(r->host));
    CHECK(strv_is_empty(r->program));
    CHECK_STRN(r->message.p, r->message.n, "status installed libsystemd0:amd64 252.38-1");
    r = parse("2026-11-28 10:00:01 configure libsystemd0:amd64 252.38-1 <none>");
    CHECK_INT(r->format, FMT_PLAIN);
    CHECK(strv_is_empty(r->host));
    CHECK(strv_is_empty(r->program));
}

static void application_log_lines_are_not_syslog_headers(void)
{
    static const char *const lines[] = {
        "2026-11-28 10:00:01,123 - util.py[DEBUG]: Reading from /etc/hosts",
        "2026-11-28 10:00:01,123 ERROR com.example.Pool: connection refused",
        "2026-11-28 10:00:01.123 INFO urllib3.connectionpool: Starting new HTTPS connection",
        "2026-11-28 10:00:01.123 UTC [1234] LOG:  database system is ready",
        "2026-11-28 10:00:01 +0000 [info]: starting fluentd",
        "Nov 28 10:00:01 : alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/ls",
        "Nov 28 10:00:01 combo syslogd 1.4.1: restart.",
    };
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        const struct record *r = parse(lines[i]);
        CHECK_INT(r->format, FMT_PLAIN);
        CHECK(r->has_ts);
        CHECK(strv_is_empty(r->host));
        CHECK(strv_is_empty(r->program));
    }
}

static void pri_makes_a_host_without_tag_a_header(void)
{
    const struct record *r = parse("<46>Nov 28 10:00:01 combo syslogd 1.4.1: restart.");

    CHECK_INT(r->format, FMT_RFC3164);
    CHECK_STRN(r->host.p, r->host.n, "combo");
    CHECK(strv_is_empty(r->program));
    CHECK_STRN(r->message.p, r->message.n, "syslogd 1.4.1: restart.");
}

static void tag_needs_space_or_pid_after_colon(void)
{
    const struct record *r = parse("Nov 28 10:00:01 hsm-a1 NTLS[2981]:no space");

    CHECK_INT(r->format, FMT_RFC3164);
    CHECK_STRN(r->program.p, r->program.n, "NTLS");
    r = parse("Nov 28 10:00:01 hsm-a1 lunash:");
    CHECK_INT(r->format, FMT_RFC3164);
    CHECK_STRN(r->program.p, r->program.n, "lunash");
    CHECK(strv_is_empty(r->message));
    r = parse("2026-11-28T10:00:01+01:00 hsm-a1 sshd(pam_unix)[19939]: check pass");
    CHECK_INT(r->format, FMT_ISO);
    CHECK_STRN(r->program.p, r->program.n, "sshd(pam_unix)");
}

int main(void)
{
    parser_init(&parser, 2026, 0, 0);
    TAP_RUN(rfc3164_with_pri_fills_every_field);
    TAP_RUN(rfc3164_without_pri_has_pri_minus_one);
    TAP_RUN(rfc3164_space_padded_day_parses);
    TAP_RUN(rfc3164_zero_padded_day_parses);
    TAP_RUN(rfc3164_without_hostname_takes_tag);
    TAP_RUN(rfc3164_with_impossible_time_keeps_header_without_time);
    TAP_RUN(rfc3164_real_edge_times_are_kept);
    TAP_RUN(impossible_date_never_moves_the_year_guess);
    TAP_RUN(rfc3164_pri_above_191_is_not_a_pri);
    TAP_RUN(rfc5424_fills_every_field);
    TAP_RUN(rfc5424_zoned_timestamp_is_converted_to_utc);
    TAP_RUN(rfc5424_nilvalues_leave_fields_empty);
    TAP_RUN(rfc5424_without_msg_has_empty_message);
    TAP_RUN(rfc5424_structured_data_with_escapes_is_skipped);
    TAP_RUN(rfc5424_unterminated_structured_data_is_rejected);
    TAP_RUN(rfc5424_bom_before_msg_is_dropped);
    TAP_RUN(rfc5424_impossible_timestamp_keeps_header_without_time);
    TAP_RUN(luna_tail_fills_every_field);
    TAP_RUN(luna_tail_takes_year_from_line_not_guess);
    TAP_RUN(luna_tail_impossible_date_keeps_header_without_time);
    TAP_RUN(luna_tail_tolerates_runs_of_spaces);
    TAP_RUN(luna_tail_accepts_space_before_pid);
    TAP_RUN(luna_tail_with_unknown_facility_is_not_luna_tail);
    TAP_RUN(bare_tag_with_pid_is_bare);
    TAP_RUN(bare_needs_numeric_pid);
    TAP_RUN(plain_text_keeps_whole_line_as_message);
    TAP_RUN(empty_line_is_plain_and_empty);
    TAP_RUN(pri_before_bare_tag_is_bare_with_pri);
    TAP_RUN(out_of_range_pri_before_bare_tag_is_not_a_pri);
    TAP_RUN(parse_tag_splits_program_pid_and_message);
    TAP_RUN(rfc3164_year_follows_the_file_across_new_year);
    TAP_RUN(zoneless_timestamps_take_the_parser_offset);
    TAP_RUN(zoneless_timestamps_follow_the_zone_through_a_change_of_clocks);
    TAP_RUN(seen_counts_each_format);
    TAP_RUN(pri_191_is_the_last_pri_in_every_form);
    TAP_RUN(pid_above_int32_max_is_absent);
    TAP_RUN(dpkg_line_has_no_host_or_program);
    TAP_RUN(application_log_lines_are_not_syslog_headers);
    TAP_RUN(pri_makes_a_host_without_tag_a_header);
    TAP_RUN(tag_needs_space_or_pid_after_colon);
    parser_release(&parser);
    return tap_done();
}
