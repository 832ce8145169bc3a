/* tail.h: what the parts of gitterstream-tail share: names, limits, the
 * checkpoint file (tail-checkpoint.c) and resolving room names (tail-resolve.c). */
#ifndef TAIL_H
#define TAIL_H

#include <gitterstream.h>

#define PROG            "gitterstream-tail"
#define DEFAULT_API_URL "https://api.gitter.im"
#define MAX_ANSWER      (1024 * 1024)
#define ID_CHARS        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
#define ROOM_CHARS      ID_CHARS "-_.~"
#define ROOM_MAX        128 /* the longest room id gitterstream_subscribe() takes */
#define ID_MAX          63  /* the longest id gitterstream_sub_resume_after() takes */
#define CP_INTERVAL_MS  1000

struct options {
    const char *token_file, *stream_url, *api_url, *ca_file, *checkpoint;
    int events, pretty;
};

/* The checkpoint file's lines: those read at start, then one per room followed (id "" until the
 * room's first message). */
struct cp_entry {
    char room[ROOM_MAX + 1], id[ID_MAX + 1];
    gitterstream_sub *sub;
};

struct checkpoint {
    const char *path;
    char *tmp;
    struct cp_entry *e;
    size_t n;
    int dirty, frozen;
    long long written_ms;
};

/* tail-checkpoint.c */
int cp_load(struct checkpoint *cp);
long long cp_sync(struct checkpoint *cp, int force);
int cp_attach(struct checkpoint *cp, gitterstream_sub *sub, const char *label);

/* tail-resolve.c */
char *format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *resolve_uri(const char *uri, const char *token, const char *api_url, const char *ca_file);

/* gitterstream-tail.c */
void wipe(char *s);

#endif
