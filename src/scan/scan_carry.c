/* The carry table (scan_carry.h). */
#include "scan_carry.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parse_luna.h"

/* Adds name to the programs whose lines carry_note() looks at, once. */
static void add_program(struct carry *c, const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < c->n_programs; i++)
        if (c->program_len[i] == len && strcmp(c->programs[i], name) == 0)
            return;
    const char **names = realloc(c->programs, (c->n_programs + 1) * sizeof(*names));
    if (names)
        c->programs = names;
    size_t *lens = realloc(c->program_len, (c->n_programs + 1) * sizeof(*lens));
    if (lens)
        c->program_len = lens;
    if (!names || !lens)
        return; /* carry is a refinement: without memory the fields stay as the line has them */
    names[c->n_programs] = name;
    lens[c->n_programs++] = len;
}

/* FNV-1a, 64 bit, for the carry table's keys. */
static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *u = p;
    for (size_t i = 0; i < n; i++) {
        h ^= u[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* Builds the context key of rec (host, program, pid) and its hash; false when it does not
 * fit. */
static bool carry_key(const struct record *rec, char *out, size_t *ret_len, uint64_t *ret_hash)
{
    size_t n = rec->host.n + rec->program.n + rec->pid.n + 2;
    if (n > sizeof(((struct carry_slot *)0)->key))
        return false;
    char *p = out;
    const struct strv parts[] = { rec->host, rec->program, rec->pid };
    for (size_t i = 0; i < ARRAY_SIZE(parts); i++) {
        if (parts[i].n)
            memcpy(p, parts[i].p, parts[i].n);
        p += parts[i].n;
        if (i < 2)
            *p++ = '\0';
    }
    *ret_len = n;
    *ret_hash = fnv1a(0xcbf29ce484222325ULL, out, n);
    return true;
}

static struct carry_slot *carry_find(const struct carry *cr, const char *key, size_t len,
                                     uint64_t hash)
{
    for (size_t i = 0; i < CARRY_SLOTS; i++)
        if (cr->slots[i].key_hash == hash && cr->slots[i].key_len == len &&
            memcmp(cr->slots[i].key, key, len) == 0)
            return (struct carry_slot *)&cr->slots[i];
    return NULL;
}

/* Remembers the client endpoint a line of a carry rule's program names. Runs on every line
 * of those programs, so it checks the cheap things first and parses only the structure. */
void carry_note(struct carry *cr, const struct record *rec)
{
    bool wanted = false;
    for (size_t i = 0; i < cr->n_programs && !wanted; i++)
        wanted = cr->program_len[i] == rec->program.n &&
                 strncasecmp(cr->programs[i], rec->program.p, rec->program.n) == 0;
    if (!wanted)
        return;
    struct luna_fields lf;
    parse_luna_structure(rec->message, &lf);
    char key[sizeof(cr->slots[0].key)];
    size_t len;
    uint64_t hash;
    if (!lf.client_ip.n || lf.client_ip.n >= sizeof(cr->slots[0].ip) ||
        lf.client_port.n >= sizeof(cr->slots[0].port) || !carry_key(rec, key, &len, &hash))
        return;
    struct carry_slot *slot = carry_find(cr, key, len, hash);
    if (!slot) { /* evict the least recently written */
        slot = &cr->slots[0];
        for (size_t i = 1; i < CARRY_SLOTS; i++)
            if (cr->slots[i].used < slot->used)
                slot = &cr->slots[i];
    }
    memcpy(slot->key, key, len);
    slot->key_len = len;
    slot->key_hash = hash;
    memcpy(slot->ip, lf.client_ip.p, lf.client_ip.n);
    slot->ip[lf.client_ip.n] = '\0';
    if (lf.client_port.n)
        memcpy(slot->port, lf.client_port.p, lf.client_port.n);
    slot->port[lf.client_port.n] = '\0';
    slot->used = ++cr->tick;
}

void carry_init(struct carry *c, const struct ruleset *rs)
{
    memset(c, 0, sizeof(*c));
    for (size_t i = 0; i < rs->n; i++)
        for (size_t k = 0; rs->rules[i].inc.n_carry && k < rs->rules[i].n_programs; k++)
            add_program(c, rs->rules[i].programs[k]);
}

void carry_release(struct carry *c)
{
    free(c->programs);
    free(c->program_len);
    memset(c, 0, sizeof(*c));
}

void carry_reset(struct carry *c)
{
    memset(c->slots, 0, sizeof(c->slots));
}

const struct carry_slot *carry_lookup(const struct carry *cr, const struct record *rec)
{
    char key[sizeof(cr->slots[0].key)];
    size_t len;
    uint64_t hash;
    return carry_key(rec, key, &len, &hash) ? carry_find(cr, key, len, hash) : NULL;
}
