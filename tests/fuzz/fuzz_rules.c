/* Fuzz target: one input is a rule file. Loading, linking and preparing must report problems,
 * never crash, whatever the text; a file that loads has its own `test` lines matched, so the
 * patterns it compiled run too (under the PCRE2 limits a scan uses). */
#include <stddef.h>
#include <stdint.h>

#include "fuzz.h"
#include "parse.h"

static int on_hit(void *ctx, const struct rule *rule, const struct record *rec)
{
    struct ruleset *rs = ctx;
    struct rule_capture caps[32];
    HL_IGNORE(rule_captures(rs, rule, rec->message, caps, 32));
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ruleset rs;
    struct rule_errors errs = { 0 };
    struct hl_err err;
    ruleset_init(&rs);
    if (ruleset_load_text(&rs, "fuzz.rules", (const char *)data, size, &errs) == 0 &&
        ruleset_link(&rs, &errs) == 0 && ruleset_prepare(&rs, &err) == 0) {
        struct parser parser;
        parser_init(&parser, 2026, 11, 0);
        for (size_t i = 0; i < rs.n; i++)
            for (size_t t = 0; t < rs.rules[i].n_tests; t++) {
                struct record rec;
                parse_line(&parser, strv_from_cstr(rs.rules[i].tests[t].line), &rec);
                HL_IGNORE(ruleset_match(&rs, &rec, on_hit, &rs));
            }
        parser_release(&parser);
    }
    rule_errors_release(&errs);
    ruleset_release(&rs);
    return 0;
}
