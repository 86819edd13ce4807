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
  "link.locked": "Not logged in: nothing is live",
  "link.me_failed": "Cannot reach the bridge; retrying in {s} s.",

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

  "nav.admin": "Users",
  "nav.audit": "Audit log",

  "role.viewer": "viewer",
  "role.operator": "operator",
  "role.engineer": "engineer",
  "role.admin": "admin",
  "role.kiosk": "wall screen",

  "user.login": "Log in",
  "user.login.title": "Log in to act; anyone here may look",
  "user.menu.title": "Your account: log out, change password",
  "user.as": "Logged in as",
  "user.as_token": "Wall screen, by kiosk token",
  "user.until": "Session until {t}",
  "user.passwd": "Change password",
  "user.logout": "Log out",
  "user.logout_failed": "Could not log out: {e}",

  "login.title": "Log in",
  "login.title.screen": "Wall screen not logged in",
  "login.title.nousers": "No user yet",
  "login.user": "User name",
  "login.password": "Password",
  "login.submit": "Log in",
  "login.busy": "Checking…",
  "login.empty": "Enter your user name and password.",
  "login.bad": "Wrong user name or password.",
  "login.throttled": "Too many failed attempts. Wait {s} s, then try again.",
  "login.network": "Cannot reach the bridge (network error). Check the connection and try again.",
  "login.overloaded": "The bridge is busy with other logins. Try again in a moment.",
  "login.failed": "Login failed: {e}",
  "login.anon": "Continue without logging in",
  "login.required": "This bridge shows nothing without a login.",
  "login.expired": "Your session has ended (unused for too long, logged out elsewhere, or your user was changed). Log in again to see live values.",
  "login.already": "Logged in as {user} ({role}). To change user, log in below.",
  "login.nousers": "There is no user yet, so nobody can log in. On the bridge's computer, run:",
  "login.nousers.note": "FILE is the station file the bridge runs with (lockbridge run -c FILE). The command asks for the password twice. This page notices the new user by itself.",
  "login.kiosk": "Run this on the bridge's computer and open the address it prints on this screen: it logs the screen in by itself. Or log in below.",

  "token.bad": "The bridge does not accept this wall screen's kiosk token: it was deleted (lockbridge token del), or the address was mistyped.",
  "token.ended": "This wall screen's kiosk session has ended: its token was deleted, or the session ran out.",
  "token.fix": "Make a new token on the bridge's computer and open the address it prints:",
  "token.anon": "The kiosk token in this address was refused (deleted or mistyped): this screen shows only what anyone may see.",
  "token.throttled": "The bridge refuses logins from this address for {s} s (too many failed attempts). The kiosk token is tried again then.",
  "token.network": "Cannot reach the bridge to log this wall screen in. Retrying in {s} s.",
  "token.failed": "The kiosk token could not be used: {e}. Retrying in {s} s.",

  "notice.expired": "Your session has ended: this page now shows only what anyone may see. Log in again to act.",
  "notice.close": "Close",

  "pw.title": "Change password",
  "pw.old": "Current password",
  "pw.new": "New password",
  "pw.again": "New password again",
  "pw.rule": "At least 10 characters. Your other sessions will be logged out.",
  "pw.submit": "Change password",
  "pw.cancel": "Cancel",
  "pw.close": "Close",
  "pw.missing": "Fill in all three fields.",
  "pw.mismatch": "The two new passwords are not the same.",
  "pw.short": "The new password needs at least 10 characters.",
  "pw.bad": "The current password is wrong.",
  "pw.refused": "The bridge refused the new password: {e}",
  "pw.token": "A wall screen's kiosk token has no password.",
  "pw.done": "Password changed. Every other session of {user} has been logged out.",

  "adm.title": "Users and kiosk tokens",
  "adm.users": "Users",
  "adm.tokens": "Kiosk tokens (wall screens)",
  "adm.col.name": "Name",
  "adm.col.role": "Role",
  "adm.col.created": "Created",
  "adm.col.changed": "Password set",
  "adm.col.last_used": "Last used",
  "adm.never": "never",
  "adm.no_users": "No user yet.",
  "adm.no_tokens": "No kiosk token yet.",
  "adm.how": "Users and tokens are changed on the bridge's computer, not here. FILE is the station file the bridge runs with:",
  "adm.cmd.user_add": "add a user (asks for the password twice; --password-stdin reads one line)",
  "adm.cmd.user_passwd": "set a user's password",
  "adm.cmd.user_role": "change a user's role",
  "adm.cmd.user_del": "delete a user; their sessions end",
  "adm.cmd.token_add": "make a wall screen's address (shown only once)",
  "adm.cmd.token_del": "revoke a token; its screens are logged out",
  "adm.roles": "Roles, each including the ones before it: viewer only looks; operator will also acknowledge alarms (once the bridge has them); engineer also reads the audit log; admin also sees this page.",
  "adm.need": "This page needs the {role} role; {user} is {has}.",
  "adm.need_login": "Log in as a user with the {role} role to see this page.",
  "adm.failed": "Cannot read the list from the bridge: {e}",

  "aud.title": "Audit log",
  "aud.refresh": "Refresh",
  "aud.col.ts": "Time",
  "aud.col.user": "Who",
  "aud.col.action": "Action",
  "aud.col.detail": "Detail",
  "aud.col.address": "Address",
  "aud.col.result": "Result",
  "aud.none": "Nothing was recorded in this range.",
  "aud.count": "{n} entries, newest first",
  "aud.capped": "The newest {shown} entries; narrow the range to see older ones.",
  "aud.res.ok": "OK",
  "aud.res.bad": "Refused",
  "aud.res.throttled": "Throttled",
  "aud.res.error": "Error",
  "aud.act.login": "Log in",
  "aud.act.token-login": "Kiosk token log in",
  "aud.act.logout": "Log out",
  "aud.act.passwd": "Password change",
  "aud.act.user-add": "User added",
  "aud.act.user-del": "User deleted",
  "aud.act.user-passwd": "Password set",
  "aud.act.user-role": "Role changed",
  "aud.act.token-add": "Token added",
  "aud.act.token-del": "Token deleted",
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
  "link.locked": "未登录：无实时数值",
  "link.me_failed": "无法连接数据服务，{s} 秒后重试。",

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

  "nav.admin": "用户",
  "nav.audit": "审计日志",

  "role.viewer": "查看者",
  "role.operator": "操作员",
  "role.engineer": "工程师",
  "role.admin": "管理员",
  "role.kiosk": "大屏",

  "user.login": "登录",
  "user.login.title": "登录后方可操作；未登录也可查看",
  "user.menu.title": "账户：退出登录、修改密码",
  "user.as": "当前登录",
  "user.as_token": "大屏（凭大屏令牌登录）",
  "user.until": "会话有效至 {t}",
  "user.passwd": "修改密码",
  "user.logout": "退出登录",
  "user.logout_failed": "无法退出登录：{e}",

  "login.title": "登录",
  "login.title.screen": "大屏未登录",
  "login.title.nousers": "尚无用户",
  "login.user": "用户名",
  "login.password": "密码",
  "login.submit": "登录",
  "login.busy": "正在验证…",
  "login.empty": "请输入用户名和密码。",
  "login.bad": "用户名或密码错误。",
  "login.throttled": "失败次数过多。请等待 {s} 秒后再试。",
  "login.network": "无法连接数据服务（网络错误）。请检查网络后重试。",
  "login.overloaded": "数据服务正忙于处理其他登录，请稍后再试。",
  "login.failed": "登录失败：{e}",
  "login.anon": "不登录，继续查看",
  "login.required": "本数据服务须登录后才能查看。",
  "login.expired": "您的会话已结束（长时间未使用、在别处退出，或用户已被修改）。请重新登录以查看实时数值。",
  "login.already": "当前登录：{user}（{role}）。如需切换用户，请在下方登录。",
  "login.nousers": "尚未创建任何用户，因此无人可以登录。请在数据服务所在的计算机上运行：",
  "login.nousers.note": "FILE 为数据服务所用的站点文件（lockbridge run -c FILE）。该命令会要求输入两次密码。新用户创建后本页会自动发现。",
  "login.kiosk": "请在数据服务所在的计算机上运行以下命令，并在本屏打开它输出的地址，大屏即自动登录。也可在下方登录。",

  "token.bad": "数据服务不接受本大屏的大屏令牌：令牌已被删除（lockbridge token del），或地址输入有误。",
  "token.ended": "本大屏的令牌会话已结束：令牌已被删除，或会话已到期。",
  "token.fix": "请在数据服务所在的计算机上新建令牌，并打开它输出的地址：",
  "token.anon": "本地址中的大屏令牌被拒绝（已删除或输入有误）：本屏只显示无需登录即可查看的内容。",
  "token.throttled": "失败次数过多，数据服务在 {s} 秒内拒绝来自本地址的登录，届时将再次尝试大屏令牌。",
  "token.network": "无法连接数据服务为本大屏登录，{s} 秒后重试。",
  "token.failed": "无法使用大屏令牌：{e}。{s} 秒后重试。",

  "notice.expired": "您的会话已结束：本页现在只显示无需登录即可查看的内容。如需操作，请重新登录。",
  "notice.close": "关闭",

  "pw.title": "修改密码",
  "pw.old": "当前密码",
  "pw.new": "新密码",
  "pw.again": "再次输入新密码",
  "pw.rule": "至少 10 个字符。修改后您的其他会话将被退出。",
  "pw.submit": "修改密码",
  "pw.cancel": "取消",
  "pw.close": "关闭",
  "pw.missing": "请填写全部三项。",
  "pw.mismatch": "两次输入的新密码不一致。",
  "pw.short": "新密码至少需要 10 个字符。",
  "pw.bad": "当前密码错误。",
  "pw.refused": "数据服务拒绝了新密码：{e}",
  "pw.token": "大屏令牌没有密码。",
  "pw.done": "密码已修改。{user} 的其他会话均已退出。",

  "adm.title": "用户与大屏令牌",
  "adm.users": "用户",
  "adm.tokens": "大屏令牌",
  "adm.col.name": "名称",
  "adm.col.role": "角色",
  "adm.col.created": "创建时间",
  "adm.col.changed": "密码设置时间",
  "adm.col.last_used": "最近使用",
  "adm.never": "从未",
  "adm.no_users": "尚无用户。",
  "adm.no_tokens": "尚无大屏令牌。",
  "adm.how": "用户和令牌须在数据服务所在的计算机上修改，而不是在本页。FILE 为数据服务所用的站点文件：",
  "adm.cmd.user_add": "新增用户（要求输入两次密码；--password-stdin 从标准输入读取一行）",
  "adm.cmd.user_passwd": "设置用户密码",
  "adm.cmd.user_role": "修改用户角色",
  "adm.cmd.user_del": "删除用户，其会话随即结束",
  "adm.cmd.token_add": "生成大屏地址（只显示这一次）",
  "adm.cmd.token_del": "吊销令牌，使用它的大屏随即退出",
  "adm.roles": "角色（每个角色包含前面角色的权限）：查看者只能查看；操作员还可确认报警（报警功能上线后）；工程师还可查看审计日志；管理员还可查看本页。",
  "adm.need": "本页需要{role}角色；{user} 的角色是{has}。",
  "adm.need_login": "请以具有{role}角色的用户登录后查看本页。",
  "adm.failed": "无法从数据服务读取列表：{e}",

  "aud.title": "审计日志",
  "aud.refresh": "刷新",
  "aud.col.ts": "时间",
  "aud.col.user": "操作人",
  "aud.col.action": "操作",
  "aud.col.detail": "详情",
  "aud.col.address": "地址",
  "aud.col.result": "结果",
  "aud.none": "此时间范围内没有记录。",
  "aud.count": "共 {n} 条，最新的在前",
  "aud.capped": "显示最新 {shown} 条；缩小时间范围可查看更早的记录。",
  "aud.res.ok": "成功",
  "aud.res.bad": "被拒绝",
  "aud.res.throttled": "已限制",
  "aud.res.error": "出错",
  "aud.act.login": "登录",
  "aud.act.token-login": "大屏令牌登录",
  "aud.act.logout": "退出登录",
  "aud.act.passwd": "修改密码",
  "aud.act.user-add": "新增用户",
  "aud.act.user-del": "删除用户",
  "aud.act.user-passwd": "设置密码",
  "aud.act.user-role": "修改角色",
  "aud.act.token-add": "新增令牌",
  "aud.act.token-del": "删除令牌",
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

/* Whether there is a label for key (for codes from the bridge that a
 * newer bridge may add to: those are shown as they are). */
export function has(key) {
  return key in dicts[lang] || key in en;
}

/* A bilingual text from the API: {en, zh} (zh defaults to en there). */
export function pick(text) {
  if (!text) return "";
  if (typeof text === "string") return text;
  return text[lang] || text.en || "";
}
