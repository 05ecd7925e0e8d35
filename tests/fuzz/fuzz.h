/* Shared by the fuzz targets: the libFuzzer entry point and the shipped rule pack, loaded once
 * from HSMLOG_FUZZ_RULES (set by meson to the source tree's rules/). */
#ifndef HSMLOG_FUZZ_H
#define HSMLOG_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "rule.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static inline struct ruleset *fuzz_rules(void)
{
    static struct ruleset rs;
    static int loaded;
    if (!loaded) {
        struct rule_errors errs = { 0 };
        struct hl_err err;
        ruleset_init(&rs);
        const char *dir = getenv("HSMLOG_FUZZ_RULES");
        if (dir)
            HL_IGNORE(ruleset_load(&rs, dir, &errs));
        HL_IGNORE(ruleset_link(&rs, &errs));
        HL_IGNORE(ruleset_prepare(&rs, &err));
        rule_errors_release(&errs);
        loaded = 1;
    }
    return &rs;
}

#endif
