// What the page knows: the route, the latest answers of the API, the choices made in the
// views, and the live window (the latest summary's, with trends over successive ones). No DOM.

import { liveWindow } from './live.js';

export const VIEWS = ['map', 'services', 'traces', 'trace', 'databases', 'scenarios'];
// the views keys 1–5 switch to
export const TABS = ['map', 'services', 'traces', 'databases', 'scenarios'];
export const REFRESH_MS = 2000;

export const S = {
  route: { view: 'map', params: {} },
  summary: null,
  online: true,
  paused: false,
  traces: [],
  trace: null, traceSig: '', traceId: null, selected: null, collapsed: new Set(),
  scenarios: null, scenariosError: null,
  history: [],
  load: null, loadError: null,
  ttFilter: '',
  dbSort: { key: 'p95_ms', asc: false }, dbOpen: new Set(),
  tlRange: 15 * 60e3,
  listHover: false,
};

// rates and error rates over the last 30 s (see live.js)
export const live = liveWindow();

// `#traces?service=checkout`, `#trace/<id>?span=<id>`: the view, its id, its parameters
export function parseHash(hash) {
  const h = hash.replace(/^#\/?/, '');
  const [path, query = ''] = h.split('?');
  const params = Object.fromEntries(new URLSearchParams(query));
  const parts = path.split('/').filter(Boolean);
  let view = parts[0] || 'map';
  if (view === 'trace' && parts[1]) return { view, id: parts[1].toLowerCase(), params };
  if (!VIEWS.includes(view) || view === 'trace') view = 'map';
  return { view, params };
}
