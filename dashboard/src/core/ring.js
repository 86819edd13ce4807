/*
 * ring.js - a fixed-size ring of (time, value) points for sparklines: the
 * page never keeps more than `cap` points per tag, however long it runs.
 *
 * A point less than `bucket` ms after the one before the newest replaces
 * the newest (the latest value wins), so a signal that changes on every
 * 100 ms poll still covers the whole window with `cap` points.  NaN is a gap (the value was not good).
 */

export class Ring {
  constructor(cap, bucket) {
    this.cap = cap;
    this.bucket = bucket;
    this.t = new Float64Array(cap);
    this.v = new Float64Array(cap);
    this.n = 0;
    this.head = 0;      /* index of the oldest point */
  }

  clear() {
    this.n = 0;
    this.head = 0;
  }

  /* i-th oldest point */
  at(i) {
    return (this.head + i) % this.cap;
  }

  lastT() {
    return this.n ? this.t[this.at(this.n - 1)] : -Infinity;
  }

  lastV() {
    return this.n ? this.v[this.at(this.n - 1)] : NaN;
  }

  push(t, v) {
    if (this.n) {
      const li = this.at(this.n - 1);
      if (t < this.t[li]) return;               /* out of order: drop */
      /* The newest point moves until it is a bucket past the one before
       * it; a gap (NaN) and the points around one are never merged. */
      if (this.n > 1 && !Number.isNaN(v) && !Number.isNaN(this.v[li])) {
        const pi = this.at(this.n - 2);
        if (t - this.t[pi] < this.bucket && !Number.isNaN(this.v[pi])) {
          this.t[li] = t;
          this.v[li] = v;
          return;
        }
      }
    }
    if (this.n < this.cap) {
      const i = this.at(this.n);
      this.t[i] = t;
      this.v[i] = v;
      this.n++;
    } else {
      this.t[this.head] = t;
      this.v[this.head] = v;
      this.head = (this.head + 1) % this.cap;
    }
  }

  /* Puts history (older points) in front of what is already here. */
  seed(ts, vs) {
    const keepT = [], keepV = [];
    for (let i = 0; i < this.n; i++) {
      keepT.push(this.t[this.at(i)]);
      keepV.push(this.v[this.at(i)]);
    }
    const first = keepT.length ? keepT[0] : Infinity;
    this.clear();
    for (let i = 0; i < ts.length; i++) {
      if (ts[i] >= first) break;
      this.push(ts[i], vs[i] === null ? NaN : +vs[i]);
    }
    for (let i = 0; i < keepT.length; i++) this.push(keepT[i], keepV[i]);
  }
}
