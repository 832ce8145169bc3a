/* JSON string literals as the scenario writes them and as the server sends them: decoding
 * with strict UTF-8 checks, "{n}" substitution, escaping; and the room id syntax. */
#ifndef FAKESERVER_JSONSTR_H
#define FAKESERVER_JSONSTR_H

#include "buf.h"

#include <stddef.h>

/* Decodes a JSON string body (the part between the quotes) into UTF-8, replacing "{n}" with
 * number n when n is nonzero. Lone surrogate escapes decode to U+FFFD. Returns -1 if the text is
 * not a valid JSON string body in valid UTF-8. */
int json_string_decode(const char *s, size_t len, unsigned long n, struct buf *out);
/* The literal with "{n}" replaced, still JSON-escaped as the scenario wrote it. */
void json_string_subst(const char *s, size_t len, unsigned long n, struct buf *out);

int is_room_id(const char *s, size_t len);

/* Escapes s for the inside of a JSON string; bytes from 0x80 up pass through as they are. */
void json_escape(struct buf *out, const char *s, size_t len);

#endif
