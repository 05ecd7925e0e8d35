/* Fuzz target: one input is a rule file. Loading, linking and preparing must report problems,
 * never crash, whatever the text. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz.h"
#include "rule.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ruleset rs;
    struct rule_errors errs = { 0 };
    ruleset_init(&rs);
    if (ruleset_load_text(&rs, "fuzz.rules", (const char *)data, size, &errs) == 0 &&
        ruleset_link(&rs, &errs) == 0) {
        struct hl_err err;
        HL_IGNORE(ruleset_prepare(&rs, &err));
    }
    rule_errors_release(&errs);
    ruleset_release(&rs);
    return 0;
}
