/* A worker thread fed in order through a bounded ring of messages: the scan thread hands each
 * finding over and goes on matching while the worker stores it (SQLite), so on two cores a
 * scan costs about the slower of matching and storing instead of their sum.
 *
 * One producer (the thread that calls handoff_reserve/commit/sync) and one consumer (the
 * worker). Messages are applied in the order they were committed. After handoff_sync()
 * returns, every message committed before has been applied and the worker touches nothing
 * until the next commit: that is when the producer may use what the worker uses (the
 * database connection) itself. Memory is the ring, fixed at start. */
#ifndef HSMLOG_HANDOFF_H
#define HSMLOG_HANDOFF_H

#include <stddef.h>

#include "common.h"
#include "err.h"

struct handoff;

/* Applies one message on the worker. Returns 0, or a negative hl_code with err set: the
 * worker then drops the messages after it, and handoff_sync() returns the failure. */
typedef int handoff_apply_fn(void *ctx, void *msg, size_t len, struct hl_err *err);

/* Called on the worker when it has waited idle_ms with nothing to apply (commit a
 * transaction that would otherwise stay open). Same returns as handoff_apply_fn. */
typedef int handoff_idle_fn(void *ctx, struct hl_err *err);

/* Starts the worker with a ring of capacity bytes. Returns 0, or HL_ENOMEM/HL_EIO with err
 * set (no thread, no memory). */
HL_NODISCARD int handoff_start(struct handoff **ret, size_t capacity, handoff_apply_fn *apply,
                               handoff_idle_fn *idle, unsigned idle_ms, void *ctx,
                               struct hl_err *err);

/* The largest message handoff_reserve() takes. */
size_t handoff_max_message(const struct handoff *h);

/* Returns room for a message of len bytes (<= handoff_max_message()), waiting while the
 * ring is full, or NULL when the worker has failed (handoff_sync() tells how). The room
 * belongs to the producer until handoff_commit(). */
void *handoff_reserve(struct handoff *h, size_t len);

/* Hands the reserved message to the worker. A sleeping worker is woken once an eighth of the
 * ring is committed; otherwise it finds the message at the next sync or within 250 ms. */
void handoff_commit(struct handoff *h);

/* Waits until every committed message has been applied. Returns 0, or the first failure of
 * the worker (err set); a failure is returned by every later call too. */
HL_NODISCARD int handoff_sync(struct handoff *h, struct hl_err *err);

/* Waits for the worker to apply what is committed, stops it and frees everything. NULL is a
 * no-op. */
void handoff_stop(struct handoff *h);

#endif
