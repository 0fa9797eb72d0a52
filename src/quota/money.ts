/**
 * Exact money arithmetic: fractions of bigints, so a tax is computed without
 * any intermediate rounding and rounded to the fen exactly once. Floats never
 * touch money here.
 */

/** A non-negative exact fraction n/d (d > 0). */
export interface Fraction {
  readonly n: bigint;
  readonly d: bigint;
}

const DECIMAL = /^(\d{1,6})(?:\.(\d{1,12}))?$/;

/** Parses a non-negative decimal string such as "0.13" exactly. */
export function parseDecimal(text: string): Fraction {
  const match = DECIMAL.exec(text);
  if (!match) throw new RangeError('not a non-negative decimal string');
  const fraction = match[2] ?? '';
  return reduce({ n: BigInt(match[1]! + fraction), d: 10n ** BigInt(fraction.length) });
}

export function fromInteger(value: number | bigint): Fraction {
  const n = typeof value === 'bigint' ? value : BigInt(assertSafeInteger(value));
  return { n, d: 1n };
}

export const ZERO: Fraction = { n: 0n, d: 1n };
export const ONE: Fraction = { n: 1n, d: 1n };

export function add(a: Fraction, b: Fraction): Fraction {
  return reduce({ n: a.n * b.d + b.n * a.d, d: a.d * b.d });
}

export function subtract(a: Fraction, b: Fraction): Fraction {
  return reduce({ n: a.n * b.d - b.n * a.d, d: a.d * b.d });
}

export function multiply(...factors: Fraction[]): Fraction {
  return reduce(factors.reduce((product, f) => ({ n: product.n * f.n, d: product.d * f.d }), ONE));
}

export function divide(a: Fraction, b: Fraction): Fraction {
  if (b.n === 0n) throw new RangeError('division by zero');
  const sign = b.n < 0n ? -1n : 1n;
  return reduce({ n: a.n * b.d * sign, d: a.d * b.n * sign });
}

/** Rounds a non-negative amount (in fen) to a whole fen, half up. */
export function roundHalfUp(value: Fraction): number {
  if (value.n < 0n) throw new RangeError('negative amount');
  const rounded = (2n * value.n + value.d) / (2n * value.d);
  return Number(rounded);
}

function reduce(f: Fraction): Fraction {
  const divisor = gcd(f.n < 0n ? -f.n : f.n, f.d);
  return divisor > 1n ? { n: f.n / divisor, d: f.d / divisor } : f;
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a === 0n ? 1n : a;
}

function assertSafeInteger(value: number): number {
  if (!Number.isSafeInteger(value)) throw new RangeError('not a safe integer');
  return value;
}
