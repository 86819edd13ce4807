/*
 * kpi.js - #/kpi?from=-24h: how the alarm system performs, as EEMUA 191
 * and ISA-18.2 measure it (GET /api/alarms/kpi): annunciations per 10
 * minutes as a bar chart against the two lines that matter (about 1 is
 * manageable, over 10 is a flood), the floods, time to acknowledge, the
 * priority distribution against EEMUA's 5 / 15 / 80 %, and the top ten
 * frequent, chattering and standing alarms (each a link to its journal).
 */
import uPlot from "uplot";
import { h, setText, toggle } from "../core/dom.js";
import { t, pick } from "../core/i18n.js";
import { fmtFull, fmtHM, fmtMD, fmtNumber } from "../core/fmt.js";
import { getJson } from "../core/api.js";
import { replaceHash } from "../core/router.js";
import { PRIORITIES, prioNumber } from "../core/alarms.js";
import { RecordsPage, RangePicker, PRESETS } from "./range.js";

const TARGET = { critical: 0.05, high: 0.05, medium: 0.15, low: 0.8 };
const FLOOD = 10;

export class KpiView extends RecordsPage {
  constructor(ctx) {
    super();
    this.ctx = ctx;
    this.st = ctx.station;
    this.store = ctx.store;
    this.gen = 0;
    this.u = null;
    this.el = h("section", { class: "view kpi" });
    const refresh = h("button", { type: "button", class: "btn kpi-refresh", text: t("aud.refresh") });
    refresh.addEventListener("click", () => this.load());
    this.range = new RangePicker({
      cls: "kpi", now: () => this.store.now(), onChange: () => this.load(),
      onBad: (text) => this.say(text, true), extra: [refresh], presets: PRESETS.slice(1),
    });
    this.msg = h("div", { class: "kpi-msg", role: "status" });
    this.tiles = h("div", { class: "kpi-tiles" });
    this.plotBox = h("div", { class: "kpi-plot" });
    this.prio = h("div", { class: "kpi-prio" });
    this.tops = h("div", { class: "kpi-tops" });
    this.floods = h("div", { class: "kpi-floods" });
    this.el.append(h("h2", { text: t("kpi.title") }), this.range.el, this.msg, this.tiles,
      h("div", { class: "kpi-charts" }, [
        h("div", { class: "kpi-card kpi-rate" }, [h("h3", { text: t("kpi.per10") }), this.plotBox]),
        h("div", { class: "kpi-card" }, [h("h3", { text: t("kpi.prio") }), this.prio]),
      ]),
      this.floods, this.tops);
    this.ro = new ResizeObserver(() => this.resize());
    this.ro.observe(this.plotBox);
  }

  show(query) {
    this.range.fromQuery(query);
    this.load();
  }

  hide() {
    this.gen++;
  }

  destroy() {
    this.hide();
    this.ro.disconnect();
    if (this.u) this.u.destroy();
  }

  resize() {
    if (!this.u) return;
    const w = this.plotBox.clientWidth;
    if (w > 0 && Math.abs(w - this.u.width) > 2) this.u.setSize({ width: w, height: this.u.height });
  }

  async load() {
    const gen = ++this.gen;
    const r = this.range.resolve();
    replaceHash("#/kpi?" + r.hash);
    this.say(t("tr.loading"), false);
    const a = await getJson("/api/alarms/kpi?" + r.query);
    if (gen !== this.gen) return;
    if (!a.ok) {
      this.say(t("tr.error", { e: a.status ? a.error || "HTTP " + a.status : t("login.network") }), true);
      return;
    }
    this.say("", false);
    this.draw(a.json);
  }

  draw(k) {
    this.el.dataset.annunciated = String(k.annunciated);
    this.el.dataset.floods = String(k.floods.count);
    const p10 = k.per_10min;
    const tile = (key, value, sub, bad) => h("div", { class: "kpi-tile" + (bad ? " bad" : ""), "data-kpi": key }, [
      h("span", { class: "kpi-v", text: value }), h("span", { class: "kpi-l", text: t("kpi." + key) }),
      sub ? h("span", { class: "kpi-s", text: sub }) : null]);
    const secs = (s) => (s === null || s === undefined ? "—" : s < 120 ? t("age.s", { n: Math.round(s) }) : t("age.min", { n: Math.round(s / 60) }));
    this.tiles.replaceChildren(
      tile("annunciated", String(k.annunciated), k.unannunciated ? t("kpi.unannunciated", { n: k.unannunciated }) : null),
      tile("avg10", fmtNumber(p10.average, 2), t("kpi.avg10.sub"), p10.average > 1),
      tile("max10", String(p10.max), t("kpi.max10.sub", { n: p10.over_10 }), p10.max > FLOOD),
      tile("floods", String(k.floods.count), k.floods.count ? t("kpi.floods.sub", { t: secs(k.floods.time_s) }) : null, k.floods.count > 0),
      tile("ack", k.ack ? secs(k.ack.p50_s) : "—", k.ack ? t("kpi.ack.sub", { p90: secs(k.ack.p90_s), n: k.ack.count }) : t("kpi.ack.none")),
      tile("standing", String(k.at_end.active), t("kpi.standing.sub", { n: k.stale }), k.stale > 0),
      tile("hidden", String(k.at_end.shelved + k.at_end.out_of_service), t("kpi.hidden.sub", { s: k.at_end.shelved, o: k.at_end.out_of_service })),
    );
    this.drawRate(p10.buckets);
    this.drawPrio(k.priority, k.annunciated);
    this.drawFloods(k.floods);
    this.drawTops(k);
  }

  drawRate(b) {
    if (this.u) {
      this.u.destroy();
      this.u = null;
    }
    this.plotBox.replaceChildren();
    if (!b || !b.counts.length) {
      this.plotBox.append(h("div", { class: "ov-note", text: t("kpi.no_buckets") }));
      return;
    }
    const t0 = Date.parse(b.start) / 1000;
    const xs = b.counts.map((_, i) => t0 + i * 600);
    const flood = xs.map(() => FLOOD);
    const ok = xs.map(() => 1);
    const span = xs.length * 600;
    const opts = {
      width: Math.max(300, this.plotBox.clientWidth || 800),
      height: 260,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: (u, lo, hi) => [0, Math.max(12, hi * 1.1)] } },
      axes: [
        { values: (u, vals) => vals.map((v) => (span > 2 * 86400 ? fmtMD(v * 1000) : fmtHM(v * 1000))) },
        { label: t("kpi.per10.axis"), size: 60 },
      ],
      series: [
        {},
        { label: t("kpi.per10"), stroke: "#3a3a3a", fill: "rgba(58,58,58,0.55)", paths: uPlot.paths.bars({ size: [0.9, 40] }), points: { show: false } },
        { label: t("kpi.flood_line"), stroke: "#d40000", width: 2, dash: [8, 6], points: { show: false } },
        { label: t("kpi.ok_line"), stroke: "#6a6a6a", width: 1, dash: [3, 4], points: { show: false } },
      ],
    };
    this.u = new uPlot(opts, [xs, b.counts, flood, ok], this.plotBox);
    this.plotBox.append(h("div", { class: "kpi-legend" }, [
      h("span", { class: "kl-bar", text: t("kpi.per10") }),
      h("span", { class: "kl-flood", text: t("kpi.flood_line") }),
      h("span", { class: "kl-ok", text: t("kpi.ok_line") }),
    ]));
  }

  drawPrio(p, total) {
    const rows = PRIORITIES.map((k) => {
      const n = p[k] || 0;
      const f = total ? n / total : 0;
      const bar = h("span", { class: "kp-bar prio-" + k });
      bar.style.width = (f * 100).toFixed(1) + "%";
      const tgt = h("span", { class: "kp-target" });
      tgt.style.left = (TARGET[k] * 100).toFixed(1) + "%";
      return h("div", { class: "kp-row", "data-prio": k }, [
        h("span", { class: "kp-name" }, [h("span", { class: "pmark pm-" + k, text: String(prioNumber(k)) }), t("alm.prio." + k)]),
        h("span", { class: "kp-track" }, [bar, tgt]),
        h("span", { class: "kp-n", text: `${n} · ${fmtNumber(f * 100, 0)} %` }),
      ]);
    });
    this.prio.replaceChildren(...rows, h("p", { class: "kp-note", text: t("kpi.prio.note") }));
  }

  drawFloods(f) {
    if (!f.list.length) {
      this.floods.replaceChildren();
      return;
    }
    this.floods.replaceChildren(h("h3", { text: t("kpi.flood_list") }), h("div", { class: "kpi-table" }, f.list.map((x) =>
      h("div", { class: "kpi-trow" + (x.ongoing ? " bad" : "") }, [
        h("span", { text: fmtFull(Date.parse(x.start)) + " – " + (x.ongoing ? t("kpi.ongoing") : fmtHM(Date.parse(x.end))) }),
        h("span", { text: t("kpi.flood_row", { n: x.alarms, peak: x.peak }) }),
      ]))));
  }

  drawTops(k) {
    const name = (id) => {
      const d = this.st.alarmDefs.get(id);
      return d ? pick(d.message).replace(/\{(value|unit|label)\}/g, "…") : id;
    };
    const list = (key, rows, val) => h("div", { class: "kpi-card kpi-top", "data-top": key }, [
      h("h3", { text: t("kpi.top." + key) }),
      rows.length ? h("ol", null, rows.map((r) => h("li", null, [
        h("span", { class: "pmark pm-" + r.priority, text: String(prioNumber(r.priority)) }),
        h("a", { href: "#/alarms?tab=journal&q=" + encodeURIComponent(r.id), text: name(r.id), title: r.id }),
        h("span", { class: "kt-v", text: val(r) }),
      ]))) : h("p", { class: "kp-note", text: t("kpi.top.none") }),
    ]);
    this.tops.replaceChildren(
      list("frequent", k.top_frequent, (r) => String(r.count)),
      list("chattering", k.top_chattering, (r) => String(r.count)),
      list("standing", k.top_standing, (r) => (r.for_s < 7200 ? t("age.min", { n: Math.round(r.for_s / 60) }) : t("age.h", { h: Math.floor(r.for_s / 3600), m: Math.round((r.for_s % 3600) / 60) }))),
    );
  }
}
