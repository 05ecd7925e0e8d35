/* Fuzz target: one input is a whole file as a user might pass it: text, gzip, tar, zip, nested
 * archives or garbage. The scan (content sniffing, zlib, libarchive, lines, parsers, rules)
 * runs without a database and must end with a status, never a crash or a hang. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz.h"
#include "scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct scan sc;
    /* Small limits keep a bomb in the corpus from taking the fuzzer's time. */
    struct scan_options opt = { .year = 2026, .max_depth = 4 };
    opt.limits.max_size = 64u << 20;
    struct hl_err err;
    if (scan_init(&sc, &opt, fuzz_rules(), NULL, NULL, NULL, &err) == 0)
        HL_IGNORE(scan_text(&sc, "fuzz", (const char *)data, size, &err));
    scan_release(&sc);
    return 0;
}
