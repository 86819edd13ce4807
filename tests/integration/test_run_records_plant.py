#!/usr/bin/python3
"""What `lockbridge run` records is what the plant serves, for every tag.

The other integration tests check values through `lockbridge read` (which
bypasses the scheduler, the dispatcher and the recorder) or compare the two
destinations with each other; a tag that `run` never polled would pass all
of them.  Here:

1. lock-sim serves the shipped station plus a PLC with 18 poll groups (more
   than the scheduler once kept), one of them `mode: sample`, with tags of
   every type; the plant is paused and some tags are set to distinctive
   values, so every register holds still.
2. `lockbridge run` records into its embedded history and a real InfluxDB
   1.x for a few seconds (every group, the slowest at 2 s, polls more than
   once).
3. For every tag of the station: the history holds samples, all of them
   `good` and all equal to the value lock-sim reports (`dump`); InfluxDB's
   value field for that tag holds exactly those values too.  Every poll
   group of every PLC is represented.  The `mode: sample` tag has one point
   per poll, the others one (a change-only tag that does not change).

Standard library only; /usr/bin/python3.  Prints "N passed, M failed".
"""

import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbtest  # noqa: E402

check = lbtest.Checks()

GROUPS = 18
EXTRA_PLC = "many_groups"


def extra_plc(port):
    """A PLC file with GROUPS poll groups (g0 = 100 ms, g1 = 150 ms, ...,
    g17 `mode: sample`) and two tags of each group, of every type in turn.
    Returns (YAML text, [(tag id, group index), ...])."""
    groups = []
    for g in range(GROUPS):
        period = 100 + 50 * g
        if g == GROUPS - 1:
            groups.append("g%d: {period: %dms, mode: sample}" % (g, period))
        else:
            groups.append("g%d: %dms" % (g, period))
    types = [
        ("u16", "holding", 1, ""), ("i16", "holding", 1, ""),
        ("u32", "holding", 2, ""), ("i32", "input", 2, ", order: CDAB"),
        ("f32", "input", 2, ""), ("f64", "holding", 4, ""),
        ("u64", "holding", 4, ""), ("i64", "input", 4, ""),
        ("u16", "holding", 1, ", scale: 0.1, offset: -5"),
        ("string", "holding", 4, ", length: 4"),
        ("bool", "coil", 1, ""), ("bool", "discrete", 1, ""),
    ]
    lines = ["id: %s" % EXTRA_PLC,
             "name: {en: Many poll groups, zh: 多轮询组}",
             "host: 127.0.0.1", "port: %d" % port, "unit: 7",
             "timeout: 500ms",
             "poll: {%s}" % ", ".join(groups), "tags:"]
    addr = {"holding": 0, "input": 0, "coil": 0, "discrete": 0}
    n = 0
    tags = []
    for g in range(GROUPS):
        for k in range(2):
            typ, table, regs, extra = types[(2 * g + k) % len(types)]
            tid = "t%02d_%s" % (n, typ)
            lines.append("  - {id: %s, table: %s, address: %d, type: %s, "
                         "poll: g%d%s}" % (tid, table, addr[table], typ, g,
                                           extra))
            tags.append((tid, g))
            addr[table] += regs + 1      # a gap: several requests per group
            n += 1
    return "\n".join(lines) + "\n", tags


def export(station):
    rc, out, err = lbtest.run_bridge(["export", "-c", station, "--from", "-1h"])
    if rc != 0:
        raise RuntimeError("export failed: rc=%d %s" % (rc, err))
    rows = {}
    for r in json.loads(out):
        rows.setdefault(r["tag"], []).append(r)
    return rows




def same(a, b):
    """Exact equality, with JSON's and InfluxDB's representations: a bool
    is not an int, and a u64 above 2^63-1 goes to InfluxDB as a float."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return a == b


def main():
    influx = lbtest.Influx()
    influx.create("lock")
    sim = None
    daemon = None
    try:
        maps = lbtest.copy_station()
        mapdir = os.path.dirname(maps)
        text, extra_tags = extra_plc(lbtest.free_port())
        with open(os.path.join(mapdir, "many-groups.yaml"), "w") as f:
            f.write(text)
        with open(maps, encoding="utf-8") as f:
            text = f.read()
        text = text.replace("  - lockage.yaml", "  - lockage.yaml\n"
                            "  - many-groups.yaml", 1)
        with open(maps, "w", encoding="utf-8") as f:
            f.write(text)
        sim = lbtest.Sim(station=maps)
        station = sim.station
        work = os.path.dirname(station)
        lbtest.add_station_keys(station, """
history: {path: %s/history.db}
influx: {url: "%s", database: lock, spool: %s/spool, batch_age: 200ms}
""" % (work, influx.url, work))
        rc, out, err = lbtest.run_bridge(["check", "-c", station])
        check(rc == 0, "the station with an 18-group PLC passes check (%s)"
              % (out or err).strip())

        # Hold the plant still, with some distinctive values.
        sim.command("pause")
        sim.set("levels.chamber_level", 13.75)
        sim.set("signals.current_vessel", "LB-E2E 01")
        sim.set("%s.t00_u16" % EXTRA_PLC, 65535)
        sim.set("%s.t05_f64" % EXTRA_PLC, -1234.5678)
        sim.set("%s.t06_u64" % EXTRA_PLC, 18446744073709551615)
        sim.set("%s.t09_string" % EXTRA_PLC, "abcd")
        sim.set("%s.t10_bool" % EXTRA_PLC, True)
        plant = sim.dump()
        check(plant["levels.chamber_level"] == 13.75 and
              plant["%s.t06_u64" % EXTRA_PLC] == 18446744073709551615,
              "lock-sim serves the values that were set")

        daemon = lbtest.Daemon(["-c", station, "--summary", "1"])
        time.sleep(5)
        rc = daemon.stop()
        log = daemon.log()
        check(rc == 0, "lockbridge run stops cleanly (rc=%s)" % rc)
        summary = [l for l in log.splitlines()
                   if " %s: up " % EXTRA_PLC in l]
        check(summary and summary[-1].endswith("tags %d/%d good"
                                               % (2 * GROUPS, 2 * GROUPS)),
              "the 18-group PLC's summary says all its tags are good (%s)"
              % (summary[-1][-40:] if summary else "no summary line"))

        hist = export(station)
        ivals = {tag: list(pts.values()) for tag, pts in
                 influx.points("lock", list(sim.plcs))[0].items()}
        missing, bad_hist, bad_q, bad_influx, no_influx = [], [], [], [], []
        for tag, want in sorted(plant.items()):
            rows = hist.get(tag)
            if not rows:
                missing.append(tag)
                continue
            for r in rows:
                if r["quality"] != "good":
                    bad_q.append((tag, r["quality"]))
                elif not same(r["value"], want):
                    bad_hist.append((tag, r["value"], want))
            got = ivals.get(tag)
            if not got:
                no_influx.append(tag)
                continue
            for v in got:
                w = want
                if isinstance(w, int) and not isinstance(w, bool) and \
                        w > 2 ** 63 - 1:
                    # InfluxDB 1.x has no unsigned type: a float, which its
                    # JSON prints without a decimal point.
                    w, v = float(w), float(v)
                if not same(v, w):
                    bad_influx.append((tag, v, w))
        check(len(plant) >= 441 + 2 * GROUPS,
              "lock-sim serves %d tags" % len(plant))
        check(not missing, "the history holds every tag (%d missing: %s)"
              % (len(missing), missing[:5]))
        check(not bad_q, "every recorded sample is good (%d not: %s)"
              % (len(bad_q), bad_q[:5]))
        check(not bad_hist, "every history sample equals the plant's value "
              "(%d differ: %s)" % (len(bad_hist), bad_hist[:5]))
        check(not no_influx, "InfluxDB holds every tag (%d missing: %s)"
              % (len(no_influx), no_influx[:5]))
        check(not bad_influx, "every InfluxDB value equals the plant's value "
              "(%d differ: %s)" % (len(bad_influx), bad_influx[:5]))

        # Every poll group of every PLC is represented: each tag's group
        # from the map files (every tag of these maps names its group).
        groups_seen = {}
        unused = []
        for name in sorted(os.listdir(work)):
            if not name.endswith(".yaml") or name == os.path.basename(station):
                continue
            with open(os.path.join(work, name), encoding="utf-8") as f:
                text = f.read()
            plc = re.search(r"^id:\s*(\w+)", text, re.M).group(1)
            pm = re.search(r"^poll:\s*\{(.*)\}\s*$", text, re.M)
            names = re.findall(r"(\w+):\s*(?:\{[^}]*\}|\d+\w+)", pm.group(1))
            for chunk in re.split(r"^\s*- \{", text, flags=re.M)[1:]:
                tid = re.match(r"id:\s*(\w+)", chunk)
                grp = re.search(r"\bpoll:\s*(\w+)", chunk)
                if tid and grp:
                    groups_seen.setdefault((plc, grp.group(1)), []).append(
                        plc + "." + tid.group(1))
            for g in names:
                tags = groups_seen.get((plc, g), [])
                if not any(t in hist for t in tags):
                    unused.append((plc, g))
        check(len(groups_seen) >= 8 * 2 + GROUPS and not unused,
              "every poll group of every PLC is recorded (%d groups; "
              "unrecorded: %s)" % (len(groups_seen), unused[:5]))

        sample_tag = EXTRA_PLC + "." + next(t for t, g in extra_tags
                                            if g == GROUPS - 1)
        n_sample = len(hist.get(sample_tag, []))
        changeonly = hist.get("%s.t00_u16" % EXTRA_PLC, [])
        check(n_sample >= 3 and len(changeonly) == 1,
              "a `mode: sample` tag has a point per poll (%s: %d), a "
              "change-only tag that holds still one (%d)"
              % (sample_tag, n_sample, len(changeonly)))
    finally:
        if daemon:
            daemon.stop()
        if sim:
            sim.stop()
        influx.close()
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
