/* The scan pipeline: input path -> source stack -> lines -> records -> rules -> findings.
 * It owns no output: findings and per-source problems go to a sink the command layer
 * provides (print a summary, NDJSON, nothing), and to the database when one is open. */
#ifndef HSMLOG_SCAN_H
#define HSMLOG_SCAN_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "appliance.h"
#include "buf.h"
#include "common.h"
#include "db.h"
#include "err.h"
#include "incident.h"
#include "incident_mark.h"
#include "occurrences.h"
#include "parse_luna.h"
#include "parse_time.h"
#include "rec.h"
#include "rule_match.h"
#include "scan_carry.h"
#include "scan_console.h"
#include "source.h"

struct handoff;

/* Container layers (each gzip, compressed stream or archive counts one) a member may sit
 * under before it is skipped: bounds memory, which grows by one layer's state per level. */
#define SCAN_DEFAULT_MAX_DEPTH 8

struct scan_options {
    int year;                    /* year for year-less timestamps; 0 = infer from mtime or today */
    struct parse_zone zone;      /* zone of timestamps without one (the scan reads its own
                                    copy); zeroed for UTC */
    size_t max_line;             /* longest line matched; 0 = LINES_DEFAULT_MAX_LINE */
    int max_depth;               /* container nesting limit; 0 = SCAN_DEFAULT_MAX_DEPTH */
    struct decomp_limits limits; /* decompression bomb caps; zeros take the defaults */
    const char *program; /* borrowed: --program, the program of lines that name none, or NULL */
    const char *host;    /* borrowed: --host, the host of lines that name none, or NULL */
    bool follow;         /* a live stream: commit at least every SCAN_FOLLOW_COMMIT_NS while lines
                            keep coming (the input pausing commits anyway) */
    bool writer_thread;  /* store findings on a second thread (struct handoff): sink.finding
                            is then called on that thread (a held-back finding on the scan
                            thread while that one waits), and must not touch what the
                            other callbacks touch */
};

#define SCAN_FOLLOW_COMMIT_NS 1000000000LL /* once a second */

/* Least time between two incident updates at pauses of the input (scan_pause in scan.c). */
#define SCAN_UPDATE_GAP_NS 1000000000LL

/* The storage thread's ring: a few thousand findings in flight. Small enough that every scan
 * with findings touches all of it, so peak memory does not depend on the input's size. */
#define SCAN_WRITER_RING (1u << 20)

/* Most bytes of findings held back until their host is known as a Luna appliance's (a
 * `hosts = appliance` rule on a stock Linux line, scan_show_held()): thousands of reboot
 * lines. Past it they are stored but not shown. */
#define SCAN_HELD_MAX (8u << 20)

/* One finding as the sink sees it. Everything is borrowed and valid only during the call.
 * A finding of a `hosts = appliance` rule on a stock Linux line whose host is not known as an
 * appliance's when it is read is told later, once a line tells that it is (at the end of
 * the input that tells it, or at a pause), or never. */
struct finding {
    const struct rule *rule;
    enum severity severity; /* the rule's, or its severity-when's for this finding */
    const struct record *rec;
    const char *source; /* label: "messages", "bundle.tgz!var/log/messages.1.gz" */
    uint64_t line;      /* 1-based line in source */
    const char *ts;     /* ISO 8601 UTC, or NULL */
    struct strv fields; /* JSON object text */
    bool is_new;        /* it was not in the database yet (always true without one) */
};

struct scan;

/* Where findings and problems go. Every member may be NULL. */
struct scan_sink {
    void (*finding)(void *ctx, const struct finding *f);
    /* A source could not be read in full, or was skipped; err says where and why. */
    void (*problem)(void *ctx, const struct hl_err *err, bool skipped);
    /* The input is waiting for more data (a pipe): flush output now. */
    void (*idle)(void *ctx);
    void *ctx;
    /* Called every few hundred lines, at each new stream and when the input waits, so the
     * command can draw progress (scan_progress()). Must be cheap. */
    void (*tick)(void *ctx, const struct scan *sc);
    /* Something the user should know that did not stop reading (a rule gave up on a line at
     * a PCRE2 limit, an input had no header at all); err says where and what. */
    void (*warning)(void *ctx, const struct hl_err *err);
    /* A choice the scan made that -v shows (a year taken from another source than the file's
     * modification time); err says where and what. */
    void (*note)(void *ctx, const struct hl_err *err);
    /* An incident update finished (at a pause or the end); stats says what it did. */
    void (*updated)(void *ctx, const struct incidents_update_stats *stats);
};

/* Where a scan is, for a progress line. */
struct scan_progress {
    uint64_t bytes;    /* input bytes consumed (compressed bytes for compressed inputs) */
    const char *label; /* borrowed: the stream being read ("a.tgz!var/log/messages"), or NULL;
                          valid until the scan moves on */
};

/* Sees every line as parsed, before the rules do (`hsmlog parse`); source and line as in
 * struct finding, everything borrowed for the call. */
typedef void scan_line_fn(void *ctx, const struct record *rec, const char *source, uint64_t line);

/* A scan over any number of inputs. Invariants: rs is prepared; db is NULL or open for
 * writing with a scans row begun. Totals only grow. */
struct scan {
    struct scan_options opt;  /* copy with defaults filled in */
    const struct ruleset *rs; /* borrowed */
    struct matcher matcher;   /* this scan's match scratch over rs */
    struct db *db;            /* borrowed, or NULL for --no-db */
    struct scan_sink sink;
    scan_line_fn *on_line; /* set after scan_init() to see every line; NULL for none */
    void *on_line_ctx;
    volatile sig_atomic_t *stop;       /* borrowed: set by a signal handler to end early; a
                                          pipe still hands over what it holds (source_wait) */
    uint64_t lines;                    /* lines read over all sources */
    uint64_t cut_lines;                /* lines longer than max_line */
    uint64_t bad_time_lines;           /* lines whose header wrote a time that does not exist */
    bool said_year_source;             /* sink.note has told of an implausible modification time */
    uint64_t findings;                 /* findings in the input */
    uint64_t new_findings;             /* findings added to the database */
    uint64_t stream_new_findings;      /* ... by the stream being read */
    int64_t occurrence;                /* occurrence of the line being stored */
    struct handoff *writer;            /* owned: the storage thread, or NULL (scan.c) */
    bool writer_failed;                /* it could not be started: store in line */
    uint64_t sources;                  /* text streams read */
    uint64_t incomplete;               /* sources that could not be read in full */
    uint64_t skipped;                  /* sources skipped (binary, unreadable type) */
    uint64_t formats[FMT__COUNT];      /* lines per header format */
    uint64_t input_records;            /* records of the input file being read (all its streams) */
    uint64_t input_plain;              /* ... of them plain text: no header at all */
    bool told_headerless;              /* warn_if_headerless() gave its advice in full */
    struct buf fields;                 /* owned: scratch for a finding's fields JSON */
    struct buf message;                /* owned: scratch for a UTF-8-clean message */
    struct buf key;                    /* owned: scratch for an incident key */
    int64_t max_ts_us;                 /* latest log time seen, INT64_MIN before any */
    struct incident_marks marks;       /* what the stored hits mark for an incident update */
    struct occurrences occurrences;    /* of the current source's events (occurrences.h) */
    int64_t clock_at_update_us;        /* max_ts_us at the last update */
    int64_t next_update_ns;            /* CLOCK_MONOTONIC before which a pause does not update */
    struct carry carry;                /* client endpoints by process, for rules with carry */
    struct console_host console;       /* host the last lunash prompt of the input named */
    struct appliance_hosts appliances; /* hosts known to be Luna appliances (hosts = appliance):
                                          the database's, then those this scan learns */
    struct buf held;                   /* owned: findings held back until their host is known
                                          as an appliance's (scan_store.c): written where hits
                                          are applied, read on the scan thread after a sync */
    bool held_due;                     /* scan thread: a held finding or a new appliance host
                                          came since the last look at them */
    uint64_t held_dropped;             /* findings not held, past SCAN_HELD_MAX */
    bool said_held_full;               /* sink.warning has told of it */
    struct source *bottom;             /* borrowed: the current input's bottom layer, or NULL */
    uint64_t bytes_before;             /* input bytes of the inputs finished before it */
    const char *stream_label;          /* borrowed: label of the text stream being read, or NULL */
    unsigned tick_lines;               /* lines between sink ticks; 0 for none */
    unsigned lines_to_tick;            /* lines left until the next tick */
    int64_t committed_ns;              /* CLOCK_MONOTONIC of the last commit at a pause (follow) */
};

/* Fills *ret with how far the scan is. Cheap (one lseek at most); call from sink.tick. */
void scan_progress(const struct scan *sc, struct scan_progress *ret);

/* Sets up a scan. db may be NULL. stop may be NULL. Fails with HL_ENOMEM; scan_release() is
 * to be called either way. */
HL_NODISCARD int scan_init(struct scan *sc, const struct scan_options *opt,
                           const struct ruleset *rs, struct db *db, const struct scan_sink *sink,
                           volatile sig_atomic_t *stop, struct hl_err *err);

/* Frees the scratch buffers. */
void scan_release(struct scan *sc);

/* Scans path ("-" for stdin). Returns 0 when everything was read, 1 when some of it could not
 * be (each problem went to sink.problem; what was readable is scanned and stored), or a
 * negative hl_code for a failure that stops the whole run (database) with err set. */
HL_NODISCARD int scan_path(struct scan *sc, const char *path, struct hl_err *err);

/* Records the latest log time seen and rebuilds the incidents the new findings touched.
 * Called when the input pauses and at its end. Returns 0 or a negative hl_code. */
HL_NODISCARD int scan_update_incidents(struct scan *sc, struct hl_err *err);

/* Scans lines held in memory as one source named label (for `rules test`). Same returns. */
HL_NODISCARD int scan_text(struct scan *sc, const char *label, const char *text, size_t len,
                           struct hl_err *err);

#endif
