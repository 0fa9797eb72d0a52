import { createAccessLog, type AccessLogModule } from '../src/audit/access-log';
import { chainEvent, eventHash, GENESIS_HASH, type UnchainedEvent } from '../src/audit/audit-chain';
import {
  auditedChange,
  auditedRead,
  recordFailure,
  type PlannedAccess,
} from '../src/audit/audit-helpers';
import { ChainWriter } from '../src/audit/audit-writer';
import { createAuditStore } from '../src/audit/audit-store';
import { loadAuditKeys } from '../src/audit/audit-keys';
import { AppError, NotFound } from '../src/errors';
import { createLogger } from '../src/logger';
import { createTestApp, type TestApp } from './helpers/test-app';
import { expectNothingStoredInPlaintext } from './helpers/plaintext-scan';

/**
 * The recording surface other capabilities call (AccessLog and its helpers),
 * against the real database: these are library calls, not HTTP routes.
 */
let t: TestApp;
let log: AccessLogModule;
const events = () => t.connection.collection('audit_events');
const logger = createLogger('silent');

beforeAll(async () => {
  t = await createTestApp();
  log = createAccessLog({ connection: t.connection, config: t.config, logger });
  await log.ensureIndexes();
});
afterAll(async () => {
  await log.stop();
  await t.close();
});

const IDENTITY = '0b4f7a36-1f1e-4a0c-9d83-3c2f6f0f5e11';
const access = (requestId: string, overrides: Partial<PlannedAccess> = {}): PlannedAccess => ({
  context: {
    actor: {
      clientId: 'c0ffee00-0000-4000-8000-000000000001',
      role: 'customs',
      partnerCode: 'BROKER1',
    },
    requestId,
    sourceIp: '10.1.2.3',
    route: '/v1/declarations/:declarationId',
  },
  action: 'declaration.disclose',
  purpose: 'customs-clearance',
  identityId: IDENTITY,
  resourceId: 'decl-42',
  fields: ['buyer.name', 'buyer.idNumber', 'buyer.telephone', 'consignee.address'],
  ...overrides,
});

describe('AccessLog.record', () => {
  it('when a disclosure is recorded, then the stored event carries the pseudonym, resource and field names', async () => {
    await log.record({ ...access('rec-1'), outcome: 'SUCCESS' });
    const [stored] = await events().find({ requestId: 'rec-1' }).toArray();
    expect(stored).toMatchObject({
      actor: {
        clientId: 'c0ffee00-0000-4000-8000-000000000001',
        role: 'customs',
        partnerCode: 'BROKER1',
      },
      action: 'declaration.disclose',
      purpose: 'customs-clearance',
      subjectRef: log.subjectRef(IDENTITY),
      resource: { route: '/v1/declarations/:declarationId', id: 'decl-42' },
      fields: ['buyer.name', 'buyer.idNumber', 'buyer.telephone', 'consignee.address'],
      outcome: 'SUCCESS',
      sourceIp: '10.1.2.3',
    });
    const { eventMacKey } = loadAuditKeys(t.config.keysDir, { generate: false });
    expect(stored!.hash).toBe(eventHash(stored!, eventMacKey));
    expect(JSON.stringify(stored)).not.toContain(IDENTITY);
  });

  it.each([
    ['a value as a field name', { fields: ['张三'] }],
    ['a field name with spaces', { fields: ['name 110105194912310020'] }],
    ['free text as resource id', { resourceId: 'Zhang San, 138 0013 8000' }],
    ['an action off the list', { action: 'identity.peek' as never }],
    ['a purpose off the list', { purpose: 'curiosity' as never }],
  ])(
    'when an event carries %s, then it is refused with a 500 and nothing is stored',
    async (_label, overrides) => {
      const requestId = `rec-bad-${Math.random().toString(36).slice(2)}`;
      const error = await log
        .record({ ...access(requestId, overrides), outcome: 'SUCCESS' })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).status).toBe(500);
      expect(await events().countDocuments({ requestId })).toBe(0);
    },
  );

  it('when the route is not a template, then the event is refused', async () => {
    const bad = access('rec-route');
    bad.context = { ...bad.context, route: '/v1/identities/?name=张三' };
    await expect(log.record({ ...bad, outcome: 'SUCCESS' })).rejects.toMatchObject({ status: 500 });
  });

  it('when 200 events are recorded at once, then all resolve on one gap-free chain', async () => {
    const before = log.position();
    await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        log.record({ ...access(`rec-burst-${i}`), outcome: 'SUCCESS' }),
      ),
    );
    const after = log.position();
    expect(after.stream).toBe(before.stream);
    expect(after.seq).toBe(before.seq + 200);
    const seqs = (await events().find({ stream: after.stream }).sort({ seq: 1 }).toArray()).map(
      (e) => e.seq,
    );
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
  });
});

describe('helpers for capabilities', () => {
  it('when a read succeeds, then its SUCCESS event is written before the value is handed back', async () => {
    const order: string[] = [];
    const observed = {
      subjectRef: log.subjectRef,
      record: async (event: Parameters<typeof log.record>[0]) => {
        await log.record(event);
        order.push(`recorded ${event.outcome}`);
      },
    };
    const value = await auditedRead(observed, access('help-read'), async () => {
      order.push('loaded');
      return 'masked view';
    });
    order.push('returned');
    expect(value).toBe('masked view');
    expect(order).toEqual(['loaded', 'recorded SUCCESS', 'returned']);
    expect(await events().countDocuments({ requestId: 'help-read', outcome: 'SUCCESS' })).toBe(1);
  });

  it('when a read answers 404, then a FAILED event is written and the 404 passes through', async () => {
    await expect(
      auditedRead(log, access('help-404'), async () => {
        throw new NotFound('declaration');
      }),
    ).rejects.toMatchObject({ status: 404 });
    expect(await events().find({ requestId: 'help-404' }).toArray()).toMatchObject([
      { outcome: 'FAILED' },
    ]);
  });

  it('when decryption fails, then a FAILED event is written', async () => {
    class DecryptionFailed extends Error {
      override name = 'DecryptionFailed';
    }
    await expect(
      auditedRead(log, access('help-decrypt'), async () => {
        throw new DecryptionFailed();
      }),
    ).rejects.toBeInstanceOf(DecryptionFailed);
    expect(await events().find({ requestId: 'help-decrypt' }).toArray()).toMatchObject([
      { outcome: 'FAILED' },
    ]);
  });

  it('when a change fails after its event, then a compensating FAILED event follows with the same request id', async () => {
    await expect(
      auditedChange(log, access('help-change', { action: 'identity.update' }), async () => {
        throw new Error('write conflict');
      }),
    ).rejects.toThrow('write conflict');
    const stored = await events().find({ requestId: 'help-change' }).sort({ seq: 1 }).toArray();
    expect(stored.map((e) => e.outcome)).toEqual(['SUCCESS', 'FAILED']);
  });

  it('when a change cannot be recorded, then the change does not run', async () => {
    let ran = false;
    const stopped = createAccessLog({ connection: t.connection, config: t.config, logger });
    await stopped.ensureIndexes();
    await stopped.stop();
    await expect(
      auditedChange(stopped, access('help-nochange'), async () => {
        ran = true;
      }),
    ).rejects.toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE' });
    expect(ran).toBe(false);
  });

  it('when recordFailure is called, then a FAILED event is stored', async () => {
    await recordFailure(log, access('help-failed'));
    expect(await events().countDocuments({ requestId: 'help-failed', outcome: 'FAILED' })).toBe(1);
  });
});

/** An event as the writer is handed it: a refused identity read. */
const deniedRead = (requestId: string): UnchainedEvent => ({
  at: new Date(),
  actor: null,
  action: 'identity.read',
  purpose: 'checkout-verification',
  subjectRef: null,
  subjectRefKeyId: null,
  resource: { route: '/v1/identities/:identityId', id: null },
  fields: [],
  outcome: 'DENIED',
  requestId,
  sourceIp: 'unknown',
});

describe('AuditStore.insertEvents', () => {
  it('when a batch hits a taken position, then it reports the events durable before it and a CONFLICT', async () => {
    const stream = 'store-insert-test';
    let prevHash = GENESIS_HASH;
    const records = Array.from({ length: 4 }, (_, i) => {
      const record = chainEvent(
        deniedRead(`store-${i}`),
        { stream, seq: i + 1, prevHash },
        loadAuditKeys(t.config.keysDir, { generate: false }).eventMacKey,
      );
      prevHash = record.hash;
      return record;
    });
    await events().insertOne({ _id: `${stream}:3`, stream, seq: 3 } as never);

    const outcome = await createAuditStore(t.connection).insertEvents(records);

    expect(outcome.written).toBe(2);
    expect(outcome.failure).toMatchObject({ status: 409, code: 'CONFLICT' });
    expect(await events().countDocuments({ stream, requestId: /^store-/ })).toBe(2);
    await events().deleteMany({ stream });
  });
});

describe('ChainWriter', () => {
  it('when each append is awaited before the next, then every one resolves on one gap-free stream', async () => {
    const writer = new ChainWriter({
      store: createAuditStore(t.connection),
      keys: loadAuditKeys(t.config.keysDir, { generate: false }),
      logger,
      checkpointIntervalMs: 60000,
    });
    // The next append is made while the batch before is still resolving: it must not be left queued.
    for (let i = 0; i < 4; i += 1) await writer.append(deniedRead(`sequential-${i}`));
    const { stream } = writer.position();
    const stored = await events().find({ stream }).sort({ seq: 1 }).toArray();
    expect(stored.map((event) => event.seq)).toEqual([1, 2, 3, 4]);
    await writer.stop();
  });

  it('when a batch hits a taken position, then the events before it resolve and the rest get 503', async () => {
    const keys = loadAuditKeys(t.config.keysDir, { generate: true });
    const writer = new ChainWriter({
      store: createAuditStore(t.connection),
      keys,
      logger,
      checkpointIntervalMs: 60000,
    });
    const { stream } = writer.position();
    await events().insertOne({ _id: `${stream}:3`, stream, seq: 3 } as never);
    const results = await Promise.allSettled(
      // The first append goes alone; the other four queue up and go together as seq 2..5.
      Array.from({ length: 5 }, (_, i) => writer.append(deniedRead(`writer-${i}`))),
    );
    expect(results.map((r) => r.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'rejected',
      'rejected',
    ]);
    expect((results[2] as PromiseRejectedResult).reason).toMatchObject({ status: 503 });
    expect(await events().countDocuments({ stream, requestId: /^writer-/ })).toBe(2);
    expect(writer.position()).toMatchObject({ stream, seq: 2 });
    await events().deleteOne({ _id: `${stream}:3` } as never);
    await writer.stop();
  });
});

it('when every test above has run, then nothing personal is stored in plaintext', async () => {
  await expectNothingStoredInPlaintext(t.connection);
});
