/* OpenSSL glue for the fake server's TLS listener. */
#include "tls.h"

#include <limits.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdio.h>

static void print_errors(const char *what)
{
    fprintf(stderr, "gitterstream-fakeserver: %s\n", what);
    ERR_print_errors_fp(stderr);
}

SSL_CTX *tls_context(const char *cert_file, const char *key_file)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        print_errors("cannot create a TLS context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /* partial writes let one output buffer drain across many poll turns */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
        print_errors("cannot load the TLS certificate");
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        print_errors("cannot load the TLS key");
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

void tls_context_free(SSL_CTX *ctx)
{
    SSL_CTX_free(ctx);
}

SSL *tls_new(SSL_CTX *ctx, int fd)
{
    SSL *ssl = SSL_new(ctx);
    if (ssl && SSL_set_fd(ssl, fd) != 1) {
        SSL_free(ssl);
        return NULL;
    }
    if (ssl)
        SSL_set_accept_state(ssl);
    return ssl;
}

static int classify(SSL *ssl, int rc, short *want)
{
    switch (SSL_get_error(ssl, rc)) {
    case SSL_ERROR_WANT_READ:
        *want = POLLIN;
        return IO_AGAIN;
    case SSL_ERROR_WANT_WRITE:
        *want = POLLOUT;
        return IO_AGAIN;
    case SSL_ERROR_ZERO_RETURN:
        return 0;
    default:
        ERR_clear_error(); /* a peer going away is routine here, not worth a report */
        return IO_ERROR;
    }
}

int tls_handshake(SSL *ssl, short *want)
{
    int rc = SSL_do_handshake(ssl);
    if (rc == 1)
        return 1;
    int c = classify(ssl, rc, want);
    return c == 0 ? IO_ERROR : c;
}

ssize_t tls_read(SSL *ssl, void *buf, size_t len, short *want)
{
    int rc = SSL_read(ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
    return rc > 0 ? rc : classify(ssl, rc, want);
}

ssize_t tls_write(SSL *ssl, const void *buf, size_t len, short *want)
{
    int rc = SSL_write(ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
    if (rc > 0)
        return rc;
    int c = classify(ssl, rc, want);
    return c == 0 ? IO_ERROR : c;
}

void tls_close(SSL *ssl, int graceful)
{
    if (!ssl)
        return;
    if (graceful)
        SSL_shutdown(ssl);
    ERR_clear_error();
    SSL_free(ssl);
}
