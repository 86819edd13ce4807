/*
 * early.js - a classic script of its own (early-HASH.js), the first thing
 * index.html runs, before the bundle has even arrived: it sends the two
 * requests the first drawing waits for, /api/station and the WebSocket,
 * so that both answers come in while the bundle is fetched, compiled and
 * evaluated and the page is built, instead of one after the other once
 * that is done; /api/me (who is asking) goes with them.  What it starts
 * is left in window.__lbEarly for core/early.js; the socket's messages
 * are kept until live.js adopts it.  If this script is missing or fails,
 * the page does what it would have done without it (fetch, connect).
 *
 * First of all it takes a kiosk token out of the address bar
 * (core/urltoken.js), as early as anything can.  With a token nothing is
 * sent: the page must exchange it for a session before it reads.
 */
import { kioskToken } from "./core/urltoken.js";
import { wsUrl } from "./core/live.js";

const early = { token: kioskToken, station: null, me: null, ws: null, queue: [], opened: false, closed: false };
window.__lbEarly = early;

/* An acknowledge link's page (#/ack/TOKEN) reads nothing of the station. */
if (!kioskToken && !/^#\/ack\//.test(location.hash)) start();

function start() {

  try {
    early.me = fetch("/api/me", { cache: "no-store", credentials: "same-origin" });
    early.me.catch(() => null);
    early.station = fetch("/api/station", { cache: "no-store" }).then((res) => (res.ok ? res.text() : null), () => null);
  } catch (_) {
    early.me = early.station = null;
  }
  try {
    const ws = new WebSocket(wsUrl());
    ws.onopen = () => (early.opened = true);
    ws.onmessage = (e) => early.queue.push(e.data);
    ws.onclose = ws.onerror = () => (early.closed = true);
    early.ws = ws;
  } catch (_) {
    early.ws = null;
  }
}
