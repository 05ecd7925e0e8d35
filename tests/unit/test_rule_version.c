/* Unit tests for rule_version: a rule's definition is the stanza of its effective keys without
 * its tests, and its digest changes with what it matches or tells, not with comments, tests,
 * key order or the file it is in; the pack's version is what VERSION declares, '+' and a digest
 * of every rule's, which a site override changes; a bad VERSION file is an error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rule.h"
#include "tap.h"

static struct ruleset rs;
static struct rule_errors errs;

/* Loads text (and site text, when not NULL) into a fresh ruleset and links it; returns the
 * number of errors. */
static int load2(const char *text, const char *site)
{
    rule_errors_release(&errs);
    ruleset_release(&rs);
    ruleset_init(&rs);
    int n = ruleset_load_text(&rs, "t.rules", text, strlen(text), &errs);
    if (site)
        n += ruleset_load_site_text(&rs, "site.rules", site, strlen(site), &errs);
    return n + ruleset_link(&rs, &errs);
}

static int load(const char *text)
{
    return load2(text, NULL);
}

static const char *digest_of(const char *id)
{
    const struct rule *r = ruleset_find(&rs, id);
    return r ? r->digest : "(none)";
}

#define RULE_A                                                             \
    "[a.b]\nseverity = warn\nprogram = NTLS\nregex = bad (?<what>thing)\n" \
    "summary = s\n  continued\nremedy = r\nrefs = one\nrefs = two\n"       \
    "test = NTLS[1]: bad thing\ntest-no = NTLS[1]: good thing\n"
#define RULE_C "[a.c]\nseverity = error\nregex = other\nsummary = s2\nremedy = r2\n"

static void definition_is_the_effective_stanza_without_tests(void)
{
    CHECK_INT(load(RULE_A RULE_C), 0);
    const struct rule *r = ruleset_find(&rs, "a.b");
    CHECK(r && r->definition);
    if (!r || !r->definition)
        return;
    CHECK_STR(r->definition, "[a.b]\nseverity = warning\nprogram = NTLS\n"
                             "regex = bad (?<what>thing)\nsummary = s continued\nremedy = r\n"
                             "refs = one\nrefs = two\n");
    CHECK_INT(strlen(r->digest), RULE_DIGEST_LEN);
    CHECK_INT(strspn(r->digest, "0123456789abcdef"), RULE_DIGEST_LEN);
    /* Unversioned text: the declared part says so, the digest is 8 hex digits. */
    CHECK(rs.version != NULL);
    if (rs.version) {
        CHECK_INT(strncmp(rs.version, "unversioned+", 12), 0);
        CHECK_INT(strlen(rs.version), 12 + RULE_PACK_DIGEST_LEN);
        CHECK_INT(strspn(rs.version + 12, "0123456789abcdef"), RULE_PACK_DIGEST_LEN);
    }
}

static void digest_ignores_comments_tests_key_order_and_files(void)
{
    CHECK_INT(load(RULE_A RULE_C), 0);
    char a[RULE_DIGEST_LEN + 1], version[RULE_PACK_VERSION_MAX + 1];
    snprintf(a, sizeof(a), "%s", digest_of("a.b"));
    snprintf(version, sizeof(version), "%s", rs.version ? rs.version : "");
    /* The same keys in another order, another spelling of the severity, a comment, other
     * tests, and the rules in the other order in two files: the same pack. */
    rule_errors_release(&errs);
    ruleset_release(&rs);
    ruleset_init(&rs);
    const char *c = RULE_C;
    const char *b = "# reworded comment\n[a.b]\nremedy = r\nrefs = one\nrefs = two\n"
                    "summary = s continued\nregex = bad (?<what>thing)\nprogram = NTLS\n"
                    "severity = WARNING\ntest = NTLS[9]: bad thing here\n";
    CHECK_INT(ruleset_load_text(&rs, "c.rules", c, strlen(c), &errs), 0);
    CHECK_INT(ruleset_load_text(&rs, "b.rules", b, strlen(b), &errs), 0);
    CHECK_INT(ruleset_link(&rs, &errs), 0);
    CHECK_STR(digest_of("a.b"), a);
    CHECK_STR(rs.version, version);
}

static void digest_follows_what_the_rule_matches_and_tells(void)
{
    CHECK_INT(load(RULE_A RULE_C), 0);
    char a[RULE_DIGEST_LEN + 1], c[RULE_DIGEST_LEN + 1], version[RULE_PACK_VERSION_MAX + 1];
    snprintf(a, sizeof(a), "%s", digest_of("a.b"));
    snprintf(c, sizeof(c), "%s", digest_of("a.c"));
    snprintf(version, sizeof(version), "%s", rs.version ? rs.version : "");
    static const char *const edits[] = {
        "[a.b]\nseverity = error\n", "[a.b]\nexclude = benign\n", "[a.b]\nremedy = other\n",
        "[a.b]\nrefs = three\n",     "[a.b]\nenabled = no\n",     "[a.b]\nprogram =\n",
    };
    for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
        CHECK_INT(load2(RULE_A RULE_C, edits[i]), 0);
        if (strcmp(digest_of("a.b"), a) == 0 || strcmp(rs.version, version) == 0)
            printf("# the override '%s' did not change the digests\n", edits[i]);
        CHECK(strcmp(digest_of("a.b"), a) != 0);
        CHECK(strcmp(rs.version, version) != 0);
        CHECK_STR(digest_of("a.c"), c); /* the other rule is as it was */
    }
    /* An override that only adds a test changes nothing the rule finds. */
    CHECK_INT(load2(RULE_A RULE_C, "[a.b]\ntest-no = NTLS[1]: bad thing? no, fine\n"), 0);
    CHECK_STR(digest_of("a.b"), a);
    CHECK_STR(rs.version, version);
    /* A rule more is another pack. */
    CHECK_INT(load2(RULE_A RULE_C, "[a.d]\nseverity = info\nregex = x\nsummary = s\nremedy = r\n"),
              0);
    CHECK(strcmp(rs.version, version) != 0);
}

/* Writes text to dir/name. */
static void put_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* Removes the files names (NULL-terminated) of dir, then dir. */
static void remove_dir(const char *dir, const char *const *names)
{
    char path[512];
    for (; *names; names++) {
        snprintf(path, sizeof(path), "%s/%s", dir, *names);
        unlink(path);
    }
    rmdir(dir);
}

static void version_file_declares_the_pack(void)
{
    char dir[] = "/tmp/hsmlog-test-rule-version.XXXXXX";
    char other[] = "/tmp/hsmlog-test-rule-version.XXXXXX";
    CHECK(mkdtemp(dir) != NULL && mkdtemp(other) != NULL);
    put_file(dir, "a.rules", RULE_A);
    put_file(dir, "VERSION", "2026.12.0\n");
    put_file(other, "c.rules", RULE_C);
    put_file(other, "VERSION", "1.0");
    rule_errors_release(&errs);
    ruleset_release(&rs);
    ruleset_init(&rs);
    /* The first directory that declares a version names the pack. */
    CHECK_INT(ruleset_load(&rs, dir, &errs), 0);
    CHECK_INT(ruleset_load(&rs, other, &errs), 0);
    CHECK_INT(ruleset_link(&rs, &errs), 0);
    CHECK_STR(rs.declared, "2026.12.0");
    CHECK(rs.version && strncmp(rs.version, "2026.12.0+", 10) == 0 &&
          strlen(rs.version) == 10 + RULE_PACK_DIGEST_LEN);
    /* The same rules from text: the same digest after another declared version. */
    char digest[RULE_PACK_DIGEST_LEN + 1];
    snprintf(digest, sizeof(digest), "%s", rs.version ? rs.version + 10 : "");
    CHECK_INT(load(RULE_A RULE_C), 0);
    CHECK_STR(rs.version + 12, digest);
    /* A bad file is an error at its path, and declares nothing. */
    put_file(dir, "VERSION", "2026.12.0 beta\n");
    rule_errors_release(&errs);
    ruleset_release(&rs);
    ruleset_init(&rs);
    CHECK_INT(ruleset_load(&rs, dir, &errs), 1);
    CHECK(errs.n == 1 && strstr(errs.v[0].msg, "bad pack version: byte 0x20"));
    char where[600];
    snprintf(where, sizeof(where), "%s/VERSION:1:10", dir);
    if (errs.n == 1)
        CHECK_STR(errs.v[0].where, where);
    CHECK(rs.declared == NULL);
    put_file(dir, "VERSION", "1\n2\n");
    rule_errors_release(&errs);
    ruleset_release(&rs);
    ruleset_init(&rs);
    CHECK_INT(ruleset_load(&rs, dir, &errs), 1);
    CHECK(errs.n == 1 && strstr(errs.v[0].msg, "bad pack version: more than one line"));
    /* A file given alone is no pack directory: its folder's VERSION is not read. */
    char file[600];
    snprintf(file, sizeof(file), "%s/c.rules", other);
    rule_errors_release(&errs);
    ruleset_release(&rs);
    ruleset_init(&rs);
    CHECK_INT(ruleset_load(&rs, file, &errs), 0);
    CHECK_INT(ruleset_link(&rs, &errs), 0);
    CHECK(rs.declared == NULL);
    remove_dir(dir, (const char *[]){ "a.rules", "VERSION", NULL });
    remove_dir(other, (const char *[]){ "c.rules", "VERSION", NULL });
}

int main(void)
{
    ruleset_init(&rs);
    TAP_RUN(definition_is_the_effective_stanza_without_tests);
    TAP_RUN(digest_ignores_comments_tests_key_order_and_files);
    TAP_RUN(digest_follows_what_the_rule_matches_and_tells);
    TAP_RUN(version_file_declares_the_pack);
    rule_errors_release(&errs);
    ruleset_release(&rs);
    return tap_done();
}
