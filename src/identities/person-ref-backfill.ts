import type { AccessLog } from '../audit/audit-types';
import type { BlindIndex } from '../crypto/blind-index';
import type { FieldCipher } from '../crypto/field-cipher-types';
import type { RequestContext } from '../http/route';
import type { IdentitiesStore } from './identities-types';
import { decryptIdNumber } from './identity-ciphertext';

/**
 * Gives identities registered before person keys existed their personRef.
 * Each needs its id number decrypted once (an access, recorded as such), and
 * `beforeAssign` runs before the personRef is stored, so a run stopped half
 * way finds the identity still pending and does it again: `beforeAssign`
 * must be idempotent.
 */
export interface PersonRefBackfill {
  pending(): Promise<number>;
  run(options: {
    batchSize: number;
    context: RequestContext;
    beforeAssign(identityId: string, personRef: string): Promise<void>;
    onIdentity?(done: number): void | Promise<void>;
  }): Promise<{ assigned: number }>;
}

export function createPersonRefBackfill(deps: {
  store: IdentitiesStore;
  fieldCipher: FieldCipher;
  blindIndex: BlindIndex;
  accessLog: AccessLog;
}): PersonRefBackfill {
  const { store } = deps;
  return {
    pending: () => store.countWithoutPersonRef(),
    async run({ batchSize, context, beforeAssign, onIdentity }) {
      let assigned = 0;
      let after: string | null = null;
      for (;;) {
        const batch = await store.listWithoutPersonRef(after, batchSize);
        for (const record of batch) {
          await deps.accessLog.record({
            context,
            action: 'identity.read',
            purpose: 'record-keeping',
            outcome: 'SUCCESS',
            identityId: record.id,
            fields: ['idNumber'],
          });
          const personRef = deps.blindIndex.person(await decryptIdNumber(deps.fieldCipher, record));
          await beforeAssign(record.id, personRef);
          if (await store.setPersonRef(record.id, personRef)) assigned += 1;
          await onIdentity?.(assigned);
        }
        if (batch.length < batchSize) return { assigned };
        after = batch[batch.length - 1]!.id;
      }
    },
  };
}
