import canonicalize from 'canonicalize';
import type { Logger } from '../logger';
import type { RefusalRepeat, UnchainedEvent } from './audit-chain';

export interface RefusalAggregatorOptions {
  /** Writes one event to the chain; resolves once it is durable. */
  append(event: UnchainedEvent): Promise<void>;
  logger: Logger;
  /** How long identical refusals after the first are counted before one event states them. */
  windowMs: number;
  /** Most distinct refusals counted at once; past it each refusal is written on its own. */
  maxOpen?: number;
  clock?: () => Date;
}

/**
 * Turns a flood of identical refusals into a bounded number of events, without
 * losing count of any. The first refusal of a kind is written at once (the
 * request answers 503 when it cannot be); identical ones in the following
 * window are counted, and when the window ends one event states how many there
 * were, from when to when (`repeat`). That event is chained and MAC'd like any
 * other, so its count cannot be edited or removed without verify failing.
 *
 * Identical means everything but the time and request id: same actor, source
 * address, route, action, purpose, fields and outcome.
 */
export class RefusalAggregator {
  private readonly open = new Map<string, OpenWindow>();
  /** Closed windows whose event could not be written yet; retried on the next sweep. */
  private unwritten: UnchainedEvent[] = [];
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<void> | null = null;
  private readonly maxOpen: number;
  private readonly now: () => Date;

  constructor(private readonly options: RefusalAggregatorOptions) {
    this.maxOpen = options.maxOpen ?? 10_000;
    this.now = options.clock ?? (() => new Date());
  }

  start(): void {
    if (this.timer) return;
    // A window is closed at most a quarter window (and at most 1 s) late.
    const every = Math.max(25, Math.min(1000, Math.floor(this.options.windowMs / 4)));
    this.timer = setInterval(() => void this.sweep(false), every);
    this.timer.unref();
  }

  /** Writes a refusal, or counts it when an identical one opened a window that is still open. */
  async record(event: UnchainedEvent): Promise<void> {
    const key = identityOf(event);
    const window = this.open.get(key);
    if (window && event.at.getTime() - window.openedAt < this.options.windowMs) {
      window.count += 1;
      window.firstAt ??= event.at;
      window.lastAt = event.at;
      window.lastRequestId = event.requestId;
      return;
    }
    if (window) await this.close(key, window);
    if (this.open.size < this.maxOpen) {
      this.open.set(key, { template: event, openedAt: event.at.getTime(), count: 0 });
    }
    try {
      await this.options.append(event);
    } catch (error) {
      // Unrecorded: the next identical refusal must be written, not counted.
      if (this.open.get(key)?.template === event) this.open.delete(key);
      throw error;
    }
  }

  /** Stops the sweeps and writes every open count, whatever its window. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.sweeping;
    await this.sweep(true);
    if (this.unwritten.length > 0) {
      this.options.logger.error(
        { refusalEvents: this.unwritten.length, refusals: countOf(this.unwritten) },
        'audit refusal counts lost at shutdown: their events could not be written',
      );
    }
  }

  /** Writes the events of windows that ended (all of them when `all`). */
  private sweep(all: boolean): Promise<void> {
    if (this.sweeping) return this.sweeping;
    this.sweeping = this.sweepOnce(all).finally(() => {
      this.sweeping = null;
    });
    return this.sweeping;
  }

  private async sweepOnce(all: boolean): Promise<void> {
    const now = this.now().getTime();
    for (const [key, window] of this.open) {
      if (all || now - window.openedAt >= this.options.windowMs) await this.close(key, window);
    }
    const retry = this.unwritten;
    this.unwritten = [];
    for (const event of retry) await this.write(event);
  }

  private async close(key: string, window: OpenWindow): Promise<void> {
    this.open.delete(key);
    if (window.count === 0 || !window.firstAt || !window.lastAt) return;
    const repeat: RefusalRepeat = {
      count: window.count,
      firstAt: window.firstAt,
      lastAt: window.lastAt,
    };
    await this.write({
      ...window.template,
      at: this.now(),
      requestId: window.lastRequestId ?? window.template.requestId,
      repeat,
    });
  }

  private async write(event: UnchainedEvent): Promise<void> {
    try {
      await this.options.append(event);
    } catch (error) {
      this.unwritten.push(event);
      this.options.logger.warn(
        { errorClass: (error as Error)?.constructor?.name, refusals: event.repeat?.count },
        'audit refusal count not written yet; retrying on the next sweep',
      );
    }
  }
}

interface OpenWindow {
  /** The refusal written when the window opened. */
  template: UnchainedEvent;
  openedAt: number;
  /** Identical refusals since, not yet written. */
  count: number;
  firstAt?: Date;
  lastAt?: Date;
  lastRequestId?: string;
}

function identityOf(event: UnchainedEvent): string {
  const { at, requestId, repeat, ...kind } = event;
  void at;
  void requestId;
  void repeat;
  return canonicalize(kind) ?? '';
}

function countOf(events: UnchainedEvent[]): number {
  return events.reduce((sum, event) => sum + (event.repeat?.count ?? 0), 0);
}
