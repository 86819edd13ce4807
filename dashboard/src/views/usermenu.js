/*
 * usermenu.js - the header's account control.
 *
 * Logged in: a button with the user's name and role (legible across the
 * room, so nobody acts under a colleague's session unawares); it opens a
 * small menu with the session's end, "change password" and "log out".
 * Not logged in where anyone may look (auth.anonymous: viewer): a "Log
 * in" button to #/login.  Neither on a wall screen (html.kiosk hides
 * it: nobody there clicks, and it would crowd the view).
 *
 * The password dialog checks what it can before asking the bridge (all
 * three fields, the two new ones equal, at least 10 characters: the
 * bridge's rule) and shows the bridge's own answer for the rest.
 */
import { h, setText, toggle } from "../core/dom.js";
import { t } from "../core/i18n.js";
import { fmtFull } from "../core/fmt.js";

/* The bridge's password rule (auth.h AUTH_PASSWORD_MIN), in characters. */
const PASSWORD_MIN = 10;

export class UserMenu {
  /* logout(): main.js's, which knows that the end of this session is
   * wanted (auth.logout() otherwise). */
  constructor(auth, { logout } = {}) {
    this.auth = auth;
    this.doLogout = logout || (() => auth.logout());
    this.el = h("span", { class: "user" });
    this.open = false;
    this.onDoc = (e) => {
      if (this.open && !this.el.contains(e.target)) this.setOpen(false);
    };
    this.onKey = (e) => {
      if (e.key === "Escape" && this.open) this.setOpen(false);
    };
    /* another page: the menu was for this one */
    this.onHash = () => this.setOpen(false);
    document.addEventListener("pointerdown", this.onDoc);
    document.addEventListener("keydown", this.onKey);
    addEventListener("hashchange", this.onHash);
    this.draw();
  }

  destroy() {
    document.removeEventListener("pointerdown", this.onDoc);
    document.removeEventListener("keydown", this.onKey);
    removeEventListener("hashchange", this.onHash);
    if (this.dialog && this.dialog.open) this.dialog.close();
  }

  draw() {
    const me = this.auth.me;
    this.open = false;
    this.el.replaceChildren();
    this.el.dataset.user = me ? me.user : "";
    this.el.dataset.role = me ? me.role : "";
    if (!me) {
      if (this.auth.anonymous === "viewer") {
        this.el.append(h("a", { href: "#/login", class: "btn user-login", title: t("user.login.title"), text: t("user.login") }));
      }
      return;
    }
    const role = me.token ? t("role.kiosk") + " · " + t("role." + me.role) : t("role." + me.role);
    this.btn = h("button", {
      type: "button", class: "btn user-btn", "aria-haspopup": "menu", "aria-expanded": "false", title: t("user.menu.title"),
    }, [h("span", { class: "user-name", text: me.user }), h("span", { class: "user-role", text: role }), h("span", { class: "user-caret", "aria-hidden": "true", text: "▾" })]);
    this.btn.addEventListener("click", () => this.setOpen(!this.open));
    this.until = h("div", { class: "user-until" });
    this.msg = h("div", { class: "user-msg", role: "alert" });
    const items = [
      h("div", { class: "user-who" }, [
        h("span", { class: "user-who-lbl", text: me.token ? t("user.as_token") : t("user.as") }),
        h("span", { class: "user-who-name", text: me.user }),
        h("span", { class: "user-who-role", text: role }),
      ]),
      this.until,
    ];
    if (!me.token) {
      const pw = h("button", { type: "button", class: "btn user-passwd", role: "menuitem", text: t("user.passwd") });
      pw.addEventListener("click", () => {
        this.setOpen(false);
        this.passwordDialog();
      });
      items.push(pw);
    }
    const out = h("button", { type: "button", class: "btn user-logout", role: "menuitem", text: t("user.logout") });
    out.addEventListener("click", () => this.logout(out));
    items.push(out, this.msg);
    this.pop = h("div", { class: "user-pop hidden", role: "menu" }, items);
    this.el.append(this.btn, this.pop);
  }

  setOpen(on) {
    if (!this.pop) return;
    this.open = on;
    toggle(this.pop, "hidden", !on);
    this.btn.setAttribute("aria-expanded", on ? "true" : "false");
    if (on) {
      const exp = this.auth.me && Date.parse(this.auth.me.expires);
      setText(this.until, isFinite(exp) ? t("user.until", { t: fmtFull(exp) }) : "");
      setText(this.msg, "");
    }
  }

  async logout(btn) {
    btn.disabled = true;
    const a = await this.doLogout();
    btn.disabled = false;
    /* On success the menu is drawn again, without a user. */
    if (!a.ok && a.status !== 401) setText(this.msg, t("user.logout_failed", { e: a.status ? a.error || "HTTP " + a.status : t("login.network") }));
  }

  /* ---- change password --------------------------------------------------- */

  passwordDialog() {
    if (!this.dialog) {
      const field = (cls, label, ac) => {
        const id = "lb-pw-" + cls;
        const inp = h("input", { type: "password", id, class: "pw-" + cls, autocomplete: ac });
        return [h("label", { for: id, text: label }), inp];
      };
      const [lo, old] = field("old", t("pw.old"), "current-password");
      const [ln, neu] = field("new", t("pw.new"), "new-password");
      const [la, again] = field("again", t("pw.again"), "new-password");
      this.pw = { old, neu, again };
      this.pwMsg = h("div", { class: "pw-msg", role: "alert" });
      this.pwSubmit = h("button", { type: "submit", class: "btn pw-submit", text: t("pw.submit") });
      this.pwCancel = h("button", { type: "button", class: "btn pw-cancel", text: t("pw.cancel") });
      this.pwCancel.addEventListener("click", () => this.dialog.close());
      const form = h("form", { class: "pw-form", novalidate: true }, [
        h("h2", { text: t("pw.title") }),
        lo, old, ln, neu, la, again,
        h("p", { class: "pw-rule", text: t("pw.rule") }),
        this.pwMsg,
        h("div", { class: "pw-buttons" }, [this.pwCancel, this.pwSubmit]),
      ]);
      form.addEventListener("submit", (e) => {
        e.preventDefault();
        this.changePassword();
      });
      this.dialog = h("dialog", { class: "pw-dlg" }, [form]);
      /* Nothing typed stays once the dialog is gone. */
      this.dialog.addEventListener("close", () => {
        for (const i of Object.values(this.pw)) i.value = "";
      });
      this.el.append(this.dialog);
    }
    this.sayPw("", "");
    this.pwSubmit.disabled = false;
    this.pwSubmit.classList.remove("hidden");
    setText(this.pwCancel, t("pw.cancel"));
    this.dialog.showModal();
    this.pw.old.focus();
  }

  sayPw(text, kind) {
    setText(this.pwMsg, text);
    this.pwMsg.dataset.kind = kind || "";
    toggle(this.pwMsg, "bad", kind && kind !== "done" && kind !== "info");
  }

  async changePassword() {
    const { old, neu, again } = this.pw;
    if (!old.value || !neu.value || !again.value) return this.sayPw(t("pw.missing"), "missing");
    if (neu.value !== again.value) {
      again.value = "";
      again.focus();
      return this.sayPw(t("pw.mismatch"), "mismatch");
    }
    if ([...neu.value].length < PASSWORD_MIN) return this.sayPw(t("pw.short"), "short");
    this.pwSubmit.disabled = true;
    this.sayPw(t("login.busy"), "info");
    const a = await this.auth.changePassword(old.value, neu.value);
    this.pwSubmit.disabled = false;
    if (a.ok) {
      for (const i of [old, neu, again]) i.value = "";
      this.sayPw(t("pw.done", { user: this.auth.me ? this.auth.me.user : "" }), "done");
      this.pwSubmit.classList.add("hidden");
      setText(this.pwCancel, t("pw.close"));
      return;
    }
    if (a.status === 401 && a.error && /current password/.test(a.error)) {
      old.value = "";
      old.focus();
      this.sayPw(t("pw.bad"), "bad");
    } else if (a.status === 401) {
      /* The session itself is gone: main.js hears it from /api/me. */
      this.dialog.close();
      this.auth.recheck();
    } else if (a.status === 429) {
      this.sayPw(t("login.throttled", { s: a.retryAfter !== null ? a.retryAfter : 30 }), "throttled");
    } else if (a.status === 403) {
      this.sayPw(t("pw.token"), "token");
    } else if (a.status === 400) {
      this.sayPw(t("pw.refused", { e: a.error || "HTTP 400" }), "refused");
    } else if (a.status === 0) {
      this.sayPw(t("login.network"), "network");
    } else {
      this.sayPw(t("login.failed", { e: a.error || "HTTP " + a.status }), "failed");
    }
  }
}
