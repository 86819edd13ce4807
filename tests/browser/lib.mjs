/*
 * lib.mjs - what the browser tests share: a copy of a station on free
 * loopback ports, lock-sim and `lockbridge run` started on it and stopped
 * by PID, chromium through playwright-core, and the checks' tally.
 *
 * Node's standard library only, plus playwright-core from the dashboard's
 * node_modules (`npm ci` in dashboard/).  Every process started here is
 * remembered and stopped by its PID when the run ends, also on Ctrl-C.
 *
 * A station may be given auth: keys (auth: {anonymous: none}) and web.tls
 * (a throwaway certificate from selfSigned()); its users and kiosk tokens
 * are made with the real CLI (`lockbridge user add ... --password-stdin`,
 * `lockbridge token add`), as an operator would.
 */
import { spawn, execFileSync } from "node:child_process";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { createServer, createConnection } from "node:net";
import { createRequire } from "node:module";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, mkdirSync, openSync, closeSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";

export const SOURCE = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const require = createRequire(join(SOURCE, "dashboard", "package.json"));

export function playwright() {
  return require("playwright-core");
}

export const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--no-first-run",
  /* wall screens are never throttled in the background; neither are we */
  "--disable-background-timer-throttling", "--disable-renderer-backgrounding"];

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/* ---- processes ------------------------------------------------------------ */

const children = new Set();

function track(proc) {
  children.add(proc);
  proc.on("exit", () => children.delete(proc));
  return proc;
}

/* Stops every process this run started, by PID. */
export function stopAll() {
  for (const p of children) {
    try {
      process.kill(p.pid, "SIGTERM");
    } catch (_) {
      /* gone */
    }
  }
}

for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    stopAll();
    process.exit(130);
  });
}
process.on("exit", stopAll);

async function waitExit(proc, ms) {
  if (proc.exitCode !== null || proc.signalCode !== null) return true;
  return new Promise((res) => {
    const t = setTimeout(() => res(false), ms);
    proc.once("exit", () => {
      clearTimeout(t);
      res(true);
    });
  });
}

async function stopProc(proc, ms = 20000) {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return proc ? proc.exitCode : null;
  process.kill(proc.pid, "SIGTERM");
  if (!(await waitExit(proc, ms))) {
    process.kill(proc.pid, "SIGKILL");
    await waitExit(proc, 5000);
  }
  return proc.exitCode;
}

/* ---- ports and the station -------------------------------------------------- */

const issued = new Set();

/* A loopback port that was free a moment ago (never handed out twice). */
export async function freePort() {
  for (;;) {
    const port = await new Promise((res, rej) => {
      const s = createServer();
      s.once("error", rej);
      s.listen(0, "127.0.0.1", () => {
        const p = s.address().port;
        s.close(() => res(p));
      });
    });
    if (!issued.has(port)) {
      issued.add(port);
      return port;
    }
  }
}

/* Copies a station directory (every *.yaml) into dest, each distinct
 * `port:` renumbered to a free port; the station file's web: section
 * is replaced to listen on webPort and serve root (plus `web`, more keys
 * of it: "tls: {cert: ..., key: ...}"); data_dir is set, and `extra`
 * (top-level YAML: "auth: {anonymous: none}") appended.  Returns the
 * copied station file's path. */
export async function copyStation({ src, dest, webPort, root, dataDir, web, extra }) {
  src = src || join(SOURCE, "plc-maps", "station.yaml");
  const srcDir = dirname(src);
  mkdirSync(dest, { recursive: true });
  const renumber = new Map();
  for (const name of readdirSync(srcDir).sort()) {
    if (!/\.ya?ml$/.test(name)) continue;
    let text = readFileSync(join(srcDir, name), "utf8");
    const ports = [...text.matchAll(/(\bport:\s*)(\d+)/g)].map((m) => m[2]);
    for (const p of ports) if (!renumber.has(p)) renumber.set(p, String(await freePort()));
    text = text.replace(/(\bport:\s*)(\d+)/g, (m, a, b) => a + renumber.get(b));
    if (join(srcDir, name) === src) {
      text = text.replace(/^web:.*$/m, "");
      text += `\nweb: {listen: 127.0.0.1:${webPort}, root: ${JSON.stringify(root)}${web ? ", " + web : ""}}\n`;
      text += `data_dir: ${JSON.stringify(dataDir)}\n`;
      if (extra) text += extra.replace(/\n?$/, "\n");
    }
    writeFileSync(join(dest, name), text);
  }
  return join(dest, src.slice(srcDir.length + 1));
}

/* ---- lock-sim ---------------------------------------------------------------- */

export class Sim {
  constructor(build, station, dir, { speed = 20, seed = 7 } = {}) {
    this.bin = join(build, "lock-sim");
    this.station = station;
    this.dir = dir;
    this.control = join(dir, "sim.sock");
    this.speed = speed;
    this.seed = seed;
    this.out = join(dir, "sim.out");
    this.sock = null;
  }

  async start() {
    const fd = openSync(this.out, "w");
    this.proc = track(spawn(this.bin, ["-c", this.station, "--control", this.control,
      "--speed", String(this.speed), "--seed", String(this.seed)], { stdio: ["ignore", fd, fd] }));
    closeSync(fd);
    const end = Date.now() + 15000;
    while (Date.now() < end) {
      if (readFileSync(this.out, "utf8").includes("lock-sim: ready\n")) return;
      if (this.proc.exitCode !== null) break;
      await sleep(30);
    }
    throw new Error("lock-sim did not start: " + readFileSync(this.out, "utf8").slice(-1500));
  }

  /* One control command; resolves with the reply line. */
  command(line) {
    return new Promise((res, rej) => {
      const c = createConnection(this.control);
      let buf = "";
      c.setEncoding("utf8");
      c.on("connect", () => c.write(line + "\n"));
      c.on("data", (d) => {
        buf += d;
        const i = buf.indexOf("\n");
        if (i >= 0) {
          c.end();
          const reply = buf.slice(0, i);
          if (reply === "ok" || reply.startsWith("ok ")) res(reply.slice(3));
          else rej(new Error(`lock-sim: ${line} -> ${reply}`));
        }
      });
      c.on("error", rej);
    });
  }

  set(tag, v) {
    return this.command(`set ${tag} ${v}`);
  }

  unset(tag) {
    return this.command(`unset ${tag}`);
  }

  fault(plc, kind, arg) {
    return this.command(`fault ${plc} ${kind}${arg !== undefined ? " " + arg : ""}`);
  }

  async stop() {
    return stopProc(this.proc);
  }
}

/* ---- the bridge --------------------------------------------------------------- */

export class Bridge {
  /* tls: the station serves HTTPS (web.tls); its certificate is not
   * checked here (a throwaway one). */
  constructor(build, station, dir, port, { tls = false } = {}) {
    this.bin = join(build, "lockbridge");
    this.station = station;
    this.dir = dir;
    this.port = port;
    this.tls = tls;
    this.url = `${tls ? "https" : "http"}://127.0.0.1:${port}`;
    this.log = join(dir, "bridge.log");
    this.starts = 0;
  }

  async start() {
    const fd = openSync(this.log, this.starts++ ? "a" : "w");
    this.proc = track(spawn(this.bin, ["run", "-c", this.station], { stdio: ["ignore", fd, fd], cwd: this.dir }));
    closeSync(fd);
    const end = Date.now() + 20000;
    while (Date.now() < end) {
      if (this.proc.exitCode !== null) break;
      try {
        const r = await this.request("/healthz");
        if (r.status === 200) {
          /* every enabled PLC answered once */
          const h = JSON.parse(r.body);
          if (h.plcs.every((p) => p.state === "up" || p.state === "disabled")) return;
        }
      } catch (_) {
        /* not listening yet */
      }
      await sleep(50);
    }
    throw new Error("lockbridge did not come up: " + readFileSync(this.log, "utf8").slice(-2000));
  }

  async stop() {
    const rc = await stopProc(this.proc, 30000);
    this.proc = null;
    return rc;
  }

  /* One HTTP(S) request: {status, headers, body (text)}.  opts: method,
   * json (a body sent as application/json), cookie ("lb_session=..."). */
  request(path, { method, json, cookie } = {}) {
    const body = json !== undefined ? JSON.stringify(json) : null;
    const headers = {};
    if (body !== null) {
      headers["Content-Type"] = "application/json";
      headers["Content-Length"] = Buffer.byteLength(body);
    }
    if (cookie) headers.Cookie = cookie;
    const req = this.tls ? httpsRequest : httpRequest;
    return new Promise((res, rej) => {
      const r = req(this.url + path, { method: method || (body !== null ? "POST" : "GET"), headers, rejectUnauthorized: false }, (resp) => {
        let text = "";
        resp.setEncoding("utf8");
        resp.on("data", (d) => (text += d));
        resp.on("end", () => res({ status: resp.statusCode, headers: resp.headers, body: text }));
      });
      r.on("error", rej);
      r.setTimeout(15000, () => r.destroy(new Error(`${path}: no answer in 15 s`)));
      if (body !== null) r.write(body);
      r.end();
    });
  }

  async json(path) {
    const r = await this.request(path);
    if (r.status !== 200) throw new Error(`${path}: ${r.status} ${r.body}`);
    return JSON.parse(r.body);
  }

  /* `lockbridge ARGS... -c STATION` with input on stdin: its stdout;
   * throws with its stderr when it fails. */
  cli(args, input) {
    try {
      return execFileSync(this.bin, [...args, "-c", this.station], { input: input || "", encoding: "utf8", stdio: ["pipe", "pipe", "pipe"], timeout: 30000 });
    } catch (e) {
      throw new Error(`lockbridge ${args.join(" ")}: ${(e.stderr || e.message || "").trim()}`);
    }
  }

  /* A user as an admin makes one; the running bridge reloads its users
   * file within a second: wait until /api/me counts it. */
  async addUser(name, role, password) {
    const before = await this.userCount();
    this.cli(["user", "add", name, "--role", role, "--password-stdin"], password + "\n");
    await until(async () => (await this.userCount()) > before, 5000, 100);
  }

  async userCount() {
    const r = await this.request("/api/me");
    try {
      return JSON.parse(r.body).users;
    } catch (_) {
      return null;
    }
  }

  /* The kiosk URL `lockbridge token add NAME` prints. */
  addToken(name, role) {
    return this.cli(["token", "add", name, ...(role ? ["--role", role] : [])]).trim();
  }

  /* POST /api/login: the session cookie ("lb_session=...") or null. */
  async login(user, password) {
    const r = await this.request("/api/login", { json: { user, password } });
    const set = [].concat(r.headers["set-cookie"] || []).find((c) => c.startsWith("lb_session="));
    return r.status === 200 && set ? set.split(";")[0] : null;
  }

  /* {tag: {value, quality, ts, unit}} */
  async tags(spec) {
    const list = await this.json("/api/tags" + (spec ? "?tags=" + encodeURIComponent(spec) : ""));
    return Object.fromEntries(list.map((x) => [x.tag, x]));
  }
}

/* A throwaway self-signed certificate for localhost in dir: {cert, key}. */
export function selfSigned(dir) {
  const cert = join(dir, "cert.pem"), key = join(dir, "key.pem");
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
    "-subj", "/CN=localhost", "-keyout", key, "-out", cert], { stdio: "ignore" });
  return { cert, key };
}

/* ---- the station with both running --------------------------------------------- */

/* opts: src (a station file), speed, seed, extra (top-level YAML such as
 * "auth: {anonymous: none}"), tls (true: web.tls with a throwaway
 * certificate made in the directory). */
export async function startStation(build, opts = {}) {
  const dir = mkdtempSync(join(tmpdir(), "lb-browser-"));
  const webPort = await freePort();
  let web = null;
  if (opts.tls) {
    const { cert, key } = selfSigned(dir);
    web = `tls: {cert: ${JSON.stringify(cert)}, key: ${JSON.stringify(key)}}`;
  }
  const station = await copyStation({
    src: opts.src, dest: join(dir, "maps"), webPort,
    root: resolve(build, "dashboard"), dataDir: join(dir, "data"), web, extra: opts.extra,
  });
  const sim = new Sim(build, station, dir, opts);
  await sim.start();
  const bridge = new Bridge(build, station, dir, webPort, { tls: !!opts.tls });
  await bridge.start();
  return {
    dir, sim, bridge, station,
    async stop(keep) {
      await bridge.stop();
      await sim.stop();
      if (!keep && existsSync(dir)) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/* A station of a case's own, written by text({web, modbus, root, data}):
 * the YAML of a one-file station with those ports, dashboard root and
 * data_dir; lock-sim (speed 1) and the bridge started on it.  Resolves to
 * {sim, bridge, url(hash, query), stop()}; stop() also removes the
 * directory. */
export async function ownStation(build, prefix, text) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const maps = join(dir, "maps");
  mkdirSync(maps);
  const web = await freePort(), modbus = await freePort();
  const file = join(maps, "station.yaml");
  writeFileSync(file, text({ web, modbus, root: JSON.stringify(resolve(build, "dashboard")), data: JSON.stringify(join(dir, "data")) }));
  const sim = new Sim(build, file, dir, { speed: 1 });
  const bridge = new Bridge(build, file, dir, web);
  const stop = async () => {
    await bridge.stop();
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await sim.start();
    await bridge.start();
  } catch (e) {
    await stop();
    throw e;
  }
  return { sim, bridge, url: (hash, q) => `${bridge.url}/?${q}${hash}`, stop };
}

/* ---- checks ------------------------------------------------------------------------- */

export class Checks {
  constructor() {
    this.passed = 0;
    this.failed = [];
    this.group = "";
  }

  section(name) {
    this.group = name;
    console.log(`\n== ${name}`);
  }

  ok(cond, what, detail) {
    const line = (cond ? "ok   " : "FAIL ") + what + (detail !== undefined ? `  (${detail})` : "");
    console.log(line);
    if (cond) this.passed++;
    else this.failed.push(`${this.group}: ${what}`);
    return !!cond;
  }

  /* A step that threw: one failure naming it. */
  error(what, e) {
    console.log(`FAIL ${what}: ${e && e.stack ? e.stack.split("\n").slice(0, 4).join("\n     ") : e}`);
    this.failed.push(`${this.group}: ${what}`);
  }

  summary() {
    if (this.failed.length) console.log("\nfailed:\n  " + this.failed.join("\n  "));
    console.log(`${this.passed} passed, ${this.failed.length} failed`);
    return this.failed.length ? 1 : 0;
  }
}

/* Polls fn (async, truthy ends) every `every` ms until `ms` passed;
 * returns its last result. */
export async function until(fn, ms = 10000, every = 50) {
  const end = Date.now() + ms;
  let v;
  for (;;) {
    try {
      v = await fn();
    } catch (_) {
      v = undefined;
    }
    if (v || Date.now() > end) return v;
    await sleep(every);
  }
}
