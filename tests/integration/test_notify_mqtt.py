#!/usr/bin/python3
"""The MQTT channel end to end: lock-sim -> lockbridge run -> the notify
thread -> Debian's mosquitto broker on a free loopback port (persistence
false, in a temporary directory) -> Debian's mosquitto_sub.

A station of one PLC written here (poll 100 ms) with three alarms,
pa.t1.high .. pa.t3.high (above 50, priority high, area head).  notify:
one mqtt channel `bus` (topic mtest/alarms, the summary on the default
mtest/alarms/active, QoS 1, timeout 3 s), one route (high to bus),
group.wait 1 s, public_url set.  An operator (oscar) acknowledges
through POST /api/alarms/ack after POST /api/login.

1. `notify test --channel bus` prints the broker's PUBACK and exits 0.
2. At start the retained summary is there, with an empty list.
3. pa.t1 past its limit: a QoS-1 subscriber to mtest/alarms gets one
   message whose JSON has the alarm id, event active, state, priority,
   area, both messages, the value and an ack_url under public_url.
4. A subscriber that connects afterwards gets the retained summary
   listing pa.t1.high as active-unack; after the ack through the API it
   says active-ack; after the clear the list is empty.
5. The broker stopped, pa.t2 raised: the journal row stays pending with
   "connect: Connection refused" as last_error; the broker restarted:
   delivered, exactly one message for that notification id.
6. kill -9 of the bridge with pa.t2 and pa.t3 active, a fresh broker (so
   nothing is retained from before), the bridge restarted: the retained
   summary lists both.
7. The broker down: `notify test` exits non-zero with "connect:
   Connection refused"; a peer that takes the connection and never
   answers: "no CONNACK ... within 3 s", after about the timeout; the
   bridge exits 0 on SIGTERM.

Standard library, mosquitto, mosquitto-clients; /usr/bin/python3.
Prints "N passed, M failed".
"""

import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbtest  # noqa: E402
from test_escalate import ack, start  # noqa: E402

check = lbtest.Checks()
PASSWORD = "operator-Secret-7m"
TOPIC = "mtest/alarms"
SUMMARY = TOPIC + "/active"
PUBLIC_URL = "https://mtest.example/"


class Broker:
    """Debian's mosquitto on 127.0.0.1:port (RECIPES.md): started and
    stopped by PID, as often as a test needs, always on the same port."""

    def __init__(self, work):
        self.port = lbtest.free_port()
        self.dir = os.path.join(work, "broker")
        os.makedirs(self.dir)
        # as root mosquitto drops to user mosquitto; it writes nothing
        # (persistence false, the log on stderr), but reads this file
        os.chmod(self.dir, 0o755)
        self.conf = os.path.join(self.dir, "mosquitto.conf")
        with open(self.conf, "w") as f:
            f.write("listener %d 127.0.0.1\nallow_anonymous true\n"
                    "persistence false\n" % self.port)
        self.log = open(os.path.join(work, "mosquitto.log"), "a")
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(["mosquitto", "-c", self.conf],
                                     stdout=self.log, stderr=self.log)
        end = time.time() + 15
        while time.time() < end:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError("mosquitto did not start (is it installed?)")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None


class Sub:
    """mosquitto_sub at QoS 1 on topic: every payload it prints, parsed.
    Ready once its SUBACK is in (-d prints the protocol lines, which are
    told apart from the JSON payloads)."""

    def __init__(self, broker, work, topic, name):
        self.path = os.path.join(work, name + ".out")
        self.out = open(self.path, "w")
        self.proc = subprocess.Popen(
            # line-buffered: a file is not a terminal
            ["stdbuf", "-oL", "mosquitto_sub", "-h", "127.0.0.1", "-p",
             str(broker.port), "-q", "1", "-t", topic, "-d"], stdout=self.out,
            stderr=subprocess.STDOUT)
        if not lbtest.wait_for(lambda: "SUBACK" in self._text(), 10, 0.02):
            self.stop()
            raise RuntimeError("mosquitto_sub did not subscribe: "
                               + self._text())

    def _text(self):
        with open(self.path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def messages(self):
        out = []
        for line in self._text().splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
        return out

    def alarms(self):
        return [a for m in self.messages() for a in m["alarms"]]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.out.close()


def retained(broker):
    """The retained summary a new subscriber gets, parsed; None."""
    p = subprocess.run(
        ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.port), "-q",
         "1", "-t", SUMMARY, "-C", "1", "-W", "2"], capture_output=True,
        text=True, timeout=10)
    if p.returncode != 0 or not p.stdout.strip():
        return None
    return json.loads(p.stdout.splitlines()[0])


def summary_is(broker, want, timeout=10):
    """Waits for the retained summary's [(id, state)] to be want: the
    last one seen."""
    last = [None]

    def ok():
        s = retained(broker)
        last[0] = s
        return s is not None and \
            [(a["id"], a["state"]) for a in s["alarms"]] == want
    lbtest.wait_for(ok, timeout, 0.2)
    return last[0]


def station_text(plc_port, broker_port, web_port, data):
    tags = "".join(
        "      - {id: t%d, table: holding, address: %d, type: u16,\n"
        "         alarms: [{id: high, above: 50, priority: high, area: head,\n"
        "                   message: {en: \"T%d {value}\", zh: \"温度%d {value}\"}}]}\n"
        % (i, i - 1, i, i) for i in range(1, 4))
    return """station: {id: mtest, name: {en: MQTT test}, timezone: UTC}
data_dir: %(data)s
history: off
heartbeat: off
chattering: off
web: {listen: 127.0.0.1:%(web)d}
auth: {anonymous: none}
notify:
  channels:
    - {id: bus, type: mqtt, url: "mqtt://127.0.0.1:%(mq)d", topic: %(topic)s,
       timeout: 3s}
  routes:
    - {priority: high, notify: [bus]}
  group: {wait: 1s}
  public_url: %(pub)s
plcs:
  - id: pa
    host: 127.0.0.1
    port: %(pa)d
    timeout: 200ms
    poll: {fast: 100ms}
    tags:
%(tags)s""" % {"data": data, "mq": broker_port, "web": web_port,
               "topic": TOPIC, "pub": PUBLIC_URL, "pa": plc_port,
               "tags": tags}


def notify_rows(data, alarm):
    db = sqlite3.connect("file:%s/notify.db?mode=ro" % data, uri=True,
                         timeout=5)
    try:
        return db.execute("SELECT id, event, status, attempts, last_error"
                          " FROM notification WHERE alarm = ? ORDER BY id",
                          (alarm,)).fetchall()
    except sqlite3.Error:
        return []
    finally:
        db.close()


def test_cli_silent(station, work, broker):
    """A listener that never answers (the kernel completes the handshake
    from the backlog): the channel's timeout bounds the CONNECT."""
    with socket.socket() as ls:
        ls.bind(("127.0.0.1", 0))
        ls.listen(4)
        silent = os.path.join(work, "silent.yaml")
        with open(station, encoding="utf-8") as f:
            text = f.read()
        with open(silent, "w", encoding="utf-8") as f:
            f.write(text.replace("127.0.0.1:%d\"" % broker.port,
                                 "127.0.0.1:%d\"" % ls.getsockname()[1]))
        t = time.time()
        p = notify_test(silent, work)
        dt = time.time() - t
    check(p.returncode != 0 and "bus: FAILED connect: no CONNACK from "
          "127.0.0.1:" in p.stdout and "within 3 s" in p.stdout and
          2.5 <= dt <= 6,
          "a silent peer: notify test gives up after %.1f s (timeout 3 s): "
          "%r" % (dt, (p.stdout + p.stderr)[-200:]))


def notify_test(station, work):
    return subprocess.run([lbtest.binary("lockbridge"), "notify", "test",
                           "-c", station, "--channel", "bus"],
                          capture_output=True, text=True, cwd=work,
                          timeout=60)


def test_cli_up(station, work, broker):
    sub = Sub(broker, work, TOPIC, "sub-cli")
    p = notify_test(station, work)
    check(p.returncode == 0 and "bus: ok PUBACK for mid " in p.stdout and
          ("from 127.0.0.1:%d" % broker.port) in p.stdout,
          "notify test: the broker's PUBACK, exit 0 (%d %r)"
          % (p.returncode, (p.stdout + p.stderr)[-200:]))
    ok = lbtest.wait_for(lambda: sub.alarms(), 5, 0.05)
    a = sub.alarms()
    check(ok and len(a) == 1 and a[0]["event"] == "test",
          "the subscriber gets the test message (%r)" % a[:1])
    sub.stop()


def test_alarm(sim, broker, work, op, sub):
    a = "pa.t1.high"
    sim.set("pa.t1", 80)
    ok = lbtest.wait_for(lambda: sub.alarms(), 10, 0.05)
    time.sleep(1.5)
    got = sub.alarms()
    m = got[0] if got else {}
    check(ok and len(got) == 1 and m.get("id") == a and
          m.get("event") == "active" and m.get("state") == "active-unack"
          and m.get("priority") == "high" and m.get("area") == "head" and
          m.get("message") == {"en": "T1 80", "zh": "温度1 80"} and
          m.get("value") == 80 and isinstance(m.get("notification"), int)
          and m.get("active_since"),
          "one message on %s: %s active, high, head, both messages, the "
          "value (%r)" % (TOPIC, a, got))
    check(str(m.get("ack_url", "")).startswith(PUBLIC_URL + "#/ack/"),
          "its ack_url is under public_url (%r)" % m.get("ack_url"))
    body = sub.messages()[0] if sub.messages() else {}
    check(body.get("version") == 1 and body.get("station", {}).get("id") ==
          "mtest" and body.get("url") == PUBLIC_URL,
          "the webhook's body: version, station, url")

    s = summary_is(broker, [(a, "active-unack")])
    al = s["alarms"][0] if s and s["alarms"] else {}
    check(s and [(x["id"], x["state"]) for x in s["alarms"]] ==
          [(a, "active-unack")] and al.get("priority") == "high" and
          al.get("area") == "head" and
          al.get("message") == {"en": "T1 80", "zh": "温度1 80"} and
          al.get("value") == 80 and al.get("active_since") and
          al.get("shelved") is False and al.get("suppressed") is False and
          al.get("out_of_service") is False and s.get("version") == 1 and
          s["station"]["id"] == "mtest" and s.get("sent"),
          "a late subscriber gets the retained summary: %s active-unack "
          "with its fields (%r)" % (a, s))
    st, b = ack(op, a)
    check(st == 200, "acknowledged through the API (%d %s)" % (st, b[:80]))
    s = summary_is(broker, [(a, "active-ack")])
    check(s and [(x["id"], x["state"]) for x in s["alarms"]] ==
          [(a, "active-ack")],
          "after the ack the summary says active-ack (%r)"
          % (s and s["alarms"]))
    sim.set("pa.t1", 10)
    s = summary_is(broker, [])
    check(s is not None and s["alarms"] == [],
          "after the clear (acknowledged) the summary's list is empty (%r)"
          % (s and s["alarms"]))


def last_retry_s(d):
    """The back-off of bus's last failed attempt as the log says it."""
    for line in reversed(d.log().splitlines()):
        if "bus: attempt " in line and " failed: " in line:
            try:
                return float(line.rsplit("retry in ", 1)[1].split()[0])
            except (IndexError, ValueError):
                return None
    return None


def test_outage(sim, broker, work, data, d):
    a = "pa.t2.high"
    broker.stop()
    sim.set("pa.t2", 90)

    def pending():
        r = notify_rows(data, a)
        return r and r[0][2] == "pending" and r[0][3] >= 1 and \
            "connect: Connection refused" in (r[0][4] or "")
    ok = lbtest.wait_for(pending, 15, 0.1)
    rows = notify_rows(data, a)
    check(ok, "the broker down: the row stays pending, last_error "
          "\"connect: Connection refused\" (%r)" % rows)
    # Back when the bridge's next try is seconds away, so the new
    # subscriber is in before it.
    ok = lbtest.wait_for(lambda: (last_retry_s(d) or 0) >= 3, 30, 0.05)
    check(ok, "the bridge backs off (retry in %s s)" % last_retry_s(d))
    broker.start()
    sub = Sub(broker, work, TOPIC, "sub-outage")
    ok = lbtest.wait_for(lambda: notify_rows(data, a)[0][2] == "sent", 60,
                         0.1)
    time.sleep(1.5)
    nid = rows[0][0] if rows else None
    got = [x for x in sub.alarms() if x.get("notification") == nid]
    check(ok and len(got) == 1 and got[0]["id"] == a,
          "the broker back: notification %s delivered exactly once (%d)"
          % (nid, len(got)))
    r = notify_rows(data, a)
    check(r and r[0][2] == "sent" and r[0][3] >= 2,
          "the journal: sent after %s attempts" % (r and r[0][3]))
    sub.stop()


def test_kill9(sim, broker, station, work, port, d):
    sim.set("pa.t3", 70)
    ok = summary_is(broker, [("pa.t2.high", "active-unack"),
                             ("pa.t3.high", "active-unack")])
    d.kill9()
    broker.stop()
    broker.start()
    check(retained(broker) is None,
          "kill -9; a fresh broker retains nothing (%r)" % (ok and True))
    d, op = start(station, work, port)
    s = summary_is(broker, [("pa.t2.high", "active-unack"),
                            ("pa.t3.high", "active-unack")], 15)
    check(s and [(x["id"], x["state"]) for x in s["alarms"]] ==
          [("pa.t2.high", "active-unack"), ("pa.t3.high", "active-unack")],
          "after the restart the retained summary lists both active "
          "alarms (%r)" % (s and s["alarms"]))
    return d


def main():
    work = tempfile.mkdtemp(prefix="lbtest-mqtt-")
    data = os.path.join(work, "data")
    broker = Broker(work)
    sim = d = sub = None
    try:
        broker.start()
        plc_port, port = lbtest.free_port(), lbtest.free_port()
        station = os.path.join(work, "station.yaml")
        with open(station, "w", encoding="utf-8") as f:
            f.write(station_text(plc_port, broker.port, port, data))
        p = subprocess.run([lbtest.binary("lockbridge"), "check", "-c",
                            station], capture_output=True, text=True,
                           cwd=work, timeout=60)
        check(p.returncode == 0, "check passes an mqtt channel (%s)"
              % (p.stdout + p.stderr)[-300:])
        test_cli_up(station, work, broker)
        sim = lbtest.Sim(station, copy=False)
        p = subprocess.run(
            [lbtest.binary("lockbridge"), "user", "add", "oscar", "--role",
             "operator", "-c", station, "--password-stdin"],
            input=PASSWORD + "\n", capture_output=True, text=True, cwd=work,
            timeout=60)
        check(p.returncode == 0, "an operator (%s)" % p.stderr.strip())
        sub = Sub(broker, work, TOPIC, "sub")
        d, op = start(station, work, port)
        s = summary_is(broker, [])
        check(s is not None and s["alarms"] == [],
              "at start the retained summary is there, empty (%r)" % s)
        time.sleep(1)
        test_alarm(sim, broker, work, op, sub)
        sub.stop()
        sub = None
        test_outage(sim, broker, work, data, d)
        d = test_kill9(sim, broker, station, work, port, d)
        broker.stop()
        p = notify_test(station, work)
        check(p.returncode != 0 and
              "bus: FAILED connect: Connection refused" in p.stdout + p.stderr,
              "the broker down: notify test says why and exits %d (%r)"
              % (p.returncode, (p.stdout + p.stderr)[-200:]))
        test_cli_silent(station, work, broker)
        d.stop_checked(check, 4000)
        d = None
    finally:
        lbtest.tear_down(work, d, sim, sub, broker)
        broker.log.close()
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
