/* Rule files: reads a rule file, a directory of them or text in memory, and splits it into
 * stanzas (rules/README.md): one pass over the lines, every problem collected with
 * file:line:col. Each complete stanza goes to the builder (rule_build.c), or, in a site file
 * and for a loaded id, to the overrides (rule_override.c). Also owns the ruleset's lifetime:
 * its rules, the file names they point at and the texts their drafts point into. */
#include "rule.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "rule_load.h"
#include "utf8.h"

void ruleset_init(struct ruleset *rs)
{
    memset(rs, 0, sizeof(*rs));
}

void ruleset_free_texts(struct ruleset *rs)
{
    for (size_t i = 0; i < rs->n_texts; i++)
        free(rs->texts[i]);
    free(rs->texts);
    rs->texts = NULL;
    rs->n_texts = 0;
}

void ruleset_release(struct ruleset *rs)
{
    ruleset_release_prefilter(rs); /* before the rules: it clears their literal ids */
    for (size_t i = 0; i < rs->n; i++)
        rule_release(&rs->rules[i]);
    free(rs->rules);
    pcre2_match_context_free(rs->mctx);
    for (size_t i = 0; i < rs->n_files; i++)
        free(rs->files[i]);
    free(rs->files);
    ruleset_free_texts(rs);
    free(rs->declared);
    free(rs->version);
    ruleset_init(rs);
}

/* Returns the ruleset's copy of the file name, adding it when new; NULL when out of memory. */
static const char *intern_file(struct ruleset *rs, const char *name)
{
    for (size_t i = 0; i < rs->n_files; i++)
        if (strcmp(rs->files[i], name) == 0)
            return rs->files[i];
    char **v = realloc(rs->files, (rs->n_files + 1) * sizeof(*v));
    if (!v)
        return NULL;
    rs->files = v;
    if (!(v[rs->n_files] = strdup(name)))
        return NULL;
    return v[rs->n_files++];
}

const struct rule *ruleset_find(const struct ruleset *rs, const char *id)
{
    for (size_t i = 0; i < rs->n; i++)
        if (strcmp(rs->rules[i].id, id) == 0)
            return &rs->rules[i];
    return NULL;
}

char *rule_origin(const struct rule *r)
{
    char *s;
    if (asprintf(&s, "%s:%u%s%s", r->file, r->line, r->overrides ? "; " : "",
                 r->overrides ? r->overrides : "") < 0)
        return NULL;
    return s;
}

static size_t id_hash(const char *id)
{
    size_t h = 1469598103934665603u;
    for (; *id; id++)
        h = (h ^ (unsigned char)*id) * 1099511628211u;
    return h;
}

/* Returns the loaded rule with this id, or NULL; sets ld->nomem when the set cannot grow. */
static const struct rule *loader_find(struct loader *ld, const char *id)
{
    struct ruleset *rs = ld->rs;
    if (rs->n * 2 >= ld->ids_cap) { /* keep the set at most half full: rebuild */
        size_t cap = ld->ids_cap ? ld->ids_cap : 64;
        while (rs->n * 2 >= cap)
            cap *= 2;
        size_t *v = calloc(cap, sizeof(*v));
        if (!v) {
            ld->nomem = true;
            return ruleset_find(rs, id);
        }
        free(ld->ids);
        ld->ids = v;
        ld->ids_cap = cap;
        ld->hashed = 0;
    }
    for (; ld->hashed < rs->n; ld->hashed++) {
        size_t i = id_hash(rs->rules[ld->hashed].id) & (ld->ids_cap - 1);
        while (ld->ids[i])
            i = (i + 1) & (ld->ids_cap - 1);
        ld->ids[i] = ld->hashed + 1;
    }
    for (size_t i = id_hash(id) & (ld->ids_cap - 1); ld->ids[i]; i = (i + 1) & (ld->ids_cap - 1))
        if (strcmp(rs->rules[ld->ids[i] - 1].id, id) == 0)
            return &rs->rules[ld->ids[i] - 1];
    return NULL;
}

/* Turns a complete draft into a rule, an override of a loaded rule, or errors. */
static void finish_stanza(struct loader *ld, struct rule_draft *d)
{
    struct rule r;
    struct built x;
    if (!d->id)
        goto out;
    const struct rule *other = loader_find(ld, d->id);
    if (other && ld->site) {
        loader_override(ld, d, (size_t)(other - ld->rs->rules));
        goto out;
    }
    if (ld->site && !loader_new_site_rule(ld, d))
        goto out;
    if (loader_build_rule(ld, d, other, &r, &x))
        loader_install_new(ld, d, &r, &x);
out:
    rule_draft_release(d);
}

static int find_key(struct strv name)
{
    for (int k = 0; k < KEY__COUNT; k++)
        if (strv_eq(name, rule_key_table[k].name))
            return k;
    return -1;
}

/* Returns the offset of the first byte of s that is not part of well-formed UTF-8 or is NUL,
 * or s.n when there is none. */
static size_t first_bad_byte(struct strv s)
{
    size_t i = 0;
    while (i < s.n) {
        size_t k = utf8_seq_len((const unsigned char *)s.p + i, s.n - i);
        if (k == 0 || s.p[i] == '\0')
            return i;
        i += k;
    }
    return s.n;
}

/* A text being split into stanzas: the stanza being read and the value an indented line
 * would continue. */
struct reader {
    struct loader ld;
    struct rule_draft d; /* the stanza being read; id NULL before the first [id] */
    struct value *last;  /* borrowed from d: the value an indented line would continue, or NULL */
    int last_key;        /* the key of the latest value (-1 before any): last belongs to it */
    unsigned line_no;    /* 1-based number of the line being read */
};

/* Reads the indented line raw (t trimmed) as a continuation of rd->last when its key takes
 * one. Returns true when the line is used up (continued, or reported); false when it is to
 * be read as a line of its own. */
static bool read_continuation(struct reader *rd, struct strv raw, struct strv t)
{
    if (rd->last && rd->last_key >= 0 && rule_key_table[rd->last_key].continues) {
        if (buf_addc(&rd->last->text, ' ') < 0 || buf_add(&rd->last->text, t.p, t.n) < 0)
            rd->ld.nomem = true;
        return true;
    }
    if (rd->last) {
        add_error(&rd->ld, rd->line_no, (int)(t.p - raw.p) + 1, raw.p, raw.n,
                  "'%s' is one line; an indented line cannot continue it",
                  rule_key_table[rd->last_key].name);
        rd->d.broken = true;
        return true;
    }
    return false;
}

/* Reads the `[id]` line raw (t trimmed): finishes the stanza before it and starts the next. */
static void read_header(struct reader *rd, struct strv raw, struct strv t)
{
    struct rule_draft *d = &rd->d;
    finish_stanza(&rd->ld, d);
    rd->last = NULL;
    d->file = rd->ld.file;
    d->line = rd->line_no;
    d->hdr = raw.p;
    d->hdr_len = raw.n;
    d->id_col = (unsigned)(t.p - raw.p) + 2;
    if (t.p[t.n - 1] != ']') {
        add_error(&rd->ld, rd->line_no, (int)t.n + (int)(t.p - raw.p), raw.p, raw.n,
                  "expected ']' to close the rule id");
        d->broken = true;
        d->id = strdup("?");
        return;
    }
    d->id = strndup(t.p + 1, t.n - 2);
    if (d->id && !rule_id_valid(d->id)) {
        add_error(&rd->ld, rd->line_no, (int)(t.p - raw.p) + 2, raw.p, raw.n,
                  "bad rule id '%s' (lowercase area.name: letters, digits, '.', '-', '_')", d->id);
        d->broken = true;
    }
}

/* Adds val, the value of key k on line raw, to the stanza; an indented line may continue it. */
static void add_value(struct reader *rd, int k, struct strv raw, struct strv val)
{
    struct value *v = rule_draft_add_value(&rd->ld, &rd->d, (enum rule_key)k);
    if (!v)
        return;
    v->file = rd->ld.file;
    v->order = rd->ld.load_no << 32 | rd->line_no;
    v->line = rd->line_no;
    v->col = (unsigned)(val.p - raw.p) + 1;
    v->src = raw.p;
    v->src_len = raw.n;
    /* In a site file an empty value clears the key it overrides: finish_stanza() knows. */
    if (val.n == 0 && !rd->ld.site) {
        add_error(&rd->ld, rd->line_no, (int)v->col, raw.p, raw.n, "empty value for '%s'",
                  rule_key_table[k].name);
        rd->d.broken = true;
    }
    if (buf_add(&v->text, val.p, val.n) < 0)
        rd->ld.nomem = true;
    rd->last = v;
    rd->last_key = k;
}

/* Reads the `key = value` line raw (t trimmed) into the stanza, or reports why it cannot. */
static void read_key_value(struct reader *rd, struct strv raw, struct strv t)
{
    struct rule_draft *d = &rd->d;
    const char *eq = memchr(t.p, '=', t.n);
    rd->last = NULL;
    if (!eq) {
        add_error(&rd->ld, rd->line_no, (int)(t.p - raw.p) + 1, raw.p, raw.n,
                  "expected 'key = value' or '[rule.id]'");
        d->broken = true;
        return;
    }
    struct strv key = strv_trim(strv_make(t.p, (size_t)(eq - t.p)));
    struct strv val = strv_trim(strv_make(eq + 1, (size_t)(t.p + t.n - eq - 1)));
    int k = find_key(key);
    int col = (int)(key.p - raw.p) + 1;
    if (k < 0) {
        add_error(&rd->ld, rd->line_no, col, raw.p, raw.n, "unknown key '%.*s'", (int)key.n, key.p);
        d->broken = true;
    } else if (!d->id) {
        add_error(&rd->ld, rd->line_no, col, raw.p, raw.n,
                  "'%.*s' outside a rule: start one with '[rule.id]'", (int)key.n, key.p);
    } else if (!rule_key_table[k].repeatable && d->n_values[k]) {
        add_error(&rd->ld, rd->line_no, col, raw.p, raw.n,
                  "duplicate key '%s' in rule '%s' (first at line %u)", rule_key_table[k].name,
                  d->id, d->values[k][0].line);
        d->broken = true;
    } else {
        add_value(rd, k, raw, val);
    }
}

/* Reads the next line, raw (without its line end), of the text. */
static void read_line(struct reader *rd, struct strv raw)
{
    rd->line_no++;
    struct strv t = strv_trim(raw);
    if (t.n == 0 || t.p[0] == '#' || t.p[0] == ';') {
        if (t.n == 0)
            rd->last = NULL; /* a blank line ends a continuation */
        return;
    }
    /* Ids, summaries and patterns end up in JSON, the database and the terminal, and a NUL
     * would cut them short: a rule line must be UTF-8 text (comments may be anything). */
    size_t bad = first_bad_byte(raw);
    if (bad < raw.n) {
        add_error(&rd->ld, rd->line_no, (int)bad + 1, NULL, 0,
                  "invalid UTF-8 (byte 0x%02x); rule files are UTF-8 text",
                  (unsigned char)raw.p[bad]);
        rd->d.broken = true;
        rd->last = NULL;
        return;
    }
    if ((raw.p[0] == ' ' || raw.p[0] == '\t') && read_continuation(rd, raw, t))
        return;
    if (t.p[0] == '[')
        read_header(rd, raw, t);
    else
        read_key_value(rd, raw, t);
}

/* Loads text (taken: the ruleset keeps it, for the drafts that point into it, until
 * ruleset_link()), named name in messages; site: stanzas of loaded ids are overrides. */
static int load_text(struct ruleset *rs, const char *name, char *text, size_t len,
                     struct rule_errors *errs, bool site)
{
    struct reader rd = { .ld = { .rs = rs, .errs = errs, .site = site }, .last_key = -1 };
    char **texts = realloc(rs->texts, (rs->n_texts + 1) * sizeof(*texts));
    if (!texts) {
        free(text);
        return HL_ENOMEM;
    }
    rs->texts = texts;
    rs->texts[rs->n_texts++] = text;
    rd.ld.load_no = rs->n_texts;
    if (!(rd.ld.file = intern_file(rs, name)))
        return HL_ENOMEM;
    const char *p = text, *end = text + len;
    while (p < end && !rd.ld.nomem) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;
        struct strv raw = strv_make(p, (size_t)(eol - p));
        if (raw.n && raw.p[raw.n - 1] == '\r')
            raw.n--;
        p = nl ? nl + 1 : end;
        read_line(&rd, raw);
    }
    finish_stanza(&rd.ld, &rd.d);
    rule_draft_release(&rd.d);
    free(rd.ld.ids);
    return rd.ld.nomem ? HL_ENOMEM : rd.ld.added;
}

static int load_text_copy(struct ruleset *rs, const char *name, const char *text, size_t len,
                          struct rule_errors *errs, bool site)
{
    char *copy = malloc(len + 1);
    if (!copy)
        return HL_ENOMEM;
    if (len)
        memcpy(copy, text, len);
    copy[len] = '\0';
    return load_text(rs, name, copy, len, errs, site);
}

int ruleset_load_text(struct ruleset *rs, const char *name, const char *text, size_t len,
                      struct rule_errors *errs)
{
    return load_text_copy(rs, name, text, len, errs, false);
}

int ruleset_load_site_text(struct ruleset *rs, const char *name, const char *text, size_t len,
                           struct rule_errors *errs)
{
    return load_text_copy(rs, name, text, len, errs, true);
}

static int load_file(struct ruleset *rs, const char *path, struct rule_errors *errs, bool site)
{
    struct loader ld = { .rs = rs, .errs = errs, .file = path };
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        add_error(&ld, 0, 0, NULL, 0, "cannot open rule file: %s", strerror(errno));
        return ld.nomem ? HL_ENOMEM : ld.added;
    }
    struct buf text;
    buf_init(&text, RULE_FILE_MAX);
    char chunk[16384];
    ssize_t n;
    int r = 0;
    while ((n = read(fd, chunk, sizeof(chunk))) > 0 && r == 0)
        r = buf_add(&text, chunk, (size_t)n);
    int saved = errno;
    close(fd);
    if (n < 0 || r < 0) {
        if (r == HL_ENOMEM)
            ld.nomem = true;
        else
            add_error(&ld, 0, 0, NULL, 0, "cannot read rule file: %s",
                      r == HL_ELIMIT ? "larger than 4 MiB" : strerror(saved));
    } else {
        size_t len = text.len;
        char *owned = len ? buf_detach(&text) : strdup("");
        r = owned ? load_text(rs, path, owned, len, errs, site) : HL_ENOMEM;
    }
    buf_release(&text);
    if (ld.nomem)
        return HL_ENOMEM;
    return r < 0 ? r : r + ld.added;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Loads the *.rules files of the directory path in name order (the C locale's byte order, so
 * "10-site.rules" comes before "20-team.rules" whatever the user's locale). For the pack a
 * directory without any is an error; a site directory may well be empty. */
static int load_dir(struct ruleset *rs, const char *path, struct rule_errors *errs, bool site)
{
    DIR *dir = opendir(path);
    struct loader ld = { .rs = rs, .errs = errs, .file = path };
    if (!dir) {
        add_error(&ld, 0, 0, NULL, 0, "cannot open rule directory: %s", strerror(errno));
        return ld.nomem ? HL_ENOMEM : ld.added;
    }
    char **names = NULL;
    size_t n = 0;
    int total = 0;
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len <= 6 || strcmp(de->d_name + len - 6, ".rules") != 0 || de->d_name[0] == '.')
            continue;
        char **v = realloc(names, (n + 1) * sizeof(*v));
        if (!v) {
            total = HL_ENOMEM;
            break;
        }
        names = v;
        if (asprintf(&names[n], "%s/%s", path, de->d_name) < 0) {
            total = HL_ENOMEM;
            break;
        }
        n++;
    }
    closedir(dir);
    if (n)
        qsort(names, n, sizeof(*names), cmp_names);
    for (size_t i = 0; i < n; i++) {
        if (total >= 0) {
            int r = load_file(rs, names[i], errs, site);
            total = r < 0 ? r : total + r;
        }
        free(names[i]);
    }
    free(names);
    if (total == 0 && n == 0 && !site)
        add_error(&ld, 0, 0, NULL, 0, "no *.rules files in this directory");
    if (total >= 0 && !site)
        loader_read_declared(&ld, path);
    return total < 0 ? total : ld.nomem ? HL_ENOMEM : total + ld.added;
}

int ruleset_load(struct ruleset *rs, const char *path, struct rule_errors *errs)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return load_dir(rs, path, errs, false);
    return load_file(rs, path, errs, false);
}

int ruleset_load_site(struct ruleset *rs, const char *path, struct rule_errors *errs)
{
    struct stat st;
    if (stat(path, &st) < 0 && errno == ENOENT)
        return 0; /* no site rules: the usual case */
    if (stat(path, &st) == 0 && !S_ISDIR(st.st_mode)) {
        struct loader ld = { .rs = rs, .errs = errs, .file = path };
        add_error(&ld, 0, 0, NULL, 0,
                  "not a directory (site rules are *.rules files in a rules.d directory)");
        return ld.nomem ? HL_ENOMEM : ld.added;
    }
    return load_dir(rs, path, errs, true);
}
