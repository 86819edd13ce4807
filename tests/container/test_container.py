#!/usr/bin/python3
"""The container image (docker/Dockerfile) and the compose stack's files.

`podman run` cannot start a container in this sandbox (crun: setrlimit
RLIMIT_NPROC), so the image's files are tested by chroot: a container is
created from the image and mounted (`podman create` + `podman mount`, a
writable layer like a running container's), and its programs are started
inside it as the image's user, in a mount namespace of their own (/proc
and /dev mounted there, gone with the processes).  The network is this
machine's: everything listens on free loopback ports.

1. The image's config: User lockbridge, the volume /var/lib/lockbridge
   (also the working directory), the HEALTHCHECK, Entrypoint and Cmd,
   port 8080; its size and the build stage's (printed).
2. Its files: both programs, the dashboard where `lockbridge run` finds
   it from /usr/bin, the shipped maps in /etc/lockbridge and
   /usr/share/lockbridge/examples, the compose demo's maps; no systemd
   unit; the data directory the user's, 0700.  No -dev package, no
   compiler, make, cmake or Node.js; every RUNTIME_LIBS package installed
   and every shared library found (ldd); no build secret left in either
   stage, and no .git, build tree or site maps in the build context.
   The Dockerfile's build packages are ./run's BUILD_DEPS.
3. `lockbridge check` (the Entrypoint) accepts the image's
   /etc/lockbridge/station.yaml and the demo's station.
4. The compose demo's commands run in the image: lock-sim as compose
   starts it and the bridge as compose starts it, on maps that
   docker/maps/container-maps.sh made with loopback values (free ports),
   writing to Debian's VictoriaMetrics, which scrapes the bridge's
   /metrics with docker/victoria-metrics/scrape.yaml (its target made
   loopback, its interval 1 s).  /healthz 200 with every PLC up, GET / is
   the image's index.html, the WebSocket's snapshot has all 441 tags good
   and deltas follow, /metrics wants the bearer token, VictoriaMetrics
   has the station's series and the bridge's metrics, the data directory
   gets the history, both run as lockbridge; the image's HEALTHCHECK
   command succeeds while the bridge serves and fails after it stopped;
   the bridge exits 0 on SIGTERM.
5. docker/compose.yaml: `docker-compose config` accepts it with each
   profile; the demo profile has lock-sim, the bridge, VictoriaMetrics and
   Grafana, the site profile the bridge alone; third-party images pinned;
   every file it mounts exists; Grafana's provisioning gives the data
   source uid the dashboards use and loads them from where they are
   mounted.

Environment: LB_IMAGE (default localhost/lockbridge:<version>),
LB_BUILD_IMAGE (the build stage, for its size; optional).  ./run
test-container builds both and runs this.  Needs root (podman, chroot,
mounts).  About a minute.  Prints "N passed, M failed".
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
import lbtest  # noqa: E402

import yaml  # noqa: E402  (python3-yaml; docker-compose needs it too)

SOURCE = lbtest.SOURCE
check = lbtest.Checks()
TOKEN = "container-test-token"


def version():
    with open(os.path.join(SOURCE, "bridge/src/cli/cli.h")) as f:
        return re.search(r'^#define LB_VERSION "([^"]+)"', f.read(),
                         re.M).group(1)


IMAGE = os.environ.get("LB_IMAGE") or "localhost/lockbridge:" + version()
BUILD_IMAGE = os.environ.get("LB_BUILD_IMAGE")


def sh(*cmd, timeout=120, **kw):
    """(rc, stdout, stderr) of a command."""
    p = subprocess.run(list(cmd), capture_output=True, text=True,
                       timeout=timeout, **kw)
    return p.returncode, p.stdout, p.stderr


def inspect(image):
    rc, out, err = sh("podman", "image", "inspect", image)
    if rc != 0:
        return None
    return json.loads(out)[0]


def dockerfile_list(text, start):
    """The whitespace-separated words of the RUN line after `start` up to
    the next `&&` (a package list written over continued lines)."""
    i = text.index(start) + len(start)
    words = text[i:text.index("&&", i)].replace("\\\n", " ").split()
    return words


def run_build_deps():
    with open(os.path.join(SOURCE, "run")) as f:
        m = re.search(r"^BUILD_DEPS=\(([^)]*)\)", f.read(), re.M)
    return m.group(1).split()


class Rootfs:
    """A container made from the image and mounted: root (the path), and
    the image config's environment (env) and user's ids (uid, gid)."""

    def __init__(self, image, config):
        rc, out, err = sh("podman", "create", image)
        if rc != 0:
            raise RuntimeError("podman create: " + err)
        self.cid = out.strip()
        rc, out, err = sh("podman", "mount", self.cid)
        if rc != 0:
            sh("podman", "rm", "-f", self.cid)
            raise RuntimeError("podman mount: " + err)
        self.root = out.strip()
        self.env = dict(e.split("=", 1) for e in config.get("Env") or [])
        self.uid = self.gid = None
        with open(os.path.join(self.root, "etc/passwd")) as f:
            for line in f:
                p = line.split(":")
                if p[0] == config.get("User"):
                    self.uid, self.gid = int(p[2]), int(p[3])

    def path(self, p):
        return os.path.join(self.root, p.lstrip("/"))

    def argv(self, cmd, env=None, user=True, cwd="/"):
        """The command line that runs cmd inside the root: a private mount
        namespace with /proc and /dev, chroot as the image's user (numeric
        ids: the host need not know the user), the image's environment
        only, in cwd.  Every step execs, so the process is cmd itself."""
        e = dict(self.env)
        e.update(env or {})
        inner = ["env", "-i", "-C", cwd] + ["%s=%s" % kv for kv in e.items()]
        spec = ["--userspec=%d:%d" % (self.uid, self.gid)] if user else []
        return ["unshare", "--mount", "--propagation", "private", "--",
                "sh", "-c", 'mount -t proc proc "$0/proc" && '
                'mount --bind /dev "$0/dev" && exec chroot "$@"',
                self.root] + spec + [self.root] + inner + list(cmd)

    def run(self, cmd, timeout=60, **kw):
        return sh(*self.argv(cmd, **kw), timeout=timeout)

    def popen(self, cmd, log, **kw):
        return subprocess.Popen(self.argv(cmd, **kw), stdout=log,
                                stderr=subprocess.STDOUT)

    def close(self):
        sh("podman", "umount", self.cid)
        sh("podman", "rm", "-f", "-v", self.cid)


# ---- 1. the image's config ----------------------------------------------------

def check_config(img):
    cfg = img["Config"]
    check(cfg.get("User") == "lockbridge", "User lockbridge (%s)" % cfg.get("User"))
    check(list((cfg.get("Volumes") or {}).keys()) == ["/var/lib/lockbridge"],
          "VOLUME /var/lib/lockbridge (%s)" % cfg.get("Volumes"))
    check(cfg.get("WorkingDir") == "/var/lib/lockbridge",
          "WORKDIR /var/lib/lockbridge (%s)" % cfg.get("WorkingDir"))
    check(cfg.get("Entrypoint") == ["lockbridge"] and cfg.get("Cmd") ==
          ["run", "-c", "/etc/lockbridge/station.yaml", "--data-dir",
           "/var/lib/lockbridge"],
          "Entrypoint lockbridge, Cmd run -c /etc/lockbridge/station.yaml "
          "--data-dir /var/lib/lockbridge (%s %s)"
          % (cfg.get("Entrypoint"), cfg.get("Cmd")))
    check("8080/tcp" in (cfg.get("ExposedPorts") or {}), "EXPOSE 8080")
    # podman's inspect has it beside Config (docker's: in it)
    hc = img.get("Healthcheck") or cfg.get("Healthcheck") or {}
    test = hc.get("Test") or []
    check(len(test) == 2 and test[0] == "CMD-SHELL" and "LB_HEALTHZ_URL" in
          test[1] and hc.get("Interval") and hc.get("Timeout"),
          "HEALTHCHECK (kept by --format docker): %s" % test)
    env = dict(e.split("=", 1) for e in cfg.get("Env") or [])
    check(env.get("LB_HEALTHZ_URL") == "http://127.0.0.1:8080/healthz",
          "LB_HEALTHZ_URL defaults to http://127.0.0.1:8080/healthz")
    check(not any(k.startswith(("NODE_", "NPM_", "npm_")) or "CERT" in k
                  for k in env),
          "no build-time variable (Node, npm, a CA) in the image's "
          "environment: %s" % sorted(env))
    return test[1] if len(test) == 2 else "false"


# ---- 2. the files --------------------------------------------------------------

def linked_packages(fs, binary):
    """The image's packages that own the libraries binary links directly
    (its NEEDED entries, read by the host's objdump; ldd inside the image
    says where each is).  dpkg knows a file by the path its package ships,
    /usr/lib or /lib: the merged /usr makes either of the other."""
    rc, out, err = sh("objdump", "-p", fs.path(binary))
    needed = re.findall(r"^\s*NEEDED\s+(\S+)", out, re.M)
    rc, out, err = fs.run(["ldd", binary])
    where = dict(re.findall(r"^\s*(\S+) => (/\S+)", out, re.M))
    pkgs = set()
    for so in needed:
        real = os.path.realpath(fs.path(where.get(so, "/nonexistent")))
        inside = "/" + os.path.relpath(real, fs.root)
        for p in (inside, inside[4:] if inside.startswith("/usr/") else None):
            if not p:
                continue
            rc, out, err = fs.run(["dpkg", "-S", p], user=False)
            if rc == 0:
                pkgs.add(out.split(":")[0])
                break
        else:
            pkgs.add("?" + so)
    return pkgs


def check_files(fs, dockerfile):
    for p in ("/usr/bin/lockbridge", "/usr/bin/lock-sim"):
        check(os.access(fs.path(p), os.X_OK), "%s is in the image" % p)
    for p in ("/usr/share/lockbridge/dashboard/index.html",
              "/etc/lockbridge/station.yaml",
              "/usr/share/lockbridge/examples/station.yaml",
              "/usr/share/lockbridge/demo/station.yaml"):
        check(os.path.isfile(fs.path(p)), "%s is in the image" % p)
    shipped = sorted(n for n in os.listdir(os.path.join(SOURCE, "plc-maps"))
                     if n.endswith(".yaml"))
    check(sorted(os.listdir(fs.path("/etc/lockbridge"))) == shipped and
          sorted(os.listdir(fs.path("/usr/share/lockbridge/demo"))) == shipped,
          "/etc/lockbridge and the demo's directory hold the shipped maps' "
          "files (%d)" % len(shipped))
    check(not os.path.exists(fs.path("/lib/systemd/system/lockbridge.service"))
          and not os.path.exists(fs.path("/usr/lib/systemd/system/lockbridge.service")),
          "no systemd unit in the image")
    st = os.stat(fs.path("/var/lib/lockbridge"))
    check(fs.uid is not None and st.st_uid == fs.uid and st.st_gid == fs.gid
          and st.st_mode & 0o777 == 0o700,
          "/var/lib/lockbridge is lockbridge's (uid %s), 0700 (%o)"
          % (fs.uid, st.st_mode & 0o777))
    check(fs.uid == 999, "the lockbridge user is uid 999 (%s), as the "
          "docs say for bind-mounted data directories" % fs.uid)

    rc, out, err = fs.run(["dpkg-query", "-W", "-f=${Package}\\n"], user=False)
    pkgs = set(out.split())
    check(rc == 0 and len(pkgs) > 50, "dpkg-query lists the image's "
          "packages (%d)" % len(pkgs))
    dev = sorted(p for p in pkgs if p.endswith("-dev") or "-dev:" in p)
    check(not dev, "no -dev package in the image %s" % dev)
    tools = sorted(pkgs & {"gcc", "gcc-12", "cpp", "cpp-12", "binutils",
                           "make", "cmake", "pkg-config", "pkgconf",
                           "nodejs", "npm", "libcmocka0"})
    check(not tools, "no compiler, make, cmake, pkg-config, Node.js or "
          "cmocka in the image %s" % tools)
    check(not any(os.path.exists(fs.path("/usr/bin/" + b))
                  for b in ("cc", "gcc", "ld", "make", "node", "npm")),
          "no cc, gcc, ld, make, node or npm in /usr/bin")
    libs = [w.strip('"') for w in
            re.search(r'^ARG RUNTIME_LIBS="([^"]*)"', dockerfile,
                      re.M).group(1).split()]
    missing = sorted(set(libs + ["ca-certificates", "curl"]) - pkgs)
    check(not missing and len(libs) == 10,
          "RUNTIME_LIBS (%s), ca-certificates and curl are installed %s"
          % (" ".join(libs), missing or ""))
    for b in ("/usr/bin/lockbridge", "/usr/bin/lock-sim"):
        rc, out, err = fs.run(["ldd", b])
        check(rc == 0 and "not found" not in out and "=>" in out,
              "ldd %s inside the image: every library found" % b)
        if rc != 0 or "not found" in out:
            print(out + err)
    owners = set()
    for b in ("/usr/bin/lockbridge", "/usr/bin/lock-sim"):
        owners |= linked_packages(fs, b)
    check(owners <= set(libs) | {"libc6"} and
          owners >= {"libmodbus5", "libwebsockets17", "libsqlite3-0"},
          "the libraries the binaries link come from RUNTIME_LIBS and libc6 "
          "only (%s)" % " ".join(sorted(owners)))

    want = run_build_deps()
    got = dockerfile_list(dockerfile, "apt-get install -y -qq "
                          "--no-install-recommends")
    check(sorted(set(got) - {"nodejs", "npm", "ca-certificates"}) ==
          sorted(want), "the build stage installs ./run's BUILD_DEPS "
          "(+ nodejs npm ca-certificates)")


def check_no_secret(fs, build_root):
    """The CA handed to npm as a build secret is in no layer: no file
    with content under /run/secrets in either stage (buildah may leave an
    empty mount point)."""
    for name, root in (("runtime image", fs.root), ("build stage", build_root)):
        if root is None:
            continue
        found = []
        for d, _, files in os.walk(os.path.join(root, "run/secrets")):
            found += [os.path.join(d, f) for f in files
                      if os.path.getsize(os.path.join(d, f)) > 0]
        check(not found, "no build secret left in the %s's files %s"
              % (name, found))


def check_context(build_root):
    """.dockerignore kept the build trees, git's objects and a site's maps
    out of the build context (the build stage's /src is what it sent)."""
    present = [d for d in (".git", "build", "data", "docker/site")
               if os.path.exists(os.path.join(build_root, "src", d))]
    check(os.path.isfile(os.path.join(build_root, "src/docker/Dockerfile"))
          and not present, "the build context has no .git, build/, data/ "
          "or docker/site/ (.dockerignore) %s" % present)


# ---- 4. the demo's processes ---------------------------------------------------

def wait_line(path, text, proc, timeout):
    def seen():
        with open(path, errors="replace") as f:
            return text in f.read()
    return lbtest.wait_for(lambda: seen() or proc.poll() is not None,
                           timeout) and seen()


def vm_query(url, q):
    st, body = lbtest.http("GET", url + "/api/v1/query?" +
                           urllib.parse.urlencode({"query": q}))
    if st != 200:
        return []
    return json.loads(body)["data"]["result"]


def check_demo(fs, compose, health_cmd, work):
    # The maps as the image's demo has them, with loopback values: PLCs on
    # 127.0.0.1, the bridge writing to this VictoriaMetrics.
    vm_port = lbtest.free_port()
    vm_url = "http://127.0.0.1:%d" % vm_port
    gen = os.path.join(work, "gen")
    rc, out, err = sh(os.path.join(SOURCE, "docker/maps/container-maps.sh"),
                      "--host", "127.0.0.1", "--listen", "127.0.0.1:8080",
                      "--influx", vm_url, os.path.join(SOURCE, "plc-maps"), gen)
    check(rc == 0, "container-maps.sh makes the maps (%s)" % err.strip())
    maps_in = "/tmp/lbtest-maps"
    os.makedirs(fs.path(maps_in))
    station = lbtest.copy_station(os.path.join(gen, "station.yaml"),
                                  fs.path(maps_in))
    with open(station) as f:
        text = f.read()
    web = re.search(r"listen: 127\.0\.0\.1:(\d+)", text)
    web_port = int(web.group(1))
    base = "http://127.0.0.1:%d" % web_port
    station_in = maps_in + "/station.yaml"
    demo_station = "/usr/share/lockbridge/demo/station.yaml"

    svc = compose["services"]
    sim_cmd = [c.replace(demo_station, station_in).replace("0.0.0.0", "127.0.0.1")
               for c in svc["lock-sim"]["entrypoint"] + svc["lock-sim"]["command"]]
    bridge_cmd = [c.replace(demo_station, station_in) for c in
                  ["lockbridge"] + svc["lockbridge"]["command"]]
    check(sim_cmd[:3] == ["lock-sim", "-c", station_in] and "--bind" in sim_cmd
          and bridge_cmd[:4] == ["lockbridge", "run", "-c", station_in],
          "the compose demo's commands: %s; %s" % (" ".join(sim_cmd),
                                                  " ".join(bridge_cmd)))

    # VictoriaMetrics (Debian's) with the compose stack's scrape config,
    # its target this bridge.
    with open(os.path.join(SOURCE, "docker/victoria-metrics/scrape.yaml")) as f:
        scrape = f.read()
    check("lockbridge:8080" in scrape and "scrape_interval: 15s" in scrape,
          "scrape.yaml scrapes lockbridge:8080 every 15 s")
    scrape = scrape.replace("lockbridge:8080", "127.0.0.1:%d" % web_port) \
                   .replace("scrape_interval: 15s", "scrape_interval: 1s")
    with open(os.path.join(work, "scrape.yaml"), "w") as f:
        f.write(scrape)
    vm_log = open(os.path.join(work, "vm.log"), "wb")
    vm = subprocess.Popen(
        lbtest.victoria_args(vm_port, os.path.join(work, "vm")) +
        ["-promscrape.config=" + os.path.join(work, "scrape.yaml")],
        stdout=vm_log, stderr=subprocess.STDOUT,
        env=dict(os.environ, LB_METRICS_TOKEN=TOKEN))
    vm_log.close()
    sim = bridge = None
    sim_log = os.path.join(work, "sim.log")
    bridge_log = os.path.join(work, "bridge.log")
    try:
        check(lbtest._wait_ready(vm, vm_url + "/health", 200, 20),
              "victoria-metrics starts with the compose scrape config")
        with open(sim_log, "w") as log:
            sim = fs.popen(sim_cmd, log)
        check(wait_line(sim_log, "lock-sim: ready", sim, 20),
              "lock-sim runs in the image as the lockbridge user")
        with open(bridge_log, "w") as log:
            bridge = fs.popen(bridge_cmd, log,
                              env={"LB_METRICS_TOKEN": TOKEN},
                              cwd="/var/lib/lockbridge")
        up = lbtest._wait_ready(bridge, base + "/healthz", 200, 30)
        check(up, "the bridge in the image answers /healthz with 200")
        if not up:
            return
        def all_up():
            h = json.loads(lbtest.http("GET", base + "/healthz")[1])
            return h["status"] == "ok" and len(h["plcs"]) == 8 and \
                all(p["state"] == "up" for p in h["plcs"])
        check(lbtest.wait_for(all_up, 20),
              "/healthz: status ok, all 8 PLCs up (polling lock-sim)")
        st, body = lbtest.http("GET", base + "/")
        with open(fs.path("/usr/share/lockbridge/dashboard/index.html"), "rb") as f:
            index = f.read()
        check(st == 200 and body == index, "GET / is the image's "
              "dashboard index.html (%d, %d bytes)" % (st, len(body)))
        for what, path in (("bridge", "/proc/%d/status" % bridge.pid),
                           ("lock-sim", "/proc/%d/status" % sim.pid)):
            with open(path) as f:
                uid = re.search(r"^Uid:\s+(\d+)", f.read(), re.M).group(1)
            check(int(uid) == fs.uid, "the %s runs as uid %s (lockbridge)"
                  % (what, uid))

        ws = lbtest.Ws("127.0.0.1", web_port)
        snap = ws.recv(timeout=10)
        tags = snap.get("tags", [])
        good = [t for t in tags if t.get("quality") == "good"]
        check(ws.status == 101 and snap["type"] == "snapshot" and
              len(tags) == 441 and len(good) == 441,
              "WebSocket snapshot: 441 tags, all good (%d good)" % len(good))
        deltas = 0
        end = time.time() + 5
        while time.time() < end and deltas < 3:
            m = ws.recv(timeout=5)
            deltas += m["type"] == "delta" and len(m.get("tags", [])) > 0
        ws.close()
        check(deltas >= 3, "live values from lock-sim: WebSocket deltas "
              "follow (%d in 5 s)" % deltas)

        st, _ = lbtest.http("GET", base + "/metrics")
        check(st == 401, "/metrics without the token: 401 (%d)" % st)
        import urllib.request
        req = urllib.request.Request(base + "/metrics", headers={
            "Authorization": "Bearer " + TOKEN})
        with urllib.request.urlopen(req, timeout=10) as r:
            metrics = r.read().decode()
        check("lockbridge_plc_requests_total" in metrics,
              "/metrics with the token: lockbridge_plc_requests_total")
        check(lbtest.wait_for(lambda: vm_query(
            vm_url, 'lockbridge_plc_requests_total{job="lockbridge"}'), 20),
              "VictoriaMetrics scrapes the bridge's /metrics with the "
              "token from %{LB_METRICS_TOKEN}")
        check(lbtest.wait_for(lambda: vm_query(
            vm_url, 'upper_gate_left_leaf_position{station="lock1"}'), 20),
              "the bridge writes the station to VictoriaMetrics "
              "(upper_gate_left_leaf_position{station=\"lock1\"}, "
              "station.json's variable)")

        # As a site sets it for its web.listen (compose.yaml's site profile).
        health_env = {"LB_HEALTHZ_URL": base + "/healthz"}
        rc, out, err = fs.run(["sh", "-c", health_cmd], env=health_env)
        check(rc == 0, "the image's HEALTHCHECK command succeeds while the "
              "bridge serves (rc %d %s)" % (rc, err.strip()))
        hist = fs.path("/var/lib/lockbridge/history.db")
        check(lbtest.wait_for(lambda: os.path.exists(hist) and
                              os.path.getsize(hist) > 0, 20) and
              os.stat(hist).st_uid == fs.uid,
              "the history is written to /var/lib/lockbridge, lockbridge's")
        bridge.send_signal(signal.SIGTERM)
        try:
            rc = bridge.wait(30)
        except subprocess.TimeoutExpired:
            rc = None
        check(rc == 0, "the bridge exits 0 on SIGTERM (%s)" % rc)
        with open(bridge_log, errors="replace") as f:
            log = f.read()
        check("files from /usr/bin/../share/lockbridge/dashboard" in log,
              "it found the dashboard from /usr/bin without flags")
        rc, out, err = fs.run(["sh", "-c", health_cmd], env=health_env)
        check(rc == 1, "the HEALTHCHECK command fails once it stopped "
              "(rc %d)" % rc)
    finally:
        for p in (bridge, sim, vm):
            if p and p.poll() is None:
                p.terminate()
                try:
                    p.wait(20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        if check.failed:
            for path in (sim_log, bridge_log, os.path.join(work, "vm.log")):
                if os.path.exists(path):
                    with open(path, errors="replace") as f:
                        print("---- %s\n%s" % (path, f.read()[-2000:]))


# ---- 5. compose ----------------------------------------------------------------

def compose_config(profile):
    rc, out, err = sh("docker-compose", "-f",
                      os.path.join(SOURCE, "docker/compose.yaml"),
                      "--profile", profile, "config")
    check(rc == 0, "docker-compose --profile %s config accepts "
          "docker/compose.yaml%s" % (profile, "" if rc == 0 else ": " + err))
    return yaml.safe_load(out) if rc == 0 else None


def check_compose():
    cfg = compose_config("demo")
    if compose_config("site") is None or cfg is None:
        return None
    svc = cfg["services"]
    by = {}
    for name, s in svc.items():
        for p in s.get("profiles", []):
            by.setdefault(p, set()).add(name)
    check(by.get("demo") == {"lock-sim", "lockbridge", "victoria-metrics",
                             "grafana"} and by.get("site") ==
          {"lockbridge-site"} and all(s.get("profiles") for s in svc.values()),
          "profiles: demo = lock-sim, lockbridge, victoria-metrics, grafana; "
          "site = lockbridge-site; nothing outside a profile (%s)" % by)
    images = {n: s["image"] for n, s in svc.items()}
    check(images["victoria-metrics"].endswith(":v1.102.1") and
          images["grafana"].endswith(":11.2.0") and
          not any(i.endswith(":latest") or ":" not in i.rsplit("/", 1)[-1]
                  for i in images.values()),
          "every image's tag is pinned (%s)" % sorted(set(images.values())))
    ours = {n for n, s in svc.items() if "build" in s}
    check(ours == {"lock-sim", "lockbridge", "lockbridge-site"} and all(
        os.path.isfile(os.path.join(svc[n]["build"]["context"],
                                    svc[n]["build"]["dockerfile"]))
        for n in ours), "lock-sim and both bridges build docker/Dockerfile")
    binds = []
    for n, s in svc.items():
        for v in s.get("volumes", []):
            src = v.split(":")[0]
            if src.startswith("/") and n != "lockbridge-site":
                binds.append(src)
    missing = [b for b in binds if not os.path.exists(b)]
    check(binds and not missing, "every file the demo mounts exists "
          "(%d) %s" % (len(binds), missing))
    check(svc["lockbridge"]["environment"].get("LB_METRICS_TOKEN") ==
          svc["victoria-metrics"]["environment"].get("LB_METRICS_TOKEN"),
          "the bridge and VictoriaMetrics share LB_METRICS_TOKEN")
    site = svc["lockbridge-site"]
    check("command" not in site and any(v.endswith(":/etc/lockbridge:ro")
                                        for v in site["volumes"]),
          "the site bridge runs the image's command on maps mounted at "
          "/etc/lockbridge, read-only")

    g = os.path.join(SOURCE, "docker/grafana")
    with open(os.path.join(g, "provisioning/datasources/lockbridge.yaml")) as f:
        ds = yaml.safe_load(f)["datasources"]
    with open(os.path.join(g, "provisioning/dashboards/lockbridge.yaml")) as f:
        prov = yaml.safe_load(f)["providers"]
    check(len(ds) == 1 and ds[0]["uid"] == "lockbridge-tsdb" and
          ds[0]["type"] == "prometheus" and ds[0]["url"] ==
          "http://victoria-metrics:8428" and ds[0].get("isDefault"),
          "Grafana's data source: VictoriaMetrics, Prometheus type, uid "
          "lockbridge-tsdb, the default")
    uids = set()
    for name in ("station.json", "lockbridge-metrics.json"):
        with open(os.path.join(g, name)) as f:
            uids |= set(re.findall(r'"datasource":\s*\{[^}]*"uid":\s*"([^"]+)"',
                                   f.read()))
    check(uids == {"lockbridge-tsdb", "${datasource}"},
          "the dashboards' panels use uid lockbridge-tsdb or the "
          "${datasource} variable (%s)" % sorted(uids))
    path = prov[0]["options"]["path"]
    mounted = {v.split(":")[1] for v in svc["grafana"]["volumes"]}
    check(len(prov) == 1 and prov[0]["type"] == "file" and
          {path + "/station.json", path + "/lockbridge-metrics.json"} <= mounted
          and "/etc/grafana/provisioning" in mounted,
          "Grafana loads both dashboards from %s, where compose mounts them"
          % path)
    return cfg


def main():
    if os.geteuid() != 0:
        print("needs root (podman, chroot, mount)")
        return 1
    t0 = time.time()
    with open(os.path.join(SOURCE, "docker/Dockerfile")) as f:
        dockerfile = f.read()
    img = inspect(IMAGE)
    if not check(img is not None, "the image %s exists (./run "
                 "test-container builds it)" % IMAGE):
        return check.summary()
    health_cmd = check_config(img)
    size = img["Size"] / 1e6
    print("     image %s: %.0f MB" % (IMAGE, size))
    check(size < 250, "the runtime image is under 250 MB (%.0f MB)" % size)
    bimg = inspect(BUILD_IMAGE) if BUILD_IMAGE else None
    if bimg:
        print("     build stage %s: %.0f MB" % (BUILD_IMAGE, bimg["Size"] / 1e6))

    compose = check_compose()
    work = tempfile.mkdtemp(prefix="lbtest-container-")
    fs = Rootfs(IMAGE, img["Config"])
    bfs = None
    try:
        check_files(fs, dockerfile)
        if bimg:
            bfs = Rootfs(BUILD_IMAGE, {"User": "root"})
        check_no_secret(fs, bfs.root if bfs else None)
        if bfs:
            check_context(bfs.root)
        for st in ("/etc/lockbridge/station.yaml",
                   "/usr/share/lockbridge/demo/station.yaml"):
            rc, out, err = fs.run(img["Config"]["Entrypoint"] +
                                  ["check", "-c", st])
            check(rc == 0 and "8 PLCs" in out, "lockbridge check -c %s in the "
                  "image: %s" % (st, (out + err).strip()[-200:]))
        if compose:
            check_demo(fs, compose, health_cmd, work)
    finally:
        fs.close()
        if bfs:
            bfs.close()
        if not os.environ.get("LB_KEEP_TMP"):
            shutil.rmtree(work, ignore_errors=True)
    print("     %.0f s" % (time.time() - t0))
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
