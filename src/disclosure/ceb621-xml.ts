import {
  beijingDate,
  beijingTimestamp,
  compareCebDecimals,
  fenToYuan,
  isCebDecimal,
} from './ceb-format';
import type { Disclosure } from './disclosure-policy';

export const CEB_NAMESPACE = 'http://www.chinaport.gov.cn/ceb';
export const CEB621_VERSION = '1.0';

/**
 * `appStatus`: 1 is a message saved, not declared; 2 is declared, and only a
 * message carrying the platform's XML signature says 2 (see ceb621-signature.ts).
 */
export const APP_STATUS_UNSIGNED = '1';
export const APP_STATUS_DECLARED = '2';

// ---------------------------------------------------------------------------
// The schema, as data: element order, occurrence and facets of
// CEB621Message.xsd (checked against the XSD itself in test/ceb621-xml.test.ts).
// ---------------------------------------------------------------------------

/**
 * An element's facets. Text lengths count characters (code points), as XSD
 * does; `digits` is this service's own, stricter rule for numeric codes.
 */
export type CebFacet =
  { kind: 'text'; min: number; max: number; digits?: true } | { kind: 'decimal' } | { kind: 'int' };

export interface CebElementRule {
  name: string;
  /** minOccurs=1 in the XSD: always emitted, and a missing value refuses the message. */
  required: boolean;
  facet: CebFacet;
}

const len = (n: number): CebFacet => ({ kind: 'text', min: n, max: n });
const codeOf = (n: number): CebFacet => ({ kind: 'text', min: n, max: n, digits: true });
const upTo = (max: number, min = 1): CebFacet => ({ kind: 'text', min, max });
const DECIMAL: CebFacet = { kind: 'decimal' };
const INT: CebFacet = { kind: 'int' };
const req = (name: string, facet: CebFacet): CebElementRule => ({ name, required: true, facet });
const opt = (name: string, facet: CebFacet): CebElementRule => ({ name, required: false, facet });

export const INVENTORY_HEAD: readonly CebElementRule[] = [
  req('guid', len(36)),
  req('appType', len(1)),
  req('appTime', len(14)),
  req('appStatus', upTo(3)),
  req('orderNo', upTo(60)),
  req('ebpCode', upTo(18)),
  req('ebpName', upTo(100)),
  req('ebcCode', upTo(18)),
  req('ebcName', upTo(100)),
  req('logisticsNo', upTo(60)),
  req('logisticsCode', upTo(18)),
  req('logisticsName', upTo(100)),
  opt('copNo', upTo(20, 0)),
  opt('preNo', upTo(18, 0)),
  req('assureCode', upTo(30)),
  opt('emsNo', upTo(30, 0)),
  opt('invtNo', upTo(18, 0)),
  req('ieFlag', len(1)),
  req('declTime', len(8)),
  req('customsCode', len(4)),
  req('portCode', len(4)),
  opt('ieDate', len(8)),
  req('buyerIdType', len(1)),
  req('buyerIdNumber', upTo(60)),
  req('buyerName', upTo(60)),
  req('buyerTelephone', upTo(30)),
  req('consigneeAddress', upTo(200)),
  req('agentCode', upTo(18)),
  req('agentName', upTo(100)),
  opt('areaCode', upTo(18, 0)),
  opt('areaName', upTo(100, 0)),
  req('tradeMode', len(4)),
  req('trafMode', len(1)),
  opt('trafNo', upTo(100, 0)),
  opt('voyageNo', upTo(32, 0)),
  opt('billNo', upTo(37, 0)),
  opt('loctNo', upTo(10, 0)),
  opt('licenseNo', upTo(19, 0)),
  req('country', len(3)),
  req('freight', DECIMAL),
  req('insuredFee', DECIMAL),
  req('currency', len(3)),
  opt('wrapType', len(1)),
  req('packNo', INT),
  req('grossWeight', DECIMAL),
  req('netWeight', DECIMAL),
  opt('note', upTo(1000, 0)),
];

export const INVENTORY_LIST: readonly CebElementRule[] = [
  req('gnum', INT),
  opt('itemRecordNo', upTo(30, 0)),
  opt('itemNo', upTo(30, 0)),
  opt('itemName', upTo(250, 0)),
  req('gcode', codeOf(10)),
  req('gname', upTo(250)),
  req('gmodel', upTo(510)),
  opt('barCode', upTo(50, 0)),
  req('country', codeOf(3)),
  opt('tradeCountry', len(3)),
  req('currency', len(3)),
  req('qty', DECIMAL),
  req('unit', codeOf(3)),
  req('qty1', DECIMAL),
  req('unit1', codeOf(3)),
  opt('qty2', DECIMAL),
  opt('unit2', codeOf(3)),
  req('price', DECIMAL),
  req('totalPrice', DECIMAL),
  opt('note', upTo(1000, 0)),
];

/**
 * copName and dxpId may be empty by the XSD; this service requires a value
 * (the Single Window routes by dxpId), so they count as required here.
 */
export const BASE_TRANSFER: readonly CebElementRule[] = [
  req('copCode', upTo(18)),
  req('copName', upTo(100, 0)),
  req('dxpMode', len(3)),
  req('dxpId', upTo(30, 0)),
  opt('note', upTo(1000, 0)),
];

/** The schema allows up to 99 InventoryList per Inventory. */
export const MAX_GOODS_LINES = 99;

// ---------------------------------------------------------------------------
// What the message is built from.
// ---------------------------------------------------------------------------

/** InventoryHead fields the service does not know per order: from configuration. */
export const CEB621_HEAD_CONFIGURABLE = [
  'ebpCode',
  'ebpName',
  'ebcCode',
  'ebcName',
  'logisticsName',
  'assureCode',
  'emsNo',
  'customsCode',
  'portCode',
  'agentName',
  'areaCode',
  'areaName',
  'tradeMode',
  'trafMode',
  'trafNo',
  'voyageNo',
  'billNo',
  'loctNo',
  'licenseNo',
  'country',
  'wrapType',
] as const;

/** BaseTransfer: the sender's own transfer identity on the Single Window. */
export const CEB_BASE_TRANSFER_FIELDS = ['copCode', 'copName', 'dxpMode', 'dxpId'] as const;

export type Ceb621HeadField = (typeof CEB621_HEAD_CONFIGURABLE)[number];
export type CebBaseTransferField = (typeof CEB_BASE_TRANSFER_FIELDS)[number];

/** The global part of every message (CEB621_DEFAULTS). */
export interface Ceb621Defaults {
  head: Partial<Record<Ceb621HeadField, string>>;
  baseTransfer: Partial<Record<CebBaseTransferField, string>>;
}

/** The Single Window's transfer mode when configuration names none. */
export const DEFAULT_DXP_MODE = 'DXP';

/** One goods line: the product data as snapshotted on the declaration, and the ordered amounts. */
export interface Ceb621GoodsLine {
  /** The platform's sku (itemNo, at most 30 characters). */
  itemNo: string;
  /** The customs goods record number (bonded 1210 trade), when the product has one. */
  itemRecordNo?: string;
  /** The platform's goods name (itemName). */
  itemName: string;
  /** HS code, 10 digits. */
  gcode: string;
  /** The goods name as declared (gname). */
  gname: string;
  /** Specification: brand, model, net content... (gmodel). */
  gmodel: string;
  barCode?: string;
  /** Country of origin, the 3-digit customs country code. */
  country: string;
  /** Declared units ordered: a positive integer. */
  qty: number;
  /** Declared unit, 3-digit customs unit code. */
  unit: string;
  /** Legal quantity, exact decimal string: `legalQuantity(qty, legalQtyPerUnit)` (ceb-format.ts). */
  qty1: string;
  /** First legal unit, 3-digit customs unit code. */
  unit1: string;
  /** Second legal quantity and unit: both or neither. */
  qty2?: string;
  unit2?: string;
  unitPriceFen: number;
  /** Must equal qty x unitPriceFen. */
  totalPriceFen: number;
}

/** What one inventory is built from: the declaration, its parcel, and the customs role's disclosure only. */
export interface Ceb621MessageInput {
  /** The message guid (upper-cased): the same declaration always yields the same guid. */
  declarationId: string;
  orderNo: string;
  /** The service's own short enterprise number of the declaration: at most 20 characters. */
  copNo: string;
  /** The broker's partner code: the declaring agent (agentCode). */
  agentCode: string;
  /** The carrier's partner code (logisticsCode). */
  logisticsCode: string;
  /** The carrier's waybill. Required by CEB621: null refuses the message (Ceb621Incomplete). */
  logisticsNo: string | null;
  /** Parcel weights in kg, exact decimal strings (at most 5 decimals); net <= gross. */
  grossWeightKg: string;
  netWeightKg: string;
  goods: readonly Ceb621GoodsLine[];
  freightFen: number;
  insuranceFen: number;
  /** Output of applyDisclosurePolicy('customs', ...): the only personal values the message may hold. */
  disclosure: Pick<Disclosure, 'personal'>;
}

/** A goods line as declarations store it today (no product data). */
export interface GoodsLine {
  gnum: number;
  sku: string;
  name: string;
  qty: number;
  unitPriceFen: number;
  totalPriceFen: number;
}

/** What the builder takes. */
export type Ceb621Input = Ceb621MessageInput;

// ---------------------------------------------------------------------------
// Errors: field paths only, never values (values may be personal data).
// ---------------------------------------------------------------------------

/** A required value is missing: the declaration is not ready to be declared. */
export class Ceb621Incomplete extends Error {
  readonly code = 'CEB621_INCOMPLETE';
  constructor(readonly missing: readonly string[]) {
    super(`CEB621 message incomplete, no value for: ${missing.join(', ')}`);
    this.name = 'Ceb621Incomplete';
  }
}

/** A value breaks the schema's facets or the message's own rules. */
export class Ceb621Invalid extends Error {
  readonly code = 'CEB621_INVALID';
  constructor(readonly problems: readonly string[]) {
    super(`CEB621 message invalid: ${problems.join('; ')}`);
    this.name = 'Ceb621Invalid';
  }
}

// ---------------------------------------------------------------------------
// Values.
// ---------------------------------------------------------------------------

/**
 * Characters XML 1.0 cannot carry at all (C0 controls other than tab, LF,
 * CR; lone surrogates; U+FFFE/F): removed from every value before the facets
 * are checked. Everything else is kept and escaped.
 */
const NOT_XML_CHAR =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** The value as the message carries it: XML-incapable characters removed; empty is no value. */
export function cebText(value: string | undefined | null): string {
  return (value ?? '').replace(NOT_XML_CHAR, '');
}

/** Why `value` breaks `facet`, or null. Lengths in code points, as XSD counts them. */
export function facetProblem(value: string, facet: CebFacet): string | null {
  switch (facet.kind) {
    case 'decimal':
      return isCebDecimal(value) ? null : 'must be a decimal with at most 5 fraction digits';
    case 'int':
      return /^[1-9]\d{0,8}$/.test(value) ? null : 'must be a positive integer of 9 digits or less';
    case 'text': {
      const length = [...value].length;
      if (length < facet.min || length > facet.max) {
        return facet.min === facet.max
          ? `must be exactly ${facet.max} characters`
          : `must be ${facet.min} to ${facet.max} characters`;
      }
      return facet.digits && !/^\d+$/.test(value) ? 'must be digits' : null;
    }
  }
}

type Values = Record<string, string | undefined>;

/** A section's elements in schema order: each present value checked, each missing required one named. */
interface Section {
  tag: string;
  path: string;
  elements: [name: string, value: string][];
}

class Findings {
  readonly missing: string[] = [];
  readonly problems: string[] = [];

  section(tag: string, path: string, rules: readonly CebElementRule[], values: Values): Section {
    const elements: Section['elements'] = [];
    for (const rule of rules) {
      const value = cebText(values[rule.name]);
      if (value === '') {
        if (rule.required) this.missing.push(`${path}.${rule.name}`);
        continue;
      }
      const problem = facetProblem(value, rule.facet);
      if (problem) this.problems.push(`${path}.${rule.name} ${problem}`);
      elements.push([rule.name, value]);
    }
    return { tag, path, elements };
  }

  check(condition: boolean, problem: string): void {
    if (!condition) this.problems.push(problem);
  }

  throwIfAny(): void {
    if (this.missing.length > 0) throw new Ceb621Incomplete(this.missing);
    if (this.problems.length > 0) throw new Ceb621Invalid(this.problems);
  }
}

/** Fen to yuan; what is not a non-negative safe integer is a problem (and kept as is, not "missing"). */
function yuan(findings: Findings, path: string, fen: number): string {
  if (Number.isSafeInteger(fen) && fen >= 0) return fenToYuan(fen);
  findings.problems.push(`${path} must be a non-negative whole number of fen`);
  return String(fen);
}

function personal(input: Ceb621MessageInput, group: string, key: string): string | undefined {
  return input.disclosure.personal[group]?.[key];
}

function headValues(
  input: Ceb621MessageInput,
  defaults: Ceb621Defaults,
  now: Date,
  findings: Findings,
): Values {
  return {
    ...defaults.head,
    // The message guid is the declaration id: fetching the same declaration twice gives the same guid.
    guid: input.declarationId.toUpperCase(),
    appType: '1',
    appTime: beijingTimestamp(now),
    appStatus: APP_STATUS_UNSIGNED,
    orderNo: input.orderNo,
    logisticsNo: input.logisticsNo ?? undefined,
    logisticsCode: input.logisticsCode,
    copNo: input.copNo,
    ieFlag: 'I',
    declTime: beijingDate(now),
    buyerIdType: personal(input, 'buyer', 'idType'),
    buyerIdNumber: personal(input, 'buyer', 'idNumber'),
    buyerName: personal(input, 'buyer', 'name'),
    buyerTelephone: personal(input, 'buyer', 'telephone'),
    consigneeAddress: personal(input, 'consignee', 'address'),
    agentCode: input.agentCode,
    freight: yuan(findings, 'InventoryHead.freight', input.freightFen),
    insuredFee: yuan(findings, 'InventoryHead.insuredFee', input.insuranceFen),
    currency: '142',
    // One order travels as one parcel (one shipment).
    packNo: '1',
    grossWeight: input.grossWeightKg,
    netWeight: input.netWeightKg,
  };
}

function listValues(line: Ceb621GoodsLine, gnum: number, findings: Findings, path: string): Values {
  return {
    gnum: String(gnum),
    itemRecordNo: line.itemRecordNo,
    itemNo: line.itemNo,
    itemName: line.itemName,
    gcode: line.gcode,
    gname: line.gname,
    gmodel: line.gmodel,
    barCode: line.barCode,
    country: line.country,
    currency: '142',
    qty: String(line.qty),
    unit: line.unit,
    qty1: line.qty1,
    unit1: line.unit1,
    qty2: line.qty2,
    unit2: line.unit2,
    price: yuan(findings, `${path}.price`, line.unitPriceFen),
    totalPrice: yuan(findings, `${path}.totalPrice`, line.totalPriceFen),
  };
}

/** Rules across elements that the XSD cannot say. */
function checkLine(findings: Findings, line: Ceb621GoodsLine, path: string): void {
  findings.check(
    Number.isSafeInteger(line.qty) && line.qty > 0,
    `${path}.qty must be a positive whole number`,
  );
  findings.check(
    (cebText(line.qty2) === '') === (cebText(line.unit2) === ''),
    `${path}.qty2 and unit2 must be given both or neither`,
  );
  findings.check(
    line.qty * line.unitPriceFen === line.totalPriceFen,
    `${path}.totalPrice must equal qty x price`,
  );
}

function checkWeights(findings: Findings, input: Ceb621MessageInput): void {
  if (isCebDecimal(input.grossWeightKg) && isCebDecimal(input.netWeightKg)) {
    findings.check(
      compareCebDecimals(input.netWeightKg, input.grossWeightKg) <= 0,
      'InventoryHead.netWeight must not exceed grossWeight',
    );
  }
}

// ---------------------------------------------------------------------------
// Serialisation: a fixed, shallow structure written here, every value escaped.
// ---------------------------------------------------------------------------

/**
 * Every `&`, `<` and `>` becomes a reference, so no entity or markup in a value
 * survives as such (`&amp;` in a value arrives as the five characters `&amp;`,
 * `]]>` as text). Line ends are written as references too: a parser turns a
 * literal CR into LF, and some (xmldom, XML 1.1 rules) also NEL and LS, so only
 * a reference reaches every reader, and every canonicaliser, unchanged.
 * Attribute values also escape `"` and the whitespace a parser normalises.
 */
const TEXT_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '\r': '&#xD;',
  '\u0085': '&#x85;',
  '\u2028': '&#x2028;',
};
const ATTRIBUTE_ESCAPES: Record<string, string> = {
  ...TEXT_ESCAPES,
  '"': '&quot;',
  '\t': '&#x9;',
  '\n': '&#xA;',
};

export function escapeXmlText(value: string): string {
  return value.replace(/[&<>\r\u0085\u2028]/g, (c) => TEXT_ESCAPES[c]!);
}

function escapeXmlAttribute(value: string): string {
  return value.replace(/[&<>"\t\n\r\u0085\u2028]/g, (c) => ATTRIBUTE_ESCAPES[c]!);
}

function writeSection(section: Section, indent: string): string[] {
  return [
    `${indent}<ceb:${section.tag}>`,
    ...section.elements.map(
      ([name, value]) => `${indent}  <ceb:${name}>${escapeXmlText(value)}</ceb:${name}>`,
    ),
    `${indent}</ceb:${section.tag}>`,
  ];
}

/**
 * The CEB621 import inventory message for one declaration, as UTF-8 XML,
 * unsigned (`appStatus` 1): root `ceb:CEB621Message`, one `Inventory` with its
 * `InventoryHead` and one `InventoryList` per goods line (gnum 1..n), then
 * `BaseTransfer`. Elements in schema order; an optional element without a
 * value is omitted; amounts are yuan with two decimals, times Beijing time.
 * Throws Ceb621Incomplete when a required value is missing, Ceb621Invalid
 * when a value breaks a facet (copNo over 20 characters, a 9-digit HS code...).
 * `ceb621-signature.ts` turns the result into the declared, signed message.
 */
export function buildCeb621Xml(input: Ceb621Input, defaults: Ceb621Defaults, now: Date): string {
  const message = input;
  const findings = new Findings();
  if (cebText(message.copNo) === '') findings.missing.push('InventoryHead.copNo');
  if (message.goods.length === 0) findings.missing.push('InventoryList');
  findings.check(
    message.goods.length <= MAX_GOODS_LINES,
    `InventoryList at most ${MAX_GOODS_LINES} goods lines`,
  );
  checkWeights(findings, message);

  const head = findings.section(
    'InventoryHead',
    'InventoryHead',
    INVENTORY_HEAD,
    headValues(message, defaults, now, findings),
  );
  const lists = message.goods.map((line, index) => {
    const path = `InventoryList[${index + 1}]`;
    checkLine(findings, line, path);
    return findings.section(
      'InventoryList',
      path,
      INVENTORY_LIST,
      listValues(line, index + 1, findings, path),
    );
  });
  const transfer = findings.section('BaseTransfer', 'BaseTransfer', BASE_TRANSFER, {
    dxpMode: DEFAULT_DXP_MODE,
    ...defaults.baseTransfer,
  });
  findings.throwIfAny();

  const guid = escapeXmlAttribute(message.declarationId.toUpperCase());
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<ceb:CEB621Message xmlns:ceb="${CEB_NAMESPACE}" guid="${guid}" version="${CEB621_VERSION}">`,
    '  <ceb:Inventory>',
    ...writeSection(head, '    '),
    ...lists.flatMap((list) => writeSection(list, '    ')),
    '  </ceb:Inventory>',
    ...writeSection(transfer, '  '),
    '</ceb:CEB621Message>',
    '',
  ].join('\n');
}
