/*
 * notifications.mjs - the notifications page (#/notifications) on a
 * station of its own whose one route sends high alarms to a webhook: a
 * receiver here that answers 503 at first and 200 once told to.  An
 * alarm set in lock-sim shows as a pending notification with the 503 in
 * its last error and the channel failing, with the answer; once the
 * receiver accepts, the bridge's retry is shown as sent and the channel
 * working, without a reload (the page re-reads every 10 s).  A viewer is
 * told the page needs an operator.  Screenshots of both states.
 */
import { createServer } from "node:http";
import { join } from "node:path";
import { ownStation, until } from "../lib.mjs";
import { waitLive } from "./common.mjs";

export const name = "notifications";
export const about = "the notifications page: a failing webhook's pending row and answer, then the retry sent, without a reload";

const PW = "nora-Secret-2026";

export async function run(env, c) {
  let accept = false;
  const got = [];
  const hook = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      got.push(body);
      res.writeHead(accept ? 200 : 503, { "Content-Type": "application/json" });
      res.end(accept ? '{"ok":true}' : '{"error":"receiver down for the test"}');
    });
  });
  await new Promise((r) => hook.listen(0, "127.0.0.1", r));
  const { sim, bridge, url, stop } = await ownStation(env.build, "lb-browser-notify-", (p) => `station: {id: ntfb, name: {en: Notify page station, zh: 通知页面测试站}}
web: {listen: 127.0.0.1:${p.web}, root: ${p.root}}
data_dir: ${p.data}
history: off
notify:
  channels:
    - {id: hook, type: webhook, url: "http://127.0.0.1:${hook.address().port}/alarm", timeout: 2s}
  routes:
    - {priority: [critical, high], notify: [hook], on_clear: true}
  group: {wait: 0s}
plcs:
  - id: pa
    name: {en: Test PLC, zh: 测试PLC}
    host: 127.0.0.1
    port: ${p.modbus}
    timeout: 200ms
    poll: {fast: 100ms}
    tags:
      - {id: temp, name: {en: Oil temperature, zh: 油温}, table: holding, address: 0, type: i16, scale: 0.1, unit: "°C",
         alarms: [{id: high, above: 60, priority: high, area: head, message: {en: "Oil {value} {unit}", zh: "油温高 {value} {unit}"}}]}
`);
  try {
    const page = await env.page({ width: 1600, height: 1000 });
    await page.goto(url("#/notifications", "lang=en"));
    await waitLive(page);
    await page.waitForSelector(".ntf-need:not(.hidden)");
    const need = await page.$eval(".ntf-need", (e) => e.textContent);
    c.ok(/operator/i.test(need), "a viewer is told the page needs an operator", need);

    await bridge.addUser("nora", "operator", PW);
    await page.goto(url("#/login", "lang=en"));
    await page.fill(".login:not(.hidden) .login-user", "nora");
    await page.fill(".login:not(.hidden) .login-password", PW);
    await page.click(".login:not(.hidden) .login-submit");
    await page.waitForSelector(".user-btn");
    const inNav = await page.$(".nav-notifications");
    c.ok(!!inNav, "the operator has Notifications in the navigation");

    await sim.set("pa.temp", 65.5);
    await until(() => got.length >= 1, 15000, 100);
    await page.goto(url("#/notifications", "lang=en"));
    const pending = await until(async () => page.evaluate(() => {
      const r = document.querySelector(".ntf-row[data-channel=hook]:not(.alm-hdr)");
      const ch = document.querySelector(".ntf-ch[data-channel=hook]");
      return r && ch ? { status: r.dataset.status, error: r.querySelector(".c-error").textContent, ch: ch.dataset.ok, answer: ch.querySelector(".ntf-ch-answer").textContent } : null;
    }), 15000, 200);
    c.ok(pending && pending.status === "pending" && /503/.test(pending.error) && pending.ch === "false" && /receiver down/.test(pending.answer),
      "the receiver answers 503: the notification is pending with the 503, the channel failing with its answer", JSON.stringify(pending));
    await page.screenshot({ path: join(env.shots, "notifications-failing-en-1600x1000.png") });

    accept = true;
    const sent = await until(async () => page.evaluate(() => {
      const r = document.querySelector(".ntf-row[data-channel=hook]:not(.alm-hdr)");
      const ch = document.querySelector(".ntf-ch[data-channel=hook]");
      return r && r.dataset.status === "sent" && ch && ch.dataset.ok === "true" ? { delivered: r.querySelector(".c-delivered").textContent, attempts: document.querySelectorAll(".ntf-arow:not(.alm-hdr)").length } : null;
    }), 40000, 500);
    c.ok(!!sent && sent.attempts >= 2, "the retry goes through: shown sent, the channel working, every attempt listed, no reload", JSON.stringify(sent));
    const body = JSON.parse(got[got.length - 1]);
    c.ok(body.alarms && body.alarms[0].id === "pa.temp.high", "the receiver got the alarm in the end", got.length + " POSTs");
    await page.screenshot({ path: join(env.shots, "notifications-sent-en-1600x1000.png") });
    await page.close();
  } finally {
    await stop();
    hook.close();
  }
}
