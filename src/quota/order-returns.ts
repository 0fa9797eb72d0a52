import { Unprocessable } from '../errors';
import type { LedgerEntry, LedgerState, LedgerStatus, ReturnedItems } from './ledger';
import type { LedgerDecision } from './ledger-service';
import { divide, fromInteger, multiply, roundHalfUp } from './money';
import type { OrderItem } from './order-lifecycle-types';

/**
 * Returns as customs handles them: by item, each giving back the returned
 * pieces' share of the order's taxable value (freight and insurance go back
 * in proportion to goods value). Shares are computed on the cumulative
 * pieces returned and each return gives back the difference, so the returns
 * of every piece add up to the taxable value to the fen.
 */

/** One returned line: pieces of a SKU. */
export interface ReturnLine {
  sku: string;
  qty: number;
}

/** What a return may see of its order: immutable facts of the order record. */
export interface ReturnableOrder {
  orderNo: string;
  items: readonly Pick<OrderItem, 'sku' | 'qty' | 'unitPriceFen'>[];
  goodsValueFen: number;
  taxableFen: number;
}

export type ReturnOutcome =
  | { kind: 'returned'; entry: LedgerEntry; restoredFen: number }
  | { kind: 'invalid'; from: LedgerStatus | null }
  | { kind: 'window-closed' }
  /** `line`: the index in the asked list of the first line that asks too much. */
  | { kind: 'exceeds'; line: number };

/**
 * A return of `asked` (null: every piece not yet returned). Allowed on a
 * released order within the window, judged now (at the application), and
 * again on a partly returned one, for pieces not yet returned.
 */
export function decideReturn(
  order: ReturnableOrder,
  asked: readonly ReturnLine[] | null,
  options: { now: Date; windowOpen: (entry: LedgerEntry) => boolean },
) {
  return (state: LedgerState): LedgerDecision<ReturnOutcome> => {
    const entry = state.entries.get(order.orderNo);
    const from = entry?.status ?? null;
    if (entry && from === 'RETURNED') {
      // Asking for it all again is a replay; asking for pieces, more than is left (none).
      return { result: asked === null ? returned(order, entry) : { kind: 'exceeds', line: 0 } };
    }
    if (!entry || from !== 'CUSTOMS_RELEASED') return { result: { kind: 'invalid', from } };
    if (!options.windowOpen(entry)) return { result: { kind: 'window-closed' } };
    const before = entry.returned ?? {};
    const bought = piecesBySku(order.items);
    const wanted = asked ?? remaining(bought, before);
    const after: Record<string, number> = { ...before };
    for (const [index, line] of wanted.entries()) {
      after[line.sku] = (after[line.sku] ?? 0) + line.qty;
      if (after[line.sku]! > (bought.get(line.sku) ?? 0)) {
        return { result: { kind: 'exceeds', line: index } };
      }
    }
    const complete = [...bought].every(([sku, qty]) => (after[sku] ?? 0) === qty);
    const next: LedgerEntry = {
      status: complete ? 'RETURNED' : 'CUSTOMS_RELEASED',
      amountFen: order.taxableFen - restoredFen(order, after),
      at: options.now,
      confirmedAt: entry.confirmedAt,
      releasedAt: entry.releasedAt,
      returned: after,
    };
    return {
      change: { orderNo: order.orderNo, from, to: next.status, ...next },
      result: returned(order, next),
    };
  };
}

function returned(order: ReturnableOrder, entry: LedgerEntry): ReturnOutcome {
  // An order returned whole before partial returns existed has no list: all of it.
  const pieces = entry.returned ?? Object.fromEntries(piecesBySku(order.items));
  return {
    kind: 'returned',
    entry: { ...entry, returned: pieces },
    restoredFen: restoredFen(order, pieces),
  };
}

/** 422 naming the asked line that goes beyond what the order has left to return. */
export function exceedsOrder(line: number): Unprocessable {
  return new Unprocessable(
    'RETURN_EXCEEDS_ORDER',
    'The return asks for more than the order has left to return.',
    [{ path: `items.${line}.qty`, message: 'is more than the order has left to return' }],
  );
}

function piecesBySku(items: ReturnableOrder['items']): Map<string, number> {
  const pieces = new Map<string, number>();
  for (const item of items) pieces.set(item.sku, (pieces.get(item.sku) ?? 0) + item.qty);
  return pieces;
}

function remaining(bought: Map<string, number>, before: ReturnedItems): ReturnLine[] {
  return [...bought]
    .map(([sku, qty]) => ({ sku, qty: qty - (before[sku] ?? 0) }))
    .filter((line) => line.qty > 0);
}

/** Goods value of the returned pieces: a SKU on several lines takes its pieces line by line. */
function returnedGoodsFen(items: ReturnableOrder['items'], pieces: ReturnedItems): number {
  const left: Record<string, number> = { ...pieces };
  let value = 0;
  for (const item of items) {
    const taken = Math.min(item.qty, left[item.sku] ?? 0);
    left[item.sku] = (left[item.sku] ?? 0) - taken;
    value += taken * item.unitPriceFen;
  }
  return value;
}

/** The taxable value the returned pieces stand for, rounded half up once. */
function restoredFen(order: ReturnableOrder, pieces: ReturnedItems): number {
  const bought = piecesBySku(order.items);
  const all = [...bought].every(([sku, qty]) => (pieces[sku] ?? 0) === qty);
  if (all) return order.taxableFen;
  if (order.goodsValueFen === 0) return 0;
  const share = divide(
    fromInteger(returnedGoodsFen(order.items, pieces)),
    fromInteger(order.goodsValueFen),
  );
  return roundHalfUp(multiply(fromInteger(order.taxableFen), share));
}
