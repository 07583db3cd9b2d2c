// LOAD: the load generator's panel in the Scenarios view (rate, journeys, start and stop).

import { $, setText, setHtml, toast } from '../dom.js';
import { S } from '../state.js';
import { api } from '../api.js';
import { esc, fmtInt, fmtPct, fmtRate } from '../format.js';
import { render as renderHeader } from './header.js';

const PRESETS = [0.5, 1, 2, 5, 10, 20, 50];
// the rate typed or slid but not yet set: the refresh leaves it alone
let rateDirty = false;

export async function load() {
  try { S.load = await api('/api/load/status'); S.loadError = null; }
  catch (e) { e.at = Date.now(); S.loadError = e; if (e.status === 404 || e.status === 503) S.load = null; }
  renderHeader();
  if (S.route.view === 'scenarios') render();
}

export function render() {
  const l = S.load;
  const errBox = $('#load-error');
  if (!l) {
    errBox.hidden = false;
    errBox.textContent = S.loadError ? 'The load generator is not reachable through the console: ' + S.loadError.message : 'Loading…';
    return;
  }
  errBox.hidden = !S.loadError;
  const state = $('#load-state');
  state.className = 'chip ' + (l.running ? 'ok' : 'warn');
  setText(state, l.running ? 'running' : 'stopped');
  setText($('#load-toggle'), l.running ? 'Stop' : 'Start');
  const jps = l.journeys_per_second;
  setText($('#load-jps'), jps == null ? '–' : fmtRate(jps));
  setText($('#load-inflight'), fmtInt(l.in_flight));
  const st = l.stats || {};
  setText($('#load-rps'), st.requests_per_s == null ? '–' : fmtRate(st.requests_per_s));
  setText($('#load-err'), st.error_rate == null ? '–' : fmtPct(st.error_rate));
  const js = l.journeys || {};
  setHtml($('#load-journeys tbody'), Object.keys(js).map(k => `<tr><td class="svc">${esc(k)}</td><td class="num">${fmtInt(js[k].started)}</td><td class="num ok-t">${fmtInt(js[k].succeeded)}</td><td class="num ${js[k].failed ? 'crit-t' : ''}">${fmtInt(js[k].failed)}</td></tr>`).join(''));
  const input = $('#load-rate'), slider = $('#load-slider');
  if (!rateDirty && jps != null && document.activeElement !== input && document.activeElement !== slider) {
    input.value = jps;
    slider.value = Math.min(50, Math.max(0.5, jps));
  }
  setHtml($('#load-presets'), PRESETS.map(v => `<button class="btn small${jps === v ? ' on' : ''}" data-rate="${v}">${v}/s</button>`).join(''));
}

async function setRate(v) {
  v = Number(v);
  if (!(v > 0)) { toast('The rate is journeys per second, above 0.', 'error'); return; }
  try {
    await api('/api/load/rate', { method: 'PUT', body: { journeys_per_second: v } });
    rateDirty = false;
    toast(`Load: ${v} journeys/s`, 'ok');
  } catch (e) { toast('Could not set the rate: ' + e.message, 'error'); }
  load();
}

export function listen() {
  $('#load-slider').addEventListener('input', e => { rateDirty = true; $('#load-rate').value = e.target.value; });
  $('#load-slider').addEventListener('change', e => setRate(e.target.value));
  $('#load-rate').addEventListener('input', () => { rateDirty = true; });
  $('#load-rate').addEventListener('keydown', e => { if (e.key === 'Enter') setRate($('#load-rate').value); });
  $('#load-apply').addEventListener('click', () => setRate($('#load-rate').value));
  $('#load-presets').addEventListener('click', e => { const b = e.target.closest('[data-rate]'); if (b) setRate(b.dataset.rate); });
  $('#load-toggle').addEventListener('click', async () => {
    const running = S.load && S.load.running;
    try { await api(running ? '/api/load/stop' : '/api/load/start', { method: 'POST' }); toast(running ? 'Load stopped' : 'Load started', 'ok'); }
    catch (e) { toast('Load: ' + e.message, 'error'); }
    load();
  });
}
