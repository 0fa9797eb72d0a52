import type { AccessLog } from '../audit/audit-types';
import type { BlindIndex } from '../crypto/blind-index';
import type { FieldCipher } from '../crypto/field-cipher-types';
import { ValidationFailed } from '../errors';
import type { RequestContext } from '../http/route';
import { correctIdentity } from './correct-identity';
import type { DisclosureReceipt } from '../disclosure/disclosure-types';
import type { ExportSources, RecipientProfile } from './export-ports';
import type {
  DisclosureReceipts,
  IdentitiesStore,
  IdentityCorrection,
  IdentityExport,
  MaskedIdentity,
  NewIdentityInput,
  PhotoSide,
} from './identities-types';
import { createIdentityAccessEvents, IDENTITY_ACCESS } from './identity-access-events';
import { decryptIdentity, photoRef } from './identity-ciphertext';
import type { IdentityVerifier } from './identity-verification';
import {
  loadActive,
  loadForDeletion,
  unlessDeletedMeanwhile,
  type IdentityUseCaseDeps,
} from './identity-use-case-deps';
import { exportView, maskedView, type DescribedReceipt } from './identity-views';
import type { ErasureHold } from './legal-hold-port';
import { imageTypeOf } from './photo-image';
import { registerIdentity, type RegistrationResult } from './register-identity';
import {
  withdrawConsent,
  type ConsentWithdrawal,
  type ConsentWithdrawnListener,
} from './withdraw-consent';

export interface IdentitiesService {
  /** `created` is false when this user had registered this id number already (same identity back). */
  create(ctx: RequestContext, input: NewIdentityInput): Promise<RegistrationResult>;
  get(ctx: RequestContext, identityId: string): Promise<MaskedIdentity>;
  correct(
    ctx: RequestContext,
    identityId: string,
    changes: IdentityCorrection,
  ): Promise<MaskedIdentity>;
  exportData(ctx: RequestContext, identityId: string): Promise<IdentityExport>;
  putPhoto(
    ctx: RequestContext,
    identityId: string,
    side: PhotoSide,
    image: { contentType: string; bytes: Buffer },
  ): Promise<void>;
  remove(ctx: RequestContext, identityId: string): Promise<void>;
  withdrawConsent(ctx: RequestContext, identityId: string): Promise<ConsentWithdrawal>;
}

export interface IdentitiesServiceDeps {
  identitiesStore: IdentitiesStore;
  fieldCipher: FieldCipher;
  blindIndex: BlindIndex;
  verifier: IdentityVerifier;
  accessLog: AccessLog;
  disclosureReceipts: DisclosureReceipts;
  /** Orders, quota usage and partners, for the export. */
  exportSources: ExportSources;
  /** Keeps what the law requires (legal holds, src/retention/) before a deletion destroys the key. */
  legalHold: ErasureHold;
  /** Told when a consent is withdrawn (checkout releases reservations); see withdraw-consent.ts. */
  onConsentWithdrawn?: readonly ConsentWithdrawnListener[];
  now?: () => Date;
}

export function createIdentitiesService(deps: IdentitiesServiceDeps): IdentitiesService {
  const useCase: IdentityUseCaseDeps = {
    store: deps.identitiesStore,
    fieldCipher: deps.fieldCipher,
    blindIndex: deps.blindIndex,
    verifier: deps.verifier,
    events: createIdentityAccessEvents(deps.accessLog),
    disclosureReceipts: deps.disclosureReceipts,
    exportSources: deps.exportSources,
    legalHold: deps.legalHold,
    now: deps.now ?? (() => new Date()),
  };
  return {
    create: (ctx, input) => registerIdentity(useCase, ctx, input),
    get: (ctx, identityId) => readIdentity(useCase, ctx, identityId),
    correct: (ctx, identityId, changes) => correctIdentity(useCase, ctx, identityId, changes),
    exportData: (ctx, identityId) => exportIdentity(useCase, ctx, identityId),
    putPhoto: (ctx, identityId, side, image) => putPhoto(useCase, ctx, identityId, side, image),
    remove: (ctx, identityId) => removeIdentity(useCase, ctx, identityId),
    withdrawConsent: (ctx, identityId) =>
      withdrawConsent({ ...useCase, onWithdrawn: deps.onConsentWithdrawn ?? [] }, ctx, identityId),
  };
}

/** The masked view checkout reads, recorded before it is returned. */
async function readIdentity(
  deps: IdentityUseCaseDeps,
  ctx: RequestContext,
  identityId: string,
): Promise<MaskedIdentity> {
  const record = await loadActive(deps.store, identityId);
  return deps.events.read(ctx, { ...IDENTITY_ACCESS.read, identityId }, () =>
    unlessDeletedMeanwhile(deps.store, identityId, async () =>
      maskedView(record, await decryptIdentity(deps.fieldCipher, record), deps.now()),
    ),
  );
}

/**
 * Everything held on the subject (PIPL art. 45), in plaintext: the identity,
 * photos, orders with their consignees, quota usage, every disclosure with
 * its recipient and legal basis. One access-log event covers all of it.
 */
async function exportIdentity(
  deps: IdentityUseCaseDeps,
  ctx: RequestContext,
  identityId: string,
): Promise<IdentityExport> {
  const record = await loadActive(deps.store, identityId);
  const sources = deps.exportSources;
  return deps.events.read(ctx, { ...IDENTITY_ACCESS.export, identityId }, () =>
    unlessDeletedMeanwhile(deps.store, identityId, async () => {
      const plain = await decryptIdentity(deps.fieldCipher, record);
      const photos = await decryptPhotos(deps, identityId);
      const orders = await sources.orders.listForIdentity(identityId);
      const quota = await sources.quota.yearsOf({ identityId, personRef: record.personRef });
      const disclosures = await describeRecipients(
        sources,
        await deps.disclosureReceipts.listForIdentity(identityId),
      );
      return exportView(record, plain, { photos, disclosures, orders, quota }, deps.now());
    }),
  );
}

/** Each receipt with its recipient's profile, each client looked up once. */
async function describeRecipients(
  sources: ExportSources,
  receipts: DisclosureReceipt[],
): Promise<DescribedReceipt[]> {
  const profiles = new Map<string, Promise<RecipientProfile | null>>();
  const profileOf = (clientId: string) => {
    const known = profiles.get(clientId) ?? sources.partners.describe(clientId);
    profiles.set(clientId, known);
    return known;
  };
  return Promise.all(
    receipts.map(async (receipt) => ({ receipt, recipient: await profileOf(receipt.clientId) })),
  );
}

async function decryptPhotos(
  deps: IdentityUseCaseDeps,
  identityId: string,
): Promise<IdentityExport['photos']> {
  const photos: IdentityExport['photos'] = {};
  for (const photo of await deps.store.findPhotos(identityId)) {
    const bytes = await deps.fieldCipher.decrypt(photoRef(identityId, photo.side), photo.data);
    photos[photo.side] = {
      contentType: imageTypeOf(bytes) ?? 'application/octet-stream',
      base64: bytes.toString('base64'),
    };
  }
  return photos;
}

/** Stores one side's photo encrypted; the previous one comes back if the upload cannot be recorded. */
async function putPhoto(
  deps: IdentityUseCaseDeps,
  ctx: RequestContext,
  identityId: string,
  side: PhotoSide,
  image: { contentType: string; bytes: Buffer },
): Promise<void> {
  const detected = imageTypeOf(image.bytes);
  if (!detected || detected !== image.contentType) {
    throw new ValidationFailed([
      { path: 'body', message: 'must be a JPEG or PNG image of the declared type' },
    ]);
  }
  await loadActive(deps.store, identityId);
  const previous = (await deps.store.findPhotos(identityId)).find((photo) => photo.side === side);
  const data = await deps.fieldCipher.encrypt(photoRef(identityId, side), image.bytes);
  await deps.store.putPhoto({ identityId, side, data, updatedAt: deps.now() });
  await deps.events.written(ctx, { ...IDENTITY_ACCESS.photo, identityId }, async () => {
    await (previous ? deps.store.putPhoto(previous) : deps.store.deletePhoto(identityId, side));
  });
}

/**
 * Deletes an identity (PIPL art. 47) by destroying its data key: crypto-shredding.
 * What the law requires to be kept (transaction records, with the buyer) is
 * sealed under a legal hold first; when that cannot be written the delete
 * stops with a 503 and nothing is destroyed.
 */
async function removeIdentity(
  deps: IdentityUseCaseDeps,
  ctx: RequestContext,
  identityId: string,
): Promise<void> {
  // A delete that stopped half-way (deletion begun, record still ACTIVE) is finished by this one.
  const record = await loadForDeletion(deps.store, identityId);
  // Insert-or-keep: a retry finds the hold its first attempt wrote, and never decrypts again.
  await deps.legalHold.retain({
    identityId,
    personRef: record.personRef,
    readBuyer: () => decryptIdentity(deps.fieldCipher, record),
  });
  // Readers see the identity as gone before its key is: one that meets the destroyed key answers 404.
  await deps.store.beginDeletion(identityId, deps.now());
  // The key goes first: from here on no copy of this subject's ciphertext can be read.
  await deps.fieldCipher.destroySubjectKey(identityId);
  await deps.store.deletePhotos(identityId);
  await deps.store.markDeleted(identityId, deps.now());
  // Nothing to undo: a deletion is never rolled back, and it returns no data.
  await deps.events.written(ctx, { ...IDENTITY_ACCESS.delete, identityId }, async () => undefined);
}
