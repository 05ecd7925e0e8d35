/* Content detection from peeked bytes (libarchive's bid-by-peek, cut down): magic numbers
 * first, then a text-or-binary judgement on the first block. */
#include "source.h"

#include <string.h>

#define SNIFF_BYTES 4096 /* enough for a tar header (magic at 257) and a text judgement */

static bool starts(const unsigned char *p, size_t n, const char *magic, size_t mlen)
{
    return n >= mlen && memcmp(p, magic, mlen) == 0;
}

/* Old (v7) tar headers have no "ustar" magic; their checksum at offset 148 gives them away. */
static bool tar_checksum_ok(const unsigned char *p, size_t n)
{
    if (n < 512)
        return false;
    unsigned long want = 0;
    size_t i = 148;
    while (i < 156 && p[i] == ' ')
        i++;
    if (i == 156 || p[i] < '0' || p[i] > '7')
        return false;
    for (; i < 156 && p[i] >= '0' && p[i] <= '7'; i++)
        want = want * 8 + (unsigned long)(p[i] - '0');
    unsigned long sum = 0;
    for (size_t k = 0; k < 512; k++)
        sum += k >= 148 && k < 156 ? ' ' : p[k];
    return sum == want && p[0] != 0;
}

static const struct magic {
    const char *bytes;
    size_t len;
    enum content content;
    const char *name;
} magics[] = {
    { "\x1f\x8b", 2, CONTENT_GZIP, "gzip" },
    { "BZh", 3, CONTENT_COMPRESSED, "bzip2" },
    { "\xfd"
      "7zXZ\0",
      6, CONTENT_COMPRESSED, "xz" },
    { "\x28\xb5\x2f\xfd", 4, CONTENT_COMPRESSED, "zstd" },
    { "\x04\x22\x4d\x18", 4, CONTENT_COMPRESSED, "lz4" },
    { "\x5d\x00\x00", 3, CONTENT_COMPRESSED, "lzma" },
    { "\x1f\x9d", 2, CONTENT_COMPRESSED, "compress" },
    { "PK\x03\x04", 4, CONTENT_ARCHIVE, "zip" },
    { "PK\x05\x06", 4, CONTENT_ARCHIVE, "zip" },
    { "7z\xbc\xaf\x27\x1c", 6, CONTENT_ARCHIVE, "7z" },
    { "!<arch>\n", 8, CONTENT_ARCHIVE, "ar" },
    { "070701", 6, CONTENT_ARCHIVE, "cpio" },
    { "070707", 6, CONTENT_ARCHIVE, "cpio" },
    { "\xc7\x71", 2, CONTENT_ARCHIVE, "cpio" },
    { "Rar!\x1a\x07", 6, CONTENT_ARCHIVE, "rar" },
    /* Binary files a support bundle carries next to its logs. */
    { "\x7f"
      "ELF",
      4, CONTENT_BINARY, "ELF binary" },
    { "SQLite format 3", 16, CONTENT_BINARY, "SQLite database" },
    { "\x89PNG", 4, CONTENT_BINARY, "PNG image" },
    { "\xff\xd8\xff", 3, CONTENT_BINARY, "JPEG image" },
    { "%PDF-", 5, CONTENT_BINARY, "PDF document" },
    { "MZ", 2, CONTENT_BINARY, "DOS/Windows executable" },
    { "\xca\xfe\xba\xbe", 4, CONTENT_BINARY, "Java class file" },
    { "\x27\x05\x19\x56", 4, CONTENT_BINARY, "U-Boot firmware image" },
    { "hsqs", 4, CONTENT_BINARY, "squashfs image" },
};

/* Logs are text with the odd stray byte (a NUL run after a crash, latin-1 names); binaries
 * are full of control bytes. The thresholds only need to split those two populations. */
static bool looks_binary(const unsigned char *p, size_t n)
{
    size_t nul = 0, ctrl = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (c == 0)
            nul++;
        else if (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v' &&
                 c != 0x1b)
            ctrl++;
        else if (c == 0x7f)
            ctrl++;
    }
    return nul * 4 > n || (nul + ctrl) * 10 > n;
}

int source_sniff(struct source *s, struct sniff *ret, struct hl_err *err)
{
    const unsigned char *p;
    ssize_t got = source_peek(s, SNIFF_BYTES, &p, err);
    if (got < 0)
        return (int)got;
    size_t n = (size_t)got;
    if (n == 0) {
        *ret = (struct sniff){ CONTENT_EMPTY, "empty" };
        return 0;
    }
    /* A UTF-16 byte order mark. FF FE 00 00 would be UTF-32LE's, which is left alone. */
    if (n >= 2 && p[0] == 0xFF && p[1] == 0xFE && !(n >= 4 && p[2] == 0 && p[3] == 0)) {
        *ret = (struct sniff){ CONTENT_UTF16LE, "utf-16le" };
        return 0;
    }
    if (n >= 2 && p[0] == 0xFE && p[1] == 0xFF) {
        *ret = (struct sniff){ CONTENT_UTF16BE, "utf-16be" };
        return 0;
    }
    for (size_t i = 0; i < sizeof(magics) / sizeof(magics[0]); i++) {
        if (starts(p, n, magics[i].bytes, magics[i].len)) {
            /* "MZ" and "\x5d\0\0" are short: confirm they are not the start of a text line. */
            if (magics[i].content == CONTENT_BINARY && magics[i].len <= 2 && !looks_binary(p, n))
                continue;
            if (magics[i].content == CONTENT_COMPRESSED && magics[i].len == 3 &&
                magics[i].bytes[0] == 0x5d && !looks_binary(p, n))
                continue;
            *ret = (struct sniff){ magics[i].content, magics[i].name };
            return 0;
        }
    }
    if ((n >= 262 && memcmp(p + 257, "ustar", 5) == 0) || tar_checksum_ok(p, n)) {
        *ret = (struct sniff){ CONTENT_ARCHIVE, "tar" };
        return 0;
    }
    if (looks_binary(p, n))
        *ret = (struct sniff){ CONTENT_BINARY, "binary data" };
    else
        *ret = (struct sniff){ CONTENT_TEXT, "text" };
    return 0;
}

int decomp_check(const struct decomp_limits *lim, uint64_t in, uint64_t out, const char *label,
                 struct hl_err *err)
{
    if (out > lim->max_size)
        return hl_err_set(err, HL_ELIMIT, label,
                          "decompressed data exceeds %llu bytes (--max-size), stopped",
                          (unsigned long long)lim->max_size);
    if (out > lim->ratio_floor && out / (in ? in : 1) > lim->max_ratio)
        return hl_err_set(err, HL_ELIMIT, label,
                          "compression ratio above %llu:1 after %llu bytes, a likely "
                          "decompression bomb (--max-ratio), stopped",
                          (unsigned long long)lim->max_ratio, (unsigned long long)out);
    return 0;
}
