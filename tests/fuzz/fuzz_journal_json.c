/* Fuzz target: one input is one line of `journalctl -o json` (any bytes: a cut line, bad
 * escapes, deep nesting). parse_json() either declines it or fills a record whose slices lie
 * in the line or in the decoded-MESSAGE scratch buffer. The full detector runs on it too. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz.h"
#include "parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct parser parser;
    parser_init(&parser, 2026, 11, 0);
    struct strv line = strv_make((const char *)data, size);
    struct record r = { .format = FMT_PLAIN, .pri = -1, .raw = line, .message = line };
    if (parse_json(&parser, line, &r))
        fuzz_check_record(&r, line, &parser.scratch);
    parse_line(&parser, line, &r);
    fuzz_check_record(&r, line, &parser.scratch);
    parser_release(&parser);
    return 0;
}
