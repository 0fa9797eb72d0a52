import { randomUUID } from 'node:crypto';
import { Conflict, NotFound } from '../errors';
import type { RequestContext } from '../http/route';
import type { LifecycleOrder } from '../quota/order-lifecycle-types';
import type { DisclosureOutcome, DisclosureRecorder } from './disclosure-recorder';
import type { ShipmentRecord, ShipmentStatus } from './disclosure-types';
import type { ShipmentsStore } from './partner-record-store';

/** The JSON item a carrier receives (`shipmentItem` in the routes' OpenAPI schemas). */
export interface ShipmentView {
  shipmentId: string;
  orderNo: string;
  status: ShipmentStatus;
  consignee: Record<string, string> | null;
  parcel: { itemCount: number; goodsValueFen: number };
  createdAt: string;
  pickedUpAt: string | null;
  deliveredAt: string | null;
  withheld?: 'WITHDRAWN' | 'RESTRICTED';
}

export interface ShipmentAckView {
  shipmentId: string;
  orderNo: string;
  status: ShipmentStatus;
  pickedUpAt: string | null;
  deliveredAt: string | null;
}

export type ShipmentAckStatus = 'PICKED_UP' | 'DELIVERED';

export interface ShipmentsService {
  list(
    context: RequestContext,
    query: { status?: ShipmentStatus; afterSeq: number; limit: number },
  ): Promise<{ items: ShipmentView[]; nextAfter: number | null }>;
  get(context: RequestContext, shipmentId: string): Promise<ShipmentView>;
  ack(
    context: RequestContext,
    shipmentId: string,
    status: ShipmentAckStatus,
  ): Promise<ShipmentAckView>;
  /** From a confirmed order: one READY shipment for its carrierCode (idempotent). */
  createForOrder(order: LifecycleOrder): Promise<ShipmentRecord | null>;
  /** The order was cancelled: a READY shipment is withdrawn (idempotent). */
  withdrawForOrder(orderNo: string): Promise<void>;
}

export interface ShipmentsServiceDeps {
  shipments: ShipmentsStore;
  recorder: DisclosureRecorder;
  now?: () => Date;
}

/** Each ack status and the one status it may follow. */
const ACK_FROM: Record<ShipmentAckStatus, ShipmentStatus> = {
  PICKED_UP: 'READY',
  DELIVERED: 'PICKED_UP',
};

const iso = (date: Date | null) => (date ? date.toISOString() : null);

function partnerOf(context: RequestContext): string {
  if (!context.actor.partnerCode) throw new NotFound('shipment');
  return context.actor.partnerCode;
}

function view(record: ShipmentRecord, outcome: DisclosureOutcome): ShipmentView {
  return {
    shipmentId: record.id,
    orderNo: record.orderNo,
    status: record.status,
    consignee:
      outcome.kind === 'DISCLOSED' ? (outcome.disclosure.personal.consignee ?? null) : null,
    parcel: { itemCount: record.itemCount, goodsValueFen: record.goodsValueFen },
    createdAt: record.createdAt.toISOString(),
    pickedUpAt: iso(record.pickedUpAt),
    deliveredAt: iso(record.deliveredAt),
    ...(outcome.kind === 'WITHHELD' ? { withheld: outcome.reason } : {}),
  };
}

function ackView(record: ShipmentRecord): ShipmentAckView {
  return {
    shipmentId: record.id,
    orderNo: record.orderNo,
    status: record.status,
    pickedUpAt: iso(record.pickedUpAt),
    deliveredAt: iso(record.deliveredAt),
  };
}

/** A cancelled order's shipment has no purpose left: no personal data goes out for it. */
const isWithdrawn = (record: ShipmentRecord) => record.status === 'CANCELLED';

/** The READY shipment of a confirmed order, addressed to its carrier: one parcel per order. */
function shipmentFor(order: LifecycleOrder, at: Date): Omit<ShipmentRecord, 'seq'> {
  return {
    id: randomUUID(),
    orderNo: order.orderNo,
    partnerCode: order.carrierCode,
    identityId: order.identityId,
    status: 'READY',
    itemCount: order.items.reduce((sum, item) => sum + item.qty, 0),
    goodsValueFen: order.goodsValueFen,
    createdAt: at,
    updatedAt: at,
    pickedUpAt: null,
    deliveredAt: null,
  };
}

export function createShipmentsService(deps: ShipmentsServiceDeps): ShipmentsService {
  const now = deps.now ?? (() => new Date());

  return {
    async list(context, query) {
      const page = await deps.shipments.page({ partnerCode: partnerOf(context), ...query });
      const outcomes = await deps.recorder.disclose(context, 'carrier', page.items, isWithdrawn);
      return {
        items: page.items.map((record, index) => view(record, outcomes[index]!)),
        nextAfter: page.nextAfter,
      };
    },

    async get(context, shipmentId) {
      const record = await deps.shipments.findOwn(partnerOf(context), shipmentId);
      if (!record) {
        await deps.recorder.recordNotFound(context, 'carrier', shipmentId);
        throw new NotFound('shipment');
      }
      const [outcome] = await deps.recorder.disclose(context, 'carrier', [record], isWithdrawn);
      return view(record, outcome!);
    },

    async ack(context, shipmentId, status) {
      const partnerCode = partnerOf(context);
      const record = await deps.shipments.findOwn(partnerCode, shipmentId);
      if (!record) throw new NotFound('shipment');
      // A retried ack answers the state it already made.
      if (record.status === status) return ackView(record);
      const at = now();
      const updated = await deps.shipments.transition(
        { id: shipmentId, partnerCode },
        [ACK_FROM[status]],
        status,
        status === 'PICKED_UP' ? { pickedUpAt: at } : { deliveredAt: at },
      );
      if (updated) return ackView(updated);
      // Another ack won meanwhile: the same status is a replay, another is a conflict.
      const current = await deps.shipments.findOwn(partnerCode, shipmentId);
      if (current?.status === status) return ackView(current);
      throw new Conflict(
        'INVALID_STATE_TRANSITION',
        'The shipment is not in a state that allows this status.',
      );
    },

    async createForOrder(order) {
      // A replayed confirmation of an order cancelled since makes nothing.
      if (order.status === 'CANCELLED' || order.status === 'EXPIRED') return null;
      return deps.shipments.insertForOrder(shipmentFor(order, now()));
    },

    async withdrawForOrder(orderNo) {
      const record = await deps.shipments.findForOrder(orderNo);
      if (record) await deps.shipments.transition({ id: record.id }, ['READY'], 'CANCELLED', {});
    },
  };
}
