/* Terminal concerns of the command layer, kept in one place so every command decides the same
 * way: when to colour (a terminal, NO_COLOR, --color), the severity colours, making text from
 * log lines safe to show (a line can carry ESC sequences that would rewrite the operator's
 * screen), and the progress line a long scan draws on stderr.
 *
 * Core modules do not use this: they never print. */
#ifndef HSMLOG_TERM_H
#define HSMLOG_TERM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "buf.h"
#include "common.h"
#include "rule.h"

/* A three-way switch: --color=auto|always|never, --progress/--no-progress. */
enum term_when {
    TERM_AUTO,
    TERM_ALWAYS,
    TERM_NEVER,
};

/* Parses "auto", "always" or "never"; returns 0 or -1 when unknown. */
int term_when_parse(const char *s, enum term_when *ret);

/* Returns whether output to fd gets colour: ALWAYS yes, NEVER no; AUTO when fd is a terminal,
 * NO_COLOR is unset or empty (https://no-color.org) and TERM is not "dumb". */
bool term_use_color(enum term_when when, int fd);

/* Returns whether a progress line goes to fd: ALWAYS yes, NEVER no; AUTO when fd is a
 * terminal and not quiet. */
bool term_use_progress(enum term_when when, int fd, bool quiet);

/* Returns the width of the terminal fd writes to (TIOCGWINSZ, else $COLUMNS, else 80), or 0
 * when fd is not a terminal. */
int term_width(int fd);

/* Returns the SGR escape that colours severity s ("" for info, which stays plain). */
const char *term_severity_sgr(enum severity s);

#define TERM_SGR_RESET "\x1b[0m"

/* Appends p[0..n) to out with everything a terminal would act on made visible: C0 controls
 * other than tab, DEL, C1 controls (U+0080..U+009F, CSI among them), Unicode bidi overrides,
 * and bytes that are not UTF-8, each as \xNN per byte. Backslashes are left alone: the result
 * is for eyes, not for parsing back. Fails with HL_ENOMEM or HL_ELIMIT from buf_add(). */
HL_NODISCARD int term_escape(struct buf *out, const char *p, size_t n);

/* As term_escape(), and a tab too (\x09): for a table cell, where a tab breaks the columns. */
HL_NODISCARD int term_escape_cell(struct buf *out, const char *p, size_t n);

/* Writes p[0..n) escaped as term_escape() does to fp. Returns 0 or EOF on a write error. */
int term_fput_escaped(FILE *fp, const char *p, size_t n);

/* Formats the progress text, without the \r and clear that draw it: "12.0 MiB of 40.0 MiB
 * (30%), 85.1 MiB/s  bundle.tgz!var/log/messages". total < 0 means unknown (stdin); label may
 * be NULL. The text is cut to width - 1 columns (the front of the label goes first) and the
 * label is escaped. Fails with HL_ENOMEM. */
HL_NODISCARD int term_progress_format(struct buf *out, uint64_t done, int64_t total, double seconds,
                                      const char *label, size_t width);

/* The progress line of one long-running command. Invariants: nothing is drawn when !enabled;
 * shown says a line is on the screen, so output that follows must term_progress_clear()
 * first. */
struct term_progress {
    int fd;           /* where it is drawn: stderr */
    bool enabled;     /* decided once by term_use_progress() */
    bool shown;       /* a progress line is on the screen now */
    int64_t start_ns; /* CLOCK_MONOTONIC at init */
    int64_t drawn_ns; /* when the line was last drawn, 0 never */
    struct buf line;  /* owned: the escape sequence and text written */
};

#define TERM_PROGRESS_DELAY_NS    (500 * 1000000LL) /* short scans draw nothing */
#define TERM_PROGRESS_INTERVAL_NS (250 * 1000000LL) /* at most four redraws a second */

void term_progress_init(struct term_progress *p, int fd, bool enabled);

/* Returns true when term_progress_draw() would draw now: enabled, past the first delay and
 * the redraw interval. Cheap: one clock read. */
bool term_progress_due(const struct term_progress *p);

/* Draws the line (\r, text, clear to end of line) if due. */
void term_progress_draw(struct term_progress *p, uint64_t done, int64_t total, const char *label);

/* Erases the line if one is shown, so that other output starts at column 0. */
void term_progress_clear(struct term_progress *p);

/* Clears the line and frees the buffer. */
void term_progress_release(struct term_progress *p);

#endif
