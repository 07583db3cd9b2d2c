// Formatting and small helpers shared by the views. Pure: no DOM, so node can import it.

export const WARN = 0.02, CRIT = 0.10;
export const PALETTE = ['#38bdf8', '#a78bfa', '#34d399', '#fb923c', '#f472b6', '#facc15',
  '#818cf8', '#2dd4bf', '#e879f9', '#a3e635', '#fdba74', '#93c5fd', '#5eead4', '#d8b4fe'];

export function esc(s) {
  return String(s ?? '').replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}
export function push(map, k, v) { const a = map.get(k); if (a) a.push(v); else map.set(k, [v]); }

// one colour per service, the same in every view: the first names seen get distinct ones
export function colourPicker(palette = PALETTE) {
  const colours = new Map();
  return name => {
    if (!colours.has(name)) {
      let h = 7;
      for (const c of String(name)) h = (h * 31 + c.charCodeAt(0)) >>> 0;
      const used = new Set(colours.values());
      let i = h % palette.length;
      for (let k = 0; k < palette.length && used.has(palette[i]); k++) i = (i + 1) % palette.length;
      colours.set(name, palette[i]);
    }
    return colours.get(name);
  };
}
export const colourOf = colourPicker();

const nf = new Intl.NumberFormat('en-US');
export const fmtInt = n => n == null ? '–' : nf.format(Math.round(n));
export function fmtMs(ms) {
  if (ms == null || isNaN(ms)) return '–';
  if (ms >= 60000) return (ms / 60000).toFixed(1) + ' min';
  if (ms >= 1000) return (ms / 1000).toFixed(ms >= 10000 ? 1 : 2) + ' s';
  if (ms >= 100) return Math.round(ms) + ' ms';
  if (ms >= 10) return ms.toFixed(1) + ' ms';
  return ms.toFixed(2) + ' ms';
}
export function fmtPct(r) {
  if (r == null || isNaN(r)) return '–';
  const p = r * 100;
  if (p === 0) return '0%';
  if (p < 0.1) return '<0.1%';
  return (p < 10 ? p.toFixed(1) : Math.round(p)) + '%';
}
export function fmtRate(x) {
  if (x == null || isNaN(x)) return '–';
  return x >= 100 ? Math.round(x).toString() : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}
const pad2 = n => String(n).padStart(2, '0');
export function fmtClock(ms) { const d = new Date(ms); return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`; }
export function fmtAgo(ms, now = Date.now()) {
  const s = Math.max(0, (now - ms) / 1000);
  if (s < 60) return Math.round(s) + ' s ago';
  if (s < 3600) return Math.round(s / 60) + ' min ago';
  return (s / 3600).toFixed(1) + ' h ago';
}
export const levelOf = r => r == null ? 'idle' : r >= CRIT ? 'crit' : r >= WARN ? 'warn' : 'ok';
export const ttClass = t => t === 'baseline' || t === 'demo' ? t : '';
export function levelColour(l) {
  return ['#64748b', '#fde047', '#fbbf24', '#fb923c', '#f43f5e', '#e11d48'][Math.max(0, Math.min(5, l))];
}

const SQL_KW = /\b(SELECT|INSERT|INTO|UPDATE|DELETE|FROM|WHERE|JOIN|LEFT|INNER|ON|VALUES|SET|AND|OR|ORDER BY|GROUP BY|LIMIT|OFFSET|WITH|RECURSIVE|UNION ALL|UNION|AS|IN|RETURNING|BEGIN|COMMIT|ROLLBACK|HGETALL|HSET|HDEL|HINCRBY|EXPIRE|DEL|GET|SETEX|MULTI|EXEC)\b/g;
export function sqlHtml(s) { return esc(s).replace(SQL_KW, '<span class="kw">$1</span>'); }

// a 3-minute trend (90 samples at most): the rate, and the error rate dashed when there are errors
export function sparkline(series, colour) {
  const w = 150, h = 30;
  if (!series || series.length < 2) return `<svg class="spark" width="${w}" height="${h}"></svg>`;
  const maxR = Math.max(0.01, ...series.map(p => p.rate));
  const maxE = Math.max(0.1, ...series.map(p => p.err));
  const step = w / (90 - 1);
  const x0 = w - (series.length - 1) * step;
  const pts = (f, m) => series.map((p, i) => `${(x0 + i * step).toFixed(1)},${(h - 2 - (f(p) / m) * (h - 4)).toFixed(1)}`).join(' ');
  const errs = series.some(p => p.err > 0);
  return `<svg class="spark" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}"><polyline points="${pts(p => p.rate, maxR)}" fill="none" stroke="${colour}" stroke-width="2"/>` +
    (errs ? `<polyline points="${pts(p => p.err, maxE)}" fill="none" stroke="#f43f5e" stroke-width="2" stroke-dasharray="3 2"/>` : '') + '</svg>';
}
