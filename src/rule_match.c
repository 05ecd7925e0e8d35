/* Matching records against rules. Per rule, cheapest test first: the program list, then a
 * literal every match must contain (memmem), then the JIT-compiled pattern, then the exclude
 * pattern. Most lines of a busy log fail at the first or second step. */
#include "rule.h"

#include "buf.h"

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
    size_t start = 0, n = 0;
    bool icase = false;
    if (strncmp(pattern, "(?i)", 4) == 0) {
        icase = true;
        start = 4;
    }
    int r = literal_set_range(pattern, start, strlen(pattern), icase, out, max, &n, 0);
    if (r < 0) {
        for (size_t i = 0; i < n; i++)
            free(out[i].text);
        return r == HL_ENOMEM ? r : 0;
    }
    return (int)n;
}

/* ---- prefilter: all literals of all rules in one JIT-compiled alternation --------------- */

void ruleset_release_prefilter(struct ruleset *rs)
{
    for (size_t i = 0; i < rs->n_lits; i++)
        free(rs->lits[i].text);
    free(rs->lits);
    rs->lits = NULL;
    rs->n_lits = 0;
    free(rs->implies);
    rs->implies = NULL;
    pcre2_code_free(rs->prefilter);
    rs->prefilter = NULL;
    pcre2_match_data_free(rs->pre_md);
    rs->pre_md = NULL;
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

static bool contains_icase(const char *hay, size_t hn, const char *needle, size_t n)
{
    if (n > hn)
        return false;
    for (size_t i = 0; i + n <= hn; i++)
        if (strncasecmp(hay + i, needle, n) == 0)
            return true;
    return false;
}

/* True when finding b in a line guarantees a is there too. */
static bool literal_implies(const struct rule_literal *b, const struct rule_literal *a)
{
    if (a->icase)
        return contains_icase(b->text, b->len, a->text, a->len);
    return !b->icase && memmem(b->text, b->len, a->text, a->len) != NULL;
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

static int cmp_by_len_desc(const void *a, const void *b, void *ctx)
{
    const struct rule_literal *lits = ctx;
    size_t la = lits[*(const uint16_t *)a].len, lb = lits[*(const uint16_t *)b].len;
    return la < lb ? 1 : la > lb ? -1 : 0;
}

/* Builds "(?:lit(*MARK:i)|...)", longest first: at one position the longest literal wins, and
 * the implies table then accounts for the shorter ones it contains. */
static int build_prefilter(struct ruleset *rs, struct hl_err *err)
{
    if (!rs->n_lits)
        return 0;
    uint16_t order[RULE_MAX_LITERALS];
    for (size_t i = 0; i < rs->n_lits; i++)
        order[i] = (uint16_t)i;
    qsort_r(order, rs->n_lits, sizeof(order[0]), cmp_by_len_desc, rs->lits);
    /* A case-sensitive literal that a longer or equally long case-insensitive one contains
     * ("abc" in "(?i)abc") could lose the alternation to it at the same position without
     * being implied: search it directly. */
    for (size_t a = 0; a < rs->n_lits; a++)
        for (size_t b = 0; b < rs->n_lits; b++)
            if (b != a && rs->lits[b].len >= rs->lits[a].len &&
                contains_icase(rs->lits[b].text, rs->lits[b].len, rs->lits[a].text,
                               rs->lits[a].len) &&
                !literal_implies(&rs->lits[b], &rs->lits[a]))
                rs->lits[a].direct = true;
    struct buf pat;
    buf_init(&pat, 1u << 20);
    int r = buf_adds(&pat, "(?:");
    bool first = true;
    for (size_t k = 0; r == 0 && k < rs->n_lits; k++) {
        const struct rule_literal *l = &rs->lits[order[k]];
        if (l->direct)
            continue;
        r = buf_adds(&pat, first ? "" : "|");
        first = false;
        if (r == 0 && l->icase)
            r = buf_adds(&pat, "(?i:");
        for (size_t c = 0; r == 0 && c < l->len; c++) {
            /* A backslash before a non-alphanumeric is always a literal in PCRE2. */
            if (!isalnum((unsigned char)l->text[c]) && (unsigned char)l->text[c] < 0x80)
                r = buf_addc(&pat, '\\');
            if (r == 0)
                r = buf_addc(&pat, l->text[c]);
        }
        if (r == 0)
            r = buf_printf(&pat, "%s(*MARK:%u)", l->icase ? ")" : "", (unsigned)order[k]);
    }
    if (r == 0)
        r = buf_addc(&pat, ')');
    if (r < 0) {
        buf_release(&pat);
        return hl_err_set(err, HL_ENOMEM, NULL, "out of memory");
    }
    int errcode;
    PCRE2_SIZE erroff;
    rs->prefilter = pcre2_compile((PCRE2_SPTR)pat.data, pat.len, 0, &errcode, &erroff, NULL);
    buf_release(&pat);
    if (!rs->prefilter) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(errcode, msg, sizeof(msg));
        return hl_err_set(err, HL_ERULE, NULL, "cannot build the prefilter: %s", (char *)msg);
    }
    (void)pcre2_jit_compile(rs->prefilter, PCRE2_JIT_COMPLETE);
    rs->pre_md = pcre2_match_data_create(1, NULL);
    rs->implies = calloc(rs->n_lits, sizeof(*rs->implies));
    if (!rs->pre_md || !rs->implies)
        return hl_err_set(err, HL_ENOMEM, NULL, "out of memory");
    for (size_t b = 0; b < rs->n_lits; b++)
        for (size_t a = 0; a < rs->n_lits; a++)
            if (a == b || literal_implies(&rs->lits[b], &rs->lits[a]))
                rs->implies[b][a / 64] |= 1ull << (a % 64);
    return 0;
}

/* Gives every rule its literal ids and program bits. */
static int index_rules(struct ruleset *rs, struct hl_err *err)
{
    rs->lits = calloc(RULE_MAX_LITERALS, sizeof(*rs->lits));
    rs->programs = calloc(RULE_MAX_PROGRAMS, sizeof(*rs->programs));
    if (!rs->lits || !rs->programs)
        return hl_err_set(err, HL_ENOMEM, NULL, "out of memory");
    for (size_t i = 0; i < rs->n; i++) {
        struct rule *rule = &rs->rules[i];
        if (!rule->re)
            continue; /* a derived rule matches no lines */
        for (size_t p = 0; p < rule->n_programs; p++) {
            size_t k = 0;
            while (k < rs->n_programs && strcmp(rs->programs[k], rule->programs[p]) != 0)
                k++;
            if (k == rs->n_programs && k < RULE_MAX_PROGRAMS) {
                if (!(rs->programs[k] = strdup(rule->programs[p])))
                    return hl_err_set(err, HL_ENOMEM, NULL, "out of memory");
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
        } else {
            free(ids);
        }
    }
    return build_prefilter(rs, err);
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
        if (rs->rules[i].exclude) {
            pcre2_pattern_info(rs->rules[i].exclude, PCRE2_INFO_CAPTURECOUNT, &c);
            if (c + 1 > max_groups)
                max_groups = c + 1;
        }
    }
    ruleset_release_prefilter(rs);
    pcre2_match_data_free(rs->md);
    pcre2_match_context_free(rs->mctx);
    rs->md = pcre2_match_data_create(max_groups, NULL);
    rs->mctx = pcre2_match_context_create(NULL);
    if (!rs->md || !rs->mctx)
        return hl_err_set(err, HL_ENOMEM, NULL, "out of memory");
    pcre2_set_match_limit(rs->mctx, MATCH_LIMIT);
    pcre2_set_depth_limit(rs->mctx, DEPTH_LIMIT);
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
    for (size_t i = 0; i < rs->n_programs; i++) {
        const char *name = rs->programs[i];
        if (strlen(name) == rec->program.n &&
            strncasecmp(name, rec->program.p, rec->program.n) == 0)
            v->programs |= 1ull << i;
    }
    if (!rs->prefilter || !rec->message.n)
        return;
    for (size_t i = 0; i < rs->n_lits; i++) {
        const struct rule_literal *l = &rs->lits[i];
        if (l->direct &&
            (l->icase ? contains_icase(rec->message.p, rec->message.n, l->text, l->len)
                      : memmem(rec->message.p, rec->message.n, l->text, l->len) != NULL))
            v->found[i / 64] |= 1ull << (i % 64);
    }
    PCRE2_SPTR subject = (PCRE2_SPTR)rec->message.p;
    PCRE2_SIZE off = 0;
    while (off < rec->message.n) {
        int rc = rs->jit ? pcre2_jit_match(rs->prefilter, subject, rec->message.n, off, 0,
                                           rs->pre_md, rs->mctx)
                         : pcre2_match(rs->prefilter, subject, rec->message.n, off, 0, rs->pre_md,
                                       rs->mctx);
        if (rc == PCRE2_ERROR_JIT_BADOPTION)
            rc = pcre2_match(rs->prefilter, subject, rec->message.n, off, 0, rs->pre_md, rs->mctx);
        if (rc < 0)
            break;
        PCRE2_SPTR mark = pcre2_get_mark(rs->pre_md);
        size_t id = 0;
        for (const PCRE2_UCHAR *m = mark; m && *m; m++)
            id = id * 10 + (size_t)(*m - '0');
        if (mark && id < rs->n_lits)
            for (size_t w = 0; w < RULE_MAX_LITERALS / 64; w++)
                v->found[w] |= rs->implies[id][w];
        off = pcre2_get_ovector_pointer(rs->pre_md)[0] + 1;
    }
}

static bool program_allowed(const struct rule *rule, const struct record *rec,
                            const struct line_view *v)
{
    if (!rule->n_programs)
        return true;
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

static bool matches_viewed(struct ruleset *rs, const struct rule *rule, const struct record *rec,
                           const struct line_view *v)
{
    if (!rule->re || !program_allowed(rule, rec, v))
        return false;
    if (rule->lit_ids) {
        bool any = false;
        for (size_t k = 0; k < rule->n_lit_ids && !any; k++)
            any = v->found[rule->lit_ids[k] / 64] & (1ull << (rule->lit_ids[k] % 64));
        if (!any)
            return false;
    }
    if (rule->exclude && run_pattern(rs, rule->exclude, rec->message))
        return false;
    /* The main pattern runs last so its captures are what rs->md holds afterwards. */
    return run_pattern(rs, rule->re, rec->message) == 1;
}

bool rule_matches(struct ruleset *rs, const struct rule *rule, const struct record *rec)
{
    struct line_view v;
    view_line(rs, rec, &v);
    return matches_viewed(rs, rule, rec, &v);
}

int ruleset_match(struct ruleset *rs, const struct record *rec, rule_hit_fn *hit, void *ctx)
{
    struct line_view v;
    view_line(rs, rec, &v);
    for (size_t i = 0; i < rs->n; i++) {
        const struct rule *rule = &rs->rules[i];
        if (!matches_viewed(rs, rule, rec, &v))
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
