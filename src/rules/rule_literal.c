/* Literals a pattern's matches must contain, proven from the pattern's text alone: the
 * longest required run (rule_required_literal) and one literal per top-level alternative
 * (rule_literal_set), which the matcher's prefilter looks for before running any regex. A
 * pattern whose syntax is not understood yields none, and the rule then always runs. */
#include "rule.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define LITERAL_MIN_LEN 3
#define LITERAL_MAX_LEN 255

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

/* Whether run a makes a better prefilter literal than b. One with a digit wins over words
 * (a port, a code such as "1792" or "0xc0000711" is far rarer in logs than "connect to", which
 * Luna's own NTLS lines say all day), then the longer run. */
static bool run_better(const struct lit_run *a, const struct lit_run *b)
{
    bool da = false, db = false;
    for (size_t i = 0; i < a->len && !da; i++)
        da = isdigit((unsigned char)a->text[i]);
    for (size_t i = 0; i < b->len && !db; i++)
        db = isdigit((unsigned char)b->text[i]);
    if (a->len >= LITERAL_MIN_LEN && b->len >= LITERAL_MIN_LEN && da != db)
        return da;
    return a->len > b->len;
}

static void run_commit(struct lit_run *cur, struct lit_run *best)
{
    if (run_better(cur, best))
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
    if (useful && !alt && !optional && run_better(&inner, best))
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
    if (!*ret_alt && run_better(&local, best))
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
