/* `hsmlog help TOPIC`: the topics that are not a command. The same text is in hsmlog(1),
 * hsmlog-rules(5) and README.md; keep them in step. */
#include <string.h>

#include "cmd.h"

static const char formats_help[] =
        "Output formats (--format of query, incidents, rules list, rules path, parse)\n"
        "\n"
        "  table       aligned columns for people (the default, except for parse); times\n"
        "              as 2026-11-28 13:10:12 (UTC, to the second). On a terminal, rows\n"
        "              are fitted to its width (TIOCGWINSZ, else $COLUMNS): the least\n"
        "              important columns are narrowed first (a cut cell ends in an\n"
        "              ellipsis), then hidden; times and rule ids are never cut. Into a\n"
        "              pipe or file nothing is cut, and a long cell keeps its separator.\n"
        "  csv         RFC 4180: a header line, CRLF line ends, fields with a comma, a quote\n"
        "              or any control character quoted, quotes doubled. NULL is empty. On\n"
        "              a terminal, control characters show escaped as in a table.\n"
        "  json        NDJSON: one JSON object per row and line, keys = column names, NULL\n"
        "              as null, integers and reals as numbers; a column read from a JSON\n"
        "              column of the schema (findings.fields, incidents.key ...) as a JSON\n"
        "              value. (json used to print one array: that shape is now json-array.)\n"
        "  json-array  one JSON array holding every row as an object.\n"
        "\n"
        "Log text is untrusted. In table output, 'hsmlog report' and scan's text, control\n"
        "characters, C1 controls, bidirectional overrides and bytes that are not UTF-8 are\n"
        "shown escaped byte by byte as \\xNN (ESC is \\x1b; a table cell escapes tabs too),\n"
        "so no log line can move the cursor, recolour or retitle your terminal. CSV and\n"
        "JSON are always valid UTF-8: invalid bytes and NUL become U+FFFD; JSON escapes\n"
        "every control character, DEL, C1 control and bidi override as \\uXXXX.\n"
        "\n"
        "Column names are stable: for query they are the SQL result columns; incidents:\n"
        "id, severity, rule, host, first_ts, last_ts, count, state, summary, cause; rules\n"
        "list: id, severity, program, summary, enabled, origin, then (not in a table, whose\n"
        "first line is the pack's version) pack_version, digest, refs; rules path: origin,\n"
        "path, exists, used;\n"
        "parse: see 'hsmlog parse --help'.\n"
        "\n"
        "Input formats (scan, parse) are recognised line by line, never chosen: RFC 3164\n"
        "with or without <PRI>, RFC 5424, the Luna 'syslog tail' form, journalctl -o short,\n"
        "short-precise, short-iso, short-iso-precise, short-full, with-unit, short-unix,\n"
        "short-monotonic, short-delta (no wall time), json, json-seq, json-sse,\n"
        "json-pretty and export (one record over many lines), bare\n"
        "'program[pid]:' lines and plain text. Text with no header at all (journalctl -o\n"
        "cat) takes --program and --host. UTF-16 with a byte order mark is decoded; gzip\n"
        "and archives are read by content; a directory is read recursively.\n"
        "\n"
        "Examples:\n"
        "  hsmlog query --format csv \"SELECT * FROM findings\" > findings.csv\n"
        "  hsmlog incidents --format json | jq -r .summary\n"
        "  hsmlog parse /var/log/messages | jq 'select(.program == \"NTLS\")'\n";

static const char exit_help[] =
        "Exit status\n"
        "\n"
        "  0  success\n"
        "  1  scan --fail-on: a finding at or above the given severity;\n"
        "     rules test: a rule test failed\n"
        "  2  usage error, rule-file error, database error (also a bad query statement),\n"
        "     output could not be written\n"
        "  3  the scan (or parse) finished, but some input could not be read in full:\n"
        "     a missing or unreadable file, a truncated or damaged gzip or archive, a\n"
        "     decompression bomb stopped. Everything readable was scanned and stored.\n"
        "\n"
        "When several apply, the first in the order 2, 3, 1 wins.\n"
        "\n"
        "Example:\n"
        "  hsmlog scan --fail-on error /var/log/messages || echo \"status $?\"\n";

static const char environment_help[] =
        "Environment and files\n"
        "\n"
        "  HSMLOG_DB       the database when --db is not given\n"
        "  XDG_STATE_HOME  else the database is $XDG_STATE_HOME/hsmlog/hsmlog.db,\n"
        "                  else ~/.local/state/hsmlog/hsmlog.db\n"
        "  HSMLOG_RULES    rule files or directories, colon-separated, when no --rules\n"
        "                  is given; else the installed rules (PREFIX/share/hsmlog/rules,\n"
        "                  also found relative to the binary). 'hsmlog rules path' lists\n"
        "                  every place in order.\n"
        "  HSMLOG_SYSCONFDIR\n"
        "                  the machine's site rules (read after the pack) are in\n"
        "                  $HSMLOG_SYSCONFDIR/hsmlog/rules.d, else\n"
        "                  " HSMLOG_SITE_SYSCONFDIR "/hsmlog/rules.d\n"
        "  XDG_CONFIG_HOME the user's site rules (read after the machine's) are in\n"
        "                  $XDG_CONFIG_HOME/hsmlog/rules.d, else ~/.config/hsmlog/rules.d.\n"
        "                  --no-site-rules reads neither; 'hsmlog help rule-format'.\n"
        "  COLUMNS         terminal width for tables when the terminal does not say\n"
        "  TZ              zone of timestamps that have none, unless --tz names one;\n"
        "                  unset: /etc/localtime; empty: UTC ('hsmlog help time')\n"
        "  TZDIR           where tz database zones are looked up (default\n"
        "                  /usr/share/zoneinfo)\n";

static const char time_help[] =
        "Times (scan, parse)\n"
        "\n"
        "Stored times are UTC, in SQLite's form: 2026-11-28 09:14:03.\n"
        "\n"
        "Zones. Timestamps without a zone (RFC 3164 and journalctl -o short,\n"
        "short-precise, the Luna 'syslog tail' form, ISO without an offset) are local\n"
        "time: read in the zone --tz names, else in TZ, else in /etc/localtime, as\n"
        "journalctl and lnav do. --tz takes a zone of the tz database (Europe/Berlin,\n"
        "from $TZDIR or /usr/share/zoneinfo; a name that is not there is a usage error)\n"
        "or an offset (+01:00, -0800, UTC). A zone gives each line the offset of its own\n"
        "date: in Berlin +02:00 in July, +01:00 in January. A TZ that names no zone is\n"
        "read as UTC, as libc reads it, with a warning. RFC 5424, short-iso, ISO with an\n"
        "offset and journal JSON carry their zone and ignore --tz and TZ. -v says which\n"
        "zone is used.\n"
        "\n"
        "Changes of clocks. A time in the hour skipped when clocks go forward (02:30 on\n"
        "2026-03-29 in Berlin) is read with the offset before the change (01:30Z, where\n"
        "a clock not yet changed puts it). A time in the hour that happens twice when\n"
        "clocks go back (02:30 on 2026-10-25) is the one of its two instants nearer to\n"
        "the line before it in the same input (the later on a tie; the first when no\n"
        "timed line comes before): 02:59 then 02:00 are one minute apart.\n"
        "\n"
        "Years. Year-less timestamps (RFC 3164, short, short-precise) take their year,\n"
        "one file or archive member at a time, from --year, else from the date of the\n"
        "file's modification time (in the zone above), else from its archive's, else\n"
        "from today. A modification time before 1990 (0, the zip minimum of 1980) or\n"
        "more than a day ahead is passed over for the next source; -v says so once. The\n"
        "first line takes that year, or the year before when its date is later, to the\n"
        "day: a file modified on Dec 7 that starts on Dec 10 began the year before. Each\n"
        "later line keeps the year of the line before, except that a step back of more\n"
        "than 183 days (Dec 31 then Jan 1) is a new year, and a date at most 31 days\n"
        "before the line before across New Year (Jan 1 then Dec 31, out of order) is the\n"
        "year before. A forward step of months (March to November) stays in the year.\n"
        "\n"
        "Impossible times. A header whose date or time does not exist (Feb 29 of a\n"
        "common year, Nov 31, 25:00, minute 60) keeps its host, program and message but\n"
        "no time (ts NULL); the line is still matched and never moves the year guess.\n"
        "Such lines are counted in the summary and in sources.bad_time_lines.\n"
        "A leap second (23:59:60) is stored as 23:59:59.\n"
        "\n"
        "Examples:\n"
        "  journalctl -u ntls --since today | hsmlog scan -\n"
        "  hsmlog scan --tz Europe/Berlin --year 2026 hsm-a1-messages.log\n";

static const char rule_format_help[] =
        "Rule files (hsmlog-rules(5); rules/README.md in the source)\n"
        "\n"
        "INI-like text, one stanza per rule. '#' or ';' starts a comment line; a line\n"
        "starting with white space continues the previous value.\n"
        "\n"
        "  [ntls.unknown-ca]\n"
        "  severity = error\n"
        "  program  = NTLS\n"
        "  regex    = SSLAccept is : (?<ssl_error>.*alert unknown ca)\n"
        "  summary  = A client refused the HSM's NTLS server certificate\n"
        "  remedy   = Re-run the certificate exchange between this client and each HSM\n"
        "  refs     = Azure Dedicated HSM troubleshooting: NTLS Certificates out of sync\n"
        "  test     = NTLS[8508]: Error message from SSLAccept is : ... tlsv1 alert unknown ca\n"
        "  test-no  = NTLS[8508]: info : 0 : Incoming connection request... : 192.168.50.2/59415\n"
        "\n"
        "Keys: severity (info, notice, warning, error, critical), regex (PCRE2 on the\n"
        "message; named groups become fields), summary, remedy: required. program\n"
        "(comma-separated, case-insensitive), exclude (PCRE2, repeatable: a line any of\n"
        "them matches does not fire the rule), enabled (yes or no), refs (repeatable),\n"
        "hosts (appliance or any: appliance fires only on a Luna appliance's lines),\n"
        "severity-when and normalize (VALUE where FIELD = A|B), test and test-no\n"
        "(repeatable; 'rules check' wants one of each).\n"
        "\n"
        "Incidents: group-by, carry, gap, threshold (N within DURATION), reset, reset-by\n"
        "(RULE, ...), escalate (N RULE [where FIELD = A|B]), after (RULE, ...) + expect\n"
        "(PATTERN within DURATION), caused-by (RULE within DURATION [same FIELD, ...]\n"
        "[where FIELD = A|B]), limit, incident (a template of {count}, {host}, {first},\n"
        "{last} and group-by fields),\n"
        "test-log and test-incidents. A rule without a regex is derived: raised only by\n"
        "another rule's escalate or by its own after/expect.\n"
        "\n"
        "Site tuning: the *.rules files in " HSMLOG_SITE_SYSCONFDIR "/hsmlog/rules.d, then in\n"
        "~/.config/hsmlog/rules.d, are read after the pack (name order; later wins). A\n"
        "stanza with a loaded rule's id changes only the keys it names: a value replaces a\n"
        "key, or is appended to a repeatable one (exclude, refs, test, test-no, ...); an\n"
        "empty value clears the key; 'enabled = no' turns the rule off. A new id is a new\n"
        "rule. 'hsmlog help environment' says how to move the directories.\n"
        "\n"
        "  [pkcs11.error]\n"
        "  exclude = \\bCKR_SESSION_HANDLE_INVALID\\b\n"
        "  [ntls.rejected-connection]\n"
        "  enabled = no\n"
        "\n"
        "Versions: a pack directory's VERSION file (one line, 2026.12.0) declares its\n"
        "version. What a run uses is that, '+' and a digest of every rule's keys but its\n"
        "tests, site changes included (2026.12.0+3f2a9c1d): 'rules list' shows it, each\n"
        "scan stores it, and an edit tells even without a new VERSION.\n"
        "\n"
        "Check a file of new rules with:\n"
        "  hsmlog --rules my.rules rules check\n"
        "  hsmlog --rules my.rules rules test\n"
        "and a site file that tunes the pack's rules, before installing it, by pointing\n"
        "the per-user site directory at a copy:\n"
        "  mkdir -p /tmp/try/hsmlog/rules.d && cp site.rules /tmp/try/hsmlog/rules.d/\n"
        "  XDG_CONFIG_HOME=/tmp/try hsmlog rules check\n";

static const struct {
    const char *name;
    const char *text;
    const char *summary;
} topics[] = {
    { "formats", formats_help, "output formats: table, csv, json (NDJSON), json-array" },
    { "exit", exit_help, "exit statuses" },
    { "environment", environment_help, "environment variables and where files are" },
    { "time", time_help, "how times are read: zones, clock changes, years, impossible dates" },
    { "rule-format", rule_format_help, "the rule file format (also: rules-format)" },
    { "rules-format", rule_format_help, NULL },
};

const char *help_topic(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(topics); i++)
        if (strcmp(topics[i].name, name) == 0)
            return topics[i].text;
    return NULL;
}

const char *help_topic_names(void)
{
    static char names[128];
    if (!names[0])
        for (size_t i = 0, n = 0; i < ARRAY_SIZE(topics); i++)
            if (topics[i].summary && n < sizeof(names))
                n += (size_t)snprintf(names + n, sizeof(names) - n, "%s%s", n ? ", " : "",
                                      topics[i].name);
    return names;
}

void help_list_topics(FILE *fp)
{
    for (size_t i = 0; i < ARRAY_SIZE(topics); i++)
        if (topics[i].summary)
            fprintf(fp, "  %-12s %s\n", topics[i].name, topics[i].summary);
}
