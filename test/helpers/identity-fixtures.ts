import { randomInt } from 'node:crypto';

/**
 * Synthetic, test-only people. Id numbers are built here with their own MOD
 * 11-2 check character (written independently of src/), so the tests do not
 * take the implementation's word for what is valid.
 */
const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

export function withCheckCharacter(first17: string): string {
  const sum = first17
    .split('')
    .reduce((total, digit, index) => total + Number(digit) * WEIGHTS[index]!, 0);
  return first17 + CHECK[sum % 11];
}

/** A valid id number: region 110105 (Beijing Chaoyang) unless told, a birth date YYYYMMDD, a sequence. */
export function idNumberFor(
  options: { region?: string; birth?: string; sequence?: string } = {},
): string {
  const sequence = options.sequence ?? String(randomInt(100, 998)).padStart(3, '0');
  return withCheckCharacter(
    `${options.region ?? '110105'}${options.birth ?? '19900307'}${sequence}`,
  );
}

/** YYYYMMDD of today in Beijing, shifted by whole years (negative: in the past). */
export function beijingDateYearsAgo(years: number, dayShift = 0): string {
  const now = new Date(Date.now() + 8 * 3600_000);
  const date = new Date(
    Date.UTC(now.getUTCFullYear() - years, now.getUTCMonth(), now.getUTCDate() + dayShift),
  );
  return date.toISOString().slice(0, 10).replace(/-/g, '');
}

const SURNAMES = [
  '赵',
  '钱',
  '孙',
  '李',
  '周',
  '吴',
  '郑',
  '王',
  '冯',
  '陈',
  '褚',
  '卫',
  '蒋',
  '沈',
  '韩',
  '杨',
];
const GIVEN =
  '伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏飞宇浩然子轩梓涵一诺欣怡思远';

/** A fresh Han name of three characters, unlikely to repeat within a run. */
export function randomName(): string {
  const given = Array.from(GIVEN);
  return (
    SURNAMES[randomInt(SURNAMES.length)]! +
    given[randomInt(given.length)]! +
    given[randomInt(given.length)]!
  );
}

export function randomPhone(): string {
  return `1${randomInt(3, 10)}${String(randomInt(0, 1e9)).padStart(9, '0')}`;
}

export interface Person {
  userId: string;
  name: string;
  idNumber: string;
  phone: string;
  birth: string;
}

/** A synthetic adult with a unique id number (random birth date in 1960-1999 and sequence). */
export function randomPerson(overrides: Partial<Person> = {}): Person {
  const birth = `${randomInt(1960, 2000)}${String(randomInt(1, 13)).padStart(2, '0')}${String(randomInt(1, 29)).padStart(2, '0')}`;
  return {
    userId: `user-${randomInt(1e9)}`,
    name: randomName(),
    idNumber: idNumberFor({ birth }),
    phone: randomPhone(),
    birth,
    ...overrides,
  };
}

export const CONSENT = { policyVersion: '2024-01', sensitiveDataConsent: true } as const;

export function registration(person: Person, extra: Record<string, unknown> = {}) {
  return {
    userId: person.userId,
    name: person.name,
    idNumber: person.idNumber,
    phone: person.phone,
    consent: CONSENT,
    ...extra,
  };
}
