/*
 * router.js - hash routes: #/overview, #/equipment/upper_gate,
 * #/trends?tags=a,b&from=-1h&to=now, #/displays.  The server only serves
 * real files, so the route lives after the "#".
 */

export function parseHash(hash) {
  let h = (hash || "").replace(/^#\/?/, "");
  let query = "";
  const q = h.indexOf("?");
  if (q >= 0) {
    query = h.slice(q + 1);
    h = h.slice(0, q);
  }
  const parts = h.split("/").filter(Boolean).map(decodeURIComponent);
  return { page: parts[0] || "overview", arg: parts[1] || null, query: new URLSearchParams(query) };
}

export function makeHash(page, arg, query) {
  let s = "#/" + page;
  if (arg) s += "/" + encodeURIComponent(arg);
  const qs = query ? query.toString() : "";
  if (qs) s += "?" + qs.replace(/%2C/g, ",").replace(/%3A/g, ":");
  return s;
}

/* Changes the hash without a history entry and without a hashchange
 * (for a view recording its own state, e.g. the trend's range). */
export function replaceHash(hash) {
  if (location.hash !== hash) history.replaceState(null, "", hash);
}

/* "equipment:levels" (the rotation's and the report's page names). */
export function pageName(page, arg) {
  return arg ? page + ":" + arg : page;
}
