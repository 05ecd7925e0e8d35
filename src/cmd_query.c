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
        "and prints the rows. Tables: sources, findings, incidents, marks, rules, scans (docs/SCHEMA.md).\n"
        "Statements that would change anything (INSERT, UPDATE, DELETE, CREATE, DROP, ATTACH,\n"
        "a PRAGMA given a value, VACUUM, load_extension) are refused before they run.\n"
        "\n"
        "Options:\n"
        "  -f, --format FORMAT   table (default), csv, json (one object per line) or\n"
        "                        json-array; see 'hsmlog help formats'\n"
        "      --db PATH         database (default: see 'hsmlog --help')\n"
        "\n"
        "Example:\n"
        "  hsmlog query \"SELECT host, rule_id, count(*) AS n FROM findings GROUP BY 1, 2\"\n"
        "\n"
        "Exit status: 0 ok, 2 bad or refused statement, or no database.\n";

int cmd_print_statement(sqlite3 *h, sqlite3_stmt *st, enum out_format fmt)
{
    int ncols = sqlite3_column_count(st);
    if (ncols == 0) {
        /* Not a query (PRAGMA with no result, an empty statement): run it for its errors. */
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
            ;
        if (rc != SQLITE_DONE) {
            diag_error("query", "%s", sqlite3_errmsg(h));
            return EXIT_USAGE;
        }
        return 0;
    }
    const char **names = calloc((size_t)ncols, sizeof(*names));
    struct out_cell *cells = calloc((size_t)ncols, sizeof(*cells));
    struct out_ctx out;
    int status = 0;
    if (!names || !cells) {
        diag_error("query", "out of memory");
        status = EXIT_USAGE;
        goto out;
    }
    for (int i = 0; i < ncols; i++)
        names[i] = sqlite3_column_name(st, i);
    if (out_begin(&out, fmt, stdout, (size_t)ncols, names) < 0) {
        diag_error("query", "out of memory");
        status = EXIT_USAGE;
        goto out;
    }
    int rc, wr = 0;
    while (wr == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        for (int i = 0; i < ncols; i++) {
            int type = sqlite3_column_type(st, i);
            /* Read the text before the length: sqlite3_column_bytes() after a conversion. */
            const char *text =
                    type == SQLITE_NULL ? NULL : (const char *)sqlite3_column_text(st, i);
            size_t len = text ? (size_t)sqlite3_column_bytes(st, i) : 0;
            enum out_type t = type == SQLITE_INTEGER ? OUT_INT
                              : type == SQLITE_FLOAT ? OUT_REAL
                              : type == SQLITE_NULL  ? OUT_NULL
                                                     : OUT_TEXT;
            cells[i] = (struct out_cell){ t, text, len };
        }
        wr = out_row(&out, cells);
    }
    if (wr == 0 && rc != SQLITE_DONE) {
        diag_error("query", "%s", sqlite3_errmsg(h));
        status = EXIT_USAGE;
    }
    if (out_end(&out) < 0 || wr < 0) {
        if (status == 0 && wr != HL_EIO)
            diag_error("query", "cannot write output");
        if (status == 0)
            status = EXIT_USAGE;
    }
out:
    free(names);
    free(cells);
    return status;
}

int cmd_query(int argc, char **argv, struct app *app)
{
    static const struct option options[] = {
        APP_LONG_OPTIONS,
        { "format", required_argument, NULL, 'f' },
        { "help", no_argument, NULL, 'h' },
        { 0 },
    };
    enum out_format fmt = OUT_TABLE;
    int c;
    while ((c = getopt_long(argc, argv, "hf:qv", options, NULL)) != -1) {
        if (app_common_option(app, c, optarg))
            continue;
        switch (c) {
        case 'h':
            fputs(query_usage, stdout);
            return EXIT_OK;
        case 'f':
            if (out_format_parse(optarg, &fmt) < 0)
                return app_usage_error("query", "--format takes " OUT_FORMAT_NAMES ", not '%s'",
                                       optarg);
            break;
        default:
            fprintf(stderr, "Try 'hsmlog query --help'.\n");
            return EXIT_USAGE;
        }
    }
    if (optind != argc - 1)
        return app_usage_error("query", "give exactly one SQL argument (quote it)");
    if (app->no_db)
        return app_usage_error("query", "--no-db leaves nothing to query");
    const char *sql = argv[optind];
    char *path = app_db_path(app);
    if (!path)
        return EXIT_USAGE;
    struct db db;
    struct hl_err err;
    hl_err_clear(&err);
    if (db_open(&db, path, true, &err) < 0) {
        diag_err(&err);
        free(path);
        return EXIT_USAGE;
    }
    int status = 0;
    const char *tail = sql;
    while (status == 0 && tail && *tail) {
        sqlite3_stmt *st = NULL;
        const char *next = NULL;
        if (db_prepare_query(&db, tail, &st, &next, &err) < 0) {
            diag_error("query", "%s", err.msg);
            status = EXIT_USAGE;
            break;
        }
        if (st)
            status = cmd_print_statement(db.h, st, fmt);
        sqlite3_finalize(st);
        tail = next;
    }
    db_close(&db);
    free(path);
    return status;
}
