/* libarchive walker. libarchive pulls its input through read_cb from our upstream source, so
 * a tarball inside a gzip inside a tarball is layers of sources, not temporary files. Damaged
 * tar headers come back as ARCHIVE_RETRY: the walk goes on at the next header libarchive can
 * find, so what follows the damage is still read. */
#include "source_archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARCHIVE_BLOCK (64u * 1024)

/* A run of unreadable headers longer than this ends the walk instead of crawling through a
 * huge damaged file 512 bytes at a time. */
#define MAX_CONSECUTIVE_RETRIES 100000

struct archive_walk {
    struct archive *a;       /* owned */
    struct source *upstream; /* borrowed */
    unsigned char block[ARCHIVE_BLOCK];
    struct hl_err up_err; /* why the upstream failed, when it did */
    bool up_failed;
    bool up_reported; /* up_err was returned to a member reader */
    char *last_path;  /* owned: path of the previous member, for damage messages */
    struct decomp_limits lim;
    struct source *member;    /* owned: current member's source */
    char *label;              /* owned: current member's label */
    char *path;               /* owned: current member's path */
    uint64_t member_out;      /* bytes read from the current member */
    int64_t member_raw_start; /* archive_filter_bytes(a, -1) when the member began */
    bool damaged;             /* headers were skipped since the last damage report */
    struct hl_err damage_err;
    bool raw;         /* a single compressed stream, not an archive */
    char kind[64];    /* "xz/tar", "zip", "bzip2" */
    const void *data; /* the current data block of the member, owned by libarchive */
    size_t block_left;
    int64_t block_offset; /* member offset of block[0]; ahead of member_out across a hole */
    uint64_t members;     /* members handed out so far, skipped ones included */
    char skip[256];       /* why the current member is not read */
};

static la_ssize_t read_cb(struct archive *a, void *ctx, const void **ret_buf)
{
    struct archive_walk *w = ctx;
    ssize_t n = source_read_through(w->upstream, w->block, sizeof(w->block), &w->up_err);
    if (n < 0) {
        w->up_failed = true;
        archive_set_error(a, EIO, "%s", w->up_err.msg);
        return -1;
    }
    *ret_buf = w->block;
    return n;
}

/* Member data comes block by block: archive_read_data() would drop the bytes it had already
 * copied when a later block fails, and those are the lines just before the damage. */
static ssize_t member_next_block(struct source *s, struct hl_err *err)
{
    struct archive_walk *w = s->impl;
    size_t size;
    la_int64_t offset;
    int rc = archive_read_data_block(w->a, &w->data, &size, &offset);
    if (rc == ARCHIVE_EOF)
        return 0;
    if (rc < ARCHIVE_WARN) {
        /* Prefer our own upstream error: it names the layer that failed (truncated gzip). */
        if (w->up_failed) {
            w->up_reported = true;
            if (err) {
                *err = w->up_err;
                snprintf(err->where, sizeof(err->where), "%s", s->label);
            }
            return w->up_err.code ? w->up_err.code : HL_EIO;
        }
        const char *msg = archive_error_string(w->a);
        return hl_err_set(err, HL_EFORMAT, s->label, "damaged member data: %s",
                          msg ? msg : "read failed");
    }
    w->block_left = size;
    w->block_offset = offset;
    return 1;
}

static ssize_t member_read(struct source *s, void *buf, size_t cap, struct hl_err *err)
{
    struct archive_walk *w = s->impl;
    while (w->block_left == 0) {
        ssize_t r = member_next_block(s, err);
        if (r <= 0)
            return r;
    }
    /* --max-size is exact: a member of max_size bytes reads whole, the byte after it fails. */
    if (w->member_out >= w->lim.max_size)
        return decomp_check(&w->lim, 0, w->member_out + 1, s->label, err);
    if (cap > w->lim.max_size - w->member_out)
        cap = (size_t)(w->lim.max_size - w->member_out);
    size_t n;
    if ((uint64_t)w->block_offset > w->member_out) {
        /* A hole in a sparse member reads as NUL bytes, as it would from the disk. */
        uint64_t gap = (uint64_t)w->block_offset - w->member_out;
        n = gap < cap ? (size_t)gap : cap;
        memset(buf, 0, n);
    } else {
        n = w->block_left < cap ? w->block_left : cap;
        memcpy(buf, w->data, n);
        w->data = (const unsigned char *)w->data + n;
        w->block_left -= n;
        w->block_offset += (int64_t)n;
    }
    w->member_out += n;
    int64_t raw = archive_filter_bytes(w->a, -1) - w->member_raw_start;
    int r = decomp_check(&w->lim, raw > 0 ? (uint64_t)raw : 0, w->member_out, s->label, err);
    return r < 0 ? r : (ssize_t)n;
}

static const struct source_ops member_ops = {
    .name = "member",
    .read = member_read,
    .close = NULL,
};

int archive_walk_open(struct source *upstream, const struct decomp_limits *lim,
                      struct archive_walk **ret, struct hl_err *err)
{
    struct archive_walk *w = calloc(1, sizeof(*w));
    if (!w)
        return hl_err_set(err, HL_ENOMEM, upstream->label, "out of memory");
    w->upstream = upstream;
    w->lim = *lim;
    snprintf(w->kind, sizeof(w->kind), "archive");
    w->a = archive_read_new();
    if (!w->a) {
        free(w);
        return hl_err_set(err, HL_ENOMEM, upstream->label, "out of memory");
    }
    archive_read_support_filter_all(w->a);
    archive_read_support_format_all(w->a);
    /* A bare .xz or .bz2 log is read as the single "raw" member. */
    archive_read_support_format_raw(w->a);
    if (archive_read_open(w->a, w, NULL, read_cb, NULL) != ARCHIVE_OK) {
        int r = w->up_failed
                        ? (*err = w->up_err, w->up_err.code)
                        : hl_err_set(err, HL_EFORMAT, upstream->label, "not a readable archive: %s",
                                     archive_error_string(w->a) ? archive_error_string(w->a)
                                                                : "unknown format");
        archive_walk_free(w);
        return r ? r : HL_EFORMAT;
    }
    *ret = w;
    return 0;
}

static const char *format_kind(struct archive *a)
{
    switch (archive_format(a) & ARCHIVE_FORMAT_BASE_MASK) {
    case ARCHIVE_FORMAT_TAR:
        return "tar";
    case ARCHIVE_FORMAT_ZIP:
        return "zip";
    case ARCHIVE_FORMAT_CPIO:
        return "cpio";
    case ARCHIVE_FORMAT_AR:
        return "ar";
    case ARCHIVE_FORMAT_7ZIP:
        return "7z";
    case ARCHIVE_FORMAT_ISO9660:
        return "iso9660";
    case ARCHIVE_FORMAT_RAR:
    case ARCHIVE_FORMAT_RAR_V5:
        return "rar";
    case ARCHIVE_FORMAT_RAW:
        return "raw";
    }
    return "archive";
}

/* The kind names libarchive's decompression filters outermost first, then the format:
 * "xz/tar". A single compressed file (the raw format) is named by its filters alone. */
static void set_kind(struct archive_walk *w)
{
    size_t len = 0;
    w->kind[0] = '\0';
    for (int i = archive_filter_count(w->a) - 1; i >= 0; i--) {
        const char *name = archive_filter_name(w->a, i);
        if (!name || strcmp(name, "none") == 0)
            continue;
        int n = snprintf(w->kind + len, sizeof(w->kind) - len, "%s%s", len ? "/" : "", name);
        if (n > 0 && (size_t)n < sizeof(w->kind) - len)
            len += (size_t)n;
    }
    if (!w->raw || len == 0)
        snprintf(w->kind + len, sizeof(w->kind) - len, "%s%s", len ? "/" : "", format_kind(w->a));
}

/* Fills *ret for a member that is not read: anything but a regular file, a hard link (its
 * bytes are those of the member it names, read there) and an encrypted member (hsmlog takes
 * no passphrase; libarchive would fail its data as damage). Returns false for a member to
 * read. */
static bool member_skip(struct archive_walk *w, struct archive_entry *entry,
                        struct archive_member *ret)
{
    const char *kind = NULL, *target = archive_entry_hardlink(entry);
    /* A tar hard link entry has no file type of its own, only the name it links to. */
    switch (target ? AE_IFREG : archive_entry_filetype(entry)) {
    case AE_IFREG:
        if (target)
            kind = "hardlink";
        else if (archive_entry_is_encrypted(entry))
            kind = "encrypted";
        break;
    case AE_IFLNK:
        kind = "symlink";
        target = archive_entry_symlink(entry);
        break;
    case AE_IFIFO:
        kind = "fifo";
        break;
    case AE_IFSOCK:
        kind = "socket";
        break;
    case AE_IFCHR:
        kind = "character device";
        break;
    case AE_IFBLK:
        kind = "block device";
        break;
    default:
        kind = "special file";
        break;
    }
    if (!kind)
        return false;
    if (strcmp(kind, "encrypted") == 0)
        snprintf(w->skip, sizeof(w->skip), "encrypted, no passphrase to read it");
    else if (strcmp(kind, "hardlink") == 0) {
        /* The member it names, escaped as member labels are. */
        char *member = source_label_join("", '\0', target);
        snprintf(w->skip, sizeof(w->skip), "hard link to '%.200s', read there",
                 member ? member : target);
        free(member);
    } else if (strcmp(kind, "symlink") == 0)
        snprintf(w->skip, sizeof(w->skip), "symbolic link to '%.200s'", target ? target : "");
    else
        snprintf(w->skip, sizeof(w->skip), "%s, not a regular file", kind);
    *ret = (struct archive_member){
        .path = w->path,
        .label = w->label,
        .size = -1,
        .mtime = archive_entry_mtime_is_set(entry) ? (int64_t)archive_entry_mtime(entry) : -1,
        .kind = kind,
        .skip = w->skip,
    };
    return true;
}

static void drop_member(struct archive_walk *w)
{
    source_free(w->member);
    w->member = NULL;
    free(w->label);
    w->label = NULL;
    if (w->path) {
        free(w->last_path);
        w->last_path = w->path;
        w->path = NULL;
    }
}

int archive_walk_next(struct archive_walk *w, struct archive_member *ret, struct hl_err *err)
{
    drop_member(w);
    struct archive_entry *entry;
    unsigned retries = 0;
    for (;;) {
        int rc = archive_read_next_header(w->a, &entry);
        if (rc == ARCHIVE_EOF)
            return 0;
        if (rc == ARCHIVE_RETRY) {
            if (!w->damaged) {
                const char *msg = archive_error_string(w->a);
                hl_err_set(&w->damage_err, HL_EFORMAT, w->upstream->label,
                           "damaged archive header %s%s%s (near byte %lld): %s, skipping to "
                           "the next readable member",
                           w->last_path ? "after member '" : "at the start",
                           w->last_path ? w->last_path : "", w->last_path ? "'" : "",
                           (long long)archive_filter_bytes(w->a, 0), msg ? msg : "unreadable");
                w->damaged = true;
            }
            if (++retries > MAX_CONSECUTIVE_RETRIES)
                return hl_err_set(err, HL_EFORMAT, w->upstream->label,
                                  "too much damage in archive, giving up");
            continue;
        }
        if (rc == ARCHIVE_FATAL) {
            if (w->up_failed) {
                *err = w->up_err;
                return w->up_err.code ? w->up_err.code : HL_EIO;
            }
            const char *msg = archive_error_string(w->a);
            return hl_err_set(err, HL_EFORMAT, w->upstream->label, "damaged archive: %s",
                              msg ? msg : "cannot read the next header");
        }
        /* ARCHIVE_OK or ARCHIVE_WARN (an odd but readable header). */
        w->raw = (archive_format(w->a) & ARCHIVE_FORMAT_BASE_MASK) == ARCHIVE_FORMAT_RAW;
        set_kind(w);
        if (!w->raw && archive_entry_filetype(entry) == AE_IFDIR)
            continue; /* no bytes of its own: its members follow */
        break;
    }
    /* Millions of tiny members cost a sources row each: stop at the cap, like a bomb. */
    if (!w->raw && w->lim.max_members && w->members >= w->lim.max_members)
        return hl_err_set(err, HL_ELIMIT, w->upstream->label,
                          "archive has more than %llu members (--max-members), the rest skipped",
                          (unsigned long long)w->lim.max_members);
    w->members++;
    const char *path = archive_entry_pathname(entry);
    if (!path)
        path = archive_entry_pathname_utf8(entry);
    if (!path)
        path = "?";
    while (path[0] == '.' && path[1] == '/')
        path += 2;
    w->path = strdup(path);
    w->label =
            w->raw ? strdup(w->upstream->label) : source_label_join(w->upstream->label, '!', path);
    if (!w->path || !w->label)
        return hl_err_set(err, HL_ENOMEM, w->upstream->label, "out of memory");
    if (!w->raw && member_skip(w, entry, ret))
        return 1;
    w->member = source_new(&member_ops, w, w->upstream, w->label);
    if (!w->member)
        return hl_err_set(err, HL_ENOMEM, w->label, "out of memory");
    w->member_out = 0;
    w->block_left = 0;
    w->block_offset = 0;
    w->member_raw_start = archive_filter_bytes(w->a, -1);
    *ret = (struct archive_member){
        .path = w->path,
        .label = w->label,
        .size = !w->raw && archive_entry_size_is_set(entry) ? archive_entry_size(entry) : -1,
        .mtime = archive_entry_mtime_is_set(entry) ? (int64_t)archive_entry_mtime(entry) : -1,
        .src = w->member,
    };
    return 1;
}

bool archive_walk_damage(struct archive_walk *w, struct hl_err *err)
{
    if (!w->damaged)
        return false;
    *err = w->damage_err;
    w->damaged = false;
    return true;
}

bool archive_walk_reported(const struct archive_walk *w)
{
    return w->up_reported;
}

bool archive_walk_is_raw(const struct archive_walk *w)
{
    return w->raw;
}

uint64_t archive_walk_bytes(const struct archive_walk *w)
{
    /* With a decompression filter, what it produced for the format reader; without one, what
     * was read, which includes the tar end-of-archive padding libarchive does not ask for. */
    int64_t n = archive_filter_bytes(w->a, archive_filter_count(w->a) > 1 ? 0 : -1);
    return n > 0 ? (uint64_t)n : 0;
}

const char *archive_walk_kind(const struct archive_walk *w)
{
    return w->kind;
}

void archive_walk_free(struct archive_walk *w)
{
    if (!w)
        return;
    drop_member(w);
    free(w->last_path);
    if (w->a)
        archive_read_free(w->a);
    free(w);
}
