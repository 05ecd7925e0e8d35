/* hsmlog entry point: global options, the command table, exit statuses. */
#include <getopt.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cmd.h"
#include "diag.h"

struct command {
    const char *name;
    int (*run)(int argc, char **argv, struct app *app);
    const char *summary; /* one line, shown by `hsmlog --help` */
};

static int cmd_help(int argc, char **argv, struct app *app);

static const struct command commands[] = {
    { "scan", cmd_scan,
      "read logs (files, stdin, gzip, archives), match the rules, store findings" },
    { "incidents", cmd_incidents, "list incidents (grouped findings, causes, missed events)" },
    { "report", cmd_report, "per host, a timeline of incidents with remedies" },
    { "query", cmd_query, "run SQL against the findings database" },
    { "parse", cmd_parse, "print every input line as a parsed event (NDJSON, CSV, table)" },
    { "rules", cmd_rules, "list, check and test the rule files" },
    { "help", cmd_help, "show help for hsmlog, a command or a topic" },
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
        "2 usage, rule-file or database error; 3 some input could not be read in full.\n"
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

static int cmd_help(int argc, char **argv, struct app *app)
{
    (void)app;
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        print_main_usage(stdout);
        return EXIT_OK;
    }
    const char *topic = help_topic(argv[1]);
    if (topic) {
        fputs(topic, stdout);
        return EXIT_OK;
    }
    const struct command *c = find_command(argv[1]);
    if (c && c->run == cmd_help) {
        print_main_usage(stdout);
        return EXIT_OK;
    }
    if (!c)
        return app_usage_error("help", "no command or topic '%s' (topics: %s)", argv[1],
                               help_topic_names());
    char *help_argv[] = { argv[1], (char *)"--help", NULL };
    optind = 0;
    return c->run(2, help_argv, app);
}

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
    struct app app = { 0 };
    app.command_line = join_args(argc, argv);
    static const struct option options[] = {
        APP_LONG_OPTIONS,
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { 0 },
    };
    int opt, status;
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
            printf("hsmlog %s\n", HSMLOG_VERSION);
            status = EXIT_OK;
            goto out;
        default:
            status = app_option_error(NULL, argv, opt, options);
            goto out;
        }
    }
    if (optind >= argc) {
        print_main_usage(stderr);
        status = EXIT_USAGE;
        goto out;
    }
    const struct command *c = find_command(argv[optind]);
    if (!c) {
        diag_error(NULL, "'%s' is not a command; see 'hsmlog --help'", argv[optind]);
        status = EXIT_USAGE;
        goto out;
    }
    int cargc = argc - optind;
    char **cargv = argv + optind;
    optind = 0; /* reset getopt for the command's own options */
    status = c->run(cargc, cargv, &app);
out:
    if (fflush(stdout) == EOF && status == EXIT_OK)
        status = EXIT_USAGE;
    free(app.rule_paths);
    free(app.command_line);
    return status;
}
