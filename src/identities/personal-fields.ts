/**
 * The names of personal fields, and the normalising, checking and masking of
 * names and phone numbers. Every comparison (blind index) and every stored
 * value goes through the same normalisation, so 张三 typed with a stray space
 * or a different middle dot is the same person.
 */

import { isValidPhoneNumber, parsePhoneNumberFromString } from 'libphonenumber-js/min';

/** An identity's text fields: stored only as ciphertext, named in its access-log events. */
export const IDENTITY_FIELDS = ['name', 'idNumber', 'phone'] as const;
export type IdentityField = (typeof IDENTITY_FIELDS)[number];

/** What a subject may correct (PIPL art. 46): not the id number, which identities are keyed by. */
export const CORRECTABLE_FIELDS = ['name', 'phone'] as const satisfies readonly IdentityField[];
export type CorrectableField = (typeof CORRECTABLE_FIELDS)[number];

/** The id-card photos, named as one field in access-log events. */
export const PHOTO_FIELD = 'photo';

/** Everything an identity holds: what an export returns and a deletion destroys. */
export const IDENTITY_AND_PHOTO_FIELDS = [...IDENTITY_FIELDS, PHOTO_FIELD] as const;

/**
 * Every field name that holds personal data somewhere in the service: the
 * identity's own, the names partners use for them (`telephone`, a consignee's
 * `address`) and the birth date an id number encodes. The logger redacts
 * these wherever they appear.
 */
export const PERSONAL_FIELD_NAMES = [
  ...IDENTITY_FIELDS,
  'telephone',
  'address',
  PHOTO_FIELD,
  'birthDate',
] as const;

/** Middle-dot look-alikes typed in minority names; all become U+00B7. */
const MIDDLE_DOTS = /[\u00B7\u2022\u2027\u30FB\uFF0E\u22C5\u2219\u318D]/g;
const MIDDLE_DOT = '\u00B7';
/** Han characters (incl. supplementary planes), optionally joined by single middle dots. */
const NAME_PATTERN = /^\p{Script=Han}+(?:\u00B7\p{Script=Han}+)*$/u;
const NAME_MIN_CHARS = 2;
const NAME_MAX_CHARS = 30;

export function normaliseName(raw: string): string {
  return raw.normalize('NFC').replace(/\s+/g, '').replace(MIDDLE_DOTS, MIDDLE_DOT);
}

/** A fixed message when the (normalised) name is not acceptable, else null. */
export function nameProblem(name: string): string | null {
  const length = Array.from(name).length;
  if (length < NAME_MIN_CHARS) return 'is too short';
  if (length > NAME_MAX_CHARS) return 'is too long';
  if (!NAME_PATTERN.test(name)) {
    return 'must be Chinese characters, with a middle dot between parts of a minority name';
  }
  return null;
}

/** The longest phone as typed: CEB621 gives the buyer's telephone 30 characters. */
export const PHONE_MAX_CHARS = 30;

/** What a phone may be, for the API description of every field that takes one. */
export const PHONE_DESCRIPTION =
  'Mainland China mobile (13812345678, +86 or 0086 optional; stored as the 11 digits), or an ' +
  'international number with + or 00 and the country code, stored in E.164 (+85291234567): ' +
  'Hong Kong +852 and Macau +853 with 8 digits, Taiwan +886 mobiles with 9 digits from 9, ' +
  'others up to 15 digits. Spaces, hyphens, dots and brackets are ignored';

/** Mainland mobile numbers: 1, then 3-9, then nine digits. Stored as these 11 digits. */
const MOBILE_PATTERN = /^1[3-9]\d{9}$/;
/** E.164: `+`, a country code and at most 15 digits in all (ITU-T E.164 section 6.1). */
const E164_PATTERN = /^\+[1-9]\d{1,14}$/;
/**
 * Numbers of the regions named in the domain rules. A `+86` number is here
 * only when it is no mainland mobile (normalisePhone strips +86 from those),
 * so none is accepted. Hong Kong and Macau: 8 digits; Taiwan: mobiles, 9
 * digits from 9.
 */
const REGION_RULES: readonly { prefix: string; pattern: RegExp | null; message: string }[] = [
  { prefix: '+86', pattern: null, message: 'must be a mainland China mobile number (11 digits)' },
  { prefix: '+852', pattern: /^\+852\d{8}$/, message: 'must be 8 digits after +852 (Hong Kong)' },
  { prefix: '+853', pattern: /^\+853\d{8}$/, message: 'must be 8 digits after +853 (Macau)' },
  {
    prefix: '+886',
    pattern: /^\+8869\d{8}$/,
    message: 'must be a Taiwan mobile number: 9 digits starting with 9 after +886',
  },
];

/**
 * The canonical form every stored and compared phone has: a mainland mobile
 * as its 11 digits (as stored before other numbers were accepted, so existing
 * records compare equal), any other number in E.164 (`+85291234567`). Drops
 * spaces, hyphens, dots and brackets; `00` before a country code is `+`.
 * A value that is neither is returned compacted, for phoneProblem to refuse.
 */
export function normalisePhone(raw: string): string {
  const compact = raw.replace(/[\s().-]/g, '').replace(/^00(?=[1-9])/, '+');
  // The library drops what a country's plan allows, e.g. a trunk 0 after the country code.
  const international = E164_PATTERN.test(compact)
    ? (parsePhoneNumberFromString(compact)?.number ?? compact)
    : compact;
  const mainland = /^\+86(1\d{10})$/.exec(international);
  return mainland ? mainland[1]! : international;
}

/**
 * A fixed message when a normalised phone is not acceptable, else null.
 * Validation uses libphonenumber-js `min` metadata: the country code must
 * exist and the national number must have a possible length and leading
 * digits for it. (`max` also checks each number type's ranges, so a newly
 * opened range would be refused until the metadata catches up; refusing a
 * real buyer costs more than a typo a courier's call would reveal.)
 */
export function phoneProblem(phone: string): string | null {
  if (MOBILE_PATTERN.test(phone)) return null;
  if (!E164_PATTERN.test(phone)) {
    // Without a +, a number is read as a mainland one.
    return phone.startsWith('+')
      ? 'must be + and a country code, at most 15 digits in all (E.164)'
      : 'must be a mainland China mobile number';
  }
  const rule = REGION_RULES.find(({ prefix }) => phone.startsWith(prefix));
  if (rule && !rule.pattern?.test(phone)) return rule.message;
  return isValidPhoneNumber(phone) ? null : 'is not a possible number for its country code';
}

/**
 * Two-character surnames kept whole in a masked name (欧阳**), when the name
 * has more than the surname. A name not on the list keeps its first character.
 */
const COMPOUND_SURNAMES = new Set([
  '欧阳', '司马', '上官', '诸葛', '东方', '皇甫', '尉迟', '公孙', '慕容', '长孙',
  '宇文', '司徒', '夏侯', '轩辕', '令狐', '钟离', '闾丘', '端木', '西门', '南宫',
  '独孤', '澹台', '公冶', '宗政', '濮阳', '太叔', '申屠', '公羊', '赫连', '万俟',
  '司空', '呼延', '单于', '东郭', '百里', '第五', '拓跋', '完颜', '纳兰', '淳于',
]); // prettier-ignore

/** One `*` per hidden character (code point); keeps the first, or a compound surname. */
export function maskName(name: string): string {
  const chars = Array.from(name);
  const keep = chars.length > 2 && COMPOUND_SURNAMES.has(chars.slice(0, 2).join('')) ? 2 : 1;
  return chars.slice(0, keep).join('') + '*'.repeat(Math.max(0, chars.length - keep));
}

/** First 3 and last 4 kept: 110***********1234. */
export function maskIdNumber(idNumber: string): string {
  return idNumber.slice(0, 3) + '*'.repeat(idNumber.length - 7) + idNumber.slice(-4);
}

/** Stars between the visible parts of an international number: fixed, so no length shows. */
const PHONE_STARS = '****';

/**
 * A mainland mobile keeps its first 3 and last 4 digits (138****5678), as
 * always. Any other number keeps its country code and the last 4 digits
 * behind a fixed 4 stars (+852****5678), so the mask hints at the region but
 * not at the length; a national number shorter than 8 digits shows fewer, so
 * at least 4 are always hidden.
 */
export function maskPhone(phone: string): string {
  if (!phone.startsWith('+')) {
    return phone.slice(0, 3) + '*'.repeat(Math.max(0, phone.length - 7)) + phone.slice(-4);
  }
  const parsed = parsePhoneNumberFromString(phone);
  const countryCode = parsed?.countryCallingCode ?? '';
  const national = parsed?.nationalNumber ?? phone.slice(1);
  const shown = Math.min(4, Math.max(0, national.length - 4));
  return `+${countryCode}${PHONE_STARS}${national.slice(national.length - shown)}`;
}
