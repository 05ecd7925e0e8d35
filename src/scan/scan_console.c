/* The console host (scan_console.h): which appliance's lunash session a pasted line is in.
 * Only header-less lines without a time are given it: a syslog line names its own host. */
#include "scan_console.h"

#include <string.h>
#include <strings.h>

/* If s starts with `[NAME]`, blanks, then shell (`lunash:>` or `lunacm:>`), returns true with
 * NAME in *ret_name; without the brackets NAME is empty. The blank is optional: the LunaCM 6.2
 * reference prints both `[myluna] lunacm:>` and `[myluna]lunacm:>`. */
static bool prompt(struct strv s, const char *shell, struct strv *ret_name)
{
    struct strv name = STRV_NULL;
    size_t i = 0;
    if (s.n && s.p[0] == '[') {
        const char *close = memchr(s.p, ']', s.n);
        if (!close || close == s.p + 1)
            return false;
        name = strv_make(s.p + 1, (size_t)(close - s.p) - 1);
        if (memchr(name.p, ' ', name.n) || memchr(name.p, '\t', name.n))
            return false;
        i = (size_t)(close - s.p) + 1;
        while (i < s.n && (s.p[i] == ' ' || s.p[i] == '\t'))
            i++;
    }
    size_t len = strlen(shell);
    if (s.n - i < len || strncasecmp(s.p + i, shell, len) != 0)
        return false;
    *ret_name = name;
    return true;
}

void console_host_reset(struct console_host *c)
{
    c->n = 0;
}

void console_host_note(struct console_host *c, struct record *rec)
{
    if (rec->format != FMT_PLAIN || rec->has_ts)
        return;
    struct strv name;
    if (prompt(rec->message, "lunash:>", &name)) {
        /* Another session: a prompt without a usable name leaves its HSM unknown. */
        c->n = name.n < sizeof(c->name) ? name.n : 0;
        if (c->n)
            memcpy(c->name, name.p, c->n);
    } else if (prompt(rec->message, "lunacm:>", &name)) {
        c->n = 0; /* client side: a bracket there names the client, not an HSM */
    }
    if (c->n && !rec->host.n)
        rec->host = strv_make(c->name, c->n);
}
