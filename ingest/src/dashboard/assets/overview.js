// Overview of the chosen site for a period: today (the realtime overlay's counts for the site's local day,
// with ClickHouse for the rest), the last 24 hours, the last 7 days, or a custom range; refreshed every 10 s.

import { api, data, query } from './api.js';
import { el, t, number, money, barChart, startOfToday, zoned, table, field } from './ui.js';

const PERIODS = ['today', 'h24', 'd7', 'custom'];

function range(period, site, custom) {
  const now = new Date();
  if (period === 'today') return { from: startOfToday(site.time_zone), to: now };
  if (period === 'd7') return { from: new Date(now - 7 * 86400e3), to: now };
  // A custom range is read in the site's zone, whatever the browser's.
  if (period === 'custom' && custom.from && custom.to) {
    return { from: zoned(custom.from, site.time_zone), to: zoned(custom.to, site.time_zone) };
  }
  return { from: new Date(now - 86400e3), to: now };
}

async function load(site, period, custom) {
  const { from, to } = range(period, site, custom);
  const summary = await api('GET', `/api/v1/sites/${site.public_id}/summary?${query({ from: from.toISOString(), to: to.toISOString() })}`);
  if (period !== 'today') return summary;
  // Today: the overlay counts every hit and call the moment the sinks see it.
  const live = data(await api('GET', `/api/stats/realtime?${query({ siteId: site.public_id })}`));
  return { ...summary, sessions: live.sessions, conversions: live.conversions,
    calls: live.calls, matched_calls: live.matched_calls };
}

function cards(s, site) {
  const items = [
    ['visitors', number(s.visitors)], ['sessions', number(s.sessions)], ['pageviews', number(s.pageviews)],
    ['conversions', number(s.conversions)], ['calls_n', number(s.calls)], ['matched_calls', number(s.matched_calls)],
    ['confirmed_value', money(s.confirmed_value, site.currency)],
  ];
  return el('dl', { class: 'cards' }, items.map(([k, v]) =>
    el('div', { class: 'metric', 'data-metric': k }, el('dt', {}, t(k)), el('dd', {}, v))));
}

function tops(s) {
  const list = (title, rows) => table(title, [['', (r) => r.value], [t('sessions'), (r) => number(r.sessions)]], rows);
  return el('div', { class: 'grid' }, list(t('sources'), s.sources), list(t('devices'), s.devices), list(t('countries'), s.countries));
}

function periodPicker(state, redraw) {
  const [label, select] = field(t('period'), { tag: 'select', name: 'period' });
  select.append(...PERIODS.map((p) => el('option', { value: p, selected: p === state.period }, t(p))));
  const [fromLabel, from] = field('From', { type: 'datetime-local', name: 'from', value: state.custom.from || '' });
  const [toLabel, to] = field('To', { type: 'datetime-local', name: 'to', value: state.custom.to || '' });
  const customRow = el('span', { class: 'row', hidden: state.period !== 'custom' }, fromLabel, from, toLabel, to);
  select.addEventListener('change', () => { state.period = select.value; customRow.hidden = state.period !== 'custom'; redraw(); });
  from.addEventListener('change', () => { state.custom.from = from.value; redraw(); });
  to.addEventListener('change', () => { state.custom.to = to.value; redraw(); });
  return el('div', { class: 'row toolbar' }, label, select, customRow);
}

export async function overviewScreen(main, ctx) {
  const site = ctx.site;
  const state = { period: sessionStorage.getItem('period') || 'today', custom: {} };
  const body = el('div', { id: 'overview', 'aria-live': 'polite' });
  const redraw = async () => {
    sessionStorage.setItem('period', state.period);
    const s = await load(site, state.period, state.custom);
    body.replaceChildren(cards(s, site),
      el('section', { class: 'card' }, el('h2', {}, `${t('events')} (${s.bucket === 'day' ? 'per day' : 'per hour'}, ${s.time_zone})`),
        barChart(s.series, s.time_zone, s.bucket)),
      tops(s));
  };
  main.append(el('h1', {}, `${t('overview')} — ${site.name}`), periodPicker(state, () => redraw().catch(() => {})), body);
  await redraw();
  ctx.every(10000, () => redraw().catch(() => {}));
}
