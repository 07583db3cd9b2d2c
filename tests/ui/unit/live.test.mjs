import test from 'node:test';
import assert from 'node:assert/strict';
import { liveWindow, sampleOf } from '../../../crates/console/src/ui/live.js';

// a summary as the API sends it: cumulative counts since the store began
function summary({ baseline = [0, 0], demo = [0, 0], db = [0, 0], dropped = 0 } = {}) {
  return {
    counters: { traces_dropped: dropped, spans_dropped: 0 },
    red: [
      { service: 'checkout', traffic_type: 'baseline', requests: baseline[0], errors: baseline[1] },
      { service: 'checkout', traffic_type: 'demo', requests: demo[0], errors: demo[1] },
    ],
    edges: [{ from: 'checkout', to: 'postgres', to_kind: 'database', calls: db[0], errors: db[1] }],
  };
}

// one summary every 2 s for `secs` seconds: baseline 10 requests/s and no errors; demo 2
// requests/s, failing from `failFrom` s on
function feed(w, secs, { failFrom = Infinity, t0 = 1_000_000 } = {}) {
  let demoErr = 0;
  for (let t = 0; t <= secs; t += 2) {
    if (t > failFrom) demoErr += 4; // every demo request of the last 2 s failed
    w.record(summary({ baseline: [10 * t, 0], demo: [2 * t, demoErr], db: [5 * t, 0] }), t0 + t * 1000);
  }
}

test('the window covers the last 30 s, not everything stored', () => {
  const w = liveWindow();
  feed(w, 120, { failFrom: 100 });
  const base = w.windowed('red', 'checkout|baseline');
  assert.equal(base.secs, 30);
  assert.equal(base.n, 300, '30 s at 10 requests/s');
  assert.equal(base.rate, 10);
  assert.equal(base.errRate, 0);
  const demo = w.windowed('red', 'checkout|demo');
  assert.equal(demo.n, 60);
  // 20 of the last 30 s failed every request: 40 of 60
  assert.equal(demo.errors, 40);
  assert.ok(Math.abs(demo.errRate - 40 / 60) < 1e-12);
  // over everything stored it would be 40 of 240
  assert.equal(w.secs(), 30);
  assert.ok(w.samples.length <= 17, `old summaries are dropped (${w.samples.length} kept)`);
});

test('services sum their traffic types; edges are keyed as the map keys them', () => {
  const w = liveWindow();
  feed(w, 60);
  const svc = w.windowed('svc', 'checkout');
  assert.equal(svc.n, 300 + 60);
  assert.equal(svc.rate, 12);
  const db = w.windowed('edges', 'checkout>db:postgres');
  assert.equal(db.n, 150);
  assert.equal(w.windowed('edges', 'checkout>postgres'), null, 'a database edge is db:<name>');
  assert.equal(w.windowed('red', 'nobody|baseline'), null);
});

test('no window before 8 s of summaries', () => {
  const w = liveWindow();
  assert.equal(w.windowed('red', 'checkout|baseline'), null, 'nothing recorded');
  feed(w, 6);
  assert.equal(w.windowed('red', 'checkout|baseline'), null);
  assert.equal(w.secs(), 0);
  w.record(summary({ baseline: [80, 0] }), 1_000_000 + 8000);
  assert.equal(w.windowed('red', 'checkout|baseline').secs, 8);
  assert.equal(w.secs(), 8);
});

test('no window across the store dropping traces, or counts going backwards', () => {
  const w = liveWindow();
  for (let t = 0; t <= 20; t += 2) w.record(summary({ baseline: [10 * t, 0], dropped: t < 20 ? 0 : 5 }), t * 1000);
  assert.equal(w.windowed('red', 'checkout|baseline'), null, 'every older summary has another dropped count');
  const r = liveWindow();
  r.record(summary({ baseline: [500, 10] }), 0);
  r.record(summary({ baseline: [100, 1] }), 10_000);
  assert.equal(r.windowed('red', 'checkout|baseline'), null, 'a restarted store');
});

test('a row that appears mid-window counts from zero', () => {
  const w = liveWindow();
  w.record({ counters: {}, red: [], edges: [] }, 0);
  w.record(summary({ baseline: [50, 5] }), 10_000);
  const x = w.windowed('red', 'checkout|baseline');
  assert.equal(x.n, 50);
  assert.equal(x.errRate, 0.1);
});

test('trends keep one point per summary, 90 at most', () => {
  const w = liveWindow();
  feed(w, 400);
  const tr = w.trends.get('checkout|baseline');
  assert.equal(tr.length, 90);
  assert.ok(tr.every(p => p.rate === 10 && p.err === 0));
});

test('sampleOf keys the counts of one summary', () => {
  const s = sampleOf(summary({ baseline: [7, 1], demo: [3, 2], db: [4, 0], dropped: 2 }), 123);
  assert.equal(s.t, 123);
  assert.equal(s.dropped, 2);
  assert.deepEqual(s.red['checkout|demo'], [3, 2]);
  assert.deepEqual(s.svc.checkout, [10, 3]);
  assert.deepEqual(s.edges['checkout>db:postgres'], [4, 0]);
});
