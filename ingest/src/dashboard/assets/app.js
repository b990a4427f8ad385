// The shell: who is signed in, which site is chosen, the navigation, and which screen shows (the URL's hash:
// #/overview, #/calls, #/events, #/sites, #/ops). Screens live in their own modules and get a context.

import { api, data, ApiError } from './api.js';
import { el, t, notice, lang, field } from './ui.js';
import { sitesScreen } from './sites.js';
import { overviewScreen } from './overview.js';
import { queueScreen } from './queue.js';
import { eventsScreen } from './events.js';
import { opsScreen } from './ops.js';

const SCREENS = {
  overview: overviewScreen, calls: queueScreen, events: eventsScreen, sites: sitesScreen, ops: opsScreen,
};
const ctx = { me: null, sites: [], site: null, timers: [] };

// Re-reads the caller's sites; keeps the chosen one when it is still theirs.
ctx.reloadSites = async () => {
  const answer = await api('GET', '/api/sites');
  ctx.sites = answer.sites || [];
  const chosen = localStorage.getItem('site');
  ctx.site = ctx.sites.find((s) => s.public_id === chosen) || ctx.sites[0] || null;
};
ctx.choose = (publicId) => {
  localStorage.setItem('site', publicId);
  ctx.site = ctx.sites.find((s) => s.public_id === publicId) || null;
  render();
};
ctx.every = (ms, f) => ctx.timers.push(setInterval(f, ms));
ctx.isAdmin = () => ctx.me && ctx.me.role === 'ADMIN';
ctx.role = () => (ctx.isAdmin() ? 'owner' : (ctx.site && ctx.site.role) || 'viewer');

function signInScreen(main) {
  const [emailLabel, email] = field(t('email'), { type: 'email', name: 'email', autocomplete: 'email', required: true });
  const [codeLabel, code] = field(t('code'), { inputmode: 'numeric', name: 'code', autocomplete: 'one-time-code', pattern: '[0-9]{6}' });
  const codeRow = el('div', { class: 'row', hidden: true }, codeLabel, code, el('button', { type: 'submit' }, t('verify')));
  const form = el('form', { class: 'card narrow', 'aria-labelledby': 'signin-title' },
    el('h1', { id: 'signin-title' }, t('signin')),
    el('div', { class: 'row' }, emailLabel, email, el('button', { type: 'button', onclick: requestCode }, t('send_code'))),
    codeRow);
  async function requestCode() {
    try {
      const answer = data(await api('POST', '/api/auth/request-code', { email: email.value }));
      codeRow.hidden = false;
      if (answer.dev_code) {
        code.value = answer.dev_code;
        notice(`Development mode: your code is ${answer.dev_code}`, 'info');
      } else notice(answer.message, 'ok');
      code.focus();
    } catch (e) { notice(e.message, 'error'); }
  }
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    // Enter in the e-mail field asks for a code; once one was sent, it signs in.
    if (codeRow.hidden) return requestCode();
    try {
      await api('POST', '/api/auth/verify', { email: email.value, code: code.value });
      notice('');
      await start();
    } catch (e) { notice(e.message, 'error'); }
  });
  main.append(form);
}

function nav() {
  const here = location.hash.slice(2) || 'overview';
  const items = ['overview', 'calls', 'events', 'sites'].concat(ctx.isAdmin() ? ['ops'] : []);
  const picker = el('select', { id: 'site-picker', 'aria-label': t('site'), onchange: (e) => ctx.choose(e.target.value) },
    ctx.sites.map((s) => el('option', { value: s.public_id, selected: ctx.site && s.public_id === ctx.site.public_id }, s.name)));
  return el('nav', { 'aria-label': 'Main' },
    el('ul', {}, items.map((k) => el('li', {}, el('a', { href: `#/${k}`, 'aria-current': k === here ? 'page' : undefined }, t(k))))),
    ctx.sites.length ? picker : null,
    el('button', { type: 'button', class: 'link', onclick: toggleLang }, lang() === 'tr' ? 'English' : 'Türkçe'),
    el('span', { class: 'who' }, ctx.me.email),
    el('button', { type: 'button', class: 'link', onclick: signOut }, t('signout')));
}

function toggleLang() {
  localStorage.setItem('lang', lang() === 'tr' ? 'en' : 'tr');
  document.documentElement.lang = lang();
  render();
}

async function signOut() {
  await api('POST', '/api/auth/logout').catch(() => {});
  ctx.me = null;
  render();
}

async function render() {
  ctx.timers.forEach(clearInterval);
  ctx.timers = [];
  const header = document.getElementById('top');
  const main = document.getElementById('view');
  header.replaceChildren();
  main.replaceChildren();
  if (!ctx.me) return signInScreen(main);
  header.append(el('a', { class: 'brand', href: '#/overview' }, 'OpsMantik'), nav());
  let name = location.hash.slice(2) || 'overview';
  if (!ctx.site && name !== 'sites') {
    // Nothing to show without a site: the sites screen, where one is created.
    history.replaceState(null, '', '#/sites');
    name = 'sites';
  }
  const screen = SCREENS[name] || overviewScreen;
  try {
    await screen(main, ctx);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) { ctx.me = null; return render(); }
    notice(e.message, 'error');
  }
}

async function start() {
  try {
    ctx.me = data(await api('GET', '/api/auth/me'));
    await ctx.reloadSites();
  } catch {
    ctx.me = null;
  }
  render();
}

document.documentElement.lang = lang();
window.addEventListener('hashchange', () => { notice(''); render(); });
start();
