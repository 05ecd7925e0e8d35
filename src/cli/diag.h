/* User-facing messages on stderr, GNU style: "hsmlog: where: what went wrong". Only the
 * command layer (main.c, cmd_*.c) calls these; core modules report through struct hl_err. */
#ifndef HSMLOG_DIAG_H
#define HSMLOG_DIAG_H

#include "common.h"
#include "err.h"

/* -1 quiet (errors only), 0 normal, 1 verbose. */
extern int diag_verbosity;

/* Prints "hsmlog: [where: ]message" for an error. where may be NULL or "". */
void diag_error(const char *where, const char *fmt, ...) HL_PRINTF(2, 3);

/* Prints "hsmlog: [where: ]warning: message" unless quiet. */
void diag_warn(const char *where, const char *fmt, ...) HL_PRINTF(2, 3);

/* Prints "hsmlog: [where: ]message" unless quiet: something the user waits for. */
void diag_info(const char *where, const char *fmt, ...) HL_PRINTF(2, 3);

/* Prints "hsmlog: message" only when verbose. */
void diag_note(const char *fmt, ...) HL_PRINTF(1, 2);

/* Prints an hl_err as an error. */
void diag_err(const struct hl_err *err);

#endif
