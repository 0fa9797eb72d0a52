import type { Connection } from 'mongoose';
import { replaceIfUnchanged } from '../db/replace-if-unchanged';
import type { DerivedIndex, SealedField, SealedRecordSource } from '../crypto/stored-data-move';
import { identityModels, registrationKeyOf } from './identities-store';
import { fieldRef, photoRef } from './identity-ciphertext';
import type { IdentityRecord, PhotoRecord, PhotoSide } from './identities-types';
import type { IdentityField } from './personal-fields';

/**
 * Identities and their photos as the profile move walks them
 * (src/crypto/stored-data-move.ts): every sealed field with its FieldRef,
 * and the idNumber and name blind indexes with the field each is made from.
 */

const TEXT_FIELDS: readonly IdentityField[] = ['name', 'idNumber', 'phone'];
const WITH_SEALED_FIELD = { $or: TEXT_FIELDS.map((field) => ({ [field]: { $ne: null } })) };

function sealedFields(record: IdentityRecord): SealedField[] {
  return TEXT_FIELDS.flatMap((name) => {
    const ciphertext = record[name];
    return ciphertext ? [{ name, ref: fieldRef(record.id, name), ciphertext }] : [];
  });
}

/** An erased record's index is `deleted:<id>` and its name index null: nothing to move. */
function derivedIndexes(record: IdentityRecord): DerivedIndex[] {
  const indexes: DerivedIndex[] = [];
  if (record.idNumber && !record.idNumberIndex.startsWith('deleted:')) {
    indexes.push({
      name: 'idNumberIndex',
      kind: 'idNumber',
      stored: record.idNumberIndex,
      from: 'idNumber',
    });
  }
  if (record.name && record.nameIndex) {
    indexes.push({ name: 'nameIndex', kind: 'name', stored: record.nameIndex, from: 'name' });
  }
  return indexes;
}

export function createSealedIdentitiesSource(connection: Connection): SealedRecordSource {
  const { identities } = identityModels(connection);
  return {
    label: 'identities',
    count: () => identities.countDocuments(WITH_SEALED_FIELD),
    async list(after, limit) {
      const found = await identities
        .find({ ...WITH_SEALED_FIELD, ...(after === null ? {} : { id: { $gt: after } }) })
        .sort({ id: 1 })
        .limit(limit)
        .lean<(IdentityRecord & { registrationKey?: string })[]>();
      return found.map((record) => ({
        id: record.id,
        subjectId: record.id,
        fields: sealedFields(record),
        indexes: derivedIndexes(record),
        // A registration from before registration keys gets one, so that from now on a second
        // registration of the person by the user is refused whatever index version it carries.
        ...(record.status === 'ACTIVE' && record.personRef && !record.registrationKey
          ? { alsoSet: { registrationKey: registrationKeyOf(record) } }
          : {}),
      }));
    },
    replace: (id, expected, next) => replaceIfUnchanged(identities, { id }, expected, next),
  };
}

/** A photo's id in the walk (and its access event): `<identityId>:<side>`, a unique pair. */
const photoId = (photo: Pick<PhotoRecord, 'identityId' | 'side'>) =>
  `${photo.identityId}:${photo.side}`;

export function createSealedPhotosSource(connection: Connection): SealedRecordSource {
  const { photos } = identityModels(connection);
  return {
    label: 'identity photos',
    count: () => photos.countDocuments({}),
    async list(after, limit) {
      let filter = {};
      if (after !== null) {
        const [identityId, side] = after.split(':') as [string, PhotoSide];
        filter = {
          $or: [{ identityId: { $gt: identityId } }, { identityId, side: { $gt: side } }],
        };
      }
      const found = await photos
        .find(filter)
        .sort({ identityId: 1, side: 1 })
        .limit(limit)
        .lean<PhotoRecord[]>();
      return found.map((photo) => ({
        id: photoId(photo),
        subjectId: photo.identityId,
        fields: [
          { name: 'data', ref: photoRef(photo.identityId, photo.side), ciphertext: photo.data },
        ],
        indexes: [],
      }));
    },
    replace(id, expected, next) {
      const [identityId, side] = id.split(':');
      return replaceIfUnchanged(photos, { identityId, side }, expected, next);
    },
  };
}
