/* Fuzz target: one input is a block of log lines. The format detector and every header parser
 * (RFC 3164 with the journal short forms, RFC 5424, ISO, Luna tail, bare tags) run over each
 * line, as a scan does, and each record's slices must lie inside the line or the parser's
 * scratch buffer. The rule matcher (shipped pack) runs too: it is what a scan does next. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "parse.h"

static int on_hit(void *ctx, const struct rule *rule, const struct record *rec)
{
    struct matcher *m = ctx;
    struct rule_capture caps[32];
    HL_IGNORE(matcher_captures(m, rule, rec->message, caps, 32));
    return 0;
}

/* Every parser is tried directly too, so a shape the detector sends elsewhere is still run. */
static void each_parser(struct parser *p, struct strv line)
{
    /* What parse_line() hands a parser: a plain-text record to fill in. */
    const struct record plain = { .format = FMT_PLAIN, .pri = -1, .raw = line, .message = line };
    struct record r = plain;
    if (parse_rfc3164(p, line, &r))
        fuzz_check_record(&r, line, &p->scratch);
    r = plain;
    if (parse_rfc5424(p, line, &r))
        fuzz_check_record(&r, line, &p->scratch);
    r = plain;
    if (parse_luna_tail(p, line, &r))
        fuzz_check_record(&r, line, &p->scratch);
    r = plain;
    if (parse_iso(p, line, &r))
        fuzz_check_record(&r, line, &p->scratch);
    r = plain;
    if (parse_bare(line, &r))
        fuzz_check_record(&r, line, &p->scratch);
    r = plain;
    HL_IGNORE(parse_tag(line, true, &r));
    fuzz_check_record(&r, line, &p->scratch);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct matcher *m = fuzz_matcher();
    struct parser parser;
    parser_init(&parser, 2026, 11, 0);
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        struct strv line = strv_make(p, nl ? (size_t)(nl - p) : (size_t)(end - p));
        each_parser(&parser, line);
        struct record rec;
        parse_line(&parser, line, &rec);
        fuzz_check_record(&rec, line, &parser.scratch);
        HL_IGNORE(matcher_match(m, &rec, on_hit, m));
        p += line.n + (nl ? 1 : 0);
    }
    parser_release(&parser);
    return 0;
}
