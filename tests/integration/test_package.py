#!/usr/bin/python3
"""The .deb, installed on this machine as an engineer would install it.

1. cpack builds lockbridge_<version>_amd64.deb from $LB_BUILD (its
   CPackConfig.cmake and dashboard bundle) into a temporary directory;
   `dpkg-deb -I` shows Depends naming the shared libraries' packages
   (dpkg-shlibdeps) and adduser, and every map in /etc/lockbridge as a
   conffile.
2. `dpkg -i`: the lockbridge system user exists, the binaries, the unit
   and the dashboard are in place, `/usr/bin/lockbridge check -c
   /etc/lockbridge/station.yaml` exits 0.
3. The installed daemon, started as lockbridge without systemd (setpriv,
   as a test harness would), on a copy of /etc/lockbridge with free ports
   against lock-sim and a data_dir owned by lockbridge: /healthz answers,
   GET / is the installed bundle's index.html (found from /usr/bin without
   flags), it runs as lockbridge, writes its history, exits 0 on SIGTERM.
4. /etc/lockbridge/station.yaml edited, the same .deb installed again
   (`--force-confold`, as apt keeps an edited conffile): the edit is kept.
5. `dpkg -r`: binaries and unit gone, the conffiles and the user stay;
   `dpkg -P`: /etc/lockbridge gone, the package unknown to dpkg.

Whatever happens, the package is purged at the end and a lockbridge user
that the test made is deleted, so the machine is left as it was.  Needs
root (dpkg); skipped otherwise, and under the sanitizers (the package is
built from the plain build).  25-50 s, most of it cpack.  Standard library only.
Prints "N passed, M failed".
"""

import glob
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbtest  # noqa: E402

SKIP = 77  # ctest's SKIP_RETURN_CODE for this test (CMakeLists.txt)
check = lbtest.Checks()

ETC = "/etc/lockbridge"
SHARE = "/usr/share/lockbridge"
UNIT = "/lib/systemd/system/lockbridge.service"


def sh(*cmd, timeout=120):
    """(rc, stdout + stderr) of a command."""
    p = subprocess.run(list(cmd), capture_output=True, text=True,
                       timeout=timeout)
    return p.returncode, p.stdout + p.stderr


def dpkg_status():
    """dpkg's status of lockbridge ("install ok installed", "deinstall ok
    config-files") or "" when dpkg does not know it."""
    rc, out = sh("dpkg-query", "-W", "-f=${Status}", "lockbridge")
    out = out.strip()
    return out if rc == 0 and not out.endswith("not-installed") else ""


def user_exists():
    try:
        pwd.getpwnam("lockbridge")
        return True
    except KeyError:
        return False


def build_deb(out):
    """cpack -G DEB from $LB_BUILD into out; the .deb's path or None."""
    config = os.path.join(lbtest.BUILD, "CPackConfig.cmake")
    rc, log = sh("cpack", "-G", "DEB", "--config", config, "-B", out,
                 timeout=300)
    debs = glob.glob(os.path.join(out, "lockbridge_*_amd64.deb"))
    if not check(rc == 0 and len(debs) == 1,
                 "cpack builds lockbridge_<version>_amd64.deb (rc=%d)" % rc):
        print(log[-3000:])
        return None
    return debs[0]


def check_control(deb):
    rc, info = sh("dpkg-deb", "-I", deb)
    depends = [l for l in info.splitlines() if l.startswith(" Depends:")]
    dep = depends[0] if depends else ""
    check(rc == 0 and all(p in dep for p in
                          ("adduser", "libc6", "libmodbus5", "libwebsockets17",
                           "libsqlite3-0", "libyaml-0-2", "libcjson1",
                           "libcurl4", "libssl3", "libmosquitto1", "zlib1g")),
          "Depends names adduser and the shared libraries' packages (%s)"
          % dep.strip())
    rc, conf = sh("dpkg-deb", "-I", deb, "conffiles")
    want = sorted(os.path.join(ETC, os.path.basename(m)) for m in
                  glob.glob(os.path.join(lbtest.SOURCE, "plc-maps", "*.yaml")))
    check(rc == 0 and sorted(conf.split()) == want and
          "/etc/lockbridge/station.yaml" in want,
          "conffiles are exactly the %d maps in /etc/lockbridge" % len(want))
    rc, scripts = sh("dpkg-deb", "-I", deb)
    check(all(s in scripts for s in ("postinst", "prerm", "postrm")),
          "postinst, prerm and postrm are in the control archive")


def run_installed(work):
    """The installed daemon as lockbridge against lock-sim (step 3)."""
    os.mkdir(work, 0o755)  # lockbridge reads the maps in it
    maps = os.path.join(work, "maps")
    os.mkdir(maps)
    station = lbtest.copy_station(os.path.join(ETC, "station.yaml"), maps)
    data = os.path.join(work, "data")
    os.mkdir(data, 0o700)
    pw = pwd.getpwnam("lockbridge")
    os.chown(data, pw.pw_uid, pw.pw_gid)
    lbtest.add_station_keys(station, "data_dir: %s" % data)
    port = lbtest.free_port()
    sim = lbtest.Sim(station=station, copy=False, speed=10)
    proc = None
    log_path = os.path.join(work, "bridge.log")
    try:
        with open(log_path, "w") as log:
            proc = subprocess.Popen(
                ["setpriv", "--reuid", "lockbridge", "--regid", "lockbridge",
                 "--init-groups", "/usr/bin/lockbridge", "run", "-c", station,
                 "--web", "127.0.0.1:%d" % port],
                stdout=log, stderr=log, cwd=data)
        base = "http://127.0.0.1:%d" % port
        up = lbtest._wait_ready(proc, base + "/healthz", 200, 30)
        check(up, "the installed daemon answers /healthz with 200")
        with open(os.path.join(SHARE, "dashboard", "index.html"), "rb") as f:
            index = f.read()
        status, body = lbtest.http("GET", base + "/") if up else (0, b"")
        check(status == 200 and body == index,
              "GET / is the installed bundle's index.html (%s, %d bytes)"
              % (status, len(body)))
        with open("/proc/%d/status" % proc.pid) as f:
            uid = [l.split()[1] for l in f if l.startswith("Uid:")]
        check(uid == [str(pw.pw_uid)],
              "it runs as lockbridge (uid %s)" % uid)
        hist = os.path.join(data, "history.db")
        check(lbtest.wait_for(lambda: os.path.exists(hist), 20) and
              os.stat(hist).st_uid == pw.pw_uid,
              "it records into its data_dir, the files owned by lockbridge")
        proc.terminate()
        rc = proc.wait(timeout=30)
        proc = None
        with open(log_path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        check(rc == 0, "it exits 0 on SIGTERM (%d)" % rc)
        check("files from /usr/bin/../share/lockbridge/dashboard" in text,
              "the log names the installed dashboard as its web root")
        if check.failed:
            print(text[-3000:])
    finally:
        if proc and proc.poll() is None:
            proc.kill()
            proc.wait()
        sim.stop()


def main():
    if os.geteuid() != 0:
        print("skipped: test_package installs a .deb with dpkg and needs root")
        return SKIP
    if lbtest.SANITIZED:
        print("skipped: the package is built and tested from the plain build")
        return SKIP
    if dpkg_status():
        print("FAIL lockbridge is already known to dpkg (%s): not touching "
              "it; dpkg -P lockbridge first" % dpkg_status())
        return 1
    if not os.path.exists(os.path.join(lbtest.BUILD, "dashboard",
                                       "index.html")):
        print("FAIL no dashboard bundle in %s/dashboard: ./run test builds "
              "it (node dashboard/build.mjs --out build/dashboard)"
              % lbtest.BUILD)
        return 1
    had_user = user_exists()
    work = tempfile.mkdtemp(prefix="lbtest-package-")
    os.chmod(work, 0o755)  # the daemon, as lockbridge, reaches work/run
    try:
        t0 = time.time()
        deb = build_deb(os.path.join(work, "cpack"))
        if not deb:
            return check.summary()
        print("     (cpack: %.0f s)" % (time.time() - t0))
        check_control(deb)

        rc, out = sh("dpkg", "-i", deb)
        if not check(rc == 0 and dpkg_status() == "install ok installed",
                     "dpkg -i installs it (rc=%d)" % rc):
            print(out[-3000:])
            return check.summary()
        rc, out = sh("id", "lockbridge")
        check(rc == 0 and "(lockbridge)" in out.split("gid=")[1],
              "the lockbridge system user and group exist (%s)" % out.strip())
        pw = pwd.getpwnam("lockbridge")
        check(pw.pw_uid < 1000 and pw.pw_dir == "/var/lib/lockbridge" and
              not os.path.exists("/var/lib/lockbridge"),
              "a system user, home /var/lib/lockbridge, not created")
        for path in ("/usr/bin/lockbridge", "/usr/bin/lock-sim", UNIT,
                     SHARE + "/dashboard/index.html",
                     SHARE + "/examples/station.yaml", ETC + "/station.yaml"):
            check(os.path.isfile(path), "%s is installed" % path)
        rc, out = sh("/usr/bin/lockbridge", "check", "-c",
                     ETC + "/station.yaml")
        check(rc == 0, "lockbridge check -c /etc/lockbridge/station.yaml "
              "exits 0 (%d %s)" % (rc, out.strip()[-300:]))

        run_installed(os.path.join(work, "run"))

        mark = "# edited by test_package: dpkg must keep this line\n"
        with open(ETC + "/station.yaml", "a", encoding="utf-8") as f:
            f.write(mark)
        rc, out = sh("dpkg", "-i", "--force-confold", deb)
        check(rc == 0, "the same .deb installs again over an edited "
              "conffile (rc=%d)" % rc)
        with open(ETC + "/station.yaml", encoding="utf-8") as f:
            check(f.read().endswith(mark), "the edit is kept")
        with open(ETC + "/hpu.yaml", "rb") as a, \
                open(SHARE + "/examples/hpu.yaml", "rb") as b:
            check(a.read() == b.read(), "an unedited conffile is the shipped one")

        rc, out = sh("dpkg", "-r", "lockbridge")
        check(rc == 0 and dpkg_status() == "deinstall ok config-files",
              "dpkg -r removes it, its conffiles kept (%s)" % dpkg_status())
        for path in ("/usr/bin/lockbridge", "/usr/bin/lock-sim", UNIT, SHARE):
            check(not os.path.exists(path), "%s is gone" % path)
        check(os.path.isfile(ETC + "/station.yaml"),
              "the conffiles stay until purge")
        check(user_exists(), "the lockbridge user stays (Debian policy)")

        rc, out = sh("dpkg", "-P", "lockbridge")
        check(rc == 0 and not dpkg_status(),
              "dpkg -P purges it (%r)" % dpkg_status())
        check(not os.path.exists(ETC), "/etc/lockbridge is gone")
    finally:
        if dpkg_status():
            sh("dpkg", "-P", "lockbridge")
        if not had_user and user_exists():
            sh("userdel", "lockbridge")
        if not had_user:
            sh("groupdel", "lockbridge")
        if not os.environ.get("LB_KEEP_TMP"):
            shutil.rmtree(work, ignore_errors=True)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
