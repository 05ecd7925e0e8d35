/* `hsmlog incidents`: the incident list, newest first, cause beside effect; and the filter
 * (--since, --host, --rule, --open) that `hsmlog report` (cmd_report.c) shares with it. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
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
        "Exit status: 0 ok, 2 usage or database error (also an unknown --rule) or output\n"
        "that could not be written.\n";

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

int incident_list_error(const char *name, const struct hl_err *err)
{
    if (err->code == HL_EFORMAT)
        diag_error(name,
                   "%s: %s (a database from an older hsmlog is upgraded by 'hsmlog incidents "
                   "--rebuild' or the next scan)",
                   err->where, err->msg);
    else
        diag_error(name, "%s: %s", err->where, err->msg);
    return EXIT_USAGE;
}

/* Resolves a duration --since against the log clock, by which incidents are judged too; the
 * wall clock only when no scan saw a time. */
static int since_resolve(const char *name, struct db *db, struct incident_filter *f)
{
    if (!f->has_since || !f->since_is_back)
        return 0;
    struct hl_err err;
    int64_t clock_us;
    int r = incidents_log_clock(db, &clock_us, &err);
    if (r < 0)
        return incident_list_error(name, &err);
    if (r == 0) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        clock_us = (int64_t)now.tv_sec * 1000000;
    }
    parse_time_format(clock_us - f->since_back_us, f->since);
    return 0;
}

/* Checks --rule (NULL: none) against the rules db knows: never an empty list for a typo. */
static int rule_check(const char *name, struct db *db, const char *rule)
{
    if (!rule)
        return 0;
    struct hl_err err;
    char *like = NULL;
    int r = incidents_rule_known(db, rule, &like, &err);
    if (r < 0)
        return incident_list_error(name, &err);
    if (r == 0 && like)
        diag_error(name, "no rule '%s'; did you mean '%s'?", rule, like);
    else if (r == 0)
        diag_error(name, "no rule '%s' in the database; 'hsmlog rules list' shows the rules", rule);
    free(like);
    return r == 0 ? EXIT_USAGE : 0;
}

int incident_filter_ready(const char *name, struct db *db, enum incident_order order,
                          struct incident_filter *f)
{
    struct hl_err err;
    if (incidents_list_check(db, order, &err) < 0)
        return incident_list_error(name, &err);
    int status = rule_check(name, db, f->rule);
    return status ? status : since_resolve(name, db, f);
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

/* The incident list as it prints: the output, scratch for a row's cells. */
struct list_out {
    struct out_ctx out;
    struct buf cause;       /* the cause cell's text */
    char id[24], count[24]; /* the integer cells' digits */
    int wr;                 /* the first failed out_row() */
};

static struct out_cell text_cell(const char *text)
{
    return text ? (struct out_cell){ OUT_TEXT, text, strlen(text) }
                : (struct out_cell){ OUT_NULL, NULL, 0 };
}

/* The cause cell: "#12 hsm.alarm on hsm-a1 at 2026-11-28 14:02:51", host and time when known. */
static int cause_text(struct buf *b, const struct incident_row *row)
{
    buf_reset(b);
    char id[24];
    snprintf(id, sizeof(id), "#%lld ", (long long)row->cause_id);
    int r = buf_adds(b, id) < 0 ? HL_ENOMEM : buf_adds(b, row->cause_rule_id);
    if (r == 0 && row->cause_host)
        r = buf_adds(b, " on ") < 0 ? HL_ENOMEM : buf_adds(b, row->cause_host);
    if (r == 0 && row->cause_first_ts)
        r = buf_adds(b, " at ") < 0 ? HL_ENOMEM : out_add_second(b, row->cause_first_ts);
    return r;
}

static int list_row(void *ctx, const struct incident_row *row)
{
    struct list_out *o = ctx;
    snprintf(o->id, sizeof(o->id), "%lld", (long long)row->id);
    snprintf(o->count, sizeof(o->count), "%lld", (long long)row->count);
    /* As SQL's ||, a missing rule makes the whole cell NULL. */
    bool cause = row->cause_id != 0 && row->cause_rule_id;
    if (cause && cause_text(&o->cause, row) < 0)
        return o->wr = HL_ENOMEM;
    const struct out_cell cells[] = {
        { OUT_INT, o->id, strlen(o->id) },
        text_cell(row->severity),
        text_cell(row->rule_id),
        text_cell(row->host),
        text_cell(row->first_ts),
        text_cell(row->last_ts),
        { OUT_INT, o->count, strlen(o->count) },
        text_cell(row->state),
        text_cell(row->summary),
        text_cell(cause ? buf_cstr(&o->cause) : NULL),
    };
    return o->wr = out_row(&o->out, cells);
}

/* Prints the incidents f lets through in fmt. A failure to read or write is worded as
 * `query` words it. Returns 0, or EXIT_USAGE after saying why. */
static int print_list(struct db *db, const struct incident_filter *f, enum out_format fmt)
{
    /* out.h lists these priorities: what stays on a narrow terminal. */
    static const struct out_column cols[] = {
        { "id", OUT_COL_TEXT, OUT_KEEP, 0 },       { "severity", OUT_COL_TEXT, 4, 0 },
        { "rule", OUT_COL_TEXT, OUT_KEEP, 0 },     { "host", OUT_COL_TEXT, 2, 0 },
        { "first_ts", OUT_COL_TIME, OUT_KEEP, 0 }, { "last_ts", OUT_COL_TIME, 8, 0 },
        { "count", OUT_COL_TEXT, 7, 0 },           { "state", OUT_COL_TEXT, 6, 0 },
        { "summary", OUT_COL_TEXT, 3, 24 },        { "cause", OUT_COL_TEXT, 9, 0 },
    };
    struct list_out o = { .wr = 0 };
    if (out_begin_columns(&o.out, fmt, stdout, sizeof(cols) / sizeof(cols[0]), cols) < 0) {
        diag_error("incidents", "out of memory");
        return EXIT_USAGE;
    }
    buf_init(&o.cause, 0);
    struct hl_err err;
    int status = 0;
    int r = incidents_list(db, f, INCIDENT_ORDER_NEWEST, list_row, &o, &err);
    if (r == HL_EFORMAT) {
        status = incident_list_error("incidents", &err);
    } else if (r < 0 && o.wr == 0) {
        diag_error("incidents", "%s", err.msg);
        status = EXIT_USAGE;
    }
    /* A write error is app_finish_output()'s to report. */
    int end = out_end(&o.out);
    if (status == 0 && (o.wr == HL_ENOMEM || end == HL_ENOMEM))
        diag_error("incidents", "out of memory");
    if (status == 0)
        status = app_output_status(o.wr, end);
    buf_release(&o.cause);
    return status;
}

static int incidents_run(struct app *app, void *args)
{
    struct incidents_args *a = args;
    int status = a->rebuild ? rebuild_all(app) : 0;
    if (status == 0)
        status = incident_filter_ready("incidents", app->db, INCIDENT_ORDER_NEWEST, &a->f);
    if (status == 0)
        status = print_list(app->db, &a->f, a->fmt);
    return status;
}

const struct cmd_ops cmd_incidents_ops = { sizeof(struct incidents_args), incidents_parse,
                                           incidents_run };
