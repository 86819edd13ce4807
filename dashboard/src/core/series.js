/*
 * series.js - several /api/history series on one x axis, for uPlot.
 *
 * uPlot wants one x array shared by every series.  The history's min and
 * max carry the real times they happened, so ten downsampled series
 * hardly ever share a timestamp: joined exactly, a 30-day trend of ten
 * tags 1,600 px wide is 16,000 rows with nine holes in each, and every
 * draw walks all of them.  Past twice the plot's point budget the times
 * are put on a grid of `points` slots over [from, to) instead (half a
 * pixel each): each value keeps its order, is never merged with another
 * (a slot already taken by the same series moves the value to the next
 * one, so a spike's min and max both stay), and is drawn within a pixel
 * or so of where it happened; zooming in asks for the finer data anyway.
 * Small answers keep their exact times.
 *
 * joinSeries(tables, from, to, points): tables is [[t...], [v...]] per
 * series (v null for a gap); returns uPlot data [x, y1, y2...], holes
 * undefined (joined over, not gaps), gaps null.
 */
import uPlot from "uplot";

export function joinSeries(tables, from, to, points) {
  if (tables.length === 1) return tables[0];
  let total = 0;
  for (const [t] of tables) total += t.length;
  const slots = Math.max(2, points | 0);
  if (total <= 2 * slots || !(to > from)) return uPlot.join(tables);
  const g = (to - from) / slots;
  /* slot of every value, per series, increasing */
  let lo = Infinity, hi = -Infinity;
  const idx = tables.map(([t]) => {
    const k = new Array(t.length);
    let prev = -Infinity;
    for (let i = 0; i < t.length; i++) {
      let s = Math.floor((t[i] - from) / g);
      if (s <= prev) s = prev + 1;
      k[i] = prev = s;
    }
    if (t.length) {
      lo = Math.min(lo, k[0]);
      hi = Math.max(hi, k[t.length - 1]);
    }
    return k;
  });
  if (lo > hi) return uPlot.join(tables);
  /* only the slots something is in become rows */
  const used = new Uint8Array(hi - lo + 1);
  for (const k of idx) for (const s of k) used[s - lo] = 1;
  const row = new Int32Array(hi - lo + 1);
  const x = [];
  for (let s = 0; s < used.length; s++) {
    if (!used[s]) continue;
    row[s] = x.length;
    x.push(from + (s + lo + 0.5) * g);
  }
  const out = [x];
  tables.forEach(([, v], j) => {
    const y = new Array(x.length);
    const k = idx[j];
    for (let i = 0; i < k.length; i++) y[row[k[i] - lo]] = v[i];
    out.push(y);
  });
  return out;
}
