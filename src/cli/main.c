/* hsmlog entry point: global options, the command table, exit statuses. */
#include <getopt.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cmd.h"
#include "diag.h"

/* A row of the command table: git's cmd_struct. flags say what main() sets up before the
 * command runs (enum cmd_flags); a command whose options change that says so below. */
struct command {
    const char *name;
    const struct cmd_ops *ops; /* how its options are read and how it runs */
    unsigned flags;            /* enum cmd_flags */
    const char *summary;       /* one line, shown by `hsmlog --help` */
};

static const struct cmd_ops help_ops;

static const struct command commands[] = {
    { "scan", &cmd_scan_ops, CMD_READS_RULES | CMD_NEEDS_DB | CMD_WRITES_DB | CMD_BULK_WRITES,
      "read logs (files, stdin, gzip, archives), match the rules, store findings" },
    /* --rebuild: CMD_READS_RULES | CMD_WRITES_DB too */
    { "incidents", &cmd_incidents_ops, CMD_NEEDS_DB,
      "list incidents (grouped findings, causes, missed events)" },
    { "report", &cmd_report_ops, CMD_NEEDS_DB, "per host, a timeline of incidents with remedies" },
    { "query", &cmd_query_ops, CMD_NEEDS_DB, "run SQL against the findings database" },
    /* No rules: what it prints is what the rules would be matched on. */
    { "parse", &cmd_parse_ops, 0, "print every input line as a parsed event (NDJSON, CSV, table)" },
    /* path: nothing; check: CMD_RULES_LENIENT too */
    { "rules", &cmd_rules_ops, CMD_READS_RULES, "list, check and test the rule files" },
    { "help", &help_ops, 0, "show help for hsmlog, a command or a topic" },
};

static const char main_usage[] =
        "usage: hsmlog [--db PATH] [--rules PATH]... [-q|-v] COMMAND [ARGS]\n"
        "       hsmlog help [COMMAND|TOPIC]\n"
        "       hsmlog --version\n"
        "\n"
        "Finds known Thales Luna Network HSM failures in logs, says what they mean and\n"
        "what to do, and keeps the findings in SQLite.\n"
        "\n"
        "Commands:\n";

static const char main_usage_tail[] =
        "\n"
        "Options for every command:\n"
        "  --db PATH      findings database (default: $HSMLOG_DB, else\n"
        "                 $XDG_STATE_HOME/hsmlog/hsmlog.db, else ~/.local/state/hsmlog/hsmlog.db)\n"
        "  --no-db        do not open or write a database\n"
        "  --rules PATH   rule file or directory, repeatable (default: $HSMLOG_RULES,\n"
        "                 then the installed rules)\n"
        "  --no-site-rules  skip the site's overrides in " HSMLOG_SITE_SYSCONFDIR
        "/hsmlog/rules.d\n"
        "                 and ~/.config/hsmlog/rules.d ('hsmlog rules path' lists them)\n"
        "  -q, --quiet    errors only: no warnings, progress, summaries or totals (what a\n"
        "                 command is asked for, such as rows, a report or JSON, still prints)\n"
        "  -v, --verbose  say more\n"
        "\n"
        "Exit status: 0 ok; 1 findings at or above --fail-on (or a rule test failed);\n"
        "2 usage, rule-file or database error, or output that could not be written;\n"
        "3 some input could not be read in full.\n"
        "\n"
        "Examples:\n"
        "  journalctl -u ntls --since today | hsmlog scan -\n"
        "  hsmlog scan /var/log/messages support-bundle.tgz\n"
        "  hsmlog incidents --open\n"
        "  hsmlog report --since 7d\n"
        "  hsmlog query \"SELECT host, rule_id, count(*) FROM findings GROUP BY 1, 2\"\n"
        "  hsmlog parse /var/log/messages | jq -c 'select(.rc)'\n"
        "  hsmlog rules test\n";

static void print_main_usage(FILE *fp)
{
    fputs(main_usage, fp);
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
        fprintf(fp, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fputs("\nHelp topics ('hsmlog help TOPIC'; every command also takes --help):\n", fp);
    help_list_topics(fp);
    fputs(main_usage_tail, fp);
}

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

/* Reads c's options into args of its own, sets up what they and c's flags ask for, and runs
 * c. Returns the exit status. */
static int run_command(const struct command *c, int argc, char **argv, struct app *app)
{
    void *args = calloc(1, c->ops->args_size);
    if (!args) {
        diag_error(NULL, "out of memory");
        return EXIT_USAGE;
    }
    app->setup = c->flags;
    optind = 0; /* reset getopt for the command's own options */
    int status = c->ops->parse(argc, argv, app, args);
    if (status < 0) {
        status = app_setup(app);
        if (status == 0)
            status = c->ops->run(app, args);
    }
    free(args);
    return status;
}

struct help_args {
    const char *name; /* borrowed from argv: the command or topic asked about, or NULL */
};

static int help_parse(int argc, char **argv, struct app *app, void *args)
{
    (void)app;
    struct help_args *a = args;
    a->name = argc < 2 ? NULL : argv[1];
    return -1;
}

static int help_run(struct app *app, void *args)
{
    const struct help_args *a = args;
    if (!a->name || strcmp(a->name, "--help") == 0 || strcmp(a->name, "-h") == 0) {
        print_main_usage(stdout);
        return EXIT_OK;
    }
    const char *topic = help_topic(a->name);
    if (topic) {
        fputs(topic, stdout);
        return EXIT_OK;
    }
    const struct command *c = find_command(a->name);
    if (c && c->ops == &help_ops) {
        print_main_usage(stdout);
        return EXIT_OK;
    }
    if (!c)
        return app_usage_error("help", "no command or topic '%s' (topics: %s)", a->name,
                               help_topic_names());
    char *help_argv[] = { (char *)a->name, (char *)"--help", NULL };
    return run_command(c, 2, help_argv, app);
}

static const struct cmd_ops help_ops = { sizeof(struct help_args), help_parse, help_run };

static char *join_args(int argc, char **argv)
{
    struct buf b;
    buf_init(&b, 1u << 16);
    for (int i = 0; i < argc; i++) {
        if ((i && buf_addc(&b, ' ') < 0) || buf_adds(&b, argv[i]) < 0)
            break;
    }
    return buf_detach(&b);
}

int main(int argc, char **argv)
{
    setlocale(LC_ALL, "C"); /* byte semantics everywhere: logs are bytes */
    /* A reader that stops early (`hsmlog incidents | head`) is no error: a write then fails
     * with EPIPE instead of killing the process, and app_finish_output() stays quiet. */
    signal(SIGPIPE, SIG_IGN);
    struct app app = { 0 };
    app.command_line = join_args(argc, argv);
    static const struct option options[] = {
        APP_LONG_OPTIONS,
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { 0 },
    };
    int opt, status;
    bool version = false;
    const struct command *c = NULL;
    /* '+': stop at the command name; options after it belong to the command. */
    opterr = 0; /* app_option_error() says which option and why, in hsmlog's words */
    while ((opt = getopt_long(argc, argv, "+" APP_GETOPT "hVqv", options, NULL)) != -1) {
        if (app_common_option(&app, opt, optarg))
            continue;
        switch (opt) {
        case 'h':
            print_main_usage(stdout);
            status = EXIT_OK;
            goto out;
        case 'V':
            version = true; /* after the other options: -q --version is fine, a word is not */
            break;
        default:
            status = app_option_error(NULL, argv, opt, options);
            goto out;
        }
    }
    if (version) {
        if (optind < argc) {
            status =
                    app_usage_error(NULL, "unexpected argument '%s' after --version", argv[optind]);
        } else {
            printf("hsmlog %s (rule pack %s)\n", HSMLOG_VERSION, HSMLOG_PACK_VERSION);
            status = EXIT_OK;
        }
        goto out;
    }
    if (optind >= argc) {
        print_main_usage(stderr);
        status = EXIT_USAGE;
        goto out;
    }
    c = find_command(argv[optind]);
    if (!c) {
        diag_error(NULL, "'%s' is not a command; see 'hsmlog --help'", argv[optind]);
        status = EXIT_USAGE;
        goto out;
    }
    status = run_command(c, argc - optind, argv + optind, &app);
out:
    status = app_finish_output(c ? c->name : NULL, status);
    app_release(&app);
    return status;
}
