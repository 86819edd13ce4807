/*
 * trends.js - history of any tags: search to pick, presets and custom
 * ranges, select-to-zoom, wheel zoom and pan buttons, one axis per unit,
 * live follow, CSV and PNG export, and a URL that restores the view:
 *
 *   #/trends?tags=levels.chamber_level,upper_gate.left_leaf_position&from=-8h&to=now
 *   #/trends?tags=...&from=1764547200000&to=1764576000000     (epoch ms)
 *
 * The server downsamples (min/max per bucket, `points` ≈ the plot's
 * width in pixels); the page draws what it gets with uPlot, columnar, and
 * gaps where the value was not good (null -> gap, spanGaps false).  Every
 * change of range refetches; a change of tags makes a new uPlot, a frame
 * never does.  Live follow appends the WebSocket's values to the columns,
 * drops what scrolled out of the window, and caps the rows.
 *
 * Each fetch leaves three User Timing marks (one of each kept, so a wall
 * screen's timeline does not fill up): lb-trends-fetch when the request
 * goes out, lb-trends-data when its answer is parsed, lb-trends-drawn
 * when uPlot has drawn it (the page benchmark reads them).
 */
import uPlot from "uplot";
import { h, setText, toggle } from "../core/dom.js";
import { t, pick } from "../core/i18n.js";
import { fmtValue, fmtFull, fmtHM, fmtMD, fmtYMD, fmtYM, fmtClock, zone, toLocalInput, fromLocalInput } from "../core/fmt.js";
import { role } from "../core/station.js";
import { makeHash, replaceHash } from "../core/router.js";
import { getJson } from "../core/api.js";
import { joinSeries } from "../core/series.js";

const PRESETS = [
  ["1h", 3600e3], ["8h", 8 * 3600e3], ["24h", 24 * 3600e3],
  ["7d", 7 * 86400e3], ["30d", 30 * 86400e3], ["1y", 365 * 86400e3],
];
const MAX_SERIES = 12;
const MAX_ROWS = 60000;          /* live follow: rows kept at most */
const REDRAW_MS = 1000;          /* live follow: redraws at most this often */
/* Muted but distinct: colour here tells series apart, it is not status. */
const PALETTE = ["#1f4e79", "#8c4a16", "#2e6b4f", "#6a3d7c", "#7a6a12", "#3c5f8a", "#8a3b4f", "#4d4d4d",
  "#0f6e75", "#7c5a3a", "#51612b", "#5b4a8f"];

export class TrendsView {
  constructor(ctx) {
    this.ctx = ctx;
    this.st = ctx.station;
    this.store = ctx.store;
    this.tags = [];
    this.span = 3600e3;          /* follow mode: the window's length */
    this.follow = true;
    this.from = 0;
    this.to = 0;
    this.u = null;
    this.data = null;
    this.fetchGen = 0;
    this.redrawAt = 0;
    this.pending = false;
    this.wheelTimer = 0;
    this.markDraw = false;
    this.el = h("section", { class: "view tr" });
    this.build();
  }

  /* Everything, as every page but equipment: live follow picks its
   * tags out of the frames. */
  subscription() {
    return ["*"];
  }

  /* The tags on screen, for the wall-screen report. */
  screenTags() {
    return this.tags;
  }

  build() {
    /* Picking tags */
    this.input = h("input", { type: "search", class: "tr-search", placeholder: t("tr.add"), "aria-label": t("tr.add"), autocomplete: "off" });
    this.results = h("ul", { class: "tr-results hidden", role: "listbox" });
    this.chips = h("div", { class: "tr-chips" });
    this.input.addEventListener("input", () => this.suggest());
    this.input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") {
        const first = this.results.querySelector("li");
        if (first) this.addTag(first.dataset.tag);
        e.preventDefault();
      } else if (e.key === "Escape") {
        this.input.value = "";
        this.suggest();
      }
    });
    this.input.addEventListener("blur", () => setTimeout(() => toggle(this.results, "hidden", true), 200));
    this.input.addEventListener("focus", () => this.suggest());
    /* Range */
    this.presetBtns = PRESETS.map(([k, ms]) => {
      const b = h("button", { type: "button", class: "btn preset", "data-preset": k, text: t("tr.preset." + k) });
      b.addEventListener("click", () => this.setFollow(ms));
      return b;
    });
    /* Text, not datetime-local: the native control shows the browser's
     * locale and zone; these are the station's, "2026-11-24 08:00". */
    const dt = (cls, label) => h("input", {
      type: "text", class: "dt-in " + cls, "aria-label": label, inputmode: "numeric",
      pattern: "\\d{4}-\\d{2}-\\d{2}[ T]\\d{2}:\\d{2}(:\\d{2})?", size: 16, spellcheck: "false",
    });
    this.fromIn = dt("tr-from", t("tr.from"));
    this.toIn = dt("tr-to", t("tr.to"));
    const onEnter = (e) => {
      if (e.key === "Enter") apply.click();
    };
    this.fromIn.addEventListener("keydown", onEnter);
    this.toIn.addEventListener("keydown", onEnter);
    const apply = h("button", { type: "button", class: "btn", text: t("tr.apply") });
    apply.addEventListener("click", () => {
      const f = fromLocalInput(this.fromIn.value), tt = fromLocalInput(this.toIn.value);
      if (!(tt > f)) return this.message(t("tr.bad_range"), true);
      this.setRange(f, tt);
    });
    const btn = (key, fn, cls) => {
      const b = h("button", { type: "button", class: "btn " + (cls || ""), text: t(key) });
      b.addEventListener("click", fn);
      return b;
    };
    this.liveBtn = btn("tr.live", () => this.setFollow(this.to - this.from || this.span), "live");
    this.csv = h("a", { class: "btn", download: "", text: t("tr.csv") });
    const png = btn("tr.png", () => this.savePng());
    this.msg = h("span", { class: "tr-msg" });
    this.plotBox = h("div", { class: "tr-plot" });
    this.empty = h("div", { class: "ov-note", text: t("tr.none") });
    this.el.append(
      h("div", { class: "tr-pick" }, [h("div", { class: "tr-searchbox" }, [this.input, this.results]), this.chips]),
      h("div", { class: "controls tr-range" }, [
        ...this.presetBtns,
        h("label", { class: "dt" }, [h("span", { text: t("tr.from") }), this.fromIn]),
        h("label", { class: "dt" }, [h("span", { text: t("tr.to") }), this.toIn]),
        apply,
        btn("tr.pan_left", () => this.pan(-0.5)),
        btn("tr.zoom_out", () => this.zoom(2)),
        btn("tr.pan_right", () => this.pan(0.5)),
        this.liveBtn, this.csv, png,
      ]),
      h("div", { class: "tr-info" }, [this.msg, h("span", { class: "tr-hint", text: t("tr.hint") })]),
      this.empty,
      this.plotBox,
    );
    this.ro = new ResizeObserver(() => this.resize());
    this.ro.observe(this.plotBox);
  }

  /* ---- the URL -------------------------------------------------------- */

  show(query) {
    this.fromQuery(query);
  }

  hide() {
    toggle(this.results, "hidden", true);
    clearTimeout(this.wheelTimer);
  }

  destroy() {
    this.ro.disconnect();
    if (this.u) this.u.destroy();
    this.u = null;
    this.data = null;
  }

  fromQuery(q) {
    let tags = (q.get("tags") || "").split(",").filter((x) => this.st.tags.has(x));
    if (!q.get("tags") && !this.tags.length) {
      /* Nothing asked: the schematic's three levels, if it has them. */
      tags = ["upstream_level", "chamber_level", "downstream_level"].map((r) => role(this.st, r)).filter(Boolean);
    } else if (!q.get("tags")) {
      tags = this.tags;
    }
    tags = tags.slice(0, MAX_SERIES);
    const from = q.get("from") || "-1h";
    const to = q.get("to") || "now";
    const rel = /^-(\d+(?:\.\d+)?)(s|m|h|d|y)$/.exec(from);
    const unit = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, y: 365 * 86400e3 };
    let follow = false, span = this.span, f = 0, tt = 0;
    if (rel && to === "now") {
      follow = true;
      span = +rel[1] * unit[rel[2]];
    } else {
      f = parseTime(from);
      tt = to === "now" ? Date.now() + this.store.offset : parseTime(to);
      if (!(tt > f)) {
        follow = true;
        span = 3600e3;
      }
    }
    const sameTags = tags.length === this.tags.length && tags.every((x, i) => x === this.tags[i]);
    this.tags = tags;
    this.follow = follow;
    this.span = span;
    if (!follow) {
      this.from = f;
      this.to = tt;
    }
    this.drawChips();
    if (!sameTags || !this.u) this.makePlot();
    this.ctx.resubscribe();
    this.fetch();
  }

  writeHash() {
    const q = new URLSearchParams();
    if (this.tags.length) q.set("tags", this.tags.join(","));
    if (this.follow) {
      q.set("from", "-" + relText(this.span));
      q.set("to", "now");
    } else {
      q.set("from", String(Math.round(this.from)));
      q.set("to", String(Math.round(this.to)));
    }
    replaceHash(makeHash("trends", null, q));
  }

  /* ---- tags ----------------------------------------------------------- */

  suggest() {
    const q = this.input.value.trim().toLowerCase();
    this.results.replaceChildren();
    if (!q) {
      toggle(this.results, "hidden", true);
      return;
    }
    let n = 0;
    for (const m of this.st.tags.values()) {
      if (!m.numeric || this.tags.includes(m.tag) || !m.search.includes(q)) continue;
      const li = h("li", { role: "option", "data-tag": m.tag }, [
        h("span", { class: "nm", text: pick(m.name) }), h("span", { class: "id", text: m.tag })]);
      li.addEventListener("mousedown", (e) => {
        e.preventDefault();
        this.addTag(m.tag);
      });
      this.results.append(li);
      if (++n >= 30) break;
    }
    toggle(this.results, "hidden", n === 0);
  }

  addTag(tag) {
    if (!tag || this.tags.includes(tag)) return;
    if (this.tags.length >= MAX_SERIES) return this.message(t("tr.max", { n: MAX_SERIES }), true);
    this.tags = this.tags.concat([tag]);
    this.input.value = "";
    this.suggest();
    this.changedTags();
  }

  removeTag(tag) {
    this.tags = this.tags.filter((x) => x !== tag);
    this.changedTags();
  }

  changedTags() {
    this.drawChips();
    this.makePlot();
    this.ctx.resubscribe();
    this.fetch();
  }

  drawChips() {
    this.chips.replaceChildren(...this.tags.map((tag, i) => {
      const m = this.st.tags.get(tag);
      const sw = h("span", { class: "sw" });
      sw.style.background = PALETTE[i % PALETTE.length];
      const x = h("button", { type: "button", class: "chip-x", "aria-label": t("tr.remove"), title: t("tr.remove"), text: "×" });
      x.addEventListener("click", () => this.removeTag(tag));
      return h("span", { class: "chip", "data-tag": tag }, [sw, h("span", { text: pick(m.name) }),
        m.unit ? h("span", { class: "unit", text: m.unit }) : null, x]);
    }));
    toggle(this.empty, "hidden", this.tags.length > 0);
    toggle(this.plotBox, "hidden", this.tags.length === 0);
  }

  /* ---- the plot ------------------------------------------------------- */

  makePlot() {
    if (this.u) {
      this.u.destroy();
      this.u = null;
    }
    this.data = null;
    if (!this.tags.length) return;
    const tz = zone();
    const units = [];
    for (const tag of this.tags) {
      const u = this.st.tags.get(tag).unit;
      if (!units.includes(u)) units.push(u);
    }
    const series = [{ label: t("tr.time"), value: (u, v) => (v == null ? "—" : fmtFull(v)) }];
    this.tags.forEach((tag, i) => {
      const m = this.st.tags.get(tag);
      series.push({
        label: pick(m.name) + (m.unit ? ` (${m.unit})` : ""),
        scale: "u:" + m.unit,
        stroke: PALETTE[i % PALETTE.length],
        width: 2,
        spanGaps: false,
        paths: m.stepped ? uPlot.paths.stepped({ align: 1 }) : undefined,
        points: { show: false },
        value: (u, v) => (v == null ? "—" : fmtValue(m, v) + (m.unit ? " " + m.unit : "")),
      });
    });
    const font = "14px " + FONT;
    const axes = [{
      font, stroke: "#333", grid: { stroke: "#d8d8d8" }, ticks: { stroke: "#999" }, space: 90, size: 56,
      values: (u, splits, ax, space, incr) => timeLabels(splits, incr),
    }];
    units.forEach((unit, i) => {
      axes.push({
        scale: "u:" + unit, side: i % 2 ? 1 : 3, font, stroke: "#333", size: 70,
        label: unit || undefined, labelFont: font, labelSize: 20,
        grid: { show: i === 0, stroke: "#d8d8d8" }, ticks: { stroke: "#999" },
        values: (u, splits) => splits.map((v) => numLabel(v)),
      });
    });
    const scales = { x: { time: true } };
    for (const unit of units) scales["u:" + unit] = { auto: true };
    const { width, height } = this.plotSize();
    const opts = {
      width, height, ms: 1, tzDate: (ts) => uPlot.tzDate(new Date(ts), tz),
      series, axes, scales,
      cursor: { drag: { x: true, y: false, setScale: false }, focus: { prox: 24 } },
      legend: { live: true },
      select: { show: true },
      hooks: {
        draw: [() => {
          if (!this.markDraw) return;
          this.markDraw = false;
          mark("lb-trends-drawn");
        }],
        setSelect: [(u) => {
          if (u.select.width < 4) return;
          const a = u.posToVal(u.select.left, "x");
          const b = u.posToVal(u.select.left + u.select.width, "x");
          u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
          this.setRange(a, b);
        }],
      },
    };
    const empty = [[], ...this.tags.map(() => [])];
    this.u = new uPlot(opts, empty, this.plotBox);
    this.u.over.addEventListener("wheel", (e) => this.onWheel(e), { passive: false });
  }

  plotSize() {
    const r = this.plotBox.getBoundingClientRect();
    const width = Math.max(300, Math.floor(r.width || 800));
    /* the legend sits below the canvas, inside the box */
    const legend = 40 + 26 * Math.ceil((this.tags.length + 1) / 3);
    const height = Math.max(220, Math.floor((r.height || 480) - legend));
    return { width, height };
  }

  resize() {
    if (!this.u) return;
    /* Hidden (another page is shown), the box measures 0 x 0: keep the
     * size, or the plot would shrink to the 800 px fallback and the next
     * show would fetch `points` for that before the observer grew it
     * back (a 30-day trend at a third of the resolution, then redrawn). */
    const r = this.plotBox.getBoundingClientRect();
    if (!r.width || !r.height) return;
    const { width, height } = this.plotSize();
    if (Math.abs(width - this.u.width) > 2 || Math.abs(height - this.u.height) > 2) this.u.setSize({ width, height });
  }

  /* ---- range ---------------------------------------------------------- */

  setFollow(span) {
    this.follow = true;
    this.span = Math.max(60e3, span);
    this.fetch();
  }

  setRange(a, b) {
    if (!(b > a)) return;
    const now = this.store.now();
    b = Math.min(b, now);
    if (b - a < 1000) a = b - 1000;
    this.follow = false;
    this.from = a;
    this.to = b;
    this.fetch();
  }

  pan(frac) {
    const span = this.to - this.from;
    const now = this.store.now();
    let b = this.to + span * frac;
    if (b >= now) {
      /* panning into the present: follow again */
      return this.setFollow(span);
    }
    this.setRange(b - span, b);
  }

  zoom(factor, centre) {
    const span = (this.to - this.from) * factor;
    const c = centre === undefined ? (this.from + this.to) / 2 : centre;
    const now = this.store.now();
    let a = c - (c - this.from) * factor;
    let b = a + span;
    if (b > now) {
      b = now;
      a = b - span;
    }
    if (this.follow && factor > 1) return this.setFollow(span);
    this.setRange(a, b);
  }

  onWheel(e) {
    if (!this.u || !this.data) return;
    e.preventDefault();
    const factor = e.deltaY > 0 ? 1.25 : 0.8;
    const c = this.u.posToVal(e.offsetX, "x");
    const span = (this.to - this.from) * factor;
    const a = c - (c - this.from) * factor;
    this.follow = false;
    this.from = a;
    this.to = Math.min(a + span, this.store.now());
    this.u.setScale("x", { min: this.from, max: this.to });
    clearTimeout(this.wheelTimer);
    this.wheelTimer = setTimeout(() => this.setRange(this.from, this.to), 350);
  }

  /* ---- data ----------------------------------------------------------- */

  async fetch() {
    if (this.follow) {
      this.to = this.store.now();
      this.from = this.to - this.span;
    }
    this.drawRangeControls();
    this.writeHash();
    if (!this.tags.length || !this.u) return;
    const gen = ++this.fetchGen;
    const points = Math.max(50, Math.min(5000, Math.round(this.u.bbox.width / (devicePixelRatio || 1)) || 800));
    const qs = `tags=${this.tags.map(encodeURIComponent).join(",")}&from=${iso(this.from)}&to=${iso(this.to)}`;
    this.csv.href = `/api/export.csv?${qs}`;
    this.csv.setAttribute("download", `${this.st.id}-${iso(this.from).replace(/[:.]/g, "")}.csv`);
    this.message(t("tr.loading"), false);
    mark("lb-trends-fetch");
    const a = await getJson(`/api/history?${qs}&points=${points}`);
    mark("lb-trends-data");
    if (!a.ok || !a.json) {
      if (gen === this.fetchGen) this.message(t("tr.error", { e: a.error || (a.status ? "HTTP " + a.status : t("login.network")) }), true);
      return;
    }
    const body = a.json;
    if (gen !== this.fetchGen || !this.u) return;
    const byTag = new Map(body.series.map((x) => [x.tag, x]));
    const tables = this.tags.map((tag) => {
      const x = byTag.get(tag) || { t: [], v: [] };
      return [x.t, x.v.map((v) => (typeof v === "boolean" ? +v : v))];
    });
    const sources = [...new Set(body.series.map((x) => x.source))];
    this.data = joinSeries(tables, this.from, this.to, points);
    this.markDraw = true;
    this.u.setData(this.data, false);
    this.u.setScale("x", { min: this.from, max: this.to });
    /* Axes re-measured; not redraw(true): that would set x again to the
     * range still in force, replacing the one just asked for (the plot
     * kept the old range, or none on a first fetch, until a live frame
     * redrew it). */
    this.u.redraw(false, true);
    this.el.dataset.rows = String(this.data[0].length);
    this.message(t("tr.source", { s: sources.map((x) => t("tr.src." + x)).join(", ") || "—" }), false);
    this.el.dataset.loaded = String(gen);
  }

  /* Live follow: the WebSocket's values appended. */
  frame(changed, kind) {
    if (kind === "show" || !this.follow || !this.data || !this.u) return;
    const tags = this.tags;
    let added = false;
    for (let i = 0; i < tags.length; i++) {
      if (changed && !changed.has(tags[i])) continue;
      const r = this.store.recs.get(tags[i]);
      if (!r.ts || (changed === null && !r.sub)) continue;
      const v = r.q === "good" && r.v !== null ? (typeof r.v === "boolean" ? +r.v : r.v) : null;
      this.append(r.ts, i, v);
      added = true;
    }
    if (!added) return;
    const now = Date.now();
    if (now - this.redrawAt >= REDRAW_MS) this.redraw();
    else if (!this.pending) {
      this.pending = true;
      setTimeout(() => this.redraw(), REDRAW_MS - (now - this.redrawAt));
    }
  }

  append(ts, i, v) {
    const d = this.data;
    const x = d[0];
    let at = x.length;
    if (at && ts <= x[at - 1]) {
      if (ts === x[at - 1]) {
        d[i + 1][at - 1] = v;
        return;
      }
      /* a slower PLC's change can be older than the newest row */
      let lo = 0, hi = at;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (x[mid] < ts) lo = mid + 1;
        else hi = mid;
      }
      if (x[lo] === ts) {
        d[i + 1][lo] = v;
        return;
      }
      at = lo;
      x.splice(at, 0, ts);
      for (let k = 1; k < d.length; k++) d[k].splice(at, 0, k === i + 1 ? v : undefined);
      return;
    }
    x.push(ts);
    for (let k = 1; k < d.length; k++) d[k].push(k === i + 1 ? v : undefined);
  }

  redraw() {
    this.pending = false;
    if (!this.follow || !this.data || !this.u) return;
    this.redrawAt = Date.now();
    this.to = this.store.now();
    this.from = this.to - this.span;
    /* Rows that scrolled out, keeping one before the window so the line
     * enters from the left edge; and never more than MAX_ROWS. */
    const x = this.data[0];
    let cut = 0;
    while (cut + 1 < x.length && x[cut + 1] < this.from) cut++;
    if (x.length - cut > MAX_ROWS) cut = x.length - MAX_ROWS;
    if (cut > 256 || (cut > 0 && x.length > MAX_ROWS * 0.9)) {
      for (const col of this.data) col.splice(0, cut);
    }
    this.u.setData(this.data, false);
    this.u.setScale("x", { min: this.from, max: this.to });
  }

  tick() {
    if (this.follow && this.data && Date.now() - this.redrawAt > REDRAW_MS * 5) this.redraw();
  }

  drawRangeControls() {
    for (const b of this.presetBtns) {
      const ms = PRESETS.find((p) => p[0] === b.dataset.preset)[1];
      toggle(b, "on", this.follow && Math.abs(ms - this.span) < 1000);
    }
    toggle(this.liveBtn, "on", this.follow);
    this.fromIn.value = toLocalInput(this.from);
    this.toIn.value = toLocalInput(this.to);
  }

  message(text, bad) {
    setText(this.msg, text);
    toggle(this.msg, "bad", !!bad);
  }

  /* The plot, its title and legend on one white canvas. */
  savePng() {
    if (!this.u) return;
    const src = this.u.ctx.canvas;
    const dpr = src.width / this.u.width;
    const pad = 16 * dpr, titleH = 34 * dpr, lineH = 24 * dpr;
    const out = document.createElement("canvas");
    out.width = src.width + 2 * pad;
    out.height = src.height + titleH + lineH * (this.tags.length + 1) + 2 * pad;
    const c = out.getContext("2d");
    c.fillStyle = "#fff";
    c.fillRect(0, 0, out.width, out.height);
    c.fillStyle = "#111";
    c.font = `${18 * dpr}px ${FONT}`;
    c.textBaseline = "top";
    c.fillText(`${pick(this.st.name)} · ${fmtFull(this.from)} – ${fmtFull(this.to)} (${zone()})`, pad, pad);
    c.drawImage(src, pad, pad + titleH);
    c.font = `${15 * dpr}px ${FONT}`;
    let y = pad + titleH + src.height + lineH * 0.5;
    this.tags.forEach((tag, i) => {
      const m = this.st.tags.get(tag);
      c.fillStyle = PALETTE[i % PALETTE.length];
      c.fillRect(pad, y + 4 * dpr, 24 * dpr, 4 * dpr);
      c.fillStyle = "#111";
      c.fillText(`${pick(m.name)}${m.unit ? " (" + m.unit + ")" : ""}  ${tag}`, pad + 32 * dpr, y);
      y += lineH;
    });
    out.toBlob((blob) => {
      if (!blob) return;
      const url = URL.createObjectURL(blob);
      const a = h("a", { href: url, download: `${this.st.id}-trend-${iso(this.from).replace(/[:.]/g, "")}.png` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    }, "image/png");
  }
}

const FONT = `"Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif`;

/* One User Timing mark of that name, the newest. */
function mark(name) {
  performance.clearMarks(name);
  performance.mark(name);
}

function iso(ms) {
  return new Date(Math.round(ms)).toISOString();
}

function parseTime(s) {
  if (/^\d+$/.test(s)) return +s;
  const v = Date.parse(s);
  return isFinite(v) ? v : NaN;
}

function relText(ms) {
  const units = [["y", 365 * 86400e3], ["d", 86400e3], ["h", 3600e3], ["m", 60e3], ["s", 1e3]];
  for (const [u, n] of units) if (ms >= n && ms % n === 0) return ms / n + u;
  return Math.round(ms / 1e3) + "s";
}

/* Axis labels in the station's zone and the page's language; the date
 * is added under the first label of each day. */
function timeLabels(splits, incr) {
  let prevDay = "";
  return splits.map((v) => {
    if (incr >= 28 * 86400e3) return fmtYM(v);
    if (incr >= 86400e3) return fmtMD(v);
    const day = fmtYMD(v);
    const time = incr >= 60e3 ? fmtHM(v) : fmtClock(v);
    const label = day !== prevDay ? time + "\n" + fmtMD(v) : time;
    prevDay = day;
    return label;
  });
}

function numLabel(v) {
  if (v == null) return "";
  const a = Math.abs(v);
  if (a >= 1e6 || (a > 0 && a < 1e-3)) return v.toExponential(1);
  return String(+v.toFixed(6));
}
