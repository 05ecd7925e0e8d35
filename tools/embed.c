/* Build-time helper: turns a text file into a C array so the SQL schema ships inside the
 * binary without a runtime file lookup. Usage: embed NAME INPUT OUTPUT. */
#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: embed NAME INPUT OUTPUT\n");
        return 2;
    }
    FILE *in = fopen(argv[2], "rb");
    FILE *out = fopen(argv[3], "w");
    if (!in || !out) {
        perror("embed");
        return 1;
    }
    fprintf(out, "/* Generated from %s by tools/embed.c; do not edit. */\n", argv[2]);
    fprintf(out, "extern const char %s[];\nconst char %s[] = {", argv[1], argv[1]);
    int c;
    unsigned long n = 0;
    while ((c = fgetc(in)) != EOF)
        fprintf(out, "%s0x%02x,", n++ % 16 ? " " : "\n    ", (unsigned)c);
    fprintf(out, "\n    0x00\n};\n");
    if (ferror(in) || fclose(out) != 0) {
        perror("embed");
        return 1;
    }
    fclose(in);
    return 0;
}
