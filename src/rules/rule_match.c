/* Matching records against rules. Per line, one pass finds every prefilter literal in the
 * message and so the rules worth trying; per such rule, cheapest test first: the program
 * list, then its literals, then the JIT-compiled pattern, and only on a match its exclude
 * patterns (a site may add many, and most lines never get that far). Most lines of a busy log
 * end after the one pass. A disabled rule is in no candidate set, so it costs nothing. */
#include "rule_match.h"

#include "buf.h"

#include <assert.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* PCRE2 work caps: a pathological pattern/line pair gives up instead of hanging the scan. */
#define MATCH_LIMIT    1000000u
#define DEPTH_LIMIT    10000u
#define HEAP_LIMIT_KIB (64u << 10) /* backtracking frames; PCRE2's own default is 20 GB */

static const char *const severity_names[SEV__COUNT] = {
    [SEV_INFO] = "info",   [SEV_NOTICE] = "notice",     [SEV_WARNING] = "warning",
    [SEV_ERROR] = "error", [SEV_CRITICAL] = "critical",
};

const char *severity_name(enum severity s)
{
    return (unsigned)s < SEV__COUNT ? severity_names[s] : "?";
}

int severity_parse(const char *s, size_t n, enum severity *ret)
{
    static const struct {
        const char *name;
        enum severity sev;
    } aliases[] = { { "warn", SEV_WARNING }, { "err", SEV_ERROR }, { "crit", SEV_CRITICAL } };
    for (int i = 0; i < SEV__COUNT; i++) {
        if (strlen(severity_names[i]) == n && strncasecmp(s, severity_names[i], n) == 0) {
            *ret = (enum severity)i;
            return 0;
        }
    }
    for (size_t i = 0; i < ARRAY_SIZE(aliases); i++) {
        if (strlen(aliases[i].name) == n && strncasecmp(s, aliases[i].name, n) == 0) {
            *ret = aliases[i].sev;
            return 0;
        }
    }
    return -1;
}

/* ---- prefilter: every literal of every rule, found in one pass over the message -------- */

/* The pass looks at every second pair of adjacent bytes of the message (the pairs starting
 * at even offsets): a 64 Kbit table says whether the pair is an anchor of some literal, and
 * only then is a short chain of candidates compared. Each literal (3 bytes at least) is
 * anchored at two overlapping pairs, its rarest three bytes by a rough frequency of bytes
 * in log text, so that one of the two starts at an even offset wherever the literal is;
 * a case-insensitive one gets all four case variants of each. Most messages run the table
 * test at half their bytes and nothing else, far cheaper than one PCRE2 alternation of all
 * the literals. Every occurrence of every literal is found, so a literal inside another needs
 * no special care.
 *
 * The same pass picks the rules worth trying: the rules of the literals found plus the rules
 * without literals, in load order, so a line costs the same whatever the number of rules
 * that cannot match it. */

#define GRAM_HASH 4096u /* chain heads; power of two */

struct gram_node {
    uint16_t gram; /* the two bytes, first in the high byte */
    uint16_t lit;  /* index in lits */
    uint8_t off;   /* where the pair starts in the literal */
    int32_t next;  /* next node of the same chain, -1 at the end */
};

/* The tables behind ruleset.lits (which points at lits here). Invariants:
 * a bit of gram_bits is set iff some node holds that gram; lit_rules[i] has bit r set iff
 * rules[r].lit_ids holds i; always has bit r set iff rules[r] has a pattern and no lit_ids. */
struct lit_index {
    struct rule_literal lits[RULE_MAX_LITERALS];
    uint64_t gram_bits[65536 / 64];                /* anchor pairs */
    int32_t head[GRAM_HASH];                       /* first node per hash, -1 none */
    struct gram_node nodes[RULE_MAX_LITERALS * 8]; /* 2 pairs x 4 case variants */
    size_t n_nodes;
    size_t prog_len[RULE_MAX_PROGRAMS]; /* strlen of ruleset.programs[i] */
    size_t words;                       /* uint64_t words of a rule bitset */
    uint64_t *lit_rules;                /* owned: RULE_MAX_LITERALS bitsets of words */
    uint64_t *always;                   /* owned: words: rules tried on every line */
};

static struct lit_index *lit_index_of(const struct ruleset *rs)
{
    return rs->index;
}

void ruleset_release_prefilter(struct ruleset *rs)
{
    struct lit_index *ix = lit_index_of(rs);
    for (size_t i = 0; i < rs->n_lits; i++)
        free(rs->lits[i].text);
    if (ix) {
        free(ix->lit_rules);
        free(ix->always);
    }
    free(ix);
    rs->index = NULL;
    rs->lits = NULL;
    rs->n_lits = 0;
    for (size_t i = 0; i < rs->n_programs; i++)
        free(rs->programs[i]);
    free(rs->programs);
    rs->programs = NULL;
    rs->n_programs = 0;
    for (size_t i = 0; i < rs->n; i++) {
        free(rs->rules[i].lit_ids);
        rs->rules[i].lit_ids = NULL;
        rs->rules[i].n_lit_ids = 0;
        rs->rules[i].program_mask = 0;
    }
}

/* Returns the index of lit in rs->lits, adding it when new; -1 past the table size. */
static int intern_literal(struct ruleset *rs, struct rule_literal *lit)
{
    for (size_t i = 0; i < rs->n_lits; i++)
        if (rs->lits[i].icase == lit->icase && rs->lits[i].len == lit->len &&
            memcmp(rs->lits[i].text, lit->text, lit->len) == 0)
            return (int)i;
    if (rs->n_lits == RULE_MAX_LITERALS)
        return -1;
    rs->lits[rs->n_lits] = *lit;
    lit->text = NULL; /* moved */
    return (int)rs->n_lits++;
}

static unsigned char ascii_lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

static unsigned char ascii_upper(unsigned char c)
{
    return c >= 'a' && c <= 'z' ? (unsigned char)(c - 32) : c;
}

/* Rough share (per mille) of a byte in the message part of log lines: English letter
 * frequencies for lowercase, less for capitals, and the separators logs are full of. Only
 * the order matters: it picks each literal's rarest pair. */
static unsigned byte_weight(unsigned char c)
{
    static const unsigned char lower[26] = {
        82, 15, 28, 43, 127, 22, 20, 61, 70, 2,  8, 40, 24,
        67, 75, 19, 1,  60,  63, 91, 28, 10, 24, 2, 20, 1,
    };
    if (c >= 'a' && c <= 'z')
        return lower[c - 'a'];
    if (c >= 'A' && c <= 'Z')
        return lower[c - 'A'] / 6 + 1;
    if (c >= '0' && c <= '9')
        return 20;
    if (c == ' ')
        return 150;
    if (c == '.' || c == ':' || c == '/' || c == '-' || c == '=' || c == ',')
        return 15;
    return 3;
}

static unsigned pair_weight(const struct rule_literal *l, size_t i)
{
    unsigned char a = (unsigned char)l->text[i], b = (unsigned char)l->text[i + 1];
    if (!l->icase)
        return byte_weight(a) * byte_weight(b);
    unsigned wa = byte_weight(ascii_lower(a)) +
                  (ascii_lower(a) != a || ascii_upper(a) != a ? byte_weight(ascii_upper(a)) : 0);
    unsigned wb = byte_weight(ascii_lower(b)) +
                  (ascii_lower(b) != b || ascii_upper(b) != b ? byte_weight(ascii_upper(b)) : 0);
    return wa * wb;
}

static unsigned gram_hash(unsigned gram)
{
    return (gram * 40503u >> 4) & (GRAM_HASH - 1);
}

static void add_gram(struct lit_index *ix, unsigned gram, uint16_t lit, uint8_t off)
{
    for (int32_t k = ix->head[gram_hash(gram)]; k >= 0; k = ix->nodes[k].next)
        if (ix->nodes[k].gram == gram && ix->nodes[k].lit == lit && ix->nodes[k].off == off)
            return; /* "(?i)1792": the case variants of digits are one pair */
    struct gram_node *node = &ix->nodes[ix->n_nodes];
    node->gram = (uint16_t)gram;
    node->lit = lit;
    node->off = off;
    node->next = ix->head[gram_hash(gram)];
    ix->head[gram_hash(gram)] = (int32_t)ix->n_nodes++;
    ix->gram_bits[gram / 64] |= 1ull << (gram % 64);
}

/* Adds the pair of literal i at off, with its case variants when it is case-insensitive. */
static void add_pair(struct lit_index *ix, const struct rule_literal *l, size_t i, size_t off)
{
    unsigned char a = (unsigned char)l->text[off], b = (unsigned char)l->text[off + 1];
    if (!l->icase) {
        add_gram(ix, (unsigned)a << 8 | b, (uint16_t)i, (uint8_t)off);
        return;
    }
    unsigned char av[2] = { ascii_lower(a), ascii_upper(a) };
    unsigned char bv[2] = { ascii_lower(b), ascii_upper(b) };
    for (int x = 0; x < 2; x++)
        for (int y = 0; y < 2; y++)
            add_gram(ix, (unsigned)av[x] << 8 | bv[y], (uint16_t)i, (uint8_t)off);
}

/* Anchors every literal at the two pairs of its rarest three bytes. */
static void build_grams(struct ruleset *rs, struct lit_index *ix)
{
    for (size_t g = 0; g < GRAM_HASH; g++)
        ix->head[g] = -1;
    for (size_t i = 0; i < rs->n_lits; i++) {
        const struct rule_literal *l = &rs->lits[i];
        assert(l->len >= 3); /* LITERAL_MIN_LEN */
        size_t best = 0;
        unsigned best_w = UINT32_MAX;
        for (size_t k = 0; k + 2 < l->len && k + 1 <= UINT8_MAX; k++) {
            unsigned w = pair_weight(l, k) + pair_weight(l, k + 1);
            if (w < best_w) {
                best_w = w;
                best = k;
            }
        }
        add_pair(ix, l, i, best);
        add_pair(ix, l, i, best + 1);
    }
}

static bool equal_icase(const unsigned char *s, const char *lit, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (ascii_lower(s[i]) != ascii_lower((unsigned char)lit[i]))
            return false;
    return true;
}

/* Sets found[i] for every literal i that occurs in s. */
static void find_literals(const struct ruleset *rs, const struct lit_index *ix, struct strv s,
                          uint64_t *found)
{
    const unsigned char *p = (const unsigned char *)s.p;
    /* A literal at x has anchor pairs at y and y + 1 with x <= y and y + 2 < x + len: one of
     * them starts at an even offset below s.n - 1, which this loop visits. */
    for (size_t at = 0; at + 1 < s.n; at += 2) {
        unsigned gram = (unsigned)p[at] << 8 | p[at + 1];
        if (!(ix->gram_bits[gram / 64] >> (gram % 64) & 1))
            continue;
        for (int32_t k = ix->head[gram_hash(gram)]; k >= 0; k = ix->nodes[k].next) {
            const struct gram_node *node = &ix->nodes[k];
            if (node->gram != gram)
                continue;
            const struct rule_literal *l = &rs->lits[node->lit];
            size_t off = node->off;
            if (at < off || at - off + l->len > s.n)
                continue;
            const unsigned char *start = p + at - off;
            if (l->icase ? equal_icase(start, l->text, l->len)
                         : memcmp(start, l->text, l->len) == 0)
                found[node->lit / 64] |= 1ull << (node->lit % 64);
        }
    }
}

/* Gives every rule its literal ids and program bits, and builds the index. */
static int index_rules(struct ruleset *rs, struct hl_err *err)
{
    struct lit_index *ix = calloc(1, sizeof(*ix));
    if (!ix)
        return hl_err_set(err, HL_ENOMEM, NULL, "out of memory");
    rs->index = ix;
    rs->lits = ix->lits;
    ix->words = (rs->n + 63) / 64;
    ix->lit_rules = calloc(RULE_MAX_LITERALS * (ix->words ? ix->words : 1), sizeof(uint64_t));
    ix->always = calloc(ix->words ? ix->words : 1, sizeof(uint64_t));
    rs->programs = calloc(RULE_MAX_PROGRAMS, sizeof(*rs->programs));
    if (!ix->lit_rules || !ix->always || !rs->programs)
        return hl_err_set(err, HL_ENOMEM, NULL, "out of memory");
    for (size_t i = 0; i < rs->n; i++) {
        struct rule *rule = &rs->rules[i];
        if (!rule->re || rule->disabled)
            continue; /* a derived or disabled rule matches no lines */
        for (size_t p = 0; p < rule->n_programs; p++) {
            size_t k = 0;
            while (k < rs->n_programs && strcmp(rs->programs[k], rule->programs[p]) != 0)
                k++;
            if (k == rs->n_programs && k < RULE_MAX_PROGRAMS) {
                if (!(rs->programs[k] = strdup(rule->programs[p])))
                    return hl_err_set(err, HL_ENOMEM, NULL, "out of memory");
                ix->prog_len[k] = strlen(rs->programs[k]);
                rs->n_programs++;
            }
            /* Past 64 names the rule simply gets no bit for that name: see program_allowed(). */
            if (k < RULE_MAX_PROGRAMS)
                rule->program_mask |= 1ull << k;
        }
        struct rule_literal set[32];
        int n = rule_literal_set(rule->regex_src, set, ARRAY_SIZE(set));
        if (n < 0)
            return hl_err_set(err, HL_ENOMEM, NULL, "out of memory");
        uint16_t *ids = n ? malloc((size_t)n * sizeof(*ids)) : NULL;
        bool complete = ids != NULL;
        for (int k = 0; k < n; k++) {
            int id = complete ? intern_literal(rs, &set[k]) : -1;
            if (id < 0)
                complete = false;
            else
                ids[k] = (uint16_t)id;
            free(set[k].text);
        }
        /* A rule whose literals did not all fit runs its regex on every line. */
        if (complete) {
            rule->lit_ids = ids;
            rule->n_lit_ids = (size_t)n;
            for (int k = 0; k < n; k++)
                ix->lit_rules[ids[k] * ix->words + i / 64] |= 1ull << (i % 64);
        } else {
            free(ids);
            ix->always[i / 64] |= 1ull << (i % 64);
        }
    }
    build_grams(rs, ix);
    return 0;
}

/* ---- matching -------------------------------------------------------------------------- */

int ruleset_prepare(struct ruleset *rs, struct hl_err *err)
{
    ruleset_release_prefilter(rs);
    pcre2_match_context_free(rs->mctx);
    rs->mctx = pcre2_match_context_create(NULL);
    if (!rs->mctx)
        return hl_err_set(err, HL_ENOMEM, NULL, "out of memory");
    pcre2_set_match_limit(rs->mctx, MATCH_LIMIT);
    pcre2_set_depth_limit(rs->mctx, DEPTH_LIMIT);
    pcre2_set_heap_limit(rs->mctx, HEAP_LIMIT_KIB);
    return index_rules(rs, err);
}

int matcher_init(struct matcher *m, const struct ruleset *rs, struct hl_err *err)
{
    *m = (struct matcher){ .rs = rs };
    uint32_t max_groups = 1;
    for (size_t i = 0; i < rs->n; i++) {
        uint32_t c = 0;
        if (rs->rules[i].re)
            pcre2_pattern_info(rs->rules[i].re, PCRE2_INFO_CAPTURECOUNT, &c);
        if (c + 1 > max_groups)
            max_groups = c + 1;
    }
    const struct lit_index *ix = lit_index_of(rs);
    size_t words = ix && ix->words ? ix->words : 1;
    m->md = pcre2_match_data_create(max_groups, NULL);
    /* An exclude only says whether it matched: one pair is enough (a match that would need
     * more returns 0, still a match). */
    m->md_exclude = pcre2_match_data_create(1, NULL);
    m->cand = calloc(words, sizeof(*m->cand));
    m->rule_limit_hits = calloc(rs->n ? rs->n : 1, sizeof(*m->rule_limit_hits));
    if (!m->md || !m->md_exclude || !m->cand || !m->rule_limit_hits) {
        matcher_release(m);
        return hl_err_set(err, HL_ENOMEM, NULL, "out of memory");
    }
    return 0;
}

void matcher_release(struct matcher *m)
{
    pcre2_match_data_free(m->md);
    pcre2_match_data_free(m->md_exclude);
    free(m->cand);
    free(m->rule_limit_hits);
    *m = (struct matcher){ 0 };
}

unsigned long long matcher_rule_limit_hits(const struct matcher *m, const struct rule *rule)
{
    return m->rule_limit_hits[rule - m->rs->rules];
}

/* What one line offers the rules, worked out once per line. */
struct line_view {
    uint64_t programs;                      /* bits of ruleset.programs equal to it */
    bool program_known;                     /* the name matched one of those programs */
    uint64_t found[RULE_MAX_LITERALS / 64]; /* prefilter literals present in the message */
};

static void view_line(const struct ruleset *rs, const struct record *rec, struct line_view *v)
{
    memset(v, 0, sizeof(*v));
    const struct lit_index *ix = lit_index_of(rs);
    if (!ix)
        return; /* not prepared: nothing to find */
    for (size_t i = 0; i < rs->n_programs; i++)
        if (ix->prog_len[i] == rec->program.n &&
            strncasecmp(rs->programs[i], rec->program.p, rec->program.n) == 0)
            v->programs |= 1ull << i;
    if (rec->message.n)
        find_literals(rs, ix, rec->message, v->found);
}

static bool program_allowed(const struct rule *rule, const struct record *rec,
                            const struct line_view *v)
{
    if (rec->program.n == 0)
        return rule->program_none || !rule->n_programs;
    if (!rule->n_programs)
        return !rule->program_none;
    if (rule->program_mask & v->programs)
        return true;
    if (rule->n_programs <= RULE_MAX_PROGRAMS &&
        __builtin_popcountll(rule->program_mask) == (int)rule->n_programs)
        return false;
    /* Rare: more distinct program names than bits; compare this rule's names directly. */
    for (size_t i = 0; i < rule->n_programs; i++) {
        const char *want = rule->programs[i];
        if (strlen(want) == rec->program.n &&
            strncasecmp(want, rec->program.p, rec->program.n) == 0)
            return true;
    }
    return false;
}

/* Returns 1 on a match, 0 on none, or the negative PCRE2 code of a match abandoned at a limit
 * (counted). Without PCRE2_UTF no other error can happen. */
static int run_pattern(struct matcher *m, const pcre2_code *re, pcre2_match_data *md, struct strv s)
{
    const struct ruleset *rs = m->rs;
    PCRE2_SPTR subject = (PCRE2_SPTR)(s.p ? s.p : "");
    int rc = rs->jit ? pcre2_jit_match(re, subject, s.n, 0, 0, md, rs->mctx)
                     : pcre2_match(re, subject, s.n, 0, 0, md, rs->mctx);
    if (rc == PCRE2_ERROR_JIT_BADOPTION)
        rc = pcre2_match(re, subject, s.n, 0, 0, md, rs->mctx);
    if (rc >= 0)
        return 1;
    if (rc == PCRE2_ERROR_NOMATCH)
        return 0;
    m->limit_hits++;
    return rc;
}

/* Returns true when rule matches; *limit_rc is the PCRE2 code of a pattern of it that gave up
 * at a limit, else 0. */
static bool matches_viewed(struct matcher *m, const struct rule *rule, const struct record *rec,
                           const struct line_view *v, int *limit_rc)
{
    *limit_rc = 0;
    if (!rule->re || rule->disabled || !program_allowed(rule, rec, v))
        return false;
    if (rule->lit_ids) {
        bool any = false;
        for (size_t k = 0; k < rule->n_lit_ids && !any; k++)
            any = v->found[rule->lit_ids[k] / 64] & (1ull << (rule->lit_ids[k] % 64));
        if (!any)
            return false;
    }
    int r = run_pattern(m, rule->re, m->md, rec->message);
    if (r < 0)
        *limit_rc = r;
    if (r != 1)
        return false;
    /* Excludes match into their own data, so m->md keeps the rule's captures. */
    for (size_t k = 0; k < rule->n_exclude; k++) {
        int x = run_pattern(m, rule->exclude[k], m->md_exclude, rec->message);
        if (x == 1)
            return false;
        if (x < 0)
            *limit_rc = x; /* an exclude that gave up excludes nothing */
    }
    return true;
}

bool matcher_matches(struct matcher *m, const struct rule *rule, const struct record *rec)
{
    struct line_view v;
    view_line(m->rs, rec, &v);
    int limit_rc;
    return matches_viewed(m, rule, rec, &v, &limit_rc);
}

int matcher_match(struct matcher *m, const struct record *rec, rule_hit_fn *hit, void *ctx)
{
    const struct ruleset *rs = m->rs;
    struct line_view v;
    view_line(rs, rec, &v);
    const struct lit_index *ix = lit_index_of(rs);
    uint64_t *cand = m->cand;
    memcpy(cand, ix->always, ix->words * sizeof(*cand));
    for (size_t w = 0; w < RULE_MAX_LITERALS / 64; w++)
        for (uint64_t bits = v.found[w]; bits; bits &= bits - 1) {
            const uint64_t *rules =
                    ix->lit_rules + (w * 64 + (size_t)__builtin_ctzll(bits)) * ix->words;
            for (size_t k = 0; k < ix->words; k++)
                cand[k] |= rules[k];
        }
    /* In load order, as if every rule were tried. */
    for (size_t w = 0; w < ix->words; w++)
        for (uint64_t bits = cand[w]; bits; bits &= bits - 1) {
            size_t r = w * 64 + (size_t)__builtin_ctzll(bits);
            const struct rule *rule = &rs->rules[r];
            int limit_rc;
            bool hit_it = matches_viewed(m, rule, rec, &v, &limit_rc);
            if (limit_rc && m->rule_limit_hits[r]++ == 0 && m->on_limit)
                m->on_limit(ctx, rule, limit_rc);
            if (!hit_it)
                continue;
            int rc = hit(ctx, rule, rec);
            if (rc < 0)
                return rc;
        }
    return 0;
}

enum severity rule_severity(const struct rule *rule, rule_field_fn *get, void *ctx)
{
    for (size_t i = 0; i < rule->n_severity_when; i++) {
        const struct rule_severity_when *sw = &rule->severity_when[i];
        struct strv v;
        if (!get(ctx, sw->field, &v))
            continue;
        for (size_t k = 0; k < sw->n_values; k++)
            if (strlen(sw->values[k]) == v.n && strncasecmp(sw->values[k], v.p, v.n) == 0)
                return sw->severity;
    }
    return rule->severity;
}

struct strv rule_normalized(const struct rule *rule, const char *field, struct strv value)
{
    for (size_t i = 0; i < rule->n_normalize; i++) {
        const struct rule_normalize *nz = &rule->normalize[i];
        if (strcmp(nz->field, field) != 0)
            continue;
        for (size_t k = 0; k < nz->n_values; k++)
            if (strlen(nz->values[k]) == value.n &&
                strncasecmp(nz->values[k], value.p, value.n) == 0)
                return strv_from_cstr(nz->value);
    }
    return value;
}

size_t matcher_captures(const struct matcher *m, const struct rule *rule, struct strv message,
                        struct rule_capture *out, size_t max)
{
    uint32_t count = 0, entry_size = 0;
    PCRE2_SPTR table;
    pcre2_pattern_info(rule->re, PCRE2_INFO_NAMECOUNT, &count);
    if (!count)
        return 0;
    pcre2_pattern_info(rule->re, PCRE2_INFO_NAMEENTRYSIZE, &entry_size);
    pcre2_pattern_info(rule->re, PCRE2_INFO_NAMETABLE, &table);
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(m->md);
    uint32_t pairs = pcre2_get_ovector_count(m->md);
    size_t n = 0;
    for (uint32_t i = 0; i < count && n < max; i++) {
        PCRE2_SPTR entry = table + (size_t)i * entry_size;
        uint32_t group = ((uint32_t)entry[0] << 8) | entry[1];
        if (group >= pairs || ov[2 * group] == PCRE2_UNSET)
            continue;
        out[n].name = (const char *)(entry + 2);
        out[n].value = strv_make(message.p + ov[2 * group], ov[2 * group + 1] - ov[2 * group]);
        n++;
    }
    return n;
}
