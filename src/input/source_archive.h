/* Archive walker over libarchive: reads a tar, zip, cpio, 7z ... (or a single stream in a
 * compression libarchive knows: bzip2, xz, zstd ...) from a source, one member at a time,
 * each member itself a source the scan can sniff and stack on. Nothing is unpacked to disk;
 * memory is libarchive's per-format state plus one block. */
#ifndef HSMLOG_SOURCE_ARCHIVE_H
#define HSMLOG_SOURCE_ARCHIVE_H

#include <stdbool.h>
#include <stdint.h>

#include "common.h"
#include "err.h"
#include "source.h"

struct archive_walk;

/* One member. Borrowed from the walk: valid until the next archive_walk_next() or
 * archive_walk_free(). */
struct archive_member {
    const char *path;   /* path inside the archive, "var/log/messages" */
    const char *label;  /* "<archive label>!<path>", the path escaped (source_label_join()) */
    int64_t size;       /* bytes, -1 when the archive does not say */
    int64_t mtime;      /* seconds since the epoch, -1 when unknown */
    struct source *src; /* the member's bytes; NULL when skip is set */
    const char *kind;   /* static, with skip: "symlink", "hardlink", "fifo", "encrypted" ... */
    const char *skip;   /* why the member is not read (a link, a device, encrypted), or NULL */
};

/* Starts reading an archive from upstream (borrowed; must outlive the walk). lim caps the
 * member count (archive_walk_next() fails with HL_ELIMIT past max_members) and each
 * member's decompressed size and ratio. Fails with HL_EFORMAT when libarchive cannot
 * recognise the data, HL_ENOMEM. */
HL_NODISCARD int archive_walk_open(struct source *upstream, const struct decomp_limits *lim,
                                   struct archive_walk **ret, struct hl_err *err);

/* Moves to the next member other than a directory. A regular file comes with src to read;
 * links, devices, fifos and encrypted members come with skip saying why they are not read.
 * Returns 1 with *ret filled, 0 at the end, or a
 * negative hl_code when the archive cannot be read further (err set). Damaged headers that
 * libarchive can step over are skipped; archive_walk_damage() reports them. */
HL_NODISCARD int archive_walk_next(struct archive_walk *w, struct archive_member *ret,
                                   struct hl_err *err);

/* Returns true once (then clears it) when headers were skipped as damaged since the last
 * call, with the first such error in *err. */
bool archive_walk_damage(struct archive_walk *w, struct hl_err *err);

/* Returns true when the failure that ended the walk (a negative archive_walk_next()) was
 * already delivered as the current member's read error, so it need not be reported twice. */
bool archive_walk_reported(const struct archive_walk *w);

/* Returns true when the data is a bare compressed stream (format "raw"), not an archive: its
 * one member is the stream itself and keeps the container's label. */
bool archive_walk_is_raw(const struct archive_walk *w);

/* Returns a short name for what is being read, decompression filters first: "tar", "xz/tar",
 * "zip", "bzip2" ... (valid after the first archive_walk_next()). */
const char *archive_walk_kind(const struct archive_walk *w);

/* Returns the bytes of the archive format read so far, after decompression. */
uint64_t archive_walk_bytes(const struct archive_walk *w);

/* Frees the walk and its current member source. NULL-safe. */
void archive_walk_free(struct archive_walk *w);

#endif
