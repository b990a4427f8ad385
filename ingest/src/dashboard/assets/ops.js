// Operations, for global admins: dead letters with their reasons and a replay each, and the chosen site's
// drift between the realtime overlay and ClickHouse for its local day.

import { api, query } from './api.js';
import { el, notice, number, when, table } from './ui.js';

async function deadLetters(site, redraw) {
  const answer = await api('GET', `/api/sync/dlq/list?${query({ limit: 50 })}`);
  const replay = async (item) => {
    try {
      const r = await api('POST', `/api/sync/dlq/replay?${query({ id: item.id })}`);
      notice(`Replayed ${item.id} (replay ${r.replay_count})`, 'ok');
    } catch (e) { notice(e.message, 'error'); }
    redraw();
  };
  return el('section', { class: 'card', id: 'dlq' }, el('h2', {}, `Dead letters (${number(answer.count)})`),
    table('Newest first', [['Received', (d) => when(d.received_at, site.time_zone)], ['Stage', (d) => d.stage],
      ['Reason', (d) => d.reason], ['Error', (d) => d.last_replay_error || d.error], ['Replays', (d) => d.replay_count],
      ['', (d) => el('button', { type: 'button', onclick: () => replay(d) }, `Replay ${d.id.slice(0, 8)}`)]], answer.items));
}

async function drift(site) {
  const r = await api('GET', `/api/stats/reconcile?${query({ siteId: site.public_id })}`);
  const metrics = Object.keys(r.drift || {});
  return el('section', { class: 'card', id: 'drift' }, el('h2', {}, `Drift for ${r.date} (${r.timeZone})`),
    table('Realtime overlay against ClickHouse', [['Metric', (m) => m], ['Overlay', (m) => number(r.redis[m])],
      ['ClickHouse', (m) => number(r.db[m])], ['Drift', (m) => number(r.drift[m])]], metrics));
}

export async function opsScreen(main, ctx) {
  if (!ctx.isAdmin()) return main.append(el('p', {}, 'Operations are for administrators.'));
  const body = el('div');
  const redraw = async () => body.replaceChildren(await deadLetters(ctx.site, redraw), await drift(ctx.site));
  main.append(el('h1', {}, 'Operations'), body);
  await redraw();
}
