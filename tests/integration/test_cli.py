#!/usr/bin/python3
"""The lockbridge command line as a user meets it.

- `check` on the shipped station: exit 0 and a one-line summary.
- `check`, `read`, `run` and `export` on every bad map under
  tests/data/config: exit 2 and exactly the golden error lines on stderr
  (the daemon refuses to start on the same errors with the same messages).
- Usage errors: exit 64 with a message naming what is wrong.
- `export`: bad times and unknown tags are refused with a message naming
  them.
- A map that is a FIFO or a directory (or a station listing one) is
  refused at once, not waited on.

Standard library only; /usr/bin/python3.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbtest  # noqa: E402

check = lbtest.Checks()
CASES = os.path.join(lbtest.SOURCE, "tests", "data", "config")


def main():
    rc, out, err = lbtest.run_bridge(["check", "-c", "plc-maps/station.yaml"])
    check(rc == 0 and "ok: station lock1, 8 PLCs" in out,
          "check on the shipped station: exit 0, summary (%d %r)"
          % (rc, out.strip()))

    bad = 0
    for case in sorted(os.listdir(CASES)):
        exp_path = os.path.join(CASES, case, "expected.err")
        with open(exp_path, encoding="utf-8") as f:
            expected = f.read()
        if not expected.strip():
            continue
        bad += 1
        station = "tests/data/config/%s/station.yaml" % case
        cmds = [["check"], ["read"], ["run"], ["export", "--from", "-1h"],
                ["grafana"]]
        if lbtest.SANITIZED:
            # One command per case, in turn: every case and every command
            # still runs under the sanitizer, in a fifth of the launches
            # (535 sanitized launches were 96 s of the pass).
            cmds = [cmds[bad % len(cmds)]]
        for cmd in cmds:
            rc, out, err = lbtest.run_bridge(cmd + ["-c", station],
                                             timeout=30)
            ok = rc == 2 and err == expected
            if not ok:
                check(False, "%s %s: exit %d, stderr %r (want 2, %r)"
                      % (cmd[0], case, rc, err[:300], expected[:300]))
                break
        else:
            check(True, "%s: %s exit 2 with the golden errors"
                  % (case, ", ".join(c[0] for c in cmds)))
    check(bad >= 25, "%d bad-map cases exercised through the CLI" % bad)

    usage = [
        ([], "usage: lockbridge"),
        (["read"], "read needs -c FILE"),
        (["frobnicate", "-c", "plc-maps/station.yaml"],
         "unknown command 'frobnicate'"),
        (["run", "-c", "plc-maps/station.yaml", "--summary", "soon"],
         "--summary: not a number of seconds: 'soon'"),
        (["check", "-c", "plc-maps/station.yaml", "extra"],
         "unexpected argument 'extra'"),
    ]
    for args, msg in usage:
        rc, out, err = lbtest.run_bridge(args)
        check(rc == 64 and msg in err, "lockbridge %s: exit 64, %r (%d %r)"
              % (" ".join(args) or "(no args)", msg, rc, err.strip()[:120]))

    rc, out, err = lbtest.run_bridge(["check", "-c", "/nonexistent.yaml"])
    check(rc == 2 and err.startswith("/nonexistent.yaml: cannot open:"),
          "a missing map: exit 2, 'FILE: cannot open: ...' (%r)" % err[:80])

    # Only regular files are read: a FIFO once made `check` wait for a
    # writer for ever, a directory gave a read error.  Each must fail at
    # once, and the same for a PLC file a station lists.
    tmp = tempfile.mkdtemp(prefix="lbtest-cli-")
    try:
        fifo = os.path.join(tmp, "pipe.yaml")
        os.mkfifo(fifo)
        station = os.path.join(tmp, "station.yaml")
        with open(station, "w") as f:
            f.write("station: {id: s}\nplcs: [pipe.yaml]\n")
        for path, want in (
                (fifo, fifo + ": cannot open: not a regular file\n"),
                (station, fifo + ": cannot open: not a regular file\n"),
                (tmp, tmp + ": cannot open: is a directory\n")):
            for cmd in ("check", "run"):
                try:
                    t0 = time.monotonic()
                    rc, out, err = lbtest.run_bridge([cmd, "-c", path],
                                                     timeout=10)
                    secs = time.monotonic() - t0
                except subprocess.TimeoutExpired:
                    rc, err, secs = None, "(timed out)", 10
                check(rc == 2 and err == want and secs < 5,
                      "%s -c %s: exit 2 at once, %r (%s %r, %.1f s)"
                      % (cmd, os.path.relpath(path, tmp), want.strip(), rc,
                         err.strip()[:160], secs))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    export = [
        (["--from", "yesterday-ish"], "export needs --from TIME"),
        (["--from", "2026-11-24T10:00:00"], "export needs --from TIME"),
        (["--from", "-1h", "--to", "-2h"], "--to must be after --from"),
        (["--from", "-1h", "--tags", "upper_gate.nope"],
         "no tag 'upper_gate.nope'"),
        (["--from", "-1h", "--tags", "nosuch.*"], "no PLC 'nosuch'"),
    ]
    for args, msg in export:
        rc, out, err = lbtest.run_bridge(
            ["export", "-c", "plc-maps/station.yaml"] + args)
        check(rc == 64 and msg in err, "export %s: exit 64, %r (%d %r)"
              % (" ".join(args), msg, rc, err.strip()[:120]))
    # Secrets come from the environment or a file, and a missing one stops
    # the daemon at start with a message saying which.
    tmp = tempfile.mkdtemp(prefix="lbtest-cli-")
    try:
        for key, val, msg in (
                ("password_env", "LB_TEST_NO_SUCH_VARIABLE",
                 "environment variable LB_TEST_NO_SUCH_VARIABLE is not set"),
                ("password_file", tmp + "/missing.pw",
                 "cannot open %s/missing.pw" % tmp)):
            station = os.path.join(tmp, "station.yaml")
            with open(station, "w") as f:
                f.write("station: {id: s}\n"
                        "plcs: [{id: p, host: 127.0.0.1, port: 1, tags: "
                        "[{id: a, table: coil, address: 0, type: bool}]}]\n"
                        "history: off\n"
                        "influx: {url: 'http://127.0.0.1:1', database: x, "
                        "username: u, %s: '%s', spool: '%s/spool'}\n"
                        % (key, val, tmp))
            env = dict(os.environ)
            env.pop("LB_TEST_NO_SUCH_VARIABLE", None)
            rc, out, err = lbtest.run_bridge(["run", "-c", station], env=env,
                                             timeout=30)
            check(rc == 1 and msg in err,
                  "run with %s unresolvable: exit 1, %r (%d %r)"
                  % (key, msg, rc, err.strip()[-160:]))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
