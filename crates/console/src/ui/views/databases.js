// DATABASES: a card per service and database, then every statement, sortable and filtered.

import { $, $$, setHtml } from '../dom.js';
import { S, live } from '../state.js';
import { esc, colourOf, fmtInt, fmtMs, levelOf, sqlHtml } from '../format.js';
import { edgeId } from '../graph.js';
import { statementRows, nextSort } from '../data.js';

export function render() {
  const s = S.summary;
  if (!s) return;
  const dbEdges = s.edges.filter(e => e.to_kind === 'database').sort((a, b) => a.to.localeCompare(b.to) || a.from.localeCompare(b.from));
  const cards = dbEdges.map(e => {
    const w = live.windowed('edges', edgeId(e));
    const er = w ? w.errRate : e.error_rate;
    return `<div class="panel db-card ${levelOf(er) === 'ok' ? '' : levelOf(er)}"><div class="hd"><span class="swatch" style="background:${colourOf(e.from)}"></span>${esc(e.from)} <span class="muted">→</span> ${esc(e.to)}</div>` +
      `<div class="st"><span><b>${fmtInt(e.calls)}</b> calls</span><span class="${e.errors ? 'crit-t' : ''}"><b>${fmtInt(e.errors)}</b> errors</span><span>p50 <b>${fmtMs(e.p50_ms)}</b></span><span>p95 <b>${fmtMs(e.p95_ms)}</b></span></div></div>`;
  }).join('') || '<div class="muted">No database spans yet.</div>';
  setHtml($('#db-cards'), cards);

  const { key, asc } = S.dbSort;
  const rows = statementRows(s.databases, $('#db-filter').value, S.dbSort);
  const html = rows.map(d => {
    const k = d.system + '|' + d.service + '|' + d.statement;
    const p95c = d.p95_ms >= 500 ? 'veryslow' : d.p95_ms >= 100 ? 'slow' : '';
    return `<tr class="click${S.dbOpen.has(k) ? ' open' : ''}" data-db-key="${esc(k)}"><td class="stmt"><div>${sqlHtml(d.statement)}</div></td>` +
      `<td>${esc(d.system)}</td><td class="svc"><span class="swatch" style="background:${colourOf(d.service)}"></span>${esc(d.service)}</td>` +
      `<td class="num">${fmtInt(d.calls)}</td><td class="num ${d.errors ? 'crit-t' : ''}">${fmtInt(d.errors)}</td>` +
      `<td class="num">${fmtMs(d.p50_ms)}</td><td class="num ${p95c}">${fmtMs(d.p95_ms)}</td><td class="num">${fmtMs(d.calls * d.p50_ms)}</td></tr>`;
  }).join('') || `<tr><td colspan="8" class="empty">${s.databases.length ? 'Nothing matches the filter.' : 'No database statements yet.'}</td></tr>`;
  setHtml($('#db-table tbody'), html);
  for (const th of $$('#db-table th[data-sort]')) {
    th.classList.toggle('sorted', th.dataset.sort === key);
    th.classList.toggle('asc', th.dataset.sort === key && asc);
  }
}

export function listen() {
  $('#db-filter').addEventListener('input', render);
  $('#db-table thead').addEventListener('click', e => {
    const th = e.target.closest('th[data-sort]');
    if (!th) return;
    S.dbSort = nextSort(S.dbSort, th.dataset.sort);
    render();
  });
  $('#db-table tbody').addEventListener('click', e => {
    const r = e.target.closest('tr[data-db-key]');
    if (!r) return;
    const k = r.dataset.dbKey;
    if (!S.dbOpen.delete(k)) S.dbOpen.add(k);
    r.classList.toggle('open', S.dbOpen.has(k));
  });
}
