/* The console host: the appliance a pasted lunash session runs on. The appliance shell prompts
 * `lunash:>` (Thales, "Logging In to LunaSH") after the host name in brackets, as captured
 * sessions show (`[hsm01] lunash:>`, Azure Dedicated HSM networking page; docs/LOG-SHAPES.md),
 * so in a paste of several sessions the prompt names the HSM the lines after it came from.
 * LunaCM runs on a client and its prompt `lunacm:>` names no HSM. Per input: a new input
 * starts with no host. */
#ifndef HSMLOG_SCAN_CONSOLE_H
#define HSMLOG_SCAN_CONSOLE_H

#include <stddef.h>

#include "rec.h"

/* Invariant: n is 0 (no host known) or the length of the host name in name. */
struct console_host {
    char name[256]; /* host the last lunash prompt named; a DNS name fits (RFC 1035: 253) */
    size_t n;       /* its length, 0 when no lunash prompt is in force */
};

/* Forgets the host: another input is another paste. */
void console_host_reset(struct console_host *c);

/* Reads rec: a lunash prompt sets the host, a LunaCM prompt ends it. Gives a plain line
 * without a time and without a host of its own (the prompt line too) the host in force;
 * rec->host then borrows c->name, valid until the next console_host_note() or _reset().
 * Leaves every other line as it is. */
void console_host_note(struct console_host *c, struct record *rec);

#endif
