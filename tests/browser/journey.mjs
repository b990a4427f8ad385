// Journeys in Debian's Chromium, driven by playwright-core (never a downloaded browser). Prints one JSON line:
// the edge's answers as the page saw them and any page errors. Run by tests/tests/tracker_browser.rs.
//
//   SCENARIO=visit   a landing page from a Google ad, scroll to the bottom, a tel: click and a WhatsApp click
//                    (their external handlers stubbed), a second page, an in-app (SPA) navigation, the tab closed
//   SCENARIO=outage  the edge unreachable for 5 s, then one 429 with Retry-After, while the page tracks a good
//                    event and a bad one (a boolean value): the outbox keeps the hits, the bad one is refused
//
//   SCENARIO=visit LANDING_URL=http://127.0.0.1:PORT/landing.html?gclid=… EDGE_URL=http://127.0.0.1:PORT node journey.mjs
import { chromium } from 'playwright-core';

const { LANDING_URL: landing, EDGE_URL: edge, SCENARIO: scenario = 'visit' } = process.env;
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
if (!landing || !edge) {
  console.error('LANDING_URL and EDGE_URL are required');
  process.exit(2);
}

const trackerReady = (page) => page.waitForFunction(() => window.opsmantik && window.opsmantik.version);

async function visit(page) {
  await page.goto(landing, { waitUntil: 'load' });
  await trackerReady(page);
  await page.waitForTimeout(300);
  await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
  await page.waitForTimeout(300);
  await page.click('#call');
  await page.waitForTimeout(300);
  await page.click('#whatsapp');
  await page.waitForTimeout(1500);
  await Promise.all([page.waitForURL('**/second.html'), page.click('#next')]);
  await trackerReady(page);
  await page.waitForTimeout(500);
  await page.evaluate(() => history.pushState({}, '', '/app/step-2'));
  await page.waitForTimeout(1500);
  await page.close({ runBeforeUnload: true });
  // The close beacon leaves after the page is gone, unseen by the driver; give the browser time to send it.
  await new Promise((r) => setTimeout(r, 3000));
}

async function outage(page) {
  const origin = new URL(landing).origin;
  let phase = 'offline';
  await page.route((url) => url.href.startsWith(edge + '/api/sync'), (route) => {
    if (phase === 'offline') return route.abort('internetdisconnected');
    if (phase === 'busy') {
      phase = 'up';
      return route.fulfill({ status: 429, body: '{"error":"rate_limited"}', headers: {
        'Retry-After': '1', 'Access-Control-Allow-Origin': origin, 'Access-Control-Expose-Headers': 'Retry-After' } });
    }
    return route.continue();
  });
  await page.goto(landing, { waitUntil: 'load' });
  await trackerReady(page);
  await page.evaluate(() => {
    window.opsmantik.track('interaction', 'signup_started', 'form');
    window.opsmantik.track('interaction', 'custom', 'bad', true);
  });
  await page.waitForTimeout(5000);
  phase = 'busy';
  await page.waitForResponse((r) => r.url().startsWith(edge + '/api/sync') && r.status() === 200, { timeout: 60000 });
  // The refused batch's hits go one by one after it.
  await page.waitForTimeout(4000);
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
  page.on('console', (m) => {
    // The outage's refused requests are the browser's own network errors, not the page's.
    const expected = scenario === 'outage' && /Failed to load resource|ERR_INTERNET_DISCONNECTED/.test(m.text());
    if (m.type() === 'error' && !expected) errors.push(m.text());
  });
  page.on('response', (r) => {
    if (r.url().startsWith(edge)) answers.push({ url: r.url().slice(edge.length), status: r.status() });
  });
  await (scenario === 'outage' ? outage(page) : visit(page));
} finally {
  await browser.close();
}
console.log(JSON.stringify({ answers, errors }));
