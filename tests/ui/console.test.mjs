// Headless-browser test of the console's web UI, against a running shop (tests/ui/run.sh
// starts one on free ports and sets the variables below).
//
//   CONSOLE_URL        where the page is served (the console, or devserver.mjs)
//   EXPECTED_SERVICES  comma-separated service names the map must show
//   CHROMIUM           the browser (default /usr/bin/chromium)
//   SCREENSHOTS        where to save screenshots (default tests/ui/screenshots)

import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

import { fetchJson, until } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const BASE = (process.env.CONSOLE_URL || 'http://127.0.0.1:8090').replace(/\/$/, '');
const EXPECTED = (process.env.EXPECTED_SERVICES || '').split(',').filter(Boolean).sort();
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SHOTS = process.env.SCREENSHOTS || path.join(here, 'screenshots');
const TOTAL_TIMEOUT_MS = Number(process.env.UI_TEST_TIMEOUT_MS || 150_000);

const started = Date.now();
const elapsed = () => ((Date.now() - started) / 1000).toFixed(1).padStart(5) + 's';
const log = (...a) => console.log(`[${elapsed()}]`, ...a);

const killer = setTimeout(() => {
  console.error(`FAIL: the UI test took longer than ${TOTAL_TIMEOUT_MS / 1000} s`);
  process.exit(1);
}, TOTAL_TIMEOUT_MS);
killer.unref();

const api = (p, init) => fetchJson(BASE + p, init);

let page, browser, stepName = 'start';
const pageErrors = [];

async function step(name, fn) {
  stepName = name;
  const t = Date.now();
  log(`▶ ${name}`);
  await fn();
  log(`✔ ${name} (${((Date.now() - t) / 1000).toFixed(1)} s)`);
}
const shot = async name => {
  const file = path.join(SHOTS, name + '.png');
  await page.screenshot({ path: file });
  log(`  screenshot ${path.relative(process.cwd(), file)}`);
};

async function main() {
  await rm(SHOTS, { recursive: true, force: true });
  await mkdir(SHOTS, { recursive: true });

  await step('the console serves this page and its API', async () => {
    const r = await fetch(BASE + '/');
    const html = await r.text();
    assert.equal(r.status, 200, 'GET / answers 200');
    const cards = await fetch(BASE + '/ui/views/scenarios.js');
    assert.ok(html.includes('id="waterfall"') && html.includes('src="/ui/main.js"') && cards.ok && (await cards.text()).includes('data-scenario'),
      'GET / is the current console page: this binary embeds an older one (rebuild it, or run with UI_FROM_SOURCE=1)');
    // the page's files as served, against crates/console/src/ui/
    const ui = path.join(here, '../../crates/console/src/ui');
    const files = (await readdir(ui, { recursive: true, withFileTypes: true }).catch(() => []))
      .filter(f => f.isFile()).map(f => path.relative(ui, path.join(f.parentPath ?? f.path, f.name)).split(path.sep).join('/'));
    const stale = [];
    for (const f of files) {
      const served = await fetch(BASE + (f === 'index.html' ? '/' : '/ui/' + f));
      if (!served.ok || await served.text() !== await readFile(path.join(ui, f), 'utf8')) stale.push(f);
    }
    if (stale.length) log(`  note: the page served differs from crates/console/src/ui/ in ${stale.join(', ')} (the binary predates the last edit: rebuild, or UI_FROM_SOURCE=1)`);
    const s = await api('/api/summary');
    assert.equal(s.status, 200, 'GET /api/summary answers 200');
    const sc = await api('/api/shop/scenarios');
    assert.equal(sc.status, 200, `GET /api/shop/scenarios answers 200 (got ${sc.status}: ${JSON.stringify(sc.body).slice(0, 200)}); the console must forward the scenario API`);
    assert.ok(sc.body.available.some(a => a.name === 'blackfriday'), 'blackfriday is an available scenario');
    assert.ok(!sc.body.active.some(a => a.scenario === 'blackfriday'), 'blackfriday is off at the start');
  });

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const context = await browser.newContext({ viewport: { width: 1920, height: 1080 } });
  page = await context.newPage();
  page.setDefaultTimeout(20_000);
  page.on('pageerror', e => { pageErrors.push(e.message); log('  page error:', e.message); });
  page.on('console', m => { if (m.type() === 'error') log('  console error:', m.text()); });

  await step('the service map shows every service', async () => {
    await page.goto(BASE + '/#map');
    const want = EXPECTED.length || 14;
    try {
      await page.waitForFunction(n => document.querySelectorAll('#map-svg [data-service]').length >= n, want, { timeout: 60_000 });
    } catch (e) {
      const got = await page.$$eval('#map-svg [data-service]', els => els.map(e => e.dataset.service));
      throw new Error(`the map shows ${got.length} services (${got.join(', ')}), not ${want}`);
    }
    const names = (await page.$$eval('#map-svg [data-service]', els => els.map(e => e.dataset.service))).sort();
    if (EXPECTED.length) assert.deepEqual(names, EXPECTED, 'the map shows exactly the shop\'s services');
    else assert.equal(names.length, 14, 'the map shows 14 services');
    assert.equal(new Set(names).size, names.length, 'each service once');
    // laid out left to right: the load generator first, the frontend next
    // The layout follows the calls seen so far: until every edge has arrived (and the nodes
    // have moved to their places) the order may not be final, so wait for it, then assert it.
    const order = [['load-generator', 'frontend'], ['frontend', 'checkout']].filter(([a, b]) => names.includes(a) && names.includes(b));
    await page.waitForFunction(pairs => pairs.every(([a, b]) => {
      const left = n => document.querySelector(`#map-svg [data-service="${n}"]`).getBoundingClientRect().left;
      return left(a) < left(b);
    }), order, { timeout: 30_000, polling: 250 }).catch(() => {});
    const x = async n => page.$eval(`#map-svg [data-service="${n}"]`, el => el.getBoundingClientRect().left);
    for (const [a, b] of order) assert.ok(await x(a) < await x(b), `${a} is left of ${b}`);
    const edges = await page.$$eval('#map-svg [data-edge]', els => els.length);
    assert.ok(edges >= names.length - 1, `the map draws the calls between them (${edges} edges)`);
    // the live window comes with the first summary: no figures over everything stored
    assert.match(await page.textContent('#map-window'), /over the last \d+ s/);
    // the order events' exchange stands between checkout and its consumers
    await page.waitForSelector('#map-svg [data-queue]', { timeout: 30_000 });
    for (const consumer of ['accounting', 'fraud-detection', 'notification']) {
      await page.waitForSelector(`#map-svg [data-edge$=">${consumer}"][data-from^="queue:"]`, { timeout: 30_000 });
    }
    assert.ok(await page.$('#map-svg [data-edge^="checkout>queue:"]'), 'checkout publishes to the queue');
    await shot('map');
  });

  await step('services: RED per service and traffic type', async () => {
    await page.click('#tabs a[data-tab="services"]');
    await page.waitForFunction(() => location.hash === '#services');
    await page.waitForSelector('#red-table tbody tr[data-href]');
    const rows = await page.$$eval('#red-table tbody tr[data-href]', els => els.length);
    assert.ok(rows >= (EXPECTED.length || 14), `a row per service and traffic type (${rows})`);
    const types = await page.$$eval('#red-table .tt', els => [...new Set(els.map(e => e.textContent))]);
    assert.ok(types.includes('baseline') && types.includes('demo'), `split by traffic.type (${types.join(', ')})`);
    // the trend lines start after a few refreshes
    await page.waitForSelector('#red-table .spark polyline', { timeout: 8_000 }).catch(() => {});
    // the order events per consumer group, with the queue's depth
    await page.waitForFunction(() => document.querySelectorAll('#events-table tbody tr[data-group]').length === 3, null, { timeout: 30_000 });
    const groups = (await page.$$eval('#events-table tbody tr[data-group]', els => els.map(e => e.dataset.group))).sort();
    assert.deepEqual(groups, ['accounting', 'fraud-detection', 'notification']);
    await shot('services');
  });

  let traceId;
  await step('traces: search by service, open one', async () => {
    await page.click('#tabs a[data-tab="traces"]');
    await page.waitForSelector('#f-service option[value="checkout"]', { state: 'attached' });
    await page.selectOption('#f-service', 'checkout');
    await page.waitForFunction(() => location.hash.includes('service=checkout'));
    const row = page.locator('#trace-list tr[data-trace-id]').first();
    await row.waitFor({ timeout: 30_000 });
    // every listed trace went through checkout, as the API says (once the list fetched with the
    // new filter has replaced the one shown before it)
    await until('the rows to be traces through checkout', async () => {
      const ids = await page.$$eval('#trace-list tr[data-trace-id]', els => els.map(e => e.dataset.traceId));
      const listed = await api('/api/traces?service=checkout&limit=500');
      const known = new Set(listed.body.map(t => t.trace_id));
      return ids.length > 0 && ids.every(id => known.has(id));
    }, { timeout: 10_000 });
    await shot('traces');
    traceId = await row.getAttribute('data-trace-id');
    await row.click();
    await page.waitForFunction(id => location.hash.startsWith('#trace/' + id), traceId);
  });

  await step('waterfall: spans, attributes on click, linked logs', async () => {
    await page.waitForSelector('#waterfall [data-span-id]');
    const t = await api('/api/traces/' + traceId);
    assert.equal(t.status, 200);
    const apiSpans = new Map(t.body.spans.map(s => [s.span_id, s]));
    const rows = await page.$$eval('#waterfall [data-span-id]', els => els.map(e => e.dataset.spanId));
    assert.ok(rows.length >= 2, `the waterfall shows the trace's spans (${rows.length})`);
    assert.ok(rows.every(id => apiSpans.has(id)), 'each row is a span of this trace');
    // a child is indented deeper than its parent
    const child = t.body.spans.find(s => s.parent_span_id && rows.includes(s.parent_span_id) && rows.includes(s.span_id));
    if (child) {
      const d = async id => Number(await page.getAttribute(`#waterfall [data-span-id="${id}"]`, 'data-depth'));
      assert.ok(await d(child.span_id) > await d(child.parent_span_id), 'children are indented under their parents');
    }
    // click a server span with attributes: the detail shows them
    const pick = t.body.spans.find(s => s.kind === 'server' && Object.keys(s.attributes).length > 2 && rows.includes(s.span_id))
      || t.body.spans.find(s => Object.keys(s.attributes).length && rows.includes(s.span_id));
    assert.ok(pick, 'a span with attributes');
    await page.click(`#waterfall [data-span-id="${pick.span_id}"] .wf-track`);
    await page.waitForSelector(`#waterfall [data-span-id="${pick.span_id}"].sel`);
    await page.waitForSelector('#span-detail [data-attr-key]');
    const keys = await page.$$eval('#span-detail [data-attr-key]', els => els.map(e => e.dataset.attrKey));
    for (const k of Object.keys(pick.attributes)) assert.ok(keys.includes(k), `attribute ${k} is shown`);
    const firstKey = Object.keys(pick.attributes).sort()[0];
    const shown = await page.textContent(`#span-detail [data-attr-key="${firstKey}"] td`);
    assert.equal(shown, pick.attributes[firstKey], `the value of ${firstKey}`);
    assert.ok((await page.textContent('#span-detail .title')).includes(pick.name), 'the detail names the span');
    // logs arrive in batches of their own: the page catches up on its next refresh
    const logs = await until('the trace\'s logs to be listed below the waterfall', async () => {
      const fresh = await api('/api/traces/' + traceId);
      const shown = await page.$$eval('#trace-logs .log', els => els.length);
      return shown === fresh.body.logs.length && { shown };
    }, { timeout: 10_000, interval: 500 });
    log(`  ${rows.length} spans, ${logs.shown} logs`);
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot('waterfall');
  });

  await step('scenarios: blackfriday switched on from the UI', async () => {
    await page.click('#tabs a[data-tab="scenarios"]');
    const toggle = page.locator('button[data-scenario="blackfriday"]');
    await toggle.waitFor();
    assert.equal(await toggle.getAttribute('aria-checked'), 'false', 'the toggle starts off');
    await toggle.click();
    const active = await until('GET /api/shop/scenarios to list blackfriday as active', async () => {
      const r = await api('/api/shop/scenarios');
      return r.body.active.find(a => a.scenario === 'blackfriday');
    }, { timeout: 10_000 });
    log(`  active: level ${active.current_level}, speed ${active.speed}`);
    await page.waitForSelector('button[data-scenario="blackfriday"][aria-checked="true"]');
    await page.waitForSelector('#scenario-chips [data-active="blackfriday"]');
    // pin the worst step from the card: the level reaches the shop
    await page.click('[data-card="blackfriday"] [data-level="5"]');
    await until('blackfriday at level 5', async () => {
      const r = await api('/api/shop/scenarios');
      const a = r.body.active.find(x => x.scenario === 'blackfriday');
      return a && a.level === 5;
    }, { timeout: 10_000 });
    const hist = await until('the history to record it', async () => {
      const r = await api('/api/shop/scenarios/history');
      const h = r.body.filter(e => e.scenario === 'blackfriday');
      return h.some(e => e.action === 'activated') && h.some(e => e.action === 'level-changed' && e.level === 5) && h;
    });
    assert.ok(hist.length >= 2);
    await page.waitForFunction(() => document.querySelectorAll('#scn-history tbody tr').length >= 2);
    await page.waitForFunction(() => document.querySelector('#scn-timeline').textContent.includes('blackfriday'));
    await shot('scenarios');
  });

  await step('the map while blackfriday fails requests', async () => {
    await page.click('#tabs a[data-tab="map"]');
    // demo traffic fails first: its pill, then the node and edge, turn amber or red
    const red = await page.waitForFunction(() => document.querySelector('#map-svg .crit, #map-svg .warn'), null, { timeout: 12_000 })
      .then(() => true, () => false);
    log(red ? '  failing requests are coloured on the map' : '  (nothing coloured yet: too few checkouts in the window)');
    await shot('map-blackfriday');
  });

  await step('the header: the scenario pill covers no tab, 1024 to 2560 px wide', async () => {
    for (const width of [1024, 1280, 1366, 1440, 1600, 1920, 2560]) {
      await page.setViewportSize({ width, height: 1080 });
      const bad = await page.evaluate(() => {
        const box = e => e.getBoundingClientRect();
        const hit = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
        const name = e => e.id || e.textContent.trim();
        const tabs = [...document.querySelectorAll('#tabs a')];
        const strip = [...document.querySelectorAll('#scenario-chips .chip, #load-chip, #counters, #pause, #live')].filter(e => !e.hidden);
        return [
          ...strip.flatMap(e => tabs.filter(t => hit(box(e), box(t))).map(t => `${name(e)} over the ${t.dataset.tab} tab`)),
          ...strip.filter(e => box(e).right > innerWidth + 0.5).map(e => `${name(e)} beyond the right edge`),
        ];
      });
      assert.deepEqual(bad, [], `at ${width} px`);
    }
    await page.setViewportSize({ width: 1920, height: 1080 });
  });

  await step('scenarios: blackfriday switched off from the UI', async () => {
    await page.click('#tabs a[data-tab="scenarios"]');
    const toggle = page.locator('button[data-scenario="blackfriday"][aria-checked="true"]');
    await toggle.waitFor();
    await toggle.click();
    await until('GET /api/shop/scenarios to no longer list blackfriday', async () => {
      const r = await api('/api/shop/scenarios');
      return !r.body.active.some(a => a.scenario === 'blackfriday');
    }, { timeout: 10_000 });
    await page.waitForSelector('button[data-scenario="blackfriday"][aria-checked="false"]');
    const h = await api('/api/shop/scenarios/history');
    assert.ok(h.body.some(e => e.scenario === 'blackfriday' && e.action === 'deactivated'), 'the history records the switch-off');
  });

  await step('load panel: the rate set from the UI reaches the load generator', async () => {
    await page.waitForFunction(() => document.querySelector('#load-jps').textContent !== '–');
    await page.fill('#load-rate', '3');
    await page.click('#load-apply');
    await until('the load generator to run 3 journeys/s', async () => {
      const r = await api('/api/load/status');
      return r.status === 200 && r.body.journeys_per_second === 3;
    }, { timeout: 10_000 });
    await page.waitForFunction(() => document.querySelector('#load-jps').textContent.startsWith('3'));
  });

  await step('databases view', async () => {
    await page.click('#tabs a[data-tab="databases"]');
    await page.waitForSelector('#db-table tbody tr[data-db-key]');
    await shot('databases');
  });

  assert.deepEqual(pageErrors, [], 'no script errors in the page');
}

try {
  await main();
  log(`PASS: console UI (${elapsed().trim()})`);
  await browser?.close();
  process.exit(0);
} catch (e) {
  console.error(`\nFAIL in "${stepName}": ${e.message}`);
  if (page) {
    try {
      await page.screenshot({ path: path.join(SHOTS, 'failure.png') });
      console.error(`  page at ${page.url()}; screenshot ${path.join(SHOTS, 'failure.png')}`);
    } catch { /* the page is gone */ }
  }
  await browser?.close().catch(() => {});
  process.exit(1);
}
