/* `hsmlog parse`: every input line as the scanner's parser sees it, one event per line. It
 * reads inputs through the scan pipeline itself (sources, archives, lines, parser) with no
 * rules and no database, so what it prints is exactly what the rules would be matched on. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "diag.h"
#include "lines.h"
#include "out.h"
#include "parse_luna.h"
#include "parse_time.h"
#include "scan.h"

static const char parse_usage[] =
        "usage: hsmlog parse [OPTIONS] [FILE|-]...\n"
        "\n"
        "Prints every line of the inputs as a parsed event, with the same source layer\n"
        "(files, stdin, gzip, archives) and the same parser as 'hsmlog scan': to\n"
        "normalise logs, and to see what the rules are matched on. Nothing is stored.\n"
        "\n"
        "Columns: source, line, format, ts, host, program, pid, facility, severity,\n"
        "luna_level, luna_code, client_ip, client_port, rc, luna_ret, luna_ret_hex, ckr,\n"
        "ckr_hex, message. Absent values are null (empty in CSV).\n"
        "\n"
        "Options:\n"
        "  -f, --format FORMAT   json (one object per line, default), csv, table or\n"
        "                        json-array; see 'hsmlog help formats'\n"
        "      --year YEAR       year for timestamps that have none (as for scan)\n"
        "      --tz ZONE         zone of timestamps that have none (as for scan)\n"
        "      --max-line BYTES  longest line; longer lines are cut (default 65536)\n"
        "      --max-depth N     containers nested deeper are skipped (default 8)\n"
        "      --max-size, --max-ratio, --max-members   input limits as for scan\n"
        "      --program NAME    program of lines that name none (journalctl -o cat)\n"
        "      --host NAME       host of lines that name none\n"
        "  -q, --quiet           errors only: no warnings about skipped input\n" APP_COMMON_HELP_BUT_Q
        "\n"
        "Examples:\n"
        "  hsmlog parse /var/log/messages | jq -r 'select(.rc) | [.ts, .host, .rc] | @tsv'\n"
        "  journalctl -u ntls -o short-precise | hsmlog parse --format csv - > ntls.csv\n"
        "  hsmlog parse support-bundle.tgz --format table\n"
        "\n"
        "Exit status: 0 ok, 2 usage error or output that could not be written (a full\n"
        "disk, with a message; a reader that stops early, as head does, is no error),\n"
        "3 some input could not be read in full (the rest was still printed).\n";

/* Column order is a stable interface (README, hsmlog(1)): add at the end of the Luna block,
 * never rename. message stays last so a table keeps its free text at the right. */
static const char *const columns[] = {
    "source",   "line",         "format",     "ts",        "host",      "program",     "pid",
    "facility", "severity",     "luna_level", "luna_code", "client_ip", "client_port", "rc",
    "luna_ret", "luna_ret_hex", "ckr",        "ckr_hex",   "message",
};
enum {
    N_COLUMNS = sizeof(columns) / sizeof(columns[0])
};

static const char *const facility_names[24] = {
    "kern",   "user",   "mail",     "daemon", "auth",   "syslog", "lpr",    "news",
    "uucp",   "cron",   "authpriv", "ftp",    "ntp",    "audit",  "alert",  "clock",
    "local0", "local1", "local2",   "local3", "local4", "local5", "local6", "local7",
};
static const char *const severity_names[8] = {
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
};

struct parse_cmd {
    struct out_ctx out;
    int error;                   /* first out_row() failure: stop */
    volatile sig_atomic_t *stop; /* borrowed from app_catch_stop(): set to stop reading */
};

static struct out_cell text_cell(struct strv s)
{
    return s.n ? (struct out_cell){ OUT_TEXT, s.p, s.n } : (struct out_cell){ OUT_NULL, NULL, 0 };
}

static struct out_cell cstr_cell(const char *s)
{
    return s ? (struct out_cell){ OUT_TEXT, s, strlen(s) } : (struct out_cell){ OUT_NULL, NULL, 0 };
}

static void on_line(void *ctx, const struct record *rec, const char *source, uint64_t line_no)
{
    struct parse_cmd *pc = ctx;
    if (pc->error)
        return;
    char line[24], ts[PARSE_TIME_ISO_LEN], ret_hex[16], ckr_hex[16];
    snprintf(line, sizeof(line), "%llu", (unsigned long long)line_no);
    /* JSON is read by other programs: RFC 3339 there; tables and CSV as hsmlog stores times. */
    bool json = pc->out.fmt == OUT_JSON || pc->out.fmt == OUT_JSON_ARRAY;
    if (rec->has_ts)
        (json ? parse_time_format_rfc3339 : parse_time_format)(rec->ts_us, ts);
    struct luna_fields lf;
    parse_luna(rec->message, &lf);
    snprintf(ret_hex, sizeof(ret_hex), "0x%08X", (unsigned)lf.luna_ret_value);
    snprintf(ckr_hex, sizeof(ckr_hex), "0x%08X", (unsigned)lf.ckr_value);
    bool numeric_pid = rec->pid.n > 0 && rec->pid.n < 19;
    for (size_t i = 0; numeric_pid && i < rec->pid.n; i++)
        numeric_pid = rec->pid.p[i] >= '0' && rec->pid.p[i] <= '9';
    struct out_cell pid = text_cell(rec->pid);
    if (numeric_pid)
        pid.type = OUT_INT;
    const char *format = rec_format_name(rec->format);
    /* The parsers keep pri in 0..191 (struct record); checked again because it indexes the
     * tables above. */
    bool pri_known = rec->pri >= 0 && (size_t)(rec->pri >> 3) < ARRAY_SIZE(facility_names);
    struct out_cell cells[N_COLUMNS] = {
        cstr_cell(source),
        { OUT_INT, line, strlen(line) },
        cstr_cell(format),
        cstr_cell(rec->has_ts ? ts : NULL),
        text_cell(rec->host),
        text_cell(rec->program),
        pid,
        cstr_cell(pri_known ? facility_names[rec->pri >> 3] : NULL),
        cstr_cell(pri_known ? severity_names[rec->pri & 7] : NULL),
        text_cell(lf.level),
        text_cell(lf.code),
        text_cell(lf.client_ip),
        text_cell(lf.client_port),
        text_cell(lf.rc),
        text_cell(lf.luna_ret),
        cstr_cell(lf.has_luna_ret_value ? ret_hex : NULL),
        text_cell(lf.ckr),
        cstr_cell(lf.has_ckr_value ? ckr_hex : NULL),
        { OUT_TEXT, rec->message.p ? rec->message.p : "", rec->message.n },
    };
    int r = out_row(&pc->out, cells);
    if (r < 0) {
        pc->error = r;
        *pc->stop = 1; /* nobody is reading (or no memory): stop reading too */
    }
}

static void on_problem(void *ctx, const struct hl_err *err, bool skipped)
{
    (void)ctx;
    if (skipped)
        diag_warn(err->where, "%s, skipping", err->msg);
    else
        diag_error(err->where, "%s", err->msg);
}

static void on_warning(void *ctx, const struct hl_err *err)
{
    (void)ctx;
    diag_warn(err->where, "%s", err->msg);
}

static void on_note(void *ctx, const struct hl_err *err)
{
    (void)ctx;
    diag_note("%s: %s", err->where, err->msg);
}

static void on_idle(void *ctx)
{
    (void)ctx;
    fflush(stdout); /* `journalctl -f | hsmlog parse -` shows lines as they come */
}

static const struct option parse_options[] = {
    APP_LONG_OPTIONS,
    { "format", required_argument, NULL, 'f' },
    APP_INPUT_LONG_OPTIONS,
    { "help", no_argument, NULL, 'h' },
    { 0 },
};

struct parse_args {
    struct app_inputs in; /* the input options and the inputs */
    enum out_format fmt;  /* --format */
};

static int parse_option(int opt, const char *arg, void *args)
{
    struct parse_args *a = args;
    int in = app_input_option("parse", opt, arg, &a->in.opt);
    if (in)
        return in < 0 ? EXIT_USAGE : 0;
    return opt == 'f' ? app_format_option("parse", arg, &a->fmt) : 0;
}

static int parse_parse(int argc, char **argv, struct app *app, void *args)
{
    static const struct cmd_options co = { "parse", parse_usage, APP_GETOPT "hf:qv",
                                           parse_options };
    struct parse_args *a = args;
    a->fmt = OUT_JSON;
    int status = app_parse_options(app, &co, parse_option, a, argc, argv);
    if (status >= 0)
        return status;
    app_inputs_finish(&a->in, argc, argv);
    return -1;
}

/* Begins the output of pc in fmt, with the columns of every event. Returns 0, or -1 when
 * memory ran out. */
static int parse_begin(struct parse_cmd *pc, enum out_format fmt)
{
    /* On a narrow terminal (out.h): ts stays whole, message goes last, the Luna details first. */
    static const unsigned cut[N_COLUMNS] = { 4,  5,  6,  OUT_KEEP, 2,  3,  7,  8,  9, 10,
                                             11, 12, 13, 14,       15, 17, 16, 18, 1 };
    struct out_column cols[N_COLUMNS];
    for (size_t i = 0; i < N_COLUMNS; i++)
        cols[i] = (struct out_column){ columns[i], i == 3 ? OUT_COL_TIME : OUT_COL_TEXT, cut[i],
                                       i == N_COLUMNS - 1 ? 24 : 0 };
    return out_begin_columns(&pc->out, fmt, stdout, N_COLUMNS, cols) < 0 ? -1 : 0;
}

/* Ends the output of pc. Returns 0, or -1 after saying that memory ran out. A write error
 * (a full disk, or `| head` that has read enough) is left to app_finish_output(), which tells
 * the two apart. */
static int parse_end(struct parse_cmd *pc)
{
    int end = out_end(&pc->out);
    if (pc->error == HL_ENOMEM || end == HL_ENOMEM) {
        diag_error("parse", "out of memory");
        return -1;
    }
    return 0;
}

static int parse_run(struct app *app, void *args)
{
    const struct parse_args *a = args;
    struct hl_err err;
    hl_err_clear(&err);
    struct parse_cmd pc = { 0 };
    /* No rules (app->rules is empty): the scan only walks sources and parses. */
    if (ruleset_prepare(&app->rules, &err) < 0 || parse_begin(&pc, a->fmt) < 0) {
        diag_error("parse", "out of memory");
        return EXIT_USAGE;
    }
    pc.stop = app_catch_stop();
    struct scan_sink sink = {
        .problem = on_problem,
        .idle = on_idle,
        .warning = on_warning,
        .note = on_note,
        .ctx = &pc,
    };
    struct scan scan;
    int r = -1;
    if (scan_init(&scan, &a->in.opt, &app->rules, NULL, &sink, pc.stop, &err) < 0) {
        diag_err(&err);
    } else {
        scan.on_line = on_line;
        scan.on_line_ctx = &pc;
        r = app_scan_inputs(&scan, &a->in, NULL);
    }
    scan_release(&scan);
    bool fatal = parse_end(&pc) < 0 || r < 0;
    return fatal ? EXIT_USAGE : r == 1 ? EXIT_INCOMPLETE : EXIT_OK;
}

const struct cmd_ops cmd_parse_ops = { sizeof(struct parse_args), parse_parse, parse_run };
