/*
 * bidi.mjs - just enough WebDriver BiDi to drive Debian's stock Firefox
 * (playwright's firefox needs a patched build that cannot be downloaded
 * here).  Firefox is started headless with a fresh profile in a temporary
 * directory and stopped by PID.
 *
 *   const ff = await Firefox.start();
 *   await ff.viewport(1920, 1080);
 *   await ff.goto(url);
 *   await ff.eval("document.title");
 *   const png = await ff.screenshot();        // Buffer
 *   ff.logs                                   // console/JS errors seen
 *   await ff.stop();
 */
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SOURCE, freePort, sleep } from "./lib.mjs";

const require = createRequire(join(SOURCE, "dashboard", "package.json"));

export const FIREFOX = "/usr/bin/firefox-esr";

export class Firefox {
  static async start() {
    const ff = new Firefox();
    await ff.launch();
    return ff;
  }

  async launch() {
    const WebSocket = require("ws");
    this.profile = mkdtempSync(join(tmpdir(), "lb-firefox-"));
    /* no first-run pages, no updates, no telemetry, nothing off-host */
    writeFileSync(join(this.profile, "user.js"), [
      'user_pref("browser.shell.checkDefaultBrowser", false);',
      'user_pref("browser.startup.homepage_override.mstone", "ignore");',
      'user_pref("datareporting.policy.dataSubmissionEnabled", false);',
      'user_pref("toolkit.telemetry.reportingpolicy.firstRun", false);',
      'user_pref("app.update.enabled", false);',
      'user_pref("browser.safebrowsing.malware.enabled", false);',
      'user_pref("browser.safebrowsing.phishing.enabled", false);',
      'user_pref("network.captive-portal-service.enabled", false);',
      'user_pref("intl.accept_languages", "zh-CN");',
      "",
    ].join("\n"));
    const port = await freePort();
    this.proc = spawn(FIREFOX, ["--headless", "--no-remote", "--profile", this.profile, `--remote-debugging-port=${port}`, "about:blank"],
      { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, MOZ_HEADLESS: "1" } });
    let err = "";
    this.proc.stderr.on("data", (d) => (err = (err + d).slice(-20000)));
    const end = Date.now() + 30000;
    while (!/WebDriver BiDi listening/.test(err)) {
      if (Date.now() > end || this.proc.exitCode !== null) throw new Error("firefox did not start: " + err.slice(-800));
      await sleep(100);
    }
    this.ws = new WebSocket(`ws://127.0.0.1:${port}/session`);
    await new Promise((res, rej) => {
      this.ws.once("open", res);
      this.ws.once("error", rej);
    });
    this.id = 0;
    this.waiting = new Map();
    this.logs = [];
    this.ws.on("message", (d) => {
      const m = JSON.parse(d);
      if (m.id !== undefined && this.waiting.has(m.id)) {
        const { res, rej } = this.waiting.get(m.id);
        this.waiting.delete(m.id);
        if (m.type === "error") rej(new Error(`${m.error}: ${m.message}`));
        else res(m.result);
      } else if (m.method === "log.entryAdded") {
        const e = m.params;
        if (e.level === "error") this.logs.push(`${e.type}: ${e.text}`);
      }
    });
    await this.send("session.new", { capabilities: {} });
    await this.send("session.subscribe", { events: ["log.entryAdded"] });
    const tree = await this.send("browsingContext.getTree", {});
    this.context = tree.contexts[0].context;
  }

  send(method, params) {
    const id = ++this.id;
    return new Promise((res, rej) => {
      this.waiting.set(id, { res, rej });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  viewport(width, height) {
    return this.send("browsingContext.setViewport", { context: this.context, viewport: { width, height } });
  }

  goto(url) {
    return this.send("browsingContext.navigate", { context: this.context, url, wait: "complete" });
  }

  /* The value of a JS expression (awaited), as plain JSON. */
  async eval(expression) {
    const r = await this.send("script.evaluate", {
      expression: `(async () => JSON.stringify(await (${expression})))()`,
      target: { context: this.context }, awaitPromise: true,
    });
    if (r.type === "exception") throw new Error(r.exceptionDetails.text);
    return r.result.value === undefined ? undefined : JSON.parse(r.result.value);
  }

  async waitFor(expression, ms = 15000) {
    const end = Date.now() + ms;
    for (;;) {
      let v;
      try {
        v = await this.eval(expression);
      } catch (_) {
        v = null;
      }
      if (v) return v;
      if (Date.now() > end) return v;
      await sleep(100);
    }
  }

  async screenshot() {
    const r = await this.send("browsingContext.captureScreenshot", { context: this.context });
    return Buffer.from(r.data, "base64");
  }

  async stop() {
    try {
      await this.send("session.end", {});
    } catch (_) {
      /* closing anyway */
    }
    if (this.ws) this.ws.close();
    /* ending the session may close Firefox by itself */
    const kill = (sig) => {
      try {
        process.kill(this.proc.pid, sig);
      } catch (_) {
        /* already gone */
      }
    };
    if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null) {
      const gone = new Promise((r) => this.proc.once("exit", r));
      kill("SIGTERM");
      await Promise.race([gone, sleep(10000)]);
      if (this.proc.exitCode === null && this.proc.signalCode === null) kill("SIGKILL");
    }
    rmSync(this.profile, { recursive: true, force: true });
  }
}
