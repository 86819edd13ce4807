#!/usr/bin/python3
"""On-call notifications end to end: lock-sim -> lockbridge run -> the
notify thread -> an SMTP sink (Debian's aiosmtpd), a webhook receiver and
fake WeCom and DingTalk robots written here, on loopback.  The fakes check
what the real robots check (the key; the signature and its timestamp;
the body's shape and the 4,096-byte limit) and answer HTTP 200 with an
errcode, as the real ones do.

A station of one PLC written here (poll 100 ms): pa.temp.high (above 60,
priority high, area head) and pa.lvl.high (above 7, critical, area yard).
notify: two people, wang on call now (a rota built around the current
UTC time, li on the other side of the hand-overs), an email channel to
the sink (starttls: auto; another with starttls: always, which the sink
cannot do), a webhook channel to the receiver, the two robots (URLs and
the DingTalk secret by environment), one route (critical and high to
oncall, the webhook and both robots, on_clear: true), group.wait 2 s.

1. `check` prints the golden rota warnings of tests/data/config/
   notify_rota_warn and exits 0; `notify test` prints each channel's
   exact answer (250 from the sink, HTTP 200 and the receiver's body, the
   robots' errcodes: 0, 93000 for a wrong key, 310000 for a wrong
   secret).
2. A value set past a limit: the mail reaches the person on call (wang,
   not li) with the subject "[HIGH 高] Notify test: pa.temp.high active -
   ..." and the message in both languages; the webhook gets one POST with
   a valid body (station, alarm id, event, state, priority, area, message
   en and zh, value, times); WeCom gets markdown under 4,096 bytes ending
   with <@wangli>, DingTalk a signed message with at.atMobiles.
3. The acknowledgement (through the link) is told to all four ("acknowledged
   by wang at ..."); the clear is notified to all four (on_clear: true).
4. kill -9 between journal and delivery: an alarm whose rows are in the
   notify journal but still waiting out group.wait when the bridge dies
   is delivered after the restart, once.
5. kill -9 during a channel outage: the receiver answers 503, the bridge
   retries (each attempt in the journal with the answer), is killed, the
   receiver comes back, the bridge restarts: the webhook gets it once, the
   mail (which went out before the kill) is not sent again.
6. Over the whole test every alarm event reached each recipient exactly
   once, and the bridge exits 0 on SIGTERM with no sanitizer report.

Standard library plus python3-aiosmtpd; /usr/bin/python3.  Prints "N
passed, M failed".
"""

import base64
import email
import email.header
import email.policy
import hashlib
import hmac
import http.server
import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbtest  # noqa: E402

check = lbtest.Checks()
WAIT_S = 2


class JsonServer:
    """An HTTP server on a free loopback port whose POSTs are answered by
    answer(path, content type, body) -> (status, JSON-able answer)."""

    def __init__(self, answer):
        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                status, ans = answer(self.path,
                                     self.headers.get("Content-Type", ""),
                                     self.rfile.read(n))
                out = json.dumps(ans).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *a):
                pass

        self.port = lbtest.free_port()
        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", self.port),
                                                   H)
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()


class Hook(JsonServer):
    """The webhook receiver: every POST body kept; `status` is what it
    answers (503 while "down")."""

    def __init__(self):
        self.bodies = []
        self.status = 200
        self.refused = 0
        super().__init__(self.answer)

    def answer(self, path, ctype, data):
        if self.status == 200:
            self.bodies.append((path, ctype, data))
            return 200, {"received": True}
        self.refused += 1
        return self.status, {"error": "down for the test"}

    def alarms(self):
        """[(alarm dict, whole body dict)] of every accepted POST."""
        out = []
        for _, _, data in list(self.bodies):
            b = json.loads(data)
            for a in b["alarms"]:
                out.append((a, b))
        return out


WECOM_KEY = "test-key-7f3a"
DING_TOKEN = "tok-19c2"
DING_SECRET = "SEC0123456789abcdef"
PHONE = "+8613800000000"


class Robot(JsonServer):
    """A fake WeCom (kind "wecom") or DingTalk ("dingtalk") group robot:
    checks what the real one checks (the key; the signature and its
    timestamp; the body's shape, the size limit, the mention) and answers
    HTTP 200 with an errcode, as both do.  Accepted messages in
    `messages`, refusals counted by errcode in `errors`.  limit: (n, s),
    the robot's rate limit (both allow 20 a minute): a message beyond n
    in any s seconds is refused as the real ones refuse it (WeCom 45009,
    DingTalk 130101).  A DingTalk actionCard is checked too."""

    def __init__(self, kind, limit=None):
        self.kind = kind
        self.limit = limit
        self.times = []
        self.messages = []
        self.errors = {}
        self.mu = threading.Lock()
        super().__init__(self.answer)

    def answer(self, path, ctype, data):
        with self.mu:
            now = time.time()
            code, msg = 0, "ok"
            if self.limit:
                n, secs = self.limit
                if len([t for t in self.times if t > now - secs]) >= n:
                    code, msg = ((45009, "api freq out of limit")
                                 if self.kind == "wecom"
                                 else (130101, "send too fast"))
            self.times.append(now)
            if not code:
                code, msg = self.judge(path, data)
            if code:
                self.errors[code] = self.errors.get(code, 0) + 1
        return 200, {"errcode": code, "errmsg": msg}

    def url(self):
        if self.kind == "wecom":
            return ("http://127.0.0.1:%d/cgi-bin/webhook/send?key=%s"
                    % (self.port, WECOM_KEY))
        return ("http://127.0.0.1:%d/robot/send?access_token=%s"
                % (self.port, DING_TOKEN))

    def judge(self, path, data):
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
        try:
            body = json.loads(data)
        except ValueError:
            return 40000, "bad json"
        if self.kind == "wecom":
            if q.get("key") != [WECOM_KEY]:
                return 93000, "invalid webhook url"
            c = body.get("markdown", {}).get("content")
            if body.get("msgtype") != "markdown" or not isinstance(c, str) \
                    or len(c.encode()) >= 4096:
                return 40008, "invalid message"
        else:
            if q.get("access_token") != [DING_TOKEN]:
                return 300001, "token is not exist"
            ts = q.get("timestamp", ["0"])[0]
            want = base64.b64encode(hmac.new(
                DING_SECRET.encode(), ("%s\n%s" % (ts, DING_SECRET)).encode(),
                hashlib.sha256).digest()).decode()
            if q.get("sign") != [want] or \
                    abs(int(ts) - time.time() * 1000) > 3600 * 1000:
                return 310000, "sign not match"
            if body.get("msgtype") == "actionCard":
                card = body.get("actionCard", {})
                btns = card.get("btns")
                ok = isinstance(card.get("title"), str) and \
                    isinstance(card.get("text"), str) and (
                        str(card.get("singleURL", "")).startswith("http")
                        and isinstance(card.get("singleTitle"), str) or
                        isinstance(btns, list) and btns and all(
                            isinstance(b.get("title"), str) and
                            str(b.get("actionURL", "")).startswith("http")
                            for b in btns))
                if not ok:
                    return 40035, "invalid actionCard"
            else:
                md = body.get("markdown", {})
                if body.get("msgtype") != "markdown" or \
                        not isinstance(md.get("title"), str) or \
                        not isinstance(md.get("text"), str):
                    return 40035, "invalid message"
        self.messages.append(body)
        return 0, "ok"

    def texts(self):
        if self.kind == "wecom":
            return [m["markdown"]["content"] for m in self.messages]
        return [m.get("markdown", m.get("actionCard", {}))["text"]
                for m in self.messages]


class Smtp:
    """aiosmtpd's Mailbox handler: each mail a file in maildir/new."""

    def __init__(self, work):
        self.port = lbtest.free_port()
        self.dir = os.path.join(work, "maildir")
        self.log = open(os.path.join(work, "smtp.log"), "w")
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", "-m", "aiosmtpd", "-n", "-l",
             "127.0.0.1:%d" % self.port, "-c", "aiosmtpd.handlers.Mailbox",
             self.dir], stdout=self.log, stderr=self.log)
        end = time.time() + 15
        while time.time() < end:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError("aiosmtpd did not start (is python3-aiosmtpd "
                           "installed?)")

    def mails(self):
        """[(rcpt, subject, text/plain body, message)] in arrival order."""
        new = os.path.join(self.dir, "new")
        out = []
        if not os.path.isdir(new):
            return out
        files = sorted(os.listdir(new),
                       key=lambda f: os.stat(os.path.join(new, f)).st_mtime)
        for f in files:
            with open(os.path.join(new, f), "rb") as fh:
                m = email.message_from_binary_file(fh,
                                                   policy=email.policy.default)
            subj = str(email.header.make_header(
                email.header.decode_header(m["Subject"] or "")))
            text = ""
            for part in m.walk():
                if part.get_content_type() == "text/plain":
                    text = part.get_content()
            out.append((m["X-RcptTo"] or "", subj, text, m))
        return out

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.log.close()


def rota_text():
    """wang on call for two hours around now (UTC), li the rest of the
    day: a route to oncall that picks the wrong side mails li."""
    now = time.gmtime()
    m = now.tm_hour * 60 + now.tm_min
    a, b = (m - 60) % 1440, (m + 60) % 1440
    hm = lambda x: "%02d:%02d" % (x // 60, x % 60)  # noqa: E731
    return ("        - {days: daily, from: \"%s\", to: \"%s\", person: wang}\n"
            "        - {days: daily, from: \"%s\", to: \"%s\", person: li}\n"
            % (hm(a), hm(b), hm(b), hm(a)))


def station_text(plc_port, smtp_port, hook_port, data):
    return """station: {id: ntest, name: {en: Notify test, zh: 通知测试},
          timezone: UTC}
data_dir: %(data)s
history: off
heartbeat: off
chattering: off
notify:
  people:
    - {id: wang, name: 王工, email: wang@example.com, wecom: wangli,
       phone: "%(phone)s"}
    - {id: li, name: 李工, email: li@example.com}
  channels:
    - {id: mail, type: email, url: "smtp://127.0.0.1:%(smtp)d",
       from: lockbridge@ntest.example, starttls: auto, timeout: 5s}
    - {id: mailtls, type: email, url: "smtp://127.0.0.1:%(smtp)d",
       from: lockbridge@ntest.example, starttls: always, timeout: 5s,
       to: [duty@ntest.example]}
    - {id: hook, type: webhook, url: "http://127.0.0.1:%(hook)d/alarm",
       timeout: 5s}
    - {id: group, type: wecom, url_env: LB_TEST_WECOM, timeout: 5s}
    - {id: ding, type: dingtalk, url_env: LB_TEST_DING,
       secret_env: LB_TEST_DING_SECRET, timeout: 5s}
  oncall:
    - level: 1
      rota:
%(rota)s  routes:
    - {priority: [critical, high], notify: [oncall, hook, group, ding],
       on_clear: true}
  group: {wait: %(wait)ds}
  public_url: https://ntest.example/
plcs:
  - id: pa
    host: 127.0.0.1
    port: %(pa)d
    timeout: 200ms
    poll: {fast: 100ms}
    tags:
      - {id: temp, table: holding, address: 0, type: i16, scale: 0.1,
         unit: "°C",
         alarms: [{id: high, above: 60, priority: high, area: head,
                   message: {en: "Oil {value} {unit}",
                             zh: "油温高 {value} {unit}"}}]}
      - {id: lvl, table: holding, address: 1, type: u16, scale: 0.1,
         alarms: [{id: high, above: 7, priority: critical, area: yard,
                   message: {en: "Sump level {value}",
                             zh: "集水井水位 {value}"}}]}
""" % {"data": data, "smtp": smtp_port, "hook": hook_port,
       "rota": rota_text(), "wait": WAIT_S, "pa": plc_port, "phone": PHONE}


def lb(args, cwd):
    return lbtest.run_bridge(args, cwd=cwd, timeout=60)


def notify_rows(data, where="1"):
    db = sqlite3.connect("file:%s/notify.db?mode=ro" % data, uri=True,
                         timeout=5)
    try:
        return db.execute("SELECT alarm, event, channel, recipient, status,"
                          " attempts, last_error FROM notification WHERE "
                          + where + " ORDER BY id").fetchall()
    finally:
        db.close()


def attempts(data):
    db = sqlite3.connect("file:%s/notify.db?mode=ro" % data, uri=True,
                         timeout=5)
    try:
        return db.execute("SELECT channel, recipient, rows, ok, answer FROM "
                          "attempt ORDER BY id").fetchall()
    finally:
        db.close()


def hook_has(hook, alarm, event):
    return [a for a, _ in hook.alarms()
            if a["id"] == alarm and a["event"] == event]


def mail_has(smtp, rcpt, alarm, event_word):
    return [m for m in smtp.mails()
            if m[0] == rcpt and alarm in m[1] and event_word in m[1]]


def robot_count(robot, alarm, event):
    word = {"active": "active 报警", "clear": "cleared 恢复",
            "ack": "acknowledged 已确认"}[event]
    return sum(t.count("%s %s" % (alarm, word)) for t in robot.texts())


def test_robots_cli(station, work, wecom, ding):
    rc, out, err = lb(["notify", "test", "-c", station, "--channel", "group"],
                      work)
    check(rc == 0 and out == 'group: ok HTTP 200: {"errcode": 0, "errmsg": '
          '"ok"}\n', "notify test --channel group: the robot's answer "
          "(%d %r %r)" % (rc, out, err))
    c = wecom.texts()[0] if wecom.messages else ""
    check("notify.test" in c and c.rstrip().endswith("<@wangli>"),
          "the WeCom markdown mentions the person on call (%r)" % c[-80:])
    rc, out, err = lb(["notify", "test", "-c", station, "--channel", "ding"],
                      work)
    check(rc == 0 and out.startswith("ding: ok HTTP 200: "),
          "notify test --channel ding: signed, accepted (%d %r %r)"
          % (rc, out, err))
    m = ding.messages[0] if ding.messages else {}
    check(m.get("at") == {"atMobiles": [PHONE]} and
          m.get("markdown", {}).get("title", "").startswith("[LOW 低]"),
          "the DingTalk message: title, at.atMobiles (%r)" % m.get("at"))
    env = dict(os.environ, LB_TEST_WECOM=wecom.url().replace(WECOM_KEY,
                                                             "wrong"))
    rc, out, err = lbtest.run_bridge(["notify", "test", "-c", station,
                                      "--channel", "group"], env=env,
                                     cwd=work)
    check(rc == 1 and out == 'group: FAILED HTTP 200: {"errcode": 93000, '
          '"errmsg": "invalid webhook url"} (errcode 93000: invalid webhook '
          'key)\n', "a wrong WeCom key: HTTP 200 but errcode 93000, exit 1 "
          "(%d %r)" % (rc, out))
    env = dict(os.environ, LB_TEST_DING_SECRET="not-the-secret")
    rc, out, err = lbtest.run_bridge(["notify", "test", "-c", station,
                                      "--channel", "ding"], env=env,
                                     cwd=work)
    check(rc == 1 and "(errcode 310000: bad signature or keyword)" in out,
          "a wrong DingTalk secret: errcode 310000, exit 1 (%d %r)"
          % (rc, out))
    wecom.messages.clear()
    ding.messages.clear()


def test_cli(station, work, hook, smtp):
    rc, out, err = lb(["check", "-c",
                       "tests/data/config/notify_rota_warn/station.yaml"],
                      lbtest.SOURCE)
    with open(os.path.join(lbtest.SOURCE, "tests/data/config/"
                           "notify_rota_warn/expected.warn"),
              encoding="utf-8") as f:
        want = f.read()
    check(rc == 0 and err == want and "warning: oncall level 1: nobody is "
          "on call sat 09:00 - mon 08:00" in err,
          "check prints the rota warnings and exits 0 (%d %r)"
          % (rc, err[:300]))
    rc, out, err = lb(["notify", "test", "-c", station, "--channel", "hook"],
                      work)
    check(rc == 0 and out == 'hook: ok HTTP 200: {"received": true}\n',
          "notify test --channel hook prints the HTTP status and body "
          "(%d %r %r)" % (rc, out, err))
    check(len(hook.bodies) == 1 and
          json.loads(hook.bodies[0][2])["alarms"][0]["event"] == "test" and
          hook.bodies[0][1] == "application/json",
          "... and the receiver got one JSON test message")
    hook.bodies.clear()
    rc, out, err = lb(["notify", "test", "-c", station, "--channel", "mail"],
                      work)
    check(rc == 0 and out.startswith("mail -> wang@example.com: ok 250 ")
          and out.count("\n") == 1,
          "notify test --channel mail mails the person on call and prints "
          "the server's reply (%d %r %r)" % (rc, out, err))
    ok = lbtest.wait_for(lambda: len(smtp.mails()) == 1, 10)
    check(ok and "notify.test" in smtp.mails()[0][1],
          "... and the sink has the test mail")
    rc, out, err = lb(["notify", "test", "-c", station, "--channel",
                       "mailtls"], work)
    check(rc == 1 and out.startswith("mailtls -> duty@ntest.example: FAILED ")
          and len(smtp.mails()) == 1,
          "starttls: always against a server without STARTTLS: refused, "
          "nothing sent in the clear (%d %r)" % (rc, out))
    hook.status = 503
    rc, out, err = lb(["notify", "test", "-c", station, "--channel", "hook"],
                      work)
    check(rc == 1 and out == 'hook: FAILED HTTP 503: {"error": "down for '
          'the test"}\n', "a refusing webhook: exit 1 and its answer (%d %r)"
          % (rc, out))
    hook.status = 200
    rc, out, err = lb(["notify", "test", "-c", station, "--channel", "x"],
                      work)
    check(rc == 64 and "no notify channel 'x'" in err,
          "notify test of an unknown channel: exit 64 (%d %r)" % (rc, err))
    new = os.path.join(smtp.dir, "new")
    for f in os.listdir(new):
        os.unlink(os.path.join(new, f))


ROBOTS = []


def post_json(port, path, body):
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        c.request("POST", path, body=json.dumps(body),
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        return r.status, json.loads(r.read() or b"{}")
    finally:
        c.close()


def test_ack_links(hook, smtp, web_port):
    """The activation's messages carry acknowledge links for wang (the
    person on call) under public_url; the mail's link acknowledges."""
    got = [x for x, _ in hook.alarms()
           if x["id"] == "pa.temp.high" and x["event"] == "active"]
    url = got[0].get("ack_url") if got else None
    check(url and url.startswith("https://ntest.example/#/ack/"),
          "the webhook's alarm has its acknowledge link under public_url "
          "(%r)" % (url and url[:40]))
    m = mail_has(smtp, "wang@example.com", "pa.temp.high", "active")
    text = m[0][2] if m else ""
    found = re.search(r"Acknowledge / 确认: (https://ntest\.example/#/ack/"
                      r"(\S+))", text)
    html = [p.get_content() for p in m[0][3].iter_parts()][1] if m else ""
    check(found and found.group(1) in html,
          "the mail has the link in its text and its HTML")
    w = [t for t in ROBOTS[0].texts() if "pa.temp.high" in t]
    check(w and "[Acknowledge 确认](https://ntest.example/#/ack/" in w[0],
          "the WeCom message links it too")
    if not found:
        return
    st, body = post_json(web_port, "/api/acklink",
                         {"t": found.group(2), "comment": "from the mail"})
    a = (body.get("alarms") or [{}])[0]
    check(st == 200 and a.get("acked_by") == "wang",
          "the mail's link acknowledges the alarm as wang (%d %r)"
          % (st, body.get("error") or a.get("acked_by")))
    st, body = post_json(web_port, "/api/acklink", {"t": url.split("#/ack/")[1]})
    check(st == 409, "the webhook's link then finds nothing to acknowledge "
          "(%d %r)" % (st, body.get("error")))


def test_alarm_and_clear(sim, hook, smtp, data, d, robots, web_port):
    sim.set("pa.temp", 65.5)
    ok = lbtest.wait_for(lambda: hook_has(hook, "pa.temp.high", "active") and
                         mail_has(smtp, "wang@example.com", "pa.temp.high",
                                  "active"), 20)
    if not check(ok, "an alarm reaches the webhook and the person on call"):
        print(d.log()[-3000:])
    m = mail_has(smtp, "wang@example.com", "pa.temp.high", "active")
    check(len(m) == 1 and m[0][1] == "[HIGH 高] Notify test: pa.temp.high "
          "active - Oil 65.5 °C",
          "the mail's subject has priority, station and alarm (%r)"
          % (m[0][1] if m else None))
    text = m[0][2] if m else ""
    check("Oil 65.5 °C" in text and "油温高 65.5 °C" in text and
          "https://ntest.example/" in text,
          "the mail says it in English and Chinese, with the link")
    msg = m[0][3] if m else None
    check(msg is not None and msg.get_content_type() ==
          "multipart/alternative" and
          [p.get_content_type() for p in msg.iter_parts()] ==
          ["text/plain", "text/html"] and
          msg["From"] == "lockbridge@ntest.example",
          "plain text and an HTML alternative, from the channel's sender")
    check(not [x for x in smtp.mails() if x[0] == "li@example.com"],
          "nothing to li, who is not on call")
    got = [(x, b) for x, b in hook.alarms()
           if x["id"] == "pa.temp.high" and x["event"] == "active"]
    a, body = got[0] if got else ({}, {})
    check(body.get("version") == 1 and body.get("station") ==
          {"id": "ntest", "name": {"en": "Notify test", "zh": "通知测试"}} and
          body.get("url") == "https://ntest.example/" and
          body.get("sent", "").endswith("Z"),
          "the webhook body: version, station, url, sent (%r)"
          % {k: body.get(k) for k in ("version", "station", "url")})
    check(a.get("state") == "active-unack" and a.get("priority") == "high"
          and a.get("area") == "head" and a.get("message") ==
          {"en": "Oil 65.5 °C", "zh": "油温高 65.5 °C"} and
          a.get("value") == 65.5 and a.get("time", "").endswith("Z") and
          a.get("active_since") == a.get("time") and
          isinstance(a.get("seq"), int) and
          isinstance(a.get("notification"), int),
          "the webhook alarm: state, priority, area, both messages, value, "
          "times, seq (%r)" % a)
    test_ack_links(hook, smtp, web_port)
    # the acknowledgement is told to everyone the activation reached
    ok = lbtest.wait_for(lambda: hook_has(hook, "pa.temp.high", "ack") and
                         mail_has(smtp, "wang@example.com", "pa.temp.high",
                                  "acknowledged by wang") and
                         all(robot_count(r, "pa.temp.high", "ack") == 1
                             for r in robots), 20)
    a = hook_has(hook, "pa.temp.high", "ack")
    check(ok and a[0]["message"]["en"].startswith("acknowledged by wang at "),
          "the acknowledgement is told to the mail, the webhook and both "
          "robots (%r)" % (a[0]["message"] if a else None))
    sim.set("pa.temp", 20)
    ok = lbtest.wait_for(lambda: hook_has(hook, "pa.temp.high", "clear") and
                         mail_has(smtp, "wang@example.com", "pa.temp.high",
                                  "cleared"), 20)
    check(ok, "the clear is notified to both (on_clear: true)")
    c = hook_has(hook, "pa.temp.high", "clear")
    check(c and c[0]["state"] in ("cleared-unack", "normal") and
          c[0]["value"] == 20 and c[0].get("ack_url") is None,
          "the clear's webhook body, with no link (%r)"
          % (c[0] if c else None))
    ok = lbtest.wait_for(lambda: all(
        robot_count(r, "pa.temp.high", e) == 1 for r in robots
        for e in ("active", "clear")), 10)
    check(ok, "the WeCom and DingTalk robots got the alarm and its clear")
    w = [t for t in robots[0].texts() if "pa.temp.high" in t]
    check(w and all(len(t.encode()) < 4096 and t.rstrip().endswith(
          "<@wangli>") and "Oil 65.5 °C" in "".join(w) and
          "油温高 65.5 °C" in "".join(w) for t in w),
          "WeCom: markdown under 4,096 bytes, both languages, <@wangli>")
    dm = [m for m in robots[1].messages
          if "pa.temp.high" in m["markdown"]["text"]]
    check(dm and all(m["at"] == {"atMobiles": [PHONE]} for m in dm),
          "DingTalk: signed (the fake checks it), at.atMobiles")
    rows = notify_rows(data)
    check(len(rows) == 12 and all(r[4] == "sent" and r[5] == 1
                                  for r in rows),
          "twelve notification rows (two events and the ack, four "
          "recipients), each sent at the first attempt (%r)"
          % [r[:6] for r in rows])


def test_kill_before_delivery(sim, station, work, data, hook, smtp, d):
    """The rows are journalled, group.wait holds them: kill -9 then."""
    sim.set("pa.lvl", 8)
    ok = lbtest.wait_for(lambda: notify_rows(
        data, "alarm = 'pa.lvl.high' AND status = 'pending'"), 10, 0.02)
    d.kill9()
    check(ok and not hook_has(hook, "pa.lvl.high", "active") and
          not mail_has(smtp, "wang@example.com", "pa.lvl.high", "active"),
          "killed with the alarm's rows in the journal, nothing sent yet")
    d = lbtest.Daemon(["-c", station, "--summary", "0"], cwd=work)
    ok = lbtest.wait_for(lambda: hook_has(hook, "pa.lvl.high", "active") and
                         mail_has(smtp, "wang@example.com", "pa.lvl.high",
                                  "active"), 20)
    check(ok, "after the restart both are delivered")
    m = mail_has(smtp, "wang@example.com", "pa.lvl.high", "active")
    check(m and m[0][1] == "[CRITICAL 紧急] Notify test: pa.lvl.high active "
          "- Sump level 8.0", "the critical alarm's subject (%r)"
          % (m[0][1] if m else None))
    return d


def test_outage(sim, station, work, data, hook, smtp, d):
    hook.refused = 0
    hook.status = 503
    sim.set("pa.lvl", 1)   # clears
    ok = lbtest.wait_for(lambda: hook.refused >= 2, 30)
    check(ok, "the webhook refusing: the bridge retries (%d refused)"
          % hook.refused)
    ok = lbtest.wait_for(lambda: mail_has(smtp, "wang@example.com",
                                          "pa.lvl.high", "cleared"), 20)
    check(ok, "the mail goes out while the webhook is down")
    rows = notify_rows(data, "alarm = 'pa.lvl.high' AND event = 'clear' AND "
                       "channel = 'hook'")
    check(len(rows) == 1 and rows[0][4] == "pending" and rows[0][5] >= 2 and
          rows[0][6] == 'HTTP 503: {"error": "down for the test"}',
          "the journal holds the attempts and the webhook's answer (%r)"
          % rows)
    att = [a for a in attempts(data) if a[0] == "hook" and not a[3]]
    check(len(att) >= 2 and att[0][4].startswith("HTTP 503"),
          "every failed attempt is in the attempt table (%d)" % len(att))
    d.kill9()
    hook.status = 200
    d = lbtest.Daemon(["-c", station, "--summary", "0"], cwd=work)
    ok = lbtest.wait_for(lambda: hook_has(hook, "pa.lvl.high", "clear"), 20)
    check(ok, "after the restart the webhook gets what was due")
    time.sleep(WAIT_S + 2)
    return d


def test_exactly_once(hook, smtp, data, robots):
    events = [("pa.temp.high", "active"), ("pa.temp.high", "clear"),
              ("pa.lvl.high", "active"), ("pa.lvl.high", "clear")]
    counts = [len(hook_has(hook, a, e)) for a, e in events]
    check(counts == [1, 1, 1, 1],
          "the webhook got each alarm event exactly once (%r)" % counts)
    words = {"active": "active", "clear": "cleared"}
    counts = [len(mail_has(smtp, "wang@example.com", a, words[e]))
              for a, e in events]
    check(counts == [1, 1, 1, 1] and len(smtp.mails()) == 5,
          "the person on call got each exactly once (%r, %d mails)"
          % (counts, len(smtp.mails())))
    counts = [robot_count(r, a, e) for r in robots for a, e in events]
    check(counts == [1] * 8,
          "the WeCom and DingTalk robots got each exactly once (%r)" % counts)
    rows = notify_rows(data)
    check(len(rows) == 20 and all(r[4] == "sent" for r in rows),
          "20 notification rows (16 and the ack's 4), all sent (%r)"
          % [r[:5] for r in rows])


def main():
    work = tempfile.mkdtemp(prefix="lbtest-notify-")
    data = os.path.join(work, "data")
    hook = Hook()
    smtp = Smtp(work)
    robots = [Robot("wecom"), Robot("dingtalk")]
    # the robots' URLs hold their keys: by environment, as in a station
    os.environ["LB_TEST_WECOM"] = robots[0].url()
    os.environ["LB_TEST_DING"] = robots[1].url()
    os.environ["LB_TEST_DING_SECRET"] = DING_SECRET
    sim = d = None
    try:
        plc_port = lbtest.free_port()
        station = os.path.join(work, "station.yaml")
        with open(station, "w", encoding="utf-8") as f:
            f.write(station_text(plc_port, smtp.port, hook.port, data))
        sim = lbtest.Sim(station, copy=False)
        test_cli(station, work, hook, smtp)
        test_robots_cli(station, work, robots[0], robots[1])
        web_port = lbtest.free_port()
        d = lbtest.Daemon(["-c", station, "--summary", "0", "--web",
                           "127.0.0.1:%d" % web_port], cwd=work)
        ok = lbtest.wait_for(lambda: "notify: 5 channels" in d.log(), 15)
        check(ok, "the bridge starts its notify thread")
        time.sleep(1)
        ROBOTS[:] = robots
        test_alarm_and_clear(sim, hook, smtp, data, d, robots, web_port)
        d = test_kill_before_delivery(sim, station, work, data, hook, smtp, d)
        d = test_outage(sim, station, work, data, hook, smtp, d)
        test_exactly_once(hook, smtp, data, robots)
        d.stop_checked(check, 3000)
        d = None
    finally:
        lbtest.tear_down(work, d, sim, smtp, hook, *robots)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
