import {
  DemoApiError,
  type AlertAnswer,
  type DemoApi,
  type DemoApiFor,
  type PartnerRecord,
} from './demo-api';
import {
  DEMO_CLIENTS,
  DEMO_ORDERS,
  DEMO_PRODUCTS,
  DEMO_REGISTRATIONS,
  DEMO_RETURN,
  DEMO_ROLES,
  verifyBody,
  waybillOf,
  type DemoOrder,
  type DemoRole,
} from './demo-data';
import { demoKeyFile, type DemoClientKey } from './demo-keys';
import type { DemoMarker, DemoStore } from './demo-store';

/**
 * Seeds the demo through the HTTP API, as the platform's integrations would:
 * the admin registers five clients, checkout registers buyers, catalogues
 * goods and verifies and confirms orders, the carrier and the broker pull and
 * acknowledge, checkout files a return, and a burst of reads trips an alert.
 *
 * Idempotent: a database the demo finished seeding is not asked anything
 * again (every pull would be one more disclosure, every read one more
 * access-log event); a run that stopped half way is finished by the next,
 * each step being a retry the API answers safely (same registration, same
 * verify body, replayed acks).
 */

/** What the demo made, without personal data (it is kept in the marker document). */
export interface DemoSummary {
  registrations: { key: string; identityId: string; status: string }[];
  orders: {
    orderNo: string;
    decision: string;
    reasons: string[];
    /** The order's status as last answered (after confirm, or the return). */
    status: string;
    shipment: string | null;
    declaration: string | null;
  }[];
  /** The allowance of the person with two accounts, read under each account. */
  sharedQuota: { key: string; usedFen: number; reservedFen: number; remainingFen: number }[];
  returned: { orderNo: string; restoredFen: number | null };
  alert: { alertId: string; rule: string; count: number } | null;
  ceb621Xml: boolean;
}

export interface DemoSeedDeps {
  api: DemoApiFor;
  adminApiKey: string;
  store: DemoStore;
  /** Where the key file lives (DATA_DIR/demo). */
  keyDirectory: string;
  /** Who an API key belongs to, asked of the service in-process: no request, no access-log event. */
  authenticate(apiKey: string): Promise<{ clientId: string; role: string } | null>;
  /** The platform's CEB621 codes are configured: the broker also fetches the signed XML. */
  ceb621: boolean;
  sleep?: (ms: number) => Promise<void>;
}

export interface DemoSeedResult {
  clients: Record<DemoRole, DemoClientKey>;
  keyFile: string;
  /** Clients registered by this run: all five the first time, or those whose key was lost. */
  registered: DemoRole[];
  /** false: an earlier run seeded this database, and this one added nothing. */
  seededNow: boolean;
  summary: DemoSummary;
}

export async function seedDemo(deps: DemoSeedDeps): Promise<DemoSeedResult> {
  const marker = await deps.store.open();
  const { clients, registered, keyFile } = await ensureClients(deps, marker);
  if (marker.summary) {
    return { clients, keyFile, registered, seededNow: false, summary: marker.summary };
  }
  const sleep = deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  const apis = Object.fromEntries(
    DEMO_ROLES.map((role) => [role, deps.api(clients[role].apiKey)]),
  ) as Record<DemoRole, DemoApi>;
  const summary = await seedData(apis, clients.checkout.id, deps.ceb621, sleep);
  await deps.store.markSeeded(summary);
  return { clients, keyFile, registered, seededNow: true, summary };
}

/**
 * Each demo client, with a key that works: the one in the key file when the
 * service still knows it, else a newly registered client (the old one, if
 * the marker names it, is revoked: its key is lost).
 */
async function ensureClients(deps: DemoSeedDeps, marker: DemoMarker) {
  const file = demoKeyFile(deps.keyDirectory, marker.demoId);
  const saved = file.read();
  const admin = deps.api(deps.adminApiKey);
  const clients: Partial<Record<DemoRole, DemoClientKey>> = {};
  const registered: DemoRole[] = [];
  for (const role of DEMO_ROLES) {
    const known = saved[role];
    const actor = known ? await deps.authenticate(known.apiKey) : null;
    if (known && actor?.clientId === known.id && actor.role === role) {
      clients[role] = known;
      continue;
    }
    const created = await admin.createClient(DEMO_CLIENTS[role]);
    const key = { id: created.id, apiKey: created.apiKey };
    file.save(role, key);
    await deps.store.recordClient(role, created.id);
    const previous = marker.clients[role];
    if (previous && previous !== created.id) await revokeQuietly(admin, previous);
    clients[role] = key;
    registered.push(role);
  }
  return { clients: clients as Record<DemoRole, DemoClientKey>, registered, keyFile: file.path };
}

async function revokeQuietly(admin: DemoApi, clientId: string): Promise<void> {
  try {
    await admin.revokeClient(clientId);
  } catch (error) {
    // Already revoked (404): what was wanted.
    if (!(error instanceof DemoApiError && error.status === 404)) throw error;
  }
}

type OrderLine = DemoSummary['orders'][number];

/** The orders that go all the way to the carrier and the broker. */
const SHIPPED = DEMO_ORDERS.filter(
  (order) => order.journey === 'entered' || order.journey === 'released-and-returned',
);

async function seedData(
  apis: Record<DemoRole, DemoApi>,
  checkoutClientId: string,
  ceb621: boolean,
  sleep: (ms: number) => Promise<void>,
): Promise<DemoSummary> {
  const { checkout, customs: broker, carrier, auditor } = apis;
  for (const product of DEMO_PRODUCTS) {
    // Read first: a PUT would replace the product (a new updatedAt) on every resumed run.
    if (!(await checkout.productExists(product.sku))) {
      await checkout.putProduct(product.sku, product.body);
    }
  }
  const identities = new Map<string, { identityId: string; status: string }>();
  for (const registration of DEMO_REGISTRATIONS) {
    // The same userId and idNumber again answers 200 with the same identity.
    const { identityId, status } = await checkout.registerIdentity(registration.body);
    identities.set(registration.key, { identityId, status });
  }
  const identityOf = (key: string) => identities.get(key)!.identityId;

  const lines = new Map<string, OrderLine>();
  for (const order of DEMO_ORDERS) {
    const identityId = identityOf(order.registration);
    lines.set(order.orderNo, await checkoutOrder(checkout, order, identityId));
  }
  const line = (orderNo: string) => lines.get(orderNo)!;

  // The carrier pulls its queue and accepts two parcels with waybill numbers; the third waits.
  const shipments = await findRecords(carrier.shipments, SHIPPED);
  for (const order of SHIPPED) {
    const shipment = shipments.get(order.orderNo);
    if (!shipment) throw new Error(`the carrier found no shipment of ${order.orderNo}`);
    const body = { status: 'ACCEPTED', logisticsNo: waybillOf(order.orderNo) };
    line(order.orderNo).shipment = (await carrier.ackShipment(shipment.id, body)).status;
  }
  for (const order of DEMO_ORDERS.filter(({ journey }) => journey === 'paid')) {
    line(order.orderNo).shipment = shipments.get(order.orderNo)?.status ?? 'READY';
  }

  // The waybills lodged both declarations: the broker pulls them and relays customs' receipts.
  const declarations = await findRecords(broker.declarations, SHIPPED);
  let ceb621Xml = false;
  for (const order of SHIPPED) {
    const declaration = declarations.get(order.orderNo);
    if (!declaration) throw new Error(`the broker found no declaration of ${order.orderNo}`);
    if (ceb621 && order.journey === 'released-and-returned') {
      await broker.declarationXml(declaration.id);
      ceb621Xml = true;
    }
    // 120: entered (still with customs); 800: released, which starts the 30-day return window.
    const returnStatus = order.journey === 'entered' ? '120' : '800';
    const acked = await broker.ackDeclaration(declaration.id, { returnStatus });
    line(order.orderNo).declaration = acked.status;
  }

  const returned = await fileReturn(checkout);
  if (returned.status) line(DEMO_RETURN.orderNo).status = returned.status;

  const sharedQuota = [];
  for (const key of ['zhao-app', 'zhao-web']) {
    const { usedFen, reservedFen, remainingFen } = await checkout.quota(identityOf(key));
    sharedQuota.push({ key, usedFen, reservedFen, remainingFen });
  }

  const alert = await burstOfReads(checkout, auditor, [...identities.keys()].map(identityOf), {
    checkoutClientId,
    sleep,
  });
  return {
    registrations: [...identities].map(([key, { identityId, status }]) => ({
      key,
      identityId,
      status,
    })),
    orders: [...lines.values()],
    sharedQuota,
    returned: { orderNo: DEMO_RETURN.orderNo, restoredFen: returned.restoredFen },
    alert: alert && { alertId: alert.alertId, rule: alert.rule, count: alert.count },
    ceb621Xml,
  };
}

/** Verify (a retry answers the same decision), then confirm what the journey pays for. */
async function checkoutOrder(
  checkout: DemoApi,
  order: DemoOrder,
  identityId: string,
): Promise<OrderLine> {
  const { decision, reasons } = await checkout.verify(verifyBody(order, identityId));
  const line: OrderLine = {
    orderNo: order.orderNo,
    decision,
    reasons: reasons.map(({ code }) => code),
    status: decision,
    shipment: null,
    declaration: null,
  };
  // Confirming again is answered 200 with the same status: a safe retry.
  if (order.journey !== 'verify' && decision === 'APPROVED') {
    line.status = (await checkout.confirm(order.orderNo)).status;
  }
  return line;
}

/**
 * A partner's records of these orders: its READY queue first, as partners
 * poll; records a resumed run already acknowledged are found in the full list.
 */
async function findRecords(
  list: (status?: string) => Promise<PartnerRecord[]>,
  orders: readonly DemoOrder[],
): Promise<Map<string, PartnerRecord>> {
  const wanted = new Set(orders.map(({ orderNo }) => orderNo));
  const byOrder = new Map<string, PartnerRecord>();
  const take = (records: PartnerRecord[]) => {
    for (const record of records) {
      if (wanted.has(record.orderNo) && !byOrder.has(record.orderNo)) {
        byOrder.set(record.orderNo, record);
      }
    }
  };
  take(await list('READY'));
  if (byOrder.size < wanted.size) take(await list());
  return byOrder;
}

/** The buyer sends one face cream back after release; a resumed run finds it returned already. */
async function fileReturn(
  checkout: DemoApi,
): Promise<{ status: string | null; restoredFen: number | null }> {
  try {
    return await checkout.returnItems(DEMO_RETURN.orderNo, DEMO_RETURN.items);
  } catch (error) {
    if (error instanceof DemoApiError && error.code === 'RETURN_EXCEEDS_ORDER') {
      return { status: null, restoredFen: null };
    }
    throw error;
  }
}

/**
 * The checkout client reads every buyer's record in one burst: more people in
 * an hour than the demo's ALERT_BULK_SUBJECTS_PER_HOUR, so BULK_ACCESS opens.
 * Alerts count per clock hour: a burst cut in two by the hour is read again.
 */
async function burstOfReads(
  checkout: DemoApi,
  auditor: DemoApi,
  identityIds: string[],
  { checkoutClientId, sleep }: { checkoutClientId: string; sleep: (ms: number) => Promise<void> },
): Promise<AlertAnswer | null> {
  for (let burst = 0; burst < 2; burst += 1) {
    for (const identityId of identityIds) await checkout.readIdentity(identityId);
    // The alert is stored just after the events that raise it: give it a moment.
    for (let poll = 0; poll < 10; poll += 1) {
      const alert = (await auditor.alerts()).find(
        ({ rule, actor, status }) =>
          rule === 'BULK_ACCESS' && actor === checkoutClientId && status === 'OPEN',
      );
      if (alert) return alert;
      await sleep(200);
    }
  }
  return null;
}
