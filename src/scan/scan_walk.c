/* Walking the inputs: a path is a file, stdin or a directory (read in name order, to a
 * bounded depth); a stream is sniffed and read as text lines (scan.c), a gzip layer, an
 * archive whose members are streams again, or skipped with a sources row saying why. */
#include "scan.h"
#include "scan_impl.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "clock.h"
#include "event_id.h"
#include "handoff.h"
#include "incident.h"
#include "incident_mark.h"
#include "json.h"
#include "lines.h"
#include "parse.h"
#include "parse_time.h"
#include "records.h"
#include "scan_carry.h"
#include "source.h"
#include "source_archive.h"
#include "utf8.h"

/* Records a stream that is not read (binary, too deep, unreadable) as a sources row. */
static int record_unread(struct scan *sc, const struct stream_info *info, const char *status,
                         const char *why, struct hl_err *err)
{
    if (!sc->db)
        return 0;
    struct db_source row = {
        .path = info->label,
        .kind = info->kind,
        .parent_id = info->parent_id,
        .size = info->size,
        .mtime = info->mtime,
        .status = status,
        .error = why,
    };
    int64_t id;
    int r = scan_source_add(sc, &row, &id, err);
    return r < 0 ? r : db_source_end(sc->db, id, &row, err);
}

int scan_source_add(struct scan *sc, const struct db_source *row, int64_t *ret_id,
                    struct hl_err *err)
{
    int r = db_source_add(sc->db, row, ret_id, err);
    return r < 0 ? r : occurrences_restart(&sc->occurrences, err);
}

void scan_kind_append(struct stream_info *info, const char *name)
{
    size_t n = strlen(info->kind);
    snprintf(info->kind + n, sizeof(info->kind) - n, "%s%s", n ? "/" : "", name);
}

/* Returns true when mtime can date a log. Not 0 (a tool that did not keep it), not the zip
 * format's minimum (1980-01-01, a DOS date of zero), nothing before 1990 and nothing more than
 * a day ahead of the clock (a skewed host): such a time would put every year-less line in the
 * wrong year. */
bool scan_year_source_ok(int64_t mtime)
{
    return mtime >= INT64_C(631152000) && mtime <= (int64_t)time(NULL) + 86400;
}

static int scan_stream(struct scan *sc, struct source *src, struct stream_info *info,
                       struct hl_err *err);

/* Reads every member of an archive (or the one stream of a compressed file) as a stream of
 * its own. Returns 0, 1 when something could not be read in full, or a run-level code. */
/* What a member of archive w is, as a stream under info. */
static void member_info(const struct archive_walk *w, const struct archive_member *m,
                        const struct stream_info *info, struct stream_info *member)
{
    *member = (struct stream_info){
        .label = m->label,
        .mtime = m->mtime >= 0 ? m->mtime : info->mtime,
        .year_from = scan_year_source_ok(m->mtime) ? m->mtime : info->year_from,
        .size = m->size,
        .depth = info->depth + 1,
    };
    if (archive_walk_is_raw(w)) {
        /* A compressed file, not an archive: the stream continues the same chain. */
        member->parent_id = info->parent_id;
        member->mtime = info->mtime;
        member->year_from = info->year_from;
        member->size = info->size;
        snprintf(member->kind, sizeof(member->kind), "%s", info->kind);
        scan_kind_append(member, archive_walk_kind(w));
    }
}

/* A link, a device or an encrypted member: a row that says why it was not read. */
static int skip_member(struct scan *sc, const struct archive_member *m, struct stream_info *member,
                       struct hl_err *err)
{
    snprintf(member->kind, sizeof(member->kind), "%s", m->kind);
    struct hl_err e;
    hl_err_set(&e, HL_EFORMAT, m->label, "%s", m->skip);
    scan_report_problem(sc, &e, true);
    return record_unread(sc, member, "skipped", m->skip, err);
}

/* Finishes the sources row of archive w after its walk ended with status (0 or 1) and
 * failure: the container's row when one was added (container_id), else, for an archive
 * damaged before its first member, a row that says so. Returns 0 or a negative hl_code. */
static int end_container(struct scan *sc, struct archive_walk *w, struct db_source *row,
                         int64_t container_id, struct stream_info *container, int status,
                         const char *failure, struct hl_err *err)
{
    if (container_id) {
        row->status = status == 1 ? "partial" : "ok";
        row->error = failure;
        row->bytes = archive_walk_bytes(w);
        return db_source_end(sc->db, container_id, row, err);
    }
    if (status == 1 && !archive_walk_is_raw(w)) {
        scan_kind_append(container, archive_walk_kind(w));
        return record_unread(sc, container, "error", failure, err);
    }
    return 0;
}

static int scan_archive(struct scan *sc, struct source *src, struct stream_info *info,
                        struct hl_err *err)
{
    struct archive_walk *w = NULL;
    struct hl_err werr;
    hl_err_clear(&werr);
    int status = 0, r;
    if (archive_walk_open(src, &sc->opt.limits, &w, &werr) < 0) {
        scan_report_problem(sc, &werr, false);
        r = record_unread(sc, info, "error", werr.msg, err);
        return r < 0 ? r : 1;
    }
    int64_t container_id = 0;
    struct db_source row = {
        .path = info->label,
        .parent_id = info->parent_id,
        .size = info->size,
        .mtime = info->mtime,
        .status = "reading",
    };
    struct stream_info container = *info; /* for the container's kind */
    const char *failure = NULL;
    struct archive_member m;
    while (!scan_stopping(sc)) {
        int n = archive_walk_next(w, &m, &werr);
        struct hl_err damage;
        if (archive_walk_damage(w, &damage)) {
            scan_report_problem(sc, &damage, false);
            status = 1;
            failure = "damaged headers were skipped";
        }
        if (n <= 0) {
            if (n < 0) {
                if (!archive_walk_reported(w))
                    scan_report_problem(sc, &werr, false);
                status = 1;
                failure = werr.msg;
            }
            break;
        }
        struct stream_info member;
        member_info(w, &m, info, &member);
        if (!archive_walk_is_raw(w)) {
            if (!container_id && sc->db) {
                scan_kind_append(&container, archive_walk_kind(w));
                row.kind = container.kind;
                if ((r = scan_source_add(sc, &row, &container_id, err)) < 0) {
                    status = r;
                    break;
                }
            }
            member.parent_id = container_id;
        }
        if (m.skip) {
            if ((r = skip_member(sc, &m, &member, err)) < 0) {
                status = r;
                break;
            }
            continue;
        }
        r = scan_stream(sc, m.src, &member, err);
        if (r < 0) {
            status = r;
            break;
        }
        if (r == 1) {
            status = 1;
            if (!failure)
                failure = "a member could not be read in full";
        }
    }
    if (status >= 0 &&
        (r = end_container(sc, w, &row, container_id, &container, status, failure, err)) < 0)
        status = r;
    archive_walk_free(w);
    return status;
}

/* Sniffs src and reads it the way its content asks for: text lines, a gzip layer, an archive,
 * or a skip. Returns 0, 1 when something could not be read in full, or a run-level code. */
static int scan_stream(struct scan *sc, struct source *src, struct stream_info *info,
                       struct hl_err *err)
{
    struct sniff what;
    struct hl_err serr;
    hl_err_clear(&serr);
    int max_depth = sc->opt.max_depth;
    int sniffed;
    while ((sniffed = source_sniff(src, &what, &serr)) == HL_PAUSE)
        scan_pause(sc);
    if (sniffed < 0) {
        if (serr.sys_errno == EINTR && scan_stopping(sc))
            return 0;
        scan_report_problem(sc, &serr, false);
        scan_kind_append(info, "unknown");
        int r = record_unread(sc, info, "error", serr.msg, err);
        return r < 0 ? r : 1;
    }
    bool container = what.content == CONTENT_GZIP || what.content == CONTENT_COMPRESSED ||
                     what.content == CONTENT_ARCHIVE;
    if (container && info->depth >= max_depth) {
        scan_kind_append(info, what.name);
        hl_err_set(&serr, HL_ELIMIT, info->label,
                   "%s nested deeper than %d containers (--max-depth)", what.name, max_depth);
        scan_report_problem(sc, &serr, true);
        return record_unread(sc, info, "skipped", serr.msg, err);
    }
    switch (what.content) {
    case CONTENT_EMPTY:
    case CONTENT_TEXT:
        scan_kind_append(info, "text");
        return scan_lines(sc, src, info, err);
    case CONTENT_BINARY: {
        scan_kind_append(info, "binary");
        char why[128];
        snprintf(why, sizeof(why), "binary content (%s), not a log", what.name);
        hl_err_set(&serr, HL_EFORMAT, info->label, "%s", why);
        scan_report_problem(sc, &serr, true);
        return record_unread(sc, info, "skipped", why, err);
    }
    case CONTENT_GZIP: {
        struct source *gz;
        if (source_gzip_new(src, &sc->opt.limits, &gz, err) < 0)
            return HL_ENOMEM;
        scan_kind_append(info, "gzip");
        info->depth++;
        int r = scan_stream(sc, gz, info, err);
        source_free(gz);
        return r;
    }
    case CONTENT_COMPRESSED:
    case CONTENT_ARCHIVE:
        return scan_archive(sc, src, info, err);
    case CONTENT_UTF16LE:
    case CONTENT_UTF16BE: {
        /* Not a container: no depth. The UTF-8 it gives never starts with a BOM again. */
        struct source *u;
        if (source_utf16_new(src, what.content == CONTENT_UTF16BE, &u, err) < 0)
            return HL_ENOMEM;
        scan_kind_append(info, what.name);
        int r = scan_stream(sc, u, info, err);
        source_free(u);
        return r;
    }
    }
    return 0;
}

/* journalctl -o cat, a bare message stream: not one line had a header, so no rule scoped to a
 * program or host can match. Said once per input file, after all of its streams were read,
 * unless --program or --host already said what the text is; the advice only the first time
 * (a directory of non-syslog files would repeat it for each). */
static void warn_if_headerless(struct scan *sc, const char *label)
{
    bool warn = sc->input_records && sc->input_plain == sc->input_records && !sc->opt.program &&
                !sc->opt.host && sc->sink.warning;
    sc->input_records = sc->input_plain = 0;
    if (!warn)
        return;
    struct hl_err e;
    if (sc->told_headerless)
        hl_err_set(&e, HL_EFORMAT, label, "no line has a syslog or journal header (as above)");
    else
        hl_err_set(&e, HL_EFORMAT, label,
                   "no line has a syslog or journal header, so rules for a program or host "
                   "cannot match; for journalctl use -o short-iso or -o json, or say what the "
                   "text is with --program NAME (and --host NAME)");
    sc->told_headerless = true;
    sc->sink.warning(sc->sink.ctx, &e);
}

/* Reads one file (or stdin), named label in messages and rows when label is not path itself.
 * Same returns as scan_path(). */
static int scan_file(struct scan *sc, const char *path, const char *label, struct hl_err *err)
{
    struct source *src;
    int64_t mtime, size;
    struct hl_err open_err;
    hl_err_clear(&open_err);
    const struct source_wait wait = { .stop = sc->stop };
    if (source_open_file(path, &wait, &src, &mtime, &size, &open_err) < 0 ||
        (label != path && source_relabel(src, label, &open_err) < 0)) {
        if (open_err.code == HL_ENOMEM) {
            *err = open_err;
            return HL_ENOMEM;
        }
        snprintf(open_err.where, sizeof(open_err.where), "%s", label);
        scan_report_problem(sc, &open_err, false);
        /* Nothing was read, so nothing says what it is. */
        struct stream_info info = { .label = label, .kind = "unknown", .mtime = -1, .size = -1 };
        int r = record_unread(sc, &info, "error", open_err.msg, err);
        return r < 0 ? r : 1;
    }
    struct stream_info info = {
        .label = src->label,
        .mtime = mtime,
        .year_from = scan_year_source_ok(mtime) ? mtime : 0,
        .size = size,
    };
    sc->bottom = src;
    sc->input_records = sc->input_plain = 0;
    int r = scan_stream(sc, src, &info, err);
    if (r >= 0)
        warn_if_headerless(sc, src->label);
    sc->bytes_before += source_position(src);
    sc->bottom = NULL;
    source_free(src);
    return r;
}

/* Records a directory entry that is not read (a special file, a link to a directory, a
 * directory too deep) as skipped, and tells the sink. */
static int skip_entry(struct scan *sc, const char *label, const char *kind, const char *why,
                      struct hl_err *err)
{
    struct hl_err e;
    hl_err_set(&e, HL_EFORMAT, label, "%s", why);
    scan_report_problem(sc, &e, true);
    struct stream_info info = { .label = label, .mtime = -1, .size = -1 };
    snprintf(info.kind, sizeof(info.kind), "%s", kind);
    return record_unread(sc, &info, "skipped", why, err);
}

static const char *special_kind(mode_t mode)
{
    return S_ISFIFO(mode)   ? "fifo"
           : S_ISSOCK(mode) ? "socket"
           : S_ISCHR(mode)  ? "character device"
           : S_ISBLK(mode)  ? "block device"
                            : "special file";
}

/* Byte order, not the locale's collation: the same tree is read in the same order anywhere. */
static int cmp_names(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int not_dot(const struct dirent *d)
{
    return strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0;
}

#define SCAN_MAX_DIR_DEPTH 64 /* directory levels read, the argument's own counted */

/* Whether the file path names resolves inside directory root (a resolved path): a link in an
 * extracted bundle to the analyst's own /etc/passwd would otherwise read the analyst's files
 * as the customer's. */
static bool inside(const char *root, const char *path)
{
    char *real = realpath(path, NULL);
    size_t n = strlen(root);
    bool in = real && strncmp(real, root, n) == 0 && (real[n] == '/' || root[n - 1] == '/');
    free(real);
    return in;
}

/* Reads a directory tree (an extracted support bundle) in name order. Files are read like
 * arguments, each with its own modification time; a symbolic link to a file is read when the
 * file is inside root (the argument's resolved path), one to a directory is not followed (no
 * loops); fifos, sockets and devices are skipped with a row. Entries are labelled
 * "dir/sub/file", each name escaped as in archive labels. */
static int scan_dir(struct scan *sc, const char *root, const char *path, const char *label,
                    int depth, struct hl_err *err)
{
    struct dirent **names = NULL;
    int n = scandir(path, &names, not_dot, cmp_names);
    if (n < 0) {
        struct hl_err e;
        hl_err_errno(&e, HL_EIO, label, "cannot read directory");
        scan_report_problem(sc, &e, false);
        struct stream_info info = { .label = label, .kind = "directory", .mtime = -1, .size = -1 };
        int r = record_unread(sc, &info, "error", e.msg, err);
        return r < 0 ? r : 1;
    }
    int status = 0;
    for (int i = 0; i < n && status >= 0 && !scan_stopping(sc); i++) {
        char *child = NULL, *child_label = NULL;
        size_t len = strlen(path);
        bool slash = len && path[len - 1] == '/';
        if (asprintf(&child, "%s%s%s", path, slash ? "" : "/", names[i]->d_name) < 0)
            child = NULL;
        child_label = source_label_join(label, slash ? '\0' : '/', names[i]->d_name);
        if (!child || !child_label) {
            free(child);
            free(child_label);
            status = hl_err_set(err, HL_ENOMEM, label, "out of memory");
            break;
        }
        struct stat st;
        int r;
        bool link = false;
        if (lstat(child, &st) < 0) {
            struct hl_err e;
            hl_err_errno(&e, HL_EIO, child_label, "cannot stat");
            scan_report_problem(sc, &e, false);
            struct stream_info info = {
                .label = child_label, .kind = "unknown", .mtime = -1, .size = -1
            };
            r = record_unread(sc, &info, "error", e.msg, err);
            r = r < 0 ? r : 1;
        } else if (S_ISLNK(st.st_mode) && ((link = true), stat(child, &st) < 0)) {
            r = skip_entry(sc, child_label, "symlink", "dangling symbolic link", err);
        } else if (S_ISDIR(st.st_mode) && link) {
            r = skip_entry(sc, child_label, "symlink", "symbolic link to a directory, not followed",
                           err);
        } else if (link && !inside(root, child)) {
            r = skip_entry(sc, child_label, "symlink",
                           "symbolic link to a file outside the directory scanned, not followed",
                           err);
        } else if (S_ISDIR(st.st_mode)) {
            r = depth + 1 >= SCAN_MAX_DIR_DEPTH
                        ? skip_entry(sc, child_label, "directory",
                                     "directory nested deeper than 64 levels", err)
                        : scan_dir(sc, root, child, child_label, depth + 1, err);
        } else if (S_ISREG(st.st_mode)) {
            r = scan_file(sc, child, child_label, err);
        } else {
            char why[64];
            snprintf(why, sizeof(why), "%s, not a regular file", special_kind(st.st_mode));
            r = skip_entry(sc, child_label, special_kind(st.st_mode), why, err);
        }
        free(child);
        free(child_label);
        if (r < 0)
            status = r;
        else if (r == 1)
            status = 1;
    }
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return status;
}

int scan_path(struct scan *sc, const char *path, struct hl_err *err)
{
    struct stat st;
    /* A directory is walked; anything else (stdin, a file, a pipe the user named) is read. */
    int r;
    if (strcmp(path, "-") != 0 && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        char *root = realpath(path, NULL);
        if (!root)
            return hl_err_errno(err, HL_EIO, path, "cannot resolve directory");
        r = scan_dir(sc, root, path, path, 0, err);
        free(root);
    } else {
        r = scan_file(sc, path, path, err);
    }
    /* This input may have told the host of findings held back: show them now (without a
     * database, the end of the last input is the end of the scan). */
    int e = r < 0 ? 0 : scan_settle_held(sc, err);
    return e < 0 ? e : r;
}

int scan_text(struct scan *sc, const char *label, const char *text, size_t len, struct hl_err *err)
{
    struct source *src;
    int r = source_open_mem(text, len, label, &src, err);
    if (r < 0)
        return r;
    struct stream_info info = { .label = label, .mtime = -1, .size = (int64_t)len };
    r = scan_stream(sc, src, &info, err);
    source_free(src);
    int e = r < 0 ? 0 : scan_settle_held(sc, err);
    return e < 0 ? e : r;
}
