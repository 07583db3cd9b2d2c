// SERVICES: the telemetry's health tiles, RED per service and traffic type, metric names.

import { $, setHtml, setText } from '../dom.js';
import { S, live } from '../state.js';
import { esc, colourOf, fmtInt, fmtMs, fmtPct, fmtRate, levelOf, ttClass, sparkline } from '../format.js';
import { redGroups } from '../data.js';

export function render() {
  const s = S.summary;
  if (!s) return;
  // telemetry health tiles (what `tracemart validate` checks, at a glance)
  const metricsCount = Object.values(s.metrics || {}).reduce((a, l) => a + l.length, 0);
  const tiles = [
    ['Services', s.services.length, ''],
    ['Traces', fmtInt(s.traces), ''],
    ['Spans', fmtInt(s.spans), ''],
    ['Deepest trace', s.max_depth, ''],
    ['Orphan spans', fmtInt(s.orphan_spans), s.orphan_spans ? 'warn' : 'ok'],
    ['Spans w/o traffic.type', fmtInt(s.spans_without_traffic_type), s.spans_without_traffic_type ? 'warn' : 'ok'],
    ['Logs with trace id', s.logs ? fmtPct(s.logs_with_trace_id / s.logs) : '–', ''],
    ['Metric names', fmtInt(metricsCount), ''],
  ];
  setHtml($('#quality'), tiles.map(([k, v, c]) => `<div class="tile ${c}"><div class="k">${esc(k)}</div><div class="v">${esc(v)}</div></div>`).join(''));

  const types = [...new Set(s.red.map(r => r.traffic_type))].sort();
  setHtml($('#tt-filter'), ['', ...types].map(t => `<button data-tt="${esc(t)}" class="${S.ttFilter === t ? 'sel' : ''}">${t ? esc(t === 'none' ? 'untyped' : t) : 'all traffic'}</button>`).join(''));

  const rows = [];
  for (const [name, list] of redGroups(s.red, S.ttFilter)) {
    list.forEach((r, i) => {
      const key = r.service + '|' + r.traffic_type;
      const w = live.windowed('red', key);
      const er = w ? w.errRate : r.error_rate;
      const lv = levelOf(er);
      const rate = w ? w.rate : r.rate_per_s;
      const q = new URLSearchParams({ service: r.service });
      if (r.traffic_type !== 'none') q.set('traffic_type', r.traffic_type);
      rows.push(`<tr class="click ${i === 0 ? 'first' : ''}" data-href="#traces?${q}">` +
        (i === 0 ? `<td class="svc-cell" rowspan="${list.length}"><span class="swatch" style="background:${colourOf(name)}"></span><span class="svc">${esc(name)}</span></td>` : '') +
        `<td><span class="tt ${ttClass(r.traffic_type)}">${esc(r.traffic_type === 'none' ? 'untyped' : r.traffic_type)}</span></td>` +
        `<td class="num"><b>${fmtRate(rate)}</b>${w ? ` <span class="dim">/ ${fmtRate(r.rate_per_s)}</span>` : ''}</td>` +
        `<td class="num"><div class="bar-cell"><span class="status ${lv}-t">${fmtPct(er)}</span>${w ? ` <span class="dim">${fmtPct(r.error_rate)}</span>` : ''}<span class="hbar"><i style="width:${Math.min(100, (er || 0) * 100).toFixed(1)}%;background:var(--${lv === 'idle' ? 'dim' : lv})"></i></span></div></td>` +
        `<td class="num">${fmtMs(r.p50_ms)}</td><td class="num"><b>${fmtMs(r.p95_ms)}</b></td><td class="num">${fmtMs(r.p99_ms)}</td>` +
        `<td class="num">${fmtInt(r.requests)}</td><td class="num ${r.errors ? 'crit-t' : ''}">${fmtInt(r.errors)}</td>` +
        `<td>${sparkline(live.trends.get(key), colourOf(name))}</td></tr>`);
    });
  }
  setHtml($('#red-table tbody'), rows.join('') || '<tr><td colspan="10" class="empty">No requests yet.</td></tr>');
  const secs = live.secs();
  setText($('#red-note'), (secs ? `Rate and error rate over the last ${secs} s (all stored spans in smaller type)` : 'Rate and error rate over all stored spans') +
    '; latencies, requests and errors over all stored spans. Click a row for its traces.');

  renderEvents(s.messaging || { published: 0, groups: [], gauges: [] });
  renderVitals(s.browser || { sessions: 0, fetches: 0, fetches_reaching_backend: 0, vitals: [] });

  const m = s.metrics || {};
  const mh = Object.keys(m).sort().map(svc => `<div><span class="swatch" style="background:${colourOf(svc)}"></span><span class="svc">${esc(svc)}</span></div><div class="mchips">${m[svc].map(n => `<span>${esc(n)}</span>`).join('')}</div>`).join('') || '<div class="muted">No metrics yet (they are exported every few seconds).</div>';
  setHtml($('#metrics-list'), mh);
}

// the order events per consumer group: processed of published, delays from the spans, the
// queue's depth and the consumer's lag from their gauges; the outbox's backlog in the note
function renderEvents(msg) {
  const gauge = (name, group) => (msg.gauges.find(g => g.name === name && (g.subscription || '').endsWith('.' + group)) || {}).value;
  const rows = msg.groups.map(f => {
    const depth = gauge('tracemart.messaging.queue.depth', f.group), lag = gauge('tracemart.messaging.consumer.lag', f.group);
    const behind = f.missing > 0 ? 'warn-t' : '';
    return `<tr data-group="${esc(f.group)}"><td><span class="swatch" style="background:${colourOf(f.group)}"></span><span class="svc">${esc(f.group)}</span></td>` +
      `<td class="num ${behind}">${fmtInt(f.consumed)} / ${fmtInt(msg.published)}</td><td class="num ${f.failed ? 'crit-t' : ''}">${fmtInt(f.failed)}</td>` +
      `<td class="num">${fmtMs(f.p50_delay_ms)}</td><td class="num">${fmtMs(f.max_delay_ms)}</td>` +
      `<td class="num">${depth === undefined ? '–' : fmtInt(depth)}</td><td class="num">${lag === undefined ? '–' : fmtMs(lag * 1000)}</td></tr>`;
  });
  setHtml($('#events-table tbody'), rows.join('') || '<tr><td colspan="7" class="empty">No order events processed yet.</td></tr>');
  const outbox = msg.gauges.filter(g => g.name === 'tracemart.outbox.pending').reduce((a, g) => a + g.value, 0);
  setText($('#events-note'), `Order events: of the ${fmtInt(msg.published)} published (a few seconds ago or more), what each consumer group processed, how long after the publish, and its queue now; ${fmtInt(outbox)} events wait in checkout's outbox.`);
}

// web vitals per storefront page (p75, as they are judged: LCP good under 2.5 s, INP under
// 200 ms, CLS under 0.1) and whether the browsers' calls reach the backend
const VITALS = { lcp: ['LCP', 2500, 4000], inp: ['INP', 200, 500], cls: ['CLS', 0.1, 0.25] };
function renderVitals(b) {
  const rows = b.vitals.map(v => {
    const [label, good, poor] = VITALS[v.name] || [v.name.toUpperCase(), Infinity, Infinity];
    const lv = v.p75 <= good ? 'ok' : v.p75 <= poor ? 'warn' : 'crit';
    const value = v.name === 'cls' ? v.p75.toFixed(3) : fmtMs(v.p75);
    return `<tr><td>${esc(v.page)}</td><td>${esc(label)}</td><td class="num"><span class="status ${lv}-t">${value}</span></td>` +
      `<td class="num">${fmtPct(v.good_share)}</td><td class="num">${fmtInt(v.reports)}</td></tr>`;
  });
  setHtml($('#vitals-table tbody'), rows.join('') || '<tr><td colspan="5" class="empty">No web vitals yet: open the storefront (the frontend, port 8018) in a browser.</td></tr>');
  setText($('#vitals-note'), b.spans
    ? `The storefront as ${fmtInt(b.sessions)} browser sessions report it: web vitals per page (75th percentile), and ${fmtInt(b.fetches_reaching_backend)} of ${fmtInt(b.fetches)} answered calls continuing in the backend's traces.`
    : 'The storefront as its shoppers\' browsers report it: no browser telemetry yet.');
}

export function listen() {
  $('#tt-filter').addEventListener('click', e => {
    const b = e.target.closest('[data-tt]');
    if (!b) return;
    S.ttFilter = b.dataset.tt;
    render();
  });
  $('#red-table').addEventListener('click', e => { const r = e.target.closest('tr[data-href]'); if (r) location.hash = r.dataset.href; });
}
