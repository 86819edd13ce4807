/*
 * fmt.js - numbers, state labels, ages and times as the dashboard shows
 * them.  Times are always in the station's time zone (Intl with
 * timeZone), never the browser's.
 */
import { t, pick, locale } from "./i18n.js";

let tz = "UTC";
let fmts = null;

/* The station's zone; the formatters are rebuilt for the language. */
export function setZone(zone) {
  tz = zone;
  fmts = null;
}

export function zone() {
  return tz;
}

function formatters() {
  if (fmts && fmts.loc === locale()) return fmts;
  const base = { timeZone: tz, hourCycle: "h23" };
  const mk = (o) => new Intl.DateTimeFormat(locale(), Object.assign({}, base, o));
  fmts = {
    loc: locale(),
    clock: mk({ hour: "2-digit", minute: "2-digit", second: "2-digit" }),
    date: mk({ year: "numeric", month: "2-digit", day: "2-digit", weekday: "short" }),
    full: mk({ year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" }),
    hm: mk({ hour: "2-digit", minute: "2-digit" }),
    md: mk({ month: "2-digit", day: "2-digit" }),
    ymd: mk({ year: "numeric", month: "2-digit", day: "2-digit" }),
    ym: mk({ year: "numeric", month: "2-digit" }),
    parts: new Intl.DateTimeFormat("en-US", {
      timeZone: tz, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit",
    }),
  };
  return fmts;
}

export const fmtClock = (ms) => formatters().clock.format(ms);
export const fmtDate = (ms) => formatters().date.format(ms);
export const fmtFull = (ms) => formatters().full.format(ms);
export const fmtHM = (ms) => formatters().hm.format(ms);
export const fmtMD = (ms) => formatters().md.format(ms);
export const fmtYMD = (ms) => formatters().ymd.format(ms);
export const fmtYM = (ms) => formatters().ym.format(ms);

/* The station's wall-clock fields of an instant. */
export function zoneParts(ms) {
  const o = {};
  for (const p of formatters().parts.formatToParts(ms)) o[p.type] = p.value;
  return {
    y: +o.year, mo: +o.month, d: +o.day, h: +o.hour % 24, mi: +o.minute, s: +o.second,
  };
}

/* The instant at which the station's clock shows these fields (for the
 * custom range inputs): solved by two fixed-point steps, exact except in
 * the hour a DST change skips. */
export function zoneToEpoch(y, mo, d, h, mi, s = 0) {
  const want = Date.UTC(y, mo - 1, d, h, mi, s);
  let guess = want;
  for (let i = 0; i < 3; i++) {
    const p = zoneParts(guess);
    const shown = Date.UTC(p.y, p.mo - 1, p.d, p.h, p.mi, p.s);
    guess += want - shown;
  }
  return guess;
}

/* "2026-11-24 08:00" in the station's zone, for the range inputs. */
export function toLocalInput(ms) {
  const p = zoneParts(ms);
  const z = (n) => String(n).padStart(2, "0");
  return `${p.y}-${z(p.mo)}-${z(p.d)} ${z(p.h)}:${z(p.mi)}`;
}

export function fromLocalInput(s) {
  const m = /^(\d{4})-(\d\d)-(\d\d)[ T](\d\d):(\d\d)(?::(\d\d))?$/.exec((s || "").trim());
  if (!m) return NaN;
  return zoneToEpoch(+m[1], +m[2], +m[3], +m[4], +m[5], +(m[6] || 0));
}

const numCache = new Map();
function numFmt(dec) {
  const key = locale() + dec;
  let f = numCache.get(key);
  if (!f) {
    f = new Intl.NumberFormat(locale(), { minimumFractionDigits: dec, maximumFractionDigits: dec, useGrouping: false });
    numCache.set(key, f);
  }
  return f;
}

export function fmtNumber(v, dec) {
  if (typeof v !== "number" || !isFinite(v)) return "—";
  /* no "-0.00" for a value that rounds to nothing */
  if (Math.abs(v) < 0.5 * Math.pow(10, -dec)) v = 0;
  return numFmt(dec).format(v);
}

/* The value's figure: a number with the tag's decimals, a string as is,
 * a bool as yes/no. */
export function fmtValue(meta, v) {
  if (v === null || v === undefined) return "—";
  if (typeof v === "boolean") return t(v ? "bool.true" : "bool.false");
  if (typeof v === "string") return v === "" ? "—" : v;
  return fmtNumber(v, meta ? meta.decimals : 2);
}

/* The state label of an enumerated value, or "". */
export function stateLabel(meta, v) {
  if (!meta || !meta.states.size || v === null || v === undefined) return "";
  const code = typeof v === "boolean" ? (v ? 1 : 0) : v;
  const l = meta.states.get(code);
  return l ? pick(l) : String(code);
}

/* An age in the largest sensible unit: "12 s", "4 min", "2 h 5 min". */
export function fmtAge(ms) {
  if (!(ms >= 0)) ms = 0;
  const s = Math.floor(ms / 1000);
  if (s < 120) return t("age.s", { n: s });
  const m = Math.floor(s / 60);
  if (m < 120) return t("age.min", { n: m });
  const h = Math.floor(m / 60);
  if (h < 48) return t("age.h", { h, m: m % 60 });
  return t("age.d", { d: Math.floor(h / 24), h: h % 24 });
}

/* Seconds as a stopwatch: "4:05", "1:02:09". */
export function fmtDuration(sec) {
  if (typeof sec !== "number" || !isFinite(sec) || sec < 0) return "—";
  sec = Math.floor(sec);
  const h = Math.floor(sec / 3600);
  const m = Math.floor((sec % 3600) / 60);
  const s = sec % 60;
  const z = (n) => String(n).padStart(2, "0");
  return h ? `${h}:${z(m)}:${z(s)}` : `${m}:${z(s)}`;
}

/* The quality's label: "Comm failure", "Device error (4)". */
export function qualityLabel(q, exc) {
  if (q === "device-error" && exc !== undefined) return t("q.device-error.exc", { exc });
  const k = "q." + q;
  return t(k);
}
