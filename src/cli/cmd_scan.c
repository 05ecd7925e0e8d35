/* `hsmlog scan`: read inputs, match, store, and tell the operator what is wrong. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "clock.h"
#include "cmd.h"
#include "diag.h"
#include "incident.h"
#include "json.h"
#include "lines.h"
#include "parse_time.h"
#include "scan.h"
#include "term.h"

static const char scan_usage[] =
        "usage: hsmlog scan [OPTIONS] [FILE|-]...\n"
        "\n"
        "Reads each FILE (or stdin for '-' or no FILE): plain logs, gzip, and archives\n"
        "(tar, tar.gz, zip ...), detected from content. Prints a summary of what fired,\n"
        "with remedies, and stores findings in the database.\n"
        "\n"
        "Earlier scans of the database whose process is gone (killed, crashed) are\n"
        "marked 'dead' in its scans table, with a warning.\n"
        "\n"
        "With --follow, reads a live stream (journalctl -f) and prints each finding as\n"
        "soon as its line arrives, one line each, committing to the database at least\n"
        "once a second; SIGINT or SIGTERM stores everything read and exits 0.\n"
        "\n"
        "Options:\n"
        "  -o, --output FORMAT   text (summary, default) or json (one finding per line)\n"
        "  -f, --follow          print findings as their lines arrive, commit every second;\n"
        "                        for `journalctl -f -o json | hsmlog scan --follow -`\n"
        "      --progress        show a progress line on stderr even when it is no terminal\n"
        "      --no-progress     never show it (default: on a terminal, unless -q or -f)\n"
        "      --color WHEN      colour severities: auto (a terminal, no NO_COLOR), always,\n"
        "                        never\n"
        "      --fail-on SEV     exit 1 when a finding is at or above SEV\n"
        "                        (info, notice, warning, error, critical)\n"
        "      --year YEAR       year for timestamps that have none (default: from the\n"
        "                        file's modification time, else its archive's, else today;\n"
        "                        see 'hsmlog help time')\n"
        "      --tz ZONE         zone of timestamps that have none: Europe/Berlin (tz\n"
        "                        database) or +01:00 (default: TZ, else /etc/localtime;\n"
        "                        see 'hsmlog help time')\n"
        "      --max-line BYTES  longest line matched; longer lines are cut (default 65536)\n"
        "      --max-depth N     containers (gzip, archive) nested deeper are skipped (default 8)\n"
        "      --max-size BYTES  most bytes one decompressed stream may yield (default 64 GiB)\n"
        "      --max-ratio N     stop a stream whose output passes N bytes per input byte\n"
        "                        after its first 16 MiB: a decompression bomb (default 250)\n"
        "      --max-members N   files read from one archive; the rest are skipped (default\n"
        "                        100000)\n"
        "      --program NAME    program of lines that name none, so that rules for it can\n"
        "                        match text with no header (journalctl -o cat)\n"
        "      --host NAME       host of lines that name none\n"
        "  -q, --quiet           errors only: no summary, totals, warnings or progress\n"
        "                        (--output json and the --follow lines still print)\n" APP_COMMON_HELP_BUT_Q
        "\n"
        "Exit status: 0 ok, 1 --fail-on matched, 2 usage/rule/database error or output that\n"
        "could not be written, 3 some input could not be read in full (the rest was still\n"
        "scanned and stored).\n"
        "\n"
        "Examples:\n"
        "  journalctl -u ntls --since today | hsmlog scan -\n"
        "  journalctl -u ntls -o cat | hsmlog scan --program NTLS --host hsm-a1 -\n"
        "  hsmlog scan /var/log/messages /var/log/lunalogs support-bundle.tgz\n"
        "  hsmlog scan --output json --no-db messages.gz | jq -r .rule\n";

/* Per-rule totals for the summary. Hosts are capped: the summary names a few and counts
 * the rest, so memory does not grow with the input. */
#define SUMMARY_HOSTS 6
struct rule_stats {
    enum severity severity; /* the highest of its findings' (severity-when) */
    uint64_t count;
    uint64_t fresh; /* new to the database */
    bool has_ts;
    int64_t first_us, last_us;
    char *hosts[SUMMARY_HOSTS]; /* owned */
    size_t n_hosts;
    bool more_hosts;
};

struct scan_cmd {
    struct ruleset *rs;            /* borrowed: app->rules */
    volatile sig_atomic_t *stop;   /* borrowed from app_catch_stop(): set to stop reading */
    struct rule_stats *stats;      /* owned: one per rule */
    bool json;                     /* --output json */
    bool follow;                   /* --follow: a line per finding, flushed at once */
    bool color;                    /* colour severities on stdout */
    struct buf line;               /* owned: scratch for one output line */
    int fail_on;                   /* severity threshold, -1 for none */
    bool failed;                   /* a finding reached fail_on */
    bool output_broken;            /* a stdout write failed (closed pipe, full disk) */
    struct term_progress progress; /* the progress line on stderr */
    int64_t total_bytes;           /* sum of the input sizes, -1 when one is unknown (a pipe) */
};

/* "2026-11-28 09:14:03" from microseconds. */
static void short_time(int64_t us, char out[PARSE_TIME_ISO_LEN])
{
    parse_time_format(us, out);
    out[19] = '\0';
}

/* "CRITICAL" from a severity. */
static void upper_severity(enum severity sev, char out[16])
{
    const char *name = severity_name(sev);
    size_t i = 0;
    for (; name[i] && i < 15; i++)
        out[i] = (char)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 32 : name[i]);
    out[i] = '\0';
}

/* Writes log- or rule-supplied text to stdout with control characters made visible. */
static void put_text(const char *s)
{
    HL_IGNORE(term_fput_escaped(stdout, s, strlen(s)));
}

static void put_severity(const struct scan_cmd *sc, enum severity sev)
{
    char upper[16];
    upper_severity(sev, upper);
    const char *sgr = sc->color ? term_severity_sgr(sev) : "";
    printf("%s%-8s%s", sgr, upper, *sgr ? TERM_SGR_RESET : "");
}

static void note_host(struct rule_stats *st, struct strv host)
{
    if (!host.n)
        return;
    for (size_t i = 0; i < st->n_hosts; i++)
        if (strlen(st->hosts[i]) == host.n && memcmp(st->hosts[i], host.p, host.n) == 0)
            return;
    if (st->n_hosts == SUMMARY_HOSTS) {
        st->more_hosts = true;
        return;
    }
    char *h = strndup(host.p, host.n);
    if (h)
        st->hosts[st->n_hosts++] = h;
}

static int put_json_finding(struct buf *b, const struct finding *f)
{
    const struct record *rec = f->rec;
    int r = buf_adds(b, "{\"rule\":");
    r = r ? r : json_put_string(b, f->rule->id, strlen(f->rule->id));
    r = r ? r : buf_printf(b, ",\"severity\":\"%s\",\"ts\":", severity_name(f->severity));
    if (r == 0 && rec->has_ts) {
        /* RFC 3339 for the programs that read this, not the stored form of f->ts. */
        char ts[PARSE_TIME_ISO_LEN];
        parse_time_format_rfc3339(rec->ts_us, ts);
        r = json_put_string(b, ts, strlen(ts));
    } else if (r == 0) {
        r = buf_adds(b, "null");
    }
    const struct {
        const char *key;
        struct strv v;
    } strs[] = { { ",\"host\":", rec->host }, { ",\"program\":", rec->program } };
    for (size_t i = 0; r == 0 && i < ARRAY_SIZE(strs); i++) {
        r = buf_adds(b, strs[i].key);
        if (r == 0)
            r = strs[i].v.n ? json_put_string(b, strs[i].v.p, strs[i].v.n) : buf_adds(b, "null");
    }
    r = r ? r : buf_adds(b, ",\"pid\":");
    if (r == 0) {
        bool numeric = rec->pid.n > 0 && rec->pid.n < 11;
        for (size_t i = 0; numeric && i < rec->pid.n; i++)
            numeric = rec->pid.p[i] >= '0' && rec->pid.p[i] <= '9';
        if (numeric)
            r = buf_add(b, rec->pid.p, rec->pid.n);
        else
            r = rec->pid.n ? json_put_string(b, rec->pid.p, rec->pid.n) : buf_adds(b, "null");
    }
    r = r ? r : buf_adds(b, ",\"message\":");
    r = r ? r : json_put_string(b, rec->message.p, rec->message.n);
    r = r ? r : buf_adds(b, ",\"source\":");
    r = r ? r : json_put_string(b, f->source, strlen(f->source));
    r = r ? r : buf_printf(b, ",\"line\":%llu,\"fields\":", (unsigned long long)f->line);
    r = r ? r : buf_add(b, f->fields.p, f->fields.n);
    r = r ? r : buf_adds(b, "}\n");
    return r;
}

/* "2026-11-28 09:14:03 CRITICAL ntls.cert-expired hsm1: <message>", escaped, the
 * severity coloured when stdout is a terminal. */
static int put_follow_line(struct buf *b, const struct finding *f, bool color)
{
    char ts[PARSE_TIME_ISO_LEN] = "-";
    if (f->rec->has_ts)
        short_time(f->rec->ts_us, ts);
    char upper[16];
    upper_severity(f->severity, upper);
    const char *sgr = color ? term_severity_sgr(f->severity) : "";
    int r = buf_printf(b, "%s %s%-8s%s ", ts, sgr, upper, *sgr ? TERM_SGR_RESET : "");
    r = r ? r : term_escape(b, f->rule->id, strlen(f->rule->id));
    r = r ? r : buf_addc(b, ' ');
    if (r == 0)
        r = f->rec->host.n ? term_escape(b, f->rec->host.p, f->rec->host.n) : buf_addc(b, '-');
    r = r ? r : buf_adds(b, ": ");
    r = r ? r : term_escape(b, f->rec->message.p, f->rec->message.n);
    r = r ? r : buf_addc(b, '\n');
    return r;
}

static void on_finding(void *ctx, const struct finding *f)
{
    struct scan_cmd *sc = ctx;
    struct rule_stats *st = &sc->stats[f->rule - sc->rs->rules];
    st->count++;
    st->fresh += f->is_new;
    if (f->rec->has_ts) {
        if (!st->has_ts || f->rec->ts_us < st->first_us)
            st->first_us = f->rec->ts_us;
        if (!st->has_ts || f->rec->ts_us > st->last_us)
            st->last_us = f->rec->ts_us;
        st->has_ts = true;
    }
    note_host(st, f->rec->host);
    if ((int)f->severity > (int)st->severity)
        st->severity = f->severity;
    if (sc->fail_on >= 0 && (int)f->severity >= sc->fail_on)
        sc->failed = true;
    if (!(sc->json || sc->follow) || sc->output_broken)
        return;
    buf_reset(&sc->line);
    int r = sc->json ? put_json_finding(&sc->line, f) : put_follow_line(&sc->line, f, sc->color);
    if (r)
        return;
    term_progress_clear(&sc->progress);
    /* A live stream shows each finding as its line arrives, not when a block fills. */
    if (fwrite(sc->line.data, 1, sc->line.len, stdout) != sc->line.len ||
        (sc->follow && fflush(stdout) != 0)) {
        sc->output_broken = true;
        *sc->stop = 1; /* nobody is reading: stop, but still store what was read */
    }
}

static void on_problem(void *ctx, const struct hl_err *err, bool skipped)
{
    struct scan_cmd *sc = ctx;
    term_progress_clear(&sc->progress);
    if (skipped)
        diag_warn(err->where, "%s, skipping", err->msg);
    else
        diag_error(err->where, "%s", err->msg);
}

static void on_warning(void *ctx, const struct hl_err *err)
{
    struct scan_cmd *sc = ctx;
    term_progress_clear(&sc->progress);
    diag_warn(err->where, "%s", err->msg);
}

static void on_updated(void *ctx, const struct incidents_update_stats *stats)
{
    (void)ctx;
    app_note_incidents_update(stats);
}

static void on_note(void *ctx, const struct hl_err *err)
{
    (void)ctx;
    diag_note("%s: %s", err->where, err->msg);
}

static void on_idle(void *ctx)
{
    (void)ctx;
    fflush(stdout);
}

static void on_tick(void *ctx, const struct scan *scan)
{
    struct scan_cmd *sc = ctx;
    if (!term_progress_due(&sc->progress))
        return;
    struct scan_progress p;
    scan_progress(scan, &p);
    term_progress_draw(&sc->progress, p.bytes, sc->total_bytes, p.label);
}

static int cmp_stats(const void *a, const void *b, void *ctx)
{
    const struct scan_cmd *sc = ctx;
    size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
    const struct rule *ra = &sc->rs->rules[ia], *rb = &sc->rs->rules[ib];
    if (sc->stats[ia].severity != sc->stats[ib].severity)
        return sc->stats[ia].severity > sc->stats[ib].severity ? -1 : 1;
    if (sc->stats[ia].count != sc->stats[ib].count)
        return sc->stats[ia].count > sc->stats[ib].count ? -1 : 1;
    return strcmp(ra->id, rb->id);
}

/* Prints text wrapped at 78 columns with a hanging indent, control characters escaped. */
static void print_wrapped(const char *label, const char *text)
{
    const size_t width = 78, indent = 4;
    size_t col = indent + strlen(label);
    printf("%*s%s", (int)indent, "", label);
    struct buf esc;
    buf_init(&esc, 0);
    const char *p = term_escape(&esc, text, strlen(text)) == 0 ? buf_cstr(&esc) : "";
    while (*p) {
        while (*p == ' ')
            p++;
        size_t n = strcspn(p, " ");
        if (!n)
            break;
        if (col + 1 + n > width && col > indent + strlen(label)) {
            printf("\n%*s", (int)(indent + strlen(label)), "");
            col = indent + strlen(label);
        } else if (col > indent + strlen(label)) {
            putchar(' ');
            col++;
        }
        printf("%.*s", (int)n, p);
        col += n;
        p += n;
    }
    putchar('\n');
    buf_release(&esc);
}

/* The incidents part of the summary as it prints. */
struct scan_incidents_out {
    const struct scan_cmd *sc;
    struct incident_counts counts; /* of the whole scan, for the heading */
    bool any;                      /* the heading is printed */
    struct buf ts;                 /* scratch: a first time to the second */
};

static int print_incident(void *ctx, const struct incident_row *row)
{
    struct scan_incidents_out *o = ctx;
    if (!o->any) {
        long long all = o->counts.all, open = o->counts.open;
        printf("%lld incident%s (%lld open); act on these first (all: 'hsmlog incidents'):\n", all,
               all == 1 ? "" : "s", open);
        o->any = true;
    }
    enum severity sev = SEV_INFO;
    if (row->severity)
        HL_IGNORE(severity_parse(row->severity, strlen(row->severity), &sev));
    buf_reset(&o->ts);
    if (row->first_ts && out_add_second(&o->ts, row->first_ts) < 0)
        buf_reset(&o->ts);
    fputs("  ", stdout);
    put_severity(o->sc, sev);
    printf(" %-6s %s  ", row->state, row->first_ts ? buf_cstr(&o->ts) : "(no time)");
    /* Host and summary come from log lines. */
    put_text(row->rule_id);
    fputs("  ", stdout);
    put_text(row->host ? row->host : "-");
    fputs(": ", stdout);
    put_text(row->summary);
    putchar('\n');
    return 0;
}

/* After the findings: the incidents this scan rebuilt that need attention (open, or error and
 * worse), most severe first, so the summary ends with what to act on. A database that cannot
 * say leaves the part out: the findings above are the summary. */
static void print_incidents(const struct scan_cmd *sc, struct db *db)
{
    struct scan_incidents_out o = { .sc = sc };
    struct hl_err err;
    if (incidents_scan_counts(db, db->scan_id, &o.counts, &err) < 0)
        return;
    buf_init(&o.ts, 0);
    HL_IGNORE(incidents_of_scan(db, db->scan_id, 10, print_incident, &o, &err));
    if (o.any)
        putchar('\n');
    buf_release(&o.ts);
}

/* The last line of the summary, and all that --follow prints at the end. */
static void print_totals(const struct scan *scan, size_t n_fired, double seconds, size_t max_line)
{
    printf("%llu finding%s", (unsigned long long)scan->findings, scan->findings == 1 ? "" : "s");
    if (scan->db) /* with --no-db nothing is stored, so nothing is new */
        printf(" (%llu new)", (unsigned long long)scan->new_findings);
    printf(" from %zu rule%s in %llu line%s of %llu source%s, %.2f s", n_fired,
           n_fired == 1 ? "" : "s", (unsigned long long)scan->lines, scan->lines == 1 ? "" : "s",
           (unsigned long long)scan->sources, scan->sources == 1 ? "" : "s", seconds);
    if (scan->cut_lines)
        printf("; %llu line%s cut to %zu bytes", (unsigned long long)scan->cut_lines,
               scan->cut_lines == 1 ? "" : "s", max_line);
    if (scan->bad_time_lines)
        printf("; %llu line%s with an impossible time (%s)",
               (unsigned long long)scan->bad_time_lines, scan->bad_time_lines == 1 ? "" : "s",
               scan->db ? "stored without one" : "read without one");
    if (scan->incomplete)
        printf("; %llu source%s not read in full", (unsigned long long)scan->incomplete,
               scan->incomplete == 1 ? "" : "s");
    if (scan->skipped)
        printf("; %llu skipped", (unsigned long long)scan->skipped);
    putchar('\n');
}

static void print_summary(struct db *db, struct scan_cmd *sc, const struct scan *scan,
                          double seconds, size_t max_line)
{
    size_t n_fired = 0;
    size_t *order = malloc((sc->rs->n ? sc->rs->n : 1) * sizeof(*order));
    if (!order)
        return;
    for (size_t i = 0; i < sc->rs->n; i++)
        if (sc->stats[i].count)
            order[n_fired++] = i;
    qsort_r(order, n_fired, sizeof(*order), cmp_stats, sc);
    for (size_t k = 0; k < n_fired; k++) {
        const struct rule *rule = &sc->rs->rules[order[k]];
        const struct rule_stats *st = &sc->stats[order[k]];
        put_severity(sc, st->severity);
        putchar(' ');
        put_text(rule->id);
        printf("  x%llu", (unsigned long long)st->count);
        if (st->has_ts) {
            char a[PARSE_TIME_ISO_LEN], b[PARSE_TIME_ISO_LEN];
            short_time(st->first_us, a);
            short_time(st->last_us, b);
            if (st->first_us == st->last_us)
                printf("  at %s", a);
            else
                printf("  %s .. %s", a, b);
        }
        putchar('\n');
        if (st->n_hosts) {
            printf("    hosts: ");
            for (size_t h = 0; h < st->n_hosts; h++) {
                fputs(h ? ", " : "", stdout);
                put_text(st->hosts[h]);
            }
            printf("%s\n", st->more_hosts ? ", ..." : "");
        }
        print_wrapped("", rule->summary);
        print_wrapped("remedy: ", rule->remedy);
        putchar('\n');
    }
    if (db)
        print_incidents(sc, db);
    free(order);
    print_totals(scan, n_fired, seconds, max_line);
}

static size_t fired_rules(const struct scan_cmd *sc)
{
    size_t n = 0;
    for (size_t i = 0; i < sc->rs->n; i++)
        n += sc->stats[i].count > 0;
    return n;
}

/* The bytes a progress line counts toward: the sizes of the inputs, or -1 when one of them
 * has no size known up front (a pipe, a terminal). */
static int64_t input_bytes(char **paths, int n)
{
    int64_t total = 0;
    for (int i = 0; i < (n ? n : 1); i++) {
        const char *path = n ? paths[i] : "-";
        struct stat st;
        int r = strcmp(path, "-") == 0 ? fstat(STDIN_FILENO, &st) : stat(path, &st);
        if (r < 0 || !S_ISREG(st.st_mode))
            return -1;
        total += st.st_size;
    }
    return total;
}

static const struct option scan_options[] = {
    APP_LONG_OPTIONS,
    { "output", required_argument, NULL, 'o' },
    { "fail-on", required_argument, NULL, 'F' },
    APP_INPUT_LONG_OPTIONS,
    { "follow", no_argument, NULL, 'f' },
    { "progress", no_argument, NULL, 'P' },
    { "no-progress", no_argument, NULL, 'N' },
    { "color", required_argument, NULL, 'C' },
    { "colour", required_argument, NULL, 'C' },
    { "help", no_argument, NULL, 'h' },
    { 0 },
};

struct scan_args {
    struct app_inputs in;    /* the input options (--follow too) and the inputs */
    bool json;               /* --output json */
    int fail_on;             /* --fail-on severity, -1 for none */
    enum term_when color;    /* --color */
    enum term_when progress; /* --progress, --no-progress */
};

static int scan_option(int opt, const char *arg, void *args)
{
    struct scan_args *a = args;
    int in = app_input_option("scan", opt, arg, &a->in.opt);
    if (in)
        return in < 0 ? EXIT_USAGE : 0;
    switch (opt) {
    case 'o':
        if (strcmp(arg, "json") == 0)
            a->json = true;
        else if (strcmp(arg, "text") != 0)
            return app_usage_error("scan", "--output takes 'text' or 'json', not '%s'", arg);
        break;
    case 'F': {
        enum severity s;
        if (severity_parse(arg, strlen(arg), &s) < 0)
            return app_usage_error("scan", "unknown severity '%s' for --fail-on", arg);
        a->fail_on = (int)s;
        break;
    }
    case 'f':
        a->in.opt.follow = true;
        break;
    case 'P':
        a->progress = TERM_ALWAYS;
        break;
    case 'N':
        a->progress = TERM_NEVER;
        break;
    case 'C':
        if (term_when_parse(arg, &a->color) < 0)
            return app_usage_error("scan", "--color takes 'auto', 'always' or 'never', not '%s'",
                                   arg);
        break;
    }
    return 0;
}

static int scan_parse(int argc, char **argv, struct app *app, void *args)
{
    static const struct cmd_options co = { "scan", scan_usage, APP_GETOPT "fho:qv", scan_options };
    struct scan_args *a = args;
    a->fail_on = -1;
    int status = app_parse_options(app, &co, scan_option, a, argc, argv);
    if (status >= 0)
        return status;
    app_inputs_finish(&a->in, argc, argv);
    return -1;
}

/* Sets up sc for the scan a asks for, with the rules rs. Returns 0, or EXIT_USAGE after
 * saying why; scan_cmd_release() frees what it set up, either way. */
static int scan_cmd_init(struct scan_cmd *sc, const struct scan_args *a, struct ruleset *rs)
{
    *sc = (struct scan_cmd){
        .rs = rs,
        .json = a->json,
        .follow = a->in.opt.follow,
        .fail_on = a->fail_on,
    };
    buf_init(&sc->line, 0);
    sc->color = !sc->json && term_use_color(a->color, STDOUT_FILENO);
    /* A followed stream has no end to measure against: no progress unless asked for. */
    enum term_when progress = a->progress == TERM_AUTO && sc->follow ? TERM_NEVER : a->progress;
    term_progress_init(&sc->progress, STDERR_FILENO,
                       term_use_progress(progress, STDERR_FILENO, diag_verbosity < 0));
    sc->total_bytes = input_bytes(a->in.paths, a->in.n);
    sc->stats = calloc(rs->n, sizeof(*sc->stats));
    if (!sc->stats) {
        diag_error(NULL, "out of memory");
        return EXIT_USAGE;
    }
    return 0;
}

static void scan_cmd_release(struct scan_cmd *sc)
{
    if (sc->stats)
        for (size_t i = 0; i < sc->rs->n; i++)
            for (size_t h = 0; h < sc->stats[i].n_hosts; h++)
                free(sc->stats[i].hosts[h]);
    free(sc->stats);
    buf_release(&sc->line);
    term_progress_release(&sc->progress);
}

/* Starts this scan's row in the database app_setup() opened. Returns 0, or EXIT_USAGE after
 * saying why. */
static int scan_db_begin(struct app *app)
{
    struct db *db = app->db;
    struct hl_err err;
    hl_err_clear(&err);
    if (db_scan_begin(db, app->command_line, &err) < 0 ||
        /* Findings from before incidents (schema 1) get keys from the current rules. */
        (db->migrated_from == 1 &&
         (incidents_rekey(db, &app->rules, &err) < 0 || incidents_mark_all(db, &err) < 0))) {
        diag_err(&err);
        return EXIT_USAGE;
    }
    diag_note("database %s", db->path);
    app_note_dead_scans(db);
    return 0;
}

/* How the reading ended, for the scans row and the exit status. */
struct scan_end {
    bool fatal;       /* an error stopped the scan */
    bool incomplete;  /* some input could not be read in full */
    bool interrupted; /* a signal stopped it (not --follow, which ends that way) */
};

/* Ends the scan's row: what was read is stored even after a failure, so the incidents are
 * updated (unless the scan failed) and everything committed before reporting. Returns 0, or
 * -1 after printing why. */
static int scan_db_end(struct scan *scan, const struct scan_end *e)
{
    const char *state = e->fatal         ? "error"
                        : e->interrupted ? "interrupted"
                        : e->incomplete  ? "partial"
                                         : "ok";
    struct hl_err err;
    hl_err_clear(&err);
    int r = 0;
    if (!e->fatal && scan_update_incidents(scan, &err) < 0) {
        diag_err(&err);
        r = -1;
    }
    if (db_scan_end(scan->db, scan->lines, scan->new_findings, state, &err) < 0 ||
        db_commit(scan->db, &err) < 0) {
        diag_err(&err);
        r = -1;
    }
    return r;
}

/* Reads the inputs of a into the database (app->db, NULL for none), printing each finding
 * as it comes with --output json or --follow. Returns how the reading ended, with the time it
 * took in *ret_secs. */
static struct scan_end read_inputs(struct scan_cmd *sc, const struct scan_args *a, struct app *app,
                                   struct scan *scan, double *ret_secs)
{
    struct scan_sink sink = {
        .finding = on_finding,
        .problem = on_problem,
        .idle = on_idle,
        .ctx = sc,
        .tick = sc->progress.enabled ? on_tick : NULL,
        .warning = on_warning,
        .note = on_note,
        .updated = on_updated,
    };
    struct scan_options opt = a->in.opt;
    /* Findings are stored on a second thread, overlapping matching, unless each is printed
     * as it comes (--output json, --follow): on_finding then only counts, which nothing else
     * touches until the scan is over. */
    opt.writer_thread = !sc->json && !sc->follow;
    struct hl_err err;
    hl_err_clear(&err);
    bool ready = scan_init(scan, &opt, sc->rs, app->db, &sink, sc->stop, &err) == 0;
    if (!ready)
        diag_err(&err);
    int64_t t0 = clock_mono_ns();
    int r = ready ? app_scan_inputs(scan, &a->in, &sc->progress) : -1;
    *ret_secs = (double)(clock_mono_ns() - t0) / 1e9;
    term_progress_clear(&sc->progress);
    struct scan_end e = { .fatal = r < 0, .incomplete = r == 1 };
    /* A signal is how --follow ends: that is a normal end, not an interrupted scan. */
    e.interrupted = *sc->stop && !sc->output_broken && !sc->follow;
    if (app->db && scan_db_end(scan, &e) < 0)
        e.fatal = true;
    return e;
}

static int scan_run(struct app *app, void *args)
{
    const struct scan_args *a = args;
    struct scan_cmd sc;
    int status = scan_cmd_init(&sc, a, &app->rules);
    if (status == 0 && app->db)
        status = scan_db_begin(app);
    if (status) {
        scan_cmd_release(&sc);
        return status;
    }
    sc.stop = app_catch_stop();
    struct scan scan;
    double secs;
    struct scan_end e = read_inputs(&sc, a, app, &scan, &secs);
    /* -q: errors only. What was asked for (--output json, the --follow lines) still prints;
     * the summary and the totals are not. */
    bool quiet = diag_verbosity < 0;
    if (!sc.json && !sc.output_broken && sc.follow && !quiet)
        print_totals(&scan, fired_rules(&sc), secs, a->in.opt.max_line);
    else if (!sc.json && !sc.output_broken && !quiet)
        print_summary(e.fatal ? NULL : app->db, &sc, &scan, secs, a->in.opt.max_line);
    if (e.interrupted)
        diag_warn(NULL, "interrupted; what was read is stored");
    status = e.fatal        ? EXIT_USAGE
             : e.incomplete ? EXIT_INCOMPLETE
             : sc.failed    ? EXIT_FINDINGS
                            : EXIT_OK;
    scan_release(&scan);
    scan_cmd_release(&sc);
    return status;
}

const struct cmd_ops cmd_scan_ops = { sizeof(struct scan_args), scan_parse, scan_run };
