import fc from 'fast-check';
import type { SchemaObject } from './openapi-operations';

/**
 * Synthetic personal data planted in fuzzed bodies: a resident id number with
 * a valid check character, a mainland mobile and a Han name. None of them may
 * come back in a response.
 */
export const PLANTED = {
  idNumber: '11010519491231002X',
  mobile: '13800138000',
  name: '王小明',
} as const;

const planted = fc.constantFrom(PLANTED.idNumber, PLANTED.mobile, PLANTED.name);

/**
 * Values by property name (a real identity, partner codes, planted data), so
 * bodies go deep; an arbitrary is drawn from, anything else used as is.
 */
export type KnownValues = Record<string, unknown>;

const knownArbitrary = (value: unknown): fc.Arbitrary<unknown> =>
  value instanceof fc.Arbitrary ? value : fc.constant(value);

/** Keys the contract refuses anywhere in a body, and prototype names. */
const HOSTILE_KEYS = [
  '$where',
  '$gt',
  '$set',
  'a.b',
  '__proto__',
  'constructor',
  'prototype',
  // Keys that are personal data: an error may name a bad key, never echo these.
  PLANTED.mobile,
  `$${PLANTED.idNumber}`,
  `${PLANTED.name}.x`,
] as const;

/** A string far past any field's maxLength, some past the 100 kB body limit. */
const hugeString = fc
  .constantFrom(5_000, 70_000, 120_000)
  .map((length) => `${'字'.repeat(Math.floor(length / 3))}${PLANTED.idNumber}`);

function scalarNoise(): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.string({ maxLength: 20 }),
    fc.constant(''),
    fc.constant(Number.MAX_SAFE_INTEGER + 2),
    fc.constant(-1),
    fc.constant(1e300),
  );
}

/** Sets an own, enumerable key on a copy: `__proto__` included, so JSON.stringify writes it. */
function withKey(value: Record<string, unknown>, key: string, child: unknown) {
  const copy: Record<string, unknown> = { ...value };
  Object.defineProperty(copy, key, {
    value: child,
    enumerable: true,
    writable: true,
    configurable: true,
  });
  return copy;
}

function stringValue(schema: SchemaObject): fc.Arbitrary<unknown> {
  const wellFormed = schema.enum
    ? fc.constantFrom(...(schema.enum as string[]))
    : schema.format === 'uuid'
      ? fc.uuid()
      : schema.format === 'date-time'
        ? fc
            .date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
            .map((date) => date.toISOString())
        : schema.pattern
          ? fc.stringMatching(new RegExp(schema.pattern))
          : fc.string({ minLength: schema.minLength ?? 0, maxLength: schema.maxLength ?? 30 });
  return fc.oneof(
    { weight: 4, arbitrary: wellFormed },
    { weight: 4, arbitrary: planted },
    { weight: 1, arbitrary: hugeString },
    { weight: 1, arbitrary: fc.integer().map(String) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
    { weight: 1, arbitrary: scalarNoise() },
  );
}

function numberValue(schema: SchemaObject): fc.Arbitrary<unknown> {
  const min = schema.minimum ?? -1e9;
  const max = schema.maximum ?? 1e9;
  const inRange = fc.integer({ min: Math.ceil(min), max: Math.floor(max) });
  return fc.oneof(
    { weight: 4, arbitrary: inRange },
    { weight: 2, arbitrary: inRange.map(String) },
    { weight: 1, arbitrary: fc.constantFrom(min - 1, max + 1, 0.5, -0, 1e21) },
    { weight: 1, arbitrary: planted },
    { weight: 1, arbitrary: scalarNoise() },
  );
}

/** The alternatives of a body with several forms (joi alternatives: anyOf), else null. */
function branchesOf(schema: SchemaObject): SchemaObject[] | null {
  const branches = schema.anyOf ?? schema.oneOf;
  return branches && branches.length > 0 ? branches : null;
}

/**
 * A value near `schema`: well-formed in most fields, with planted personal
 * data, wrong types, numbers as strings, extra and hostile keys mixed in.
 */
export function nearValid(
  schema: SchemaObject | undefined,
  known: KnownValues,
  depth = 0,
): fc.Arbitrary<unknown> {
  if (!schema || depth > 4) return scalarNoise();
  const branches = branchesOf(schema);
  if (branches) return fc.oneof(...branches.map((branch) => nearValid(branch, known, depth)));
  switch (schema.type) {
    case 'string':
      return stringValue(schema);
    case 'integer':
    case 'number':
      return numberValue(schema);
    case 'boolean':
      return fc.oneof(
        { weight: 4, arbitrary: fc.boolean() },
        { weight: 1, arbitrary: fc.constantFrom('true', 1, null, PLANTED.mobile) },
      );
    case 'array':
      return fc.oneof(
        {
          weight: 4,
          arbitrary: fc.array(nearValid(schema.items, known, depth + 1), { maxLength: 4 }),
        },
        { weight: 1, arbitrary: planted },
        { weight: 1, arbitrary: scalarNoise() },
      );
    case 'object':
      return fc.oneof(
        { weight: 6, arbitrary: objectValue(schema, known, depth) },
        { weight: 1, arbitrary: planted },
        { weight: 1, arbitrary: fc.array(scalarNoise(), { maxLength: 3 }) },
      );
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

function objectValue(
  schema: SchemaObject,
  known: KnownValues,
  depth: number,
): fc.Arbitrary<Record<string, unknown>> {
  const properties = schema.properties ?? {};
  const fields = Object.fromEntries(
    Object.entries(properties).map(([name, child]) => [
      name,
      name in known
        ? fc.oneof(
            { weight: 3, arbitrary: knownArbitrary(known[name]) },
            { weight: 1, arbitrary: nearValid(child, known, depth + 1) },
          )
        : nearValid(child, known, depth + 1),
    ]),
  );
  const required = schema.required ?? [];
  // Mostly every required key present, so bodies reach the service, not only the validator.
  const base = fc.oneof(
    { weight: 3, arbitrary: fc.record(fields, { requiredKeys: required }) },
    { weight: 1, arbitrary: fc.record(fields, { requiredKeys: [] }) },
  );
  const extra = fc.option(
    fc.tuple(
      fc.oneof(fc.constantFrom(...HOSTILE_KEYS), fc.string({ minLength: 1, maxLength: 12 })),
      fc.oneof(planted, scalarNoise(), fc.jsonValue({ maxDepth: 2 })),
    ),
    { freq: 4 },
  );
  return fc
    .tuple(base, extra)
    .map(([value, added]) =>
      added
        ? withKey(value as Record<string, unknown>, added[0], added[1])
        : (value as Record<string, unknown>),
    );
}

/**
 * A body that satisfies `schema` as the document states it: every required
 * key, some optional ones, values from `known` by property name where given
 * (planted personal data, a real identity), else drawn from the schema.
 */
export function validValue(
  schema: SchemaObject | undefined,
  known: KnownValues,
  depth = 0,
): fc.Arbitrary<unknown> {
  if (!schema || depth > 4) return fc.constant(null);
  const branches = branchesOf(schema);
  if (branches) return fc.oneof(...branches.map((branch) => validValue(branch, known, depth)));
  switch (schema.type) {
    case 'string':
      return schema.enum
        ? fc.constantFrom(...(schema.enum as string[]))
        : schema.format === 'uuid'
          ? fc.uuid()
          : schema.format === 'date-time'
            ? fc.constant(new Date(Date.now() - 3600_000).toISOString())
            : schema.pattern
              ? fc.stringMatching(new RegExp(schema.pattern))
              : fc.string({
                  minLength: Math.max(1, schema.minLength ?? 1),
                  maxLength: schema.maxLength ?? 30,
                });
    case 'integer':
    case 'number':
      return fc.integer({ min: schema.minimum ?? 0, max: Math.min(schema.maximum ?? 1e6, 1e6) });
    case 'boolean':
      return fc.boolean();
    case 'array':
      return fc.array(validValue(schema.items, known, depth + 1), {
        minLength: schema.minItems ?? 0,
        maxLength: Math.min(schema.maxItems ?? 3, 3),
      });
    case 'object': {
      const properties = schema.properties ?? {};
      const fields = Object.fromEntries(
        Object.entries(properties).map(([name, child]) => [
          name,
          name in known ? knownArbitrary(known[name]) : validValue(child, known, depth + 1),
        ]),
      );
      return fc.record(fields, { requiredKeys: schema.required ?? [] });
    }
    default:
      return fc.constant(null);
  }
}

type JsonObject = Record<string, unknown>;

/** Every object inside `value` (itself included), for a mutation to pick one. */
function objectsIn(value: unknown): JsonObject[] {
  if (Array.isArray(value)) return value.flatMap(objectsIn);
  if (value === null || typeof value !== 'object') return [];
  return [value as JsonObject, ...Object.values(value).flatMap(objectsIn)];
}

/** One change to a valid body: a field's value replaced, or a key added, in one of its objects. */
const mutation = fc.oneof(
  fc.record({
    kind: fc.constant('replace' as const),
    pick: fc.nat(),
    value: nearValid(undefined, {}),
  }),
  fc.record({
    kind: fc.constant('replace' as const),
    pick: fc.nat(),
    value: fc.oneof(planted, hugeString, fc.integer().map(String), fc.jsonValue({ maxDepth: 2 })),
  }),
  fc.record({
    kind: fc.constant('add' as const),
    pick: fc.nat(),
    key: fc.oneof(fc.constantFrom(...HOSTILE_KEYS), fc.string({ minLength: 1, maxLength: 12 })),
    value: fc.oneof(planted, fc.jsonValue({ maxDepth: 2 })),
  }),
);

function mutate(body: unknown, change: typeof mutation extends fc.Arbitrary<infer M> ? M : never) {
  const copy = JSON.parse(JSON.stringify(body)) as unknown;
  const objects = objectsIn(copy);
  if (objects.length === 0) return copy;
  const target = objects[change.pick % objects.length]!;
  if (change.kind === 'add') {
    Object.defineProperty(target, change.key, {
      value: change.value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    const keys = Object.keys(target);
    if (keys.length > 0) target[keys[change.pick % keys.length]!] = change.value;
  }
  return copy;
}

/** A valid body with at most one thing wrong: the bodies that reach the deepest code. */
export function nearlyValid(schema: SchemaObject, known: KnownValues): fc.Arbitrary<unknown> {
  return fc
    .tuple(validValue(schema, known), fc.option(mutation, { freq: 2 }))
    .map(([body, change]) => (change ? mutate(body, change) : body));
}

/** `{"a": {"a": ... planted ... }}` around the 32-level limit of the validator. */
export const deepNesting: fc.Arbitrary<unknown> = fc
  .tuple(fc.integer({ min: 25, max: 45 }), fc.constantFrom('a', '$a', 'name', 'items'), planted)
  .map(([depth, key, leaf]) => {
    let value: unknown = { name: leaf };
    for (let level = 0; level < depth; level += 1) value = level % 3 ? [value] : { [key]: value };
    return value;
  });

/** Any JSON value, wrapped so that planted personal data travels with it. */
export const anyJsonWithPlanted: fc.Arbitrary<unknown> = fc
  .tuple(fc.jsonValue({ maxDepth: 3 }), planted, fc.boolean())
  .map(([value, leaf, asObject]) =>
    asObject
      ? { name: leaf, idNumber: PLANTED.idNumber, phone: PLANTED.mobile, value }
      : [leaf, value],
  );

/** The bodies of one operation: mostly near-valid, some arbitrary JSON, some nested too deep. */
export function fuzzBodies(schema: SchemaObject, known: KnownValues): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 6, arbitrary: nearlyValid(schema, known) },
    { weight: 3, arbitrary: nearValid(schema, known) },
    { weight: 2, arbitrary: anyJsonWithPlanted },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
    { weight: 1, arbitrary: deepNesting },
  );
}

/**
 * The body with every planted value at `paths` (`items.*.name`) replaced by
 * plain text: fields the service stores in clear by design, where planted
 * data would only measure what the caller chose to put there.
 */
export function withoutPlantedAt(body: unknown, paths: readonly string[]): unknown {
  // Id numbers and phones are refused in clear-text fields; a Chinese name is
  // legitimate text there (a goods name, a client's label).
  const planted = new Set<unknown>([PLANTED.name]);
  const scrub = (value: unknown, path: string[]): unknown => {
    if (planted.has(value) && paths.includes(path.join('.'))) return 'plain text';
    if (Array.isArray(value)) return value.map((item) => scrub(item, [...path, '*']));
    if (value === null || typeof value !== 'object') return value;
    const copy: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) {
      Object.defineProperty(copy, key, {
        value: scrub(child, [...path, key]),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return copy;
  };
  return scrub(body, []);
}
