/* Which hosts are Luna Network HSM appliances. Some failure lines are ordinary Linux text
 * ("System is rebooting.") that means an appliance rebooted only when the appliance wrote it;
 * a finding of a rule with `hosts = appliance` on such a line counts only once its host is
 * known to be one, by a line read before or after it (the scan holds it back until then, and
 * the database keeps the hosts every scan learned). A host is known from its own lines: one
 * of the appliance's programs (NTLS, HTLD, lunash, sysstatd, certmonitord, lsta, oamp: the
 * components of the "Syslog and SNMP Monitoring Guide") or the appliance's `syslog tail`
 * display form. This set is the scan's memory of them: the database's at its start, then
 * those it learns. */
#ifndef HSMLOG_APPLIANCE_H
#define HSMLOG_APPLIANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rec.h"

/* Room for hosts (the database's and those the scan learns): half of it is used. Past that a
 * host is not remembered: its appliance lines still count one by one, but are not stored as
 * telling its host, and its stock Linux lines of `hosts = appliance` rules wait. */
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

/* Remembers host. Returns true when it was not remembered before (and there was room). */
bool appliance_hosts_add(struct appliance_hosts *a, struct strv host);

/* Remembers rec's host when rec is an appliance line with a host. Returns true when that host
 * is new to a. Cheap on other lines: call it for every line. */
bool appliance_hosts_note(struct appliance_hosts *a, const struct record *rec);

/* Returns true when rec comes from an appliance: an appliance line, or a line whose host was
 * noted. */
bool appliance_hosts_has(const struct appliance_hosts *a, const struct record *rec);

#endif
