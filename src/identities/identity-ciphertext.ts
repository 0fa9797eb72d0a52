import type { EncryptedField, FieldCipher, FieldRef } from '../crypto/field-cipher-types';
import { DecryptionFailed } from '../errors';
import {
  IDENTITIES_COLLECTION,
  PHOTOS_COLLECTION,
  type IdentityCorrection,
  type IdentityRecord,
  type PhotoSide,
} from './identities-types';
import { CORRECTABLE_FIELDS, type CorrectableField, type IdentityField } from './personal-fields';

/** An identity's text fields in plaintext: only ever in memory. */
export type IdentityPlaintext = Record<IdentityField, string>;

/** Where one of an identity's fields lives; bound into its ciphertext, so it cannot be moved. */
export function fieldRef(identityId: string, field: IdentityField): FieldRef {
  return { subjectId: identityId, collection: IDENTITIES_COLLECTION, recordId: identityId, field };
}

export function photoRef(identityId: string, side: PhotoSide): FieldRef {
  return {
    subjectId: identityId,
    collection: PHOTOS_COLLECTION,
    recordId: identityId,
    field: `photo.${side}`,
  };
}

/** Runs `work` on each identity field in turn; the compiler checks that none is missing. */
async function eachField<T>(
  work: (field: IdentityField) => Promise<T>,
): Promise<Record<IdentityField, T>> {
  return { name: await work('name'), idNumber: await work('idNumber'), phone: await work('phone') };
}

/** Every text field of the record; DecryptionFailed when one is gone or its key is destroyed. */
export function decryptIdentity(
  fieldCipher: FieldCipher,
  record: IdentityRecord,
): Promise<IdentityPlaintext> {
  return eachField(async (field) => {
    const ciphertext = record[field];
    if (!ciphertext) throw new DecryptionFailed();
    return fieldCipher.decryptText(fieldRef(record.id, field), ciphertext);
  });
}

/** The id number alone: DecryptionFailed when it is gone or its key is destroyed. */
export function decryptIdNumber(fieldCipher: FieldCipher, record: IdentityRecord): Promise<string> {
  if (!record.idNumber) return Promise.reject(new DecryptionFailed());
  return fieldCipher.decryptText(fieldRef(record.id, 'idNumber'), record.idNumber);
}

/** Every text field under the subject's data key, which must exist already. */
export function encryptIdentity(
  fieldCipher: FieldCipher,
  identityId: string,
  plain: IdentityPlaintext,
): Promise<Record<IdentityField, EncryptedField>> {
  return eachField((field) => fieldCipher.encrypt(fieldRef(identityId, field), plain[field]));
}

/** Only the fields a correction changes. */
export async function encryptCorrection(
  fieldCipher: FieldCipher,
  identityId: string,
  changes: IdentityCorrection,
): Promise<Partial<Record<CorrectableField, EncryptedField>>> {
  const encrypted: Partial<Record<CorrectableField, EncryptedField>> = {};
  for (const field of CORRECTABLE_FIELDS) {
    const value = changes[field];
    if (value !== undefined) {
      encrypted[field] = await fieldCipher.encrypt(fieldRef(identityId, field), value);
    }
  }
  return encrypted;
}
