/* tail-checkpoint.c: gitterstream-tail's checkpoint file: one "ROOM_ID MESSAGE_ID" line per
 * room, read at start and rewritten atomically as messages are delivered. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tail.h"

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The room's line; with add, a new one if there is none (NULL only when out of memory). */
static struct cp_entry *cp_find(struct checkpoint *cp, const char *room, int add)
{
    for (size_t i = 0; i < cp->n; i++)
        if (strcmp(cp->e[i].room, room) == 0)
            return &cp->e[i];
    struct cp_entry *e = add ? realloc(cp->e, (cp->n + 1) * sizeof *e) : NULL;
    if (!e)
        return NULL;
    cp->e = e;
    e += cp->n++;
    memset(e, 0, sizeof *e);
    strcpy(e->room, room);
    return e;
}

/* Reads the file: a missing one is an empty checkpoint. 0, or -1 after saying why. */
int cp_load(struct checkpoint *cp)
{
    cp->written_ms = -CP_INTERVAL_MS;
    cp->tmp = format("%s.tmp", cp->path);
    FILE *f = cp->tmp ? fopen(cp->path, "r") : NULL;
    if (!f) {
        if (cp->tmp && errno == ENOENT)
            return 0;
        fprintf(stderr, PROG ": %s: %s\n", cp->path, cp->tmp ? strerror(errno) : "out of memory");
        return -1;
    }
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t len;
    int rc = 0;
    while (rc == 0 && (len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        size_t room = strspn(line, ROOM_CHARS);
        size_t id = line[room] == ' ' ? strspn(line + room + 1, ID_CHARS) : 0;
        line[room] = '\0';
        struct cp_entry *e = NULL;
        if (room == 0 || room > ROOM_MAX || id == 0 || id > ID_MAX ||
            (size_t)len != room + 1 + id || cp_find(cp, line, 0)) {
            fprintf(stderr,
                    PROG ": %s:%zu: malformed line (expected ROOM_ID MESSAGE_ID, once per room)\n",
                    cp->path, lineno);
            rc = -1;
        } else if (!(e = cp_find(cp, line, 1))) {
            fprintf(stderr, PROG ": out of memory\n");
            rc = -1;
        } else {
            memcpy(e->id, line + room + 1, id);
        }
    }
    if (rc == 0 && ferror(f)) {
        fprintf(stderr, PROG ": %s: read error\n", cp->path);
        rc = -1;
    }
    free(line);
    fclose(f);
    return rc;
}

/* Replaces the file atomically: FILE.tmp, written and synced, renamed over it. */
static int cp_write(struct checkpoint *cp)
{
    cp->written_ms = mono_ms(); /* after a failure too: the next try is as far away */
    int fd = open(cp->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    int ok = f != NULL;
    for (size_t i = 0; ok && i < cp->n; i++)
        ok = !cp->e[i].id[0] || fprintf(f, "%s %s\n", cp->e[i].room, cp->e[i].id) > 0;
    ok = ok && fflush(f) == 0 && fsync(fd) == 0;
    if (f ? fclose(f) != 0 : fd >= 0 && close(fd) != 0)
        ok = 0;
    if (!ok || rename(cp->tmp, cp->path) != 0) {
        fprintf(stderr, PROG ": %s: cannot write the checkpoint: %s\n", cp->tmp, strerror(errno));
        if (fd >= 0)
            unlink(cp->tmp);
        return -1;
    }
    cp->dirty = 0;
    return 0;
}

/* Takes each room's last delivered id, and writes the file if that changed and the last write
 * is CP_INTERVAL_MS old (or now, with force). Returns the ms until it wants to write, or -1. */
long long cp_sync(struct checkpoint *cp, int force)
{
    for (size_t i = 0; !cp->frozen && i < cp->n; i++) {
        const char *id = gitterstream_sub_last_id(cp->e[i].sub);
        if (id && strlen(id) <= ID_MAX && strcmp(id, cp->e[i].id) != 0) {
            strcpy(cp->e[i].id, id);
            cp->dirty = 1;
        }
    }
    if (cp->dirty && (force || cp->written_ms + CP_INTERVAL_MS <= mono_ms()))
        cp_write(cp);
    long long wait = cp->written_ms + CP_INTERVAL_MS - mono_ms();
    return !cp->dirty ? -1 : wait > 0 ? wait : 0;
}

/* Ties the room's checkpoint line to sub, and resumes sub after the id it names. */
int cp_attach(struct checkpoint *cp, gitterstream_sub *sub, const char *label)
{
    const char *room = gitterstream_sub_room(sub);
    struct cp_entry *e = cp_find(cp, room, 1);
    if (!e) {
        fprintf(stderr, PROG ": out of memory\n");
        return -1;
    }
    e->sub = sub;
    int rc = e->id[0] ? gitterstream_sub_resume_after(sub, e->id) : GITTERSTREAM_OK;
    if (rc != GITTERSTREAM_OK)
        fprintf(stderr, PROG ": %s: %s: cannot resume after %s: %s\n", cp->path, label, e->id,
                gitterstream_strerror(rc));
    return rc == GITTERSTREAM_OK ? 0 : -1;
}
