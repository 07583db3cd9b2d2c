// Serves the console's page straight from crates/console/src/ui/ (read on every request: `/`
// is index.html, `/ui/<path>` any file under it) and forwards everything else to a running
// console, so the page can be worked on and tested without rebuilding the binary. The
// console embeds the same files at build time.
//
//   CONSOLE_URL=http://127.0.0.1:8090 PORT=8091 node tests/ui/devserver.mjs
//
// /api/shop/scenarios… and /api/load/… go to the console too, unless SHOP_URL / LOAD_URL are
// set (then straight to the shop's /scenarios… and the load generator's /…, as the console
// itself forwards them).

import http from 'node:http';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const ui = path.resolve(here, '../../crates/console/src/ui');
const consoleUrl = process.env.CONSOLE_URL || 'http://127.0.0.1:8090';
const shopUrl = process.env.SHOP_URL || '';
const loadUrl = process.env.LOAD_URL || '';
const port = Number(process.env.PORT || 8091);

// the same types the console sends
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

function target(url) {
  if (shopUrl && url.startsWith('/api/shop/')) return shopUrl + url.slice('/api/shop'.length);
  if (loadUrl && url.startsWith('/api/load/')) return loadUrl + url.slice('/api/load'.length);
  return consoleUrl + url;
}

// the file a page request names, or null when it is not one (or leaves the ui directory)
function pageFile(url) {
  const p = decodeURIComponent(url.split('?')[0]);
  if (p === '/') return path.join(ui, 'index.html');
  if (!p.startsWith('/ui/')) return null;
  const file = path.resolve(ui, '.' + p.slice('/ui'.length));
  return file.startsWith(ui + path.sep) ? file : null;
}

const server = http.createServer(async (req, res) => {
  try {
    const file = req.method === 'GET' ? pageFile(req.url) : null;
    if (file) {
      const type = TYPES[path.extname(file)];
      const body = type ? await readFile(file).catch(() => null) : null;
      if (!body) {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('not found\n');
        return;
      }
      res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
      return;
    }
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks);
    const upstream = await fetch(target(req.url), {
      method: req.method,
      headers: body.length ? { 'content-type': 'application/json' } : {},
      body: body.length ? body : undefined,
    });
    const out = Buffer.from(await upstream.arrayBuffer());
    res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') || 'application/json' });
    res.end(out);
  } catch (e) {
    res.writeHead(502, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code: 'upstream_unreachable', message: String(e) } }));
  }
});

server.listen(port, '127.0.0.1', () => {
  console.log(`console page from ${ui} on http://127.0.0.1:${port} (API: ${consoleUrl})`);
});
