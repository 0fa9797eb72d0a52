import type { BuyerIdentity } from '../identities/identity-directory';
import type { Balances } from './ledger';
import type { OrderFigures } from './order-rules';
import type { CheckoutDecision, QuotaView, Reason, ReasonCode } from './orders-types';

/**
 * The checkout rules that need no I/O: when an order may be verified, what
 * refuses it, whether it fits the allowance, and the answer it gets.
 */

/** How far orderedAt may lie from the service's clock (an order is verified when placed). */
const ORDERED_AT_PAST_MS = 24 * 60 * 60 * 1000;
const ORDERED_AT_FUTURE_MS = 5 * 60 * 1000;

/**
 * True when `orderedAt` lies within the last 24 hours (5 minutes of clock skew
 * ahead allowed), so a caller cannot book an order against another year's allowance.
 */
export function orderedAtAcceptable(orderedAt: Date, now: Date): boolean {
  const offset = orderedAt.getTime() - now.getTime();
  return offset >= -ORDERED_AT_PAST_MS && offset <= ORDERED_AT_FUTURE_MS;
}

const MESSAGES: Record<ReasonCode, string> = {
  IDENTITY_NOT_FOUND: 'The buyer identity does not exist or was deleted.',
  IDENTITY_NOT_VERIFIED: 'The buyer identity is not verified against the national authority.',
  CONSENT_REQUIRED: 'The buyer has no recorded consent to process sensitive data.',
  CONSENT_WITHDRAWN: 'The buyer withdrew the consent to process sensitive data.',
  PAYER_MISMATCH: 'The payer is not the buyer.',
  SINGLE_LIMIT_EXCEEDED: 'The order exceeds the per-order limit and has more than one piece.',
  ANNUAL_LIMIT_EXCEEDED: "The order exceeds the buyer's remaining annual allowance.",
};

export const reason = (code: ReasonCode): Reason => ({ code, message: MESSAGES[code] });

/**
 * Every reason that refuses a known buyer's order before the quota is asked.
 * Empty means eligible: the annual check then decides, and only it reserves.
 */
export function eligibilityReasons(
  buyer: Pick<BuyerIdentity, 'verificationStatus' | 'consentRecorded' | 'consentWithdrawn'>,
  payerIsBuyer: boolean,
  figures: Pick<OrderFigures, 'overPerOrderLimit'>,
): Reason[] {
  const reasons: Reason[] = [];
  if (buyer.verificationStatus !== 'VERIFIED') reasons.push(reason('IDENTITY_NOT_VERIFIED'));
  if (!buyer.consentRecorded) reasons.push(reason('CONSENT_REQUIRED'));
  if (buyer.consentWithdrawn) reasons.push(reason('CONSENT_WITHDRAWN'));
  if (!payerIsBuyer) reasons.push(reason('PAYER_MISMATCH'));
  if (figures.overPerOrderLimit) reasons.push(reason('SINGLE_LIMIT_EXCEEDED'));
  return reasons;
}

/**
 * The annual check: the order fits what the local ledger has left and, when
 * customs answered, what customs has left (customs also sees other platforms'
 * purchases, so the smaller decides). Exactly the remaining amount fits.
 */
export function fitsAllowance(
  amountFen: number,
  localRemainingFen: number,
  customsRemainingFen: number | null,
): boolean {
  return (
    amountFen <= localRemainingFen &&
    (customsRemainingFen === null || amountFen <= customsRemainingFen)
  );
}

/** What a verify decided, in the terms the answer is built from. */
export interface DecisionFacts {
  orderNo: string;
  figures: Pick<OrderFigures, 'quotaYear' | 'taxableFen' | 'tax'>;
  /** The reasons found before the quota was asked; empty when the order was eligible. */
  reasons: Reason[];
  /** True when the ledger holds the order as APPROVED. */
  approved: boolean;
  /** The ledger's balances after its commit. */
  balances: Balances;
  /** What customs has left, when it answered in time (then quotaSource is CUSTOMS). */
  customsRemainingFen: number | null;
}

/** The verify answer for a known buyer. */
export function checkoutDecision(facts: DecisionFacts): CheckoutDecision {
  const { orderNo, figures, approved, customsRemainingFen } = facts;
  const eligible = facts.reasons.length === 0;
  // An eligible order that was not approved failed the annual check.
  const reasons = eligible && !approved ? [reason('ANNUAL_LIMIT_EXCEEDED')] : facts.reasons;
  return {
    orderNo,
    decision: approved ? 'APPROVED' : 'REJECTED',
    reasons,
    quota: {
      year: figures.quotaYear,
      ...remainingWithCustoms(
        facts.balances,
        customsRemainingFen,
        approved ? figures.taxableFen : 0,
      ),
    },
    quotaSource: customsRemainingFen === null ? 'LOCAL' : 'CUSTOMS',
    tax: figures.tax,
  };
}

/** The verify answer when the identity is unknown or deleted: nothing was asked of the ledger. */
export function unknownBuyerDecision(
  orderNo: string,
  figures: Pick<OrderFigures, 'quotaYear' | 'tax'>,
  balances: Balances,
): CheckoutDecision {
  return {
    orderNo,
    decision: 'REJECTED',
    reasons: [reason('IDENTITY_NOT_FOUND')],
    quota: { year: figures.quotaYear, ...balances },
    quotaSource: 'LOCAL',
    tax: figures.tax,
  };
}

/**
 * The ledger's balances, with `remainingFen` lowered to what customs has left
 * after this order when customs answered.
 */
function remainingWithCustoms(
  local: Balances,
  customsRemainingFen: number | null,
  approvedNowFen: number,
): Omit<QuotaView, 'year'> {
  if (customsRemainingFen === null) return local;
  const customsRemaining = Math.max(0, customsRemainingFen - approvedNowFen);
  return { ...local, remainingFen: Math.min(local.remainingFen, customsRemaining) };
}
