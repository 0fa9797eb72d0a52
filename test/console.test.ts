import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { auth, registerBuyer, registerSamePerson, type Buyer } from './helpers/checkout-fixtures';
import { expectNothingStoredInPlaintext } from './helpers/plaintext-scan';
import { createTestApp, type TestApp } from './helpers/test-app';

/**
 * GET /console in headless Chromium, used as a person would: by its labels
 * and buttons, against the app on a real port. Debian's chromium, driven by
 * playwright-core (no browser download). Each page is checked with axe-core
 * and photographed at 1280 and 390 px into test-artifacts/console/ (git-ignored).
 */
const CHROMIUM = '/usr/bin/chromium';
const LAUNCH_TIMEOUT_MS = 30_000;
/** Without the background-networking flags Chromium keeps calling out of a closed network. */
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const ARTIFACTS = path.join(__dirname, '..', 'test-artifacts', 'console');
const WIDTHS = [1280, 390] as const;
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

let t: TestApp;
let server: Server | undefined;
let browser: BrowserContext | undefined;
let profileDir: string | undefined;
let downloadsDir: string | undefined;
let baseUrl: string;
let auditor: { id: string; apiKey: string };
let prober: { id: string; apiKey: string };
let first: Buyer;
let stranger: Buyer;

/** Launches Chromium with a fresh profile; a clear error instead of a hang when it cannot. */
async function launchChromium(): Promise<BrowserContext> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install it with \`apt-get install -y chromium\``);
  }
  profileDir = mkdtempSync(path.join(tmpdir(), 'console-test-'));
  downloadsDir = mkdtempSync(path.join(tmpdir(), 'console-downloads-'));
  try {
    return await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_FLAGS,
      timeout: LAUNCH_TIMEOUT_MS,
      viewport: { width: 1280, height: 900 },
      acceptDownloads: true,
      downloadsPath: downloadsDir,
    });
  } catch (error) {
    throw new Error(
      `Chromium (${CHROMIUM}) did not start within ${LAUNCH_TIMEOUT_MS / 1000} s: ${String(error)}`,
    );
  }
}

function listen(app: TestApp['app']): Promise<Server> {
  return new Promise((resolve, reject) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
    listening.once('error', reject);
  });
}

interface ListedAlert {
  alertId: string;
  rule: string;
  actor: string;
  status: string;
  acknowledgedBy: string | null;
  reason: string | null;
}

async function alerts(): Promise<ListedAlert[]> {
  const response = await t.http().get('/v1/audit-alerts').set(auth(auditor.apiKey)).expect(200);
  return response.body.items;
}

beforeAll(async () => {
  t = await createTestApp({
    RATE_LIMIT_PER_MINUTE: '100000',
    REFUSALS_PER_MINUTE_PER_ADDRESS: '100000',
    REFUSALS_PER_MINUTE_PER_KEY: '100000',
    // Identical refusals are stated in one event after this window: the burst lands quickly.
    AUDIT_REFUSAL_WINDOW_MS: '200',
  });
  const checkoutKey = (await t.clientKey('checkout')).apiKey;
  auditor = await t.clientKey('auditor');
  first = await registerBuyer(t, checkoutKey);
  // The same person under another user account: a second identity record, then deleted.
  const second = await registerSamePerson(t, checkoutKey, first, 'second-account');
  stranger = await registerBuyer(t, checkoutKey);
  await t.http().get(`/v1/identities/${first.identityId}`).set(auth(checkoutKey)).expect(200);
  await t.http().delete(`/v1/identities/${second.identityId}`).set(auth(checkoutKey)).expect(204);

  // A checkout integration probing the log: 25 refusals in a row raise REFUSAL_BURST.
  prober = await t.clientKey('checkout');
  for (let i = 0; i < 25; i += 1) {
    await t.http().get('/v1/audit-events').set(auth(prober.apiKey)).expect(403);
  }
  const deadline = Date.now() + 5000;
  while (!(await alerts()).some((a) => a.rule === 'REFUSAL_BURST' && a.actor === prober.id)) {
    if (Date.now() > deadline) throw new Error('no REFUSAL_BURST alert for the prober');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  // More than one page (100) of audit.read events, for "More events".
  for (let i = 0; i < 105; i += 1) {
    await t.http().get('/v1/audit-events').query({ limit: 1 }).set(auth(auditor.apiKey));
  }

  mkdirSync(ARTIFACTS, { recursive: true });
  server = await listen(t.app);
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  if (server) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server!.close(() => resolve()));
  }
  for (const dir of [profileDir, downloadsDir]) {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
  await t?.close();
});

interface OpenedConsole {
  page: Page;
  urls: string[];
  errors: string[];
}

/** A new tab on the console; every URL it requests and every error are collected. */
async function openConsole(): Promise<OpenedConsole> {
  const page = await browser!.newPage();
  const urls: string[] = [];
  const errors: string[] = [];
  page.on('request', (request) => urls.push(request.url()));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(`${baseUrl}/console`);
  return { page, urls, errors };
}

/** Opens the console and signs in with the auditor's key, as the analyst would. */
async function signedIn(): Promise<OpenedConsole> {
  const opened = await openConsole();
  await opened.page.getByLabel('API key').fill(auditor.apiKey);
  await opened.page.getByRole('button', { name: 'Sign in' }).click();
  await opened.page.getByText(`Signed in as ${auditor.id}`).waitFor();
  return opened;
}

/** The rows of a table as cell texts keyed by the English part of each column header. */
async function tableRows(page: Page, selector: string): Promise<Record<string, string>[]> {
  return page.locator(selector).evaluate((table) => {
    const headers = Array.from(table.querySelectorAll('thead th')).map((th) =>
      (th.firstChild?.textContent ?? '').trim(),
    );
    return Array.from(table.querySelectorAll('tbody tr')).map((row) =>
      Object.fromEntries(
        Array.from(row.querySelectorAll('th, td')).map((td, i) => [
          headers[i]!,
          (td.textContent ?? '').trim(),
        ]),
      ),
    );
  });
}

interface AxeViolation {
  id: string;
  impact: string | null;
  nodes: { target: string[] }[];
}

/** axe-core in the page (evaluated, as the page's CSP rightly blocks injected script tags). */
async function seriousViolations(page: Page): Promise<{ id: string; targets: string[] }[]> {
  await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(): Promise<{ violations: unknown[] }> } }).axe;
    return (await axe.run()).violations;
  });
  return (violations as AxeViolation[])
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({ id: v.id, targets: v.nodes.map((n) => n.target.join(' ')) }));
}

/**
 * The page at 1280 and at 390 px: no serious or critical axe violation, no
 * sideways scrolling of the page itself, and a screenshot of each.
 */
async function checkPage(page: Page, name: string): Promise<void> {
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 900 });
    expect({ page: name, width, violations: await seriousViolations(page) }).toEqual({
      page: name,
      width,
      violations: [],
    });
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    expect({ page: name, width, overflow }).toEqual({ page: name, width, overflow: 0 });
    await page.screenshot({ path: path.join(ARTIFACTS, `${name}-${width}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}

describe('GET /console', () => {
  it('when fetched, then it is same-origin HTML under a CSP that allows no inline script and no other origin', async () => {
    const response = await t.http().get('/console').expect(200);
    expect(response.headers['content-type']).toMatch(/^text\/html/);
    const csp = response.headers['content-security-policy'] as string;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("form-action 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(response.text).not.toMatch(/<script>|<script(?![^>]*\bsrc=)[^>]*>/);
    expect(response.text).not.toMatch(/\sstyle=/);
    expect(response.text).not.toMatch(/https?:\/\//);
    for (const file of ['console.js', 'console-api.js', 'console-dom.js']) {
      await t
        .http()
        .get(`/console/${file}`)
        .expect('Content-Type', /javascript/)
        .expect(200);
    }
    await t.http().get('/console/console.test.ts').expect(404);
  });
});

describe('the console in a browser', () => {
  it('when the key is wrong, then the sign-in page says so and nothing else opens', async () => {
    const { page } = await openConsole();
    await checkPage(page, 'sign-in');
    await page.getByLabel('API key').fill('not-an-auditor-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'not accepted' }).waitFor();
    expect(await page.getByRole('navigation').isVisible()).toBe(false);
    expect(await page.getByLabel('API key').inputValue()).toBe('');
    await page.close();
  });

  it('when signing in with the keyboard only, then Tab reaches the key field and the button, and the pages are buttons', async () => {
    const { page } = await openConsole();
    const focused = () =>
      page.evaluate(() => {
        const active = document.activeElement as HTMLElement | null;
        return `${active?.tagName.toLowerCase()}#${active?.id ?? ''}`;
      });
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('a#');
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('input#api-key');
    await page.keyboard.type(auditor.apiKey);
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('button#');
    await page.keyboard.press('Enter');
    await page.getByText(`Signed in as ${auditor.id}`).waitFor();
    // Focus moved to the search page's heading; the navigation is reachable backwards.
    expect(await focused()).toBe('h2#search-heading');
    await page.keyboard.press('Shift+Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toContain('Integrity');
    await page.keyboard.press('Enter');
    expect(await focused()).toBe('h2#integrity-heading');
    await page.close();
  });

  it('when an auditor signs in and searches by id number, then the events of both registrations fill the table, and neither the number nor the key is in any URL or readable cookie', async () => {
    const { page, urls, errors } = await signedIn();
    const [cookie] = await browser!.cookies(baseUrl);
    expect(cookie).toMatchObject({ name: 'console_session', httpOnly: true, sameSite: 'Strict' });
    expect(cookie!.value).not.toContain(auditor.apiKey);
    expect(await page.evaluate(() => document.cookie)).toBe('');
    await checkPage(page, 'search-empty');

    const idNumber = page.locator('#view-search').getByLabel('ID number');
    await idNumber.fill(first.person.idNumber);
    await page.getByRole('button', { name: 'Search by ID number' }).click();
    await page.getByRole('status').filter({ hasText: 'events shown' }).waitFor();

    const rows = await tableRows(page, '#events');
    expect(Object.keys(rows[0]!)).toEqual([
      'Time (Beijing)',
      'Action',
      'Purpose',
      'Outcome',
      'Actor role',
      'Actor client',
      'Fields',
      'Detail',
    ]);
    const actions = rows.map((row) => row.Action);
    // Both registrations, the read of one and the delete of the other; not the stranger's.
    expect(actions.filter((action) => action === 'identity.create')).toHaveLength(2);
    expect(actions).toEqual(expect.arrayContaining(['identity.read', 'identity.delete']));
    expect(rows.find((row) => row.Action === 'identity.create')).toMatchObject({
      Purpose: 'identity-registration',
      Outcome: 'SUCCESS',
      'Actor role': 'checkout',
    });
    expect(await page.getByRole('link', { name: /Export/ }).isVisible()).toBe(false);
    // The analyst clears the number before the picture is taken: no personal data in artifacts.
    await idNumber.fill('');
    await checkPage(page, 'search');

    const pageText = (await page.locator('body').textContent()) ?? '';
    expect(pageText).not.toContain(stranger.person.name);
    for (const url of [...urls, page.url()]) {
      expect(url).not.toContain(first.person.idNumber);
      expect(url).not.toContain(auditor.apiKey);
      expect(url.startsWith(baseUrl)).toBe(true);
    }
    expect(errors).toEqual([]);

    // An event's detail: every field, chain position and hashes included.
    await page.getByRole('button', { name: 'Details' }).first().click();
    const detail = page.getByRole('region', { name: /Event detail/ });
    await detail.waitFor();
    const terms = await detail.locator('dt').allTextContents();
    expect(terms).toEqual(
      expect.arrayContaining([
        'seq',
        'stream',
        'at',
        'actor.clientId',
        'action',
        'purpose',
        'subjectRef',
        'resource.route',
        'outcome',
        'requestId',
        'prevHash',
        'hash',
      ]),
    );
    await checkPage(page, 'event');
    await page.getByRole('button', { name: 'Back to results' }).click();
    expect(await page.locator('#events tbody tr').count()).toBe(rows.length);
    await page.close();
  });

  it('when searching by action, then pages of 100 come with More events, and the filter exports as NDJSON', async () => {
    const { page, errors } = await signedIn();
    await page.getByLabel('Action').selectOption('audit.read');
    await page.getByRole('button', { name: 'Search events' }).click();
    await page.getByRole('status').filter({ hasText: '100 events shown, more' }).waitFor();
    await page.getByRole('button', { name: 'More events' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: /^(1\d\d|2\d\d) events shown/ })
      .waitFor();
    const rows = await tableRows(page, '#events');
    expect(rows.length).toBeGreaterThan(100);
    expect(rows.every((row) => row.Action === 'audit.read')).toBe(true);

    const exportLink = page.getByRole('link', { name: /Export this filter/ });
    expect(await exportLink.getAttribute('href')).toBe('/v1/audit-events/export?action=audit.read');
    const [download] = await Promise.all([page.waitForEvent('download'), exportLink.click()]);
    const lines = readFileSync((await download.path())!, 'utf8')
      .trim()
      .split('\n');
    expect(lines.length).toBeGreaterThan(100);
    expect(lines.map((line) => JSON.parse(line).event.action)).toEqual(
      lines.map(() => 'audit.read'),
    );
    expect(errors).toEqual([]);
    await page.close();
  });

  it("when a person's timeline is asked for, then a chart and a table count their events per day by actor", async () => {
    const { page, errors } = await signedIn();
    await page.getByRole('button', { name: 'Timeline' }).click();
    const idNumber = page.locator('#view-timeline').getByLabel('ID number');
    await idNumber.fill(first.person.idNumber);
    await page.getByRole('button', { name: 'Show timeline' }).click();
    await page.getByRole('status').filter({ hasText: 'on the timeline' }).waitFor();

    const found = await t
      .http()
      .post('/v1/audit-events/search')
      .set(auth(auditor.apiKey))
      .send({ idNumber: first.person.idNumber, limit: 500 })
      .expect(200);
    type Found = { action: string; actor: { clientId: string; role: string } };
    // The newest event is that search's own record: the page's timeline was drawn before it.
    const items = found.body.items as Found[];
    expect(items.at(-1)).toMatchObject({ action: 'audit.read', actor: { clientId: auditor.id } });
    const shown = items.slice(0, -1);
    const byActor = new Map<string, number>();
    for (const event of shown) {
      const name = `${event.actor.clientId} (${event.actor.role})`;
      byActor.set(name, (byActor.get(name) ?? 0) + 1);
    }
    // One row per day (all of today's, unless the run crossed midnight in Beijing).
    const rows = await tableRows(page, '#timeline-table');
    const sum = (column: string) => rows.reduce((n, row) => n + Number(row[column] ?? 0), 0);
    expect(sum('Total')).toBe(shown.length);
    for (const [actor, count] of byActor) expect(sum(actor)).toBe(count);
    const chart = page.getByRole('img', { name: /Accesses per day/ });
    expect(await chart.locator('rect').count()).toBeGreaterThanOrEqual(byActor.size);

    await idNumber.fill('');
    await checkPage(page, 'timeline');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('when an auditor acknowledges the open REFUSAL_BURST alert with a reason, then it shows as acknowledged, by them, with the reason', async () => {
    const { page, errors } = await signedIn();
    await page.getByRole('button', { name: 'Alerts' }).click();
    await page.getByRole('status').filter({ hasText: 'alerts shown' }).waitFor();
    await checkPage(page, 'alerts');

    const row = page.locator('#alerts tbody tr', { hasText: prober.id });
    await row.getByRole('button', { name: 'Acknowledge' }).click();
    await page.getByLabel('Reason').fill('Integration misconfigured; partner told (ticket 4711).');
    await page.getByRole('button', { name: 'Confirm acknowledgement' }).click();
    await page.getByRole('status').filter({ hasText: 'Alert acknowledged' }).waitFor();

    await page.getByLabel('Status').selectOption('ACKNOWLEDGED');
    await page.getByRole('button', { name: 'Show alerts' }).click();
    await page.getByRole('status').filter({ hasText: 'alerts shown' }).waitFor();
    const rows = await tableRows(page, '#alerts');
    expect(rows.find((r) => r.Actor === prober.id)).toMatchObject({
      Rule: 'REFUSAL_BURST',
      Status: 'ACKNOWLEDGED',
      'Acknowledged by': auditor.id,
      Reason: 'Integration misconfigured; partner told (ticket 4711).',
    });
    const stored = (await alerts()).find((a) => a.actor === prober.id)!;
    expect(stored).toMatchObject({ status: 'ACKNOWLEDGED', acknowledgedBy: auditor.id });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('when an event is altered in the database, then the integrity page flags it with its stream, seq and reason, next to the signed head', async () => {
    const { page } = await signedIn();
    await page.getByRole('button', { name: 'Integrity' }).click();
    await page.getByRole('button', { name: 'Verify log' }).click();
    await page.getByRole('status').filter({ hasText: 'Verified' }).waitFor();
    expect(await page.locator('#verify-summary').textContent()).toMatch(/^Intact: .* 0 findings/);
    const head = await page.locator('#head-fields dt').allTextContents();
    expect(head).toEqual(expect.arrayContaining(['gseq', 'digest', 'signature', 'keyId', 'alg']));

    // An attacker with write access to the database edits one stored event.
    const events = t.connection.collection<{ stream: string; seq: number; outcome: string }>(
      'audit_events',
    );
    const victim = (await events.findOne({ action: 'identity.delete' }))!;
    await events.updateOne(
      { stream: victim.stream, seq: victim.seq },
      { $set: { outcome: 'FAILED' } },
    );
    await page.getByRole('button', { name: 'Verify log' }).click();
    await page.getByRole('status').filter({ hasText: 'NOT intact' }).waitFor();
    expect(await page.locator('#verify-summary').textContent()).toMatch(
      /^NOT intact: \d+ findings/,
    );
    const findings = await tableRows(page, '#findings');
    expect(findings).toContainEqual(
      expect.objectContaining({ Stream: victim.stream, Seq: String(victim.seq) }),
    );
    expect(findings.every((f) => f.Reason.length > 0)).toBe(true);
    await checkPage(page, 'integrity');
    await events.updateOne(
      { stream: victim.stream, seq: victim.seq },
      { $set: { outcome: victim.outcome } },
    );
    await page.close();
  });

  it('when the auditor signs out, then the sign-in page is back and the old cookie is refused', async () => {
    const { page } = await signedIn();
    const [cookie] = await browser!.cookies(baseUrl);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('status').filter({ hasText: 'Signed out' }).waitFor();
    expect(await page.getByLabel('API key').isVisible()).toBe(true);
    expect(await browser!.cookies(baseUrl)).toEqual([]);

    const fromPage = await page.evaluate(async () => (await fetch('/v1/audit-events')).status);
    expect(fromPage).toBe(401);
    await t
      .http()
      .get('/v1/audit-events')
      .set('Cookie', `${cookie!.name}=${cookie!.value}`)
      .expect(401);
    await page.close();
  });

  it('when the console was used, then no log line holds the id number or the key', () => {
    const logs = t.logs.join('');
    expect(logs).not.toContain(first.person.idNumber);
    expect(logs).not.toContain(auditor.apiKey);
  });
});

it('when every test above has run, then nothing personal is stored in plaintext', async () => {
  await expectNothingStoredInPlaintext(t.connection);
});
