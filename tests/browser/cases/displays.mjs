/*
 * displays.mjs - wall screens report what they show (?display=NAME every
 * ~5 s) and the displays page lists them: a healthy one plain, one that
 * shows not-live values or went offline highlighted.  A rotating screen
 * (?rotate=&pages=) reports each page it turns to.
 */
import { until } from "../lib.mjs";
import { waitLive } from "./common.mjs";
import { join } from "node:path";

export const name = "displays";
export const about = "wall screens report; the displays page highlights offline and stale ones; rotation";

export async function run(env, c) {
  const { bridge, sim } = env.st;
  const st = env.station;
  const list = async () => Object.fromEntries((await bridge.json("/api/displays")).displays.map((d) => [d.display, d]));

  const wall1 = await env.page({ width: 1920, height: 1080 });
  await wall1.goto(env.url("", "kiosk=1&display=wall-1&lang=zh"));
  await waitLive(wall1);
  const d1 = await until(async () => {
    const l = await list();
    return l["wall-1"] && l["wall-1"].online && l["wall-1"].page === "overview" ? l["wall-1"] : null;
  }, 12000, 250);
  c.ok(!!d1, "a kiosk page with display=wall-1 reports itself within one report period", d1 ? JSON.stringify({ page: d1.page, report_age_s: d1.report_age_s }) : "not listed");
  if (d1) {
    const drawnAge = (Date.parse((await bridge.json("/api/displays")).time) - Date.parse(d1.drawn)) / 1000;
    c.ok(d1.stale_tags === 0 && d1.data_time && drawnAge < 8, "its report: nothing stale, a data time, drawn just now", `stale ${d1.stale_tags}, drawn ${drawnAge.toFixed(1)} s ago`);
  }

  /* A second screen on a PLC's page, then that PLC goes silent. */
  /* a PLC the overview does not draw, so wall-1 stays healthy */
  const drawn = new Set(Object.values(st.schematic).flat().map((t) => t.split(".")[0]));
  const plc = st.plcs.filter((p) => !drawn.has(p.id)).sort((a, b) => a.n_tags - b.n_tags)[0];
  const wall2 = await env.page({ width: 1920, height: 1080 });
  await wall2.goto(env.url(`#/equipment/${plc.id}`, "kiosk=1&display=wall-2&lang=zh"));
  await waitLive(wall2);
  await sim.fault(plc.id, "silent");
  const d2 = await until(async () => {
    const l = await list();
    return l["wall-2"] && l["wall-2"].stale_tags === plc.n_tags ? l["wall-2"] : null;
  }, 20000, 250);
  c.ok(!!d2 && d2.page === `equipment:${plc.id}`, `wall-2 on equipment:${plc.id} reports all ${plc.n_tags} values not live when the PLC is silent`, d2 ? `stale ${d2.stale_tags}` : "no");
  await wall2.screenshot({ path: join(env.shots, `kiosk-equipment-comm-failure-1920x1080.png`) });

  const desk = await env.page({ width: 1600, height: 1000 });
  await desk.goto(env.url("#/displays", "lang=zh"));
  await waitLive(desk);
  const rowsOk = await until(() => desk.evaluate(() => {
    const r = (n) => document.querySelector(`.dp-row[data-display="${n}"]`);
    return r("wall-1") && r("wall-2") ? { w1: r("wall-1").classList.contains("bad"), w2: r("wall-2").classList.contains("bad"),
      w2stale: r("wall-2").querySelector(".c-stale").textContent, w1page: r("wall-1").querySelector(".c-page").textContent } : null;
  }), 8000);
  c.ok(!!rowsOk && !rowsOk.w1 && rowsOk.w1page === "总览", "the displays page lists wall-1 plainly, on 总览", JSON.stringify(rowsOk));
  c.ok(!!rowsOk && rowsOk.w2 && rowsOk.w2stale === String(plc.n_tags), "and highlights wall-2, showing not-live values", JSON.stringify(rowsOk));
  await desk.screenshot({ path: join(env.shots, "displays-1600x1000.png") });
  await sim.fault(plc.id, "none");

  /* wall-1 goes dark. */
  await wall1.closeAll();
  const off = await until(() => desk.evaluate(() => {
    const r = document.querySelector('.dp-row[data-display="wall-1"]');
    return r && r.classList.contains("bad") && r.querySelector(".c-online").textContent === "离线";
  }), 10000);
  c.ok(!!off, "a screen that went dark is shown 离线 (offline) and highlighted");
  await desk.screenshot({ path: join(env.shots, "displays-offline-1600x1000.png") });

  /* Rotation: each page it turns to is reported. */
  const wall3 = await env.page({ width: 1920, height: 1080 });
  await wall3.goto(env.url("", `kiosk=1&display=wall-3&rotate=1&pages=overview,equipment:${st.plcs[0].id}&lang=zh`));
  await waitLive(wall3);
  const seen = new Set();
  const hashes = new Set();
  const end = Date.now() + 13000;
  while (Date.now() < end && (seen.size < 2 || hashes.size < 2)) {
    const l = await list();
    if (l["wall-3"] && l["wall-3"].page) seen.add(l["wall-3"].page);
    hashes.add(await wall3.evaluate(() => location.hash));
    await new Promise((r) => setTimeout(r, 300));
  }
  c.ok(hashes.has("#/overview") && hashes.has(`#/equipment/${st.plcs[0].id}`), "rotate=1 turns through the listed pages", [...hashes].join(" "));
  c.ok(seen.size >= 2, "and reports each page it shows", [...seen].join(" "));
  await wall3.closeAll();
  await wall2.closeAll();
  await desk.closeAll();
}
