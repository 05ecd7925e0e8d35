/* Fuzz target: one input is a block of log lines. Every header parser, the Luna field parser
 * and the rule matcher (with the shipped pack compiled in) run over each line, as a scan does. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "parse.h"
#include "parse_luna.h"
#include "rule.h"

static int on_hit(void *ctx, const struct rule *rule, const struct record *rec)
{
    struct ruleset *rs = ctx;
    struct rule_capture caps[32];
    HL_IGNORE(rule_captures(rs, rule, rec->message, caps, 32));
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ruleset *rs = fuzz_rules();
    struct parser parser;
    parser_init(&parser, 2026, 11, 0);
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        struct record rec;
        parse_line(&parser, strv_make(p, n), &rec);
        struct luna_fields lf;
        parse_luna(rec.message, &lf);
        HL_IGNORE(ruleset_match(rs, &rec, on_hit, rs));
        p += n + (nl ? 1 : 0);
    }
    parser_release(&parser);
    return 0;
}
