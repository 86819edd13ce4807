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
import { fmtFull } from "../core/fmt.js";
import { getJson } from "../core/api.js";
import { replaceHash } from "../core/router.js";
import { roleNote } from "./admin.js";
import { RecordsPage, RangePicker } from "./range.js";

const MAX_ROWS = 500;
const COLS = ["ts", "user", "action", "detail", "address", "result"];

export class AuditView extends RecordsPage {
  constructor(ctx) {
    super();
    this.ctx = ctx;
    this.auth = ctx.auth;
    this.store = ctx.store;
    this.gen = 0;
    this.el = h("section", { class: "view aud" });
    this.note = h("div", { class: "ov-note bad hidden aud-need" });
    const refresh = h("button", { type: "button", class: "btn aud-refresh", text: t("aud.refresh") });
    refresh.addEventListener("click", () => this.load());
    this.range = new RangePicker({
      cls: "aud", now: () => this.store.now(), onChange: () => this.load(),
      onBad: (text) => this.say(text, true), extra: [refresh],
    });
    this.msg = h("div", { class: "aud-msg" });
    this.body = h("div", { class: "aud-table", role: "table" });
    this.hdr = h("div", { class: "aud-row aud-hdr", role: "row" }, COLS.map((k) => h("span", { class: "c-" + k, role: "columnheader", text: t("aud.col." + k) })));
    this.main = h("div", { class: "aud-main" }, [this.range.el, this.msg, this.body]);
    this.el.append(h("h2", { text: t("aud.title") }), this.note, this.main);
  }

  /* #/audit?from=-24h or ?from=<epoch ms>&to=<epoch ms> */
  show(query) {
    this.range.fromQuery(query);
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

  async load() {
    const gen = ++this.gen;
    const need = roleNote(this.auth, "engineer");
    setText(this.note, need || "");
    toggle(this.note, "hidden", !need);
    toggle(this.main, "hidden", !!need);
    if (need) return;
    const r = this.range.resolve();
    replaceHash("#/audit?" + r.hash);
    this.say(t("tr.loading"), false);
    const qs = r.query;
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
