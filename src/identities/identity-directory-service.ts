import type { BlindIndex } from '../crypto/blind-index';
import type { FieldCipher } from '../crypto/field-cipher-types';
import { DecryptionFailed, NotFound } from '../errors';
import type { IdentitiesStore, IdentityRecord } from './identities-types';
import { decryptIdentity } from './identity-ciphertext';
import type { BuyerIdentity, IdentityDirectory } from './identity-directory';
import { parseIdNumber } from './identity-number';
import { isReadable } from './identity-use-case-deps';
import { nameProblem, normaliseName } from './personal-fields';

function toBuyer(record: IdentityRecord): BuyerIdentity {
  return {
    identityId: record.id,
    personRef: record.personRef,
    userId: record.userId,
    verificationStatus: record.verificationStatus,
    // Creation refuses a record without the separate consent (and the guardian's, under 14).
    consentRecorded: record.consent.sensitiveDataConsent === true,
    consentWithdrawn: record.consentWithdrawnAt !== null,
  };
}

/** Compared by the keyed blind indexes, never by decrypting. */
function isPayer(
  record: IdentityRecord,
  payer: { name?: unknown; idNumber?: unknown } | undefined,
  blindIndex: BlindIndex,
): boolean {
  if (typeof payer?.name !== 'string' || typeof payer?.idNumber !== 'string') return false;
  const parsed = parseIdNumber(payer.idNumber);
  const name = normaliseName(payer.name);
  if (!parsed.ok || nameProblem(name)) return false;
  // Both are checked (no short cut), so timing does not tell which one differed.
  const idMatches = blindIndex.matches('idNumber', record.idNumberIndex, parsed.id.value);
  const nameMatches = blindIndex.matches('name', record.nameIndex, name);
  return idMatches && nameMatches;
}

/**
 * What checkout (quota) and disclosure see of identities. Nothing here writes
 * an access-log event: the callers do, with their own action and purpose.
 */
export function createIdentityDirectory({
  identitiesStore,
  fieldCipher,
  blindIndex,
}: {
  identitiesStore: IdentitiesStore;
  fieldCipher: FieldCipher;
  blindIndex: BlindIndex;
}): IdentityDirectory {
  const readable = async (identityId: unknown) => {
    if (typeof identityId !== 'string') return null;
    const record = await identitiesStore.findById(identityId);
    if (!isReadable(record)) return null;
    // An index made with a key version this instance has not loaded yet (a re-index under way).
    await blindIndex.loadVersionOf('idNumber', record.idNumberIndex);
    await blindIndex.loadVersionOf('name', record.nameIndex);
    return record;
  };
  return {
    async findBuyer(identityId) {
      const record = await readable(identityId);
      return record ? toBuyer(record) : null;
    },

    async payerMatches(identityId, payer) {
      const record = await readable(identityId);
      return record !== null && isPayer(record, payer, blindIndex);
    },

    async checkBuyer(identityId, payer) {
      const record = await readable(identityId);
      if (!record) return { buyer: null, payerIsBuyer: false };
      return { buyer: toBuyer(record), payerIsBuyer: isPayer(record, payer, blindIndex) };
    },

    async revealBuyer(identityId) {
      const record = await identitiesStore.findById(identityId);
      if (!record) throw new NotFound('identity');
      // A deleted identity has no ciphertext left: as unreadable as one whose key is gone.
      if (record.status !== 'ACTIVE') throw new DecryptionFailed();
      return decryptIdentity(fieldCipher, record);
    },
  };
}
