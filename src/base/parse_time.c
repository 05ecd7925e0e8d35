/* Civil-time arithmetic (Howard Hinnant's days_from_civil) and ISO 8601 parsing with cursors.
 * Hand-written instead of strptime(): strptime is locale- and TZ-dependent and slow on the
 * per-line path, and syslog needs none of its generality. */
#include "parse_time.h"

#include <stdio.h>

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int *ret_y, unsigned *ret_m, unsigned *ret_d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t y = (int64_t)yoe + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *ret_d = doy - (153 * mp + 2) / 5 + 1;
    *ret_m = mp < 10 ? mp + 3 : mp - 9;
    *ret_y = (int)(y + (*ret_m <= 2));
}

int64_t parse_time_civil(int year, int month, int day, int hour, int min, int sec, int usec)
{
    int64_t days = days_from_civil(year, (unsigned)month, (unsigned)day);
    return ((days * 86400 + hour * 3600 + min * 60 + sec) * 1000000) + usec;
}

int parse_time_month(const char *p)
{
    /* Switch on the first letter: cheaper than 12 memcmp calls on every line. */
    switch (p[0]) {
    case 'J':
        if (p[1] == 'a' && p[2] == 'n')
            return 1;
        if (p[1] == 'u' && p[2] == 'n')
            return 6;
        if (p[1] == 'u' && p[2] == 'l')
            return 7;
        return 0;
    case 'F':
        return p[1] == 'e' && p[2] == 'b' ? 2 : 0;
    case 'M':
        if (p[1] == 'a' && p[2] == 'r')
            return 3;
        if (p[1] == 'a' && p[2] == 'y')
            return 5;
        return 0;
    case 'A':
        if (p[1] == 'p' && p[2] == 'r')
            return 4;
        if (p[1] == 'u' && p[2] == 'g')
            return 8;
        return 0;
    case 'S':
        return p[1] == 'e' && p[2] == 'p' ? 9 : 0;
    case 'O':
        return p[1] == 'c' && p[2] == 't' ? 10 : 0;
    case 'N':
        return p[1] == 'o' && p[2] == 'v' ? 11 : 0;
    case 'D':
        return p[1] == 'e' && p[2] == 'c' ? 12 : 0;
    }
    return 0;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Reads exactly n digits at p; returns -1 when any is not a digit. */
static int digits(const char *p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!is_digit(p[i]))
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

size_t parse_time_clock(struct strv s, int *ret_hour, int *ret_min, int *ret_sec, int *ret_usec)
{
    if (s.n < 8 || s.p[2] != ':' || s.p[5] != ':')
        return 0;
    int h = digits(s.p, 2), m = digits(s.p + 3, 2), sec = digits(s.p + 6, 2);
    if (h < 0 || m < 0 || sec < 0)
        return 0;
    size_t i = 8;
    int usec = 0;
    if (i < s.n && (s.p[i] == '.' || s.p[i] == ',') && i + 1 < s.n && is_digit(s.p[i + 1])) {
        int scale = 100000;
        for (i++; i < s.n && is_digit(s.p[i]); i++) {
            usec += (s.p[i] - '0') * scale; /* digits past microseconds are dropped */
            scale /= 10;
        }
    }
    *ret_hour = h;
    *ret_min = m;
    *ret_sec = sec;
    *ret_usec = usec;
    return i;
}

static int days_in_month(int year, int month)
{
    static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

bool parse_time_valid(const struct civil_time *c)
{
    return c->year >= 1 && c->month >= 1 && c->month <= 12 && c->day >= 1 &&
           c->day <= days_in_month(c->year, c->month) && c->hour >= 0 && c->hour <= 23 &&
           c->min >= 0 && c->min <= 59 && c->sec >= 0 && c->sec <= 60 && c->usec >= 0 &&
           c->usec <= 999999;
}

int64_t parse_time_civil_us(const struct civil_time *c)
{
    /* A leap second (23:59:60) folds into :59: POSIX time has no room for it. */
    return parse_time_civil(c->year, c->month, c->day, c->hour, c->min, c->sec == 60 ? 59 : c->sec,
                            c->usec);
}

/* Parses a zone suffix at s: "Z", "+HH:MM", "+HHMM" or "+HH". Returns bytes consumed (0 when
 * there is none) and the offset in seconds east of UTC. */
static size_t zone_suffix(struct strv s, int *ret_offset)
{
    if (s.n >= 1 && s.p[0] == 'Z') {
        *ret_offset = 0;
        return 1;
    }
    if (s.n < 3 || (s.p[0] != '+' && s.p[0] != '-'))
        return 0;
    int hh = digits(s.p + 1, 2), mm = 0;
    size_t used = 3;
    if (hh < 0 || hh > 23)
        return 0;
    if (s.n >= 6 && s.p[3] == ':' && (mm = digits(s.p + 4, 2)) >= 0)
        used = 6;
    else if (s.n >= 5 && (mm = digits(s.p + 3, 2)) >= 0)
        used = 5;
    else
        mm = 0;
    if (mm > 59)
        return 0;
    int off = hh * 3600 + mm * 60;
    *ret_offset = s.p[0] == '-' ? -off : off;
    return used;
}

size_t parse_time_iso_fields(struct strv s, struct civil_time *ret, bool *ret_zoned,
                             int *ret_offset_s)
{
    if (s.n < 19 || s.p[4] != '-' || s.p[7] != '-' || (s.p[10] != 'T' && s.p[10] != ' '))
        return 0;
    struct civil_time c = { .year = digits(s.p, 4),
                            .month = digits(s.p + 5, 2),
                            .day = digits(s.p + 8, 2) };
    if (c.year < 0 || c.month < 0 || c.day < 0)
        return 0;
    size_t n = parse_time_clock(strv_make(s.p + 11, s.n - 11), &c.hour, &c.min, &c.sec, &c.usec);
    if (!n)
        return 0;
    size_t i = 11 + n;
    int off = 0;
    size_t z = zone_suffix(strv_make(s.p + i, s.n - i), &off);
    *ret = c;
    *ret_zoned = z > 0;
    *ret_offset_s = off;
    return i + z;
}

size_t parse_time_iso(struct strv s, int default_offset_s, int64_t *ret_us, bool *ret_zoned)
{
    struct civil_time c;
    bool zoned;
    int off;
    size_t n = parse_time_iso_fields(s, &c, &zoned, &off);
    if (!n || !parse_time_valid(&c))
        return 0;
    *ret_zoned = zoned;
    *ret_us = parse_time_civil_us(&c) - (int64_t)(zoned ? off : default_offset_s) * 1000000;
    return n;
}

/* Writes "YYYY-MM-DD?HH:MM:SS" with sep at '?' and returns the microseconds left over. */
static unsigned format_seconds(int64_t us, char sep, char *p)
{
    int64_t secs = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
    int64_t frac = us - secs * 1000000;
    int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    int64_t rem = secs - days * 86400;
    int y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    /* Fixed-width fields, written by hand: the values are range-bound by construction, and
     * this avoids snprintf on the path that formats every finding's time. */
    unsigned yy = (unsigned)(y < 0 ? 0 : y % 10000), hh = (unsigned)(rem / 3600),
             mi = (unsigned)(rem / 60 % 60), ss = (unsigned)(rem % 60);
    p[0] = (char)('0' + yy / 1000);
    p[1] = (char)('0' + yy / 100 % 10);
    p[2] = (char)('0' + yy / 10 % 10);
    p[3] = (char)('0' + yy % 10);
    p[4] = '-';
    p[5] = (char)('0' + m / 10);
    p[6] = (char)('0' + m % 10);
    p[7] = '-';
    p[8] = (char)('0' + d / 10);
    p[9] = (char)('0' + d % 10);
    p[10] = sep;
    p[11] = (char)('0' + hh / 10);
    p[12] = (char)('0' + hh % 10);
    p[13] = ':';
    p[14] = (char)('0' + mi / 10);
    p[15] = (char)('0' + mi % 10);
    p[16] = ':';
    p[17] = (char)('0' + ss / 10);
    p[18] = (char)('0' + ss % 10);
    return (unsigned)frac;
}

static void format_micro(unsigned micro, char *p)
{
    p[0] = '.';
    for (int i = 6; i >= 1; i--) {
        p[i] = (char)('0' + micro % 10);
        micro /= 10;
    }
}

void parse_time_format(int64_t us, char out[PARSE_TIME_ISO_LEN])
{
    unsigned micro = format_seconds(us, ' ', out);
    if (micro == 0) {
        out[19] = '\0';
        return;
    }
    format_micro(micro, out + 19);
    out[26] = '\0';
}

void parse_time_format_rfc3339(int64_t us, char out[PARSE_TIME_ISO_LEN])
{
    format_micro(format_seconds(us, 'T', out), out + 19);
    out[26] = 'Z';
    out[27] = '\0';
}

int parse_time_offset(const char *s, int *ret_offset_s)
{
    struct strv v = strv_from_cstr(s);
    if (strv_eq(v, "UTC") || strv_eq(v, "utc")) {
        *ret_offset_s = 0;
        return 0;
    }
    int off;
    size_t n = zone_suffix(v, &off);
    if (n == 0 || n != v.n)
        return -1;
    *ret_offset_s = off;
    return 0;
}

void parse_zone_fixed(struct parse_zone *z, int offset_s)
{
    memset(z, 0, sizeof(*z));
    z->offset_s = offset_s;
    int a = offset_s < 0 ? -offset_s : offset_s;
    if (offset_s == 0)
        snprintf(z->name, sizeof(z->name), "UTC");
    else
        snprintf(z->name, sizeof(z->name), "%c%02d:%02d", offset_s < 0 ? '-' : '+', a / 3600,
                 a / 60 % 60);
}

static void zone_tzdb(struct parse_zone *z, const char *name)
{
    memset(z, 0, sizeof(*z));
    z->tzdb = true;
    snprintf(z->name, sizeof(z->name), "%s", name);
    for (size_t i = 0; i < ARRAY_SIZE(z->hours); i++)
        z->hours[i].hour = INT64_MIN;
    z->last_start_us = INT64_MAX;
    tzset();
}

/* Returns true when path is a file that starts like a TZif file (RFC 8536 §3.1: the magic
 * "TZif"). A directory ("Europe") or any other file is not a zone. */
static bool is_tzif(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    char magic[4];
    bool ok = read(fd, magic, sizeof(magic)) == (ssize_t)sizeof(magic) &&
              memcmp(magic, "TZif", 4) == 0;
    close(fd);
    return ok;
}

/* Returns true when name (as TZ would hold it, a leading ':' allowed) is a zone of the tz
 * database, looked up the way glibc does: an absolute path as it is, else under $TZDIR or
 * /usr/share/zoneinfo. */
static bool tzdb_has(const char *name)
{
    if (*name == ':')
        name++;
    if (!*name)
        return false;
    if (*name == '/')
        return is_tzif(name);
    const char *dir = getenv("TZDIR");
    char path[4096];
    int n = snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
    return n > 0 && (size_t)n < sizeof(path) && is_tzif(path);
}

int parse_zone_init(struct parse_zone *z, const char *spec, struct hl_err *err)
{
    int off;
    if (parse_time_offset(spec, &off) == 0) {
        parse_zone_fixed(z, off);
        return 0;
    }
    if (!tzdb_has(spec))
        return hl_err_set(err, HL_EUSAGE, NULL,
                          "'%s' is no offset such as +01:00 and no zone of the tz database "
                          "such as Europe/Berlin",
                          spec);
    if (setenv("TZ", spec, 1) < 0)
        return hl_err_errno(err, HL_ENOMEM, NULL, "cannot set TZ");
    zone_tzdb(z, *spec == ':' ? spec + 1 : spec);
    return 0;
}

int parse_zone_local(struct parse_zone *z, struct hl_err *err)
{
    const char *tz = getenv("TZ");
    if (!tz) {
        /* glibc reads /etc/localtime; its link target names the zone for messages. */
        char target[256];
        ssize_t n = readlink("/etc/localtime", target, sizeof(target) - 1);
        const char *name = "/etc/localtime";
        if (n > 0) {
            target[n] = '\0';
            const char *tail = strstr(target, "zoneinfo/");
            name = tail ? tail + strlen("zoneinfo/") : target;
        }
        zone_tzdb(z, name);
        return 0;
    }
    if (!*tz) {
        parse_zone_fixed(z, 0);
        return 0;
    }
    /* Not a zone file, libc parses TZ as a POSIX rule ("CET-1CEST,M3.5.0,M10.5.0/3"), which
     * always has an offset, so a digit; anything else libc reads as UTC. */
    if (!tzdb_has(tz) && (*tz == ':' || !strpbrk(tz, "0123456789"))) {
        parse_zone_fixed(z, 0);
        return hl_err_set(err, HL_EUSAGE, NULL,
                          "TZ is '%s', which is no zone of the tz database: times without a "
                          "zone are read as UTC",
                          tz);
    }
    zone_tzdb(z, *tz == ':' ? tz + 1 : tz);
    return 0;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* Seconds east of UTC at the UTC time t, from the tz database through TZ. */
static int32_t utc_offset(int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    return localtime_r(&tt, &tm) ? (int32_t)tm.tm_gmtoff : 0;
}

/* Which UTC offsets the local second ls can be read with. A day either side is outside any
 * zone's offset (at most 26 hours apart), so a and b are the offsets before and after the
 * change nearest ls, if there is one. */
static void classify(int64_t ls, struct parse_zone_hour *h)
{
    int32_t a = utc_offset(ls - 86400), b = utc_offset(ls + 86400);
    bool va = utc_offset(ls - a) == a, vb = a != b && utc_offset(ls - b) == b;
    if (va && vb) {
        /* Clocks went back: the offset before the change is the larger one, and its reading
         * is the earlier instant. */
        h->n = 2;
        h->off[0] = HL_MAX(a, b);
        h->off[1] = HL_MIN(a, b);
    } else if (va || vb) {
        h->n = 1;
        h->off[0] = va ? a : b;
    } else {
        h->n = 0;
        h->off[0] = a;
    }
}

static int64_t pick(const struct parse_zone_hour *h, int64_t local_us, int64_t near_us)
{
    int64_t first = local_us - (int64_t)h->off[0] * 1000000;
    if (h->n != 2)
        return first;
    int64_t second = local_us - (int64_t)h->off[1] * 1000000;
    if (near_us == INT64_MIN)
        return first;
    /* |first - near| < |second - near|, without overflow: first < second. */
    if (near_us <= first)
        return first;
    if (near_us >= second)
        return second;
    return near_us - first < second - near_us ? first : second;
}

#define HOUR_US INT64_C(3600000000)

/* The lookup behind parse_zone_to_utc()'s fast path, kept out of line so that the fast path
 * stays a leaf function without a stack frame. */
static __attribute__((noinline)) int64_t tzdb_to_utc(struct parse_zone *z, int64_t local_us,
                                                     int64_t near_us)
{
    int64_t hour = floor_div(local_us, HOUR_US);
    struct parse_zone_hour *h = &z->hours[(uint64_t)hour % PARSE_ZONE_HOURS];
    if (h->hour != hour) {
        /* The whole hour reads alike when its first and last second do: clocks change at
         * most once an hour. */
        struct parse_zone_hour end;
        classify(hour * 3600, h);
        classify(hour * 3600 + 3599, &end);
        if (end.n != h->n || end.off[0] != h->off[0] || (h->n == 2 && end.off[1] != h->off[1]))
            h->n = -1;
        h->hour = hour;
    }
    if (h->n == 1) {
        z->last_start_us = hour * HOUR_US;
        z->last_off_us = (int64_t)h->off[0] * 1000000;
    }
    if (h->n >= 0)
        return pick(h, local_us, near_us);
    struct parse_zone_hour one;
    classify(floor_div(local_us, 1000000), &one);
    return pick(&one, local_us, near_us);
}

int64_t parse_zone_to_utc(struct parse_zone *z, int64_t local_us, int64_t near_us)
{
    if (!z)
        return local_us;
    if (!z->tzdb)
        return local_us - (int64_t)z->offset_s * 1000000;
    /* Most lines fall in the hour of the line before: no division, no table. */
    if (local_us >= z->last_start_us && local_us - z->last_start_us < HOUR_US)
        return local_us - z->last_off_us;
    return tzdb_to_utc(z, local_us, near_us);
}

bool parse_zone_abbrev(const struct parse_zone *z, int64_t us, char *out, size_t n)
{
    if (!n)
        return false;
    if (!z || !z->tzdb) { /* a fixed offset has no name, except UTC */
        if (z && z->offset_s)
            return false;
        snprintf(out, n, "UTC");
        return true;
    }
    time_t t = (time_t)floor_div(us, 1000000);
    struct tm tm;
    if (!localtime_r(&t, &tm) || !tm.tm_zone)
        return false;
    snprintf(out, n, "%s", tm.tm_zone);
    return true;
}

void parse_zone_civil(struct parse_zone *z, int64_t us, struct civil_time *ret)
{
    int64_t secs = floor_div(us, 1000000);
    if (z && z->tzdb) {
        time_t t = (time_t)secs;
        struct tm tm;
        if (localtime_r(&t, &tm)) {
            *ret = (struct civil_time){ tm.tm_year + 1900,
                                        tm.tm_mon + 1,
                                        tm.tm_mday,
                                        tm.tm_hour,
                                        tm.tm_min,
                                        tm.tm_sec,
                                        (int)(us - secs * 1000000) };
            return;
        }
    }
    if (z && !z->tzdb)
        secs += z->offset_s;
    int64_t days = floor_div(secs, 86400), rem = secs - days * 86400;
    unsigned m, d;
    civil_from_days(days, &ret->year, &m, &d);
    ret->month = (int)m;
    ret->day = (int)d;
    ret->hour = (int)(rem / 3600);
    ret->min = (int)(rem / 60 % 60);
    ret->sec = (int)(rem % 60);
    ret->usec = (int)(us - floor_div(us, 1000000) * 1000000);
}

void year_guess_init(struct year_guess *g, int base_year, int ref_month, int ref_day)
{
    g->base_year = base_year;
    g->ref_month = ref_month;
    g->ref_day = ref_day;
    g->year = 0;
    g->last_days = 0;
}

int year_guess_peek(const struct year_guess *g, int month, int day)
{
    if (g->year == 0) {
        /* Lines are written before the file's last change, so a first line dated after it
         * (to the day: Dec 10 in a file changed on Dec 7) is from the year before. */
        bool later = g->ref_month &&
                     (month > g->ref_month || (month == g->ref_month && day > g->ref_day));
        return later ? g->base_year - 1 : g->base_year;
    }
    /* A day that the month lacks in this year (Feb 29) counts as the next one: near enough
     * to choose a year, and the date is checked in the year chosen. */
    int64_t step = days_from_civil(g->year, (unsigned)month, (unsigned)day) - g->last_days;
    if (step < -YEAR_GUESS_ROLLOVER_DAYS)
        return g->year + 1;
    /* Logs run forward, so a forward step of any size is taken as it is, unless the same date
     * a year earlier is a short step back: a line out of order across New Year. */
    if (step > 0) {
        int64_t back = g->last_days - days_from_civil(g->year - 1, (unsigned)month, (unsigned)day);
        if (back <= YEAR_GUESS_BACK_DAYS)
            return g->year - 1;
    }
    return g->year;
}

int year_guess_next(struct year_guess *g, int month, int day)
{
    g->year = year_guess_peek(g, month, day);
    g->last_days = days_from_civil(g->year, (unsigned)month, (unsigned)day);
    return g->year;
}

void parse_time_year_month(int64_t us, int *ret_year, int *ret_month)
{
    int64_t secs = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
    int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    int y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    *ret_year = y;
    *ret_month = (int)m;
}
