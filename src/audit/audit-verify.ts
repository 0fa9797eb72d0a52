import { verify as verifySignature } from 'node:crypto';
import {
  ChainVerifier,
  checkpointPayload,
  type CheckpointBody,
  type CheckpointRecord,
  type InvalidEvent,
  type LogVerification,
} from './audit-chain';
import type { AuditKeys } from './audit-keys';
import type { AuditStore } from './audit-store';

type VerifyKeys = Pick<AuditKeys, 'checkpointPublicKey' | 'checkpointKeyId'>;

/**
 * Checks the whole log: every stream's sequence (no gaps), every event's hash
 * and link to its predecessor, and every checkpoint (signature, hash at its
 * seq, and that the stream still reaches it, so a cut tail is caught).
 */
export async function verifyLog(
  store: Pick<AuditStore, 'allCheckpoints' | 'chainBatches' | 'findRange'>,
  keys: VerifyKeys,
  batchSize = 5000,
): Promise<LogVerification> {
  // Checkpoints first: any event a checkpoint names was written before it, so the scan that follows sees it.
  const { valid, bad } = sortCheckpoints(await store.allCheckpoints(), keys);
  const verifier = new ChainVerifier(valid, bad);
  for await (const batch of store.chainBatches(batchSize)) {
    for (const event of batch) {
      const expected = verifier.expectedSeq(event.stream);
      if (expected !== null && Number.isInteger(event.seq) && event.seq > expected) {
        // An append that landed behind the scan looks like a gap: read that range again.
        for (const late of await store.findRange(event.stream, expected, event.seq)) {
          verifier.add(late);
        }
      }
      verifier.add(event);
    }
  }
  return verifier.finish();
}

/** Authentic checkpoints by stream, and where each of the others claims to be. */
function sortCheckpoints(
  checkpoints: CheckpointRecord[],
  keys: VerifyKeys,
): { valid: Map<string, CheckpointBody[]>; bad: InvalidEvent[] } {
  const valid = new Map<string, CheckpointBody[]>();
  const bad: InvalidEvent[] = [];
  for (const checkpoint of checkpoints) {
    if (isAuthentic(checkpoint, keys)) {
      const list = valid.get(checkpoint.stream) ?? [];
      list.push(checkpoint);
      valid.set(checkpoint.stream, list);
    } else {
      bad.push({
        stream: String(checkpoint.stream),
        seq: Number.isInteger(checkpoint.seq) ? checkpoint.seq : 0,
        reason: 'CHECKPOINT_SIGNATURE_INVALID',
      });
    }
  }
  return { valid, bad };
}

/** Read as found, so every field is checked before the signature is. */
function isAuthentic(checkpoint: CheckpointRecord, keys: VerifyKeys): boolean {
  if (
    typeof checkpoint.stream !== 'string' ||
    !Number.isInteger(checkpoint.seq) ||
    typeof checkpoint.hash !== 'string' ||
    !(checkpoint.at instanceof Date) ||
    checkpoint.alg !== 'Ed25519' ||
    checkpoint.keyId !== keys.checkpointKeyId ||
    typeof checkpoint.signature !== 'string'
  ) {
    return false;
  }
  return verifySignature(
    null,
    checkpointPayload(checkpoint),
    keys.checkpointPublicKey,
    Buffer.from(checkpoint.signature, 'base64'),
  );
}
