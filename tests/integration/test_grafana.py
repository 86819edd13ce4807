#!/usr/bin/env python3
"""`lockbridge grafana`: the station's Grafana dashboard built from the maps.

1. docker/grafana/station.json is exactly what the command prints for
   plc-maps/station.yaml now (so the shipped file cannot go stale), and
   the usage error of a bad --datasource-uid.
2. The structure Grafana needs: uid, title, schemaVersion, the `station`
   template variable, panels with ids and gridPos on the 24-column grid
   without overlaps, the data source uid on every panel and target (and
   --datasource-uid changing every one), a row per enabled PLC.
3. End to end, which is the proof in place of Grafana (not packaged in
   Debian): lock-sim -> lockbridge run -> Debian's VictoriaMetrics on
   loopback; every panel target of the shipped file, with $station as
   Grafana substitutes it, run against /api/v1/query_range returns at
   least one series with data, so a panel whose query names a wrong metric
   fails; the variable's label_values finds the station; every tag the
   bridge reads with a number or boolean value is in exactly one target.
"""
import json
import os
import re
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbtest  # noqa: E402

check = lbtest.Checks()
SOURCE = lbtest.SOURCE
SHIPPED = os.path.join(SOURCE, "docker", "grafana", "station.json")
DS_UID = "lockbridge-tsdb"


def panels_of(dash):
    """Every panel, those inside collapsed rows too."""
    out = []
    for p in dash.get("panels", []):
        out.append(p)
        out.extend(p.get("panels", []))
    return out


def targets_of(dash):
    return [(p, t) for p in panels_of(dash) for t in p.get("targets", [])]


def metric_of(expr):
    """The metric name a target's selector reads."""
    m = re.match(r'^\{__name__="((?:[^"\\]|\\.)*)"', expr)
    if m:
        return m.group(1).replace('\\"', '"').replace("\\\\", "\\")
    m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)", expr)
    return m.group(1) if m else None


def test_shipped():
    rc, out, err = lbtest.run_bridge(["grafana", "-c",
                                      "plc-maps/station.yaml"])
    with open(SHIPPED, encoding="utf-8") as f:
        shipped = f.read()
    check(rc == 0 and out == shipped,
          "docker/grafana/station.json is what `lockbridge grafana -c "
          "plc-maps/station.yaml` prints now (rc %d, %d vs %d bytes%s)"
          % (rc, len(out), len(shipped),
             "" if out == shipped else "; regenerate it: "
             "build/lockbridge grafana -c plc-maps/station.yaml > "
             "docker/grafana/station.json"))
    rc, out, err = lbtest.run_bridge(["grafana", "-c",
                                      "plc-maps/station.yaml",
                                      "--datasource-uid", "no spaces"])
    check(rc == 64 and out == "" and "--datasource-uid: 'no spaces' is not "
          "a Grafana uid" in err,
          "a bad --datasource-uid: exit 64, nothing printed (%d %r)"
          % (rc, err.strip()[:120]))
    rc, out, err = lbtest.run_bridge(["grafana", "-c",
                                      "plc-maps/station.yaml",
                                      "--datasource-uid", "my-vm_2"])
    other = json.loads(out) if rc == 0 else {}
    uids = {json.dumps(o.get("datasource"))
            for o in panels_of(other) + [t for _, t in targets_of(other)]
            if o.get("type") != "row"}
    uids |= {json.dumps(v.get("datasource"))
             for v in other.get("templating", {}).get("list", [])}
    check(uids == {json.dumps({"type": "prometheus", "uid": "my-vm_2"})},
          "--datasource-uid my-vm_2: every panel, target and the variable "
          "use it (%s)" % sorted(uids)[:3])
    return json.loads(shipped)


def overlaps(panels):
    seen = {}
    for p in panels:
        g = p["gridPos"]
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                if (x, y) in seen:
                    return "%s and %s" % (seen[(x, y)], p["id"])
                seen[(x, y)] = p["id"]
    return None


def test_structure(dash, plcs):
    check(dash.get("uid") == "lockbridge-lock1" and dash.get("title") ==
          "Example Ship Lock" and dash.get("schemaVersion") == 39,
          "uid lockbridge-lock1, the station's name as title, schemaVersion "
          "39 (%s %s %s)" % (dash.get("uid"), dash.get("title"),
                             dash.get("schemaVersion")))
    var = [v for v in dash.get("templating", {}).get("list", [])
           if v.get("name") == "station"]
    check(len(var) == 1 and var[0].get("type") == "query" and
          var[0].get("datasource", {}).get("uid") == DS_UID and
          var[0].get("multi") and var[0].get("includeAll") and
          var[0].get("current", {}).get("value") == ["lock1"],
          "templating: a multi-value `station` query variable on %s, lock1 "
          "selected" % DS_UID)
    ps = panels_of(dash)
    grid = all(isinstance(p.get("gridPos", {}).get(k), int)
               for p in ps for k in ("h", "w", "x", "y")) and \
        all(p["gridPos"]["x"] + p["gridPos"]["w"] <= 24 and
            p["gridPos"]["h"] > 0 for p in ps)
    check(ps and grid, "every one of %d panels has a gridPos inside the "
          "24-column grid" % len(ps))
    check(grid and overlaps(ps) is None, "no two panels overlap (%s)"
          % (overlaps(ps) if grid else "-"))
    ids = [p.get("id") for p in ps]
    check(len(set(ids)) == len(ids) and all(isinstance(i, int) for i in ids),
          "panel ids unique integers")
    data = [p for p in ps if p.get("type") != "row"]
    check(all(p.get("type") in ("timeseries", "state-timeline") and
              p.get("title") and
              p.get("datasource") == {"type": "prometheus", "uid": DS_UID} and
              p.get("targets") for p in data),
          "every data panel (%d) is a time series or state timeline with a "
          "title, data source %s and targets" % (len(data), DS_UID))
    ts = targets_of(dash)
    check(all(t.get("datasource") == {"type": "prometheus", "uid": DS_UID}
              and t.get("refId") and 'station=~"$station"' in t.get("expr", "")
              for _, t in ts),
          "every target (%d) has the data source, a refId and selects "
          "station=~\"$station\"" % len(ts))
    check(all(len({t["refId"] for t in p["targets"]}) == len(p["targets"])
              for p in data), "refIds unique within each panel")
    rows = [p["title"] for p in ps if p.get("type") == "row"]
    check(sorted(re.sub(r".*\((\w+)\)$", r"\1", r) for r in rows) ==
          sorted(plcs), "a row per PLC (%s)" % rows)
    states = [p for p in data if p["title"] == "States"]
    check(states and all(
        len(p["fieldConfig"]["overrides"]) == len(p["targets"]) and
        all(o["properties"][0]["value"][0]["options"]
            for o in p["fieldConfig"]["overrides"]) for p in states),
          "each States panel maps every tag's values to its labels")
    lv = [p for p in data if any(metric_of(t["expr"]) ==
                                 "levels_upstream_level"
                                 for t in p["targets"])]
    check(len(lv) == 1 and lv[0]["fieldConfig"]["defaults"].get("unit") ==
          "lengthm" and len(lv[0]["targets"]) >= 6,
          "the levels in metres share one panel, unit lengthm (the map's m)")


def query_range(vm, expr, start, end):
    q = urllib.parse.urlencode({"query": expr, "start": "%.3f" % start,
                                "end": "%.3f" % end, "step": "5"})
    st, body = lbtest.http("GET", vm.url + "/api/v1/query_range?" + q,
                           timeout=30)
    if st != 200:
        return None, "HTTP %d %s" % (st, body[:200])
    res = json.loads(body)["data"]["result"]
    return [r for r in res if r.get("values")], None


def test_queries(dash, sim, vm, t0):
    ts = targets_of(dash)
    failed = {}

    def all_answer():
        now = time.time()
        failed.clear()
        for p, t in ts:
            expr = t["expr"].replace("$station", "lock1")
            res, err = query_range(vm, expr, t0 - 60, now + 5)
            if not res:
                failed[expr] = err or "no series with data"
        return not failed
    ok = lbtest.wait_for(all_answer, 60, step=2)
    check(ok, "every one of %d targets, $station=lock1, returns a series "
          "with data from VictoriaMetrics' query_range (%d failing: %s)"
          % (len(ts), len(failed), list(failed.items())[:3]))
    # a multi-value selection is rendered as a regex alternation
    expr = ts[0][1]["expr"].replace("$station", "(lock1|lock9)")
    res, err = query_range(vm, expr, t0 - 60, time.time() + 5)
    check(res and all(r["metric"].get("station") == "lock1" for r in res),
          "$station as (lock1|lock9) reads lock1 (%s)" % (err or len(res)))
    res, err = query_range(vm, ts[0][1]["expr"].replace("$station", "lock9"),
                           t0 - 60, time.time() + 5)
    check(res == [], "$station=lock9 (no such station) reads nothing: the "
          "station matcher is effective (%s)" % (err or res))
    # the variable: Grafana answers label_values(m, station) from the series
    var = dash["templating"]["list"][0]["query"]["query"]
    m = re.match(r"^label_values\((.*), station\)$", var)
    st, body = lbtest.http("GET", vm.url + "/api/v1/series?" +
                           urllib.parse.urlencode({"match[]": m.group(1)
                                                   if m else "x",
                                                   "start": "%d" % (t0 - 60)}))
    got = sorted({s.get("station") for s in json.loads(body)["data"]}) \
        if st == 200 else st
    check(got == ["lock1"], "the variable's %s lists the station (%s)"
          % (var, got))
    # completeness: every tag with a number or boolean value has a target
    rc, out, err = lbtest.run_bridge(["read", "-c", sim.station, "--json"])
    want = sorted(r["tag"].replace(".", "_", 1) for r in json.loads(out)
                  if not isinstance(r["value"], str)) if rc == 0 else []
    got = sorted(metric_of(t["expr"]) for _, t in ts)
    check(len(want) > 400 and got == want,
          "every tag read with a number or boolean (%d) is in exactly one "
          "target (missing %s, extra %s)"
          % (len(want), sorted(set(want) - set(got))[:5],
             sorted(set(got) - set(want))[:5]))


def main():
    dash = test_shipped()
    sim = lbtest.Sim()
    vm = d = None
    work = tempfile.mkdtemp(prefix="lbtest-grafana-")
    try:
        test_structure(dash, sorted(sim.plcs))
        vm = lbtest.Victoria()
        lbtest.add_station_keys(sim.station, "influx: {url: %s, database: "
                                "lock, batch_age: 250ms}" % vm.url)
        t0 = time.time()
        d = lbtest.Daemon(["-c", sim.station, "--summary", "0"], cwd=work)
        test_queries(dash, sim, vm, t0)
        d.stop_checked(check)
        d = None
    finally:
        lbtest.tear_down(work, d, sim, vm)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
