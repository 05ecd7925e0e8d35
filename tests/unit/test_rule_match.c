/* Unit tests for rule_match: the program filter, exclude patterns, named captures, hit order,
 * the required-literal extraction on chosen pattern shapes, and the property the prefilter
 * rests on: for every pattern and a subject it matches, the extracted literal (when there is
 * one) occurs in the subject, some literal of the literal set occurs in it, and the full
 * matcher (prefilter included) still fires. */
#include <strings.h>

#include "parse.h"
#include "rule_match.h"
#include "tap.h"

static struct ruleset rs;
static struct matcher m; /* over rs, set up again at each prepare */

/* Prepares rs and sets up m over it. */
static void prepare(void)
{
    struct hl_err err;
    matcher_release(&m);
    CHECK_INT(ruleset_prepare(&rs, &err), 0);
    CHECK_INT(matcher_init(&m, &rs, &err), 0);
}

/* Loads text as the only rule file and prepares the ruleset; returns the error count. */
static int setup(const char *text)
{
    struct rule_errors errs = { 0 };
    matcher_release(&m);
    ruleset_release(&rs);
    ruleset_init(&rs);
    int r = ruleset_load_text(&rs, "t.rules", text, strlen(text), &errs);
    for (size_t i = 0; i < errs.n; i++)
        printf("# %s: %s\n", errs.v[i].where, errs.v[i].msg);
    rule_errors_release(&errs);
    prepare();
    return r;
}

static struct record rec_of(const char *program, const char *message)
{
    return (struct record){
        .format = FMT_BARE,
        .pri = -1,
        .program = strv_from_cstr(program),
        .message = strv_from_cstr(message),
        .raw = strv_from_cstr(message),
    };
}

static bool matches(const char *id, const char *program, const char *message)
{
    const struct rule *r = ruleset_find(&rs, id);
    CHECK(r != NULL);
    if (!r)
        return false;
    struct record rec = rec_of(program, message);
    return matcher_matches(&m, r, &rec);
}

static void program_filter_is_case_insensitive(void)
{
    CHECK_INT(setup("[ntls.a]\nseverity = error\nprogram = NTLS, lunash\n"
                    "regex = secure channel\nsummary = s\nremedy = r\n"
                    "[any.a]\nseverity = error\nregex = secure channel\nsummary = s\nremedy = r\n"),
              0);
    CHECK(matches("ntls.a", "NTLS", "no secure channel"));
    CHECK(matches("ntls.a", "ntls", "no secure channel"));
    CHECK(matches("ntls.a", "NtLs", "no secure channel"));
    CHECK(matches("ntls.a", "LUNASH", "no secure channel"));
    CHECK(!matches("ntls.a", "sshd", "no secure channel"));
    CHECK(!matches("ntls.a", "NTLSX", "no secure channel"));
    CHECK(!matches("ntls.a", "", "no secure channel"));
    /* Without a program key every line counts, headerless ones included. */
    CHECK(matches("any.a", "", "no secure channel"));
    CHECK(matches("any.a", "sshd", "no secure channel"));
    CHECK(!matches("any.a", "NTLS", "no channel"));
}

static void exclude_pattern_suppresses_match(void)
{
    CHECK_INT(setup("[codes.ckr]\nseverity = error\nregex = \\bCKR_[A-Z_]+\n"
                    "exclude = \\bCKR_OK\\b\nsummary = s\nremedy = r\n"),
              0);
    CHECK(matches("codes.ckr", "app", "rv CKR_PIN_INCORRECT"));
    CHECK(!matches("codes.ckr", "app", "rv CKR_OK"));
    CHECK(!matches("codes.ckr", "app", "rv CKR_OK then CKR_PIN_INCORRECT"));
    CHECK(matches("codes.ckr", "app", "rv CKR_OKAY"));
}

static void named_captures_are_returned(void)
{
    CHECK_INT(setup("[ntls.peer]\nseverity = info\n"
                    "regex = client : (?<ip>[0-9.]+)/(?<port>\\d+)(?<extra> X)?\n"
                    "summary = s\nremedy = r\n"),
              0);
    const struct rule *r = ruleset_find(&rs, "ntls.peer");
    struct record rec = rec_of("NTLS", "info : 0 : with client : 10.1.2.3/5544 : RC_X");
    CHECK(r && matcher_matches(&m, r, &rec));
    if (!r)
        return;
    struct rule_capture caps[4];
    size_t n = matcher_captures(&m, r, rec.message, caps, 4);
    /* "extra" did not take part in the match, so it is left out. */
    CHECK_INT(n, 2);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(caps[i].name, "ip") == 0)
            CHECK_STRN(caps[i].value.p, caps[i].value.n, "10.1.2.3");
        else if (strcmp(caps[i].name, "port") == 0)
            CHECK_STRN(caps[i].value.p, caps[i].value.n, "5544");
        else
            CHECK(!"unexpected capture name");
    }
    CHECK_INT(matcher_captures(&m, r, rec.message, caps, 1), 1);
}

struct hits {
    char ids[8][32];
    size_t n;
    int stop_after; /* return -1 from the callback after this many hits; 0 never */
    char ip[32];    /* the "ip" capture seen inside the callback */
};

static int on_hit(void *ctx, const struct rule *rule, const struct record *rec)
{
    struct hits *h = ctx;
    if (h->n < 8)
        snprintf(h->ids[h->n], sizeof(h->ids[0]), "%s", rule->id);
    h->n++;
    struct rule_capture caps[4];
    size_t n = matcher_captures(&m, rule, rec->message, caps, 4);
    for (size_t i = 0; i < n; i++)
        if (strcmp(caps[i].name, "ip") == 0)
            snprintf(h->ip, sizeof(h->ip), "%.*s", (int)caps[i].value.n, caps[i].value.p);
    return h->stop_after && (int)h->n >= h->stop_after ? HL_EUSAGE : 0;
}

static void ruleset_match_calls_hit_in_load_order(void)
{
    CHECK_INT(setup("[z.first]\nseverity = info\nregex = channel\nsummary = s\nremedy = r\n"
                    "[a.second]\nseverity = info\nregex = (?<ip>\\d+\\.\\d+\\.\\d+\\.\\d+)\n"
                    "summary = s\nremedy = r\n"
                    "[m.none]\nseverity = info\nregex = nothing here\nsummary = s\nremedy = r\n"
                    "[b.third]\nseverity = info\nregex = (?i)SECURE\nsummary = s\nremedy = r\n"),
              0);
    struct record rec = rec_of("NTLS", "secure channel with client : 10.1.2.3/5544");
    struct hits h = { .n = 0 };
    CHECK_INT(matcher_match(&m, &rec, on_hit, &h), 0);
    CHECK_INT(h.n, 3);
    CHECK_STR(h.ids[0], "z.first");
    CHECK_STR(h.ids[1], "a.second");
    CHECK_STR(h.ids[2], "b.third");
    CHECK_STR(h.ip, "10.1.2.3");

    struct hits stop = { .stop_after = 1 };
    CHECK_INT(matcher_match(&m, &rec, on_hit, &stop), HL_EUSAGE);
    CHECK_INT(stop.n, 1);
}

/* Loads pack, then site as a site override file, links and prepares; returns the errors. */
static int setup_site(const char *pack, const char *site)
{
    struct rule_errors errs = { 0 };
    matcher_release(&m);
    ruleset_release(&rs);
    ruleset_init(&rs);
    int r = ruleset_load_text(&rs, "t.rules", pack, strlen(pack), &errs);
    if (r >= 0)
        r += ruleset_load_site_text(&rs, "site.rules", site, strlen(site), &errs);
    if (r >= 0)
        r += ruleset_link(&rs, &errs);
    for (size_t i = 0; i < errs.n; i++)
        printf("# %s: %s\n", errs.v[i].where, errs.v[i].msg);
    rule_errors_release(&errs);
    prepare();
    return r;
}

static void every_exclude_runs_after_the_regex_and_keeps_its_captures(void)
{
    CHECK_INT(setup_site("[codes.ckr]\nseverity = warning\n"
                         "regex = (?<ip>\\d+\\.\\d+\\.\\d+\\.\\d+) .*\\bCKR_[A-Z_]+\n"
                         "exclude = \\bCKR_OK\\b\nsummary = s\nremedy = r\n",
                         "[codes.ckr]\nexclude = (CKR)_(BUFFER)_TOO_SMALL\n"
                         "exclude = \\b(CKR)_(ATTRIBUTE_TYPE_INVALID)\\b\n"),
              0);
    struct record rec = rec_of("app", "10.1.2.3 C_Sign: CKR_PIN_INCORRECT");
    struct hits h = { .n = 0 };
    CHECK_INT(matcher_match(&m, &rec, on_hit, &h), 0);
    CHECK_INT(h.n, 1);
    /* The excludes ran (and failed) after the regex: its captures are still there. */
    CHECK_STR(h.ip, "10.1.2.3");
    CHECK(!matches("codes.ckr", "app", "10.1.2.3 rv CKR_BUFFER_TOO_SMALL"));
    CHECK(!matches("codes.ckr", "app", "10.1.2.3 rv CKR_ATTRIBUTE_TYPE_INVALID"));
    CHECK(!matches("codes.ckr", "app", "10.1.2.3 rv CKR_OK"));
    CHECK(matches("codes.ckr", "app", "10.1.2.3 rv CKR_DEVICE_ERROR"));
}

static void disabled_rule_matches_nothing(void)
{
    CHECK_INT(setup_site("[a.off]\nseverity = info\nregex = channel\nreset = good\n"
                         "summary = s\nremedy = r\n"
                         "[a.on]\nseverity = info\nregex = channel\nsummary = s\nremedy = r\n",
                         "[a.off]\nenabled = no\n"),
              0);
    struct record rec = rec_of("NTLS", "secure channel good");
    struct hits h = { .n = 0 };
    CHECK_INT(matcher_match(&m, &rec, on_hit, &h), 0);
    CHECK_INT(h.n, 1); /* neither a.off nor its reset pattern */
    CHECK_STR(h.ids[0], "a.on");
    CHECK(!matches("a.off", "NTLS", "secure channel"));
    CHECK(matches("a.on", "NTLS", "secure channel"));
}

static void prefilter_handles_overlapping_literals_of_mixed_case(void)
{
    /* "abc" (case-sensitive) is inside the longer case-insensitive "zabcz": the prefilter's
     * alternation alone would report only the longer one at that position. */
    CHECK_INT(setup("[t.cs]\nseverity = info\nregex = abc\nsummary = s\nremedy = r\n"
                    "[t.ic]\nseverity = info\nregex = (?i)zabcz\nsummary = s\nremedy = r\n"
                    "[t.cs2]\nseverity = info\nregex = ZABCZ\nsummary = s\nremedy = r\n"
                    "[t.ic2]\nseverity = info\nregex = (?i)abc\nsummary = s\nremedy = r\n"),
              0);
    CHECK(matches("t.cs", "", "zabcz"));
    CHECK(matches("t.ic", "", "zabcz"));
    CHECK(!matches("t.cs2", "", "zabcz"));
    CHECK(matches("t.ic2", "", "zabcz"));
    CHECK(!matches("t.cs", "", "ZABCZ"));
    CHECK(matches("t.ic", "", "ZABCZ"));
    CHECK(matches("t.cs2", "", "ZABCZ"));
    CHECK(matches("t.ic2", "", "ZABCZ"));
    CHECK(matches("t.ic2", "", "xxAbC"));
}

/* Builds n rules "m.r<i>", rule i with program "prog<i>" (when with_program) and pattern
 * "needle<i>x", loads and prepares them. Returns the error count, -1 when the text is too big. */
static int setup_many(size_t n, bool with_program)
{
    size_t cap = n * 128, used = 0;
    char *text = malloc(cap);
    if (!text)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char prog[48] = "";
        if (with_program)
            snprintf(prog, sizeof(prog), "program = prog%zu\n", i);
        int w = snprintf(text + used, cap - used,
                         "[m.r%zu]\nseverity = info\n%sregex = needle%zux\nsummary = s\n"
                         "remedy = r\n",
                         i, prog, i);
        if (w < 0 || (size_t)w >= cap - used) {
            free(text);
            return -1;
        }
        used += (size_t)w;
    }
    int r = setup(text);
    free(text);
    return r;
}

static void program_filter_works_past_64_program_names(void)
{
    /* Only 64 names get a bit in program_mask; the others are compared by name. */
    CHECK_INT(setup_many(80, true), 0);
    CHECK_INT(rs.n, 80);
    for (size_t i = 0; i < 80; i += 7) {
        char id[32], prog[32], other[32], msg[48];
        snprintf(id, sizeof(id), "m.r%zu", i);
        snprintf(prog, sizeof(prog), "PROG%zu", i);
        snprintf(other, sizeof(other), "prog%zu", (i + 1) % 80);
        snprintf(msg, sizeof(msg), "a needle%zux b", i);
        CHECK(matches(id, prog, msg));
        CHECK(!matches(id, other, msg));
    }
}

static void rules_past_the_literal_table_still_match(void)
{
    /* RULE_MAX_LITERALS distinct literals fit the prefilter; later rules run unfiltered. */
    size_t n = RULE_MAX_LITERALS + 40;
    CHECK_INT(setup_many(n, false), 0);
    CHECK_INT(rs.n, n);
    size_t fired_wrongly = 0, missed = 0;
    for (size_t i = 0; i < n; i++) {
        char id[32], msg[48];
        snprintf(id, sizeof(id), "m.r%zu", i);
        snprintf(msg, sizeof(msg), "x needle%zux y", i);
        missed += !matches(id, "", msg);
        snprintf(msg, sizeof(msg), "x needle%zuy y", i);
        fired_wrongly += matches(id, "", msg);
    }
    CHECK_INT(missed, 0);
    CHECK_INT(fired_wrongly, 0);
}

/* Collects the index of each rule that fired. */
struct fired {
    size_t idx[16];
    size_t n;
};

static int on_fired(void *ctx, const struct rule *rule, const struct record *rec)
{
    struct fired *f = ctx;
    (void)rec;
    if (f->n < ARRAY_SIZE(f->idx))
        f->idx[f->n++] = (size_t)(rule - rs.rules);
    return 0;
}

static void literal_pass_finds_literals_anywhere_and_keeps_load_order(void)
{
    /* A rule without a usable literal (m.any) is tried on every line; literals are found at
     * the start, at the end, twice, overlapping, and in any case for (?i). */
    CHECK_INT(setup("[m.first]\nseverity = info\nregex = needle7x\nsummary = s\nremedy = r\n"
                    "[m.any]\nseverity = info\nregex = ^\\d+$\nsummary = s\nremedy = r\n"
                    "[m.ic]\nseverity = info\nregex = (?i)haystack\nsummary = s\nremedy = r\n"
                    "[m.last]\nseverity = info\nregex = needle7x\\b\nsummary = s\n"
                    "remedy = r\n"),
              0);
    static const struct {
        const char *msg;
        const char *want; /* indexes of the rules that fire, in order */
    } cases[] = {
        { "needle7x", "0 3" },
        { "a needle7x", "0 3" },
        { "needle7x haystack", "0 2 3" },
        { "HayStack", "2" },
        { "12345", "1" },
        { "needle7", "" },
        { "eedle7x", "" },
        { "ne", "" },
        { "n", "" },
        { "needle7xneedle7xy", "0" },
        { "hhaystackk", "2" },
        { "", "" },
    };
    for (size_t k = 0; k < ARRAY_SIZE(cases); k++) {
        struct record rec = rec_of("", cases[k].msg);
        struct fired f = { .n = 0 };
        CHECK_INT(matcher_match(&m, &rec, on_fired, &f), 0);
        char got[64] = "";
        for (size_t i = 0; i < f.n; i++)
            snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%zu", i ? " " : "", f.idx[i]);
        if (strcmp(got, cases[k].want) != 0)
            printf("# message '%s'\n", cases[k].msg);
        CHECK_STR(got, cases[k].want);
    }
}

static void literal_pass_spans_many_rules(void)
{
    /* 130 rules: the rules worth trying span three bitset words. */
    CHECK_INT(setup_many(130, false), 0);
    for (size_t i = 0; i < 130; i += 9) {
        char msg[64];
        snprintf(msg, sizeof(msg), "x needle%zux and needle%zux", i, (i * 7) % 130);
        struct record rec = rec_of("", msg);
        struct fired f = { .n = 0 };
        CHECK_INT(matcher_match(&m, &rec, on_fired, &f), 0);
        size_t a = i, b = (i * 7) % 130;
        size_t lo = a < b ? a : b, hi = a < b ? b : a;
        CHECK_INT(f.n, lo == hi ? 1 : 2);
        CHECK_INT(f.idx[0], lo);
        if (lo != hi)
            CHECK_INT(f.idx[1], hi);
    }
}

/* Calls rule_required_literal() and compares with want (NULL: no literal). */
static void check_literal(const char *pattern, const char *want, bool want_icase)
{
    size_t len = 0;
    bool icase = !want_icase;
    char *lit = rule_required_literal(pattern, &len, &icase);
    if (!want) {
        CHECK(lit == NULL);
        if (lit)
            printf("# pattern '%s' gave literal '%s', want none\n", pattern, lit);
    } else {
        CHECK_STR(lit, want);
        CHECK_INT(len, strlen(want));
        CHECK_INT(icase, want_icase);
        if (!lit)
            printf("# pattern '%s' gave no literal\n", pattern);
    }
    free(lit);
}

static void literal_of_plain_pattern_is_the_pattern(void)
{
    check_literal("Fail to establish a secure channel", "Fail to establish a secure channel",
                  false);
}

static void literal_inside_mandatory_named_group_counts(void)
{
    check_literal("SSLAccept is : (?<ssl_error>.*alert unknown ca)", "alert unknown ca", false);
    check_literal("ab(?:cdefgh)ij", "cdefgh", false);
    check_literal("x(?P<n>longest one)y", "longest one", false);
}

static void optional_group_gives_none_of_its_text(void)
{
    check_literal("(abcdefgh)?wxyz", "wxyz", false);
    check_literal("(abcdefgh)*wxyz", "wxyz", false);
    check_literal("(abcdefgh){0,2}wxyz", "wxyz", false);
    check_literal("xy(abcdefgh)?z", NULL, false);
    check_literal("(abcdefgh)+xy", "abcdefgh", false);
}

/* A port or a code is rarer in logs than any word, even a longer one: "connect to" is in every
 * NTLS connection line, "1792" only where the port is named. */
static void literal_with_a_digit_beats_a_longer_word(void)
{
    check_literal("connect to \\S+:1792\\b", ":1792", false);
    check_literal("(?:connection|connect) to [a-z.]+ port 1792 failed", " port 1792 failed", false);
    check_literal("Fail to establish a secure channel : \\d+/\\d+",
                  "Fail to establish a secure channel : ", false);
    check_literal("a very long english phrase (\\d)(1)", "a very long english phrase ", false);
}

static void top_level_alternation_gives_null(void)
{
    check_literal("foo bar|baz qux", NULL, false);
    check_literal("abcdef|", NULL, false);
    /* Alternation inside a group only rules that group out. */
    check_literal("(?:abc|abd)efgh", "efgh", false);
}

static void icase_prefix_sets_icase(void)
{
    check_literal("(?i)HA auto recovery", "HA auto recovery", true);
    check_literal("HA auto recovery", "HA auto recovery", false);
    /* An option change anywhere else changes literals after it: no literal at all. */
    check_literal("abcd(?i)efgh", NULL, false);
    check_literal("(?x) abc def", NULL, false);
    /* A scoped (?i:...) group is skipped; what is outside stays case-sensitive. */
    check_literal("(?i:abcdef)XYZ", "XYZ", false);
    /* Settings at the start that leave literals alone are looked through, in any number. */
    check_literal("(?J)HA auto recovery", "HA auto recovery", false);
    check_literal("(?s)(?i)HA auto", "HA auto", true);
    check_literal("(?Ji)HA auto", "HA auto", true);
    check_literal("(?i)(?-i)HA auto", "HA auto", false);
    check_literal("(?J)(?x)HA auto", NULL, false);
    check_literal("(?:HA) auto", " auto", false);
}

static void escapes_for_classes_break_runs(void)
{
    check_literal("abc\\d+defgh", "defgh", false);
    check_literal("slot\\s+(?<n>\\d+) failed", " failed", false);
    check_literal("\\x41BCD", "BCD", false);
    check_literal("\\x{41}BCD", "BCD", false);
    check_literal("\\0123abc", "3abc", false); /* \012 is octal: a newline */
    check_literal("x\\cAbcd", "bcd", false);
    check_literal("\\bword\\b", "word", false);
}

static void escaped_punctuation_is_literal(void)
{
    check_literal("a\\.b\\(c\\)", "a.b(c)", false);
    check_literal("abc\\\\def", "abc\\def", false);
    check_literal("x\\[1\\]\\{y\\}", "x[1]{y}", false);
}

static void quantifiers_keep_or_drop_the_char(void)
{
    /* '+' needs the character once, '*' and '?' not at all. */
    check_literal("failure+s", "failure", false);
    check_literal("failure*s", "failur", false);
    check_literal("colou?r scheme", "r scheme", false);
    check_literal("ab{2}cdef", "cdef", false);
    check_literal("abcd{0}", "abc", false);
    check_literal("abc{", "abc{", false);
}

static void char_classes_are_skipped(void)
{
    check_literal("abc[xyz]defg", "defg", false);
    check_literal("[a-z]+ token=", " token=", false);
    check_literal("[]abc]wxyz", "wxyz", false);
    check_literal("[[:alpha:]]+ end", " end", false);
    check_literal("[^\\]x]+tail", "tail", false);
}

static void short_or_odd_patterns_give_null(void)
{
    check_literal("ab", NULL, false);
    check_literal("a.b.c", NULL, false);
    check_literal("a\\Qb.c\\E", NULL, false);
    check_literal("(unclosed", NULL, false);
    check_literal("unopened)", NULL, false);
}

static void pcre2_verbs_and_references_give_no_false_literal(void)
{
    /* None of these names or verbs occurs in what the pattern matches. */
    check_literal("(*CRLF)ab", NULL, false);
    check_literal("(?<longname>ab)c(?P=longname)", NULL, false);
    check_literal("(?<longname>ab)c(?&longname)", NULL, false);
    check_literal("(?<longname>ab)c(?P>longname)", NULL, false);
    check_literal("(?<longname>ab)c\\k<longname>", NULL, false);
    check_literal("(?<longname>ab)c\\g<longname>", NULL, false);
}

/* A pattern and a subject it matches. */
struct sample {
    const char *pattern;
    const char *subject;
};

static const struct sample samples[] = {
    { "(?J)(?<r>HSM SO) login failed|(?<r>C_Login) CKR_PIN_INCORRECT",
      "x C_Login CKR_PIN_INCORRECT" },
    { "(?s)(?i)ha member down", "HA Member DOWN" },
    { "SSLAccept is : (?<ssl_error>.*alert unknown ca)",
      "Error message from SSLAccept is : error:14094418:SSL routines:tlsv1 alert unknown ca" },
    { "(?i)fail(ed|ure) to connect", "FAILED TO CONNECT to 1792" },
    { "foo bar|baz qux", "x baz qux" },
    { "(abcdefgh)?wxyz", "wxyz" },
    { "failure+s", "failureees" },
    { "failure*s", "failurs" },
    { "colou?r scheme", "color scheme" },
    { "abc\\d+defgh", "abc42defgh" },
    { "a\\.b\\(c\\)", "a.b(c)" },
    { "abc\\\\def", "abc\\def" },
    { "[a-z]+ token=\\w+", "abc token=x" },
    { "ab{2}cdef", "abbcdef" },
    { "abcd{0}", "abc" },
    { "abc{", "abc{" },
    { "(?:HSM Admin|HSM SO) [Ll]ogin failed", "HSM SO login failed" },
    { "\\bCKR_(?!OK\\b)[A-Z0-9_]+", "rv CKR_PIN_INCORRECT" },
    { "(?=.*secret)password", "password secret" },
    { "(?i:abcdef)XYZ", "ABCDEFXYZ" },
    { "(?s)abc.def", "abc\ndef" },
    { "(?|(abc)|(abd))xyzw", "abdxyzw" },
    { "(?#comment)abcd", "abcd" },
    { "(*CRLF)abc", "xabc" },
    { "(?<longname>ab)c(?P=longname)", "abcab" },
    { "(?<longname>ab)c(?&longname)", "abcab" },
    { "(?<longname>ab)c(?P>longname)", "abcab" },
    { "(?<w>abc)xyz\\k<w>", "abcxyzabc" },
    { "(?(?=a)abc|xyz)def", "xyzdef" },
    { "(?C1)abcd", "abcd" },
    { "[]abc]wxyz", "]wxyz" },
    { "[[:alpha:]]+ end", "the end" },
    { "^\\s*-+\\s+(?<sn>\\d{6,})\\s+\\S+\\s+down\\s*$", "  --  123456 hsm-b down " },
    { "(?i)(?:\\bHSM (?:has been |was )?zeroi[sz]ed\\b|\\bpartition zeroized\\b)",
      "the hsm was zeroised" },
    { "NTLS certificate will (?:be )?expire on (?<e>[A-Z][a-z]{2} +\\d{1,2})",
      "NTLS certificate will expire on Dec  1" },
    { "x(?:abc|(?:def|ghi))yz", "xghiyz" },
    { "(?:abc|(?i:def)|ghi)", "DEF" },
    { "(?:(?x) a b c |zzz)", "abc" },
    { "(abc)|(?=y)yzw", "yzw" },
    { "(?(?=a)abc)def", "xdef" },
    { "(?<longname>ab)c\\k<longname>", "abcab" },
    { "(?<longname>ab)c\\k'longname'", "abcab" },
    { "(?<longname>ab)c\\k{longname}", "abcab" },
    { "(?<longname>ab)c\\g<longname>", "abcab" },
    { "\\x41BCD", "ABCD" },
    { "\\x{41}BCD", "ABCD" },
    { "\\0123abc", "\n3abc" },
    { "(a)\\1bcd", "aabcd" },
    { "x\\cAbcd", "x\001bcd" },
};

/* Returns s with control bytes as \xNN, for '#' diagnostics that must stay on one line. The
 * result lives in one of two static buffers, so two calls may share a printf. */
static const char *esc(const char *s)
{
    static char bufs[2][256];
    static int which;
    char *out = bufs[which++ % 2];
    size_t n = 0;
    for (; *s && n + 5 < sizeof(bufs[0]); s++) {
        if ((unsigned char)*s < 0x20)
            n += (size_t)snprintf(out + n, sizeof(bufs[0]) - n, "\\x%02x", (unsigned char)*s);
        else
            out[n++] = *s;
    }
    out[n] = '\0';
    return out;
}

/* Compiles pattern and matches subject with plain PCRE2, without any of hsmlog's code. */
static bool pcre2_says_match(const char *pattern, const char *subject)
{
    int code;
    PCRE2_SIZE off;
    pcre2_code *re =
            pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, 0, &code, &off, NULL);
    if (!re)
        return false;
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    int rc = md ? pcre2_match(re, (PCRE2_SPTR)subject, strlen(subject), 0, 0, md, NULL) : -1;
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    return rc >= 0;
}

static bool contains(const char *hay, const char *needle, size_t n, bool icase)
{
    size_t hn = strlen(hay);
    for (size_t i = 0; i + n <= hn; i++)
        if (icase ? strncasecmp(hay + i, needle, n) == 0 : memcmp(hay + i, needle, n) == 0)
            return true;
    return false;
}

static void required_literal_occurs_in_every_match(void)
{
    for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        const struct sample *s = &samples[i];
        if (!pcre2_says_match(s->pattern, s->subject)) { /* the table itself must be right */
            printf("# pattern '%s' does not match '%s'\n", s->pattern, esc(s->subject));
            CHECK(!"sample subject does not match its pattern");
        }
        size_t len = 0;
        bool icase = false;
        char *lit = rule_required_literal(s->pattern, &len, &icase);
        if (lit && !contains(s->subject, lit, len, icase)) {
            printf("# pattern '%s': literal '%s' not in '%s'\n", s->pattern, lit, esc(s->subject));
            CHECK(!"required literal missing from a matching subject");
        }
        free(lit);
    }
}

static void literal_set_covers_every_match(void)
{
    for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        const struct sample *s = &samples[i];
        struct rule_literal set[32];
        int n = rule_literal_set(s->pattern, set, 32);
        CHECK(n >= 0);
        bool found = n <= 0;
        for (int k = 0; k < n; k++) {
            found = found || contains(s->subject, set[k].text, set[k].len, set[k].icase);
            free(set[k].text);
        }
        if (!found) {
            printf("# pattern '%s': no literal of its set in '%s'\n", s->pattern, esc(s->subject));
            CHECK(!"literal set misses a matching subject");
        }
    }
}

static void matcher_fires_on_every_matching_subject(void)
{
    /* All samples as rules of one ruleset, so their literals share one prefilter. */
    char text[16384];
    size_t used = 0;
    for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        int w = snprintf(text + used, sizeof(text) - used,
                         "[s.r%zu]\nseverity = info\nregex = %s\nsummary = s\nremedy = r\n", i,
                         samples[i].pattern);
        CHECK(w > 0 && (size_t)w < sizeof(text) - used);
        used += (size_t)w;
    }
    CHECK_INT(setup(text), 0);
    CHECK_INT(rs.n, sizeof(samples) / sizeof(samples[0]));
    for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        char id[32];
        snprintf(id, sizeof(id), "s.r%zu", i);
        if (!matches(id, "", samples[i].subject)) {
            printf("# rule for '%s' did not fire on '%s'\n", samples[i].pattern,
                   esc(samples[i].subject));
            CHECK(!"a matching subject did not fire its rule");
        }
    }
}

static void shipped_rule_literals_occur_in_their_examples(void)
{
    struct rule_errors errs = { 0 };
    struct parser p;
    matcher_release(&m);
    ruleset_release(&rs);
    ruleset_init(&rs);
    CHECK_INT(ruleset_load(&rs, HSMLOG_SOURCE_RULES_DIR, &errs), 0);
    rule_errors_release(&errs);
    prepare();
    parser_init(&p, 2026, 0, 0);
    size_t checked = 0;
    for (size_t i = 0; i < rs.n; i++) {
        const struct rule *r = &rs.rules[i];
        for (size_t t = 0; t < r->n_tests; t++) {
            struct record rec;
            parse_line(&p, strv_from_cstr(r->tests[t].line), &rec);
            bool hit = matcher_matches(&m, r, &rec);
            CHECK_INT(hit, r->tests[t].must_match);
            if (hit != r->tests[t].must_match)
                printf("# %s: example at line %u\n", r->id, r->tests[t].src_line);
            if (!r->tests[t].must_match || !r->literal)
                continue;
            char *msg = strndup(rec.message.p ? rec.message.p : "", rec.message.n);
            CHECK(msg && contains(msg, r->literal, r->literal_len, r->literal_icase));
            free(msg);
            checked++;
        }
    }
    CHECK(checked > 0);
    /* A shipped rule without prefilter literals runs its pattern on every line of every log:
     * each one costs a tenth of the scan time (auth.login-failed did, hidden by "(?J)"). */
    for (size_t i = 0; i < rs.n; i++) {
        const struct rule *r = &rs.rules[i];
        if (r->re && !r->lit_ids && !r->n_programs) {
            printf("# %s (%s:%u) has no prefilter literal and no program\n", r->id, r->file,
                   r->line);
            CHECK(!"shipped rule runs on every line");
        }
    }
    parser_release(&p);
}

struct limit_log {
    const struct rule *rules[8];
    int rc[8];
    size_t n_limits;
    size_t n_hits;
    const char *hit_id;
};

static void note_limit(void *ctx, const struct rule *rule, int pcre2_rc)
{
    struct limit_log *log = ctx;
    if (log->n_limits < 8) {
        log->rules[log->n_limits] = rule;
        log->rc[log->n_limits] = pcre2_rc;
    }
    log->n_limits++;
}

static int note_hit(void *ctx, const struct rule *rule, const struct record *rec)
{
    (void)rec;
    struct limit_log *log = ctx;
    log->n_hits++;
    log->hit_id = rule->id;
    return 0;
}

static void limit_hit_is_told_once_per_rule_and_matching_goes_on(void)
{
    /* Nested quantifiers on a long run of 'a' without the required end: exponential
     * backtracking, stopped by the match limit (interpreter) or JIT stack/match limit. */
    CHECK_INT(
            setup("[slow.nested]\nseverity = info\nregex = ^(a+)+$\nsummary = s\nremedy = r\n"
                  "[slow.words]\nseverity = info\nregex = ^(\\w+\\s?)*$\nsummary = s\nremedy = r\n"
                  "[fast.a]\nseverity = info\nregex = aaaa!\nsummary = s\nremedy = r\n"),
            0);
    m.on_limit = note_limit;
    char msg[8192];
    memset(msg, 'a', sizeof(msg) - 2);
    msg[sizeof(msg) - 2] = '!';
    msg[sizeof(msg) - 1] = '\0';
    char words[8192];
    size_t n = 0;
    for (; n + 5 < sizeof(words) - 2; n += 5)
        memcpy(words + n, "word ", 5);
    words[n] = '!';
    words[n + 1] = '\0';
    struct limit_log log = { 0 };
    for (int round = 0; round < 3; round++) {
        struct record rec = rec_of("p", msg);
        CHECK_INT(matcher_match(&m, &rec, note_hit, &log), 0);
        rec = rec_of("p", words);
        CHECK_INT(matcher_match(&m, &rec, note_hit, &log), 0);
    }
    /* Each slow rule told once, with a PCRE2 error; the fast rule matched every time. */
    CHECK_INT(log.n_limits, 2);
    CHECK_STR(log.rules[0]->id, "slow.nested");
    CHECK_STR(log.rules[1]->id, "slow.words");
    CHECK(log.rc[0] < 0 && log.rc[0] != PCRE2_ERROR_NOMATCH);
    CHECK(log.rc[1] < 0 && log.rc[1] != PCRE2_ERROR_NOMATCH);
    CHECK_INT(log.n_hits, 3);
    CHECK_STR(log.hit_id, "fast.a");
    CHECK_INT(matcher_rule_limit_hits(&m, ruleset_find(&rs, "slow.nested")), 3);
    CHECK_INT(matcher_rule_limit_hits(&m, ruleset_find(&rs, "slow.words")),
              6); /* \w matches 'a' too */
    CHECK(m.limit_hits >= 9);

    /* The interpreter (no JIT on this platform) stops at the match/depth/heap limits too. */
    rs.jit = false;
    memset(&log, 0, sizeof(log));
    for (size_t i = 0; i < rs.n; i++)
        m.rule_limit_hits[i] = 0;
    struct record rec = rec_of("p", msg);
    CHECK_INT(matcher_match(&m, &rec, note_hit, &log), 0);
    CHECK_INT(log.n_limits, 2);
    CHECK_INT(log.n_hits, 1);
    CHECK(log.rc[0] == PCRE2_ERROR_MATCHLIMIT || log.rc[0] == PCRE2_ERROR_DEPTHLIMIT ||
          log.rc[0] == PCRE2_ERROR_HEAPLIMIT);
    m.on_limit = NULL;
}

static void two_matchers_over_one_ruleset_keep_their_own_captures(void)
{
    CHECK_INT(setup("[ntls.peer]\nseverity = error\nregex = peer (?<ip>[0-9.]+) failed\n"
                    "summary = s\nremedy = r\n"),
              0);
    const struct rule *r = ruleset_find(&rs, "ntls.peer");
    struct matcher other;
    struct hl_err err;
    CHECK_INT(matcher_init(&other, &rs, &err), 0);
    struct record a = rec_of("NTLS", "peer 10.0.0.1 failed");
    struct record b = rec_of("NTLS", "peer 192.168.7.20 failed");
    CHECK(matcher_matches(&m, r, &a));
    CHECK(matcher_matches(&other, r, &b));
    struct rule_capture caps[2];
    CHECK_INT(matcher_captures(&m, r, a.message, caps, 2), 1);
    CHECK_STRN(caps[0].value.p, caps[0].value.n, "10.0.0.1");
    CHECK_INT(matcher_captures(&other, r, b.message, caps, 2), 1);
    CHECK_STRN(caps[0].value.p, caps[0].value.n, "192.168.7.20");
    matcher_release(&other);
}

int main(void)
{
    ruleset_init(&rs);
    TAP_RUN(program_filter_is_case_insensitive);
    TAP_RUN(exclude_pattern_suppresses_match);
    TAP_RUN(every_exclude_runs_after_the_regex_and_keeps_its_captures);
    TAP_RUN(disabled_rule_matches_nothing);
    TAP_RUN(named_captures_are_returned);
    TAP_RUN(ruleset_match_calls_hit_in_load_order);
    TAP_RUN(prefilter_handles_overlapping_literals_of_mixed_case);
    TAP_RUN(literal_pass_finds_literals_anywhere_and_keeps_load_order);
    TAP_RUN(literal_pass_spans_many_rules);
    TAP_RUN(program_filter_works_past_64_program_names);
    TAP_RUN(rules_past_the_literal_table_still_match);
    TAP_RUN(literal_of_plain_pattern_is_the_pattern);
    TAP_RUN(literal_inside_mandatory_named_group_counts);
    TAP_RUN(optional_group_gives_none_of_its_text);
    TAP_RUN(literal_with_a_digit_beats_a_longer_word);
    TAP_RUN(top_level_alternation_gives_null);
    TAP_RUN(icase_prefix_sets_icase);
    TAP_RUN(escapes_for_classes_break_runs);
    TAP_RUN(escaped_punctuation_is_literal);
    TAP_RUN(quantifiers_keep_or_drop_the_char);
    TAP_RUN(char_classes_are_skipped);
    TAP_RUN(short_or_odd_patterns_give_null);
    TAP_RUN(pcre2_verbs_and_references_give_no_false_literal);
    TAP_RUN(required_literal_occurs_in_every_match);
    TAP_RUN(literal_set_covers_every_match);
    TAP_RUN(matcher_fires_on_every_matching_subject);
    TAP_RUN(shipped_rule_literals_occur_in_their_examples);
    TAP_RUN(limit_hit_is_told_once_per_rule_and_matching_goes_on);
    TAP_RUN(two_matchers_over_one_ruleset_keep_their_own_captures);
    matcher_release(&m);
    ruleset_release(&rs);
    return tap_done();
}
