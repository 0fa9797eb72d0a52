// The security team's console. Plain ES module, no build step, no external resources.
// The API key lives only in this module's memory: never in storage, the URL or the page.
// Every value shown goes through textContent, so nothing the API returns is run as HTML.

const PAGE_SIZE = 100;

const element = (id) => document.getElementById(id);
const apiKeyInput = element('api-key');
const idNumberInput = element('id-number');
const message = element('message');
const status = element('status');
const table = element('events');
const rows = table.querySelector('tbody');
const moreButton = element('more');
const verifyResult = element('verify-result');

/** The search of the rows on screen: its body, and the cursor of the next page. */
let current = null;

function apiKey() {
  const key = apiKeyInput.value.trim();
  if (key === '') throw new Error('Enter an auditor API key first.');
  return key;
}

/** Calls the API with the key as a bearer token; a refusal becomes a readable error. */
async function callApi(path, { method = 'GET', body } = {}) {
  const headers = { Authorization: `Bearer ${apiKey()}`, Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'omit',
    cache: 'no-store',
  });
  const payload = await response.json().catch(() => null);
  if (!response.ok) throw new Error(describeError(response.status, payload));
  return payload;
}

function describeError(statusCode, payload) {
  if (statusCode === 401) return 'The API key was not accepted.';
  if (statusCode === 403) return 'This API key is not an auditor key.';
  if (statusCode === 429) return 'Too many attempts: wait a minute and try again.';
  const error = payload && payload.error;
  if (statusCode === 400 && error && Array.isArray(error.details)) {
    return `Not valid: ${error.details.map((d) => `${d.path} ${d.message}`).join('; ')}.`;
  }
  if (error && typeof error.message === 'string') return error.message;
  return `The service answered ${statusCode}.`;
}

function showError(error) {
  message.textContent = error instanceof Error ? error.message : String(error);
}

function cell(text) {
  const td = document.createElement('td');
  td.textContent = text;
  return td;
}

function eventRow(event) {
  const tr = document.createElement('tr');
  const actor = event.actor || {};
  tr.append(
    cell(event.at || ''),
    cell(event.action || ''),
    cell(event.purpose || ''),
    cell(event.outcome || ''),
    cell(actor.role || '—'),
    cell(actor.clientId || '—'),
    cell(Array.isArray(event.fields) ? event.fields.join(', ') : ''),
  );
  return tr;
}

function showPage(page, append) {
  if (!append) rows.replaceChildren();
  rows.append(...page.items.map(eventRow));
  table.hidden = false;
  moreButton.hidden = page.next === null;
  status.textContent = `${rows.children.length} events shown${page.next ? ', more available' : ''}.`;
}

async function search(append) {
  message.textContent = '';
  const body = append
    ? { ...current.body, after: current.next }
    : { idNumber: idNumberInput.value.trim(), limit: PAGE_SIZE };
  status.textContent = 'Searching…';
  try {
    const page = await callApi('/v1/audit-events/search', { method: 'POST', body });
    current = { body: { idNumber: body.idNumber, limit: PAGE_SIZE }, next: page.next };
    showPage(page, append);
  } catch (error) {
    status.textContent = '';
    showError(error);
  }
}

async function verify() {
  message.textContent = '';
  verifyResult.textContent = 'Verifying…';
  try {
    const result = await callApi('/v1/audit-events/verify');
    const findings = Array.isArray(result.findings) ? result.findings.length : 0;
    verifyResult.textContent = `ok: ${result.ok} — ${findings} findings (${result.checked} events checked).`;
  } catch (error) {
    verifyResult.textContent = '';
    showError(error);
  }
}

element('search-form').addEventListener('submit', (event) => {
  event.preventDefault();
  void search(false);
});
moreButton.addEventListener('click', () => void search(true));
element('verify').addEventListener('click', () => void verify());
