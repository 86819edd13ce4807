/*
 * horn.js - the audible alarm: a tone, repeated, while a critical or high
 * alarm is unacknowledged and nobody at this screen has silenced it.
 *
 * What sounds is an activation, keyed by alarm id and active_since: the
 * operator's Silence covers the activations sounding now; the next
 * activation of any alarm sounds again.  Acknowledging (anywhere) ends
 * an activation's sound, since it is no longer unacknowledged.
 *
 * Modes: "on" (the default on a desk), "off" (muted on this browser,
 * remembered in localStorage: a desk beside the horn panel), and on a
 * wall screen (kiosk=1) "off" unless the URL says sound=1: a kiosk never
 * beeps unless configured.
 *
 * The tone is Web Audio (an oscillator, no sound file to fetch).  A
 * browser starts audio only after a gesture on the page; until then the
 * state is "blocked" and the banner says "click to enable sound".  The
 * tones played are counted (window.__lb.horn), which is what the
 * browser tests look at: a headless browser has no speaker.
 */
const STORE_KEY = "lockbridge.sound";
const REPEAT_MS = { critical: 2000, high: 4000 };
/* Critical: two high tones; high: one lower tone. */
const PATTERN = {
  critical: [[988, 0, 0.18], [988, 0.26, 0.18]],
  high: [[659, 0, 0.3]],
};

export class Horn {
  constructor(alarms, { kiosk, param }) {
    this.alarms = alarms;
    this.silenced = new Set();
    this.listeners = new Set();
    let stored = null;
    try {
      stored = localStorage.getItem(STORE_KEY);
    } catch (_) {
      /* private mode */
    }
    if (kiosk) this.mode = param === "1" ? "on" : "off";
    else this.mode = param === "0" ? "off" : param === "1" ? "on" : stored === "off" ? "off" : "on";
    this.ctx = null;
    this.timer = 0;
    this.last = 0;
    this.beeps = 0;
    this.sounding = [];          /* the activations sounding now */
    this.prio = null;            /* the most urgent of them */
    alarms.listen(() => this.update());
    /* Audio may start with the first gesture anywhere on the page. */
    const unlock = () => {
      if (this.mode === "on") this.audio();
    };
    addEventListener("pointerdown", unlock, { capture: true });
    addEventListener("keydown", unlock, { capture: true });
  }

  listen(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /* "off", "blocked" (wants to sound, the browser has not let it yet),
   * "sounding", "quiet" (on, nothing to sound). */
  get state() {
    if (this.mode === "off") return "off";
    if (!this.sounding.length) return "quiet";
    const ctx = this.ctx;
    return ctx && ctx.state === "running" ? "sounding" : "blocked";
  }

  setMode(m) {
    this.mode = m;
    try {
      localStorage.setItem(STORE_KEY, m);
    } catch (_) {
      /* not remembered */
    }
    if (m === "on") this.audio();
    this.update();
  }

  /* Silences what sounds now; a later activation sounds again. */
  silence() {
    for (const k of this.sounding) this.silenced.add(k);
    this.update();
  }

  update() {
    const want = [];
    let prio = null;
    const keep = new Set();
    for (const a of this.alarms.list()) {
      if (a.priority !== "critical" && a.priority !== "high") continue;
      if (a.state !== "active-unack" || a.shelved || a.out_of_service || a.suppressed) continue;
      const k = a.id + "@" + a.active_since;
      keep.add(k);
      if (this.silenced.has(k)) continue;
      want.push(k);
      if (!prio || a.priority === "critical") prio = a.priority;
    }
    /* Forget silenced activations that ended (the set stays small). */
    for (const k of this.silenced) if (!keep.has(k)) this.silenced.delete(k);
    this.sounding = this.mode === "on" ? want : [];
    this.prio = prio;
    this.schedule();
    for (const fn of this.listeners) fn(this.state);
  }

  audio() {
    if (!this.ctx) {
      const AC = window.AudioContext || window.webkitAudioContext;
      if (!AC) return null;
      try {
        this.ctx = new AC();
      } catch (_) {
        return null;
      }
      this.ctx.onstatechange = () => {
        this.schedule();
        for (const fn of this.listeners) fn(this.state);
      };
    }
    if (this.ctx.state === "suspended") this.ctx.resume().catch(() => {});
    return this.ctx;
  }

  schedule() {
    if (!this.sounding.length) {
      clearTimeout(this.timer);
      this.timer = 0;
      return;
    }
    if (this.timer) return;
    const ctx = this.audio();
    if (!ctx || ctx.state !== "running") return;
    const every = REPEAT_MS[this.prio] || 4000;
    const wait = Math.max(0, this.last + every - performance.now());
    this.timer = setTimeout(() => {
      this.timer = 0;
      if (!this.sounding.length || ctx.state !== "running") return;
      this.tone(ctx, PATTERN[this.prio] || PATTERN.high);
      this.last = performance.now();
      this.schedule();
    }, wait);
  }

  tone(ctx, pattern) {
    const t0 = ctx.currentTime + 0.02;
    for (const [f, at, len] of pattern) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = "square";
      osc.frequency.value = f;
      /* a soft edge: a hard one clicks */
      gain.gain.setValueAtTime(0, t0 + at);
      gain.gain.linearRampToValueAtTime(0.15, t0 + at + 0.01);
      gain.gain.setValueAtTime(0.15, t0 + at + len - 0.02);
      gain.gain.linearRampToValueAtTime(0, t0 + at + len);
      osc.connect(gain).connect(ctx.destination);
      osc.start(t0 + at);
      osc.stop(t0 + at + len + 0.01);
    }
    this.beeps++;
  }
}
