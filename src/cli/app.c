/* Set-up shared by the commands: common options and the option loop, rule discovery and
 * loading, the database (app_setup(), as the command table's flags ask), stop signals and the
 * walk over inputs of scan and parse. */
#include "cmd.h"

#include <errno.h>
#include <signal.h>
#include <getopt.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diag.h"
#include "lines.h"
#include "parse_time.h"
#include "scan.h"
#include "term.h"

bool app_common_option(struct app *app, int opt, const char *arg)
{
    switch (opt) {
    case APP_OPT_DB:
        app->db_path = arg;
        return true;
    case APP_OPT_NO_DB:
        app->no_db = true;
        return true;
    case APP_OPT_NO_SITE_RULES:
        app->no_site_rules = true;
        return true;
    case APP_OPT_RULES: {
        const char **v = realloc(app->rule_paths, (app->n_rule_paths + 1) * sizeof(*v));
        if (!v) {
            diag_error(NULL, "out of memory");
            exit(EXIT_USAGE);
        }
        app->rule_paths = v;
        app->rule_paths[app->n_rule_paths++] = arg;
        return true;
    }
    case 'q':
        diag_verbosity = -1;
        return true;
    case 'v':
        diag_verbosity = 1;
        return true;
    }
    return false;
}

/* A word that starts with "--" and goes on with white space ("-- comment\nSELECT ...") names
 * no option, as no option's name holds a space: it is an operand (SQL), which getopt_long()
 * would take for an unknown long option. */
static bool is_dash_dash_text(const char *w)
{
    return w[0] == '-' && w[1] == '-' && w[2] && strchr(" \t\r\n", w[2]);
}

/* The word that p stands in for (see app_parse_options()), or p. */
static char *dash_dash_word(char *p, char *const *words, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p == words[i] + 2)
            return words[i];
    return p;
}

int app_parse_options(struct app *app, const struct cmd_options *co, cmd_option_fn *option,
                      void *args, int argc, char **argv)
{
    /* While getopt_long() reads argv, each dash-dash text is replaced by its tail past the
     * "--", which does not start with '-' and so is an operand to it, and is put back
     * afterwards wherever getopt_long() moved it. */
    char **words = NULL;
    size_t n_words = 0;
    for (int i = 1; i < argc; i++) {
        if (!is_dash_dash_text(argv[i]))
            continue;
        char **v = realloc(words, (n_words + 1) * sizeof(*v));
        if (!v) {
            free(words);
            diag_error(co->name, "out of memory");
            return EXIT_USAGE;
        }
        words = v;
        words[n_words++] = argv[i];
        argv[i] += 2;
    }
    int c, status = -1;
    while (status < 0 && (c = getopt_long(argc, argv, co->shortopts, co->longopts, NULL)) != -1) {
        const char *arg = optarg ? dash_dash_word(optarg, words, n_words) : NULL;
        if (app_common_option(app, c, arg))
            continue;
        if (c == 'h') {
            fputs(co->usage, stdout);
            status = EXIT_OK;
        } else if (c == '?' || c == ':') {
            /* getopt_long() returns '?' for an unknown option, ':' for a missing argument. */
            status = app_option_error(co->name, argv, c, co->longopts);
        } else {
            int r = option(c, arg, args);
            status = r ? r : -1;
        }
    }
    for (int i = 0; n_words && i < argc; i++)
        argv[i] = dash_dash_word(argv[i], words, n_words);
    free(words);
    return status;
}

/* A decimal count up to max, digits only (strtoull alone accepts "-1" and " 5"). */
static int parse_count(const char *s, unsigned long long max, unsigned long long *ret)
{
    char *end;
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max)
        return -1;
    *ret = v;
    return 0;
}

int app_input_option(const char *command, int opt, const char *arg, struct scan_options *so)
{
    unsigned long long v;
    switch (opt) {
    case 'Y':
        if (parse_count(arg, 9999, &v) < 0 || v < 1970)
            return app_usage_error(command, "--year takes a year such as 2026, not '%s'", arg), -1;
        so->year = (int)v;
        return 1;
    case 'T': {
        struct hl_err err;
        if (parse_zone_init(&so->zone, arg, &err) < 0)
            return app_usage_error(command,
                                   "--tz takes an offset such as +01:00 or a zone of the tz "
                                   "database such as Europe/Berlin, not '%s'",
                                   arg),
                   -1;
        return 1;
    }
    case 'M':
        if (parse_count(arg, 64u << 20, &v) < 0 || v < 256)
            return app_usage_error(command, "--max-line takes 256 to 67108864 bytes, not '%s'",
                                   arg),
                   -1;
        so->max_line = (size_t)v;
        return 1;
    case 'D':
        if (parse_count(arg, 64, &v) < 0 || v < 1)
            return app_usage_error(command, "--max-depth takes 1 to 64, not '%s'", arg), -1;
        so->max_depth = (int)v;
        return 1;
    case 'S':
        if (parse_count(arg, UINT64_MAX, &v) < 0 || v < 1)
            return app_usage_error(command, "--max-size takes a byte count, not '%s'", arg), -1;
        so->limits.max_size = v;
        return 1;
    case 'R':
        if (parse_count(arg, 1000000, &v) < 0 || v < 2)
            return app_usage_error(command, "--max-ratio takes 2 to 1000000, not '%s'", arg), -1;
        so->limits.max_ratio = v;
        return 1;
    case 'X':
        if (parse_count(arg, UINT64_MAX, &v) < 0 || v < 1)
            return app_usage_error(command, "--max-members takes a count, not '%s'", arg), -1;
        so->limits.max_members = v;
        return 1;
    case APP_OPT_PROGRAM:
    case APP_OPT_HOST:
        /* A header field is one word: a space would make it a different log line. */
        if (!*arg || strpbrk(arg, " \t\r\n"))
            return app_usage_error(command, "--%s takes a name without spaces, not '%s'",
                                   opt == APP_OPT_HOST ? "host" : "program", arg),
                   -1;
        *(opt == APP_OPT_HOST ? &so->host : &so->program) = arg;
        return 1;
    }
    return 0;
}

void app_inputs_finish(struct app_inputs *in, int argc, char **argv)
{
    struct hl_err err;
    if (!in->opt.zone.name[0] && parse_zone_local(&in->opt.zone, &err) < 0)
        diag_warn(NULL, "%s", err.msg);
    diag_note("times without a zone are read in %s", in->opt.zone.name);
    if (!in->opt.max_line)
        in->opt.max_line = LINES_DEFAULT_MAX_LINE;
    in->paths = argv + optind;
    in->n = argc - optind;
}

int app_format_option(const char *command, const char *arg, enum out_format *fmt)
{
    if (out_format_parse(arg, fmt) < 0)
        return app_usage_error(command, "--format takes " OUT_FORMAT_NAMES ", not '%s'", arg);
    return 0;
}

int app_usage_error(const char *command, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "hsmlog: %s%s", command ? command : "", command ? ": " : "");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'hsmlog %s%s--help'.\n", command ? command : "", command ? " " : "");
    va_end(ap);
    return EXIT_USAGE;
}

int app_option_error(const char *command, char **argv, int c, const struct option *longopts)
{
    /* getopt_long() has stepped past the option's word when it is a long option, or the last
     * of a cluster of short ones; optopt is the short option, or the long option's value,
     * or 0 for a long option it does not know. */
    const char *word = optind > 0 ? argv[optind - 1] : "";
    size_t len = strcspn(word, "=");
    bool is_long = strncmp(word, "--", 2) == 0 && len > 2;
    /* A known long option that word names (or abbreviates) with optopt as its value; else the
     * error is about a short option in a cluster that follows it. */
    bool long_known = false;
    for (const struct option *o = longopts; is_long && optopt && o->name; o++)
        long_known |= o->val == optopt && strncmp(o->name, word + 2, len - 2) == 0;
    char name[128];
    if (is_long && (!optopt || long_known))
        snprintf(name, sizeof(name), "%.*s", (int)len, word);
    else
        snprintf(name, sizeof(name), "-%c", optopt);
    if (c == ':')
        return app_usage_error(command, "option '%s' needs an argument", name);
    if (long_known && word[len] == '=')
        return app_usage_error(command, "option '%s' takes no argument", name);
    if (is_long && !optopt) {
        /* getopt_long() takes a unique abbreviation: one that is not names the candidates. */
        char cand[512] = "";
        size_t used = 0, n = 0;
        for (const struct option *o = longopts; o->name; o++) {
            if (strncmp(o->name, word + 2, len - 2) != 0 || used >= sizeof(cand))
                continue;
            used += (size_t)snprintf(cand + used, sizeof(cand) - used, "%s--%s", n ? ", " : "",
                                     o->name);
            n++;
        }
        if (n > 1)
            return app_usage_error(command, "option '%s' is ambiguous: %s", name, cand);
    }
    return app_usage_error(command, "unknown option '%s'", name);
}

void app_print_rule_error(const struct rule_error *e)
{
    fprintf(stderr, "%s: %s: %s\n", e->where, e->warning ? "warning" : "error", e->msg);
    if (e->text) {
        fprintf(stderr, "    %s\n", e->text);
        if (e->col > 0)
            fprintf(stderr, "    %*s^\n", e->col - 1, "");
    }
}

static bool exists(const char *path, bool dir)
{
    struct stat st;
    return stat(path, &st) == 0 && (!dir || S_ISDIR(st.st_mode));
}

/* The directory of this executable, or NULL (no /proc). Returns a string to free. */
static char *exe_dir(void)
{
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        return NULL;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return NULL;
    *slash = '\0';
    return strdup(exe);
}

/* True when this binary runs from the build tree it was compiled in. */
static bool running_from_build_dir(void)
{
    char *dir = exe_dir(), *real_build = realpath(HSMLOG_BUILD_DIR, NULL);
    bool yes = dir && real_build && strcmp(dir, real_build) == 0;
    free(dir);
    free(real_build);
    return yes;
}

static int add_dir(struct rule_dirs *d, const char *origin, const char *path, bool is_default)
{
    if (d->n == ARRAY_SIZE(d->v))
        return 0; /* more than anyone types: the rest are ignored */
    char *copy = strdup(path);
    if (!copy)
        return -1;
    d->v[d->n++] = (struct rule_dir){ origin, copy, exists(path, is_default), false, false };
    return 0;
}

/* Adds the site directory dir/hsmlog/rules.d. */
static int add_site_dir(struct rule_dirs *d, const char *origin, const char *dir)
{
    char *path;
    if (asprintf(&path, "%s/hsmlog/rules.d", dir) < 0)
        return -1;
    int r = add_dir(d, origin, path, false);
    free(path);
    if (r == 0 && d->n && strcmp(d->v[d->n - 1].origin, origin) == 0)
        d->v[d->n - 1].site = true;
    return r;
}

/* The system's site directory, then the user's, so that the user's files come later and win.
 * Neither depends on where the pack came from: tuning belongs to the site, whichever pack. */
static int add_site_dirs(struct rule_dirs *d)
{
    const char *sys = getenv("HSMLOG_SYSCONFDIR");
    int r = sys && *sys ? add_site_dir(d, "HSMLOG_SYSCONFDIR", sys)
                        : add_site_dir(d, "system", HSMLOG_SITE_SYSCONFDIR);
    /* XDG Base Directory: a relative $XDG_CONFIG_HOME is invalid and is ignored. */
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    if (r == 0 && xdg && xdg[0] == '/') {
        r = add_site_dir(d, "XDG_CONFIG_HOME", xdg);
    } else if (r == 0 && home && *home) {
        char *config;
        if (asprintf(&config, "%s/.config", home) < 0)
            return -1;
        r = add_site_dir(d, "user", config);
        free(config);
    }
    return r;
}

int app_rule_dirs(const struct app *app, struct rule_dirs *d)
{
    memset(d, 0, sizeof(*d));
    int r = 0;
    for (size_t i = 0; r == 0 && i < app->n_rule_paths; i++)
        r = add_dir(d, "--rules", app->rule_paths[i], false);
    const char *env = getenv("HSMLOG_RULES");
    if (r == 0 && env && *env) {
        /* Colon-separated, like PATH. */
        char *copy = strdup(env), *save = NULL;
        r = copy ? 0 : -1;
        for (char *tok = copy ? strtok_r(copy, ":", &save) : NULL; r == 0 && tok;
             tok = strtok_r(NULL, ":", &save))
            r = add_dir(d, "HSMLOG_RULES", tok, false);
        free(copy);
    }
    size_t explicit_n = d->n;
    if (r == 0)
        r = add_dir(d, "installed", HSMLOG_RULES_DIR, true);
    /* Installed under another root than the prefix it was built for (a DESTDIR staging tree,
     * a moved tree): the rules sit at the same place relative to the binary. */
    char *dir = exe_dir();
    if (r == 0 && dir) {
        size_t len = strlen(dir) + strlen(HSMLOG_RELATIVE_RULES_DIR) + 2;
        char *rel = malloc(len);
        r = rel ? 0 : -1;
        if (rel) {
            snprintf(rel, len, "%s/%s", dir, HSMLOG_RELATIVE_RULES_DIR);
            char *real = realpath(rel, NULL), *real_installed = realpath(HSMLOG_RULES_DIR, NULL);
            if (!real_installed || !real || strcmp(real, real_installed) != 0)
                r = add_dir(d, "next to the binary", real ? real : rel, true);
            free(real);
            free(real_installed);
            free(rel);
        }
    }
    free(dir);
    if (r == 0 && running_from_build_dir())
        r = add_dir(d, "source tree", HSMLOG_SOURCE_RULES_DIR, true);
    size_t pack_n = d->n;
    if (r == 0)
        r = add_site_dirs(d);
    if (r < 0) {
        app_rule_dirs_release(d);
        return -1;
    }
    /* What is given is used, missing or not (loading then says what is wrong): every --rules,
     * else every $HSMLOG_RULES entry; else the first default that exists. */
    for (size_t i = 0; i < explicit_n; i++)
        d->v[i].used = !app->n_rule_paths || strcmp(d->v[i].origin, "--rules") == 0;
    for (size_t i = explicit_n; !explicit_n && i < pack_n; i++)
        if (d->v[i].exists) {
            d->v[i].used = true;
            break;
        }
    for (size_t i = pack_n; i < d->n; i++)
        d->v[i].used = d->v[i].exists && !app->no_site_rules;
    return 0;
}

void app_rule_dirs_release(struct rule_dirs *d)
{
    for (size_t i = 0; i < d->n; i++)
        free(d->v[i].path);
    d->n = 0;
}

/* Loads the rules (the pack from --rules, $HSMLOG_RULES, the data directory or the source
 * tree, then the site directories' overrides), prints every rule-file error, and prepares
 * them. Returns 0, or EXIT_USAGE after printing why. With report_only, rule-file errors (and
 * warnings) are printed but rules that did load are kept. */
static int load_rules(struct app *app, struct ruleset *rs, bool report_only, size_t *ret_errors)
{
    struct rule_dirs dirs;
    struct rule_errors errs = { 0 };
    int status = 0;
    if (app_rule_dirs(app, &dirs) < 0) {
        diag_error(NULL, "out of memory while loading rules");
        return EXIT_USAGE;
    }
    const char *paths[ARRAY_SIZE(dirs.v)];
    size_t n = 0;
    for (size_t i = 0; i < dirs.n; i++)
        if (dirs.v[i].used && !dirs.v[i].site)
            paths[n++] = dirs.v[i].path;
    if (n == 0) {
        diag_error(NULL,
                   "no rules found: give --rules PATH or set HSMLOG_RULES (looked in %s; "
                   "'hsmlog rules path' lists every place)",
                   HSMLOG_RULES_DIR);
        app_rule_dirs_release(&dirs);
        return EXIT_USAGE;
    }
    for (size_t i = 0; i < n; i++) {
        diag_note("loading rules from %s", paths[i]);
        if (ruleset_load(rs, paths[i], &errs) == HL_ENOMEM) {
            diag_error(NULL, "out of memory while loading rules");
            status = EXIT_USAGE;
            break;
        }
    }
    /* After the whole pack, so that a site file can override any rule of it. */
    for (size_t i = 0; status == 0 && i < dirs.n; i++) {
        if (!dirs.v[i].used || !dirs.v[i].site)
            continue;
        diag_note("loading site rules from %s", dirs.v[i].path);
        if (ruleset_load_site(rs, dirs.v[i].path, &errs) == HL_ENOMEM) {
            diag_error(NULL, "out of memory while loading rules");
            status = EXIT_USAGE;
        }
    }
    if (status == 0 && ruleset_link(rs, &errs) == HL_ENOMEM) {
        diag_error(NULL, "out of memory while loading rules");
        status = EXIT_USAGE;
    }
    /* Warnings (references to disabled rules) are the site's own choice: `rules check` and
     * -v show them, a scan does not repeat them every run, and -q never does. */
    size_t n_errors = 0;
    for (size_t i = 0; i < errs.n; i++) {
        n_errors += !errs.v[i].warning;
        if (!errs.v[i].warning || (diag_verbosity >= 0 && (report_only || diag_verbosity > 0)))
            app_print_rule_error(&errs.v[i]);
    }
    if (ret_errors)
        *ret_errors = n_errors;
    if (n_errors && !report_only) {
        diag_error(NULL, "%zu error%s in rule files; fix them or check with 'hsmlog rules check'",
                   n_errors, n_errors == 1 ? "" : "s");
        status = EXIT_USAGE;
    }
    struct hl_err err;
    hl_err_clear(&err);
    if (status == 0 && ruleset_prepare(rs, &err) < 0) {
        diag_err(&err);
        status = EXIT_USAGE;
    }
    if (status == 0 && rs->n == 0 && !report_only) {
        diag_error(NULL, "no rules loaded");
        status = EXIT_USAGE;
    }
    rule_errors_release(&errs);
    app_rule_dirs_release(&dirs);
    return status;
}

void app_note_db_upgrade(const char *path, int from, int to)
{
    diag_info(path, "upgrading the database from schema %d to %d (once; a large one takes a while)",
              from, to);
}

void app_note_incidents_update(const struct incidents_update_stats *s)
{
    diag_note("incidents of %u rule and host pair(s) updated in %.2f s: rebuild %.2f s, "
              "links %.2f s, causes %.2f s, commit %.2f s",
              s->pairs, s->rebuild_s + s->links_s + s->causes_s + s->commit_s, s->rebuild_s,
              s->links_s, s->causes_s, s->commit_s);
}

void app_note_dead_scans(const struct db *db)
{
    if (db->dead_scans)
        diag_warn(db->path,
                  "%u earlier scan%s ended without finishing (%s process is gone): marked "
                  "'dead' in the scans table; scan %s input again to store what is missing",
                  db->dead_scans, db->dead_scans == 1 ? "" : "s",
                  db->dead_scans == 1 ? "its" : "their", db->dead_scans == 1 ? "its" : "their");
}

char *app_db_path(const struct app *app)
{
    char *path = app->db_path ? strdup(app->db_path) : db_default_path();
    if (!path)
        diag_error(NULL, "no database path: give --db PATH or set HSMLOG_DB (HOME is not set)");
    return path;
}

/* Opens the database for the command; with rules loaded, a writer stores them in it. */
static int open_db(struct app *app)
{
    unsigned f = app->setup;
    bool writes = f & CMD_WRITES_DB;
    char *path = app_db_path(app);
    if (!path)
        return EXIT_USAGE;
    if (f & CMD_BULK_WRITES)
        (void)db_reserve_page_cache(); /* best effort: memory then grows with the caches */
    struct hl_err err;
    hl_err_clear(&err);
    int r = db_open(&app->db_storage, path, !writes, app_note_db_upgrade, &err);
    if (r == 0 && writes && (f & CMD_READS_RULES))
        r = db_put_rules(&app->db_storage, &app->rules, &err);
    free(path);
    if (r < 0) {
        diag_err(&err);
        return EXIT_USAGE;
    }
    app->db = &app->db_storage;
    return 0;
}

int app_setup(struct app *app)
{
    unsigned f = app->setup;
    if (f & CMD_READS_RULES) {
        int status = load_rules(app, &app->rules, f & CMD_RULES_LENIENT, &app->rule_errors);
        if (status)
            return status;
    }
    if ((f & CMD_NEEDS_DB) && !app->no_db)
        return open_db(app);
    return 0;
}

void app_release(struct app *app)
{
    db_close(&app->db_storage);
    app->db = NULL;
    ruleset_release(&app->rules);
    free(app->rule_paths);
    free(app->command_line);
    app->rule_paths = NULL;
    app->n_rule_paths = 0;
    app->command_line = NULL;
}

/* True when stdout is a pipe or socket whose reader has gone (`hsmlog parse ... | head`):
 * stopping early is the reader's choice, not a failure. flush_errno is the errno of the final
 * flush, or 0; an earlier write left its errno to nobody, so the pipe itself is asked (Linux's
 * pipe_poll() reports POLLERR once no reader is left). */
static bool stdout_reader_gone(int flush_errno)
{
    if (flush_errno == EPIPE)
        return true;
    struct stat st;
    if (fstat(STDOUT_FILENO, &st) < 0 || !(S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
        return false;
    struct pollfd p = { .fd = STDOUT_FILENO, .events = POLLOUT };
    return poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP));
}

int app_output_status(int wr, int end)
{
    return (wr < 0 && wr != HL_EIO) || (end < 0 && end != HL_EIO) ? EXIT_USAGE : EXIT_OK;
}

int app_finish_output(const char *command, int status)
{
    errno = 0;
    int flush_errno = fflush(stdout) == EOF ? errno : 0;
    /* stdio keeps the error of every earlier write, whose data is lost even when this flush
     * had nothing left to write. No reason is given: only a failure at this last flush would
     * know it, and the message is to read the same whichever write failed. */
    if (!ferror(stdout) || stdout_reader_gone(flush_errno))
        return status;
    diag_error(command, "cannot write output");
    return EXIT_USAGE;
}

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
    stop_requested = 1;
    signal(sig, SIG_DFL); /* a second Ctrl-C kills at once */
}

volatile sig_atomic_t *app_catch_stop(void)
{
    struct sigaction sa = { .sa_handler = on_stop_signal };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL); /* no SA_RESTART: a blocked read returns at once */
    sigaction(SIGTERM, &sa, NULL);
    static char outbuf[1 << 16];
    setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));
    return &stop_requested;
}

int app_scan_inputs(struct scan *scan, const struct app_inputs *in, struct term_progress *progress)
{
    char **paths = in->paths;
    int n = in->n;
    bool incomplete = false;
    struct hl_err err;
    hl_err_clear(&err);
    for (int i = 0; i < (n ? n : 1) && !(scan->stop && *scan->stop); i++) {
        int r = scan_path(scan, n ? paths[i] : "-", &err);
        if (r < 0) {
            if (progress)
                term_progress_clear(progress);
            diag_err(&err);
            return -1;
        }
        incomplete |= r == 1;
    }
    return incomplete ? 1 : 0;
}
