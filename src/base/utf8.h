/* UTF-8 validation for text that leaves hsmlog (JSON output, SQLite TEXT columns). Log lines
 * are bytes and are matched as bytes; only what is shown or stored is made valid. */
#ifndef HSMLOG_UTF8_H
#define HSMLOG_UTF8_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "common.h"

/* Returns the length (1-4) of the well-formed UTF-8 sequence at p[0..n), or 0 when p does
 * not start one (stray continuation byte, overlong form, surrogate, truncated sequence). */
size_t utf8_seq_len(const unsigned char *p, size_t n);

/* Returns true when the well-formed sequence p[0..len) (len from utf8_seq_len()) is one a
 * terminal may act on: a C1 control (U+0080..U+009F; ECMA-48 gives U+009B the meaning of
 * ESC [), or a bidi embedding, override or isolate (U+202A..U+202E, U+2066..U+2069) that
 * reorders what is shown ("Trojan Source", CVE-2021-42574). */
bool utf8_acts_on_terminal(const unsigned char *p, size_t len);

/* Returns 1 when p[0..n) is entirely well-formed UTF-8 without NUL bytes, else 0. */
int utf8_is_clean(const char *p, size_t n);

/* Appends p[0..n) to out with every invalid byte and every NUL replaced by U+FFFD.
 * Fails with HL_ENOMEM or HL_ELIMIT from buf_add(). */
HL_NODISCARD int utf8_sanitize(struct buf *out, const char *p, size_t n);

#endif
