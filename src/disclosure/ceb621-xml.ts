import { create } from 'xmlbuilder2';
import { beijingDate, beijingTimestamp, fenToYuan } from './ceb-format';
import type { Disclosure } from './disclosure-policy';

export const CEB_NAMESPACE = 'http://www.chinaport.gov.cn/ceb';

/** InventoryHead fields the service does not know itself: from configuration, else empty. */
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
  'grossWeight',
  'netWeight',
] as const;

/** InventoryList fields the service does not know per item: from configuration, else empty. */
export const CEB621_LIST_CONFIGURABLE = [
  'itemRecordNo',
  'gcode',
  'gmodel',
  'barCode',
  'country',
  'unit',
  'unit1',
  'unit2',
] as const;

/** BaseTransfer: the sender's own transfer identity on the Single Window. */
export const CEB_BASE_TRANSFER_FIELDS = ['copCode', 'copName', 'dxpMode', 'dxpId'] as const;

export interface Ceb621Defaults {
  head: Partial<Record<(typeof CEB621_HEAD_CONFIGURABLE)[number], string>>;
  list: Partial<Record<(typeof CEB621_LIST_CONFIGURABLE)[number], string>>;
  baseTransfer: Partial<Record<(typeof CEB_BASE_TRANSFER_FIELDS)[number], string>>;
}

export interface GoodsLine {
  gnum: number;
  sku: string;
  name: string;
  qty: number;
  unitPriceFen: number;
  totalPriceFen: number;
}

/** What the inventory is built from: the declaration, and the customs role's disclosure only. */
export interface Ceb621Input {
  declarationId: string;
  orderNo: string;
  /** The broker's partner code: the declaring agent (agentCode). */
  agentCode: string;
  /** The carrier's partner code (logisticsCode). */
  logisticsCode: string;
  goods: readonly GoodsLine[];
  freightFen: number;
  insuranceFen: number;
  /** Output of applyDisclosurePolicy('customs', ...): the only personal values the message may hold. */
  disclosure: Pick<Disclosure, 'personal'>;
}

/** Characters XML 1.0 cannot carry at all (C0 controls other than tab, LF, CR; lone surrogates; U+FFFE/F). */
const NOT_XML_CHAR =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function xmlText(value: string | number | undefined): string {
  return String(value ?? '').replace(NOT_XML_CHAR, '');
}

function personal(input: Ceb621Input, group: string, key: string): string {
  return input.disclosure.personal[group]?.[key] ?? '';
}

/** One element of the message: its local name and its text. */
type Field = [name: string, value: string | number];

/** InventoryHead, in the element order of the CEB621 schema. */
function inventoryHead(input: Ceb621Input, defaults: Ceb621Defaults, now: Date): Field[] {
  return [
    // The message guid is the declaration id: fetching the same declaration twice gives the same guid.
    ['guid', input.declarationId.toUpperCase()],
    ['appType', '1'],
    ['appTime', beijingTimestamp(now)],
    ['appStatus', '2'],
    ['orderNo', input.orderNo],
    ['ebpCode', defaults.head.ebpCode ?? ''],
    ['ebpName', defaults.head.ebpName ?? ''],
    ['ebcCode', defaults.head.ebcCode ?? ''],
    ['ebcName', defaults.head.ebcName ?? ''],
    ['logisticsNo', ''],
    ['logisticsCode', input.logisticsCode],
    ['logisticsName', defaults.head.logisticsName ?? ''],
    ['copNo', input.declarationId],
    ['preNo', ''],
    ['assureCode', defaults.head.assureCode ?? ''],
    ['emsNo', defaults.head.emsNo ?? ''],
    ['invtNo', ''],
    ['ieFlag', 'I'],
    ['declTime', beijingDate(now)],
    ['customsCode', defaults.head.customsCode ?? ''],
    ['portCode', defaults.head.portCode ?? ''],
    ['ieDate', ''],
    ['buyerIdType', personal(input, 'buyer', 'idType')],
    ['buyerIdNumber', personal(input, 'buyer', 'idNumber')],
    ['buyerName', personal(input, 'buyer', 'name')],
    ['buyerTelephone', personal(input, 'buyer', 'telephone')],
    ['consigneeAddress', personal(input, 'consignee', 'address')],
    ['agentCode', input.agentCode],
    ['agentName', defaults.head.agentName ?? ''],
    ['areaCode', defaults.head.areaCode ?? ''],
    ['areaName', defaults.head.areaName ?? ''],
    ['tradeMode', defaults.head.tradeMode ?? ''],
    ['trafMode', defaults.head.trafMode ?? ''],
    ['trafNo', defaults.head.trafNo ?? ''],
    ['voyageNo', defaults.head.voyageNo ?? ''],
    ['billNo', defaults.head.billNo ?? ''],
    ['loctNo', defaults.head.loctNo ?? ''],
    ['licenseNo', defaults.head.licenseNo ?? ''],
    ['country', defaults.head.country ?? ''],
    ['freight', fenToYuan(input.freightFen)],
    ['insuredFee', fenToYuan(input.insuranceFen)],
    ['currency', '142'],
    ['wrapType', defaults.head.wrapType ?? ''],
    // One order travels as one parcel (one shipment).
    ['packNo', '1'],
    ['grossWeight', defaults.head.grossWeight ?? ''],
    ['netWeight', defaults.head.netWeight ?? ''],
    ['note', ''],
  ];
}

/** One InventoryList per goods line, in the element order of the CEB621 schema. */
function inventoryList(line: GoodsLine, defaults: Ceb621Defaults): Field[] {
  return [
    ['gnum', line.gnum],
    ['itemRecordNo', defaults.list.itemRecordNo ?? ''],
    ['itemNo', line.sku],
    ['itemName', line.name],
    ['gcode', defaults.list.gcode ?? ''],
    ['gname', line.name],
    ['gmodel', defaults.list.gmodel ?? ''],
    ['barCode', defaults.list.barCode ?? ''],
    ['country', defaults.list.country ?? ''],
    ['currency', '142'],
    ['qty', line.qty],
    ['unit', defaults.list.unit ?? ''],
    ['qty1', ''],
    ['unit1', defaults.list.unit1 ?? ''],
    ['qty2', ''],
    ['unit2', defaults.list.unit2 ?? ''],
    ['price', fenToYuan(line.unitPriceFen)],
    ['totalPrice', fenToYuan(line.totalPriceFen)],
    ['note', ''],
  ];
}

function baseTransfer(defaults: Ceb621Defaults): Field[] {
  return [
    ...CEB_BASE_TRANSFER_FIELDS.map((name): Field => [
      name,
      defaults.baseTransfer[name] ?? (name === 'dxpMode' ? 'DXP' : ''),
    ]),
    ['note', ''],
  ];
}

function appendFields(parent: ReturnType<typeof create>, fields: Field[]): void {
  for (const [name, value] of fields) parent.ele(CEB_NAMESPACE, `ceb:${name}`).txt(xmlText(value));
}

/**
 * The CEB621 import inventory message for one declaration, as UTF-8 XML:
 * root `ceb:CEB621Message` in the customs namespace, `Inventory` with one
 * `InventoryHead` and one `InventoryList` per goods line, and `BaseTransfer`.
 * Amounts are yuan with two decimals, times Beijing time.
 */
export function buildCeb621Xml(input: Ceb621Input, defaults: Ceb621Defaults, now: Date): string {
  const root = create({ version: '1.0', encoding: 'UTF-8' }).ele(
    CEB_NAMESPACE,
    'ceb:CEB621Message',
    {
      guid: input.declarationId.toUpperCase(),
      version: '1.0',
    },
  );
  const inventory = root.ele(CEB_NAMESPACE, 'ceb:Inventory');
  appendFields(
    inventory.ele(CEB_NAMESPACE, 'ceb:InventoryHead'),
    inventoryHead(input, defaults, now),
  );
  for (const line of input.goods) {
    appendFields(inventory.ele(CEB_NAMESPACE, 'ceb:InventoryList'), inventoryList(line, defaults));
  }
  appendFields(root.ele(CEB_NAMESPACE, 'ceb:BaseTransfer'), baseTransfer(defaults));
  return root.end({ prettyPrint: true, wellFormed: true });
}
