import {
  ChainVerifier,
  eventId,
  GENESIS_HASH,
  type InvalidEvent,
  type LogVerification,
  type LogWarning,
  type StreamSummary,
} from './audit-chain';
import type { AuditKeys } from './audit-keys';
import {
  addLedgerRecords,
  checkLedgerReaches,
  emptyLedger,
  type LedgerState,
  type StreamRecords,
} from './audit-ledger';
import type { AuditStore, StreamEntry } from './audit-store';

type VerifyKeys = Pick<AuditKeys, 'checkpointVerifiers' | 'eventMacKey'>;
type VerifyStore = Pick<
  AuditStore,
  | 'allCheckpoints'
  | 'checkpointsAfter'
  | 'chainBatches'
  | 'findRange'
  | 'eventHashes'
  | 'allStreams'
>;

/** What the running instance knows of the ledger, which the database must not contradict. */
export interface LedgerWitness {
  ledgerWitness(): { gseq: number; rollbackFrom: number | null };
  witness(gseq: number): void;
}

/**
 * Checks the whole log. The ledger: every record signed, positions without
 * gaps, each linked to the one before, at least as long as this instance has
 * seen. Every stream: opened by a signed record and registered, events without
 * gaps, each with a valid keyed hash linked to its predecessor, every ledger
 * record of it matching the event it names, none missing before the last one
 * named, none after its closing record.
 */
export async function verifyLog(
  store: VerifyStore,
  keys: VerifyKeys,
  witness: LedgerWitness | null = null,
  batchSize = 5000,
): Promise<LogVerification> {
  const seen = witness?.ledgerWitness() ?? { gseq: 0, rollbackFrom: null };
  // The ledger first: every event it names was written before it, so the scan that follows sees it.
  const ledger = emptyLedger();
  addLedgerRecords(ledger, await store.allCheckpoints(), keys);
  const verifier = new ChainVerifier(keys.eventMacKey);
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
  // Streams opened, checkpointed or closed while the scan ran.
  addLedgerRecords(ledger, await store.checkpointsAfter(ledger.position), keys);
  // Read after the ledger: a stream is registered before its OPEN record is written.
  const registry = await store.allStreams();
  await readLateAppends(store, ledger, verifier);

  if (seen.rollbackFrom !== null) {
    ledger.findings.push({
      stream: '',
      seq: 0,
      reason: 'CHECKPOINT_MISSING',
      gseq: seen.rollbackFrom,
    });
  } else {
    checkLedgerReaches(ledger, seen.gseq);
  }
  const { findings, warnings, toCompare } = checkStreams(ledger, verifier.summaries(), registry);
  findings.push(...(await compareNamedHashes(store, toCompare)));
  const all = [...verifier.findings, ...ledger.findings, ...findings].sort((a, b) =>
    a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : a.seq - b.seq,
  );
  if (ledger.findings.length === 0 && ledger.last) witness?.witness(ledger.last.gseq);
  return {
    ok: all.length === 0,
    checked: verifier.checked,
    streams: verifier.summaries().size,
    checkpoints: ledger.accepted,
    ...(all[0] ? { firstInvalid: all[0] } : {}),
    findings: all,
    warnings,
  };
}

/** Events appended after the scan passed their stream, up to the last seq the ledger names. */
async function readLateAppends(
  store: VerifyStore,
  ledger: LedgerState,
  verifier: ChainVerifier,
): Promise<void> {
  for (const [stream, records] of ledger.streams) {
    const named = Math.max(...records.records.map((record) => record.seq));
    const expected = verifier.expectedSeq(stream) ?? (verifier.summaries().has(stream) ? null : 1);
    if (expected === null || named < expected) continue;
    for (const late of await store.findRange(stream, expected, named + 1)) verifier.add(late);
  }
}

interface NamedHash {
  stream: string;
  seq: number;
  hash: string;
}

function checkStreams(
  ledger: LedgerState,
  summaries: ReadonlyMap<string, StreamSummary>,
  registry: StreamEntry[],
): { findings: InvalidEvent[]; warnings: LogWarning[]; toCompare: NamedHash[] } {
  const findings: InvalidEvent[] = [];
  const warnings: LogWarning[] = [];
  const toCompare: NamedHash[] = [];
  const registered = new Set(registry.map((entry) => entry.stream));
  const names = new Set([...ledger.streams.keys(), ...summaries.keys(), ...registered]);
  for (const stream of names) {
    const records = ledger.streams.get(stream);
    const summary = summaries.get(stream);
    if (!records?.opened) {
      // Events the service never opened a stream for: written or copied in from outside. (A
      // registry entry alone vouches for nothing; it may also be a start under way.)
      if (summary) findings.push({ stream, seq: 1, reason: 'STREAM_NOT_OPENED' });
      continue;
    }
    if (!registered.has(stream)) findings.push({ stream, seq: 0, reason: 'STREAM_MISSING' });
    if (summary?.broken) continue; // reported where it broke; nothing after it is known
    checkStream(stream, records, summary?.lastSeq ?? 0, findings, warnings, toCompare);
  }
  return { findings, warnings, toCompare };
}

function checkStream(
  stream: string,
  records: StreamRecords,
  lastSeq: number,
  findings: InvalidEvent[],
  warnings: LogWarning[],
  toCompare: NamedHash[],
): void {
  const named = Math.max(...records.records.map((record) => record.seq));
  if (named > lastSeq) {
    // Events the ledger vouches for are gone: the whole stream, or its tail.
    findings.push(
      lastSeq === 0
        ? { stream, seq: 1, reason: 'STREAM_MISSING' }
        : { stream, seq: lastSeq + 1, reason: 'TRUNCATED' },
    );
  }
  for (const record of records.records) {
    if (record.seq === 0 && record.hash !== GENESIS_HASH) {
      findings.push({ stream, seq: 0, reason: 'CHECKPOINT_MISMATCH' });
    } else if (record.seq > 0 && record.seq <= lastSeq) {
      toCompare.push({ stream, seq: record.seq, hash: record.hash });
    }
  }
  const close = records.close;
  if (close && lastSeq > close.seq) {
    findings.push({ stream, seq: close.seq + 1, reason: 'EVENTS_AFTER_CLOSE' });
  }
  if (close?.kind === 'SEALED_AFTER_CRASH' && close.seq > records.protectedSeq) {
    warnings.push({
      stream,
      seq: records.protectedSeq + 1,
      toSeq: close.seq,
      reason: 'UNPROTECTED_TAIL',
    });
  }
}

/** Each event a ledger record names must be the one it signed. */
async function compareNamedHashes(store: VerifyStore, named: NamedHash[]): Promise<InvalidEvent[]> {
  const stored = await store.eventHashes(named);
  const mismatched = named.filter(
    (entry) => stored.get(eventId(entry.stream, entry.seq)) !== entry.hash,
  );
  // One finding per stream: its first mismatch.
  const first = new Map<string, InvalidEvent>();
  for (const { stream, seq } of mismatched) {
    const known = first.get(stream);
    if (!known || seq < known.seq)
      first.set(stream, { stream, seq, reason: 'CHECKPOINT_MISMATCH' });
  }
  return [...first.values()];
}
