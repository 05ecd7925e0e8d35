/* The command layer: global options, the command table and what each command needs set up.
 * Commands print; the core below them does not. */
#ifndef HSMLOG_CMD_H
#define HSMLOG_CMD_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "db.h"
#include "incident.h"
#include "out.h"
#include "parse_time.h"
#include "rule.h"

/* Exit statuses, documented in README.md and `hsmlog --help`. */
enum hl_exit {
    EXIT_OK = 0,
    EXIT_FINDINGS = 1,   /* --fail-on matched (or `rules test` failed) */
    EXIT_USAGE = 2,      /* usage, rule-file or database error */
    EXIT_INCOMPLETE = 3, /* finished, but some input could not be read in full */
};

/* State shared by every command: options that apply to all of them. */
struct app {
    const char *db_path;     /* borrowed: --db, or NULL for the default */
    bool no_db;              /* --no-db */
    const char **rule_paths; /* owned array of borrowed strings: every --rules */
    size_t n_rule_paths;
    bool no_site_rules; /* --no-site-rules: read the pack only, no rules.d overrides */
    char *command_line; /* owned: argv joined, recorded in scans.command */
};

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

/* The lines of a command's --help that list the options of every command. */
#define APP_COMMON_HELP                                                                     \
    "      --db PATH, --no-db, --rules PATH, --no-site-rules, -q (--quiet: errors only),\n" \
    "      -v (--verbose)    options of every command: see 'hsmlog --help'\n"

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

struct scan_options;

/* Applies an input option (APP_INPUT_LONG_OPTIONS) of command to opt. Returns 1 when opt was
 * one, 0 when it was not, or -1 after a usage error naming command was printed. */
int app_input_option(const char *command, int opt, const char *arg, struct scan_options *so);

/* Gives so the local zone (TZ, else /etc/localtime) unless --tz named one, warning when TZ
 * names no zone, and says which with -v. Call after the options. */
void app_input_zone(struct scan_options *so);

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

/* Loads the rules (the pack from --rules, $HSMLOG_RULES, the data directory or the source
 * tree, then the site directories' overrides), prints every rule-file error, and prepares
 * them. Returns 0, or EXIT_USAGE after printing why. With report_only, rule-file errors (and
 * warnings) are printed but rules that did load are kept. */
int app_load_rules(struct app *app, struct ruleset *rs, bool report_only, size_t *ret_errors);

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
int cmd_print_statement(sqlite3 *h, sqlite3_stmt *st, enum out_format fmt,
                        const struct out_column *cols);

/* What `incidents` and `report` show: incidents active since a time, of one host, of one rule,
 * only open ones. Filled by incident_filter_options(), completed against the database by
 * incident_filter_since() (cmd_incidents.c). */
struct incident_filter {
    char since[PARSE_TIME_ISO_LEN]; /* stored-time text incidents are compared with */
    bool has_since;                 /* --since was given */
    int64_t since_back_us;          /* a duration --since, resolved by incident_filter_since() */
    bool since_is_back;             /* --since was a duration */
    const char *host;               /* borrowed from argv: --host, or NULL */
    const char *rule;               /* borrowed from argv: --rule, or NULL */
    bool open_only;                 /* --open */
};

/* Parses the options of incidents or report (name, with usage for --help) into f, fmt and
 * rebuild; returns -1 to go on, else an exit status after --help or a usage error. */
int incident_filter_options(int argc, char **argv, struct app *app, const char *name,
                            const char *usage, struct incident_filter *f, enum out_format *fmt,
                            bool *rebuild);

/* Binds f to ?1 (since), ?2 (host), ?3 (rule) and ?4 (open only) of st. */
void incident_filter_bind(sqlite3_stmt *st, const struct incident_filter *f);

/* Resolves a duration --since against the log clock of db. Returns 0, or EXIT_USAGE after
 * saying why (name is the command, in the message). */
int incident_filter_since(const char *name, struct db *db, struct incident_filter *f);

/* Checks a --rule (NULL: none) against the rules db knows. Returns 0, or EXIT_USAGE after
 * saying that no such rule exists. */
int incident_filter_check_rule(const char *name, struct db *db, const char *rule);

/* The text of a `hsmlog help TOPIC` topic that is not a command, or NULL. */
const char *help_topic(const char *name);

/* The topics' names, comma-separated, for an error message. */
const char *help_topic_names(void);

/* Prints the topic names with one line each, for `hsmlog --help`. */
void help_list_topics(FILE *fp);

int cmd_scan(int argc, char **argv, struct app *app);
int cmd_incidents(int argc, char **argv, struct app *app);
int cmd_report(int argc, char **argv, struct app *app);
int cmd_query(int argc, char **argv, struct app *app);
int cmd_rules(int argc, char **argv, struct app *app);
int cmd_parse(int argc, char **argv, struct app *app);

#endif
