/* Unit tests for occur (in-memory occurrence counting) and for db_occurrence's spill into the
 * SQLite temp table when the table is full: counts go on across the spill, and a new source
 * starts every event over at 1. Uses a real database file in a temp directory. */
#include <stdlib.h>
#include <unistd.h>

#include "db.h"
#include "err.h"
#include "occur.h"
#include "tap.h"

static void counts_each_hash_separately(void)
{
    struct occur o = { 0 };
    uint64_t n = 0;
    CHECK_INT(occur_add(&o, 42, 0, &n), 0);
    CHECK_INT(n, 1);
    CHECK_INT(occur_add(&o, 7, 0, &n), 0);
    CHECK_INT(n, 1);
    CHECK_INT(occur_add(&o, 42, 0, &n), 0);
    CHECK_INT(n, 2);
    CHECK_INT(o.n, 2);
    occur_reset(&o);
    CHECK_INT(occur_add(&o, 42, 0, &n), 0);
    CHECK_INT(n, 1);
    occur_release(&o);
}

static void probes_past_colliding_hashes_keeping_counts(void)
{
    struct occur o = { 0 };
    uint64_t n = 0;
    for (uint64_t h = 0; h < 5000; h++)
        CHECK_INT(occur_add(&o, h * 1024, 0, &n), 0); /* same low bits: probing must cope */
    CHECK_INT(o.cap, OCCUR_MAX_SLOTS);
    for (uint64_t h = 0; h < 5000; h++) {
        CHECK_INT(occur_add(&o, h * 1024, 0, &n), 0);
        CHECK_INT(n, 2);
    }
    occur_release(&o);
}

static void reports_full_at_slot_limit(void)
{
    struct occur o = { .max_slots = 8 };
    uint64_t n = 0;
    for (uint64_t h = 1; h <= 4; h++)
        CHECK_INT(occur_add(&o, h, 0, &n), 0);
    CHECK_INT(occur_add(&o, 5, 0, &n), 1); /* a fifth would pass half of 8 slots */
    CHECK_INT(occur_add(&o, 3, 0, &n), 0); /* known hashes still count */
    CHECK_INT(n, 2);
    occur_release(&o);
}

static int64_t occurrence(struct db *db, int64_t hash)
{
    struct hl_err err = { 0 };
    int64_t n = -1;
    if (db_occurrence(db, hash, hash % 3, &n, &err) < 0)
        printf("# db_occurrence: %s: %s\n", err.where, err.msg);
    return n;
}

static void db_spills_to_temp_table_and_resets_per_source(void)
{
    char dir[] = "/tmp/hsmlog-occur-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[64];
    snprintf(path, sizeof(path), "%s/t.db", dir);
    struct db db;
    struct hl_err err = { 0 };
    CHECK_INT(db_open(&db, path, false, &err), 0);
    CHECK_INT(db_scan_begin(&db, "test", &err), 0);
    db.seen_mem.max_slots = 8;
    struct db_source src = {
        .path = "a", .kind = "text", .size = -1, .mtime = -1, .status = "reading"
    };
    int64_t id = 0;
    CHECK_INT(db_source_add(&db, &src, &id, &err), 0);
    for (int64_t h = 1; h <= 4; h++)
        CHECK_INT(occurrence(&db, h), 1);
    CHECK_INT(occurrence(&db, 2), 2);
    CHECK(!db.seen_spilled);
    CHECK_INT(occurrence(&db, 5), 1); /* the table is full: spill */
    CHECK(db.seen_spilled);
    CHECK_INT(occurrence(&db, 2), 3); /* counted on from the spilled value */
    CHECK_INT(occurrence(&db, 5), 2);
    CHECK_INT(occurrence(&db, 1), 2);
    src.path = "b";
    CHECK_INT(db_source_add(&db, &src, &id, &err), 0);
    CHECK(!db.seen_spilled);
    CHECK_INT(occurrence(&db, 2), 1);
    CHECK_INT(occurrence(&db, 5), 1);
    db_close(&db);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    CHECK_INT(system(cmd), 0);
}

int main(void)
{
    TAP_RUN(counts_each_hash_separately);
    TAP_RUN(probes_past_colliding_hashes_keeping_counts);
    TAP_RUN(reports_full_at_slot_limit);
    TAP_RUN(db_spills_to_temp_table_and_resets_per_source);
    return tap_done();
}
