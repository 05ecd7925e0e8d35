/* Just enough JSON for hsmlog: writing escaped strings (output, findings.fields) and reading
 * the flat objects journalctl -o json prints, one per line. Not a general JSON library. */
#ifndef HSMLOG_JSON_H
#define HSMLOG_JSON_H

#include <stddef.h>

#include "buf.h"
#include "common.h"
#include "strv.h"

/* Appends p[0..n) as a quoted JSON string. Control bytes are escaped, invalid UTF-8 and NUL
 * become U+FFFD, so the result is always valid JSON. Fails with buf_add()'s codes. */
HL_NODISCARD int json_put_string(struct buf *out, const char *p, size_t n);

/* Appends v[0..n) as a JSON array of strings (each through json_put_string()), leaving out
 * NULL entries. Fails with buf_add()'s codes. */
HL_NODISCARD int json_put_strings(struct buf *out, const char *const *v, size_t n);

/* Appends the JSON text p[0..n), exactly one value with optional white space around it, to out
 * re-written: each string through json_put_string() (so escaped as every string hsmlog writes),
 * numbers, true, false, null and the structure as they are, white space dropped. Returns 0, or
 * HL_EFORMAT when the text is not one valid JSON value (RFC 8259) nested at most 64 deep (out
 * is then as it was), or buf_add()'s codes. */
HL_NODISCARD int json_put_value(struct buf *out, const char *p, size_t n);

/* Cursor over the members of one JSON object. Borrowed text: valid while the caller's line is. */
struct json_iter {
    const char *p;   /* borrowed: next unread byte */
    const char *end; /* borrowed: one past the last byte of the text */
};

/* Starts iterating over the object in text (leading spaces allowed). Returns 0, or
 * HL_EFORMAT when text does not start with '{'. */
HL_NODISCARD int json_iter_begin(struct json_iter *it, struct strv text);

/* Reads the next member. Returns 1 with ret_key (the key's raw bytes between the quotes) and
 * ret_value (the raw JSON value token: "string" with quotes, [array], number, null...), 0 after
 * the last member, HL_EFORMAT on malformed or too deeply nested input. */
HL_NODISCARD int json_iter_next(struct json_iter *it, struct strv *ret_key, struct strv *ret_value);

/* Appends the bytes a raw value stands for: a string with its escapes decoded (\uXXXX as
 * UTF-8, surrogate pairs joined), an array of numbers 0..255 as those bytes (journald's form
 * for non-UTF-8 messages), a number or true/false as its text, null as nothing. Returns 0, or
 * HL_EFORMAT for anything else, or buf_add()'s codes. */
HL_NODISCARD int json_value_decode(struct strv value, struct buf *out);

#endif
