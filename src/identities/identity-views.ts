import type { DisclosureReceipt } from '../disclosure/disclosure-types';
import type { IdentityExport, IdentityRecord, MaskedIdentity } from './identities-types';
import type { IdentityPlaintext } from './identity-ciphertext';
import { ageOn, birthDateOf, todayInShanghai } from './identity-number';
import { maskIdNumber, maskName, maskPhone } from './personal-fields';

/** Completed years on `now`'s date in China. */
function ageOf(idNumber: string, now: Date): number {
  return ageOn(birthDateOf(idNumber), todayInShanghai(now));
}

/** What checkout sees: masked fields and statuses, never a plaintext id number. */
export function maskedView(
  record: IdentityRecord,
  plain: IdentityPlaintext,
  now: Date,
): MaskedIdentity {
  return {
    identityId: record.id,
    userId: record.userId,
    nameMasked: maskName(plain.name),
    idNumberMasked: maskIdNumber(plain.idNumber),
    phoneMasked: maskPhone(plain.phone),
    age: ageOf(plain.idNumber, now),
    status: record.verificationStatus,
    relation: record.relation,
    flags: [...record.flags],
    createdAt: record.createdAt.toISOString(),
    updatedAt: record.updatedAt.toISOString(),
  };
}

/** The subject's own data in plaintext (PIPL art. 45), with every disclosure of it. */
export function exportView(
  record: IdentityRecord,
  plain: IdentityPlaintext,
  extra: { photos: IdentityExport['photos']; disclosures: DisclosureReceipt[] },
  now: Date,
): IdentityExport {
  return {
    identityId: record.id,
    userId: record.userId,
    ...plain,
    age: ageOf(plain.idNumber, now),
    status: record.verificationStatus,
    relation: record.relation,
    flags: [...record.flags],
    consent: {
      policyVersion: record.consent.policyVersion,
      sensitiveDataConsent: true,
      guardianConsent: record.consent.guardianConsent,
      consentedAt: record.consent.consentedAt.toISOString(),
    },
    registeredBy: { userId: record.registeredBy.userId },
    createdAt: record.createdAt.toISOString(),
    updatedAt: record.updatedAt.toISOString(),
    photos: extra.photos,
    disclosures: extra.disclosures.map((receipt) => ({
      at: new Date(receipt.at).toISOString(),
      partnerCode: receipt.partnerCode,
      role: receipt.role,
      fields: [...receipt.fields],
      purpose: receipt.purpose,
    })),
  };
}
