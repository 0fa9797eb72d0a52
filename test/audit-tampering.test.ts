import { createHash, verify as verifySignature, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Connection } from 'mongoose';
import { canonicalEvent } from '../src/audit/audit-canonical';
import { chainEvent, eventHash, GENESIS_HASH } from '../src/audit/audit-chain';
import { CHECKPOINT_PUBLIC_KEY_FILE, loadAuditKeys } from '../src/audit/audit-keys';
import { createAuditStore } from '../src/audit/audit-store';
import { ChainWriter } from '../src/audit/audit-writer';
import { createLogger } from '../src/logger';
import { auth } from './helpers/checkout-fixtures';
import { createTestApp, freshDatabaseName, type TestApp } from './helpers/test-app';

/**
 * The tampering of security review issue 12, each done directly in the
 * database as an attacker with write access would (and, where it says so, an
 * attacker who also stole the event key from KEYS_DIR). Verify is asked
 * through the API of a live instance; each test undoes its tampering and
 * checks the log verifies again.
 */
let live: TestApp;
let auditorKey: string;
let macKey: KeyObject;
/** A stream whose instance stopped cleanly (opened, 6 events, closed). */
let victim: string;
let victimHead: number;
const others: TestApp[] = [];

type Doc = Record<string, unknown>;
const collection = (name: string, connection: Connection = live.connection) =>
  connection.collection<Doc>(name);
const events = () => collection('audit_events');
const ledger = () => collection('audit_checkpoints');
const registry = () => collection('audit_streams');

const verify = () => live.http().get('/v1/audit-events/verify').set(auth(auditorKey));

interface Finding {
  stream: string;
  seq: number;
  reason: string;
}

beforeAll(async () => {
  const DB_NAME = freshDatabaseName();
  live = await createTestApp({ DB_NAME });
  auditorKey = (await live.clientKey('auditor')).apiKey;
  macKey = loadAuditKeys(live.config.keysDir, { generate: false }).eventMacKey;
  const stopped = await createTestApp({ DB_NAME });
  others.push(stopped);
  for (let i = 0; i < 6; i += 1) {
    await stopped.http().get('/v1/audit-events?limit=1').set(auth(auditorKey)).expect(200);
  }
  const last = await events()
    .find({ requestId: { $exists: true } })
    .sort({ at: -1, seq: -1 })
    .next();
  victim = last!.stream as string;
  victimHead = last!.seq as number;
  await stopped.stop();
});

afterAll(async () => {
  for (const app of others) {
    await app.stop();
    await app.connection.close();
  }
  await live.close();
});

/** Everything stored about one stream, to delete and put back. */
async function snapshotOf(stream: string) {
  return {
    events: await events().find({ stream }).toArray(),
    ledger: await ledger().find({ stream }).toArray(),
    registry: await registry()
      .find({ _id: stream as never })
      .toArray(),
  };
}

async function restore(snapshot: Awaited<ReturnType<typeof snapshotOf>>) {
  if (snapshot.events.length) await events().insertMany(snapshot.events);
  if (snapshot.ledger.length) await ledger().insertMany(snapshot.ledger);
  if (snapshot.registry.length) await registry().insertMany(snapshot.registry);
}

/** Three events chained as the writer chains them, hashed by `hashOf`. */
function forgedStream(stream: string, hashOf: (document: Doc) => string, v: number): Doc[] {
  let prevHash = GENESIS_HASH;
  return [1, 2, 3].map((seq) => {
    const document: Doc = {
      ...chainEvent(
        {
          at: new Date(),
          actor: { clientId: 'forger', role: 'auditor', partnerCode: null },
          action: 'audit.read',
          purpose: 'security-review',
          subjectRef: null,
          subjectRefKeyId: null,
          resource: { route: '/v1/audit-events', id: null },
          fields: [],
          outcome: 'SUCCESS',
          requestId: `forged-${seq}`,
          sourceIp: '10.0.0.66',
        },
        { stream, seq, prevHash },
        macKey,
      ),
      v,
    };
    document.hash = hashOf(document);
    prevHash = document.hash as string;
    return { _id: `${stream}:${seq}`, ...document };
  });
}

/** The hash the log used before issue 12: SHA-256 of the canonical event, no key. */
const unkeyed = (document: Doc) =>
  createHash('sha256').update(canonicalEvent(document)).digest('hex');

const reasons = (body: { findings?: Finding[] }) => (body.findings ?? []).map((f) => f.reason);

it('when nothing was touched, then the log verifies with no findings', async () => {
  const result = await verify().expect(200);
  expect(result.body).toMatchObject({ ok: true, findings: [], warnings: [] });
  expect(await ledger().countDocuments({ stream: victim, kind: 'CLOSE', seq: victimHead })).toBe(1);
});

it('when every event, ledger record and registry entry of one stream is deleted, then verify reports the missing records (CHECKPOINT_MISSING)', async () => {
  await verify().expect(200); // the live instance has now seen the whole ledger
  const snapshot = await snapshotOf(victim);
  await events().deleteMany({ stream: victim });
  await ledger().deleteMany({ stream: victim });
  await registry().deleteMany({ _id: victim as never });
  const tampered = await verify().expect(200);
  await restore(snapshot);
  const restored = await verify().expect(200);

  expect(tampered.body.ok).toBe(false);
  expect(reasons(tampered.body)).toContain('CHECKPOINT_MISSING');
  expect(restored.body.ok).toBe(true);
});

it('when a ledger record in the middle is deleted, then verify reports CHECKPOINT_MISSING', async () => {
  // The victim's opening record (seq 0), followed in the ledger by its closing one.
  const [open] = await ledger().find({ stream: victim }).sort({ seq: 1 }).limit(1).toArray();
  await ledger().deleteOne({ _id: open!._id as never });
  const tampered = await verify().expect(200);
  await ledger().insertOne(open!);
  const restored = await verify().expect(200);

  expect(tampered.body.ok).toBe(false);
  expect(tampered.body.findings).toContainEqual(
    expect.objectContaining({ reason: 'CHECKPOINT_MISSING', gseq: open!.gseq }),
  );
  expect(restored.body.ok).toBe(true);
});

it('when a chained 3-event stream with correct unkeyed hashes is inserted, then verify rejects it (HASH_MISMATCH, STREAM_NOT_OPENED)', async () => {
  const stream = '20261201T000000000Z-f0f0f0f0f0f0';
  await events().insertMany(forgedStream(stream, unkeyed, 1));
  const tampered = await verify().expect(200);
  await events().deleteMany({ stream });
  const restored = await verify().expect(200);

  expect(tampered.body.ok).toBe(false);
  expect(tampered.body.findings).toEqual(
    expect.arrayContaining([
      { stream, seq: 1, reason: 'HASH_MISMATCH' },
      { stream, seq: 1, reason: 'STREAM_NOT_OPENED' },
    ]),
  );
  expect(restored.body.ok).toBe(true);
});

it('when the attacker also holds the event key, then a stream the service never opened is still reported (STREAM_NOT_OPENED)', async () => {
  const stream = '20261201T000000000Z-f1f1f1f1f1f1';
  await events().insertMany(forgedStream(stream, (d) => eventHash(d, macKey), 2));
  await registry().insertOne({
    _id: stream as never,
    state: 'OPEN',
    openedAt: new Date(),
    heartbeatAt: new Date(),
  });
  const tampered = await verify().expect(200);
  await events().deleteMany({ stream });
  await registry().deleteOne({ _id: stream as never });
  const restored = await verify().expect(200);

  expect(tampered.body.ok).toBe(false);
  expect(tampered.body.findings).toEqual([{ stream, seq: 1, reason: 'STREAM_NOT_OPENED' }]);
  expect(restored.body.ok).toBe(true);
});

it('when an event with the stolen key is appended after a closed stream, then verify reports EVENTS_AFTER_CLOSE', async () => {
  const last = await events().findOne({ stream: victim, seq: victimHead });
  const forged: Doc = { ...last!, seq: victimHead + 1, prevHash: last!.hash, requestId: 'forged' };
  delete forged._id;
  forged.hash = eventHash(forged, macKey);
  await events().insertOne({ _id: `${victim}:${victimHead + 1}` as never, ...forged });
  const tampered = await verify().expect(200);
  await events().deleteOne({ _id: `${victim}:${victimHead + 1}` as never });
  const restored = await verify().expect(200);

  expect(tampered.body.ok).toBe(false);
  expect(tampered.body.firstInvalid).toEqual({
    stream: victim,
    seq: victimHead + 1,
    reason: 'EVENTS_AFTER_CLOSE',
  });
  expect(restored.body.ok).toBe(true);
});

it('when an instance dies with events past its last checkpoint, then the next start seals them and a later cut or rewrite is caught', async () => {
  // A writer that opened its stream, appended and died: no closing record, no later checkpoint.
  const keys = loadAuditKeys(live.config.keysDir, { generate: false });
  const crashed = new ChainWriter({
    store: createAuditStore(live.connection),
    keys,
    logger: createLogger('silent'),
    checkpointIntervalMs: 60000,
  });
  const { stream } = crashed.position();
  const appends = Array.from({ length: 8 }, (_, i) =>
    crashed.append({
      at: new Date(),
      actor: null,
      action: 'identity.read',
      purpose: 'delivery',
      subjectRef: null,
      subjectRefKeyId: null,
      resource: { route: '/v1/identities/:identityId', id: null },
      fields: [],
      outcome: 'DENIED',
      requestId: `crashed-${i}`,
      sourceIp: '10.0.0.9',
    }),
  );
  await Promise.all(appends);
  // Its heartbeat stopped long ago (as if the database died with it).
  await registry().updateOne(
    { _id: stream as never },
    { $set: { heartbeatAt: new Date(Date.now() - 3600_000) } },
  );
  const restarted = await createTestApp({ DB_NAME: live.connection.name });
  others.push(restarted);

  const sealed = await verify().expect(200);
  const sealing = await ledger().findOne({ stream, kind: 'SEALED_AFTER_CRASH' });

  const tail = await events()
    .find({ stream, seq: { $gte: 5 } })
    .toArray();
  await events().deleteMany({ stream, seq: { $gte: 5 } });
  const cut = await verify().expect(200);
  await events().insertMany(tail);

  const sixth = tail.find((event) => event.seq === 6)!;
  const rewritten: Doc = { ...sixth, outcome: 'SUCCESS' };
  rewritten.hash = unkeyed(rewritten);
  await events().replaceOne({ _id: sixth._id as never }, rewritten);
  const edited = await verify().expect(200);
  await events().replaceOne({ _id: sixth._id as never }, sixth);
  const restored = await verify().expect(200);

  expect(cut.body.ok).toBe(false);
  expect(cut.body.findings).toEqual([{ stream, seq: 5, reason: 'TRUNCATED' }]);
  expect(edited.body.ok).toBe(false);
  expect(edited.body.findings).toEqual([{ stream, seq: 6, reason: 'HASH_MISMATCH' }]);
  expect(restored.body.ok).toBe(true);
  // Sealed, yet reported: a cut made before the seal would not have been detectable.
  expect(sealing).toMatchObject({ seq: 8 });
  expect(sealed.body.ok).toBe(true);
  expect(sealed.body.warnings).toEqual([{ stream, seq: 1, toSeq: 8, reason: 'UNPROTECTED_TAIL' }]);
});

it('when AUDIT_CHECKPOINT_EVERY events are appended, then a checkpoint follows, so the unprotected tail stays within it', async () => {
  const app = await createTestApp({ DB_NAME: live.connection.name, AUDIT_CHECKPOINT_EVERY: '5' });
  others.push(app);
  for (let i = 0; i < 12; i += 1) {
    await app.http().get('/v1/audit-events?limit=1').set(auth(auditorKey)).expect(200);
  }
  const { stream } = (await events().findOne(
    { requestId: { $exists: true } },
    { sort: { at: -1, seq: -1 } },
  ))!;
  const checkpoints = await ledger()
    .find({ stream, kind: 'CHECKPOINT' })
    .sort({ gseq: 1 })
    .toArray();
  expect(checkpoints.map((checkpoint) => checkpoint.seq)).toEqual([5, 10]);
  expect(await events().countDocuments({ stream })).toBe(12);
});

it('when an auditor asks for the head, then it is the latest ledger record and its signature verifies with the public key alone', async () => {
  const response = await live.http().get('/v1/audit-events/head').set(auth(auditorKey)).expect(200);
  const latest = await ledger().find().sort({ gseq: -1 }).limit(1).next();
  expect(response.body).toMatchObject({ gseq: latest!.gseq, kind: latest!.kind, alg: 'Ed25519' });
  const publicKey = fs.readFileSync(
    path.join(live.config.keysDir, CHECKPOINT_PUBLIC_KEY_FILE),
    'utf8',
  );
  const { gseq, prev, kind, stream, seq, hash, at, keyId } = response.body;
  const payload = JSON.stringify({ at, gseq, hash, keyId, kind, prev, seq, stream });
  expect(
    verifySignature(
      null,
      Buffer.from(payload),
      publicKey,
      Buffer.from(response.body.signature, 'base64'),
    ),
  ).toBe(true);
  expect(response.body.digest).toBe(createHash('sha256').update(payload).digest('hex'));

  const checkout = (await live.clientKey('checkout')).apiKey;
  await live.http().get('/v1/audit-events/head').set(auth(checkout)).expect(403);
  const openapi = await live.http().get('/openapi.json').expect(200);
  expect(openapi.body.paths['/v1/audit-events/head'].get['x-roles']).toEqual(['auditor']);
});

it('when an event with a correct unkeyed hash is appended after the live stream, then verify names it (HASH_MISMATCH) and does not list it as genuine', async () => {
  await live.http().get('/v1/audit-events?limit=1').set(auth(auditorKey)).expect(200);
  const last = await events()
    .find({ requestId: { $exists: true } })
    .sort({ at: -1, seq: -1 })
    .next();
  const forged: Doc = {
    ...last!,
    seq: (last!.seq as number) + 1,
    prevHash: last!.hash,
    requestId: 'forged-live',
  };
  delete forged._id;
  forged.hash = unkeyed(forged);
  const id = `${last!.stream}:${forged.seq}`;
  await events().insertOne({ _id: id as never, ...forged });
  // The live writer's next append hits the forged position: 503, and it moves to a fresh stream.
  await verify().expect(503);
  const tampered = await verify().expect(200);
  await events().deleteOne({ _id: id as never });
  const restored = await verify().expect(200);

  expect(tampered.body.ok).toBe(false);
  expect(tampered.body.findings).toContainEqual({
    stream: last!.stream,
    seq: forged.seq,
    reason: 'HASH_MISMATCH',
  });
  expect(restored.body.ok).toBe(true);
});

describe('a stream opened on a copy of the database', () => {
  it('when its events and registry entry are copied back in, then verify reports STREAM_NOT_OPENED', async () => {
    const original = await createTestApp();
    const copyName = freshDatabaseName();
    const copy = await (async () => {
      for (const { name } of await original.connection.db!.listCollections().toArray()) {
        const documents = await collection(name, original.connection).find().toArray();
        const target = original.connection.getClient().db(copyName).collection<Doc>(name);
        if (documents.length) await target.insertMany(documents);
      }
      return createTestApp({ DB_NAME: copyName });
    })();
    const key = (await copy.clientKey('auditor')).apiKey;
    await copy.http().get('/v1/audit-events?limit=1').set(auth(key)).expect(200);
    await copy.stop();
    // Meanwhile the original's ledger moved on: another instance started and stopped.
    const other = await createTestApp({ DB_NAME: original.connection.name });
    await other.stop();
    await other.connection.close();

    const originalKey = (await original.clientKey('auditor')).apiKey;
    const before = await original.http().get('/v1/audit-events/verify').set(auth(originalKey));
    const stream = (await collection('audit_events', copy.connection).findOne(
      { requestId: { $exists: true } },
      { sort: { at: -1, seq: -1 } },
    ))!.stream as string;
    const into = (name: string) => ({
      insertMany: async (documents: Doc[], options = {}) =>
        documents.length > 0
          ? collection(name, original.connection).insertMany(documents, options)
          : null,
    });
    await into('audit_events').insertMany(
      await collection('audit_events', copy.connection).find({ stream }).toArray(),
    );
    await into('audit_streams').insertMany(
      await collection('audit_streams', copy.connection)
        .find({ _id: stream as never })
        .toArray(),
    );
    // Its ledger records cannot be copied: their positions are taken in the original.
    await into('audit_checkpoints')
      .insertMany(
        await collection('audit_checkpoints', copy.connection).find({ stream }).toArray(),
        {
          ordered: false,
        },
      )
      .catch(() => undefined);
    const after = await original.http().get('/v1/audit-events/verify').set(auth(originalKey));
    await copy.connection.dropDatabase();
    await copy.connection.close();
    await original.close();

    expect(before.body.ok).toBe(true);
    expect(after.body.ok).toBe(false);
    expect(after.body.findings).toContainEqual(
      expect.objectContaining({ stream, reason: 'STREAM_NOT_OPENED' }),
    );
  });
});
