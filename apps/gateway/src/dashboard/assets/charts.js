// Time-series line charts as inline SVG, built through the DOM (no library, no inline styles).

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 420;
const HEIGHT = 210;
const PAD = { top: 26, right: 14, bottom: 28, left: 48 };

/** Colours of the series, in order; the first is the baseline's, the second the new model's. */
export const SERIES_COLOURS = ['#2563eb', '#ea580c', '#059669', '#7c3aed', '#db2777', '#0891b2'];

function el(name, attributes = {}, text) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** About `count` round tick values covering [min, max]. */
function ticks(min, max, count) {
  const span = max - min || 1;
  const raw = span / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? raw;
  const values = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) values.push(Number(v.toPrecision(12)));
  return values;
}

const clock = (ms) => new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });

/**
 * A line chart of `series` ([{ label, colour, points: [{ at: ms, value }] }]) with vertical
 * `markers` ([{ at: ms, label }], e.g. the rollback trigger) and horizontal `references`
 * ([{ value, label, colour }], e.g. the baseline). `format` writes a y value; `emptyText` stands in
 * for a chart without points.
 */
export function lineChart({ title, series, markers = [], references = [], format = String, yMin = 0, yMax, emptyText = 'no data yet' }) {
  const svg = el('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, class: 'chart', role: 'img', 'aria-label': title });
  svg.append(el('title', {}, title));
  const points = series.flatMap((s) => s.points);
  if (points.length === 0) {
    svg.append(el('text', { x: WIDTH / 2, y: HEIGHT / 2, class: 'chart-empty', 'text-anchor': 'middle' }, emptyText));
    return svg;
  }
  const times = [...points.map((p) => p.at), ...markers.map((m) => m.at)];
  let t0 = Math.min(...times);
  let t1 = Math.max(...times);
  if (t1 - t0 < 1000) { t0 -= 1000; t1 += 1000; }
  const values = [...points.map((p) => p.value), ...references.map((r) => r.value)];
  const top = yMax ?? Math.max(...values) * 1.15;
  const yTicks = ticks(yMin, top > yMin ? top : yMin + 1, 4);
  const y1 = Math.max(top, yTicks.at(-1));
  const x = (t) => PAD.left + ((t - t0) / (t1 - t0)) * (WIDTH - PAD.left - PAD.right);
  const y = (v) => HEIGHT - PAD.bottom - ((v - yMin) / (y1 - yMin || 1)) * (HEIGHT - PAD.top - PAD.bottom);

  for (const value of yTicks) {
    svg.append(el('line', { x1: PAD.left, x2: WIDTH - PAD.right, y1: y(value), y2: y(value), class: 'grid' }));
    svg.append(el('text', { x: PAD.left - 6, y: y(value) + 3, 'text-anchor': 'end', class: 'axis' }, format(value)));
  }
  // At most one label per second of range, so short ranges do not repeat a label.
  const xTickCount = Math.max(1, Math.min(4, Math.floor((t1 - t0) / 1000)));
  for (let i = 0; i <= xTickCount; i += 1) {
    const t = t0 + ((t1 - t0) * i) / xTickCount;
    svg.append(el('text', { x: x(t), y: HEIGHT - 8, 'text-anchor': i === 0 ? 'start' : i === xTickCount ? 'end' : 'middle', class: 'axis' }, clock(t)));
  }
  svg.append(el('line', { x1: PAD.left, x2: WIDTH - PAD.right, y1: y(yMin), y2: y(yMin), class: 'axis-line' }));

  for (const reference of references) {
    svg.append(el('line', { x1: PAD.left, x2: WIDTH - PAD.right, y1: y(reference.value), y2: y(reference.value), stroke: reference.colour, class: 'reference' }));
    svg.append(el('text', { x: WIDTH - PAD.right - 2, y: y(reference.value) - 4, 'text-anchor': 'end', fill: reference.colour, class: 'reference-label' }, reference.label));
  }
  for (const s of series) {
    const sorted = [...s.points].sort((a, b) => a.at - b.at);
    if (sorted.length > 1) {
      svg.append(el('polyline', { points: sorted.map((p) => `${x(p.at).toFixed(1)},${y(p.value).toFixed(1)}`).join(' '), stroke: s.colour, class: 'series' }));
    }
    for (const p of sorted) svg.append(el('circle', { cx: x(p.at), cy: y(p.value), r: sorted.length > 40 ? 1.5 : 2.5, fill: s.colour }));
  }
  for (const marker of markers) {
    const group = el('g', { class: 'marker' });
    group.append(el('line', { x1: x(marker.at), x2: x(marker.at), y1: PAD.top - 6, y2: HEIGHT - PAD.bottom }));
    const nearRight = x(marker.at) > WIDTH * 0.6;
    group.append(el('text', { x: x(marker.at) + (nearRight ? -4 : 4), y: PAD.top - 10, 'text-anchor': nearRight ? 'end' : 'start' }, marker.label));
    svg.append(group);
  }
  return svg;
}
