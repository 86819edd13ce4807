#!/usr/bin/python3
"""A channel that answers errors: retried, then its own alarm is raised
and routed elsewhere.  lock-sim -> lockbridge run -> the notify thread ->
a webhook receiver (test_notify.Hook) that answers HTTP 500, and
Debian's aiosmtpd (test_notify.Smtp), on loopback.

A station of one PLC written here (poll 100 ms): pa.t1.high (above 50,
priority high).  notify: a webhook channel `hook` (fail_alarm: {after:
3}) and an email channel `mail` to duty@ftest.example; one route (high
and critical to both, on_clear: true), group.wait 1 s.

1. The receiver answers 500.  A value past the limit raises pa.t1.high;
   the webhook is retried: an attempt row for each try with the 500 in
   its answer, the back-off 2 s doubling (gaps in [1, 2] s, then [2, 4]
   s, core/backoff.h's equal jitter).
2. After the third failure in a row /api/alarms lists notify.hook.failing
   active-unack (priority high, area station, kind channel, the message
   in both languages), and the sink gets a mail about it; the
   notification journal holds no row of that alarm for channel hook.
3. The bridge restarted (SIGTERM) with the receiver still failing: the
   alarm is restored active and stays active through the first failed
   attempt after the start (its condition is unknown: the failures
   before the restart are not counted again).
4. The receiver answers 200: the pending rows go out once (pa.t1.high
   reaches the webhook exactly once; notify.hook.failing never does),
   the alarm clears (cleared-unack in /api/alarms, a clear in the alarm
   journal), and its clear reaches the sink, once; every hook row is
   sent.
5. The bridge exits 0 on SIGTERM, no sanitizer report.

Standard library plus python3-aiosmtpd; /usr/bin/python3.  Prints "N
passed, M failed".
"""

import json
import os
import sqlite3
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbtest  # noqa: E402
from test_notify import Hook, Smtp, mail_has  # noqa: E402

check = lbtest.Checks()
FAILING = "notify.hook.failing"
DUTY = "duty@ftest.example"


def station_text(plc_port, smtp_port, hook_port, web_port, data):
    return """station: {id: ftest, name: {en: Fail test}, timezone: UTC}
data_dir: %(data)s
history: off
heartbeat: off
chattering: off
web: {listen: 127.0.0.1:%(web)d}
notify:
  channels:
    - {id: hook, type: webhook, url: "http://127.0.0.1:%(hook)d/alarm",
       timeout: 3s, fail_alarm: {after: 3}}
    - {id: mail, type: email, url: "smtp://127.0.0.1:%(smtp)d",
       from: lockbridge@ftest.example, to: [%(duty)s], starttls: never,
       timeout: 5s}
  routes:
    - {priority: [critical, high], notify: [hook, mail], on_clear: true}
  group: {wait: 1s}
plcs:
  - id: pa
    host: 127.0.0.1
    port: %(pa)d
    timeout: 200ms
    poll: {fast: 100ms}
    tags:
      - {id: t1, table: holding, address: 0, type: u16,
         alarms: [{id: high, above: 50, priority: high,
                   message: {en: "T1 {value}", zh: "T1 {value}"}}]}
""" % {"data": data, "smtp": smtp_port, "hook": hook_port, "web": web_port,
       "pa": plc_port, "duty": DUTY}


def db_rows(path, sql, args=()):
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=5)
    try:
        return db.execute(sql, args).fetchall()
    except sqlite3.Error:
        return []
    finally:
        db.close()


def attempts(data, channel="hook"):
    """[(ts_ns, ok, answer)] of the channel's attempts, oldest first."""
    return db_rows(os.path.join(data, "notify.db"),
                   "SELECT ts_ns, ok, answer FROM attempt WHERE channel = ?"
                   " ORDER BY id", (channel,))


def rows_of(data, alarm):
    """[(event, channel, recipient, status)] of the alarm's rows."""
    return db_rows(os.path.join(data, "notify.db"),
                   "SELECT event, channel, recipient, status FROM"
                   " notification WHERE alarm = ? ORDER BY id", (alarm,))


def journal_events(data, alarm):
    return [r[0] for r in db_rows(os.path.join(data, "alarms.db"),
                                  "SELECT event FROM journal WHERE alarm = ?"
                                  " ORDER BY seq", (alarm,))]


def api_alarm(port, alarm):
    """The alarm's entry in /api/alarms, or None."""
    try:
        st, body = lbtest.http("GET", "http://127.0.0.1:%d/api/alarms" % port)
    except OSError:
        return None
    if st != 200:
        return None
    for a in json.loads(body)["alarms"]:
        if a["id"] == alarm:
            return a
    return None


def served(port):
    try:
        return lbtest.http("GET", "http://127.0.0.1:%d/api/alarms"
                           % port)[0] == 200
    except OSError:
        return False


def state_of(port, alarm):
    a = api_alarm(port, alarm)
    return a.get("state") if a else None


def start(station, work, port):
    d = lbtest.Daemon(["-c", station, "--summary", "0"], cwd=work,
                      map_web=True)
    ok = lbtest.wait_for(lambda: served(port), 20)
    if not ok:
        raise RuntimeError("the bridge did not serve: " + d.log()[-2000:])
    return d


def test_retries(sim, hook, data, port):
    sim.set("pa.t1", 80)
    ok = lbtest.wait_for(lambda: state_of(port, "pa.t1.high") ==
                         "active-unack", 10)
    check(ok, "pa.t1.high active")
    ok = lbtest.wait_for(lambda: len(attempts(data)) >= 3, 20, 0.1)
    at = attempts(data)
    check(ok and all(a[1] == 0 and "500" in a[2] for a in at[:3]),
          "three failed attempts, each with the receiver's 500 in the "
          "journal (%r)" % [(a[1], a[2][:40]) for a in at[:3]])
    if len(at) >= 3:
        g1 = (at[1][0] - at[0][0]) / 1e9
        g2 = (at[2][0] - at[1][0]) / 1e9
        check(0.9 <= g1 <= 2.6 and 1.9 <= g2 <= 4.6,
              "back-off 2 s doubling: gaps %.2f s, %.2f s" % (g1, g2))
    check(hook.refused >= 3 and not hook.bodies,
          "the receiver refused %d POSTs, accepted none" % hook.refused)


def test_alarm_raised(smtp, data, port):
    ok = lbtest.wait_for(lambda: state_of(port, FAILING) == "active-unack",
                         5, 0.1)
    a = api_alarm(port, FAILING) or {}
    check(ok and a.get("priority") == "high" and a.get("area") == "station"
          and a.get("kind") == "channel",
          "/api/alarms: %s active-unack, high, area station, kind channel "
          "(%r)" % (FAILING, {k: a.get(k) for k in
                              ("state", "priority", "area", "kind")}))
    msg = json.dumps(a.get("message"), ensure_ascii=False)
    check("Notifications through channel 'hook' are failing" in msg and
          "通知通道 hook 发送失败" in msg, "its message in both languages "
          "(%s)" % msg)
    ok = lbtest.wait_for(lambda: mail_has(smtp, DUTY, FAILING, "active"), 15,
                         0.1)
    m = mail_has(smtp, DUTY, FAILING, "active")
    check(ok and len(m) == 1 and
          m[0][1] == "[HIGH 高] Fail test: %s active - Notifications through "
          "channel 'hook' are failing" % FAILING,
          "the sink gets one mail about it (%r)" % (m[0][1] if m else None))
    rows = rows_of(data, FAILING)
    check(rows and all(r[1] != "hook" for r in rows) and
          ("active", "mail", DUTY, "sent") in rows,
          "the journal: %s to mail only, never to hook (%r)" % (FAILING,
                                                                rows))


def test_restart(station, work, port, data, d):
    n0 = len(attempts(data))
    rc = d.stop()
    check(rc == 0, "SIGTERM with the channel failing: exit 0 (%s)" % rc)
    d = start(station, work, port)
    check(state_of(port, FAILING) == "active-unack",
          "restarted: %s restored active-unack" % FAILING)
    ok = lbtest.wait_for(lambda: len(attempts(data)) > n0, 10, 0.1)
    time.sleep(1.5)   # the timer runs once a second
    at = attempts(data)
    check(ok and at[-1][1] == 0 and state_of(port, FAILING) ==
          "active-unack", "the first attempt after the start fails and the "
          "alarm stays active (%d attempts since)" % (len(at) - n0))
    return d


def test_recovers(smtp, hook, data, port):
    hook.status = 200
    ok = lbtest.wait_for(lambda: hook.alarms(), 40, 0.1)
    ok = ok and lbtest.wait_for(lambda: state_of(port, FAILING) ==
                                "cleared-unack", 5, 0.1)
    check(ok, "the receiver answers 200: the alarm clears (%s)"
          % state_of(port, FAILING))
    check(journal_events(data, FAILING) == ["active", "clear"],
          "the alarm journal: active, clear (%r)" % journal_events(data,
                                                                  FAILING))
    ok = lbtest.wait_for(lambda: mail_has(smtp, DUTY, FAILING, "clear"), 15,
                         0.1)
    check(ok and len(mail_has(smtp, DUTY, FAILING, "clear")) == 1,
          "the clear reaches the sink, once")
    time.sleep(2)
    got = [(a["id"], a["event"]) for a, _ in hook.alarms()]
    check(got == [("pa.t1.high", "active")],
          "the webhook got pa.t1.high once and never its own alarm (%r)"
          % got)
    rows = [r for r in rows_of(data, "pa.t1.high") if r[1] == "hook"]
    check(rows == [("active", "hook", "", "sent")],
          "its hook row sent (%r)" % rows)
    check(mail_has(smtp, DUTY, "pa.t1.high", "active") and
          len(mail_has(smtp, DUTY, "pa.t1.high", "active")) == 1,
          "pa.t1.high mailed once (the mail channel never failed)")


def main():
    work = tempfile.mkdtemp(prefix="lbtest-failing-")
    data = os.path.join(work, "data")
    smtp = Smtp(work)
    hook = Hook()
    hook.status = 500
    sim = d = None
    try:
        plc_port, port = lbtest.free_port(), lbtest.free_port()
        station = os.path.join(work, "station.yaml")
        with open(station, "w", encoding="utf-8") as f:
            f.write(station_text(plc_port, smtp.port, hook.port, port, data))
        sim = lbtest.Sim(station, copy=False)
        d = start(station, work, port)
        check(state_of(port, FAILING) is None,
              "at start %s is normal (not listed)" % FAILING)
        test_retries(sim, hook, data, port)
        test_alarm_raised(smtp, data, port)
        d = test_restart(station, work, port, data, d)
        test_recovers(smtp, hook, data, port)
        d.stop_checked(check, 4000)
        d = None
    finally:
        lbtest.tear_down(work, d, sim, smtp, hook)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
