/* Matching records against rules. Per rule, cheapest test first: the program list, then a
 * literal every match must contain (memmem), then the JIT-compiled pattern, then the exclude
 * pattern. Most lines of a busy log fail at the first or second step. */
#include "rule.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* PCRE2 work caps: a pathological pattern/line pair gives up instead of hanging the scan. */
#define MATCH_LIMIT     1000000u
#define DEPTH_LIMIT     10000u
#define LITERAL_MIN_LEN 3
#define LITERAL_MAX_LEN 255

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

/* ---- required-literal extraction ------------------------------------------------------ */

/* State of the literal search over one pattern. A "run" is a stretch of literal characters
 * that a match must contain in this order; the best run is the longest. */
struct lit_scan {
    const char *pat;
    size_t n;
    bool bail; /* syntax we do not reason about: no prefilter for this pattern */
};

struct lit_run {
    char text[LITERAL_MAX_LEN];
    size_t len;
};

static void run_commit(struct lit_run *cur, struct lit_run *best)
{
    if (cur->len > best->len)
        *best = *cur;
    cur->len = 0;
}

/* Returns the index after a quantifier starting at i, or i when there is none. Sets
 * *optional when the quantified item may occur zero times. */
static size_t skip_quantifier(const struct lit_scan *ls, size_t i, bool *optional)
{
    *optional = false;
    if (i >= ls->n)
        return i;
    char c = ls->pat[i];
    size_t j = i;
    if (c == '?' || c == '*') {
        *optional = true;
        j = i + 1;
    } else if (c == '+') {
        j = i + 1;
    } else if (c == '{') {
        size_t k = i + 1;
        bool digits = false;
        while (k < ls->n && isdigit((unsigned char)ls->pat[k])) {
            digits = true;
            k++;
        }
        /* "{0,3}" or "{,3}" may be zero; "{2}" is not; "{" alone is a literal brace. */
        if (k < ls->n && (ls->pat[k] == ',' || ls->pat[k] == '}')) {
            if (!digits || ls->pat[i + 1] == '0')
                *optional = true;
            while (k < ls->n && ls->pat[k] != '}')
                k++;
            if (k < ls->n && (digits || ls->pat[i + 1] == ','))
                j = k + 1;
        }
        if (j == i)
            return i;
    } else {
        return i;
    }
    if (j < ls->n && (ls->pat[j] == '?' || ls->pat[j] == '+'))
        j++; /* lazy or possessive */
    return j;
}

/* Returns the index after the character class starting at i ('['). */
static size_t skip_class(const struct lit_scan *ls, size_t i)
{
    size_t j = i + 1;
    if (j < ls->n && ls->pat[j] == '^')
        j++;
    if (j < ls->n && ls->pat[j] == ']')
        j++; /* a leading ']' is a member */
    while (j < ls->n && ls->pat[j] != ']') {
        if (ls->pat[j] == '\\')
            j++;
        else if (ls->pat[j] == '[' && j + 1 < ls->n && ls->pat[j + 1] == ':') {
            const char *close = strstr(ls->pat + j + 2, ":]");
            if (close)
                j = (size_t)(close - ls->pat) + 1;
        }
        j++;
    }
    return j < ls->n ? j + 1 : ls->n;
}

static size_t scan_seq(struct lit_scan *ls, size_t i, struct lit_run *best, bool *ret_alt);

/* Handles a group starting at i ('('). Returns the index after its ')' and any quantifier. */
static size_t scan_group(struct lit_scan *ls, size_t i, struct lit_run *best)
{
    size_t j = i + 1;
    bool useful = true; /* literals inside can be required */
    if (j < ls->n && ls->pat[j] == '?') {
        const char *p = ls->pat + j + 1;
        size_t left = ls->n - j - 1;
        if (left && *p == ':') {
            j += 2;
        } else if (left >= 2 && (*p == '<' || *p == '\'') && (isalpha((unsigned char)p[1]) || p[1] == '_')) {
            const char *close = memchr(p, *p == '<' ? '>' : '\'', left);
            if (!close) {
                ls->bail = true;
                return ls->n;
            }
            j = (size_t)(close - ls->pat) + 1;
        } else if (left >= 2 && p[0] == 'P' && p[1] == '<') {
            const char *close = memchr(p, '>', left);
            if (!close) {
                ls->bail = true;
                return ls->n;
            }
            j = (size_t)(close - ls->pat) + 1;
        } else if (left && (*p == '=' || *p == '!' || *p == '<' || *p == '|' || *p == '#' ||
                            *p == '>')) {
            useful = false; /* lookaround, branch reset, comment, atomic: skip over */
            j += 2;
        } else {
            /* Option letters: "(?i)" mid-pattern or "(?x:" change what literals mean. */
            size_t k = j + 1;
            bool changes_literals = false;
            while (k < ls->n && (isalpha((unsigned char)ls->pat[k]) || ls->pat[k] == '-' ||
                                 ls->pat[k] == '^')) {
                if (ls->pat[k] == 'i' || ls->pat[k] == 'x')
                    changes_literals = true;
                k++;
            }
            if (k >= ls->n || changes_literals) {
                ls->bail = true;
                return ls->n;
            }
            if (ls->pat[k] == ')')
                return k + 1; /* option setting such as (?s): no group */
            j = k + 1;         /* "(?s:...)" */
        }
    }
    struct lit_run inner = { .len = 0 };
    bool alt = false;
    j = scan_seq(ls, j, &inner, &alt);
    if (j >= ls->n || ls->pat[j] != ')') {
        ls->bail = true;
        return ls->n;
    }
    bool optional;
    size_t after = skip_quantifier(ls, j + 1, &optional);
    if (useful && !alt && !optional && inner.len > best->len)
        *best = inner;
    return after;
}

/* Scans a sequence up to an unmatched ')' or the end; returns where it stopped. */
static size_t scan_seq(struct lit_scan *ls, size_t i, struct lit_run *best, bool *ret_alt)
{
    struct lit_run cur = { .len = 0 };
    struct lit_run local = { .len = 0 };
    while (i < ls->n && !ls->bail) {
        char c = ls->pat[i];
        char lit;
        size_t next;
        if (c == ')')
            break;
        if (c == '|') {
            *ret_alt = true;
            run_commit(&cur, &local);
            i++;
            continue;
        }
        if (c == '(') {
            run_commit(&cur, &local);
            i = scan_group(ls, i, &local);
            continue;
        }
        if (c == '[') {
            run_commit(&cur, &local);
            bool optional;
            i = skip_quantifier(ls, skip_class(ls, i), &optional);
            continue;
        }
        if (c == '.' || c == '^' || c == '$') {
            run_commit(&cur, &local);
            bool optional;
            i = skip_quantifier(ls, i + 1, &optional);
            continue;
        }
        if (c == '\\') {
            if (i + 1 >= ls->n) {
                ls->bail = true;
                break;
            }
            char e = ls->pat[i + 1];
            if (e == 'Q' || e == 'E') {
                ls->bail = true;
                break;
            }
            if (isalnum((unsigned char)e)) {
                /* \d \w \s \b \x41 \1 ...: not a plain literal; skip a \x{..} body too. */
                run_commit(&cur, &local);
                i += 2;
                if (i < ls->n && ls->pat[i] == '{') {
                    while (i < ls->n && ls->pat[i] != '}')
                        i++;
                    i++;
                }
                bool optional;
                i = skip_quantifier(ls, i, &optional);
                continue;
            }
            lit = e;
            next = i + 2;
        } else {
            lit = c;
            next = i + 1;
        }
        bool optional;
        size_t after = skip_quantifier(ls, next, &optional);
        if (after != next) {
            /* "ab?c" or "ab+c": the quantified character ends the run; with '+' it still
             * belongs to it once. */
            if (!optional && cur.len < LITERAL_MAX_LEN)
                cur.text[cur.len++] = lit;
            run_commit(&cur, &local);
            i = after;
            continue;
        }
        if (cur.len == LITERAL_MAX_LEN)
            run_commit(&cur, &local);
        cur.text[cur.len++] = lit;
        i = next;
    }
    run_commit(&cur, &local);
    if (!*ret_alt && local.len > best->len)
        *best = local;
    return i;
}

char *rule_required_literal(const char *pattern, size_t *ret_len, bool *ret_icase)
{
    struct lit_scan ls = { .pat = pattern, .n = strlen(pattern) };
    *ret_icase = false;
    size_t start = 0;
    if (strncmp(pattern, "(?i)", 4) == 0) {
        *ret_icase = true;
        start = 4;
    }
    struct lit_run best = { .len = 0 };
    bool alt = false;
    size_t end = scan_seq(&ls, start, &best, &alt);
    if (ls.bail || alt || end != ls.n || best.len < LITERAL_MIN_LEN)
        return NULL;
    char *lit = malloc(best.len + 1);
    if (!lit)
        return NULL;
    memcpy(lit, best.text, best.len);
    lit[best.len] = '\0';
    *ret_len = best.len;
    return lit;
}

/* ---- matching -------------------------------------------------------------------------- */

int ruleset_prepare(struct ruleset *rs, struct hl_err *err)
{
    uint32_t max_groups = 1;
    for (size_t i = 0; i < rs->n; i++) {
        uint32_t c = 0;
        pcre2_pattern_info(rs->rules[i].re, PCRE2_INFO_CAPTURECOUNT, &c);
        if (c + 1 > max_groups)
            max_groups = c + 1;
        if (rs->rules[i].exclude) {
            pcre2_pattern_info(rs->rules[i].exclude, PCRE2_INFO_CAPTURECOUNT, &c);
            if (c + 1 > max_groups)
                max_groups = c + 1;
        }
    }
    pcre2_match_data_free(rs->md);
    pcre2_match_context_free(rs->mctx);
    rs->md = pcre2_match_data_create(max_groups, NULL);
    rs->mctx = pcre2_match_context_create(NULL);
    if (!rs->md || !rs->mctx)
        return hl_err_set(err, HL_ENOMEM, NULL, "out of memory");
    pcre2_set_match_limit(rs->mctx, MATCH_LIMIT);
    pcre2_set_depth_limit(rs->mctx, DEPTH_LIMIT);
    return 0;
}

static bool program_allowed(const struct rule *rule, struct strv program)
{
    if (!rule->n_programs)
        return true;
    for (size_t i = 0; i < rule->n_programs; i++) {
        const char *want = rule->programs[i];
        if (strlen(want) == program.n && strncasecmp(want, program.p, program.n) == 0)
            return true;
    }
    return false;
}

static bool contains_icase(struct strv hay, const char *needle, size_t n)
{
    if (n > hay.n)
        return false;
    for (size_t i = 0; i + n <= hay.n; i++)
        if (strncasecmp(hay.p + i, needle, n) == 0)
            return true;
    return false;
}

/* Returns 1 on a match, 0 on none; counts a match abandoned at the work limit. */
static int run_pattern(struct ruleset *rs, const pcre2_code *re, struct strv s)
{
    PCRE2_SPTR subject = (PCRE2_SPTR)(s.p ? s.p : "");
    int rc = rs->jit ? pcre2_jit_match(re, subject, s.n, 0, 0, rs->md, rs->mctx)
                     : pcre2_match(re, subject, s.n, 0, 0, rs->md, rs->mctx);
    if (rc == PCRE2_ERROR_JIT_BADOPTION)
        rc = pcre2_match(re, subject, s.n, 0, 0, rs->md, rs->mctx);
    if (rc >= 0)
        return 1;
    if (rc != PCRE2_ERROR_NOMATCH)
        rs->limit_hits++;
    return 0;
}

bool rule_matches(struct ruleset *rs, const struct rule *rule, const struct record *rec)
{
    if (!program_allowed(rule, rec->program))
        return false;
    if (rule->literal) {
        bool has = rule->literal_icase
                           ? contains_icase(rec->message, rule->literal, rule->literal_len)
                           : rec->message.n >= rule->literal_len &&
                                     memmem(rec->message.p, rec->message.n, rule->literal,
                                            rule->literal_len) != NULL;
        if (!has)
            return false;
    }
    if (rule->exclude && run_pattern(rs, rule->exclude, rec->message))
        return false;
    /* The main pattern runs last so its captures are what rs->md holds afterwards. */
    return run_pattern(rs, rule->re, rec->message) == 1;
}

int ruleset_match(struct ruleset *rs, const struct record *rec, rule_hit_fn *hit, void *ctx)
{
    for (size_t i = 0; i < rs->n; i++) {
        const struct rule *rule = &rs->rules[i];
        if (!rule_matches(rs, rule, rec))
            continue;
        int r = hit(ctx, rule, rec);
        if (r < 0)
            return r;
    }
    return 0;
}

size_t rule_captures(const struct ruleset *rs, const struct rule *rule, struct strv message,
                     struct rule_capture *out, size_t max)
{
    uint32_t count = 0, entry_size = 0;
    PCRE2_SPTR table;
    pcre2_pattern_info(rule->re, PCRE2_INFO_NAMECOUNT, &count);
    if (!count)
        return 0;
    pcre2_pattern_info(rule->re, PCRE2_INFO_NAMEENTRYSIZE, &entry_size);
    pcre2_pattern_info(rule->re, PCRE2_INFO_NAMETABLE, &table);
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(rs->md);
    uint32_t pairs = pcre2_get_ovector_count(rs->md);
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
