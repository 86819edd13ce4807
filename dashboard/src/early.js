/*
 * early.js - a classic script of its own (early-HASH.js), the first thing
 * index.html runs, before the bundle has even arrived: it sends the two
 * requests the first drawing waits for, /api/station and the WebSocket,
 * so that both answers come in while the bundle is fetched, compiled and
 * evaluated and the page is built, instead of one after the other once
 * that is done.  What it starts is left in window.__lbEarly for
 * core/early.js; the socket's messages are kept until live.js adopts it.
 * If this script is missing or fails, the page does what it would have
 * done without it (fetch, connect).
 */
import { wsUrl } from "./core/live.js";

const early = { station: null, ws: null, queue: [], opened: false, closed: false };
window.__lbEarly = early;

try {
  early.station = fetch("/api/station", { cache: "no-store" }).then((res) => (res.ok ? res.text() : null), () => null);
} catch (_) {
  early.station = null;
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
