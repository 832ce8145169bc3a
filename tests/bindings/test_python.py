"""test_python.py: the Python (ctypes) bindings against the built library:
decoding, and a live session with the fake Gitter server."""
import os
import subprocess
import sys
import tempfile
import unittest

import gitterstream as gs

ROOM = "5a1b2c3d4e5f60718293a4b5"


class FakeServer:
    def __init__(self, scenario):
        self.dir = tempfile.TemporaryDirectory()
        path = os.path.join(self.dir.name, "scenario")
        self.log = os.path.join(self.dir.name, "log")
        with open(path, "w") as f:
            f.write(scenario)
        self.proc = subprocess.Popen([os.environ["FAKESERVER"], "--time-limit", "60", "--log",
                                      self.log, path], stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line.startswith("PORT "), line
        self.url = "http://127.0.0.1:%d" % int(line.split()[1])

    def posted(self):
        with open(self.log) as f:
            return [l.rstrip("\n").split("\t")[2] for l in f if l.startswith("POSTED\t")]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.proc.stdout.close()
        self.dir.cleanup()


class Bindings(unittest.TestCase):
    def test_version_is_the_library_version(self):
        self.assertRegex(gs.version(), r"^\d+\.\d+\.\d+$")

    def test_parser_decodes_the_sample_stream(self):
        with open(os.path.join(os.environ["TEST_DATA_DIR"], "sample.stream"), "rb") as f:
            data = f.read()
        users, errors = [], []
        p = gs.Parser()
        p.on_item = lambda m: users.append(m.str("fromUser.username"))
        p.on_error = errors.append
        p.feed(data)
        p.close()
        self.assertEqual(users, ["alice", "bob", "zo\u00eb", "alice", "bob"])
        self.assertEqual(errors, [])

    def test_parser_reports_a_bad_item_and_goes_on(self):
        items, errors = [], []
        p = gs.Parser()
        p.on_item = lambda m: items.append((m.json(), m.int("a"), m.backfill))
        p.on_error = errors.append
        p.feed(b'[1]\n{"a":42}\n')
        self.assertEqual(items, [('{"a":42}', 42, False)])
        self.assertEqual([e.code for e in errors], [-10])

    def test_live_stream_delivers_posted_messages_in_order(self):
        server = FakeServer("room %s\npost 500 every 20 start 300\nconn default stream\n" % ROOM)
        try:
            ids = []
            with gs.Stream(token="t0k3n", stream_url=server.url, api_url=server.url) as s:
                def on_message(sub, m):
                    ids.append(m.str("id"))
                    if len(ids) == 5:
                        s.break_()
                s.on_message = on_message
                sub = s.subscribe(ROOM)
                s.run()
                self.assertEqual(sub.stat("messages"), 5)
                self.assertEqual(sub.last_id, ids[-1])
                self.assertEqual(sub.state, "streaming")
            posted = server.posted()
            start = posted.index(ids[0])
            self.assertEqual(ids, posted[start:start + 5])
        finally:
            server.stop()

    def test_unknown_room_stops_with_not_found(self):
        server = FakeServer("room %s\nconn default status 404\n" % ROOM)
        try:
            errors, states = [], []
            with gs.Stream(token="t0k3n", stream_url=server.url) as s:
                s.on_error = lambda sub, e: errors.append(e)
                s.on_state = lambda sub, st: states.append(st)
                s.subscribe(ROOM)
                s.run()  # returns: every subscription stopped
            self.assertEqual([(e.code, e.http_status, e.retry_ms) for e in errors],
                             [(-7, 404, -1)])
            self.assertEqual(states[-1], "stopped")
        finally:
            server.stop()

    def test_bad_option_raises(self):
        with gs.Stream() as s:
            with self.assertRaises(gs.GitterstreamError) as cm:
                s.set("stream_url", "ftp://nowhere")
            self.assertEqual(cm.exception.code, -1)


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=2).result
    failed = len(result.failures) + len(result.errors)
    print("%d passed, %d failed" % (result.testsRun - failed, failed))
    sys.exit(1 if failed else 0)
