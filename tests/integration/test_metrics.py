#!/usr/bin/env python3
"""GET /metrics end to end: lock-sim -> lockbridge run (writing to
VictoriaMetrics too) -> /metrics, checked by Debian's promtool, scraped by Debian's prometheus on loopback, and the
token mode (web.metrics access: token): 401 without or with a wrong
token, 200 with the right one."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbtest  # noqa: E402

check = lbtest.Checks()
SOURCE = lbtest.SOURCE


def get(url, token=None):
    req = urllib.request.Request(url)
    if token is not None:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def samples(text):
    """{(name, frozenset(labels)): value}"""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$', line)
        if not m:
            continue
        labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"',
                                      m.group(3) or ""))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def value(s, name, **labels):
    return s.get((name, frozenset(labels.items())))


def wait_up(url, proc, timeout=30):
    end = time.time() + timeout
    while time.time() < end and proc.poll() is None:
        try:
            if get(url)[0] == 200:
                return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


def check_dashboard(names):
    path = os.path.join(SOURCE, "docker", "grafana", "lockbridge-metrics.json")
    with open(path, encoding="utf-8") as f:
        dash = json.load(f)
    exprs = []

    def walk(o):
        if isinstance(o, dict):
            for k, v in o.items():
                if k == "expr" and isinstance(v, str):
                    exprs.append(v)
                else:
                    walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)
    walk(dash)
    used = set()
    for e in exprs:
        for n in re.findall(r"\b(lockbridge_[a-z_]+)", e):
            used.add(n)
    base = set()
    for n in names:
        base.add(n)
    missing = sorted(u for u in used if u not in base)
    check(exprs and not missing,
          "every metric the Grafana dashboard's %d queries use is exported "
          "(missing: %s)" % (len(exprs), missing))


def test_last_success(url, vm):
    """Each writer's last-success gauge is the time of its last write: once
    points are in VictoriaMetrics, both are within seconds of now."""
    in_vm = lbtest.wait_for(
        lambda: bool(vm.export('{__name__=~"levels_.*"}')), 20, step=0.5)
    check(in_vm, "the bridge's points reached VictoriaMetrics")
    name = "lockbridge_writer_last_success_timestamp_seconds"
    s = samples(get(url)[2])
    now = time.time()
    got = {w: value(s, name, writer=w) for w in ("history", "influx")}
    check(all(v is not None and abs(now - v) < 5 for v in got.values()),
          "%s{writer=history|influx} within 5 s of now (%s, now %.3f)"
          % (name, got, now))


def test_prometheus(port, plcs, work):
    pport = lbtest.free_port()
    cfg = os.path.join(work, "prometheus.yml")
    with open(cfg, "w") as f:
        f.write("global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
                "scrape_configs:\n"
                "  - job_name: lockbridge\n"
                "    static_configs: [{targets: ['127.0.0.1:%d']}]\n" % port)
    log = open(os.path.join(work, "prometheus.log"), "w")
    p = subprocess.Popen(["prometheus", "--config.file=" + cfg,
                          "--storage.tsdb.path=" + os.path.join(work, "tsdb"),
                          "--web.listen-address=127.0.0.1:%d" % pport],
                         stdout=log, stderr=log)
    try:
        url = ("http://127.0.0.1:%d/api/v1/query?query="
               "lockbridge_plc_requests_total" % pport)
        got = {}
        end = time.time() + 60
        while time.time() < end and p.poll() is None:
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    res = json.load(r)["data"]["result"]
                got = {x["metric"].get("plc"): float(x["value"][1])
                       for x in res}
                if set(got) == set(plcs) and all(v > 0 for v in got.values()):
                    break
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.5)
        check(set(got) == set(plcs) and all(v > 0 for v in got.values()),
              "prometheus scraped the bridge: one requests series per PLC, "
              "each > 0 (%s)" % got)
    finally:
        p.terminate()
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        log.close()


def test_token(sim, work):
    port = lbtest.free_port()
    # beside the sim's copy: the station names the PLC files it includes
    station = os.path.join(os.path.dirname(sim.station), "token.yaml")
    with open(sim.station, encoding="utf-8") as f:
        text = f.read()
    text = re.sub(r"(?m)^web:.*(\n[ \t]+.*)*\n?", "", text)
    with open(station, "w", encoding="utf-8") as f:
        f.write(text)
    lbtest.add_station_keys(station, "web: {listen: 127.0.0.1:%d, metrics: "
                            "{access: token, token_env: LB_TEST_METRICS}}"
                            % port)
    env = dict(os.environ, LB_TEST_METRICS="s3cret-token")
    d = lbtest.Daemon(["-c", station, "--summary", "0"], env=env, cwd=work,
                      map_web=True)
    try:
        url = "http://127.0.0.1:%d/metrics" % port
        up = wait_up("http://127.0.0.1:%d/healthz" % port, d.proc)
        check(up, "the token station's bridge serves")
        st, h, _ = get(url)
        check(st == 401 and h.get("WWW-Authenticate", "").startswith("Bearer"),
              "access: token: 401 with WWW-Authenticate: Bearer without a "
              "token, even on loopback (%s)" % st)
        st, _, _ = get(url, "wrong-token!")
        check(st == 401, "a wrong token: 401 (%s)" % st)
        st, _, body = get(url, "s3cret-token")
        check(st == 200 and "lockbridge_plc_requests_total" in body,
              "the right token: 200 with the metrics (%s)" % st)
        d.stop_checked(check)
        d = None
    finally:
        if d:
            d.kill9()


def main():
    work = tempfile.mkdtemp(prefix="lbtest-metrics-")
    sim = lbtest.Sim()
    vm = d = None
    try:
        vm = lbtest.Victoria()
        lbtest.add_station_keys(sim.station, "influx: {url: %s, database: "
                                "lock, batch_age: 250ms}" % vm.url)
        port = lbtest.free_port()
        d = lbtest.Daemon(["-c", sim.station, "--summary", "0", "--web",
                           "127.0.0.1:%d" % port], cwd=work)
        url = "http://127.0.0.1:%d/metrics" % port
        check(wait_up(url, d.proc), "the bridge serves /metrics")
        time.sleep(1.5)
        st, h, text = get(url)
        check(st == 200 and h.get("Content-Type") ==
              "text/plain; version=0.0.4; charset=utf-8",
              "200, text/plain; version=0.0.4 (%s %s)"
              % (st, h.get("Content-Type")))
        p = subprocess.run(["promtool", "check", "metrics"], input=text,
                           capture_output=True, text=True)
        check(p.returncode == 0 and not p.stdout.strip() and
              not p.stderr.strip(),
              "promtool check metrics: exit 0, no lint warnings (%d %s%s)"
              % (p.returncode, p.stdout[:500], p.stderr[:500]))
        s1 = samples(text)
        plcs = sorted(sim.plcs)
        got = sorted(dict(l)["plc"] for (n, l) in s1
                     if n == "lockbridge_plc_requests_total")
        check(got == plcs, "every PLC of the station has requests_total "
              "(%s vs %s)" % (got, plcs))
        for plc in plcs:
            b = sorted(((float("inf") if dict(l)["le"] == "+Inf"
                         else float(dict(l)["le"])), v)
                       for (n, l), v in s1.items()
                       if n == "lockbridge_plc_response_seconds_bucket" and
                       dict(l)["plc"] == plc)
            cnt = value(s1, "lockbridge_plc_response_seconds_count", plc=plc)
            cum = all(b[i][1] <= b[i + 1][1] for i in range(len(b) - 1))
            check(len(b) > 2 and cum and b[-1][0] == float("inf") and
                  b[-1][1] == cnt and cnt > 0,
                  "%s: response-time buckets cumulative, _count = +Inf "
                  "bucket = %s" % (plc, cnt))
        time.sleep(1.5)
        s2 = samples(get(url)[2])
        check(all(value(s2, "lockbridge_plc_requests_total", plc=p) >
                  value(s1, "lockbridge_plc_requests_total", plc=p)
                  for p in plcs),
              "requests_total grows between two scrapes")
        check(value(s2, "lockbridge_build_info", version="0.1.0") == 1,
              "lockbridge_build_info{version} 1")
        before = value(s2, "lockbridge_alarms", state="active-unack",
                       priority="high") or 0
        sim.set("hpu.upper_pump1_fault", True)
        after = before
        end = time.time() + 20
        while time.time() < end and after <= before:
            time.sleep(0.3)
            after = value(samples(get(url)[2]), "lockbridge_alarms",
                          state="active-unack", priority="high") or 0
        sim.unset("hpu.upper_pump1_fault")
        check(after == before + 1,
              "an alarm raised through lock-sim shows in lockbridge_alarms"
              "{state=\"active-unack\",priority=\"high\"} (%s -> %s)"
              % (before, after))
        text2 = get(url)[2]
        names = set()
        for m in re.finditer(r"(?m)^# TYPE (\S+) (\S+)$", text2):
            names.add(m.group(1))
            if m.group(2) == "histogram":
                names |= {m.group(1) + x for x in ("_bucket", "_sum",
                                                   "_count")}
        check_dashboard(names)
        test_last_success(url, vm)
        test_prometheus(port, plcs, work)
        d.stop_checked(check)
        d = None
        test_token(sim, work)
    finally:
        lbtest.tear_down(work, d, sim, vm)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
