/* Unit tests for rule_file: a good stanza loads with every field; each class of error is
 * reported with the right file:line(:col); continuation lines join with one space; a broken
 * stanza is dropped while the next good one loads; and every error is collected. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <string.h>

#include "buf.h"
#include "rule.h"
#include "tap.h"

static struct ruleset rs;
static struct rule_errors errs;

/* Loads text into a fresh ruleset named "t.rules"; returns ruleset_load_text()'s result. */
static int load(const char *text)
{
    rule_errors_release(&errs);
    ruleset_release(&rs);
    ruleset_init(&rs);
    return ruleset_load_text(&rs, "t.rules", text, strlen(text), &errs);
}

/* Returns the index of the first error whose message contains needle, or -1. */
static int find_error(const char *needle)
{
    for (size_t i = 0; i < errs.n; i++)
        if (strstr(errs.v[i].msg, needle))
            return (int)i;
    return -1;
}

/* Checks that an error mentioning needle was reported at where (and with caret col). */
static void check_error(const char *needle, const char *where, int col)
{
    int i = find_error(needle);
    CHECK(i >= 0);
    if (i < 0) {
        printf("# no error mentioning '%s' among %zu\n", needle, errs.n);
        for (size_t k = 0; k < errs.n; k++)
            printf("#   %s: %s\n", errs.v[k].where, errs.v[k].msg);
        return;
    }
    CHECK_STR(errs.v[i].where, where);
    CHECK_INT(errs.v[i].col, col);
}

#define GOOD_BODY                                               \
    "severity = error\n"                                        \
    "regex = SSLAccept is : (?<ssl_error>.*alert unknown ca)\n" \
    "summary = s\n"                                             \
    "remedy = r\n"

static void good_rule_loads_with_every_field(void)
{
    const char *text = "# comment\n"
                       "; another comment\n"
                       "[ntls.unknown-ca]\n"
                       "severity = error\n"
                       "program  = NTLS, LunaSH ,certmonitord\n"
                       "regex    = SSLAccept is : (?<ssl_error>.*alert unknown ca)\n"
                       "exclude  = CKR_OK\n"
                       "summary  = A client refused\n"
                       "remedy   = Re-run the exchange\n"
                       "refs     = first ref\n"
                       "test     = NTLS[1]: SSLAccept is : tlsv1 alert unknown ca\n"
                       "test-no  = NTLS[1]: info : 0 : Incoming\n"
                       "refs     = second ref\n"
                       "test     = NTLS[2]: SSLAccept is : x alert unknown ca\n";

    CHECK_INT(load(text), 0);
    CHECK_INT(errs.n, 0);
    CHECK_INT(rs.n, 1);
    if (rs.n != 1)
        return;
    const struct rule *r = &rs.rules[0];
    CHECK_STR(r->id, "ntls.unknown-ca");
    CHECK_INT(r->severity, SEV_ERROR);
    CHECK_INT(r->n_programs, 3);
    if (r->n_programs == 3) {
        CHECK_STR(r->programs[0], "ntls");
        CHECK_STR(r->programs[1], "lunash");
        CHECK_STR(r->programs[2], "certmonitord");
    }
    CHECK_STR(r->regex_src, "SSLAccept is : (?<ssl_error>.*alert unknown ca)");
    CHECK(r->re != NULL);
    CHECK_INT(r->n_exclude, 1);
    if (r->n_exclude == 1) {
        CHECK_STR(r->exclude_src[0], "CKR_OK");
        CHECK(r->exclude[0] != NULL);
    }
    CHECK_STR(r->summary, "A client refused");
    CHECK_STR(r->remedy, "Re-run the exchange");
    CHECK_STR(r->refs, "first ref\nsecond ref");
    CHECK_INT(r->n_tests, 3);
    if (r->n_tests == 3) {
        /* File order across test and test-no. */
        CHECK_STR(r->tests[0].line, "NTLS[1]: SSLAccept is : tlsv1 alert unknown ca");
        CHECK(r->tests[0].must_match);
        CHECK_INT(r->tests[0].src_line, 11);
        CHECK_STR(r->tests[1].line, "NTLS[1]: info : 0 : Incoming");
        CHECK(!r->tests[1].must_match);
        CHECK_INT(r->tests[1].src_line, 12);
        CHECK_STR(r->tests[2].line, "NTLS[2]: SSLAccept is : x alert unknown ca");
        CHECK(r->tests[2].must_match);
        CHECK_INT(r->tests[2].src_line, 14);
    }
    CHECK_STR(r->file, "t.rules");
    CHECK_INT(r->line, 3);
    CHECK_STR(r->literal, "alert unknown ca");
    CHECK(ruleset_find(&rs, "ntls.unknown-ca") == r);
    CHECK(ruleset_find(&rs, "ntls.other") == NULL);
}

static void optional_keys_may_be_absent(void)
{
    CHECK_INT(load("[a.b]\n" GOOD_BODY), 0);
    CHECK_INT(rs.n, 1);
    if (rs.n != 1)
        return;
    CHECK(rs.rules[0].programs == NULL);
    CHECK_INT(rs.rules[0].n_programs, 0);
    CHECK_INT(rs.rules[0].n_exclude, 0);
    CHECK(!rs.rules[0].disabled);
    CHECK(rs.rules[0].overrides == NULL);
    CHECK(rs.rules[0].refs == NULL);
    CHECK_INT(rs.rules[0].n_tests, 0);
}

static void severity_aliases_and_case_are_accepted(void)
{
    CHECK_INT(load("[a.b]\nseverity = WARN\nregex = x\nsummary = s\nremedy = r\n"), 0);
    CHECK_INT(rs.n, 1);
    if (rs.n == 1)
        CHECK_INT(rs.rules[0].severity, SEV_WARNING);
    CHECK_INT(load("[a.b]\nseverity = crit\nregex = x\nsummary = s\nremedy = r\n"), 0);
    if (rs.n == 1)
        CHECK_INT(rs.rules[0].severity, SEV_CRITICAL);
}

static void crlf_rule_file_loads(void)
{
    CHECK_INT(load("[a.b]\r\nseverity = info\r\nregex = abc\r\nsummary = s\r\nremedy = r\r\n"), 0);
    CHECK_INT(rs.n, 1);
    if (rs.n == 1) {
        CHECK_STR(rs.rules[0].regex_src, "abc");
        CHECK_STR(rs.rules[0].remedy, "r");
    }
}

static void unknown_key_is_reported_at_its_column(void)
{
    /* Indented, after a blank line: a key of its own, not a continuation. */
    CHECK_INT(
            load("[a.b]\nseverity = error\n\n  colour = red\nregex = x\nsummary = s\nremedy = r\n"),
            1);
    check_error("unknown key 'colour'", "t.rules:4:3", 3);
    CHECK_INT(rs.n, 0);
    CHECK(errs.n == 1 && errs.v[0].text && strcmp(errs.v[0].text, "  colour = red") == 0);
}

static void key_outside_stanza_is_reported(void)
{
    CHECK_INT(load("severity = error\n[a.b]\n" GOOD_BODY), 1);
    check_error("outside a rule", "t.rules:1:1", 1);
    CHECK_INT(rs.n, 1); /* the stanza after it is fine */
}

static void duplicate_key_is_reported_at_second_occurrence(void)
{
    CHECK_INT(load("[a.b]\n" GOOD_BODY "summary = again\n"), 1);
    check_error("duplicate key 'summary'", "t.rules:6:1", 1);
    CHECK(strstr(errs.v[0].msg, "line 4") != NULL);
    CHECK_INT(rs.n, 0);
}

static void repeatable_keys_may_repeat(void)
{
    CHECK_INT(load("[a.b]\n" GOOD_BODY "refs = a\nrefs = b\ntest = x\ntest = y\ntest-no = z\n"
                   "test-no = w\n"),
              0);
    CHECK_INT(rs.n, 1);
}

static void duplicate_id_is_reported_at_second_header(void)
{
    CHECK_INT(load("[a.b]\n" GOOD_BODY "\n[a.b]\n" GOOD_BODY), 1);
    check_error("duplicate rule id 'a.b'", "t.rules:7", 0);
    CHECK(strstr(errs.v[0].msg, "t.rules:1") != NULL);
    CHECK_INT(rs.n, 1);
}

static void duplicate_id_across_files_is_reported(void)
{
    CHECK_INT(load("[a.b]\n" GOOD_BODY), 0);
    const char *second = "# other file\n[a.b]\n" GOOD_BODY;
    CHECK_INT(ruleset_load_text(&rs, "u.rules", second, strlen(second), &errs), 1);
    check_error("duplicate rule id 'a.b'", "u.rules:2", 0);
    CHECK(strstr(errs.v[0].msg, "t.rules:1") != NULL);
    CHECK_INT(rs.n, 1);
}

static void missing_required_keys_are_each_reported_at_header(void)
{
    CHECK_INT(load("\n[a.b]\nseverity = info\nregex = x\n"), 2);
    check_error("has no 'summary'", "t.rules:2", 0);
    check_error("has no 'remedy'", "t.rules:2", 0);
    CHECK_INT(rs.n, 0);
    CHECK_INT(load("[a.b]\nsummary = s\nremedy = r\n"), 1);
    check_error("has no 'severity'", "t.rules:1", 0);
    /* Without a regex a rule is derived; linking finds that nothing raises it. */
    CHECK_INT(load("[a.b]\nseverity = info\nsummary = s\nremedy = r\n"), 0);
    CHECK_INT(ruleset_link(&rs, &errs), 1);
    check_error("has no 'regex'", "t.rules:1", 0);
}

static void unknown_severity_is_reported_at_value(void)
{
    CHECK_INT(load("[a.b]\nseverity =  fatal\nregex = x\nsummary = s\nremedy = r\n"), 1);
    check_error("unknown severity 'fatal'", "t.rules:2:13", 13);
    CHECK_INT(rs.n, 0);
}

/* Returns PCRE2's error offset for a pattern that does not compile. */
static int pcre2_offset(const char *pattern)
{
    int code;
    PCRE2_SIZE off = 0;
    pcre2_code *re =
            pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, 0, &code, &off, NULL);
    CHECK(re == NULL);
    pcre2_code_free(re);
    return (int)off;
}

static void bad_regex_is_reported_at_pcre2_offset(void)
{
    /* "regex    = " puts the pattern at column 12. */
    const char *pattern = "SSLAccept is : (?<ssl_error>.*alert unknown ca";
    char text[512], where[64];
    snprintf(text, sizeof(text),
             "[a.b]\nseverity = error\nregex    = %s\nsummary = s\nremedy = r\n", pattern);
    int col = 12 + pcre2_offset(pattern);
    snprintf(where, sizeof(where), "t.rules:3:%d", col);

    CHECK_INT(load(text), 1);
    check_error("bad regex: missing closing parenthesis", where, col);
    CHECK_INT(col, 12 + (int)strlen(pattern)); /* PCRE2 points past the end here */
    CHECK_INT(rs.n, 0);

    /* An error in the middle of the pattern: the caret is under the bad quantifier. */
    CHECK_INT(load("[a.b]\nseverity = error\nregex = ab(*c\nsummary = s\nremedy = r\n"), 1);
    snprintf(where, sizeof(where), "t.rules:3:%d", 9 + pcre2_offset("ab(*c"));
    CHECK(find_error("bad regex") >= 0);
    if (errs.n == 1)
        CHECK_STR(errs.v[0].where, where);
}

static void bad_exclude_is_reported_too(void)
{
    CHECK_INT(load("[a.b]\n" GOOD_BODY "exclude = [z-a]\n"), 1);
    char where[64];
    snprintf(where, sizeof(where), "t.rules:6:%d", 11 + pcre2_offset("[z-a]"));
    CHECK(find_error("bad exclude") >= 0);
    if (errs.n == 1)
        CHECK_STR(errs.v[0].where, where);
}

static void bad_id_is_reported_at_id(void)
{
    CHECK_INT(load("[NTLS.Bad]\n" GOOD_BODY), 1);
    check_error("bad rule id 'NTLS.Bad'", "t.rules:1:2", 2);
    CHECK_INT(load("  [nodot]\n" GOOD_BODY), 1);
    check_error("bad rule id 'nodot'", "t.rules:1:4", 4);
    CHECK_INT(load("[trailing.]\n" GOOD_BODY), 1);
    CHECK_INT(load("[]\n" GOOD_BODY), 1);
    CHECK_INT(load("[a.b\n" GOOD_BODY), 1);
    CHECK(find_error("expected ']'") >= 0);
    CHECK_INT(rs.n, 0);
}

static void good_ids_are_accepted(void)
{
    CHECK_INT(load("[ntls.unknown-ca_2]\n" GOOD_BODY), 0);
    CHECK_INT(load("[a.b.c]\n" GOOD_BODY), 0);
    CHECK_INT(rs.n, 1);
}

static void empty_value_is_reported(void)
{
    CHECK_INT(load("[a.b]\nseverity = error\nregex = x\nsummary =\nremedy = r\n"), 1);
    check_error("empty value for 'summary'", "t.rules:4:10", 10);
    CHECK_INT(rs.n, 0);
}

static void line_without_equals_is_reported(void)
{
    CHECK_INT(load("[a.b]\n" GOOD_BODY "just words\n"), 1);
    check_error("expected 'key = value'", "t.rules:6:1", 1);
}

static void continuation_lines_join_with_one_space(void)
{
    CHECK_INT(load("[a.b]\n"
                   "severity = error\n"
                   "regex = x\n"
                   "summary = A client\n"
                   "           refused   the\n"
                   "\tcertificate\n"
                   "# a comment does not end it\n"
                   "  again\n"
                   "remedy = r\n"
                   "program = NTLS,\n"
                   "    lunash\n"),
              0);
    CHECK_INT(rs.n, 1);
    if (rs.n != 1)
        return;
    CHECK_STR(rs.rules[0].summary, "A client refused   the certificate again");
    CHECK_INT(rs.rules[0].n_programs, 2);
    if (rs.rules[0].n_programs == 2)
        CHECK_STR(rs.rules[0].programs[1], "lunash");
}

static void one_line_keys_do_not_continue(void)
{
    CHECK_INT(load("[a.b]\nseverity = error\nregex = abc\n    def\nsummary = s\nremedy = r\n"), 1);
    check_error("'regex' is one line", "t.rules:4:5", 5);
    CHECK_INT(rs.n, 0);
}

static void blank_line_ends_a_continuation(void)
{
    /* After a blank line an indented key = value is a new key, not more summary. */
    CHECK_INT(load("[a.b]\nseverity = error\nregex = x\nsummary = s\n\n  remedy = r\n"), 0);
    CHECK_INT(rs.n, 1);
    if (rs.n == 1) {
        CHECK_STR(rs.rules[0].summary, "s");
        CHECK_STR(rs.rules[0].remedy, "r");
    }
}

static void broken_stanza_is_dropped_and_next_loads(void)
{
    CHECK_INT(load("[bad.one]\nseverity = nope\nregex = x\nsummary = s\nremedy = r\n"
                   "[good.one]\n" GOOD_BODY),
              1);
    CHECK_INT(rs.n, 1);
    CHECK(ruleset_find(&rs, "bad.one") == NULL);
    CHECK(ruleset_find(&rs, "good.one") != NULL);
}

static void every_error_is_collected(void)
{
    const char *text = "severity = error\n"                         /* 1: outside a rule */
                       "[a.one]\n"                                  /* 2 */
                       "severity = loud\n"                          /* 3: severity */
                       "regex = (\n"                                /* 4: bad regex */
                       "summary = s\n"                              /* 5 */
                       "remedy = r\n"                               /* 6 */
                       "[a.two]\n"                                  /* 7 */
                       "colour = red\n"                             /* 8: unknown key */
                       "severity = info\n"                          /* 9 */
                       "severity = info\n"                          /* 10: duplicate */
                       "regex = x\n"                                /* 11 */
                       "summary = s\n"                              /* 12 */
                       "remedy = r\n"                               /* 13 */
                       "[a.ok]\n" GOOD_BODY                         /* 14-18 */
                       "[Bad]\n" GOOD_BODY                          /* 19: bad id */
                       "[a.three]\n"                                /* 24: no remedy */
                       "severity = info\nregex = x\nsummary = s\n"; /* 25-27 */

    CHECK_INT(load(text), 7);
    CHECK_INT(errs.n, 7);
    check_error("outside a rule", "t.rules:1:1", 1);
    check_error("unknown severity", "t.rules:3:12", 12);
    check_error("bad regex", "t.rules:4:10", 10);
    check_error("unknown key", "t.rules:8:1", 1);
    check_error("duplicate key", "t.rules:10:1", 1);
    check_error("bad rule id", "t.rules:19:2", 2);
    check_error("has no 'remedy'", "t.rules:24", 0);
    CHECK_INT(rs.n, 1);
    CHECK(ruleset_find(&rs, "a.ok") != NULL);
}

static void stanza_with_a_line_error_is_still_checked_in_full(void)
{
    /* The unknown key breaks the stanza while it is read; its severity, pattern and missing
     * keys must still be reported, not only the first problem. */
    CHECK_INT(load("[hsm.battery-low]\n"
                   "severity = urgent\n"
                   "regex    = (unclosed\n"
                   "colour   = red\n"
                   "summary  = s\n"),
              4);
    check_error("unknown key 'colour'", "t.rules:4:1", 1);
    check_error("unknown severity 'urgent'", "t.rules:2:12", 12);
    check_error("bad regex", "t.rules:3:21", 21);
    check_error("has no 'remedy'", "t.rules:1", 0);
    CHECK_INT(rs.n, 0);
}

static void errors_accumulate_across_loads(void)
{
    CHECK_INT(load("[a.b]\nseverity = x\nregex = x\nsummary = s\nremedy = r\n"), 1);
    const char *second = "[c.d]\nseverity = y\nregex = x\nsummary = s\nremedy = r\n";
    CHECK_INT(ruleset_load_text(&rs, "u.rules", second, strlen(second), &errs), 1);
    CHECK_INT(errs.n, 2);
    if (errs.n == 2) {
        CHECK_STR(errs.v[0].where, "t.rules:2:12");
        CHECK_STR(errs.v[1].where, "u.rules:2:12");
    }
}

static void missing_file_is_an_error_not_a_crash(void)
{
    rule_errors_release(&errs);
    ruleset_release(&rs);
    ruleset_init(&rs);
    CHECK_INT(ruleset_load(&rs, "/nonexistent/dir/x.rules", &errs), 1);
    CHECK_INT(errs.n, 1);
    if (errs.n == 1)
        CHECK_STR(errs.v[0].where, "/nonexistent/dir/x.rules");
}

static void shipped_rules_load_cleanly(void)
{
    rule_errors_release(&errs);
    ruleset_release(&rs);
    ruleset_init(&rs);
    CHECK_INT(ruleset_load(&rs, HSMLOG_SOURCE_RULES_DIR, &errs), 0);
    for (size_t i = 0; i < errs.n; i++)
        printf("# %s: %s\n", errs.v[i].where, errs.v[i].msg);
    CHECK(rs.n > 10);
}

static void durations_parse_with_units(void)
{
    int64_t us = 0;
    CHECK_INT(rule_duration_parse("90s", &us), 0);
    CHECK_INT(us, INT64_C(90000000));
    CHECK_INT(rule_duration_parse("10m", &us), 0);
    CHECK_INT(us, INT64_C(600000000));
    CHECK_INT(rule_duration_parse("2h", &us), 0);
    CHECK_INT(us, INT64_C(7200000000));
    CHECK_INT(rule_duration_parse("7d", &us), 0);
    CHECK_INT(us, INT64_C(604800000000));
    CHECK_INT(rule_duration_parse("500ms", &us), 0);
    CHECK_INT(us, 500000);
    CHECK_INT(rule_duration_parse("10", &us), -1);
    CHECK_INT(rule_duration_parse("m", &us), -1);
    CHECK_INT(rule_duration_parse("-5m", &us), -1);
    CHECK_INT(rule_duration_parse("5w", &us), -1);
}

static void durations_stop_at_36500_days(void)
{
    int64_t us = 0;
    CHECK_INT(rule_duration_parse("36500d", &us), 0);
    CHECK_INT(us, RULE_DURATION_MAX_US);
    CHECK_INT(rule_duration_parse("876000h", &us), 0);
    CHECK_INT(rule_duration_parse("36501d", &us), -1);
    CHECK_INT(rule_duration_parse("876001h", &us), -1);
    CHECK_INT(rule_duration_parse("9223372036854775807ms", &us), -1);
    CHECK_INT(rule_duration_parse("106751991d", &us), -1);
}

static void incident_keys_are_read(void)
{
    CHECK_INT(load("[a.b]\n" GOOD_BODY "group-by = host, client_ip\ngap = 90s\n"
                   "threshold = 3 within 10m\nreset = good (?<client_ip>\\S+)\n"
                   "escalate = 5 a.c where client_ip = 10.0.0.1|10.0.0.2\n"
                   "caused-by = a.d within 1h same host, role\nlimit = 5\n"
                   "incident = {count} on {host}\n"
                   "[a.c]\nseverity = critical\nsummary = s\nremedy = r\n"
                   "[a.d]\n" GOOD_BODY
                   "[a.e]\nseverity = error\nsummary = s\nremedy = r\nafter = a.d\n"
                   "expect = back (up|again) within 15m\n"),
              0);
    CHECK_INT(ruleset_link(&rs, &errs), 0);
    const struct rule *r = ruleset_find(&rs, "a.b");
    CHECK(r != NULL);
    if (!r)
        return;
    CHECK_INT(r->inc.n_group_by, 2);
    CHECK_STR(r->inc.group_by[1], "client_ip");
    CHECK_INT(r->inc.gap_us, INT64_C(90000000));
    CHECK_INT(r->inc.threshold, 3);
    CHECK_INT(r->inc.threshold_us, INT64_C(600000000));
    CHECK(r->inc.reset_idx != SIZE_MAX);
    CHECK_INT(rs.rules[r->inc.reset_idx].role, RULE_ROLE_RESET);
    CHECK_INT(r->inc.n_escalations, 1);
    CHECK_INT(r->inc.escalations[0].count, 5);
    CHECK_STR(r->inc.escalations[0].target, "a.c");
    CHECK_INT(r->inc.escalations[0].n_where_values, 2);
    CHECK_STR(r->inc.escalations[0].where_values[1], "10.0.0.2");
    CHECK_INT(r->inc.n_causes, 1);
    CHECK_STR(r->inc.causes[0].rule_id, "a.d");
    CHECK_INT(r->inc.causes[0].within_us, INT64_C(3600000000));
    CHECK_INT(r->inc.causes[0].n_same, 2);
    CHECK_STR(r->inc.causes[0].same[1], "role");
    CHECK_INT(r->inc.limit, 5);
    const struct rule *x = ruleset_find(&rs, "a.e");
    CHECK(x != NULL);
    if (!x)
        return;
    CHECK_INT(x->role, RULE_ROLE_DERIVED);
    CHECK_INT(x->inc.expect_us, INT64_C(900000000));
    CHECK(x->inc.expect_idx != SIZE_MAX);
    CHECK_STR(rs.rules[x->inc.expect_idx].regex_src, "back (up|again)");
    CHECK_INT(ruleset_find(&rs, "a.c")->role, RULE_ROLE_DERIVED);
}

static void bad_incident_keys_are_reported(void)
{
    CHECK_INT(load("[a.b]\n" GOOD_BODY "gap = soon\nthreshold = 3 in 10m\n"
                   "escalate = many a.c\ncaused-by = a.d\n"),
              4);
    check_error("bad gap 'soon'", "t.rules:6:7", 7);
    check_error("bad threshold '3 in 10m'", "t.rules:7:13", 13);
    check_error("bad escalate 'many a.c'", "t.rules:8:12", 12);
    check_error("bad caused-by 'a.d'", "t.rules:9:13", 13);
    CHECK_INT(load("[a.e]\nseverity = error\nsummary = s\nremedy = r\nexpect = x within 1m\n"), 1);
    check_error("needs both 'after' and 'expect'", "t.rules:1", 0);
    CHECK_INT(load("[a.e]\nseverity = error\nsummary = s\nremedy = r\nafter = a.d\n"
                   "expect = (unclosed within 1m\n"),
              1);
    check_error("bad expect", "t.rules:6:19", 19);
}

/* Each at the line (and value column) of the reference, so that one an override added is
 * shown in the override's file. */
static void broken_references_are_reported_at_link(void)
{
    CHECK_INT(load("[a.b]\n" GOOD_BODY "escalate = 2 a.zz\nescalate = 3 a.c where role = x\n"
                   "caused-by = a.yy within 1h\n"
                   "[a.c]\nseverity = critical\nsummary = s\nremedy = r\n"
                   "[a.e]\nseverity = error\nsummary = s\nremedy = r\nafter = a.c\n"
                   "expect = x within 1m\n"),
              0);
    CHECK_INT(ruleset_link(&rs, &errs), 4);
    check_error("escalate names unknown rule 'a.zz'", "t.rules:6:12", 12);
    check_error("field 'role' is not in its group-by", "t.rules:7:12", 12);
    check_error("caused-by names unknown rule 'a.yy'", "t.rules:8:13", 13);
    check_error("after names 'a.c', which is not a rule with a regex", "t.rules:17:9", 9);
}

static void multi_line_tests_group_by_test_incidents(void)
{
    CHECK_INT(load("[a.b]\n" GOOD_BODY "test-log = one\ntest-log = two\ntest-incidents = a.b 1\n"
                   "test-log = three\ntest-incidents = a.b 0, a.c 1 open\n"),
              0);
    const struct rule *r = ruleset_find(&rs, "a.b");
    CHECK(r != NULL);
    if (!r)
        return;
    CHECK_INT(r->inc.n_seq_tests, 2);
    CHECK_INT(r->inc.seq_tests[0].n_lines, 2);
    CHECK_STR(r->inc.seq_tests[0].lines[1], "two");
    CHECK_INT(r->inc.seq_tests[1].n_lines, 1);
    CHECK_STR(r->inc.seq_tests[1].want, "a.b 0, a.c 1 open");
    CHECK_INT(load("[a.b]\n" GOOD_BODY "test-log = one\n"), 1);
    check_error("not followed by a 'test-incidents'", "t.rules:6:12", 12);
}

static void invalid_utf8_is_reported_at_its_byte(void)
{
    /* Latin-1 summary, a stray 0xff in the regex, a NUL in the remedy; a comment may be bytes. */
    static const char text[] = "# caf\xe9 comment is fine\n"
                               "[x.a]\nseverity = error\nregex = ab\xff\nsummary = caf\xe9\n"
                               "remedy = r\0x\n"
                               "[x.b]\nseverity = error\nregex = ok\nsummary = s\nremedy = r\n";
    rule_errors_release(&errs);
    ruleset_release(&rs);
    ruleset_init(&rs);
    CHECK(ruleset_load_text(&rs, "t.rules", text, sizeof(text) - 1, &errs) > 0);
    CHECK_INT(find_error("invalid UTF-8 (byte 0xff)") >= 0, 1);
    check_error("invalid UTF-8 (byte 0xff)", "t.rules:4:11", 11);
    check_error("invalid UTF-8 (byte 0xe9)", "t.rules:5:14", 14);
    check_error("invalid UTF-8 (byte 0x00)", "t.rules:6:11", 11);
    CHECK(ruleset_find(&rs, "x.a") == NULL);
    CHECK(ruleset_find(&rs, "x.b") != NULL); /* the next stanza still loads */
}

static void many_rules_load_and_duplicates_are_still_found(void)
{
    /* 20000 rules (the duplicate check is a hash set, not a scan of every earlier rule), the
     * last one a duplicate of the first. */
    struct buf text;
    buf_init(&text, 0);
    char one[128];
    for (int i = 0; i < 20000; i++) {
        int n = snprintf(one, sizeof(one),
                         "[gen.r%d]\nseverity = info\nregex = tok%dx\nsummary = s\nremedy = r\n", i,
                         i);
        CHECK_INT(buf_add(&text, one, (size_t)n), 0);
    }
    static const char dup[] = "[gen.r0]\nseverity = info\nregex = again\nsummary = s\nremedy = r\n";
    CHECK_INT(buf_add(&text, dup, sizeof(dup) - 1), 0);
    rule_errors_release(&errs);
    ruleset_release(&rs);
    ruleset_init(&rs);
    CHECK_INT(ruleset_load_text(&rs, "t.rules", text.data, text.len, &errs), 1);
    check_error("duplicate rule id 'gen.r0' (first defined at t.rules:1)", "t.rules:100001", 0);
    CHECK_INT(rs.n, 20000);
    CHECK(ruleset_find(&rs, "gen.r19999") != NULL);
    buf_release(&text);
}

/* ---- site overrides ---------------------------------------------------------------------- */

#define PACK                                                                                  \
    "[a.b]\nseverity = error\nprogram = NTLS\nregex = bad (?<what>thing)\nexclude = benign\n" \
    "summary = s\nremedy = r\nrefs = pack ref\ntest = NTLS[1]: bad thing\n"                   \
    "test-no = NTLS[1]: good thing\n"                                                         \
    "[a.c]\nseverity = warning\nregex = other thing\nsummary = s2\nremedy = r2\n"

/* Loads text as a site file named name on top of what is loaded; returns its error count. */
static int site(const char *name, const char *text)
{
    return ruleset_load_site_text(&rs, name, text, strlen(text), &errs);
}

static void override_changes_only_the_keys_it_names(void)
{
    CHECK_INT(load(PACK), 0);
    CHECK_INT(site("s.rules", "# quieter here\n[a.b]\nseverity = warning\n"), 0);
    const struct rule *r = ruleset_find(&rs, "a.b");
    CHECK(r != NULL);
    if (!r)
        return;
    CHECK_INT(r->severity, SEV_WARNING);
    CHECK_STR(r->regex_src, "bad (?<what>thing)");
    CHECK_STR(r->summary, "s");
    CHECK_STR(r->remedy, "r");
    CHECK_INT(r->n_programs, 1);
    CHECK_INT(r->n_exclude, 1);
    CHECK_INT(r->n_tests, 2);
    CHECK(!r->disabled);
    /* Where it comes from: the pack's stanza, then the override and what it named. */
    CHECK_STR(r->file, "t.rules");
    CHECK_INT(r->line, 1);
    CHECK_STR(r->overrides, "s.rules:2 (severity)");
    CHECK(ruleset_find(&rs, "a.c")->overrides == NULL);
    CHECK_INT(ruleset_link(&rs, &errs), 0);
    CHECK_INT(errs.n, 0);
}

static void override_keys_are_listed_in_written_order(void)
{
    CHECK_INT(load(PACK), 0);
    CHECK_INT(site("s.rules", "[a.b]\nenabled = no\nseverity = info\nexclude = x\n"), 0);
    CHECK_STR(ruleset_find(&rs, "a.b")->overrides, "s.rules:1 (enabled, severity, exclude)");
    CHECK(ruleset_find(&rs, "a.b")->disabled);
    CHECK_INT(ruleset_find(&rs, "a.b")->severity, SEV_INFO);
}

static void later_site_file_beats_earlier(void)
{
    CHECK_INT(load(PACK), 0);
    CHECK_INT(site("/etc/hsmlog/rules.d/site.rules", "[a.b]\nseverity = critical\nenabled = no\n"),
              0);
    CHECK_INT(site("/home/u/.config/hsmlog/rules.d/me.rules", "[a.b]\nseverity = notice\n"), 0);
    CHECK_INT(site("/home/u/.config/hsmlog/rules.d/zz.rules", "[a.b]\nenabled = yes\n"), 0);
    const struct rule *r = ruleset_find(&rs, "a.b");
    CHECK_INT(r->severity, SEV_NOTICE);
    CHECK(!r->disabled);
    CHECK_STR(r->overrides, "/etc/hsmlog/rules.d/site.rules:1 (severity, enabled); "
                            "/home/u/.config/hsmlog/rules.d/me.rules:1 (severity); "
                            "/home/u/.config/hsmlog/rules.d/zz.rules:1 (enabled)");
}

static void repeatable_keys_append_and_an_empty_value_clears(void)
{
    CHECK_INT(load(PACK), 0);
    CHECK_INT(site("s.rules", "[a.b]\nexclude = CKR_BUFFER_TOO_SMALL\nrefs = site runbook\n"
                              "test-no = NTLS[1]: bad thing CKR_BUFFER_TOO_SMALL\n"),
              0);
    const struct rule *r = ruleset_find(&rs, "a.b");
    CHECK_INT(r->n_exclude, 2);
    if (r->n_exclude == 2) {
        CHECK_STR(r->exclude_src[0], "benign");
        CHECK_STR(r->exclude_src[1], "CKR_BUFFER_TOO_SMALL");
    }
    CHECK_STR(r->refs, "pack ref\nsite runbook");
    CHECK_INT(r->n_tests, 3);
    if (r->n_tests == 3) {
        CHECK_STR(r->tests[2].file, "s.rules");
        CHECK_INT(r->tests[2].src_line, 4);
        CHECK_STR(r->tests[0].file, "t.rules");
    }
    /* An empty value drops what came before it, the stanza's later values append again. */
    CHECK_INT(site("u.rules", "[a.b]\nexclude =\nexclude = only-this\nrefs =\nprogram =\n"), 0);
    r = ruleset_find(&rs, "a.b");
    CHECK_INT(r->n_exclude, 1);
    if (r->n_exclude == 1)
        CHECK_STR(r->exclude_src[0], "only-this");
    CHECK(r->refs == NULL);
    CHECK_INT(r->n_programs, 0);
    CHECK_INT(r->n_tests, 3);
}

static void required_keys_and_regex_cannot_be_cleared(void)
{
    CHECK_INT(load(PACK), 0);
    CHECK_INT(site("s.rules", "[a.b]\nsummary =\nregex =\n"), 2);
    check_error("'summary' cannot be cleared", "s.rules:2:10", 10);
    check_error("'regex' cannot be cleared; turn the rule off with 'enabled = no'", "s.rules:3:8",
                8);
    CHECK_STR(ruleset_find(&rs, "a.b")->summary, "s");
    CHECK(ruleset_find(&rs, "a.b")->overrides == NULL);
}

static void override_with_a_bad_regex_is_reported_and_dropped(void)
{
    CHECK_INT(load(PACK), 0);
    CHECK_INT(site("site.rules", "\n[a.b]\nseverity = info\nregex = bad (thing\n"), 1);
    check_error("bad regex: missing closing parenthesis", "site.rules:4:19", 19);
    CHECK(errs.v[0].text && strcmp(errs.v[0].text, "regex = bad (thing") == 0);
    /* The rule stays as the pack made it: no half-applied override. */
    const struct rule *r = ruleset_find(&rs, "a.b");
    CHECK_INT(r->severity, SEV_ERROR);
    CHECK_STR(r->regex_src, "bad (?<what>thing)");
    CHECK(r->overrides == NULL);
    CHECK_INT(site("site.rules", "[a.b]\nexclude = [z-a]\nenabled = maybe\n"), 2);
    check_error("bad exclude", "site.rules:2:14", 14); /* PCRE2 points past the range */
    check_error("bad enabled 'maybe' (use yes or no)", "site.rules:3:11", 11);
}

static void override_of_an_unknown_id_is_an_error(void)
{
    CHECK_INT(load(PACK), 0);
    CHECK_INT(site("site.rules", "# typo\n[a.bb]\nenabled = no\n"), 1);
    check_error("no rule 'a.bb' to override (did you mean 'a.b'?)", "site.rules:2:2", 2);
    CHECK(errs.v[0].text && strcmp(errs.v[0].text, "[a.bb]") == 0);
    CHECK_INT(site("site.rules", "[zz.nothing-like-it]\nseverity = info\n"), 1);
    check_error("no rule 'zz.nothing-like-it' to override; a new rule needs", "site.rules:1:2", 2);
    CHECK(ruleset_find(&rs, "zz.nothing-like-it") == NULL);
}

static void new_site_rule_is_checked_like_the_packs(void)
{
    CHECK_INT(load(PACK), 0);
    CHECK_INT(site("site.rules", "[site.x]\nseverity = error\nregex = local (thing\n"
                                 "summary = s\nremedy = r\n"),
              1);
    check_error("bad regex", "site.rules:3:21", 21);
    CHECK_INT(site("site.rules", "[site.y]\nseverity = error\nregex = local thing\n"
                                 "summary =\nremedy = r\n"),
              1);
    check_error("empty value for 'summary'", "site.rules:4:10", 10);
    CHECK(ruleset_find(&rs, "site.y") == NULL);
    CHECK_INT(site("site.rules", "[site.z]\nseverity = error\nregex = local thing\n"
                                 "summary = s\nremedy = r\n[site.z]\nseverity = info\n"),
              0);
    const struct rule *r = ruleset_find(&rs, "site.z");
    CHECK(r && r->severity == SEV_INFO);
    CHECK(r && r->overrides && strcmp(r->overrides, "site.rules:6 (severity)") == 0);
    /* The pack itself still refuses an id twice. */
    const char *dup = "[a.c]\nseverity = info\nregex = x\nsummary = s\nremedy = r\n";
    CHECK_INT(ruleset_load_text(&rs, "pack2.rules", dup, strlen(dup), &errs), 1);
    check_error("duplicate rule id 'a.c'", "pack2.rules:1", 0);
}

static void override_rebuilds_reset_and_keeps_indexes(void)
{
    CHECK_INT(load("[a.b]\nseverity = error\nprogram = lunash\nregex = bad login\n"
                   "reset = good login\nsummary = s\nremedy = r\n"
                   "[a.c]\nseverity = error\nprogram = NTLS\nregex = other\nreset = fine\n"
                   "summary = s\nremedy = r\n"),
              0);
    CHECK_INT(rs.n, 4); /* a.b, a.b#reset, a.c, a.c#reset */
    CHECK_INT(site("s.rules", "[a.b]\nreset = login ok\nprogram = lunash, sshd\n"), 0);
    const struct rule *b = ruleset_find(&rs, "a.b"), *c = ruleset_find(&rs, "a.c");
    CHECK_INT(rs.n, 4);
    CHECK(b == &rs.rules[0]);
    const struct rule *br = &rs.rules[b->inc.reset_idx], *cr = &rs.rules[c->inc.reset_idx];
    CHECK_STR(br->regex_src, "login ok");
    CHECK_INT(br->owner, 0);
    CHECK_INT(br->n_programs, 2);
    CHECK_STR(cr->regex_src, "fine");
    CHECK(&rs.rules[cr->owner] == c);
    /* Cleared: its internal rule goes, and the other rule's indexes follow. */
    CHECK_INT(site("t2.rules", "[a.b]\nreset =\n"), 0);
    b = ruleset_find(&rs, "a.b");
    c = ruleset_find(&rs, "a.c");
    CHECK_INT(rs.n, 3);
    CHECK(b->inc.reset_idx == SIZE_MAX);
    CHECK(c->inc.reset_idx < rs.n && rs.rules[c->inc.reset_idx].owner == (size_t)(c - rs.rules));
    CHECK(ruleset_find(&rs, "a.b#reset") == NULL);
    CHECK_INT(ruleset_link(&rs, &errs), 0);
}

static void multi_line_tests_of_an_override_pair_in_its_own_file(void)
{
    CHECK_INT(load("[a.b]\n" GOOD_BODY "test-log = one\ntest-log = two\ntest-incidents = a.b 1\n"),
              0);
    /* Line 1 and 2 of the site file come after the pack's lines 6 to 8. */
    CHECK_INT(site("s.rules", "[a.b]\ntest-log = three\ntest-incidents = a.b 2\n"), 0);
    const struct rule *r = ruleset_find(&rs, "a.b");
    CHECK_INT(r->inc.n_seq_tests, 2);
    if (r->inc.n_seq_tests == 2) {
        CHECK_INT(r->inc.seq_tests[0].n_lines, 2);
        CHECK_INT(r->inc.seq_tests[1].n_lines, 1);
        CHECK_STR(r->inc.seq_tests[1].file, "s.rules");
        CHECK_INT(r->inc.seq_tests[1].src_line, 3);
    }
    CHECK_INT(site("u.rules", "[a.b]\ntest-incidents =\n"), 0);
    CHECK_INT(ruleset_find(&rs, "a.b")->inc.n_seq_tests, 0);
}

static bool has_warning(const char *needle)
{
    int i = find_error(needle);
    return i >= 0 && errs.v[i].warning;
}

static void references_to_disabled_rules_link_with_warnings(void)
{
    CHECK_INT(load("[a.b]\n" GOOD_BODY "escalate = 2 a.near\ncaused-by = a.cause within 1h\n"
                   "[a.near]\nseverity = critical\nsummary = s\nremedy = r\n"
                   "[a.cause]\n" GOOD_BODY "[a.hang]\nseverity = error\nsummary = s\nremedy = r\n"
                   "after = a.cause\nexpect = up within 15m\n"),
              0);
    CHECK_INT(site("s.rules", "[a.near]\nenabled = no\n[a.cause]\nenabled = no\n"), 0);
    CHECK_INT(ruleset_link(&rs, &errs), 0);
    CHECK(has_warning("rule 'a.b' escalates to 'a.near', which is disabled"));
    CHECK(has_warning("rule 'a.b' is caused by 'a.cause', which is disabled"));
    CHECK(has_warning("rule 'a.hang' follows 'a.cause', which is disabled: it cannot fire"));
    int i = find_error("escalates to 'a.near'");
    CHECK(i >= 0 && strcmp(errs.v[i].where, "t.rules:6") == 0);
    /* The escalation is gone from the rule in use; the drafts went with linking. */
    const struct rule *b = ruleset_find(&rs, "a.b");
    CHECK_INT(b->inc.n_escalations, 0);
    CHECK(b->draft == NULL);
    CHECK(rs.texts == NULL);

    /* A disabled derived rule builds no expectation, and its pattern is off too. */
    CHECK_INT(load("[a.cause]\n" GOOD_BODY "[a.hang]\nseverity = error\nsummary = s\n"
                   "remedy = r\nafter = a.cause\nexpect = up within 15m\n"),
              0);
    CHECK_INT(site("s.rules", "[a.hang]\nenabled = no\n"), 0);
    CHECK_INT(ruleset_link(&rs, &errs), 0);
    const struct rule *hang = ruleset_find(&rs, "a.hang");
    CHECK(hang->disabled && rule_after_first(hang) == SIZE_MAX);
    CHECK(rs.rules[hang->inc.expect_idx].disabled);
    CHECK_INT(errs.n, 0);

    /* Raised only by a disabled rule: it cannot fire, and rules check says so. */
    CHECK_INT(load("[a.b]\n" GOOD_BODY "escalate = 2 a.near\n"
                   "[a.near]\nseverity = critical\nsummary = s\nremedy = r\n"),
              0);
    CHECK_INT(site("s.rules", "[a.b]\nenabled = no\n"), 0);
    CHECK_INT(ruleset_link(&rs, &errs), 0);
    CHECK(has_warning("rule 'a.near' is raised only by disabled rules: it cannot fire"));
}

static void after_takes_several_triggers(void)
{
    /* Both names resolve, in the order written; the first builds the incidents. */
    CHECK_INT(load("[a.fail]\n" GOOD_BODY "[a.down]\n" GOOD_BODY "[a.hang]\nseverity = error\n"
                   "summary = s\nremedy = r\nafter = a.fail, a.down\nexpect = up within 30m\n"),
              0);
    CHECK_INT(ruleset_link(&rs, &errs), 0);
    const struct rule *hang = ruleset_find(&rs, "a.hang");
    size_t fail = (size_t)(ruleset_find(&rs, "a.fail") - rs.rules);
    size_t down = (size_t)(ruleset_find(&rs, "a.down") - rs.rules);
    CHECK_INT(hang->inc.n_after, 2);
    CHECK(rule_after_first(hang) == fail);
    CHECK(rule_follows(hang, fail) && rule_follows(hang, down));
    CHECK(!rule_follows(ruleset_find(&rs, "a.down"), fail));
    CHECK_INT(errs.n, 0);

    /* One trigger disabled: the other still raises it. All disabled: it cannot fire. */
    CHECK_INT(load("[a.fail]\n" GOOD_BODY "[a.down]\n" GOOD_BODY "[a.hang]\nseverity = error\n"
                   "summary = s\nremedy = r\nafter = a.fail, a.down\nexpect = up within 30m\n"),
              0);
    CHECK_INT(site("s.rules", "[a.down]\nenabled = no\n"), 0);
    CHECK_INT(ruleset_link(&rs, &errs), 0);
    CHECK(has_warning("rule 'a.hang' follows 'a.down', which is disabled: no new finding of it"));
    CHECK(find_error("it cannot fire") < 0);
    CHECK_INT(load("[a.fail]\n" GOOD_BODY "[a.down]\n" GOOD_BODY "[a.hang]\nseverity = error\n"
                   "summary = s\nremedy = r\nafter = a.fail, a.down\nexpect = up within 30m\n"),
              0);
    CHECK_INT(site("s.rules", "[a.down]\nenabled = no\n[a.fail]\nenabled = no\n"), 0);
    CHECK_INT(ruleset_link(&rs, &errs), 0);
    CHECK(has_warning("rule 'a.hang' follows 'a.fail', which is disabled: it cannot fire"));

    /* An unknown second name is an error of its own. */
    CHECK_INT(load("[a.fail]\n" GOOD_BODY "[a.hang]\nseverity = error\nsummary = s\n"
                   "remedy = r\nafter = a.fail, a.gone\nexpect = up within 30m\n"),
              0);
    CHECK_INT(ruleset_link(&rs, &errs), 1);
    check_error("after names 'a.gone', which is not a rule with a regex", "t.rules:10:9", 9);
}

static void link_errors_in_an_override_name_its_file(void)
{
    CHECK_INT(load(PACK), 0);
    CHECK_INT(site("s.rules", "[a.b]\ncaused-by = a.gone within 1h\n"), 0);
    CHECK_INT(ruleset_link(&rs, &errs), 1);
    check_error("caused-by names unknown rule 'a.gone'", "s.rules:2:13", 13);
}

static void site_directory_may_be_missing_or_empty(void)
{
    CHECK_INT(load(PACK), 0);
    CHECK_INT(ruleset_load_site(&rs, "/nonexistent/hsmlog/rules.d", &errs), 0);
    CHECK_INT(ruleset_load_site(&rs, "/", &errs), 0); /* a directory without *.rules */
    CHECK_INT(ruleset_load_site(&rs, HSMLOG_SOURCE_RULES_DIR "/auth.rules", &errs), 1);
    check_error("not a directory", HSMLOG_SOURCE_RULES_DIR "/auth.rules", 0);
}

int main(void)
{
    ruleset_init(&rs);
    TAP_RUN(good_rule_loads_with_every_field);
    TAP_RUN(optional_keys_may_be_absent);
    TAP_RUN(severity_aliases_and_case_are_accepted);
    TAP_RUN(crlf_rule_file_loads);
    TAP_RUN(unknown_key_is_reported_at_its_column);
    TAP_RUN(key_outside_stanza_is_reported);
    TAP_RUN(duplicate_key_is_reported_at_second_occurrence);
    TAP_RUN(repeatable_keys_may_repeat);
    TAP_RUN(duplicate_id_is_reported_at_second_header);
    TAP_RUN(duplicate_id_across_files_is_reported);
    TAP_RUN(missing_required_keys_are_each_reported_at_header);
    TAP_RUN(unknown_severity_is_reported_at_value);
    TAP_RUN(bad_regex_is_reported_at_pcre2_offset);
    TAP_RUN(bad_exclude_is_reported_too);
    TAP_RUN(bad_id_is_reported_at_id);
    TAP_RUN(good_ids_are_accepted);
    TAP_RUN(empty_value_is_reported);
    TAP_RUN(line_without_equals_is_reported);
    TAP_RUN(continuation_lines_join_with_one_space);
    TAP_RUN(one_line_keys_do_not_continue);
    TAP_RUN(blank_line_ends_a_continuation);
    TAP_RUN(broken_stanza_is_dropped_and_next_loads);
    TAP_RUN(every_error_is_collected);
    TAP_RUN(stanza_with_a_line_error_is_still_checked_in_full);
    TAP_RUN(errors_accumulate_across_loads);
    TAP_RUN(missing_file_is_an_error_not_a_crash);
    TAP_RUN(shipped_rules_load_cleanly);
    TAP_RUN(durations_parse_with_units);
    TAP_RUN(durations_stop_at_36500_days);
    TAP_RUN(incident_keys_are_read);
    TAP_RUN(bad_incident_keys_are_reported);
    TAP_RUN(broken_references_are_reported_at_link);
    TAP_RUN(multi_line_tests_group_by_test_incidents);
    TAP_RUN(invalid_utf8_is_reported_at_its_byte);
    TAP_RUN(many_rules_load_and_duplicates_are_still_found);
    TAP_RUN(override_changes_only_the_keys_it_names);
    TAP_RUN(override_keys_are_listed_in_written_order);
    TAP_RUN(later_site_file_beats_earlier);
    TAP_RUN(repeatable_keys_append_and_an_empty_value_clears);
    TAP_RUN(required_keys_and_regex_cannot_be_cleared);
    TAP_RUN(override_with_a_bad_regex_is_reported_and_dropped);
    TAP_RUN(override_of_an_unknown_id_is_an_error);
    TAP_RUN(new_site_rule_is_checked_like_the_packs);
    TAP_RUN(override_rebuilds_reset_and_keeps_indexes);
    TAP_RUN(multi_line_tests_of_an_override_pair_in_its_own_file);
    TAP_RUN(references_to_disabled_rules_link_with_warnings);
    TAP_RUN(after_takes_several_triggers);
    TAP_RUN(link_errors_in_an_override_name_its_file);
    TAP_RUN(site_directory_may_be_missing_or_empty);
    rule_errors_release(&errs);
    ruleset_release(&rs);
    return tap_done();
}
