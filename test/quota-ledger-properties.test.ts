import fc from 'fast-check';
import { createFakeLedgerStore, type FakeLedgerStore } from './fakes/ledger-store';
import { balances, canMove, type LedgerState, type LedgerStatus } from '../src/quota/ledger';
import {
  decideExpiry,
  decideReservation,
  decideTransition,
  type ReservationAsk,
} from '../src/quota/ledger-decisions';
import { createLedgerService, type LedgerService } from '../src/quota/ledger-service';
import type { LedgerStore } from '../src/quota/ledger-store';
import { ORDER_STATUSES } from '../src/quota/order-lifecycle-types';
import { loadPolicy } from '../src/quota/policy';

/**
 * Property tests of the quota ledger service on the in-memory store: for
 * random order histories of one person's year, the balances never exceed the
 * annual limit, always equal a model kept here from the domain rules alone
 * (not from `balances` or `canMove`), and every release gives back exactly
 * what the reservation took.
 */

const RUNS = 200;
const PERSON = 'person-1';
const YEAR = 2026;
const START = new Date('2026-03-01T00:00:00Z');
const policy = loadPolicy();
const LIMIT_FEN = policy.limitsAt(START).annualFen;

const LEDGER_STATUSES = ORDER_STATUSES.filter(
  (status): status is LedgerStatus => status !== 'PENDING',
);

// ---------------------------------------------------------------------------
// The model: the lifecycle and the quota arithmetic as the domain states them.

/** Lifecycle moves, written out from the domain's diagram rather than imported. */
const MODEL_NEXT: Partial<Record<LedgerStatus, readonly LedgerStatus[]>> = {
  APPROVED: ['CONFIRMED', 'CANCELLED', 'EXPIRED'],
  CONFIRMED: ['CANCELLED', 'CUSTOMS_RELEASED', 'CUSTOMS_REJECTED'],
  CUSTOMS_RELEASED: ['RETURNED'],
};

interface ModelOrder {
  status: LedgerStatus;
  amountFen: number;
}

type Model = Map<string, ModelOrder>;

/** What an order holds of the allowance: a reservation until paid, then use until returned. */
function modelBalances(model: Model) {
  let usedFen = 0;
  let reservedFen = 0;
  for (const { status, amountFen } of model.values()) {
    if (status === 'APPROVED') reservedFen += amountFen;
    if (status === 'CONFIRMED' || status === 'CUSTOMS_RELEASED') usedFen += amountFen;
  }
  return {
    limitFen: LIMIT_FEN,
    usedFen,
    reservedFen,
    remainingFen: LIMIT_FEN - usedFen - reservedFen,
  };
}

// ---------------------------------------------------------------------------
// Operations on one person's year.

/** A lifecycle move a use case asks for (an expiry goes through decideExpiry instead). */
type MoveTarget = 'CONFIRMED' | 'CANCELLED' | 'CUSTOMS_RELEASED' | 'CUSTOMS_REJECTED' | 'RETURNED';

interface VerifyAsk {
  eligible: boolean;
  amountFen: number;
  customsRemainingFen: number | null;
}

/**
 * `pick` chooses among the orders verified so far (modulo their number).
 * 'verify-rest' asks for what the year has left plus `offsetFen` (capped to
 * one order's 1..500,000 fen): random amounts alone almost never land on the
 * one-fen boundary where an off-by-one would show.
 */
type Op =
  | ({ kind: 'verify' } & VerifyAsk)
  | { kind: 'verify-rest'; offsetFen: number }
  | { kind: 'repeat-verify'; pick: number; ask: VerifyAsk }
  | { kind: 'move'; to: MoveTarget; pick: number }
  | { kind: 'expire'; pick: number };

const verifyAsk: fc.Arbitrary<VerifyAsk> = fc.record({
  // Mostly eligible: a refused order reserves nothing and so never tests the limit.
  eligible: fc.oneof(
    { arbitrary: fc.constant(true), weight: 3 },
    { arbitrary: fc.constant(false), weight: 1 },
  ),
  amountFen: fc.integer({ min: 1, max: 500_000 }),
  // Customs answers seldom; when it does, it may know of less than the ledger does.
  customsRemainingFen: fc.oneof(
    { arbitrary: fc.constant(null), weight: 4 },
    { arbitrary: fc.integer({ min: 0, max: LIMIT_FEN }), weight: 1 },
  ),
});

const moveTarget = fc.constantFrom<MoveTarget>(
  'CONFIRMED',
  'CANCELLED',
  'CUSTOMS_RELEASED',
  'CUSTOMS_REJECTED',
  'RETURNED',
);

const moveOp: fc.Arbitrary<Op> = fc.record({
  kind: fc.constant('move' as const),
  to: moveTarget,
  pick: fc.nat(),
});

// Verifies weigh as much as all moves together, so a history of 60 steps
// usually runs into the limit (26 orders of the average 2,500 yuan fill it).
const anyOp: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: verifyAsk.map((ask): Op => ({ kind: 'verify', ...ask })), weight: 4 },
  { arbitrary: moveOp, weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('expire' as const), pick: fc.nat() }), weight: 1 },
  {
    arbitrary: fc.record({
      kind: fc.constant('verify-rest' as const),
      offsetFen: fc.integer({ min: -1, max: 1 }),
    }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('repeat-verify' as const),
      pick: fc.nat(),
      ask: verifyAsk,
    }),
    weight: 1,
  },
);

const history = fc.array(anyOp, { maxLength: 60, size: 'medium' });

// ---------------------------------------------------------------------------
// A ledger service on a fake store, with the model beside it. Every step
// asserts the service's answer against the model's, then the invariants.

interface Harness {
  store: FakeLedgerStore;
  ledger: LedgerService;
  model: Model;
  /** Runs a random operation; orders it verifies are named o1, o2, ... */
  run(op: Op): Promise<void>;
  verify(orderNo: string, ask: VerifyAsk): Promise<void>;
  move(orderNo: string, to: MoveTarget): Promise<void>;
  expire(orderNo: string): Promise<void>;
  read(): Promise<LedgerState>;
}

function createHarness(): Harness {
  const store = createFakeLedgerStore();
  const ledger = createLedgerService({ ledgerStore: store, policy });
  const model: Model = new Map();
  const verified: string[] = [];
  let minutes = 0;
  /** How many changes the model expects committed: a refused step must commit nothing. */
  let changes = 0;
  const tick = () => new Date(START.getTime() + ++minutes * 60_000);
  const nextOrderNo = () => {
    verified.push(`o${verified.length + 1}`);
    return verified.at(-1)!;
  };
  const pick = (index: number) => verified[index % verified.length] ?? 'never-verified';

  async function read() {
    return ledger.read(PERSON, YEAR, new Date(START.getTime() + minutes * 60_000));
  }

  async function checkInvariants() {
    const state = await read();
    const actual = balances(state);
    expect(actual.usedFen + actual.reservedFen).toBeLessThanOrEqual(actual.limitFen);
    expect(actual.remainingFen).toBe(actual.limitFen - actual.usedFen - actual.reservedFen);
    expect(actual).toEqual(modelBalances(model));
    expect(state.seq).toBe(changes);
    const statuses = new Map([...state.entries].map(([no, entry]) => [no, entry.status]));
    expect(statuses).toEqual(new Map([...model].map(([no, order]) => [no, order.status])));
  }

  async function verify(orderNo: string, ask: VerifyAsk) {
    const now = tick();
    const full: ReservationAsk = { orderNo, now, ...ask };
    const { result } = await ledger.update(PERSON, YEAR, now, decideReservation(full));
    const known = model.get(orderNo);
    if (known) {
      // A repeated order number is decided once: the first answer stands, whatever is asked now.
      expect(result).toEqual({ existing: true, status: known.status });
    } else {
      const { remainingFen } = modelBalances(model);
      const fits =
        ask.eligible &&
        ask.amountFen <= remainingFen &&
        (ask.customsRemainingFen === null || ask.amountFen <= ask.customsRemainingFen);
      const status = fits ? 'APPROVED' : 'REJECTED';
      expect(result).toEqual({ existing: false, status });
      model.set(orderNo, { status, amountFen: fits ? ask.amountFen : 0 });
      changes += 1;
    }
    await checkInvariants();
  }

  async function move(orderNo: string, to: MoveTarget) {
    const now = tick();
    const decide = decideTransition(orderNo, to, {
      now,
      releasedAt: to === 'CUSTOMS_RELEASED' ? now : undefined,
      // The window itself is tested elsewhere; here every return is in time.
      windowOpen: to === 'RETURNED' ? () => true : undefined,
    });
    const { result } = await ledger.update(PERSON, YEAR, now, decide);
    const known = model.get(orderNo);
    if (known?.status === to) {
      expect(result.kind).toBe('already');
    } else if (known && MODEL_NEXT[known.status]?.includes(to)) {
      expect(result.kind).toBe('moved');
      known.status = to;
      changes += 1;
    } else {
      expect(result).toEqual({ kind: 'invalid', from: known?.status ?? null });
    }
    await checkInvariants();
  }

  async function expire(orderNo: string) {
    const now = tick();
    await ledger.update(PERSON, YEAR, now, decideExpiry(orderNo, now));
    const known = model.get(orderNo);
    // Only an unpaid reservation expires; anything else is left as it is.
    if (known?.status === 'APPROVED') {
      known.status = 'EXPIRED';
      changes += 1;
    }
    await checkInvariants();
  }

  async function run(op: Op) {
    switch (op.kind) {
      case 'verify':
        return verify(nextOrderNo(), op);
      case 'verify-rest': {
        const restFen = modelBalances(model).remainingFen + op.offsetFen;
        const amountFen = Math.min(Math.max(restFen, 1), 500_000);
        return verify(nextOrderNo(), { eligible: true, amountFen, customsRemainingFen: null });
      }
      case 'repeat-verify':
        return verify(pick(op.pick), op.ask);
      case 'move':
        return move(pick(op.pick), op.to);
      case 'expire':
        return expire(pick(op.pick));
    }
  }

  return { store, ledger, model, run, verify, move, expire, read };
}

async function runAll(harness: Harness, ops: readonly Op[]) {
  for (const op of ops) await harness.run(op);
}

// ---------------------------------------------------------------------------

describe('quota ledger properties', () => {
  it('when any history of verifies, moves and expiries runs, then after every step the balances fit the limit and equal the model', async () => {
    await fc.assert(
      fc.asyncProperty(history, async (ops) => {
        await runAll(createHarness(), ops);
      }),
      { numRuns: RUNS },
    );
  });

  /** The steps that take an order from its reservation to a release. */
  const releases = {
    'cancel before payment': [{ to: 'CANCELLED' }],
    expiry: ['expire'],
    'cancel after payment': [{ to: 'CONFIRMED' }, { to: 'CANCELLED' }],
    'customs rejection': [{ to: 'CONFIRMED' }, { to: 'CUSTOMS_REJECTED' }],
    return: [{ to: 'CONFIRMED' }, { to: 'CUSTOMS_RELEASED' }, { to: 'RETURNED' }],
  } satisfies Record<string, readonly ('expire' | { to: MoveTarget })[]>;

  it('when an order is released in any way, then used + reserved is as if it had never been verified', async () => {
    await fc.assert(
      fc.asyncProperty(
        history,
        verifyAsk,
        fc.constantFrom(...(Object.keys(releases) as (keyof typeof releases)[])),
        // Between the reservation and its release other orders only move: a
        // verify meanwhile may rightly be decided otherwise while X holds quota.
        fc.array(moveOp, { maxLength: 10 }),
        history,
        async (before, ask, release, meanwhile, after) => {
          const withX = createHarness();
          const withoutX = createHarness();
          const usedPlusReserved = async (harness: Harness) => {
            const { usedFen, reservedFen } = balances(await harness.read());
            return usedFen + reservedFen;
          };

          await runAll(withX, before);
          await runAll(withoutX, before);
          await withX.verify('x', ask);
          await runAll(withX, meanwhile);
          await runAll(withoutX, meanwhile);
          const took = withX.model.get('x')?.status === 'APPROVED' ? ask.amountFen : 0;
          expect(await usedPlusReserved(withX)).toBe((await usedPlusReserved(withoutX)) + took);

          for (const step of releases[release]) {
            if (step === 'expire') await withX.expire('x');
            else await withX.move('x', step.to);
          }
          expect(await usedPlusReserved(withX)).toBe(await usedPlusReserved(withoutX));

          // Having given everything back, the two ledgers decide every later order alike.
          await runAll(withX, after);
          await runAll(withoutX, after);
          expect(balances(await withX.read())).toEqual(balances(await withoutX.read()));
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('when verifies race, then exactly those that fit in commit order are approved', async () => {
    const asks = fc.array(verifyAsk, { minLength: 1, maxLength: 25, size: 'medium' });
    // Calls name asks by index; an index drawn twice is a retried request racing itself.
    const batch = asks.chain((list) =>
      fc.record({
        asks: fc.constant(list),
        calls: fc.array(fc.nat({ max: list.length - 1 }), {
          minLength: 1,
          maxLength: 35,
          size: 'medium',
        }),
      }),
    );
    // What the year holds before the race, so batches of any size meet the limit.
    const usedBefore = fc.integer({ min: 0, max: LIMIT_FEN });
    await fc.assert(
      fc.asyncProperty(batch, usedBefore, fc.scheduler(), async ({ asks, calls }, earlier, s) => {
        const store = createFakeLedgerStore();
        const now = new Date(START.getTime() + 60_000);
        await createLedgerService({ ledgerStore: store, policy }).update(
          PERSON,
          YEAR,
          now,
          decideReservation({
            orderNo: 'earlier',
            eligible: true,
            amountFen: earlier,
            customsRemainingFen: null,
            now,
          }),
        );
        const ledger = createLedgerService({ ledgerStore: scheduled(store, s), policy });
        const askOf = (index: number): ReservationAsk => ({
          orderNo: `o${index}`,
          now,
          ...asks[index]!,
        });

        const racing = Promise.all(
          calls.map((index) => ledger.update(PERSON, YEAR, now, decideReservation(askOf(index)))),
        );
        const results = await s.waitFor(racing);

        const versions = store.versions(PERSON, YEAR);
        const final = versions.at(-1)!;
        const [first, ...order] = commitOrder(versions);
        expect(first).toBe('earlier');
        expect([...order].sort()).toEqual([...new Set(calls)].map((i) => `o${i}`).sort());

        // Replay the commits greedily: each order takes what remains, if it may.
        let remainingFen = LIMIT_FEN - earlier;
        for (const orderNo of order) {
          const ask = askOf(Number(orderNo.slice(1)));
          const fits =
            ask.eligible &&
            ask.amountFen <= remainingFen &&
            (ask.customsRemainingFen === null || ask.amountFen <= ask.customsRemainingFen);
          if (fits) remainingFen -= ask.amountFen;
          expect(final.entries.get(orderNo)?.status).toBe(fits ? 'APPROVED' : 'REJECTED');
        }
        expect(balances(final).reservedFen).toBe(LIMIT_FEN - remainingFen);
        expect(balances(final).reservedFen).toBeLessThanOrEqual(LIMIT_FEN);

        // Every call gets the committed answer; exactly one call per order made it.
        results.forEach(({ result }, i) => {
          expect(result.status).toBe(final.entries.get(`o${calls[i]}`)?.status);
        });
        const deciding = results.filter(({ result }) => !result.existing).length;
        expect(deciding).toBe(final.entries.size - 1);
      }),
      { numRuns: RUNS },
    );
  });

  it('when a move is not allowed, then it changes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(history, async (ops) => {
        const harness = createHarness();
        await runAll(harness, ops);
        const before = await harness.read();
        const now = new Date(START.getTime() + 365 * 24 * 3_600_000);

        for (const orderNo of [...harness.model.keys(), 'never-verified']) {
          const from = before.entries.get(orderNo)?.status ?? null;
          for (const to of LEDGER_STATUSES.filter((status) => !canMove(from, status))) {
            const decide = decideTransition(orderNo, to, { now, releasedAt: now });
            const { result } = await harness.ledger.update(PERSON, YEAR, now, decide);
            expect(result.kind).toBe(from === to ? 'already' : 'invalid');
          }
          if (from === 'CUSTOMS_RELEASED') {
            // An allowed return outside its window is refused the same way.
            const late = decideTransition(orderNo, 'RETURNED', { now, windowOpen: () => false });
            const { result } = await harness.ledger.update(PERSON, YEAR, now, late);
            expect(result).toEqual({ kind: 'window-closed' });
          }
        }

        const after = await harness.read();
        expect(after.seq).toBe(before.seq);
        expect(after.entries).toEqual(before.entries);
        expect(harness.store.versions(PERSON, YEAR)).toHaveLength(before.seq);
      }),
      { numRuns: RUNS },
    );
  });
});

/**
 * The store with every call's answer delivered when the scheduler decides, so
 * racing updates read stale versions and lose commits in random orders.
 */
function scheduled(store: LedgerStore, s: fc.Scheduler): LedgerStore {
  return {
    read: s.scheduleFunction(store.read),
    catchUp: s.scheduleFunction(store.catchUp),
    commit: s.scheduleFunction(store.commit),
    yearsOf: store.yearsOf,
    ensureIndexes: store.ensureIndexes,
  };
}

/** The order number each committed version added, oldest first. */
function commitOrder(versions: readonly LedgerState[]): string[] {
  return versions.map((version, i) => {
    const previous = versions[i - 1]?.entries;
    const added = [...version.entries.keys()].filter((orderNo) => !previous?.has(orderNo));
    expect(added).toHaveLength(1);
    return added[0]!;
  });
}
