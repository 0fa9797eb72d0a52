import type { EncryptedField } from '../crypto/field-cipher-types';
import type { VerificationStatus } from './identity-directory';

export const IDENTITIES_COLLECTION = 'identities';
export const PHOTOS_COLLECTION = 'identity_photos';
export const PHOTO_SIDES = ['front', 'back'] as const;
export type PhotoSide = (typeof PHOTO_SIDES)[number];

/** Fields a decryption may name in an access-log event. */
export const PERSONAL_FIELDS = ['name', 'idNumber', 'phone'] as const;
export type PersonalField = (typeof PERSONAL_FIELDS)[number];

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
  name: EncryptedField | null;
  idNumber: EncryptedField | null;
  phone: EncryptedField | null;
  flags: IdentityFlag[];
  consent: ConsentRecord;
  relation: Relation;
  /** Who registered the person: for `relation: other`, someone other than the person. */
  registeredBy: { userId: string; clientId: string };
  createdAt: Date;
  updatedAt: Date;
  deletedAt: Date | null;
}

export interface PhotoRecord {
  identityId: string;
  side: PhotoSide;
  data: EncryptedField;
  updatedAt: Date;
}

export interface IdentitiesStore {
  insert(record: IdentityRecord): Promise<'inserted' | 'duplicate'>;
  findById(id: string): Promise<IdentityRecord | null>;
  findActiveByUserAndIndex(userId: string, idNumberIndex: string): Promise<IdentityRecord | null>;
  /** Replaces encrypted fields of an active identity; false when it is gone. */
  updateFields(
    id: string,
    changes: Partial<
      Pick<IdentityRecord, 'name' | 'phone' | 'nameIndex' | 'verificationStatus' | 'verifiedAt'>
    >,
    at: Date,
  ): Promise<boolean>;
  /** Removes the record outright (only to undo a create whose audit event could not be written). */
  remove(id: string): Promise<void>;
  /** Marks deleted and drops ciphertext and blind indexes; false when not active. */
  markDeleted(id: string, at: Date): Promise<boolean>;
  putPhoto(photo: PhotoRecord): Promise<void>;
  findPhotos(identityId: string): Promise<PhotoRecord[]>;
  deletePhoto(identityId: string, side: PhotoSide): Promise<void>;
  deletePhotos(identityId: string): Promise<void>;
  ensureIndexes(): Promise<void>;
}

/** One time a partner received some of the subject's data (PIPL art. 23), for export. */
export interface DisclosureReceipt {
  at: Date;
  partnerCode: string | null;
  role: string;
  fields: readonly string[];
  purpose: string;
}

/**
 * Implemented by the disclosure capability: every disclosure of this
 * identity's data, oldest first. Until it is plugged in, export lists none.
 */
export interface DisclosureReceipts {
  listForIdentity(identityId: string): Promise<DisclosureReceipt[]>;
}

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
  consent: {
    policyVersion: string;
    sensitiveDataConsent: true;
    guardianConsent: boolean | null;
    consentedAt: string;
  };
  registeredBy: { userId: string };
  createdAt: string;
  updatedAt: string;
  photos: Partial<Record<PhotoSide, { contentType: string; base64: string }>>;
  disclosures: {
    at: string;
    partnerCode: string | null;
    role: string;
    fields: string[];
    purpose: string;
  }[];
}

export interface NewIdentityInput {
  userId: string;
  name: string;
  idNumber: string;
  phone: string;
  consent?: { policyVersion: string; sensitiveDataConsent?: boolean; guardianConsent?: boolean };
  relation: Relation;
}
