import test from 'node:test';
import assert from 'node:assert/strict';
import {
  esc, fmtInt, fmtMs, fmtPct, fmtRate, fmtAgo, fmtClock, levelOf, ttClass, levelColour,
  colourPicker, PALETTE, sqlHtml, sparkline, push,
} from '../../../crates/console/src/ui/format.js';

test('esc escapes the five HTML characters and stringifies null as empty', () => {
  assert.equal(esc(`<a href="x" title='y'>&</a>`), '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
  assert.equal(esc(null), '');
  assert.equal(esc(undefined), '');
  assert.equal(esc(42), '42');
});

test('fmtMs picks the unit and the precision by magnitude', () => {
  assert.equal(fmtMs(0.456), '0.46 ms');
  assert.equal(fmtMs(3.14159), '3.14 ms');
  assert.equal(fmtMs(12.34), '12.3 ms');
  assert.equal(fmtMs(250.4), '250 ms');
  assert.equal(fmtMs(1500), '1.50 s');
  assert.equal(fmtMs(12000), '12.0 s');
  assert.equal(fmtMs(90000), '1.5 min');
  assert.equal(fmtMs(null), '–');
  assert.equal(fmtMs(NaN), '–');
});

test('fmtPct: nothing is 0%, a trace of errors is <0.1%, one decimal below 10%', () => {
  assert.equal(fmtPct(0), '0%');
  assert.equal(fmtPct(0.0004), '<0.1%');
  assert.equal(fmtPct(0.05), '5.0%');
  assert.equal(fmtPct(0.0123), '1.2%');
  assert.equal(fmtPct(0.25), '25%');
  assert.equal(fmtPct(1), '100%');
  assert.equal(fmtPct(null), '–');
});

test('fmtRate and fmtInt', () => {
  assert.equal(fmtRate(0.5), '0.50');
  assert.equal(fmtRate(12.34), '12.3');
  assert.equal(fmtRate(123.6), '124');
  assert.equal(fmtRate(undefined), '–');
  assert.equal(fmtInt(1234567.4), '1,234,567');
  assert.equal(fmtInt(null), '–');
});

test('fmtAgo counts seconds, then minutes, then hours, never negative', () => {
  const now = 10_000_000;
  assert.equal(fmtAgo(now - 30_000, now), '30 s ago');
  assert.equal(fmtAgo(now - 5 * 60_000, now), '5 min ago');
  assert.equal(fmtAgo(now - 2 * 3600_000, now), '2.0 h ago');
  assert.equal(fmtAgo(now + 5000, now), '0 s ago');
});

test('fmtClock is local HH:MM:SS', () => {
  const d = new Date(2024, 0, 2, 3, 4, 5);
  assert.equal(fmtClock(d.getTime()), '03:04:05');
});

test('levelOf: ok below 2%, warn to 10%, crit from 10%, idle without a figure', () => {
  assert.equal(levelOf(null), 'idle');
  assert.equal(levelOf(undefined), 'idle');
  assert.equal(levelOf(0), 'ok');
  assert.equal(levelOf(0.0199), 'ok');
  assert.equal(levelOf(0.02), 'warn');
  assert.equal(levelOf(0.0999), 'warn');
  assert.equal(levelOf(0.1), 'crit');
  assert.equal(ttClass('demo'), 'demo');
  assert.equal(ttClass('baseline'), 'baseline');
  assert.equal(ttClass('none'), '');
  assert.equal(levelColour(-3), levelColour(0));
  assert.equal(levelColour(9), levelColour(5));
});

test('colourPicker gives the first names distinct colours and each name always the same', () => {
  const pick = colourPicker();
  const names = PALETTE.map((_, i) => 'service-' + i);
  const colours = names.map(pick);
  assert.equal(new Set(colours).size, PALETTE.length, 'as many colours as the palette has');
  for (const c of colours) assert.ok(PALETTE.includes(c));
  assert.deepEqual(names.map(pick), colours, 'stable');
  assert.ok(PALETTE.includes(pick('one more')), 'past the palette, colours repeat');
});

test('sqlHtml escapes the statement and marks its keywords', () => {
  const h = sqlHtml('SELECT * FROM t WHERE a < 1');
  assert.equal(h, '<span class="kw">SELECT</span> * <span class="kw">FROM</span> t <span class="kw">WHERE</span> a &lt; 1');
  assert.ok(!sqlHtml('selection').includes('kw'), 'only whole keywords');
});

test('sparkline: empty below two points, a dashed error line only when there are errors', () => {
  assert.equal(sparkline([], '#fff'), '<svg class="spark" width="150" height="30"></svg>');
  assert.equal(sparkline(undefined, '#fff'), '<svg class="spark" width="150" height="30"></svg>');
  const calm = sparkline([{ rate: 1, err: 0 }, { rate: 2, err: 0 }], '#abc');
  assert.equal((calm.match(/<polyline/g) || []).length, 1);
  assert.ok(calm.includes('stroke="#abc"'));
  // the newest point is at the right edge, the highest rate at the top
  assert.ok(calm.includes('150.0,2.0'), calm);
  const failing = sparkline([{ rate: 1, err: 0 }, { rate: 1, err: 0.5 }], '#abc');
  assert.equal((failing.match(/<polyline/g) || []).length, 2);
  assert.ok(failing.includes('stroke-dasharray'));
});

test('push appends to a list per key', () => {
  const m = new Map();
  push(m, 'a', 1); push(m, 'a', 2); push(m, 'b', 3);
  assert.deepEqual([...m], [['a', [1, 2]], ['b', [3]]]);
});
