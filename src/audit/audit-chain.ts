import { createHmac, hash, type KeyObject } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { MacAlgorithm } from '../crypto/crypto-profile';
import type { CrossBorderTransfer } from '../cross-border/jurisdiction';
import type { Actor } from '../http/route';
import { canonicalEvent } from './audit-canonical';
import type { AuditAction, AuditOutcome, AuditPurpose, RetentionCounts } from './audit-types';

/** prevHash of the first event of every stream, and `prev` of the first ledger record. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * Version of the stored event shape; part of the authenticated content.
 * 2: `hash` is an HMAC-SHA-256 under the event key (1 was a plain SHA-256,
 * which anyone with database write access could compute, and is not accepted).
 * 3: the same shape, `hash` an HMAC-SM3 under the same key (streams written
 * under CRYPTO_PROFILE=gm). The version is inside the MAC, so it cannot be
 * relabelled, and verify takes each event's algorithm from it.
 */
export const EVENT_VERSION = 2;
export const EVENT_VERSION_SM3 = 3;

/**
 * One access-log event as stored. Every field except `_id` and `hash` is
 * covered by `hash`, so adding, removing or editing any of them is detected.
 */
export interface AuditEventRecord {
  v: number;
  /** One per writer (app instance start, or after a failed write); `seq` counts from 1 within it. */
  stream: string;
  seq: number;
  at: Date;
  /** The caller as authenticated, copied key by key; null when refused before authentication. */
  actor: Actor | null;
  action: AuditAction;
  purpose: AuditPurpose;
  subjectRef: string | null;
  subjectRefKeyId: string | null;
  resource: { route: string; id: string | null };
  fields: string[];
  outcome: AuditOutcome;
  requestId: string;
  sourceIp: string;
  prevHash: string;
  hash: string;
  /**
   * Only on an event that stands for identical refusals counted after a first
   * one (written on its own): how many, and when the first and last came.
   */
  repeat?: RefusalRepeat;
  /**
   * Only on a disclosure to a recipient outside mainland China: its country
   * and the cross-border basis. Hashed like every other field; such events
   * take the reference encoder (audit-canonical.ts).
   */
  transfer?: CrossBorderTransfer;
  /**
   * Only on a `retention.run` event: what the pass erased, destroyed and
   * anonymised. Hashed like every other field (reference encoder).
   */
  counts?: RetentionCounts;
}

/** Identical refusals one event stands for (see RefusalAggregator). */
export interface RefusalRepeat {
  count: number;
  firstAt: Date;
  lastAt: Date;
}

/** The event without its chain position and hashes: what the writer is handed. */
export type UnchainedEvent = Omit<AuditEventRecord, 'v' | 'stream' | 'seq' | 'prevHash' | 'hash'>;

/** The stored document's `_id`: one per (stream, seq), so a point read needs no index. */
export function eventId(stream: string, seq: number): string {
  return `${stream}:${seq}`;
}

/**
 * HMAC-SHA-256 (event version 2) or HMAC-SM3 (version 3) under the event key
 * over the RFC 8785 (JCS) canonical JSON of everything stored except `_id` and
 * `hash`. Dates encode as ISO 8601 strings (their toJSON). Keyed, so only a
 * holder of the key (the service) can make an event that verifies.
 */
export function eventHash(document: object, key: KeyObject): string {
  const digest = (document as { v?: unknown }).v === EVENT_VERSION_SM3 ? 'sm3' : 'sha256';
  return createHmac(digest, key)
    .update(canonicalEvent(document as Record<string, unknown>))
    .digest('hex');
}

/** Appends an event to a chain position, computing its keyed hash with `algorithm`. */
export function chainEvent(
  event: UnchainedEvent,
  position: { stream: string; seq: number; prevHash: string },
  key: KeyObject,
  algorithm: MacAlgorithm = 'hmac-sha256',
): AuditEventRecord {
  const v = algorithm === 'hmac-sm3' ? EVENT_VERSION_SM3 : EVENT_VERSION;
  // Key order is irrelevant to the hash (canonical encoding sorts keys).
  const record = { v, ...position, ...event, hash: '' };
  record.hash = eventHash(record, key);
  return record;
}

/**
 * What a ledger record says about its stream. OPEN: the stream exists (seq 0);
 * CHECKPOINT: its head at a time; CLOSE: its writer ended it, nothing may
 * follow; SEALED_AFTER_CRASH: another instance ended it after its writer died,
 * covering the events found intact after its last checkpoint.
 */
export const CHECKPOINT_KINDS = ['OPEN', 'CHECKPOINT', 'CLOSE', 'SEALED_AFTER_CRASH'] as const;
export type CheckpointKind = (typeof CHECKPOINT_KINDS)[number];

/**
 * What a ledger record signs: a stream's head at a time, at position `gseq`
 * of the one ledger all instances share, linked to the record before it
 * (`prev`, its checkpointDigest), so a removed record breaks the links.
 */
export interface CheckpointBody {
  gseq: number;
  prev: string;
  kind: CheckpointKind;
  stream: string;
  seq: number;
  hash: string;
  at: Date;
  keyId: string;
}

/** Ed25519 (intl) or SM2 with SM3 and the standard identifier (gm). */
export const CHECKPOINT_ALGORITHMS = ['Ed25519', 'SM2'] as const;
export type CheckpointAlgorithm = (typeof CHECKPOINT_ALGORITHMS)[number];

export interface CheckpointRecord extends CheckpointBody {
  alg: CheckpointAlgorithm;
  /** base64 signature over checkpointPayload(body): Ed25519, or SM2 (DER, GB/T 35276). */
  signature: string;
}

/** RFC 8785 canonical JSON of the signed fields. */
export function checkpointPayload(body: CheckpointBody): Buffer {
  const canonical = canonicalize({
    gseq: body.gseq,
    prev: body.prev,
    kind: body.kind,
    stream: body.stream,
    seq: body.seq,
    hash: body.hash,
    at: body.at,
    keyId: body.keyId,
  });
  return Buffer.from(canonical ?? '', 'utf8');
}

/**
 * Hash (hex) of a record's signed payload: what the next record's `prev`
 * holds. SHA-256, or SM3 for a record signed with SM2, so a gm ledger links
 * with the national hash. (`alg` is not in the payload, but `keyId` is, and
 * each checkpoint key has one algorithm.)
 */
export function checkpointDigest(body: CheckpointBody & { alg?: unknown }): string {
  return hash(body.alg === 'SM2' ? 'sm3' : 'sha256', checkpointPayload(body), 'hex');
}

export const INVALID_REASONS = [
  'MALFORMED',
  'SEQUENCE_GAP',
  'HASH_MISMATCH',
  'CHAIN_BROKEN',
  'CHECKPOINT_MISMATCH',
  'CHECKPOINT_SIGNATURE_INVALID',
  'CHECKPOINT_MISSING',
  'CHECKPOINT_CHAIN_BROKEN',
  'TRUNCATED',
  'STREAM_NOT_OPENED',
  'STREAM_MISSING',
  'EVENTS_AFTER_CLOSE',
] as const;
export type InvalidReason = (typeof INVALID_REASONS)[number];

/** Where the log stops being trustworthy: the event at (stream, seq), and why. */
export interface InvalidEvent {
  stream: string;
  seq: number;
  reason: InvalidReason;
  /** For ledger findings: the ledger position concerned. */
  gseq?: number;
}

export const WARNING_REASONS = ['UNPROTECTED_TAIL'] as const;

/**
 * Not a break, but a part of the log weaker than the rest: events seq..toSeq
 * of a stream were written after its last checkpoint and sealed only after its
 * writer crashed, so a cut of that tail made before the seal is not detectable.
 */
export interface LogWarning {
  stream: string;
  seq: number;
  toSeq: number;
  reason: (typeof WARNING_REASONS)[number];
}

/** What a check of the whole log found: `firstInvalid` is absent when it is intact. */
export interface LogVerification {
  ok: boolean;
  checked: number;
  streams: number;
  checkpoints: number;
  firstInvalid?: InvalidEvent;
  findings: InvalidEvent[];
  warnings: LogWarning[];
}

/** How far a stream's events verified, once they were all read. */
export interface StreamSummary {
  /** Seq of the last event that verified (0: none). */
  lastSeq: number;
  /** Its hash (GENESIS_HASH when none). */
  head: string;
  /** A break was found; nothing after it was checked. */
  broken: boolean;
}

/**
 * Checks events fed in (stream, seq) order against the chain rules: no gap,
 * a valid keyed hash, a link to the predecessor. Pure and synchronous: the
 * caller streams documents in, may feed a stream's late appends afterwards,
 * and reads the per-stream summaries at the end.
 */
export class ChainVerifier {
  checked = 0;
  readonly findings: InvalidEvent[] = [];
  private readonly streams = new Map<string, StreamSummary & { expectedSeq: number }>();

  constructor(private readonly key: KeyObject) {}

  /** The seq the next event of `stream` must have, while the stream is unbroken. */
  expectedSeq(stream: string): number | null {
    const state = this.streams.get(stream);
    return state && !state.broken ? state.expectedSeq : null;
  }

  add(document: Partial<AuditEventRecord> & { _id?: unknown }): void {
    this.checked += 1;
    const { stream, seq } = document;
    if (typeof stream !== 'string' || typeof seq !== 'number' || !Number.isInteger(seq)) {
      // Cannot be placed in any stream: reported under the stream it claims, at seq 0.
      this.findings.push({ stream: String(stream ?? ''), seq: 0, reason: 'MALFORMED' });
      return;
    }
    let state = this.streams.get(stream);
    if (!state) {
      state = { lastSeq: 0, head: GENESIS_HASH, broken: false, expectedSeq: 1 };
      this.streams.set(stream, state);
    }
    if (state.broken) return;
    const fail = (at: number, reason: InvalidReason) => {
      state.broken = true;
      this.findings.push({ stream, seq: at, reason });
    };
    if (seq !== state.expectedSeq) return fail(state.expectedSeq, 'SEQUENCE_GAP');
    if (document.hash !== eventHash(document, this.key)) return fail(seq, 'HASH_MISMATCH');
    if (document.prevHash !== state.head) return fail(seq, 'CHAIN_BROKEN');
    state.head = document.hash;
    state.lastSeq = seq;
    state.expectedSeq = seq + 1;
  }

  /** Every stream that has events, and how far each verified. */
  summaries(): ReadonlyMap<string, StreamSummary> {
    return this.streams;
  }
}
