import { isUtf8 } from 'node:buffer';
import { DecryptionFailed } from '../errors';
import { wipe } from './aead';
import { SubjectKeyUnavailable } from './field-cipher';
import type { BlindIndex, RekeyedIndex } from './blind-index';
import type { EncryptedField, FieldCipher, FieldRef } from './field-cipher-types';

/**
 * Moving stored data to the current profile (`npm run keys -- move-profile`):
 * every field ciphertext re-sealed in the profile's format, and every blind
 * index recomputed with the active key version. Domain-free: each capability
 * lists its own records (SealedRecordSource), this walks them.
 */

/** One encrypted field of a record: where it lives (its AAD) and what is stored. */
export interface SealedField {
  name: string;
  ref: FieldRef;
  ciphertext: EncryptedField;
}

/** A blind index kept beside a record, computed from one of its sealed fields' plaintext. */
export interface DerivedIndex {
  name: string;
  kind: RekeyedIndex;
  stored: string;
  /** The SealedField whose plaintext (already normalised when it was stored) it indexes. */
  from: string;
}

export interface SealedRecord {
  id: string;
  /** The data subject (whose data key seals the fields): named by the access event. */
  subjectId: string;
  fields: SealedField[];
  indexes: DerivedIndex[];
  /** Values the store adds when the record is moved (the identities' registration key). */
  alsoSet?: Record<string, string>;
}

export type ReplaceOutcome = 'replaced' | 'changed' | 'conflict';

export interface SealedRecordSource {
  /** What reports call these records: "identities", "identity photos", "orders". */
  label: string;
  count(): Promise<number>;
  /** Records holding sealed fields, in id order, after `after`. */
  list(after: string | null, limit: number): Promise<SealedRecord[]>;
  /**
   * Compare-and-set: stores `next` only while every value in `expected` is
   * still there ('changed' when a writer got there first, 'conflict' when a
   * unique index refuses the new value).
   */
  replace(
    id: string,
    expected: Record<string, string>,
    next: Record<string, string>,
  ): Promise<ReplaceOutcome>;
}

export interface SourceReport {
  label: string;
  scanned: number;
  moved: number;
  /**
   * Records of a subject whose data key is destroyed (erased; an erased buyer's
   * orders keep their ciphertext until the legal hold ends): nobody can read
   * them, so they are neither read, nor recorded, nor counted as left.
   */
  erased: number;
  /** Records with no data key, or that did not decrypt (damaged): left as they are, and left. */
  unreadable: number;
  /** Their ids (ids only, never data). */
  unreadableIds: string[];
  /** Changed by a writer between the read and the write: run again. */
  changed: number;
  /** Refused by a unique index (two registrations of one person by one user): `conflictIds`. */
  conflicts: number;
  /** The ids of the records a unique index refused (ids only, never data). */
  conflictIds: string[];
}

export interface MoveOptions {
  batchSize: number;
  /** Only count what is left: nothing is decrypted, nothing recorded, nothing written. */
  checkOnly?: boolean;
  /** Runs before a record's data is decrypted (its access event); a throw stops the pass. */
  beforeRead(source: string, record: SealedRecord, fields: string[]): Promise<void>;
  /** Before each source is walked, with how many records it holds. */
  onSource?(source: string, total: number): void;
  /** After each record; a throw stops the pass there (it resumes on the next run). */
  onRecord?(source: string, scanned: number, recordId: string): void | Promise<void>;
}

/** What of the record is not in the current profile's form yet. */
function staleParts(deps: MoveDeps, record: SealedRecord) {
  const fields = record.fields.filter((field) => !deps.fieldCipher.isCurrent(field.ciphertext));
  const indexes = record.indexes.filter(
    (index) => !deps.blindIndex.isCurrent(index.kind, index.stored),
  );
  return { fields, indexes };
}

interface MoveDeps {
  fieldCipher: FieldCipher;
  blindIndex: BlindIndex;
}

/** A decrypted field as text, for a blind index: DecryptionFailed unless it is UTF-8. */
function textOf(plaintext: Buffer): string {
  if (!isUtf8(plaintext)) throw new DecryptionFailed();
  return plaintext.toString('utf8');
}

/**
 * The record re-sealed and re-indexed: only the values that change. Each
 * field `read` names is decrypted once, whether it is re-sealed, indexes, or
 * both, and wiped afterwards.
 */
async function movedValues(
  deps: MoveDeps,
  record: SealedRecord,
  stale: ReturnType<typeof staleParts>,
  read: Set<string>,
): Promise<Record<string, string>> {
  const plain = new Map<string, Buffer>();
  try {
    for (const name of read) {
      const field = record.fields.find((candidate) => candidate.name === name);
      if (!field) throw new DecryptionFailed();
      plain.set(name, await deps.fieldCipher.decrypt(field.ref, field.ciphertext));
    }
    const next: Record<string, string> = {};
    for (const field of stale.fields) {
      next[field.name] = await deps.fieldCipher.encrypt(field.ref, plain.get(field.name)!);
    }
    for (const index of stale.indexes) {
      const text = textOf(plain.get(index.from)!);
      // The active version (a pending one is for lookups only).
      next[index.name] =
        index.kind === 'idNumber' ? deps.blindIndex.idNumber(text) : deps.blindIndex.name(text);
    }
    return next;
  } finally {
    for (const bytes of plain.values()) wipe(bytes);
  }
}

async function moveRecord(
  deps: MoveDeps,
  source: SealedRecordSource,
  record: SealedRecord,
  options: MoveOptions,
  report: SourceReport,
): Promise<void> {
  const stale = staleParts(deps, record);
  if (stale.fields.length === 0 && stale.indexes.length === 0) return;
  const key = await deps.fieldCipher.subjectKeyState(record.subjectId);
  if (key === 'destroyed') {
    report.erased += 1;
    return;
  }
  if (key === 'missing') {
    // Not erased, just without a key (a restore behind, damage): it stays left, by id.
    report.unreadable += 1;
    report.unreadableIds.push(record.id);
    return;
  }
  if (options.checkOnly) {
    report.changed += 1;
    return;
  }
  // The event names fields as their FieldRef does (photo.front, consignee, idNumber).
  const fieldOf = (name: string) => record.fields.find((f) => f.name === name)?.ref.field ?? name;
  const read = new Set([...stale.fields.map((f) => f.name), ...stale.indexes.map((i) => i.from)]);
  await options.beforeRead(source.label, record, [...read].map(fieldOf));
  let next: Record<string, string>;
  try {
    next = await movedValues(deps, record, stale, read);
  } catch (error) {
    // SubjectKeyUnavailable: an erasure destroyed the key between the read and the re-seal.
    if (!(error instanceof DecryptionFailed) && !(error instanceof SubjectKeyUnavailable)) {
      throw error;
    }
    report.unreadable += 1;
    report.unreadableIds.push(record.id);
    return;
  }
  const expected: Record<string, string> = {};
  for (const field of stale.fields) expected[field.name] = field.ciphertext;
  for (const index of stale.indexes) expected[index.name] = index.stored;
  const outcome = await source.replace(record.id, expected, { ...record.alsoSet, ...next });
  if (outcome === 'replaced') report.moved += 1;
  else if (outcome === 'changed') report.changed += 1;
  else {
    report.conflicts += 1;
    report.conflictIds.push(record.id);
  }
}

/**
 * One pass over every source. Resumable by running again: a record already
 * in the current form is skipped without being read. With `checkOnly`,
 * `changed` counts what is left to move.
 */
export async function moveStoredData(
  deps: MoveDeps,
  sources: SealedRecordSource[],
  options: MoveOptions,
): Promise<SourceReport[]> {
  const reports: SourceReport[] = [];
  for (const source of sources) {
    const report: SourceReport = {
      label: source.label,
      scanned: 0,
      moved: 0,
      erased: 0,
      unreadable: 0,
      unreadableIds: [],
      changed: 0,
      conflicts: 0,
      conflictIds: [],
    };
    reports.push(report);
    options.onSource?.(source.label, await source.count());
    let after: string | null = null;
    for (;;) {
      const batch = await source.list(after, options.batchSize);
      for (const record of batch) {
        await moveRecord(deps, source, record, options, report);
        report.scanned += 1;
        await options.onRecord?.(source.label, report.scanned, record.id);
      }
      if (batch.length < options.batchSize) break;
      after = batch[batch.length - 1]!.id;
    }
  }
  return reports;
}
