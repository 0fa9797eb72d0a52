import { randomUUID } from 'node:crypto';
import { AppError, Conflict, NotFound } from '../errors';
import type { RequestContext } from '../http/route';
import type { LifecycleOrder, OrderLifecycle } from '../quota/order-lifecycle-types';
import {
  buildCeb621Xml,
  type Ceb621Defaults,
  type Ceb621Input,
  type GoodsLine,
} from './ceb621-xml';
import type { Disclosure } from './disclosure-policy';
import type { DisclosureOutcome, DisclosureRecorder } from './disclosure-recorder';
import type { DeclarationRecord, DeclarationStatus } from './disclosure-types';
import type { DeclarationsStore, ShipmentsStore } from './partner-record-store';

/** The JSON item a broker receives (`declarationItem` in the routes' OpenAPI schemas). */
export interface DeclarationView {
  declarationId: string;
  orderNo: string;
  status: DeclarationStatus;
  buyer: Record<string, string> | null;
  consignee: Record<string, string> | null;
  goods: GoodsLine[];
  goodsValueFen: number;
  freightFen: number;
  insuranceFen: number;
  taxTotalFen: number;
  carrierCode: string;
  createdAt: string;
  releasedAt: string | null;
  /** Present only when the personal fields are withheld, with the reason. */
  withheld?: 'WITHDRAWN' | 'RESTRICTED';
}

/** What an ack answers: state only, no personal data. */
export interface DeclarationAckView {
  declarationId: string;
  orderNo: string;
  status: DeclarationStatus;
  ackedAt: string | null;
  releasedAt: string | null;
}

export interface DeclarationAck {
  status: 'ACCEPTED' | 'REJECTED';
  note?: string;
  /** When customs released the goods; defaults to the time of the ack. */
  releasedAt?: Date;
}

export interface DeclarationsService {
  list(
    context: RequestContext,
    query: { status?: DeclarationStatus; afterSeq: number; limit: number },
  ): Promise<{ items: DeclarationView[]; nextAfter: number | null }>;
  get(context: RequestContext, declarationId: string): Promise<DeclarationView>;
  /** The CEB621 inventory message (XML) of one declaration. */
  inventoryMessage(context: RequestContext, declarationId: string): Promise<string>;
  ack(
    context: RequestContext,
    declarationId: string,
    ack: DeclarationAck,
  ): Promise<DeclarationAckView>;
  /** From a confirmed order: one READY declaration for its customsCode (idempotent). */
  createForOrder(order: LifecycleOrder): Promise<DeclarationRecord | null>;
  /** The order was cancelled: a READY declaration is withdrawn (idempotent). */
  withdrawForOrder(orderNo: string): Promise<void>;
}

export interface DeclarationsServiceDeps {
  declarations: DeclarationsStore;
  shipments: ShipmentsStore;
  recorder: DisclosureRecorder;
  orders: Pick<OrderLifecycle, 'markCustomsAccepted' | 'markCustomsRejected'>;
  ceb621: Ceb621Defaults;
  now?: () => Date;
}

const iso = (date: Date | null) => (date ? date.toISOString() : null);

function partnerOf(context: RequestContext): string {
  // Routes admit only customs clients, which always carry a partner code.
  if (!context.actor.partnerCode) throw new NotFound('declaration');
  return context.actor.partnerCode;
}

function view(record: DeclarationRecord, outcome: DisclosureOutcome): DeclarationView {
  const personal = outcome.kind === 'DISCLOSED' ? outcome.disclosure.personal : null;
  return {
    declarationId: record.id,
    orderNo: record.orderNo,
    status: record.status,
    buyer: personal?.buyer ?? null,
    consignee: personal?.consignee ?? null,
    goods: record.goods.map((line) => ({ ...line })),
    goodsValueFen: record.goodsValueFen,
    freightFen: record.freightFen,
    insuranceFen: record.insuranceFen,
    taxTotalFen: record.taxTotalFen,
    carrierCode: record.carrierCode,
    createdAt: record.createdAt.toISOString(),
    releasedAt: iso(record.releasedAt),
    ...(outcome.kind === 'WITHHELD' ? { withheld: outcome.reason } : {}),
  };
}

function ackView(record: DeclarationRecord): DeclarationAckView {
  return {
    declarationId: record.id,
    orderNo: record.orderNo,
    status: record.status,
    ackedAt: iso(record.ackedAt),
    releasedAt: iso(record.releasedAt),
  };
}

const invalidTransition = () =>
  new Conflict(
    'INVALID_STATE_TRANSITION',
    'The declaration is not in a state that allows this status.',
  );

const disclosureWithheld = () =>
  new AppError(
    'DISCLOSURE_WITHHELD',
    409,
    'The personal data of this declaration is withheld; no inventory message can be issued.',
  );

/** A cancelled order's declaration has no purpose left: no personal data goes out for it. */
const isWithdrawn = (record: DeclarationRecord) => record.status === 'CANCELLED';

function ceb621Input(record: DeclarationRecord, disclosure: Disclosure): Ceb621Input {
  return {
    declarationId: record.id,
    orderNo: record.orderNo,
    agentCode: record.partnerCode,
    logisticsCode: record.carrierCode,
    goods: record.goods,
    freightFen: record.freightFen,
    insuranceFen: record.insuranceFen,
    disclosure,
  };
}

/** The READY declaration of a confirmed order, addressed to its customs broker. */
function declarationFor(order: LifecycleOrder, at: Date): Omit<DeclarationRecord, 'seq'> {
  return {
    id: randomUUID(),
    orderNo: order.orderNo,
    partnerCode: order.customsCode,
    identityId: order.identityId,
    status: 'READY',
    carrierCode: order.carrierCode,
    goods: order.items.map((item, index) => ({
      gnum: index + 1,
      sku: item.sku,
      name: item.name,
      qty: item.qty,
      unitPriceFen: item.unitPriceFen,
      totalPriceFen: item.qty * item.unitPriceFen,
    })),
    goodsValueFen: order.goodsValueFen,
    freightFen: order.freightFen,
    insuranceFen: order.insuranceFen,
    taxTotalFen: order.tax.totalTaxFen,
    createdAt: at,
    updatedAt: at,
    ackedAt: null,
    note: null,
    releasedAt: null,
  };
}

type AckDeps = Pick<DeclarationsServiceDeps, 'declarations' | 'shipments' | 'orders'> & {
  now: () => Date;
};

/** The order is told first: its own state machine decides between concurrent acks. */
async function tellOrder(
  deps: AckDeps,
  record: DeclarationRecord,
  ack: DeclarationAck,
): Promise<LifecycleOrder> {
  return ack.status === 'ACCEPTED'
    ? deps.orders.markCustomsAccepted(record.orderNo, ack.releasedAt ?? deps.now())
    : deps.orders.markCustomsRejected(record.orderNo);
}

/** Goods customs refused will not travel: a shipment not yet picked up is withdrawn. */
async function withdrawShipment(deps: AckDeps, orderNo: string): Promise<void> {
  const shipment = await deps.shipments.findForOrder(orderNo);
  if (shipment) await deps.shipments.transition({ id: shipment.id }, ['READY'], 'CANCELLED', {});
}

/** Customs' answer to one of this broker's declarations; a repeated answer is a replay. */
async function acknowledge(
  deps: AckDeps,
  partnerCode: string,
  declarationId: string,
  ack: DeclarationAck,
): Promise<DeclarationAckView> {
  const record = await deps.declarations.findOwn(partnerCode, declarationId);
  if (!record) throw new NotFound('declaration');
  if (record.status === ack.status) {
    // A retried ack. The order was told before this record changed, so it knows;
    // the shipment withdrawal comes after, so it is repeated (idempotent).
    if (ack.status === 'REJECTED') await withdrawShipment(deps, record.orderNo);
    return ackView(record);
  }
  if (record.status !== 'READY') throw invalidTransition();

  const order = await tellOrder(deps, record, ack);
  const updated = await deps.declarations.transition(
    { id: record.id, partnerCode },
    ['READY'],
    ack.status,
    {
      ackedAt: deps.now(),
      note: ack.note ?? null,
      releasedAt:
        ack.status === 'ACCEPTED' ? (order.releasedAt ?? ack.releasedAt ?? deps.now()) : null,
    },
  );
  if (!updated) {
    // Another ack won meanwhile: same answer is a replay, another is a conflict.
    const current = await deps.declarations.findOwn(partnerCode, declarationId);
    if (current?.status !== ack.status) throw invalidTransition();
    return ackView(current);
  }
  if (ack.status === 'REJECTED') await withdrawShipment(deps, record.orderNo);
  return ackView(updated);
}

export function createDeclarationsService(deps: DeclarationsServiceDeps): DeclarationsService {
  const now = deps.now ?? (() => new Date());
  const disclose = (context: RequestContext, records: readonly DeclarationRecord[]) =>
    deps.recorder.disclose(context, 'customs', records, isWithdrawn);

  async function findOwnOrDeny(
    context: RequestContext,
    declarationId: string,
  ): Promise<DeclarationRecord> {
    const record = await deps.declarations.findOwn(partnerOf(context), declarationId);
    if (!record) {
      await deps.recorder.recordNotFound(context, 'customs', declarationId);
      throw new NotFound('declaration');
    }
    return record;
  }

  return {
    async list(context, query) {
      const page = await deps.declarations.page({ partnerCode: partnerOf(context), ...query });
      const outcomes = await disclose(context, page.items);
      return {
        items: page.items.map((record, index) => view(record, outcomes[index]!)),
        nextAfter: page.nextAfter,
      };
    },

    async get(context, declarationId) {
      const record = await findOwnOrDeny(context, declarationId);
      const [outcome] = await disclose(context, [record]);
      return view(record, outcome!);
    },

    async inventoryMessage(context, declarationId) {
      const record = await findOwnOrDeny(context, declarationId);
      const [outcome] = await disclose(context, [record]);
      if (outcome?.kind !== 'DISCLOSED') throw disclosureWithheld();
      return buildCeb621Xml(ceb621Input(record, outcome.disclosure), deps.ceb621, now());
    },

    ack: (context, declarationId, ack) =>
      acknowledge({ ...deps, now }, partnerOf(context), declarationId, ack),

    async createForOrder(order) {
      // A replayed confirmation of an order cancelled since makes nothing.
      if (order.status === 'CANCELLED' || order.status === 'EXPIRED') return null;
      return deps.declarations.insertForOrder(declarationFor(order, now()));
    },

    async withdrawForOrder(orderNo) {
      const record = await deps.declarations.findForOrder(orderNo);
      if (record) await deps.declarations.transition({ id: record.id }, ['READY'], 'CANCELLED', {});
    },
  };
}
