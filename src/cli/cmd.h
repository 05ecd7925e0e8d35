/* The command layer: global options, the command table and what each command needs set up.
 * Commands print; the core below them does not. */
#ifndef HSMLOG_CMD_H
#define HSMLOG_CMD_H

#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "db.h"
#include "stmt.h"
#include "incident.h"
#include "incident_list.h"
#include "out.h"
#include "parse_time.h"
#include "rule.h"
#include "scan.h"

/* Exit statuses, documented in README.md and `hsmlog --help`. */
enum hl_exit {
    EXIT_OK = 0,
    EXIT_FINDINGS = 1,   /* --fail-on matched (or `rules test` failed) */
    EXIT_USAGE = 2,      /* usage, rule-file or database error */
    EXIT_INCOMPLETE = 3, /* finished, but some input could not be read in full */
};

/* What a command needs set up before it runs: the flags of its row in main.c's command table,
 * which its parse() may change through app->setup when an option or operand decides
 * (incidents --rebuild, rules path, rules check). app_setup() does it once, in this order:
 * the rules, then the database. */
enum cmd_flags {
    CMD_READS_RULES = 1u << 0,   /* load the rules into app->rules; a rule-file error stops */
    CMD_RULES_LENIENT = 1u << 1, /* with CMD_READS_RULES: rule-file errors are printed and
                                  * counted in app->rule_errors, the rules that loaded kept */
    CMD_NEEDS_DB = 1u << 2,      /* open the database as app->db, read-only; with --no-db none
                                  * (a command that cannot do without says so in parse()) */
    CMD_WRITES_DB = 1u << 3,     /* with CMD_NEEDS_DB: open it for writing, and with
                                  * CMD_READS_RULES store the loaded rules in its rules table */
    CMD_BULK_WRITES = 1u << 4,   /* with CMD_WRITES_DB: reserve SQLite's page cache before
                                  * opening, for a writer of many rows (scan) */
};

/* State shared by every command: the options that apply to all of them, then what
 * app_setup() set up for the command. main() owns it and releases it with app_release(). */
struct app {
    const char *db_path;     /* borrowed: --db, or NULL for the default */
    bool no_db;              /* --no-db */
    const char **rule_paths; /* owned array of borrowed strings: every --rules */
    size_t n_rule_paths;
    bool no_site_rules;   /* --no-site-rules: read the pack only, no rules.d overrides */
    char *command_line;   /* owned: argv joined, recorded in scans.command */
    unsigned setup;       /* enum cmd_flags: what app_setup() is to set up for the command */
    struct ruleset rules; /* owned: loaded by app_setup() with CMD_READS_RULES, else empty */
    size_t rule_errors;   /* rule-file errors printed while loading (CMD_RULES_LENIENT) */
    struct db *db;        /* borrowed: &db_storage once app_setup() opened it, else NULL */
    struct db db_storage; /* owned: the database connection, closed by app_release() */
};

/* Sets up what app->setup asks for: loads the rules, opens the database. Returns 0, or
 * EXIT_USAGE after printing why. */
int app_setup(struct app *app);

/* Releases what app owns: the rules, the database connection, the option arrays. */
void app_release(struct app *app);

/* The arguments a command's parse() reads and its run() works from: a struct of the
 * command's own, args_size bytes, zeroed by main(). */
typedef int cmd_parse_fn(int argc, char **argv, struct app *app, void *args);
typedef int cmd_run_fn(struct app *app, void *args);

/* How main() runs one command. parse() reads its options and operands (argv[0] is the
 * command's name, getopt_long() is reset) into args and returns -1 to go on, or an exit status
 * after --help or a usage error; main() then calls app_setup(), and run() does the command's
 * own work and returns its exit status. Options are read before anything is set up because
 * --db, --no-db, --rules and -q may follow the command's name, and --help sets up nothing. */
struct cmd_ops {
    size_t args_size;    /* sizeof the command's struct of arguments */
    cmd_parse_fn *parse; /* options and operands into args */
    cmd_run_fn *run;     /* the command itself */
};

extern const struct cmd_ops cmd_scan_ops, cmd_incidents_ops, cmd_report_ops, cmd_query_ops,
        cmd_rules_ops, cmd_parse_ops;

/* One command's options, for app_parse_options(). */
struct cmd_options {
    const char *name;              /* the command, in messages: "scan" */
    const char *usage;             /* what -h and --help print */
    const char *shortopts;         /* getopt_long()'s, starting with APP_GETOPT */
    const struct option *longopts; /* APP_LONG_OPTIONS, the command's own, { 0 } */
};

/* Applies one of a command's own options (getopt_long()'s opt and optarg) to its args.
 * Returns 0, or EXIT_USAGE after a usage error. */
typedef int cmd_option_fn(int opt, const char *arg, void *args);

/* Reads the options of argv with getopt_long(): the common ones go into app, -h and --help
 * print co->usage, an unknown option or a missing argument is a usage error, and each other
 * option goes to option with args. Returns -1 when the command goes on (its operands start at
 * argv[optind]), else an exit status. */
int app_parse_options(struct app *app, const struct cmd_options *co, cmd_option_fn *option,
                      void *args, int argc, char **argv);

/* Long options every command accepts; commands add these to their getopt tables. */
#define APP_OPT_DB            1000
#define APP_OPT_NO_DB         1001
#define APP_OPT_RULES         1002
#define APP_OPT_NO_SITE_RULES 1003
#define APP_LONG_OPTIONS                                                                          \
    { "db", required_argument, NULL, APP_OPT_DB }, { "no-db", no_argument, NULL, APP_OPT_NO_DB }, \
            { "rules", required_argument, NULL, APP_OPT_RULES },                                  \
            { "no-site-rules", no_argument, NULL, APP_OPT_NO_SITE_RULES },                        \
            { "quiet", no_argument, NULL, 'q' },                                                  \
    {                                                                                             \
        "verbose", no_argument, NULL, 'v'                                                         \
    }

/* The lines of a command's --help that list the options of every command. A command that
 * says what -q, -v or --rules do for it lists them in lines of its own and ends with the
 * variant that leaves them out, so that its --help names each option once. */
#define APP_COMMON_HELP                                                                     \
    "      --db PATH, --no-db, --rules PATH, --no-site-rules, -q (--quiet: errors only),\n" \
    "      -v (--verbose)    options of every command: see 'hsmlog --help'\n"
#define APP_COMMON_HELP_BUT_Q                                                   \
    "      --db PATH, --no-db, --rules PATH, --no-site-rules, -v (--verbose)\n" \
    "                        options of every command: see 'hsmlog --help'\n"
#define APP_COMMON_HELP_BUT_RULES_Q_V             \
    "      --db PATH, --no-db, --no-site-rules\n" \
    "                        options of every command: see 'hsmlog --help'\n"

/* Applies a common option returned by getopt_long; returns true when it was one. */
bool app_common_option(struct app *app, int opt, const char *arg);

/* Long options of the commands that read inputs (scan, parse): how undated timestamps are read,
 * the input limits, and the program and host of lines that name none. */
#define APP_OPT_PROGRAM 1010
#define APP_OPT_HOST    1011
#define APP_INPUT_LONG_OPTIONS                                                        \
    { "year", required_argument, NULL, 'Y' }, { "tz", required_argument, NULL, 'T' }, \
            { "max-line", required_argument, NULL, 'M' },                             \
            { "max-depth", required_argument, NULL, 'D' },                            \
            { "max-size", required_argument, NULL, 'S' },                             \
            { "max-ratio", required_argument, NULL, 'R' },                            \
            { "max-members", required_argument, NULL, 'X' },                          \
            { "program", required_argument, NULL, APP_OPT_PROGRAM },                  \
    {                                                                                 \
        "host", required_argument, NULL, APP_OPT_HOST                                 \
    }

/* Applies an input option (APP_INPUT_LONG_OPTIONS) of command to opt. Returns 1 when opt was
 * one, 0 when it was not, or -1 after a usage error naming command was printed. */
int app_input_option(const char *command, int opt, const char *arg, struct scan_options *so);

/* The inputs of scan or parse: what the input options say, and the paths to read. */
struct app_inputs {
    struct scan_options opt; /* the input options (APP_INPUT_LONG_OPTIONS) */
    char **paths;            /* borrowed from argv: the operands; none for stdin */
    int n;                   /* how many paths */
};

/* Completes in after the options: gives it the local zone (TZ, else /etc/localtime) unless
 * --tz named one, warning when TZ names no zone and saying which with -v, the default line
 * cap, and the operands of argv from optind. */
void app_inputs_finish(struct app_inputs *in, int argc, char **argv);

/* Applies --format's arg of command to fmt. Returns 0, or EXIT_USAGE after a usage error. */
int app_format_option(const char *command, const char *arg, enum out_format *fmt);

/* Catches SIGINT and SIGTERM (a second one kills at once), ignores SIGPIPE and gives stdout a
 * block buffer, for a command that reads inputs (scan, parse). Returns the flag a signal sets;
 * the command sets it too, to stop reading when nobody reads its output. */
volatile sig_atomic_t *app_catch_stop(void);

/* The status of a command whose rows went out through out_row() (last result wr) and
 * out_end() (end): EXIT_USAGE for a failure of its own (out of memory), EXIT_OK for none and
 * for a failed write, which app_finish_output() judges: an error to report, or a reader that
 * stopped early (`| head`), which is none. */
int app_output_status(int wr, int end);

/* Flushes stdout at the end of a run and checks that everything written to it got out. When
 * some of it did not (a full disk, a closed descriptor, an I/O error), prints one line,
 * "hsmlog: command: cannot write output" (command NULL: hsmlog's own options), and
 * returns EXIT_USAGE; else, and when the reader of a pipe has gone, returns status. Commands
 * leave stdout's write errors to this, the one place that reports them. */
int app_finish_output(const char *command, int status);

struct term_progress;

/* Scans each path of in (none: stdin) until one fails or the scan's stop flag is set,
 * clearing progress (NULL: none) before printing an error. Returns 0, 1 when some input could
 * not be read in full, or -1 after printing the error that stopped the scan. */
int app_scan_inputs(struct scan *scan, const struct app_inputs *in, struct term_progress *progress);

/* One place rules are looked for, in order of precedence (see app_rule_dirs()). */
struct rule_dir {
    const char *origin; /* static: "--rules", "HSMLOG_RULES", "installed", "system", ... */
    char *path;         /* owned */
    bool exists;        /* a file or directory is there (a directory, for the defaults) */
    bool used;          /* rules are loaded from it */
    bool site;          /* a site rules.d directory, read after the pack: it may override */
};

struct rule_dirs {
    struct rule_dir v[69]; /* 64 given paths, the three defaults, the two site directories */
    size_t n;
};

/* Lists where rules are looked for. The pack: every --rules, else every $HSMLOG_RULES entry,
 * else the first existing of the installed directory, the same place relative to the
 * executable (bindir/../share/hsmlog/rules: a DESTDIR or moved install) and, for a binary in
 * its build tree, the source tree's rules/. Then the site directories, whatever the pack:
 * $HSMLOG_SYSCONFDIR (else the build's site_sysconfdir, /etc)/hsmlog/rules.d, then
 * $XDG_CONFIG_HOME (else ~/.config)/hsmlog/rules.d; used when they exist, unless
 * --no-site-rules. Returns 0, or -1 when memory ran out. */
int app_rule_dirs(const struct app *app, struct rule_dirs *ret);

/* Frees the paths of app_rule_dirs(). */
void app_rule_dirs_release(struct rule_dirs *d);

/* Prints one rule-file error with the offending line and a caret under the column. */
void app_print_rule_error(const struct rule_error *e);

/* Warns (unless -q) when opening db for writing marked earlier scans dead. */
void app_note_dead_scans(const struct db *db);

/* Says that the database at path is being upgraded from schema from to schema to (a
 * db_upgrading_fn). */
void app_note_db_upgrade(const char *path, int from, int to);

/* Says (with -v) what an incident update did and where its time went. */
void app_note_incidents_update(const struct incidents_update_stats *stats);

/* Resolves the database path (--db, else the default); returns a string to free, or NULL after
 * printing why. */
char *app_db_path(const struct app *app);

/* Prints "unknown option" style usage errors, "hsmlog: command: message" and a hint to see
 * command's --help, and returns EXIT_USAGE. command NULL: hsmlog's own options. */
int app_usage_error(const char *command, const char *fmt, ...) HL_PRINTF(2, 3);

/* The getopt_long() option string prefix every command uses: ':' so that a missing argument
 * returns ':' instead of printing getopt's own message (opterr is cleared by main()). */
#define APP_GETOPT ":"

/* Prints which option of command getopt_long() stopped at and why (it returned '?' or ':'):
 * an unknown or ambiguous option, one that needs an argument, one given an argument it does
 * not take; argv and longopts are those getopt_long() was given. Returns EXIT_USAGE. */
int app_option_error(const char *command, char **argv, int c, const struct option *longopts);

/* Steps a prepared statement and prints its rows in fmt (the output of `hsmlog query`), with
 * the columns described by cols (one per result column), or for NULL as `query` describes
 * them (times and rule ids by their origin in the schema, see cmd_query.c). Returns 0, or
 * EXIT_USAGE after printing why. */
int cmd_print_statement(struct db *db, struct stmt *st, enum out_format fmt,
                        const struct out_column *cols);

/* The options of the incident filter, in the getopt_long() tables of incidents and report;
 * both list --format and --rebuild too, which report refuses in its own words. */
#define INCIDENT_OPT_SINCE   2000
#define INCIDENT_OPT_HOST    2001
#define INCIDENT_OPT_RULE    2002
#define INCIDENT_OPT_OPEN    2003
#define INCIDENT_OPT_REBUILD 2004
#define INCIDENT_FILTER_LONG_OPTIONS                                                              \
    { "since", required_argument, NULL, INCIDENT_OPT_SINCE },                                     \
            { "host", required_argument, NULL, INCIDENT_OPT_HOST },                               \
            { "rule", required_argument, NULL, INCIDENT_OPT_RULE },                               \
            { "open", no_argument, NULL, INCIDENT_OPT_OPEN }, { "help", no_argument, NULL, 'h' }, \
            { "rebuild", no_argument, NULL, INCIDENT_OPT_REBUILD },                               \
    {                                                                                             \
        "format", required_argument, NULL, 'f'                                                    \
    }

/* Applies a filter option (--since, --host, --rule, --open) of command name to f. Returns 0,
 * or EXIT_USAGE after a usage error. */
int incident_filter_option(struct incident_filter *f, const char *name, int opt, const char *arg);

/* Checks what follows the options of incidents or report (name): no operand, and a database
 * to read. Returns -1 to go on, or EXIT_USAGE after a usage error. */
int incident_filter_operands(const struct app *app, const char *name, int argc, char **argv);

/* Readies f for incidents_list() in order on db, for command name: checks that db's incidents
 * can be listed, that a --rule names a rule db knows, and resolves a duration --since against
 * the log clock. Returns 0, or EXIT_USAGE after saying why. */
int incident_filter_ready(const char *name, struct db *db, enum incident_order order,
                          struct incident_filter *f);

/* Prints a failure of incident_list.h for command name: the database and the detail, and for
 * HL_EFORMAT how an older database is upgraded. Returns EXIT_USAGE. */
int incident_list_error(const char *name, const struct hl_err *err);

/* The text of a `hsmlog help TOPIC` topic that is not a command, or NULL. */
const char *help_topic(const char *name);

/* The topics' names, comma-separated, for an error message. */
const char *help_topic_names(void);

/* Prints the topic names with one line each, for `hsmlog --help`. */
void help_list_topics(FILE *fp);

#endif
