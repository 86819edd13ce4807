/*
 * auth.mjs - operators and security in the browser (issue 8), against
 * the real bridge with users and kiosk tokens made by the real CLI:
 *
 *  - the shipped station (anonymous viewers, the loopback default): the
 *    dashboard is live with a "Log in" button; a wrong password says so;
 *    logging in shows the user menu with name and role and the role
 *    pages; the cookie's flags; the admin page lists users and tokens;
 *    the audit log shows the logins; the password dialog; logging out
 *    goes back to anonymous viewing;
 *  - a station with `auth: {anonymous: none}`: no user yet (the page says
 *    how to add one, and notices when one is added), logging in, a
 *    session ended elsewhere (noticed on a read's 401, and on a refused
 *    WebSocket after a bridge restart): the login page, never last
 *    values shown as live; a kiosk token URL opens the wall screen with
 *    no login form and the token gone from the address (and from every
 *    later request); a deleted and a bad token: a message, no form, no
 *    loop; throttling and a network error on the login form;
 *  - a station with web.tls (a throwaway certificate): live values over
 *    WSS, the cookie Secure.
 *
 * Screenshots (login, the user menu open, admin, audit, the wall screen's
 * messages) in en and zh at 1920x1080.
 */
import { join } from "node:path";
import { startStation, until, sleep } from "../lib.mjs";
import { waitLive, visibleText } from "./common.mjs";

export const name = "auth";
export const about = "login, user menu, logout, wrong password, throttling, no users yet, kiosk tokens, ended sessions, admin and audit pages, TLS";

const PW = { ada: "ada-correct-horse", eve: "eve-battery-staple", tia: "tia-tls-password" };
const SIZE = { width: 1920, height: 1080 };

/* In the page: is there a shown element for the selector? */
function shown(sel) {
  return [...document.querySelectorAll(sel)].some((e) => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== "hidden");
}

async function isShown(page, sel) {
  return page.evaluate(shown, sel);
}

/* Latin words on a zh page other than the allowed (names, commands are
 * left out by the caller). */
function latinWords(texts, allowed) {
  return [...new Set(texts.join(" ").match(/[A-Za-z]{2,}/g) || [])].filter((w) => !allowed.has(w));
}

async function login(page, user, password) {
  await page.fill(".login:not(.hidden) .login-user", user);
  await page.fill(".login:not(.hidden) .login-password", password);
  await page.click(".login:not(.hidden) .login-submit");
}

/* The message under the login form once it is not "checking…". */
async function loginMessage(page) {
  await page.waitForFunction(() => {
    const m = document.querySelector(".login:not(.hidden) .login-msg");
    return m && m.dataset.kind && m.dataset.kind !== "info";
  }, null, { timeout: 15000 });
  return page.$eval(".login:not(.hidden) .login-msg", (m) => ({ kind: m.dataset.kind, text: m.textContent }));
}

/* POST /api/login requests a page made, collected. */
function watchLogins(page) {
  const seen = [];
  page.on("request", (r) => {
    if (r.method() === "POST" && r.url().endsWith("/api/login")) seen.push(r.postData() || "");
  });
  return seen;
}

export async function run(env, c) {
  await viewerStation(env, c);
  await closedStation(env, c);
  await tlsStation(env, c);
}

/* ---- the shipped station: anonymous viewers -------------------------------- */

async function viewerStation(env, c) {
  const b = env.st.bridge;
  await b.addUser("ada", "admin", PW.ada);
  b.addToken("hall-a");
  const page = await env.page(SIZE);
  const ctx = page.context();
  try {
    await page.goto(env.url("#/overview", "lang=zh"));
    await waitLive(page);
    const anon = { login: await isShown(page, ".top .user-login"), menu: await isShown(page, ".user-btn"), form: await isShown(page, ".login-form"), admin: await isShown(page, ".nav-admin") };
    c.ok(anon.login && !anon.menu && !anon.form && !anon.admin, "anonymous viewing: the overview is live with a 登录 button in the header, no login form, no admin page", JSON.stringify(anon));

    await page.click(".top .user-login");
    await page.waitForSelector(".login:not(.hidden) .login-form");
    c.ok(/#\/login$/.test(page.url()), "the button opens #/login", page.url());
    await page.screenshot({ path: join(env.shots, "login-zh-1920x1080.png") });
    const zhLogin = latinWords(await page.evaluate(visibleText, "code"), new Set(["lockbridge", "English"]));
    c.ok(zhLogin.length === 0, "the login page in zh has no English left", zhLogin.join(" ") || undefined);

    await login(page, "ada", "not-her-password");
    const wrong = await loginMessage(page);
    const pwLeft = await page.inputValue(".login:not(.hidden) .login-password");
    c.ok(wrong.kind === "bad" && wrong.text === "用户名或密码错误。" && pwLeft === "", "a wrong password: 用户名或密码错误。 and the password field emptied", wrong.text);

    await login(page, "ada", PW.ada);
    await page.waitForFunction(() => location.hash === "#/overview" && document.querySelector(".user-btn"), null, { timeout: 15000 });
    const who = await page.evaluate(() => ({
      name: document.querySelector(".user-btn .user-name").textContent,
      role: document.querySelector(".user-btn .user-role").textContent,
      cookie: document.cookie,
    }));
    const nav = { admin: await isShown(page, ".nav-admin"), audit: await isShown(page, ".nav-audit"), login: await isShown(page, ".user-login") };
    c.ok(who.name === "ada" && who.role === "管理员" && !nav.login, "logged in: back on the overview, the header names ada and her role 管理员", `${who.name} ${who.role}`);
    c.ok(nav.admin && nav.audit, "an admin sees 用户 and 审计日志 in the navigation", JSON.stringify(nav));
    const ck = (await ctx.cookies()).find((x) => x.name === "lb_session");
    c.ok(ck && ck.httpOnly && ck.sameSite === "Strict" && !ck.secure && ck.path === "/" && !who.cookie.includes("lb_session"),
      "the session cookie is HttpOnly, SameSite=Strict, Path=/ (no Secure over plain HTTP), invisible to scripts", ck && JSON.stringify({ h: ck.httpOnly, s: ck.sameSite, sec: ck.secure }));

    await page.click(".user-btn");
    await page.waitForSelector(".user-pop:not(.hidden)");
    const pop = await page.$eval(".user-pop", (e) => e.innerText);
    c.ok(/ada/.test(pop) && /管理员/.test(pop) && /修改密码/.test(pop) && /退出登录/.test(pop) && /会话有效至/.test(pop), "the user menu: who, role, session end, change password, log out", pop.replace(/\s+/g, " "));
    await page.screenshot({ path: join(env.shots, "user-menu-zh-1920x1080.png") });
    /* the header and its menu (the plant's own texts below are the
     * language case's) */
    const zhMenu = latinWords(await page.evaluate(visibleText, "code, .views"), new Set(["ada", "English"]));
    c.ok(zhMenu.length === 0, "the header and menu in zh have no English left", zhMenu.join(" ") || undefined);
    await page.keyboard.press("Escape");
    c.ok(!(await isShown(page, ".user-pop")), "Escape closes the menu");

    /* the admin page */
    await page.click(".nav-admin");
    await page.waitForSelector(".adm:not(.hidden) .adm-users .adm-row[data-name]");
    await page.waitForSelector(".adm:not(.hidden) .adm-tokens .adm-row[data-name]");
    const adm = await page.evaluate(() => ({
      users: [...document.querySelectorAll(".adm:not(.hidden) .adm-users .adm-row[data-name]")].map((r) => [...r.children].map((x) => x.textContent)),
      tokens: [...document.querySelectorAll(".adm:not(.hidden) .adm-tokens .adm-row[data-name]")].map((r) => [...r.children].map((x) => x.textContent)),
      cmds: [...document.querySelectorAll(".adm:not(.hidden) .adm-cmds code")].map((x) => x.textContent),
    }));
    const api = JSON.parse((await b.request("/api/users", { cookie: await b.login("ada", PW.ada) })).body);
    const ada = adm.users.find((r) => r[0] === "ada");
    c.ok(ada && ada[1] === "管理员" && /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d$/.test(ada[2]) && adm.users.length === api.users.length,
      "the admin page lists every user with role and times, as /api/users", JSON.stringify(adm.users));
    const tok = adm.tokens.find((r) => r[0] === "hall-a");
    c.ok(tok && tok[1] === "查看者" && tok[3] === "从未", "and the kiosk tokens (hall-a, 查看者, never used)", JSON.stringify(adm.tokens));
    c.ok(adm.cmds.includes("lockbridge user add NAME --role ROLE -c FILE") && adm.cmds.includes("lockbridge token add NAME [--role viewer] -c FILE") && adm.cmds.includes("lockbridge token del NAME -c FILE"),
      "and the CLI commands that change them", adm.cmds.length + " commands");
    await page.screenshot({ path: join(env.shots, "admin-zh-1920x1080.png") });

    /* the audit log: the failed and the good login, newest first */
    await page.click(".nav-audit");
    await page.waitForSelector(".aud:not(.hidden) .aud-row[data-action]");
    const aud = await page.$$eval(".aud:not(.hidden) .aud-row[data-action]", (rs) => rs.map((r) => ({ a: r.dataset.action, res: r.dataset.result, user: r.querySelector(".c-user").textContent, ts: r.querySelector(".c-ts").textContent })));
    const logins = aud.filter((r) => r.a === "login" && r.user === "ada");
    c.ok(logins.some((r) => r.res === "ok") && logins.some((r) => r.res === "bad") && aud.some((r) => r.a === "user-add"),
      "the audit log shows ada's failed and good logins and the user-add", aud.slice(0, 4).map((r) => r.a + ":" + r.res).join(" "));
    c.ok(aud.every((r, i) => i === 0 || r.ts <= aud[i - 1].ts), "newest first");
    await page.screenshot({ path: join(env.shots, "audit-zh-1920x1080.png") });

    /* the same pages in English */
    await page.click(".top .lang");
    await page.waitForSelector(".aud:not(.hidden) .aud-row[data-action]");
    await page.screenshot({ path: join(env.shots, "audit-en-1920x1080.png") });
    await page.click(".nav-admin");
    await page.waitForSelector(".adm:not(.hidden) .adm-users .adm-row[data-name]");
    await page.screenshot({ path: join(env.shots, "admin-en-1920x1080.png") });
    await page.click(".user-btn");
    await page.waitForSelector(".user-pop:not(.hidden)");
    await page.screenshot({ path: join(env.shots, "user-menu-en-1920x1080.png") });
    const cjk = (await page.evaluate(visibleText)).filter((x) => /[\u3400-\u9fff]/.test(x) && x !== "中文");
    c.ok(cjk.length === 0, "in English no Chinese is left on the admin page and the menu", cjk.slice(0, 3).join(" | ") || undefined);

    /* change password: checked here first, then by the bridge */
    await page.click(".user-passwd");
    await page.waitForSelector(".pw-dlg[open]");
    const pw = async (o, n, a) => {
      await page.fill(".pw-old", o);
      await page.fill(".pw-new", n);
      await page.fill(".pw-again", a);
      await page.click(".pw-submit");
      await page.waitForFunction(() => { const m = document.querySelector(".pw-msg"); return m.dataset.kind && m.dataset.kind !== "info"; }, null, { timeout: 15000 });
      return page.$eval(".pw-msg", (m) => ({ kind: m.dataset.kind, text: m.textContent }));
    };
    const mismatch = await pw(PW.ada, "new-password-one", "new-password-two");
    c.ok(mismatch.kind === "mismatch" && mismatch.text === "The two new passwords are not the same.", "change password: two different new ones are refused at once", mismatch.text);
    const wrongOld = await pw("not-the-old-one", "ada-new-password", "ada-new-password");
    c.ok(wrongOld.kind === "bad" && wrongOld.text === "The current password is wrong.", "a wrong current password: the bridge's 401, said plainly", wrongOld.text);
    await page.screenshot({ path: join(env.shots, "password-en-1920x1080.png") });
    const done = await pw(PW.ada, "ada-new-password", "ada-new-password");
    c.ok(done.kind === "done" && /Password changed/.test(done.text), "the right one: changed", done.text);
    c.ok((await b.login("ada", "ada-new-password")) !== null && (await b.login("ada", PW.ada)) === null, "the bridge takes the new password and refuses the old");
    PW.ada = "ada-new-password";
    await page.click(".pw-cancel");

    /* log out: anonymous viewing again */
    await page.click(".nav-overview");
    await page.click(".user-btn");
    await page.click(".user-logout");
    await page.waitForSelector(".top .user-login");
    const after = await page.evaluate(() => ({ live: window.__lb.store.linkUp, menu: !!document.querySelector(".user-btn") }));
    const gone = !(await ctx.cookies()).some((x) => x.name === "lb_session" && x.value);
    c.ok(after.live && !after.menu && gone && !(await isShown(page, ".nav-admin")), "logging out: the cookie is gone, the Log in button is back, the page stays live (anonymous viewer)", JSON.stringify({ ...after, gone }));
  } finally {
    await page.closeAll();
  }

  /* A refused token where anyone may look: the wall screen shows the
   * plant anyway and says why it is anonymous.  (Last here: a refused
   * token counts towards this address's throttle.) */
  const wall = await env.page(SIZE);
  try {
    await wall.goto(`${b.url}/?kiosk=1&display=hall-x&lang=zh&token=AAAAbogusBogusBogusBogusBogusBogusBogusAAAA`);
    await waitLive(wall);
    const n = await wall.evaluate(() => ({ href: location.href, notice: document.querySelector(".notice").dataset.notice, text: document.querySelector(".notice-text").textContent, me: window.__lb.auth.me }));
    c.ok(n.notice === "token.anon" && (await isShown(wall, ".notice")) && !(await isShown(wall, ".login-form")) && !n.me && !n.href.includes("token"),
      "anonymous viewing on, token refused: the wall screen is live anyway, with a notice saying the token was refused", n.text.slice(0, 30));
    await wall.screenshot({ path: join(env.shots, "kiosk-token-refused-anonymous-zh-1920x1080.png") });
  } finally {
    await wall.closeAll();
  }
}

/* ---- anonymous: none ---------------------------------------------------------- */

async function closedStation(env, c) {
  const st = await startStation(env.build, { speed: 20, extra: "auth: {anonymous: none}" });
  const b = st.bridge;
  const pages = [];
  const open = async (opts) => {
    const p = await env.page({ ...SIZE, ...opts });
    pages.push(p);
    return p;
  };
  try {
    const r = await b.request("/api/station");
    c.ok(r.status === 401, "anonymous: none: the API answers 401 without a session", r.status);

    /* no user yet */
    const page = await open();
    await page.goto(`${b.url}/?lang=zh`);
    await page.waitForSelector(".login .login-cmd code");
    const nousers = await page.evaluate(() => ({ cmd: document.querySelector(".login .login-cmd code").textContent, views: document.querySelectorAll(".ov, .eq, .tr").length }));
    c.ok(nousers.cmd === "lockbridge user add NAME --role admin -c FILE" && !(await isShown(page, ".login-form")) && nousers.views === 0,
      "no user yet: the page shows the exact command to add one, no form, no plant", nousers.cmd);
    await page.screenshot({ path: join(env.shots, "login-nousers-zh-1920x1080.png") });
    await b.addUser("eve", "engineer", PW.eve);
    const formCame = await until(() => isShown(page, ".login-form"), 10000, 200);
    c.ok(formCame, "once a user is added the page shows the login form by itself");

    await login(page, "eve", PW.eve);
    await waitLive(page);
    const me = await page.evaluate(() => ({
      name: document.querySelector(".user-btn .user-name").textContent, role: document.querySelector(".user-btn .user-role").textContent,
      good: [...window.__lb.store.recs.values()].filter((r) => r.q === "good").length,
    }));
    c.ok(me.name === "eve" && me.role === "工程师" && me.good > 0, "logged in: the overview is live (the WebSocket carries the session), eve · 工程师", JSON.stringify(me));
    c.ok((await isShown(page, ".nav-audit")) && !(await isShown(page, ".nav-admin")), "an engineer sees the audit log but not the admin page");

    /* a session ended elsewhere; the next read is answered 401 */
    const cookie = (await page.context().cookies()).find((x) => x.name === "lb_session");
    const out = await b.request("/api/logout", { json: {}, cookie: `lb_session=${cookie.value}` });
    c.ok(out.status === 200, "(the session is logged out behind the page's back)", out.status);
    await page.click(".nav-trends");
    const locked = await until(() => isShown(page, '.login[data-reason="expired"]'), 10000, 100);
    const lk = await page.evaluate(() => ({
      views: [...document.querySelectorAll(".views > .view:not(.login)")].filter((e) => !e.classList.contains("hidden")).length,
      link: document.querySelector(".top .link").dataset.state,
      ws: !!window.__lb.live.ws,
      up: window.__lb.store.linkUp,
      banner: !document.querySelector(".banner").classList.contains("hidden"),
    }));
    c.ok(locked && lk.views === 0 && lk.link === "locked" && !lk.ws && !lk.up, "a read answered 401: the login page takes the views' place, the socket is closed, nothing is shown as live", JSON.stringify(lk));
    await page.screenshot({ path: join(env.shots, "login-expired-zh-1920x1080.png") });

    await login(page, "eve", PW.eve);
    const back = await until(() => page.evaluate(() => window.__lb.store.linkUp && !document.querySelector(".login:not(.hidden)") && window.__lb.app.current !== null), 15000, 100);
    c.ok(back && /#\/trends/.test(page.url()), "logging in there brings back the page that was asked for, live", page.url());

    /* a kiosk token */
    const kioskUrl = b.addToken("wall-k");
    const secret = new URL(kioskUrl).searchParams.get("token");
    c.ok(/\/\?kiosk=1&display=wall-k&token=/.test(kioskUrl) && secret && secret.length >= 20, "lockbridge token add prints a kiosk URL", kioskUrl.replace(secret, "…"));
    const wall = await open();
    const wallLogins = watchLogins(wall);
    const leaks = [];
    wall.on("request", (rq) => {
      if (rq.isNavigationRequest() && rq.frame() === wall.mainFrame() && rq.url() === kioskUrl) return;
      const h = rq.headers();
      if (rq.url().includes(secret) || (h.referer || "").includes(secret)) leaks.push(rq.url());
    });
    await wall.goto(kioskUrl);
    await waitLive(wall);
    const w = await wall.evaluate(() => ({ href: location.href, kiosk: document.documentElement.classList.contains("kiosk"), me: window.__lb.auth.me, forms: document.querySelectorAll(".login-form").length }));
    c.ok(!w.href.includes("token") && !w.href.includes(secret) && /\?kiosk=1&display=wall-k$/.test(w.href.replace(/#.*/, "")),
      "the wall screen's address no longer holds the token (kiosk=1&display=wall-k kept)", w.href);
    c.ok(w.kiosk && w.forms === 0 && w.me && w.me.token === true && w.me.user === "wall-k" && !(await isShown(wall, ".user-btn")),
      "it opens live as a wall screen, logged in by the token, with no login form and no user menu", JSON.stringify({ kiosk: w.kiosk, forms: w.forms, me: w.me && w.me.user }));
    c.ok(leaks.length === 0 && wallLogins.length === 1 && wallLogins[0].includes(secret), "the token went out once, in the POST /api/login body; no other request carries it (URL or Referer)", leaks.slice(0, 2).join(" ") || undefined);
    const wck = (await wall.context().cookies()).find((x) => x.name === "lb_session");
    c.ok(wck && wck.expires * 1000 > Date.now() + 29 * 86400e3, "the wall screen's cookie outlives a browser restart (Max-Age of the token session)", wck && new Date(wck.expires * 1000).toISOString());
    await wall.screenshot({ path: join(env.shots, "kiosk-token-zh-1920x1080.png") });
    await wall.reload();
    await waitLive(wall);
    c.ok(!wall.url().includes("token") && wallLogins.length === 1, "a reload finds the cookie: no token, no new login", wall.url());

    /* a bad token: a message, no form, no loop */
    const bad = await open();
    const badLogins = watchLogins(bad);
    await bad.goto(`${b.url}/?kiosk=1&display=wall-x&token=AAAAnotAtokenTheBridgeKnowsAAAAAAAAAAAAAAAA&lang=zh`);
    await bad.waitForSelector('.login[data-reason="token"]');
    await sleep(3000);
    const bt = await bad.evaluate(() => ({ href: location.href, text: document.querySelector(".login-reason").textContent, cmd: document.querySelector(".login-cmd code").textContent }));
    c.ok(bt.text.startsWith("数据服务不接受本大屏的大屏令牌") && bt.cmd === "lockbridge token add NAME -c FILE" && !(await isShown(bad, ".login-form")) && badLogins.length === 1 && !bt.href.includes("token"),
      "a bad token: says so and how to make a new one; no login form, one attempt only, no token in the address", JSON.stringify({ text: bt.text.slice(0, 20), logins: badLogins.length }));
    await bad.screenshot({ path: join(env.shots, "kiosk-token-bad-zh-1920x1080.png") });

    /* The bridge restarts: eve's page (whose session is logged out
     * again behind its back) and the wall screen (whose token is
     * deleted meanwhile) both reconnect, and both are refused (401). */
    const ck2 = (await page.context().cookies()).find((x) => x.name === "lb_session");
    await b.request("/api/logout", { json: {}, cookie: `lb_session=${ck2.value}` });
    b.cli(["token", "del", "wall-k"]);
    await b.stop();
    await b.start();
    const eveLocked = await until(() => isShown(page, '.login[data-reason="expired"]'), 20000, 100);
    c.ok(eveLocked && !(await page.evaluate(() => window.__lb.store.linkUp)), "a refused WebSocket after a restart: /api/me is asked and the login page shown, not stale values");
    const wallLocked = await until(() => isShown(wall, '.login[data-reason^="token"]'), 20000, 100);
    const wl = await wall.evaluate(() => ({ reason: document.querySelector(".login:not(.hidden)").dataset.reason, text: document.querySelector(".login:not(.hidden) .login-reason").textContent, up: window.__lb.store.linkUp }));
    const n = wallLogins.length;
    await sleep(3000);
    c.ok(wallLocked && !wl.up && !(await isShown(wall, ".login-form")) && wallLogins.length === n, "a deleted token: the wall screen says its kiosk session ended, with no form and no login loop", JSON.stringify(wl));
    await wall.screenshot({ path: join(env.shots, "kiosk-token-ended-zh-1920x1080.png") });

    /* throttling, then the bridge gone: what the form says */
    const later = await open({ locale: "en-GB" });
    await later.goto(`${b.url}/?lang=en`);
    await later.waitForSelector(".login .login-form");
    const thr = await open({ locale: "en-GB" });
    await thr.goto(`${b.url}/?lang=en`);
    await thr.waitForSelector(".login .login-form");
    let m = null;
    for (let i = 0; i < 8; i++) {
      await login(thr, "eve", "wrong-" + i);
      m = await loginMessage(thr);
      if (m.kind === "throttled") break;
    }
    const disabled = await thr.$eval(".login-submit", (e) => e.disabled);
    const secs = m && /Wait (\d+) s/.exec(m.text);
    c.ok(m && m.kind === "throttled" && secs && +secs[1] > 0 && disabled, "repeated wrong passwords: 429 says how long to wait (counted down) and the button is off", m && m.text);
    await thr.screenshot({ path: join(env.shots, "login-throttled-en-1920x1080.png") });
    await sleep(1200);
    const secs2 = /Wait (\d+) s/.exec(await thr.$eval(".login-msg", (e) => e.textContent));
    c.ok(secs2 && +secs2[1] < +secs[1], "the wait counts down", secs2 && secs2[0]);
    await b.stop();
    await login(later, "eve", PW.eve);
    const net = await loginMessage(later);
    c.ok(net.kind === "network" && /Cannot reach the bridge/.test(net.text), "the bridge unreachable: a network error, said so", net.text);
  } finally {
    for (const p of pages) await p.closeAll().catch(() => {});
    await st.stop().catch(() => {});
  }
}

/* ---- TLS ------------------------------------------------------------------------ */

async function tlsStation(env, c) {
  const st = await startStation(env.build, { speed: 20, tls: true });
  const b = st.bridge;
  let page = null;
  try {
    await b.addUser("tia", "operator", PW.tia);
    page = await env.page({ ...SIZE, ignoreHTTPSErrors: true });
    await page.goto(`${b.url}/?lang=zh#/overview`);
    await waitLive(page);
    const l = await page.evaluate(() => ({
      proto: location.protocol, ws: window.__lb.live.url,
      good: [...window.__lb.store.recs.values()].filter((r) => r.q === "good").length,
      drawn: document.querySelectorAll(".ov:not(.hidden) [data-tag][data-raw]").length,
    }));
    c.ok(l.proto === "https:" && l.ws.startsWith("wss://") && l.good > 0 && l.drawn > 0, "web.tls: the dashboard over HTTPS draws live values that came over WSS", JSON.stringify(l));
    const t0 = await page.evaluate(() => window.__lb.live.stats.frames);
    await sleep(1500);
    const t1 = await page.evaluate(() => window.__lb.live.stats.frames);
    c.ok(t1 > t0, "frames keep arriving over WSS", `${t1 - t0} frames in 1.5 s`);
    await page.click(".top .user-login");
    await login(page, "tia", PW.tia);
    await page.waitForSelector(".user-btn");
    const ck = (await page.context().cookies()).find((x) => x.name === "lb_session");
    c.ok(ck && ck.secure && ck.httpOnly && ck.sameSite === "Strict", "logging in over HTTPS: the cookie is Secure, HttpOnly, SameSite=Strict", ck && JSON.stringify({ secure: ck.secure, h: ck.httpOnly, s: ck.sameSite }));
    c.ok(await page.evaluate(() => window.__lb.store.linkUp), "and the page stays live");
  } finally {
    if (page) await page.closeAll().catch(() => {});
    await st.stop().catch(() => {});
  }
}
