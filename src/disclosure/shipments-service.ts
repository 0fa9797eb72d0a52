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
  logisticsNo: string | null;
  pickedUpAt: string | null;
  deliveredAt: string | null;
}

export type ShipmentAckStatus = 'ACCEPTED' | 'PICKED_UP' | 'DELIVERED';

/** The carrier's ack: ACCEPTED carries its waybill number (CEB621 logisticsNo). */
export type ShipmentAck =
  { status: 'ACCEPTED'; logisticsNo: string } | { status: 'PICKED_UP' | 'DELIVERED' };

export interface ShipmentsService {
  list(
    context: RequestContext,
    query: { status?: ShipmentStatus; afterSeq: number; limit: number },
  ): Promise<{ items: ShipmentView[]; nextAfter: number | null }>;
  get(context: RequestContext, shipmentId: string): Promise<ShipmentView>;
  ack(context: RequestContext, shipmentId: string, ack: ShipmentAck): Promise<ShipmentAckView>;
  /** From a confirmed order: one READY shipment for its carrierCode (idempotent). */
  createForOrder(order: LifecycleOrder): Promise<ShipmentRecord | null>;
  /** The order was cancelled: a READY shipment is withdrawn (idempotent). */
  withdrawForOrder(orderNo: string): Promise<void>;
}

export interface ShipmentsServiceDeps {
  shipments: ShipmentsStore;
  recorder: DisclosureRecorder;
  /** Told when the waybill is known: the order's declaration can then be lodged. */
  onWaybill(orderNo: string, logisticsNo: string): Promise<void>;
  now?: () => Date;
}

/**
 * Each ack status and the statuses it may follow. Pick-up straight from READY
 * stays allowed (contract v1); the declaration then waits for the waybill.
 */
const ACK_FROM: Record<ShipmentAckStatus, readonly ShipmentStatus[]> = {
  ACCEPTED: ['READY'],
  PICKED_UP: ['READY', 'ACCEPTED'],
  DELIVERED: ['PICKED_UP'],
};

/** What an ack sets besides the status. */
function ackFields(ack: ShipmentAck, at: Date): Partial<ShipmentRecord> {
  switch (ack.status) {
    case 'ACCEPTED':
      return { logisticsNo: ack.logisticsNo };
    case 'PICKED_UP':
      return { pickedUpAt: at };
    case 'DELIVERED':
      return { deliveredAt: at };
  }
}

/**
 * A retried ack answers the state it made: ACCEPTED again with the same
 * waybill while the shipment went on is still that answer; another waybill is not.
 */
function isReplay(record: ShipmentRecord, ack: ShipmentAck): boolean {
  if (ack.status !== 'ACCEPTED') return record.status === ack.status;
  return record.logisticsNo === ack.logisticsNo && record.status !== 'CANCELLED';
}

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
    logisticsNo: record.logisticsNo,
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
    logisticsNo: null,
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

    async ack(context, shipmentId, ack) {
      const partnerCode = partnerOf(context);
      const record = await deps.shipments.findOwn(partnerCode, shipmentId);
      if (!record) throw new NotFound('shipment');
      const updated = isReplay(record, ack)
        ? record
        : await deps.shipments.transition(
            { id: shipmentId, partnerCode },
            ACK_FROM[ack.status],
            ack.status,
            ackFields(ack, now()),
          );
      // Another ack won meanwhile: the same answer is a replay, another is a conflict.
      const current = updated ?? (await deps.shipments.findOwn(partnerCode, shipmentId));
      if (!current || (!updated && !isReplay(current, ack))) {
        throw new Conflict(
          'INVALID_STATE_TRANSITION',
          'The shipment is not in a state that allows this status.',
        );
      }
      // Also on a replay: this is how a declaration missed by a crash is lodged.
      if (ack.status === 'ACCEPTED') await deps.onWaybill(current.orderNo, ack.logisticsNo);
      return ackView(current);
    },

    async createForOrder(order) {
      // A replayed confirmation of an order cancelled since makes nothing.
      if (order.status === 'CANCELLED' || order.status === 'EXPIRED') return null;
      return deps.shipments.insertForOrder(shipmentFor(order, now()));
    },

    async withdrawForOrder(orderNo) {
      const record = await deps.shipments.findForOrder(orderNo);
      if (record) {
        await deps.shipments.transition({ id: record.id }, ['READY', 'ACCEPTED'], 'CANCELLED', {});
      }
    },
  };
}
