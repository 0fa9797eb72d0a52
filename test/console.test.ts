import { existsSync, mkdtempSync, rmSync } from 'node:fs';
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
 * playwright-core (no browser download).
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

let t: TestApp;
let server: Server | undefined;
let browser: BrowserContext | undefined;
let profileDir: string | undefined;
let baseUrl: string;
let auditorKey: string;
let first: Buyer;
let stranger: Buyer;

/** Launches Chromium with a fresh profile; a clear error instead of a hang when it cannot. */
async function launchChromium(): Promise<BrowserContext> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install it with \`apt-get install -y chromium\``);
  }
  profileDir = mkdtempSync(path.join(tmpdir(), 'console-test-'));
  try {
    return await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_FLAGS,
      timeout: LAUNCH_TIMEOUT_MS,
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

beforeAll(async () => {
  t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '100000' });
  const checkoutKey = (await t.clientKey('checkout')).apiKey;
  auditorKey = (await t.clientKey('auditor')).apiKey;
  first = await registerBuyer(t, checkoutKey);
  // The same person under another user account: a second identity record, then deleted.
  const second = await registerSamePerson(t, checkoutKey, first, 'second-account');
  stranger = await registerBuyer(t, checkoutKey);
  await t.http().get(`/v1/identities/${first.identityId}`).set(auth(checkoutKey)).expect(200);
  await t.http().delete(`/v1/identities/${second.identityId}`).set(auth(checkoutKey)).expect(204);

  server = await listen(t.app);
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await launchChromium();
}, 90_000);

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  if (server) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server!.close(() => resolve()));
  }
  if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  await t?.close();
});

/** A new tab on the console; every URL it requests and every console error are collected. */
async function openConsole(): Promise<{ page: Page; urls: string[]; errors: string[] }> {
  const page = await browser!.newPage();
  const urls: string[] = [];
  const errors: string[] = [];
  page.on('request', (request) => urls.push(request.url()));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('response', (response) => {
    if (response.status() >= 400) errors.push(`${response.status()} ${response.url()}`);
  });
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(`${baseUrl}/console`);
  return { page, urls, errors };
}

/** The table's rows as cell texts, keyed by column header. */
async function tableRows(page: Page): Promise<Record<string, string>[]> {
  return page.locator('table').evaluate((table) => {
    const headers = Array.from(table.querySelectorAll('thead th')).map(
      (th) => th.textContent ?? '',
    );
    return Array.from(table.querySelectorAll('tbody tr')).map((row) =>
      Object.fromEntries(
        Array.from(row.querySelectorAll('td')).map((td, i) => [headers[i]!, td.textContent ?? '']),
      ),
    );
  });
}

describe('GET /console', () => {
  it('when fetched, then it is same-origin HTML under a CSP that allows no inline script and no other origin', async () => {
    const response = await t.http().get('/console').expect(200);
    expect(response.headers['content-type']).toMatch(/^text\/html/);
    const csp = response.headers['content-security-policy'] as string;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("form-action 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(response.text).not.toMatch(/<script>|<script(?![^>]*\bsrc=)[^>]*>/);
    expect(response.text).not.toMatch(/https?:\/\//);
    await t
      .http()
      .get('/console/console.js')
      .expect('Content-Type', /javascript/)
      .expect(200);
  });

  it('when an auditor enters a key and an id number and searches, then the events of both registrations fill the table and no URL holds the number', async () => {
    const { page, urls, errors } = await openConsole();
    await page.getByLabel('API key').fill(auditorKey);
    await page.getByLabel('ID number').fill(first.person.idNumber);
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('status').filter({ hasText: 'events shown' }).waitFor();

    const rows = await tableRows(page);
    expect(Object.keys(rows[0]!)).toEqual([
      'Time',
      'Action',
      'Purpose',
      'Outcome',
      'Actor role',
      'Actor client',
      'Fields',
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

    const pageText = (await page.locator('body').textContent()) ?? '';
    expect(pageText).not.toContain(stranger.person.name);
    for (const url of [...urls, page.url()]) {
      expect(url).not.toContain(first.person.idNumber);
      expect(url).not.toContain(auditorKey);
      expect(url.startsWith(baseUrl)).toBe(true);
    }
    expect(errors).toEqual([]);
    await page.close();
  });

  it('when Verify log is clicked, then the result and its findings count are shown', async () => {
    const { page, errors } = await openConsole();
    await page.getByLabel('API key').fill(auditorKey);
    await page.getByRole('button', { name: 'Verify log' }).click();
    const result = page.getByRole('status').filter({ hasText: 'findings' });
    await result.waitFor();
    expect(await result.textContent()).toMatch(/^ok: true — 0 findings/);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('when the key is wrong, then an error message is shown and no table', async () => {
    const { page } = await openConsole();
    await page.getByLabel('API key').fill('not-an-auditor-key');
    await page.getByLabel('ID number').fill(first.person.idNumber);
    await page.getByRole('button', { name: 'Search' }).click();
    const alert = page.getByRole('alert');
    await alert.filter({ hasText: 'not accepted' }).waitFor();
    expect(await page.locator('table').isVisible()).toBe(false);
    expect(page.url()).toBe(`${baseUrl}/console`);
    await page.close();
  });

  it('when the console was used, then no log line holds the id number', () => {
    expect(t.logs.join('')).not.toContain(first.person.idNumber);
  });
});

it('when every test above has run, then nothing personal is stored in plaintext', async () => {
  await expectNothingStoredInPlaintext(t.connection);
});
