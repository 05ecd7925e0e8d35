/* Unit tests for rule_file: a good stanza loads with every field; each class of error is
 * reported with the right file:line(:col); continuation lines join with one space; a broken
 * stanza is dropped while the next good one loads; and every error is collected. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <string.h>

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
    CHECK_STR(r->exclude_src, "CKR_OK");
    CHECK(r->exclude != NULL);
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
    CHECK(rs.rules[0].exclude == NULL);
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
    rule_errors_release(&errs);
    ruleset_release(&rs);
    return tap_done();
}
