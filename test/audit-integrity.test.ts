import type { KeyObject } from 'node:crypto';
import { eventHash } from '../src/audit/audit-chain';
import { loadAuditKeys } from '../src/audit/audit-keys';
import { auth } from './helpers/checkout-fixtures';
import { createTestApp, freshDatabaseName, type TestApp } from './helpers/test-app';
import { expectNothingStoredInPlaintext } from './helpers/plaintext-scan';

/**
 * Tampering is done directly in the database, as an attacker with database
 * access would, on the stream of an instance that has stopped (so no append
 * races the tampering); verify is asked through the API of a live instance.
 */
let live: TestApp;
let stopped: TestApp;
let auditorKey: string;
let stream: string;
let head: number;
/** The event key, for the tests of an attacker who also stole it from KEYS_DIR. */
let macKey: KeyObject;

const events = () => live.connection.collection('audit_events');
const checkpoints = () => live.connection.collection('audit_checkpoints');

beforeAll(async () => {
  const DB_NAME = freshDatabaseName();
  live = await createTestApp({ DB_NAME });
  stopped = await createTestApp({ DB_NAME });
  auditorKey = (await live.clientKey('auditor')).apiKey;
  macKey = loadAuditKeys(live.config.keysDir, { generate: false }).eventMacKey;
  for (let i = 0; i < 12; i += 1) {
    await stopped.http().get('/v1/audit-events').set(auth(auditorKey)).expect(200);
  }
  ({ stream, seq: head } = positionOf(
    await stopped.connection.collection('audit_events').find().toArray(),
  ));
  await stopped.stop(); // writes its final signed checkpoint at `head`
});

afterAll(async () => {
  await stopped.connection.close();
  await live.close();
});

function positionOf(documents: Array<Record<string, unknown>>): { stream: string; seq: number } {
  type Position = { stream: string; seq: number };
  const last = (documents as Position[]).reduce((a, b) => (a.seq >= b.seq ? a : b));
  return { stream: last.stream, seq: last.seq };
}

async function eventAt(seq: number) {
  const found = await events().findOne({ stream, seq });
  if (!found) throw new Error(`no event ${seq}`);
  return found;
}

/** GET /v1/audit-events/verify on the live instance. */
const verify = () => live.http().get('/v1/audit-events/verify').set(auth(auditorKey));

/** Tampers, asks verify, undoes the tampering and asks verify again; returns both answers. */
async function tamper(action: () => Promise<void>, undo: () => Promise<void>) {
  await action();
  const tampered = await verify();
  await undo();
  const restored = await verify();
  return { tampered, restored };
}

it('when nothing was touched, then both streams verify', async () => {
  const result = await verify().expect(200);
  expect(result.body).toMatchObject({ ok: true });
  expect(result.body.checked).toBeGreaterThanOrEqual(head);
  expect(await checkpoints().findOne({ stream, seq: head })).not.toBeNull();
});

it('when a field of an event is edited, then verify names that event (HASH_MISMATCH)', async () => {
  const original = await eventAt(5);
  const { tampered, restored } = await tamper(
    async () => {
      await events().updateOne({ _id: original._id }, { $set: { 'actor.role': 'admin' } });
    },
    async () => {
      await events().replaceOne({ _id: original._id }, original);
    },
  );
  expect([tampered.status, restored.status]).toEqual([200, 200]);
  expect(tampered.body).toMatchObject({
    ok: false,
    firstInvalid: { stream, seq: 5, reason: 'HASH_MISMATCH' },
  });
  expect(restored.body.ok).toBe(true);
});

it('when a field is added to an event, then verify names that event', async () => {
  const original = await eventAt(3);
  const { tampered, restored } = await tamper(
    async () => {
      await events().updateOne({ _id: original._id }, { $set: { note: 'x' } });
    },
    async () => {
      await events().replaceOne({ _id: original._id }, original);
    },
  );
  expect([tampered.status, restored.status]).toEqual([200, 200]);
  expect(tampered.body.firstInvalid).toEqual({ stream, seq: 3, reason: 'HASH_MISMATCH' });
  expect(restored.body.ok).toBe(true);
});

it('when an event is edited and its keyed hash recomputed with the stolen key, then verify names the next event (CHAIN_BROKEN)', async () => {
  const original = await eventAt(5);
  const { tampered, restored } = await tamper(
    async () => {
      const edited: Record<string, unknown> = { ...original, outcome: 'DENIED' };
      edited.hash = eventHash(edited, macKey);
      await events().replaceOne({ _id: original._id }, edited);
    },
    async () => {
      await events().replaceOne({ _id: original._id }, original);
    },
  );
  expect([tampered.status, restored.status]).toEqual([200, 200]);
  expect(tampered.body.firstInvalid).toEqual({ stream, seq: 6, reason: 'CHAIN_BROKEN' });
  expect(restored.body.ok).toBe(true);
});

it('when the rest of the chain is rewritten consistently with the stolen key, then the signed closing record catches it', async () => {
  const originals = await events()
    .find({ stream, seq: { $gte: 5 } })
    .sort({ seq: 1 })
    .toArray();
  const { tampered, restored } = await tamper(
    async () => {
      let prevHash = (await eventAt(4)).hash as string;
      for (const original of originals) {
        const forged: Record<string, unknown> = { ...original, prevHash };
        if (original.seq === 5) forged.outcome = 'DENIED';
        forged.hash = eventHash(forged, macKey);
        prevHash = forged.hash as string;
        await events().replaceOne({ _id: original._id }, forged);
      }
    },
    async () => {
      for (const original of originals) await events().replaceOne({ _id: original._id }, original);
    },
  );
  expect([tampered.status, restored.status]).toEqual([200, 200]);
  expect(tampered.body.firstInvalid).toEqual({ stream, seq: head, reason: 'CHECKPOINT_MISMATCH' });
  expect(restored.body.ok).toBe(true);
});

it('when an event is deleted, then verify names the missing seq (SEQUENCE_GAP)', async () => {
  const original = await eventAt(7);
  const { tampered, restored } = await tamper(
    async () => {
      await events().deleteOne({ _id: original._id });
    },
    async () => {
      await events().insertOne(original);
    },
  );
  expect([tampered.status, restored.status]).toEqual([200, 200]);
  expect(tampered.body.firstInvalid).toEqual({ stream, seq: 7, reason: 'SEQUENCE_GAP' });
  expect(restored.body.ok).toBe(true);
});

it('when the first event is deleted, then verify names seq 1', async () => {
  const original = await eventAt(1);
  const { tampered, restored } = await tamper(
    async () => {
      await events().deleteOne({ _id: original._id });
    },
    async () => {
      await events().insertOne(original);
    },
  );
  expect([tampered.status, restored.status]).toEqual([200, 200]);
  expect(tampered.body.firstInvalid).toEqual({ stream, seq: 1, reason: 'SEQUENCE_GAP' });
  expect(restored.body.ok).toBe(true);
});

it('when two events are swapped, then verify names the first of the two', async () => {
  const fourth = await eventAt(4);
  const fifth = await eventAt(5);
  const { tampered, restored } = await tamper(
    async () => {
      await events().deleteMany({ _id: { $in: [fourth._id, fifth._id] } });
      await events().insertMany([
        { ...fifth, _id: fourth._id, seq: 4 },
        { ...fourth, _id: fifth._id, seq: 5 },
      ] as never[]);
    },
    async () => {
      await events().deleteMany({ _id: { $in: [fourth._id, fifth._id] } });
      await events().insertMany([fourth, fifth]);
    },
  );
  expect([tampered.status, restored.status]).toEqual([200, 200]);
  expect(tampered.body.firstInvalid).toEqual({ stream, seq: 4, reason: 'HASH_MISMATCH' });
  expect(restored.body.ok).toBe(true);
});

it('when the tail of a stream is cut, then the signed checkpoint reveals it (TRUNCATED)', async () => {
  const tail = await events()
    .find({ stream, seq: { $gt: head - 2 } })
    .toArray();
  expect(tail).toHaveLength(2);
  const { tampered, restored } = await tamper(
    async () => {
      await events().deleteMany({ stream, seq: { $gt: head - 2 } });
    },
    async () => {
      await events().insertMany(tail);
    },
  );
  expect([tampered.status, restored.status]).toEqual([200, 200]);
  expect(tampered.body.firstInvalid).toEqual({ stream, seq: head - 1, reason: 'TRUNCATED' });
  expect(restored.body.ok).toBe(true);
});

it('when a checkpoint is altered, then its signature no longer verifies', async () => {
  const original = await checkpoints().findOne({ stream, seq: head });
  const { tampered, restored } = await tamper(
    async () => {
      await checkpoints().updateOne({ _id: original!._id }, { $set: { seq: head - 2 } });
    },
    async () => {
      await checkpoints().replaceOne({ _id: original!._id }, original!);
    },
  );
  expect([tampered.status, restored.status]).toEqual([200, 200]);
  expect(tampered.body.firstInvalid).toEqual({
    stream,
    seq: head - 2,
    reason: 'CHECKPOINT_SIGNATURE_INVALID',
  });
  expect(restored.body.ok).toBe(true);
});

it('when the live stream is edited, then verify names that event too', async () => {
  const own = await events().findOne({ stream: { $ne: stream } }, { sort: { seq: 1 } });
  const { tampered, restored } = await tamper(
    async () => {
      await events().updateOne({ _id: own!._id }, { $set: { requestId: 'forged' } });
    },
    async () => {
      await events().replaceOne({ _id: own!._id }, own!);
    },
  );
  expect([tampered.status, restored.status]).toEqual([200, 200]);
  expect(tampered.body.firstInvalid).toEqual({
    stream: own!.stream,
    seq: own!.seq,
    reason: 'HASH_MISMATCH',
  });
  expect(restored.body.ok).toBe(true);
});

it('when every test above has run, then nothing personal is stored in plaintext', async () => {
  await expectNothingStoredInPlaintext(live.connection);
});
