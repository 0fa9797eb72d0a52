import type Joi from 'joi';
import { ValidationFailed, type ErrorDetail } from '../errors';
import { looksLikePersonalNumber } from './schemas';

/** Keys that reach an object's prototype when a body is merged or copied. */
const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
/** Deeper than any body of the contract; bounds the walk below (no stack overflow). */
export const MAX_BODY_DEPTH = 32;

function isForbiddenKey(key: string): boolean {
  return key.startsWith('$') || key.includes('.') || PROTOTYPE_KEYS.has(key);
}

/**
 * Rejects any object key that starts with `$` or contains `.` (operator or
 * path injection into MongoDB, whatever the schema would have said about
 * them) or names a prototype (`__proto__`, `constructor`, `prototype`), at
 * any depth, before schema validation. A value nested deeper than
 * MAX_BODY_DEPTH is refused as a whole.
 */
export function findForbiddenKeys(value: unknown, prefix: string[] = []): ErrorDetail[] {
  if (prefix.length > MAX_BODY_DEPTH) throw new ValidationFailed([TOO_DEEP]);
  if (Array.isArray(value)) {
    return value.flatMap((item, index) => findForbiddenKeys(item, [...prefix, String(index)]));
  }
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return [];
  return Object.entries(value).flatMap(([key, child]) => {
    const here = [...prefix, key];
    const own = isForbiddenKey(key)
      ? [{ path: safePath(here), message: 'key is not allowed' }]
      : [];
    return [...own, ...findForbiddenKeys(child, here)];
  });
}

const TOO_DEEP: ErrorDetail = { path: 'body', message: 'is nested too deeply' };

/** Fixed messages per joi error type: joi's own messages may quote the value. */
const MESSAGES: Record<string, string> = {
  'any.required': 'is required',
  'object.unknown': 'is not allowed',
  'any.unknown': 'is not allowed',
  'any.only': 'is not one of the allowed values',
  'string.base': 'must be a string',
  'string.empty': 'must not be empty',
  'string.min': 'is too short',
  'string.max': 'is too long',
  'string.length': 'has the wrong length',
  'string.pattern.base': 'has an invalid format',
  'number.base': 'must be a number',
  'number.integer': 'must be an integer',
  'number.min': 'is too small',
  'number.max': 'is too large',
  'number.unsafe': 'is too large',
  'boolean.base': 'must be a boolean',
  'array.base': 'must be an array',
  'array.min': 'has too few items',
  'array.max': 'has too many items',
  'object.base': 'must be an object',
  'date.base': 'must be an ISO 8601 date-time',
  'date.format': 'must be an ISO 8601 date-time',
};

export function safeMessage(type: string): string {
  return MESSAGES[type] ?? 'is invalid';
}

/**
 * Validates one part of a request. Returns the converted value or throws
 * VALIDATION_FAILED listing every bad field by path, never by value.
 */
export function validatePart<T>(schema: Joi.Schema, value: unknown, location: string): T {
  const forbidden = findForbiddenKeys(value);
  if (forbidden.length > 0) throw new ValidationFailed(forbidden);
  const result = schema.validate(value, {
    abortEarly: false,
    convert: true,
    stripUnknown: false,
    errors: { render: false },
  });
  if (result.error) {
    const details = result.error.details.map((detail) => ({
      path: detail.path.length > 0 ? safePath(detail.path) : location,
      // A custom rule may name its own fixed message: helpers.error(code, { safeMessage }).
      message:
        typeof detail.context?.safeMessage === 'string'
          ? detail.context.safeMessage
          : safeMessage(detail.type),
    }));
    throw new ValidationFailed(dedupe(details));
  }
  return result.value as T;
}

/** Chinese text: a name or an address, when it appears as a key. */
const CJK = /[\u3400-\u9fff]/;
const REDACTED_SEGMENT = '[redacted]';

/**
 * A field path for an error detail. Keys the caller chose (unknown fields,
 * `$` keys) are echoed, so one that could be an id number, a phone number or
 * a name is replaced: errors never carry personal data back.
 */
function safePath(segments: readonly (string | number)[]): string {
  return segments
    .map((segment) => {
      const text = String(segment);
      return looksLikePersonalNumber(text) || CJK.test(text) ? REDACTED_SEGMENT : text;
    })
    .join('.');
}

function dedupe(details: ErrorDetail[]): ErrorDetail[] {
  const seen = new Set<string>();
  return details.filter((detail) => {
    const key = `${detail.path}\u0000${detail.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
