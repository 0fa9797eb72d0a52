import { verify as verifySignature } from 'node:crypto';
import {
  ChainVerifier,
  checkpointPayload,
  type CheckpointBody,
  type InvalidEvent,
  type VerifyResult,
} from './audit-chain';
import type { AuditKeys } from './audit-keys';
import type { AuditStore, CheckpointDocument } from './audit-store';

type VerifyKeys = Pick<AuditKeys, 'checkpointPublicKey' | 'checkpointKeyId'>;

/**
 * Checks the whole log: every stream's sequence (no gaps), every event's hash
 * and link to its predecessor, and every checkpoint (signature, hash at its
 * seq, and that the stream still reaches it, so a cut tail is caught).
 */
export async function verifyLog(
  store: Pick<AuditStore, 'allCheckpoints' | 'chainCursor' | 'findRange'>,
  keys: VerifyKeys,
  batchSize = 5000,
): Promise<VerifyResult> {
  // Checkpoints first: any event a checkpoint names was written before it, so the scan that follows sees it.
  const valid = new Map<string, CheckpointBody[]>();
  const bad: InvalidEvent[] = [];
  for (const checkpoint of await store.allCheckpoints()) {
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
  const verifier = new ChainVerifier(valid, bad);
  const cursor = store.chainCursor(batchSize);
  try {
    let more = cursor.hasNext();
    while (await more) {
      const documents = cursor.readBufferedDocuments();
      // Ask for the next batch before hashing this one: the database works meanwhile.
      more = cursor.hasNext();
      more.catch(() => undefined);
      for (const document of documents) {
        const expected = verifier.expectedSeq(document.stream);
        if (expected !== null && Number.isInteger(document.seq) && document.seq > expected) {
          // An append that landed behind the scan looks like a gap: read that range again.
          for (const late of await store.findRange(document.stream, expected, document.seq)) {
            verifier.add(late);
          }
        }
        verifier.add(document);
      }
    }
  } finally {
    await cursor.close();
  }
  return verifier.finish();
}

function isAuthentic(checkpoint: CheckpointDocument, keys: VerifyKeys): boolean {
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
