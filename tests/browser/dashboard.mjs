// The dashboard in Debian's Chromium, driven by playwright-core (never a downloaded browser), as an owner and
// then as a viewer. Run by tests/tests/dashboard_browser.rs; prints one JSON line (what the test checks).
//
//   EDGE_URL=http://127.0.0.1:PORT SITE_ORIGIN=http://127.0.0.1:PORT2 OWNER=a@x VIEWER=b@x GCLID=… SHOTS=dir \
//     node dashboard.mjs
import { chromium } from 'playwright-core';
import { readFileSync, mkdirSync } from 'node:fs';

const { EDGE_URL: edge, SITE_ORIGIN: siteOrigin, OWNER: owner, VIEWER: viewer, GCLID: gclid, SHOTS: shots } = process.env;
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
if (!edge || !siteOrigin || !owner || !viewer || !gclid || !shots) {
  console.error('EDGE_URL, SITE_ORIGIN, OWNER, VIEWER, GCLID and SHOTS are required');
  process.exit(2);
}
mkdirSync(shots, { recursive: true });
const report = { errors: [], shots: [] };
const LONG = { timeout: 90000 };

async function shot(page, name) {
  // A value rendered without being there shows as text like these: a rendering bug.
  const text = await page.evaluate(() => document.body.innerText);
  const leaked = /\bnull\b|\bundefined\b|\[object |NaN/.exec(text);
  if (leaked) report.errors.push(`${name}: the page shows "${leaked[0]}"`);
  const path = `${shots}/${name}.png`;
  await page.screenshot({ path, fullPage: true });
  report.shots.push(path);
}

let current = null;

function watch(page) {
  current = page;
  page.on('pageerror', (e) => report.errors.push(String(e)));
  page.on('console', (m) => {
    // Refusals the browser logs as failed resources are expected here: `me` before signing in (401), the
    // viewer's direct seal (403) and the stale seal (409). What the page does with them is checked on screen.
    if (m.type() === 'error' && !/status of 40[139]/.test(m.text())) report.errors.push(m.text());
  });
}

async function signIn(page, email) {
  await page.goto(`${edge}/`);
  await page.getByLabel('E-mail').fill(email);
  // The owner clicks; the viewer uses the keyboard (Enter in the e-mail field asks for the code).
  if (email === owner) await page.getByRole('button', { name: 'Send me a code' }).click();
  else await page.getByLabel('E-mail').press('Enter');
  await page.waitForFunction(() => document.querySelector('input[name=code]').value.length === 6);
  report.devCodeShown = await page.locator('#notice').innerText();
  if (email === owner) await shot(page, '01-sign-in');
  await page.getByRole('button', { name: 'Sign in with the code' }).click();
  await page.locator('nav').waitFor();
}

// Every input and select has a label a screen reader announces.
const unlabelled = (page) => page.evaluate(() => [...document.querySelectorAll('input, select')]
  .filter((i) => !i.labels.length && !i.getAttribute('aria-label')).map((i) => i.name || i.id));

async function createSite(page) {
  await page.getByLabel('Name', { exact: true }).fill('Shop');
  await page.getByLabel('Domain').fill('127.0.0.1');
  await page.getByRole('button', { name: 'Create site' }).click();
  await page.locator('.once .secret').waitFor();
  report.secretShown = (await page.locator('.once .secret').innerText()).length > 0;
  const snippet = await page.locator('#snippet').innerText();
  report.site = /data-site="([^"]+)"/.exec(snippet)[1];
  report.statusBefore = await page.locator('.status').innerText();
  await page.getByLabel('Add an allowed origin').fill(siteOrigin);
  await page.getByRole('button', { name: 'Add origin' }).click();
  await page.locator('#origins li', { hasText: siteOrigin }).waitFor();
  await page.getByLabel('Key name').fill('Events reader');
  await page.getByRole('button', { name: 'Create key' }).click();
  await page.locator('.once .secret').waitFor();
  report.apiKey = await page.locator('.once .secret').innerText();
  await page.getByLabel('Invite by e-mail').fill(viewer);
  await page.getByLabel('Role').selectOption('viewer');
  await page.getByRole('button', { name: 'Invite' }).click();
  await page.locator('#notice', { hasText: 'membership_created' }).waitFor();
  report.unlabelled = await unlabelled(page);
  await shot(page, '02-sites');
}

// A visitor from a Google ad on the site: a landing page with our tracker, a phone click, a second page.
async function visit(context) {
  const page = await context.newPage();
  await page.goto(`${siteOrigin}/landing.html?site=${report.site}&gclid=${gclid}&utm_source=google&utm_medium=cpc`);
  await page.waitForFunction(() => window.opsmantik && window.opsmantik.version);
  await page.waitForTimeout(500);
  await page.click('#call');
  await page.waitForTimeout(1000);
  await Promise.all([page.waitForURL('**/second.html**'), page.click('#next')]);
  await page.waitForFunction(() => window.opsmantik && window.opsmantik.version);
  await page.waitForTimeout(1500);
  await page.close({ runBeforeUnload: true });
}

// Three product events with the key the owner created (what a server of the site would send).
async function productEvents() {
  const events = ['signup', 'signup', 'purchase'].map((name, i) => ({ event_name: name, user_id: `u${i % 2}` }));
  const r = await fetch(`${edge}/api/v1/events/batch`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': report.apiKey }, body: JSON.stringify(events) });
  report.eventsStatus = r.status;
}

async function overview(page) {
  await page.goto(`${edge}/app/#/overview`);
  // Layout shifts from here on (the page loading, then refreshing itself every 10 s until the visit shows).
  await page.evaluate(() => {
    window.layoutShift = 0;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) if (!e.hadRecentInput) window.layoutShift += e.value;
    }).observe({ type: 'layout-shift', buffered: true });
  });
  await page.locator('[data-metric=pageviews] dd').filter({ hasNotText: /^0$/ }).waitFor(LONG);
  await page.locator('[data-metric=calls_n] dd').filter({ hasNotText: /^0$/ }).waitFor(LONG);
  report.overview = {
    pageviews: await page.locator('[data-metric=pageviews] dd').innerText(),
    calls: await page.locator('[data-metric=calls_n] dd').innerText(),
    sources: await page.locator('table', { hasText: 'Top sources' }).innerText(),
    layoutShift: await page.evaluate(() => window.layoutShift),
  };
  await shot(page, '03-overview');
}

async function queue(page) {
  await page.goto(`${edge}/app/#/calls`);
  const call = page.locator('article.call').first();
  await call.locator('dd', { hasText: new RegExp(`^${gclid}$`) }).waitFor(LONG);
  report.callId = await call.getAttribute('data-call');
  report.scoreReasons = await call.locator('.score li').count();
  await shot(page, '04-call-queue');
  // Another operator changes the call after this page read it: the seal (with the version seen) is refused
  // and the page says so plainly, then shows the call as it is now.
  report.otherChange = await page.evaluate(async (id) => (await fetch(`/api/intents/${id}/status`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status: 'intent' }) })).status, report.callId);
  // The page reloads the queue after the refusal: wait for that reload before sealing again (the card is
  // replaced, and the new one carries the current version).
  const reloaded = page.waitForResponse((r) => r.url().includes('/api/calls?'), LONG);
  await call.getByLabel('Amount').fill('1500');
  await call.getByRole('button', { name: 'Seal' }).click();
  await page.locator('#notice.error', { hasText: 'Someone changed this call meanwhile' }).waitFor();
  report.conflictNotice = await page.locator('#notice').innerText();
  await reloaded;
  await page.waitForTimeout(500);
  await call.getByLabel('Amount').fill('1500');
  await call.getByRole('button', { name: 'Seal' }).click();
  await page.locator('article.call .badge.confirmed').first().waitFor(LONG);
  await page.locator('#export h2', { hasText: '(1)' }).waitFor(LONG);
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download conversions (CSV)' }).click(),
  ]);
  report.csv = readFileSync(await download.path(), 'utf8');
  await page.locator('#export p', { hasText: 'Exported 1' }).waitFor();
  await shot(page, '05-call-sealed-and-exported');
}

async function owned(context) {
  const page = await context.newPage();
  watch(page);
  await signIn(page, owner);
  await createSite(page);
  await visit(context);
  await productEvents();
  await overview(page);
  await page.goto(`${edge}/app/#/sites`);
  await page.locator('.status.ok', { hasText: 'Receiving events' }).waitFor(LONG);
  report.statusAfter = await page.locator('.status').innerText();
  await queue(page);
  await page.goto(`${edge}/app/#/events`);
  await page.locator('[data-metric=total-events] dd', { hasText: '3' }).waitFor(LONG);
  await shot(page, '06-events');
  await page.goto(`${edge}/app/#/ops`);
  await page.locator('#drift').waitFor(LONG);
  await shot(page, '07-operations');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('button', { name: 'Send me a code' }).waitFor();
}

async function asViewer(browser) {
  for (const [name, viewport] of [['08-viewer-call-queue', null], ['09-viewer-call-queue-phone', { width: 390, height: 844 }]]) {
    const context = await browser.newContext(viewport ? { viewport, isMobile: true, hasTouch: true } : {});
    const page = await context.newPage();
    watch(page);
    await signIn(page, viewer);
    await page.goto(`${edge}/app/#/calls`);
    await page.locator('article.call').first().waitFor(LONG);
    report.viewerSealButtons = await page.getByRole('button', { name: 'Seal' }).count();
    report.viewerNav = await page.locator('nav ul').innerText();
    report.viewerDirectSeal = await page.evaluate(async (id) => (await fetch(`/api/calls/${id}/seal`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sale_amount: 1 }) })).status, report.callId);
    await shot(page, name);
    report.phoneOverflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
    await context.close();
  }
}

const browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
try {
  const context = await browser.newContext({ acceptDownloads: true });
  // The phone app: a click on a tel: link goes nowhere (the tracker has seen it by then).
  await context.addInitScript(() => {
    window.addEventListener('click', (e) => {
      const a = e.target.closest && e.target.closest('a[href^="tel:"]');
      if (a) e.preventDefault();
    });
  });
  await owned(context);
  await context.close();
  await asViewer(browser);
} catch (e) {
  report.errors.push(`driver: ${e.message}`);
  if (current) await shot(current, 'failure').catch(() => {});
} finally {
  await browser.close();
}
delete report.apiKey;
console.log(JSON.stringify(report));
