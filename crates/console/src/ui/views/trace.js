// ONE TRACE: the waterfall, the selected span's attributes and logs, the trace's logs.

import { $, $$ } from '../dom.js';
import { S } from '../state.js';
import { api } from '../api.js';
import { esc, colourOf, fmtMs, fmtClock, ttClass } from '../format.js';
import { traceTree, errorOrigin, traceBounds, waterfallRows, collapsedAncestors } from '../tree.js';

const NO_SPAN = '<div class="muted">Click a span to see its attributes and logs.</div>';
const KEY_ATTRS = new Set(['traffic.type', 'http.route', 'url.template', 'http.response.status_code', 'db.query.text', 'db.system.name', 'peer.service', 'session.id']);

// the route opened the view: a new trace starts afresh, the same one follows `?span=`
export function enter() {
  if (S.traceId !== S.route.id) {
    S.traceId = S.route.id; S.trace = null; S.traceSig = ''; S.collapsed = new Set();
    S.selected = S.route.params.span || null;
    $('#waterfall').innerHTML = '<div class="empty">Loading trace…</div>';
    $('#span-detail').innerHTML = NO_SPAN;
    $('#trace-logs').innerHTML = '';
  } else if (S.route.params.span) {
    selectSpan(S.route.params.span, false);
  }
  load();
}

export async function load() {
  const id = S.route.id;
  if (!id) return;
  try {
    const t = await api('/api/traces/' + encodeURIComponent(id));
    if (S.route.view !== 'trace' || S.route.id !== id) return;
    $('#trace-missing').hidden = true;
    const sig = `${t.spans.length}:${t.logs.length}:${t.summary && t.summary.duration_ms}`;
    if (sig !== S.traceSig) { S.trace = t; S.traceSig = sig; render(); }
  } catch (e) {
    if (S.route.view !== 'trace' || S.route.id !== id) return;
    const m = $('#trace-missing');
    m.hidden = false;
    m.textContent = e.status === 404
      ? (S.trace ? 'This trace has aged out of the console’s store (the oldest go first); what you see is the last copy.' : 'No such trace in the console’s store: it may have aged out (the oldest go first).')
      : e.status === 400 ? 'That is not a trace id (32 hex digits).' : 'Could not load the trace: ' + e.message;
    if (!S.trace) $('#waterfall').innerHTML = '<div class="empty">No trace to show. <a href="#traces">Back to the traces</a>.</div>';
  }
}

export function render() {
  const t = S.trace;
  if (!t) return;
  const sm = t.summary || {};
  const spans = t.spans;
  const tree = traceTree(spans);
  S.tree = tree;
  const { t0, total } = traceBounds(spans);
  S.t0 = t0;
  const totalMs = total / 1e6;

  $('#trace-title').innerHTML = `<span class="swatch" style="background:${colourOf(sm.root_service)}"></span><span class="muted">${esc(sm.root_service)}</span> ${esc(sm.root_name)}`;
  const facts = [
    sm.error ? '<span class="chip crit">error</span>' : '<span class="chip ok">ok</span>',
    sm.traffic_type ? `<span class="tt ${ttClass(sm.traffic_type)}">${esc(sm.traffic_type)}</span>` : '',
    `<span class="chip">duration <b>${fmtMs(sm.duration_ms ?? totalMs)}</b></span>`,
    `<span class="chip">spans <b>${spans.length}</b></span>`,
    `<span class="chip">depth <b>${sm.depth ?? '–'}</b></span>`,
    `<span class="chip">services <b>${(sm.services || []).length}</b></span>`,
    `<span class="chip">started <b>${sm.start_unix_ms ? fmtClock(sm.start_unix_ms) : '–'}</b></span>`,
    `<span class="chip mono" title="trace id">${esc(sm.trace_id || S.route.id)}</span>`,
  ];
  $('#trace-facts').innerHTML = facts.join('');
  const counts = new Map();
  for (const s of spans) counts.set(s.service, (counts.get(s.service) || 0) + 1);
  $('#trace-services').innerHTML = [...counts].sort((a, b) => a[0].localeCompare(b[0])).map(([n, c]) => `<span class="chip"><span class="swatch" style="background:${colourOf(n)}"></span>${esc(n)} <b>${c}</b></span>`).join('');

  const logsBySpan = new Map();
  for (const l of t.logs) if (l.span_id) logsBySpan.set(l.span_id, (logsBySpan.get(l.span_id) || 0) + 1);

  const ticks = [0, 0.25, 0.5, 0.75, 1].map(f => `<span style="left:${f * 100}%">${esc(fmtMs(totalMs * f))}</span>`).join('');
  const rows = waterfallRows(tree, S.collapsed, t0, total).map(r => {
    const s = r.span;
    const nlogs = logsBySpan.get(s.span_id);
    return `<div class="wf-row${s.error ? ' err' : ''}${S.selected === s.span_id ? ' sel' : ''}${r.hidden ? ' hidden' : ''}" data-span-id="${esc(s.span_id)}" data-depth="${r.depth}">` +
      `<div class="wf-name" style="padding-left:${0.5 + r.depth * 1.05}rem">` +
      (r.hasKids ? `<button class="tw" data-toggle="${esc(s.span_id)}" aria-label="collapse or expand">${S.collapsed.has(s.span_id) ? '▸' : '▾'}</button>` : '<span class="tw"></span>') +
      `<span class="sw" style="background:${colourOf(s.service)}"></span>${r.showService ? `<span class="sv">${esc(s.service)}</span>` : ''}<span class="nm" title="${esc(s.name)}">${esc(s.name)}</span>` +
      `<span class="kind">${esc(s.kind)}</span>${s.error ? '<span class="ex" title="error">!</span>' : ''}${nlogs ? `<span class="lg" title="log records">${nlogs} log${nlogs > 1 ? 's' : ''}</span>` : ''}${r.orphan ? '<span class="kind" title="its parent is not in the store">orphan</span>' : ''}</div>` +
      `<div class="wf-track"><div class="bar" style="left:${r.left.toFixed(3)}%;width:${r.width.toFixed(3)}%;background:${colourOf(s.service)}"></div><span class="dur${r.inside ? ' in' : ''}" style="${r.durPos}">${esc(fmtMs(s.duration_ms))}</span></div></div>`;
  });
  $('#waterfall').innerHTML = `<div class="wf-axis"><div>Span</div><div class="wf-ticks">${ticks}</div></div><div class="wf-rows">${rows.join('')}</div>`;

  $('#logs-title').textContent = `Logs (${t.logs.length})`;
  const logs = [...t.logs].sort((a, b) => a.time_ns - b.time_ns);
  $('#trace-logs').innerHTML = logs.length ? logs.map(l => {
    const sev = String(l.severity || '').toUpperCase();
    const attrs = (l.attributes || []).map(([k, v]) => `<span>${esc(k)}=${esc(v)}</span>`).join('');
    return `<div class="log${S.selected && l.span_id === S.selected ? ' sel' : ''}" data-log-span="${esc(l.span_id || '')}">` +
      `<span class="muted">+${esc(fmtMs((l.time_ns - t0) / 1e6))}</span>` +
      `<span class="svc"><span class="swatch" style="background:${colourOf(l.service)}"></span>${esc(l.service)}</span>` +
      `<span class="sev ${esc(sev)}">${esc(sev || '–')}</span>` +
      `<div><div class="body">${esc(typeof l.body === 'string' ? l.body : JSON.stringify(l.body))}</div><div class="kv">${attrs}</div></div></div>`;
  }).join('') : '<div class="empty">No log records carry this trace id.</div>';

  if (S.selected && tree.byId.has(S.selected)) renderSpanDetail(tree.byId.get(S.selected));
  else if (!S.selected && spans.length) {
    // start where the error began: the first failing span with no failing child
    const origin = errorOrigin(tree);
    if (origin) selectSpan(origin.span_id, 'center');
  }
}

function renderSpanDetail(s) {
  const t = S.trace;
  const attrs = Object.entries(s.attributes || {}).sort((a, b) => a[0].localeCompare(b[0]));
  const parent = s.parent_span_id ? S.tree.byId.get(s.parent_span_id) : null;
  const logs = t.logs.filter(l => l.span_id === s.span_id);
  $('#span-detail').innerHTML =
    `<div class="title">${esc(s.name)}</div>` +
    `<div class="row" style="display:flex; gap:0.4rem; flex-wrap:wrap; margin-top:0.5rem">` +
    `<span class="chip"><span class="swatch" style="background:${colourOf(s.service)}"></span>${esc(s.service)}</span><span class="chip">${esc(s.kind)}</span>` +
    (s.error ? '<span class="chip crit">error</span>' : '<span class="chip ok">ok</span>') + `</div>` +
    `<dl><dt>Duration</dt><dd><b>${esc(fmtMs(s.duration_ms))}</b></dd>` +
    `<dt>Starts at</dt><dd>+${esc(fmtMs((s.start_unix_ns - S.t0) / 1e6))}</dd>` +
    `<dt>Span id</dt><dd class="mono">${esc(s.span_id)}</dd>` +
    `<dt>Parent</dt><dd>${parent ? `<a href="#" data-goto-span="${esc(parent.span_id)}">${esc(parent.service)} · ${esc(parent.name)}</a>` : s.parent_span_id ? `<span class="mono">${esc(s.parent_span_id)}</span> <span class="warn-t">(not stored)</span>` : 'none (root)'}</dd></dl>` +
    `<h4>Attributes (${attrs.length})</h4>` +
    (attrs.length ? `<table class="attrs" id="span-attrs">${attrs.map(([k, v]) => {
      const bad = (k === 'error.type') || (k === 'http.response.status_code' && Number(v) >= 500) || k.startsWith('fault.') || k === 'exception.message';
      return `<tr data-attr-key="${esc(k)}" class="${bad ? 'bad' : KEY_ATTRS.has(k) ? 'key' : ''}"><th>${esc(k)}</th><td>${esc(v)}</td></tr>`;
    }).join('')}</table>` : '<div class="muted">none</div>') +
    `<h4>Logs of this span (${logs.length})</h4>` +
    (logs.length ? logs.map(l => `<div style="margin-bottom:0.5rem"><span class="sev ${esc(String(l.severity).toUpperCase())}">${esc(l.severity)}</span> ${esc(typeof l.body === 'string' ? l.body : JSON.stringify(l.body))}<div class="kv" style="display:flex;gap:0.3rem;flex-wrap:wrap">${(l.attributes || []).map(([k, v]) => `<span class="mono dim" style="font-size:0.78rem">${esc(k)}=${esc(v)}</span>`).join('')}</div></div>`).join('') : '<div class="muted">none</div>');
}

export function selectSpan(id, scroll = true) {
  if (!S.tree || !S.tree.byId.has(id)) { S.selected = id; return; }
  S.selected = id;
  // make sure it is visible: expand collapsed ancestors
  const closed = collapsedAncestors(S.tree, id, S.collapsed);
  for (const p of closed) S.collapsed.delete(p);
  if (closed.length) render();
  for (const r of $$('#waterfall .wf-row')) r.classList.toggle('sel', r.dataset.spanId === id);
  for (const r of $$('#trace-logs .log')) r.classList.toggle('sel', r.dataset.logSpan === id);
  renderSpanDetail(S.tree.byId.get(id));
  history.replaceState(null, '', `#trace/${S.route.id}?span=${id}`);
  if (scroll) { const row = $(`#waterfall .wf-row[data-span-id="${CSS.escape(id)}"]`); if (row) row.scrollIntoView({ block: scroll === 'center' ? 'center' : 'nearest' }); }
}

// the view's keys: ↑/↓ (or k/j) walk the visible spans, Escape goes back to the list
export function onKey(e) {
  if (e.key === 'ArrowDown' || e.key === 'ArrowUp' || e.key === 'j' || e.key === 'k') {
    const rows = $$('#waterfall .wf-row:not(.hidden)');
    if (!rows.length) return;
    const i = rows.findIndex(r => r.dataset.spanId === S.selected);
    const n = (e.key === 'ArrowDown' || e.key === 'j') ? Math.min(rows.length - 1, i + 1) : Math.max(0, i - 1);
    selectSpan(rows[n].dataset.spanId);
    e.preventDefault();
  } else if (e.key === 'Escape') location.hash = '#traces';
}

export function listen() {
  $('#waterfall').addEventListener('click', e => {
    const tw = e.target.closest('[data-toggle]');
    if (tw) {
      const id = tw.dataset.toggle;
      if (!S.collapsed.delete(id)) S.collapsed.add(id);
      render();
      return;
    }
    const row = e.target.closest('.wf-row[data-span-id]');
    if (row) selectSpan(row.dataset.spanId, false);
  });
  $('#trace-logs').addEventListener('click', e => {
    const l = e.target.closest('.log[data-log-span]');
    if (l && l.dataset.logSpan) selectSpan(l.dataset.logSpan, true);
  });
  $('#span-detail').addEventListener('click', e => {
    const a = e.target.closest('[data-goto-span]');
    if (a) { e.preventDefault(); selectSpan(a.dataset.gotoSpan, true); }
  });
}
