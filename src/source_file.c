/* The bottom layer: a file descriptor (a file, stdin, a pipe). Reads go straight into the
 * caller's buffer; before a read that would block, the idle hook runs so that `journalctl -f`
 * input commits its findings while it waits. A descriptor that may block gets the ops named
 * "pipe": the layers above must read it from the scan thread, where the idle hook may touch
 * the database (source_gzip.c reads "file" layers from its own thread). */
#include "source.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct file_impl {
    int fd;               /* the descriptor read from */
    bool borrowed;        /* true when the fd is not ours to close (stdin) */
    bool may_block;       /* pipe, socket or tty: poll before reading */
    source_idle_fn *idle; /* borrowed: hook run before a blocking read, or NULL */
    void *idle_ctx;       /* borrowed: argument for idle */
};

static ssize_t file_read(struct source *s, void *buf, size_t cap, struct hl_err *err)
{
    struct file_impl *f = s->impl;
    if (f->may_block && f->idle) {
        struct pollfd pfd = { .fd = f->fd, .events = POLLIN };
        if (poll(&pfd, 1, 0) == 0)
            f->idle(f->idle_ctx);
    }
    for (;;) {
        ssize_t n = read(f->fd, buf, cap);
        if (n >= 0)
            return n;
        /* EINTR is not retried: a signal here is the user stopping `scan` (SIGINT/SIGTERM
         * are installed without SA_RESTART), and the caller tells that apart by sys_errno. */
        if (errno == EINTR)
            return hl_err_errno(err, HL_EIO, s->label, "read interrupted");
        return hl_err_errno(err, HL_EIO, s->label, "cannot read at byte %llu",
                            (unsigned long long)s->offset);
    }
}

static void file_close(struct source *s)
{
    struct file_impl *f = s->impl;
    if (f && !f->borrowed)
        close(f->fd);
    free(f);
}

static const struct source_ops file_ops = {
    .name = "file",
    .read = file_read,
    .close = file_close,
};

static const struct source_ops pipe_ops = {
    .name = "pipe",
    .read = file_read,
    .close = file_close,
};

int source_open_fd(int fd, bool borrow_fd, const char *label, source_idle_fn *idle, void *idle_ctx,
                   struct source **ret, struct hl_err *err)
{
    struct file_impl *f = calloc(1, sizeof(*f));
    if (!f)
        return hl_err_set(err, HL_ENOMEM, label, "out of memory");
    struct stat st;
    f->fd = fd;
    f->borrowed = borrow_fd;
    f->may_block = fstat(fd, &st) == 0 && !S_ISREG(st.st_mode);
    f->idle = idle;
    f->idle_ctx = idle_ctx;
    struct source *s = source_new(f->may_block ? &pipe_ops : &file_ops, f, NULL, label);
    if (!s) {
        if (!borrow_fd)
            close(fd);
        free(f);
        return hl_err_set(err, HL_ENOMEM, label, "out of memory");
    }
    *ret = s;
    return 0;
}

int source_open_file(const char *path, source_idle_fn *idle, void *idle_ctx, struct source **ret,
                     int64_t *ret_mtime, int64_t *ret_size, struct hl_err *err)
{
    if (path[0] == '-' && path[1] == '\0') {
        *ret_mtime = -1;
        *ret_size = -1;
        return source_open_fd(STDIN_FILENO, true, "<stdin>", idle, idle_ctx, ret, err);
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return hl_err_errno(err, HL_EIO, path, "cannot open");
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int r = hl_err_errno(err, HL_EIO, path, "cannot stat");
        close(fd);
        return r;
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return hl_err_set(err, HL_EIO, path, "is a directory");
    }
    *ret_mtime = S_ISREG(st.st_mode) ? (int64_t)st.st_mtime : -1;
    *ret_size = S_ISREG(st.st_mode) ? (int64_t)st.st_size : -1;
    return source_open_fd(fd, false, path, idle, idle_ctx, ret, err);
}

struct mem_impl {
    const char *data; /* borrowed */
    size_t len;
    size_t pos;
};

static ssize_t mem_read(struct source *s, void *buf, size_t cap, struct hl_err *err)
{
    (void)err;
    struct mem_impl *m = s->impl;
    size_t n = HL_MIN(cap, m->len - m->pos);
    memcpy(buf, m->data + m->pos, n);
    m->pos += n;
    return (ssize_t)n;
}

static void mem_close(struct source *s)
{
    free(s->impl);
}

static const struct source_ops mem_ops = {
    .name = "memory",
    .read = mem_read,
    .close = mem_close,
};

int source_open_mem(const char *data, size_t len, const char *label, struct source **ret,
                    struct hl_err *err)
{
    struct mem_impl *m = calloc(1, sizeof(*m));
    if (!m)
        return hl_err_set(err, HL_ENOMEM, label, "out of memory");
    m->data = data;
    m->len = len;
    struct source *s = source_new(&mem_ops, m, NULL, label);
    if (!s) {
        free(m);
        return hl_err_set(err, HL_ENOMEM, label, "out of memory");
    }
    *ret = s;
    return 0;
}
