// DOM helpers of the console. Every value from the API goes in as text (textContent or an
// attribute), never as HTML; the chart is SVG built with DOM calls, styled by classes only
// (the page's CSP allows no inline style).

const SVG = 'http://www.w3.org/2000/svg';
const BEIJING_OFFSET_MS = 8 * 3600 * 1000;
const DAY_MS = 24 * 3600 * 1000;

/** An element with text or children; `attributes` are set as strings. */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  node.append(...children);
  return node;
}

/** Bilingual text: English, then the Chinese in a span marked lang="zh-CN". */
export function both(english, chinese) {
  const fragment = document.createDocumentFragment();
  fragment.append(`${english} `, el('span', { lang: 'zh-CN' }, `/ ${chinese}`));
  return fragment;
}

export function cell(value) {
  return el('td', {}, value === null || value === undefined ? '—' : String(value));
}

/** `2026-12-01T14:31:05.000Z` as `2026-12-01 22:31:05`, Beijing time (UTC+8, no DST). */
export function beijingTime(iso) {
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return String(iso ?? '—');
  return new Date(at + BEIJING_OFFSET_MS).toISOString().slice(0, 19).replace('T', ' ');
}

export function beijingDay(iso) {
  return beijingTime(iso).slice(0, 10);
}

/** The instant a Beijing date (`YYYY-MM-DD`) starts, ISO; `days` later for an exclusive end. */
export function beijingDayStart(date, days = 0) {
  return new Date(
    Date.parse(`${date}T00:00:00Z`) - BEIJING_OFFSET_MS + days * DAY_MS,
  ).toISOString();
}

/** Every Beijing date from `first` to `last`, inclusive. */
export function daysBetween(first, last) {
  const days = [];
  for (
    let at = Date.parse(`${first}T00:00:00Z`);
    at <= Date.parse(`${last}T00:00:00Z`);
    at += DAY_MS
  ) {
    days.push(new Date(at).toISOString().slice(0, 10));
  }
  return days;
}

/** Fills a <dl> with every field of an object, nested ones as `a.b`, arrays joined. */
export function fillFields(list, object) {
  list.replaceChildren();
  for (const [name, value] of flatten(object)) {
    list.append(el('dt', {}, name), el('dd', {}, value));
  }
}

function flatten(value, prefix = '') {
  if (value === null || value === undefined) return [[prefix, '—']];
  if (Array.isArray(value)) return [[prefix, value.length === 0 ? '—' : value.join(', ')]];
  if (typeof value !== 'object') return [[prefix, String(value)]];
  const entries = Object.entries(value);
  if (entries.length === 0) return [[prefix, '—']];
  return entries.flatMap(([key, inner]) => flatten(inner, prefix ? `${prefix}.${key}` : key));
}

function svg(tag, attributes = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  return node;
}

/**
 * A stacked bar chart: one bar per day, one colour (class `series-N`) per actor.
 * `counts` maps `day` to a Map of actor to count. The numbers are also in the
 * page's table: the chart is `role="img"` with a text summary.
 */
export function barChart({ days, actors, counts, title, summary }) {
  const barWidth = 18;
  const gap = 6;
  const height = 160;
  const left = 36;
  const bottom = 28;
  const max = Math.max(1, ...days.map((day) => total(counts.get(day))));
  const width = left + days.length * (barWidth + gap) + gap;
  const chart = svg('svg', {
    viewBox: `0 0 ${width} ${height + bottom}`,
    width,
    height: height + bottom,
    role: 'img',
    'aria-labelledby': 'chart-title chart-desc',
    class: 'bars',
  });
  const titleNode = svg('title', { id: 'chart-title' });
  titleNode.textContent = title;
  const desc = svg('desc', { id: 'chart-desc' });
  desc.textContent = summary;
  chart.append(titleNode, desc);
  chart.append(svg('line', { x1: left, y1: height, x2: width, y2: height, class: 'axis' }));
  const maxLabel = svg('text', { x: left - 4, y: 10, class: 'tick', 'text-anchor': 'end' });
  maxLabel.textContent = String(max);
  chart.append(maxLabel);
  days.forEach((day, index) => {
    const x = left + gap + index * (barWidth + gap);
    let y = height;
    actors.forEach((actor, series) => {
      const count = counts.get(day)?.get(actor) ?? 0;
      if (count === 0) return;
      const barHeight = (count / max) * (height - 12);
      y -= barHeight;
      const bar = svg('rect', {
        x,
        y,
        width: barWidth,
        height: barHeight,
        class: `series-${series % 8}`,
      });
      const tip = svg('title');
      tip.textContent = `${day} ${actor}: ${count}`;
      bar.append(tip);
      chart.append(bar);
    });
    // Every day is labelled when few; else only every 7th, so labels do not overlap.
    if (days.length <= 10 || index % 7 === 0) {
      const label = svg('text', {
        x: x + barWidth / 2,
        y: height + 16,
        class: 'tick',
        'text-anchor': 'middle',
      });
      label.textContent = day.slice(5);
      chart.append(label);
    }
  });
  return chart;
}

export function total(byActor) {
  let sum = 0;
  for (const count of byActor?.values() ?? []) sum += count;
  return sum;
}
