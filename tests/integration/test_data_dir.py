#!/usr/bin/python3
"""One state directory for everything the bridge writes (`data_dir`).

The defect: a station whose `history.path` pointed elsewhere and that
added `influx:` without `spool:` refused to start ("error influx:
data/spool: No such file or directory"), because the spool made only its
last directory; relative defaults also depended on the working directory.

1. history elsewhere + influx without spool, from a fresh working
   directory: the bridge starts, the spool is <data_dir>/spool = data/spool
   under the working directory, and it records.
2. data_dir three levels deep and not yet there: every parent is made, the
   history, the spool and the alarm journal land inside it.
3. data_dir that cannot be made (a file in the way): exit 1 with a message
   naming the directory and why, before anything is polled.

Standard library only; /usr/bin/python3.  Prints "N passed, M failed".
"""

import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbtest  # noqa: E402

check = lbtest.Checks()


def station_with(sim, keys):
    """A copy of the simulator's station file with extra top-level keys."""
    work = tempfile.mkdtemp(prefix="lbtest-datadir-")
    src = sim.station
    maps = os.path.dirname(src)
    dst = os.path.join(maps, "station-%d.yaml" % len(os.listdir(maps)))
    shutil.copy(src, dst)
    lbtest.add_station_keys(dst, keys)
    return work, dst


def run_for(station, cwd, seconds=2.5):
    d = lbtest.Daemon(["-c", station, "--summary", "1"], cwd=cwd)
    time.sleep(seconds)
    rc = d.stop()
    return rc, d.log()


def main():
    dead = lbtest.free_port()        # nothing listens: the writer spools
    with lbtest.Sim() as sim:
        # 1. history elsewhere, influx without spool
        work, station = station_with(sim, """
history: {path: %s/elsewhere/history.db}
influx: {url: "http://127.0.0.1:%d", database: lock}
""" % (tempfile.gettempdir() + "/lbtest-hist-%d" % os.getpid(), dead))
        hist_dir = tempfile.gettempdir() + "/lbtest-hist-%d" % os.getpid()
        try:
            rc, log = run_for(station, work)
            check(rc == 0 and "refuses" not in log and
                  "No such file" not in log,
                  "history elsewhere + influx without spool starts and "
                  "stops cleanly (rc=%s)" % rc)
            check("spool data/spool" in log,
                  "the spool defaults to data/spool under data_dir")
            check(os.path.isdir(os.path.join(work, "data", "spool")),
                  "data/spool is made in the working directory")
            check(os.path.isfile(os.path.join(hist_dir, "elsewhere",
                                              "history.db")),
                  "the history is where history.path says, parents made")
            check(" spooled (" in log and "history: " in log,
                  "both destinations report in the summary")
        finally:
            shutil.rmtree(work, ignore_errors=True)
            shutil.rmtree(hist_dir, ignore_errors=True)

        # 2. a deep data_dir that does not exist yet
        work, station = station_with(sim, """
data_dir: state/lock1/bridge
influx: {url: "http://127.0.0.1:%d", database: lock}
""" % dead)
        try:
            rc, log = run_for(station, work)
            base = os.path.join(work, "state", "lock1", "bridge")
            check(rc == 0, "a deep data_dir is made with its parents "
                  "(rc=%s)" % rc)
            check(os.path.isfile(os.path.join(base, "history.db")) and
                  os.path.isdir(os.path.join(base, "spool")),
                  "history.db and spool/ are inside data_dir")
            check("recording to state/lock1/bridge/history.db" in log,
                  "the log says where it records")
            st = os.stat(os.path.join(base, "alarms.db"))
            check(st.st_mode & 0o777 == 0o600,
                  "the alarm journal is inside data_dir, 0600 (%o)"
                  % (st.st_mode & 0o777))
            check("journal state/lock1/bridge/alarms.db: 0 restored" in log,
                  "the log says where the alarm journal is")
        finally:
            shutil.rmtree(work, ignore_errors=True)

        # 3. a data_dir that cannot be made
        work, station = station_with(sim, "data_dir: blocked/inner\n")
        try:
            with open(os.path.join(work, "blocked"), "w") as f:
                f.write("a file where a directory should be\n")
            d = lbtest.Daemon(["-c", station], cwd=work)
            try:
                d.proc.wait(timeout=10)
            except Exception:
                pass
            rc = d.stop()
            log = d.log()
            check(rc == 1, "a data_dir that cannot be made stops the bridge "
                  "with exit 1 (rc=%s)" % rc)
            check("data_dir blocked/inner: cannot create blocked: Not a "
                  "directory" in log,
                  "the message names the directory in the way and why (%s)"
                  % [l for l in log.splitlines() if "data_dir" in l][:1])
            check("polling" not in log, "nothing is polled")
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
