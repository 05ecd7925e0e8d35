/* Event identity: what makes two log lines the same event, so that one event read from two
 * inputs (a syslog file and `journalctl -o json`, a bundle's copy of messages, overlapping
 * journal windows) is stored once. docs/SCHEMA.md ("Duplicates") is the user's description;
 * this is its one implementation, used by the scan and by the schema upgrade that rekeys
 * stored rows. */
#ifndef HSMLOG_EVENT_ID_H
#define HSMLOG_EVENT_ID_H

#include <stdint.h>

#include "rec.h"

/* Returns the whole second (seconds since the epoch, rounded down) of a time in
 * microseconds: the precision at which two records of one event are compared, since a syslog
 * file keeps whole seconds of what the journal keeps to the microsecond. */
int64_t event_id_second(int64_t ts_us);

/* Returns the event hash of rec (a 64-bit FNV-1a): for a timed record, of its whole second,
 * host, program, pid and message bytes as read; for a record without a time, of source (the
 * input's label) and the raw line, since only the input tells two identical pasted lines
 * apart. Stable across runs, machines and versions: stored rows are keyed by it. */
int64_t event_id_hash(const struct record *rec, const char *source);

/* Returns the event hash of a stored timed line: raw is parsed again for its host, program,
 * pid and message, and ts_us is the time stored with it. Gives what event_id_hash() gives for
 * the record raw was read as. */
int64_t event_id_hash_raw(int64_t ts_us, const void *raw, size_t raw_len);

#endif
