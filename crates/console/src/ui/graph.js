// The service map's graph, layered layout, edge geometry and label placement. Pure: no DOM.

import { esc, push, fmtInt, fmtMs, fmtPct, fmtRate, levelOf } from './format.js';

export const NODE_W = 250, NODE_H = 98, COL = 460, ROW = 128, PAD = 34;
export const LABEL_LINE = 17, LABEL_CHAR = 9.6;

// a node's id: a service by its name, a database as `db:<name>`, a queue (a messaging
// destination) as `queue:<name>`
const nodeId = (name, kind) => kind === 'database' ? 'db:' + name : kind === 'queue' ? 'queue:' + name : name;
export const edgeId = e => nodeId(e.from, e.from_kind) + '>' + nodeId(e.to, e.to_kind);

// nodes (services, databases and queues) and edges from a summary
export function buildGraph(sum) {
  const nodes = new Map();
  const add = (name, kind) => {
    const id = nodeId(name, kind || 'service');
    if (!nodes.has(id)) nodes.set(id, { id, kind: kind || 'service', name });
    return id;
  };
  for (const s of sum.services) add(s, 'service');
  const edges = [];
  for (const e of sum.edges) {
    const from = add(e.from, e.from_kind), to = add(e.to, e.to_kind);
    edges.push({ id: edgeId(e), from, to, e });
  }
  return { nodes, edges };
}

// layers from left to right: the load generator, the services (and queues) it reaches in
// call order, the databases last; each column ordered to cross fewer edges. Positions are the nodes' top left.
export function layoutGraph(g) {
  const all = [...g.nodes.values()];
  // a queue sits in the flow like a service: between its producers and its consumers
  const svcIds = all.filter(n => n.kind !== 'database').map(n => n.id).sort();
  const dbIds = all.filter(n => n.kind === 'database').map(n => n.id).sort();
  const succ = new Map(svcIds.map(id => [id, []]));
  const hasIn = new Set();
  for (const e of g.edges) if (succ.has(e.from) && succ.has(e.to) && e.from !== e.to) { succ.get(e.from).push(e.to); hasIn.add(e.to); }
  for (const l of succ.values()) l.sort();
  // depth-first from the load generator, then from anything nothing calls: back edges break cycles
  const roots = [];
  if (succ.has('load-generator')) roots.push('load-generator');
  for (const id of svcIds) if (!hasIn.has(id) && !roots.includes(id)) roots.push(id);
  for (const id of svcIds) if (!roots.includes(id)) roots.push(id);
  const state = new Map(), forward = new Set(), post = [];
  const visit = u => {
    state.set(u, 1);
    for (const v of succ.get(u)) {
      if (!state.has(v)) { forward.add(u + '>' + v); visit(v); }
      else if (state.get(v) === 2) forward.add(u + '>' + v);
    }
    state.set(u, 2);
    post.push(u);
  };
  for (const r of roots) if (!state.has(r)) visit(r);
  const topo = post.reverse();
  const layer = new Map(topo.map(id => [id, 0]));
  for (const u of topo) for (const v of succ.get(u)) if (forward.has(u + '>' + v)) layer.set(v, Math.max(layer.get(v), layer.get(u) + 1));
  // something not (yet) called by anyone sits next to the entry point, not on it
  if (succ.has('load-generator')) for (const id of svcIds) if (id !== 'load-generator' && !hasIn.has(id)) layer.set(id, Math.max(1, layer.get(id)));
  let maxL = 0;
  for (const id of svcIds) maxL = Math.max(maxL, layer.get(id));
  const cols = [];
  for (let i = 0; i <= maxL + (dbIds.length ? 1 : 0); i++) cols.push([]);
  for (const id of svcIds) cols[layer.get(id)].push(id);
  for (const id of dbIds) { layer.set(id, maxL + 1); cols[maxL + 1].push(id); }
  // order each column by the mean position of its neighbours (fewer crossings)
  const prev = new Map(), next = new Map();
  for (const e of g.edges) {
    if (!layer.has(e.from) || !layer.has(e.to)) continue;
    if (layer.get(e.from) < layer.get(e.to)) { push(prev, e.to, e.from); push(next, e.from, e.to); }
  }
  const idx = new Map();
  const index = () => cols.forEach(c => c.forEach((id, i) => idx.set(id, c.length > 1 ? i / (c.length - 1) : 0.5)));
  const sortCol = (c, nb) => {
    const bc = new Map(c.map(id => {
      const ns = nb.get(id) || [];
      return [id, ns.length ? ns.reduce((a, n) => a + idx.get(n), 0) / ns.length : idx.get(id)];
    }));
    c.sort((a, b) => bc.get(a) - bc.get(b) || a.localeCompare(b));
  };
  index();
  for (let it = 0; it < 4; it++) {
    for (let l = 1; l < cols.length; l++) { sortCol(cols[l], prev); index(); }
    for (let l = cols.length - 2; l >= 0; l--) { sortCol(cols[l], next); index(); }
  }
  const maxN = Math.max(1, ...cols.map(c => c.length));
  const pos = new Map();
  cols.forEach((c, i) => {
    const off = (maxN - c.length) * ROW / 2;
    c.forEach((id, j) => pos.set(id, { x: PAD + i * COL, y: PAD + off + j * ROW }));
  });
  const W = PAD * 2 + Math.max(0, cols.length - 1) * COL + NODE_W;
  const H = PAD * 2 + (maxN - 1) * ROW + NODE_H + 24;
  // where each edge leaves and arrives: spread over the node's side, ordered by the other end
  const ports = new Map();
  const outs = new Map(), ins = new Map();
  for (const e of g.edges) { push(outs, e.from, e); push(ins, e.to, e); }
  const spread = (list, key, other) => {
    list.sort((a, b) => pos.get(a[other]).y - pos.get(b[other]).y || pos.get(a[other]).x - pos.get(b[other]).x);
    const k = list.length, step = Math.min(20, (NODE_H - 30) / Math.max(1, k - 1));
    list.forEach((e, i) => { const p = ports.get(e.id) || {}; p[key] = (i - (k - 1) / 2) * step; ports.set(e.id, p); });
  };
  for (const l of outs.values()) spread(l, 'out', 'to');
  for (const l of ins.values()) spread(l, 'in', 'from');
  return { pos, layer, W, H, ports, ins, outs };
}

export function bez(p0, c1, c2, p3, t) {
  const u = 1 - t;
  return {
    x: u * u * u * p0.x + 3 * u * u * t * c1.x + 3 * u * t * t * c2.x + t * t * t * p3.x,
    y: u * u * u * p0.y + 3 * u * u * t * c1.y + 3 * u * t * t * c2.y + t * t * t * p3.y,
  };
}

// an edge's path and where its label goes: a forward edge runs from the right side of its
// source to the left side of its target; a backward one loops below both nodes.
// null when an end has no position.
export function edgeGeometry(L, ed) {
  const a = L.pos.get(ed.from), b = L.pos.get(ed.to);
  if (!a || !b) return null;
  const pt = L.ports.get(ed.id) || {};
  let p0, c1, c2, p3, lx, ly, anchor;
  if (L.layer.get(ed.to) > L.layer.get(ed.from)) {
    p0 = { x: a.x + NODE_W, y: a.y + NODE_H / 2 + (pt.out || 0) };
    p3 = { x: b.x - 3, y: b.y + NODE_H / 2 + (pt.in || 0) };
    const dx = (p3.x - p0.x) * 0.5;
    c1 = { x: p0.x + dx, y: p0.y }; c2 = { x: p3.x - dx, y: p3.y };
    // the label goes at the end with fewer edges: next to the arrow, or next to the source
    const fanIn = (L.ins.get(ed.to) || []).length, fanOut = (L.outs.get(ed.from) || []).length;
    if (fanIn <= fanOut) { lx = p3.x - 16; ly = p3.y - 7; anchor = 'end'; }
    else { lx = p0.x + 12; ly = p0.y + 19; anchor = 'start'; }
  } else {
    p0 = { x: a.x + NODE_W / 2 + (pt.out || 0), y: a.y + NODE_H };
    p3 = { x: b.x + NODE_W / 2 + (pt.in || 0), y: b.y + NODE_H + 3 };
    c1 = { x: p0.x, y: p0.y + 70 }; c2 = { x: p3.x, y: p3.y + 70 };
    const m = bez(p0, c1, c2, p3, 0.5);
    lx = m.x; ly = m.y + 16; anchor = 'middle';
  }
  const d = `M${p0.x},${p0.y} C${c1.x},${c1.y} ${c2.x},${c2.y} ${p3.x},${p3.y}`;
  return { p0, c1, c2, p3, d, lx, ly, anchor };
}

// edge labels that would overlap move apart (away from their edge's side). Each label is
// { lx, ly, anchor, lines, below }; the answer is its box { x, y, w, h }, in the same order.
export function placeLabels(labels) {
  const placed = [];
  for (const lb of labels) {
    const w = Math.max(...lb.lines.map(t => t.length)) * LABEL_CHAR, h = lb.lines.length * LABEL_LINE;
    const x0 = lb.anchor === 'end' ? lb.lx - w : lb.anchor === 'middle' ? lb.lx - w / 2 : lb.lx;
    let top = lb.below ? lb.ly - 13 : lb.ly - h + 4;
    for (let tries = 0; tries < 8; tries++) {
      const hit = placed.find(p => x0 < p.x + p.w && p.x < x0 + w && top < p.y + p.h && p.y < top + h);
      if (!hit) break;
      top = lb.below ? hit.y + hit.h + 1 : hit.y - h - 1;
    }
    placed.push({ x: x0, y: top, w, h });
  }
  return placed;
}

// what an edge shows for its summary row `x` and its live window `w` (live.js, null without
// one): the level (its colour) from the calls that failed, the label's lines (calls and p95
// over everything stored, then the window's error and 4xx rates; `bold` is the errors' line,
// -1 without one) and the tooltip. A 4xx answer is no failure (a declined card is the callee
// working, and its node does not count it either, see analysis.rs), so it gets a line of its own.
export function edgeFigures(x, w) {
  const errRate = w ? w.errRate : x.error_rate;
  const s4xx = w ? w.status4xx : (x.status_4xx || 0);
  const n = w ? w.n : x.calls;
  const what = x.to_kind === 'queue' ? 'published' : x.from_kind === 'queue' ? 'processed' : 'calls';
  const lines = [`${fmtInt(x.calls)} ${what}`, `p95 ${fmtMs(x.p95_ms)}`];
  let bold = -1;
  if (errRate) { bold = lines.length; lines.push(`${fmtPct(errRate)} errors`); }
  if (s4xx && n) lines.push(`${fmtPct(s4xx / n)} declined (4xx)`);
  const http = (x.to_kind || 'service') === 'service' && (x.from_kind || 'service') === 'service';
  const declined = k => http ? `, ${fmtInt(k)} declined (4xx)` : '';
  const title = [
    `${x.from} → ${x.to}`,
    `all stored: ${fmtInt(x.calls)} ${what}, ${fmtInt(x.errors)} failed (${fmtPct(x.error_rate)})${declined(x.status_4xx || 0)}`,
    ...(w ? [`last ${Math.round(w.secs)} s: ${fmtRate(w.rate)} calls/s, ${fmtInt(w.errors)} failed (${fmtPct(w.errRate)})${declined(w.status4xx)}`] : []),
    `p50 ${fmtMs(x.p50_ms)} · p95 ${fmtMs(x.p95_ms)} (all stored)`,
    ...(http ? ['failed: a 5xx, an error status or no answer; a 4xx is no failure'] : []),
  ].join('\n');
  return { level: levelOf(errRate), errRate, lines, bold, still: !!w && w.n === 0, title };
}

// a placed label's lines as SVG tspans (the line `lb.bold`, the errors, in bold)
export function labelTspans(lb, top) {
  return lb.lines.map((t, i) => `<tspan x="${lb.lx.toFixed(1)}" y="${(top + 13 + i * LABEL_LINE).toFixed(1)}"${i === lb.bold ? ' class="e"' : ''}>${esc(t)}</tspan>`).join('');
}
