/* Who a process is, beyond its pid: what a scans row records of the scan that writes it, so
 * that a later writer can tell a dead run from a live one. A pid alone is reused by another
 * process; the pid with its start time (field 22 of /proc/PID/stat, clock ticks after boot)
 * names one process for the life of one boot of one machine, and the boot id and host name
 * say which boot and which machine. Linux only: without /proc nothing is ever judged dead. */
#ifndef HSMLOG_PROC_H
#define HSMLOG_PROC_H

#include <stdint.h>

#include "common.h"

/* One process. Invariants: a field that is not known is -1 or "". */
struct proc_ident {
    int64_t pid;      /* process id, -1 unknown */
    int64_t start;    /* start time, clock ticks after boot (/proc/PID/stat field 22), -1 unknown */
    char boot_id[40]; /* /proc/sys/kernel/random/boot_id, "" unknown */
    char host[256];   /* gethostname(), "" unknown */
};

/* Fills ret with this process's identity. Returns 0, or -1 when /proc does not tell its start
 * time (the fields that are known are still filled). */
int proc_self(struct proc_ident *ret);

enum proc_state {
    PROC_ALIVE,   /* that process is running */
    PROC_GONE,    /* it has ended: no such pid, another process under its pid, a zombie, or
                     the machine booted since */
    PROC_UNKNOWN, /* cannot be told from here: another host, or identity not recorded */
};

/* Judges, from the process self, whether the process other (as recorded earlier, perhaps by
 * another host) is still running: only a process of self's host is ever judged, by its boot
 * id (another boot: gone) and then /proc/PID/stat (no such pid, a zombie, or another start
 * time: gone). Anything else is PROC_UNKNOWN. */
enum proc_state proc_judge(const struct proc_ident *self, const struct proc_ident *other);

#endif
