import { createHash } from 'node:crypto';

/**
 * The operator dashboard served at GET /dashboard: one self-contained document that follows
 * GET /dashboard/events. Every string in a FleetView comes from reporters, so the script builds
 * the DOM with createElement and text nodes only, and the CSP admits nothing but its own
 * inline script and style, pinned by hash.
 *
 * The CSS and script are ASCII on purpose, so their hashes cannot depend on the encoding the
 * response is served with. They are String.raw so what is written here is what the browser gets.
 */

const STYLE = String.raw`
:root { color-scheme: light; font: 14px/1.4 system-ui, sans-serif; color: #1f2328; background: #f6f8fa; }
body { margin: 0; }
header { display: flex; flex-wrap: wrap; gap: 16px; align-items: baseline; padding: 12px 20px; background: #fff; border-bottom: 1px solid #d0d7de; position: sticky; top: 0; }
h1 { font-size: 18px; margin: 0; }
main { padding: 12px 20px; }
.connection::before { content: ''; display: inline-block; width: 9px; height: 9px; border-radius: 50%; margin-right: 6px; background: #8c959f; }
.connection[data-connection="live"]::before { background: #1a7f37; }
.connection[data-connection="reconnecting"]::before { background: #bf8700; }
.connection[data-connection="disconnected"]::before { background: #cf222e; }
.muted, .meta { color: #656d76; }
section { background: #fff; border: 1px solid #d0d7de; border-radius: 6px; margin-bottom: 16px; overflow-x: auto; }
h2 { display: flex; flex-wrap: wrap; gap: 12px; align-items: baseline; font-size: 15px; margin: 0; padding: 10px 12px; border-bottom: 1px solid #d0d7de; }
h2 .meta { font-weight: normal; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 5px 10px; border-bottom: 1px solid #eaeef2; white-space: nowrap; }
th { font-weight: 600; color: #656d76; font-size: 12px; }
td.num { text-align: right; }
td.hot { color: #cf222e; font-weight: 600; }
.id { font-family: ui-monospace, monospace; }
.tag, .badge, .chip { display: inline-block; padding: 0 7px; border-radius: 10px; font-size: 12px; }
.tag { background: #ddf4ff; color: #0969da; font-weight: normal; }
.tag.drop { background: #fff1e5; color: #bc4c00; }
.badge { color: #fff; font-weight: 600; }
.badge.SERVING { background: #1a7f37; }
.badge.NOT_SERVING { background: #8c959f; }
.badge.DRAINING { background: #bf8700; }
.badge.EJECTED { background: #cf222e; }
.chip { background: #eaeef2; margin-right: 4px; font-family: ui-monospace, monospace; }
.meter { display: inline-flex; gap: 6px; align-items: center; }
.bar { display: inline-block; width: 60px; height: 8px; background: #eaeef2; border-radius: 4px; overflow: hidden; }
.bar span { display: block; height: 100%; background: #0969da; }
.bar.alarm span { background: #cf222e; }
.empty, .note { padding: 12px; background: #fff; border: 1px solid #d0d7de; border-radius: 6px; }
.note { background: #fff8c5; }
`;

const SCRIPT = String.raw`
'use strict';
const connection = document.getElementById('connection');
const updated = document.getElementById('updated');
const totals = document.getElementById('totals');
const fleet = document.getElementById('fleet');
const COLUMNS = ['backend', 'zone', 'state', 'weight', 'share', 'utilization', 'rps', 'eps', 'in flight', 'last report', 'principal', 'labels'];
const NONE = '\u2014';

// Derived from the page's own path so it works at /dashboard, /dashboard/ and behind a proxy
// prefix: /prefix/dashboard -> /prefix/dashboard/events and /prefix/api/fleet.
const pagePath = location.pathname.replace(/\/+$/, '');
const eventsUrl = pagePath + '/events';
const fleetUrl = pagePath.slice(0, pagePath.lastIndexOf('/') + 1) + 'api/fleet';

let shownAtMs = -Infinity;
let updates = 0;

function h(tag, className, ...children) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  for (const child of children) if (child !== null) node.append(child);
  return node;
}

function duration(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return s + 's';
  const m = Math.floor(s / 60);
  if (m < 60) return m + 'm ' + (s % 60) + 's';
  return Math.floor(m / 60) + 'h ' + (m % 60) + 'm';
}

function plural(count, noun) {
  return count + ' ' + noun + (count === 1 ? '' : 's');
}

function number(value) {
  if (value === null) return NONE;
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

function meter(fraction, alarm) {
  const fill = h('span', null);
  fill.style.width = Math.min(100, Math.max(0, fraction * 100)) + '%';
  return h('span', 'meter', h('span', alarm ? 'bar alarm' : 'bar', fill), (fraction * 100).toFixed(1) + '%');
}

function backendRow(serviceName, backend, atMs) {
  const ejectedFor = backend.ejectedUntilMs !== null && backend.ejectedUntilMs > atMs ? backend.ejectedUntilMs - atMs : 0;
  const state = ejectedFor > 0 ? 'EJECTED' : backend.state;
  const utilization = backend.utilization;
  const row = h('tr', null,
    h('td', 'id', backend.id),
    h('td', null, backend.zone || NONE),
    h('td', null, h('span', 'badge ' + state, ejectedFor > 0 ? 'EJECTED for ' + duration(ejectedFor) : state)),
    h('td', 'num', String(backend.weight)),
    h('td', null, meter(backend.share, false)),
    h('td', null, utilization === null ? NONE : meter(utilization, utilization >= 0.9)),
    h('td', 'num', number(backend.rps)),
    h('td', backend.eps > 0 ? 'num hot' : 'num', number(backend.eps)),
    h('td', 'num', number(backend.requestsInFlight)),
    h('td', 'num', backend.lastReportMs === 0 ? 'never' : duration(atMs - backend.lastReportMs) + ' ago'),
    h('td', null, backend.principal || NONE),
    h('td', null, ...Object.entries(backend.labels).map(([key, value]) => h('span', 'chip', key + '=' + value))),
  );
  row.dataset.backend = serviceName + '/' + backend.id;
  row.dataset.state = state;
  return row;
}

function serviceSection(service, atMs) {
  const title = h('h2', null,
    h('span', null, service.name),
    h('span', 'meta', 'version ' + service.version),
    h('span', 'meta', service.assigned + '/' + service.total + ' assigned'),
    service.dropPpm > 0 ? h('span', 'tag drop', 'drop ' + service.dropPpm + ' ppm') : null,
    service.cluster ? h('span', 'tag', 'Kubernetes') : null,
  );
  const table = h('table', null,
    h('thead', null, h('tr', null, ...COLUMNS.map((column) => h('th', null, column)))),
    h('tbody', null, ...service.backends.map((backend) => backendRow(service.name, backend, atMs))),
  );
  const section = h('section', null, title, table);
  section.dataset.service = service.name;
  return section;
}

function render(view) {
  let backends = 0;
  let assigned = 0;
  for (const service of view.services) {
    backends += service.total;
    assigned += service.assigned;
  }
  updated.textContent = 'updated ' + new Date(view.atMs).toLocaleTimeString();
  totals.textContent = plural(view.services.length, 'service') + ', ' + plural(backends, 'backend') + ', ' + assigned + ' assigned';
  const parts = [];
  if (view.omittedBackends > 0) {
    parts.push(h('p', 'note', plural(view.omittedBackends, 'more backend') + ' not shown (LOOKASIDE_FLEET_MAX_BACKENDS).'));
  }
  if (view.services.length === 0) parts.push(h('p', 'empty', 'No services yet: nothing has registered.'));
  for (const service of view.services) parts.push(serviceSection(service, view.atMs));
  fleet.replaceChildren(...parts);
}

// The list fetch and the stream can race; a view older than the one on screen is stale.
function show(view) {
  if (view.atMs < shownAtMs) return;
  shownAtMs = view.atMs;
  render(view);
  document.body.dataset.updates = String(++updates);
}

function setConnection(state) {
  connection.dataset.connection = state;
  connection.textContent = state;
}

// Changes made while the stream was down are not replayed, so each (re)connect reads the whole view.
function refresh() {
  fetch(fleetUrl, { cache: 'no-store' })
    .then((response) => (response.ok ? response.json() : null))
    .then((view) => { if (view) show(view); })
    .catch(() => {});
}

function connect() {
  const source = new EventSource(eventsUrl);
  source.onopen = () => { setConnection('live'); refresh(); };
  source.addEventListener('fleet', (event) => show(JSON.parse(event.data)));
  source.onerror = () => {
    if (source.readyState !== EventSource.CLOSED) {
      setConnection('reconnecting');
      return;
    }
    // The browser gives up for good on an HTTP error answer; keep trying, more slowly than it would.
    setConnection('disconnected');
    setTimeout(connect, 5000);
  };
}

connect();
`;

function sha256Source(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>lookaside</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body data-updates="0">
<header>
<h1>lookaside</h1>
<span id="connection" class="connection" data-connection="connecting">connecting</span>
<span id="updated" class="muted">no data yet</span>
<span id="totals" class="muted"></span>
</header>
<main id="fleet"><p class="empty">Waiting for the first view...</p></main>
<script>${SCRIPT}</script>
</body>
</html>
`;

export const DASHBOARD_CSP = [
  "default-src 'none'",
  `script-src ${sha256Source(SCRIPT)}`,
  `style-src ${sha256Source(STYLE)}`,
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
