#!/usr/bin/python3
"""lockbridge under systemd: sd_notify, journald's log format, JSON logs,
and the unit file (packaging/systemd/lockbridge.service).

1. sd_notify: a fake NOTIFY_SOCKET (an AF_UNIX datagram socket in a temp
   directory, as systemd gives) and WATCHDOG_USEC=2000000, `lockbridge run
   --data-dir DIR` against lock-sim: READY=1 arrives once; when it does,
   the dashboard's socket accepts, /healthz answers 200 and lock-sim has
   served requests to every PLC, and at least 500 ms have passed since
   the poller of a PLC made `silent` started (its first attempt's
   timeout); its STATUS= says "polling N PLCs, serving
   127.0.0.1:PORT"; WATCHDOG=1 keeps arriving about every second (half of
   WATCHDOG_USEC); SIGTERM brings STOPPING=1 and exit 0; the history went
   to DIR (--data-dir, the unit's StateDirectory=).
2. JOURNAL_STREAM set to stderr's device:inode: every line starts with a
   syslog priority "<N>" and carries no timestamp; with a JOURNAL_STREAM
   that is not stderr's, lines are text again (timestamp first).
3. --log-format json: every stderr line is a JSON object with exactly
   time (RFC 3339), level, module and message.
4. The unit: `systemd-analyze verify` on a copy whose ExecStart is the
   built binary exits 0, and `systemd-analyze security --offline=true`
   gives an exposure level no higher than README.md states.

Standard library only; /usr/bin/python3.  Prints "N passed, M failed".
"""

import calendar
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbtest  # noqa: E402

check = lbtest.Checks()
UNIT = os.path.join(lbtest.SOURCE, "packaging", "systemd",
                    "lockbridge.service")
TS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")


def env_without(*names, **extra):
    env = {k: v for k, v in os.environ.items() if k not in names}
    env.update(extra)
    return env


def start(args, env, log_path):
    """lockbridge run ARGS with stdout and stderr into log_path."""
    with open(log_path, "w") as log:
        return subprocess.Popen([lbtest.binary("lockbridge"), "run"] + args,
                                stdout=log, stderr=log, env=env)


def stop(proc, timeout=30):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def read(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def recv_all(sock, until, want=None):
    """Datagrams [(time, text)] until the monotonic time `until`, or the
    first that contains `want`."""
    got = []
    while time.monotonic() < until:
        sock.settimeout(max(0.01, until - time.monotonic()))
        try:
            data = sock.recv(4096)
        except socket.timeout:
            break
        got.append((time.monotonic(), data.decode("utf-8", "replace")))
        if want and want in got[-1][1].split("\n"):
            break
    return got


def test_notify(sim, work):
    path = os.path.join(work, "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    port = lbtest.free_port()
    data_dir = os.path.join(work, "state")
    log_path = os.path.join(work, "notify.log")
    env = env_without("WATCHDOG_PID", "JOURNAL_STREAM",
                      NOTIFY_SOCKET=path, WATCHDOG_USEC="2000000")
    # One PLC that never answers: its first attempt ends at its 500 ms
    # timeout, and READY=1 must wait for it.
    sim.fault("hpu", "silent")
    proc = start(["-c", sim.station, "--web", "127.0.0.1:%d" % port,
                  "--data-dir", data_dir, "--summary", "0"], env, log_path)
    try:
        got = recv_all(sock, time.monotonic() + 30, want="READY=1")
        ready_wall = time.time()
        sim.fault("hpu", "none")
        ready = [m for _, m in got if "READY=1" in m.split("\n")]
        accepts = False
        status = healthz = None
        served = {}
        if ready:
            # At once, before anything else: what "started" promised.
            try:
                with socket.create_connection(("127.0.0.1", port), 2):
                    accepts = True
            except OSError:
                pass
            status = lbtest.http("GET", "http://127.0.0.1:%d/healthz"
                                 % port)[0]
            healthz = status
            for plc in sim.plcs:
                served[plc] = sum(sim.stats(plc).get("fc", {}).values())
        check(len(ready) == 1, "READY=1 arrives (%d messages before it)"
              % len(got))
        check(accepts, "when READY=1 arrives the dashboard's socket accepts")
        check(healthz == 200, "... and /healthz answers 200 (%s)" % healthz)
        check(served and all(n > 0 for n in served.values()),
              "... and lock-sim has served every PLC %s" % served)
        m = re.search(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)Z info hpu: "
                      r"polling ", read(log_path), re.M)
        started = m and calendar.timegm(time.strptime(
            m.group(1)[:19], "%Y-%m-%dT%H:%M:%S")) + float(m.group(1)[19:])
        check(started and ready_wall - started >= 0.45,
              "READY=1 waits for the silent PLC's first attempt (its 500 ms "
              "timeout): %.3f s after its poller started"
              % ((ready_wall - started) if started else -1))
        line = "STATUS=polling %d PLCs, serving http://127.0.0.1:%d" % (
            len(sim.plcs), port)
        check(ready and line in ready[0].split("\n"),
              "READY=1 comes with %r (%r)" % (line, ready[:1]))

        t0 = time.monotonic()
        later = recv_all(sock, t0 + 4.6)
        pings = [t for t, m in later if "WATCHDOG=1" in m.split("\n")]
        gaps = [b - a for a, b in zip(pings, pings[1:])]
        check(len(pings) >= 4, "WATCHDOG=1 keeps arriving: %d in 4.6 s"
              % len(pings))
        check(gaps and all(0.7 < g < 1.4 for g in gaps),
              "... about every second (half of WATCHDOG_USEC): %s"
              % ["%.2f" % g for g in gaps])
        check(not any("READY=1" in m.split("\n") for _, m in later),
              "READY=1 is sent once")

        proc.terminate()
        end = recv_all(sock, time.monotonic() + 15, want="STOPPING=1")
        check(any("STOPPING=1" in m.split("\n") for _, m in end),
              "SIGTERM brings STOPPING=1")
        rc = stop(proc)
        log = read(log_path)
        check(rc == 0 and "Sanitizer" not in log and
              "runtime error" not in log,
              "the bridge exits 0 on SIGTERM, no sanitizer report (%s)" % rc)
        check(os.path.isfile(os.path.join(data_dir, "history.db")),
              "--data-dir: the history is in %s" % data_dir)
        if check.failed:
            print(log[-3000:])
    finally:
        stop(proc)
        sock.close()


def run_briefly(sim, work, name, args, env, seconds=2.5):
    """Runs the bridge for a while with stderr (and stdout) in a file
    that is opened first, so the caller's env can name its inode; the
    lines and the exit code."""
    log_path = os.path.join(work, name + ".log")
    open(log_path, "w").close()
    st = os.stat(log_path)
    env = env(st) if callable(env) else env
    proc = start(["-c", sim.station, "--web", "127.0.0.1:%d"
                  % lbtest.free_port(), "--data-dir",
                  os.path.join(work, name), "--summary", "1"] + args,
                 env, log_path)
    time.sleep(seconds)
    rc = stop(proc)
    return read(log_path).splitlines(), rc


def test_journal(sim, work):
    lines, rc = run_briefly(
        sim, work, "journal", [],
        lambda st: env_without("NOTIFY_SOCKET", JOURNAL_STREAM="%d:%d"
                               % (st.st_dev, st.st_ino)))
    bad = [ln for ln in lines if not re.match(r"<[0-7]>\S+: ", ln) or
           TS.search(ln)]
    check(rc == 0 and len(lines) > 3 and not bad,
          "JOURNAL_STREAM is stderr: %d lines, each '<N>module: ...' "
          "without a timestamp (rc %s; not so: %s)" % (len(lines), rc,
                                                       bad[:3]))
    check(any(re.match(r"<6>main: lockbridge \S+ running station ", ln)
              for ln in lines),
          "an info line carries <6> (SD_INFO)")
    lines, rc = run_briefly(
        sim, work, "notjournal", [],
        lambda st: env_without("NOTIFY_SOCKET", JOURNAL_STREAM="%d:%d"
                               % (st.st_dev, st.st_ino + 1)))
    check(rc == 0 and lines and all(TS.match(ln) for ln in lines),
          "JOURNAL_STREAM naming another stream: text lines, timestamp "
          "first (%r)" % lines[:1])


def test_json(sim, work):
    lines, rc = run_briefly(sim, work, "json", ["--log-format", "json"],
                            env_without("NOTIFY_SOCKET", "JOURNAL_STREAM"))
    objs, bad = [], []
    for ln in lines:
        try:
            o = json.loads(ln)
        except ValueError:
            bad.append(ln)
            continue
        if (not isinstance(o, dict) or
                sorted(o) != ["level", "message", "module", "time"] or
                not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z",
                                 o["time"]) or
                o["level"] not in ("debug", "info", "warn", "error")):
            bad.append(ln)
        objs.append(o)
    check(rc == 0 and len(lines) > 3 and not bad,
          "--log-format json: %d lines, each an object of time, level, "
          "module, message (rc %s; not so: %s)" % (len(lines), rc, bad[:3]))
    check(any(o.get("module") == "main" and o.get("level") == "info" and
              o.get("message", "").startswith("lockbridge ") and
              " running station " in o.get("message", "") for o in objs),
          "the start line is {level: info, module: main, message: ...}")


def test_unit(work):
    unit = os.path.join(work, "lockbridge.service")
    with open(UNIT, encoding="utf-8") as f:
        text = f.read()
    check("ExecStart=/usr/bin/lockbridge run " in text,
          "the unit runs /usr/bin/lockbridge run")
    with open(unit, "w", encoding="utf-8") as f:
        f.write(text.replace("/usr/bin/lockbridge",
                             lbtest.binary("lockbridge")))
    p = subprocess.run(["systemd-analyze", "verify", unit],
                       capture_output=True, text=True, timeout=60)
    check(p.returncode == 0 and not p.stderr.strip(),
          "systemd-analyze verify: rc %d %s" % (p.returncode,
                                                p.stderr.strip()[:500]))
    p = subprocess.run(["systemd-analyze", "security", "--offline=true",
                        "--no-pager", unit],
                       capture_output=True, text=True, timeout=60)
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", p.stdout)
    with open(os.path.join(lbtest.SOURCE, "README.md"),
              encoding="utf-8") as f:
        readme = re.search(r"exposure level of \*\*([0-9.]+)\*\*", f.read())
    check(m and readme and float(m.group(1)) <= float(readme.group(1)),
          "systemd-analyze security: %s, README says %s"
          % (m and m.group(1), readme and readme.group(1)))


def main():
    work = tempfile.mkdtemp(prefix="lbtest-systemd-")
    sim = None
    try:
        sim = lbtest.Sim()
        test_notify(sim, work)
        test_journal(sim, work)
        test_json(sim, work)
        test_unit(work)
    finally:
        lbtest.tear_down(work, None, sim)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
