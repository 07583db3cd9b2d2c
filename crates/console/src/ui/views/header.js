// The header: the store's size, the scenarios switched on, the load, live / paused / offline.

import { $, setHtml } from '../dom.js';
import { S } from '../state.js';
import { esc, fmtInt, fmtRate } from '../format.js';

export function render() {
  const s = S.summary;
  if (s) {
    const c = $('#counters');
    c.innerHTML =
      `<b>${fmtInt(s.traces)}</b> traces · <b>${fmtInt(s.spans)}</b> spans` +
      ((s.counters.spans_dropped || s.counters.traces_dropped) ? ` · <span class="warn-t">${fmtInt(s.counters.traces_dropped)} traces aged out</span>` : '');
    // the counters give way to the scenario pills when the header is short of room (style.css)
    c.title = c.textContent;
  }
  const chips = $('#scenario-chips');
  const sc = S.scenarios;
  if (!sc) { chips.innerHTML = ''; }
  else if (!sc.active.length) chips.innerHTML = '<a class="chip ok" href="#scenarios">no scenario on</a>';
  else {
    setHtml(chips, sc.active.map(a =>
      `<a class="chip crit" href="#scenarios" data-active="${esc(a.scenario)}" title="level ${a.current_level}${a.scenario === 'blackfriday' ? `, story minute ${Math.floor(a.story_minutes)}` : ''}">⚠ <b>${esc(a.scenario)}</b> L${a.current_level}${a.scenario === 'blackfriday' ? ` · min ${Math.floor(a.story_minutes)}` : ''}</a>`).join(' '));
  }
  const lc = $('#load-chip');
  const l = S.load;
  if (!l) lc.hidden = true;
  else {
    lc.hidden = false;
    lc.className = 'chip' + (l.running ? '' : ' warn');
    lc.innerHTML = l.running ? `load <b>${fmtRate(l.journeys_per_second ?? 0)}</b> journeys/s` : 'load stopped';
  }
}

export function setLive() {
  const el = $('#live');
  el.classList.toggle('off', !S.online);
  el.classList.toggle('paused', S.paused && S.online);
  $('span', el).textContent = !S.online ? 'offline' : S.paused ? 'paused' : 'live';
  $('#pause').textContent = S.paused ? 'Resume' : 'Pause';
}
