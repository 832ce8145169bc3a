/* TLS for the fake server's listener (OpenSSL): the context from the certificate and key files,
 * and nonblocking handshake, read and write that say which poll event they wait for. */
#ifndef FAKESERVER_TLS_H
#define FAKESERVER_TLS_H

#include <stddef.h>
#include <sys/types.h>

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

#define IO_AGAIN (-2) /* would block; *want says on which poll event to retry */
#define IO_ERROR (-1)

SSL_CTX *tls_context(const char *cert_file, const char *key_file);
void tls_context_free(SSL_CTX *ctx);
SSL *tls_new(SSL_CTX *ctx, int fd);
/* 1: done; IO_AGAIN; IO_ERROR. */
int tls_handshake(SSL *ssl, short *want);
/* Bytes moved (>0), 0 at end of stream (read only), IO_AGAIN or IO_ERROR. */
ssize_t tls_read(SSL *ssl, void *buf, size_t len, short *want);
ssize_t tls_write(SSL *ssl, const void *buf, size_t len, short *want);
/* Sends close_notify when it can without blocking, then frees. */
void tls_close(SSL *ssl, int graceful);

#endif
