/**
 * The names of personal fields, and the normalising, checking and masking of
 * names and phone numbers. Every comparison (blind index) and every stored
 * value goes through the same normalisation, so 张三 typed with a stray space
 * or a different middle dot is the same person.
 */

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

/** Mainland mobile numbers: 1, then 3-9, then nine digits. */
const MOBILE_PATTERN = /^1[3-9]\d{9}$/;

/** Drops spaces and hyphens and a +86 / 0086 country prefix. */
export function normalisePhone(raw: string): string {
  const compact = raw.replace(/[\s-]/g, '');
  return compact.replace(/^(?:\+86|0086)(?=1\d{10}$)/, '');
}

export function phoneProblem(phone: string): string | null {
  return MOBILE_PATTERN.test(phone) ? null : 'must be a mainland China mobile number';
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

/** First 3 and last 4 kept: 138****5678. */
export function maskPhone(phone: string): string {
  return phone.slice(0, 3) + '*'.repeat(phone.length - 7) + phone.slice(-4);
}
