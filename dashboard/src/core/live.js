/*
 * live.js - the page's WebSocket to the bridge: connect, notice when it is
 * gone, reconnect with backoff, resubscribe.
 *
 * The link counts as lost when the socket closes, when nothing (frame or
 * heartbeat; the bridge sends one every 2 s of silence) has arrived for
 * LOST_MS, or when a new connection has not brought its snapshot within
 * CONNECT_MS: a half-open TCP connection behind a dead switch never
 * closes by itself.  Then the store marks every value not live and the
 * socket is dropped and made again after a backoff of 0.5 s doubling to
 * 10 s, with ±25 % jitter so a room of wall screens does not reconnect
 * in step after a bridge restart.  The backoff is reset by a snapshot,
 * so a bridge that accepts and then closes is not hammered.  A close with
 * 1012 (the bridge reloaded its maps) reconnects within 0.3 s instead.
 *
 * Nothing is queued while the socket is down: the subscription is state
 * (sent again on every connect) and a report is simply skipped.
 *
 * A socket that closes before it ever opened may have been refused
 * (401: the session ended and anonymous reading is off), and a browser
 * does not say why: onRefused() lets main.js ask /api/me.  pause()
 * drops the socket and stops reconnecting (a page showing its login
 * form has no business holding the live feed); resume() starts again.
 *
 * start(early) adopts the socket early.js opened before the page was
 * built, with the messages it has already brought (usually the
 * snapshot); without one it connects.
 */

const LOST_MS = 5000;
/* A connection that has not brought its snapshot by then is given up
 * (a TCP handshake a frozen host's kernel completed, a proxy that hangs). */
const CONNECT_MS = 10000;
const BACKOFF_MIN = 500;
const BACKOFF_MAX = 10000;
/* After a close with 1012 (station reloaded): a little jitter only, so a
 * room of wall screens does not reconnect in the same millisecond. */
const RELOAD_MS = 100 + Math.random() * 200;

export class Live {
  constructor(store, { url, onState, onReconnect, onRefused } = {}) {
    this.store = store;
    this.url = url || wsUrl();
    this.onState = onState || (() => {});
    this.onReconnect = onReconnect || (() => {});
    this.onRefused = onRefused || (() => {});
    this.paused = false;
    this.ws = null;
    this.want = ["*"];
    this.backoff = BACKOFF_MIN;
    this.timer = 0;
    this.watch = 0;
    this.connects = 0;
    this.everOpen = false;
    this.state = "connecting";
    this.stats = { frames: 0, bytes: 0, reconnects: 0 };
  }

  start(early) {
    this.watch = setInterval(() => this.check(), 500);
    if (!early) {
      this.connect();
      return;
    }
    const ws = early.ws;
    this.attach(ws);
    if (early.opened) ws.onopen();
    for (const data of early.queue) {
      if (ws !== this.ws) break;
      ws.onmessage({ data });
    }
  }

  /* No socket, no reconnecting, every value not live, until resume(). */
  pause() {
    if (this.paused) return;
    this.paused = true;
    clearTimeout(this.timer);
    this.timer = 0;
    this.lost();
    this.setState("paused");
  }

  resume() {
    if (!this.paused) return;
    this.paused = false;
    this.backoff = BACKOFF_MIN;
    this.setState(this.everOpen ? "lost" : "connecting");
    this.connect();
  }

  /* What this page wants to receive: ["*"] or ["plc.*", "plc.tag"...]. */
  subscribe(list) {
    const same = list.length === this.want.length && list.every((x, i) => x === this.want[i]);
    if (same) return;
    this.want = list.slice();
    this.send({ type: "subscribe", tags: this.want });
  }

  /* Sends when connected; returns false (and drops it) otherwise. */
  send(obj) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    try {
      this.ws.send(JSON.stringify(obj));
      return true;
    } catch (_) {
      return false;
    }
  }

  connect() {
    this.timer = 0;
    if (this.paused) return;
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch (_) {
      this.lost();
      return;
    }
    this.attach(ws);
  }

  attach(ws) {
    this.ws = ws;
    this.connects++;
    this.connectAt = Date.now();
    this.synced = false;
    let opened = false;
    ws.onopen = () => {
      if (ws !== this.ws) return;
      opened = true;
      this.store.lastFrame = Date.now();
      /* The bridge starts every connection subscribed to everything. */
      if (!(this.want.length === 1 && this.want[0] === "*"))
        this.send({ type: "subscribe", tags: this.want });
    };
    ws.onmessage = (e) => {
      if (ws !== this.ws) return;
      let msg;
      try {
        msg = JSON.parse(e.data);
      } catch (_) {
        return;
      }
      this.stats.frames++;
      this.stats.bytes += e.data.length;
      if (msg.type === "snapshot") {
        /* A snapshot after subscribing to something narrower than what
         * the connection began with is not the one we wait for. */
        this.backoff = BACKOFF_MIN;
        this.synced = true;
        const wasOpen = this.everOpen;
        this.everOpen = true;
        this.setState("live");
        this.store.apply(msg);
        if (wasOpen && this.pendingReconnect) {
          this.pendingReconnect = false;
          this.onReconnect();
        }
        return;
      }
      this.store.apply(msg);
    };
    ws.onclose = (e) => {
      if (ws !== this.ws) return;
      /* 1012: the bridge reloaded its maps; at once, not after a backoff,
       * so that the page loads the new station (main.js checkForUpdates). */
      this.lost(e.code === 1012 ? RELOAD_MS : undefined);
      if (!opened) this.onRefused();
    };
    ws.onerror = () => {
      /* onclose follows */
    };
  }

  check() {
    if (!this.ws) return;
    const now = Date.now();
    if (this.synced ? now - this.store.lastFrame > LOST_MS : now - this.connectAt > CONNECT_MS) this.lost();
  }

  lost(delayMs) {
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try {
        ws.close();
      } catch (_) {
        /* already closed */
      }
    }
    if (this.everOpen) this.pendingReconnect = true;
    this.store.setLink(false);
    if (this.paused) return;
    this.setState(this.everOpen ? "lost" : "connecting");
    if (this.timer) return;
    let delay = delayMs;
    if (delay === undefined) {
      delay = this.backoff * (0.75 + Math.random() * 0.5);
      this.backoff = Math.min(BACKOFF_MAX, this.backoff * 2);
    }
    this.stats.reconnects++;
    this.timer = setTimeout(() => this.connect(), delay);
  }

  setState(s) {
    if (s === this.state) return;
    this.state = s;
    this.onState(s);
  }
}

export function wsUrl() {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  return `${proto}//${location.host}/ws`;
}
