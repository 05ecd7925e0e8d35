/* Fuzz target: one input is one Luna daemon message (the text after the syslog header), as
 * parse_luna() sees it for a line a rule matched. Every field must be a slice of it. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz.h"
#include "parse_luna.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct strv msg = strv_make((const char *)data, size);
    struct luna_fields lf;
    parse_luna(msg, &lf);
    const struct strv *f[] = { &lf.level,       &lf.code, &lf.text,     &lf.client_ip,
                               &lf.client_port, &lf.rc,   &lf.luna_ret, &lf.ckr };
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
        fuzz_check_slice(*f[i], msg, NULL);
    return 0;
}
