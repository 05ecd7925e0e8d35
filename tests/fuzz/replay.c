/* Without libFuzzer: runs a fuzz target over every file named on the command line (the seed
 * corpus under fixtures/fuzz/), so the targets build and run in every test run, under the
 * sanitizers too. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"

int main(int argc, char **argv)
{
    int failed = 0;
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) {
            perror(argv[i]);
            failed = 1;
            continue;
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
        printf("ok %d - %s\n", i, argv[i]);
    }
    printf("1..%d\n", argc - 1);
    return failed;
}
