/* What a room says: the JSON of its messages and events (compact or pretty-printed), its room
 * object, and the REST chatMessages query over the part of its timeline already posted. */
#ifndef FAKESERVER_ROOM_H
#define FAKESERVER_ROOM_H

#include "buf.h"
#include "scenario.h"

/* wall0_ms is the wall-clock time (epoch ms) at scenario time 0, for the "sent" field. */
void message_json(struct buf *out, const struct room *room, enum resource_kind kind,
                  const struct message *m, long long wall0_ms, int pretty);

void room_json(struct buf *out, const struct room *room);

/* GET /v1/rooms/{id}/chatMessages?query: returns the HTTP status and writes the body to out. */
int room_rest_messages(const struct room *room, const char *query, size_t query_len,
                       long long wall0_ms, struct buf *out);

/* The string value of a top-level key in a small JSON object (the POST /v1/rooms body), decoded;
 * -1 if absent or not a string. */
int json_get_string(const char *json, size_t len, const char *key, struct buf *out);

#endif
