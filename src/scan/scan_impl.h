/* What the files of the scan (scan.c, scan_walk.c) share and no other module may use. */
#ifndef HSMLOG_SCAN_IMPL_H
#define HSMLOG_SCAN_IMPL_H

#include "scan.h"

#include "buf.h"
#include "parse.h"
#include "rule.h"
#include "rule_match.h"

/* What the walker knows about a stream before reading it. */
struct stream_info {
    const char *label; /* borrowed */
    char kind[96];     /* content chain so far, outermost first: "gzip/tar" */
    int64_t mtime;     /* seconds, -1 unknown */
    int64_t year_from; /* seconds: the modification time the year guess takes, this stream's
                          or else its container's when plausible (year_source_ok()); 0 for
                          none, then today */
    int64_t size;      /* bytes, -1 unknown */
    int64_t parent_id; /* sources.id of the container, 0 for none */
    int depth;         /* container layers above this stream */
};

/* True once a stop was requested (a signal). */
bool scan_stopping(const struct scan *sc);

/* Tells the sink that a source could not be read in full, or was skipped. */
void scan_report_problem(struct scan *sc, const struct hl_err *err, bool skipped);

/* Appends a layer's name to the stream's kind ("gzip", then "tar": "gzip+tar"). */
void scan_kind_append(struct stream_info *info, const char *name);

/* Adds a sources row (db_source_add()) and starts counting occurrences over: the same line
 * read from `messages` and from a bundle's copy of it is one event, not two. */
HL_NODISCARD int scan_source_add(struct scan *sc, const struct db_source *row, int64_t *ret_id,
                                 struct hl_err *err);

/* True when a modification time is plausible enough to date the lines of a file. */
bool scan_year_source_ok(int64_t mtime);

/* Reads src as text lines through the parser and the rules (scan.c). Returns 0, 1 for a
 * source that ended in a read error (reported), or a negative run-level code. */
HL_NODISCARD int scan_lines(struct scan *sc, struct source *src, const struct stream_info *info,
                            struct hl_err *err);

/* The input waits (a pipe with no data): commit, bring incidents up to date. */
void scan_pause(struct scan *sc);

/* What storing one hit needs: built on the scan thread, applied there or on the storage
 * thread (struct handoff). Everything is borrowed. */
struct hit {
    const struct rule *rule; /* the finding's rule, or the reset/expect pattern's rule */
    enum severity severity;  /* findings: the finding's (rule_severity()) */
    const char *label;       /* source label: valid until the stream ends */
    int64_t source_id;
    uint64_t line;
    bool first_of_line;   /* the line's first hit: count its occurrence now */
    int64_t hash;         /* event hash of the line (with a database) */
    struct record rec;    /* message is the UTF-8-clean one (findings) */
    const char *ts;       /* ISO text, or NULL */
    struct strv fields;   /* findings: JSON object */
    struct strv key;      /* incident key (with a database) */
    bool needs_appliance; /* a `hosts = appliance` rule's finding on a line that is no
                             appliance's by itself: only its host can make it one */
    bool held;            /* ... and that host was not known as one when it was read: the
                             sink is told once it is (scan_show_held()) */
};

/* Stores h: handed to the storage thread when there is one (started at the first hit of a
 * scan that asked for it), else at once (scan_store.c). Returns 0 or a run-level code. */
HL_NODISCARD int scan_store_hit(struct scan *sc, const struct hit *h, struct hl_err *err);

/* Waits until the storage thread has stored every hit handed over: after that the scan
 * thread may use the database itself. Returns 0 or its failure. */
HL_NODISCARD int scan_writer_sync(struct scan *sc, struct hl_err *err);

/* Notes host as a Luna appliance's (line line of source source_id told it) in the database,
 * in order with the hits handed over, so that the findings that waited for it count. Returns
 * 0 or a run-level code. No-op without a database. */
HL_NODISCARD int scan_store_appliance(struct scan *sc, struct strv host, int64_t source_id,
                                      uint64_t line, struct hl_err *err);

/* Tells the sink the held findings whose host is now known as an appliance's, and keeps the
 * others. Only once every hit is applied (after scan_writer_sync()). */
void scan_show_held(struct scan *sc);

/* At the end of an input: when a held finding or a new appliance host came since the last
 * show, waits for the storage thread and shows what it can. Returns 0 or its failure. */
HL_NODISCARD int scan_settle_held(struct scan *sc, struct hl_err *err);

/* The fields of a finding: named captures of the latest match first, then the Luna parser's
 * fields not already named. Values borrow from the record (and from the hex buffers here). */
struct field_set {
    struct rule_capture v[48];
    size_t n;
    char ret_hex[16], ckr_hex[16];
};

/* Whether the first n fields of fs include name. */
bool scan_has_field(const struct field_set *fs, size_t n, const char *name);

/* Collects the fields of rule's match of rec into fs; owner is the rule whose `normalize`
 * applies (rule itself, or the rule whose reset or expect pattern rule is). */
void scan_collect_fields(const struct matcher *m, const struct rule *rule, const struct rule *owner,
                         const struct record *rec, struct field_set *fs);

/* Writes fs as a JSON object into out (emptied first). Returns 0 or HL_ENOMEM. */
int scan_fields_json(const struct field_set *fs, struct buf *out);

#endif
