/* The rule loader's shared parts, internal to the rules layer: only the loader's own files
 * include it (tools/layers lists them in INTERNAL and checks); every other module uses rule.h.
 *
 * A load reads a text into drafts (struct rule_draft: each key's values as written, with
 * where they stood), builds each complete draft into a struct rule, and reports every problem
 * into one struct rule_errors through the struct loader. The loader's functions never stop at
 * the first problem; an allocation failure sets loader.nomem and the load ends with
 * HL_ENOMEM. */
#ifndef HSMLOG_RULE_LOAD_H
#define HSMLOG_RULE_LOAD_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "common.h"
#include "rule.h"
#include "strv.h"

#define RULE_FILE_MAX (4u << 20) /* a rule file larger than this is surely not one */

enum rule_key {
    KEY_SEVERITY,
    KEY_PROGRAM,
    KEY_REGEX,
    KEY_EXCLUDE,
    KEY_SUMMARY,
    KEY_REMEDY,
    KEY_REFS,
    KEY_TEST,
    KEY_TEST_NO,
    KEY_GROUP_BY,
    KEY_GAP,
    KEY_THRESHOLD,
    KEY_RESET,
    KEY_ESCALATE,
    KEY_AFTER,
    KEY_EXPECT,
    KEY_CAUSED_BY,
    KEY_LIMIT,
    KEY_INCIDENT,
    KEY_TEST_LOG,
    KEY_TEST_INCIDENTS,
    KEY_CARRY,
    KEY_HOSTS,
    KEY_RESET_BY,
    KEY_SEVERITY_WHEN,
    KEY_ENABLED,
    KEY_NORMALIZE,
    KEY__COUNT
};

/* One row of rule_key_table: how the reader treats a key. */
struct key_info {
    const char *name;
    bool required;   /* a stanza without it is an error */
    bool repeatable; /* may appear more than once */
    bool continues;  /* indented lines after it continue its value */
};

/* The keys by enum rule_key: the table drives the reader and the whole-stanza checks. */
extern const struct key_info rule_key_table[KEY__COUNT];

/* A value as written, with where it stood (for error columns). */
struct value {
    struct buf text;  /* the value, continuation lines joined with one space */
    const char *file; /* borrowed from ruleset.files: the file it is in */
    uint64_t order;   /* load number << 32 | line: orders values across files */
    unsigned line;    /* line of the key */
    unsigned col;     /* 1-based column where the value starts */
    const char *src;  /* borrowed: start of the key's line in ruleset.texts */
    size_t src_len;   /* length of that line */
};

/* A stanza being read, or kept with its rule for overrides (then merged with them). In a
 * merged draft, file and line are those of the latest override, which stanza-level errors
 * name. Invariant: for a non-repeatable key, n_values[k] <= 1. */
struct rule_draft {
    char *id;                         /* owned */
    const char *file;                 /* borrowed from ruleset.files */
    unsigned line;                    /* line of the [id] header */
    const char *hdr;                  /* borrowed: the header line in ruleset.texts */
    size_t hdr_len;                   /* its length */
    unsigned id_col;                  /* 1-based column of the id in it */
    bool broken;                      /* an error was reported for this stanza */
    struct value *values[KEY__COUNT]; /* owned arrays of n_values[k] values */
    size_t n_values[KEY__COUNT];
};

/* Where the loader is, for messages. */
struct loader {
    struct ruleset *rs;
    struct rule_errors *errs;
    const char *file; /* borrowed: interned in rs->files once the text is read */
    uint64_t load_no; /* which load this is, for value order */
    bool site;        /* a site file: stanzas of loaded ids are overrides */
    int added;        /* errors added by this load (warnings not counted) */
    bool nomem;       /* an allocation failed: give up */
    /* Hash set of rs->rules indexes + 1 (0 = empty) by id, for the duplicate check, so that a
     * file of tens of thousands of rules loads in linear time. Owned; holds rules [0, hashed). */
    size_t *ids;
    size_t ids_cap, hashed;
};

/* What a built rule still needs once it has its index: the internal rules of its patterns. */
struct built {
    pcre2_code *reset;  /* owned, or NULL */
    char *reset_src;    /* owned, or NULL */
    pcre2_code *expect; /* owned, or NULL */
    char *expect_src;   /* owned, or NULL */
};

/* ---- reporting (rule_load.c) ----------------------------------------------------------------- */

/* Reports an error at file:line:col (col 0: none, line 0: the file as a whole) with text, the
 * offending line, shown under it when non-NULL. Counts it in ld->added. */
void loader_error_in(struct loader *ld, const char *file, unsigned line, int col, const char *text,
                     size_t text_len, const char *fmt, ...) HL_PRINTF(7, 8);

/* Reports a warning at file:line: kept in the list, not counted in ld->added. */
void loader_warning_in(struct loader *ld, const char *file, unsigned line, const char *fmt, ...)
        HL_PRINTF(4, 5);

/* Reports an error in the file being read. */
#define add_error(ld, ...) loader_error_in((ld), (ld)->file, __VA_ARGS__)

/* Reports a problem with value v, the caret at the start of the value. */
#define value_error(ld, v, ...) \
    loader_error_in((ld), (v)->file, (v)->line, (int)(v)->col, (v)->src, (v)->src_len, __VA_ARGS__)

/* Reports a problem of the stanza as a whole, at its [id] header. */
#define stanza_error(ld, d, ...) \
    loader_error_in((ld), (d)->file, (d)->line, 0, NULL, 0, __VA_ARGS__)

/* ---- drafts (rule_load.c) -------------------------------------------------------------------- */

/* Returns true for an id of the form rules/README.md gives: lowercase area.name. */
bool rule_id_valid(const char *id);

/* Returns the text of the i-th value of key k, NUL-terminated. */
static inline const char *value_cstr(const struct rule_draft *d, enum rule_key k, size_t i)
{
    return buf_cstr(&d->values[k][i].text);
}

/* Appends an empty value to key k of d (capped at RULE_FILE_MAX); NULL when out of memory. */
struct value *rule_draft_add_value(struct loader *ld, struct rule_draft *d, enum rule_key k);

/* Appends a copy of v (its own text; file and src shared) to key k of d; false when out of
 * memory. */
bool rule_draft_append_copy(struct loader *ld, struct rule_draft *d, enum rule_key k,
                            const struct value *v);

/* Fills the empty draft c with a copy of d. Returns false when out of memory (c then holds
 * what was copied, for rule_draft_release()). */
bool rule_draft_copy(struct loader *ld, struct rule_draft *c, const struct rule_draft *d);

/* Moves d to the heap, for a rule to keep; NULL when out of memory (d is then released). */
struct rule_draft *rule_draft_keep(struct loader *ld, struct rule_draft *d);

/* Frees the values of key k; the key is then absent. */
void rule_draft_clear_key(struct rule_draft *d, enum rule_key k);

/* Frees the contents of d, which is then all zero. */
void rule_draft_release(struct rule_draft *d);

/* Frees d and its contents; NULL is a no-op. */
void rule_draft_free(struct rule_draft *d);

/* ---- values and incident keys (rule_spec.c) -------------------------------------------------- */

/* Frees the n strings of v and v. */
void rule_strs_free(char **v, size_t n);

/* Splits list at sep into trimmed, non-empty owned strings appended to *v (*n of them).
 * Returns 0 or HL_ENOMEM. */
int rule_split_list(struct strv list, char sep, char ***v, size_t *n);

/* Finds the last " within " in s: the text before it goes to *head, the duration after it
 * (up to " same " when tail is wanted) to *us, and what follows " same " to *tail. Returns
 * false when there is none or the duration is bad. */
bool rule_split_within(struct strv s, struct strv *head, int64_t *us, struct strv *tail);

/* Reads the incident keys of d into sp (rules/README.md, "Incidents"); reports every problem.
 * Returns false on any; sp then holds what was read, for rule_spec_release(). */
bool rule_spec_parse(struct loader *ld, const struct rule_draft *d, struct rule_incident_spec *sp);

/* Frees the contents of sp, which is then all zero. */
void rule_spec_release(struct rule_incident_spec *sp);

/* ---- building rules (rule_build.c) ----------------------------------------------------------- */

/* Frees the contents of r (a half-built rule too). */
void rule_release(struct rule *r);

/* Frees what x holds, which is then all zero. */
void built_release(struct built *x);

/* Builds r from the complete draft d, checking it whole: a draft already broken by a line error
 * is still checked in full, so every problem of the stanza is reported. dup is an earlier rule
 * with the same id (an error), or NULL. Returns true when r is a rule and x holds its reset and
 * expect patterns; else both are left empty. */
bool loader_build_rule(struct loader *ld, struct rule_draft *d, const struct rule *dup,
                       struct rule *r, struct built *x);

/* Gives rules[idx] the internal rules of its reset and expect patterns; takes x's contents. */
void loader_add_patterns(struct loader *ld, size_t idx, struct built *x);

/* Appends the built rule r (from draft d, which it keeps) and its internal rules. */
void loader_install_new(struct loader *ld, struct rule_draft *d, struct rule *r, struct built *x);

/* ---- site overrides (rule_override.c) -------------------------------------------------------- */

/* Rebuilds rules[base] with the override stanza o merged into its keys. When the merged rule
 * does not load, the errors say why and the rule stays as it was. */
void loader_override(struct loader *ld, struct rule_draft *o, size_t base);

/* A site stanza whose id is not loaded is a new rule only when it has what every rule needs;
 * without that it was meant to override, and one error says so. Returns false then. */
bool loader_new_site_rule(struct loader *ld, struct rule_draft *d);

/* ---- the pack's version (rule_version.c) ----------------------------------------------------- */

/* Reads the VERSION file of the pack directory dir into ld->rs->declared, unless a directory
 * loaded before declared one. A directory without one declares nothing; a file that is not
 * one version of RULE_PACK_DECLARED_MAX letters, digits, '.', '-' or '_' is an error. */
void loader_read_declared(struct loader *ld, const char *dir);

/* Gives every public rule that still has its draft its definition and digest, then the
 * ruleset its version (rule.h). Call before the drafts are freed. Returns 0 or HL_ENOMEM. */
int ruleset_make_version(struct ruleset *rs);

/* ---- the ruleset (rule_file.c) --------------------------------------------------------------- */

/* Frees the loaded texts the drafts point into. */
void ruleset_free_texts(struct ruleset *rs);

#endif
