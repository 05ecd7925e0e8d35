/* Luna message structure and return codes. The structured form is written by the appliance
 * daemons with " : " separators, but hand-edited or re-wrapped logs drop the spaces, so every
 * separator match tolerates missing white space. */
#include "parse_luna.h"

#include <strings.h>

#include "luna_codes.h"

static bool is_name_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static bool is_word_char(char c)
{
    return is_name_char(c) || (c >= 'a' && c <= 'z');
}

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_level(struct strv s)
{
    /* By length first: this runs on every line of the NTLS daemon (carried context). */
    static const char *const levels[][3] = {
        [3] = { "err" },
        [4] = { "info", "warn", "crit" },
        [5] = { "error", "debug", "fatal" },
        [6] = { "notice" },
        [7] = { "warning" },
        [8] = { "critical" },
    };
    if (s.n >= sizeof(levels) / sizeof(levels[0]))
        return false;
    for (size_t i = 0; i < 3 && levels[s.n][i]; i++)
        if (strncasecmp(s.p, levels[s.n][i], s.n) == 0)
            return true;
    return false;
}

/* A code is "0", a decimal number or "0x" followed by hex digits, with a value that fits
 * the 32 bits of a Luna status code. *ret_in_range says whether it does; a code-shaped field
 * out of range still marks the structured form, but is not taken as a code. */
static bool is_code(struct strv s, bool *ret_in_range)
{
    if (s.n > 2 && s.p[0] == '0' && (s.p[1] == 'x' || s.p[1] == 'X')) {
        size_t lead = 2;
        for (size_t i = 2; i < s.n; i++)
            if (!is_hex(s.p[i]))
                return false;
        while (lead < s.n - 1 && s.p[lead] == '0')
            lead++;
        *ret_in_range = s.n - lead <= 8;
        return true;
    }
    for (size_t i = 0; i < s.n; i++)
        if (s.p[i] < '0' || s.p[i] > '9')
            return false;
    uint64_t v;
    *ret_in_range = strv_to_uint(s, UINT32_MAX, &v);
    return s.n > 0;
}

/* Returns the slice before the first ':' of s and sets *rest to what follows it. */
static struct strv split_colon(struct strv s, struct strv *rest)
{
    const char *c = memchr(s.p, ':', s.n);
    if (!c) {
        *rest = STRV_NULL;
        return s;
    }
    *rest = strv_make(c + 1, s.n - (size_t)(c + 1 - s.p));
    return strv_make(s.p, (size_t)(c - s.p));
}

/* Drops a trailing ": RC_NAME" from *s into ret->rc. */
static void take_trailing_rc(struct strv *s, struct luna_fields *ret)
{
    struct strv t = strv_trim(*s);
    size_t i = t.n;
    while (i > 0 && is_name_char(t.p[i - 1]))
        i--;
    struct strv name = strv_make(t.p + i, t.n - i);
    if (name.n <= 3 || !strv_starts_with(name, "RC_"))
        return;
    struct strv before = strv_trim(strv_make(t.p, i));
    if (!before.n || before.p[before.n - 1] != ':')
        return;
    ret->rc = name;
    *s = strv_make(before.p, before.n - 1);
}

/* Drops a trailing ": ip/port" from *s into ret->client_ip and ret->client_port. */
static void take_trailing_peer(struct strv *s, struct luna_fields *ret)
{
    struct strv t = strv_trim(*s);
    size_t i = t.n;
    while (i > 0 && t.p[i - 1] >= '0' && t.p[i - 1] <= '9')
        i--;
    if (i == t.n || i == 0 || t.p[i - 1] != '/')
        return;
    /* A port is 0-65535 (RFC 6335); a longer number is kept as absent, never as a port. */
    uint64_t port_value;
    struct strv port = strv_make(t.p + i, t.n - i);
    if (!strv_to_uint(port, 65535, &port_value))
        port = STRV_NULL;
    size_t end = i - 1, start = end;
    while (start > 0 && (is_hex(t.p[start - 1]) || t.p[start - 1] == '.' || t.p[start - 1] == ':'))
        start--;
    struct strv ip = strv_make(t.p + start, end - start);
    /* Without spaces the " : " separator runs into the address ("client:10.1.2.3/99"), and
     * so do the text's last characters when they are dots or hex letters ("request...:",
     * "accepted:"). */
    while (ip.n && ip.p[0] == '.') {
        ip.p++;
        ip.n--;
    }
    while (ip.n && ip.p[0] == ':' && !(ip.n > 1 && ip.p[1] == ':')) {
        ip.p++;
        ip.n--;
    }
    /* An IPv4 address keeps what is before its dotted quad only when that is an IPv6 prefix
     * such as "::ffff:" (a mapped address), never a lone "ed:". */
    size_t quad = ip.n, quad_dots = 0;
    while (quad > 0 && ((ip.p[quad - 1] >= '0' && ip.p[quad - 1] <= '9') || ip.p[quad - 1] == '.'))
        quad_dots += ip.p[--quad] == '.';
    if (quad_dots == 3 && quad > 0 && !memmem(ip.p, quad, "::", 2)) {
        ip.p += quad;
        ip.n -= quad;
    }
    size_t dots = 0, colons = 0;
    for (size_t k = 0; k < ip.n; k++) {
        dots += ip.p[k] == '.';
        colons += ip.p[k] == ':';
    }
    if (dots != 3 && colons < 2)
        return;
    ret->client_ip = ip;
    ret->client_port = port;
    struct strv before = strv_trim(strv_make(t.p, (size_t)(ip.p - t.p)));
    if (before.n && before.p[before.n - 1] == ':')
        before.n--;
    *s = before;
}

static void parse_structure(struct strv msg, struct luna_fields *ret)
{
    struct strv rest, rest2;
    struct strv level = strv_trim(split_colon(msg, &rest));
    if (!rest.p || !is_level(level))
        return;
    struct strv code = strv_trim(split_colon(rest, &rest2));
    bool code_in_range = false;
    if (!rest2.p || !is_code(code, &code_in_range))
        return;
    ret->level = level;
    ret->code = code_in_range ? code : STRV_NULL;
    take_trailing_rc(&rest2, ret);
    take_trailing_peer(&rest2, ret);
    ret->text = strv_trim(rest2);
}

/* Finds the first word in msg that starts with prefix and continues with [A-Z0-9_]. */
static struct strv find_name(struct strv msg, const char *prefix)
{
    size_t plen = strlen(prefix);
    const char *p = msg.p, *end = msg.p + msg.n;
    while (p < end) {
        const char *hit = memmem(p, (size_t)(end - p), prefix, plen);
        if (!hit)
            break;
        const char *q = hit + plen;
        while (q < end && is_name_char(*q))
            q++;
        bool starts_word = hit == msg.p || !is_word_char(hit[-1]);
        if (starts_word && q > hit + plen)
            return strv_make(hit, (size_t)(q - hit));
        p = hit + 1;
    }
    return STRV_NULL;
}

/* Parses "0x" hex at p; returns bytes used (0 when there is none). */
static size_t parse_hex(const char *p, const char *end, uint32_t *ret)
{
    if (end - p < 3 || p[0] != '0' || (p[1] != 'x' && p[1] != 'X') || !is_hex(p[2]))
        return 0;
    uint64_t v = 0;
    const char *q = p + 2;
    for (; q < end && is_hex(*q); q++) {
        int d = *q <= '9' ? *q - '0' : (*q | 0x20) - 'a' + 10;
        v = (v << 4) | (uint64_t)d;
        if (v > UINT32_MAX)
            return 0;
    }
    *ret = (uint32_t)v;
    return (size_t)(q - p);
}

/* Looks for a hex value printed next to a name: "NAME (0xa0)", "NAME=0xa0", "0xa0 (NAME)". */
static bool hex_beside(struct strv msg, struct strv name, uint32_t *ret)
{
    const char *end = msg.p + msg.n;
    const char *q = name.p + name.n;
    while (q < end && (*q == ' ' || *q == '(' || *q == '=' || *q == ':'))
        q++;
    if (q - (name.p + name.n) <= 3 && parse_hex(q, end, ret))
        return true;
    const char *b = name.p;
    while (b > msg.p && (b[-1] == ' ' || b[-1] == '(' || b[-1] == ':'))
        b--;
    const char *h = b;
    while (h > msg.p && is_hex(h[-1]))
        h--;
    if (h - msg.p >= 2 && (h[-1] == 'x' || h[-1] == 'X') && h[-2] == '0' && name.p - b <= 3)
        return parse_hex(h - 2, b, ret) == (size_t)(b - (h - 2));
    return false;
}

static void find_code(struct strv msg, const char *prefix, struct strv *ret_name, bool *ret_has,
                      uint32_t *ret_value)
{
    struct strv name = find_name(msg, prefix);
    if (!name.n)
        return;
    *ret_name = name;
    if (hex_beside(msg, name, ret_value)) {
        *ret_has = true;
        return;
    }
    const struct luna_code *row = luna_code_by_name(name.p, name.n);
    if (row) {
        *ret_has = true;
        *ret_value = row->value;
    }
}

/* Returns the end of the "C_Name" PKCS#11 function name at p, or p when there is none.
 * pkcs11-tool names an attribute probe "C_GetAttributeValue(VALUE)", so one "(NAME)" that
 * follows the name belongs to it. */
static const char *skip_function_name(const char *p, const char *end)
{
    if (end - p < 3 || p[0] != 'C' || p[1] != '_')
        return p;
    const char *q = p + 2;
    while (q < end && is_word_char(*q))
        q++;
    if (q == p + 2)
        return p;
    if (q < end && *q == '(') {
        const char *r = q + 1;
        while (r < end && is_word_char(*r))
            r++;
        if (r > q + 1 && r < end && *r == ')')
            q = r + 1;
    }
    return q;
}

/* Finds lead at the start of a word in msg, followed by a function name and then tail;
 * returns what follows tail, or NULL. */
static const char *after_frame(struct strv msg, const char *lead, const char *tail)
{
    size_t llen = strlen(lead), tlen = strlen(tail);
    const char *p = msg.p, *end = msg.p + msg.n;
    while (p < end) {
        const char *hit = memmem(p, (size_t)(end - p), lead, llen);
        if (!hit)
            return NULL;
        const char *name = hit + llen;
        const char *q = skip_function_name(name, end);
        bool starts_word = hit == msg.p || !is_word_char(hit[-1]);
        if (starts_word && q > name && (size_t)(end - q) >= tlen && !memcmp(q, tail, tlen))
            return q + tlen;
        p = hit + 1;
    }
    return NULL;
}

/* Finds lead at the start of a word in msg, followed by a hex number ("0x..." within 32
 * bits) and then by tail, or by a character that ends a word when tail is NULL; sets *ret. */
static bool hex_after_lead(struct strv msg, const char *lead, const char *tail, uint32_t *ret)
{
    size_t llen = strlen(lead), tlen = tail ? strlen(tail) : 0;
    const char *p = msg.p, *end = msg.p + msg.n;
    while (p < end) {
        const char *hit = memmem(p, (size_t)(end - p), lead, llen);
        if (!hit)
            return false;
        const char *v = hit + llen;
        uint32_t value;
        size_t used = parse_hex(v, end, &value);
        bool starts_word = hit == msg.p || !is_word_char(hit[-1]);
        if (starts_word && used) {
            const char *q = v + used;
            bool ends = tail ? (size_t)(end - q) >= tlen && !memcmp(q, tail, tlen)
                             : q == end || !is_word_char(*q);
            if (ends) {
                *ret = value;
                return true;
            }
        }
        p = hit + 1;
    }
    return false;
}

/* A CK_RV printed as a bare number counts only inside a frame whose wording comes from the
 * printing tool's source, so a slot id or a byte count elsewhere in a line is never taken
 * for a return code:
 *
 *  - Pkcs11Interop's Pkcs11Exception (src/Pkcs11Interop/Common/Pkcs11Exception.cs):
 *    string.Format("Method {0} returned {1}", method, rv.ToString()). CKR is a uint enum,
 *    so a value it does not name, i.e. every vendor code but CKR_VENDOR_DEFINED, comes out
 *    in decimal: "Method C_Sign returned 2147483768" (Pkcs11Interop issue 156).
 *  - OpenSC pkcs11-tool's p11_fatal and p11_warn: "PKCS11 function %s failed: rv = %s
 *    (0x%0x)", whose second %s is "unknown PKCS11 error" for a code OpenSC does not name.
 *  - The Luna JSP's LunaCryptokiException: "function 'C_WrapKey' returns 0x6a", hex only
 *    (docs/LOG-SHAPES.md, CKR_* on clients).
 *  - The JDK's SunPKCS11 (used by EJBCA, SignServer): PKCS11Exception's lookup() names the
 *    codes of its RV enum and prints any other as "0x" + Functions.toFullHexString():
 *    "sun.security.pkcs11.wrapper.PKCS11Exception: 0xCE534351" (eclipse-openj9 issue 15663).
 *  - python-pkcs11's assertRV (pkcs11/_errors.pyx): PKCS11Error("Unmapped error code %s" %
 *    hex(rv)) for a code its ERROR_MAP lacks: "Unmapped error code 0xa2" (issue 107).
 *  - Go's miekg/pkcs11 Error(): fmt.Sprintf("pkcs11: 0x%X: %s", e, strerror[e]), whose name
 *    is empty for a vendor code (the Go crypto11 library, HashiCorp Vault's and OpenBao's
 *    pkcs11 seal, step-ca: "pkcs11: 0x30: CKR_DEVICE_ERROR", crypto11 issue 67). */
static bool framed_ckr_value(struct strv msg, uint32_t *ret)
{
    const char *end = msg.p + msg.n;
    const char *v = after_frame(msg, "Method ", " returned ");
    if (v) {
        const char *q = v;
        while (q < end && *q >= '0' && *q <= '9')
            q++;
        uint64_t n;
        if (q > v && (q == end || !is_word_char(*q)) &&
            strv_to_uint(strv_make(v, (size_t)(q - v)), UINT32_MAX, &n)) {
            *ret = (uint32_t)n;
            return true;
        }
    }
    v = after_frame(msg, "PKCS11 function ", " failed: rv = ");
    if (v) {
        const char *open = memchr(v, '(', (size_t)(end - v));
        size_t used = open ? parse_hex(open + 1, end, ret) : 0;
        if (used && open + 1 + used < end && open[1 + used] == ')')
            return true;
    }
    v = after_frame(msg, "function '", "' returns ");
    if (v) {
        size_t used = parse_hex(v, end, ret);
        if (used && (v + used == end || !is_word_char(v[used])))
            return true;
    }
    return hex_after_lead(msg, "PKCS11Exception: ", NULL, ret) ||
           hex_after_lead(msg, "Unmapped error code ", NULL, ret) ||
           hex_after_lead(msg, "pkcs11: ", ":", ret);
}

/* Gives a line that printed its CK_RV only as a number in a known frame the value and, when
 * the table knows it, the name. */
static void take_framed_ckr(struct strv msg, struct luna_fields *ret)
{
    uint32_t value;
    if (ret->ckr.n || !framed_ckr_value(msg, &value))
        return;
    ret->has_ckr_value = true;
    ret->ckr_value = value;
    const struct luna_code *row = luna_code_by_value(CODE_CKR, value);
    if (row)
        ret->ckr = strv_from_cstr(row->name);
}

void parse_luna_structure(struct strv message, struct luna_fields *ret)
{
    *ret = (struct luna_fields){ 0 };
    if (message.n)
        parse_structure(message, ret);
}

void parse_luna(struct strv message, struct luna_fields *ret)
{
    parse_luna_structure(message, ret);
    if (!message.n)
        return;
    if (!ret->rc.n)
        ret->rc = find_name(message, "RC_");
    find_code(message, "LUNA_RET_", &ret->luna_ret, &ret->has_luna_ret_value, &ret->luna_ret_value);
    find_code(message, "CKR_", &ret->ckr, &ret->has_ckr_value, &ret->ckr_value);
    take_framed_ckr(message, ret);
}
