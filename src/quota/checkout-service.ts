import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { AccessLog } from '../audit/audit-types';
import type { FieldCipher, FieldRef } from '../crypto/field-cipher-types';
import { Conflict, ValidationFailed } from '../errors';
import type { RequestContext } from '../http/route';
import type { IdentityDirectory } from '../identities/identity-directory';
import { askCustoms, type CustomsQuotaFigures, type CustomsQuotaQuery } from './customs-quota';
import { balances, type LedgerState, type LedgerStatus } from './ledger';
import type { LedgerService } from './ledger-service';
import type { ConsigneeData, OrderItem } from './order-lifecycle-types';
import { evaluateOrder, type OrderFigures } from './order-rules';
import type {
  OrderRecord,
  OrdersStore,
  QuotaView,
  Reason,
  ReasonCode,
  RequestFingerprint,
  VerifyResult,
} from './orders-types';
import type { CbecPolicy } from './policy';

/** The verify request after validation (`category` already defaulted). */
export interface VerifyRequest {
  orderNo: string;
  identityId: string;
  payer: { name: string; idNumber: string };
  items: OrderItem[];
  freightFen: number;
  insuranceFen: number;
  discountFen: number;
  orderedAt?: Date;
  consignee: ConsigneeData;
  customsCode: string;
  carrierCode: string;
}

export interface CheckoutService {
  verify(request: VerifyRequest, context: RequestContext): Promise<VerifyResult>;
}

export const ORDERS_COLLECTION = 'orders';

/** Where an order's ciphertexts live; the buyer's data key encrypts them. */
export function orderFieldRef(
  order: { identityId: string; orderNo: string },
  field: 'consignee' | 'requestDigest',
): FieldRef {
  return {
    subjectId: order.identityId,
    collection: ORDERS_COLLECTION,
    recordId: order.orderNo,
    field,
  };
}

const MESSAGES: Record<ReasonCode, string> = {
  IDENTITY_NOT_FOUND: 'The buyer identity does not exist or was deleted.',
  IDENTITY_NOT_VERIFIED: 'The buyer identity is not verified against the national authority.',
  CONSENT_REQUIRED: 'The buyer has no recorded consent to process sensitive data.',
  PAYER_MISMATCH: 'The payer is not the buyer.',
  SINGLE_LIMIT_EXCEEDED: 'The order exceeds the per-order limit and has more than one piece.',
  ANNUAL_LIMIT_EXCEEDED: "The order exceeds the buyer's remaining annual allowance.",
};

const reason = (code: ReasonCode): Reason => ({ code, message: MESSAGES[code] });

/** How far orderedAt may lie from the service's clock (an order is verified when placed). */
const ORDERED_AT_PAST_MS = 24 * 60 * 60 * 1000;
const ORDERED_AT_FUTURE_MS = 5 * 60 * 1000;

/** Every personal field a verify handles: compared (payer) or stored encrypted (consignee). */
const VERIFY_FIELDS = [
  'payer.name',
  'payer.idNumber',
  'consignee.name',
  'consignee.phone',
  'consignee.address',
] as const;

const sha256 = (value: unknown) =>
  createHash('sha256')
    .update(canonicalize(value) ?? '')
    .digest('hex');

/** Every field but the personal ones (payer, consignee), listed so none slips in unseen. */
function requestHash(request: VerifyRequest): string {
  return sha256({
    orderNo: request.orderNo,
    identityId: request.identityId,
    items: request.items,
    freightFen: request.freightFen,
    insuranceFen: request.insuranceFen,
    discountFen: request.discountFen,
    orderedAt: request.orderedAt?.toISOString() ?? null,
    customsCode: request.customsCode,
    carrierCode: request.carrierCode,
  });
}

const personalDigest = (request: VerifyRequest) =>
  sha256({ payer: request.payer, consignee: request.consignee });

export interface CheckoutDeps {
  ordersStore: OrdersStore;
  ledger: LedgerService;
  policy: CbecPolicy;
  directory: IdentityDirectory;
  fieldCipher: FieldCipher;
  accessLog: AccessLog;
  customs: { adapter: CustomsQuotaQuery; timeoutMs: number } | null;
  clock: () => Date;
  /** How long an approval holds quota unconfirmed. */
  holdMs: number;
}

export function createCheckoutService(deps: CheckoutDeps): CheckoutService {
  const { ordersStore, ledger, policy, directory, fieldCipher, accessLog, clock } = deps;

  /** Same request again: nothing to do. A different one under that orderNo: 409. */
  async function assertSameRequest(
    stored: RequestFingerprint & { identityId: string; orderNo: string },
    request: VerifyRequest,
  ): Promise<void> {
    if (stored.requestHash !== requestHash(request)) throw orderConflict();
    if (stored.personalHash === null) return;
    const digest = await fieldCipher
      .decryptText(orderFieldRef(stored, 'requestDigest'), stored.personalHash)
      .catch(() => null);
    // Undecryptable (the buyer was deleted): sameness cannot be shown, so no replay.
    if (digest !== personalDigest(request)) throw orderConflict();
  }

  /** The stored answer to an order number verified before (or 409 for another request). */
  async function replay(request: VerifyRequest): Promise<VerifyResult | null> {
    const stored = await ordersStore.findOrder(request.orderNo);
    if (!stored) return null;
    await assertSameRequest(stored, request);
    return stored.result;
  }

  function orderedAtAcceptable(orderedAt: Date, now: Date): boolean {
    const offset = orderedAt.getTime() - now.getTime();
    return offset >= -ORDERED_AT_PAST_MS && offset <= ORDERED_AT_FUTURE_MS;
  }

  function orderRecord(
    request: VerifyRequest,
    figures: OrderFigures,
    result: VerifyResult,
    extra: { now: Date; personalHash: string | null; consignee: string | null },
  ): OrderRecord {
    return {
      orderNo: request.orderNo,
      identityId: request.identityId,
      requestHash: requestHash(request),
      personalHash: extra.personalHash,
      items: request.items,
      goodsValueFen: figures.goodsValueFen,
      freightFen: request.freightFen,
      insuranceFen: request.insuranceFen,
      discountFen: request.discountFen,
      taxableFen: figures.taxableFen,
      tax: figures.tax,
      singleItemException: figures.singleItemException,
      customsCode: request.customsCode,
      carrierCode: request.carrierCode,
      orderedAt: request.orderedAt ?? extra.now,
      quotaYear: figures.quotaYear,
      consignee: extra.consignee,
      result,
      createdAt: extra.now,
    };
  }

  return {
    /**
     * Reads and records first (identity, payer, access log), then writes only
     * by insert: hold, ledger version, order record. A repeated order number
     * is found by those inserts' unique keys, so the common path never
     * searches the orders.
     */
    async verify(request, context) {
      const now = clock();
      const orderedAt = request.orderedAt ?? now;
      if (!orderedAtAcceptable(orderedAt, now)) {
        // A late retry of an order verified in time still gets its answer.
        const answered = await replay(request);
        if (answered) return answered;
        throw new ValidationFailed([
          { path: 'orderedAt', message: 'must be within the last 24 hours' },
        ]);
      }
      const figures = evaluateOrder(policy, { ...request, orderedAt });
      const year = figures.quotaYear;
      const amount = figures.taxableFen;

      // Both read the identity; payerMatches is false for an unknown identity.
      const [buyer, payerIsBuyer] = await Promise.all([
        directory.findBuyer(request.identityId),
        directory.payerMatches(request.identityId, request.payer),
      ]);
      // Recorded before anything is written or answered: no event, no answer.
      await accessLog.record({
        context,
        action: 'checkout.verify',
        purpose: 'checkout-verification',
        outcome: buyer ? 'SUCCESS' : 'FAILED',
        identityId: request.identityId,
        resourceId: request.orderNo,
        fields: VERIFY_FIELDS,
      });

      if (!buyer) {
        // No buyer, no ledger: the order record alone answers repeats.
        const result: VerifyResult = {
          orderNo: request.orderNo,
          decision: 'REJECTED',
          reasons: [reason('IDENTITY_NOT_FOUND')],
          quota: { year, ...balances(await ledger.read(request.identityId, year, now)) },
          quotaSource: 'LOCAL',
          tax: figures.tax,
        };
        const order = orderRecord(request, figures, result, {
          now,
          personalHash: null,
          consignee: null,
        });
        if ((await ordersStore.insertOrder(order)) === 'inserted') return result;
        return (await replay(request)) ?? Promise.reject(orderConflict());
      }

      const reasons: Reason[] = [];
      if (buyer.verificationStatus !== 'VERIFIED') reasons.push(reason('IDENTITY_NOT_VERIFIED'));
      if (!buyer.consentRecorded) reasons.push(reason('CONSENT_REQUIRED'));
      if (!payerIsBuyer) reasons.push(reason('PAYER_MISMATCH'));
      if (figures.overPerOrderLimit) reasons.push(reason('SINGLE_LIMIT_EXCEEDED'));
      const eligible = reasons.length === 0;

      // Customs is asked while encrypting. The two encryptions run one after
      // the other so the second finds the buyer's data key cached.
      const customsAnswer =
        eligible && deps.customs
          ? askCustoms(
              deps.customs.adapter,
              { name: request.payer.name, idNumber: request.payer.idNumber, year },
              deps.customs.timeoutMs,
            )
          : Promise.resolve(null);
      const personalHash = await fieldCipher.encrypt(
        orderFieldRef(request, 'requestDigest'),
        personalDigest(request),
      );
      const consignee = eligible
        ? await fieldCipher.encrypt(
            orderFieldRef(request, 'consignee'),
            JSON.stringify({
              name: request.consignee.name,
              phone: request.consignee.phone,
              address: request.consignee.address,
            }),
          )
        : null;
      const customs = await customsAnswer;

      // The hold marks "reservation in progress"; a crash from here on is
      // finished by a retry of the same request or undone by the sweeper.
      let heldHere = false;
      if (eligible) {
        const held = await ordersStore.insertHold({
          orderNo: request.orderNo,
          identityId: request.identityId,
          quotaYear: year,
          requestHash: requestHash(request),
          personalHash,
          createdAt: now,
          dueAt: new Date(now.getTime() + deps.holdMs),
        });
        heldHere = held === 'inserted';
        if (!heldHere) {
          const answered = await replay(request);
          if (answered) return answered;
          const hold = await ordersStore.findHold(request.orderNo);
          if (hold) await assertSameRequest(hold, request);
        }
      }

      // One ledger commit decides; an entry already there means this order
      // number was decided before (a repeat, or a retry after a crash).
      const { result: decided, state } = await ledger.update<{
        existing: boolean;
        status: LedgerStatus;
      }>(request.identityId, year, orderedAt, (current, local) => {
        const entry = current.entries.get(request.orderNo);
        if (entry) return { result: { existing: true, status: entry.status } };
        const fits =
          eligible &&
          amount <= local.remainingFen &&
          (customs === null || amount <= customs.remainingFen);
        const to = fits ? ('APPROVED' as const) : ('REJECTED' as const);
        return {
          change: {
            orderNo: request.orderNo,
            from: null,
            to,
            amountFen: fits ? amount : 0,
            at: now,
            confirmedAt: null,
            releasedAt: null,
          },
          result: { existing: false, status: to },
        };
      });
      const dropHold = async () => {
        if (heldHere && decided.status !== 'APPROVED')
          await ordersStore.deleteHold(request.orderNo);
      };

      if (decided.existing) {
        const answered = await replay(request);
        if (answered) {
          await dropHold();
          return answered;
        }
        if (decided.status !== 'APPROVED' && decided.status !== 'REJECTED') {
          await dropHold();
          throw new Conflict('INVALID_STATE_TRANSITION', 'The reservation for this order expired.');
        }
        // Decided, but the order record was never written (a crash): write it now.
      }

      const approved = decided.status === 'APPROVED';
      if (eligible && !approved) reasons.push(reason('ANNUAL_LIMIT_EXCEEDED'));
      const result: VerifyResult = {
        orderNo: request.orderNo,
        decision: approved ? 'APPROVED' : 'REJECTED',
        reasons,
        quota: { year, ...withCustoms(balancesOf(state), customs, approved ? amount : 0) },
        quotaSource: customs ? 'CUSTOMS' : 'LOCAL',
        tax: figures.tax,
      };
      const order = orderRecord(request, figures, result, {
        now,
        personalHash,
        consignee: approved ? consignee : null,
      });
      if ((await ordersStore.insertOrder(order)) === 'duplicate') {
        // Only an order recorded without a ledger entry gets here (its buyer
        // was unknown then): give back what this call reserved, answer as then.
        if (approved && !decided.existing) await releaseReservation(request, year, now);
        await dropHold();
        return (await replay(request)) ?? Promise.reject(orderConflict());
      }
      await dropHold();
      return result;
    },
  };

  async function releaseReservation(request: VerifyRequest, year: number, now: Date) {
    await ledger.update(request.identityId, year, now, (state) => {
      const entry = state.entries.get(request.orderNo);
      if (entry?.status !== 'APPROVED') return { result: null };
      return {
        change: {
          orderNo: request.orderNo,
          from: 'APPROVED' as const,
          to: 'EXPIRED' as const,
          amountFen: entry.amountFen,
          at: now,
          confirmedAt: null,
          releasedAt: null,
        },
        result: null,
      };
    });
    await ordersStore.deleteHold(request.orderNo);
  }
}

function balancesOf(state: LedgerState): Omit<QuotaView, 'year'> {
  return balances(state);
}

function withCustoms(
  local: Omit<QuotaView, 'year'>,
  customs: CustomsQuotaFigures | null,
  approvedNowFen: number,
): Omit<QuotaView, 'year'> {
  if (!customs) return local;
  const customsRemaining = Math.max(0, customs.remainingFen - approvedNowFen);
  return { ...local, remainingFen: Math.min(local.remainingFen, customsRemaining) };
}

function orderConflict(): Conflict {
  return new Conflict(
    'ORDER_CONFLICT',
    'This order number was already verified with a different request.',
  );
}
