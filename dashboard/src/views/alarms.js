/*
 * alarms.js - #/alarms: the alarm list, in three tabs.
 *
 *   #/alarms                     active: every alarm shown (not normal,
 *                                not shelved, out of service or
 *                                suppressed), most urgent first, live
 *   #/alarms?tab=hidden          shelved, out of service and suppressed
 *   #/alarms?tab=journal&from=-24h   the journal (GET /api/alarms/journal),
 *                                newest first
 *
 * One filter row serves all three: priorities, area, PLC and a text that
 * must appear in the id, the message, the area or (journal) who and the
 * comment; it is kept in the hash (prio=critical,high&area=&plc=&q=) so a
 * filtered list can be bookmarked or put on a wall screen.
 *
 * Actions (operator and above; disable and enable engineer): acknowledge
 * one, the selected or every unacknowledged alarm the filter shows, with
 * an optional comment; shelve with a reason and a duration (or one-shot:
 * until it next clears); unshelve; comment; reset a latched alarm; take
 * out of service and back.  Each is one POST; its answer's alarms are
 * applied at once, and the WebSocket's alarm frame brings the same.  A
 * viewer sees the list without buttons and a line saying who may act.
 */
import { h, setText, toggle } from "../core/dom.js";
import { t, pick, has } from "../core/i18n.js";
import { fmtFull, fmtAge, fmtNumber } from "../core/fmt.js";
import { getJson, postJson } from "../core/api.js";
import { replaceHash } from "../core/router.js";
import { roleAtLeast } from "../core/auth.js";
import { PRIORITIES, prioNumber, isShown, isUnacked, hasValue } from "../core/alarms.js";
import { RangePicker } from "./range.js";

const TABS = ["active", "hidden", "journal"];
const JOURNAL_LIMIT = 2000;
const SHELVE = [["15m", 900], ["30m", 1800], ["1h", 3600], ["2h", 7200], ["8h", 28800], ["24h", 86400], ["oneshot", 0]];

export class AlarmsView {
  constructor(ctx) {
    this.ctx = ctx;
    this.st = ctx.station;
    this.store = ctx.store;
    this.alarms = ctx.store.alarms;
    this.auth = ctx.auth;
    this.tab = "active";
    this.filter = { prio: new Set(PRIORITIES), area: "", plc: "", q: "" };
    this.selected = new Set();
    this.records = null;
    this.gen = 0;
    this.visible = false;
    this.el = h("section", { class: "view alm" });
    this.buildTabs();
    this.buildFilters();
    this.buildToolbar();
    this.buildJournalBar();
    this.msg = h("div", { class: "alm-msg", role: "status" });
    this.body = h("div", { class: "alm-table", role: "table" });
    this.el.append(h("h2", { text: t("alm.title") }), this.tabsEl, this.filtersEl, this.toolbar, this.jbar.el, this.msg, this.body);
    this.buildDialog();
    this.off = this.alarms.listen(() => {
      if (this.visible && this.tab !== "journal") this.draw();
    });
  }

  subscription() {
    return ["*"];
  }

  screenTags() {
    return [];
  }

  frame() {}

  tick() {
    if (this.tab === "journal") return;
    /* ages */
    for (const el of this.body.querySelectorAll("[data-since]")) setText(el, fmtAge(this.store.now() - +el.dataset.since));
  }

  show(query) {
    this.visible = true;
    const tab = query && query.get("tab");
    this.tab = TABS.includes(tab) ? tab : "active";
    if (query) {
      const prio = query.get("prio");
      this.filter.prio = new Set(prio ? prio.split(",").filter((p) => PRIORITIES.includes(p)) : PRIORITIES);
      this.filter.area = query.get("area") || "";
      this.filter.plc = query.get("plc") || "";
      this.filter.q = query.get("q") || "";
      this.jbar.fromQuery(query);
    }
    this.drawFilters();
    this.refresh();
  }

  hide() {
    this.visible = false;
    this.gen++;
    if (this.dialog.open) this.dialog.close();
  }

  destroy() {
    this.hide();
    this.off();
  }

  authChanged() {
    this.refresh();
  }

  get canAct() {
    return roleAtLeast(this.auth.role, "operator");
  }

  get canService() {
    return roleAtLeast(this.auth.role, "engineer");
  }

  /* ---- controls ------------------------------------------------------- */

  buildTabs() {
    this.tabBtns = {};
    this.tabsEl = h("div", { class: "alm-tabs", role: "tablist" }, TABS.map((k) => {
      const n = h("span", { class: "alm-tab-n" });
      const b = h("a", { class: "btn alm-tab", role: "tab", "data-tab": k, href: "#/alarms?tab=" + k }, [t("alm.tab." + k), n]);
      b.addEventListener("click", (e) => {
        e.preventDefault();
        this.tab = k;
        this.refresh();
      });
      this.tabBtns[k] = { b, n };
      return b;
    }));
  }

  buildFilters() {
    this.prioBtns = {};
    const prios = PRIORITIES.map((p) => {
      const b = h("button", { type: "button", class: "btn alm-fprio prio-" + p, "data-prio": p, "aria-pressed": "true" }, [
        h("span", { class: "pmark pm-" + p, "aria-hidden": "true", text: String(prioNumber(p)) }), t("alm.prio." + p)]);
      b.addEventListener("click", () => {
        const f = this.filter.prio;
        if (f.has(p)) f.delete(p);
        else f.add(p);
        this.refresh();
      });
      this.prioBtns[p] = b;
      return b;
    });
    this.areaSel = h("select", { class: "alm-farea" }, [h("option", { value: "", text: t("alm.f.any_area") }),
      ...this.st.areas.map((a) => h("option", { value: a, text: has("area." + a) ? t("area." + a) : a }))]);
    this.plcSel = h("select", { class: "alm-fplc" }, [h("option", { value: "", text: t("alm.f.any_plc") }),
      ...this.st.plcs.map((p) => h("option", { value: p.id, text: pick(p.name) }))]);
    this.qIn = h("input", { type: "search", class: "alm-fq", placeholder: t("alm.f.text"), "aria-label": t("alm.f.text") });
    this.areaSel.addEventListener("change", () => {
      this.filter.area = this.areaSel.value;
      this.refresh();
    });
    this.plcSel.addEventListener("change", () => {
      this.filter.plc = this.plcSel.value;
      this.refresh();
    });
    this.qIn.addEventListener("input", () => {
      this.filter.q = this.qIn.value.trim();
      this.refresh();
    });
    this.filtersEl = h("div", { class: "controls alm-filters" }, [...prios, this.areaSel, this.plcSel, this.qIn]);
  }

  drawFilters() {
    for (const p of PRIORITIES) {
      const on = this.filter.prio.has(p);
      toggle(this.prioBtns[p], "on", on);
      this.prioBtns[p].setAttribute("aria-pressed", String(on));
    }
    this.areaSel.value = this.filter.area;
    this.plcSel.value = this.filter.plc;
    if (this.qIn.value.trim() !== this.filter.q) this.qIn.value = this.filter.q;
  }

  buildToolbar() {
    this.ackSel = h("button", { type: "button", class: "btn alm-ack-sel" });
    this.ackAll = h("button", { type: "button", class: "btn alm-ack-all" });
    this.ackComment = h("input", { type: "text", class: "alm-ack-comment", maxlength: "500", placeholder: t("alm.ack_comment"), "aria-label": t("alm.ack_comment") });
    this.ackSel.addEventListener("click", () => this.ack([...this.selected]));
    this.ackAll.addEventListener("click", () => this.ack(this.rows.filter(isUnacked).map((a) => a.id)));
    this.roleLine = h("span", { class: "alm-role" });
    this.toolbar = h("div", { class: "controls alm-toolbar" }, [this.ackSel, this.ackAll, this.ackComment, this.roleLine]);
  }

  buildJournalBar() {
    const refresh = h("button", { type: "button", class: "btn alm-jrefresh", text: t("aud.refresh") });
    refresh.addEventListener("click", () => this.loadJournal());
    this.jbar = new RangePicker({
      cls: "alm-j", now: () => this.store.now(), onChange: () => this.loadJournal(),
      onBad: (text) => this.say(text, true), extra: [refresh],
    });
  }

  say(text, bad) {
    setText(this.msg, text || "");
    toggle(this.msg, "bad", !!bad);
  }

  /* ---- what is listed -------------------------------------------------- */

  matches(x, extra) {
    const f = this.filter;
    if (!f.prio.has(x.priority)) return false;
    if (f.area && x.area !== f.area) return false;
    if (f.plc && !(x.plc === f.plc || x.id.startsWith(f.plc + "."))) return false;
    if (f.q) {
      const q = f.q.toLowerCase();
      const msg = x.message ? (x.message.en || "") + " " + (x.message.zh || "") : "";
      if (!(x.id + " " + msg + " " + (x.area || "") + " " + (extra || "")).toLowerCase().includes(q)) return false;
    }
    return true;
  }

  refresh() {
    if (!this.visible) return;
    const f = this.filter;
    const q = new URLSearchParams();
    if (this.tab !== "active") q.set("tab", this.tab);
    if (f.prio.size !== PRIORITIES.length) q.set("prio", [...f.prio].join(","));
    if (f.area) q.set("area", f.area);
    if (f.plc) q.set("plc", f.plc);
    if (f.q) q.set("q", f.q);
    this.drawFilters();
    for (const k of TABS) toggle(this.tabBtns[k].b, "on", k === this.tab);
    toggle(this.toolbar, "hidden", this.tab === "journal");
    toggle(this.jbar.el, "hidden", this.tab !== "journal");
    this.el.dataset.tab = this.tab;
    if (this.tab === "journal") {
      this.loadJournal(q);
    } else {
      replaceHash("#/alarms" + (q.toString() ? "?" + q : ""));
      this.draw();
    }
  }

  /* ---- active and hidden ---------------------------------------------- */

  draw() {
    const all = this.alarms.list();
    const active = all.filter(isShown);
    const hidden = all.filter((a) => !isShown(a));
    setText(this.tabBtns.active.n, String(active.length));
    setText(this.tabBtns.hidden.n, String(hidden.length));
    if (this.tab === "journal") return;
    const rows = (this.rows = (this.tab === "active" ? active : hidden).filter((a) => this.matches(a)));
    for (const id of this.selected) if (!rows.some((a) => a.id === id && isUnacked(a))) this.selected.delete(id);
    const act = this.canAct;
    toggle(this.el, "can-act", act);
    const unacked = rows.filter(isUnacked).length;
    setText(this.ackSel, t("alm.ack_sel", { n: this.selected.size }));
    this.ackSel.disabled = !act || !this.selected.size;
    setText(this.ackAll, t("alm.ack_all", { n: unacked }));
    this.ackAll.disabled = !act || !unacked;
    toggle(this.ackSel, "hidden", !act);
    toggle(this.ackAll, "hidden", !act);
    toggle(this.ackComment, "hidden", !act);
    setText(this.roleLine, act ? "" : this.auth.me ? t("alm.need_role", { user: this.auth.me.user, role: t("role." + this.auth.me.role) }) : t("alm.need_login"));
    const hdr = h("div", { class: "alm-row alm-hdr", role: "row" }, [
      h("span", { class: "c-sel", role: "columnheader" }),
      ...["prio", "since", "age", "msg", "area", "value", "state", "who", "act"].map((k) => h("span", { class: "c-" + k, role: "columnheader", text: t("alm.col." + k) })),
    ]);
    this.body.replaceChildren(hdr, ...rows.map((a) => this.row(a, act)));
    if (!rows.length) {
      const none = this.tab === "active" ? (all.length && active.length ? "alm.none_match" : "alm.none") : "alm.none_hidden";
      this.say(this.alarms.live ? t(none) : t("alm.not_live"), !this.alarms.live);
    } else {
      this.say(this.alarms.live ? "" : t("alm.not_live"), !this.alarms.live);
    }
    toggle(this.body, "nl", !this.alarms.live);
  }

  row(a, act) {
    const since = Date.parse(a.active_since || a.changed);
    const sel = h("input", { type: "checkbox", class: "alm-check", "aria-label": t("alm.select") });
    sel.checked = this.selected.has(a.id);
    sel.disabled = !act || !isUnacked(a);
    sel.addEventListener("change", () => {
      if (sel.checked) this.selected.add(a.id);
      else this.selected.delete(a.id);
      setText(this.ackSel, t("alm.ack_sel", { n: this.selected.size }));
      this.ackSel.disabled = !this.selected.size;
    });
    const def = this.st.alarmDefs.get(a.id);
    const source = a.tag ? this.st.tags.get(a.tag) : null;
    const where = source ? pick(source.name) : a.plc ? pick((this.st.plcById.get(a.plc) || {}).name) : t("alm.station");
    const value = !hasValue(a) ? "—" : fmtNumber(a.value, source ? source.decimals : 2) + (a.unit ? " " + a.unit : "");
    let state = t("alm.state." + a.state);
    if (a.latched) state += " · " + t("alm.latched");
    if (a.chattering) state += " · " + t("alm.chattering");
    if (a.suppressed) state += " · " + t("alm.suppressed." + a.suppressed);
    let who = a.acked_by || "";
    if (a.shelved) who = t("alm.shelved_by", {
      by: a.shelved.by, reason: a.shelved.reason,
      until: a.shelved.oneshot ? t("alm.oneshot_until") : fmtFull(Date.parse(a.shelved.until)),
    });
    else if (a.out_of_service) who = t("alm.oos_by", { by: a.out_of_service.by, since: fmtFull(Date.parse(a.out_of_service.since)) });
    const acts = h("span", { class: "c-act", role: "cell" });
    if (act) {
      const btn = (k, fn, cls) => {
        const b = h("button", { type: "button", class: "btn alm-do alm-" + k + (cls ? " " + cls : ""), text: t("alm.do." + k) });
        b.addEventListener("click", fn);
        acts.append(b);
      };
      if (isUnacked(a) && !a.out_of_service) btn("ack", () => this.ack([a.id]), "primary");
      if (a.latched && a.state !== "active-unack" && !a.out_of_service) btn("reset", () => this.post("reset", { ids: [a.id] }));
      if (a.shelved) btn("unshelve", () => this.post("unshelve", { id: a.id }));
      else if (!a.out_of_service) btn("shelve", () => this.ask("shelve", a));
      btn("comment", () => this.ask("comment", a));
      if (this.canService) {
        if (a.out_of_service) btn("enable", () => this.post("enable", { id: a.id }));
        else btn("disable", () => this.ask("disable", a));
      }
    }
    const r = h("div", {
      class: "alm-row prio-" + a.priority + (isUnacked(a) ? " unack" : ""), role: "row",
      "data-id": a.id, "data-state": a.state, "data-prio": a.priority,
    }, [
      h("span", { class: "c-sel", role: "cell" }, [sel]),
      h("span", { class: "c-prio", role: "cell" }, [
        h("span", { class: "pmark pm-" + a.priority + (a.state === "active-unack" ? " blink" : ""), "aria-hidden": "true", text: String(prioNumber(a.priority)) }),
        h("span", { class: "prio-name", text: t("alm.prio." + a.priority) })]),
      h("span", { class: "c-since", role: "cell", text: isFinite(since) ? fmtFull(since) : "—" }),
      h("span", { class: "c-age", role: "cell", "data-since": isFinite(since) ? String(since) : null, text: isFinite(since) ? fmtAge(this.store.now() - since) : "" }),
      h("span", { class: "c-msg", role: "cell" }, [
        h("span", { class: "alm-text", text: pick(a.message) || (def ? pick(def.message) : a.id) }),
        h("span", { class: "alm-src", text: where + " · " + a.id })]),
      h("span", { class: "c-area", role: "cell", text: areaName(a.area) }),
      h("span", { class: "c-value", role: "cell", text: value }),
      h("span", { class: "c-state", role: "cell", text: state }),
      h("span", { class: "c-who", role: "cell", text: who }),
      acts,
    ]);
    return r;
  }

  /* ---- actions -------------------------------------------------------- */

  ack(ids) {
    if (!ids.length) return;
    const comment = this.ackComment.value.trim();
    return this.post("ack", comment ? { ids, comment } : { ids }, () => {
      this.ackComment.value = "";
      for (const id of ids) this.selected.delete(id);
    });
  }

  /* One action; the answer's alarms go to the list at once. */
  async post(what, body, onOk) {
    this.say(t("alm.sending"), false);
    const a = await postJson("/api/alarms/" + what, body);
    if (a.json && Array.isArray(a.json.alarms)) this.alarms.update(a.json.alarms);
    if (a.ok) {
      const bad = (a.json.results || []).filter((r) => !r.ok);
      if (onOk) onOk();
      this.say(bad.length ? t("alm.partly", { n: bad.length, e: bad.map((r) => r.id + ": " + r.error).join("; ") }) : t("alm.done." + what), bad.length > 0);
      if (this.tab !== "journal") this.draw();
      return true;
    }
    const e = a.status === 0 ? t("login.network") : a.status === 403 ? t("alm.forbidden", { e: a.error || "" }) : a.error || "HTTP " + a.status;
    this.say(t("alm.failed", { e }), true);
    if (a.status === 401) this.auth.recheck();
    return false;
  }

  buildDialog() {
    this.dTitle = h("h3", { class: "alm-d-title" });
    this.dAlarm = h("p", { class: "alm-d-alarm" });
    this.dReasonLbl = h("span");
    this.dReason = h("textarea", { class: "alm-d-text", rows: "3", maxlength: "500" });
    this.dDur = h("select", { class: "alm-d-dur" }, SHELVE.map(([k]) => h("option", { value: k, text: t("alm.dur." + k) })));
    this.dDur.value = "1h";
    this.dDurLbl = h("label", { class: "alm-d-durl" }, [t("alm.d.duration"), this.dDur]);
    this.dMsg = h("div", { class: "alm-d-msg", role: "alert" });
    const cancel = h("button", { type: "button", class: "btn alm-d-cancel", text: t("pw.cancel") });
    cancel.addEventListener("click", () => this.dialog.close());
    this.dOk = h("button", { type: "submit", class: "btn primary alm-d-ok" });
    const form = h("form", { class: "alm-d-form", novalidate: true }, [
      this.dTitle, this.dAlarm, h("label", { class: "alm-d-textl" }, [this.dReasonLbl, this.dReason]), this.dDurLbl, this.dMsg,
      h("div", { class: "pw-buttons" }, [cancel, this.dOk]),
    ]);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.submitDialog();
    });
    this.dialog = h("dialog", { class: "alm-dlg" }, [form]);
    this.dialog.addEventListener("close", () => {
      this.dReason.value = "";
      setText(this.dMsg, "");
    });
    this.el.append(this.dialog);
  }

  /* The shelve, comment and disable dialog for an alarm. */
  ask(what, a) {
    this.dWhat = what;
    this.dId = a.id;
    setText(this.dTitle, t("alm.d." + what));
    setText(this.dAlarm, pick(a.message) + " (" + a.id + ")");
    setText(this.dReasonLbl, t(what === "shelve" ? "alm.d.reason" : "alm.d.comment"));
    setText(this.dOk, t("alm.do." + what));
    toggle(this.dDurLbl, "hidden", what !== "shelve");
    setText(this.dMsg, "");
    this.dialog.showModal();
    this.dReason.focus();
  }

  async submitDialog() {
    const text = this.dReason.value.trim();
    const what = this.dWhat, id = this.dId;
    let body;
    if (what === "shelve") {
      if (!text) {
        setText(this.dMsg, t("alm.d.reason_needed"));
        return;
      }
      const d = SHELVE.find(([k]) => k === this.dDur.value);
      body = d[1] ? { id, duration: d[1], reason: text } : { id, oneshot: true, reason: text };
    } else if (what === "comment") {
      if (!text) {
        setText(this.dMsg, t("alm.d.text_needed"));
        return;
      }
      body = { id, text };
    } else {
      body = text ? { id, comment: text } : { id };
    }
    this.dOk.disabled = true;
    const ok = await this.post(what, body);
    this.dOk.disabled = false;
    if (ok) this.dialog.close();
    else setText(this.dMsg, this.msg.textContent);
  }

  /* ---- journal -------------------------------------------------------- */

  async loadJournal(q) {
    const gen = ++this.gen;
    if (!q) {
      this.refresh();
      return;
    }
    const r = this.jbar.resolve();
    for (const [k, v] of new URLSearchParams(r.hash)) q.set(k, v);
    replaceHash("#/alarms?" + q.toString().replace(/%2C/g, ","));
    this.draw();
    this.say(t("tr.loading"), false);
    const a = await getJson(`/api/alarms/journal?${r.query}&limit=${JOURNAL_LIMIT}`);
    if (gen !== this.gen) return;
    if (!a.ok) {
      this.say(t("tr.error", { e: a.status ? a.error || "HTTP " + a.status : t("login.network") }), true);
      this.body.replaceChildren();
      return;
    }
    const recs = a.json.records.filter((x) => this.matches(Object.assign({ message: (this.st.alarmDefs.get(x.id) || {}).message }, x), (x.who || "") + " " + (x.comment || "")));
    const hdr = h("div", { class: "alm-row alm-jrow alm-hdr", role: "row" },
      ["ts", "prio", "event", "msg", "area", "value", "state", "who", "comment"].map((k) => h("span", { class: "c-" + k, role: "columnheader", text: t("alm.jcol." + k) })));
    const rows = recs.slice().reverse().map((x) => this.jrow(x));
    this.body.replaceChildren(hdr, ...rows);
    toggle(this.body, "nl", false);
    const n = a.json.records.length;
    this.say(!n ? t("alm.j.none") : t(a.json.truncated ? "alm.j.capped" : "alm.j.count", { n: recs.length, all: n }), false);
  }

  jrow(x) {
    const def = this.st.alarmDefs.get(x.id);
    const source = def && def.tag ? this.st.tags.get(def.tag) : null;
    const ev = "alm.ev." + x.event;
    const value = !def || !hasValue(Object.assign({ kind: def.kind }, x)) ? "" : fmtNumber(x.value, source ? source.decimals : 2) + (source && source.unit ? " " + source.unit : "");
    return h("div", { class: "alm-row alm-jrow prio-" + x.priority, role: "row", "data-id": x.id, "data-event": x.event, "data-seq": String(x.seq) }, [
      h("span", { class: "c-ts", role: "cell", text: fmtFull(Date.parse(x.ts)) }),
      h("span", { class: "c-prio", role: "cell" }, [h("span", { class: "pmark pm-" + x.priority, "aria-hidden": "true", text: String(prioNumber(x.priority)) })]),
      h("span", { class: "c-event", role: "cell", text: has(ev) ? t(ev) : x.event }),
      h("span", { class: "c-msg", role: "cell" }, [
        h("span", { class: "alm-text", text: def ? fillMessage(pick(def.message), x, source) : x.id }),
        h("span", { class: "alm-src", text: x.id })]),
      h("span", { class: "c-area", role: "cell", text: areaName(x.area) }),
      h("span", { class: "c-value", role: "cell", text: value }),
      h("span", { class: "c-state", role: "cell", text: t("alm.state." + x.state) }),
      h("span", { class: "c-who", role: "cell", text: x.who || "" }),
      h("span", { class: "c-comment", role: "cell", text: x.comment || "" }),
    ]);
  }
}

export function areaName(a) {
  if (!a) return "";
  return has("area." + a) ? t("area." + a) : a;
}

/* A message template with what the record knows ({value}, {unit},
 * {label}: bridge/src/alarm/message.h); what it does not, left out. */
function fillMessage(text, rec, source) {
  return text.replace(/\{(value|unit|label)\}/g, (_, k) => {
    if (k === "unit") return source && source.unit ? source.unit : "";
    if (rec.value === null || rec.value === undefined) return "";
    if (k === "value") return fmtNumber(rec.value, source ? source.decimals : 2);
    const l = source && source.states.get(rec.value);
    return l ? pick(l) : String(rec.value);
  });
}
