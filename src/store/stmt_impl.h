/* What an engine implements for a statement (stmt.h). A statement of an engine starts with
 * struct stmt and adds its own handle; the engine's prepare (struct engine, db_impl.h) makes
 * it. Only store/ sees this header. */
#ifndef HSMLOG_STMT_IMPL_H
#define HSMLOG_STMT_IMPL_H

#include "stmt.h"

struct stmt_ops;

struct stmt {
    const struct stmt_ops *ops;
    struct db *db;
};

struct stmt_ops {
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
};

#endif
