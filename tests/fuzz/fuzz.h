/* Shared by the fuzz targets: the libFuzzer entry point and the shipped rule pack, loaded once
 * from HSMLOG_FUZZ_RULES (set by meson to the source tree's rules/). */
#ifndef HSMLOG_FUZZ_H
#define HSMLOG_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "buf.h"
#include "parse.h"
#include "rec.h"
#include "rule_match.h"
#include "strv.h"

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

/* A matcher over fuzz_rules(), set up once. */
static inline struct matcher *fuzz_matcher(void)
{
    static struct matcher m;
    static int ready;
    if (!ready) {
        struct hl_err err;
        if (matcher_init(&m, fuzz_rules(), &err) != 0)
            abort();
        ready = 1;
    }
    return &m;
}

/* Aborts (a finding for the fuzzer) unless the non-empty slice s lies inside in or inside the
 * bytes of scratch (may be NULL): parsers hand out borrowed slices, never copies. */
static inline void fuzz_check_slice(struct strv s, struct strv in, const struct buf *scratch)
{
    if (s.n == 0)
        return;
    uintptr_t a = (uintptr_t)s.p, b = a + s.n;
    if (in.p && a >= (uintptr_t)in.p && b <= (uintptr_t)in.p + in.n)
        return;
    if (scratch && scratch->data && a >= (uintptr_t)scratch->data &&
        b <= (uintptr_t)scratch->data + scratch->len)
        return;
    fprintf(stderr, "fuzz: slice of %zu bytes outside its input\n", s.n);
    abort();
}

/* Checks every slice of a record parsed from line. */
static inline void fuzz_check_record(const struct record *r, struct strv line,
                                     const struct buf *scratch)
{
    fuzz_check_slice(r->host, line, scratch);
    fuzz_check_slice(r->program, line, scratch);
    fuzz_check_slice(r->pid, line, scratch);
    fuzz_check_slice(r->message, line, scratch);
    fuzz_check_slice(r->raw, line, scratch);
    if (r->pri < -1 || r->pri > 191 || (unsigned)r->format >= FMT__COUNT) {
        fprintf(stderr, "fuzz: record with pri %d, format %d\n", r->pri, (int)r->format);
        abort();
    }
    /* A pid that starts like a number is a pid in range (parse_pid_ok), never a bigger one. */
    if (r->pid.n && r->pid.p[0] >= '0' && r->pid.p[0] <= '9' && !parse_pid_ok(r->pid)) {
        fprintf(stderr, "fuzz: record with pid '%.*s'\n", (int)r->pid.n, r->pid.p);
        abort();
    }
}

#endif
