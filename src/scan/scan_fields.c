/* A finding's fields (scan_impl.h): the rule's named captures and the Luna parser's fields,
 * and their JSON object text. */
#include "scan_impl.h"

#include <stdio.h>
#include <string.h>

#include "json.h"
#include "parse_luna.h"

static int put_field(struct buf *out, const char *name, struct strv value)
{
    int r = buf_addc(out, out->len ? ',' : '{');
    if (r == 0)
        r = json_put_string(out, name, strlen(name));
    if (r == 0)
        r = buf_addc(out, ':');
    if (r == 0)
        r = json_put_string(out, value.p ? value.p : "", value.n);
    return r;
}

bool scan_has_field(const struct field_set *fs, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(fs->v[i].name, name) == 0)
            return true;
    return false;
}

void scan_collect_fields(const struct matcher *m, const struct rule *rule, const struct rule *owner,
                         const struct record *rec, struct field_set *fs)
{
    size_t n = matcher_captures(m, rule, rec->message, fs->v, ARRAY_SIZE(fs->v) - 11);
    for (size_t i = 0; owner->n_normalize && i < n; i++)
        fs->v[i].value = rule_normalized(owner, fs->v[i].name, fs->v[i].value);
    struct luna_fields lf;
    parse_luna(rec->message, &lf);
    /* Formatted only when there is a value: two snprintf calls for every finding show in the
     * profile of a scan with many findings. */
    if (lf.has_luna_ret_value)
        snprintf(fs->ret_hex, sizeof(fs->ret_hex), "0x%08X", (unsigned)lf.luna_ret_value);
    if (lf.has_ckr_value)
        snprintf(fs->ckr_hex, sizeof(fs->ckr_hex), "0x%08X", (unsigned)lf.ckr_value);
    const struct rule_capture luna[] = {
        { "luna_level", lf.level },
        { "luna_code", lf.code },
        { "client_ip", lf.client_ip },
        { "client_port", lf.client_port },
        { "rc", lf.rc },
        { "luna_ret", lf.luna_ret },
        { "luna_ret_hex", lf.has_luna_ret_value ? strv_from_cstr(fs->ret_hex) : STRV_NULL },
        { "ckr", lf.ckr },
        { "ckr_hex", lf.has_ckr_value ? strv_from_cstr(fs->ckr_hex) : STRV_NULL },
    };
    fs->n = n;
    for (size_t i = 0; i < ARRAY_SIZE(luna); i++)
        if (luna[i].value.n && !scan_has_field(fs, n, luna[i].name))
            fs->v[fs->n++] = luna[i];
}

int scan_fields_json(const struct field_set *fs, struct buf *out)
{
    buf_reset(out);
    int r = 0;
    for (size_t i = 0; r == 0 && i < fs->n; i++)
        r = put_field(out, fs->v[i].name, fs->v[i].value);
    if (r == 0)
        r = out->len ? buf_addc(out, '}') : buf_adds(out, "{}");
    return r;
}
