/* global URLSearchParams -- a browser global the shared eslint config does not list */
// The security team's console: one page, plain ES modules, no build step, no other origin.
// Pages are sections shown one at a time; the API is called with the session cookie
// (console-api.js) and everything it returns is rendered as text (console-dom.js).

import { ApiError, callApi, forgetSession, signIn, signOut } from './console-api.js';
import {
  barChart,
  beijingDay,
  beijingDayStart,
  beijingTime,
  both,
  cell,
  daysBetween,
  el,
  fillFields,
  total,
} from './console-dom.js';

const PAGE_SIZE = 100;
/** The timeline reads at most this many events (20 pages of 500): enough for one person. */
const TIMELINE_PAGE_SIZE = 500;
const TIMELINE_MAX_PAGES = 20;
/** A longer span is drawn with only the days that have events. */
const TIMELINE_MAX_DAYS = 92;
const VIEWS = ['signin', 'search', 'event', 'timeline', 'alerts', 'integrity'];

const $ = (id) => document.getElementById(id);
const message = $('message');
const status = $('status');

/** The search on screen: how to fetch its next page, and its events (for the detail page). */
let current = null;
let shownEvents = [];
let detailOpener = null;
let alertToAcknowledge = null;
let filterOptionsLoaded = false;

// ---- pages -------------------------------------------------------------------------------

function show(view, { focus = true } = {}) {
  for (const name of VIEWS) $(`view-${name}`).hidden = name !== view;
  const page = view === 'event' ? 'search' : view;
  for (const button of document.querySelectorAll('#pages button')) {
    if (button.dataset.view === page) button.setAttribute('aria-current', 'page');
    else button.removeAttribute('aria-current');
  }
  if (focus) $(`view-${view}`).querySelector('h2').focus();
}

function say(text) {
  status.textContent = text;
}

function fail(error) {
  message.textContent = error instanceof Error ? error.message : String(error);
  // The session ended (expired, signed out elsewhere, key revoked): back to sign-in.
  if (error instanceof ApiError && error.status === 401 && !$('pages').hidden) signedOut();
}

/** Runs one user action: clears the last error, shows any failure in the alert region. */
async function run(task) {
  message.textContent = '';
  try {
    await task();
  } catch (error) {
    say('');
    fail(error);
  }
}

function onSubmit(id, task) {
  $(id).addEventListener('submit', (event) => {
    event.preventDefault();
    void run(task);
  });
}

function onClick(id, task) {
  $(id).addEventListener('click', () => void run(task));
}

// ---- sign-in and sign-out ----------------------------------------------------------------

onSubmit('signin-form', async () => {
  const input = $('api-key');
  const apiKey = input.value.trim();
  // The key leaves the page's fields at once, whatever the answer.
  input.value = '';
  if (apiKey === '') throw new Error('Enter an auditor API key. / 请输入审计员 API 密钥。');
  const session = await signIn(apiKey);
  $('signed-in-as').replaceChildren(
    both(
      `Signed in as ${session.clientId}; the session ends by ${beijingTime(session.expiresAt)} (Beijing) at the latest.`,
      `已登录，会话最迟于 ${beijingTime(session.expiresAt)} 结束`,
    ),
  );
  $('session-bar').hidden = false;
  $('pages').hidden = false;
  say('Signed in. / 已登录。');
  show('search');
  await loadFilterOptions();
});

onClick('sign-out', async () => {
  try {
    await signOut();
  } finally {
    signedOut();
  }
  say('Signed out. / 已退出。');
});

/** Back to the sign-in page, with nothing of the last session left on screen. */
function signedOut() {
  forgetSession();
  current = null;
  shownEvents = [];
  $('session-bar').hidden = true;
  $('pages').hidden = true;
  $('events').querySelector('tbody').replaceChildren();
  $('results').hidden = true;
  $('event-fields').replaceChildren();
  $('timeline-result').hidden = true;
  $('alerts').querySelector('tbody').replaceChildren();
  $('ack-form').hidden = true;
  $('integrity-result').hidden = true;
  for (const input of document.querySelectorAll('input, textarea')) input.value = '';
  show('signin');
}

for (const button of document.querySelectorAll('#pages button')) {
  button.addEventListener('click', () => {
    message.textContent = '';
    show(button.dataset.view);
    if (button.dataset.view === 'alerts') void run(loadAlerts);
  });
}

// ---- search ------------------------------------------------------------------------------

/** The action and outcome lists, from the service's own OpenAPI document (no copy to drift). */
async function loadFilterOptions() {
  if (filterOptionsLoaded) return;
  const document = await callApi('/openapi.json');
  const parameters = document.paths['/v1/audit-events'].get.parameters;
  for (const name of ['action', 'outcome']) {
    const values = parameters.find((p) => p.name === name)?.schema?.enum ?? [];
    $(name).append(...values.map((value) => el('option', { value }, value)));
  }
  filterOptionsLoaded = true;
}

/** From and to of a date range form, as the API's ISO bounds (the "to" date included). */
function range(fromId, toId) {
  const bounds = {};
  if ($(fromId).value) bounds.from = beijingDayStart($(fromId).value);
  if ($(toId).value) bounds.to = beijingDayStart($(toId).value, 1);
  return bounds;
}

onSubmit('person-form', async () => {
  const body = { idNumber: $('id-number').value.trim(), ...range('person-from', 'person-to') };
  current = {
    caption: both('Events about the person, oldest first', '此人的相关事件，按时间先后'),
    // A POST: the id number travels in the body, never in a URL.
    fetchPage: (after) =>
      callApi('/v1/audit-events/search', {
        method: 'POST',
        body: { ...body, limit: PAGE_SIZE, ...(after ? { after } : {}) },
      }),
    exportUrl: null,
  };
  await loadEvents(false);
});

onSubmit('filter-form', async () => {
  const query = new URLSearchParams();
  const actorId = $('actor-id').value.trim();
  if (actorId) query.set('actorId', actorId);
  if ($('action').value) query.set('action', $('action').value);
  if ($('outcome').value) query.set('outcome', $('outcome').value);
  for (const [name, value] of Object.entries(range('filter-from', 'filter-to'))) {
    query.set(name, value);
  }
  current = {
    caption: both('Events matching the filter, oldest first', '符合条件的事件，按时间先后'),
    fetchPage: (after) => {
      const page = new URLSearchParams(query);
      page.set('limit', String(PAGE_SIZE));
      if (after) page.set('after', after);
      return callApi(`/v1/audit-events?${page}`);
    },
    exportUrl: `/v1/audit-events/export?${query}`,
  };
  await loadEvents(false);
});

onClick('more', () => loadEvents(true));

async function loadEvents(append) {
  say('Searching… / 查询中…');
  const page = await current.fetchPage(append ? current.next : null);
  current.next = page.next;
  const rows = $('events').querySelector('tbody');
  if (!append) {
    rows.replaceChildren();
    shownEvents = [];
  }
  for (const event of page.items) {
    shownEvents.push(event);
    rows.append(eventRow(event, shownEvents.length - 1));
  }
  $('events-caption').replaceChildren(current.caption.cloneNode(true));
  $('results').hidden = false;
  $('more').hidden = page.next === null;
  const exportLink = $('export');
  exportLink.hidden = current.exportUrl === null;
  if (current.exportUrl) exportLink.setAttribute('href', current.exportUrl);
  $('export-hint').hidden = current.exportUrl !== null;
  const more = page.next ? ', more available / 还有更多' : '';
  say(`${shownEvents.length} events shown${more}. / 显示 ${shownEvents.length} 条事件。`);
}

function eventRow(event, index) {
  const actor = event.actor || {};
  const details = el('button', { type: 'button' }, both('Details', '详情'));
  details.addEventListener('click', () => {
    detailOpener = details;
    fillFields($('event-fields'), event);
    show('event');
  });
  return el(
    'tr',
    { 'data-index': index },
    cell(beijingTime(event.at)),
    cell(event.action),
    cell(event.purpose),
    cell(event.outcome),
    cell(actor.role),
    cell(actor.clientId),
    cell(Array.isArray(event.fields) && event.fields.length > 0 ? event.fields.join(', ') : null),
    el('td', {}, details),
  );
}

$('back-to-results').addEventListener('click', () => {
  show('search', { focus: false });
  (detailOpener ?? $('search-heading')).focus();
});

// ---- timeline ----------------------------------------------------------------------------

onSubmit('timeline-form', async () => {
  const body = {
    idNumber: $('timeline-id-number').value.trim(),
    ...range('timeline-from', 'timeline-to'),
    limit: TIMELINE_PAGE_SIZE,
  };
  say('Reading the events… / 读取事件中…');
  const events = [];
  let after = null;
  let pages = 0;
  do {
    const page = await callApi('/v1/audit-events/search', {
      method: 'POST',
      body: after ? { ...body, after } : body,
    });
    events.push(...page.items);
    after = page.next;
    pages += 1;
  } while (after && pages < TIMELINE_MAX_PAGES);
  drawTimeline(events, after !== null);
});

function actorName(event) {
  if (!event.actor) return 'unauthenticated / 未认证';
  return `${event.actor.clientId} (${event.actor.role})`;
}

function drawTimeline(events, truncated) {
  const counts = new Map();
  const actors = [];
  for (const event of events) {
    const day = beijingDay(event.at);
    const actor = actorName(event);
    if (!actors.includes(actor)) actors.push(actor);
    const byActor = counts.get(day) ?? new Map();
    byActor.set(actor, (byActor.get(actor) ?? 0) + 1);
    counts.set(day, byActor);
  }
  const present = [...counts.keys()].sort();
  const span = present.length > 0 ? daysBetween(present[0], present[present.length - 1]) : [];
  const days = span.length <= TIMELINE_MAX_DAYS ? span : present;
  const summary =
    `${events.length} events about the person on ${present.length} days, by ${actors.length} actors` +
    (truncated ? ` (the first ${events.length} only)` : '') +
    '. The table below has the same numbers.';
  const chart = $('timeline-chart');
  chart.replaceChildren();
  if (days.length > 0) {
    chart.append(
      barChart({
        days,
        actors,
        counts,
        title: 'Accesses per day, by actor / 每日访问次数',
        summary,
      }),
    );
  }
  $('timeline-caption').replaceChildren(both(summary, `共 ${events.length} 条事件`));
  $('timeline-legend').replaceChildren(
    ...actors.map((actor, series) =>
      el(
        'li',
        {},
        el('span', { class: `swatch series-${series % 8}`, 'aria-hidden': 'true' }),
        actor,
      ),
    ),
  );
  const table = $('timeline-table');
  table
    .querySelector('thead')
    .replaceChildren(
      el(
        'tr',
        {},
        el('th', { scope: 'col' }, both('Day (Beijing)', '日期')),
        ...actors.map((actor) => el('th', { scope: 'col' }, actor)),
        el('th', { scope: 'col' }, both('Total', '合计')),
      ),
    );
  table
    .querySelector('tbody')
    .replaceChildren(
      ...present.map((day) =>
        el(
          'tr',
          {},
          el('th', { scope: 'row' }, day),
          ...actors.map((actor) => cell(counts.get(day).get(actor) ?? 0)),
          cell(total(counts.get(day))),
        ),
      ),
    );
  $('timeline-result').hidden = false;
  say(`${events.length} events on the timeline. / 时间线共 ${events.length} 条事件。`);
}

// ---- alerts ------------------------------------------------------------------------------

onSubmit('alerts-form', loadAlerts);

async function loadAlerts() {
  const query = new URLSearchParams();
  const wanted = $('alert-status').value;
  if (wanted) query.set('status', wanted);
  say('Loading alerts… / 加载警报中…');
  const { items } = await callApi(`/v1/audit-alerts?${query}`);
  $('alerts')
    .querySelector('tbody')
    .replaceChildren(...items.map(alertRow));
  const label = $('alert-status').selectedOptions[0].textContent;
  $('alerts-caption').textContent =
    `${items.length} alerts (${label}), oldest window first / 按时间窗先后`;
  say(`${items.length} alerts shown. / 显示 ${items.length} 条警报。`);
}

function alertRow(alert) {
  const action = el('td');
  if (alert.status === 'OPEN') {
    const button = el('button', { type: 'button' }, both('Acknowledge', '确认'));
    button.addEventListener('click', () => openAcknowledgement(alert, button));
    action.append(button);
  } else {
    action.textContent = '—';
  }
  return el(
    'tr',
    {},
    cell(alert.rule),
    cell(alert.actor),
    cell(alert.count),
    cell(`${beijingTime(alert.windowStart)} – ${beijingTime(alert.windowEnd).slice(11)}`),
    cell(alert.status),
    cell(alert.acknowledgedBy),
    cell(alert.reason),
    action,
  );
}

function openAcknowledgement(alert, opener) {
  alertToAcknowledge = { alertId: alert.alertId, opener };
  $('ack-heading').textContent = `Acknowledge ${alert.rule} for ${alert.actor} / 确认警报`;
  $('ack-reason').value = '';
  $('ack-form').hidden = false;
  $('ack-reason').focus();
}

onSubmit('ack-form', async () => {
  const reason = $('ack-reason').value.trim();
  if (reason === '') throw new Error('Give a reason. / 请填写原因。');
  await callApi(`/v1/audit-alerts/${encodeURIComponent(alertToAcknowledge.alertId)}/acknowledge`, {
    method: 'POST',
    body: { reason },
  });
  $('ack-form').hidden = true;
  alertToAcknowledge = null;
  await loadAlerts();
  say('Alert acknowledged. / 警报已确认。');
  $('alerts-heading').focus();
});

$('ack-cancel').addEventListener('click', () => {
  $('ack-form').hidden = true;
  alertToAcknowledge?.opener.focus();
  alertToAcknowledge = null;
});

// ---- integrity ---------------------------------------------------------------------------

onClick('verify', async () => {
  say('Verifying the whole log… / 正在校验日志…');
  const [result, head] = await Promise.all([
    callApi('/v1/audit-events/verify'),
    callApi('/v1/audit-events/head'),
  ]);
  const findings = Array.isArray(result.findings) ? result.findings : [];
  const warnings = Array.isArray(result.warnings) ? result.warnings : [];
  const summary = $('verify-summary');
  summary.className = result.ok ? 'summary ok' : 'summary broken';
  summary.replaceChildren(
    result.ok
      ? both(
          `Intact: ${result.checked} events in ${result.streams} streams checked, ${result.checkpoints} signed checkpoints, 0 findings.`,
          '日志完整',
        )
      : both(
          `NOT intact: ${findings.length} findings in ${result.checked} events checked.`,
          `日志不完整：发现 ${findings.length} 处问题`,
        ),
  );
  fillRows(
    'findings',
    findings.map((f) => [f.stream, f.seq, f.reason, f.gseq]),
  );
  fillRows(
    'warnings',
    warnings.map((w) => [w.stream, w.seq, w.toSeq, w.reason]),
  );
  fillFields($('head-fields'), head);
  $('integrity-result').hidden = false;
  say(
    result.ok
      ? 'Verified: intact. / 校验完成：完整。'
      : 'Verified: NOT intact. / 校验完成：不完整。',
  );
});

function fillRows(tableId, rows) {
  const body = $(tableId).querySelector('tbody');
  const columns = $(tableId).querySelectorAll('thead th').length;
  body.replaceChildren(
    ...(rows.length > 0
      ? rows.map((values) => el('tr', {}, ...values.map(cell)))
      : [el('tr', {}, el('td', { colspan: columns }, both('None', '无')))]),
  );
}

show('signin', { focus: false });
