/* `hsmlog query`: SQL against the findings database, opened read-only. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "diag.h"
#include "out.h"

static const char query_usage[] =
        "usage: hsmlog query [--format FORMAT] SQL\n"
        "\n"
        "Runs SQL (one or more statements) against the findings database, read-only,\n"
        "and prints the rows. Tables: sources, findings, incidents, marks, rules, scans,\n"
        "appliance_hosts (docs/SCHEMA.md). Every statement is checked before the first\n"
        "runs: one that is wrong, or would change anything (INSERT, UPDATE, DELETE,\n"
        "CREATE, DROP, ATTACH, a PRAGMA given a value, VACUUM, load_extension), stops them\n"
        "all, and none runs.\n"
        "An argument that starts with \"-- \" (a comment line before the statements) is\n"
        "SQL, not an option; only a word that is exactly -- ends the options.\n"
        "\n"
        "Columns read straight from a column of the schema keep its meaning: JSON columns\n"
        "(findings.fields, findings.group_key, incidents.key, marks.group_key) are JSON\n"
        "values, not strings, in json and json-array; times (ts, first_ts, started_at ...,\n"
        "and computed columns named ts or *_ts) show as 2026-11-28 13:10:12 in a table; on a\n"
        "narrow terminal times and rule ids stay whole and other columns give way from the\n"
        "right. CSV on a terminal shows control characters escaped, as a table does.\n"
        "\n"
        "Options:\n"
        "  -f, --format FORMAT   table (default), csv, json (one object per line) or\n"
        "                        json-array; see 'hsmlog help formats'\n" APP_COMMON_HELP "\n"
        "Example:\n"
        "  hsmlog query \"SELECT host, rule_id, count(*) AS n FROM findings GROUP BY 1, 2\"\n"
        "\n"
        "Exit status: 0 ok, 2 bad or refused statement, no statement at all (empty SQL, only\n"
        "comments), no database, or output that could not be written.\n";

/* How a result column is shown: what its origin in the schema holds (db_column_kind()), else
 * a computed column named ts or *_ts is taken for a time and one named rule_id or rule for a
 * rule id (JSON only by origin: a name says nothing of the text). Times and rule ids are kept
 * whole on a narrow terminal, the other columns give way from the right. */
static struct out_column query_column(struct stmt *st, int i)
{
    const char *name = stmt_column_name(st, i);
    enum db_col_kind kind = stmt_column_kind(st, i);
    size_t n = name ? strlen(name) : 0;
    if (kind == DB_COL_OTHER && n &&
        (strcmp(name, "ts") == 0 || (n > 3 && strcmp(name + n - 3, "_ts") == 0)))
        kind = DB_COL_TIME;
    if (kind == DB_COL_OTHER && n && (strcmp(name, "rule_id") == 0 || strcmp(name, "rule") == 0))
        kind = DB_COL_RULE;
    return (struct out_column){
        .name = name,
        .kind = kind == DB_COL_TIME   ? OUT_COL_TIME
                : kind == DB_COL_JSON ? OUT_COL_JSON
                                      : OUT_COL_TEXT,
        .cut = kind == DB_COL_TIME || kind == DB_COL_RULE ? OUT_KEEP : (unsigned)i + 1,
    };
}

int cmd_print_statement(struct db *db, struct stmt *st, enum out_format fmt,
                        const struct out_column *cols)
{
    int ncols = stmt_columns(st);
    if (ncols == 0) {
        /* Not a query (PRAGMA with no result, an empty statement): run it for its errors. */
        int rc;
        while ((rc = stmt_step(st)) == STMT_ROW)
            ;
        if (rc != STMT_DONE) {
            diag_error("query", "%s", db_errmsg(db));
            return EXIT_USAGE;
        }
        return 0;
    }
    struct out_column *own = NULL;
    struct out_cell *cells = calloc((size_t)ncols, sizeof(*cells));
    struct out_ctx out;
    int status = 0;
    if (!cols && (own = calloc((size_t)ncols, sizeof(*own))) != NULL) {
        for (int i = 0; i < ncols; i++)
            own[i] = query_column(st, i);
        cols = own;
    }
    if (!cols || !cells || out_begin_columns(&out, fmt, stdout, (size_t)ncols, cols) < 0) {
        diag_error("query", "out of memory");
        status = EXIT_USAGE;
        goto out;
    }
    int rc, wr = 0;
    while (wr == 0 && (rc = stmt_step(st)) == STMT_ROW) {
        for (int i = 0; i < ncols; i++) {
            enum stmt_type type = stmt_type(st, i);
            /* Read the text before the length: stmt_bytes() after a conversion. */
            const char *text = type == STMT_NULL ? NULL : stmt_text(st, i);
            size_t len = text ? stmt_bytes(st, i) : 0;
            enum out_type t = type == STMT_INT    ? OUT_INT
                              : type == STMT_REAL ? OUT_REAL
                              : type == STMT_NULL ? OUT_NULL
                                                  : OUT_TEXT;
            cells[i] = (struct out_cell){ t, text, len };
        }
        wr = out_row(&out, cells);
    }
    if (wr == 0 && rc != STMT_DONE) {
        diag_error("query", "%s", db_errmsg(db));
        status = EXIT_USAGE;
    }
    /* A write error is app_finish_output()'s to report. */
    int end = out_end(&out);
    if (status == 0 && (wr == HL_ENOMEM || end == HL_ENOMEM))
        diag_error("query", "out of memory");
    if (status == 0)
        status = app_output_status(wr, end);
out:
    free(own);
    free(cells);
    return status;
}

static const struct option query_options[] = {
    APP_LONG_OPTIONS,
    { "format", required_argument, NULL, 'f' },
    { "help", no_argument, NULL, 'h' },
    { 0 },
};

struct query_args {
    enum out_format fmt; /* --format */
    const char *sql;     /* borrowed from argv: the statements */
};

static int query_option(int opt, const char *arg, void *args)
{
    struct query_args *a = args;
    return opt == 'f' ? app_format_option("query", arg, &a->fmt) : 0;
}

static int query_parse(int argc, char **argv, struct app *app, void *args)
{
    static const struct cmd_options co = { "query", query_usage, APP_GETOPT "hf:qv",
                                           query_options };
    struct query_args *a = args;
    a->fmt = OUT_TABLE;
    int status = app_parse_options(app, &co, query_option, a, argc, argv);
    if (status >= 0)
        return status;
    if (optind != argc - 1)
        return app_usage_error("query", "give exactly one SQL argument (quote it)");
    if (app->no_db)
        return app_usage_error("query", "--no-db leaves nothing to query");
    a->sql = argv[optind];
    if (!a->sql[strspn(a->sql, " \t\r\n")])
        return app_usage_error("query", "no SQL given");
    return -1;
}

/* Prepares every statement of sql, appending each to *stmts (grown with realloc; *n of them),
 * and so checks each with the read-only guard before the first runs: one that is wrong or
 * refused stops them all, rather than after the others printed. The caller finalizes and
 * frees what was appended, also after a failure. Returns 0, or EXIT_USAGE after saying why. */
static int prepare_all(struct db *db, const char *sql, struct stmt ***stmts, size_t *n)
{
    struct hl_err err;
    hl_err_clear(&err);
    size_t cap = 0;
    for (const char *tail = sql; tail && *tail;) {
        struct stmt *st = NULL;
        const char *next = NULL;
        if (db_prepare_query(db, tail, &st, &next, &err) < 0) {
            if (*n)
                diag_error("query", "statement %zu: %s; none of the statements was run", *n + 1,
                           err.msg);
            else
                diag_error("query", "%s", err.msg);
            return EXIT_USAGE;
        }
        tail = next;
        if (!st)
            continue; /* white space or a comment */
        if (*n == cap) {
            struct stmt **v = realloc(*stmts, (cap = cap ? 2 * cap : 4) * sizeof(*v));
            if (!v) {
                stmt_finalize(st);
                diag_error("query", "out of memory");
                return EXIT_USAGE;
            }
            *stmts = v;
        }
        (*stmts)[(*n)++] = st;
    }
    return 0;
}

static int query_run(struct app *app, void *args)
{
    const struct query_args *a = args;
    struct stmt **stmts = NULL;
    size_t n = 0;
    int status = prepare_all(app->db, a->sql, &stmts, &n);
    /* Only comments (or semicolons): most likely a statement lost to the shell's quoting. */
    if (status == 0 && n == 0)
        status = app_usage_error("query", "nothing to run: the SQL holds no statement");
    for (size_t i = 0; status == 0 && i < n; i++)
        status = cmd_print_statement(app->db, stmts[i], a->fmt, NULL);
    for (size_t i = 0; i < n; i++)
        stmt_finalize(stmts[i]);
    free(stmts);
    return status;
}

const struct cmd_ops cmd_query_ops = { sizeof(struct query_args), query_parse, query_run };
