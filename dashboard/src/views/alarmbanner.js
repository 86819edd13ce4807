/*
 * alarmbanner.js - the alarm line under the header, on every page and on
 * every wall screen: the shown alarms counted by priority, the most
 * urgent one spelt out (priority, then unacknowledged, then the newest),
 * how many more, and the horn's button.  A click anywhere but the button
 * opens the alarm list.
 *
 * ISA-101: with nothing shown the line is grey and says so; colour
 * appears only with an alarm, in its priority's colour, with the
 * priority's number and shape beside it (never colour alone), blinking
 * while unacknowledged.  While the page has lost the bridge, the line is
 * hatched: the alarm states are not live either.
 */
import { h, setText, toggle } from "../core/dom.js";
import { t, pick } from "../core/i18n.js";
import { fmtHM, fmtAge } from "../core/fmt.js";
import { PRIORITIES, prioNumber, isUnacked } from "../core/alarms.js";

export class AlarmBanner {
  constructor(store, horn, { kiosk }) {
    this.store = store;
    this.alarms = store.alarms;
    this.horn = horn;
    this.kiosk = kiosk;
    this.chips = {};
    const counts = h("span", { class: "ab-counts" }, PRIORITIES.map((p) => {
      const n = h("span", { class: "ab-n" });
      const chip = h("span", { class: "ab-chip prio-" + p, "data-prio": p, title: t("alm.prio." + p) }, [
        h("span", { class: "pmark pm-" + p, "aria-hidden": "true", text: String(prioNumber(p)) }), n]);
      this.chips[p] = { chip, n };
      return chip;
    }));
    this.topMark = h("span", { class: "pmark" });
    this.topTime = h("span", { class: "ab-time" });
    this.topMsg = h("span", { class: "ab-msg" });
    this.topState = h("span", { class: "ab-state" });
    this.top = h("span", { class: "ab-top" }, [this.topMark, this.topTime, this.topMsg, this.topState]);
    this.more = h("span", { class: "ab-more" });
    this.hidden = h("span", { class: "ab-hidden" });
    this.sound = h("button", { type: "button", class: "btn ab-sound" });
    /* the button sits in the banner's link: pressing it must not follow it */
    this.sound.addEventListener("click", (e) => {
      e.preventDefault();
      e.stopPropagation();
      this.soundClick();
    });
    this.el = h("a", { class: "alarm-banner", href: "#/alarms", role: "status", "aria-live": "polite" },
      [counts, this.top, this.more, this.hidden, this.sound]);
    this.offA = this.alarms.listen(() => this.draw());
    this.offH = horn.listen(() => this.drawSound());
    this.draw();
  }

  destroy() {
    this.offA();
    this.offH();
  }

  soundClick() {
    const st = this.horn.state;
    if (st === "sounding") this.horn.silence();
    else if (st === "blocked") this.horn.audio();
    else this.horn.setMode(this.horn.mode === "on" ? "off" : "on");
  }

  draw() {
    const a = this.alarms;
    const c = a.counts();
    let total = 0;
    for (const p of PRIORITIES) {
      const x = this.chips[p];
      setText(x.n, String(c[p].n));
      toggle(x.chip, "zero", c[p].n === 0);
      toggle(x.chip, "unack", c[p].unacked > 0);
      x.chip.dataset.n = String(c[p].n);
      total += c[p].n;
    }
    const shown = a.shown();
    const first = shown[0] || null;
    this.el.dataset.top = first ? first.id : "";
    this.el.dataset.prio = first ? first.priority : "";
    this.el.dataset.total = String(total);
    toggle(this.el, "quiet", !first);
    toggle(this.el, "nl", !a.live);
    if (first) {
      this.topMark.className = "pmark pm-" + first.priority;
      setText(this.topMark, String(prioNumber(first.priority)));
      toggle(this.topMark, "blink", isUnacked(first));
      this.topMark.classList.remove("hidden");
      setText(this.topMsg, pick(first.message));
      setText(this.topState, t("alm.state." + first.state));
      toggle(this.topState, "unack", isUnacked(first));
    } else {
      this.topMark.classList.add("hidden");
      setText(this.topMsg, a.live ? t("alm.none") : t("alm.not_live"));
      setText(this.topState, "");
      setText(this.topTime, "");
    }
    setText(this.more, shown.length > 1 ? t("alm.more", { n: shown.length - 1 }) : "");
    let hid = 0;
    for (const x of a.list()) if (x.shelved || x.out_of_service || (x.suppressed && x.state !== "normal")) hid++;
    setText(this.hidden, hid ? t("alm.hidden", { n: hid }) : "");
    this.first = first;
    this.tick();
    this.drawSound();
  }

  /* The first alarm's time and age (every second). */
  tick() {
    const f = this.first;
    if (!f) return;
    const since = Date.parse(f.active_since || f.changed);
    setText(this.topTime, isFinite(since) ? fmtHM(since) + " · " + fmtAge(this.store.now() - since) : "");
  }

  drawSound() {
    const st = this.horn.state;
    this.sound.dataset.state = st;
    /* A wall screen nobody stands at has no button to press. */
    toggle(this.sound, "hidden", this.kiosk && st !== "sounding" && st !== "blocked");
    setText(this.sound, t("alm.sound." + st));
    this.sound.title = t("alm.sound." + st + ".title");
  }
}
