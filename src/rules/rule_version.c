/* The rule pack's version: what the pack directory's VERSION file declares, and digests of
 * what was loaded, so that a stored finding can be traced to the definition that made it
 * (docs/SCHEMA.md, rule_versions). A rule's definition is a stanza of its effective keys (the
 * pack's, merged with the site's overrides) in key-table order, without its tests: what it
 * matches and what it tells, not how it is proven, where it is written or in which order. The
 * pack's digest covers the id and digest of every public rule, by id, so that a file split or
 * renamed reads as the same pack while any edit of a rule, or a site's tuning, does not. */
#include "rule_load.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* FNV-1a (64 bits) with MurmurHash3's fmix64 at the end: FNV alone mixes the last bytes
 * poorly into the high bits, which the pack's short digest keeps. Not a cryptographic hash:
 * it tells versions apart, it does not authenticate them. */
static uint64_t digest_add(uint64_t h, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * UINT64_C(1099511628211);
    return h;
}

static uint64_t digest_end(uint64_t h)
{
    h ^= h >> 33;
    h *= UINT64_C(0xff51afd7ed558ccd);
    h ^= h >> 33;
    h *= UINT64_C(0xc4ceb9fe1a85ec53);
    return h ^ (h >> 33);
}

#define DIGEST_START UINT64_C(14695981039346656037)

static bool declared_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_';
}

void loader_read_declared(struct loader *ld, const char *dir)
{
    char *path, text[RULE_PACK_DECLARED_MAX + 8];
    size_t n = 0;
    ssize_t got = 1;
    if (ld->rs->declared)
        return; /* the first pack directory that declares one names the pack */
    if (asprintf(&path, "%s/VERSION", dir) < 0) {
        ld->nomem = true;
        return;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT)
            loader_error_in(ld, path, 0, 0, NULL, 0, "cannot open pack version file: %s",
                            strerror(errno));
        free(path);
        return;
    }
    while (n < sizeof(text) && (got = read(fd, text + n, sizeof(text) - n)) > 0)
        n += (size_t)got;
    int saved = errno;
    close(fd);
    if (got < 0) {
        loader_error_in(ld, path, 0, 0, NULL, 0, "cannot read pack version file: %s",
                        strerror(saved));
        free(path);
        return;
    }
    /* One line, its line end optional (an editor adds one, `echo -n` does not). */
    size_t len = n, bad = 0;
    while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
        len--;
    while (bad < len && declared_char_ok(text[bad]))
        bad++;
    if (len == 0 || len > RULE_PACK_DECLARED_MAX)
        loader_error_in(ld, path, 1, 0, NULL, 0,
                        "bad pack version: %s; write one version of at most %d characters, such "
                        "as 2026.12.0",
                        len ? "too long" : "the file is empty", RULE_PACK_DECLARED_MAX);
    else if (bad < len && (text[bad] == '\n' || text[bad] == '\r'))
        loader_error_in(ld, path, 2, 0, NULL, 0, "bad pack version: more than one line");
    else if (bad < len)
        loader_error_in(ld, path, 1, (int)bad + 1, NULL, 0,
                        "bad pack version: byte 0x%02x; use letters, digits, '.', '-' and '_'",
                        (unsigned char)text[bad]);
    else if (!(ld->rs->declared = strndup(text, len)))
        ld->nomem = true;
    free(path);
}

static bool is_test_key(int k)
{
    return k == KEY_TEST || k == KEY_TEST_NO || k == KEY_TEST_LOG || k == KEY_TEST_INCIDENTS;
}

/* Sets r's definition and digest from its draft. Severity and enabled are written in one
 * spelling ("warn" is "warning", "enabled = yes" is no key), so that only what changes the
 * rule changes its digest. Returns 0 or HL_ENOMEM. */
static int define_rule(struct rule *r)
{
    const struct rule_draft *d = r->draft;
    struct buf b;
    buf_init(&b, 0);
    int e = buf_printf(&b, "[%s]\n", r->id);
    for (int k = 0; e == 0 && k < KEY__COUNT; k++) {
        if (is_test_key(k) || k == KEY_ENABLED)
            continue;
        for (size_t i = 0; e == 0 && i < d->n_values[k]; i++) {
            const struct buf *text = &d->values[k][i].text;
            struct strv v = k == KEY_SEVERITY ? strv_from_cstr(severity_name(r->severity))
                                              : strv_make(text->data, text->len);
            if (buf_adds(&b, rule_key_table[k].name) < 0 || buf_add(&b, " = ", 3) < 0 ||
                buf_add(&b, v.p, v.n) < 0 || buf_addc(&b, '\n') < 0)
                e = HL_ENOMEM;
        }
    }
    if (e == 0 && r->disabled)
        e = buf_adds(&b, "enabled = no\n");
    char *def = e == 0 ? buf_detach(&b) : NULL;
    buf_release(&b);
    if (!def)
        return HL_ENOMEM;
    free(r->definition);
    r->definition = def;
    snprintf(r->digest, sizeof(r->digest), "%016llx",
             (unsigned long long)digest_end(digest_add(DIGEST_START, def, strlen(def))));
    return 0;
}

static int cmp_ids(const void *a, const void *b)
{
    return strcmp((*(struct rule *const *)a)->id, (*(struct rule *const *)b)->id);
}

int ruleset_make_version(struct ruleset *rs)
{
    struct rule **byid = malloc((rs->n ? rs->n : 1) * sizeof(*byid));
    if (!byid)
        return HL_ENOMEM;
    size_t n = 0;
    int r = 0;
    for (size_t i = 0; r == 0 && i < rs->n; i++) {
        struct rule *rule = &rs->rules[i];
        if (!rule_is_public(rule))
            continue;
        if (rule->draft) /* else: a second link keeps what the first made */
            r = define_rule(rule);
        byid[n++] = rule;
    }
    if (r == 0) {
        qsort(byid, n, sizeof(*byid), cmp_ids);
        uint64_t h = DIGEST_START;
        for (size_t i = 0; i < n; i++) {
            h = digest_add(h, byid[i]->id, strlen(byid[i]->id) + 1); /* with its NUL */
            h = digest_add(h, byid[i]->digest, RULE_DIGEST_LEN);
        }
        free(rs->version);
        if (asprintf(&rs->version, "%s+%08llx", rs->declared ? rs->declared : "unversioned",
                     (unsigned long long)(digest_end(h) >> 32)) < 0) {
            rs->version = NULL;
            r = HL_ENOMEM;
        }
    }
    free(byid);
    return r;
}
