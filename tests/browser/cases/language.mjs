/*
 * language.mjs - every visible label is translated: on each page in zh
 * no English word remains except identifiers and units (tag, PLC and
 * group ids, units, the station's own values such as vessel names), and
 * in en no Chinese; the switch changes the labels in place and is
 * remembered across a reload.
 */
import { waitLive, visibleText } from "./common.mjs";

export const name = "language";
export const about = "no English label left in zh (and no Chinese in en) on every page; the switch is remembered";

const PAGES = (st) => [
  ["overview", "#/overview"],
  ["equipment", `#/equipment/${st.plcs[0].id}`],
  ["equipment (another PLC)", `#/equipment/${st.plcs[st.plcs.length - 1].id}`],
  ["trends", `#/trends?tags=${st.schematic.chamber_level},${st.schematic.upper_gate_left}&from=-10m&to=now`],
  ["displays", "#/displays"],
  ["alarms", "#/alarms"],
  ["alarm journal", "#/alarms?tab=journal&from=-24h"],
  ["alarm KPIs", "#/kpi?from=-24h"],
];

export async function run(env, c) {
  const st = env.station;
  const api = await env.st.bridge.tags();
  /* What may stay Latin in zh: identifiers, units, the station's own
   * texts and values, and a few names that are the same in Chinese. */
  const allowed = new Set(["PLC", "CSV", "PNG", "English", "kiosk", "display", "UPS", "HVAC", "Δ", "EEMUA", "ISA"]);
  const addTokens = (s) => {
    for (const w of String(s || "").match(/[A-Za-z]+/g) || []) allowed.add(w);
  };
  for (const t of st.tags) {
    addTokens(t.tag);
    addTokens(t.unit);
    addTokens(t.group);
    addTokens(t.name.zh);
    for (const s of t.states) addTokens(s.label.zh);
  }
  for (const p of st.plcs) {
    addTokens(p.id);
    addTokens(p.host);
    addTokens(p.name.zh);
  }
  for (const a of st.alarms || []) {
    addTokens(a.id);
    addTokens(a.area);
    addTokens(a.message.zh);
  }
  addTokens(st.station.id);
  addTokens(st.station.name.zh);
  for (const a of Object.values(api)) if (typeof a.value === "string") addTokens(a.value);
  let cjkValues = Object.values(api).filter((a) => typeof a.value === "string").map((a) => a.value).join("");
  /* The plant's own strings (vessel names) as the page has them now. */
  const plantValues = async (page) => {
    const vs = await page.evaluate(() => [...window.__lb.store.recs.values()].map((r) => r.v).filter((v) => typeof v === "string"));
    for (const v of vs) addTokens(v);
    cjkValues += vs.join("");
  };

  const page = await env.page({ width: 1600, height: 1000, locale: "zh-CN" });
  for (const [label, hash] of PAGES(st)) {
    await page.goto(env.url(hash, "lang=zh"));
    await waitLive(page);
    await page.waitForTimeout(600);
    const texts = await page.evaluate(visibleText);
    await plantValues(page);
    const english = [...new Set(texts.join(" ").match(/[A-Za-z]{2,}/g) || [])].filter((w) => !allowed.has(w));
    c.ok(texts.length > 10 && english.length === 0, `zh ${label}: no English word left`, english.slice(0, 12).join(" ") || `${texts.length} labels`);
  }
  await page.goto(env.url("#/overview", "kiosk=1&lang=zh"));
  await waitLive(page);
  const kt = await page.evaluate(visibleText);
  await plantValues(page);
  const ke = [...new Set(kt.join(" ").match(/[A-Za-z]{2,}/g) || [])].filter((w) => !allowed.has(w));
  c.ok(ke.length === 0, "zh kiosk overview: no English word left", ke.join(" ") || undefined);

  for (const [label, hash] of PAGES(st)) {
    await page.goto(env.url(hash, "lang=en"));
    await waitLive(page);
    await page.waitForTimeout(600);
    const texts = await page.evaluate(visibleText);
    await plantValues(page);
    const chinese = [...new Set(texts.join(" ").match(/[\u3400-\u9fff\uff00-\uffef]+/g) || [])]
      .filter((w) => w !== "中文" && !cjkValues.includes(w));
    c.ok(chinese.length === 0, `en ${label}: no Chinese left`, chinese.slice(0, 8).join(" ") || undefined);
  }
  await page.closeAll();

  /* The switch: in place, then remembered (no ?lang= in the URL). */
  const p2 = await env.page({ width: 1600, height: 1000, locale: "zh-CN" });
  await p2.goto(env.url(`#/equipment/${st.plcs[0].id}`));
  await waitLive(p2);
  const navZh = await p2.textContent(".nav");
  const nameZh = await p2.textContent(".eq:not(.hidden) .eq-row[data-tag] .nm");
  await p2.click(".lang");
  await p2.waitForFunction(() => document.documentElement.lang === "en");
  const navEn = await p2.textContent(".nav");
  const nameEn = await p2.textContent(".eq:not(.hidden) .eq-row[data-tag] .nm");
  c.ok(navZh === "总览报警设备趋势报警指标大屏状态" && navEn === "OverviewAlarmsEquipmentTrendsAlarm KPIsDisplays", "the switch changes the navigation", `${navZh} -> ${navEn}`);
  c.ok(nameZh === st.tags[0].name.zh && nameEn === st.tags[0].name.en, "and tag names (from the API) on the page shown", `${nameZh} -> ${nameEn}`);
  c.ok(/#\/equipment\//.test(await p2.evaluate(() => location.hash)), "and stays on the same page");
  await p2.reload();
  await waitLive(p2);
  c.ok((await p2.textContent(".nav")) === "OverviewAlarmsEquipmentTrendsAlarm KPIsDisplays", "the choice is remembered across a reload (localStorage)");
  await p2.click(".lang");
  await p2.waitForFunction(() => document.documentElement.lang === "zh-CN");
  c.ok((await p2.textContent(".nav")) === navZh, "and switches back");
  await p2.closeAll();
}
