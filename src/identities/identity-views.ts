import { beijingCalendarDate } from '../beijing-time';
import { isAbroad } from '../cross-border/jurisdiction';
import type { DisclosureReceipt } from '../disclosure/disclosure-types';
import type { ExportedOrder, QuotaYearUsage, RecipientProfile } from './export-ports';
import type {
  ConsentHistoryEntry,
  ExportedDisclosure,
  IdentityExport,
  IdentityRecord,
  MaskedIdentity,
} from './identities-types';
import type { IdentityPlaintext } from './identity-ciphertext';
import { crossBorderBasisText, legalBasisOf } from './legal-bases';
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

/** A receipt with the recipient as the clients module describes it (null: unknown client). */
export interface DescribedReceipt {
  receipt: DisclosureReceipt;
  recipient: RecipientProfile | null;
}

/** What the export holds beyond the identity record. */
export interface ExportExtras {
  photos: IdentityExport['photos'];
  disclosures: DescribedReceipt[];
  orders: ExportedOrder[];
  quota: QuotaYearUsage[];
}

/** The subject's own data in plaintext (PIPL art. 45), with every disclosure of it. */
export function exportView(
  record: IdentityRecord,
  plain: IdentityPlaintext,
  extra: ExportExtras,
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
    consent: consentHistory(record),
    registeredBy: { userId: record.registeredBy.userId },
    createdAt: record.createdAt.toISOString(),
    updatedAt: record.updatedAt.toISOString(),
    photos: extra.photos,
    disclosures: extra.disclosures.map(disclosureView),
    orders: extra.orders,
    quota: extra.quota,
    exportedAt: now.toISOString(),
  };
}

/** `identity-export-2026-12-01.json`: the export's date in Beijing, for a download. */
export function exportFileName(exportedAt: string): string {
  const { year, month, day } = beijingCalendarDate(new Date(exportedAt));
  const two = (n: number) => String(n).padStart(2, '0');
  return `identity-export-${year}-${two(month)}-${two(day)}.json`;
}

/** The consent as given, then its withdrawal if any: a list, so later kinds append. */
function consentHistory(record: IdentityRecord): ConsentHistoryEntry[] {
  const given: ConsentHistoryEntry = {
    event: 'GIVEN',
    at: record.consent.consentedAt.toISOString(),
    policyVersion: record.consent.policyVersion,
    sensitiveDataConsent: true,
    guardianConsent: record.consent.guardianConsent,
  };
  const withdrawnAt = record.consentWithdrawnAt ?? null;
  return withdrawnAt ? [given, { event: 'WITHDRAWN', at: withdrawnAt.toISOString() }] : [given];
}

function disclosureView({ receipt, recipient }: DescribedReceipt): ExportedDisclosure {
  const basis = receipt.country && isAbroad(receipt.country) ? receipt.crossBorderBasis : undefined;
  return {
    at: new Date(receipt.at).toISOString(),
    partnerCode: receipt.partnerCode,
    role: receipt.role,
    recipient: { name: recipient?.name ?? null, contact: recipient?.contact ?? null },
    fields: [...receipt.fields],
    purpose: receipt.purpose,
    legalBasis: legalBasisOf(receipt.purpose),
    orderNo: receipt.orderNo,
    country: receipt.country ?? null,
    ...(basis
      ? { crossBorderBasis: basis, crossBorderBasisText: crossBorderBasisText(basis) }
      : {}),
  };
}
