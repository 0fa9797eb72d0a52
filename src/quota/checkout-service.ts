import type { AccessLog } from '../audit/audit-types';
import type { EncryptedField, FieldCipher } from '../crypto/field-cipher-types';
import { ValidationFailed } from '../errors';
import type { RequestContext } from '../http/route';
import type { IdentityDirectory } from '../identities/identity-directory';
import type { ProductCatalogue } from '../products/products-types';
import { withCatalogueCategories } from './catalogue-items';
import {
  checkoutDecision,
  eligibilityReasons,
  orderedAtAcceptable,
  unknownBuyerDecision,
} from './checkout-rules';
import { earlierVerify, fingerprint, orderConflict, requestHash } from './checkout-replay';
import { askCustoms, type CustomsQuotaFigures, type CustomsQuotaQuery } from './customs-quota';
import { balances, personKeyOf } from './ledger';
import type { LedgerService } from './ledger-service';
import { sealConsignee } from './order-fields';
import type { OrderItem } from './order-lifecycle-types';
import { evaluateOrder, type OrderFigures } from './order-rules';
import type {
  CheckoutDecision,
  OrderRecord,
  OrdersStore,
  Reason,
  RequestFingerprint,
  VerifyRequest,
} from './orders-types';
import type { CbecPolicy } from './policy';
import { createReservations, type Reservations, type Reserved } from './reservation';

export interface CheckoutService {
  verify(request: VerifyRequest, context: RequestContext): Promise<CheckoutDecision>;
}

/** Every personal field a verify handles: compared (payer) or stored encrypted (consignee). */
const VERIFY_FIELDS = [
  'payer.name',
  'payer.idNumber',
  'consignee.name',
  'consignee.phone',
  'consignee.address',
] as const;

export interface CheckoutDeps {
  ordersStore: OrdersStore;
  ledger: LedgerService;
  policy: CbecPolicy;
  /** Catalogued SKUs are taxed by their product's category. */
  catalogue: ProductCatalogue;
  directory: IdentityDirectory;
  fieldCipher: FieldCipher;
  accessLog: AccessLog;
  customs: { adapter: CustomsQuotaQuery; timeoutMs: number } | null;
  clock: () => Date;
  /** How long an approval holds quota unconfirmed. */
  holdMs: number;
}

/** The dependencies, with the reservation protocol built on them. */
interface Checkout extends CheckoutDeps {
  reservations: Reservations;
}

export function createCheckoutService(deps: CheckoutDeps): CheckoutService {
  const { ordersStore, ledger, holdMs } = deps;
  const checkout: Checkout = {
    ...deps,
    reservations: createReservations({ ordersStore, ledger, holdMs }),
  };
  return { verify: (request, context) => verify(checkout, request, context) };
}

/**
 * Check, decide, reserve once, record. Reads and records first (identity,
 * payer, access log), then writes only by insert: hold, ledger version,
 * order record (reservation.ts).
 */
async function verify(
  checkout: Checkout,
  request: VerifyRequest,
  context: RequestContext,
): Promise<CheckoutDecision> {
  const now = checkout.clock();
  const orderedAt = request.orderedAt ?? now;
  if (!orderedAtAcceptable(orderedAt, now)) return answerLateRetry(checkout, request);
  // Two independent reads, one round trip: the catalogue and the buyer's identity.
  const [items, { buyer, payerIsBuyer }] = await Promise.all([
    catalogueItems(checkout, request),
    checkBuyer(checkout, request),
  ]);
  const figures = evaluateOrder(checkout.policy, { ...request, items, verifiedAt: now });
  // Recorded before anything is written or answered: no event, no answer.
  await recordVerify(checkout, request, context, buyer !== null);
  if (!buyer) return rejectUnknownBuyer(checkout, request, { items, figures }, now);

  const reasons = eligibilityReasons(buyer, payerIsBuyer, figures);
  const eligible = reasons.length === 0;
  const sealed = await sealWhileAskingCustoms(checkout, request, figures.quotaYear, eligible);
  const personKey = personKeyOf(buyer);
  return reserveAndRecord(checkout, { request, items, personKey, figures, reasons, sealed, now });
}

/** The items taxed by their products' categories: one catalogue read for the whole order. */
async function catalogueItems(
  { catalogue, policy }: Checkout,
  request: VerifyRequest,
): Promise<OrderItem[]> {
  const products = await catalogue.findMany(request.items.map((item) => item.sku));
  return withCatalogueCategories(request.items, products, policy.volumeTaxedCategories());
}

/** Outside the time window only a late retry of an order verified in time gets an answer. */
async function answerLateRetry(
  checkout: Checkout,
  request: VerifyRequest,
): Promise<CheckoutDecision> {
  const answered = await earlierVerify(checkout, request).answer();
  if (answered) return answered;
  throw new ValidationFailed([{ path: 'orderedAt', message: 'must be within the last 24 hours' }]);
}

/** One read of the identity; payerIsBuyer is false for an unknown identity. */
function checkBuyer({ directory }: Checkout, request: VerifyRequest) {
  return directory.checkBuyer(request.identityId, request.payer);
}

function recordVerify(
  { accessLog }: Checkout,
  request: VerifyRequest,
  context: RequestContext,
  buyerFound: boolean,
): Promise<void> {
  return accessLog.record({
    context,
    action: 'checkout.verify',
    purpose: 'checkout-verification',
    outcome: buyerFound ? 'SUCCESS' : 'FAILED',
    identityId: request.identityId,
    resourceId: request.orderNo,
    fields: VERIFY_FIELDS,
  });
}

/** No buyer, no ledger: the order record alone answers repeats. */
async function rejectUnknownBuyer(
  checkout: Checkout,
  request: VerifyRequest,
  { items, figures }: { items: OrderItem[]; figures: OrderFigures },
  now: Date,
): Promise<CheckoutDecision> {
  // No person is known: the figures shown are those of an empty ledger.
  const state = await checkout.ledger.read(request.identityId, figures.quotaYear, now);
  const decision = unknownBuyerDecision(request.orderNo, figures, balances(state));
  const order = orderRecord(request, figures, decision, {
    now,
    items,
    personKey: request.identityId,
    fingerprint: { requestHash: requestHash(request), personalHash: null },
    consignee: null,
  });
  if ((await checkout.ordersStore.insertOrder(order)) === 'inserted') return decision;
  return (await earlierVerify(checkout, request).answer()) ?? Promise.reject(orderConflict());
}

/**
 * Customs is asked while encrypting. The two encryptions run one after the
 * other so the second finds the buyer's data key cached.
 */
async function sealWhileAskingCustoms(
  { customs, fieldCipher }: Checkout,
  request: VerifyRequest,
  year: number,
  eligible: boolean,
): Promise<Sealed> {
  const customsAnswer =
    eligible && customs
      ? askCustoms(
          customs.adapter,
          { name: request.payer.name, idNumber: request.payer.idNumber, year },
          customs.timeoutMs,
        )
      : Promise.resolve(null);
  const sealedFingerprint = await fingerprint(fieldCipher, request);
  const consignee = eligible ? await sealConsignee(fieldCipher, request, request.consignee) : null;
  return { fingerprint: sealedFingerprint, consignee, customs: await customsAnswer };
}

/** Reserves once (the ledger decides whether it fits) and records the answer it leads to. */
function reserveAndRecord(
  checkout: Checkout,
  verification: Verification,
): Promise<CheckoutDecision> {
  const { request, items, personKey, figures, reasons, sealed, now } = verification;
  const customsRemainingFen = sealed.customs?.remainingFen ?? null;
  const recordFor = ({ approved, balances: after }: Reserved) =>
    orderRecord(
      request,
      figures,
      checkoutDecision({
        orderNo: request.orderNo,
        figures,
        reasons,
        approved,
        balances: after,
        customsRemainingFen,
      }),
      {
        now,
        items,
        personKey,
        fingerprint: sealed.fingerprint,
        consignee: approved ? sealed.consignee : null,
      },
    );
  const reservation = {
    orderNo: request.orderNo,
    identityId: request.identityId,
    personKey,
    quotaYear: figures.quotaYear,
    now,
    fingerprint: sealed.fingerprint,
    eligible: reasons.length === 0,
    amountFen: figures.taxableFen,
    customsRemainingFen,
  };
  return checkout.reservations.reserve(reservation, earlierVerify(checkout, request), recordFor);
}

/** What a verify encrypted, and customs' answer (null: none in time, or not asked). */
interface Sealed {
  fingerprint: RequestFingerprint;
  consignee: EncryptedField | null;
  customs: CustomsQuotaFigures | null;
}

/** One verify between its checks and its reservation. */
interface Verification {
  request: VerifyRequest;
  /** The request's items with their catalogued categories: what is taxed and stored. */
  items: OrderItem[];
  /** Whose ledger the order counts against. */
  personKey: string;
  figures: OrderFigures;
  /** Why a rule refused the order; empty when it is eligible. */
  reasons: Reason[];
  sealed: Sealed;
  now: Date;
}

/** The stored order: the request's facts, the figures, and the answer a repeat gets back. */
function orderRecord(
  request: VerifyRequest,
  figures: OrderFigures,
  result: CheckoutDecision,
  extra: {
    now: Date;
    items: OrderItem[];
    personKey: string;
    fingerprint: RequestFingerprint;
    consignee: EncryptedField | null;
  },
): OrderRecord {
  return {
    orderNo: request.orderNo,
    identityId: request.identityId,
    personKey: extra.personKey,
    requestHash: extra.fingerprint.requestHash,
    personalHash: extra.fingerprint.personalHash,
    items: extra.items,
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
