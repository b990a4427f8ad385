// Opens the edge's Swagger UI (/docs) in Debian's Chromium and reports what a reader sees: the title, the
// operations listed, one operation expanded, console errors, failed requests. Saves a screenshot. Prints one
// JSON line. Run by tests/tests/openapi.rs.
//
//   DOCS_URL=http://127.0.0.1:PORT/docs SCREENSHOT=/path/docs.png node docs.mjs
import { chromium } from 'playwright-core';

const { DOCS_URL: url, SCREENSHOT: shot } = process.env;
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
if (!url || !shot) {
  console.error('DOCS_URL and SCREENSHOT are required');
  process.exit(2);
}

const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
const report = { consoleErrors: [], failedRequests: [], externalRequests: [] };
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 2000 } });
  const origin = new URL(url).origin;
  page.on('console', (m) => m.type() === 'error' && report.consoleErrors.push(m.text()));
  page.on('pageerror', (e) => report.consoleErrors.push(String(e)));
  page.on('requestfailed', (r) => report.failedRequests.push(r.url()));
  page.on('request', (r) => {
    if (!r.url().startsWith(origin) && !r.url().startsWith('data:')) report.externalRequests.push(r.url());
  });
  await page.goto(url, { waitUntil: 'networkidle' });
  await page.waitForSelector('.opblock', { timeout: 20000 });
  report.title = await page.textContent('.info .title');
  report.operations = await page.$$eval('.opblock-summary-path', (els) =>
    els.map((e) => `${e.closest('.opblock').querySelector('.opblock-summary-method').textContent} ${e.getAttribute('data-path')}`));
  // Expand the tracker's route: its request body and answers render.
  const sync = page.locator('.opblock-post:has([data-path="/api/sync"])').first();
  await sync.locator('.opblock-summary').click();
  await sync.locator('.responses-wrapper').waitFor({ timeout: 10000 });
  report.syncResponses = await sync.locator('.responses-table .response-col_status').allTextContents();
  await page.screenshot({ path: shot, fullPage: false });
} catch (e) {
  report.failure = String(e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(report));
