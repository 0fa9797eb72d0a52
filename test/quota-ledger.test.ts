import type { Connection } from 'mongoose';
import { connectDatabase } from '../src/db/connection';
import { createLedgerService, type LedgerService } from '../src/quota/ledger-service';
import { createLedgerStore } from '../src/quota/ledger-store';
import { loadPolicy } from '../src/quota/policy';
import { freshDatabaseName } from './helpers/test-app';

let connection: Connection;
let ledger: LedgerService;
const at = new Date('2026-06-01T00:00:00Z');

beforeAll(async () => {
  connection = await connectDatabase(process.env.MONGODB_URI!, {
    dbName: freshDatabaseName(),
    timeoutMs: 5000,
  });
  ledger = createLedgerService({
    ledgerStore: createLedgerStore(connection),
    policy: loadPolicy(),
  });
});
afterAll(async () => {
  await connection.dropDatabase().catch(() => undefined);
  await connection.close();
});

function reserve(identityId: string, orderNo: string, amountFen: number) {
  return ledger.update(identityId, 2026, at, (state, { remainingFen }) => {
    const existing = state.entries.get(orderNo);
    if (existing) return { result: existing.status };
    const to = remainingFen >= amountFen ? ('APPROVED' as const) : ('REJECTED' as const);
    return {
      change: { orderNo, from: null, to, amountFen, at, confirmedAt: null, releasedAt: null },
      result: to,
    };
  });
}

describe('quota ledger', () => {
  it('when 40 reservations of 1,000 yuan race for one buyer, then exactly 26 are approved', async () => {
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => reserve('buyer-a', `o${i}`, 100000)),
    );
    const approved = results.filter((r) => r.result === 'APPROVED').length;
    expect(approved).toBe(26);
    const state = await ledger.read('buyer-a', 2026, at);
    expect(state.seq).toBe(40);
    expect([...state.entries.values()].filter((e) => e.status === 'APPROVED')).toHaveLength(26);
  });

  it('when the same order reserves twice concurrently, then it is recorded once', async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, () => reserve('buyer-b', 'same', 100000)),
    );
    expect(new Set(results.map((r) => r.result))).toEqual(new Set(['APPROVED']));
    const state = await ledger.read('buyer-b', 2026, at);
    expect(state.seq).toBe(1);
  });
});
