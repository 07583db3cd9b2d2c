// MAP: the live service map, updated in place (nodes move, nothing is redrawn from scratch).

import { $, svg, setAttrs, setText, setHtml } from '../dom.js';
import { S, live } from '../state.js';
import { esc, colourOf, fmtInt, fmtMs, fmtPct, fmtRate, levelOf, WARN } from '../format.js';
import { NODE_W, NODE_H, buildGraph, layoutGraph, edgeGeometry, placeLabels, labelTspans, edgeFigures } from '../graph.js';
import { serviceStats } from '../data.js';

const map = { sig: '', layout: null, nodes: new Map(), edges: new Map(), focus: null };

export function render() {
  const sum = S.summary;
  if (!sum) return;
  const g = buildGraph(sum);
  const svgEl = $('#map-svg');
  $('#map-empty').style.display = g.nodes.size ? 'none' : '';
  const sig = [...g.nodes.keys()].sort().join(',') + '|' + g.edges.map(e => e.id).sort().join(',');
  if (sig !== map.sig) {
    map.sig = sig;
    map.layout = layoutGraph(g);
    if (g.nodes.size) svgEl.setAttribute('viewBox', `0 0 ${map.layout.W} ${map.layout.H}`);
  }
  const L = map.layout;
  const edgeLayer = $('#map-edges'), nodeLayer = $('#map-nodes');
  const secs = live.secs();
  setText($('#map-window'), secs ? `rates and error rates over the last ${secs} s` : 'rates and error rates over all stored spans');

  // edges
  const seenE = new Set(), labels = [];
  for (const ed of g.edges) {
    seenE.add(ed.id);
    let el = map.edges.get(ed.id);
    if (!el) {
      const gEl = svg('g', { class: 'edge', 'data-edge': ed.id, 'data-from': ed.from, 'data-to': ed.to });
      // labels live in a layer of their own above every edge, so no line crosses a label
      const lg = svg('g', { class: 'edge' }, $('#map-labels'));
      el = { g: gEl, lg, line: svg('path', { class: 'line' }, gEl), flow: svg('path', { class: 'flow' }, gEl), lbl: svg('text', { class: 'lbl', 'text-anchor': 'middle' }, lg), title: svg('title', {}, gEl) };
      edgeLayer.appendChild(gEl);
      map.edges.set(ed.id, el);
    }
    const geo = edgeGeometry(L, ed);
    if (!geo) continue;
    const { d, lx, ly, anchor } = geo;
    const x = ed.e;
    const f = edgeFigures(x, live.windowed('edges', ed.id));
    const lv = f.level;
    const width = Math.min(7, 1.6 + Math.log10(x.calls + 1) * 1.3);
    const cls = `edge ${lv}${f.still ? ' still' : ''}${map.focus && (ed.from === map.focus || ed.to === map.focus) ? ' hl' : ''}`;
    setAttrs(el.g, { class: cls });
    setAttrs(el.lg, { class: cls });
    setAttrs(el.line, { d, 'stroke-width': width.toFixed(1), 'marker-end': `url(#arrow-${lv})` });
    setAttrs(el.flow, { d });
    setAttrs(el.lbl, { 'text-anchor': anchor });
    // a few short lines: above the edge at the arrow's end, below it at the source's end
    labels.push({ el, lx, ly, anchor, lines: f.lines, bold: f.bold, below: anchor === 'start' });
    setText(el.title, f.title);
  }
  for (const [id, el] of map.edges) if (!seenE.has(id)) { el.g.remove(); el.lg.remove(); map.edges.delete(id); }
  placeLabels(labels).forEach((box, i) => setHtml(labels[i].el.lbl, labelTspans(labels[i], box.y)));

  // nodes
  const seenN = new Set();
  const dbStats = new Map();
  for (const ed of g.edges) if (ed.to.startsWith('db:')) {
    const s = dbStats.get(ed.to) || { calls: 0, errors: 0, p95: 0, wn: 0, we: 0, live: true };
    s.calls += ed.e.calls; s.errors += ed.e.errors; s.p95 = Math.max(s.p95, ed.e.p95_ms);
    const w = live.windowed('edges', ed.id);
    if (w) { s.wn += w.n; s.we += w.errors; } else s.live = false;
    dbStats.set(ed.to, s);
  }
  for (const n of g.nodes.values()) {
    seenN.add(n.id);
    let el = map.nodes.get(n.id);
    if (!el) { el = createNode(n); nodeLayer.appendChild(el.g); map.nodes.set(n.id, el); }
    const p = L.pos.get(n.id);
    if (p) el.g.style.transform = `translate(${p.x}px, ${p.y}px)`;
    const hl = map.focus && (map.focus === n.id || g.edges.some(e => (e.from === map.focus && e.to === n.id) || (e.to === map.focus && e.from === n.id)));
    if (n.kind === 'service') {
      const st = serviceStats(sum, n.name, live);
      const lv = st.req ? levelOf(st.errRate) : 'idle';
      setAttrs(el.g, { class: `node service ${lv}${hl ? ' hl' : ''}` });
      el.l1.innerHTML = `${esc(fmtRate(st.rate))}/s · p95 ${esc(fmtMs(st.p95))} · <tspan class="${st.errRate >= WARN ? 'bad' : ''}">${esc(fmtPct(st.errRate))} err</tspan>`;
      // one pill per traffic type (the demo story: baseline stays green while demo goes red)
      let x = 18;
      const want = st.types.filter(tp => !tp.live || tp.n > 0).slice(0, 2);
      while (el.pills.length > want.length) el.pills.pop().g.remove();
      want.forEach((tp, i) => {
        let pill = el.pills[i];
        if (!pill) {
          const pg = svg('g', { class: 'pill' }, el.g);
          pill = { g: pg, r: svg('rect', { rx: 6, height: 22, y: 66 }, pg), t: svg('text', { y: 82 }, pg) };
          el.pills.push(pill);
        }
        const label = `${tp.type === 'none' ? 'untyped' : tp.type} ${fmtPct(tp.errRate)}`;
        const wpx = 14 + label.length * 7.3;
        setAttrs(pill.g, { class: 'pill ' + (tp.n ? levelOf(tp.errRate) : 'idle') });
        setAttrs(pill.r, { x, width: wpx.toFixed(0) });
        setAttrs(pill.t, { x: x + 7 });
        setText(pill.t, label);
        x += wpx + 8;
      });
      setText(el.title, `${n.name}\n${fmtInt(st.req)} requests stored, ${fmtInt(st.err)} errors\n` +
        st.types.map(t => `${t.type}: ${fmtPct(t.errRate)} errors ${t.live ? `(last ${secs} s)` : '(all stored)'}`).join('\n') + '\nclick: traces through this service');
    } else if (n.kind === 'queue') {
      const q = queueStats(sum, g, n);
      setAttrs(el.g, { class: `node queue ${q.published ? levelOf(q.errRate) : 'idle'}${hl ? ' hl' : ''}` });
      el.l1.innerHTML = `${esc(fmtInt(q.published))} published · ${esc(fmtInt(q.processed))} processed`;
      setText(el.l2, q.depth === null ? 'depth not reported yet' : `${fmtInt(q.depth)} waiting in its queues`);
      setText(el.title, `${n.name} (message queue)\n${fmtInt(q.published)} messages published, ${fmtInt(q.processed)} processings, ${fmtInt(q.failed)} failed (all stored)\n` +
        q.queues.map(x => `${x.subscription}: ${fmtInt(x.value)} waiting`).join('\n'));
    } else {
      const s = dbStats.get(n.id) || { calls: 0, errors: 0, p95: 0, wn: 0, we: 0, live: false };
      const er = s.live ? (s.wn ? s.we / s.wn : null) : (s.calls ? s.errors / s.calls : null);
      setAttrs(el.g, { class: `node database ${s.calls ? levelOf(er) : 'idle'}${hl ? ' hl' : ''}` });
      el.l1.innerHTML = `${esc(fmtInt(s.calls))} calls · p95 ${esc(fmtMs(s.p95))}`;
      setText(el.l2, er ? `${fmtPct(er)} errors` : 'no errors');
      setText(el.title, `${n.name} (database)\n${fmtInt(s.calls)} calls, ${fmtInt(s.errors)} errors (all stored)\nclick: the Databases view`);
    }
  }
  for (const [id, el] of map.nodes) if (!seenN.has(id)) { el.g.remove(); map.nodes.delete(id); }
  svgEl.classList.toggle('focus', !!map.focus);
  renderHotspots(sum, g);
}

// a node's elements, with its own listeners: hover highlights its calls, a click opens its traces
function createNode(n) {
  const g = svg('g', { class: 'node ' + n.kind });
  const el = { g, pills: [] };
  if (n.kind === 'service') {
    g.setAttribute('data-service', n.name);
    svg('rect', { class: 'halo', x: -4, y: -4, width: NODE_W + 8, height: NODE_H + 8, rx: 17 }, g);
    svg('rect', { class: 'box', width: NODE_W, height: NODE_H, rx: 14 }, g);
    svg('circle', { cx: 24, cy: 24, r: 8, fill: colourOf(n.name) }, g);
    const name = svg('text', { class: 'name', x: 40, y: 31 }, g);
    name.textContent = n.name;
    el.l1 = svg('text', { class: 'l1', x: 18, y: 56 }, g);
  } else if (n.kind === 'queue') {
    g.setAttribute('data-queue', n.name);
    svg('rect', { class: 'halo', x: -4, y: -4, width: NODE_W + 8, height: NODE_H + 8, rx: 17 }, g);
    svg('rect', { class: 'box', width: NODE_W, height: NODE_H, rx: 4 }, g);
    // the queue's slots
    for (let i = 0; i < 4; i++) svg('rect', { class: 'slot', x: NODE_W - 52 + i * 11, y: 14, width: 8, height: 20, rx: 2 }, g);
    const name = svg('text', { class: 'name', x: 18, y: 31 }, g);
    name.textContent = n.name;
    el.l1 = svg('text', { class: 'l1', x: 18, y: 62 }, g);
    el.l2 = svg('text', { class: 'l1', x: 18, y: 84 }, g);
  } else {
    g.setAttribute('data-database', n.name);
    const ry = 12, w = NODE_W, h = NODE_H;
    svg('rect', { class: 'halo', x: -4, y: -4, width: w + 8, height: h + 8, rx: 17 }, g);
    svg('path', { class: 'box', d: `M0,${ry} A${w / 2},${ry} 0 0 0 ${w},${ry} L${w},${h - ry} A${w / 2},${ry} 0 0 1 0,${h - ry} Z` }, g);
    svg('ellipse', { class: 'box top', cx: w / 2, cy: ry, rx: w / 2, ry }, g);
    const name = svg('text', { class: 'name', x: 20, y: 48 }, g);
    name.textContent = n.name;
    el.l1 = svg('text', { class: 'l1', x: 20, y: 72 }, g);
    el.l2 = svg('text', { class: 'l1', x: 20, y: 90 }, g);
  }
  el.title = svg('title', {}, g);
  g.addEventListener('mouseenter', () => { map.focus = n.id; render(); });
  g.addEventListener('mouseleave', () => { map.focus = null; render(); });
  g.addEventListener('click', () => {
    location.hash = n.kind === 'service' ? '#traces?service=' + encodeURIComponent(n.name) : n.kind === 'queue' ? '#services' : '#databases';
  });
  return el;
}

// a queue node's figures: what its producers published and its consumers processed, and the
// latest depth its consumers reported for their queues (named `<destination>.<group>`)
function queueStats(sum, g, n) {
  let published = 0, processed = 0, failed = 0;
  for (const ed of g.edges) {
    if (ed.to === n.id) published += ed.e.calls;
    if (ed.from === n.id) { processed += ed.e.calls; failed += ed.e.errors; }
  }
  const queues = ((sum.messaging || {}).gauges || [])
    .filter(x => x.name === 'tracemart.messaging.queue.depth' && (x.subscription || '').startsWith(n.name + '.'));
  const depth = queues.length ? queues.reduce((a, x) => a + x.value, 0) : null;
  return { published, processed, failed, errRate: processed ? failed / processed : 0, depth, queues };
}

function renderHotspots(sum, g) {
  const hot = [];
  for (const n of g.nodes.values()) {
    if (n.kind !== 'service') continue;
    const st = serviceStats(sum, n.name, live);
    if (st.req && st.errRate >= WARN) hot.push({ label: n.name, er: st.errRate });
  }
  hot.sort((a, b) => b.er - a.er);
  const html = hot.length
    ? `<span class="dim">${live.secs() ? 'errors now:' : 'errors over all stored spans:'}</span> ` + hot.slice(0, 4).map(h => `<a class="chip ${levelOf(h.er)}" href="#traces?service=${encodeURIComponent(h.label)}&status=error">${esc(h.label)} <b>${fmtPct(h.er)}</b></a>`).join('')
    : '<span class="chip ok">all services healthy</span>';
  setHtml($('#hotspots'), html);
}

// the map's listeners are its nodes' own (see createNode)
export function listen() {}
