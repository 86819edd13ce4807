/*
 * auth.js - who is using this page, as the bridge sees it.
 *
 * The session is the lb_session cookie, HttpOnly: the page never reads
 * it, only what GET /api/me answers ({user, role, token, display,
 * expires}, or 401 with {anonymous: "viewer"|"none", users: N}).  This
 * module keeps that answer, logs in (a user and password, or a kiosk
 * token) and out, and notices when a session ends while the page is
 * open:
 *
 *  - a read answered 401 (api.js) or a WebSocket refused (live.js: the
 *    browser does not say why, so /api/me is asked) calls recheck();
 *  - a timer asks again just after the session's `expires`, on the
 *    bridge's clock (Auth.now, the store's estimate), never before it:
 *    asking restarts the idle timer, and a page that asked early would
 *    keep an idle session alive for ever.  A kiosk token's session has
 *    no idle timer but ends when its token is deleted: it is asked
 *    about every minute, so a revoked wall screen stops showing values
 *    (the bridge does not close a WebSocket whose session ended).
 *
 * Listeners get (before, after) on every change of user or role; main.js
 * decides what the page shows.
 */
import { getJson, postJson, fromFetch } from "./api.js";
import { early } from "./early.js";

export const ROLES = ["viewer", "operator", "engineer", "admin"];

/* A role includes the ones before it. */
export function roleAtLeast(role, need) {
  return role !== null && ROLES.indexOf(role) >= ROLES.indexOf(need);
}

/* Asked again at most this often on a 401 or a refused socket. */
const RECHECK_MS = 3000;
/* How long after `expires` the session is asked about. */
const EXPIRY_SLACK_MS = 5000;
/* setTimeout's limit is 24.8 days; a token's session lasts 30. */
const TIMER_MAX_MS = 86400e3;
const TOKEN_CHECK_MS = 60000;
/* A check the bridge did not answer is tried again after this. */
const RETRY_MS = 30000;

export class Auth {
  constructor() {
    this.me = null;              /* /api/me's answer while logged in */
    this.anonymous = "viewer";   /* what a page without a session may do */
    this.users = null;           /* how many users exist (null: unknown) */
    this.listeners = new Set();
    this.now = () => Date.now();
    this.timer = 0;
    this.checking = null;
    this.lastCheck = 0;
  }

  /* The role this page reads with: the session's, "viewer" for an
   * anonymous viewer, null when it may not read at all. */
  get role() {
    return this.me ? this.me.role : this.anonymous === "viewer" ? "viewer" : null;
  }

  canRead() {
    return this.role !== null;
  }

  /* fn(before, after): the old and new /api/me answers (null: none). */
  listen(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  set(me) {
    const before = this.me;
    this.me = me;
    this.schedule();
    const same = (before && me && before.user === me.user && before.role === me.role && before.token === me.token) || (!before && !me);
    if (same) return;
    for (const fn of this.listeners) {
      try {
        fn(before, me);
      } catch (e) {
        console.error(e);
      }
    }
  }

  /* GET /api/me.  {ok: true} once the bridge answered (me set or
   * cleared), {ok: false, status} when it could not be asked (status 0:
   * unreachable); nothing changes then. */
  async check() {
    this.lastCheck = Date.now();
    /* the first: the request early.js sent */
    const pending = early.me;
    early.me = null;
    const a = pending ? await fromFetch(pending) : await getJson("/api/me");
    if (a.status === 200 && a.json && a.json.user) {
      this.set(a.json);
      return { ok: true };
    }
    if ((a.status === 401 || a.status === 404) && (a.json || a.status === 404)) {
      /* 404: a bridge without logins; everyone reads. */
      const j = a.json || {};
      this.anonymous = j.anonymous === "none" ? "none" : "viewer";
      this.users = typeof j.users === "number" ? j.users : this.users;
      this.set(null);
      return { ok: true };
    }
    /* Not answered: the session stands as far as we know; ask again. */
    if (this.me) {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.check(), RETRY_MS);
    }
    return { ok: false, status: a.status };
  }

  /* Something suggests the session is gone: ask, but not in a storm
   * (a socket refused every backoff step, every view's fetch). */
  recheck() {
    if (this.checking) return this.checking;
    const wait = Math.max(0, this.lastCheck + RECHECK_MS - Date.now());
    this.checking = new Promise((r) => setTimeout(r, wait))
      .then(() => this.check())
      .finally(() => {
        this.checking = null;
      });
    return this.checking;
  }

  schedule() {
    clearTimeout(this.timer);
    this.timer = 0;
    if (!this.me) return;
    const exp = Date.parse(this.me.expires);
    if (!isFinite(exp)) return;
    const ms = Math.min(this.me.token ? TOKEN_CHECK_MS : TIMER_MAX_MS, Math.max(1000, exp - this.now() + EXPIRY_SLACK_MS));
    this.timer = setTimeout(() => this.check(), ms);
  }

  /* POST /api/login {user, password}: api.js's answer; me is set on
   * success. */
  async login(user, password) {
    const a = await postJson("/api/login", { user, password });
    if (a.ok && a.json && a.json.user) this.set(a.json);
    return a;
  }

  /* POST /api/login {token}: a kiosk token for a session cookie. */
  async loginToken(token) {
    const a = await postJson("/api/login", { token });
    if (a.ok && a.json && a.json.user) this.set(a.json);
    return a;
  }

  async logout() {
    const a = await postJson("/api/logout", {});
    /* 401: the session had already ended; either way there is none.
     * /api/me then says what a page without one may do (a page that
     * was logged in from the start has not been told). */
    if (a.ok || a.status === 401) {
      const c = await this.check();
      if (!c.ok || this.me) this.set(null);
    }
    return a;
  }

  /* POST /api/me/password {old, new}. */
  changePassword(old, neu) {
    return postJson("/api/me/password", { old, new: neu });
  }
}
