// Live figures: rates and error rates over the last 30 s, from the `window` the summary
// carries (`/api/summary?window_s=30`: the requests that started in that time, counted by
// the console), so the very first answer has them; and a 3-minute trend per RED row from
// successive answers. Pure: no DOM.

import { edgeId } from './graph.js';

export const WINDOW_S = 30;
// trend points kept per RED row: 3 minutes at one summary every 2 s
export const TREND_POINTS = 90;

// one summary's window, keyed for `windowed`: [requests, errors, answered 4xx] per key; null
// when the summary carries none
export function windowOf(sum) {
  const w = sum.window;
  if (!w) return null;
  const out = { secs: w.seconds, red: {}, svc: {}, edges: {} };
  for (const r of w.red) {
    out.red[r.service + '|' + r.traffic_type] = [r.requests, r.errors, 0];
    const a = out.svc[r.service] || (out.svc[r.service] = [0, 0, 0]);
    a[0] += r.requests; a[1] += r.errors;
  }
  for (const e of w.edges) out.edges[edgeId(e)] = [e.calls, e.errors, e.status_4xx || 0];
  return out;
}

export function liveWindow({ trendPoints = TREND_POINTS } = {}) {
  let cur = null;
  const trends = new Map(); // red key -> [{rate, err}]

  // `kind` is 'red' (service|traffic type), 'svc' (service) or 'edges' (edgeId): the
  // requests, errors, 4xx answers and rate of the window (nothing there: none), or null
  // when the latest summary carried no window
  function windowed(kind, key) {
    if (!cur) return null;
    const [n, errors, status4xx] = cur[kind][key] || [0, 0, 0];
    return { rate: n / cur.secs, n, errors, status4xx, errRate: n ? errors / n : null, secs: cur.secs };
  }

  function record(sum) {
    cur = windowOf(sum);
    if (!cur) return;
    for (const r of sum.red) {
      const k = r.service + '|' + r.traffic_type;
      const w = windowed('red', k);
      const arr = trends.get(k) || [];
      arr.push({ rate: w.rate, err: w.n ? w.errRate : 0 });
      if (arr.length > trendPoints) arr.shift();
      trends.set(k, arr);
    }
  }

  // how many seconds the window spans (fewer than 30 while the store holds less), 0 without one
  function secs() {
    return cur ? Math.round(cur.secs) : 0;
  }

  return { trends, record, windowed, secs };
}
