/*
 * alarms.js - the alarms as the bridge's journal has committed them, on
 * this page: what the snapshot listed, changed by every {"type":"alarm"}
 * frame (dashboard/README.md "Alarms").
 *
 * An alarm is kept while the bridge lists it (/api/alarms' rule: not
 * normal, or shelved, or out of service) and dropped when a frame says
 * it is normal and neither.  A snapshot replaces the whole list: after a
 * reconnect nothing is left over from before.
 *
 * "Shown" is what the banner counts and the overview marks: not normal,
 * not shelved, not out of service, not suppressed (by design or mode: a
 * suppressed alarm is recorded, never shown as active nor sounded).
 *
 * Listeners get (kind, changed): kind "snapshot" (everything), "alarm"
 * (changed: the alarm objects of the frame, as they are now) or "link"
 * (the page lost or regained the bridge: alarm states are then not
 * live either).
 */

export const PRIORITIES = ["critical", "high", "medium", "low"];
const RANK = { critical: 0, high: 1, medium: 2, low: 3 };
const STATE_RANK = { "active-unack": 0, "cleared-unack": 1, "active-ack": 2, normal: 3 };

export function prioRank(p) {
  return RANK[p] === undefined ? 4 : RANK[p];
}

/* ISA-18.2 priority number on every marker (colour is never the only
 * cue): 1 critical ... 4 low. */
export function prioNumber(p) {
  return prioRank(p) + 1;
}

export function isShown(a) {
  return a.state !== "normal" && !a.shelved && !a.out_of_service && !a.suppressed;
}

/* Whether the alarm's value says something (a limit's, a rate's, a
 * difference's); for a bool, a state code or an expression it does not. */
export function hasValue(a) {
  return a.value !== null && a.value !== undefined && ["above", "below", "rate", "deviation"].includes(a.kind);
}

export function isUnacked(a) {
  return a.state === "active-unack" || a.state === "cleared-unack";
}

/* The bridge's order (web/alarms.c): priority, then active-unack,
 * cleared-unack, active-ack, then the newest change. */
export function compareAlarms(a, b) {
  return prioRank(a.priority) - prioRank(b.priority) ||
    (STATE_RANK[a.state] ?? 3) - (STATE_RANK[b.state] ?? 3) ||
    (Date.parse(b.changed) || 0) - (Date.parse(a.changed) || 0) ||
    (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

export class Alarms {
  constructor() {
    this.byId = new Map();
    this.listeners = new Set();
    this.synced = false;     /* a snapshot has brought the list */
    this.live = false;       /* the page's link to the bridge is up */
    this.sorted = null;      /* cache of list(), dropped on change */
  }

  listen(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  emit(kind, changed) {
    this.sorted = null;
    for (const fn of this.listeners) {
      try {
        fn(kind, changed);
      } catch (e) {
        console.error(e);
      }
    }
  }

  /* The snapshot's list (absent from a bridge without alarms: empty). */
  snapshot(list) {
    this.byId.clear();
    for (const a of list || []) if (a && typeof a.id === "string") this.byId.set(a.id, a);
    this.synced = true;
    this.live = true;
    this.emit("snapshot", null);
  }

  /* An alarm frame's objects; also an action's answer ("alarms"), which
   * may arrive before or after the frame with the same records: the
   * newer `changed` wins. */
  update(list) {
    const changed = [];
    for (const a of list || []) {
      if (!a || typeof a.id !== "string") continue;
      const old = this.byId.get(a.id);
      if (old && (Date.parse(old.changed) || 0) > (Date.parse(a.changed) || 0)) continue;
      if (a.state === "normal" && !a.shelved && !a.out_of_service) this.byId.delete(a.id);
      else this.byId.set(a.id, a);
      changed.push(a);
    }
    if (changed.length) this.emit("alarm", changed);
  }

  setLive(up) {
    if (this.live === up) return;
    this.live = up;
    this.emit("link", null);
  }

  /* Every alarm listed, most urgent first (a cached array: do not keep
   * or change it). */
  list() {
    if (!this.sorted) this.sorted = [...this.byId.values()].sort(compareAlarms);
    return this.sorted;
  }

  shown() {
    return this.list().filter(isShown);
  }

  /* Shown alarms by priority: {critical: {n, unacked}, ...} */
  counts() {
    const c = {};
    for (const p of PRIORITIES) c[p] = { n: 0, unacked: 0 };
    for (const a of this.byId.values()) {
      if (!isShown(a) || !c[a.priority]) continue;
      c[a.priority].n++;
      if (isUnacked(a)) c[a.priority].unacked++;
    }
    return c;
  }

  /* The most urgent shown alarm per key (a tag, a PLC, an area): the
   * overview's and equipment pages' markers.  Map key -> alarm. */
  worstBy(keyOf) {
    const out = new Map();
    for (const a of this.list()) {
      if (!isShown(a)) continue;
      for (const k of keyOf(a)) if (k && !out.has(k)) out.set(k, a);
    }
    return out;
  }
}
