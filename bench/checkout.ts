/**
 * `npm run bench:checkout [-- --duration 10 --connections 32 --buyers 200 --sizes 10000,100000
 *   --quota-requests 500 --quota-connections 2 --only verify,floor,quota --profile FILE]`
 *
 * 1. POST /v1/checkout/verify throughput and p50/p99 latency at 32
 *    connections (unique order per request, spread over --buyers registered
 *    buyers), against a floor route in the same process that does the same
 *    number of database writes through the raw driver with no validation,
 *    authentication or crypto. The floor is mounted here only, never in the
 *    product. Prints the ratio verify/floor.
 * 2. Quota-check latency (GET /v1/identities/{id}/quota, and the ledger read
 *    alone) with the ledger holding each size in --sizes buyers. Prints the
 *    ratio largest/smallest.
 *
 * Each load run also prints the CPU time per request spent in this process
 * (service and load generator) and in the embedded engine's process.
 *
 * Uses MONGODB_URI when set, else starts the embedded engine (EMBEDDED_DB).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import express from 'express';
import type { Connection } from 'mongoose';
import { createApp } from '../src/app';
import { loadConfig } from '../src/config';
import { connectDatabase } from '../src/db/connection';
import { openBenchDatabase } from './bench-database';
import { cpuPerRequest, startCpuMeter } from './cpu-meter';
import { withCpuProfile } from './cpu-profile';
import { createLogger } from '../src/logger';
import { createLedgerService } from '../src/quota/ledger-service';
import { createLedgerStore } from '../src/quota/ledger-store';
import { loadPolicy } from '../src/quota/policy';
import { listen } from './bench-http';

function flag(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && process.argv[index + 1] ? process.argv[index + 1]! : fallback;
}
const DURATION = Number(flag('duration', '10'));
const CONNECTIONS = Number(flag('connections', '32'));
const BUYERS = Number(flag('buyers', '200'));
const SIZES = flag('sizes', '10000,100000')
  .split(',')
  .map(Number)
  .sort((a, b) => a - b);
const QUOTA_CONNECTIONS = Number(flag('quota-connections', '2'));
/** Requests per size for the quota check (fixed count, not duration: at 1M a request can take seconds). */
const QUOTA_REQUESTS = Number(flag('quota-requests', '500'));
const YEAR = new Date(Date.now() + 8 * 3600_000).getUTCFullYear();
/** Which parts run: `--only verify` is for profiling verify alone (`npm run bench:checkout:profile`). */
const ONLY = new Set(flag('only', 'verify,floor,quota').split(','));
/** Writes a V8 CPU profile of the measured verify run alone to this file. */
const PROFILE_FILE = flag('profile', '') || undefined;

const print = (line: string) => process.stdout.write(`${line}\n`);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (n: number) => `${n.toFixed(1)} ms`;
const ms2 = (n: number) => `${n.toFixed(2)} ms`;

const ADMIN_KEY = 'bench-admin-key-0123456789abcdef0123456789';
const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK = '10X98765432';

/** A synthetic id number with its MOD 11-2 check character (sequence never 998/999). */
function idNumber(i: number): string {
  const birth = `19${String(60 + (i % 40)).padStart(2, '0')}0${1 + (i % 9)}1${i % 10}`;
  const first17 = `110105${birth}${String(100 + (i % 800)).padStart(3, '0')}`;
  const sum = [...first17].reduce((total, digit, k) => total + Number(digit) * WEIGHTS[k]!, 0);
  return first17 + CHECK[sum % 11];
}
const NAMES = '赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜';
const nameOf = (i: number) => `${NAMES[i % NAMES.length]}${NAMES[(i * 7) % NAMES.length]}明`;
const letters = (n: number) => {
  let out = '';
  for (let k = 0; k < 8; k += 1, n = Math.floor(n / 26)) out += String.fromCharCode(65 + (n % 26));
  return out;
};

interface Buyer {
  identityId: string;
  name: string;
  idNumber: string;
}

interface Result {
  label: string;
  cpu: string;
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

let enginePid: () => number | undefined = () => undefined;

async function load(label: string, options: autocannon.Options): Promise<Result> {
  const cpu = startCpuMeter(enginePid());
  const result = await autocannon({
    ...options,
    ...(options.amount ? {} : { duration: DURATION }),
  });
  const spent = cpu();
  return {
    cpu: cpuPerRequest(spent, result.requests.total),
    label,
    requests: result.requests.total,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

function line(r: Result): string {
  return (
    `${r.label.padEnd(34)} ${fmt(r.rps).padStart(6)} req/s  p50 ${ms(r.p50).padStart(9)}  ` +
    `p99 ${ms(r.p99).padStart(9)}  (${fmt(r.requests)} requests, ${r.non2xx} non-2xx, ${r.errors} errors)`
  );
}

function orderBody(buyer: Buyer, orderNo: string) {
  return {
    orderNo,
    identityId: buyer.identityId,
    payer: { name: buyer.name, idNumber: buyer.idNumber },
    items: [
      { sku: 'SKU-1', name: 'Milk powder 900g', qty: 2, unitPriceFen: 2990, category: 'general' },
      {
        sku: 'SKU-2',
        name: 'Face cream 50ml',
        qty: 1,
        unitPriceFen: 3500,
        category: 'cosmetics-high-end',
      },
    ],
    freightFen: 0,
    consignee: { name: buyer.name, phone: '13800138000', address: '上海市浦东新区世纪大道100号' },
    customsCode: 'BROKER1',
    carrierCode: 'SF',
  };
}

/**
 * The floor: the same five writes as an approved verify, raw driver, nothing
 * else. The same keys too: the order's own number for the hold and the order,
 * the buyer's ledger and journal keys. Keys decide the engine's cost (on the
 * H2 engine a commit rewrites every page a write touched, so sequential keys
 * that share one page are far cheaper than the scattered keys verify writes),
 * and a floor with other keys would measure another workload.
 */
function floorApp(connection: Connection): express.Express {
  const db = connection.db!;
  const app = express();
  let counter = 0;
  app.post('/floor', express.json(), (req, res) => {
    floorWrites(db, req.body, counter++).then(
      (orderNo) => res.json({ orderNo, decision: 'APPROVED' }),
      // Requests still in flight when a run ends meet a closed connection.
      () => res.status(503).end(),
    );
  });
  return app;
}

async function floorWrites(
  db: NonNullable<Connection['db']>,
  requestBody: unknown,
  seq: number,
): Promise<string> {
  const body = requestBody as { identityId: string; orderNo: string };
  const at = new Date();
  await db
    .collection('floor_audit')
    .insertOne({ at, action: 'checkout.verify', resource: body.orderNo });
  await db
    .collection('floor_holds')
    .insertOne({ _id: body.orderNo as never, identityId: body.identityId, at });
  await db
    .collection('floor_journal')
    .insertOne({ _id: `${body.identityId}:${YEAR}:${seq}` as never, at, amountFen: 1 });
  // Same write and same tolerance as the ledger snapshot: a racing upsert may lose on _id.
  await db
    .collection('floor_ledgers')
    .updateOne(
      { _id: `${body.identityId}:${YEAR}` as never, seq: { $lt: seq } },
      { $set: { at, seq } },
      { upsert: true },
    )
    .catch(() => undefined);
  await db.collection('floor_orders').insertOne({ ...body, _id: body.orderNo as never, at });
  return body.orderNo;
}

async function registerBuyers(url: string, checkoutKey: string): Promise<Buyer[]> {
  const buyers: Buyer[] = [];
  for (let i = 0; i < BUYERS; i += 1) {
    const person = { name: nameOf(i), idNumber: idNumber(i) };
    const response = await fetch(`${url}/v1/identities`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${checkoutKey}` },
      body: JSON.stringify({
        userId: `bench-${i}`,
        ...person,
        phone: `139${String(10000000 + i).slice(-8)}`,
        consent: { policyVersion: '2024-01', sensitiveDataConsent: true },
      }),
    });
    if (response.status !== 201 && response.status !== 200) {
      throw new Error(`registration failed: ${response.status} ${await response.text()}`);
    }
    buyers.push({
      ...person,
      identityId: ((await response.json()) as { identityId: string }).identityId,
    });
  }
  return buyers;
}

/** Fills the ledger with synthetic buyers (a snapshot and one journal version each) up to `target`. */
async function fillLedger(connection: Connection, from: number, target: number): Promise<void> {
  const db = connection.db!;
  const batch = 5000;
  const started = performance.now();
  for (let i = from; i < target; i += batch) {
    const size = Math.min(batch, target - i);
    const at = new Date();
    const snapshots = [];
    const journal = [];
    for (let k = i; k < i + size; k += 1) {
      // A synthetic person key: ledgers are keyed by person (any string serves).
      const personKey = `99999999-0000-4000-8000-${String(k).padStart(12, '0')}`;
      const key = `${personKey}:${YEAR}`;
      const entry = { o: `B${letters(k)}`, s: 'CONFIRMED', a: 10000, at, r: null };
      snapshots.push({
        _id: key,
        personKey,
        year: YEAR,
        seq: 1,
        limitFen: 2600000,
        limitFrom: new Date('2018-12-31T16:00:00Z'),
        usedFen: 10000,
        reservedFen: 0,
        remainingFen: 2590000,
        entries: [entry],
        updatedAt: at,
      });
      journal.push({
        _id: `${key}:1`,
        personKey,
        year: YEAR,
        seq: 1,
        orderNo: entry.o,
        from: null,
        to: 'CONFIRMED',
        amountFen: 10000,
        at,
        releasedAt: null,
        limitFen: 2600000,
        limitFrom: new Date('2018-12-31T16:00:00Z'),
        usedFen: 10000,
        reservedFen: 0,
        remainingFen: 2590000,
      });
    }
    await db.collection('quota_ledgers').insertMany(snapshots as never[], { ordered: false });
    await db.collection('quota_journal').insertMany(journal as never[], { ordered: false });
  }
  const seconds = (performance.now() - started) / 1000;
  print(`  loaded ${fmt(target - from)} ledger buyers in ${seconds.toFixed(0)} s`);
}

interface Percentiles {
  p50: number;
  p99: number;
}

function percentiles(samples: number[]): Percentiles {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    p50: sorted[Math.floor(sorted.length * 0.5)]!,
    p99: sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]!,
  };
}

/**
 * GETs each path, QUOTA_CONNECTIONS at a time, timing each with
 * performance.now(): at 1-3 ms, autocannon's whole-millisecond latencies
 * would make the ratio between two sizes mostly rounding.
 */
async function timedGets(
  url: string,
  paths: string[],
  headers: Record<string, string>,
): Promise<Percentiles> {
  const samples: number[] = [];
  let next = 0;
  const worker = async () => {
    while (next < paths.length) {
      const path = paths[next++]!;
      const started = performance.now();
      const response = await fetch(`${url}${path}`, { headers });
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`quota read answered ${response.status}`);
      samples.push(performance.now() - started);
    }
  };
  await Promise.all(Array.from({ length: QUOTA_CONNECTIONS }, worker));
  return percentiles(samples);
}

/** The ledger read alone (the quota check inside verify and GET): p50/p99 over `count` random buyers. */
async function ledgerReadLatency(connection: Connection, size: number, count: number) {
  const ledger = createLedgerService({
    ledgerStore: createLedgerStore(connection),
    policy: loadPolicy(),
  });
  const samples: number[] = [];
  let state = 12345;
  for (let i = 0; i < count; i += 1) {
    state = (state * 1664525 + 1013904223) >>> 0;
    const k = state % size;
    const personKey = `99999999-0000-4000-8000-${String(k).padStart(12, '0')}`;
    const started = performance.now();
    const read = await ledger.read(personKey, YEAR, new Date());
    samples.push(performance.now() - started);
    if (read.seq !== 1) throw new Error('ledger fill is not what the bench expects');
  }
  return percentiles(samples);
}

async function main() {
  const database = await openBenchDatabase('checkout');
  const uri = database.uri;
  const stopDatabase = () => database.stop();
  enginePid = () => database.enginePid();
  print(`database: ${database.label}`);
  print(
    `machine: ${os.cpus().length} cores, node ${process.version}; server and load generator in one process`,
  );
  const keysDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-checkout-keys-'));
  const config = loadConfig({
    NODE_ENV: 'development',
    ADMIN_API_KEY: ADMIN_KEY,
    KEYS_DIR: keysDir,
    LOG_LEVEL: 'silent',
    RATE_LIMIT_PER_MINUTE: '100000000',
    MONGODB_URI: uri,
  });
  const connection = await connectDatabase(uri, {
    dbName: `bench_checkout_${process.pid}`,
    timeoutMs: 10000,
  });
  const built = createApp({ config, connection, logger: createLogger('silent') });
  const servers: { close: () => Promise<void> }[] = [];
  try {
    await built.start();
    const api = await listen(built.app);
    const floor = await listen(floorApp(connection));
    servers.push(api, floor);

    const client = await fetch(`${api.url}/v1/clients`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_KEY}` },
      body: JSON.stringify({ name: 'bench checkout', role: 'checkout' }),
    });
    const checkoutKey = ((await client.json()) as { apiKey: string }).apiKey;
    const buyers = await registerBuyers(api.url, checkoutKey);
    print(`registered ${buyers.length} buyers; ${CONNECTIONS} connections, ${DURATION} s per run`);

    const headers = { 'content-type': 'application/json', authorization: `Bearer ${checkoutKey}` };
    let sequence = 0;
    const nextBody = () => {
      const n = sequence++;
      return JSON.stringify(orderBody(buyers[n % buyers.length]!, `BENCH-${letters(n)}`));
    };
    // Warm-up (JIT, key caches, connection pools), not reported.
    await autocannon({
      url: `${api.url}/v1/checkout/verify`,
      method: 'POST',
      headers,
      connections: CONNECTIONS,
      amount: 500,
      requests: [{ setupRequest: (req) => ({ ...req, body: nextBody() }) }],
    });
    await autocannon({
      url: `${floor.url}/floor`,
      method: 'POST',
      headers,
      connections: CONNECTIONS,
      amount: 500,
      requests: [{ setupRequest: (req) => ({ ...req, body: nextBody() }) }],
    });

    if (ONLY.has('verify') || ONLY.has('floor')) {
      print('\n1. verify vs floor (same 5 writes, raw driver, no validation/auth/crypto)');
    }
    const verify = ONLY.has('verify')
      ? await withCpuProfile(PROFILE_FILE, () =>
          load('POST /v1/checkout/verify', {
            url: `${api.url}/v1/checkout/verify`,
            method: 'POST',
            headers,
            connections: CONNECTIONS,
            requests: [{ setupRequest: (req) => ({ ...req, body: nextBody() }) }],
          }),
        )
      : null;
    const floorResult = ONLY.has('floor')
      ? await load('floor (raw driver)', {
          url: `${floor.url}/floor`,
          method: 'POST',
          headers,
          connections: CONNECTIONS,
          requests: [{ setupRequest: (req) => ({ ...req, body: nextBody() }) }],
        })
      : null;
    for (const result of [verify, floorResult]) {
      if (result) print(`${line(result)}\n${' '.repeat(35)}${result.cpu}`);
    }
    if (verify && floorResult) {
      const ratio = verify.rps / floorResult.rps;
      print(
        `throughput ratio verify/floor: ${ratio.toFixed(2)}x (target >= 0.6x)  ` +
          `verify p99 ${ms(verify.p99)} (target <= 50 ms)`,
      );
    }
    if (!ONLY.has('quota')) return;

    print('\n2. quota check latency vs ledger size');
    const quotaRows: { size: number; http: Percentiles; read: Percentiles }[] = [];
    let loaded = 0;
    for (const size of SIZES) {
      await fillLedger(connection, loaded, size);
      loaded = size;
      const paths = Array.from(
        { length: QUOTA_REQUESTS },
        (_, n) => `/v1/identities/${buyers[n % buyers.length]!.identityId}/quota?year=${YEAR}`,
      );
      // Unmeasured first pass at each size: the fill just before leaves caches cold.
      await timedGets(api.url, paths.slice(0, 100), headers);
      const http = await timedGets(api.url, paths, headers);
      const read = await ledgerReadLatency(connection, size, QUOTA_REQUESTS);
      quotaRows.push({ size, http, read });
      print(
        `${`GET quota @ ${fmt(size)} ledger buyers`.padEnd(34)} p50 ${ms2(http.p50)}  p99 ${ms2(http.p99)}  (${fmt(QUOTA_REQUESTS)} requests)`,
      );
      print(
        `${`ledger read alone @ ${fmt(size)}`.padEnd(34)} p50 ${ms2(read.p50)}  p99 ${ms2(read.p99)}`,
      );
    }
    if (quotaRows.length >= 2) {
      const small = quotaRows[0]!;
      const large = quotaRows[quotaRows.length - 1]!;
      print(
        `latency ratio ${fmt(large.size)}/${fmt(small.size)}: GET p50 ${(large.http.p50 / small.http.p50).toFixed(2)}x, ` +
          `p99 ${(large.http.p99 / small.http.p99).toFixed(2)}x; ledger read p50 ` +
          `${(large.read.p50 / small.read.p50).toFixed(2)}x, p99 ${(large.read.p99 / small.read.p99).toFixed(2)}x ` +
          '(target <= 1.2x)',
      );
    }
  } finally {
    for (const server of servers) await server.close();
    await built.stop();
    await connection.dropDatabase().catch(() => undefined);
    await connection.close();
    fs.rmSync(keysDir, { recursive: true, force: true });
    await stopDatabase();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
