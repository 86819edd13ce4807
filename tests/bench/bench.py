#!/usr/bin/python3
"""./run bench: poll throughput, cost and cadence of the bridge against the
ceilings (issue 2, section 6).

For 1, 10 and 50 simulated PLCs of 1,000 holding registers each, one
lock-sim serves them all on consecutive loopback ports, and in turn:
  bridge (poll)     lb-bench poll: pollers back to back, decode + tag store
  bare libmodbus    lb-bare poll: the same reads with nothing else (ceiling)
  pymodbus          one synchronous ModbusTcpClient process per PLC
  mbpoll            one mbpoll process per PLC (its minimum period is 10 ms)
  bridge (cadence)  lb-bench cadence: pollers on their 10 ms period, with
                    start-of-cycle lateness, while lb-bare clock measures
                    the machine's own clock_nanosleep lateness alongside
Then the demo station (plc-maps/station.yaml) runs under `lockbridge run`
for a few seconds to read its resident memory.

Prints a table and writes build/bench/results.json (every figure, the
ratios and the targets).  Missing binaries are skipped with a message.
Every process started here is stopped by PID in a finally block.

Usage: bench.py [--seconds S] [--quick] [--build DIR]
Environment: LB_BUILD (build directory, default build), LB_SOURCE (source
tree, default the one this file is in), LB_BENCH_SIM (simulator to run
instead of $LB_BUILD/lock-sim, same arguments).
"""

import argparse
import json
import os
import platform
import random
import re
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.environ.get("LB_SOURCE", os.path.normpath(os.path.join(HERE, "..", "..")))
PY = "/usr/bin/python3"
REGS = 1000
CADENCE_MS = 10
PYMODBUS_CAP = 10
MBPOLL_CAP = 10
TARGET_RATIO = 0.90
TARGET_LATE_US = 100.0
TARGET_RSS_KB = 20 * 1024

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


def start_logged(cmd, path):
    """A long-running server: output to a file, never to a pipe that could
    fill up and stall it."""
    with open(path, "wb") as f:
        return start(cmd, stdin=subprocess.DEVNULL, stdout=f,
                     stderr=subprocess.STDOUT)


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


def write_station(dirname, n, port_base):
    """N PLC files of REGS u16 holding registers as tags, polled every
    CADENCE_MS, and a station file listing them."""
    os.makedirs(dirname, exist_ok=True)
    files = []
    for i in range(n):
        name = "plc-%02d.yaml" % i
        lines = [
            "id: plc%02d" % i,
            "host: 127.0.0.1",
            "port: %d" % (port_base + i),
            "unit: 1",
            "timeout: 500ms",
            "poll: {fast: %dms}" % CADENCE_MS,
            "tags:",
        ]
        lines += ["  - {id: r%d, table: holding, address: %d, type: u16}"
                  % (a, a) for a in range(REGS)]
        with open(os.path.join(dirname, name), "w") as f:
            f.write("\n".join(lines) + "\n")
        files.append(name)
    path = os.path.join(dirname, "station.yaml")
    with open(path, "w") as f:
        f.write("station: {id: bench%d, name: {en: Bench %d PLCs}}\n"
                % (n, n))
        f.write("plcs: [%s]\n" % ", ".join(files))
    return path


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


def copy_demo_station(outdir):
    """Copies plc-maps/ to outdir with every PLC moved to a free port, so the
    measurement does not collide with a demo already running on 1502..."""
    src = os.path.join(SOURCE, "plc-maps")
    names = sorted(f for f in os.listdir(src) if f.endswith(".yaml"))
    texts = {}
    ports = set()
    for f in names:
        with open(os.path.join(src, f), encoding="utf-8") as fh:
            texts[f] = fh.read()
        ports.update(int(m) for m in PORT_RE.findall(texts[f]))
    base = free_port_range(len(ports)) if ports else 0
    remap = {p: base + i for i, p in enumerate(sorted(ports))}
    os.makedirs(outdir, exist_ok=True)
    for f, text in texts.items():
        text = PORT_RE.sub(lambda m: m.group(0).replace(
            m.group(1), str(remap[int(m.group(1))])), text)
        with open(os.path.join(outdir, f), "w", encoding="utf-8") as fh:
            fh.write(text)
    return os.path.join(outdir, "station.yaml"), sorted(remap.values())


def bench_demo(build, sim_cmd, secs, outdir):
    lockbridge = os.path.join(build, "lockbridge")
    if not os.path.exists(os.path.join(SOURCE, "plc-maps", "station.yaml")):
        return {"skipped": "plc-maps/station.yaml does not exist yet"}
    if not os.access(lockbridge, os.X_OK):
        return {"skipped": "%s not built" % lockbridge}
    station, ports = copy_demo_station(os.path.join(outdir, "demo"))
    sim_log = os.path.join(outdir, "demo", "lock-sim.log")
    lb_log = os.path.join(outdir, "demo", "lockbridge.log")
    sim = start_logged(sim_cmd + ["-c", station], sim_log)
    lb = None
    try:
        if not wait_ports(ports, sim):
            return {"skipped": "lock-sim did not serve the demo station: %s"
                    % tail(sim_log)}
        lb = start_logged([lockbridge, "run", "-c", station], lb_log)
        time.sleep(secs)
        if lb.poll() is not None:
            return {"skipped": "lockbridge run exited %d: %s"
                    % (lb.returncode, tail(lb_log))}
        return {"rss_kb": proc_status_kb(lb.pid, "VmRSS"),
                "hwm_kb": proc_status_kb(lb.pid, "VmHWM"),
                "seconds": secs}
    finally:
        if lb:
            stop(lb, signal.SIGINT)
        stop(sim)


# ---- report ------------------------------------------------------------

def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def print_table(res):
    hdr = "%-5s %-18s %10s %12s %10s %14s %8s  %s" % (
        "PLCs", "client", "req/s", "regs/s", "CPU s/10k",
        "late p50/p99µs", "RSS MB", "note")
    log("")
    log(hdr)
    log("-" * len(hdr))
    for n, run in res["runs"].items():
        rows = [("bridge (poll)", run.get("bridge_poll"), ""),
                ("bare libmodbus", run.get("bare"), "ceiling"),
                ("pymodbus", run.get("pymodbus"), ""),
                ("mbpoll", run.get("mbpoll"), "125 regs/poll, 10 ms min"),
                ("bridge (cadence)", run.get("bridge_cadence"),
                 "%d ms period" % CADENCE_MS)]
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
    log("")
    log("targets:")
    for t in res["targets"]:
        status = {True: "PASS", False: "FAIL", None: "n/a "}[t["pass"]]
        log("  %s  %s" % (status, t["text"]))


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
    d = res.get("demo", {})
    v = d.get("hwm_kb")
    out.append({"name": "demo_rss", "value": v,
                "pass": None if v is None else v < TARGET_RSS_KB,
                "text": "demo station peak RSS %s MB (< %d MB)%s"
                % (fmt(v / 1024.0 if v else None, ".1f"),
                   TARGET_RSS_KB // 1024,
                   "" if v else ": " + d.get("skipped", "not measured"))})
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--quick", action="store_true",
                    help="1 and 10 PLCs, 1 s each")
    ap.add_argument("--build", default=os.environ.get("LB_BUILD", "build"))
    a = ap.parse_args()
    secs = 1.0 if a.quick else a.seconds
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
    sim_cmd = os.environ.get("LB_BENCH_SIM")
    sim_cmd = [sim_cmd] if sim_cmd else [os.path.join(build, "lock-sim")]
    have_mbpoll = subprocess.run(["sh", "-c", "command -v mbpoll"],
                                 stdout=subprocess.DEVNULL).returncode == 0
    res = {"seconds": secs, "registers_per_plc": REGS,
           "cadence_ms": CADENCE_MS,
           "host": {"cpus": os.cpu_count(), "kernel": platform.release(),
                    "python": sys.version.split()[0]},
           "runs": {}, "ratios": {}}
    try:
        if not os.access(sim_cmd[0], os.X_OK):
            log("bench: simulator %s not built: nothing to poll" % sim_cmd[0])
        else:
            for n in sizes:
                res["runs"][str(n)] = run_size(n, secs, outdir, sim_cmd,
                                               bare, lb_bench, have_mbpoll)
        res["demo"] = bench_demo(build, sim_cmd, 3.0 if a.quick else 5.0,
                                 outdir)
    finally:
        stop_all()

    for n, run in res["runs"].items():
        bp, ba, cad, clk = (run.get("bridge_poll"), run.get("bare"),
                            run.get("bridge_cadence"), run.get("clock"))
        ra = {}
        if bp and ba and ba.get("req_per_s"):
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


def run_size(n, secs, outdir, sim_cmd, bare, lb_bench, have_mbpoll):
    log("bench: %d PLC%s x %d registers, %.0f s per client"
        % (n, "" if n == 1 else "s", REGS, secs))
    base = free_port_range(n)
    ports = [base + i for i in range(n)]
    station = write_station(os.path.join(outdir, "n%d" % n), n, base)
    run = {"port_base": base, "station": station}
    sim_log = os.path.join(outdir, "n%d" % n, "lock-sim.log")
    sim = start_logged(sim_cmd + ["-c", station, "--registers", str(REGS)],
                       sim_log)
    try:
        if not wait_ports(ports, sim):
            run["skipped"] = "simulator did not listen on %d..%d: %s" % (
                ports[0], ports[-1], tail(sim_log))
            log("  " + run["skipped"])
            return run
        timeout = secs + 60
        if bare:
            # The ceiling is measured after the bridge as well as before it
            # was (below), so that drift in machine load during the run
            # does not favour either side.
            run["bare_samples"] = [run_json(
                [bare, "poll", "--port-base", str(base), "--plcs", str(n),
                 "--regs", str(REGS), "--seconds", str(secs)], timeout)]
        if lb_bench:
            run["bridge_poll"] = derive(run_json(
                [lb_bench, "poll", "-c", station, "--seconds", str(secs)],
                timeout))
        if bare:
            run["bare_samples"].append(run_json(
                [bare, "poll", "--port-base", str(base), "--plcs", str(n),
                 "--regs", str(REGS), "--seconds", str(secs)], timeout))
            run["bare"] = merge(run["bare_samples"])
        run["pymodbus"] = bench_pymodbus(ports, secs)
        if have_mbpoll:
            run["mbpoll"] = bench_mbpoll(ports, secs, outdir)
        else:
            run["mbpoll"] = {"skipped": "mbpoll not installed"}
        cad, clock = bench_cadence(lb_bench, bare, station, secs)
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
