/* Unit tests for term: escaping of what a terminal would act on (C0, DEL, C1, bidi controls,
 * invalid UTF-8) while plain text, tabs and other UTF-8 pass through; the --color and
 * --progress switches with NO_COLOR; the progress text with known and unknown totals and a
 * label cut to the width. (Terminals themselves are exercised by tests/scan_follow.py.) */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "tap.h"
#include "term.h"

static void check_escape(const char *in, size_t n, const char *want)
{
    struct buf b;
    buf_init(&b, 0);
    CHECK_INT(term_escape(&b, in, n), 0);
    CHECK_STR(buf_cstr(&b), want);
    buf_release(&b);
}

#define ESCAPES(lit, want) check_escape(lit, sizeof(lit) - 1, want)

static void escape_keeps_plain_text_tabs_and_utf8(void)
{
    ESCAPES("", "");
    ESCAPES("C_Sign returned CKR_DEVICE_ERROR", "C_Sign returned CKR_DEVICE_ERROR");
    ESCAPES("a\tb", "a\tb");
    ESCAPES("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80",
            "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
    ESCAPES("C:\\dir\\x1b", "C:\\dir\\x1b"); /* backslashes are left as they are */
}

static void escape_shows_c0_controls_and_del(void)
{
    ESCAPES("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m");
    ESCAPES("bell\x07 bs\x08 cr\r lf\n", "bell\\x07 bs\\x08 cr\\x0d lf\\x0a");
    ESCAPES("nul\0x", "nul\\x00x");
    ESCAPES("del\x7f", "del\\x7f");
    ESCAPES("\x1b]0;title\x07", "\\x1b]0;title\\x07");
}

static void escape_shows_c1_controls_and_bidi_overrides(void)
{
    ESCAPES("csi\xC2\x9B"
            "2J",
            "csi\\xc2\\x9b2J");
    ESCAPES("\xC2\x80\xC2\x9F\xC2\xA0", "\\xc2\\x80\\xc2\\x9f\xC2\xA0"); /* NBSP stays */
    ESCAPES("a\xE2\x80\xAE"
            "b",
            "a\\xe2\\x80\\xaeb"); /* U+202E RLO */
    ESCAPES("a\xE2\x81\xA6"
            "b",
            "a\\xe2\\x81\\xa6b"); /* U+2066 LRI */
    ESCAPES("a\xE2\x80\xA9"
            "b",
            "a\xE2\x80\xA9"
            "b"); /* U+2029 is not a bidi control */
}

static void escape_shows_invalid_utf8_bytewise(void)
{
    ESCAPES("\xFF", "\\xff");
    ESCAPES("a\xC3", "a\\xc3");                 /* truncated sequence at the end */
    ESCAPES("\xC0\x80x", "\\xc0\\x80x");        /* overlong NUL */
    ESCAPES("\xED\xA0\x80", "\\xed\\xa0\\x80"); /* surrogate */
}

static void when_parses_the_three_words(void)
{
    enum term_when w = TERM_AUTO;
    CHECK_INT(term_when_parse("always", &w), 0);
    CHECK_INT(w, TERM_ALWAYS);
    CHECK_INT(term_when_parse("never", &w), 0);
    CHECK_INT(w, TERM_NEVER);
    CHECK_INT(term_when_parse("auto", &w), 0);
    CHECK_INT(w, TERM_AUTO);
    CHECK_INT(term_when_parse("sometimes", &w), -1);
    CHECK_INT(term_when_parse("", &w), -1);
}

static void color_follows_switch_terminal_and_no_color(void)
{
    int fds[2];
    CHECK_INT(pipe(fds), 0);
    unsetenv("NO_COLOR");
    CHECK(term_use_color(TERM_ALWAYS, fds[1]));
    CHECK(!term_use_color(TERM_NEVER, fds[1]));
    CHECK(!term_use_color(TERM_AUTO, fds[1])); /* a pipe is no terminal */
    setenv("NO_COLOR", "1", 1);
    CHECK(term_use_color(TERM_ALWAYS, fds[1])); /* an explicit switch wins */
    CHECK(!term_use_color(TERM_AUTO, fds[1]));
    unsetenv("NO_COLOR");
    CHECK(term_use_progress(TERM_ALWAYS, fds[1], true));
    CHECK(!term_use_progress(TERM_NEVER, fds[1], false));
    CHECK(!term_use_progress(TERM_AUTO, fds[1], false));
    close(fds[0]);
    close(fds[1]);
}

static void severity_colours_leave_info_plain(void)
{
    CHECK_STR(term_severity_sgr(SEV_INFO), "");
    CHECK_STR(term_severity_sgr(SEV_CRITICAL), "\x1b[1;31m");
    CHECK_STR(term_severity_sgr(SEV_ERROR), "\x1b[31m");
    CHECK_STR(term_severity_sgr(SEV_WARNING), "\x1b[33m");
}

static void progress_text_known_and_unknown_total(void)
{
    struct buf b;
    buf_init(&b, 0);
    CHECK_INT(term_progress_format(&b, 12u << 20, 48 << 20, 2.0, "messages", 80), 0);
    CHECK_STR(buf_cstr(&b), "12.0 MiB of 48.0 MiB (25%), 6.0 MiB/s  messages");
    buf_reset(&b);
    CHECK_INT(term_progress_format(&b, 512, -1, 0.0, NULL, 80), 0);
    CHECK_STR(buf_cstr(&b), "512 B");
    buf_reset(&b);
    CHECK_INT(term_progress_format(&b, 3000, -1, 1.0, "<stdin>", 80), 0);
    CHECK_STR(buf_cstr(&b), "2.9 KiB, 2.9 KiB/s  <stdin>");
    buf_release(&b);
}

static void progress_text_keeps_the_end_of_a_long_label(void)
{
    struct buf b;
    buf_init(&b, 0);
    const char *label = "support-bundle-hsm-a1-2026-11-28.tgz!var/log/lunalogs/messages.4.gz";
    CHECK_INT(term_progress_format(&b, 1024, 2048, 1.0, label, 60), 0);
    CHECK(b.len <= 59);
    const char *text = buf_cstr(&b);
    CHECK(strstr(text, "  ...") != NULL);
    CHECK(b.len >= 13 && strcmp(text + b.len - 13, "messages.4.gz") == 0);
    buf_reset(&b);
    CHECK_INT(term_progress_format(&b, 0, 10, 1.0, "evil\x1b[2Jname", 80), 0);
    CHECK_STR(buf_cstr(&b), "0 B of 10 B (0%), 0 B/s  evil\\x1b[2Jname");
    buf_release(&b);
}

int main(void)
{
    TAP_RUN(escape_keeps_plain_text_tabs_and_utf8);
    TAP_RUN(escape_shows_c0_controls_and_del);
    TAP_RUN(escape_shows_c1_controls_and_bidi_overrides);
    TAP_RUN(escape_shows_invalid_utf8_bytewise);
    TAP_RUN(when_parses_the_three_words);
    TAP_RUN(color_follows_switch_terminal_and_no_color);
    TAP_RUN(severity_colours_leave_info_plain);
    TAP_RUN(progress_text_known_and_unknown_total);
    TAP_RUN(progress_text_keeps_the_end_of_a_long_label);
    return tap_done();
}
