// Product events (seed 002/003 data) of the chosen site: counts by event name over time and top users, read
// from the metrics API with one of the site's read keys — those APIs take keys only (docs/access.md). A key
// created in this browser session is used at once; another can be pasted (kept for this tab only).

import { api, data, query } from './api.js';
import { el, t, notice, number, when, barChart, table, field } from './ui.js';

const RANGES = ['15m', '1h', '24h', '7d'];

function keyForm(site, redraw) {
  const [label, input] = field('Read key of this site', { type: 'password', name: 'read-key', autocomplete: 'off',
    value: sessionStorage.getItem(`key:${site.public_id}`) || '' });
  return el('form', { class: 'row', onsubmit: (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(`key:${site.public_id}`, input.value.trim());
    redraw();
  } }, label, input, el('button', { type: 'submit' }, 'Use key'));
}

function render(body, m, site, range) {
  const series = m.eventsOverTime.map((b) => ({ start: Date.parse(b.timestamp) / 1000, events: b.count }));
  body.replaceChildren(
    el('dl', { class: 'cards' },
      el('div', { class: 'metric', 'data-metric': 'total-events' }, el('dt', {}, 'Events'), el('dd', {}, number(m.totalEvents))),
      el('div', { class: 'metric' }, el('dt', {}, 'Users'), el('dd', {}, number(m.uniqueUsers))),
      el('div', { class: 'metric' }, el('dt', {}, t('sessions')), el('dd', {}, number(m.uniqueSessions)))),
    el('section', { class: 'card' }, el('h2', {}, `Events over time (${range})`), barChart(series, site.time_zone, range === '7d' ? 'hour' : 'bucket')),
    el('div', { class: 'grid' },
      table('By event name', [['Event', (r) => r.eventType], ['Count', (r) => number(r.count)], ['%', (r) => `${r.percentage}`]], m.eventsByType),
      table('Top users', [['User', (u) => u.userId], ['Events', (u) => number(u.eventCount)],
        ['Last event', (u) => when(u.lastEventAt, site.time_zone)]], m.topUsers)));
}

export async function eventsScreen(main, ctx) {
  const site = ctx.site;
  const [label, select] = field('Time range', { tag: 'select', name: 'range' });
  select.append(...RANGES.map((r) => el('option', { value: r, selected: r === '24h' }, r)));
  const body = el('div', { id: 'events', 'aria-live': 'polite' });
  const redraw = async () => {
    const key = sessionStorage.getItem(`key:${site.public_id}`);
    if (!key) return body.replaceChildren(el('p', { class: 'muted' }, 'Paste a read key of this site, or create one under Sites.'));
    try {
      const m = data(await api('GET', `/api/v1/analytics/metrics?${query({ timeRange: select.value })}`, undefined, { 'x-api-key': key }));
      render(body, m, site, select.value);
    } catch (e) { notice(e.message, 'error'); }
  };
  select.addEventListener('change', redraw);
  main.append(el('h1', {}, `${t('events')} — ${site.name}`), keyForm(site, redraw), el('div', { class: 'row toolbar' }, label, select), body);
  await redraw();
  ctx.every(15000, redraw);
}
