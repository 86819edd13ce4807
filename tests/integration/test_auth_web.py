#!/usr/bin/python3
"""Operators and security at the dashboard's server (issue 8).

Against the real `lockbridge run` (users made with `lockbridge user add`):

1. Access: with `auth.anonymous: none` every API read and the WebSocket
   need a session (401); reading needs the viewer role, the admin and
   audit listings their roles (403 for a role too low).
2. Login: the cookie's flags exact, a new id at every login; a wrong
   password and an unknown user get the same answer; forged, expired and
   logged-out cookies are refused; a form content type (415), a body that
   is not the login object (400).
3. Throttling: after 5 bad passwords the next attempt, even a right one,
   is 429 with Retry-After; after the window the right password works.
4. Password change ends the user's other sessions; a kiosk token opens a
   long-lived viewer session.
5. Audit: every login, failure and logout is in /api/audit with its
   address; no password or session id in any log line.
6. TLS: HTTPS and WSS with a test certificate, the cookie Secure, HTTP/1.1
   only (ALPN never h2), TLS 1.1 refused; a key that does not match, a
   missing key: the start stops with the file named; a listener beyond
   loopback without TLS is refused unless `insecure: true`, then warned.

Standard library only; /usr/bin/python3.  Prints "N passed, M failed".
"""

import http.client
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbtest  # noqa: E402

check = lbtest.Checks()
PASSWORDS = {"admin": "admin-Secret-9q", "eve": "viewer-Secret-4x",
             "oscar": "operator-Secret-7m", "erin": "engineer-Secret-2k"}
ROLES = {"admin": "admin", "eve": "viewer", "oscar": "operator",
         "erin": "engineer"}


class Client:
    """HTTP to the bridge with a cookie jar of one cookie."""

    def __init__(self, port, tls=False):
        self.port = port
        self.tls = tls
        self.sid = None

    def req(self, method, path, body=None, ctype="application/json",
            cookie=None, headers=None):
        if self.tls:
            ctx = ssl._create_unverified_context()
            c = http.client.HTTPSConnection("127.0.0.1", self.port,
                                            timeout=30, context=ctx)
        else:
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        h = dict(headers or {})
        if ctype and body is not None:
            h["Content-Type"] = ctype
        sid = cookie if cookie is not None else self.sid
        if sid:
            h["Cookie"] = "lb_session=" + sid
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        out = (r.status, dict((k.lower(), v) for k, v in r.getheaders()),
               data)
        c.close()
        return out

    def login(self, user, password=None):
        st, h, body = self.req("POST", "/api/login",
                               {"user": user,
                                "password": password or PASSWORDS[user]})
        m = re.match(r"lb_session=([0-9a-f]+);", h.get("set-cookie", ""))
        if st == 200 and m:
            self.sid = m.group(1)
        return st, h, body


def make_users(station, cwd):
    for u, role in ROLES.items():
        p = subprocess.run([lbtest.binary("lockbridge"), "user", "add", u,
                            "--role", role, "-c", station,
                            "--password-stdin"],
                           input=PASSWORDS[u] + "\n", capture_output=True,
                           text=True, cwd=cwd, timeout=60)
        if p.returncode != 0:
            raise RuntimeError("user add %s: %s" % (u, p.stderr))


def wait_up(port, proc, tls=False):
    c = Client(port, tls)
    end = time.time() + 20
    while time.time() < end and proc.poll() is None:
        try:
            if c.req("GET", "/healthz")[0] == 200:
                return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


def set_keys(station, web, auth):
    with open(station, encoding="utf-8") as f:
        s = f.read()
    s = re.sub(r"^web:.*$", web, s, flags=re.M)
    s = re.sub(r"^auth:.*$", "", s, flags=re.M)
    with open(station, "w", encoding="utf-8") as f:
        f.write(s + "\n" + auth + "\n")


def test_http(sim, work):
    port = lbtest.free_port()
    set_keys(sim.station, "web: {listen: 127.0.0.1:%d}" % port,
             "auth: {anonymous: none, session_idle: 3s, "
             "throttle_window: 4s}")
    make_users(sim.station, work)
    d = lbtest.Daemon(["-c", sim.station, "--summary", "0"], cwd=work,
                      map_web=True)
    secrets_seen = []
    try:
        check(wait_up(port, d.proc), "the bridge serves with auth")
        anon = Client(port)
        # 1. access without a session
        for path in ["/api/tags", "/api/station", "/api/history?tags="
                     "levels.*", "/api/displays", "/api/users", "/api/audit"]:
            st, _, _ = anon.req("GET", path)
            check(st == 401, "anonymous: none: GET %s -> 401 (%d)"
                  % (path, st))
        st, _, body = anon.req("GET", "/api/me")
        me = json.loads(body)
        check(st == 401 and me.get("anonymous") == "none" and
              me.get("users") == 4,
              "/api/me without a session: 401, says anonymous none and "
              "how many users exist (%s)" % me)
        st, _, _ = anon.req("GET", "/healthz")
        check(st == 200, "/healthz stays open for health checks")
        ws = lbtest.Ws("127.0.0.1", port)
        check(ws.status == 401, "the WebSocket without a session -> 401 (%d)"
              % ws.status)
        ws.sock.close()

        # 2. login, cookie flags, new id each time
        eve = Client(port)
        st, h, body = eve.login("eve")
        sc = h.get("set-cookie", "")
        secrets_seen.append(eve.sid or "")
        check(st == 200 and re.fullmatch(
            r"lb_session=[0-9a-f]{32}; HttpOnly; SameSite=Strict; Path=/", sc),
            "login: 200 and Set-Cookie exactly lb_session=<128-bit hex>; "
            "HttpOnly; SameSite=Strict; Path=/ (%s)" % sc)
        check(json.loads(body).get("role") == "viewer",
              "the answer names the role")
        first = eve.sid
        st, h, _ = eve.login("eve")
        secrets_seen.append(eve.sid or "")
        check(st == 200 and eve.sid and eve.sid != first,
              "a new session id at every login")
        st, _, body = eve.req("GET", "/api/me")
        check(st == 200 and json.loads(body)["user"] == "eve",
              "/api/me with the session: eve")
        st, _, _ = eve.req("GET", "/api/tags?tags=levels.*")
        check(st == 200, "a viewer reads /api/tags")
        for path, need in [("/api/users", "admin"), ("/api/tokens", "admin"),
                           ("/api/audit", "engineer")]:
            st, _, body = eve.req("GET", path)
            check(st == 403 and need in json.loads(body)["error"],
                  "a viewer: GET %s -> 403 naming the %s role" % (path, need))
        ws = lbtest.Ws("127.0.0.1", port,
                       headers={"Cookie": "lb_session=" + eve.sid})
        check(ws.status == 101 and ws.recv(timeout=5)["type"] == "snapshot",
              "the WebSocket with a session: 101 and a snapshot")
        ws.close()
        oscar = Client(port)
        oscar.login("oscar")
        secrets_seen.append(oscar.sid or "")
        st, _, _ = oscar.req("GET", "/api/audit")
        check(st == 403, "an operator: /api/audit -> 403")
        erin = Client(port)
        erin.login("erin")
        secrets_seen.append(erin.sid or "")
        st, _, _ = erin.req("GET", "/api/audit")
        check(st == 200, "an engineer reads /api/audit")
        st, _, _ = erin.req("GET", "/api/users")
        check(st == 403, "an engineer: /api/users -> 403")
        adm = Client(port)
        adm.login("admin")
        secrets_seen.append(adm.sid or "")
        st, _, body = adm.req("GET", "/api/users")
        names = sorted(u["name"] for u in json.loads(body).get("users", []))
        check(st == 200 and names == sorted(ROLES),
              "an admin lists the users (%s)" % names)

        # wrong password and unknown user: one answer, about one time
        t0 = time.time()
        st1, _, b1 = anon.req("POST", "/api/login",
                              {"user": "eve", "password": "wrong-password1"})
        t1 = time.time()
        st2, _, b2 = anon.req("POST", "/api/login",
                              {"user": "nobody", "password": "wrong-passwor"})
        t2 = time.time()
        check(st1 == st2 == 401 and b1 == b2,
              "a wrong password and an unknown user get the same answer "
              "(%d %s / %d %s)" % (st1, b1[:60], st2, b2[:60]))
        a, b = t1 - t0, t2 - t1
        check(max(a, b) < 3 * min(a, b) + 0.2,
              "... in about the same time (%.2f s / %.2f s)" % (a, b))

        # forged, logged out, expired
        st, _, _ = anon.req("GET", "/api/tags", cookie="0" * 32)
        check(st == 401, "a forged cookie -> 401")
        st, _, _ = anon.req("GET", "/api/tags", cookie="zz")
        check(st == 401, "a malformed cookie -> 401")
        old = oscar.sid
        st, h, _ = oscar.req("POST", "/api/logout", {})
        check(st == 200 and "Max-Age=0" in h.get("set-cookie", ""),
              "logout: 200 and the cookie cleared")
        st, _, _ = anon.req("GET", "/api/tags", cookie=old)
        check(st == 401, "a logged-out cookie -> 401")
        idle = Client(port)
        idle.login("oscar")
        time.sleep(4)
        st, _, _ = idle.req("GET", "/api/me")
        check(st == 401, "a session idle past session_idle -> 401")

        # content types and bodies
        for ctype, body, want in [
                ("application/x-www-form-urlencoded",
                 "user=eve&password=x", 415),
                ("text/plain", json.dumps({"user": "eve", "password": "x"}),
                 415),
                ("multipart/form-data; boundary=x", "--x--", 415),
                (None, json.dumps({"user": "eve", "password": "x"}), 415),
                ("application/json", "{not json", 400),
                ("application/json", json.dumps({"user": "eve"}), 400),
                ("application/json", json.dumps({"user": "eve",
                                                 "password": "x",
                                                 "admin": True}), 400),
                ("application/json", json.dumps(["eve", "x"]), 400)]:
            st, _, _ = anon.req("POST", "/api/login", body, ctype=ctype)
            check(st == want, "POST /api/login with %s %s -> %d (%d)"
                  % (ctype, body[:30], want, st))
        st, _, _ = anon.req("POST", "/api/login", "x" * 20000)
        check(st == 413, "a body over 16 KiB -> 413 (%d)" % st)
        st, _, _ = eve.req("POST", "/api/tags", {})
        check(st in (404, 405), "POST where nothing acts -> 404/405 (%d)"
              % st)

        # 3. throttling
        bad = Client(port)
        codes = [bad.req("POST", "/api/login",
                         {"user": "erin", "password": "wrong-%d-xxxxx" % i})[0]
                 for i in range(5)]
        st, h, body = bad.login("erin")
        check(codes == [401] * 5 and st == 429 and
              int(h.get("retry-after", "0")) > 0,
              "after 5 bad passwords the right one is 429 with Retry-After "
              "(%s, %d, %s)" % (codes, st, h.get("retry-after")))
        time.sleep(5)
        st, _, _ = bad.login("erin")
        check(st == 200, "after the throttle window the right password "
              "works (%d)" % st)
        secrets_seen.append(bad.sid or "")

        # 4. password change, kiosk token
        other = Client(port)
        other.login("eve")
        st, _, _ = eve.req("POST", "/api/me/password",
                           {"old": PASSWORDS["eve"], "new": "new-Viewer-88x"})
        check(st == 200, "a user changes their own password")
        st, _, _ = other.req("GET", "/api/me")
        check(st == 401, "... which ends their other sessions")
        st, _, _ = Client(port).login("eve", PASSWORDS["eve"])
        check(st == 401, "... and the old password no longer works")
        st, _, _ = Client(port).login("eve", "new-Viewer-88x")
        check(st == 200, "... the new one does")
        p = subprocess.run([lbtest.binary("lockbridge"), "token", "add",
                            "wall-1", "-c", sim.station], capture_output=True,
                           text=True, cwd=work, timeout=30)
        m = re.search(r"token=([A-Za-z0-9_-]+)", p.stdout)
        tok = m.group(1) if m else ""
        secrets_seen.append(tok)
        kiosk = Client(port)
        st, h, body = kiosk.req("POST", "/api/login", {"token": tok})
        sc = h.get("set-cookie", "")
        check(p.returncode == 0 and st == 200 and
              json.loads(body).get("token") is True and
              json.loads(body).get("role") == "viewer" and
              re.search(r"; Max-Age=\d+$", sc),
              "a kiosk token opens a long-lived viewer session (%d %s)"
              % (st, sc))
        st, _, _ = Client(port).req("POST", "/api/login", {"token": "x" * 43})
        check(st == 401, "an unknown token -> 401")

        # 5. audit and logs
        st, _, body = adm.req("GET", "/api/audit?from=-1h")
        rows = json.loads(body).get("audit", []) if st == 200 else []
        acts = {(r["user"], r["action"], r["result"]) for r in rows}
        check(("eve", "login", "ok") in acts and
              any(a[1] == "login" and a[2] != "ok" for a in acts) and
              any(a[1] == "logout" for a in acts) and
              all(r["address"] for r in rows if r["action"] == "login"),
              "the audit log has logins, failures and logouts with their "
              "addresses (%d rows)" % len(rows))
    finally:
        d.stop()
    log = d.log()
    leaked = [s for s in list(PASSWORDS.values()) + secrets_seen +
              ["new-Viewer-88x"] if s and s in log]
    check(not leaked, "no password, session id or token in the log (%d "
          "leaked)" % len(leaked))


def test_tls(sim, work):
    port = lbtest.free_port()
    cert, key = os.path.join(work, "cert.pem"), os.path.join(work, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext",
                    "subjectAltName=IP:127.0.0.1"], check=True,
                   capture_output=True)
    set_keys(sim.station, "web: {listen: 127.0.0.1:%d, tls: {cert: %s, key: "
             "%s}}" % (port, cert, key), "auth: {anonymous: viewer}")
    d = lbtest.Daemon(["-c", sim.station, "--summary", "0"], cwd=work,
                      map_web=True)
    try:
        check(wait_up(port, d.proc, tls=True), "HTTPS serves /healthz")
        c = Client(port, tls=True)
        st, h, _ = c.login("admin")
        check(st == 200 and h.get("set-cookie", "").endswith("; Secure"),
              "under TLS the cookie is Secure (%s)" % h.get("set-cookie"))
        ctx = ssl._create_unverified_context()
        ctx.set_alpn_protocols(["h2", "http/1.1"])
        with socket.create_connection(("127.0.0.1", port)) as raw:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                alpn = s.selected_alpn_protocol()
                ver = s.version()
        check(alpn == "http/1.1", "ALPN: h2 is not offered, HTTP/1.1 is "
              "(%s)" % alpn)
        check(ver in ("TLSv1.2", "TLSv1.3"), "TLS 1.2 or newer (%s)" % ver)
        old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        old.check_hostname = False
        old.verify_mode = ssl.CERT_NONE
        try:
            old.minimum_version = ssl.TLSVersion.TLSv1_1
            old.maximum_version = ssl.TLSVersion.TLSv1_1
            with socket.create_connection(("127.0.0.1", port)) as raw:
                with old.wrap_socket(raw, server_hostname="127.0.0.1"):
                    refused = False
        except (ssl.SSLError, OSError, ValueError):
            refused = True
        check(refused, "TLS 1.1 is refused")
        ws = lbtest.Ws("127.0.0.1", port, tls=True)
        check(ws.status == 101 and ws.recv(timeout=5)["type"] == "snapshot",
              "WSS: 101 and a snapshot")
        ws.close()
    finally:
        d.stop()
    # bad certificates stop the start with the file named
    other = os.path.join(work, "other.pem")
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-out", other],
                   check=True, capture_output=True)
    for k, text in [(other, "does not match"), (key + ".missing",
                                                "No such file")]:
        set_keys(sim.station, "web: {listen: 127.0.0.1:%d, tls: {cert: %s, "
                 "key: %s}}" % (port, cert, k), "")
        rc, out, err = lbtest.run_bridge(["run", "-c", sim.station],
                                         timeout=30, cwd=work, map_web=True)
        check(rc == 1 and k in err and text in err,
              "tls key %s: the start stops naming it (%s)"
              % (os.path.basename(k), err.strip().splitlines()[-1:]))
    # beyond loopback: TLS, or insecure on purpose (warned)
    set_keys(sim.station, "web: {listen: 0.0.0.0:%d}" % port, "")
    rc, out, err = lbtest.run_bridge(["check", "-c", sim.station], cwd=work)
    check(rc == 2 and "reachable from other machines" in err,
          "listen 0.0.0.0 without tls is a map error (%s)"
          % err.strip()[-120:])
    set_keys(sim.station, "web: {listen: 0.0.0.0:%d, insecure: true}" % port,
             "")
    d = lbtest.Daemon(["-c", sim.station, "--summary", "0"], cwd=work,
                      map_web=True)
    try:
        up = wait_up(port, d.proc)
    finally:
        d.stop()
    check(up and "over plain HTTP (web.insecure)" in d.log(),
          "insecure: true starts and warns")


def main():
    work = tempfile.mkdtemp(prefix="lbtest-auth-")
    sim = lbtest.Sim(speed=20)
    try:
        lbtest.add_station_keys(sim.station, "data_dir: %s/data" % work)
        test_http(sim, work)
        test_tls(sim, work)
    finally:
        sim.stop()
        shutil.rmtree(work, ignore_errors=True)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
