/*
 * main.js - the dashboard's entry: loads the station, opens the live
 * WebSocket, draws the shell (header, lost-connection banner) and shows
 * one view per hash route.
 *
 *   #/overview  #/equipment/<plc>  #/trends?tags=..&from=..&to=..  #/displays
 *
 * URL parameters (before the #): kiosk=1 (wall screen: full screen, no
 * controls), display=NAME (report to the bridge as that wall screen),
 * rotate=SECONDS and pages=overview,equipment:levels (rotate through
 * pages), lang=zh|en.
 *
 * Views are made once and kept (one per route key, bounded by the
 * station's PLC count); switching hides one and shows another, so a wall
 * screen rotating for weeks reuses the same DOM.  Frames from the store
 * are batched into one animation frame; a clock ticks once a second for
 * ages.  Both run through requestAnimationFrame, so a screen whose page
 * is not being painted stops reporting "drawn", which is the point.
 */
/* What src/early.js (its own script, run before this bundle) started. */
import { early, takeEarlySocket } from "./core/early.js";
import "uplot/dist/uPlot.min.css";
import "./styles/app.css";
import { h, setText, toggle } from "./core/dom.js";
import { initLang, getLang, setLang, t, pick } from "./core/i18n.js";
import { setZone, fmtClock, fmtDate, fmtAge } from "./core/fmt.js";
import { makeStation } from "./core/station.js";
import { Store } from "./core/store.js";
import { Live } from "./core/live.js";
import { parseHash, pageName, replaceHash } from "./core/router.js";
import { OverviewView } from "./views/overview.js";
import { EquipmentView } from "./views/equipment.js";
import { TrendsView } from "./views/trends.js";
import { DisplaysView } from "./views/displays.js";

const REPORT_MS = 5000;
const FIRST_WAIT_MS = 500;
const PAGES = ["overview", "equipment", "trends", "displays"];

const params = new URLSearchParams(location.search);
const kiosk = params.get("kiosk") === "1";
const display = /^[A-Za-z0-9._-]{1,64}$/.test(params.get("display") || "") ? params.get("display") : null;
const rotateS = Math.max(0, Math.min(3600, parseFloat(params.get("rotate")) || 0));
const t0 = performance.now();

const lb = (window.__lb = { metrics: {}, kiosk, display });

initLang(params);
document.documentElement.classList.toggle("kiosk", kiosk);

boot();

async function boot() {
  const root = h("div", { class: "app" });
  document.body.append(root);
  const { json, text } = await loadStation(root);
  const station = makeStation(json);
  setZone(station.timezone);
  const store = new Store(station);
  const app = new App(root, station, store, text);
  lb.station = station;
  lb.store = store;
  lb.app = app;
  app.start();
}

/* /api/station, retried until the bridge answers: a wall screen may be
 * switched on before the bridge. */
async function loadStation(root) {
  let wait = 1000;
  const note = h("div", { class: "boot-note" });
  /* The answer to the request early.js sent, if it came. */
  const first = early.station && (await early.station);
  if (first) {
    try {
      return { json: JSON.parse(first), text: first };
    } catch (_) {
      /* cut short: ask again below */
    }
  }
  for (;;) {
    try {
      const res = await fetch("/api/station", { cache: "no-store" });
      if (res.ok) {
        const text = await res.text();
        note.remove();
        return { json: JSON.parse(text), text };
      }
    } catch (_) {
      /* not up yet */
    }
    if (!note.isConnected) root.append(note);
    setText(note, t("link.station_failed", { s: Math.round(wait / 1000) }));
    await new Promise((r) => setTimeout(r, wait));
    wait = Math.min(10000, wait * 2);
  }
}

/* Resolves at the store's next snapshot, or after ms. */
function firstSnapshot(store, ms) {
  return new Promise((resolve) => {
    let off = null;
    const done = () => {
      clearTimeout(timer);
      if (off) off();
      resolve();
    };
    const timer = setTimeout(done, ms);
    off = store.listen((changed, kind) => {
      if (kind === "snapshot") done();
    });
  });
}

class App {
  constructor(root, station, store, stationText) {
    this.root = root;
    this.station = station;
    this.store = store;
    this.stationText = stationText;
    this.views = new Map();
    this.current = null;
    this.currentKey = "";
    this.pending = new Set();
    this.pendingAll = false;
    this.pendingKind = "delta";
    this.raf = 0;
    this.lastDrawn = 0;
    this.ctx = {
      station, store, kiosk,
      resubscribe: () => this.resubscribe(),
    };
    this.live = new Live(store, {
      onState: () => this.drawLink(),
      onReconnect: () => this.checkForUpdates(),
    });
    this.ctx.live = this.live;
    lb.live = this.live;
    this.buildShell();
  }

  async start() {
    this.store.listen((changed, kind) => this.onFrame(changed, kind));
    this.live.start(takeEarlySocket());
    /* The views are made once the snapshot is here (early.js asked for it
     * with the station: it is usually a few ms away), so the page is laid
     * out and painted once, with its values, instead of empty first and
     * again a frame later; without it they are made after FIRST_WAIT_MS,
     * not live. */
    if (!this.store.linkUp) await firstSnapshot(this.store, FIRST_WAIT_MS);
    addEventListener("hashchange", () => this.route());
    this.route();
    this.tick();
    setInterval(() => requestAnimationFrame(() => this.tick()), 1000);
    if (display) setInterval(() => this.report(), REPORT_MS);
    /* Every fetch leaves a resource-timing entry; the browser caps the
     * buffer, but a screen that runs for weeks need not keep it full. */
    if (kiosk && performance.clearResourceTimings) setInterval(() => performance.clearResourceTimings(), 600000);
    if (kiosk) this.startKiosk();
  }

  /* ---- shell ---------------------------------------------------------- */

  buildShell() {
    this.nav = {};
    const navEl = h("nav", { class: "nav" }, PAGES.map((p) => {
      const a = h("a", { href: "#/" + p, class: "nav-" + p, text: t("nav." + p) });
      this.nav[p] = a;
      return a;
    }));
    this.linkEl = h("span", { class: "link", role: "status" });
    this.clockTime = h("span", { class: "clock-time" });
    this.clockDate = h("span", { class: "clock-date" });
    this.langBtn = h("button", { type: "button", class: "btn lang", title: t("lang.switch.title"), text: t("lang.switch") });
    this.langBtn.addEventListener("click", () => this.switchLang());
    this.stName = h("span", { class: "st-name", text: pick(this.station.name) });
    this.header = h("header", { class: "top" }, [
      this.stName, navEl, h("span", { class: "spacer" }), this.linkEl,
      h("span", { class: "clock" }, [this.clockTime, this.clockDate]), this.langBtn,
    ]);
    this.bannerText = h("span");
    this.banner = h("div", { class: "banner hidden", role: "alert" }, [this.bannerText]);
    this.main = h("main", { class: "views" });
    this.root.replaceChildren(this.header, this.banner, this.main);
    document.title = pick(this.station.name) + " · lockbridge";
  }

  switchLang() {
    setLang(getLang() === "zh" ? "en" : "zh");
    /* Every label is made in the language of the moment: make them
     * again.  Views are dropped with their listeners and timers. */
    for (const v of this.views.values()) {
      if (v.hide) v.hide();
      if (v.destroy) v.destroy();
      v.el.remove();
    }
    this.views.clear();
    this.current = null;
    this.currentKey = "";
    setZone(this.station.timezone);
    this.buildShell();
    this.route();
    this.tick();
  }

  drawLink() {
    const s = this.store;
    const state = this.live.state;
    setText(this.linkEl, t(state === "live" ? "link.live" : state === "lost" ? "link.lost" : "link.connecting"));
    this.linkEl.dataset.state = state;
    const down = !s.linkUp;
    toggle(this.banner, "hidden", !down);
    toggle(document.documentElement, "link-lost", down);
    if (down) {
      setText(this.bannerText, s.everLive ? t("link.banner", { age: fmtAge(Date.now() - s.linkSince) }) : t("link.banner.start"));
    }
  }

  /* ---- routes --------------------------------------------------------- */

  route() {
    const r = parseHash(location.hash);
    let page = r.page, arg = r.arg;
    if (!PAGES.includes(page)) {
      location.replace("#/overview");
      return;
    }
    if (page === "equipment" && !arg) {
      arg = this.station.plcs.length ? this.station.plcs[0].id : null;
      if (arg) replaceHash("#/equipment/" + encodeURIComponent(arg));
    }
    const key = page === "equipment" ? "equipment:" + arg : page;
    let view = this.views.get(key);
    if (!view) {
      if (page === "overview") view = new OverviewView(this.ctx);
      else if (page === "equipment") view = new EquipmentView(this.ctx, arg);
      else if (page === "trends") view = new TrendsView(this.ctx);
      else view = new DisplaysView(this.ctx);
      /* An unknown PLC's page is not kept: the cache stays bounded. */
      if (page !== "equipment" || this.station.plcById.has(arg)) this.views.set(key, view);
      view.el.classList.add("hidden");
      this.main.append(view.el);
    }
    if (this.current !== view) {
      if (this.current) {
        if (this.current.hide) this.current.hide();
        this.current.el.classList.add("hidden");
        if (!this.views.has(this.currentKey)) this.current.el.remove();
      }
      this.current = view;
      this.currentKey = key;
      view.el.classList.remove("hidden");
      this.resubscribe();
      if (view.show) view.show(r.query);
      view.frame(null, "show");
    } else if (view.show && page === "trends") {
      view.show(r.query);
    }
    this.page = pageName(page, page === "equipment" ? arg : null);
    for (const p of PAGES) toggle(this.nav[p], "on", p === page);
    this.nav.equipment.href = "#/equipment/" + encodeURIComponent(page === "equipment" ? arg : (this.station.plcs[0] || {}).id || "");
    this.root.dataset.page = this.page;
  }

  resubscribe() {
    if (this.current) this.live.subscribe(this.current.subscription());
  }

  /* ---- drawing -------------------------------------------------------- */

  onFrame(changed, kind) {
    if (changed === null) {
      this.pendingAll = true;
      this.pendingKind = kind;
    } else if (!this.pendingAll) {
      for (const x of changed) this.pending.add(x);
    }
    if (kind === "link-lost" || kind === "link-up" || kind === "snapshot") this.drawLink();
    if (!this.raf) this.raf = requestAnimationFrame(() => this.flush());
  }

  flush() {
    this.raf = 0;
    const v = this.current;
    if (v) {
      if (this.pendingAll) v.frame(null, this.pendingKind);
      else if (this.pending.size) v.frame(this.pending, "delta");
    }
    this.pending.clear();
    this.pendingAll = false;
    this.drawn();
  }

  tick() {
    const now = this.store.now();
    setText(this.clockTime, fmtClock(now));
    setText(this.clockDate, fmtDate(now));
    this.drawLink();
    if (this.current && this.current.tick) this.current.tick();
    this.drawn();
  }

  drawn() {
    this.lastDrawn = Date.now();
    if (!lb.metrics.firstLive && this.store.linkUp && this.current) {
      lb.metrics.firstLive = performance.now() - t0;
      lb.metrics.firstLiveSinceNav = performance.now();
    }
  }

  /* ---- wall screens --------------------------------------------------- */

  /* What this screen shows, reported to the bridge every 5 s. */
  report() {
    const v = this.current;
    if (!v) return;
    const tags = v.screenTags ? v.screenTags() : v.tags || [];
    let newest = 0, stale = 0;
    const x = {};
    for (const tag of tags) {
      const r = this.store.recs.get(tag);
      if (!r) continue;
      if (r.sub && r.ts > newest) newest = r.ts;
      if (!this.store.view(tag, x).live) stale++;
    }
    const msg = {
      type: "report", display, page: this.page,
      drawn: new Date(this.lastDrawn + this.store.offset).toISOString(),
      stale,
    };
    if (newest) msg.data_time = new Date(newest).toISOString();
    this.live.send(msg);
  }

  startKiosk() {
    /* Full screen needs a gesture; a kiosk browser is usually full
     * screen already. */
    const fs = () => {
      if (!document.fullscreenElement && document.documentElement.requestFullscreen)
        document.documentElement.requestFullscreen().catch(() => {});
    };
    addEventListener("pointerdown", fs, { once: true });
    addEventListener("keydown", fs, { once: true });
    const pages = (params.get("pages") || "").split(",").map((x) => x.trim()).filter(Boolean)
      .filter((p) => {
        const [pg, arg] = p.split(":");
        return PAGES.includes(pg) && (pg !== "equipment" || !arg || this.station.plcById.has(arg));
      });
    const hashOf = (p) => {
      const [pg, arg] = p.split(":");
      return "#/" + pg + (arg ? "/" + encodeURIComponent(arg) : "");
    };
    if (pages.length && !location.hash) location.replace(hashOf(pages[0]));
    if (rotateS > 0 && pages.length > 1) {
      let i = 0;
      setInterval(() => {
        i = (i + 1) % pages.length;
        location.hash = hashOf(pages[i]);
      }, rotateS * 1000);
    }
  }

  /* After a reconnect: a new build of the dashboard or a changed station
   * file is picked up by reloading (a wall screen nobody touches must
   * not run last month's page against this month's bridge). */
  async checkForUpdates() {
    try {
      const [page, st] = await Promise.all([
        fetch("./", { cache: "no-store" }).then((r) => (r.ok ? r.text() : null)),
        fetch("/api/station", { cache: "no-store" }).then((r) => (r.ok ? r.text() : null)),
      ]);
      const mine = [...document.querySelectorAll("script[src]")].map((s) => s.getAttribute("src"));
      const servedScript = page && /<script[^>]+src="([^"]+)"/.exec(page);
      const newBuild = servedScript && mine.length && !mine.includes(servedScript[1]);
      const newStation = st && st !== this.stationText;
      if (newBuild || newStation) location.reload();
    } catch (_) {
      /* next reconnect */
    }
  }
}
