// A trace's span tree and its waterfall's geometry. Pure: no DOM.

import { push } from './format.js';

// parents and children by span id; a span whose parent is not in the trace (an orphan), or
// is itself, is a root. `order` is depth-first from the roots, each span once, even in a cycle.
export function traceTree(spans) {
  const byId = new Map(spans.map(s => [s.span_id, s]));
  const kids = new Map(), roots = [];
  for (const s of spans) {
    if (s.parent_span_id && byId.has(s.parent_span_id) && s.parent_span_id !== s.span_id) push(kids, s.parent_span_id, s);
    else roots.push(s);
  }
  const order = [], depth = new Map(), seen = new Set();
  const walk = (s, d) => {
    if (seen.has(s.span_id)) return;
    seen.add(s.span_id);
    order.push(s); depth.set(s.span_id, d);
    for (const c of kids.get(s.span_id) || []) walk(c, d + 1);
  };
  roots.forEach(r => walk(r, 0));
  for (const s of spans) if (!seen.has(s.span_id)) walk(s, 0);
  return { byId, kids, roots, order, depth };
}

// where the error began: the first failing span (in tree order) with no failing child
export function errorOrigin(tree) {
  return tree.order.find(s => s.error && !(tree.kids.get(s.span_id) || []).some(c => c.error)) || null;
}

// the trace's start (ns) and length (ns, at least 1)
export function traceBounds(spans) {
  const t0 = Math.min(...spans.map(s => s.start_unix_ns));
  const t1 = Math.max(...spans.map(s => s.start_unix_ns + s.duration_ms * 1e6));
  return { t0, total: Math.max(1, t1 - t0) };
}

// one row per span in tree order: its depth, whether a collapsed ancestor hides it, its bar
// (left and width in % of the trace), where its duration goes, whether to name its service
export function waterfallRows(tree, collapsed, t0, total) {
  const rows = [];
  const hiddenUnder = new Set();
  for (const s of tree.order) {
    const depth = tree.depth.get(s.span_id);
    const hidden = !!s.parent_span_id && (collapsed.has(s.parent_span_id) || hiddenUnder.has(s.parent_span_id));
    if (hidden) hiddenUnder.add(s.span_id);
    const left = (s.start_unix_ns - t0) / total * 100;
    const width = Math.max(0, s.duration_ms * 1e6 / total * 100);
    const hasKids = (tree.kids.get(s.span_id) || []).length > 0;
    const end = left + width;
    // the duration goes after the bar, or inside a long bar that reaches the end, or before it
    const inside = end > 82 && width > 18;
    const durPos = end <= 82 ? `left:${end.toFixed(3)}%` : inside ? `left:${left.toFixed(3)}%` : `right:${(100 - left).toFixed(3)}%`;
    // the service is named where it changes (the colour says the rest)
    const parent = s.parent_span_id && tree.byId.get(s.parent_span_id);
    const showService = !parent || parent.service !== s.service;
    const orphan = !!s.parent_span_id && !tree.byId.has(s.parent_span_id);
    rows.push({ span: s, depth, hidden, left, width, hasKids, inside, durPos, showService, orphan });
  }
  return rows;
}

// the span's ancestors that are collapsed (to expand so that it shows)
export function collapsedAncestors(tree, id, collapsed) {
  const out = [];
  const seen = new Set();
  let p = tree.byId.has(id) ? tree.byId.get(id).parent_span_id : null;
  while (p && tree.byId.has(p) && !seen.has(p)) {
    seen.add(p);
    if (collapsed.has(p)) out.push(p);
    p = tree.byId.get(p).parent_span_id;
  }
  return out;
}
