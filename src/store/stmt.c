/* stmt.h's functions: each hands the call to the engine of the statement's store. */
#include "db_impl.h"
#include "stmt_impl.h"

#include <string.h>

int stmt_prepare(struct db *db, const char *sql, struct stmt **ret)
{
    return db->engine->prepare(db, sql, false, ret, NULL);
}

int stmt_prepare_kept(struct db *db, const char *sql, struct stmt **ret)
{
    return db->engine->prepare(db, sql, true, ret, NULL);
}

int stmt_bind_text(struct stmt *st, int i, const char *text)
{
    return st->ops->bind_text(st, i, text, text ? strlen(text) : 0, false);
}

int stmt_bind_strv(struct stmt *st, int i, struct strv text)
{
    return st->ops->bind_text(st, i, text.p, text.n, false);
}

int stmt_bind_text_copy(struct stmt *st, int i, const char *text)
{
    return st->ops->bind_text(st, i, text, text ? strlen(text) : 0, true);
}

int stmt_bind_blob(struct stmt *st, int i, const void *p, size_t n)
{
    return st->ops->bind_blob(st, i, p, n);
}

int stmt_bind_int(struct stmt *st, int i, int64_t v)
{
    return st->ops->bind_int(st, i, v);
}

int stmt_bind_null(struct stmt *st, int i)
{
    return st->ops->bind_null(st, i);
}

int stmt_param(struct stmt *st, const char *name)
{
    return st->ops->param(st, name);
}

int stmt_step(struct stmt *st)
{
    return st->ops->step(st);
}

int64_t stmt_int(struct stmt *st, int col)
{
    return st->ops->col_int(st, col);
}

const char *stmt_text(struct stmt *st, int col)
{
    return st->ops->col_text(st, col);
}

size_t stmt_bytes(struct stmt *st, int col)
{
    return st->ops->col_bytes(st, col);
}

enum stmt_type stmt_type(struct stmt *st, int col)
{
    return st->ops->col_type(st, col);
}

int stmt_columns(struct stmt *st)
{
    return st->ops->columns(st);
}

const char *stmt_column_name(struct stmt *st, int col)
{
    return st->ops->column_name(st, col);
}

enum db_col_kind stmt_column_kind(struct stmt *st, int col)
{
    return st->ops->column_kind(st, col);
}

void stmt_reset(struct stmt *st)
{
    st->ops->reset(st);
}

void stmt_clear(struct stmt *st)
{
    st->ops->clear(st);
}

void stmt_finalize(struct stmt *st)
{
    if (st)
        st->ops->finalize(st);
}
