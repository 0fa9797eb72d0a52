import type { BlindIndex } from '../crypto/blind-index';
import type { FieldCipher } from '../crypto/field-cipher-types';
import { NotFound } from '../errors';
import type { DisclosureReceipts, IdentitiesStore, IdentityRecord } from './identities-types';
import type { IdentityAccessEvents } from './identity-access-events';
import type { IdentityVerifier } from './identity-verification';

/** What the identities use cases work with; createIdentitiesService builds it once. */
export interface IdentityUseCaseDeps {
  store: IdentitiesStore;
  fieldCipher: FieldCipher;
  blindIndex: BlindIndex;
  verifier: IdentityVerifier;
  events: IdentityAccessEvents;
  disclosureReceipts: DisclosureReceipts;
  now: () => Date;
}

/** The identity, or 404 when it is unknown or deleted. */
export async function loadActive(
  store: Pick<IdentitiesStore, 'findById'>,
  identityId: string,
): Promise<IdentityRecord> {
  const record = await store.findById(identityId);
  if (!record || record.status !== 'ACTIVE') throw new NotFound('identity');
  return record;
}
