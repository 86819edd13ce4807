/*
 * range.js - what the pages that list records over a time range share
 * (the audit log, the alarm journal, the alarm KPIs, the notifications):
 * RecordsPage, the base of such a page (no live values of its own, a
 * message line), and RangePicker, the time range: preset buttons (the range ends now)
 * or From/To as `YYYY-MM-DD HH:MM` in the station's zone, like the
 * trends.  It remembers itself in the hash query (from=-24h, or from=<ms>
 * &to=<ms>) and gives the bridge's query string (from=-24h, or
 * from=<RFC 3339>&to=<RFC 3339>).
 */
import { h, setText, toggle } from "../core/dom.js";
import { t } from "../core/i18n.js";
import { toLocalInput, fromLocalInput } from "../core/fmt.js";

/* A page of records: it shows no tag values (so it reports none to the
 * displays page and keeps the connection's subscription), and says how
 * its last read went in this.msg, which the subclass makes. */
export class RecordsPage {
  subscription() {
    return ["*"];
  }

  screenTags() {
    return [];
  }

  frame() {}

  tick() {}

  say(text, bad) {
    setText(this.msg, text || "");
    toggle(this.msg, "bad", !!bad);
  }
}

export const PRESETS = [["1h", 3600e3], ["24h", 86400e3], ["7d", 7 * 86400e3], ["30d", 30 * 86400e3]];

export class RangePicker {
  /* now(): the bridge's clock; onChange(): the range changed by hand;
   * onBad(text): the inputs do not make a range; extra: more controls
   * for the same row (a refresh button). */
  constructor({ now, onChange, onBad, cls, presets = PRESETS, span = 86400e3, extra = [] }) {
    this.now = now;
    this.presetList = presets;
    this.span = span;          /* a preset: the range ends now; 0: from/to */
    this.from = 0;
    this.to = 0;
    this.presets = presets.map(([k, ms]) => {
      const b = h("button", { type: "button", class: "btn", "data-preset": k, text: t("tr.preset." + k) });
      b.addEventListener("click", () => {
        this.span = ms;
        onChange();
      });
      return b;
    });
    this.fromIn = h("input", { type: "text", class: "dt-in " + cls + "-from", inputmode: "numeric" });
    this.toIn = h("input", { type: "text", class: "dt-in " + cls + "-to", inputmode: "numeric" });
    const apply = h("button", { type: "submit", class: "btn", text: t("tr.apply") });
    this.el = h("form", { class: "controls " + cls + "-range" }, [
      ...this.presets,
      h("label", { class: "dt" }, [t("tr.from"), this.fromIn]),
      h("label", { class: "dt" }, [t("tr.to"), this.toIn]),
      apply, ...extra,
    ]);
    this.el.addEventListener("submit", (e) => {
      e.preventDefault();
      const f = fromLocalInput(this.fromIn.value), to = fromLocalInput(this.toIn.value);
      if (!isFinite(f) || !isFinite(to) || to <= f) {
        onBad(t("tr.bad_range"));
        return;
      }
      this.span = 0;
      this.from = f;
      this.to = to;
      onChange();
    });
  }

  /* From the hash query: from=-24h, or from=<ms>&to=<ms>. */
  fromQuery(query) {
    const f = query && query.get("from"), to = query && query.get("to");
    const preset = f && this.presetList.find(([k]) => "-" + k === f);
    if (preset) this.span = preset[1];
    else if (f && to && /^\d+$/.test(f) && /^\d+$/.test(to) && +to > +f) {
      this.span = 0;
      this.from = +f;
      this.to = +to;
    }
  }

  /* Fixes a preset's range to now and draws the inputs; returns
   * {hash, query}: the hash query and the bridge's query string. */
  resolve() {
    if (this.span) {
      this.to = this.now();
      this.from = this.to - this.span;
    }
    const preset = this.span ? this.presetList.find(([, ms]) => ms === this.span) : null;
    for (const b of this.presets) toggle(b, "on", !!preset && b.dataset.preset === preset[0]);
    this.fromIn.value = toLocalInput(this.from);
    this.toIn.value = toLocalInput(this.to);
    return {
      hash: preset ? "from=-" + preset[0] : `from=${Math.round(this.from)}&to=${Math.round(this.to)}`,
      query: preset ? "from=-" + preset[0] : `from=${new Date(this.from).toISOString()}&to=${new Date(this.to).toISOString()}`,
    };
  }
}
