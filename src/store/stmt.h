/* Statements on the open store: what incidents/ and `query` use to run their SQL without
 * knowing which database engine holds it: each call goes to the engine's struct stmt_ops
 * (stmt_impl.h); SQLite's are in sqlite_stmt.c. SQL text uses numbered (?1) or named (:name)
 * parameters.
 *
 * Errors: a function that fails returns HL_EDB (stmt_step() too, beside its two results), and
 * db_errmsg() then says why, until the next call on the store. */
#ifndef HSMLOG_STMT_H
#define HSMLOG_STMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "db.h"
#include "strv.h"

/* A prepared statement; owned by whoever prepared it, freed by stmt_finalize(). */
struct stmt;

/* What stmt_step() returns besides a negative hl_code. */
enum {
    STMT_DONE = 0,
    STMT_ROW = 1
};

/* The type of a result column's value in the current row. */
enum stmt_type {
    STMT_NULL,
    STMT_INT,
    STMT_REAL,
    STMT_TEXT,
    STMT_BLOB
};

/* Prepares the first statement of sql into *ret. Returns 0, or HL_EDB with *ret NULL. */
HL_NODISCARD int stmt_prepare(struct db *db, const char *sql, struct stmt **ret);
/* Like stmt_prepare(), for a statement kept for the life of the handle (the engine may
 * plan it for reuse). */
HL_NODISCARD int stmt_prepare_kept(struct db *db, const char *sql, struct stmt **ret);

/* Binds a value to parameter i (1-based). Text is borrowed until the statement is stepped to
 * its end, reset or finalized; NULL text binds NULL. Return 0 or HL_EDB. */
int stmt_bind_text(struct stmt *st, int i, const char *text);
int stmt_bind_strv(struct stmt *st, int i, struct strv text); /* any bytes; p NULL binds NULL */
int stmt_bind_int(struct stmt *st, int i, int64_t v);
int stmt_bind_null(struct stmt *st, int i);

/* Bytes bound as a BLOB, borrowed as text is. */
int stmt_bind_blob(struct stmt *st, int i, const void *p, size_t n);

/* Text bound as a copy, for text that does not live until the statement has run. */
int stmt_bind_text_copy(struct stmt *st, int i, const char *text);

/* The index of the parameter named name (":since"), 0 when st has none. */
int stmt_param(struct stmt *st, const char *name);

/* Runs st to its next row: STMT_ROW, STMT_DONE, or HL_EDB. */
int stmt_step(struct stmt *st);

/* The current row's column col (0-based). stmt_text() is NULL for NULL; the text stays valid
 * until the next step, reset or finalize, and stmt_bytes() is its length. */
int64_t stmt_int(struct stmt *st, int col);
const char *stmt_text(struct stmt *st, int col);
size_t stmt_bytes(struct stmt *st, int col);
enum stmt_type stmt_type(struct stmt *st, int col);

/* The result's columns: how many, the name of each, and what the column it reads holds in
 * the schema (db_column_kind()). */
int stmt_columns(struct stmt *st);
const char *stmt_column_name(struct stmt *st, int col);
enum db_col_kind stmt_column_kind(struct stmt *st, int col);

/* Rewinds st to run again; the bindings stay, stmt_clear() drops them. */
void stmt_reset(struct stmt *st);
void stmt_clear(struct stmt *st);

/* Frees st. NULL-safe. */
void stmt_finalize(struct stmt *st);

#endif
