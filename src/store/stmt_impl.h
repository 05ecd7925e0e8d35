/* What a store engine implements behind stmt.h: one table of functions per engine, chosen by
 * db_open() (db_impl.h names them). A statement of an engine starts with struct stmt and adds its
 * own handle. Only store/ sees this header; a second engine is one more file that fills a struct
 * driver. */
#ifndef HSMLOG_STMT_IMPL_H
#define HSMLOG_STMT_IMPL_H

#include "stmt.h"

struct driver;

struct stmt {
    const struct driver *drv;
    struct db *db;
};

struct driver {
    const char *name; /* "sqlite" */
    /* kept: the statement lives as long as the handle. */
    int (*prepare)(struct db *db, const char *sql, bool kept, struct stmt **ret,
                   const char **ret_tail);
    /* p NULL binds NULL; copy: the engine keeps its own copy of the bytes. */
    int (*bind_text)(struct stmt *st, int i, const char *p, size_t n, bool copy);
    int (*bind_blob)(struct stmt *st, int i, const void *p, size_t n);
    int (*bind_int)(struct stmt *st, int i, int64_t v);
    int (*bind_null)(struct stmt *st, int i);
    int (*param)(struct stmt *st, const char *name);
    int (*step)(struct stmt *st);
    int64_t (*col_int)(struct stmt *st, int col);
    const char *(*col_text)(struct stmt *st, int col);
    size_t (*col_bytes)(struct stmt *st, int col);
    enum stmt_type (*col_type)(struct stmt *st, int col);
    int (*columns)(struct stmt *st);
    const char *(*column_name)(struct stmt *st, int col);
    enum db_col_kind (*column_kind)(struct stmt *st, int col);
    void (*reset)(struct stmt *st);
    void (*clear)(struct stmt *st);
    void (*finalize)(struct stmt *st);
    int (*run)(struct db *db, const char *sql);
    const char *(*errmsg)(struct db *db);
    int64_t (*changes)(struct db *db);
    int64_t (*last_id)(struct db *db);
    bool (*in_tx)(struct db *db);
    /* For the read-only guard (db_guard.c): whether st only reads, and its SQL text. */
    bool (*reads_only)(struct stmt *st);
    const char *(*sql)(struct stmt *st);
    int (*define_function)(struct db *db, const char *name, int nargs, db_text_fn *fn, void *ctx);
};

#endif
