import { randomBytes } from 'node:crypto';
import { AppError, Conflict, ServiceUnavailable } from '../errors';
import type { Logger } from '../logger';
import {
  chainEvent,
  checkpointDigest,
  checkpointPayload,
  eventHash,
  GENESIS_HASH,
  type AuditEventRecord,
  type CheckpointBody,
  type CheckpointKind,
  type UnchainedEvent,
} from './audit-chain';
import type { AuditKeys } from './audit-keys';
import type { AuditStore } from './audit-store';

export type WriterStore = Pick<
  AuditStore,
  | 'insertEvents'
  | 'insertCheckpoint'
  | 'headCheckpoint'
  | 'lastCheckpointOf'
  | 'findRange'
  | 'registerStream'
  | 'heartbeat'
  | 'claimOrphan'
  | 'markClosed'
>;

export interface ChainWriterOptions {
  store: WriterStore;
  keys: Pick<AuditKeys, 'checkpointSigner' | 'eventMacKey' | 'eventMacAlgorithm'>;
  logger: Logger;
  /** Most time between two checkpoints of a stream that has new events. */
  checkpointIntervalMs: number;
  /** Most events a stream holds beyond its last checkpoint: the next append waits for one. */
  checkpointEvery?: number;
  /** A stream whose heartbeat is older than this is orphaned (its writer died) and gets sealed. */
  staleAfterMs?: number;
  /** Most events one batch (one ordered insert) carries. */
  maxBatch?: number;
  clock?: () => Date;
}

interface Pending {
  event: UnchainedEvent;
  resolve(): void;
  reject(error: unknown): void;
}

interface Head {
  stream: string;
  seq: number;
  hash: string;
}

/** Attempts at a ledger position before giving up: each loss means another instance appended. */
const LEDGER_ATTEMPTS = 20;

/** A new writer stream id: its start time first, so ids sort by when the writer began. */
export function newStreamId(now = new Date()): string {
  const time = now.toISOString().replace(/[-:.]/g, '');
  return `${time}-${randomBytes(6).toString('hex')}`;
}

export class AuditWriteFailed extends ServiceUnavailable {
  constructor(cause?: unknown) {
    super('The access log cannot record this access right now.', { cause });
  }
}

/**
 * Appends events to this process's own hash chain (stream), one batch at a time,
 * and records the stream's life in the shared signed ledger.
 *
 * A stream is opened (registry entry, then a signed OPEN record) before its
 * first event, checkpointed at least every `checkpointEvery` events (an append
 * waits for it) and every `checkpointIntervalMs` while it grows, and closed by
 * a signed CLOSE record on stop. Ledger records of all instances form one
 * chain: each takes the next `gseq` (a unique index makes that a
 * compare-and-set) and names the previous record's digest.
 *
 * Appends are serialized: a batch is chained onto the confirmed head and
 * inserted in one ordered insert; record() calls arriving meanwhile wait and
 * go together in the next batch (group commit). The head only moves once the
 * insert is acknowledged, so a checkpoint always names a durable event.
 *
 * When an insert fails, the callers of the events not written are rejected
 * with 503 and the writer closes the stream at what is durably there and moves
 * to a fresh one: continuing could fork the chain.
 */
export class ChainWriter {
  private stream: string;
  private seq = 0;
  private head = GENESIS_HASH;
  private opened = false;
  private rotate = false;
  private checkpointedSeq = 0;
  private queue: Pending[] = [];
  private flushing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** Ledger appends of this writer run one after another. */
  private ledgerTail: Promise<unknown> = Promise.resolve();
  /** Highest ledger position this instance has written or seen. */
  private witnessedGseq = 0;
  /** Set once the ledger was found shorter than a position already witnessed. */
  private rollbackFrom: number | null = null;
  private readonly maxBatch: number;
  private readonly every: number;
  private readonly staleAfterMs: number;
  private readonly now: () => Date;

  constructor(private readonly options: ChainWriterOptions) {
    this.now = options.clock ?? (() => new Date());
    this.stream = newStreamId(this.now());
    this.maxBatch = options.maxBatch ?? 500;
    this.every = options.checkpointEvery ?? 1000;
    this.staleAfterMs = options.staleAfterMs ?? options.checkpointIntervalMs * 5;
  }

  /** The stream this process currently appends to, and its confirmed head. */
  position(): Head {
    return { stream: this.stream, seq: this.seq, hash: this.head };
  }

  /** What this instance knows of the ledger's length, for verify to hold the database to. */
  ledgerWitness(): { gseq: number; rollbackFrom: number | null } {
    return { gseq: this.witnessedGseq, rollbackFrom: this.rollbackFrom };
  }

  /** Records that a check of the ledger reached `gseq` (all of it authentic and linked). */
  witness(gseq: number): void {
    this.witnessedGseq = Math.max(this.witnessedGseq, gseq);
  }

  get running(): boolean {
    return this.timer !== null && !this.stopped;
  }

  /** Opens this writer's stream, seals streams of crashed instances, starts the periodic work. */
  async start(): Promise<void> {
    if (this.timer || this.stopped) return;
    await this.enqueueFlush();
    if (!this.opened) throw new AuditWriteFailed(); // the cause is logged by flush
    await this.sealOrphans().catch((error) =>
      this.logFailure('audit orphan sealing failed', error),
    );
    this.timer = setInterval(() => {
      this.tick().catch(() => undefined);
    }, this.options.checkpointIntervalMs);
    this.timer.unref();
  }

  /** Stops periodic work, lets queued events finish, then closes the stream with a signed record. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.flushing;
    if (this.opened) {
      await this.closeStream(this.position()).catch(() => undefined);
      this.opened = false;
    }
  }

  /** Resolves once the event is durably written; rejects with 503 otherwise. */
  append(event: UnchainedEvent): Promise<void> {
    if (this.stopped) return Promise.reject(new AuditWriteFailed());
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ event, resolve, reject });
      void this.enqueueFlush();
    });
  }

  /** Signs and stores the current head when events came since the last checkpoint. */
  async checkpoint(): Promise<void> {
    if (!this.opened || this.seq === this.checkpointedSeq) return;
    await this.appendToLedger('CHECKPOINT', () => this.position());
  }

  /**
   * Seals every stream whose writer stopped heartbeating: a SEALED_AFTER_CRASH
   * record at the last event that still chains, with a valid keyed hash, onto
   * its last ledger record. Events after that record were never checkpointed
   * by their writer: verify reports them as an unprotected tail.
   */
  async sealOrphans(): Promise<void> {
    const now = this.now();
    const staleBefore = new Date(now.getTime() - this.staleAfterMs);
    for (let sealed = 0; sealed < 100; sealed += 1) {
      const stream = await this.options.store.claimOrphan(staleBefore, now, this.stream);
      if (!stream) return;
      const last = await this.options.store.lastCheckpointOf(stream);
      if (last?.kind !== 'CLOSE' && last?.kind !== 'SEALED_AFTER_CRASH') {
        const from = last
          ? { stream, seq: last.seq, hash: last.hash }
          : { stream, seq: 0, hash: GENESIS_HASH };
        const end = await this.durableEnd(from);
        await this.appendToLedger('SEALED_AFTER_CRASH', () => end);
        this.options.logger.warn(
          { stream, seq: end.seq, from: from.seq },
          'audit stream sealed after crash',
        );
      }
      await this.options.store.markClosed(stream, this.now());
    }
  }

  private enqueueFlush(): Promise<void> {
    if (!this.flushing) {
      this.flushing = this.flush().finally(() => {
        this.flushing = null;
        // An append made while the last batch was resolving found the flush still running.
        if (this.queue.length > 0 && !this.stopped) void this.enqueueFlush();
      });
    }
    return this.flushing;
  }

  private async tick(): Promise<void> {
    if (this.opened && !(await this.options.store.heartbeat(this.stream, this.now()))) {
      // Sealed by another instance (our heartbeat looked stale): nothing more may go on it.
      this.options.logger.error({ stream: this.stream }, 'audit stream was sealed while in use');
      this.rotate = true;
    }
    await this.checkpoint();
    const head = await this.options.store.headCheckpoint();
    this.observeHead(head?.gseq);
    await this.sealOrphans();
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0 || !this.opened) {
      try {
        if (!this.opened || this.rotate) await this.openStream();
        if (this.seq - this.checkpointedSeq >= this.every) await this.checkpoint();
      } catch (error) {
        this.logFailure('audit stream ledger write failed', error);
        const failed = new AuditWriteFailed(error);
        this.queue.splice(0).forEach((pending) => pending.reject(failed));
        return;
      }
      if (this.queue.length === 0) return;
      // The unprotected tail never exceeds `every` events.
      const room = this.every - (this.seq - this.checkpointedSeq);
      const batch = this.queue.splice(0, Math.min(this.maxBatch, room));
      const records = this.chainOntoHead(batch.map((pending) => pending.event));
      const { written, failure } = await this.options.store.insertEvents(records);
      if (written > 0) {
        this.seq += written;
        this.head = records[written - 1]!.hash;
      }
      batch.slice(0, written).forEach((pending) => pending.resolve());
      if (failure) {
        this.logFailure('audit event write failed', failure);
        this.rotate = true;
        const error = new AuditWriteFailed(failure);
        batch.slice(written).forEach((pending) => pending.reject(error));
      }
    }
  }

  /** Closes the current stream if it was opened, then registers and opens a fresh one. */
  private async openStream(): Promise<void> {
    if (this.opened) {
      const closing = this.position();
      this.opened = false;
      // Best effort: if it fails, the stream's heartbeat goes stale and another start seals it.
      await this.closeStream(closing).catch((error) =>
        this.logFailure('audit stream close failed', error),
      );
      this.stream = newStreamId(this.now());
      this.seq = 0;
      this.head = GENESIS_HASH;
      this.checkpointedSeq = 0;
    }
    this.rotate = false;
    await this.options.store.registerStream(this.stream, this.now());
    await this.appendToLedger('OPEN', () => this.position());
    this.opened = true;
  }

  /** Ends a stream at what is durably there (an insert that failed may have landed). */
  private async closeStream(from: Head): Promise<void> {
    const end = await this.durableEnd(from);
    await this.appendToLedger('CLOSE', () => end);
    await this.options.store.markClosed(from.stream, this.now());
  }

  /** Follows the stream from `from` while events chain onto it with a valid keyed hash. */
  private async durableEnd(from: Head): Promise<Head> {
    let { seq, hash } = from;
    for (;;) {
      const found = await this.options.store.findRange(
        from.stream,
        seq + 1,
        seq + 1 + this.maxBatch,
      );
      let advanced = 0;
      for (const event of found) {
        if (
          event.seq !== seq + 1 ||
          event.prevHash !== hash ||
          event.hash !== eventHash(event, this.options.keys.eventMacKey)
        ) {
          return { stream: from.stream, seq, hash };
        }
        seq = event.seq;
        hash = event.hash;
        advanced += 1;
      }
      if (advanced < this.maxBatch) return { stream: from.stream, seq, hash };
    }
  }

  /** Queues one ledger record; `head` is read when its turn comes. */
  private appendToLedger(kind: CheckpointKind, head: () => Head): Promise<void> {
    const run = this.ledgerTail.then(() => this.writeLedgerRecord(kind, head()));
    this.ledgerTail = run.catch(() => undefined);
    return run;
  }

  private async writeLedgerRecord(kind: CheckpointKind, head: Head): Promise<void> {
    try {
      for (let attempt = 0; attempt < LEDGER_ATTEMPTS; attempt += 1) {
        const previous = await this.options.store.headCheckpoint();
        this.observeHead(previous?.gseq);
        const body: CheckpointBody = {
          gseq: (previous?.gseq ?? 0) + 1,
          prev: previous ? checkpointDigest(previous) : GENESIS_HASH,
          kind,
          ...head,
          at: this.now(),
          keyId: this.options.keys.checkpointSigner.keyId,
        };
        const signature = await this.options.keys.checkpointSigner.sign(checkpointPayload(body));
        try {
          await this.options.store.insertCheckpoint({
            ...body,
            alg: this.options.keys.checkpointSigner.alg,
            signature: signature.toString('base64'),
          });
        } catch (error) {
          if (error instanceof Conflict) continue; // another instance took the position
          throw error;
        }
        this.witness(body.gseq);
        if (head.stream === this.stream && kind !== 'SEALED_AFTER_CRASH') {
          this.checkpointedSeq = Math.max(this.checkpointedSeq, head.seq);
        }
        return;
      }
      throw new AuditWriteFailed();
    } catch (error) {
      this.logFailure('audit checkpoint write failed', error);
      throw error;
    }
  }

  /** A ledger shorter than what this instance already saw has lost records. */
  private observeHead(gseq: unknown): void {
    const reached = typeof gseq === 'number' ? gseq : 0;
    if (reached < this.witnessedGseq && this.rollbackFrom === null) {
      this.rollbackFrom = this.witnessedGseq;
      this.options.logger.error(
        { witnessed: this.witnessedGseq, found: reached },
        'audit ledger is shorter than already seen: records were removed',
      );
    }
    this.witness(reached);
  }

  /** Chains events one after another from the confirmed head; the head itself does not move. */
  private chainOntoHead(events: UnchainedEvent[]): AuditEventRecord[] {
    let prevHash = this.head;
    return events.map((event, index) => {
      const record = chainEvent(
        event,
        { stream: this.stream, seq: this.seq + index + 1, prevHash },
        this.options.keys.eventMacKey,
        this.options.keys.eventMacAlgorithm,
      );
      prevHash = record.hash;
      return record;
    });
  }

  private logFailure(message: string, error: unknown): void {
    // By class and code only: a foreign error's message may quote data.
    const cause = error instanceof AppError ? (error.cause ?? error) : error;
    this.options.logger.error(
      {
        stream: this.stream,
        code: error instanceof AppError ? error.code : undefined,
        errorClass: cause instanceof Error ? cause.constructor.name : typeof cause,
      },
      message,
    );
  }
}
