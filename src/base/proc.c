/* Process identity from /proc (proc(5)), for telling the scans of dead processes from live
 * ones. Reads two small files per judged process; never blocks. */
#include "proc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Reads /proc/PID/stat (pid 0: self). Returns 1 with the state letter and the start time, 0
 * when there is no such process, -1 when it cannot be read or parsed. */
static int read_stat(int64_t pid, char *ret_state, int64_t *ret_start)
{
    char path[64], text[1024];
    if (pid > 0)
        snprintf(path, sizeof(path), "/proc/%lld/stat", (long long)pid);
    else
        snprintf(path, sizeof(path), "/proc/self/stat");
    FILE *f = fopen(path, "re");
    if (!f)
        return errno == ENOENT || errno == ESRCH ? 0 : -1;
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    /* "pid (comm) state ppid ...": comm may hold spaces and parentheses, so the fields start
     * after the last ')'. The state is field 3, the start time field 22. */
    char *p = strrchr(text, ')');
    if (!p || p[1] != ' ' || !p[2])
        return -1;
    *ret_state = p[2];
    p += 3; /* on the space before field 4; each turn moves to the next field */
    for (int field = 4; field <= 22; field++) {
        p = strchr(p, ' ');
        if (!p)
            return -1;
        p++;
    }
    char *end;
    errno = 0;
    long long start = strtoll(p, &end, 10);
    if (errno || end == p || (*end != ' ' && *end != '\n' && *end != '\0') || start < 0)
        return -1;
    *ret_start = start;
    return 1;
}

static void read_boot_id(char out[40])
{
    out[0] = '\0';
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");
    if (!f)
        return;
    if (!fgets(out, 40, f))
        out[0] = '\0';
    fclose(f);
    out[strcspn(out, "\n")] = '\0';
}

int proc_self(struct proc_ident *ret)
{
    memset(ret, 0, sizeof(*ret));
    ret->pid = (int64_t)getpid();
    ret->start = -1;
    read_boot_id(ret->boot_id);
    if (gethostname(ret->host, sizeof(ret->host)) < 0)
        ret->host[0] = '\0';
    ret->host[sizeof(ret->host) - 1] = '\0';
    char state;
    return read_stat(0, &state, &ret->start) == 1 ? 0 : -1;
}

enum proc_state proc_judge(const struct proc_ident *self, const struct proc_ident *other)
{
    /* Another machine's processes cannot be seen from here: a database copied from it, or
     * shared with a container that has a host name (and pid space) of its own. */
    if (!self->host[0] || strcmp(self->host, other->host) != 0)
        return PROC_UNKNOWN;
    if (other->pid <= 0 || other->start < 0)
        return PROC_UNKNOWN;
    /* Every process of an earlier boot has ended. */
    if (self->boot_id[0] && other->boot_id[0] && strcmp(self->boot_id, other->boot_id) != 0)
        return PROC_GONE;
    if (other->pid == self->pid && other->start == self->start)
        return PROC_ALIVE;
    char state;
    int64_t start;
    int r = read_stat(other->pid, &state, &start);
    if (r < 0)
        return PROC_UNKNOWN;
    /* A zombie has ended and only waits for its parent to collect its status. */
    if (r == 0 || state == 'Z' || state == 'X' || start != other->start)
        return PROC_GONE;
    return PROC_ALIVE;
}
