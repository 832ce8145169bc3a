/* test-fakeserver-tls.c: gitterstream-fakeserver over TLS, with a self-signed certificate that the
 * openssl program makes at test time: a client verifying against that certificate gets a
 * streamed item, a client that does not trust it fails the handshake. Without the openssl
 * program the tests are not registered and the run reports a skip (exit 77).
 * Usage: test-fakeserver-tls SERVER_BINARY */
#include "test-support.h"

#include <check.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[4096], cert_path[4200], key_path[4200], openssl_log[4200];
static int have_cert;

/* Whether name is an executable file in a directory of $PATH. */
static int in_path(const char *name)
{
    const char *path = getenv("PATH");
    while (path && *path) {
        size_t len = strcspn(path, ":");
        char file[4200];
        snprintf(file, sizeof file, "%.*s/%s", (int)(len ? len : 1), len ? path : ".", name);
        if (access(file, X_OK) == 0)
            return 1;
        path += len + (path[len] == ':');
    }
    return 0;
}

/* Unchecked fixture: makes the key and certificate in a temporary directory, once. */
static void make_cert(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/fakeserver-tls-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        return;
    snprintf(cert_path, sizeof cert_path, "%s/cert.pem", dir);
    snprintf(key_path, sizeof key_path, "%s/key.pem", dir);
    snprintf(openssl_log, sizeof openssl_log, "%s/openssl.log", dir);
    pid_t pid = fork();
    if (pid == 0) {
        int in = open("/dev/null", O_RDONLY);
        int out = open(openssl_log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (in < 0 || out < 0)
            _exit(127);
        dup2(in, STDIN_FILENO);
        dup2(out, STDOUT_FILENO);
        dup2(out, STDERR_FILENO);
        execlp("openssl", "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
               "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout",
               key_path, "-out", cert_path, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    have_cert =
        pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!have_cert) { /* the teardown removes the log: show it now */
        FILE *f = fopen(openssl_log, "r");
        char line[512];
        while (f && fgets(line, sizeof line, f))
            fprintf(stderr, "openssl: %s", line);
        if (f)
            fclose(f);
    }
}

static void remove_cert(void)
{
    unlink(cert_path);
    unlink(key_path);
    unlink(openssl_log);
    rmdir(dir);
}

static fakeserver *start_tls(void)
{
    ck_assert_msg(have_cert, "openssl req did not make a certificate (its output is above)");
    const char *args[] = {"--tls-cert", cert_path, "--tls-key", key_path, NULL};
    fakeserver *fs = ts_start_args("room " ROOM "\n post 1000 every 15 start 50\n"
                                   " conn default stream end-after 1\n",
                                   args);
    char url[64];
    snprintf(url, sizeof url, "https://127.0.0.1:%d", fakeserver_port(fs));
    ck_assert_str_eq(fakeserver_url(fs), url);
    return fs;
}

/* A client context that verifies the server, trusting the test certificate or nothing. */
static SSL_CTX *client_ctx(int trust_cert)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    ck_assert_ptr_nonnull(ctx);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if (trust_cert)
        ck_assert_int_eq(SSL_CTX_load_verify_locations(ctx, cert_path, NULL), 1);
    return ctx;
}

/* Connects over TLS to 127.0.0.1:port, the name checked being that IP; reads and writes time
 * out after a while so that a test cannot hang. *ok says whether the handshake succeeded. */
static SSL *tls_connect(SSL_CTX *ctx, int port, int *fd, int *ok)
{
    *fd = ts_connect(port);
    struct timeval tv = {0, 250 * 1000};
    setsockopt(*fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    SSL *ssl = SSL_new(ctx);
    ck_assert_ptr_nonnull(ssl);
    ck_assert_int_eq(X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), "127.0.0.1"), 1);
    SSL_set_fd(ssl, *fd);
    long long deadline = ts_mono_ms() + WAIT_MS;
    int rc;
    while ((rc = SSL_connect(ssl)) <= 0 && SSL_get_error(ssl, rc) == SSL_ERROR_WANT_READ &&
           ts_mono_ms() < deadline)
        ;
    *ok = rc == 1;
    return ssl;
}

/* Reads until the server closes or WAIT_MS pass. */
static void tls_read_all(SSL *ssl, struct buf *out)
{
    long long deadline = ts_mono_ms() + WAIT_MS;
    char tmp[16384];
    while (ts_mono_ms() < deadline) {
        int n = SSL_read(ssl, tmp, sizeof tmp);
        if (n > 0)
            buf_add(out, tmp, (size_t)n);
        else if (SSL_get_error(ssl, n) != SSL_ERROR_WANT_READ)
            break;
    }
    buf_add(out, "", 0);
}

START_TEST(test_tls_client_verifying_the_certificate_gets_a_streamed_item)
{
    fakeserver *fs = start_tls();
    SSL_CTX *ctx = client_ctx(1);
    int fd, ok;
    SSL *ssl = tls_connect(ctx, fakeserver_port(fs), &fd, &ok);
    ck_assert_msg(ok, "handshake failed: %s",
                  X509_verify_cert_error_string(SSL_get_verify_result(ssl)));
    ck_assert_int_eq(SSL_get_verify_result(ssl), X509_V_OK);
    const char *req =
        "GET " STREAM_PATH " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    ck_assert_int_eq(SSL_write(ssl, req, (int)strlen(req)), (int)strlen(req));
    struct buf raw = {0};
    tls_read_all(ssl, &raw);
    SSL_free(ssl);
    close(fd);
    SSL_CTX_free(ctx);
    static struct chunked c;
    ts_dechunk(&raw, &c);
    ck_assert_int_eq(c.status, 200);
    ck_assert(c.complete);
    ck_assert_uint_eq(c.n, 1);
    ck_assert_int_eq(c.payload.data[0], '{');
    ck_assert_uint_eq(ts_count(c.payload.data, "\"readBy\""), 1);
    ts_chunked_free(&c);
    buf_free(&raw);
    ts_stop(fs);
}
END_TEST

START_TEST(test_tls_client_not_trusting_the_certificate_fails_the_handshake)
{
    fakeserver *fs = start_tls();
    SSL_CTX *ctx = client_ctx(0);
    int fd, ok;
    SSL *ssl = tls_connect(ctx, fakeserver_port(fs), &fd, &ok);
    long verify = SSL_get_verify_result(ssl);
    SSL_free(ssl);
    close(fd);
    SSL_CTX_free(ctx);
    ERR_clear_error();
    ck_assert(!ok);
    ck_assert_int_eq(verify, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT);
    ts_stop(fs);
}
END_TEST

int main(int argc, char **argv)
{
    ts_init(argc, argv, 2, "");
    if (!in_path("openssl")) {
        /* Check has no skip: register nothing, say why, and exit as a skip for meson */
        printf("the openssl program is not in PATH: the TLS tests are not registered\n");
        return 77;
    }
    Suite *s = suite_create("fakeserver-tls");
    TCase *tc = tcase_create("tls");
    tcase_set_timeout(tc, 30);
    tcase_add_unchecked_fixture(tc, make_cert, remove_cert);
    tcase_add_test(tc, test_tls_client_verifying_the_certificate_gets_a_streamed_item);
    tcase_add_test(tc, test_tls_client_not_trusting_the_certificate_fails_the_handshake);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
