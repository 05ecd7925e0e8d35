/* `hsmlog incidents`: the incident list, newest first, cause beside effect; and the filter
 * (--since, --host, --rule, --open) that `hsmlog report` (cmd_report.c) shares with it. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "diag.h"
#include "incident.h"
#include "out.h"
#include "parse_time.h"
#include "rule.h"

static const char incidents_usage[] =
        "usage: hsmlog incidents [--since TIME] [--host HOST] [--rule RULE] [--open]\n"
        "                        [--format FORMAT] [--rebuild]\n"
        "\n"
        "Lists incidents, newest first, each with its probable cause. Incidents are built\n"
        "from findings by the rules' group-by, threshold, reset, escalate, expect and\n"
        "caused-by settings (rules/README.md) every time 'hsmlog scan' stores findings.\n"
        "\n"
        "Options:\n"
        "      --since TIME    incidents active at or after TIME (every open one is):\n"
        "                      2026-11-28, 2026-11-28T14:00 (UTC, as times are stored and\n"
        "                      shown; a time with seconds may end in Z or +01:00), or a\n"
        "                      duration (90m, 12h, 7d) back from the latest log time in the\n"
        "                      database, not from the wall clock: the log clock, by which\n"
        "                      hsmlog judges all time\n"
        "      --host HOST     only this host (any case: host names are case-insensitive)\n"
        "      --rule RULE     only this rule id; a rule the database does not know is an\n"
        "                      error ('hsmlog rules list' shows them)\n"
        "      --open          only incidents still open (going on, or an expected event\n"
        "                      whose window has not passed)\n"
        "  -f, --format FMT    table (default), csv, json (one object per line) or\n"
        "                      json-array; see 'hsmlog help formats'. A table on a narrow\n"
        "                      terminal keeps id, rule and first_ts whole and drops cause,\n"
        "                      last_ts, count, state, severity, summary, then host, in that\n"
        "                      order, until a row fits\n"
        "      --rebuild       rebuild every incident with the current rules first\n" APP_COMMON_HELP
        "\n"
        "Examples:\n"
        "  hsmlog incidents --open\n"
        "  hsmlog incidents --since 12h --host hsm-a1 --format csv\n"
        "\n"
        "Exit status: 0 ok, 2 usage or database error (also an unknown --rule).\n";

/* Turns --since into the ISO text incidents are compared with, or for a duration into
 * f->since_back_us. */
static int since_parse(const char *arg, struct incident_filter *f)
{
    int64_t us;
    bool zoned;
    char *out = f->since;
    f->has_since = true;
    if (rule_duration_parse(arg, &f->since_back_us) == 0) {
        f->since_is_back = true;
        return 0;
    }
    f->since_is_back = false;
    char buf[64];
    size_t n = strlen(arg);
    if (n == 10 && n + 9 < sizeof(buf)) { /* a bare date: from its midnight */
        snprintf(buf, sizeof(buf), "%sT00:00:00", arg);
        arg = buf;
    } else if (n == 16 && n + 4 < sizeof(buf)) { /* no seconds */
        snprintf(buf, sizeof(buf), "%s:00", arg);
        arg = buf;
    }
    if (parse_time_iso(strv_from_cstr(arg), 0, &us, &zoned) != strlen(arg))
        return -1;
    parse_time_format(us, out);
    return 0;
}

static const char incidents_sql[] =
        "SELECT i.id, i.severity, i.rule_id AS rule, i.host, i.first_ts, i.last_ts, i.count,"
        " i.state, i.summary,"
        " CASE WHEN c.id IS NULL THEN NULL ELSE '#' || c.id || ' ' || c.rule_id"
        "  || coalesce(' on ' || c.host, '')"
        "  || coalesce(' at ' || substr(c.first_ts, 1, 10) || ' ' || substr(c.first_ts, 12, 8), '')"
        " END AS cause"
        " FROM incidents i LEFT JOIN incidents c ON c.id = i.cause_incident_id"
        " WHERE (?1 IS NULL OR i.state = 'open' OR coalesce(i.last_ts, i.first_ts) >= ?1)"
        " AND (?2 IS NULL OR i.host = ?2 COLLATE NOCASE) AND (?3 IS NULL OR i.rule_id = ?3)"
        " AND (?4 = 0 OR i.state = 'open')"
        " ORDER BY i.first_ts IS NULL, i.first_ts DESC, i.id DESC";

void incident_filter_bind(sqlite3_stmt *st, const struct incident_filter *f)
{
    if (f->has_since)
        sqlite3_bind_text(st, 1, f->since, -1, SQLITE_STATIC);
    if (f->host)
        sqlite3_bind_text(st, 2, f->host, -1, SQLITE_STATIC);
    if (f->rule)
        sqlite3_bind_text(st, 3, f->rule, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, f->open_only);
}

/* Rebuilds every incident with the loaded rules (after the rules changed), in the database
 * app_setup() opened for writing and stored the rules in. */
static int rebuild_all(struct app *app)
{
    struct db *db = app->db;
    struct hl_err err;
    hl_err_clear(&err);
    app_note_dead_scans(db);
    struct incidents_update_stats stats;
    if (incidents_rekey(db, &app->rules, &err) < 0 || incidents_mark_all(db, &err) < 0 ||
        incidents_update(db, &app->rules, &stats, &err) < 0 || db_commit(db, &err) < 0) {
        diag_err(&err);
        return EXIT_USAGE;
    }
    app_note_incidents_update(&stats);
    return 0;
}

int incident_filter_option(struct incident_filter *f, const char *name, int opt, const char *arg)
{
    switch (opt) {
    case INCIDENT_OPT_SINCE:
        if (since_parse(arg, f) < 0)
            return app_usage_error(name,
                                   "--since takes a date (2026-11-28), a time "
                                   "(2026-11-28T14:00) or a duration (12h, 7d), not '%s'",
                                   arg);
        break;
    case INCIDENT_OPT_HOST:
        f->host = arg;
        break;
    case INCIDENT_OPT_RULE:
        f->rule = arg;
        break;
    case INCIDENT_OPT_OPEN:
        f->open_only = true;
        break;
    }
    return 0;
}

int incident_filter_operands(const struct app *app, const char *name, int argc, char **argv)
{
    if (optind != argc)
        return app_usage_error(name, "unexpected argument '%s'", argv[optind]);
    if (app->no_db)
        return app_usage_error(name, "--no-db leaves no incidents to show");
    return -1;
}

/* Resolves a duration --since against the log clock: the latest log time any scan saw
 * (scans.last_ts), which is also what incidents are judged by; the wall clock only when no
 * scan saw a time. Returns 0, or EXIT_USAGE after saying why. */
int incident_filter_since(const char *name, struct db *db, struct incident_filter *f)
{
    if (!f->has_since || !f->since_is_back)
        return 0;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db->h, "SELECT max(last_ts) FROM scans", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        diag_error(name, "%s: %s", db->path, sqlite3_errmsg(db->h));
        sqlite3_finalize(st);
        return EXIT_USAGE;
    }
    int64_t clock_us;
    bool zoned;
    const unsigned char *latest = sqlite3_column_text(st, 0);
    if (!latest || !parse_time_iso(strv_from_cstr((const char *)latest), 0, &clock_us, &zoned)) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        clock_us = (int64_t)now.tv_sec * 1000000;
    }
    sqlite3_finalize(st);
    parse_time_format(clock_us - f->since_back_us, f->since);
    return 0;
}

/* Checks --rule against the rules the database knows (the rules table, which every scan and
 * --rebuild fill with the loaded rules, and the incidents of rules since removed). Returns
 * 0, or EXIT_USAGE after saying that no such rule exists. */
int incident_filter_check_rule(const char *name, struct db *db, const char *rule)
{
    static const char sql[] =
            "SELECT EXISTS (SELECT 1 FROM rules WHERE id = ?1)"
            " OR EXISTS (SELECT 1 FROM incidents WHERE rule_id = ?1),"
            " (SELECT id FROM rules WHERE id = ?1 COLLATE NOCASE ORDER BY id LIMIT 1)";
    if (!rule)
        return 0;
    sqlite3_stmt *st = NULL;
    int status = 0;
    if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK ||
        sqlite3_bind_text(st, 1, rule, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        diag_error(name, "%s: %s", db->path, sqlite3_errmsg(db->h));
        status = EXIT_USAGE;
    } else if (!sqlite3_column_int(st, 0)) {
        const char *like = (const char *)sqlite3_column_text(st, 1);
        if (like)
            diag_error(name, "no rule '%s'; did you mean '%s'?", rule, like);
        else
            diag_error(name, "no rule '%s' in the database; 'hsmlog rules list' shows the rules",
                       rule);
        status = EXIT_USAGE;
    }
    sqlite3_finalize(st);
    return status;
}

static const struct option incidents_options[] = {
    APP_LONG_OPTIONS,
    INCIDENT_FILTER_LONG_OPTIONS,
    { 0 },
};

struct incidents_args {
    struct incident_filter f;
    enum out_format fmt; /* --format */
    bool rebuild;        /* --rebuild */
};

static int incidents_option(int opt, const char *arg, void *args)
{
    struct incidents_args *a = args;
    switch (opt) {
    case 'f':
        return app_format_option("incidents", arg, &a->fmt);
    case INCIDENT_OPT_REBUILD:
        a->rebuild = true;
        return 0;
    }
    return incident_filter_option(&a->f, "incidents", opt, arg);
}

static int incidents_parse(int argc, char **argv, struct app *app, void *args)
{
    static const struct cmd_options co = { "incidents", incidents_usage, APP_GETOPT "hf:qv",
                                           incidents_options };
    struct incidents_args *a = args;
    a->fmt = OUT_TABLE;
    int status = app_parse_options(app, &co, incidents_option, a, argc, argv);
    if (status >= 0)
        return status;
    if (a->rebuild)
        app->setup |= CMD_READS_RULES | CMD_WRITES_DB;
    return incident_filter_operands(app, "incidents", argc, argv);
}

static int incidents_run(struct app *app, void *args)
{
    struct incidents_args *a = args;
    struct db *db = app->db;
    int status = a->rebuild ? rebuild_all(app) : 0;
    sqlite3_stmt *st = NULL;
    if (status == 0 && sqlite3_prepare_v2(db->h, incidents_sql, -1, &st, NULL) != SQLITE_OK) {
        diag_error("incidents",
                   "%s: %s (a database from an older hsmlog is upgraded by 'hsmlog incidents "
                   "--rebuild' or the next scan)",
                   db->path, sqlite3_errmsg(db->h));
        status = EXIT_USAGE;
    }
    if (status == 0)
        status = incident_filter_check_rule("incidents", db, a->f.rule);
    if (status == 0)
        status = incident_filter_since("incidents", db, &a->f);
    if (status == 0) {
        /* out.h lists these priorities: what stays on a narrow terminal. */
        static const struct out_column cols[] = {
            { "id", OUT_COL_TEXT, OUT_KEEP, 0 },       { "severity", OUT_COL_TEXT, 4, 0 },
            { "rule", OUT_COL_TEXT, OUT_KEEP, 0 },     { "host", OUT_COL_TEXT, 2, 0 },
            { "first_ts", OUT_COL_TIME, OUT_KEEP, 0 }, { "last_ts", OUT_COL_TIME, 8, 0 },
            { "count", OUT_COL_TEXT, 7, 0 },           { "state", OUT_COL_TEXT, 6, 0 },
            { "summary", OUT_COL_TEXT, 3, 24 },        { "cause", OUT_COL_TEXT, 9, 0 },
        };
        incident_filter_bind(st, &a->f);
        status = cmd_print_statement(db->h, st, a->fmt, cols);
    }
    sqlite3_finalize(st);
    return status;
}

const struct cmd_ops cmd_incidents_ops = { sizeof(struct incidents_args), incidents_parse,
                                           incidents_run };
