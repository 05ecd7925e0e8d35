/* Unit tests for the UTF-16 layer: both byte orders, the BOM dropped, surrogate pairs joined,
 * lone surrogates and an odd last byte as U+FFFD, and the same bytes whatever the read size
 * (a sniff peek may ask for one byte). */
#include <string.h>
#include <unistd.h>

#include "source.h"
#include "tap.h"

/* Decodes in[0..n) through the layer, reading step bytes at a time, into out; returns the
 * decoded length or -1. */
static ssize_t decode(const char *in, size_t n, size_t step, char *out, size_t cap)
{
    struct source *mem, *u;
    struct hl_err err;
    if (source_open_mem(in, n, "t", &mem, &err) < 0)
        return -1;
    if (source_utf16_new(mem, (unsigned char)in[0] == 0xFE, &u, &err) < 0)
        return -1;
    size_t len = 0;
    ssize_t r;
    while (len < cap && (r = source_read(u, out + len, HL_MIN(step, cap - len), &err)) > 0)
        len += (size_t)r;
    source_free(u);
    source_free(mem);
    return (ssize_t)len;
}

#define CHECK_DECODES(in, want)                                                     \
    do {                                                                            \
        static const size_t steps[] = { 1, 2, 3, 5, 4096 };                         \
        for (size_t i_ = 0; i_ < sizeof(steps) / sizeof(steps[0]); i_++) {          \
            char out_[64];                                                          \
            ssize_t n_ = decode(in, sizeof(in) - 1, steps[i_], out_, sizeof(out_)); \
            CHECK(n_ >= 0);                                                         \
            CHECK_STRN(out_, (size_t)(n_ < 0 ? 0 : n_), want);                      \
        }                                                                           \
    } while (0)

static void little_endian_with_bom_decodes(void)
{
    CHECK_DECODES("\xFF\xFEN\0T\0L\0S\0:\0 \0\xE9\0\n\0", "NTLS: \xC3\xA9\n");
}

static void big_endian_with_bom_decodes(void)
{
    CHECK_DECODES("\xFE\xFF\0N\0T\0L\0S\0\n", "NTLS\n");
}

static void surrogate_pair_becomes_one_code_point(void)
{
    /* U+1F511 is D83D DD11. */
    CHECK_DECODES("\xFF\xFE"
                  "a\0\x3D\xD8\x11\xDD"
                  "b\0",
                  "a\xF0\x9F\x94\x91"
                  "b");
}

static void lone_surrogates_become_replacement_characters(void)
{
    /* A low half alone, then a high half followed by a letter, then a high half at the end. */
    CHECK_DECODES("\xFF\xFE\x11\xDD"
                  "a\0\x3D\xD8"
                  "b\0\x3D\xD8",
                  "\xEF\xBF\xBD"
                  "a\xEF\xBF\xBD"
                  "b\xEF\xBF\xBD");
}

static void odd_last_byte_becomes_replacement_character(void)
{
    CHECK_DECODES("\xFF\xFEx\0y", "x\xEF\xBF\xBD");
}

/* UTF-16 arriving through a pipe with a code unit split across two writes: the layer hands
 * out what it decoded, pauses with the odd byte kept, and goes on when the rest comes. */
static void pipe_pauses_with_half_a_unit_kept(void)
{
    int fds[2];
    CHECK_INT(pipe(fds), 0);
    struct source *p = NULL, *u = NULL;
    struct hl_err err;
    CHECK_INT(source_open_fd(fds[0], false, "pipe", NULL, &p, &err), 0);
    CHECK_INT(source_utf16_new(p, false, &u, &err), 0);
    CHECK_INT(write(fds[1], "\xFF\xFEN\0T\0L", 7), 7);
    char out[16];
    size_t n = 0;
    ssize_t r;
    while ((r = source_read(u, out + n, sizeof(out) - n, &err)) > 0)
        n += (size_t)r;
    CHECK_INT(r, HL_PAUSE);
    CHECK_STRN(out, n, "NT");
    CHECK_INT(write(fds[1], "\0S\0\n\0", 5), 5);
    close(fds[1]);
    while ((r = source_read(u, out + n, sizeof(out) - n, &err)) > 0)
        n += (size_t)r;
    CHECK_INT(r, 0);
    CHECK_STRN(out, n, "NTLS\n");
    source_free(u);
    source_free(p);
}

static void sniff_knows_both_boms_and_not_utf32(void)
{
    static const struct {
        const char *bytes;
        size_t n;
        enum content want;
    } cases[] = {
        { "\xFF\xFEN\0o\0v\0", 8, CONTENT_UTF16LE },
        { "\xFE\xFF\0N\0o\0v", 8, CONTENT_UTF16BE },
        { "\xFF\xFE\0\0N\0\0\0", 8, CONTENT_BINARY },
        { "N\0o\0v\0 \0", 8, CONTENT_BINARY }, /* no BOM: left as it is */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct source *mem;
        struct hl_err err;
        struct sniff what;
        CHECK(source_open_mem(cases[i].bytes, cases[i].n, "t", &mem, &err) == 0);
        CHECK(source_sniff(mem, &what, &err) == 0);
        CHECK_INT(what.content, cases[i].want);
        source_free(mem);
    }
}

int main(void)
{
    TAP_RUN(little_endian_with_bom_decodes);
    TAP_RUN(big_endian_with_bom_decodes);
    TAP_RUN(surrogate_pair_becomes_one_code_point);
    TAP_RUN(lone_surrogates_become_replacement_characters);
    TAP_RUN(odd_last_byte_becomes_replacement_character);
    TAP_RUN(sniff_knows_both_boms_and_not_utf32);
    TAP_RUN(pipe_pauses_with_half_a_unit_kept);
    return tap_done();
}
