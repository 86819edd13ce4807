#!/usr/bin/python3
"""The line-protocol encoder against a real InfluxDB 1.x.

Starts Debian's influxd on free loopback ports in a temporary directory,
encodes points with nasty names and values through `lb-lp-encode`
(lineproto.c as a filter), posts them with each precision, reads them back
with `SELECT * ... epoch=ns` and compares measurement names, tag values,
field values (floats bit for bit, except that JSON loses the sign of -0)
and timestamps exactly.  Points the encoder must refuse (unrepresentable
names, NaN) must come out as "ERR".  InfluxDB 1.x has no unsigned integer
type (`u` is 2.x), so unsigned fields are not sent here.

Standard library only; run with /usr/bin/python3.  LB_BUILD is the build
directory (default `build`).  Prints "N passed, M failed"; exits 1 on any
failure.
"""

import json
import math
import os
import random
import shutil
import struct
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbtest  # noqa: E402

ENCODER = lbtest.binary("lb-lp-encode")
check = lbtest.Checks()


def hexs(s):
    return s.encode("utf-8").hex()


def fbits(x):
    return "%016x" % struct.unpack("<Q", struct.pack("<d", x))[0]


def describe(p):
    """One lb-lp-encode input line for point p."""
    toks = [p["prec"], str(p["ts"]), hexs(p["meas"])]
    for k, v in p["tags"]:
        toks.append("t:%s:%s" % (hexs(k), hexs(v)))
    for k, kind, v in p["fields"]:
        if kind == "f":
            toks.append("f:%s:%s" % (hexs(k), fbits(v)))
        elif kind == "i":
            toks.append("i:%s:%d" % (hexs(k), v))
        elif kind == "b":
            toks.append("b:%s:%d" % (hexs(k), 1 if v else 0))
        else:
            toks.append("s:%s:%s" % (hexs(k), hexs(v)))
    return " ".join(toks)


NASTY = [
    "upper gate", "a,b", "k=v", 'quote"d', "Schleuse ü 日本", "back\\slash",
    "tab\tx", "hash#", "trail ", " lead", "x=y,z w", "€ 1,000=ok", "C:\\temp",
    "'single'", "a=b=c", ",,,", "   ", "\U0001f6a2 ship",
]
FLOATS = [
    12.345, 0.1 * 3, 0.1 * 123, 0.01 * 7, 1e300, -1e-300, 5e-324,
    1.7976931348623157e308, 2.2250738585072014e-308, -0.0, 0.0, 2.0 ** 89,
    1 / 3, 123456789012345680.0, 1e-7, 1.5e-5, 1e16, 1e15, -2.5, 100.0,
]
STRINGS = ['say "hi" \\ there', "", "multi\nline", "€ ü 日本", "\\", '"',
           "a,b=c d", "\\n literal"]
UNITS = {"ns": 1, "us": 1000, "ms": 1000000, "s": 1000000000}
QPREC = {"ns": "ns", "us": "u", "ms": "ms", "s": "s"}


def make_points(rng):
    pts = []
    n = 0

    def add(meas, tags, fields, ts, prec):
        nonlocal n
        n += 1
        # A measurement of its own per point: no field type conflicts, and
        # each point is found by name.
        pts.append({"meas": "%s #%d" % (meas, n), "tags": tags,
                    "fields": fields, "ts": ts, "prec": prec})

    precs = list(UNITS)
    for i, name in enumerate(NASTY):
        tags = [("plc", NASTY[(i + 1) % len(NASTY)]), ("station", name)]
        fields = [("f " + name, "f", FLOATS[i % len(FLOATS)]),
                  ("i," + name, "i", rng.choice([0, -1, 2 ** 63 - 1,
                                                 -2 ** 63, 12345])),
                  ("b=" + name, "b", i % 2 == 0),
                  ("s" + name, "s", STRINGS[i % len(STRINGS)])]
        ts = 1700000000123456789 - i * 1000003
        add(name, tags, fields, ts, precs[i % 4])
    for i, x in enumerate(FLOATS):
        # Field keys differ between groups: SELECT * FROM /.*/ drops series
        # whose field type differs from another measurement's same key.
        add("float", [("k", str(i))], [("fv", "f", x)],
            1600000000000000000 + i, "ns")
    for i, s in enumerate(STRINGS):
        add("string", [], [("sv", "s", s)], 1600000000000000000 + i, "ns")
    # Random decimals, scaled raws and random bit patterns.
    for i in range(60):
        kind = i % 3
        if kind == 0:
            x = rng.randrange(-10 ** 9, 10 ** 9) / 10 ** rng.randrange(0, 12)
        elif kind == 1:
            x = rng.randrange(-30000, 30000) * 0.1
        else:
            while True:
                x = struct.unpack("<d", struct.pack(
                    "<Q", rng.getrandbits(64)))[0]
                if math.isfinite(x):
                    break
        add("rand", [("kind", str(kind))], [("x", "f", x)],
            1500000000000000000 + i * 7919, "ns")
    # Timestamps before 1970 in every precision: floored.
    for i, prec in enumerate(precs):
        add("past " + prec, [("p", prec)], [("iv", "i", i)],
            -1234567890123456789 - i, prec)
    return pts


REFUSED = [
    {"meas": "ends\\", "tags": [], "fields": [("v", "i", 1)]},
    {"meas": "#comment", "tags": [], "fields": [("v", "i", 1)]},
    {"meas": "m", "tags": [("k", "a\\,b")], "fields": [("v", "i", 1)]},
    {"meas": "m", "tags": [("k", "line\nbreak")], "fields": [("v", "i", 1)]},
    {"meas": "m", "tags": [("k", "")], "fields": [("v", "i", 1)]},
    {"meas": "m", "tags": [], "fields": [("v", "f", float("nan"))]},
    {"meas": "m", "tags": [], "fields": [("v", "f", float("inf"))]},
    {"meas": "m", "tags": [], "fields": [("", "i", 1)]},
]


def encode(points):
    inp = "".join(describe(p) + "\n" for p in points)
    r = subprocess.run([ENCODER], input=inp.encode("utf-8"),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=30)
    if r.returncode != 0:
        raise RuntimeError("lb-lp-encode failed: %r" % r.stderr)
    return r.stdout.decode("utf-8").split("\n")[:-1]


def same_float(got, want):
    if not isinstance(got, (int, float)) or isinstance(got, bool):
        return False
    if want == 0:
        return got == 0   # JSON "-0" comes back as 0: the sign is lost
    return struct.pack("<d", float(got)) == struct.pack("<d", want)


def compare(p, row, cols):
    """Differences between point p and its queried row, as text."""
    got = dict(zip(cols, row))
    errs = []
    want_ts = (p["ts"] // UNITS[p["prec"]]) * UNITS[p["prec"]]
    if got.get("time") != want_ts:
        errs.append("time %r != %r" % (got.get("time"), want_ts))
    expect = {k: v for k, v in p["tags"]}
    for k, kind, v in p["fields"]:
        expect[k] = (kind, v)
    for k, v in expect.items():
        if k not in got:
            errs.append("column %r missing" % k)
            continue
        g = got[k]
        if isinstance(v, str):
            ok = g == v
        else:
            kind, w = v
            if kind == "f":
                ok = same_float(g, w)
            elif kind == "i":
                ok = isinstance(g, int) and not isinstance(g, bool) and g == w
            elif kind == "b":
                ok = g is w
            else:
                # Newlines travel as the two characters \n (lineproto.h).
                ok = g == w.replace("\n", "\\n")
        if not ok:
            errs.append("%r: got %r, want %r" % (k, g, v))
    for k in got:
        if k != "time" and k not in expect and got[k] is not None:
            errs.append("unexpected %r=%r" % (k, got[k]))
    return errs


def main():
    if not check(os.access(ENCODER, os.X_OK), "%s is built" % ENCODER):
        return check.summary()
    if not check(shutil.which("influxd") is not None, "influxd is installed"):
        return check.summary()
    rng = random.Random(20240603)
    points = make_points(rng)

    # Points the encoder must refuse.
    bad = [dict(p, ts=1, prec="ns") for p in REFUSED]
    out = encode(bad)
    check(out == ["ERR"] * len(bad),
          "encoder refuses %d unrepresentable points" % len(bad))

    lines = encode(points)
    check(len(lines) == len(points) and "ERR" not in lines,
          "encoder wrote %d lines for %d points" % (len(lines), len(points)))

    influx = None
    try:
        influx = lbtest.Influx()
        base = influx.url
        st, body = lbtest.http("POST", base + "/query?" + urllib.parse.urlencode(
            {"q": "CREATE DATABASE lp"}))
        check(st == 200, "CREATE DATABASE (%d)" % st)
        for prec in UNITS:
            batch = "".join(l + "\n" for p, l in zip(points, lines)
                            if p["prec"] == prec)
            st, body = lbtest.http("POST", base + "/write?" + urllib.parse.urlencode(
                {"db": "lp", "precision": QPREC[prec]}),
                batch.encode("utf-8"))
            check(st == 204, "write precision=%s: %d %s" % (
                QPREC[prec], st, body[:300].decode("utf-8", "replace")))
        st, body = lbtest.http("GET", base + "/query?" + urllib.parse.urlencode(
            {"db": "lp", "epoch": "ns", "q": "SELECT * FROM /.*/"}))
        check(st == 200, "SELECT * (%d)" % st)
        res = json.loads(body)["results"][0]
        series = {s["name"]: s for s in res.get("series", [])}
        check(len(series) == len(points), "%d measurements back for %d points"
              % (len(series), len(points)))
        for p, line in zip(points, lines):
            s = series.get(p["meas"])
            if s is None:
                check(False, "measurement %r (line %r) not found"
                      % (p["meas"], line))
                continue
            if not check(len(s["values"]) == 1, "one row in %r" % p["meas"]):
                continue
            errs = compare(p, s["values"][0], s["columns"])
            check(not errs, "%r round trip%s" % (
                p["meas"], "" if not errs else
                ": " + "; ".join(errs) + " (line %r)" % line))
    finally:
        if influx is not None:
            influx.close()

    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
