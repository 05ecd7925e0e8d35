/* Unit tests for incident marks (incident_mark.h) on a real in-memory database: a finding
 * marks its group and the pairs of the rules it resets; a reset line marks its owner's pair,
 * an expect line its trigger's; within one transaction a pair marked whole takes no more
 * marks, and a new transaction marks it again, since another process's incident update may
 * have consumed the committed marks; past INCIDENT_MARK_KEYS groups, whole pairs. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "err.h"
#include "incident_mark.h"
#include "rule.h"
#include "tap.h"

static const char rules[] = "[t.r1]\nseverity = error\nregex = bad one\nreset-by = ok.good\n"
                            "summary = s\nremedy = r\n"
                            "[t.r2]\nseverity = error\nregex = bad two\nreset = two fine\n"
                            "summary = s\nremedy = r\n"
                            "[ok.good]\nseverity = info\nregex = all good\nsummary = s\n"
                            "remedy = r\n"
                            "[t.r3]\nseverity = error\nafter = t.r2\n"
                            "expect = came up within 15m\nsummary = s\nremedy = r\n";

static struct ruleset rs;
static struct db db;

static int rows(const char *where)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM incidents_dirty WHERE %s", where);
    sqlite3_stmt *st = NULL;
    int n = -1;
    if (sqlite3_prepare_v2(db.h, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return n;
}

static const struct rule *role_of(const char *owner, enum rule_role role)
{
    const struct rule *o = ruleset_find(&rs, owner);
    for (size_t i = 0; o && i < rs.n; i++)
        if (rs.rules[i].role == role && &rs.rules[rs.rules[i].owner] == o)
            return &rs.rules[i];
    return NULL;
}

static int finding(struct incident_marks *mk, const char *rule, const char *host, const char *key)
{
    struct hl_err err;
    return incident_marks_finding(mk, ruleset_find(&rs, rule), strv_from_cstr(host),
                                  strv_from_cstr(key), &err);
}

static void setup(struct incident_marks *mk)
{
    struct hl_err err;
    CHECK_INT(db_open(&db, ":memory:", false, NULL, &err), 0);
    incident_marks_init(mk, &db, &rs);
}

static void finding_marks_its_group_and_the_pairs_it_resets(void)
{
    struct incident_marks mk;
    setup(&mk);
    CHECK_INT(finding(&mk, "t.r1", "h1", "[\"h1\"]"), 0);
    CHECK_INT(rows("rule_id = 't.r1' AND host = 'h1' AND key = '[\"h1\"]'"), 1);
    CHECK(mk.any);
    CHECK_INT(finding(&mk, "ok.good", "h2", "[\"h2\"]"), 0);
    CHECK_INT(rows("rule_id = 'ok.good' AND host = 'h2' AND key = '[\"h2\"]'"), 1);
    CHECK_INT(rows("rule_id = 't.r1' AND host = 'h2' AND key = ''"), 1); /* reset-by */
    struct hl_err err;
    CHECK_INT(
            incident_marks_line(&mk, role_of("t.r2", RULE_ROLE_RESET), strv_from_cstr("h3"), &err),
            0);
    CHECK_INT(rows("rule_id = 't.r2' AND host = 'h3' AND key = ''"), 1);
    /* An expectation is rebuilt with its trigger's incidents. */
    CHECK_INT(
            incident_marks_line(&mk, role_of("t.r3", RULE_ROLE_EXPECT), strv_from_cstr("h4"), &err),
            0);
    CHECK_INT(rows("rule_id = 't.r2' AND host = 'h4' AND key = ''"), 1);
    CHECK_INT(rows("1"), 5);
    incident_marks_consumed(&mk);
    CHECK(!mk.any);
    db_close(&db);
}

static void whole_pair_takes_no_more_marks_until_the_next_transaction(void)
{
    struct incident_marks mk;
    struct hl_err err;
    setup(&mk);
    CHECK_INT(finding(&mk, "t.r1", "h1", "[\"a\"]"), 0); /* a key before the pair is whole */
    CHECK_INT(finding(&mk, "t.r1", "h1", ""), 0);
    CHECK_INT(finding(&mk, "t.r1", "h1", "[\"b\"]"), 0); /* covered by the whole pair */
    CHECK_INT(finding(&mk, "t.r1", "h2", "[\"b\"]"), 0); /* another host */
    CHECK_INT(finding(&mk, "t.r2", "h1", "[\"b\"]"), 0); /* another rule */
    CHECK_INT(rows("rule_id = 't.r1' AND host = 'h1'"), 2);
    CHECK_INT(rows("key = '[\"b\"]'"), 2);
    /* More whole pairs than remembered: the oldest are forgotten, which costs an insert that
     * finds its row, never a mark left out. */
    char hosts[INCIDENT_MARK_WHOLE_PAIRS + 8][16];
    for (int i = 0; i < INCIDENT_MARK_WHOLE_PAIRS + 8; i++) {
        snprintf(hosts[i], sizeof(hosts[i]), "m%d", i);
        CHECK_INT(finding(&mk, "t.r2", hosts[i], ""), 0);
    }
    for (int i = 0; i < INCIDENT_MARK_WHOLE_PAIRS + 8; i++)
        CHECK_INT(finding(&mk, "t.r2", hosts[i], "[\"c\"]"), 0);
    CHECK_INT(rows("host LIKE 'm%' AND key = ''"), INCIDENT_MARK_WHOLE_PAIRS + 8);
    CHECK_INT(rows("host LIKE 'm%' AND key = '[\"c\"]'"), 8);
    /* A whole pair covers only its own host, not another of the same length. */
    CHECK_INT(finding(&mk, "t.r1", "h9", "[\"d\"]"), 0);
    CHECK_INT(rows("host = 'h9'"), 1);
    CHECK_INT(db_commit(&db, &err), 0);
    /* Another process's update takes the committed marks; the next transaction marks anew,
     * the last group marked included. */
    CHECK_INT(sqlite3_exec(db.h, "DELETE FROM incidents_dirty", NULL, NULL, NULL), SQLITE_OK);
    const char *last = hosts[INCIDENT_MARK_WHOLE_PAIRS + 7]; /* remembered before the commit */
    CHECK_INT(finding(&mk, "t.r1", "h9", "[\"d\"]"), 0);
    CHECK_INT(finding(&mk, "t.r2", last, "[\"b\"]"), 0);
    CHECK_INT(finding(&mk, "t.r2", last, ""), 0);
    CHECK_INT(rows("1"), 3);
    db_close(&db);
}

static void past_the_key_limit_whole_pairs_are_marked(void)
{
    struct incident_marks mk;
    setup(&mk);
    char key[32];
    for (int i = 0; i < INCIDENT_MARK_KEYS; i++) {
        snprintf(key, sizeof(key), "[\"k%d\"]", i);
        CHECK_INT(finding(&mk, "t.r1", "h1", key), 0);
    }
    CHECK_INT(finding(&mk, "t.r1", "h1", "[\"one more\"]"), 0);
    CHECK_INT(finding(&mk, "t.r2", "h2", "[\"one more\"]"), 0);
    CHECK_INT(rows("key = ''"), 2);
    CHECK_INT(rows("key = '[\"one more\"]'"), 0);
    db_close(&db);
}

static void group_key_is_a_json_array_of_the_group_by_values(void)
{
    struct rule_incident_spec spec = { 0 };
    const char *names[] = { "host", "program", "source", "alarm", "missing" };
    spec.group_by = (char **)names;
    spec.n_group_by = 5;
    struct record rec = { .host = strv_from_cstr("hsm-a1"), .program = strv_from_cstr("NTLS") };
    struct rule_capture fields[] = { { "alarm", strv_from_cstr("ALM\"0011") } };
    struct buf out;
    buf_init(&out, 0);
    CHECK_INT(incident_group_key(&spec, &rec, "x.log", fields, 1, &out), 0);
    CHECK_STR(buf_cstr(&out), "[\"hsm-a1\",\"NTLS\",\"x.log\",\"ALM\\\"0011\",\"\"]");
    buf_release(&out);
}

int main(void)
{
    struct rule_errors errs = { 0 };
    struct hl_err err;
    ruleset_init(&rs);
    if (ruleset_load_text(&rs, "t.rules", rules, strlen(rules), &errs) != 0 ||
        ruleset_link(&rs, &errs) != 0 || ruleset_prepare(&rs, &err) != 0) {
        for (size_t i = 0; i < errs.n; i++)
            printf("# %s: %s\n", errs.v[i].where, errs.v[i].msg);
        printf("Bail out! the test rules do not load\n");
        return 1;
    }
    rule_errors_release(&errs);
    TAP_RUN(finding_marks_its_group_and_the_pairs_it_resets);
    TAP_RUN(whole_pair_takes_no_more_marks_until_the_next_transaction);
    TAP_RUN(past_the_key_limit_whole_pairs_are_marked);
    TAP_RUN(group_key_is_a_json_array_of_the_group_by_values);
    ruleset_release(&rs);
    return tap_done();
}
