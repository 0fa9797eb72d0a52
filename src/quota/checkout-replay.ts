import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { EncryptedField, FieldCipher } from '../crypto/field-cipher-types';
import { Conflict } from '../errors';
import { orderFieldRef } from './order-fields';
import type {
  CheckoutDecision,
  OrdersStore,
  RequestFingerprint,
  VerifyRequest,
} from './orders-types';

/**
 * How a repeated verify is recognised: the same order number with the same
 * request gets the stored answer again; with a different request, 409.
 */

const sha256 = (value: unknown) =>
  createHash('sha256')
    .update(canonicalize(value) ?? '')
    .digest('hex');

/** Every field but the personal ones (payer, consignee), listed so none slips in unseen. */
export function requestHash(request: VerifyRequest): string {
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

/** The personal fields' digest; stored only encrypted (see RequestFingerprint). */
function personalDigest(request: VerifyRequest): string {
  return sha256({ payer: request.payer, consignee: request.consignee });
}

/** The request's fingerprint, its personal digest encrypted under the buyer's data key. */
export async function fingerprint(
  fieldCipher: FieldCipher,
  request: VerifyRequest,
): Promise<RequestFingerprint & { personalHash: EncryptedField }> {
  return {
    requestHash: requestHash(request),
    personalHash: await fieldCipher.encrypt(
      orderFieldRef(request, 'requestDigest'),
      personalDigest(request),
    ),
  };
}

export function orderConflict(): Conflict {
  return new Conflict(
    'ORDER_CONFLICT',
    'This order number was already verified with a different request.',
  );
}

/** An earlier verify of the same order number, as the reservation protocol meets it. */
export interface EarlierVerify {
  /** Its stored answer; null when none is stored. Rejects with 409 for a different request. */
  answer(): Promise<CheckoutDecision | null>;
  /** Rejects with 409 when `stored` (an order or a hold) was left by a different request. */
  assertSameRequest(stored: StoredFingerprint): Promise<void>;
}

/** A fingerprint as stored with an order or a hold. */
export type StoredFingerprint = RequestFingerprint & { identityId: string; orderNo: string };

export function earlierVerify(
  { ordersStore, fieldCipher }: { ordersStore: OrdersStore; fieldCipher: FieldCipher },
  request: VerifyRequest,
): EarlierVerify {
  /** Same request again: nothing to do. A different one under that orderNo: 409. */
  async function assertSameRequest(stored: StoredFingerprint): Promise<void> {
    if (stored.requestHash !== requestHash(request)) throw orderConflict();
    if (stored.personalHash === null) return;
    const digest = await fieldCipher
      .decryptText(orderFieldRef(stored, 'requestDigest'), stored.personalHash)
      .catch(() => null);
    // Undecryptable (the buyer was deleted): sameness cannot be shown, so no replay.
    if (digest !== personalDigest(request)) throw orderConflict();
  }

  return {
    async answer() {
      const stored = await ordersStore.findOrder(request.orderNo);
      if (!stored) return null;
      await assertSameRequest(stored);
      return stored.result;
    },
    assertSameRequest,
  };
}
