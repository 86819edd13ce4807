#!/usr/bin/python3
"""Interoperability: lockbridge reads a Modbus server nobody here wrote.

Starts tests/integration/pymodbus_server.py (pymodbus encodes every type and
word order with its own BinaryPayloadBuilder) on a free loopback port, runs
`$LB_BUILD/lockbridge read -c MAP --json` and checks every tag: the exact
value, quality "good", the unit from the map, and an RFC 3339 UTC timestamp
with milliseconds close to now.  A second map names a unit id the server
does not serve: every tag must come back "comm-failure" with a null value,
and lockbridge must exit 1.

Standard library only; run with /usr/bin/python3.  LB_BUILD is the build
directory (default: build).  Prints one line per check; exits 1 on any
failure.
"""

import datetime
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ.get("LB_BUILD", "build")
LOCKBRIDGE = os.path.join(BUILD, "lockbridge")
SERVER = os.path.join(HERE, "pymodbus_server.py")
TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
MAX_SKEW_S = 5.0


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def f32_bits(x):
    return struct.pack("<f", x)


def parse_ts(ts):
    d = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ")
    return d.replace(tzinfo=datetime.timezone.utc).timestamp()


def run_read(map_path, timeout=30):
    t0 = time.time()
    p = subprocess.run([LOCKBRIDGE, "read", "-c", map_path, "--json"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout)
    return p, t0, time.time()


class PymodbusInterop(unittest.TestCase):
    server = None
    tmp = None

    @classmethod
    def setUpClass(cls):
        if not os.access(LOCKBRIDGE, os.X_OK):
            raise RuntimeError("%s not built (set LB_BUILD)" % LOCKBRIDGE)
        cls.tmp = tempfile.TemporaryDirectory(prefix="lb-pym-")
        port = free_port()
        cls.server = subprocess.Popen(
            ["/usr/bin/python3", SERVER, str(port), cls.tmp.name],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            line = cls._wait_ready(cls.server, 15.0)
            if line != "ready":
                raise RuntimeError("pymodbus server did not start: %r %s" %
                                   (line, cls.server.stderr.read()
                                    if cls.server.poll() is not None else ""))
            with open(os.path.join(cls.tmp.name, "expected.json"),
                      encoding="utf-8") as f:
                cls.expected = json.load(f)
        except BaseException:
            cls._stop_server()
            raise

    @staticmethod
    def _wait_ready(proc, limit):
        import select
        end = time.time() + limit
        while time.time() < end:
            r, _, _ = select.select([proc.stdout], [], [], 0.2)
            if r:
                return proc.stdout.readline().strip()
            if proc.poll() is not None:
                return None
        return None

    @classmethod
    def _stop_server(cls):
        if cls.server is not None and cls.server.poll() is None:
            os.kill(cls.server.pid, signal.SIGTERM)
            try:
                cls.server.wait(5)
            except subprocess.TimeoutExpired:
                os.kill(cls.server.pid, signal.SIGKILL)
                cls.server.wait(5)
        if cls.server is not None:
            for s in (cls.server.stdout, cls.server.stderr):
                if s:
                    s.close()
        if cls.tmp is not None:
            cls.tmp.cleanup()

    @classmethod
    def tearDownClass(cls):
        cls._stop_server()

    def _rows(self, map_name):
        p, t0, t1 = run_read(os.path.join(self.tmp.name, map_name))
        try:
            rows = json.loads(p.stdout.decode("utf-8"))
        except ValueError as e:
            self.fail("read --json output is not JSON (%s): %r / stderr %r"
                      % (e, p.stdout[:300], p.stderr[:300]))
        self.assertIsInstance(rows, list)
        for r in rows:
            self.assertEqual(set(r.keys()),
                             {"tag", "value", "unit", "quality", "ts"}, r)
        by_tag = {r["tag"]: r for r in rows}
        self.assertEqual(len(by_tag), len(rows), "duplicate tags in output")
        self.assertEqual(sorted(by_tag), sorted(self.expected),
                         "tag set differs from the map")
        return p, t0, t1, by_tag

    def _check_ts(self, tag, ts, t0, t1):
        self.assertIsInstance(ts, str, tag)
        self.assertRegex(ts, TS_RE, tag)
        t = parse_ts(ts)
        self.assertGreaterEqual(t, t0 - MAX_SKEW_S, "%s ts %s" % (tag, ts))
        self.assertLessEqual(t, t1 + MAX_SKEW_S, "%s ts %s" % (tag, ts))

    def _check_value(self, tag, exp, got):
        want = exp["value"]
        typ = exp["type"]
        if typ == "bool":
            self.assertIs(type(got), bool, "%s: %r is not a boolean" %
                          (tag, got))
            self.assertEqual(got, want, tag)
        elif typ == "string":
            self.assertIsInstance(got, str, tag)
            self.assertEqual(got, want, tag)
        elif typ == "f32" and not exp["scaled"]:
            # The bridge may print a float32 with float or double precision;
            # both must round to exactly the float32 pymodbus encoded.
            self.assertIn(type(got), (int, float), tag)
            self.assertEqual(f32_bits(got), f32_bits(want),
                             "%s: %r != %r" % (tag, got, want))
        elif exp["scaled"] or typ == "f64" or typ == "f32":
            self.assertIn(type(got), (int, float), tag)
            self.assertEqual(float(got), float(want),
                             "%s: %r != %r" % (tag, got, want))
        else:
            # An unscaled integer must stay an exact integer, even at 64 bits.
            self.assertIs(type(got), int, "%s: %r is not an integer" %
                          (tag, got))
            self.assertEqual(got, want, tag)

    def test_1_values_exact(self):
        p, t0, t1, rows = self._rows("plc.yaml")
        self.assertEqual(p.returncode, 0, p.stderr.decode(errors="replace"))
        bad = []
        for tag in sorted(self.expected):
            exp = self.expected[tag]
            r = rows[tag]
            try:
                self.assertEqual(r["quality"], "good", tag)
                self._check_value(tag, exp, r["value"])
                self.assertEqual(r["unit"], exp["unit"], tag)
                self._check_ts(tag, r["ts"], t0, t1)
                print("  ok   %-28s %r" % (tag, r["value"]))
            except AssertionError as e:
                print("  FAIL %-28s got %r: %s" % (tag, r, e))
                bad.append(tag)
        self.assertEqual(bad, [], "%d of %d tags wrong" %
                         (len(bad), len(self.expected)))

    def test_2_unknown_unit_comm_failure(self):
        p, t0, t1, rows = self._rows("plc-badunit.yaml")
        self.assertEqual(p.returncode, 1,
                         "exit code %d, want 1 (a PLC failed)" % p.returncode)
        bad = []
        for tag in sorted(self.expected):
            r = rows[tag]
            try:
                self.assertEqual(r["quality"], "comm-failure", tag)
                self.assertIsNone(r["value"], tag)
                self.assertEqual(r["unit"], self.expected[tag]["unit"], tag)
                self._check_ts(tag, r["ts"], t0, t1)
            except AssertionError as e:
                print("  FAIL %-28s got %r: %s" % (tag, r, e))
                bad.append(tag)
        print("  %d tags comm-failure, exit code %d" %
              (len(rows) - len(bad), p.returncode))
        self.assertEqual(bad, [])


if __name__ == "__main__":
    res = unittest.main(argv=[sys.argv[0], "-v"], exit=False).result
    sys.exit(0 if res.wasSuccessful() else 1)
