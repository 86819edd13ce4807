/*
 * dom.js - building elements without a framework: h() for HTML, s() for
 * SVG.  Attributes go through setAttribute (never innerHTML), so text
 * from the station file cannot become markup, and no inline style
 * attribute is ever written (the page's CSP forbids them; styles are
 * classes, or el.style.prop from script, which CSP allows).
 */

const SVGNS = "http://www.w3.org/2000/svg";

function fill(el, attrs, kids) {
  if (attrs) {
    for (const k in attrs) {
      const v = attrs[k];
      if (v === null || v === undefined || v === false) continue;
      if (k === "text") el.textContent = v;
      else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? "" : String(v));
    }
  }
  if (kids) for (const c of kids) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

/* h("div", {class: "x", text: "hi"}, [children]) */
export function h(tag, attrs, kids) {
  return fill(document.createElement(tag), attrs, kids);
}

export function s(tag, attrs, kids) {
  return fill(document.createElementNS(SVGNS, tag), attrs, kids);
}

/* Sets text only when it changed: most updates change nothing. */
export function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

/* Sets an attribute only when it changed. */
export function setAttr(el, k, v) {
  v = String(v);
  if (el.getAttribute(k) !== v) el.setAttribute(k, v);
}

export function toggle(el, cls, on) {
  if (el.classList.contains(cls) !== !!on) el.classList.toggle(cls, !!on);
}

/* Replaces the element's quality class (q-good, q-stale, ...). */
export function setQuality(el, q) {
  const want = "q-" + q;
  if (el.dataset.q === q) return;
  if (el.dataset.q) el.classList.remove("q-" + el.dataset.q);
  el.classList.add(want);
  el.dataset.q = q;
}
