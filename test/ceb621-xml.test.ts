import fc from 'fast-check';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../src/config';
import { fenToYuan, legalQuantity } from '../src/disclosure/ceb-format';
import {
  BASE_TRANSFER,
  buildCeb621Xml,
  CEB_NAMESPACE,
  Ceb621Incomplete,
  Ceb621Invalid,
  cebText,
  INVENTORY_HEAD,
  INVENTORY_LIST,
  type Ceb621Defaults,
  type Ceb621GoodsLine,
  type Ceb621MessageInput,
  type CebElementRule,
} from '../src/disclosure/ceb621-xml';
import {
  Ceb621SignatureError,
  createCeb621Signer,
  XMLDSIG_NAMESPACE,
} from '../src/disclosure/ceb621-signature';
import { missingForProduction, parseDisclosureConfig } from '../src/disclosure/disclosure-config';
import { createPayloadSigner } from '../src/disclosure/payload-crypto';
import { signXml } from '../src/disclosure/representation';
import { loadSigningMaterial, type SigningMaterial } from '../src/disclosure/signing-key';
import { ceb621Line } from '../src/disclosure/declaration-goods';
import { parseXml, schemaErrors, signatureVerifies, XSD } from './helpers/ceb621-checks';

const XS = 'http://www.w3.org/2001/XMLSchema';

const parse = parseXml;

const childElements = (node: Element): Element[] =>
  Array.from(node.childNodes).filter((child): child is Element => child.nodeType === 1);

/** The element children of every `ceb:<tag>` as ordered [name, text] pairs. */
function sections(doc: Document, tag: string): [string, string][][] {
  return Array.from(doc.getElementsByTagNameNS(CEB_NAMESPACE, tag)).map((section) =>
    childElements(section).map((child) => [child.localName, child.textContent ?? '']),
  );
}

const NOW = new Date('2026-03-01T02:03:04Z');

const DEFAULTS: Ceb621Defaults = {
  head: {
    ebpCode: 'EBP0000001',
    ebpName: 'Example Mall & Co <HK>',
    ebcCode: 'EBC0000001',
    ebcName: 'Example Shop',
    logisticsName: 'SF Express',
    assureCode: 'EBP0000001',
    customsCode: '2244',
    portCode: '2244',
    agentName: 'Broker One',
    tradeMode: '1210',
    trafMode: '5',
    country: '116',
  },
  baseTransfer: { copCode: 'EBP0000001', copName: 'Example Mall', dxpId: 'DXPENT0000000001' },
};

const MILK: Ceb621GoodsLine = {
  itemNo: 'MILK-900',
  itemName: '婴儿奶粉 900g',
  gcode: '1901101000',
  gname: '婴儿配方奶粉',
  gmodel: '900g/罐, 1段',
  country: '116',
  qty: 2,
  unit: '122',
  qty1: legalQuantity(2, '0.9'),
  unit1: '035',
  unitPriceFen: 19900,
  totalPriceFen: 39800,
};

const CREAM: Ceb621GoodsLine = {
  itemNo: 'CREAM-50',
  itemRecordNo: 'REC-0001',
  itemName: 'Face cream',
  gcode: '3304990099',
  gname: '面霜',
  gmodel: '50ml',
  barCode: '4901234567894',
  country: '133',
  qty: 3,
  unit: '142',
  qty1: legalQuantity(3, '0.05'),
  unit1: '035',
  qty2: legalQuantity(3, '50'),
  unit2: '096',
  unitPriceFen: 5,
  totalPriceFen: 15,
};

function input(overrides: Partial<Ceb621MessageInput> = {}): Ceb621MessageInput {
  return {
    declarationId: '5a0c4a36-1111-4222-8333-944455556666',
    orderNo: 'ORD-1',
    copNo: 'D20260301000000001',
    agentCode: 'BROKER1',
    logisticsCode: 'SF',
    logisticsNo: 'SF1234567890',
    grossWeightKg: '2.35',
    netWeightKg: '2.1',
    goods: [MILK, CREAM],
    freightFen: 1000,
    insuranceFen: 250,
    disclosure: {
      personal: {
        buyer: {
          name: '张三丰',
          idType: '1',
          idNumber: '11010519491231002X',
          telephone: '13800001111',
        },
        consignee: { address: '上海市浦东新区世纪大道100号' },
      },
    },
    ...overrides,
  };
}

let keysDir: string;
let material: SigningMaterial;
beforeAll(() => {
  keysDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ceb621-test-'));
  material = loadSigningMaterial({ keysDir, env: 'test' });
});
afterAll(() => fs.rmSync(keysDir, { recursive: true, force: true }));

describe('the schema as data', () => {
  /** The XSD's own rules for one section, read from the file. */
  function xsdRules(name: string) {
    const xsd = parse(XSD);
    const top = Array.from(xsd.getElementsByTagNameNS(XS, 'element')).find(
      (element) =>
        element.getAttribute('name') === name && element.parentNode === xsd.documentElement,
    )!;
    const sequence = top.getElementsByTagNameNS(XS, 'sequence')[0]!;
    return childElements(sequence).map((element) => {
      const facet = (facetName: string) =>
        element.getElementsByTagNameNS(XS, facetName)[0]?.getAttribute('value') ?? null;
      const restriction = element.getElementsByTagNameNS(XS, 'restriction')[0];
      return {
        name: element.getAttribute('name'),
        minOccurs: element.getAttribute('minOccurs') || '1',
        base: restriction?.getAttribute('base') || element.getAttribute('type'),
        length: facet('length'),
        minLength: facet('minLength'),
        maxLength: facet('maxLength'),
      };
    });
  }

  function ours(rules: readonly CebElementRule[]) {
    return rules.map((rule) => ({
      name: rule.name,
      minOccurs: rule.required ? '1' : '0',
      base:
        rule.facet.kind === 'decimal'
          ? 'xs:decimal'
          : rule.facet.kind === 'int'
            ? 'xs:int'
            : 'xs:string',
      length:
        rule.facet.kind === 'text' && rule.facet.min === rule.facet.max
          ? String(rule.facet.max)
          : null,
      minLength:
        rule.facet.kind === 'text' && rule.facet.min !== rule.facet.max && rule.facet.min > 0
          ? String(rule.facet.min)
          : null,
      maxLength:
        rule.facet.kind === 'text' && rule.facet.min !== rule.facet.max
          ? String(rule.facet.max)
          : null,
    }));
  }

  it.each([
    ['InventoryHead', INVENTORY_HEAD],
    ['InventoryList', INVENTORY_LIST],
    ['BaseTransfer', BASE_TRANSFER],
  ])('when %s is compared with the XSD, then order, occurrence and facets agree', (name, rules) => {
    expect(ours(rules)).toEqual(xsdRules(name));
  });
});

describe('building the message', () => {
  const xml = buildCeb621Xml(input(), DEFAULTS, NOW);
  const doc = parse(xml);
  const head = Object.fromEntries(sections(doc, 'InventoryHead')[0]!);
  const lists = sections(doc, 'InventoryList').map((pairs) => Object.fromEntries(pairs));

  it('when an order has two goods lines with different HS codes, then the message validates against the XSD', async () => {
    expect(await schemaErrors(xml)).toEqual([]);
    expect(lists.map((list) => list.gcode)).toEqual(['1901101000', '3304990099']);
  });

  it('when built, then it is unsigned: appStatus 1 and no signature', () => {
    expect(head.appStatus).toBe('1');
    expect(doc.getElementsByTagNameNS(XMLDSIG_NAMESPACE, 'Signature')).toHaveLength(0);
  });

  it('when built, then the head carries the waybill, the short copNo, the parcel weights and the configured codes', () => {
    expect(head).toMatchObject({
      guid: '5A0C4A36-1111-4222-8333-944455556666',
      logisticsNo: 'SF1234567890',
      copNo: 'D20260301000000001',
      grossWeight: '2.35',
      netWeight: '2.1',
      freight: '10.00',
      insuredFee: '2.50',
      ebpName: 'Example Mall & Co <HK>',
      appTime: '20260301100304',
      declTime: '20260301',
    });
  });

  it('when built, then each line carries its own product data and the exact legal quantity', () => {
    expect(lists[0]).toMatchObject({ gnum: '1', country: '116', unit: '122', qty1: '1.8' });
    expect(lists[1]).toMatchObject({
      gnum: '2',
      itemRecordNo: 'REC-0001',
      barCode: '4901234567894',
      qty1: '0.15',
      qty2: '150',
      unit2: '096',
      price: '0.05',
      totalPrice: '0.15',
    });
  });

  it('when an optional element has no value, then it is absent (not empty)', () => {
    for (const name of [
      'preNo',
      'invtNo',
      'ieDate',
      'emsNo',
      'areaCode',
      'trafNo',
      'wrapType',
      'note',
    ]) {
      expect(head).not.toHaveProperty(name);
    }
    for (const name of ['itemRecordNo', 'barCode', 'tradeCountry', 'qty2', 'unit2', 'note']) {
      expect(lists[0]).not.toHaveProperty(name);
    }
    expect(xml).not.toMatch(/<ceb:\w+><\/ceb:\w+>|<ceb:\w+\/>/);
  });

  it('when the copNo has 21 characters, then Ceb621Invalid names copNo', () => {
    const build = () => buildCeb621Xml(input({ copNo: 'X'.repeat(21) }), DEFAULTS, NOW);
    expect(build).toThrow(Ceb621Invalid);
    expect(build).toThrow('InventoryHead.copNo must be 0 to 20 characters');
  });

  it('when the waybill is not known, then Ceb621Incomplete names logisticsNo', () => {
    const build = () => buildCeb621Xml(input({ logisticsNo: null }), DEFAULTS, NOW);
    expect(build).toThrow(Ceb621Incomplete);
    try {
      build();
    } catch (error) {
      expect(error).toMatchObject({
        code: 'CEB621_INCOMPLETE',
        missing: ['InventoryHead.logisticsNo'],
      });
    }
  });

  it('when configuration lacks a required code, then Ceb621Incomplete names it', () => {
    const head = { ...DEFAULTS.head, ebpName: undefined };
    expect(() => buildCeb621Xml(input(), { ...DEFAULTS, head }, NOW)).toThrow(
      new Ceb621Incomplete(['InventoryHead.ebpName']),
    );
  });

  it('when a declaration from before the catalogue (no product, waybill or parcel) is built, then everything it lacks is named', () => {
    const legacy = {
      ...input(),
      copNo: '',
      logisticsNo: null,
      grossWeightKg: '',
      netWeightKg: '',
      goods: [
        ceb621Line({
          gnum: 1,
          sku: 'S',
          name: 'N',
          qty: 1,
          unitPriceFen: 1,
          totalPriceFen: 1,
          product: null,
        }),
      ],
    };
    expect(() => buildCeb621Xml(legacy, DEFAULTS, NOW)).toThrow(
      new Ceb621Incomplete([
        'InventoryHead.copNo',
        'InventoryHead.logisticsNo',
        'InventoryHead.grossWeight',
        'InventoryHead.netWeight',
        'InventoryList[1].gcode',
        'InventoryList[1].gmodel',
        'InventoryList[1].country',
        'InventoryList[1].unit',
        'InventoryList[1].qty1',
        'InventoryList[1].unit1',
      ]),
    );
  });

  it.each([
    [
      'a 9-digit HS code',
      { goods: [{ ...MILK, gcode: '190110100' }] },
      'InventoryList[1].gcode must be exactly 10 characters',
    ],
    [
      'qty2 without unit2',
      { goods: [{ ...MILK, qty2: '1' }] },
      'InventoryList[1].qty2 and unit2 must be given both or neither',
    ],
    [
      'a total that is not qty x price',
      { goods: [{ ...MILK, totalPriceFen: 1 }] },
      'InventoryList[1].totalPrice must equal qty x price',
    ],
    [
      'a net weight above the gross',
      { netWeightKg: '3' },
      'InventoryHead.netWeight must not exceed grossWeight',
    ],
    [
      'a weight with 6 decimals',
      { grossWeightKg: '2.000001' },
      'InventoryHead.grossWeight must be a decimal with at most 5 fraction digits',
    ],
    [
      '100 goods lines',
      { goods: Array.from({ length: 100 }, () => MILK) },
      'InventoryList at most 99 goods lines',
    ],
    [
      'a negative freight',
      { freightFen: -1 },
      'InventoryHead.freight must be a non-negative whole number of fen',
    ],
  ])('when the input has %s, then Ceb621Invalid says so', (_label, overrides, problem) => {
    expect(() => buildCeb621Xml(input(overrides), DEFAULTS, NOW)).toThrow(problem);
    expect(() => buildCeb621Xml(input(overrides), DEFAULTS, NOW)).toThrow(Ceb621Invalid);
  });

  it('when a value is personal, then no error message repeats it', () => {
    const tooLong = '张'.repeat(61);
    const disclosure = {
      personal: {
        ...input().disclosure.personal,
        buyer: { ...input().disclosure.personal.buyer, name: tooLong },
      },
    };
    expect(() => buildCeb621Xml(input({ disclosure }), DEFAULTS, NOW)).toThrow(
      new Ceb621Invalid(['InventoryHead.buyerName must be 1 to 60 characters']),
    );
  });
});

describe('escaping', () => {
  const hostile = 'A&xxe;&amp;&#65;<b>]]><![CDATA[x]]>"\'\r\n\t\u0085\u2028张三😀';

  it('when values hold entities, markup, CDATA ends, CR and emoji, then they parse back exactly and validate', async () => {
    const xml = buildCeb621Xml(
      input({
        orderNo: hostile,
        goods: [{ ...MILK, itemName: hostile, gname: hostile, gmodel: hostile }],
      }),
      DEFAULTS,
      NOW,
    );
    const doc = parse(xml);
    const head = Object.fromEntries(sections(doc, 'InventoryHead')[0]!);
    const list = Object.fromEntries(sections(doc, 'InventoryList')[0]!);
    expect(head.orderNo).toBe(hostile);
    expect([list.itemName, list.gname, list.gmodel]).toEqual([hostile, hostile, hostile]);
    expect(xml).not.toContain('&xxe;');
    expect(xml).not.toContain('<b>');
    expect(await schemaErrors(xml)).toEqual([]);
  });

  it('when a value holds characters XML 1.0 cannot carry, then they are removed and the rest kept', () => {
    const xml = buildCeb621Xml(
      input({ orderNo: 'O\u0000R\u0008D\uFFFE-\uD8001\uDC00' }),
      DEFAULTS,
      NOW,
    );
    expect(Object.fromEntries(sections(parse(xml), 'InventoryHead')[0]!).orderNo).toBe('ORD-1');
  });
});

// ---------------------------------------------------------------------------
// Property: random product data, orders and hostile strings.
// ---------------------------------------------------------------------------

/** Up to 5 code points each: markup, entities, CDATA ends, controls, CJK, emoji, lone surrogates. */
const fragment = fc.oneof(
  fc.constantFrom(
    '&',
    '<',
    '>',
    ']]>',
    '&xxe;',
    '&amp;',
    '&#65;',
    '&lt;',
    '"',
    "'",
    '\r',
    '\r\n',
    '\n',
    '\t',
    '\u0000',
    '\u0008',
    '\u000B',
    '\u001F',
    '\uFFFE',
    '\uFFFF',
    '\uD800',
    '\uDC00',
    '\u0085',
    '\u2028',
    '张三',
    '奶粉',
    '😀',
    '👍🏽',
    ' ',
    'a',
  ),
  fc.string({ unit: 'binary', maxLength: 2 }),
);

/** A hostile value of at most `max` code points that keeps at least one character (the prefix). */
const hostile = (max: number) =>
  fc.array(fragment, { maxLength: Math.floor((max - 1) / 5) }).map((parts) => `x${parts.join('')}`);

const digits = (n: number) => fc.stringMatching(new RegExp(`^\\d{${n}}$`));

/** A decimal string from an integer count of 10^-5 units. */
const decimal = (max: number) =>
  fc.integer({ min: 0, max }).map((units) => {
    const text = String(units).padStart(6, '0');
    const fraction = text.slice(-5).replace(/0+$/, '');
    const whole = text.slice(0, -5).replace(/^0+(?=\d)/, '');
    return fraction ? `${whole}.${fraction}` : whole;
  });

const goodsLine = fc
  .record({
    itemNo: hostile(30),
    itemRecordNo: fc.option(hostile(30), { nil: undefined }),
    itemName: hostile(250),
    gcode: digits(10),
    gname: hostile(250),
    gmodel: hostile(510),
    barCode: fc.option(hostile(50), { nil: undefined }),
    country: digits(3),
    qty: fc.integer({ min: 1, max: 1000 }),
    unit: digits(3),
    legalPerUnit: decimal(100_000_000).filter((value) => value !== '0'),
    unit1: digits(3),
    second: fc.option(fc.record({ perUnit: decimal(100_000_000), unit2: digits(3) }), {
      nil: undefined,
    }),
    unitPriceFen: fc.integer({ min: 0, max: 10_000_000 }),
  })
  .map(({ legalPerUnit, second, ...line }): Ceb621GoodsLine => ({
    ...line,
    qty1: legalQuantity(line.qty, legalPerUnit),
    ...(second ? { qty2: legalQuantity(line.qty, second.perUnit), unit2: second.unit2 } : {}),
    totalPriceFen: line.qty * line.unitPriceFen,
  }));

const messageInput = fc
  .record({
    orderNo: hostile(60),
    copNo: hostile(20),
    agentCode: hostile(18),
    logisticsCode: hostile(18),
    logisticsNo: hostile(60),
    net: decimal(1_000_000_000),
    extra: decimal(1_000_000_000),
    goods: fc.array(goodsLine, { minLength: 1, maxLength: 5 }),
    freightFen: fc.integer({ min: 0, max: 100_000_000 }),
    insuranceFen: fc.integer({ min: 0, max: 100_000_000 }),
    name: hostile(60),
    idNumber: hostile(60),
    telephone: hostile(30),
    address: hostile(200),
    ebpName: hostile(100),
    agentName: hostile(100),
  })
  .map((r): { message: Ceb621MessageInput; defaults: Ceb621Defaults } => ({
    defaults: {
      ...DEFAULTS,
      head: { ...DEFAULTS.head, ebpName: r.ebpName, agentName: r.agentName },
    },
    message: {
      declarationId: '5a0c4a36-1111-4222-8333-944455556666',
      orderNo: r.orderNo,
      copNo: r.copNo,
      agentCode: r.agentCode,
      logisticsCode: r.logisticsCode,
      logisticsNo: r.logisticsNo,
      netWeightKg: r.net,
      // gross = net + extra, exactly, in 10^-5 units.
      grossWeightKg: addDecimals(r.net, r.extra),
      goods: r.goods,
      freightFen: r.freightFen,
      insuranceFen: r.insuranceFen,
      disclosure: {
        personal: {
          buyer: { name: r.name, idType: '1', idNumber: r.idNumber, telephone: r.telephone },
          consignee: { address: r.address },
        },
      },
    },
  }));

function addDecimals(a: string, b: string): string {
  const scaled = (value: string) => {
    const [whole, fraction = ''] = value.split('.');
    return BigInt(`${whole}${fraction.padEnd(5, '0')}`);
  };
  const sum = (scaled(a) + scaled(b)).toString().padStart(6, '0');
  const fraction = sum.slice(-5).replace(/0+$/, '');
  return fraction ? `${sum.slice(0, -5)}.${fraction}` : sum.slice(0, -5);
}

/** What each emitted element must read back as: the input after removing non-XML characters. */
function expectedHead(message: Ceb621MessageInput, defaults: Ceb621Defaults) {
  const buyer = message.disclosure.personal.buyer!;
  const clean = (value: string | undefined) => cebText(value);
  return {
    ...defaults.head,
    ebpName: clean(defaults.head.ebpName),
    agentName: clean(defaults.head.agentName),
    guid: message.declarationId.toUpperCase(),
    appType: '1',
    appTime: '20260301100304',
    appStatus: '1',
    orderNo: clean(message.orderNo),
    logisticsNo: clean(message.logisticsNo ?? ''),
    logisticsCode: clean(message.logisticsCode),
    copNo: clean(message.copNo),
    ieFlag: 'I',
    declTime: '20260301',
    buyerIdType: '1',
    buyerIdNumber: clean(buyer.idNumber),
    buyerName: clean(buyer.name),
    buyerTelephone: clean(buyer.telephone),
    consigneeAddress: clean(message.disclosure.personal.consignee!.address),
    agentCode: clean(message.agentCode),
    freight: fenToYuan(message.freightFen),
    insuredFee: fenToYuan(message.insuranceFen),
    currency: '142',
    packNo: '1',
    grossWeight: message.grossWeightKg,
    netWeight: message.netWeightKg,
  };
}

function expectedList(line: Ceb621GoodsLine, gnum: number) {
  const optional = (name: string, value: string | undefined) =>
    value === undefined ? {} : { [name]: cebText(value) };
  return {
    gnum: String(gnum),
    ...optional('itemRecordNo', line.itemRecordNo),
    itemNo: cebText(line.itemNo),
    itemName: cebText(line.itemName),
    gcode: line.gcode,
    gname: cebText(line.gname),
    gmodel: cebText(line.gmodel),
    ...optional('barCode', line.barCode),
    country: line.country,
    currency: '142',
    qty: String(line.qty),
    unit: line.unit,
    qty1: line.qty1,
    unit1: line.unit1,
    ...optional('qty2', line.qty2),
    ...optional('unit2', line.unit2),
    price: fenToYuan(line.unitPriceFen),
    totalPrice: fenToYuan(line.totalPriceFen),
  };
}

describe('property: any catalogue data, order and hostile string', () => {
  it('when built, then the XML parses, validates against the XSD and round-trips every value exactly', async () => {
    await fc.assert(
      fc.asyncProperty(messageInput, async ({ message: generated, defaults }) => {
        const xml = buildCeb621Xml(generated, defaults, NOW);
        const doc = parse(xml);
        expect(Object.fromEntries(sections(doc, 'InventoryHead')[0]!)).toEqual(
          expectedHead(generated, defaults),
        );
        expect(sections(doc, 'InventoryList').map((pairs) => Object.fromEntries(pairs))).toEqual(
          generated.goods.map((line, index) => expectedList(line, index + 1)),
        );
        expect(await schemaErrors(xml)).toEqual([]);
      }),
      { numRuns: 50 },
    );
  });
});

// ---------------------------------------------------------------------------
// XML-DSig.
// ---------------------------------------------------------------------------

const verifies = signatureVerifies;

/** Line ends written as references, as the signer does, so re-serialising changes nothing else. */
const serialize = (doc: Document) =>
  doc.toString().replace(/[\r\u0085\u2028]/g, (c) => `&#x${c.charCodeAt(0).toString(16)};`);

describe('XML signature', () => {
  let signed: string;
  beforeAll(() => {
    const hostileOrder = input({ orderNo: 'ORD&amp;<x>]]>\r\n\u0085\u2028😀' });
    signed = createCeb621Signer(material).declare(buildCeb621Xml(hostileOrder, DEFAULTS, NOW));
  });

  it('when declared, then appStatus is 2, the signature is the root’s last child, and the document still validates', async () => {
    const doc = parse(signed);
    const root = doc.documentElement!;
    const last = childElements(root).at(-1)!;
    expect([last.namespaceURI, last.localName]).toEqual([XMLDSIG_NAMESPACE, 'Signature']);
    expect(Object.fromEntries(sections(doc, 'InventoryHead')[0]!).appStatus).toBe('2');
    const reference = last.getElementsByTagNameNS(XMLDSIG_NAMESPACE, 'Reference')[0]!;
    expect(reference.getAttribute('URI')).toBe('');
    const algorithms = Array.from(last.getElementsByTagNameNS(XMLDSIG_NAMESPACE, '*'))
      .map((node) => node.getAttribute('Algorithm'))
      .filter(Boolean);
    expect(algorithms).toEqual([
      'http://www.w3.org/2001/10/xml-exc-c14n#',
      'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
      'http://www.w3.org/2000/09/xmldsig#enveloped-signature',
      'http://www.w3.org/2001/10/xml-exc-c14n#',
      'http://www.w3.org/2001/04/xmlenc#sha256',
    ]);
    const certificate = last.getElementsByTagNameNS(XMLDSIG_NAMESPACE, 'X509Certificate')[0]!;
    expect(material.certificatePem.replace(/-----[^-]+-----|\s/g, '')).toBe(
      certificate.textContent,
    );
    expect(await schemaErrors(signed)).toEqual([]);
  });

  it('when verified against the service certificate over the re-parsed document, then it holds', () => {
    expect(verifies(signed, material.certificatePem)).toBe(true);
  });

  it('when any one value is changed, then the signature fails', () => {
    const leaves = parse(signed).getElementsByTagNameNS(CEB_NAMESPACE, '*');
    const count = Array.from(leaves).filter((node) => childElements(node).length === 0).length;
    expect(count).toBeGreaterThan(50);
    for (let index = 0; index < count; index += 1) {
      const doc = parse(signed);
      const leaf = Array.from(doc.getElementsByTagNameNS(CEB_NAMESPACE, '*')).filter(
        (node) => childElements(node).length === 0,
      )[index]!;
      leaf.textContent = `${leaf.textContent}0`;
      expect(verifies(serialize(doc), material.certificatePem)).toBe(false);
    }
    expect(verifies(signed.replace('guid="5A0C', 'guid="6A0C'), material.certificatePem)).toBe(
      false,
    );
  });

  it('when verified against another certificate, then it fails', () => {
    const otherDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ceb621-other-'));
    try {
      const other = loadSigningMaterial({ keysDir: otherDir, env: 'test' });
      expect(verifies(signed, other.certificatePem)).toBe(false);
    } finally {
      fs.rmSync(otherDir, { recursive: true, force: true });
    }
  });

  it('when a signed message is declared again, then it is refused', () => {
    expect(() => createCeb621Signer(material).declare(signed)).toThrow(Ceb621SignatureError);
  });

  it('when the XML response is produced, then the body is the signed message and the CMS header covers its bytes', () => {
    const payload = signXml(
      createPayloadSigner(material),
      createCeb621Signer(material),
      buildCeb621Xml(input(), DEFAULTS, NOW),
    );
    expect(payload.contentType).toBe('application/xml; charset=utf-8');
    expect(verifies(payload.body.toString('utf8'), material.certificatePem)).toBe(true);
    expect(payload.signatureScheme).toBe('cms-detached-rsa-sha256');
    expect(payload.signature.length).toBeGreaterThan(100);
  });
});

describe('CEB621_DEFAULTS', () => {
  const parseWith = (value: unknown) =>
    parseDisclosureConfig({ CEB621_DEFAULTS: JSON.stringify(value) });

  it('when the global codes are valid, then they are taken, markup characters included', () => {
    expect(parseWith(DEFAULTS)).toEqual({ ok: true, value: { ceb621: DEFAULTS } });
  });

  it('when unset, then both parts are empty', () => {
    expect(parseDisclosureConfig({})).toEqual({
      ok: true,
      value: { ceb621: { head: {}, baseTransfer: {} } },
    });
  });

  it.each([
    [
      { head: { portCode: '22440' } },
      'has an invalid value at head.portCode (must be exactly 4 characters)',
    ],
    [
      { head: { ebpCode: 'E'.repeat(19) } },
      'has an invalid value at head.ebpCode (must be 1 to 18 characters)',
    ],
    [
      { head: { ebpName: 'Mall\u0001' } },
      'has an invalid value at head.ebpName (characters XML cannot carry)',
    ],
    [{ head: { gcode: '1901101000' } }, 'has an invalid or unknown field at head.gcode'],
    [{ head: { grossWeight: '1' } }, 'has an invalid or unknown field at head.grossWeight'],
    [
      { list: { unit: '011' } },
      'has a "list" part: per-item fields now come from the product data, remove it',
    ],
  ])('when it is %j, then start-up is refused naming the field', (value, problem) => {
    expect(parseWith(value)).toEqual({ ok: false, variable: 'CEB621_DEFAULTS', problem });
  });

  it('when loadConfig meets a bad value, then it throws a one-line ConfigError', () => {
    expect(() => loadConfig({ NODE_ENV: 'test', CEB621_DEFAULTS: '[' })).toThrow(
      new ConfigError('invalid configuration: CEB621_DEFAULTS is not valid JSON'),
    );
  });

  it('when production would start without the required codes, then they are all named', () => {
    expect(missingForProduction(DEFAULTS)).toEqual([]);
    expect(missingForProduction({ head: {}, baseTransfer: { dxpMode: 'DXP' } })).toEqual([
      'head.ebpCode',
      'head.ebpName',
      'head.ebcCode',
      'head.ebcName',
      'head.logisticsName',
      'head.assureCode',
      'head.customsCode',
      'head.portCode',
      'head.agentName',
      'head.tradeMode',
      'head.trafMode',
      'head.country',
      'baseTransfer.copCode',
      'baseTransfer.copName',
      'baseTransfer.dxpId',
    ]);
  });
});

describe('legal quantity', () => {
  it.each([
    [3, '0.1', '0.3'],
    [2, '0.9', '1.8'],
    [7, '0.00001', '0.00007'],
    [1000, '12.5', '12500'],
    [1, '0', '0'],
  ])('when %i units of %s, then exactly %s', (qty, perUnit, expected) => {
    expect(legalQuantity(qty, perUnit)).toBe(expected);
  });

  it.each([
    [0, '1'],
    [1.5, '1'],
    [1, '0.000001'],
    [1, '-1'],
    [1, '1e3'],
    [10, '99999999999999'],
  ])('when %p x %p, then RangeError', (qty, perUnit) => {
    expect(() => legalQuantity(qty, perUnit)).toThrow(RangeError);
  });
});
