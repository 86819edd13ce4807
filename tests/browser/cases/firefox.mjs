/*
 * firefox.mjs - the same dashboard in Debian's Firefox ESR, driven over
 * WebDriver BiDi (bidi.mjs): the wall-screen overview draws every
 * schematic binding live, an equipment page lists its PLC, a trend
 * draws history, a lost bridge... is left to chromium; here: no JS error
 * and no CSP complaint.  Skipped (and said so) without firefox-esr.
 */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Firefox, FIREFOX } from "../bidi.mjs";

export const name = "firefox";
export const about = "Debian's Firefox ESR over WebDriver BiDi: overview, equipment, trends, no error";

export async function run(env, c) {
  if (!existsSync(FIREFOX)) {
    console.log(`skip ${FIREFOX} is not installed (apt-get install -y firefox-esr)`);
    return;
  }
  const st = env.station;
  const ff = await Firefox.start();
  try {
    await ff.viewport(1920, 1080);
    const version = await ff.eval("navigator.userAgent");
    await ff.goto(env.url("#/overview", "kiosk=1&lang=zh"));
    const live = await ff.waitFor("window.__lb && window.__lb.store && window.__lb.store.linkUp && window.__lb.metrics.firstLive > 0");
    c.ok(!!live, "Firefox: the wall-screen overview goes live", version);
    await ff.eval("new Promise((r) => setTimeout(r, 800))");
    const roles = Object.values(st.schematic).flat();
    const drawn = await ff.eval(`[...document.querySelectorAll(".ov [data-tag][data-raw]")].map((e) => [e.dataset.tag, (e.closest("[data-q]") || e).dataset.q])`);
    const tags = new Set(drawn.map((d) => d[0]));
    const notGood = drawn.filter((d) => d[1] && d[1] !== "good");
    c.ok(roles.every((t) => tags.has(t)) && notGood.length === 0, `Firefox: every one of the ${roles.length} bindings drawn, all live`, notGood.slice(0, 3).join(" ") || undefined);
    const fig = await ff.eval(`document.querySelector(".ov .t-level").getBoundingClientRect().height`);
    c.ok(fig >= 54, "Firefox: the level figures are as large as in chromium (≥ 5 % of 1080)", `${Math.round(fig)} px`);
    writeFileSync(join(env.shots, "firefox-kiosk-overview-1920x1080.png"), await ff.screenshot());

    const plc = st.plcs[0];
    await ff.viewport(1600, 1000);
    await ff.goto(env.url(`#/equipment/${plc.id}`, "lang=zh"));
    const rows = await ff.waitFor(`window.__lb && window.__lb.store.linkUp && document.querySelectorAll(".eq:not(.hidden) .eq-row.q-good").length === ${plc.n_tags} && ${plc.n_tags}`);
    c.ok(rows === plc.n_tags, `Firefox: equipment/${plc.id} lists its ${plc.n_tags} tags, live`);
    writeFileSync(join(env.shots, "firefox-equipment-1600x1000.png"), await ff.screenshot());

    await ff.goto(env.url(`#/trends?tags=${st.schematic.chamber_level},${st.schematic.upstream_level}&from=-10m&to=now`, "lang=zh"));
    const n = await ff.waitFor(`window.__lb && window.__lb.app && window.__lb.app.current && window.__lb.app.current.el.dataset.loaded && window.__lb.app.current.data && window.__lb.app.current.data[0].length`);
    c.ok(n > 5, "Firefox: a trend draws history", `${n} rows`);
    writeFileSync(join(env.shots, "firefox-trends-1600x1000.png"), await ff.screenshot());
    c.ok(ff.logs.length === 0, "Firefox: no JavaScript error, no CSP complaint", ff.logs.slice(0, 3).join(" | ") || undefined);
  } finally {
    await ff.stop();
  }
}
