/*
 * acklink.mjs - an acknowledge link opened on a phone (390x844): the page
 * shows the alarm (priority, message, station, since, who the link is
 * for) with one Acknowledge button, in zh; opening it changed nothing on
 * the bridge and opened no WebSocket; the tap with a comment acknowledges
 * as the link's recipient (the bridge says acked_by wang, the journal has
 * the comment); opening it again says it was used, by whom and when; a
 * changed link says it is not valid.  Screenshots of each.
 */
import { join } from "node:path";
import { until } from "../lib.mjs";

export const name = "acklink";
export const about = "an acknowledge link on a phone: shows the alarm, changes nothing until the tap, acknowledges as its recipient once";

const ALARM = "hpu.upper_pump1_fault.on";
const PHONE = { width: 390, height: 844 };

export async function run(env, c) {
  const { sim, bridge } = env.st;
  const state = async () => {
    const a = JSON.parse((await bridge.request("/api/alarms")).body).alarms.find((x) => x.id === ALARM);
    return a || null;
  };
  await sim.set("hpu.upper_pump1_fault", "true");
  try {
    const active = await until(async () => ((await state()) || {}).state === "active-unack", 10000, 50);
    c.ok(active, "the pump fault is active and unacknowledged");
    const url = bridge.cli(["acklink", ALARM, "--to", "wang"]).trim();
    c.ok(/#\/ack\/[A-Za-z0-9_.-]+$/.test(url), "lockbridge acklink prints the link", url.slice(0, 50) + "…");
    const link = url.replace(/^https?:\/\/[^/]+/, bridge.url) + "";
    const page = await env.page(Object.assign({ locale: "zh-CN" }, PHONE));
    const sockets = [];
    page.on("websocket", (ws) => sockets.push(ws.url()));
    await page.goto(link.replace("/#", "/?lang=zh#"));
    await page.waitForSelector(".ack-page .ack-card");
    const shown = await page.evaluate(() => ({
      text: document.querySelector(".ack-text").textContent,
      button: (document.querySelector(".ack-button") || {}).textContent,
      to: document.querySelector(".ack-to").textContent,
      state: document.querySelector(".ack-page").dataset.state,
      scrollW: document.scrollingElement.scrollWidth,
    }));
    c.ok(/油泵/.test(shown.text) && /wang/.test(shown.button || "") && shown.to === "wang" && shown.state === "ok",
      "the phone page shows the alarm in zh and one button to acknowledge as wang", `${shown.text} / ${shown.button}`);
    c.ok(shown.scrollW <= PHONE.width, "nothing is wider than the phone", String(shown.scrollW));
    await page.screenshot({ path: join(env.shots, "acklink-phone-zh-390x844.png"), fullPage: true });
    const before = await state();
    c.ok(before.state === "active-unack" && sockets.length === 0, "opening the link changed nothing and opened no WebSocket",
      `${before.state}, ${sockets.length} sockets`);

    await page.fill(".ack-comment", "我在路上");
    await page.click(".ack-button");
    await page.waitForFunction(() => document.querySelector(".ack-page").dataset.state === "done", null, { timeout: 10000 });
    const after = await state();
    const done = await page.$eval(".ack-msg", (e) => e.textContent);
    c.ok(after.state === "active-ack" && after.acked_by === "wang" && /wang/.test(done),
      "the tap acknowledges as wang: the bridge and the page say so", `${after.state} by ${after.acked_by}: ${done}`);
    const j = JSON.parse((await bridge.request(`/api/alarms/journal?id=${ALARM}&from=-10m`)).body).records;
    const ack = j.filter((r) => r.event === "ack").pop();
    c.ok(ack && ack.who === "wang" && ack.comment === "我在路上", "the journal has the ack by wang with the comment", ack && `${ack.who}: ${ack.comment}`);
    await page.screenshot({ path: join(env.shots, "acklink-done-zh-390x844.png"), fullPage: true });

    await page.reload();
    await page.waitForSelector(".ack-page .ack-card");
    const again = await page.evaluate(() => ({ state: document.querySelector(".ack-page").dataset.state, msg: document.querySelector(".ack-msg").textContent, button: !!document.querySelector(".ack-button") }));
    c.ok(again.state === "used" && /wang/.test(again.msg) && !again.button, "opened again: used by wang, no button", again.msg);

    const bad = link.slice(0, -3) + (link.endsWith("AAA") ? "BBB" : "AAA");
    await page.goto(bad.replace("/#", "/?lang=en#"));
    await page.waitForSelector(".ack-page .ack-msg");
    const badMsg = await page.$eval(".ack-msg", (e) => e.textContent);
    c.ok(/not valid/.test(badMsg), "a changed link: not valid", badMsg);
    await page.screenshot({ path: join(env.shots, "acklink-bad-en-390x844.png") });
    await page.close();
  } finally {
    await sim.unset("hpu.upper_pump1_fault").catch(() => {});
  }
}
