import { randomUUID } from 'node:crypto';
import { Conflict, Unprocessable, ValidationFailed } from '../errors';
import type { RequestContext } from '../http/route';
import type {
  IdentityRecord,
  MaskedIdentity,
  NewIdentityInput,
  Relation,
} from './identities-types';
import { IDENTITY_ACCESS } from './identity-access-events';
import { decryptIdentity, encryptIdentity, type IdentityPlaintext } from './identity-ciphertext';
import type { VerificationStatus } from './identity-directory';
import { ageOn, parseIdNumber, todayInShanghai } from './identity-number';
import type { IdentityUseCaseDeps } from './identity-use-case-deps';
import { maskedView } from './identity-views';

/** Under this age (PIPL art. 31) a guardian's consent is required. */
const GUARDIAN_CONSENT_AGE = 14;

/** A registration that passed every rule, normalised: what is verified, encrypted and stored. */
interface Registration {
  userId: string;
  plain: IdentityPlaintext;
  divisionCodeKnown: boolean;
  consent: { policyVersion: string; guardianConsent: boolean | null };
  relation: Relation;
}

export interface RegistrationResult {
  /** False when this user had registered this id number already (same identity back). */
  created: boolean;
  identity: MaskedIdentity;
}

/**
 * Registers a person for a user, once per user and id number: check the
 * rules, answer with the existing identity if there is one, verify with the
 * provider, encrypt and store, record.
 */
export async function registerIdentity(
  deps: IdentityUseCaseDeps,
  ctx: RequestContext,
  input: NewIdentityInput,
): Promise<RegistrationResult> {
  const registration = checkRegistration(input, deps.now());
  const idNumberIndex = deps.blindIndex.idNumber(registration.plain.idNumber);
  const personRef = deps.blindIndex.person(registration.plain.idNumber);
  const person = {
    personRef,
    // Every live key version: during a re-index a record may still carry the old one.
    idNumberIndexes: deps.blindIndex.candidates('idNumber', registration.plain.idNumber),
  };
  const findExisting = () => deps.store.findActiveRegistration(registration.userId, person);
  const existing = await findExisting();
  if (existing) return { created: false, identity: await showExisting(deps, ctx, existing) };

  const verificationStatus = await deps.verifier.verify({
    name: registration.plain.name,
    idNumber: registration.plain.idNumber,
  });
  const record = await encryptAndStore(deps, ctx, registration, {
    idNumberIndex,
    personRef,
    verificationStatus,
  });
  if (!record) {
    // A concurrent request registered the same person for this user first: answer with theirs.
    const winner = await findExisting();
    if (!winner) throw new Conflict('CONFLICT', 'The identity changed concurrently; retry.');
    return { created: false, identity: await showExisting(deps, ctx, winner) };
  }

  await deps.events.written(ctx, { ...IDENTITY_ACCESS.create, identityId: record.id }, async () => {
    await deps.store.remove(record.id);
    await deps.fieldCipher.destroySubjectKey(record.id);
  });
  return { created: true, identity: maskedView(record, registration.plain, deps.now()) };
}

/**
 * The rules a registration must meet: separate consent to sensitive data
 * (PIPL art. 29), a valid id number, and a guardian's consent under 14.
 */
function checkRegistration(input: NewIdentityInput, now: Date): Registration {
  const consent = input.consent;
  if (!consent || consent.sensitiveDataConsent !== true) {
    throw new Unprocessable(
      'CONSENT_REQUIRED',
      'Separate consent to processing sensitive personal data is required.',
    );
  }
  const parsed = parseIdNumber(input.idNumber, now);
  if (!parsed.ok) throw new ValidationFailed([{ path: 'idNumber', message: parsed.message }]);
  const age = ageOn(parsed.id.birthDate, todayInShanghai(now));
  if (age < GUARDIAN_CONSENT_AGE && consent.guardianConsent !== true) {
    throw new Unprocessable(
      'GUARDIAN_CONSENT_REQUIRED',
      'A guardian must consent for a person under 14.',
    );
  }
  return {
    userId: input.userId,
    plain: { name: input.name, idNumber: parsed.id.value, phone: input.phone },
    divisionCodeKnown: parsed.id.divisionCodeKnown,
    consent: {
      policyVersion: consent.policyVersion,
      guardianConsent: consent.guardianConsent ?? null,
    },
    relation: input.relation,
  };
}

/** An identity already registered is answered masked, and that read is recorded like one. */
function showExisting(
  deps: IdentityUseCaseDeps,
  ctx: RequestContext,
  record: IdentityRecord,
): Promise<MaskedIdentity> {
  return deps.events.read(ctx, { ...IDENTITY_ACCESS.create, identityId: record.id }, async () =>
    maskedView(record, await decryptIdentity(deps.fieldCipher, record), deps.now()),
  );
}

/**
 * Creates the subject's data key, encrypts and inserts. Null when a
 * concurrent registration of the same person won the unique index; the key
 * made here is destroyed then.
 */
async function encryptAndStore(
  deps: IdentityUseCaseDeps,
  ctx: RequestContext,
  registration: Registration,
  checked: { idNumberIndex: string; personRef: string; verificationStatus: VerificationStatus },
): Promise<IdentityRecord | null> {
  const identityId = randomUUID();
  const at = deps.now();
  await deps.fieldCipher.ensureSubjectKey(identityId);
  const record: IdentityRecord = {
    id: identityId,
    userId: registration.userId,
    status: 'ACTIVE',
    verificationStatus: checked.verificationStatus,
    verifiedAt: checked.verificationStatus === 'UNVERIFIED' ? null : at,
    idNumberIndex: checked.idNumberIndex,
    nameIndex: deps.blindIndex.name(registration.plain.name),
    personRef: checked.personRef,
    ...(await encryptIdentity(deps.fieldCipher, identityId, registration.plain)),
    flags: registration.divisionCodeKnown ? [] : ['UNKNOWN_DIVISION_CODE'],
    consent: {
      policyVersion: registration.consent.policyVersion,
      sensitiveDataConsent: true,
      guardianConsent: registration.consent.guardianConsent,
      consentedAt: at,
    },
    consentWithdrawnAt: null,
    relation: registration.relation,
    registeredBy: { userId: registration.userId, clientId: ctx.actor.clientId },
    createdAt: at,
    updatedAt: at,
    deletionStartedAt: null,
    deletedAt: null,
  };
  if ((await deps.store.insert(record)) === 'duplicate') {
    await deps.fieldCipher.destroySubjectKey(identityId);
    return null;
  }
  return record;
}
