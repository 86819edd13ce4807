/*
 * common.mjs - page helpers the cases share.
 */

/* Waits until the page has drawn live data (the first snapshot). */
export async function waitLive(page, ms = 15000) {
  await page.waitForFunction(() => window.__lb && window.__lb.metrics && window.__lb.metrics.firstLive > 0 &&
    window.__lb.store && window.__lb.store.linkUp, null, { timeout: ms });
  /* one more animation frame: the snapshot is drawn */
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
}

/* Every drawn value on the page: [{tag, raw, dec, text, q}] from the
 * data-tag/data-raw attributes the views keep on their value nodes. */
export function drawnValues(page, scope) {
  return page.$$eval(`${scope} [data-tag][data-raw]`, (els) => els.map((e) => {
    const q = e.closest("[data-q]");
    return {
      tag: e.dataset.tag, raw: e.dataset.raw, dec: e.dataset.dec, text: e.textContent,
      q: e.dataset.q || (q ? q.dataset.q : null),
    };
  }));
}

/* The same number formatting rule as the page (no "-0.00"). */
export function fixed(v, dec) {
  if (Math.abs(v) < 0.5 * Math.pow(10, -dec)) v = 0;
  return v.toFixed(dec);
}

/* The label of a state value in a language, from /api/station. */
export function stateText(station, tag, v, lang) {
  const t = station.tags.find((x) => x.tag === tag);
  if (!t || !t.states.length) return null;
  const code = typeof v === "boolean" ? +v : v;
  const s = t.states.find((x) => x.value === code);
  return s ? s.label[lang] : String(code);
}

export function equal(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

/* What the WebSocket of a page sends, collected. */
export function watchSent(page) {
  const sent = [];
  page.on("websocket", (ws) => {
    ws.on("framesent", (f) => {
      try {
        sent.push(JSON.parse(f.payload));
      } catch (_) {
        /* not ours */
      }
    });
  });
  return sent;
}
