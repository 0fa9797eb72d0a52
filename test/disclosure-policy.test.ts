import { XMLParser } from 'fast-xml-parser';
import { beijingDate, beijingTimestamp, fenToYuan } from '../src/disclosure/ceb-format';
import { buildCeb621Xml, CEB_NAMESPACE } from '../src/disclosure/ceb621-xml';
import {
  applyDisclosurePolicy,
  DISCLOSURE_POLICY,
  sourceGroupsOf,
  type PersonalSource,
} from '../src/disclosure/disclosure-policy';
import { AUDIT_PURPOSES } from '../src/audit/audit-types';
import { ConfigError, loadConfig } from '../src/config';
import { parseDisclosureConfig } from '../src/disclosure/disclosure-config';

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

describe('CEB621 XML', () => {
  const parser = new XMLParser({
    ignoreAttributes: false,
    removeNSPrefix: false,
    parseTagValue: false,
    isArray: (name) => name === 'ceb:InventoryList',
  });
  const now = new Date('2026-03-01T02:03:04Z');
  const xml = buildCeb621Xml(
    {
      declarationId: '5a0c4a36-1111-4222-8333-944455556666',
      orderNo: 'ORD-1',
      agentCode: 'BROKER1',
      logisticsCode: 'SF',
      goods: [
        {
          gnum: 1,
          sku: 'SKU-1',
          name: '奶粉 <900g>',
          qty: 2,
          unitPriceFen: 19900,
          totalPriceFen: 39800,
        },
        { gnum: 2, sku: 'SKU-2', name: 'Lipstick', qty: 1, unitPriceFen: 5, totalPriceFen: 5 },
      ],
      freightFen: 1000,
      insuranceFen: 0,
      disclosure: applyDisclosurePolicy('customs', source),
    },
    { head: { portCode: '2244', ebpCode: 'EBP001' }, list: { unit: '011' }, baseTransfer: {} },
    now,
  );
  const parsed = parser.parse(xml);
  const message = parsed['ceb:CEB621Message'];
  const head = message['ceb:Inventory']['ceb:InventoryHead'];
  const lists = message['ceb:Inventory']['ceb:InventoryList'];

  it('when built, then the root is CEB621Message in the customs namespace', () => {
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>')).toBe(true);
    expect(message['@_xmlns:ceb']).toBe(CEB_NAMESPACE);
    expect(message['@_guid']).toBe('5A0C4A36-1111-4222-8333-944455556666');
  });

  it('when built, then the head carries the buyer fields, ieFlag I, currency 142 and Beijing time', () => {
    expect(head['ceb:buyerName']).toBe('张三丰');
    expect(head['ceb:buyerIdType']).toBe('1');
    expect(head['ceb:buyerIdNumber']).toBe('11010519491231002X');
    expect(head['ceb:buyerTelephone']).toBe('13800001111');
    expect(head['ceb:consigneeAddress']).toBe('上海市浦东新区世纪大道100号');
    expect(head['ceb:ieFlag']).toBe('I');
    expect(head['ceb:currency']).toBe('142');
    expect(head['ceb:appTime']).toBe('20260301100304');
    expect(head['ceb:declTime']).toBe('20260301');
    expect(head['ceb:orderNo']).toBe('ORD-1');
    expect(head['ceb:agentCode']).toBe('BROKER1');
    expect(head['ceb:logisticsCode']).toBe('SF');
    expect(head['ceb:freight']).toBe('10.00');
    expect(head['ceb:insuredFee']).toBe('0.00');
    expect(head['ceb:portCode']).toBe('2244');
    expect(head['ceb:ebpCode']).toBe('EBP001');
    expect(head['ceb:grossWeight']).toBe('');
  });

  it('when built, then each goods line is an InventoryList with yuan amounts with two decimals', () => {
    expect(lists).toHaveLength(2);
    expect(lists[0]).toMatchObject({
      'ceb:gnum': '1',
      'ceb:itemNo': 'SKU-1',
      'ceb:gname': '奶粉 <900g>',
      'ceb:qty': '2',
      'ceb:unit': '011',
      'ceb:price': '199.00',
      'ceb:totalPrice': '398.00',
      'ceb:currency': '142',
    });
    expect(lists[1]['ceb:price']).toBe('0.05');
  });

  it('when built, then no consignee name or phone is anywhere in the message', () => {
    expect(xml).not.toContain(consignee.name);
    expect(xml).not.toContain(consignee.phone);
  });

  it('when a value holds a character XML cannot carry, then the message is still well-formed', () => {
    const odd = buildCeb621Xml(
      {
        declarationId: 'd',
        orderNo: 'O\u0001',
        agentCode: 'B',
        logisticsCode: 'C',
        goods: [],
        freightFen: 0,
        insuranceFen: 0,
        disclosure: applyDisclosurePolicy('customs', source),
      },
      { head: {}, list: {}, baseTransfer: {} },
      now,
    );
    expect(
      parser.parse(odd)['ceb:CEB621Message']['ceb:Inventory']['ceb:InventoryHead']['ceb:orderNo'],
    ).toBe('O');
  });
});

describe('CEB621_DEFAULTS configuration', () => {
  it('when unset, then every configurable field is empty', () => {
    expect(parseDisclosureConfig({})).toEqual({
      ok: true,
      value: { ceb621: { head: {}, list: {}, baseTransfer: {} } },
    });
  });

  it('when it names known fields, then they are taken', () => {
    const result = parseDisclosureConfig({
      CEB621_DEFAULTS:
        '{"head":{"portCode":"2244"},"list":{"unit":"011"},"baseTransfer":{"dxpId":"D1"}}',
    });
    expect(result).toEqual({
      ok: true,
      value: {
        ceb621: {
          head: { portCode: '2244' },
          list: { unit: '011' },
          baseTransfer: { dxpId: 'D1' },
        },
      },
    });
  });

  it.each([
    ['not JSON', '{head', 'is not valid JSON'],
    [
      'an unknown field',
      '{"head":{"buyerName":"x"}}',
      'has an invalid or unknown field at head.buyerName',
    ],
    [
      'markup in a value',
      '{"head":{"portCode":"<x>"}}',
      'has an invalid or unknown field at head.portCode',
    ],
  ])('when it is %s, then start-up is refused naming the variable', (_label, raw, problem) => {
    expect(parseDisclosureConfig({ CEB621_DEFAULTS: raw })).toEqual({
      ok: false,
      variable: 'CEB621_DEFAULTS',
      problem,
    });
  });

  it('when loadConfig meets a bad value, then it throws a one-line ConfigError', () => {
    expect(() => loadConfig({ NODE_ENV: 'test', CEB621_DEFAULTS: '[' })).toThrow(
      new ConfigError('invalid configuration: CEB621_DEFAULTS is not valid JSON'),
    );
  });
});
