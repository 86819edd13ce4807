/*
 * restart.mjs - the page losing the bridge: a bridge restart shows the
 * lost-connection banner at once and every value as not live, then the
 * page reconnects by itself and resynchronises from the snapshot (a value
 * changed while the bridge was down appears); a bridge that stops
 * answering without closing the socket (SIGSTOP) is noticed by the
 * watchdog within ~5 s.  No reload, nobody touching it.
 */
import { join } from "node:path";
import { until, sleep } from "../lib.mjs";
import { waitLive } from "./common.mjs";

export const name = "restart";
export const about = "bridge restart and freeze: banner, nothing shown live, reconnect and resync by itself";

/* Every value node on the overview, and whether it is drawn not live. */
const allNotLive = () => {
  const groups = [...document.querySelectorAll(".ov:not(.hidden) [data-q]")];
  const live = groups.filter((g) => g.dataset.q !== "link-lost");
  const chips = [...document.querySelectorAll(".ov:not(.hidden) .plc")].filter((p) => !p.classList.contains("bad") && p.dataset.state !== "disabled");
  const banner = document.querySelector(".banner");
  return {
    groups: groups.length, live: live.length, liveChips: chips.length,
    banner: !banner.classList.contains("hidden") ? banner.textContent : "",
    lost: document.documentElement.classList.contains("link-lost"),
  };
};

export async function run(env, c) {
  const { bridge, sim } = env.st;
  const tag = env.station.schematic.chamber_level;
  const page = await env.page({ width: 1920, height: 1080 });
  await page.goto(env.url("#/overview", "kiosk=1&display=wall-r&lang=zh"));
  await waitLive(page);
  await page.evaluate(() => (window.__noReload = 1));
  const ok0 = await page.evaluate(allNotLive);
  c.ok(ok0.banner === "" && !ok0.lost && ok0.live === ok0.groups, "live before: no banner, every value live", JSON.stringify(ok0));

  /* Restart. */
  const t0 = Date.now();
  await bridge.stop();
  const lost = await until(async () => {
    const s = await page.evaluate(allNotLive);
    return s.banner && s.lost && s.live === 0 && s.liveChips === 0 ? s : null;
  }, 8000, 50);
  c.ok(!!lost, "bridge stopped: the banner shows and every value is drawn not live", lost ? `${Date.now() - t0} ms, ${lost.groups} values` : "no");
  if (lost) c.ok(/连接已中断/.test(lost.banner), "the banner says the connection is lost (zh)", lost.banner);
  await sleep(1500);
  await page.screenshot({ path: join(env.shots, "kiosk-link-lost-1920x1080.png") });
  /* The plant moves on while the bridge is away. */
  await sim.set(tag, 9.5);
  await sleep(2000);
  const t1 = Date.now();
  await bridge.start();
  const up = Date.now();
  const back = await until(async () => {
    const s = await page.evaluate(allNotLive);
    const raw = await page.$eval(`.ov [data-tag="${tag}"][data-raw]`, (e) => e.dataset.raw);
    return !s.banner && !s.lost && s.live === s.groups && raw === "9.5" ? s : null;
  }, 20000, 100);
  c.ok(!!back, "bridge back: the page reconnects by itself, the banner goes, values are live again",
    back ? `${Date.now() - up} ms after the bridge answered (${up - t1} ms to start it)` : "no");
  c.ok(!!back, "and the value changed while it was away is shown (resynchronised from the snapshot)");
  c.ok(await page.evaluate(() => window.__noReload === 1), "without a reload");
  env.metrics.reconnect_after_bridge_up_ms = back ? Date.now() - up : null;

  /* A frozen bridge: the socket stays open, nothing comes. */
  await sleep(1000);
  process.kill(bridge.proc.pid, "SIGSTOP");
  const t2 = Date.now();
  const frozen = await until(async () => {
    const s = await page.evaluate(allNotLive);
    return s.banner && s.live === 0 ? s : null;
  }, 12000, 100);
  const dt = Date.now() - t2;
  c.ok(!!frozen && dt >= 3000 && dt <= 8000, "a frozen bridge (no frame, no heartbeat) is noticed by the watchdog in ~5 s", `${dt} ms`);
  process.kill(bridge.proc.pid, "SIGCONT");
  const thawed = await until(async () => {
    const s = await page.evaluate(allNotLive);
    return !s.banner && s.live === s.groups ? s : null;
  }, 20000, 100);
  c.ok(!!thawed, "and when it answers again the page is live again by itself");
  await sim.unset(tag);
  await page.closeAll();
}
