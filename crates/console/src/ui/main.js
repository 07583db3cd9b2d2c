// The console's page: routing between the views, the 2-second refresh, the keys, the start.

import { $, $$ } from './dom.js';
import { S, live, VIEWS, TABS, REFRESH_MS, parseHash } from './state.js';
import { WINDOW_S } from './live.js';
import { api } from './api.js';
import { colourOf } from './format.js';
import * as header from './views/header.js';
import * as mapView from './views/map.js';
import * as servicesView from './views/services.js';
import * as tracesView from './views/traces.js';
import * as traceView from './views/trace.js';
import * as databasesView from './views/databases.js';
import * as scenariosView from './views/scenarios.js';
import * as loadView from './views/load.js';

// ---------------------------------------------------------------------- routing
function onRoute() {
  const prev = S.route;
  S.route = parseHash(location.hash);
  const v = S.route.view;
  for (const name of VIEWS) $('#view-' + name).hidden = name !== v;
  for (const a of $$('#tabs a')) a.classList.toggle('active', a.dataset.tab === v || (v === 'trace' && a.dataset.tab === 'traces'));
  document.title = 'tracemart console · ' + (v === 'trace' ? 'trace ' + S.route.id.slice(0, 8) : v);
  if (v === 'traces') tracesView.enter();
  if (v === 'trace') traceView.enter();
  if (v === 'scenarios') { scenariosView.render(); scenariosView.load(); scenariosView.loadHistory(); loadView.load(); }
  if (S.summary) renderView();
  if (prev.view !== v) window.scrollTo(0, 0);
}

// the views drawn from the summary
function renderView() {
  const v = S.route.view;
  if (v === 'map') mapView.render();
  else if (v === 'services') servicesView.render();
  else if (v === 'databases') databasesView.render();
  else if (v === 'traces') tracesView.updateServiceOptions();
}

// ---------------------------------------------------------------------- refresh loop
let timer = null, busy = false;
async function tick() {
  if (busy) return;
  busy = true;
  clearTimeout(timer);
  try {
    if (!S.paused && !document.hidden) await refresh();
  } finally {
    busy = false;
    timer = setTimeout(tick, REFRESH_MS);
  }
}
async function refresh() {
  const v = S.route.view;
  // a console that is not connected to a shop is asked again every 10 s, not every 2
  const quiet = e => e && (e.status === 404 || e.status === 503) && Date.now() - e.at < 10000 && v !== 'scenarios';
  const jobs = [loadSummary()];
  if (!quiet(S.scenariosError)) jobs.push(scenariosView.load());
  if (!quiet(S.loadError)) jobs.push(loadView.load());
  if (v === 'traces') jobs.push(tracesView.refresh());
  if (v === 'trace') jobs.push(traceView.load());
  if (v === 'scenarios') jobs.push(scenariosView.loadHistory());
  await Promise.allSettled(jobs);
}

async function loadSummary() {
  try {
    // with the graph and RED of the last 30 s, so the first paint is already live
    const sum = await api(`/api/summary?settle_s=15&window_s=${WINDOW_S}`);
    if (!S.summary) for (const n of [...sum.services].sort()) colourOf(n);
    S.summary = sum;
    S.online = true;
    live.record(sum);
    header.render();
    renderView();
  } catch {
    S.online = false;
  }
  header.setLive();
}

// ---------------------------------------------------------------------- listeners
window.addEventListener('hashchange', onRoute);
document.addEventListener('visibilitychange', () => { if (!document.hidden) tick(); });
$('#pause').addEventListener('click', () => { S.paused = !S.paused; header.setLive(); if (!S.paused) tick(); });
document.addEventListener('keydown', e => {
  if (e.target.closest('input, select, textarea') || e.ctrlKey || e.metaKey || e.altKey) return;
  if (/^[1-5]$/.test(e.key)) { location.hash = '#' + TABS[Number(e.key) - 1]; e.preventDefault(); }
  else if (e.key === 'p' || e.key === 'P') $('#pause').click();
  else if (S.route.view === 'trace') traceView.onKey(e);
});
for (const view of [mapView, servicesView, tracesView, traceView, databasesView, scenariosView, loadView]) view.listen();

// ---------------------------------------------------------------------- start
function measureHeader() { document.documentElement.style.setProperty('--hdr', $('header.top').offsetHeight + 'px'); }
new ResizeObserver(measureHeader).observe($('header.top'));
measureHeader();
// the first summary names the services, so each gets the same colour in every view
loadSummary().finally(() => {
  onRoute();
  timer = setTimeout(tick, REFRESH_MS);
  Promise.allSettled([scenariosView.load(), loadView.load()]);
});
