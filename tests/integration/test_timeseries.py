#!/usr/bin/python3
"""Time series end to end: lock-sim -> lockbridge -> InfluxDB 1.x, the
embedded history, and VictoriaMetrics.

1. Exact points: the bridge polls the simulated station for a few seconds
   with both destinations on; afterwards every tag has exactly the same
   points (count, timestamps, values) in InfluxDB as in the embedded
   history (read back with `lockbridge export`), and a `_q` quality field
   wherever the history has a bad quality.
2. Outage: InfluxDB is stopped while the bridge polls; the bridge is killed
   with SIGKILL during the outage and started again; InfluxDB comes back.
   Afterwards nothing is missing from InfluxDB (compared with the history)
   except the points that were still in the killed process's memory (the
   last batch, cut every 100 ms during an outage, whose samples carry
   Modbus times up to a slow poll period old: the comparison skips the 3 s
   before the kill), nothing is duplicated and the spool is empty.
3. VictoriaMetrics receives the same stream through its InfluxDB endpoint.

Standard library only; /usr/bin/python3.  Prints "N passed, M failed".
"""

import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbtest  # noqa: E402

check = lbtest.Checks()


def num(v):
    if isinstance(v, bool):
        return int(v)
    return v






QCODE = {"good": 0, "stale": 1, "comm-failure": 2, "device-error": 3,
         "decode-error": 4}


def compare(hist, vals, quals, skip=None, may_lack=None, label=""):
    """History vs InfluxDB, per tag.  skip(ms) -> True: a time at which a
    sample may be missing from InfluxDB (it was in the killed bridge's
    memory).  may_lack(ms) -> True: a time at which InfluxDB may hold a
    point the history lacks (the history's own uncommitted tail at the
    kill, while the spool had it on disk)."""
    missing, extra, wrong, badq = [], [], [], []
    total = 0
    for tag, rows in hist.items():
        want = {}
        for ms, v, q in rows:
            if skip and skip(ms):
                continue
            if q == "good":
                want[ms] = v
            else:
                qs = quals.get(tag, {})
                if qs.get(ms) != QCODE.get(q):
                    badq.append((tag, ms, q, qs.get(ms)))
        got = {ms: v for ms, v in vals.get(tag, {}).items()
               if not (skip and skip(ms))}
        total += len(want)
        for ms in want:
            if ms not in got:
                missing.append((tag, ms))
            elif num(got[ms]) != num(want[ms]):
                wrong.append((tag, ms, got[ms], want[ms]))
        for ms in got:
            if ms not in want and not (may_lack and may_lack(ms)):
                extra.append((tag, ms))
    check(total > 1000, "%s: history holds %d good samples" % (label, total))
    check(not missing, "%s: no point missing from InfluxDB (%d: %s)"
          % (label, len(missing), missing[:3]))
    check(not extra, "%s: no point in InfluxDB that the history lacks "
          "(%d: %s)" % (label, len(extra), extra[:3]))
    check(not wrong, "%s: every value equal (%d differ: %s)"
          % (label, len(wrong), wrong[:3]))
    check(not badq, "%s: bad qualities recorded as _q fields (%d: %s)"
          % (label, len(badq), badq[:3]))


def spooled(daemon):
    """The last 'N spooled' figure of the daemon's influx summary line."""
    m = re.findall(r"influx: .* (\d+) spooled", daemon.log())
    return int(m[-1]) if m else None




def main():
    sim = lbtest.Sim(speed=30, seed=11)
    influx = lbtest.Influx()
    vm = None
    daemons = []
    try:
        influx.create("lock")
        work = os.path.dirname(sim.station)
        station = sim.station
        lbtest.add_station_keys(station, """
heartbeat: 2s
history: {path: %s/history.db}
influx: {url: %s, database: lock, spool: %s/spool, batch_age: 250ms}
""" % (work, influx.url, work))
        plcs = sorted(sim.plcs)

        # ---- 1. exact points ------------------------------------------------
        d = lbtest.Daemon(["-c", station, "--summary", "1"])
        daemons.append(d)
        time.sleep(4)
        sim.fault("valves", "exception", "2")   # some bad qualities too
        time.sleep(1.5)
        sim.fault("valves", "none")
        time.sleep(2)
        check(d.stop() == 0, "bridge stops cleanly")
        log = d.log()
        check("history: recording to" in log and "influx: writing to" in log,
              "bridge says where it records")
        h = lbtest.export_history(station)
        check(len(h) >= 300, "export returns history for %d tags" % len(h))
        vals, quals = influx.points("lock", plcs)
        compare(h, vals, quals, label="steady")

        # ---- 2. outage, kill -9, restart --------------------------------------
        d2 = lbtest.Daemon(["-c", station, "--summary", "1"])
        daemons.append(d2)
        time.sleep(2.5)
        influx.stop()
        t_down = time.time()
        check(lbtest.wait_for(lambda: (spooled(d2) or 0) > 0, 15),
              "bridge spools while InfluxDB is down (%s points)"
              % spooled(d2))
        time.sleep(2)
        d2.kill9()
        t_kill_ms = int(time.time() * 1000)
        d3 = lbtest.Daemon(["-c", station, "--summary", "1"])
        daemons.append(d3)
        time.sleep(3)
        influx.start()
        t_up = time.time()
        drained = lbtest.wait_for(lambda: spooled(d3) == 0 and
                           time.time() - t_up > 2, 60)
        check(drained, "spool drains after InfluxDB returns (%.1f s down)"
              % (t_up - t_down))
        time.sleep(1)
        rc3 = d3.stop()
        if not check(rc3 == 0, "restarted bridge stops cleanly (rc=%s)" % rc3):
            print(d2.log()[-4000:])
            print(d3.log()[-4000:])
        h = lbtest.export_history(station)
        vals, quals = influx.points("lock", plcs)
        # The killed bridge's last batch may be in only one destination.
        # Its samples carry Modbus times up to one slow poll period (2 s)
        # old (a heartbeat repeats the latest confirmed time), so the
        # comparison skips the 3 s before the kill.
        # The history commits every 200 ms (later when the machine is
        # slow), so at the kill its newest samples may be lost while the
        # spool, written first, kept them: that tail may be in InfluxDB
        # only.  The tail is what arrived last, not what is newest by
        # Modbus time: a slow group's sample or a heartbeat carries its
        # last confirmed poll's time, seconds older than the fast groups'
        # (under the sanitizers on a loaded machine, more than 3 s: seen
        # once), so the tail is taken as the 10 s before the kill.  The
        # reverse (history without InfluxDB) may not happen outside the
        # last batch.
        compare(h, vals, quals,
                skip=lambda ms: t_kill_ms - 3000 <= ms <= t_kill_ms,
                may_lack=lambda ms: t_kill_ms - 10000 <= ms <= t_kill_ms,
                label="outage+kill -9")
        # InfluxDB's own aggregate agrees with the points read back one by
        # one: every field of a PLC counted exactly once per timestamp, so
        # the replays after the kill left no duplicates behind.
        q = influx.query("lock", 'SELECT count(*) FROM "upper_gate"')
        counts = dict(zip(q[0]["columns"][1:], q[0]["values"][0][1:])) \
            if q else {}
        want = {}
        for tag, pts in vals.items():
            if tag.startswith("upper_gate."):
                want["count_" + tag.split(".", 1)[1]] = len(pts)
        for tag, pts in quals.items():
            if tag.startswith("upper_gate."):
                want["count_" + tag.split(".", 1)[1] + "_q"] = len(pts)
        differ = {k: (counts.get(k), n) for k, n in want.items()
                  if counts.get(k) != n}
        check(len(want) >= 60 and not differ,
              "InfluxDB's count(*) of upper_gate after the outage equals the "
              "points read back, field by field (%d fields, differing: %s)"
              % (len(want), list(differ.items())[:3]))

        # ---- 3. VictoriaMetrics ------------------------------------------------
        vm = lbtest.Victoria()
        # The same simulator (same ports): a second station file that
        # differs only in its destinations.
        with open(station, encoding="utf-8") as f:
            text = f.read()
        text = re.sub(r"\nhistory:.*\n", "\nhistory: {path: %s/vm-history.db}\n"
                      % work, text)
        text = re.sub(r"\ninflux:.*\n", "\ninflux: {url: %s, database: lock, "
                      "spool: %s/vm-spool, batch_age: 250ms}\n" % (vm.url, work),
                      text)
        st2 = os.path.join(work, "vm-station.yaml")
        with open(st2, "w", encoding="utf-8") as f:
            f.write(text)
        d4 = lbtest.Daemon(["-c", st2, "--summary", "1"])
        daemons.append(d4)
        time.sleep(5)
        check(d4.stop() == 0, "bridge (VictoriaMetrics) stops cleanly")
        hv = lbtest.export_history(st2)
        # VictoriaMetrics keeps milliseconds and numbers only (booleans as
        # 1/0, strings dropped); names are <measurement>_<field>.
        want = {}
        for tag, rows in hv.items():
            plc, field = tag.split(".", 1)
            for ms, v, q in rows:
                if q == "good" and not isinstance(v, str):
                    want.setdefault("%s_%s" % (plc, field), {})[ms] = num(v)
        missing, wrong = [], []

        def fetched():
            """True once every sample of the history is visible."""
            got = vm.export('{__name__=~"(%s)_.*"}' % "|".join(plcs))
            missing.clear()
            wrong.clear()
            for name, pts in want.items():
                ts, vs = got.get(name, ([], []))
                have = dict(zip(ts, vs))
                for ms, v in pts.items():
                    if ms not in have:
                        missing.append((name, ms))
                    elif abs(have[ms] - v) > 1e-9 * max(1, abs(v)):
                        wrong.append((name, ms, have[ms], v))
            return not missing
        # VictoriaMetrics makes fresh samples searchable after a while.
        lbtest.wait_for(fetched, 40, step=1.0)
        check(sum(len(v) for v in want.values()) > 1000,
              "VictoriaMetrics: history holds %d numeric samples"
              % sum(len(v) for v in want.values()))
        last = max(ms for pts in want.values() for ms in pts)
        check(not missing, "VictoriaMetrics: no point missing (%d: %s, last "
              "sample at %d)" % (len(missing), missing[:3], last))
        if missing:
            print(d4.log()[-3000:])
        check(not wrong, "VictoriaMetrics: every value equal (%d: %s)"
              % (len(wrong), wrong[:3]))
    finally:
        for d in daemons:
            d.stop()
        sim.stop()
        influx.close()
        if vm:
            vm.close()
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
