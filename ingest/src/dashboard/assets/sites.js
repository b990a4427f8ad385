// Sites: the caller's sites and a new one; for the chosen site its tracker snippet, whether it receives
// events (live), allowed origins, the signing secret, members and invites, and API keys.

import { api, data } from './api.js';
import { el, t, notice, field, table, when } from './ui.js';

const ROLES = ['viewer', 'editor', 'owner'];

function snippet(site) {
  return `<script async src="${location.origin}/tracker.js" data-site="${site.public_id}" data-consent="analytics,marketing"></script>`;
}

// Shows a secret or key once, with a copy button.
function once(title, value) {
  return el('div', { class: 'card once', role: 'status' },
    el('h3', {}, title), el('code', { class: 'secret' }, value),
    el('button', { type: 'button', onclick: () => navigator.clipboard.writeText(value) }, 'Copy'),
    el('p', {}, 'Shown once: keep it now.'));
}

function createForm(main, ctx) {
  const [nameLabel, name] = field(t('name'), { name: 'name', required: true });
  const [domainLabel, domain] = field(t('domain'), { name: 'domain', required: true, placeholder: 'shop.example' });
  const form = el('form', { class: 'card', 'aria-labelledby': 'create-title' },
    el('h2', { id: 'create-title' }, t('create_site')),
    el('div', { class: 'row' }, nameLabel, name, domainLabel, domain, el('button', { type: 'submit' }, t('create_site'))));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const answer = await api('POST', '/api/sites/create', { name: name.value, domain: domain.value });
      await ctx.reloadSites();
      ctx.choose(answer.site.public_id);
      notice(`Site ${answer.site.name} created`, 'ok');
      document.getElementById('view').prepend(once('Signing secret', answer.site.secret));
    } catch (e) { notice(e.message, 'error'); }
  });
  main.append(form);
}

function listSites(main, ctx) {
  if (!ctx.sites.length) return main.append(el('p', {}, t('no_sites')));
  main.append(table(t('sites'), [
    [t('name'), (s) => el('button', { type: 'button', class: 'link', onclick: () => ctx.choose(s.public_id) }, s.name)],
    [t('domain'), (s) => s.domain],
    ['Role', (s) => s.role],
    ['Public id', (s) => el('code', {}, s.public_id)],
  ], ctx.sites));
}

async function statusCard(site) {
  const line = el('p', { class: 'status', 'aria-live': 'polite' }, '…');
  const refresh = async () => {
    const s = data(await api('GET', `/api/sites/${site.public_id}/status`));
    line.textContent = `${s.status}${s.last_event_at ? ` — last event ${when(s.last_event_at, site.time_zone)} (${s.last_source})` : ''}`;
    line.className = `status ${s.receiving ? 'ok' : 'idle'}`;
  };
  await refresh().catch((e) => { line.textContent = e.message; });
  return { card: el('section', { class: 'card' }, el('h2', {}, 'Tracker'), line,
    el('pre', {}, el('code', { id: 'snippet' }, snippet(site))),
    el('button', { type: 'button', onclick: () => navigator.clipboard.writeText(snippet(site)) }, 'Copy snippet')), refresh };
}

function originsCard(site, ctx, owner) {
  const [label, input] = field('Add an allowed origin', { name: 'origin', placeholder: 'https://shop.example' });
  const save = async (origins) => {
    try {
      await api('PATCH', `/api/sites/${site.public_id}`, { allowed_origins: origins });
      await ctx.reloadSites();
      ctx.choose(site.public_id);
      notice('Allowed origins saved', 'ok');
    } catch (e) { notice(e.message, 'error'); }
  };
  const items = site.allowed_origins.map((o) => el('li', {}, el('code', {}, o), owner
    ? el('button', { type: 'button', class: 'link', onclick: () => save(site.allowed_origins.filter((x) => x !== o)) }, `Remove ${o}`) : null));
  return el('section', { class: 'card' }, el('h2', {}, 'Allowed origins'), el('ul', { id: 'origins' }, items),
    owner ? el('form', { class: 'row', onsubmit: (ev) => { ev.preventDefault(); save([...site.allowed_origins, input.value]); } },
      label, input, el('button', { type: 'submit' }, 'Add origin')) : null);
}

function secretCard(site) {
  const box = el('div');
  const rotate = async () => {
    if (!confirm('Rotate the signing secret? The old one keeps working for 24 hours.')) return;
    try {
      const answer = await api('POST', `/api/sites/${site.public_id}/rotate-secret`);
      box.replaceChildren(once('New signing secret', answer.secret));
    } catch (e) { notice(e.message, 'error'); }
  };
  return el('section', { class: 'card' }, el('h2', {}, 'Signing secret'),
    el('button', { type: 'button', onclick: rotate }, 'Rotate secret'), box);
}

async function membersCard(site, ctx, owner) {
  const members = (await api('GET', `/api/sites/${site.public_id}/members`)).members;
  const audit = (await api('POST', '/api/customers/invite-audit', { siteId: site.public_id, limit: 20 })).audit;
  const [emailLabel, email] = field('Invite by e-mail', { type: 'email', name: 'invite-email', required: true });
  const [roleLabel, role] = field('Role', { tag: 'select', name: 'invite-role' });
  role.append(...ROLES.map((r) => el('option', { value: r }, r)));
  const invite = async (ev) => {
    ev.preventDefault();
    try {
      const answer = await api('POST', '/api/customers/invite', { email: email.value, site_id: site.public_id, role: role.value });
      ctx.choose(site.public_id);
      notice(`Invite: ${answer.outcome}`, 'ok');
    } catch (e) { notice(e.message, 'error'); }
  };
  return el('section', { class: 'card' }, el('h2', {}, 'Members'),
    table('People with access', [['E-mail', (m) => m.email], ['Role', (m) => m.role]], members),
    owner ? el('form', { class: 'row', onsubmit: invite }, emailLabel, email, roleLabel, role, el('button', { type: 'submit' }, 'Invite')) : null,
    table(`Invite audit (${audit.total})`, [['When', (r) => when(r.created_at, site.time_zone)], ['E-mail', (r) => r.email],
      ['Role', (r) => r.role], ['Outcome', (r) => r.outcome]], audit.rows));
}

async function keysCard(site, ctx) {
  const keys = (await api('GET', `/api/sites/${site.public_id}/keys`)).keys;
  const [nameLabel, name] = field('Key name', { name: 'key-name', value: 'Server key' });
  const create = async (ev) => {
    ev.preventDefault();
    try {
      const key = data(await api('POST', '/api/auth/api-key', { project_id: site.public_id, name: name.value }));
      sessionStorage.setItem(`key:${site.public_id}`, key.apiKey);
      ctx.choose(site.public_id);
      document.getElementById('view').prepend(once('New API key', key.apiKey));
    } catch (e) { notice(e.message, 'error'); }
  };
  const revoke = async (k) => {
    try {
      await api('DELETE', `/api/sites/${site.public_id}/keys/${k.id}`);
      ctx.choose(site.public_id);
      notice(`Key ${k.prefix}… revoked`, 'ok');
    } catch (e) { notice(e.message, 'error'); }
  };
  return el('section', { class: 'card' }, el('h2', {}, 'API keys'),
    table('Live keys', [['Name', (k) => k.name], ['Prefix', (k) => el('code', {}, `${k.prefix}…`)], ['Scopes', (k) => k.scopes.join(', ')],
      ['Last used', (k) => when(k.last_used_at, site.time_zone)],
      ['', (k) => el('button', { type: 'button', class: 'danger', onclick: () => revoke(k) }, `Revoke ${k.prefix}`)]], keys),
    el('form', { class: 'row', onsubmit: create }, nameLabel, name, el('button', { type: 'submit' }, 'Create key')));
}

export async function sitesScreen(main, ctx) {
  main.append(el('h1', {}, t('sites')));
  listSites(main, ctx);
  createForm(main, ctx);
  const site = ctx.site;
  if (!site) return;
  const owner = ctx.role() === 'owner';
  main.append(el('h2', { class: 'site-title' }, `${site.name} (${site.domain})`));
  const status = await statusCard(site);
  ctx.every(5000, () => status.refresh().catch(() => {}));
  main.append(status.card, originsCard(site, ctx, owner));
  if (owner) main.append(secretCard(site), await keysCard(site, ctx));
  main.append(await membersCard(site, ctx, owner));
}
