import { createSecretKey, randomBytes } from 'node:crypto';
import canonicalize from 'canonicalize';
import { canonicalEvent } from '../src/audit/audit-canonical';
import { chainEvent, eventHash, GENESIS_HASH } from '../src/audit/audit-chain';

const key = createSecretKey(randomBytes(32));

/** The fast path must write exactly what the reference RFC 8785 encoder writes. */
function reference(document: Record<string, unknown>): string {
  const { _id, hash, ...content } = document;
  void _id;
  void hash;
  return canonicalize(content)!;
}

const tricky = [
  '',
  'plain',
  'quote " and backslash \\',
  'control \u0000\u0001\u001f\u007f',
  'line\nbreak\ttab\r',
  '中文字段',
  'emoji 😀',
  'lone surrogate \ud800',
  '\u2028\u2029',
  '€ 1e21 -0',
];

function randomEvent(seed: number): Record<string, unknown> {
  const pick = (offset: number) => tricky[(seed + offset) % tricky.length]!;
  return {
    _id: `s:${seed}`,
    ...chainEvent(
      {
        at: new Date(1_700_000_000_000 + seed * 997),
        actor:
          seed % 3 === 0
            ? null
            : { clientId: pick(1), role: 'customs', partnerCode: seed % 2 === 0 ? null : pick(2) },
        action: 'identity.read',
        purpose: 'delivery',
        subjectRef: seed % 4 === 0 ? null : pick(3),
        subjectRefKeyId: seed % 4 === 0 ? null : pick(4),
        resource: { route: pick(5), id: seed % 5 === 0 ? null : pick(6) },
        fields: Array.from({ length: seed % 4 }, (_, i) => pick(7 + i)),
        outcome: 'SUCCESS',
        requestId: pick(8),
        sourceIp: pick(9),
      },
      { stream: pick(0), seq: seed + 1, prevHash: GENESIS_HASH },
      key,
    ),
  };
}

it('when events of the known shape are encoded, then the bytes equal the reference encoder', () => {
  for (let seed = 0; seed < 500; seed += 1) {
    const event = randomEvent(seed);
    expect(canonicalEvent(event)).toBe(reference(event));
  }
});

it.each([
  ['an extra field', (e: Record<string, unknown>) => ({ ...e, note: 'x' })],
  ['a missing field', (e: Record<string, unknown>) => ({ ...e, requestId: undefined })],
  ['a number as string', (e: Record<string, unknown>) => ({ ...e, seq: '7' })],
  ['a float seq', (e: Record<string, unknown>) => ({ ...e, seq: 1.5 })],
  [
    'an extra actor field',
    (e: Record<string, unknown>) => ({
      ...e,
      actor: { clientId: 'a', role: 'b', partnerCode: null, x: 1 },
    }),
  ],
  ['a string date', (e: Record<string, unknown>) => ({ ...e, at: '2025-01-01T00:00:00.000Z' })],
  ['a nested object in fields', (e: Record<string, unknown>) => ({ ...e, fields: [{ a: 1 }] })],
])('when an event has %s, then it is encoded by the reference encoder', (_label, alter) => {
  const event = alter(randomEvent(11));
  expect(canonicalEvent(event)).toBe(reference(event));
});

it('when a field is added, then the hash changes; when a date is stored as its ISO text, then it does not', () => {
  const event = randomEvent(12);
  expect(eventHash({ ...event, note: 'x' }, key)).not.toBe(event.hash);
  expect(eventHash({ ...event, at: (event.at as Date).toISOString() }, key)).toBe(event.hash);
});
