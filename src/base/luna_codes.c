/* Lookups in the code table behind luna_codes.h (its rows, with their sources, are in
 * luna_code_table.c): PKCS#11 CK_RV names and Luna firmware LUNA_RET_* names with their
 * numbers. parse_luna asks it both ways, so a finding carries the name and the hex code
 * whichever of the two the log line printed. The rows are sorted by name for a binary search;
 * value lookups scan them, which is cheap at a few hundred rows. */
#include "luna_codes.h"

#include <string.h>

#include "common.h"

/* The rows (luna_code_table.c), sorted by name in byte order. */
extern const struct luna_code luna_code_table[];
extern const size_t luna_code_table_len;

/* Compares the slice name[0..len) with a NUL-terminated row name in strcmp order, so the
 * binary search below agrees with the order the table is sorted in. */
static int name_cmp(const char *name, size_t len, const char *row)
{
    size_t row_len = strlen(row);
    int c = memcmp(name, row, HL_MIN(len, row_len));

    if (c != 0)
        return c;
    return (len > row_len) - (len < row_len);
}

const struct luna_code *luna_code_by_name(const char *name, size_t len)
{
    size_t lo = 0, hi = luna_code_table_len;

    if (!name)
        return NULL;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = name_cmp(name, len, luna_code_table[mid].name);

        if (c == 0)
            return &luna_code_table[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const struct luna_code *luna_code_by_value(enum luna_code_family family, uint32_t value)
{
    for (size_t i = 0; i < luna_code_table_len; i++) {
        if (luna_code_table[i].value == value && luna_code_table[i].family == family)
            return &luna_code_table[i];
    }
    return NULL;
}

size_t luna_code_count(void)
{
    return luna_code_table_len;
}
