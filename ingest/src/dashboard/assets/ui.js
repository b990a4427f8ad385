// Small helpers every screen uses: elements, labels in English and Turkish, time in the site's zone, numbers,
// the bar chart, notices.

const LABELS = {
  en: {
    overview: 'Overview', calls: 'Call queue', events: 'Events', sites: 'Sites', ops: 'Operations',
    signout: 'Sign out', signin: 'Sign in', email: 'E-mail', code: 'Code', send_code: 'Send me a code',
    verify: 'Sign in with the code', visitors: 'Visitors', sessions: 'Sessions', pageviews: 'Page views',
    conversions: 'Conversions', calls_n: 'Calls', matched_calls: 'Matched calls', confirmed_value: 'Confirmed value',
    period: 'Period', today: 'Today', h24: 'Last 24 hours', d7: 'Last 7 days', custom: 'Custom',
    sources: 'Top sources', devices: 'Devices', countries: 'Countries', seal: 'Seal', junk: 'Junk',
    cancel: 'Cancel', restore: 'Restore', status: 'Status', all: 'All', amount: 'Amount', currency: 'Currency',
    export_csv: 'Download conversions (CSV)', pending_upload: 'Pending upload', site: 'Site',
    no_sites: 'No sites yet: create one below.', create_site: 'Create site', name: 'Name', domain: 'Domain',
  },
  tr: {
    overview: 'Genel bakış', calls: 'Arama kuyruğu', events: 'Olaylar', sites: 'Siteler', ops: 'Operasyon',
    signout: 'Çıkış', signin: 'Giriş', email: 'E-posta', code: 'Kod', send_code: 'Kod gönder',
    verify: 'Kodla giriş yap', visitors: 'Ziyaretçi', sessions: 'Oturum', pageviews: 'Sayfa görüntüleme',
    conversions: 'Dönüşüm', calls_n: 'Arama', matched_calls: 'Eşleşen arama', confirmed_value: 'Onaylı değer',
    period: 'Dönem', today: 'Bugün', h24: 'Son 24 saat', d7: 'Son 7 gün', custom: 'Özel',
    sources: 'Kaynaklar', devices: 'Cihazlar', countries: 'Ülkeler', seal: 'Mühürle', junk: 'Çöp',
    cancel: 'İptal', restore: 'Geri al', status: 'Durum', all: 'Tümü', amount: 'Tutar', currency: 'Para birimi',
    export_csv: 'Dönüşümleri indir (CSV)', pending_upload: 'Yüklenecek', site: 'Site',
    no_sites: 'Henüz site yok: aşağıdan oluşturun.', create_site: 'Site oluştur', name: 'Ad', domain: 'Alan adı',
  },
};

export const lang = () => (localStorage.getItem('lang') === 'tr' ? 'tr' : 'en');
export const t = (key) => LABELS[lang()][key] || LABELS.en[key] || key;

// An element: `el('button', {class: 'x', onclick: f}, 'text', child)`.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (k === 'class') node.className = v;
    else node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

// A labelled input: returns [label, input].
export function field(label, attrs) {
  const id = attrs.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  const input = el(attrs.tag || 'input', { ...attrs, id, tag: undefined });
  return [el('label', { for: id }, label), input];
}

// Shows `message` in the page's live region (`kind`: info, ok, error).
export function notice(message, kind = 'info') {
  const box = document.getElementById('notice');
  box.className = `notice ${kind}`;
  box.textContent = message;
  box.hidden = !message;
}

export const number = (n) => new Intl.NumberFormat(lang()).format(n || 0);
export const money = (n, currency) =>
  new Intl.NumberFormat(lang(), { style: 'currency', currency: currency || 'TRY' }).format(n || 0);

// A time (ISO text or ms) in the site's zone.
export function when(value, timeZone, withDate = true) {
  if (!value) return '—';
  const options = { timeZone, hour: '2-digit', minute: '2-digit' };
  if (withDate) Object.assign(options, { year: 'numeric', month: 'short', day: 'numeric' });
  return new Intl.DateTimeFormat(lang(), options).format(new Date(value));
}

// How far `timeZone` is ahead of UTC at `date`, in ms.
function offset(timeZone, date) {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit',
  }).formatToParts(date);
  const p = Object.fromEntries(parts.map((x) => [x.type, Number(x.value)]));
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(date / 1000) * 1000;
}

// The moment a `datetime-local` value (YYYY-MM-DDTHH:MM) names in `timeZone`.
export function zoned(local, timeZone) {
  const asUtc = new Date(`${local}:00Z`);
  return new Date(asUtc.getTime() - offset(timeZone, asUtc));
}

// Midnight of today in `timeZone`, as a Date.
export function startOfToday(timeZone) {
  const now = new Date();
  const local = new Date(now.getTime() + offset(timeZone, now));
  const midnight = Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate());
  return new Date(midnight - offset(timeZone, new Date(midnight - offset(timeZone, now))));
}

// A bar chart of `series` ([{start (s), events, pageviews}]) as SVG, labelled for screen readers.
export function barChart(series, timeZone, bucket) {
  const w = 640, h = 160, pad = 24;
  const max = Math.max(1, ...series.map((b) => b.events));
  const width = series.length ? (w - pad) / series.length : 0;
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
  svg.setAttribute('role', 'img');
  svg.setAttribute('class', 'chart');
  const total = series.reduce((n, b) => n + b.events, 0);
  svg.setAttribute('aria-label', `${number(total)} events in ${series.length} ${bucket}s`);
  series.forEach((b, i) => {
    const bar = document.createElementNS(svg.namespaceURI, 'rect');
    const height = Math.max(1, ((h - pad) * b.events) / max);
    bar.setAttribute('x', pad + i * width + 1);
    bar.setAttribute('y', h - pad - height);
    bar.setAttribute('width', Math.max(1, width - 2));
    bar.setAttribute('height', height);
    const title = document.createElementNS(svg.namespaceURI, 'title');
    const views = b.pageviews === undefined ? '' : `, ${b.pageviews} page views`;
    title.textContent = `${when(b.start * 1000, timeZone, bucket === 'day')}: ${b.events} events${views}`;
    bar.append(title);
    svg.append(bar);
  });
  const label = document.createElementNS(svg.namespaceURI, 'text');
  label.setAttribute('x', 2);
  label.setAttribute('y', 12);
  label.textContent = number(max);
  svg.append(label);
  return svg;
}

// A table with a caption: `columns` [[heading, row => cell]].
export function table(caption, columns, rows) {
  return el('table', {},
    el('caption', {}, caption),
    el('thead', {}, el('tr', {}, columns.map(([h]) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, rows.map((r) => el('tr', {}, columns.map(([, f]) => el('td', {}, f(r)))))));
}
