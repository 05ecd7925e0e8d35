/* Unit tests for json: the string writer's escapes and its promise of always-valid output
 * (invalid UTF-8 and NUL become U+FFFD), the member iterator over nested values, value
 * decoding (escapes, surrogate pairs, byte arrays, null) and malformed input. */
#include <string.h>

#include "buf.h"
#include "err.h"
#include "json.h"
#include "tap.h"
#include "utf8.h"

/* Writes p[0..n) with json_put_string and compares the output with want. */
static void check_put(const char *p, size_t n, const char *want)
{
    struct buf b;
    buf_init(&b, 0);
    CHECK_INT(json_put_string(&b, p, n), 0);
    CHECK_STR(buf_cstr(&b), want);
    /* Whatever the input, the output is clean UTF-8. */
    CHECK(utf8_is_clean(b.data, b.len));
    buf_release(&b);
}

#define PUT(lit, want) check_put(lit, sizeof(lit) - 1, want)

/* An array of strings leaves out NULL entries, with no stray comma; none at all is []. */
static void put_strings_skips_null_entries(void)
{
    const char *v[] = { NULL, "hsm.reboot", NULL, "a\"b", NULL };
    struct buf b;
    buf_init(&b, 0);
    CHECK_INT(json_put_strings(&b, v, 5), 0);
    CHECK_STR(buf_cstr(&b), "[\"hsm.reboot\",\"a\\\"b\"]");
    buf_reset(&b);
    CHECK_INT(json_put_strings(&b, v, 1), 0);
    CHECK_STR(buf_cstr(&b), "[]");
    buf_release(&b);
}

static void put_string_quotes_plain_text(void)
{
    PUT("", "\"\"");
    PUT("hello world", "\"hello world\"");
}

static void put_string_escapes_quote_and_backslash(void)
{
    PUT("a\"b\\c", "\"a\\\"b\\\\c\"");
}

static void put_string_escapes_control_chars(void)
{
    PUT("\n\r\t", "\"\\n\\r\\t\"");
    PUT("a\x01z\x1f\x1b", "\"a\\u0001z\\u001f\\u001b\"");
    PUT("\x08\x0c", "\"\\u0008\\u000c\"");
}

static void put_string_keeps_valid_utf8(void)
{
    PUT("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80",
        "\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"");
}

static void put_string_replaces_invalid_utf8(void)
{
    PUT("a\xFFz", "\"a\\ufffdz\"");
    PUT("\xC3", "\"\\ufffd\"");                       /* truncated sequence */
    PUT("\xC0\xAF", "\"\\ufffd\\ufffd\"");            /* overlong '/' */
    PUT("\xED\xA0\x80", "\"\\ufffd\\ufffd\\ufffd\""); /* surrogate U+D800 */
}

static void put_string_replaces_nul(void)
{
    PUT("a\0b", "\"a\\ufffdb\"");
}

static void put_string_fails_at_buffer_cap(void)
{
    struct buf b;
    buf_init(&b, 8);
    CHECK_INT(json_put_string(&b, "0123456789", 10), HL_ELIMIT);
    buf_release(&b);
}

/* Iterates over text and checks its members against keys/values (NULL-terminated). */
static void check_members(const char *text, const char *const *keys, const char *const *values)
{
    struct json_iter it;
    struct strv k, v;
    size_t i = 0;
    int r;

    CHECK_INT(json_iter_begin(&it, strv_from_cstr(text)), 0);
    while ((r = json_iter_next(&it, &k, &v)) == 1) {
        CHECK(keys[i] != NULL);
        if (!keys[i])
            return;
        CHECK_STRN(k.p, k.n, keys[i]);
        CHECK_STRN(v.p, v.n, values[i]);
        i++;
    }
    CHECK_INT(r, 0);
    CHECK(keys[i] == NULL);
}

static void iter_yields_raw_members(void)
{
    static const char *const keys[] = { "a", "b", "c", "d", "e", NULL };
    static const char *const values[] = { "\"x\"", "12", "-1.5e3", "true", "null" };
    check_members(" { \"a\" : \"x\" , \"b\":12,\"c\":-1.5e3,\"d\":true,\"e\":null }", keys, values);
}

static void iter_skips_over_nested_values(void)
{
    static const char *const keys[] = { "obj", "arr", "s", "last", NULL };
    static const char *const values[] = { "{\"k\":[1,{\"q\":\"}]\"}],\"z\":{}}",
                                          "[[],[\"]\",\"\\\"\"],{}]", "\"a\\\"}b\"", "0" };
    check_members("{\"obj\":{\"k\":[1,{\"q\":\"}]\"}],\"z\":{}},\"arr\":[[],[\"]\",\"\\\"\"],{}],"
                  "\"s\":\"a\\\"}b\",\"last\":0}",
                  keys, values);
}

static void iter_over_empty_object_ends_at_once(void)
{
    static const char *const keys[] = { NULL };
    check_members("{}", keys, NULL);
    check_members("  {  }  ", keys, NULL);
}

static void iter_begin_rejects_non_objects(void)
{
    struct json_iter it;

    CHECK_INT(json_iter_begin(&it, strv_from_cstr("[1,2]")), HL_EFORMAT);
    CHECK_INT(json_iter_begin(&it, strv_from_cstr("\"MESSAGE\"")), HL_EFORMAT);
    CHECK_INT(json_iter_begin(&it, strv_from_cstr("   ")), HL_EFORMAT);
    CHECK_INT(json_iter_begin(&it, strv_from_cstr("")), HL_EFORMAT);
}

/* Returns the first result of json_iter_next() other than 1 over text. */
static int iter_end(const char *text)
{
    struct json_iter it;
    struct strv k, v;
    int r = json_iter_begin(&it, strv_from_cstr(text));
    if (r < 0)
        return r;
    while ((r = json_iter_next(&it, &k, &v)) == 1)
        ;
    return r;
}

static void iter_reports_malformed_input(void)
{
    CHECK_INT(iter_end("{\"a\":1"), HL_EFORMAT);           /* no closing brace */
    CHECK_INT(iter_end("{\"a\":\"x}"), HL_EFORMAT);        /* unterminated string */
    CHECK_INT(iter_end("{\"a\" 1}"), HL_EFORMAT);          /* no colon */
    CHECK_INT(iter_end("{\"a\":}"), HL_EFORMAT);           /* no value */
    CHECK_INT(iter_end("{a:1}"), HL_EFORMAT);              /* unquoted key */
    CHECK_INT(iter_end("{\"a\":[1,2}"), HL_EFORMAT);       /* unclosed array */
    CHECK_INT(iter_end("{\"a\":1 x}"), HL_EFORMAT);        /* junk after a value */
    CHECK_INT(iter_end("{\"a\":1 \"b\":2}"), HL_EFORMAT);  /* missing comma */
    CHECK_INT(iter_end("{,\"a\":1}"), HL_EFORMAT);         /* comma before the first */
    CHECK_INT(iter_end("{\"a\":1,}"), HL_EFORMAT);         /* trailing comma */
    CHECK_INT(iter_end("{\"a\":1,,\"b\":2}"), HL_EFORMAT); /* double comma */
    CHECK_INT(iter_end("{\"a\":1,\"b\":2}"), 0);           /* and the well-formed one */
}

static void iter_rejects_too_deep_nesting(void)
{
    char text[300];
    size_t n = 0;
    n += (size_t)snprintf(text, sizeof(text), "{\"a\":");
    for (int i = 0; i < 100; i++)
        text[n++] = '[';
    for (int i = 0; i < 100; i++)
        text[n++] = ']';
    text[n++] = '}';
    text[n] = '\0';
    CHECK_INT(iter_end(text), HL_EFORMAT);

    /* 60 levels are fine. */
    n = (size_t)snprintf(text, sizeof(text), "{\"a\":");
    for (int i = 0; i < 60; i++)
        text[n++] = '[';
    for (int i = 0; i < 60; i++)
        text[n++] = ']';
    text[n++] = '}';
    text[n] = '\0';
    CHECK_INT(iter_end(text), 0);
}

/* Decodes a raw value and compares the bytes with want[0..want_len). */
static void check_decode(const char *value, const char *want, size_t want_len)
{
    struct buf b;
    buf_init(&b, 0);
    CHECK_INT(json_value_decode(strv_from_cstr(value), &b), 0);
    CHECK_INT(b.len, want_len);
    CHECK(b.len == want_len && (want_len == 0 || memcmp(b.data, want, want_len) == 0));
    buf_release(&b);
}

#define DECODE(value, lit) check_decode(value, lit, sizeof(lit) - 1)

static void decode_string_unescapes(void)
{
    DECODE("\"plain\"", "plain");
    DECODE("\"\"", "");
    DECODE("\"q\\\"b\\\\s\\/n\\nt\\tr\\rb\\bf\\f\"", "q\"b\\s/n\nt\tr\rb\bf\f");
}

static void decode_string_turns_u_escapes_into_utf8(void)
{
    DECODE("\"\\u0041\\u00e9\\u20AC\"", "A\xC3\xA9\xE2\x82\xAC");
    DECODE("\"\\u0000\"", "\0");
}

static void decode_string_joins_surrogate_pairs(void)
{
    DECODE("\"\\ud83d\\ude00!\"", "\xF0\x9F\x98\x80!");
    DECODE("\"\\uDBFF\\uDFFF\"", "\xF4\x8F\xBF\xBF");
}

static void decode_string_replaces_lone_surrogates(void)
{
    DECODE("\"\\ud83d\"", "\xEF\xBF\xBD");
    DECODE("\"\\ude00x\"", "\xEF\xBF\xBDx");
    DECODE("\"\\ud83d\\u0041\"", "\xEF\xBF\xBD"
                                 "A");
}

static void decode_byte_array_gives_bytes(void)
{
    DECODE("[72, 105,0 ,255]", "Hi\0\xFF");
    DECODE("[]", "");
}

static void decode_null_is_nothing_and_scalars_are_text(void)
{
    DECODE("null", "");
    DECODE("42", "42");
    DECODE("true", "true");
}

static void decode_rejects_malformed_values(void)
{
    struct buf b;
    buf_init(&b, 0);
    CHECK_INT(json_value_decode(strv_from_cstr("\"\\u12\""), &b), HL_EFORMAT);
    CHECK_INT(json_value_decode(strv_from_cstr("\"\\uZZZZ\""), &b), HL_EFORMAT);
    CHECK_INT(json_value_decode(strv_from_cstr("[256]"), &b), HL_EFORMAT);
    CHECK_INT(json_value_decode(strv_from_cstr("[1,\"a\"]"), &b), HL_EFORMAT);
    CHECK_INT(json_value_decode(strv_from_cstr("[1 2]"), &b), HL_EFORMAT);
    CHECK_INT(json_value_decode(strv_from_cstr("{\"a\":1}"), &b), HL_EFORMAT);
    CHECK_INT(json_value_decode(strv_from_cstr(""), &b), HL_EFORMAT);
    buf_release(&b);
}

static void put_string_escapes_what_a_terminal_acts_on(void)
{
    /* The same characters, as \\u escapes: NDJSON read on a terminal cannot drive it. */
    PUT("del\x7f", "\"del\\u007f\"");
    PUT("csi\xC2\x9B"
        "2J c1 end\xC2\x9F nbsp\xC2\xA0",
        "\"csi\\u009b2J c1 end\\u009f nbsp\xC2\xA0\"");
    PUT("\xE2\x80\xAE"
        "evil\xE2\x81\xA6 \xE2\x80\xA6",
        "\"\\u202eevil\\u2066 \xE2\x80\xA6\"");
}

/* Copies text with json_put_value() and compares the output (NULL: it must be refused). */
static void check_value(const char *text, const char *want)
{
    struct buf b;
    buf_init(&b, 0);
    CHECK_INT(buf_adds(&b, "<"), 0);
    int r = json_put_value(&b, text, strlen(text));
    if (want) {
        CHECK_INT(r, 0);
        CHECK(b.len > 0 && b.data[0] == '<');
        CHECK_STR(b.len ? b.data + 1 : "", want);
    } else {
        CHECK_INT(r, HL_EFORMAT);
        CHECK_STR(buf_cstr(&b), "<"); /* left as it was */
    }
    buf_release(&b);
}

static void put_value_rewrites_valid_json(void)
{
    check_value("{}", "{}");
    check_value(" { \"a\" : [ 1 , -2.5e+3 , true , false , null ] } ",
                "{\"a\":[1,-2.5e+3,true,false,null]}");
    check_value("[\"hsm-a1\",\"HSM SO\"]", "[\"hsm-a1\",\"HSM SO\"]");
    check_value("\"\\u00e9\\/\\n\"", "\"\xC3\xA9/\\n\"");
    /* Strings go through json_put_string(): a stored bidi override comes out escaped. */
    check_value("{\"m\":\"\xE2\x80\xAE"
                "x\"}",
                "{\"m\":\"\\u202ex\"}");
    check_value("0", "0");
}

static void put_value_refuses_what_is_not_json(void)
{
    check_value("", NULL);
    check_value("{", NULL);
    check_value("{\"a\":1,}", NULL);
    check_value("[1 2]", NULL);
    check_value("{a:1}", NULL);
    check_value("\"tab\there\"", NULL); /* a raw control byte in a string */
    check_value("\"\\x\"", NULL);
    check_value("01", NULL);
    check_value("1.", NULL);
    check_value("tru", NULL);
    check_value("{} {}", NULL);
    check_value("plain text", NULL);
    char deep[200];
    memset(deep, '[', 100);
    memset(deep + 100, ']', 100);
    struct buf b;
    buf_init(&b, 0);
    CHECK_INT(json_put_value(&b, deep, sizeof(deep)), HL_EFORMAT); /* nested past 64 */
    CHECK_INT(json_put_value(&b, deep + 40, 120), 0);
    buf_release(&b);
}

int main(void)
{
    TAP_RUN(put_strings_skips_null_entries);
    TAP_RUN(put_string_quotes_plain_text);
    TAP_RUN(put_string_escapes_quote_and_backslash);
    TAP_RUN(put_string_escapes_control_chars);
    TAP_RUN(put_string_keeps_valid_utf8);
    TAP_RUN(put_string_replaces_invalid_utf8);
    TAP_RUN(put_string_replaces_nul);
    TAP_RUN(put_string_fails_at_buffer_cap);
    TAP_RUN(put_string_escapes_what_a_terminal_acts_on);
    TAP_RUN(put_value_rewrites_valid_json);
    TAP_RUN(put_value_refuses_what_is_not_json);
    TAP_RUN(iter_yields_raw_members);
    TAP_RUN(iter_skips_over_nested_values);
    TAP_RUN(iter_over_empty_object_ends_at_once);
    TAP_RUN(iter_begin_rejects_non_objects);
    TAP_RUN(iter_reports_malformed_input);
    TAP_RUN(iter_rejects_too_deep_nesting);
    TAP_RUN(decode_string_unescapes);
    TAP_RUN(decode_string_turns_u_escapes_into_utf8);
    TAP_RUN(decode_string_joins_surrogate_pairs);
    TAP_RUN(decode_string_replaces_lone_surrogates);
    TAP_RUN(decode_byte_array_gives_bytes);
    TAP_RUN(decode_null_is_nothing_and_scalars_are_text);
    TAP_RUN(decode_rejects_malformed_values);
    return tap_done();
}
