// TRACES: the search form, the scatter of durations over time, the list newest first.

import { $ } from '../dom.js';
import { S } from '../state.js';
import { api } from '../api.js';
import { esc, colourOf, fmtMs, fmtClock, fmtAgo, ttClass } from '../format.js';
import { scatterScales } from '../data.js';

const FILTERS = [['service', '#f-service'], ['route', '#f-route'], ['status', '#f-status'], ['traffic_type', '#f-traffic'], ['min_duration_ms', '#f-min'], ['limit', '#f-limit']];
let tracesSeq = 0;
let tracesSig = '';

// the service and traffic type choices follow the summary
export function updateServiceOptions() {
  const s = S.summary;
  if (!s) return;
  const sel = $('#f-service');
  const cur = S.route.view === 'traces' ? (S.route.params.service || '') : sel.value;
  const names = [...new Set([...s.services, ...(cur ? [cur] : [])])].sort();
  const sig = names.join(',');
  if (sel.dataset.sig !== sig) {
    sel.dataset.sig = sig;
    sel.innerHTML = '<option value="">any</option>' + names.map(n => `<option value="${esc(n)}">${esc(n)}</option>`).join('');
    sel.value = cur;
  }
  const tts = [...new Set(s.red.map(r => r.traffic_type).filter(t => t !== 'none'))].sort();
  const tsel = $('#f-traffic');
  const tcur = tsel.value;
  const tsig = tts.join(',');
  if (tts.length && tsel.dataset.sig !== tsig) {
    tsel.dataset.sig = tsig;
    const all = [...new Set([...tts, ...(tcur ? [tcur] : [])])];
    tsel.innerHTML = '<option value="">any</option>' + all.map(n => `<option value="${esc(n)}">${esc(n)}</option>`).join('');
    tsel.value = tcur;
  }
}
function fillSearchForm() {
  updateServiceOptions();
  const p = S.route.params;
  for (const [k, sel] of FILTERS) {
    const el = $(sel);
    const v = p[k] || (k === 'limit' ? '100' : '');
    if (el.tagName === 'SELECT' && v && ![...el.options].some(o => o.value === v)) el.add(new Option(v, v));
    el.value = v;
  }
}
function searchQuery() {
  const q = new URLSearchParams();
  for (const [k, sel] of FILTERS) {
    const v = $(sel).value.trim();
    if (v && !(k === 'limit' && v === '100')) q.set(k, v);
  }
  return q;
}

// the route opened the view: the form shows its search
export function enter() {
  fillSearchForm();
  load();
}

export async function load() {
  const p = new URLSearchParams();
  for (const [k] of FILTERS) if (S.route.params[k]) p.set(k, S.route.params[k]);
  if (!p.has('limit')) p.set('limit', '100');
  const seq = ++tracesSeq;
  try {
    const list = await api('/api/traces?' + p);
    if (seq !== tracesSeq || S.route.view !== 'traces') return;
    S.traces = list;
    if (!S.listHover) render();
  } catch (e) {
    if (seq === tracesSeq) $('#trace-note').textContent = 'Could not load traces: ' + e.message;
  }
}
// a live refresh: only when the `live` box is ticked
export function refresh() {
  return $('#live-traces').checked ? load() : undefined;
}

export function render({ force = false } = {}) {
  const list = S.traces;
  const sig = list.map(t => t.trace_id + t.spans + t.duration_ms + t.error).join(',') + '|' + Math.floor(Date.now() / 10000);
  if (sig === tracesSig && !force) return;
  tracesSig = sig;
  const maxD = Math.max(1, ...list.map(t => t.duration_ms));
  const rows = list.map(t => {
    const tt = t.traffic_type || '';
    return `<tr class="click" data-trace-id="${esc(t.trace_id)}">` +
      `<td><b>${fmtClock(t.start_unix_ms)}</b> <span class="dim">${fmtAgo(t.start_unix_ms)}</span></td>` +
      `<td class="root"><span class="swatch" style="background:${colourOf(t.root_service)}"></span><span class="muted">${esc(t.root_service)}</span> <span class="nm">${esc(t.root_name)}</span></td>` +
      `<td>${tt ? `<span class="tt ${ttClass(tt)}">${esc(tt)}</span>` : '<span class="dim">–</span>'}</td>` +
      `<td class="num"><div class="bar-cell"><b>${fmtMs(t.duration_ms)}</b><span class="hbar"><i style="width:${(100 * t.duration_ms / maxD).toFixed(1)}%;background:${t.error ? 'var(--crit)' : 'var(--accent)'}"></i></span></div></td>` +
      `<td class="num">${t.spans}</td><td class="num">${t.depth}</td>` +
      `<td><span class="dots" title="${esc(t.services.join(', '))}">${t.services.map(s => `<i style="background:${colourOf(s)}"></i>`).join('')}</span> <span class="dim">${t.services.length}</span></td>` +
      `<td>${t.error ? '<span class="status crit-t">error</span>' : '<span class="status ok-t">ok</span>'}</td></tr>`;
  }).join('');
  $('#trace-list tbody').innerHTML = rows || '<tr><td colspan="8" class="empty">No trace matches. Loosen the search, or wait for traffic.</td></tr>';
  const errs = list.filter(t => t.error).length;
  $('#trace-note').textContent = list.length ? `${list.length} traces, newest first · ${errs} with errors · click one for its waterfall` : '';
  const dl = $('#route-list');
  const names = [...new Set(list.map(t => t.root_name))].sort().slice(0, 60);
  const dsig = names.join('|');
  if (dl.dataset.sig !== dsig) { dl.dataset.sig = dsig; dl.innerHTML = names.map(n => `<option value="${esc(n)}">`).join(''); }
  renderScatter(list);
}

function renderScatter(list) {
  const el = $('#trace-scatter');
  const W = Math.max(300, el.clientWidth || 1000), H = 170, L = 64, R = 14, T = 12, B = 26;
  el.setAttribute('viewBox', `0 0 ${W} ${H}`);
  if (!list.length) { el.innerHTML = `<text x="${W / 2}" y="${H / 2}" text-anchor="middle">no traces</text>`; return; }
  const { t0, t1, dmin, dmax, lx, ly } = scatterScales(list, { W, H, L, R, T, B });
  let h = '';
  for (const f of [0, 0.5, 1]) {
    const v = Math.exp(Math.log(dmin) + f * (Math.log(dmax) - Math.log(dmin)));
    const y = ly(v);
    h += `<line x1="${L}" x2="${W - R}" y1="${y}" y2="${y}" stroke="#26324d"/><text x="${L - 8}" y="${y + 4}" text-anchor="end">${esc(fmtMs(v))}</text>`;
  }
  h += `<text x="${L}" y="${H - 6}">${fmtClock(t0)}</text><text x="${W - R}" y="${H - 6}" text-anchor="end">${fmtClock(t1)}</text>`;
  const sorted = [...list].sort((a, b) => a.error - b.error);
  for (const t of sorted) {
    const c = t.error ? '#f43f5e' : t.traffic_type === 'demo' ? '#c084fc' : t.traffic_type === 'baseline' ? '#38bdf8' : '#94a3b8';
    const r = Math.min(9, 3 + Math.sqrt(t.spans) * 0.7);
    h += `<circle data-trace="${esc(t.trace_id)}" cx="${lx(t.start_unix_ms).toFixed(1)}" cy="${ly(t.duration_ms).toFixed(1)}" r="${r.toFixed(1)}" fill="${c}" fill-opacity="0.85"><title>${esc(t.root_service + ' · ' + t.root_name)}\n${esc(fmtMs(t.duration_ms))}, ${t.spans} spans${t.error ? ', error' : ''}</title></circle>`;
  }
  el.innerHTML = h;
}

export function listen() {
  $('#trace-search').addEventListener('submit', e => {
    e.preventDefault();
    const q = searchQuery().toString();
    const h = '#traces' + (q ? '?' + q : '');
    if (location.hash === h) load(); else location.hash = h;
  });
  for (const sel of ['#f-service', '#f-status', '#f-traffic', '#f-limit']) $(sel).addEventListener('change', () => $('#trace-search').requestSubmit());
  $('#f-reset').addEventListener('click', () => { location.hash = '#traces'; });
  $('#live-traces').addEventListener('change', e => { if (e.target.checked) load(); });
  $('#trace-list tbody').addEventListener('click', e => {
    const r = e.target.closest('tr[data-trace-id]');
    if (r) location.hash = '#trace/' + r.dataset.traceId;
  });
  $('#trace-list').addEventListener('mouseenter', () => { S.listHover = true; });
  $('#trace-list').addEventListener('mouseleave', () => { S.listHover = false; render(); });
  $('#trace-scatter').addEventListener('click', e => {
    const c = e.target.closest('[data-trace]');
    if (c) location.hash = '#trace/' + c.dataset.trace;
  });
  window.addEventListener('resize', () => { if (S.route.view === 'traces') render({ force: true }); });
}
