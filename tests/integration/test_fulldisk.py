#!/usr/bin/python3
"""A full disk under the real bridge: lock-sim -> lockbridge run -> the
embedded history and InfluxDB 1.x with its spool, both on a small tmpfs.

1. The bridge records the simulated station (heartbeat 1 s, so every tag
   has a sample every second), its writer threads named hist-writer,
   influx-encode and influx-send; InfluxDB is stopped, so batches go to
   the spool on the tmpfs.
2. A filler file takes every free block of the tmpfs.  The summary says
   the disk is full (history: "database or disk is full", influx: "No
   space left on device") and polling goes on.
3. The filler goes and InfluxDB comes back.  The next summaries carry no
   error, neither destination dropped anything, the spool drains, and the
   samples of the full period are there: every tag has history samples
   through it with no gap longer than 3 s (its poll period or the
   heartbeat, plus slack), and InfluxDB holds exactly the points of the
   history, before, during and after.

Mounting the tmpfs needs root; without it the test says why and fails.
Standard library only; /usr/bin/python3.  Prints "N passed, M failed".
"""

import calendar
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbtest  # noqa: E402

check = lbtest.Checks()

TMPFS_SIZE = "16m"
HEARTBEAT_S = 1.0
MAX_GAP_S = 3 * HEARTBEAT_S




LINE_RE = re.compile(r"^(\d+-\d+-\d+T\d+:\d+:\d+)\.(\d+)Z (\w+) (\S+): (.*)$")


def log_lines(daemon, who, since=0.0):
    """[(unix time, text)] of the daemon's log lines from `who` (a log
    module: "history", "influx", a PLC id) logged at or after `since`."""
    out = []
    for line in daemon.log().splitlines():
        m = LINE_RE.match(line)
        if not m or m.group(4) != who:
            continue
        t = calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")) \
            + float("0." + m.group(2))
        if t >= since:
            out.append((t, m.group(5)))
    return out


def last_summary(daemon, who, since=0.0):
    """The text of the last summary line of a destination since a time."""
    key = {"history": "samples written", "influx": "points written"}[who]
    lines = [text for t, text in log_lines(daemon, who, since) if key in text]
    return lines[-1] if lines else ""


def counter(text, name):
    """The number before `name` in a summary line ("12 dropped")."""
    m = re.search(r"(\d+) %s\b" % name, text)
    return int(m.group(1)) if m else None






def num(v):
    return int(v) if isinstance(v, bool) else v


def thread_names(pid):
    """The names of a process's threads, as top -H shows them."""
    out = []
    task = "/proc/%d/task" % pid
    for tid in os.listdir(task):
        try:
            with open(os.path.join(task, tid, "comm")) as f:
                out.append(f.read().strip())
        except OSError:
            pass
    return out


def mount_tmpfs(path):
    """None, or why mounting failed."""
    if os.geteuid() != 0:
        return "not root (uid %d): mount -t tmpfs needs root" % os.geteuid()
    p = subprocess.run(["mount", "-t", "tmpfs", "-o",
                        "size=%s,mode=0755" % TMPFS_SIZE, "tmpfs", path],
                       capture_output=True, text=True)
    if p.returncode != 0:
        return "mount -t tmpfs failed: %s" % (p.stderr.strip() or p.returncode)
    return None


def umount(path):
    if subprocess.run(["umount", path], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", path], capture_output=True)


def main():
    disk = tempfile.mkdtemp(prefix="lbtest-fulldisk-")
    why = mount_tmpfs(disk)
    if why:
        print("cannot run without a small file system to fill: " + why)
        check(False, "a %s tmpfs to fill (%s)" % (TMPFS_SIZE, why))
        os.rmdir(disk)
        return check.summary()
    filler = os.path.join(disk, "filler")
    sim = influx = d = None
    try:
        sim = lbtest.Sim(speed=60, seed=5)
        influx = lbtest.Influx()
        influx.create("lock")
        station = sim.station
        plcs = sorted(sim.plcs)
        lbtest.add_station_keys(station, """
heartbeat: 1s
history: {path: %s/history.db}
influx: {url: %s, database: lock, spool: %s/spool, batch_age: 250ms}
""" % (disk, influx.url, disk))
        d = lbtest.Daemon(["-c", station, "--summary", "1"])
        time.sleep(3)
        names = thread_names(d.proc.pid)
        check({"hist-writer", "influx-encode", "influx-send"} <= set(names),
              "the writers' threads carry their names (%s)"
              % sorted(set(names)))

        # ---- 1. InfluxDB down: batches go to the spool on the tmpfs ----
        influx.stop()
        check(lbtest.wait_for(lambda: (counter(last_summary(d, "influx"),
                                        "spooled") or 0) > 0, 15),
              "batches are spooled while InfluxDB is down")

        # ---- 2. the disk fills up -----------------------------------------
        lbtest.fill_disk(filler)
        t_full = time.time()
        check(lbtest.wait_for(lambda: "disk is full" in
                       last_summary(d, "history", t_full), 20),
              "history summary says the disk is full: %r"
              % last_summary(d, "history", t_full)[-120:])
        check(lbtest.wait_for(lambda: "No space left on device" in
                       last_summary(d, "influx", t_full), 20),
              "influx summary says the disk is full: %r"
              % last_summary(d, "influx", t_full)[-160:])
        time.sleep(4)
        t_poll = time.time() - 3
        rates = [float(m.group(1)) for t, text in log_lines(d, plcs[0], t_poll)
                 for m in [re.search(r": ([\d.]+) req/s", text)] if m]
        check(len(rates) >= 2 and min(rates) > 0,
              "polling goes on while the disk is full (%s: %s req/s)"
              % (plcs[0], rates))
        h_full = last_summary(d, "history")
        check(counter(h_full, "dropped") == 0 and
              (counter(h_full, "queued") or 0) > 0,
              "history keeps the samples queued: %r" % h_full[:80])

        # ---- 3. room again, InfluxDB back ---------------------------------
        os.unlink(filler)
        t_free = time.time()
        check(lbtest.wait_for(lambda: last_summary(d, "history", t_free + 1.5) and
                       "last error" not in last_summary(d, "history",
                                                        t_free + 1.5), 20),
              "history error gone from the summary after the disk has room: "
              "%r" % last_summary(d, "history", t_free)[-120:])
        check(lbtest.wait_for(lambda: last_summary(d, "influx", t_free + 1.5) and
                       "No space" not in last_summary(d, "influx",
                                                      t_free + 1.5), 20),
              "spool error gone from the summary: %r"
              % last_summary(d, "influx", t_free)[-160:])
        influx.start()
        t_up = time.time()
        check(lbtest.wait_for(lambda: counter(last_summary(d, "influx", t_up + 1),
                                       "spooled") == 0 and
                       "last error" not in last_summary(d, "influx", t_up + 1),
                       30),
              "spool drains and the influx error clears after InfluxDB "
              "returns: %r" % last_summary(d, "influx")[-160:])
        hs, is_ = last_summary(d, "history"), last_summary(d, "influx")
        check(counter(hs, "dropped") == 0, "history dropped nothing: %r"
              % hs[:90])
        check(counter(is_, "dropped") == 0, "influx dropped nothing: %r"
              % is_[:140])
        rc = d.stop()
        check(rc == 0, "bridge stops cleanly (rc=%s)" % rc)

        # ---- the samples of the full period are there ----------------------
        h = lbtest.export_history(station, frm="-30m")
        full0, full1 = int(t_full * 1000), int(t_free * 1000)
        # A tag's samples come with every poll of its group (fast, or the
        # slow 2 s) and every heartbeat (1 s) repeats its last one: so
        # through the full period, from its start to its end, no tag may
        # go longer than MAX_GAP_S without a sample.
        gaps = []
        for tag, rows in h.items():
            ts = [full0] + sorted(ms for ms, v, q in rows
                                  if full0 < ms < full1) + [full1]
            g = max(b - a for a, b in zip(ts, ts[1:]))
            if g > MAX_GAP_S * 1000:
                gaps.append((tag, g))
        check(len(h) >= 400, "history holds %d tags" % len(h))
        check(not gaps, "every tag has samples through the %.1f s the disk "
              "was full, no gap over %.0f s (%d with gaps: %s)"
              % ((full1 - full0) / 1000.0, MAX_GAP_S, len(gaps), gaps[:3]))
        vals = influx.points("lock", plcs)[0]
        missing, extra, wrong, total = [], [], [], 0
        for tag, rows in h.items():
            want = {ms: v for ms, v, q in rows if q == "good"}
            got = vals.get(tag, {})
            total += len(want)
            missing += [(tag, ms) for ms in want if ms not in got]
            wrong += [(tag, ms) for ms in want
                      if ms in got and num(got[ms]) != num(want[ms])]
            extra += [(tag, ms) for ms in got if ms not in want]
        during = sum(1 for rows in h.values() for ms, v, q in rows
                     if full0 <= ms <= full1 and q == "good")
        check(total > 5000 and during > 1000,
              "history holds %d good samples, %d of them from the full "
              "period" % (total, during))
        check(not missing, "InfluxDB has every sample of the history (%d "
              "missing: %s)" % (len(missing), missing[:3]))
        check(not extra, "InfluxDB has nothing the history lacks (%d: %s)"
              % (len(extra), extra[:3]))
        check(not wrong, "every value equal (%d differ: %s)"
              % (len(wrong), wrong[:3]))
        if check.failed:
            print(d.log()[-5000:])
    finally:
        if d:
            d.stop()
        if sim:
            sim.stop()
        if influx:
            influx.close()
        umount(disk)
        shutil.rmtree(disk, ignore_errors=True)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
