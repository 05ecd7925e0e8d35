/* Unit tests for luna_codes: known CKR_ and LUNA_RET_ pairs resolve both ways, names must
 * match in full, and the table keeps its invariant (names and values unique per family, rows
 * sorted so every name is found). */
#include <stdint.h>
#include <string.h>

#include "luna_codes.h"
#include "tap.h"

/* Checks that name and value resolve to the same row of the given family. */
static void check_pair(enum luna_code_family family, const char *name, uint32_t value)
{
    const struct luna_code *by_name = luna_code_by_name(name, strlen(name));
    const struct luna_code *by_value = luna_code_by_value(family, value);

    CHECK(by_name != NULL);
    CHECK(by_value != NULL);
    CHECK(by_name == by_value);
    if (by_name) {
        CHECK_INT(by_name->family, family);
        CHECK_INT(by_name->value, value);
    }
    if (by_value)
        CHECK_STR(by_value->name, name);
}

static void ckr_known_pairs_resolve_both_ways(void)
{
    check_pair(CODE_CKR, "CKR_OK", 0x0);
    check_pair(CODE_CKR, "CKR_DEVICE_ERROR", 0x30);
    check_pair(CODE_CKR, "CKR_PIN_INCORRECT", 0xA0);
    check_pair(CODE_CKR, "CKR_PIN_LOCKED", 0xA4);
    check_pair(CODE_CKR, "CKR_TOKEN_NOT_PRESENT", 0xE0);
    check_pair(CODE_CKR, "CKR_USER_NOT_LOGGED_IN", 0x101);
    check_pair(CODE_CKR, "CKR_OPERATION_CANCEL_FAILED", 0x202);
    check_pair(CODE_CKR, "CKR_VENDOR_DEFINED", 0x80000000u);
}

/* OASIS PKCS#11 v3.2 (published/3-02/pkcs11t.h) codes: "#define CKR_PENDING 0x00000204UL". */
static void ckr_v3_2_codes_resolve_both_ways(void)
{
    check_pair(CODE_CKR, "CKR_KEY_EXHAUSTED", 0x203);
    check_pair(CODE_CKR, "CKR_PENDING", 0x204);
    check_pair(CODE_CKR, "CKR_OPERATION_NOT_VALIDATED", 0x207);
    check_pair(CODE_CKR, "CKR_PARAMETER_SET_NOT_SUPPORTED", 0x209);
}

/* Luna's vendor codes as pycryptoki's defines.py gives them, CKR_VENDOR_DEFINED + n:
 * "CKR_USER_LOCKED_OUT = CKR_VENDOR_DEFINED + 0x07", "CKR_HSM_TAMPERED = CKR_VENDOR_DEFINED +
 * 0x76", "CKR_BUSY = CKR_VENDOR_DEFINED + 0x1604" (the largest). */
static void ckr_vendor_codes_resolve_both_ways(void)
{
    check_pair(CODE_CKR, "CKR_USER_LOCKED_OUT", 0x80000007u);
    check_pair(CODE_CKR, "CKR_SO_LOGIN_FAILURE_THRESHOLD", 0x8000001Cu);
    check_pair(CODE_CKR, "CKR_PARTITION_DISABLED", 0x80000020u);
    check_pair(CODE_CKR, "CKR_MTK_ZEROIZED", 0x80000026u);
    check_pair(CODE_CKR, "CKR_AUDIT_LOGIN_TIMEOUT_IN_PROGRESS", 0x8000003Bu);
    check_pair(CODE_CKR, "CKR_AUDIT_LOGIN_FAILURE_THRESHOLD", 0x8000003Cu);
    check_pair(CODE_CKR, "CKR_HSM_TAMPERED", 0x80000076u);
    check_pair(CODE_CKR, "CKR_OBJECT_TYPE_INVALID", 0x80000112u);
    check_pair(CODE_CKR, "CKR_BUSY", 0x80001604u);
    /* Defined by Luna below the vendor range. */
    check_pair(CODE_CKR, "CKR_INSERTION_CALLBACK_NOT_SUPPORTED", 0x141);
    /* From the Luna SDK's cryptoki_v2.h only: "CKR_HSM_RESTART_REQUIRED (CKR_VENDOR_DEFINED +
     * 0x8d)", the FM codes around it. The alias of 0x8000006E there keeps pycryptoki's name. */
    check_pair(CODE_CKR, "CKR_CONFIG_CHANGE_ILLEGAL", 0x80000077u);
    check_pair(CODE_CKR, "CKR_FM_SMFS_INACTIVE", 0x8000008Cu);
    check_pair(CODE_CKR, "CKR_HSM_RESTART_REQUIRED", 0x8000008Du);
    check_pair(CODE_CKR, "CKR_FM_CFG_ALLOWEDFLAG_DISABLED", 0x8000008Eu);
    check_pair(CODE_CKR, "CKR_STM_CMD_NON_TRANSPORT", 0x8000006Eu);
}

/* Pairs as Thales publishes them: pycryptoki's retcodes.py (in signed decimal there, e.g.
 * 68107 and -2147482613) and, for LUNA_RET_OPERATION_RESTRICTED, the Luna 7 "System
 * Operational and Error Messages" page ("10A0B"). */
static void luna_ret_known_pairs_resolve_both_ways(void)
{
    check_pair(CODE_LUNA_RET, "LUNA_RET_OK", 0x0);
    check_pair(CODE_LUNA_RET, "LUNA_RET_DEVICE_ERROR", 0x00300000);
    check_pair(CODE_LUNA_RET, "LUNA_RET_UM_PIN_INCORRECT", 0x00A00000);
    check_pair(CODE_LUNA_RET, "LUNA_RET_SM_ACCESS_DOES_NOT_VALIDATE", 0x8000040Bu);
    check_pair(CODE_LUNA_RET, "LUNA_RET_OPERATION_RESTRICTED", 0x00010A0B);
    check_pair(CODE_LUNA_RET, "LUNA_RET_CANNOT_PERFORM_OPERATION_TWICE", 0x00010A0C);
    check_pair(CODE_LUNA_RET, "LUNA_RET_KEY_UNEXTRACTABLE", 0x006A0000);
    check_pair(CODE_LUNA_RET, "LUNA_RET_SIGNING_KEY_MUST_BE_LOCAL", 0x00680001);
    /* The lockout, tamper and zeroization codes the rule pack names (retcodes.py:
     * LUNA_RET_AUDIT_LOGIN_FAILURE_THRESHOLD = -2147480310, LUNA_RET_HSM_TAMPERED =
     * -2147482315, LUNA_RET_MTK_ZEROIZED = -2147482319, LUNA_RET_TOKEN_LOCKED_OUT_STC =
     * 3145994, LUNA_RET_UM_PIN_INCORRECT_CONTAINER_LOCKED = 10485762). */
    check_pair(CODE_LUNA_RET, "LUNA_RET_AUDIT_LOGIN_FAILURE_THRESHOLD", 0x80000D0Au);
    check_pair(CODE_LUNA_RET, "LUNA_RET_AUDIT_LOGIN_TIMEOUT_IN_PROGRESS", 0x80000D09u);
    check_pair(CODE_LUNA_RET, "LUNA_RET_HSM_TAMPERED", 0x80000535u);
    check_pair(CODE_LUNA_RET, "LUNA_RET_MTK_ZEROIZED", 0x80000531u);
    check_pair(CODE_LUNA_RET, "LUNA_RET_TOKEN_LOCKED_OUT_STC", 0x0030010A);
    check_pair(CODE_LUNA_RET, "LUNA_RET_UM_PIN_INCORRECT_CONTAINER_LOCKED", 0x00A00002);
    check_pair(CODE_LUNA_RET, "LUNA_RET_CONTAINER_LOCKED", 0x80000009u);
    check_pair(CODE_LUNA_RET, "LUNA_RET_SO_LOGIN_FAILURE_THRESHOLD", 0x0030000F);
}

static void unpublished_luna_ret_names_are_absent(void)
{
    /* No public Thales source gives this name a number, so the table must not carry it. */
    CHECK(luna_code_by_name("LUNA_RET_SP_TIMEOUT", strlen("LUNA_RET_SP_TIMEOUT")) == NULL);
    /* Nor this one, which no Thales source has at all (the lockout codes are above). */
    CHECK(luna_code_by_name("LUNA_RET_UM_PIN_LOCKED", strlen("LUNA_RET_UM_PIN_LOCKED")) == NULL);
    /* retcodes.py gives it MM_NOT_ENOUGH_MEMORY's number; a number names one row. */
    const struct luna_code *c = luna_code_by_value(CODE_LUNA_RET, 0x00310000);
    CHECK_STR(c ? c->name : NULL, "LUNA_RET_MM_NOT_ENOUGH_MEMORY");
}

static void same_value_resolves_per_family(void)
{
    const struct luna_code *ckr = luna_code_by_value(CODE_CKR, 0);
    const struct luna_code *luna = luna_code_by_value(CODE_LUNA_RET, 0);

    CHECK_STR(ckr ? ckr->name : NULL, "CKR_OK");
    CHECK_STR(luna ? luna->name : NULL, "LUNA_RET_OK");
    /* 0xA0 is a CK_RV; no firmware code has that number. */
    CHECK(luna_code_by_value(CODE_LUNA_RET, 0xA0) == NULL);
}

static void unknown_names_and_values_return_null(void)
{
    CHECK(luna_code_by_name("CKR_NO_SUCH_CODE", strlen("CKR_NO_SUCH_CODE")) == NULL);
    CHECK(luna_code_by_name("LUNA_RET_NO_SUCH_CODE", strlen("LUNA_RET_NO_SUCH_CODE")) == NULL);
    CHECK(luna_code_by_name("ckr_pin_incorrect", strlen("ckr_pin_incorrect")) == NULL);
    CHECK(luna_code_by_name("", 0) == NULL);
    CHECK(luna_code_by_name(NULL, 0) == NULL);
    CHECK(luna_code_by_value(CODE_CKR, 0x7FFFFFFFu) == NULL);
    CHECK(luna_code_by_value(CODE_LUNA_RET, 0xFFFFFFFFu) == NULL);
}

static void name_must_match_in_full(void)
{
    /* Log text is not NUL-terminated where the name ends: only len bytes count. */
    const char *line = "CKR_PIN_INCORRECT (0xa0) on slot 1";
    const struct luna_code *c = luna_code_by_name(line, strlen("CKR_PIN_INCORRECT"));

    CHECK_STR(c ? c->name : NULL, "CKR_PIN_INCORRECT");
    /* A prefix of a name is not that name. */
    CHECK(luna_code_by_name("CKR_PIN_INCORRECT", 7) == NULL);
    CHECK(luna_code_by_name("CKR_PIN_INCORRECT", 16) == NULL);
    /* Nor is a longer word that starts with a name; the slice decides where the name ends. */
    CHECK(luna_code_by_name("LUNA_RET_OKAY", strlen("LUNA_RET_OKAY")) == NULL);
    c = luna_code_by_name("LUNA_RET_OKAY", strlen("LUNA_RET_OK"));
    CHECK_STR(c ? c->name : NULL, "LUNA_RET_OK");
}

/* Counts the rows of one family reachable through luna_code_by_value over [lo, hi], checking
 * that each is also the row luna_code_by_name returns for its own name. */
static size_t walk_values(enum luna_code_family family, uint32_t lo, uint32_t hi)
{
    size_t found = 0;

    for (uint32_t v = lo;; v++) {
        const struct luna_code *c = luna_code_by_value(family, v);

        if (c) {
            found++;
            CHECK_INT(c->family, family);
            CHECK_INT(c->value, v);
            CHECK(luna_code_by_name(c->name, strlen(c->name)) == c);
        }
        if (v == hi)
            break;
    }
    return found;
}

static void table_is_unique_per_family(void)
{
    /* A LUNA_RET value is a class in its upper 16 bits and a detail number (below 0x1000 in
     * this table) in the lower 16. The class is a CK_RV, 0x8000 for vendor codes, or one of
     * three CK_RVs withdrawn before PKCS#11 v2.0 that the firmware still uses. */
    static const uint32_t extra_classes[] = { 0x04, 0x61, 0xB2, 0x8000 };
    size_t found = 0;

    /* Walking those values reaches each row once. A duplicate value hides a row and a
     * mis-sorted or duplicate name fails the by-name check, so either shows up as a count
     * below luna_code_count(); so does a row outside the walk (then widen the walk). */
    found += walk_values(CODE_CKR, 0x80000000u, 0x80001FFFu);
    for (uint32_t v = 0; v < 0x1000; v++) {
        if (luna_code_by_value(CODE_CKR, v) == NULL)
            continue;
        found += walk_values(CODE_CKR, v, v);
        found += walk_values(CODE_LUNA_RET, v << 16, (v << 16) | 0xFFF);
    }
    for (size_t i = 0; i < sizeof(extra_classes) / sizeof(extra_classes[0]); i++) {
        uint32_t upper = extra_classes[i] << 16;

        CHECK(luna_code_by_value(CODE_CKR, extra_classes[i]) == NULL);
        found += walk_values(CODE_LUNA_RET, upper, upper | 0xFFF);
    }
    CHECK_INT(found, luna_code_count());
    CHECK(luna_code_count() > 700);
}

int main(void)
{
    TAP_RUN(ckr_known_pairs_resolve_both_ways);
    TAP_RUN(ckr_v3_2_codes_resolve_both_ways);
    TAP_RUN(ckr_vendor_codes_resolve_both_ways);
    TAP_RUN(luna_ret_known_pairs_resolve_both_ways);
    TAP_RUN(unpublished_luna_ret_names_are_absent);
    TAP_RUN(same_value_resolves_per_family);
    TAP_RUN(unknown_names_and_values_return_null);
    TAP_RUN(name_must_match_in_full);
    TAP_RUN(table_is_unique_per_family);
    return tap_done();
}
