import { beijingDate, beijingTimestamp, fenToYuan } from '../src/disclosure/ceb-format';
import {
  applyDisclosurePolicy,
  DISCLOSURE_POLICY,
  sourceGroupsOf,
  type PersonalSource,
} from '../src/disclosure/disclosure-policy';
import { AUDIT_PURPOSES } from '../src/audit/audit-types';

const buyer = { name: '张三丰', idNumber: '11010519491231002X', phone: '13800001111' };
const consignee = { name: '李四娘', phone: '13900002222', address: '上海市浦东新区世纪大道100号' };
const source: PersonalSource = { buyer, consignee };

describe('fenToYuan', () => {
  it.each([
    [0, '0.00'],
    [1, '0.01'],
    [10, '0.10'],
    [100, '1.00'],
    [500000, '5000.00'],
    [500001, '5000.01'],
    [-1234, '-12.34'],
    [Number.MAX_SAFE_INTEGER, '90071992547409.91'],
  ])('when %p fen, then "%s" yuan', (fen, yuan) => {
    expect(fenToYuan(fen)).toBe(yuan);
  });

  it('when the amount is not an integer, then it refuses', () => {
    expect(() => fenToYuan(1.5)).toThrow(RangeError);
  });
});

describe('Beijing time stamps', () => {
  it('when it is 2026-12-31T16:30:05Z, then Beijing time is already 2027-01-01 00:30:05', () => {
    const at = new Date('2026-12-31T16:30:05Z');
    expect(beijingTimestamp(at)).toBe('20270101003005');
    expect(beijingDate(at)).toBe('20270101');
  });
});

describe('disclosure policy', () => {
  it('when a broker is served, then it gets the CEB621 fields and no consignee name or phone', () => {
    const disclosure = applyDisclosurePolicy('customs', source);
    expect(disclosure.personal).toEqual({
      buyer: {
        name: '张三丰',
        idType: '1',
        idNumber: '11010519491231002X',
        telephone: '13800001111',
      },
      consignee: { address: '上海市浦东新区世纪大道100号' },
    });
    expect(disclosure.fields).toEqual([
      'buyer.name',
      'buyer.idType',
      'buyer.idNumber',
      'buyer.telephone',
      'consignee.address',
    ]);
    expect(disclosure.purpose).toBe('customs-clearance');
    expect(disclosure.action).toBe('declaration.disclose');
    const serialised = JSON.stringify(disclosure);
    expect(serialised).not.toContain(consignee.name);
    expect(serialised).not.toContain(consignee.phone);
  });

  it('when a carrier is served, then it gets the CEB511 consignee fields and nothing of the buyer', () => {
    const disclosure = applyDisclosurePolicy('carrier', source);
    expect(disclosure.personal).toEqual({
      consignee: {
        name: '李四娘',
        telephone: '13900002222',
        address: '上海市浦东新区世纪大道100号',
      },
    });
    expect(disclosure.purpose).toBe('delivery');
    const serialised = JSON.stringify(disclosure);
    for (const value of Object.values(buyer)) expect(serialised).not.toContain(value);
  });

  it('when only the consignee half is known, then a carrier is still served and a broker is refused', () => {
    expect(applyDisclosurePolicy('carrier', { consignee }).personal.consignee?.name).toBe('李四娘');
    expect(() => applyDisclosurePolicy('customs', { consignee })).toThrow(
      'personal source lacks buyer.name',
    );
  });

  it('when the sources a role needs are listed, then a carrier needs the consignee only, never the buyer', () => {
    expect([...sourceGroupsOf('carrier')]).toEqual(['consignee']);
    expect([...sourceGroupsOf('customs')].sort()).toEqual(['buyer', 'consignee']);
  });

  it('when the table is read, then every purpose is one the access log knows and every role has a legal basis', () => {
    for (const policy of Object.values(DISCLOSURE_POLICY)) {
      expect(AUDIT_PURPOSES).toContain(policy.purpose);
      expect(policy.legalBasis.length).toBeGreaterThan(40);
    }
  });
});
