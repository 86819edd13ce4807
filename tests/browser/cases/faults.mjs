/*
 * faults.mjs - a PLC made silent in the simulator: its values turn not
 * live on screen (hatched, with the quality and its age) and its
 * communication chip abnormal, on the overview and on its equipment
 * page; clearing the fault recovers both without a reload.  Screenshots
 * of the failure at 1920x1080 and 3840x2160.
 */
import { until } from "../lib.mjs";
import { waitLive } from "./common.mjs";
import { join } from "node:path";

export const name = "faults";
export const about = "a silent PLC turns stale/abnormal on screen and recovers without a reload";

export async function run(env, c) {
  const { sim } = env.st;
  const station = env.station;
  const plc = station.tags.find((t) => t.tag === station.schematic.upper_gate_left).plc;
  const gateTags = ["upper_gate_left", "upper_gate_right", "upper_gate_state"].map((r) => station.schematic[r]);

  const page = await env.page({ width: 1920, height: 1080 });
  await page.goto(env.url("#/overview", "kiosk=1&lang=zh"));
  await waitLive(page);
  await page.evaluate(() => (window.__noReload = 1));

  const chip = (p) => page.$eval(`.plc[data-plc="${p}"]`, (e) => ({ state: e.dataset.state, bad: e.classList.contains("bad"), text: e.textContent }));
  const groupsQ = (tags) => page.evaluate((ts) => ts.map((t) => {
    const e = document.querySelector(`.ov [data-tag="${t}"]`);
    const g = e && e.closest("[data-q]");
    return g ? { q: g.dataset.q, nl: g.classList.contains("nl") } : null;
  }), tags);

  const before = await chip(plc);
  c.ok(before.state === "ok" && !before.bad, `${plc} is OK before the fault`, JSON.stringify(before));

  const t0 = Date.now();
  await sim.fault(plc, "silent");
  const failed = await until(async () => {
    const ch = await chip(plc);
    const gs = await groupsQ(gateTags);
    return ch.bad && gs.every((g) => g && g.nl && g.q !== "good") ? { ch, gs } : null;
  }, 20000);
  c.ok(!!failed, `silent ${plc}: its chip turns abnormal and the gate's values not live`, failed ? `${Date.now() - t0} ms, chip "${failed.ch.text}", ${failed.gs.map((g) => g.q).join(",")}` : "timed out");
  if (failed) c.ok(/通讯故障/.test(failed.ch.text), "the chip says 通讯故障 (comm failure)", failed.ch.text);
  /* The gate's badge names the quality and counts its age. */
  const badge1 = await page.$eval(".gate-sec .badge", (e) => e.textContent);
  await page.waitForTimeout(2100);
  const badge2 = await page.$eval(".gate-sec .badge", (e) => e.textContent);
  c.ok(/通讯故障 \d+ 秒/.test(badge1) && badge1 !== badge2, "the gate's badge says comm failure with a growing age", `"${badge1}" then "${badge2}"`);
  /* Other PLCs are untouched. */
  const others = await Promise.all(station.plcs.filter((p) => p.id !== plc).map((p) => chip(p.id)));
  c.ok(others.every((o) => !o.bad), "every other PLC stays OK");
  await page.screenshot({ path: join(env.shots, "kiosk-comm-failure-1920x1080.png") });
  await page.setViewportSize({ width: 3840, height: 2160 });
  await page.waitForTimeout(400);
  await page.screenshot({ path: join(env.shots, "kiosk-comm-failure-3840x2160.png") });
  await page.setViewportSize({ width: 1920, height: 1080 });

  /* Its equipment page: every row not live, with the quality in words. */
  const eq = await env.page({ width: 1600, height: 1000 });
  await eq.goto(env.url(`#/equipment/${plc}`, "lang=zh"));
  await waitLive(eq);
  const rows = await until(() => eq.$$eval(".eq:not(.hidden) .eq-row[data-tag]", (els) => {
    const r = els.map((e) => ({ nl: e.classList.contains("nl"), q: e.querySelector(".c-q").textContent }));
    return r.length && r.every((x) => x.nl) ? r : null;
  }), 5000);
  c.ok(!!rows && rows.every((r) => r.q === "通讯故障"), `equipment/${plc}: every row not live, quality 通讯故障`, rows ? `${rows.length} rows` : "no");
  await eq.screenshot({ path: join(env.shots, "equipment-comm-failure-1600x1000.png") });

  /* Clearing it recovers both pages by themselves. */
  const t1 = Date.now();
  await sim.fault(plc, "none");
  const back = await until(async () => {
    const ch = await chip(plc);
    const gs = await groupsQ(gateTags);
    return !ch.bad && gs.every((g) => g && !g.nl && g.q === "good") ? ch : null;
  }, 20000);
  c.ok(!!back, `${plc} recovers on the overview after the fault is cleared`, back ? `${Date.now() - t1} ms` : "timed out");
  const eqBack = await until(() => eq.$$eval(".eq:not(.hidden) .eq-row[data-tag]", (els) => els.every((e) => !e.classList.contains("nl"))), 10000);
  c.ok(!!eqBack, `equipment/${plc} recovers too`);
  c.ok(await page.evaluate(() => window.__noReload === 1), "without a reload");
  await eq.closeAll();
  await page.closeAll();
}
