// The dashboard: a person pastes a read key and sees revenue, orders, average order, refunds and traffic
// for a range — recent hours or days, or a preset of the merchant's local days — compared with the
// previous period, with the top products and stores, per store, with freshness; web traffic the way web
// analytics shows it (top pages, sources, devices, countries), the low-stock list and each promotion's
// uplift, and the merchant's alerts with their webhook delivery. It talks only to the public API (GET
// /v1/me, /merchants/{id}, /stores, /freshness, /metrics with compare=previous_period, /top, /low-stock,
// /promotions, /alerts) with the key in the Authorization header; the key is kept in this tab's
// sessionStorage only.
// Money is formatted in the merchant's currency (Intl.NumberFormat; minor units per currency, none for
// JPY), hours in the merchant's time zone. "Recent" ranges are anchored on the merchant's newest data,
// not the browser clock, so a historical demo data set shows up as it is. Provisional buckets are drawn
// as a separate dashed series, the previous period faintly.
/* global uPlot */

const $ = (id) => document.getElementById(id);
const state = { key: '', merchant: '', timeZone: 'UTC', currency: null, charts: [], csvPath: '' };
const HOUR = 3_600_000;
/** Sales metrics shown as the order mix, with their labels. */
const MIX = [
  ['online_orders', 'Online'],
  ['pos_orders', 'Point of sale'],
  ['pickup_orders', 'Pickup'],
  ['delivery_orders', 'Delivery'],
  ['dine_in_orders', 'Dine-in'],
  ['cancellations', 'Cancellations'],
];

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

const merchantPath = (suffix) => `/v1/merchants/${encodeURIComponent(state.merchant)}${suffix ? `/${suffix}` : ''}`;
const isoHour = (ms) => new Date(ms).toISOString().slice(0, 19) + 'Z';
const utcDate = (ms) => new Date(ms).toISOString().slice(0, 10);
const addDays = (date, n) => utcDate(Date.parse(`${date}T00:00:00Z`) + n * 86_400_000);
const localDate = (ms, timeZone) => new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(ms));

/** Amounts in minor units, in the merchant's currency (2 decimals when it is unknown). */
function money(minor) {
  if (minor === null || minor === undefined) return '–';
  if (!state.currency) return (minor / 100).toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const f = new Intl.NumberFormat(undefined, { style: 'currency', currency: state.currency });
  const digits = f.resolvedOptions().maximumFractionDigits ?? 2;
  return f.format(minor / 10 ** digits);
}
const count = (n) => (n === null || n === undefined ? '–' : n.toLocaleString());
/** An hour's start in the merchant's zone, e.g. 2026-11-21 12:00; days as their local date. */
function localStart(start, grain) {
  if (grain !== 'hour') return start;
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', { timeZone: state.timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
      .formatToParts(new Date(start))
      .map((p) => [p.type, p.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`;
}

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
    const [merchant, { stores }] = await Promise.all([api(merchantPath('')), api(merchantPath('stores'))]);
    state.timeZone = merchant.time_zone;
    state.currency = merchant.currency;
    state.stores = new Map(stores.map((s) => [s.id, s.name]));
    const select = $('store');
    select.replaceChildren(new Option('All stores', ''), ...stores.map((s) => new Option(`${s.name}${s.city ? ` (${s.city})` : ''}`, s.id)));
    $('merchant-name').textContent = merchant.name ? `${merchant.name} (${state.merchant})` : state.merchant;
    $('merchant-zone').textContent = `${merchant.time_zone}${merchant.currency ? `, ${merchant.currency}` : ''}`;
    $('view').hidden = false;
    await refresh();
  } catch (err) {
    $('view').hidden = true;
    setStatus(`Could not load: ${err.message}`, true);
  }
}

/** The range's query: a preset or custom local days, or the recent hours or days around the newest data. */
function rangeQuery(preset, grain, anchor) {
  if (preset === 'custom') {
    // Inclusive dates on the page, a half-open range for the API; hours for up to two days, days beyond.
    const from = $('from').value;
    const to = addDays($('to').value, 1);
    const days = Math.round((Date.parse(to) - Date.parse(from)) / 86_400_000);
    return `granularity=${days <= 2 ? 'hour' : 'day'}&from=${from}&to=${to}`;
  }
  if (preset) return `range=${preset}`;
  if (grain === 'hour') {
    const to = Math.floor(anchor / HOUR) * HOUR + HOUR;
    return `granularity=hour&from=${encodeURIComponent(isoHour(to - 48 * HOUR))}&to=${encodeURIComponent(isoHour(to))}`;
  }
  const today = localDate(anchor, state.timeZone);
  return `granularity=day&from=${addDays(today, -30)}&to=${addDays(today, 1)}`;
}

/** /top takes local dates or instants: the same range as the charts. */
function topQuery(preset, sales) {
  if (preset && preset !== 'custom') return `range=${preset}`;
  return `from=${encodeURIComponent(sales.from)}&to=${encodeURIComponent(sales.to)}`;
}

async function refresh() {
  setStatus('Loading…');
  try {
    const preset = $('range').value;
    $('custom').hidden = preset !== 'custom';
    if (preset === 'custom' && !($('from').value && $('to').value && $('from').value <= $('to').value)) {
      const today = localDate(Date.now(), state.timeZone);
      $('from').value ||= addDays(today, -6);
      $('to').value = $('to').value && $('to').value >= $('from').value ? $('to').value : today;
    }
    for (const radio of document.querySelectorAll('input[name="grain"]')) radio.disabled = Boolean(preset);
    const chosenGrain = document.querySelector('input[name="grain"]:checked').value;
    const store = $('store').value;
    const freshness = await api(merchantPath('freshness'));
    showFreshness(freshness);
    const anchor = Math.max(Date.parse(freshness.newest_event_at ?? '') || 0, Date.parse(freshness.finalized_through ?? '') || 0) || Date.now();
    const query = `${rangeQuery(preset, chosenGrain, anchor)}&compare=previous_period`;
    const storeQuery = store ? `&store=${encodeURIComponent(store)}` : '';
    const salesPath = merchantPath(`metrics?series=sales&metrics=net_revenue_minor,orders,refunds,refund_minor,average_order_value_minor,${MIX.map(([m]) => m).join(',')}&${query}${storeQuery}`);
    const [sales, traffic] = await Promise.all([api(salesPath), api(merchantPath(`metrics?series=traffic&metrics=page_views&${query}`))]);
    state.csvPath = salesPath;
    const grain = sales.granularity;
    $('traffic-note').textContent = store ? '(all stores: traffic has no store dimension)' : '';
    const [products, stores] = await Promise.all([
      api(merchantPath(`top?series=products&by=net_revenue_minor&limit=5&${topQuery(preset, sales)}${storeQuery}`)),
      store ? null : api(merchantPath(`top?series=sales&by=net_revenue_minor&limit=5&${topQuery(preset, sales)}`)),
    ]);
    render(grain, sales, traffic);
    renderTop('top-products', products, (key) => key, 'units');
    if (stores) renderTop('top-stores', stores, (key) => state.stores?.get(key) ?? key, 'orders');
    else document.querySelector('#top-stores tbody').replaceChildren();
    $('period').textContent = `${periodText(sales.from, sales.to, grain)} compared with ${periodText(sales.comparison.from, sales.comparison.to, grain)}`;
    await refreshPanels(preset, sales, store);
    setStatus(`Showing ${grain === 'hour' ? `hours (${state.timeZone})` : `days (${sales.time_zone})`} for ${state.merchant}${store ? `, store ${store}` : ''}.`);
  } catch (err) {
    setStatus(`Could not load: ${err.message}`, true);
  }
}

/** The web traffic breakdowns: series of /top and the table each fills. */
const WEB = [
  ['pages', 'top-pages'],
  ['referrers', 'top-referrers'],
  ['devices', 'top-devices'],
  ['countries', 'top-countries'],
];
const SOURCE_LABELS = { '(direct)': 'Direct / none', '(internal)': 'Your own pages' };

/** The promotions route takes local days: a preset, the days shown, or the local days the hours shown fall in. */
function promotionDays(preset, sales) {
  if (preset && preset !== 'custom') return `range=${preset}`;
  if (sales.granularity === 'day') return `from=${sales.from}&to=${sales.to}`;
  const from = localDate(Date.parse(sales.from), state.timeZone);
  const to = addDays(localDate(Date.parse(sales.to) - 1, state.timeZone), 1);
  return `from=${from}&to=${to}`;
}

/** Web traffic, low stock and promotions; each panel shows its own error instead of failing the page. */
async function refreshPanels(preset, sales, store) {
  const range = topQuery(preset, sales);
  $('web-note').textContent = store ? '(all stores: traffic has no store dimension)' : 'Visitors are exact for one hour or one day; – over longer ranges';
  $('low-stock-note').textContent = store ? `(${state.stores?.get(store) ?? store})` : '';
  await Promise.all([
    ...WEB.map(([series, id]) => panel(id, async () => renderWeb(id, series, await api(merchantPath(`top?series=${series}&by=page_views&limit=8&${range}`))))),
    panel('low-stock', async () => renderLowStock(await api(merchantPath(`low-stock${store ? `?store=${encodeURIComponent(store)}` : ''}`)))),
    panel('promotions', async () => renderPromotions(await api(merchantPath(`promotions?${promotionDays(preset, sales)}`)))),
    panel('alerts', async () => renderAlerts(await api(merchantPath(`alerts?limit=${ALERTS_FETCHED}`)), store)),
  ]);
}

/** Alerts history: the newest fetched, of which the panel shows the newest few (those of the chosen store, if one is). */
const ALERTS_FETCHED = 100;
const ALERTS_SHOWN = 20;
const ALERT_KINDS = { low_stock: 'low stock', sales_drop: 'sales drop', feed_silent: 'POS feed silent', freshness: 'data late' };

function alertSubject(subject) {
  if (!subject?.store_id) return 'All stores';
  const store = state.stores?.get(subject.store_id) ?? subject.store_id;
  return subject.sku ? `${store}, ${subject.sku}` : store;
}

/** What was measured, in the merchant's money and zone. */
function alertWhat(a) {
  const d = a.details ?? {};
  switch (a.kind) {
    case 'low_stock':
      return `${count(d.closing_quantity)} on hand${d.threshold === null || d.threshold === undefined ? '' : ` (below ${count(d.threshold)})`}`;
    case 'sales_drop':
      return `${money(d.net_revenue_minor)} against a usual ${money(d.baseline_median_minor)}`;
    case 'feed_silent':
      return d.last_pos_received_at ? `last POS batch ${localStart(d.last_pos_received_at, 'hour')}` : 'no POS batch yet';
    case 'freshness':
      return `${count(d.lag_minutes)} min behind`;
    default:
      return '';
  }
}

/** The webhook's fate: queued (not tried yet), delivered, retrying or failed after a day. */
function alertDelivery(delivery) {
  if (!delivery) return ['queued', 'queued'];
  const tries = `${delivery.attempts} attempt${delivery.attempts === 1 ? '' : 's'}`;
  if (delivery.status === 'delivered') return [`delivered (${tries})`, 'delivered'];
  if (delivery.status === 'failed') return [`failed after ${tries}`, 'failed'];
  return [`retrying (${tries}, next ${localStart(delivery.next_attempt_at, 'hour')})`, 'pending'];
}

function renderAlerts(answer, store) {
  const table = $('alerts');
  const items = answer.alerts.filter((a) => !store || a.subject?.store_id === store).slice(0, ALERTS_SHOWN);
  $('alerts-note').textContent = store ? `(${state.stores?.get(store) ?? store}; newest ${ALERTS_SHOWN})` : `(newest ${ALERTS_SHOWN})`;
  const rows = items.map((a) => {
    const [deliveryText, deliveryState] = alertDelivery(a.delivery);
    const tr = tableRow(
      [
        [localStart(a.at, 'hour'), a.at],
        [a.type === 'alert.fired' ? 'started' : 'ended', a.type],
        [`${a.rule_id} (${ALERT_KINDS[a.kind] ?? a.kind})`, a.rule_id],
        [alertSubject(a.subject), ''],
        [alertWhat(a), ''],
        [deliveryText, deliveryState],
      ],
      a.id,
      a.type === 'alert.fired' ? 'fired' : 'cleared',
    );
    const cell = tr.lastElementChild;
    cell.classList.toggle('failed', deliveryState === 'failed');
    if (a.delivery?.last_error) cell.title = a.delivery.last_error;
    return tr;
  });
  table.querySelector('tbody').replaceChildren(...(rows.length ? rows : [messageRow(table, store ? 'No alerts for this store.' : 'No alerts yet.')]));
}

async function panel(id, load) {
  const table = $(id);
  try {
    await load();
    table.dataset.state = 'ready';
  } catch (err) {
    table.dataset.state = 'error';
    table.querySelector('tbody').replaceChildren(messageRow(table, `Could not load: ${err.message}`));
  }
}

function messageRow(table, text) {
  const tr = document.createElement('tr');
  tr.className = 'empty';
  const td = document.createElement('td');
  td.colSpan = table.querySelectorAll('thead th').length;
  td.textContent = text;
  tr.append(td);
  return tr;
}

/** A table row of [text, data-value] cells ('' for none). */
function tableRow(cells, key, cls) {
  const tr = document.createElement('tr');
  if (cls) tr.className = cls;
  if (key !== undefined) tr.dataset.key = key;
  for (const [text, value] of cells) {
    const td = document.createElement('td');
    td.textContent = String(text);
    if (value !== '' && value !== null && value !== undefined) td.dataset.value = String(value);
    tr.append(td);
  }
  return tr;
}

function webLabel(series, key) {
  if (series === 'referrers') return SOURCE_LABELS[key] ?? key;
  if (series === 'countries') {
    if (key === '(unknown)') return 'Unknown';
    try {
      return new Intl.DisplayNames(undefined, { type: 'region' }).of(key) ?? key;
    } catch {
      return key;
    }
  }
  return key;
}

function renderWeb(id, series, top) {
  const rows = top.items.map((i) => tableRow([[i.rank, ''], [webLabel(series, i.key), ''], [count(i.values.page_views), i.values.page_views], [count(i.values.visitors), i.values.visitors]], i.key));
  if (top.other.count > 0) rows.push(tableRow([['', ''], [`Other (${top.other.count})`, ''], [count(top.other.values.page_views), top.other.values.page_views], ['–', '']], '', 'other'));
  const table = $(id);
  table.querySelector('tbody').replaceChildren(...(rows.length ? rows : [messageRow(table, 'No page views in this range.')]));
}

/** Low items listed on the page (lowest first); a chain's full list is one click away as CSV. */
const LOW_STOCK_SHOWN = 15;

function renderLowStock(answer) {
  const table = $('low-stock');
  const rows = answer.items.slice(0, LOW_STOCK_SHOWN).map((i) =>
    tableRow([[state.stores?.get(i.store_id) ?? i.store_id, ''], [i.sku, ''], [count(i.closing_quantity), i.closing_quantity], [localStart(i.low_since, 'hour'), i.low_since]], `${i.store_id}|${i.sku}`),
  );
  const more = answer.items.length - rows.length;
  if (more > 0) {
    const tr = messageRow(table, `and ${count(more)} more `);
    tr.className = 'other';
    const link = document.createElement('button');
    link.type = 'button';
    link.textContent = 'Download the list (CSV)';
    link.addEventListener('click', () => downloadCsv(merchantPath(`low-stock?format=csv${$('store').value ? `&store=${encodeURIComponent($('store').value)}` : ''}`)));
    tr.firstChild.append(link);
    rows.push(tr);
  }
  table.querySelector('tbody').replaceChildren(...(rows.length ? rows : [messageRow(table, 'Nothing is low on stock.')]));
}

function renderPromotions(answer) {
  const table = $('promotions');
  const signed = (minor) => (minor === null ? '–' : `${minor > 0 ? '+' : ''}${money(Math.round(minor))}`);
  const rows = answer.promotions.map((p) =>
    tableRow(
      [
        [p.promo_id, ''],
        [count(p.days), p.days],
        [money(p.promo_net_revenue_minor), p.promo_net_revenue_minor],
        [p.baseline_net_revenue_minor === null ? 'no baseline' : money(Math.round(p.baseline_net_revenue_minor)), p.baseline_net_revenue_minor],
        [signed(p.net_revenue_uplift_minor), p.net_revenue_uplift_minor],
        [p.net_revenue_lift_ratio === null ? '–' : `${p.net_revenue_lift_ratio >= 1 ? '+' : ''}${((p.net_revenue_lift_ratio - 1) * 100).toFixed(1)}%`, p.net_revenue_lift_ratio],
      ],
      p.promo_id,
    ),
  );
  table.querySelector('tbody').replaceChildren(...(rows.length ? rows : [messageRow(table, 'No promotion ran in this range.')]));
}

function periodText(from, to, grain) {
  if (grain === 'hour') return `${localStart(from, 'hour')} – ${localStart(to, 'hour')}`;
  return from === addDays(to, -1) ? from : `${from} – ${addDays(to, -1)}`;
}

function showFreshness(f) {
  $('newest-event').textContent = f.newest_event_at ?? '–';
  $('finalized-through').textContent = f.finalized_through ?? '–';
  $('lag').textContent = f.lag_seconds === null ? '–' : `${Math.floor(f.lag_seconds / 60)} min`;
  $('lag').dataset.value = f.lag_seconds ?? '';
}

function setTotal(id, value, format, change) {
  $(`total-${id}`).textContent = format(value);
  $(`total-${id}`).dataset.value = value === null ? '' : String(value);
  const el = $(`change-${id}`);
  el.dataset.value = change === null || change === undefined ? '' : String(change);
  el.textContent = change === null || change === undefined ? 'no previous value' : `${change > 0 ? '+' : ''}${change.toFixed(1)}% vs previous`;
  el.classList.toggle('up', change > 0);
  el.classList.toggle('down', change < 0);
}

function render(grain, sales, traffic) {
  const t = sales.totals;
  const c = sales.comparison.change_pct;
  setTotal('revenue', t.net_revenue_minor, money, c.net_revenue_minor);
  setTotal('orders', t.orders, count, c.orders);
  setTotal('aov', t.average_order_value_minor === null ? null : Math.round(t.average_order_value_minor), money, c.average_order_value_minor);
  setTotal('refunds', t.refund_minor, money, c.refund_minor);
  setTotal('page-views', traffic.totals.page_views, count, traffic.comparison.change_pct.page_views);

  document.querySelector('#mix tbody').replaceChildren(
    ...MIX.map(([metric, label]) => {
      const tr = document.createElement('tr');
      tr.dataset.key = metric;
      const change = c[metric];
      for (const [text, value] of [
        [label, ''],
        [count(t[metric]), t[metric]],
        [count(sales.comparison.totals[metric]), sales.comparison.totals[metric]],
        [change === null ? '–' : `${change > 0 ? '+' : ''}${change.toFixed(1)}%`, change ?? ''],
      ]) {
        const td = document.createElement('td');
        td.textContent = text;
        if (value !== '') td.dataset.value = String(value);
        tr.append(td);
      }
      return tr;
    }),
  );

  const trafficByStart = new Map(traffic.points.map((p) => [p.start, p]));
  const rows = sales.points.map((p) => {
    const tr = document.createElement('tr');
    tr.className = p.provisional ? 'provisional' : 'final';
    tr.dataset.start = p.start;
    const pv = trafficByStart.get(p.start)?.values.page_views ?? 0;
    const cells = [
      [localStart(p.start, grain), ''],
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
  const digits = state.currency ? new Intl.NumberFormat('en', { style: 'currency', currency: state.currency }).resolvedOptions().maximumFractionDigits : 2;
  state.charts = [
    chart('chart-revenue', grain, sales, (p) => p.values.net_revenue_minor / 10 ** digits),
    chart('chart-orders', grain, sales, (p) => p.values.orders),
    chart('chart-traffic', grain, traffic, (p) => p.values.page_views),
  ];
}

function renderTop(id, top, label, second) {
  const row = (rank, name, values, cls) => {
    const tr = document.createElement('tr');
    if (cls) tr.className = cls;
    tr.dataset.key = cls ? '' : name.key;
    for (const [text, value] of [
      [rank, ''],
      [cls ? name : label(name.key), ''],
      [count(values[second]), values[second]],
      [money(values.net_revenue_minor), values.net_revenue_minor],
    ]) {
      const td = document.createElement('td');
      td.textContent = String(text);
      if (value !== '') td.dataset.value = String(value);
      tr.append(td);
    }
    return tr;
  };
  const rows = top.items.map((i) => row(i.rank, i, i.values));
  if (top.other.count > 0) rows.push(row('', `Other (${top.other.count})`, top.other.values, 'other'));
  document.querySelector(`#${id} tbody`).replaceChildren(...rows);
}

/** One chart: the final buckets solid, the provisional ones dashed, the previous period faint. */
function chart(id, grain, answer, value) {
  const points = answer.points;
  const xs = points.map((p) => (grain === 'hour' ? Date.parse(p.start) : Date.parse(`${p.start}T00:00:00Z`)) / 1000);
  const finals = points.map((p) => (p.provisional ? null : value(p)));
  const provisional = points.map((p, i) => (p.provisional || points[i + 1]?.provisional ? value(p) : null));
  // The previous period has as many buckets (a DST day aside): drawn at the same positions.
  const previous = points.map((_, i) => (answer.comparison.points[i] ? value(answer.comparison.points[i]) : null));
  const el = $(id);
  el.replaceChildren();
  el.dataset.points = String(points.length);
  el.dataset.provisional = String(points.filter((p) => p.provisional).length);
  const styles = getComputedStyle(document.documentElement);
  const color = (name, fallback) => styles.getPropertyValue(name).trim() || fallback;
  const opts = {
    width: Math.max(280, Math.min(1050, el.clientWidth || 1050)),
    height: 220,
    // Hours in the merchant's zone; days are local dates, drawn as such.
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), grain === 'hour' ? state.timeZone : 'Etc/UTC'),
    scales: { x: { time: true } },
    legend: { show: false },
    series: [
      {},
      { label: 'previous period', stroke: color('--previous', '#8c959f'), width: 1, alpha: 0.6 },
      { label: 'final', stroke: color('--final', '#1f6feb'), width: 2, spanGaps: false },
      { label: 'provisional', stroke: color('--provisional', '#b45309'), width: 2, dash: [6, 4] },
    ],
    axes: [{ stroke: color('--muted', '#57606a') }, { size: 70, stroke: color('--muted', '#57606a') }],
  };
  return new uPlot(opts, [xs, previous, finals, provisional], el);
}

async function download() {
  if (state.csvPath) await downloadCsv(`${state.csvPath}&format=csv`);
}

async function downloadCsv(path) {
  try {
    const res = await fetch(path, { headers: { Authorization: `Bearer ${state.key}` } });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? 'tillstream.csv';
    const a = document.createElement('a');
    a.href = URL.createObjectURL(await res.blob());
    a.download = name;
    a.click();
    URL.revokeObjectURL(a.href);
  } catch (err) {
    setStatus(`Could not download: ${err.message}`, true);
  }
}

let resizeTimer;
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => {
    for (const c of state.charts) c.setSize({ width: Math.max(280, Math.min(1050, c.root.parentElement.clientWidth)), height: 220 });
  }, 100);
});

$('connect').addEventListener('submit', connect);
$('store').addEventListener('change', refresh);
$('range').addEventListener('change', refresh);
$('from').addEventListener('change', refresh);
$('to').addEventListener('change', refresh);
$('download').addEventListener('click', download);
for (const radio of document.querySelectorAll('input[name="grain"]')) radio.addEventListener('change', refresh);
const saved = sessionStorage.getItem('tillstream.key');
if (saved) {
  $('key').value = saved;
  connect();
}
