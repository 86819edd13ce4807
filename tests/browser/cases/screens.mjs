/*
 * screens.mjs - screenshots of every page at 1920x1080 and 3840x2160
 * (and a tablet), and what can be measured of legibility: on the wall
 * screen the key figures scale with the viewport, nothing scrolls, no
 * control is shown.
 */
import { join } from "node:path";
import { waitLive } from "./common.mjs";

export const name = "screens";
export const about = "screenshots at 1920x1080 and 3840x2160; wall-screen figures scale, no scrolling, no controls";

const SIZES = [[1920, 1080], [3840, 2160]];

/* Heights in CSS px of the overview's key figures and its smallest text. */
function measure() {
  const hOf = (sel) => {
    const e = document.querySelector(sel);
    return e ? e.getBoundingClientRect().height : 0;
  };
  let smallest = Infinity;
  for (const e of document.querySelectorAll(".ov:not(.hidden) text, .ov:not(.hidden) .lbl, .ov:not(.hidden) .v, .ov:not(.hidden) .plc-name, .top .clock-time")) {
    const r = e.getBoundingClientRect();
    if (r.height > 0 && e.textContent.trim()) smallest = Math.min(smallest, r.height);
  }
  const controls = [...document.querySelectorAll("button, input, select")].filter((e) => e.getClientRects().length && getComputedStyle(e).visibility !== "hidden");
  return {
    level: hOf(".ov:not(.hidden) .t-level"),
    phase: hOf(".ov:not(.hidden) .cell-phase .v"),
    clock: hOf(".top .clock-time"),
    smallest,
    scrolls: document.scrollingElement.scrollHeight > innerHeight + 1 || document.scrollingElement.scrollWidth > innerWidth + 1,
    controls: controls.length,
  };
}

export async function run(env, c) {
  const st = env.station;
  const eqPlc = st.schematic.chamber_level.split(".")[0];
  const shots = [
    ["overview", "#/overview", "lang=zh"],
    ["equipment", `#/equipment/${st.plcs[0].id}`, "lang=zh"],
    ["trends", `#/trends?tags=${st.schematic.upstream_level},${st.schematic.chamber_level},${st.schematic.downstream_level},${st.schematic.upper_gate_left}&from=-10m&to=now`, "lang=zh"],
    ["kiosk-overview", "#/overview", "kiosk=1&lang=zh"],
    ["kiosk-equipment", `#/equipment/${eqPlc}`, "kiosk=1&lang=zh"],
    ["kiosk-overview-en", "#/overview", "kiosk=1&lang=en"],
  ];
  const m = {};
  for (const [w, hgt] of SIZES) {
    const page = await env.page({ width: w, height: hgt });
    for (const [label, hash, q] of shots) {
      await page.goto(env.url(hash, q));
      await waitLive(page);
      await page.waitForTimeout(label.includes("trends") ? 1500 : 700);
      await page.screenshot({ path: join(env.shots, `${label}-${w}x${hgt}.png`) });
      if (label === "kiosk-overview") m[w] = await page.evaluate(measure);
      if (label === "kiosk-equipment") {
        const k = await page.evaluate(measure);
        c.ok(!k.scrolls && k.controls === 0, `kiosk equipment at ${w}x${hgt}: fits the screen, no controls`, JSON.stringify({ scrolls: k.scrolls, controls: k.controls }));
      }
    }
    await page.closeAll();
  }
  const a = m[1920], b = m[3840];
  c.ok(!a.scrolls && a.controls === 0 && !b.scrolls && b.controls === 0, "kiosk overview: nothing scrolls, no control is shown", JSON.stringify({ a: [a.scrolls, a.controls], b: [b.scrolls, b.controls] }));
  /* From five metres: the levels and the phase at least ~5 % of the
   * screen's height, no text under ~2 %. */
  c.ok(a.level >= 0.05 * 1080 && a.phase >= 0.04 * 1080 && a.smallest >= 0.018 * 1080,
    "kiosk overview at 1080p: levels ≥ 5 %, phase ≥ 4 %, every text ≥ 1.8 % of the height", `level ${a.level.toFixed(0)} px, phase ${a.phase.toFixed(0)} px, smallest ${a.smallest.toFixed(0)} px`);
  const ratio = b.level / a.level;
  c.ok(ratio > 1.8 && ratio < 2.2 && b.phase / a.phase > 1.8 && b.smallest / a.smallest > 1.8, "at 2160p everything is twice the size (scales with the viewport)",
    `level ×${ratio.toFixed(2)}, phase ×${(b.phase / a.phase).toFixed(2)}, smallest ×${(b.smallest / a.smallest).toFixed(2)}`);
  env.metrics.kiosk_text_px = { "1920x1080": a, "3840x2160": b };

  /* A tablet: touch, portrait-ish. */
  const ctxPage = await env.page({ width: 820, height: 1180 });
  await ctxPage.goto(env.url(`#/equipment/${eqPlc}`, "lang=zh"));
  await waitLive(ctxPage);
  await ctxPage.screenshot({ path: join(env.shots, "tablet-equipment-820x1180.png") });
  /* a checkbox's target is its label */
  const small = await ctxPage.evaluate(() => [...document.querySelectorAll("button, a, input, select")]
    .filter((e) => e.getClientRects().length && e.offsetParent !== null)
    .map((e) => (e.type === "checkbox" && e.closest("label") ? e.closest("label") : e))
    .filter((e) => e.getBoundingClientRect().height < 40).map((e) => e.className || e.tagName));
  c.ok(small.length === 0, "tablet: every control is at least 40 px high (touch targets)", small.join(" ") || undefined);
  await ctxPage.goto(env.url("#/overview", "lang=zh"));
  await waitLive(ctxPage);
  await ctxPage.screenshot({ path: join(env.shots, "tablet-overview-820x1180.png") });
  await ctxPage.setViewportSize({ width: 1180, height: 820 });
  await ctxPage.waitForTimeout(400);
  await ctxPage.screenshot({ path: join(env.shots, "tablet-overview-1180x820.png") });
  await ctxPage.closeAll();
}
