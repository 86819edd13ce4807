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

_issued = set()  # ports handed out by this process, never handed out twice


def binary(name):
    """Absolute path of a built program ("lock-sim", "lockbridge")."""
    return os.path.join(BUILD, name)


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago (bound to 0)."""
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
            raise RuntimeError("lock-sim closed the control connection")
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


def run_bridge(args, timeout=120, env=None):
    """Runs $LB_BUILD/lockbridge with args; returns (rc, stdout, stderr)."""
    p = subprocess.run([binary("lockbridge")] + list(args),
                       capture_output=True, text=True, timeout=timeout,
                       env=env)
    return p.returncode, p.stdout, p.stderr
