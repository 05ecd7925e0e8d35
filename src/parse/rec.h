/* struct record: one log line after header parsing. Every text field is a slice into the line
 * (or into the parser's scratch buffer for decoded journal JSON), so a record costs no
 * allocation; it is valid until the next parse_line() or the next lines_next(). */
#ifndef HSMLOG_REC_H
#define HSMLOG_REC_H

#include <stdbool.h>
#include <stdint.h>

#include "strv.h"

/* Header shapes hsmlog recognises, decided line by line. */
enum rec_format {
    FMT_PLAIN,         /* no header at all: a pasted console transcript */
    FMT_BARE,          /* "program[pid]: message" */
    FMT_RFC3164,       /* "<PRI>Mmm dd hh:mm:ss host tag[pid]: msg", PRI optional; also
                          journalctl -o short */
    FMT_SHORT_PRECISE, /* journalctl -o short-precise: RFC 3164 with microseconds */
    FMT_ISO,           /* journalctl -o short-iso / short-iso-precise, rsyslog RFC 3339 files */
    FMT_RFC5424,       /* "<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG" */
    FMT_LUNA_TAIL,     /* Luna appliance "syslog tail": "YYYY Mon dd hh:mm:ss host fac sev tag" */
    FMT_JSON,          /* journalctl -o json, json-seq, json-sse: one object per line */
    FMT_SHORT_FULL,    /* journalctl -o short-full / with-unit: "Sat 2026-11-28 07:00:05 CET ..." */
    FMT_SHORT_UNIX,    /* journalctl -o short-unix: "1795845605.095383 host tag[pid]: msg" */
    FMT_SHORT_MONOTONIC, /* journalctl -o short-monotonic / short-delta: "[21415.215982] ...",
                            no wall time */
    FMT_EXPORT,          /* journalctl -o export: one entry of "NAME=value" lines (records.c) */
    FMT__COUNT
};

/* Returns a stable lowercase name for a format ("rfc3164", "json", ...). */
const char *rec_format_name(enum rec_format f);

/* A parsed line. Invariants: message is never NULL-pointed for a non-empty line (plain text
 * puts the whole line there); ts_us is meaningful only when has_ts; has_ts and bad_ts are
 * never both set; absent header fields are empty slices. */
struct record {
    enum rec_format format; /* which header shape matched */
    bool has_ts;            /* the line carried a timestamp */
    bool bad_ts;            /* its header wrote a time that does not exist (Feb 30, 25:00):
                               the line has no time */
    int64_t ts_us;          /* microseconds since the epoch, UTC */
    int pri;                /* syslog PRI 0..191, or -1 when the line had none */
    struct strv host;       /* borrowed: hostname, empty when absent */
    struct strv program;    /* borrowed: syslog tag / SYSLOG_IDENTIFIER, empty when absent */
    struct strv pid;        /* borrowed: process id text, empty when absent */
    struct strv message;    /* borrowed: the text after the header */
    struct strv raw;        /* borrowed: the whole line as read (after CR/BOM stripping) */
};

#endif
