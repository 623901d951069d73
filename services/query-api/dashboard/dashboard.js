// The dashboard: a person pastes a read key and sees revenue, orders and traffic per hour or per day,
// per store, with freshness. It talks only to the public API (GET /v1/me, /stores, /freshness, /metrics)
// with the key in the Authorization header; the key is kept in this tab's sessionStorage only.
// Ranges are anchored on the merchant's newest data, not the browser clock, so a historical demo data set
// shows up as it is. Provisional buckets are drawn as a separate dashed series.
/* global uPlot */

const $ = (id) => document.getElementById(id);
const state = { key: '', merchant: '', timeZone: 'UTC', charts: [] };
const HOUR = 3_600_000;

function setStatus(text, isError = false) {
  $('status').textContent = text;
  $('status').classList.toggle('error', isError);
}

async function api(path) {
  const res = await fetch(path, { headers: { Authorization: `Bearer ${state.key}` } });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body?.error?.message ? `${res.status}: ${body.error.message}` : `HTTP ${res.status}`);
  return body;
}

const merchantPath = (suffix) => `/v1/merchants/${encodeURIComponent(state.merchant)}/${suffix}`;
const isoHour = (ms) => new Date(ms).toISOString().slice(0, 19) + 'Z';
const utcDate = (ms) => new Date(ms).toISOString().slice(0, 10);
const addDays = (date, n) => utcDate(Date.parse(`${date}T00:00:00Z`) + n * 86_400_000);
const localDate = (ms, timeZone) => new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(ms));
const money = (minor) => (minor / 100).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const count = (n) => n.toLocaleString('en-US');

async function connect(event) {
  event?.preventDefault();
  state.key = $('key').value.trim();
  try {
    const me = await api('/v1/me');
    if (me.kind === 'admin') {
      $('merchant-field').hidden = false;
      state.merchant = $('merchant').value.trim();
      if (!state.merchant) return setStatus('An admin key reads every merchant: enter a merchant id.');
    } else {
      $('merchant-field').hidden = true;
      state.merchant = me.merchant_id;
    }
    sessionStorage.setItem('tillstream.key', state.key);
    const { stores } = await api(merchantPath('stores'));
    const select = $('store');
    select.replaceChildren(new Option('All stores', ''), ...stores.map((s) => new Option(`${s.name}${s.city ? ` (${s.city})` : ''}`, s.id)));
    $('merchant-name').textContent = state.merchant;
    $('view').hidden = false;
    await refresh();
  } catch (err) {
    $('view').hidden = true;
    setStatus(`Could not load: ${err.message}`, true);
  }
}

async function refresh() {
  setStatus('Loading…');
  try {
    const grain = document.querySelector('input[name="grain"]:checked').value;
    const store = $('store').value;
    const freshness = await api(merchantPath('freshness'));
    showFreshness(freshness);
    const anchor = Math.max(Date.parse(freshness.newest_event_at ?? '') || 0, Date.parse(freshness.finalized_through ?? '') || 0) || Date.now();
    let query;
    if (grain === 'hour') {
      const to = Math.floor(anchor / HOUR) * HOUR + HOUR;
      query = `granularity=hour&from=${encodeURIComponent(isoHour(to - 48 * HOUR))}&to=${encodeURIComponent(isoHour(to))}`;
    } else {
      // The merchant's zone is known from the answer; ask a little wide, then trim to its local today.
      const to = addDays(utcDate(anchor), 2);
      query = `granularity=day&from=${addDays(to, -33)}&to=${to}`;
    }
    const storeQuery = store ? `&store=${encodeURIComponent(store)}` : '';
    const [sales, traffic] = await Promise.all([
      api(merchantPath(`metrics?series=sales&metrics=net_revenue_minor,orders&${query}${storeQuery}`)),
      api(merchantPath(`metrics?series=traffic&metrics=page_views&${query}`)),
    ]);
    let salesPoints = sales.points;
    let trafficPoints = traffic.points;
    if (grain === 'day') {
      const today = localDate(anchor, sales.time_zone);
      salesPoints = salesPoints.filter((p) => p.start <= today).slice(-31);
      trafficPoints = trafficPoints.filter((p) => p.start <= localDate(anchor, traffic.time_zone)).slice(-31);
    }
    state.timeZone = sales.time_zone;
    $('traffic-note').textContent = store ? '(all stores: traffic has no store dimension)' : '';
    render(grain, salesPoints, trafficPoints);
    setStatus(`Showing ${grain === 'hour' ? 'hours (UTC)' : `days (${sales.time_zone})`} for ${state.merchant}${store ? `, store ${store}` : ''}.`);
  } catch (err) {
    setStatus(`Could not load: ${err.message}`, true);
  }
}

function showFreshness(f) {
  $('newest-event').textContent = f.newest_event_at ?? '–';
  $('finalized-through').textContent = f.finalized_through ?? '–';
  $('lag').textContent = f.lag_seconds === null ? '–' : `${Math.floor(f.lag_seconds / 60)} min`;
  $('lag').dataset.value = f.lag_seconds ?? '';
}

function setTotal(id, value, format) {
  $(id).textContent = format(value);
  $(id).dataset.value = String(value);
}

function render(grain, salesPoints, trafficPoints) {
  const sum = (points, metric) => points.reduce((s, p) => s + (p.values[metric] ?? 0), 0);
  setTotal('total-revenue', sum(salesPoints, 'net_revenue_minor'), money);
  setTotal('total-orders', sum(salesPoints, 'orders'), count);
  setTotal('total-page-views', sum(trafficPoints, 'page_views'), count);

  const trafficByStart = new Map(trafficPoints.map((p) => [p.start, p]));
  const rows = salesPoints.map((p) => {
    const tr = document.createElement('tr');
    tr.className = p.provisional ? 'provisional' : 'final';
    tr.dataset.start = p.start;
    const pv = trafficByStart.get(p.start)?.values.page_views ?? 0;
    const cells = [
      [p.start, ''],
      [money(p.values.net_revenue_minor), p.values.net_revenue_minor],
      [count(p.values.orders), p.values.orders],
      [count(pv), pv],
      [p.provisional ? 'provisional' : 'final', ''],
    ];
    for (const [text, value] of cells) {
      const td = document.createElement('td');
      td.textContent = text;
      if (value !== '') td.dataset.value = String(value);
      tr.append(td);
    }
    return tr;
  });
  document.querySelector('#data tbody').replaceChildren(...rows.reverse());

  for (const chart of state.charts) chart.destroy();
  state.charts = [
    chart('chart-revenue', grain, salesPoints, (p) => p.values.net_revenue_minor / 100),
    chart('chart-orders', grain, salesPoints, (p) => p.values.orders),
    chart('chart-traffic', grain, trafficPoints, (p) => p.values.page_views),
  ];
}

/** One chart: the final buckets solid, the provisional ones dashed, joined at the boundary. */
function chart(id, grain, points, value) {
  const xs = points.map((p) => (grain === 'hour' ? Date.parse(p.start) : Date.parse(`${p.start}T00:00:00Z`)) / 1000);
  const finals = points.map((p) => (p.provisional ? null : value(p)));
  const provisional = points.map((p, i) => (p.provisional || points[i + 1]?.provisional ? value(p) : null));
  const el = $(id);
  el.replaceChildren();
  el.dataset.points = String(points.length);
  el.dataset.provisional = String(points.filter((p) => p.provisional).length);
  const styles = getComputedStyle(document.documentElement);
  const opts = {
    width: Math.min(1050, el.clientWidth || 1050),
    height: 220,
    // Hours read in UTC (as the API answers them); days are local dates, drawn as such.
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
    scales: { x: { time: true } },
    legend: { show: false },
    series: [
      {},
      { label: 'final', stroke: styles.getPropertyValue('--final').trim() || '#1f6feb', width: 2, spanGaps: false },
      { label: 'provisional', stroke: styles.getPropertyValue('--provisional').trim() || '#d97706', width: 2, dash: [6, 4] },
    ],
    axes: [{}, { size: 70 }],
  };
  return new uPlot(opts, [xs, finals, provisional], el);
}

$('connect').addEventListener('submit', connect);
$('store').addEventListener('change', refresh);
for (const radio of document.querySelectorAll('input[name="grain"]')) radio.addEventListener('change', refresh);
const saved = sessionStorage.getItem('tillstream.key');
if (saved) {
  $('key').value = saved;
  connect();
}
