import test from 'node:test';
import assert from 'node:assert/strict';
import { traceTree, errorOrigin, traceBounds, waterfallRows, collapsedAncestors } from '../../../crates/console/src/ui/tree.js';

const MS = 1e6;
const span = (span_id, parent_span_id, service, start_ms, duration_ms, error = false) =>
  ({ span_id, parent_span_id, service, name: span_id, kind: 'internal', start_unix_ns: 1e18 + start_ms * MS, duration_ms, error });

// frontend → checkout → (payment, cart); an orphan whose parent never arrived
const SPANS = [
  span('root', null, 'frontend', 0, 100),
  span('co', 'root', 'checkout', 10, 80),
  span('pay', 'co', 'payment', 20, 30, true),
  span('pay-db', 'pay', 'payment', 25, 10, true),
  span('cart', 'co', 'cart', 60, 20),
  span('orphan', 'missing', 'shipping', 40, 5),
];

test('traceTree: children under their parents, depth-first, orphans as roots', () => {
  const t = traceTree(SPANS);
  assert.deepEqual(t.order.map(s => s.span_id), ['root', 'co', 'pay', 'pay-db', 'cart', 'orphan']);
  assert.deepEqual(t.roots.map(s => s.span_id), ['root', 'orphan']);
  assert.deepEqual(Object.fromEntries(t.depth), { root: 0, co: 1, pay: 2, 'pay-db': 3, cart: 2, orphan: 0 });
  assert.deepEqual(t.kids.get('co').map(s => s.span_id), ['pay', 'cart']);
  assert.equal(t.kids.get('cart'), undefined);
  assert.equal(t.byId.get('pay').service, 'payment');
});

test('traceTree: a span that is its own parent is a root; a cycle still lists each span once', () => {
  const self = traceTree([span('a', 'a', 's', 0, 1)]);
  assert.deepEqual(self.roots.map(s => s.span_id), ['a']);
  const cyc = traceTree([span('x', 'y', 's', 0, 1), span('y', 'x', 's', 1, 1), span('z', null, 's', 2, 1)]);
  assert.deepEqual(cyc.roots.map(s => s.span_id), ['z']);
  assert.deepEqual(cyc.order.map(s => s.span_id).sort(), ['x', 'y', 'z']);
  assert.equal(cyc.order.length, 3);
});

test('errorOrigin: the first failing span without a failing child', () => {
  assert.equal(errorOrigin(traceTree(SPANS)).span_id, 'pay-db');
  assert.equal(errorOrigin(traceTree(SPANS.map(s => ({ ...s, error: false })))), null);
});

test('traceBounds: from the first start to the last end', () => {
  const { t0, total } = traceBounds(SPANS);
  assert.equal(t0, 1e18);
  assert.equal(total, 100 * MS);
  assert.equal(traceBounds([span('a', null, 's', 0, 0)]).total, 1, 'never zero');
});

test('waterfallRows: bars in % of the trace, the service named where it changes', () => {
  const t = traceTree(SPANS);
  const { t0, total } = traceBounds(SPANS);
  const rows = new Map(waterfallRows(t, new Set(), t0, total).map(r => [r.span.span_id, r]));
  assert.equal(rows.size, SPANS.length);
  const pay = rows.get('pay');
  assert.ok(Math.abs(pay.left - 20) < 1e-9 && Math.abs(pay.width - 30) < 1e-9);
  assert.equal(pay.durPos, 'left:50.000%', 'after a bar that ends early');
  const root = rows.get('root');
  assert.ok(root.inside, 'inside a bar that spans the whole trace');
  assert.equal(root.durPos, 'left:0.000%');
  assert.ok(rows.get('root').showService && rows.get('co').showService && rows.get('pay').showService);
  assert.ok(!rows.get('pay-db').showService, 'same service as its parent');
  assert.ok(rows.get('orphan').orphan && rows.get('orphan').showService);
  assert.ok(!rows.get('co').orphan);
  assert.ok(rows.get('co').hasKids && !rows.get('cart').hasKids);
  assert.ok([...rows.values()].every(r => !r.hidden));
});

test('waterfallRows: a collapsed span hides all below it, not itself', () => {
  const t = traceTree(SPANS);
  const { t0, total } = traceBounds(SPANS);
  const hidden = rows => rows.filter(r => r.hidden).map(r => r.span.span_id);
  assert.deepEqual(hidden(waterfallRows(t, new Set(['co']), t0, total)), ['pay', 'pay-db', 'cart']);
  assert.deepEqual(hidden(waterfallRows(t, new Set(['pay']), t0, total)), ['pay-db']);
  assert.deepEqual(hidden(waterfallRows(t, new Set(['cart']), t0, total)), []);
});

test('collapsedAncestors: what to expand so that a span shows', () => {
  const t = traceTree(SPANS);
  assert.deepEqual(collapsedAncestors(t, 'pay-db', new Set(['co', 'root', 'cart'])), ['co', 'root']);
  assert.deepEqual(collapsedAncestors(t, 'pay-db', new Set()), []);
  assert.deepEqual(collapsedAncestors(t, 'orphan', new Set(['missing'])), [], 'a parent not in the trace is no ancestor');
  assert.deepEqual(collapsedAncestors(t, 'nope', new Set(['root'])), []);
});
