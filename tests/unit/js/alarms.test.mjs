/*
 * alarms.test.mjs - dashboard/src/core/alarms.js (the page's alarm list),
 * run by `node --test tests/unit/js/` from ./run test.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Alarms, compareAlarms, isShown } from "../../../dashboard/src/core/alarms.js";

const T = (s) => `2026-12-02T00:00:${String(s).padStart(2, "0")}.000Z`;
const alarm = (id, priority, state, s, extra) => Object.assign({
  id, priority, state, changed: T(s), active_since: state === "normal" ? null : T(s),
  shelved: null, out_of_service: null, suppressed: null, plc: "p", tag: "p." + id,
}, extra || {});

test("the list is in the bridge's order: priority, unacknowledged first, newest", () => {
  const a = new Alarms();
  a.snapshot([
    alarm("low1", "low", "active-unack", 9),
    alarm("crit-ack", "critical", "active-ack", 8),
    alarm("crit-old", "critical", "active-unack", 1),
    alarm("crit-new", "critical", "active-unack", 5),
    alarm("crit-cleared", "critical", "cleared-unack", 7),
  ]);
  assert.deepEqual(a.list().map((x) => x.id), ["crit-new", "crit-old", "crit-cleared", "crit-ack", "low1"]);
  assert.equal([...a.list()].sort(compareAlarms)[0].id, "crit-new");
});

test("a frame updates, a normal alarm is dropped, a stale answer is ignored", () => {
  const a = new Alarms();
  const seen = [];
  a.listen((kind, changed) => seen.push([kind, changed && changed.map((x) => x.id)]));
  a.snapshot([alarm("x", "high", "active-unack", 1)]);
  a.update([alarm("x", "high", "active-ack", 3)]);
  assert.equal(a.byId.get("x").state, "active-ack");
  /* an action's answer older than the frame already applied */
  a.update([alarm("x", "high", "active-unack", 2)]);
  assert.equal(a.byId.get("x").state, "active-ack");
  a.update([alarm("x", "high", "normal", 4)]);
  assert.equal(a.byId.has("x"), false);
  assert.deepEqual(seen, [["snapshot", null], ["alarm", ["x"]], ["alarm", ["x"]]]);
});

test("shelved, out of service and suppressed alarms are kept but not shown nor counted", () => {
  const a = new Alarms();
  a.snapshot([
    alarm("s", "critical", "normal", 1, { shelved: { by: "o", reason: "r", until: T(50), oneshot: false } }),
    alarm("o", "high", "normal", 1, { out_of_service: { by: "e", since: T(1) } }),
    alarm("d", "high", "active-unack", 1, { suppressed: "design" }),
    alarm("v", "medium", "active-unack", 2),
  ]);
  assert.equal(a.list().length, 4);
  assert.deepEqual(a.shown().map((x) => x.id), ["v"]);
  const c = a.counts();
  assert.deepEqual([c.critical.n, c.high.n, c.medium.n, c.medium.unacked], [0, 0, 1, 1]);
  /* a shelved alarm that comes back normal and unshelved is dropped */
  a.update([alarm("s", "critical", "normal", 3)]);
  assert.equal(a.byId.has("s"), false);
  assert.equal(isShown(alarm("q", "low", "cleared-unack", 1)), true);
});

test("worstBy gives the most urgent shown alarm per key", () => {
  const a = new Alarms();
  a.snapshot([
    alarm("a", "medium", "active-unack", 1, { tag: "t1" }),
    alarm("b", "critical", "active-ack", 2, { tag: "t1" }),
    alarm("c", "low", "active-unack", 3, { tag: "t2" }),
    alarm("d", "critical", "active-unack", 4, { tag: "t2", suppressed: "mode" }),
  ]);
  const w = a.worstBy((x) => [x.tag]);
  assert.equal(w.get("t1").id, "b");
  assert.equal(w.get("t2").id, "c");
});
