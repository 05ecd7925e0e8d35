/* Return-code names and numbers that Luna HSM software prints: PKCS#11 CKR_* codes (OASIS
 * PKCS#11 v2.40/3.0, values are public) and Thales Luna LUNA_RET_* firmware codes.
 *
 * parse_luna uses these to turn a name into its hex code and a bare hex code into a name, so
 * a finding carries both whichever of the two the log line printed. */
#ifndef HSMLOG_LUNA_CODES_H
#define HSMLOG_LUNA_CODES_H

#include <stddef.h>
#include <stdint.h>

enum luna_code_family {
    CODE_CKR,      /* PKCS#11 CK_RV values: CKR_PIN_INCORRECT = 0x000000A0 */
    CODE_LUNA_RET, /* Luna firmware result codes: LUNA_RET_... */
};

/* One row of the code table. Invariant: within one family, names and values are unique. */
struct luna_code {
    enum luna_code_family family; /* which table the row belongs to */
    const char *name;             /* borrowed: static string, e.g. "CKR_PIN_INCORRECT" */
    uint32_t value;               /* numeric code as the HSM reports it */
};

/* Returns the row whose name is exactly name[0..len) (case-sensitive, as printed in logs),
 * or NULL when the name is not in the table. */
const struct luna_code *luna_code_by_name(const char *name, size_t len);

/* Returns the row of the given family with this value, or NULL when there is none. */
const struct luna_code *luna_code_by_value(enum luna_code_family family, uint32_t value);

/* Returns the number of rows in the table (for tests). */
size_t luna_code_count(void);

#endif
