#!/usr/bin/python3
"""Replies are checked before they are believed; requests and shutdown are
bounded in time.  lockbridge against lock-sim's header faults and trickle.

1. `bad-mbap` (a correct reply whose MBAP length is 20 too large, nothing
   more sent), `bad-proto` (protocol id 1) and `bad-unit` (unit id + 1):
   `lockbridge read --json` exits 1 with every tag of that PLC
   comm-failure (value null) and every other tag good, and says which
   field was wrong; under `lockbridge run --summary 1` that PLC's summary
   shows no tag good, its malformed count growing (and, for bad-mbap, no
   timeouts: the length is judged when it arrives), while another PLC
   stays all good without errors; after `fault PLC none` it recovers.
   libmodbus 3.1.6 framed replies by function code alone, so bad-mbap was
   recorded good.
2. `trickle 400` (8 bytes, then one byte every 400 ms: each gap inside the
   500 ms timeout) on upper_gate: `lockbridge read` returns within a few
   seconds (exit 1, that PLC comm-failure, "no complete reply within
   500 ms"), where libmodbus's per-byte timeout kept it ~100 s per request.
3. `lockbridge run` exits within 2 s of SIGTERM while upper_gate trickles
   and valves is silent (it used to wait out the trickle, ~97 s).

Standard library only; run with /usr/bin/python3.  Exits 1 on any failure.
"""

import json
import os
import re
import signal
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbtest  # noqa: E402

check = lbtest.Checks()
VICTIM, WITNESS, SILENT = "upper_gate", "levels", "valves"

SUMMARY = re.compile(
    r"^\S+ (?:info|warn) (\w+): (up|DOWN) \S+: .*\(timeout (\d+) conn (\d+) "
    r"exc (\d+) malformed (\d+) decode (\d+)\), reconnects (\d+), "
    r"tags (\d+)/(\d+) good(?:, last error: (.*))?$", re.M)


def summaries(daemon, plc):
    """Every summary line of plc so far, as dicts, oldest first."""
    out = []
    for m in SUMMARY.finditer(daemon.log()):
        if m.group(1) != plc:
            continue
        out.append({"up": m.group(2) == "up", "timeout": int(m.group(3)),
                    "conn": int(m.group(4)), "malformed": int(m.group(6)),
                    "good": int(m.group(9)), "tags": int(m.group(10)),
                    "error": m.group(11) or ""})
    return out


def wait_summary(daemon, plc, after, cond, timeout=15):
    """The first summary of plc after the first `after` ones that
    satisfies cond, or None."""
    end = time.time() + timeout
    while time.time() < end:
        for s in summaries(daemon, plc)[after:]:
            if cond(s):
                return s
        time.sleep(0.2)
    return None


def read_json(station, timeout=60):
    """(rc, {tag: object}, stderr, seconds); rc None if it timed out."""
    t0 = time.time()
    try:
        rc, out, err = lbtest.run_bridge(["read", "-c", station, "--json"],
                                         timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, {}, "", time.time() - t0
    took = time.time() - t0
    got = {o["tag"]: o for o in json.loads(out)} if out.strip() else {}
    return rc, got, err, took


def split(got, plc):
    mine = {t: o for t, o in got.items() if t.startswith(plc + ".")}
    rest = {t: o for t, o in got.items() if not t.startswith(plc + ".")}
    return mine, rest


# The error each header fault must produce, as last_error says it.
FIELD = {
    "bad-mbap": re.compile(r"MBAP length (\d+), expected (\d+)"),
    "bad-proto": re.compile(r"protocol id 1, expected 0"),
    "bad-unit": re.compile(r"unit id 2, expected 1"),
}


def field_ok(kind, text):
    m = FIELD[kind].search(text)
    if not m:
        return False
    if kind == "bad-mbap":
        return int(m.group(1)) == int(m.group(2)) + 20
    return True


def test_read(sim, ntags):
    for kind in ("bad-mbap", "bad-proto", "bad-unit"):
        sim.fault(VICTIM, kind)
        rc, got, err, took = read_json(sim.station)
        mine, rest = split(got, VICTIM)
        check(rc == 1, "read, %s: exit 1 (rc=%s, %.1f s)" % (kind, rc, took))
        check(len(mine) == ntags and all(
            o["quality"] == "comm-failure" and o["value"] is None
            for o in mine.values()),
            "read, %s: all %d %s tags comm-failure, value null (%s)"
            % (kind, ntags, VICTIM,
               sorted({o["quality"] for o in mine.values()})))
        check(rest and all(o["quality"] == "good" for o in rest.values()),
              "read, %s: every other PLC's tag good (%d)" % (kind, len(rest)))
        line = [x for x in err.splitlines() if x.startswith(
            "lockbridge: %s " % VICTIM)]
        check(line and field_ok(kind, line[0]),
              "read, %s: the error names the field (%r)"
              % (kind, line[0] if line else err.strip()[:200]))
        sim.fault(VICTIM, "none")
    rc, got, err, took = read_json(sim.station)
    check(rc == 0 and all(o["quality"] == "good" for o in got.values()),
          "read after fault none: exit 0, all good (rc=%s %s)"
          % (rc, err.strip()[:200]))


def test_run(sim, ntags, nwit):
    d = lbtest.Daemon(["-c", sim.station, "--summary", "1"])
    try:
        s = wait_summary(d, VICTIM, 0, lambda s: s["good"] == ntags)
        check(s is not None, "run: %s all good after start" % VICTIM)
        names = set()
        taskdir = "/proc/%d/task" % d.proc.pid
        for t in os.listdir(taskdir):
            try:
                with open(os.path.join(taskdir, t, "comm")) as f:
                    names.add(f.read().strip())
            except OSError:
                pass
        # Linux keeps 15 characters of a thread name.
        want = {("poll " + p)[:15] for p in sim.plcs}
        check(want <= names, "run: poller threads named for top -H (%s)"
              % sorted(n for n in names if n.startswith("poll")))
        for kind in ("bad-mbap", "bad-proto", "bad-unit"):
            before = summaries(d, VICTIM)
            n0 = len(before)
            base = before[-1] if before else {"malformed": 0, "timeout": 0}
            wn = len(summaries(d, WITNESS))
            sim.fault(VICTIM, kind)
            # Two summaries later, so that the line covers whole seconds of
            # the fault.
            s = wait_summary(d, VICTIM, n0 + 1, lambda s: s["good"] == 0 and
                             s["malformed"] >= base["malformed"] + 3)
            check(s is not None, "run, %s: %s tags 0/%d good, malformed "
                  "counted (%s)" % (kind, VICTIM, ntags,
                                    summaries(d, VICTIM)[-1:]))
            if s:
                check(field_ok(kind, s["error"]),
                      "run, %s: last error names the field (%r)"
                      % (kind, s["error"]))
                if kind == "bad-mbap":
                    check(s["timeout"] == base["timeout"],
                          "run, bad-mbap: judged at once, never a timeout "
                          "(timeouts %d -> %d)" % (base["timeout"],
                                                   s["timeout"]))
            w = summaries(d, WITNESS)[wn:]
            check(w and all(x["good"] == nwit and x["malformed"] == 0 and
                            x["timeout"] == 0 and x["conn"] == 0 for x in w),
                  "run, %s: %s stays %d/%d good, no errors (%d summaries)"
                  % (kind, WITNESS, nwit, nwit, len(w)))
            sim.fault(VICTIM, "none")
            n1 = len(summaries(d, VICTIM))
            s = wait_summary(d, VICTIM, n1, lambda s: s["good"] == ntags)
            check(s is not None, "run, %s cleared: %s recovers, %d/%d good"
                  % (kind, VICTIM, ntags, ntags))
        rc = d.stop()
        check(rc == 0 and "Sanitizer" not in d.log(),
              "run: stops cleanly, no sanitizer report (rc=%d)" % rc)
    finally:
        d.stop()
        shutil.rmtree(d.dir, ignore_errors=True)


def test_trickle_read(sim):
    sim.fault(VICTIM, "trickle", 400)
    rc, got, err, took = read_json(sim.station, timeout=60)
    mine, rest = split(got, VICTIM)
    check(rc is not None and took < 5.0,
          "read, trickle 400: returns within 5 s (%.1f s)" % took)
    check(rc == 1, "read, trickle 400: exit 1 (rc=%s)" % rc)
    check(mine and all(o["quality"] == "comm-failure"
                       for o in mine.values()),
          "read, trickle 400: %s tags comm-failure (%s)"
          % (VICTIM, sorted({o["quality"] for o in mine.values()})))
    check(rest and all(o["quality"] == "good" for o in rest.values()),
          "read, trickle 400: every other PLC's tag good")
    check("no complete reply within 500 ms" in err,
          "read, trickle 400: says the reply was incomplete at 500 ms (%r)"
          % err.strip()[:300])
    sim.fault(VICTIM, "none")


def test_trickle_shutdown(sim):
    d = lbtest.Daemon(["-c", sim.station, "--summary", "1"])
    try:
        ok = wait_summary(d, VICTIM, 0, lambda s: s["good"] > 0) is not None
        check(ok, "run: polling before the faults")
        sim.fault(VICTIM, "trickle", 400)
        sim.fault(SILENT, "silent")
        n0 = len(summaries(d, VICTIM))
        s = wait_summary(d, VICTIM, n0, lambda s: s["good"] == 0 and
                         "no complete reply within 500 ms" in s["error"])
        check(s is not None, "run, trickle 400: %s comm-failure, timed out "
              "at 500 ms (%s)" % (VICTIM, summaries(d, VICTIM)[-1:]))
        # The next request is trickling (and valves' is unanswered) when
        # the signal comes: at most 500 ms into a request, 125 ms apart.
        time.sleep(0.3)
        t0 = time.time()
        d.proc.send_signal(signal.SIGTERM)
        try:
            rc = d.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            rc = None
        took = time.time() - t0
        check(rc == 0 and took < 2.0,
              "run: exits within 2 s of SIGTERM while %s trickles and %s is "
              "silent (rc=%s, %.2f s)" % (VICTIM, SILENT, rc, took))
        check("Sanitizer" not in d.log(), "run: no sanitizer report")
    finally:
        d.stop()
        shutil.rmtree(d.dir, ignore_errors=True)
        sim.fault(VICTIM, "none")
        sim.fault(SILENT, "none")


def main():
    sim = lbtest.Sim(speed=20, seed=3)
    try:
        # Nothing recorded: these tests are about polling, and the daemon's
        # shutdown time should be the pollers', not a history flush.
        lbtest.add_station_keys(sim.station, "history: off")
        sim.command("pause")
        want = sim.dump()
        ntags = sum(1 for t in want if t.startswith(VICTIM + "."))
        nwit = sum(1 for t in want if t.startswith(WITNESS + "."))
        check(ntags > 0 and nwit > 0, "station has %s (%d tags) and %s (%d)"
              % (VICTIM, ntags, WITNESS, nwit))
        test_read(sim, ntags)
        test_run(sim, ntags, nwit)
        test_trickle_read(sim)
        test_trickle_shutdown(sim)

        fcs = set()
        for st in sim.stats().values():
            fcs |= {int(k) for k, v in st.get("fc", {}).items() if v}
        check(fcs and fcs <= {1, 2, 3, 4},
              "only function codes 1-4 reached the PLCs (%s)" % sorted(fcs))
        rc = sim.stop()
        check(rc == 0 and "Sanitizer" not in sim.final_stderr,
              "lock-sim exits 0 without a sanitizer report (rc=%s)" % rc)
    finally:
        sim.stop()
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
