#!/usr/bin/python3
"""lockbridge against lock-sim: values, faults, recovery, cadence, read-only.

1. With the plant paused, `lockbridge read --json` returns every tag of the
   shipped station with quality "good" and the value lock-sim serves
   (`dump`), exactly for integers, bools and strings, within half a scale
   step for scaled integers, and to float32 precision for f32.
2. `lockbridge run --log-changes` polls the running plant; each fault that
   lock-sim injects into one PLC gives that PLC's tags the right quality
   (comm-failure, or device-error with the exception code), the bridge
   recovers by itself once the fault is cleared, and meanwhile another PLC
   keeps its request cadence (counted by lock-sim, not by the bridge).
3. Nothing but function codes 1-4 ever reached any simulated PLC.

Standard library only; run with /usr/bin/python3.  Exits 1 on any failure.
"""

import calendar
import json
import math
import os
import re
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbtest  # noqa: E402

check = lbtest.Checks()


def close_enough(tag, got, want, scale):
    if isinstance(want, bool) or isinstance(got, bool):
        return got == want
    if isinstance(want, str) or isinstance(got, str):
        return got == want
    if got is None or want is None:
        return False
    tol = abs(scale) / 2 + 1e-9 if scale not in (None, 1) else 0
    # float32 values: the simulator's double, rounded to float32 on the wire
    tol = max(tol, abs(want) * 1.2e-7)
    return math.isclose(got, want, rel_tol=0, abs_tol=tol) or got == want


def scales(station_dir):
    """tag full id -> scale, read from the map files (simple YAML scan)."""
    out = {}
    for name in os.listdir(station_dir):
        if not name.endswith(".yaml"):
            continue
        plc = None
        tag = None
        for line in open(os.path.join(station_dir, name), encoding="utf-8"):
            m = re.match(r"^id:\s*([A-Za-z0-9_]+)", line)
            if m:
                plc = m.group(1)
            m = re.match(r"^\s*-\s*id:\s*([A-Za-z0-9_]+)", line)
            if m and plc:
                tag = plc + "." + m.group(1)
                out[tag] = 1
            m = re.match(r"^\s*scale:\s*([-0-9.eE]+)", line)
            if m and tag:
                out[tag] = float(m.group(1))
    return out


class Bridge:
    """`lockbridge run --log-changes`, its change lines parsed as they come."""

    LINE = re.compile(r" change: (\S+) = (.*) \[([a-z-]+)(?:\((\d+)\))?\]$")

    def __init__(self, station):
        self.proc = subprocess.Popen(
            [lbtest.binary("lockbridge"), "run", "-c", station,
             "--log-changes", "--summary", "2"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.quality = {}  # full id -> (quality, exception)
        self.lock = threading.Lock()
        self.log = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stderr:
            line = line.rstrip("\n")
            m = self.LINE.search(line)
            with self.lock:
                self.log.append(line)
                if m:
                    exc = int(m.group(4)) if m.group(4) else None
                    self.quality[m.group(1)] = (m.group(3), exc)

    def qualities(self, plc):
        with self.lock:
            return {k: v for k, v in self.quality.items()
                    if k.startswith(plc + ".")}

    def wait_all(self, plc, ntags, want, exc=None, timeout=20):
        """Waits until every tag of plc has quality want; True if so."""
        end = time.time() + timeout
        while time.time() < end:
            q = self.qualities(plc)
            if len(q) == ntags and all(v == (want, exc) for v in q.values()):
                return True
            time.sleep(0.05)
        return False

    def conn_errors(self, plc, newer_than=None, timeout=10):
        """The connection-error count in plc's latest summary line (the
        daemon logs one per --summary interval); with newer_than, waits
        for a line logged after that time (a Unix timestamp)."""
        pat = re.compile(r"^(\S+) (?:info|warn) %s: (?:up|DOWN) .*\(timeout "
                         r"\d+ conn (\d+) " % re.escape(plc))
        end = time.time() + timeout
        while True:
            with self.lock:
                lines = list(self.log)
            for line in reversed(lines):
                m = pat.match(line)
                if not m:
                    continue
                if newer_than is not None:
                    t = calendar.timegm(time.strptime(
                        m.group(1)[:19], "%Y-%m-%dT%H:%M:%S"))
                    if t + 1 < newer_than:
                        break
                return int(m.group(2))
            if time.time() > end:
                return None
            time.sleep(0.2)

    def stop(self):
        self.proc.terminate()
        try:
            rc = self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.reader.join(timeout=5)
        return rc


def rate(sim, plc, seconds):
    a = sim.stats(plc)["requests"]
    time.sleep(seconds)
    b = sim.stats(plc)["requests"]
    return (b - a) / seconds


def main():
    sim = lbtest.Sim(speed=20, seed=7)
    bridge = None
    try:
        station = sim.station
        scale = scales(os.path.dirname(station))
        # Record into the test's own directory, never the source tree.
        lbtest.add_station_keys(station, "history: {path: %s/history.db}"
                                % os.path.dirname(station))

        # ---- 1. values read equal the simulator's state -------------------
        sim.command("pause")
        time.sleep(0.3)  # a plant step in flight finishes
        want = sim.dump()
        rc, out, err = lbtest.run_bridge(["read", "-c", station, "--json"])
        check(rc == 0, "read exits 0 on a healthy station (rc=%d %s)"
              % (rc, err.strip()[:200]))
        got = {o["tag"]: o for o in json.loads(out)}
        check(len(got) >= 300, "read returns >= 300 tags (%d)" % len(got))
        check(set(got) == set(want),
              "read and the simulator know the same tags (only in read: %s; "
              "only in sim: %s)" % (sorted(set(got) - set(want))[:5],
                                    sorted(set(want) - set(got))[:5]))
        bad = [t for t in got if got[t]["quality"] != "good"]
        check(not bad, "every tag good (not: %s)" % bad[:5])
        wrong = [(t, got[t]["value"], want.get(t)) for t in got
                 if t in want and not close_enough(
                     t, got[t]["value"], want[t], scale.get(t, 1))]
        check(not wrong, "every value equals the simulator's (%d differ: %s)"
              % (len(wrong), wrong[:5]))
        sim.command("resume")

        # ---- 2. faults, one PLC at a time, while the others keep going ----
        plcs = sorted({t.split(".")[0] for t in want})
        victim, witness = "upper_gate", "levels"
        check(victim in plcs and witness in plcs,
              "station has %s and %s" % (victim, witness))
        ntags = sum(1 for t in want if t.startswith(victim + "."))
        bridge = Bridge(station)
        check(bridge.wait_all(victim, ntags, "good"),
              "daemon: %s all good after start" % victim)
        base_rate = rate(sim, witness, 4.0)
        check(base_rate > 0, "witness %s polled (%.1f req/s)"
              % (witness, base_rate))

        faults = [
            ("refuse", None, "comm-failure", None),
            ("drop", None, "comm-failure", None),
            ("silent", None, "comm-failure", None),
            ("slow", "3000", "comm-failure", None),
            ("exception", "2", "device-error", 2),
            ("exception", "4", "device-error", 4),
            ("bad-length", None, "comm-failure", None),
            ("bad-tid", None, "comm-failure", None),
            ("garbage", None, "comm-failure", None),
        ]
        for kind, arg, quality, exc in faults:
            name = kind + (" " + arg if arg else "")
            sim.fault(victim, kind, arg)
            ok = bridge.wait_all(victim, ntags, quality, exc)
            check(ok, "fault %-12s -> %s tags %s%s" % (
                name, victim, quality, "(%d)" % exc if exc else ""))
            if not ok:
                print("     qualities now:",
                      sorted(set(bridge.qualities(victim).values())))
            # Whole slow-group periods (2 s), so that the slow group's
            # requests do not make the rate jump with the window's phase.
            r = rate(sim, witness, 2.0)
            check(abs(r - base_rate) <= 0.25 * base_rate,
                  "fault %-12s: %s keeps its cadence (%.1f vs %.1f req/s)"
                  % (name, witness, r, base_rate))
            sim.fault(victim, "none")
            check(bridge.wait_all(victim, ntags, "good", timeout=20),
                  "fault %-12s cleared -> %s recovers, all good"
                  % (name, victim))

        # A slow answer within the timeout is not a failure.
        sim.fault(victim, "slow", "50")
        time.sleep(2)
        q = set(bridge.qualities(victim).values())
        check(q == {("good", None)}, "slow 50 ms (< timeout) stays good (%s)"
              % sorted(q))
        sim.fault(victim, "none")

        # Reconnection backs off: a PLC that refuses connections for 8 s
        # is tried a handful of times (250 ms doubling to 5 s, with
        # jitter), not on every 100 ms poll (80 times).
        before = bridge.conn_errors(victim)
        sim.fault(victim, "refuse")
        time.sleep(8)
        after = bridge.conn_errors(victim, newer_than=time.time() - 0.1)
        sim.fault(victim, "none")
        tries = after - before if after is not None and before is not None \
            else None
        check(tries is not None and 3 <= tries <= 12,
              "refused for 8 s: %s connect attempts (back-off: 3..12)" % tries)
        check(bridge.wait_all(victim, ntags, "good", timeout=15),
              "after the back-off %s reconnects by itself" % victim)

        rc = bridge.stop()
        bridge = None
        check(rc == 0, "daemon stops cleanly on SIGTERM (rc=%d)" % rc)

        # `pause` just after lock-sim's 10-second status line: the plant
        # thread printed it while the control thread may be writing the
        # paused flag (under ThreadSanitizer a race there ended lock-sim).
        lines = sim.stdout().count("\n")
        end = time.time() + 15
        while sim.stdout().count("\n") == lines and time.time() < end:
            time.sleep(0.005)
        sim.command("pause")
        sim.command("resume")
        time.sleep(0.3)
        check(sim.proc.poll() is None and sim.stdout().count("\n") > lines,
              "pause right after a status line: lock-sim carries on (%s)"
              % sim.stdout().splitlines()[-1][:80])

        # lock-sim's own client for its control socket (the README's way).
        p = subprocess.run([lbtest.binary("lock-sim"), "--control",
                            sim.control, "--send", "status"],
                           capture_output=True, text=True, timeout=30)
        check(p.returncode == 0 and p.stdout.startswith("ok "),
              "lock-sim --send status -> ok (%r)" % p.stdout[:80])
        p = subprocess.run([lbtest.binary("lock-sim"), "--control",
                            sim.control, "--send", "fault nosuch drop"],
                           capture_output=True, text=True, timeout=30)
        check(p.returncode == 1 and p.stdout.startswith("error"),
              "lock-sim --send with a bad command -> error, exit 1 (%r)"
              % p.stdout[:80])

        # ---- 3. read-only ----------------------------------------------------
        allst = sim.stats()
        fcs = set()
        for plc, st in allst.items():
            fcs |= {int(k) for k, v in st.get("fc", {}).items() if v}
        check(fcs and fcs <= {1, 2, 3, 4},
              "only function codes 1-4 reached the PLCs (%s)" % sorted(fcs))
    finally:
        if bridge:
            bridge.stop()
        sim.stop()
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
