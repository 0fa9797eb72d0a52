import { randomUUID } from 'node:crypto';
import type { AccessEventInput, AccessLog, AuditAction, AuditPurpose } from '../audit/audit-types';
import type { BlindIndex } from '../crypto/blind-index';
import type { FieldCipher, FieldRef } from '../crypto/field-cipher-types';
import { Conflict, DecryptionFailed, NotFound, Unprocessable, ValidationFailed } from '../errors';
import type { RequestContext } from '../http/route';
import {
  IDENTITIES_COLLECTION,
  PHOTOS_COLLECTION,
  type DisclosureReceipts,
  type IdentitiesStore,
  type IdentityExport,
  type IdentityRecord,
  type MaskedIdentity,
  type NewIdentityInput,
  type PersonalField,
  type PhotoSide,
} from './identities-types';
import { ageOn, birthDateOf, parseIdNumber, todayInShanghai } from './identity-number';
import type { IdentityVerifier } from './identity-verification';
import { maskIdNumber, maskName, maskPhone } from './personal-fields';
import { imageTypeOf } from './photo-image';

/** Under this age (PIPL art. 31) a guardian's consent is required. */
export const GUARDIAN_CONSENT_AGE = 14;
const ALL_FIELDS: readonly PersonalField[] = ['name', 'idNumber', 'phone'];

export interface IdentitiesService {
  /** `created` is false when this user had registered this id number already (same identity back). */
  create(
    ctx: RequestContext,
    input: NewIdentityInput,
  ): Promise<{ created: boolean; identity: MaskedIdentity }>;
  get(ctx: RequestContext, identityId: string): Promise<MaskedIdentity>;
  correct(
    ctx: RequestContext,
    identityId: string,
    changes: { name?: string; phone?: string },
  ): Promise<MaskedIdentity>;
  exportData(ctx: RequestContext, identityId: string): Promise<IdentityExport>;
  putPhoto(
    ctx: RequestContext,
    identityId: string,
    side: PhotoSide,
    image: { contentType: string; bytes: Buffer },
  ): Promise<void>;
  remove(ctx: RequestContext, identityId: string): Promise<void>;
}

export interface IdentitiesServiceDeps {
  identitiesStore: IdentitiesStore;
  fieldCipher: FieldCipher;
  blindIndex: BlindIndex;
  verifier: IdentityVerifier;
  accessLog: AccessLog;
  /** Late-bound: the disclosure capability plugs its receipts in after this is built. */
  disclosureReceipts: () => DisclosureReceipts | null;
  now?: () => Date;
}

type Plain = Record<PersonalField, string>;

export function fieldRef(identityId: string, field: PersonalField): FieldRef {
  return { subjectId: identityId, collection: IDENTITIES_COLLECTION, recordId: identityId, field };
}

export function photoRef(identityId: string, side: PhotoSide): FieldRef {
  return {
    subjectId: identityId,
    collection: PHOTOS_COLLECTION,
    recordId: identityId,
    field: `photo.${side}`,
  };
}

export function createIdentitiesService(deps: IdentitiesServiceDeps): IdentitiesService {
  const { identitiesStore: store, fieldCipher, blindIndex, verifier, accessLog } = deps;
  const now = deps.now ?? (() => new Date());

  interface EventFacts {
    action: AuditAction;
    purpose: AuditPurpose;
    identityId: string;
    fields: readonly string[];
  }

  const event = (
    ctx: RequestContext,
    facts: EventFacts,
    outcome: AccessEventInput['outcome'],
  ): AccessEventInput => ({
    context: ctx,
    action: facts.action,
    purpose: facts.purpose,
    outcome,
    identityId: facts.identityId,
    resourceId: facts.identityId,
    fields: facts.fields,
  });

  /**
   * Runs a read and records it before anything is returned (fail closed: if
   * the log cannot be written, the caller gets a 503 and no data). A
   * decryption failure is recorded as FAILED and answered with a bare 500.
   */
  async function audited<T>(
    ctx: RequestContext,
    facts: EventFacts,
    work: () => Promise<T>,
  ): Promise<T> {
    let value: T;
    try {
      value = await work();
    } catch (error) {
      if (error instanceof DecryptionFailed) {
        await accessLog.record(event(ctx, facts, 'FAILED')).catch(() => undefined);
      }
      throw error;
    }
    await accessLog.record(event(ctx, facts, 'SUCCESS'));
    return value;
  }

  /** Records a write that has happened; when the log refuses, `undo` reverts it before the error goes on. */
  async function recordWrite(
    ctx: RequestContext,
    facts: EventFacts,
    undo: () => Promise<void>,
  ): Promise<void> {
    try {
      await accessLog.record(event(ctx, facts, 'SUCCESS'));
    } catch (error) {
      await undo().catch(() => undefined);
      throw error;
    }
  }

  async function loadActive(identityId: string): Promise<IdentityRecord> {
    const record = await store.findById(identityId);
    if (!record || record.status !== 'ACTIVE') throw new NotFound('identity');
    return record;
  }

  async function decryptAll(record: IdentityRecord): Promise<Plain> {
    const plain = {} as Plain;
    for (const field of ALL_FIELDS) {
      const ciphertext = record[field];
      if (!ciphertext) throw new DecryptionFailed();
      plain[field] = await fieldCipher.decryptText(fieldRef(record.id, field), ciphertext);
    }
    return plain;
  }

  function ageOf(idNumber: string): number {
    return ageOn(birthDateOf(idNumber), todayInShanghai(now()));
  }

  function masked(record: IdentityRecord, plain: Plain): MaskedIdentity {
    return {
      identityId: record.id,
      userId: record.userId,
      nameMasked: maskName(plain.name),
      idNumberMasked: maskIdNumber(plain.idNumber),
      phoneMasked: maskPhone(plain.phone),
      age: ageOf(plain.idNumber),
      status: record.verificationStatus,
      relation: record.relation,
      flags: [...record.flags],
      createdAt: record.createdAt.toISOString(),
      updatedAt: record.updatedAt.toISOString(),
    };
  }

  async function encryptFields(
    identityId: string,
    values: Partial<Plain>,
  ): Promise<Partial<Plain>> {
    const out: Partial<Plain> = {};
    for (const field of ALL_FIELDS) {
      const value = values[field];
      if (value !== undefined)
        out[field] = await fieldCipher.encrypt(fieldRef(identityId, field), value);
    }
    return out;
  }

  async function create(ctx: RequestContext, input: NewIdentityInput) {
    if (!input.consent || input.consent.sensitiveDataConsent !== true) {
      throw new Unprocessable(
        'CONSENT_REQUIRED',
        'Separate consent to processing sensitive personal data is required.',
      );
    }
    const parsed = parseIdNumber(input.idNumber, now());
    if (!parsed.ok) throw new ValidationFailed([{ path: 'idNumber', message: parsed.message }]);
    const id = parsed.id;
    if (
      ageOn(id.birthDate, todayInShanghai(now())) < GUARDIAN_CONSENT_AGE &&
      input.consent.guardianConsent !== true
    ) {
      throw new Unprocessable(
        'GUARDIAN_CONSENT_REQUIRED',
        'A guardian must consent for a person under 14.',
      );
    }
    const idNumberIndex = blindIndex.idNumber(id.value);
    const facts = (identityId: string): EventFacts => ({
      action: 'identity.create',
      purpose: 'identity-registration',
      identityId,
      fields: ALL_FIELDS,
    });

    const existing = await store.findActiveByUserAndIndex(input.userId, idNumberIndex);
    if (existing) {
      const identity = await audited(ctx, facts(existing.id), async () =>
        masked(existing, await decryptAll(existing)),
      );
      return { created: false, identity };
    }

    const verificationStatus = await verifier.verify({ name: input.name, idNumber: id.value });
    const identityId = randomUUID();
    const at = now();
    await fieldCipher.ensureSubjectKey(identityId);
    const plain: Plain = { name: input.name, idNumber: id.value, phone: input.phone };
    const encrypted = (await encryptFields(identityId, plain)) as Plain;
    const record: IdentityRecord = {
      id: identityId,
      userId: input.userId,
      status: 'ACTIVE',
      verificationStatus,
      verifiedAt: verificationStatus === 'UNVERIFIED' ? null : at,
      idNumberIndex,
      nameIndex: blindIndex.name(input.name),
      ...encrypted,
      flags: id.divisionCodeKnown ? [] : ['UNKNOWN_DIVISION_CODE'],
      consent: {
        policyVersion: input.consent.policyVersion,
        sensitiveDataConsent: true,
        guardianConsent: input.consent.guardianConsent ?? null,
        consentedAt: at,
      },
      relation: input.relation,
      registeredBy: { userId: input.userId, clientId: ctx.actor.clientId },
      createdAt: at,
      updatedAt: at,
      deletedAt: null,
    };
    if ((await store.insert(record)) === 'duplicate') {
      // A concurrent request registered the same person for this user first: answer with theirs.
      await fieldCipher.destroySubjectKey(identityId);
      const winner = await store.findActiveByUserAndIndex(input.userId, idNumberIndex);
      if (!winner) throw new Conflict('CONFLICT', 'The identity changed concurrently; retry.');
      const identity = await audited(ctx, facts(winner.id), async () =>
        masked(winner, await decryptAll(winner)),
      );
      return { created: false, identity };
    }
    await recordWrite(ctx, facts(identityId), async () => {
      await store.remove(identityId);
      await fieldCipher.destroySubjectKey(identityId);
    });
    return { created: true, identity: masked(record, plain) };
  }

  return {
    create,

    async get(ctx, identityId) {
      const record = await loadActive(identityId);
      const facts: EventFacts = {
        action: 'identity.read',
        purpose: 'checkout-verification',
        identityId,
        fields: ALL_FIELDS,
      };
      return audited(ctx, facts, async () => masked(record, await decryptAll(record)));
    },

    async correct(ctx, identityId, changes) {
      const record = await loadActive(identityId);
      const fields = ALL_FIELDS.filter((field) => changes[field as 'name' | 'phone'] !== undefined);
      const facts: EventFacts = {
        action: 'identity.update',
        purpose: 'identity-correction',
        identityId,
        fields,
      };
      let plain: Plain;
      try {
        plain = await decryptAll(record);
      } catch (error) {
        if (error instanceof DecryptionFailed) {
          await accessLog.record(event(ctx, facts, 'FAILED')).catch(() => undefined);
        }
        throw error;
      }
      const next: Plain = { ...plain, ...changes };
      const encrypted = await encryptFields(identityId, {
        name: changes.name,
        phone: changes.phone,
      });
      const update: Parameters<IdentitiesStore['updateFields']>[1] = { ...encrypted };
      if (changes.name !== undefined && changes.name !== plain.name) {
        update.nameIndex = blindIndex.name(changes.name);
        // A new name must be checked against the authority again.
        update.verificationStatus = await verifier.verify({
          name: changes.name,
          idNumber: plain.idNumber,
        });
        update.verifiedAt = update.verificationStatus === 'UNVERIFIED' ? null : now();
      }
      const at = now();
      if (!(await store.updateFields(identityId, update, at))) throw new NotFound('identity');
      await recordWrite(ctx, facts, async () => {
        await store.updateFields(
          identityId,
          {
            name: record.name,
            phone: record.phone,
            nameIndex: record.nameIndex,
            verificationStatus: record.verificationStatus,
            verifiedAt: record.verifiedAt,
          },
          record.updatedAt,
        );
      });
      return masked({ ...record, ...update, updatedAt: at } as IdentityRecord, next);
    },

    async exportData(ctx, identityId) {
      const record = await loadActive(identityId);
      const facts: EventFacts = {
        action: 'identity.export',
        purpose: 'subject-access-request',
        identityId,
        fields: [...ALL_FIELDS, 'photo'],
      };
      const receipts = deps.disclosureReceipts();
      return audited(ctx, facts, async () => {
        const plain = await decryptAll(record);
        const photos: IdentityExport['photos'] = {};
        for (const photo of await store.findPhotos(identityId)) {
          const bytes = await fieldCipher.decrypt(photoRef(identityId, photo.side), photo.data);
          photos[photo.side] = {
            contentType: imageTypeOf(bytes) ?? 'application/octet-stream',
            base64: bytes.toString('base64'),
          };
        }
        const disclosures = receipts ? await receipts.listForIdentity(identityId) : [];
        return {
          identityId: record.id,
          userId: record.userId,
          ...plain,
          age: ageOf(plain.idNumber),
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
          photos,
          disclosures: disclosures.map((receipt) => ({
            at: new Date(receipt.at).toISOString(),
            partnerCode: receipt.partnerCode,
            role: receipt.role,
            fields: [...receipt.fields],
            purpose: receipt.purpose,
          })),
        };
      });
    },

    async putPhoto(ctx, identityId, side, image) {
      const detected = imageTypeOf(image.bytes);
      if (!detected || detected !== image.contentType) {
        throw new ValidationFailed([
          { path: 'body', message: 'must be a JPEG or PNG image of the declared type' },
        ]);
      }
      await loadActive(identityId);
      const previous = (await store.findPhotos(identityId)).find((photo) => photo.side === side);
      const data = await fieldCipher.encrypt(photoRef(identityId, side), image.bytes);
      await store.putPhoto({ identityId, side, data, updatedAt: now() });
      const facts: EventFacts = {
        action: 'identity.photo',
        purpose: 'identity-registration',
        identityId,
        fields: ['photo'],
      };
      await recordWrite(ctx, facts, async () => {
        await (previous ? store.putPhoto(previous) : store.deletePhoto(identityId, side));
      });
    },

    async remove(ctx, identityId) {
      await loadActive(identityId);
      // The key goes first: from here on no copy of this subject's ciphertext can be read.
      await fieldCipher.destroySubjectKey(identityId);
      await store.deletePhotos(identityId);
      await store.markDeleted(identityId, now());
      const facts: EventFacts = {
        action: 'identity.delete',
        purpose: 'subject-deletion-request',
        identityId,
        fields: [...ALL_FIELDS, 'photo'],
      };
      // Nothing to undo: a deletion is never rolled back, and it returns no data.
      await recordWrite(ctx, facts, async () => undefined);
    },
  };
}
