import type { Connection } from 'mongoose';
import type { Config } from '../config';
import type { FieldCipher } from '../crypto/field-cipher-types';
import type { ExportedOrder, OrdersOfPerson, QuotaUsage } from '../identities/export-ports';
import { balances, personKeyOf, type LedgerState } from './ledger';
import { createLedgerService, type LedgerService } from './ledger-service';
import { createLedgerStore } from './ledger-store';
import { openConsignee } from './order-fields';
import { createOrdersStore } from './orders-store';
import type { OrderRecord } from './orders-types';
import { loadPolicy } from './policy';
import type { OrderActivityOf, OrderAnonymiser } from '../retention/retention-types';

export interface PersonRecordsDeps {
  connection: Connection;
  fieldCipher: FieldCipher;
  clock?: () => Date;
}

/**
 * What a person's export reads from checkout: their orders (consignees
 * decrypted) and their quota ledgers. Read-only, over the same collections
 * as the quota module; built on its own because the identities module, which
 * uses it, is built before quota (quota needs the identity directory).
 */
export function createPersonRecords(
  deps: PersonRecordsDeps,
  config: Pick<Config, 'quota'>,
): {
  orders: OrdersOfPerson;
  quota: QuotaUsage;
  activity: OrderActivityOf;
  anonymiser: OrderAnonymiser;
} {
  const clock = deps.clock ?? (() => new Date());
  const ordersStore = createOrdersStore(deps.connection);
  const ledgerStore = createLedgerStore(deps.connection);
  const ledger = createLedgerService({ ledgerStore, policy: loadPolicy(config.quota.policyFile) });

  return {
    orders: {
      async listForIdentity(identityId) {
        const orders = await ordersStore.listForIdentity(identityId);
        const ledgers = new LedgerReads(ledger, clock());
        const exported: ExportedOrder[] = [];
        // One at a time: a person's orders are few, and each decryption uses the same data key.
        for (const order of orders) {
          const state = await ledgers.of(order.personKey, order.quotaYear);
          exported.push(await exportedOrder(deps.fieldCipher, order, state));
        }
        return exported;
      },
    },
    activity: {
      async ofIdentity(identityId) {
        const orders = await ordersStore.listForIdentity(identityId);
        const ledgers = new LedgerReads(ledger, clock());
        return Promise.all(
          orders.map(async (order) => {
            const entry = (await ledgers.of(order.personKey, order.quotaYear)).entries.get(
              order.orderNo,
            );
            return {
              orderNo: order.orderNo,
              status: entry?.status ?? order.result.decision,
              orderedAt: order.orderedAt,
              lastChangeAt: entry?.at ?? order.orderedAt,
              confirmedAt: entry?.confirmedAt ?? null,
              releasedAt: entry?.releasedAt ?? null,
            };
          }),
        );
      },
    },
    anonymiser: {
      anonymiseOrders: (identityId) => ordersStore.anonymiseForIdentity(identityId),
    },
    quota: {
      async yearsOf(person) {
        const personKey = personKeyOf(person);
        const now = clock();
        const years = await ledgerStore.yearsOf(personKey);
        return Promise.all(
          years.map(async (year) => ({
            year,
            ...balances(await ledger.read(personKey, year, now)),
          })),
        );
      },
    },
  };
}

/** Each (person, year) ledger read once per export. */
class LedgerReads {
  private readonly states = new Map<string, Promise<LedgerState>>();
  constructor(
    private readonly ledger: LedgerService,
    private readonly now: Date,
  ) {}

  of(personKey: string, year: number): Promise<LedgerState> {
    const key = `${personKey}:${year}`;
    const known = this.states.get(key) ?? this.ledger.read(personKey, year, this.now);
    this.states.set(key, known);
    return known;
  }
}

async function exportedOrder(
  fieldCipher: FieldCipher,
  order: OrderRecord,
  ledger: LedgerState,
): Promise<ExportedOrder> {
  return {
    orderNo: order.orderNo,
    // The ledger holds an order's status after verify; the verdict until it has an entry.
    status: ledger.entries.get(order.orderNo)?.status ?? order.result.decision,
    orderedAt: order.orderedAt.toISOString(),
    quotaYear: order.quotaYear,
    items: order.items.map((item) => ({
      sku: item.sku,
      name: item.name,
      qty: item.qty,
      unitPriceFen: item.unitPriceFen,
      category: item.category,
    })),
    amounts: {
      goodsValueFen: order.goodsValueFen,
      freightFen: order.freightFen,
      insuranceFen: order.insuranceFen,
      discountFen: order.discountFen,
      taxableFen: order.taxableFen,
      taxFen: {
        tariffFen: order.tax.tariffFen,
        vatFen: order.tax.vatFen,
        consumptionTaxFen: order.tax.consumptionTaxFen,
        totalTaxFen: order.tax.totalTaxFen,
      },
    },
    consignee: order.consignee ? await openConsignee(fieldCipher, order, order.consignee) : null,
    customsCode: order.customsCode,
    carrierCode: order.carrierCode,
  };
}
