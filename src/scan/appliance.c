/* Appliance hosts (appliance.h): a small open-addressing set of host-name hashes, filled from
 * the database and as lines stream past. */
#include "appliance.h"

#include <string.h>
#include <strings.h>

/* The appliance's own programs (Thales, Luna Network HSM 7 "Syslog and SNMP Monitoring
 * Guide": NTLS, Host Trust Link (HTLD), Certificate Monitoring Daemon, sysstat, Luna Shell
 * command logging, Luna SNMP Trap Agent (lsta), Other Appliance Logging). None of them runs on
 * a client host. */
static const char *const appliance_programs[] = { "NTLS",         "HTLD", "lunash", "sysstatd",
                                                  "certmonitord", "lsta", "oamp" };

bool appliance_line(const struct record *rec)
{
    if (rec->format == FMT_LUNA_TAIL)
        return true;
    if (rec->program.n < 4 || rec->program.n > 12)
        return false;
    for (size_t i = 0; i < sizeof(appliance_programs) / sizeof(appliance_programs[0]); i++)
        if (strlen(appliance_programs[i]) == rec->program.n &&
            strncasecmp(appliance_programs[i], rec->program.p, rec->program.n) == 0)
            return true;
    return false;
}

/* FNV-1a of the lowercase bytes; never 0, which marks an empty slot. */
static uint64_t host_hash(struct strv host)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < host.n; i++) {
        unsigned char c = (unsigned char)host.p[i];
        h ^= c >= 'A' && c <= 'Z' ? c + 32 : c;
        h *= 0x100000001b3ULL;
    }
    return h ? h : 1;
}

/* The slot of h: where it is, or the empty slot where it would go. */
static size_t slot_of(const struct appliance_hosts *a, uint64_t h)
{
    size_t i = (size_t)h & (APPLIANCE_MAX_HOSTS - 1);
    while (a->slots[i] && a->slots[i] != h)
        i = (i + 1) & (APPLIANCE_MAX_HOSTS - 1);
    return i;
}

bool appliance_hosts_add(struct appliance_hosts *a, struct strv host)
{
    if (!host.n)
        return false;
    uint64_t h = host_hash(host);
    size_t i = slot_of(a, h);
    if (a->slots[i] || a->n >= APPLIANCE_MAX_HOSTS / 2)
        return false;
    a->slots[i] = h;
    a->n++;
    return true;
}

bool appliance_hosts_note(struct appliance_hosts *a, const struct record *rec)
{
    return rec->host.n && appliance_line(rec) && appliance_hosts_add(a, rec->host);
}

bool appliance_hosts_has(const struct appliance_hosts *a, const struct record *rec)
{
    if (appliance_line(rec))
        return true;
    if (!rec->host.n || !a->n)
        return false;
    return a->slots[slot_of(a, host_hash(rec->host))] != 0;
}
