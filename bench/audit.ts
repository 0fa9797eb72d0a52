/**
 * `npm run bench:audit [-- --append 20000 --concurrency 64 --verify 100000 --sizes 100000,1000000 --queries 40
 *   --console-events 100000 --console-requests 60]`
 *
 * 1. Append throughput: record() through the chained, group-committed writer,
 *    against plain inserts of the same documents (per-event insertOne, and
 *    batched insertMany), same concurrency, same indexes, same run.
 * 2. Verify speed over N events (end to end through the database, and the
 *    hashing alone).
 * 3. Filtered query latency (p50/p95) at each size in --sizes.
 * 4. The console's queries end to end over HTTP (search by person, lists by
 *    actor, action+outcome and time, alert listing) at --console-events
 *    events, --console-requests each, against the 200 ms p95 budget
 *    (bench/audit-console.ts). `--append 0 --verify 0 --sizes 0` runs it alone;
 *    `--console-events 0` skips it.
 *
 * Uses MONGODB_URI when set, else starts the embedded engine (EMBEDDED_DB).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { mongo } from 'mongoose';
import { createAccessLog } from '../src/audit/access-log';
import {
  chainEvent,
  ChainVerifier,
  checkpointDigest,
  checkpointPayload,
  GENESIS_HASH,
  type AuditEventRecord,
  type CheckpointBody,
  type UnchainedEvent,
} from '../src/audit/audit-chain';
import { loadAuditKeys, type AuditKeys } from '../src/audit/audit-keys';
import { createAuditStore, type EventFilter } from '../src/audit/audit-store';
import { createSubjectPseudonym, toEvent } from '../src/audit/audit-event';
import { AUDIT_ACTIONS, type AccessEventInput } from '../src/audit/audit-types';
import { verifyLog } from '../src/audit/audit-verify';
import { connectDatabase } from '../src/db/connection';
import { consoleQueryBenchmark } from './audit-console';
import { openBenchDatabase } from './bench-database';
import { createLogger } from '../src/logger';
import type { Role } from '../src/http/route';
import { percentile } from './bench-http';

function flag(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && process.argv[index + 1] ? process.argv[index + 1]! : fallback;
}
const APPEND = Number(flag('append', '20000'));
const CONCURRENCY = Number(flag('concurrency', '64'));
const VERIFY = Number(flag('verify', '100000'));
const SIZES = flag('sizes', '100000,1000000').split(',').map(Number);
const QUERIES = Number(flag('queries', '40'));
const CONSOLE_EVENTS = Number(flag('console-events', '100000'));
const CONSOLE_REQUESTS = Number(flag('console-requests', '60'));

const logger = createLogger('silent');
const print = (line: string) => process.stdout.write(`${line}\n`);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** A deterministic pseudo-random sequence, so runs are comparable. */
function rng(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const ROLES: Role[] = ['checkout', 'customs', 'carrier', 'auditor'];
const ACTOR_COUNT = 200;
const SUBJECT_COUNT = 20000;
const actorId = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
const identityId = (i: number) => `11111111-0000-4000-8000-${String(i).padStart(12, '0')}`;

function randomInput(random: () => number, requestNo: number): AccessEventInput {
  const actor = Math.floor(random() * ACTOR_COUNT);
  const role = ROLES[actor % ROLES.length]!;
  const roll = random();
  return {
    context: {
      actor: {
        clientId: actorId(actor),
        role,
        partnerCode: role === 'customs' || role === 'carrier' ? `P${actor}` : null,
      },
      requestId: `bench-${requestNo}`,
      sourceIp: `10.0.${actor % 250}.${(actor * 7) % 250}`,
      route: '/v1/identities/:identityId',
    },
    action: AUDIT_ACTIONS[Math.floor(random() * 9)]!,
    purpose: 'customs-clearance',
    outcome: roll < 0.9 ? 'SUCCESS' : roll < 0.97 ? 'DENIED' : 'FAILED',
    identityId: identityId(Math.floor(random() * SUBJECT_COUNT)),
    resourceId: `r-${requestNo}`,
    fields: ['name', 'idNumber', 'phone'],
  };
}

async function runWorkers(total: number, concurrency: number, work: (i: number) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < total) await work(next++);
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return (performance.now() - started) / 1000;
}

/** Plain group commit: the same batching as the writer, without chain, hash or checks. */
function plainBatcher(collection: mongo.Collection<mongo.Document>) {
  const queue: { doc: mongo.Document; done: () => void; fail: (e: unknown) => void }[] = [];
  let flushing: Promise<void> | null = null;
  const flush = async () => {
    while (queue.length > 0) {
      const batch = queue.splice(0, 500);
      try {
        await collection.insertMany(
          batch.map((b) => b.doc),
          { ordered: true, writeConcern: { w: 'majority', j: true } },
        );
        batch.forEach((b) => b.done());
      } catch (error) {
        batch.forEach((b) => b.fail(error));
      }
    }
  };
  return (doc: mongo.Document) =>
    new Promise<void>((done, fail) => {
      queue.push({ doc, done, fail });
      if (!flushing) flushing = flush().finally(() => (flushing = null));
    });
}

async function appendBenchmark(uri: string, keysDir: string) {
  const connection = await connectDatabase(uri, {
    dbName: `bench_audit_append_${process.pid}`,
    timeoutMs: 10000,
  });
  try {
    const config = {
      env: 'development' as const,
      keysDir,
      auditCheckpointIntervalMs: 60000,
      auditCheckpointEvery: 1000,
      auditStreamStaleMs: 300000,
      auditRefusalWindowMs: 60000,
    };
    const log = createAccessLog({ connection, config, logger });
    await log.ensureIndexes();
    const random = rng(7);
    const inputs = Array.from({ length: APPEND }, (_, i) => randomInput(random, i));
    // Warm-up (JIT, connection pool), not counted.
    await runWorkers(500, CONCURRENCY, (i) => log.record(inputs[i]!));

    // The same documents for the plain inserts: the chained writer's output for the same inputs.
    const keys = loadAuditKeys(keysDir, { generate: false });
    const pseudonym = createSubjectPseudonym(keys);
    let prevHash = GENESIS_HASH;
    const docs = inputs.map((input, i) => {
      const record = chainEvent(
        toEvent(input, pseudonym),
        { stream: 'plain', seq: i + 1, prevHash },
        keys.eventMacKey,
      );
      prevHash = record.hash;
      return { _id: `plain:${i + 1}`, ...record };
    });

    const indexes = await connection.collection('audit_events').indexes();
    const plainCollection = async (name: string) => {
      const collection = connection.collection(name) as unknown as mongo.Collection<mongo.Document>;
      await collection.insertOne({ warm: true });
      await collection.deleteMany({});
      for (const index of indexes) {
        if (index.name === '_id_') continue;
        await collection.createIndex(index.key, {
          name: index.name,
          unique: index.unique ?? false,
        });
      }
      return collection;
    };
    const batched = await plainCollection('bench_plain_batched');
    const insert = plainBatcher(batched);

    // Alternating rounds, so neither side gets the emptier collection or the quieter machine.
    const ROUNDS = 4;
    const perRound = Math.floor(APPEND / ROUNDS);
    let chainedSeconds = 0;
    let batchedSeconds = 0;
    for (let round = 0; round < ROUNDS; round += 1) {
      const offset = round * perRound;
      const chained = () =>
        runWorkers(perRound, CONCURRENCY, (i) => log.record(inputs[offset + i]!));
      const plain = () =>
        runWorkers(perRound, CONCURRENCY, (i) => insert({ ...docs[offset + i]! }));
      if (round % 2 === 0) {
        chainedSeconds += await chained();
        batchedSeconds += await plain();
      } else {
        batchedSeconds += await plain();
        chainedSeconds += await chained();
      }
    }
    await log.stop();

    const single = await plainCollection('bench_plain_single');
    const singleCount = perRound * ROUNDS;
    const singleSeconds = await runWorkers(singleCount, CONCURRENCY, async (i) => {
      await single.insertOne({ ...docs[i]! } as never, {
        writeConcern: { w: 'majority', j: true },
      });
    });

    const rate = (seconds: number) => singleCount / seconds;
    print(
      `append: ${fmt(singleCount)} events each way, ${CONCURRENCY} concurrent callers, ${ROUNDS} alternating rounds`,
    );
    print(
      `  chained record() (validate + HMAC + chain + group commit): ${fmt(rate(chainedSeconds))} events/s`,
    );
    print(
      `  plain insertOne per event, same documents:               ${fmt(rate(singleSeconds))} events/s`,
    );
    print(
      `  plain insertMany group commit, same documents:           ${fmt(rate(batchedSeconds))} events/s`,
    );
    print(`  ratio chained / plain insertOne:   ${(singleSeconds / chainedSeconds).toFixed(2)}`);
    print(`  ratio chained / plain insertMany:  ${(batchedSeconds / chainedSeconds).toFixed(2)}`);
  } finally {
    await connection.dropDatabase().catch(() => undefined);
    await connection.close();
  }
}

/** Bulk-loads `count` chained events (4 streams, 1 year of times) with signed checkpoints every 10k. */
async function loadEvents(
  store: ReturnType<typeof createAuditStore>,
  keys: AuditKeys,
  connection: Awaited<ReturnType<typeof connectDatabase>>,
  from: number,
  to: number,
  heads: Map<string, { seq: number; hash: string }>,
) {
  const pseudonym = createSubjectPseudonym(keys);
  const random = rng(1000 + from);
  const yearMs = 365 * 24 * 3600 * 1000;
  const start = Date.UTC(2025, 0, 1);
  const streams = [
    '20250101T000000000Z-aaaaaaaaaaaa',
    '20250101T000000000Z-bbbbbbbbbbbb',
    '20250101T000000000Z-cccccccccccc',
    '20250101T000000000Z-dddddddddddd',
  ];
  const batch: AuditEventRecord[] = [];
  const started = performance.now();
  for (let i = from; i < to; i += 1) {
    const stream = streams[i % streams.length]!;
    if (!heads.has(stream)) {
      await store.registerStream(stream, new Date());
      await appendLedger(store, keys, 'OPEN', { stream, seq: 0, hash: GENESIS_HASH });
    }
    const head = heads.get(stream) ?? { seq: 0, hash: GENESIS_HASH };
    const input = randomInput(random, i);
    const at = new Date(start + Math.floor((i / 1_000_000) * yearMs));
    const event: UnchainedEvent = {
      at,
      actor: input.context.actor,
      action: input.action,
      purpose: input.purpose,
      subjectRef: pseudonym.subjectRef(input.identityId!),
      subjectRefKeyId: pseudonym.keyId,
      resource: { route: input.context.route, id: input.resourceId! },
      fields: [...input.fields],
      outcome: input.outcome,
      requestId: input.context.requestId,
      sourceIp: input.context.sourceIp,
    };
    const record = chainEvent(
      event,
      { stream, seq: head.seq + 1, prevHash: head.hash },
      keys.eventMacKey,
    );
    heads.set(stream, { seq: record.seq, hash: record.hash });
    batch.push(record);
    if (batch.length === 2000 || i === to - 1) {
      const { failure } = await store.insertEvents(batch.splice(0));
      if (failure) throw failure;
    }
    if ((i + 1) % 10000 === 0 || i === to - 1) {
      for (const [name, position] of heads) {
        await appendLedger(store, keys, 'CHECKPOINT', { stream: name, ...position });
      }
    }
  }
  const seconds = (performance.now() - started) / 1000;
  print(
    `  loaded ${fmt(to - from)} events in ${seconds.toFixed(1)} s (${fmt((to - from) / seconds)} events/s bulk)`,
  );
}

/** One signed ledger record after the current head, as the writer makes them. */
async function appendLedger(
  store: ReturnType<typeof createAuditStore>,
  keys: AuditKeys,
  kind: CheckpointBody['kind'],
  position: { stream: string; seq: number; hash: string },
) {
  const previous = await store.headCheckpoint();
  const body: CheckpointBody = {
    gseq: (previous?.gseq ?? 0) + 1,
    prev: previous ? checkpointDigest(previous) : GENESIS_HASH,
    kind,
    ...position,
    at: new Date(),
    keyId: keys.checkpointSigner.keyId,
  };
  // The writer's own signer: a file key, an SM2 key under gm, or the token's key under pkcs11.
  const signature = await keys.checkpointSigner.sign(checkpointPayload(body));
  await store.insertCheckpoint({
    ...body,
    alg: keys.checkpointSigner.alg,
    signature: signature.toString('base64'),
  });
}

async function queryBenchmark(
  store: ReturnType<typeof createAuditStore>,
  keys: AuditKeys,
  size: number,
) {
  const pseudonym = createSubjectPseudonym(keys);
  const random = rng(99);
  const kinds: Array<[string, () => EventFilter]> = [
    ['actorId', () => ({ actorId: actorId(Math.floor(random() * ACTOR_COUNT)) })],
    [
      'identityId',
      () => ({
        subjectRef: pseudonym.subjectRef(identityId(Math.floor(random() * SUBJECT_COUNT))),
      }),
    ],
    [
      'action+outcome',
      () => ({ action: AUDIT_ACTIONS[Math.floor(random() * 9)]!, outcome: 'DENIED' }),
    ],
    [
      'one-day window',
      () => {
        const from = new Date(Date.UTC(2025, 0, 1) + Math.floor(random() * 300) * 86400000);
        return { from, to: new Date(from.getTime() + 86400000) };
      },
    ],
  ];
  const all: number[] = [];
  const perKind = new Map<string, number[]>();
  for (let i = 0; i < QUERIES; i += 1) {
    const [kind, make] = kinds[i % kinds.length]!;
    const filter = make();
    const started = performance.now();
    await store.findPage(filter, null, 51);
    const ms = performance.now() - started;
    all.push(ms);
    perKind.set(kind, [...(perKind.get(kind) ?? []), ms]);
  }
  all.sort((a, b) => a - b);
  print(
    `query latency at ${fmt(size)} events (${QUERIES} filtered first pages of 50, mixed filters):`,
  );
  print(`  p50 ${percentile(all, 50).toFixed(1)} ms, p95 ${percentile(all, 95).toFixed(1)} ms`);
  for (const [kind, values] of perKind) {
    values.sort((a, b) => a - b);
    print(
      `    ${kind.padEnd(15)} p50 ${percentile(values, 50).toFixed(1)} ms, max ${values[values.length - 1]!.toFixed(1)} ms`,
    );
  }
}

async function verifyBenchmark(
  store: ReturnType<typeof createAuditStore>,
  keys: AuditKeys,
  count: number,
) {
  const started = performance.now();
  const result = await verifyLog(store, keys);
  const seconds = (performance.now() - started) / 1000;
  if (!result.ok || result.checked !== count)
    throw new Error(`verify failed: ${JSON.stringify(result)}`);

  // The hashing alone, on the same documents already in memory.
  const readStarted = performance.now();
  const documents: AuditEventRecord[] = [];
  for await (const batch of store.chainBatches(5000)) documents.push(...batch);
  const readSeconds = (performance.now() - readStarted) / 1000;
  const hashStarted = performance.now();
  const verifier = new ChainVerifier(keys.eventMacKey);
  for (const document of documents) verifier.add(document);
  const hashSeconds = (performance.now() - hashStarted) / 1000;
  if (verifier.findings.length > 0) throw new Error('in-memory verify failed');

  print(`verify over ${fmt(count)} events:`);
  print(
    `  end to end (read from the database + check): ${fmt(count / seconds)} events/s (${seconds.toFixed(2)} s)`,
  );
  print(
    `  reading alone (same query, no checks): ${fmt(count / readSeconds)} events/s (${readSeconds.toFixed(2)} s)`,
  );
  print(
    `  checking alone (canonical JSON + SHA-256 + chain), in memory: ${fmt(count / hashSeconds)} events/s`,
  );
}

async function main() {
  const database = await openBenchDatabase('audit');
  const uri = database.uri;
  const stopDatabase = () => database.stop();
  print(`database: ${database.label}`);
  print(`machine: ${os.cpus().length} cores, node ${process.version}`);
  const keysDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-audit-keys-'));
  try {
    if (APPEND > 0) await appendBenchmark(uri, keysDir);

    const keys = loadAuditKeys(keysDir, { generate: true });
    const connection = await connectDatabase(uri, {
      dbName: `bench_audit_log_${process.pid}`,
      timeoutMs: 10000,
    });
    try {
      const store = createAuditStore(connection);
      await store.ensureIndexes();
      const heads = new Map<string, { seq: number; hash: string }>();
      let loaded = 0;
      const targets = [...new Set([VERIFY, ...SIZES])].filter((n) => n > 0).sort((a, b) => a - b);
      for (const target of targets) {
        print(`loading up to ${fmt(target)} events`);
        await loadEvents(store, keys, connection, loaded, target, heads);
        loaded = target;
        if (target === VERIFY) await verifyBenchmark(store, keys, target);
        if (SIZES.includes(target)) await queryBenchmark(store, keys, target);
      }
    } finally {
      await connection.dropDatabase().catch(() => undefined);
      await connection.close();
    }
    if (CONSOLE_EVENTS > 0) await consoleQueryBenchmark(uri, CONSOLE_EVENTS, CONSOLE_REQUESTS);
  } finally {
    fs.rmSync(keysDir, { recursive: true, force: true });
    await stopDatabase();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench:audit failed: ${error instanceof Error ? error.stack : String(error)}\n`,
  );
  process.exit(1);
});
