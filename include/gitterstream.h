/**
 * @file gitterstream.h
 * @brief libgitterstream: a client library for the Gitter Streaming API.
 *
 * One public header with a stable C ABI. Every type is opaque, every enum
 * has explicit values that never change (new values are only appended), and
 * no feature is reachable only through a macro or an inline function, so
 * bindings through any FFI see the whole library.
 *
 * Conventions used by every function below:
 * - Functions returning @c int return @ref GITTERSTREAM_OK (0) on success
 *   and a negative @c GITTERSTREAM_E_* code on failure.
 * - A call that fails never invokes its callback.
 * - Strings passed in are copied; the caller keeps ownership of its own.
 * - Pointers handed to a callback are borrowed and valid until the callback
 *   returns. Copy what must outlive it.
 * - An object and all that comes from it are used by one thread at a time.
 */
#ifndef GITTERSTREAM_H
#define GITTERSTREAM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @defgroup version Version
 * @{
 */

/** Major version of these headers. @since 0.1.0 */
#define GITTERSTREAM_VERSION_MAJOR 0
/** Minor version of these headers. @since 0.1.0 */
#define GITTERSTREAM_VERSION_MINOR 1
/** Patch version of these headers. @since 0.1.0 */
#define GITTERSTREAM_VERSION_PATCH 0
/** Version of these headers as a string, "major.minor.patch". @since 0.1.0 */
#define GITTERSTREAM_VERSION "0.1.0"

/**
 * The version of the library that is loaded at run time.
 *
 * Compare it with @ref GITTERSTREAM_VERSION to detect a program built against
 * other headers than the library it runs with.
 *
 * @returns a static string "major.minor.patch"; never NULL, never freed.
 * @since 0.1.0
 */
const char *gitterstream_version(void);

/** @} */

/**
 * @defgroup errors Errors
 * @{
 */

/**
 * The error codes, as one list: `XX(NAME, value, "description")`.
 *
 * The enum @ref gitterstream_errno, gitterstream_strerror() and the library's
 * own tables are all generated from this list, so they cannot disagree.
 * Each entry becomes `GITTERSTREAM_E_<NAME> = value`:
 *
 * | code                         | value | meaning                                    |
 * |------------------------------|-------|--------------------------------------------|
 * | GITTERSTREAM_E_INVALID       | -1    | an argument is invalid                     |
 * | GITTERSTREAM_E_NOMEM         | -2    | memory could not be allocated              |
 * | GITTERSTREAM_E_STATE         | -3    | the call is not allowed now                |
 * | GITTERSTREAM_E_NETWORK       | -4    | connect, DNS, TLS or transfer failed       |
 * | GITTERSTREAM_E_HTTP          | -5    | the server answered an unexpected status   |
 * | GITTERSTREAM_E_AUTH          | -6    | authentication failed (HTTP 401 or 403)    |
 * | GITTERSTREAM_E_NOT_FOUND     | -7    | not found (HTTP 404, or 400 bad room id)   |
 * | GITTERSTREAM_E_RATE_LIMITED  | -8    | rate limited (HTTP 429)                    |
 * | GITTERSTREAM_E_STALL         | -9    | no bytes arrived within the stall timeout  |
 * | GITTERSTREAM_E_PARSE         | -10   | an item is not one valid JSON object       |
 * | GITTERSTREAM_E_TOO_LARGE     | -11   | an item exceeds the size limit             |
 * | GITTERSTREAM_E_CLOSED        | -12   | the server ended the stream                |
 *
 * @param XX a macro taking (name, value, description).
 * @since 0.1.0
 */
#define GITTERSTREAM_ERRNO_MAP(XX)                                                                 \
    XX(INVALID, -1, "invalid argument")                                                            \
    XX(NOMEM, -2, "out of memory")                                                                 \
    XX(STATE, -3, "operation not allowed in this state")                                           \
    XX(NETWORK, -4, "network error")                                                               \
    XX(HTTP, -5, "unexpected HTTP status")                                                         \
    XX(AUTH, -6, "authentication failed")                                                          \
    XX(NOT_FOUND, -7, "not found")                                                                 \
    XX(RATE_LIMITED, -8, "rate limited")                                                           \
    XX(STALL, -9, "stream stalled")                                                                \
    XX(PARSE, -10, "malformed item")                                                               \
    XX(TOO_LARGE, -11, "item too large")                                                           \
    XX(CLOSED, -12, "stream closed by the server")

/** @cond INTERNAL */
#define GITTERSTREAM__ERRNO_ENUM(name, value, text) GITTERSTREAM_E_##name = value,
/** @endcond */

/**
 * Result codes: @ref GITTERSTREAM_OK, and the negative codes of
 * @ref GITTERSTREAM_ERRNO_MAP.
 * @since 0.1.0
 */
typedef enum gitterstream_errno {
    GITTERSTREAM_OK = 0, /**< Success. @since 0.1.0 */
    GITTERSTREAM_ERRNO_MAP(GITTERSTREAM__ERRNO_ENUM)
} gitterstream_errno;

/**
 * Describe a result code.
 *
 * @param code @ref GITTERSTREAM_OK or a @c GITTERSTREAM_E_* code.
 * @returns a static English description; "unknown error" for a code that
 *          is not in @ref GITTERSTREAM_ERRNO_MAP. Never NULL, never freed.
 * @since 0.1.0
 */
const char *gitterstream_strerror(int code);

/**
 * One error, as handed to an @c on_error callback.
 *
 * Opaque; read it with the @c gitterstream_error_* accessors. Borrowed:
 * valid until the callback returns.
 * @since 0.1.0
 */
typedef struct gitterstream_error gitterstream_error;

/**
 * The code of an error.
 *
 * @param e the error; borrowed.
 * @returns a negative @c GITTERSTREAM_E_* code, or @c GITTERSTREAM_E_INVALID
 *          if @p e is NULL.
 * @since 0.1.0
 */
int gitterstream_error_code(const gitterstream_error *e);

/**
 * The HTTP status behind an error.
 *
 * @param e the error; borrowed.
 * @returns the status code the server answered, or 0 if the error did not
 *          come from an HTTP status (or @p e is NULL).
 * @since 0.1.0
 */
long gitterstream_error_http_status(const gitterstream_error *e);

/**
 * A human-readable description of an error, with details such as the byte
 * offset of a malformed item. Never contains the access token.
 *
 * @param e the error; borrowed.
 * @returns a NUL-terminated string, borrowed from @p e (valid until the
 *          callback returns); "" if @p e is NULL.
 * @since 0.1.0
 */
const char *gitterstream_error_text(const gitterstream_error *e);

/**
 * When the next attempt will be made after an error.
 *
 * @param e the error; borrowed.
 * @returns milliseconds until the next connection attempt; 0 when the error
 *          did not interrupt the stream (a malformed item that was skipped);
 *          -1 when the subscription has stopped for good (or @p e is NULL).
 * @since 0.1.0
 */
long gitterstream_error_retry_ms(const gitterstream_error *e);

/** @} */

/**
 * @defgroup options Options and statistics
 * @{
 */

/**
 * Options, set with the typed setters. Each option is either a string option
 * or an integer option; using the other setter fails with
 * @c GITTERSTREAM_E_INVALID.
 * @since 0.1.0
 */
typedef enum gitterstream_option {
    /** (string) The access token, sent only as an `Authorization: Bearer` header to
     *  the configured hosts; never logged. @since 0.1.0 */
    GITTERSTREAM_OPT_TOKEN = 1,
    /** (string) Base URL of the streaming API; default "https://stream.gitter.im".
     *  @since 0.1.0 */
    GITTERSTREAM_OPT_STREAM_URL = 2,
    /** (string) Base URL of the REST API; default "https://api.gitter.im". @since 0.1.0 */
    GITTERSTREAM_OPT_API_URL = 3,
    /** (string) The User-Agent header; default "libgitterstream/<version>". @since 0.1.0 */
    GITTERSTREAM_OPT_USER_AGENT = 4,
    /** (string) A file of CA certificates (PEM) to verify servers with, instead of the
     *  system's. @since 0.1.0 */
    GITTERSTREAM_OPT_CA_FILE = 5,
    /** (string) A proxy URL for every request of the handle; unset: the usual proxy
     *  environment variables apply; "": no proxy. @since 0.1.0 */
    GITTERSTREAM_OPT_PROXY = 6,
    /** (integer) Milliseconds without any byte before a stream counts as stalled;
     *  default 90000. @since 0.1.0 */
    GITTERSTREAM_OPT_STALL_TIMEOUT_MS = 7,
    /** (integer) Milliseconds allowed to connect; default 30000. @since 0.1.0 */
    GITTERSTREAM_OPT_CONNECT_TIMEOUT_MS = 8,
    /** (integer) Largest item in bytes, 16 to 1073741824; default 1048576. Also a
     *  parser option. @since 0.1.0 */
    GITTERSTREAM_OPT_MAX_MESSAGE_BYTES = 9,
    /** (integer) Deepest nesting of objects and arrays in an item, 1 to 4096;
     *  default 64. Also a parser option. @since 0.1.0 */
    GITTERSTREAM_OPT_MAX_DEPTH = 10,
    /** (integer, 0 or 1) Fill reconnect gaps from the REST API; default 1. @since 0.1.0 */
    GITTERSTREAM_OPT_BACKFILL = 11,
    /** (integer) Milliseconds of streaming after which a connection counts as healthy
     *  and the retry count is reset; default 60000. @since 0.1.0 */
    GITTERSTREAM_OPT_HEALTHY_AFTER_MS = 12,
    /** (integer) Seed for the reconnect jitter, for reproducible tests. @since 0.1.0 */
    GITTERSTREAM_OPT_RANDOM_SEED = 13
} gitterstream_option;

/**
 * Counters kept per subscription.
 * @since 0.1.0
 */
typedef enum gitterstream_stat {
    GITTERSTREAM_STAT_MESSAGES = 0,     /**< chat messages delivered. @since 0.1.0 */
    GITTERSTREAM_STAT_EVENTS = 1,       /**< events delivered. @since 0.1.0 */
    GITTERSTREAM_STAT_KEEPALIVES = 2,   /**< keep-alives received. @since 0.1.0 */
    GITTERSTREAM_STAT_BYTES = 3,        /**< bytes of stream bodies received. @since 0.1.0 */
    GITTERSTREAM_STAT_CONNECTS = 4,     /**< connections that got a 200. @since 0.1.0 */
    GITTERSTREAM_STAT_RECONNECTS = 5,   /**< connection attempts after the first. @since 0.1.0 */
    GITTERSTREAM_STAT_PARSE_ERRORS = 6, /**< malformed items skipped. @since 0.1.0 */
    GITTERSTREAM_STAT_OVERSIZE = 7,     /**< items over the size limit skipped. @since 0.1.0 */
    GITTERSTREAM_STAT_STALLS = 8,       /**< stalls detected. @since 0.1.0 */
    GITTERSTREAM_STAT_BACKFILLED = 9,   /**< messages delivered from the REST gap-fill.
                                             @since 0.1.0 */
    GITTERSTREAM_STAT_DUPLICATES = 10   /**< already-delivered items dropped. @since 0.1.0 */
} gitterstream_stat;

/** @} */

/**
 * @defgroup items Items
 * @{
 */

/**
 * One item of a stream: a chat message or an event, as a JSON object.
 *
 * Opaque; read it with the @c gitterstream_msg_* accessors. Borrowed: valid
 * until the callback that received it returns, and so is every string an
 * accessor returns for it.
 * @since 0.1.0
 */
typedef struct gitterstream_msg gitterstream_msg;

/**
 * The item's JSON text, exactly as received: from its first to its last
 * non-whitespace byte, without the delimiter.
 *
 * @param m the item; borrowed.
 * @param len if not NULL, receives the length in bytes (without the NUL).
 * @returns the NUL-terminated JSON text, borrowed from @p m; NULL if @p m is
 *          NULL (then @p len, if given, receives 0).
 * @since 0.1.0
 */
const char *gitterstream_msg_json(const gitterstream_msg *m, size_t *len);

/**
 * A string member of the item, found by a dotted path.
 *
 * Each path component names an object member, or, where the value is an
 * array, an index from 0: "fromUser.username", "mentions.0.screenName".
 * Member names that contain a dot cannot be reached this way; read them
 * from gitterstream_msg_json().
 *
 * @param m the item; borrowed.
 * @param path the dotted path; NUL-terminated.
 * @returns the string, unescaped, as NUL-terminated UTF-8 (a lone surrogate
 *          escape becomes U+FFFD; an escaped NUL ends the C string early).
 *          Borrowed from @p m: valid until the callback returns, also across
 *          further accessor calls. NULL if the path is absent, the value is
 *          not a string, an argument is NULL, or memory ran out.
 * @since 0.1.0
 */
const char *gitterstream_msg_str(const gitterstream_msg *m, const char *path);

/**
 * An integer member of the item, found by a dotted path as in
 * gitterstream_msg_str().
 *
 * @param m the item; borrowed.
 * @param path the dotted path; NUL-terminated.
 * @param out receives the value on success; untouched on failure.
 * @returns @ref GITTERSTREAM_OK; @c GITTERSTREAM_E_NOT_FOUND if the path is
 *          absent; @c GITTERSTREAM_E_INVALID if an argument is NULL or the
 *          value is not an integer (a fraction, an exponent, another type)
 *          or does not fit in a long long.
 * @since 0.1.0
 */
int gitterstream_msg_int(const gitterstream_msg *m, const char *path, long long *out);

/**
 * Whether the item came from the REST gap-fill after a reconnect rather than
 * from the live stream.
 *
 * @param m the item; borrowed.
 * @returns 1 for a back-filled item, 0 for a live one (or @p m NULL).
 * @since 0.1.0
 */
int gitterstream_msg_is_backfill(const gitterstream_msg *m);

/** @} */

/**
 * @defgroup handle The handle
 *
 * One handle owns one libcurl multi handle and any number of subscriptions.
 * The host drives it: gitterstream_run() blocks; gitterstream_poll() does
 * one turn; or the host's own event loop watches the descriptors and the one
 * timer the library asks for (gitterstream_set_watch(),
 * gitterstream_set_timer()). Callbacks run only inside those calls, on the
 * calling thread.
 * @{
 */

/**
 * A client of the streaming API. Opaque; create with gitterstream_new().
 * @since 0.1.0
 */
typedef struct gitterstream gitterstream;

/**
 * One subscription: a room and one of its resources. Opaque; owned by its
 * handle, valid from gitterstream_subscribe() until gitterstream_unsubscribe()
 * or gitterstream_free().
 * @since 0.1.0
 */
typedef struct gitterstream_sub gitterstream_sub;

/**
 * The resource of a room a subscription streams.
 * @since 0.1.0
 */
typedef enum gitterstream_resource {
    GITTERSTREAM_CHAT_MESSAGES = 0, /**< `chatMessages`: new messages. @since 0.1.0 */
    GITTERSTREAM_EVENTS = 1         /**< `events`: room events. @since 0.1.0 */
} gitterstream_resource;

/**
 * The state of a subscription, reported through the state callback.
 * @since 0.1.0
 */
typedef enum gitterstream_state {
    GITTERSTREAM_CONNECTING = 0,  /**< a connection attempt is under way. @since 0.1.0 */
    GITTERSTREAM_STREAMING = 1,   /**< the server answered 200; items flow. @since 0.1.0 */
    GITTERSTREAM_BACKFILLING = 2, /**< filling a reconnect gap from the REST API.
                                       @since 0.1.0 */
    GITTERSTREAM_WAITING = 3,     /**< waiting before the next attempt. @since 0.1.0 */
    GITTERSTREAM_STOPPED = 4      /**< stopped for good. @since 0.1.0 */
} gitterstream_state;

/**
 * What a host loop is asked to watch a descriptor for; 0 means stop
 * watching it.
 * @since 0.1.0
 */
typedef enum gitterstream_watch_flags {
    GITTERSTREAM_WATCH_IN = 1, /**< readable. @since 0.1.0 */
    GITTERSTREAM_WATCH_OUT = 2 /**< writable. @since 0.1.0 */
} gitterstream_watch_flags;

/**
 * Create a handle with default options and no subscription.
 *
 * @returns a new handle, owned by the caller (free it with
 *          gitterstream_free()); NULL only when out of memory or when
 *          libcurl cannot be initialised.
 * @since 0.1.0
 */
gitterstream *gitterstream_new(void);

/**
 * Free a handle, its subscriptions and its connections. Nothing calls back
 * once this returns.
 *
 * @param gs the handle, or NULL (nothing happens). Not from inside one of
 *        its callbacks: there the call is refused and reported through the
 *        error callback as @c GITTERSTREAM_E_STATE.
 * @since 0.1.0
 */
void gitterstream_free(gitterstream *gs);

/**
 * Set a string option. The value is copied; it applies from the next
 * connection attempt on.
 *
 * @param gs the handle.
 * @param opt a string option of @ref gitterstream_option.
 * @param value the value, NUL-terminated; NULL resets the option to its
 *        default (for @ref GITTERSTREAM_OPT_PROXY that is unset, so the usual proxy
 *        environment variables apply).
 * @returns @ref GITTERSTREAM_OK; @c GITTERSTREAM_E_INVALID for a NULL handle,
 *          an integer option, or a bad value (a URL that is not http or
 *          https, a token or user agent with control characters);
 *          @c GITTERSTREAM_E_NOMEM.
 * @since 0.1.0
 */
int gitterstream_set_str(gitterstream *gs, gitterstream_option opt, const char *value);

/**
 * Set an integer option; it applies from the next connection attempt on.
 *
 * @param gs the handle.
 * @param opt an integer option of @ref gitterstream_option.
 * @param value the value, within the range the option documents.
 * @returns @ref GITTERSTREAM_OK, or @c GITTERSTREAM_E_INVALID for a NULL
 *          handle, a string option or a value out of range.
 * @since 0.1.0
 */
int gitterstream_set_int(gitterstream *gs, gitterstream_option opt, long long value);

/**
 * Set the callback for chat messages (items of @ref GITTERSTREAM_CHAT_MESSAGES
 * subscriptions).
 *
 * @param gs the handle.
 * @param cb called with the subscription, the item (borrowed, valid until
 *        @p cb returns) and @p ud; NULL to drop messages.
 * @param ud user data handed to @p cb.
 * @since 0.1.0
 */
void gitterstream_on_message(gitterstream *gs,
                             void (*cb)(gitterstream_sub *sub, const gitterstream_msg *m, void *ud),
                             void *ud);

/**
 * Set the callback for events (items of @ref GITTERSTREAM_EVENTS
 * subscriptions).
 *
 * @param gs the handle.
 * @param cb called with the subscription, the item (borrowed, valid until
 *        @p cb returns) and @p ud; NULL to drop events.
 * @param ud user data handed to @p cb.
 * @since 0.1.0
 */
void gitterstream_on_event(gitterstream *gs,
                           void (*cb)(gitterstream_sub *sub, const gitterstream_msg *m, void *ud),
                           void *ud);

/**
 * Set the callback for keep-alives.
 *
 * @param gs the handle.
 * @param cb called with the subscription and @p ud; NULL to ignore them.
 * @param ud user data handed to @p cb.
 * @since 0.1.0
 */
void gitterstream_on_keepalive(gitterstream *gs, void (*cb)(gitterstream_sub *sub, void *ud),
                               void *ud);

/**
 * Set the callback for errors: failed connections, HTTP errors, malformed
 * items, stalls, the server ending a stream.
 *
 * @param gs the handle.
 * @param cb called with the subscription (NULL for an error of the handle
 *        itself), the error (borrowed, valid until @p cb returns) and @p ud;
 *        NULL to ignore errors.
 * @param ud user data handed to @p cb.
 * @since 0.1.0
 */
void gitterstream_on_error(gitterstream *gs,
                           void (*cb)(gitterstream_sub *sub, const gitterstream_error *e, void *ud),
                           void *ud);

/**
 * Set the callback for state changes of subscriptions.
 *
 * @param gs the handle.
 * @param cb called with the subscription, its new state and @p ud; NULL to
 *        ignore state changes.
 * @param ud user data handed to @p cb.
 * @since 0.1.0
 */
void gitterstream_on_state(gitterstream *gs,
                           void (*cb)(gitterstream_sub *sub, gitterstream_state state, void *ud),
                           void *ud);

/**
 * Subscribe to a resource of a room. The connection starts on the next turn
 * of the loop, never inside this call. May be called from a callback.
 *
 * @param gs the handle.
 * @param room_id the room's id (1 to 128 characters among letters, digits,
 *        '-', '_', '.' and '~'); copied.
 * @param res the resource.
 * @param out receives the subscription, owned by @p gs; may be NULL.
 * @returns @ref GITTERSTREAM_OK; @c GITTERSTREAM_E_INVALID for a NULL handle,
 *          a bad room id or resource; @c GITTERSTREAM_E_NOMEM.
 * @since 0.1.0
 */
int gitterstream_subscribe(gitterstream *gs, const char *room_id, gitterstream_resource res,
                           gitterstream_sub **out);

/**
 * End a subscription: its connection is closed and it is freed; nothing
 * calls back for it afterwards, and the pointer must not be used again.
 * Safe inside callbacks, its own included.
 *
 * @param sub the subscription.
 * @returns @ref GITTERSTREAM_OK, or @c GITTERSTREAM_E_INVALID if @p sub is NULL.
 * @since 0.1.0
 */
int gitterstream_unsubscribe(gitterstream_sub *sub);

/**
 * Start a chatMessages subscription from a checkpoint: before its first
 * live item, it delivers the messages posted after @p message_id, fetched
 * from the REST API and flagged as back-filled (with
 * @ref GITTERSTREAM_OPT_BACKFILL on), so that a restarted program misses
 * nothing. Call it after gitterstream_subscribe() and before the handle is
 * next driven.
 *
 * @param sub a chatMessages subscription that has not started connecting.
 * @param message_id the id of the last message the program handled, as
 *        gitterstream_sub_last_id() gave it (letters and digits); copied.
 * @returns @ref GITTERSTREAM_OK; @c GITTERSTREAM_E_INVALID for a NULL or
 *          events subscription or a bad id; @c GITTERSTREAM_E_STATE once the
 *          subscription has started connecting.
 * @since 0.1.0
 */
int gitterstream_sub_resume_after(gitterstream_sub *sub, const char *message_id);

/**
 * The id of the last item delivered by a subscription, for checkpoints.
 *
 * @param sub the subscription.
 * @returns the id, borrowed from @p sub and valid until its next item or its
 *          end; NULL before the first item with an id (or @p sub NULL).
 * @since 0.1.0
 */
const char *gitterstream_sub_last_id(const gitterstream_sub *sub);

/**
 * The room id of a subscription.
 *
 * @param sub the subscription.
 * @returns the id given to gitterstream_subscribe(), borrowed from @p sub;
 *          NULL if @p sub is NULL.
 * @since 0.1.0
 */
const char *gitterstream_sub_room(const gitterstream_sub *sub);

/**
 * The resource of a subscription.
 *
 * @param sub the subscription (not NULL).
 * @returns its resource.
 * @since 0.1.0
 */
gitterstream_resource gitterstream_sub_resource(const gitterstream_sub *sub);

/**
 * The current state of a subscription.
 *
 * @param sub the subscription.
 * @returns its state; @ref GITTERSTREAM_STOPPED if @p sub is NULL.
 * @since 0.1.0
 */
gitterstream_state gitterstream_sub_state(const gitterstream_sub *sub);

/**
 * Attach the caller's pointer to a subscription.
 *
 * @param sub the subscription.
 * @param p any pointer; the library never touches it.
 * @since 0.1.0
 */
void gitterstream_sub_set_userdata(gitterstream_sub *sub, void *p);

/**
 * The pointer attached with gitterstream_sub_set_userdata().
 *
 * @param sub the subscription.
 * @returns the pointer, NULL if none was set (or @p sub is NULL).
 * @since 0.1.0
 */
void *gitterstream_sub_userdata(const gitterstream_sub *sub);

/**
 * A counter of a subscription.
 *
 * @param sub the subscription.
 * @param which the counter.
 * @returns its value since the subscription began; 0 for an unknown counter
 *          (or @p sub NULL).
 * @since 0.1.0
 */
unsigned long long gitterstream_sub_stat(const gitterstream_sub *sub, gitterstream_stat which);

/**
 * Drive the handle until every subscription has stopped, or until
 * gitterstream_break().
 *
 * @param gs the handle, not driven by a host loop (no watch or timer
 *        callback set).
 * @returns @ref GITTERSTREAM_OK; @c GITTERSTREAM_E_INVALID for a NULL handle;
 *          @c GITTERSTREAM_E_STATE from inside a callback or with a host loop
 *          set; @c GITTERSTREAM_E_NETWORK if waiting on the descriptors
 *          failed.
 * @since 0.1.0
 */
int gitterstream_run(gitterstream *gs);

/**
 * Make gitterstream_run() return, and a gitterstream_poll() in progress
 * return early. The only function that may be called from another thread
 * (or a signal handler).
 *
 * @param gs the handle.
 * @returns @ref GITTERSTREAM_OK, or @c GITTERSTREAM_E_INVALID for a NULL handle.
 * @since 0.1.0
 */
int gitterstream_break(gitterstream *gs);

/**
 * One turn: wait until a descriptor is ready, the next timer is due, or
 * @p timeout_ms has passed, then process what is ready.
 *
 * @param gs the handle, not driven by a host loop.
 * @param timeout_ms the longest wait, in milliseconds; 0 to not wait, -1 to
 *        wait as long as the library has nothing to do.
 * @returns as gitterstream_run().
 * @since 0.1.0
 */
int gitterstream_poll(gitterstream *gs, int timeout_ms);

/**
 * Drive the handle from the host's event loop: the library calls @p watch
 * for each descriptor it needs watched (with a mask of
 * @ref gitterstream_watch_flags, or 0 to stop watching it), and the host
 * calls gitterstream_fd_ready() when one is ready. Set it before the first
 * turn. @p watch must not call into the library.
 *
 * @param gs the handle.
 * @param watch the callback, returning 0 on success; NULL to let
 *        gitterstream_run() and gitterstream_poll() drive the handle again.
 * @param ud user data handed to @p watch.
 * @returns @ref GITTERSTREAM_OK; @c GITTERSTREAM_E_INVALID for a NULL
 *          handle; @c GITTERSTREAM_E_STATE once connections exist.
 * @since 0.1.0
 */
int gitterstream_set_watch(gitterstream *gs,
                           int (*watch)(gitterstream *gs, int fd, int what, void *ud), void *ud);

/**
 * Drive the handle from the host's event loop: the library keeps one timer
 * in the host through @p timer; when it expires the host calls
 * gitterstream_timer_fired(). @p timer must not call into the library.
 *
 * @param gs the handle.
 * @param timer the callback, with the delay in milliseconds (0: as soon as
 *        possible; -1: cancel the timer), returning 0 on success; NULL to let
 *        gitterstream_run() and gitterstream_poll() drive the handle again.
 * @param ud user data handed to @p timer.
 * @returns @ref GITTERSTREAM_OK; @c GITTERSTREAM_E_INVALID for a NULL
 *          handle; @c GITTERSTREAM_E_STATE once connections exist.
 * @since 0.1.0
 */
int gitterstream_set_timer(gitterstream *gs,
                           int (*timer)(gitterstream *gs, long timeout_ms, void *ud), void *ud);

/**
 * Host loop: a watched descriptor is ready. Processes it and anything else
 * that is due.
 *
 * @param gs the handle.
 * @param fd the descriptor.
 * @param what what it is ready for: a mask of @ref gitterstream_watch_flags.
 * @returns @ref GITTERSTREAM_OK; @c GITTERSTREAM_E_INVALID for a NULL handle;
 *          @c GITTERSTREAM_E_STATE from inside a callback.
 * @since 0.1.0
 */
int gitterstream_fd_ready(gitterstream *gs, int fd, int what);

/**
 * Host loop: the timer set through the timer callback expired.
 *
 * @param gs the handle.
 * @returns as gitterstream_fd_ready().
 * @since 0.1.0
 */
int gitterstream_timer_fired(gitterstream *gs);

/** @} */

/**
 * @defgroup parser Decode-only parser
 *
 * The framer and decoder on their own, for hosts that bring their own HTTP
 * client: feed the bytes of a stream body, get items back. Frames end at
 * `\r`, or at `\n` once the JSON value is complete; whitespace between
 * frames is a keep-alive. A malformed or oversized item is reported and
 * skipped, and decoding goes on with the next one.
 * @{
 */

/**
 * A stream decoder. Opaque; create with gitterstream_parser_new().
 * @since 0.1.0
 */
typedef struct gitterstream_parser gitterstream_parser;

/**
 * Create a parser with the default limits (1 MiB per item, depth 64).
 *
 * @returns a new parser, owned by the caller (free it with
 *          gitterstream_parser_free()); NULL only when out of memory.
 * @since 0.1.0
 */
gitterstream_parser *gitterstream_parser_new(void);

/**
 * Set an integer option of a parser. The new value applies from the next
 * item on.
 *
 * @param p the parser.
 * @param opt @ref GITTERSTREAM_OPT_MAX_MESSAGE_BYTES or
 *        @ref GITTERSTREAM_OPT_MAX_DEPTH.
 * @param v the value, within the range the option documents.
 * @returns @ref GITTERSTREAM_OK, or @c GITTERSTREAM_E_INVALID for a NULL
 *          parser, another option or a value out of range.
 * @since 0.1.0
 */
int gitterstream_parser_set_int(gitterstream_parser *p, gitterstream_option opt, long long v);

/**
 * Set the callback for each complete, valid item.
 *
 * @param p the parser.
 * @param cb called with the item (borrowed, valid until @p cb returns) and
 *        @p ud; NULL to stop receiving items.
 * @param ud user data handed to @p cb; not touched by the library.
 * @since 0.1.0
 */
void gitterstream_parser_on_item(gitterstream_parser *p,
                                 void (*cb)(const gitterstream_msg *m, void *ud), void *ud);

/**
 * Set the callback for keep-alives: one call for each run of whitespace
 * between items within one gitterstream_parser_feed() call.
 *
 * @param p the parser.
 * @param cb called with @p ud; NULL to ignore keep-alives.
 * @param ud user data handed to @p cb.
 * @since 0.1.0
 */
void gitterstream_parser_on_keepalive(gitterstream_parser *p, void (*cb)(void *ud), void *ud);

/**
 * Set the callback for malformed items: one call per bad item, with
 * @c GITTERSTREAM_E_PARSE or @c GITTERSTREAM_E_TOO_LARGE. The item is
 * skipped up to its delimiter and decoding goes on.
 *
 * @param p the parser.
 * @param cb called with the error (borrowed, valid until @p cb returns) and
 *        @p ud; NULL to ignore errors.
 * @param ud user data handed to @p cb.
 * @since 0.1.0
 */
void gitterstream_parser_on_error(gitterstream_parser *p,
                                  void (*cb)(const gitterstream_error *e, void *ud), void *ud);

/**
 * Feed bytes of a stream body, in any split. Items, keep-alives and errors
 * are handed to the callbacks, in stream order, before this returns.
 *
 * A callback may call gitterstream_parser_free() on @p p; the rest of the
 * buffer is then dropped and this returns @ref GITTERSTREAM_OK.
 *
 * @param p the parser.
 * @param bytes the bytes; copied where needed, so they may be reused once
 *        this returns. May be NULL when @p len is 0.
 * @param len the number of bytes.
 * @returns @ref GITTERSTREAM_OK, also when malformed items were reported
 *          through the error callback; @c GITTERSTREAM_E_INVALID for bad
 *          arguments; @c GITTERSTREAM_E_STATE when called from one of
 *          @p p's own callbacks; @c GITTERSTREAM_E_NOMEM when memory ran
 *          out (the item being decoded is dropped; items before it were
 *          delivered).
 * @since 0.1.0
 */
int gitterstream_parser_feed(gitterstream_parser *p, const char *bytes, size_t len);

/**
 * Free a parser. An item that has not been completed yet is dropped.
 *
 * @param p the parser, or NULL (nothing happens). May be called from the
 *        parser's own callback: it is then freed once the callback returns.
 * @since 0.1.0
 */
void gitterstream_parser_free(gitterstream_parser *p);

/** @} */

#ifdef __cplusplus
}
#endif

#endif /* GITTERSTREAM_H */
