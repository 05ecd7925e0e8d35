/* Unit tests for reading incidents back (incident_list.h) on a real in-memory database with
 * incidents inserted as the builder writes them: the filter (an open incident is active
 * whatever --since says; host in any case; rule; open only), the three orders, the cause and
 * remedy fields, a scan's incidents and counts, the log clock and rule lookup. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "err.h"
#include "incident_list.h"
#include "tap.h"

static struct db db;

/* id, rule, severity, host, first, last, count, state, cause, scan: the rows every test reads.
 * #4 was caused by #1; #6 has no host and no time. */
static const char fixture[] =
        "INSERT INTO scans(id, started_at, command, version, status, last_ts) VALUES"
        " (1, '2026-11-28 00:00:00', 't', 'v', 'ok', '2026-11-28 12:00:00'),"
        " (2, '2026-11-28 00:00:00', 't', 'v', 'ok', '2026-11-29 08:30:00.5');"
        "INSERT INTO rules(id, severity, summary, remedy, file) VALUES"
        " ('t.alarm', 'critical', 's', 'call the vendor', 't.rules'),"
        " ('t.login', 'warning', 's', 'check the password', 't.rules');"
        "INSERT INTO incidents(id, rule_id, from_rule_id, severity, host, key, first_ts, last_ts,"
        " count, state, cause_incident_id, summary, scan_id) VALUES"
        " (1, 't.alarm', 't.alarm', 'critical', 'hsm-a1', '[]', '2026-11-28 09:00:00',"
        "  '2026-11-28 09:05:00', 2, 'closed', NULL, 'alarm one', 1),"
        " (2, 't.login', 't.login', 'warning', 'hsm-b2', '[]', '2026-11-28 10:00:00',"
        "  NULL, 1, 'open', NULL, 'login two', 2),"
        " (3, 't.login', 't.login', 'warning', 'hsm-a1', '[]', '2026-11-27 08:00:00',"
        "  '2026-11-27 08:10:00', 3, 'closed', NULL, 'login three', 1),"
        " (4, 't.login', 't.login', 'error', 'HSM-A1', '[]', '2026-11-28 09:06:00.25',"
        "  '2026-11-28 11:00:00', 5, 'closed', 1, 'login four', 2),"
        " (5, 't.gone', 't.gone', 'notice', 'hsm-b2', '[]', '2026-11-28 10:00:00',"
        "  '2026-11-28 10:00:00', 1, 'fired', NULL, 'gone five', 2),"
        " (6, 't.alarm', 't.alarm', 'critical', NULL, '[]', NULL, NULL, 1, 'open', NULL,"
        "  'alarm six', 2);";

/* What a walk saw: the ids in order, and a copy of row 4 (the one with a cause). */
struct seen {
    char ids[64];
    char cause[128];
    char remedy[64];
    int64_t cause_id;
};

static int collect(void *ctx, const struct incident_row *row)
{
    struct seen *s = ctx;
    size_t n = strlen(s->ids);
    snprintf(s->ids + n, sizeof(s->ids) - n, "%s%lld", n ? " " : "", (long long)row->id);
    if (row->id == 4) {
        s->cause_id = row->cause_id;
        snprintf(s->cause, sizeof(s->cause), "%s|%s|%s|%s", row->cause_rule_id,
                 row->cause_host ? row->cause_host : "NULL",
                 row->cause_first_ts ? row->cause_first_ts : "NULL", row->cause_summary);
        snprintf(s->remedy, sizeof(s->remedy), "%s", row->remedy ? row->remedy : "NULL");
    }
    if (row->id == 5 && row->remedy) /* t.gone is not in the rules table */
        snprintf(s->remedy, sizeof(s->remedy), "gone has a remedy");
    return 0;
}

static const char *list(const struct incident_filter *f, enum incident_order order, struct seen *s)
{
    struct hl_err err;
    memset(s, 0, sizeof(*s));
    if (incidents_list(&db, f, order, collect, s, &err) != 0)
        return "error";
    return s->ids;
}

static void orders_newest_per_host_and_oldest(void)
{
    struct incident_filter all = { 0 };
    struct seen s;
    CHECK_STR(list(&all, INCIDENT_ORDER_NEWEST, &s), "5 2 4 1 3 6");
    /* Hosts compare as stored ('HSM-A1' sorts before 'hsm-a1'); no host last. */
    CHECK_STR(list(&all, INCIDENT_ORDER_HOST, &s), "4 3 1 2 5 6");
    CHECK_STR(list(&all, INCIDENT_ORDER_OLDEST, &s), "6 3 1 4 2 5");
}

static void cause_and_remedy_come_with_the_row(void)
{
    struct incident_filter all = { 0 };
    struct seen s;
    CHECK_STR(list(&all, INCIDENT_ORDER_NEWEST, &s), "5 2 4 1 3 6");
    CHECK_INT(s.cause_id, 1);
    CHECK_STR(s.cause, "t.alarm|hsm-a1|2026-11-28 09:00:00|alarm one");
    CHECK_STR(s.remedy, "check the password");
}

static void filter_lets_through_what_it_names(void)
{
    struct seen s;
    /* Active since 09:05: an open incident is, whatever its time; a closed one by its last
     * time (#1 ends exactly then), else its first. */
    struct incident_filter since = { .has_since = true, .since = "2026-11-28 09:05:00" };
    CHECK_STR(list(&since, INCIDENT_ORDER_NEWEST, &s), "5 2 4 1 6");
    struct incident_filter host = { .host = "hsm-A1" };
    CHECK_STR(list(&host, INCIDENT_ORDER_NEWEST, &s), "4 1 3");
    struct incident_filter rule = { .rule = "t.login" };
    CHECK_STR(list(&rule, INCIDENT_ORDER_NEWEST, &s), "2 4 3");
    struct incident_filter open = { .open_only = true };
    CHECK_STR(list(&open, INCIDENT_ORDER_NEWEST, &s), "2 6");
    struct incident_filter both = { .host = "HSM-B2", .rule = "t.login", .open_only = true };
    CHECK_STR(list(&both, INCIDENT_ORDER_HOST, &s), "2");
}

static int stop_at_two(void *ctx, const struct incident_row *row)
{
    int *n = ctx;
    (void)row;
    return ++*n == 2 ? 7 : 0;
}

static void callback_stops_the_walk(void)
{
    struct incident_filter all = { 0 };
    struct hl_err err;
    int n = 0;
    CHECK_INT(incidents_list(&db, &all, INCIDENT_ORDER_NEWEST, stop_at_two, &n, &err), 7);
    CHECK_INT(n, 2);
}

static void scan_incidents_need_attention_most_severe_first(void)
{
    struct seen s = { 0 };
    struct hl_err err;
    /* Scan 2: #6 critical open, #4 error closed, #2 warning open, #5 notice fired. */
    CHECK_INT(incidents_of_scan(&db, 2, 10, collect, &s, &err), 0);
    CHECK_STR(s.ids, "6 4 2 5");
    CHECK_INT(s.cause_id, 0);
    memset(&s, 0, sizeof(s));
    CHECK_INT(incidents_of_scan(&db, 2, 2, collect, &s, &err), 0);
    CHECK_STR(s.ids, "6 4");
    memset(&s, 0, sizeof(s));
    CHECK_INT(incidents_of_scan(&db, 1, 10, collect, &s, &err), 0); /* #1 critical closed */
    CHECK_STR(s.ids, "1");
    struct incident_counts c;
    CHECK_INT(incidents_scan_counts(&db, 2, &c, &err), 0);
    CHECK_INT(c.all, 4);
    CHECK_INT(c.open, 2);
    int64_t n = -1;
    CHECK_INT(incidents_count(&db, "t.login", NULL, &n, &err), 0);
    CHECK_INT(n, 3);
    CHECK_INT(incidents_count(&db, "t.login", "closed", &n, &err), 0);
    CHECK_INT(n, 2);
}

static void log_clock_and_known_rules(void)
{
    struct hl_err err;
    int64_t us = 0;
    CHECK_INT(incidents_log_clock(&db, &us, &err), 1);
    CHECK_INT(us, 1795941000500000LL); /* 2026-11-29 08:30:00.5 UTC */
    char *like = NULL;
    CHECK_INT(incidents_rule_known(&db, "t.login", &like, &err), 1);
    CHECK_INT(incidents_rule_known(&db, "t.gone", &like, &err), 1); /* only in incidents */
    CHECK_INT(incidents_rule_known(&db, "T.Alarm", &like, &err), 0);
    CHECK_STR(like ? like : "NULL", "t.alarm");
    free(like);
    like = NULL;
    CHECK_INT(incidents_rule_known(&db, "t.nope", &like, &err), 0);
    CHECK(like == NULL);
}

static void older_schema_is_told_apart(void)
{
    struct db old;
    struct hl_err err;
    CHECK_INT(db_open(&old, ":memory:", false, NULL, &err), 0);
    CHECK_INT(sqlite3_exec(old.h, "DROP TABLE incidents", NULL, NULL, NULL), SQLITE_OK);
    CHECK_INT(incidents_list_check(&old, INCIDENT_ORDER_NEWEST, &err), HL_EFORMAT);
    CHECK_STR(err.msg, "no such table: incidents");
    CHECK_STR(err.where, ":memory:");
    CHECK_INT(incidents_list_check(&db, INCIDENT_ORDER_HOST, &err), 0);
    db_close(&old);
}

int main(void)
{
    struct hl_err err;
    if (db_open(&db, ":memory:", false, NULL, &err) != 0 ||
        sqlite3_exec(db.h, fixture, NULL, NULL, NULL) != SQLITE_OK) {
        printf("Bail out! the test database: %s\n", db.h ? sqlite3_errmsg(db.h) : err.msg);
        return 1;
    }
    TAP_RUN(orders_newest_per_host_and_oldest);
    TAP_RUN(cause_and_remedy_come_with_the_row);
    TAP_RUN(filter_lets_through_what_it_names);
    TAP_RUN(callback_stops_the_walk);
    TAP_RUN(scan_incidents_need_attention_most_severe_first);
    TAP_RUN(log_clock_and_known_rules);
    TAP_RUN(older_schema_is_told_apart);
    db_close(&db);
    return tap_done();
}
