import { loadConfig } from '../src/config';
import { auth } from './helpers/auth';
import { randomPerson, registration } from './helpers/identity-fixtures';
import { expectNothingStoredInPlaintext } from './helpers/plaintext-scan';
import { ADMIN_KEY, createTestApp, type TestApp } from './helpers/test-app';

/**
 * Security alerts through HTTP: each rule raised by the requests that should
 * raise it, listed, acknowledged and counted in /metrics. Alerts are written
 * after the events (asynchronously), so each check polls with a bounded wait.
 */
let t: TestApp;
let auditor: { id: string; apiKey: string };
let registrar: string;

/** 10:00 Beijing on a Wednesday; tests move it. The app clock runs on from there. */
let base = Date.parse('2026-11-25T02:00:00Z');
let startedAt = Date.now();
const setClock = (iso: string) => {
  base = Date.parse(iso);
  startedAt = Date.now();
};
const clock = () => new Date(base + (Date.now() - startedAt));

beforeAll(async () => {
  t = await createTestApp(
    {
      ALERT_BULK_SUBJECTS_PER_HOUR: '3',
      ALERT_BUSINESS_HOURS: '08:00-20:00',
      REFUSALS_PER_MINUTE_PER_ADDRESS: '100000',
      REFUSALS_PER_MINUTE_PER_KEY: '100000',
      // Identical refusals are stated in one event after this window: keep the test short.
      AUDIT_REFUSAL_WINDOW_MS: '200',
    },
    { clock },
  );
  auditor = await t.clientKey('auditor');
  registrar = (await t.clientKey('checkout')).apiKey;
});
afterAll(() => t.close());

interface ListedAlert {
  alertId: string;
  rule: string;
  actor: string;
  count: number;
  windowStart: string;
  windowEnd: string;
  firstAt: string;
  lastAt: string;
  status: string;
  acknowledgedBy: string | null;
  acknowledgedAt: string | null;
  reason: string | null;
}

async function listAlerts(query: Record<string, string> = {}): Promise<ListedAlert[]> {
  const response = await t
    .http()
    .get('/v1/audit-alerts')
    .query(query)
    .set(auth(auditor.apiKey))
    .expect(200);
  return response.body.items;
}

/** The alert of a rule and actor once it matches `done`, polled for at most 5 s. */
async function alertOf(
  rule: string,
  actor: string,
  done: (alert: ListedAlert) => boolean = () => true,
): Promise<ListedAlert> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const found = (await listAlerts()).find((a) => a.rule === rule && a.actor === actor);
    if (found && done(found)) return found;
    if (Date.now() > deadline) {
      throw new Error(`no ${rule} alert for ${actor}: ${JSON.stringify(found ?? null)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function registerIdentity(): Promise<string> {
  const response = await t
    .http()
    .post('/v1/identities')
    .set(auth(registrar))
    .send(registration(randomPerson()))
    .expect(201);
  return response.body.identityId as string;
}

describe('BULK_ACCESS', () => {
  it('when one checkout client reads 4 identities with a threshold of 3, then one alert counting 4', async () => {
    const reader = await t.clientKey('checkout');
    const identities = [];
    for (let i = 0; i < 4; i += 1) identities.push(await registerIdentity());
    for (const identityId of identities) {
      await t.http().get(`/v1/identities/${identityId}`).set(auth(reader.apiKey)).expect(200);
    }
    const alert = await alertOf('BULK_ACCESS', reader.id, (a) => a.count === 4);
    expect(alert).toMatchObject({ status: 'OPEN', acknowledgedBy: null, reason: null });
    expect(Date.parse(alert.windowEnd) - Date.parse(alert.windowStart)).toBe(3_600_000);
    expect(alert.alertId).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('when a client reads 3 identities (not more than the threshold), then no alert for it', async () => {
    const reader = await t.clientKey('checkout');
    for (let i = 0; i < 3; i += 1) {
      const identityId = await registerIdentity();
      await t.http().get(`/v1/identities/${identityId}`).set(auth(reader.apiKey)).expect(200);
    }
    // Alerts are written within milliseconds of their event: give any a moment to land.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const alerts = await listAlerts();
    expect(alerts.filter((a) => a.actor === reader.id)).toEqual([]);
  });
});

describe('REFUSAL_BURST', () => {
  it('when a checkout client is refused 25 times in a row, then an alert counting every refusal (aggregated ones included)', async () => {
    const prober = await t.clientKey('checkout');
    for (let i = 0; i < 25; i += 1) {
      await t.http().get('/v1/audit-events').set(auth(prober.apiKey)).expect(403);
    }
    // The first refusal is an event of its own, the 24 after it one event with repeat.count.
    const alert = await alertOf('REFUSAL_BURST', prober.id, (a) => a.count === 25);
    expect(Date.parse(alert.windowEnd) - Date.parse(alert.windowStart)).toBe(300_000);
  });
});

describe('OFF_HOURS', () => {
  it('when an auditor exports the log at 23:00 Beijing, then an alert; at 10:00, none', async () => {
    const night = await t.clientKey('auditor');
    const day = await t.clientKey('auditor');
    setClock('2026-11-25T02:00:00Z');
    await t.http().get('/v1/audit-events/export').set(auth(day.apiKey)).expect(200);
    setClock('2026-11-25T15:00:00Z');
    await t.http().get('/v1/audit-events/export').set(auth(night.apiKey)).expect(200);
    const alert = await alertOf('OFF_HOURS', night.id);
    expect(alert.count).toBe(1);
    expect(alert.windowStart).toBe('2026-11-25T15:00:00.000Z');
    expect((await listAlerts()).filter((a) => a.actor === day.id)).toEqual([]);
    setClock('2026-11-25T02:00:00Z');
  });
});

describe('REVOKED_KEY', () => {
  it('when the key of a revoked client is presented, then 401 and an alert naming the client', async () => {
    const revoked = await t.clientKey('checkout');
    await t.http().delete(`/v1/clients/${revoked.id}`).set(auth(ADMIN_KEY)).expect(204);
    await t.http().get('/v1/identities/x').set(auth(revoked.apiKey)).expect(401);
    expect((await alertOf('REVOKED_KEY', revoked.id)).count).toBe(1);
  });
});

describe('POST /v1/audit-alerts/:alertId/acknowledge', () => {
  it('when an auditor acknowledges, then ACKNOWLEDGED with who and why, an event, a replay and a conflict', async () => {
    const { alertId } = (await listAlerts({ status: 'OPEN' }))[0]!;
    const reason = 'Reviewed: load test of the checkout integration';
    const acked = await t
      .http()
      .post(`/v1/audit-alerts/${alertId}/acknowledge`)
      .set(auth(auditor.apiKey))
      .send({ reason })
      .expect(200);
    expect(acked.body).toMatchObject({
      alertId,
      status: 'ACKNOWLEDGED',
      acknowledgedBy: auditor.id,
      reason,
    });
    expect(Number.isNaN(Date.parse(acked.body.acknowledgedAt))).toBe(false);

    const listed = (await listAlerts({ status: 'ACKNOWLEDGED' })).find(
      (a) => a.alertId === alertId,
    );
    expect(listed).toMatchObject({ status: 'ACKNOWLEDGED', acknowledgedBy: auditor.id, reason });

    const events = await t
      .http()
      .get('/v1/audit-events')
      .query({ action: 'audit.alert-ack' })
      .set(auth(auditor.apiKey))
      .expect(200);
    expect(events.body.items).toHaveLength(1);
    expect(events.body.items[0]).toMatchObject({
      actor: { clientId: auditor.id, role: 'auditor' },
      purpose: 'security-review',
      outcome: 'SUCCESS',
      resource: { route: '/v1/audit-alerts/:alertId/acknowledge', id: alertId },
    });

    await t
      .http()
      .post(`/v1/audit-alerts/${alertId}/acknowledge`)
      .set(auth(auditor.apiKey))
      .send({ reason })
      .expect(200);
    await t
      .http()
      .post(`/v1/audit-alerts/${alertId}/acknowledge`)
      .set(auth(auditor.apiKey))
      .send({ reason: 'Another reason' })
      .expect(409);
    const after = await t
      .http()
      .get('/v1/audit-events')
      .query({ action: 'audit.alert-ack' })
      .set(auth(auditor.apiKey))
      .expect(200);
    expect(after.body.items).toHaveLength(1);
  });

  it('when the alert does not exist, then 404; when the reason is missing, then 400', async () => {
    await t
      .http()
      .post('/v1/audit-alerts/AAAAAAAAAAAAAAAAAAAAAA/acknowledge')
      .set(auth(auditor.apiKey))
      .send({ reason: 'x' })
      .expect(404);
    const { alertId } = (await listAlerts({ status: 'OPEN' }))[0]!;
    await t
      .http()
      .post(`/v1/audit-alerts/${alertId}/acknowledge`)
      .set(auth(auditor.apiKey))
      .send({})
      .expect(400);
  });
});

describe('roles', () => {
  it('when a non-auditor lists or acknowledges alerts, then 403', async () => {
    const { alertId } = (await listAlerts())[0]!;
    for (const role of ['admin', 'checkout', 'legal']) {
      const { apiKey } = await t.clientKey(role);
      await t.http().get('/v1/audit-alerts').set(auth(apiKey)).expect(403);
      await t
        .http()
        .post(`/v1/audit-alerts/${alertId}/acknowledge`)
        .set(auth(apiKey))
        .send({ reason: 'not mine to acknowledge' })
        .expect(403);
    }
  });
});

describe('INTEGRITY_FAILURE and /metrics', () => {
  it('when verify finds an edited event, then an alert; /metrics counts open alerts by rule', async () => {
    await t.connection
      .collection<{ outcome: string }>('audit_events')
      .updateOne({ outcome: 'SUCCESS' }, { $set: { outcome: 'FAILED' } });
    const verified = await t
      .http()
      .get('/v1/audit-events/verify')
      .set(auth(auditor.apiKey))
      .expect(200);
    expect(verified.body.ok).toBe(false);
    await alertOf('INTEGRITY_FAILURE', 'system');

    const open = await listAlerts({ status: 'OPEN' });
    const metrics = (await t.http().get('/metrics').expect(200)).text;
    for (const rule of [
      'BULK_ACCESS',
      'REFUSAL_BURST',
      'OFF_HOURS',
      'REVOKED_KEY',
      'INTEGRITY_FAILURE',
    ]) {
      const count = open.filter((a) => a.rule === rule).length;
      expect(metrics).toContain(`audit_alerts_open{rule="${rule}"} ${count}`);
    }
    expect(open.some((a) => a.rule === 'INTEGRITY_FAILURE')).toBe(true);
  });
});

describe('configuration', () => {
  it('when the alert settings are out of range, then the start fails naming the variable', () => {
    const load = (env: Record<string, string>) => () => loadConfig({ NODE_ENV: 'test', ...env });
    expect(load({ ALERT_BULK_SUBJECTS_PER_HOUR: '0' })).toThrow(
      'invalid configuration: ALERT_BULK_SUBJECTS_PER_HOUR has an invalid value',
    );
    for (const hours of ['20:00-08:00', '8-20', '08:00-24:30', '09:00-09:00']) {
      expect(load({ ALERT_BUSINESS_HOURS: hours })).toThrow(
        'invalid configuration: ALERT_BUSINESS_HOURS has an invalid value',
      );
    }
    expect(loadConfig({ NODE_ENV: 'test' }).alerts).toEqual({
      bulkSubjectsPerHour: 200,
      businessHours: { startMinute: 480, endMinute: 1200 },
    });
  });
});

describe('storage', () => {
  it('when all of the above ran, then nothing is stored in plaintext', async () => {
    await expectNothingStoredInPlaintext(t.connection);
  });
});
