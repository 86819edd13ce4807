/*
 * early.js - what src/early.js (run by index.html before the bundle)
 * started: the /api/station request and the WebSocket.  Either may be
 * missing (the script did not load, or failed); the callers then do
 * what they would have done without it.
 */
const EMPTY = { token: null, station: null, me: null, ws: null, queue: [], opened: false, closed: false };

export const early = (typeof window !== "undefined" && window.__lbEarly) || EMPTY;

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
