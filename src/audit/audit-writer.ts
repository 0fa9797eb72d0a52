import { randomBytes, sign } from 'node:crypto';
import { AppError, ServiceUnavailable } from '../errors';
import type { Logger } from '../logger';
import {
  chainEvent,
  checkpointPayload,
  GENESIS_HASH,
  type AuditEventRecord,
  type CheckpointBody,
  type UnchainedEvent,
} from './audit-chain';
import type { AuditKeys } from './audit-keys';
import type { AuditStore } from './audit-store';

export interface ChainWriterOptions {
  store: Pick<AuditStore, 'insertEvents' | 'insertCheckpoint'>;
  keys: Pick<AuditKeys, 'checkpointPrivateKey' | 'checkpointKeyId'>;
  logger: Logger;
  checkpointIntervalMs: number;
  /** Most events one batch (one ordered insert) carries. */
  maxBatch?: number;
}

interface Pending {
  event: UnchainedEvent;
  resolve(): void;
  reject(error: unknown): void;
}

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
 * Appends events to this process's own hash chain (stream), one batch at a time.
 *
 * Appends are serialized: a batch is chained onto the confirmed head and
 * inserted in one ordered insert; record() calls arriving meanwhile wait
 * and go together in the next batch (group commit). The head only moves once
 * the insert is acknowledged, so a checkpoint always names a durable event.
 *
 * When an insert fails, the callers of the events not written are rejected
 * with 503 and the writer moves to a fresh stream: the old stream's position
 * may be taken (the unique (stream, seq) index refused it) or unknown (a
 * network error after the write), and continuing it could fork the chain.
 */
export class ChainWriter {
  private stream = newStreamId();
  private seq = 0;
  private head = GENESIS_HASH;
  private rotate = false;
  private queue: Pending[] = [];
  private flushing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly maxBatch: number;

  constructor(private readonly options: ChainWriterOptions) {
    this.maxBatch = options.maxBatch ?? 500;
  }

  /** The stream this process currently appends to, and its confirmed head. */
  position(): { stream: string; seq: number; hash: string } {
    return { stream: this.stream, seq: this.seq, hash: this.head };
  }

  get running(): boolean {
    return this.timer !== null && !this.stopped;
  }

  /** Writes the opening checkpoint and starts the periodic (also idle) checkpoints. */
  async start(): Promise<void> {
    if (this.timer || this.stopped) return;
    await this.checkpoint();
    this.timer = setInterval(() => {
      this.checkpoint().catch(() => undefined);
    }, this.options.checkpointIntervalMs);
    this.timer.unref();
  }

  /** Stops checkpoints, lets queued events finish, then writes a final checkpoint. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.flushing;
    await this.checkpoint().catch(() => undefined);
  }

  /** Resolves once the event is durably written; rejects with 503 otherwise. */
  append(event: UnchainedEvent): Promise<void> {
    if (this.stopped) return Promise.reject(new AuditWriteFailed());
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ event, resolve, reject });
      if (!this.flushing) {
        this.flushing = this.flush().finally(() => {
          this.flushing = null;
        });
      }
    });
  }

  /** Signs and stores the current head (stream, seq, hash, time), even when nothing changed. */
  async checkpoint(): Promise<void> {
    await this.writeCheckpoint({ stream: this.stream, seq: this.seq, hash: this.head });
  }

  private async writeCheckpoint(head: { stream: string; seq: number; hash: string }) {
    const body: CheckpointBody = {
      ...head,
      at: new Date(),
      keyId: this.options.keys.checkpointKeyId,
    };
    const signature = sign(null, checkpointPayload(body), this.options.keys.checkpointPrivateKey);
    try {
      await this.options.store.insertCheckpoint({
        ...body,
        alg: 'Ed25519',
        signature: signature.toString('base64'),
      });
    } catch (error) {
      this.logFailure('audit checkpoint write failed', error);
      throw error;
    }
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      if (this.rotate) this.rotateStream();
      const batch = this.queue.splice(0, this.maxBatch);
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

  /** Chains events one after another from the confirmed head; the head itself does not move. */
  private chainOntoHead(events: UnchainedEvent[]): AuditEventRecord[] {
    let prevHash = this.head;
    return events.map((event, index) => {
      const record = chainEvent(event, {
        stream: this.stream,
        seq: this.seq + index + 1,
        prevHash,
      });
      prevHash = record.hash;
      return record;
    });
  }

  private rotateStream(): void {
    const closing = { stream: this.stream, seq: this.seq, hash: this.head };
    // Seal what is known to be written, so a cut tail of the old stream is still detected.
    if (closing.seq > 0) this.writeCheckpoint(closing).catch(() => undefined);
    this.stream = newStreamId();
    this.seq = 0;
    this.head = GENESIS_HASH;
    this.rotate = false;
    this.writeCheckpoint({ stream: this.stream, seq: 0, hash: GENESIS_HASH }).catch(
      () => undefined,
    );
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
