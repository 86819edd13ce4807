/*
 * equipment.js - one page per PLC, made from /api/station: every tag with
 * its name (in the language), value, unit, state label, quality, age and
 * a sparkline of the last minutes.
 *
 * While the page is shown the WebSocket is narrowed to this PLC
 * ("plc.*").  Sparklines are bounded rings (ring.js) fed by the frames and
 * seeded from /api/history each time the page is opened; they are drawn
 * on canvases, only for rows that changed and once a second as time
 * moves.  The rows are made once; filtering hides them.
 */
import { h, setText, toggle, setQuality } from "../core/dom.js";
import { t, pick } from "../core/i18n.js";
import { fmtValue, stateLabel, fmtAge, qualityLabel } from "../core/fmt.js";
import { valueAbnormal } from "../core/station.js";
import { Ring } from "../core/ring.js";
import { getJson } from "../core/api.js";
import { prioNumber, isUnacked } from "../core/alarms.js";

const WINDOW_MIN = 10;
const WINDOW_MS = WINDOW_MIN * 60 * 1000;
const RING_CAP = 360;
const SPARK_W = 150;
const SPARK_H = 34;

const V = {};

export class EquipmentView {
  constructor(ctx, plcId) {
    this.ctx = ctx;
    this.st = ctx.station;
    this.store = ctx.store;
    this.plc = this.st.plcById.get(plcId) || null;
    this.el = h("section", { class: "view eq" });
    this.rows = new Map();
    this.dirty = new Set();
    this.raf = 0;
    this.tags = new Set();
    this.seedGen = 0;
    if (!this.plc) {
      this.el.append(h("div", { class: "ov-note", text: t("eq.no_plc", { id: plcId }) }));
      return;
    }
    for (const m of this.plc.tags) this.tags.add(m.tag);
    this.build();
    this.offAlarms = this.store.alarms.listen(() => this.drawAlarms());
    this.drawAlarms();
  }

  destroy() {
    this.hide();
    if (this.offAlarms) this.offAlarms();
  }

  /* A row whose tag is in alarm: its priority's mark and the message
   * beside the name, the row edged in the priority's colour. */
  drawAlarms() {
    const byTag = this.store.alarms.worstBy((a) => [a.tag]);
    for (const r of this.rows.values()) {
      const a = byTag.get(r.meta.tag);
      if (a) r.el.dataset.alarm = a.priority;
      else if (r.el.dataset.alarm) delete r.el.dataset.alarm;
      toggle(r.alarm, "hidden", !a);
      if (!a) continue;
      r.mark.className = "pmark pm-" + a.priority + (isUnacked(a) ? " blink" : "");
      setText(r.mark, String(prioNumber(a.priority)));
      setText(r.alarmText, pick(a.message));
    }
  }

  subscription() {
    return this.plc ? [this.plc.id + ".*"] : ["*"];
  }

  build() {
    const plc = this.plc;
    this.summary = h("span", { class: "eq-summary" });
    this.count = h("span", { class: "eq-count" });
    this.search = h("input", { type: "search", class: "eq-search", placeholder: t("eq.search"), "aria-label": t("eq.search") });
    this.onlyBad = h("input", { type: "checkbox", class: "eq-bad" });
    this.group = h("select", { class: "eq-group", "aria-label": t("eq.group") }, [
      h("option", { value: "", text: t("eq.all_groups") }),
      ...plc.groups.map((g) => h("option", { value: g.name, text: `${t("eq.group")} ${g.name} (${fmtPeriod(g.period_ms)})` })),
    ]);
    const choose = h("select", { class: "eq-plc", "aria-label": t("eq.choose") },
      this.st.plcs.map((p) => h("option", { value: p.id, text: pick(p.name), selected: p.id === plc.id })));
    choose.addEventListener("change", () => {
      location.hash = "#/equipment/" + encodeURIComponent(choose.value);
    });
    const onFilter = () => this.applyFilter();
    this.search.addEventListener("input", onFilter);
    this.onlyBad.addEventListener("change", onFilter);
    this.group.addEventListener("change", onFilter);
    this.el.append(h("div", { class: "eq-head" }, [
      h("h2", { class: "eq-title" }, [h("span", { text: pick(plc.name) }), h("span", { class: "eq-id", text: `${plc.id} · ${plc.host}:${plc.port}` })]),
      this.summary,
      h("div", { class: "controls" }, [
        choose, this.search,
        h("label", { class: "chk" }, [this.onlyBad, h("span", { text: t("eq.only_bad") })]),
        this.group, this.count,
      ]),
    ]));
    if (!plc.enabled) this.el.append(h("div", { class: "ov-note", text: t("eq.disabled") }));
    const table = h("div", { class: "eq-table", role: "table" });
    table.append(h("div", { class: "eq-row eq-hdr", role: "row" }, [
      h("span", { class: "c-name", text: t("eq.col.name") }),
      h("span", { class: "c-val", text: t("eq.col.value") }),
      h("span", { class: "c-unit", text: t("eq.col.unit") }),
      h("span", { class: "c-state", text: t("eq.col.state") }),
      h("span", { class: "c-q", text: t("eq.col.quality") }),
      h("span", { class: "c-age", text: t("eq.col.age") }),
      h("span", { class: "c-spark", text: t("eq.col.trend", { n: WINDOW_MIN }) }),
    ]));
    for (const m of plc.tags) {
      const r = {
        meta: m,
        el: h("div", { class: "eq-row", role: "row", "data-tag": m.tag }),
        val: h("span", { class: "c-val v" }),
        state: h("span", { class: "c-state" }),
        q: h("span", { class: "c-q" }),
        age: h("span", { class: "c-age" }),
        canvas: null,
        ring: null,
        shown: true,
        mark: h("span", { class: "pmark" }),
        alarmText: h("span", { class: "eq-alarm-t" }),
      };
      r.alarm = h("span", { class: "eq-alarm hidden" }, [r.mark, r.alarmText]);
      const name = h("span", { class: "c-name" }, [
        h("span", { class: "nm", text: pick(m.name) }), h("span", { class: "id", text: m.tag }), r.alarm]);
      const spark = h("span", { class: "c-spark" });
      if (m.numeric) {
        r.canvas = h("canvas", { width: SPARK_W, height: SPARK_H });
        r.ring = new Ring(RING_CAP, WINDOW_MS / (RING_CAP / 2));
        spark.append(r.canvas);
      }
      r.el.append(name, r.val, h("span", { class: "c-unit", text: m.unit }), r.state, r.q, r.age, spark);
      table.append(r.el);
      this.rows.set(m.tag, r);
    }
    this.table = table;
    this.el.append(table);
  }

  show() {
    if (!this.plc) return;
    this.applyFilter();
    this.drawAll();
    this.seed();
  }

  hide() {
    if (this.raf) cancelAnimationFrame(this.raf);
    this.raf = 0;
  }

  /* The wall-screen layout: as many columns as fit the tag count. */
  layout() {
    if (!this.ctx.kiosk) return;
    let n = 0;
    for (const r of this.rows.values()) if (r.shown) n++;
    const cols = n <= 10 ? 2 : n <= 30 ? 3 : n <= 60 ? 4 : 5;
    const rowsN = Math.max(1, Math.ceil(n / cols));
    this.table.style.setProperty("--cols", cols);
    this.table.style.setProperty("--rows", rowsN);
  }

  /* History of the last minutes for every numeric tag, put in front of
   * what the frames have brought since the page opened. */
  async seed() {
    const gen = ++this.seedGen;
    for (const r of this.rows.values()) if (r.ring) r.ring.clear();
    const now = this.store.now();
    for (const r of this.rows.values()) this.pushLive(r, now);
    try {
      const a = await getJson(`/api/history?tags=${encodeURIComponent(this.plc.id + ".*")}&from=-${WINDOW_MIN}m&points=${RING_CAP / 2}`);
      if (!a.ok || !a.json) return;
      const body = a.json;
      if (gen !== this.seedGen) return;
      for (const ser of body.series) {
        const r = this.rows.get(ser.tag);
        if (!r || !r.ring) continue;
        r.ring.seed(ser.t, ser.v.map((x) => (typeof x === "boolean" ? +x : x)));
        this.dirty.add(ser.tag);
      }
      this.schedule();
    } catch (_) {
      /* no history: the sparklines start from now */
    }
  }

  pushLive(r, fallbackT) {
    if (!r.ring) return;
    const rec = this.store.recs.get(r.meta.tag);
    const ts = rec.ts || fallbackT;
    if (!this.store.linkUp) {
      r.ring.push(Date.now() + this.store.offset, NaN);
    } else if (rec.q === "good" && rec.v !== null) {
      r.ring.push(ts, typeof rec.v === "boolean" ? +rec.v : +rec.v);
    } else {
      r.ring.push(ts, NaN);
    }
  }

  frame(changed) {
    if (!this.plc) return;
    if (!changed) {
      /* snapshot, link lost or regained: every row (the ring drops what
       * it already has) */
      for (const r of this.rows.values()) {
        this.pushLive(r, this.store.now());
        this.dirty.add(r.meta.tag);
      }
    } else {
      for (const tag of changed) {
        const r = this.rows.get(tag);
        if (!r) continue;
        this.pushLive(r, this.store.now());
        this.dirty.add(tag);
      }
    }
    this.schedule();
  }

  schedule() {
    if (!this.raf) this.raf = requestAnimationFrame(() => this.flush());
  }

  flush() {
    this.raf = 0;
    for (const tag of this.dirty) this.drawRow(this.rows.get(tag), true);
    this.dirty.clear();
    this.drawSummary();
  }

  tick() {
    if (!this.plc) return;
    this.drawAll();
  }

  drawAll() {
    for (const r of this.rows.values()) this.drawRow(r, true);
    this.drawSummary();
  }

  drawSummary() {
    let good = 0;
    for (const m of this.plc.tags) if (this.store.view(m.tag, V).live) good++;
    setText(this.summary, t("eq.summary", { good, n: this.plc.tags.length }));
    toggle(this.summary, "bad", good < this.plc.tags.length && this.plc.enabled);
  }

  drawRow(r, spark) {
    if (!r || !r.shown) return;
    const m = r.meta;
    const x = this.store.view(m.tag, V);
    let val = fmtValue(m, x.v);
    if (m.states.size && typeof x.v === "number") val = String(x.v);
    setText(r.val, val);
    r.val.dataset.raw = JSON.stringify(x.v === undefined ? null : x.v);
    r.val.dataset.dec = String(m.decimals);
    setText(r.state, stateLabel(m, x.v));
    const age = x.q === "init" || x.q === "unsubscribed" ? "" : fmtAge(x.age);
    /* The wall screen has no age column: a value that is not live says
     * for how long next to why. */
    setText(r.q, this.ctx.kiosk && !x.live && age ? qualityLabel(x.q, x.exc) + " " + age : qualityLabel(x.q, x.exc));
    setText(r.age, age);
    setQuality(r.el, x.q);
    toggle(r.el, "nl", !x.live);
    toggle(r.el, "abn", x.live && valueAbnormal(m, x.v));
    if (spark && r.canvas) this.drawSpark(r, x.live);
  }

  drawSpark(r, live) {
    const c = r.canvas;
    const ctx = c.getContext("2d");
    const w = c.width, hgt = c.height;
    ctx.clearRect(0, 0, w, hgt);
    const ring = r.ring;
    if (!ring.n) return;
    const now = this.store.now();
    const t0 = now - WINDOW_MS;
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < ring.n; i++) {
      const k = ring.at(i);
      const v = ring.v[k];
      if (Number.isNaN(v)) continue;
      if (ring.t[k] < t0 && i + 1 < ring.n && ring.t[ring.at(i + 1)] < t0) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (lo === Infinity) return;
    if (r.meta.range && !r.meta.stepped) {
      /* Within its range, but never so flat that noise is a mountain. */
      const span = r.meta.range[1] - r.meta.range[0];
      if (hi - lo < span * 0.02) {
        const mid = (hi + lo) / 2;
        lo = mid - span * 0.01;
        hi = mid + span * 0.01;
      }
    }
    if (hi === lo) {
      hi += 0.5;
      lo -= 0.5;
    }
    const X = (tt) => ((Math.max(tt, t0) - t0) / WINDOW_MS) * (w - 2) + 1;
    const Y = (v) => hgt - 3 - ((v - lo) / (hi - lo)) * (hgt - 6);
    ctx.lineWidth = 2;
    ctx.strokeStyle = live ? "#333" : "#999";
    ctx.beginPath();
    let pen = false, py = 0;
    for (let i = 0; i < ring.n; i++) {
      const k = ring.at(i);
      const v = ring.v[k];
      const x = X(ring.t[k]);
      if (Number.isNaN(v)) {
        if (pen) ctx.lineTo(x, py);
        pen = false;
        continue;
      }
      const y = Y(v);
      if (!pen) ctx.moveTo(x, y);
      else {
        ctx.lineTo(x, py);   /* values hold until they change */
        ctx.lineTo(x, y);
      }
      pen = true;
      py = y;
    }
    if (pen && live) ctx.lineTo(X(now), py);
    ctx.stroke();
  }

  applyFilter() {
    const q = this.search.value.trim().toLowerCase();
    const bad = this.onlyBad.checked;
    const grp = this.group.value;
    let shown = 0;
    for (const r of this.rows.values()) {
      const x = this.store.view(r.meta.tag, V);
      const ok = (!q || r.meta.search.includes(q)) && (!bad || !x.live || valueAbnormal(r.meta, x.v)) && (!grp || r.meta.group === grp);
      r.shown = ok;
      toggle(r.el, "hidden", !ok);
      if (ok) {
        shown++;
        this.drawRow(r, true);
      }
    }
    setText(this.count, t("eq.count", { shown, n: this.rows.size }));
    this.layout();
  }
}

function fmtPeriod(ms) {
  return ms >= 1000 ? `${+(ms / 1000).toFixed(3)} s` : `${+ms.toFixed(3)} ms`;
}
