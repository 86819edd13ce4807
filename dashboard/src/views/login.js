/*
 * login.js - the login page: user name and password, and everything that
 * can stand between a person and the dashboard, said plainly:
 *
 *   - a wrong user or password (401; the bridge gives one answer for
 *     both), too many failures (429: how long to wait, counted down, the
 *     button off meanwhile), the bridge unreachable, the bridge busy;
 *   - no user at all yet: the command that makes the first one (the page
 *     asks /api/me every few seconds and shows the form once one exists);
 *   - a wall screen without a session: the command that makes its kiosk
 *     address; a kiosk token the bridge refused: that, and how to make a
 *     new one, with no form on a wall screen (nobody is there to type,
 *     and a login form would only loop).
 *
 * Shown by main.js before the station is loaded (anonymous: none), as
 * the route #/login, and in place of the views when a session ends with
 * anonymous reading off.  onDone() runs after a successful login.
 */
import { h, setText, toggle } from "../core/dom.js";
import { t } from "../core/i18n.js";

const NO_USERS_POLL_MS = 3000;

/* reason: "required" (nothing is shown without a login), "expired" (a
 * session ended while the page was open), "asked" (#/login), "kiosk" (a
 * wall screen without a token), "token" (its token was refused),
 * "token-ended" (its token's session ended and the token is not known
 * any more). */
export class LoginView {
  constructor({ auth, kiosk = false, reason = "required", onDone, onAnon, onLang } = {}) {
    this.auth = auth;
    this.kiosk = kiosk;
    this.reason = reason;
    this.onDone = onDone || (() => {});
    this.onAnon = onAnon || null;
    this.onLang = onLang || null;
    this.busy = false;
    this.blockedUntil = 0;
    this.countdown = 0;
    this.poll = 0;
    this.shown = false;
    this.el = h("section", { class: "view login", "data-reason": reason });
    this.build();
  }

  build() {
    this.title = h("h1", { class: "login-title", text: t("login.title") });
    this.reasonEl = h("p", { class: "login-reason" });
    this.cmdBox = h("div", { class: "login-cmd hidden" });
    this.userIn = h("input", { type: "text", name: "username", autocomplete: "username", autocapitalize: "none", spellcheck: "false", class: "login-user", id: "lb-login-user" });
    this.pwIn = h("input", { type: "password", name: "password", autocomplete: "current-password", class: "login-password", id: "lb-login-password" });
    this.submitBtn = h("button", { type: "submit", class: "btn login-submit", text: t("login.submit") });
    this.msg = h("div", { class: "login-msg", role: "alert" });
    this.form = h("form", { class: "login-form", novalidate: true }, [
      h("label", { for: "lb-login-user", text: t("login.user") }), this.userIn,
      h("label", { for: "lb-login-password", text: t("login.password") }), this.pwIn,
      this.submitBtn, this.msg,
    ]);
    this.form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.submit();
    });
    this.anonLink = h("a", { href: "#/overview", class: "login-anon hidden", text: t("login.anon") });
    this.anonLink.addEventListener("click", (e) => {
      if (this.onAnon) {
        e.preventDefault();
        this.onAnon();
      }
    });
    const kids = [this.title, this.reasonEl, this.cmdBox, this.form, this.anonLink];
    const box = h("div", { class: "login-box" }, kids);
    if (this.onLang) {
      /* Before the station is loaded there is no header: the page's
       * own name and language switch. */
      const lang = h("button", { type: "button", class: "btn lang", title: t("lang.switch.title"), text: t("lang.switch") });
      lang.addEventListener("click", () => this.onLang());
      this.el.append(h("header", { class: "top login-top" }, [h("span", { class: "st-name", text: "lockbridge" }), h("span", { class: "spacer" }), lang]));
    }
    this.el.append(box);
    this.draw();
  }

  /* What the box says, from the reason and what /api/me last told. */
  draw() {
    const a = this.auth;
    const noUsers = a.users === 0;
    const token = this.reason.startsWith("token");
    let reason = "";
    let cmd = null, cmdText = "", cmdNote = "";
    if (this.reason === "token" || this.reason === "token-ended") {
      reason = t(this.reason === "token" ? "token.bad" : "token.ended");
      cmdText = t("token.fix");
      cmd = "lockbridge token add NAME -c FILE";
    } else if (noUsers) {
      reason = this.reason === "expired" ? t("login.expired") : "";
      cmdText = t("login.nousers");
      cmd = "lockbridge user add NAME --role admin -c FILE";
      cmdNote = t("login.nousers.note");
    } else if (this.reason === "kiosk") {
      cmdText = t("login.kiosk");
      cmd = "lockbridge token add NAME -c FILE";
    } else if (this.reason === "expired") {
      reason = t("login.expired");
    } else if (a.me) {
      reason = t("login.already", { user: a.me.user, role: t("role." + a.me.role) });
    } else if (a.anonymous === "none") {
      reason = t("login.required");
    }
    setText(this.title, t(token || (this.reason === "kiosk" && !noUsers) ? "login.title.screen" : noUsers ? "login.title.nousers" : "login.title"));
    setText(this.reasonEl, reason);
    toggle(this.reasonEl, "hidden", !reason);
    toggle(this.reasonEl, "bad", token || this.reason === "expired");
    this.cmdBox.replaceChildren();
    if (cmd) {
      this.cmdBox.append(h("p", { text: cmdText }), h("code", { class: "cmd", text: cmd }));
      if (cmdNote) this.cmdBox.append(h("p", { class: "login-note", text: cmdNote }));
    }
    toggle(this.cmdBox, "hidden", !cmd);
    /* No form where it cannot work: nobody to log in as, or a wall
     * screen whose token was refused. */
    const noForm = noUsers || (token && this.kiosk);
    toggle(this.form, "hidden", noForm);
    toggle(this.anonLink, "hidden", !(a.anonymous === "viewer" && !a.me && !token));
    this.el.dataset.users = String(a.users);
    clearInterval(this.poll);
    this.poll = 0;
    if (noUsers && this.shown) {
      this.poll = setInterval(async () => {
        const r = await a.check();
        if (r.ok && a.users !== 0) this.draw();
      }, NO_USERS_POLL_MS);
    }
  }

  say(text, kind) {
    setText(this.msg, text);
    this.msg.dataset.kind = kind || "";
    toggle(this.msg, "bad", kind && kind !== "info");
  }

  async submit() {
    if (this.busy || Date.now() < this.blockedUntil) return;
    const user = this.userIn.value.trim();
    const pw = this.pwIn.value;
    if (!user || !pw) {
      this.say(t("login.empty"), "empty");
      (user ? this.pwIn : this.userIn).focus();
      return;
    }
    this.busy = true;
    this.submitBtn.disabled = true;
    this.say(t("login.busy"), "info");
    const a = await this.auth.login(user, pw);
    this.busy = false;
    this.submitBtn.disabled = false;
    if (a.ok) {
      this.pwIn.value = "";
      this.say("", "");
      this.onDone();
      return;
    }
    if (a.status === 401) {
      this.pwIn.value = "";
      this.pwIn.focus();
      this.say(t("login.bad"), "bad");
    } else if (a.status === 429) {
      this.pwIn.value = "";
      this.throttled(a.retryAfter !== null ? a.retryAfter : 30);
    } else if (a.status === 0) {
      this.say(t("login.network"), "network");
    } else if (a.status === 503) {
      this.say(t("login.overloaded"), "busy");
    } else {
      this.say(t("login.failed", { e: a.error || "HTTP " + a.status }), "failed");
    }
  }

  /* 429: the wait counted down, the button off until it is over. */
  throttled(s) {
    this.blockedUntil = Date.now() + s * 1000;
    this.submitBtn.disabled = true;
    const step = () => {
      const left = Math.ceil((this.blockedUntil - Date.now()) / 1000);
      if (left <= 0) {
        clearInterval(this.countdown);
        this.countdown = 0;
        this.submitBtn.disabled = false;
        this.say("", "");
        return;
      }
      this.say(t("login.throttled", { s: left }), "throttled");
    };
    clearInterval(this.countdown);
    this.countdown = setInterval(step, 1000);
    step();
  }

  /* As a route (#/login). */
  subscription() {
    return ["*"];
  }

  screenTags() {
    return [];
  }

  frame() {}

  tick() {}

  show() {
    this.shown = true;
    this.draw();
    /* A wall screen has no keyboard focus to give; elsewhere the user
     * name is where typing starts. */
    if (!this.form.classList.contains("hidden") && !this.kiosk) setTimeout(() => this.userIn.focus(), 0);
  }

  hide() {
    this.shown = false;
    clearInterval(this.poll);
    this.poll = 0;
  }

  destroy() {
    this.hide();
    clearInterval(this.countdown);
    this.countdown = 0;
  }
}
