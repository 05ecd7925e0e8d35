/* Fuzz target: one input is one Luna daemon message (the text after the syslog header), as
 * parse_luna() sees it for a line a rule matched. Every field must be a slice of it, but for
 * ckr of a code printed only as a number, which is the code table's own name for that value. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz.h"
#include "luna_codes.h"
#include "parse_luna.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct strv msg = strv_make((const char *)data, size);
    struct luna_fields lf;
    parse_luna(msg, &lf);
    const struct strv *f[] = { &lf.level,       &lf.code, &lf.text,     &lf.client_ip,
                               &lf.client_port, &lf.rc,   &lf.luna_ret, &lf.ckr };
    const struct luna_code *named =
            lf.has_ckr_value ? luna_code_by_value(CODE_CKR, lf.ckr_value) : NULL;
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
        if (!(f[i] == &lf.ckr && named && lf.ckr.p == named->name))
            fuzz_check_slice(*f[i], msg, NULL);
    /* Numbers are in range or absent: a port fits 16 bits. */
    uint64_t port;
    if (lf.client_port.n && !strv_to_uint(lf.client_port, 65535, &port)) {
        fprintf(stderr, "fuzz: client port '%.*s'\n", (int)lf.client_port.n, lf.client_port.p);
        abort();
    }
    return 0;
}
