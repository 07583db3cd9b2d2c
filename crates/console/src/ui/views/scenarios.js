// SCENARIOS: a card per scenario (switch, level, options), the timeline, the history.

import { $, $$, setAttrs, setText, setHtml, toast } from '../dom.js';
import { S } from '../state.js';
import { api } from '../api.js';
import { esc, colourOf, fmtClock, fmtAgo, levelColour } from '../format.js';
import { timelineLanes, timelineStep, defaultPrefs, activationBody } from '../data.js';
import { render as renderHeader } from './header.js';

const scn = { cards: new Map(), prefs: new Map(), busy: new Set() };
const SPEEDS = [1, 2, 5, 10, 20, 60];
const TL_RANGES = [[5 * 60e3, '5 min'], [15 * 60e3, '15 min'], [60 * 60e3, '1 h'], [0, 'all']];

export async function load() {
  try {
    S.scenarios = await api('/api/shop/scenarios');
    S.scenariosError = null;
  } catch (e) {
    e.at = Date.now();
    S.scenariosError = e;
    if (e.status === 404 || e.status === 503) S.scenarios = null;
  }
  renderHeader();
  if (S.route.view === 'scenarios') render();
}
export async function loadHistory() {
  try {
    const h = await api('/api/shop/scenarios/history');
    S.history = Array.isArray(h) ? h : (h && h.changes) || [];
  } catch { /* the banner above says why */ }
  if (S.route.view === 'scenarios') renderTimeline();
}

function prefsOf(d) {
  let p = scn.prefs.get(d.name);
  if (!p) { p = defaultPrefs(d); scn.prefs.set(d.name, p); }
  return p;
}

function createCard(d) {
  const bf = d.name === 'blackfriday';
  const el = document.createElement('article');
  el.className = 'scn';
  el.dataset.card = d.name;
  const levels = bf ? ['auto', 0, 1, 2, 3, 4, 5] : [1, 2, 3, 4, 5];
  el.innerHTML =
    `<header><div><h3>${esc(d.name)}</h3><div class="tgt">on <b class="tgt-svc">${esc(d.target)}</b> · ${esc(d.operation)}</div></div>` +
    `<button class="switch" role="switch" aria-checked="false" data-scenario="${esc(d.name)}" aria-label="${esc(d.name)}" title="Switch ${esc(d.name)} on"><span class="knob"></span></button></header>` +
    `<div class="ft">${esc(d.fault_type)}</div>` +
    `<p class="desc">${esc(d.description)}</p>` +
    `<div class="ctl"><span>Level</span><span class="seg">${levels.map(l => `<button type="button" data-level="${l}" title="${l === 'auto' ? 'follow the story’s schedule' : 'level ' + l}">${l}</button>`).join('')}</span>` +
    (bf ? `<label>Speed <select data-opt="speed">${SPEEDS.map(s => `<option value="${s}">${s}×</option>`).join('')}</select></label>` +
      `<label title="checkout continues without recommendations"><input type="checkbox" data-opt="graceful"> graceful</label>` : '') +
    (d.any_service ? `<label>On <select data-opt="target"></select></label>` : '') +
    `<label title="adds fault.injected=true to the spans the fault touched"><input type="checkbox" data-opt="mark"> mark faults</label></div>` +
    `<div class="state">off</div>`;
  return el;
}

function updateCard(el, d, a) {
  const p = prefsOf(d);
  const on = !!a;
  el.classList.toggle('on', on);
  const sw = $('.switch', el);
  setAttrs(sw, { 'aria-checked': on ? 'true' : 'false', title: `Switch ${d.name} ${on ? 'off' : 'on'}` });
  sw.disabled = scn.busy.has(d.name);
  const lvl = on ? (a.level == null ? (d.name === 'blackfriday' ? 'auto' : String(a.current_level)) : String(a.level)) : String(p.level);
  for (const b of $$('[data-level]', el)) {
    b.classList.toggle('sel', b.dataset.level === lvl);
    b.disabled = scn.busy.has(d.name);
  }
  const speed = $('[data-opt="speed"]', el);
  if (speed && document.activeElement !== speed) {
    const v = String(on ? a.speed : p.speed);
    if (![...speed.options].some(o => o.value === v)) speed.add(new Option(v + '×', v));
    speed.value = v;
  }
  const gr = $('[data-opt="graceful"]', el);
  if (gr) gr.checked = on ? !!a.graceful : p.graceful;
  $('[data-opt="mark"]', el).checked = on ? !!a.mark_faults : p.mark;
  const tsel = $('[data-opt="target"]', el);
  if (tsel) {
    const names = S.summary ? S.summary.services.filter(n => n !== 'load-generator') : [d.target];
    const all = [...new Set([d.target, ...names, on ? a.target : p.target])].sort();
    const sig = all.join(',');
    if (tsel.dataset.sig !== sig) { tsel.dataset.sig = sig; tsel.innerHTML = all.map(n => `<option value="${esc(n)}">${esc(n)}</option>`).join(''); }
    if (document.activeElement !== tsel) tsel.value = on ? a.target : p.target;
  }
  setText($('.tgt-svc', el), on ? a.target : (d.any_service ? p.target : d.target));
  const st = $('.state', el);
  if (on) {
    const bits = [`<b>ON</b> · level ${a.current_level}${a.level == null && d.name === 'blackfriday' ? ' (schedule)' : ''}<span class="meter">${[1, 2, 3, 4, 5].map(i => `<i style="background:${i <= a.current_level ? levelColour(i) : ''}"></i>`).join('')}</span>`];
    if (d.name === 'blackfriday') bits.push(`story minute ${Math.floor(a.story_minutes)} at ${a.speed}×`);
    bits.push(`since ${fmtClock(a.started_at_ms)}`);
    if (a.seed != null) bits.push(`seed ${esc(a.seed)}`);
    setHtml(st, bits.join(' · '));
  } else setText(st, scn.busy.has(d.name) ? '…' : 'off');
}

export function render() {
  const data = S.scenarios;
  const err = $('#scn-error');
  if (!data) {
    err.hidden = false;
    err.textContent = S.scenariosError
      ? `The scenario API is not reachable through the console: ${S.scenariosError.message}.`
      : 'Loading scenarios…';
    $('#scn-clear-all').disabled = true;
    return;
  }
  err.hidden = !S.scenariosError;
  if (S.scenariosError) err.textContent = 'The scenario API did not answer just now: ' + S.scenariosError.message;
  const grid = $('#scn-grid');
  const active = new Map(data.active.map(a => [a.scenario, a]));
  const names = new Set();
  for (const d of data.available) {
    names.add(d.name);
    let el = scn.cards.get(d.name);
    if (!el) { el = createCard(d); grid.appendChild(el); scn.cards.set(d.name, el); }
    updateCard(el, d, active.get(d.name));
  }
  for (const [n, el] of scn.cards) if (!names.has(n)) { el.remove(); scn.cards.delete(n); }
  $('#scn-clear-all').disabled = !data.active.length;
}

function defOf(name) { return S.scenarios && S.scenarios.available.find(d => d.name === name); }
function activeOf(name) { return S.scenarios && S.scenarios.active.find(a => a.scenario === name); }

async function change(name, fn, okMsg) {
  scn.busy.add(name);
  render();
  try {
    await fn();
    if (okMsg) toast(okMsg, 'ok');
  } catch (e) {
    toast(`${name}: ${e.message}`, 'error');
  } finally {
    scn.busy.delete(name);
    await Promise.allSettled([load(), loadHistory()]);
  }
}
const scnPath = name => '/api/shop/scenarios/' + encodeURIComponent(name);

function toggleScenario(name) {
  const d = defOf(name);
  if (!d || scn.busy.has(name)) return;
  if (activeOf(name)) return change(name, () => api(scnPath(name), { method: 'DELETE' }), `${name} switched off`);
  const body = activationBody(d, prefsOf(d));
  return change(name, () => api(scnPath(name), { method: 'PUT', body }), `${name} switched on`);
}
function setOption(name, key, value) {
  const d = defOf(name);
  if (!d) return;
  const p = prefsOf(d);
  const a = activeOf(name);
  if (key === 'level') {
    if (value !== 'auto') value = Number(value);
    p.level = value;
    if (!a) return render();
    if (value === 'auto') {
      if (a.level == null) return;
      toast('To follow the schedule again, switch blackfriday off and on: the story restarts.', '');
      return render();
    }
    return change(name, () => api(scnPath(name), { method: 'PUT', body: { level: value } }), `${name}: level ${value}`);
  }
  const field = { speed: 'speed', mark: 'mark_faults', graceful: 'graceful', target: 'target' }[key];
  if (key === 'speed') value = Number(value);
  p[key] = value;
  if (!a) return render();
  return change(name, () => api(scnPath(name), { method: 'PUT', body: { [field]: value } }), `${name}: ${field} ${value}`);
}

export function renderTimeline() {
  setHtml($('#tl-range'), TL_RANGES.map(([ms, l]) => `<button data-range="${ms}" class="${S.tlRange === ms ? 'sel' : ''}">${l}</button>`).join(''));
  const active = S.scenarios ? S.scenarios.active.map(a => a.scenario) : null;
  const { hist, now, from, to, shown } = timelineLanes(S.history, { rangeMs: S.tlRange, active });
  const el = $('#scn-timeline');
  const W = Math.max(400, el.clientWidth || 1000), LW = 200, laneH = 38, top = 4, axisH = 24;
  const H = top + Math.max(1, shown.length) * laneH + axisH;
  el.setAttribute('height', H);
  el.setAttribute('viewBox', `0 0 ${W} ${H}`);
  const x = t => LW + (Math.max(from, Math.min(to, t)) - from) / (to - from) * (W - LW - 10);
  let h = '';
  const step = timelineStep(to - from, W - LW);
  for (let t = Math.ceil(from / step) * step; t <= to; t += step) {
    const xx = x(t);
    h += `<line x1="${xx}" x2="${xx}" y1="${top}" y2="${H - axisH + 4}" stroke="#1e2a44"/>`;
    if (Math.abs(xx - x(now)) > 60) h += `<text x="${xx}" y="${H - 8}" text-anchor="middle">${step < 60e3 ? fmtClock(t) : fmtClock(t).slice(0, 5)}</text>`;
  }
  if (!shown.length) h += `<text x="${LW + (W - LW) / 2}" y="${top + laneH / 2 + 5}" text-anchor="middle">nothing switched in this range: switch a scenario on above and it appears here</text>`;
  shown.forEach(([name, l], i) => {
    const y = top + i * laneH;
    h += `<rect x="0" y="${y + 3}" width="${W}" height="${laneH - 6}" fill="${i % 2 ? '#0c1322' : '#0f1729'}" rx="6"/>`;
    h += `<text class="lane-name" x="12" y="${y + laneH / 2 + 5}">${esc(name)}</text>`;
    for (const s of l.segs) {
      if (s.to < from) continue;
      const x1 = x(s.from), x2 = Math.max(x1 + 3, x(s.to));
      h += `<rect x="${x1}" y="${y + 8}" width="${x2 - x1}" height="${laneH - 16}" rx="4" fill="${levelColour(s.level)}"><title>${esc(name)} level ${s.level} (${esc(s.source)})\n${fmtClock(s.from)} – ${s.to >= now ? 'now' : fmtClock(s.to)}</title></rect>`;
      if (x2 - x1 > 30) h += `<text class="seg-l" x="${x1 + 6}" y="${y + laneH / 2 + 4.5}">L${s.level}</text>`;
    }
    for (const e of l.events) {
      if (e.at_ms < from) continue;
      const xx = x(e.at_ms);
      const c = e.action === 'deactivated' ? '#22c55e' : e.action === 'activated' ? '#ffffff' : '#fde68a';
      h += `<path d="M${xx - 5},${y + 3} L${xx + 5},${y + 3} L${xx},${y + 10} Z" fill="${c}"><title>${fmtClock(e.at_ms)} ${esc(e.action)} ${esc(e.scenario)} level ${e.level} by ${esc(e.source)}</title></path>`;
    }
  });
  const nx = x(now);
  h += `<line class="now" x1="${nx}" x2="${nx}" y1="${top}" y2="${H - axisH + 4}"/><text class="now-l" x="${nx - 4}" y="${H - axisH + 16}" text-anchor="end">now</text>`;
  el.innerHTML = h;

  const rows = [...hist].reverse().slice(0, 200).map(e => `<tr><td><b>${fmtClock(e.at_ms)}</b> <span class="dim">${fmtAgo(e.at_ms)}</span></td>` +
    `<td><span class="act ${esc(e.action)}">${esc(e.action)}</span></td><td class="svc">${esc(e.scenario)}</td>` +
    `<td><span class="swatch" style="background:${colourOf(e.target_service)}"></span>${esc(e.target_service)} <span class="muted">${esc(e.operation)}</span></td>` +
    `<td class="num"><b>${esc(e.level)}</b></td><td><span class="chip">${esc(e.source === 'schedule' ? 'schedule' : 'control')}</span></td></tr>`).join('')
    || '<tr><td colspan="6" class="empty">No changes yet.</td></tr>';
  setHtml($('#scn-history tbody'), rows);
}

export function listen() {
  $('#scn-grid').addEventListener('click', e => {
    const card = e.target.closest('.scn');
    if (!card) return;
    const sw = e.target.closest('.switch[data-scenario]');
    if (sw) { toggleScenario(sw.dataset.scenario); return; }
    const lv = e.target.closest('[data-level]');
    if (lv) setOption(card.dataset.card, 'level', lv.dataset.level);
  });
  $('#scn-grid').addEventListener('change', e => {
    const card = e.target.closest('.scn');
    const opt = e.target.dataset.opt;
    if (!card || !opt) return;
    setOption(card.dataset.card, opt, e.target.type === 'checkbox' ? e.target.checked : e.target.value);
  });
  $('#scn-clear-all').addEventListener('click', async () => {
    try { await api('/api/shop/scenarios', { method: 'DELETE' }); toast('All scenarios switched off', 'ok'); }
    catch (e) { toast('Could not switch them off: ' + e.message, 'error'); }
    await Promise.allSettled([load(), loadHistory()]);
  });
  $('#tl-range').addEventListener('click', e => {
    const b = e.target.closest('[data-range]');
    if (!b) return;
    S.tlRange = Number(b.dataset.range);
    renderTimeline();
  });
  window.addEventListener('resize', () => { if (S.route.view === 'scenarios') renderTimeline(); });
}
