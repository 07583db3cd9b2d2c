// Live windows: rates and error rates over the last 30 s, from the differences between
// successive summaries (the API's figures cover everything stored). Pure: no DOM.

import { edgeId } from './graph.js';

export const WINDOW_MS = 30000;
// a window needs at least this much time between its two summaries to say anything
export const MIN_WINDOW_MS = 8000;
// trend points kept per RED row: 3 minutes at one summary every 2 s
export const TREND_POINTS = 90;

// one summary's cumulative counts, keyed for `windowed`
export function sampleOf(sum, t) {
  const s = { t, dropped: (sum.counters.traces_dropped || 0) + (sum.counters.spans_dropped || 0), red: {}, svc: {}, edges: {} };
  for (const r of sum.red) {
    s.red[r.service + '|' + r.traffic_type] = [r.requests, r.errors];
    const a = s.svc[r.service] || (s.svc[r.service] = [0, 0]);
    a[0] += r.requests; a[1] += r.errors;
  }
  for (const e of sum.edges) s.edges[edgeId(e)] = [e.calls, e.errors];
  return s;
}

export function liveWindow({ windowMs = WINDOW_MS, minMs = MIN_WINDOW_MS, trendPoints = TREND_POINTS } = {}) {
  const samples = [];
  const trends = new Map(); // red key -> [{rate, err}]

  // `kind` is 'red' (service|traffic type), 'svc' (service) or 'edges' (edgeId): the
  // requests, errors and rate between the oldest summary of the window and the newest, or
  // null when there is no such pair (too early, or the store dropped traces in between)
  function windowed(kind, key) {
    const last = samples[samples.length - 1];
    if (!last) return null;
    let base = null;
    for (const s of samples) {
      if (s === last) break;
      if (s.dropped === last.dropped && last.t - s.t >= minMs) { base = s; break; }
    }
    if (!base) return null;
    const b = last[kind][key];
    if (!b) return null;
    const a = base[kind][key] || [0, 0];
    const dn = b[0] - a[0], de = b[1] - a[1];
    if (dn < 0 || de < 0) return null;
    const secs = (last.t - base.t) / 1000;
    return { rate: dn / secs, n: dn, errors: de, errRate: dn ? de / dn : null, secs };
  }

  function record(sum, now = Date.now()) {
    const s = sampleOf(sum, now);
    samples.push(s);
    while (samples.length > 2 && samples[1].t <= s.t - windowMs) samples.shift();
    for (const r of sum.red) {
      const k = r.service + '|' + r.traffic_type;
      const w = windowed('red', k);
      if (!w) continue;
      const arr = trends.get(k) || [];
      arr.push({ rate: w.rate, err: w.n ? w.errRate : 0 });
      if (arr.length > trendPoints) arr.shift();
      trends.set(k, arr);
    }
  }

  // how many seconds the window spans, 0 while it is too short to show
  function secs() {
    const w = samples.length > 1 ? (samples[samples.length - 1].t - samples[0].t) / 1000 : 0;
    return w >= minMs / 1000 ? Math.round(w) : 0;
  }

  return { samples, trends, record, windowed, secs };
}
