/*
 * generic.mjs - the dashboard is made from /api/station, so any station
 * file works: a station of one PLC (the shipped levels map), in another
 * time zone, with no schematic: section.  The overview says where the
 * drawing would be and still shows the PLC's communication; equipment
 * and trends work as usual; times follow that station's zone.
 */
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { SOURCE, freePort, Sim, Bridge } from "../lib.mjs";
import { waitLive } from "./common.mjs";

export const name = "generic";
export const about = "a one-PLC station without a schematic, in Europe/Berlin: every page works";

export async function run(env, c) {
  const dir = mkdtempSync(join(tmpdir(), "lb-browser-one-"));
  const maps = join(dir, "maps");
  mkdirSync(maps);
  const modbus = await freePort(), web = await freePort();
  writeFileSync(join(maps, "levels.yaml"), readFileSync(join(SOURCE, "plc-maps", "levels.yaml"), "utf8").replace(/^port:\s*\d+/m, `port: ${modbus}`));
  const tz = "Europe/Berlin";
  writeFileSync(join(maps, "station.yaml"), `station: {id: one, name: {en: One PLC station, zh: 单PLC站}, timezone: ${tz}}
plcs: [levels.yaml]
web: {listen: 127.0.0.1:${web}, root: ${JSON.stringify(resolve(env.build, "dashboard"))}}
data_dir: ${JSON.stringify(join(dir, "data"))}
`);
  const sim = new Sim(env.build, join(maps, "station.yaml"), dir, { speed: 20 });
  const bridge = new Bridge(env.build, join(maps, "station.yaml"), dir, web);
  try {
    await sim.start();
    await bridge.start();
    const st = await bridge.json("/api/station");
    c.ok(st.schematic === null && st.plcs.length === 1, "the station has no schematic and one PLC");
    const url = (hash, q) => `${bridge.url}/?${q}${hash}`;
    const page = await env.page({ width: 1600, height: 900 });
    await page.goto(url("#/overview", "lang=zh"));
    await waitLive(page);
    const ov = await page.evaluate(() => ({
      svg: !!document.querySelector(".ov:not(.hidden) svg"),
      note: (document.querySelector(".ov:not(.hidden) .ov-nodraw") || {}).textContent || "",
      chips: [...document.querySelectorAll(".ov:not(.hidden) .plc")].map((e) => e.dataset.plc + ":" + e.dataset.state),
      cells: document.querySelectorAll(".ov:not(.hidden) .ov-status .cell").length,
    }));
    c.ok(!ov.svg && /schematic/.test(ov.note) && ov.cells === 0, "the overview shows a note where the drawing would be", ov.note.slice(0, 40));
    c.ok(ov.chips.join() === "levels:ok", "and the PLC's communication", ov.chips.join());
    const clock = await page.textContent(".clock-time");
    const fmt = new Intl.DateTimeFormat("zh-CN", { timeZone: tz, hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
    c.ok([-1000, 0, 1000].map((d) => fmt.format(Date.now() + d)).includes(clock), `the clock is in ${tz}`, clock);
    await page.screenshot({ path: join(env.shots, "overview-no-schematic-1600x900.png") });
    await page.goto(url("#/equipment/levels", "lang=zh"));
    await waitLive(page);
    const rows = await page.$$eval(".eq:not(.hidden) .eq-row[data-tag]", (els) => els.filter((e) => e.dataset.q === "good").length);
    c.ok(rows === st.plcs[0].n_tags, "its equipment page lists every tag, live", `${rows} of ${st.plcs[0].n_tags}`);
    await page.goto(url("#/trends", "lang=zh"));
    await waitLive(page);
    const tr = await page.evaluate(() => ({
      chips: document.querySelectorAll(".tr:not(.hidden) .chip").length,
      hint: !document.querySelector(".tr:not(.hidden) > .ov-note").classList.contains("hidden"),
    }));
    c.ok(tr.chips === 0 && tr.hint, "trends without tags (and no schematic to default to) asks to pick some");
    await page.fill(".tr:not(.hidden) .tr-search", "闸室");
    await page.waitForSelector(".tr:not(.hidden) .tr-results li");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => +(window.__lb.app.current.el.dataset.loaded || 0) > 0, null, { timeout: 10000 });
    const picked = await page.$$eval(".tr:not(.hidden) .chip", (els) => els.map((e) => e.dataset.tag));
    c.ok(picked.length === 1 && picked[0].startsWith("levels."), "searching 闸室 and Enter picks a tag and draws it", picked.join());
    await page.closeAll();
  } finally {
    await bridge.stop().catch(() => {});
    await sim.stop().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}
