import {
  ageOn,
  checkCharacter,
  parseIdNumber,
  todayInShanghai,
} from '../src/identities/identity-number';
import {
  maskIdNumber,
  maskName,
  maskPhone,
  nameProblem,
  normaliseName,
  normalisePhone,
} from '../src/identities/personal-fields';
import { isKnownDivisionCode } from '../src/identities/region-codes';
import { withCheckCharacter } from './helpers/identity-fixtures';

describe('resident identity number (GB 11643-1999)', () => {
  it("when the standard's examples are checked, then their check characters are X and 4", () => {
    expect(checkCharacter('11010519491231002')).toBe('X');
    expect(checkCharacter('44052418800101001')).toBe('4');
    expect(parseIdNumber('11010519491231002X')).toMatchObject({
      ok: true,
      id: { value: '11010519491231002X' },
    });
    expect(parseIdNumber('440524188001010014')).toMatchObject({
      ok: true,
      id: { divisionCodeKnown: false },
    });
  });

  it('when the check character is a lower-case x, then it is accepted and normalised to X', () => {
    expect(parseIdNumber(' 11010519491231002x ')).toMatchObject({
      ok: true,
      id: { value: '11010519491231002X' },
    });
  });

  it('when every check value 0..10 is produced, then the implementation agrees with the independent helper', () => {
    const seen = new Set<string>();
    for (let sequence = 100; sequence < 160; sequence += 1) {
      const first17 = `11010519900307${sequence}`;
      expect(first17 + checkCharacter(first17)).toBe(withCheckCharacter(first17));
      seen.add(checkCharacter(first17));
    }
    expect(seen.size).toBe(11);
  });

  it('when the birth date is today in Beijing but tomorrow in UTC terms, then it is not in the future', () => {
    // 2024-03-01T16:30Z is already 2 March in Beijing.
    const now = new Date('2024-03-01T16:30:00Z');
    expect(todayInShanghai(now)).toEqual({ year: 2024, month: 3, day: 2 });
    expect(parseIdNumber(withCheckCharacter('11010520240302123'), now).ok).toBe(true);
    expect(parseIdNumber(withCheckCharacter('11010520240303123'), now)).toEqual({
      ok: false,
      message: 'has a birth date in the future',
    });
  });

  it('when 29 February is in a leap year, then it is a real date, and 1880-01-01 is the earliest', () => {
    expect(parseIdNumber(withCheckCharacter('11010520000229123')).ok).toBe(true);
    expect(parseIdNumber(withCheckCharacter('11010519000229123')).ok).toBe(false); // 1900 is not a leap year
    expect(parseIdNumber(withCheckCharacter('11010518800101123')).ok).toBe(true);
  });

  it('when someone was born on 29 February, then they come of age on 1 March of a common year', () => {
    const birth = { year: 2012, month: 2, day: 29 };
    expect(ageOn(birth, { year: 2026, month: 2, day: 28 })).toBe(13);
    expect(ageOn(birth, { year: 2026, month: 3, day: 1 })).toBe(14);
    expect(ageOn(birth, { year: 2028, month: 2, day: 29 })).toBe(16);
  });

  it.each([
    '11',
    '15',
    '21',
    '23',
    '31',
    '37',
    '41',
    '46',
    '50',
    '54',
    '61',
    '65',
    '71',
    '81',
    '82',
  ])('when the province prefix is %s, then it is accepted', (prefix) => {
    expect(parseIdNumber(withCheckCharacter(`${prefix}010519900307123`)).ok).toBe(true);
  });

  it.each([
    '10',
    '16',
    '20',
    '24',
    '30',
    '38',
    '40',
    '47',
    '49',
    '55',
    '60',
    '66',
    '70',
    '72',
    '80',
    '83',
    '90',
    '99',
  ])('when the province prefix is %s, then it is refused', (prefix) => {
    expect(parseIdNumber(withCheckCharacter(`${prefix}010519900307123`))).toEqual({
      ok: false,
      message: 'has an unknown region prefix',
    });
  });
});

describe('division codes (flag, never reject)', () => {
  it.each([
    ['110105', 'current (Beijing Chaoyang)', true],
    ['110103', 'abolished 2010 (Beijing Chongwen), from the historical revisions', true],
    ['130171', 'current only (a development zone code added after 2016)', true],
    ['440524', 'abolished before 2002 (Chaoyang county, Guangdong)', false],
    ['119999', 'never assigned', false],
  ])('when the code is %s (%s), then known is %s', (code, _label, known) => {
    expect(isKnownDivisionCode(code)).toBe(known);
  });
});

describe('names, phones and masks', () => {
  it('when a minority name uses a look-alike dot or spaces, then it is normalised to U+00B7 without spaces', () => {
    expect(normaliseName(' 阿依古丽・买买提 ')).toBe('阿依古丽·买买提');
    expect(normaliseName('阿依古丽•买买提')).toBe('阿依古丽·买买提');
    expect(normaliseName('张 三')).toBe('张三');
  });

  it('when a name has a rare character outside the BMP, then it is accepted and masked per character', () => {
    expect(nameProblem('𠮷野家')).toBeNull();
    expect(maskName('𠮷野家')).toBe('𠮷**');
  });

  it('when names are masked, then one star per hidden character and compound surnames kept whole', () => {
    expect(maskName('张三')).toBe('张*');
    expect(maskName('王小明')).toBe('王**');
    expect(maskName('欧阳娜娜')).toBe('欧阳**');
    expect(maskName('诸葛亮')).toBe('诸葛*');
    expect(maskName('欧阳')).toBe('欧*');
  });

  it('when id numbers and phones are masked, then first 3 and last 4 are kept', () => {
    expect(maskIdNumber('110105199003071234')).toBe('110***********1234');
    expect(maskPhone('13812345678')).toBe('138****5678');
  });

  it('when a phone has a country prefix, hyphens or spaces, then they are removed', () => {
    expect(normalisePhone('+86 138-1234-5678')).toBe('13812345678');
    expect(normalisePhone('008613812345678')).toBe('13812345678');
    expect(normalisePhone('8613812345678')).toBe('8613812345678');
  });
});
