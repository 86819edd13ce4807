#!/usr/bin/python3
"""Acknowledge links end to end: `lockbridge acklink` -> the page's API
(GET /api/acklink, POST /api/acklink) -> the alarm, the journal, the
audit log, and a restart.

A station of one PLC written here (auth: anonymous none, so nothing but
the link's token can act), served by lock-sim:
  pa  temp.high (above 60, no delay), temp.low (below 5); poll 100 ms

1. `lockbridge acklink pa.temp.high --to wang` prints a URL ending in
   #/ack/TOKEN; an unknown alarm is a usage error (64) naming it.
2. GET /api/acklink?t= with the alarm active: 200 with the alarm (as
   /api/alarms shows it), the recipient, the expiry and state "ok";
   asked many times (a mail scanner), it changes nothing: no journal row,
   no audit row, the alarm still unacknowledged.
3. A changed token (a flipped character in the claim or the signature),
   a token cut short, one from another station's key: 400, nothing done.
4. POST /api/acklink {"t", "comment"}: 200, the alarm active-ack by
   "wang", the journal's ack row by wang with the comment, the audit
   log's alarm-ack by wang "by link" with the address.  A second POST:
   409 "this link was used by wang at ...", and GET says "used".
5. A link for an alarm someone acknowledged on the dashboard: 409 with
   who acknowledged it, and the link is not used up (GET still "ok").
6. An expired link (--ttl 1s, after 2 s): GET "expired", POST 410.
7. After a restart of the bridge the used link is still used (409), and
   an unused link made before the restart still works (the key is kept).
8. The page's own address (GET /) serves the dashboard whatever the
   session: the link opens without a login.
"""
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbtest  # noqa: E402
from lbtest import AuthClient as Client  # noqa: E402

check = lbtest.Checks()


def station_text(port, web_port, data):
    return """station: {id: acktest, name: {en: Ack test lock, zh: 确认测试船闸}}
data_dir: %(data)s
history: off
heartbeat: off
web: {listen: 127.0.0.1:%(web)d}
auth: {anonymous: none}
plcs:
  - id: pa
    host: 127.0.0.1
    port: %(pa)d
    timeout: 200ms
    poll: {fast: 100ms}
    tags:
      - {id: temp, table: holding, address: 0, type: i16, scale: 0.1,
         unit: "°C", range: [-20, 100],
         alarms: [{id: high, above: 60, priority: high,
                   message: {en: "Oil {value} {unit}", zh: "油温高 {value} {unit}"}},
                  {id: low, below: 5, priority: low}]}
""" % {"data": data, "web": web_port, "pa": port}


def lb(args, work):
    return lbtest.run_bridge(args, cwd=work, timeout=60)


def make_link(station, work, alarm, to="wang", ttl=None):
    args = ["acklink", alarm, "--to", to, "-c", station]
    if ttl:
        args += ["--ttl", ttl]
    rc, out, err = lb(args, work)
    m = re.search(r"#/ack/(\S+)$", out.strip())
    return rc, (m.group(1) if m else None), out, err


def get(c, token):
    st, _, body = c.req("GET", "/api/acklink?t=" +
                        urllib.parse.quote(token, safe=""))
    try:
        return st, json.loads(body)
    except ValueError:
        return st, {"raw": body[:200]}


def post(c, token, comment=None):
    body = {"t": token}
    if comment is not None:
        body["comment"] = comment
    st, _, b = c.req("POST", "/api/acklink", body)
    try:
        return st, json.loads(b)
    except ValueError:
        return st, {"raw": b[:200]}


def rows(path, sql):
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=10)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def journal(data, alarm):
    return rows(os.path.join(data, "alarms.db"),
                "SELECT event, who, comment FROM journal WHERE alarm = '%s' "
                "ORDER BY seq" % alarm)


def audit(data):
    return rows(os.path.join(data, "audit.db"),
                "SELECT user, action, detail, address, result FROM audit "
                "ORDER BY id")


def state_of(c_admin, alarm):
    st, _, body = c_admin.req("GET", "/api/alarms")
    for a in json.loads(body)["alarms"]:
        if a["id"] == alarm:
            return a
    return None


def flip(token, where):
    """The token with one character of the claim (where=0) or of the
    signature (where=1) changed."""
    claim, mac = token.split(".")
    part = [claim, mac][where]
    i = len(part) // 2
    ch = "A" if part[i] != "A" else "B"
    part = part[:i] + ch + part[i + 1:]
    return part + "." + mac if where == 0 else claim + "." + part


def wait_state(c, alarm, want, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        a = state_of(c, alarm)
        if a and a["state"] == want:
            return a
        time.sleep(0.05)
    return state_of(c, alarm)


def main():
    work = tempfile.mkdtemp(prefix="lbtest-acklink-")
    maps = os.path.join(work, "maps")
    os.mkdir(maps)
    data = os.path.join(work, "data")
    pa, port = lbtest.free_port(), lbtest.free_port()
    station = os.path.join(maps, "station.yaml")
    with open(station, "w", encoding="utf-8") as f:
        f.write(station_text(pa, port, data))
    sim = lbtest.Sim(station, copy=False)
    d = None
    try:
        rc, _, err = subprocess.run(
            [lbtest.binary("lockbridge"), "user", "add", "oscar", "--role",
             "operator", "-c", station, "--password-stdin"],
            input="operator-Secret-7m\n", capture_output=True, text=True,
            cwd=work, timeout=60).returncode, None, None
        check(rc == 0, "an operator for the dashboard's side")
        d = lbtest.Daemon(["-c", station, "--summary", "0"], cwd=work,
                          map_web=True)
        check(Client.wait_up(port, d.proc), "the bridge serves")
        op = Client(port)
        op.login("oscar", "operator-Secret-7m")
        anon = Client(port)

        # 1. the command line
        rc, token, out, err = make_link(station, work, "pa.temp.high")
        check(rc == 0 and token and out.startswith("http://127.0.0.1:%d/#/ack/"
                                                   % port),
              "acklink prints the dashboard's URL with #/ack/TOKEN: %s"
              % out.strip()[:60])
        rc2, _, _, err2 = make_link(station, work, "pa.nosuch")
        check(rc2 == 64 and "pa.nosuch" in err2,
              "an unknown alarm is a usage error naming it: %s"
              % err2.strip()[:80])
        key = os.path.join(data, "acklink.key")
        check(os.path.exists(key) and
              (os.stat(key).st_mode & 0o777) == 0o600 and
              os.path.getsize(key) == 32,
              "the key is 32 bytes in data_dir, 0600")

        # 2. reading changes nothing
        sim.set("pa.temp", 65.5)
        a = wait_state(op, "pa.temp.high", "active-unack")
        check(a is not None and a["state"] == "active-unack",
              "the alarm is active")
        j0, a0 = journal(data, "pa.temp.high"), audit(data)
        for _ in range(5):
            st, g = get(anon, token)
        check(st == 200 and g["link"]["state"] == "ok" and
              g["link"]["to"] == "wang" and g["link"]["used"] is None and
              g["alarm"]["id"] == "pa.temp.high" and
              g["alarm"]["message"]["en"] == "Oil 65.5 °C" and
              g["station"]["en"] == "Ack test lock",
              "GET without a session: the alarm, the recipient, state ok "
              "(%d %s)" % (st, json.dumps(g)[:120]))
        check(journal(data, "pa.temp.high") == j0 and audit(data) == a0 and
              state_of(op, "pa.temp.high")["state"] == "active-unack",
              "five GETs (a mail scanner) change nothing: no journal or "
              "audit row, still unacknowledged")

        # 3. tampered, cut short, foreign
        other = tempfile.mkdtemp(prefix="lbtest-acklink-other-")
        ostation = os.path.join(other, "station.yaml")
        with open(ostation, "w", encoding="utf-8") as f:
            f.write(station_text(pa, port, os.path.join(other, "data")))
        _, foreign, _, _ = make_link(ostation, other, "pa.temp.high")
        bad = {"claim changed": flip(token, 0),
               "signature changed": flip(token, 1),
               "cut short": token[:-5], "no dot": token.replace(".", ""),
               "another station's key": foreign}
        for what, t in bad.items():
            st1, g1 = get(anon, t)
            st2, p2 = post(anon, t)
            check(st1 == 400 and st2 == 400 and "not valid" in
                  p2.get("error", ""),
                  "%s: GET and POST 400 (%d, %d)" % (what, st1, st2))
        shutil.rmtree(other, ignore_errors=True)
        check(state_of(op, "pa.temp.high")["state"] == "active-unack" and
              audit(data) == a0, "none of them acknowledged anything")
        st, _, _ = anon.req("POST", "/api/acklink", "t=" + token,
                            ctype="application/x-www-form-urlencoded")
        check(st == 415, "a form POST is 415 (%d)" % st)

        # 4. the POST acknowledges once, as wang
        st, p = post(anon, token, "on my way")
        a = state_of(op, "pa.temp.high")
        check(st == 200 and p.get("ok") and a["state"] == "active-ack" and
              a["acked_by"] == "wang",
              "POST: 200, active-ack by wang (%d %s)" % (st, a and a["state"]))
        jr = journal(data, "pa.temp.high")
        check(jr[-1] == ("ack", "wang", "on my way"),
              "the journal's ack row: by wang with the comment %s" % (jr[-1],))
        au = [r for r in audit(data) if r[1] == "alarm-ack"]
        check(au and au[-1][0] == "wang" and "by link" in au[-1][2] and
              "on my way" in au[-1][2] and au[-1][3] == "127.0.0.1" and
              au[-1][4] == "ok",
              "the audit log: alarm-ack by wang, by link, from 127.0.0.1: %s"
              % (au[-1:],))
        st, p = post(anon, token)
        check(st == 409 and "used by wang" in p.get("error", "") and
              p["link"]["used"]["by"] == "wang",
              "a second POST: 409, used by wang (%d %s)"
              % (st, p.get("error")))
        st, g = get(anon, token)
        check(g["link"]["state"] == "used" and g["link"]["used"]["by"] ==
              "wang", "GET then says used, by wang, and when")

        # 5. acknowledged on the dashboard first: the link is not used up
        sim.set("pa.temp", 2)
        wait_state(op, "pa.temp.low", "active-unack")
        _, t_low, _, _ = make_link(station, work, "pa.temp.low", "li")
        _, t_keep, _, _ = make_link(station, work, "pa.temp.low", "zhao")
        st, _, _ = op.req("POST", "/api/alarms/ack", {"ids": ["pa.temp.low"]})
        st, p = post(anon, t_low)
        check(st == 409 and "nothing to acknowledge" in p.get("error", "") and
              p["alarms"][0]["acked_by"] == "oscar",
              "already acknowledged by oscar: 409 with who (%d %s)"
              % (st, p.get("error")))
        st, g = get(anon, t_low)
        check(g["link"]["state"] == "ok", "and the link is not used up")

        # 6. expiry
        _, t_exp, _, _ = make_link(station, work, "pa.temp.high", "wang",
                                   ttl="1s")
        time.sleep(2.2)
        st, g = get(anon, t_exp)
        st2, p2 = post(anon, t_exp)
        check(st == 200 and g["link"]["state"] == "expired" and st2 == 410 and
              "expired" in p2.get("error", ""),
              "an expired link: GET says expired, POST 410 (%d %s)"
              % (st2, p2.get("error")))

        # 7. a restart keeps the key and the used links
        d.stop()
        d = lbtest.Daemon(["-c", station, "--summary", "0"], cwd=work,
                          map_web=True)
        check(Client.wait_up(port, d.proc), "the bridge serves again")
        st, p = post(anon, token)
        check(st == 409 and "used by wang" in p.get("error", ""),
              "after a restart the used link is still used (%d)" % st)
        sim.set("pa.temp", 20)
        wait_state(op, "pa.temp.low", "normal")
        sim.set("pa.temp", 2)
        op.login("oscar", "operator-Secret-7m")
        a = wait_state(op, "pa.temp.low", "active-unack")
        st, p = post(anon, t_keep, "seen")
        check(st == 200 and state_of(op, "pa.temp.low")["acked_by"] == "zhao",
              "a link made before the restart still acknowledges (%d %s)"
              % (st, p.get("error")))

        # 8. the page itself needs no session
        # (a sanitizer build has no bundle of its own: 404 then, but never
        # a login first)
        st, h, body = anon.req("GET", "/")
        check(st != 401 and (st == 404 or b"<script" in body),
              "GET / needs no session: the link's page loads without a "
              "login (%d)" % st)
        code = d.stop()
        check(code == 0, "the bridge stops cleanly (%s)" % code)
        d = None
    finally:
        if d:
            d.stop()
        sim.stop()
        shutil.rmtree(work, ignore_errors=True)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
