// OpsMantik tracker, served by the edge at /tracker.js. Wire contract and snippet: docs/tracker.md.
//
//   <script async src="https://EDGE/tracker.js" data-site="SITE"
//           data-proxy="/opsmantik/call-event" data-consent="analytics,marketing"></script>
//
// Sends page views (SPA history changes too), scroll depth, heartbeats while visible, the session end on
// unload (a beacon), and tel:/WhatsApp clicks as conversions, to POST /api/sync as text/plain (no preflight).
// Every hit carries its client time `ts`; the edge re-times it with `st` (the send time), so a hit queued
// offline keeps its event time, and a re-sent hit keeps its id. Unsent hits wait in an outbox in
// localStorage, are batched (up to 20 per request) and retried with backoff on 429, 5xx and network errors.
// With `data-proxy`, a click is also sent as a call event to that first-party URL, which signs it with the
// site's secret and forwards it to /api/call-event/v2: the secret never reaches the page.
// Written to this file's rules: whole-line `//` comments only, no template literals (the edge compacts it by
// dropping comment lines and indentation).
(function (w, d) {
  'use strict';
  var script = d.currentScript;
  var site = script && script.getAttribute('data-site');
  if (!site || w.opsmantik) return;
  var api = (script.getAttribute('data-api') || new URL(script.src).origin).replace(/\/+$/, '');
  var proxy = script.getAttribute('data-proxy');
  var consentAttr = script.getAttribute('data-consent');
  var VERSION = 'opsmantik-tracker-1';
  var BATCH = 20;
  var OUTBOX_MAX = 500;
  var FLUSH_MS = 1000;
  var HEARTBEAT_MS = 15000;
  var MAX_AGE_MS = 72 * 3600 * 1000;
  var ATTRIBUTION = ['gclid', 'wbraid', 'gbraid', 'utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content'];
  var outboxKey = 'om_outbox_' + site;
  var sessionKey = 'om_session_' + site;

  function now() { return Date.now(); }
  function rand(n) { return Math.random().toString(36).slice(2, 2 + n); }
  function uuid() {
    if (w.crypto && crypto.randomUUID) return crypto.randomUUID();
    return 'xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx'.replace(/[xy]/g, function (c) {
      var r = Math.random() * 16 | 0;
      return (c === 'x' ? r : (r & 3 | 8)).toString(16);
    });
  }
  function read(store, key) {
    try { return JSON.parse(store.getItem(key)); } catch (e) { return null; }
  }
  function write(store, key, value) {
    try { store.setItem(key, JSON.stringify(value)); } catch (e) { /* private mode or full: memory only */ }
  }
  function local() { try { return w.localStorage; } catch (e) { return null; } }
  function tab() { try { return w.sessionStorage; } catch (e) { return null; } }

  // A short, stable hash of what the browser says about itself: the visitor key the edge sessionizes on.
  function fingerprint() {
    var s = [navigator.userAgent, navigator.language, screen.width, screen.height, screen.colorDepth,
      w.devicePixelRatio, navigator.hardwareConcurrency, new Date().getTimezoneOffset(),
      (Intl.DateTimeFormat().resolvedOptions() || {}).timeZone].join('|');
    var h = 2166136261;
    for (var i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 16777619); }
    return (h >>> 0).toString(36);
  }

  // The tab's session: its id, month, landing attribution and active seconds, kept across page loads.
  var session = (tab() && read(tab(), sessionKey)) || {};
  if (!session.sid) {
    var started = new Date();
    session = { sid: uuid(), sm: started.toISOString().slice(0, 8) + '01', active: 0, attr: {} };
  }
  session.attr = session.attr || {};
  session.active = session.active || 0;
  var params = new URL(w.location.href).searchParams;
  ATTRIBUTION.forEach(function (k) { if (params.get(k)) session.attr[k] = params.get(k); });
  function saveSession() { if (tab()) write(tab(), sessionKey, session); }
  saveSession();

  var fp = fingerprint();
  var scopes = consentAttr ? consentAttr.split(',').map(function (s) { return s.trim(); }) : null;
  var loadedAt = now();
  var visibleSince = d.visibilityState === 'visible' ? now() : 0;
  var page = { url: '', scroll: 0, marks: {} };

  function activeSec() {
    var extra = visibleSince ? (now() - visibleSince) / 1000 : 0;
    return Math.round(session.active + extra);
  }
  function banks() {
    if (visibleSince) { session.active += (now() - visibleSince) / 1000; visibleSince = now(); }
    saveSession();
  }

  function meta(extra) {
    var m = { fp: fp, om_tracker_version: VERSION, lan: navigator.language, sw: screen.width, sh: screen.height,
      dpr: w.devicePixelRatio };
    var k;
    for (k in session.attr) m[k] = session.attr[k];
    for (k in extra || {}) m[k] = extra[k];
    return m;
  }

  // ---- the outbox: hits wait here until the edge has them --------------------------------------------
  var outbox = (local() && read(local(), outboxKey)) || [];
  var sending = false;
  var resumeAt = 0;
  var failures = 0;
  var timer = 0;

  function persist() { if (local()) write(local(), outboxKey, outbox); }

  function enqueue(ec, ea, el, ev, extra) {
    if (scopes && scopes.indexOf('analytics') < 0) return;
    var hit = { s: site, u: w.location.href, sid: session.sid, sm: session.sm, ec: ec, ea: ea, el: el || '',
      r: d.referrer, meta: meta(extra), ts: now() };
    if (ev !== undefined && ev !== null) hit.ev = ev;
    if (scopes) hit.consent_scopes = scopes;
    outbox.push({ hit: hit, solo: false });
    if (outbox.length > OUTBOX_MAX) outbox.splice(0, outbox.length - OUTBOX_MAX);
    persist();
    schedule(FLUSH_MS);
  }

  function schedule(ms) {
    if (timer) return;
    timer = setTimeout(function () { timer = 0; flush(); }, Math.max(ms, resumeAt - now()));
  }

  // The next request's items: one item marked solo (after a refused batch), else up to BATCH items.
  function take() {
    var cutoff = now() - MAX_AGE_MS;
    outbox = outbox.filter(function (it) { return it.hit.ts > cutoff; });
    if (!outbox.length) return [];
    if (outbox[0].solo) return outbox.slice(0, 1);
    var n = 0;
    while (n < outbox.length && n < BATCH && !outbox[n].solo) n++;
    return outbox.slice(0, n);
  }

  function body(items) {
    var st = now();
    var hits = items.map(function (it) { it.hit.st = st; return it.hit; });
    return JSON.stringify(hits.length === 1 ? hits[0] : { events: hits });
  }

  function drop(items) {
    outbox = outbox.filter(function (it) { return items.indexOf(it) < 0; });
    persist();
  }

  function backoff(retryAfter) {
    failures++;
    var wait = retryAfter > 0 ? retryAfter * 1000 : Math.min(60000, 1000 * Math.pow(2, failures));
    resumeAt = now() + wait * (0.75 + Math.random() / 2);
  }

  function flush() {
    var items = take();
    if (sending || !items.length) return;
    if (now() < resumeAt) { schedule(0); return; }
    sending = true;
    fetch(api + '/api/sync?_ts=' + now(), { method: 'POST', body: body(items), keepalive: true,
      credentials: 'omit', headers: { 'Content-Type': 'text/plain' } })
      .then(function (r) { settle(items, r.status, Number(r.headers.get('Retry-After'))); },
        function () { settle(items, 0, 0); });
  }

  function settle(items, status, retryAfter) {
    sending = false;
    if (status >= 200 && status < 300) {
      failures = 0;
      drop(items);
    } else if (status === 400 && items.length > 1) {
      // One bad hit refuses the batch: send its hits one by one so only that one is lost.
      items.forEach(function (it) { it.solo = true; });
      persist();
    } else if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
      drop(items);
    } else {
      backoff(retryAfter);
    }
    if (outbox.length) schedule(status >= 200 && status < 300 ? 0 : FLUSH_MS);
  }

  // On the way out: whatever waits goes in beacons (the browser sends them after the page is gone).
  // Hits of a refused batch go alone here too, so a bad one cannot take the others down with it.
  function beacon() {
    if (!navigator.sendBeacon) return;
    var items = take();
    while (items.length) {
      var blob = new Blob([body(items)], { type: 'text/plain' });
      if (!navigator.sendBeacon(api + '/api/sync?_ts=' + now(), blob)) break;
      outbox = outbox.slice(items.length);
      items = take();
    }
    persist();
  }

  // ---- what is tracked --------------------------------------------------------------------------------
  function view() {
    var url = w.location.href.split('#')[0];
    if (url === page.url) return;
    page = { url: url, scroll: 0, marks: {} };
    enqueue('interaction', 'view', d.title);
  }

  function scrolled() {
    var el = d.documentElement;
    var height = Math.max(el.scrollHeight, d.body ? d.body.scrollHeight : 0);
    var pct = height <= w.innerHeight ? 100 : Math.round((w.scrollY + w.innerHeight) / height * 100);
    page.scroll = Math.max(page.scroll, Math.min(100, pct));
    [50, 90].forEach(function (mark) {
      if (page.scroll >= mark && !page.marks[mark]) {
        page.marks[mark] = 1;
        enqueue('interaction', 'scroll_depth', mark + '%', page.scroll);
      }
    });
  }

  // The clicked number as one spelling: `+<digits>` for tel:, the link itself for WhatsApp (the edge
  // normalises `wa.me/<n>?text=…`, `api.whatsapp.com/send?phone=`, `chat.whatsapp.com/<code>`).
  function clickTarget(href) {
    if (/^tel:/i.test(href)) {
      var n = decodeURIComponent(href.slice(4)).replace(/[^\d+]/g, '');
      return { action: 'phone', ea: 'phone_call', target: n };
    }
    if (/^whatsapp:|\/\/(wa\.me|api\.whatsapp\.com|chat\.whatsapp\.com|web\.whatsapp\.com)\//i.test(href)) {
      return { action: 'whatsapp', ea: 'whatsapp', target: href };
    }
    return null;
  }

  function clicked(e) {
    var a = e.target && e.target.closest && e.target.closest('a[href]');
    var click = a && clickTarget(a.href || a.getAttribute('href'));
    if (!click) return;
    var stamp = now() + '-' + rand(4) + '-' + (click.action === 'phone' ? 'tel' : 'wa') + '-' + rand(6);
    var context = { intent_action: click.action, intent_target: click.target, intent_stamp: stamp,
      intent_page_url: w.location.href };
    enqueue('conversion', click.ea, click.target, null, context);
    flush();
    if (proxy) callEvent(click, context);
  }

  // Proxy mode: the call event goes to the site's own server, which signs it and forwards it.
  function callEvent(click, context) {
    var event = { event_id: uuid(), site_id: site, phone_number: click.target, fingerprint: fp,
      action: click.action, url: w.location.href, ua: navigator.userAgent,
      gclid: session.attr.gclid || null, wbraid: session.attr.wbraid || null, gbraid: session.attr.gbraid || null };
    for (var k in context) event[k] = context[k];
    fetch(proxy, { method: 'POST', body: JSON.stringify(event), keepalive: true,
      headers: { 'Content-Type': 'application/json' } }).catch(function () { /* the conversion hit still counts */ });
  }

  function visibility() {
    if (d.visibilityState === 'visible') {
      if (!visibleSince) visibleSince = now();
    } else {
      banks();
      visibleSince = 0;
      beacon();
    }
  }

  function leave() {
    banks();
    enqueue('system', 'session_end', '', null, { active_sec: activeSec(), duration_sec: Math.round((now() - loadedAt) / 1000),
      scroll_pct: page.scroll, exit_page: w.location.href });
    beacon();
  }

  function heartbeat() {
    if (d.visibilityState !== 'visible') return;
    banks();
    enqueue('system', 'heartbeat', '', null, { active_sec: activeSec(), scroll_pct: page.scroll });
  }

  // ---- wiring -----------------------------------------------------------------------------------------
  ['pushState', 'replaceState'].forEach(function (name) {
    var original = history[name];
    history[name] = function () {
      var result = original.apply(this, arguments);
      view();
      return result;
    };
  });
  w.addEventListener('popstate', view);
  w.addEventListener('scroll', scrolled, { passive: true });
  d.addEventListener('click', clicked, true);
  d.addEventListener('visibilitychange', visibility);
  w.addEventListener('pagehide', leave);
  setInterval(heartbeat, HEARTBEAT_MS);

  w.opsmantik = {
    version: VERSION,
    track: function (ec, ea, el, ev, extra) { enqueue(ec, ea, el, ev, extra); },
    consent: function (granted) { scopes = granted; },
    flush: flush
  };
  view();
  scrolled();
  flush();
})(window, document);
