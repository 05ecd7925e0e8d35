/* The carry table: the client endpoint (address, port) each process named last, so that a
 * finding of a rule with `carry` (rules/README.md) on a later line of the same host, program
 * and pid gets the fields that line lacks. Per input: a new input starts empty. */
#ifndef HSMLOG_SCAN_CARRY_H
#define HSMLOG_SCAN_CARRY_H

#include <stddef.h>
#include <stdint.h>

#include "rec.h"
#include "rule.h"

#define CARRY_SLOTS 32 /* processes remembered; the least recently written goes */

/* The client endpoint a process named last, for rules with `carry` (rules/README.md). */
struct carry_slot {
    char key[192]; /* host, program and pid joined by NULs */
    size_t key_len;
    uint64_t key_hash; /* of key, compared first */
    char ip[64], port[16];
    uint64_t used; /* carry.tick when last written, for eviction */
};

struct carry {
    const char **programs; /* owned array (names borrowed from the rules): the programs of
                              carry rules, whose lines are noted */
    size_t *program_len;   /* owned: strlen of each */
    size_t n_programs;
    struct carry_slot slots[CARRY_SLOTS];
    uint64_t tick; /* writes so far */
};

/* Sets up an empty table for the carry rules of rs (which must outlive it). Without memory
 * it notes nothing: carry is a refinement, the fields stay as the lines have them. */
void carry_init(struct carry *c, const struct ruleset *rs);

/* Frees the program list. */
void carry_release(struct carry *c);

/* Forgets every endpoint: another input has other processes. */
void carry_reset(struct carry *c);

/* Remembers the client endpoint rec names, when its program is a carry rule's. Runs on every
 * line: cheap unless the program is one of them. */
void carry_note(struct carry *c, const struct record *rec);

/* Returns the endpoint rec's process named last, or NULL. */
const struct carry_slot *carry_lookup(const struct carry *c, const struct record *rec);

#endif
