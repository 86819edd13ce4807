/*
 * series.test.mjs - dashboard/src/core/series.js (joinSeries), run by
 * `node --test tests/unit/js/` from ./run test.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { joinSeries } from "../../../dashboard/src/core/series.js";

/* n min/max pairs per series over [0, span), real times all different */
function downsampled(nb, span, seed, spikeAt) {
  const t = [], v = [];
  const w = span / nb;
  let x = seed;
  const rnd = () => ((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (let b = 0; b < nb; b++) {
    const a = b * w + rnd() * w * 0.5, c = b * w + w * 0.5 + rnd() * w * 0.5;
    t.push(Math.round(a), Math.round(c));
    v.push(b === spikeAt ? 1000 : rnd(), b % 97 === 5 ? null : rnd());
  }
  return [t, v];
}

const values = (col) => col.filter((y) => y !== undefined);

test("one series keeps its exact times", () => {
  const s = downsampled(800, 30 * 86400e3, 1, -1);
  assert.equal(joinSeries([s], 0, 30 * 86400e3, 1600), s);
});

test("small answers are joined exactly", () => {
  const a = [[1, 5, 9], [1, 2, 3]], b = [[2, 5], [7, 8]];
  const d = joinSeries([a, b], 0, 10, 100);
  assert.deepEqual(d[0], [1, 2, 5, 9]);
  assert.deepEqual(values(d[1]), [1, 2, 3]);
  assert.deepEqual(values(d[2]), [7, 8]);
});

test("ten downsampled series: rows bounded by the slots, no value lost or reordered, times within two slots", () => {
  const span = 30 * 86400e3, points = 1600, nb = points / 2;
  const tables = Array.from({ length: 10 }, (_, i) => downsampled(nb, span, i + 7, 100 + i));
  const d = joinSeries(tables, 0, span, points);
  const g = span / points;
  assert.ok(d[0].length <= points + 2, `${d[0].length} rows for ${points} slots`);
  for (let i = 1; i < d[0].length; i++) assert.ok(d[0][i] > d[0][i - 1], "x increases");
  tables.forEach(([t, v], j) => {
    const col = d[j + 1];
    assert.equal(col.length, d[0].length);
    /* every value, in order, gaps (null) kept as gaps */
    assert.deepEqual(values(col), v);
    let k = 0;
    for (let r = 0; r < col.length; r++) {
      if (col[r] === undefined) continue;
      assert.ok(Math.abs(d[0][r] - t[k]) <= 2 * g, `value ${k} of series ${j} drawn ${d[0][r] - t[k]} ms off`);
      k++;
    }
    assert.ok(col.includes(1000), "the spike is there");
  });
});

test("values crowded into one slot move to the next ones, none merged", () => {
  const t = [], v = [];
  for (let i = 0; i < 3000; i++) {
    t.push(i < 10 ? 500 + i : 1000 + i * 3);
    v.push(i);
  }
  const other = [[0, 9999], [1, 2]];
  const d = joinSeries([[t, v], other], 0, 10000, 1000);
  assert.deepEqual(values(d[1]), v);
  assert.deepEqual(values(d[2]), [1, 2]);
});
