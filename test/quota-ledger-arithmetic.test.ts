import { AppError } from '../src/errors';
import { createFakeLedgerStore } from './fakes/ledger-store';
import {
  applyChange,
  balances,
  canMove,
  emptyLedger,
  type LedgerChange,
  type LedgerEntry,
  type LedgerState,
  type LedgerStatus,
} from '../src/quota/ledger';
import {
  decideClosing,
  decideExpiry,
  decideReservation,
  decideTransition,
  type ReservationAsk,
} from '../src/quota/ledger-decisions';
import { createLedgerService } from '../src/quota/ledger-service';
import { buildPolicy, loadPolicy } from '../src/quota/policy';
import bundled from '../src/quota/data/cbec-policy.json';

/** Pure ledger rules (no database): balances, transitions, and the decisions use cases commit. */

const at = new Date('2026-06-01T04:00:00Z');
const later = new Date('2026-06-02T04:00:00Z');
const LIMIT = 2_600_000;

function entry(status: LedgerStatus, amountFen: number, extra: Partial<LedgerEntry> = {}) {
  return { status, amountFen, at, confirmedAt: null, releasedAt: null, ...extra };
}

function ledgerWith(entries: Record<string, LedgerEntry>, limitFen = LIMIT): LedgerState {
  return {
    ...emptyLedger('buyer', 2026, { annualFen: limitFen, effectiveFrom: at }),
    seq: Object.keys(entries).length,
    entries: new Map(Object.entries(entries)),
  };
}

describe('ledger balances', () => {
  it('when entries have every status, then only APPROVED is reserved and only CONFIRMED or CUSTOMS_RELEASED is used', () => {
    const state = ledgerWith({
      a: entry('APPROVED', 1_000),
      b: entry('CONFIRMED', 20_000),
      c: entry('CUSTOMS_RELEASED', 300_000),
      d: entry('CANCELLED', 4),
      e: entry('EXPIRED', 50),
      f: entry('REJECTED', 0),
      g: entry('RETURNED', 600),
      h: entry('CUSTOMS_REJECTED', 7_000),
    });
    expect(balances(state)).toEqual({
      limitFen: LIMIT,
      usedFen: 320_000,
      reservedFen: 1_000,
      remainingFen: LIMIT - 321_000,
    });
  });

  it('when a buyer has no entries, then the whole limit remains', () => {
    const state = emptyLedger('buyer', 2026, { annualFen: LIMIT, effectiveFrom: at });
    expect(state.seq).toBe(0);
    expect(balances(state)).toEqual({
      limitFen: LIMIT,
      usedFen: 0,
      reservedFen: 0,
      remainingFen: LIMIT,
    });
  });
});

describe('ledger changes', () => {
  const change: LedgerChange = {
    orderNo: 'o1',
    from: null,
    to: 'APPROVED',
    amountFen: 5_000,
    at,
    confirmedAt: null,
    releasedAt: null,
    limitFen: 3_000_000,
    limitFrom: later,
  };

  it('when a change is applied, then the next version holds the entry and the change limit', () => {
    const before = ledgerWith({});
    const after = applyChange(before, change);
    expect(after.seq).toBe(before.seq + 1);
    expect(after.entries.get('o1')).toEqual(entry('APPROVED', 5_000));
    expect(after).toMatchObject({ limitFen: 3_000_000, limitFrom: later });
  });

  it('when a change is applied, then the state it was applied to is unchanged', () => {
    const before = ledgerWith({});
    applyChange(before, change);
    expect(before.seq).toBe(0);
    expect(before.entries.size).toBe(0);
    expect(before.limitFen).toBe(LIMIT);
  });

  it.each<[LedgerStatus | null, LedgerStatus]>([
    [null, 'APPROVED'],
    [null, 'REJECTED'],
    [null, 'EXPIRED'],
    ['APPROVED', 'CONFIRMED'],
    ['APPROVED', 'CANCELLED'],
    ['APPROVED', 'EXPIRED'],
    ['CONFIRMED', 'CANCELLED'],
    ['CONFIRMED', 'CUSTOMS_RELEASED'],
    ['CONFIRMED', 'CUSTOMS_REJECTED'],
    ['CUSTOMS_RELEASED', 'RETURNED'],
  ])('when an order moves from %s to %s, then the move is allowed', (from, to) => {
    expect(canMove(from, to)).toBe(true);
  });

  it.each<[LedgerStatus | null, LedgerStatus]>([
    [null, 'CONFIRMED'],
    ['REJECTED', 'APPROVED'],
    ['APPROVED', 'RETURNED'],
    ['CONFIRMED', 'EXPIRED'],
    ['CUSTOMS_RELEASED', 'CANCELLED'],
    ['CUSTOMS_REJECTED', 'RETURNED'],
    ['EXPIRED', 'CONFIRMED'],
    ['CANCELLED', 'CONFIRMED'],
    ['RETURNED', 'CUSTOMS_RELEASED'],
  ])('when an order moves from %s to %s, then the move is refused', (from, to) => {
    expect(canMove(from, to)).toBe(false);
  });
});

describe('the reservation decision', () => {
  const ask: ReservationAsk = {
    orderNo: 'new',
    eligible: true,
    amountFen: 100_000,
    customsRemainingFen: null,
    now: later,
  };
  const decide = (state: LedgerState, overrides: Partial<ReservationAsk> = {}) =>
    decideReservation({ ...ask, ...overrides })(state, balances(state));

  it('when the order takes exactly what remains, then it is approved and reserves its amount', () => {
    const state = ledgerWith({ old: entry('CONFIRMED', LIMIT - 100_000) });
    const { change, result } = decide(state);
    expect(result).toEqual({ existing: false, status: 'APPROVED' });
    expect(change).toMatchObject({
      orderNo: 'new',
      from: null,
      to: 'APPROVED',
      amountFen: 100_000,
    });
  });

  it('when the order is one fen more than what remains, then it is rejected and reserves nothing', () => {
    const state = ledgerWith({ old: entry('APPROVED', LIMIT - 99_999) });
    const { change, result } = decide(state);
    expect(result.status).toBe('REJECTED');
    expect(change).toMatchObject({ to: 'REJECTED', amountFen: 0 });
  });

  it('when a rule already refused the order, then it is rejected even though it fits', () => {
    const { change } = decide(ledgerWith({}), { eligible: false });
    expect(change).toMatchObject({ to: 'REJECTED', amountFen: 0 });
  });

  it('when customs has less left than the ledger, then customs decides', () => {
    expect(decide(ledgerWith({}), { customsRemainingFen: 99_999 }).result.status).toBe('REJECTED');
    expect(decide(ledgerWith({}), { customsRemainingFen: 100_000 }).result.status).toBe('APPROVED');
  });

  it('when the order number has an entry already, then nothing changes and the entry decides', () => {
    const state = ledgerWith({ new: entry('REJECTED', 0) });
    expect(decide(state)).toEqual({ result: { existing: true, status: 'REJECTED' } });
  });
});

describe('expiry and closing decisions', () => {
  it('when an approved reservation expires, then its amount moves to EXPIRED', () => {
    const { change } = decideExpiry('o1', later)(ledgerWith({ o1: entry('APPROVED', 7_000) }));
    expect(change).toEqual({
      orderNo: 'o1',
      from: 'APPROVED',
      to: 'EXPIRED',
      amountFen: 7_000,
      at: later,
      confirmedAt: null,
      releasedAt: null,
    });
  });

  it.each<LedgerStatus>(['CONFIRMED', 'CANCELLED', 'REJECTED'])(
    'when the order is %s, then expiry changes nothing',
    (status) => {
      expect(decideExpiry('o1', later)(ledgerWith({ o1: entry(status, 7_000) })).change).toBe(
        undefined,
      );
    },
  );

  it('when an order number never reached the ledger, then closing records it EXPIRED with nothing reserved', () => {
    const { change } = decideClosing('o1', later)(ledgerWith({}));
    expect(change).toMatchObject({ orderNo: 'o1', from: null, to: 'EXPIRED', amountFen: 0 });
  });

  it('when the order number has an entry, then closing changes nothing', () => {
    expect(decideClosing('o1', later)(ledgerWith({ o1: entry('APPROVED', 1) })).change).toBe(
      undefined,
    );
  });
});

describe('the transition decision', () => {
  it('when an approved order is confirmed, then the entry keeps its amount and records the confirm time', () => {
    const state = ledgerWith({ o1: entry('APPROVED', 9_000) });
    const { change, result } = decideTransition('o1', 'CONFIRMED', { now: later })(state);
    expect(result).toEqual({
      kind: 'moved',
      entry: {
        status: 'CONFIRMED',
        amountFen: 9_000,
        at: later,
        confirmedAt: later,
        releasedAt: null,
      },
    });
    expect(change).toMatchObject({ from: 'APPROVED', to: 'CONFIRMED', amountFen: 9_000 });
  });

  it('when the order already has the target status, then nothing changes and the first release time stays', () => {
    const first = new Date('2026-05-01T00:00:00Z');
    const state = ledgerWith({ o1: entry('CUSTOMS_RELEASED', 9_000, { releasedAt: first }) });
    const decision = decideTransition('o1', 'CUSTOMS_RELEASED', { now: later, releasedAt: later })(
      state,
    );
    expect(decision.change).toBe(undefined);
    expect(decision.result).toMatchObject({ kind: 'already', entry: { releasedAt: first } });
  });

  it('when the move is not allowed, then nothing changes and the current status is reported', () => {
    const state = ledgerWith({ o1: entry('EXPIRED', 9_000) });
    expect(decideTransition('o1', 'CONFIRMED', { now: later })(state)).toEqual({
      result: { kind: 'invalid', from: 'EXPIRED' },
    });
    expect(decideTransition('none', 'CONFIRMED', { now: later })(state)).toEqual({
      result: { kind: 'invalid', from: null },
    });
  });

  it('when the return window is closed, then the return changes nothing', () => {
    const state = ledgerWith({ o1: entry('CUSTOMS_RELEASED', 9_000, { releasedAt: at }) });
    const decision = decideTransition('o1', 'RETURNED', { now: later, windowOpen: () => false })(
      state,
    );
    expect(decision).toEqual({ result: { kind: 'window-closed' } });
  });
});

describe('ledger service on an in-memory store', () => {
  const policy = loadPolicy();

  function reserve(amountFen: number, orderNo: string) {
    return decideReservation({
      orderNo,
      eligible: true,
      amountFen,
      customsRemainingFen: null,
      now: at,
    });
  }

  it('when another writer commits first, then the decision is made again on the newer state', async () => {
    const store = createFakeLedgerStore();
    const ledger = createLedgerService({ ledgerStore: store, policy });
    store.beforeNextCommit(async () => {
      await ledger.update('buyer', 2026, at, reserve(2_000_000, 'rival'));
    });
    const { result, state } = await ledger.update('buyer', 2026, at, reserve(1_000_000, 'mine'));
    expect(result).toEqual({ existing: false, status: 'REJECTED' });
    expect(state.seq).toBe(2);
    expect(store.versions('buyer', 2026).map((v) => v.seq)).toEqual([1, 2]);
  });

  it('when every commit loses its race, then the update gives up with 503 SERVICE_UNAVAILABLE', async () => {
    const store = createFakeLedgerStore();
    const ledger = createLedgerService({ ledgerStore: store, policy });
    let rivals = 0;
    const rival = async () => {
      rivals += 1;
      const newest = await store.catchUp(emptyLedger('buyer', 2026, policy.limitsAt(at)));
      await store.commit(newest, {
        orderNo: `rival-${rivals}`,
        from: null,
        to: 'REJECTED',
        amountFen: 0,
        at,
        confirmedAt: null,
        releasedAt: null,
        limitFen: newest.limitFen,
        limitFrom: newest.limitFrom,
      });
      store.beforeNextCommit(rival);
    };
    store.beforeNextCommit(rival);
    const update = ledger.update('buyer', 2026, at, reserve(1, 'mine'));
    await expect(update).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE', status: 503 });
    await expect(update).rejects.toBeInstanceOf(AppError);
    expect(rivals).toBe(500);
  });

  it('when the limit rises mid-year, then later orders get it and an older-dated order does not wind it back', async () => {
    const raised = buildPolicy({
      ...bundled,
      limits: [
        ...bundled.limits,
        { effectiveFrom: '2026-07-01', perOrderFen: 500000, annualFen: 3000000 },
      ],
    });
    const ledger = createLedgerService({ ledgerStore: createFakeLedgerStore(), policy: raised });
    const july = new Date('2026-07-02T00:00:00Z');
    const june = new Date('2026-06-15T00:00:00Z');
    const first = await ledger.update('buyer', 2026, june, reserve(1, 'a'));
    expect(first.state.limitFen).toBe(2_600_000);
    const second = await ledger.update('buyer', 2026, july, reserve(1, 'b'));
    expect(second.state.limitFen).toBe(3_000_000);
    const third = await ledger.update('buyer', 2026, june, reserve(1, 'c'));
    expect(third.state.limitFen).toBe(3_000_000);
  });

  it('when a year is read, then the limit is the one in force inside that year', async () => {
    const ledger = createLedgerService({ ledgerStore: createFakeLedgerStore(), policy });
    expect((await ledger.read('buyer', 2018, at)).limitFen).toBe(2_000_000);
    expect((await ledger.read('buyer', 2019, at)).limitFen).toBe(2_600_000);
  });
});
