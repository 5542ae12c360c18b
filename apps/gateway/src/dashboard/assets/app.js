// The operator dashboard: fleet, models and distributions from the REST API (polled), the selected
// distribution live over Server-Sent Events, and the operator verbs for the roles that may use them.
import { lineChart, SERIES_COLOURS } from './charts.js';
import {
  api, ApiError, distributionEvents, SessionError, signIn, signOut, storedToken, takeTokenFromUrl, VERBS, verbsFor,
} from './session.js';

/** Lists are re-read this often; the selected distribution comes live over its event stream. */
const REFRESH_MS = 3000;
const FINISHED = ['Succeeded', 'Failed', 'RolledBack', 'Cancelled'];
const ACTIVE = ['Scheduled', 'PendingApproval', 'Running', 'Paused'];
/** Reports of finished validations do not change: read once. */
const FINAL_MODEL_STATUSES = ['Validated', 'Rejected', 'Deprecated'];
const DEVICE_STATUSES = ['Online', 'Updating', 'Degraded', 'Offline'];

const state = {
  user: undefined,
  refreshTimer: undefined,
  reports: new Map(),
  distributions: [],
  selected: undefined,
  stream: undefined,
  live: 'idle',
  status: undefined,
  metrics: undefined,
};

// ---------------------------------------------------------------- DOM helpers

/** `h('td.num', {title}, child…)`: an element with classes, attributes and text or element children. */
function h(tag, attributes = {}, ...children) {
  const [name, ...classes] = tag.split('.');
  const node = document.createElement(name);
  if (classes.length > 0) node.className = classes.join(' ');
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const $ = (id) => document.getElementById(id);
const pill = (status) => h(`span.pill.s-${status.toLowerCase()}`, { 'data-status': status }, status);
const fmt = (value, digits = 1) => (value === null || value === undefined ? '–' : Number(value).toFixed(digits));
const when = (iso) => (iso ? new Date(iso).toLocaleTimeString([], { hour12: false }) : '–');
const sizeOf = (bytes) => (bytes >= 1 << 20 ? `${(bytes / (1 << 20)).toFixed(1)} MB` : bytes >= 1024 ? `${(bytes / 1024).toFixed(1)} KB` : `${bytes} B`);
/** Tick labels: whole numbers from 10 up, at most two decimals below (0.25, not 0.3). */
const axisNumber = (v) => (Math.abs(v) >= 10 ? v.toFixed(0) : String(Number(v.toFixed(2))));
const empty = (text) => h('p.empty', {}, text);

function bar(parts, total) {
  return h('div.bar', { role: 'img', 'aria-label': parts.map((p) => `${p.count} ${p.label}`).join(', ') },
    parts.filter((p) => p.count > 0).map((p) => {
      const segment = h(`span.seg.${p.kind}`, { title: `${p.count} ${p.label}` });
      // A percentage width through the CSSOM: allowed by the page's CSP, unlike a style attribute.
      segment.style.width = `${(100 * p.count) / Math.max(total, 1)}%`;
      return segment;
    }));
}

function showBanner(message) {
  const banner = $('banner');
  banner.textContent = message ?? '';
  banner.hidden = message === undefined;
}

// ---------------------------------------------------------------- sign-in

function showSignIn(message) {
  stopEverything();
  $('app').hidden = true;
  $('user').hidden = true;
  $('sign-in').hidden = false;
  $('sign-in-error').textContent = message ?? '';
  $('token-input').focus();
}

function start(user) {
  state.user = user;
  $('sign-in').hidden = true;
  $('app').hidden = false;
  $('user').hidden = false;
  $('user-name').textContent = user.subject;
  $('user-roles').replaceChildren(...(user.roles.length > 0 ? user.roles : ['no role']).map((role) => h('span.role', {}, role)));
  void refresh();
  const wanted = new URLSearchParams(location.hash.slice(1)).get('distribution');
  if (wanted) select(wanted);
}

function stopEverything() {
  clearTimeout(state.refreshTimer);
  state.stream?.close();
  state.stream = undefined;
}

/** Any 401 means the token is no longer good: back to the form, with the gateway's reason. */
function handleError(error) {
  if (error instanceof ApiError && error.status === 401) {
    signOut();
    showSignIn(`The gateway refused the token: ${error.message}`);
    return true;
  }
  showBanner(error instanceof Error ? error.message : String(error));
  return false;
}

// ---------------------------------------------------------------- lists

async function refresh() {
  clearTimeout(state.refreshTimer);
  try {
    const [devices, models, distributions] = await Promise.all([
      api('/api/v1/devices?limit=500'),
      api('/api/v1/models?limit=200'),
      api('/api/v1/distributions?limit=25'),
    ]);
    await loadReports(models.items);
    state.distributions = distributions.items;
    renderTiles(devices, models, distributions);
    renderFleet(devices);
    renderModels(models);
    renderDistributions();
    showBanner(undefined);
  } catch (error) {
    if (handleError(error)) return;
  }
  state.refreshTimer = setTimeout(() => void refresh(), REFRESH_MS);
}

async function loadReports(models) {
  const wanted = models.filter((m) => m.status !== 'Uploaded' && !(FINAL_MODEL_STATUSES.includes(m.status) && state.reports.get(m.id)?.finishedAt));
  await Promise.all(wanted.map(async (model) => {
    try {
      state.reports.set(model.id, await api(`/api/v1/models/${encodeURIComponent(model.id)}/validation-report`));
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404)) throw error;
    }
  }));
}

function renderTiles(devices, models, distributions) {
  const online = devices.items.filter((d) => d.status === 'Online').length;
  const validated = models.items.filter((m) => m.status === 'Validated').length;
  const active = distributions.items.filter((d) => ACTIVE.includes(d.status) || d.status === 'RollingBack').length;
  const rolledBack = distributions.items.filter((d) => d.status === 'RolledBack').length;
  const tile = (label, value, note) => h('div.tile', {}, h('div.tile-value', {}, String(value)), h('div.tile-label', {}, label), h('div.tile-note', {}, note));
  $('tiles').replaceChildren(
    tile('Devices', devices.total, `${online} online`),
    tile('Model versions', models.total, `${validated} validated`),
    tile('Active distributions', active, `${distributions.total} in total`),
    tile('Rolled back', rolledBack, 'of the latest distributions'),
  );
}

function renderFleet(devices) {
  $('fleet-note').textContent = devices.total > devices.items.length ? `first ${devices.items.length} of ${devices.total} devices` : `${devices.total} devices`;
  if (devices.items.length === 0) {
    $('fleet-body').replaceChildren(empty('No device has registered yet.'));
    return;
  }
  const regions = new Map();
  for (const device of devices.items) {
    const region = regions.get(device.region) ?? { devices: [], models: new Map() };
    region.devices.push(device);
    const model = device.currentModelId ?? 'no model';
    region.models.set(model, (region.models.get(model) ?? 0) + 1);
    regions.set(device.region, region);
  }
  const rows = [...regions].sort(([a], [b]) => a.localeCompare(b)).map(([name, region]) => {
    const count = (status) => region.devices.filter((d) => d.status === status).length;
    return h('tr', { 'data-region': name },
      h('td', {}, h('strong', {}, name)),
      h('td.num', {}, region.devices.length),
      DEVICE_STATUSES.map((status) => h('td.num', {}, count(status) > 0 ? h(`span.dot.s-${status.toLowerCase()}`) : undefined, count(status) || '·')),
      h('td', {}, bar(DEVICE_STATUSES.map((status) => ({ kind: `s-${status.toLowerCase()}`, label: status, count: count(status) })), region.devices.length)),
      h('td', {}, [...region.models].sort((a, b) => b[1] - a[1]).map(([model, n]) => h('span.chip', { title: model }, `${model} `, h('b', {}, `×${n}`)))),
    );
  });
  const table = h('table.grid-table', {},
    h('thead', {}, h('tr', {}, h('th', {}, 'Region'), h('th.num', {}, 'Devices'), DEVICE_STATUSES.map((s) => h('th.num', {}, s)), h('th.wide', {}, 'Status'), h('th', {}, 'Models running'))),
    h('tbody', {}, rows));
  const tiles = devices.items.length <= 48
    ? h('div.devices', {}, devices.items.map((d) => h('div.device', { title: `${d.id} · ${d.deviceType} · ${d.status}`, 'data-device': d.id },
      h(`span.dot.s-${d.status.toLowerCase()}`), h('span.device-id', {}, d.id), h('span.device-model', {}, d.currentModelId ?? 'no model'))))
    : undefined;
  $('fleet-body').replaceChildren(table, tiles ?? '');
}

function renderModels(models) {
  if (models.items.length === 0) {
    $('models-body').replaceChildren(empty('No model uploaded yet.'));
    return;
  }
  const rows = models.items.map((model) => {
    const report = state.reports.get(model.id);
    const failed = report?.checks.filter((c) => !c.passed) ?? [];
    const checks = report === undefined || report.checks.length === 0
      ? h('span.muted', {}, report ? 'running…' : '–')
      : failed.length === 0
        ? h('span.ok', {}, `✓ ${report.checks.length}/${report.checks.length} checks`)
        : h('span.bad', { title: failed.map((c) => `${c.name}: ${c.actual} vs ${c.threshold}`).join('\n') }, `✗ ${failed.map((c) => c.name).join(', ')}`);
    return h('tr', { 'data-model': model.id },
      h('td', {}, h('strong', {}, model.name)),
      h('td', {}, model.version),
      h('td', {}, pill(model.status)),
      h('td.num', {}, sizeOf(model.sizeBytes)),
      h('td.num', {}, fmt(report?.latencyMs?.p50, 2)),
      h('td.num', {}, fmt(report?.latencyMs?.p99, 2)),
      h('td.num', {}, fmt(report?.throughputPerSec, 0)),
      h('td.num', {}, fmt(report?.memoryMb, 1)),
      h('td.num', {}, report?.accuracy === undefined ? '–' : `${fmt(report.accuracy * 100)}%`),
      h('td', {}, checks),
      h('td.muted', {}, when(model.uploadedAt)),
    );
  });
  $('models-body').replaceChildren(h('table.grid-table', {},
    h('thead', {}, h('tr', {}, ['Model', 'Version', 'Status'].map((t) => h('th', {}, t)),
      ['Size', 'p50 ms', 'p99 ms', 'Inf/s', 'Memory MB', 'Accuracy'].map((t) => h('th.num', {}, t)), h('th', {}, 'Quality gate'), h('th', {}, 'Uploaded'))),
    h('tbody', {}, rows)));
}

function renderDistributions() {
  if (state.distributions.length === 0) {
    $('distributions-body').replaceChildren(empty('No distribution yet.'));
    return;
  }
  const rows = state.distributions.map((d) => h('tr', {
    class: `clickable${d.id === state.selected ? ' selected' : ''}`, 'data-distribution': d.id, tabindex: 0,
    onclick: () => select(d.id), onkeydown: (event) => { if (event.key === 'Enter') select(d.id); },
  },
  h('td', {}, h('code', {}, d.id)),
  h('td', {}, d.modelId),
  h('td', {}, d.strategy),
  h('td', {}, pill(d.status)),
  h('td.num', {}, d.targets ?? '–'),
  h('td.muted', {}, when(d.createdAt)),
  h('td.muted', {}, when(d.finishedAt))));
  // The list holds no progress counts (the distributor's summary rows); the selected one shows them live.
  $('distributions-body').replaceChildren(h('table.grid-table', {},
    h('thead', {}, h('tr', {}, ['Id', 'Model', 'Strategy', 'Status'].map((t) => h('th', {}, t)), h('th.num', {}, 'Devices'), h('th', {}, 'Created'), h('th', {}, 'Finished'))),
    h('tbody', {}, rows)));
}

function progressBar(progress) {
  return bar([
    { kind: 'updated', label: 'updated', count: progress.updated },
    { kind: 'rolledback', label: 'rolled back', count: progress.rolledBack },
    { kind: 'failed', label: 'failed', count: progress.failed },
    { kind: 'pending', label: 'pending', count: progress.pending },
  ], progress.total);
}

// ---------------------------------------------------------------- the selected distribution, live

function select(id) {
  if (state.selected === id && state.stream) return;
  state.stream?.close();
  state.selected = id;
  state.status = undefined;
  state.metrics = undefined;
  state.live = 'connecting';
  history.replaceState(null, '', `#distribution=${encodeURIComponent(id)}`);
  renderDistributions();
  $('detail').hidden = false;
  renderDetail();
  const stream = distributionEvents(id);
  state.stream = stream;
  const mine = (handler) => (event) => { if (state.stream === stream) handler(event); };
  stream.addEventListener('open', mine(() => { state.live = 'live'; renderDetail(); }));
  stream.addEventListener('status', mine((event) => { state.status = JSON.parse(event.data); state.live = 'live'; renderDetail(); }));
  stream.addEventListener('metrics', mine((event) => { state.metrics = JSON.parse(event.data); renderDetail(); }));
  stream.addEventListener('end', mine(() => { stream.close(); state.live = 'ended'; renderDetail(); void refresh(); }));
  stream.addEventListener('error', mine(() => {
    // EventSource retries by itself unless the answer was an error status (a bad id, a 401).
    if (stream.readyState === EventSource.CLOSED) {
      state.live = 'failed';
      void explainStreamFailure(id);
    } else {
      state.live = 'reconnecting';
    }
    renderDetail();
  }));
  $('detail').scrollIntoView({ behavior: 'smooth', block: 'start' });
}

/** EventSource hides the answer of a refused stream; the status route gives the same error in words. */
async function explainStreamFailure(id) {
  try {
    await api(`/api/v1/distributions/${encodeURIComponent(id)}/status`);
    showBanner(`The live stream of ${id} closed; select it again to reconnect.`);
  } catch (error) {
    handleError(error);
  }
}

function allowedVerbs(status) {
  const observing = status.waves.some((w) => w.status === 'Observing');
  return {
    pause: ['Scheduled', 'Running', 'PendingApproval'].includes(status.status),
    resume: status.status === 'Paused',
    approve: status.status === 'PendingApproval',
    promote: status.status === 'PendingApproval' || (ACTIVE.includes(status.status) && observing),
    cancel: ACTIVE.includes(status.status),
    rollback: !['RollingBack', 'RolledBack'].includes(status.status),
  };
}

async function runVerb(verb, button) {
  const id = state.selected;
  if ((verb === 'cancel' || verb === 'rollback') && !window.confirm(`${verb} distribution ${id}?`)) return;
  button.disabled = true;
  try {
    state.status = await api(`/api/v1/distributions/${encodeURIComponent(id)}/${verb}`, { method: 'POST', body: JSON.stringify({ reason: `${verb} from the dashboard` }) });
    showBanner(undefined);
  } catch (error) {
    handleError(error instanceof ApiError ? new ApiError(error.status, `${verb}: ${error.message}`) : error);
  }
  renderDetail();
}

function renderDetail() {
  const status = state.status;
  const liveLabel = { connecting: 'connecting…', live: 'live', reconnecting: 'reconnecting…', ended: 'finished', failed: 'stream closed', idle: '' }[state.live];
  const head = h('div.card-head', {},
    h('h2', {}, 'Distribution ', h('code', {}, state.selected)),
    h(`span.live-badge.is-${state.live}`, { id: 'live-state', 'data-live': state.live }, liveLabel));
  if (status === undefined) {
    $('detail-body').replaceChildren(head, empty('Waiting for the first event…'));
    return;
  }
  const verbs = verbsFor(state.user?.roles ?? []);
  const allowed = allowedVerbs(status);
  const actions = verbs.length === 0 ? undefined : h('div.actions', { id: 'operator-actions' },
    VERBS.filter((verb) => verbs.includes(verb)).map((verb) => {
      const button = h(`button.verb.v-${verb}`, { type: 'button', 'data-verb': verb, disabled: !allowed[verb], title: allowed[verb] ? `${verb} this distribution` : `not possible while ${status.status}` }, verb);
      button.addEventListener('click', () => void runVerb(verb, button));
      return button;
    }));

  const summary = h('div.summary', {},
    h('div', {}, h('span.label', {}, 'Status'), h('span', { id: 'detail-status', 'data-status': status.status }, pill(status.status))),
    h('div', {}, h('span.label', {}, 'Model'), h('strong', {}, status.modelId)),
    h('div', {}, h('span.label', {}, 'Strategy'), status.strategy),
    h('div', {}, h('span.label', {}, 'Stage'), status.stage ?? '–'),
    h('div', {}, h('span.label', {}, 'Rollback policy'), status.rollbackPolicy),
    h('div', {}, h('span.label', {}, 'Started'), when(status.startedAt)),
    h('div', {}, h('span.label', {}, 'Finished'), when(status.finishedAt)));

  const degradation = status.degradation ?? state.metrics?.degradation;
  const alert = degradation === undefined ? undefined : h('div.banner.warning', { id: 'degradation', 'data-trigger': degradation.trigger },
    h('strong', {}, `Rollback trigger (${degradation.trigger}) at ${when(degradation.at)}: `), degradation.detail);
  const reason = status.reason && !degradation ? h('div.banner.info', {}, status.reason) : undefined;

  const p = status.progress;
  const progress = h('div.progress', {},
    h('div.progress-head', {}, h('strong', {}, `${p.updated} of ${p.total} updated`),
      h('span.muted', {}, `${p.pending} pending · ${p.failed} failed · ${p.rolledBack} rolled back`)),
    progressBar(p));

  const waves = h('table.grid-table.waves', {},
    h('thead', {}, h('tr', {}, ['Wave', 'Group', 'Model', 'State'].map((t) => h('th', {}, t)), h('th.num', {}, 'Devices'), h('th.wide', {}, 'Progress'))),
    h('tbody', {}, status.waves.map((w) => h('tr', { 'data-wave': w.wave },
      h('td', {}, `${w.wave}. ${w.name}`), h('td', {}, w.group), h('td', {}, w.modelId),
      h('td', {}, w.status ? pill(w.status) : '–'), h('td.num', {}, w.size),
      h('td.wide', {}, bar([
        { kind: 'updated', label: 'updated', count: w.updated ?? 0 },
        { kind: 'failed', label: 'failed', count: w.failed ?? 0 },
        { kind: 'pending', label: 'to do', count: Math.max(0, w.size - (w.updated ?? 0) - (w.failed ?? 0)) },
      ], w.size))))));

  const devices = status.devices === undefined ? h('p.muted', {}, 'Too many devices to list; the counts above are complete.')
    : h('table.grid-table', {},
      h('thead', {}, h('tr', {}, ['Device', 'Wave', 'State', 'Model'].map((t) => h('th', {}, t)), h('th.num', {}, 'Attempt'), h('th.num', {}, 'Swap ms'), h('th', {}, 'Reason'))),
      h('tbody', {}, status.devices.map((d) => h('tr', { 'data-device': d.deviceId },
        h('td', {}, d.deviceId), h('td', {}, d.wave), h('td', {}, pill(d.state)), h('td', {}, d.modelId ?? '–'),
        h('td.num', {}, d.attempt ?? '–'), h('td.num', {}, fmt(d.swapMs, 0)), h('td.muted', {}, d.reason ?? '')))));

  const log = h('ol.history', {}, status.history.map((entry) => h('li', {},
    h('span.muted', {}, when(entry.at)), ' ', h('strong', {}, entry.action), ` by ${entry.by}`, entry.detail ? h('span.muted', {}, ` — ${entry.detail}`) : '')));

  $('detail-body').replaceChildren(
    head, summary, actions ?? '', alert ?? '', reason ?? '', progress,
    h('h3', {}, 'Model versions over time'), charts(degradation),
    h('h3', {}, 'Waves'), waves,
    h('div.columns', {},
      h('div', {}, h('h3', {}, 'Devices'), devices),
      h('div', {}, h('h3', {}, 'History'), log)),
  );
}

/** p99 latency, error rate and accuracy per group and model version, with the rollback trigger marked. */
function charts(degradation) {
  const metrics = state.metrics;
  const series = metrics?.series ?? [];
  const keys = [...new Set(series.map((p) => `${p.group}|${p.modelId}`))];
  const colour = new Map(keys.map((key, i) => [key, SERIES_COLOURS[i % SERIES_COLOURS.length]]));
  const markers = degradation === undefined ? [] : [{ at: Date.parse(degradation.at), label: `rollback trigger · ${degradation.trigger}` }];
  const build = (field, transform = (v) => v) => keys.map((key) => {
    const [group, modelId] = key.split('|');
    return {
      label: `${modelId} (${group})`, colour: colour.get(key),
      points: series.filter((p) => p.group === group && p.modelId === modelId && p[field] !== null).map((p) => ({ at: Date.parse(p.at), value: transform(p[field]) })),
    };
  });
  const baseline = (metrics?.baseline ?? []).filter((b) => b.latencyMs !== null);
  const chart = (title, element) => h('figure.chart-box', { 'data-chart': title }, h('figcaption', {}, title), element);
  const legend = h('div.legend', {}, keys.map((key) => {
    const [group, modelId] = key.split('|');
    const swatch = h('span.swatch');
    swatch.style.background = colour.get(key);
    return h('span.legend-item', {}, swatch, `${modelId} `, h('span.muted', {}, group));
  }), markers.length > 0 ? h('span.legend-item', {}, h('span.swatch.marker-swatch'), 'rollback trigger') : '');
  return h('div', { id: 'charts' },
    h('div.charts', {},
      chart('p99 latency (ms)', lineChart({
        title: 'p99 latency (ms)', series: build('latencyP99Ms'), markers, format: axisNumber,
        references: baseline.map((b) => ({ value: b.latencyMs.p99, label: `baseline p99 ${b.modelId}`, colour: '#64748b' })),
      })),
      chart('Error rate (%)', lineChart({ title: 'Error rate (%)', series: build('errorRate', (v) => v * 100), markers, format: axisNumber })),
      chart('Accuracy (%)', lineChart({
        title: 'Accuracy (%)', series: build('accuracy', (v) => v * 100), markers, format: axisNumber,
        emptyText: series.length === 0 ? 'no data yet' : 'no labelled inferences reported',
      }))),
    keys.length > 0 ? legend : '');
}

// ---------------------------------------------------------------- boot

function boot() {
  $('sign-in-form').addEventListener('submit', (event) => {
    event.preventDefault();
    try {
      const user = signIn($('token-input').value);
      $('token-input').value = '';
      start(user);
    } catch (error) {
      $('sign-in-error').textContent = error instanceof SessionError ? error.message : String(error);
    }
  });
  $('sign-out').addEventListener('click', () => {
    signOut();
    state.selected = undefined;
    $('detail').hidden = true;
    showSignIn();
  });
  takeTokenFromUrl();
  const token = storedToken();
  if (token === undefined) {
    showSignIn();
    return;
  }
  try {
    start(signIn(token));
  } catch (error) {
    signOut();
    showSignIn(error instanceof SessionError ? error.message : String(error));
  }
}

boot();
