import type { Connection } from 'mongoose';

/**
 * Scans every stored string of every collection for personal data in
 * plaintext: resident id numbers, mainland mobiles and E.164 phones, and Chinese text
 * (names, addresses) outside fields known to hold none (product names, client
 * names). Reports where (collection and field path), never the value.
 */
const ID_NUMBER = /(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])/;
// Bounded by non-alphanumerics (like ID_NUMBER): a digit run inside a UUID or a hex
// hash is not a phone (unbounded, ~3 in 10,000 random UUIDs matched).
const MOBILE = /(?<![0-9A-Za-z])1[3-9]\d{9}(?![0-9A-Za-z])/;
/** A phone in E.164 (Hong Kong, Macau, Taiwan and other buyers and consignees). */
const INTERNATIONAL_PHONE = /(?<![0-9A-Za-z])\+[1-9]\d{7,14}(?![0-9A-Za-z])/;
const CHINESE = /[\u3400-\u9fff]/;
/**
 * Long random tokens (hex digests, base64url keys and ciphertext): a digit run
 * inside one is chance, not a phone number, so they are blanked before matching.
 */
const RANDOM_TOKEN = /[A-Za-z0-9_-]{22,}/g;

/** collection -> field paths (array indexes as *) that may hold Chinese text. */
const NON_PERSONAL_TEXT: Record<string, RegExp> = {
  clients: /^name$/,
  orders: /^items\.\*\.(name|category)$/,
  declarations: /^goods\.\*\.(name|product\.name|product\.spec)$/,
  products: /^(name|spec)$/,
  order_parcels: /^products\.\*\.(name|spec)$/,
  // The privacy office's note on an answer: clear text by contract, like a goods name.
  privacy_requests: /^note$/,
  // An auditor's reason for acknowledging a security alert: clear text by contract too.
  audit_alerts: /^reason$/,
};

/**
 * collection -> field paths that may hold a phone number: a partner's privacy
 * contact is the partner's business line, not a data subject's.
 */
const NON_PERSONAL_PHONE: Record<string, RegExp> = {
  clients: /^contact$/,
};

export interface PlaintextFinding {
  collection: string;
  path: string;
  kind: 'id-number' | 'mobile' | 'chinese-text';
}

function* strings(value: unknown, path: string[]): Generator<[string, string]> {
  if (typeof value === 'string') {
    yield [path.join('.'), value];
  } else if (Array.isArray(value)) {
    for (const item of value) yield* strings(item, [...path, '*']);
  } else if (value && typeof value === 'object' && !(value instanceof Date)) {
    if ((value as { _bsontype?: string })._bsontype) return;
    for (const [key, child] of Object.entries(value)) yield* strings(child, [...path, key]);
  }
}

export async function findPlaintextPersonalData(
  connection: Connection,
): Promise<PlaintextFinding[]> {
  const findings: PlaintextFinding[] = [];
  const collections = await connection.db!.listCollections().toArray();
  for (const { name } of collections) {
    const documents = await connection.db!.collection(name).find().toArray();
    for (const document of documents) {
      for (const [path, raw] of strings(document, [])) {
        const text = raw.replace(RANDOM_TOKEN, ' ');
        const kind = ID_NUMBER.test(text)
          ? 'id-number'
          : (MOBILE.test(text) || INTERNATIONAL_PHONE.test(text)) &&
              !NON_PERSONAL_PHONE[name]?.test(path)
            ? 'mobile'
            : CHINESE.test(text) && !NON_PERSONAL_TEXT[name]?.test(path)
              ? 'chinese-text'
              : null;
        if (kind) findings.push({ collection: name, path, kind });
      }
    }
  }
  return findings;
}

/**
 * The explicit last step of every test file with an app: nothing it stored
 * holds personal data in plaintext. A scan that cannot run fails the test.
 */
export async function expectNothingStoredInPlaintext(connection: Connection): Promise<void> {
  expect(await findPlaintextPersonalData(connection)).toEqual([]);
}
