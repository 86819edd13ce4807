/*
 * audit.js - #/audit?from=-24h: the audit log (GET /api/audit?from=&to=,
 * engineer and above): who did what, when, from where, with what result
 * - every login and failed login, logout, password, user and token
 * change.  Newest first; the newest MAX_ROWS asked for (`limit`; the
 * answer says whether the range held more: a narrower range shows older
 * ones).  From/To take
 * `YYYY-MM-DD HH:MM` in the station's zone, like the trends.
 */
import { h, setText, toggle } from "../core/dom.js";
import { t, has } from "../core/i18n.js";
import { fmtFull, toLocalInput, fromLocalInput } from "../core/fmt.js";
import { getJson } from "../core/api.js";
import { replaceHash } from "../core/router.js";
import { roleNote } from "./admin.js";

const MAX_ROWS = 500;
const PRESETS = [["1h", 3600e3], ["24h", 86400e3], ["7d", 7 * 86400e3], ["30d", 30 * 86400e3]];
const COLS = ["ts", "user", "action", "detail", "address", "result"];

export class AuditView {
  constructor(ctx) {
    this.ctx = ctx;
    this.auth = ctx.auth;
    this.store = ctx.store;
    this.span = 86400e3;       /* a preset: the range ends now */
    this.from = 0;
    this.to = 0;
    this.gen = 0;
    this.el = h("section", { class: "view aud" });
    this.note = h("div", { class: "ov-note bad hidden aud-need" });
    this.presets = PRESETS.map(([k, ms]) => {
      const b = h("button", { type: "button", class: "btn", "data-preset": k, text: t("tr.preset." + k) });
      b.addEventListener("click", () => {
        this.span = ms;
        this.load();
      });
      return b;
    });
    this.fromIn = h("input", { type: "text", class: "dt-in aud-from", inputmode: "numeric" });
    this.toIn = h("input", { type: "text", class: "dt-in aud-to", inputmode: "numeric" });
    const apply = h("button", { type: "submit", class: "btn", text: t("tr.apply") });
    const refresh = h("button", { type: "button", class: "btn aud-refresh", text: t("aud.refresh") });
    refresh.addEventListener("click", () => this.load());
    const range = h("form", { class: "controls aud-range" }, [
      ...this.presets,
      h("label", { class: "dt" }, [t("tr.from"), this.fromIn]),
      h("label", { class: "dt" }, [t("tr.to"), this.toIn]),
      apply, refresh,
    ]);
    range.addEventListener("submit", (e) => {
      e.preventDefault();
      const f = fromLocalInput(this.fromIn.value), to = fromLocalInput(this.toIn.value);
      if (!isFinite(f) || !isFinite(to) || to <= f) {
        this.say(t("tr.bad_range"), true);
        return;
      }
      this.span = 0;
      this.from = f;
      this.to = to;
      this.load();
    });
    this.msg = h("div", { class: "aud-msg" });
    this.body = h("div", { class: "aud-table", role: "table" });
    this.hdr = h("div", { class: "aud-row aud-hdr", role: "row" }, COLS.map((k) => h("span", { class: "c-" + k, role: "columnheader", text: t("aud.col." + k) })));
    this.main = h("div", { class: "aud-main" }, [range, this.msg, this.body]);
    this.el.append(h("h2", { text: t("aud.title") }), this.note, this.main);
  }

  subscription() {
    return ["*"];
  }

  screenTags() {
    return [];
  }

  frame() {}

  tick() {}

  /* #/audit?from=-24h or ?from=<epoch ms>&to=<epoch ms> */
  show(query) {
    const f = query && query.get("from"), to = query && query.get("to");
    const preset = f && PRESETS.find(([k]) => "-" + k === f);
    if (preset) this.span = preset[1];
    else if (f && to && /^\d+$/.test(f) && /^\d+$/.test(to) && +to > +f) {
      this.span = 0;
      this.from = +f;
      this.to = +to;
    }
    this.load();
  }

  hide() {
    this.gen++;
  }

  destroy() {
    this.hide();
  }

  authChanged() {
    this.load();
  }

  say(text, bad) {
    setText(this.msg, text);
    toggle(this.msg, "bad", !!bad);
  }

  async load() {
    const gen = ++this.gen;
    const need = roleNote(this.auth, "engineer");
    setText(this.note, need || "");
    toggle(this.note, "hidden", !need);
    toggle(this.main, "hidden", !!need);
    if (need) return;
    if (this.span) {
      this.to = this.store.now();
      this.from = this.to - this.span;
    }
    for (const b of this.presets) toggle(b, "on", this.span === (PRESETS.find(([k]) => k === b.dataset.preset) || [])[1]);
    this.fromIn.value = toLocalInput(this.from);
    this.toIn.value = toLocalInput(this.to);
    const preset = PRESETS.find(([, ms]) => ms === this.span);
    replaceHash("#/audit?" + (preset ? "from=-" + preset[0] : `from=${Math.round(this.from)}&to=${Math.round(this.to)}`));
    this.say(t("tr.loading"), false);
    const qs = this.span ? "from=-" + preset[0] : `from=${new Date(this.from).toISOString()}&to=${new Date(this.to).toISOString()}`;
    const a = await getJson(`/api/audit?${qs}&limit=${MAX_ROWS}`);
    if (gen !== this.gen) return;
    if (!a.ok) {
      this.say(t("tr.error", { e: a.status ? a.error || "HTTP " + a.status : t("login.network") }), true);
      return;
    }
    const rows = a.json.audit;
    const n = rows.length;
    const shown = rows.slice(Math.max(0, n - MAX_ROWS)).reverse();
    const more = !!a.json.truncated || n > shown.length;
    this.body.replaceChildren(this.hdr);
    for (const r of shown) {
      const ok = r.result === "ok";
      const act = "aud.act." + r.action;
      const res = "aud.res." + r.result;
      const row = h("div", { class: "aud-row" + (ok ? "" : " fail"), role: "row", "data-action": r.action, "data-result": r.result }, [
        h("span", { class: "c-ts", role: "cell", text: fmtFull(Date.parse(r.ts)) }),
        h("span", { class: "c-user", role: "cell", text: r.user }),
        h("span", { class: "c-action", role: "cell", text: has(act) ? t(act) : r.action }),
        h("span", { class: "c-detail", role: "cell", text: r.detail }),
        h("span", { class: "c-address", role: "cell", text: r.address }),
        h("span", { class: "c-result", role: "cell", text: has(res) ? t(res) : r.result }),
      ]);
      this.body.append(row);
    }
    if (!n) this.say(t("aud.none"), false);
    else if (more) this.say(t("aud.capped", { shown: shown.length }), false);
    else this.say(t("aud.count", { n }), false);
  }
}
