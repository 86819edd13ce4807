/*
 * main.js - the dashboard's entry: loads the station, opens the live
 * WebSocket, draws the shell (header, lost-connection banner) and shows
 * one view per hash route.
 *
 *   #/overview  #/equipment/<plc>  #/trends?tags=..&from=..&to=..  #/displays
 *   #/alarms?tab=active|hidden|journal  #/kpi?from=-24h
 *   #/notifications?from=-24h (operator)
 *   #/login  #/admin (admin)  #/audit?from=-24h (engineer)
 *   #/ack/TOKEN (an acknowledge link's page, on its own: views/ack.js)
 *
 * URL parameters (before the #): kiosk=1 (wall screen: full screen, no
 * controls), display=NAME (report to the bridge as that wall screen),
 * rotate=SECONDS and pages=overview,equipment:levels (rotate through
 * pages), lang=zh|en, sound=1|0 (the alarm horn: a kiosk is silent
 * unless sound=1; a desk sounds unless sound=0), token=SECRET (a kiosk token: exchanged for a
 * session cookie and taken out of the address bar first thing, see
 * core/urltoken.js).
 *
 * Who may see what is the bridge's to say (GET /api/me, core/auth.js):
 * before the station is loaded the page logs a kiosk token in, and shows
 * the login page when reading needs a login (auth.anonymous: none).
 * When a session ends while the page is open, reads fall back to
 * anonymous where that is allowed (a notice says so), else the views are
 * replaced by the login page and the live feed is dropped: never a blank
 * screen, never last values shown as live.
 *
 * Views are made once and kept (one per route key, bounded by the
 * station's PLC count); switching hides one and shows another, so a wall
 * screen rotating for weeks reuses the same DOM.  Frames from the store
 * are batched into one animation frame; a clock ticks once a second for
 * ages.  Both run through requestAnimationFrame, so a screen whose page
 * is not being painted stops reporting "drawn", which is the point.
 */
/* First, before any other module runs: the kiosk token out of the URL. */
import { kioskToken } from "./core/urltoken.js";
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
import { Auth, roleAtLeast } from "./core/auth.js";
import { onUnauthorized } from "./core/api.js";
import { parseHash, pageName, replaceHash } from "./core/router.js";
import { OverviewView } from "./views/overview.js";
import { EquipmentView } from "./views/equipment.js";
import { TrendsView } from "./views/trends.js";
import { DisplaysView } from "./views/displays.js";
import { LoginView } from "./views/login.js";
import { UserMenu } from "./views/usermenu.js";
import { AdminView } from "./views/admin.js";
import { AuditView } from "./views/audit.js";
import { AlarmsView } from "./views/alarms.js";
import { KpiView } from "./views/kpi.js";
import { NotificationsView } from "./views/notifications.js";
import { AlarmBanner } from "./views/alarmbanner.js";
import { Horn } from "./core/horn.js";
import { ackToken, showAck } from "./views/ack.js";

const REPORT_MS = 5000;
const FIRST_WAIT_MS = 500;
/* The pages a wall screen may rotate through and anyone who reads sees. */
const PAGES = ["overview", "alarms", "equipment", "trends", "kpi", "displays"];
/* Pages for a role: in the navigation only for it. */
const ROLE_PAGES = { notifications: "operator", admin: "admin", audit: "engineer" };
const NAV = [...PAGES, ...Object.keys(ROLE_PAGES)];

const params = new URLSearchParams(location.search);
const kiosk = params.get("kiosk") === "1";
const display = /^[A-Za-z0-9._-]{1,64}$/.test(params.get("display") || "") ? params.get("display") : null;
const rotateS = Math.max(0, Math.min(3600, parseFloat(params.get("rotate")) || 0));
const t0 = performance.now();

const auth = new Auth();
const lb = (window.__lb = { metrics: {}, kiosk, display, auth });

initLang(params);
document.documentElement.classList.toggle("kiosk", kiosk);

boot();

async function boot() {
  const root = h("div", { class: "app" });
  document.body.append(root);
  /* An acknowledge link (#/ack/TOKEN): its own page, no login, no
   * station, no live feed (views/ack.js). */
  const ack = ackToken(location.hash);
  if (ack) {
    lb.ack = showAck(root, ack);
    return;
  }
  let tokenRefused = false, tokenTried = false;
  let loaded = null;
  while (!loaded) {
    if (kioskToken && !tokenTried) {
      tokenTried = true;
      tokenRefused = !(await exchangeToken(root, kioskToken));
    }
    await askWho(root);
    if (!auth.canRead()) {
      await loginPage(root, tokenRefused ? "token" : kiosk ? "kiosk" : "required");
      tokenRefused = false;
    }
    /* null: the session ended in between (401); round again */
    loaded = await loadStation(root);
  }
  const { json, text } = loaded;
  const station = makeStation(json);
  setZone(station.timezone);
  const store = new Store(station);
  const app = new App(root, station, store, text);
  lb.station = station;
  lb.store = store;
  lb.app = app;
  app.start();
  if (tokenRefused) app.notice("token.anon", "lockbridge token add NAME -c FILE");
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/* A note on an otherwise empty page while the bridge is waited for. */
function bootNote(root, text) {
  let note = root.querySelector(".boot-note");
  if (!text) {
    if (note) note.remove();
    return;
  }
  if (!note) root.append((note = h("div", { class: "boot-note", role: "status" })));
  setText(note, text);
}

/* POST /api/login {token}: true once exchanged, false when the bridge
 * refuses the token (401, 400: unknown, deleted or mangled).  A bridge
 * that cannot be reached, is busy or throttles this address is tried
 * again: a wall screen switched on before the bridge must not need a
 * person to come and press a key. */
async function exchangeToken(root, token) {
  let wait = 1000;
  for (;;) {
    const a = await auth.loginToken(token);
    if (a.ok) {
      bootNote(root, null);
      return true;
    }
    if (a.status === 401 || a.status === 400) {
      bootNote(root, null);
      return false;
    }
    let s = Math.round(wait / 1000);
    if (a.status === 429) {
      s = Math.max(1, a.retryAfter || 30);
      bootNote(root, t("token.throttled", { s }));
    } else {
      bootNote(root, a.status === 0 ? t("token.network", { s }) : t("token.failed", { e: a.error || "HTTP " + a.status, s }));
      wait = Math.min(10000, wait * 2);
    }
    await sleep(s * 1000);
  }
}

/* GET /api/me until the bridge answers. */
async function askWho(root) {
  let wait = 1000;
  for (;;) {
    const r = await auth.check();
    if (r.ok) {
      bootNote(root, null);
      return;
    }
    bootNote(root, t("link.me_failed", { s: Math.round(wait / 1000) }));
    await sleep(wait);
    wait = Math.min(10000, wait * 2);
  }
}

/* The login page on its own (no station yet): resolves once logged in. */
function loginPage(root, reason) {
  return new Promise((done) => {
    let view = null;
    const make = () => {
      if (view) view.destroy();
      view = new LoginView({
        auth, kiosk, reason,
        onDone: () => {
          view.destroy();
          view.el.remove();
          done();
        },
        onLang: () => {
          setLang(getLang() === "zh" ? "en" : "zh");
          make();
        },
      });
      root.replaceChildren(view.el);
      root.dataset.page = "login";
      view.show();
    };
    make();
  });
}

/* /api/station, retried until the bridge answers: a wall screen may be
 * switched on before the bridge.  null when it answers 401 (a login is
 * needed after all). */
async function loadStation(root) {
  let wait = 1000;
  /* The answer to the request early.js sent, if it came (once: a later
   * round, after a login, asks again). */
  const first = early.station && (await early.station);
  early.station = null;
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
        bootNote(root, null);
        return { json: JSON.parse(text), text };
      }
      if (res.status === 401) return null;
    } catch (_) {
      /* not up yet */
    }
    bootNote(root, t("link.station_failed", { s: Math.round(wait / 1000) }));
    await sleep(wait);
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
    this.locked = false;
    this.loginView = null;
    this.noticeKey = null;
    this.loggingOut = false;
    this.ctx = {
      station, store, kiosk, auth,
      resubscribe: () => this.resubscribe(),
    };
    this.live = new Live(store, {
      onState: () => this.drawLink(),
      /* the bridge may have restarted without this page's session */
      onReconnect: () => {
        this.checkForUpdates();
        auth.recheck();
      },
      /* a refused socket may be an ended session */
      onRefused: () => auth.recheck(),
    });
    this.ctx.live = this.live;
    lb.live = this.live;
    this.horn = new Horn(store.alarms, { kiosk, param: params.get("sound") });
    lb.horn = this.horn;
    /* Sessions end on the bridge's clock. */
    auth.now = () => store.now();
    auth.schedule();
    auth.listen((before, after) => this.onAuth(before, after));
    onUnauthorized(() => auth.recheck());
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
    const navEl = (this.navEl = h("nav", { class: "nav" }, NAV.map((p) => {
      const a = h("a", { href: "#/" + p, class: "nav-" + p, text: t("nav." + p) });
      this.nav[p] = a;
      return a;
    })));
    this.linkEl = h("span", { class: "link", role: "status" });
    this.clockTime = h("span", { class: "clock-time" });
    this.clockDate = h("span", { class: "clock-date" });
    this.langBtn = h("button", { type: "button", class: "btn lang", title: t("lang.switch.title"), text: t("lang.switch") });
    this.langBtn.addEventListener("click", () => this.switchLang());
    this.stName = h("span", { class: "st-name", text: pick(this.station.name) });
    if (this.userMenu) this.userMenu.destroy();
    this.userMenu = new UserMenu(auth, { logout: () => this.logout() });
    this.header = h("header", { class: "top" }, [
      this.stName, navEl, h("span", { class: "spacer" }), this.linkEl,
      h("span", { class: "clock" }, [this.clockTime, this.clockDate]), this.langBtn, this.userMenu.el,
    ]);
    this.bannerText = h("span");
    this.banner = h("div", { class: "banner hidden", role: "alert" }, [this.bannerText]);
    this.noticeText = h("span", { class: "notice-text" });
    const close = h("button", { type: "button", class: "btn notice-x", "aria-label": t("notice.close"), title: t("notice.close"), text: "×" });
    close.addEventListener("click", () => this.notice(null));
    this.noticeEl = h("div", { class: "notice hidden", role: "status" }, [this.noticeText, close]);
    this.main = h("main", { class: "views" });
    if (this.alarmBanner) this.alarmBanner.destroy();
    this.alarmBanner = new AlarmBanner(this.store, this.horn, { kiosk });
    this.root.replaceChildren(this.header, this.banner, this.alarmBanner.el, this.noticeEl, this.main);
    document.title = pick(this.station.name) + " · lockbridge";
    this.drawNav();
    if (this.noticeKey) this.notice(this.noticeKey, this.noticeCmd);
  }

  /* The role pages are in the navigation only for their roles (not
   * merely hidden: a link one may not follow is not on the page). */
  drawNav() {
    const role = auth.me ? auth.me.role : null;
    for (const [p, need] of Object.entries(ROLE_PAGES)) {
      if (roleAtLeast(role, need)) this.navEl.append(this.nav[p]);
      else this.nav[p].remove();
    }
  }

  /* A calm line under the header (not the magenta of "not live"): key
   * of its text and a command to show with it, or null to clear. */
  notice(key, cmd) {
    this.noticeKey = key;
    this.noticeCmd = cmd || null;
    toggle(this.noticeEl, "hidden", !key);
    this.noticeEl.dataset.notice = key || "";
    this.noticeText.replaceChildren();
    if (!key) return;
    this.noticeText.append(t(key));
    if (cmd) this.noticeText.append(" ", h("code", { class: "cmd", text: cmd }));
  }

  /* ---- sessions ------------------------------------------------------- */

  async logout() {
    this.loggingOut = true;
    try {
      return await auth.logout();
    } finally {
      this.loggingOut = false;
    }
  }

  /* The user or role changed: a login, a logout, or a session that
   * ended while the page was open. */
  async onAuth(before, after) {
    this.userMenu.draw();
    this.drawNav();
    if (after) {
      if (this.noticeKey === "notice.expired") this.notice(null);
      if (this.locked) this.unlock();
      else if (this.current && this.current.authChanged) this.current.authChanged();
      return;
    }
    /* A wall screen whose token session ended logs in again with the
     * token it was opened with, if the bridge still knows it. */
    if (before && before.token && kioskToken && !this.loggingOut) {
      const a = await auth.loginToken(kioskToken);
      if (a.ok) return;
    }
    const tokenGone = !!(before && before.token && !this.loggingOut);
    if (!auth.canRead()) {
      this.lock(tokenGone ? (kioskToken ? "token" : "token-ended") : before && !this.loggingOut ? "expired" : "required");
      return;
    }
    if (tokenGone) this.notice("token.anon", "lockbridge token add NAME -c FILE");
    else if (before && !this.loggingOut) this.notice("notice.expired");
    if (this.current && this.current.authChanged) this.current.authChanged();
  }

  /* Reading needs a login: the login page instead of the views, and no
   * live feed (nothing on screen can be taken for live). */
  lock(reason) {
    if (this.locked) return;
    this.locked = true;
    this.live.pause();
    if (this.current) {
      if (this.current.hide) this.current.hide();
      this.current.el.classList.add("hidden");
      this.current = null;
      this.currentKey = "";
    }
    this.lockReason = reason;
    this.loginView = new LoginView({ auth, kiosk, reason });
    this.main.append(this.loginView.el);
    this.loginView.show();
    this.root.dataset.page = "login";
    toggle(this.root, "locked", true);
    this.drawLink();
  }

  unlock() {
    this.locked = false;
    if (this.loginView) {
      this.loginView.destroy();
      this.loginView.el.remove();
      this.loginView = null;
    }
    toggle(this.root, "locked", false);
    this.live.resume();
    if (parseHash(location.hash).page === "login") location.replace("#/overview");
    else this.route();
    this.drawLink();
  }

  switchLang() {
    setLang(getLang() === "zh" ? "en" : "zh");
    const locked = this.locked;
    if (this.loginView) {
      this.loginView.destroy();
      this.loginView = null;
    }
    this.locked = false;
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
    if (locked) {
      this.locked = false;
      this.lock(this.lockReason);
    } else {
      this.route();
    }
    this.tick();
  }

  drawLink() {
    const s = this.store;
    const state = this.locked ? "locked" : this.live.state;
    setText(this.linkEl, t(state === "live" ? "link.live" : state === "lost" ? "link.lost" : state === "locked" ? "link.locked" : "link.connecting"));
    this.linkEl.dataset.state = state;
    /* The login page says why nothing is shown; no banner over it. */
    const down = !s.linkUp && !this.locked;
    toggle(this.banner, "hidden", !down);
    toggle(document.documentElement, "link-lost", down);
    if (down) {
      setText(this.bannerText, s.everLive ? t("link.banner", { age: fmtAge(Date.now() - s.linkSince) }) : t("link.banner.start"));
    }
  }

  /* ---- routes --------------------------------------------------------- */

  route() {
    /* The login page stands in for every page until someone logs in. */
    if (this.locked) return;
    const r = parseHash(location.hash);
    let page = r.page, arg = r.arg;
    if (!NAV.includes(page) && page !== "login") {
      location.replace("#/overview");
      return;
    }
    if (page !== "login") this.lastHash = location.hash;
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
      else if (page === "displays") view = new DisplaysView(this.ctx);
      else if (page === "admin") view = new AdminView(this.ctx);
      else if (page === "audit") view = new AuditView(this.ctx);
      else if (page === "alarms") view = new AlarmsView(this.ctx);
      else if (page === "kpi") view = new KpiView(this.ctx);
      else if (page === "notifications") view = new NotificationsView(this.ctx);
      else {
        /* #/login: back to where the "Log in" button was pressed. */
        const back = () => location.replace(this.lastHash || "#/overview");
        view = new LoginView({ auth, kiosk, reason: "asked", onDone: back, onAnon: back });
      }
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
    } else if (view.show && (page === "trends" || page === "audit" || page === "alarms" || page === "kpi" || page === "notifications")) {
      view.show(r.query);
    }
    this.page = pageName(page, page === "equipment" ? arg : null);
    for (const p of NAV) toggle(this.nav[p], "on", p === page);
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
    this.alarmBanner.tick();
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
