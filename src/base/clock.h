/* The monotonic clock, the one source of intervals (lock timeouts, commit pacing, progress,
 * timings); never a log time, which comes from the lines (parse_time.h). */
#ifndef HSMLOG_CLOCK_H
#define HSMLOG_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Nanoseconds of CLOCK_MONOTONIC since an arbitrary start. */
static inline int64_t clock_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

#endif
