/* stderr messages. Kept tiny on purpose: one format, one place, so every message reads the
 * same and tests can match them. */
#include "diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "term.h"

int diag_verbosity;

static HL_PRINTF(3, 0) void vprint(const char *where, const char *kind, const char *fmt, va_list ap)
{
    /* Locations and messages quote log text and archive member names: escape them before
     * they reach a terminal (term_escape()). */
    char msg[4096];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    fflush(stdout); /* keep stdout and stderr in order on a terminal */
    fputs("hsmlog: ", stderr);
    if (where && *where) {
        HL_IGNORE(term_fput_escaped(stderr, where, strlen(where)));
        fputs(": ", stderr);
    }
    if (kind)
        fputs(kind, stderr);
    HL_IGNORE(term_fput_escaped(stderr, msg, strlen(msg)));
    fputc('\n', stderr);
}

void diag_error(const char *where, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprint(where, NULL, fmt, ap);
    va_end(ap);
}

void diag_warn(const char *where, const char *fmt, ...)
{
    if (diag_verbosity < 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vprint(where, "warning: ", fmt, ap);
    va_end(ap);
}

void diag_info(const char *where, const char *fmt, ...)
{
    if (diag_verbosity < 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vprint(where, NULL, fmt, ap);
    va_end(ap);
}

void diag_note(const char *fmt, ...)
{
    if (diag_verbosity < 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    vprint(NULL, NULL, fmt, ap);
    va_end(ap);
}

void diag_err(const struct hl_err *err)
{
    diag_error(err->where, "%s", err->msg[0] ? err->msg : hl_code_name(err->code));
}
