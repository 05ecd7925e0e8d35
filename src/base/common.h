/* Small helpers every module uses, and the system headers hsmlog relies on. The system
 * headers come first, here, so that banned.h (last) poisons names only in our own code and
 * never inside a libc header's inline definitions (git's git-compat-util.h does the same). */
#ifndef HSMLOG_COMMON_H
#define HSMLOG_COMMON_H

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define ARRAY_SIZE(a)               (sizeof(a) / sizeof((a)[0]))
#define HL_PRINTF(fmt_idx, arg_idx) __attribute__((format(printf, fmt_idx, arg_idx)))
#define HL_NODISCARD                __attribute__((warn_unused_result))
/* Drops a HL_NODISCARD result on purpose; gcc ignores a (void) cast for that attribute. */
#define HL_IGNORE(expr) \
    do {                \
        if (expr) {     \
        }               \
    } while (0)
#define HL_MIN(a, b) ((a) < (b) ? (a) : (b))
#define HL_MAX(a, b) ((a) > (b) ? (a) : (b))

#include "banned.h"

#endif
