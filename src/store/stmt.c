/* stmt.h's functions: each hands the call to the engine of the statement's store. */
#include "stmt_impl.h"

#include <string.h>

int stmt_prepare(struct db *db, const char *sql, struct stmt **ret)
{
    return db->drv->prepare(db, sql, false, ret, NULL);
}

int stmt_prepare_kept(struct db *db, const char *sql, struct stmt **ret)
{
    return db->drv->prepare(db, sql, true, ret, NULL);
}

int stmt_prepare_tail(struct db *db, const char *sql, struct stmt **ret, const char **ret_tail)
{
    return db->drv->prepare(db, sql, false, ret, ret_tail);
}

int stmt_bind_text(struct stmt *st, int i, const char *text)
{
    return st->drv->bind_text(st, i, text, text ? strlen(text) : 0, false);
}

int stmt_bind_strv(struct stmt *st, int i, struct strv text)
{
    return st->drv->bind_text(st, i, text.p, text.n, false);
}

int stmt_bind_text_copy(struct stmt *st, int i, const char *text)
{
    return st->drv->bind_text(st, i, text, text ? strlen(text) : 0, true);
}

int stmt_bind_blob(struct stmt *st, int i, const void *p, size_t n)
{
    return st->drv->bind_blob(st, i, p, n);
}

int stmt_bind_int(struct stmt *st, int i, int64_t v)
{
    return st->drv->bind_int(st, i, v);
}

int stmt_bind_null(struct stmt *st, int i)
{
    return st->drv->bind_null(st, i);
}

int stmt_param(struct stmt *st, const char *name)
{
    return st->drv->param(st, name);
}

int stmt_step(struct stmt *st)
{
    return st->drv->step(st);
}

int64_t stmt_int(struct stmt *st, int col)
{
    return st->drv->col_int(st, col);
}

const char *stmt_text(struct stmt *st, int col)
{
    return st->drv->col_text(st, col);
}

size_t stmt_bytes(struct stmt *st, int col)
{
    return st->drv->col_bytes(st, col);
}

enum stmt_type stmt_type(struct stmt *st, int col)
{
    return st->drv->col_type(st, col);
}

int stmt_columns(struct stmt *st)
{
    return st->drv->columns(st);
}

const char *stmt_column_name(struct stmt *st, int col)
{
    return st->drv->column_name(st, col);
}

enum db_col_kind stmt_column_kind(struct stmt *st, int col)
{
    return st->drv->column_kind(st, col);
}

void stmt_reset(struct stmt *st)
{
    st->drv->reset(st);
}

void stmt_clear(struct stmt *st)
{
    st->drv->clear(st);
}

void stmt_finalize(struct stmt *st)
{
    if (st)
        st->drv->finalize(st);
}

int db_run(struct db *db, const char *sql)
{
    return db->drv->run(db, sql);
}

const char *db_errmsg(struct db *db)
{
    return db->drv ? db->drv->errmsg(db) : "no database";
}

int64_t db_changes(struct db *db)
{
    return db->drv->changes(db);
}

int64_t db_last_id(struct db *db)
{
    return db->drv->last_id(db);
}

bool db_in_tx(struct db *db)
{
    return db->drv->in_tx(db);
}

int db_define_function(struct db *db, const char *name, int nargs, db_text_fn *fn, void *ctx)
{
    return db->drv->define_function(db, name, nargs, fn, ctx);
}
