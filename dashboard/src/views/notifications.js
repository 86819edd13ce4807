/*
 * notifications.js - #/notifications?from=-24h (operator and above): who
 * was told what, and whether it got there (GET /api/notifications, the
 * notification journal): each channel's state from its newest attempt
 * (a channel whose last attempt failed is edged red, with the answer),
 * the notifications newest first (alarm, event, channel, recipient,
 * level, status, attempts, when delivered, the last error), and every
 * attempt with the channel's exact answer.  Re-read every 10 s while
 * shown, so a retry that succeeds shows without a click.
 */
import { h, setText, toggle } from "../core/dom.js";
import { t, pick, has } from "../core/i18n.js";
import { fmtFull } from "../core/fmt.js";
import { getJson } from "../core/api.js";
import { replaceHash } from "../core/router.js";
import { prioNumber } from "../core/alarms.js";
import { roleNote } from "./admin.js";
import { RecordsPage, RangePicker } from "./range.js";

const REFRESH_MS = 10000;

export class NotificationsView extends RecordsPage {
  constructor(ctx) {
    super();
    this.ctx = ctx;
    this.auth = ctx.auth;
    this.store = ctx.store;
    this.gen = 0;
    this.timer = 0;
    this.el = h("section", { class: "view ntf" });
    this.note = h("div", { class: "ov-note bad hidden ntf-need" });
    const refresh = h("button", { type: "button", class: "btn ntf-refresh", text: t("aud.refresh") });
    refresh.addEventListener("click", () => this.load());
    this.range = new RangePicker({
      cls: "ntf", now: () => this.store.now(), onChange: () => this.load(),
      onBad: (text) => this.say(text, true), extra: [refresh],
    });
    this.msg = h("div", { class: "ntf-msg", role: "status" });
    this.channels = h("div", { class: "ntf-channels" });
    this.rows = h("div", { class: "alm-table ntf-table", role: "table" });
    this.attempts = h("div", { class: "alm-table ntf-attempts", role: "table" });
    this.main = h("div", { class: "ntf-main" }, [this.range.el, this.msg, this.channels,
      h("h3", { text: t("ntf.list") }), this.rows, h("h3", { text: t("ntf.attempts") }), this.attempts]);
    this.el.append(h("h2", { text: t("ntf.title") }), this.note, this.main);
  }

  show(query) {
    this.range.fromQuery(query);
    this.load();
  }

  hide() {
    this.gen++;
    clearTimeout(this.timer);
    this.timer = 0;
  }

  destroy() {
    this.hide();
  }

  authChanged() {
    this.load();
  }

  async load() {
    const gen = ++this.gen;
    clearTimeout(this.timer);
    const need = roleNote(this.auth, "operator");
    setText(this.note, need || "");
    toggle(this.note, "hidden", !need);
    toggle(this.main, "hidden", !!need);
    if (need) return;
    const r = this.range.resolve();
    replaceHash("#/notifications?" + r.hash);
    const a = await getJson(`/api/notifications?${r.query}&limit=500`);
    if (gen !== this.gen) return;
    this.timer = setTimeout(() => this.load(), REFRESH_MS);
    if (!a.ok) {
      this.say(a.status === 404 ? t("ntf.none_configured") : t("tr.error", { e: a.status ? a.error || "HTTP " + a.status : t("login.network") }), a.status !== 404);
      this.channels.replaceChildren();
      this.rows.replaceChildren();
      this.attempts.replaceChildren();
      return;
    }
    const { notifications, attempts, truncated } = a.json;
    this.say(notifications.length ? t(truncated ? "ntf.capped" : "ntf.count", { n: notifications.length }) : t("ntf.empty"), false);
    this.drawChannels(attempts);
    this.drawRows(notifications);
    this.drawAttempts(attempts);
  }

  /* A channel's state is its newest attempt (they come newest first). */
  drawChannels(attempts) {
    const last = new Map();
    for (const x of attempts) if (!last.has(x.channel)) last.set(x.channel, x);
    this.channels.replaceChildren(...[...last.values()].map((x) => {
      let fails = 0;
      for (const y of attempts) {
        if (y.channel !== x.channel) continue;
        if (y.ok) break;
        fails++;
      }
      return h("div", { class: "ntf-ch" + (x.ok ? "" : " bad"), "data-channel": x.channel, "data-ok": String(x.ok) }, [
        h("span", { class: "ntf-ch-id", text: x.channel }),
        h("span", { class: "ntf-ch-state", text: x.ok ? t("ntf.ch_ok") : t("ntf.ch_failing", { n: fails }) }),
        h("span", { class: "ntf-ch-when", text: fmtFull(Date.parse(x.time)) }),
        h("span", { class: "ntf-ch-answer", text: x.answer }),
      ]);
    }));
  }

  drawRows(list) {
    const cols = ["time", "alarm", "event", "channel", "recipient", "level", "status", "attempts", "delivered", "error"];
    const hdr = h("div", { class: "alm-row ntf-row alm-hdr", role: "row" }, cols.map((k) => h("span", { class: "c-" + k, role: "columnheader", text: t("ntf.col." + k) })));
    this.rows.replaceChildren(hdr, ...list.map((x) => {
      const st = "ntf.status." + x.status;
      const ev = "alm.ev." + x.event;
      return h("div", { class: "alm-row ntf-row prio-" + x.priority + (x.status === "sent" ? "" : " pending"), role: "row", "data-id": String(x.id), "data-status": x.status, "data-channel": x.channel }, [
        h("span", { class: "c-time", role: "cell", text: fmtFull(Date.parse(x.created)) }),
        h("span", { class: "c-alarm", role: "cell" }, [
          h("span", { class: "pmark pm-" + x.priority, "aria-hidden": "true", text: String(prioNumber(x.priority)) }),
          h("span", { class: "ntf-text" }, [h("span", { class: "alm-text", text: pick(x.message) }), h("span", { class: "alm-src", text: x.alarm })])]),
        h("span", { class: "c-event", role: "cell", text: has(ev) ? t(ev) : x.event }),
        h("span", { class: "c-channel", role: "cell", text: x.channel }),
        h("span", { class: "c-recipient", role: "cell", text: x.recipient || "—" }),
        h("span", { class: "c-level", role: "cell", text: x.level > 0 ? String(x.level) : "—" }),
        h("span", { class: "c-status", role: "cell", text: has(st) ? t(st) : x.status }),
        h("span", { class: "c-attempts", role: "cell", text: String(x.attempts) }),
        h("span", { class: "c-delivered", role: "cell", text: x.delivered ? fmtFull(Date.parse(x.delivered)) : x.status === "pending" || x.status === "step" ? t("ntf.due", { at: fmtFull(Date.parse(x.due)) }) : "—" }),
        h("span", { class: "c-error", role: "cell", text: x.last_error || "" }),
      ]);
    }));
  }

  drawAttempts(list) {
    const cols = ["time", "channel", "recipient", "rows", "result", "answer"];
    const hdr = h("div", { class: "alm-row ntf-arow alm-hdr", role: "row" }, cols.map((k) => h("span", { class: "c-" + k, role: "columnheader", text: t("ntf.acol." + k) })));
    this.attempts.replaceChildren(hdr, ...list.map((x) => h("div", { class: "alm-row ntf-arow" + (x.ok ? "" : " fail"), role: "row", "data-ok": String(x.ok) }, [
      h("span", { class: "c-time", role: "cell", text: fmtFull(Date.parse(x.time)) }),
      h("span", { class: "c-channel", role: "cell", text: x.channel }),
      h("span", { class: "c-recipient", role: "cell", text: x.recipient || "—" }),
      h("span", { class: "c-rows", role: "cell", text: String(x.rows) }),
      h("span", { class: "c-result", role: "cell", text: x.ok ? t("ntf.ok") : t("ntf.failed") }),
      h("span", { class: "c-answer", role: "cell", text: x.answer }),
    ])));
  }
}
