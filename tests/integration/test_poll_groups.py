#!/usr/bin/python3
"""Every poll group the map allows is polled by the daemon.

A PLC with 18 poll groups (one u16 tag each, periods 100, 110, ... 270 ms)
passes `check`, `read --json` returns its 18 tags good, and
`lockbridge run --summary 1` against lock-sim reports `tags 18/18 good`.
The scheduler used to keep 16 groups and drop the rest silently, so `run`
logged "tags 16/18 good" forever while `check` and `read` saw nothing
wrong.

Standard library only; run with /usr/bin/python3.  Exits 1 on any failure.
"""

import json
import os
import re
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbtest  # noqa: E402

check = lbtest.Checks()
GROUPS = 18


def write_maps(d):
    """A station (history off) of one PLC with GROUPS groups, one tag each;
    returns the station file's path."""
    poll = ", ".join("g%d: %dms" % (i, 100 + 10 * i) for i in range(GROUPS))
    tags = "\n".join("  - {id: t%d, table: holding, address: %d, type: u16, "
                     "poll: g%d}" % (i, i, i) for i in range(GROUPS))
    with open(os.path.join(d, "many.yaml"), "w", encoding="utf-8") as f:
        f.write("id: many\nhost: 127.0.0.1\nport: 1502\ntimeout: 500ms\n"
                "poll: {%s}\ntags:\n%s\n" % (poll, tags))
    station = os.path.join(d, "station.yaml")
    with open(station, "w", encoding="utf-8") as f:
        f.write("station: {id: groups}\nplcs: [many.yaml]\nhistory: off\n")
    return station


def main():
    src = tempfile.mkdtemp(prefix="lbtest-groups-")
    sim = None
    daemon = None
    try:
        sim = lbtest.Sim(station=write_maps(src))
        rc, out, err = lbtest.run_bridge(["check", "-c", sim.station])
        check(rc == 0, "check accepts %d poll groups (rc=%d %s)"
              % (GROUPS, rc, err.strip()[:200]))

        rc, out, err = lbtest.run_bridge(["read", "-c", sim.station,
                                          "--json"])
        got = json.loads(out) if out.strip() else []
        good = [o["tag"] for o in got if o["quality"] == "good"]
        check(rc == 0 and len(good) == GROUPS,
              "read: %d of %d tags good (rc=%d %s)"
              % (len(good), GROUPS, rc, err.strip()[:200]))

        daemon = lbtest.Daemon(["-c", sim.station, "--summary", "1"])
        pat = re.compile(r" many: up .*, tags (\d+)/(\d+) good")
        end = time.time() + 15
        last = None
        while time.time() < end:
            for m in pat.finditer(daemon.log()):
                last = (int(m.group(1)), int(m.group(2)))
            if last == (GROUPS, GROUPS):
                break
            time.sleep(0.2)
        check(last == (GROUPS, GROUPS),
              "run --summary 1: tags %d/%d good (last summary: %s)"
              % (GROUPS, GROUPS, "%d/%d" % last if last else "none"))
        # Every group was polled: lock-sim saw at least one request per
        # group (18 requests in the first cycle alone).
        reqs = sim.stats("many")["requests"]
        check(reqs >= GROUPS, "lock-sim answered >= %d requests (%d)"
              % (GROUPS, reqs))
        rc = daemon.stop()
        check(rc == 0 and "Sanitizer" not in daemon.log(),
              "daemon stops cleanly, no sanitizer report (rc=%d)" % rc)
        rc = sim.stop()
        check(rc == 0 and "Sanitizer" not in sim.final_stderr,
              "lock-sim exits 0 without a sanitizer report (rc=%s)" % rc)
    finally:
        if daemon:
            daemon.stop()
            shutil.rmtree(daemon.dir, ignore_errors=True)
        if sim:
            sim.stop()
        shutil.rmtree(src, ignore_errors=True)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
