/* struct hl_err helpers: fill the fixed-size buffers without allocating, so an out-of-memory
 * failure can still be described. */
#include "err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void hl_err_clear(struct hl_err *err)
{
    if (!err)
        return;
    err->code = HL_OK;
    err->sys_errno = 0;
    err->where[0] = '\0';
    err->msg[0] = '\0';
}

static HL_PRINTF(4, 0) void err_vset(struct hl_err *err, int code, const char *where,
                                     const char *fmt, va_list ap)
{
    err->code = code;
    err->sys_errno = 0;
    snprintf(err->where, sizeof(err->where), "%s", where ? where : "");
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
}

int hl_err_set(struct hl_err *err, int code, const char *where, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err_vset(err, code, where, fmt, ap);
        va_end(ap);
    }
    return code;
}

int hl_err_errno(struct hl_err *err, int code, const char *where, const char *fmt, ...)
{
    int saved = errno;
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err_vset(err, code, where, fmt, ap);
        va_end(ap);
        size_t n = strlen(err->msg);
        snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", strerror(saved));
        err->sys_errno = saved;
    }
    errno = saved;
    return code;
}

const char *hl_code_name(int code)
{
    switch (code) {
    case HL_OK:
        return "ok";
    case HL_EIO:
        return "I/O error";
    case HL_ENOMEM:
        return "out of memory";
    case HL_EFORMAT:
        return "damaged input";
    case HL_ELIMIT:
        return "limit reached";
    case HL_EDB:
        return "database error";
    case HL_ERULE:
        return "rule error";
    case HL_EUSAGE:
        return "usage error";
    case HL_PAUSE:
        return "no data yet";
    }
    return "error";
}
