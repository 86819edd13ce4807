/*
 * displays.js - the wall screens as the bridge knows them (/api/displays):
 * which is online, what it shows, when it last reported and drew, how old
 * its data is and how many values it shows as not live.  A screen that is
 * offline, silent, not drawing or showing stale data is highlighted, so a
 * frozen or dark wall screen is noticed from the control desk.
 *
 * Polled every 2 s while shown; rows are kept by display name and
 * reused.
 */
import { h, setText, toggle } from "../core/dom.js";
import { t, pick } from "../core/i18n.js";
import { fmtAge, fmtFull } from "../core/fmt.js";
import { getJson } from "../core/api.js";

const POLL_MS = 2000;
/* A screen reports every 5 s: three missed reports is silence. */
const REPORT_LATE_S = 15;
/* It draws at least once a second while visible. */
const DRAWN_LATE_S = 15;
/* Data on a screen older than this is worth a look (a quiet plant can
 * leave values unchanged for a while, so this is a hint, not an alarm). */
const DATA_OLD_S = 120;

export class DisplaysView {
  constructor(ctx) {
    this.ctx = ctx;
    this.st = ctx.station;
    this.el = h("section", { class: "view dp" });
    this.rows = new Map();
    this.timer = 0;
    this.gen = 0;
    this.note = h("div", { class: "ov-note hidden", text: t("dp.none") });
    this.err = h("div", { class: "ov-note bad hidden", text: t("dp.fetch_failed") });
    this.body = h("div", { class: "dp-table", role: "table" });
    this.body.append(h("div", { class: "dp-row dp-hdr", role: "row" },
      ["display", "online", "page", "report", "drawn", "data", "stale", "address"].map((k) =>
        h("span", { class: "c-" + k, text: t("dp.col." + k) }))));
    this.el.append(h("h2", { text: t("dp.title") }), this.err, this.note, this.body);
  }

  subscription() {
    return ["*"];
  }

  screenTags() {
    return [];
  }

  /* Nothing here comes from the WebSocket. */
  frame() {}

  tick() {}

  show() {
    this.poll();
    this.timer = setInterval(() => this.poll(), POLL_MS);
  }

  hide() {
    clearInterval(this.timer);
    this.timer = 0;
    this.gen++;
  }

  async poll() {
    const gen = ++this.gen;
    const a = await getJson("/api/displays");
    if (!a.ok || !a.json) {
      if (gen === this.gen) toggle(this.err, "hidden", false);
      return;
    }
    const body = a.json;
    if (gen !== this.gen) return;
    toggle(this.err, "hidden", true);
    const now = Date.parse(body.time);
    const seen = new Set();
    for (const d of body.displays) {
      seen.add(d.display);
      let r = this.rows.get(d.display);
      if (!r) {
        r = { el: h("div", { class: "dp-row", role: "row", "data-display": d.display }) };
        for (const k of ["display", "online", "page", "report", "drawn", "data", "stale", "address"]) {
          r[k] = h("span", { class: "c-" + k });
          r.el.append(r[k]);
        }
        this.rows.set(d.display, r);
        this.body.append(r.el);
      }
      const drawnAge = d.drawn ? (now - Date.parse(d.drawn)) / 1000 : null;
      const lateReport = d.report_age_s === null || d.report_age_s > REPORT_LATE_S;
      const lateDraw = drawnAge === null || drawnAge > DRAWN_LATE_S;
      const oldData = d.data_age_s !== null && d.data_age_s > DATA_OLD_S;
      setText(r.display, d.display);
      setText(r.online, d.online ? t("dp.online") : t("dp.offline"));
      setText(r.page, pageLabel(this.st, d.page));
      setText(r.report, d.last_report ? fmtAge(d.report_age_s * 1000) : t("dp.never"));
      r.report.title = d.last_report ? fmtFull(Date.parse(d.last_report)) : "";
      setText(r.drawn, drawnAge === null ? t("dp.never") : fmtAge(drawnAge * 1000));
      setText(r.data, d.data_age_s === null ? "—" : fmtAge(d.data_age_s * 1000));
      setText(r.stale, String(d.stale_tags));
      setText(r.address, d.address || "");
      r.address.title = d.user_agent || "";
      toggle(r.online, "bad", !d.online);
      toggle(r.report, "bad", d.online && lateReport);
      toggle(r.drawn, "bad", d.online && lateDraw);
      toggle(r.data, "warn", d.online && oldData);
      toggle(r.stale, "bad", d.online && d.stale_tags > 0);
      toggle(r.el, "bad", !d.online || lateReport || lateDraw || d.stale_tags > 0);
    }
    for (const [name, r] of this.rows) {
      if (!seen.has(name)) {
        r.el.remove();
        this.rows.delete(name);
      }
    }
    toggle(this.note, "hidden", body.displays.length > 0);
  }
}

/* "equipment:levels" -> "Equipment · Water levels" */
function pageLabel(st, page) {
  if (!page) return "—";
  const [p, arg] = page.split(":");
  const key = "dp.page." + p;
  const name = ["overview", "equipment", "trends", "displays"].includes(p) ? t(key) : p;
  if (!arg) return name;
  const plc = st.plcById.get(arg);
  return name + " · " + (plc ? pick(plc.name) : arg);
}
