// The call queue of the chosen site: calls newest first with their session and score breakdown, filtered by
// status; editors act on them (seal, junk, cancel, restore) with the version they saw, so a change made by
// someone else meanwhile is refused and shown plainly. Below: what awaits upload and the export download.

import { api, download, query, ApiError } from './api.js';
import { el, t, notice, when, money, field, table } from './ui.js';

const STATUSES = ['intent', 'confirmed', 'qualified', 'real', 'junk', 'suspicious', 'cancelled'];

// The score as its components (`paid_click:+30` → a row each).
function breakdown(call) {
  return el('details', { class: 'score' },
    el('summary', {}, `Score ${call.lead_score}`),
    el('ul', {}, (call.lead_reasons || []).map((r) => {
      const [name, points] = r.split(':');
      return el('li', {}, el('span', {}, name.replace(/_/g, ' ')), el('span', { class: 'points' }, points || ''));
    })));
}

function sessionFacts(call, tz) {
  const s = call.session;
  if (!s) return el('p', { class: 'muted' }, 'No matched session');
  const source = s.utm.source || s.referrer || 'direct';
  const facts = [['Entry page', s.entry_url], ['Source', source], ['GCLID', s.gclid || call.gclid || '—'],
    ['Device', [s.device, s.browser, s.os].filter(Boolean).join(' · ')], ['Country', s.geo_country || '—'],
    ['Session', `${when(s.started_at, tz)}, ${s.pageviews} pages, ${s.active_sec} s active`]];
  return el('dl', { class: 'facts' }, facts.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
}

function explain(e) {
  if (e instanceof ApiError && e.status === 409) {
    const current = e.body && e.body.current_version;
    return `Someone changed this call meanwhile${current ? ` (it is now at version ${current})` : ''}: the queue was reloaded, check it and try again. (${e.message})`;
  }
  return e.message;
}

function actions(call, site, reload) {
  const act = async (f) => {
    try { await f(); notice('Saved', 'ok'); } catch (e) { notice(explain(e), 'error'); }
    await reload();
  };
  const status = (s) => act(() => api('POST', `/api/intents/${call.id}/status`, { status: s, version: call.version }));
  const [amountLabel, amount] = field(t('amount'), { type: 'number', min: '0', step: '0.01', name: 'amount', required: true });
  const [currencyLabel, currency] = field(t('currency'), { name: 'currency', value: call.currency || site.currency || 'TRY', size: 4, maxlength: 3 });
  const seal = el('form', { class: 'row seal', onsubmit: (ev) => {
    ev.preventDefault();
    act(() => api('POST', `/api/calls/${call.id}/seal`, { sale_amount: Number(amount.value), currency: currency.value, version: call.version }));
  } }, amountLabel, amount, currencyLabel, currency, el('button', { type: 'submit' }, t('seal')));
  const buttons = [];
  if (call.status !== 'junk') buttons.push(el('button', { type: 'button', class: 'danger', onclick: () => status('junk') }, t('junk')));
  if (call.status !== 'cancelled') buttons.push(el('button', { type: 'button', onclick: () => status('cancelled') }, t('cancel')));
  if (call.status !== 'intent') buttons.push(el('button', { type: 'button', onclick: () => status('intent') }, t('restore')));
  return el('div', { class: 'actions' }, call.status === 'intent' ? seal : null, el('div', { class: 'row' }, buttons));
}

function callCard(call, site, canAct, reload) {
  const amount = call.sale_amount ? ` · ${money(call.sale_amount, call.currency)}` : '';
  return el('article', { class: 'call card', 'data-call': call.id, 'aria-labelledby': `call-${call.id}` },
    el('header', { class: 'row' },
      el('h3', { id: `call-${call.id}` }, `${call.action === 'whatsapp' ? 'WhatsApp' : 'Phone'} ${call.phone_number || ''}`),
      el('span', { class: `badge ${call.status}` }, call.status),
      el('span', { class: 'muted' }, `${when(call.created_at, site.time_zone)}${amount}`)),
    breakdown(call), sessionFacts(call, site.time_zone),
    canAct ? actions(call, site, reload) : null);
}

// What awaits upload (refreshed with the queue) and the export download.
function exportCard(site) {
  const heading = el('h2', {}, t('pending_upload'));
  const pending = el('div');
  const result = el('p', { 'aria-live': 'polite' });
  const refresh = async () => {
    const rows = await api('GET', `/api/oci/export-batch?${query({ siteId: site.public_id })}`);
    heading.textContent = `${t('pending_upload')} (${rows.length})`;
    pending.replaceChildren(table('Conversions awaiting upload', [['GCLID', (r) => r.gclid || r.gbraid || r.wbraid],
      ['Time', (r) => r.conversion_time], ['Value', (r) => `${r.value} ${r.currency}`]], rows));
  };
  const save = async () => {
    try {
      const file = await download(`/api/oci/export?${query({ siteId: site.public_id })}`);
      const link = el('a', { href: URL.createObjectURL(new Blob([file.text], { type: 'text/csv' })), download: `opsmantik_oci_${site.public_id}.csv` });
      document.body.append(link);
      link.click();
      link.remove();
      const lines = file.text.trim().split(/\r?\n/).length - 1;
      result.textContent = `Exported ${lines} conversion(s), batch ${file.headers.get('x-opsmantik-batch-id') || '—'}; skipped without click id: ${file.headers.get('x-opsmantik-skipped-no-click-id') || 0}`;
      await refresh();
    } catch (e) { notice(e.message, 'error'); }
  };
  const card = el('section', { class: 'card', id: 'export' }, heading, pending,
    el('button', { type: 'button', onclick: save }, t('export_csv')), result);
  return { card, refresh };
}

export async function queueScreen(main, ctx) {
  const site = ctx.site;
  const canAct = ['editor', 'owner'].includes(ctx.role());
  const [label, filter] = field(t('status'), { tag: 'select', name: 'status' });
  filter.append(el('option', { value: '' }, t('all')), ...STATUSES.map((s) => el('option', { value: s }, s)));
  const list = el('div', { id: 'calls', 'aria-live': 'polite' });
  const exports = canAct ? exportCard(site) : null;
  const reload = async () => {
    const answer = await api('GET', `/api/calls?${query({ siteId: site.public_id, status: filter.value, limit: 50 })}`);
    list.replaceChildren(...(answer.calls.length ? answer.calls.map((c) => callCard(c, site, canAct, reload))
      : [el('p', { class: 'muted' }, 'No calls yet.')]));
    if (exports) await exports.refresh();
  };
  filter.addEventListener('change', () => reload().catch((e) => notice(e.message, 'error')));
  main.append(el('h1', {}, `${t('calls')} — ${site.name}`), el('div', { class: 'row toolbar' }, label, filter), list);
  if (exports) main.append(exports.card);
  await reload();
  // New calls appear without reload, unless someone is typing in a seal form.
  ctx.every(10000, () => { if (!list.contains(document.activeElement)) reload().catch(() => {}); });
}
