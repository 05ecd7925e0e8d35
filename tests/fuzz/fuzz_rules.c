/* Fuzz target: one input is a rule file. Loading, linking and preparing must report problems,
 * never crash, whatever the text; a file that loads has its own `test` lines matched, so the
 * patterns it compiled run too (under the PCRE2 limits a scan uses). The same input is also
 * read as a site file over a small pack, so overrides (merging, clearing, rebuilding a rule
 * and its reset and expect patterns in place, disabling) get the same treatment. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz.h"
#include "parse.h"

/* Every kind of key an override can touch: patterns with internal rules, references both
 * ways, repeatable keys, a derived rule raised by an escalation and one by an expectation. */
static const char base[] = "[f.a]\nseverity = error\nprogram = NTLS\nregex = bad (?<what>\\w+)\n"
                           "exclude = benign\nreset = good\nescalate = 2 f.near\n"
                           "caused-by = f.b within 1h\nsummary = s\nremedy = r\n"
                           "test = NTLS[1]: bad x\ntest-no = NTLS[1]: fine\n"
                           "test-log = Nov 28 10:00:00 h NTLS[1]: bad x\n"
                           "test-incidents = f.a 1\n"
                           "[f.near]\nseverity = critical\nsummary = s\nremedy = r\n"
                           "[f.b]\nseverity = info\nregex = cause\nsummary = s\nremedy = r\n"
                           "[f.hang]\nseverity = error\nsummary = s\nremedy = r\nafter = f.b\n"
                           "expect = up within 15m\n";

static int on_hit(void *ctx, const struct rule *rule, const struct record *rec)
{
    struct matcher *m = ctx;
    struct rule_capture caps[32];
    HL_IGNORE(matcher_captures(m, rule, rec->message, caps, 32));
    return 0;
}

/* Links and prepares rs when loading went well, then matches every rule's test lines. */
static void run(struct ruleset *rs, struct rule_errors *errs, int loaded)
{
    struct hl_err err;
    if (loaded != 0 || ruleset_link(rs, errs) != 0 || ruleset_prepare(rs, &err) != 0)
        return;
    struct matcher m;
    if (matcher_init(&m, rs, &err) != 0)
        return;
    struct parser parser;
    parser_init(&parser, 2026, 11, 0);
    for (size_t i = 0; i < rs->n; i++)
        for (size_t t = 0; t < rs->rules[i].n_tests; t++) {
            struct record rec;
            parse_line(&parser, strv_from_cstr(rs->rules[i].tests[t].line), &rec);
            HL_IGNORE(matcher_match(&m, &rec, on_hit, &m));
        }
    parser_release(&parser);
    matcher_release(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ruleset rs;
    struct rule_errors errs = { 0 };
    ruleset_init(&rs);
    run(&rs, &errs, ruleset_load_text(&rs, "fuzz.rules", (const char *)data, size, &errs));
    ruleset_release(&rs);
    rule_errors_release(&errs);

    ruleset_init(&rs);
    int r = ruleset_load_text(&rs, "base.rules", base, sizeof(base) - 1, &errs);
    if (r == 0)
        r = ruleset_load_site_text(&rs, "site.rules", (const char *)data, size, &errs);
    run(&rs, &errs, r);
    rule_errors_release(&errs);
    ruleset_release(&rs);
    return 0;
}
