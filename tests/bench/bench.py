#!/usr/bin/python3
"""./run bench: the bridge against the ceilings of this machine (issue 2
section 6, Modbus polling; issue 3 section 6, time series).

For 1, 10 and 50 simulated PLCs of 1,000 holding registers each, one
lock-sim serves them all on consecutive loopback ports, and in turn:
  bridge (poll)     lb-bench poll: pollers back to back, decode + tag store
  bare libmodbus    lb-bare poll: the same reads with nothing else (ceiling)
  pymodbus          one synchronous ModbusTcpClient process per PLC
  mbpoll            one mbpoll process per PLC (its minimum period is 10 ms)
  bridge (cadence)  lb-bench cadence: pollers on the shipped station's
                    fast period (100 ms; the throughput runs above ignore
                    periods), with start-of-cycle lateness, while lb-bare
                    clock measures the machine's own clock_nanosleep
                    lateness alongside
Then the demo station (plc-maps/station.yaml) runs under `lockbridge run`
against `lock-sim --speed 60` for 30 s: its resident memory after 5 s and
after 30 s (the steady state: the queues stay small, so it no longer
creeps up as they advance), and that plus what the queues and the
history's page cache would take at their bounds (lb-queues), which a
short run cannot reach.

Time series (issue 3):
  line protocol     lb-lp-bench: encoder lines/s on one core vs snprintf
  InfluxDB 1.x,     each database is started here (loopback, temp dir); its
  VictoriaMetrics   ceiling is measured by posting pre-encoded batches
                    (the bridge's own bytes, 5,000 points each) over one
                    keep-alive connection, before and after the bridge's
                    run (lb-influx-bench: the real writer); every run goes
                    to a fresh database and its point count is checked
  history           lb-hist-bench: SQLite insert rate, trend query latency

WebSocket fan-out (issue 7), `web`: one PLC of 2,000 u16 tags polled
every 100 ms under `lockbridge run` (history off: only the web path is
measured), lb-ws-load connecting N clients:
  (a) churn 10 %    200 clients, a tenth of the tags changing per 100 ms
  (b) stress        200 clients, every tag changing every 100 ms
  each against the Node peer (ws_peer.mjs replaying the bridge's own
  frames, recorded first with one client), alternating, 3 rounds of 4 s
  (c) idle clients  the bridge's RSS with 0 and with 500 idle clients on a
                    quiet station (nothing changes)

The dashboard in chromium (issue 7), `page`: page_bench.mjs drives
Debian's /usr/bin/chromium (playwright-core) against `lockbridge run` on
the shipped station polling lock-sim:
  load              7 cold loads (fresh context) and 7 warm ones of the
                    kiosk overview: navigation start to the overview
                    complete with live values (link live, every
                    schematic-bound tag drawn with the snapshot's good
                    value, every PLC chip ok) and painted; bytes of a first
                    and a repeat visit (HTTP, gzipped, + the snapshot frame)
  trends            a history filled with 30 days of 10 tags by
                    lb-hist-fill; #/trends of those 30 days timed from the
                    hash change to the lb-trends-drawn mark, first and 14
                    more; /api/history timed from here too
  soak              web.rate 50, polls and lock-sim ticks every 10 ms: a
                    kiosk overview and a kiosk trend in live follow until
                    each has counted 36,000 frames (an hour at 10 Hz; 3,000
                    with --quick); JS heap after GC, DOM nodes, listeners
                    before, every minute and after

Prints a table and writes build/bench/results.json (every figure, the
ratios and the targets).  Missing binaries are skipped with a message.
Every process started here is stopped by PID in a finally block.

Alarms (issue 9), `alarm`: one PLC of 2,000 u16 tags polled every 100 ms
with 10 % churn under `lockbridge run`, with 5,000 alarm definitions that
the churn never trips:
  engine            lb-alarm-bench: the engine alone on the same change
                    stream, ns of CPU per tag change
  consumer thread   its CPU (schedstat) and the part of it in the alarm
                    engine (subscriber, timer, journal hook, measured by
                    the dispatcher itself: /healthz consumer): what
                    the alarms add to the rest (target < 10 %)
  latency           one alarm tripped every 50 ms through lock-sim's set,
                    a WebSocket client: its alarm frame's receipt minus
                    the alarm's active_since (the Modbus response time)

Notifications (issue 10), `notify`: one PLC under `lockbridge run`
with a notify section (group.wait 0s, group.interval 0s: no flood summaries): a webhook receiver (http.server,
a thread per request) and Debian's aiosmtpd, both in this process on
loopback, each noting the wall-clock arrival of every POST and mail:
  latency           an alarm activated every 150 ms through lock-sim's set
                    (200; 40 with --quick), routed to the webhook and an
                    email channel: each POST's arrival (the body's
                    alarms[].notification joined to the journal) and each
                    mail's end of DATA (the mail channel's messages in
                    delivery order) minus the notification row's ts_ns,
                    the Modbus response time; and the row's created_ns
                    (routed) minus it
  flood             1,000 alarms on one tag across their limit and back
                    every 0.2 s (5,000 events a second, clears notified)
                    for 10 s (4 s with --quick) to a second webhook
                    channel: rows written, rows sent and POSTs per second
                    while it comes, then the drain of the backlog second
                    by second; the notify thread's CPU and run-queue wait
                    (schedstat) and what it waits in (syscall, sampled),
                    against one small WAL synchronous=FULL commit on the
                    same disk: the two commits each message makes

Many stations, one central store (issue 11 section 5), `scale`: 20
copies of the shipped station (5 with --quick), each with its PLC ports
moved and its own station.id (lock01..lock20), each under its own lock-sim
(speed 1, a control socket) and its own `lockbridge run` (history on, as
shipped; web off; --summary 1) in a directory of its own, every bridge with
an influx section (database scale, batch_age 250ms, its own spool) writing
to one victoria-metrics started here on a free loopback port with a temp
data dir (-search.latencyOffset=0s -search.disableCache: fresh points are
searchable at once; -dedup.minScrapeInterval=1ms: a batch stored twice
counts once):
  throughput        over 60 s (15 s with --quick): points/s each bridge
                    wrote (its summary lines), and the rows/s
                    VictoriaMetrics counts itself (vm_rows_inserted_total)
                    and a count_over_time query over the window;
                    each bridge's CPU (/proc/PID/stat) and VmRSS
  delay             levels.upstream_level set to a new value through one
                    station's lock-sim control socket after another (20
                    probes; 10 with --quick), /api/v1/export polled every
                    20 ms until the value is there: that moment minus the
                    point's own timestamp (the Modbus response), p50/p99;
                    it holds batch_age, the write, VictoriaMetrics'
                    ingestion (about 1 s before a new row is searchable)
                    and the 20 ms polling; also from the set
  outage            victoria-metrics stopped for 60 s (30 s with --quick)
                    while every bridge polls on, started again on the same
                    port and data dir: each spool's peak bytes, the time
                    until every spool is empty again (the writer's retry
                    back-off, 1 s doubling to 60 s, dominates it); then the
                    bridges stopped and every numeric good sample of every
                    station's embedded history looked up in
                    VictoriaMetrics (missing must be 0)

Usage: bench.py [--seconds S] [--quick] [--build DIR] [--only PARTS]
  PARTS: comma-separated from modbus, demo, lp, influx, hist, web, page,
  alarm, notify, scale
  (default all)
Environment: LB_BUILD (build directory, default build), LB_SOURCE (source
tree, default the one this file is in), LB_BENCH_SIM (simulator to run
instead of $LB_BUILD/lock-sim, same arguments).
"""

import argparse
import http.client
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "integration"))
import lbtest  # noqa: E402  (peers' command lines, shared with the tests)

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.environ.get("LB_SOURCE", os.path.normpath(os.path.join(HERE, "..", "..")))
PY = "/usr/bin/python3"
REGS = 1000
POLL_MS = 10         # throughput stations (lb-bench poll ignores it)
CADENCE_MS = 100     # the shipped station's fast period
ROUNDS = 3           # bare loop and bridge take turns this many times
CHURN = 0.1          # share of the synthetic registers that change every
                     # 100 ms, as a plant's analog values do
PYMODBUS_CAP = 10
MBPOLL_CAP = 10
TARGET_RATIO = 0.90
TARGET_LATE_US = 100.0
TARGET_RSS_KB = 20 * 1024
TARGET_LP_LINES = 5e6
TARGET_TS_RATIO = 0.90
TARGET_HIST_30D_MS = 100.0
TS_PLCS, TS_FIELDS, TS_BATCH = 100, 10, 5000
PARTS = ("modbus", "demo", "lp", "influx", "hist", "web", "page", "alarm",
         "notify", "scale")

PORT_RE = re.compile(r"^\s*port:\s*(\d+)", re.M)
_procs = []  # every Popen started here, stopped in stop_all()


def log(msg):
    print(msg, flush=True)


# ---- processes ---------------------------------------------------------

def start(cmd, **kw):
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    p = subprocess.Popen(cmd, **kw)
    _procs.append(p)
    return p


def start_logged(cmd, path, cwd=None, env=None):
    """A long-running server: output to a file, never to a pipe that could
    fill up and stall it."""
    with open(path, "wb") as f:
        return start(cmd, stdin=subprocess.DEVNULL, stdout=f,
                     stderr=subprocess.STDOUT, cwd=cwd, env=env)


def tail(path, n=300):
    try:
        with open(path, "rb") as f:
            return f.read().decode(errors="replace").strip()[-n:]
    except OSError:
        return ""


def stop(p, sig=signal.SIGTERM, grace=5.0):
    """Stops one process we started, by PID; returns its output."""
    if p.poll() is None:
        try:
            os.kill(p.pid, sig)
        except ProcessLookupError:
            pass
    try:
        out, err = p.communicate(timeout=grace)
    except subprocess.TimeoutExpired:
        os.kill(p.pid, signal.SIGKILL)
        out, err = p.communicate(timeout=5)
    return out, err


def stop_all():
    for p in _procs:
        if p.poll() is None:
            try:
                stop(p)
            except Exception as e:  # keep stopping the others
                log("bench: could not stop pid %d: %s" % (p.pid, e))
    _procs.clear()


def run_json(cmd, timeout):
    """Runs a driver that prints one JSON object; None (with a message) if
    it fails."""
    p = start(cmd)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop(p, signal.SIGKILL)
        log("  %s: timed out" % os.path.basename(cmd[0]))
        return None
    try:
        return json.loads(out.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        log("  %s exited %d: %s" % (os.path.basename(cmd[0]), p.returncode,
                                    err.decode(errors="replace").strip()[-300:]))
        return None


# ---- ports and files ---------------------------------------------------

def port_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_range(n):
    rnd = random.Random()
    for _ in range(200):
        base = rnd.randrange(20000, 60000 - n)
        if all(port_free(base + i) for i in range(n)):
            return base
    raise RuntimeError("no %d consecutive free ports" % n)


def wait_ports(ports, proc, limit=15.0):
    end = time.time() + limit
    pending = list(ports)
    while pending and time.time() < end:
        if proc.poll() is not None:
            return False
        port = pending[0]
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                pending.pop(0)
        except OSError:
            time.sleep(0.05)
    return not pending


def u16_tag(tag_id, address, alarms=()):
    """A holding-register u16 tag line of a PLC file, with its alarms
    (YAML flow maps) if any."""
    al = ", alarms: [%s]" % ", ".join(alarms) if alarms else ""
    return "{id: %s, table: holding, address: %d, type: u16%s}" % (
        tag_id, address, al)


def write_plc(dirname, i, port, period_ms, tags):
    """plc-NN.yaml: PLC plcNN on 127.0.0.1:port, tags (u16_tag lines)
    polled every period_ms.  Its file name."""
    name = "plc-%02d.yaml" % i
    lines = ["id: plc%02d" % i, "host: 127.0.0.1", "port: %d" % port,
             "unit: 1", "timeout: 500ms", "poll: {fast: %dms}" % period_ms,
             "tags:"] + ["  - " + t for t in tags]
    with open(os.path.join(dirname, name), "w") as f:
        f.write("\n".join(lines) + "\n")
    return name


def write_station_file(dirname, lines, extra=""):
    """station.yaml of lines (then extra, as it is).  Its path."""
    path = os.path.join(dirname, "station.yaml")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n" + extra)
    return path


def write_station(dirname, n, port_base, period_ms, regs=REGS, extra=""):
    """N PLC files of regs u16 holding registers as tags, polled every
    period_ms, and a station file listing them (extra: more lines for
    it)."""
    os.makedirs(dirname, exist_ok=True)
    tags = [u16_tag("r%d" % a, a) for a in range(regs)]
    files = [write_plc(dirname, i, port_base + i, period_ms, tags)
             for i in range(n)]
    return write_station_file(
        dirname, ["station: {id: bench%d, name: {en: Bench %d PLCs}}" % (n, n),
                  "plcs: [%s]" % ", ".join(files)], extra)


# ---- clients -----------------------------------------------------------

def derive(r):
    """Adds rates to a driver's raw figures."""
    if not r or not r.get("seconds"):
        return r
    s = r["seconds"]
    r["req_per_s"] = r["requests"] / s
    r["regs_per_s"] = r["registers"] / s
    r["cpu_s_per_10k"] = (r["cpu_s"] * 10000.0 / r["requests"]
                          if r["requests"] else None)
    return r


def merge(samples):
    """One figure from repeated runs of the same driver."""
    if not samples or any(s is None for s in samples):
        return None
    m = {k: sum(s[k] for s in samples)
         for k in ("requests", "registers", "seconds", "cpu_s")}
    m["rss_kb"] = max(s["rss_kb"] for s in samples)
    m["runs"] = len(samples)
    return derive(m)


def bench_pymodbus(ports, secs):
    n = min(len(ports), PYMODBUS_CAP)
    script = os.path.join(HERE, "pymodbus_client_bench.py")
    start_at = time.time() + 1.0 + 0.25 * n  # every process imported first
    procs = [start([PY, script, str(port), "--regs", str(REGS),
                    "--seconds", str(secs), "--start-at", "%.3f" % start_at])
             for port in ports[:n]]
    total = {"requests": 0, "registers": 0, "seconds": 0.0, "cpu_s": 0.0,
             "rss_kb": 0, "errors": 0, "processes": n,
             "capped": n < len(ports)}
    try:
        for p in procs:
            out, err = p.communicate(timeout=secs + 60)
            try:
                r = json.loads(out.decode().strip().splitlines()[-1])
            except (ValueError, IndexError):
                log("  pymodbus client failed: %s"
                    % err.decode(errors="replace").strip()[-300:])
                return None
            for k in ("requests", "registers", "cpu_s", "rss_kb", "errors"):
                total[k] += r[k]
            total["seconds"] = max(total["seconds"], r["seconds"])
    finally:
        for p in procs:
            if p.poll() is None:
                stop(p)
    return derive(total)


def bench_mbpoll(ports, secs, outdir):
    """mbpoll reads at most 125 registers per poll and polls at most every
    10 ms (-l 10 is its minimum), so it is run at that rate, one process per
    PLC; requests are counted from its output blocks, which go to files (a
    pipe would fill up and stall it)."""
    n = min(len(ports), MBPOLL_CAP)
    procs = []
    results = []
    logs = [os.path.join(outdir, "mbpoll-%d.out" % i) for i in range(n)]
    try:
        t0 = time.monotonic()
        for port, path in zip(ports[:n], logs):
            with open(path, "wb") as out:
                procs.append(start(
                    ["mbpoll", "-m", "tcp", "-p", str(port), "-a", "1",
                     "-r", "1", "-c", "125", "-l", "10", "-o", "1",
                     "127.0.0.1"],
                    stdin=subprocess.DEVNULL, stdout=out,
                    stderr=subprocess.DEVNULL))
        time.sleep(secs)
        for p in procs:
            # SIGINT is mbpoll's Ctrl-C: it flushes and exits.
            os.kill(p.pid, signal.SIGINT)
        t1 = time.monotonic()
        for p, path in zip(procs, logs):
            _, status, ru = os.wait4(p.pid, 0)
            p.returncode = os.waitstatus_to_exitcode(status)
            with open(path, "rb") as f:
                polls = f.read().decode(errors="replace").count(
                    "-- Polling slave")
            results.append((polls, ru))
    finally:
        for p in procs:
            if p.returncode is None and p.poll() is None:
                stop(p)
        for path in logs:
            if os.path.exists(path):
                os.unlink(path)
    polls = sum(c for c, _ in results)
    r = {"requests": polls, "registers": polls * 125,
         "seconds": t1 - t0,
         "cpu_s": sum(ru.ru_utime + ru.ru_stime for _, ru in results),
         "rss_kb": sum(ru.ru_maxrss for _, ru in results),
         "processes": n, "capped": n < len(ports), "period_ms": 10}
    return derive(r)


def bench_cadence(lb_bench, bare, station, secs):
    """lb-bench cadence and lb-bare clock at the same time, so both see the
    same machine load."""
    clock = None
    cad = None
    pc = start([bare, "clock", "--period-us", "1000", "--seconds",
                str(secs)]) if bare else None
    try:
        if lb_bench:
            cad = run_json([lb_bench, "cadence", "-c", station,
                            "--seconds", str(secs)], secs + 60)
        if pc:
            out, err = pc.communicate(timeout=secs + 60)
            try:
                clock = json.loads(out.decode().strip())
            except ValueError:
                log("  lb-bare clock failed: %s" % err.decode(errors="replace"))
    finally:
        if pc and pc.poll() is None:
            stop(pc)
    return derive(cad), clock


def proc_status_kb(pid, key):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1], 10)
    except OSError:
        pass
    return None


def copy_demo_station(outdir, station_id=None, extra="", taken=()):
    """Copies plc-maps/ to outdir with every PLC moved to a free port, so the
    measurement does not collide with a demo already running on 1502...;
    with station_id, the station's id replaced and its web off, and extra
    (YAML text) appended.  taken: ports other copies already use (a copy's
    ports are free only once its lock-sim listens).  Returns (station file,
    its PLC ports)."""
    src = os.path.join(SOURCE, "plc-maps")
    names = sorted(f for f in os.listdir(src) if f.endswith(".yaml"))
    texts = {}
    ports = set()
    for f in names:
        with open(os.path.join(src, f), encoding="utf-8") as fh:
            texts[f] = fh.read()
        ports.update(int(m) for m in PORT_RE.findall(texts[f]))
    base = 0
    for _ in range(50):
        base = free_port_range(len(ports)) if ports else 0
        if not set(range(base, base + len(ports))) & set(taken):
            break
    remap = {p: base + i for i, p in enumerate(sorted(ports))}
    os.makedirs(outdir, exist_ok=True)
    for f, text in texts.items():
        text = PORT_RE.sub(lambda m: m.group(0).replace(
            m.group(1), str(remap[int(m.group(1))])), text)
        if station_id and f == "station.yaml":
            text = re.sub(r"^station: \{id: [^,}]+", "station: {id: %s"
                          % station_id, text, count=1, flags=re.M)
            text = re.sub(r"^web: .*$", "web: off", text, count=1,
                          flags=re.M) + "\n" + extra.strip() + "\n"
        with open(os.path.join(outdir, f), "w", encoding="utf-8") as fh:
            fh.write(text)
    return os.path.join(outdir, "station.yaml"), sorted(remap.values())


DEMO_SPEED = 60     # simulated seconds per second: lockages in the window


def bench_demo(build, sim_cmd, marks, outdir):
    """The demo station's memory: VmRSS at each of `marks` seconds of
    `lockbridge run` (the last is the steady state), and the bounds of its
    queues and caches from lb-queues."""
    lockbridge = os.path.join(build, "lockbridge")
    queues = os.path.join(build, "lb-queues")
    if not os.path.exists(os.path.join(SOURCE, "plc-maps", "station.yaml")):
        return {"skipped": "plc-maps/station.yaml does not exist yet"}
    if not os.access(lockbridge, os.X_OK):
        return {"skipped": "%s not built" % lockbridge}
    station, ports = copy_demo_station(os.path.join(outdir, "demo"))
    bounds = run_json([queues, "-c", station], 60) \
        if os.access(queues, os.X_OK) else None
    sim_log = os.path.join(outdir, "demo", "lock-sim.log")
    lb_log = os.path.join(outdir, "demo", "lockbridge.log")
    # A fresh history each run: the page cache grows with the database.
    shutil.rmtree(os.path.join(outdir, "demo", "data"), ignore_errors=True)
    sim = start_logged(sim_cmd + ["-c", station, "--speed", str(DEMO_SPEED)],
                       sim_log)
    lb = None
    try:
        if not wait_ports(ports, sim):
            return {"skipped": "lock-sim did not serve the demo station: %s"
                    % tail(sim_log)}
        # Run in the bench directory: the embedded history (data/) lands
        # there, not in the source tree.
        # The dashboard on a port of its own: a demo may hold 8080.
        lb = start_logged([os.path.abspath(lockbridge), "run", "-c",
                           os.path.abspath(station), "--web",
                           "127.0.0.1:%d" % lbtest.free_port()], lb_log,
                          cwd=os.path.dirname(os.path.abspath(lb_log)))
        t0 = time.time()
        rss = {}
        for m in marks:
            time.sleep(max(0.0, t0 + m - time.time()))
            if lb.poll() is not None:
                return {"skipped": "lockbridge run exited %d: %s"
                        % (lb.returncode, tail(lb_log))}
            rss[m] = proc_status_kb(lb.pid, "VmRSS")
        res = {"rss_at_kb": {str(m): v for m, v in rss.items()},
               "rss_kb": rss[marks[-1]],
               "hwm_kb": proc_status_kb(lb.pid, "VmHWM"),
               "marks": list(marks), "speed": DEMO_SPEED}
        if bounds:
            # What a crisis adds on top of the steady state: every queue
            # at its bound (the influx one only when the station has an
            # influx section) and the page cache full.  An upper bound:
            # the little each already holds is counted twice.
            extra = bounds["tagstore_queue"] + bounds["history_queue"] + \
                bounds["history_cache"] + \
                (bounds["influx_queue"] if bounds["influx_configured"] else 0)
            res["bounds"] = bounds
            res["bound_kb"] = res["rss_kb"] + extra // 1024
        return res
    finally:
        if lb:
            stop(lb, signal.SIGINT)
        stop(sim)


# ---- time series (issue 3) ---------------------------------------------

def http_call(port, method, path, body=None, timeout=60):
    """One request on a fresh connection: (status, body bytes)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, path, body=body)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def wait_http(port, path, proc, limit=20.0):
    end = time.time() + limit
    while time.time() < end:
        if proc.poll() is not None:
            return False
        try:
            if http_call(port, "GET", path, timeout=2)[0] in (200, 204):
                return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


def proc_cpu_s(pid):
    """User + system CPU seconds of a process from /proc (None if gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


class Database:
    """InfluxDB 1.x or VictoriaMetrics started here on a free loopback port
    in a temporary directory, stopped by PID."""

    def __init__(self, kind):
        self.kind = kind
        self.tmp = tempfile.mkdtemp(prefix="lb-bench-%s." % kind)
        self.port = free_port_range(1)
        self.log = os.path.join(self.tmp, "server.log")
        if kind == "influxdb":
            rpc = free_port_range(1)
            while rpc == self.port:
                rpc = free_port_range(1)
            conf = os.path.join(self.tmp, "influxdb.conf")
            with open(conf, "w") as f:
                f.write(lbtest.influx_conf(self.tmp, self.port, rpc))
            cmd = ["influxd", "run", "-config", conf]
            ready = "/ping"
        else:
            cmd = lbtest.victoria_args(self.port, "%s/data" % self.tmp)
            ready = "/health"
        self.proc = start_logged(cmd, self.log)
        if not wait_http(self.port, ready, self.proc):
            raise RuntimeError("%s did not start: %s" % (kind, tail(self.log)))

    def close(self):
        # influxd takes 2-4 s to exit after SIGTERM: wait for it.
        if self.proc.poll() is None:
            stop(self.proc, grace=20.0)
        if self.proc in _procs:
            _procs.remove(self.proc)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def cpu_s(self):
        return proc_cpu_s(self.proc.pid)

    def create(self, db):
        if self.kind == "influxdb":
            st, body = http_call(self.port, "POST", "/query?" +
                                 urllib.parse.urlencode(
                                     {"q": "CREATE DATABASE %s" % db}))
            if st != 200:
                raise RuntimeError("CREATE DATABASE %s: %d %s"
                                   % (db, st, body[:200]))

    def write_path(self, db):
        return "/write?" + urllib.parse.urlencode({"db": db,
                                                   "precision": "ns"})

    def count(self, db, expect, limit=20.0):
        """Value fields stored in db (the f0..f9 fields, not `_q`). VM makes
        data visible after about a second: poll until expect or limit."""
        end = time.time() + limit
        while True:
            n = self._count_once(db)
            if n is not None and n >= expect or time.time() >= end:
                return n
            time.sleep(0.5)

    def _count_once(self, db):
        if self.kind == "influxdb":
            q = {"db": db, "q": "SELECT count(/^f[0-9]+$/) FROM /.*/"}
            st, body = http_call(self.port, "GET",
                                 "/query?" + urllib.parse.urlencode(q), None,
                                 timeout=120)
            if st != 200:
                return None
            total = 0
            for r in json.loads(body).get("results", []):
                for ser in r.get("series", []):
                    for row in ser.get("values", []):
                        total += sum(v for v in row[1:] if v)
            return total
        q = {"query": 'sum(count_over_time({__name__=~"p[0-9]+_f[0-9]+",'
                      'db="%s"}[30d]))' % db}
        st, body = http_call(self.port, "GET",
                             "/api/v1/query?" + urllib.parse.urlencode(q),
                             None, timeout=120)
        if st != 200:
            return None
        res = json.loads(body).get("data", {}).get("result", [])
        return int(float(res[0]["value"][1])) if res else 0


def load_batches(path, per_batch_lines, points_per_line):
    """The encoded file cut into request bodies of per_batch_lines lines."""
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    if lines and not lines[-1]:
        lines.pop()
    out = []
    for i in range(0, len(lines), per_batch_lines):
        chunk = lines[i:i + per_batch_lines]
        out.append((b"\n".join(chunk) + b"\n", len(chunk) * points_per_line))
    return out


def post_ceiling(db, name, batches, secs):
    """Posts pre-encoded batches over one keep-alive connection, one request
    in flight (like the writer), for about secs or until they run out."""
    db.create(name)
    path = db.write_path(name)
    conn = http.client.HTTPConnection("127.0.0.1", db.port, timeout=60)
    points = requests = 0
    dcpu0 = db.cpu_s()
    ccpu0 = time.process_time()
    t0 = time.monotonic()
    try:
        for body, npts in batches:
            conn.request("POST", path, body=body,
                         headers={"Content-Type": "text/plain"})
            r = conn.getresponse()
            text = r.read()
            if r.status != 204:
                raise RuntimeError("%s /write: %d %s"
                                   % (db.kind, r.status, text[:200]))
            points += npts
            requests += 1
            if time.monotonic() - t0 >= secs:
                break
    finally:
        conn.close()
    t1 = time.monotonic()
    ccpu1 = time.process_time()
    dcpu1 = db.cpu_s()
    return {"points": points, "requests": requests, "seconds": t1 - t0,
            "cpu_s": ccpu1 - ccpu0,
            "points_per_s": points / (t1 - t0) if t1 > t0 else None,
            "db_cpu_s": (dcpu1 - dcpu0) if dcpu0 is not None and
            dcpu1 is not None else None,
            "db": name, "exhausted": requests == len(batches)}


def bench_one_db(kind, influx_bench, batches, secs):
    """Ceiling before, the bridge's writer, ceiling after; counts checked."""
    out = {"kind": kind}
    db = None
    try:
        db = Database(kind)
        before = post_ceiling(db, "ceiling1", batches, secs)
        rate = before["points_per_s"] or 1.0
        # Give the bridge about as much work as the database took in secs.
        n = int(min(max(rate * secs, 100000), len(batches) * TS_BATCH))
        out["bridge"] = None
        if influx_bench:
            db.create("bridge")
            dcpu0 = db.cpu_s()
            r = run_json([influx_bench, "--url", "http://127.0.0.1:%d"
                          % db.port, "--db", "bridge", "--points", str(n),
                          "--plcs", str(TS_PLCS), "--fields", str(TS_FIELDS),
                          "--batch", str(TS_BATCH)], secs * 10 + 120)
            dcpu1 = db.cpu_s()
            if r is not None:
                r["db_cpu_s"] = dcpu1 - dcpu0 if dcpu0 is not None and \
                    dcpu1 is not None else None
            out["bridge"] = r
        after = post_ceiling(db, "ceiling2", batches, secs)
        out["ceiling_samples"] = [before, after]
        pts = before["points"] + after["points"]
        sec = before["seconds"] + after["seconds"]
        out["ceiling"] = {"points": pts, "seconds": sec,
                          "points_per_s": pts / sec if sec else None}
        # Every run must have landed, or a fast failing writer looks good.
        for s in (before, after):
            s["stored"] = db.count(s["db"], s["points"])
            s["verified"] = s["stored"] == s["points"]
        if out["bridge"]:
            b = out["bridge"]
            b["stored"] = db.count("bridge", b["points"])
            b["verified"] = b["stored"] == b["points"]
        out["verified"] = all(s["verified"] for s in (before, after)) and \
            bool(out["bridge"] and out["bridge"]["verified"])
        c = out["ceiling"]["points_per_s"]
        if out["bridge"] and c:
            out["ratio"] = out["bridge"]["points_per_s"] / c
    except (RuntimeError, OSError, ValueError) as e:
        out["skipped"] = str(e)
        log("  %s: %s" % (kind, e))
    finally:
        if db:
            db.close()
    return out


def bench_influx(influx_bench, secs, outdir):
    """Both databases, one after the other (never both running at once)."""
    res = {"plcs": TS_PLCS, "fields": TS_FIELDS, "batch_points": TS_BATCH,
           "seconds": secs}
    have = {k: shutil.which(b) is not None for k, b in
            (("influxdb", "influxd"), ("victoriametrics", "victoria-metrics"))}
    if not influx_bench:
        res["skipped"] = "lb-influx-bench not built"
        return res
    # The ceiling posts the bridge's own bytes: lb-influx-bench encodes the
    # same samples with lineproto.c.  Enough for ~2.5 M points/s.
    enc = os.path.join(outdir, "ceiling.lp")
    total = int(2.5e6 * secs) // TS_BATCH * TS_BATCH
    p = subprocess.run([influx_bench, "--encode", enc, "--points", str(total),
                        "--plcs", str(TS_PLCS), "--fields", str(TS_FIELDS)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        res["skipped"] = "lb-influx-bench --encode failed: %s" % \
            p.stderr.decode(errors="replace").strip()[-300:]
        return res
    try:
        batches = load_batches(enc, TS_BATCH // TS_FIELDS, TS_FIELDS)
    finally:
        os.unlink(enc)
    for kind in ("influxdb", "victoriametrics"):
        if not have[kind]:
            res[kind] = {"kind": kind, "skipped": "not installed (Debian "
                         "package %s)" % ("influxdb" if kind == "influxdb"
                                          else "victoria-metrics")}
            continue
        log("bench: %s: ceiling, bridge writer, ceiling (%g s each)"
            % (kind, secs))
        res[kind] = bench_one_db(kind, influx_bench, batches, secs)
    return res


# ---- web: WebSocket fan-out (issue 7) ----------------------------------

WEB_TAGS = 2000          # M: u16 holding-register tags on one PLC
WEB_POLL_MS = 100
WEB_RATE = 10            # web.rate, the default: frames a second per client
WEB_CHURN = 0.1          # row (a): a tenth of the tags change per 100 ms
WEB_CLIENTS, WEB_CLIENTS_QUICK = 200, 50
WEB_SECONDS, WEB_SECONDS_QUICK = 4.0, 3.0
WEB_WARMUP = 1.0         # after every client has its snapshot
WEB_ROUNDS, WEB_ROUNDS_QUICK = 3, 1
WEB_IDLE_CLIENTS, WEB_IDLE_CLIENTS_QUICK = 500, 100
WEB_RECORD_S = 3.0       # frames recorded for the Node peer
TARGET_WEB_THREAD_CORES = 0.25
TARGET_WEB_P99_MS = 1000.0 / WEB_RATE + 20
TARGET_WEB_IDLE_KB = 64
PEER_SCRIPT = os.path.join(HERE, "ws_peer.mjs")


def node_peer():
    """(node, None) when the Node peer can run, else (None, why).  Installs
    the peer's one package (ws) from its lock file when it is missing."""
    node = shutil.which("node")
    if not node:
        return None, "node not installed"
    if not os.path.exists(os.path.join(HERE, "node_modules", "ws",
                                       "package.json")):
        npm = shutil.which("npm")
        if not npm:
            return None, "tests/bench/node_modules missing and no npm"
        log("bench: npm ci in tests/bench (the Node peer's ws package)")
        try:
            p = subprocess.run([npm, "ci", "--no-audit", "--no-fund"],
                               cwd=HERE, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=300)
        except subprocess.TimeoutExpired:
            return None, "npm ci timed out"
        if p.returncode != 0:
            return None, "npm ci failed: %s" % p.stdout.decode(
                errors="replace").strip()[-200:]
    return node, None


def free_port_besides(taken):
    """A free loopback port that is not one of taken."""
    port = free_port_range(1)
    while port in taken:
        port = free_port_range(1)
    return port


class BridgeRun:
    """lock-sim and `lockbridge run` on a station in outdir, the web on
    self.port; what the stations of the web, page and alarm benchmarks
    share.  Stopped by PID (close)."""

    def __init__(self):
        self.sim = self.lb = None
        self.port = None

    def start(self, build, sim_argv, sim_ports, station, outdir, env=None):
        """Starts lock-sim (sim_argv), waits for its ports, then `lockbridge
        run` on station, and waits until it serves /healthz."""
        sim_log = os.path.join(outdir, "lock-sim.log")
        self.lb_log = os.path.join(outdir, "lockbridge.log")
        self.sim = start_logged(sim_argv, sim_log)
        if not wait_ports(sim_ports, self.sim):
            raise RuntimeError("lock-sim did not start: %s" % tail(sim_log))
        self.lb = start_logged([os.path.join(build, "lockbridge"), "run",
                                "-c", os.path.abspath(station),
                                "--summary", "0"], self.lb_log, cwd=outdir,
                               env=env)
        if not wait_http(self.port, "/healthz", self.lb):
            raise RuntimeError("lockbridge run did not serve: %s"
                               % tail(self.lb_log))

    def wait_plcs(self, good, limit):
        """Whether good(the PLCs of /healthz) came true within limit s."""
        end = time.time() + limit
        while time.time() < end:
            _, body = http_call(self.port, "GET", "/healthz", timeout=5)
            if good(json.loads(body).get("plcs") or []):
                return True
            time.sleep(0.2)
        return False

    def close(self):
        for p, sig in ((self.lb, signal.SIGINT), (self.sim, signal.SIGTERM)):
            if p:
                stop(p, sig)
                if p in _procs:
                    _procs.remove(p)


class WebStation(BridgeRun):
    """lock-sim and `lockbridge run` on one synthetic PLC of WEB_TAGS u16
    tags polled every WEB_POLL_MS, history off (only the web path is
    measured), web on a free loopback port; in outdir, stopped by PID."""

    def __init__(self, build, sim_cmd, outdir, churn, env=None):
        super().__init__()
        os.makedirs(outdir, exist_ok=True)
        sim_port = free_port_range(1)
        self.port = free_port_besides([sim_port])
        station = write_station(
            outdir, 1, sim_port, WEB_POLL_MS, regs=WEB_TAGS,
            extra="history: off\nweb: {listen: 127.0.0.1:%d, rate: %d}\n"
            % (self.port, WEB_RATE))
        self.start(build, sim_cmd + ["-c", station, "--registers",
                                     str(WEB_TAGS), "--churn", str(churn)],
                   [sim_port], station, outdir, env=env)
        # Every tag has a value before anyone connects.
        if not self.wait_plcs(
                lambda plcs: plcs and plcs[0].get("good") == WEB_TAGS, 15):
            raise RuntimeError("the bridge never had all %d tags good"
                               % WEB_TAGS)


class WebPeer:
    """ws_peer.mjs replaying recorded frames on a free loopback port."""

    def __init__(self, node, frames, outdir, name):
        self.port = free_port_range(1)
        self.log = os.path.join(outdir, "ws-peer-%s.log" % name)
        self.proc = start_logged([node, PEER_SCRIPT, "--port",
                                  str(self.port), "--frames", frames,
                                  "--rate", str(WEB_RATE)], self.log)
        if not wait_ports([self.port], self.proc):
            raise RuntimeError("ws_peer.mjs did not start: %s"
                               % tail(self.log))

    def close(self):
        """Stops it (SIGTERM makes it print its counters); returns them."""
        stop(self.proc)
        if self.proc in _procs:
            _procs.remove(self.proc)
        with open(self.log, "rb") as f:
            for line in reversed(f.read().decode(errors="replace")
                                 .splitlines()):
                if line.startswith("{"):
                    return json.loads(line)
        return None


def ws_load(load, port, pid, clients, secs, warmup=WEB_WARMUP, idle=False,
            record=None):
    cmd = [load, "--port", str(port), "--clients", str(clients),
           "--seconds", str(secs), "--warmup", str(warmup), "--pid",
           str(pid)]
    if idle:
        cmd.append("--idle")
    if record:
        cmd += ["--record", record]
    r = run_json(cmd, secs + warmup + 120)
    if r and r.get("connected") != clients:
        log("  lb-ws-load: only %s of %d clients connected"
            % (r.get("connected"), clients))
    return r


def median(xs):
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    m = len(xs) // 2
    return xs[m] if len(xs) % 2 else (xs[m - 1] + xs[m]) / 2.0


def web_summary(samples):
    """Median over rounds of each figure; fairness and errors over all."""
    ok = [s for s in samples if s and s.get("server")]
    if not ok:
        return None

    def med(f):
        return median([f(s) for s in ok])
    return {
        "runs": len(ok),
        "clients": ok[0]["clients"],
        "connected": min(s["connected"] for s in ok),
        "seconds": med(lambda s: s["seconds"]),
        "frames_per_s": med(lambda s: s["frames_per_s"]),
        "tag_updates_per_s": med(lambda s: s["tag_updates_per_s"]),
        "bytes_per_s": med(lambda s: s["bytes_per_s"]),
        "lat_p50_ms": med(lambda s: s["latency_ms"]["p50"]),
        "lat_p99_ms": med(lambda s: s["latency_ms"]["p99"]),
        "lat_max_ms": max((s["latency_ms"]["max"] or 0) for s in ok),
        "lat_p99_ms_rounds": [s["latency_ms"]["p99"] for s in ok],
        "delivery_p50_ms": med(lambda s: s["delivery_ms"]["p50"]),
        "delivery_p99_ms": med(lambda s: s["delivery_ms"]["p99"]),
        "thread_cores": med(lambda s: s["server"]["thread_cores"]),
        "thread_cores_rounds": [s["server"]["thread_cores"] for s in ok],
        "process_cores": med(lambda s: s["server"]["process_cores"]),
        "process_cores_rounds": [s["server"]["process_cores"] for s in ok],
        "client_cores": med(lambda s: s["cpu_cores"]),
        "rss_kb": max(s["server"]["rss_kb"] for s in ok),
        "frames_min": min(s["per_client_frames"]["min"] for s in ok),
        "frames_max": max(s["per_client_frames"]["max"] for s in ok),
        "errors": sum(s["errors"]["total"] for s in ok),
    }


def web_fanout(build, sim_cmd, load, node, no_node_why, outdir, churn,
               clients, secs, rounds, name):
    """One row pair: the bridge and the Node peer replaying the bridge's
    own frames, in alternating order (ABBA), rounds times."""
    out = {"churn": churn, "clients": clients, "seconds": secs,
           "rounds": rounds}
    st = peer = None
    try:
        st = WebStation(build, sim_cmd, os.path.join(outdir, name), churn)
        time.sleep(0.5)
        frames = os.path.join(outdir, name, "frames.txt")
        rec = None
        if node:
            # One client for a few seconds: real delta frames for the peer.
            rec = ws_load(load, st.port, st.lb.pid, 1, WEB_RECORD_S,
                          warmup=0.3, record=frames)
            if rec and rec.get("frames_by_type", {}).get("delta"):
                peer = WebPeer(node, frames, outdir, name)
            else:
                out["peer_skipped"] = "no frames recorded from the bridge"
        else:
            out["peer_skipped"] = no_node_why
        runs = {"bridge": [], "peer": []}
        sides = [("bridge", st.port, st.lb.pid)]
        if peer:
            sides.append(("peer", peer.port, peer.proc.pid))
        for r in range(rounds):
            for side, port, pid in (sides if r % 2 == 0 else sides[::-1]):
                runs[side].append(ws_load(load, port, pid, clients, secs))
        out["bridge_runs"] = runs["bridge"]
        out["bridge"] = web_summary(runs["bridge"])
        if peer:
            out["peer_runs"] = runs["peer"]
            out["peer"] = web_summary(runs["peer"])
            out["recorded"] = {"frames": rec["frames_by_type"]["delta"],
                               "tag_updates_per_frame":
                               rec["tag_updates"] /
                               max(rec["frames"], 1)}
    except (RuntimeError, OSError, ValueError) as e:
        out["skipped"] = str(e)
        log("  web %s: %s" % (name, e))
    finally:
        if peer:
            out["peer_counters"] = peer.close()
        if st:
            st.close()
    b, p = out.get("bridge"), out.get("peer")
    if b and p and p["tag_updates_per_s"] and p["process_cores"]:
        out["ratios"] = {
            "throughput": b["tag_updates_per_s"] / p["tag_updates_per_s"],
            # The fan-out itself: the bridge's service thread against the
            # peer's whole process (which polls no PLC).
            "thread_cpu": b["thread_cores"] / p["process_cores"],
            "process_cpu": b["process_cores"] / p["process_cores"],
            "cpu_per_update": (b["process_cores"] / b["tag_updates_per_s"]) /
            (p["process_cores"] / p["tag_updates_per_s"])
            if b["tag_updates_per_s"] else None,
        }
    return out


def web_idle(build, sim_cmd, load, outdir, clients, env=None,
             name="idle"):
    """RSS of the bridge on a quiet station (nothing changes: snapshots,
    then heartbeats) with no client, then with `clients` idle ones."""
    out = {"clients": clients}
    st = None
    try:
        st = WebStation(build, sim_cmd, os.path.join(outdir, name), 0,
                        env=env)
        time.sleep(1.0)
        samples = []
        for _ in range(3):
            samples.append(proc_status_kb(st.lb.pid, "VmRSS"))
            time.sleep(0.3)
        out["rss0_kb"] = median(samples)
        r = ws_load(load, st.port, st.lb.pid, clients, 3.0, warmup=2.0,
                    idle=True)
        out["load"] = r
        if r and r.get("server"):
            out["rss_kb"] = r["server"]["rss_kb"]
            out["hwm_kb"] = r["server"]["hwm_kb"]
            out["connected"] = r["connected"]
            out["per_client_kb"] = (out["rss_kb"] - out["rss0_kb"]) / \
                max(r["connected"], 1)
    except (RuntimeError, OSError, ValueError) as e:
        out["skipped"] = str(e)
        log("  web idle: %s" % e)
    finally:
        if st:
            st.close()
    return out


def bench_web(build, sim_cmd, outdir, quick):
    res = {"tags": WEB_TAGS, "poll_ms": WEB_POLL_MS, "rate": WEB_RATE,
           "history": "off"}
    load = os.path.join(build, "lb-ws-load")
    for path in (load, os.path.join(build, "lockbridge"), sim_cmd[0]):
        if not os.access(path, os.X_OK):
            res["skipped"] = "%s not built" % path
            return res
    node, why = node_peer()
    if not node:
        log("bench: web: Node peer skipped: %s" % why)
    clients = WEB_CLIENTS_QUICK if quick else WEB_CLIENTS
    secs = WEB_SECONDS_QUICK if quick else WEB_SECONDS
    rounds = WEB_ROUNDS_QUICK if quick else WEB_ROUNDS
    outdir = os.path.join(outdir, "web")
    for name, churn in (("churn", WEB_CHURN), ("stress", 1.0)):
        log("bench: web %s: %d clients x %d tags, %.0f%% changing per "
            "100 ms, bridge and Node peer, %d round%s of %g s"
            % (name, clients, WEB_TAGS, churn * 100, rounds,
               "" if rounds == 1 else "s", secs))
        res[name] = web_fanout(build, sim_cmd, load, node, why, outdir,
                               churn, clients, secs, rounds, name)
    idle = WEB_IDLE_CLIENTS_QUICK if quick else WEB_IDLE_CLIENTS
    log("bench: web idle: bridge RSS with 0 and %d idle clients, default "
        "malloc, then glibc mmap_threshold 64 KiB" % idle)
    res["idle"] = web_idle(build, sim_cmd, load, outdir, idle)
    # The same with glibc's mmap threshold fixed at 64 KiB, so that every
    # snapshot buffer (one of ~190 KB per client, all encoded in the same
    # burst of connections) goes back to the kernel when freed: what is
    # left is the connections' own state; the difference from the row
    # above is heap the allocator kept after the burst.  For information.
    env = dict(os.environ, GLIBC_TUNABLES="glibc.malloc.mmap_threshold="
               "65536")
    res["idle_mmap"] = web_idle(build, sim_cmd, load, outdir, idle, env=env,
                                name="idle-mmap")
    return res


def web_rows(web):
    """(label, summary) for the table."""
    rows = []
    for name, label in (("churn", "(a) churn %d%%" % (WEB_CHURN * 100)),
                        ("stress", "(b) stress 100%")):
        d = web.get(name) or {}
        if "skipped" in d:
            rows.append((label + " bridge", None, d["skipped"]))
            continue
        rows.append((label + " bridge", d.get("bridge"), ""))
        rows.append((label + " node peer", d.get("peer"),
                     d.get("peer_skipped", "")))
    return rows


def print_web_table(web):
    if not web:
        return
    log("")
    if "skipped" in web:
        log("web: skipped: %s" % web["skipped"])
        return
    c = web.get("churn") or {}
    log("web: 1 PLC x %d u16 tags polled every %d ms, web.rate %d, history "
        "off; %s clients, median of %s round(s) of %s s"
        % (WEB_TAGS, WEB_POLL_MS, WEB_RATE, c.get("clients", "-"),
           c.get("rounds", "-"), c.get("seconds", "-")))
    hdr = "%-25s %7s %8s %10s %7s %13s %13s %6s %6s %6s %9s %4s" % (
        "row", "clients", "frames/s", "tag upd/s", "MB/s", "ts->rx p50/99",
        "frm->rx 50/99", "thread", "proc", "client", "frm/clnt", "err")
    log(hdr)
    log("-" * len(hdr))
    for label, r, note in web_rows(web):
        if not r:
            log("%-25s %s" % (label, note or "missing"))
            continue
        peer = "peer" in label
        lat = "n/c" if peer else "%s/%s" % (fmt(r["lat_p50_ms"], ".0f"),
                                             fmt(r["lat_p99_ms"], ".0f"))
        log("%-25s %7s %8s %10s %7s %13s %13s %6s %6s %6s %9s %4d" % (
            label, "%d" % r["connected"], fmt(r["frames_per_s"], ".0f"),
            fmt(r["tag_updates_per_s"], ".0f"),
            fmt(r["bytes_per_s"] / 1e6, ".1f"), lat,
            "%s/%s" % (fmt(r["delivery_p50_ms"], ".1f"),
                       fmt(r["delivery_p99_ms"], ".1f")),
            fmt(r["thread_cores"], ".3f"), fmt(r["process_cores"], ".3f"),
            fmt(r["client_cores"], ".3f"),
            "%d-%d" % (r["frames_min"], r["frames_max"]), r["errors"]))
    i = web.get("idle") or {}
    if "skipped" in i:
        log("%-25s skipped: %s" % ("(c) idle clients", i["skipped"]))
    elif i.get("per_client_kb") is not None:
        log("%-25s RSS %.1f MB with 0 clients, %.1f MB with %d (peak %.1f "
            "MB): %.1f KB per client" % (
                "(c) idle clients", i["rss0_kb"] / 1024.0,
                i["rss_kb"] / 1024.0, i["connected"], i["hwm_kb"] / 1024.0,
                i["per_client_kb"]))
    i = web.get("idle_mmap") or {}
    if i.get("per_client_kb") is not None:
        log("%-25s %.1f KB per client with glibc mmap_threshold=64 KiB "
            "(peak %.1f MB): the connections' own state; the rest is heap "
            "kept after the burst of snapshots" % (
                "    state only", i["per_client_kb"], i["hwm_kb"] / 1024.0))
    for name in ("churn", "stress"):
        ra = (web.get(name) or {}).get("ratios")
        if ra:
            log("  %s, bridge / Node peer: tag updates/s %.2f, service "
                "thread / peer process CPU %.2f, process / process %.2f, "
                "CPU per tag update %s" % (
                    name, ra["throughput"], ra["thread_cpu"],
                    ra["process_cpu"], fmt(ra["cpu_per_update"], ".2f")))
    log("  ts->rx: Modbus response (tag ts) to the client's read, bridge "
        "only (n/c: the peer's frames are replayed);")
    log("  frm->rx: frame \"time\" (bridge: encoded; peer: restamped at "
        "send) to the client's read; thread: the bridge's service thread")
    log("  (main thread; the peer's too), proc: whole server process, client:"
        " lb-ws-load itself, in cores (CPU s / wall s)")


def web_targets(web):
    out = []
    if not web or "skipped" in web:
        return out
    a = (web.get("churn") or {}).get("bridge") or {}
    v = a.get("thread_cores")
    out.append({"name": "web_churn_service_thread_cores", "value": v,
                "pass": None if v is None else v < TARGET_WEB_THREAD_CORES,
                "text": "web (a) %s clients x %d tags, 10%% churn: service "
                "thread %s cores (< %.2f)" % (
                    a.get("connected", "-"), WEB_TAGS, fmt(v, ".3f"),
                    TARGET_WEB_THREAD_CORES)})
    v = a.get("lat_p99_ms")
    out.append({"name": "web_churn_latency_p99_ms", "value": v,
                "pass": None if v is None else v <= TARGET_WEB_P99_MS,
                "text": "web (a) latency p99 Modbus response -> client %s ms"
                " (<= 1/rate + 20 = %.0f ms; rounds %s)" % (
                    fmt(v, ".1f"), TARGET_WEB_P99_MS,
                    ", ".join(fmt(x, ".0f") for x in
                              a.get("lat_p99_ms_rounds", [])))})
    s = web.get("stress") or {}
    b, p = s.get("bridge") or {}, s.get("peer") or {}
    ok = None
    if b and p:
        # Judged on the fan-out: the service thread does all of it (and
        # the dispatch); the rest of the bridge's process polls Modbus,
        # which the peer does not.  The process figure is printed too.
        # ">=" up to the window's resolution: where it starts and ends
        # cuts one frame per client either way.
        slack = 1.0 - 1.0 / (WEB_RATE * (s.get("seconds") or 1.0))
        ok = b["tag_updates_per_s"] >= p["tag_updates_per_s"] * slack and \
            b["thread_cores"] < p["process_cores"]
    out.append({"name": "web_stress_vs_peer",
                "value": (s.get("ratios") or {}).get("throughput"),
                "pass": ok,
                "text": "web (b) stress: bridge %s tag updates/s, service "
                "thread %s cores (process %s) vs Node peer %s on %s (>= "
                "within one frame per client, and on less CPU)%s" % (
                    si(b.get("tag_updates_per_s")),
                    fmt(b.get("thread_cores"), ".3f"),
                    fmt(b.get("process_cores"), ".3f"),
                    si(p.get("tag_updates_per_s")),
                    fmt(p.get("process_cores"), ".3f"),
                    "" if p else ": " + s.get("peer_skipped", "no peer"))})
    i = web.get("idle") or {}
    v = i.get("per_client_kb")
    out.append({"name": "web_idle_kb_per_client", "value": v,
                "pass": None if v is None else v < TARGET_WEB_IDLE_KB,
                "text": "web (c) idle client cost %s KB RSS per client over "
                "%s clients (< %d)" % (fmt(v, ".1f"), i.get("connected", "-"),
                                       TARGET_WEB_IDLE_KB)})
    return out


# ---- page: the dashboard in chromium (issue 7) -------------------------

PAGE_RUNS, PAGE_RUNS_QUICK = 7, 3           # cold and warm loads, trend draws
PAGE_SPEED = 20                             # lock-sim for loads and trends
PAGE_SOAK_FRAMES, PAGE_SOAK_FRAMES_QUICK = 36000, 3000
PAGE_SOAK_RATE = 50                         # web.rate: the maximum
PAGE_SOAK_POLL_MS = 10                      # fast groups, so that every
PAGE_SOAK_TICK_MS = 10                      # 20 ms frame has news
PAGE_SOAK_SPEED = 60
PAGE_SOAK_SAMPLE_S, PAGE_SOAK_SAMPLE_S_QUICK = 60, 15
PAGE_HIST_DAYS, PAGE_HIST_EVERY_S = 30, 10
# The trend: 10 of the shipped station's analog tags on 3 axes (m, m/min, %).
PAGE_TREND_TAGS = [
    "levels.upstream_level", "levels.chamber_level", "levels.downstream_level",
    "levels.upper_head", "levels.lower_head", "levels.chamber_rate",
    "upper_gate.left_leaf_position", "lower_gate.left_leaf_position",
    "valves.upper_left_position", "valves.lower_left_position"]
# The soak's trend in live follow: tags of 4 PLCs that move all the time
# at --speed 60 (a heartbeat counts simulated seconds).
PAGE_SOAK_TREND_TAGS = [
    "levels.chamber_level", "upper_gate.heartbeat", "upper_gate.left_leaf_position",
    "valves.upper_left_position", "lockage.phase_elapsed"]
TARGET_PAGE_LOAD_MS = 500.0
TARGET_PAGE_KB = 150.0
TARGET_PAGE_HEAP_MB = 5.0
TARGET_PAGE_TREND_MS = 300.0
PAGE_SCRIPT = os.path.join(HERE, "page_bench.mjs")
WEB_LINE_RE = re.compile(r"^web:.*$", re.M)
FAST_POLL_RE = re.compile(r"^(poll:\s*\{\s*fast:\s*)\d+ms", re.M)


class PageStation(BridgeRun):
    """The shipped station copied to outdir (free ports), lock-sim on it
    with a control socket, `lockbridge run` serving the built dashboard on
    a free loopback port; stopped by PID."""

    def __init__(self, build, sim_cmd, outdir, rate=10, poll_ms=None,
                 sim_args=(), history=None, root=None):
        super().__init__()
        self.dir = outdir
        station, ports = copy_demo_station(outdir)
        self.port = free_port_besides(ports)
        with open(station, encoding="utf-8") as f:
            text = WEB_LINE_RE.sub("", f.read())
        text += "\nweb: {listen: 127.0.0.1:%d, root: %s, rate: %d}\n" % (
            self.port, json.dumps(root or os.path.join(build, "dashboard")),
            rate)
        text += "history: {path: %s}\n" % json.dumps(
            history or os.path.join(outdir, "data", "history.db"))
        with open(station, "w", encoding="utf-8") as f:
            f.write(text)
        if poll_ms:
            for name in os.listdir(outdir):
                path = os.path.join(outdir, name)
                if not name.endswith(".yaml") or path == station:
                    continue
                with open(path, encoding="utf-8") as f:
                    t = FAST_POLL_RE.sub(lambda m: m.group(1) + "%dms"
                                         % poll_ms, f.read())
                with open(path, "w", encoding="utf-8") as f:
                    f.write(t)
        self.control = os.path.join(outdir, "sim.sock")
        if os.path.exists(self.control):
            os.unlink(self.control)
        self.sim_cmd = sim_cmd
        self.start(build, sim_cmd + ["-c", station, "--control",
                                     self.control] + list(sim_args),
                   ports, station, outdir)
        # Every PLC answered, so the page's first snapshot is all good.
        if not self.wait_plcs(
                lambda plcs: plcs and all(
                    p.get("state") in ("up", "disabled")
                    and p.get("good") == p.get("tags")
                    for p in plcs if p.get("state") != "disabled"), 20):
            raise RuntimeError("the bridge never had every tag good: %s"
                               % tail(self.lb_log))

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def sim_command(self, line):
        p = subprocess.run(self.sim_cmd + ["--control", self.control,
                                           "--send", line],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=10)
        return p.stdout.decode(errors="replace").strip()


def page_driver(node, mode, url, extra, timeout):
    """page_bench.mjs in one mode: its JSON (None with a message)."""
    r = run_json([node, PAGE_SCRIPT, mode, "--url", url] + extra, timeout)
    if r and r.get("error"):
        log("  page_bench.mjs %s: %s" % (mode, r["error"]))
    return r


def time_history(port, url, runs):
    """The trend's /api/history request timed from here (the server and
    loopback, no browser): first and median of `runs`, ms."""
    path = url[url.index("/api/"):]
    ms, size = [], 0
    for _ in range(runs):
        t0 = time.perf_counter()
        status, body = http_call(port, "GET", path)
        ms.append((time.perf_counter() - t0) * 1000.0)
        if status != 200:
            return {"error": "HTTP %d: %s" % (status, body[:200])}
        size = len(body)
    return {"first_ms": ms[0], "median_ms": median(ms), "runs": runs,
            "ms": ms, "bytes": size}


def bench_page(build, sim_cmd, outdir, quick):
    runs = PAGE_RUNS_QUICK if quick else PAGE_RUNS
    frames = PAGE_SOAK_FRAMES_QUICK if quick else PAGE_SOAK_FRAMES
    res = {"runs": runs, "soak_frames": frames, "soak_rate": PAGE_SOAK_RATE}
    node = shutil.which("node")
    fill = os.path.join(build, "lb-hist-fill")
    why = None
    if not node:
        why = "node not installed"
    elif not os.path.exists(os.path.join(SOURCE, "dashboard", "node_modules",
                                         "playwright-core")):
        why = "dashboard/node_modules missing (npm ci in dashboard/)"
    elif not os.access("/usr/bin/chromium", os.X_OK):
        why = "/usr/bin/chromium missing (apt-get install chromium)"
    elif not os.path.exists(os.path.join(build, "dashboard", "index.html")):
        why = "%s/dashboard not built (node dashboard/build.mjs)" % build
    else:
        for path in (fill, os.path.join(build, "lockbridge"), sim_cmd[0]):
            if not os.access(path, os.X_OK):
                why = "%s not built" % path
    if why:
        res["skipped"] = why
        log("bench: page: skipped: %s" % why)
        return res
    outdir = os.path.join(outdir, "page")
    shutil.rmtree(outdir, ignore_errors=True)

    # 1, 2, 4: the shipped station at its defaults, with a history that
    # already holds 30 days of 10 tags.
    st = None
    try:
        d = os.path.join(outdir, "station")
        os.makedirs(os.path.join(d, "data"), exist_ok=True)
        db = os.path.join(d, "data", "history.db")
        log("bench: page: lb-hist-fill: %d days of %d tags, one sample per "
            "%d s" % (PAGE_HIST_DAYS, len(PAGE_TREND_TAGS), PAGE_HIST_EVERY_S))
        res["fill"] = run_json([fill, "--db", db, "--tags",
                                ",".join(PAGE_TREND_TAGS), "--days",
                                str(PAGE_HIST_DAYS), "--every-s",
                                str(PAGE_HIST_EVERY_S)], 900)
        if not res["fill"]:
            raise RuntimeError("lb-hist-fill failed")
        res["fill"]["db_bytes"] = os.path.getsize(db)
        st = PageStation(build, sim_cmd, d, history=db,
                         sim_args=["--speed", str(PAGE_SPEED)])
        log("bench: page: load: %d cold and %d warm loads of the kiosk "
            "overview (lock-sim --speed %d, web.rate 10)"
            % (runs, runs, PAGE_SPEED))
        res["load"] = page_driver(node, "load", st.url,
                                  ["--runs", str(runs)], 120 + 30 * runs)
        # The trend: the simulator paused (a still machine), a range that
        # ends before the bridge started, so only the filled data is in it.
        st.sim_command("pause")
        f = res["fill"]
        log("bench: page: trends: %d tags x %d days, first draw and %d "
            "more of each kind" % (len(PAGE_TREND_TAGS), PAGE_HIST_DAYS, runs))
        tr = page_driver(node, "trends", st.url,
                         ["--runs", str(runs), "--tags",
                          ",".join(PAGE_TREND_TAGS), "--from",
                          str(f["from_ms"]), "--to", str(f["end_ms"])],
                         120 + 30 * runs)
        res["trends"] = tr
        if tr and tr.get("url"):
            tr["server"] = time_history(st.port, tr["url"], runs)
    except (RuntimeError, OSError, ValueError) as e:
        res["skipped_station"] = str(e)
        log("  page: %s" % e)
    finally:
        if st:
            st.close()

    # 3: the soak, at the web's highest rate, everything polled and
    # simulated every 10 ms so that every frame is a delta.
    st = None
    try:
        d = os.path.join(outdir, "soak")
        st = PageStation(build, sim_cmd, d, rate=PAGE_SOAK_RATE,
                         poll_ms=PAGE_SOAK_POLL_MS,
                         sim_args=["--speed", str(PAGE_SOAK_SPEED),
                                   "--tick", str(PAGE_SOAK_TICK_MS)])
        sample = PAGE_SOAK_SAMPLE_S_QUICK if quick else PAGE_SOAK_SAMPLE_S
        log("bench: page: soak: %d frames at web.rate %d (polls and lock-sim "
            "ticks every %d ms, --speed %d) into a kiosk overview and a "
            "kiosk trend in live follow, heap every %d s"
            % (frames, PAGE_SOAK_RATE, PAGE_SOAK_POLL_MS, PAGE_SOAK_SPEED,
               sample))
        max_s = int(frames / PAGE_SOAK_RATE * 1.6) + 120
        res["soak"] = page_driver(
            node, "soak", st.url,
            ["--frames", str(frames), "--max-s", str(max_s), "--sample-s",
             str(sample), "--trend-tags", ",".join(PAGE_SOAK_TREND_TAGS)],
            max_s + 300)
        res["soak_cpu_s"] = {"lockbridge": proc_cpu_s(st.lb.pid),
                             "lock-sim": proc_cpu_s(st.sim.pid)}
    except (RuntimeError, OSError, ValueError) as e:
        res["skipped_soak"] = str(e)
        log("  page soak: %s" % e)
    finally:
        if st:
            st.close()
    return res


def page_rows(pg):
    """(figure, measured, target, pass) for the table and the targets."""
    rows = []
    ld = pg.get("load") or {}
    for k, label in (("cold", "cold"), ("warm", "warm")):
        x = ld.get(k) or {}
        v = x.get("painted_ms")
        rows.append(("page_load_%s_ms" % k,
                     "load to live overview, %s (median of %s)"
                     % (label, x.get("runs", "-")),
                     "%s ms" % fmt(v, ".0f"), "< %.0f ms" % TARGET_PAGE_LOAD_MS,
                     v, None if v is None else v < TARGET_PAGE_LOAD_MS))
    for k, label in (("cold", "first visit"), ("warm", "repeat visit")):
        x = ld.get(k) or {}
        v = x.get("bytes")
        kb = None if v is None else v / 1024.0
        rows.append(("page_bytes_%s_kb" % k, "bytes, %s" % label,
                     "%s KB" % fmt(kb, ".1f"), "< %.0f KB" % TARGET_PAGE_KB,
                     kb, None if kb is None else kb < TARGET_PAGE_KB))
    sk = (pg.get("soak") or {}).get("pages") or {}
    for k in ("overview", "trends"):
        x = sk.get(k)
        if not x:
            rows.append(("page_heap_%s_mb" % k, "JS heap growth, %s" % k,
                         "-", "< %.0f MB" % TARGET_PAGE_HEAP_MB, None, None))
            continue
        v = x["heap_growth_kb"] / 1024.0
        ok = v < TARGET_PAGE_HEAP_MB and x["frames"] >= \
            (pg.get("soak") or {}).get("target_frames", 0)
        rows.append(("page_heap_%s_mb" % k,
                     "JS heap growth over %d frames, %s" % (x["frames"], k),
                     "%+.2f MB" % v, "< %.0f MB" % TARGET_PAGE_HEAP_MB, v, ok))
    tr = pg.get("trends") or {}
    v = (tr.get("first") or {}).get("drawn_ms")
    rows.append(("page_trend_30d_first_ms",
                 "trend %s tags x 30 d drawn, first (view made)"
                 % tr.get("tags", "-"), "%s ms" % fmt(v, ".0f"),
                 "< %.0f ms" % TARGET_PAGE_TREND_MS,
                 v, None if v is None else v < TARGET_PAGE_TREND_MS))
    a = tr.get("later") or {}
    v = a.get("drawn_ms")
    rows.append(("page_trend_30d_ms",
                 "trend %s tags x 30 d drawn, again (median of %s)"
                 % (tr.get("tags", "-"), a.get("runs", "-")),
                 "%s ms" % fmt(v, ".0f"), "< %.0f ms" % TARGET_PAGE_TREND_MS,
                 v, None if v is None else v < TARGET_PAGE_TREND_MS))
    return rows


def print_page_table(pg):
    if not pg:
        return
    log("")
    if "skipped" in pg:
        log("page: skipped: %s" % pg["skipped"])
        return
    hdr = "%-50s %12s %10s  %s" % ("page (chromium, shipped station)",
                                   "measured", "target", "pass")
    log(hdr)
    log("-" * len(hdr))
    for _, label, meas, tgt, _, ok in page_rows(pg):
        log("%-50s %12s %10s  %s" % (label, meas, tgt,
                                     {True: "PASS", False: "FAIL",
                                      None: "n/a"}[ok]))
    ld = pg.get("load") or {}
    for k in ("cold", "warm"):
        x = ld.get(k)
        if not x:
            continue
        s = x["steps_ms"]
        log("  %s load, median ms after navigation start: html %s, css %s, "
            "js %s, DOMContentLoaded %s, /api/station %s, snapshot applied "
            "%s, complete %s, painted %s (runs %s)" % (
                k, fmt(s["html"], ".0f"), fmt(s["css"], ".0f"),
                fmt(s["js"], ".0f"), fmt(s["dom_content_loaded"], ".0f"),
                fmt(s["station"], ".0f"), fmt(s["snapshot"], ".0f"),
                fmt(s["complete"], ".0f"), fmt(s["painted"], ".0f"),
                ", ".join(fmt(v, ".0f") for v in x["painted_ms_runs"])))
        log("  %s visit: %.1f KB = HTTP %.1f KB in %s requests + snapshot "
            "frame %.1f KB; %s" % (
                k, x["bytes"] / 1024.0, x["http_bytes"] / 1024.0,
                fmt(x["requests"], ".0f"), x["snapshot_bytes"] / 1024.0,
                ", ".join("%s %.1f" % (u, b / 1024.0)
                          for u, b in sorted(x["by_url"].items()))))
    if ld:
        log("  complete: link live, all %s schematic-bound tags drawn with "
            "the store's (snapshot's) good value, %s PLC chips ok"
            % (ld.get("bound_tags", "-"), ld.get("plcs", "-")))
    sk = pg.get("soak") or {}
    for k, x in sorted((sk.get("pages") or {}).items()):
        log("  soak %s: %d frames in %.0f s (%.1f/s; %s), heap %.2f -> %.2f "
            "MB (max %+.2f), DOM nodes %d -> %d, listeners %d -> %d%s" % (
                k, x["frames"], x["seconds"], x["frames_per_s"],
                ", ".join("%s %d" % kv for kv in sorted(
                    x["frame_types"].items())),
                x["heap_before"] / 1048576.0, x["heap_after"] / 1048576.0,
                x["heap_max_growth_kb"] / 1024.0, x["nodes_before"],
                x["nodes_after"], x["listeners_before"],
                x["listeners_after"],
                ", trend rows %s -> %s" % (x["rows_before"], x["rows_after"])
                if x.get("rows_before") is not None else ""))
    for key in ("skipped_station", "skipped_soak"):
        if pg.get(key):
            log("  %s: %s" % (key, pg[key]))
    tr = pg.get("trends") or {}
    if tr.get("later"):
        srv = tr.get("server") or {}
        log("  trend: %s rows, %s points, %s gaps, plot %s px wide; first "
            "(view made) %s ms, overview -> trend %s ms, range change %s ms; "
            "of which request %s ms (TTFB %s), draw after data %s ms" % (
                tr["rows"], tr["points"], tr["gaps"], tr["width"],
                fmt(tr["first"]["drawn_ms"], ".0f"),
                fmt(tr["again"]["drawn_ms"], ".0f"),
                fmt(tr["range"]["drawn_ms"], ".0f"),
                fmt(tr["later"]["request_ms"], ".0f"),
                fmt(tr["later"]["ttfb_ms"], ".0f"),
                fmt(tr["later"]["draw_after_data_ms"], ".0f")))
        log("  /api/history from bench.py (server + loopback): first %s ms, "
            "median %s ms, %s KB JSON (%s KB transferred to the page)" % (
                fmt(srv.get("first_ms"), ".1f"),
                fmt(srv.get("median_ms"), ".1f"),
                fmt((srv.get("bytes") or 0) / 1024.0, ".0f"),
                fmt((tr.get("transfer_bytes") or 0) / 1024.0, ".0f")))
    for k in ("load", "trends", "soak"):
        x = pg.get(k) or {}
        if x.get("error_count"):
            log("  %s: %d page errors: %s" % (k, x["error_count"],
                                              " | ".join(x["errors"][:3])))


def page_targets(pg):
    out = []
    if not pg or "skipped" in pg:
        return out
    for name, label, meas, tgt, v, ok in page_rows(pg):
        out.append({"name": name, "value": v, "pass": ok,
                    "text": "page: %s %s (%s)" % (label, meas, tgt)})
    return out


# ---- alarms (issue 9) ------------------------------------------------------

ALARM_TAGS = 2000        # u16 tags polled every ALARM_POLL_MS, as the web part
ALARM_LAT_TAGS = 20      # tags the latency run toggles through set
ALARM_DEFS = 5000        # alarm definitions in all (the comm alarm included)
ALARM_POLL_MS = 100
ALARM_CHURN = 0.1
ALARM_SECONDS, ALARM_SECONDS_QUICK = 10.0, 3.0
ALARM_ROUNDS, ALARM_ROUNDS_QUICK = 3, 1
ALARM_TOGGLE_S = 0.05    # one set every 50 ms in the latency run
ALARM_SCREENS = 10       # dashboards connected in the second configuration
TARGET_ALARM_ADDED = 0.10


def alarm_station(dirname, sim_port, web_port, with_alarms):
    """One PLC of ALARM_TAGS u16 tags (+ the latency tags), the history on
    (the default: the recorder's work is part of the consumer thread's),
    the web on web_port; with_alarms: ALARM_DEFS definitions that the churn
    never trips (each tag above and below, every 4th a rate, every 10th a
    deviation from its neighbour, station expressions over pairs) and one
    per latency tag, which the run trips by hand."""
    os.makedirs(dirname, exist_ok=True)
    tags = []
    n = 1                                   # the comm alarm
    for a in range(ALARM_TAGS):
        al = []
        if with_alarms:
            al = ["{id: hi, above: 65000}", "{id: lo, below: 0.5, "
                  "on_delay: 1h}"]
            if a % 4 == 0:
                al.append("{id: rate, rate: 100000}")
            if a % 10 == 0:
                al.append("{id: dev, deviation: {from: plc00.r%d, max: "
                          "65000}}" % ((a + 1) % ALARM_TAGS))
        n += len(al)
        tags.append(u16_tag("r%d" % a, a, al))
    for k in range(ALARM_LAT_TAGS):
        al = ["{id: hi, above: 50000}"] if with_alarms else []
        n += len(al)
        tags.append(u16_tag("lat%d" % k, ALARM_TAGS + k, al))
    write_plc(dirname, 0, sim_port, ALARM_POLL_MS, tags)
    # chattering off: the latency run trips each alarm every 2 s, which
    # would count as chattering and hold them active
    station = ["station: {id: alarmbench}", "plcs: [plc-00.yaml]",
               "data_dir: data", "chattering: off",
               "web: {listen: 127.0.0.1:%d}" % web_port]
    if with_alarms:
        station.append("alarms:")
        k = 0
        while n < ALARM_DEFS:
            a, b = (7 * k) % ALARM_TAGS, (7 * k + 3) % ALARM_TAGS
            station.append("  - {id: x%d, when: \"plc00.r%d > 65000 or "
                           "(plc00.r%d > 64000 and plc00.r%d < 1)\"}"
                           % (k, a, b, a))
            n += 1
            k += 1
    return write_station_file(dirname, station), n


def thread_cpu_s(pid, tid):
    """A thread's CPU time in seconds, to the nanosecond (schedstat: the
    consumer thread of these runs uses about a hundredth of a core, which
    /proc/.../stat's 10 ms ticks cannot resolve)."""
    try:
        with open("/proc/%d/task/%d/schedstat" % (pid, tid)) as f:
            return int(f.read().split()[0]) / 1e9
    except (OSError, IndexError, ValueError):
        return None


def sim_control(path):
    """lock-sim's control socket: (socket, its line file); close the
    socket when done."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    return sock, sock.makefile("rw", encoding="utf-8")


def sim_set(ctl, tag, value):
    """Sets a tag through lock-sim's control socket; waits for the reply."""
    ctl.write("set %s %s\n" % (tag, value))
    ctl.flush()
    ctl.readline()


def pctl(xs, p):
    """The p quantile of sorted xs (the sample at that rank), None if
    empty."""
    return xs[min(len(xs) - 1, int(p * len(xs)))] if xs else None


def thread_sched_s(pid, tid):
    """(CPU s, s waiting on a run queue) of a thread from schedstat, or
    (None, None)."""
    try:
        with open("/proc/%d/task/%d/schedstat" % (pid, tid)) as f:
            v = f.read().split()
        return int(v[0]) / 1e9, int(v[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return None, None


class AlarmStation(BridgeRun):
    """lock-sim --churn and `lockbridge run` on alarm_station(); stopped by
    PID."""

    def __init__(self, build, sim_cmd, outdir, with_alarms):
        super().__init__()
        sim_port = free_port_range(1)
        self.port = free_port_besides([sim_port])
        self.station, self.defs = alarm_station(outdir, sim_port, self.port,
                                                with_alarms)
        self.control = os.path.join(outdir, "sim.sock")
        self.start(build, sim_cmd + [
            "-c", self.station, "--registers", str(ALARM_TAGS), "--churn",
            str(ALARM_CHURN), "--control", self.control], [sim_port],
            self.station, outdir)
        if not self.wait_plcs(
                lambda plcs: plcs and
                plcs[0].get("good") == ALARM_TAGS + ALARM_LAT_TAGS, 20):
            raise RuntimeError("the bridge never had every tag good")

    def cpu(self):
        """(main thread, its part in the alarms, process) CPU seconds: the
        consumer thread measures each of its parts itself (/healthz
        consumer), the alarm engine's subscriber, timer and journal
        hook under "alarms"."""
        _, body = http_call(self.port, "GET", "/healthz", timeout=10)
        parts = json.loads(body).get("consumer", {})
        return (thread_cpu_s(self.lb.pid, self.lb.pid),
                parts.get("alarms", {}).get("cpu_s", 0.0),
                proc_cpu_s(self.lb.pid), parts)


def alarm_latency(st, secs):
    """Sets latency tags past their limit and back, one set every
    ALARM_TOGGLE_S, with one WebSocket client reading: for every
    activation, the client's receipt of its alarm frame minus the
    alarm's active_since (the Modbus response time), in ms."""
    import calendar
    import threading
    sock, ctl = sim_control(st.control)
    ws = lbtest.Ws("127.0.0.1", st.port, timeout=secs + 30)
    frames = []     # (receipt, alarm frame) from the reader thread

    def reader():
        try:
            while True:
                op, payload = ws.recv_frame()
                rx = time.time()
                if b'"type":"alarm"' in payload[:40]:
                    frames.append((rx, json.loads(payload)))
        except Exception:
            pass
    th = threading.Thread(target=reader, daemon=True)
    th.start()
    lat = []
    sent = 0
    try:
        state = [False] * ALARM_LAT_TAGS
        end = time.time() + secs
        k = 0
        next_set = time.time()
        while time.time() < end:
            time.sleep(max(0.0, next_set - time.time()))
            i = k % ALARM_LAT_TAGS
            state[i] = not state[i]
            sim_set(ctl, "plc00.lat%d" % i, 60000 if state[i] else 0)
            sent += state[i]
            k += 1
            next_set += ALARM_TOGGLE_S
        time.sleep(1.0)     # the last ones arrive
        for rx, m in list(frames):
            for a in m["alarms"]:
                    # fresh activations only (one listed again for another
                # reason keeps its old active_since)
                if a["state"] != "active-unack" or not a.get("active_since") \
                        or a["changed"] != a["active_since"]:
                    continue
                mm = re.match(r"(.+)\.(\d{3})Z$", a["active_since"])
                t = calendar.timegm(time.strptime(mm.group(1),
                                                  "%Y-%m-%dT%H:%M:%S")) + \
                    int(mm.group(2)) / 1000.0
                lat.append((rx - t) * 1000.0)
    finally:
        ws.sock.close()
        sock.close()
        th.join(timeout=5)
    lat.sort()
    return {"activations_set": sent, "received": len(lat),
            "p50_ms": pctl(lat, 0.5), "p90_ms": pctl(lat, 0.9),
            "p99_ms": pctl(lat, 0.99), "max_ms": lat[-1] if lat else None}


def bench_alarm(build, sim_cmd, outdir, quick):
    res = {"tags": ALARM_TAGS, "poll_ms": ALARM_POLL_MS,
           "churn": ALARM_CHURN}
    for path in (os.path.join(build, "lockbridge"), sim_cmd[0]):
        if not os.access(path, os.X_OK):
            res["skipped"] = "%s not built" % path
            return res
    secs = ALARM_SECONDS_QUICK if quick else ALARM_SECONDS
    rounds = ALARM_ROUNDS_QUICK if quick else ALARM_ROUNDS
    outdir = os.path.join(outdir, "alarm")
    # a fresh journal and history each run: nothing restored
    shutil.rmtree(outdir, ignore_errors=True)
    a = None
    try:
        log("bench: alarm: %d tags, %.0f%% changing per %d ms, %d alarm "
            "definitions, %d window%s of %g s"
            % (ALARM_TAGS, ALARM_CHURN * 100, ALARM_POLL_MS, ALARM_DEFS,
               rounds, "" if rounds == 1 else "s", secs))
        a = AlarmStation(build, sim_cmd, os.path.join(outdir, "with"), True)
        res["definitions"] = a.defs
        engine = os.path.join(build, "lb-alarm-bench")
        if os.access(engine, os.X_OK):
            res["engine"] = run_json([engine, "-c", a.station, "--polls",
                                      "600" if quick else "3000", "--churn",
                                      str(ALARM_CHURN), "--period",
                                      str(ALARM_POLL_MS)], 300)
        time.sleep(1.0)
        load = os.path.join(build, "lb-ws-load")
        for name, screens in (("bare", 0), ("screens", ALARM_SCREENS)):
            lp = None
            if screens:
                if not os.access(load, os.X_OK):
                    res[name] = {"skipped": "%s not built" % load}
                    continue
                # wall screens reading the live feed the whole time
                lp = start_logged([load, "--port", str(a.port), "--clients",
                                   str(screens), "--seconds",
                                   str(rounds * secs + 10), "--warmup", "1",
                                   "--pid", str(a.lb.pid)],
                                  os.path.join(outdir, "ws-load.log"))
                time.sleep(2.0)
            windows = []
            for _ in range(rounds):
                c0 = a.cpu()
                t0 = time.time()
                time.sleep(secs)
                c1 = a.cpu()
                dt = time.time() - t0
                w = {"seconds": dt, "thread": (c1[0] - c0[0]) / dt,
                     "alarms": (c1[1] - c0[1]) / dt,
                     "process": (c1[2] - c0[2]) / dt}
                rest = w["thread"] - w["alarms"]
                w["added"] = w["alarms"] / rest if rest > 0 else None
                windows.append(w)
            if lp:
                stop(lp)
                if lp in _procs:
                    _procs.remove(lp)
            added = sorted(w["added"] for w in windows
                           if w["added"] is not None)
            res[name] = {"screens": screens, "windows": windows,
                         "added": added[len(added) // 2] if added else None}
        res["added"] = (res.get("screens") or {}).get("added")
        log("bench: alarm: latency, one alarm set every %d ms for %g s, one "
            "WebSocket client" % (ALARM_TOGGLE_S * 1000, secs))
        res["latency"] = alarm_latency(a, secs)
    except (RuntimeError, OSError, ValueError) as e:
        res["skipped"] = str(e)
        log("  alarm: %s" % e)
    finally:
        if a:
            a.close()
    return res


def alarm_targets(al):
    if not al or "skipped" in al or al.get("added") is None:
        return []
    v = al["added"]
    bare = (al.get("bare") or {}).get("added")
    out = [{"name": "alarm_consumer_cpu_added", "value": v,
            "pass": v < TARGET_ALARM_ADDED,
            "text": "alarm: %d definitions add %.1f %% to the consumer "
            "thread's CPU at %.0f %% churn with %d dashboards (< %.0f %%; "
            "with none: %s)"
            % (al.get("definitions", 0), v * 100, al["churn"] * 100,
               ALARM_SCREENS, TARGET_ALARM_ADDED * 100,
               "-" if bare is None else "%.1f %%" % (bare * 100))}]
    lat = al.get("latency") or {}
    if lat.get("p99_ms") is not None:
        out.append({"name": "alarm_latency_p99_ms", "value": lat["p99_ms"],
                    "pass": None,
                    "text": "alarm: Modbus response -> alarm frame on a "
                    "WebSocket client p99 %.1f ms (p50 %.1f, max %.1f; %d "
                    "activations)" % (lat["p99_ms"], lat["p50_ms"],
                                      lat["max_ms"], lat["received"])})
    return out


def print_alarm_table(al):
    if not al:
        return
    print("\nAlarms (issue 9): %d u16 tags polled every %d ms, %.0f %% "
          "changing per poll (lock-sim --churn), history on"
          % (al["tags"], al["poll_ms"], al["churn"] * 100))
    if "skipped" in al:
        print("  skipped: %s" % al["skipped"])
        return
    e = al.get("engine") or {}
    if e:
        print("  engine alone (lb-alarm-bench, %d definitions): %.0f ns per "
              "tag change (%.0f without the definitions), %.0f changes/s: "
              "%.4f cores" % (e["alarms"], e["ns_per_change"],
                              e["baseline_ns_per_change"],
                              e["changes_per_s"], e["engine_cores_at_churn"]))
    print("  %-22s %16s %16s %16s %10s" % ("window", "consumer thread",
                                            "of it alarms", "the rest",
                                            "added"))
    for name in ("bare", "screens"):
        r = al.get(name) or {}
        if "skipped" in r:
            print("  %s: skipped: %s" % (name, r["skipped"]))
            continue
        label = "no dashboard" if not r.get("screens") else \
            "%d dashboards" % r["screens"]
        for i, w in enumerate(r.get("windows", [])):
            print("  %-22s %10.5f cores %10.5f cores %10.5f cores %9s" % (
                "%s, %d" % (label, i + 1), w["thread"], w["alarms"],
                w["thread"] - w["alarms"], "-" if w["added"] is None
                else "%.2f %%" % (w["added"] * 100)))
        if r.get("added") is not None:
            print("  %-22s median added %.2f %% (the whole process: %.4f "
                  "cores)" % (label, r["added"] * 100,
                              median([w["process"] for w in r["windows"]])))
    lat = al.get("latency") or {}
    if lat.get("received"):
        print("  Modbus response -> alarm frame: p50 %.1f ms, p90 %.1f, p99 "
              "%.1f, max %.1f (%d of %d activations received)"
              % (lat["p50_ms"], lat["p90_ms"], lat["p99_ms"], lat["max_ms"],
                 lat["received"], lat["activations_set"]))


# ---- notifications (issue 10) ------------------------------------------

NOTIFY_LAT_TAGS = 20         # tags the latency run toggles, as in alarm
NOTIFY_ACTIVATIONS, NOTIFY_ACTIVATIONS_QUICK = 200, 40
NOTIFY_STEP_S = 0.15         # an activation every 150 ms: more than a
                             # poll apart, so never two in one message
NOTIFY_HOLD = 5              # each active for 5 steps, then cleared (not
                             # notified: the route has no on_clear)
NOTIFY_POLL_MS = 100
NOTIFY_FLOOD_DEFS = 1000     # alarms on the one flood tag
NOTIFY_FLOOD_TOGGLE_S = 0.2  # the flood tag across its limit and back
NOTIFY_FLOOD_SECONDS, NOTIFY_FLOOD_SECONDS_QUICK = 10.0, 4.0
NOTIFY_FLOOD_WARMUP_S = 1.0  # the start of the flood is not in the window
NOTIFY_DRAIN_MIN_S = 0.5     # a shorter drain is not reported as a rate


def notify_station(dirname, sim_port, web_port, hook_port, smtp_port):
    """One PLC: NOTIFY_LAT_TAGS tags with a high-priority limit (routed to
    the webhook /hook and the mail channel) and one tag `flood` with
    NOTIFY_FLOOD_DEFS low-priority limits (routed, with their clears, to
    a second webhook channel on the same receiver, /flood); group.wait 0s and group.interval 0s (no flood summaries: the thread's own ceiling),
    every event on its own at once.  History off: only the notifications'
    disk work is on the disk."""
    os.makedirs(dirname, exist_ok=True)
    tags = [u16_tag("lat%d" % k, k, ["{id: hi, above: 50000, "
                                     "priority: high}"])
            for k in range(NOTIFY_LAT_TAGS)]
    tags.append(u16_tag("flood", NOTIFY_LAT_TAGS, [
        "{id: f%03d, above: 50000, priority: low}" % k
        for k in range(NOTIFY_FLOOD_DEFS)]))
    write_plc(dirname, 0, sim_port, NOTIFY_POLL_MS, tags)
    hook = "http://127.0.0.1:%d" % hook_port
    return write_station_file(dirname, [
        "station: {id: nbench, name: {en: Notify bench}}",
        "plcs: [plc-00.yaml]", "data_dir: data", "history: off",
        "heartbeat: off", "chattering: off",
        "web: {listen: 127.0.0.1:%d}" % web_port,
        "notify:",
        "  channels:",
        "    - {id: hook, type: webhook, url: \"%s/hook\", timeout: 5s}"
        % hook,
        "    - {id: mail, type: email, url: \"smtp://127.0.0.1:%d\", "
        "from: lockbridge@nbench.example, to: [duty@nbench.example], "
        "timeout: 5s}" % smtp_port,
        "    - {id: flood, type: webhook, url: \"%s/flood\", timeout: 5s}"
        % hook,
        "  routes:",
        "    - {priority: high, notify: [hook, mail]}",
        "    - {priority: low, notify: [flood], on_clear: true}",
        "  group: {wait: 0s, interval: 0s}"])


class HookSink:
    """A webhook receiver on a free loopback port (http.server, a thread
    per request): each POST's arrival (wall clock, taken once its body is
    read, before the 200 is written), path and body, in `posts`."""

    def __init__(self):
        import http.server
        import threading
        posts = self.posts = []

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                data = self.rfile.read(int(self.headers.get(
                    "Content-Length", "0")))
                posts.append((time.time(), self.path, data))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.port = free_port_range(1)
        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", self.port),
                                                   H)
        self.srv.daemon_threads = True
        self.th = threading.Thread(target=self.srv.serve_forever,
                                   daemon=True)
        self.th.start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


class SmtpSink:
    """Debian's aiosmtpd on a free loopback port, in this process: each
    mail's arrival (wall clock, when its DATA ends, before the 250) and
    its bytes, in `mails`; not on a port in taken.  RuntimeError if
    python3-aiosmtpd is missing."""

    def __init__(self, taken=()):
        try:
            from aiosmtpd.controller import Controller
        except ImportError as e:
            raise RuntimeError("python3-aiosmtpd not installed (%s)" % e)
        mails = self.mails = []

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                mails.append((time.time(), envelope.content))
                return "250 OK"

        self.port = free_port_besides(list(taken))
        self.ctl = Controller(Handler(), hostname="127.0.0.1",
                              port=self.port)
        self.ctl.start()

    def close(self):
        self.ctl.stop()


class NotifyStation(BridgeRun):
    """lock-sim and `lockbridge run` on notify_station(), the receivers
    started first; stopped by PID (close)."""

    def __init__(self, build, sim_cmd, outdir):
        super().__init__()
        self.hook = self.smtp = None
        self.hook = HookSink()
        self.smtp = SmtpSink([self.hook.port])
        sim_port = free_port_besides([self.hook.port, self.smtp.port])
        self.port = free_port_besides([sim_port, self.hook.port,
                                       self.smtp.port])
        self.station = notify_station(outdir, sim_port, self.port,
                                      self.hook.port, self.smtp.port)
        self.data = os.path.join(outdir, "data")
        self.control = os.path.join(outdir, "sim.sock")
        self.start(build, sim_cmd + ["-c", self.station, "--control",
                                     self.control], [sim_port],
                   self.station, outdir)
        if not self.wait_plcs(lambda plcs: plcs and plcs[0].get("good") ==
                              NOTIFY_LAT_TAGS + 1, 20):
            raise RuntimeError("the bridge never had every tag good")
        if not wait_for_log(self.lb_log, "notify: ", 10):
            raise RuntimeError("the notify thread did not start: %s"
                               % tail(self.lb_log))

    def query(self, sql, args=()):
        """Rows of the notification journal (read-only, beside the
        thread's writes: WAL)."""
        import sqlite3
        db = sqlite3.connect("file:%s?mode=ro" % os.path.join(
            self.data, "notify.db"), uri=True, timeout=10)
        try:
            return db.execute(sql, args).fetchall()
        finally:
            db.close()

    def notify_tid(self):
        """The notify thread's id (its comm is "notify"), or None."""
        task = "/proc/%d/task" % self.lb.pid
        for tid in os.listdir(task):
            try:
                with open("%s/%s/comm" % (task, tid)) as f:
                    if f.read().strip() == "notify":
                        return int(tid)
            except OSError:
                pass
        return None

    def close(self):
        super().close()
        for s in (self.hook, self.smtp):
            if s:
                s.close()


def wait_for_log(path, text, limit):
    end = time.time() + limit
    while time.time() < end:
        if text in tail(path, 1 << 20):
            return True
        time.sleep(0.1)
    return False


def mail_subject(raw):
    import email
    import email.header
    import email.policy
    m = email.message_from_bytes(raw, policy=email.policy.default)
    return str(email.header.make_header(email.header.decode_header(
        m["Subject"] or "")))


def lat_summary(ms):
    ms = sorted(ms)
    return {"n": len(ms), "p50_ms": pctl(ms, 0.5), "p90_ms": pctl(ms, 0.9),
            "p99_ms": pctl(ms, 0.99), "max_ms": ms[-1] if ms else None}


def notify_latency(st, activations):
    """Sets a latency tag past its limit every NOTIFY_STEP_S (and the one
    set NOTIFY_HOLD steps before back) until `activations` were set; then,
    for
    every activation notified, the receiver's arrival of the webhook POST
    carrying it and the sink's arrival of its mail, minus the alarm's time
    in the notification journal (ts_ns, the Modbus response time: the same
    clock, one machine), in ms."""
    sock, ctl = sim_control(st.control)
    try:
        next_set = time.time()
        for k in range(activations + NOTIFY_HOLD):
            time.sleep(max(0.0, next_set - time.time()))
            if k >= NOTIFY_HOLD:
                sim_set(ctl, "plc00.lat%d" % ((k - NOTIFY_HOLD)
                                             % NOTIFY_LAT_TAGS), 0)
            if k < activations:
                sim_set(ctl, "plc00.lat%d" % (k % NOTIFY_LAT_TAGS), 60000)
            next_set += NOTIFY_STEP_S
        sent = activations
    finally:
        sock.close()
    # the last ones arrive (each is sent within a few ms)
    want = lambda: st.query(  # noqa: E731
        "SELECT count(*) FROM notification WHERE channel IN ('hook', "
        "'mail') AND status = 'sent'")[0][0]
    end = time.time() + 10
    while time.time() < end and want() < 2 * sent:
        time.sleep(0.2)
    ts, routed = {}, []
    for nid, t, created in st.query("SELECT id, ts_ns, created_ns FROM "
                                    "notification WHERE channel = 'hook'"):
        ts[nid] = t
        routed.append((created - t) / 1e6)
    hook, time_ok, multi = [], 0, 0
    for rx, path, data in list(st.hook.posts):
        if path != "/hook":
            continue
        alarms = json.loads(data)["alarms"]
        multi += len(alarms) > 1
        for a in alarms:
            t = ts.get(a["notification"])
            if t is None:
                continue
            hook.append((rx - t / 1e9) * 1000.0)
            # the body's time is the journal's, to the ms
            time_ok += a["time"] == time.strftime(
                "%Y-%m-%dT%H:%M:%S", time.gmtime(t // 10**9)) + \
                ".%03dZ" % (t // 10**6 % 1000)
    # Mails carry no notification id: the thread marks each message's rows
    # with one delivered_ns, so the mail channel's messages in delivery
    # order are its distinct delivered_ns, and the sink's mails in
    # arrival order are the same messages (one thread, one at a time).
    groups = {}
    for dn, t, alarm in st.query(
            "SELECT delivered_ns, ts_ns, alarm FROM notification WHERE "
            "channel = 'mail' AND status = 'sent' ORDER BY delivered_ns, id"):
        groups.setdefault(dn, []).append((t, alarm))
    msgs = [groups[dn] for dn in sorted(groups)]
    mails = list(st.smtp.mails)
    mail, matched = [], 0
    if len(mails) == len(msgs):
        for (rx, raw), rows in zip(mails, msgs):
            if len(rows) == 1:
                matched += rows[0][1] in mail_subject(raw)
            for t, _ in rows:
                mail.append((rx - t / 1e9) * 1000.0)
    out = {"activations_set": sent, "routed": lat_summary(routed),
           "webhook": lat_summary(hook),
           "webhook_posts": sum(1 for p in st.hook.posts if p[1] == "/hook"),
           "webhook_multi": multi, "webhook_time_matches": time_ok,
           "mail": lat_summary(mail), "mails": len(mails),
           "mail_messages_journalled": len(msgs),
           "mail_subject_matches": matched}
    if len(mails) != len(msgs):
        out["mail_skipped"] = "%d mails received, %d journalled as sent" % (
            len(mails), len(msgs))
    return out


# /proc/PID/task/TID/syscall's first field (x86-64 numbers) as what the
# thread waits for: "running" is on CPU (or runnable)
SYSCALL_WAITS = {"74": "fsync", "75": "fsync", "7": "network",
                 "271": "network", "232": "network", "23": "network",
                 "45": "network", "44": "network", "0": "read",
                 "1": "write", "18": "write", "17": "read",
                 "202": "futex", "running": "runnable"}


class ThreadStates:
    """Samples what one thread is doing every `period` s, on a thread of
    its own, from /proc/PID/task/TID/syscall (as root): in which system
    call, or "runnable" (on a CPU, or waiting for one: schedstat tells
    the two apart).  A statistical profile, cheap enough to leave on."""

    def __init__(self, pid, tid, period=0.003):
        import threading
        self.samples = []
        self.path = "/proc/%d/task/%d/syscall" % (pid, tid)
        self.period = period
        self.stopping = threading.Event()
        self.th = threading.Thread(target=self.run, daemon=True)
        self.th.start()

    def run(self):
        while not self.stopping.is_set():
            try:
                with open(self.path) as f:
                    w = f.read().split(" ", 1)[0].strip()
            except OSError:
                return
            self.samples.append((time.time(), SYSCALL_WAITS.get(w, "other")))
            time.sleep(self.period)

    def shares(self, a, b):
        """{what: share of the samples in [a, b]}."""
        got = [w for t, w in self.samples if a <= t <= b]
        out = {}
        for w in got:
            out[w] = out.get(w, 0) + 1.0 / len(got)
        return out

    def close(self):
        self.stopping.set()
        self.th.join(timeout=5)


def notify_flood(st, secs):
    """The flood tag across its NOTIFY_FLOOD_DEFS limits and back every
    NOTIFY_FLOOD_TOGGLE_S for secs: every set is that many events, each a
    row of the flood channel.  Two windows, from the journal's times and
    the receiver's: the flood (after its first NOTIFY_FLOOD_WARMUP_S, to
    the last set), rows written and rows sent per second while events
    keep coming, the backlog of pending rows (sampled); and the drain,
    from the last row written to the last sent, the delivery thread alone
    on a backlog: its rows and POSTs per second.  The notify thread's CPU
    in both."""
    tid = st.notify_tid()
    cpu = []            # (time, the notify thread's CPU s, run-queue s)
    sample = lambda: cpu.append(  # noqa: E731
        (time.time(),) + (thread_sched_s(st.lb.pid, tid) if tid else
                          (None, None)))
    pending = lambda: st.query(  # noqa: E731
        "SELECT count(*) FROM notification WHERE channel = 'flood' AND "
        "status = 'pending'")[0][0]
    backlog = []
    states = ThreadStates(st.lb.pid, tid) if tid else None
    sock, ctl = sim_control(st.control)
    try:
        high = False
        t0 = time.time()
        w0 = t0 + NOTIFY_FLOOD_WARMUP_S
        next_set = t0
        sets = 0
        while time.time() < t0 + secs:
            if time.time() >= next_set:
                high = not high
                sim_set(ctl, "plc00.flood", 60000 if high else 0)
                sets += 1
                next_set += NOTIFY_FLOOD_TOGGLE_S
            if time.time() >= w0:
                sample()
                backlog.append(pending())
            time.sleep(min(0.1, max(0.0, next_set - time.time())))
        w1 = time.time()
        if high:
            sim_set(ctl, "plc00.flood", 0)
            sets += 1
    finally:
        sock.close()
    # Drained: nothing pending and no row added for a second (an event
    # the full queue refused never comes: the next start's catch-up
    # would route it).
    give_up = time.time() + 180
    drained, last_n, still = False, -1, 0
    while time.time() < give_up and not drained:
        sample()
        n, p = st.query("SELECT count(*), sum(status = 'pending') FROM "
                        "notification WHERE channel = 'flood'")[0]
        still = still + 1 if n == last_n and not p else 0
        last_n = n
        drained = still >= 10
        time.sleep(0.1)
    if states:
        states.close()
    routed, d0, d1 = st.query(
        "SELECT count(*), max(created_ns) / 1e9, max(delivered_ns) / 1e9 "
        "FROM notification WHERE channel = 'flood'")[0]
    import sqlite3
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(st.data,
                                                          "alarms.db"),
                         uri=True, timeout=10)
    try:
        events = db.execute("SELECT count(*) FROM journal WHERE alarm LIKE "
                            "'plc00.flood.%'").fetchone()[0]
    finally:
        db.close()

    def window(a, b):
        """Rows written, rows sent, POSTs received per second in [a, b],
        and the notify thread's CPU (cores) between the samples nearest."""
        wr, sent = st.query(
            "SELECT sum(created_ns BETWEEN ?1 AND ?2), sum(delivered_ns "
            "BETWEEN ?1 AND ?2) FROM notification WHERE channel = 'flood'",
            (int(a * 1e9), int(b * 1e9)))[0]
        posts = sum(1 for rx, path, _ in list(st.hook.posts)
                    if path == "/flood" and a <= rx <= b)
        near = lambda t: min(cpu, key=lambda c: abs(c[0] - t))  # noqa: E731
        ca, cb = near(a), near(b)
        ok = cb[0] > ca[0] and ca[1] is not None
        cores = (cb[1] - ca[1]) / (cb[0] - ca[0]) if ok else None
        runq = (cb[2] - ca[2]) / (cb[0] - ca[0]) if ok else None
        w = b - a
        return {"seconds": w, "rows_written_per_s": (wr or 0) / w,
                "runq": runq,
                "thread": states.shares(a, b) if states else {},
                "rows_per_s": (sent or 0) / w, "posts_per_s": posts / w,
                "rows_per_post": (sent or 0) / posts if posts else None,
                "notify_cores": cores}
    out = {"definitions": NOTIFY_FLOOD_DEFS,
           "toggle_s": NOTIFY_FLOOD_TOGGLE_S,
           "offered_per_s": NOTIFY_FLOOD_DEFS / NOTIFY_FLOOD_TOGGLE_S,
           "events": events, "rows_routed": routed, "drained": drained,
           "backlog_min": min(backlog) if backlog else None,
           "backlog_max": max(backlog) if backlog else None,
           "flood": window(w0, w1)}
    # A drain shorter than this is the thread having kept up: the few
    # messages after the last row say nothing of a rate.
    if d0 and d1 and d1 - d0 >= NOTIFY_DRAIN_MIN_S:
        out["drain"] = window(d0, d1)
        # the drain second by second, with the backlog at each start:
        # each message's query reads every pending row
        out["drain_slices"] = []
        t = d0
        while t < d1 and len(out["drain_slices"]) < 30:
            b = min(d1, t + 1.0)
            w = window(t, b)
            w["backlog"] = st.query(
                "SELECT count(*) FROM notification WHERE channel = 'flood' "
                "AND created_ns <= ?1 AND delivered_ns > ?1",
                (int(t * 1e9),))[0][0]
            out["drain_slices"].append(w)
            t = b
    return out


def commit_ms(dirname, n=200):
    """One small SQLite commit in WAL mode with synchronous=FULL (the
    notification journal's settings) on the bench's disk, in ms (median
    of n): what each write before an attempt and each mark after one
    costs at least."""
    import sqlite3
    path = os.path.join(dirname, "commit-probe.db")
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
        ts = []
        for i in range(n):
            t = time.perf_counter()
            db.execute("BEGIN")
            db.execute("INSERT INTO t(v) VALUES (?)", ("x" * 200,))
            db.execute("COMMIT")
            ts.append((time.perf_counter() - t) * 1000.0)
    finally:
        db.close()
        for suffix in ("", "-wal", "-shm"):
            try:
                os.unlink(path + suffix)
            except OSError:
                pass
    return median(ts)


def bench_notify(build, sim_cmd, outdir, quick):
    res = {"poll_ms": NOTIFY_POLL_MS}
    for path in (os.path.join(build, "lockbridge"), sim_cmd[0]):
        if not os.access(path, os.X_OK):
            res["skipped"] = "%s not built" % path
            return res
    n = NOTIFY_ACTIVATIONS_QUICK if quick else NOTIFY_ACTIVATIONS
    secs = NOTIFY_FLOOD_SECONDS_QUICK if quick else NOTIFY_FLOOD_SECONDS
    outdir = os.path.join(outdir, "notify")
    # fresh journals each run: nothing restored, nothing caught up
    shutil.rmtree(outdir, ignore_errors=True)
    st = None
    try:
        st = NotifyStation(build, sim_cmd, outdir)
        log("bench: notify: latency, %d activations, one every %d ms, to "
            "a webhook receiver and aiosmtpd (group.wait 0s, group.interval 0s: no flood summaries)"
            % (n, NOTIFY_STEP_S * 1000))
        res["latency"] = notify_latency(st, n)
        log("bench: notify: flood, %d alarms across their limit and back "
            "every %g s for %g s, to the webhook receiver"
            % (NOTIFY_FLOOD_DEFS, NOTIFY_FLOOD_TOGGLE_S, secs))
        res["flood"] = notify_flood(st, secs)
        res["commit_ms"] = commit_ms(outdir)
    except (RuntimeError, OSError, ValueError) as e:
        res["skipped"] = str(e)
        log("  notify: %s" % e)
    finally:
        if st:
            st.close()
    return res


def notify_targets(nt):
    if not nt or "skipped" in nt:
        return []
    out = []
    lat = nt.get("latency") or {}
    for key, what in (("webhook", "the webhook receiver"),
                      ("mail", "the SMTP sink")):
        r = lat.get(key) or {}
        if r.get("p99_ms") is None:
            continue
        out.append({"name": "notify_%s_latency_p99_ms" % key,
                    "value": r["p99_ms"], "pass": None,
                    "text": "notify: Modbus response -> %s p99 %.1f ms (p50 "
                    "%.1f, max %.1f; %d activations)"
                    % (what, r["p99_ms"], r["p50_ms"], r["max_ms"], r["n"])})
    fl = nt.get("flood") or {}
    dr, fw = fl.get("drain"), fl.get("flood")
    if dr:
        out.append({"name": "notify_drain_rows_per_s",
                    "value": dr["rows_per_s"], "pass": None,
                    "text": "notify: the delivery thread sustains %.0f "
                    "notifications/s in %.1f webhook POSTs/s (%s rows each) "
                    "on a backlog of up to %d; %.0f/s in %.1f POSTs/s while "
                    "a flood of %.0f events/s keeps coming (commit %.1f ms)"
                    % (dr["rows_per_s"], dr["posts_per_s"],
                       fmt(dr["rows_per_post"], ".0f"), fl["backlog_max"],
                       fw["rows_per_s"], fw["posts_per_s"],
                       fl["offered_per_s"], nt.get("commit_ms") or 0)})
    elif fw:
        out.append({"name": "notify_flood_rows_per_s",
                    "value": fw["rows_per_s"], "pass": None,
                    "text": "notify: the delivery thread kept up with a "
                    "flood of %.0f events/s: %.0f notifications/s in %.1f "
                    "webhook POSTs/s (backlog at most %d; its ceiling is "
                    "above that)" % (fl["offered_per_s"], fw["rows_per_s"],
                                     fw["posts_per_s"], fl["backlog_max"])})
    return out


def print_notify_table(nt):
    if not nt:
        return
    print("\nNotifications (issue 10): group.wait 0s, group.interval 0s, a webhook receiver "
          "(http.server) and aiosmtpd on loopback, the journal SQLite WAL "
          "synchronous=FULL")
    if "skipped" in nt:
        print("  skipped: %s" % nt["skipped"])
        return
    lat = nt.get("latency") or {}
    print("  %-40s %8s %8s %8s %8s %6s" % ("Modbus response ->", "p50 ms",
                                            "p90 ms", "p99 ms", "max ms",
                                            "n"))
    for key, label in (("routed", "routed (the row's created_ns)"),
                       ("webhook", "webhook POST received"),
                       ("mail", "mail received (end of DATA)")):
        r = lat.get(key) or {}
        if not r.get("n"):
            print("  %-40s %s" % (label, lat.get("%s_skipped" % key,
                                                 "nothing received")))
            continue
        print("  %-40s %8.1f %8.1f %8.1f %8.1f %6d" % (
            label, r["p50_ms"], r["p90_ms"], r["p99_ms"], r["max_ms"],
            r["n"]))
    if lat:
        print("  (%d activations set; %d POSTs, %d with more than one alarm; "
              "%d mails, %d matched by subject)"
              % (lat["activations_set"], lat["webhook_posts"],
                 lat["webhook_multi"], lat["mails"],
                 lat["mail_subject_matches"]))
    fl = nt.get("flood") or {}
    if not fl:
        return
    print("  flood: %d alarms on one tag across their limit and back every "
          "%g s (%.0f events/s, clears notified too), one webhook channel; "
          "%d events, %d rows routed (%d refused by the full queue)%s; "
          "backlog %s..%s rows pending"
          % (fl["definitions"], fl["toggle_s"], fl["offered_per_s"],
             fl["events"], fl["rows_routed"],
             fl["events"] - fl["rows_routed"],
             "" if fl["drained"] else ", NOT drained in 180 s",
             fl["backlog_min"], fl["backlog_max"]))
    print("  %-40s %8s %10s %8s %10s %8s" % (
        "window", "seconds", "written/s", "sent/s", "POSTs/s", "cores"))
    for key, label in (("flood", "while the flood comes"),
                       ("drain", "the backlog alone (drain)")):
        w = fl.get(key)
        if not w:
            continue
        print("  %-40s %8.1f %10.0f %8.0f %10.1f %8s" % (
            label, w["seconds"], w["rows_written_per_s"], w["rows_per_s"],
            w["posts_per_s"], fmt(w["notify_cores"], ".3f")))
    for w in fl.get("drain_slices", []):
        print("    %-38s %8.1f %10s %8.0f %10.1f %8s" % (
            "a second from %d pending" % w["backlog"], w["seconds"], "",
            w["rows_per_s"], w["posts_per_s"],
            fmt(w["notify_cores"], ".3f")))
    for key, label in (("flood", "while the flood comes"),
                       ("drain", "the drain")):
        w = fl.get(key) or {}
        if w.get("thread"):
            print("  the notify thread %s: %s (on a CPU %s, waiting for one "
                  "%s)" % (label, thread_shares(w["thread"]),
                           pct(w["notify_cores"]), pct(w["runq"])))
    print("  sent/s: rows marked sent (%s in a POST, the most one message "
          "takes); cores: the notify thread's CPU; its time from "
          "/proc/PID/task/TID/syscall sampled every 3 ms"
          % fmt((fl.get("drain") or fl.get("flood") or {}).get(
              "rows_per_post"), ".0f"))
    print("  " + notify_ceiling(nt))


def pct(v):
    return "-" if v is None else "%.0f %%" % (v * 100)


def thread_shares(th):
    """'cpu 41 %, fsync 30 %, ...', largest first."""
    return ", ".join("%s %.0f %%" % (k, v * 100) for k, v in
                     sorted(th.items(), key=lambda kv: -kv[1]))


def notify_ceiling(nt):
    """What sets the delivery rate, from the figures: every row is
    committed before its attempt and marked after it (two commits a
    message, each an fsync), against the time a message takes on the
    backlog and where the notify thread spent it."""
    c = nt.get("commit_ms")
    fl = nt.get("flood") or {}
    dr = fl.get("drain") or fl.get("flood") or {}
    head = ("every row is committed (SQLite WAL, synchronous=FULL: an "
            "fsync) before its attempt and marked after it: two commits a "
            "message, the floor under each message's time")
    if c is None or not dr.get("posts_per_s"):
        return head
    text = "%s; one small commit here %.1f ms, a message every %.1f ms %s" \
        % (head, c, 1000.0 / dr["posts_per_s"],
           "on the backlog" if fl.get("drain") else
           "in the flood (kept up: not the ceiling)")
    if not fl.get("drain"):
        return text
    th = dict(dr.get("thread") or {})
    if th and dr.get("notify_cores") is not None and \
            dr.get("runq") is not None and "runnable" in th:
        # runnable samples split into on a CPU and waiting for one
        th.pop("runnable")
        th["cpu"], th["a core"] = dr["notify_cores"], dr["runq"]
    if th:
        top = max(th, key=th.get)
        text += "; the thread's largest share %s (%.0f %%)" % (
            {"fsync": "in fsync: the commits are the ceiling",
             "cpu": "on a CPU: its own work per message (reading every "
             "pending row, the JSON, marking the rows), not the fsyncs, is "
             "the ceiling",
             "a core": "waiting for a CPU: on this shared 2-core machine "
             "the other processes (receiver, bench, simulator) are",
             "network": "waiting for the receiver: the receiver is the "
             "ceiling"}.get(top, "in " + top), th[top] * 100)
    return text


# ---- report ------------------------------------------------------------

# ---- many stations, one central store (issue 11 section 5) -------------

SCALE_DB = "scale"
SCALE_BATCH_AGE = "250ms"
SCALE_PROBE = ("levels", "upstream_level")   # f32, fast poll, no alarm
                                             # between 18.5 and 21.5 m
SCALE_INFLUX_RE = re.compile(
    r"influx: (\d+) points written in \d+ batches, (\d+) queued, (\d+) "
    r"spooled \((\d+) bytes\)")
SCALE_HIST_RE = re.compile(r"history: (\d+) samples written")


class ScaleVM:
    """victoria-metrics on one loopback port and data directory, which
    stop() and start() keep: the outage is this process stopped.
    -dedup.minScrapeInterval=1ms: a batch written twice (its reply lost,
    then replayed from the spool) counts once, as it is stored once."""

    def __init__(self, tmp):
        self.port = free_port_range(1)
        self.data = os.path.join(tmp, "data")
        self.log = os.path.join(tmp, "vm.log")
        self.proc = None
        self.start()

    def start(self):
        with open(self.log, "ab") as f:
            self.proc = start(lbtest.victoria_args(self.port, self.data) +
                              ["-dedup.minScrapeInterval=1ms"],
                              stdin=subprocess.DEVNULL, stdout=f,
                              stderr=subprocess.STDOUT)
        if not wait_http(self.port, "/health", self.proc, limit=30):
            raise RuntimeError("victoria-metrics did not start: %s"
                               % tail(self.log))

    def stop(self):
        if self.proc and self.proc.poll() is None:
            stop(self.proc, grace=20.0)
        if self.proc in _procs:
            _procs.remove(self.proc)

    def cpu_s(self):
        return proc_cpu_s(self.proc.pid)

    def rows_inserted(self):
        """Its own count of rows (fields) taken in over the influx
        protocol."""
        st, body = http_call(self.port, "GET", "/metrics", timeout=10)
        n = 0
        for line in body.decode(errors="replace").splitlines():
            if line.startswith('vm_rows_inserted_total{type="influx"}'):
                n = int(float(line.split()[-1]))
        return n

    def count(self, match, window_s, at_s):
        """Samples of the series matching match with timestamps in the
        window_s seconds up to at_s (a count query), None on error."""
        q = {"query": "sum(count_over_time(%s[%dms]))"
                      % (match, int(window_s * 1000)),
             "time": "%.3f" % at_s}
        st, body = http_call(self.port, "GET", "/api/v1/query?" +
                             urllib.parse.urlencode(q), timeout=60)
        if st != 200:
            return None
        r = json.loads(body).get("data", {}).get("result", [])
        return int(float(r[0]["value"][1])) if r else 0

    def export(self, match, start_s):
        """{(metric name, station): (timestamps ms, values)}."""
        st, body = http_call(self.port, "POST", "/api/v1/export?" +
                             urllib.parse.urlencode({
                                 "match[]": match, "start": "%.3f" % start_s,
                                 "end": str(int(time.time()) + 3600)}),
                             timeout=60)
        if st != 200:
            raise RuntimeError("export: %d %s" % (st, body[:200]))
        out = {}
        for line in body.splitlines():
            if line.strip():
                r = json.loads(line)
                m = r["metric"]
                out[(m.get("__name__"), m.get("station"))] = (
                    r["timestamps"], r["values"])
        return out


class ScaleStation:
    """One shipped station (ports moved, its own id) under its own
    lock-sim (with a control socket) and `lockbridge run` (web off,
    summary every second, influx to the central VictoriaMetrics); in its
    own directory, the cwd of both: history and spool land there."""

    def __init__(self, build, sim_cmd, root, i, vm_port, taken):
        self.id = "lock%02d" % i
        self.dir = os.path.join(root, self.id)
        self.build = build
        extra = ("influx: {url: http://127.0.0.1:%d, database: %s, "
                 "batch_age: %s, spool: %s}"
                 % (vm_port, SCALE_DB, SCALE_BATCH_AGE,
                    os.path.join(self.dir, "spool")))
        self.station, self.ports = copy_demo_station(self.dir, self.id,
                                                     extra, taken)
        self.ctl_path = os.path.join(self.dir, "sim.sock")
        self.lb_log = os.path.join(self.dir, "lockbridge.log")
        self.sim = start_logged(sim_cmd + ["-c", self.station, "--control",
                                           self.ctl_path],
                                os.path.join(self.dir, "lock-sim.log"),
                                cwd=self.dir)
        self.lb = None

    def run(self):
        if not wait_ports(self.ports, self.sim):
            raise RuntimeError("%s: lock-sim did not serve: %s" % (
                self.id, tail(os.path.join(self.dir, "lock-sim.log"))))
        self.lb = start_logged([os.path.join(self.build, "lockbridge"),
                                "run", "-c", self.station, "--summary", "1"],
                               self.lb_log, cwd=self.dir)

    def influx(self):
        """Every influx summary line so far: [(written, queued, spooled
        points, spooled bytes)]."""
        try:
            with open(self.lb_log, encoding="utf-8", errors="replace") as f:
                text = f.read()
        except OSError:
            return []
        return [tuple(int(x) for x in m.groups())
                for m in SCALE_INFLUX_RE.finditer(text)]

    def history_written(self):
        with open(self.lb_log, encoding="utf-8", errors="replace") as f:
            got = SCALE_HIST_RE.findall(f.read())
        return int(got[-1]) if got else None

    def close(self):
        for p, sig in ((self.lb, signal.SIGINT), (self.sim, signal.SIGTERM)):
            if p:
                stop(p, sig, grace=15.0)
                if p in _procs:
                    _procs.remove(p)
        self.lb = self.sim = None

    def history_samples(self):
        """{(VictoriaMetrics name, station): set of ms} of the numeric good
        samples in the embedded history: what VictoriaMetrics must hold."""
        p = start([os.path.join(self.build, "lockbridge"), "export", "-c",
                   self.station, "--from", "-2h"], cwd=self.dir)
        out, err = p.communicate(timeout=300)
        _procs.remove(p)
        if p.returncode != 0:
            raise RuntimeError("%s: export: %s" % (self.id, err[-200:]))
        import calendar
        res = {}
        for r in json.loads(out):
            if r["quality"] != "good" or isinstance(r["value"], str):
                continue
            m = re.match(r"(\d+-\d+-\d+T\d+:\d+:\d+)\.(\d{3})Z$", r["ts"])
            ms = calendar.timegm(time.strptime(
                m.group(1), "%Y-%m-%dT%H:%M:%S")) * 1000 + int(m.group(2))
            plc, field = r["tag"].split(".", 1)
            res.setdefault(("%s_%s" % (plc, field), self.id), set()).add(ms)
        return res


def scale_delay(vm, stations, samples):
    """Sets the probe tag of one station after another to a new value
    through lock-sim's control socket and polls VictoriaMetrics' export
    every 20 ms until that value is there: (ms from the point's own
    timestamp, the Modbus response, to queryable; ms from the set)."""
    plc, tag = SCALE_PROBE
    name = "%s_%s" % (plc, tag)
    from_resp, from_set = [], []
    for k in range(samples):
        st = stations[k % len(stations)]
        value = round(19.0 + 0.013 * (k + 1), 3)
        sock, ctl = sim_control(st.ctl_path)
        try:
            t_set = time.time()
            sim_set(ctl, "%s.%s" % (plc, tag), value)
            end = t_set + 30
            seen = None
            while seen is None and time.time() < end:
                got = vm.export('{__name__="%s",station="%s"}' % (name, st.id),
                                t_set - 2).get((name, st.id), ([], []))
                for ts, v in zip(*got):
                    if abs(v - value) < 1e-3 and ts >= (t_set - 1) * 1000:
                        seen = (time.time(), ts / 1000.0)
                        break
                else:
                    time.sleep(0.02)
            ctl.write("unset %s.%s\n" % (plc, tag))
            ctl.flush()
            ctl.readline()
        finally:
            sock.close()
        if seen:
            from_resp.append((seen[0] - seen[1]) * 1000)
            from_set.append((seen[0] - t_set) * 1000)
        time.sleep(0.2)
    return sorted(from_resp), sorted(from_set)


def bench_scale(build, sim_cmd, quick):
    """20 shipped stations (5 with --quick), each its own lock-sim and
    bridge, writing to one VictoriaMetrics: throughput, each bridge's CPU
    and RSS, end-to-end delay, then an outage of the store and the
    spools' drain, and every station's samples checked in the store."""
    n, window, outage, probes = (5, 15, 30, 10) if quick else (20, 60, 60, 20)
    if not shutil.which("victoria-metrics"):
        return {"skipped": "victoria-metrics not installed"}
    if not os.access(os.path.join(build, "lockbridge"), os.X_OK):
        return {"skipped": "lockbridge not built"}
    root = os.path.join(build, "bench", "scale")
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    tmp = tempfile.mkdtemp(prefix="lb-bench-scale-vm.")
    res = {"stations": n, "window_s": window, "outage_s": outage,
           "batch_age": SCALE_BATCH_AGE, "database": SCALE_DB,
           "vm_flags": "-search.latencyOffset=0s -search.disableCache "
                       "-dedup.minScrapeInterval=1ms"}
    vm = None
    stations = []
    try:
        vm = ScaleVM(tmp)
        t_run = time.time()
        taken = set()
        for i in range(1, n + 1):
            st = ScaleStation(build, sim_cmd, root, i, vm.port, taken)
            taken.update(st.ports)
            stations.append(st)
        for st in stations:
            st.run()
        log("  %d bridges started; warming up" % n)
        end = time.time() + 60
        while time.time() < end and not all(
                (st.influx() or [(0,)])[-1][0] > 0 for st in stations):
            time.sleep(0.5)
        time.sleep(5)
        for st in stations:
            if st.lb.poll() is not None:
                raise RuntimeError("%s: lockbridge exited: %s"
                                   % (st.id, tail(st.lb_log)))
        # ---- steady state
        log("  steady state, %d s" % window)
        w0 = [st.influx()[-1][0] for st in stations]
        c0 = [proc_cpu_s(st.lb.pid) for st in stations]
        s0 = [proc_cpu_s(st.sim.pid) for st in stations]
        v0, vc0, t0 = vm.rows_inserted(), vm.cpu_s(), time.time()
        time.sleep(window)
        w1 = [st.influx()[-1][0] for st in stations]
        c1 = [proc_cpu_s(st.lb.pid) for st in stations]
        s1 = [proc_cpu_s(st.sim.pid) for st in stations]
        v1, vc1, t1 = vm.rows_inserted(), vm.cpu_s(), time.time()
        el = t1 - t0
        per = []
        for k, st in enumerate(stations):
            per.append({"station": st.id,
                        "points_per_s": (w1[k] - w0[k]) / el,
                        "cpu_cores": (c1[k] - c0[k]) / el,
                        "rss_kb": proc_status_kb(st.lb.pid, "VmRSS")})
        res["bridges"] = per
        res["points_per_s"] = sum(b["points_per_s"] for b in per)
        res["vm_rows_per_s"] = (v1 - v0) / el
        res["vm_cpu_cores"] = (vc1 - vc0) / el
        res["sim_cpu_cores"] = sum(b - a for a, b in zip(s0, s1)) / el
        # The same window by the points' own timestamps, counted by a
        # query once the last batches are in (batch_age + about 1 s).
        time.sleep(3)
        n_rows = vm.count('{db="%s"}' % SCALE_DB, el, t1)
        res["vm_rows_window_per_s"] = None if n_rows is None else n_rows / el
        # ---- delay
        log("  end-to-end delay, %d probes" % probes)
        fr, fs = scale_delay(vm, stations, probes)
        res["delay"] = {"samples": len(fr), "of": probes,
                        "from_response_p50_ms": pctl(fr, 0.5),
                        "from_response_p99_ms": pctl(fr, 0.99),
                        "from_response_max_ms": fr[-1] if fr else None,
                        "from_set_p50_ms": pctl(fs, 0.5),
                        "from_set_p99_ms": pctl(fs, 0.99)}
        # ---- outage
        log("  outage: victoria-metrics stopped for %d s" % outage)
        vm.stop()
        t_out = time.time()
        time.sleep(outage)
        vm.start()
        t_back = time.time()
        log("  victoria-metrics back after %.1f s; draining" % (t_back - t_out))
        drained = {}
        end = t_back + 600
        while len(drained) < n and time.time() < end:
            for st in stations:
                lines = st.influx()
                if st.id not in drained and lines and lines[-1][2] == 0 and \
                        time.time() - t_back > 1.5:
                    drained[st.id] = time.time() - t_back
            time.sleep(0.25)
        for k, st in enumerate(stations):
            lines = st.influx()
            per[k]["spool_peak_bytes"] = max(x[3] for x in lines)
            per[k]["spool_peak_points"] = max(x[2] for x in lines)
            per[k]["drain_s"] = drained.get(st.id)
        res["outage_measured_s"] = t_back - t_out
        res["drain_s"] = max(drained.values()) if len(drained) == n else None
        peak = [b["spool_peak_bytes"] for b in per]
        res["spool_peak_bytes_max"] = max(peak)
        res["spool_bytes_per_hour_per_station"] = \
            sum(peak) / n * 3600.0 / res["outage_measured_s"]
        time.sleep(3)
        # ---- nothing missing
        log("  stopping the bridges; checking every sample")
        for k, st in enumerate(stations):
            st.close()
            lines = st.influx()
            per[k]["written"] = lines[-1][0]
            per[k]["left_spooled"] = lines[-1][2]
            per[k]["history_written"] = st.history_written()
        missing = {}
        want = {}
        for st in stations:
            want.update(st.history_samples())
        end = time.time() + 40
        while True:
            missing.clear()
            got = vm.export('{db="%s",__name__!~".*_q"}' % SCALE_DB,
                            t_run - 60)
            for key, ms in want.items():
                have = set(got.get(key, ([], []))[0])
                lost = ms - have
                if lost:
                    missing.setdefault(key[1], []).append(
                        (key[0], len(lost)))
            if not missing or time.time() > end:
                break
            time.sleep(1)
        for k, st in enumerate(stations):
            per[k]["history_numeric"] = sum(
                len(v) for key, v in want.items() if key[1] == st.id)
            per[k]["vm_numeric"] = sum(
                len(v[0]) for key, v in got.items() if key[1] == st.id)
            per[k]["missing"] = sum(c for _, c in missing.get(st.id, []))
        res["missing_total"] = sum(b["missing"] for b in per)
        res["missing_example"] = {k: v[:3] for k, v in
                                  list(missing.items())[:3]}
        res["written_total"] = sum(b["written"] for b in per)
        res["numeric_total"] = sum(b["history_numeric"] for b in per)
        res["run_s"] = time.time() - t_run
        return res
    except (RuntimeError, OSError, ValueError) as e:
        res["skipped"] = str(e)
        log("  scale: %s" % e)
        return res
    finally:
        for st in stations:
            st.close()
        if vm:
            vm.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def scale_targets(sc):
    if not sc:
        return []
    if sc.get("skipped"):
        return [{"name": "scale", "value": None, "pass": None,
                 "text": "scale: %s" % sc["skipped"]}]
    d = sc.get("delay", {})
    cpu = [b["cpu_cores"] for b in sc["bridges"]]
    rss = [b["rss_kb"] for b in sc["bridges"]]
    return [
        {"name": "scale_points_per_s", "value": sc["points_per_s"],
         "pass": None,
         "text": "scale: %d stations into one VictoriaMetrics: %.0f points/s "
         "(%.0f rows/s by its own count); a bridge %.3f-%.3f cores, "
         "%.1f-%.1f MB RSS" % (sc["stations"], sc["points_per_s"],
                               sc["vm_rows_per_s"], min(cpu), max(cpu),
                               min(rss) / 1024.0, max(rss) / 1024.0)},
        {"name": "scale_delay_p99_ms", "value": d.get("from_response_p99_ms"),
         "pass": None,
         "text": "scale: Modbus response to queryable p50 %s ms, p99 %s ms "
         "(batch_age %s; %d of %d probes)"
         % (fmt(d.get("from_response_p50_ms"), ".0f"),
            fmt(d.get("from_response_p99_ms"), ".0f"), sc["batch_age"],
            d.get("samples", 0), d.get("of", 0))},
        {"name": "scale_nothing_missing", "value": sc["missing_total"],
         "pass": sc["missing_total"] == 0 and sc.get("drain_s") is not None,
         "text": "scale: after a %.0f s outage every spool drained in %s s "
         "(peak %.0f kB); samples missing in VictoriaMetrics: %d of %d"
         % (sc["outage_measured_s"], fmt(sc.get("drain_s"), ".1f"),
            sc["spool_peak_bytes_max"] / 1024.0, sc["missing_total"],
            sc["numeric_total"])}]


def print_scale_table(sc):
    if not sc:
        return
    print("\nMany stations, one VictoriaMetrics (issue 11)")
    if sc.get("skipped"):
        print("  skipped: %s" % sc["skipped"])
        return
    # written: the influx writer's points; history: the embedded
    # history's samples (the same stream); numeric: its good numeric
    # samples, each of which must be in the store (it holds 5-15 more a
    # station: samples the export skips here, not traced further)
    print("  %-8s %8s %6s %6s %10s %7s %8s %8s %8s %8s %7s"
          % ("station", "points/s", "cores", "RSS MB", "spool peak",
             "drain s", "written", "history", "numeric", "in store",
             "missing"))
    for b in sc["bridges"]:
        print("  %-8s %8.1f %6.3f %6.1f %7.0f kB %7s %8d %8s %8d %8d %7d"
              % (b["station"], b["points_per_s"], b["cpu_cores"],
                 b["rss_kb"] / 1024.0, b["spool_peak_bytes"] / 1024.0,
                 fmt(b.get("drain_s"), ".1f"), b["written"],
                 b["history_written"], b["history_numeric"], b["vm_numeric"],
                 b["missing"]))
    d = sc["delay"]
    print("  total %.0f points/s (VictoriaMetrics took %.0f rows/s, %s rows/s"
          " by a count query over the window, %.2f cores; the lock-sims "
          "%.2f cores)"
          % (sc["points_per_s"], sc["vm_rows_per_s"],
             fmt(sc.get("vm_rows_window_per_s"), ".0f"), sc["vm_cpu_cores"],
             sc["sim_cpu_cores"]))
    print("  delay, Modbus response to queryable: p50 %s ms, p99 %s ms, max "
          "%s ms (from the set: p50 %s, p99 %s; %d probes)"
          % (fmt(d["from_response_p50_ms"], ".0f"),
             fmt(d["from_response_p99_ms"], ".0f"),
             fmt(d["from_response_max_ms"], ".0f"),
             fmt(d["from_set_p50_ms"], ".0f"), fmt(d["from_set_p99_ms"], ".0f"),
             d["samples"]))
    print("  outage %.0f s: spool %.0f kB/h per station; all drained in %s s;"
          " %d of %d numeric samples missing"
          % (sc["outage_measured_s"],
             sc["spool_bytes_per_hour_per_station"] / 1024.0,
             fmt(sc.get("drain_s"), ".1f"), sc["missing_total"],
             sc["numeric_total"]))


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def print_table(res):
    hdr = "%-5s %-18s %10s %12s %10s %14s %8s  %s" % (
        "PLCs", "client", "req/s", "regs/s", "CPU s/10k",
        "late p50/p99µs", "RSS MB", "note")
    if res["runs"]:
        log("")
        log(hdr)
        log("-" * len(hdr))
    for n, run in res["runs"].items():
        rows = [("bridge (poll)", run.get("bridge_poll"), ""),
                ("bare libmodbus", run.get("bare"), "ceiling"),
                ("pymodbus", run.get("pymodbus"), ""),
                ("mbpoll", run.get("mbpoll"), "125 regs/poll, 10 ms min"),
                ("bridge (cadence)", run.get("bridge_cadence"),
                 "%d ms period, %.0f s" % (run.get("cadence_ms", CADENCE_MS),
                                           run.get("cadence_seconds", 0)))]
        for name, r, note in rows:
            if r is None or "skipped" in (r or {}):
                log("%-5s %-18s %s" % (n, name, (r or {}).get(
                    "skipped", "skipped")))
                continue
            if r.get("processes", 1) > 1:
                note = (note + "; " if note else "") + \
                    "RSS summed over %d processes" % r["processes"]
            if r.get("capped"):
                note = (note + "; " if note else "") + \
                    "capped at %d processes" % r["processes"]
            late = "-"
            if name == "bridge (cadence)" and \
                    r.get("late_p50_us") is not None:
                late = "%.0f/%.0f" % (r["late_p50_us"], r["late_p99_us"])
            rss = r.get("rss_kb")
            log("%-5s %-18s %10s %12s %10s %14s %8s  %s" % (
                n, name, fmt(r.get("req_per_s"), ".0f"),
                fmt(r.get("regs_per_s"), ".0f"),
                fmt(r.get("cpu_s_per_10k"), ".3f"), late,
                fmt(rss / 1024.0 if rss else None, ".1f"), note))
        c = run.get("clock")
        if c:
            log("%-5s %-18s %10s %12s %10s %14s %8s  %s" % (
                n, "clock_nanosleep", "", "", "",
                "%.0f/%.0f" % (c["p50_us"], c["p99_us"]), "",
                "1 ms absolute deadlines, alongside cadence"))
    print_ts_table(res.get("timeseries", {}))
    print_web_table(res.get("web"))
    print_page_table(res.get("page"))
    print_alarm_table(res.get("alarm"))
    print_notify_table(res.get("notify"))
    print_scale_table(res.get("scale"))
    log("")
    log("targets:")
    for t in res["targets"]:
        status = {True: "PASS", False: "FAIL", None: "n/a "}[t["pass"]]
        log("  %s  %s" % (status, t["text"]))


def si(v, unit=""):
    """12345678 -> '12.3 M'."""
    if v is None:
        return "-"
    for div, p in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= div:
            return ("%.2f %s %s" % (v / div, p, unit)).strip()
    return "%.0f %s" % (v, unit) if unit else "%.0f" % v


DB_NAMES = {"influxdb": "InfluxDB 1.x", "victoriametrics": "VictoriaMetrics"}


def ts_rows(ts):
    """(row, measured, baseline, ratio, target, pass) for the table."""
    rows = []
    lp = ts.get("lineproto", False)
    if lp is not False:
        if lp:
            v = lp.get("lines_per_s")
            rows.append(("line protocol, 1 core", si(v, "lines/s"),
                         "snprintf " + si(lp.get("snprintf_lines_per_s"),
                                          "lines/s"),
                         fmt(lp.get("ratio"), ".2f"),
                         ">= 5 M lines/s", v >= TARGET_LP_LINES))
        else:
            rows.append(("line protocol, 1 core", "missing", "", "", "", None))
    inf = ts.get("influx")
    if inf:
        for kind in ("influxdb", "victoriametrics"):
            d = inf.get(kind) or {"skipped": inf.get("skipped", "not run")}
            name = "bridge -> " + DB_NAMES[kind]
            if "skipped" in d:
                rows.append((name, "skipped: " + d["skipped"][:60], "", "",
                             "", None))
                continue
            b = d.get("bridge") or {}
            c = d.get("ceiling") or {}
            ok = d.get("verified")
            r = d.get("ratio")
            rows.append((name, si(b.get("points_per_s"), "pts/s")
                         if b else "missing",
                         "ceiling " + si(c.get("points_per_s"), "pts/s"),
                         fmt(r, ".2f"), ">= 0.90 of ceiling",
                         None if r is None else (r >= TARGET_TS_RATIO and
                                                 bool(ok))))
    h = ts.get("history", False)
    if h is not False:
        if not h:
            rows.append(("history", "missing (lb-hist-bench)", "", "", "",
                         None))
        else:
            rows.append(("history insert", si(h.get("insert_per_s"),
                                              "samples/s"),
                         "", "", "", None))
            src = h.get("source", {})
            for k, label in (("1h", "1 hour"), ("1d", "1 day"),
                             ("30d", "30 days"), ("1y", "1 year")):
                rows.append(("history query %s" % label,
                             "%s ms" % fmt(h.get("query_ms", {}).get(k),
                                           ".2f"),
                             "from %s, %s pts" % (
                                 src.get(k, "?"),
                                 h.get("points", {}).get(k, "?")),
                             "", "", None))
            v = h.get("query_ms_30d_1000_buckets")
            rows.append(("history 30 d, 1000 buckets", "%s ms" % fmt(v, ".2f"),
                         "from %s, %s pts" % (
                             src.get("30d_1000_buckets", "?"),
                             h.get("points", {}).get("30d_1000_buckets", "?")),
                         "", "< 100 ms",
                         None if v is None else v < TARGET_HIST_30D_MS))
    return rows


def print_ts_table(ts):
    rows = ts_rows(ts)
    if not rows:
        return
    hdr = "%-28s %-22s %-22s %6s %-20s %s" % (
        "time series", "measured", "baseline / ceiling", "ratio", "target",
        "pass")
    log("")
    log(hdr)
    log("-" * len(hdr))
    for name, meas, base, ratio, tgt, ok in rows:
        log("%-28s %-22s %-22s %6s %-20s %s" % (
            name, meas, base, ratio, tgt,
            "" if not tgt else {True: "PASS", False: "FAIL",
                                None: "n/a"}[ok]))
    inf = ts.get("influx") or {}
    for kind in ("influxdb", "victoriametrics"):
        d = inf.get(kind) or {}
        if "ceiling_samples" in d:
            b = d.get("bridge") or {}
            log("  %s: ceiling %s / %s pts/s before / after; stored counts "
                "%s; bridge CPU %s s, database CPU %s s (bridge run)" % (
                    DB_NAMES[kind],
                    si(d["ceiling_samples"][0]["points_per_s"]),
                    si(d["ceiling_samples"][1]["points_per_s"]),
                    "verified" if d.get("verified") else "NOT VERIFIED",
                    fmt(b.get("cpu_s"), ".2f"), fmt(b.get("db_cpu_s"),
                                                     ".2f")))
    if inf.get("influxdb", {}).get("ceiling_samples"):
        log("  ceiling client CPU (python, pre-encoded): %s s per run"
            % " / ".join(fmt(s.get("cpu_s"), ".2f") for k in
                         ("influxdb", "victoriametrics")
                         for s in inf.get(k, {}).get("ceiling_samples", [])))
    if inf:
        log("  points = tag values (%d PLCs x %d float fields per line, "
            "%d points per request)" % (TS_PLCS, TS_FIELDS, TS_BATCH))


def ts_targets(ts):
    out = []
    lp = ts.get("lineproto", False)
    if lp is not False:
        v = (lp or {}).get("lines_per_s")
        out.append({"name": "lineproto_lines_per_s", "value": v,
                    "pass": None if v is None else v >= TARGET_LP_LINES,
                    "text": "line protocol %s lines/s per core (>= 5 M)%s"
                    % (si(v), "" if lp else ": lb-lp-bench missing")})
    inf = ts.get("influx")
    if inf:
        for kind in ("influxdb", "victoriametrics"):
            d = inf.get(kind) or {}
            v = d.get("ratio")
            ok = None if v is None else v >= TARGET_TS_RATIO and \
                bool(d.get("verified"))
            why = d.get("skipped") or inf.get("skipped") or \
                ("" if d.get("verified") else "point counts not verified")
            out.append({"name": "%s_vs_ceiling" % kind, "value": v,
                        "verified": d.get("verified"), "pass": ok,
                        "text": "bridge/ceiling into %s %s (>= %.2f)%s"
                        % (DB_NAMES[kind], fmt(v, ".3f"), TARGET_TS_RATIO,
                           ": " + why if why else "")})
    h = ts.get("history", False)
    if h is not False:
        v = (h or {}).get("query_ms_30d_1000_buckets")
        out.append({"name": "history_30d_query_ms", "value": v,
                    "pass": None if v is None else v < TARGET_HIST_30D_MS,
                    "text": "history query, 30 days of 1 Hz in 1,000 buckets: "
                    "%s ms (< 100)%s" % (fmt(v, ".1f"), "" if h else
                                         ": lb-hist-bench missing")})
    return out


def targets(res):
    out = []
    for n, run in res["runs"].items():
        ra = res["ratios"][n]
        v = ra.get("throughput_vs_bare")
        out.append({"name": "throughput_vs_bare_%s" % n, "value": v,
                    "pass": None if v is None else v >= TARGET_RATIO,
                    "text": "%s PLCs: bridge/bare throughput %s (>= %.2f)"
                    % (n, fmt(v, ".3f"), TARGET_RATIO)})
        v = ra.get("late_p99_minus_clock_p99_us")
        out.append({"name": "lateness_%s" % n, "value": v,
                    "pass": None if v is None else v <= TARGET_LATE_US,
                    "text": "%s PLCs: lateness p99 - clock p99 = %s µs "
                    "(<= %.0f)" % (n, fmt(v, ".0f"), TARGET_LATE_US)})
    out += ts_targets(res.get("timeseries", {}))
    out += web_targets(res.get("web"))
    out += page_targets(res.get("page"))
    out += alarm_targets(res.get("alarm"))
    out += notify_targets(res.get("notify"))
    out += scale_targets(res.get("scale"))
    if "demo" not in res:
        return out
    d = res.get("demo", {})
    v = d.get("rss_kb")
    at = d.get("rss_at_kb", {})
    marks = ", ".join("%s MB after %s s" % (fmt(at[k] / 1024.0, ".1f"), k)
                      for k in sorted(at, key=float))
    out.append({"name": "demo_rss", "value": v,
                "pass": None if v is None else v < TARGET_RSS_KB,
                "text": "demo station RSS %s (steady state < %d MB; "
                "lock-sim --speed %s)%s"
                % (marks or "-", TARGET_RSS_KB // 1024, d.get("speed", "-"),
                   "" if v else ": " + d.get("skipped", "not measured"))})
    b = d.get("bounds")
    if b:
        mb = lambda x: x / 1048576.0  # noqa: E731
        out.append({"name": "demo_rss_bound", "value": d["bound_kb"],
                    "pass": None,
                    "text": "demo station at its bounds: at most %.1f MB = "
                    "steady state + tag store queue %.1f MB + history queue "
                    "%.1f MB + history page cache %.1f MB%s (a crisis: a "
                    "disk full for hours; not the < %d MB target)"
                    % (d["bound_kb"] / 1024.0, mb(b["tagstore_queue"]),
                       mb(b["history_queue"]), mb(b["history_cache"]),
                       " + influx queue %.1f MB" % mb(b["influx_queue"])
                       if b["influx_configured"] else
                       " (no influx section; with one, + %.1f MB)"
                       % mb(b["influx_queue"]),
                       TARGET_RSS_KB // 1024)})
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--quick", action="store_true",
                    help="1 and 10 PLCs, 1 s each; web: 50 clients, 3 s; "
                    "page: 3 runs, a soak of 3,000 frames; notify: 40 "
                    "activations, a 4 s flood; scale: 5 stations, a 15 s window, "
                    "a 30 s outage")
    ap.add_argument("--build", default=os.environ.get("LB_BUILD", "build"))
    ap.add_argument("--only", default=",".join(PARTS),
                    help="comma-separated parts: %s" % ", ".join(PARTS))
    a = ap.parse_args()
    only = set(x.strip() for x in a.only.split(",") if x.strip())
    if not only or only - set(PARTS):
        ap.error("--only takes %s" % ", ".join(PARTS))
    secs = 1.0 if a.quick else a.seconds
    # Long enough that the cadence p99 rests on hundreds of cycles even
    # for one PLC at 100 ms.
    cad_secs = 2.0 if a.quick else max(secs, 10.0)
    ts_secs = 1.5 if a.quick else secs
    sizes = [1, 10] if a.quick else [1, 10, 50]
    build = os.path.abspath(a.build)
    outdir = os.path.join(build, "bench")
    os.makedirs(outdir, exist_ok=True)

    def binary(name):
        path = os.path.join(build, name)
        if os.access(path, os.X_OK):
            return path
        log("bench: %s not built: its rows are skipped" % path)
        return None

    bare = binary("lb-bare")
    lb_bench = binary("lb-bench")
    lp_bench = binary("lb-lp-bench") if "lp" in only else None
    hist_bench = binary("lb-hist-bench") if "hist" in only else None
    influx_bench = binary("lb-influx-bench") if "influx" in only else None
    sim_cmd = os.environ.get("LB_BENCH_SIM")
    sim_cmd = [sim_cmd] if sim_cmd else [os.path.join(build, "lock-sim")]
    have_mbpoll = subprocess.run(["sh", "-c", "command -v mbpoll"],
                                 stdout=subprocess.DEVNULL).returncode == 0
    res = {"seconds": secs, "registers_per_plc": REGS,
           "cadence_ms": CADENCE_MS, "cadence_seconds": cad_secs,
           "poll_ms": POLL_MS, "quick": a.quick, "parts": sorted(only),
           "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
           "host": {"cpus": os.cpu_count(), "kernel": platform.release(),
                    "python": sys.version.split()[0]},
           "runs": {}, "ratios": {}}
    try:
        if "modbus" not in only:
            pass
        elif not os.access(sim_cmd[0], os.X_OK):
            log("bench: simulator %s not built: nothing to poll" % sim_cmd[0])
        else:
            for n in sizes:
                res["runs"][str(n)] = run_size(n, secs, cad_secs, outdir,
                                               sim_cmd, bare, lb_bench,
                                               have_mbpoll)
        if "demo" in only:
            log("bench: demo station memory (lockbridge run, %s s)"
                % ("10" if a.quick else "30"))
            res["demo"] = bench_demo(build, sim_cmd,
                                     (3, 10) if a.quick else (5, 30), outdir)
        ts = res["timeseries"] = {}
        if "lp" in only:
            log("bench: line-protocol encoding (lb-lp-bench)")
            ts["lineproto"] = run_json([lp_bench], 120) if lp_bench else None
        if "hist" in only:
            log("bench: embedded history (lb-hist-bench%s)"
                % (" --quick" if a.quick else ""))
            ts["history"] = run_json(
                [hist_bench] + (["--quick"] if a.quick else []),
                600) if hist_bench else None
        if "influx" in only:
            ts["influx"] = bench_influx(influx_bench, ts_secs, outdir)
        if "web" in only:
            res["web"] = bench_web(build, sim_cmd, outdir, a.quick)
        if "page" in only:
            res["page"] = bench_page(build, sim_cmd, outdir, a.quick)
        if "alarm" in only:
            res["alarm"] = bench_alarm(build, sim_cmd, outdir, a.quick)
        if "notify" in only:
            res["notify"] = bench_notify(build, sim_cmd, outdir, a.quick)
        if "scale" in only:
            log("bench: %d stations into one VictoriaMetrics"
                % (5 if a.quick else 20))
            res["scale"] = bench_scale(build, sim_cmd, a.quick)
    finally:
        stop_all()

    for n, run in res["runs"].items():
        bp, ba, cad, clk = (run.get("bridge_poll"), run.get("bare"),
                            run.get("bridge_cadence"), run.get("clock"))
        ra = {}
        if run.get("round_ratios"):
            rr = sorted(run["round_ratios"])
            ra["throughput_vs_bare"] = rr[len(rr) // 2]    # median round
        elif bp and ba and ba.get("req_per_s"):
            ra["throughput_vs_bare"] = bp["req_per_s"] / ba["req_per_s"]
            ra["cpu_per_req_vs_bare"] = (
                bp["cpu_s_per_10k"] / ba["cpu_s_per_10k"]
                if bp.get("cpu_s_per_10k") and ba.get("cpu_s_per_10k")
                else None)
        if cad and clk and cad.get("late_p99_us") is not None:
            ra["late_p99_minus_clock_p99_us"] = \
                cad["late_p99_us"] - clk["p99_us"]
            ra["late_p50_minus_clock_p50_us"] = \
                cad["late_p50_us"] - clk["p50_us"]
        py = run.get("pymodbus")
        if bp and py and py.get("req_per_s"):
            ra["bridge_vs_pymodbus"] = bp["req_per_s"] / py["req_per_s"]
        res["ratios"][n] = ra
    res["targets"] = targets(res)
    path = os.path.join(outdir, "results.json")
    with open(path, "w") as f:
        json.dump(res, f, indent=1)
    print_table(res)
    log("\nresults: %s" % path)
    return 0


def run_size(n, secs, cad_secs, outdir, sim_cmd, bare, lb_bench,
             have_mbpoll):
    log("bench: %d PLC%s x %d registers, %.0f s per client"
        % (n, "" if n == 1 else "s", REGS, secs))
    base = free_port_range(n)
    ports = [base + i for i in range(n)]
    station = write_station(os.path.join(outdir, "n%d" % n), n, base,
                            POLL_MS)
    # The same PLCs on the shipped station's fast period, for the cadence
    # run: at 10 ms, 50 PLCs x 8 requests would saturate a small machine
    # and lateness would measure that, not the scheduling.
    cad_station = write_station(os.path.join(outdir, "n%d" % n, "cadence"),
                                n, base, CADENCE_MS)
    run = {"port_base": base, "station": station,
           "cadence_station": cad_station, "cadence_ms": CADENCE_MS,
           "cadence_seconds": cad_secs}
    sim_log = os.path.join(outdir, "n%d" % n, "lock-sim.log")
    sim = start_logged(sim_cmd + ["-c", station, "--registers", str(REGS),
                                  "--churn", str(CHURN)], sim_log)
    try:
        if not wait_ports(ports, sim):
            run["skipped"] = "simulator did not listen on %d..%d: %s" % (
                ports[0], ports[-1], tail(sim_log))
            log("  " + run["skipped"])
            return run
        timeout = secs + 60
        # Bare loop and bridge take turns, ROUNDS times, and the ratio is
        # the median of the rounds' ratios: this machine's speed drifts by
        # 10-20 % within a minute (shared cores), and a slow spell should
        # not land on one side only.
        bare_samples, bridge_samples, ratios = [], [], []
        for _ in range(ROUNDS if bare and lb_bench else 1):
            b = a = None
            if bare:
                b = run_json(
                    [bare, "poll", "--port-base", str(base), "--plcs", str(n),
                     "--regs", str(REGS), "--seconds", str(secs)], timeout)
                bare_samples.append(b)
            if lb_bench:
                a = derive(run_json(
                    [lb_bench, "poll", "-c", station, "--seconds", str(secs)],
                    timeout))
                bridge_samples.append(a)
            if a and b and b.get("requests") and a.get("req_per_s"):
                ratios.append(a["req_per_s"] / (b["requests"] / b["seconds"]))
        if bare:
            run["bare_samples"] = bare_samples
            run["bare"] = merge(bare_samples)
        if lb_bench:
            run["bridge_samples"] = bridge_samples
            run["bridge_poll"] = merge(bridge_samples)
        if ratios:
            run["round_ratios"] = ratios
        run["pymodbus"] = bench_pymodbus(ports, secs)
        if have_mbpoll:
            run["mbpoll"] = bench_mbpoll(ports, secs, outdir)
        else:
            run["mbpoll"] = {"skipped": "mbpoll not installed"}
        cad, clock = bench_cadence(lb_bench, bare, cad_station, cad_secs)
        run["bridge_cadence"] = cad
        run["clock"] = clock
    finally:
        stop(sim)
        _procs.remove(sim)
    return run


if __name__ == "__main__":
    # SIGTERM unwinds like Ctrl-C, so the finally blocks stop our children.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(main())
