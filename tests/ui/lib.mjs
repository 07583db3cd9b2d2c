// What the browser tests share: a JSON request that never throws on a non-JSON answer, and
// polling with a deadline.

/** `fetch` and the answer's status and body (parsed as JSON where it is JSON). */
export async function fetchJson(url, init) {
  const r = await fetch(url, init);
  const text = await r.text();
  let body;
  try { body = JSON.parse(text); } catch { body = text; }
  return { status: r.status, body };
}

/** `fn()` until it gives something truthy, every `interval` ms for at most `timeout` ms. */
export async function until(what, fn, { timeout = 20_000, interval = 300 } = {}) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) { last = e; }
    if (Date.now() > end) throw new Error(`timed out after ${timeout / 1000} s waiting for ${what}` + (last ? `: ${last.message}` : ''));
    await new Promise((r) => setTimeout(r, interval));
  }
}
