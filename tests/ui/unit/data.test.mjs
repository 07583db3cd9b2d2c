import test from 'node:test';
import assert from 'node:assert/strict';
import {
  serviceStats, redGroups, statementRows, nextSort, scatterScales, timelineLanes, timelineStep,
  defaultPrefs, activationBody,
} from '../../../crates/console/src/ui/data.js';
import { liveWindow } from '../../../crates/console/src/ui/live.js';
import { parseHash } from '../../../crates/console/src/ui/state.js';

const red = (service, traffic_type, requests, errors, rate_per_s, p95_ms) =>
  ({ service, traffic_type, requests, errors, error_rate: requests ? errors / requests : 0, rate_per_s, p50_ms: 1, p95_ms, p99_ms: p95_ms * 2 });

test('serviceStats: over the live window when the summary carries one, else over everything stored', () => {
  const sum = { counters: {}, edges: [], red: [red('checkout', 'baseline', 900, 9, 3, 40), red('checkout', 'demo', 100, 50, 1, 90), red('cart', 'baseline', 5, 0, 1, 1)] };
  const w = liveWindow();
  w.record(sum);
  const st = serviceStats(sum, 'checkout', w);
  assert.equal(st.req, 1000);
  assert.equal(st.err, 59);
  assert.equal(st.errRate, 0.059);
  assert.equal(st.rate, 4);
  assert.equal(st.p95, 90, 'the worst p95 of its traffic types');
  assert.equal(st.live, false);
  assert.deepEqual(st.types.map(t => t.type), ['baseline', 'demo'], 'the busiest first');
  // with the window of the last 10 s: 100 baseline requests, all fine; 20 demo ones, all failing
  const live = { ...sum, window: { seconds: 10, edges: [], red: [red('checkout', 'baseline', 100, 0, 10, 40), red('checkout', 'demo', 20, 20, 2, 90)] } };
  w.record(live);
  const now = serviceStats(live, 'checkout', w);
  assert.equal(now.live, true);
  assert.equal(now.req, 1000, 'requests stay the stored ones');
  assert.equal(now.rate, 12);
  assert.equal(now.errRate, 20 / 120);
  assert.deepEqual(now.types.map(t => [t.type, t.errRate, t.n]), [['baseline', 0, 100], ['demo', 1, 20]]);
  const quiet = serviceStats(live, 'cart', w);
  assert.deepEqual([quiet.live, quiet.rate, quiet.errRate], [true, 0, null], 'nothing in the window: no error rate, not the stored one');
  assert.equal(serviceStats(sum, 'nobody', w).errRate, null);
});

test('redGroups: services in order, baseline before demo before the rest, filtered by traffic type', () => {
  const rows = [red('b', 'none', 1, 0, 1, 1), red('b', 'demo', 1, 0, 1, 1), red('a', 'zeta', 1, 0, 1, 1), red('b', 'baseline', 1, 0, 1, 1), red('a', 'alpha', 1, 0, 1, 1)];
  assert.deepEqual(redGroups(rows).map(([n, l]) => [n, l.map(r => r.traffic_type)]), [['a', ['alpha', 'zeta']], ['b', ['baseline', 'demo', 'none']]]);
  assert.deepEqual(redGroups(rows, 'demo').map(([n, l]) => [n, l.length]), [['b', 1]]);
});

test('statementRows: filter by system, service or text; sort by figures or text', () => {
  const dbs = [
    { system: 'postgresql', service: 'catalog', statement: 'SELECT * FROM products', calls: 100, errors: 0, p50_ms: 2, p95_ms: 9 },
    { system: 'postgresql', service: 'orders', statement: 'INSERT INTO orders', calls: 10, errors: 1, p50_ms: 50, p95_ms: 80 },
    { system: 'redis', service: 'cart', statement: 'HGETALL cart:1', calls: 1000, errors: 0, p50_ms: 0.1, p95_ms: 0.4 },
  ];
  const names = rows => rows.map(d => d.service);
  assert.deepEqual(names(statementRows(dbs, '', { key: 'p95_ms', asc: false })), ['orders', 'catalog', 'cart']);
  assert.deepEqual(names(statementRows(dbs, '', { key: 'time', asc: false })), ['orders', 'catalog', 'cart'], '500, 200, 100 ms');
  assert.deepEqual(names(statementRows(dbs, '', { key: 'calls', asc: true })), ['orders', 'catalog', 'cart']);
  assert.deepEqual(names(statementRows(dbs, '', { key: 'statement', asc: true })), ['cart', 'orders', 'catalog']);
  assert.deepEqual(names(statementRows(dbs, '  REDIS ', { key: 'calls', asc: false })), ['cart']);
  assert.deepEqual(names(statementRows(dbs, 'from products', { key: 'calls', asc: false })), ['catalog']);
  assert.deepEqual(statementRows(dbs, 'nothing', { key: 'calls', asc: false }), []);
  assert.equal(dbs[0].service, 'catalog', 'the summary itself is left as it was');
});

test('nextSort: the same column flips; text starts ascending, figures descending', () => {
  assert.deepEqual(nextSort({ key: 'p95_ms', asc: false }, 'p95_ms'), { key: 'p95_ms', asc: true });
  assert.deepEqual(nextSort({ key: 'p95_ms', asc: false }, 'service'), { key: 'service', asc: true });
  assert.deepEqual(nextSort({ key: 'service', asc: true }, 'calls'), { key: 'calls', asc: false });
});

test('scatterScales: at least a minute across, at least a factor of ten up, on a log scale', () => {
  const now = 1_000_000_000;
  const list = [{ start_unix_ms: now - 5000, duration_ms: 10 }, { start_unix_ms: now - 1000, duration_ms: 20 }];
  const s = scatterScales(list, { W: 1000, H: 170, now });
  assert.equal(s.t1, now);
  assert.equal(s.t0, now - 60000);
  assert.ok(s.dmax / s.dmin >= 10);
  assert.ok(s.dmin < 10 && s.dmax > 20);
  assert.equal(s.lx(s.t0), 64);
  assert.equal(s.lx(s.t1), 1000 - 14);
  assert.ok(s.ly(20) < s.ly(10), 'longer is higher');
  const mid = s.ly(Math.sqrt(s.dmin * s.dmax));
  assert.ok(Math.abs(mid - (s.ly(s.dmin) + s.ly(s.dmax)) / 2) < 1e-9, 'logarithmic');
  assert.equal(s.ly(0), s.ly(s.dmin), 'below the scale sits on its floor');
});

test('timelineLanes: segments between changes, the open one runs to now while it is on', () => {
  const now = 10_000_000;
  const h = (at_ms, scenario, action, level) => ({ at_ms, scenario, action, level, source: 'control' });
  const history = [
    h(now - 300e3, 'blackfriday', 'activated', 1),
    h(now - 200e3, 'blackfriday', 'level-changed', 5),
    h(now - 100e3, 'blackfriday', 'deactivated', 5),
    h(now - 50e3, 'payment-failure', 'activated', 3),
    h(now - 40e3, 'slow-query', 'activated', 2),
    h(now - 3 * 3600e3, 'redis-outage', 'activated', 1),
    h(now - 2.9 * 3600e3, 'redis-outage', 'deactivated', 1),
  ].reverse();
  const t = timelineLanes(history, { rangeMs: 15 * 60e3, active: ['payment-failure'], now });
  assert.equal(t.from, now - 15 * 60e3);
  assert.ok(t.to > now);
  assert.deepEqual(t.hist.map(e => e.at_ms), [...t.hist.map(e => e.at_ms)].sort((a, b) => a - b), 'oldest first');
  const lanes = Object.fromEntries(t.shown);
  assert.deepEqual(Object.keys(lanes).sort(), ['blackfriday', 'payment-failure', 'slow-query'], 'redis-outage is out of range');
  assert.deepEqual(lanes.blackfriday.segs.map(s => [s.from, s.to, s.level]), [[now - 300e3, now - 200e3, 1], [now - 200e3, now - 100e3, 5]]);
  assert.deepEqual(lanes['payment-failure'].segs.map(s => [s.from, s.to]), [[now - 50e3, now]], 'on: up to now');
  assert.deepEqual(lanes['slow-query'].segs.map(s => [s.from, s.to]), [[now - 40e3, now - 40e3]], 'no longer on, its end unknown');
  assert.equal(lanes.blackfriday.events.length, 3);
  // before the scenario API answers, whatever is open runs to now
  const unknown = Object.fromEntries(timelineLanes(history, { rangeMs: 15 * 60e3, active: null, now }).shown);
  assert.equal(unknown['slow-query'].segs[0].to, now);
  // 'all' reaches back to the first change
  const all = timelineLanes(history, { rangeMs: 0, active: [], now });
  assert.equal(all.from, now - 3 * 3600e3 - 5e3);
  assert.equal(all.shown.length, 4);
  assert.deepEqual(timelineLanes([], { rangeMs: 0, active: [], now }).shown, []);
});

test('timelineStep: the first round step that leaves 110 px between ticks', () => {
  assert.equal(timelineStep(5 * 60e3, 800), 60e3);
  assert.equal(timelineStep(15 * 60e3, 800), 300e3);
  assert.equal(timelineStep(60e3, 1200), 10e3);
  assert.equal(timelineStep(1e12, 800), 86400e3);
});

test('scenario requests: what a card sends to switch a scenario on', () => {
  const bf = { name: 'blackfriday', target: 'product-catalog', any_service: false };
  const pf = { name: 'payment-failure', target: 'payment', any_service: false };
  const slow = { name: 'slow-query', target: 'product-catalog', any_service: true };
  assert.deepEqual(activationBody(bf, defaultPrefs(bf)), { mark_faults: false, speed: 10, graceful: false }, 'auto: no level, the schedule decides');
  assert.deepEqual(activationBody(bf, { ...defaultPrefs(bf), level: '5', mark: true }), { mark_faults: true, level: 5, speed: 10, graceful: false });
  assert.deepEqual(activationBody(pf, defaultPrefs(pf)), { mark_faults: false, level: 3 });
  assert.deepEqual(activationBody(slow, { ...defaultPrefs(slow), target: 'checkout' }), { mark_faults: false, level: 3, target: 'checkout' });
  assert.deepEqual(activationBody(slow, defaultPrefs(slow)), { mark_faults: false, level: 3 }, 'its own target is the default');
  assert.notEqual(defaultPrefs(pf), defaultPrefs(pf), 'a fresh object per card');
});

test('parseHash: views, a trace and its span, parameters, anything else is the map', () => {
  assert.deepEqual(parseHash(''), { view: 'map', params: {} });
  assert.deepEqual(parseHash('#services'), { view: 'services', params: {} });
  assert.deepEqual(parseHash('#traces?service=checkout&status=error'), { view: 'traces', params: { service: 'checkout', status: 'error' } });
  assert.deepEqual(parseHash('#trace/ABCDEF?span=12'), { view: 'trace', id: 'abcdef', params: { span: '12' } });
  assert.deepEqual(parseHash('#/databases'), { view: 'databases', params: {} });
  assert.deepEqual(parseHash('#trace'), { view: 'map', params: {} }, 'a trace needs its id');
  assert.deepEqual(parseHash('#nope'), { view: 'map', params: {} });
});
