import { NotFound } from '../errors';
import type { RequestContext } from '../http/route';
import type {
  IdentityCorrection,
  IdentityFieldChanges,
  IdentityRecord,
  MaskedIdentity,
} from './identities-types';
import { IDENTITY_ACCESS } from './identity-access-events';
import { decryptIdentity, encryptCorrection, type IdentityPlaintext } from './identity-ciphertext';
import {
  loadActive,
  unlessDeletedMeanwhile,
  type IdentityUseCaseDeps,
} from './identity-use-case-deps';
import { maskedView } from './identity-views';
import { CORRECTABLE_FIELDS } from './personal-fields';

/**
 * Corrects the name or phone (PIPL art. 46): re-encrypts what changed, checks
 * a new name with the provider again, and puts the old values back when the
 * correction cannot be recorded.
 */
export async function correctIdentity(
  deps: IdentityUseCaseDeps,
  ctx: RequestContext,
  identityId: string,
  changes: IdentityCorrection,
): Promise<MaskedIdentity> {
  const record = await loadActive(deps.store, identityId);
  const facts = {
    ...IDENTITY_ACCESS.update,
    identityId,
    fields: CORRECTABLE_FIELDS.filter((field) => changes[field] !== undefined),
  };
  const plain = await deps.events.decrypting(ctx, facts, () =>
    unlessDeletedMeanwhile(deps.store, identityId, () => decryptIdentity(deps.fieldCipher, record)),
  );
  const update = await correctedFields(deps, identityId, plain, changes);
  const at = deps.now();
  if (!(await deps.store.updateFields(identityId, update, at))) throw new NotFound('identity');
  await deps.events.written(ctx, facts, () => restore(deps, record, plain));
  return maskedView({ ...record, ...update, updatedAt: at }, { ...plain, ...changes }, deps.now());
}

/** The new ciphertext; for a new name, also its blind index and the provider's answer. */
async function correctedFields(
  deps: IdentityUseCaseDeps,
  identityId: string,
  plain: IdentityPlaintext,
  changes: IdentityCorrection,
): Promise<IdentityFieldChanges> {
  const update: IdentityFieldChanges = await encryptCorrection(
    deps.fieldCipher,
    identityId,
    changes,
  );
  if (changes.name !== undefined && changes.name !== plain.name) {
    update.nameIndex = deps.blindIndex.name(changes.name);
    // The authority confirmed the old name with this id number, not the new one.
    update.verificationStatus = await deps.verifier.verify({
      name: changes.name,
      idNumber: plain.idNumber,
    });
    update.verifiedAt = update.verificationStatus === 'UNVERIFIED' ? null : deps.now();
  }
  return update;
}

/**
 * Puts back every field a correction may have replaced, and the old update
 * time. The old ciphertext stays readable under any profile, but the old name
 * index may name a key version a profile move (keys move-profile) has retired
 * meanwhile, so it is computed again from the name already in hand: nothing
 * is decrypted or encrypted here.
 */
async function restore(
  deps: IdentityUseCaseDeps,
  record: IdentityRecord,
  plain: IdentityPlaintext,
): Promise<void> {
  await deps.store.updateFields(
    record.id,
    {
      name: record.name,
      phone: record.phone,
      nameIndex: deps.blindIndex.name(plain.name),
      verificationStatus: record.verificationStatus,
      verifiedAt: record.verifiedAt,
    },
    record.updatedAt,
  );
}
