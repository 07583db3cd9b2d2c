import test from 'node:test';
import assert from 'node:assert/strict';
import { liveWindow, windowOf, WINDOW_S } from '../../../crates/console/src/ui/live.js';

// a summary as the API sends it with `window_s=30`: cumulative rows over everything stored,
// and the same rows over the requests of the last `seconds` in `window`
function summary({ stored = [10_000, 5_000], baseline = [300, 0], demo = [60, 40], db = [150, 0], seconds = 30 } = {}) {
  const red = (traffic_type, [requests, errors]) => ({ service: 'checkout', traffic_type, requests, errors });
  return {
    counters: {},
    red: [red('baseline', stored), red('demo', stored)],
    edges: [{ from: 'checkout', to: 'postgres', to_kind: 'database', calls: 99_999, errors: 9_999 }],
    window: {
      seconds,
      red: [red('baseline', baseline), red('demo', demo)],
      edges: [
        { from: 'checkout', to: 'postgres', to_kind: 'database', calls: db[0], errors: db[1] },
        { from: 'checkout', to: 'payment', to_kind: 'service', calls: 20, errors: 2, status_4xx: 5 },
      ],
    },
  };
}

test('the first summary already gives the last 30 s, not everything stored', () => {
  assert.equal(WINDOW_S, 30);
  const w = liveWindow();
  assert.equal(w.windowed('red', 'checkout|baseline'), null, 'nothing recorded');
  assert.equal(w.secs(), 0);
  w.record(summary());
  assert.equal(w.secs(), 30);
  const base = w.windowed('red', 'checkout|baseline');
  assert.equal(base.secs, 30);
  assert.equal(base.n, 300);
  assert.equal(base.rate, 10);
  assert.equal(base.errRate, 0);
  const demo = w.windowed('red', 'checkout|demo');
  assert.equal(demo.errors, 40);
  assert.ok(Math.abs(demo.errRate - 40 / 60) < 1e-12, 'over the window: 40 of 60, not 5,000 of 10,000');
});

test('services sum their traffic types; edges are keyed as the map keys them, with their 4xx', () => {
  const w = liveWindow();
  w.record(summary());
  const svc = w.windowed('svc', 'checkout');
  assert.equal(svc.n, 360);
  assert.equal(svc.rate, 12);
  assert.equal(w.windowed('edges', 'checkout>db:postgres').n, 150);
  const pay = w.windowed('edges', 'checkout>payment');
  assert.deepEqual([pay.n, pay.errors, pay.status4xx, pay.errRate], [20, 2, 5, 0.1]);
});

test('a row without requests in the window is quiet there, not absent', () => {
  const w = liveWindow();
  w.record(summary());
  const none = w.windowed('red', 'nobody|baseline');
  assert.deepEqual([none.n, none.rate, none.errRate], [0, 0, null]);
  assert.equal(w.windowed('edges', 'checkout>postgres').n, 0, 'a database edge is db:<name>');
});

test('a store younger than the window: its seconds, and rates over them', () => {
  const w = liveWindow();
  w.record(summary({ baseline: [50, 5], seconds: 10 }));
  const x = w.windowed('red', 'checkout|baseline');
  assert.equal(w.secs(), 10);
  assert.equal(x.rate, 5);
  assert.equal(x.errRate, 0.1);
});

test('a summary without a window leaves the page on everything stored', () => {
  const w = liveWindow();
  w.record(summary());
  const { window, ...plain } = summary();
  assert.ok(window);
  w.record(plain);
  assert.equal(w.windowed('red', 'checkout|baseline'), null);
  assert.equal(w.secs(), 0);
});

test('trends keep one point per summary, 90 at most, rows quiet in the window at zero', () => {
  const w = liveWindow();
  for (let i = 0; i < 100; i++) w.record(summary({ demo: i < 95 ? [60, 30] : [0, 0] }));
  const base = w.trends.get('checkout|baseline');
  assert.equal(base.length, 90);
  assert.ok(base.every(p => p.rate === 10 && p.err === 0));
  const demo = w.trends.get('checkout|demo');
  assert.deepEqual(demo.at(-6), { rate: 2, err: 0.5 });
  assert.deepEqual(demo.at(-1), { rate: 0, err: 0 });
});

test('windowOf keys the window of one summary', () => {
  const s = windowOf(summary({ baseline: [7, 1], demo: [3, 2], db: [4, 0] }));
  assert.equal(s.secs, 30);
  assert.deepEqual(s.red['checkout|demo'], [3, 2, 0]);
  assert.deepEqual(s.svc.checkout, [10, 3, 0]);
  assert.deepEqual(s.edges['checkout>db:postgres'], [4, 0, 0]);
  assert.deepEqual(s.edges['checkout>payment'], [20, 2, 5]);
  assert.equal(windowOf({ red: [], edges: [] }), null);
});
