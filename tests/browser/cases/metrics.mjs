/*
 * metrics.mjs - what a page costs, measured cheaply for the benchmark:
 * navigation to a live overview, bytes transferred (first and repeat
 * visit), and memory over many frames and over many page rotations (JS
 * heap after a forced GC, DOM nodes, event listeners: flat, or a wall
 * screen dies after weeks).
 *
 * LB_BROWSER_SOAK_S (default 40) sets how long each soak runs.
 */
import { sleep } from "../lib.mjs";
import { waitLive } from "./common.mjs";

export const name = "metrics";
export const about = "time to live overview, bytes transferred, memory flat over frames and rotations";

/* JS heap after a forced GC (twice), DOM nodes, listeners, documents:
 * what a page holds, for the soaks here and the page benchmark. */
export async function counters(cdp) {
  await cdp.send("HeapProfiler.collectGarbage");
  await sleep(200);
  await cdp.send("HeapProfiler.collectGarbage");
  const { metrics } = await cdp.send("Performance.getMetrics");
  const m = Object.fromEntries(metrics.map((x) => [x.name, x.value]));
  return { heap: m.JSHeapUsedSize, nodes: m.Nodes, listeners: m.JSEventListeners, documents: m.Documents };
}

export async function run(env, c) {
  const soak = (+process.env.LB_BROWSER_SOAK_S || 40) * 1000;

  /* Load: time to a live overview and bytes, first and repeat visit. */
  const page = await env.page({ width: 1920, height: 1080 });
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Performance.enable");
  let bytes = 0, requests = 0;
  cdp.on("Network.loadingFinished", (e) => {
    bytes += e.encodedDataLength;
    requests++;
  });
  const t0 = Date.now();
  await page.goto(env.url("#/overview", "kiosk=1&lang=zh"));
  await waitLive(page);
  const wall = Date.now() - t0;
  const firstLive = await page.evaluate(() => window.__lb.metrics.firstLive);
  await sleep(300);
  const first = { bytes, requests };
  bytes = 0;
  requests = 0;
  await page.reload();
  await waitLive(page);
  await sleep(300);
  const repeat = { bytes, requests };
  env.metrics.load = {
    first_live_ms: Math.round(firstLive), first_live_wall_ms: wall,
    first_visit: first, repeat_visit: repeat,
  };
  c.ok(firstLive < 3000, "navigation to a live overview (first snapshot drawn)", `${Math.round(firstLive)} ms after navigation start`);
  c.ok(first.bytes < 200 * 1024, "first visit transfers under 200 KB (bundle, station, snapshot)", `${(first.bytes / 1024).toFixed(1)} KB in ${first.requests} requests`);

  /* The two soaks run side by side, each page measured through its own
   * CDP session: one is a page left open, the other a wall screen
   * rotating; in turn they were 80 s of the suite. */
  await Promise.all([framesSoak(env, c, page, cdp, soak), rotationSoak(env, c, soak)]);
}

/* Many frames on one page. */
async function framesSoak(env, c, page, cdp, soak) {
  const fr0 = await page.evaluate(() => window.__lb.live.stats.frames);
  await sleep(3000);
  const a = await counters(cdp);
  await sleep(soak);
  const b = await counters(cdp);
  const frames = (await page.evaluate(() => window.__lb.live.stats.frames)) - fr0;
  env.metrics.frames_soak = { seconds: soak / 1000, frames, before: a, after: b, heap_growth_kb: Math.round((b.heap - a.heap) / 1024) };
  c.ok(frames > soak / 1000 * 5, `the soak brought many frames`, `${frames} frames in ${soak / 1000} s`);
  c.ok(b.heap - a.heap < 1.5 * 1024 * 1024 && b.nodes - a.nodes <= 20 && b.listeners - a.listeners <= 2,
    "memory is flat over those frames (heap after GC, DOM nodes, listeners)",
    `heap ${(a.heap / 1048576).toFixed(2)} -> ${(b.heap / 1048576).toFixed(2)} MB, nodes ${a.nodes} -> ${b.nodes}, listeners ${a.listeners} -> ${b.listeners}`);
  await page.closeAll();
}

/* A rotating wall screen: pages made once, reused every turn. */
async function rotationSoak(env, c, soak) {
  const st = env.station;
  const pages = ["overview", ...st.plcs.slice(0, 3).map((p) => "equipment:" + p.id), "trends", "displays"];
  const rot = await env.page({ width: 1920, height: 1080 });
  const rcdp = await rot.context().newCDPSession(rot);
  await rcdp.send("Performance.enable");
  await rot.goto(env.url("", `kiosk=1&rotate=1&pages=${pages.join(",")}&lang=zh`));
  await waitLive(rot);
  await sleep(pages.length * 1000 * 2 + 500);     /* two full turns: every page made */
  const r0 = await counters(rcdp);
  await sleep(soak);
  const r1 = await counters(rcdp);
  const turns = Math.round(soak / 1000 / pages.length);
  env.metrics.rotation_soak = { seconds: soak / 1000, pages: pages.length, turns, before: r0, after: r1, heap_growth_kb: Math.round((r1.heap - r0.heap) / 1024) };
  c.ok(r1.heap - r0.heap < 2 * 1024 * 1024 && Math.abs(r1.nodes - r0.nodes) <= 200 && r1.listeners - r0.listeners <= 2,
    `memory is flat over ${turns} turns of a ${pages.length}-page rotation`,
    `heap ${(r0.heap / 1048576).toFixed(2)} -> ${(r1.heap / 1048576).toFixed(2)} MB, nodes ${r0.nodes} -> ${r1.nodes}, listeners ${r0.listeners} -> ${r1.listeners}`);
  await rot.closeAll();
}
