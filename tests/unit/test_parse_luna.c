/* Unit tests for parse_luna: the "level : code : text : ip/port : RC_NAME" structure with and
 * without spaces, IPv4 and IPv6 peers, return-code names found anywhere in a message, hex
 * values printed beside a CKR_ name on either side, values taken from the code table,
 * names that only count as whole words, and CK_RV numbers printed alone in a known frame. */
#include <stdint.h>
#include <string.h>

#include "parse_luna.h"
#include "tap.h"

static struct luna_fields f;

static const struct luna_fields *luna(const char *message)
{
    parse_luna(strv_from_cstr(message), &f);
    return &f;
}

static void structured_message_fills_every_field(void)
{
    const struct luna_fields *l = luna("info : 0xc0000711 : Fail to establish a secure channel "
                                       "with client : 192.168.50.2/59415 : "
                                       "RC_SSL_FAILED_HANDSHAKE");

    CHECK_STRN(l->level.p, l->level.n, "info");
    CHECK_STRN(l->code.p, l->code.n, "0xc0000711");
    CHECK_STRN(l->text.p, l->text.n, "Fail to establish a secure channel with client");
    CHECK_STRN(l->client_ip.p, l->client_ip.n, "192.168.50.2");
    CHECK_STRN(l->client_port.p, l->client_port.n, "59415");
    CHECK_STRN(l->rc.p, l->rc.n, "RC_SSL_FAILED_HANDSHAKE");
    CHECK(strv_is_empty(l->ckr));
    CHECK(strv_is_empty(l->luna_ret));
    CHECK(!l->has_ckr_value);
    CHECK(!l->has_luna_ret_value);
}

static void structured_message_without_spaces_parses_the_same(void)
{
    const struct luna_fields *l = luna("info:0xc0000711:Fail to establish a secure channel with "
                                       "client:192.168.50.2/59415:RC_SSL_FAILED_HANDSHAKE");

    CHECK_STRN(l->level.p, l->level.n, "info");
    CHECK_STRN(l->code.p, l->code.n, "0xc0000711");
    CHECK_STRN(l->text.p, l->text.n, "Fail to establish a secure channel with client");
    CHECK_STRN(l->client_ip.p, l->client_ip.n, "192.168.50.2");
    CHECK_STRN(l->client_port.p, l->client_port.n, "59415");
    CHECK_STRN(l->rc.p, l->rc.n, "RC_SSL_FAILED_HANDSHAKE");
}

static void address_after_hex_letters_without_spaces_is_not_joined_to_text(void)
{
    /* "accepted" ends in the hex digits "ed": they belong to the text, not to the address. */
    const struct luna_fields *l = luna("info:0:Connection accepted:10.1.2.3/5544");

    CHECK_STRN(l->text.p, l->text.n, "Connection accepted");
    CHECK_STRN(l->client_ip.p, l->client_ip.n, "10.1.2.3");
    CHECK_STRN(l->client_port.p, l->client_port.n, "5544");
}

static void ipv4_mapped_ipv6_peer_keeps_its_prefix(void)
{
    const struct luna_fields *l = luna("info : 0 : Incoming connection request... : "
                                       "::ffff:10.1.2.3/5544");

    CHECK_STRN(l->client_ip.p, l->client_ip.n, "::ffff:10.1.2.3");
    CHECK_STRN(l->client_port.p, l->client_port.n, "5544");
    CHECK_STRN(l->text.p, l->text.n, "Incoming connection request...");
}

static void ipv6_peer_is_found(void)
{
    const struct luna_fields *l =
            luna("info : 0 : Incoming connection request... : 2001:db8::5/59415");

    CHECK_STRN(l->level.p, l->level.n, "info");
    CHECK_STRN(l->code.p, l->code.n, "0");
    CHECK_STRN(l->text.p, l->text.n, "Incoming connection request...");
    CHECK_STRN(l->client_ip.p, l->client_ip.n, "2001:db8::5");
    CHECK_STRN(l->client_port.p, l->client_port.n, "59415");

    l = luna("info:0:Incoming connection request...:fe80::1/443");
    CHECK_STRN(l->client_ip.p, l->client_ip.n, "fe80::1");
    CHECK_STRN(l->client_port.p, l->client_port.n, "443");
}

static void message_without_peer_has_empty_address(void)
{
    const struct luna_fields *l = luna("warning : 0x00000020 : Client disconnected");

    CHECK_STRN(l->level.p, l->level.n, "warning");
    CHECK_STRN(l->code.p, l->code.n, "0x00000020");
    CHECK_STRN(l->text.p, l->text.n, "Client disconnected");
    CHECK(strv_is_empty(l->client_ip));
    CHECK(strv_is_empty(l->client_port));
    CHECK(strv_is_empty(l->rc));
}

static void version_number_is_not_a_peer(void)
{
    const struct luna_fields *l = luna("info : 0 : Firmware 7.8.4/2");

    CHECK(strv_is_empty(l->client_ip));
    CHECK_STRN(l->text.p, l->text.n, "Firmware 7.8.4/2");
}

static void unstructured_message_has_no_level_or_code(void)
{
    const struct luna_fields *l = luna("Error message from SSLAccept is : error:14094418");

    CHECK(strv_is_empty(l->level));
    CHECK(strv_is_empty(l->code));
    CHECK(strv_is_empty(l->text));
    l = luna("hello : 0 : text");
    CHECK(strv_is_empty(l->level));
    l = luna("info : zero : text");
    CHECK(strv_is_empty(l->level));
    CHECK(strv_is_empty(l->code));
}

static void rc_in_parentheses_is_found_anywhere(void)
{
    const struct luna_fields *l = luna("Error during SSL accept ( RC_SSL_ERROR )");

    CHECK_STRN(l->rc.p, l->rc.n, "RC_SSL_ERROR");
    l = luna("error : 0xc0000711 : read failed (RC_SOCKET_ERROR) on client");
    CHECK_STRN(l->rc.p, l->rc.n, "RC_SOCKET_ERROR");
    CHECK_STRN(l->text.p, l->text.n, "read failed (RC_SOCKET_ERROR) on client");
}

static void ckr_hex_before_name_gives_value(void)
{
    const struct luna_fields *l = luna("C_Login failed 0xa0 (CKR_PIN_INCORRECT)");

    CHECK_STRN(l->ckr.p, l->ckr.n, "CKR_PIN_INCORRECT");
    CHECK(l->has_ckr_value);
    CHECK_INT(l->ckr_value, 0xA0);
}

static void ckr_hex_after_name_gives_value(void)
{
    const struct luna_fields *l = luna("C_Login returned CKR_PIN_INCORRECT (0xa0)");

    CHECK_STRN(l->ckr.p, l->ckr.n, "CKR_PIN_INCORRECT");
    CHECK(l->has_ckr_value);
    CHECK_INT(l->ckr_value, 0xA0);
}

static void hex_beside_unknown_name_gives_value(void)
{
    /* Not in the table: the value can only come from the text. */
    const struct luna_fields *l = luna("rv CKR_SOMETHING_NEW=0x80000123 from lib");

    CHECK_STRN(l->ckr.p, l->ckr.n, "CKR_SOMETHING_NEW");
    CHECK(l->has_ckr_value);
    CHECK_INT(l->ckr_value, 0x80000123u);

    l = luna("rv 0x1234 (CKR_SOMETHING_NEW)");
    CHECK(l->has_ckr_value);
    CHECK_INT(l->ckr_value, 0x1234);
}

static void ckr_name_alone_takes_value_from_table(void)
{
    const struct luna_fields *l = luna("login failed: CKR_PIN_INCORRECT");

    CHECK_STRN(l->ckr.p, l->ckr.n, "CKR_PIN_INCORRECT");
    CHECK(l->has_ckr_value);
    CHECK_INT(l->ckr_value, 0xA0);
}

static void unknown_ckr_name_alone_has_no_value(void)
{
    const struct luna_fields *l = luna("failed with CKR_NOT_A_REAL_CODE today");

    CHECK_STRN(l->ckr.p, l->ckr.n, "CKR_NOT_A_REAL_CODE");
    CHECK(!l->has_ckr_value);
}

static void luna_ret_name_takes_value_from_table(void)
{
    const struct luna_fields *l = luna("Command failed: LUNA_RET_UM_PIN_INCORRECT");

    CHECK_STRN(l->luna_ret.p, l->luna_ret.n, "LUNA_RET_UM_PIN_INCORRECT");
    CHECK(l->has_luna_ret_value);
    CHECK_INT(l->luna_ret_value, 0x00A00000);
    CHECK(strv_is_empty(l->ckr));
}

static void luna_ret_name_not_in_table_has_no_value(void)
{
    const struct luna_fields *l = luna("slot 0: LUNA_RET_SP_TIMEOUT");

    CHECK_STRN(l->luna_ret.p, l->luna_ret.n, "LUNA_RET_SP_TIMEOUT");
    CHECK(!l->has_luna_ret_value);
}

static void names_must_start_a_word(void)
{
    const struct luna_fields *l = luna("XCKR_FOO and MY_RC_BAR and xLUNA_RET_OK");

    CHECK(strv_is_empty(l->ckr));
    CHECK(strv_is_empty(l->rc));
    CHECK(strv_is_empty(l->luna_ret));
    CHECK(!l->has_ckr_value);
    CHECK(!l->has_luna_ret_value);

    /* A later whole word is still found after a rejected one. */
    l = luna("XCKR_FOO then CKR_PIN_LOCKED");
    CHECK_STRN(l->ckr.p, l->ckr.n, "CKR_PIN_LOCKED");
    CHECK_INT(l->ckr_value, 0xA4);
}

static void bare_prefix_is_not_a_name(void)
{
    const struct luna_fields *l = luna("only CKR_ here, RC_ and LUNA_RET_ too");

    CHECK(strv_is_empty(l->ckr));
    CHECK(strv_is_empty(l->rc));
    CHECK(strv_is_empty(l->luna_ret));
}

static void first_of_several_names_wins(void)
{
    const struct luna_fields *l = luna("CKR_PIN_LOCKED after CKR_PIN_INCORRECT");

    CHECK_STRN(l->ckr.p, l->ckr.n, "CKR_PIN_LOCKED");
    CHECK_INT(l->ckr_value, 0xA4);
}

static void empty_message_leaves_everything_empty(void)
{
    const struct luna_fields *l = luna("");

    CHECK(strv_is_empty(l->level));
    CHECK(strv_is_empty(l->rc));
    CHECK(strv_is_empty(l->ckr));
    CHECK(!l->has_ckr_value);
}

static void client_port_above_65535_is_absent(void)
{
    const struct luna_fields *l = luna("info : 0xc0000711 : Fail : 10.1.2.3/65535 : RC_X");

    CHECK_STRN(l->client_port.p, l->client_port.n, "65535");
    l = luna("info : 0xc0000711 : Fail : 10.1.2.3/65536 : RC_X");
    CHECK_STRN(l->client_ip.p, l->client_ip.n, "10.1.2.3");
    CHECK(strv_is_empty(l->client_port));
    CHECK_STRN(l->text.p, l->text.n, "Fail");
    l = luna("info : 0xc0000711 : Fail : 10.1.2.3/99999999999999999999999 : RC_X");
    CHECK(strv_is_empty(l->client_port));
    l = luna("info : 0 : Fail : ::1/0");
    CHECK_STRN(l->client_port.p, l->client_port.n, "0");
}

static void code_past_32_bits_is_absent(void)
{
    const struct luna_fields *l = luna("info : 0xffffffff : text");

    CHECK_STRN(l->code.p, l->code.n, "0xffffffff");
    l = luna("info : 0x1ffffffff : text");
    CHECK_STRN(l->level.p, l->level.n, "info");
    CHECK(strv_is_empty(l->code));
    CHECK_STRN(l->text.p, l->text.n, "text");
    l = luna("info : 0x00000000c0000711 : text");
    CHECK_STRN(l->code.p, l->code.n, "0x00000000c0000711");
    l = luna("info : 4294967295 : text");
    CHECK_STRN(l->code.p, l->code.n, "4294967295");
    l = luna("info : 4294967296 : text");
    CHECK(strv_is_empty(l->code));
}

static void hex_value_past_32_bits_is_absent(void)
{
    const struct luna_fields *l = luna("rv CKR_SOMETHING_NEW=0xffffffff from lib");

    CHECK(l->has_ckr_value);
    CHECK_INT(l->ckr_value, 0xffffffffu);
    l = luna("rv CKR_SOMETHING_NEW=0x100000000 from lib");
    CHECK_STRN(l->ckr.p, l->ckr.n, "CKR_SOMETHING_NEW");
    CHECK(!l->has_ckr_value);
    l = luna("rv 0x100000000 (LUNA_RET_SOMETHING_NEW)");
    CHECK(!l->has_luna_ret_value);
    l = luna("rv 0xffffffff (LUNA_RET_SOMETHING_NEW)");
    CHECK(l->has_luna_ret_value);
    CHECK_INT(l->luna_ret_value, 0xffffffffu);
}

/* Pkcs11Exception's "Method {0} returned {1}" prints a vendor code in decimal: Pkcs11Interop
 * issue 156 ("Method C_Sign returned 2147483768", 0x80000078) and the
 * Pkcs7SignatureGenerator issue 1 stack trace. */
static void pkcs11interop_decimal_vendor_code_takes_name(void)
{
    const struct luna_fields *l = luna("Net.Pkcs11Interop.Common.Pkcs11Exception: Method C_Login "
                                       "returned 2147483679");

    CHECK_STRN(l->ckr.p, l->ckr.n, "CKR_UNABLE_TO_CONNECT");
    CHECK(l->has_ckr_value);
    CHECK_INT(l->ckr_value, 0x8000001Fu);

    l = luna("Method C_GenerateKeyPair returned 2147483690");
    CHECK_STRN(l->ckr.p, l->ckr.n, "CKR_HSM_STORAGE_FULL");
    CHECK_INT(l->ckr_value, 0x8000002Au);
}

/* A vendor code Luna does not define keeps its value, with no name. */
static void pkcs11interop_unknown_decimal_code_has_value_only(void)
{
    const struct luna_fields *l = luna("Operation error: Net.Pkcs11Interop.Common.Pkcs11Exception "
                                       "- Method C_GetAttributeValue returned 2164260865");

    CHECK(strv_is_empty(l->ckr));
    CHECK(l->has_ckr_value);
    CHECK_INT(l->ckr_value, 0x81000001u);

    l = luna("Method C_Sign returned 2147483808");
    CHECK(strv_is_empty(l->ckr));
    CHECK_INT(l->ckr_value, 0x800000A0u);
}

/* OpenSC pkcs11-tool p11_fatal: "PKCS11 function %s failed: rv = %s (0x%0x)". */
static void pkcs11_tool_hex_vendor_code_takes_name(void)
{
    const struct luna_fields *l = luna("error: PKCS11 function C_Login failed: rv = unknown "
                                       "PKCS11 error (0x80000035)");

    CHECK_STRN(l->ckr.p, l->ckr.n, "CKR_LOG_FULL");
    CHECK(l->has_ckr_value);
    CHECK_INT(l->ckr_value, 0x80000035u);
}

/* pkcs11-tool's p11_warn names the probed attribute after the function. */
static void pkcs11_tool_attribute_probe_frame_takes_name(void)
{
    const struct luna_fields *l =
            luna("warning: PKCS11 function C_GetAttributeValue(VALUE) failed: "
                 "rv = unknown PKCS11 error (0x8000001a)");

    CHECK_STRN(l->ckr.p, l->ckr.n, "CKR_USER_NOT_AUTHORIZED");
    CHECK_INT(l->ckr_value, 0x8000001Au);
}

/* The Luna JSP's LunaCryptokiException prints the code in hex alone. */
static void luna_jsp_hex_code_takes_name(void)
{
    const struct luna_fields *l = luna("com.safenetinc.luna.exception.LunaCryptokiException: "
                                       "function 'C_WrapKey' returns 0x6a");

    CHECK_STRN(l->ckr.p, l->ckr.n, "CKR_KEY_UNEXTRACTABLE");
    CHECK_INT(l->ckr_value, 0x6A);

    l = luna("function 'C_Login' returns 0x8000002d");
    CHECK_STRN(l->ckr.p, l->ckr.n, "CKR_PED_CLIENT_NOT_RUNNING");
}

/* The JDK's SunPKCS11 names the codes of its RV enum and prints any other in full hex
 * (PKCS11Exception.lookup: "0x" + Functions.toFullHexString), as in eclipse-openj9 issue
 * 15663 ("sun.security.pkcs11.wrapper.PKCS11Exception: 0xCE534351"). */
static void sunpkcs11_hex_vendor_code_takes_name(void)
{
    const struct luna_fields *l = luna("Caused by: sun.security.pkcs11.wrapper.PKCS11Exception: "
                                       "0x8000001F");

    CHECK_STRN(l->ckr.p, l->ckr.n, "CKR_UNABLE_TO_CONNECT");
    CHECK(l->has_ckr_value);
    CHECK_INT(l->ckr_value, 0x8000001Fu);

    l = luna("sun.security.pkcs11.wrapper.PKCS11Exception: 0xCE534351");
    CHECK(strv_is_empty(l->ckr));
    CHECK_INT(l->ckr_value, 0xCE534351u);

    /* Pkcs11Interop's exception is another class with another frame. */
    l = luna("Pkcs11Exception: 0x8000001F");
    CHECK(!l->has_ckr_value);
    l = luna("PKCS11Exception: 0x8000001Fx");
    CHECK(!l->has_ckr_value);
}

/* python-pkcs11 raises PKCS11Error("Unmapped error code %s" % hex(rv)) for a code its
 * ERROR_MAP lacks (pkcs11/_errors.pyx; issue 107: "Unmapped error code 0xa2"). */
static void python_pkcs11_unmapped_code_takes_name(void)
{
    const struct luna_fields *l = luna("pkcs11.exceptions.PKCS11Error: Unmapped error code "
                                       "0x8000002a");

    CHECK_STRN(l->ckr.p, l->ckr.n, "CKR_HSM_STORAGE_FULL");
    CHECK_INT(l->ckr_value, 0x8000002Au);

    l = luna("PKCS11Error('Unmapped error code 0xa2')");
    CHECK_STRN(l->ckr.p, l->ckr.n, "CKR_PIN_LEN_RANGE");
    CHECK_INT(l->ckr_value, 0xA2);
}

/* Go's miekg/pkcs11: fmt.Sprintf("pkcs11: 0x%X: %s", e, strerror[e]), the name empty for a
 * vendor code. The colon after the number belongs to the frame. */
static void go_pkcs11_vendor_code_takes_name(void)
{
    const struct luna_fields *l = luna("error=\"failed to login: pkcs11: 0x8000001F: \"");

    CHECK_STRN(l->ckr.p, l->ckr.n, "CKR_UNABLE_TO_CONNECT");
    CHECK_INT(l->ckr_value, 0x8000001Fu);

    l = luna("failed to decrypt: pkcs11: 0x8000002B:");
    CHECK_STRN(l->ckr.p, l->ckr.n, "CKR_DEVICE_TIMEOUT");

    l = luna("loaded pkcs11: 0x8000001F bytes");
    CHECK(!l->has_ckr_value);
    l = luna("libpkcs11: 0x8000001F: ");
    CHECK(!l->has_ckr_value);
}

/* Numbers outside a known frame are slot ids, sizes, pids: never return codes. The frame's
 * number is taken even when another number comes first. */
static void only_the_framed_number_is_a_code(void)
{
    const struct luna_fields *l = luna("slot 2147483690: Method C_Login returned 2147483679");

    CHECK_STRN(l->ckr.p, l->ckr.n, "CKR_UNABLE_TO_CONNECT");
    CHECK_INT(l->ckr_value, 0x8000001Fu);

    l = luna("slot 2147483679 returned 2147483679 (0x80000021)");
    CHECK(strv_is_empty(l->ckr));
    CHECK(!l->has_ckr_value);

    l = luna("Method C_Login returned 2147483679x");
    CHECK(strv_is_empty(l->ckr));
    CHECK(!l->has_ckr_value);

    l = luna("Method C_Login returned 99999999999");
    CHECK(!l->has_ckr_value);

    /* A name in the frame wins; the number path only fills what is missing. */
    l = luna("Method C_Login returned CKR_PIN_INCORRECT");
    CHECK_STRN(l->ckr.p, l->ckr.n, "CKR_PIN_INCORRECT");
    CHECK_INT(l->ckr_value, 0xA0);
}

int main(void)
{
    TAP_RUN(structured_message_fills_every_field);
    TAP_RUN(structured_message_without_spaces_parses_the_same);
    TAP_RUN(address_after_hex_letters_without_spaces_is_not_joined_to_text);
    TAP_RUN(ipv4_mapped_ipv6_peer_keeps_its_prefix);
    TAP_RUN(ipv6_peer_is_found);
    TAP_RUN(message_without_peer_has_empty_address);
    TAP_RUN(version_number_is_not_a_peer);
    TAP_RUN(unstructured_message_has_no_level_or_code);
    TAP_RUN(rc_in_parentheses_is_found_anywhere);
    TAP_RUN(ckr_hex_before_name_gives_value);
    TAP_RUN(ckr_hex_after_name_gives_value);
    TAP_RUN(hex_beside_unknown_name_gives_value);
    TAP_RUN(ckr_name_alone_takes_value_from_table);
    TAP_RUN(unknown_ckr_name_alone_has_no_value);
    TAP_RUN(luna_ret_name_takes_value_from_table);
    TAP_RUN(luna_ret_name_not_in_table_has_no_value);
    TAP_RUN(names_must_start_a_word);
    TAP_RUN(bare_prefix_is_not_a_name);
    TAP_RUN(first_of_several_names_wins);
    TAP_RUN(empty_message_leaves_everything_empty);
    TAP_RUN(client_port_above_65535_is_absent);
    TAP_RUN(code_past_32_bits_is_absent);
    TAP_RUN(hex_value_past_32_bits_is_absent);
    TAP_RUN(pkcs11interop_decimal_vendor_code_takes_name);
    TAP_RUN(pkcs11interop_unknown_decimal_code_has_value_only);
    TAP_RUN(pkcs11_tool_hex_vendor_code_takes_name);
    TAP_RUN(pkcs11_tool_attribute_probe_frame_takes_name);
    TAP_RUN(luna_jsp_hex_code_takes_name);
    TAP_RUN(sunpkcs11_hex_vendor_code_takes_name);
    TAP_RUN(python_pkcs11_unmapped_code_takes_name);
    TAP_RUN(go_pkcs11_vendor_code_takes_name);
    TAP_RUN(only_the_framed_number_is_a_code);
    return tap_done();
}
