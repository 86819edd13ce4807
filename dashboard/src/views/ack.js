/*
 * ack.js - #/ack/TOKEN: the page an acknowledge link opens on a phone
 * (bridge/src/auth/acklink.h).  It stands alone: no login, no station, no
 * live feed; the token is the credential.  Opening it changes nothing
 * (GET /api/acklink shows the alarm and the link's state); only the
 * Acknowledge button's POST /api/acklink acknowledges, once, as the
 * person the link was sent to, with an optional comment.
 *
 * The token travels after the "#", so it is never in a request line, a
 * proxy's log or a Referer; mail scanners that fetch the link get the
 * page's HTML and nothing else.
 */
import { h, setText, toggle } from "../core/dom.js";
import { t, pick, getLang, setLang } from "../core/i18n.js";
import { fmtFull, fmtAge, fmtNumber, setZone } from "../core/fmt.js";
import { getJson, postJson } from "../core/api.js";
import { prioNumber, isUnacked, hasValue } from "../core/alarms.js";

export function ackToken(hash) {
  const m = /^#\/ack\/([A-Za-z0-9_.-]{20,600})$/.exec(hash || "");
  return m ? m[1] : null;
}

export class AckView {
  constructor(token) {
    this.token = token;
    this.el = h("section", { class: "ack-page" });
    this.load();
  }

  async load() {
    this.el.replaceChildren(h("p", { class: "ack-note", text: t("tr.loading") }));
    const a = await getJson("/api/acklink?t=" + encodeURIComponent(this.token));
    this.answer = a;
    this.draw();
  }

  lang() {
    const b = h("button", { type: "button", class: "btn lang", text: t("lang.switch") });
    b.addEventListener("click", () => {
      setLang(getLang() === "zh" ? "en" : "zh");
      this.draw();
    });
    return b;
  }

  draw() {
    const a = this.answer;
    document.title = t("ack.title") + " · lockbridge";
    if (!a.ok) {
      const key = a.status === 0 ? "ack.network" : a.status === 400 ? "ack.bad" : a.status === 404 ? "ack.gone" : null;
      const retry = h("button", { type: "button", class: "btn ack-retry", text: t("ack.retry") });
      retry.addEventListener("click", () => this.load());
      this.el.dataset.state = "error";
      this.el.replaceChildren(h("div", { class: "ack-top" }, [h("h1", { text: t("ack.title") }), this.lang()]),
        h("p", { class: "ack-msg bad", role: "alert", text: key ? t(key) : a.error || "HTTP " + a.status }),
        a.status === 0 ? retry : null);
      return;
    }
    const { link, alarm, station, timezone } = a.json;
    if (timezone) setZone(timezone);
    this.el.dataset.state = link.state;
    const since = Date.parse(alarm.active_since || alarm.changed);
    const value = !hasValue(alarm) ? null : fmtNumber(alarm.value, 2) + (alarm.unit ? " " + alarm.unit : "");
    const card = h("div", { class: "ack-card prio-" + alarm.priority, "data-id": alarm.id }, [
      h("div", { class: "ack-prio" }, [
        h("span", { class: "pmark pm-" + alarm.priority + (alarm.state === "active-unack" ? " blink" : ""), text: String(prioNumber(alarm.priority)) }),
        h("span", { text: t("alm.prio." + alarm.priority) }),
        h("span", { class: "ack-state", text: t("alm.state." + alarm.state) })]),
      h("p", { class: "ack-text", text: pick(alarm.message) }),
      h("dl", { class: "ack-facts" }, [
        h("dt", { text: t("ack.station") }), h("dd", { text: pick(station) }),
        h("dt", { text: t("ack.alarm") }), h("dd", { class: "ack-id", text: alarm.id }),
        isFinite(since) ? h("dt", { text: t("alm.col.since") }) : null,
        isFinite(since) ? h("dd", { text: fmtFull(since) + " (" + fmtAge(Date.now() - since) + ")" }) : null,
        value ? h("dt", { text: t("alm.col.value") }) : null, value ? h("dd", { text: value }) : null,
        h("dt", { text: t("ack.for") }), h("dd", { class: "ack-to", text: link.to }),
      ]),
    ]);
    this.msg = h("p", { class: "ack-msg", role: "status" });
    const parts = [h("div", { class: "ack-top" }, [h("h1", { text: t("ack.title") }), this.lang()]), card];
    if (link.state === "used") {
      this.say(t("ack.used", { by: link.used.by, at: fmtFull(Date.parse(link.used.at)) }), false);
    } else if (link.state === "expired") {
      this.say(t("ack.expired", { at: fmtFull(Date.parse(link.expires)) }), true);
    } else if (!isUnacked(alarm)) {
      this.say(alarm.acked_by ? t("ack.already", { by: alarm.acked_by, at: fmtFull(Date.parse(alarm.acked_at)) }) : t("ack.nothing"), false);
    } else {
      this.comment = h("textarea", { class: "ack-comment", rows: "3", maxlength: "250", placeholder: t("ack.comment") });
      this.button = h("button", { type: "button", class: "btn primary ack-button", text: t("ack.button", { to: link.to }) });
      this.button.addEventListener("click", () => this.ack());
      parts.push(h("label", { class: "ack-label" }, [t("ack.comment"), this.comment]), this.button,
        h("p", { class: "ack-hint", text: t("ack.expires", { at: fmtFull(Date.parse(link.expires)) }) }));
    }
    parts.push(this.msg);
    this.el.replaceChildren(...parts);
  }

  say(text, bad) {
    if (!this.msg) return;
    setText(this.msg, text);
    toggle(this.msg, "bad", !!bad);
  }

  async ack() {
    this.button.disabled = true;
    this.say(t("alm.sending"), false);
    const body = { t: this.token };
    const c = this.comment.value.trim();
    if (c) body.comment = c;
    const a = await postJson("/api/acklink", body);
    if (a.ok) {
      const al = a.json.alarms[0];
      this.answer = { ok: true, status: 200, json: Object.assign({}, this.answer.json, { alarm: al, link: Object.assign({}, this.answer.json.link, { state: "used", used: { by: al.acked_by, at: al.acked_at } }) }) };
      this.draw();
      this.el.dataset.state = "done";
      this.say(t("ack.done", { by: al.acked_by, at: fmtFull(Date.parse(al.acked_at)) }), false);
      return;
    }
    this.button.disabled = false;
    if (a.status === 409 && a.json && a.json.alarms) {
      this.answer = { ok: true, status: 200, json: Object.assign({}, this.answer.json, { alarm: a.json.alarms[0], link: a.json.link || this.answer.json.link }) };
      this.draw();
      return;
    }
    this.say(a.status === 0 ? t("ack.network") : t("alm.failed", { e: a.error || "HTTP " + a.status }), true);
  }
}

/* Drawn alone, before (and instead of) the dashboard. */
export function showAck(root, token) {
  document.documentElement.classList.add("ack");
  const v = new AckView(token);
  root.replaceChildren(v.el);
  return v;
}
