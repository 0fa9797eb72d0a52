import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { AccessLog } from '../audit/audit-types';
import type { FieldCipher, FieldRef } from '../crypto/field-cipher-types';
import { Conflict, ValidationFailed } from '../errors';
import type { RequestContext } from '../http/route';
import type { IdentityDirectory } from '../identities/identity-directory';
import { askCustoms, type CustomsQuotaFigures, type CustomsQuotaQuery } from './customs-quota';
import { balances, type LedgerState } from './ledger';
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

function requestHash(request: VerifyRequest): string {
  const { payer: _payer, consignee: _consignee, ...rest } = request;
  return sha256({ ...rest, orderedAt: request.orderedAt?.toISOString() ?? null });
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
}

export function createCheckoutService(deps: CheckoutDeps): CheckoutService {
  const { ordersStore, ledger, policy, directory, fieldCipher, accessLog, clock } = deps;

  /** Same request again: the stored answer. A different one under that orderNo: 409. */
  async function replay(
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

  function checkOrderedAt(orderedAt: Date, now: Date): void {
    const offset = orderedAt.getTime() - now.getTime();
    if (offset < -ORDERED_AT_PAST_MS || offset > ORDERED_AT_FUTURE_MS) {
      throw new ValidationFailed([
        { path: 'orderedAt', message: 'must be within the last 24 hours' },
      ]);
    }
  }

  async function quotaView(identityId: string, year: number, now: Date): Promise<QuotaView> {
    const state = await ledger.read(identityId, year, now);
    return { year, ...balancesOf(state) };
  }

  async function finish(
    request: VerifyRequest,
    figures: OrderFigures,
    result: VerifyResult,
    extra: { now: Date; personalHash: string | null; consignee: string | null },
  ): Promise<VerifyResult> {
    const order: OrderRecord = {
      orderNo: request.orderNo,
      identityId: request.identityId,
      status: result.decision,
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
      updatedAt: extra.now,
      confirmedAt: null,
      releasedAt: null,
    };
    if ((await ordersStore.insertOrder(order)) === 'duplicate') {
      // A concurrent identical verify wrote it first: answer what it answered.
      const stored = await ordersStore.findOrder(request.orderNo);
      if (!stored) throw orderConflict();
      await replay(stored, request);
      return stored.result;
    }
    return result;
  }

  return {
    async verify(request, context) {
      const existing = await ordersStore.findOrder(request.orderNo);
      if (existing) {
        await replay(existing, request);
        return existing.result;
      }

      const now = clock();
      const orderedAt = request.orderedAt ?? now;
      checkOrderedAt(orderedAt, now);
      const figures = evaluateOrder(policy, { ...request, orderedAt });
      const year = figures.quotaYear;

      const buyer = await directory.findBuyer(request.identityId);
      const payerIsBuyer = buyer
        ? await directory.payerMatches(request.identityId, request.payer)
        : false;
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

      const reasons: Reason[] = [];
      if (!buyer) reasons.push(reason('IDENTITY_NOT_FOUND'));
      else {
        if (buyer.verificationStatus !== 'VERIFIED') reasons.push(reason('IDENTITY_NOT_VERIFIED'));
        if (!buyer.consentRecorded) reasons.push(reason('CONSENT_REQUIRED'));
        if (!payerIsBuyer) reasons.push(reason('PAYER_MISMATCH'));
      }
      if (figures.overPerOrderLimit) reasons.push(reason('SINGLE_LIMIT_EXCEEDED'));

      const digestRef = orderFieldRef(request, 'requestDigest');
      if (reasons.length > 0) {
        const personalHash = buyer
          ? await fieldCipher.encrypt(digestRef, personalDigest(request))
          : null;
        const result: VerifyResult = {
          orderNo: request.orderNo,
          decision: 'REJECTED',
          reasons,
          quota: await quotaView(request.identityId, year, now),
          quotaSource: 'LOCAL',
          tax: figures.tax,
        };
        return finish(request, figures, result, { now, personalHash, consignee: null });
      }

      const [personalHash, consignee, customs] = await Promise.all([
        fieldCipher.encrypt(digestRef, personalDigest(request)),
        fieldCipher.encrypt(
          orderFieldRef(request, 'consignee'),
          JSON.stringify({
            name: request.consignee.name,
            phone: request.consignee.phone,
            address: request.consignee.address,
          }),
        ),
        deps.customs
          ? askCustoms(
              deps.customs.adapter,
              { name: request.payer.name, idNumber: request.payer.idNumber, year },
              deps.customs.timeoutMs,
            )
          : Promise.resolve(null),
      ]);

      // The hold marks "verify in progress"; a crash from here on is finished
      // by a retry of the same request or undone by the sweeper.
      const held = await ordersStore.insertHold({
        orderNo: request.orderNo,
        identityId: request.identityId,
        quotaYear: year,
        requestHash: requestHash(request),
        personalHash,
        createdAt: now,
      });
      if (held === 'duplicate') {
        const stored = await ordersStore.findOrder(request.orderNo);
        if (stored) {
          await replay(stored, request);
          return stored.result;
        }
        const hold = await ordersStore.findHold(request.orderNo);
        if (hold) await replay(hold, request);
      }

      const amount = figures.taxableFen;
      const { result: outcome, state } = await ledger.update(
        request.identityId,
        year,
        orderedAt,
        (current, local) => {
          const entry = current.entries.get(request.orderNo);
          if (entry) return { result: entry.status };
          const fits =
            amount <= local.remainingFen && (customs === null || amount <= customs.remainingFen);
          const to = fits ? ('APPROVED' as const) : ('REJECTED' as const);
          return {
            change: {
              orderNo: request.orderNo,
              from: null,
              to,
              amountFen: fits ? amount : 0,
              at: now,
              releasedAt: null,
            },
            result: to,
          };
        },
      );
      if (outcome !== 'APPROVED' && outcome !== 'REJECTED') {
        // The ledger moved on without an order record: the reservation expired meanwhile.
        const stored = await ordersStore.findOrder(request.orderNo);
        if (stored) {
          await replay(stored, request);
          return stored.result;
        }
        throw new Conflict('INVALID_STATE_TRANSITION', 'The reservation for this order expired.');
      }

      const approved = outcome === 'APPROVED';
      const result: VerifyResult = {
        orderNo: request.orderNo,
        decision: outcome,
        reasons: approved ? [] : [reason('ANNUAL_LIMIT_EXCEEDED')],
        quota: { year, ...withCustoms(balancesOf(state), customs, approved ? amount : 0) },
        quotaSource: customs ? 'CUSTOMS' : 'LOCAL',
        tax: figures.tax,
      };
      const answer = await finish(request, figures, result, {
        now,
        personalHash,
        consignee: approved ? consignee : null,
      });
      if (!approved) await ordersStore.deleteHold(request.orderNo);
      return answer;
    },
  };
}

/**
 * With customs' figure: remaining is the smaller of the local one and
 * customs' (which does not yet include an order approved just now).
 */
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
