"""lbtest - helpers for lockbridge's integration tests.

Standard library only; import it from tests run with /usr/bin/python3:

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import lbtest

    sim = lbtest.Sim(speed=20, seed=7)       # the shipped station, free ports
    try:
        sim.command("pause")                 # -> "ok"
        values = sim.dump()                  # {"plc.tag": value, ...}
        rc, out, err = lbtest.run_bridge(["read", "-c", sim.station, "--json"])
        sim.fault("upper_gate", "exception", 4)
        sim.stats("upper_gate")["fc"]        # {"3": n, ...}
    finally:
        sim.stop()

Binaries come from $LB_BUILD (the build directory; ctest sets it), default
"build" under the source tree.  Each Sim runs lock-sim on a private copy of
a station directory whose `port:` values are rewritten to free ports, so
tests never collide with each other or with a demo on 1502+.  The control
protocol is documented in lock-sim's README section.
"""

import errno
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

SOURCE = os.environ.get("LB_SOURCE") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(SOURCE, os.environ.get("LB_BUILD", "build"))
# The binaries carry ASan/UBSan or TSan (ctest says so): memory figures
# include the sanitizer's shadow memory and quarantine.
SANITIZED = os.environ.get("LB_SANITIZED") == "1"

_issued = set()  # ports handed out by this process, never handed out twice


def binary(name):
    """Absolute path of a built program ("lock-sim", "lockbridge")."""
    return os.path.join(BUILD, name)


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago.  Picked at random
    below the kernel's ephemeral range where there is room: a server that
    a test stops and starts again on its port (InfluxDB in the outage
    tests) must not find it taken meanwhile as the source port of some
    outgoing connection (the bridge reconnecting to its PLCs), and tests
    running side by side rarely draw the same one."""
    import random
    low = _ephemeral_low()
    for _ in range(200 if low > 12000 else 0):
        port = random.randrange(10000, low)
        if port in _issued:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _issued.add(port)
        return port
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _issued:
            _issued.add(port)
            return port


def copy_station(src=None, dest=None):
    """Copies the station file `src` (default plc-maps/station.yaml) and
    every other *.yaml beside it into `dest` (default: a new temporary
    directory), giving each distinct `port:` number a free port.  Returns
    the path of the copied station file."""
    src = src or os.path.join(SOURCE, "plc-maps", "station.yaml")
    dest = dest or tempfile.mkdtemp(prefix="lbtest-maps-")
    renumber = {}

    def repl(m):
        old = m.group(2)
        if old not in renumber:
            renumber[old] = str(free_port())
        return m.group(1) + renumber[old]

    srcdir = os.path.dirname(os.path.abspath(src))
    for name in sorted(os.listdir(srcdir)):
        if not name.endswith((".yaml", ".yml")):
            continue
        with open(os.path.join(srcdir, name), encoding="utf-8") as f:
            text = f.read()
        text = re.sub(r"(\bport:\s*)(\d+)", repl, text)
        # the dashboard's port too, so that tests (and a demo) running at
        # the same time never share 8080
        text = re.sub(r"(\blisten:\s*\"?(?:127\.0\.0\.1|\[::1\]):)(\d+)",
                      lambda m: m.group(1) + str(free_port()), text)
        with open(os.path.join(dest, name), "w", encoding="utf-8") as f:
            f.write(text)
    return os.path.join(dest, os.path.basename(src))


class Sim:
    """lock-sim running on a private copy of a station.

    station: a station or PLC file to copy (default the shipped station);
    its ports are rewritten unless copy=False.  speed, seed: lock-sim's
    options; args: any further options.  Attributes: station (the file
    lock-sim serves), plcs ({plc id: (host, port, unit)}), proc, dir."""

    def __init__(self, station=None, speed=None, seed=None, args=(),
                 copy=True, ready_timeout=15):
        self.dir = tempfile.mkdtemp(prefix="lbtest-sim-")
        if copy:
            maps = os.path.join(self.dir, "maps")
            os.mkdir(maps)
            self.station = copy_station(station, maps)
        else:
            self.station = os.path.abspath(station)
        self.control = os.path.join(self.dir, "sim.sock")
        cmd = [binary("lock-sim"), "-c", self.station,
               "--control", self.control]
        if speed is not None:
            cmd += ["--speed", str(speed)]
        if seed is not None:
            cmd += ["--seed", str(seed)]
        cmd += list(args)
        # Output goes to files, never to a pipe nobody drains.
        self.out_path = os.path.join(self.dir, "sim.out")
        self.err_path = os.path.join(self.dir, "sim.err")
        with open(self.out_path, "w") as out, open(self.err_path, "w") as err:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=err)
        self._sock = None
        self._file = None
        self.plcs = {}
        end = time.time() + ready_timeout
        while True:
            text = self.stdout()
            if "lock-sim: ready\n" in text:
                break
            if self.proc.poll() is not None or time.time() > end:
                rc = self.stop()
                raise RuntimeError("lock-sim did not start (rc=%s): %s"
                                   % (rc, self.final_stderr[-2000:]))
            time.sleep(0.02)
        for m in re.finditer(r"^lock-sim: (\S+) listening on (\S+):(\d+) "
                             r"unit (\d+)$", text, re.M):
            self.plcs[m.group(1)] = (m.group(2), int(m.group(3)),
                                     int(m.group(4)))

    final_stderr = ""  # lock-sim's stderr, kept by stop()

    def stdout(self):
        with open(self.out_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def stderr(self):
        with open(self.err_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def command(self, line, timeout=30):
        """Sends one control command; returns the reply line (no newline)."""
        if self._sock is None:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self._sock.settimeout(timeout)
            self._sock.connect(self.control)
            self._file = self._sock.makefile("rw", encoding="utf-8")
        self._file.write(line + "\n")
        self._file.flush()
        reply = self._file.readline()
        if not reply:
            # Say why: under a sanitizer a report ends lock-sim, and the
            # report is the finding.
            time.sleep(0.2)
            raise RuntimeError("lock-sim closed the control connection "
                               "(exit status %s); its stderr ends:\n%s"
                               % (self.proc.poll(), self.stderr()[-4000:]))
        return reply.rstrip("\n")

    def _ok(self, line):
        reply = self.command(line)
        if reply != "ok" and not reply.startswith("ok "):
            raise RuntimeError("lock-sim: %r -> %r" % (line, reply))
        return reply[3:]

    def dump(self):
        """{"plc.tag": value} as served (JSON numbers, bools, strings)."""
        return json.loads(self._ok("dump"))

    def stats(self, plc=None):
        """One PLC's counters, or {plc: counters} for all."""
        return json.loads(self._ok("stats" + (" " + plc if plc else "")))

    def fault(self, plc, kind, arg=None):
        """Injects a fault ("none" clears it); raises unless lock-sim says
        ok.  Returns once the fault is in effect."""
        line = "fault %s %s" % (plc, kind)
        if arg is not None:
            line += " %s" % arg
        self._ok(line)

    def set(self, tag, value):
        """Overrides a tag ("plc.tag") until unset()."""
        if isinstance(value, bool):
            value = "true" if value else "false"
        self._ok("set %s %s" % (tag, value))

    def unset(self, tag):
        self._ok("unset " + tag)

    def stop(self, timeout=20):
        """Stops lock-sim with SIGTERM (by PID) and waits; returns its exit
        status (sanitizer reports, if any, are then in final_stderr).
        Safe to call twice."""
        if self._sock is not None:
            self._file.close()
            self._sock.close()
            self._sock = None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if os.path.isdir(self.dir):
            self.final_stderr = self.stderr()
        if os.environ.get("LB_KEEP_TMP"):
            print("lbtest: kept", self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def web_args(args, map_web=False):
    """`run` serves the dashboard by default on the map's web.listen
    (127.0.0.1:8080 when the map has none): tests that do not choose give
    every daemon a port of its own, so they can run side by side.
    map_web=True keeps what the map says (tests of the web: section)."""
    args = list(args)
    if args and args[0] == "run" and "--web" not in args and not map_web:
        args += ["--web", "127.0.0.1:%d" % free_port()]
    return args


def run_bridge(args, timeout=120, env=None, cwd=SOURCE, map_web=False,
               stdin=""):
    """Runs $LB_BUILD/lockbridge with args in the source tree (relative map
    paths work as in the README), stdin given as text (never a terminal);
    returns (rc, stdout, stderr)."""
    args = web_args(args, map_web)
    p = subprocess.run([binary("lockbridge")] + list(args), input=stdin,
                       capture_output=True, text=True, timeout=timeout,
                       env=env, cwd=cwd)
    return p.returncode, p.stdout, p.stderr


# ---- time-series peers ------------------------------------------------------

def http(method, url, data=None, timeout=10):
    """(status, body bytes); HTTP errors are returned, not raised."""
    import urllib.error
    import urllib.request
    req = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def _wait_ready(proc, url, status, timeout):
    """Polls url until it answers status; False if proc exits or time
    runs out."""
    end = time.time() + timeout
    while time.time() < end and proc.poll() is None:
        try:
            if http("GET", url, timeout=2)[0] == status:
                return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def _stop_proc(proc, timeout=20):
    if proc and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def influx_conf(tmp, http_port, rpc_port):
    """influxd's configuration: loopback only, everything under tmp."""
    return """reporting-enabled = false
bind-address = "127.0.0.1:%d"
[meta]
  dir = "%s/meta"
[data]
  dir = "%s/data"
  wal-dir = "%s/wal"
  query-log-enabled = false
[monitor]
  store-enabled = false
[http]
  enabled = true
  bind-address = "127.0.0.1:%d"
  log-enabled = false
[logging]
  level = "warn"
""" % (rpc_port, tmp, tmp, tmp, http_port)


def victoria_args(port, data_dir):
    """victoria-metrics' command line: loopback only, fresh data visible to
    queries at once."""
    return ["victoria-metrics", "-httpListenAddr=127.0.0.1:%d" % port,
            "-storageDataPath=" + data_dir, "-retentionPeriod=100y",
            "-loggerLevel=WARN", "-search.latencyOffset=0s",
            "-search.disableCache"]


class Checks:
    """A test's checks: each printed as it is made, then one summary line
    in the form test runners read ("N passed, M failed")."""

    def __init__(self):
        self.passed = 0
        self.failed = []

    def __call__(self, cond, what):
        print(("ok   " if cond else "FAIL ") + what, flush=True)
        if cond:
            self.passed += 1
        else:
            self.failed.append(what)
        return cond

    def summary(self):
        """Prints the summary line; returns the exit status."""
        print("%d passed, %d failed" % (self.passed, len(self.failed)))
        return 1 if self.failed else 0


class Influx:
    """Debian's InfluxDB 1.x on free loopback ports in a temporary
    directory.  stop() and start() again keep the data and the ports, for
    outage tests.  Attributes: url, dir."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="lbtest-influx-")
        self.http_port, self.rpc_port = free_port(), free_port()
        self.url = "http://127.0.0.1:%d" % self.http_port
        self.conf = os.path.join(self.dir, "influxdb.conf")
        with open(self.conf, "w") as f:
            f.write(influx_conf(self.dir, self.http_port, self.rpc_port))
        self.proc = None
        self.start()

    def start(self, timeout=60):
        log = open(os.path.join(self.dir, "influxd.log"), "ab")
        self.proc = subprocess.Popen(["influxd", "run", "-config", self.conf],
                                     stdout=log, stderr=subprocess.STDOUT)
        log.close()
        if _wait_ready(self.proc, self.url + "/ping", 204, timeout):
            return
        self.stop()
        with open(os.path.join(self.dir, "influxd.log"), "rb") as f:
            tail = f.read()[-1500:].decode(errors="replace")
        raise RuntimeError("influxd did not start on port %d within %d s; "
                           "the end of %s/influxd.log:\n%s"
                           % (self.http_port, timeout, self.dir, tail))

    def stop(self):
        """Stops influxd and waits for it (it takes a few seconds)."""
        _stop_proc(self.proc, timeout=30)
        self.proc = None

    def create(self, db):
        import urllib.parse
        st, body = http("POST", self.url + "/query", urllib.parse.urlencode(
            {"q": "CREATE DATABASE \"%s\"" % db}).encode())
        if st != 200:
            raise RuntimeError("CREATE DATABASE: %d %s" % (st, body))

    def query(self, db, q):
        """The result's series list (InfluxQL, epoch=ns)."""
        import urllib.parse
        st, body = http("GET", self.url + "/query?" + urllib.parse.urlencode(
            {"db": db, "q": q, "epoch": "ns"}), timeout=60)
        if st != 200:
            raise RuntimeError("query %r: %d %s" % (q, st, body[:300]))
        res = json.loads(body)["results"][0]
        if "error" in res:
            raise RuntimeError("query %r: %s" % (q, res["error"]))
        return res.get("series", [])

    def points(self, db, plcs):
        """({tag: {ts ms: value}}, {tag: {ts ms: quality code}}): every
        value field and every `_q` field of the PLCs' measurements."""
        vals, quals = {}, {}
        for plc in plcs:
            for s in self.query(db, 'SELECT * FROM "%s"' % plc):
                cols = s["columns"]
                for row in s["values"]:
                    ms = row[0] // 1000000
                    for c, v in zip(cols[1:], row[1:]):
                        if v is None or c in ("plc", "station"):
                            continue
                        if c.endswith("_q"):
                            quals.setdefault(plc + "." + c[:-2], {})[ms] = v
                        else:
                            vals.setdefault(plc + "." + c, {})[ms] = v
        return vals, quals

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class Victoria:
    """Debian's VictoriaMetrics on a free loopback port, temporary storage.
    Attributes: url."""

    def __init__(self, timeout=20):
        self.dir = tempfile.mkdtemp(prefix="lbtest-vm-")
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        log = open(os.path.join(self.dir, "vm.log"), "wb")
        self.proc = subprocess.Popen(
            victoria_args(self.port, os.path.join(self.dir, "data")),
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        if _wait_ready(self.proc, self.url + "/health", 200, timeout):
            return
        self.close()
        raise RuntimeError("victoria-metrics did not start")

    def export(self, match):
        """{metric name: (timestamps ms, values)} for a series selector."""
        import urllib.parse
        # An explicit end in the future: by default the newest samples
        # (the last milliseconds before the query) may be left out.
        st, body = http("POST", self.url + "/api/v1/export",
                        urllib.parse.urlencode({
                            "match[]": match, "start": "0",
                            "end": str(int(time.time()) + 3600)}).encode(),
                        timeout=60)
        if st != 200:
            raise RuntimeError("export: %d %s" % (st, body[:300]))
        out = {}
        for line in body.decode().splitlines():
            if line.strip():
                o = json.loads(line)
                name = o["metric"]["__name__"]
                ts, vs = out.setdefault(name, ([], []))
                ts.extend(o["timestamps"])
                vs.extend(o["values"])
        return out

    def close(self):
        _stop_proc(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)

    stop = close  # a peer for tear_down


def fill_disk(path):
    """Writes path until the file system has no block left.  Unbuffered:
    a buffered file would keep what did not fit and fail again at close,
    or not, depending on how much room there was."""
    block = b"\0" * (1 << 20)
    with open(path, "wb", buffering=0) as f:
        while True:
            try:
                f.write(block)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                if len(block) == 4096:
                    return
                block = block[:4096]


def wait_for(cond, timeout, step=0.2):
    """Polls cond() until it is true (True) or timeout seconds pass
    (False)."""
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return True
        time.sleep(step)
    return False


def export_history(station, frm="-1h", cwd=SOURCE):
    """{tag: [(ts ms, value, quality)]} from `lockbridge export` (JSON),
    in time order per tag; export prints milliseconds, so points are
    compared at that resolution."""
    import calendar
    rc, out, err = run_bridge(["export", "-c", station, "--from", frm],
                              cwd=cwd)
    if rc != 0:
        raise RuntimeError("export failed: rc=%d %s" % (rc, err))
    res = {}
    for r in json.loads(out):
        m = re.match(r"(\d+-\d+-\d+T\d+:\d+:\d+)\.(\d{3})Z$", r["ts"])
        ms = calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")) \
            * 1000 + int(m.group(2))
        res.setdefault(r["tag"], []).append((ms, r["value"], r["quality"]))
    return res


def add_station_keys(station, text):
    """Appends top-level keys (YAML text) to a copied station file."""
    with open(station, "a", encoding="utf-8") as f:
        f.write("\n" + text.strip() + "\n")


class Daemon:
    """`lockbridge run` in the background, output in a file."""

    def __init__(self, args, env=None, cwd=None, map_web=False):
        self.dir = tempfile.mkdtemp(prefix="lbtest-run-")
        self.log_path = os.path.join(self.dir, "bridge.log")
        args = web_args(["run"] + list(args), map_web)
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen([binary("lockbridge")] + args,
                                         stdout=log, stderr=log,
                                         env=env, cwd=cwd)

    def log(self):
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def stop(self, timeout=30):
        """SIGTERM and wait: the exit code."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def kill9(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop_checked(self, check, tail=3000):
        """stop(), checked: exit 0 and no sanitizer report in the log,
        whose last `tail` characters are printed when that or an earlier
        check failed."""
        rc = self.stop()
        log = self.log()
        check(rc == 0 and "Sanitizer" not in log and
              "runtime error" not in log,
              "the bridge exits 0 on SIGTERM, no sanitizer report (%s)" % rc)
        if rc != 0 or check.failed:
            print(log[-tail:])


def tear_down(work, daemon, *peers):
    """The end of a test, passed or not: the daemon (if still set) killed,
    each peer (lock-sim, a sink; None skipped) stopped, the work directory
    removed unless LB_KEEP_TMP is set."""
    if daemon:
        daemon.kill9()
    for p in peers:
        if p:
            p.stop()
    if not os.environ.get("LB_KEEP_TMP"):
        shutil.rmtree(work, ignore_errors=True)


# ---- the dashboard's API with a session ---------------------------------------

class AuthClient:
    """HTTP(S) to the bridge's API holding one lb_session cookie (sid).
    tls=True: HTTPS without verifying the (test) certificate.  source: the
    local address to connect from (another 127.x is another client to the
    bridge's per-address throttle).  Every request is a connection of its
    own, as a browser's may be."""

    def __init__(self, port, tls=False, host="127.0.0.1", source=None):
        self.port = port
        self.tls = tls
        self.host = host
        self.source = (source, 0) if source else None
        self.sid = None

    def req(self, method, path, body=None, ctype="application/json",
            cookie=None, headers=None):
        """(status, {lower-case header: value}, body bytes).  body: a dict
        or list (sent as JSON), str or bytes; cookie overrides sid."""
        import http.client
        if self.tls:
            import ssl
            ctx = ssl._create_unverified_context()
            c = http.client.HTTPSConnection(self.host, self.port, timeout=30,
                                            context=ctx,
                                            source_address=self.source)
        else:
            c = http.client.HTTPConnection(self.host, self.port, timeout=30,
                                           source_address=self.source)
        h = dict(headers or {})
        if ctype and body is not None:
            h["Content-Type"] = ctype
        sid = cookie if cookie is not None else self.sid
        if sid:
            h["Cookie"] = "lb_session=" + sid
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
            return (r.status, dict((k.lower(), v) for k, v in r.getheaders()),
                    data)
        finally:
            c.close()

    def login(self, user, password):
        """POST /api/login; on 200 keeps the new cookie's id as sid."""
        st, h, body = self.req("POST", "/api/login",
                               {"user": user, "password": password})
        m = re.match(r"lb_session=([0-9a-f]+);", h.get("set-cookie", ""))
        if st == 200 and m:
            self.sid = m.group(1)
        return st, h, body

    @staticmethod
    def wait_up(port, proc, tls=False, timeout=20):
        """True once /healthz answers 200; False if proc exits first."""
        c = AuthClient(port, tls)
        end = time.time() + timeout
        while time.time() < end and proc.poll() is None:
            try:
                if c.req("GET", "/healthz")[0] == 200:
                    return True
            except OSError:
                pass
            time.sleep(0.1)
        return False


# ---- a WebSocket client (RFC 6455), standard library only --------------------

class WsClosed(Exception):
    """The server closed the WebSocket: code and reason."""

    def __init__(self, code, reason):
        super().__init__("closed %s %s" % (code, reason))
        self.code = code
        self.reason = reason


class Ws:
    """A blocking WebSocket client for tests: connect(), send(obj),
    recv() -> parsed JSON (text frames), close().  Answers pings.  origin:
    the Origin header to send (None: none, as a non-browser tool)."""

    def __init__(self, host, port, path="/ws", origin=None, timeout=10,
                 headers=None, rcvbuf=None, tls=False):
        import base64
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        if rcvbuf:
            # before connect, so the window the peer sees is small
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect((host, port))
        if tls:
            import ssl
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE     # a test certificate
            self.sock = ctx.wrap_socket(self.sock, server_hostname=host)
        key = base64.b64encode(os.urandom(16)).decode()
        req = ["GET %s HTTP/1.1" % path, "Host: %s:%d" % (host, port),
               "Upgrade: websocket", "Connection: Upgrade",
               "Sec-WebSocket-Key: " + key, "Sec-WebSocket-Version: 13"]
        if origin:
            req.append("Origin: " + origin)
        for k, v in (headers or {}).items():
            req.append("%s: %s" % (k, v))
        self.sock.sendall(("\r\n".join(req) + "\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            head += chunk
        self.response, _, self._buf = head.partition(b"\r\n\r\n")
        self.status = int(self.response.split(b" ", 2)[1]) \
            if self.response.startswith(b"HTTP/") else 0

    def _read(self, n):
        while len(self._buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise WsClosed(1006, "connection lost")
            self._buf += chunk
        out, self._buf = self._buf[:n], self._buf[n:]
        return out

    def send_frame(self, opcode, payload, fin=True):
        import struct
        mask = os.urandom(4)
        n = len(payload)
        head = bytes([(0x80 if fin else 0) | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", n)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + body)

    def send(self, obj):
        data = obj if isinstance(obj, (bytes, str)) else json.dumps(obj)
        if isinstance(data, str):
            data = data.encode()
        self.send_frame(0x1, data)

    def recv_frame(self):
        """(opcode, payload) of the next frame, pings answered."""
        import struct
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7f
            if n == 126:
                n = struct.unpack("!H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._read(8))[0]
            payload = self._read(n)
            op = b0 & 0x0f
            if op == 0x9:
                self.send_frame(0xA, payload)
                continue
            if op == 0x8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 \
                    else 1005
                raise WsClosed(code, payload[2:].decode("utf-8", "replace"))
            return op, payload

    def recv(self, timeout=None):
        if timeout is not None:
            self.sock.settimeout(timeout)
        op, payload = self.recv_frame()
        return json.loads(payload)

    def close(self):
        try:
            self.send_frame(0x8, b"\x03\xe8")
        except OSError:
            pass
        self.sock.close()
