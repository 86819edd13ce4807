/*
 * urltoken.js - takes a kiosk token out of the address bar.
 *
 * `lockbridge token add NAME` prints http://BRIDGE/?kiosk=1&display=NAME&token=SECRET
 * for a wall screen.  The secret must not stay where the browser's
 * history, a bookmark, a screenshot of the address bar or an error
 * report would keep it: this module is imported first by main.js, so
 * the URL is rewritten (history.replaceState, no reload, no new history
 * entry) before any other module runs, any request is made or anything is
 * logged.  The token is kept in this module's memory only, for main.js
 * to exchange for a session cookie (POST /api/login {"token"}) and, on a
 * wall screen that runs for weeks, to exchange again when that session
 * ends; a reload finds the cookie instead.
 */

function take() {
  const token = new URLSearchParams(location.search).get("token");
  if (token === null) return null;
  /* The other parameters are kept as they were written (URLSearchParams
   * would re-encode "pages=overview,equipment:levels"). */
  const rest = location.search.slice(1).split("&")
    .filter((kv) => kv && key(kv) !== "token");
  history.replaceState(history.state, "", location.pathname + (rest.length ? "?" + rest.join("&") : "") + location.hash);
  return token || null;
}

function key(kv) {
  const k = kv.split("=")[0].replace(/\+/g, " ");
  try {
    return decodeURIComponent(k);
  } catch (_) {
    return k;
  }
}

/* src/early.js (run before the bundle) took it already, if it ran. */
const early = typeof window !== "undefined" ? window.__lbEarly : null;
export const kioskToken = early ? early.token : take();
if (early) early.token = null;
