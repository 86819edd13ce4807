#!/usr/bin/python3
"""HTTPS and WSS with `web.tls {cert, key}` (issue 8, section 3).

With a throwaway self-signed P-256 certificate made by `openssl req` in the
test's temporary directory, against the real `lockbridge run` and lock-sim:

1. HTTPS answers (curl -k); plain HTTP on the TLS port gets no page.
2. HTTP/1.1 only: curl --http2 still speaks HTTP/1.1; `openssl s_client
   -alpn h2,http/1.1` is given http/1.1, `-alpn h2` alone no ALPN at all.
3. TLS 1.2 and 1.3 are accepted, TLS 1.1 refused by the server (the client
   is allowed to offer it: @SECLEVEL=0).
4. WSS: 101 and a snapshot (a standard-library ssl + socket client).
5. The login cookie carries Secure, flags exact; logout clears it with
   Secure (and, anonymous viewers allowed, an open WSS goes on as
   theirs); the kiosk URL `token add` prints is https://.
6. A key file that is not there, a certificate that cannot be read (the
   daemon run as nobody when the test runs as root), a certificate that
   is not PEM, a key that does not match: `lockbridge run` stops at start
   with a message naming that file (a missing file is already a map error,
   file:line:col, exit 2; the others exit 1).
7. Beyond loopback without tls (`web.listen: 0.0.0.0:PORT`): `check` and
   `run` refuse it naming `insecure`; with `insecure: true` it starts and
   warns that logins travel unencrypted.  (The only non-loopback bind in
   the tests: a free port, for about a second, no user exists.)

Standard library plus the openssl and curl programs; /usr/bin/python3.
Prints "N passed, M failed".
"""

import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbtest  # noqa: E402
from lbtest import AuthClient  # noqa: E402

check = lbtest.Checks()
ADMIN_PW = "admin-Secret-9q"
COOKIE_RE = (r"lb_session=[0-9a-f]{32}; HttpOnly; SameSite=Strict; Path=/; "
             r"Secure")


def sh(cmd, stdin="", timeout=30):
    p = subprocess.run(cmd, input=stdin, capture_output=True, text=True,
                       timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def make_cert(work, name):
    """A self-signed P-256 certificate and its key: (cert, key)."""
    cert = os.path.join(work, name + ".crt")
    key = os.path.join(work, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-keyout", key, "-out", cert],
                   check=True, capture_output=True, timeout=30)
    return cert, key


def set_web(station, web, auth="auth: {anonymous: viewer}"):
    with open(station, encoding="utf-8") as f:
        s = f.read()
    s = re.sub(r"^(web|auth):.*$", "", s, flags=re.M)
    with open(station, "w", encoding="utf-8") as f:
        f.write(s.rstrip("\n") + "\n" + web + "\n" + auth + "\n")


def s_client(port, *args):
    """openssl s_client's (rc, stdout + stderr) for one handshake."""
    rc, out, err = sh(["openssl", "s_client", "-connect",
                       "127.0.0.1:%d" % port, "-servername", "localhost"] +
                      list(args), stdin="Q\n")
    return rc, out + err


def test_serving(sim, work, cert, key):
    port = lbtest.free_port()
    set_web(sim.station, "web: {listen: 127.0.0.1:%d, tls: {cert: %s, key: "
            "%s}}" % (port, cert, key))
    d = lbtest.Daemon(["-c", sim.station, "--summary", "0"], cwd=work,
                      map_web=True)
    base = "https://127.0.0.1:%d" % port
    try:
        up = AuthClient.wait_up(port, d.proc, tls=True)
        check(up and "dashboard on https://127.0.0.1:%d/" % port in d.log()
              or up and "API on https://127.0.0.1:%d/" % port in d.log(),
              "the bridge serves HTTPS and says https:// in its log")
        rc, out, err = sh(["curl", "-sk", "-o", "/dev/null", "-w",
                           "%{http_code} %{http_version} %{scheme}",
                           base + "/healthz"])
        check(rc == 0 and out == "200 1.1 HTTPS",
              "curl -k https://.../healthz: 200 over HTTP/1.1 (%r)" % out)
        rc, out, err = sh(["curl", "-sk", "--http2", "-o", "/dev/null", "-w",
                           "%{http_code} %{http_version}", base + "/healthz"])
        check(rc == 0 and out == "200 1.1",
              "curl -k --http2: still HTTP/1.1, h2 is not offered (%r)" % out)
        rc, out, err = sh(["curl", "-s", "-o", "/dev/null", "-w",
                           "%{http_code}", "--max-time", "5",
                           "http://127.0.0.1:%d/healthz" % port])
        check(out != "200", "plain HTTP on the TLS port gets no page (curl "
              "rc %d, status %s)" % (rc, out))

        rc, out = s_client(port, "-alpn", "h2,http/1.1")
        check(rc == 0 and "ALPN protocol: http/1.1" in out,
              "openssl s_client -alpn h2,http/1.1: the server picks "
              "http/1.1 (%s)" % (re.findall(r".*ALPN.*", out) or out[-200:]))
        rc, out = s_client(port, "-alpn", "h2")
        check("ALPN protocol: h2" not in out and
              ("No ALPN negotiated" in out or rc != 0),
              "openssl s_client -alpn h2 alone: h2 never negotiated (%s)"
              % (re.findall(r".*ALPN.*|alert.*", out) or out[-200:]))
        for ver in ["1.2", "1.3"]:
            rc, out = s_client(port, "-tls" + ver.replace(".", "_"))
            # (TLS 1.3's "Protocol :" summary waits for a session ticket
            # that a quick Q may not; the "New, ..." line does not)
            got = re.findall(r"New, (TLSv[\d.]+), Cipher is (\S+)", out)
            check(rc == 0 and got and got[0][0] == "TLSv" + ver and
                  got[0][1] != "(NONE)",
                  "openssl s_client -tls%s: accepted (%s)"
                  % (ver.replace(".", "_"), got))
        rc, out = s_client(port, "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0")
        # The client offers TLS 1.1 (SECLEVEL=0 lets it), and the server
        # answers alert 70, protocol_version (RFC 5246 7.2.2): 1.1 is below
        # its minimum.  OpenSSL 3 without a minimum refuses 1.1 too, but
        # with alert 80, internal_error (no signature algorithm at its
        # security level), so this tells the two apart.
        check(rc != 0 and "alert protocol version" in out and
              "Cipher is (NONE)" in out,
              "openssl s_client -tls1_1: refused by the server with "
              "protocol_version (%s)"
              % (re.findall(r"alert [a-z ]+", out)[:1] or
                 out.strip().splitlines()[-1:]))

        ws = lbtest.Ws("127.0.0.1", port, tls=True)
        check(ws.status == 101 and ws.recv(timeout=5)["type"] == "snapshot",
              "WSS: 101 and a snapshot (%d)" % ws.status)
        ws.close()
        ws = lbtest.Ws("127.0.0.1", port, tls=True,
                       origin="https://evil.example")
        check(ws.status == 403, "WSS from a foreign Origin: 403 (%d)"
              % ws.status)
        ws.sock.close()

        c = AuthClient(port, tls=True)
        st, h, body = c.login("admin", ADMIN_PW)
        sc = h.get("set-cookie", "")
        check(st == 200 and re.fullmatch(COOKIE_RE, sc),
              "login over TLS: Set-Cookie exactly lb_session=<hex>; HttpOnly; "
              "SameSite=Strict; Path=/; Secure (%s)" % sc)
        st, _, _ = c.req("GET", "/api/users")
        check(st == 200, "... and the session works over HTTPS")
        live = lbtest.Ws("127.0.0.1", port, tls=True,
                         headers={"Cookie": "lb_session=" + (c.sid or "")})
        live.recv(timeout=5)
        st, h, _ = c.req("POST", "/api/logout", {})
        check(st == 200 and h.get("set-cookie") == "lb_session=; HttpOnly; "
              "SameSite=Strict; Path=/; Max-Age=0; Secure",
              "logout over TLS clears the cookie, Secure (%s)"
              % h.get("set-cookie"))
        # anonymous: viewer here, so the feed goes on without the session
        # (with anonymous: none it is closed: test_auth_web.py)
        frames = 0
        t_end = time.time() + 3.5
        try:
            while time.time() < t_end:
                live.recv(timeout=4)
                frames += 1
            went_on = True
        except (lbtest.WsClosed, OSError):
            went_on = False
        live.close()
        check(went_on and frames > 0, "after logout an open WSS goes on as an "
              "anonymous viewer's (%d frames in 3.5 s)" % frames)
        rc, out, err = sh([lbtest.binary("lockbridge"), "token", "add",
                           "wall-tls", "-c", sim.station])
        check(rc == 0 and out.startswith("https://127.0.0.1:%d/?kiosk=1&"
                                         % port),
              "token add under web.tls prints an https:// URL (%s)"
              % out.split("token=")[0])
    finally:
        rc = d.stop()
    log = d.log()
    check(rc == 0 and "Sanitizer" not in log and "runtime error" not in log,
          "the TLS bridge exits 0 on SIGTERM, no sanitizer report (%s)" % rc)


def start_fails(sim, work, cert, key, as_user=None):
    """run with that certificate and key: (rc, stderr)."""
    port = lbtest.free_port()
    set_web(sim.station, "web: {listen: 127.0.0.1:%d, tls: {cert: %s, key: "
            "%s}}" % (port, cert, key))
    pre = None
    if as_user:
        pw = pwd.getpwnam(as_user)

        def pre():
            os.setgroups([])
            os.setgid(pw.pw_gid)
            os.setuid(pw.pw_uid)
    try:
        p = subprocess.run([lbtest.binary("lockbridge"), "run", "-c",
                            sim.station, "--summary", "0"],
                           capture_output=True, text=True, timeout=20,
                           cwd=work, preexec_fn=pre)
    except subprocess.TimeoutExpired as e:
        # it started after all (killed by the timeout)
        return None, e.stderr.decode() if e.stderr else ""
    return p.returncode, p.stderr


def last_line(err):
    """The error line of a failed start (or the last line)."""
    lines = err.strip().splitlines()
    errs = [ln for ln in lines if " error " in ln or re.search(r":\d+:\d+: ",
                                                                ln)]
    return (errs or lines or [""])[-1][-200:]


def test_bad_files(sim, work, cert, key):
    _, other = make_cert(work, "other")
    missing = key + ".missing"
    rc, err = start_fails(sim, work, cert, missing)
    check(rc == 2 and re.search(r"station\.yaml:\d+:\d+: 'key' file %s: No "
                                r"such file or directory" % re.escape(missing),
                                err),
          "a key file that is not there: run stops at start (exit 2), "
          "file:line:col naming it (%s)" % last_line(err))
    rc, out, err2 = sh([lbtest.binary("lockbridge"), "check", "-c",
                        sim.station])
    check(rc == 2 and missing in err2, "... and check says the same")

    garbage = os.path.join(work, "garbage.crt")
    with open(garbage, "w") as f:
        f.write("this is not a certificate\n")
    rc, err = start_fails(sim, work, garbage, key)
    check(rc == 1 and "tls cert %s is not a PEM certificate" % garbage in err,
          "a certificate that is not PEM: run stops (exit 1) naming it (%s)"
          % last_line(err))

    rc, err = start_fails(sim, work, cert, other)
    check(rc == 1 and "tls key %s does not match the certificate %s"
          % (other, cert) in err,
          "a key that does not match: run stops naming the key and the "
          "certificate (%s)" % last_line(err))

    # unreadable: root reads anything, so then the daemon runs as nobody
    # on a copy of the map and a data_dir that nobody may use
    locked = os.path.join(work, "locked.crt")
    shutil.copy(cert, locked)
    os.chmod(locked, 0)
    as_user = None
    if os.geteuid() == 0:
        as_user = "nobody"
        pw = pwd.getpwnam(as_user)
        os.chmod(work, 0o711)
        for path in [os.path.dirname(sim.station)] + [
                os.path.join(os.path.dirname(sim.station), n)
                for n in os.listdir(os.path.dirname(sim.station))]:
            os.chmod(path, 0o755 if os.path.isdir(path) else 0o644)
        os.chmod(os.path.dirname(os.path.dirname(sim.station)), 0o711)
        nd = os.path.join(work, "nobody-data")
        os.mkdir(nd, 0o700)
        os.chown(nd, pw.pw_uid, pw.pw_gid)
        os.chmod(key, 0o644)    # so that only the certificate is refused
        with open(sim.station, encoding="utf-8") as f:
            s = f.read()
        with open(sim.station, "w", encoding="utf-8") as f:
            f.write(re.sub(r"^data_dir:.*$", "data_dir: " + nd, s,
                           flags=re.M))
    rc, err = start_fails(sim, work, locked, key, as_user)
    check(rc == 1 and "tls cert %s: Permission denied" % locked in err,
          "a certificate the daemon cannot read: run stops naming it (%s%s)"
          % (last_line(err), ", as nobody" if as_user else ""))


def test_beyond_loopback(sim, work):
    port = lbtest.free_port()
    set_web(sim.station, "web: {listen: 0.0.0.0:%d}" % port, "")
    rc, out, err = sh([lbtest.binary("lockbridge"), "check", "-c",
                       sim.station])
    check(rc == 2 and re.search(r":\d+:\d+: 'listen' 0\.0\.0\.0:%d is "
                                r"reachable from other machines.*"
                                r"'insecure: true'" % port, err),
          "listen 0.0.0.0 without tls: check says file:line:col, naming "
          "insecure (%s)" % err.strip()[-100:])
    rc, out, err = sh([lbtest.binary("lockbridge"), "run", "-c",
                       sim.station])
    check(rc == 2 and "reachable from other machines" in err,
          "... and run refuses to start (exit %d)" % rc)
    set_web(sim.station, "web: {listen: 0.0.0.0:%d, insecure: true}" % port,
            "")
    d = lbtest.Daemon(["-c", sim.station, "--summary", "0"], cwd=work,
                      map_web=True)
    try:
        up = AuthClient.wait_up(port, d.proc)
    finally:
        d.stop()
    log = d.log()
    check(up and re.search(r"warn web: 0\.0\.0\.0:%d is reachable from other "
                           r"machines over plain HTTP \(web\.insecure\): "
                           r"logins and data travel unencrypted" % port, log),
          "insecure: true starts and warns at start (%s)"
          % (re.findall(r".*web\.insecure.*", log)[:1] or log[-200:]))


def main():
    work = tempfile.mkdtemp(prefix="lbtest-tls-")
    sim = lbtest.Sim(speed=20)
    try:
        lbtest.add_station_keys(sim.station,
                                "data_dir: %s" % os.path.join(work, "data"))
        cert, key = make_cert(work, "station")
        set_web(sim.station, "web: {listen: 127.0.0.1:%d}"
                % lbtest.free_port())
        rc, _, err = sh([lbtest.binary("lockbridge"), "user", "add", "admin",
                         "--role", "admin", "-c", sim.station,
                         "--password-stdin"], stdin=ADMIN_PW + "\n",
                        timeout=60)
        if rc != 0:
            raise RuntimeError("user add: " + err)
        test_serving(sim, work, cert, key)
        test_bad_files(sim, work, cert, key)
        test_beyond_loopback(sim, work)
    finally:
        sim.stop()
        shutil.rmtree(work, ignore_errors=True)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
