import type { EncryptedField } from '../crypto/field-cipher-types';
import type { CrossBorderBasis } from '../cross-border/jurisdiction';
import type { ReceiptsStore } from '../disclosure/disclosure-types';
import type { ExportedOrder, QuotaYearUsage } from './export-ports';
import type { VerificationStatus } from './identity-directory';
import type { CorrectableField } from './personal-fields';

export const IDENTITIES_COLLECTION = 'identities';
export const PHOTOS_COLLECTION = 'identity_photos';
export const PHOTO_SIDES = ['front', 'back'] as const;
export type PhotoSide = (typeof PHOTO_SIDES)[number];

export type Relation = 'self' | 'other';
export type IdentityFlag = 'UNKNOWN_DIVISION_CODE';

/** The separate consent PIPL art. 29 (and art. 31 for under-14s) asks for, as recorded. */
export interface ConsentRecord {
  policyVersion: string;
  sensitiveDataConsent: true;
  guardianConsent: boolean | null;
  consentedAt: Date;
}

/**
 * An identity as stored: personal fields only as `ef1.` ciphertext under the
 * subject's data key (subjectId = id), plus keyed blind indexes for lookups.
 */
export interface IdentityRecord {
  id: string;
  userId: string;
  status: 'ACTIVE' | 'DELETED';
  verificationStatus: VerificationStatus;
  verifiedAt: Date | null;
  /** HMAC of the normalised id number; `deleted:<id>` after deletion (frees the unique index). */
  idNumberIndex: string;
  nameIndex: string | null;
  /**
   * Keyed pseudonym of the person (their id number), shared by every
   * registration of that person; it keys the quota ledger. Kept after
   * deletion: the ledger is a transaction record the law requires. Null only
   * on a record made before it existed, until `npm run quota:migrate`.
   */
  personRef: string | null;
  name: EncryptedField | null;
  idNumber: EncryptedField | null;
  phone: EncryptedField | null;
  flags: IdentityFlag[];
  consent: ConsentRecord;
  /** When the person withdrew the consent (PIPL art. 15): no new checkout from then on. */
  consentWithdrawnAt: Date | null;
  relation: Relation;
  /** Who registered the person: for `relation: other`, someone other than the person. */
  registeredBy: { userId: string; clientId: string };
  createdAt: Date;
  updatedAt: Date;
  /**
   * Set by a delete before it destroys the data key: from then on the
   * identity is gone for every reader, so a read that meets the destroyed
   * key can tell a deletion from a broken record. A delete that stopped
   * half-way finds it still ACTIVE and finishes.
   */
  deletionStartedAt: Date | null;
  deletedAt: Date | null;
}

/** What a correction may change in a stored identity. */
export type IdentityFieldChanges = Partial<
  Pick<IdentityRecord, 'name' | 'phone' | 'nameIndex' | 'verificationStatus' | 'verifiedAt'>
>;

export interface PhotoRecord {
  identityId: string;
  side: PhotoSide;
  data: EncryptedField;
  updatedAt: Date;
}

export interface IdentitiesStore {
  insert(record: IdentityRecord): Promise<'inserted' | 'duplicate'>;
  findById(id: string): Promise<IdentityRecord | null>;
  /**
   * The user's active registration of a person: by person key, or by an id
   * number index under any live key version (`idNumberIndexes`), for a record
   * from before person keys.
   */
  findActiveRegistration(
    userId: string,
    person: { personRef: string; idNumberIndexes: string[] },
  ): Promise<IdentityRecord | null>;
  /** Replaces encrypted fields of an active identity; false when it is gone. */
  updateFields(id: string, changes: IdentityFieldChanges, at: Date): Promise<boolean>;
  /** Removes the record outright (only to undo a create whose audit event could not be written). */
  remove(id: string): Promise<void>;
  /** Records that a delete has begun (before its key is destroyed); false when not active. */
  beginDeletion(id: string, at: Date): Promise<boolean>;
  /** Marks deleted and drops ciphertext and blind indexes; false when not active. */
  markDeleted(id: string, at: Date): Promise<boolean>;
  /** Active identities without a personRef (made before it existed), by id, after `after`. */
  listWithoutPersonRef(after: string | null, limit: number): Promise<IdentityRecord[]>;
  /** Active identities (no deletion begun): ids, registration and withdrawal times, in id order. */
  listActive(
    after: string | null,
    limit: number,
  ): Promise<{ identityId: string; createdAt: Date; consentWithdrawnAt: Date | null }[]>;
  countActive(): Promise<number>;
  countWithoutPersonRef(): Promise<number>;
  /** Sets the personRef of an identity that has none; false when it has one already. */
  setPersonRef(id: string, personRef: string): Promise<boolean>;
  /**
   * Ids of every identity record of one person, deleted ones too (a deletion
   * keeps `personRef`), oldest registration first.
   */
  listIdsByPersonRef(personRef: string): Promise<string[]>;
  /**
   * Records the withdrawal of an active identity's consent, once: the record
   * after it (the first withdrawal's time stays), or null when not active.
   */
  withdrawConsent(id: string, at: Date): Promise<IdentityRecord | null>;
  /** Puts a withdrawal back (only to undo one whose audit event could not be written). */
  restoreConsent(id: string): Promise<void>;
  putPhoto(photo: PhotoRecord): Promise<void>;
  findPhotos(identityId: string): Promise<PhotoRecord[]>;
  deletePhoto(identityId: string, side: PhotoSide): Promise<void>;
  deletePhotos(identityId: string): Promise<void>;
  ensureIndexes(): Promise<void>;
}

/**
 * The port the export reads disclosures through (PIPL art. 23: the subject
 * sees every provision of their data to a partner): the disclosure receipts
 * store, read only.
 */
export type DisclosureReceipts = Pick<ReceiptsStore, 'listForIdentity'>;

/** The masked view: what checkout sees. Never a plaintext id number. */
export interface MaskedIdentity {
  identityId: string;
  userId: string;
  nameMasked: string;
  idNumberMasked: string;
  phoneMasked: string;
  age: number;
  status: VerificationStatus;
  relation: Relation;
  flags: IdentityFlag[];
  createdAt: string;
  updatedAt: string;
}

export interface IdentityExport {
  identityId: string;
  userId: string;
  name: string;
  idNumber: string;
  phone: string;
  age: number;
  status: VerificationStatus;
  relation: Relation;
  flags: IdentityFlag[];
  /** The consent's history, oldest first: given at registration, then any withdrawal. */
  consent: ConsentHistoryEntry[];
  registeredBy: { userId: string };
  createdAt: string;
  updatedAt: string;
  photos: Partial<Record<PhotoSide, { contentType: string; base64: string }>>;
  disclosures: ExportedDisclosure[];
  /** This registration's orders, oldest first, consignees decrypted. */
  orders: ExportedOrder[];
  /** The person's quota usage per year (shared by every registration of the person). */
  quota: QuotaYearUsage[];
  exportedAt: string;
}

/** One step of the consent's history; later kinds are appended, never rewritten. */
export type ConsentHistoryEntry =
  | {
      event: 'GIVEN';
      at: string;
      policyVersion: string;
      sensitiveDataConsent: true;
      guardianConsent: boolean | null;
    }
  | { event: 'WITHDRAWN'; at: string };

/** One provision of the person's data to a partner (PIPL art. 23), as the export tells it. */
export interface ExportedDisclosure {
  at: string;
  partnerCode: string | null;
  role: string;
  /** Who received it and how to reach them; null name when the client is unknown. */
  recipient: { name: string | null; contact: string | null };
  fields: string[];
  purpose: string;
  legalBasis: string | null;
  orderNo: string;
  /** The recipient's country when it received the data; null on receipts made before it was recorded. */
  country: string | null;
  /** Only for a recipient outside mainland China: the transfer's basis and its text. */
  crossBorderBasis?: CrossBorderBasis;
  crossBorderBasisText?: string;
}

/**
 * A registration as the route's schema leaves it: name, id number and phone
 * normalised, `relation` defaulted to `self`. Consent is checked by the
 * service (422, not 400), so it may be missing here.
 */
export interface NewIdentityInput {
  userId: string;
  name: string;
  idNumber: string;
  phone: string;
  consent?: { policyVersion: string; sensitiveDataConsent?: boolean; guardianConsent?: boolean };
  relation: Relation;
}

/** A correction: at least one of the correctable fields, already normalised. */
export type IdentityCorrection = Partial<Record<CorrectableField, string>>;
