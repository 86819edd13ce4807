#!/usr/bin/env node
/*
 * page_bench.mjs - the dashboard measured from Debian's chromium against a
 * running bridge (bench.py's `page` part starts the bridge and lock-sim;
 * this starts only the browser, and closes it before exiting).
 *
 *   node page_bench.mjs load   --url URL [--runs N]
 *   node page_bench.mjs trends --url URL --tags a,b,... --from MS --to MS [--runs N]
 *   node page_bench.mjs soak   --url URL --frames N --trend-tags a,b [--max-s S] [--sample-s S]
 *
 * load: N cold loads (a fresh browser context each: empty HTTP cache) and
 *   N warm ones (the same context navigating to the page again) of the
 *   kiosk overview, each timed from navigation start to the overview
 *   complete with live values: the page's link state is live
 *   (`.link[data-state=live]`, the store's link up), every tag the
 *   station's schematic binds is drawn (`.ov [data-tag=T][data-raw]`)
 *   with exactly the value the store holds from the snapshot, that value
 *   is good, and every PLC chip says ok.  Checked by a MutationObserver
 *   at each DOM change; `complete` is that moment (inside the animation
 *   frame that draws it), `painted` a task later (the frame has been
 *   rendered).  Bytes per visit from CDP: every HTTP response's
 *   encodedDataLength (headers and gzipped body) up to the complete
 *   overview, plus the WebSocket's snapshot frame.
 * trends: the overview, then N times: `location.hash` set to the trend
 *   of the tags over [from, to], timed to the lb-trends-drawn mark
 *   (trends.js: uPlot's draw hook after the data came), with the
 *   lb-trends-fetch and lb-trends-data marks and the /api/history
 *   request's Resource Timing; the first run makes the view, later ones
 *   alternate overview -> trends and a range change on the trend page.
 * soak: a kiosk overview and a kiosk trend in live follow (the tags,
 *   -1h..now), each in its own context; JS heap after a forced GC, DOM
 *   nodes and listeners before and after N frames counted by each page
 *   (window.__lb.live.stats.frames), sampled every --sample-s; frame
 *   types counted from CDP's Network.webSocketFrameReceived.
 *
 * Prints one JSON object on stdout; progress on stderr.
 */
import { playwright, CHROMIUM_ARGS, sleep } from "../browser/lib.mjs";
import { counters } from "../browser/cases/metrics.mjs";
import { waitLive } from "../browser/cases/common.mjs";

const args = process.argv.slice(2);
const mode = args[0];
const arg = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const base = arg("--url");
if (!["load", "trends", "soak"].includes(mode) || !base) {
  console.error("usage: page_bench.mjs load|trends|soak --url URL [options]");
  process.exit(2);
}
const say = (m) => process.stderr.write(`page_bench: ${m}\n`);
const median = (xs) => {
  const s = xs.filter((x) => typeof x === "number" && isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return null;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const round = (x, d = 1) => (x == null ? null : Math.round(x * 10 ** d) / 10 ** d);

const VIEWPORT = { width: 1920, height: 1080 };
const errors = [];
let browser = null;

async function newContext() {
  const ctx = await browser.newContext({ viewport: VIEWPORT, locale: "zh-CN", timezoneId: "Asia/Shanghai" });
  ctx.on("page", (p) => watchErrors(p));
  return ctx;
}

function watchErrors(page) {
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && !/Failed to load resource|WebSocket connection/.test(m.text())) errors.push(`console.error: ${m.text()}`);
  });
}

/* ---- load --------------------------------------------------------------- */

/* Runs in the page before its scripts: watches for the complete overview. */
function completeWatcher(bound) {
  const B = (window.__lbBench = { complete: 0, painted: 0, checks: 0 });
  const check = () => {
    const lb = window.__lb;
    if (!lb || !lb.store || !lb.live || !lb.station) return false;
    if (!lb.store.linkUp || lb.live.state !== "live") return false;
    const link = document.querySelector(".link");
    if (!link || link.dataset.state !== "live") return false;
    const ov = document.querySelector(".ov");
    if (!ov || ov.classList.contains("hidden")) return false;
    for (const tag of bound) {
      const r = lb.store.recs.get(tag);
      if (!r || !r.seen || r.q !== "good") return false;
      const want = JSON.stringify(r.v);
      let drawn = false;
      for (const el of ov.querySelectorAll(`[data-tag="${CSS.escape(tag)}"][data-raw]`)) {
        if (el.dataset.raw === want) {
          drawn = true;
          break;
        }
      }
      if (!drawn) return false;
    }
    for (const chip of ov.querySelectorAll(".plc[data-plc]")) if (chip.dataset.state !== "ok") return false;
    return true;
  };
  const mo = new MutationObserver(() => {
    if (B.complete) return;
    B.checks++;
    if (!check()) return;
    B.complete = performance.now();
    mo.disconnect();
    setTimeout(() => {
      B.painted = performance.now();
      console.debug("lb-bench: complete");
    }, 0);
  });
  mo.observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
}

/* Bytes per navigation from CDP: HTTP responses and WebSocket frames. */
function byteCounter(cdp) {
  const c = { reset() {
    this.http = 0;
    this.requests = 0;
    this.byUrl = {};
    this.snapshot = 0;
    this.wsFrames = 0;
    this.wsBytes = 0;
    this.urls = new Map();
  } };
  c.reset();
  cdp.on("Network.responseReceived", (e) => c.urls.set(e.requestId, e.response.url));
  cdp.on("Network.loadingFinished", (e) => {
    c.http += e.encodedDataLength;
    c.requests++;
    const u = new URL(c.urls.get(e.requestId) || "http://x/?");
    const key = u.pathname.replace(/-[A-Z0-9]{8}\./, "-HASH.");
    c.byUrl[key] = (c.byUrl[key] || 0) + e.encodedDataLength;
  });
  cdp.on("Network.webSocketFrameReceived", (e) => {
    const n = Buffer.byteLength(e.response.payloadData) + 4;  /* + frame header (2-4 bytes) */
    c.wsFrames++;
    c.wsBytes += n;
    if (!c.snapshot && e.response.payloadData.startsWith('{"type":"snapshot"')) c.snapshot = n;
  });
  return c;
}

/* Navigates and waits for the watcher's console message: nothing is
 * evaluated in the page meanwhile (Playwright's injected script would
 * cost the page's main thread tens of ms in the middle of the load). */
async function timedLoad(page, url, bytes) {
  bytes.reset();
  const done = page.waitForEvent("console", { predicate: (m) => m.text() === "lb-bench: complete", timeout: 30000 });
  await page.goto(url, { waitUntil: "commit" });
  await done;
  const t = await page.evaluate(() => {
    const nav = performance.getEntriesByType("navigation")[0];
    const res = performance.getEntriesByType("resource");
    const end = (re) => {
      const e = res.find((x) => re.test(x.name));
      return e ? e.responseEnd : null;
    };
    return {
      complete: window.__lbBench.complete, painted: window.__lbBench.painted, checks: window.__lbBench.checks,
      html: nav.responseEnd, dom: nav.domContentLoadedEventEnd, js: end(/\/app-[^/]*\.js$/), css: end(/\/app-[^/]*\.css$/),
      station: end(/\/api\/station$/), snapshot: window.__lb.store.firstLiveAt, first_live: window.__lb.metrics.firstLiveSinceNav,
    };
  });
  /* what arrived up to the complete overview (later deltas are not) */
  await sleep(50);
  return { t, http: bytes.http, requests: bytes.requests, byUrl: bytes.byUrl, snapshot: bytes.snapshot };
}

async function runLoad() {
  const runs = +arg("--runs", 7);
  const station = await (await fetch(base + "/api/station")).json();
  const bound = [...new Set(Object.values(station.schematic || {}).flat())];
  const url = `${base}/?kiosk=1&lang=zh#/overview`;
  const cold = [], warm = [];
  for (let i = 0; i < runs; i++) {
    const ctx = await newContext();
    await ctx.addInitScript(completeWatcher, bound);
    const page = await ctx.newPage();
    const cdp = await ctx.newCDPSession(page);
    await cdp.send("Network.enable");
    const bytes = byteCounter(cdp);
    cold.push(await timedLoad(page, url, bytes));
    await page.goto("about:blank");
    warm.push(await timedLoad(page, url, bytes));
    say(`load ${i + 1}/${runs}: cold ${round(cold[i].t.painted)} ms, ${(cold[i].http + cold[i].snapshot) / 1024 | 0} KB; ` +
      `warm ${round(warm[i].t.painted)} ms, ${(warm[i].http + warm[i].snapshot) / 1024 | 0} KB`);
    await ctx.close();
  }
  const sum = (list) => {
    const med = (f) => round(median(list.map(f)));
    return {
      runs: list.length,
      complete_ms: med((x) => x.t.complete), painted_ms: med((x) => x.t.painted),
      painted_ms_runs: list.map((x) => round(x.t.painted)),
      steps_ms: {
        html: med((x) => x.t.html), css: med((x) => x.t.css), js: med((x) => x.t.js), dom_content_loaded: med((x) => x.t.dom),
        station: med((x) => x.t.station), snapshot: med((x) => x.t.snapshot), first_live: med((x) => x.t.first_live),
        complete: med((x) => x.t.complete), painted: med((x) => x.t.painted),
      },
      http_bytes: median(list.map((x) => x.http)), requests: median(list.map((x) => x.requests)),
      snapshot_bytes: median(list.map((x) => x.snapshot)),
      bytes: median(list.map((x) => x.http + x.snapshot)),
      by_url: list[list.length >> 1].byUrl,
    };
  };
  return { bound_tags: bound.length, plcs: station.plcs.length, url, viewport: VIEWPORT, cold: sum(cold), warm: sum(warm) };
}

/* ---- trends ----------------------------------------------------------------- */

async function runTrends() {
  const runs = +arg("--runs", 7);
  const tags = arg("--tags").split(",");
  const from = +arg("--from"), to = +arg("--to");
  const ctx = await newContext();
  const page = await ctx.newPage();
  await page.goto(`${base}/?lang=zh#/overview`);
  await waitLive(page);
  const hashFor = (f, t) => `#/trends?tags=${tags.join(",")}&from=${f}&to=${t}`;
  /* One run: set the hash, wait for the drawn mark newer than that. */
  const once = async (hash) => {
    const r = await page.evaluate(async (hash) => {
      const t0 = performance.now();
      location.hash = hash;
      const last = (name) => {
        const m = performance.getEntriesByName(name, "mark");
        return m.length ? m[m.length - 1].startTime : 0;
      };
      const end = t0 + 30000;
      while (!(last("lb-trends-drawn") > t0)) {
        if (performance.now() > end) return { error: "no lb-trends-drawn mark within 30 s" };
        await new Promise((r) => setTimeout(r, 5));
      }
      const res = performance.getEntriesByType("resource").filter((e) => e.name.includes("/api/history?"));
      const q = res[res.length - 1];
      const v = window.__lb.app.current;
      return {
        drawn: last("lb-trends-drawn") - t0, fetch: last("lb-trends-fetch") - t0, data: last("lb-trends-data") - t0,
        request: q ? q.responseEnd - q.startTime : null, ttfb: q ? q.responseStart - q.requestStart : null,
        body: q ? q.responseEnd - q.responseStart : null, transfer: q ? q.transferSize : null, decoded: q ? q.decodedBodySize : null,
        url: q ? q.name : null, rows: v.data ? v.data[0].length : 0, series: v.data ? v.data.length - 1 : 0,
        points: v.data ? v.data.slice(1).reduce((n, s) => n + s.filter((x) => x != null).length, 0) : 0,
        gaps: v.data ? v.data.slice(1).reduce((n, s) => n + s.filter((x) => x === null).length, 0) : 0,
        width: v.u ? Math.round(v.u.bbox.width / devicePixelRatio) : 0,
      };
    }, hash);
    if (r.error) throw new Error(r.error);
    return r;
  };
  const day = 86400e3;
  const first = await once(hashFor(from, to));
  say(`trends first: drawn ${round(first.drawn)} ms (request ${round(first.request)} ms, ${first.rows} rows)`);
  const again = [], range = [];
  for (let i = 0; i < runs; i++) {
    await page.evaluate(() => (location.hash = "#/overview"));
    await sleep(300);
    again.push(await once(hashFor(from, to)));
    await sleep(300);
    /* a range change on the trend page: the same 30 days, one or two days earlier */
    const shift = (1 + (i % 2)) * day;
    range.push(await once(hashFor(from - shift, to - shift)));
    await sleep(300);
    say(`trends ${i + 1}/${runs}: overview -> trend ${round(again[i].drawn)} ms, range change ${round(range[i].drawn)} ms`);
  }
  const sum = (list) => {
    const med = (f) => round(median(list.map(f)));
    return {
      runs: list.length, drawn_ms: med((x) => x.drawn), drawn_ms_runs: list.map((x) => round(x.drawn)),
      fetch_ms: med((x) => x.fetch), data_ms: med((x) => x.data), request_ms: med((x) => x.request),
      ttfb_ms: med((x) => x.ttfb), body_ms: med((x) => x.body),
      draw_after_data_ms: med((x) => x.drawn - x.data),
    };
  };
  await ctx.close();
  return {
    tags: tags.length, from, to, viewport: VIEWPORT, url: first.url, width: first.width, rows: first.rows,
    points: first.points, gaps: first.gaps, transfer_bytes: first.transfer, decoded_bytes: first.decoded,
    first: { drawn_ms: round(first.drawn), fetch_ms: round(first.fetch), data_ms: round(first.data), request_ms: round(first.request), ttfb_ms: round(first.ttfb) },
    again: sum(again), range: sum(range), later: sum([...again, ...range]),
  };
}

/* ---- soak ------------------------------------------------------------------- */

async function runSoak() {
  const target = +arg("--frames", 36000);
  const maxS = +arg("--max-s", 1800);
  const sampleS = +arg("--sample-s", 60);
  const tags = arg("--trend-tags").split(",");
  const pages = [
    { name: "overview", hash: "#/overview" },
    { name: "trends", hash: `#/trends?tags=${tags.join(",")}&from=-1h&to=now` },
  ];
  for (const p of pages) {
    p.ctx = await newContext();
    p.page = await p.ctx.newPage();
    p.cdp = await p.ctx.newCDPSession(p.page);
    await p.cdp.send("Performance.enable");
    await p.cdp.send("Network.enable");
    p.types = {};
    p.cdp.on("Network.webSocketFrameReceived", (e) => {
      const m = /^\{"type":"(\w+)"/.exec(e.response.payloadData.slice(0, 24));
      const k = m ? m[1] : "other";
      p.types[k] = (p.types[k] || 0) + 1;
    });
    await p.page.goto(`${base}/?kiosk=1&lang=zh${p.hash}`);
    await waitLive(p.page);
  }
  await pages[1].page.waitForFunction(() => +(window.__lb.app.current.el.dataset.loaded || 0) > 0, null, { timeout: 30000 });
  await sleep(10000);      /* JIT, caches, the trend's first rows */
  const read = async (p) => {
    const c = await counters(p.cdp);
    const x = await p.page.evaluate(() => {
      const v = window.__lb.app.current;
      return { frames: window.__lb.live.stats.frames, reconnects: window.__lb.live.stats.reconnects, rows: v.data ? v.data[0].length : null };
    });
    return { ...c, ...x, types: { ...p.types }, t: Date.now() };
  };
  for (const p of pages) {
    p.before = await read(p);
    p.samples = [p.before];
  }
  const t0 = Date.now();
  say(`soak: ${target} frames per page, heap sampled every ${sampleS} s`);
  let next = t0 + sampleS * 1000;
  for (;;) {
    await sleep(1000);
    const done = [];
    for (const p of pages) {
      const f = await p.page.evaluate(() => window.__lb.live.stats.frames);
      done.push(f - p.before.frames >= target);
    }
    const over = Date.now() - t0 > maxS * 1000;
    if (done.every(Boolean) || over) break;
    if (Date.now() >= next) {
      next += sampleS * 1000;
      const line = [];
      for (const p of pages) {
        const s = await read(p);
        p.samples.push(s);
        line.push(`${p.name} ${s.frames - p.before.frames} frames, heap ${(s.heap / 1048576).toFixed(2)} MB, nodes ${s.nodes}` +
          (s.rows != null ? `, rows ${s.rows}` : ""));
      }
      say(`soak ${Math.round((Date.now() - t0) / 1000)} s: ${line.join("; ")}`);
    }
  }
  const out = { target_frames: target, seconds: null, pages: {} };
  for (const p of pages) {
    p.after = await read(p);
    p.samples.push(p.after);
    const b = p.before, a = p.after;
    const frames = a.frames - b.frames;
    const types = {};
    for (const k of new Set([...Object.keys(a.types), ...Object.keys(b.types)])) types[k] = (a.types[k] || 0) - (b.types[k] || 0);
    out.pages[p.name] = {
      hash: p.hash, frames, seconds: round((a.t - b.t) / 1000), frames_per_s: round(frames / ((a.t - b.t) / 1000)),
      frame_types: types, reconnects: a.reconnects - b.reconnects,
      heap_before: b.heap, heap_after: a.heap, heap_growth_kb: Math.round((a.heap - b.heap) / 1024),
      heap_max_growth_kb: Math.round((Math.max(...p.samples.map((s) => s.heap)) - b.heap) / 1024),
      nodes_before: b.nodes, nodes_after: a.nodes, listeners_before: b.listeners, listeners_after: a.listeners,
      documents_before: b.documents, documents_after: a.documents, rows_before: b.rows, rows_after: a.rows,
      samples: p.samples.map((s) => ({ s: round((s.t - b.t) / 1000), frames: s.frames - b.frames, heap: s.heap, nodes: s.nodes, listeners: s.listeners, rows: s.rows })),
    };
    out.seconds = round((a.t - b.t) / 1000);
    await p.ctx.close();
  }
  return out;
}

let result, rc = 0;
try {
  browser = await playwright().chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: CHROMIUM_ARGS });
  result = mode === "load" ? await runLoad() : mode === "trends" ? await runTrends() : await runSoak();
  result.chromium = browser.version();
} catch (e) {
  result = { error: String(e && e.stack ? e.stack.split("\n").slice(0, 3).join(" | ") : e) };
  rc = 1;
} finally {
  if (browser) await browser.close().catch(() => {});
}
result.errors = errors.slice(0, 10);
result.error_count = errors.length;
process.stdout.write(JSON.stringify(result) + "\n");
process.exit(rc);
