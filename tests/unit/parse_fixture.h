/* Shared by the parser suites: one parser and one record, re-initialised for every line. */
#ifndef HSMLOG_PARSE_FIXTURE_H
#define HSMLOG_PARSE_FIXTURE_H

#include <stdint.h>

#include "parse.h"

static struct parser parser;
static struct record rec;

/* Parses line with a fresh parser (year 2026 as given by --year, UTC) into rec. The record
 * may borrow from the parser's scratch buffer, so the parser lives until the next call. */
static const struct record *parse(const char *line)
{
    parser_release(&parser);
    parser_init(&parser, 2026, 0, 0);
    parse_line(&parser, strv_from_cstr(line), &rec);
    return &rec;
}

static int64_t utc(int y, int mo, int d, int h, int mi, int s, int us)
{
    return parse_time_civil(y, mo, d, h, mi, s, us);
}

#endif
