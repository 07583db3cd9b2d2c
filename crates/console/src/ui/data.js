// Shaping the API's answers for the views: per-service figures, statement tables, the trace
// scatter's scales, the scenario timeline's lanes and the scenario requests. Pure: no DOM.

import { push } from './format.js';

// a service's requests, rate, error rate and p95 over its traffic types; the rate and error
// rates over the live window when the summary carried one (`live` from live.js), else over
// everything stored
export function serviceStats(sum, name, live) {
  const rows = sum.red.filter(r => r.service === name).sort((a, b) => b.requests - a.requests);
  let req = 0, err = 0, rate = 0, p95 = null;
  for (const r of rows) { req += r.requests; err += r.errors; rate += r.rate_per_s; p95 = Math.max(p95 ?? 0, r.p95_ms); }
  const w = live.windowed('svc', name);
  const types = rows.map(r => {
    const tw = live.windowed('red', name + '|' + r.traffic_type);
    return { type: r.traffic_type, errRate: tw ? tw.errRate : r.error_rate, live: !!tw, n: tw ? tw.n : r.requests };
  });
  return {
    req, err, p95, types,
    rate: w ? w.rate : rate,
    errRate: w ? w.errRate : (req ? err / req : null),
    live: !!w,
  };
}

// RED rows grouped by service (sorted), baseline first, then demo, then the others
export function redGroups(red, trafficFilter = '') {
  const bySvc = new Map();
  for (const r of red) if (!trafficFilter || r.traffic_type === trafficFilter) push(bySvc, r.service, r);
  const order = t => t === 'baseline' ? 0 : t === 'demo' ? 1 : 2;
  return [...bySvc.keys()].sort().map(name => [name,
    bySvc.get(name).sort((a, b) => order(a.traffic_type) - order(b.traffic_type) || a.traffic_type.localeCompare(b.traffic_type))]);
}

// the statements that match the filter (system, service or text), sorted by `key` ('time'
// is calls × p50); text columns compare as text
export function statementRows(databases, filter, { key, asc }) {
  const f = (filter || '').trim().toLowerCase();
  const val = d => key === 'time' ? d.calls * d.p50_ms : d[key];
  return databases
    .filter(d => !f || `${d.system} ${d.service} ${d.statement}`.toLowerCase().includes(f))
    .sort((a, b) => {
      const x = val(a), y = val(b);
      const c = typeof x === 'string' ? x.localeCompare(y) : x - y;
      return asc ? c : -c;
    });
}
// a click on a column: the same column flips, a new one starts ascending for text, descending for figures
export function nextSort(cur, key) {
  return cur.key === key ? { key, asc: !cur.asc } : { key, asc: ['statement', 'system', 'service'].includes(key) };
}

// the trace scatter: time across (at least a minute), duration up on a log scale (at least
// a factor of ten, the points in the middle)
export function scatterScales(list, { W, H, L = 64, R = 14, T = 12, B = 26, now = Date.now() }) {
  const t1 = Math.max(now, ...list.map(t => t.start_unix_ms));
  const t0 = Math.min(t1 - 60000, ...list.map(t => t.start_unix_ms));
  let dmin = Math.max(0.05, Math.min(...list.map(t => t.duration_ms))), dmax = Math.max(dmin, ...list.map(t => t.duration_ms));
  if (dmax / dmin < 10) { const c = Math.sqrt(dmin * dmax); dmin = c / 3.2; dmax = c * 3.2; }
  dmin /= 1.3; dmax *= 1.3;
  const lx = v => L + (v - t0) / (t1 - t0) * (W - L - R);
  const ly = v => T + (1 - (Math.log(Math.max(v, dmin)) - Math.log(dmin)) / (Math.log(dmax) - Math.log(dmin))) * (H - T - B);
  return { t0, t1, dmin, dmax, lx, ly };
}

// the scenario timeline: one lane per scenario with its segments (from, to, level, source)
// and its changes, over [from, to]. `active` is the names switched on now, or null when the
// scenario API has not answered (then what is open runs to now).
export function timelineLanes(history, { rangeMs, active, now = Date.now() }) {
  const hist = [...(history || [])].sort((a, b) => a.at_ms - b.at_ms);
  now = Math.max(now, hist.length ? hist[hist.length - 1].at_ms : 0);
  const from = rangeMs ? now - rangeMs : Math.min(now - 60e3, hist.length ? hist[0].at_ms - 5e3 : now - 60e3);
  const to = now + (now - from) * 0.02;
  const lanes = new Map();
  const laneOf = n => { let l = lanes.get(n); if (!l) { l = { segs: [], events: [], open: null }; lanes.set(n, l); } return l; };
  for (const h of hist) {
    const l = laneOf(h.scenario);
    l.events.push(h);
    if (l.open) { l.open.to = h.at_ms; l.segs.push(l.open); l.open = null; }
    if (h.action !== 'deactivated') l.open = { from: h.at_ms, level: h.level, source: h.source };
  }
  const activeNames = new Set(active || []);
  for (const [n, l] of lanes) {
    if (l.open) { l.open.to = activeNames.has(n) || !active ? now : l.open.from; l.segs.push(l.open); }
    delete l.open;
  }
  const shown = [...lanes].filter(([n, l]) => activeNames.has(n) || l.segs.some(s => s.to >= from) || l.events.some(e => e.at_ms >= from));
  return { hist, now, from, to, shown };
}
// the axis step: the first round step that leaves 110 px between ticks
export function timelineStep(spanMs, widthPx) {
  const steps = [5e3, 10e3, 15e3, 30e3, 60e3, 120e3, 300e3, 600e3, 900e3, 1800e3, 3600e3, 7200e3, 21600e3, 43200e3, 86400e3];
  return steps.find(s => widthPx / (spanMs / s) >= 110) || 86400e3;
}

// what a card starts with: Black Friday follows its schedule at 10×, the others level 3
export function defaultPrefs(d) {
  return d.name === 'blackfriday'
    ? { level: 'auto', speed: 10, mark: false, graceful: false, target: d.target }
    : { level: 3, speed: 1, mark: false, graceful: false, target: d.target };
}
// the body of the PUT that switches a scenario on with the card's choices
export function activationBody(d, p) {
  const body = { mark_faults: p.mark };
  if (p.level !== 'auto') body.level = Number(p.level);
  if (d.name === 'blackfriday') { body.speed = Number(p.speed); body.graceful = p.graceful; }
  if (d.any_service && p.target && p.target !== d.target) body.target = p.target;
  return body;
}
