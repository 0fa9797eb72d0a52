import type { BlindIndex } from '../crypto/blind-index';
import { ValidationFailed } from '../errors';
import type { IdentitiesStore } from './identities-types';
import { parseIdNumber } from './identity-number';

/**
 * The natural person behind an id number, as the access log's search sees
 * it: only identity ids, never a record. Every registration of one person
 * carries the same `personRef` (keyed blind index of the id number), kept
 * when the record is deleted, so deleted registrations are found too.
 */
export interface PersonDirectory {
  /**
   * Ids of every identity record of the person, oldest first; none when the
   * number was never registered. A malformed number is a 400 naming
   * `idNumber`, never quoting it.
   */
  identityIdsOf(idNumber: string): Promise<string[]>;
}

export function createPersonDirectory(deps: {
  identitiesStore: Pick<IdentitiesStore, 'listIdsByPersonRef'>;
  blindIndex: Pick<BlindIndex, 'person'>;
}): PersonDirectory {
  return {
    async identityIdsOf(idNumber) {
      const parsed = parseIdNumber(idNumber);
      if (!parsed.ok) throw new ValidationFailed([{ path: 'idNumber', message: parsed.message }]);
      return deps.identitiesStore.listIdsByPersonRef(deps.blindIndex.person(parsed.id.value));
    },
  };
}
