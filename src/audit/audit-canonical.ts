import canonicalize from 'canonicalize';

/**
 * RFC 8785 (JCS) canonical JSON of an event's hashed content: every stored
 * field except `_id` and `hash`.
 *
 * The `canonicalize` package (the RFC's reference implementation) defines the
 * encoding. Verify re-encodes every event, and the generic encoder is the
 * slowest step there, so documents of exactly the known shape take a fast
 * path that writes the same bytes directly: keys in the RFC's sorted order,
 * strings and integers through JSON.stringify as the RFC specifies (section
 * 3.2.2). Anything else (a tampered or future shape) goes to the reference
 * encoder. test/audit-canonical.test.ts checks both paths agree byte for byte.
 */
export function canonicalEvent(document: Record<string, unknown>): string {
  return knownShape(document) ?? reference(document);
}

function reference(document: Record<string, unknown>): string {
  const { _id, hash, ...content } = document;
  void _id;
  void hash;
  const canonical = canonicalize(content);
  if (canonical === undefined) throw new Error('event has no canonical form');
  return canonical;
}

/** The hashed top-level keys, in RFC 8785 order (UTF-16 code units; all ASCII here). */
const KEYS = [
  'action',
  'actor',
  'at',
  'fields',
  'outcome',
  'prevHash',
  'purpose',
  'requestId',
  'resource',
  'seq',
  'sourceIp',
  'stream',
  'subjectRef',
  'subjectRefKeyId',
  'v',
].sort();
const KEY_SET = new Set(KEYS);

/** Printable ASCII except `"` and `\`: JSON.stringify would only add the quotes. */
const NEEDS_NO_ESCAPE = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
const str = (value: unknown): string | null =>
  typeof value !== 'string'
    ? null
    : NEEDS_NO_ESCAPE.test(value)
      ? `"${value}"`
      : JSON.stringify(value);
const strOrNull = (value: unknown): string | null => (value === null ? 'null' : str(value));
const int = (value: unknown): string | null =>
  typeof value === 'number' && Number.isSafeInteger(value) ? JSON.stringify(value) : null;

function hasExactly(value: object, keys: readonly string[]): boolean {
  const own = Object.keys(value);
  return (
    own.length === keys.length &&
    keys.every((key) => Object.prototype.hasOwnProperty.call(value, key))
  );
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function actor(value: unknown): string | null {
  if (value === null) return 'null';
  if (!isPlainObject(value) || !hasExactly(value, ['clientId', 'partnerCode', 'role'])) return null;
  const parts = [str(value.clientId), strOrNull(value.partnerCode), str(value.role)];
  if (parts.includes(null)) return null;
  return `{"clientId":${parts[0]},"partnerCode":${parts[1]},"role":${parts[2]}}`;
}

function resource(value: unknown): string | null {
  if (!isPlainObject(value) || !hasExactly(value, ['id', 'route'])) return null;
  const id = strOrNull(value.id);
  const route = str(value.route);
  return id === null || route === null ? null : `{"id":${id},"route":${route}}`;
}

function fields(value: unknown): string | null {
  if (!Array.isArray(value)) return null;
  const parts: string[] = [];
  for (const field of value) {
    const encoded = str(field);
    if (encoded === null) return null;
    parts.push(encoded);
  }
  return `[${parts.join(',')}]`;
}

function at(value: unknown): string | null {
  return value instanceof Date && !Number.isNaN(value.getTime())
    ? JSON.stringify(value.toISOString())
    : null;
}

const ENCODERS: Record<string, (value: unknown) => string | null> = {
  action: str,
  actor,
  at,
  fields,
  outcome: str,
  prevHash: str,
  purpose: str,
  requestId: str,
  resource,
  seq: int,
  sourceIp: str,
  stream: str,
  subjectRef: strOrNull,
  subjectRefKeyId: strOrNull,
  v: int,
};

function knownShape(document: Record<string, unknown>): string | null {
  if (!isPlainObject(document)) return null;
  let count = 0;
  for (const key of Object.keys(document)) {
    if (key === '_id' || key === 'hash') continue;
    if (!KEY_SET.has(key)) return null;
    count += 1;
  }
  if (count !== KEYS.length) return null;
  let out = '{';
  for (const key of KEYS) {
    const encoded = ENCODERS[key]!(document[key]);
    if (encoded === null) return null;
    out += `${out.length > 1 ? ',' : ''}"${key}":${encoded}`;
  }
  return `${out}}`;
}
