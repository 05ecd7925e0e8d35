/* The SQLite engine's statements (stmt.h), and the handle's messages and counts. A statement is
 * one sqlite3_stmt on the store's handle. */
#include "sqlite_impl.h"
#include "stmt_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sqlite_stmt {
    struct stmt base;
    sqlite3_stmt *h;
};

static const struct stmt_ops sqlite_stmt_ops;

static sqlite3_stmt *handle(struct stmt *st)
{
    return ((struct sqlite_stmt *)st)->h;
}

sqlite3_stmt *sqlite_stmt_handle(struct stmt *st)
{
    return handle(st);
}

int sqlite_prepare(struct db *db, const char *sql, bool kept, struct stmt **ret,
                   const char **ret_tail)
{
    *ret = NULL;
    db->errbuf_set = false;
    sqlite3_stmt *h = NULL;
    if (sqlite3_prepare_v3(db->h, sql, -1, kept ? SQLITE_PREPARE_PERSISTENT : 0, &h, ret_tail) !=
        SQLITE_OK) {
        sqlite3_finalize(h);
        return HL_EDB;
    }
    if (!h) /* only white space or comments */
        return 0;
    struct sqlite_stmt *st = malloc(sizeof(*st));
    if (!st) {
        sqlite3_finalize(h);
        snprintf(db->errbuf, sizeof(db->errbuf), "out of memory");
        db->errbuf_set = true;
        return HL_EDB;
    }
    *st = (struct sqlite_stmt){ .base = { .ops = &sqlite_stmt_ops, .db = db }, .h = h };
    *ret = &st->base;
    return 0;
}

static int ok(int rc)
{
    return rc == SQLITE_OK ? 0 : HL_EDB;
}

static int bind_text(struct stmt *st, int i, const char *p, size_t n, bool copy)
{
    if (!p)
        return ok(sqlite3_bind_null(handle(st), i));
    return ok(sqlite3_bind_text64(handle(st), i, p, n, copy ? SQLITE_TRANSIENT : SQLITE_STATIC,
                                  SQLITE_UTF8));
}

static int bind_blob(struct stmt *st, int i, const void *p, size_t n)
{
    return ok(sqlite3_bind_blob64(handle(st), i, p, n, SQLITE_STATIC));
}

static int bind_int(struct stmt *st, int i, int64_t v)
{
    return ok(sqlite3_bind_int64(handle(st), i, v));
}

static int bind_null(struct stmt *st, int i)
{
    return ok(sqlite3_bind_null(handle(st), i));
}

static int param(struct stmt *st, const char *name)
{
    return sqlite3_bind_parameter_index(handle(st), name);
}

static int step(struct stmt *st)
{
    st->db->errbuf_set = false;
    int rc = sqlite3_step(handle(st));
    return rc == SQLITE_ROW ? STMT_ROW : rc == SQLITE_DONE ? STMT_DONE : HL_EDB;
}

static int64_t col_int(struct stmt *st, int col)
{
    return sqlite3_column_int64(handle(st), col);
}

static const char *col_text(struct stmt *st, int col)
{
    return (const char *)sqlite3_column_text(handle(st), col);
}

static size_t col_bytes(struct stmt *st, int col)
{
    return (size_t)sqlite3_column_bytes(handle(st), col);
}

static enum stmt_type col_type(struct stmt *st, int col)
{
    switch (sqlite3_column_type(handle(st), col)) {
    case SQLITE_INTEGER:
        return STMT_INT;
    case SQLITE_FLOAT:
        return STMT_REAL;
    case SQLITE_NULL:
        return STMT_NULL;
    case SQLITE_BLOB:
        return STMT_BLOB;
    default:
        return STMT_TEXT;
    }
}

static int columns(struct stmt *st)
{
    return sqlite3_column_count(handle(st));
}

static const char *column_name(struct stmt *st, int col)
{
    return sqlite3_column_name(handle(st), col);
}

static enum db_col_kind column_kind(struct stmt *st, int col)
{
    return db_column_kind(sqlite3_column_table_name(handle(st), col),
                          sqlite3_column_origin_name(handle(st), col));
}

static void reset(struct stmt *st)
{
    sqlite3_reset(handle(st));
}

static void clear(struct stmt *st)
{
    sqlite3_clear_bindings(handle(st));
}

static void finalize(struct stmt *st)
{
    sqlite3_finalize(handle(st));
    free(st);
}

int sqlite_run(struct db *db, const char *sql)
{
    db->errbuf_set = false;
    return ok(sqlite3_exec(db->h, sql, NULL, NULL, NULL));
}

/* SQLite's message, plus the system's reason when a file operation failed ("disk I/O error"
 * alone does not tell a full disk from a file-size limit). */
const char *sqlite_errmsg(struct db *db)
{
    if (db->errbuf_set)
        return db->errbuf;
    if (!db->h)
        return "no handle";
    const char *msg = sqlite3_errmsg(db->h);
    int code = sqlite3_extended_errcode(db->h) & 0xff;
    int sys = sqlite3_system_errno(db->h);
    if (sys && (code == SQLITE_IOERR || code == SQLITE_FULL || code == SQLITE_CANTOPEN)) {
        snprintf(db->errbuf, sizeof(db->errbuf), "%s (%s)", msg, strerror(sys));
        return db->errbuf;
    }
    return msg;
}

int64_t sqlite_changes(struct db *db)
{
    return sqlite3_changes64(db->h);
}

int64_t sqlite_last_id(struct db *db)
{
    return sqlite3_last_insert_rowid(db->h);
}

bool sqlite_in_tx(struct db *db)
{
    return !sqlite3_get_autocommit(db->h);
}

struct text_fn {
    db_text_fn *fn;
    void *ctx;
    int nargs;
};

static void call_text_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    const struct text_fn *f = sqlite3_user_data(ctx);
    struct strv args[8];
    for (int k = 0; k < argc && k < (int)ARRAY_SIZE(args); k++) {
        const char *p = (const char *)sqlite3_value_text(argv[k]);
        args[k] = strv_make(p, p ? (size_t)sqlite3_value_bytes(argv[k]) : 0);
    }
    struct strv out = f->fn(f->ctx, args);
    /* A result that is an argument keeps that argument's type (a number stays a number). */
    for (int k = 0; k < argc && k < (int)ARRAY_SIZE(args); k++) {
        if (out.p && out.p == args[k].p && out.n == args[k].n) {
            sqlite3_result_value(ctx, argv[k]);
            return;
        }
    }
    if (out.p)
        sqlite3_result_text64(ctx, out.p, out.n, SQLITE_TRANSIENT, SQLITE_UTF8);
    else
        sqlite3_result_null(ctx);
}

int sqlite_define_function(struct db *db, const char *name, int nargs, db_text_fn *fn, void *ctx)
{
    db->errbuf_set = false;
    if (!fn)
        return ok(sqlite3_create_function(db->h, name, nargs, SQLITE_UTF8, NULL, NULL, NULL, NULL));
    if (nargs < 0 || nargs > 8) {
        snprintf(db->errbuf, sizeof(db->errbuf), "%s: too many arguments", name);
        db->errbuf_set = true;
        return HL_EDB;
    }
    struct text_fn *f = malloc(sizeof(*f));
    if (!f) {
        snprintf(db->errbuf, sizeof(db->errbuf), "out of memory");
        db->errbuf_set = true;
        return HL_EDB;
    }
    *f = (struct text_fn){ fn, ctx, nargs };
    /* SQLite frees f with the function (also when creating it fails). */
    return ok(sqlite3_create_function_v2(db->h, name, nargs,
                                         SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY, f,
                                         call_text_fn, NULL, NULL, free));
}

static const struct stmt_ops sqlite_stmt_ops = {
    .bind_text = bind_text,
    .bind_blob = bind_blob,
    .bind_int = bind_int,
    .bind_null = bind_null,
    .param = param,
    .step = step,
    .col_int = col_int,
    .col_text = col_text,
    .col_bytes = col_bytes,
    .col_type = col_type,
    .columns = columns,
    .column_name = column_name,
    .column_kind = column_kind,
    .reset = reset,
    .clear = clear,
    .finalize = finalize,
};
