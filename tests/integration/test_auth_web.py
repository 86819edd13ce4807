#!/usr/bin/python3
"""Operators and security at the dashboard's server, over HTTP (issue 8).

Against the real `lockbridge run` and lock-sim (users made with
`lockbridge user add --password-stdin`, a kiosk token with `token add`):

1. Access, with `auth.anonymous: none`: every API read and the WebSocket
   need a session (401), acting (logout, password) too; the admin and
   audit listings need their roles (403 naming the role, for a viewer,
   an operator, an engineer); a WebSocket from a foreign Origin is 403
   even with a session.
2. Login: 200 and the cookie's flags exact (no Secure over HTTP), a new
   id at every login; a wrong password and an unknown user get the same
   401 body in about the same time; forged, malformed and logged-out
   cookies are 401, and a WebSocket opened with a session is closed
   (1008) when it is logged out; form, text and multipart content types
   are 415 (for
   login and for acting with a session), a body that is not the login
   object 400, over 16 KiB 413.
3. Throttling (`throttle_window: 10s`): after 5 bad passwords the next
   attempt, even a right one, is 429 with Retry-After, for that user from
   any address and for any user from that address; after the window the
   right password works.
4. A password change ends the user's other sessions; a kiosk token is
   exchanged for a long-lived viewer session; once deleted
   (`token del`), the token is refused, its session ends and the wall
   screen's WebSocket is closed.
5. Audit: GET /api/audit by an engineer has the logins (ok and bad, an
   unknown user without its name), the logout, the token login, each with
   the client's address.
6. Files: the state directory 0700; users, auth.db, audit.db (and their
   SQLite companions) 0600; no password, session id or token in any file
   there (sessions and tokens are kept as hashes) nor in the daemon's log.
7. Lifetimes (`session_idle: 6s, session_max: 14s`): a session survives a
   restart of the bridge; one left unused past session_idle is 401; one
   kept in use stays past session_idle and ends at session_max.

TLS is test_tls.py's.  Standard library only; /usr/bin/python3.  Prints
"N passed, M failed".
"""

import json
import os
import re
import shutil
import stat
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbtest  # noqa: E402
from lbtest import AuthClient as Client  # noqa: E402

check = lbtest.Checks()
PASSWORDS = {"admin": "admin-Secret-9q", "eve": "viewer-Secret-4x",
             "oscar": "operator-Secret-7m", "erin": "engineer-Secret-2k"}
ROLES = {"admin": "admin", "eve": "viewer", "oscar": "operator",
         "erin": "engineer"}
NEW_EVE = "new-Viewer-88x"
# Five scrypt verifications (0.7-0.9 s each here, more on a loaded
# machine) must fit in the window, and the test waits it out once.
THROTTLE_S = 10
COOKIE_RE = r"lb_session=[0-9a-f]{32}; HttpOnly; SameSite=Strict; Path=/"
secrets_seen = []   # every session id and token handed out


def login(c, user, password=None):
    st, h, body = c.login(user, password or PASSWORDS[user])
    if st == 200:
        secrets_seen.append(c.sid)
    return st, h, body


def lb(args, work, stdin=""):
    return lbtest.run_bridge(args, cwd=work, timeout=60, stdin=stdin)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def start(station, work):
    d = lbtest.Daemon(["-c", station, "--summary", "0"], cwd=work,
                      map_web=True)
    return d


def stopped(d, what):
    """Stops a daemon; it must exit 0 with nothing from a sanitizer."""
    rc = d.stop()
    log = d.log()
    check(rc == 0 and "Sanitizer" not in log and "runtime error" not in log,
          "%s exits 0 on SIGTERM, no sanitizer report (%s)" % (what, rc))


def ws_closed(ws, timeout=5):
    """Reads frames until the server closes ws: (close code or None,
    seconds it took)."""
    t0 = time.time()
    try:
        while time.time() - t0 < timeout:
            ws.recv(timeout=timeout)
    except lbtest.WsClosed as e:
        return e.code, time.time() - t0
    except OSError:
        pass
    finally:
        ws.sock.close()
    return None, time.time() - t0


def test_access(port, anon):
    for path in ["/api/tags", "/api/station", "/api/history?tags=levels.*",
                 "/api/displays", "/api/users", "/api/tokens", "/api/audit"]:
        st, _, _ = anon.req("GET", path)
        check(st == 401, "anonymous: none: GET %s -> 401 (%d)" % (path, st))
    st, _, body = anon.req("GET", "/api/me")
    me = json.loads(body)
    check(st == 401 and me.get("anonymous") == "none" and
          me.get("users") == 4,
          "/api/me without a session: 401, says anonymous none and how many "
          "users exist (%s)" % me)
    for path, body in [("/api/logout", {}),
                       ("/api/me/password", {"old": "x", "new": "y"})]:
        st, _, _ = anon.req("POST", path, body)
        check(st == 401, "acting without a session: POST %s -> 401 (%d)"
              % (path, st))
    st, _, _ = anon.req("GET", "/healthz")
    check(st == 200, "/healthz stays open for health checks")
    ws = lbtest.Ws("127.0.0.1", port)
    check(ws.status == 401, "the WebSocket without a session -> 401 (%d)"
          % ws.status)
    ws.sock.close()


def test_login(port, anon):
    """Returns the clients logged in: {user: Client}."""
    eve = Client(port)
    t0 = time.time()
    st, h, body = login(eve, "eve")
    t_ok = time.time() - t0
    sc = h.get("set-cookie", "")
    check(st == 200 and re.fullmatch(COOKIE_RE, sc),
          "login: 200 and Set-Cookie exactly lb_session=<128-bit hex>; "
          "HttpOnly; SameSite=Strict; Path=/, no Secure over HTTP (%s, "
          "%.2f s)" % (sc, t_ok))
    check(json.loads(body).get("role") == "viewer" and
          json.loads(body).get("user") == "eve",
          "the answer names the user and the role")
    first = eve.sid
    st, h, _ = login(eve, "eve")
    check(st == 200 and eve.sid and eve.sid != first,
          "a new session id at every login")
    st, _, _ = anon.req("GET", "/api/me", cookie=first)
    check(st == 200, "... the earlier session stays valid (another tab)")
    st, _, body = eve.req("GET", "/api/me")
    check(st == 200 and json.loads(body)["user"] == "eve" and
          json.loads(body)["role"] == "viewer",
          "/api/me with the session: eve, viewer")
    st, _, _ = eve.req("GET", "/api/tags?tags=levels.*")
    check(st == 200, "a viewer reads /api/tags")
    oscar, erin, adm = Client(port), Client(port), Client(port)
    login(oscar, "oscar")
    login(erin, "erin")
    login(adm, "admin")
    for who, c, path, need, want in [
            ("a viewer", eve, "/api/users", "admin", 403),
            ("a viewer", eve, "/api/tokens", "admin", 403),
            ("a viewer", eve, "/api/audit", "engineer", 403),
            ("an operator", oscar, "/api/audit", "engineer", 403),
            ("an engineer", erin, "/api/users", "admin", 403),
            ("an engineer", erin, "/api/tokens", "admin", 403),
            ("an engineer", erin, "/api/audit", None, 200),
            ("an admin", adm, "/api/tokens", None, 200)]:
        st, _, body = c.req("GET", path)
        ok = st == want and (need is None or need in json.loads(body)["error"])
        check(ok, "%s: GET %s -> %d%s (%d)" % (
            who, path, want, " naming the %s role" % need if need else "", st))
    st, _, body = adm.req("GET", "/api/users")
    names = sorted(u["name"] for u in json.loads(body).get("users", []))
    check(st == 200 and names == sorted(ROLES),
          "an admin lists the users (%s)" % names)

    # the WebSocket: a session opens it; a foreign Origin is refused even
    # with one (a page elsewhere cannot ride on the cookie)
    cookie = {"Cookie": "lb_session=" + eve.sid}
    ws = lbtest.Ws("127.0.0.1", port, headers=cookie,
                   origin="http://127.0.0.1:%d" % port)
    check(ws.status == 101 and ws.recv(timeout=5)["type"] == "snapshot",
          "the WebSocket with a session, same Origin: 101 and a snapshot")
    ws.close()
    ws = lbtest.Ws("127.0.0.1", port, headers=cookie,
                   origin="http://evil.example")
    check(ws.status == 403, "the WebSocket from a foreign Origin, with a "
          "session: 403 (%d)" % ws.status)
    ws.sock.close()

    # a wrong password and an unknown user: one answer, about one time
    # (two of each, alternating; four failures stay under the address's
    # five)
    ta, tb, bodies = [], [], set()
    for i in range(2):
        for user, pw, times in [("eve", "wrong-password%d" % i, ta),
                                ("nobody%d" % i, "wrong-passwor%d" % i, tb)]:
            t0 = time.time()
            st, _, b = anon.req("POST", "/api/login",
                                {"user": user, "password": pw})
            times.append(time.time() - t0)
            bodies.add((st, b))
    a, b = statistics.median(ta), statistics.median(tb)
    check(bodies == {(401, b'{"error":"wrong user or password"}\n')},
          "a wrong password and an unknown user: the same 401 and body (%s)"
          % bodies)
    # (without the dummy hash an unknown user is answered in about 1 ms)
    check(max(a, b) < 2 * min(a, b) + 0.2,
          "... in about the same time (wrong password %.3f s, unknown user "
          "%.3f s; a right one took %.3f s)" % (a, b, t_ok))

    # forged, malformed, logged out
    st, _, _ = anon.req("GET", "/api/tags", cookie="0" * 32)
    check(st == 401, "a forged cookie (well formed, never issued) -> 401")
    st, _, _ = anon.req("GET", "/api/tags", cookie="zz")
    check(st == 401, "a malformed cookie -> 401")
    st, _, _ = anon.req("GET", "/api/tags", cookie=eve.sid.upper())
    check(st == 401, "the id in upper case -> 401")
    old = oscar.sid
    live = lbtest.Ws("127.0.0.1", port,
                     headers={"Cookie": "lb_session=" + oscar.sid})
    st, h, body = oscar.req("POST", "/api/logout", {})
    check(st == 200 and h.get("set-cookie") ==
          "lb_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0",
          "logout: 200 and the cookie cleared (%d %s)"
          % (st, h.get("set-cookie")))
    st, _, _ = anon.req("GET", "/api/tags", cookie=old)
    check(st == 401, "a logged-out cookie -> 401")
    code, after = ws_closed(live)
    check(live.status == 101 and code == 1008 and after < 3,
          "a WebSocket open with that session is closed with 1008 (%s after "
          "%.1f s)" % (code, after))
    st, _, _ = anon.req("POST", "/api/logout", {}, cookie=old)
    check(st == 401, "... and logging it out again -> 401")

    # content types and bodies
    for ctype, body, want in [
            ("application/x-www-form-urlencoded", "user=eve&password=x", 415),
            ("text/plain", json.dumps({"user": "eve", "password": "x"}), 415),
            ("multipart/form-data; boundary=x", "--x--", 415),
            (None, json.dumps({"user": "eve", "password": "x"}), 415),
            ("application/json", "{not json", 400),
            ("application/json", json.dumps({"user": "eve"}), 400),
            ("application/json", json.dumps({"user": "eve", "password": "x",
                                             "admin": True}), 400),
            ("application/json", json.dumps(["eve", "x"]), 400)]:
        st, _, _ = anon.req("POST", "/api/login", body, ctype=ctype)
        check(st == want, "POST /api/login with %s %s -> %d (%d)"
              % (ctype, body[:30], want, st))
    for path in ["/api/logout", "/api/me/password"]:
        st, _, _ = erin.req("POST", path, "x=1",
                            ctype="application/x-www-form-urlencoded")
        check(st == 415, "acting with a session, a form body: POST %s -> 415 "
              "(%d)" % (path, st))
    st, _, _ = erin.req("GET", "/api/me")
    check(st == 200, "... and the refused logout did not log out")
    st, _, _ = anon.req("POST", "/api/login", "x" * 20000)
    check(st == 413, "a body over 16 KiB -> 413 (%d)" % st)
    for method, path, want in [("POST", "/api/tags", 405),
                               ("POST", "/api/nothing", 404),
                               ("GET", "/api/login", 405),
                               ("GET", "/api/logout", 405)]:
        st, _, _ = eve.req(method, path, {} if method == "POST" else None)
        check(st == want, "%s %s -> %d (%d)" % (method, path, want, st))
    return {"eve": eve, "erin": erin, "admin": adm}


def test_throttle(port):
    # From 127.0.0.2: a client of its own to the per-address throttle, so
    # the failures above (from 127.0.0.1) do not count here.
    bad = Client(port, source="127.0.0.2")
    t0 = time.time()
    codes = [bad.req("POST", "/api/login",
                     {"user": "erin", "password": "wrong-%d-xxxxx" % i})[0]
             for i in range(5)]
    spent = time.time() - t0
    st, h, body = bad.login("erin", PASSWORDS["erin"])
    wait = int(h.get("retry-after", "0") or 0)
    check(codes == [401] * 5 and st == 429 and 0 < wait <= THROTTLE_S and
          "try again" in json.loads(body)["error"],
          "after 5 bad passwords the right one is 429 with Retry-After (%s "
          "in %.1f s, %d, Retry-After %s)"
          % (codes, spent, st, h.get("retry-after")))
    st, _, _ = Client(port, source="127.0.0.3").login("erin",
                                                      PASSWORDS["erin"])
    check(st == 429, "... per user: from another address too (%d)" % st)
    st, _, _ = bad.login("oscar", PASSWORDS["oscar"])
    check(st == 429, "... per address: another user from that address too "
          "(%d)" % st)
    time.sleep(wait + 1)
    st, _, _ = login(bad, "erin")
    check(st == 200, "after the throttle window the right password works "
          "(%d)" % st)


def test_password_and_token(port, cs, station, work):
    eve = cs["eve"]
    other = Client(port)
    login(other, "eve")
    st, _, _ = eve.req("POST", "/api/me/password",
                       {"old": "not-her-password", "new": NEW_EVE})
    check(st == 401, "a password change with the wrong current one -> 401")
    st, _, body = eve.req("POST", "/api/me/password",
                          {"old": PASSWORDS["eve"], "new": "short"})
    check(st == 400 and "10 characters" in json.loads(body)["error"],
          "a new password that breaks the rule -> 400 saying why")
    st, _, _ = eve.req("POST", "/api/me/password",
                       {"old": PASSWORDS["eve"], "new": NEW_EVE})
    check(st == 200, "a user changes their own password")
    st, _, _ = other.req("GET", "/api/me")
    check(st == 401, "... which ends their other sessions")
    st, _, _ = eve.req("GET", "/api/me")
    check(st == 200, "... but not the one that changed it")
    st, _, _ = login(Client(port), "eve", PASSWORDS["eve"])
    check(st == 401, "... and the old password no longer works")
    st, _, _ = login(Client(port), "eve", NEW_EVE)
    check(st == 200, "... the new one does")

    rc, out, err = lb(["token", "add", "wall-1", "-c", station], work)
    m = re.search(r"token=([A-Za-z0-9_-]{43})\b", out)
    tok = m.group(1) if m else ""
    secrets_seen.append(tok)
    kiosk = Client(port)
    st, h, body = kiosk.req("POST", "/api/login", {"token": tok})
    sc = h.get("set-cookie", "")
    m = re.match(r"lb_session=([0-9a-f]{32});", sc)
    kiosk.sid = m.group(1) if m else None
    secrets_seen.append(kiosk.sid or "")
    ans = json.loads(body) if st == 200 else {}
    check(rc == 0 and st == 200 and ans.get("token") is True and
          ans.get("role") == "viewer" and ans.get("display") == "wall-1" and
          re.fullmatch(COOKIE_RE + r"; Max-Age=25919\d\d", sc),
          "a kiosk token opens a 30-day viewer session (%d %s)" % (st, sc))
    st, _, _ = kiosk.req("GET", "/api/tags")
    check(st == 200, "... which reads the tags")
    st, _, _ = Client(port).req("POST", "/api/login", {"token": "x" * 43})
    check(st == 401, "an unknown token -> 401")
    wall = lbtest.Ws("127.0.0.1", port,
                     headers={"Cookie": "lb_session=" + (kiosk.sid or "")})
    check(wall.status == 101 and wall.recv(timeout=5)["type"] == "snapshot",
          "... and opens the live feed")
    rc, _, _ = lb(["token", "del", "wall-1", "-c", station], work)
    code, after = ws_closed(wall)
    gone = lbtest.wait_for(lambda: kiosk.req("GET", "/api/me")[0] == 401, 5)
    check(rc == 0 and gone, "token del: the token's session ends at once")
    check(code == 1008 and after < 4, "... and the wall screen's WebSocket "
          "is closed with 1008 (%s after %.1f s)" % (code, after))
    st, _, _ = Client(port).req("POST", "/api/login", {"token": tok})
    check(st == 401, "... and the deleted token is refused (%d)" % st)


def test_audit(port, cs):
    erin = cs["erin"]
    st, _, body = erin.req("GET", "/api/audit?from=-1h")
    rows = json.loads(body).get("audit", []) if st == 200 else []
    acts = [(r["user"], r["action"], r["detail"], r["result"]) for r in rows]
    check(st == 200 and ("eve", "login", "", "ok") in acts and
          ("oscar", "logout", "", "ok") in acts and
          ("eve", "login", "wrong password", "bad") in acts and
          ("", "login", "unknown user", "bad") in acts and
          ("wall-1", "token-login", "", "ok") in acts and
          ("eve", "passwd", "", "ok") in acts,
          "an engineer reads the audit log: logins ok and bad (an unknown "
          "user without its name), logout, token login, password change (%d "
          "rows)" % len(rows))
    erin_bad = {r["address"] for r in rows if r["user"] == "erin" and
                r["result"] != "ok"}
    check(rows and erin_bad == {"127.0.0.2"} and
          all(r["address"] in ("127.0.0.1", "127.0.0.2") for r in rows
              if r["action"] in ("login", "logout", "token-login")),
          "... each with the client's address (erin's failures from %s)"
          % erin_bad)
    check(not any(r["user"].startswith("nobody") for r in rows),
          "... and a name that is no user's is not written")
    check(any(r["result"] == "throttled" for r in rows),
          "... the failure that started a wait says throttled")
    ts = [r["ts"] for r in rows]
    check(ts == sorted(ts) and all(t.endswith("Z") for t in ts),
          "... oldest first, in UTC")
    st, _, body = erin.req("GET", "/api/audit?from=-1h&to=-30m")
    check(st == 200 and json.loads(body)["audit"] == [],
          "from/to select a time range (none an hour ago)")
    st, _, _ = erin.req("GET", "/api/audit?from=yesterday-ish")
    check(st == 400, "a bad from -> 400")
    check(json.loads(body).get("truncated") is False,
          "... and says when nothing was left out")
    st, _, body = erin.req("GET", "/api/audit?from=-1h&limit=3")
    got = json.loads(body) if st == 200 else {}
    check(st == 200 and got.get("audit") == rows[-3:] and
          got.get("truncated") is True,
          "limit=3: the newest 3 records, oldest first, truncated: true "
          "(%d, %s)" % (st, got.get("truncated")))
    st, _, body = erin.req("GET", "/api/audit?from=-1h&limit=%d" % len(rows))
    got = json.loads(body) if st == 200 else {}
    check(got.get("audit") == rows and got.get("truncated") is False,
          "limit = the number of records: all of them, not truncated")
    for bad in ("0", "-1", "x", "100001"):
        st, _, body = erin.req("GET", "/api/audit?limit=" + bad)
        check(st == 400 and b"limit" in body,
              "limit=%s -> 400 naming limit (%d)" % (bad, st))


def test_modes(data, when):
    check(mode(data) == 0o700, "%s: the state directory is 0700 (%o)"
          % (when, mode(data)))
    files = sorted(n for n in os.listdir(data)
                   if n == "users" or n.startswith(("auth.db", "audit.db")))
    modes = {n: mode(os.path.join(data, n)) for n in files}
    check({"users", "auth.db", "audit.db"} <= set(files) and
          all(m == 0o600 for m in modes.values()),
          "%s: users, auth.db, audit.db and their companions are 0600 (%s)"
          % (when, ", ".join("%s %o" % kv for kv in modes.items())))


def test_files(data, log):
    test_modes(data, "after")
    secrets = [s for s in list(PASSWORDS.values()) + [NEW_EVE] + secrets_seen
               if s]
    found = []
    for root, _, names in os.walk(data):
        for n in names:
            with open(os.path.join(root, n), "rb") as f:
                blob = f.read()
            found += ["%s in %s" % (s[:6], n) for s in secrets
                      if s.encode() in blob]
    check(len(secrets) > 10 and not found,
          "no password, session id or token in any file of the state "
          "directory (%d looked for; %s)" % (len(secrets), found or "none"))
    leaked = [s[:6] for s in secrets if s in log]
    check(not leaked, "no password, session id or token in the daemon's log "
          "(%d lines, %s)" % (log.count("\n"), leaked or "none leaked"))


def test_lifetimes(work, station):
    port = lbtest.free_port()
    set_keys(station, "web: {listen: 127.0.0.1:%d}" % port,
             "auth: {anonymous: none, session_idle: 6s, session_max: 14s}")
    d = start(station, work)
    kept = Client(port)
    logs = []
    try:
        check(Client.wait_up(port, d.proc), "the bridge serves (short "
              "sessions)")
        t0 = time.time()
        login(kept, "erin")
        t1 = time.time()    # the session was made between t0 and t1
    finally:
        stopped(d, "the bridge (short sessions)")
        logs.append(d.log())
    d = start(station, work)
    try:
        up = Client.wait_up(port, d.proc)
        st, _, body = kept.req("GET", "/api/me")
        check(up and st == 200 and json.loads(body)["user"] == "erin",
              "a session survives a restart of the bridge (%d; login, stop "
              "and start took %.1f s)" % (st, time.time() - t0))
        idle = Client(port)
        login(idle, "oscar")
        t_idle = time.time()
        seen, idle_st = [], None
        while time.time() - t1 < 16.5:
            x = time.time()
            st, _, _ = kept.req("GET", "/api/me")
            seen.append((x - t0, x - t1, st))
            # past session_idle, well before session_max: only idleness
            # can end it
            if idle_st is None and time.time() - t_idle > 7.5:
                idle_st = idle.req("GET", "/api/me")[0]
                idle_age = time.time() - t_idle
            time.sleep(1)
        # The session's age when the bridge sees a request sent at x is
        # at least x - t1 (so past 14.5 it must be over), and at most
        # x - t0 plus the request's own time (1.5 s of slack for that).
        sure_alive = [s for a0, a1, s in seen if a0 < 12.5]
        sure_dead = [s for a0, a1, s in seen if a1 > 14.5]
        sts = [s for a0, a1, s in seen]
        k = sts.index(401) if 401 in sts else len(sts)
        alive = [a1 for a0, a1, s in seen if s == 200]
        dead = [a0 for a0, a1, s in seen if s == 401]
        check(set(sure_alive) == {200} and set(sure_dead) == {401} and
              set(sts[:k]) == {200} and set(sts[k:]) == {401} and
              max(alive) > 8,
              "a session in use outlives session_idle and ends at "
              "session_max (200 until %.1f s, 401 from %.1f s)"
              % (max(alive) if alive else -1, min(dead) if dead else -1))
        check(idle_st == 401 and 6 < idle_age < 12,
              "a session unused for longer than session_idle -> 401 (%s "
              "after %.1f s)" % (idle_st, idle_age))
    finally:
        stopped(d, "the restarted bridge")
        logs.append(d.log())
    return logs


def set_keys(station, web, auth):
    with open(station, encoding="utf-8") as f:
        s = f.read()
    s = re.sub(r"^web:.*$", "", s, flags=re.M)
    s = re.sub(r"^auth:.*$", "", s, flags=re.M)
    with open(station, "w", encoding="utf-8") as f:
        f.write(s.rstrip("\n") + "\n" + web + "\n" + auth + "\n")


def main():
    work = tempfile.mkdtemp(prefix="lbtest-authweb-")
    sim = lbtest.Sim(speed=20)
    data = os.path.join(work, "data")
    logs = []
    try:
        lbtest.add_station_keys(sim.station, "data_dir: %s" % data)
        port = lbtest.free_port()
        set_keys(sim.station, "web: {listen: 127.0.0.1:%d}" % port,
                 "auth: {anonymous: none, throttle_window: %ds}" % THROTTLE_S)
        for u, role in ROLES.items():
            rc, _, err = lb(["user", "add", u, "--role", role, "-c",
                             sim.station, "--password-stdin"], work,
                            PASSWORDS[u] + "\n")
            if rc != 0:
                raise RuntimeError("user add %s: %s" % (u, err))
        d = start(sim.station, work)
        try:
            check(Client.wait_up(port, d.proc), "the bridge serves with auth")
            anon = Client(port)
            test_access(port, anon)
            cs = test_login(port, anon)
            test_throttle(port)
            test_password_and_token(port, cs, sim.station, work)
            test_audit(port, cs)
            test_modes(data, "while the bridge runs")
        finally:
            stopped(d, "the bridge")
            logs.append(d.log())
        logs += test_lifetimes(work, sim.station)
        test_files(data, "".join(logs))
    finally:
        sim.stop()
        shutil.rmtree(work, ignore_errors=True)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
