import type { BlindIndex } from '../crypto/blind-index';
import type { FieldCipher } from '../crypto/field-cipher-types';
import { DecryptionFailed, NotFound } from '../errors';
import type { DisclosureReceipts, IdentitiesStore, IdentityRecord } from './identities-types';
import type { ExportSources } from './export-ports';
import type { IdentityAccessEvents } from './identity-access-events';
import type { IdentityVerifier } from './identity-verification';
import type { ErasureHold } from './legal-hold-port';

/** What the identities use cases work with; createIdentitiesService builds it once. */
export interface IdentityUseCaseDeps {
  store: IdentitiesStore;
  fieldCipher: FieldCipher;
  blindIndex: BlindIndex;
  verifier: IdentityVerifier;
  events: IdentityAccessEvents;
  disclosureReceipts: DisclosureReceipts;
  exportSources: ExportSources;
  /** Keeps what the law requires before an erasure destroys the key. */
  legalHold: ErasureHold;
  now: () => Date;
}

/** The identity, or 404 when it is unknown, deleted or being deleted. */
export async function loadActive(
  store: Pick<IdentitiesStore, 'findById'>,
  identityId: string,
): Promise<IdentityRecord> {
  const record = await store.findById(identityId);
  if (!isReadable(record)) throw new NotFound('identity');
  return record;
}

/** The identity a delete may (still) work on: active, whether or not a delete began. */
export async function loadForDeletion(
  store: Pick<IdentitiesStore, 'findById'>,
  identityId: string,
): Promise<IdentityRecord> {
  const record = await store.findById(identityId);
  if (!record || record.status !== 'ACTIVE') throw new NotFound('identity');
  return record;
}

/** Active and no deletion begun: what every read of an identity may see. */
export function isReadable(record: IdentityRecord | null): record is IdentityRecord {
  return record !== null && record.status === 'ACTIVE' && record.deletionStartedAt === null;
}

/**
 * Runs `work`, which decrypts an identity read a moment earlier. A delete
 * that began in between destroys the data key under it: that is the 404 of
 * a deleted identity, not a decryption failure. An identity still readable
 * whose ciphertext cannot be opened (a restored copy, a tampered record)
 * stays a DecryptionFailed.
 */
export async function unlessDeletedMeanwhile<T>(
  store: Pick<IdentitiesStore, 'findById'>,
  identityId: string,
  work: () => Promise<T>,
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof DecryptionFailed && !isReadable(await store.findById(identityId))) {
      throw new NotFound('identity');
    }
    throw error;
  }
}
