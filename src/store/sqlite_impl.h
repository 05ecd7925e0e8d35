/* What the files of the SQLite engine (sqlite_open.c, sqlite_stmt.c, sqlite_index.c,
 * sqlite_guard.c) share: the functions of struct engine each of them provides, and their
 * helpers. */
#ifndef HSMLOG_SQLITE_IMPL_H
#define HSMLOG_SQLITE_IMPL_H

#include <sqlite3.h>

#include "db_impl.h"

/* Runs sql, which returns no rows, saying why it failed in err. */
int sqlite_exec(struct db *db, const char *sql, struct hl_err *err);

/* Runs sql, which returns one integer, into *ret. */
int sqlite_query_int(struct db *db, const char *sql, const char *what, int *ret,
                     struct hl_err *err);

/* sqlite_stmt.c: statements, and the handle's messages and counts. */
int sqlite_prepare(struct db *db, const char *sql, bool kept, struct stmt **ret,
                   const char **ret_tail);
sqlite3_stmt *sqlite_stmt_handle(struct stmt *st);
int sqlite_run(struct db *db, const char *sql);
const char *sqlite_errmsg(struct db *db);
int64_t sqlite_changes(struct db *db);
int64_t sqlite_last_id(struct db *db);
bool sqlite_in_tx(struct db *db);
int sqlite_define_function(struct db *db, const char *name, int nargs, db_text_fn *fn, void *ctx);

/* sqlite_guard.c: the read-only guard. */
int sqlite_guard_install(struct db *db, struct hl_err *err);
int sqlite_prepare_query(struct db *db, const char *sql, struct stmt **ret, const char **ret_tail,
                         struct hl_err *err);

/* sqlite_index.c: deferred indexes and the page cache. */
int sqlite_defer_indexes(struct db *db, struct hl_err *err);
int sqlite_restore_indexes(struct db *db, struct hl_err *err);
int sqlite_restore_all_indexes(struct db *db, struct hl_err *err);
int sqlite_cache_shrink(struct db *db, int *ret_own, struct hl_err *err);
int sqlite_cache_restore(struct db *db, int own, struct hl_err *err);

#endif
