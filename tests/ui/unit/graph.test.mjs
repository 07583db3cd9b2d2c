import test from 'node:test';
import assert from 'node:assert/strict';
import {
  NODE_W, NODE_H, COL, buildGraph, layoutGraph, edgeGeometry, placeLabels, labelTspans, edgeFigures, edgeId, bez,
} from '../../../crates/console/src/ui/graph.js';

const edge = (from, to, to_kind = 'service') => ({ from, to, to_kind, calls: 10, errors: 0, error_rate: 0, p50_ms: 1, p95_ms: 2 });

// the shop's shape: a load generator, a frontend, services calling services, databases, a
// service nothing calls yet, and one call back up the chain (a cycle)
const SUMMARY = {
  services: ['cart', 'checkout', 'frontend', 'load-generator', 'notifier', 'payment', 'product-catalog', 'shipping'],
  edges: [
    edge('load-generator', 'frontend'),
    edge('frontend', 'checkout'), edge('frontend', 'product-catalog'), edge('frontend', 'cart'),
    edge('checkout', 'payment'), edge('checkout', 'shipping'), edge('checkout', 'product-catalog'), edge('checkout', 'cart'),
    edge('payment', 'checkout'),
    edge('product-catalog', 'postgres', 'database'), edge('checkout', 'postgres', 'database'), edge('cart', 'redis', 'database'),
  ],
};

function overlaps(a, b) {
  return a.x < b.x + NODE_W && b.x < a.x + NODE_W && a.y < b.y + NODE_H && b.y < a.y + NODE_H;
}

test('buildGraph: databases become db:<name> nodes, unknown callers are added', () => {
  const g = buildGraph({ services: ['a'], edges: [edge('a', 'pg', 'database'), edge('ghost', 'a')] });
  assert.deepEqual([...g.nodes.keys()].sort(), ['a', 'db:pg', 'ghost']);
  assert.equal(g.nodes.get('db:pg').kind, 'database');
  assert.equal(g.nodes.get('db:pg').name, 'pg');
  assert.deepEqual(g.edges.map(e => e.id), ['a>db:pg', 'ghost>a']);
  assert.equal(edgeId(edge('a', 'pg', 'database')), 'a>db:pg');
  assert.equal(edgeId(edge('a', 'b')), 'a>b');
});

test('layout: layers follow the calls from the load generator, databases last', () => {
  const g = buildGraph(SUMMARY);
  const L = layoutGraph(g);
  const layer = id => L.layer.get(id);
  assert.equal(layer('load-generator'), 0);
  assert.equal(layer('frontend'), 1);
  assert.equal(layer('checkout'), 2);
  assert.ok(layer('payment') > layer('checkout'), 'payment after checkout, although it calls checkout back');
  assert.ok(layer('product-catalog') > layer('checkout'), 'the longest path decides');
  const maxService = Math.max(...SUMMARY.services.map(layer));
  assert.equal(layer('db:postgres'), maxService + 1);
  assert.equal(layer('db:redis'), maxService + 1);
  assert.ok(layer('notifier') >= 1, 'nothing calls it, so it stands beside the entry point, not on it');
  // every call but the one back edge goes right
  const back = g.edges.filter(e => layer(e.to) <= layer(e.from)).map(e => e.id);
  assert.deepEqual(back, ['payment>checkout']);
  // columns are the layers, left to right
  for (const [id, p] of L.pos) assert.equal(p.x, 34 + layer(id) * COL, id);
});

test('layout: no two nodes overlap, and all fit in the drawing', () => {
  const L = layoutGraph(buildGraph(SUMMARY));
  const all = [...L.pos];
  assert.equal(all.length, SUMMARY.services.length + 2);
  for (let i = 0; i < all.length; i++) {
    for (let j = i + 1; j < all.length; j++) assert.ok(!overlaps(all[i][1], all[j][1]), `${all[i][0]} and ${all[j][0]}`);
    const p = all[i][1];
    assert.ok(p.x >= 0 && p.y >= 0 && p.x + NODE_W <= L.W && p.y + NODE_H <= L.H, `${all[i][0]} inside ${L.W}×${L.H}`);
  }
});

test('layout is deterministic whatever order the summary lists things in', () => {
  const a = layoutGraph(buildGraph(SUMMARY));
  const b = layoutGraph(buildGraph({ services: [...SUMMARY.services].reverse(), edges: [...SUMMARY.edges].reverse() }));
  for (const [id, p] of a.pos) assert.deepEqual(b.pos.get(id), p, id);
});

test('layout: a chain without a load generator starts at layer 0', () => {
  const L = layoutGraph(buildGraph({ services: ['a', 'b', 'c'], edges: [edge('a', 'b'), edge('b', 'c')] }));
  assert.deepEqual(['a', 'b', 'c'].map(id => L.layer.get(id)), [0, 1, 2]);
  assert.equal(L.pos.get('a').y, L.pos.get('c').y, 'one row');
});

test('ports: the edges leaving one node leave at distinct heights, ordered like their targets', () => {
  const g = buildGraph(SUMMARY);
  const L = layoutGraph(g);
  const outs = g.edges.filter(e => e.from === 'checkout' && L.layer.get(e.to) > L.layer.get('checkout'));
  const byTarget = [...outs].sort((x, y) => L.pos.get(x.to).y - L.pos.get(y.to).y || L.pos.get(x.to).x - L.pos.get(y.to).x);
  const heights = byTarget.map(e => L.ports.get(e.id).out);
  assert.equal(new Set(heights).size, heights.length);
  for (let i = 1; i < heights.length; i++) assert.ok(heights[i] >= heights[i - 1]);
  for (const h of heights) assert.ok(Math.abs(h) < NODE_H / 2, 'on the node\'s side');
});

test('edgeGeometry: forward edges run right side to left side, back edges loop below', () => {
  const g = buildGraph(SUMMARY);
  const L = layoutGraph(g);
  const fwd = g.edges.find(e => e.id === 'frontend>checkout');
  const f = edgeGeometry(L, fwd);
  const a = L.pos.get('frontend'), b = L.pos.get('checkout');
  assert.equal(f.p0.x, a.x + NODE_W);
  assert.equal(f.p3.x, b.x - 3);
  assert.ok(f.p0.y > a.y && f.p0.y < a.y + NODE_H);
  assert.ok(f.d.startsWith(`M${f.p0.x},${f.p0.y} C`));
  assert.ok(['start', 'end'].includes(f.anchor));
  const back = edgeGeometry(L, g.edges.find(e => e.id === 'payment>checkout'));
  assert.equal(back.anchor, 'middle');
  assert.equal(back.p0.y, L.pos.get('payment').y + NODE_H, 'leaves at the bottom');
  assert.ok(back.c1.y > back.p0.y && back.c2.y > back.p3.y, 'curves below');
  const mid = bez(back.p0, back.c1, back.c2, back.p3, 0.5);
  assert.equal(back.ly, mid.y + 16);
  assert.equal(edgeGeometry(L, { id: 'x>y', from: 'x', to: 'y' }), null, 'no position, no path');
});

test('placeLabels moves overlapping labels apart and leaves the others be', () => {
  const lines = ['12 calls', 'p95 3.0 ms'];
  const labels = [
    { lx: 500, ly: 100, anchor: 'end', lines, below: false },
    { lx: 500, ly: 100, anchor: 'end', lines, below: false },
    { lx: 500, ly: 100, anchor: 'end', lines, below: false },
    { lx: 100, ly: 300, anchor: 'start', lines, below: true },
    { lx: 100, ly: 300, anchor: 'start', lines, below: true },
    { lx: 900, ly: 500, anchor: 'middle', lines: [...lines, '5.0% errors'], below: false },
  ];
  const boxes = placeLabels(labels);
  assert.equal(boxes.length, labels.length);
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const a = boxes[i], b = boxes[j];
    const hit = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
    assert.ok(!hit, `labels ${i} and ${j} overlap`);
  }
  // the first of each pile stays where its edge put it; the others move away from the edge
  assert.equal(boxes[0].y, 100 - 2 * 17 + 4);
  assert.ok(boxes[1].y < boxes[0].y && boxes[2].y < boxes[1].y, 'labels above an edge move up');
  assert.equal(boxes[3].y, 300 - 13);
  assert.ok(boxes[4].y > boxes[3].y, 'labels below an edge move down');
  // the anchor decides where the box starts
  assert.equal(boxes[0].x + boxes[0].w, 500, 'end: the box ends at the anchor');
  assert.equal(boxes[3].x, 100, 'start: the box starts at it');
  assert.equal(boxes[5].x + boxes[5].w / 2, 900, 'middle: centred');
  assert.equal(boxes[5].h, 3 * 17);
});

test('labelTspans: one line per tspan, escaped, the errors bold', () => {
  const h = labelTspans({ lx: 10, lines: ['1 calls', 'p95 <1 ms', '50% errors'], bold: 2 }, 100);
  assert.equal(h, '<tspan x="10.0" y="113.0">1 calls</tspan><tspan x="10.0" y="130.0">p95 &lt;1 ms</tspan><tspan x="10.0" y="147.0" class="e">50% errors</tspan>');
  assert.ok(!labelTspans({ lx: 10, lines: ['1 calls', 'p95 1 ms', '5.0% declined (4xx)'], bold: -1 }, 100).includes('class="e"'), 'no errors line, nothing bold');
});

test('edgeFigures: a 402 leaves an edge green with its declines apart, a 503 colours it', () => {
  // the window's entry as live.js gives it, over 20 calls
  const win = (errors, status4xx) => ({ n: 20, errors, status4xx, errRate: errors / 20, rate: 2, secs: 30 });
  const row = { from: 'checkout', to: 'payment', to_kind: 'service', calls: 500, errors: 10, status_4xx: 40, error_rate: 0.02, p50_ms: 3, p95_ms: 9 };
  // payment declined 4 cards (402) and failed none: the SERVER spans say no error, so neither does the edge
  const declined = edgeFigures(row, win(0, 4));
  assert.equal(declined.level, 'ok');
  assert.deepEqual(declined.lines, ['500 calls', 'p95 9.00 ms', '20% declined (4xx)']);
  assert.equal(declined.bold, -1);
  assert.match(declined.title, /last 30 s: 2\.00 calls\/s, 0 failed \(0%\), 4 declined \(4xx\)/);
  assert.match(declined.title, /all stored: 500 calls, 10 failed \(2\.0%\), 40 declined \(4xx\)/);
  // two 503s among 20 calls: crit
  const failing = edgeFigures(row, win(2, 0));
  assert.equal(failing.level, 'crit');
  assert.deepEqual(failing.lines, ['500 calls', 'p95 9.00 ms', '10% errors']);
  assert.equal(failing.bold, 2);
  // no calls in the window: still, and no error rate
  const still = edgeFigures(row, { n: 0, errors: 0, status4xx: 0, errRate: null, rate: 0, secs: 30 });
  assert.deepEqual([still.level, still.still, still.lines.length], ['idle', true, 2]);
  // without a window: everything stored, and said so
  const stored = edgeFigures(row, null);
  assert.equal(stored.level, 'warn');
  assert.deepEqual(stored.lines, ['500 calls', 'p95 9.00 ms', '2.0% errors', '8.0% declined (4xx)']);
  assert.ok(!stored.title.includes('last '));
  // a database has no 4xx
  const db = edgeFigures({ ...row, to: 'postgres', to_kind: 'database', status_4xx: undefined }, win(0, 0));
  assert.ok(!db.title.includes('4xx'), db.title);
});

test('buildGraph: a messaging destination is a queue node between its producer and consumers', () => {
  const q = (from, to, fromKind, toKind) => ({ ...edge(from, to, toKind), from_kind: fromKind });
  const g = buildGraph({
    services: ['load-generator', 'checkout', 'accounting', 'notification'],
    edges: [edge('load-generator', 'checkout'), q('checkout', 'shop.orders', 'service', 'queue'),
      q('shop.orders', 'accounting', 'queue', 'service'), q('shop.orders', 'notification', 'queue', 'service')],
  });
  assert.equal(g.nodes.get('queue:shop.orders').kind, 'queue');
  assert.equal(g.nodes.get('queue:shop.orders').name, 'shop.orders');
  assert.deepEqual(g.edges.map(e => e.id).sort(),
    ['checkout>queue:shop.orders', 'load-generator>checkout', 'queue:shop.orders>accounting', 'queue:shop.orders>notification']);
  const L = layoutGraph(g);
  assert.ok(L.layer.get('queue:shop.orders') > L.layer.get('checkout'), 'the queue after its producer');
  assert.ok(L.layer.get('accounting') > L.layer.get('queue:shop.orders'), 'the consumers after the queue');
  assert.ok(L.layer.get('notification') > L.layer.get('queue:shop.orders'));
  const f = edgeFigures(g.edges.find(e => e.id === 'checkout>queue:shop.orders').e, null);
  assert.match(f.lines[0], /published/);
});
