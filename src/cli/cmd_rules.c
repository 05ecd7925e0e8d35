/* `hsmlog rules list|check|test`: see what is loaded, lint the rule files, and run every
 * rule's embedded examples through the real parser and matcher. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "appliance.h"
#include "diag.h"
#include "json.h"
#include "out.h"
#include "parse.h"
#include "rule_match.h"
#include "scan.h"

static const char rules_usage[] =
        "usage: hsmlog rules list [--format FORMAT]\n"
        "       hsmlog rules check\n"
        "       hsmlog rules test [-v]\n"
        "       hsmlog rules path [--format FORMAT]\n"
        "\n"
        "list    the loaded rules: id, severity, programs, summary, enabled, origin (the\n"
        "        file and line of the rule, then each site file that changed it, with\n"
        "        the keys it named); csv and json add pack_version, digest and refs. A\n"
        "        table starts with the pack's version: what rules/VERSION declares, '+',\n"
        "        a digest of the rules in use (site changes included)\n"
        "check   read every rule file and report every problem (file:line:column),\n"
        "        including rules without a 'test' and a 'test-no' line\n"
        "test    run each rule's 'test' lines (must match) and 'test-no' lines (must not)\n"
        "        through the full parser and matcher\n"
        "path    where rules are looked for, in order, and which exist and are used\n"
        "\n"
        "Options:\n"
        "  -f, --format FORMAT   of list and path: table (default), csv, json or json-array\n"
        "  -q, --quiet           errors only: check and test print their problems, no totals\n"
        "  -v, --verbose         test: every passing test too\n"
        "      --rules PATH      rule file or directory, repeatable (see below)\n" APP_COMMON_HELP_BUT_RULES_Q_V
        "\n"
        "The pack comes from --rules PATH (repeatable), else $HSMLOG_RULES (colon-separated),\n"
        "else the installed rules directory (also found relative to the binary), else,\n"
        "for a binary in its build tree, the source tree.\n"
        "\n"
        "Then the site's *.rules files, in name order: " HSMLOG_SITE_SYSCONFDIR "/hsmlog/rules.d\n"
        "($HSMLOG_SYSCONFDIR/hsmlog/rules.d), then ~/.config/hsmlog/rules.d\n"
        "($XDG_CONFIG_HOME/hsmlog/rules.d). A stanza with a loaded rule's id changes only\n"
        "the keys it names ('enabled = no' turns the rule off, 'exclude' adds a pattern),\n"
        "a later file beating an earlier one; --no-site-rules skips them.\n"
        "\n"
        "The file format: 'hsmlog help rule-format', hsmlog-rules(5) or rules/README.md.\n"
        "\n"
        "Examples:\n"
        "  hsmlog rules list --format csv\n"
        "  hsmlog rules test\n"
        "  hsmlog --rules ./my.rules rules check\n"
        "  hsmlog --no-site-rules rules test\n"
        "\n"
        "Exit status: 0 ok; 1 a rule test failed; 2 a rule file has errors, or output that\n"
        "could not be written.\n";

/* Appends rule's refs (one per line in rule.refs) to b as a JSON array of strings. */
static int refs_json(const struct rule *rule, struct buf *b)
{
    int r = buf_addc(b, '[');
    for (const char *p = rule->refs; r == 0 && p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (p != rule->refs)
            r = buf_addc(b, ',');
        if (r == 0)
            r = json_put_string(b, p, n);
        p += n + (nl != NULL);
    }
    return r == 0 ? buf_addc(b, ']') : r;
}

/* Writes one rule's row: the columns of rules_list(), as many as out has. */
static int rules_list_row(struct out_ctx *out, const struct ruleset *rs, const struct rule *rule,
                          struct buf *refs)
{
    char programs[256] = "";
    size_t used = 0;
    for (size_t p = 0; p < rule->n_programs && used < sizeof(programs); p++)
        used += (size_t)snprintf(programs + used, sizeof(programs) - used, "%s%s", p ? "," : "",
                                 rule->programs[p]);
    const char *sev = severity_name(rule->severity);
    const char *enabled = rule->disabled ? "no" : "yes";
    char *origin = rule_origin(rule);
    buf_reset(refs);
    if (!origin || refs_json(rule, refs) < 0) {
        free(origin);
        return HL_ENOMEM;
    }
    struct out_cell cells[] = {
        { OUT_TEXT, rule->id, strlen(rule->id) },
        { OUT_TEXT, sev, strlen(sev) },
        { rule->n_programs ? OUT_TEXT : OUT_NULL, programs, strlen(programs) },
        { OUT_TEXT, rule->summary, strlen(rule->summary) },
        { OUT_TEXT, enabled, strlen(enabled) },
        { OUT_TEXT, origin, strlen(origin) },
        { rs->version ? OUT_TEXT : OUT_NULL, rs->version, rs->version ? strlen(rs->version) : 0 },
        { rule->digest[0] ? OUT_TEXT : OUT_NULL, rule->digest, strlen(rule->digest) },
        { OUT_TEXT, buf_cstr(refs), refs->len },
    };
    int r = out_row(out, cells);
    free(origin);
    return r;
}

static int rules_list(struct ruleset *rs, enum out_format fmt)
{
    /* Columns are a public interface: new ones go at the end. A table, for people, leaves out
     * the last three: the pack's version is its first line, digests and refs are for programs
     * (and the database's rules and rule_versions tables). */
    static const struct out_column cols[] = {
        { "id", OUT_COL_TEXT, OUT_KEEP, 0 },    { "severity", OUT_COL_TEXT, 1, 0 },
        { "program", OUT_COL_TEXT, 3, 0 },      { "summary", OUT_COL_TEXT, 4, 24 },
        { "enabled", OUT_COL_TEXT, 2, 0 },      { "origin", OUT_COL_TEXT, 5, 24 },
        { "pack_version", OUT_COL_TEXT, 6, 0 }, { "digest", OUT_COL_TEXT, 7, 0 },
        { "refs", OUT_COL_JSON, 8, 0 },
    };
    size_t n_public = 0;
    for (size_t i = 0; i < rs->n; i++)
        n_public += rule_is_public(&rs->rules[i]);
    struct out_ctx out;
    if (out_begin_columns(&out, fmt, stdout, fmt == OUT_TABLE ? 6 : ARRAY_SIZE(cols), cols) < 0)
        return EXIT_USAGE;
    if (fmt == OUT_TABLE)
        printf("rule pack %s (%zu rule%s)\n", rs->version ? rs->version : "-", n_public,
               n_public == 1 ? "" : "s");
    struct buf refs;
    buf_init(&refs, 0);
    int r = 0;
    for (size_t i = 0; r == 0 && i < rs->n; i++)
        if (rule_is_public(&rs->rules[i]))
            r = rules_list_row(&out, rs, &rs->rules[i], &refs);
    buf_release(&refs);
    return app_output_status(r, out_end(&out));
}

/* `rules path`: every place rules are looked for, in order. */
static int rules_path(struct app *app, enum out_format fmt)
{
    static const struct out_column cols[] = {
        { "origin", OUT_COL_TEXT, 1, 0 },
        { "path", OUT_COL_TEXT, 2, 24 },
        { "exists", OUT_COL_TEXT, 3, 0 },
        { "used", OUT_COL_TEXT, 4, 0 },
    };
    struct rule_dirs dirs;
    struct out_ctx out;
    if (app_rule_dirs(app, &dirs) < 0)
        return EXIT_USAGE;
    if (out_begin_columns(&out, fmt, stdout, ARRAY_SIZE(cols), cols) < 0) {
        app_rule_dirs_release(&dirs);
        return EXIT_USAGE;
    }
    int r = 0;
    for (size_t i = 0; r == 0 && i < dirs.n; i++) {
        const struct rule_dir *d = &dirs.v[i];
        struct out_cell cells[] = {
            { OUT_TEXT, d->origin, strlen(d->origin) },
            { OUT_TEXT, d->path, strlen(d->path) },
            { OUT_TEXT, d->exists ? "yes" : "no", d->exists ? 3 : 2 },
            { OUT_TEXT, d->used ? "yes" : "no", d->used ? 3 : 2 },
        };
        r = out_row(&out, cells);
    }
    app_rule_dirs_release(&dirs);
    return app_output_status(r, out_end(&out));
}

static int rules_check(struct ruleset *rs, size_t load_errors)
{
    size_t problems = load_errors;
    size_t n_public = 0;
    for (size_t i = 0; i < rs->n; i++) {
        const struct rule *rule = &rs->rules[i];
        if (!rule_is_public(rule))
            continue;
        n_public++;
        if (rule->role == RULE_ROLE_DERIVED)
            continue; /* no lines of its own: the multi-line tests of its trigger cover it */
        bool has_yes = false, has_no = false;
        for (size_t t = 0; t < rule->n_tests; t++) {
            has_yes |= rule->tests[t].must_match;
            has_no |= !rule->tests[t].must_match;
        }
        if (!has_yes || !has_no) {
            fprintf(stderr, "%s:%u: error: rule '%s' has no '%s' line\n", rule->file, rule->line,
                    rule->id, !has_yes ? "test" : "test-no");
            problems++;
        }
        if (!rule->literal && !rule->n_programs)
            diag_note("%s:%u: rule '%s' has neither a program nor a literal the prefilter can use; "
                      "it runs its regex on every line",
                      rule->file, rule->line, rule->id);
    }
    if (problems) {
        fprintf(stderr, "%zu problem%s in rule files\n", problems, problems == 1 ? "" : "s");
        return EXIT_USAGE;
    }
    if (diag_verbosity >= 0) /* -q: errors only */
        printf("%zu rules ok\n", n_public);
    return EXIT_OK;
}

/* Counts incidents of rule_id (in state, when given) in db. Returns -1 on a database error. */
static long long count_incidents(struct db *db, const char *rule_id, const char *state)
{
    int64_t n;
    struct hl_err err;
    return incidents_count(db, rule_id, state, &n, &err) < 0 ? -1 : (long long)n;
}

static int print_got(void *ctx, const struct incident_row *row)
{
    (void)ctx;
    fprintf(stderr, "    got:     %s %lld %s (%s) %s\n", row->rule_id, (long long)row->count,
            row->state, row->first_ts ? row->first_ts : "-", row->summary);
    return 0;
}

/* Prints every incident of the scenario, so a failure shows what did come out. */
static void print_incidents(struct db *db)
{
    static const struct incident_filter all = { .has_since = false };
    struct hl_err err;
    HL_IGNORE(incidents_list(db, &all, INCIDENT_ORDER_OLDEST, print_got, NULL, &err));
}

/* Checks the `test-incidents` list "RULE COUNT [STATE], ..." against db; prints mismatches. */
static bool incidents_as_wanted(struct db *db, const struct ruleset *rs, const struct rule *rule,
                                const struct rule_seq_test *t)
{
    bool ok = true;
    char *want = strdup(t->want);
    if (!want)
        return false;
    char *save = NULL;
    for (char *item = strtok_r(want, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *inner = NULL, *end = NULL;
        const char *id = strtok_r(item, " \t", &inner);
        const char *count = strtok_r(NULL, " \t", &inner);
        const char *state = strtok_r(NULL, " \t", &inner);
        long long n = count ? strtoll(count, &end, 10) : -1;
        int got = !id ? 0 : !count || *end || n < 0 ? 1 : state ? 3 : 2;
        /* The site turned that rule off: what the pack expected of it no longer holds. */
        const struct rule *named = id ? ruleset_find(rs, id) : NULL;
        if (got >= 2 && named && named->disabled) {
            diag_note("%s:%u: %s: not checking '%s': the rule is disabled", t->file, t->src_line,
                      rule->id, id);
            continue;
        }
        long long have = got >= 2 ? count_incidents(db, id, state) : -1;
        if (got < 2 || have != n) {
            if (ok)
                fprintf(stderr, "%s:%u: FAIL %s: test-incidents\n", t->file, t->src_line, rule->id);
            if (got < 2)
                fprintf(stderr, "    bad entry '%s' (want: RULE COUNT [STATE])\n", item);
            else
                fprintf(stderr, "    want:    %s %lld%s%s incident(s), got %lld\n", id, n,
                        got == 3 ? " " : "", got == 3 ? state : "", have);
            ok = false;
        }
    }
    free(want);
    if (!ok)
        print_incidents(db);
    return ok;
}

/* Runs one multi-line test: its lines through a scan into a fresh in-memory database, the
 * incidents rebuilt, then the expected counts compared. */
static bool run_seq_test(const struct ruleset *rs, const struct rule *rule,
                         const struct rule_seq_test *t, int year)
{
    struct buf text;
    buf_init(&text, 0);
    bool ok = true;
    for (size_t i = 0; i < t->n_lines && ok; i++)
        ok = buf_adds(&text, t->lines[i]) == 0 && buf_addc(&text, '\n') == 0;
    struct db db = { 0 };
    struct hl_err err;
    hl_err_clear(&err);
    int r = ok ? db_open(&db, ":memory:", false, NULL, &err) : HL_ENOMEM;
    if (r == 0)
        r = db_put_rules(&db, rs, &err);
    if (r == 0)
        r = db_scan_begin(&db, "rules test", &err);
    struct scan scan;
    struct scan_options opt = { .year = year };
    if (scan_init(&scan, &opt, rs, &db, NULL, NULL, &err) < 0)
        r = -1;
    if (r == 0 && scan_text(&scan, rule->id, buf_cstr(&text), text.len, &err) < 0)
        r = -1;
    if (r == 0)
        r = scan_update_incidents(&scan, &err);
    scan_release(&scan);
    if (r < 0) {
        fprintf(stderr, "%s:%u: FAIL %s: ", t->file, t->src_line, rule->id);
        diag_err(&err);
        ok = false;
    } else {
        ok = incidents_as_wanted(&db, rs, rule, t);
    }
    db_close(&db);
    buf_release(&text);
    return ok;
}

static int rules_test(const struct ruleset *rs)
{
    struct matcher m;
    struct hl_err err;
    if (matcher_init(&m, rs, &err) < 0) {
        diag_err(&err);
        return EXIT_USAGE;
    }
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    size_t passed = 0, failed = 0, skipped = 0;
    for (size_t i = 0; i < rs->n; i++) {
        const struct rule *rule = &rs->rules[i];
        if (rule->disabled) {
            /* Its lines would "fail" only because the site turned it off. */
            skipped += rule->n_tests + rule->inc.n_seq_tests;
            if (rule_is_public(rule))
                diag_note("skipping the tests of %s: disabled", rule->id);
            continue;
        }
        for (size_t t = 0; t < rule->n_tests; t++) {
            const struct rule_test *test = &rule->tests[t];
            struct parser parser;
            struct record rec;
            parser_init(&parser, tm.tm_year + 1900, 0, 0);
            parse_line(&parser, strv_from_cstr(test->line), &rec);
            /* A line alone is an appliance's only by its own program or form. */
            bool matched = matcher_matches(&m, rule, &rec) &&
                           (rule->hosts != RULE_HOSTS_APPLIANCE || appliance_line(&rec));
            if (matched == test->must_match) {
                passed++;
                diag_note("ok %s:%u %s", test->file, test->src_line, rule->id);
            } else {
                failed++;
                fprintf(stderr, "%s:%u: FAIL %s: %s line %s\n", test->file, test->src_line,
                        rule->id, test->must_match ? "test" : "test-no",
                        test->must_match ? "did not match" : "matched");
                fprintf(stderr, "    line:    %s\n", test->line);
                fprintf(stderr, "    parsed:  format %s, program '%.*s', message '%.*s'\n",
                        rec_format_name(rec.format), (int)rec.program.n,
                        rec.program.p ? rec.program.p : "", (int)rec.message.n,
                        rec.message.p ? rec.message.p : "");
            }
            parser_release(&parser);
        }
        for (size_t t = 0; t < rule->inc.n_seq_tests; t++) {
            if (run_seq_test(rs, rule, &rule->inc.seq_tests[t], tm.tm_year + 1900)) {
                passed++;
                diag_note("ok %s:%u %s (incidents)", rule->inc.seq_tests[t].file,
                          rule->inc.seq_tests[t].src_line, rule->id);
            } else {
                failed++;
            }
        }
    }
    size_t n_public = 0;
    for (size_t i = 0; i < rs->n; i++)
        n_public += rule_is_public(&rs->rules[i]);
    if (diag_verbosity >= 0) { /* -q: errors only; the failures are on stderr */
        printf("%zu rules, %zu tests: %zu passed, %zu failed", n_public, passed + failed, passed,
               failed);
        if (skipped)
            printf(", %zu skipped (disabled rules)", skipped);
        printf("\n");
    }
    matcher_release(&m);
    return failed ? EXIT_FINDINGS : EXIT_OK;
}

static const struct option rules_options[] = {
    APP_LONG_OPTIONS,
    { "format", required_argument, NULL, 'f' },
    { "help", no_argument, NULL, 'h' },
    { 0 },
};

struct rules_args {
    enum out_format fmt; /* --format of list and path */
    const char *sub;     /* borrowed from argv: list, check, test or path */
};

static int rules_option(int opt, const char *arg, void *args)
{
    struct rules_args *a = args;
    return opt == 'f' ? app_format_option("rules", arg, &a->fmt) : 0;
}

static int rules_parse(int argc, char **argv, struct app *app, void *args)
{
    static const struct cmd_options co = { "rules", rules_usage, APP_GETOPT "hf:qv",
                                           rules_options };
    struct rules_args *a = args;
    a->fmt = OUT_TABLE;
    int status = app_parse_options(app, &co, rules_option, a, argc, argv);
    if (status >= 0)
        return status;
    if (optind != argc - 1)
        return app_usage_error("rules", "give one of: list, check, test, path");
    a->sub = argv[optind];
    if (strcmp(a->sub, "path") == 0)
        app->setup = 0; /* where rules are looked for, without loading them */
    else if (strcmp(a->sub, "check") == 0)
        app->setup |= CMD_RULES_LENIENT; /* the errors are what it reports */
    else if (strcmp(a->sub, "list") != 0 && strcmp(a->sub, "test") != 0)
        return app_usage_error("rules", "unknown subcommand '%s' (list, check, test, path)",
                               a->sub);
    return -1;
}

static int rules_run(struct app *app, void *args)
{
    const struct rules_args *a = args;
    if (strcmp(a->sub, "path") == 0)
        return rules_path(app, a->fmt);
    if (strcmp(a->sub, "check") == 0)
        return rules_check(&app->rules, app->rule_errors);
    if (strcmp(a->sub, "list") == 0)
        return rules_list(&app->rules, a->fmt);
    return rules_test(&app->rules);
}

const struct cmd_ops cmd_rules_ops = { sizeof(struct rules_args), rules_parse, rules_run };
