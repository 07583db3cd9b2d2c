// The console's JSON API, same origin. A failed request throws an Error with the API's
// message and the HTTP status (`e.status`).
//
// Changes (scenarios, load) need the shop's control token when one is configured: the first
// 401 asks for it, and it is kept for this tab only (sessionStorage) and sent as
// `Authorization: Bearer`.

const TOKEN_KEY = 'tracemart.controlToken';

function storedToken() {
  try { return sessionStorage.getItem(TOKEN_KEY) || ''; } catch { return ''; }
}

function storeToken(token) {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch { /* storage unavailable: asked again next time */ }
}

async function send(path, opts, token) {
  const init = { method: opts.method || 'GET', headers: {}, cache: 'no-store' };
  if (opts.body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(opts.body);
  }
  if (token && init.method !== 'GET') init.headers.authorization = `Bearer ${token}`;
  const r = await fetch(path, init);
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  return { r, data };
}

export async function api(path, opts = {}) {
  const changes = (opts.method || 'GET') !== 'GET';
  let { r, data } = await send(path, opts, storedToken());
  if (r.status === 401 && changes && typeof prompt === 'function') {
    const token = prompt('This shop needs its control token to change scenarios and load:');
    if (token) {
      storeToken(token.trim());
      ({ r, data } = await send(path, opts, token.trim()));
      if (r.status === 401) storeToken('');
    }
  }
  if (!r.ok) {
    const m = data && data.error ? (data.error.message || data.error.code) : `${r.status} ${r.statusText}`;
    const e = new Error(m);
    e.status = r.status;
    throw e;
  }
  return data;
}
