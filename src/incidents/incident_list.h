/* Reading incidents back: the list `incidents` and `report` show, the incidents one scan
 * rebuilt (the end of `scan`'s summary), the counts `rules test` compares, and the checks of
 * an incident filter against the database. Rows go to a callback one at a time, in the order
 * asked for. The store's query language stays behind this interface: another store changes
 * incident_list.c, not the commands. Nothing here prints; failures come back as an hl_code
 * and a struct hl_err whose where is the database path. */
#ifndef HSMLOG_INCIDENT_LIST_H
#define HSMLOG_INCIDENT_LIST_H

#include <stdbool.h>
#include <stdint.h>

#include "common.h"
#include "db.h"
#include "err.h"
#include "parse_time.h"

/* Which incidents to list: active since a time, of one host, of one rule, only open ones.
 * Filled from the options by the command layer; a duration --since is resolved there against
 * incidents_log_clock() into since. An all-zero filter lists every incident. */
struct incident_filter {
    char since[PARSE_TIME_ISO_LEN]; /* stored-time text incidents are compared with */
    bool has_since;                 /* since applies: an incident is listed when it is open
                                       or its last (else first) time is at or after since */
    int64_t since_back_us;          /* a duration --since, before it is resolved */
    bool since_is_back;             /* --since was a duration */
    const char *host;               /* borrowed: only this host, in any case; NULL for all */
    const char *rule;               /* borrowed: only this rule id; NULL for all */
    bool open_only;                 /* only incidents still open */
};

/* The order of incidents_list(). */
enum incident_order {
    INCIDENT_ORDER_NEWEST, /* first time newest first, incidents with no time last, then
                              higher id first: `incidents` */
    INCIDENT_ORDER_HOST,   /* by host name (no host last), then first time oldest first (no
                              time last), then id: `report`'s timeline per host */
    INCIDENT_ORDER_OLDEST, /* first time oldest first (no time first), then id */
    INCIDENT_ORDER__COUNT
};

/* One incident as a callback sees it. Every string is borrowed: valid until the callback
 * returns. Strings are NUL-terminated; those the schema requires are never NULL in a
 * database hsmlog wrote. */
struct incident_row {
    int64_t id;                 /* incidents.id */
    const char *severity;       /* info, notice, warning, error, critical */
    const char *rule_id;        /* the rule the incident is about */
    const char *host;           /* NULL when the findings named none */
    const char *first_ts;       /* stored time of the first finding; NULL when none had one */
    const char *last_ts;        /* ... of the last; NULL when none */
    int64_t count;              /* findings in it (an escalation: the count reached) */
    const char *state;          /* open, closed, fired */
    const char *summary;        /* one line */
    const char *remedy;         /* the rule's remedy; NULL when the database does not know the
                                   rule, and always for incidents_of_scan() */
    int64_t cause_id;           /* the probable cause's id; 0 when none, and always for
                                   incidents_of_scan(); the cause_* strings are then NULL */
    const char *cause_rule_id;  /* the cause's rule */
    const char *cause_host;     /* its host; NULL when none */
    const char *cause_first_ts; /* its first time; NULL when none */
    const char *cause_summary;  /* its summary */
};

/* Called with each row; a nonzero return stops the walk, which returns that value. */
typedef int incident_row_fn(void *ctx, const struct incident_row *row);

/* Checks that db holds incidents that incidents_list() can read in order: call it first, so
 * that an older database is told apart before --rule or --since are checked against it.
 * Returns 0, or HL_EFORMAT when the query does not compile on db's schema (err->msg says
 * why: a database from an older hsmlog, read-only and so not migrated). */
HL_NODISCARD int incidents_list_check(struct db *db, enum incident_order order, struct hl_err *err);

/* Calls each with every incident f lets through, in order. Returns 0; the nonzero value each
 * returned; HL_EFORMAT when the query does not compile on db's schema (as
 * incidents_list_check()); HL_EDB when reading failed. */
HL_NODISCARD int incidents_list(struct db *db, const struct incident_filter *f,
                                enum incident_order order, incident_row_fn *each, void *ctx,
                                struct hl_err *err);

/* Finds the log clock: the latest log time any scan saw, which is what incidents are judged
 * by. Returns 1 with *ret_us set, 0 when no scan saw a time (the caller chooses a clock), or
 * HL_EDB. */
HL_NODISCARD int incidents_log_clock(struct db *db, int64_t *ret_us, struct hl_err *err);

/* Tells whether rule is a rule db knows: one of the rules table (every scan and rebuild
 * stores the loaded rules) or of an incident (of a rule since removed). Returns 1 when it is;
 * 0 when not, with *ret_like set to a known rule id that differs only in case (owned: the
 * caller frees it) or NULL; HL_EDB or HL_ENOMEM. */
HL_NODISCARD int incidents_rule_known(struct db *db, const char *rule, char **ret_like,
                                      struct hl_err *err);

/* How many incidents scan_id rebuilt, and how many of them are open. */
struct incident_counts {
    int64_t all;
    int64_t open;
};

/* Counts the incidents scan scan_id last rebuilt into *ret. Returns 0, HL_EFORMAT (as
 * incidents_list()) or HL_EDB. */
HL_NODISCARD int incidents_scan_counts(struct db *db, int64_t scan_id, struct incident_counts *ret,
                                       struct hl_err *err);

/* Calls each with at most limit of the incidents scan scan_id last rebuilt that need
 * attention (open or fired, or closed with severity error or critical): the most severe
 * first, then the newest, then by rule, host and key. Returns as incidents_list(). */
HL_NODISCARD int incidents_of_scan(struct db *db, int64_t scan_id, unsigned limit,
                                   incident_row_fn *each, void *ctx, struct hl_err *err);

/* Counts into *ret_n the incidents of rule_id, only those in state when it is not NULL.
 * Returns 0, HL_EFORMAT (as incidents_list()) or HL_EDB. */
HL_NODISCARD int incidents_count(struct db *db, const char *rule_id, const char *state,
                                 int64_t *ret_n, struct hl_err *err);

#endif
