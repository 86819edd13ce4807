#!/usr/bin/python3
"""The dashboard's server: HTTP API, static files, WebSocket protocol.

Against the real `lockbridge run` polling lock-sim:

1. Binding: the default `web:` is 127.0.0.1 only (read back from the
   kernel's socket table), `[::1]:PORT` works, a taken port is refused with
   a message naming it.
2. HTTP API: /api/tags equals `lockbridge read --json` in shape and tag set
   and narrows with ?tags=; /api/station has both languages, states and the
   schematic; /healthz reports every PLC and turns `degraded` when a PLC
   fails; /api/history and /api/export.csv return what the history holds
   (CSV byte for byte what `lockbridge export --csv` prints).
3. Bad input: unknown tag, malformed time, points out of range, unknown
   argument -> 400 naming it; unknown path -> 404; POST -> 405; request
   head over 8 KiB refused; paths that leave the web root (.., %2e%2e,
   encoded slashes, a symlink out, hidden files) serve nothing outside it.
4. WebSocket: snapshot first (every tag), deltas with only changed tags
   and current values, at most `rate` frames a second, heartbeats, subscribe
   narrows and answers with a snapshot; malformed messages (not JSON, no
   type, unknown type, unknown tag, binary, oversized) close with a code and
   a reason and are counted; a foreign Origin gets 403; a slow client gets
   current values and not a backlog, and one that stops reading is dropped
   and counted while others carry on.

Standard library only; /usr/bin/python3.  Prints "N passed, M failed".
"""

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


def set_web(station, text, extra=""):
    """Replaces the copied station's `web:` line."""
    with open(station, encoding="utf-8") as f:
        s = f.read()
    s = re.sub(r"^web:.*$", text, s, flags=re.M)
    with open(station, "w", encoding="utf-8") as f:
        f.write(s + extra)


def wait_http(url, proc, timeout=15):
    end = time.time() + timeout
    while time.time() < end and proc.poll() is None:
        try:
            if lbtest.http("GET", url, timeout=2)[0] == 200:
                return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def raw_http(port, data, host="127.0.0.1"):
    """Sends raw bytes, returns the raw answer (for what urllib cannot)."""
    with socket.create_connection((host, port), timeout=5) as s:
        s.sendall(data)
        out = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
                if b"\r\n\r\n" in out:
                    head, _, body = out.partition(b"\r\n\r\n")
                    m = re.search(rb"content-length: *(\d+)", head, re.I)
                    if m and len(body) >= int(m.group(1)):
                        break
        except socket.timeout:
            pass
        return out


def listening(port):
    """Local addresses listening on port, from `ss`."""
    out = subprocess.run(["ss", "-ltnH", "sport = :%d" % port],
                         capture_output=True, text=True).stdout
    return [line.split()[3] for line in out.splitlines() if line.strip()]


def test_binding(sim):
    # default: 127.0.0.1:8080 unless the file says otherwise; use a free port
    # with the default address to see what the default address binds.
    port = lbtest.free_port()
    st = sim.station
    set_web(st, "web: {listen: 127.0.0.1:%d}" % port)
    d = lbtest.Daemon(["-c", st, "--summary", "0"], cwd=sim.dir,
                      map_web=True)
    try:
        ok = wait_http("http://127.0.0.1:%d/healthz" % port, d.proc)
        check(ok, "the bridge serves /healthz on its listen address")
        addrs = listening(port)
        check(addrs == ["127.0.0.1:%d" % port],
              "bound to 127.0.0.1 only, not every interface (%s)" % addrs)
    finally:
        d.stop()
    # IPv6 loopback
    port6 = lbtest.free_port()
    set_web(st, "web: {listen: \"[::1]:%d\"}" % port6)
    d = lbtest.Daemon(["-c", st, "--summary", "0"], cwd=sim.dir,
                      map_web=True)
    try:
        ok = wait_http("http://[::1]:%d/healthz" % port6, d.proc)
        check(ok and listening(port6) == ["[::1]:%d" % port6],
              "[::1]:PORT serves on the IPv6 loopback only (%s)"
              % listening(port6))
    finally:
        d.stop()
    # a taken port
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    taken = blocker.getsockname()[1]
    set_web(st, "web: {listen: 127.0.0.1:%d}" % taken)
    rc, out, err = lbtest.run_bridge(["run", "-c", st], timeout=20,
                                     cwd=sim.dir, map_web=True)
    blocker.close()
    check(rc == 1 and ("cannot listen on 127.0.0.1:%d" % taken) in err,
          "a taken port stops the bridge with a message naming it (rc=%s: "
          "%s)" % (rc, err.strip().splitlines()[-1:] if err else ""))


def test_api(sim, base, port, station, root):
    st, body = lbtest.http("GET", base + "/api/tags")
    tags = json.loads(body)
    rc, out, err = lbtest.run_bridge(["read", "-c", station, "--json"],
                                     cwd=sim.dir)
    read = json.loads(out)
    check(st == 200 and [t["tag"] for t in tags] == [t["tag"] for t in read],
          "/api/tags lists the same tags, in the same order, as read --json "
          "(%d)" % len(tags))
    check(all(set(t) == set(r) for t, r in zip(tags, read)) and
          all(set(t) >= {"tag", "value", "unit", "quality", "ts"}
              for t in tags),
          "/api/tags objects have the fields read --json prints")
    st, body = lbtest.http("GET", base + "/api/tags?tags=levels.*,"
                           "upper_gate.gate_state")
    sel = json.loads(body)
    check(st == 200 and len(sel) == 37 and sel[-1]["tag"] ==
          "upper_gate.gate_state" and sel[0]["tag"].startswith("levels."),
          "?tags= narrows to the selection, in the order given (%d)"
          % len(sel))

    st, body = lbtest.http("GET", base + "/api/station")
    s = json.loads(body)
    t = {x["tag"]: x for x in s["tags"]}
    gs = t.get("upper_gate.gate_state", {})
    check(st == 200 and s["station"]["name"]["zh"] == "示例船闸" and
          len(s["plcs"]) == 8 and len(s["tags"]) == 441,
          "/api/station: station, 8 PLCs, 441 tags, both languages")
    check(gs.get("states") and gs["states"][0]["label"]["zh"] and
          t["levels.chamber_level"]["unit"] == "m" and
          t["levels.chamber_level"]["range"] and
          t["levels.chamber_level"]["group"] == "fast",
          "tags carry states (bilingual), unit, range and poll group")
    sch = s.get("schematic") or {}
    check(sch.get("chamber_level") == "levels.chamber_level" and
          isinstance(sch.get("upper_valves"), list) and
          len(sch["upper_valves"]) == 2,
          "/api/station carries the schematic bindings of the station file")

    import gzip
    import urllib.request
    req = urllib.request.Request(base + "/api/station",
                                 headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        enc = resp.headers.get("Content-Encoding")
        packed = resp.read()
    check(enc == "gzip" and gzip.decompress(packed) == body and
          len(packed) < len(body) / 4,
          "/api/station is sent gzipped to clients that accept it, the same "
          "JSON (%d -> %d bytes)" % (len(body), len(packed)))

    st, body = lbtest.http("GET", base + "/healthz")
    h = json.loads(body)
    check(st == 200 and h["status"] == "ok" and
          all(p["state"] == "up" for p in h["plcs"]) and "history" in h,
          "/healthz: every PLC up, history state, status ok")
    sim.fault("hpu", "refuse")
    time.sleep(2.5)
    st, body = lbtest.http("GET", base + "/healthz")
    h = json.loads(body)
    hpu = [p for p in h["plcs"] if p["id"] == "hpu"][0]
    check(st == 200 and h["status"] == "degraded" and hpu["state"] == "down"
          and hpu["last_error"],
          "a refused PLC: /healthz still 200, status degraded, that PLC down "
          "with its last error (%s)" % hpu.get("last_error"))
    sim.fault("hpu", "none")

    # history and export agree with the history itself
    time.sleep(1.5)
    st, body = lbtest.http("GET", base + "/api/history?tags=levels.chamber_"
                           "level,signals.current_vessel&from=-10m&points=50")
    hist = json.loads(body)
    ser = hist["series"][0] if st == 200 and hist.get("series") else {}
    check(st == 200 and ser.get("tag") == "levels.chamber_level" and
          len(ser["t"]) == len(ser["v"]) == len(ser["q"]) >= 1 and
          ser["source"] == "raw",
          "/api/history: columnar t/v/q for the tag (%d points, source %s)"
          % (len(ser.get("t", [])), ser.get("source")))
    rc, cli_csv, err = lbtest.run_bridge(
        ["export", "-c", station, "--tags", "upper_gate.*", "--from",
         "2020-01-01", "--to", "2030-01-01", "--csv"], cwd=sim.dir)
    st, web_csv = lbtest.http("GET", base + "/api/export.csv?tags=upper_"
                              "gate.*&from=2020-01-01&to=2030-01-01")
    web_csv = web_csv.decode()
    # The daemon keeps recording between the two: compare the rows up to
    # the last time both have.
    cli_rows = cli_csv.splitlines()
    web_rows = web_csv.splitlines()
    cut = min(cli_rows[-1][:24], web_rows[-1][:24])
    cli_rows = [r for r in cli_rows if r[:24] <= cut or r.startswith("ts,")]
    web_rows = [r for r in web_rows if r[:24] <= cut or r.startswith("ts,")]
    check(st == 200 and len(web_rows) > 60 and web_rows == cli_rows,
          "/api/export.csv is what `export --csv` prints (%d rows)"
          % len(web_rows))


def test_bad_input(base, port, root):
    cases = [
        ("/api/tags?tags=nope.x", 400, "no tag 'nope.x'"),
        ("/api/tags?tags=nope.*", 400, "no PLC 'nope'"),
        ("/api/tags?format=xml", 400, "unknown query argument 'format'"),
        ("/api/history?tags=levels.chamber_level&from=yesterday", 400,
         "from: not a time"),
        ("/api/history?tags=levels.chamber_level&to=2026-13-40", 400,
         "to: not a time"),
        ("/api/history?tags=levels.chamber_level&points=1", 400, "points"),
        ("/api/history?tags=levels.chamber_level&points=100001", 400,
         "points"),
        ("/api/history?tags=levels.chamber_level&points=ten", 400, "points"),
        ("/api/history?from=-1h", 400, "tags:"),
        ("/api/history?tags=levels.chamber_level&from=-1h&to=-2h", 400,
         "to must be after from"),
        ("/api/export.csv?tags=levels.*", 400, "from: required"),
        ("/api/tags?tags=a&tags=b", 400, "given twice"),
        ("/api/nothing", 404, "no such endpoint"),
    ]
    for path, want, text in cases:
        st, body = lbtest.http("GET", base + path)
        ok = st == want
        try:
            err = json.loads(body).get("error", "")
        except ValueError:
            err, ok = body[:80], False
        check(ok and text in err, "%s -> %d naming it (%d: %s)"
              % (path, want, st, err))
    st, body = lbtest.http("POST", base + "/api/tags", data=b"{}")
    check(st == 405, "POST /api/tags -> 405 (%d)" % st)
    big = raw_http(port, b"GET /api/tags HTTP/1.1\r\nHost: x\r\nX-Big: " +
                   b"a" * 9000 + b"\r\n\r\n")
    check(not big.startswith(b"HTTP/1.1 200"),
          "a request head over 8 KiB is refused (%s)" % big[:40])
    st, body = lbtest.http("GET", base + "/api/tags?tags=" + "x" * 5000)
    check(st == 400 and b"longer than" in body,
          "a query argument over 4 KiB -> 400 (%d)" % st)

    # static files: confined to the root
    st, body = lbtest.http("GET", base + "/")
    check(st == 200 and b"lockbridge test root" in body,
          "/ serves index.html from the web root")
    st, body = lbtest.http("GET", base + "/app-0123ABCD.js")
    check(st == 200, "a file in the root is served")
    outside = b"SECRET-OUTSIDE-ROOT"
    for path in [b"/../secret.txt", b"/%2e%2e/secret.txt",
                 b"/..%2fsecret.txt", b"/%2e%2e%2fsecret.txt",
                 b"/sub/..%2f..%2fsecret.txt", b"/link-out",
                 b"/link-out/secret.txt", b"/.hidden", b"//etc/passwd",
                 b"/%2fetc%2fpasswd", b"/sub/../../secret.txt",
                 b"/index.html%00.js"]:
        raw = raw_http(port, b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n"
                       b"Connection: close\r\n\r\n")
        status = raw.split(b" ", 2)[1] if raw.startswith(b"HTTP/") else b"-"
        check(outside not in raw and b"root:" not in raw and
              status != b"200",
              "%s serves nothing outside the root (%s)"
              % (path.decode(), status.decode()))


def drain(ws, seconds):
    """Frames received within seconds."""
    out = []
    end = time.time() + seconds
    while time.time() < end:
        try:
            out.append(ws.recv(timeout=max(0.05, end - time.time())))
        except socket.timeout:
            break
    return out


def test_ws(sim, base, port):
    ws = lbtest.Ws("127.0.0.1", port)
    check(ws.status == 101, "WebSocket upgrade without Origin (a tool): 101")
    first = ws.recv(timeout=5)
    check(first["type"] == "snapshot" and len(first["tags"]) == 441,
          "the first frame is a snapshot of every tag (%d)"
          % len(first.get("tags", [])))
    sim.command("pause")
    time.sleep(0.5)
    drain(ws, 0.5)
    sim.set("levels.chamber_level", 12.5)
    t0 = time.time()
    got = None
    while time.time() - t0 < 3 and got is None:
        m = ws.recv(timeout=3)
        for t in m.get("tags", []):
            if t["tag"] == "levels.chamber_level":
                got = (time.time() - t0, m, t)
    check(got is not None and got[2]["value"] == 12.5 and
          got[1]["type"] == "delta",
          "a value set in the simulator arrives in a delta (%.0f ms)"
          % (1000 * got[0] if got else -1))
    if got:
        check(len(got[1]["tags"]) < 20,
              "a delta carries only what changed (%d tags)"
              % len(got[1]["tags"]))
    # quiet plant: heartbeats
    frames = drain(ws, 4.5)
    kinds = [f["type"] for f in frames]
    check("heartbeat" in kinds and all("time" in f for f in frames),
          "a quiet plant still gets heartbeat frames with the bridge's time "
          "(%s)" % kinds)
    sim.command("resume")
    # rate: at most 10 frames a second
    frames = drain(ws, 3)
    check(len(frames) <= 31, "at most 10 frames a second (%d in 3 s)"
          % len(frames))
    # subscribe
    ws.send({"type": "subscribe", "tags": ["levels.*", "lockage.phase"]})
    snap = None
    for _ in range(20):
        m = ws.recv(timeout=3)
        if m["type"] == "snapshot":
            snap = m
            break
    check(snap is not None and len(snap["tags"]) == 37,
          "subscribe answers with a snapshot of the subscription (%s)"
          % (len(snap["tags"]) if snap else None))
    frames = drain(ws, 2)
    names = {t["tag"] for f in frames for t in f.get("tags", [])}
    check(names and all(n.startswith("levels.") or n == "lockage.phase"
                        for n in names),
          "after subscribe only those tags arrive (%d distinct)" % len(names))
    ws.close()

    # malformed messages: closed with a code and a reason, and counted
    _, body = lbtest.http("GET", base + "/healthz")
    before = json.loads(body)["web"]["malformed"]
    bad = [
        (lambda w: w.send("not json"), 1008, "not a JSON object"),
        (lambda w: w.send({"tags": []}), 1008, "no \"type\""),
        (lambda w: w.send({"type": "shout"}), 1008, "unknown message type"),
        (lambda w: w.send({"type": "subscribe", "tags": ["nope.x"]}), 1008,
         "no tag 'nope.x'"),
        (lambda w: w.send({"type": "subscribe", "tags": "levels.*"}), 1008,
         "must be an array"),
        (lambda w: w.send_frame(0x2, b"\x00\x01"), 1003, "binary"),
        (lambda w: w.send("x" * 20000), 1009, "over 16384 bytes"),
        (lambda w: w.send({"type": "report", "display": "no spaces!"}), 1008,
         "display must be"),
    ]
    for act, code, text in bad:
        w = lbtest.Ws("127.0.0.1", port)
        w.recv(timeout=5)
        act(w)
        closed = None
        try:
            for _ in range(50):
                w.recv(timeout=5)
        except lbtest.WsClosed as e:
            closed = e
        except socket.timeout:
            pass
        w.sock.close()
        check(closed is not None and closed.code == code and
              text in closed.reason,
              "malformed message closed with %d '%s' (%s)"
              % (code, text, (closed.code, closed.reason) if closed else None))
    _, body = lbtest.http("GET", base + "/healthz")
    after = json.loads(body)["web"]["malformed"]
    check(after - before == len(bad), "each malformed client is counted "
          "(%d)" % (after - before))

    # cross-site WebSocket hijacking
    evil = lbtest.Ws("127.0.0.1", port, origin="http://evil.example")
    check(evil.status == 403, "a foreign Origin gets 403 (%d)" % evil.status)
    evil.sock.close()
    own = lbtest.Ws("127.0.0.1", port, origin="http://127.0.0.1:%d" % port)
    check(own.status == 101, "the dashboard's own Origin is accepted")
    own.close()
    listed = lbtest.Ws("127.0.0.1", port, origin="https://wall.lock1.example")
    check(listed.status == 101, "an Origin listed in web.origins is accepted")
    listed.close()
    other = lbtest.Ws("127.0.0.1", port, path="/other")
    check(other.status == 404, "an upgrade elsewhere than /ws gets 404 (%d)"
          % other.status)
    other.sock.close()


def test_slow_clients():
    """A station whose 2,000 tags all change every 100 ms: a client that
    pauses reading gets current values, not a backlog; one that stops is
    dropped and counted; a reading client carries on."""
    work = tempfile.mkdtemp(prefix="lbtest-web-slow-")
    port = lbtest.free_port()
    sim_port = lbtest.free_port()
    regs = 2000
    with open(os.path.join(work, "busy.yaml"), "w") as f:
        f.write("id: busy\nhost: 127.0.0.1\nport: %d\npoll: {fast: 100ms}\n"
                "tags:\n" % sim_port)
        for a in range(regs):
            f.write("  - {id: r%d, table: holding, address: %d, type: u16}\n"
                    % (a, a))
    station = os.path.join(work, "station.yaml")
    with open(station, "w") as f:
        f.write("station: {id: busy}\nplcs: [busy.yaml]\nhistory: off\n"
                "web: {listen: 127.0.0.1:%d, stuck_after: 3s}\n" % port)
    sim = lbtest.Sim(station=station, copy=False,
                     args=["--registers", str(regs), "--churn", "1"])
    d = lbtest.Daemon(["-c", station, "--summary", "0"], cwd=work,
                      map_web=True)
    base = "http://127.0.0.1:%d" % port
    try:
        check(wait_http(base + "/healthz", d.proc), "busy station serves")
        time.sleep(1)
        reader = lbtest.Ws("127.0.0.1", port)
        reader.recv(timeout=5)
        # Slow clients: tiny receive buffers, so the server's socket fills
        # after a frame or two instead of the kernel holding seconds of
        # frames.
        paused = lbtest.Ws("127.0.0.1", port, rcvbuf=4096)
        paused.recv(timeout=5)
        stuck = lbtest.Ws("127.0.0.1", port, rcvbuf=4096)
        stuck.recv(timeout=5)
        t_pause = time.time()
        n_reader = 0
        while time.time() - t_pause < 1.5:
            reader.recv(timeout=5)
            n_reader += 1
        # the reading client is not held back by the others
        check(n_reader >= 10, "a reading client keeps getting frames while "
              "others do not read (%d in 1.5 s)" % n_reader)
        time.sleep(1.5)
        # `paused` resumes after 3 s.  Behind by 30 frames, it must not be
        # handed them: in its first second it gets what the sockets held
        # when the server saw it behind (a frame or two), then frames at
        # the rate again, ending at the current values.
        frames = []
        t0 = time.time()
        try:
            while time.time() - t0 < 1.0:
                frames.append(paused.recv(timeout=0.5))
        except (socket.timeout, lbtest.WsClosed):
            pass
        check(0 < len(frames) < 20,
              "a client 3 s behind is not sent its backlog (%d frames in the "
              "first second after it resumed, 30+ would be a backlog)"
              % len(frames))
        time.sleep(0.3)
        more = drain(paused, 0.5)
        _, body = lbtest.http("GET", base + "/api/tags?tags=busy.r0")
        now_val = json.loads(body)[0]["value"]
        last = {t["tag"]: t["value"] for f in frames + more
                for t in f.get("tags", [])}
        check(abs(last.get("busy.r0", -1) - now_val) <= 2,
              "and it is brought up to the current values (r0 %s, now %s)"
              % (last.get("busy.r0"), now_val))
        # keep the reader alive while `stuck` never reads: after 3 s the
        # server drops it and counts it
        end = time.time() + 8
        dropped = 0
        while time.time() < end:
            reader.recv(timeout=5)
            _, body = lbtest.http("GET", base + "/healthz")
            dropped = json.loads(body)["web"]["dropped_stuck"]
            if dropped:
                break
        check(dropped >= 1, "a client that stops reading is dropped and "
              "counted (%d)" % dropped)
        m = reader.recv(timeout=5)
        check(m["type"] == "delta", "the reading client carries on")
        rss = 0
        with open("/proc/%d/status" % d.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
        limit = 60000 * (3 if lbtest.SANITIZED else 1)
        check(rss < limit, "the bridge's memory stays bounded with slow "
              "clients (%d KB RSS, limit %d)" % (rss, limit))
        for w in (reader, paused, stuck):
            w.sock.close()
    finally:
        d.stop()
        sim.stop()
        shutil.rmtree(work, ignore_errors=True)


def main():
    root = tempfile.mkdtemp(prefix="lbtest-webroot-")
    www = os.path.join(root, "www")
    os.makedirs(os.path.join(www, "sub"))
    with open(os.path.join(www, "index.html"), "w") as f:
        f.write("<!doctype html><title>lockbridge test root</title>\n")
    with open(os.path.join(www, "app-0123ABCD.js"), "w") as f:
        f.write("console.log('app');\n")
    with open(os.path.join(www, ".hidden"), "w") as f:
        f.write("hidden\n")
    with open(os.path.join(root, "secret.txt"), "w") as f:
        f.write("SECRET-OUTSIDE-ROOT\n")
    os.symlink(os.path.join(root, "secret.txt"), os.path.join(www, "link-out"))
    sim = lbtest.Sim(speed=20)
    d = None
    try:
        test_binding(sim)
        port = lbtest.free_port()
        set_web(sim.station, "web: {listen: 127.0.0.1:%d, root: %s, origins: "
                "[\"https://wall.lock1.example\"]}\ndata_dir: %s/data"
                % (port, www, sim.dir))
        d = lbtest.Daemon(["-c", sim.station, "--summary", "1"], cwd=sim.dir,
                          map_web=True)
        base = "http://127.0.0.1:%d" % port
        check(wait_http(base + "/healthz", d.proc), "the bridge serves")
        time.sleep(2)
        test_api(sim, base, port, sim.station, www)
        test_bad_input(base, port, www)
        test_ws(sim, base, port)
        rc = d.stop()
        check(rc == 0, "the bridge stops cleanly with clients connected "
              "(rc=%s)" % rc)
        d = None
        test_slow_clients()
    finally:
        if d:
            d.stop()
        sim.stop()
        shutil.rmtree(root, ignore_errors=True)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
