/* Occurrence counting (occurrences.h): memory first, the temp table `seen` past it. */
#include "occurrences.h"

#include "stmt.h"

void occurrences_init(struct occurrences *o, struct db *db)
{
    *o = (struct occurrences){ .db = db, .below = INT64_MIN };
}

static int fail(struct occurrences *o, struct hl_err *err, const char *what)
{
    return hl_err_set(err, HL_EDB, o->db->path, "%s: %s", what, db_errmsg(o->db));
}

/* The spill table. Its cache comes from the pool of db_reserve_page_cache(). Keyed by time
 * first: a log's events arrive about in time order, so a lookup or an insert lands on the
 * last few pages, which stay in the cache, however big the table grows (keyed by the hash
 * alone, every page is touched at random and the table thrashes its temp file once past the
 * cache). */
static int open_table(struct occurrences *o, struct hl_err *err)
{
    if (o->st_count)
        return 0;
    if (db_run(o->db, "CREATE TEMP TABLE IF NOT EXISTS seen ("
                      " ts INTEGER NOT NULL, event_hash INTEGER NOT NULL, n INTEGER NOT NULL,"
                      " PRIMARY KEY (ts, event_hash)) WITHOUT ROWID") < 0 ||
        stmt_prepare(o->db,
                     "INSERT INTO seen(ts, event_hash, n) VALUES(?1, ?2, 1)"
                     " ON CONFLICT(ts, event_hash) DO UPDATE SET n = n + 1 RETURNING n",
                     &o->st_count) < 0 ||
        stmt_prepare(o->db, "INSERT INTO seen(ts, event_hash, n) VALUES(?1, ?2, ?3)", &o->st_put) <
                0 ||
        stmt_prepare(o->db, "DELETE FROM seen", &o->st_reset) < 0) {
        int r = fail(o, err, "cannot prepare the event counter");
        occurrences_release(o);
        return r;
    }
    return 0;
}

/* Runs st, which returns no rows, and rewinds it. */
static int run(struct occurrences *o, struct stmt *st, struct hl_err *err, const char *what)
{
    int rc = stmt_step(st);
    stmt_reset(st);
    return rc == STMT_DONE ? 0 : fail(o, err, what);
}

struct spill {
    struct occurrences *o;
    struct hl_err *err;
};

static int spill_one(void *ctx, uint64_t hash, int64_t ts, uint64_t n)
{
    struct spill *sp = ctx;
    struct stmt *st = sp->o->st_put;
    if (stmt_bind_int(st, 1, ts) < 0 || stmt_bind_int(st, 2, (int64_t)hash) < 0 ||
        stmt_bind_int(st, 3, (int64_t)n) < 0)
        return fail(sp->o, sp->err, "cannot count event");
    return run(sp->o, st, sp->err, "cannot count event");
}

/* The in-memory counter is full at an event of second `second`. Usually the log is read in
 * time order and the events older than this one will not come again: they move to the temp
 * table, and counting goes on in memory (the temp table is far slower per event, and most
 * events are recent). When too few are older (no times, or out of order), all of them move
 * and the temp table counts from then on. Events older than below always count in the temp
 * table, so each event is counted in one place. */
static int spill(struct occurrences *o, int64_t second, struct hl_err *err)
{
    int r = open_table(o, err);
    if (r < 0)
        return r;
    struct spill sp = { o, err };
    r = occur_move_older(&o->mem, second, spill_one, &sp);
    if (r == 0) {
        o->below = second;
    } else if (r == 1) {
        r = occur_each(&o->mem, spill_one, &sp);
        occur_reset(&o->mem);
        o->below = INT64_MAX;
    }
    o->spilled = true;
    return r;
}

int occurrences_count(struct occurrences *o, int64_t event_hash, int64_t second, int64_t *ret_n,
                      struct hl_err *err)
{
    int r = db_begin(o->db, err);
    if (r < 0)
        return r;
    if (second >= o->below) {
        uint64_t n = 0;
        r = occur_add(&o->mem, (uint64_t)event_hash, second, &n);
        if (r == 1) {
            /* Full: after the spill the event counts in memory, which then has room (at most
             * a quarter of it is kept), or past a full spill in the temp table. */
            if ((r = spill(o, second, err)) < 0)
                return r;
            r = second >= o->below ? occur_add(&o->mem, (uint64_t)event_hash, second, &n) : 1;
        }
        if (r < 0)
            return hl_err_set(err, r, o->db->path, "out of memory");
        if (r == 0) {
            *ret_n = (int64_t)n;
            return 0;
        }
    }
    struct stmt *st = o->st_count;
    if (stmt_bind_int(st, 1, second) < 0 || stmt_bind_int(st, 2, event_hash) < 0)
        return fail(o, err, "cannot count event");
    int rc = stmt_step(st);
    if (rc == STMT_ROW)
        *ret_n = stmt_int(st, 0);
    /* RETURNING rows must be stepped to the end before the statement is reset. */
    while (rc == STMT_ROW)
        rc = stmt_step(st);
    r = rc == STMT_DONE ? 0 : fail(o, err, "cannot count event");
    stmt_reset(st);
    return r;
}

int occurrences_restart(struct occurrences *o, struct hl_err *err)
{
    occur_reset(&o->mem);
    int r = 0;
    if (o->spilled)
        r = run(o, o->st_reset, err, "cannot reset event counter");
    o->spilled = false;
    o->below = INT64_MIN;
    return r;
}

void occurrences_release(struct occurrences *o)
{
    occur_release(&o->mem);
    stmt_finalize(o->st_count);
    stmt_finalize(o->st_put);
    stmt_finalize(o->st_reset);
    o->st_count = o->st_put = o->st_reset = NULL;
}
