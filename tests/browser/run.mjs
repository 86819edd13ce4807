#!/usr/bin/env node
/*
 * run.mjs - the dashboard's browser tests: chromium (Debian's, through
 * playwright-core) against the real bridge polling lock-sim.
 *
 *   node tests/browser/run.mjs --build build [--only values,faults] [--keep]
 *                              [--no-bundle] [--list]
 *
 * Bundles the dashboard into BUILD/dashboard (dashboard/build.mjs),
 * copies the shipped station to a temporary directory with free ports,
 * starts lock-sim and `lockbridge run` on it, runs every case under
 * cases/ in order, stops both by PID, and prints "N passed, M failed"
 * (exit status 1 on any failure).  Screenshots go to BUILD/screenshots/,
 * page metrics to BUILD/browser/metrics.json.  --keep keeps the
 * temporary directory (logs, history).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, existsSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { SOURCE, playwright, CHROMIUM_ARGS, startStation, stopAll, Checks } from "./lib.mjs";
import * as values from "./cases/values.mjs";
import * as faults from "./cases/faults.mjs";
import * as trends from "./cases/trends.mjs";
import * as language from "./cases/language.mjs";
import * as displays from "./cases/displays.mjs";
import * as screens from "./cases/screens.mjs";
import * as restart from "./cases/restart.mjs";
import * as reload from "./cases/reload.mjs";
import * as metrics from "./cases/metrics.mjs";
import * as generic from "./cases/generic.mjs";
import * as serving from "./cases/serving.mjs";
import * as firefox from "./cases/firefox.mjs";
import * as auth from "./cases/auth.mjs";
import * as alarms from "./cases/alarms.mjs";
import * as flood from "./cases/flood.mjs";
import * as acklink from "./cases/acklink.mjs";
import * as notifications from "./cases/notifications.mjs";

/* Order matters a little: trends looks for the gap faults leaves in the
 * history, auth adds a user and a token to the shipped station (after
 * the cases that see it as a fresh one), and restart restarts the
 * bridge under everything after it; alarms logs an operator in, after
 * auth has made the first users. */
const CASES = [serving, values, faults, trends, language, displays, screens, firefox, generic, flood, notifications, auth, alarms, acklink, restart, reload, metrics];

const args = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
if (args.includes("--list")) {
  for (const c of CASES) console.log(`${c.name.padEnd(10)} ${c.about}`);
  process.exit(0);
}
const build = resolve(SOURCE, arg("--build", process.env.LB_BUILD || "build"));
const only = (arg("--only", "") || "").split(",").filter(Boolean);
const keep = args.includes("--keep");

for (const bin of ["lockbridge", "lock-sim"]) {
  if (!existsSync(join(build, bin))) {
    console.error(`run.mjs: ${join(build, bin)} is missing: build the C side first (./run build)`);
    process.exit(2);
  }
}
if (!existsSync(join(SOURCE, "dashboard", "node_modules", "playwright-core"))) {
  console.error("run.mjs: dashboard/node_modules is missing: run `npm ci` in dashboard/ first");
  process.exit(2);
}
if (!existsSync("/usr/bin/chromium")) {
  console.error("run.mjs: /usr/bin/chromium is missing (apt-get install -y chromium fonts-noto-cjk)");
  process.exit(2);
}
if (!args.includes("--no-bundle")) {
  execFileSync(process.execPath, [join(SOURCE, "dashboard", "build.mjs"), "--out", join(build, "dashboard")], { stdio: "inherit" });
}
const shots = join(build, "screenshots");
mkdirSync(shots, { recursive: true });
mkdirSync(join(build, "browser"), { recursive: true });

const c = new Checks();
let st = null, browser = null;
const errors = [];
try {
  st = await startStation(build, { speed: 20, seed: 7 });
  const station = await st.bridge.json("/api/station");
  browser = await playwright().chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: CHROMIUM_ARGS });
  const env = {
    st, station, browser, shots, build, errors, metrics: {},
    url: (hash, query) => `${st.bridge.url}/${query ? "?" + query : ""}${hash || ""}`,
    /* A page in a context of its own: viewport, browser locale; JS
     * errors and CSP violations are collected for the last check. */
    async page({ width = 1600, height = 1000, locale = "zh-CN", ignoreHTTPSErrors = false } = {}) {
      const ctx = await browser.newContext({ viewport: { width, height }, locale, timezoneId: "Europe/Paris", acceptDownloads: true, ignoreHTTPSErrors });
      await ctx.addInitScript(() => {
        document.addEventListener("securitypolicyviolation", (e) => {
          (window.__csp = window.__csp || []).push(e.violatedDirective + " " + e.blockedURI);
          console.error("CSP violation: " + e.violatedDirective + " " + e.blockedURI);
        });
      });
      const page = await ctx.newPage();
      page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
      page.on("console", (m) => {
        if (m.type() === "error" && !/Failed to load resource|WebSocket connection/.test(m.text())) errors.push(`console.error: ${m.text()}`);
      });
      page.closeAll = () => ctx.close();
      return page;
    },
  };
  for (const cs of CASES) {
    if (only.length && !only.includes(cs.name)) continue;
    c.section(`${cs.name}: ${cs.about}`);
    const t0 = Date.now();
    try {
      await cs.run(env, c);
    } catch (e) {
      c.error(`${cs.name} did not finish`, e);
    }
    console.log(`     (${cs.name}: ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  }
  c.section("page errors");
  c.ok(errors.length === 0, "no JavaScript error and no CSP violation on any page", errors.slice(0, 5).join(" | ") || undefined);
  writeFileSync(join(build, "browser", "metrics.json"), JSON.stringify(env.metrics, null, 2) + "\n");
  if (Object.keys(env.metrics).length) console.log(`\nmetrics (${join(build, "browser", "metrics.json")}):\n` + JSON.stringify(env.metrics, null, 2));
  console.log(`screenshots in ${shots}`);
} catch (e) {
  c.error("setup", e);
} finally {
  if (browser) await browser.close().catch(() => {});
  if (st) {
    await st.stop(keep).catch(() => {});
    if (keep) console.log(`kept ${st.dir}`);
  }
  stopAll();
}
process.exit(c.summary());
