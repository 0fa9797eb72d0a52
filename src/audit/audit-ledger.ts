import {
  CHECKPOINT_ALGORITHMS,
  CHECKPOINT_KINDS,
  checkpointDigest,
  checkpointPayload,
  GENESIS_HASH,
  type CheckpointBody,
  type CheckpointRecord,
  type InvalidEvent,
} from './audit-chain';
import type { AuditKeys } from './audit-keys';

export type LedgerKeys = Pick<AuditKeys, 'checkpointVerifiers'>;

/** What the authentic, linked ledger records say about one stream. */
export interface StreamRecords {
  opened: boolean;
  /** Every accepted record of the stream, in ledger order. */
  records: CheckpointBody[];
  /** Its CLOSE or SEALED_AFTER_CRASH record, if any: the stream's final length. */
  close: CheckpointBody | null;
  /** Highest seq a record made by the stream's own writer names (OPEN, CHECKPOINT, CLOSE). */
  protectedSeq: number;
}

/** The ledger as checked: the accepted records by stream, and what was wrong with the rest. */
export interface LedgerState {
  streams: Map<string, StreamRecords>;
  findings: InvalidEvent[];
  accepted: number;
  /** The last accepted record: where a later read of the ledger resumes. */
  last: { gseq: number; digest: string; stream: string; seq: number } | null;
  /** The last ledger position read, accepted or not. */
  position: number;
  /** True when the next record's link cannot be checked (it follows a gap or a forged record). */
  linkUnknown: boolean;
}

export function emptyLedger(): LedgerState {
  return {
    streams: new Map(),
    findings: [],
    accepted: 0,
    last: null,
    position: 0,
    linkUnknown: false,
  };
}

const KINDS = new Set<string>(CHECKPOINT_KINDS);
const ALGORITHMS = new Set<string>(CHECKPOINT_ALGORITHMS);

/**
 * Checks ledger records (in any order) and adds them to `state`: each must
 * carry a valid signature by the checkpoint key, the ledger positions must
 * follow each other (a missing one is CHECKPOINT_MISSING) and each record
 * must name its predecessor's digest (CHECKPOINT_CHAIN_BROKEN otherwise: a
 * record copied from another database, or a fork). Rejected records say
 * nothing about their stream.
 */
export function addLedgerRecords(
  state: LedgerState,
  records: CheckpointRecord[],
  keys: LedgerKeys,
): void {
  const byPosition = new Map<number, CheckpointRecord[]>();
  for (const record of records) {
    if (!isAuthentic(record, keys)) {
      state.findings.push({
        stream: String(record.stream),
        seq: Number.isInteger(record.seq) ? record.seq : 0,
        reason: 'CHECKPOINT_SIGNATURE_INVALID',
      });
      // Its successor cannot be linked to anything checkable.
      if (Number.isInteger(record.gseq))
        byPosition.set(record.gseq, byPosition.get(record.gseq) ?? []);
      continue;
    }
    byPosition.set(record.gseq, [...(byPosition.get(record.gseq) ?? []), record]);
  }
  for (const gseq of [...byPosition.keys()].sort((a, b) => a - b)) {
    if (gseq <= state.position) continue;
    const candidates = byPosition.get(gseq)!;
    const expected = state.position + 1;
    state.position = gseq;
    if (candidates.length === 0) {
      state.linkUnknown = true;
      continue;
    }
    if (gseq > expected) {
      const first = candidates[0]!;
      state.findings.push({
        stream: first.stream,
        seq: first.seq,
        reason: 'CHECKPOINT_MISSING',
        gseq: expected,
      });
      state.linkUnknown = true;
    }
    const prev = state.last?.digest ?? GENESIS_HASH;
    const linked = state.linkUnknown
      ? candidates.slice(0, 1)
      : candidates.filter((c) => c.prev === prev);
    const chosen = linked.length === 1 ? linked[0]! : null;
    for (const candidate of candidates) {
      if (candidate === chosen) continue;
      state.findings.push({
        stream: candidate.stream,
        seq: candidate.seq,
        reason: 'CHECKPOINT_CHAIN_BROKEN',
        gseq,
      });
    }
    if (chosen) accept(state, chosen);
  }
}

/**
 * The ledger must reach at least the position this instance has itself
 * written or seen: fewer records means its tail was removed.
 */
export function checkLedgerReaches(state: LedgerState, witnessed: number): void {
  const reached = state.position;
  if (witnessed > reached) {
    state.findings.push({
      stream: state.last?.stream ?? '',
      seq: state.last?.seq ?? 0,
      reason: 'CHECKPOINT_MISSING',
      gseq: reached + 1,
    });
  }
}

function accept(state: LedgerState, record: CheckpointRecord): void {
  const body: CheckpointBody = {
    gseq: record.gseq,
    prev: record.prev,
    kind: record.kind,
    stream: record.stream,
    seq: record.seq,
    hash: record.hash,
    at: record.at,
    keyId: record.keyId,
  };
  state.accepted += 1;
  state.last = {
    gseq: body.gseq,
    digest: checkpointDigest({ ...body, alg: record.alg }),
    stream: body.stream,
    seq: body.seq,
  };
  state.linkUnknown = false;
  const stream = state.streams.get(body.stream) ?? {
    opened: false,
    records: [],
    close: null,
    protectedSeq: 0,
  };
  state.streams.set(body.stream, stream);
  stream.records.push(body);
  if (body.kind === 'OPEN') stream.opened = true;
  if (body.kind === 'SEALED_AFTER_CRASH' || body.kind === 'CLOSE') stream.close ??= body;
  if (body.kind !== 'SEALED_AFTER_CRASH' && stream.close?.kind !== 'SEALED_AFTER_CRASH') {
    stream.protectedSeq = Math.max(stream.protectedSeq, body.seq);
  }
}

/**
 * Read as found, so every field is checked before the signature is. The key
 * is the one `keyId` names among those the service holds (the Ed25519 key,
 * and the SM2 key once a gm profile made one), and must be of `alg`.
 */
export function isAuthentic(record: CheckpointRecord, keys: LedgerKeys): boolean {
  if (
    !Number.isSafeInteger(record.gseq) ||
    record.gseq < 1 ||
    typeof record.prev !== 'string' ||
    !KINDS.has(record.kind) ||
    typeof record.stream !== 'string' ||
    !Number.isSafeInteger(record.seq) ||
    record.seq < 0 ||
    typeof record.hash !== 'string' ||
    !(record.at instanceof Date) ||
    !ALGORITHMS.has(record.alg) ||
    typeof record.keyId !== 'string' ||
    typeof record.signature !== 'string'
  ) {
    return false;
  }
  const verifier = keys.checkpointVerifiers.find(
    (candidate) => candidate.keyId === record.keyId && candidate.alg === record.alg,
  );
  return (
    verifier !== undefined &&
    verifier.verify(checkpointPayload(record), Buffer.from(record.signature, 'base64'))
  );
}
