/*
 * i18n.js - every label the dashboard draws, in zh-CN and English, and the
 * language in use (remembered in localStorage).
 *
 * Tag, PLC, station and state names are not here: they come bilingual
 * from /api/station and are picked with pick(). A key missing from one
 * language falls back to English and is reported once on the console, so
 * a forgotten translation shows up in the browser tests (they look for
 * English words on the zh pages).
 */

const STORE_KEY = "lockbridge.lang";

const en = {
  "app.title": "lockbridge",
  "nav.overview": "Overview",
  "nav.equipment": "Equipment",
  "nav.trends": "Trends",
  "nav.displays": "Displays",
  "lang.switch": "中文",
  "lang.switch.title": "Show the dashboard in Chinese",

  "link.connecting": "Connecting to the bridge…",
  "link.live": "Live",
  "link.lost": "Connection lost",
  "link.banner": "CONNECTION TO THE BRIDGE LOST {age} ago: no value on this screen is live. Reconnecting…",
  "link.banner.start": "Waiting for the bridge: no value on this screen is live yet.",
  "link.station_failed": "Cannot load the station description from the bridge; retrying in {s} s.",

  "q.good": "Good",
  "q.stale": "Stale",
  "q.comm-failure": "Comm failure",
  "q.device-error": "Device error",
  "q.device-error.exc": "Device error ({exc})",
  "q.decode-error": "Decode error",
  "q.init": "No data yet",
  "q.link-lost": "Not live",
  "q.unsubscribed": "Not live",
  "q.unknown": "Unknown",

  "plc.ok": "OK",
  "plc.comm-failure": "Comm failure",
  "plc.device-error": "Device error",
  "plc.decode-error": "Decode error",
  "plc.stale": "Stale",
  "plc.init": "No data yet",
  "plc.partial": "Partly bad ({bad}/{n})",
  "plc.disabled": "Disabled",
  "plc.link-lost": "Not live",

  "bool.true": "Yes",
  "bool.false": "No",

  "age.s": "{n} s",
  "age.min": "{n} min",
  "age.h": "{h} h {m} min",
  "age.d": "{d} d {h} h",
  "age.for": "for {age}",

  "ov.no_schematic": "This station has no schematic: section, so there is no drawing of the lock here. Its roles are listed in dashboard/README.md; every other page works as usual.",
  "ov.lockage": "Lockage",
  "ov.direction": "Direction",
  "ov.number": "Lockage no.",
  "ov.phase": "Phase",
  "ov.phase_elapsed": "Phase time",
  "ov.lockage_elapsed": "Lockage time",
  "ov.vessel": "Vessel",
  "ov.upstream": "Upstream",
  "ov.chamber": "Chamber",
  "ov.downstream": "Downstream",
  "ov.upper_head": "Upper head",
  "ov.lower_head": "Lower head",
  "ov.head": "Head",
  "ov.gate": "Gate",
  "ov.valves": "Valves",
  "ov.entry": "Entry",
  "ov.exit": "Exit",
  "ov.plcs": "PLC communication",
  "ov.interlock": "GATE OPEN WITH HEAD {h}",

  "eq.choose": "Choose a PLC",
  "eq.search": "Search name or id",
  "eq.only_bad": "Only abnormal",
  "eq.col.name": "Name",
  "eq.col.value": "Value",
  "eq.col.unit": "Unit",
  "eq.col.state": "State",
  "eq.col.quality": "Quality",
  "eq.col.age": "Age",
  "eq.col.trend": "Last {n} min",
  "eq.count": "{shown} of {n} signals",
  "eq.summary": "{good} of {n} good",
  "eq.disabled": "This PLC is disabled in the station file: it is not polled.",
  "eq.no_plc": "No such PLC in this station: {id}",
  "eq.group": "Group",
  "eq.all_groups": "All groups",

  "tr.add": "Add a signal: search name or id",
  "tr.none": "Pick one or more signals above to draw them.",
  "tr.remove": "Remove",
  "tr.preset.1h": "1 h",
  "tr.preset.8h": "Shift 8 h",
  "tr.preset.24h": "24 h",
  "tr.preset.7d": "7 d",
  "tr.preset.30d": "30 d",
  "tr.preset.1y": "1 y",
  "tr.from": "From",
  "tr.to": "To",
  "tr.apply": "Apply",
  "tr.zoom_out": "Zoom out",
  "tr.pan_left": "Earlier",
  "tr.pan_right": "Later",
  "tr.live": "Follow live",
  "tr.csv": "Export CSV",
  "tr.png": "Save PNG",
  "tr.loading": "Loading…",
  "tr.error": "History query failed: {e}",
  "tr.hint": "Drag across the plot to zoom in; wheel zooms; the buttons pan.",
  "tr.source": "Resolution: {s}",
  "tr.src.raw": "raw samples",
  "tr.src.1m": "1-minute min/max",
  "tr.src.10m": "10-minute min/max",
  "tr.src.1h": "1-hour min/max",
  "tr.time": "Time",
  "tr.bad_range": "The end must be after the start.",
  "tr.max": "At most {n} signals at once.",

  "dp.title": "Wall screens",
  "dp.none": "No wall screen has reported yet. Open a screen with ?kiosk=1&display=NAME to see it here.",
  "dp.col.display": "Screen",
  "dp.col.online": "Connection",
  "dp.col.page": "Page",
  "dp.col.report": "Last report",
  "dp.col.drawn": "Last drawn",
  "dp.col.data": "Data age",
  "dp.col.stale": "Not-live values",
  "dp.col.address": "Address",
  "dp.online": "Online",
  "dp.offline": "Offline",
  "dp.never": "never",
  "dp.fetch_failed": "Cannot read the list from the bridge.",
  "dp.page.overview": "Overview",
  "dp.page.equipment": "Equipment",
  "dp.page.trends": "Trends",
  "dp.page.displays": "Displays",
};

const zh = {
  "app.title": "lockbridge",
  "nav.overview": "总览",
  "nav.equipment": "设备",
  "nav.trends": "趋势",
  "nav.displays": "大屏状态",
  "lang.switch": "English",
  "lang.switch.title": "以英文显示",

  "link.connecting": "正在连接数据服务…",
  "link.live": "实时",
  "link.lost": "连接中断",
  "link.banner": "与数据服务的连接已中断 {age}：本屏所有数值均非实时。正在重新连接…",
  "link.banner.start": "正在等待数据服务：本屏数值尚非实时。",
  "link.station_failed": "无法从数据服务读取站点信息，{s} 秒后重试。",

  "q.good": "正常",
  "q.stale": "数据过期",
  "q.comm-failure": "通讯故障",
  "q.device-error": "设备异常",
  "q.device-error.exc": "设备异常（{exc}）",
  "q.decode-error": "解码错误",
  "q.init": "尚无数据",
  "q.link-lost": "非实时",
  "q.unsubscribed": "非实时",
  "q.unknown": "未知",

  "plc.ok": "正常",
  "plc.comm-failure": "通讯故障",
  "plc.device-error": "设备异常",
  "plc.decode-error": "解码错误",
  "plc.stale": "数据过期",
  "plc.init": "尚无数据",
  "plc.partial": "部分异常（{bad}/{n}）",
  "plc.disabled": "已停用",
  "plc.link-lost": "非实时",

  "bool.true": "是",
  "bool.false": "否",

  "age.s": "{n} 秒",
  "age.min": "{n} 分钟",
  "age.h": "{h} 小时 {m} 分",
  "age.d": "{d} 天 {h} 小时",
  "age.for": "已 {age}",

  "ov.no_schematic": "本站点文件没有 schematic: 段，因此这里没有船闸示意图。可用的角色见 dashboard/README.md；其他页面照常使用。",
  "ov.lockage": "过闸",
  "ov.direction": "方向",
  "ov.number": "过闸编号",
  "ov.phase": "阶段",
  "ov.phase_elapsed": "本阶段用时",
  "ov.lockage_elapsed": "本次过闸用时",
  "ov.vessel": "船舶",
  "ov.upstream": "上游",
  "ov.chamber": "闸室",
  "ov.downstream": "下游",
  "ov.upper_head": "上闸首",
  "ov.lower_head": "下闸首",
  "ov.head": "水位差",
  "ov.gate": "闸门",
  "ov.valves": "阀门",
  "ov.entry": "进闸",
  "ov.exit": "出闸",
  "ov.plcs": "PLC 通讯",
  "ov.interlock": "闸门开启时水位差 {h}",

  "eq.choose": "选择 PLC",
  "eq.search": "搜索名称或编号",
  "eq.only_bad": "仅显示异常",
  "eq.col.name": "名称",
  "eq.col.value": "数值",
  "eq.col.unit": "单位",
  "eq.col.state": "状态",
  "eq.col.quality": "质量",
  "eq.col.age": "持续",
  "eq.col.trend": "近 {n} 分钟",
  "eq.count": "显示 {shown} / {n} 个信号",
  "eq.summary": "{good} / {n} 正常",
  "eq.disabled": "此 PLC 在站点文件中已停用，不采集。",
  "eq.no_plc": "本站点没有此 PLC：{id}",
  "eq.group": "采集组",
  "eq.all_groups": "全部采集组",

  "tr.add": "添加信号：搜索名称或编号",
  "tr.none": "请在上方选择一个或多个信号。",
  "tr.remove": "移除",
  "tr.preset.1h": "1 小时",
  "tr.preset.8h": "一班 8 小时",
  "tr.preset.24h": "24 小时",
  "tr.preset.7d": "7 天",
  "tr.preset.30d": "30 天",
  "tr.preset.1y": "1 年",
  "tr.from": "起",
  "tr.to": "止",
  "tr.apply": "应用",
  "tr.zoom_out": "缩小",
  "tr.pan_left": "向前",
  "tr.pan_right": "向后",
  "tr.live": "实时跟随",
  "tr.csv": "导出 CSV",
  "tr.png": "保存 PNG",
  "tr.loading": "加载中…",
  "tr.error": "历史查询失败：{e}",
  "tr.hint": "在曲线上拖动可放大，滚轮缩放，按钮平移。",
  "tr.source": "分辨率：{s}",
  "tr.src.raw": "原始采样",
  "tr.src.1m": "1 分钟极值",
  "tr.src.10m": "10 分钟极值",
  "tr.src.1h": "1 小时极值",
  "tr.time": "时间",
  "tr.bad_range": "结束时间必须晚于开始时间。",
  "tr.max": "最多同时显示 {n} 个信号。",

  "dp.title": "大屏状态",
  "dp.none": "尚无大屏上报。以 ?kiosk=1&display=名称 打开大屏后即在此列出。",
  "dp.col.display": "大屏",
  "dp.col.online": "连接",
  "dp.col.page": "页面",
  "dp.col.report": "上次上报",
  "dp.col.drawn": "上次绘制",
  "dp.col.data": "数据时效",
  "dp.col.stale": "非实时数值",
  "dp.col.address": "地址",
  "dp.online": "在线",
  "dp.offline": "离线",
  "dp.never": "从未",
  "dp.fetch_failed": "无法从数据服务读取大屏列表。",
  "dp.page.overview": "总览",
  "dp.page.equipment": "设备",
  "dp.page.trends": "趋势",
  "dp.page.displays": "大屏状态",
};

const dicts = { en, zh };
const missing = new Set();
let lang = "zh";

/* The language: ?lang= wins, then what was chosen before, then the
 * browser's preference; Chinese unless the browser prefers otherwise. */
export function initLang(params) {
  const asked = params.get("lang");
  let stored = null;
  try {
    stored = localStorage.getItem(STORE_KEY);
  } catch (_) {
    /* storage disabled: the choice lasts for this page only */
  }
  const nav = (navigator.language || "zh").toLowerCase();
  lang = norm(asked) || norm(stored) || (nav.startsWith("en") ? "en" : "zh");
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  return lang;
}

function norm(l) {
  if (!l) return null;
  l = l.toLowerCase();
  if (l.startsWith("zh")) return "zh";
  if (l.startsWith("en")) return "en";
  return null;
}

export function getLang() {
  return lang;
}

/* The BCP 47 tag for Intl. */
export function locale() {
  return lang === "zh" ? "zh-CN" : "en-GB";
}

export function setLang(l) {
  lang = norm(l) || "zh";
  try {
    localStorage.setItem(STORE_KEY, lang);
  } catch (_) {
    /* see initLang */
  }
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
}

/* t("eq.count", {shown: 3, n: 9}) */
export function t(key, vars) {
  let s = dicts[lang][key];
  if (s === undefined) {
    if (!missing.has(lang + key)) {
      missing.add(lang + key);
      console.warn("i18n: no " + lang + " text for " + key);
    }
    s = en[key] !== undefined ? en[key] : key;
  }
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
  return s;
}

/* A bilingual text from the API: {en, zh} (zh defaults to en there). */
export function pick(text) {
  if (!text) return "";
  if (typeof text === "string") return text;
  return text[lang] || text.en || "";
}
