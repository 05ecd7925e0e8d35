/* Event identity (event_id.h). The hash input is fixed: changing it changes the key of every
 * stored finding, which needs a schema upgrade that rekeys them (src/schema/009-*). */
#include "event_id.h"

#include <stdio.h>

#include "parse.h"

/* FNV-1a, 64 bit: stable across runs and machines, which is all the identity needs. */
static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *u = p;
    for (size_t i = 0; i < n; i++) {
        h ^= u[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static uint64_t fnv_field(uint64_t h, struct strv s)
{
    h = fnv1a(h, s.p ? s.p : "", s.n);
    return fnv1a(h, "\x1f", 1); /* separator: "ab"+"c" differs from "a"+"bc" */
}

int64_t event_id_second(int64_t ts_us)
{
    return ts_us >= 0 ? ts_us / 1000000 : -((-ts_us + 999999) / 1000000);
}

int64_t event_id_hash(const struct record *rec, const char *source)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    if (rec->has_ts) {
        /* The second as microseconds: a whole-second time hashes as it always has. */
        char ts[24];
        int n = snprintf(ts, sizeof(ts), "%lld",
                         (long long)(event_id_second(rec->ts_us) * 1000000));
        h = fnv_field(h, strv_make(ts, (size_t)n));
        h = fnv_field(h, rec->host);
        h = fnv_field(h, rec->program);
        h = fnv_field(h, rec->pid);
        h = fnv_field(h, rec->message);
    } else {
        h = fnv_field(h, strv_from_cstr(source));
        h = fnv_field(h, rec->raw);
    }
    return (int64_t)h;
}

int64_t event_id_hash_raw(int64_t ts_us, const void *raw, size_t raw_len)
{
    /* The year and zone only shape the parsed time, which is replaced by the stored one. */
    struct parser p;
    parser_init(&p, 2000, 0, 0);
    struct record rec;
    parse_line(&p, strv_make(raw, raw_len), &rec);
    rec.has_ts = true;
    rec.ts_us = ts_us;
    int64_t h = event_id_hash(&rec, "");
    parser_release(&p);
    return h;
}
