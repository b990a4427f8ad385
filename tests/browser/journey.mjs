// One visit in Debian's Chromium, driven by playwright-core (never a downloaded browser): a landing page reached
// from a Google ad (gclid, UTM), scroll to the bottom, a tel: click and a WhatsApp click (their external
// handlers stubbed), a second page, an in-app (SPA) navigation, then the tab closed. Prints one JSON line:
// the edge's answers as the page saw them and any page errors. Run by tests/tests/tracker_browser.rs.
//
//   LANDING_URL=http://127.0.0.1:PORT/landing.html?gclid=… EDGE_URL=http://127.0.0.1:PORT node journey.mjs
import { chromium } from 'playwright-core';

const landing = process.env.LANDING_URL;
const edge = process.env.EDGE_URL;
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
if (!landing || !edge) {
  console.error('LANDING_URL and EDGE_URL are required');
  process.exit(2);
}

const browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
const answers = [];
const errors = [];
try {
  const context = await browser.newContext();
  // The phone and WhatsApp apps: a click on such a link goes nowhere (the tracker has seen it by then).
  await context.addInitScript(() => {
    window.addEventListener('click', (e) => {
      const a = e.target.closest && e.target.closest('a[href]');
      if (a && /^tel:|wa\.me\//.test(a.getAttribute('href'))) e.preventDefault();
    });
  });
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('response', (r) => {
    if (r.url().startsWith(edge)) answers.push({ url: r.url().slice(edge.length), status: r.status() });
  });
  const settle = (ms) => page.waitForTimeout(ms);

  await page.goto(landing, { waitUntil: 'load' });
  await page.waitForFunction(() => window.opsmantik && window.opsmantik.version);
  await settle(300);
  await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
  await settle(300);
  await page.click('#call');
  await settle(300);
  await page.click('#whatsapp');
  await settle(1500);
  await Promise.all([page.waitForURL('**/second.html'), page.click('#next')]);
  await page.waitForFunction(() => window.opsmantik && window.opsmantik.version);
  await settle(500);
  await page.evaluate(() => history.pushState({}, '', '/app/step-2'));
  await settle(1500);
  await page.close({ runBeforeUnload: true });
  // The close beacon leaves after the page is gone; give the browser a moment to send it.
  await new Promise((r) => setTimeout(r, 3000));
} finally {
  await browser.close();
}
console.log(JSON.stringify({ answers, errors }));
