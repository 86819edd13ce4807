#!/usr/bin/env python3
"""Reload without a gap (issue 11 section 4): `lockbridge run` reads its
maps again on SIGHUP and on an admin's POST /api/reload, while lock-sim
is polled.

The bridge runs a station file of its own over lock-sim's PLC files, so
that PLCs can be added and removed without touching what lock-sim
serves.  Checked:
  - a broken map is refused with the loader's file:line:col messages
    (in the log and in the 422 answer), and nothing changes: the same
    station, the live page's WebSocket stays open, polling goes on;
  - a viewer may not reload (403); a change of a restart-only key (web)
    is refused by name;
  - a changed map is applied: upper_gate (timeout changed) restarted,
    valves added, power removed, lower_gate (a label changed) and levels
    (an alarm limit changed) kept polling on the same connection;
    the live page is closed with 1012 and a new one gets the new station
    and a snapshot; the changed limit raises its alarm from the present
    value; an acknowledged alarm stays acknowledged across a reload;
  - no sample is lost: lower_gate's heartbeat (+1 every second, every
    change recorded) is in the history without a missing value across
    the reloads;
  - the daemon stops cleanly afterwards (no sanitizer report).
"""
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbtest  # noqa: E402

check = lbtest.Checks()
PASSWORD = "reload-Admin-7731"
VIEWER_PASSWORD = "reload-Viewer-7731"


def station_text(port, data, plcs):
    return ("station: {id: rl, name: {en: Reload test}}\n"
            "data_dir: %s\n"
            "web: {listen: 127.0.0.1:%d}\n"
            "plcs:\n%s" % (data, port,
                           "".join("  - %s\n" % p for p in plcs)))


def write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def edit(path, old, new):
    with open(path, encoding="utf-8") as f:
        s = f.read()
    if old not in s:
        raise RuntimeError("%s: %r not found" % (path, old))
    write(path, s.replace(old, new, 1))


def metric(text, name, plc):
    m = re.search(r'^%s\{plc="%s"\} (\S+)$' % (re.escape(name), plc), text,
                  re.M)
    return float(m.group(1)) if m else None


def wait_log(d, needle, start, timeout=20):
    """True once needle appears in the log after offset start."""
    return lbtest.wait_for(lambda: needle in d.log()[start:], timeout)


def open_ws(port):
    ws = lbtest.Ws("127.0.0.1", port)
    snap = ws.recv(timeout=10)
    return ws, snap


def closed_with(ws, timeout=10):
    try:
        end = time.time() + timeout
        while time.time() < end:
            ws.recv(timeout=timeout)
    except lbtest.WsClosed as e:
        return e.code, e.reason
    except OSError:
        return None, None
    finally:
        ws.sock.close()
    return None, None


def lb(args, work, stdin=""):
    return lbtest.run_bridge(args, cwd=work, timeout=60, stdin=stdin)


def main():
    work = tempfile.mkdtemp(prefix="lbtest-reload-")
    sim = lbtest.Sim()
    d = None
    try:
        maps = os.path.dirname(sim.station)
        data = os.path.join(work, "data")
        port = lbtest.free_port()
        station = os.path.join(maps, "bridge.yaml")
        first = ["upper-gate.yaml", "lower-gate.yaml", "levels.yaml",
                 "power.yaml"]
        write(station, station_text(port, data, first))
        for user, role, pw in (("ada", "admin", PASSWORD),
                               ("vic", "viewer", VIEWER_PASSWORD)):
            rc, _, err = lb(["user", "add", user, "--role", role, "-c",
                             station, "--password-stdin"], work, pw + "\n")
            if rc != 0:
                raise RuntimeError("user add: " + err)
        t_start = time.time()
        d = lbtest.Daemon(["-c", station, "--summary", "0"], cwd=work,
                          map_web=True)
        up = lbtest.AuthClient.wait_up(port, d.proc)
        check(up, "the bridge serves")
        if not up:
            return check.summary()
        admin = lbtest.AuthClient(port)
        check(admin.login("ada", PASSWORD)[0] == 200, "the admin logs in")
        viewer = lbtest.AuthClient(port)
        check(viewer.login("vic", VIEWER_PASSWORD)[0] == 200,
              "the viewer logs in")
        lbtest.wait_for(lambda: metric(admin.req("GET", "/metrics")[2]
                                       .decode(), "lockbridge_plc_cycles_total",
                                       "lower_gate") or 0 > 5, 10)
        st0 = admin.req("GET", "/api/station")[2]
        ws, snap = open_ws(port)
        check(snap.get("type") == "snapshot", "a live page has its snapshot")

        # -- a broken map: refused, nothing changes -------------------------
        levels = os.path.join(maps, "levels.yaml")
        with open(levels, encoding="utf-8") as f:
            levels_ok = f.read()
        write(levels, levels_ok + "  - {id: broken, table: input, "
              "address: 70000, type: u16}\n")
        at = len(d.log())
        d.proc.send_signal(signal.SIGHUP)
        check(wait_log(d, "not reloaded, the running configuration stays",
                       at),
              "SIGHUP with a broken map: refused, as the log says")
        log = d.log()[at:]
        m = re.search(r"levels\.yaml:(\d+):(\d+): 'address' must be an "
                      r"integer in 0\.\.65535", log)
        check(m is not None,
              "the log names the mistake as file:line:col (%s)"
              % (m.group(0) if m else log[-400:]))
        stt, _, body = admin.req("POST", "/api/reload", {})
        ans = json.loads(body or b"{}")
        check(stt == 422 and not ans.get("ok") and any(
            re.search(r"levels\.yaml:\d+:\d+: 'address' must be", e)
            for e in ans.get("errors", [])),
            "POST /api/reload with the broken map: 422 with the same "
            "messages (%d %s)" % (stt, body[:300]))
        check(admin.req("GET", "/api/station")[2] == st0,
              "the running station is unchanged")
        stt, _, _ = viewer.req("POST", "/api/reload", {})
        check(stt == 403, "a viewer may not reload (%d)" % stt)
        check(admin.req("POST", "/api/reload", "{}", ctype="text/plain")[0]
              == 415, "a reload needs a JSON body (no cross-site form)")
        write(levels, levels_ok)

        # the live page stayed open through the refusals
        try:
            f = ws.recv(timeout=5)
            check(f.get("type") in ("delta", "heartbeat", "alarm"),
                  "the live page's socket stays open after a refusal")
        except (lbtest.WsClosed, OSError) as e:
            check(False, "the live page's socket stays open (%s)" % e)

        # -- a restart-only key: refused by name ----------------------------
        write(station, station_text(lbtest.free_port(), data, first))
        at = len(d.log())
        d.proc.send_signal(signal.SIGHUP)
        check(wait_log(d, "'web' changed in", at),
              "a changed web: section is refused by name: only a restart "
              "applies it")
        write(station, station_text(port, data, first))

        # -- a changed map ---------------------------------------------------
        before = admin.req("GET", "/metrics")[2].decode()
        edit(os.path.join(maps, "upper-gate.yaml"), "timeout: 500ms",
             "timeout: 400ms")
        edit(os.path.join(maps, "lower-gate.yaml"),
             "{en: PLC heartbeat,", "{en: PLC heartbeat (renamed),")
        edit(levels, "{id: high, above: 10, deadband: 0.05, on_delay: 10s",
             "{id: high, above: 1, deadband: 0.05, on_delay: 1s")
        later = ["upper-gate.yaml", "lower-gate.yaml", "levels.yaml",
                 "valves.yaml"]
        write(station, station_text(port, data, later))
        stt, _, body = admin.req("POST", "/api/reload", {})
        ans = json.loads(body or b"{}")
        plcs = ans.get("plcs", {})
        check(stt == 200 and ans.get("ok"), "POST /api/reload applies the "
              "changed map (%d %s)" % (stt, body[:300]))
        check(sorted(plcs.get("kept", [])) == ["levels", "lower_gate"] and
              plcs.get("restarted") == ["upper_gate"] and
              plcs.get("added") == ["valves"] and
              plcs.get("removed") == ["power"],
              "kept: levels, lower_gate; restarted: upper_gate; added: "
              "valves; removed: power (%s)" % plcs)
        code, reason = closed_with(ws)
        check(code == 1012 and reason == "station reloaded",
              "the live page is closed with 1012 station reloaded (%s %s)"
              % (code, reason))
        st1 = json.loads(admin.req("GET", "/api/station")[2])
        ids = [p["id"] for p in st1["plcs"]]
        check(ids == ["upper_gate", "lower_gate", "levels", "valves"],
              "/api/station is the new station (%s)" % ids)
        names = [t["name"]["en"] for t in st1["tags"]
                 if t["tag"] == "lower_gate.heartbeat"]
        check(names == ["PLC heartbeat (renamed)"],
              "a kept PLC's changed label is shown (%s)" % names)
        ws, snap = open_ws(port)
        tags = {t["tag"]: t for t in snap.get("tags", [])}
        check(snap.get("type") == "snapshot" and
              "lower_gate.heartbeat" in tags and
              tags["lower_gate.heartbeat"].get("quality") == "good" and
              not any(k.startswith("power.") for k in tags),
              "a new page's snapshot: the kept PLC's values at once, no "
              "removed PLC")
        check(lbtest.wait_for(lambda: any(
            t["tag"].startswith("valves.") and t.get("quality") == "good"
            for t in json.loads(admin.req("GET", "/api/tags")[2])),
            10), "the added PLC is polled")
        after = admin.req("GET", "/metrics")[2].decode()
        for plc in ("lower_gate", "levels"):
            c0 = metric(before, "lockbridge_plc_reconnects_total", plc)
            c1 = metric(after, "lockbridge_plc_reconnects_total", plc)
            n0 = metric(before, "lockbridge_plc_cycles_total", plc)
            n1 = metric(after, "lockbridge_plc_cycles_total", plc)
            check(c0 is not None and c0 == c1 and n1 > n0,
                  "%s polls on: cycles %s -> %s, reconnects %s -> %s"
                  % (plc, n0, n1, c0, c1))
        u0 = metric(before, "lockbridge_plc_cycles_total", "upper_gate")
        u1 = metric(after, "lockbridge_plc_cycles_total", "upper_gate")
        check(u1 is not None and u1 < u0,
              "upper_gate's poller was restarted (cycles %s -> %s)"
              % (u0, u1))
        check(metric(after, "lockbridge_plc_cycles_total", "power") is None,
              "the removed PLC is gone from /metrics")

        def alarm(aid):
            a = json.loads(admin.req("GET", "/api/alarms")[2])
            for x in a.get("alarms", []):
                if x["id"] == aid:
                    return x
            return None
        aid = "levels.downstream_level.high"
        check(lbtest.wait_for(lambda: (alarm(aid) or {}).get("state") ==
                              "active-unack", 10),
              "the lowered limit raises %s from the present value (%s)"
              % (aid, alarm(aid)))
        stt, _, body = admin.req("POST", "/api/alarms/ack",
                                 {"ids": [aid]})
        check(stt == 200, "the admin acknowledges it (%d %s)"
              % (stt, body[:200]))

        # -- unchanged maps, twice: state carried, nothing restarted ---------
        for i in range(2):
            at = len(d.log())
            d.proc.send_signal(signal.SIGHUP)
            check(wait_log(d, "(4 kept polling), ", at),
                  "SIGHUP %d with the same maps: every PLC kept" % (i + 1))
            time.sleep(1.5)
        check((alarm(aid) or {}).get("state") == "active-ack",
              "the acknowledged alarm is still active and acknowledged "
              "after the reloads (%s)" % alarm(aid))
        try:
            ws.recv(timeout=5)
            closed = None
            while True:
                ws.recv(timeout=5)
        except lbtest.WsClosed as e:
            closed = e.code
        except OSError:
            closed = None
        check(closed == 1012, "a reload with the same maps closes live "
              "pages too, which then load the (same) station again")
        time.sleep(2)

        # -- no sample lost ---------------------------------------------------
        ran = time.time() - t_start
        rc = d.stop()
        log = d.log()
        d = None
        check(rc == 0 and "Sanitizer" not in log and "runtime error" not in
              log, "the bridge stops cleanly after three reloads (rc %s)" % rc)
        span = int(time.time() - t_start) + 5
        hist = lbtest.export_history(station, frm="-%ds" % span, cwd=work)
        beats = [v for _, v, q in hist.get("lower_gate.heartbeat", [])
                 if q == "good"]
        gaps = [(a, b) for a, b in zip(beats, beats[1:])
                if (b - a) % 65536 != 1]
        # One beat a second for as long as the bridge ran (less the first
        # connect and the last second), however fast this machine got here.
        want = max(5, int(ran) - 3)
        check(len(beats) >= want and not gaps,
              "lower_gate's heartbeat has every value across the reloads "
              "(%d values of %d s, %d to %s; gaps %s)"
              % (len(beats), int(ran), beats[0] if beats else -1,
                 beats[-1] if beats else -1, gaps[:5]))
        reloads = len(re.findall(r"reload: \S+ reloaded in", log))
        check(reloads == 3, "three reloads applied, as the log says (%d)"
              % reloads)
    finally:
        if d:
            d.stop()
        sim.stop()
        shutil.rmtree(work, ignore_errors=True)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
