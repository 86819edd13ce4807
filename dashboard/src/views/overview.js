/*
 * overview.js - the lock at a glance: a drawing of the lock driven only by
 * the station's schematic bindings (/api/station "schematic": role -> tag),
 * the lockage's state and phase, and every PLC's communication.
 *
 * The drawing is one SVG in a fixed coordinate space (viewBox), so it
 * scales with the screen from a tablet to a 4K wall.  Upper band: a
 * section along the lock (upstream, chamber, downstream water as fills,
 * gates as bars, the head across each gate).  Lower band: a plan (the
 * miter gate leaves at the angle their position gives, the culvert valves
 * in the walls, the traffic lights, the vessels detected).
 *
 * ISA-101: everything normal is grey; colour is kept for what is wrong.
 * Data that is not live (stale, comm-failure, device-error, the page's own
 * link lost) is drawn hatched and greyed with a badge saying why and for
 * how long; a process value that is itself a fault (a state labelled
 * "Fault", a gate open against a head) is red.  A red traffic light is a
 * normal aspect: drawn as a dull lamp with its label, never as an alarm.
 *
 * Alarms (core/alarms.js) mark what they are about, in their priority's
 * colour with the priority's number beside it: a tag alarm the part of
 * the drawing that shows its tag, a station alarm (an expression over
 * several tags) the part for its area (upper_head, lower_head, chamber),
 * and every alarm of a PLC that PLC's chip.  Suppressed, shelved and out
 * of service alarms mark nothing.
 *
 * Every node is made once in the constructor; frames only change
 * attributes and text.  A role the station does not bind is not drawn.
 */
import { h, s, setText, setAttr, toggle, setQuality } from "../core/dom.js";
import { t, pick } from "../core/i18n.js";
import { fmtValue, fmtNumber, stateLabel, fmtAge, fmtDuration, qualityLabel } from "../core/fmt.js";
import { role, valueAbnormal } from "../core/station.js";
import { prioNumber, isUnacked } from "../core/alarms.js";

/* The drawing's coordinate space. */
const W = 1800;
const H = 830;
/* Section: x of the two gates, the water zone's top and floor. */
const X_UG = 430;
const X_LG = 1270;
const Y_TOP = 118;
const Y_FLOOR = 392;
/* Plan: centre line, chamber and approach half-widths, wall thickness. */
const YC = 615;
const HW = 78;
const HW_APP = 118;
const WALL = 22;
const MITER = (18 * Math.PI) / 180;   /* leaf angle from square when closed */
const LEAF = HW / Math.cos(MITER);
/* Which quality a shared badge names: the worst. */
const RANK = { good: 0, unsubscribed: 1, init: 2, stale: 3, "decode-error": 4, "device-error": 5, "comm-failure": 6, "link-lost": 7 };
/* Head across a gate that is not closed above which it is an interlock
 * violation (DOMAIN.md: 0.1-0.2 m). */
const HEAD_LIMIT = 0.2;

/* Scratch objects for store.view: one per caller that holds a result
 * while calling another (gateOpening is called with V in use). */
const V = {};
const G = {};

export class OverviewView {
  constructor(ctx) {
    this.ctx = ctx;
    this.st = ctx.station;
    this.store = ctx.store;
    this.parts = [];
    this.tags = new Set();
    this.targets = [];
    this.el = h("section", { class: "view ov" });
    this.buildStatus();
    if (this.st.schematic) this.buildDrawing();
    else this.el.append(h("div", { class: "ov-draw ov-nodraw" }, [h("div", { class: "ov-note", text: t("ov.no_schematic") })]));
    this.buildPlcs();
    this.offAlarms = this.store.alarms.listen(() => this.drawAlarms());
  }

  destroy() {
    this.offAlarms();
  }

  subscription() {
    return ["*"];
  }

  /* A part of the page: drawn when one of its tags changed, and every
   * second (ages). */
  part(tags, draw, meta) {
    const list = tags.filter(Boolean);
    /* this.tags: the values drawn, which a wall screen reports on */
    if (!meta) for (const x of list) this.tags.add(x);
    const p = { tags: list, draw };
    this.parts.push(p);
    return p;
  }

  frame(changed) {
    for (const p of this.parts) {
      if (!changed || p.all || p.tags.some((x) => changed.has(x))) p.draw();
    }
    /* shown again, or a snapshot: the markers' places may be new */
    if (!changed) this.drawAlarms();
  }

  /* ---- alarms --------------------------------------------------------- */

  /* A part of the drawing alarms can mark: an SVG group (a halo behind
   * it, a marker beside it) or an HTML element (data-alarm, styled). */
  target(el, tags, area) {
    this.targets.push({ el, tags: tags.filter(Boolean), area: area || null, box: null, halo: null, mark: null });
  }

  drawAlarms() {
    const al = this.store.alarms;
    const byTag = al.worstBy((a) => [a.tag]);
    const byArea = al.worstBy((a) => (a.plc ? [] : [a.area]));
    for (const tg of this.targets) {
      let worst = null;
      for (const tag of tg.tags) {
        const a = byTag.get(tag);
        if (a && (!worst || better(a, worst))) worst = a;
      }
      const a = tg.area && byArea.get(tg.area);
      if (a && (!worst || better(a, worst))) worst = a;
      this.markTarget(tg, worst);
    }
    const byPlc = al.worstBy((a) => [a.plc]);
    for (const c of this.plcChips || []) {
      const a = byPlc.get(c.plc.id) || null;
      if (a) c.chip.dataset.alarm = a.priority;
      else delete c.chip.dataset.alarm;
      toggle(c.alarm, "hidden", !a);
      if (a) {
        c.mark.className = "pmark pm-" + a.priority + (isUnacked(a) ? " blink" : "");
        setText(c.mark, String(prioNumber(a.priority)));
        setText(c.alarmText, pick(a.message));
      }
    }
  }

  markTarget(tg, a) {
    const el = tg.el;
    if (!a) {
      if (el.dataset.alarm) delete el.dataset.alarm;
      if (tg.halo) tg.halo.classList.add("hidden");
      if (tg.mark) tg.mark.classList.add("hidden");
      return;
    }
    el.dataset.alarm = a.priority;
    el.dataset.alarmId = a.id;
    if (!(el instanceof SVGElement)) return;
    if (!tg.box) {
      /* measured once the drawing is on screen (a hidden view has no
       * boxes): the next frame or alarm tries again */
      const b = el.getBBox();
      if (!(b.width > 0 && b.height > 0)) return;
      tg.box = { x: b.x - 12, y: b.y - 12, w: b.width + 24, h: b.height + 24 };
      const bx = tg.box;
      tg.halo = s("rect", { class: "alm-halo", x: bx.x, y: bx.y, width: bx.w, height: bx.h, rx: 12 });
      el.insertBefore(tg.halo, el.firstChild);
      const mx = Math.min(W - 30, bx.x + bx.w + 4), my = Math.max(28, bx.y + 4);
      tg.markBg = s("path", { class: "alm-mark-bg" });
      tg.markT = s("text", { class: "alm-mark-t", x: mx, y: my + 11, "text-anchor": "middle" });
      tg.mark = s("g", { class: "alm-mark" }, [tg.markBg, tg.markT]);
      tg.mx = mx;
      tg.my = my;
      el.append(tg.mark);
    }
    const pc = "pc-" + a.priority;
    setAttr(tg.halo, "class", "alm-halo " + pc);
    setAttr(tg.markBg, "class", "alm-mark-bg " + pc);
    setAttr(tg.markBg, "d", markPath(a.priority, tg.mx, tg.my, 26));
    setAttr(tg.markT, "class", "alm-mark-t " + pc);
    setText(tg.markT, String(prioNumber(a.priority)));
    setAttr(tg.mark, "class", "alm-mark" + (isUnacked(a) ? " blink" : ""));
    tg.halo.classList.remove("hidden");
    tg.mark.classList.remove("hidden");
  }

  tick() {
    for (const p of this.parts) p.draw();
  }

  /* ---- the lockage bar ------------------------------------------------ */

  buildStatus() {
    const bar = h("div", { class: "ov-status" });
    this.el.append(bar);
    const cell = (roleName, label, kind) => {
      const tag = role(this.st, roleName);
      if (!tag) return;
      const meta = this.st.tags.get(tag);
      const val = h("span", { class: "v", "data-tag": tag });
      const badge = h("span", { class: "badge" });
      const c = h("div", { class: "cell cell-" + kind }, [
        h("span", { class: "lbl", text: label }), val, badge]);
      bar.append(c);
      this.target(c, [tag]);
      this.part([tag], () => {
        const x = this.store.view(tag, V);
        let text;
        if (kind === "dur" && meta && meta.unit === "s") text = fmtDuration(x.v);
        else if (meta && meta.states.size) text = stateLabel(meta, x.v) || "—";
        else text = fmtValue(meta, x.v) + (meta && meta.unit && typeof x.v === "number" ? " " + meta.unit : "");
        setText(val, text);
        val.dataset.raw = JSON.stringify(x.v === undefined ? null : x.v);
        quality(c, badge, x);
        toggle(c, "abn", x.live && valueAbnormal(meta, x.v));
      });
    };
    cell("lockage_state", t("ov.lockage"), "state");
    cell("lockage_direction", t("ov.direction"), "state");
    cell("lockage_phase", t("ov.phase"), "phase");
    cell("phase_elapsed", t("ov.phase_elapsed"), "dur");
    cell("lockage_elapsed", t("ov.lockage_elapsed"), "dur");
    cell("lockage_number", t("ov.number"), "text");
    cell("current_vessel", t("ov.vessel"), "text");
  }

  /* ---- the drawing ---------------------------------------------------- */

  buildDrawing() {
    const svg = s("svg", {
      class: "ov-svg", viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "xMidYMid meet",
      role: "img",
    });
    svg.append(s("defs", null, [
      s("pattern", { id: "lb-hatch", patternUnits: "userSpaceOnUse", width: 18, height: 18, patternTransform: "rotate(45)" }, [
        s("rect", { width: 18, height: 18, class: "hatch-bg" }),
        s("rect", { width: 7, height: 18, class: "hatch-fg" }),
      ]),
    ]));
    this.svg = svg;
    this.el.append(h("div", { class: "ov-draw" }, [svg]));
    this.buildSection(svg);
    this.buildPlan(svg);
  }

  /* The vertical scale of the section: the union of the level tags'
   * ranges (a station file states what levels are possible), or what is
   * seen. */
  levelScale() {
    let lo = Infinity, hi = -Infinity;
    for (const r of ["upstream_level", "chamber_level", "downstream_level"]) {
      const m = this.st.tags.get(role(this.st, r));
      if (m && m.range) {
        lo = Math.min(lo, m.range[0]);
        hi = Math.max(hi, m.range[1]);
      }
    }
    if (!(hi > lo)) {
      lo = 0;
      hi = 0;
      for (const r of ["upstream_level", "chamber_level", "downstream_level"]) {
        const x = this.store.view(role(this.st, r), V);
        if (typeof x.v === "number") hi = Math.max(hi, x.v * 1.25);
      }
      if (!(hi > lo)) hi = 1;
    }
    return { lo, hi };
  }

  buildSection(svg) {
    const g = s("g", { class: "sec" });
    svg.append(g);
    const scale = () => this.levelScale();
    g.append(s("line", { x1: 10, y1: Y_FLOOR, x2: W - 10, y2: Y_FLOOR, class: "floor" }));
    const pools = [
      { role: "upstream_level", name: t("ov.upstream"), x0: 20, x1: X_UG },
      { role: "chamber_level", name: t("ov.chamber"), x0: X_UG, x1: X_LG },
      { role: "downstream_level", name: t("ov.downstream"), x0: X_LG, x1: W - 20 },
    ];
    for (const p of pools) {
      const tag = role(this.st, p.role);
      const cx = p.role === "upstream_level" ? 205 : p.role === "downstream_level" ? 1545 : (p.x0 + p.x1) / 2;
      const water = s("rect", { x: p.x0, width: p.x1 - p.x0, y: Y_FLOOR, height: 0, class: "water" });
      const surf = s("line", { x1: p.x0, x2: p.x1, y1: Y_FLOOR, y2: Y_FLOOR, class: "surface" });
      const label = s("text", { x: cx, y: 38, class: "t-pool", "text-anchor": "middle", text: p.name });
      const fig = s("text", { x: cx, y: 98, class: "t-level v", "text-anchor": "middle", "data-tag": tag || "" });
      const badge = s("text", { x: cx, y: Y_TOP + 40, class: "t-badge badge", "text-anchor": "middle" });
      const grp = s("g", { class: "pool" }, [water, surf, label, fig, badge]);
      g.append(grp);
      if (!tag) {
        setText(fig, "");
        continue;
      }
      const meta = this.st.tags.get(tag);
      this.target(grp, [tag], p.role === "chamber_level" ? "chamber" : null);
      this.part([tag], () => {
        const x = this.store.view(tag, V);
        const sc = scale();
        /* Unknown level: the whole pool hatched, not an empty one. */
        let y = Y_TOP;
        if (typeof x.v === "number") {
          const f = Math.max(0, Math.min(1, (x.v - sc.lo) / (sc.hi - sc.lo)));
          y = Y_FLOOR - f * (Y_FLOOR - Y_TOP);
        }
        toggle(water, "unknown", typeof x.v !== "number");
        setAttr(water, "y", y.toFixed(1));
        setAttr(water, "height", (Y_FLOOR - y).toFixed(1));
        setAttr(surf, "y1", y.toFixed(1));
        setAttr(surf, "y2", y.toFixed(1));
        setText(fig, typeof x.v === "number" ? fmtNumber(x.v, 2) + " " + (meta.unit || "") : "—");
        fig.dataset.raw = JSON.stringify(x.v === undefined ? null : x.v);
        fig.dataset.dec = "2";
        quality(grp, badge, x);
      });
    }
    /* Gates in section: a solid bar when closed, an outline when not. */
    this.sectionGate(g, X_UG, "upper", t("ov.upper_head"), "upper_head", "upstream_level", "chamber_level");
    this.sectionGate(g, X_LG, "lower", t("ov.lower_head"), "lower_head", "chamber_level", "downstream_level");
  }

  /* The least live of some tags' views (for one badge over several). */
  worst(tags) {
    let w = null, wr = -1;
    const out = this.worstV || (this.worstV = {});
    for (const tag of tags) {
      const x = this.store.view(tag, G);
      const r = RANK[x.q] === undefined ? 1 : RANK[x.q];
      if (r > wr) {
        wr = r;
        w = tag;
        Object.assign(out, x);
      }
    }
    if (!w) Object.assign(out, { q: "good", live: true, age: 0 });
    return out;
  }

  /* How far open a gate is (0..1) from its leaves, or null if unknown;
   * and whether that is live. */
  gateOpening(which) {
    let f = null;
    let live = true;
    for (const side of ["left", "right"]) {
      const tag = role(this.st, `${which}_gate_${side}`);
      if (!tag) continue;
      const x = this.store.view(tag, G);
      live = live && x.live;
      if (typeof x.v !== "number") continue;
      const m = this.st.tags.get(tag);
      const [lo, hi] = m.range || [0, 100];
      const fr = Math.max(0, Math.min(1, (x.v - lo) / (hi - lo)));
      f = f === null ? fr : Math.max(f, fr);
    }
    return { f, live };
  }

  sectionGate(g, x, which, name, headRole, upRole, downRole) {
    const stateTag = role(this.st, `${which}_gate_state`);
    const headTag = role(this.st, headRole);
    const bar = s("rect", { x: x - 9, y: Y_TOP - 14, width: 18, height: Y_FLOOR - Y_TOP + 14, class: "gate-bar" });
    const lbl = s("text", { x, y: 38, class: "t-head", "text-anchor": "middle", text: name });
    const st = s("text", { x, y: 94, class: "t-gstate v", "text-anchor": "middle", "data-tag": stateTag || "" });
    const gg = s("g", { class: "gate-sec" }, [bar, lbl, st]);
    g.append(gg);
    const stateBadge = s("text", { x, y: Y_TOP + 2, class: "t-badge badge", "text-anchor": "middle" });
    gg.append(stateBadge);
    const leafTags = ["left", "right"].map((sd) => role(this.st, `${which}_gate_${sd}`)).filter(Boolean);
    /* One badge for the gate: the worst of its state and its leaves (the
     * leaves in the plan are drawn not-live without badges of their own). */
    const gateTags = [stateTag, ...leafTags].filter(Boolean);
    this.target(gg, gateTags, which === "upper" ? "upper_head" : "lower_head");
    this.part(gateTags, () => {
      const o = this.gateOpening(which);
      toggle(bar, "open", o.f !== null && o.f > 0.02);
      toggle(bar, "nl", !o.live);
      quality(gg, stateBadge, this.worst(gateTags));
      if (stateTag) {
        const x2 = this.store.view(stateTag, V);
        const meta = this.st.tags.get(stateTag);
        setText(st, stateLabel(meta, x2.v) || "—");
        st.dataset.raw = JSON.stringify(x2.v === undefined ? null : x2.v);
        toggle(st, "nlv", !x2.live);
        toggle(gg, "abn", x2.live && valueAbnormal(meta, x2.v));
      } else {
        setText(st, "");
      }
    });
    /* The head across the gate, between the two water surfaces. */
    if (!headTag) return;
    const headMeta = this.st.tags.get(headTag);
    const pill = s("rect", { x: x - 120, y: 222, width: 240, height: 92, rx: 10, class: "pill" });
    const hl = s("text", { x, y: 256, class: "t-hlabel", "text-anchor": "middle", text: t("ov.head") });
    const hv = s("text", { x, y: 300, class: "t-head-v v", "text-anchor": "middle", "data-tag": headTag });
    const hb = s("text", { x, y: 340, class: "t-badge badge", "text-anchor": "middle" });
    const hg = s("g", { class: "headdiff" }, [pill, hl, hv, hb]);
    g.append(hg);
    this.target(hg, [headTag]);
    this.part([headTag, ...leafTags], () => {
      const x2 = this.store.view(headTag, V);
      setText(hv, typeof x2.v === "number" ? "Δ " + fmtNumber(x2.v, 2) + " " + (headMeta.unit || "") : "—");
      hv.dataset.raw = JSON.stringify(x2.v === undefined ? null : x2.v);
      hv.dataset.dec = "2";
      quality(hg, hb, x2);
      /* Interlock: a gate that is not closed with a head across it. */
      const o = this.gateOpening(which);
      const bad = x2.live && o.live && o.f !== null && o.f > 0.02 && typeof x2.v === "number" && Math.abs(x2.v) > HEAD_LIMIT;
      toggle(hg, "abn", bad);
      if (bad) setText(hl, t("ov.interlock", { h: fmtNumber(x2.v, 2) }));
      else setText(hl, t("ov.head"));
    });
  }

  buildPlan(svg) {
    const g = s("g", { class: "plan" });
    svg.append(g);
    const yT = YC - HW, yB = YC + HW;           /* chamber walls' water faces */
    const aT = YC - HW_APP, aB = YC + HW_APP;   /* approaches' banks */
    const xC0 = X_UG - 60, xC1 = X_LG + 120;    /* where the lock walls end */
    /* Water, then walls: the lock's outline. */
    g.append(s("path", {
      class: "pwater",
      d: `M20 ${aT} H${xC0} V${yT} H${xC1} V${aT} H${W - 20} V${aB} H${xC1} V${yB} H${xC0} V${aB} H20 Z`,
    }));
    g.append(s("path", {
      class: "wall",
      d: `M20 ${aT - WALL} H${xC0 + WALL} V${yT - WALL} H${xC1 - WALL} V${aT - WALL} H${W - 20} V${aT} H${xC1} V${yT} H${xC0} V${aT} H20 Z`,
    }));
    g.append(s("path", {
      class: "wall",
      d: `M20 ${aB + WALL} H${xC0 + WALL} V${yB + WALL} H${xC1 - WALL} V${aB + WALL} H${W - 20} V${aB} H${xC1} V${yB} H${xC0} V${aB} H20 Z`,
    }));
    this.planGate(g, X_UG, "upper");
    this.planGate(g, X_LG, "lower");
    this.planValves(g, "upper_valves", X_UG + 175);
    this.planValves(g, "lower_valves", X_LG - 200);
    /* Traffic lights on the walls: entry lights on the approaches' banks,
     * exit lights on the chamber walls facing the vessels inside. */
    const wallTop = YC - HW - WALL / 2, bankTop = YC - HW_APP - WALL / 2;
    this.light(g, "upstream_entry_light", X_UG - 235, bankTop, t("ov.entry"));
    this.light(g, "upstream_exit_light", X_UG + 330, wallTop, t("ov.exit"));
    this.light(g, "downstream_exit_light", X_LG - 330, wallTop, t("ov.exit"));
    this.light(g, "downstream_entry_light", X_LG + 250, bankTop, t("ov.entry"));
    this.vessel(g, "vessel_upstream", 170, 190);
    this.vessel(g, "vessel_upper_gate", X_UG + 10, 120);
    this.vessel(g, "vessel_chamber", (X_UG + X_LG) / 2, 300);
    this.vessel(g, "vessel_lower_gate", X_LG - 10, 120);
    this.vessel(g, "vessel_downstream", 1600, 190);
  }

  /* Miter leaves hinged at the walls: closed they meet on the centre line
   * pointing upstream; opening swings them downstream into the recesses. */
  planGate(g, x, which) {
    const sides = [
      { side: "left", y: YC - HW, dir: 1 },
      { side: "right", y: YC + HW, dir: -1 },
    ];
    for (const sd of sides) {
      g.append(s("rect", {
        class: "recess", x, y: sd.dir > 0 ? sd.y - 12 : sd.y, width: LEAF + 8, height: 12,
      }));
    }
    for (const sd of sides) {
      const tag = role(this.st, `${which}_gate_${sd.side}`);
      if (!tag) continue;
      const meta = this.st.tags.get(tag);
      const leaf = s("line", { x1: x, y1: sd.y, x2: x, y2: YC, class: "leaf" });
      const hinge = s("circle", { cx: x, cy: sd.y, r: 7, class: "hinge" });
      const ty = sd.dir > 0 ? YC - HW - WALL - 16 : YC + HW + WALL + 44;
      const val = s("text", { x: x - 6, y: ty, class: "t-leaf v", "text-anchor": "end", "data-tag": tag });
      const lg = s("g", { class: "leafg" }, [leaf, hinge, val, s("title", { text: pick(meta.name) })]);
      g.append(lg);
      this.target(lg, [tag]);
      this.part([tag], () => {
        const v = this.store.view(tag, V);
        const [lo, hi] = meta.range || [0, 100];
        const f = typeof v.v === "number" ? Math.max(0, Math.min(1, (v.v - lo) / (hi - lo))) : 0;
        /* angle from the downstream wall direction, into the channel */
        const closed = Math.PI / 2 + MITER;
        const open = 0.06;
        const a = closed + (open - closed) * f;
        setAttr(leaf, "x2", (x + LEAF * Math.cos(a)).toFixed(1));
        setAttr(leaf, "y2", (sd.y + sd.dir * LEAF * Math.sin(a)).toFixed(1));
        setText(val, typeof v.v === "number" ? fmtNumber(v.v, posDecimals(meta)) + " " + meta.unit : "—");
        val.dataset.raw = JSON.stringify(v.v === undefined ? null : v.v);
        val.dataset.dec = String(posDecimals(meta));
        setQuality(lg, v.q);
        toggle(lg, "nl", !v.live);
      });
    }
  }

  /* Culvert valves at a head: the first in the left (upper) wall, the
   * second in the right, further ones beside them. */
  planValves(g, roleName, x) {
    const list = role(this.st, roleName);
    if (!list) return;
    const tags = Array.isArray(list) ? list : [list];
    tags.forEach((tag, i) => {
      const meta = this.st.tags.get(tag);
      const top = i % 2 === 0;
      const xi = x + Math.floor(i / 2) * 110;
      const yw = top ? YC - HW - WALL / 2 : YC + HW + WALL / 2;
      const bow = s("path", {
        class: "valve",
        d: `M${xi - 24} ${yw - 15} L${xi + 24} ${yw + 15} L${xi + 24} ${yw - 15} L${xi - 24} ${yw + 15} Z`,
      });
      const ty = top ? yw - 30 : yw + 56;
      const val = s("text", { x: xi, y: ty, class: "t-valve v", "text-anchor": "middle", "data-tag": tag });
      const badge = s("text", { x: xi, y: top ? ty - 36 : ty + 34, class: "t-badge badge", "text-anchor": "middle" });
      const vg = s("g", { class: "valveg" }, [bow, val, badge]);
      const title = s("title", { text: pick(meta.name) });
      vg.append(title);
      g.append(vg);
      this.target(vg, [tag]);
      this.part([tag], () => {
        const v = this.store.view(tag, V);
        const [lo, hi] = meta.range || [0, 100];
        const open = typeof v.v === "number" && (v.v - lo) / (hi - lo) > 0.01;
        toggle(bow, "open", open);
        setText(val, typeof v.v === "number" ? fmtNumber(v.v, posDecimals(meta)) + " " + meta.unit : "—");
        val.dataset.raw = JSON.stringify(v.v === undefined ? null : v.v);
        val.dataset.dec = String(posDecimals(meta));
        quality(vg, badge, v);
        setText(title, pick(meta.name));
      });
    });
  }

  /* A signal on a wall: the lamp on the wall, "Entry  Red" above it (or
   * below, for a bottom wall). */
  light(g, roleName, x, yWall, label, below) {
    const tag = role(this.st, roleName);
    if (!tag) return;
    const meta = this.st.tags.get(tag);
    const lamp = s("circle", { cx: x, cy: yWall, r: 17, class: "lamp" });
    const ty = below ? yWall + 58 : yWall - 30;
    const lt = s("tspan", { class: "t-light-l", text: label + " " });
    const val = s("tspan", { class: "t-light v", "data-tag": tag });
    const txt = s("text", { x, y: ty, "text-anchor": "middle" }, [lt, val]);
    const badge = s("text", { x, y: below ? ty + 34 : ty - 36, class: "t-badge badge", "text-anchor": "middle" });
    const lg = s("g", { class: "light" }, [lamp, txt, badge, s("title", { text: pick(meta.name) })]);
    g.append(lg);
    this.target(lg, [tag]);
    this.part([tag], () => {
      const v = this.store.view(tag, V);
      const lbl = meta.states.size ? stateLabel(meta, v.v) : fmtValue(meta, v.v);
      setText(val, lbl || "—");
      val.dataset.raw = JSON.stringify(v.v === undefined ? null : v.v);
      /* The aspect from the state's English label: red, green, flashing,
       * off (a light's states are named by the station file). */
      const en = meta.states.size && v.v !== null ? ((meta.states.get(v.v) || {}).en || "") : "";
      lamp.dataset.aspect = /green/i.test(en) ? "green" : /red/i.test(en) ? "red" : /off|dark/i.test(en) ? "off" : "other";
      toggle(lamp, "flash", /flash/i.test(en));
      quality(lg, badge, v);
      toggle(lg, "abn", v.live && valueAbnormal(meta, v.v));
    });
  }

  vessel(g, roleName, x, len) {
    const tag = role(this.st, roleName);
    if (!tag) return;
    const meta = this.st.tags.get(tag);
    const hh = 22;
    const hull = s("path", {
      class: "hull",
      d: `M${x - len / 2} ${YC} L${x - len / 2 + 28} ${YC - hh} H${x + len / 2 - 28} L${x + len / 2} ${YC} L${x + len / 2 - 28} ${YC + hh} H${x - len / 2 + 28} Z`,
    });
    const vg = s("g", { class: "vessel", "data-tag": tag }, [hull, s("title", { text: pick(meta.name) })]);
    g.append(vg);
    this.target(vg, [tag]);
    this.part([tag], () => {
      const v = this.store.view(tag, V);
      const present = v.v === true || (typeof v.v === "number" && v.v !== 0);
      vg.dataset.raw = JSON.stringify(v.v === undefined ? null : v.v);
      /* Not live: drawn as an outline whatever it last was. */
      toggle(vg, "present", present && v.live);
      toggle(vg, "unknown", !v.live);
      setQuality(vg, v.q);
    });
  }

  /* ---- PLC communication ---------------------------------------------- */

  buildPlcs() {
    const strip = h("div", { class: "ov-plcs" }, [h("span", { class: "lbl", text: t("ov.plcs") })]);
    this.el.append(strip);
    this.plcChips = [];
    for (const plc of this.st.plcs) {
      const state = h("span", { class: "plc-state" });
      /* the chip's most urgent alarm, under its communication state */
      const mark = h("span", { class: "pmark" });
      const alarmText = h("span", { class: "plc-alarm-t" });
      const alarm = h("span", { class: "plc-alarm hidden" }, [mark, alarmText]);
      const chip = h("a", { class: "plc", href: `#/equipment/${encodeURIComponent(plc.id)}`, "data-plc": plc.id }, [
        h("span", { class: "plc-name", text: pick(plc.name) }), state, alarm]);
      strip.append(chip);
      this.plcChips.push({ plc, chip, mark, alarmText, alarm });
      /* A chip summarises communication; its tags are not values drawn. */
      const p = this.part([], () => {
        const r = plcState(this.store, plc);
        setText(state, r.text);
        chip.dataset.state = r.state;
        toggle(chip, "bad", r.bad);
      }, true);
      /* Drawn on every frame: testing each of its tags would cost more. */
      p.all = true;
    }
  }
}

/* The more urgent of two alarms (core/alarms.js's order). */
function better(a, b) {
  return prioNumber(a.priority) < prioNumber(b.priority) || (prioNumber(a.priority) === prioNumber(b.priority) && isUnacked(a) && !isUnacked(b));
}

/* A priority's marker shape around (x, y), r its half size: diamond,
 * triangle, square, circle (ISA-101: shape and number, not colour
 * alone). */
function markPath(p, x, y, r) {
  if (p === "critical") return `M${x} ${y - r} L${x + r} ${y} L${x} ${y + r} L${x - r} ${y} Z`;
  if (p === "high") return `M${x} ${y - r} L${x + r} ${y + r * 0.8} L${x - r} ${y + r * 0.8} Z`;
  if (p === "medium") return `M${x - r * 0.8} ${y - r * 0.8} H${x + r * 0.8} V${y + r * 0.8} H${x - r * 0.8} Z`;
  return `M${x - r * 0.85} ${y} A${r * 0.85} ${r * 0.85} 0 1 0 ${x + r * 0.85} ${y} A${r * 0.85} ${r * 0.85} 0 1 0 ${x - r * 0.85} ${y} Z`;
}

/* A position on the wall screen: whole units when the range is wide (a
 * leaf at 37 % reads better from five metres than 37.4 %). */
function posDecimals(meta) {
  return meta.range && meta.range[1] - meta.range[0] >= 50 ? 0 : meta.decimals;
}

/* A PLC's communication state from its tags' qualities. */
export function plcState(store, plc) {
  if (!plc.enabled) return { state: "disabled", text: t("plc.disabled"), bad: false };
  if (!store.linkUp) return { state: "link-lost", text: t("plc.link-lost"), bad: true };
  let n = 0, good = 0;
  const bad = new Map();
  for (const m of plc.tags) {
    const r = store.recs.get(m.tag);
    n++;
    if (r.q === "good") good++;
    else bad.set(r.q, (bad.get(r.q) || 0) + 1);
  }
  if (good === n) return { state: "ok", text: t("plc.ok"), bad: false };
  if (bad.size === 1) {
    const [q, c] = bad.entries().next().value;
    if (c === n) return { state: q, text: t("plc." + q), bad: q !== "init" };
  }
  /* The worst quality names the state. */
  for (const q of ["comm-failure", "device-error", "decode-error", "stale", "init"]) {
    if (bad.has(q)) return { state: q, text: t("plc.partial", { bad: n - good, n }), bad: true };
  }
  return { state: "partial", text: t("plc.partial", { bad: n - good, n }), bad: true };
}

/* Marks a group live or not, and fills its badge: "Comm failure 12 s". */
export function quality(grp, badge, v) {
  setQuality(grp, v.q);
  toggle(grp, "nl", !v.live);
  if (v.live) {
    if (badge.textContent) badge.textContent = "";
    return;
  }
  /* "No data yet" has no age worth saying. */
  const timed = v.q !== "init" && v.q !== "unsubscribed" && v.q !== "unknown";
  setText(badge, qualityLabel(v.q, v.exc) + (timed ? " " + fmtAge(v.age) : ""));
}
