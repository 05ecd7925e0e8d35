/* Without libFuzzer: runs a fuzz target over every file named on the command line, or every
 * file in a directory named there (the seed corpus under fixtures/fuzz/), so the targets build
 * and run in every test run, under the sanitizers too. A directory is read at run time, so
 * seeds added by `scripts/fuzz --merge` are replayed without reconfiguring. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int n_run;

/* Feeds one file to the target and prints its TAP line; returns 1 when it cannot be read. */
static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        printf("not ok %d - %s\n", ++n_run, path);
        return 1;
    }
    uint8_t *data = NULL;
    size_t len = 0, cap = 0, n;
    do {
        if (len == cap) {
            cap = cap ? cap * 2 : 65536;
            uint8_t *v = realloc(data, cap);
            if (!v) {
                free(data);
                fclose(f);
                printf("not ok %d - %s: out of memory\n", ++n_run, path);
                return 1;
            }
            data = v;
        }
        n = fread(data + len, 1, cap - len, f);
        len += n;
    } while (n > 0);
    fclose(f);
    LLVMFuzzerTestOneInput(data, len);
    free(data);
    printf("ok %d - %s\n", ++n_run, path);
    return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int skip_dots(const struct dirent *e)
{
    return e->d_name[0] != '.';
}

/* Replays every file of dir in name order, so a failure is reported at the same place on
 * every run. */
static int replay_dir(const char *dir)
{
    struct dirent **names;
    int n = scandir(dir, &names, skip_dots, by_name);
    if (n < 0) {
        perror(dir);
        printf("not ok %d - %s\n", ++n_run, dir);
        return 1;
    }
    int failed = 0;
    for (int i = 0; i < n; i++) {
        size_t len = strlen(dir) + strlen(names[i]->d_name) + 2;
        char *path = malloc(len);
        if (path) {
            snprintf(path, len, "%s/%s", dir, names[i]->d_name);
            failed |= replay_file(path);
        } else {
            failed = 1;
        }
        free(path);
        free(names[i]);
    }
    free(names);
    return failed;
}

int main(int argc, char **argv)
{
    int failed = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
            failed |= replay_dir(argv[i]);
        else
            failed |= replay_file(argv[i]);
    }
    printf("1..%d\n", n_run);
    return failed;
}
