/* Setup shared by the commands: rule discovery, database location, common options. */
#include "cmd.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diag.h"

bool app_common_option(struct app *app, int opt, const char *arg)
{
    switch (opt) {
    case APP_OPT_DB:
        app->db_path = arg;
        return true;
    case APP_OPT_NO_DB:
        app->no_db = true;
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

int app_usage_error(const char *command, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "hsmlog: %s: ", command);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'hsmlog %s --help'.\n", command);
    va_end(ap);
    return EXIT_USAGE;
}

void app_print_rule_error(const struct rule_error *e)
{
    fprintf(stderr, "%s: error: %s\n", e->where, e->msg);
    if (e->text) {
        fprintf(stderr, "    %s\n", e->text);
        if (e->col > 0)
            fprintf(stderr, "    %*s^\n", e->col - 1, "");
    }
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* True when this binary runs from the build tree it was compiled in. */
static bool running_from_build_dir(void)
{
    char exe[4096], *real_build = realpath(HSMLOG_BUILD_DIR, NULL);
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    bool yes = false;
    if (n > 0 && real_build) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            yes = strcmp(exe, real_build) == 0;
        }
    }
    free(real_build);
    return yes;
}

/* Fills paths with where to look for rules, in the documented order of precedence. The
 * strings are borrowed from app, the environment or static storage; env_copy keeps a copy of
 * $HSMLOG_RULES alive for split entries. */
static size_t rule_search_paths(const struct app *app, const char **paths, size_t max,
                                char **env_copy)
{
    size_t n = 0;
    *env_copy = NULL;
    if (app->n_rule_paths) {
        for (size_t i = 0; i < app->n_rule_paths && n < max; i++)
            paths[n++] = app->rule_paths[i];
        return n;
    }
    const char *env = getenv("HSMLOG_RULES");
    if (env && *env) {
        /* Colon-separated, like PATH. */
        *env_copy = strdup(env);
        char *save = NULL;
        for (char *tok = *env_copy ? strtok_r(*env_copy, ":", &save) : NULL; tok && n < max;
             tok = strtok_r(NULL, ":", &save))
            paths[n++] = tok;
        return n;
    }
    if (is_dir(HSMLOG_RULES_DIR))
        paths[n++] = HSMLOG_RULES_DIR;
    else if (running_from_build_dir() && is_dir(HSMLOG_SOURCE_RULES_DIR))
        paths[n++] = HSMLOG_SOURCE_RULES_DIR;
    return n;
}

int app_load_rules(struct app *app, struct ruleset *rs, bool report_only, size_t *ret_errors)
{
    const char *paths[64];
    char *env_copy;
    size_t n = rule_search_paths(app, paths, ARRAY_SIZE(paths), &env_copy);
    struct rule_errors errs = { 0 };
    int status = 0;
    if (n == 0) {
        diag_error(NULL, "no rules found: give --rules PATH or set HSMLOG_RULES (looked in %s)",
                   HSMLOG_RULES_DIR);
        free(env_copy);
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
    if (status == 0 && ruleset_link(rs, &errs) == HL_ENOMEM) {
        diag_error(NULL, "out of memory while loading rules");
        status = EXIT_USAGE;
    }
    for (size_t i = 0; i < errs.n; i++)
        app_print_rule_error(&errs.v[i]);
    if (ret_errors)
        *ret_errors = errs.n;
    if (errs.n && !report_only) {
        diag_error(NULL, "%zu error%s in rule files; fix them or check with 'hsmlog rules check'",
                   errs.n, errs.n == 1 ? "" : "s");
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
    free(env_copy);
    return status;
}

char *app_db_path(const struct app *app)
{
    char *path = app->db_path ? strdup(app->db_path) : db_default_path();
    if (!path)
        diag_error(NULL, "no database path: give --db PATH or set HSMLOG_DB (HOME is not set)");
    return path;
}
