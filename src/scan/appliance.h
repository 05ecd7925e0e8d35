/* Which hosts are Luna Network HSM appliances. Some failure lines are ordinary Linux text
 * ("System is rebooting.") that means an appliance rebooted only when the appliance wrote it;
 * rules with `hosts = appliance` fire on such a line only when its host is known to be one.
 * A host is known from its own lines: one of the appliance's programs (NTLS, lunash,
 * sysstatd, certmonitord, oamp: the Thales components of the "Syslog and SNMP Monitoring
 * Guide") or the appliance's `syslog tail` display form. */
#ifndef HSMLOG_APPLIANCE_H
#define HSMLOG_APPLIANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rec.h"

/* Hosts remembered per scan: more are not remembered (their lines still count one by one). */
#define APPLIANCE_MAX_HOSTS 4096

/* Host names seen on appliance lines, as hashes of their lowercase bytes (host names are
 * case-insensitive). Invariant: n <= APPLIANCE_MAX_HOSTS / 2, so probing always ends. */
struct appliance_hosts {
    uint64_t slots[APPLIANCE_MAX_HOSTS]; /* 0: empty */
    size_t n;
};

/* Returns true when rec itself comes from an appliance: one of its programs, or the
 * `syslog tail` form. */
bool appliance_line(const struct record *rec);

/* Remembers rec's host when rec is an appliance line with a host. Cheap on other lines: call
 * it for every line. */
void appliance_hosts_note(struct appliance_hosts *a, const struct record *rec);

/* Returns true when rec comes from an appliance: an appliance line, or a line whose host was
 * noted. */
bool appliance_hosts_has(const struct appliance_hosts *a, const struct record *rec);

#endif
