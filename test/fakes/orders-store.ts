import {
  ANONYMISED,
  type HoldRecord,
  type OrderParcel,
  type OrderRecord,
  type OrdersStore,
} from '../../src/quota/orders-types';

/**
 * An in-memory OrdersStore for unit tests: insert-only orders and holds keyed
 * by order number, as the real store keeps them.
 */
export interface FakeOrdersStore extends OrdersStore {
  orders: Map<string, OrderRecord>;
  holds: Map<string, HoldRecord>;
  parcels: Map<string, OrderParcel>;
}

export function createFakeOrdersStore(): FakeOrdersStore {
  const orders = new Map<string, OrderRecord>();
  const holds = new Map<string, HoldRecord>();
  const parcels = new Map<string, OrderParcel>();

  function insertOnce<T>(map: Map<string, T>, orderNo: string, value: T) {
    if (map.has(orderNo)) return 'duplicate' as const;
    map.set(orderNo, structuredClone(value));
    return 'inserted' as const;
  }

  return {
    orders,
    holds,
    parcels,
    async findOrder(orderNo) {
      const found = orders.get(orderNo);
      return found ? structuredClone(found) : null;
    },
    async listForIdentity(identityId) {
      return [...orders.values()]
        .filter((order) => order.identityId === identityId)
        .map((order) => structuredClone(order));
    },
    async insertOrder(order) {
      return insertOnce(orders, order.orderNo, order);
    },
    async findHold(orderNo) {
      const found = holds.get(orderNo);
      return found ? structuredClone(found) : null;
    },
    async insertHold(hold) {
      return insertOnce(holds, hold.orderNo, hold);
    },
    async deleteHold(orderNo) {
      holds.delete(orderNo);
    },
    async findParcel(orderNo) {
      const found = parcels.get(orderNo);
      return found ? structuredClone(found) : null;
    },
    async insertParcel(parcel) {
      return insertOnce(parcels, parcel.orderNo, parcel);
    },
    async setHoldDue(orderNo, dueAt) {
      const hold = holds.get(orderNo);
      if (hold) hold.dueAt = dueAt;
    },
    async anonymiseForIdentity(identityId) {
      let changed = 0;
      for (const record of orders.values()) {
        if (record.identityId !== identityId) continue;
        Object.assign(record, { identityId: ANONYMISED, consignee: null, personalHash: null });
        changed += 1;
      }
      return changed;
    },
    async assignPersonKey(identityId, personKey) {
      let changed = 0;
      for (const record of [...orders.values(), ...holds.values()]) {
        const unassigned = !record.personKey || record.personKey === identityId;
        if (record.identityId !== identityId || !unassigned) continue;
        record.personKey = personKey;
        if (orders.has(record.orderNo) && orders.get(record.orderNo) === record) changed += 1;
      }
      return changed;
    },
    async listDueHolds(now, after, limit) {
      return [...holds.values()]
        .filter((hold) => hold.dueAt <= now && (after === null || hold.orderNo > after))
        .sort((a, b) => (a.orderNo < b.orderNo ? -1 : 1))
        .slice(0, limit)
        .map((hold) => structuredClone(hold));
    },
    async ensureIndexes() {},
  };
}
