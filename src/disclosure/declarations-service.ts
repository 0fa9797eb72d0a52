import { randomUUID } from 'node:crypto';
import { AppError, Conflict, NotFound, Unprocessable, type ErrorDetail } from '../errors';
import type { RequestContext } from '../http/route';
import type { LifecycleOrder, OrderLifecycle } from '../quota/order-lifecycle-types';
import {
  buildCeb621Xml,
  Ceb621Incomplete,
  Ceb621Invalid,
  type Ceb621Defaults,
  type Ceb621MessageInput,
  type GoodsLine,
} from './ceb621-xml';
import {
  decideReceipt,
  statusAfter,
  isRecorded,
  REFUSED,
  RELEASED,
  releaseTimeProblem,
  type ReceiptDecision,
} from './customs-receipts';
import type { Disclosure } from './disclosure-policy';
import type { DisclosureOutcome, DisclosureRecorder } from './disclosure-recorder';
import type {
  CustomsReceipt,
  DeclarationRecord,
  DeclarationStatus,
  ReceiptsStore,
  ReturnStatus,
} from './disclosure-types';
import type { DeclarationsStore, ShipmentsStore } from './partner-record-store';
import { ceb621Line, copNoOf, declaredGoods, declaredParcel } from './declaration-goods';

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
  /** The carrier's waybill: every declaration a broker sees has one. */
  logisticsNo: string | null;
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
  /** The last customs receipt code recorded (the aliases count as 800 and 100). */
  returnStatus: ReturnStatus | null;
  ackedAt: string | null;
  releasedAt: string | null;
}

/** The first contract's ack: ACCEPTED is receipt 800 (released), REJECTED is 100. */
export interface DeclarationStatusAck {
  status: 'ACCEPTED' | 'REJECTED';
  note?: string;
  /** When customs released the goods; defaults to the time of the ack. */
  releasedAt?: Date;
}

/** A customs receipt (CEB622) relayed by the broker. */
export interface DeclarationReceiptAck {
  returnStatus: ReturnStatus;
  /** Customs' time of the receipt; for 800 the release time (default: the time of the ack). */
  returnTime?: Date;
  returnInfo?: string;
}

/** Customs' answer as the broker relays it, in either form. */
export type DeclarationAck = DeclarationStatusAck | DeclarationReceiptAck;

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
  /** The carrier gave the order's waybill: an AWAITING_WAYBILL declaration becomes READY. */
  waybillKnown(orderNo: string, logisticsNo: string): Promise<void>;
  /** The order was cancelled: a READY declaration is withdrawn (idempotent). */
  withdrawForOrder(orderNo: string): Promise<void>;
}

export interface DeclarationsServiceDeps {
  declarations: DeclarationsStore;
  shipments: ShipmentsStore;
  recorder: DisclosureRecorder;
  /** Where disclosures are recorded: a release cannot precede the broker's first one. */
  receipts: Pick<ReceiptsStore, 'firstDisclosedAt'>;
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
    goods: record.goods.map(({ product, ...line }) => ({
      ...line,
      ...(product ? { hsCode: product.hsCode } : {}),
    })),
    goodsValueFen: record.goodsValueFen,
    freightFen: record.freightFen,
    insuranceFen: record.insuranceFen,
    taxTotalFen: record.taxTotalFen,
    carrierCode: record.carrierCode,
    logisticsNo: record.logisticsNo,
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
    returnStatus: record.returnStatus,
    ackedAt: iso(record.ackedAt),
    releasedAt: iso(record.releasedAt),
  };
}

const invalidTransition = () =>
  new Conflict(
    'INVALID_STATE_TRANSITION',
    'The declaration is not in a state that allows this status.',
  );

const notDisclosed = () =>
  new AppError(
    'DECLARATION_NOT_DISCLOSED',
    409,
    'The declaration was never disclosed to the broker: customs cannot have released it.',
  );

const releaseTimeInvalid = (detail: ErrorDetail) =>
  new Unprocessable('RELEASE_TIME_INVALID', 'The release time cannot be customs’ release.', [
    detail,
  ]);

const disclosureWithheld = () =>
  new AppError(
    'DISCLOSURE_WITHHELD',
    409,
    'The personal data of this declaration is withheld; no inventory message can be issued.',
  );

/** Lodgeable with customs: the broker sees a declaration only once its waybill is known. */
const lodgeable = (record: DeclarationRecord) => record.status !== 'AWAITING_WAYBILL';

/** AWAITING_WAYBILL -> READY with the waybill; null when it moved meanwhile. */
function promote(declarations: DeclarationsStore, record: DeclarationRecord, logisticsNo: string) {
  return declarations.transition({ id: record.id }, ['AWAITING_WAYBILL'], 'READY', {
    logisticsNo,
  });
}

/** A cancelled order's declaration has no purpose left: no personal data goes out for it. */
const isWithdrawn = (record: DeclarationRecord) => record.status === 'CANCELLED';

function ceb621Input(record: DeclarationRecord, disclosure: Disclosure): Ceb621MessageInput {
  return {
    declarationId: record.id,
    orderNo: record.orderNo,
    copNo: record.copNo ?? copNoOf(record.id),
    agentCode: record.partnerCode,
    logisticsCode: record.carrierCode,
    logisticsNo: record.logisticsNo,
    grossWeightKg: record.parcel?.grossWeightKg ?? '',
    netWeightKg: record.parcel?.netWeightKg ?? '',
    goods: record.goods.map(ceb621Line),
    freightFen: record.freightFen,
    insuranceFen: record.insuranceFen,
    disclosure,
  };
}

/**
 * The inventory of a declaration whose data cannot make one (made before the
 * product catalogue): a 409 naming the missing elements, never their values.
 */
function inventoryOrConflict(build: () => string): string {
  try {
    return build();
  } catch (error) {
    if (!(error instanceof Ceb621Incomplete || error instanceof Ceb621Invalid)) throw error;
    const paths = error instanceof Ceb621Incomplete ? error.missing : error.problems;
    throw new AppError(
      'DECLARATION_INCOMPLETE',
      409,
      'This declaration lacks data a CEB621 inventory requires.',
      paths.map((path) => ({ path, message: 'has no valid value' })),
    );
  }
}

/** The READY declaration of a confirmed order, addressed to its customs broker. */
function declarationFor(order: LifecycleOrder, at: Date): Omit<DeclarationRecord, 'seq'> {
  const id = randomUUID();
  return {
    id,
    orderNo: order.orderNo,
    copNo: copNoOf(id),
    partnerCode: order.customsCode,
    identityId: order.identityId,
    status: 'AWAITING_WAYBILL',
    carrierCode: order.carrierCode,
    logisticsNo: null,
    parcel: declaredParcel(order),
    goods: declaredGoods(order),
    goodsValueFen: order.goodsValueFen,
    freightFen: order.freightFen,
    insuranceFen: order.insuranceFen,
    taxTotalFen: order.tax.totalTaxFen,
    createdAt: at,
    updatedAt: at,
    ackedAt: null,
    note: null,
    releasedAt: null,
    returnStatus: null,
    customsReceipts: [],
  };
}

type AckDeps = Pick<
  DeclarationsServiceDeps,
  'declarations' | 'shipments' | 'orders' | 'receipts'
> & { now: () => Date };

/** One ack in the receipt form, whichever body form the broker sent. */
interface Answer {
  receipt: Omit<CustomsReceipt, 'at'>;
  note: string | null;
  /** The body field that carried the receipt's time, for errors. */
  timeField: 'releasedAt' | 'returnTime';
}

function answerOf(ack: DeclarationAck): Answer {
  if ('status' in ack) {
    return {
      receipt: {
        returnStatus: ack.status === 'ACCEPTED' ? RELEASED : REFUSED,
        returnTime: ack.releasedAt ?? null,
        returnInfo: null,
      },
      note: ack.note ?? null,
      timeField: 'releasedAt',
    };
  }
  return {
    receipt: {
      returnStatus: ack.returnStatus,
      returnTime: ack.returnTime ?? null,
      returnInfo: ack.returnInfo ?? null,
    },
    note: null,
    timeField: 'returnTime',
  };
}

/** A release time must lie between the broker's first disclosure and now (see releaseTimeProblem). */
async function checkReleaseTime(
  deps: AckDeps,
  record: DeclarationRecord,
  releasedAt: Date,
  answer: Answer,
  now: Date,
): Promise<void> {
  const disclosedAt = await deps.receipts.firstDisclosedAt(
    record.partnerCode,
    'declaration',
    record.id,
  );
  if (!disclosedAt) throw notDisclosed();
  const problem = releaseTimeProblem(releasedAt, { now, disclosedAt }, answer.timeField);
  if (problem) throw releaseTimeInvalid(problem);
}

/** Goods customs refused will not travel: a shipment not yet picked up is withdrawn. */
async function withdrawShipment(deps: AckDeps, orderNo: string): Promise<void> {
  const shipment = await deps.shipments.findForOrder(orderNo);
  if (shipment) {
    await deps.shipments.transition({ id: shipment.id }, ['READY', 'ACCEPTED'], 'CANCELLED', {});
  }
}

/**
 * Applies one decision to the declaration as it was read. Null when another
 * ack moved it meanwhile (the conditional update found it in another state).
 * The order is told first: its own state machine decides between concurrent
 * release and rejection, and a crash before the record moves heals on retry.
 */
async function apply(
  deps: AckDeps,
  record: DeclarationRecord,
  answer: Answer,
  decision: ReceiptDecision,
): Promise<DeclarationAckView | null> {
  const match = { id: record.id, partnerCode: record.partnerCode };
  const at = deps.now();
  const receipt: CustomsReceipt = { ...answer.receipt, at };
  const returnStatus = receipt.returnStatus;
  switch (decision) {
    case 'CONFLICT':
      throw invalidTransition();
    case 'REPLAY':
      // The order was told before this record changed, so it knows; the shipment
      // withdrawal comes after, so it is repeated (idempotent).
      if (record.status === 'REJECTED') await withdrawShipment(deps, record.orderNo);
      return ackView(record);
    case 'RECORD': {
      if (isRecorded(record.customsReceipts, receipt)) return ackView(record);
      const updated = await deps.declarations.recordReceipt(
        match,
        [record.status],
        statusAfter(record.status, returnStatus),
        receipt,
        { ackedAt: at, returnStatus },
      );
      return updated && ackView(updated);
    }
    case 'RELEASE': {
      const releasedAt = receipt.returnTime ?? at;
      await checkReleaseTime(deps, record, releasedAt, answer, at);
      const order = await deps.orders.markCustomsAccepted(record.orderNo, releasedAt);
      const updated = await deps.declarations.recordReceipt(
        match,
        [record.status],
        'ACCEPTED',
        receipt,
        {
          ackedAt: at,
          note: answer.note,
          returnStatus,
          releasedAt: order.releasedAt ?? releasedAt,
        },
      );
      return updated && ackView(updated);
    }
    case 'REFUSE': {
      await deps.orders.markCustomsRejected(record.orderNo);
      const updated = await deps.declarations.recordReceipt(
        match,
        [record.status],
        'REJECTED',
        receipt,
        {
          ackedAt: at,
          note: answer.note,
          returnStatus,
          releasedAt: null,
        },
      );
      if (updated) await withdrawShipment(deps, record.orderNo);
      return updated && ackView(updated);
    }
  }
}

/**
 * Customs' answer to one of this broker's declarations (decideReceipt): a
 * repeated answer is a replay, a different final answer a conflict.
 */
async function acknowledge(
  deps: AckDeps,
  partnerCode: string,
  declarationId: string,
  ack: DeclarationAck,
): Promise<DeclarationAckView> {
  const answer = answerOf(ack);
  const decideOn = async () => {
    const record = await deps.declarations.findOwn(partnerCode, declarationId);
    if (!record || !lodgeable(record)) throw new NotFound('declaration');
    return apply(deps, record, answer, decideReceipt(record.status, answer.receipt.returnStatus));
  };
  // Another ack won meanwhile: decided again against what it left, a same
  // answer is a replay and another a conflict. Statuses only move forward,
  // so a second loss cannot happen; it is a conflict if it does.
  const view = (await decideOn()) ?? (await decideOn());
  if (!view) throw invalidTransition();
  return view;
}

export function createDeclarationsService(deps: DeclarationsServiceDeps): DeclarationsService {
  const now = deps.now ?? (() => new Date());
  const disclose = (
    context: RequestContext,
    records: readonly DeclarationRecord[],
    prepare?: (outcomes: readonly DisclosureOutcome[]) => void,
  ) => deps.recorder.disclose(context, 'customs', records, isWithdrawn, prepare);

  async function findOwnOrDeny(
    context: RequestContext,
    declarationId: string,
  ): Promise<DeclarationRecord> {
    const record = await deps.declarations.findOwn(partnerOf(context), declarationId);
    if (!record || !lodgeable(record)) {
      await deps.recorder.recordNotFound(context, 'customs', declarationId);
      throw new NotFound('declaration');
    }
    return record;
  }

  return {
    async list(context, query) {
      if (query.status === 'AWAITING_WAYBILL') return { items: [], nextAfter: null };
      const page = await deps.declarations.page({
        partnerCode: partnerOf(context),
        ...query,
        hidden: ['AWAITING_WAYBILL'],
      });
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
      // Built before the disclosure is recorded: an incomplete one discloses nothing.
      let message = '';
      const [outcome] = await disclose(context, [record], ([revealed]) => {
        if (revealed?.kind !== 'DISCLOSED') return;
        message = inventoryOrConflict(() =>
          buildCeb621Xml(ceb621Input(record, revealed.disclosure), deps.ceb621, now()),
        );
      });
      if (outcome?.kind !== 'DISCLOSED') throw disclosureWithheld();
      return message;
    },

    ack: (context, declarationId, ack) =>
      acknowledge({ ...deps, now }, partnerOf(context), declarationId, ack),

    async createForOrder(order) {
      // A replayed confirmation of an order cancelled since makes nothing.
      if (order.status === 'CANCELLED' || order.status === 'EXPIRED') return null;
      const record = await deps.declarations.insertForOrder(declarationFor(order, now()));
      // The carrier may have given its waybill before this record existed.
      const shipment = await deps.shipments.findForOrder(order.orderNo);
      if (record.status !== 'AWAITING_WAYBILL' || !shipment?.logisticsNo) return record;
      return (await promote(deps.declarations, record, shipment.logisticsNo)) ?? record;
    },

    async waybillKnown(orderNo, logisticsNo) {
      const record = await deps.declarations.findForOrder(orderNo);
      if (record?.status === 'AWAITING_WAYBILL')
        await promote(deps.declarations, record, logisticsNo);
    },

    async withdrawForOrder(orderNo) {
      const record = await deps.declarations.findForOrder(orderNo);
      if (record) {
        await deps.declarations.transition(
          { id: record.id },
          ['READY', 'AWAITING_WAYBILL'],
          'CANCELLED',
          {},
        );
      }
    },
  };
}
