"""gitterstream.py: Python bindings for libgitterstream, through ctypes (no
compiler, no package outside the standard library).

    import gitterstream
    gs = gitterstream.Stream(token=os.environ["GITTER_TOKEN"])
    gs.on_message = lambda sub, m: print(m.str("fromUser.username"), m.str("text"))
    gs.subscribe("5d0c0ffee0ddba11ab1e5eed")
    gs.run()

Items (Msg) and errors (Error) are valid only inside the callback that
received them, as in C: copy what must outlive it (m.json() returns a copy).
Set LIBGITTERSTREAM to the library's path to use one that is not installed.
"""
import ctypes
import ctypes.util
import os

_lib = ctypes.CDLL(os.environ.get("LIBGITTERSTREAM")
                   or ctypes.util.find_library("gitterstream")
                   or "libgitterstream.so.0")

# Values fixed by the C header; never renumbered.
OPT = dict(token=1, stream_url=2, api_url=3, user_agent=4, ca_file=5, proxy=6,
           stall_timeout_ms=7, connect_timeout_ms=8, max_message_bytes=9, max_depth=10,
           backfill=11, healthy_after_ms=12, random_seed=13)
STAT = ("messages", "events", "keepalives", "bytes", "connects", "reconnects",
        "parse_errors", "oversize", "stalls", "backfilled", "duplicates")
STATES = ("connecting", "streaming", "backfilling", "waiting", "stopped")
CHAT_MESSAGES, EVENTS = 0, 1

_p, _s, _i, _ll = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_longlong


def _fn(name, restype, *argtypes):
    f = getattr(_lib, name)
    f.restype, f.argtypes = restype, list(argtypes)
    return f


_strerror = _fn("gitterstream_strerror", _s, _i)
_version = _fn("gitterstream_version", _s)
_msg_json = _fn("gitterstream_msg_json", ctypes.POINTER(ctypes.c_char), _p,
                ctypes.POINTER(ctypes.c_size_t))
_msg_str = _fn("gitterstream_msg_str", _s, _p, _s)
_msg_int = _fn("gitterstream_msg_int", _i, _p, _s, ctypes.POINTER(_ll))
_msg_is_backfill = _fn("gitterstream_msg_is_backfill", _i, _p)
_err_code = _fn("gitterstream_error_code", _i, _p)
_err_status = _fn("gitterstream_error_http_status", ctypes.c_long, _p)
_err_text = _fn("gitterstream_error_text", _s, _p)
_err_retry = _fn("gitterstream_error_retry_ms", ctypes.c_long, _p)
_new = _fn("gitterstream_new", _p)
_free = _fn("gitterstream_free", None, _p)
_set_str = _fn("gitterstream_set_str", _i, _p, _i, _s)
_set_int = _fn("gitterstream_set_int", _i, _p, _i, _ll)
_subscribe = _fn("gitterstream_subscribe", _i, _p, _s, _i, ctypes.POINTER(_p))
_unsubscribe = _fn("gitterstream_unsubscribe", _i, _p)
_resume_after = _fn("gitterstream_sub_resume_after", _i, _p, _s)
_sub_last_id = _fn("gitterstream_sub_last_id", _s, _p)
_sub_room = _fn("gitterstream_sub_room", _s, _p)
_sub_state = _fn("gitterstream_sub_state", _i, _p)
_sub_stat = _fn("gitterstream_sub_stat", ctypes.c_ulonglong, _p, _i)
_run = _fn("gitterstream_run", _i, _p)
_poll = _fn("gitterstream_poll", _i, _p, _i)
_break = _fn("gitterstream_break", _i, _p)
_parser_new = _fn("gitterstream_parser_new", _p)
_parser_set_int = _fn("gitterstream_parser_set_int", _i, _p, _i, _ll)
_parser_feed = _fn("gitterstream_parser_feed", _i, _p, _s, ctypes.c_size_t)
_parser_free = _fn("gitterstream_parser_free", None, _p)

_MSG_CB = ctypes.CFUNCTYPE(None, _p, _p, _p)
_KA_CB = ctypes.CFUNCTYPE(None, _p, _p)
_ERR_CB = ctypes.CFUNCTYPE(None, _p, _p, _p)
_STATE_CB = ctypes.CFUNCTYPE(None, _p, _i, _p)
_P_ITEM_CB = ctypes.CFUNCTYPE(None, _p, _p)
_P_KA_CB = ctypes.CFUNCTYPE(None, _p)
_P_ERR_CB = ctypes.CFUNCTYPE(None, _p, _p)
for _name, _cb in (("gitterstream_on_message", _MSG_CB), ("gitterstream_on_event", _MSG_CB),
                   ("gitterstream_on_keepalive", _KA_CB), ("gitterstream_on_error", _ERR_CB),
                   ("gitterstream_on_state", _STATE_CB)):
    _fn(_name, None, _p, _cb, _p)
for _name, _cb in (("gitterstream_parser_on_item", _P_ITEM_CB),
                   ("gitterstream_parser_on_keepalive", _P_KA_CB),
                   ("gitterstream_parser_on_error", _P_ERR_CB)):
    _fn(_name, None, _p, _cb, _p)


def version():
    return _version().decode()


class GitterstreamError(Exception):
    def __init__(self, code):
        super().__init__(_strerror(code).decode())
        self.code = code


def _check(rc):
    if rc != 0:
        raise GitterstreamError(rc)


class Msg:
    """One item; valid only inside the callback that received it."""

    def __init__(self, ptr):
        self._p = ptr

    def json(self):
        n = ctypes.c_size_t()
        data = _msg_json(self._p, ctypes.byref(n))
        return ctypes.string_at(data, n.value).decode()

    def str(self, path):
        s = _msg_str(self._p, path.encode())
        return None if s is None else s.decode()

    def int(self, path):
        v = _ll()
        return v.value if _msg_int(self._p, path.encode(), ctypes.byref(v)) == 0 else None

    @property
    def backfill(self):
        return bool(_msg_is_backfill(self._p))


class Error:
    """One error, read at once: safe to keep."""

    def __init__(self, ptr):
        self.code = _err_code(ptr)
        self.http_status = _err_status(ptr)
        self.text = _err_text(ptr).decode()
        self.retry_ms = _err_retry(ptr)

    def __repr__(self):
        return "Error(%d, %r, retry_ms=%d)" % (self.code, self.text, self.retry_ms)


class Sub:
    def __init__(self, ptr):
        self._p = ptr

    room = property(lambda self: _sub_room(self._p).decode())
    state = property(lambda self: STATES[_sub_state(self._p)])

    @property
    def last_id(self):
        s = _sub_last_id(self._p)
        return None if s is None else s.decode()

    def stat(self, name):
        return _sub_stat(self._p, STAT.index(name))

    def resume_after(self, message_id):
        _check(_resume_after(self._p, message_id.encode()))


class Stream:
    """A handle: options as keyword arguments (names of OPT), callbacks as
    attributes: on_message(sub, msg), on_event(sub, msg), on_keepalive(sub),
    on_error(sub or None, error), on_state(sub, state name)."""

    def __init__(self, **options):
        self._p = _new()
        if not self._p:
            raise MemoryError()
        self._subs = {}
        self.on_message = self.on_event = self.on_keepalive = None
        self.on_error = self.on_state = None
        for name, value in options.items():
            self.set(name, value)
        # the C side keeps these pointers: they must live as long as the handle
        self._cbs = (_MSG_CB(lambda s, m, u: self._call(self.on_message, s, Msg(m))),
                     _MSG_CB(lambda s, m, u: self._call(self.on_event, s, Msg(m))),
                     _KA_CB(lambda s, u: self._call(self.on_keepalive, s)),
                     _ERR_CB(lambda s, e, u: self._call(self.on_error, s, Error(e))),
                     _STATE_CB(lambda s, st, u: self._call(self.on_state, s, STATES[st])))
        for name, cb in zip(("message", "event", "keepalive", "error", "state"), self._cbs):
            getattr(_lib, "gitterstream_on_" + name)(self._p, cb, None)

    def _call(self, fn, sub, *args):
        if fn is not None:
            fn(self._subs.get(sub) if sub else None, *args)

    def set(self, name, value):
        opt = OPT[name]
        if isinstance(value, str) or value is None:
            _check(_set_str(self._p, opt, None if value is None else value.encode()))
        else:
            _check(_set_int(self._p, opt, int(value)))

    def subscribe(self, room_id, resource=CHAT_MESSAGES):
        out = _p()
        _check(_subscribe(self._p, room_id.encode(), resource, ctypes.byref(out)))
        sub = Sub(out.value)
        self._subs[out.value] = sub
        return sub

    def unsubscribe(self, sub):
        _check(_unsubscribe(sub._p))
        self._subs.pop(sub._p, None)

    def run(self):
        _check(_run(self._p))

    def poll(self, timeout_ms=-1):
        _check(_poll(self._p, timeout_ms))

    def break_(self):
        _check(_break(self._p))

    def close(self):
        if self._p:
            _free(self._p)
            self._p = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()


class Parser:
    """The decode-only parser: feed(bytes) calls on_item(msg),
    on_keepalive() and on_error(error)."""

    def __init__(self, max_message_bytes=None, max_depth=None):
        self._p = _parser_new()
        if not self._p:
            raise MemoryError()
        if max_message_bytes is not None:
            _check(_parser_set_int(self._p, OPT["max_message_bytes"], max_message_bytes))
        if max_depth is not None:
            _check(_parser_set_int(self._p, OPT["max_depth"], max_depth))
        self.on_item = self.on_keepalive = self.on_error = None
        self._cbs = (_P_ITEM_CB(lambda m, u: self.on_item and self.on_item(Msg(m))),
                     _P_KA_CB(lambda u: self.on_keepalive and self.on_keepalive()),
                     _P_ERR_CB(lambda e, u: self.on_error and self.on_error(Error(e))))
        for name, cb in zip(("item", "keepalive", "error"), self._cbs):
            getattr(_lib, "gitterstream_parser_on_" + name)(self._p, cb, None)

    def feed(self, data):
        _check(_parser_feed(self._p, data, len(data)))

    def close(self):
        if self._p:
            _parser_free(self._p)
            self._p = None

    def __del__(self):
        self.close()
