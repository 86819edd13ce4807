#!/usr/bin/python3
"""A hand-over in the test's near future: lock-sim -> lockbridge run -> the
notify thread -> Debian's aiosmtpd (test_notify.Smtp), on loopback.

A station of one PLC (poll 100 ms) with one alarm, pa.t.high (above 50,
high).  notify: wang on call at level 1 all day by the rota, and an
override that hands level 1 to li from a few seconds after the bridge
starts (local time with seconds, station time zone UTC) for an hour; one
route (high to oncall); group.wait 0 s.

1. The alarm before the hand-over: wang's mail, none to li.
2. Cleared, and raised again after it: li's mail, none more to wang.
3. Each mail once; the bridge exits 0 on SIGTERM.

Standard library plus python3-aiosmtpd; /usr/bin/python3.  Prints "N
passed, M failed".
"""

import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbtest  # noqa: E402
from test_notify import Smtp, mail_has  # noqa: E402

check = lbtest.Checks()
LEAD_S = 12


def local(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t))


def station_text(plc_port, smtp_port, data, handover):
    return """station: {id: htest, name: {en: Handover test}, timezone: UTC}
data_dir: %(data)s
history: off
heartbeat: off
chattering: off
notify:
  people:
    - {id: wang, email: wang@example.com}
    - {id: li, email: li@example.com}
  channels:
    - {id: mail, type: email, url: "smtp://127.0.0.1:%(smtp)d",
       from: lockbridge@htest.example, starttls: never, timeout: 5s}
  oncall:
    - level: 1
      rota: [{days: daily, from: "00:00", to: "24:00", person: wang}]
      overrides: [{from: "%(from)s", to: "%(to)s", person: li}]
  routes:
    - {priority: high, notify: [oncall]}
  group: {wait: 0s}
plcs:
  - id: pa
    host: 127.0.0.1
    port: %(pa)d
    timeout: 200ms
    poll: {fast: 100ms}
    tags:
      - {id: t, table: holding, address: 0, type: u16,
         alarms: [{id: high, above: 50, priority: high,
                   message: {en: "T {value}", zh: "T {value}"}}]}
""" % {"data": data, "smtp": smtp_port, "pa": plc_port,
       "from": local(handover), "to": local(handover + 3600)}


def main():
    work = tempfile.mkdtemp(prefix="lbtest-handover-")
    data = os.path.join(work, "data")
    smtp = Smtp(work)
    sim = d = None
    a = "pa.t.high"
    try:
        plc_port = lbtest.free_port()
        handover = int(time.time()) + LEAD_S
        station = os.path.join(work, "station.yaml")
        with open(station, "w", encoding="utf-8") as f:
            f.write(station_text(plc_port, smtp.port, data, handover))
        sim = lbtest.Sim(station, copy=False)
        d = lbtest.Daemon(["-c", station, "--summary", "0"], cwd=work)
        ok = lbtest.wait_for(lambda: "notify: 1 channels" in d.log(), 15)
        check(ok and time.time() < handover - 2,
              "the bridge starts %.1f s before the hand-over"
              % (handover - time.time()))
        sim.set("pa.t", 80)
        ok = lbtest.wait_for(lambda: mail_has(smtp, "wang@example.com", a,
                                              "active"), 10, 0.05)
        check(ok and time.time() < handover and
              not mail_has(smtp, "li@example.com", a, ""),
              "before the hand-over: wang's mail, none to li")
        sim.set("pa.t", 10)
        time.sleep(max(0, handover + 0.5 - time.time()))
        sim.set("pa.t", 80)
        ok = lbtest.wait_for(lambda: mail_has(smtp, "li@example.com", a,
                                              "active"), 10, 0.05)
        time.sleep(1)
        check(ok and len(mail_has(smtp, "wang@example.com", a, "")) == 1,
              "after the hand-over (the override, to the second): li's "
              "mail, none more to wang")
        counts = {}
        for m in smtp.mails():
            counts[(m[0], m[1])] = counts.get((m[0], m[1]), 0) + 1
        check(len(counts) == 2 and all(v == 1 for v in counts.values()),
              "each mail once (%r)" % counts)
        d.stop_checked(check, 3000)
        d = None
    finally:
        lbtest.tear_down(work, d, sim, smtp)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
