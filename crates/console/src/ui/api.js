// The console's JSON API, same origin. A failed request throws an Error with the API's
// message and the HTTP status (`e.status`).

export async function api(path, opts = {}) {
  const init = { method: opts.method || 'GET', headers: {}, cache: 'no-store' };
  if (opts.body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(opts.body);
  }
  const r = await fetch(path, init);
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (!r.ok) {
    const m = data && data.error ? (data.error.message || data.error.code) : `${r.status} ${r.statusText}`;
    const e = new Error(m);
    e.status = r.status;
    throw e;
  }
  return data;
}
