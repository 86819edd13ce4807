/*
 * trends.mjs - a trend draws series from /api/history (with a gap where
 * the test makes the PLC of a gate leaf silent for a moment), select-to-zoom
 * refetches at the new range with points ≈ the plot's width and records
 * the range in the URL, the URL restores the view, pan moves it, the CSV
 * export has the rows, PNG export gives a PNG, live follow appends
 * frames.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { until, sleep } from "../lib.mjs";
import { waitLive } from "./common.mjs";

export const name = "trends";
export const about = "history drawn with gaps, zoom refetches, URL restores, CSV rows, PNG, live follow";

const current = (page) => page.evaluate(() => {
  const v = window.__lb.app.current;
  const d = v.data;
  return {
    follow: v.follow, from: v.from, to: v.to, rows: d ? d[0].length : 0,
    lastX: d && d[0].length ? d[0][d[0].length - 1] : 0,
    series: d ? d.slice(1).map((s) => ({ n: s.filter((x) => typeof x === "number").length, nulls: s.filter((x) => x === null).length })) : [],
    spanGaps: v.u ? v.u.series.slice(1).map((s) => s.spanGaps) : [],
    width: v.u ? v.u.bbox.width / devicePixelRatio : 0,
    x: v.u ? [v.u.scales.x.min, v.u.scales.x.max] : null,
    loaded: +(v.el.dataset.loaded || 0),
    hash: location.hash,
  };
});

export async function run(env, c) {
  const { sim, bridge } = env.st;
  const station = env.station;
  const level = station.schematic.chamber_level;
  const leaf = station.schematic.upper_gate_left;
  const leafPlc = leaf.split(".")[0];
  /* Make our own history: level steps, and a gap in the leaf (its PLC
   * silent for a few seconds), all in the last half minute. */
  for (const v of [5.5, 6.5, 7.5]) {
    await sim.set(level, v);
    await sleep(700);
  }
  await sim.fault(leafPlc, "silent");
  await until(async () => (await bridge.tags(leaf))[leaf].quality === "comm-failure", 10000, 100);
  await sleep(1500);
  await sim.fault(leafPlc, "none");
  await until(async () => (await bridge.tags(leaf))[leaf].quality === "good", 10000, 100);
  await sim.unset(level);
  await sleep(1500);

  const page = await env.page({ width: 1600, height: 1000 });
  const requests = [];
  page.on("request", (r) => {
    if (r.url().includes("/api/history")) requests.push(new URL(r.url()));
  });
  await page.goto(env.url(`#/trends?tags=${level},${leaf}&from=-2m&to=now`, "lang=zh"));
  await waitLive(page);
  await page.waitForFunction(() => +(window.__lb.app.current.el.dataset.loaded || 0) > 0, null, { timeout: 10000 });
  let s = await current(page);
  const axes = await page.evaluate(() => window.__lb.app.current.u.axes.filter((a) => a.scale !== "x").map((a) => a.scale));
  c.ok(axes.length === 2 && new Set(axes).size === 2, "one y axis per unit (m and %)", axes.join(" "));
  c.ok(s.follow && Math.abs(s.to - s.from - 120e3) < 2000, "#/trends?...&from=-2m&to=now opens a 2-minute live view", JSON.stringify({ follow: s.follow, span: s.to - s.from }));
  /* What the page drew is what /api/history answers for its request. */
  const r0 = requests[requests.length - 1];
  const hist = await bridge.json("/api/history" + r0.search);
  const want = hist.series.map((x) => ({ n: x.v.filter((v) => typeof v === "number").length, nulls: x.v.filter((v) => v === null).length }));
  c.ok(s.series[0].n >= want[0].n && want[0].n > 5 && s.series[0].n - want[0].n <= s.rows - s.series[0].n + 50, "the level series is drawn from /api/history", `${s.series[0].n} values drawn, ${want[0].n} in the answer`);
  c.ok(s.series[1].nulls >= want[1].nulls && want[1].nulls > 0 && s.spanGaps.every((x) => x === false), "the leaf has a gap where its PLC was silent (null, spanGaps false)", `${s.series[1].nulls} nulls drawn, ${want[1].nulls} in the answer`);
  const pts = +r0.searchParams.get("points");
  c.ok(Math.abs(pts - s.width) <= Math.max(8, s.width * 0.05), "history is asked for points ≈ the plot's width", `points=${pts}, width ${Math.round(s.width)} px`);
  await page.screenshot({ path: join(env.shots, "trends-gap-1600x1000.png") });

  /* Select-to-zoom: a drag over the last third, where our changes are. */
  const box = await page.locator(".tr:not(.hidden) .u-over").boundingBox();
  const nReq = requests.length;
  const loaded = s.loaded;
  const expectFrom = s.from + 0.6 * (s.to - s.from), expectTo = s.from + 0.97 * (s.to - s.from);
  await page.mouse.move(box.x + box.width * 0.6, box.y + box.height * 0.5);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.8, box.y + box.height * 0.5, { steps: 5 });
  await page.mouse.move(box.x + box.width * 0.97, box.y + box.height * 0.5, { steps: 5 });
  await page.mouse.up();
  await page.waitForFunction((l) => +(window.__lb.app.current.el.dataset.loaded || 0) > l, loaded, { timeout: 10000 });
  s = await current(page);
  const zr = requests.slice(nReq).pop();
  const tol = 0.03 * 120e3;
  c.ok(!s.follow && Math.abs(s.from - expectFrom) < tol && Math.abs(s.to - expectTo) < tol, "dragging across the plot zooms to that range", `${Math.round((s.to - s.from) / 1000)} s`);
  c.ok(!!zr && Math.abs(Date.parse(zr.searchParams.get("from")) - s.from) < 2 && Math.abs(Date.parse(zr.searchParams.get("to")) - s.to) < 2,
    "the zoom refetched /api/history at the new range", zr ? zr.search.slice(0, 140) : "no request");
  const m = /from=(\d+)&to=(\d+)/.exec(s.hash);
  c.ok(!!m && Math.abs(+m[1] - s.from) <= 1 && Math.abs(+m[2] - s.to) <= 1, "the URL records the zoomed range", s.hash);

  /* The URL restores the view in a new page. */
  const p2 = await env.page({ width: 1200, height: 800 });
  await p2.goto(env.url(s.hash, "lang=zh"));
  await waitLive(p2);
  await p2.waitForFunction(() => +(window.__lb.app.current.el.dataset.loaded || 0) > 0, null, { timeout: 10000 });
  const s2 = await current(p2);
  const chips = await p2.$$eval(".tr:not(.hidden) .chip", (els) => els.map((e) => e.dataset.tag));
  c.ok(!s2.follow && Math.abs(s2.from - s.from) <= 1 && Math.abs(s2.to - s.to) <= 1 && chips.join() === `${level},${leaf}`,
    "opening that URL restores tags and range", `${chips.join()} ${s2.from}..${s2.to}`);
  c.ok(s2.x && Math.abs(s2.x[0] - s2.from) <= 1 && Math.abs(s2.x[1] - s2.to) <= 1,
    "and the plot is drawn over that range as soon as its data is there", JSON.stringify(s2.x));
  await p2.closeAll();

  /* CSV: the link asks the export for the same tags and range. */
  const href = await page.$eval(".tr:not(.hidden) a[download]", (a) => a.href);
  const u = new URL(href);
  c.ok(u.pathname === "/api/export.csv" && u.searchParams.get("tags") === `${level},${leaf}` &&
    Math.abs(Date.parse(u.searchParams.get("from")) - s.from) < 2 && Math.abs(Date.parse(u.searchParams.get("to")) - s.to) < 2,
  "the CSV link names the same tags and range", u.search.slice(0, 140));
  const csv = await (await page.request.get(href)).text();
  const lines = csv.trim().split("\n");
  const rows = lines.slice(1).map((l) => l.split(","));
  const inRange = rows.every((r) => {
    const t = Date.parse(r[0]);
    return t >= s.from - 1 && t <= s.to + 1 && (r[1] === level || r[1] === leaf);
  });
  /* every raw sample in the range: what /api/history gives when asked
   * for more points than there are */
  const raw = await bridge.json(`/api/history?${u.searchParams.toString()}&points=100000`);
  const count = (tag) => rows.filter((r) => r[1] === tag).length;
  const same = raw.series.every((x) => x.source === "raw" && count(x.tag) === x.t.length);
  c.ok(lines[0] === "ts,tag,value,quality" && rows.length > 0 && inRange && same,
    "the CSV export has every sample of those tags in that range", `${rows.length} rows; history ${raw.series.map((x) => x.t.length).join("+")}`);

  /* PNG */
  const [dl] = await Promise.all([page.waitForEvent("download", { timeout: 10000 }),
    page.click(".tr:not(.hidden) .controls button:has-text('保存 PNG')")]);
  const file = await dl.path();
  const head = readFileSync(file).subarray(0, 8);
  c.ok(head.equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) && dl.suggestedFilename().endsWith(".png"),
    "PNG export downloads a PNG", dl.suggestedFilename());

  /* Pan: earlier by half the span. */
  const before = await current(page);
  await page.click(".tr:not(.hidden) .controls button:has-text('向前')");
  await page.waitForFunction((l) => +(window.__lb.app.current.el.dataset.loaded || 0) > l, before.loaded, { timeout: 10000 });
  const after = await current(page);
  const span = before.to - before.from;
  c.ok(Math.abs(after.from - (before.from - span / 2)) < 2 && Math.abs(after.to - (before.to - span / 2)) < 2, "the pan button moves the range by half its span", `${Math.round((before.from - after.from) / 1000)} s earlier`);

  /* A preset goes back to live follow; frames are appended. */
  await page.click(".tr:not(.hidden) .preset[data-preset='1h']");
  await page.waitForFunction((l) => +(window.__lb.app.current.el.dataset.loaded || 0) > l, after.loaded, { timeout: 10000 });
  const f0 = await current(page);
  await sim.set(level, 8.25);
  await sleep(1500);
  await sim.set(level, 8.75);
  await sleep(1500);
  await sim.unset(level);
  const f1 = await current(page);
  c.ok(f0.follow && f1.rows >= f0.rows + 2 && f1.lastX > f0.lastX && f1.to > f0.to, "live follow appends the WebSocket's values and moves the window",
    `${f0.rows} -> ${f1.rows} rows`);
  c.ok(/from=-1h&to=now/.test(f1.hash), "the URL says -1h..now in live follow", f1.hash);
  const subscribed = await page.evaluate(() => window.__lb.live.want.join(","));
  c.ok(subscribed === "*", "the trend page is subscribed to everything (only equipment narrows)", subscribed);

  /* The wheel zooms in around the cursor and refetches. */
  const w0 = await current(page);
  const bx = await page.locator(".tr:not(.hidden) .u-over").boundingBox();
  await page.mouse.move(bx.x + bx.width * 0.9, bx.y + bx.height / 2);
  for (let i = 0; i < 3; i++) await page.mouse.wheel(0, -100);
  await page.waitForFunction((l) => +(window.__lb.app.current.el.dataset.loaded || 0) > l, w0.loaded, { timeout: 10000 });
  const w1 = await current(page);
  const ratio = (w1.to - w1.from) / (w0.to - w0.from);
  c.ok(!w1.follow && ratio > 0.4 && ratio < 0.6, "three wheel steps zoom in (0.8³ of the span) and refetch", `span ×${ratio.toFixed(2)}`);
  await page.closeAll();
}
