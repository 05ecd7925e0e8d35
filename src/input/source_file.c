/* The bottom layer: a file descriptor (a file, stdin, a pipe). Reads go straight into the
 * caller's buffer. A descriptor that may block gets the ops named "pipe": it waits in poll()
 * with a timeout, never in read(), and returns HL_PAUSE when nothing came, first at once and
 * then after each SOURCE_WAIT_MS of waiting, so that its consumer can act on the pause
 * (`journalctl -f` input commits its findings while it waits); it notices a stop request even
 * when the signal came just before the wait. */
#include "source.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

struct file_impl {
    int fd;                  /* the descriptor read from */
    bool borrowed;           /* true when the fd is not ours to close (stdin) */
    bool may_block;          /* pipe, socket or tty: poll before reading */
    struct source_wait wait; /* how a descriptor that may block stops */
    bool paused;             /* the last read returned HL_PAUSE: the next one waits first */
    bool draining;           /* stop was seen: reading what the pipe held then */
    uint64_t drain_left;     /* bytes still to hand out while draining */
};

static bool stop_set(const struct file_impl *f)
{
    return f->wait.stop && *f->wait.stop;
}

static int poll_in(int fd, int timeout_ms)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    return poll(&pfd, 1, timeout_ms);
}

static ssize_t interrupted(struct source *s, struct hl_err *err)
{
    errno = EINTR;
    return hl_err_errno(err, HL_EIO, s->label, "read interrupted");
}

/* Waits for data (or EOF) on the pipe: not at all after data, SOURCE_WAIT_MS after a pause.
 * Returns 1 when a read will not block, 0 when a stop is requested, HL_PAUSE when nothing
 * came. */
static int pipe_wait(struct file_impl *f)
{
    if (stop_set(f))
        return 0;
    int n = poll_in(f->fd, f->paused ? SOURCE_WAIT_MS : 0);
    if (n > 0 || (n < 0 && errno != EINTR)) {
        f->paused = false;
        return 1; /* ready, or a poll error that read() will report */
    }
    if (stop_set(f))
        return 0;
    f->paused = true;
    return HL_PAUSE;
}

static ssize_t file_read(struct source *s, void *buf, size_t cap, struct hl_err *err)
{
    struct file_impl *f = s->impl;
    if (f->may_block) {
        if (!f->draining && stop_set(f)) {
            /* Hand out what was written before the stop, and no more. */
            int pending = 0;
            f->draining = true;
            f->drain_left = ioctl(f->fd, FIONREAD, &pending) == 0 && pending > 0 ? pending : 0;
        }
        if (f->draining) {
            if (!f->drain_left)
                return interrupted(s, err);
            cap = (size_t)HL_MIN(cap, f->drain_left);
        } else {
            int w = pipe_wait(f);
            if (w == 0)
                return file_read(s, buf, cap, err); /* stop came while waiting: drain */
            if (w < 0)
                return w;
        }
    }
    for (;;) {
        ssize_t n = read(f->fd, buf, cap);
        if (n >= 0) {
            if (f->draining)
                f->drain_left = n ? f->drain_left - (uint64_t)n : 0;
            return n;
        }
        /* A regular file is not interrupted; a pipe only after poll said it is ready, so a
         * signal here is the user stopping `scan` (SIGINT/SIGTERM have no SA_RESTART). The
         * caller tells that apart by sys_errno. */
        if (errno == EINTR)
            return interrupted(s, err);
        return hl_err_errno(err, HL_EIO, s->label, "cannot read at byte %llu",
                            (unsigned long long)s->offset);
    }
}

static bool pipe_ready(struct source *s)
{
    struct file_impl *f = s->impl;
    return poll_in(f->fd, 0) != 0;
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
    .ready = pipe_ready,
};

bool source_is_pipe(const struct source *s)
{
    return s->ops == &pipe_ops;
}

uint64_t source_position(const struct source *s)
{
    if (s->ops == &pipe_ops)
        return s->offset;
    if (s->ops != &file_ops)
        return 0;
    const struct file_impl *f = s->impl;
    off_t pos = lseek(f->fd, 0, SEEK_CUR);
    return pos > 0 ? (uint64_t)pos : 0;
}

int source_open_fd(int fd, bool borrow_fd, const char *label, const struct source_wait *wait,
                   struct source **ret, struct hl_err *err)
{
    struct file_impl *f = calloc(1, sizeof(*f));
    if (!f)
        return hl_err_set(err, HL_ENOMEM, label, "out of memory");
    struct stat st;
    f->fd = fd;
    f->borrowed = borrow_fd;
    f->may_block = fstat(fd, &st) == 0 && !S_ISREG(st.st_mode);
    if (wait)
        f->wait = *wait;
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

int source_open_file(const char *path, const struct source_wait *wait, struct source **ret,
                     int64_t *ret_mtime, int64_t *ret_size, struct hl_err *err)
{
    if (path[0] == '-' && path[1] == '\0') {
        *ret_mtime = -1;
        *ret_size = -1;
        return source_open_fd(STDIN_FILENO, true, "<stdin>", wait, ret, err);
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
    return source_open_fd(fd, false, path, wait, ret, err);
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
