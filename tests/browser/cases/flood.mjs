/*
 * flood.mjs - an alarm flood on screen: a station of its own whose one
 * PLC has 100 coils, each with an alarm (priorities high, medium, low in
 * turn); lock-sim sets all 100 within seconds.  Every one is journalled
 * (/api/alarms/journal), shown (the banner counts 100, the list has 100
 * rows, "acknowledge all shown" offers 100), and the KPI page reports one
 * flood of 100 alarms.  A screenshot of the list and of the KPI page.
 */
import { join } from "node:path";
import { ownStation, until } from "../lib.mjs";
import { waitLive } from "./common.mjs";

export const name = "flood";
export const about = "100 alarms in seconds: all journalled, counted in the banner, listed, and one flood on the KPI page";

const N = 100;
const PRIO = ["high", "medium", "low"];

export async function run(env, c) {
  const coils = Array.from({ length: N }, (_, i) =>
    `      - {id: f${i}, name: {en: Yard sensor ${i}, zh: 堆场传感器${i}}, table: coil, address: ${i}, type: bool,\n` +
    `         alarms: [{id: "on", when: true, priority: ${PRIO[i % 3]}, area: yard, message: {en: Yard sensor ${i} tripped, zh: 堆场传感器${i}动作}}]}`).join("\n");
  const { sim, bridge, url, stop } = await ownStation(env.build, "lb-browser-flood-", (p) => `station: {id: flood, name: {en: Flood test station, zh: 报警泛滥测试站}, timezone: Asia/Shanghai}
web: {listen: 127.0.0.1:${p.web}, root: ${p.root}}
data_dir: ${p.data}
history: off
chattering: off
plcs:
  - id: yard
    name: {en: Yard PLC, zh: 堆场PLC}
    host: 127.0.0.1
    port: ${p.modbus}
    timeout: 200ms
    poll: {fast: 100ms}
    tags:
${coils}
`);
  try {
    const page = await env.page({ width: 1600, height: 1000 });
    await page.goto(url("#/alarms", "lang=en"));
    await waitLive(page);
    const t0 = Date.now();
    for (let i = 0; i < N; i++) await sim.set(`yard.f${i}`, "true");
    const setMs = Date.now() - t0;
    const shown = await until(async () => {
      const b = await page.$eval(".alarm-banner", (e) => +e.dataset.total);
      return b === N ? b : null;
    }, 20000, 100);
    c.ok(shown === N && setMs < 60000, `${N} alarms set in ${(setMs / 1000).toFixed(1)} s: the banner counts all ${N}`, String(shown || "timed out"));
    const rows = await until(async () => {
      const n = await page.$$eval(".alm .alm-row[data-id]", (els) => els.length);
      return n === N ? n : null;
    }, 10000, 100);
    c.ok(rows === N, `the alarm list shows all ${N}`, String(rows));
    const counts = await page.$eval(".alarm-banner", (e) => Object.fromEntries([...e.querySelectorAll(".ab-chip")].map((x) => [x.dataset.prio, +x.dataset.n])));
    c.ok(counts.high === 34 && counts.medium === 33 && counts.low === 33, "counted by priority: 34 high, 33 medium, 33 low", JSON.stringify(counts));
    await page.screenshot({ path: join(env.shots, "alarms-flood-en-1600x1000.png") });
    const journal = JSON.parse((await bridge.request(`/api/alarms/journal?from=-10m&limit=1000`)).body).records;
    const activeRecs = new Set(journal.filter((r) => r.event === "active").map((r) => r.id));
    c.ok(activeRecs.size === N, `the journal has all ${N} activations`, String(activeRecs.size));

    await page.goto(url("#/kpi", "lang=zh"));
    await page.waitForFunction(() => document.querySelector(".kpi") && document.querySelector(".kpi").dataset.floods !== undefined, null, { timeout: 15000 });
    const k = await page.evaluate(() => ({
      floods: +document.querySelector(".kpi").dataset.floods,
      ann: +document.querySelector(".kpi").dataset.annunciated,
      row: (document.querySelector(".kpi-floods .kpi-trow") || {}).textContent || "",
      max: (document.querySelector('[data-kpi="max10"] .kpi-v') || {}).textContent,
    }));
    c.ok(k.floods === 1 && k.ann === N && new RegExp(`${N} 条报警`).test(k.row) && k.max === String(N),
      `the KPI page reports one flood of ${N} alarms, ${N} in the worst 10 minutes`, JSON.stringify(k));
    await page.screenshot({ path: join(env.shots, "kpi-flood-zh-1600x1000.png") });
    await page.close();
  } finally {
    await stop();
  }
}
