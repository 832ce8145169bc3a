/* standalone.c: runs a libFuzzer target without libFuzzer, so fuzz targets
 * build with any compiler and run as plain tests.
 *
 *   fuzz-standalone FILE... [--mutate N SEED]
 *
 * Each FILE is one input. With --mutate, each file is also mutated N times
 * (byte flips, insertions of delimiters and UTF-8 fragments, truncations)
 * by a generator seeded with SEED, so runs are reproducible. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned long long rng;

static unsigned next(void)
{
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (unsigned)(rng >> 33);
}

static const char *const fragments[] = {
    "\r",       "\n",           "\r\n", " \n",   "{",    "}",        "[",
    "]",        "\"",           "\\",   "\\u00", "\xc3", "\xe2\x82", "\xf0\x9f\x98",
    "\xc0\xaf", "\xed\xa0\x80", "\v",   ",",     ":",    "null"};

static size_t mutate(const uint8_t *in, size_t n, uint8_t *out)
{
    size_t o = 0;
    memcpy(out, in, n);
    o = n;
    int edits = 1 + (int)(next() % 8);
    for (int e = 0; e < edits && o > 0; e++) {
        size_t at = next() % o;
        switch (next() % 4) {
        case 0:
            out[at] = (uint8_t)next();
            break;
        case 1: {
            const char *f = fragments[next() % (sizeof fragments / sizeof *fragments)];
            size_t fl = strlen(f);
            memmove(out + at + fl, out + at, o - at);
            memcpy(out + at, f, fl);
            o += fl;
            break;
        }
        case 2:
            memmove(out + at, out + at + 1, o - at - 1);
            o--;
            break;
        default:
            o = at + (o - at) / 2;
            break;
        }
    }
    return o;
}

int main(int argc, char **argv)
{
    long rounds = 0;
    int files = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--mutate") == 0 && i + 2 < argc) {
            rounds = atol(argv[i + 1]);
            rng = strtoull(argv[i + 2], NULL, 10);
            break;
        }
        files++;
    }
    unsigned long runs = 0;
    for (int i = 1; i <= files; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) {
            perror(argv[i]);
            return 2;
        }
        fseek(f, 0, SEEK_END);
        size_t n = (size_t)ftell(f);
        fseek(f, 0, SEEK_SET);
        uint8_t *data = malloc(n + 1);
        uint8_t *mutated = malloc(n + 8 * 16 + 1);
        if (!data || !mutated || fread(data, 1, n, f) != n)
            return 2;
        fclose(f);
        LLVMFuzzerTestOneInput(data, n);
        runs++;
        for (long r = 0; r < rounds; r++, runs++)
            LLVMFuzzerTestOneInput(mutated, mutate(data, n, mutated));
        free(mutated);
        free(data);
    }
    printf("%lu inputs decoded alike however split\n", runs);
    return 0;
}
