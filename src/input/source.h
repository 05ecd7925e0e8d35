/* Byte sources, stacked like libarchive's read filters: a file or stdin at the bottom, then
 * decompressors and archive members on top. Every layer reads from its upstream and hands
 * bytes up; the line reader sits on the top layer. Each source carries a label used in every
 * message about it ("bundle.tgz!var/log/messages.1.gz").
 *
 * A layer borrows the layer below it: whoever stacked a layer frees it before freeing what it
 * stands on (the scan walker unwinds its stack in reverse order).
 *
 * Peeking: source_peek() lets format sniffing look at the first bytes without consuming them;
 * the bytes are replayed by the following source_read() calls. */
#ifndef HSMLOG_SOURCE_H
#define HSMLOG_SOURCE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common.h"
#include "err.h"

struct source;

/* One layer's implementation (a small vtable, as in curl's reader chain). */
struct source_ops {
    const char *name; /* "file", "pipe" (may block: read it from the scan thread only),
                         "memory", "gzip", "member" */
    /* Reads up to cap bytes. Returns >0 bytes, 0 at EOF, HL_PAUSE when a pipe has no data
     * yet (read again), or a negative hl_code with err set. May return fewer bytes than
     * asked for. */
    ssize_t (*read)(struct source *s, void *buf, size_t cap, struct hl_err *err);
    /* Frees impl. May be NULL. */
    void (*close)(struct source *s);
    /* Returns true when a read would return at once (data or EOF is waiting). NULL for layers
     * that never block; only "pipe" has it. */
    bool (*ready)(struct source *s);
};

/* How a layer that may block (a pipe, a tty) waits for data. A read never sits in read():
 * when nothing is waiting it returns HL_PAUSE at once, and the next read waits in poll() for
 * at most SOURCE_WAIT_MS before pausing again. The consumer decides what a pause is for
 * (`journalctl -f | hsmlog scan -` commits and brings incidents up to date), and a stop
 * request is seen within SOURCE_WAIT_MS even when the signal came just before the wait. Once
 * *stop is set the layer hands out only the bytes the pipe already holds (nothing written
 * before the signal is lost, and a writer that never pauses cannot keep the scan going), then
 * fails as an interrupted read: HL_EIO with sys_errno EINTR. */
struct source_wait {
    const volatile sig_atomic_t *stop; /* borrowed: set by a signal handler, or NULL */
};

#define SOURCE_WAIT_MS 1000

/* A layer. Invariants: peek_pos <= peek_len <= SOURCE_PEEK_MAX; offset counts bytes handed to
 * the caller, including replayed peeked bytes. */
#define SOURCE_PEEK_MAX 8192
struct source {
    const struct source_ops *ops; /* borrowed: static table */
    struct source *upstream;      /* borrowed: the layer below, NULL for the bottom layer */
    char *label;                  /* owned: name for messages, e.g. "logs.tgz!messages" */
    uint64_t offset;              /* bytes delivered so far */
    void *impl;                   /* owned by ops */
    unsigned char *peek;          /* owned: bytes read ahead by source_peek(), or NULL */
    size_t peek_len;              /* valid bytes in peek */
    size_t peek_pos;              /* bytes of peek already replayed */
};

/* Allocates a layer over upstream (borrowed: it must outlive the new layer). label is
 * copied. Returns NULL when memory ran out (impl is then not freed). */
struct source *source_new(const struct source_ops *ops, void *impl, struct source *upstream,
                          const char *label);

/* Replaces s's label with a copy of label. Fails with HL_ENOMEM (the old label stays). */
HL_NODISCARD int source_relabel(struct source *s, const char *label, struct hl_err *err);

/* Returns "<parent><sep><name>" (no sep when it is '\0') with '%' in name written as "%25" and
 * '!' as "%21", so that '!' in a label only ever separates an archive from its member:
 * "a.tgz!b%21c" is member "b!c", "a.tgz!b!c" is member c of member b. Caller frees; NULL when
 * memory ran out. */
char *source_label_join(const char *parent, char sep, const char *name);

/* Frees s and its impl, not the layer below. NULL-safe. */
void source_free(struct source *s);

/* Reads up to cap bytes, replaying peeked bytes first. Same contract as source_ops.read. */
HL_NODISCARD ssize_t source_read(struct source *s, void *buf, size_t cap, struct hl_err *err);

/* Like source_read(), but reads again after a pause instead of returning HL_PAUSE: for a
 * consumer that cannot stop midway (libarchive's read callback). It still returns when a
 * stop request ends the pipe. */
HL_NODISCARD ssize_t source_read_through(struct source *s, void *buf, size_t cap,
                                         struct hl_err *err);

/* Makes at least want bytes (fewer at EOF; at most SOURCE_PEEK_MAX) available at *ret_data
 * without consuming them. Over a pipe it also stops short once a whole line is buffered and
 * no more data is waiting: a live stream is judged on its first line instead of waiting for
 * want bytes that may come only minutes later. Returns the number available (0 for an empty
 * source), HL_PAUSE when a pipe has too little yet (what it gave is kept: peek again), or a
 * negative hl_code. *ret_data is valid until the next source call. */
HL_NODISCARD ssize_t source_peek(struct source *s, size_t want, const unsigned char **ret_data,
                                 struct hl_err *err);

/* Opens path ("-" for stdin) as a bottom layer. *ret_mtime gets the file's modification time
 * in seconds since the epoch, or -1 for stdin and pipes; *ret_size the size for regular files,
 * else -1. wait (copied; may be NULL) applies when the descriptor may block. Fails with HL_EIO
 * (errno in err). */
HL_NODISCARD int source_open_file(const char *path, const struct source_wait *wait,
                                  struct source **ret, int64_t *ret_mtime, int64_t *ret_size,
                                  struct hl_err *err);

/* Wraps an already open descriptor (not closed by source_free when borrow_fd is true). */
HL_NODISCARD int source_open_fd(int fd, bool borrow_fd, const char *label,
                                const struct source_wait *wait, struct source **ret,
                                struct hl_err *err);

/* Returns true when s is a bottom layer that may block (ops "pipe"). */
bool source_is_pipe(const struct source *s);

/* Returns the bytes a bottom layer has consumed of its descriptor so far. Safe to call from
 * another thread than the one reading (for a progress line while gzip's reader thread reads
 * a file): regular files answer with their file position. Returns 0 for other layers. */
uint64_t source_position(const struct source *s);

/* What the first bytes of a stream say it is. Decided by content only, never by name. */
enum content {
    CONTENT_EMPTY,      /* no bytes at all */
    CONTENT_TEXT,       /* lines to parse */
    CONTENT_BINARY,     /* firmware, core dump, executable, image: skipped */
    CONTENT_GZIP,       /* 1f 8b: inflated by zlib (source_gzip) */
    CONTENT_COMPRESSED, /* bzip2, xz, zstd, lz4, lzma, compress: libarchive's filters */
    CONTENT_ARCHIVE,    /* tar, zip, cpio, 7z, ar, iso: libarchive's formats */
    CONTENT_UTF16LE,    /* FF FE: UTF-16 text, decoded to UTF-8 (source_utf16) */
    CONTENT_UTF16BE,    /* FE FF */
};

struct sniff {
    enum content content;
    const char *name; /* static: "gzip", "tar", "zip", "xz", "ELF binary", "text" ... */
};

/* Looks at the first bytes of s (without consuming them) and says what they are. Fails only
 * when the peek itself fails (a read error), with that error. */
HL_NODISCARD int source_sniff(struct source *s, struct sniff *ret, struct hl_err *err);

/* Caps on what a decompressing layer may produce: a decompression bomb is stopped with
 * HL_ELIMIT instead of filling memory, disk or the database. Documented in README.md. */
struct decomp_limits {
    uint64_t max_size;    /* most bytes one decompressed stream may yield */
    uint64_t max_ratio;   /* most output bytes per input byte ... */
    uint64_t ratio_floor; /* ... checked once the output passed this many bytes */
    uint64_t max_members; /* most files read from one archive (not a limit on bytes) */
};

#define DECOMP_DEFAULT_MAX_SIZE    (64ull << 30) /* 64 GiB */
#define DECOMP_DEFAULT_MAX_RATIO   250u
#define DECOMP_DEFAULT_RATIO_FLOOR (16ull << 20) /* 16 MiB */
#define DECOMP_DEFAULT_MAX_MEMBERS 100000u

/* Returns HL_ELIMIT with err set when in/out bytes break lim, else 0. */
HL_NODISCARD int decomp_check(const struct decomp_limits *lim, uint64_t in, uint64_t out,
                              const char *label, struct hl_err *err);

/* Stacks a gzip decoder (zlib) on upstream. Concatenated members (logrotate, cat a.gz b.gz)
 * are read as one stream. Reads fail with HL_EFORMAT on damaged or truncated data, after the
 * bytes decoded before the damage were delivered, and with HL_ELIMIT past lim. */
HL_NODISCARD int source_gzip_new(struct source *upstream, const struct decomp_limits *lim,
                                 struct source **ret, struct hl_err *err);

/* Stacks a UTF-16 decoder on upstream (a stream that starts with a byte order mark, which is
 * dropped): its reads give UTF-8, with U+FFFD for unpaired surrogates and an odd last byte.
 * Upstream read errors come back after the bytes decoded before them. Fails with HL_ENOMEM. */
HL_NODISCARD int source_utf16_new(struct source *upstream, bool big_endian, struct source **ret,
                                  struct hl_err *err);

/* Wraps bytes in memory (borrowed: they must outlive the source). */
HL_NODISCARD int source_open_mem(const char *data, size_t len, const char *label,
                                 struct source **ret, struct hl_err *err);

#endif
