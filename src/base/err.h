/* One error channel for the whole core: a negative enum hl_code as the return value and a
 * struct hl_err with the detail. Core modules fill it and never print; the command layer
 * (main.c, cmd_*.c) decides what reaches the user. */
#ifndef HSMLOG_ERR_H
#define HSMLOG_ERR_H

#include <stdarg.h>

#include "common.h"

enum hl_code {
    HL_OK = 0,
    HL_EIO = -1,     /* a read or write failed; sys_errno says why */
    HL_ENOMEM = -2,  /* allocation failed */
    HL_EFORMAT = -3, /* input is damaged or not what it claims to be */
    HL_ELIMIT = -4,  /* a configured cap was reached (line length, bomb ratio, depth) */
    HL_EDB = -5,     /* SQLite failed */
    HL_ERULE = -6,   /* a rule file is wrong */
    HL_EUSAGE = -7,  /* the caller asked for something impossible */
    HL_PAUSE = -8,   /* not a failure: a source that may block (a pipe) has no data yet; err
                        is left alone, and the same call may be made again */
};

/* Detail of the last failure. Fixed-size on purpose: reporting must work when malloc failed.
 * Invariant: msg is always NUL-terminated; where is "" when no location applies. */
struct hl_err {
    int code;        /* enum hl_code, HL_OK when nothing failed */
    int sys_errno;   /* errno at failure, 0 if not a system error */
    char where[512]; /* "logs.tgz!var/log/messages.2.gz:1841" or "rules/ntls.rules:14:9" */
    char msg[512];   /* lowercase, no final period: "unexpected end of gzip data" */
};

/* Resets err to "no error". NULL-safe. */
void hl_err_clear(struct hl_err *err);

/* Records a failure in err (when non-NULL) and returns code, so callers can write
 * `return hl_err_set(err, HL_EIO, where, "...")`. where may be NULL. */
int hl_err_set(struct hl_err *err, int code, const char *where, const char *fmt, ...)
        HL_PRINTF(4, 5);

/* Like hl_err_set() but appends ": strerror(errno)" and records errno. */
int hl_err_errno(struct hl_err *err, int code, const char *where, const char *fmt, ...)
        HL_PRINTF(4, 5);

/* Returns a short name for code ("I/O error", "limit reached"...). */
const char *hl_code_name(int code);

#endif
