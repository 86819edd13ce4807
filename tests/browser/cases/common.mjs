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

/* Visible text and the labels of visible controls (runs in the page:
 * page.evaluate(visibleText), or page.evaluate(visibleText, "code") to
 * leave out what is inside elements matching a selector). */
export function visibleText(skip) {
  const out = [];
  const shown = (el) => {
    for (let e = el; e && e.nodeType === 1; e = e.parentElement) {
      const cs = getComputedStyle(e);
      if (cs.display === "none" || cs.visibility === "hidden") return false;
    }
    return true;
  };
  const w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (w.nextNode()) {
    const n = w.currentNode;
    const t = n.textContent.trim();
    const el = n.parentElement;
    if (!t || !el || el.closest("noscript, script, style" + (typeof skip === "string" && skip ? ", " + skip : ""))) continue;
    /* an SVG <title> is a tooltip: a label like any other */
    if (el.tagName.toLowerCase() === "title" ? shown(el.parentElement) : shown(el)) out.push(t);
  }
  for (const e of document.querySelectorAll("[placeholder], [title], [aria-label]")) {
    if (!shown(e)) continue;
    for (const a of ["placeholder", "title", "aria-label"]) if (e.getAttribute(a)) out.push(e.getAttribute(a));
  }
  return out;
}
