/*
 * reload.mjs - the maps edited and reloaded under an open page: the bridge
 * closes the page's socket with 1012 (station reloaded), the page
 * reconnects at once, finds /api/station changed and loads itself again,
 * showing the new names with live values; a broken map is refused by the
 * bridge and the page goes on as it was, live, not reloaded.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ownStation, until, sleep } from "../lib.mjs";
import { waitLive } from "./common.mjs";

export const name = "reload";
export const about = "maps reloaded under an open page: the page loads the new station by itself; a broken map changes nothing";

export async function run(env, c) {
  const { bridge, url, stop } = await ownStation(env.build, "lb-browser-reload-", (p) => `station: {id: rl, name: {en: Reload test station, zh: 重载测试站}, timezone: Asia/Shanghai}
web: {listen: 127.0.0.1:${p.web}, root: ${p.root}}
data_dir: ${p.data}
plcs:
  - id: gate
    name: {en: Test gate, zh: 测试闸门}
    host: 127.0.0.1
    port: ${p.modbus}
    timeout: 200ms
    poll: {fast: 200ms}
    tags:
      - {id: pos, name: {en: Leaf position, zh: 门叶开度}, table: holding, address: 0, type: u16, unit: mm}
      - {id: run, name: {en: Drive running, zh: 驱动运行}, table: coil, address: 0, type: bool}
`);
  try {
    const page = await env.page({ width: 1600, height: 1000 });
    await page.goto(url("#/equipment/gate", "lang=en"));
    await waitLive(page);
    await page.evaluate(() => (window.__noReload = 1));
    const text = () => page.evaluate(() => document.body.innerText);
    c.ok((await text()).includes("Leaf position"), "the page shows the tag's name from the map");

    /* A broken map: refused, the page goes on. */
    const file = bridge.station;
    const good = readFileSync(file, "utf8");
    writeFileSync(file, good.replace("type: u16", "type: u17"));
    process.kill(bridge.proc.pid, "SIGHUP");
    const refused = await until(() => /not reloaded, the running configuration stays/.test(readFileSync(bridge.log, "utf8")) || null, 10000, 100);
    c.ok(!!refused, "a broken map: the bridge refuses it (its log says so)");
    await sleep(1500);
    const after = await page.evaluate(() => ({ kept: window.__noReload === 1, lost: document.documentElement.classList.contains("link-lost") }));
    c.ok(after.kept && !after.lost, "... and the page is neither reloaded nor disconnected", JSON.stringify(after));

    /* A changed map: the page loads the new station. */
    writeFileSync(file, good.replace("{en: Leaf position,", "{en: Leaf opening,"));
    const t0 = Date.now();
    process.kill(bridge.proc.pid, "SIGHUP");
    const reloaded = await until(async () => {
      try {
        const s = await page.evaluate(() => ({ marker: window.__noReload === 1, text: document.body.innerText, lost: document.documentElement.classList.contains("link-lost") }));
        return !s.marker && !s.lost && s.text.includes("Leaf opening") ? s : null;
      } catch (_) {
        return null; /* navigating */
      }
    }, 15000, 100);
    const ms = Date.now() - t0;
    c.ok(!!reloaded, "a changed map: the page loads the new station by itself and shows the new name", `${ms} ms`);
    if (reloaded) {
      await waitLive(page);
      c.ok(!reloaded.text.includes("Leaf position"), "... and not the old one");
      env.metrics.page_reloaded_after_sighup_ms = ms;
      await page.screenshot({ path: join(env.shots, "reloaded-equipment-1600x1000.png") });
    }
    await page.closeAll();
  } finally {
    await stop();
  }
}
