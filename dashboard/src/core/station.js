/*
 * station.js - the station as /api/station describes it, indexed for the
 * views: tags by full id and by PLC, state labels by code, how many
 * decimals a value deserves, and the schematic's role bindings.
 *
 * Nothing in the dashboard knows a tag id: views ask this model (which
 * PLCs exist, which tag plays the role "chamber_level"), so any station
 * file works.
 */

/* Which decimals a numeric tag is shown with: its deadband says what
 * resolution is news; without one, the size of its range does. */
function decimalsFor(t) {
  if (t.type === "bool" || t.type === "string") return 0;
  if (t.deadband > 0) {
    const d = Math.ceil(-Math.log10(t.deadband) - 1e-9);
    return Math.max(0, Math.min(3, d));
  }
  if (t.range) {
    const span = t.range[1] - t.range[0];
    if (span <= 2) return 3;
    if (span <= 50) return 2;
    if (span <= 1000) return 1;
  }
  return /^[ui]\d+$/.test(t.type) ? 0 : 2;
}

/* A label of a state that is itself a problem: shown as abnormal.  This
 * reads the station's own English labels (no codes, no tag ids), for
 * the values a map gives no alarm; what the alarm definitions say is
 * marked by priority (core/alarms.js). */
const ABNORMAL_LABEL = /\b(fault|alarm|trip|overload|failure|timeout|too large|error)\b/i;
const NOT_ABNORMAL = /^(no|none|normal|ok)\b/i;
/* Boolean tags named like a problem: true is abnormal. */
const ABNORMAL_BOOL = /\b(fault|alarm|trip|clogged|emergency stop|failure)\b/i;

export function makeStation(json) {
  const st = json.station;
  const tags = new Map();
  const plcs = json.plcs.map((p) => ({
    id: p.id,
    name: p.name,
    description: p.description,
    host: p.host,
    port: p.port,
    enabled: p.enabled,
    groups: p.groups,
    tags: [],
  }));
  const plcById = new Map(plcs.map((p) => [p.id, p]));
  for (const t of json.tags) {
    const states = new Map();
    let abnormalStates = null;
    for (const s of t.states || []) {
      states.set(s.value, s.label);
      if (ABNORMAL_LABEL.test(s.label.en) && !NOT_ABNORMAL.test(s.label.en)) {
        (abnormalStates || (abnormalStates = new Set())).add(s.value);
      }
    }
    const meta = {
      tag: t.tag,
      plc: t.plc,
      id: t.id,
      name: t.name,
      description: t.description,
      unit: t.unit || "",
      type: t.type,
      range: t.range,
      group: t.group,
      periodMs: t.period_ms,
      states,
      abnormalStates,
      abnormalTrue: t.type === "bool" && states.size === 0 && ABNORMAL_BOOL.test(t.name.en),
      decimals: decimalsFor(t),
      numeric: t.type !== "string",
      stepped: t.type === "bool" || states.size > 0,
      search: (t.tag + " " + t.name.en + " " + t.name.zh).toLowerCase(),
    };
    tags.set(t.tag, meta);
    const p = plcById.get(t.plc);
    if (p) p.tags.push(meta);
  }
  /* The alarm definitions (absent from an older bridge): the alarm
   * pages' filters, and the journal's messages. */
  const alarmDefs = new Map();
  for (const a of json.alarms || []) alarmDefs.set(a.id, a);
  const areas = [...new Set([...alarmDefs.values()].map((a) => a.area).filter(Boolean))].sort();
  return {
    id: st.id,
    name: st.name,
    alarmDefs,
    areas,
    timezone: st.timezone || "UTC",
    plcs,
    plcById,
    tags,
    schematic: json.schematic || null,
    /* The longest poll period among a PLC's tags: how long a change may
     * take to arrive. */
    maxPeriodMs(plcId) {
      const p = plcById.get(plcId);
      return p ? Math.max(...p.groups.map((g) => g.period_ms)) : 1000;
    },
  };
}

/* The tag bound to a role (a list role gives a list). */
export function role(station, name) {
  const s = station.schematic;
  return s ? s[name] || null : null;
}

/* true when a good value is itself a problem (see ABNORMAL_*). */
export function valueAbnormal(meta, v) {
  if (!meta || v === null || v === undefined) return false;
  if (meta.abnormalTrue) return v === true;
  if (meta.abnormalStates) return meta.abnormalStates.has(typeof v === "boolean" ? (v ? 1 : 0) : v);
  return false;
}
