/* Unit tests for db_incidents_dirty: within one transaction, a (rule, host) pair marked whole
 * takes no more marks (its keys are rebuilt with it), and a new transaction marks it again,
 * since another process's incident update may have consumed the committed marks. Uses a real
 * database file in a temp directory. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "err.h"
#include "tap.h"

static int rows(struct db *db, const char *where)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM incidents_dirty WHERE %s", where);
    sqlite3_stmt *st = NULL;
    int n = -1;
    if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return n;
}

static int mark(struct db *db, const char *rule_id, const char *host, const char *key)
{
    struct hl_err err = { 0 };
    return db_incidents_dirty(db, rule_id, strv_from_cstr(host), strv_from_cstr(key), &err);
}

static void whole_pair_takes_no_more_marks_until_the_next_transaction(void)
{
    char dir[] = "/tmp/hsmlog-dirty-XXXXXX", path[64];
    struct db db;
    struct hl_err err = { 0 };
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/t.db", dir);
    CHECK_INT(db_open(&db, path, false, NULL, &err), 0);
    static const char r1[] = "r1", r2[] = "r2";   /* rule ids are compared by address */
    CHECK_INT(mark(&db, r1, "h1", "[\"a\"]"), 0); /* a key before the pair is whole */
    CHECK_INT(mark(&db, r1, "h1", ""), 0);
    CHECK_INT(mark(&db, r1, "h1", "[\"b\"]"), 0); /* covered by the whole pair */
    CHECK_INT(mark(&db, r1, "h2", "[\"b\"]"), 0); /* another host */
    CHECK_INT(mark(&db, r2, "h1", "[\"b\"]"), 0); /* another rule */
    CHECK_INT(rows(&db, "rule_id = 'r1' AND host = 'h1'"), 2);
    CHECK_INT(rows(&db, "key = '[\"b\"]'"), 2);
    /* More whole pairs than remembered: the oldest are forgotten, which costs an insert that
     * finds its row, never a mark left out. */
    char hosts[DB_WHOLE_PAIRS + 8][16];
    for (int i = 0; i < DB_WHOLE_PAIRS + 8; i++) {
        snprintf(hosts[i], sizeof(hosts[i]), "m%d", i);
        CHECK_INT(mark(&db, r2, hosts[i], ""), 0);
    }
    for (int i = 0; i < DB_WHOLE_PAIRS + 8; i++)
        CHECK_INT(mark(&db, r2, hosts[i], "[\"c\"]"), 0);
    CHECK_INT(rows(&db, "host LIKE 'm%' AND key = ''"), DB_WHOLE_PAIRS + 8);
    CHECK_INT(rows(&db, "host LIKE 'm%' AND key = '[\"c\"]'"), 8);
    CHECK_INT(db_commit(&db, &err), 0);
    /* Another process's update takes the committed marks; the next transaction marks anew. */
    CHECK_INT(sqlite3_exec(db.h, "DELETE FROM incidents_dirty", NULL, NULL, NULL), SQLITE_OK);
    const char *last = hosts[DB_WHOLE_PAIRS + 7]; /* remembered before the commit */
    CHECK_INT(mark(&db, r2, last, "[\"b\"]"), 0);
    CHECK_INT(mark(&db, r2, last, ""), 0);
    CHECK_INT(rows(&db, "1"), 2);
    db_close(&db);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    CHECK_INT(system(cmd), 0);
}

int main(void)
{
    TAP_RUN(whole_pair_takes_no_more_marks_until_the_next_transaction);
    return tap_done();
}
