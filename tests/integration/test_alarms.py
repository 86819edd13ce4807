#!/usr/bin/python3
"""Alarms end to end: lock-sim -> lockbridge run -> /api/alarms, the
WebSocket, the actions, the audit log, the journal and a restart.

A station of four PLCs written here, served by lock-sim (whose `set`
control command serves any value at once):
  pa  limits: temp.high (above 60, no delay), temp.very_high (latch),
      press.high (above 16, on_delay 1s); poll 100 ms
  pb  a PLC made to `refuse`: its tag alarms and a station expression
      over its tags
  pf  100 coils, each with an alarm: the flood
  pr  the restore sequence: six alarms (plain, latching, a limit), its
      comm alarm held off for a minute

1. A value set past a limit raises the alarm in /api/alarms and on a
   WebSocket client, its active_since (the Modbus response time) within
   one poll period (plus on_delay for press.high) of the set; the message
   is filled in.
2. Actions: a viewer's ack is 403 (and changes nothing); no session 401; a
   form body 415; an unknown id 404 naming it; the operator's ack is 200,
   shows acked_by on /api/alarms and in a WebSocket alarm frame; a second
   ack is 409 with the engine's reason; an operator's disable is 403;
   shelve (duration and one-shot), unshelve, comment, reset of a latched
   alarm; the engineer's disable and enable.
3. The audit log (GET /api/audit) holds each action with who, the alarm,
   the comment, the address and the result, the refused ack too.
4. `fault pb refuse`: one comm alarm pb.comm; pb's active tag alarm is
   suppressed by design (not a new alarm) and none of pb's other alarms,
   nor the expression over pb's tags, becomes active.
5. A flood: 100 alarms within 60 s are all journalled, all in
   /api/alarms, all received by the WebSocket client, and
   /api/alarms/kpi reports one flood of 100.
6. Restore: 50 cycles of a random alarm sequence (values set and cleared,
   ack, shelve, unshelve, reset, comment, disable, enable through the
   API), each ended by `kill -9` of the daemon at a random moment.  After
   each kill: every alarm state a WebSocket client was shown and every
   action answered 200 is in the journal.  Then the daemon restarts with
   pr not answering (conditions unknown, so nothing changes): every
   alarm's state in /api/alarms equals its last journal row, and nothing
   is added to the journal.
7. The daemon exits 0 on SIGTERM with no sanitizer report.
8. A full journal disk (the journal on a tmpfs of its own, filled): an
   alarm whose record cannot be committed is neither in /api/alarms, nor
   sent to the WebSocket, nor logged, and an operator's ack of it gets no
   answer; once the filler is gone both are shown and the ack answered
   200.  Mounting the tmpfs needs root; without it the test says why and
   fails.

Standard library only; /usr/bin/python3.  Prints "N passed, M failed".
"""

import json
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbtest  # noqa: E402
from lbtest import AuthClient as Client  # noqa: E402

check = lbtest.Checks()
PASSWORDS = {"vera": "viewer-Secret-4x", "oscar": "operator-Secret-7m",
             "erin": "engineer-Secret-2k"}
ROLES = {"vera": "viewer", "oscar": "operator", "erin": "engineer"}
POLL_S = 0.1
JOURNAL = [None]    # the journal's path, on the tmpfs
KILLS = int(os.environ.get("LB_ALARM_KILLS", "50"))
R_ALARMS = ["pr.r0.high", "pr.r1.high", "pr.r2.high", "pr.r3.high",
            "pr.r4.high", "pr.r5.high"]


def station_text(ports, web_port, data, journal):
    flood = "\n".join(
        "      - {id: f%d, table: coil, address: %d, type: bool,\n"
        "         alarms: [{id: \"on\", when: true, priority: %s, "
        "area: yard}]}" % (i, i, ("low", "medium", "high")[i % 3])
        for i in range(100))
    restore = "\n".join(
        "      - {id: r%d, table: holding, address: %d, type: u16,\n"
        "         alarms: [{id: high, above: 10, priority: %s%s}]}"
        % (i, i, ("high", "medium", "low")[i % 3],
           ", latch: true" if i in (1, 4) else "")
        for i in range(6))
    return """station: {id: alarmtest}
data_dir: %(data)s
alarm_journal: {path: %(journal)s}
history: off
heartbeat: off
chattering: off
web: {listen: 127.0.0.1:%(web)d}
auth: {anonymous: none}
alarms:
  - id: pb_pump_with_level
    when: "pb.pump_fault and pb.lvl > 3"
    priority: high
    message: {en: Pump fault with the level up, zh: 水位高时泵故障}
plcs:
  - id: pa
    host: 127.0.0.1
    port: %(pa)d
    timeout: 200ms
    poll: {fast: 100ms}
    tags:
      - {id: temp, table: holding, address: 0, type: i16, scale: 0.1,
         unit: "°C", range: [0, 100],
         alarms: [{id: high, above: 60, deadband: 2, priority: high,
                   area: head, message: {en: "Oil {value} {unit}",
                   zh: "油温高 {value} {unit}"}},
                  {id: very_high, above: 80, priority: critical,
                   latch: true}]}
      - {id: press, table: holding, address: 1, type: u16, scale: 0.01,
         range: [0, 25],
         alarms: [{id: high, above: 16, on_delay: 1s, priority: medium}]}
  - id: pb
    host: 127.0.0.1
    port: %(pb)d
    timeout: 200ms
    poll: {fast: 100ms}
    comm_alarm: {priority: critical}
    tags:
      - {id: lvl, table: holding, address: 0, type: u16, scale: 0.1,
         range: [0, 10], alarms: [{id: high, above: 7}]}
      - {id: pump_fault, table: coil, address: 0, type: bool,
         alarms: [{id: "on", when: true, priority: high}]}
  - id: pf
    host: 127.0.0.1
    port: %(pf)d
    timeout: 200ms
    poll: {fast: 100ms}
    tags:
%(flood)s
  - id: pr
    host: 127.0.0.1
    port: %(pr)d
    timeout: 200ms
    poll: {fast: 100ms}
    comm_alarm: {on_delay: 60s}
    tags:
%(restore)s
""" % {"data": data, "journal": journal, "web": web_port, "pa": ports[0],
       "pb": ports[1], "pf": ports[2], "pr": ports[3], "flood": flood,
       "restore": restore}


def parse_ts(s):
    """RFC 3339 with milliseconds and Z -> epoch seconds (float)."""
    import calendar
    m = re.match(r"(\d+-\d+-\d+T\d+:\d+:\d+)\.(\d{3})Z$", s)
    return calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")) \
        + int(m.group(2)) / 1000.0


def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + \
        ".%03dZ" % int((t % 1) * 1000)


def rfc3339_ns(ns):
    """As the bridge writes a time in ns: milliseconds truncated, in
    integers (ns / 1e9 as a float can land a hair under the millisecond
    and print one less)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 10**9)) + \
        ".%03dZ" % (ns % 10**9 // 10**6)


class WsLog:
    """A WebSocket client on its own thread, keeping every frame with the
    time it arrived."""

    def __init__(self, port, sid):
        self.frames = []
        self.lock = threading.Lock()
        self.ws = lbtest.Ws("127.0.0.1", port,
                            headers={"Cookie": "lb_session=" + sid})
        self.ok = self.ws.status == 101
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            while True:
                f = self.ws.recv(timeout=120)
                with self.lock:
                    self.frames.append((time.time(), f))
        except Exception:
            pass

    def alarm_frames(self):
        with self.lock:
            return [(t, f) for t, f in self.frames
                    if f.get("type") == "alarm"]

    def snapshot(self):
        with self.lock:
            for t, f in self.frames:
                if f.get("type") == "snapshot":
                    return f
        return None

    def wait_alarm(self, pred, timeout):
        """(arrival time, alarm object) of the first alarm frame entry
        satisfying pred, or (None, None)."""
        end = time.time() + timeout
        while time.time() < end:
            for t, f in self.alarm_frames():
                for a in f["alarms"]:
                    if pred(a):
                        return t, a
            time.sleep(0.01)
        return None, None

    def close(self):
        try:
            self.ws.sock.close()
        except OSError:
            pass
        self.thread.join(timeout=5)


def alarms(c):
    st, _, body = c.req("GET", "/api/alarms")
    if st != 200:
        raise RuntimeError("GET /api/alarms: %d %s" % (st, body[:200]))
    return {a["id"]: a for a in json.loads(body)["alarms"]}


def wait_api(c, pred, timeout):
    end = time.time() + timeout
    while time.time() < end:
        got = alarms(c)
        if pred(got):
            return time.time(), got
        time.sleep(0.02)
    return None, alarms(c)


def act(c, what, body):
    st, _, b = c.req("POST", "/api/alarms/" + what, body)
    try:
        return st, json.loads(b)
    except ValueError:
        return st, {"raw": b[:200]}


def journal_rows(path):
    """Every journal row as a dict, oldest first (the daemon stopped or
    running: WAL lets us read)."""
    if not os.path.exists(path):
        return []
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=10)
    db.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in db.execute(
            "SELECT * FROM journal ORDER BY seq")]
    finally:
        db.close()


def last_rows(rows):
    last = {}
    for r in rows:
        last[r["alarm"]] = r
    return last


FLAG = {"latched": 0x01, "shelved": 0x02, "oneshot": 0x04,
        "out_of_service": 0x08}


def listed(row):
    """Whether /api/alarms lists the alarm whose last row this is."""
    return row["state"] != "normal" or \
        row["flags"] & (FLAG["shelved"] | FLAG["out_of_service"])


def same_as_row(a, r):
    """The API's alarm object says what its last journal row says."""
    ms = lambda ns: rfc3339_ns(ns) if ns else None  # noqa: E731
    acked = r["acked_by"] and r["state"] in ("active-ack", "normal")
    want = {
        "state": r["state"],
        "latched": bool(r["flags"] & FLAG["latched"]),
        "shelved": bool(r["flags"] & FLAG["shelved"]),
        "out_of_service": bool(r["flags"] & FLAG["out_of_service"]),
        "acked_by": r["acked_by"] if acked else None,
        "active_since": ms(r["active_ns"]),
        "changed": ms(r["changed_ns"]),
        "activations": r["activations"],
    }
    got = {
        "state": a["state"], "latched": a["latched"],
        "shelved": a["shelved"] is not None,
        "out_of_service": a["out_of_service"] is not None,
        "acked_by": a["acked_by"], "active_since": a["active_since"],
        "changed": a["changed"], "activations": a["activations"],
    }
    if r["flags"] & FLAG["shelved"] and a["shelved"]:
        want["until"] = ms(r["shelved_until_ns"])
        got["until"] = a["shelved"]["until"]
    return want == got, want, got


# ---- 1, 2, 3: limits, actions, the audit log --------------------------------

def test_limits_and_actions(sim, port, cs, ws, data):
    op, vw, eng = cs["oscar"], cs["vera"], cs["erin"]
    t_set = time.time()
    sim.set("pa.temp", 65.5)
    t_api, got = wait_api(op, lambda g: "pa.temp.high" in g, 5)
    check(t_api is not None, "pa.temp 65.5 raises pa.temp.high in /api/alarms")
    a = got.get("pa.temp.high", {})
    since = parse_ts(a["active_since"]) if a.get("active_since") else 0
    check(t_set - 0.05 <= since <= t_set + POLL_S + 0.15,
          "its time (the Modbus response's) is within one poll period of "
          "the set (%.3f s after it)" % (since - t_set))
    check(a.get("state") == "active-unack" and a.get("priority") == "high"
          and a.get("area") == "head" and a.get("value") == 65.5 and
          a.get("message") == {"en": "Oil 65.5 °C", "zh": "油温高 65.5 °C"}
          and a.get("tag") == "pa.temp" and a.get("plc") == "pa" and
          a.get("kind") == "above" and a.get("unit") == "°C",
          "the alarm object: state, priority, area, value, message in "
          "both languages (%s)" % {k: a.get(k) for k in
                                   ("state", "value", "message")})
    t_ws, wa = ws.wait_alarm(lambda x: x["id"] == "pa.temp.high" and
                             x["state"] == "active-unack", 5)
    check(wa is not None and wa == a,
          "a WebSocket client gets the same alarm object in an alarm frame "
          "(%.3f s after the set)" % ((t_ws or 0) - t_set))
    check(t_ws is not None and t_ws - t_set <= POLL_S + 2.0,
          "... within one poll period of the set, plus the send "
          "(%.3f s)" % ((t_ws or 99) - t_set))

    # on_delay: press.high must hold 1 s
    t_set = time.time()
    sim.set("pa.press", 17)
    t_ws, wa = ws.wait_alarm(lambda x: x["id"] == "pa.press.high", 5)
    since = parse_ts(wa["active_since"]) if wa else 0
    check(wa is not None and
          t_set + 1.0 - 0.05 <= since <= t_set + POLL_S + 1.0 + 0.15,
          "press.high (on_delay 1s) is active 1 s after the first poll "
          "that saw it, within a poll period (%.3f s after the set)"
          % (since - t_set))

    # access and bad requests
    st, body = act(vw, "ack", {"ids": ["pa.temp.high"], "comment": "v"})
    check(st == 403 and "operator" in body.get("error", ""),
          "a viewer's ack -> 403 (%d %s)" % (st, body))
    anon = Client(port)
    st, body = act(anon, "ack", {"ids": ["pa.temp.high"]})
    check(st == 401, "an ack without a session -> 401 (%d)" % st)
    st, _, b = op.req("POST", "/api/alarms/ack", "ids=pa.temp.high",
                      ctype="application/x-www-form-urlencoded")
    check(st == 415, "a form body -> 415 (%d)" % st)
    st, body = act(op, "ack", {"ids": ["pa.temp.high", "pa.nope.high"]})
    check(st == 404 and "pa.nope.high" in body.get("error", ""),
          "an unknown alarm id -> 404 naming it (%s)" % body)
    st, body = act(op, "ack", {"id": "pa.temp.high"})
    check(st == 400, "ack with \"id\" instead of \"ids\" -> 400 (%d)" % st)
    check(alarms(op)["pa.temp.high"]["state"] == "active-unack",
          "none of those changed the alarm")
    st, _, _ = op.req("GET", "/api/alarms/ack")
    check(st == 405, "GET /api/alarms/ack -> 405 (%d)" % st)

    # the operator's ack
    st, body = act(op, "ack", {"ids": ["pa.temp.high"],
                               "comment": "oil cooler started"})
    ok = st == 200 and body.get("ok") and \
        body["alarms"][0]["acked_by"] == "oscar" and \
        body["alarms"][0]["state"] == "active-ack"
    check(ok, "the operator's ack -> 200 with the alarm acknowledged by "
          "oscar (%d %s)" % (st, str(body)[:200]))
    a = alarms(op)["pa.temp.high"]
    check(a["state"] == "active-ack" and a["acked_by"] == "oscar" and
          a["acked_at"] is not None,
          "/api/alarms shows it active-ack, acked_by oscar")
    _, wa = ws.wait_alarm(lambda x: x["id"] == "pa.temp.high" and
                          x["acked_by"] == "oscar", 5)
    check(wa is not None and wa["state"] == "active-ack",
          "the WebSocket client is told, with acked_by")
    st, body = act(op, "ack", {"ids": ["pa.temp.high"]})
    check(st == 409 and body.get("error") ==
          "pa.temp.high: nothing to acknowledge",
          "a second ack -> 409 with the engine's reason (%d %s)"
          % (st, body.get("error")))
    st, body = act(op, "disable", {"id": "pa.temp.high"})
    check(st == 403, "an operator's disable -> 403 (%d)" % st)

    # several ids: one taken, one refused
    sim.set("pa.temp", 85)
    wait_api(op, lambda g: "pa.temp.very_high" in g, 5)
    st, body = act(op, "ack", {"ids": ["pa.temp.very_high", "pa.temp.high"],
                               "comment": "both"})
    res = {r["id"]: r for r in body.get("results", [])}
    check(st == 200 and res.get("pa.temp.very_high", {}).get("ok") and
          res.get("pa.temp.high", {}).get("error") ==
          "nothing to acknowledge",
          "an ack of two: one taken, one refused with why (%s)" % res)
    # latch and reset
    sim.set("pa.temp", 50)
    wait_api(op, lambda g: g.get("pa.temp.very_high", {}).get("latched"), 5)
    a = alarms(op)
    check(a["pa.temp.very_high"]["latched"] and
          a["pa.temp.very_high"]["state"] == "active-ack" and
          "pa.temp.high" not in a,
          "back to 50: very_high stays latched, high clears")
    st, body = act(op, "reset", {"ids": ["pa.temp.very_high"],
                                 "comment": "checked"})
    check(st == 200 and "pa.temp.very_high" not in alarms(op),
          "reset of the latched alarm -> 200, normal (%d)" % st)
    st, body = act(op, "reset", {"ids": ["pa.temp.high"]})
    check(st == 409 and "does not latch" in body.get("error", ""),
          "reset of an alarm without latch -> 409 (%s)" % body.get("error"))

    # shelve, one-shot, unshelve, comment
    st, body = act(op, "shelve", {"id": "pa.press.high", "duration": "30m",
                                  "reason": "sensor being replaced"})
    a = alarms(op).get("pa.press.high", {})
    sh = a.get("shelved") or {}
    check(st == 200 and sh.get("by") == "oscar" and
          sh.get("reason") == "sensor being replaced" and
          not sh.get("oneshot") and
          abs(parse_ts(sh.get("until")) - time.time() - 1800) < 10 and
          a.get("acked_by") == "oscar",
          "shelve for 30m: shelved by oscar with the reason and its end, "
          "and acknowledged (%s)" % sh)
    st, body = act(op, "shelve", {"id": "pa.press.high", "reason": "x"})
    check(st == 400, "shelve without duration or oneshot -> 400 (%d)" % st)
    st, body = act(op, "shelve", {"id": "pa.press.high", "duration": "8d",
                                  "reason": "x"})
    check(st == 400, "shelve for more than 7 days -> 400 (%d)" % st)
    st, body = act(op, "unshelve", {"id": "pa.press.high"})
    check(st == 200 and alarms(op)["pa.press.high"]["shelved"] is None,
          "unshelve -> 200, not shelved (%d)" % st)
    st, body = act(op, "shelve", {"id": "pa.press.high", "oneshot": True,
                                  "reason": "until it clears"})
    check(st == 200 and alarms(op)["pa.press.high"]["shelved"]["oneshot"],
          "a one-shot shelve (%d)" % st)
    sim.set("pa.press", 5)
    wait_api(op, lambda g: "pa.press.high" not in g, 5)
    check("pa.press.high" not in alarms(op),
          "a one-shot shelve ends when the alarm clears")
    st, body = act(op, "comment", {"id": "pa.press.high",
                                   "text": "gauge replaced"})
    check(st == 200, "a comment -> 200 (%d)" % st)
    st, body = act(op, "comment", {"id": "pa.press.high"})
    check(st == 400, "a comment without text -> 400 (%d)" % st)
    # out of service (engineer)
    st, body = act(eng, "disable", {"id": "pa.press.high",
                                    "comment": "sensor removed"})
    a = alarms(op).get("pa.press.high", {})
    check(st == 200 and (a.get("out_of_service") or {}).get("by") == "erin"
          and a.get("state") == "normal",
          "the engineer's disable: listed, normal, out of service by erin")
    sim.set("pa.press", 20)
    time.sleep(1.5)
    check(alarms(op)["pa.press.high"]["state"] == "normal",
          "an alarm out of service does not activate")
    st, body = act(eng, "enable", {"id": "pa.press.high"})
    t_ws, wa = ws.wait_alarm(lambda x: x["id"] == "pa.press.high" and
                             x["state"] == "active-unack", 5)
    check(st == 200 and wa is not None,
          "enabled again, its condition decides at once (%d)" % st)
    sim.set("pa.press", 5)

    # 3. the audit log
    st, _, body = eng.req("GET", "/api/audit?from=-10m")
    recs = json.loads(body)["audit"] if st == 200 else []
    acks = [r for r in recs if r["action"] == "alarm-ack" and
            r["detail"] == "pa.temp.high: oil cooler started"]
    check(len(acks) == 1 and acks[0]["user"] == "oscar" and
          acks[0]["result"] == "ok" and acks[0]["address"] == "127.0.0.1",
          "the audit log has the ack: oscar, the alarm and the comment, "
          "the address, ok (%s)" % acks)
    refused = [r for r in recs if r["action"] == "alarm-ack" and
               r["result"] == "refused" and
               r["detail"].startswith("pa.temp.high") and
               "nothing to acknowledge" in r["detail"]]
    check(len(refused) >= 1, "... and the refused second ack, with why")
    names = {r["action"] for r in recs}
    check({"alarm-ack", "alarm-shelve", "alarm-unshelve", "alarm-comment",
           "alarm-reset", "alarm-disable", "alarm-enable"} <= names,
          "every kind of action is audited (%s)" % sorted(names))
    shelves = [r for r in recs if r["action"] == "alarm-shelve" and
               "sensor being replaced" in r["detail"]]
    check(len(shelves) == 1 and "until 20" in shelves[0]["detail"],
          "a shelve's audit record says until when and why (%s)" % shelves)
    viewer = [r for r in recs if r["user"] == "vera" and
              r["action"].startswith("alarm-")]
    check(not viewer, "the viewer's 403 did nothing, not even an audit "
          "record")
    # the journal's view
    st, _, body = op.req("GET", "/api/alarms/journal?from=-10m&id="
                         "pa.temp.high")
    recs = json.loads(body)["records"] if st == 200 else []
    evs = [(r["event"], r["who"], r["comment"]) for r in recs]
    check(evs[:2] == [("active", None, None),
                      ("ack", "oscar", "oil cooler started")],
          "GET /api/alarms/journal?id=: its transitions oldest first "
          "(%s)" % evs[:3])
    st, _, body = op.req("GET", "/api/alarms/journal?id=nope.x")
    check(st == 404, "the journal of an unknown alarm -> 404 (%d)" % st)


# ---- 8: a full journal disk -------------------------------------------------

def test_full_journal(sim, cs, ws, jdir, d):
    op = cs["oscar"]
    filler = os.path.join(jdir, "filler")
    lbtest.fill_disk(filler)
    before = d.log().count("pa.temp.high active:")
    frames = len(ws.alarm_frames())
    sim.set("pa.temp", 70)
    time.sleep(2.0)
    check("pa.temp.high" not in alarms(op),
          "full journal disk: the alarm is not in /api/alarms")
    new = [a["id"] for _, f in ws.alarm_frames()[frames:] for a in f["alarms"]]
    check("pa.temp.high" not in new,
          "... nor sent to the WebSocket (%s)" % new)
    check(d.log().count("pa.temp.high active:") == before,
          "... nor logged")
    answer = {}

    def ack():
        answer["r"] = act(op, "ack", {"ids": ["pa.temp.high"],
                                      "comment": "seen on the full disk"})
    th = threading.Thread(target=ack, daemon=True)
    th.start()
    th.join(2.0)
    check("r" not in answer, "an ack of it gets no answer while its record "
          "cannot be committed")
    t_free = time.time()
    os.unlink(filler)
    t, got = wait_api(op, lambda g: g.get("pa.temp.high", {}).get(
        "acked_by") == "oscar", 15)
    th.join(15)
    st, body = answer.get("r", (None, {}))
    check(t is not None and got["pa.temp.high"]["state"] == "active-ack",
          "once there is room the alarm is shown, acknowledged (%.1f s)"
          % ((t or 0) - t_free))
    check(st == 200 and body["alarms"][0]["acked_by"] == "oscar",
          "... and the ack is answered 200 (%s)" % st)
    _, wa = ws.wait_alarm(lambda x: x["id"] == "pa.temp.high" and
                          x["state"] == "active-ack", 5)
    check(wa is not None, "... and the WebSocket client is told")
    sim.set("pa.temp", 50)
    wait_api(op, lambda g: "pa.temp.high" not in g, 5)


def mount_tmpfs(path, size):
    """None, or why mounting failed."""
    if os.geteuid() != 0:
        return "not root (uid %d): mount -t tmpfs needs root" % os.geteuid()
    p = subprocess.run(["mount", "-t", "tmpfs", "-o",
                        "size=%s,mode=0700" % size, "tmpfs", path],
                       capture_output=True, text=True)
    if p.returncode != 0:
        return "mount -t tmpfs failed: %s" % (p.stderr.strip() or
                                              p.returncode)
    return None


def umount(path):
    if subprocess.run(["umount", path], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", path], capture_output=True)


# ---- 4: a PLC that refuses ---------------------------------------------------

def test_refuse(sim, cs, data):
    op = cs["oscar"]
    sim.set("pb.lvl", 8)
    wait_api(op, lambda g: "pb.lvl.high" in g, 5)
    check("pb.lvl.high" in alarms(op), "pb.lvl.high is active before")
    t0 = time.time()
    sim.fault("pb", "refuse")
    # a pump fault and a level that would raise the others, unseen
    sim.set("pb.pump_fault", True)
    t, got = wait_api(op, lambda g: "pb.comm" in g, 10)
    time.sleep(1.0)     # whatever else would follow
    got = alarms(op)
    pb = {k: v for k, v in got.items() if k.startswith("pb.")}
    check(pb.get("pb.comm", {}).get("state") == "active-unack" and
          pb["pb.comm"]["priority"] == "critical",
          "refuse: one comm alarm pb.comm, critical")
    check(set(pb) == {"pb.comm", "pb.lvl.high"} and
          pb["pb.lvl.high"]["suppressed"] == "design",
          "pb's active alarm is suppressed by design, no other pb alarm "
          "(%s)" % {k: (v["state"], v["suppressed"]) for k, v in pb.items()})
    check("pb_pump_with_level" not in got,
          "the expression over pb's tags is unknown, not active")
    rows = [r for r in journal_rows(JOURNAL[0])
            if r["ts"] / 1e9 >= t0 and r["alarm"].startswith(("pb", "pb_"))]
    actives = [r["alarm"] for r in rows if r["event"] == "active"]
    check(actives == ["pb.comm"],
          "the journal since: one activation, the comm alarm's (%s)"
          % actives)
    sim.set("pb.pump_fault", False)
    sim.set("pb.lvl", 1)
    sim.fault("pb", "none")


# ---- 5: a flood -----------------------------------------------------------------

def test_flood(sim, cs, ws, data):
    op = cs["oscar"]
    t0 = time.time()
    for i in range(100):
        sim.set("pf.f%d" % i, True)
        time.sleep(0.03)
    ids = {"pf.f%d.on" % i for i in range(100)}
    t, got = wait_api(op, lambda g: ids <= set(g), 20)
    check(t is not None and t - t0 < 60,
          "100 alarms raised within 60 s are all in /api/alarms (%.1f s)"
          % ((t or 0) - t0))
    end = time.time() + 10
    seen = set()
    while time.time() < end and not ids <= seen:
        seen = {a["id"] for _, f in ws.alarm_frames() for a in f["alarms"]
                if a["id"] in ids and a["state"] == "active-unack"}
        time.sleep(0.05)
    check(ids <= seen, "... and all were shown to the WebSocket client "
          "(%d)" % len(seen))
    rows = [r for r in journal_rows(JOURNAL[0])
            if r["alarm"] in ids and r["event"] == "active"]
    check(len(rows) == 100 and len({r["alarm"] for r in rows}) == 100,
          "... and all 100 activations are journalled (%d)" % len(rows))
    q = urllib.parse.urlencode({"from": rfc3339(t0 - 1)})
    st, _, body = op.req("GET", "/api/alarms/kpi?" + q)
    k = json.loads(body) if st == 200 else {}
    fl = k.get("floods", {})
    check(st == 200 and fl.get("count") == 1 and
          fl["list"][0]["alarms"] == 100 and fl["list"][0]["peak"] == 100,
          "/api/alarms/kpi reports one flood of 100 (%s)" % fl)
    check(k.get("annunciated") == 100 and k["per_10min"]["max"] >= 50 and
          k["priority"] == {"critical": 0, "high": 33, "medium": 33,
                            "low": 34},
          "... 100 annunciated, their priorities (%s)"
          % {x: k.get(x) for x in ("annunciated", "priority")})
    check(len(k.get("top_standing", [])) == 10 and k["at_end"]["active"] >= 100,
          "... the standing alarms, and the active ones at the end")
    for i in range(100):
        sim.set("pf.f%d" % i, False)
    wait_api(op, lambda g: not ids & set(g), 20)


# ---- 6: kill -9 and restore ---------------------------------------------------

def restore_cycle(rng, sim, port, station, work, data, sid, n):
    """One cycle; returns (ok, why)."""
    d = lbtest.Daemon(["-c", station, "--summary", "0"], cwd=work,
                      map_web=True)
    if not Client.wait_up(port, d.proc, timeout=20):
        d.kill9()
        return False, "the daemon did not come up: " + d.log()[-500:]
    c = Client(port)
    c.sid = sid
    ws = WsLog(port, sid)
    answered = []       # (alarm, event, comment) of actions answered 200
    kill_at = time.time() + rng.uniform(0.05, 0.9)
    # a scripted sequence, cut short by the kill
    values = {}
    for step in range(40):
        if time.time() >= kill_at:
            break
        i = rng.randrange(6)
        aid = R_ALARMS[i]
        op = rng.choice(["high", "high", "low", "low", "ack", "ack", "shelve",
                         "unshelve", "reset", "comment", "disable",
                         "enable"])
        try:
            if op in ("high", "low"):
                values[i] = 20 if op == "high" else 0
                sim.set("pr.r%d" % i, values[i])
                time.sleep(rng.uniform(0, 0.15))
                continue
            body = {"ack": {"ids": [aid], "comment": "c%d.%d" % (n, step)},
                    "reset": {"ids": [aid], "comment": "r%d.%d" % (n, step)},
                    "shelve": {"id": aid, "duration": "1h",
                               "reason": "s%d.%d" % (n, step)},
                    "unshelve": {"id": aid},
                    "comment": {"id": aid, "text": "t%d.%d" % (n, step)},
                    "disable": {"id": aid}, "enable": {"id": aid}}[op]
            st, b = act(c, op, body)
            if st == 200:
                answered.append((aid, op, body.get("comment") or
                                 body.get("reason") or body.get("text")))
        except OSError:
            break
    while time.time() < kill_at:
        time.sleep(0.005)
    d.kill9()
    ws.close()
    path = JOURNAL[0]
    rows = journal_rows(path)
    why = []
    if re.search(r"Sanitizer|runtime error", d.log()):
        why.append("a sanitizer report: " + d.log()[-300:])
    # nothing shown is missing from the journal
    have = {(r["alarm"], r["state"], r["changed_ns"] // 1000000) for r in rows}
    for _, f in ws.alarm_frames():
        for a in f["alarms"]:
            key = (a["id"], a["state"], int(round(parse_ts(a["changed"])
                                                  * 1000)))
            if key not in have:
                why.append("shown but not journalled: %s" % (key,))
    snap = ws.snapshot()
    for a in (snap or {}).get("alarms", []):
        key = (a["id"], a["state"], int(round(parse_ts(a["changed"]) * 1000)))
        if key not in have:
            why.append("in the snapshot but not journalled: %s" % (key,))
    # nothing answered 200 is missing
    evname = {"ack": "ack", "reset": "reset", "shelve": "shelve",
              "unshelve": "unshelve", "comment": "comment",
              "disable": "disable", "enable": "enable"}
    acts = {(r["alarm"], r["event"], r["comment"]) for r in rows}
    for aid, op, text in answered:
        if (aid, evname[op], text) not in acts:
            why.append("answered 200 but not journalled: %s %s %s"
                       % (aid, op, text))
    # restart with pr not answering: nothing may change
    sim.fault("pr", "silent")
    d = lbtest.Daemon(["-c", station, "--summary", "0"], cwd=work,
                      map_web=True)
    try:
        if not Client.wait_up(port, d.proc, timeout=20):
            return False, "no restart: " + d.log()[-500:]
        time.sleep(0.3)     # the first polls time out meanwhile
        got = {k: v for k, v in alarms(c).items() if k.startswith("pr.")}
        after = journal_rows(path)
        last = last_rows(after)
        if len(after) != len(rows):
            why.append("the restart wrote %d records with nothing changed"
                       % (len(after) - len(rows)))
        for aid in R_ALARMS:
            r = last.get(aid)
            if r is None or not listed(r):
                if aid in got:
                    why.append("%s listed %s, the journal says normal"
                               % (aid, got[aid]["state"]))
                continue
            if aid not in got:
                why.append("%s not listed, the journal says %s"
                           % (aid, r["state"]))
                continue
            same, want, have_ = same_as_row(got[aid], r)
            if not same:
                why.append("%s: journal %s, shown %s" % (aid, want, have_))
    finally:
        d.kill9()
        sim.fault("pr", "none")
    if re.search(r"Sanitizer|runtime error", d.log()):
        why.append("a sanitizer report after the restart: " + d.log()[-300:])
    return not why, "; ".join(why[:4])


def test_restore(sim, port, station, work, data, sid):
    rng = random.Random(int(os.environ.get("LB_ALARM_SEED", "9")))
    t0 = time.time()
    failures = []
    kills = 0
    for n in range(KILLS):
        ok, why = restore_cycle(rng, sim, port, station, work, data, sid, n)
        kills += 1
        if not ok:
            failures.append("cycle %d: %s" % (n, why))
    rows = journal_rows(JOURNAL[0])
    kinds = {r["event"] for r in rows if r["alarm"].startswith("pr.")}
    states = {r["state"] for r in rows if r["alarm"].startswith("pr.")}
    print("     %d kills in %.1f s; pr's journal: %d records, events %s"
          % (kills, time.time() - t0,
             sum(r["alarm"].startswith("pr.") for r in rows),
             sorted(kinds)))
    check(kills >= 50 or KILLS < 50, "at least 50 kill -9 (%d)" % kills)
    check(not failures, "after every kill -9 nothing shown or answered is "
          "missing from the journal, and after every restart each alarm's "
          "state is what its last journal row says (%s)" % failures[:3])
    # (resets are checked in part 2; here they need a latched alarm whose
    # value went back before the kill, which a slow sanitizer run may miss)
    check({"active", "ack", "clear", "latch", "shelve"} <= kinds and
          {"active-unack", "active-ack", "cleared-unack"} <= states,
          "the sequence went through the states and actions (%s)"
          % sorted(kinds))


def lb(args, work, stdin=""):
    return lbtest.run_bridge(args, cwd=work, timeout=60, stdin=stdin)


def main():
    work = tempfile.mkdtemp(prefix="lbtest-alarms-")
    maps = os.path.join(work, "maps")
    os.mkdir(maps)
    data = os.path.join(work, "data")
    jdir = os.path.join(work, "jdisk")
    os.mkdir(jdir)
    why = mount_tmpfs(jdir, "16m")
    if why:
        check(False, "a tmpfs for the journal (%s)" % why)
        shutil.rmtree(work, ignore_errors=True)
        return check.summary()
    JOURNAL[0] = os.path.join(jdir, "alarms.db")
    ports = [lbtest.free_port() for _ in range(4)]
    port = lbtest.free_port()
    station = os.path.join(maps, "station.yaml")
    with open(station, "w", encoding="utf-8") as f:
        f.write(station_text(ports, port, data, JOURNAL[0]))
    try:
        sim = lbtest.Sim(station, copy=False)
    except Exception:
        umount(jdir)
        raise
    d = None
    try:
        for u, role in ROLES.items():
            rc, _, err = lb(["user", "add", u, "--role", role, "-c", station,
                             "--password-stdin"], work, PASSWORDS[u] + "\n")
            if rc != 0:
                raise RuntimeError("user add %s: %s" % (u, err))
        d = lbtest.Daemon(["-c", station, "--summary", "0"], cwd=work,
                          map_web=True)
        check(Client.wait_up(port, d.proc), "the bridge serves")
        cs = {}
        for u in ROLES:
            cs[u] = Client(port)
            st, _, _ = cs[u].login(u, PASSWORDS[u])
            if st != 200:
                raise RuntimeError("login %s: %d" % (u, st))
        ws = WsLog(port, cs["vera"].sid)
        time.sleep(0.3)
        snap = ws.snapshot()
        check(ws.ok and snap is not None and snap.get("alarms") == [],
              "the WebSocket snapshot carries the alarm list (none yet)")
        test_limits_and_actions(sim, port, cs, ws, data)
        test_refuse(sim, cs, data)
        # while the journal's WAL is young: a commit then needs new blocks
        test_full_journal(sim, cs, ws, jdir, d)
        test_flood(sim, cs, ws, data)
        ws.close()
        log = d.log()
        check(re.search(r"warn alarm: pa\.temp\.high active: normal -> "
                        r"active-unack, value 65\.5, high: Oil 65\.5 °C", log)
              is not None and
              "info alarm: pa.temp.high ack by oscar: active-unack -> "
              "active-ack" in log,
              "the log has one line per transition, after commit")
        rc = d.stop()
        log = d.log()
        check(rc == 0 and "Sanitizer" not in log and
              "runtime error" not in log,
              "the bridge exits 0 on SIGTERM, no sanitizer report (%s)" % rc)
        d = None
        test_restore(sim, port, station, work, data, cs["erin"].sid)
    finally:
        if d:
            d.kill9()
        sim.stop()
        umount(jdir)
        if os.environ.get("LB_KEEP_TMP"):
            print("kept", work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
