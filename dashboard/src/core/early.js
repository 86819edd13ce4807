/*
 * early.js - the first module main.js imports, so the first one evaluated:
 * it sends the two requests the first drawing waits for, /api/station and
 * the WebSocket, before the rest of the bundle is evaluated (uPlot, the
 * dictionaries, the views) and the station is parsed and the page built.
 * Both answers then arrive while the page is busy with that, instead of
 * one after the other once it is done.
 *
 * The socket's messages are kept until live.js adopts it (Live.start);
 * if it fails first, or the station's request fails, main.js and live.js
 * simply do what they would have done without it (retry, reconnect).
 */
import { wsUrl } from "./live.js";

export const early = { station: null, ws: null, queue: [], opened: false, closed: false };

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

/* The early socket for Live, once: null if there is none or it failed. */
export function takeEarlySocket() {
  const ws = early.ws;
  early.ws = null;
  if (!ws) return null;
  ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
  if (early.closed || ws.readyState > WebSocket.OPEN) {
    try {
      ws.close();
    } catch (_) {
      /* gone */
    }
    return null;
  }
  return { ws, opened: early.opened, queue: early.queue.splice(0) };
}
