/*
 * store.js - the current value of every tag on this page, as the last
 * WebSocket frames told it, and whether the page itself is live.  The
 * alarms the frames carry go to `alarms` (core/alarms.js).
 *
 * One record per tag of the station, made once: the store never grows.
 * A record keeps the last good value too, so a tag that went bad (a
 * comm-failure carries no value) can still be drawn as what it last was,
 * visibly not live.  What a view draws comes from view(tag), which folds
 * the page's own link state in: while the bridge is unreachable every
 * tag is "link-lost", whatever its last quality was.
 *
 * Times: `ts` is the bridge's time of the change; the bridge's clock is
 * estimated from each frame's `time`, so ages do not depend on the
 * browser's clock being right.
 */

import { Alarms } from "./alarms.js";

export class Store {
  constructor(station) {
    this.station = station;
    this.alarms = new Alarms();
    this.recs = new Map();
    for (const tag of station.tags.keys()) {
      this.recs.set(tag, {
        v: null, q: "init", exc: undefined, ts: 0,
        good: null, goodTs: 0, sub: true, seen: false,
      });
    }
    this.linkUp = false;
    this.linkSince = Date.now();     /* browser clock: when linkUp last changed */
    this.everLive = false;
    this.offset = 0;                 /* bridge clock minus browser clock, ms */
    this.lastFrame = 0;              /* browser clock of the newest frame */
    this.lastFrameTime = 0;          /* bridge clock of the newest frame */
    this.firstLiveAt = 0;            /* performance.now() of the first snapshot */
    this.listeners = new Set();
    this.changed = new Set();        /* reused for every frame */
  }

  now() {
    return Date.now() + this.offset;
  }

  /* fn(changed: Set of tags | null for "everything", kind) after each
   * frame; the Set is reused, copy what must be kept. */
  listen(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  emit(changed, kind) {
    for (const fn of this.listeners) {
      try {
        fn(changed, kind);
      } catch (e) {
        console.error(e);
      }
    }
  }

  /* A frame from the WebSocket, parsed. */
  apply(msg) {
    const t = Date.parse(msg.time);
    const wall = Date.now();
    if (isFinite(t)) {
      this.offset = t - wall;
      this.lastFrameTime = t;
    }
    this.lastFrame = wall;
    if (msg.type === "heartbeat") return;
    if (msg.type === "alarm") {
      this.alarms.update(msg.alarms);
      return;
    }
    if (msg.type !== "snapshot" && msg.type !== "delta") return;
    const changed = this.changed;
    changed.clear();
    const snapshot = msg.type === "snapshot";
    if (snapshot) {
      /* A snapshot holds exactly what this page is subscribed to. */
      for (const r of this.recs.values()) r.sub = false;
    }
    for (const x of msg.tags) {
      const r = this.recs.get(x.tag);
      if (!r) continue;              /* a tag the station did not list: ignore */
      r.sub = true;
      r.seen = true;
      r.v = x.value;
      r.q = x.quality;
      r.exc = x.exception;
      r.ts = x.ts ? Date.parse(x.ts) : 0;
      if (x.quality === "good" && x.value !== null) {
        r.good = x.value;
        r.goodTs = r.ts;
      }
      changed.add(x.tag);
    }
    if (snapshot) {
      this.alarms.snapshot(msg.alarms);
      const wasUp = this.linkUp;
      this.linkUp = true;
      if (!wasUp) this.linkSince = wall;
      if (!this.everLive) {
        this.everLive = true;
        this.firstLiveAt = performance.now();
      }
      this.emit(null, "snapshot");
    } else {
      this.emit(changed, "delta");
    }
  }

  /* The page lost (or regained) the bridge. */
  setLink(up) {
    if (this.linkUp === up) return;
    this.linkUp = up;
    this.linkSince = Date.now();
    if (!up) this.alarms.setLive(false);
    this.emit(null, up ? "link-up" : "link-lost");
  }

  /* What to draw for a tag: {v, q, exc, age, live, known}.  v is the
   * current value, or the last good one when the current carries none;
   * age is ms since the last change (live) or since it stopped being
   * live. */
  view(tag, out) {
    const r = this.recs.get(tag);
    out = out || {};
    if (!r) {
      out.v = null; out.q = "unknown"; out.exc = undefined; out.age = 0; out.live = false; out.ts = 0;
      return out;
    }
    out.v = r.v !== null && r.v !== undefined ? r.v : r.good;
    out.exc = r.exc;
    out.ts = r.ts;
    if (!this.linkUp) {
      out.q = "link-lost";
      out.live = false;
      out.age = Date.now() - this.linkSince;
    } else if (!r.sub) {
      out.q = "unsubscribed";
      out.live = false;
      out.age = 0;
    } else {
      out.q = r.q;
      out.live = r.q === "good";
      out.age = r.ts ? Math.max(0, this.now() - r.ts) : 0;
    }
    return out;
  }
}
