import type { AuditAction, AuditPurpose } from '../audit/audit-types';

/** The partner roles that ever receive personal data. */
export type PartnerRole = 'customs' | 'carrier';

interface BuyerSource {
  name: string;
  idNumber: string;
  phone: string;
}

interface ConsigneeSource {
  name: string;
  phone: string;
  address: string;
}

/**
 * The personal values one order can draw on, decrypted: only the halves the
 * role's policy reads need be present (a carrier's disclosure never decrypts
 * the buyer). Only `applyDisclosurePolicy` reads it; no payload is built from
 * it directly.
 */
export interface PersonalSource {
  buyer?: BuyerSource;
  consignee?: ConsigneeSource;
}

export type SourceGroup = keyof PersonalSource;

type SourcePath = `buyer.${keyof BuyerSource}` | `consignee.${keyof ConsigneeSource}`;

/** One personal field a recipient gets: where it goes in the payload, and where it comes from. */
type FieldRule =
  | { field: string; source: SourcePath }
  /** A fixed value that still describes the subject (the id type), so it is disclosed and recorded. */
  | { field: string; constant: string };

export interface RolePolicy {
  /** The customs message the fields serve: CEB621 (import inventory) or CEB511 (waybill). */
  message: string;
  action: Extract<AuditAction, 'declaration.disclose' | 'shipment.disclose'>;
  purpose: Extract<AuditPurpose, 'customs-clearance' | 'delivery'>;
  legalBasis: string;
  fields: readonly FieldRule[];
}

/**
 * Minimum necessary (PIPL art. 6), as data: per recipient role, the only
 * personal fields it receives, in every representation (JSON, CEB621 XML,
 * PKCS#7). Anything not listed here never leaves for that role.
 */
export const DISCLOSURE_POLICY: Readonly<Record<PartnerRole, RolePolicy>> = Object.freeze({
  customs: {
    message: 'CEB621',
    action: 'declaration.disclose',
    purpose: 'customs-clearance',
    legalBasis:
      'PIPL art. 13(1)(3), a statutory duty: the cross-border e-commerce retail import inventory ' +
      '(CEB621, GAC Announcement 2018 No. 194) must name the buyer (orderer and taxpayer) by name, ' +
      'id type, id number and telephone, and give the delivery address. The consignee name and ' +
      'phone are not part of it and are withheld.',
    fields: [
      { field: 'buyer.name', source: 'buyer.name' },
      { field: 'buyer.idType', constant: '1' },
      { field: 'buyer.idNumber', source: 'buyer.idNumber' },
      { field: 'buyer.telephone', source: 'buyer.phone' },
      { field: 'consignee.address', source: 'consignee.address' },
    ],
  },
  carrier: {
    message: 'CEB511',
    action: 'shipment.disclose',
    purpose: 'delivery',
    legalBasis:
      'PIPL art. 13(1)(2), necessary to perform the purchase contract the buyer is party to: the ' +
      'waybill (CEB511) and the delivery need the consignee name, telephone and address. The buyer ' +
      'id number, and the buyer name and phone where the buyer is not the consignee, are withheld.',
    fields: [
      { field: 'consignee.name', source: 'consignee.name' },
      { field: 'consignee.telephone', source: 'consignee.phone' },
      { field: 'consignee.address', source: 'consignee.address' },
    ],
  },
});

/** What one role may receive of one subject, and the facts its receipt records. */
export interface Disclosure {
  /** Nested objects keyed by the policy's field paths, e.g. `{buyer: {name}, consignee: {address}}`. */
  personal: Record<string, Record<string, string>>;
  fields: string[];
  purpose: RolePolicy['purpose'];
  action: RolePolicy['action'];
}

function read(source: PersonalSource, path: SourcePath): string {
  const [group, key] = path.split('.') as [SourceGroup, string];
  const value = (source[group] as Record<string, string> | undefined)?.[key];
  if (typeof value !== 'string') throw new Error(`personal source lacks ${path}`);
  return value;
}

/** Which halves of the personal source a role's policy reads. */
export function sourceGroupsOf(role: PartnerRole): Set<SourceGroup> {
  const groups = new Set<SourceGroup>();
  for (const rule of DISCLOSURE_POLICY[role].fields) {
    if ('source' in rule) groups.add(rule.source.split('.')[0] as SourceGroup);
  }
  return groups;
}

/**
 * The one place personal data is selected for a partner: every payload
 * (list, item, XML, envelope) takes its personal part from here.
 */
export function applyDisclosurePolicy(role: PartnerRole, source: PersonalSource): Disclosure {
  const policy = DISCLOSURE_POLICY[role];
  const personal: Record<string, Record<string, string>> = {};
  for (const rule of policy.fields) {
    const [group, key] = rule.field.split('.') as [string, string];
    const value = 'constant' in rule ? rule.constant : read(source, rule.source);
    personal[group] = { ...personal[group], [key]: value };
  }
  return {
    personal,
    fields: policy.fields.map((rule) => rule.field),
    purpose: policy.purpose,
    action: policy.action,
  };
}

/** The field names a role receives, e.g. for receipts and OpenAPI text. */
export function disclosedFields(role: PartnerRole): string[] {
  return DISCLOSURE_POLICY[role].fields.map((rule) => rule.field);
}
