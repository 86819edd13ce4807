#!/usr/bin/python3
"""A flood of alarms through the notify thread: lock-sim -> lockbridge run
-> Debian's aiosmtpd, a webhook receiver and the fake WeCom and DingTalk
robots of test_notify (which refuse, as the real ones do, a message
beyond their rate limit), on loopback.

A station of one PLC (poll 100 ms) whose tag pa.lvl has 100 alarms,
pa.lvl.a0 .. pa.lvl.a99 (above 0 .. 99; the first 10 critical, the rest
high).  notify: wang on call all day; one route (critical and high to
oncall, the webhook, WeCom, and DingTalk as an actionCard); group.wait
2 s, group.interval 6 s; both robots limited to 1 message per 10 s (the
fakes enforce the same; the real ones allow 20 a minute, the default).

lock-sim's value goes from 0 to 100 in steps of 1 every 0.2 s: 100
activations in 20 s.  Then:
1. The alarm journal has 100 activations, the notify journal 100 sent
   rows for each of the four recipients: every alarm journalled and
   delivered, none dropped.
2. A few messages per channel (the figures are printed): the first
   within group.wait, then, the flood detected (more than 10 in 10
   minutes), one per group.interval; the robots held back by their rate
   limit besides, never refused by it (no 45009 or 130101 at the fakes).
3. The grouped messages are summaries ("N new alarm events: ... critical,
   ... high", "... and N more" with the link to #/alarms); the webhook's
   bodies list every alarm, each once; DingTalk gets actionCards.
4. The bridge logs why it held messages back, and exits 0 on SIGTERM.

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
from test_notify import (DING_SECRET, Hook, Robot, Smtp,  # noqa: E402
                         PHONE)

check = lbtest.Checks()
N = 100
RATE = (1, 10)          # robots: messages, per seconds
INTERVAL_S = 6


def station_text(plc_port, smtp_port, hook_port, web_port, data):
    alarms = "".join(
        "           - {id: a%d, above: %d, priority: %s,\n"
        "              message: {en: \"Level above %d\", zh: \"水位超 %d\"}}\n"
        % (i, i, "critical" if i < 10 else "high", i, i) for i in range(N))
    return """station: {id: ftest, name: {en: Flood test}, timezone: UTC}
data_dir: %(data)s
history: off
heartbeat: off
chattering: off
web: {listen: 127.0.0.1:%(web)d}
notify:
  people:
    - {id: wang, email: wang@example.com, wecom: wangli, phone: "%(phone)s"}
  channels:
    - {id: mail, type: email, url: "smtp://127.0.0.1:%(smtp)d",
       from: lockbridge@ftest.example, starttls: never, timeout: 5s}
    - {id: hook, type: webhook, url: "http://127.0.0.1:%(hook)d/alarm",
       timeout: 5s}
    - {id: group, type: wecom, url_env: LB_TEST_WECOM, timeout: 5s,
       rate_limit: {messages: %(rn)d, per: %(rs)ds}}
    - {id: ding, type: dingtalk, url_env: LB_TEST_DING,
       secret_env: LB_TEST_DING_SECRET, msgtype: actionCard, timeout: 5s,
       rate_limit: {messages: %(rn)d, per: %(rs)ds}}
  oncall:
    - level: 1
      rota: [{days: daily, from: "00:00", to: "24:00", person: wang}]
  routes:
    - {priority: [critical, high], notify: [oncall, hook, group, ding]}
  group: {wait: 2s, interval: %(iv)ds}
  public_url: http://127.0.0.1:%(web)d/
plcs:
  - id: pa
    host: 127.0.0.1
    port: %(pa)d
    timeout: 200ms
    poll: {fast: 100ms}
    tags:
      - id: lvl
        table: holding
        address: 0
        type: u16
        alarms:
%(alarms)s""" % {"data": data, "smtp": smtp_port, "hook": hook_port,
                 "web": web_port, "phone": PHONE, "rn": RATE[0],
                 "rs": RATE[1], "iv": INTERVAL_S, "pa": plc_port,
                 "alarms": alarms}


def sent_rows(data):
    db = sqlite3.connect("file:%s/notify.db?mode=ro" % data, uri=True,
                         timeout=5)
    try:
        return dict(db.execute(
            "SELECT channel || ' ' || recipient, count(*) FROM notification"
            " WHERE event = 'active' AND status = 'sent' GROUP BY channel,"
            " recipient").fetchall())
    except sqlite3.Error:
        return {}
    finally:
        db.close()


def activations(data):
    db = sqlite3.connect("file:%s/alarms.db?mode=ro" % data, uri=True,
                         timeout=5)
    try:
        return db.execute("SELECT count(DISTINCT alarm) FROM journal WHERE"
                          " event = 'active'").fetchone()[0]
    finally:
        db.close()


WANT = {"mail wang@example.com": N, "hook ": N, "group ": N, "ding ": N}


def main():
    work = tempfile.mkdtemp(prefix="lbtest-flood-")
    data = os.path.join(work, "data")
    hook = Hook()
    smtp = Smtp(work)
    robots = [Robot("wecom", RATE), Robot("dingtalk", RATE)]
    os.environ["LB_TEST_WECOM"] = robots[0].url()
    os.environ["LB_TEST_DING"] = robots[1].url()
    os.environ["LB_TEST_DING_SECRET"] = DING_SECRET
    sim = d = None
    try:
        plc_port, web_port = lbtest.free_port(), lbtest.free_port()
        station = os.path.join(work, "station.yaml")
        with open(station, "w", encoding="utf-8") as f:
            f.write(station_text(plc_port, smtp.port, hook.port, web_port,
                                 data))
        sim = lbtest.Sim(station, copy=False)
        d = lbtest.Daemon(["-c", station, "--summary", "0"], cwd=work)
        ok = lbtest.wait_for(lambda: "notify: 4 channels" in d.log(), 15)
        check(ok, "the bridge starts its notify thread")
        time.sleep(1)
        t0 = time.time()
        for v in range(1, N + 1):
            sim.set("pa.lvl", v)
            time.sleep(max(0, t0 + v * 0.2 - time.time()))
        ramp = time.time() - t0
        ok = lbtest.wait_for(lambda: sent_rows(data) == WANT, 60, 0.5)
        took = time.time() - t0
        check(activations(data) == N,
              "%d activations in %.1f s, all in the alarm journal" % (N, ramp))
        check(ok, "every one delivered to each of the four, %.0f s after "
              "the first (%r)" % (took, sent_rows(data)))

        mails = [m for m in smtp.mails() if m[0] == "wang@example.com"]
        posts = len(hook.bodies)
        counts = (len(mails), posts, len(robots[0].messages),
                  len(robots[1].messages))
        print("messages for %d alarms in %.0f s: mail %d, webhook %d, "
              "wecom %d, dingtalk %d" % ((N, ramp) + counts))
        # the first within group.wait, then one per group.interval over
        # the ramp, and the rest: a handful, not a hundred
        bound = int(ramp / INTERVAL_S) + 3
        check(2 <= counts[0] <= bound and 2 <= counts[1] <= bound,
              "mail %d and webhook %d messages, at most %d (group.wait, "
              "then one per group.interval)" % (counts[0], counts[1], bound))
        rbound = int(took / RATE[1]) + 2
        check(all(1 <= c <= rbound for c in counts[2:]),
              "robots %d and %d messages, at most %d (rate limit %d per "
              "%d s)" % (counts[2], counts[3], rbound, RATE[0], RATE[1]))
        check(not robots[0].errors and not robots[1].errors,
              "the robots never refused one: held back, not sent too fast "
              "(%r %r)" % (robots[0].errors, robots[1].errors))
        for r in robots:
            ts = r.times
            check(all(ts[i + RATE[0]] - ts[i] >= RATE[1] - 0.5
                      for i in range(len(ts) - RATE[0])),
                  "%s: never more than %d in %d s (%s)" % (
                      r.kind, RATE[0], RATE[1],
                      ", ".join("%.1f" % (t - t0) for t in ts)))

        ids = [a["id"] for a, _ in hook.alarms()]
        check(sorted(ids) == sorted("pa.lvl.a%d" % i for i in range(N)),
              "the webhook's bodies list every alarm once (%d)" % len(ids))
        texts = robots[0].texts() + robots[1].texts()
        check(any("new alarm events:" in t and "critical" in t and
                  "... and " in t and "/#/alarms" in t for t in texts),
              "a robot's message is a summary: counts by priority, the "
              "rest behind the link to #/alarms")
        check(any("new alarm events:" in m[2] for m in mails) and
              any(" alarms - " in m[1] for m in mails),
              "a mail is a summary (%r)" % [m[1] for m in mails])
        check(all(m.get("msgtype") == "actionCard"
                  for m in robots[1].messages),
              "DingTalk gets actionCards")
        log = d.log()
        print("\n".join(l for l in log.splitlines() if "held back" in l))
        check("a flood (more than 10 alarms in 10 minutes)" in log and
              "its rate limit is reached" in log,
              "the log says why messages were held back")
        d.stop_checked(check, 3000)
        d = None
    finally:
        lbtest.tear_down(work, d, sim, smtp, hook, *robots)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
