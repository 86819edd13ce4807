/*
 * admin.js - #/admin: the station's users (GET /api/users: name, role,
 * created, last changed) and kiosk tokens (GET /api/tokens: name, role,
 * created, last used), for the admin role, and the commands that change
 * them.  The page changes nothing itself: users and tokens are made on
 * the bridge's computer with `lockbridge user ...` and `lockbridge token
 * ...` (a token's secret is printed once, where nobody but the person
 * setting up the screen sees it).
 *
 * Read when shown and every 10 s while shown (a token's "last used"
 * moves when a wall screen logs in).
 */
import { h, setText, toggle } from "../core/dom.js";
import { t } from "../core/i18n.js";
import { fmtFull } from "../core/fmt.js";
import { getJson } from "../core/api.js";
import { roleAtLeast } from "../core/auth.js";

const POLL_MS = 10000;

const COMMANDS = [
  ["lockbridge user add NAME --role ROLE -c FILE", "adm.cmd.user_add"],
  ["lockbridge user passwd NAME -c FILE", "adm.cmd.user_passwd"],
  ["lockbridge user role NAME ROLE -c FILE", "adm.cmd.user_role"],
  ["lockbridge user del NAME -c FILE", "adm.cmd.user_del"],
  ["lockbridge token add NAME [--role viewer] -c FILE", "adm.cmd.token_add"],
  ["lockbridge token del NAME -c FILE", "adm.cmd.token_del"],
];

/* A role-gated page's note when the role is missing: null when it is
 * there.  Shared with audit.js. */
export function roleNote(auth, need) {
  if (roleAtLeast(auth.me ? auth.me.role : null, need)) return null;
  if (!auth.me) return t("adm.need_login", { role: t("role." + need) });
  return t("adm.need", { role: t("role." + need), user: auth.me.user, has: t("role." + auth.me.role) });
}

/* A table of rows: cols [[key, label]], cells filled by fill(row, cells). */
function table(cls, cols) {
  const body = h("div", { class: "adm-table " + cls, role: "table" });
  body.append(h("div", { class: "adm-row adm-hdr", role: "row" }, cols.map(([k, label]) => h("span", { class: "c-" + k, role: "columnheader", text: label }))));
  return body;
}

function when(s) {
  const ms = s ? Date.parse(s) : NaN;
  return isFinite(ms) ? fmtFull(ms) : t("adm.never");
}

export class AdminView {
  constructor(ctx) {
    this.ctx = ctx;
    this.auth = ctx.auth;
    this.el = h("section", { class: "view adm" });
    this.timer = 0;
    this.gen = 0;
    this.note = h("div", { class: "ov-note bad hidden adm-need" });
    this.err = h("div", { class: "ov-note bad hidden adm-err" });
    this.users = table("adm-users", [["name", t("adm.col.name")], ["role", t("adm.col.role")], ["created", t("adm.col.created")], ["changed", t("adm.col.changed")]]);
    this.tokens = table("adm-tokens", [["name", t("adm.col.name")], ["role", t("adm.col.role")], ["created", t("adm.col.created")], ["last_used", t("adm.col.last_used")]]);
    this.noUsers = h("div", { class: "adm-empty hidden", text: t("adm.no_users") });
    this.noTokens = h("div", { class: "adm-empty hidden", text: t("adm.no_tokens") });
    this.lists = h("div", { class: "adm-lists" }, [
      h("section", { class: "adm-part" }, [h("h3", { text: t("adm.users") }), this.users, this.noUsers]),
      h("section", { class: "adm-part" }, [h("h3", { text: t("adm.tokens") }), this.tokens, this.noTokens]),
    ]);
    const how = h("section", { class: "adm-how" }, [
      h("p", { text: t("adm.how") }),
      h("dl", { class: "adm-cmds" }, COMMANDS.flatMap(([cmd, key]) => [h("dt", {}, [h("code", { class: "cmd", text: cmd })]), h("dd", { text: t(key) })])),
      h("p", { class: "adm-roles", text: t("adm.roles") }),
    ]);
    this.el.append(h("h2", { text: t("adm.title") }), this.note, this.err, this.lists, how);
  }

  subscription() {
    return ["*"];
  }

  screenTags() {
    return [];
  }

  frame() {}

  tick() {}

  show() {
    this.poll();
    clearInterval(this.timer);
    this.timer = setInterval(() => this.poll(), POLL_MS);
  }

  hide() {
    clearInterval(this.timer);
    this.timer = 0;
    this.gen++;
  }

  destroy() {
    this.hide();
  }

  /* The session changed while the page is shown. */
  authChanged() {
    this.poll();
  }

  async poll() {
    const gen = ++this.gen;
    const need = roleNote(this.auth, "admin");
    setText(this.note, need || "");
    toggle(this.note, "hidden", !need);
    toggle(this.lists, "hidden", !!need);
    if (need) {
      toggle(this.err, "hidden", true);
      return;
    }
    const [u, k] = await Promise.all([getJson("/api/users"), getJson("/api/tokens")]);
    if (gen !== this.gen) return;
    const bad = [u, k].find((a) => !a.ok);
    if (bad) {
      /* 401/403: the session ended or lost its role; main.js hears of a
       * 401 and the note says what is needed at the next poll. */
      setText(this.err, t("adm.failed", { e: bad.status ? bad.error || "HTTP " + bad.status : t("login.network") }));
      toggle(this.err, "hidden", false);
      return;
    }
    toggle(this.err, "hidden", true);
    this.fill(this.users, this.noUsers, u.json.users, (x) => [x.name, t("role." + x.role), when(x.created), when(x.changed)]);
    this.fill(this.tokens, this.noTokens, k.json.tokens, (x) => [x.name, t("role." + x.role), when(x.created), when(x.last_used)]);
  }

  fill(tableEl, empty, list, cells) {
    const keys = [...tableEl.firstChild.children].map((c) => c.className);
    while (tableEl.children.length > 1) tableEl.lastChild.remove();
    for (const x of list) {
      tableEl.append(h("div", { class: "adm-row", role: "row", "data-name": x.name, "data-role": x.role },
        cells(x).map((text, i) => h("span", { class: keys[i], role: "cell", text }))));
    }
    toggle(empty, "hidden", list.length > 0);
  }
}
