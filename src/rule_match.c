/* Matching records against rules. Per line, one pass finds every prefilter literal in the
 * message and so the rules worth trying; per such rule, cheapest test first: the program
 * list, then its literals, then the JIT-compiled pattern, and only on a match its exclude
 * patterns (a site may add many, and most lines never get that far). Most lines of a busy log
 * end after the one pass. A disabled rule is in no candidate set, so it costs nothing. */
#include "rule.h"

#include "buf.h"

#include <assert.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* PCRE2 work caps: a pathological pattern/line pair gives up instead of hanging the scan. */
#define MATCH_LIMIT     1000000u
#define DEPTH_LIMIT     10000u
#define HEAP_LIMIT_KIB  (64u << 10) /* backtracking frames; PCRE2's own default is 20 GB */
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

/* Returns the index after the argument of the escape "\e" whose argument would start at i:
 * a "{...}" body, the name of \k<name> \k'name' \g<name>, the digits of \x41 \012 \12
 * \g-1, the letter of \cA \pL. None of it is literal text. */
static size_t skip_escape_arg(const struct lit_scan *ls, char e, size_t i)
{
    if (i >= ls->n)
        return i;
    char c = ls->pat[i];
    if (c == '{' || ((e == 'k' || e == 'g') && (c == '<' || c == '\''))) {
        char close = c == '{' ? '}' : c == '<' ? '>' : '\'';
        const char *end = memchr(ls->pat + i + 1, close, ls->n - i - 1);
        return end ? (size_t)(end - ls->pat) + 1 : ls->n;
    }
    if (e == 'c' || e == 'p' || e == 'P')
        return i + 1;
    if (e == 'x') { /* at most two hex digits */
        for (int k = 0; k < 2 && i < ls->n && isxdigit((unsigned char)ls->pat[i]); k++)
            i++;
    } else if (e == '0') { /* at most two more octal digits */
        for (int k = 0; k < 2 && i < ls->n && ls->pat[i] >= '0' && ls->pat[i] <= '7'; k++)
            i++;
    } else if (isdigit((unsigned char)e) || e == 'g') {
        /* A back reference or octal: PCRE2 decides by the group count; all digits are its. */
        if (e == 'g' && (c == '-' || c == '+'))
            i++;
        while (i < ls->n && isdigit((unsigned char)ls->pat[i]))
            i++;
    }
    return i;
}

static size_t scan_seq(struct lit_scan *ls, size_t i, struct lit_run *best, bool *ret_alt);

/* Handles a group starting at i ('('). Returns the index after its ')' and any quantifier. */
static size_t scan_group(struct lit_scan *ls, size_t i, struct lit_run *best)
{
    size_t j = i + 1;
    bool useful = true; /* literals inside can be required */
    if (j < ls->n && ls->pat[j] == '*') {
        ls->bail = true; /* "(*CRLF)", "(*MARK:name)": verbs, whose names are no literals */
        return ls->n;
    }
    if (j < ls->n && ls->pat[j] == '?') {
        const char *p = ls->pat + j + 1;
        size_t left = ls->n - j - 1;
        if (left && (*p == ':' || *p == '>')) {
            j += 2; /* non-capturing or atomic: the content must still match */
        } else if (left >= 2 && (*p == '<' || *p == '\'') &&
                   (isalpha((unsigned char)p[1]) || p[1] == '_')) {
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
        } else if (left && (*p == '=' || *p == '!' || *p == '<' || *p == '|' || *p == '#')) {
            useful = false; /* lookaround, branch reset, comment: skip over */
            j += 2;
        } else {
            /* Option letters: "(?i)" mid-pattern or "(?x:" change what literals mean. */
            size_t k = j + 1;
            bool changes_literals = false;
            while (k < ls->n &&
                   (isalpha((unsigned char)ls->pat[k]) || ls->pat[k] == '-' || ls->pat[k] == '^')) {
                if (ls->pat[k] == 'i' || ls->pat[k] == 'x')
                    changes_literals = true;
                k++;
            }
            /* "(?i)" mid-pattern changes every literal after it; anything but ':' or ')'
             * after the letters is a reference or a condition ("(?P=name)", "(?&name)",
             * "(?1)", "(?(cond)"), whose text is no literal. */
            if (k >= ls->n || (ls->pat[k] != ')' && ls->pat[k] != ':') ||
                (changes_literals && ls->pat[k] == ')')) {
                ls->bail = true;
                return ls->n;
            }
            if (ls->pat[k] == ')')
                return k + 1;           /* option setting such as (?s): no group */
            useful = !changes_literals; /* "(?i:...)": skip over, "(?s:...)": look inside */
            j = k + 1;
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
                /* \d \w \s \b \x41 \1 ...: not a plain literal, nor is its argument. */
                run_commit(&cur, &local);
                i = skip_escape_arg(ls, e, i + 2);
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

/* Skips the option settings at the very start of pattern ("(?i)", "(?J)", "(?s)(?i)"): they
 * hold no literal text. Sets *start past them and *icase when they end case-insensitive.
 * Returns false when they make literals unusable ("(?x)": spaces stop being literal). */
static bool leading_options(const char *pattern, size_t *start, bool *icase)
{
    size_t i = 0;
    *icase = false;
    while (pattern[i] == '(' && pattern[i + 1] == '?') {
        size_t k = i + 2;
        bool on = true, x = false, ic = *icase;
        while (isalpha((unsigned char)pattern[k]) || pattern[k] == '-' || pattern[k] == '^') {
            char c = pattern[k++];
            if (c == '-')
                on = false;
            else if (c == '^')
                ic = false; /* "(?^)" resets the options */
            else if (c == 'i')
                ic = on;
            else if (c == 'x' && on)
                x = true;
        }
        if (pattern[k] != ')' || k == i + 2)
            break; /* a group "(?:...", "(?<name>...", not a setting */
        if (x)
            return false;
        *icase = ic;
        i = k + 1;
    }
    *start = i;
    return true;
}

char *rule_required_literal(const char *pattern, size_t *ret_len, bool *ret_icase)
{
    struct lit_scan ls = { .pat = pattern, .n = strlen(pattern) };
    size_t start;
    if (!leading_options(pattern, &start, ret_icase))
        return NULL;
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

/* ---- literal sets: one literal per top-level alternative ------------------------------ */

/* Returns the index of the ')' closing the group that opens at i, or n when unbalanced. */
static size_t group_end(const struct lit_scan *ls, size_t i)
{
    int depth = 0;
    for (size_t j = i; j < ls->n; j++) {
        char c = ls->pat[j];
        if (c == '\\') {
            j++;
        } else if (c == '[') {
            j = skip_class(ls, j) - 1;
        } else if (c == '(') {
            depth++;
        } else if (c == ')' && --depth == 0) {
            return j;
        }
    }
    return ls->n;
}

/* If pat[b0..b1) is exactly one group, returns true with its content range and whether it
 * switches case-insensitivity on; *ret_usable is false for lookarounds and (?x:). */
static bool whole_group(const struct lit_scan *ls, size_t b0, size_t b1, size_t *ret_in0,
                        bool *ret_icase, bool *ret_usable)
{
    if (b1 - b0 < 2 || ls->pat[b0] != '(' || group_end(ls, b0) != b1 - 1)
        return false;
    const char *p = ls->pat + b0 + 1;
    size_t in0 = b0 + 1;
    *ret_icase = false;
    *ret_usable = true;
    if (*p == '?') {
        p++;
        if (*p == ':' || *p == '>' || *p == '|') {
            in0 = (size_t)(p + 1 - ls->pat);
        } else if ((*p == '<' || *p == '\'') && (isalpha((unsigned char)p[1]) || p[1] == '_')) {
            const char *close = strchr(p + 1, *p == '<' ? '>' : '\'');
            if (!close)
                return false;
            in0 = (size_t)(close + 1 - ls->pat);
        } else if (p[0] == 'P' && p[1] == '<') {
            const char *close = strchr(p, '>');
            if (!close)
                return false;
            in0 = (size_t)(close + 1 - ls->pat);
        } else if (isalpha((unsigned char)*p) || *p == '-' || *p == '^') {
            bool on = true;
            for (; *p && *p != ':' && *p != ')'; p++) {
                if (*p == '-')
                    on = false;
                else if (*p == 'x')
                    *ret_usable = false;
                else if (*p == 'i')
                    *ret_icase = on;
            }
            if (*p != ':')
                return false;
            in0 = (size_t)(p + 1 - ls->pat);
        } else {
            *ret_usable = false; /* lookaround, comment, callout */
        }
    } else if (*p == '*') {
        *ret_usable = false; /* a verb such as (*ACCEPT), not a group */
    }
    *ret_in0 = in0;
    return true;
}

static int add_literal(struct rule_literal *out, size_t max, size_t *n, const char *text,
                       size_t len, bool icase)
{
    if (*n >= max)
        return -1;
    char *copy = malloc(len + 1);
    if (!copy)
        return HL_ENOMEM;
    memcpy(copy, text, len);
    copy[len] = '\0';
    out[(*n)++] = (struct rule_literal){ .text = copy, .len = len, .icase = icase };
    return 0;
}

/* Adds to out one literal per alternative of pat[start..end). Returns 0, -1 when some
 * alternative has no usable literal, or HL_ENOMEM. */
static int literal_set_range(const char *pat, size_t start, size_t end, bool icase,
                             struct rule_literal *out, size_t max, size_t *n, int depth)
{
    struct lit_scan ls = { .pat = pat, .n = end };
    if (depth > 8)
        return -1;
    size_t b0 = start;
    for (size_t i = start; i <= end; i++) {
        char c = i < end ? pat[i] : '|';
        if (i < end && c == '\\') {
            i++;
            continue;
        }
        if (i < end && c == '[') {
            i = skip_class(&ls, i) - 1;
            continue;
        }
        if (i < end && c == '(') {
            i = group_end(&ls, i);
            if (i >= end)
                return -1;
            continue;
        }
        if (c != '|')
            continue;
        /* One alternative: pat[b0..i). */
        size_t in0;
        bool gicase, usable;
        int r;
        if (whole_group(&ls, b0, i, &in0, &gicase, &usable)) {
            if (!usable)
                return -1;
            r = literal_set_range(pat, in0, i - 1, icase || gicase, out, max, n, depth + 1);
        } else {
            struct lit_scan sub = { .pat = pat, .n = i };
            struct lit_run best = { .len = 0 };
            bool alt = false;
            size_t stop = scan_seq(&sub, b0, &best, &alt);
            if (sub.bail || alt || stop != i || best.len < LITERAL_MIN_LEN)
                return -1;
            r = add_literal(out, max, n, best.text, best.len, icase);
        }
        if (r < 0)
            return r;
        b0 = i + 1;
    }
    return 0;
}

int rule_literal_set(const char *pattern, struct rule_literal *out, size_t max)
{
    size_t start, n = 0;
    bool icase;
    if (!leading_options(pattern, &start, &icase))
        return 0;
    int r = literal_set_range(pattern, start, strlen(pattern), icase, out, max, &n, 0);
    if (r < 0) {
        for (size_t i = 0; i < n; i++)
            free(out[i].text);
        return r == HL_ENOMEM ? r : 0;
    }
    return (int)n;
}

/* ---- prefilter: every literal of every rule, found in one pass over the message -------- */

/* The pass looks at every second pair of adjacent bytes of the message (the pairs starting
 * at even offsets): a 64 Kbit table says whether the pair is an anchor of some literal, and
 * only then is a short chain of candidates compared. Each literal (3 bytes at least) is
 * anchored at two overlapping pairs, its rarest three bytes by a rough frequency of bytes
 * in log text, so that one of the two starts at an even offset wherever the literal is;
 * a case-insensitive one gets all four case variants of each. Most messages run the table
 * test at half their bytes and nothing else (every pair was tested before: the pass was a
 * quarter of a plain scan). This replaced a PCRE2 alternation of the literals with
 * (*MARK)s, which cost about five times as much per line. Every occurrence of every literal
 * is found, so a literal inside another needs no special care.
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
    uint64_t *cand;                     /* owned: words: scratch, the rules of this line */
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
        free(ix->cand);
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
    ix->cand = calloc(ix->words ? ix->words : 1, sizeof(uint64_t));
    rs->programs = calloc(RULE_MAX_PROGRAMS, sizeof(*rs->programs));
    if (!ix->lit_rules || !ix->always || !ix->cand || !rs->programs)
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
    uint32_t max_groups = 1;
    for (size_t i = 0; i < rs->n; i++) {
        uint32_t c = 0;
        if (rs->rules[i].re)
            pcre2_pattern_info(rs->rules[i].re, PCRE2_INFO_CAPTURECOUNT, &c);
        if (c + 1 > max_groups)
            max_groups = c + 1;
    }
    ruleset_release_prefilter(rs);
    pcre2_match_data_free(rs->md);
    pcre2_match_data_free(rs->md_exclude);
    pcre2_match_context_free(rs->mctx);
    rs->md = pcre2_match_data_create(max_groups, NULL);
    /* An exclude only says whether it matched: one pair is enough (a match that would need
     * more returns 0, still a match). */
    rs->md_exclude = pcre2_match_data_create(1, NULL);
    rs->mctx = pcre2_match_context_create(NULL);
    if (!rs->md || !rs->md_exclude || !rs->mctx)
        return hl_err_set(err, HL_ENOMEM, NULL, "out of memory");
    pcre2_set_match_limit(rs->mctx, MATCH_LIMIT);
    pcre2_set_depth_limit(rs->mctx, DEPTH_LIMIT);
    pcre2_set_heap_limit(rs->mctx, HEAP_LIMIT_KIB);
    return index_rules(rs, err);
}

/* What one line offers the rules, worked out once per line. */
struct line_view {
    uint64_t programs;                      /* bits of ruleset.programs equal to it */
    bool program_known;                     /* the name matched one of those programs */
    uint64_t found[RULE_MAX_LITERALS / 64]; /* prefilter literals present in the message */
};

static void view_line(struct ruleset *rs, const struct record *rec, struct line_view *v)
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
static int run_pattern(struct ruleset *rs, const pcre2_code *re, pcre2_match_data *md,
                       struct strv s)
{
    PCRE2_SPTR subject = (PCRE2_SPTR)(s.p ? s.p : "");
    int rc = rs->jit ? pcre2_jit_match(re, subject, s.n, 0, 0, md, rs->mctx)
                     : pcre2_match(re, subject, s.n, 0, 0, md, rs->mctx);
    if (rc == PCRE2_ERROR_JIT_BADOPTION)
        rc = pcre2_match(re, subject, s.n, 0, 0, md, rs->mctx);
    if (rc >= 0)
        return 1;
    if (rc == PCRE2_ERROR_NOMATCH)
        return 0;
    rs->limit_hits++;
    return rc;
}

/* Returns true when rule matches; *limit_rc is the PCRE2 code of a pattern of it that gave up
 * at a limit, else 0. */
static bool matches_viewed(struct ruleset *rs, const struct rule *rule, const struct record *rec,
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
    int r = run_pattern(rs, rule->re, rs->md, rec->message);
    if (r < 0)
        *limit_rc = r;
    if (r != 1)
        return false;
    /* Excludes match into their own data, so rs->md keeps the rule's captures. */
    for (size_t k = 0; k < rule->n_exclude; k++) {
        int x = run_pattern(rs, rule->exclude[k], rs->md_exclude, rec->message);
        if (x == 1)
            return false;
        if (x < 0)
            *limit_rc = x; /* an exclude that gave up excludes nothing */
    }
    return true;
}

bool rule_matches(struct ruleset *rs, const struct rule *rule, const struct record *rec)
{
    struct line_view v;
    view_line(rs, rec, &v);
    int limit_rc;
    return matches_viewed(rs, rule, rec, &v, &limit_rc);
}

int ruleset_match(struct ruleset *rs, const struct record *rec, rule_hit_fn *hit, void *ctx)
{
    struct line_view v;
    view_line(rs, rec, &v);
    struct lit_index *ix = lit_index_of(rs);
    uint64_t *cand = ix->cand;
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
            struct rule *rule = &rs->rules[w * 64 + (size_t)__builtin_ctzll(bits)];
            int limit_rc;
            bool hit_it = matches_viewed(rs, rule, rec, &v, &limit_rc);
            if (limit_rc && rule->limit_hits++ == 0 && rs->on_limit)
                rs->on_limit(ctx, rule, limit_rc);
            if (!hit_it)
                continue;
            int r = hit(ctx, rule, rec);
            if (r < 0)
                return r;
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
