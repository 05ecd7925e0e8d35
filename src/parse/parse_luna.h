/* The structure inside Luna daemon messages (NTLS, lunash, certmonitord, HTLD, oamp ...):
 *
 *     level : code : text [: ip/port] [: RC_NAME]
 *     info : 0xc0000711 : Fail to establish a secure channel with client : 10.1.2.3/5544 :
 * RC_SSL_FAILED_HANDSHAKE
 *
 * plus return-code names found anywhere in any message (RC_*, LUNA_RET_*, CKR_*) and their
 * hex values, and a CK_RV printed only as a number in a known frame (Pkcs11Interop's
 * "Method C_Sign returned 2147483768", pkcs11-tool's "rv = ... (0x80000078)"). Runs only on lines a
 * rule matched, so it favours clarity over speed. */
#ifndef HSMLOG_PARSE_LUNA_H
#define HSMLOG_PARSE_LUNA_H

#include <stdbool.h>
#include <stdint.h>

#include "strv.h"

/* Fields of one message. All slices borrow from the message passed to parse_luna(), except
 * ckr when the line printed only a number: then it is the code table's static name. Absent
 * fields are empty. Invariant: has_*_value is true whenever the matching name was found in
 * the code table or printed next to a hex value, and has_ckr_value also when a known frame
 * printed the number alone. */
struct luna_fields {
    struct strv level;       /* "info", "warning", "error" ... of the structured form */
    struct strv code;        /* "0" or "0xc0000711" as printed; empty past 32 bits */
    struct strv text;        /* the human text between code and ip/port or RC */
    struct strv client_ip;   /* "10.1.2.3" or an IPv6 address */
    struct strv client_port; /* "5544"; empty when not a port (0-65535) */
    struct strv rc;          /* "RC_SSL_FAILED_HANDSHAKE", first RC_* name */
    struct strv luna_ret;    /* first LUNA_RET_* name */
    struct strv ckr;         /* first CKR_* name, or the table's name for a framed number */
    bool has_luna_ret_value; /* luna_ret_value is known */
    uint32_t luna_ret_value; /* numeric LUNA_RET code */
    bool has_ckr_value;      /* ckr_value is known */
    uint32_t ckr_value;      /* numeric CKR code */
};

/* Fills *ret from message. Never fails; fields it cannot find stay empty. */
void parse_luna(struct strv message, struct luna_fields *ret);

/* Only the level/code structure and the client endpoint (level, code, text, client_ip,
 * client_port, rc when it trails): what carried context needs, without the name searches. */
void parse_luna_structure(struct strv message, struct luna_fields *ret);

#endif
