import { DecryptionFailed } from '../errors';
import type { EncryptedField, FieldCipher, FieldRef } from '../crypto/field-cipher-types';
import type { ConsigneeData } from './order-lifecycle-types';

/**
 * An order's encrypted fields: where each lives (bound into its AAD, so these
 * names must never change for stored orders) and what is inside.
 */

const ORDERS_COLLECTION = 'orders';

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

/** The consignee as stored: `{name, phone, address}` as JSON under the buyer's data key. */
export function sealConsignee(
  fieldCipher: FieldCipher,
  order: { identityId: string; orderNo: string },
  consignee: ConsigneeData,
): Promise<EncryptedField> {
  return fieldCipher.encrypt(
    orderFieldRef(order, 'consignee'),
    JSON.stringify({ name: consignee.name, phone: consignee.phone, address: consignee.address }),
  );
}

/** The stored consignee, decrypted; DecryptionFailed for anything but the three strings. */
export async function openConsignee(
  fieldCipher: FieldCipher,
  order: { identityId: string; orderNo: string },
  sealed: EncryptedField,
): Promise<ConsigneeData> {
  const text = await fieldCipher.decryptText(orderFieldRef(order, 'consignee'), sealed);
  const parsed = JSON.parse(text) as Partial<ConsigneeData>;
  if (
    typeof parsed.name !== 'string' ||
    typeof parsed.phone !== 'string' ||
    typeof parsed.address !== 'string'
  ) {
    throw new DecryptionFailed();
  }
  return { name: parsed.name, phone: parsed.phone, address: parsed.address };
}
