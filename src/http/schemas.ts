/**
 * Joi types the contract fixes for every route: integers that are JSON numbers,
 * timestamps that carry their offset, query integers spelled in plain digits,
 * and caller identifiers that cannot carry an id number or a phone number.
 */
import Joi from 'joi';

/**
 * An integer of a JSON body (money in fen, quantities): a JSON number only.
 * Strict, because joi would otherwise turn "1e2", " 100 " or "+100" into 100.
 */
export function integerField(): Joi.NumberSchema {
  return Joi.number().integer().strict();
}

const DIGITS = /^[0-9]{1,15}$/;

/**
 * Query strings only carry text, so a query integer is converted, but only
 * from plain decimal digits: no exponent, sign, spaces or decimal point.
 * `prepare` runs before joi's own lenient string-to-number conversion.
 */
const queryJoi: Joi.Root = Joi.extend((joi) => ({
  type: 'number',
  base: joi.number(),
  prepare(value: unknown, helpers) {
    if (typeof value === 'string' && !DIGITS.test(value)) {
      return { value, errors: [helpers.error('number.base')] };
    }
    return undefined;
  },
}));

/** A non-negative integer of a query string (`limit`, `year`), from plain digits only. */
export function queryInteger(): Joi.NumberSchema {
  return queryJoi.number().integer().min(0);
}

/**
 * RFC 3339 date-time: an ISO 8601 date and time with an explicit offset.
 * Without one a time means the server's local time, which the contract
 * leaves undefined ("Times are ISO 8601 with offset").
 */
const TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:Z|[+-](\d{2}):(\d{2}))$/;

const TIMESTAMP_MESSAGE = 'must be an ISO 8601 date-time with an offset (Z or +08:00)';

/** True when every field is in range for its calendar day (no 2026-02-30, no 24:00). */
function isRealTimestamp(text: string): boolean {
  const match = TIMESTAMP.exec(text);
  if (!match) return false;
  const [year, month, day, hour, minute, second, offsetHours, offsetMinutes] = match
    .slice(1)
    .map((part) => (part === undefined ? 0 : Number(part)));
  const date = new Date(Date.UTC(year!, month! - 1, day!, hour, minute, second));
  return (
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month! - 1 &&
    date.getUTCDate() === day &&
    date.getUTCHours() === hour &&
    date.getUTCMinutes() === minute &&
    date.getUTCSeconds() === second &&
    offsetHours! <= 23 &&
    offsetMinutes! <= 59
  );
}

const timestampJoi: Joi.Root = Joi.extend((joi) => ({
  type: 'date',
  base: joi.date().iso(),
  prepare(value: unknown, helpers) {
    if (typeof value !== 'string' || !isRealTimestamp(value)) {
      return { value, errors: [helpers.error('any.invalid', { safeMessage: TIMESTAMP_MESSAGE })] };
    }
    return undefined;
  },
}));

/** A timestamp of a body or query: date-time text with Z or ±hh:mm, converted to a Date. */
export function timestamp(): Joi.DateSchema {
  return timestampJoi
    .date()
    .iso()
    .description('ISO 8601 date-time with offset, e.g. 2026-11-25T10:00:00+08:00');
}

/*
 * What an identifier must not look like. Digits may be split by the
 * separators people format numbers with; a match must not start or end
 * inside a longer run of digits, so a 19-digit order number is not an id.
 */
const SEP = '[\\s._/()+-]*';
/** PRC resident identity number (GB 11643): 17 digits and a check digit or X. */
const ID_NUMBER_LIKE = new RegExp(`(?<![0-9])(?:[0-9]${SEP}){17}[0-9Xx](?![0-9])`);
/** Mainland mobile number, 1[3-9] and 9 digits, with or without +86, 0086 or 86. */
const MOBILE_LIKE = new RegExp(
  `(?<![0-9])(?:(?:00|\\+)?86${SEP})?1${SEP}[3-9](?:${SEP}[0-9]){9}(?![0-9])`,
);

/**
 * A phone written with its country code, as buyers and consignees may give
 * them: `+` and 8 to 15 digits (E.164), or `00` and a Hong Kong, Macau or
 * Taiwan mobile. A bare `00` and digits is not enough: order numbers are
 * often zero-padded, and without its prefix a foreign number is just digits.
 */
const INTERNATIONAL_PHONE_LIKE = new RegExp(
  `(?<![0-9])(?:\\+${SEP}[1-9](?:${SEP}[0-9]){7,14}` +
    `|00${SEP}85[23](?:${SEP}[0-9]){8}|00${SEP}886${SEP}9(?:${SEP}[0-9]){8})(?![0-9])`,
);

/** True when `value` holds something shaped like an id number or a phone number. */
export function looksLikePersonalNumber(value: string): boolean {
  return (
    ID_NUMBER_LIKE.test(value) || MOBILE_LIKE.test(value) || INTERNATIONAL_PHONE_LIKE.test(value)
  );
}

const IDENTIFIER_MESSAGE = 'must not look like an id number or a phone number';

/**
 * A caller's identifier (order number, SKU, user id, partner code): it is
 * stored, logged and sent to partners in clear, so it may not carry an id
 * number or a phone number (contract v1.1). `pattern` fixes its alphabet and length.
 */
export function identifier(pattern: RegExp): Joi.StringSchema {
  return Joi.string()
    .pattern(pattern)
    .custom((value: string, helpers) =>
      looksLikePersonalNumber(value)
        ? helpers.error('any.invalid', { safeMessage: IDENTIFIER_MESSAGE })
        : value,
    );
}

/** An order number: at most 60 characters (contract v1.1), letters, digits, `_` and `-`. */
export function orderNumber(): Joi.StringSchema {
  return identifier(/^[A-Za-z0-9][A-Za-z0-9_-]{0,59}$/).description(
    "The platform's order number: at most 60 characters; never an id number or a phone number",
  );
}

/** A customs broker's registration code or a carrier code, e.g. `SF`. */
export function partnerCode(): Joi.StringSchema {
  return identifier(/^[A-Za-z0-9_-]{1,32}$/);
}

const FREE_TEXT_MESSAGE = 'must not contain an id number or a phone number';

/**
 * Free text that is stored and shown in clear (a goods name, a client's name,
 * a policy version): it may not carry an id number or a phone number.
 */
export function clearText(maxLength: number): Joi.StringSchema {
  return Joi.string()
    .trim()
    .min(1)
    .max(maxLength)
    .custom((value: string, helpers) =>
      looksLikePersonalNumber(value)
        ? helpers.error('any.invalid', { safeMessage: FREE_TEXT_MESSAGE })
        : value,
    );
}
