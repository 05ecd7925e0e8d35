/* `hsmlog report`: per host, a timeline of incidents with their probable causes and remedies,
 * the text to paste into a support ticket. It reads the incidents `hsmlog scan` built, with
 * the filter of `hsmlog incidents` (cmd_incidents.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cmd.h"
#include "diag.h"
#include "term.h"

static const char report_usage[] =
        "usage: hsmlog report [--since TIME] [--host HOST] [--rule RULE] [--open]\n"
        "\n"
        "Prints, per host, a timeline of incidents with the probable cause and the remedy of\n"
        "each: the text to paste into a support ticket. Log text in it is shown escaped\n"
        "(see 'hsmlog help formats'). For the same incidents as data, or to rebuild them,\n"
        "use 'hsmlog incidents' (--format, --rebuild).\n"
        "\n"
        "Options:\n"
        "      --since TIME    incidents active at or after TIME (every open one is):\n"
        "                      2026-11-28, 2026-11-28T14:00 (UTC, as times are stored and\n"
        "                      shown; a time with seconds may end in Z or +01:00), or a\n"
        "                      duration (90m, 12h, 7d) back from the latest log time in the\n"
        "                      database, not from the wall clock\n"
        "      --host HOST     only this host (any case: host names are case-insensitive)\n"
        "      --rule RULE     only this rule id; a rule the database does not know is an\n"
        "                      error ('hsmlog rules list' shows them)\n"
        "      --open          only incidents still open\n" APP_COMMON_HELP "\n"
        "Examples:\n"
        "  hsmlog report --since 7d\n"
        "  hsmlog report --host hsm-a1 --open\n"
        "\n"
        "Exit status: 0 ok, 2 usage or database error (also an unknown --rule) or output\n"
        "that could not be written.\n";

/* Prints text wrapped at width columns, each line after indent spaces. */
static void print_wrapped(const char *text, int indent, int width)
{
    const char *p = text;
    while (*p) {
        while (*p == ' ')
            p++;
        size_t n = strlen(p), cut = n;
        if ((int)n > width - indent) {
            cut = (size_t)(width - indent);
            while (cut > 0 && p[cut] != ' ')
                cut--;
            if (cut == 0)
                cut = (size_t)(width - indent);
        }
        printf("%*s%.*s\n", indent, "", (int)cut, p);
        p += cut;
    }
}

/* Log text made safe for a terminal (see term_escape_cell()), as a C string valid until b changes.
 * On failure (out of memory) it shows nothing rather than the raw text. */
static const char *safe(struct buf *b, const char *text)
{
    buf_reset(b);
    if (text && term_escape_cell(b, text, strlen(text)) < 0)
        buf_reset(b);
    return buf_cstr(b);
}

/* A stored time to the second: "2026-11-28 14:02:51". */
/* "2026-12-07 10:05:00" of a stored time. A text too short to be one (a database another tool
 * wrote) is shown as it is, its bytes that are not printable ASCII as '?'. */
static const char *short_ts(const char *ts, char out[24])
{
    if (!ts)
        return "(no time)";
    size_t n = strnlen(ts, 19);
    if (n == 19) {
        snprintf(out, 24, "%.10s %.8s", ts, ts + 11);
        return out;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = ts[i] >= 0x20 && ts[i] < 0x7f ? ts[i] : '?';
    out[n] = '\0';
    return out;
}

static const struct option report_options[] = {
    APP_LONG_OPTIONS,
    INCIDENT_FILTER_LONG_OPTIONS,
    { 0 },
};

static int report_option(int opt, const char *arg, void *args)
{
    struct incident_filter *f = args;
    /* Said, rather than unknown: someone who knows them from incidents tries them here. */
    if (opt == 'f')
        return app_usage_error("report",
                               "option '--format' is not one of report's: a report "
                               "is text to read or paste; 'hsmlog incidents --format "
                               "%s' gives the same incidents as data",
                               arg);
    if (opt == INCIDENT_OPT_REBUILD)
        return app_usage_error("report", "option '--rebuild' is not one of report's: run "
                                         "'hsmlog incidents --rebuild' first");
    return incident_filter_option(f, "report", opt, arg);
}

static int report_parse(int argc, char **argv, struct app *app, void *args)
{
    static const struct cmd_options co = { "report", report_usage, APP_GETOPT "hf:qv",
                                           report_options };
    int status = app_parse_options(app, &co, report_option, args, argc, argv);
    if (status >= 0)
        return status;
    return incident_filter_operands(app, "report", argc, argv);
}

/* The report as it prints: the host of the incidents so far, scratch for escaped text. */
struct report_out {
    int width;             /* columns text is wrapped at */
    unsigned long n;       /* incidents printed */
    struct buf host;       /* the host of the last incident, escaped */
    struct buf b1, b2, b3; /* escaped text of the current row */
};

/* Prints one incident, after a host heading when its host is new. */
static int print_incident(void *ctx, const struct incident_row *row)
{
    struct report_out *o = ctx;
    const char *h = safe(&o->b1, row->host ? row->host : "(no host)");
    if (o->n == 0 || strcmp(h, buf_cstr(&o->host)) != 0) {
        buf_reset(&o->host);
        if (buf_adds(&o->host, h) < 0)
            buf_reset(&o->host);
        printf("\n== %s ==\n", h);
    }
    o->n++;
    char a[24], b[24];
    const char *first = row->first_ts, *last = row->last_ts;
    char sev[16];
    snprintf(sev, sizeof(sev), "%s", row->severity);
    for (char *p = sev; *p; p++)
        *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
    printf("\n%s", short_ts(first, a));
    if (last && first && strcmp(first, last) != 0)
        printf(" .. %s", short_ts(last, b));
    printf("  %s  %s  #%lld  [%s, %lld finding%s]\n", sev, safe(&o->b1, row->rule_id),
           (long long)row->id, safe(&o->b2, row->state), (long long)row->count,
           row->count == 1 ? "" : "s");
    print_wrapped(safe(&o->b1, row->summary), 4, o->width);
    if (row->cause_id) {
        char cause[512];
        const char *ch = row->cause_host;
        snprintf(cause, sizeof(cause), "Probable cause: #%lld %s on %s: %s",
                 (long long)row->cause_id, safe(&o->b1, row->cause_rule_id),
                 ch ? safe(&o->b2, ch) : "(no host)", safe(&o->b3, row->cause_summary));
        print_wrapped(cause, 4, o->width);
    }
    if (row->remedy) {
        char remedy[4096];
        snprintf(remedy, sizeof(remedy), "Remedy: %s", safe(&o->b1, row->remedy));
        print_wrapped(remedy, 4, o->width);
    }
    return 0;
}

/* Prints the report of the incidents f lets through. Returns 0, or EXIT_USAGE after saying
 * why. */
static int print_report(struct db *db, const struct incident_filter *f)
{
    /* Host, summaries and remedies may carry log text: every one is escaped. */
    struct report_out o = { 0 };
    buf_init(&o.host, 0);
    buf_init(&o.b1, 0);
    buf_init(&o.b2, 0);
    buf_init(&o.b3, 0);
    int width = term_width(fileno(stdout));
    o.width = width < 40 ? (width ? 40 : 96) : HL_MIN(width, 96);
    char since[24];
    printf("hsmlog report%s%s\n", f->has_since ? " since " : "",
           f->has_since ? short_ts(f->since, since) : "");
    struct hl_err err;
    int status = 0;
    int r = incidents_list(db, f, INCIDENT_ORDER_HOST, print_incident, &o, &err);
    if (r == HL_EFORMAT) {
        status = incident_list_error("report", &err);
    } else if (r < 0) {
        diag_error("report", "%s", err.msg);
        status = EXIT_USAGE;
    } else if (o.n == 0) {
        printf("\nNo incidents.\n");
    }
    buf_release(&o.host);
    buf_release(&o.b1);
    buf_release(&o.b2);
    buf_release(&o.b3);
    return status;
}

static int report_run(struct app *app, void *args)
{
    struct incident_filter *f = args;
    int status = incident_filter_ready("report", app->db, INCIDENT_ORDER_HOST, f);
    return status ? status : print_report(app->db, f);
}

const struct cmd_ops cmd_report_ops = { sizeof(struct incident_filter), report_parse, report_run };
