import { hash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { Actor } from '../http/route';
import { canonicalEvent } from './audit-canonical';
import type { AuditAction, AuditOutcome, AuditPurpose } from './audit-types';

/** prevHash of the first event of every stream. */
export const GENESIS_HASH = '0'.repeat(64);

/** Version of the stored event shape; part of the hashed content. */
export const EVENT_VERSION = 1;

/**
 * One access-log event as stored. Every field except `_id` and `hash` is
 * covered by `hash`, so adding, removing or editing any of them is detected.
 */
export interface AuditEventRecord {
  v: number;
  /** One per app instance (writer); `seq` counts from 1 within it. */
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
}

/** The event without its chain position and hashes: what the writer is handed. */
export type UnchainedEvent = Omit<AuditEventRecord, 'v' | 'stream' | 'seq' | 'prevHash' | 'hash'>;

/** The stored document's `_id`: one per (stream, seq), so a point read needs no index. */
export function eventId(stream: string, seq: number): string {
  return `${stream}:${seq}`;
}

/**
 * SHA-256 over the RFC 8785 (JCS) canonical JSON of everything stored except
 * `_id` and `hash`. Dates encode as ISO 8601 strings (their toJSON).
 */
export function eventHash(document: object): string {
  // One-shot hash (node >= 20.12): no Hash object per event, which verify feels.
  return hash('sha256', canonicalEvent(document as Record<string, unknown>), 'hex');
}

/** Appends an event to a chain position, computing its hash. */
export function chainEvent(
  event: UnchainedEvent,
  position: { stream: string; seq: number; prevHash: string },
): AuditEventRecord {
  // Key order is irrelevant to the hash (canonical encoding sorts keys).
  const record = { v: EVENT_VERSION, ...position, ...event, hash: '' };
  record.hash = eventHash(record);
  return record;
}

/** What a checkpoint signs: a stream's head at a time. */
export interface CheckpointBody {
  stream: string;
  seq: number;
  hash: string;
  at: Date;
  keyId: string;
}

export interface CheckpointRecord extends CheckpointBody {
  alg: 'Ed25519';
  /** base64 Ed25519 signature over the canonical JSON of the body. */
  signature: string;
}

export function checkpointPayload(body: CheckpointBody): Buffer {
  const canonical = canonicalize({
    stream: body.stream,
    seq: body.seq,
    hash: body.hash,
    at: body.at,
    keyId: body.keyId,
  });
  return Buffer.from(canonical ?? '', 'utf8');
}

export const INVALID_REASONS = [
  'MALFORMED',
  'SEQUENCE_GAP',
  'HASH_MISMATCH',
  'CHAIN_BROKEN',
  'CHECKPOINT_MISMATCH',
  'CHECKPOINT_SIGNATURE_INVALID',
  'TRUNCATED',
] as const;
export type InvalidReason = (typeof INVALID_REASONS)[number];

/** Where the log stops being trustworthy: the event at (stream, seq), and why. */
export interface InvalidEvent {
  stream: string;
  seq: number;
  reason: InvalidReason;
}

/** What a check of the whole log found: `firstInvalid` is absent when it is intact. */
export interface LogVerification {
  ok: boolean;
  checked: number;
  streams: number;
  checkpoints: number;
  firstInvalid?: InvalidEvent;
}

interface StreamState {
  stream: string;
  expectedSeq: number;
  prevHash: string;
  broken: boolean;
  /** Hashes at the seqs some checkpoint names. */
  hashesAt: Map<number, string>;
}

/**
 * Checks events fed in (stream, seq) order against the chain rules and the
 * (already signature-checked) checkpoints. Pure and synchronous: the caller
 * streams documents in and reads the result at the end.
 */
export class ChainVerifier {
  private checked = 0;
  private readonly invalid: InvalidEvent[] = [];
  private current: StreamState | null = null;
  private readonly seenStreams = new Set<string>();

  constructor(
    /** Valid checkpoints, by stream. */
    private readonly checkpoints: Map<string, CheckpointBody[]>,
    badCheckpoints: InvalidEvent[] = [],
  ) {
    this.invalid.push(...badCheckpoints);
  }

  /** The seq the next event of `stream` must have, when `stream` is the one being read. */
  expectedSeq(stream: string): number | null {
    return this.current?.stream === stream && !this.current.broken
      ? this.current.expectedSeq
      : null;
  }

  add(document: Partial<AuditEventRecord> & { _id?: unknown }): void {
    this.checked += 1;
    const { stream, seq } = document;
    if (typeof stream !== 'string' || typeof seq !== 'number' || !Number.isInteger(seq)) {
      // Cannot be placed in any stream: reported under the stream it claims, at seq 0.
      this.invalid.push({ stream: String(stream ?? ''), seq: 0, reason: 'MALFORMED' });
      return;
    }
    if (this.current?.stream !== stream) this.openStream(stream);
    const state = this.current!;
    if (state.broken) return;
    const fail = (at: number, reason: InvalidReason) => {
      state.broken = true;
      this.invalid.push({ stream, seq: at, reason });
    };
    if (seq !== state.expectedSeq) return fail(state.expectedSeq, 'SEQUENCE_GAP');
    if (document.hash !== eventHash(document)) return fail(seq, 'HASH_MISMATCH');
    if (document.prevHash !== state.prevHash) return fail(seq, 'CHAIN_BROKEN');
    if (state.hashesAt.has(seq)) state.hashesAt.set(seq, document.hash);
    state.prevHash = document.hash;
    state.expectedSeq = seq + 1;
  }

  finish(): LogVerification {
    this.closeStream();
    for (const stream of this.checkpoints.keys()) {
      if (!this.seenStreams.has(stream)) {
        this.openStream(stream);
        this.closeStream();
      }
    }
    const firstInvalid = [...this.invalid].sort((a, b) =>
      a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : a.seq - b.seq,
    )[0];
    return {
      ok: firstInvalid === undefined,
      checked: this.checked,
      streams: this.seenStreams.size,
      checkpoints: [...this.checkpoints.values()].reduce((n, list) => n + list.length, 0),
      ...(firstInvalid ? { firstInvalid } : {}),
    };
  }

  private openStream(stream: string): void {
    this.closeStream();
    this.seenStreams.add(stream);
    const hashesAt = new Map<number, string>();
    for (const checkpoint of this.checkpoints.get(stream) ?? []) {
      if (checkpoint.seq > 0) hashesAt.set(checkpoint.seq, '');
    }
    this.current = { stream, expectedSeq: 1, prevHash: GENESIS_HASH, broken: false, hashesAt };
  }

  /** Every checkpoint must match the chain; one past the last event means a cut tail. */
  private closeStream(): void {
    const state = this.current;
    this.current = null;
    if (!state || state.broken) return;
    const lastSeq = state.expectedSeq - 1;
    const checkpoints = [...(this.checkpoints.get(state.stream) ?? [])].sort(
      (a, b) => a.seq - b.seq,
    );
    for (const checkpoint of checkpoints) {
      if (checkpoint.seq > lastSeq) {
        this.invalid.push({ stream: state.stream, seq: lastSeq + 1, reason: 'TRUNCATED' });
        return;
      }
      const expected = checkpoint.seq === 0 ? GENESIS_HASH : state.hashesAt.get(checkpoint.seq);
      if (checkpoint.hash !== expected) {
        this.invalid.push({
          stream: state.stream,
          seq: checkpoint.seq,
          reason: 'CHECKPOINT_MISMATCH',
        });
        return;
      }
    }
  }
}
