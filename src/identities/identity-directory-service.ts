import { timingSafeEqual } from 'node:crypto';
import type { BlindIndex } from '../crypto/blind-index';
import type { FieldCipher } from '../crypto/field-cipher-types';
import { DecryptionFailed, NotFound } from '../errors';
import type { IdentitiesStore, IdentityRecord } from './identities-types';
import { decryptIdentity } from './identity-ciphertext';
import type { IdentityDirectory } from './identity-directory';
import { parseIdNumber } from './identity-number';
import { nameProblem, normaliseName } from './personal-fields';

function sameIndex(a: string | null, b: string): boolean {
  if (a === null || a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

/**
 * Coalesces concurrent reads of the same identity into one database read.
 * Checkout asks findBuyer and payerMatches at once; each read is a scan on the
 * embedded engine. Nothing is kept once the read settles, so a correction or a
 * deletion is seen by the very next call.
 */
function singleFlight(read: (id: string) => Promise<IdentityRecord | null>) {
  const inFlight = new Map<string, Promise<IdentityRecord | null>>();
  return (id: string): Promise<IdentityRecord | null> => {
    const pending = inFlight.get(id);
    if (pending) return pending;
    const started = read(id).finally(() => inFlight.delete(id));
    inFlight.set(id, started);
    return started;
  };
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
  const findRecord = singleFlight((id) => identitiesStore.findById(id));
  return {
    async findBuyer(identityId) {
      if (typeof identityId !== 'string') return null;
      const record = await findRecord(identityId);
      if (!record || record.status !== 'ACTIVE' || record.deletionStartedAt) return null;
      return {
        identityId: record.id,
        userId: record.userId,
        verificationStatus: record.verificationStatus,
        // Creation refuses a record without the separate consent (and the guardian's, under 14).
        consentRecorded: record.consent.sensitiveDataConsent === true,
      };
    },

    async payerMatches(identityId, payer) {
      if (typeof payer?.name !== 'string' || typeof payer?.idNumber !== 'string') return false;
      const record = await findRecord(identityId);
      if (!record || record.status !== 'ACTIVE' || record.deletionStartedAt) return false;
      const parsed = parseIdNumber(payer.idNumber);
      const name = normaliseName(payer.name);
      if (!parsed.ok || nameProblem(name)) return false;
      // Both are checked (no short cut), so timing does not tell which one differed.
      const idMatches = sameIndex(record.idNumberIndex, blindIndex.idNumber(parsed.id.value));
      const nameMatches = sameIndex(record.nameIndex, blindIndex.name(name));
      return idMatches && nameMatches;
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
