#!/usr/bin/python3
"""Escalation end to end: lock-sim -> lockbridge run -> the notify thread
-> Debian's aiosmtpd (test_notify.Smtp), on loopback.

A station of one PLC written here (poll 100 ms) with four alarms,
pa.t1.high .. pa.t4.high (above 50, priority high), one per case.  notify:
level 1 is wang and level 2 is li all day; one route (high to oncall,
escalate_after 3 s); group.wait 1 s.  An operator (oscar) acknowledges
through POST /api/alarms/ack after POST /api/login.

1. Not acknowledged: wang's mail, then li's about 3 s after the alarm.
2. Acknowledged before 3 s: nothing to li, ever (waited well past), and
   wang gets "acknowledged by oscar at ...".
3. kill -9 while the escalation is pending (wang's mail sent, li's not
   yet due): after the restart li's mail arrives, once.
4. The acknowledgement committed to the alarm journal (wang's page still
   in group.wait), then kill -9 before the escalation time, the restart
   after it: nothing to li nor to wang (the catch-up hands the ack in
   before any step or page is looked at).
5. Repeat (pa.t5.mid, priority medium: a route with repeat 2 s, no
   escalation): wang's mail, then reminders 1 and 2 about 2 s apart
   ("still active, not acknowledged (reminder N)"); acknowledged: wang is
   told, and no reminder comes after it.
6. Over the test each mail went out once; the bridge exits 0 on SIGTERM.

Standard library plus python3-aiosmtpd; /usr/bin/python3.  Prints "N
passed, M failed".
"""

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbtest  # noqa: E402
from lbtest import AuthClient as Client  # noqa: E402
from test_notify import Smtp, mail_has  # noqa: E402

check = lbtest.Checks()
ESCALATE_S = 3
REPEAT_S = 2
PASSWORD = "operator-Secret-7m"


def station_text(plc_port, smtp_port, web_port, data):
    tags = "".join(
        "      - {id: t%d, table: holding, address: %d, type: u16,\n"
        "         alarms: [{id: high, above: 50, priority: high,\n"
        "                   message: {en: \"T%d {value}\", zh: \"T%d {value}\"}}]}\n"
        % (i, i - 1, i, i) for i in range(1, 5)) + (
        "      - {id: t5, table: holding, address: 4, type: u16,\n"
        "         alarms: [{id: mid, above: 50, priority: medium,\n"
        "                   message: {en: \"T5 {value}\", zh: \"T5 {value}\"}}]}\n")
    return """station: {id: etest, name: {en: Esc test}, timezone: UTC}
data_dir: %(data)s
history: off
heartbeat: off
chattering: off
web: {listen: 127.0.0.1:%(web)d}
auth: {anonymous: none}
notify:
  people:
    - {id: wang, email: wang@example.com}
    - {id: li, email: li@example.com}
  channels:
    - {id: mail, type: email, url: "smtp://127.0.0.1:%(smtp)d",
       from: lockbridge@etest.example, starttls: never, timeout: 5s}
  oncall:
    - level: 1
      rota: [{days: daily, from: "00:00", to: "24:00", person: wang}]
    - level: 2
      rota: [{days: daily, from: "00:00", to: "24:00", person: li}]
  routes:
    - {priority: high, notify: [oncall], escalate_after: %(esc)ds}
    - {priority: medium, notify: [oncall], repeat: %(rep)ds}
  group: {wait: 1s}
plcs:
  - id: pa
    host: 127.0.0.1
    port: %(pa)d
    timeout: 200ms
    poll: {fast: 100ms}
    tags:
%(tags)s""" % {"data": data, "smtp": smtp_port, "web": web_port,
               "esc": ESCALATE_S, "rep": REPEAT_S, "pa": plc_port, "tags": tags}


def mails(smtp, rcpt, alarm, word="active"):
    return mail_has(smtp, rcpt, alarm, word)


def ack(op, alarm):
    st, _, b = op.req("POST", "/api/alarms/ack",
                      {"ids": [alarm], "comment": "seen"})
    return st, b


def alarm_acked(data, alarm):
    """The ack is committed to the alarm journal."""
    db = sqlite3.connect("file:%s/alarms.db?mode=ro" % data, uri=True,
                         timeout=5)
    try:
        return db.execute("SELECT count(*) FROM journal WHERE alarm = ? AND"
                          " event = 'ack'", (alarm,)).fetchone()[0] > 0
    except sqlite3.Error:
        return False
    finally:
        db.close()


def notify_rows(data, alarm):
    db = sqlite3.connect("file:%s/notify.db?mode=ro" % data, uri=True,
                         timeout=5)
    try:
        return db.execute("SELECT event, recipient, level, status FROM"
                          " notification WHERE alarm = ? ORDER BY id",
                          (alarm,)).fetchall()
    finally:
        db.close()


def start(station, work, port):
    d = lbtest.Daemon(["-c", station, "--summary", "0"], cwd=work,
                      map_web=True)
    if not Client.wait_up(port, d.proc):
        raise RuntimeError("the bridge did not serve: " + d.log()[-2000:])
    op = Client(port)
    if op.login("oscar", PASSWORD)[0] != 200:
        raise RuntimeError("login failed")
    return d, op


def raise_alarm(sim, op, i):
    """pa.t<i>.high active: the time it was set."""
    t = time.time()
    sim.set("pa.t%d" % i, 80)
    return t


def test_unacked(sim, smtp, data, op):
    a = "pa.t1.high"
    t0 = raise_alarm(sim, op, 1)
    ok = lbtest.wait_for(lambda: mails(smtp, "wang@example.com", a), 10,
                         0.05)
    check(ok, "level 1: wang's mail arrives")
    ok = lbtest.wait_for(lambda: mails(smtp, "li@example.com", a),
                         ESCALATE_S + 10, 0.05)
    dt = time.time() - t0
    check(ok and ESCALATE_S - 0.5 <= dt <= ESCALATE_S + 4,
          "not acknowledged: li's mail (level 2) %.1f s after the alarm "
          "(escalate_after %d s)" % (dt, ESCALATE_S))
    m = mails(smtp, "li@example.com", a)
    check(m and m[0][1] == "[HIGH 高] Esc test: pa.t1.high active - T1 80",
          "li's subject (%r)" % (m[0][1] if m else None))
    rows = [r for r in notify_rows(data, a) if r[0] == "active"]
    check(("active", "li@example.com", 2, "sent") in rows and
          ("active", "wang@example.com", 1, "sent") in rows,
          "the journal: wang at level 1, li at level 2, both sent (%r)"
          % rows)


def test_acked(sim, smtp, data, op):
    a = "pa.t2.high"
    t0 = raise_alarm(sim, op, 2)
    ok = lbtest.wait_for(lambda: mails(smtp, "wang@example.com", a), 10,
                         0.05)
    st, b = ack(op, a)
    dt = time.time() - t0
    check(ok and st == 200 and dt < ESCALATE_S,
          "wang's mail, then acknowledged by oscar %.1f s after the alarm "
          "(%d %s)" % (dt, st, b[:80]))
    ok = lbtest.wait_for(lambda: mails(smtp, "wang@example.com", a,
                                       "acknowledged"), 10, 0.05)
    m = mails(smtp, "wang@example.com", a, "acknowledged")
    check(ok and "acknowledged by oscar at " in m[0][1] and
          "acknowledged by oscar at " in m[0][2] and "oscar 于" in m[0][2],
          "wang gets \"acknowledged by oscar at ...\" (%r)"
          % (m[0][1] if m else None))
    time.sleep(ESCALATE_S * 2 + 1)
    check(not mails(smtp, "li@example.com", a) and
          len(mails(smtp, "wang@example.com", a, "")) == 2,
          "nothing to li %d s after the alarm, nothing more to wang"
          % (time.time() - t0))
    rows = notify_rows(data, a)
    check(("active", "", 2, "cancelled") in rows,
          "the journal: the level-2 step cancelled (%r)" % rows)


def test_kill_pending(sim, smtp, data, station, work, port, d, op):
    a = "pa.t3.high"
    raise_alarm(sim, op, 3)
    ok = lbtest.wait_for(lambda: mails(smtp, "wang@example.com", a), 10,
                         0.05)
    pending = ("active", "", 2, "step") in notify_rows(data, a)
    d.kill9()
    check(ok and pending and not mails(smtp, "li@example.com", a),
          "kill -9 with the escalation pending (wang mailed, li not yet)")
    d, op = start(station, work, port)
    ok = lbtest.wait_for(lambda: mails(smtp, "li@example.com", a),
                         ESCALATE_S + 10, 0.05)
    time.sleep(ESCALATE_S + 1)
    check(ok and len(mails(smtp, "li@example.com", a)) == 1 and
          len(mails(smtp, "wang@example.com", a)) == 1,
          "after the restart li's mail arrives, once; wang's not again")
    return d, op


def test_ack_then_kill(sim, smtp, data, station, work, port, d, op):
    a = "pa.t4.high"
    t0 = raise_alarm(sim, op, 4)
    ok = lbtest.wait_for(lambda: ("active", "", 2, "step") in
                         notify_rows(data, a), 10, 0.02)
    st, _ = ack(op, a)
    ok = ok and st == 200 and lbtest.wait_for(
        lambda: alarm_acked(data, a), 5, 0.02)
    d.kill9()
    dt = time.time() - t0
    check(ok and dt < ESCALATE_S,
          "the ack committed, kill -9 %.1f s after the alarm" % dt)
    time.sleep(max(0, ESCALATE_S + 1 - (time.time() - t0)))
    d, op = start(station, work, port)
    time.sleep(ESCALATE_S + 2)
    check(not mails(smtp, "li@example.com", a) and
          not mails(smtp, "wang@example.com", a, ""),
          "restarted after the escalation time: nothing to li, nor to wang "
          "(whose page was still in group.wait at the ack)")
    rows = notify_rows(data, a)
    check(rows == [("active", "wang@example.com", 1, "cancelled"),
                   ("active", "", 2, "cancelled")],
          "the page and the step cancelled by the ack the catch-up handed "
          "in (%r)" % rows)
    return d, op


def test_repeat(sim, smtp, data, op):
    a = "pa.t5.mid"
    t0 = time.time()
    sim.set("pa.t5", 80)
    ok = lbtest.wait_for(lambda: mails(smtp, "wang@example.com", a), 10,
                         0.05)
    check(ok, "the medium alarm: wang's mail")
    ok = lbtest.wait_for(lambda: mails(smtp, "wang@example.com", a,
                                       "(reminder 2)"), 2 * REPEAT_S + 10,
                         0.05)
    dt = time.time() - t0
    r1 = mails(smtp, "wang@example.com", a, "(reminder 1)")
    check(ok and len(r1) == 1 and 2 * REPEAT_S - 0.5 <= dt <= 2 * REPEAT_S + 5,
          "not acknowledged: reminders 1 and 2, the second %.1f s after the "
          "alarm (repeat %d s)" % (dt, REPEAT_S))
    check(r1 and r1[0][1] == "[MEDIUM 中] Esc test: pa.t5.mid still active, "
          "not acknowledged (reminder 1) - T5 80",
          "the reminder's subject (%r)" % (r1[0][1] if r1 else None))
    st, _ = ack(op, a)
    ok = lbtest.wait_for(lambda: mails(smtp, "wang@example.com", a,
                                       "acknowledged by"), 10, 0.05)
    n = len(mails(smtp, "wang@example.com", a, "reminder"))
    time.sleep(2 * REPEAT_S + 1)
    check(st == 200 and ok and
          len(mails(smtp, "wang@example.com", a, "reminder")) == n,
          "acknowledged: wang is told, and no reminder after it")
    rows = notify_rows(data, a)
    check(("active", "", 0, "cancelled") in rows and
          ("repeat", "wang@example.com", 1, "sent") in rows,
          "the journal: reminders sent, the next one cancelled (%r)" % rows)


def main():
    work = tempfile.mkdtemp(prefix="lbtest-escalate-")
    data = os.path.join(work, "data")
    smtp = Smtp(work)
    sim = d = None
    try:
        plc_port, port = lbtest.free_port(), lbtest.free_port()
        station = os.path.join(work, "station.yaml")
        with open(station, "w", encoding="utf-8") as f:
            f.write(station_text(plc_port, smtp.port, port, data))
        sim = lbtest.Sim(station, copy=False)
        p = subprocess.run(
            [lbtest.binary("lockbridge"), "user", "add", "oscar", "--role",
             "operator", "-c", station, "--password-stdin"],
            input=PASSWORD + "\n", capture_output=True, text=True, cwd=work,
            timeout=60)
        check(p.returncode == 0, "an operator (%s)" % p.stderr.strip())
        d, op = start(station, work, port)
        ok = lbtest.wait_for(lambda: "notify: 1 channels, 2 on-call levels"
                             in d.log(), 15)
        check(ok, "the bridge starts its notify thread with two levels")
        time.sleep(1)
        test_unacked(sim, smtp, data, op)
        test_acked(sim, smtp, data, op)
        d, op = test_kill_pending(sim, smtp, data, station, work, port, d,
                                  op)
        d, op = test_ack_then_kill(sim, smtp, data, station, work, port, d,
                                   op)
        test_repeat(sim, smtp, data, op)
        counts = {}
        for m in smtp.mails():
            counts[(m[0], m[1])] = counts.get((m[0], m[1]), 0) + 1
        check(all(v == 1 for v in counts.values()),
              "every mail once (%s)" % json.dumps(
                  [k[0] + " " + k[1][:48] for k, v in counts.items()
                   if v != 1]))
        d.stop_checked(check, 4000)
        d = None
    finally:
        lbtest.tear_down(work, d, sim, smtp)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
