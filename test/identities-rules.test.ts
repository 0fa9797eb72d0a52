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
  phoneProblem,
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
    '83',
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
    '84',
    '90',
    '99',
  ])('when the province prefix is %s, then it is refused', (prefix) => {
    expect(parseIdNumber(withCheckCharacter(`${prefix}010519900307123`))).toEqual({
      ok: false,
      message: 'has an unknown region prefix',
    });
  });
});

describe('residence permits and 15-digit numbers', () => {
  it.each([
    ['810000', 'Hong Kong'],
    ['820000', 'Macau'],
    ['830000', 'Taiwan'],
  ])(
    'when a %s (%s residents) residence permit has a right check character, then it is accepted, known and unflagged',
    (region) => {
      const value = withCheckCharacter(`${region}19900307123`);
      expect(parseIdNumber(value)).toEqual({
        ok: true,
        id: {
          value,
          birthDate: { year: 1990, month: 3, day: 7 },
          divisionCode: region,
          divisionCodeKnown: true,
        },
      });
    },
  );

  it('when a 830000 permit has a wrong check character, then it is refused like any other', () => {
    const valid = withCheckCharacter('83000019900307123');
    const wrong = valid.slice(0, 17) + (valid[17] === '0' ? '1' : '0');
    expect(parseIdNumber(wrong)).toEqual({ ok: false, message: 'has a wrong check character' });
  });

  it.each(['110105900307123', ' 830000900307124 ', '440524800101001'])(
    'when a 15-digit number (%s) is given, then it is refused with how to upgrade it, without the number',
    (raw) => {
      const result = parseIdNumber(raw);
      expect(result).toEqual({
        ok: false,
        message: expect.stringMatching(/15-digit.*18-digit.*insert 19 before.*check character/),
      });
      const message = (result as { message: string }).message;
      expect(message).not.toContain(raw.trim());
      expect(message).not.toMatch(/\d{6,}/);
    },
  );

  it.each([
    ['11010519900307', 'too short'],
    ['1101051990030712', '16 digits'],
    ['11010590030712X', '15 characters ending in X'],
  ])('when %s (%s) is given, then the plain length message, not the upgrade hint', (raw) => {
    expect(parseIdNumber(raw)).toEqual({ ok: false, message: 'must have 18 characters' });
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

describe('phones of the mainland, Hong Kong, Macau, Taiwan and elsewhere', () => {
  it.each([
    ['13812345678', '13812345678', '138****5678'],
    ['+86 138-1234-5678', '13812345678', '138****5678'],
    ['0086 13812345678', '13812345678', '138****5678'],
    ['+86 0 138 1234 5678', '13812345678', '138****5678'],
    ['+852 9123 4567', '+85291234567', '+852****4567'],
    ['00852-5123-4567', '+85251234567', '+852****4567'],
    ['+853 6612 3456', '+85366123456', '+853****3456'],
    ['+853 2812 3456', '+85328123456', '+853****3456'],
    ['+886 912 345 678', '+886912345678', '+886****5678'],
    ['+886 0912-345-678', '+886912345678', '+886****5678'],
    ['+1 (202) 555-0123', '+12025550123', '+1****0123'],
    ['+44 20 7946 0000', '+442079460000', '+44****0000'],
    ['+65 8123 4567', '+6581234567', '+65****4567'],
    ['+49 1512 3456789', '+4915123456789', '+49****6789'],
  ])('when the phone is %s, then it is stored as %s and masked as %s', (raw, stored, masked) => {
    const normalised = normalisePhone(raw);
    expect(normalised).toBe(stored);
    expect(phoneProblem(normalised)).toBeNull();
    expect(maskPhone(normalised)).toBe(masked);
  });

  it.each([
    ['8613812345678', 'must be a mainland China mobile number'],
    ['12812345678', 'must be a mainland China mobile number'],
    ['010-12345678', 'must be a mainland China mobile number'],
    ['91234567', 'must be a mainland China mobile number'],
    ['+86 10 1234 5678', 'must be a mainland China mobile number (11 digits)'],
    ['+852 9123 456', 'must be 8 digits after +852 (Hong Kong)'],
    ['+852 9123 45678', 'must be 8 digits after +852 (Hong Kong)'],
    ['+852 1234 5678', 'is not a possible number for its country code'],
    ['+853 6612 345', 'must be 8 digits after +853 (Macau)'],
    ['+886 2 1234 5678', 'must be a Taiwan mobile number: 9 digits starting with 9 after +886'],
    ['+886 91234567', 'must be a Taiwan mobile number: 9 digits starting with 9 after +886'],
    ['+999 1234 5678', 'is not a possible number for its country code'],
    ['+1 202 555 01', 'is not a possible number for its country code'],
    ['+1234567890123456', 'must be + and a country code, at most 15 digits in all (E.164)'],
    ['+0 1234567', 'must be + and a country code, at most 15 digits in all (E.164)'],
    ['+852 9123 4567 ext 1', 'must be + and a country code, at most 15 digits in all (E.164)'],
  ])('when the phone is %s, then it is refused: %s', (raw, message) => {
    const problem = phoneProblem(normalisePhone(raw));
    expect(problem).toBe(message);
    expect(problem).not.toMatch(/\d{4,}/);
  });

  it('when an international number has fewer than 8 national digits, then at least 4 stay hidden', () => {
    expect(phoneProblem('+6834002')).toBeNull(); // Niue: 4 digits
    expect(maskPhone('+6834002')).toBe('+683****');
    expect(maskPhone('+3545512345')).toBe('+354****345'); // Iceland: 7 digits
  });

  it('when international numbers of one country differ in length, then their masks do not', () => {
    expect(maskPhone('+4915123456789')).toBe('+49****6789'); // 11 national digits
    expect(maskPhone('+49301234567')).toBe('+49****4567'); // 9 national digits
    expect(maskPhone('+4930123456')).toBe('+49****3456'); // 8 national digits
  });
});
