import { setTimeout as sleep } from 'node:timers/promises';
import type { AccessLog } from '../audit/audit-types';
import type { RequestContext } from '../http/route';
import type { BlindIndex } from './blind-index';
import type { CryptoProfile } from './crypto-profile';
import type { FieldCipher } from './field-cipher-types';
import type { Keyring } from './keyring';
import type { KeyringReadersStore } from './keyring-readers-store';
import { moveToProfile, type ProfileMoveOptions, type ProfileMoveReport } from './profile-move';
import type { SealedRecordSource } from './stored-data-move';

/** The actor the access log names for the move's reads (one event per record, before it). */
const PROFILE_MOVE_CONTEXT: RequestContext = {
  actor: { clientId: 'profile-move', role: 'admin', partnerCode: null },
  requestId: 'profile-move',
  sourceIp: 'unknown',
  route: '/cli/keys/move-profile',
};

export interface ProfileMoveRunner {
  run(
    options: Omit<ProfileMoveOptions, 'beforeRead'> & { runId: string },
  ): Promise<ProfileMoveReport>;
}

/**
 * The profile move with the service's access log: every record whose data
 * is decrypted to be re-sealed or re-indexed gets an `identity.read` event
 * (purpose record-keeping) first, naming its subject, the record and the
 * fields read; if the event cannot be written, the record is not read.
 */
export function createProfileMoveRunner(deps: {
  keyring: Keyring;
  readers: KeyringReadersStore;
  fieldCipher: FieldCipher;
  blindIndex: BlindIndex;
  accessLog: AccessLog;
  sources: SealedRecordSource[];
  profile: CryptoProfile;
}): ProfileMoveRunner {
  return {
    run({ runId, ...options }) {
      const context = { ...PROFILE_MOVE_CONTEXT, requestId: `profile-move-${runId}` };
      return moveToProfile(
        { ...deps, sleep: (ms) => sleep(ms) },
        {
          ...options,
          async beforeRead(_source, record, fields) {
            await deps.accessLog.record({
              context,
              action: 'identity.read',
              purpose: 'record-keeping',
              outcome: 'SUCCESS',
              identityId: record.subjectId,
              resourceId: record.id,
              fields,
            });
          },
        },
      );
    },
  };
}
